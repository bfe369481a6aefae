/* SPDX-License-Identifier: Apache-2.0 */
/* node_audit.c - what the node writes to the audit trail (audit.h) and how
 * it is read back (GET /v1/audit: approvers every tenant's records, other
 * tokens their own tenant's).  Records are built on the event loop and
 * handed to the trail's writer thread, which commits them in groups: an
 * exec never waits for a disk flush.  Secrets in argv are
 * redacted by pattern (redact.h); of the environment only names are kept. */
#define _GNU_SOURCE
#include "node.h"
#include "clock.h"

#include <event2/buffer.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include "audit.h"
#include "redact.h"
#include "error.h"
#include "secrets.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define PRUNE_EVERY_S 3600

static void prune(al_node *n) {
  uint64_t removed = 0;
  _cleanup_error_ airlock_error *err = NULL;
  /* the recorder's records first, so that pruning sees a settled chain */
  al_recorder_flush(n);
  int64_t cutoff = al_wall_ms() - n->cfg->audit_retention_days * 86400000LL;
  if (al_audit_prune(n->audit_read, cutoff, &removed, &err) < 0)
    al_logf(AL_LOG_WARN, "audit retention: %s", err->msg);
}

/* A trail written by an older redaction may hold secrets the current one
 * finds: redacted again once (the trail's meta table remembers the
 * version).  A trail that fails verification is left as it is, loudly:
 * re-hashing it would hide the tampering, and refusing to start would
 * stop every exec over records already written. */
static void redact_existing(al_node *n) {
  al_audit_redact_result r;
  _cleanup_error_ airlock_error *err = NULL;
  al_recorder_flush(n);
  if (al_audit_redact_existing(n->audit_read, false, &r, &err) < 0)
    fprintf(stderr, "airlock node: audit trail: %s (run 'airlock audit verify', then 'airlock audit redact')\n",
            err->msg);
  else if (r.changed > 0)
    fprintf(stderr,
            "airlock node: audit trail: redacted %" PRIu64 " of %" PRIu64 " records written by an older version; "
            "chain re-hashed from record %" PRIu64 ", old head %" PRIu64 ":%s kept in record %" PRIu64 "\n",
            r.changed, r.checked, r.from_seq, r.old_head_seq, r.old_head, r.record_seq);
}

static void on_prune(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  prune(arg);
}

static struct event *ev_prune;

/* The secret values the node can read (the values of `airlock secret`,
 * hidden by exact match wherever they appear) made known to redaction;
 * known values stay known when a secret is removed or replaced. */
static void learn_secrets(al_node *n) {
  al_secrets *store = NULL;
  airlock_error *e2 = NULL;
  if (al_secrets_open(n->cfg->state_dir, false, &store, &e2) < 0) {
    airlock_error_free(&e2); /* no secret store: nothing to know */
    return;
  }
  al_secret_info *list = NULL;
  size_t count = 0;
  if (al_secrets_list(store, &list, &count, &e2) == 0) {
    for (size_t i = 0; i < count; i++) {
      unsigned char *value = NULL;
      size_t len = 0;
      if (al_secrets_get(store, list[i].name, &value, &len, &e2) == 0) {
        al_redact_add_known(value, len);
        al_secret_free(value, len);
      }
      airlock_error_free(&e2);
    }
    free(list);
  }
  airlock_error_free(&e2);
  al_secrets_close(store);
}

/* `airlock secret set` while the node runs: the store's files are watched
 * (every SECRETS_CHECK_MS, by size and modification time, the WAL's too) and
 * read again when they change, so a new value is hidden from its first use
 * on, not only after a restart. */
#define SECRETS_CHECK_MS 1000
static struct event *ev_secrets;
static struct timespec secrets_seen[2];
static off_t secrets_size[2];

static bool secrets_changed(al_node *n) {
  static const char *const files[2] = {"secrets.db", "secrets.db-wal"};
  bool changed = false;
  for (int i = 0; i < 2; i++) {
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", n->cfg->state_dir, files[i]);
    struct stat st;
    if (stat(path, &st) < 0)
      memset(&st, 0, sizeof(st));
    if (st.st_mtim.tv_sec != secrets_seen[i].tv_sec || st.st_mtim.tv_nsec != secrets_seen[i].tv_nsec ||
        st.st_size != secrets_size[i])
      changed = true;
    secrets_seen[i] = st.st_mtim;
    secrets_size[i] = st.st_size;
  }
  return changed;
}

static void on_secrets_check(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  if (secrets_changed(arg))
    learn_secrets(arg);
}

/* What redaction must know before the first record: the operator's
 * registry files, and the secret values the node can read. */
static int redaction_start(al_node *n, airlock_error **err) {
  for (size_t i = 0; i < n->cfg->n_redaction_files; i++)
    if (al_redact_registry_add_file(n->cfg->redaction_files[i], err) < 0)
      return al_err_prefix(err, "audit.redaction");
  secrets_changed(n); /* the state now: later changes are read again */
  learn_secrets(n);
  ev_secrets = event_new(n->base, -1, EV_PERSIST, on_secrets_check, n);
  struct timeval every = {0, SECRETS_CHECK_MS * 1000};
  if (ev_secrets)
    evtimer_add(ev_secrets, &every);
  return 0;
}

int al_node_audit_start(al_node *n, airlock_error **err) {
  if (redaction_start(n, err) < 0)
    return -1;
  /* the recorder also carries the webhook, so it starts without an audit trail too */
  if (al_recorder_start(n, err) < 0)
    return -1;
  if (!n->cfg->audit_enabled)
    return 0;
  if (al_audit_open(n->cfg->state_dir, true, &n->audit_read, err) < 0)
    return al_err_prefix(err, "audit trail");
  redact_existing(n);
  prune(n);
  ev_prune = event_new(n->base, -1, EV_PERSIST, on_prune, n);
  struct timeval every = {PRUNE_EVERY_S, 0};
  evtimer_add(ev_prune, &every);
  return 0;
}

void al_node_audit_stop(al_node *n) {
  if (ev_prune)
    event_free(ev_prune);
  ev_prune = NULL;
  if (ev_secrets)
    event_free(ev_secrets);
  ev_secrets = NULL;
  al_recorder_stop(n);
  al_audit_close(n->audit_read);
  n->audit_read = NULL;
}

void al_node_audit(al_node *n, json_t *rec) { al_recorder_audit(n, rec); }

json_t *al_node_audit_base(const char *kind, const al_tenant *t, const char *sandbox, const al_exec_params *p) {
  json_t *rec = json_pack("{s:s}", "kind", kind);
  if (t)
    json_object_set_new(rec, "tenant", json_string(t->name));
  if (sandbox && *sandbox)
    json_object_set_new(rec, "sandbox", json_string(sandbox));
  if (p) {
    if (p->exec_id[0])
      json_object_set_new(rec, "exec_id", json_string(p->exec_id));
    json_object_set_new(rec, "argv", al_redact_argv(p->argv));
    json_object_set_new(rec, "cwd", p->cwd ? json_string(p->cwd) : json_null());
    json_t *keys = json_array();
    for (size_t i = 0; p->env && p->env[i]; i++)
      json_array_append_new(keys, json_stringn(p->env[i], strcspn(p->env[i], "=")));
    json_object_set_new(rec, "env_keys", keys);
  }
  return rec;
}

void al_node_audit_exec_result(al_node *n, const al_exec *e) {
  if (!al_recorder_audit_on(n))
    return;
  json_t *rec = al_node_audit_base("exec.result", e->tenant, e->sandbox_id, &e->p);
  json_object_set_new(rec, "exec_id", json_string(e->id));
  int code = al_exec_exit_code(e);
  json_object_set_new(rec, "exit_code", json_integer(code));
  json_object_set_new(rec, "duration_ms",
                      json_integer(e->end_ms > e->start_ms && e->start_ms ? e->end_ms - e->start_ms : 0));
  json_object_set_new(rec, "cpu_user_us", json_integer(e->user_us));
  json_object_set_new(rec, "cpu_sys_us", json_integer(e->sys_us));
  json_object_set_new(rec, "max_rss_kb", json_integer(e->max_rss_kb));
  json_object_set_new(rec, "output_bytes", json_integer((json_int_t)e->captured));
  const char *kill = e->timed_out ? "timeout" : e->oom_killed ? "oom" : e->cancelled ? "cancelled" : NULL;
  char sig[32];
  if (!kill && WIFSIGNALED(e->wait_status)) {
    snprintf(sig, sizeof(sig), "signal %d", WTERMSIG(e->wait_status));
    kill = sig;
  }
  if (kill)
    json_object_set_new(rec, "kill_reason", json_string(kill));
  if (e->error) {
    /* an error may quote the command ("cannot execute 'K=... python3'") */
    char *red = al_redact_derived(e->p.argv, e->error);
    json_object_set_new(rec, "error", json_string(red ? red : AL_REDACTED));
    free(red);
  }
  al_node_audit(n, rec);
}

/* --- GET /v1/audit -------------------------------------------------------- */

static int collect(json_t *rec, void *ud) {
  json_array_append(ud, rec);
  return 0;
}

static bool int_param(const char *v, int64_t *out) {
  char *end;
  if (!v || !*v)
    return false;
  long long x = strtoll(v, &end, 10);
  if (*end || x < 0)
    return false;
  *out = x;
  return true;
}

void al_node_handle_audit(al_node *n, al_tenant *t, struct evhttp_request *req) {
  if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
    al_node_reply_error(n, req, 405, "method_not_allowed", "use GET");
    return;
  }
  /* approvers read every tenant's records; any other token its own tenant's
   * (what its sandboxes ran, for `airlock logs`), as for approvals */
  bool approver = al_policy_is_approver(&n->cfg->policy, t->name);
  if (!n->audit_read) {
    al_node_reply_error(n, req, 404, "not_found", "the audit trail is off (audit.enabled is false)");
    return;
  }
  struct evkeyvalq q;
  TAILQ_INIT(&q);
  const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
  if (query && evhttp_parse_query_str(query, &q) < 0) {
    al_node_reply_error(n, req, 400, "bad_request", "malformed query string");
    return;
  }
  al_audit_filter f = {.limit = 100, .newest_first = true};
  int64_t v = 0;
  const char *bad = NULL;
  struct evkeyval *kv;
  TAILQ_FOREACH(kv, &q, next) {
    const char *k = kv->key, *val = kv->value;
    if (strcmp(k, "since_ms") == 0) {
      if (!int_param(val, &f.since_ms))
        bad = k;
    } else if (strcmp(k, "until_ms") == 0) {
      if (!int_param(val, &f.until_ms))
        bad = k;
    } else if (strcmp(k, "limit") == 0) {
      if (!int_param(val, &v) || v < 1 || v > 1000)
        bad = k;
      else
        f.limit = (size_t)v;
    } else if (strcmp(k, "exit_code") == 0) {
      if (!int_param(val, &v) || v > 255)
        bad = k;
      f.has_exit = true;
      f.exit_code = (int)v;
    } else if (strcmp(k, "tenant") == 0) {
      f.tenant = val;
    } else if (strcmp(k, "action") == 0) {
      f.action = val;
    } else if (strcmp(k, "decision") == 0) {
      f.decision = val;
    } else if (strcmp(k, "kind") == 0) {
      f.kind = val;
    } else if (strcmp(k, "q") == 0) {
      f.text = val;
    } else {
      bad = k;
    }
    if (bad)
      break;
  }
  if (!bad && !approver && f.tenant && strcmp(f.tenant, t->name) != 0) {
    al_node_reply_error(n, req, 403, "forbidden",
                        "tenant '%s': a token reads only its own tenant's records; approvers "
                        "(approvalGating.approvers) read every tenant's", f.tenant);
    evhttp_clear_headers(&q);
    return;
  }
  if (!approver)
    f.tenant = t->name;
  if (bad) {
    al_node_reply_error(n, req, 400, "bad_request",
                        "query parameter '%s' is not one of since_ms, until_ms (epoch ms), tenant, action, decision, "
                        "kind, exit_code (0-255), q, limit (1-1000), or its value is malformed",
                        bad);
    evhttp_clear_headers(&q);
    return;
  }
  al_recorder_flush(n); /* what was submitted is what is read */
  json_t *records = json_array();
  _cleanup_error_ airlock_error *err = NULL;
  int rc = al_audit_query(n->audit_read, &f, collect, records, &err);
  evhttp_clear_headers(&q);
  if (rc < 0) {
    al_node_reply_error(n, req, 500, "internal", "%s", err->msg);
    json_decref(records);
    return;
  }
  al_node_reply_json(req, 200, json_pack("{s:o}", "records", records));
}
