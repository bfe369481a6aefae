/* SPDX-License-Identifier: Apache-2.0 */
/* node_sandbox.c - the node's sandboxes: persistent ones (created, listed,
 * destroyed through the API, expired when idle or too old), one-shot ones
 * (one exec, then destroyed) and the pool of warm one-shot sandboxes that
 * keeps an exec's round trip off the cost of building a sandbox. */
#define _GNU_SOURCE
#include "isolation.h"
#include "node.h"
#include "clock.h"
#include "cleanup.h"
#include "error.h"

#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void sbox_free(al_node *n, al_sbox *sb) {
  for (al_sbox **p = &n->sboxes; *p; p = &(*p)->next)
    if (*p == sb) {
      *p = sb->next;
      break;
    }
  if (!sb->dying)
    n->n_sboxes--;
  n->sbox_events.forget(n, sb);
  al_node_snapshots_sandbox_gone(n, sb, false);
  if (sb->ev_sock)
    event_free(sb->ev_sock);
  if (sb->ev_death)
    event_free(sb->ev_death);
  al_box_free(&sb->box); /* stops the egress proxy too */
  al_node_egress_finish(n, sb);
  if (sb->ws_fd >= 0)
    close(sb->ws_fd);
  if (sb->root_fd >= 0)
    close(sb->root_fd);
  if (sb->owned_workspace) {
    _cleanup_error_ airlock_error *err = NULL;
    if (al_fs_workspace_unmount(n->ws_dir_fd, strrchr(sb->owned_workspace, '/') + 1) < 0)
      al_logf(AL_LOG_WARN, "cannot unmount the workspace of %s: %s", sb->id, strerror(errno));
    if (al_fs_remove_tree(n->ws_dir_fd, n->ws_dir, strrchr(sb->owned_workspace, '/') + 1, &err) < 0)
      al_logf(AL_LOG_WARN, "cannot remove the workspace of %s: %s", sb->id, err->msg);
    free(sb->owned_workspace);
  }
  free(sb->workspace);
  free(sb->setup_error);
  if (sb->labels)
    json_decref(sb->labels);
  free(sb);
}

static void on_death(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  al_sbox *sb = arg;
  al_node *n = sb->node;
  if (sb->jobs > 0) { /* a job's process still copies its files: the clean-up waits for it */
    sb->death_pending = true;
    return;
  }
  /* read what the agent said last (exit records, a setup error) */
  al_status_msg m;
  while (al_box_read(&sb->box, &m) > 0) {
    if (m.kind == AL_MSG_SETUP_ERROR) {
      free(sb->setup_error);
      sb->setup_error = strdup(m.text);
    } else {
      n->sbox_events.agent_msg(n, sb, &m);
    }
  }
  event_del(sb->ev_sock);
  if (sb->create_req)
    al_node_reply_error(n, sb->create_req, 500, "internal", "sandbox setup failed: %s",
                        sb->setup_error ? sb->setup_error : "the sandbox ended during setup");
  n->sbox_events.died(n, sb);
  bool refill = sb->one_shot && !sb->setup_error;
  if (!sb->one_shot)
    al_state_sandbox(n, sb, "destroyed");
  sbox_free(n, sb);
  if (refill)
    al_node_pool_refill_soon(n);
}

static void on_message(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  al_sbox *sb = arg;
  al_node *n = sb->node;
  al_status_msg m;
  int r;
  while ((r = al_box_read(&sb->box, &m)) > 0) {
    if (m.kind == AL_MSG_READY) {
      sb->ready = true;
      if (sb->root_fd < 0)
        sb->root_fd = al_box_take_fd(&sb->box);
      _cleanup_error_ airlock_error *err = NULL;
      if (al_node_snapshots_sandbox_ready(n, sb, &err) < 0) {
        /* a fork without its files, or one that reset could not bring back: none at all */
        if (sb->create_req)
          al_node_reply_error(n, sb->create_req, err->errnum == EFBIG ? 403 : 500,
                              err->errnum == EFBIG ? "forbidden" : "internal", "%s", err->msg);
        else
          fprintf(stderr, "airlock node: sandbox %s: %s\n", sb->id, err->msg);
        sb->create_req = NULL;
        al_node_sbox_destroy(n, sb);
        return;
      }
      if (sb->create_req) {
        al_node_reply_json(sb->create_req, 201, al_sbox_json(sb));
        sb->create_req = NULL;
      }
      n->sbox_events.ready(n, sb);
    } else if (m.kind == AL_MSG_SETUP_ERROR) {
      free(sb->setup_error);
      sb->setup_error = strdup(m.text);
      al_box_kill(&sb->box);
    } else {
      n->sbox_events.agent_msg(n, sb, &m);
    }
  }
  if (r < 0)
    event_del(sb->ev_sock); /* closed: the death event follows */
}

al_sbox *al_node_sbox_create(al_node *n, al_tenant *t, const airlock_spec *spec, bool one_shot, airlock_error **err) {
  if (n->cfg->max_sandboxes && n->n_sboxes >= n->cfg->max_sandboxes) {
    al_err(err, 0, "the node's maximum of %lld sandboxes is reached", (long long)n->cfg->max_sandboxes);
    return NULL;
  }
  al_sbox *sb = calloc(1, sizeof(*sb));
  if (!sb || (spec->workspace && !(sb->workspace = strdup(spec->workspace)))) {
    free(sb);
    al_err(err, ENOMEM, "cannot allocate a sandbox");
    return NULL;
  }
  sb->node = n;
  sb->tenant = t;
  sb->one_shot = one_shot;
  sb->ws_fd = -1;
  sb->root_fd = -1;
  unsigned char r[8] = {0};
  if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
    memset(r, 0, sizeof(r));
  snprintf(sb->id, sizeof(sb->id), "sb_%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6],
           r[7]);
  sb->spec = *spec;
  sb->spec.argv = NULL;
  sb->spec.workspace = sb->workspace;
  sb->created_ms = sb->last_used_ms = al_monotonic_ms();
  sb->created_wall_ms = al_wall_ms();
  /* the node times every exec itself; the CPU-time rlimit derived from the
   * sandbox's timeout only backs that up, so base it on the longest life a
   * sandbox or exec may have */
  double life = (double)(one_shot ? n->cfg->node_max.max_timeout_ms / 1000 : n->cfg->max_age_s);
  if (life > 7 * 86400)
    life = 7 * 86400; /* the spec's own ceiling */
  if (sb->spec.timeout_sec < life)
    sb->spec.timeout_sec = life;
  int egress_w = -1;
  if (al_node_egress_prepare(sb, &egress_w, err) < 0) {
    free(sb->workspace);
    free(sb);
    return NULL;
  }
  int started = al_isolation_box_start(&sb->box, &sb->spec, err);
  sb->spec.workspace_fd = -1; /* the launch has its own copy; the caller's descriptor stays the caller's */
  al_node_egress_started(n, sb, egress_w);
  if (started < 0) {
    al_node_egress_finish(n, sb);
    free(sb->workspace);
    free(sb);
    return NULL;
  }
  sb->started = true;
  sb->ev_sock = event_new(n->base, al_box_sock(&sb->box), EV_READ | EV_PERSIST, on_message, sb);
  sb->ev_death = event_new(n->base, al_box_pidfd(&sb->box), EV_READ, on_death, sb);
  event_add(sb->ev_sock, NULL);
  event_add(sb->ev_death, NULL);
  sb->next = n->sboxes;
  n->sboxes = sb;
  n->n_sboxes++;
  return sb;
}

void al_node_sbox_destroy(al_node *n, al_sbox *sb) {
  if (sb->dying)
    return;
  sb->dying = true;
  n->n_sboxes--; /* a dying sandbox no longer holds a place */
  if (sb->one_shot)
    al_node_pool_refill_soon(n);
  al_box_kill(&sb->box); /* on_death cleans up when the kernel confirms */
}

void al_node_sbox_job_done(al_node *n, al_sbox *sb) {
  if (--sb->jobs == 0 && sb->death_pending && !n->jobs_stopping) {
    sb->death_pending = false;
    on_death(-1, 0, sb);
  }
}

al_sbox *al_node_sbox_find(al_node *n, al_tenant *t, const char *id) {
  for (al_sbox *sb = n->sboxes; sb; sb = sb->next)
    if (!sb->one_shot && !sb->dying && sb->tenant == t && strcmp(sb->id, id) == 0)
      return sb;
  return NULL;
}

al_sbox *al_node_pool_take(al_node *n, al_tenant *t) {
  al_sbox *best = NULL;
  for (al_sbox *sb = n->sboxes; sb; sb = sb->next)
    if (sb->one_shot && !sb->tenant && !sb->dying && (!best || (sb->ready && !best->ready)))
      best = sb;
  if (best) {
    best->tenant = t;
    al_node_pool_refill_soon(n); /* after this request is on its way */
  }
  return best;
}

static void on_refill(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  al_node_pool_fill(arg);
}

void al_node_pool_refill_soon(al_node *n) {
  if (!n->ev_refill)
    n->ev_refill = event_new(n->base, -1, 0, on_refill, n);
  if (!event_pending(n->ev_refill, EV_TIMEOUT, NULL)) {
    struct timeval tv = {0, 1000};
    event_add(n->ev_refill, &tv);
  }
}

void al_node_pool_fill(al_node *n) {
  if (n->stopping)
    return;
  int64_t have = 0;
  for (al_sbox *sb = n->sboxes; sb; sb = sb->next)
    if (sb->one_shot && !sb->tenant && !sb->dying)
      have++;
  for (; have < n->cfg->pool_size; have++) {
    _cleanup_error_ airlock_error *err = NULL;
    if (n->cfg->max_sandboxes && n->n_sboxes >= n->cfg->max_sandboxes)
      return; /* full: a sandbox's end calls us again */
    if (!al_node_sbox_create(n, NULL, &n->cfg->sandbox, true, &err)) {
      al_logf(AL_LOG_WARN, "cannot fill the sandbox pool: %s", err->msg);
      return;
    }
  }
}

void al_node_sbox_tick(al_node *n) {
  int64_t now = al_monotonic_ms();
  for (al_sbox *sb = n->sboxes; sb; sb = sb->next) {
    if (sb->one_shot || sb->dying)
      continue;
    if ((sb->running == 0 && sb->jobs == 0 && now - sb->last_used_ms > sb->idle_timeout_ms) ||
        now - sb->created_ms > sb->max_age_ms)
      al_node_sbox_destroy(n, sb);
  }
}

json_t *al_sbox_json(const al_sbox *sb) {
  const airlock_spec *s = &sb->spec;
  json_t *o = json_pack("{s:s,s:s,s:I,s:o,s:{s:I,s:f,s:I,s:I},s:I,s:I,s:i,s:b}", "id", sb->id, "state",
                   sb->dying   ? "destroying"
                   : sb->ready ? "ready"
                               : "starting",
                   "created_at_ms", (json_int_t)sb->created_wall_ms, "labels",
                   sb->labels ? json_incref(sb->labels) : json_object(), "limits", "memory",
                   (json_int_t)s->memory_bytes, "cpus", s->cpus, "pids", (json_int_t)s->pids, "disk",
                   (json_int_t)s->disk_bytes, "idle_timeout_s", (json_int_t)(sb->idle_timeout_ms / 1000), "max_age_s",
                   (json_int_t)(sb->max_age_ms / 1000), "execs_running", sb->running, "workspace_node_owned",
                   sb->owned_workspace != NULL);
  if (o) {
    json_object_set_new(o, "isolation", json_string(airlock_isolation_name(s->isolation)));
    /* a node-made workspace is a tmpfs of this size as root; null: unbounded */
    int64_t quota = s->workspace_quota_bytes ? s->workspace_quota_bytes : s->disk_bytes;
    json_object_set_new(o, "workspace_quota_bytes",
                        sb->owned_workspace && geteuid() == 0 ? json_integer((json_int_t)quota) : json_null());
  }
  return o;
}

/* The cap of a node-made workspace: the sandbox's workspace quota, else its
 * --disk.  A rootless node cannot mount the tmpfs that enforces it: then 0
 * (unbounded), accepted only with allow_degraded. */
static int node_workspace_quota(const airlock_spec *spec, int64_t *quota, airlock_error **err) {
  *quota = 0;
  if (geteuid() != 0) {
    if (!spec->allow_degraded)
      return al_err(err, 0, "a rootless node cannot bound what a persistent sandbox writes to its workspace "
                            "(the quota's tmpfs needs root to mount); allow_degraded accepts unbounded workspaces");
    return 0;
  }
  *quota = spec->workspace_quota_bytes ? spec->workspace_quota_bytes : spec->disk_bytes;
  return 0;
}

/* A new empty workspace in STATE_DIR.workspaces (node_main.c opened it at
 * start): made, given to sandbox_host_uid and opened through that one
 * directory descriptor; as root a tmpfs of the quota mounted on it (node_fs.c);
 * *fd is what the sandbox mounts. */
static char *node_workspace(al_node *n, const airlock_spec *spec, int *fd, airlock_error **err) {
  if (n->ws_dir_fd < 0) {
    al_err(err, 0, "the node has no directory for its workspaces");
    return NULL;
  }
  int64_t quota;
  if (node_workspace_quota(spec, &quota, err) < 0)
    return NULL;
  for (int tries = 0; tries < 100; tries++) {
    char name[32];
    snprintf(name, sizeof(name), "ws_%lld", (long long)++n->next_num);
    if (al_fs_workspace_make(n->ws_dir_fd, n->ws_dir, name, n->cfg->sandbox_host_uid, quota, fd, err) == 0) {
      char *path = NULL;
      if (asprintf(&path, "%s/%s", n->ws_dir, name) < 0) {
        al_err(err, ENOMEM, "workspace path");
        close(*fd);
        *fd = -1;
        al_fs_workspace_unmount(n->ws_dir_fd, name);
        unlinkat(n->ws_dir_fd, name, AT_REMOVEDIR);
        return NULL;
      }
      return path;
    }
    if ((*err)->errnum != EEXIST) /* one left by a crash that recovery could not remove: take the next */
      return NULL;
    airlock_error_free(err);
  }
  al_err(err, EEXIST, "mkdir %s/ws_*: 100 names in a row are taken", n->ws_dir);
  return NULL;
}

/* a node-made workspace that no sandbox got */
static void drop_workspace(al_node *n, const char *path) {
  _cleanup_error_ airlock_error *err = NULL;
  if (path && al_fs_workspace_unmount(n->ws_dir_fd, strrchr(path, '/') + 1) < 0)
    al_logf(AL_LOG_WARN, "cannot unmount %s: %s", path, strerror(errno));
  if (path && al_fs_remove_tree(n->ws_dir_fd, n->ws_dir, strrchr(path, '/') + 1, &err) < 0)
    al_logf(AL_LOG_WARN, "%s", err->msg);
}

static void create_sandbox(al_node *n, al_tenant *t, struct evhttp_request *req) {
  size_t len;
  const char *body = al_node_body(req, &len);
  __attribute__((cleanup(al_sandbox_params_clear))) al_sandbox_params sp;
  char why[256];
  if (al_sandbox_params_parse(body, len, &sp, why, sizeof(why)) < 0) {
    al_node_reply_error(n, req, 400, "bad_request", "%s", why);
    return;
  }
  airlock_spec spec = n->cfg->sandbox;
  if (sp.memory_bytes)
    spec.memory_bytes = sp.memory_bytes;
  if (sp.cpus > 0)
    spec.cpus = sp.cpus;
  if (sp.pids)
    spec.pids = sp.pids;
  if (sp.disk_bytes)
    spec.disk_bytes = sp.disk_bytes;
  if (sp.has_isolation)
    spec.isolation = sp.isolation;
  const al_node_limits *lims[2] = {&n->cfg->node_max, &t->max};
  /* limits not asked for: the defaults, down to the maxima (as for execs) */
  for (int i = 0; i < 2; i++) {
    if (!sp.memory_bytes && lims[i]->max_memory_bytes && spec.memory_bytes > lims[i]->max_memory_bytes)
      spec.memory_bytes = lims[i]->max_memory_bytes;
    if (!(sp.cpus > 0) && lims[i]->max_cpus > 0 && spec.cpus > lims[i]->max_cpus)
      spec.cpus = lims[i]->max_cpus;
    if (!sp.disk_bytes && lims[i]->max_disk_bytes && spec.disk_bytes > lims[i]->max_disk_bytes)
      spec.disk_bytes = lims[i]->max_disk_bytes;
  }
  for (int i = 0; i < 2; i++)
    if (lims[i]->max_disk_bytes && spec.disk_bytes > lims[i]->max_disk_bytes) {
      al_node_reply_error(n, req, 403, "forbidden", "limits.disk %lld is above %s maximum of %lld bytes",
                          (long long)spec.disk_bytes, i == 0 ? "the node's" : "this token's",
                          (long long)lims[i]->max_disk_bytes);
      return;
    }
  for (int i = 0; i < 2; i++) {
    if ((lims[i]->max_memory_bytes && spec.memory_bytes > lims[i]->max_memory_bytes) ||
        (lims[i]->max_cpus > 0 && spec.cpus > lims[i]->max_cpus)) {
      al_node_reply_error(n, req, 403, "forbidden", "limits are above %s maximum (memory %lld bytes, cpus %.2f)",
                          i == 0 ? "the node's" : "this token's", (long long)lims[i]->max_memory_bytes,
                          lims[i]->max_cpus);
      return;
    }
  }
  _cleanup_error_ airlock_error *err = NULL;
  _cleanup_free_ char *owned = NULL;
  _cleanup_free_ char *shown = NULL;
  _cleanup_close_ int ws_fd = -1;
  /* readonly autonomy holds even when the classifier is fooled: nothing a
   * command does can write the workspace */
  bool readonly = n->cfg->policy.enabled && n->cfg->policy.level == AL_LEVEL_READONLY;
  bool writable = !sp.workspace_ro && !readonly;
  if (sp.fork && sp.workspace) {
    al_node_reply_error(n, req, 400, "bad_request", "a fork gets a new workspace: give 'fork_from' or 'workspace'");
    return;
  }
  if (sp.workspace) {
    if (!n->cfg->workspace_root || n->ws_root_fd < 0) {
      al_node_reply_error(n, req, 403, "forbidden",
                          "this node accepts no host workspaces (no workspace_root configured)");
      return;
    }
    /* opened once, below the tenant's own directory, without following
     * links; that descriptor is judged here and mounted by the launcher */
    struct stat wst;
    char refusal[1024];
    int status = al_fs_tenant_workspace(n->ws_root_fd, n->cfg->workspace_root, t->name, sp.workspace, &ws_fd, &shown,
                                        &wst, refusal, sizeof(refusal));
    if (status != 0) {
      al_node_reply_error(n, req, status, status == 403 ? "forbidden" : "internal", "%s", refusal);
      return;
    }
    if (geteuid() == 0 && wst.st_uid == 0) {
      /* the sandbox user maps to the workspace's owner: never to host root */
      al_node_reply_error(n, req, 403, "forbidden",
                          "workspace '%s' is owned by root; give it to an unprivileged "
                          "user (the sandbox runs as the workspace's owner)",
                          sp.workspace);
      return;
    }
    if (geteuid() == 0 && writable && wst.st_uid < 1000 && !spec.allow_writable_system) {
      al_node_reply_error(n, req, 403, "forbidden",
                          "workspace '%s' is owned by a system user (uid %u) and would be "
                          "writable: a sandbox may write only into directories of a regular user (uid 1000 or "
                          "above); ask for \"workspace_access\": \"ro\" or give it to a user",
                          sp.workspace, (unsigned)wst.st_uid);
      return;
    }
    spec.workspace = shown;
  } else {
    owned = node_workspace(n, &spec, &ws_fd, &err);
    if (!owned) {
      al_node_reply_error(n, req, 500, "internal", "cannot make a workspace: %s", err->msg);
      return;
    }
    spec.workspace = owned;
  }
  char fork_snap[32] = "";
  bool fork_temp = false;
  if (sp.fork) {
    char fwhy[1024];
    int status = al_node_snapshots_fork_prepare(n, t, sp.fork_sandbox, sp.fork_snapshot, ws_fd, fork_snap,
                                                &fork_temp, fwhy, sizeof(fwhy));
    if (status) {
      al_node_reply_error(n, req, status,
                          status == 404   ? "not_found"
                          : status == 403 ? "forbidden"
                          : status == 409 ? "conflict"
                                          : "internal",
                          "%s", fwhy);
      drop_workspace(n, owned);
      return;
    }
  }
  spec.workspace_fd = ws_fd; /* the launcher mounts this and never opens the name */
  spec.workspace_rw = writable;
  spec.workspace_none = false;
  if (al_isolation_available(spec.isolation, spec.allow_degraded, &err) < 0 ||
      al_spec_check(&spec, false, &err) < 0) { /* limits: the caller's mistake */
    al_node_reply_error(n, req, 403, "forbidden", "%s", err->msg);
    drop_workspace(n, owned);
    al_node_snapshot_drop_temp(n, fork_snap, fork_temp);
    return;
  }
  al_sbox *sb = al_node_sbox_create(n, t, &spec, false, &err);
  if (!sb) {
    /* the launcher's own checks of the workspace (the bind guard) are the
     * caller's mistake too */
    int status = strstr(err->msg, "maximum") ? 429 : strncmp(err->msg, "workspace ", 10) == 0 ? 403 : 500;
    al_node_reply_error(n, req, status,
                        status == 429   ? "over_capacity"
                        : status == 403 ? "forbidden"
                                        : "internal",
                        "%s", err->msg);
    drop_workspace(n, owned);
    al_node_snapshot_drop_temp(n, fork_snap, fork_temp);
    return;
  }
  sb->ws_fd = AL_STEAL_FD(ws_fd);
  sb->owned_workspace = AL_STEAL(owned);
  memcpy(sb->fork_snap, fork_snap, sizeof(fork_snap));
  sb->fork_temp = fork_temp;
  sb->labels = sp.labels ? json_incref(sp.labels) : NULL;
  sb->idle_timeout_ms = 1000 * (sp.idle_timeout_s ? sp.idle_timeout_s : n->cfg->idle_timeout_s);
  sb->max_age_ms = 1000 * (sp.max_age_s ? sp.max_age_s : n->cfg->max_age_s);
  al_state_sandbox(n, sb, "created");
  sb->create_req = req; /* answered when the agent is ready, or with its setup error */
}

void al_node_handle_sandboxes(al_node *n, al_tenant *t, struct evhttp_request *req, al_api_route route,
                              const char *id) {
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  if (route == AL_API_SANDBOXES) {
    if (m == EVHTTP_REQ_POST) {
      create_sandbox(n, t, req);
    } else if (m == EVHTTP_REQ_GET) {
      json_t *list = json_array();
      for (al_sbox *sb = n->sboxes; sb; sb = sb->next)
        if (!sb->one_shot && !sb->dying && sb->tenant == t)
          json_array_append_new(list, al_sbox_json(sb));
      al_node_reply_json(req, 200, json_pack("{s:o}", "sandboxes", list));
    } else {
      al_node_reply_error(n, req, 405, "method_not_allowed", "use GET or POST");
    }
    return;
  }
  al_sbox *sb = al_node_sbox_find(n, t, id);
  if (!sb) {
    al_node_reply_error(n, req, 404, "not_found", "no sandbox '%s'", id);
  } else if (m == EVHTTP_REQ_GET) {
    al_node_reply_json(req, 200, al_sbox_json(sb));
  } else if (m == EVHTTP_REQ_DELETE) {
    al_node_snapshots_sandbox_gone(n, sb, true); /* deleted: its snapshots with it */
    al_node_sbox_destroy(n, sb);
    evhttp_send_reply(req, 204, "No Content", NULL);
  } else {
    al_node_reply_error(n, req, 405, "method_not_allowed", "use GET or DELETE");
  }
}

al_sbox *al_node_sbox_create_owned(al_node *n, al_tenant *t, const airlock_spec *base, const char *label,
                                   airlock_error **err) {
  _cleanup_close_ int ws_fd = -1;
  airlock_spec spec = base ? *base : n->cfg->sandbox;
  _cleanup_free_ char *owned = node_workspace(n, &spec, &ws_fd, err);
  if (!owned)
    return NULL;
  spec.workspace = owned;
  spec.workspace_fd = ws_fd; /* the launcher mounts this and never opens the name */
  /* workspaceAccess "ro" of the spec, or the policy's read-only level */
  spec.workspace_rw = spec.workspace_rw && !(n->cfg->policy.enabled && n->cfg->policy.level == AL_LEVEL_READONLY);
  spec.workspace_none = false;
  al_sbox *sb = al_node_sbox_create(n, t, &spec, false, err);
  if (!sb) {
    drop_workspace(n, owned);
    return NULL;
  }
  sb->ws_fd = AL_STEAL_FD(ws_fd);
  sb->owned_workspace = AL_STEAL(owned);
  sb->labels = label ? json_pack("{s:s}", "openclaw", label) : NULL;
  sb->idle_timeout_ms = 1000 * n->cfg->idle_timeout_s;
  sb->max_age_ms = 1000 * n->cfg->max_age_s;
  al_state_sandbox(n, sb, "created");
  return sb;
}
