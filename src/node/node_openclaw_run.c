/* SPDX-License-Identifier: Apache-2.0 */
/* node_openclaw_run.c - OpenClaw invokes on the node: system.run.prepare,
 * system.run and system.which.  Every system.run runs in an airlock sandbox
 * (never on the node's host): one persistent sandbox per scope key (the
 * session by default), made on first use and expired when idle like any
 * persistent sandbox.  The node's policy gate decides first (a denial is an
 * error result, nothing starts); the exec machinery of node_exec.c runs it;
 * here are the official host's semantics on top: SIGTERM to the group on
 * timeout and SIGKILL 300 ms later, cancel and a lost connection kill the
 * tree and answer nothing, exec.finished goes (and is answered) before the
 * result, and every step is in the audit trail. */
#define _GNU_SOURCE
#include "node_openclaw.h"
#include "cleanup.h"
#include "error.h"
#include "redact.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KILL_GRACE_MS 300
#define FINISHED_WAIT_MS 2000 /* the result goes out even if exec.finished is never answered */
/* what the sandbox's PATH holds (system.which looks there, on the host's
 * read-only system directories the sandbox sees) */
#define SANDBOX_WHICH_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int cmd_index(const char *c) {
  return strcmp(c, "system.run.prepare") == 0 ? OC_CMD_PREPARE
         : strcmp(c, "system.run") == 0       ? OC_CMD_RUN
         : strcmp(c, "system.which") == 0     ? OC_CMD_WHICH
                                              : OC_CMD_OTHER;
}

static void send_result(al_openclaw *oc, json_t *params) {
  if (params && oc->state == OC_READY)
    oc_send_req(oc, "node.invoke.result", params, NULL, 0);
  else if (params)
    json_decref(params);
}

static void send_error(al_openclaw *oc, const char *invoke_id, int cmd, int outcome, const char *code,
                       const char *msg) {
  oc->invokes[cmd][outcome]++;
  send_result(oc, oc_result_error(invoke_id, oc->id.id, code, msg));
}

static json_t *audit_base(al_openclaw *oc, const char *kind, const char *invoke_id, const char *command,
                          const oc_run *r) {
  json_t *rec = json_pack("{s:s,s:s,s:s,s:s}", "kind", kind, "tenant", oc->tenant->name, "invoke_id", invoke_id,
                          "command", command);
  if (r) {
    json_object_set_new(rec, "agent_id", r->agent_id ? json_string(r->agent_id) : json_null());
    json_object_set_new(rec, "session_key", r->session_key ? json_string(r->session_key) : json_null());
    json_object_set_new(rec, "run_id", r->run_id ? json_string(r->run_id) : json_null());
  }
  return rec;
}

/* Free text in a record (the policy's rule, the reason for a denial, the
 * gateway's approval decision, a parse error) through the one redaction,
 * as argv is: each may quote the command or what the gateway sent. */
static void audit_text(json_t *rec, const char *key, const oc_run *r, const char *text) {
  char *red = r ? al_redact_derived(r->argv, text) : al_redact_string(text);
  json_object_set_new(rec, key, json_string(red ? red : AL_REDACTED));
  free(red);
}

static void inv_free(al_openclaw *oc, oc_inv *inv) {
  for (oc_inv **p = &oc->invs; *p; p = &(*p)->next)
    if (*p == inv) {
      *p = inv->next;
      break;
    }
  struct event *evs[] = {inv->ev_term, inv->ev_kill, inv->ev_fallback};
  for (size_t i = 0; i < AL_ARRAY_SIZE(evs); i++)
    if (evs[i])
      event_free(evs[i]);
  if (inv->result)
    json_decref(inv->result);
  oc_run_clear(&inv->run);
  free(inv->invoke_id);
  free(inv);
}

static al_exec *inv_exec(al_openclaw *oc, oc_inv *inv) {
  return inv->started ? al_node_exec_find(oc->n, oc->tenant, inv->exec_id) : NULL;
}

/* the result waited for exec.finished's answer, or for FINISHED_WAIT_MS */
static void release(al_openclaw *oc, oc_inv *inv) {
  send_result(oc, AL_STEAL(inv->result));
  inv_free(oc, inv);
}

void oc_handle_res(al_openclaw *oc, const char *id) {
  for (oc_inv *inv = oc->invs; inv; inv = inv->next)
    if (inv->result && strcmp(inv->finished_req, id) == 0) {
      release(oc, inv);
      return;
    }
}

static void on_fallback(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  oc_inv *inv = arg;
  release(inv->oc, inv);
}

static void on_done(al_exec *e, void *owner) {
  oc_inv *inv = owner;
  al_openclaw *oc = inv->oc;
  e->p.on_done = NULL;
  if (inv->ev_term)
    event_del(inv->ev_term);
  if (inv->ev_kill)
    event_del(inv->ev_kill);
  json_t *io = al_exec_result_json(e, true);
  const char *out = json_string_value(json_object_get(io, "stdout"));
  const char *err = json_string_value(json_object_get(io, "stderr"));
  oc_outcome o = {
      .has_exit = WIFEXITED(e->wait_status) && !inv->timed_out,
      .exit_code = WIFEXITED(e->wait_status) ? WEXITSTATUS(e->wait_status) : 0,
      .timed_out = inv->timed_out,
      .stdout_text = out ? out : "",
      .stdout_len = json_string_length(json_object_get(io, "stdout")),
      .stderr_text = err ? err : "",
      .stderr_len = json_string_length(json_object_get(io, "stderr")),
      .truncated = e->truncated,
      .error = e->error,
  };
  if (e->error && !e->exec_errno)
    o.has_exit = false; /* the sandbox failed, not the command */
  json_t *rec = audit_base(oc, "openclaw.result", inv->invoke_id, "system.run", &inv->run);
  json_object_set_new(rec, "exec_id", json_string(e->id));
  json_object_set_new(rec, "sandbox", json_string(e->sandbox_id));
  json_object_set_new(rec, "exit_code", o.has_exit ? json_integer(o.exit_code) : json_null());
  json_object_set_new(rec, "timed_out", json_boolean(inv->timed_out));
  json_object_set_new(rec, "cancelled", json_boolean(inv->cancelled));
  json_object_set_new(rec, "truncated", json_boolean(e->truncated));
  al_node_audit(oc->n, rec);
  if (inv->cancelled) { /* the official host answers nothing after a cancel */
    oc->invokes[OC_CMD_RUN][OC_OUT_CANCELLED]++;
    json_decref(io);
    inv_free(oc, inv);
    return;
  }
  oc->invokes[OC_CMD_RUN][inv->timed_out ? OC_OUT_TIMEOUT : OC_OUT_OK]++;
  json_t *result = oc_run_result(&o);
  json_t *finished = inv->run.session_key ? oc_exec_finished(&inv->run, &o) : NULL;
  json_decref(io);
  inv->result = oc_result_ok(inv->invoke_id, oc->id.id, result);
  if (finished && oc->state == OC_READY) {
    /* as the official host: exec.finished first, the result once it is answered */
    oc_send_req(oc, "node.event", oc_node_event("exec.finished", finished), inv->finished_req,
                sizeof(inv->finished_req));
    inv->ev_fallback = evtimer_new(oc->n->base, on_fallback, inv);
    struct timeval tv = {FINISHED_WAIT_MS / 1000, 0};
    evtimer_add(inv->ev_fallback, &tv);
    return;
  }
  if (finished)
    json_decref(finished);
  release(oc, inv);
}

static void on_kill(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  oc_inv *inv = arg;
  al_exec *e = inv_exec(inv->oc, inv);
  if (e)
    al_node_exec_signal(inv->oc->n, e, SIGKILL);
}

static void on_term(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  oc_inv *inv = arg;
  al_exec *e = inv_exec(inv->oc, inv);
  if (!e || e->state == AL_EXEC_DONE)
    return;
  inv->timed_out = e->timed_out = true;
  al_node_exec_signal(inv->oc->n, e, SIGTERM);
  inv->ev_kill = evtimer_new(inv->oc->n->base, on_kill, inv);
  struct timeval tv = {0, KILL_GRACE_MS * 1000};
  evtimer_add(inv->ev_kill, &tv);
}

static void kill_inv(al_openclaw *oc, oc_inv *inv) {
  al_exec *e = inv_exec(oc, inv);
  inv->cancelled = true;
  if (e && e->state != AL_EXEC_DONE) {
    e->cancelled = true;
    al_node_exec_signal(oc->n, e, SIGKILL); /* the agent kills the command's whole process group */
  } else if (inv->result) {
    release(oc, inv); /* done already: only its result was waiting */
  }
}

void oc_handle_cancel(al_openclaw *oc, const json_t *payload) {
  const char *id = oc_cancel_id(payload);
  for (oc_inv *inv = oc->invs; id && inv; inv = inv->next)
    if (strcmp(inv->invoke_id, id) == 0 && !inv->cancelled) {
      kill_inv(oc, inv);
      return;
    }
}

void oc_cancel_all(al_openclaw *oc) {
  for (oc_inv *inv = oc->invs, *next; inv; inv = next) {
    next = inv->next;
    if (!inv->cancelled)
      kill_inv(oc, inv);
  }
}

void oc_runs_free(al_openclaw *oc) {
  while (oc->invs) {
    al_exec *e = inv_exec(oc, oc->invs);
    if (e)
      e->p.on_done = NULL; /* it ends after us */
    inv_free(oc, oc->invs);
  }
  while (oc->sessions) {
    oc_session *s = oc->sessions;
    oc->sessions = s->next;
    free(s->key);
    free(s);
  }
}

/* the sandbox of a scope key, made on first use (or again after it
 * expired); a new one gets the agent's own sandbox settings (scope
 * "shared": the node's defaults, every agent shares it) */
static al_sbox *session_sandbox(al_openclaw *oc, const char *key, const char *agent_id, airlock_error **err) {
  oc_session *s = oc->sessions;
  while (s && strcmp(s->key, key) != 0)
    s = s->next;
  al_sbox *sb = s ? al_node_sbox_find(oc->n, oc->tenant, s->sbox_id) : NULL;
  if (sb)
    return sb;
  const char *scope = al_node_openclaw_scope(oc->n->cfg, agent_id);
  const airlock_spec *base =
      scope && strcmp(scope, "shared") == 0 ? &oc->n->cfg->sandbox : al_node_agent_spec(oc->n->cfg, agent_id);
  sb = al_node_sbox_create_owned(oc->n, oc->tenant, base, key, err);
  if (!sb)
    return NULL;
  if (!s) {
    s = calloc(1, sizeof(*s));
    if (!s || !(s->key = strdup(key))) {
      free(s);
      al_node_sbox_destroy(oc->n, sb);
      al_err(err, ENOMEM, "session");
      return NULL;
    }
    s->next = oc->sessions;
    oc->sessions = s;
  }
  snprintf(s->sbox_id, sizeof(s->sbox_id), "%s", sb->id);
  return sb;
}

/* airlock's policy on the command.  "ask" is answered through OpenClaw's own
 * approval flow: prepare demands it of the gateway, and system.run then
 * needs the gateway's record of a human's approval for that very plan. */
static al_verdict policy_verdict(al_openclaw *oc, const oc_run *r, char *rule, size_t len) {
  const al_policy *pol = &oc->n->cfg->policy;
  if (!pol->enabled) {
    snprintf(rule, len, "no autonomy policy");
    return AL_VERDICT_ALLOW;
  }
  al_classification c;
  airlock_error *err = NULL;
  bool parsed = al_classify_argv(oc->n->catalogue, r->argv, &c, &err) == 0;
  airlock_error_free(&err);
  al_policy_decision d;
  al_policy_decide(pol, parsed ? &c : NULL, &d);
  if (parsed)
    al_classification_free(&c);
  snprintf(rule, len, "%s", d.rule);
  return d.verdict;
}

static void handle_prepare(al_openclaw *oc, const oc_invoke *inv_req, const oc_run *r) {
  json_t *rec = audit_base(oc, "openclaw.prepare", inv_req->id, "system.run.prepare", r);
  json_object_set_new(rec, "argv", al_redact_argv(r->argv));
  char rule[300];
  al_verdict v = policy_verdict(oc, r, rule, sizeof(rule));
  oc_exec_policy ep = v == AL_VERDICT_ALLOW ? OC_EXEC_RUN : v == AL_VERDICT_ASK ? OC_EXEC_ASK : OC_EXEC_DENY;
  json_object_set_new(rec, "decision", json_string(ep == OC_EXEC_RUN ? "allow" : ep == OC_EXEC_ASK ? "ask" : "deny"));
  audit_text(rec, "rule", r, rule);
  al_node_audit(oc->n, rec);
  _cleanup_free_ char *cwd = oc_sandbox_cwd(r->cwd);
  oc->invokes[OC_CMD_PREPARE][OC_OUT_OK]++;
  send_result(oc, oc_result_ok(inv_req->id, oc->id.id, oc_prepare_result(r, cwd ? cwd : "/workspace", ep)));
}

static void handle_run(al_openclaw *oc, oc_invoke *inv_req, oc_run *r) {
  al_node *n = oc->n;
  const char *iid = inv_req->id;
  json_t *rec = audit_base(oc, "openclaw.invoke", iid, "system.run", r);
  json_object_set_new(rec, "argv", al_redact_argv(r->argv));
  char rule[300], why[300];
  al_verdict v = policy_verdict(oc, r, rule, sizeof(rule));
  bool go = v == AL_VERDICT_ALLOW;
  if (v == AL_VERDICT_ASK) {
    go = oc_run_human_approved(r, why, sizeof(why));
    if (go) {
      audit_text(rec, "approval", r, r->approval_decision);
      snprintf(why, sizeof(why), "%s", rule);
    }
  } else {
    snprintf(why, sizeof(why), "%s", rule);
  }
  json_object_set_new(rec, "decision", json_string(go ? (v == AL_VERDICT_ASK ? "approved" : "allow") : "deny"));
  audit_text(rec, "rule", r, rule);
  if (!go) {
    if (v == AL_VERDICT_ASK)
      audit_text(rec, "reason", r, why);
    al_node_audit(n, rec);
    char msg[700];
    if (v == AL_VERDICT_ASK)
      snprintf(msg, sizeof(msg), "SYSTEM_RUN_DENIED: %s; airlock policy: %s", why, rule);
    else
      snprintf(msg, sizeof(msg), "SYSTEM_RUN_DENIED: airlock policy: %s", rule);
    send_error(oc, iid, OC_CMD_RUN, OC_OUT_DENIED, "SYSTEM_RUN_DENIED", msg);
    return;
  }
  if ((n->cfg->node_max.max_concurrent_execs && n->running >= n->cfg->node_max.max_concurrent_execs) ||
      (oc->tenant->max.max_concurrent_execs && oc->tenant->running >= oc->tenant->max.max_concurrent_execs) ||
      n->stopping) {
    json_object_set_new(rec, "decision", json_string("deny"));
    json_object_set_new(rec, "rule", json_string("the node is at capacity"));
    al_node_audit(n, rec);
    send_error(oc, iid, OC_CMD_RUN, OC_OUT_ERROR, "UNAVAILABLE", "the node is at capacity; retry later");
    return;
  }
  _cleanup_free_ char *key = oc_scope_key(al_node_openclaw_scope(n->cfg, r->agent_id), r);
  _cleanup_error_ airlock_error *err = NULL;
  al_sbox *sb = key ? session_sandbox(oc, key, r->agent_id, &err) : NULL;
  if (!sb) {
    json_object_set_new(rec, "decision", json_string("error"));
    al_node_audit(n, rec);
    char msg[400];
    snprintf(msg, sizeof(msg), "no sandbox for this session: %s", err ? err->msg : "out of memory");
    send_error(oc, iid, OC_CMD_RUN, OC_OUT_ERROR, "UNAVAILABLE", msg);
    return;
  }
  oc_inv *inv = calloc(1, sizeof(*inv));
  if (!inv) {
    json_decref(rec);
    send_error(oc, iid, OC_CMD_RUN, OC_OUT_ERROR, "UNAVAILABLE", "out of memory");
    return;
  }
  inv->oc = oc;
  inv->invoke_id = AL_STEAL(inv_req->id);
  inv->run = *r;
  memset(r, 0, sizeof(*r));
  unsigned char rnd[8] = {0};
  if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
    memset(rnd, 0, sizeof(rnd));
  snprintf(inv->exec_id, sizeof(inv->exec_id), "ex_%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
           rnd[4], rnd[5], rnd[6], rnd[7]);
  json_object_set_new(rec, "exec_id", json_string(inv->exec_id));
  json_object_set_new(rec, "sandbox", json_string(sb->id));
  al_node_audit(n, rec);
  inv->next = oc->invs;
  oc->invs = inv;

  /* the exec: argv and the request's accepted overrides, nothing of ours */
  int64_t max = n->cfg->node_max.max_timeout_ms ? n->cfg->node_max.max_timeout_ms : 3600 * 1000;
  int64_t run_ms = inv->run.timeout_ms && inv->run.timeout_ms < max ? inv->run.timeout_ms : max;
  al_exec_params p;
  memset(&p, 0, sizeof(p));
  size_t argc = 0, envc = 0;
  while (inv->run.argv[argc])
    argc++;
  while (inv->run.env && inv->run.env[envc])
    envc++;
  p.argv = calloc(argc + 1, sizeof(char *));
  for (size_t i = 0; p.argv && i < argc; i++)
    p.argv[i] = strdup(inv->run.argv[i]);
  if (envc) {
    p.env = calloc(envc + 1, sizeof(char *));
    for (size_t i = 0; p.env && i < envc; i++)
      p.env[i] = strdup(inv->run.env[i]);
  }
  p.cwd = oc_sandbox_cwd(inv->run.cwd);
  /* the node's own timer is only a backstop: SIGTERM, then SIGKILL, are ours */
  p.timeout_ms = run_ms < max - 2000 ? run_ms + 2000 : max;
  p.has_timeout = true;
  p.max_output = OC_OUTPUT_CAP;
  p.policy_done = true;
  memcpy(p.exec_id, inv->exec_id, sizeof(p.exec_id));
  p.on_done = on_done;
  p.owner = inv;
  inv->ev_term = evtimer_new(n->base, on_term, inv);
  struct timeval tv = {run_ms / 1000, (run_ms % 1000) * 1000};
  evtimer_add(inv->ev_term, &tv);
  inv->started = true;
  al_node_exec_start(n, oc->tenant, sb, &p, NULL); /* may finish at once (on_done) */
}

static bool is_exec_file(const char *file) {
  struct stat st;
  return stat(file, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

void oc_handle_invoke(al_openclaw *oc, const json_t *payload) {
  oc_invoke req;
  _cleanup_error_ airlock_error *err = NULL;
  if (oc_invoke_parse(payload, &req, &err) < 0) {
    oc->bad_frames++;
    const char *id = json_string_value(json_object_get(payload, "id"));
    oc_log(oc, "bad invoke from the gateway%s%.64s: %s", id && *id ? " " : " (no id, not answered)", id ? id : "",
           err->msg);
    if (id && *id) /* answer what can be answered */
      send_error(oc, id, OC_CMD_OTHER, OC_OUT_ERROR, "INVALID_REQUEST", err->msg);
    return;
  }
  if (req.node_id && strcmp(req.node_id, oc->id.id) != 0) {
    send_error(oc, req.id, OC_CMD_OTHER, OC_OUT_ERROR, "INVALID_REQUEST", "invoke for another node");
    oc_invoke_clear(&req);
    return;
  }
  int cmd = cmd_index(req.command);
  if (cmd == OC_CMD_OTHER) {
    send_error(oc, req.id, cmd, OC_OUT_ERROR, "UNAVAILABLE", "command not advertised by this node");
  } else if (cmd == OC_CMD_WHICH) {
    json_t *r = oc_which_result(req.params, SANDBOX_WHICH_PATH, is_exec_file, &err);
    if (!r) {
      send_error(oc, req.id, cmd, OC_OUT_ERROR, "INVALID_REQUEST", err->msg);
    } else {
      oc->invokes[cmd][OC_OUT_OK]++;
      send_result(oc, oc_result_ok(req.id, oc->id.id, r));
    }
  } else {
    oc_run r;
    const char *code;
    if (oc_run_parse(req.params, &r, &code, &err) < 0) {
      json_t *rec = audit_base(oc, "openclaw.invoke", req.id, req.command, NULL);
      json_object_set_new(rec, "decision", json_string("invalid"));
      audit_text(rec, "rule", NULL, err->msg);
      al_node_audit(oc->n, rec);
      send_error(oc, req.id, cmd, OC_OUT_ERROR, code ? code : "INVALID_REQUEST", err->msg);
    } else if (cmd == OC_CMD_PREPARE) {
      handle_prepare(oc, &req, &r);
      oc_run_clear(&r);
    } else {
      handle_run(oc, &req, &r);
      oc_run_clear(&r);
    }
  }
  oc_invoke_clear(&req);
}
