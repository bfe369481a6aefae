/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the egress proxy's pure parts: request heads (smuggling
 * refusals, one request's body framing, the rewritten upstream head), the
 * token buckets and the network configuration (its errors, and the allow
 * entries of inspected hosts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "proxy_ratelimit.h"
#include "proxy_request.h"

static int parse(const char *head, al_http_req *r, char *why) {
  return al_http_req_parse_head(r, head, strlen(head), why, 256);
}

static void expect_refused(const char *head, int status, const char *why_part) {
  al_http_req r;
  char why[256] = "";
  int st = parse(head, &r, why);
  if (st != status || !strstr(why, why_part))
    fail_msg("head %s: got %d '%s', want %d '%s'", head, st, why, status, why_part);
  al_http_req_clear(&r);
}

static void test_accepts_plain_requests(void **state) {
  (void)state;
  al_http_req r;
  char why[256];
  assert_int_equal(parse("GET http://example.com/a?b=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n", &r, why),
                   0);
  assert_int_equal(r.method, HTTP_GET);
  assert_string_equal(r.target, "http://example.com/a?b=1");
  assert_string_equal(al_http_req_header(&r, "HOST"), "example.com");
  assert_true(r.complete); /* no body */
  al_http_req_clear(&r);
  assert_int_equal(parse("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", &r, why), 0);
  assert_int_equal(r.method, HTTP_CONNECT);
  assert_string_equal(r.target, "example.com:443");
  assert_true(r.complete);
  al_http_req_clear(&r);
  /* HTTP/1.0 needs no Host */
  assert_int_equal(parse("GET http://example.com/ HTTP/1.0\r\n\r\n", &r, why), 0);
  al_http_req_clear(&r);
}

static void test_refuses_smuggling(void **state) {
  (void)state;
  expect_refused(
      "POST http://a.com/ HTTP/1.1\r\nHost: a.com\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "");
  expect_refused("POST http://a.com/ HTTP/1.1\r\nHost: a.com\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400,
                 "");
  expect_refused("POST http://a.com/ HTTP/1.1\r\nHost: a.com\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400,
                 "");
  expect_refused("POST http://a.com/ HTTP/1.1\r\nHost: a.com\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
                 "Transfer-Encoding");
  expect_refused("GET http://a.com/ HTTP/1.1\r\nHost: a.com\r\nX-A: 1\r\n folded\r\n\r\n", 400, "obs-fold");
  expect_refused("GET http://a.com/ HTTP/1.1\r\nHost: a.com\r\nX-A: 1\r\n\tfolded\r\n\r\n", 400, "obs-fold");
  expect_refused("GET http://a.com/\x01 HTTP/1.1\r\nHost: a.com\r\n\r\n", 400, "control");
  expect_refused("CONNECT a.com:443\rX HTTP/1.1\r\nHost: a.com\r\n\r\n", 400, "bare CR");
  expect_refused("GET http://a.com/ HTTP/1.1\nHost: a.com\r\n\r\n", 400, "bare LF");
  expect_refused("GET http://a.com/ HTTP/1.1\r\nHost: a.com\r\nX-A: a\x01z\r\n\r\n", 400, "control byte");
  expect_refused("GET http://a.com/ HTTP/1.1\r\nHost: a.com\r\nHost: b.com\r\n\r\n", 400, "Host");
  expect_refused("GET http://a.com/ HTTP/1.1\r\nX-A: 1\r\n\r\n", 400, "without Host");
  expect_refused("GET http://a.com/ HTTP/1.1\r\nHost : a.com\r\n\r\n", 400, "header name");
  expect_refused("POST http://a.com/ HTTP/1.1\r\nHost: a.com\r\nContent-Length: -1\r\n\r\n", 400, "");
  expect_refused("POST http://a.com/ HTTP/1.1\r\nHost: a.com\r\nContent-Length: 1 2\r\n\r\n", 400, "");
  expect_refused("GET http://a.com/ HTTP/2.0\r\nHost: a.com\r\n\r\n", 505, "HTTP/2.0");
  expect_refused("GET http://a.com/ HTTP/1.1\r\nHost: a.com\r\n", 400, "incomplete");
}

static void test_head_size_and_count(void **state) {
  (void)state;
  static char big[AL_HTTP_HEAD_MAX + 64];
  int n = snprintf(big, sizeof(big), "GET http://a.com/ HTTP/1.1\r\nHost: a.com\r\nX: ");
  memset(big + n, 'a', AL_HTTP_HEAD_MAX);
  strcpy(big + n + AL_HTTP_HEAD_MAX - 10, "\r\n\r\n");
  expect_refused(big, 431, "");
  char many[8192];
  n = snprintf(many, sizeof(many), "GET http://a.com/ HTTP/1.1\r\nHost: a.com\r\n");
  for (int i = 0; i < AL_HTTP_MAX_HEADERS + 1; i++)
    n += snprintf(many + n, sizeof(many) - (size_t)n, "X-%d: 1\r\n", i);
  snprintf(many + n, sizeof(many) - (size_t)n, "\r\n");
  expect_refused(many, 431, "headers");
}

static void test_body_framing(void **state) {
  (void)state;
  al_http_req r;
  char why[256];
  assert_int_equal(parse("POST http://a.com/ HTTP/1.1\r\nHost: a.com\r\nContent-Length: 5\r\n\r\n", &r, why), 0);
  assert_false(r.complete);
  assert_int_equal(al_http_req_feed_body(&r, "he", 2), 2);
  assert_false(r.complete);
  /* a second request glued behind the body is not part of this one */
  const char *rest = "lloGET http://evil.com/ HTTP/1.1\r\n\r\n";
  assert_int_equal(al_http_req_feed_body(&r, rest, strlen(rest)), 3);
  assert_true(r.complete);
  al_http_req_clear(&r);

  assert_int_equal(parse("POST http://a.com/ HTTP/1.1\r\nHost: a.com\r\nTransfer-Encoding: chunked\r\n\r\n", &r, why),
                   0);
  assert_true(r.chunked);
  const char *chunks = "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
  assert_int_equal(al_http_req_feed_body(&r, chunks, strlen(chunks)), 15);
  assert_true(r.complete);
  al_http_req_clear(&r);

  /* a trailer after the last chunk is body, not a header of the head */
  assert_int_equal(parse("POST http://a.com/ HTTP/1.1\r\nHost: a.com\r\nTransfer-Encoding: chunked\r\n\r\n", &r, why),
                   0);
  const char *trailer = "0\r\nX-Trailer: 1\r\n\r\n";
  assert_int_equal(al_http_req_feed_body(&r, trailer, strlen(trailer)), (ssize_t)strlen(trailer));
  assert_true(r.complete);
  assert_int_equal(r.n_headers, 2);
  size_t hl;
  char *h = al_http_req_upstream_head(&r, "/", "a.com", NULL, NULL, 0, false, &hl);
  assert_non_null(h);
  assert_null(strstr(h, "X-Trailer"));
  free(h);
  al_http_req_clear(&r);

  assert_int_equal(parse("POST http://a.com/ HTTP/1.1\r\nHost: a.com\r\nTransfer-Encoding: chunked\r\n\r\n", &r, why),
                   0);
  assert_int_equal(al_http_req_feed_body(&r, "zz\r\n", 4), -1);
  al_http_req_clear(&r);
}

static void test_upstream_head(void **state) {
  (void)state;
  al_http_req r;
  char why[256];
  assert_int_equal(parse("POST /llm/v1/messages HTTP/1.1\r\nHost: 127.0.0.1:3128\r\nConnection: keep-alive, X-Drop\r\n"
                         "X-Drop: 1\r\nProxy-Authorization: Basic eA==\r\nX-Api-Key: fake\r\nkeep-alive: 5\r\n"
                         "Content-Length: 2\r\nUpgrade: websocket\r\nTE: trailers\r\nAccept: x\r\n\r\n",
                         &r, why),
                   0);
  size_t len;
  char *head = al_http_req_upstream_head(&r, "/v1/messages", "api.example.com", "x-api-key", "REAL", 4, false, &len);
  assert_non_null(head);
  assert_int_equal(strlen(head), len);
  assert_non_null(strstr(head, "POST /v1/messages HTTP/1.1\r\n"));
  assert_non_null(strstr(head, "\r\nHost: api.example.com\r\n"));
  assert_non_null(strstr(head, "\r\nx-api-key: REAL\r\n"));
  assert_null(strstr(head, "fake"));
  assert_null(strstr(head, "127.0.0.1"));
  assert_null(strstr(head, "X-Drop"));
  assert_null(strstr(head, "Proxy-Authorization"));
  assert_null(strstr(head, "keep-alive"));
  assert_null(strstr(head, "Upgrade"));
  assert_null(strstr(head, "TE:"));
  assert_non_null(strstr(head, "Content-Length: 2\r\n"));
  assert_non_null(strstr(head, "Accept: x\r\n"));
  assert_non_null(strstr(head, "Connection: close\r\n\r\n"));
  free(head);
  /* kept alive (an inspected tunnel's upstream): no Connection header at
   * all, neither the proxy's nor the sandbox's */
  head = al_http_req_upstream_head(&r, "/v1/messages", "api.example.com", NULL, NULL, 0, true, &len);
  assert_non_null(head);
  assert_null(strstr(head, "Connection"));
  assert_non_null(strstr(head, "\r\nHost: api.example.com\r\n"));
  assert_non_null(strstr(head, "X-Api-Key: fake\r\n"));
  assert_int_equal(al_http_head_end(head, len), len);
  free(head);
  al_http_req_clear(&r);
}

static void test_head_end(void **state) {
  (void)state;
  assert_int_equal(al_http_head_end("GET / HTTP/1.1\r\n\r\nBODY", 22), 18);
  assert_int_equal(al_http_head_end("GET / HTTP/1.1\r\n\r", 17), 0);
  assert_int_equal(al_http_head_end("", 0), 0);
}

static void test_buckets(void **state) {
  (void)state;
  al_bucket b;
  al_bucket_init(&b, 60, 3); /* one per second, burst 3 */
  unsigned retry = 0;
  int64_t t = 1000000;
  for (int i = 0; i < 3; i++)
    assert_true(al_bucket_take(&b, t, &retry));
  assert_false(al_bucket_take(&b, t, &retry));
  assert_int_equal(retry, 1);
  assert_false(al_bucket_take(&b, t + 500000, &retry));
  assert_true(al_bucket_take(&b, t + 1100000, &retry));
  al_bucket_init(&b, 6, 1); /* one per 10 s */
  assert_true(al_bucket_take(&b, t, &retry));
  assert_false(al_bucket_take(&b, t, &retry));
  assert_int_equal(retry, 10);
  al_bucket_init(&b, 0, 0); /* unlimited */
  for (int i = 0; i < 1000; i++)
    assert_true(al_bucket_take(&b, t, NULL));

  al_host_buckets *hb = al_host_buckets_new(2, 60, 1);
  assert_true(al_host_buckets_take(hb, "a.com", t, &retry));
  assert_false(al_host_buckets_take(hb, "a.com", t, &retry));
  assert_true(al_host_buckets_take(hb, "b.com", t, &retry));     /* its own bucket */
  assert_true(al_host_buckets_take(hb, "c.com", t + 1, &retry)); /* evicts a.com, the oldest */
  assert_false(al_host_buckets_take(hb, "c.com", t + 2, &retry));
  al_host_buckets_free(hb);
}

static void expect_config_error(const char *json, const char *part) {
  json_error_t je;
  json_t *j = json_loads(json, 0, &je);
  assert_non_null(j);
  al_proxy_config cfg;
  airlock_error *err = NULL;
  int rc = al_proxy_config_parse(&cfg, j, &err);
  if (rc != -1 || !err || !strstr(err->msg, part))
    fail_msg("config %s: rc %d, error '%s', want '%s'", json, rc, err ? err->msg : "(none)", part);
  airlock_error_free(&err);
  al_proxy_config_free(&cfg);
  json_decref(j);
}

static void test_config(void **state) {
  (void)state;
  json_t *j =
      json_loads("{\"mode\":\"proxy\",\"allow\":[\"api.example.com\",\"*.pypi.org:*\"],\"deny\":[\"evil.com\"],"
                 "\"allowAddresses\":[\"127.0.0.2\",\"10.1.0.0/16\",\"[fd00::/8]\"],\"opaquePorts\":[22],"
                 "\"rateLimit\":{\"requestsPerMinute\":60,\"burst\":5},\"limits\":{\"maxConnections\":8,"
                 "\"maxBytes\":\"1m\"},\"inject\":[{\"path\":\"/llm/\",\"upstream\":\"https://api.example.com/v1\","
                 "\"inject\":{\"header\":\"x-api-key\",\"secret\":\"anthropic\"}}]}",
                 0, NULL);
  al_proxy_config cfg;
  airlock_error *err = NULL;
  if (al_proxy_config_parse(&cfg, j, &err) != 0)
    fail_msg("%s", err->msg);
  assert_int_equal(al_egress_ruleset_count(cfg.rules), 3);
  assert_int_equal(cfg.n_allow_addresses, 3);
  assert_int_equal(cfg.max_connections, 8);
  assert_int_equal(cfg.max_bytes, 1024 * 1024);
  assert_int_equal(cfg.n_routes, 1);
  assert_string_equal(cfg.routes[0].upstream_host, "api.example.com");
  assert_int_equal(cfg.routes[0].upstream_port, 443);
  assert_string_equal(cfg.routes[0].upstream_base, "/v1");
  struct sockaddr_in in = {.sin_family = AF_INET};
  inet_pton(AF_INET, "10.1.200.3", &in.sin_addr);
  assert_true(al_proxy_address_allowed(&cfg, (struct sockaddr *)&in));
  inet_pton(AF_INET, "10.2.0.1", &in.sin_addr);
  assert_false(al_proxy_address_allowed(&cfg, (struct sockaddr *)&in));
  al_proxy_config_free(&cfg);
  json_decref(j);

  expect_config_error("{\"alow\":[]}", "network.alow");
  expect_config_error("{\"allow\":\"a.com\"}", "network.allow");
  expect_config_error("{\"allow\":[1]}", "network.allow[0]");
  expect_config_error("{\"allow\":[\"a.com:99999\"]}", "network.allow");
  expect_config_error("{\"mode\":\"none\"}", "network.mode");
  expect_config_error("{\"allowAddresses\":[\"10.0.0.0/33\"]}", "prefix");
  expect_config_error("{\"allowAddresses\":[\"example.com\"]}", "not an IP");
  expect_config_error("{\"rateLimit\":{\"rps\":1}}", "rateLimit.rps");
  expect_config_error("{\"rateLimit\":{\"burst\":-1}}", "rateLimit.burst");
  expect_config_error("{\"limits\":{\"maxConnections\":0}}", "limits.maxConnections");
  expect_config_error("{\"opaquePorts\":[443]}", "opaquePorts[0]");
  expect_config_error("{\"resolver\":\"nowhere\"}", "resolver");
  expect_config_error("{\"inject\":[{\"path\":\"/a/\",\"upstream\":\"http://x.com\",\"inject\":{\"header\":\"h\","
                      "\"secret\":\"s\"}}]}",
                      "https://");
  expect_config_error("{\"inject\":[{\"path\":\"a\",\"upstream\":\"https://x.com\",\"inject\":{\"header\":\"h\","
                      "\"secret\":\"s\"}}]}",
                      "path");
  expect_config_error("{\"inject\":[{\"path\":\"/a/\",\"upstream\":\"https://x.com\",\"inject\":{\"header\":\"h:\","
                      "\"secret\":\"s\"}}]}",
                      "header name");
  expect_config_error(
      "{\"inject\":[{\"path\":\"/a/\",\"upstream\":\"https://x.com\",\"inject\":{\"header\":\"h\","
      "\"secret\":\"s\"}},{\"path\":\"/a/b/\",\"upstream\":\"https://y.com\",\"inject\":{\"header\":\"h\","
      "\"secret\":\"s\"}}]}",
      "overlaps");
  expect_config_error("{\"inject\":[{\"path\":\"/a/\",\"upstream\":\"https://x.com\",\"inject\":{\"header\":\"h\","
                      "\"secret\":\"s\",\"prefix\":\"B\\r\\n\"}}]}",
                      "control");
}

static al_proxy_config *parse_ok(const char *json, al_proxy_config *cfg) {
  json_t *j = json_loads(json, 0, NULL);
  assert_non_null(j);
  airlock_error *err = NULL;
  if (al_proxy_config_parse(cfg, j, &err) != 0)
    fail_msg("config %s: %s", json, err->msg);
  json_decref(j);
  return cfg;
}

static void test_config_inspect(void **state) {
  (void)state;
  al_proxy_config cfg;
  parse_ok(
      "{\"allow\":[\"plain.test\",{\"host\":\"api.test\",\"inspect\":true,\"inject\":{\"header\":\"x-api-key\","
      "\"secret\":\"anthropic\",\"prefix\":\"k \"}},{\"host\":\"*.cdn.test:8443\",\"inspect\":true},"
      "{\"host\":\"open.test:*\",\"inspect\":false},{\"host\":\"*\",\"inspect\":true}],\"deny\":[\"bad.api.test\"],"
      "\"opaquePorts\":[22]}",
      &cfg);
  /* every entry is a rule, inspected or not */
  assert_int_equal(al_egress_ruleset_count(cfg.rules), 6);
  assert_int_equal(al_egress_decide(cfg.rules, "plain.test", 443, NULL, 0), AL_EGRESS_ALLOW);
  assert_int_equal(al_egress_decide(cfg.rules, "open.test", 9000, NULL, 0), AL_EGRESS_ALLOW);
  assert_int_equal(cfg.n_inspect, 3);
  const al_proxy_inspect *api = &cfg.inspects[0], *cdn = &cfg.inspects[1], *all = &cfg.inspects[2];
  assert_string_equal(api->rule, "api.test");
  assert_string_equal(api->constraint, "api.test");
  assert_int_equal(api->port, 0);
  assert_true(api->has_inject);
  assert_string_equal(api->inject.header, "x-api-key");
  assert_string_equal(api->inject.secret_name, "anthropic");
  assert_string_equal(api->inject.prefix, "k ");
  assert_string_equal(cdn->constraint, "cdn.test"); /* the wildcard's suffix */
  assert_int_equal(cdn->port, 8443);
  assert_false(cdn->has_inject);
  assert_null(all->constraint); /* "*": no constraint at all */
  /* which tunnels are inspected: the first entry that covers host:port */
  assert_ptr_equal(al_proxy_inspect_match(&cfg, "api.test", 443), api);
  assert_ptr_equal(al_proxy_inspect_match(&cfg, "a.cdn.test", 8443), cdn);
  assert_ptr_equal(al_proxy_inspect_match(&cfg, "a.cdn.test", 443), all);
  assert_ptr_equal(al_proxy_inspect_match(&cfg, "plain.test", 443), all);
  assert_null(al_proxy_inspect_match(&cfg, "plain.test", 8443)); /* "*" covers 80 and 443 */
  assert_null(al_proxy_inspect_match(&cfg, "open.test", 9000));
  al_proxy_config_free(&cfg);

  parse_ok("{\"allow\":[{\"host\":\"a.test\"}]}", &cfg); /* inspect defaults to false */
  assert_int_equal(cfg.n_inspect, 0);
  assert_null(al_proxy_inspect_match(&cfg, "a.test", 443));
  al_proxy_config_free(&cfg);

  expect_config_error("{\"allow\":[{\"inspect\":true}]}", "network.allow[0].host");
  expect_config_error("{\"allow\":[{\"host\":1}]}", "network.allow[0].host");
  expect_config_error("{\"allow\":[\"x.test\",{\"host\":\"a.test\",\"inspect\":\"yes\"}]}",
                      "network.allow[1].inspect' must be true or false");
  expect_config_error("{\"allow\":[{\"host\":\"a.test\",\"inspekt\":true}]}", "network.allow[0].inspekt");
  expect_config_error("{\"allow\":[{\"host\":\"a.test:0\",\"inspect\":true}]}", "network.allow[0].host");
  expect_config_error("{\"allow\":[{\"host\":\"10.0.0.0/8\",\"inspect\":true}]}", "IP rule");
  expect_config_error("{\"allow\":[{\"host\":\"203.0.113.7:443\",\"inspect\":true}]}", "IP rule");
  expect_config_error("{\"allow\":[{\"host\":\"[2001:db8::1]:443\",\"inspect\":true}]}", "IP rule");
  expect_config_error("{\"allow\":[{\"host\":\"a.test\",\"inject\":{\"header\":\"h\",\"secret\":\"s\"}}]}",
                      "needs \"inspect\": true");
  expect_config_error("{\"allow\":[{\"host\":\"*.a.test\",\"inspect\":true,\"inject\":{\"header\":\"h\","
                      "\"secret\":\"s\"}}]}",
                      "wildcard");
  expect_config_error("{\"allow\":[{\"host\":\"a.test\",\"inspect\":true,\"inject\":{\"header\":\"h:\","
                      "\"secret\":\"s\"}}]}",
                      "network.allow[0].inject.header");
  expect_config_error("{\"allow\":[{\"host\":\"a.test\",\"inspect\":true,\"inject\":{\"header\":\"h\","
                      "\"secret\":\"s\"}},{\"host\":\"a.test:8443\",\"inspect\":true,\"inject\":{\"header\":\"h\","
                      "\"secret\":\"t\"}}]}",
                      "already has a key");
  /* an inspected tunnel starts with TLS: not on an opaque port, in either order */
  expect_config_error("{\"allow\":[{\"host\":\"git.test:22\",\"inspect\":true}],\"opaquePorts\":[22]}", "opaquePorts");
  expect_config_error("{\"opaquePorts\":[22],\"allow\":[{\"host\":\"git.test:22\",\"inspect\":true}]}", "opaquePorts");
  expect_config_error("{\"deny\":[{\"host\":\"a.test\"}]}", "network.deny[0]' must be a string");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accepts_plain_requests),
      cmocka_unit_test(test_refuses_smuggling),
      cmocka_unit_test(test_head_size_and_count),
      cmocka_unit_test(test_body_framing),
      cmocka_unit_test(test_upstream_head),
      cmocka_unit_test(test_head_end),
      cmocka_unit_test(test_buckets),
      cmocka_unit_test(test_config),
      cmocka_unit_test(test_config_inspect),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
