/* SPDX-License-Identifier: Apache-2.0 */
/* test_parse.c - airlock_parse_size, airlock_parse_bind, airlock_spec_add_env. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/airlock.h"

#define SENTINEL ((int64_t)-4242)

/* --- airlock_parse_size: accepted forms -------------------------------- */

static void size_ok(const char *text, int64_t want) {
  int64_t out = SENTINEL;
  airlock_error *err = NULL;
  int r = airlock_parse_size(text, &out, &err);
  if (r != 0)
    print_error("airlock_parse_size(\"%s\") failed: %s\n", text, err ? err->msg : "(no error)");
  assert_int_equal(r, 0);
  assert_null(err);
  if (out != want)
    print_error("airlock_parse_size(\"%s\") = %lld, want %lld\n", text, (long long)out, (long long)want);
  assert_true(out == want);
}

static void test_size_plain_bytes(void **state) {
  (void)state;
  size_ok("0", 0);
  size_ok("1", 1);
  size_ok("512", 512);
  size_ok("123456789", 123456789);
  size_ok("4096b", 4096);
  size_ok("4096B", 4096);
}

static void test_size_suffixes(void **state) {
  (void)state;
  size_ok("1k", 1024);
  size_ok("1K", 1024);
  size_ok("3m", 3LL << 20);
  size_ok("512M", 512LL << 20);
  size_ok("2g", 2LL << 30);
  size_ok("2G", 2LL << 30);
  size_ok("1t", 1LL << 40);
  size_ok("5T", 5LL << 40);
}

static void test_size_long_suffixes(void **state) {
  (void)state;
  size_ok("512kb", 512LL << 10);
  size_ok("512KB", 512LL << 10);
  size_ok("512KiB", 512LL << 10);
  size_ok("512kib", 512LL << 10);
  size_ok("64mb", 64LL << 20);
  size_ok("64MiB", 64LL << 20);
  size_ok("8GB", 8LL << 30);
  size_ok("8GiB", 8LL << 30);
  size_ok("1TiB", 1LL << 40);
}

static void test_size_fractional(void **state) {
  (void)state;
  size_ok("1.5g", (3LL << 30) / 2);
  size_ok("0.5k", 512);
  size_ok("0.25m", 256LL << 10);
  size_ok("2.5MiB", (5LL << 20) / 2);
  size_ok("1.0", 1); /* a whole number written with a fraction */
}

/* --- airlock_parse_size: refused forms --------------------------------- */

/* The call must fail, leave *out alone, and name the input (needle). */
static void size_bad(const char *text, const char *needle) {
  int64_t out = SENTINEL;
  airlock_error *err = NULL;
  int r = airlock_parse_size(text, &out, &err);
  if (r == 0)
    print_error("airlock_parse_size(\"%s\") accepted, gave %lld\n", text ? text : "(null)", (long long)out);
  assert_int_equal(r, -1);
  assert_non_null(err);
  assert_non_null(err->msg);
  assert_true(out == SENTINEL);
  if (strstr(err->msg, needle) == NULL)
    print_error("message \"%s\" does not contain \"%s\"\n", err->msg, needle);
  assert_non_null(strstr(err->msg, needle));
  airlock_error_free(&err);
  assert_null(err);
}

static void test_size_errors(void **state) {
  (void)state;
  size_bad("", "empty");
  size_bad(NULL, "empty");
  size_bad("abc", "'abc'");
  size_bad("-1", "'-1'");
  size_bad("12x", "'12x'");
  size_bad("12x", "unit 'x'");
  size_bad("5mbx", "'5mbx'");
  size_bad("5mbx", "trailing 'bx'");
  size_bad("99999999999t", "'99999999999t'");
  size_bad("99999999999t", "too large");
  size_bad("1.5", "whole number of bytes");
  size_bad("0.0001k", "whole number of bytes");
  size_bad("0x10", "'0x10'");
  size_bad("1e1g", "'1e1g'");
  size_bad("+1", "'+1'");
  size_bad("1.2.3m", "'1.2.3m'");
  size_bad("1.5b", "'1.5b'");
  size_bad(" 1", "' 1'");
  size_bad("1 k", "'1 k'");
  size_bad("k", "'k'");
  size_bad("1kk", "'1kk'");
  size_bad("1e999", "'1e999'");
}

/* Integers are exact (not rounded through a double); decimals only where whole. */
static void test_size_exact(void **state) {
  (void)state;
  airlock_error *err = NULL;
  int64_t out = 0;
  assert_int_equal(airlock_parse_size("9007199254740993", &out, &err), 0);
  assert_true(out == 9007199254740993LL);
  assert_int_equal(airlock_parse_size("0.5k", &out, &err), 0);
  assert_int_equal(out, 512);
  double d = 0;
  assert_int_equal(airlock_parse_decimal("2.50", &d), 0);
  assert_true(d == 2.5);
  assert_int_equal(airlock_parse_decimal("0x1", &d), -1);
  assert_int_equal(airlock_parse_decimal(" 1", &d), -1);
  assert_int_equal(airlock_parse_decimal("1e3", &d), -1);
  assert_int_equal(airlock_parse_decimal(".", &d), -1);
  assert_int_equal(airlock_parse_decimal("", &d), -1);
  assert_null(err);
}

/* An error that is already set is not overwritten (first error wins). */
static void test_size_keeps_first_error(void **state) {
  (void)state;
  airlock_error *err = NULL;
  int64_t out = 0;
  assert_int_equal(airlock_parse_size("abc", &out, &err), -1);
  assert_non_null(err);
  airlock_error *first = err;
  assert_int_equal(airlock_parse_size("xyz", &out, &err), -1);
  assert_ptr_equal(err, first);
  assert_non_null(strstr(err->msg, "abc"));
  assert_null(strstr(err->msg, "xyz"));
  airlock_error_free(&err);
}

/* --- airlock_parse_bind -------------------------------------------------- */

static void bind_ok(const char *text, const char *src, const char *dst, bool writable) {
  airlock_bind b = {0};
  airlock_error *err = NULL;
  int r = airlock_parse_bind(text, &b, &err);
  if (r != 0)
    print_error("airlock_parse_bind(\"%s\") failed: %s\n", text, err ? err->msg : "(no error)");
  assert_int_equal(r, 0);
  assert_null(err);
  assert_non_null(b.src);
  assert_non_null(b.dst);
  assert_string_equal(b.src, src);
  assert_string_equal(b.dst, dst);
  assert_int_equal(b.writable, writable);
  free(b.src);
  free(b.dst);
}

static void test_bind_valid(void **state) {
  (void)state;
  bind_ok("a:/b", "a", "/b", false);
  bind_ok("a:/b:ro", "a", "/b", false);
  bind_ok("a:/b:rw", "a", "/b", true);
  bind_ok("/srv/data:/data:rw", "/srv/data", "/data", true);
  bind_ok("./rel/dir:/mnt/x", "./rel/dir", "/mnt/x", false);
}

static void bind_bad(const char *text, const char *needle) {
  airlock_bind b = {0};
  airlock_error *err = NULL;
  int r = airlock_parse_bind(text, &b, &err);
  if (r == 0)
    print_error("airlock_parse_bind(\"%s\") accepted: src=%s dst=%s\n", text ? text : "(null)", b.src, b.dst);
  assert_int_equal(r, -1);
  assert_non_null(err);
  assert_non_null(err->msg);
  assert_null(b.src);
  assert_null(b.dst);
  if (strstr(err->msg, needle) == NULL)
    print_error("message \"%s\" does not contain \"%s\"\n", err->msg, needle);
  assert_non_null(strstr(err->msg, needle));
  airlock_error_free(&err);
}

static void test_bind_errors(void **state) {
  (void)state;
  bind_bad("a", "'a'");
  bind_bad("a::b", "'a::b'");
  bind_bad(":b", "':b'");
  bind_bad("a:", "'a:'");
  bind_bad("a:/b:", "'a:/b:'");
  bind_bad("a:/b:xx", "'a:/b:xx'");
  bind_bad("a:/b:xx", "not 'xx'");
  bind_bad("a:/b:RO", "not 'RO'");
  bind_bad("a:/b:ro:extra", "'a:/b:ro:extra'");
  bind_bad("a:/b:c:d:e", "'a:/b:c:d:e'");
  bind_bad("", "empty");
  bind_bad(NULL, "empty");
}

/* --- airlock_spec_add_env ------------------------------------------------ */

static void test_env_add_and_replace(void **state) {
  (void)state;
  airlock_spec spec;
  airlock_spec_init(&spec);
  airlock_error *err = NULL;

  assert_int_equal(airlock_spec_add_env(&spec, "A=b", &err), 0);
  assert_null(err);
  assert_int_equal(spec.n_env, 1);
  assert_string_equal(spec.env[0], "A=b");

  /* a longer key that starts with the same letter is a different key */
  assert_int_equal(airlock_spec_add_env(&spec, "AB=1", &err), 0);
  assert_int_equal(airlock_spec_add_env(&spec, "_x9=", &err), 0);
  assert_int_equal(airlock_spec_add_env(&spec, "URL=a=b=c", &err), 0);
  assert_null(err);
  assert_int_equal(spec.n_env, 4);

  /* same key: replaced in place, nothing appended */
  assert_int_equal(airlock_spec_add_env(&spec, "A=second", &err), 0);
  assert_null(err);
  assert_int_equal(spec.n_env, 4);
  assert_string_equal(spec.env[0], "A=second");
  assert_string_equal(spec.env[1], "AB=1");
  assert_string_equal(spec.env[2], "_x9=");
  assert_string_equal(spec.env[3], "URL=a=b=c");

  /* the stored string is a copy, not the caller's buffer */
  char buf[] = "COPY=yes";
  assert_int_equal(airlock_spec_add_env(&spec, buf, &err), 0);
  assert_ptr_not_equal(spec.env[4], buf);
  buf[0] = 'X';
  assert_string_equal(spec.env[4], "COPY=yes");

  airlock_spec_clear(&spec);
  assert_null(spec.env);
  assert_int_equal(spec.n_env, 0);
}

static void env_bad(const char *kv) {
  airlock_spec spec;
  airlock_spec_init(&spec);
  airlock_error *err = NULL;
  assert_int_equal(airlock_spec_add_env(&spec, "KEEP=1", &err), 0);
  int r = airlock_spec_add_env(&spec, kv, &err);
  if (r == 0)
    print_error("airlock_spec_add_env(\"%s\") accepted\n", kv);
  assert_int_equal(r, -1);
  assert_non_null(err);
  /* the message quotes the whole entry */
  char quoted[128];
  snprintf(quoted, sizeof(quoted), "'%s'", kv);
  if (strstr(err->msg, quoted) == NULL)
    print_error("message \"%s\" does not contain \"%s\"\n", err->msg, quoted);
  assert_non_null(strstr(err->msg, quoted));
  assert_int_equal(spec.n_env, 1);
  assert_string_equal(spec.env[0], "KEEP=1");
  airlock_error_free(&err);
  airlock_spec_clear(&spec);
}

static void test_env_invalid(void **state) {
  (void)state;
  env_bad("1A=b");
  env_bad("=x");
  env_bad("A B=c");
  env_bad("noequals");
  env_bad("A-B=c");
  env_bad("A.B=c");
  env_bad("");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_size_plain_bytes),
      cmocka_unit_test(test_size_suffixes),
      cmocka_unit_test(test_size_long_suffixes),
      cmocka_unit_test(test_size_fractional),
      cmocka_unit_test(test_size_errors),
      cmocka_unit_test(test_size_exact),
      cmocka_unit_test(test_size_keeps_first_error),
      cmocka_unit_test(test_bind_valid),
      cmocka_unit_test(test_bind_errors),
      cmocka_unit_test(test_env_add_and_replace),
      cmocka_unit_test(test_env_invalid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
