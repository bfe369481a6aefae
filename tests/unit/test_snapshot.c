/* SPDX-License-Identifier: Apache-2.0 */
/* test_snapshot.c - the pieces of node snapshots that need no node: names,
 * the routes, "fork_from" in a sandbox body, and the tree copy and emptying
 * of node_tree.c on real directories (modes, links not followed, empty
 * directories, FIFOs, the byte bound). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "node.h"

static void test_names(void **state) {
  (void)state;
  const char *good[] = {"a", "base", "v1.2_x-y", "@created", "0", "A_b"};
  const char *bad[] = {"", ".", "..", "../x", "a/b", "-x", ".hidden", "a b", "@other", "é",
                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}; /* 65 */
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
    assert_true(al_snapshot_name_ok(good[i]));
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if (al_snapshot_name_ok(bad[i]))
      fail_msg("'%s' passed as a snapshot name", bad[i]);
}

static void test_routes(void **state) {
  (void)state;
  char id[32];
  assert_int_equal(al_api_route_parse("/v1/sandboxes/sb_1/snapshots", id, sizeof(id)), AL_API_SANDBOX_SNAPSHOTS);
  assert_string_equal(id, "sb_1");
  assert_int_equal(al_api_route_parse("/v1/sandboxes/sb_1/snapshots/base", id, sizeof(id)), AL_API_SANDBOX_SNAPSHOT);
  assert_int_equal(al_api_route_parse("/v1/sandboxes/sb_1/restore", id, sizeof(id)), AL_API_SANDBOX_RESTORE);
  assert_int_equal(al_api_route_parse("/v1/sandboxes/sb_1/reset", id, sizeof(id)), AL_API_SANDBOX_RESET);
  assert_int_equal(al_api_route_parse("/v1/snapshots", id, sizeof(id)), AL_API_SNAPSHOTS);
  assert_int_equal(al_api_route_parse("/v1/snapshots/sn_ab", id, sizeof(id)), AL_API_SNAPSHOT);
  assert_string_equal(id, "sn_ab");
  assert_int_equal(al_api_route_parse("/v1/snapshots/../x", id, sizeof(id)), AL_API_NONE);
  assert_int_equal(al_api_route_parse("/v1/snapshots/sn_1/x", id, sizeof(id)), AL_API_NONE);
  assert_int_equal(al_api_route_parse("/v1/sandboxes/sb_1/resets", id, sizeof(id)), AL_API_NONE);
}

static void fork_body(const char *body, bool ok, const char *sandbox, const char *snapshot) {
  al_sandbox_params p;
  char why[512] = "";
  int r = al_sandbox_params_parse(body, strlen(body), &p, why, sizeof(why));
  if ((r == 0) != ok)
    fail_msg("%s: %s (%s)", body, r == 0 ? "accepted" : "refused", why);
  if (ok) {
    assert_true(p.fork);
    if (sandbox)
      assert_string_equal(p.fork_sandbox, sandbox);
    else
      assert_null(p.fork_sandbox);
    if (snapshot)
      assert_string_equal(p.fork_snapshot, snapshot);
    else
      assert_null(p.fork_snapshot);
    al_sandbox_params_clear(&p);
  } else {
    assert_non_null(strstr(why, "fork_from"));
  }
}

static void test_fork_from(void **state) {
  (void)state;
  fork_body("{\"fork_from\":{\"sandbox\":\"sb_1\"}}", true, "sb_1", NULL);
  fork_body("{\"fork_from\":{\"sandbox\":\"sb_1\",\"snapshot\":\"base\"}}", true, "sb_1", "base");
  fork_body("{\"fork_from\":{\"snapshot\":\"sn_1\"}}", true, NULL, "sn_1");
  fork_body("{\"fork_from\":{}}", false, NULL, NULL);
  fork_body("{\"fork_from\":\"sb_1\"}", false, NULL, NULL);
  fork_body("{\"fork_from\":{\"sandbox\":\"../x\"}}", false, NULL, NULL);
  fork_body("{\"fork_from\":{\"sandbox\":\"sb_1\",\"other\":1}}", false, NULL, NULL);
  fork_body("{\"fork_from\":{\"snapshot\":7}}", false, NULL, NULL);
}

/* ---- the tree copy, on a scratch directory ------------------------------ */

static char base[] = "/tmp/airlock-test-snapshot.XXXXXX";

static int dir_fd(const char *name) {
  int fd = openat(AT_FDCWD, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(fd >= 0);
  return fd;
}

static void write_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  assert_int_equal(fchmod(fd, mode), 0);
  close(fd);
}

static al_tree_copy plain_copy(void) {
  return (al_tree_copy){.what = "test",
                        .map_from_uid = (uid_t)-1,
                        .map_to_uid = (uid_t)-1,
                        .map_from_gid = (gid_t)-1,
                        .map_to_gid = (gid_t)-1};
}

static void test_tree_copy(void **state) {
  (void)state;
  assert_non_null(mkdtemp(base));
  char src[128], dst[128], outside[128], p[256];
  snprintf(src, sizeof(src), "%s/src", base);
  snprintf(dst, sizeof(dst), "%s/dst", base);
  snprintf(outside, sizeof(outside), "%s/outside", base);
  assert_int_equal(mkdir(src, 0755), 0);
  assert_int_equal(mkdir(dst, 0700), 0);
  assert_int_equal(mkdir(outside, 0755), 0);
  snprintf(p, sizeof(p), "%s/secret", outside);
  write_file(p, "not to be copied\n", 0644);
  snprintf(p, sizeof(p), "%s/d", src);
  assert_int_equal(mkdir(p, 0750), 0);
  snprintf(p, sizeof(p), "%s/d/empty", src);
  assert_int_equal(mkdir(p, 0711), 0);
  snprintf(p, sizeof(p), "%s/d/f", src);
  write_file(p, "hello\n", 0640);
  snprintf(p, sizeof(p), "%s/suid", src);
  write_file(p, "x", 04755);
  snprintf(p, sizeof(p), "%s/out", src);
  assert_int_equal(symlink(outside, p), 0); /* a link out of the tree: copied as a link */
  snprintf(p, sizeof(p), "%s/fifo", src);
  assert_int_equal(mkfifo(p, 0600), 0);

  _cleanup_close_ int s = dir_fd(src);
  _cleanup_close_ int d = dir_fd(dst);
  airlock_error *err = NULL;
  al_tree_copy c = plain_copy();
  if (al_tree_copy_into(&c, s, d, &err) < 0)
    fail_msg("copy: %s", err->msg);
  assert_int_equal(c.files, 6); /* d, d/empty, d/f, suid, out, fifo: nothing from outside */
  assert_int_equal(c.bytes, 7);

  struct stat st;
  snprintf(p, sizeof(p), "%s/d/f", dst);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0640);
  assert_int_equal(st.st_size, 6);
  snprintf(p, sizeof(p), "%s/d/empty", dst);
  assert_int_equal(stat(p, &st), 0);
  assert_true(S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0711);
  snprintf(p, sizeof(p), "%s/d", dst);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0750);
  snprintf(p, sizeof(p), "%s/suid", dst);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0755); /* set-id bits dropped */
  snprintf(p, sizeof(p), "%s/out", dst);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  char target[256];
  ssize_t n = readlink(p, target, sizeof(target) - 1);
  assert_true(n > 0);
  target[n] = '\0';
  assert_string_equal(target, outside);
  snprintf(p, sizeof(p), "%s/fifo", dst);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISFIFO(st.st_mode));

  /* a second copy onto what is there: refused (O_EXCL), not merged */
  al_tree_copy again = plain_copy();
  assert_int_equal(al_tree_copy_into(&again, s, d, &err), -1);
  assert_int_equal(err->errnum, EEXIST);
  airlock_error_free(&err);

  /* the byte bound stops the copy with EFBIG */
  assert_int_equal(al_tree_empty(d, "dst", NULL, &err), 0);
  al_tree_copy bounded = plain_copy();
  bounded.max_bytes = 3;
  assert_int_equal(al_tree_copy_into(&bounded, s, d, &err), -1);
  assert_int_equal(err->errnum, EFBIG);
  airlock_error_free(&err);

  /* emptying removes everything, links not followed */
  assert_int_equal(al_tree_empty(d, "dst", NULL, &err), 0);
  _cleanup_closedir_ DIR *left = fdopendir(dup(d));
  assert_non_null(left);
  struct dirent *de;
  int entries = 0;
  while ((de = readdir(left)))
    entries += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
  assert_int_equal(entries, 0);
  snprintf(p, sizeof(p), "%s/secret", outside);
  assert_int_equal(stat(p, &st), 0); /* what the link pointed to is still there */

  /* a staged replacement: the old entry stays until the commit, then only the copy is there */
  snprintf(p, sizeof(p), "%s/old", dst);
  write_file(p, "old\n", 0600);
  al_tree_copy staged = plain_copy();
  assert_int_equal(al_tree_stage(&staged, s, d, ".stage", &err), 0);
  assert_int_equal(stat(p, &st), 0);
  snprintf(p, sizeof(p), "%s/.stage/d/f", dst);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(al_tree_commit(d, ".stage", "dst", &err), 0);
  snprintf(p, sizeof(p), "%s/old", dst);
  assert_int_equal(stat(p, &st), -1);
  snprintf(p, sizeof(p), "%s/.stage", dst);
  assert_int_equal(stat(p, &st), -1);
  snprintf(p, sizeof(p), "%s/d/f", dst);
  assert_int_equal(stat(p, &st), 0);
  /* a stage over the byte bound is undone without touching what is there */
  al_tree_copy over = plain_copy();
  over.max_bytes = 2;
  assert_int_equal(al_tree_stage(&over, s, d, ".stage", &err), -1);
  airlock_error_free(&err);
  al_tree_unstage(d, ".stage");
  snprintf(p, sizeof(p), "%s/.stage", dst);
  assert_int_equal(stat(p, &st), -1);
  snprintf(p, sizeof(p), "%s/d/f", dst);
  assert_int_equal(stat(p, &st), 0);
  assert_int_equal(al_fs_remove_tree(AT_FDCWD, "/tmp", base, &err), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_routes),
      cmocka_unit_test(test_fork_from),
      cmocka_unit_test(test_tree_copy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
