/* SPDX-License-Identifier: Apache-2.0 */
/* client_exec.c - airlock_client_exec(): the JSON body of POST /v1/exec, the
 * NDJSON records of a streamed answer (reassembled by ndjson.c, handed to the
 * caller's output callback in order), and the result object shared by the
 * streamed "exit" record and the non-streaming answer; a pty exec's input
 * and window size (POST /v1/execs/{id}/input). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base64.h"
#include "cleanup.h"
#include "client_priv.h"
#include "error.h"
#include "ndjson.h"

/* Longest NDJSON record accepted from the node. */
#define MAX_STREAM_LINE (4u << 20)

void airlock_exec_result_clear(airlock_exec_result *res) {
  if (res == NULL)
    return;
  free(res->exec_id);
  free(res->error);
  free(res->stdout_data);
  free(res->stderr_data);
  free(res->http_error_code);
  free(res->approval_id);
  free(res->approval_rule);
  memset(res, 0, sizeof(*res));
  res->retry_after_s = -1;
}

/* --- the request body ---------------------------------------------------- */

/* json_object_set_new that also fails for a NULL value (json_string() of
 * invalid UTF-8, say). */
static int put(json_t *obj, const char *key, json_t *value, airlock_error **err) {
  if (value == NULL || json_object_set_new(obj, key, value) < 0)
    return al_err(err, ENOMEM, "building the request field '%s'", key);
  return 0;
}

static int put_string(json_t *obj, const char *key, const char *value, const char *what, airlock_error **err) {
  json_t *s = json_string(value);
  if (s == NULL)
    return al_err(err, 0, "%s is not valid UTF-8 (the node API takes text)", what);
  return put(obj, key, s, err);
}

static int build_argv(json_t *body, char *const *argv, airlock_error **err) {
  json_t *arr = json_array();
  if (put(body, "argv", arr, err) < 0)
    return -1;
  for (size_t i = 0; argv[i]; i++) {
    json_t *s = json_string(argv[i]);
    if (s == NULL)
      return al_err(err, 0, "argument %zu ('%s') is not valid UTF-8 (the node API takes text)", i, argv[i]);
    if (json_array_append_new(arr, s) < 0)
      return al_err(err, ENOMEM, "building argv");
  }
  return 0;
}

static int build_env(json_t *body, char *const *env, size_t n, airlock_error **err) {
  json_t *obj = json_object();
  if (put(body, "env", obj, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++) {
    const char *eq = env[i] ? strchr(env[i], '=') : NULL;
    if (eq == NULL || eq == env[i])
      return al_err(err, 0, "environment entry '%s' is not K=V", env[i] ? env[i] : "(null)");
    _cleanup_free_ char *key = strndup(env[i], (size_t)(eq - env[i]));
    if (key == NULL)
      return al_err(err, ENOMEM, "building env");
    json_t *v = json_string(eq + 1);
    if (v == NULL)
      return al_err(err, 0, "environment entry '%s' is not valid UTF-8", key);
    if (json_object_set_new(obj, key, v) < 0) /* a later K replaces an earlier one */
      return al_err(err, 0, "environment name '%s' is not valid UTF-8", key);
  }
  return 0;
}

static int build_limits(json_t *body, const airlock_exec_limits *l, airlock_error **err) {
  if (l->memory_bytes < 0 || l->pids < 0 || l->disk_bytes < 0 || l->cpus < 0)
    return al_err(err, 0, "limits must not be negative");
  if (!l->memory_bytes && !l->cpus && !l->pids && !l->disk_bytes)
    return 0;
  json_t *obj = json_object();
  if (put(body, "limits", obj, err) < 0)
    return -1;
  if (l->memory_bytes && put(obj, "memory", json_integer(l->memory_bytes), err) < 0)
    return -1;
  if (l->cpus && put(obj, "cpus", json_real(l->cpus), err) < 0)
    return -1;
  if (l->pids && put(obj, "pids", json_integer(l->pids), err) < 0)
    return -1;
  if (l->disk_bytes && put(obj, "disk", json_integer(l->disk_bytes), err) < 0)
    return -1;
  return 0;
}

static char *build_body(const airlock_exec_request *req, bool stream, airlock_error **err) {
  json_auto_t *body = json_object();
  if (body == NULL) {
    al_err(err, ENOMEM, "building the request");
    return NULL;
  }
  if (req->argv && req->command) {
    al_err(err, 0, "give either argv or a shell command, not both");
    return NULL;
  }
  if (req->argv ? req->argv[0] == NULL : (req->command == NULL || *req->command == '\0')) {
    al_err(err, 0, "no command given");
    return NULL;
  }
  if (req->detach_on_disconnect && !stream) {
    al_err(err, 0, "detach_on_disconnect needs a streamed exec (an output callback)");
    return NULL;
  }
  if (req->stdin_open && (!stream || req->stdin_data || req->pty)) {
    al_err(err, 0, "a stdin_open exec needs an output callback, no pty, and takes its input through "
                   "airlock_client_exec_input()");
    return NULL;
  }
  if (req->pty && (!stream || req->stdin_data)) {
    al_err(err, 0, "a pty exec needs an output callback and takes its input through airlock_client_exec_input()");
    return NULL;
  }
  if (req->rows > 65535 || req->cols > 65535) {
    al_err(err, 0, "window size %ux%u is out of range", req->rows, req->cols);
    return NULL;
  }
  if (req->timeout_ms < 0 || req->max_output_bytes < 0) {
    al_err(err, 0, "timeout_ms and max_output_bytes must not be negative");
    return NULL;
  }
  if (req->argv ? build_argv(body, req->argv, err) < 0
                : put_string(body, "command", req->command, "the shell command", err) < 0)
    return NULL;
  if (req->cwd && put_string(body, "cwd", req->cwd, "the working directory", err) < 0)
    return NULL;
  if (req->n_env && build_env(body, req->env, req->n_env, err) < 0)
    return NULL;
  if (req->stdin_data || req->stdin_len) {
    if (req->stdin_data == NULL) {
      al_err(err, EINVAL, "stdin_data");
      return NULL;
    }
    _cleanup_free_ char *b64 = al_base64_encode(req->stdin_data, req->stdin_len);
    if (b64 == NULL || put(body, "stdin_base64", json_string(b64), err) < 0) {
      al_err(err, ENOMEM, "encoding %zu bytes of stdin", req->stdin_len);
      return NULL;
    }
  }
  if (req->timeout_ms && put(body, "timeout_ms", json_integer(req->timeout_ms), err) < 0)
    return NULL;
  if (build_limits(body, &req->limits, err) < 0)
    return NULL;
  if (stream && put(body, "stream", json_true(), err) < 0)
    return NULL;
  if (req->max_output_bytes && put(body, "max_output_bytes", json_integer(req->max_output_bytes), err) < 0)
    return NULL;
  if (req->detach_on_disconnect && put(body, "detach_on_disconnect", json_true(), err) < 0)
    return NULL;
  if (req->pty && (put(body, "pty", json_true(), err) < 0 || (req->rows && req->cols &&
                                                              (put(body, "rows", json_integer(req->rows), err) < 0 ||
                                                               put(body, "cols", json_integer(req->cols), err) < 0))))
    return NULL;
  if (req->stdin_open && put(body, "stdin_open", json_true(), err) < 0)
    return NULL;
  if (req->approval_poll && put(body, "approval", json_string("poll"), err) < 0)
    return NULL;
  if (req->approval_id && put_string(body, "approval_id", req->approval_id, "the approval id", err) < 0)
    return NULL;
  char *text = json_dumps(body, JSON_COMPACT);
  if (text == NULL)
    al_err(err, ENOMEM, "building the request");
  return text;
}

/* --- the result ---------------------------------------------------------- */

static int bad_field(const char *key, const char *want, airlock_error **err) {
  return al_err(err, 0, "node sent a result whose \"%s\" is not %s", key, want);
}

static int get_int(json_t *o, const char *key, int64_t *out, bool required, airlock_error **err) {
  json_t *v = json_object_get(o, key);
  if (v == NULL || json_is_null(v))
    return required ? al_err(err, 0, "node sent a result without \"%s\"", key) : 0;
  if (!json_is_integer(v))
    return bad_field(key, "an integer", err);
  *out = json_integer_value(v);
  return 0;
}

static int get_bool(json_t *o, const char *key, bool *out, airlock_error **err) {
  json_t *v = json_object_get(o, key);
  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_boolean(v))
    return bad_field(key, "true or false", err);
  *out = json_is_true(v);
  return 0;
}

/* A string field copied out; clean_text for messages meant for a terminal. */
static int get_string(json_t *o, const char *key, char **out, size_t *len, bool clean, airlock_error **err) {
  json_t *v = json_object_get(o, key);
  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_string(v))
    return bad_field(key, "a string", err);
  const char *s = json_string_value(v);
  size_t n = json_string_length(v);
  char *copy = clean ? al_client_clean_text(s, n) : malloc(n + 1);
  if (copy == NULL)
    return al_err(err, ENOMEM, "result field \"%s\"", key);
  if (!clean) {
    memcpy(copy, s, n);
    copy[n] = '\0';
  }
  free(*out);
  *out = copy;
  if (len)
    *len = n;
  return 0;
}

static int parse_result(json_t *o, airlock_exec_result *res, bool with_output, airlock_error **err) {
  if (!json_is_object(o))
    return al_err(err, 0, "node sent a result that is not a JSON object");
  int64_t code = 0, sig = 0;
  if (get_int(o, "exit_code", &code, true, err) < 0 || get_int(o, "signal", &sig, false, err) < 0)
    return -1;
  if (code < 0 || code > 255 || sig < 0 || sig > 128)
    return al_err(err, 0, "node sent exit_code %lld, signal %lld: out of range", (long long)code, (long long)sig);
  res->exit_code = (int)code;
  res->signal = (int)sig;
  if (get_bool(o, "timed_out", &res->timed_out, err) < 0 || get_bool(o, "oom_killed", &res->oom_killed, err) < 0 ||
      get_bool(o, "truncated", &res->truncated, err) < 0 || get_bool(o, "success", &res->success, err) < 0 ||
      get_int(o, "wall_ms", &res->wall_ms, false, err) < 0 ||
      get_int(o, "cpu_user_ms", &res->cpu_user_ms, false, err) < 0 ||
      get_int(o, "cpu_sys_ms", &res->cpu_sys_ms, false, err) < 0 ||
      get_int(o, "max_rss_kb", &res->max_rss_kb, false, err) < 0 ||
      get_string(o, "exec_id", &res->exec_id, NULL, true, err) < 0 ||
      get_string(o, "error", &res->error, NULL, true, err) < 0)
    return -1;
  if (with_output && (get_string(o, "stdout", &res->stdout_data, &res->stdout_len, false, err) < 0 ||
                      get_string(o, "stderr", &res->stderr_data, &res->stderr_len, false, err) < 0))
    return -1;
  return 0;
}

/* The 202 answer of an exec sent with "approval": "poll": the pending approval. */
static int parse_approval(json_t *o, airlock_exec_result *res, airlock_error **err) {
  int64_t expires = 0;
  if (get_string(o, "approval_id", &res->approval_id, NULL, true, err) < 0 ||
      get_string(o, "rule", &res->approval_rule, NULL, true, err) < 0 ||
      get_int(o, "expires_at_ms", &expires, false, err) < 0)
    return -1;
  if (res->approval_id == NULL)
    return al_err(err, 0, "node answered 202 without an \"approval_id\"");
  res->approval_expires_at_ms = expires;
  return 0;
}

static int approval_pending(airlock_client *c, const airlock_exec_result *res, airlock_error **err) {
  return al_err(err, 0, "node %s holds the command for a human's approval %s (%s)", c->node, res->approval_id,
                res->approval_rule ? res->approval_rule : "no rule given");
}

/* --- streaming ----------------------------------------------------------- */

typedef struct stream_state {
  airlock_client *c;
  al_ndjson lines;
  airlock_output_fn on_output;
  void (*on_started)(void *ctx, const char *exec_id);
  void *ctx;
  airlock_exec_result *res;
  bool got_exit;
  bool got_approval; /* a 202 with the pending approval instead of a stream */
  bool approval_poll;
  bool stopped; /* on_output asked to stop */
} stream_state;

static int on_record(void *ctx, const char *line, size_t len, airlock_error **err) {
  stream_state *st = ctx;
  json_error_t jerr;
  json_auto_t *rec = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
  if (rec == NULL)
    return al_err(err, 0, "node sent a stream record that is not JSON (%s)", jerr.text);
  const char *type = json_string_value(json_object_get(rec, "type"));
  if (type == NULL && st->approval_poll && !st->got_exit && json_object_get(rec, "approval_id")) {
    st->got_approval = true; /* the 202 answer: one object, not a stream */
    return parse_approval(rec, st->res, err);
  }
  if (type == NULL)
    return al_err(err, 0, "node sent a stream record without a \"type\"");
  if (st->got_exit)
    return 0; /* nothing is expected after "exit"; ignore rather than fail a finished exec */
  int fd = strcmp(type, "stdout") == 0 ? 1 : strcmp(type, "stderr") == 0 ? 2 : 0;
  if (fd) {
    json_t *data = json_object_get(rec, "data");
    if (!json_is_string(data))
      return al_err(err, 0, "node sent a \"%s\" record without a string \"data\"", type);
    size_t n = json_string_length(data);
    if (n > 0 && st->on_output(st->ctx, fd, json_string_value(data), n) != 0) {
      st->stopped = true;
      return al_err(err, 0, "output callback stopped the exec; disconnected from the node");
    }
    return 0;
  }
  if (strcmp(type, "started") == 0) {
    if (get_string(rec, "exec_id", &st->res->exec_id, NULL, true, err) < 0)
      return -1;
    if (st->on_started && st->res->exec_id)
      st->on_started(st->ctx, st->res->exec_id);
    return 0;
  }
  if (strcmp(type, "exit") == 0) {
    if (parse_result(rec, st->res, false, err) < 0)
      return -1;
    st->got_exit = true;
    return 0;
  }
  return 0; /* record types added later are skipped */
}

static int stream_write(void *ctx, const char *data, size_t len, airlock_error **err) {
  stream_state *st = ctx;
  if (al_ndjson_feed(&st->lines, data, len, on_record, st, err) < 0)
    return st->stopped ? -1 : al_err_prefix(err, "bad output stream from node %s", st->c->node);
  return 0;
}

/* --- the call ------------------------------------------------------------ */

static char *exec_path(airlock_client *c, const char *sandbox_id, airlock_error **err) {
  if (sandbox_id == NULL) {
    char *p = strdup("/v1/exec");
    if (p == NULL)
      al_err(err, ENOMEM, "request path");
    return p;
  }
  _cleanup_free_ char *base = al_client_sandbox_path(c, sandbox_id, err);
  char *p = NULL;
  if (base && asprintf(&p, "%s/exec", base) < 0) {
    p = NULL;
    al_err(err, ENOMEM, "request path");
  }
  return p;
}

/* Copies what the exchange learned into the result. */
static void note_response(airlock_exec_result *res, al_client_response *r) {
  res->http_status = r->status;
  res->retry_after_s = r->retry_after_s;
  res->http_error_code = AL_STEAL(r->error_code);
}

int airlock_client_exec(airlock_client *c, const airlock_exec_request *req, airlock_output_fn on_output, void *ctx,
                        airlock_exec_result *res, airlock_error **err) {
  memset(res, 0, sizeof(*res));
  res->retry_after_s = -1;
  _cleanup_free_ char *body = build_body(req, on_output != NULL, err);
  if (body == NULL)
    return -1;
  _cleanup_free_ char *path = exec_path(c, req->sandbox_id, err);
  if (path == NULL)
    return -1;

  al_client_response r;
  if (on_output == NULL) {
    int rc = al_client_perform(c, "POST", path, "application/json", body, strlen(body), NULL, &r, err);
    note_response(res, &r);
    if (rc == 0) {
      json_error_t jerr;
      json_auto_t *doc = json_loadb(r.body ? r.body : "", r.body_len, JSON_ALLOW_NUL, &jerr);
      if (doc == NULL)
        rc = al_err(err, 0, "node %s answered the exec with invalid JSON (%s)", c->node, jerr.text);
      else if (r.status == 202 && req->approval_poll)
        rc = parse_approval(doc, res, err) < 0 ? -1 : approval_pending(c, res, err);
      else
        rc = parse_result(doc, res, true, err);
    }
    al_client_response_clear(&r);
    return rc;
  }

  stream_state st = {.c = c,
                     .on_output = on_output,
                     .on_started = req->on_started,
                     .ctx = ctx,
                     .res = res,
                     .approval_poll = req->approval_poll};
  al_ndjson_init(&st.lines, MAX_STREAM_LINE);
  al_client_sink sink = {.write = stream_write, .ctx = &st};
  int rc = al_client_perform(c, "POST", path, "application/json", body, strlen(body), &sink, &r, err);
  note_response(res, &r);
  al_client_response_clear(&r);
  if (rc == 0 && al_ndjson_finish(&st.lines, on_record, &st, err) < 0)
    rc = st.stopped ? -1 : al_err_prefix(err, "bad output stream from node %s", c->node);
  if (rc == 0 && st.got_approval)
    rc = approval_pending(c, res, err);
  else if (rc == 0 && !st.got_exit)
    rc = al_err(err, 0, "node %s ended the output stream without an exit record", c->node);
  al_ndjson_clear(&st.lines);
  return rc;
}

/* --- a pty or stdin_open exec's input -------------------------------------- */

static int post_input(airlock_client *c, const char *exec_id, json_t *body, airlock_error **err) {
  for (const char *p = exec_id ? exec_id : ""; *p; p++)
    if (!(*p == '_' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
      return al_err(err, 0, "'%s' is not an exec id", exec_id);
  if (exec_id == NULL || *exec_id == '\0')
    return al_err(err, 0, "no exec id given");
  _cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  _cleanup_free_ char *path = NULL;
  if (text == NULL || asprintf(&path, "/v1/execs/%s/input", exec_id) < 0) {
    path = NULL;
    return al_err(err, ENOMEM, "building the input request");
  }
  return airlock_client_request(c, "POST", path, text, strlen(text), NULL, NULL, NULL, err);
}

int airlock_client_exec_input(airlock_client *c, const char *exec_id, const void *data, size_t len,
                              airlock_error **err) {
  _cleanup_free_ char *b64 = al_base64_encode(data, len);
  json_auto_t *body = b64 ? json_pack("{s:s}", "data_base64", b64) : NULL;
  if (body == NULL)
    return al_err(err, ENOMEM, "encoding %zu bytes of input", len);
  return post_input(c, exec_id, body, err);
}

int airlock_client_exec_input_eof(airlock_client *c, const char *exec_id, airlock_error **err) {
  json_auto_t *body = json_pack("{s:b}", "eof", 1);
  if (body == NULL)
    return al_err(err, ENOMEM, "building the input request");
  return post_input(c, exec_id, body, err);
}

int airlock_client_exec_resize(airlock_client *c, const char *exec_id, unsigned rows, unsigned cols,
                               airlock_error **err) {
  if (rows < 1 || cols < 1 || rows > 65535 || cols > 65535)
    return al_err(err, 0, "window size %ux%u is out of range", rows, cols);
  json_auto_t *body = json_pack("{s:I,s:I}", "rows", (json_int_t)rows, "cols", (json_int_t)cols);
  if (body == NULL)
    return al_err(err, ENOMEM, "building the resize request");
  return post_input(c, exec_id, body, err);
}
