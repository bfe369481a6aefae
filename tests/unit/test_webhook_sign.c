/* SPDX-License-Identifier: Apache-2.0 */
/* test_webhook_sign.c - the webhook signature (al_webhook_sign) against
 * values computed outside airlock, and the secret file checks
 * (al_webhook_secret_load).  Delivery itself is tested end to end by
 * tests/node/webhook_test.sh. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node_webhook.h"

static const char key[] = "whsec_airlock_test_0123456789";
static const char body[] = "{\"type\":\"approval.requested\",\"id\":\"evt_0123456789abcdef0123456789abcdef\","
                           "\"created_at_ms\":1700000000000,\"data\":{\"command\":\"rm -rf /\"}}";

/* The expected values were computed with OpenSSL's command line, not with
 * airlock, e.g. for the first:
 *   printf '%s' '1700000000.{"type":"approval.requested",...}' \
 *     | openssl dgst -sha256 -hmac 'whsec_airlock_test_0123456789'
 * and for the binary key:
 *   printf '%s' '1.' | openssl dgst -sha256 -mac HMAC \
 *     -macopt hexkey:00ff00ff00ff00ff00ff00ff00ff00ff00ff
 * (and cross-checked with Python's hmac.new(key, msg, hashlib.sha256)). */
static void test_known_vector(void **state) {
  (void)state;
  char hex[65];
  assert_int_equal(al_webhook_sign((const unsigned char *)key, strlen(key), 1700000000, body, hex), 0);
  assert_string_equal(hex, "1b6b10763703c351f493965cdfd2a014c01c41546104f5642fcddec50ed83a8c");
}

static void test_short_and_negative_timestamps(void **state) {
  (void)state;
  char hex[65];
  /* "0." and "-5.x": the timestamp is printed in plain decimal */
  assert_int_equal(al_webhook_sign((const unsigned char *)key, strlen(key), 0, "", hex), 0);
  assert_string_equal(hex, "ed75c2aaee05fa1b50f4fe316ff78e610ab52ace61c32b35d9fb8f87501adfe5");
  assert_int_equal(al_webhook_sign((const unsigned char *)key, strlen(key), -5, "x", hex), 0);
  assert_string_equal(hex, "0a1d5af6a98490c8718b101d80ce04b22ddeadcf82447d938c1cec1b0f77675a");
}

static void test_binary_key(void **state) {
  (void)state;
  unsigned char k[18];
  for (size_t i = 0; i < sizeof(k); i++)
    k[i] = i % 2 ? 0xff : 0x00; /* NUL bytes in the key are key bytes */
  char hex[65];
  assert_int_equal(al_webhook_sign(k, sizeof(k), 1, "", hex), 0);
  assert_string_equal(hex, "9b94770b53cb1491260f10c56f6a35de69ce0af7ebf009613d415fa9c409ea79");
}

static void test_timestamp_is_signed(void **state) {
  (void)state;
  char a[65], b[65];
  assert_int_equal(al_webhook_sign((const unsigned char *)key, strlen(key), 1700000000, body, a), 0);
  assert_int_equal(al_webhook_sign((const unsigned char *)key, strlen(key), 1700000001, body, b), 0);
  assert_string_not_equal(a, b);
  assert_int_equal(strlen(a), 64);
  assert_int_equal(strspn(a, "0123456789abcdef"), 64);
}

/* --- secret files ----------------------------------------------------------- */

static char dir[64];

static int make_dir(void **state) {
  (void)state;
  strcpy(dir, "/tmp/airlock-ut-wh-XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static int remove_dir(void **state) {
  (void)state;
  return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *write_file(const char *name, const char *text, mode_t mode) {
  static char path[128];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  unlink(path);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  assert_int_equal(chmod(path, mode), 0);
  return path;
}

static void test_secret_ok_newline_stripped(void **state) {
  (void)state;
  const char *p = write_file("ok", "0123456789abcdef\r\n", 0600);
  unsigned char *s = NULL;
  size_t n = 0;
  airlock_error *err = NULL;
  assert_int_equal(al_webhook_secret_load(p, &s, &n, &err), 0);
  assert_null(err);
  assert_int_equal(n, 16);
  assert_memory_equal(s, "0123456789abcdef", 16);
  al_webhook_secret_free(s, n);
  p = write_file("ro", "0123456789abcdef0", 0400);
  assert_int_equal(al_webhook_secret_load(p, &s, &n, &err), 0);
  assert_int_equal(n, 17);
  al_webhook_secret_free(s, n);
}

static void expect_refused(const char *p, const char *fragment) {
  unsigned char *s = (unsigned char *)"x";
  size_t n = 99;
  airlock_error *err = NULL;
  assert_int_equal(al_webhook_secret_load(p, &s, &n, &err), -1);
  assert_null(s);
  assert_int_equal(n, 0);
  assert_non_null(err);
  if (strstr(err->msg, fragment) == NULL || strstr(err->msg, p) == NULL)
    fail_msg("message '%s' lacks '%s' or the path", err->msg, fragment);
  airlock_error_free(&err);
}

static void test_secret_refused(void **state) {
  (void)state;
  expect_refused(write_file("open", "0123456789abcdef\n", 0644), "mode 0644");
  expect_refused(write_file("group", "0123456789abcdef\n", 0640), "mode 0640");
  expect_refused(write_file("other-x", "0123456789abcdef\n", 0601), "mode 0601");
  expect_refused(write_file("short", "0123456789abcde\n\n", 0600), "holds 15 bytes");
  expect_refused(write_file("empty", "", 0600), "holds 0 bytes");
  char big[5000];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  expect_refused(write_file("big", big, 0600), "larger than 4096");
  expect_refused(dir, "not a regular file");
  char missing[128];
  snprintf(missing, sizeof(missing), "%s/missing", dir);
  expect_refused(missing, "No such file");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_vector),
      cmocka_unit_test(test_short_and_negative_timestamps),
      cmocka_unit_test(test_binary_key),
      cmocka_unit_test(test_timestamp_is_signed),
      cmocka_unit_test_setup_teardown(test_secret_ok_newline_stripped, make_dir, remove_dir),
      cmocka_unit_test_setup_teardown(test_secret_refused, make_dir, remove_dir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
