/* SPDX-License-Identifier: Apache-2.0 */
/* node_policy.c - the policy gate in front of every exec.  A request is
 * classified (classify.h) and judged (policy.h): allowed requests go on at
 * once, denied ones get 403, and those that need a human become approvals
 * (approvals.h).  The caller then either waits on its open request ("wait",
 * the default) or gets 202 with the approval id and sends the request again
 * with that id once it is approved ("poll").  Whichever way, the request
 * that runs must hash to the binding the approver saw (node_binding.c).
 *
 * One timer, armed for the earliest pending expiry, applies defaultAction;
 * it is re-armed from the database after every change, so pending approvals
 * found at start (from before a restart) expire on time too. */
#define _GNU_SOURCE
#include "node.h"
#include "clock.h"
#include "error.h"
#include "cleanup.h"
#include "redact.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

typedef struct al_parked {
  char approval_id[AL_APPROVAL_ID_LEN + 1];
  al_tenant *tenant;
  char sandbox_id[32]; /* "" for one-shot */
  al_exec_params p;
  char binding[65];
  struct evhttp_request *req;
  al_node *node;
  struct al_parked *next;
} al_parked;

static void arm_expiry(al_node *n);
static void on_expiry(evutil_socket_t fd, short what, void *arg);

static void make_exec_id(char out[32]) {
  unsigned char r[8] = {0};
  if (getrandom(r, sizeof(r), 0) != sizeof(r))
    memset(r, 0, sizeof(r));
  snprintf(out, 32, "ex_%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
}

static json_t *strings(unsigned actions) {
  json_t *a = json_array();
  for (unsigned i = 0; i < AL_ACTION_COUNT; i++)
    if (actions & AL_ACTION_BIT(i))
      json_array_append_new(a, json_string(al_action_name((al_action)i)));
  return a;
}

static json_t *dangerous_json(const al_classification *c, bool with_details) {
  json_t *a = json_array();
  for (size_t i = 0; c && i < c->n_matches; i++) {
    bool dup = false;
    for (size_t j = 0; j < i; j++)
      dup |= strcmp(c->matches[j].id, c->matches[i].id) == 0;
    if (dup)
      continue;
    if (with_details)
      json_array_append_new(a,
                            json_pack("{s:s,s:s,s:s}", "id", c->matches[i].id, "description", c->matches[i].description,
                                      "severity", al_severity_name(c->matches[i].severity)));
    else
      json_array_append_new(a, json_string(c->matches[i].id));
  }
  return a;
}

/* --- parking ------------------------------------------------------------ */

static void unpark(al_node *n, al_parked *pk) {
  for (al_parked **pp = &n->parked; *pp; pp = &(*pp)->next)
    if (*pp == pk) {
      *pp = pk->next;
      break;
    }
  if (pk->req) {
    struct evhttp_connection *conn = evhttp_request_get_connection(pk->req);
    evhttp_connection_set_closecb(conn, NULL, NULL);
    evhttp_connection_set_timeout(conn, (int)n->cfg->io_timeout_s);
  }
}

static void parked_free(al_parked *pk) {
  al_exec_params_clear(&pk->p);
  free(pk);
}

/* the caller went away while waiting: the approval stays, for the record
 * and for a later poll with its id */
static void on_parked_gone(struct evhttp_connection *conn, void *arg) {
  (void)conn;
  al_parked *pk = arg;
  al_node_request_abandon(pk->req);
  pk->req = NULL;
  unpark(pk->node, pk);
  parked_free(pk);
}

static void refuse(al_node *n, al_parked *pk, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void refuse(al_node *n, al_parked *pk, int status, const char *code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  json_t *rec = al_node_audit_base("exec.refused", pk->tenant, pk->sandbox_id, &pk->p);
  json_object_set_new(rec, "approval_id", json_string(pk->approval_id));
  json_object_set_new(rec, "reason", json_string(msg));
  al_node_audit(n, rec);
  if (pk->req) {
    struct evhttp_request *req = pk->req;
    pk->req = NULL;
    al_node_reply_error(n, req, status, code, "%s", msg);
  }
}

void al_node_approval_settled(al_node *n, const char *id) {
  al_parked *pk = n->parked;
  while (pk && strcmp(pk->approval_id, id) != 0)
    pk = pk->next;
  if (!pk)
    return;
  unpark(n, pk);
  json_t *ap = al_approvals_get(n->approvals, id);
  const char *state = ap ? json_string_value(json_object_get(ap, "state")) : "missing";
  if (strcmp(state, "approved") == 0) {
    al_sbox *sb = NULL;
    if (pk->sandbox_id[0] && !(sb = al_node_sbox_find(n, pk->tenant, pk->sandbox_id))) {
      refuse(n, pk, 409, "conflict", "sandbox '%s' is gone; approval '%s' was not used", pk->sandbox_id, id);
    } else {
      al_binding b;
      char why[300];
      /* the files may have changed while the approver read: hash again */
      if (al_node_binding(n, sb, &pk->p, &b) < 0 || strcmp(b.hash, pk->binding) != 0)
        refuse(n, pk, 409, "approval_mismatch",
               "the executable or script changed while approval '%s' was pending; a new approval is needed", id);
      else if (al_approvals_consume(n->approvals, id, pk->tenant->name, pk->sandbox_id, b.hash, al_wall_ms(), why,
                                    sizeof(why)) < 0)
        refuse(n, pk, 409, "approval_mismatch", "%s", why);
      else if (pk->req) {
        pk->p.policy_done = true;
        snprintf(pk->p.decision, sizeof(pk->p.decision), "approved");
        al_node_gate_note_exec(n, pk->req, pk->p.exec_id, "approved");
        struct evhttp_request *req = pk->req;
        pk->req = NULL;
        n->exec_resume(n, pk->tenant, sb, &pk->p, req);
      }
    }
  } else if (strcmp(state, "rejected") == 0) {
    const char *by = json_string_value(json_object_get(ap, "answered_by"));
    const char *reason = json_string_value(json_object_get(ap, "answer_reason"));
    refuse(n, pk, 403, "approval_rejected", "rejected by %s%s%s (approval %s)", by ? by : "an approver",
           reason ? ": " : "", reason ? reason : "", id);
  } else if (strcmp(state, "expired") == 0) {
    refuse(n, pk, 403, "approval_timeout", "no approver answered within %lld ms; defaultAction is reject (approval %s)",
           (long long)n->cfg->policy.timeout_ms, id);
  } else {
    refuse(n, pk, 409, "conflict", "approval '%s' is %s", id, state);
  }
  json_decref(ap);
  parked_free(pk);
}

static void on_expiry(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  al_node_approvals_expire(arg);
}

void al_node_approvals_expire(al_node *n) {
  char **ids = NULL;
  size_t count = 0;
  al_approvals_expire(n->approvals, al_wall_ms(), n->cfg->policy.default_approve, &ids, &count);
  for (size_t i = 0; i < count; i++) {
    json_t *ap = al_approvals_get(n->approvals, ids[i]);
    if (ap)
      al_node_metrics_approval(n, n->cfg->policy.default_approve ? 3 : 2, ap, al_wall_ms());
    json_t *rec =
        json_pack("{s:s,s:s,s:s,s:s}", "kind", "approval.expired", "approval_id", ids[i], "decision", "timeout", "rule",
                  n->cfg->policy.default_approve ? "defaultAction approve" : "defaultAction reject");
    if (ap)
      json_object_set(rec, "tenant", json_object_get(ap, "tenant"));
    al_node_audit(n, rec);
    json_decref(ap);
    al_node_approval_settled(n, ids[i]);
    free(ids[i]);
  }
  free(ids);
  arm_expiry(n);
}

static void arm_expiry(al_node *n) {
  if (!n->approvals || !n->ev_expiry)
    return;
  int64_t next = al_approvals_next_expiry(n->approvals);
  if (!next) {
    event_del(n->ev_expiry);
    return;
  }
  int64_t wait = next - al_wall_ms();
  if (wait < 0)
    wait = 0;
  struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000 + 1000};
  evtimer_add(n->ev_expiry, &tv);
}

/* --- the gate ----------------------------------------------------------- */

static json_t *approval_context(al_node *n, const al_exec_params *p, const al_classification *c,
                                const al_policy_decision *d, const al_binding *b) {
  json_t *rec = al_node_audit_base("approval", NULL, NULL, p); /* argv redacted, env keys only */
  json_object_del(rec, "kind");
  json_object_del(rec, "exec_id"); /* an approval is for a request; each run gets its own exec id */
  json_object_set_new(rec, "cwd", json_string(b->cwd));
  if (!n->cfg->policy.show_full_context) {
    /* only the program: approvers who asked for summaries get summaries */
    json_t *red = json_object_get(rec, "argv");
    json_t *first = json_array_get(red, 0);
    json_object_set_new(rec, "argv", json_pack("[s,s]", first ? json_string_value(first) : "", "..."));
  } else if (p->argv[1] && strcmp(p->argv[0], "/bin/sh") == 0 && strcmp(p->argv[1], "-c") == 0 && p->argv[2]) {
    json_object_set(rec, "command", json_array_get(json_object_get(rec, "argv"), 2));
  }
  json_object_set_new(rec, "actions", strings(d->actions));
  json_object_set_new(rec, "dangerous", dangerous_json(c, true));
  json_object_set_new(rec, "rule", json_string(d->rule));
  _cleanup_free_ char *exe = al_redact_derived(p->argv, b->exe);
  _cleanup_free_ char *script = b->script[0] ? al_redact_derived(p->argv, b->script) : NULL;
  json_object_set_new(rec, "exe", json_string(exe ? exe : AL_REDACTED));
  json_object_set_new(rec, "exe_sha256", json_string(b->exe_sha256));
  if (b->script[0]) {
    json_object_set_new(rec, "script", json_string(script ? script : AL_REDACTED));
    json_object_set_new(rec, "script_sha256", json_string(b->script_sha256));
  }
  if (p->stdin_data)
    json_object_set_new(rec, "stdin_bytes", json_integer((json_int_t)p->stdin_len));
  return rec;
}

static void record(al_node *n, struct evhttp_request *req, al_tenant *t, al_sbox *sb, al_exec_params *p,
                   const al_classification *c, const al_policy_decision *d, const char *decision, const char *rule,
                   const char *approval_id) {
  snprintf(p->decision, sizeof(p->decision), "%s", decision); /* for the exec's log line */
  al_node_gate_note_exec(n, req, p->exec_id, decision);
  json_t *rec = al_node_audit_base("exec.request", t, sb ? sb->id : NULL, p);
  json_object_set_new(rec, "actions", strings(d->actions));
  json_object_set_new(rec, "dangerous", dangerous_json(c, false));
  json_object_set_new(rec, "decision", json_string(decision));
  json_object_set_new(rec, "rule", json_string(rule));
  if (approval_id)
    json_object_set_new(rec, "approval_id", json_string(approval_id));
  al_node_audit(n, rec);
}

/* more records waiting than this: the disk cannot keep up, and an exec that
 * cannot be recorded does not run */
#define AUDIT_BACKLOG_MAX 50000

bool al_node_policy_gate(al_node *n, al_tenant *t, al_sbox *sb, al_exec_params *p, struct evhttp_request *req) {
  uint64_t waiting = al_recorder_backlog(n);
  if (waiting > AUDIT_BACKLOG_MAX) {
    al_node_reply_error(n, req, 503, "unavailable",
                        "the audit trail cannot keep up (%llu records waiting); retry later",
                        (unsigned long long)waiting);
    al_exec_params_clear(p);
    return false;
  }
  if (!p->exec_id[0])
    make_exec_id(p->exec_id);
  const al_policy *pol = &n->cfg->policy;
  if (!pol->enabled) {
    al_policy_decision none = {.verdict = AL_VERDICT_ALLOW};
    record(n, req, t, sb, p, NULL, &none, "allow", "no autonomy policy", NULL);
    return true;
  }
  al_classification c;
  airlock_error *err = NULL;
  bool parsed = al_classify_argv(n->catalogue, p->argv, &c, &err) == 0;
  airlock_error_free(&err);
  al_policy_decision d;
  al_policy_decide(pol, parsed ? &c : NULL, &d);
  bool go = false;
  if (d.verdict == AL_VERDICT_ALLOW) {
    record(n, req, t, sb, p, parsed ? &c : NULL, &d, "allow", d.rule, NULL);
    go = true;
    goto out;
  }
  if (d.verdict == AL_VERDICT_DENY) {
    record(n, req, t, sb, p, parsed ? &c : NULL, &d, "deny", d.rule, NULL);
    al_node_reply_error(n, req, 403, "policy_denied", "denied by policy: %s", d.rule);
    al_exec_params_clear(p);
    goto out;
  }
  if (pol->n_approvers == 0) { /* possible only on a node attached to OpenClaw */
    record(n, req, t, sb, p, parsed ? &c : NULL, &d, "deny", "needs an approval and no approver token is named", NULL);
    al_node_reply_error(n, req, 403, "policy_denied",
                        "denied by policy: %s needs an approval, and approvalGating.approvers names no token "
                        "to give it through this API",
                        d.rule);
    al_exec_params_clear(p);
    goto out;
  }
  /* it needs an approval: a remembered one, one given back, or a new one */
  al_binding b;
  if (al_node_binding(n, sb, p, &b) < 0) {
    record(n, req, t, sb, p, parsed ? &c : NULL, &d, "deny", "the request's files could not be looked up", NULL);
    al_node_reply_error(n, req, 500, "internal", "cannot look up the command in the sandbox to bind an approval");
    al_exec_params_clear(p);
    goto out;
  }
  char by[80], why[300];
  if (al_approvals_always(n->approvals, t->name, b.hash, by, sizeof(by))) {
    char rule[160];
    snprintf(rule, sizeof(rule), "approved always by %s", by);
    record(n, req, t, sb, p, parsed ? &c : NULL, &d, "approved", rule, NULL);
    go = true;
    goto out;
  }
  if (p->approval_id[0]) {
    if (al_approvals_consume(n->approvals, p->approval_id, t->name, sb ? sb->id : "", b.hash, al_wall_ms(), why,
                             sizeof(why)) == 0) {
      record(n, req, t, sb, p, parsed ? &c : NULL, &d, "approved", d.rule, p->approval_id);
      go = true;
    } else {
      record(n, req, t, sb, p, parsed ? &c : NULL, &d, "deny", why, p->approval_id);
      al_node_reply_error(n, req, 403, "approval_mismatch", "%s", why);
      al_exec_params_clear(p);
    }
    goto out;
  }
  /* approval fatigue: a tenant cannot queue more than maxPending at once */
  int64_t pending = al_approvals_pending_count(n->approvals, t->name);
  if (pending < 0 || pending >= pol->max_pending) {
    record(n, req, t, sb, p, parsed ? &c : NULL, &d, "deny", "too many pending approvals", NULL);
    al_node_reply_error(n, req, 429, "over_capacity",
                        "this token already has %lld approvals waiting (approvalGating.maxPending %lld); retry later",
                        (long long)pending, (long long)pol->max_pending);
    al_exec_params_clear(p);
    goto out;
  }
  char id[AL_APPROVAL_ID_LEN + 1];
  int64_t now = al_wall_ms();
  json_t *ctx = approval_context(n, p, parsed ? &c : NULL, &d, &b);
  if (al_approvals_create(n->approvals, t->name, sb ? sb->id : "", b.hash, now, now + pol->timeout_ms, ctx, id, &err) <
      0) {
    al_node_reply_error(n, req, 500, "internal", "%s", err->msg);
    airlock_error_free(&err);
    json_decref(ctx);
    al_exec_params_clear(p);
    goto out;
  }
  json_decref(ctx);
  record(n, req, t, sb, p, parsed ? &c : NULL, &d, "approval_required", d.rule, id);
  al_node_notify(n, "approval.requested", al_approvals_get(n->approvals, id));
  arm_expiry(n);
  if (p->approval_poll) {
    al_node_reply_json(req, 202, al_approvals_get(n->approvals, id));
    al_exec_params_clear(p);
    goto out;
  }
  al_parked *pk = calloc(1, sizeof(*pk));
  snprintf(pk->approval_id, sizeof(pk->approval_id), "%s", id);
  pk->tenant = t;
  snprintf(pk->sandbox_id, sizeof(pk->sandbox_id), "%s", sb ? sb->id : "");
  pk->p = *p;
  memset(p, 0, sizeof(*p));
  memcpy(pk->binding, b.hash, sizeof(pk->binding));
  pk->req = req;
  pk->node = n;
  pk->next = n->parked;
  n->parked = pk;
  struct evhttp_connection *conn = evhttp_request_get_connection(req);
  evhttp_connection_set_closecb(conn, on_parked_gone, pk);
  /* the wait is the approver's, not a stalled client */
  evhttp_connection_set_timeout(conn, (int)(pol->timeout_ms / 1000 + 10));
out:
  if (parsed)
    al_classification_free(&c);
  return go;
}

int al_node_policy_files(al_node *n, al_tenant *t, al_sbox *sb, al_action action, const char *path,
                         struct evhttp_request *req) {
  al_policy_decision d;
  al_policy_decide_actions(&n->cfg->policy, AL_ACTION_BIT(action), &d);
  const char *kind = action == AL_ACTION_FILE_READ    ? "files.read"
                     : action == AL_ACTION_FILE_WRITE ? "files.write"
                                                      : "files.delete";
  json_t *rec = al_node_audit_base(kind, t, sb->id, NULL);
  json_object_set_new(rec, "path", json_string(path ? path : ""));
  json_object_set_new(rec, "actions", strings(d.actions));
  /* the files API has no way to wait for a human: what would ask is refused,
   * and the exec API (which can wait) is the way to do it */
  const char *decision = d.verdict == AL_VERDICT_ALLOW ? "allow" : "deny";
  json_object_set_new(rec, "decision", json_string(decision));
  json_object_set_new(rec, "rule", json_string(d.rule));
  al_node_audit(n, rec);
  if (d.verdict == AL_VERDICT_ALLOW)
    return 0;
  al_node_reply_error(n, req, 403, "policy_denied", "%s: %s",
                      d.verdict == AL_VERDICT_DENY ? "denied by policy"
                                                   : "needs an approval, which the files API cannot wait for; use exec",
                      d.rule);
  return -1;
}

int al_node_policy_start(al_node *n, airlock_error **err) {
  if (al_node_binding_key_load(n, err) < 0 || al_approvals_open(n->cfg->state_dir, &n->approvals, err) < 0)
    return -1;
  if (n->cfg->policy.enabled) {
    if (al_catalogue_load_builtin(&n->catalogue, err) < 0)
      return al_err_prefix(err, "dangerous-action catalogue");
    for (size_t i = 0; i < n->cfg->n_catalogue_files; i++)
      if (al_catalogue_add_file(n->catalogue, n->cfg->catalogue_files[i], err) < 0)
        return al_err_prefix(err, "node config key 'catalogue'");
  }
  n->ev_expiry = evtimer_new(n->base, on_expiry, n);
  /* approvals that ran out while the node was down get their default now */
  al_node_approvals_expire(n);
  return 0;
}

void al_node_policy_drain(al_node *n) {
  while (n->parked) {
    al_parked *pk = n->parked;
    unpark(n, pk);
    if (pk->req)
      al_node_reply_error(n, pk->req, 503, "unavailable",
                          "the node is stopping; approval %s stays pending: poll it and send the request again with "
                          "its approval_id",
                          pk->approval_id);
    parked_free(pk);
  }
}

void al_node_notify(al_node *n, const char *type, json_t *payload) {
  al_recorder_webhook(n, type, payload); /* delivered by the recorder process */
}

void al_node_policy_stop(al_node *n) {
  al_node_policy_drain(n);
  if (n->ev_expiry)
    event_free(n->ev_expiry);
  n->ev_expiry = NULL;
  al_catalogue_free(n->catalogue);
  n->catalogue = NULL;
  al_approvals_close(n->approvals);
  n->approvals = NULL;
}
