/* node_sandbox.c - the node's sandboxes: persistent ones (created, listed,
 * destroyed through the API, expired when idle or too old), one-shot ones
 * (one exec, then destroyed) and the pool of warm one-shot sandboxes that
 * keeps an exec's round trip off the cost of building a sandbox. */
#define _GNU_SOURCE
#include "node.h"
#include "clock.h"
#include "cleanup.h"
#include "error.h"

#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void sbox_free(al_node *n, al_sbox *sb) {
  for (al_sbox **p = &n->sboxes; *p; p = &(*p)->next)
    if (*p == sb) {
      *p = sb->next;
      break;
    }
  if (!sb->dying)
    n->n_sboxes--;
  n->sbox_events.forget(n, sb);
  if (sb->ev_sock)
    event_free(sb->ev_sock);
  if (sb->ev_death)
    event_free(sb->ev_death);
  al_box_free(&sb->box); /* stops the egress proxy too */
  al_node_egress_finish(n, sb);
  if (sb->owned_workspace) {
    nftw(sb->owned_workspace, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
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
  unsigned char r[8] = {0};
  if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
    memset(r, 0, sizeof(r));
  snprintf(sb->id, sizeof(sb->id), "sb_%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
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
  int started = al_box_start(&sb->box, &sb->spec, err);
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
      fprintf(stderr, "airlock node: cannot fill the sandbox pool: %s\n", err->msg);
      return;
    }
  }
}

void al_node_sbox_tick(al_node *n) {
  int64_t now = al_monotonic_ms();
  for (al_sbox *sb = n->sboxes; sb; sb = sb->next) {
    if (sb->one_shot || sb->dying)
      continue;
    if ((sb->running == 0 && now - sb->last_used_ms > sb->idle_timeout_ms) || now - sb->created_ms > sb->max_age_ms)
      al_node_sbox_destroy(n, sb);
  }
}

json_t *al_sbox_json(const al_sbox *sb) {
  const airlock_spec *s = &sb->spec;
  return json_pack("{s:s,s:s,s:I,s:o,s:{s:I,s:f,s:I,s:I},s:I,s:I,s:i,s:b}", "id", sb->id, "state",
                   sb->dying ? "destroying" : sb->ready ? "ready" : "starting", "created_at_ms", (json_int_t)sb->created_wall_ms,
                   "labels", sb->labels ? json_incref(sb->labels) : json_object(), "limits", "memory", (json_int_t)s->memory_bytes,
                   "cpus", s->cpus, "pids", (json_int_t)s->pids, "disk", (json_int_t)s->disk_bytes, "idle_timeout_s",
                   (json_int_t)(sb->idle_timeout_ms / 1000), "max_age_s", (json_int_t)(sb->max_age_ms / 1000),
                   "execs_running", sb->running, "workspace_node_owned", sb->owned_workspace != NULL);
}

static char *node_workspace(al_node *n, const char *id, airlock_error **err) {
  /* beside the state directory, not in it: the state directory admits
   * nobody else, while a workspace must be reachable by the sandbox's uid */
  _cleanup_free_ char *dir = NULL, *ws = NULL;
  if (asprintf(&dir, "%s.workspaces", n->cfg->state_dir) < 0 || asprintf(&ws, "%s/%s", dir, id) < 0) {
    al_err(err, ENOMEM, "workspace path");
    return NULL;
  }
  if (mkdir(dir, 0711) < 0 && errno != EEXIST) {
    al_err(err, errno, "mkdir %s", dir);
    return NULL;
  }
  chmod(dir, 0711); /* traversable by the sandbox's uid, not listable */
  if (mkdir(ws, 0700) < 0) {
    al_err(err, errno, "mkdir %s", ws);
    return NULL;
  }
  if (geteuid() == 0 && chown(ws, n->cfg->sandbox_host_uid, n->cfg->sandbox_host_uid) < 0) {
    al_err(err, errno, "chown %s", ws);
    rmdir(ws);
    return NULL;
  }
  return AL_STEAL(ws);
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
  const al_node_limits *lims[2] = {&n->cfg->node_max, &t->max};
  for (int i = 0; i < 2; i++) {
    if ((lims[i]->max_memory_bytes && spec.memory_bytes > lims[i]->max_memory_bytes) ||
        (lims[i]->max_cpus > 0 && spec.cpus > lims[i]->max_cpus)) {
      al_node_reply_error(n, req, 403, "forbidden", "limits are above %s maximum (memory %lld bytes, cpus %.2f)",
                          i == 0 ? "the node's" : "this token's", (long long)lims[i]->max_memory_bytes, lims[i]->max_cpus);
      return;
    }
  }
  _cleanup_error_ airlock_error *err = NULL;
  _cleanup_free_ char *owned = NULL;
  _cleanup_free_ char *real = NULL;
  char id_hint[32];
  snprintf(id_hint, sizeof(id_hint), "ws_%lld", (long long)++n->next_num);
  if (sp.workspace) {
    real = realpath(sp.workspace, NULL);
    size_t rl = n->cfg->workspace_root ? strlen(n->cfg->workspace_root) : 0;
    if (!n->cfg->workspace_root) {
      al_node_reply_error(n, req, 403, "forbidden", "this node accepts no host workspaces (no workspace_root configured)");
      return;
    }
    if (!real || strncmp(real, n->cfg->workspace_root, rl) != 0 || (real[rl] != '/' && real[rl] != '\0')) {
      al_node_reply_error(n, req, 403, "forbidden", "workspace '%s' is not below the node's workspace_root %s",
                          sp.workspace, n->cfg->workspace_root);
      return;
    }
    struct stat wst;
    if (stat(real, &wst) == 0 && wst.st_uid == 0 && geteuid() == 0) {
      /* the sandbox user maps to the workspace's owner: never to host root */
      al_node_reply_error(n, req, 403, "forbidden", "workspace '%s' is owned by root; give it to an unprivileged "
                          "user (the sandbox runs as the workspace's owner)", sp.workspace);
      return;
    }
    spec.workspace = real;
  } else {
    owned = node_workspace(n, id_hint, &err);
    if (!owned) {
      al_node_reply_error(n, req, 500, "internal", "cannot make a workspace: %s", err->msg);
      return;
    }
    spec.workspace = owned;
  }
  /* readonly autonomy holds even when the classifier is fooled: nothing a
   * command does can write the workspace */
  bool readonly = n->cfg->policy.enabled && n->cfg->policy.level == AL_LEVEL_READONLY;
  spec.workspace_rw = !sp.workspace_ro && !readonly;
  spec.workspace_none = false;
  if (al_spec_check(&spec, false, &err) < 0) { /* the bind guard, limits: the caller's mistake */
    al_node_reply_error(n, req, 403, "forbidden", "%s", err->msg);
    if (owned)
      rmdir(owned);
    return;
  }
  al_sbox *sb = al_node_sbox_create(n, t, &spec, false, &err);
  if (!sb) {
    int status = strstr(err->msg, "maximum") ? 429 : 500;
    al_node_reply_error(n, req, status, status == 429 ? "over_capacity" : "internal", "%s", err->msg);
    if (owned)
      rmdir(owned);
    return;
  }
  sb->owned_workspace = AL_STEAL(owned);
  sb->labels = sp.labels ? json_incref(sp.labels) : NULL;
  sb->idle_timeout_ms = 1000 * (sp.idle_timeout_s ? sp.idle_timeout_s : n->cfg->idle_timeout_s);
  sb->max_age_ms = 1000 * (sp.max_age_s ? sp.max_age_s : n->cfg->max_age_s);
  al_state_sandbox(n, sb, "created");
  sb->create_req = req; /* answered when the agent is ready, or with its setup error */
}

void al_node_handle_sandboxes(al_node *n, al_tenant *t, struct evhttp_request *req, al_api_route route, const char *id) {
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
    al_node_sbox_destroy(n, sb);
    evhttp_send_reply(req, 204, "No Content", NULL);
  } else {
    al_node_reply_error(n, req, 405, "method_not_allowed", "use GET or DELETE");
  }
}

al_sbox *al_node_sbox_create_owned(al_node *n, al_tenant *t, const char *label, airlock_error **err) {
  char id_hint[32];
  snprintf(id_hint, sizeof(id_hint), "ws_%lld", (long long)++n->next_num);
  _cleanup_free_ char *owned = node_workspace(n, id_hint, err);
  if (!owned)
    return NULL;
  airlock_spec spec = n->cfg->sandbox;
  spec.workspace = owned;
  spec.workspace_rw = !(n->cfg->policy.enabled && n->cfg->policy.level == AL_LEVEL_READONLY);
  spec.workspace_none = false;
  al_sbox *sb = al_node_sbox_create(n, t, &spec, false, err);
  if (!sb) {
    rmdir(owned);
    return NULL;
  }
  sb->owned_workspace = AL_STEAL(owned);
  sb->labels = label ? json_pack("{s:s}", "openclaw", label) : NULL;
  sb->idle_timeout_ms = 1000 * n->cfg->idle_timeout_s;
  sb->max_age_ms = 1000 * n->cfg->max_age_s;
  al_state_sandbox(n, sb, "created");
  return sb;
}
