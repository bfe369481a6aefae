/* SPDX-License-Identifier: Apache-2.0 */
/* client_api_test.c - checks of the client library's API edges against
 * tests/node/mock_node.py, beyond what `airlock exec` reaches: the result
 * fields of a refusal, reuse of the connection after one, the output
 * callback stopping an exec, request validation before anything is sent,
 * airlock_client_request() and the sandbox helpers' errors.  Prints
 * "ok - NAME" / "not ok - NAME: why" lines; exits 1 when one failed.
 * Run by client_test.sh when it is built next to exec-example.
 *
 * usage: client-api-test NODE TOKEN RECORD_FILE */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "airlock/client.h"

static int failures;
static const char *record_path;

__attribute__((format(printf, 3, 4))) static void check(const char *name, int ok, const char *fmt, ...) {
  if (ok) {
    printf("ok - %s\n", name);
    return;
  }
  failures++;
  printf("not ok - %s: ", name);
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
}

static const char *msg(const airlock_error *e) { return e && e->msg ? e->msg : "(no error)"; }

/* The body of the last request the mock saw (NULL: none since forget()). */
static json_t *last_body(void) {
  json_t *rec = json_load_file(record_path, 0, NULL);
  json_t *body = json_incref(json_object_get(rec, "body"));
  json_decref(rec);
  return body;
}
static void forget(void) { remove(record_path); }

typedef struct counter {
  int calls;
  int stop_at;
} counter;

static int count_output(void *ctx, int fd, const char *data, size_t len) {
  counter *c = ctx;
  c->calls++;
  return c->stop_at && c->calls >= c->stop_at ? 1 : 0;
}

static void test_open_errors(const char *token) {
  airlock_client *c = NULL;
  airlock_error *err = NULL;
  airlock_client_tls ca = {.ca_file = "/etc/hostname"};
  airlock_client_tls key_only = {.key_file = "/etc/hostname"};
  struct {
    const char *node, *token, *want;
    const airlock_client_tls *tls;
  } cases[] = {
      {"http://8.8.8.8:80", token, "only for loopback", NULL},
      {"http://[::ffff:127.0.0.1]:80", token, "only for loopback", NULL},
      {"unix:/x", token, "not https://", &ca},
      {"https://127.0.0.1:1", token, "needs its certificate", &key_only},
      {"unix:/x", "two words", "token", NULL},
      {"unix:/x", "", "token", NULL},
      {"tcp://127.0.0.1:1", token, "use unix:PATH", NULL},
      {"https://127.0.0.1:1", token, "TLS CA file '/nonexistent'", &(airlock_client_tls){.ca_file = "/nonexistent"}},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int rc = airlock_client_open(cases[i].node, cases[i].token, cases[i].tls, &c, &err);
    char name[160];
    snprintf(name, sizeof(name), "open refuses %s (%s)", cases[i].node, cases[i].want);
    check(name, rc == -1 && c == NULL && err && strstr(err->msg, cases[i].want), "rc %d: %s", rc, msg(err));
    airlock_error_free(&err);
  }
}

static void test_refusal_fields_and_reuse(airlock_client *c) {
  airlock_error *err = NULL;
  airlock_exec_result res;
  char *busy[] = {"busy", NULL};
  airlock_exec_request req = {.argv = busy};
  int rc = airlock_client_exec(c, &req, NULL, NULL, &res, &err);
  check("429: exec fails", rc == -1, "rc %d", rc);
  check("429: http_status, http_error_code, retry_after_s",
        res.http_status == 429 && res.http_error_code && strcmp(res.http_error_code, "over_capacity") == 0 &&
            res.retry_after_s == 7,
        "status %ld code %s retry %ld", res.http_status, res.http_error_code ? res.http_error_code : "-",
        res.retry_after_s);
  check("429: message",
        err && strncmp(err->msg, "node refused the request (429 over_capacity): ", 46) == 0 &&
            strstr(err->msg, "retry after 7 s"),
        "%s", msg(err));
  airlock_error_free(&err);
  airlock_exec_result_clear(&res);

  char *echo[] = {"echo", "again", NULL};
  req = (airlock_exec_request){.argv = echo};
  rc = airlock_client_exec(c, &req, NULL, NULL, &res, &err);
  check("the client works after a refusal",
        rc == 0 && res.exit_code == 0 && res.stdout_len == 6 && memcmp(res.stdout_data, "again\n", 6) == 0 &&
            res.http_status == 200 && res.retry_after_s == -1,
        "rc %d: %s", rc, msg(err));
  airlock_error_free(&err);
  airlock_exec_result_clear(&res);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct first_seen {
  double at;
} first_seen;

static int note_first(void *ctx, int fd, const char *data, size_t len) {
  first_seen *f = ctx;
  if (f->at == 0)
    f->at = now_s();
  return 0;
}

static void test_retry_after_date_and_incremental_stream(airlock_client *c) {
  airlock_error *err = NULL;
  airlock_exec_result res;
  char *busy[] = {"busy-date", NULL};
  airlock_exec_request req = {.argv = busy};
  int rc = airlock_client_exec(c, &req, NULL, NULL, &res, &err);
  check("Retry-After as an HTTP-date", rc == -1 && res.retry_after_s >= 25 && res.retry_after_s <= 30,
        "rc %d retry_after_s %ld: %s", rc, res.retry_after_s, msg(err));
  airlock_error_free(&err);
  airlock_exec_result_clear(&res);

  /* the node sends "first", waits 0.5 s, sends the rest: the callback must
   * see "first" while the exec is still running, not at the end */
  char *slow[] = {"slow", NULL};
  req = (airlock_exec_request){.argv = slow};
  first_seen f = {0};
  double start = now_s();
  rc = airlock_client_exec(c, &req, note_first, &f, &res, &err);
  double end = now_s();
  check("stream: output is delivered as it arrives", rc == 0 && f.at > 0 && end - f.at >= 0.4,
        "rc %d: first record %.3f s after start, exec took %.3f s: %s", rc, f.at - start, end - start, msg(err));
  airlock_error_free(&err);
  airlock_exec_result_clear(&res);
}

static void test_capture(airlock_client *c) {
  airlock_error *err = NULL;
  airlock_exec_result res;
  char *big[] = {"big", "100", NULL};
  airlock_exec_request req = {.argv = big, .max_output_bytes = 5};
  forget();
  int rc = airlock_client_exec(c, &req, NULL, NULL, &res, &err);
  check("max_output_bytes: captured output cut, truncated set",
        rc == 0 && res.truncated && res.stdout_len == 5 && memcmp(res.stdout_data, "01234", 5) == 0 &&
            res.stdout_data[5] == '\0',
        "rc %d truncated %d len %zu: %s", rc, res.truncated, res.stdout_len, msg(err));
  json_t *body = last_body();
  check("max_output_bytes sent, no stream",
        json_integer_value(json_object_get(body, "max_output_bytes")) == 5 && json_object_get(body, "stream") == NULL,
        "body differs");
  json_decref(body);
  airlock_error_free(&err);
  airlock_exec_result_clear(&res);

  char *nul[] = {"nul", NULL};
  req = (airlock_exec_request){.argv = nul};
  rc = airlock_client_exec(c, &req, NULL, NULL, &res, &err);
  check("captured output keeps NULs", rc == 0 && res.stdout_len == 4 && memcmp(res.stdout_data, "a\0b\n", 4) == 0,
        "rc %d len %zu: %s", rc, res.stdout_len, msg(err));
  check("result fields",
        res.exec_id && strncmp(res.exec_id, "ex_mock", 7) == 0 && res.success && res.wall_ms == 12 &&
            res.cpu_user_ms == 3 && res.cpu_sys_ms == 2 && res.max_rss_kb == 1460 && res.error == NULL &&
            res.signal == 0,
        "exec_id %s", res.exec_id ? res.exec_id : "-");
  airlock_error_free(&err);
  airlock_exec_result_clear(&res);
}

static void test_stream(airlock_client *c) {
  airlock_error *err = NULL;
  airlock_exec_result res;
  char *oom[] = {"oom", NULL};
  counter n = {0};
  airlock_exec_request req = {.argv = oom, .detach_on_disconnect = true};
  forget();
  int rc = airlock_client_exec(c, &req, count_output, &n, &res, &err);
  check("stream: exit record fills the result",
        rc == 0 && res.exit_code == 137 && res.oom_killed && !res.success && res.signal == 9 && n.calls == 1 &&
            res.exec_id && strncmp(res.exec_id, "ex_mock", 7) == 0,
        "rc %d code %d calls %d: %s", rc, res.exit_code, n.calls, msg(err));
  json_t *body = last_body();
  check("detach_on_disconnect and stream sent",
        json_is_true(json_object_get(body, "detach_on_disconnect")) && json_is_true(json_object_get(body, "stream")),
        "body differs");
  json_decref(body);
  airlock_error_free(&err);
  airlock_exec_result_clear(&res);

  forget();
  rc = airlock_client_exec(c, &req, NULL, NULL, &res, &err);
  body = last_body();
  check("detach_on_disconnect without streaming refused before sending",
        rc == -1 && body == NULL && strstr(msg(err), "needs a streamed exec"), "rc %d: %s", rc, msg(err));
  json_decref(body);
  airlock_error_free(&err);
  airlock_exec_result_clear(&res);

  char *big[] = {"big", "2000000", NULL};
  req = (airlock_exec_request){.argv = big};
  n = (counter){.stop_at = 2};
  rc = airlock_client_exec(c, &req, count_output, &n, &res, &err);
  check("output callback stops the exec", rc == -1 && n.calls == 2 && strstr(msg(err), "output callback"),
        "rc %d calls %d: %s", rc, n.calls, msg(err));
  airlock_error_free(&err);
  airlock_exec_result_clear(&res);

  char *echo[] = {"echo", "after", NULL};
  req = (airlock_exec_request){.argv = echo};
  n = (counter){0};
  rc = airlock_client_exec(c, &req, count_output, &n, &res, &err);
  check("the client works after a stopped stream", rc == 0 && n.calls == 1, "rc %d: %s", rc, msg(err));
  airlock_error_free(&err);
  airlock_exec_result_clear(&res);
}

static void test_request_validation(airlock_client *c) {
  airlock_error *err = NULL;
  airlock_exec_result res;
  char *argv[] = {"echo", NULL};
  char *empty[] = {NULL};
  char *bad_utf8[] = {"echo", "\xff\xfe", NULL};
  char *bad_env[] = {"NOEQUALS"};
  struct {
    const char *name, *want;
    airlock_exec_request req;
  } cases[] = {
      {"argv and command", "not both", {.argv = argv, .command = "true"}},
      {"neither argv nor command", "no command", {.argv = NULL}},
      {"empty argv", "no command", {.argv = empty}},
      {"argument not UTF-8", "not valid UTF-8", {.argv = bad_utf8}},
      {"env entry without =", "not K=V", {.argv = argv, .env = bad_env, .n_env = 1}},
      {"negative limit", "must not be negative", {.argv = argv, .limits = {.pids = -1}}},
      {"negative timeout", "must not be negative", {.argv = argv, .timeout_ms = -5}},
      {"empty sandbox id", "no sandbox id", {.argv = argv, .sandbox_id = ""}},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    forget();
    int rc = airlock_client_exec(c, &cases[i].req, NULL, NULL, &res, &err);
    json_t *body = last_body();
    char name[160];
    snprintf(name, sizeof(name), "refused before sending: %s", cases[i].name);
    check(name, rc == -1 && body == NULL && strstr(msg(err), cases[i].want) && res.http_status == 0, "rc %d: %s", rc,
          msg(err));
    json_decref(body);
    airlock_error_free(&err);
    airlock_exec_result_clear(&res);
  }
}

static void test_requests_and_sandboxes(airlock_client *c) {
  airlock_error *err = NULL;
  long status = -1;
  char *resp = NULL;
  size_t len = 0;
  int rc = airlock_client_request(c, "GET", "/v1/health", NULL, 0, &status, &resp, &len, &err);
  check("request: GET /v1/health",
        rc == 0 && status == 200 && resp && strlen(resp) == len && strstr(resp, "\"status\": \"ok\""),
        "rc %d status %ld: %s", rc, status, msg(err));
  free(resp);
  airlock_error_free(&err);

  rc = airlock_client_request(c, "GET", "/v1/nope", NULL, 0, &status, &resp, &len, &err);
  check("request: 404 fails with status and body",
        rc == -1 && status == 404 && resp && strstr(resp, "not_found") && strstr(msg(err), "(404 not_found): no route"),
        "rc %d status %ld: %s", rc, status, msg(err));
  free(resp);
  airlock_error_free(&err);

  rc = airlock_client_request(c, "get", "/v1/health", NULL, 0, &status, NULL, NULL, &err);
  check("request: unknown method refused", rc == -1 && status == 0 && strstr(msg(err), "HTTP method"), "%s", msg(err));
  airlock_error_free(&err);
  rc = airlock_client_request(c, "GET", "v1/health", NULL, 0, &status, NULL, NULL, &err);
  check("request: relative path refused", rc == -1 && strstr(msg(err), "must start with '/'"), "%s", msg(err));
  airlock_error_free(&err);
  rc = airlock_client_request(c, "GET", "/v1/a b", NULL, 0, &status, NULL, NULL, &err);
  check("request: path with a space refused", rc == -1 && strstr(msg(err), "no spaces"), "%s", msg(err));
  airlock_error_free(&err);

  char *id = NULL;
  rc = airlock_client_sandbox_create(c, "{\"bogus\": 1}", &id, &err);
  check("sandbox_create: the node's 400 explained",
        rc == -1 && id == NULL &&
            strstr(msg(err), "cannot create a sandbox: node refused the request (400 bad_request)"),
        "%s", msg(err));
  airlock_error_free(&err);

  rc = airlock_client_sandbox_create(c, NULL, &id, &err);
  check("sandbox_create(NULL): an id", rc == 0 && id && strncmp(id, "sb_mock", 7) == 0, "%s", msg(err));
  airlock_error_free(&err);
  if (id) {
    airlock_exec_result res;
    airlock_exec_request req = {.command = "echo in sandbox", .sandbox_id = id};
    forget();
    rc = airlock_client_exec(c, &req, NULL, NULL, &res, &err);
    check("exec in a created sandbox", rc == 0 && res.stdout_len == 11, "rc %d: %s", rc, msg(err));
    airlock_exec_result_clear(&res);
    airlock_error_free(&err);
    rc = airlock_client_sandbox_destroy(c, id, &err);
    check("sandbox_destroy", rc == 0, "%s", msg(err));
    airlock_error_free(&err);
    rc = airlock_client_sandbox_destroy(c, id, &err);
    check("sandbox_destroy twice: 404 explained",
          rc == -1 && strstr(msg(err), "cannot destroy sandbox 'sb_mock") && strstr(msg(err), "(404 not_found)"), "%s",
          msg(err));
    airlock_error_free(&err);
    free(id);
  }
  rc = airlock_client_sandbox_destroy(c, "", &err);
  check("sandbox_destroy(\"\") refused", rc == -1 && strstr(msg(err), "no sandbox id"), "%s", msg(err));
  airlock_error_free(&err);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s NODE TOKEN RECORD_FILE\n", argv[0]);
    return 2;
  }
  record_path = argv[3];
  test_open_errors(argv[2]);
  airlock_client *c = NULL;
  airlock_error *err = NULL;
  if (airlock_client_open(argv[1], argv[2], NULL, &c, &err) < 0) {
    printf("not ok - open %s: %s\n", argv[1], msg(err));
    airlock_error_free(&err);
    return 1;
  }
  test_refusal_fields_and_reuse(c);
  test_retry_after_date_and_incremental_stream(c);
  test_capture(c);
  test_stream(c);
  test_request_validation(c);
  test_requests_and_sandboxes(c);
  airlock_client_close(&c);
  airlock_client_close(&c); /* twice is fine */
  return failures ? 1 : 0;
}
