/* SPDX-License-Identifier: Apache-2.0 */
/* mcp_rpc.c - the JSON-RPC 2.0 side of the MCP server: every incoming line
 * is parsed and judged here (parse errors, invalid requests, unknown
 * methods, bad params each get their JSON-RPC error), initialize and its
 * version negotiation, ping, tools/list, tools/call handed to a thread of
 * its own, notifications/cancelled, and the answers to requests the server
 * sent the client (elicitation).  Untrusted input: fuzzed by fuzz_mcp.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "clock.h"
#include "error.h"
#include "mcp_priv.h"

/* newest first; a client asking for another gets the first */
static const char *const versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};

/* --- output -------------------------------------------------------------- */

void mcp_send(al_mcp *m, json_t *msg) {
  if (msg == NULL)
    return;
  if (json_object_set_new(msg, "jsonrpc", json_string("2.0")) == 0) {
    _cleanup_free_ char *text = json_dumps(msg, JSON_COMPACT);
    if (text) {
      pthread_mutex_lock(&m->out_lock);
      m->write(m->ctx, text, strlen(text));
      pthread_mutex_unlock(&m->out_lock);
    }
  }
  json_decref(msg);
}

void mcp_send_result(al_mcp *m, json_t *id, json_t *result) {
  json_t *msg = json_object();
  if (msg == NULL) {
    json_decref(result);
    return;
  }
  json_object_set(msg, "id", id ? id : json_null());
  json_object_set_new(msg, "result", result ? result : json_object());
  mcp_send(m, msg);
}

void mcp_send_error(al_mcp *m, json_t *id, int code, const char *fmt, ...) {
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  /* the message may quote input: keep it valid UTF-8 whatever was cut */
  json_t *message = json_string(text);
  if (message == NULL)
    message = json_string("invalid request (its text is not valid UTF-8)");
  json_t *err = json_object();
  json_object_set_new(err, "code", json_integer(code));
  json_object_set_new(err, "message", message);
  json_t *msg = json_object();
  json_object_set(msg, "id", id ? id : json_null());
  json_object_set_new(msg, "error", err);
  mcp_send(m, msg);
}

json_t *mcp_request(al_mcp *m, mcp_call *call, const char *method, json_t *params, int64_t deadline_ms) {
  mcp_pending p = {0};
  pthread_mutex_lock(&m->lock);
  if (m->closing) {
    pthread_mutex_unlock(&m->lock);
    json_decref(params);
    return NULL;
  }
  p.id = ++m->next_request_id;
  p.next = m->pending;
  m->pending = &p;
  pthread_mutex_unlock(&m->lock);

  json_t *msg = json_object();
  json_object_set_new(msg, "id", json_integer(p.id));
  json_object_set_new(msg, "method", json_string(method));
  json_object_set_new(msg, "params", params);
  mcp_send(m, msg);

  struct timespec until = {0};
  if (deadline_ms > 0) {
    int64_t left = deadline_ms - al_wall_ms();
    clock_gettime(CLOCK_REALTIME, &until);
    if (left < 0)
      left = 0;
    until.tv_sec += left / 1000;
    until.tv_nsec += (left % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
  }
  pthread_mutex_lock(&m->lock);
  while (p.answer == NULL && !m->closing && !call->cancelled) {
    if (deadline_ms > 0) {
      if (pthread_cond_timedwait(&m->cond, &m->lock, &until) == ETIMEDOUT)
        break;
    } else {
      pthread_cond_wait(&m->cond, &m->lock);
    }
  }
  for (mcp_pending **pp = &m->pending; *pp; pp = &(*pp)->next)
    if (*pp == &p) {
      *pp = p.next;
      break;
    }
  pthread_mutex_unlock(&m->lock);
  return p.answer;
}

/* --- calls --------------------------------------------------------------- */

static void call_free(mcp_call *c) {
  json_decref(c->id);
  json_decref(c->progress_token);
  json_decref(c->args);
  free(c->exec_id);
  free(c);
}

/* joins and frees the calls that have finished (keeps the others) */
static void reap(al_mcp *m, bool all) {
  for (;;) {
    mcp_call *found = NULL;
    pthread_mutex_lock(&m->lock);
    for (mcp_call **pp = &m->calls; *pp; pp = &(*pp)->next)
      if ((*pp)->done || all) {
        found = *pp;
        *pp = found->next;
        m->n_calls--;
        break;
      }
    pthread_mutex_unlock(&m->lock);
    if (found == NULL)
      return;
    if (found->started)
      pthread_join(found->thread, NULL);
    call_free(found);
  }
}

static void *call_thread(void *arg) {
  mcp_call *c = arg;
  json_t *result = mcp_call_run(c);
  pthread_mutex_lock(&c->m->lock);
  bool cancelled = c->cancelled;
  pthread_mutex_unlock(&c->m->lock);
  /* a cancelled request gets no answer (the client has forgotten it) */
  if (result && !cancelled)
    mcp_send_result(c->m, c->id, result);
  else
    json_decref(result);
  pthread_mutex_lock(&c->m->lock);
  c->done = true;
  pthread_mutex_unlock(&c->m->lock);
  return NULL;
}

static void tools_call(al_mcp *m, json_t *id, json_t *params) {
  char why[300];
  mcp_tool tool;
  json_t *args = NULL;
  if (mcp_tools_check(params, &tool, &args, why, sizeof(why)) < 0) {
    mcp_send_error(m, id, MCP_INVALID_PARAMS, "%s", why);
    return;
  }
  json_t *token = json_object_get(json_object_get(params, "_meta"), "progressToken");
  if (token && !json_is_string(token) && !json_is_integer(token)) {
    json_decref(args);
    mcp_send_error(m, id, MCP_INVALID_PARAMS, "params._meta.progressToken must be a string or an integer");
    return;
  }
  if (!m->have_node) {
    json_decref(args);
    mcp_send_result(m, id, mcp_tool_text(true, "this server has no airlock node"));
    return;
  }
  reap(m, false);
  mcp_call *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    json_decref(args);
    mcp_send_error(m, id, MCP_INTERNAL_ERROR, "out of memory");
    return;
  }
  c->m = m;
  c->id = json_incref(id);
  c->progress_token = json_incref(token);
  c->tool = tool;
  c->args = args;
  pthread_mutex_lock(&m->lock);
  bool full = m->n_calls >= MCP_MAX_CALLS;
  if (!full) {
    c->next = m->calls;
    m->calls = c;
    m->n_calls++;
  }
  pthread_mutex_unlock(&m->lock);
  if (full) {
    call_free(c);
    mcp_send_result(m, id,
                    mcp_tool_text(true, "%d tool calls are running already; wait for one to end", MCP_MAX_CALLS));
    return;
  }
  /* the call is listed before its thread exists: a cancel can find it */
  pthread_mutex_lock(&m->lock);
  c->started = pthread_create(&c->thread, NULL, call_thread, c) == 0;
  if (!c->started)
    c->done = true;
  pthread_mutex_unlock(&m->lock);
  if (!c->started)
    mcp_send_error(m, id, MCP_INTERNAL_ERROR, "cannot start a thread for the call: %s", strerror(errno));
}

static void cancelled(al_mcp *m, json_t *params) {
  json_t *rid = json_object_get(params, "requestId");
  if (rid == NULL)
    return;
  char *exec_id = NULL;
  pthread_mutex_lock(&m->lock);
  for (mcp_call *c = m->calls; c; c = c->next)
    if (!c->done && json_equal(c->id, rid)) {
      c->cancelled = true;
      if (c->exec_id)
        exec_id = strdup(c->exec_id);
    }
  pthread_cond_broadcast(&m->cond); /* a call waiting for an elicitation answer gives up */
  pthread_mutex_unlock(&m->lock);
  /* not started yet: the call's on_started cancels it */
  if (exec_id)
    mcp_cancel_exec(m, exec_id);
  free(exec_id);
}

/* --- requests ------------------------------------------------------------ */

static void initialize(al_mcp *m, json_t *id, json_t *params) {
  json_t *v = json_object_get(params, "protocolVersion");
  if (!json_is_string(v)) {
    mcp_send_error(m, id, MCP_INVALID_PARAMS, "params.protocolVersion must be a string");
    return;
  }
  json_t *caps = json_object_get(params, "capabilities");
  if (caps && !json_is_object(caps)) {
    mcp_send_error(m, id, MCP_INVALID_PARAMS, "params.capabilities must be an object");
    return;
  }
  const char *chosen = versions[0];
  for (size_t i = 0; i < AL_ARRAY_SIZE(versions); i++)
    if (strcmp(json_string_value(v), versions[i]) == 0)
      chosen = versions[i];
  json_t *elicit = json_object_get(caps, "elicitation");
  pthread_mutex_lock(&m->lock);
  snprintf(m->protocol, sizeof(m->protocol), "%s", chosen);
  /* {} or {"form": {...}}: form mode, which is what approvals ask */
  m->elicitation = json_is_object(elicit) && (json_object_size(elicit) == 0 || json_object_get(elicit, "form"));
  m->initialized = true;
  pthread_mutex_unlock(&m->lock);

  if (m->have_node) { /* the session's sandbox now, so tools/list can state its limits */
    _cleanup_error_ airlock_error *err = NULL;
    char *sb = mcp_session_sandbox(m, &err);
    if (sb == NULL)
      fprintf(stderr, "airlock mcp: %s (tools will try again)\n", err ? err->msg : "no sandbox");
    free(sb);
  }
  json_t *result = json_pack(
      "{s:s, s:{s:{s:b}}, s:{s:s, s:s, s:s}, s:s}", "protocolVersion", chosen, "capabilities", "tools", "listChanged",
      0, "serverInfo", "name", "airlock", "title", "airlock sandbox", "version", AIRLOCK_VERSION, "instructions",
      "Tools of this server run commands and read and write files inside an airlock sandbox: an isolated Linux "
      "environment on an airlock node, separate from the machine the client runs on. The session has a sandbox of "
      "its own that keeps its files (under /workspace) between calls and is destroyed when the session ends. "
      "Commands have no network access unless the node's operator allowed it.");
  mcp_send_result(m, id, result);
}

static void request(al_mcp *m, const char *method, json_t *id, json_t *params) {
  if (params && !json_is_object(params)) {
    mcp_send_error(m, id, MCP_INVALID_PARAMS, "params must be an object");
    return;
  }
  if (strcmp(method, "initialize") == 0)
    initialize(m, id, params);
  else if (strcmp(method, "ping") == 0)
    mcp_send_result(m, id, json_object());
  else if (strcmp(method, "tools/list") == 0)
    mcp_send_result(m, id, json_pack("{s:o}", "tools", mcp_tools_list(m)));
  else if (strcmp(method, "tools/call") == 0)
    tools_call(m, id, params);
  else
    mcp_send_error(m, id, MCP_METHOD_NOT_FOUND, "method not found: '%.200s'", method);
}

static void response(al_mcp *m, json_t *msg) {
  json_t *id = json_object_get(msg, "id");
  if (!json_is_integer(id))
    return;
  pthread_mutex_lock(&m->lock);
  for (mcp_pending *p = m->pending; p; p = p->next)
    if (p->id == json_integer_value(id) && p->answer == NULL) {
      p->answer = json_incref(msg);
      pthread_cond_broadcast(&m->cond);
      break;
    }
  pthread_mutex_unlock(&m->lock);
}

void al_mcp_handle(al_mcp *m, const char *line, size_t len) {
  json_error_t jerr;
  json_auto_t *msg = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
  if (msg == NULL) {
    mcp_send_error(m, NULL, MCP_PARSE_ERROR, "parse error: %s (at byte %d)", jerr.text, jerr.position);
    return;
  }
  if (!json_is_object(msg)) {
    mcp_send_error(m, NULL, MCP_INVALID_REQUEST, "a message must be a JSON object (batches are not supported)");
    return;
  }
  json_t *id = json_object_get(msg, "id");
  bool id_ok = id && (json_is_string(id) || json_is_integer(id));
  if (!json_is_string(json_object_get(msg, "jsonrpc")) ||
      strcmp(json_string_value(json_object_get(msg, "jsonrpc")), "2.0") != 0) {
    mcp_send_error(m, id_ok ? id : NULL, MCP_INVALID_REQUEST, "'jsonrpc' must be \"2.0\"");
    return;
  }
  json_t *method = json_object_get(msg, "method");
  if (method == NULL && id && (json_object_get(msg, "result") || json_object_get(msg, "error"))) {
    response(m, msg);
    return;
  }
  if (!json_is_string(method)) {
    mcp_send_error(m, id_ok ? id : NULL, MCP_INVALID_REQUEST, "'method' must be a string");
    return;
  }
  const char *name = json_string_value(method);
  json_t *params = json_object_get(msg, "params");
  if (id == NULL) { /* a notification: never answered */
    if (strcmp(name, "notifications/cancelled") == 0 && json_is_object(params))
      cancelled(m, params);
    return;
  }
  if (!id_ok) {
    mcp_send_error(m, NULL, MCP_INVALID_REQUEST, "'id' must be a string or an integer");
    return;
  }
  request(m, name, id, params);
}

/* --- the session --------------------------------------------------------- */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

al_mcp *al_mcp_new(const al_mcp_options *o, al_mcp_write_fn write, void *ctx) {
  al_mcp *m = calloc(1, sizeof(*m));
  if (m == NULL)
    return NULL;
  pthread_mutex_init(&m->lock, NULL);
  pthread_mutex_init(&m->out_lock, NULL);
  pthread_mutex_init(&m->sandbox_lock, NULL);
  pthread_cond_init(&m->cond, NULL);
  m->write = write;
  m->ctx = ctx;
  if (o) {
    m->have_node = true;
    m->node = dup_or_null(o->node);
    m->token = dup_or_null(o->token);
    m->ca_file = dup_or_null(o->ca_file);
    m->approver_token = dup_or_null(o->approver_token);
    m->keep = o->keep;
  }
  return m;
}

void al_mcp_free(al_mcp **mp) {
  al_mcp *m = *mp;
  if (m == NULL)
    return;
  *mp = NULL;
  /* stop what runs: execs cancelled, elicitation waits woken */
  char *ids[MCP_MAX_CALLS];
  size_t n = 0;
  pthread_mutex_lock(&m->lock);
  m->closing = true;
  for (mcp_call *c = m->calls; c; c = c->next) {
    c->cancelled = true;
    if (!c->done && c->exec_id && n < AL_ARRAY_SIZE(ids))
      ids[n++] = strdup(c->exec_id);
  }
  pthread_cond_broadcast(&m->cond);
  pthread_mutex_unlock(&m->lock);
  for (size_t i = 0; i < n; i++) {
    if (ids[i])
      mcp_cancel_exec(m, ids[i]);
    free(ids[i]);
  }
  reap(m, true);
  if (m->have_node)
    mcp_destroy_sandboxes(m);
  for (size_t i = 0; i < m->n_made; i++)
    free(m->made[i]);
  free(m->made);
  free(m->sandbox);
  json_decref(m->sandbox_info);
  free(m->node);
  free(m->token);
  free(m->ca_file);
  free(m->approver_token);
  pthread_cond_destroy(&m->cond);
  pthread_mutex_destroy(&m->sandbox_lock);
  pthread_mutex_destroy(&m->out_lock);
  pthread_mutex_destroy(&m->lock);
  free(m);
}
