/* SPDX-License-Identifier: Apache-2.0 */
/* test_tokens.c - the node's token store (tokens.c) and state directory
 * checks (statedir.c), each test in a fresh mkdtemp state directory. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "statedir.h"
#include "tokens.h"

/* --- fixture: a private state directory, removed afterwards --------------- */

typedef struct {
  char dir[64];
  char db[128];
} fixture;

static int setup_dir(void **state) {
  fixture *f = calloc(1, sizeof(*f));
  if (f == NULL)
    return -1;
  strcpy(f->dir, "/tmp/airlock-ut-tok-XXXXXX");
  if (mkdtemp(f->dir) == NULL) {
    free(f);
    return -1;
  }
  snprintf(f->db, sizeof(f->db), "%s/tokens.db", f->dir);
  *state = f;
  return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static int teardown_dir(void **state) {
  fixture *f = *state;
  chmod(f->dir, 0700);
  nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(f);
  return 0;
}

static al_token_store *open_store(const fixture *f) {
  al_token_store *s = NULL;
  airlock_error *err = NULL;
  if (al_token_store_open(f->dir, true, &s, &err) < 0)
    print_error("al_token_store_open(%s): %s\n", f->dir, err ? err->msg : "(no error)");
  assert_null(err);
  assert_non_null(s);
  return s;
}

static char *create_ok(al_token_store *s, const char *name, const al_token_limits *limits) {
  char *token = NULL;
  airlock_error *err = NULL;
  if (al_token_create(s, name, limits, &token, &err) < 0)
    print_error("al_token_create(%s): %s\n", name, err ? err->msg : "(no error)");
  assert_null(err);
  assert_non_null(token);
  return token;
}

/* Expect failure with an error message that contains want. */
static void expect_error(int rc, airlock_error **err, const char *want) {
  assert_int_equal(rc, -1);
  assert_non_null(*err);
  assert_non_null((*err)->msg);
  if (strstr((*err)->msg, want) == NULL)
    print_error("error '%s' does not mention '%s'\n", (*err)->msg, want);
  assert_non_null(strstr((*err)->msg, want));
  airlock_error_free(err);
}

static void revoke_ok(al_token_store *s, const char *name) {
  airlock_error *err = NULL;
  if (al_token_revoke(s, name, &err) < 0)
    print_error("al_token_revoke(%s): %s\n", name, err ? err->msg : "(no error)");
  assert_null(err);
}

/* --- create / list / verify / revoke ------------------------------------- */

static void assert_token_shape(const char *token) {
  assert_int_equal(strlen(token), AL_TOKEN_LEN);
  assert_int_equal(AL_TOKEN_LEN, 52);
  assert_memory_equal(token, "node_tok_", 9);
  for (const char *p = token + 9; *p; p++)
    assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
}

static void test_round_trip(void **state) {
  fixture *f = *state;
  al_token_store *s = open_store(f);
  time_t before = time(NULL);
  al_token_limits lim = {
      .max_concurrent_execs = 4, .max_memory_bytes = 512LL << 20, .max_timeout_ms = 30000, .max_cpus = 1.5};
  char *alice = create_ok(s, "alice", &lim);
  char *bob = create_ok(s, "bob", NULL);
  assert_token_shape(alice);
  assert_token_shape(bob);
  assert_string_not_equal(alice, bob);

  al_token_info *list = NULL;
  size_t n = 0;
  airlock_error *err = NULL;
  assert_int_equal(al_token_list(s, &list, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_string_equal(list[0].name, "alice");
  assert_string_equal(list[1].name, "bob");
  assert_true(list[0].created_at >= before && list[0].created_at <= time(NULL));
  assert_int_equal(list[0].revoked_at, 0);
  assert_int_equal(list[0].limits.max_concurrent_execs, 4);
  assert_int_equal(list[0].limits.max_memory_bytes, 512LL << 20);
  assert_int_equal(list[0].limits.max_timeout_ms, 30000);
  assert_true(list[0].limits.max_cpus == 1.5);
  assert_int_equal(list[1].limits.max_concurrent_execs, 0);
  assert_int_equal(list[1].limits.max_memory_bytes, 0);
  assert_int_equal(list[1].limits.max_timeout_ms, 0);
  assert_true(list[1].limits.max_cpus == 0);
  free(list);

  al_token_info who;
  memset(&who, 0xaa, sizeof(who));
  assert_int_equal(al_token_verify(s, alice, &who), 1);
  assert_string_equal(who.name, "alice");
  assert_int_equal(who.revoked_at, 0);
  assert_int_equal(who.limits.max_concurrent_execs, 4);
  assert_int_equal(who.limits.max_memory_bytes, 512LL << 20);
  assert_true(who.limits.max_cpus == 1.5);
  assert_int_equal(al_token_verify(s, bob, &who), 1);
  assert_string_equal(who.name, "bob");
  assert_int_equal(al_token_verify(s, bob, NULL), 1);

  revoke_ok(s, "alice");
  assert_int_equal(al_token_verify(s, alice, &who), 0);
  assert_int_equal(al_token_verify(s, bob, &who), 1);

  assert_int_equal(al_token_list(s, &list, &n, &err), 0);
  assert_int_equal(n, 2);
  assert_true(list[0].revoked_at >= before);
  assert_int_equal(list[1].revoked_at, 0);
  free(list);

  /* reopening changes nothing */
  al_token_store_close(s);
  s = open_store(f);
  assert_int_equal(al_token_verify(s, alice, NULL), 0);
  assert_int_equal(al_token_verify(s, bob, NULL), 1);
  al_token_store_close(s);
  free(alice);
  free(bob);
}

static void test_list_empty(void **state) {
  fixture *f = *state;
  al_token_store *s = open_store(f);
  al_token_info *list = (al_token_info *)1;
  size_t n = 99;
  airlock_error *err = NULL;
  assert_int_equal(al_token_list(s, &list, &n, &err), 0);
  assert_int_equal(n, 0);
  assert_null(list);
  al_token_store_close(s);
}

static void test_verify_refuses_malformed(void **state) {
  fixture *f = *state;
  al_token_store *s = open_store(f);
  char *good = create_ok(s, "t1", NULL);
  assert_int_equal(al_token_verify(s, good, NULL), 1);
  char buf[256];

  assert_int_equal(al_token_verify(s, NULL, NULL), 0);
  assert_int_equal(al_token_verify(s, "", NULL), 0);
  assert_int_equal(al_token_verify(s, "node_tok_", NULL), 0);
  /* wrong prefix, same length */
  snprintf(buf, sizeof(buf), "NODE_TOK_%s", good + 9);
  assert_int_equal(al_token_verify(s, buf, NULL), 0);
  snprintf(buf, sizeof(buf), "node_tak_%s", good + 9);
  assert_int_equal(al_token_verify(s, buf, NULL), 0);
  snprintf(buf, sizeof(buf), "xnode_tok%s", good + 9);
  assert_int_equal(al_token_verify(s, buf, NULL), 0);
  /* the random part alone, or under a different prefix */
  assert_int_equal(al_token_verify(s, good + 9, NULL), 0);
  snprintf(buf, sizeof(buf), "Bearer %s", good);
  assert_int_equal(al_token_verify(s, buf, NULL), 0);
  /* too short, too long */
  snprintf(buf, sizeof(buf), "%.*s", (int)AL_TOKEN_LEN - 1, good);
  assert_int_equal(al_token_verify(s, buf, NULL), 0);
  snprintf(buf, sizeof(buf), "%sA", good);
  assert_int_equal(al_token_verify(s, buf, NULL), 0);
  snprintf(buf, sizeof(buf), "%s\n", good);
  assert_int_equal(al_token_verify(s, buf, NULL), 0);
  snprintf(buf, sizeof(buf), "%s ", good);
  assert_int_equal(al_token_verify(s, buf, NULL), 0);
  /* one character outside base64url, at either end and in the middle */
  const char bad_chars[] = {'+', '/', '=', ' ', '.', '~', '\t', '\x7f', (char)0xc3};
  const size_t places[] = {9, 30, AL_TOKEN_LEN - 1};
  for (size_t i = 0; i < sizeof(bad_chars); i++) {
    for (size_t j = 0; j < 3; j++) {
      snprintf(buf, sizeof(buf), "%s", good);
      buf[places[j]] = bad_chars[i];
      assert_int_equal(al_token_verify(s, buf, NULL), 0);
    }
  }
  /* well formed but unknown: one valid character changed */
  snprintf(buf, sizeof(buf), "%s", good);
  buf[20] = buf[20] == 'A' ? 'B' : 'A';
  assert_int_equal(al_token_verify(s, buf, NULL), 0);
  /* the real one still works after all that */
  assert_int_equal(al_token_verify(s, good, NULL), 1);
  al_token_store_close(s);
  free(good);
}

static void test_duplicate_names_refused(void **state) {
  fixture *f = *state;
  al_token_store *s = open_store(f);
  char *t = create_ok(s, "alice", NULL);
  char *again = (char *)"unchanged";
  airlock_error *err = NULL;
  expect_error(al_token_create(s, "alice", NULL, &again, &err), &err, "'alice'");
  assert_null(again);
  revoke_ok(s, "alice");
  /* names are never reused, even after a revoke */
  expect_error(al_token_create(s, "alice", NULL, &again, &err), &err, "'alice' already exists (revoked");
  assert_null(again);
  /* the failed attempts left nothing behind and no transaction open */
  al_token_info *list = NULL;
  size_t n = 0;
  assert_int_equal(al_token_list(s, &list, &n, &err), 0);
  assert_int_equal(n, 1);
  free(list);
  char *other = create_ok(s, "alice2", NULL);
  assert_int_equal(al_token_verify(s, other, NULL), 1);
  al_token_store_close(s);
  free(t);
  free(other);
}

static void test_bad_names_refused(void **state) {
  fixture *f = *state;
  al_token_store *s = open_store(f);
  char name65[66], name64[65];
  memset(name65, 'x', 65);
  name65[65] = '\0';
  memset(name64, 'y', 64);
  name64[64] = '\0';
  const char *bad[] = {"",           "a b",    "a/b",      "../x",  "x:y", "tab\there", "new\nline", "caf\xc3\xa9",
                       "semi;colon", "quo'te", "per%cent", "star*", name65};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_false(al_token_name_valid(bad[i]));
    char *token = NULL;
    airlock_error *err = NULL;
    expect_error(al_token_create(s, bad[i], NULL, &token, &err), &err, "invalid token name");
    assert_null(token);
  }
  assert_false(al_token_name_valid(NULL));
  char *token = NULL;
  airlock_error *err = NULL;
  expect_error(al_token_create(s, NULL, NULL, &token, &err), &err, "invalid token name");

  const char *good[] = {"a", "A.b_c-9", "-leading-dash", "...", name64};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    assert_true(al_token_name_valid(good[i]));
    free(create_ok(s, good[i], NULL));
  }
  al_token_info *list = NULL;
  size_t n = 0;
  assert_int_equal(al_token_list(s, &list, &n, &err), 0);
  assert_int_equal(n, 5);
  free(list);
  al_token_store_close(s);
}

static void test_bad_limits_refused(void **state) {
  fixture *f = *state;
  al_token_store *s = open_store(f);
  const al_token_limits bad[] = {
      {.max_concurrent_execs = -1}, {.max_memory_bytes = -1}, {.max_timeout_ms = -5}, {.max_cpus = -0.5}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char *token = NULL;
    airlock_error *err = NULL;
    expect_error(al_token_create(s, "x", &bad[i], &token, &err), &err, "negative");
    assert_null(token);
  }
  al_token_store_close(s);
}

static void test_revoke_errors(void **state) {
  fixture *f = *state;
  al_token_store *s = open_store(f);
  airlock_error *err = NULL;
  expect_error(al_token_revoke(s, "nobody", &err), &err, "no token named 'nobody'");
  free(create_ok(s, "once", NULL));
  revoke_ok(s, "once");
  expect_error(al_token_revoke(s, "once", &err), &err, "'once' is already revoked");
  expect_error(al_token_revoke(s, "bad/name", &err), &err, "invalid token name");
  al_token_store_close(s);
}

/* --- two handles, and a writer in the middle of a transaction ------------- */

static void test_second_handle_sees_revoke(void **state) {
  fixture *f = *state;
  al_token_store *cli = open_store(f);
  al_token_store *node = open_store(f);
  char *t = create_ok(cli, "tenant", NULL);
  assert_int_equal(al_token_verify(node, t, NULL), 1);
  assert_int_equal(al_token_verify(node, t, NULL), 1);
  revoke_ok(cli, "tenant");
  assert_int_equal(al_token_verify(node, t, NULL), 0);
  /* and a token made after the node's first lookups is seen at once too */
  char *t2 = create_ok(cli, "tenant2", NULL);
  assert_int_equal(al_token_verify(node, t2, NULL), 1);
  al_token_store_close(cli);
  al_token_store_close(node);
  free(t);
  free(t2);
}

static void test_verify_not_blocked_by_writer(void **state) {
  fixture *f = *state;
  al_token_store *s = open_store(f);
  char *t = create_ok(s, "w", NULL);
  sqlite3 *raw = NULL;
  assert_int_equal(sqlite3_open(f->db, &raw), SQLITE_OK);
  assert_int_equal(
      sqlite3_exec(raw, "BEGIN IMMEDIATE; UPDATE tokens SET revoked_at = 1 WHERE name = 'w'", NULL, NULL, NULL),
      SQLITE_OK);
  /* WAL: the reader neither waits nor sees the uncommitted revoke */
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  assert_int_equal(al_token_verify(s, t, NULL), 1);
  clock_gettime(CLOCK_MONOTONIC, &b);
  assert_true((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 500);
  assert_int_equal(sqlite3_exec(raw, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(al_token_verify(s, t, NULL), 0);
  sqlite3_close(raw);
  al_token_store_close(s);
  free(t);
}

/* --- what is on disk ------------------------------------------------------ */

static char *read_all(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (fp == NULL)
    return NULL;
  char *buf = NULL;
  size_t cap = 0;
  *len = 0;
  for (;;) {
    if (cap - *len < 65536) {
      cap = cap ? cap * 2 : 65536;
      buf = realloc(buf, cap);
      assert_non_null(buf);
    }
    size_t n = fread(buf + *len, 1, cap - *len, fp);
    *len += n;
    if (n == 0)
      break;
  }
  fclose(fp);
  return buf;
}

static void sha256_hex(const char *text, char hex[65]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  assert_int_equal(EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL), 1);
  assert_int_equal(len, 32);
  for (unsigned i = 0; i < len; i++)
    sprintf(hex + 2 * i, "%02x", md[i]);
}

/* Search every file of the state dir (database, -wal, -shm) for each
 * token's text; the hash must be there (proof the search reads the right
 * bytes), the token and its random part must not. */
static void assert_no_token_text(const fixture *f, char **tokens, size_t n_tokens) {
  const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
  bool hash_seen[8] = {false};
  for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
    char path[160];
    snprintf(path, sizeof(path), "%s%s", f->db, suffixes[i]);
    struct stat st;
    if (stat(path, &st) < 0)
      continue;
    if ((st.st_mode & 07777) != 0600)
      print_error("%s has mode %04o\n", path, (unsigned)(st.st_mode & 07777));
    assert_int_equal(st.st_mode & 07777, 0600);
    size_t len = 0;
    char *bytes = read_all(path, &len);
    assert_non_null(bytes);
    for (size_t t = 0; t < n_tokens; t++) {
      assert_null(memmem(bytes, len, tokens[t], strlen(tokens[t])));
      assert_null(memmem(bytes, len, tokens[t] + 9, strlen(tokens[t]) - 9));
      assert_null(memmem(bytes, len, tokens[t] + 9, 16)); /* not even a piece */
      char hex[65];
      sha256_hex(tokens[t], hex);
      if (memmem(bytes, len, hex, 64) != NULL)
        hash_seen[t] = true;
    }
    free(bytes);
  }
  for (size_t t = 0; t < n_tokens; t++)
    assert_true(hash_seen[t]);
}

static void test_db_file_private_and_hash_only(void **state) {
  fixture *f = *state;
  umask(0); /* the file must be 0600 whatever the umask */
  al_token_store *s = open_store(f);
  umask(022);
  char *tokens[3];
  tokens[0] = create_ok(s, "one", NULL);
  tokens[1] = create_ok(s, "two", NULL);
  tokens[2] = create_ok(s, "three", NULL);
  revoke_ok(s, "two");
  struct stat st;
  assert_int_equal(stat(f->db, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_no_token_text(f, tokens, 3); /* while open: rows may still be in the WAL */
  al_token_store_close(s);
  assert_no_token_text(f, tokens, 3); /* after the checkpoint on close */
  assert_int_equal(stat(f->db, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  for (int i = 0; i < 3; i++)
    free(tokens[i]);
}

static void test_db_group_readable_refused(void **state) {
  fixture *f = *state;
  al_token_store_close(open_store(f));
  const mode_t bad[] = {0640, 0604, 0660, 0666};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(chmod(f->db, bad[i]), 0);
    for (int create = 0; create < 2; create++) {
      al_token_store *s = NULL;
      airlock_error *err = NULL;
      int rc = al_token_store_open(f->dir, create, &s, &err);
      char want[16];
      snprintf(want, sizeof(want), "mode %04o", (unsigned)bad[i]);
      assert_null(s);
      assert_non_null(err);
      assert_non_null(strstr(err->msg, f->db));
      expect_error(rc, &err, want);
    }
  }
  /* and the store never loosens or repairs the mode itself */
  struct stat st;
  assert_int_equal(stat(f->db, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0666);
}

static void test_db_symlink_refused(void **state) {
  fixture *f = *state;
  char target[128];
  snprintf(target, sizeof(target), "%s/real.db", f->dir);
  int fd = open(target, O_CREAT | O_WRONLY, 0600);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(symlink(target, f->db), 0);
  al_token_store *s = NULL;
  airlock_error *err = NULL;
  expect_error(al_token_store_open(f->dir, true, &s, &err), &err, f->db);
  assert_null(s);
}

static void test_not_a_database_refused(void **state) {
  fixture *f = *state;
  int fd = open(f->db, O_CREAT | O_WRONLY, 0600);
  assert_true(fd >= 0);
  char junk[4096];
  memset(junk, 'j', sizeof(junk));
  assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
  close(fd);
  al_token_store *s = NULL;
  airlock_error *err = NULL;
  expect_error(al_token_store_open(f->dir, true, &s, &err), &err, "token database");
  assert_null(s);
}

/* --- the state directory -------------------------------------------------- */

static void test_state_dir_mode_refused(void **state) {
  fixture *f = *state;
  const mode_t bad[] = {0755, 0750, 0705, 0710, 0701, 0777, 01777};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(chmod(f->dir, bad[i]), 0);
    char want[16];
    snprintf(want, sizeof(want), "mode %04o", (unsigned)bad[i]);
    airlock_error *err = NULL;
    int rc = al_state_dir_prepare(f->dir, true, &err);
    assert_non_null(err);
    assert_non_null(strstr(err->msg, f->dir));
    expect_error(rc, &err, want);
    al_token_store *s = NULL;
    rc = al_token_store_open(f->dir, true, &s, &err);
    assert_null(s);
    assert_non_null(err);
    assert_non_null(strstr(err->msg, f->dir));
    expect_error(rc, &err, want);
    /* refused before anything was created in it */
    assert_int_equal(access(f->db, F_OK), -1);
  }
  struct stat st;
  assert_int_equal(stat(f->dir, &st), 0);
  assert_int_equal(st.st_mode & 07777, 01777); /* not "fixed" behind our back */
  assert_int_equal(chmod(f->dir, 0700), 0);
  airlock_error *err = NULL;
  assert_int_equal(al_state_dir_prepare(f->dir, false, &err), 0);
  assert_null(err);
}

static void test_state_dir_create(void **state) {
  fixture *f = *state;
  char sub[160];
  snprintf(sub, sizeof(sub), "%s/a/b/state", f->dir);
  airlock_error *err = NULL;
  /* missing and not asked to create: ENOENT, nothing made */
  assert_int_equal(al_state_dir_prepare(sub, false, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->errnum, ENOENT);
  airlock_error_free(&err);
  al_token_store *s = NULL;
  assert_int_equal(al_token_store_open(sub, false, &s, &err), -1);
  assert_int_equal(err->errnum, ENOENT);
  airlock_error_free(&err);
  assert_int_equal(access(sub, F_OK), -1);

  umask(0);
  int rc = al_state_dir_prepare(sub, true, &err);
  umask(022);
  assert_int_equal(rc, 0);
  struct stat st;
  assert_int_equal(stat(sub, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0700);
  snprintf(sub, sizeof(sub), "%s/a", f->dir);
  assert_int_equal(stat(sub, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0700);
  /* again: already there is fine */
  snprintf(sub, sizeof(sub), "%s/a/b/state", f->dir);
  assert_int_equal(al_state_dir_prepare(sub, true, &err), 0);
  /* a store in it, missing database and no create: ENOENT, nothing made */
  assert_int_equal(al_token_store_open(sub, false, &s, &err), -1);
  assert_int_equal(err->errnum, ENOENT);
  airlock_error_free(&err);
  char db[200];
  snprintf(db, sizeof(db), "%s/tokens.db", sub);
  assert_int_equal(access(db, F_OK), -1);
}

static void test_state_dir_not_a_dir(void **state) {
  fixture *f = *state;
  char file[160];
  snprintf(file, sizeof(file), "%s/file", f->dir);
  int fd = open(file, O_CREAT | O_WRONLY, 0600);
  assert_true(fd >= 0);
  close(fd);
  airlock_error *err = NULL;
  expect_error(al_state_dir_prepare(file, false, &err), &err, file);
  expect_error(al_state_dir_prepare(file, true, &err), &err, "Not a directory");
  expect_error(al_state_dir_prepare("", true, &err), &err, "empty");
}

static void test_state_dir_wrong_owner(void **state) {
  fixture *f = *state;
  if (geteuid() != 0)
    skip(); /* only root can give a directory away */
  assert_int_equal(chown(f->dir, 65534, 65534), 0);
  airlock_error *err = NULL;
  expect_error(al_state_dir_prepare(f->dir, true, &err), &err, "owned by uid 65534");
  al_token_store *s = NULL;
  expect_error(al_token_store_open(f->dir, true, &s, &err), &err, f->dir);
  assert_int_equal(chown(f->dir, 0, 0), 0);
}

static void test_default_state_dir(void **state) {
  (void)state;
  char *saved_xdg = getenv("XDG_STATE_HOME") ? strdup(getenv("XDG_STATE_HOME")) : NULL;
  char *saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
  setenv("XDG_STATE_HOME", "/xdg/state", 1);
  setenv("HOME", "/home/someone", 1);
  char *dir = al_default_state_dir();
  assert_non_null(dir);
  if (geteuid() == 0) {
    assert_string_equal(dir, "/var/lib/airlock");
  } else {
    assert_string_equal(dir, "/xdg/state/airlock");
    free(dir);
    setenv("XDG_STATE_HOME", "relative/ignored", 1);
    dir = al_default_state_dir();
    assert_string_equal(dir, "/home/someone/.local/state/airlock");
    free(dir);
    unsetenv("XDG_STATE_HOME");
    dir = al_default_state_dir();
    assert_string_equal(dir, "/home/someone/.local/state/airlock");
    free(dir);
    unsetenv("HOME");
    dir = al_default_state_dir();
    assert_null(dir);
  }
  free(dir);
  if (saved_xdg)
    setenv("XDG_STATE_HOME", saved_xdg, 1);
  else
    unsetenv("XDG_STATE_HOME");
  if (saved_home)
    setenv("HOME", saved_home, 1);
  else
    unsetenv("HOME");
  free(saved_xdg);
  free(saved_home);
}

/* --- cost of a verify: the node does one per request ---------------------- */

static double ns_since(const struct timespec *a) {
  struct timespec b;
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (double)(b.tv_sec - a->tv_sec) * 1e9 + (double)(b.tv_nsec - a->tv_nsec);
}

static void test_verify_cost(void **state) {
  fixture *f = *state;
  al_token_store *s = open_store(f);
  char *tokens[100];
  char name[16];
  for (int i = 0; i < 100; i++) {
    snprintf(name, sizeof(name), "t%d", i);
    tokens[i] = create_ok(s, name, NULL);
  }
  char unknown[AL_TOKEN_LEN + 1];
  snprintf(unknown, sizeof(unknown), "%s", tokens[0]);
  unknown[20] = unknown[20] == 'A' ? 'B' : 'A';
  const int rounds = 20000;
  al_token_info who;
  for (int i = 0; i < 1000; i++)
    assert_int_equal(al_token_verify(s, tokens[i % 100], &who), 1);

  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < rounds; i++)
    if (al_token_verify(s, tokens[i % 100], &who) != 1)
      fail();
  double known_ns = ns_since(&t0) / rounds;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < rounds; i++)
    if (al_token_verify(s, unknown, &who) != 0)
      fail();
  double unknown_ns = ns_since(&t0) / rounds;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < rounds; i++)
    if (al_token_verify(s, "node_tok_short", &who) != 0)
      fail();
  double malformed_ns = ns_since(&t0) / rounds;
  print_message("al_token_verify: %.2f us known, %.2f us unknown, %.3f us malformed (%d calls each, 100 tokens)\n",
                known_ns / 1000, unknown_ns / 1000, malformed_ns / 1000, rounds);
  /* the target is well under 50 us; the bound here leaves room for
   * sanitizer builds and loaded machines */
  assert_true(known_ns < 1e6);
  al_token_store_close(s);
  for (int i = 0; i < 100; i++)
    free(tokens[i]);
}

/* a hash from al_token_hash() verifies like the token itself, and stops
 * verifying when the token is revoked (the web UI's sessions rely on it) */
static void test_verify_by_hash(void **state) {
  fixture *f = *state;
  al_token_store *s = open_store(f);
  char *alice = create_ok(s, "alice", NULL);
  char hex[AL_TOKEN_HASH_HEX_LEN + 1];
  assert_int_equal(al_token_hash(s, alice, hex), 1);
  assert_int_equal(strlen(hex), AL_TOKEN_HASH_HEX_LEN);
  assert_int_equal(strspn(hex, "0123456789abcdef"), AL_TOKEN_HASH_HEX_LEN);
  al_token_info who;
  assert_int_equal(al_token_verify_hash(s, hex, &who), 1);
  assert_string_equal(who.name, "alice");
  assert_int_equal(al_token_hash(s, "node_tok_short", hex), 0);
  assert_int_equal(al_token_hash(s, NULL, hex), 0);
  assert_int_equal(al_token_verify_hash(s, "abc", NULL), 0);
  assert_int_equal(al_token_verify_hash(s, NULL, NULL), 0);
  assert_int_equal(al_token_verify_hash(NULL, hex, NULL), -1);
  assert_int_equal(al_token_hash(s, alice, hex), 1);
  revoke_ok(s, "alice");
  assert_int_equal(al_token_verify_hash(s, hex, NULL), 0);
  al_token_store_close(s);
  free(alice);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_dir, teardown_dir)
  const struct CMUnitTest tests[] = {
      T(test_round_trip),
      T(test_list_empty),
      T(test_verify_refuses_malformed),
      T(test_verify_by_hash),
      T(test_duplicate_names_refused),
      T(test_bad_names_refused),
      T(test_bad_limits_refused),
      T(test_revoke_errors),
      T(test_second_handle_sees_revoke),
      T(test_verify_not_blocked_by_writer),
      T(test_db_file_private_and_hash_only),
      T(test_db_group_readable_refused),
      T(test_db_symlink_refused),
      T(test_not_a_database_refused),
      T(test_state_dir_mode_refused),
      T(test_state_dir_create),
      T(test_state_dir_not_a_dir),
      T(test_state_dir_wrong_owner),
      cmocka_unit_test(test_default_state_dir),
      T(test_verify_cost),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}
