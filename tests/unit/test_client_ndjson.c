/* SPDX-License-Identifier: Apache-2.0 */
/* test_client_ndjson.c - the NDJSON line assembler of the node client
 * (src/base/ndjson.c): lines split across feeds, several lines per feed, the
 * line cap, CR/blank handling, the unterminated tail, callback errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"

/* Collects every line handed out, each followed by '|' (lines may hold NULs). */
typedef struct sink {
  char buf[1 << 16];
  size_t len;
  int calls;
  int fail_at; /* callback number (1-based) that fails; 0 = never */
} sink;

static int collect(void *ctx, const char *line, size_t len, airlock_error **err) {
  sink *s = ctx;
  s->calls++;
  if (s->fail_at && s->calls == s->fail_at) {
    *err = calloc(1, sizeof(**err));
    (*err)->msg = strdup("callback refused");
    return -1;
  }
  assert_true(s->len + len + 1 <= sizeof(s->buf));
  memcpy(s->buf + s->len, line, len);
  s->len += len;
  s->buf[s->len++] = '|';
  return 0;
}

static void assert_sink(const sink *s, const char *want, size_t want_len) {
  if (s->len != want_len || memcmp(s->buf, want, want_len) != 0)
    print_error("got '%.*s', want '%.*s'\n", (int)s->len, s->buf, (int)want_len, want);
  assert_int_equal(s->len, want_len);
  assert_memory_equal(s->buf, want, want_len);
}
#define ASSERT_SINK(s, lit) assert_sink((s), (lit), sizeof(lit) - 1)

static void feed_ok(al_ndjson *nd, sink *s, const char *data, size_t len) {
  airlock_error *err = NULL;
  int r = al_ndjson_feed(nd, data, len, collect, s, &err);
  if (r != 0)
    print_error("feed failed: %s\n", err ? err->msg : "(no error)");
  assert_int_equal(r, 0);
  assert_null(err);
}
#define FEED(nd, s, lit) feed_ok((nd), (s), (lit), sizeof(lit) - 1)

static void finish_ok(al_ndjson *nd, sink *s) {
  airlock_error *err = NULL;
  assert_int_equal(al_ndjson_finish(nd, collect, s, &err), 0);
  assert_null(err);
}

static void test_whole_lines_in_one_feed(void **state) {
  (void)state;
  al_ndjson nd;
  sink s = {0};
  al_ndjson_init(&nd, 100);
  FEED(&nd, &s, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
  ASSERT_SINK(&s, "{\"a\":1}|{\"b\":2}|{\"c\":3}|");
  assert_int_equal(al_ndjson_pending(&nd), 0);
  finish_ok(&nd, &s);
  assert_int_equal(s.calls, 3);
  al_ndjson_clear(&nd);
}

static void test_line_split_across_feeds(void **state) {
  (void)state;
  al_ndjson nd;
  sink s = {0};
  al_ndjson_init(&nd, 100);
  FEED(&nd, &s, "{\"type\":\"st");
  assert_int_equal(s.calls, 0);
  assert_int_equal(al_ndjson_pending(&nd), 11);
  FEED(&nd, &s, "dout\",");
  FEED(&nd, &s, "\"data\":\"x\"}\n{\"type\"");
  ASSERT_SINK(&s, "{\"type\":\"stdout\",\"data\":\"x\"}|");
  FEED(&nd, &s, ":\"exit\"}\n");
  ASSERT_SINK(&s, "{\"type\":\"stdout\",\"data\":\"x\"}|{\"type\":\"exit\"}|");
  assert_int_equal(al_ndjson_pending(&nd), 0);
  al_ndjson_clear(&nd);
}

static void test_one_byte_feeds(void **state) {
  (void)state;
  static const char text[] = "first\nsecond line\n\nthird\n";
  al_ndjson nd;
  sink s = {0};
  al_ndjson_init(&nd, 100);
  for (size_t i = 0; i < sizeof(text) - 1; i++)
    feed_ok(&nd, &s, text + i, 1);
  finish_ok(&nd, &s);
  ASSERT_SINK(&s, "first|second line|third|");
  al_ndjson_clear(&nd);
}

static void test_split_tail_then_many_lines(void **state) {
  (void)state;
  al_ndjson nd;
  sink s = {0};
  al_ndjson_init(&nd, 100);
  FEED(&nd, &s, "par");
  FEED(&nd, &s, "tial\nwhole1\nwhole2\nnext-par");
  ASSERT_SINK(&s, "partial|whole1|whole2|");
  FEED(&nd, &s, "t\n");
  ASSERT_SINK(&s, "partial|whole1|whole2|next-part|");
  al_ndjson_clear(&nd);
}

static void test_crlf_and_blank_lines(void **state) {
  (void)state;
  al_ndjson nd;
  sink s = {0};
  al_ndjson_init(&nd, 100);
  FEED(&nd, &s, "a\r\n\r\n\n   \n\t\nb\r");
  FEED(&nd, &s, "\n");
  ASSERT_SINK(&s, "a|b|");
  assert_int_equal(s.calls, 2);
  al_ndjson_clear(&nd);
}

static void test_nul_bytes_kept(void **state) {
  (void)state;
  al_ndjson nd;
  sink s = {0};
  al_ndjson_init(&nd, 100);
  feed_ok(&nd, &s, "a\0b\nc", 5);
  feed_ok(&nd, &s, "\0d\n", 3);
  assert_sink(&s, "a\0b|c\0d|", 8);
  al_ndjson_clear(&nd);
}

static void test_unterminated_tail_at_finish(void **state) {
  (void)state;
  al_ndjson nd;
  sink s = {0};
  al_ndjson_init(&nd, 100);
  FEED(&nd, &s, "one\ntwo");
  ASSERT_SINK(&s, "one|");
  finish_ok(&nd, &s);
  ASSERT_SINK(&s, "one|two|");
  finish_ok(&nd, &s); /* nothing left: no second delivery */
  assert_int_equal(s.calls, 2);
  al_ndjson_clear(&nd);
}

static void test_line_at_cap_accepted(void **state) {
  (void)state;
  al_ndjson nd;
  sink s = {0};
  al_ndjson_init(&nd, 8);
  FEED(&nd, &s, "12345678\n"); /* whole, in one feed */
  FEED(&nd, &s, "1234");       /* split */
  FEED(&nd, &s, "5678\n");
  FEED(&nd, &s, "1234567\r\n"); /* the cap counts a '\r' before the '\n' */
  ASSERT_SINK(&s, "12345678|12345678|1234567|");
  al_ndjson_clear(&nd);
}

static void long_line_refused(const char *first, const char *second) {
  al_ndjson nd;
  sink s = {0};
  airlock_error *err = NULL;
  al_ndjson_init(&nd, 8);
  int r = al_ndjson_feed(&nd, first, strlen(first), collect, &s, &err);
  if (r == 0 && second)
    r = al_ndjson_feed(&nd, second, strlen(second), collect, &s, &err);
  assert_int_equal(r, -1);
  assert_non_null(err);
  assert_non_null(strstr(err->msg, "longer than 8 bytes"));
  airlock_error_free(&err);
  /* the stream is dead from here on */
  assert_int_equal(al_ndjson_feed(&nd, "ok\n", 3, collect, &s, &err), -1);
  airlock_error_free(&err);
  assert_int_equal(al_ndjson_finish(&nd, collect, &s, &err), -1);
  airlock_error_free(&err);
  al_ndjson_clear(&nd);
}

static void test_line_over_cap_refused(void **state) {
  (void)state;
  long_line_refused("123456789\n", NULL); /* whole line in one feed */
  long_line_refused("123456789", NULL);   /* no newline yet: still refused at once */
  long_line_refused("12345", "6789\n");   /* split */
  long_line_refused("12345678", "9");     /* split, no newline */
  long_line_refused("ok\n12345678", "9"); /* after a good line */
}

static void test_callback_error_stops(void **state) {
  (void)state;
  al_ndjson nd;
  sink s = {.fail_at = 2};
  airlock_error *err = NULL;
  al_ndjson_init(&nd, 100);
  assert_int_equal(al_ndjson_feed(&nd, "a\nb\nc\n", 6, collect, &s, &err), -1);
  assert_non_null(err);
  assert_string_equal(err->msg, "callback refused");
  airlock_error_free(&err);
  ASSERT_SINK(&s, "a|"); /* c was never handed out */
  assert_int_equal(s.calls, 2);
  al_ndjson_clear(&nd);
}

/* Every way of cutting a text into pieces yields the same lines. */
static void test_random_splits(void **state) {
  (void)state;
  char text[4096];
  size_t len = 0;
  for (int i = 0; i < 120; i++)
    len += (size_t)snprintf(text + len, sizeof(text) - len, "{\"n\":%d,\"pad\":\"%.*s\"}\n", i, i % 23,
                            "abcdefghijklmnopqrstuvwxyz");
  sink want = {0};
  al_ndjson nd;
  al_ndjson_init(&nd, 64);
  feed_ok(&nd, &want, text, len);
  al_ndjson_clear(&nd);
  assert_int_equal(want.calls, 120);

  uint32_t seed = 12345;
  for (int round = 0; round < 200; round++) {
    sink got = {0};
    al_ndjson_init(&nd, 64);
    size_t pos = 0;
    while (pos < len) {
      seed = seed * 1103515245u + 12345u;
      size_t n = 1 + (seed >> 16) % (round % 4 == 0 ? 3 : 150);
      if (n > len - pos)
        n = len - pos;
      feed_ok(&nd, &got, text + pos, n);
      pos += n;
    }
    finish_ok(&nd, &got);
    al_ndjson_clear(&nd);
    assert_int_equal(got.calls, want.calls);
    assert_sink(&got, want.buf, want.len);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_whole_lines_in_one_feed),
      cmocka_unit_test(test_line_split_across_feeds),
      cmocka_unit_test(test_one_byte_feeds),
      cmocka_unit_test(test_split_tail_then_many_lines),
      cmocka_unit_test(test_crlf_and_blank_lines),
      cmocka_unit_test(test_nul_bytes_kept),
      cmocka_unit_test(test_unterminated_tail_at_finish),
      cmocka_unit_test(test_line_at_cap_accepted),
      cmocka_unit_test(test_line_over_cap_refused),
      cmocka_unit_test(test_callback_error_stops),
      cmocka_unit_test(test_random_splits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
