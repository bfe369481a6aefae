/* SPDX-License-Identifier: Apache-2.0 */
/* test_secrets.c - the secret store (secrets.c): round trips, what list
 * shows, and every way a value must fail to come back (another key, a row
 * moved to another name, a flipped byte, a key file others can read), key
 * rotation as another handle sees it, each
 * test in a fresh mkdtemp state directory with CREDENTIALS_DIRECTORY unset. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "secrets.h"

typedef struct {
  char dir[64];
  char path[128];
} fixture;

static int setup_dir(void **state) {
  fixture *f = calloc(1, sizeof(*f));
  if (f == NULL)
    return -1;
  strcpy(f->dir, "/tmp/airlock-ut-sec-XXXXXX");
  if (mkdtemp(f->dir) == NULL) {
    free(f);
    return -1;
  }
  unsetenv("CREDENTIALS_DIRECTORY");
  *state = f;
  return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static int teardown_dir(void **state) {
  fixture *f = *state;
  unsetenv("CREDENTIALS_DIRECTORY");
  nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(f);
  return 0;
}

static const char *in_dir(fixture *f, const char *name) {
  snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
  return f->path;
}

static al_secrets *open_store(fixture *f) {
  airlock_error *err = NULL;
  al_secrets *s = NULL;
  int rc = al_secrets_open(f->dir, true, &s, &err);
  if (rc < 0)
    fail_msg("open: %s", err->msg);
  return s;
}

static void set_ok(al_secrets *s, const char *name, const void *v, size_t len) {
  airlock_error *err = NULL;
  if (al_secrets_set(s, name, v, len, &err) < 0)
    fail_msg("set %s: %s", name, err->msg);
}

/* get that must fail; returns the message (malloc'd) */
static char *get_fails(al_secrets *s, const char *name) {
  airlock_error *err = NULL;
  unsigned char *v = NULL;
  size_t len = 0;
  assert_int_equal(al_secrets_get(s, name, &v, &len, &err), -1);
  assert_null(v);
  assert_non_null(err);
  char *msg = strdup(err->msg);
  airlock_error_free(&err);
  return msg;
}

static void get_equals(al_secrets *s, const char *name, const void *want, size_t want_len) {
  airlock_error *err = NULL;
  unsigned char *v = NULL;
  size_t len = 0;
  if (al_secrets_get(s, name, &v, &len, &err) < 0)
    fail_msg("get %s: %s", name, err->msg);
  assert_int_equal(len, want_len);
  assert_memory_equal(v, want, want_len);
  al_secret_free(v, len);
}

/* the whole file, malloc'd (NULL and *len 0 when it is missing) */
static unsigned char *slurp(const char *path, size_t *len) {
  *len = 0;
  FILE *fp = fopen(path, "rb");
  if (fp == NULL)
    return NULL;
  unsigned char *buf = NULL;
  size_t cap = 0, n = 0, got;
  do {
    if (n == cap) {
      cap = cap ? cap * 2 : 65536;
      buf = realloc(buf, cap);
      assert_non_null(buf);
    }
    got = fread(buf + n, 1, cap - n, fp);
    n += got;
  } while (got > 0);
  fclose(fp);
  *len = n;
  return buf;
}

static void write_key(const char *path, unsigned char fill, mode_t mode) {
  unsigned char key[AL_SECRET_KEY_BYTES];
  memset(key, fill, sizeof(key));
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, key, sizeof(key)), sizeof(key));
  assert_int_equal(fchmod(fd, mode), 0);
  close(fd);
}

/* --- tests --------------------------------------------------------------- */

static void test_round_trip(void **state) {
  fixture *f = *state;
  al_secrets *s = open_store(f);
  set_ok(s, "api.key", "hunter2", 7);
  get_equals(s, "api.key", "hunter2", 7);

  unsigned char bin[256];
  for (int i = 0; i < 256; i++)
    bin[i] = (unsigned char)i; /* NUL, newline, high bytes */
  set_ok(s, "binary_1", bin, sizeof(bin));
  get_equals(s, "binary_1", bin, sizeof(bin));

  unsigned char *big = malloc(AL_SECRET_VALUE_MAX);
  assert_non_null(big);
  for (size_t i = 0; i < AL_SECRET_VALUE_MAX; i++)
    big[i] = (unsigned char)(i * 131 + 7);
  set_ok(s, "big", big, AL_SECRET_VALUE_MAX);
  get_equals(s, "big", big, AL_SECRET_VALUE_MAX);

  airlock_error *err = NULL;
  assert_int_equal(al_secrets_set(s, "too-big", big, AL_SECRET_VALUE_MAX + 1, &err), -1);
  assert_non_null(strstr(err->msg, "64 KiB"));
  airlock_error_free(&err);
  free(big);

  /* replace: new value, and it survives reopening */
  set_ok(s, "api.key", "hunter3", 7);
  al_secrets_close(s);
  s = open_store(f);
  get_equals(s, "api.key", "hunter3", 7);
  char *msg = get_fails(s, "nope");
  assert_non_null(strstr(msg, "no secret named 'nope'"));
  free(msg);
  al_secrets_close(s);

  struct stat st;
  assert_int_equal(stat(in_dir(f, "master.key"), &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_int_equal(st.st_size, AL_SECRET_KEY_BYTES);
  assert_int_equal(stat(in_dir(f, "secrets.db"), &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_bad_names(void **state) {
  fixture *f = *state;
  al_secrets *s = open_store(f);
  const char *bad[] = {"",  "a/b", "a b",
                       "ä", "x\n", "0123456789012345678901234567890123456789012345678901234567890123X"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    airlock_error *err = NULL;
    assert_false(al_secret_name_valid(bad[i]));
    assert_int_equal(al_secrets_set(s, bad[i], "v", 1, &err), -1);
    assert_non_null(strstr(err->msg, "invalid secret name"));
    airlock_error_free(&err);
  }
  assert_true(al_secret_name_valid("0123456789012345678901234567890123456789012345678901234567890123"));
  al_secrets_close(s);
}

static void test_list_and_rm(void **state) {
  fixture *f = *state;
  al_secrets *s = open_store(f);
  set_ok(s, "b", "value-b", 7);
  set_ok(s, "a", "value-a", 7);
  al_secret_info *list = NULL;
  size_t n = 0;
  airlock_error *err = NULL;
  assert_int_equal(al_secrets_list(s, &list, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(list[0].name, "a");
  assert_string_equal(list[1].name, "b");
  assert_true(list[0].created_at > 0 && list[0].updated_at >= list[0].created_at);
  /* an info holds a name and times only: no field can carry a value */
  assert_int_equal(sizeof(al_secret_info), sizeof(list[0].name) + 7 + 2 * sizeof(int64_t));
  free(list);

  assert_int_equal(al_secrets_rm(s, "a", &err), 0);
  assert_int_equal(al_secrets_rm(s, "a", &err), -1);
  assert_int_equal(err->errnum, ENOENT);
  assert_string_equal(err->msg, "no secret named 'a'");
  airlock_error_free(&err);
  char *msg = get_fails(s, "a");
  free(msg);
  assert_int_equal(al_secrets_list(s, &list, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(list[0].name, "b");
  free(list);
  al_secrets_close(s);
}

static void test_wrong_key(void **state) {
  fixture *f = *state;
  al_secrets *s = open_store(f);
  set_ok(s, "k", "the value", 9);
  al_secrets_close(s);
  write_key(in_dir(f, "master.key"), 0x42, 0600); /* another key */
  s = open_store(f);
  char *msg = get_fails(s, "k");
  assert_non_null(strstr(msg, "secret 'k' cannot be decrypted"));
  assert_non_null(strstr(msg, "master.key"));
  assert_null(strstr(msg, "the value"));
  free(msg);
  al_secrets_close(s);
}

static void test_moved_ciphertext(void **state) {
  fixture *f = *state;
  al_secrets *s = open_store(f);
  set_ok(s, "alice", "alice's value", 13);
  set_ok(s, "bob", "bob's value!!", 13);
  al_secrets_close(s);

  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(in_dir(f, "secrets.db"), &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db,
                                "UPDATE secrets SET (nonce, ciphertext) ="
                                " (SELECT nonce, ciphertext FROM secrets WHERE name = 'alice') WHERE name = 'bob'",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_changes(db), 1);
  sqlite3_close(db);

  s = open_store(f);
  get_equals(s, "alice", "alice's value", 13);
  char *msg = get_fails(s, "bob");
  assert_non_null(strstr(msg, "cannot be decrypted"));
  free(msg);
  al_secrets_close(s);
}

static void test_flipped_byte(void **state) {
  fixture *f = *state;
  al_secrets *s = open_store(f);
  set_ok(s, "k", "some value", 10);
  al_secrets_close(s);

  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(in_dir(f, "secrets.db"), &db), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT ciphertext FROM secrets WHERE name = 'k'", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int len = sqlite3_column_bytes(st, 0);
  unsigned char ct[64];
  assert_true(len > 0 && len <= (int)sizeof(ct));
  memcpy(ct, sqlite3_column_blob(st, 0), (size_t)len);
  sqlite3_finalize(st);
  ct[3] ^= 0x01;
  assert_int_equal(sqlite3_prepare_v2(db, "UPDATE secrets SET ciphertext = ?1 WHERE name = 'k'", -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_blob(st, 1, ct, len, SQLITE_STATIC);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(db);

  s = open_store(f);
  char *msg = get_fails(s, "k");
  assert_non_null(strstr(msg, "cannot be decrypted"));
  free(msg);
  al_secrets_close(s);
}

static void test_key_mode_refused(void **state) {
  fixture *f = *state;
  write_key(in_dir(f, "master.key"), 0x11, 0644);
  al_secrets *s = open_store(f);
  airlock_error *err = NULL;
  assert_int_equal(al_secrets_set(s, "k", "v", 1, &err), -1);
  assert_non_null(strstr(err->msg, "master.key has mode 0644"));
  assert_non_null(strstr(err->msg, f->dir));
  airlock_error_free(&err);

  /* a key of the wrong size is refused too */
  write_key(in_dir(f, "master.key"), 0x11, 0600);
  assert_int_equal(truncate(in_dir(f, "master.key"), 16), 0);
  assert_int_equal(al_secrets_set(s, "k", "v", 1, &err), -1);
  assert_non_null(strstr(err->msg, "is 16 bytes, not 32"));
  airlock_error_free(&err);
  al_secrets_close(s);
}

/* root only: a key file of another user (uid 65534) is refused */
static void test_key_owner_refused(void **state) {
  fixture *f = *state;
  if (geteuid() != 0)
    skip();
  write_key(in_dir(f, "master.key"), 0x11, 0600);
  assert_int_equal(chown(in_dir(f, "master.key"), 65534, 65534), 0);
  al_secrets *s = open_store(f);
  airlock_error *err = NULL;
  assert_int_equal(al_secrets_set(s, "k", "v", 1, &err), -1);
  assert_non_null(strstr(err->msg, "is owned by uid 65534"));
  assert_non_null(strstr(err->msg, "master.key"));
  airlock_error_free(&err);
  al_secrets_close(s);
}

static void test_missing_key_with_secrets(void **state) {
  fixture *f = *state;
  al_secrets *s = open_store(f);
  set_ok(s, "k", "v", 1);
  al_secrets_close(s);
  assert_int_equal(unlink(in_dir(f, "master.key")), 0);
  s = open_store(f);
  airlock_error *err = NULL;
  assert_int_equal(al_secrets_set(s, "k2", "v", 1, &err), -1);
  assert_non_null(strstr(err->msg, "is missing but"));
  airlock_error_free(&err);
  char *msg = get_fails(s, "k");
  assert_non_null(strstr(msg, "master.key"));
  free(msg);
  al_secrets_close(s);
  assert_int_equal(access(in_dir(f, "master.key"), F_OK), -1);
}

static void test_credentials_directory(void **state) {
  fixture *f = *state;
  char creds[128];
  snprintf(creds, sizeof(creds), "%s/creds", f->dir);
  assert_int_equal(mkdir(creds, 0700), 0);
  char cred_key[160];
  snprintf(cred_key, sizeof(cred_key), "%s/airlock-master-key", creds);
  write_key(cred_key, 0x77, 0400);
  write_key(in_dir(f, "master.key"), 0x99, 0600); /* present, but not the one used */

  setenv("CREDENTIALS_DIRECTORY", creds, 1);
  al_secrets *s = open_store(f);
  set_ok(s, "k", "via credentials", 15);
  get_equals(s, "k", "via credentials", 15);
  al_secrets_close(s);

  unsetenv("CREDENTIALS_DIRECTORY"); /* master.key is another key */
  s = open_store(f);
  char *msg = get_fails(s, "k");
  assert_non_null(strstr(msg, "cannot be decrypted"));
  free(msg);
  al_secrets_close(s);

  /* CREDENTIALS_DIRECTORY set without the credential: no fallback, no new file */
  char empty[128];
  snprintf(empty, sizeof(empty), "%s/empty", f->dir);
  assert_int_equal(mkdir(empty, 0700), 0);
  setenv("CREDENTIALS_DIRECTORY", empty, 1);
  s = open_store(f);
  airlock_error *err = NULL;
  assert_int_equal(al_secrets_set(s, "k2", "v", 1, &err), -1);
  assert_non_null(strstr(err->msg, "airlock-master-key"));
  assert_non_null(strstr(err->msg, "CREDENTIALS_DIRECTORY"));
  airlock_error_free(&err);
  al_secrets_close(s);
}

static bool contains(const unsigned char *hay, size_t n, const char *needle) {
  return hay != NULL && memmem(hay, n, needle, strlen(needle)) != NULL;
}

static void test_value_not_in_files(void **state) {
  fixture *f = *state;
  const char *value = "PLAINTEXT-CANARY-d41d8cd98f00b204";
  al_secrets *s = open_store(f);
  set_ok(s, "canary", value, strlen(value));
  /* while the handle is open (WAL file present) and after close */
  for (int round = 0; round < 2; round++) {
    const char *files[] = {"secrets.db", "secrets.db-wal", "secrets.db-shm", "master.key"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
      size_t len = 0;
      unsigned char *bytes = slurp(in_dir(f, files[i]), &len);
      assert_false(contains(bytes, len, value));
      assert_false(contains(bytes, len, "CANARY"));
      if (i == 0 && round == 1)
        assert_true(contains(bytes, len, "canary")); /* the name is there: the search works */
      free(bytes);
    }
    if (round == 0)
      al_secrets_close(s);
  }
}

/* a handle that read the old key keeps working after another handle
 * rotated: get reads row and key again, set seals with the store's key */
static void test_rotation_seen_by_open_handle(void **state) {
  fixture *f = *state;
  al_secrets *a = open_store(f);
  set_ok(a, "one", "first", 5);
  get_equals(a, "one", "first", 5); /* a holds the old key now */
  size_t old_len = 0;
  unsigned char *old_key = slurp(in_dir(f, "master.key"), &old_len);
  al_secrets *b = open_store(f);
  airlock_error *err = NULL;
  size_t n = 0;
  if (al_secrets_rotate_key(b, &n, &err) < 0)
    fail_msg("rotate: %s", err->msg);
  assert_int_equal(n, 1);
  al_secrets_close(b);
  size_t new_len = 0;
  unsigned char *new_key = slurp(in_dir(f, "master.key"), &new_len);
  assert_int_equal(new_len, AL_SECRET_KEY_BYTES);
  assert_memory_not_equal(old_key, new_key, AL_SECRET_KEY_BYTES);
  assert_int_equal(access(in_dir(f, "master.key.old"), F_OK), -1);
  get_equals(a, "one", "first", 5);
  set_ok(a, "two", "second", 6); /* not under the old key */
  al_secrets_close(a);
  al_secrets *c = open_store(f);
  get_equals(c, "two", "second", 6);
  al_secrets_close(c);
  free(old_key);
  free(new_key);
}

/* every secret removed and master.key replaced: the new key is the store's */
static void test_emptied_store_takes_a_new_key(void **state) {
  fixture *f = *state;
  al_secrets *s = open_store(f);
  set_ok(s, "k", "v1", 2);
  airlock_error *err = NULL;
  assert_int_equal(al_secrets_rm(s, "k", &err), 0);
  al_secrets_close(s);
  write_key(in_dir(f, "master.key"), 0x42, 0600);
  s = open_store(f);
  set_ok(s, "k", "v2", 2);
  get_equals(s, "k", "v2", 2);
  al_secrets_close(s);
}

/* a master.key.old that no rotation of this store made is left alone, and
 * rotate-key refuses while it is there */
static void test_foreign_old_key_file(void **state) {
  fixture *f = *state;
  al_secrets *s = open_store(f);
  set_ok(s, "k", "value", 5);
  al_secrets_close(s);
  write_key(in_dir(f, "master.key.old"), 0x77, 0600);
  s = open_store(f);
  get_equals(s, "k", "value", 5);
  assert_int_equal(access(in_dir(f, "master.key.old"), F_OK), 0);
  airlock_error *err = NULL;
  size_t n = 0;
  assert_int_equal(al_secrets_rotate_key(s, &n, &err), -1);
  assert_non_null(strstr(err->msg, "master.key.old exists"));
  airlock_error_free(&err);
  get_equals(s, "k", "value", 5);
  al_secrets_close(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_round_trip, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_bad_names, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_list_and_rm, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_wrong_key, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_moved_ciphertext, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_flipped_byte, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_key_mode_refused, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_key_owner_refused, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_missing_key_with_secrets, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_credentials_directory, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_value_not_in_files, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_rotation_seen_by_open_handle, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_emptied_store_takes_a_new_key, setup_dir, teardown_dir),
      cmocka_unit_test_setup_teardown(test_foreign_old_key_file, setup_dir, teardown_dir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
