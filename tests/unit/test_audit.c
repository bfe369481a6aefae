/* SPDX-License-Identifier: Apache-2.0 */
/* test_audit.c - the audit trail (audit.c): appends and every query filter,
 * verification of an intact chain, and each kind of tampering done to the
 * database with SQLite directly (edit, delete, insert, swap, truncation
 * with and without a rewritten head file, a moved prune anchor), retention,
 * and the writer thread.  Each test uses a fresh mkdtemp state directory. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "audit.h"

typedef struct {
  char dir[64];
  char db[128];
  char head[128];
  al_audit *a;
} fixture;

static int setup_dir(void **state) {
  fixture *f = calloc(1, sizeof(*f));
  if (f == NULL)
    return -1;
  strcpy(f->dir, "/tmp/airlock-ut-audit-XXXXXX");
  if (mkdtemp(f->dir) == NULL) {
    free(f);
    return -1;
  }
  snprintf(f->db, sizeof(f->db), "%s/audit.db", f->dir);
  snprintf(f->head, sizeof(f->head), "%s/audit.head", f->dir);
  *state = f;
  return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static int teardown_dir(void **state) {
  fixture *f = *state;
  al_audit_close(f->a);
  nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(f);
  return 0;
}

static void check_ok(int rc, airlock_error **err, const char *what) {
  if (rc < 0)
    print_error("%s: %s\n", what, *err ? (*err)->msg : "(no error)");
  assert_int_equal(rc, 0);
  assert_null(*err);
}

static al_audit *open_audit(fixture *f) {
  airlock_error *err = NULL;
  al_audit_close(f->a);
  f->a = NULL;
  check_ok(al_audit_open(f->dir, true, &f->a, &err), &err, "al_audit_open");
  return f->a;
}

/* one record shaped like the node's; i picks tenant, decision and exit */
static json_t *record(int i, int64_t ts_ms) {
  static const char *const tenants[] = {"alice", "bob", "carol"};
  static const char *const decisions[] = {"allow", "deny", "approval_required", "approved"};
  json_t *rec =
      json_pack("{s:s, s:s, s:s, s:[s, s, s], s:[s], s:s, s:i, s:i}", "kind", i % 2 ? "exec.result" : "exec.request",
                "tenant", tenants[i % 3], "exec_id", "ex_1234", "argv", "sh", "-c",
                i % 5 == 0 ? "rm -rf /tmp/x" : "make test", "actions", i % 5 == 0 ? "file_delete" : "code_exec",
                "decision", decisions[i % 4], "exit_code", i % 7, "duration_ms", 10 + i);
  assert_non_null(rec);
  if (ts_ms > 0)
    json_object_set_new(rec, "ts_ms", json_integer(ts_ms));
  return rec;
}

static void append_n(fixture *f, int n, int64_t base_ts) {
  airlock_error *err = NULL;
  for (int i = 1; i <= n; i++) {
    json_t *rec = record(i, base_ts ? base_ts + i : 0);
    check_ok(al_audit_append(f->a, rec, &err), &err, "al_audit_append");
    json_decref(rec);
  }
}

/* SQL straight on the file, as an attacker with write access would */
__attribute__((format(printf, 2, 3))) static void sql(fixture *f, const char *fmt, ...) {
  char *q = NULL;
  va_list ap;
  va_start(ap, fmt);
  assert_true(vasprintf(&q, fmt, ap) >= 0);
  va_end(ap);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
  char *msg = NULL;
  if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK)
    fail_msg("%s: %s", q, msg);
  sqlite3_close(db);
  free(q);
}

static void stored_hash(fixture *f, int seq, char out[65]) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT hash FROM records WHERE seq = ?1", -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int(st, 1, seq);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  snprintf(out, 65, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* the chain's definition, computed here independently of audit.c */
static void chain_hash(const char *prev, int seq, const char *body, char out[65]) {
  char *pre = NULL;
  int n = asprintf(&pre, "%s%d%s", prev, seq, body);
  assert_true(n > 0);
  unsigned char md[32];
  unsigned int len = 0;
  assert_int_equal(EVP_Digest(pre, (size_t)n, md, &len, EVP_sha256(), NULL), 1);
  for (unsigned i = 0; i < len; i++)
    sprintf(out + 2 * i, "%02x", md[i]);
  free(pre);
}

static char *stored_body(fixture *f, int seq) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT body FROM records WHERE seq = ?1", -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int(st, 1, seq);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  char *body = strdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return body;
}

static void write_head(fixture *f, int seq, const char *hash) {
  FILE *fp = fopen(f->head, "w");
  assert_non_null(fp);
  fprintf(fp, "%d:%s\n", seq, hash);
  fclose(fp);
}

static int verify(fixture *f, al_audit_verify_result *r) {
  airlock_error *err = NULL;
  int rc = al_audit_verify(f->a, r, &err);
  if (rc < 0)
    fail_msg("al_audit_verify: %s", err ? err->msg : "?");
  return rc;
}

static void expect_tampered(fixture *f, al_audit_problem kind, uint64_t bad_seq) {
  al_audit_verify_result r;
  int rc = verify(f, &r);
  if (rc != 1 || r.kind != kind || r.bad_seq != bad_seq)
    fail_msg("verify: rc %d kind %d bad_seq %llu (%s); wanted 1, kind %d, bad_seq %llu", rc, (int)r.kind,
             (unsigned long long)r.bad_seq, r.problem, (int)kind, (unsigned long long)bad_seq);
  char want[32];
  snprintf(want, sizeof(want), "record %llu", (unsigned long long)bad_seq);
  if (bad_seq > 0 && strstr(r.problem, want) == NULL)
    fail_msg("the problem does not name %s: %s", want, r.problem);
}

/* --- appending and querying -------------------------------------------------- */

typedef struct {
  int n;
  int64_t seqs[64];
} collected;

static int collect(json_t *rec, void *ud) {
  collected *c = ud;
  if (c->n < 64)
    c->seqs[c->n] = json_integer_value(json_object_get(rec, "seq"));
  c->n++;
  return 0;
}

static collected query(fixture *f, al_audit_filter filt) {
  collected c = {0};
  airlock_error *err = NULL;
  check_ok(al_audit_query(f->a, &filt, collect, &c, &err), &err, "al_audit_query");
  return c;
}

static void test_append_and_filters(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 20, 1000000);

  assert_int_equal(query(f, (al_audit_filter){0}).n, 20);
  collected c = query(f, (al_audit_filter){.since_ms = 1000000 + 5, .until_ms = 1000000 + 10});
  assert_int_equal(c.n, 5);
  assert_int_equal(c.seqs[0], 5);
  assert_int_equal(c.seqs[4], 9);
  assert_int_equal(query(f, (al_audit_filter){.tenant = "alice"}).n, 6); /* i % 3 == 0: 3, 6, ..., 18 */
  assert_int_equal(query(f, (al_audit_filter){.tenant = "nobody"}).n, 0);
  c = query(f, (al_audit_filter){.action = "file_delete"});
  assert_int_equal(c.n, 4); /* 5, 10, 15, 20 */
  assert_int_equal(c.seqs[0], 5);
  assert_int_equal(query(f, (al_audit_filter){.action = "file"}).n, 0); /* whole elements only */
  assert_int_equal(query(f, (al_audit_filter){.decision = "deny"}).n, 5);
  assert_int_equal(query(f, (al_audit_filter){.kind = "exec.result"}).n, 10);
  assert_int_equal(query(f, (al_audit_filter){.has_exit = true, .exit_code = 0}).n, 2); /* 7, 14 */
  assert_int_equal(query(f, (al_audit_filter){.has_exit = true, .exit_code = 6}).n, 3); /* 6, 13, 20 */
  assert_int_equal(query(f, (al_audit_filter){.text = "RM -RF"}).n, 4);                 /* case-insensitive */
  assert_int_equal(query(f, (al_audit_filter){.text = "%"}).n, 0);                      /* a literal % */
  assert_int_equal(query(f, (al_audit_filter){.text = "ex_12_4"}).n, 0);                /* a literal _ */
  assert_int_equal(query(f, (al_audit_filter){.text = "ex_1234"}).n, 20);
  c = query(f, (al_audit_filter){.limit = 3, .newest_first = true});
  assert_int_equal(c.n, 3);
  assert_int_equal(c.seqs[0], 20);
  assert_int_equal(c.seqs[2], 18);
  c = query(f, (al_audit_filter){.limit = 2});
  assert_int_equal(c.seqs[1], 2);
  /* conditions combine */
  c = query(f, (al_audit_filter){.kind = "exec.result", .action = "file_delete", .decision = "approved"});
  assert_int_equal(c.n, 1);
  assert_int_equal(c.seqs[0], 15);

  /* the text filter matches the JSON as written: a quote is \" there */
  airlock_error *err = NULL;
  json_t *rec = json_pack("{s:s, s:[s, s]}", "kind", "exec.request", "argv", "echo", "say \"50%\" now");
  check_ok(al_audit_append(f->a, rec, &err), &err, "append");
  assert_int_equal(json_integer_value(json_object_get(rec, "seq")), 21);
  assert_true(json_integer_value(json_object_get(rec, "ts_ms")) > 1700000000000);
  json_decref(rec);
  assert_int_equal(query(f, (al_audit_filter){.text = "say \"50%\""}).n, 1);
  assert_int_equal(query(f, (al_audit_filter){.text = "%"}).n, 1);
}

static void test_append_refuses_bad_records(void **state) {
  fixture *f = *state;
  open_audit(f);
  airlock_error *err = NULL;
  json_t *good = record(1, 0), *nokind = json_pack("{s:s}", "tenant", "x"), *arr = json_array();
  json_t *badts = json_pack("{s:s, s:s}", "kind", "exec.request", "ts_ms", "yesterday");
  json_t *recs[] = {good, nokind};
  assert_int_equal(al_audit_append_many(f->a, recs, 2, &err), -1);
  assert_non_null(strstr(err->msg, "kind"));
  airlock_error_free(&err);
  assert_int_equal(al_audit_append(f->a, arr, &err), -1);
  airlock_error_free(&err);
  assert_int_equal(al_audit_append(f->a, badts, &err), -1);
  assert_non_null(strstr(err->msg, "ts_ms"));
  airlock_error_free(&err);
  /* all or nothing: the good record of the failed batch is not there */
  assert_int_equal(query(f, (al_audit_filter){0}).n, 0);
  check_ok(al_audit_append(f->a, good, &err), &err, "append");
  assert_int_equal(json_integer_value(json_object_get(good, "seq")), 1);
  json_decref(good);
  json_decref(nokind);
  json_decref(arr);
  json_decref(badts);
}

static void test_open_checks(void **state) {
  fixture *f = *state;
  airlock_error *err = NULL;
  al_audit *a = NULL;
  assert_int_equal(al_audit_open(f->dir, false, &a, &err), -1);
  assert_int_equal(err->errnum, ENOENT);
  airlock_error_free(&err);
  open_audit(f);
  struct stat st;
  assert_int_equal(stat(f->db, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(stat(f->head, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  uint64_t seq = 99;
  char hash[65];
  assert_int_equal(al_audit_read_head_file(f->dir, &seq, hash, &err), 1);
  assert_int_equal(seq, 0);
  chmod(f->db, 0644);
  assert_int_equal(al_audit_open(f->dir, false, &a, &err), -1);
  assert_non_null(strstr(err->msg, "mode 0644"));
  airlock_error_free(&err);
  chmod(f->db, 0600);
  chmod(f->dir, 0755);
  assert_int_equal(al_audit_open(f->dir, false, &a, &err), -1);
  airlock_error_free(&err);
  chmod(f->dir, 0700);
}

/* --- verification ------------------------------------------------------------- */

static void test_verify_intact(void **state) {
  fixture *f = *state;
  open_audit(f);
  al_audit_verify_result r;
  assert_int_equal(verify(f, &r), 0); /* empty */
  assert_int_equal(r.checked, 0);
  append_n(f, 10, 0);
  assert_int_equal(verify(f, &r), 0);
  assert_int_equal(r.kind, AL_AUDIT_INTACT);
  assert_int_equal(r.checked, 10);
  assert_int_equal(r.first_seq, 1);
  assert_int_equal(r.last_seq, 10);
  assert_int_equal(r.head_file_seq, 10);
  uint64_t seq;
  char hash[65], h10[65];
  airlock_error *err = NULL;
  check_ok(al_audit_head(f->a, &seq, hash, &err), &err, "head");
  assert_int_equal(seq, 10);
  assert_string_equal(hash, r.head_hash);
  stored_hash(f, 10, h10);
  assert_string_equal(hash, h10);
  /* an expected head anywhere in the chain */
  char h4[65];
  stored_hash(f, 4, h4);
  assert_int_equal(al_audit_verify_expect(f->a, 4, h4, &r, &err), 0);
  h4[0] = h4[0] == 'a' ? 'b' : 'a';
  assert_int_equal(al_audit_verify_expect(f->a, 4, h4, &r, &err), 1);
  assert_int_equal(r.kind, AL_AUDIT_HEAD_MISMATCH);
  assert_int_equal(r.bad_seq, 4);
}

/* the chain is plain SHA-256 over text: recompute it by hand */
static void test_hash_definition(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 2, 0);
  char want[65], got[65];
  char *b1 = stored_body(f, 1), *b2 = stored_body(f, 2);
  chain_hash("0000000000000000000000000000000000000000000000000000000000000000", 1, b1, want);
  stored_hash(f, 1, got);
  assert_string_equal(got, want);
  chain_hash(got, 2, b2, want);
  stored_hash(f, 2, got);
  assert_string_equal(got, want);
  /* canonical: sorted keys, no spaces, seq and ts_ms inside */
  assert_non_null(strstr(b1, "{\"actions\":[\"code_exec\"],\"argv\":"));
  assert_non_null(strstr(b1, ",\"seq\":1,"));
  assert_non_null(strstr(b1, "\"ts_ms\":"));
  free(b1);
  free(b2);
}

static void test_tamper_edit_body(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 10, 0);
  sql(f, "UPDATE records SET body = replace(body, 'make test', 'make tesT') WHERE seq = 4");
  expect_tampered(f, AL_AUDIT_HASH_MISMATCH, 4);
}

/* an attacker who also recomputes the edited record's hash breaks the link
 * to the next one */
static void test_tamper_edit_body_and_hash(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 10, 0);
  sql(f, "UPDATE records SET body = replace(body, '\"deny\"', '\"allow\"'), decision = 'allow' WHERE seq = 5");
  char h4[65], h5[65];
  stored_hash(f, 4, h4);
  char *b5 = stored_body(f, 5);
  assert_non_null(strstr(b5, "\"allow\""));
  chain_hash(h4, 5, b5, h5);
  free(b5);
  sql(f, "UPDATE records SET hash = '%s' WHERE seq = 5", h5);
  expect_tampered(f, AL_AUDIT_HASH_MISMATCH, 6);
}

static void test_tamper_delete_middle(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 10, 0);
  sql(f, "DELETE FROM records WHERE seq = 5");
  expect_tampered(f, AL_AUDIT_MISSING, 5);
  sql(f, "DELETE FROM records WHERE seq IN (6, 7)");
  expect_tampered(f, AL_AUDIT_MISSING, 5);
}

static void test_tamper_insert(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 10, 0);
  /* a forged record after the last one */
  sql(f,
      "INSERT INTO records (seq, ts_ms, kind, body, hash) VALUES (11, 1, 'exec.request',"
      " '{\"kind\":\"exec.request\",\"seq\":11,\"ts_ms\":1}', '%064d')",
      0);
  expect_tampered(f, AL_AUDIT_HASH_MISMATCH, 11);
  sql(f, "DELETE FROM records WHERE seq = 11");
  /* one slipped in at 6, the later ones shifted up */
  sql(f,
      "UPDATE records SET seq = -seq WHERE seq >= 6; UPDATE records SET seq = 1 - seq WHERE seq < 0;"
      "INSERT INTO records (seq, ts_ms, kind, body, hash) VALUES (6, 1, 'exec.request',"
      " '{\"kind\":\"exec.request\",\"seq\":6,\"ts_ms\":1}', '%064d')",
      0);
  expect_tampered(f, AL_AUDIT_HASH_MISMATCH, 6);
  /* and chained properly to record 5: the shifted record 7 gives it away */
  char h5[65], h6[65];
  stored_hash(f, 5, h5);
  chain_hash(h5, 6, "{\"kind\":\"exec.request\",\"seq\":6,\"ts_ms\":1}", h6);
  sql(f, "UPDATE records SET hash = '%s' WHERE seq = 6", h6);
  expect_tampered(f, AL_AUDIT_SEQ_MISMATCH, 7);
}

static void test_tamper_insert_before_start(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 3, 0);
  sql(f, "INSERT INTO records (seq, ts_ms, kind, body, hash) VALUES (0, 1, 'x', '{\"seq\":0}', '%064d')", 0);
  expect_tampered(f, AL_AUDIT_INSERTED, 0);
}

static void test_tamper_swap_bodies(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 10, 0);
  /* bodies and hashes of 3 and 7 exchanged */
  sql(f, "CREATE TEMP TABLE t AS SELECT * FROM records WHERE seq IN (3, 7);"
         "UPDATE records SET body = (SELECT body FROM t WHERE seq = 10 - records.seq),"
         " hash = (SELECT hash FROM t WHERE seq = 10 - records.seq) WHERE seq IN (3, 7)");
  expect_tampered(f, AL_AUDIT_SEQ_MISMATCH, 3);
}

static void test_tamper_swap_seqs(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 10, 0);
  sql(f, "UPDATE records SET seq = -3 WHERE seq = 3; UPDATE records SET seq = 3 WHERE seq = 7;"
         "UPDATE records SET seq = 7 WHERE seq = -3");
  expect_tampered(f, AL_AUDIT_SEQ_MISMATCH, 3);
}

/* a record hidden from --tenant queries by editing only its column */
static void test_tamper_column(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 10, 0);
  sql(f, "UPDATE records SET tenant = 'nobody' WHERE seq = 8");
  expect_tampered(f, AL_AUDIT_COLUMNS, 8);
  sql(f, "UPDATE records SET tenant = (SELECT json_extract(body, '$.tenant')) WHERE seq = 8;"
         "UPDATE records SET actions = NULL WHERE seq = 9");
  expect_tampered(f, AL_AUDIT_COLUMNS, 9);
}

static void test_tamper_truncate_tail(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 10, 0);
  char h8[65], h10[65];
  stored_hash(f, 8, h8);
  stored_hash(f, 10, h10);
  sql(f, "DELETE FROM records WHERE seq > 8");
  expect_tampered(f, AL_AUDIT_TRUNCATED, 9);

  /* with audit.head rewritten too, only a head kept elsewhere shows it */
  write_head(f, 8, h8);
  al_audit_verify_result r;
  assert_int_equal(verify(f, &r), 0);
  airlock_error *err = NULL;
  assert_int_equal(al_audit_verify_expect(f->a, 10, h10, &r, &err), 1);
  assert_int_equal(r.kind, AL_AUDIT_TRUNCATED);
  assert_int_equal(r.bad_seq, 9);
  assert_non_null(strstr(r.problem, "record 9"));
}

static void test_tamper_rewrite_last(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 10, 0);
  /* the newest record replaced by a well-chained forgery: the head file
   * still has the real hash */
  sql(f, "DELETE FROM records WHERE seq = 10");
  al_audit_close(f->a);
  /* a different record 10, appended properly by a second handle after
   * audit.head was put back */
  char saved[128];
  FILE *fp = fopen(f->head, "r");
  assert_non_null(fgets(saved, sizeof(saved), fp));
  fclose(fp);
  f->a = NULL;
  open_audit(f);
  airlock_error *err = NULL;
  json_t *forged = json_pack("{s:s, s:s}", "kind", "exec.request", "tenant", "mallory");
  check_ok(al_audit_append(f->a, forged, &err), &err, "append");
  json_decref(forged);
  fp = fopen(f->head, "w");
  fputs(saved, fp);
  fclose(fp);
  expect_tampered(f, AL_AUDIT_HEAD_MISMATCH, 10);
}

static void test_head_missing(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 3, 0);
  unlink(f->head);
  expect_tampered(f, AL_AUDIT_HEAD_MISSING, 0);
  FILE *fp = fopen(f->head, "w");
  fputs("garbage\n", fp);
  fclose(fp);
  expect_tampered(f, AL_AUDIT_HEAD_MISSING, 0);
}

/* audit.head behind the database (a commit whose head write has not
 * happened yet) is not tampering */
static void test_head_lagging(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 5, 0);
  char h3[65];
  stored_hash(f, 3, h3);
  write_head(f, 3, h3);
  al_audit_verify_result r;
  assert_int_equal(verify(f, &r), 0);
  assert_int_equal(r.head_file_seq, 3);
  h3[5] = h3[5] == '0' ? '1' : '0';
  write_head(f, 3, h3);
  expect_tampered(f, AL_AUDIT_HEAD_MISMATCH, 3);
}

/* --- retention --------------------------------------------------------------- */

static void test_prune(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 10, 1000); /* ts 1001..1010 */
  airlock_error *err = NULL;
  uint64_t removed = 99;
  check_ok(al_audit_prune(f->a, 1001, &removed, &err), &err, "prune (nothing)");
  assert_int_equal(removed, 0);
  assert_int_equal(query(f, (al_audit_filter){0}).n, 10);

  char h5[65];
  stored_hash(f, 5, h5);
  check_ok(al_audit_prune(f->a, 1006, &removed, &err), &err, "prune");
  assert_int_equal(removed, 5);
  al_audit_verify_result r;
  assert_int_equal(verify(f, &r), 0);
  assert_int_equal(r.anchor_seq, 5);
  assert_int_equal(r.first_seq, 6);
  assert_int_equal(r.last_seq, 11);
  assert_int_equal(r.checked, 6);
  /* the prune record */
  collected c = query(f, (al_audit_filter){.kind = "prune"});
  assert_int_equal(c.n, 1);
  assert_int_equal(c.seqs[0], 11);
  char *body = stored_body(f, 11);
  json_t *p = json_loads(body, 0, NULL);
  free(body);
  assert_non_null(p);
  assert_int_equal(json_integer_value(json_object_get(p, "through_seq")), 5);
  assert_string_equal(json_string_value(json_object_get(p, "through_hash")), h5);
  assert_int_equal(json_integer_value(json_object_get(p, "removed")), 5);
  json_decref(p);

  /* appends go on after a prune; a second prune stacks on the first */
  append_n(f, 2, 2000);
  check_ok(al_audit_prune(f->a, 1009, &removed, &err), &err, "prune 2");
  assert_int_equal(removed, 3); /* 6, 7, 8 */
  assert_int_equal(verify(f, &r), 0);
  assert_int_equal(r.anchor_seq, 8);
  assert_int_equal(r.last_seq, 14);
  /* everything, including both prune records */
  check_ok(al_audit_prune(f->a, INT64_MAX, &removed, &err), &err, "prune all");
  assert_int_equal(removed, 6);
  assert_int_equal(verify(f, &r), 0);
  assert_int_equal(r.checked, 1);
  assert_int_equal(r.first_seq, 15);
}

/* only from the old end: a newer record stops the prune */
static void test_prune_old_end_only(void **state) {
  fixture *f = *state;
  open_audit(f);
  airlock_error *err = NULL;
  int64_t ts[] = {100, 200, 9000, 300, 400};
  for (size_t i = 0; i < 5; i++) {
    json_t *rec = record((int)i, ts[i]);
    check_ok(al_audit_append(f->a, rec, &err), &err, "append");
    json_decref(rec);
  }
  uint64_t removed = 0;
  check_ok(al_audit_prune(f->a, 1000, &removed, &err), &err, "prune");
  assert_int_equal(removed, 2);
  al_audit_verify_result r;
  assert_int_equal(verify(f, &r), 0);
  assert_int_equal(r.first_seq, 3);
}

static void test_prune_anchor_moved(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 10, 1000);
  airlock_error *err = NULL;
  uint64_t removed = 0;
  check_ok(al_audit_prune(f->a, 1004, &removed, &err), &err, "prune");
  assert_int_equal(removed, 3);
  /* hide 4 and 5 the way a prune would, without a prune record */
  char h5[65];
  stored_hash(f, 5, h5);
  sql(f,
      "DELETE FROM records WHERE seq <= 5; UPDATE meta SET value = 5 WHERE key = 'anchor_seq';"
      "UPDATE meta SET value = '%s' WHERE key = 'anchor_hash'",
      h5);
  expect_tampered(f, AL_AUDIT_ANCHOR, 4);
}

static void test_prune_anchor_removed(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 10, 1000);
  airlock_error *err = NULL;
  uint64_t removed = 0;
  check_ok(al_audit_prune(f->a, 1004, &removed, &err), &err, "prune");
  sql(f, "DELETE FROM meta");
  expect_tampered(f, AL_AUDIT_MISSING, 1);
}

static void test_prune_refuses_tampered(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 10, 1000);
  sql(f, "UPDATE records SET body = replace(body, 'alice', 'alicia'), tenant = 'alicia' WHERE seq = 3");
  airlock_error *err = NULL;
  uint64_t removed = 0;
  assert_int_equal(al_audit_prune(f->a, 1006, &removed, &err), -1);
  assert_non_null(strstr(err->msg, "record 3"));
  airlock_error_free(&err);
  assert_int_equal(removed, 0);
  expect_tampered(f, AL_AUDIT_HASH_MISMATCH, 3);
}

static void test_expect_head_pruned(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 10, 1000);
  char h2[65], h5[65];
  stored_hash(f, 2, h2);
  stored_hash(f, 5, h5);
  airlock_error *err = NULL;
  uint64_t removed = 0;
  check_ok(al_audit_prune(f->a, 1006, &removed, &err), &err, "prune");
  al_audit_verify_result r;
  assert_int_equal(al_audit_verify_expect(f->a, 2, h2, &r, &err), -1);
  assert_non_null(strstr(err->msg, "pruned"));
  airlock_error_free(&err);
  /* the anchor itself can still be checked */
  assert_int_equal(al_audit_verify_expect(f->a, 5, h5, &r, &err), 0);
}

/* a deleted and recreated database keeps the loss visible */
static void test_db_recreated(void **state) {
  fixture *f = *state;
  open_audit(f);
  append_n(f, 4, 0);
  al_audit_close(f->a);
  f->a = NULL;
  char path[160];
  unlink(f->db);
  snprintf(path, sizeof(path), "%s-wal", f->db);
  unlink(path);
  snprintf(path, sizeof(path), "%s-shm", f->db);
  unlink(path);
  open_audit(f);
  append_n(f, 1, 0);
  expect_tampered(f, AL_AUDIT_ANCHOR, 4);
}

/* --- the writer -------------------------------------------------------------- */

static int count_cb(json_t *rec, void *ud) {
  (void)rec;
  (*(int *)ud)++;
  return 0;
}

static void test_writer(void **state) {
  fixture *f = *state;
  al_audit_writer *w = NULL;
  airlock_error *err = NULL;
  check_ok(al_audit_writer_start(f->dir, &w, &err), &err, "al_audit_writer_start");
  for (int i = 0; i < 10000; i++)
    al_audit_writer_submit(w, record(i, 0));
  assert_int_equal(al_audit_writer_flush(w), 0);
  al_audit_writer_stats st;
  al_audit_writer_stats_get(w, &st);
  assert_int_equal(st.submitted, 10000);
  assert_int_equal(st.written, 10000);
  assert_int_equal(st.lost, 0);
  assert_true(st.batches >= 3); /* at most 4096 per transaction */

  open_audit(f); /* a second handle, as the CLI would be */
  int n = 0;
  check_ok(al_audit_query(f->a, NULL, count_cb, &n, &err), &err, "query");
  assert_int_equal(n, 10000);
  al_audit_verify_result r;
  assert_int_equal(verify(f, &r), 0);
  assert_int_equal(r.checked, 10000);
  assert_int_equal(r.head_file_seq, 10000);

  /* a bad record is counted and makes the next flush say so */
  al_audit_writer_submit(w, json_pack("{s:i}", "no_kind", 1));
  al_audit_writer_submit(w, record(1, 0));
  assert_int_equal(al_audit_writer_flush(w), -1);
  assert_int_equal(al_audit_writer_flush(w), 0);
  al_audit_writer_stop(w);
  n = 0;
  check_ok(al_audit_query(f->a, NULL, count_cb, &n, &err), &err, "query");
  assert_int_equal(n, 10001);
  assert_int_equal(verify(f, &r), 0);
  al_audit_writer_stop(NULL);
}

typedef struct {
  al_audit_writer *w;
  int n;
} producer;

static void *produce(void *arg) {
  producer *p = arg;
  for (int i = 0; i < p->n; i++)
    al_audit_writer_submit(p->w, record(i, 0));
  return NULL;
}

/* producers on several threads, and an appender in another handle at the
 * same time: one chain, no gaps */
static void test_writer_threads(void **state) {
  fixture *f = *state;
  al_audit_writer *w = NULL;
  airlock_error *err = NULL;
  check_ok(al_audit_writer_start(f->dir, &w, &err), &err, "al_audit_writer_start");
  open_audit(f);
  pthread_t t[4];
  producer p = {w, 2500};
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&t[i], NULL, produce, &p), 0);
  append_n(f, 50, 0);
  for (int i = 0; i < 4; i++)
    pthread_join(t[i], NULL);
  al_audit_writer_stop(w);
  al_audit_verify_result r;
  assert_int_equal(verify(f, &r), 0);
  assert_int_equal(r.checked, 10050);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_dir, teardown_dir)
  const struct CMUnitTest tests[] = {
      T(test_append_and_filters),
      T(test_append_refuses_bad_records),
      T(test_open_checks),
      T(test_verify_intact),
      T(test_hash_definition),
      T(test_tamper_edit_body),
      T(test_tamper_edit_body_and_hash),
      T(test_tamper_delete_middle),
      T(test_tamper_insert),
      T(test_tamper_insert_before_start),
      T(test_tamper_swap_bodies),
      T(test_tamper_swap_seqs),
      T(test_tamper_column),
      T(test_tamper_truncate_tail),
      T(test_tamper_rewrite_last),
      T(test_head_missing),
      T(test_head_lagging),
      T(test_prune),
      T(test_prune_old_end_only),
      T(test_prune_anchor_moved),
      T(test_prune_anchor_removed),
      T(test_prune_refuses_tampered),
      T(test_expect_head_pruned),
      T(test_db_recreated),
      T(test_writer),
      T(test_writer_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
