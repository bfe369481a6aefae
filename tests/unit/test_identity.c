/* SPDX-License-Identifier: Apache-2.0 */
/* test_identity.c - the sandbox uid range and its leases (identity.c): the
 * range from subuid/subgid or the default, refusals, one uid per lease,
 * reuse only after every holder let go, a lease surviving its launcher
 * (a node restart) while the sandbox's init still holds it. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "identity.h"

typedef struct {
  char dir[64];
  char lock[128], subuid[128], subgid[128], passwd[128];
} files;

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int setup(void **state) {
  files *f = calloc(1, sizeof(*f));
  if (f == NULL)
    return -1;
  strcpy(f->dir, "/tmp/airlock-ut-id-XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  snprintf(f->lock, sizeof(f->lock), "%s/run/ids.lock", f->dir);
  snprintf(f->subuid, sizeof(f->subuid), "%s/subuid", f->dir);
  snprintf(f->subgid, sizeof(f->subgid), "%s/subgid", f->dir);
  snprintf(f->passwd, sizeof(f->passwd), "%s/passwd", f->dir);
  write_file(f->passwd, "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n");
  *state = f;
  return 0;
}

static int teardown(void **state) {
  files *f = *state;
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
  int rc = system(cmd);
  free(f);
  return rc == 0 ? 0 : -1;
}

static void range_default_without_entries(void **state) {
  files *f = *state;
  write_file(f->subuid, "alice:100000:65536\n");
  write_file(f->subgid, "alice:100000:65536\n");
  al_id_range r;
  airlock_error *err = NULL;
  assert_int_equal(al_id_range_load(f->subuid, f->subgid, f->passwd, &r, &err), 0);
  assert_false(r.from_subid);
  assert_int_equal(r.uid_start, AL_ID_RANGE_DEFAULT_START);
  assert_int_equal(r.count, AL_ID_RANGE_DEFAULT_COUNT);
}

static void range_from_subid(void **state) {
  files *f = *state;
  write_file(f->subuid, "alice:100000:65536\nairlock:300000:1000\n");
  write_file(f->subgid, "airlock:400000:500\n");
  al_id_range r;
  airlock_error *err = NULL;
  assert_int_equal(al_id_range_load(f->subuid, f->subgid, f->passwd, &r, &err), 0);
  assert_true(r.from_subid);
  assert_int_equal(r.uid_start, 300000);
  assert_int_equal(r.gid_start, 400000);
  assert_int_equal(r.count, 500); /* the smaller of the two */
}

static void range_refusals(void **state) {
  files *f = *state;
  al_id_range r;
  airlock_error *err = NULL;
  /* low ids: system and regular users, nobody */
  write_file(f->subuid, "airlock:1000:10\n");
  write_file(f->subgid, "airlock:100000:10\n");
  assert_int_equal(al_id_range_load(f->subuid, f->subgid, f->passwd, &r, &err), -1);
  assert_non_null(strstr(err->msg, "between 65536"));
  airlock_error_free(&err);
  /* a user's uid inside the range */
  write_file(f->subuid, "airlock:100000:10\n");
  write_file(f->passwd, "bob:x:100005:100005::/home/bob:/bin/sh\n");
  assert_int_equal(al_id_range_load(f->subuid, f->subgid, f->passwd, &r, &err), -1);
  assert_non_null(strstr(err->msg, "'bob'"));
  airlock_error_free(&err);
  /* empty, and past the top */
  write_file(f->subuid, "airlock:100000:0\n");
  assert_int_equal(al_id_range_load(f->subuid, f->subgid, NULL, &r, &err), -1);
  airlock_error_free(&err);
  write_file(f->subuid, "airlock:4294967290:100\n");
  write_file(f->subgid, "airlock:4294967290:100\n");
  assert_int_equal(al_id_range_load(f->subuid, f->subgid, NULL, &r, &err), -1);
  airlock_error_free(&err);
}

static void leases_distinct_until_full(void **state) {
  files *f = *state;
  al_id_range r = {200000, 300000, 3, false};
  al_id_lease l[4];
  airlock_error *err = NULL;
  bool seen[3] = {false, false, false};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(al_id_lease_take(f->lock, &r, &l[i], &err), 0);
    assert_true(l[i].uid >= 200000 && l[i].uid < 200003);
    assert_int_equal(l[i].gid - 300000, l[i].uid - 200000); /* the same slot of both ranges */
    assert_false(seen[l[i].uid - 200000]);
    seen[l[i].uid - 200000] = true;
  }
  assert_int_equal(al_id_lease_take(f->lock, &r, &l[3], &err), -1);
  assert_int_equal(err->errnum, EBUSY);
  assert_int_equal(l[3].lock_fd, -1);
  airlock_error_free(&err);
  /* released: that uid, and only it, is free again */
  uid_t freed = l[1].uid;
  al_id_lease_release(&l[1]);
  assert_int_equal(l[1].lock_fd, -1);
  assert_int_equal(al_id_lease_take(f->lock, &r, &l[3], &err), 0);
  assert_int_equal(l[3].uid, freed);
  al_id_lease_release(&l[0]);
  al_id_lease_release(&l[2]);
  al_id_lease_release(&l[3]);
  struct stat st;
  assert_int_equal(stat(f->lock, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
}

/* The sandbox's init inherits the lease: the launcher (or a whole node) may
 * go away and come back; the uid stays taken until init is gone too. */
static void lease_outlives_its_launcher(void **state) {
  files *f = *state;
  al_id_range r = {200000, 300000, 1, false};
  airlock_error *err = NULL;
  al_id_lease l;
  assert_int_equal(al_id_lease_take(f->lock, &r, &l, &err), 0);
  int go[2];
  assert_int_equal(pipe(go), 0);
  pid_t init = fork();
  if (init == 0) { /* "init": holds the inherited descriptor until told */
    close(go[1]);
    char b;
    ssize_t n = read(go[0], &b, 1);
    _exit(n < 0);
  }
  close(go[0]);
  al_id_lease_release(&l);  /* the launcher lets go (the node stops) */
  pid_t restarted = fork(); /* a new node process tries to lease */
  if (restarted == 0) {
    al_id_lease again;
    airlock_error *e = NULL;
    _exit(al_id_lease_take(f->lock, &r, &again, &e) == -1 && e->errnum == EBUSY ? 0 : 1);
  }
  int st;
  assert_int_equal(waitpid(restarted, &st, 0), restarted);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  close(go[1]); /* the sandbox ends */
  assert_int_equal(waitpid(init, &st, 0), init);
  assert_int_equal(al_id_lease_take(f->lock, &r, &l, &err), 0);
  assert_int_equal(l.uid, 200000);
  al_id_lease_release(&l);
}

static void lock_file_refused_when_others_may_write(void **state) {
  files *f = *state;
  al_id_range r = {200000, 300000, 2, false};
  airlock_error *err = NULL;
  al_id_lease l;
  assert_int_equal(al_id_lease_take(f->lock, &r, &l, &err), 0);
  al_id_lease_release(&l);
  assert_int_equal(chmod(f->lock, 0666), 0);
  assert_int_equal(al_id_lease_take(f->lock, &r, &l, &err), -1);
  assert_non_null(strstr(err->msg, "only root may write"));
  airlock_error_free(&err);
  char link[160];
  snprintf(link, sizeof(link), "%s/link.lock", f->dir);
  assert_int_equal(symlink(f->lock, link), 0);
  assert_int_equal(al_id_lease_take(link, &r, &l, &err), -1); /* never through a symlink */
  airlock_error_free(&err);
}

int main(void) {
  if (geteuid() != 0) {
    printf("test_identity: the lock file must be root's; skipped when not root\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(range_default_without_entries, setup, teardown),
      cmocka_unit_test_setup_teardown(range_from_subid, setup, teardown),
      cmocka_unit_test_setup_teardown(range_refusals, setup, teardown),
      cmocka_unit_test_setup_teardown(leases_distinct_until_full, setup, teardown),
      cmocka_unit_test_setup_teardown(lease_outlives_its_launcher, setup, teardown),
      cmocka_unit_test_setup_teardown(lock_file_refused_when_others_may_write, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
