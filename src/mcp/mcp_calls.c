/* SPDX-License-Identifier: Apache-2.0 */
/* mcp_calls.c - what each tool does on the node, on the call's own thread
 * with a client of its own: run (streamed, output as progress
 * notifications, cancellable; a policy denial as a tool error; an approval
 * asked through elicitation and answered with the approver's token, or
 * described in the result), the files API, and sandboxes made and destroyed
 * for the session. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "cleanup.h"
#include "clock.h"
#include "error.h"
#include "mcp_priv.h"

static void client_closep(airlock_client **c) { airlock_client_close(c); }
#define _cleanup_client_ __attribute__((cleanup(client_closep)))

json_t *mcp_tool_text(bool is_error, const char *fmt, ...) {
  _cleanup_free_ char *text = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&text, fmt, ap) < 0)
    text = NULL;
  va_end(ap);
  json_t *s = text ? json_string(text) : NULL;
  if (s == NULL)
    s = json_string(is_error ? "the tool failed (its message is not valid UTF-8)" : "");
  json_t *result = json_pack("{s:[{s:s, s:o}]}", "content", "type", "text", "text", s);
  if (result && is_error)
    json_object_set_new(result, "isError", json_true());
  return result;
}

static json_t *error_result(airlock_error **err, const char *what) {
  json_t *r = mcp_tool_text(true, "%s: %s", what, *err && (*err)->msg ? (*err)->msg : "failed");
  airlock_error_free(err);
  return r;
}

int mcp_open_client(al_mcp *m, const char *token, airlock_client **c, airlock_error **err) {
  airlock_client_tls tls = {.ca_file = m->ca_file};
  bool https = m->node && strncmp(m->node, "https://", 8) == 0;
  return airlock_client_open(m->node, token, https ? &tls : NULL, c, err);
}

void mcp_cancel_exec(al_mcp *m, const char *exec_id) {
  _cleanup_client_ airlock_client *c = NULL;
  _cleanup_error_ airlock_error *err = NULL;
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "/v1/execs/%s", exec_id) < 0)
    return;
  if (mcp_open_client(m, m->token, &c, &err) == 0)
    airlock_client_request(c, "DELETE", path, NULL, 0, NULL, NULL, NULL, &err);
  /* 409: it ended meanwhile, which is what we wanted */
}

/* --- sandboxes ----------------------------------------------------------- */

static json_t *sandbox_get(airlock_client *c, const char *id, airlock_error **err) {
  _cleanup_free_ char *path = NULL, *resp = NULL;
  size_t len = 0;
  if (asprintf(&path, "/v1/sandboxes/%s", id) < 0)
    return NULL;
  if (airlock_client_request(c, "GET", path, NULL, 0, NULL, &resp, &len, err) < 0)
    return NULL;
  return json_loadb(resp, len, 0, NULL);
}

char *mcp_session_sandbox(al_mcp *m, airlock_error **err) {
  pthread_mutex_lock(&m->sandbox_lock);
  pthread_mutex_lock(&m->lock);
  char *id = m->sandbox ? strdup(m->sandbox) : NULL;
  pthread_mutex_unlock(&m->lock);
  if (id == NULL) {
    _cleanup_client_ airlock_client *c = NULL;
    if (mcp_open_client(m, m->token, &c, err) == 0 &&
        airlock_client_sandbox_create(c, "{\"labels\":{\"created_by\":\"airlock mcp\"}}", &id, err) == 0) {
      json_t *info = sandbox_get(c, id, NULL);
      pthread_mutex_lock(&m->lock);
      m->sandbox = strdup(id);
      m->sandbox_info = info;
      pthread_mutex_unlock(&m->lock);
      fprintf(stderr, "airlock mcp: session sandbox %s on %s\n", id, m->node);
    }
  }
  pthread_mutex_unlock(&m->sandbox_lock);
  return id;
}

/* the sandbox a call addresses: its "sandbox" argument or the session's */
static char *call_sandbox(mcp_call *call, airlock_error **err) {
  const char *given = json_string_value(json_object_get(call->args, "sandbox"));
  if (given) {
    char *s = strdup(given);
    if (s == NULL)
      al_err(err, ENOMEM, "sandbox id");
    return s;
  }
  return mcp_session_sandbox(call->m, err);
}

void mcp_destroy_sandboxes(al_mcp *m) {
  _cleanup_client_ airlock_client *c = NULL;
  _cleanup_error_ airlock_error *err = NULL;
  if (m->sandbox == NULL && m->n_made == 0)
    return;
  if (mcp_open_client(m, m->token, &c, &err) < 0) {
    fprintf(stderr, "airlock mcp: %s\n", err->msg);
    return;
  }
  for (size_t i = 0; i <= m->n_made; i++) {
    const char *id = i < m->n_made ? m->made[i] : m->sandbox;
    if (id == NULL)
      continue;
    if (m->keep) {
      fprintf(stderr, "airlock mcp: kept sandbox %s (--keep)\n", id);
      continue;
    }
    if (airlock_client_sandbox_destroy(c, id, &err) < 0) {
      /* one that is gone already (expired, destroyed by hand) is not a failure */
      fprintf(stderr, "airlock mcp: %s\n", err->msg);
      airlock_error_free(&err);
    }
  }
}

static json_t *create_sandbox(mcp_call *call, airlock_client *c) {
  _cleanup_error_ airlock_error *err = NULL;
  json_auto_t *body = json_pack("{s:{s:s}}", "labels", "created_by", "airlock mcp");
  json_t *labels = json_object_get(call->args, "labels");
  if (labels)
    json_object_update(json_object_get(body, "labels"), labels);
  json_t *limits = json_object();
  json_object_set_new(body, "limits", limits);
  if (json_object_get(call->args, "memory"))
    json_object_set(limits, "memory", json_object_get(call->args, "memory"));
  if (json_object_get(call->args, "cpus"))
    json_object_set(limits, "cpus", json_object_get(call->args, "cpus"));
  if (json_object_get(call->args, "idle_timeout_s"))
    json_object_set(body, "idle_timeout_s", json_object_get(call->args, "idle_timeout_s"));
  _cleanup_free_ char *text = json_dumps(body, JSON_COMPACT);
  _cleanup_free_ char *resp = NULL;
  size_t len = 0;
  if (text == NULL ||
      airlock_client_request(c, "POST", "/v1/sandboxes", text, strlen(text), NULL, &resp, &len, &err) < 0)
    return error_result(&err, "cannot create a sandbox");
  json_t *sb = json_loadb(resp, len, 0, NULL);
  const char *id = json_string_value(json_object_get(sb, "id"));
  if (id == NULL) {
    json_decref(sb);
    return mcp_tool_text(true, "the node answered without a sandbox id");
  }
  al_mcp *m = call->m;
  pthread_mutex_lock(&m->lock);
  char **grown = realloc(m->made, (m->n_made + 1) * sizeof(*grown));
  if (grown) {
    m->made = grown;
    m->made[m->n_made++] = strdup(id);
  }
  pthread_mutex_unlock(&m->lock);
  json_t *r = mcp_tool_text(false, "created sandbox %s; pass \"sandbox\": \"%s\" to the other tools", id, id);
  json_object_set_new(r, "structuredContent", sb);
  return r;
}

static json_t *destroy_sandbox(mcp_call *call, airlock_client *c) {
  _cleanup_error_ airlock_error *err = NULL;
  const char *id = json_string_value(json_object_get(call->args, "sandbox"));
  al_mcp *m = call->m;
  pthread_mutex_lock(&m->lock);
  bool own = m->sandbox && strcmp(m->sandbox, id) == 0;
  pthread_mutex_unlock(&m->lock);
  if (own)
    return mcp_tool_text(true, "%s is this session's own sandbox; it is destroyed when the session ends", id);
  if (airlock_client_sandbox_destroy(c, id, &err) < 0)
    return error_result(&err, "destroy_sandbox");
  pthread_mutex_lock(&m->lock);
  for (size_t i = 0; i < m->n_made; i++)
    if (strcmp(m->made[i], id) == 0) {
      free(m->made[i]);
      m->made[i] = m->made[--m->n_made];
      break;
    }
  pthread_mutex_unlock(&m->lock);
  return mcp_tool_text(false, "destroyed sandbox %s", id);
}

/* --- files --------------------------------------------------------------- */

static char *files_path(const char *sandbox, const char *path, const char *op) {
  size_t n = strlen(path);
  _cleanup_free_ char *esc = malloc(3 * n + 1);
  if (esc == NULL)
    return NULL;
  char *o = esc;
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~/", *p))
      *o++ = (char)*p;
    else
      o += sprintf(o, "%%%02X", *p);
  }
  *o = '\0';
  char *url = NULL;
  if (asprintf(&url, "/v1/sandboxes/%s/files?path=%s%s%s", sandbox, esc, op ? "&op=" : "", op ? op : "") < 0)
    return NULL;
  return url;
}

static bool is_text(const char *s, size_t len) {
  if (memchr(s, '\0', len))
    return false;
  json_t *j = json_stringn(s, len);
  bool ok = j != NULL;
  json_decref(j);
  return ok;
}

static json_t *files_call(mcp_call *call, airlock_client *c, const char *sandbox) {
  _cleanup_error_ airlock_error *err = NULL;
  const char *given = json_string_value(json_object_get(call->args, "path"));
  const char *path = mcp_workspace_path(given ? given : ".");
  const char *enc = json_string_value(json_object_get(call->args, "encoding"));
  bool b64 = enc && strcmp(enc, "base64") == 0;
  _cleanup_free_ char *url = files_path(sandbox, path, call->tool == MCP_TOOL_LIST_FILES ? "list" : NULL);
  _cleanup_free_ char *resp = NULL;
  size_t len = 0;
  if (url == NULL)
    return mcp_tool_text(true, "out of memory");
  switch (call->tool) {
  case MCP_TOOL_READ_FILE: {
    if (airlock_client_request(c, "GET", url, NULL, 0, NULL, &resp, &len, &err) < 0)
      return error_result(&err, "read_file");
    if (len > MCP_READ_MAX)
      return mcp_tool_text(true, "'%s' is %zu bytes; read_file returns at most %u (use run with head or split)", path,
                           len, MCP_READ_MAX);
    if (!b64 && is_text(resp, len)) {
      json_t *r = json_pack("{s:[{s:s, s:s%}]}", "content", "type", "text", "text", resp, len);
      return r ? r : mcp_tool_text(true, "out of memory");
    }
    _cleanup_free_ char *e = al_base64_encode(resp, len);
    if (e == NULL)
      return mcp_tool_text(true, "out of memory");
    return mcp_tool_text(false, "%s%s", b64 ? "" : "(the file is not UTF-8 text; its content in base64)\n", e);
  }
  case MCP_TOOL_WRITE_FILE: {
    json_t *content = json_object_get(call->args, "content");
    const char *data = json_string_value(content);
    size_t n = json_string_length(content);
    _cleanup_free_ unsigned char *decoded = NULL;
    if (b64) {
      size_t cap = n / 4 * 3 + 3;
      decoded = malloc(cap + 1);
      long got = decoded ? al_base64_decode(data, n, decoded, cap) : -1;
      if (got < 0)
        return mcp_tool_text(true, "content is not valid base64");
      data = (const char *)decoded;
      n = (size_t)got;
    }
    /* PUT with an empty body still writes an empty file */
    if (airlock_client_request(c, "PUT", url, n ? data : "", n, NULL, NULL, NULL, &err) < 0)
      return error_result(&err, "write_file");
    return mcp_tool_text(false, "wrote %zu bytes to /workspace/%s", n, strcmp(path, ".") == 0 ? "" : path);
  }
  case MCP_TOOL_LIST_FILES: {
    if (airlock_client_request(c, "GET", url, NULL, 0, NULL, &resp, &len, &err) < 0)
      return error_result(&err, "list_files");
    json_t *doc = json_loadb(resp, len, 0, NULL);
    json_t *entries = json_object_get(doc, "entries");
    if (!json_is_array(entries)) {
      json_decref(doc);
      return mcp_tool_text(true, "the node's listing is not {\"entries\": [...]}");
    }
    _cleanup_free_ char *text = NULL;
    size_t tlen = 0;
    _cleanup_fclose_ FILE *f = open_memstream(&text, &tlen);
    size_t i;
    json_t *e;
    if (f) {
      json_array_foreach(entries, i, e) {
        fprintf(f, "%-7s %10lld  %s\n", json_string_value(json_object_get(e, "type")),
                (long long)json_integer_value(json_object_get(e, "size")),
                json_string_value(json_object_get(e, "name")));
      }
      fclose(f);
      f = NULL;
    }
    json_t *r = mcp_tool_text(false, "%s", text && *text ? text : "(empty directory)\n");
    json_object_set_new(r, "structuredContent", doc);
    return r;
  }
  case MCP_TOOL_DELETE_FILE:
    if (airlock_client_request(c, "DELETE", url, NULL, 0, NULL, NULL, NULL, &err) < 0)
      return error_result(&err, "delete_file");
    return mcp_tool_text(false, "deleted /workspace/%s", path);
  default: return mcp_tool_text(true, "not a files tool");
  }
}

/* --- the call ------------------------------------------------------------ */

json_t *mcp_run_command(mcp_call *call, airlock_client *c, const char *sandbox);

json_t *mcp_call_run(mcp_call *call) {
  _cleanup_client_ airlock_client *c = NULL;
  _cleanup_error_ airlock_error *err = NULL;
  if (mcp_open_client(call->m, call->m->token, &c, &err) < 0)
    return error_result(&err, "cannot open the node client");
  if (call->tool == MCP_TOOL_CREATE_SANDBOX)
    return create_sandbox(call, c);
  if (call->tool == MCP_TOOL_DESTROY_SANDBOX)
    return destroy_sandbox(call, c);
  _cleanup_free_ char *sandbox = call_sandbox(call, &err);
  if (sandbox == NULL)
    return error_result(&err, "no sandbox");
  if (call->tool == MCP_TOOL_RUN)
    return mcp_run_command(call, c, sandbox);
  return files_call(call, c, sandbox);
}
