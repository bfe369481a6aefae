/* SPDX-License-Identifier: Apache-2.0 */
/* mcp_run.c - the run tool: one streamed exec in a sandbox (so that it has
 * an id to cancel from its first moment), its output sent as progress
 * notifications when the client gave a progress token and kept up to
 * MCP_RESULT_OUTPUT_MAX for the result; the node's policy: a denial is a
 * tool error naming the rule, an approval is asked through elicitation when
 * the client can (the answer goes to the node's approvals API with the
 * approver's token) or described in the result with how a human answers. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "clock.h"
#include "error.h"
#include "mcp_priv.h"

static void client_closep(airlock_client **c) { airlock_client_close(c); }
#define _cleanup_client_ __attribute__((cleanup(client_closep)))
static void resultp(airlock_exec_result *r) { airlock_exec_result_clear(r); }

typedef struct run_state {
  mcp_call *call;
  char *out[3]; /* [1] stdout, [2] stderr */
  size_t len[3];
  size_t kept; /* both together */
  bool truncated;
  int64_t progress; /* bytes streamed so far: the progress value */
} run_state;

/* The longest prefix of data, at most room bytes, that ends on a UTF-8
 * character boundary (data is valid UTF-8: the node makes it so). */
static size_t utf8_prefix(const char *data, size_t len, size_t room) {
  if (room >= len)
    return len;
  while (room > 0 && ((unsigned char)data[room] & 0xc0) == 0x80)
    room--;
  return room;
}

static int on_output(void *ctx, int fd, const char *data, size_t len) {
  run_state *st = ctx;
  al_mcp *m = st->call->m;
  pthread_mutex_lock(&m->lock);
  bool stop = st->call->cancelled;
  pthread_mutex_unlock(&m->lock);
  if (stop)
    return 1; /* disconnects: the node kills the command */
  size_t room = MCP_RESULT_OUTPUT_MAX - st->kept, n = utf8_prefix(data, len, room);
  if (n < len)
    st->truncated = true;
  if (n > 0) {
    char *p = realloc(st->out[fd], st->len[fd] + n + 1);
    if (p == NULL)
      return 1;
    memcpy(p + st->len[fd], data, n);
    st->len[fd] += n;
    p[st->len[fd]] = '\0';
    st->out[fd] = p;
    st->kept += n;
  }
  st->progress += (int64_t)len;
  if (st->call->progress_token) {
    json_t *msg = json_stringn(data, len);
    if (msg) {
      json_t *note =
          json_pack("{s:s, s:{s:O, s:I, s:o}}", "method", "notifications/progress", "params", "progressToken",
                    st->call->progress_token, "progress", (json_int_t)st->progress, "message", msg);
      mcp_send(m, note);
    }
  }
  return 0;
}

static void on_started(void *ctx, const char *exec_id) {
  run_state *st = ctx;
  al_mcp *m = st->call->m;
  pthread_mutex_lock(&m->lock);
  free(st->call->exec_id);
  st->call->exec_id = strdup(exec_id);
  bool cancel = st->call->cancelled;
  pthread_mutex_unlock(&m->lock);
  if (cancel) /* the cancel came before the id: nobody else can send it */
    mcp_cancel_exec(m, exec_id);
}

static json_t *finished(run_state *st, const airlock_exec_result *res, const char *sandbox) {
  const char *out = st->out[1] ? st->out[1] : "", *err = st->out[2] ? st->out[2] : "";
  json_t *sc = json_pack("{s:i, s:b, s:b, s:b, s:i, s:s, s:s, s:s?, s:s, s:I, s:s?}", "exit_code", res->exit_code,
                         "timed_out", res->timed_out, "truncated", st->truncated, "oom_killed", res->oom_killed,
                         "signal", res->signal, "stdout", out, "stderr", err, "exec_id", res->exec_id, "sandbox",
                         sandbox, "wall_ms", (json_int_t)res->wall_ms, "error", res->error);
  char status[400];
  int n = snprintf(status, sizeof(status), "exit code %d", res->exit_code);
  if (res->timed_out)
    n += snprintf(status + n, sizeof(status) - (size_t)n, " (timed out: killed after its timeout)");
  if (res->oom_killed)
    n += snprintf(status + n, sizeof(status) - (size_t)n, " (killed: out of memory)");
  if (res->error)
    n += snprintf(status + n, sizeof(status) - (size_t)n, " (%.200s)", res->error);
  if (st->truncated)
    snprintf(status + n, sizeof(status) - (size_t)n, " (output truncated to the first %d bytes)",
             MCP_RESULT_OUTPUT_MAX);
  json_t *r = mcp_tool_text(false, "%s\n--- stdout ---\n%s%s--- stderr ---\n%s", status, out,
                            st->len[1] && out[st->len[1] - 1] != '\n' ? "\n" : "", err);
  if (r && sc)
    json_object_set_new(r, "structuredContent", sc);
  else
    json_decref(sc);
  return r;
}

static char *command_text(json_t *args) {
  const char *cmd = json_string_value(json_object_get(args, "command"));
  if (cmd)
    return strdup(cmd);
  json_t *argv = json_object_get(args, "argv");
  return json_dumps(argv, JSON_COMPACT);
}

/* What a human does about a pending approval, for the model to pass on. */
static json_t *waiting(const airlock_exec_result *res, const char *sandbox, const char *why) {
  int64_t left = res->approval_expires_at_ms ? (res->approval_expires_at_ms - al_wall_ms()) / 1000 : -1;
  char left_text[64] = "";
  if (left >= 0)
    snprintf(left_text, sizeof(left_text), " for %lld more seconds", (long long)left);
  json_t *r = mcp_tool_text(
      true,
      "The command has not run: the node's policy holds it for a human's approval (rule: %s).%s%s\n"
      "Approval %s is pending%s. A person with an approver token answers it in the airlock node's web UI "
      "(Approvals) or with `airlock approvals approve %s` (or `airlock approvals reject %s`). Once it is "
      "approved, call run again with exactly the same arguments plus \"approval_id\": \"%s\" (sandbox %s).",
      res->approval_rule ? res->approval_rule : "not given", why ? " " : "", why ? why : "", res->approval_id,
      left_text, res->approval_id, res->approval_id, res->approval_id, sandbox);
  return r;
}

typedef enum { ASK_APPROVED, ASK_DENIED, ASK_UNANSWERED } ask_answer;

/* Asks the user through elicitation/create; on an answer, tells the node
 * with the approver's token.  *why gets a sentence when unanswered. */
static ask_answer ask_user(mcp_call *call, const airlock_exec_result *res, const char *sandbox, char *why,
                           size_t why_len) {
  al_mcp *m = call->m;
  _cleanup_free_ char *cmd = command_text(call->args);
  _cleanup_free_ char *message = NULL;
  if (asprintf(&message,
               "airlock: a command needs your approval before it runs in sandbox %s.\n\nCommand: %s\nRule: %s\n"
               "Approval: %s",
               sandbox, cmd ? cmd : "?", res->approval_rule ? res->approval_rule : "?", res->approval_id) < 0)
    message = NULL;
  json_t *params = json_pack("{s:s, s:{s:s, s:{s:{s:s, s:s, s:s, s:[ss]}}, s:[s]}}", "message",
                             message ? message : "airlock: a command needs your approval", "requestedSchema", "type",
                             "object", "properties", "decision", "type", "string", "title", "Run this command?",
                             "description", "approve runs it once in the sandbox; deny refuses it", "enum", "approve",
                             "deny", "required", "decision");
  pthread_mutex_lock(&m->lock);
  bool form_mode = strcmp(m->protocol, "2025-11-25") >= 0;
  pthread_mutex_unlock(&m->lock);
  if (params && form_mode)
    json_object_set_new(params, "mode", json_string("form"));
  json_auto_t *answer = mcp_request(m, call, "elicitation/create", params, res->approval_expires_at_ms);
  json_t *result = json_object_get(answer, "result");
  const char *action = json_string_value(json_object_get(result, "action"));
  const char *decision = json_string_value(json_object_get(json_object_get(result, "content"), "decision"));
  if (answer == NULL || action == NULL || strcmp(action, "cancel") == 0) {
    snprintf(why, why_len, "Nobody answered the question in the client (%s).",
             answer == NULL ? "no answer in time"
             : action       ? "dismissed"
                            : "the client answered with an error");
    return ASK_UNANSWERED;
  }
  bool approve = strcmp(action, "accept") == 0 && decision && strcmp(decision, "approve") == 0;
  _cleanup_client_ airlock_client *c = NULL;
  _cleanup_error_ airlock_error *err = NULL;
  _cleanup_free_ char *path = NULL;
  const char *body = approve ? "{}" : "{\"reason\":\"denied by the user in the MCP client\"}";
  if (asprintf(&path, "/v1/approvals/%s/%s", res->approval_id, approve ? "approve" : "reject") < 0)
    path = NULL;
  if (path == NULL || mcp_open_client(m, m->approver_token, &c, &err) < 0 ||
      airlock_client_request(c, "POST", path, body, strlen(body), NULL, NULL, NULL, &err) < 0) {
    snprintf(why, why_len, "The user answered '%s' in the client, but the answer could not be given to the node: %s.",
             approve ? "approve" : "deny", err ? err->msg : "out of memory");
    return ASK_UNANSWERED;
  }
  return approve ? ASK_APPROVED : ASK_DENIED;
}

json_t *mcp_run_command(mcp_call *call, airlock_client *c, const char *sandbox) {
  json_t *a = call->args;
  al_mcp *m = call->m;
  /* argv and env as the client library takes them */
  json_t *argv_j = json_object_get(a, "argv"), *env_j = json_object_get(a, "env");
  size_t n_argv = json_array_size(argv_j), n_env = json_object_size(env_j);
  _cleanup_free_ char **argv = calloc(n_argv + 1, sizeof(char *));
  _cleanup_free_ char **env = calloc(n_env + 1, sizeof(char *));
  if (argv == NULL || env == NULL)
    return mcp_tool_text(true, "out of memory");
  for (size_t i = 0; i < n_argv; i++)
    argv[i] = (char *)json_string_value(json_array_get(argv_j, i));
  size_t k = 0;
  const char *key;
  json_t *val;
  json_object_foreach(env_j, key, val) {
    if (asprintf(&env[k], "%s=%s", key, json_string_value(val)) < 0)
      break;
    k++;
  }
  json_t *stdin_j = json_object_get(a, "stdin");
  airlock_exec_request req = {
      .argv = argv_j ? argv : NULL,
      .command = json_string_value(json_object_get(a, "command")),
      .sandbox_id = sandbox,
      .cwd = json_string_value(json_object_get(a, "cwd")),
      .env = env,
      .n_env = k,
      .stdin_data = stdin_j ? json_string_value(stdin_j) : NULL,
      .stdin_len = json_string_length(stdin_j),
      .timeout_ms = json_integer_value(json_object_get(a, "timeout_ms")),
      .on_started = on_started,
      .approval_poll = true,
      .approval_id = json_string_value(json_object_get(a, "approval_id")),
  };
  json_t *result = NULL;
  char approved[64];
  bool cancelled = false;
  for (int attempt = 0; attempt < 2 && result == NULL && !cancelled; attempt++) {
    run_state st = {.call = call};
    __attribute__((cleanup(resultp))) airlock_exec_result res = {0};
    _cleanup_error_ airlock_error *err = NULL;
    int rc = airlock_client_exec(c, &req, on_output, &st, &res, &err);
    pthread_mutex_lock(&m->lock);
    cancelled = call->cancelled;
    pthread_mutex_unlock(&m->lock);
    if (cancelled) {
      result = NULL; /* no answer to a cancelled request */
    } else if (rc == 0) {
      result = finished(&st, &res, sandbox);
    } else if (res.http_status == 202 && res.approval_id && attempt == 0) {
      char why[600] = "";
      ask_answer ans = ASK_UNANSWERED;
      pthread_mutex_lock(&m->lock);
      bool can_ask = m->elicitation;
      pthread_mutex_unlock(&m->lock);
      if (!can_ask)
        snprintf(why, sizeof(why), "This MCP client cannot ask its user (no elicitation support).");
      else if (m->approver_token == NULL)
        snprintf(why, sizeof(why),
                 "This client could ask its user, but airlock mcp has no approver token (AIRLOCK_APPROVER_TOKEN) "
                 "to pass the answer to the node.");
      else
        ans = ask_user(call, &res, sandbox, why, sizeof(why));
      if (ans == ASK_DENIED)
        result = mcp_tool_text(true, "The command did not run: the user denied it (approval %s, rule: %s).",
                               res.approval_id, res.approval_rule ? res.approval_rule : "not given");
      else if (ans == ASK_UNANSWERED)
        result = waiting(&res, sandbox, why);
      else { /* approved: the same request again, with its approval (res is cleared below) */
        snprintf(approved, sizeof(approved), "%s", res.approval_id);
        req.approval_id = approved;
      }
    } else if (res.http_status == 403 && res.http_error_code && strcmp(res.http_error_code, "policy_denied") == 0) {
      result = mcp_tool_text(true, "The command did not run: the node's policy refused it. %s", err->msg);
    } else {
      result = mcp_tool_text(true, "The command did not run: %s", err ? err->msg : "unknown failure");
    }
    for (int fd = 1; fd <= 2; fd++)
      free(st.out[fd]);
  }
  for (size_t i = 0; i < k; i++)
    free(env[i]);
  return result;
}
