/* SPDX-License-Identifier: Apache-2.0 */
/* workspace_end.c - the end of a one-shot run with read-write directories:
 * the overlays' upper layers, which init handed over, are read once the
 * sandbox and all its processes are gone (nothing can change them any
 * more).  The workspace's is written back onto the host directory through
 * the descriptor the plan opened (live) or saved as a changeset in the state
 * directory (changes); the output's and each read-write bind's are written
 * back (live), all through src/workspace/.  A write-back that fails, or
 * that would cost the host more than the quota, keeps the changes as a
 * changeset, so nothing the command wrote is lost. */
#define _GNU_SOURCE
#include "changeset.h"
#include "cleanup.h"
#include "error.h"
#include "launch.h"
#include "statedir.h"
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* what became of one upper layer: the report's fields (target and
 * mechanism are the caller's) */
typedef struct airlock_mount_report layer_end;

static int open_upper(void *ctx, size_t index, const al_ws_entry *e) {
  (void)index;
  return al_ws_open_upper(*(int *)ctx, e->path, O_RDONLY);
}

/* keep the upper layer as a changeset of the host directory `slot` */
static int save(al_launch *l, size_t slot, int upper, al_changeset *cs, layer_end *out, airlock_error **err) {
  const al_plan *p = &l->plan;
  struct stat st;
  if (fstat(p->ovl[slot].host_fd, &st) < 0)
    return al_err(err, errno, "%s", p->user[p->ovl[slot].user_index].target);
  al_ws_new_id(cs->id);
  cs->created = (int64_t)time(NULL);
  cs->dev = (uint64_t)st.st_dev;
  cs->ino = (uint64_t)st.st_ino;
  cs->workspace = strdup(p->user[p->ovl[slot].user_index].host_path);
  _cleanup_free_ char *dir = al_state_dir_or_default(p->spec->state_dir, err);
  if (!dir || !cs->workspace || al_ws_save(upper, cs, dir, err) < 0)
    return -1;
  out->changeset = strdup(cs->id);
  fprintf(stderr, "airlock: changeset %s\n", cs->id);
  return 0;
}

static void keep_instead(al_launch *l, size_t slot, int upper, al_changeset *cs, layer_end *out, const char *why) {
  const char *target = l->plan.user[l->plan.ovl[slot].user_index].target;
  _cleanup_error_ airlock_error *err = NULL;
  fprintf(stderr, "airlock: %s: %s\n", target, why);
  out->error = strdup(why);
  if (save(l, slot, upper, cs, out, &err) == 0)
    fprintf(stderr, "airlock: the changes to %s are kept as changeset %s ('airlock changes apply')\n", target,
            cs->id);
  else
    fprintf(stderr, "airlock: %s: keeping them as a changeset failed too: %s\n", target, err->msg);
}

/* scan the upper layer of ovl[slot]; save it (keep) or write it back */
static void end_layer(al_launch *l, size_t slot, int upper, bool keep, layer_end *out) {
  const al_plan *p = &l->plan;
  const al_overlaid *o = &p->ovl[slot];
  const char *target = p->user[o->user_index].target;
  _cleanup_error_ airlock_error *err = NULL;
  al_changeset cs = {0};
  int rc = al_ws_scan(upper, o->host_fd, &cs, &err);
  out->skipped = cs.skipped;
  if (rc == 0 && cs.skipped)
    fprintf(stderr, "airlock: %s: %zu entr%s refused (devices, fifos, sockets or too deep), first %s\n", target,
            cs.skipped, cs.skipped == 1 ? "y" : "ies", cs.skipped_note ? cs.skipped_note : "?");
  if (rc == 0 && keep) {
    rc = save(l, slot, upper, &cs, out, &err);
  } else if (rc == 0 && al_ws_host_cost(&cs) > (uint64_t)p->ws_quota_bytes + (1u << 20)) {
    /* Directories and long links take no tmpfs space but a block each on
     * the host: a tree of them would cost the host more than the quota.
     * Kept as a changeset instead, which stores file data only. */
    char msg[160];
    snprintf(msg, sizeof(msg), "writing back would take about %llu bytes on the host, more than the quota",
             (unsigned long long)al_ws_host_cost(&cs));
    keep_instead(l, slot, upper, &cs, out, msg);
  } else if (rc == 0) {
    _cleanup_close_ int host = openat(o->host_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    al_ws_stats st = {0};
    rc = host < 0 ? al_err(&err, errno, "%s", target) : 0;
    if (rc == 0)
      rc = al_ws_apply(&cs, NULL, host, p->user[o->user_index].src_uid, p->user[o->user_index].src_gid, open_upper,
                       &upper, &st, &err);
    out->written_bytes = st.bytes;
    out->written_files = st.files + st.links + st.dirs;
    out->deleted = st.deleted;
    if (rc < 0) { /* keep what was not written as a changeset */
      char msg[224];
      snprintf(msg, sizeof(msg), "write-back failed: %s", err->msg);
      keep_instead(l, slot, upper, &cs, out, msg);
      rc = 0;
    }
  }
  if (rc < 0) {
    fprintf(stderr, "airlock: %s: %s\n", target, err->msg);
    out->error = strdup(err->msg);
  }
  al_changeset_free(&cs);
}

int al_workspace_check(const al_plan *p, airlock_error **err) {
  if (!p->overlay_writes || p->ws_index < 0 || p->spec->workspace_mode != AIRLOCK_WORKSPACE_CHANGES)
    return 0;
  _cleanup_free_ char *dir = al_state_dir_or_default(p->spec->state_dir, err);
  if (!dir || al_state_dir_prepare(dir, true, err) < 0)
    return al_err_prefix(err, "--workspace-mode changes keeps changesets in the state directory");
  return 0;
}

static void workspace_end(al_launch *l, airlock_result *r, bool ran) {
  const al_plan *p = &l->plan;
  r->workspace.present = true;
  r->workspace.mode = p->spec->workspace_mode == AIRLOCK_WORKSPACE_CHANGES ? "changes" : "live";
  r->workspace.quota_bytes = p->ws_quota_bytes;
  r->workspace.quota_inodes = p->ws_quota_inodes;
  if (l->ws_degraded || l->ws_upper < 0) {
    r->workspace.mechanism = "bind (degraded)";
    if (ran)
      al_append_note(&r->degraded_note, "workspace: no overlay could be mounted, so writes went straight to the host "
                                        "directory, bounded per file only");
    return;
  }
  r->workspace.mechanism = "overlay+tmpfs";
  if (!ran)
    return;
  layer_end out = {0};
  end_layer(l, 0, l->ws_upper, p->spec->workspace_mode == AIRLOCK_WORKSPACE_CHANGES, &out);
  r->workspace.written_bytes = out.written_bytes;
  r->workspace.written_files = out.written_files;
  r->workspace.deleted = out.deleted;
  r->workspace.skipped = out.skipped;
  r->workspace.changeset = out.changeset;
  r->workspace.error = out.error;
  al_trace_step("launcher", "workspace written back or saved");
}

void al_workspace_end(al_launch *l, airlock_result *r, bool ran) {
  const al_plan *p = &l->plan;
  if (!p->overlay_writes)
    return;
  if (p->ws_index >= 0)
    workspace_end(l, r, ran);
  size_t first = p->ws_index >= 0 ? 1 : 0;
  if (p->n_ovl <= first || !(r->mounts = calloc(p->n_ovl - first, sizeof(*r->mounts))))
    return;
  for (size_t k = first; k < p->n_ovl; k++) {
    struct airlock_mount_report *m = &r->mounts[r->n_mounts++];
    m->target = strdup(p->user[p->ovl[k].user_index].target);
    bool degraded = l->upper_root < 0 || (l->ovl_degraded & (1u << k));
    m->mechanism = degraded ? "bind (degraded)" : "overlay+tmpfs";
    if (degraded) {
      if (ran) {
        char note[200];
        snprintf(note, sizeof(note), "%s: no overlay could be mounted, so writes went straight to the host directory, "
                 "bounded per file only", m->target ? m->target : "?");
        al_append_note(&r->degraded_note, note);
      }
      continue;
    }
    char name[32];
    snprintf(name, sizeof(name), "u%zu", k);
    _cleanup_close_ int upper = ran ? openat(l->upper_root, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (ran && upper < 0) {
      m->error = strdup("its upper layer is missing");
      continue;
    }
    if (!ran)
      continue;
    end_layer(l, k, upper, false, m);
  }
  al_trace_step("launcher", "writable mounts written back");
}

void al_result_unbounded_mounts(airlock_result *r, const al_plan *p, const char *mechanism) {
  size_t first = p->ws_index >= 0 ? 1 : 0;
  if (p->ws_index >= 0) {
    r->workspace.present = true;
    r->workspace.mode = "live";
    r->workspace.mechanism = mechanism;
  }
  if (p->n_ovl > first && (r->mounts = calloc(p->n_ovl - first, sizeof(*r->mounts))) != NULL)
    for (size_t k = first; k < p->n_ovl; k++)
      r->mounts[r->n_mounts++] = (struct airlock_mount_report){
          .target = strdup(p->user[p->ovl[k].user_index].target), .mechanism = mechanism};
  for (size_t k = 0; k < p->n_ovl; k++) {
    char note[160];
    snprintf(note, sizeof(note), "%s: writes go straight to the host directory, bounded per file only",
             p->user[p->ovl[k].user_index].target);
    al_append_note(&r->degraded_note, note);
  }
}
