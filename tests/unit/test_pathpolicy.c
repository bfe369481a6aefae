/* SPDX-License-Identifier: Apache-2.0 */
/* test_pathpolicy.c - the bind guard: al_resolve_mount_source and
 * al_check_mount_target. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "pathpolicy.h"

/* --- a scratch directory under /tmp, removed after each test -------------- */

typedef struct {
  char dir[64];
  char made[16][PATH_MAX]; /* created entries, removed in reverse order */
  int n_made;
} scratch;

static int setup_scratch(void **state) {
  scratch *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return -1;
  strcpy(s->dir, "/tmp/airlock-ut-pp-XXXXXX");
  if (mkdtemp(s->dir) == NULL) {
    free(s);
    return -1;
  }
  *state = s;
  return 0;
}

static int teardown_scratch(void **state) {
  scratch *s = *state;
  for (int i = s->n_made - 1; i >= 0; i--) {
    if (unlink(s->made[i]) < 0)
      rmdir(s->made[i]);
  }
  rmdir(s->dir);
  free(s);
  return 0;
}

/* path of name inside the scratch dir, remembered for cleanup */
static const char *track(scratch *s, const char *name) {
  assert_true(s->n_made < 16);
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/%s", s->dir, name);
  memcpy(s->made[s->n_made], path, sizeof(path));
  return s->made[s->n_made++];
}

static const char *make_dir(scratch *s, const char *name) {
  const char *p = track(s, name);
  assert_int_equal(mkdir(p, 0700), 0);
  return p;
}

static const char *make_symlink(scratch *s, const char *name, const char *target) {
  const char *p = track(s, name);
  assert_int_equal(symlink(target, p), 0);
  return p;
}

/* --- helpers ------------------------------------------------------------- */

static void source_refused(const char *src, const char *needle) {
  char *resolved = NULL;
  airlock_error *err = NULL;
  int r = al_resolve_mount_source("bind source", src, &resolved, &err);
  if (r == 0)
    print_error("source '%s' accepted as '%s'\n", src, resolved);
  assert_int_equal(r, -1);
  assert_null(resolved);
  assert_non_null(err);
  assert_non_null(err->msg);
  /* the message says what and which path */
  assert_non_null(strstr(err->msg, "bind source"));
  assert_non_null(strstr(err->msg, src));
  if (needle && strstr(err->msg, needle) == NULL)
    print_error("message \"%s\" does not contain \"%s\"\n", err->msg, needle);
  if (needle)
    assert_non_null(strstr(err->msg, needle));
  airlock_error_free(&err);
}

static void source_accepted(const char *src, const char *want) {
  char *resolved = NULL;
  airlock_error *err = NULL;
  int r = al_resolve_mount_source("bind source", src, &resolved, &err);
  if (r != 0)
    print_error("source '%s' refused: %s\n", src, err->msg);
  assert_int_equal(r, 0);
  assert_null(err);
  assert_non_null(resolved);
  assert_string_equal(resolved, want);
  free(resolved);
}

static void target_refused(const char *dst, const char *needle) {
  airlock_error *err = NULL;
  int r = al_check_mount_target("bind", dst, &err);
  if (r == 0)
    print_error("target '%s' accepted\n", dst ? dst : "(null)");
  assert_int_equal(r, -1);
  assert_non_null(err);
  assert_non_null(err->msg);
  assert_non_null(strstr(err->msg, "bind target"));
  if (needle && strstr(err->msg, needle) == NULL)
    print_error("message \"%s\" does not contain \"%s\"\n", err->msg, needle);
  if (needle)
    assert_non_null(strstr(err->msg, needle));
  airlock_error_free(&err);
}

static void target_accepted(const char *dst) {
  airlock_error *err = NULL;
  int r = al_check_mount_target("bind", dst, &err);
  if (r != 0)
    print_error("target '%s' refused: %s\n", dst, err->msg);
  assert_int_equal(r, 0);
  assert_null(err);
}

/* --- al_resolve_mount_source ---------------------------------------------- */

static void test_source_system_paths(void **state) {
  (void)state;
  source_refused("/", "resolves to '/'");
  static const char *const protected_paths[] = {"/etc",  "/proc", "/sys", "/dev",    "/root",
                                                "/boot", "/run",  "/var", "/var/run"};
  for (size_t i = 0; i < sizeof(protected_paths) / sizeof(protected_paths[0]); i++) {
    struct stat st;
    /* a path missing on this host is still refused (it cannot be opened),
     * but only an existing one exercises the policy: require its message
     * then (a link such as /var/run -> /run is refused as a link) */
    bool exists = lstat(protected_paths[i], &st) == 0;
    source_refused(protected_paths[i], !exists ? NULL : S_ISLNK(st.st_mode) ? "symbolic link" : "protected host path");
  }
  /* below protected trees */
  static const char *const below[][2] = {
      {"/etc/ssl", "protected host path /etc"},
      {"/proc/1", "protected host path /proc"},
      {"/dev/shm", "protected host path /dev"},
      {"/sys/kernel", "protected host path /sys"},
  };
  for (size_t i = 0; i < sizeof(below) / sizeof(below[0]); i++) {
    struct stat st;
    source_refused(below[i][0], stat(below[i][0], &st) == 0 ? below[i][1] : NULL);
  }
  /* non-canonical spellings resolve to the same place */
  source_refused("/tmp/../etc", "resolves to '/etc'");
  source_refused("//etc/", "resolves to '/etc'");
  source_refused("/usr/..", "resolves to '/'");
}

/* A source is opened once and no link in it is followed, wherever it points
 * (a link planted by an earlier sandbox must not steer the next mount). */
static void test_source_symlink_to_etc(void **state) {
  scratch *s = *state;
  const char *link = make_symlink(s, "innocent", "/etc");
  source_refused(link, "symbolic link");
  /* through a chain of links and a relative link too */
  const char *link2 = make_symlink(s, "chain", "innocent");
  source_refused(link2, "symbolic link");
  const char *link3 = make_symlink(s, "up", "../../../../../../../../proc");
  source_refused(link3, "symbolic link");
  /* a link in the middle of the path, to a harmless directory */
  make_dir(s, "real");
  make_dir(s, "real/inner");
  make_symlink(s, "alias", "real");
  char through[PATH_MAX];
  snprintf(through, sizeof(through), "%s/alias/inner", s->dir);
  source_refused(through, "symbolic link");
}

static void test_source_home_with_credentials(void **state) {
  scratch *s = *state;
  const char *home = make_dir(s, "home");
  char ssh[PATH_MAX];
  snprintf(ssh, sizeof(ssh), "%s/.ssh", home);
  track(s, "home/.ssh");
  assert_int_equal(mkdir(ssh, 0700), 0);
  source_refused(home, "credential location");
  source_refused(home, ".ssh");
  /* the credential dir itself and anything below it */
  source_refused(ssh, "credential location (.ssh)");
}

/* Shared roots and home directories: a directory below is fine, the root
 * itself (other users' sockets, every home) is not. */
static void test_source_shared_roots_and_homes(void **state) {
  (void)state;
  source_refused("/tmp", "shared by other users");
  source_refused("/var/tmp", "shared by other users");
  struct stat st;
  if (stat("/home", &st) == 0)
    source_refused("/home", "shared by other users");
  /* every regular user's home and anything above it */
  FILE *f = fopen("/etc/passwd", "re");
  assert_non_null(f);
  struct passwd *pw;
  while ((pw = fgetpwent(f)) != NULL) {
    if (pw->pw_uid < 1000 || pw->pw_dir[0] != '/' || stat(pw->pw_dir, &st) != 0 || !S_ISDIR(st.st_mode))
      continue;
    source_refused(pw->pw_dir, "home directory of user");
  }
  fclose(f);
}

static void test_source_credential_component(void **state) {
  scratch *s = *state;
  const char *aws = make_dir(s, ".aws");
  const char *sub = make_dir(s, ".aws/sub");
  source_refused(aws, "credential location (.aws)");
  source_refused(sub, "credential location (.aws)");
  /* a link with an innocent name that resolves into it */
  const char *link = make_symlink(s, "creds", ".aws/sub");
  source_refused(link, "symbolic link");
  /* a nested credential path: .config/gcloud */
  make_dir(s, ".config");
  const char *gcloud = make_dir(s, ".config/gcloud");
  source_refused(gcloud, ".config/gcloud");
  /* a file credential inside a directory */
  const char *proj = make_dir(s, "proj");
  const char *netrc = track(s, "proj/.netrc");
  FILE *f = fopen(netrc, "w");
  assert_non_null(f);
  fclose(f);
  source_refused(proj, ".netrc");
}

static void test_source_socket(void **state) {
  scratch *s = *state;
  const char *path = track(s, "agent.sock");
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  assert_true(strlen(path) < sizeof(addr.sun_path));
  strcpy(addr.sun_path, path);
  assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  source_refused(path, "socket");
  /* and a link to it is not followed at all */
  const char *link = make_symlink(s, "sock-link", "agent.sock");
  source_refused(link, "symbolic link");
  close(fd);
}

static void test_source_missing(void **state) {
  scratch *s = *state;
  char missing[PATH_MAX];
  snprintf(missing, sizeof(missing), "%s/nope", s->dir);
  char *resolved = NULL;
  airlock_error *err = NULL;
  assert_int_equal(al_resolve_mount_source("workspace", missing, &resolved, &err), -1);
  assert_null(resolved);
  assert_non_null(err);
  assert_int_equal(err->errnum, ENOENT);
  assert_non_null(strstr(err->msg, "workspace"));
  assert_non_null(strstr(err->msg, missing));
  airlock_error_free(&err);
  /* a dangling symlink is refused the same way */
  const char *dangling = make_symlink(s, "dangling", missing);
  source_refused(dangling, NULL);
}

static void test_source_ordinary_dir(void **state) {
  scratch *s = *state;
  char canon[PATH_MAX];
  assert_non_null(realpath(s->dir, canon));
  source_accepted(s->dir, canon);

  const char *sub = make_dir(s, "sub");
  char want_sub[PATH_MAX + 32];
  snprintf(want_sub, sizeof(want_sub), "%s/sub", canon);
  source_accepted(sub, want_sub);

  /* non-canonical spellings come back canonical */
  char messy[PATH_MAX];
  snprintf(messy, sizeof(messy), "%s/./sub/../sub//", s->dir);
  source_accepted(messy, want_sub);
  const char *link = make_symlink(s, "to-sub", "sub");
  source_refused(link, "symbolic link");

  /* a name that merely contains a credential name is fine */
  const char *lookalike = make_dir(s, "my.ssh.notes");
  char want_look[PATH_MAX + 32];
  snprintf(want_look, sizeof(want_look), "%s/my.ssh.notes", canon);
  source_accepted(lookalike, want_look);

  /* a regular file can be bound */
  const char *file = track(s, "file.txt");
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fclose(f);
  char want_file[PATH_MAX + 32];
  snprintf(want_file, sizeof(want_file), "%s/file.txt", canon);
  source_accepted(file, want_file);
}

/* Writable sources: never a directory of root's or of a system uid, never
 * below a system tree, unless explicitly allowed; read-only is fine. */
static int check_writable(const char *path, bool writable, bool allow, char **msg) {
  al_host_path hp;
  airlock_error *err = NULL;
  int r = al_host_path_open("workspace", path, -1, &hp, &err);
  if (r == 0)
    r = al_check_mount_source("workspace", path, &hp, writable, allow, &err);
  al_host_path_close(&hp);
  *msg = err ? strdup(err->msg) : NULL;
  airlock_error_free(&err);
  return r;
}

static void test_source_writable_owner(void **state) {
  scratch *s = *state;
  const char *dir = make_dir(s, "proj");
  char *msg = NULL;
  struct stat st;
  assert_int_equal(stat(dir, &st), 0);
  if (st.st_uid < 1000) { /* root running the suite: its own directory */
    assert_int_equal(check_writable(dir, true, false, &msg), -1);
    assert_non_null(strstr(msg, "owned by"));
    assert_non_null(strstr(msg, "--allow-writable-system-dir"));
    free(msg);
    assert_int_equal(check_writable(dir, false, false, &msg), 0); /* read-only */
    assert_int_equal(check_writable(dir, true, true, &msg), 0);   /* allowed by name */
    if (geteuid() == 0) {
      assert_int_equal(chown(dir, 1000, 1000), 0);
      assert_int_equal(check_writable(dir, true, false, &msg), 0); /* a user's */
      assert_int_equal(chown(dir, 999, 999), 0);
      assert_int_equal(check_writable(dir, true, false, &msg), -1); /* a system user's */
      assert_non_null(strstr(msg, "system user (uid 999)"));
      free(msg);
    }
  } else {
    assert_int_equal(check_writable(dir, true, false, &msg), 0);
  }
  /* a system tree, read-write, even when its owner were fine */
  if (stat("/usr/share", &st) == 0) {
    assert_int_equal(check_writable("/usr/share", true, false, &msg), -1);
    assert_non_null(msg);
    free(msg);
    assert_int_equal(check_writable("/usr/share", false, false, &msg), 0);
  }
}

/* --- al_check_mount_target ------------------------------------------------ */

static void test_target_refused(void **state) {
  (void)state;
  target_refused(NULL, "absolute");
  target_refused("", "absolute");
  target_refused("data", "absolute");
  target_refused("./data", "absolute");
  target_refused("/", "root");
  target_refused("/usr", "system path /usr");
  target_refused("/usr/lib/x", "system path /usr");
  target_refused("/etc", "system path /etc");
  target_refused("/proc/x", "system path /proc");
  target_refused("/dev", "system path /dev");
  target_refused("/lib64", "system path /lib64");
  target_refused("/bin", "/bin");
  target_refused("/sys/fs", "/sys");
  target_refused("/run", "/run");
  target_refused("/a/../b", "'/a/../b'");
  target_refused("/a/./b", "'/a/./b'");
  target_refused("/a/..", "'/a/..'");
  target_refused("/.", "'/.'");
  target_refused("/..", "'/..'");
  target_refused("//a", "'//a'");
  target_refused("/a//b", "'/a//b'");
  target_refused("/a/", "'/a/'");
  target_refused("/usr/", NULL);

  /* overly long target */
  size_t n = PATH_MAX;
  char *longp = malloc(n + 1);
  assert_non_null(longp);
  for (size_t i = 0; i < n; i++)
    longp[i] = (i % 8 == 0) ? '/' : 'a';
  longp[n] = '\0';
  target_refused(longp, "too long");
  free(longp);
}

static void test_target_accepted(void **state) {
  (void)state;
  target_accepted("/data");
  target_accepted("/workspace/sub");
  target_accepted("/opt/tools");
  target_accepted("/mnt/x");
  /* names that only start like a system path */
  target_accepted("/usrdata");
  target_accepted("/etcetera");
  target_accepted("/lib64x");
  /* dots inside names are fine */
  target_accepted("/data/.cache");
  target_accepted("/data/..hidden");
  target_accepted("/a.b/c.");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_source_writable_owner, setup_scratch, teardown_scratch),
      cmocka_unit_test(test_source_system_paths),
      cmocka_unit_test_setup_teardown(test_source_symlink_to_etc, setup_scratch, teardown_scratch),
      cmocka_unit_test_setup_teardown(test_source_home_with_credentials, setup_scratch, teardown_scratch),
      cmocka_unit_test_setup_teardown(test_source_credential_component, setup_scratch, teardown_scratch),
      cmocka_unit_test(test_source_shared_roots_and_homes),
      cmocka_unit_test_setup_teardown(test_source_socket, setup_scratch, teardown_scratch),
      cmocka_unit_test_setup_teardown(test_source_missing, setup_scratch, teardown_scratch),
      cmocka_unit_test_setup_teardown(test_source_ordinary_dir, setup_scratch, teardown_scratch),
      cmocka_unit_test(test_target_refused),
      cmocka_unit_test(test_target_accepted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
