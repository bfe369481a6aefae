/* SPDX-License-Identifier: Apache-2.0 */
/* test_changeset.c - src/workspace/: the unified diff (Myers), the
 * changeset manifest's text form read back (and refused when tampered
 * with), the dangerous-content flags, SHA-256 against FIPS 180-4 vectors,
 * and the conflicts apply refuses (named, at most AL_WS_CONFLICTS_NAMED). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "changeset.h"
#include "sha256.h"

static char *diff(const char *a, const char *b) {
  char *out = NULL;
  size_t len = 0;
  assert_int_equal(al_ws_diff(a, strlen(a), b, strlen(b), "a/f", "b/f", &out, &len), 0);
  return out;
}

static void test_diff_identical(void **state) {
  (void)state;
  char *d = diff("x\ny\n", "x\ny\n");
  assert_string_equal(d, "");
  free(d);
}

static void test_diff_one_line(void **state) {
  (void)state;
  char *d = diff("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nFIVE\n6\n7\n8\n9\n");
  assert_string_equal(d, "--- a/f\n+++ b/f\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+FIVE\n 6\n 7\n 8\n");
  free(d);
}

static void test_diff_add_and_delete_all(void **state) {
  (void)state;
  char *d = diff("", "a\nb\n");
  assert_string_equal(d, "--- a/f\n+++ b/f\n@@ -0,0 +1,2 @@\n+a\n+b\n");
  free(d);
  d = diff("a\nb\n", "");
  assert_string_equal(d, "--- a/f\n+++ b/f\n@@ -1,2 +0,0 @@\n-a\n-b\n");
  free(d);
}

static void test_diff_two_hunks_and_no_newline(void **state) {
  (void)state;
  char *d = diff("a\n1\n2\n3\n4\n5\n6\n7\n8\nz", "A\n1\n2\n3\n4\n5\n6\n7\n8\nz\n");
  assert_string_equal(d, "--- a/f\n+++ b/f\n@@ -1,4 +1,4 @@\n-a\n+A\n 1\n 2\n 3\n@@ -7,4 +7,4 @@\n 6\n 7\n 8\n"
                         "-z\n\\ No newline at end of file\n+z\n");
  free(d);
}

static void test_binary(void **state) {
  (void)state;
  assert_true(al_ws_is_binary("a\0b", 3));
  assert_false(al_ws_is_binary("text\n", 5));
}

static void test_sha256_vectors(void **state) {
  (void)state;
  uint8_t sum[32];
  char hex[65];
  al_sha256 c;
  al_sha256_init(&c);
  al_sha256_update(&c, "abc", 3);
  al_sha256_final(&c, sum);
  al_sha256_hex(sum, hex);
  assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  al_sha256_init(&c);
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  for (size_t i = 0; i < strlen(two); i++) /* byte by byte: the buffering */
    al_sha256_update(&c, two + i, 1);
  al_sha256_final(&c, sum);
  al_sha256_hex(sum, hex);
  assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void fill(al_changeset *cs) {
  memset(cs, 0, sizeof(*cs));
  snprintf(cs->id, sizeof(cs->id), "20260101-000000-abcdef");
  cs->created = 1767225600;
  cs->workspace = strdup("/home/u/my project\n%");
  cs->dev = 2049;
  cs->ino = 1234567;
  al_ws_entry *e = al_changeset_add(cs, AL_WS_FILE, "dir/with space/f.txt");
  e->mode = 0644;
  e->size = 3;
  memset(e->sha, 0xab, 32);
  e->base_type = AL_BASE_FILE;
  e->base_mode = 0600;
  e->base_size = 2;
  e->base_mtime = 42;
  memset(e->base_sha, 0x01, 32);
  e = al_changeset_add(cs, AL_WS_SYMLINK, "-");
  e->mode = 0777;
  e->target = strdup("../../etc/passwd");
  e = al_changeset_add(cs, AL_WS_DELETE, "gone");
  e->base_type = AL_BASE_LINK;
  e->base_target = strdup("-");
  e = al_changeset_add(cs, AL_WS_LINK, "hard");
  e->target = strdup("dir/with space/f.txt");
  e = al_changeset_add(cs, AL_WS_CHMOD, ".git/hooks/pre-commit");
  e->mode = 04755;
  e->base_type = AL_BASE_FILE;
}

static void test_manifest_round_trip(void **state) {
  (void)state;
  al_changeset cs, back;
  fill(&cs);
  char *text = al_changeset_format(&cs);
  assert_non_null(text);
  airlock_error *err = NULL;
  assert_int_equal(al_changeset_parse(text, strlen(text), &back, &err), 0);
  assert_null(err);
  assert_string_equal(back.id, cs.id);
  assert_string_equal(back.workspace, cs.workspace);
  assert_int_equal(back.n, cs.n);
  assert_true(back.dev == 2049 && back.ino == 1234567);
  for (size_t i = 0; i < cs.n; i++) {
    assert_int_equal(back.e[i].op, cs.e[i].op);
    assert_string_equal(back.e[i].path, cs.e[i].path);
    assert_int_equal(back.e[i].mode, cs.e[i].mode);
    assert_int_equal(back.e[i].base_type, cs.e[i].base_type);
    assert_memory_equal(back.e[i].sha, cs.e[i].sha, 32);
  }
  assert_string_equal(back.e[1].target, "../../etc/passwd");
  assert_string_equal(back.e[2].base_target, "-");
  assert_true(back.e[1].flags & AL_WS_FLAG_OUTSIDE);
  assert_true(back.e[4].flags & AL_WS_FLAG_HOOK);
  assert_true(back.e[4].flags & AL_WS_FLAG_SETID);
  free(text);
  al_changeset_free(&cs);
  al_changeset_free(&back);
}

static void refused(const char *text) {
  al_changeset cs;
  airlock_error *err = NULL;
  if (al_changeset_parse(text, strlen(text), &cs, &err) == 0)
    print_error("accepted: %s\n", text);
  assert_non_null(err);
  assert_true(err->msg && err->msg[0]);
  airlock_error_free(&err);
}

#define HEAD "airlock-changeset 1\nid x-1\ncreated 1\nworkspace /w\ndev 1\nino 2\nskipped 0\nentries 1\n"
#define SHA "0000000000000000000000000000000000000000000000000000000000000000"

static void test_manifest_refused(void **state) {
  (void)state;
  refused("");
  refused("airlock-changeset 2\n");
  refused(HEAD);                                                                  /* an entry missing */
  refused(HEAD "E F 644 1 " SHA " - 0 0 0 - ../x - -\n");                         /* escapes */
  refused(HEAD "E F 644 1 " SHA " - 0 0 0 - /etc/passwd - -\n");                  /* absolute */
  refused(HEAD "E F 644 1 " SHA " - 0 0 0 - a//b - -\n");                         /* empty component */
  refused(HEAD "E F 644 1 " SHA " - 0 0 0 - a/./b - -\n");                        /* dot */
  refused(HEAD "E F 644 1 - - 0 0 0 - a - -\n");                                  /* file without hash */
  refused(HEAD "E F 99999 1 " SHA " - 0 0 0 - a - -\n");                          /* mode */
  refused(HEAD "E L 777 0 - - 0 0 0 - a - -\n");                                  /* link without target */
  refused(HEAD "E H 644 0 - - 0 0 0 - a ../b -\n");                               /* hard link outside */
  refused(HEAD "E Z 644 0 - - 0 0 0 - a - -\n");                                  /* unknown op */
  refused(HEAD "E F 644 1 " SHA " - 0 0 0 - a%00b - -\n");                        /* NUL */
  refused(HEAD "E F 644 1 " SHA " - 0 0 0 - a - -\nE X 0 0 - - 0 0 0 - b - -\n"); /* extra */
  refused(HEAD "E F 644 1 " SHA " - 0 0 0 - a - -");                              /* no final newline */
  refused("airlock-changeset 1\nid ../x\ncreated 1\nworkspace /w\ndev 1\nino 2\nskipped 0\nentries 0\n");
}

static void test_paths_and_ids(void **state) {
  (void)state;
  assert_true(al_ws_path_ok("a/b/c"));
  assert_true(al_ws_path_ok(".hidden/..x"));
  assert_false(al_ws_path_ok(""));
  assert_false(al_ws_path_ok("a/"));
  assert_false(al_ws_path_ok("../a"));
  assert_false(al_ws_path_ok("a/.."));
  assert_true(al_ws_id_ok("20260101-000000-abcdef"));
  assert_false(al_ws_id_ok("a/b"));
  assert_false(al_ws_id_ok(".x"));
  char id[64];
  al_ws_new_id(id);
  assert_true(al_ws_id_ok(id));
}

/* 25 entries recorded as absent from the host, then made there: all
 * conflicts, 20 named; one still absent is not a conflict */
static void test_conflicts_named(void **state) {
  (void)state;
  char dir[] = "/tmp/test_changeset.XXXXXX";
  assert_non_null(mkdtemp(dir));
  int host = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(host >= 0);
  al_changeset cs;
  memset(&cs, 0, sizeof(cs));
  char name[16];
  for (int i = 0; i < 25; i++) {
    snprintf(name, sizeof(name), "f%02d", i);
    al_ws_entry *e = al_changeset_add(&cs, AL_WS_FILE, name);
    assert_non_null(e);
    e->base_type = AL_BASE_ABSENT;
    int fd = openat(host, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
  }
  al_ws_entry *e = al_changeset_add(&cs, AL_WS_FILE, "still-absent");
  assert_non_null(e);
  e->base_type = AL_BASE_ABSENT;
  size_t n = 0;
  char *c = al_ws_conflicts(&cs, NULL, host, &n);
  assert_non_null(c);
  assert_int_equal(n, 25);
  assert_string_equal(c, "f00, f01, f02, f03, f04, f05, f06, f07, f08, f09, f10, f11, f12, f13, f14, f15, f16, "
                         "f17, f18, f19 and 5 more");
  free(c);
  bool sel[26] = {false};
  sel[3] = sel[25] = true;
  c = al_ws_conflicts(&cs, sel, host, &n);
  assert_non_null(c);
  assert_int_equal(n, 1);
  assert_string_equal(c, "f03");
  free(c);
  for (int i = 0; i < 25; i++) {
    snprintf(name, sizeof(name), "f%02d", i);
    assert_int_equal(unlinkat(host, name, 0), 0);
  }
  close(host);
  assert_int_equal(rmdir(dir), 0);
  al_changeset_free(&cs);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_diff_identical),
      cmocka_unit_test(test_diff_one_line),
      cmocka_unit_test(test_diff_add_and_delete_all),
      cmocka_unit_test(test_diff_two_hunks_and_no_newline),
      cmocka_unit_test(test_binary),
      cmocka_unit_test(test_sha256_vectors),
      cmocka_unit_test(test_manifest_round_trip),
      cmocka_unit_test(test_manifest_refused),
      cmocka_unit_test(test_paths_and_ids),
      cmocka_unit_test(test_conflicts_named),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
