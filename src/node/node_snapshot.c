/* SPDX-License-Identifier: Apache-2.0 */
/* node_snapshot.c - snapshots of persistent sandboxes: taken (the workspace
 * and the scratch HOME and /tmp), listed, restored, deleted, forked into a
 * new sandbox, and the "@created" one taken when a sandbox is ready, which
 * "reset" restores.  A snapshot is a full copy in STATE_DIR/snapshots/ID
 * (mode 0700; node_tree.c copies, cloning files where the file system has
 * copy-on-write), recorded in node.db so that a restart keeps it.  Copies
 * rather than overlay layers: a snapshot must stay exact whatever the
 * sandbox later writes in place, and a copy is correct on every file
 * system; docs/architecture.md weighs the overlay design.  Each tenant's
 * snapshots are bounded by its maxima (count and bytes), and a tenant sees
 * only its own. */
#define _GNU_SOURCE
#include "node.h"
#include "cleanup.h"
#include "clock.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define CREATED "@created"

/* the parts of a snapshot: its directory name, and where it is in the sandbox */
static const struct {
  const char *dir, *in_root;
} scratch[] = {{"tmp", "tmp"}, {"home", "home/sandbox"}};

/* The scratch is reachable only in a namespaces sandbox, through the root
 * its agent sends; under gVisor and in a VM it lives in the sandbox's own
 * kernel, so their snapshots hold the workspace alone. */
static bool has_scratch(const al_sbox *sb) {
  return sb->root_fd >= 0 && sb->spec.isolation == AIRLOCK_ISOLATION_NAMESPACES;
}

/* a part of a snapshot's directory, or -1 (err untouched) when it has none */
static int open_part(int dir, const char *part, airlock_error **err) {
  struct stat st;
  if (fstatat(dir, part, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
    return -1;
  return al_tree_open_dir(dir, part, false, err);
}

static int add(al_node *n, const al_snap *sn) {
  al_snap *copy = malloc(sizeof(*copy));
  if (!copy)
    return -1;
  *copy = *sn;
  copy->next = n->snaps;
  n->snaps = copy;
  return 0;
}

/* removing a snapshot's files takes as long as copying them did: on a
 * job's process (node_job.c), or here when none can be had */
typedef struct drop_job {
  al_node_job job;
  int dir;
  char id[32];
} drop_job;

static void remove_files(int dir, const char *id) {
  _cleanup_error_ airlock_error *err = NULL;
  if (al_fs_remove_tree(dir, "snapshots", id, &err) < 0)
    fprintf(stderr, "airlock node: cannot remove snapshot %s: %s\n", id, err->msg);
}

static void drop_work(al_node_job *j) {
  drop_job *d = (drop_job *)j;
  remove_files(d->dir, d->id);
}

static void drop_finish(al_node_job *j) {
  drop_job *d = (drop_job *)j;
  close(d->dir);
  free(d);
}

static void drop_files(al_node *n, const char *id) {
  if (n->snap_dir_fd < 0)
    return;
  drop_job *d = calloc(1, sizeof(*d));
  if (d && (d->dir = fcntl(n->snap_dir_fd, F_DUPFD_CLOEXEC, 3)) >= 0) {
    _cleanup_error_ airlock_error *err = NULL;
    snprintf(d->id, sizeof(d->id), "%s", id);
    d->job.work = drop_work;
    d->job.finish = drop_finish;
    if (al_node_job_start(n, &d->job, NULL, &err) == 0)
      return;
    close(d->dir);
  }
  free(d);
  remove_files(n->snap_dir_fd, id);
}

static void drop(al_node *n, al_snap *sn) {
  for (al_snap **p = &n->snaps; *p; p = &(*p)->next)
    if (*p == sn) {
      *p = sn->next;
      break;
    }
  drop_files(n, sn->id);
  al_state_snapshot_delete(n, sn->id);
  free(sn);
}

static void loaded(al_node *n, const al_snap *sn) {
  struct stat st;
  /* "@created" belongs to a sandbox, and none outlives the node */
  if (strcmp(sn->name, CREATED) == 0 || fstatat(n->snap_dir_fd, sn->id, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
      !S_ISDIR(st.st_mode)) {
    drop_files(n, sn->id);
    al_state_snapshot_delete(n, sn->id);
    return;
  }
  add(n, sn);
}

int al_node_snapshots_start(al_node *n, airlock_error **err) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/snapshots", n->cfg->state_dir);
  if (mkdir(path, 0700) < 0 && errno != EEXIST)
    return al_err(err, errno, "mkdir %s", path);
  n->snap_dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (n->snap_dir_fd < 0 || fstat(n->snap_dir_fd, &st) < 0)
    return al_err(err, errno, "open %s", path);
  if (st.st_uid != geteuid())
    return al_err(err, 0, "%s belongs to uid %u, not to uid %u that the node runs as", path, (unsigned)st.st_uid,
                  (unsigned)geteuid());
  if ((st.st_mode & 07777) != 0700 && fchmod(n->snap_dir_fd, 0700) < 0)
    return al_err(err, errno, "chmod 0700 %s", path);
  if (al_state_snapshots_load(n, loaded) < 0)
    return al_err(err, 0, "node.db: cannot read the snapshots");
  return 0;
}

void al_node_snapshots_stop(al_node *n) {
  while (n->snaps) {
    al_snap *next = n->snaps->next;
    free(n->snaps);
    n->snaps = next;
  }
  if (n->snap_dir_fd >= 0)
    close(n->snap_dir_fd);
  n->snap_dir_fd = -1;
}

static al_snap *find(al_node *n, const al_tenant *t, const char *sandbox, const char *name_or_id) {
  for (al_snap *sn = n->snaps; sn; sn = sn->next)
    if (strcmp(sn->tenant, t->name) == 0 &&
        (strcmp(sn->id, name_or_id) == 0 || (sandbox && strcmp(sn->sandbox, sandbox) == 0 &&
                                             strcmp(sn->name, name_or_id) == 0)))
      return sn;
  return NULL;
}

static json_t *snap_json(const al_snap *sn) {
  return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "id", sn->id, "name", sn->name, "sandbox", sn->sandbox, "created_ms",
                   (json_int_t)sn->created_ms, "bytes", (json_int_t)sn->bytes, "files", (json_int_t)sn->files);
}

static void audit(al_node *n, const char *kind, const al_tenant *t, const char *sandbox, const al_snap *sn,
                  const char *extra_key, const char *extra) {
  if (!al_recorder_audit_on(n))
    return;
  json_t *rec = al_node_audit_base(kind, t, sandbox, NULL);
  json_object_set_new(rec, "snapshot", json_string(sn->id));
  json_object_set_new(rec, "snapshot_name", json_string(sn->name));
  if (extra_key)
    json_object_set_new(rec, extra_key, json_string(extra));
  al_node_audit(n, rec);
}

static al_tree_copy copier(const char *what) {
  return (al_tree_copy){.what = what,
                        .keep_owners = geteuid() == 0,
                        .map_from_uid = (uid_t)-1,
                        .map_to_uid = (uid_t)-1,
                        .map_from_gid = (gid_t)-1,
                        .map_to_gid = (gid_t)-1};
}

/* A snapshot in three steps, so that the copy can run in a job's process
 * (node_job.c): take_prepare judges the quota and names it (loop), take_copy
 * copies through the descriptors it was given and nothing else (any
 * process), take_finish records it or removes what was copied (loop). */
typedef struct take_plan {
  al_snap snap;    /* the record being made */
  al_tree_copy c;  /* bounded by what the tenant has left */
  al_node_limits max; /* the tenant's, and what it used before: for messages */
  int64_t used, used_files;
  int snap_dir, ws, root; /* the node's snapshot directory, the sandbox's workspace and root (-1: none) */
  int rc;
  airlock_error *err; /* the copy's failure */
} take_plan;

/* The HTTP status (0 ok) with the reason in why; tp's descriptors are
 * borrowed from n and sb. */
static int take_prepare(al_node *n, al_sbox *sb, const char *name, take_plan *tp, char *why, size_t len) {
  const al_tenant *t = sb->tenant;
  bool counted = strcmp(name, CREATED) != 0;
  int64_t count = 0, used = 0, used_files = 0;
  for (al_snap *sn = n->snaps; sn; sn = sn->next)
    if (strcmp(sn->tenant, t->name) == 0) {
      count += strcmp(sn->name, CREATED) != 0;
      used += sn->bytes;
      used_files += sn->files;
    }
  if (counted && count >= t->max.max_snapshots) {
    snprintf(why, len, "the tenant's maximum of %lld snapshots (limit 'snapshots') is reached; delete one first",
             (long long)t->max.max_snapshots);
    return 403;
  }
  int64_t budget = t->max.max_snapshot_bytes ? t->max.max_snapshot_bytes - used : 0;
  if (t->max.max_snapshot_bytes && budget <= 0) {
    snprintf(why, len, "the tenant's snapshots hold %lld bytes, its maximum (limit 'snapshot_bytes') is %lld",
             (long long)used, (long long)t->max.max_snapshot_bytes);
    return 403;
  }
  int64_t files_left = t->max.max_snapshot_files ? t->max.max_snapshot_files - used_files : 0;
  if (t->max.max_snapshot_files && files_left <= 0) {
    snprintf(why, len, "the tenant's snapshots hold %lld entries, its maximum (limit 'snapshot_files') is %lld",
             (long long)used_files, (long long)t->max.max_snapshot_files);
    return 403;
  }
  if (n->snap_dir_fd < 0) {
    snprintf(why, len, "the node has no snapshot directory");
    return 500;
  }
  memset(tp, 0, sizeof(*tp));
  al_snap *out = &tp->snap;
  unsigned char r[8] = {0};
  if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
    memset(r, 0, sizeof(r));
  snprintf(out->id, sizeof(out->id), "sn_%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6],
           r[7]);
  snprintf(out->tenant, sizeof(out->tenant), "%s", t->name);
  snprintf(out->sandbox, sizeof(out->sandbox), "%s", sb->id);
  snprintf(out->name, sizeof(out->name), "%s", name);
  out->created_ms = al_wall_ms();
  tp->c = copier("snapshot");
  tp->c.max_bytes = budget;
  tp->c.max_files = files_left;
  tp->max = t->max;
  tp->used = used;
  tp->used_files = used_files;
  tp->snap_dir = n->snap_dir_fd;
  tp->ws = sb->ws_fd;
  tp->root = has_scratch(sb) ? sb->root_fd : -1;
  return 0;
}

static void take_copy(take_plan *tp) {
  airlock_error **err = &tp->err;
  al_tree_copy *c = &tp->c;
  _cleanup_close_ int dir = al_tree_open_dir(tp->snap_dir, tp->snap.id, true, err);
  int rc = dir < 0 ? -1 : 0;
  if (rc == 0 && tp->ws >= 0) {
    _cleanup_close_ int ws = al_tree_open_dir(dir, "workspace", true, err);
    struct stat st;
    rc = ws < 0 || fstat(tp->ws, &st) < 0 ? -1 : al_tree_copy_into(c, tp->ws, ws, err);
    /* the workspace's own owner and mode, which a fork maps to its own */
    if (rc == 0 && ((c->keep_owners && fchown(ws, st.st_uid, st.st_gid) < 0) || fchmod(ws, st.st_mode & 07777) < 0))
      rc = al_err(err, errno, "snapshot: attributes of the workspace");
  }
  for (size_t i = 0; rc == 0 && tp->root >= 0 && i < AL_ARRAY_SIZE(scratch); i++) {
    _cleanup_close_ int from = al_tree_open_dir(tp->root, scratch[i].in_root, false, err);
    _cleanup_close_ int to = from < 0 ? -1 : al_tree_open_dir(dir, scratch[i].dir, true, err);
    rc = to < 0 ? -1 : al_tree_copy_into(c, from, to, err);
    /* the sandbox's own uid (leased per sandbox when root), which a fork maps to its own */
    struct stat st;
    if (rc == 0 && (fstat(from, &st) < 0 || (c->keep_owners && fchown(to, st.st_uid, st.st_gid) < 0)))
      rc = al_err(err, errno, "snapshot: owner of %s", scratch[i].in_root);
  }
  tp->rc = rc;
}

/* the status (0: recorded in n) with the reason in why; frees tp->err */
static int take_finish(al_node *n, take_plan *tp, char *why, size_t len) {
  _cleanup_error_ airlock_error *err = tp->err;
  tp->err = NULL;
  const al_tree_copy *c = &tp->c;
  if (tp->rc < 0) {
    drop_files(n, tp->snap.id);
    if (err && err->errnum == EFBIG && c->max_bytes && c->bytes > c->max_bytes) {
      snprintf(why, len,
               "the snapshot would take the tenant's snapshots above their maximum of %lld bytes (limit "
               "'snapshot_bytes'; %lld in use)",
               (long long)tp->max.max_snapshot_bytes, (long long)tp->used);
      return 403;
    }
    if (err && err->errnum == EFBIG && c->max_files && c->files > c->max_files) {
      snprintf(why, len,
               "the snapshot would take the tenant's snapshots above their maximum of %lld entries (limit "
               "'snapshot_files'; %lld in use)",
               (long long)tp->max.max_snapshot_files, (long long)tp->used_files);
      return 403;
    }
    snprintf(why, len, "cannot take the snapshot: %s", err ? err->msg : "?");
    return 500;
  }
  tp->snap.bytes = c->bytes;
  tp->snap.files = c->files;
  if (add(n, &tp->snap) < 0) {
    drop_files(n, tp->snap.id);
    snprintf(why, len, "out of memory");
    return 500;
  }
  al_state_snapshot_put(n, &tp->snap);
  return 0;
}

/* Take a snapshot of sb named name into *out, on the loop (the snapshot at
 * creation, a fork's).  The HTTP status (0 ok) with the reason in why;
 * nothing is left behind on failure. */
static int take(al_node *n, al_sbox *sb, const char *name, al_snap *out, char *why, size_t len) {
  take_plan tp;
  int status = take_prepare(n, sb, name, &tp, why, len);
  if (status)
    return status;
  take_copy(&tp);
  status = take_finish(n, &tp, why, len);
  *out = tp.snap;
  return status;
}

/* Replace sb's workspace (when writable) and scratch with the snapshot's:
 * every part is first copied beside what it replaces (a directory
 * STAGE in it, on the same file system), so that a copy that fails (a full
 * disk) changes nothing; then each part is emptied and the staged entries
 * renamed into place.  1 when the failure came after the first change. */
/* Through descriptors only (it runs in a job's process): snap_dir the node's
 * snapshot directory, ws the sandbox's workspace (-1: not writable, left
 * alone), root its root (-1: no scratch reachable). */
static int restore(int snap_dir, const char *snap_id, int ws_fd, int root_fd, const al_tree_copy *proto,
                   airlock_error **err) {
  _cleanup_close_ int dir = al_tree_open_dir(snap_dir, snap_id, false, err);
  if (dir < 0)
    return -1;
  char stage[64];
  snprintf(stage, sizeof(stage), ".airlock-restore-%s", snap_id);
  int to[3] = {-1, -1, -1};
  const char *what[3] = {"workspace", "tmp", "home/sandbox"};
  int staged = 0, rc = 0;
  for (int i = 0; i < 3 && rc == 0; i++) {
    bool ws = i == 0;
    if (ws ? ws_fd < 0 : root_fd < 0)
      continue;
    _cleanup_close_ int from = open_part(dir, ws ? "workspace" : scratch[i - 1].dir, err);
    to[i] = ws ? openat(ws_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
               : al_tree_open_dir(root_fd, scratch[i - 1].in_root, false, err);
    al_tree_copy c = *proto;
    c.what = what[i];
    /* a snapshot without scratch (of a gVisor or VM sandbox) leaves it empty */
    if (to[i] < 0 || (from < 0 && *err))
      rc = *err ? -1 : al_err(err, errno, "restore: open the workspace");
    else if (al_tree_stage(&c, from, to[i], stage, err) < 0)
      rc = -1;
    staged |= (to[i] >= 0) << i; /* a failed stage may have made its directory */
  }
  for (int i = 0; i < 3 && rc < 0; i++)
    if (staged & (1 << i))
      al_tree_unstage(to[i], stage);
  for (int i = 0; i < 3 && rc == 0; i++)
    if (staged & (1 << i) && al_tree_commit(to[i], stage, what[i], err) < 0)
      rc = 1;
  for (int i = 0; i < 3; i++)
    if (to[i] >= 0)
      close(to[i]);
  return rc;
}

/* a copy that gives the snapshot's workspace owner to dst_ws's owner */
static int remapped(al_node *n, const al_snap *sn, int dst_ws, al_tree_copy *c, airlock_error **err) {
  *c = copier("fork");
  _cleanup_close_ int dir = al_tree_open_dir(n->snap_dir_fd, sn->id, false, err);
  struct stat from, to;
  if (dir < 0 || fstatat(dir, "workspace", &from, AT_SYMLINK_NOFOLLOW) < 0 || fstat(dst_ws, &to) < 0)
    return dir < 0 ? -1 : al_err(err, errno, "fork: the snapshot's workspace");
  c->map_from_uid = from.st_uid, c->map_to_uid = to.st_uid;
  c->map_from_gid = from.st_gid, c->map_to_gid = to.st_gid;
  return 0;
}

int al_node_snapshots_sandbox_ready(al_node *n, al_sbox *sb, airlock_error **err) {
  if (sb->one_shot || !sb->tenant)
    return 0;
  if (sb->fork_snap[0]) {
    al_snap *sn = find(n, sb->tenant, NULL, sb->fork_snap);
    al_tree_copy c;
    int rc = !sn ? al_err(err, 0, "the snapshot to fork from is gone")
             : remapped(n, sn, sb->ws_fd, &c, err) < 0 ? -1
                                                       : 0;
    /* the scratch only: the workspace was filled before the sandbox started;
     * files of the origin's uid become the new sandbox's */
    for (size_t i = 0; rc == 0 && has_scratch(sb) && i < AL_ARRAY_SIZE(scratch); i++) {
      _cleanup_close_ int dir = al_tree_open_dir(n->snap_dir_fd, sn->id, false, err);
      _cleanup_close_ int from = dir < 0 ? -1 : open_part(dir, scratch[i].dir, err);
      if (from < 0 && dir >= 0 && !*err)
        continue; /* the snapshot has no scratch */
      _cleanup_close_ int to = from < 0 ? -1 : al_tree_open_dir(sb->root_fd, scratch[i].in_root, false, err);
      struct stat fs, ts;
      if (to < 0 || fstat(from, &fs) < 0 || fstat(to, &ts) < 0) {
        rc = to < 0 ? -1 : al_err(err, errno, "fork: stat %s", scratch[i].in_root);
        break;
      }
      c.map_from_uid = fs.st_uid, c.map_to_uid = ts.st_uid;
      c.map_from_gid = fs.st_gid, c.map_to_gid = ts.st_gid;
      rc = al_tree_copy_into(&c, from, to, err);
    }
    if (sn && rc == 0)
      audit(n, "sandbox.fork", sb->tenant, sb->id, sn, "from_sandbox", sn->sandbox);
    if (sn && sb->fork_temp)
      drop(n, sn);
    sb->fork_snap[0] = '\0';
    if (rc < 0)
      return -1;
  }
  al_snap sn;
  char why[512];
  if (take(n, sb, CREATED, &sn, why, sizeof(why)) != 0)
    return al_err(err, EFBIG, "the snapshot taken at creation failed: %s", why);
  return 0;
}

void al_node_snapshots_sandbox_gone(al_node *n, al_sbox *sb, bool all) {
  if (sb->one_shot || !sb->tenant)
    return;
  for (al_snap *sn = n->snaps, *next; sn; sn = next) {
    next = sn->next;
    if (strcmp(sn->tenant, sb->tenant->name) != 0)
      continue;
    if ((strcmp(sn->sandbox, sb->id) == 0 && (all || strcmp(sn->name, CREATED) == 0)) ||
        (sb->fork_temp && strcmp(sn->id, sb->fork_snap) == 0)) {
      if (all && strcmp(sn->name, CREATED) != 0)
        audit(n, "snapshot.delete", sb->tenant, sb->id, sn, "reason", "sandbox deleted");
      drop(n, sn);
    }
  }
}

int al_node_snapshots_fork_prepare(al_node *n, al_tenant *t, const char *sandbox, const char *snapshot, int ws_fd,
                                   char *snap_id, bool *temp, char *why, size_t len) {
  *temp = false;
  al_snap *sn = NULL;
  al_sbox *src = NULL;
  if (sandbox && !(src = al_node_sbox_find(n, t, sandbox))) {
    snprintf(why, len, "fork_from: no sandbox '%s'", sandbox);
    return 404;
  }
  if (!snapshot && (src->jobs > 0 || t->snap_jobs > 0)) { /* its quota and files are being judged elsewhere */
    snprintf(why, len, "fork_from: a snapshot or restore of this tenant is under way; retry when it ends");
    return 409;
  }
  if (snapshot) {
    if (!(sn = find(n, t, sandbox, snapshot))) {
      snprintf(why, len, "fork_from: no snapshot '%s'%s%s", snapshot, sandbox ? " of sandbox " : "",
               sandbox ? sandbox : "");
      return 404;
    }
  } else {
    if (!src->ready) {
      snprintf(why, len, "fork_from: sandbox '%s' is not ready yet", sandbox);
      return 409;
    }
    al_snap taken;
    char name[65];
    snprintf(name, sizeof(name), "fork-%lld", (long long)al_wall_ms());
    int status = take(n, src, name, &taken, why, len);
    if (status)
      return status;
    sn = find(n, t, NULL, taken.id);
    *temp = true;
  }
  _cleanup_error_ airlock_error *err = NULL;
  al_tree_copy c;
  _cleanup_close_ int dir = al_tree_open_dir(n->snap_dir_fd, sn->id, false, &err);
  _cleanup_close_ int from = dir < 0 ? -1 : al_tree_open_dir(dir, "workspace", false, &err);
  if (from < 0 || remapped(n, sn, ws_fd, &c, &err) < 0 || al_tree_copy_into(&c, from, ws_fd, &err) < 0) {
    snprintf(why, len, "fork: %s", err ? err->msg : "?");
    if (*temp)
      drop(n, sn);
    return 500;
  }
  snprintf(snap_id, 32, "%s", sn->id);
  return 0; /* audited when the fork is ready, under its own id */
}

static void list(al_node *n, const al_tenant *t, const char *sandbox, struct evhttp_request *req) {
  json_t *arr = json_array();
  for (al_snap *sn = n->snaps; sn; sn = sn->next)
    if (strcmp(sn->tenant, t->name) == 0 && (!sandbox || strcmp(sn->sandbox, sandbox) == 0))
      json_array_append_new(arr, snap_json(sn));
  al_node_reply_json(req, 200, json_pack("{s:o}", "snapshots", arr));
}

/* the body's one string field key: NULL after answering 400 */
static char *body_string(al_node *n, struct evhttp_request *req, const char *key) {
  size_t len;
  const char *body = al_node_body(req, &len);
  json_error_t jerr;
  json_auto_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
  json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
  if (!json_is_string(v) || json_object_size(o) != 1 || !al_snapshot_name_ok(json_string_value(v))) {
    al_node_reply_error(n, req, 400, "bad_request",
                        "the body must be {\"%s\": NAME}, a name of 1 to 64 letters, digits, '.', '_' or '-' (not "
                        "starting with '.' or '-')",
                        key);
    return NULL;
  }
  return strdup(json_string_value(v));
}

/* A snapshot or a restore asked through the API, its copy in a job's
 * process: the loop answers other requests meanwhile.  The job holds its
 * own descriptors and copies of the records; one job per sandbox at a time,
 * and one snapshot per tenant (its quota is judged before the copy). */
typedef struct copy_result { /* what the job's process sends back: plain data */
  int rc, errnum;
  int64_t bytes, files;
  char msg[512];
} copy_result;

typedef struct snap_job {
  al_node_job job; /* first: the job's finish gets this */
  al_tenant *t;
  char sandbox[32];
  bool restoring;
  take_plan tp;   /* a snapshot */
  al_snap sn;     /* a restore: the snapshot's record */
  al_tree_copy c; /* a restore's copy */
  int snap_dir, ws, root;
  copy_result res;
  int rc;
  airlock_error *err;
} snap_job;

/* in the job's process: how the copy went, as plain data */
static void put_result(copy_result *res, int rc, const airlock_error *err, const al_tree_copy *c) {
  *res = (copy_result){.rc = rc, .errnum = err ? err->errnum : 0, .bytes = c->bytes, .files = c->files};
  snprintf(res->msg, sizeof(res->msg), "%s", err ? err->msg : "");
}

/* in the node: the result back as rc and an error */
static int get_result(snap_job *sj, airlock_error **err) {
  if (sj->job.failed) {
    al_err(err, 0, "the copy's process ended without saying how it went");
    return -1;
  }
  if (sj->res.rc != 0)
    al_err(err, sj->res.errnum, "%s", sj->res.msg[0] ? sj->res.msg : "?");
  return sj->res.rc;
}

static void snap_job_free(snap_job *sj) {
  int fds[3] = {sj->snap_dir, sj->ws, sj->root};
  for (int i = 0; i < 3; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  airlock_error_free(&sj->err);
  airlock_error_free(&sj->tp.err);
  free(sj);
}

/* the sandbox of a job, whatever its state (it may have died meanwhile) */
static al_sbox *job_sandbox(al_node *n, const char *id) {
  for (al_sbox *sb = n->sboxes; sb; sb = sb->next)
    if (!sb->one_shot && strcmp(sb->id, id) == 0)
      return sb;
  return NULL;
}

static void restore_work(al_node_job *j) {
  snap_job *sj = (snap_job *)j;
  airlock_error *err = NULL;
  int rc = restore(sj->snap_dir, sj->sn.id, sj->ws, sj->root, &sj->c, &err);
  put_result(&sj->res, rc, err, &sj->c);
}

static void take_work(al_node_job *j) {
  snap_job *sj = (snap_job *)j;
  take_copy(&sj->tp);
  put_result(&sj->res, sj->tp.rc, sj->tp.err, &sj->tp.c);
}

static void snap_job_finish(al_node_job *j) {
  snap_job *sj = (snap_job *)j;
  al_node *n = j->n;
  al_sbox *sb = job_sandbox(n, sj->sandbox);
  struct evhttp_request *req = j->req;
  if (sj->restoring) {
    sj->rc = get_result(sj, &sj->err);
  } else { /* the counts and the outcome the copy's process saw */
    sj->tp.rc = get_result(sj, &sj->tp.err);
    sj->tp.c.bytes = sj->res.bytes;
    sj->tp.c.files = sj->res.files;
  }
  if (sb && sj->restoring)
    sb->restoring = false;
  if (!sj->restoring)
    sj->t->snap_jobs--;
  if (!sj->restoring && (!sb || sb->dying || n->jobs_stopping)) {
    drop_files(n, sj->tp.snap.id);
    if (req)
      al_node_reply_error(n, req, 409, "conflict", "sandbox '%s' was destroyed while its snapshot was taken",
                          sj->sandbox);
  } else if (!sj->restoring) {
    char why[1024];
    int status = take_finish(n, &sj->tp, why, sizeof(why));
    if (status == 0) {
      if (sb)
        sb->last_used_ms = al_monotonic_ms();
      audit(n, "snapshot.create", sj->t, sj->sandbox, &sj->tp.snap, NULL, NULL);
    }
    if (req && status)
      al_node_reply_error(n, req, status, status == 403 ? "forbidden" : "internal", "%s", why);
    else if (req)
      al_node_reply_json(req, 201, snap_json(&sj->tp.snap));
  } else if (sj->rc != 0) {
    if (req)
      al_node_reply_error(n, req, 500, "internal", "restore of '%s' failed %s: %s", sj->sn.name,
                          sj->rc < 0 ? "(nothing was changed)" : "part way (its files are mixed now; restore again)",
                          sj->err ? sj->err->msg : "?");
  } else {
    if (sb)
      sb->last_used_ms = al_monotonic_ms();
    audit(n, strcmp(sj->sn.name, CREATED) == 0 ? "sandbox.reset" : "sandbox.restore", sj->t, sj->sandbox, &sj->sn,
          NULL, NULL);
    json_t *o = snap_json(&sj->sn);
    json_object_set_new(o, "workspace_restored", json_boolean(sj->ws >= 0));
    if (req)
      al_node_reply_json(req, 200, o);
    else
      json_decref(o);
  }
  snap_job_free(sj);
  if (sb)
    al_node_sbox_job_done(n, sb);
}

/* start sj (its descriptors duplicated from the borrowed ones) or answer why not */
static void snap_job_start(al_node *n, al_sbox *sb, snap_job *sj, struct evhttp_request *req) {
  int *fds[3] = {&sj->snap_dir, &sj->ws, &sj->root};
  bool dup_failed = false;
  for (int i = 0; i < 3; i++)
    if (*fds[i] >= 0 && (*fds[i] = fcntl(*fds[i], F_DUPFD_CLOEXEC, 3)) < 0)
      dup_failed = true;
  if (!sj->restoring) { /* the copy uses the job's own descriptors */
    sj->tp.snap_dir = sj->snap_dir, sj->tp.ws = sj->ws, sj->tp.root = sj->root;
  }
  _cleanup_error_ airlock_error *err = NULL;
  sj->job.work = sj->restoring ? restore_work : take_work;
  sj->job.finish = snap_job_finish;
  sj->job.out = &sj->res;
  sj->job.out_len = sizeof(sj->res);
  if (dup_failed || al_node_job_start(n, &sj->job, req, &err) < 0) {
    al_node_reply_error(n, req, 503, "unavailable", "cannot start the copy: %s", err ? err->msg : strerror(errno));
    if (!sj->restoring)
      drop_files(n, sj->tp.snap.id);
    snap_job_free(sj);
    return;
  }
  sb->jobs++;
  sb->restoring = sb->restoring || sj->restoring;
  if (!sj->restoring)
    sj->t->snap_jobs++;
}

static bool busy(al_node *n, al_sbox *sb, struct evhttp_request *req) {
  if (sb->jobs == 0)
    return false;
  al_node_reply_error(n, req, 409, "conflict", "a snapshot or restore of sandbox '%s' is under way; retry when it ends",
                      sb->id);
  return true;
}

static void do_restore(al_node *n, al_tenant *t, al_sbox *sb, const char *name, struct evhttp_request *req) {
  al_snap *sn = find(n, t, sb->id, name);
  if (!sn || strcmp(sn->sandbox, sb->id) != 0) {
    al_node_reply_error(n, req, 404, "not_found", "sandbox '%s' has no snapshot '%s'", sb->id, name);
    return;
  }
  if (sb->spec.isolation != AIRLOCK_ISOLATION_NAMESPACES) {
    /* gVisor's kernel (and a VM's) caches the workspace and would not see
     * files changed under it: fail closed */
    al_node_reply_error(n, req, 409, "conflict",
                        "sandbox '%s' runs under isolation %s, whose kernel caches the workspace: it cannot be "
                        "restored in place; fork a new sandbox from the snapshot instead",
                        sb->id, airlock_isolation_name(sb->spec.isolation));
    return;
  }
  if (sb->running > 0 || sb->waiting) {
    al_node_reply_error(n, req, 409, "conflict",
                        "sandbox '%s' has %d exec(s) running: a restore waits until none is (or cancel them)", sb->id,
                        sb->running);
    return;
  }
  if (!sb->ready) {
    al_node_reply_error(n, req, 409, "conflict", "sandbox '%s' is not ready yet", sb->id);
    return;
  }
  if (busy(n, sb, req))
    return;
  snap_job *sj = calloc(1, sizeof(*sj));
  if (!sj) {
    al_node_reply_error(n, req, 500, "internal", "out of memory");
    return;
  }
  sj->t = t;
  snprintf(sj->sandbox, sizeof(sj->sandbox), "%s", sb->id);
  sj->restoring = true;
  sj->sn = *sn;
  sj->sn.next = NULL;
  sj->c = copier("restore");
  sj->snap_dir = n->snap_dir_fd;
  sj->ws = sb->ws_fd >= 0 && sb->spec.workspace_rw ? sb->ws_fd : -1;
  sj->root = has_scratch(sb) ? sb->root_fd : -1;
  snap_job_start(n, sb, sj, req);
}

static void do_take(al_node *n, al_tenant *t, al_sbox *sb, const char *name, struct evhttp_request *req) {
  if (busy(n, sb, req))
    return;
  if (t->snap_jobs > 0) {
    al_node_reply_error(n, req, 409, "conflict",
                        "another snapshot of this tenant is being taken (its quota is judged one at a time); retry "
                        "when it ends");
    return;
  }
  snap_job *sj = calloc(1, sizeof(*sj));
  if (!sj) {
    al_node_reply_error(n, req, 500, "internal", "out of memory");
    return;
  }
  char why[1024];
  int status = take_prepare(n, sb, name, &sj->tp, why, sizeof(why));
  if (status) {
    al_node_reply_error(n, req, status, status == 403 ? "forbidden" : "internal", "%s", why);
    free(sj);
    return;
  }
  sj->t = t;
  snprintf(sj->sandbox, sizeof(sj->sandbox), "%s", sb->id);
  sj->snap_dir = sj->tp.snap_dir, sj->ws = sj->tp.ws, sj->root = sj->tp.root;
  snap_job_start(n, sb, sj, req);
}

/* GET or DELETE of one snapshot the tenant owns, by id or by name */
static void one_snapshot(al_node *n, struct evhttp_request *req, const al_tenant *t, enum evhttp_cmd_type m,
                         al_snap *sn) {
  if (m == EVHTTP_REQ_GET)
    al_node_reply_json(req, 200, snap_json(sn));
  else if (m != EVHTTP_REQ_DELETE)
    al_node_reply_error(n, req, 405, "method_not_allowed", "use GET or DELETE");
  else if (strcmp(sn->name, CREATED) == 0)
    al_node_reply_error(n, req, 409, "conflict", "'%s' goes with its sandbox; it cannot be deleted", CREATED);
  else {
    audit(n, "snapshot.delete", t, sn->sandbox, sn, NULL, NULL);
    drop(n, sn);
    evhttp_send_reply(req, 204, "No Content", NULL);
  }
}

void al_node_handle_snapshots(al_node *n, al_tenant *t, struct evhttp_request *req, al_api_route route,
                              const char *id, const char *path) {
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  if (route == AL_API_SNAPSHOTS || route == AL_API_SNAPSHOT) {
    if (route == AL_API_SNAPSHOTS && m == EVHTTP_REQ_GET) {
      list(n, t, NULL, req);
      return;
    }
    al_snap *sn = route == AL_API_SNAPSHOT ? find(n, t, NULL, id) : NULL;
    if (route == AL_API_SNAPSHOTS)
      al_node_reply_error(n, req, 405, "method_not_allowed", "use GET");
    else if (!sn)
      al_node_reply_error(n, req, 404, "not_found", "no snapshot '%s'", id);
    else
      one_snapshot(n, req, t, m, sn);
    return;
  }
  al_sbox *sb = al_node_sbox_find(n, t, id);
  if (!sb) {
    al_node_reply_error(n, req, 404, "not_found", "no sandbox '%s'", id);
    return;
  }
  if (route == AL_API_SANDBOX_SNAPSHOT) {
    const char *name = strstr(path, "/snapshots/") + 11;
    al_snap *sn = al_snapshot_name_ok(name) ? find(n, t, sb->id, name) : NULL;
    if (!al_snapshot_name_ok(name))
      al_node_reply_error(n, req, 400, "bad_request", "'%s' is no snapshot name", name);
    else if (!sn || strcmp(sn->sandbox, sb->id) != 0)
      al_node_reply_error(n, req, 404, "not_found", "sandbox '%s' has no snapshot '%s'", sb->id, name);
    else
      one_snapshot(n, req, t, m, sn);
    return;
  }
  if (route == AL_API_SANDBOX_SNAPSHOTS && m == EVHTTP_REQ_GET) {
    list(n, t, sb->id, req);
    return;
  }
  if (m != EVHTTP_REQ_POST) {
    al_node_reply_error(n, req, 405, "method_not_allowed",
                        route == AL_API_SANDBOX_SNAPSHOTS ? "use GET or POST" : "use POST");
    return;
  }
  if (route == AL_API_SANDBOX_RESET) {
    do_restore(n, t, sb, CREATED, req);
    return;
  }
  _cleanup_free_ char *name = body_string(n, req, route == AL_API_SANDBOX_RESTORE ? "snapshot" : "name");
  if (!name)
    return;
  if (route == AL_API_SANDBOX_RESTORE) {
    do_restore(n, t, sb, name, req);
    return;
  }
  if (strcmp(name, CREATED) == 0 || find(n, t, sb->id, name)) {
    al_node_reply_error(n, req, 409, "conflict", "sandbox '%s' already has a snapshot '%s'", sb->id, name);
    return;
  }
  if (!sb->ready) {
    al_node_reply_error(n, req, 409, "conflict", "sandbox '%s' is not ready yet", sb->id);
    return;
  }
  do_take(n, t, sb, name, req);
}

void al_node_snapshot_drop_temp(al_node *n, const char *id, bool temp) {
  if (!temp || !id[0])
    return;
  for (al_snap *sn = n->snaps; sn; sn = sn->next)
    if (strcmp(sn->id, id) == 0) {
      drop(n, sn);
      return;
    }
}
