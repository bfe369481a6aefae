/* SPDX-License-Identifier: Apache-2.0 */
/* audit_verify.c - checking and trimming the audit trail: the walk that
 * re-derives every hash and filter column (so a record cannot be hidden by
 * editing a column either), the head checks, the retention anchor and
 * pruning, which refuses a trail that does not verify. */
#define _GNU_SOURCE
#include "audit_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"

/* --- the retention anchor -------------------------------------------------- */

int al_audit_read_anchor(al_audit *a, bool *present, uint64_t *seq, char hash[65], airlock_error **err) {
  *present = false;
  *seq = 0;
  memcpy(hash, al_audit_genesis_hash, sizeof(al_audit_genesis_hash));
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(a->db,
                         "SELECT (SELECT value FROM meta WHERE key = 'anchor_seq'),"
                         " (SELECT value FROM meta WHERE key = 'anchor_hash')",
                         -1, &st, NULL) != SQLITE_OK ||
      sqlite3_step(st) != SQLITE_ROW)
    return db_err(err, a->db, "cannot read the retention anchor");
  if (sqlite3_column_type(st, 0) == SQLITE_NULL && sqlite3_column_type(st, 1) == SQLITE_NULL)
    return 0;
  const char *h = (const char *)sqlite3_column_text(st, 1);
  int64_t s = sqlite3_column_int64(st, 0);
  if (sqlite3_column_type(st, 0) != SQLITE_INTEGER || s < 0 || h == NULL || !al_audit_hash_well_formed(h, strlen(h)))
    return al_err(err, 0, "audit database %s: the retention anchor is malformed", a->db_path);
  *present = true;
  *seq = (uint64_t)s;
  memcpy(hash, h, AL_AUDIT_HASH_HEX + 1);
  return 0;
}

int al_audit_write_anchor(al_audit *a, uint64_t seq, const char *hash, airlock_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(a->db,
                         "INSERT INTO meta (key, value) VALUES ('anchor_seq', ?1), ('anchor_hash', ?2)"
                         " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                         -1, &st, NULL) != SQLITE_OK ||
      sqlite3_bind_int64(st, 1, (sqlite3_int64)seq) != SQLITE_OK ||
      sqlite3_bind_text(st, 2, hash, AL_AUDIT_HASH_HEX, SQLITE_STATIC) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
    return db_err(err, a->db, "cannot store the retention anchor");
  return 0;
}

/* --- verification ---------------------------------------------------------- */

__attribute__((format(printf, 4, 5))) static int tampered(al_audit_verify_result *r, al_audit_problem kind,
                                                          uint64_t bad_seq, const char *fmt, ...) {
  r->kind = kind;
  r->bad_seq = bad_seq;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->problem, sizeof(r->problem), fmt, ap);
  va_end(ap);
  return 1;
}

static bool col_text_eq(sqlite3_stmt *st, int col, const char *want, size_t want_len) {
  if (want == NULL)
    return sqlite3_column_type(st, col) == SQLITE_NULL;
  if (sqlite3_column_type(st, col) != SQLITE_TEXT)
    return false;
  const void *got = sqlite3_column_text(st, col);
  return (size_t)sqlite3_column_bytes(st, col) == want_len && memcmp(got, want, want_len) == 0;
}

static bool columns_match(sqlite3_stmt *st, const al_audit_columns *c) {
  if (sqlite3_column_type(st, 1) != SQLITE_INTEGER || sqlite3_column_int64(st, 1) != c->ts_ms)
    return false;
  if (!col_text_eq(st, 2, c->kind, c->kind_len) || !col_text_eq(st, 3, c->tenant, c->tenant_len) ||
      !col_text_eq(st, 4, c->decision, c->decision_len) ||
      !col_text_eq(st, 5, c->actions, c->actions ? strlen(c->actions) : 0))
    return false;
  if (!c->has_exit)
    return sqlite3_column_type(st, 6) == SQLITE_NULL;
  return sqlite3_column_type(st, 6) == SQLITE_INTEGER && sqlite3_column_int64(st, 6) == c->exit_code;
}

/* A head to compare against the chain: the head file or an expected one. */
typedef struct {
  bool set;
  uint64_t seq;
  char hash[AL_AUDIT_HASH_HEX + 1];
  bool seen; /* the walk met record seq */
  char seen_hash[AL_AUDIT_HASH_HEX + 1];
} head_check;

/* Compare a head with the chain after the walk; 1 when it shows tampering,
 * 2 when it cannot be checked (older than the anchor). */
static int check_head(const head_check *h, const char *what, uint64_t last, uint64_t anchor_seq,
                      const char *anchor_hash, al_audit_verify_result *r) {
  if (h->seq > last)
    return tampered(r, AL_AUDIT_TRUNCATED, last + 1,
                    "record %" PRIu64 ": missing; %s says the newest record is %" PRIu64
                    ", the database ends at %" PRIu64 " (records deleted from the end)",
                    last + 1, what, h->seq, last);
  if (h->seq == 0) {
    if (strcmp(h->hash, al_audit_genesis_hash) != 0)
      return tampered(r, AL_AUDIT_HEAD_MISMATCH, 0, "%s names record 0 with a hash other than the genesis", what);
    return 0;
  }
  if (h->seq < anchor_seq)
    return 2;
  const char *got = h->seq == anchor_seq ? anchor_hash : h->seen ? h->seen_hash : NULL;
  if (got == NULL || strcmp(got, h->hash) != 0)
    return tampered(r, AL_AUDIT_HEAD_MISMATCH, h->seq,
                    "record %" PRIu64 ": its hash is %.16s..., %s says %.16s... (the record was rewritten)", h->seq,
                    got ? got : "(none)", what, h->hash);
  return 0;
}

/* The walk, inside an open read transaction.  0 intact, 1 tampered, -1 error. */
static int verify_locked(al_audit *a, head_check *file, head_check *expect, al_audit_verify_result *r,
                         airlock_error **err) {
  bool anchored;
  uint64_t anchor_seq;
  char anchor_hash[AL_AUDIT_HASH_HEX + 1];
  if (al_audit_read_anchor(a, &anchored, &anchor_seq, anchor_hash, err) < 0)
    return -1;
  r->anchor_seq = anchor_seq;
  uint64_t prev_seq = anchor_seq;
  char prev_hash[AL_AUDIT_HASH_HEX + 1];
  memcpy(prev_hash, anchor_hash, sizeof(prev_hash));
  memcpy(r->head_hash, anchor_hash, sizeof(prev_hash));
  /* the newest prune record: it must name the anchor */
  bool pruned = false;
  uint64_t prune_seq = 0, prune_through = 0;
  char prune_hash[AL_AUDIT_HASH_HEX + 1] = "";

  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(a->db,
                         "SELECT seq, ts_ms, kind, tenant, decision, actions, exit_code, body, hash"
                         " FROM records ORDER BY seq",
                         -1, &st, NULL) != SQLITE_OK)
    return db_err(err, a->db, "cannot read the records");
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t row_seq = sqlite3_column_int64(st, 0);
    if (row_seq <= (int64_t)prev_seq)
      return tampered(r, AL_AUDIT_INSERTED, row_seq > 0 ? (uint64_t)row_seq : 0,
                      "record %" PRId64 ": inserted; the chain starts after record %" PRIu64, row_seq, prev_seq);
    uint64_t seq = (uint64_t)row_seq;
    if (seq != prev_seq + 1) {
      if (seq == prev_seq + 2)
        return tampered(r, AL_AUDIT_MISSING, prev_seq + 1, "record %" PRIu64 ": missing (deleted)", prev_seq + 1);
      return tampered(r, AL_AUDIT_MISSING, prev_seq + 1,
                      "record %" PRIu64 ": missing, and %" PRIu64 " more up to %" PRIu64 " (deleted)", prev_seq + 1,
                      seq - prev_seq - 2, seq - 1);
    }
    const char *body = (const char *)sqlite3_column_text(st, 7);
    size_t body_len = (size_t)sqlite3_column_bytes(st, 7);
    json_error_t jerr;
    json_auto_t *rec = body ? json_loadb(body, body_len, 0, &jerr) : NULL;
    json_t *body_seq = json_object_get(rec, "seq");
    if (!json_is_object(rec) || !json_is_integer(body_seq))
      return tampered(r, AL_AUDIT_MALFORMED, seq, "record %" PRIu64 ": its body is not a JSON object with a seq", seq);
    if ((uint64_t)json_integer_value(body_seq) != seq || json_integer_value(body_seq) < 0)
      return tampered(r, AL_AUDIT_SEQ_MISMATCH, seq,
                      "record %" PRIu64 ": holds the body of record %" JSON_INTEGER_FORMAT
                      " (records moved or swapped)",
                      seq, json_integer_value(body_seq));
    char want[AL_AUDIT_HASH_HEX + 1];
    if (al_audit_chain_hash(a, prev_hash, seq, body, body_len, want) < 0)
      return al_err(err, 0, "cannot hash an audit record (OpenSSL SHA-256 failed)");
    const char *stored = (const char *)sqlite3_column_text(st, 8);
    if (stored == NULL || strcmp(stored, want) != 0)
      return tampered(r, AL_AUDIT_HASH_MISMATCH, seq,
                      "record %" PRIu64 ": hash mismatch: its content was changed, or it no longer follows record "
                      "%" PRIu64,
                      seq, prev_seq);
    al_audit_columns c;
    if (al_audit_derive_columns(rec, &c) < 0)
      return al_err(err, ENOMEM, "audit verify");
    bool same = columns_match(st, &c);
    al_audit_columns_clear(&c);
    if (!same)
      return tampered(r, AL_AUDIT_COLUMNS, seq,
                      "record %" PRIu64 ": its filter columns were changed and no longer match its content", seq);
    if (c.kind_len == 5 && memcmp(c.kind, "prune", 5) == 0) {
      json_t *th = json_object_get(rec, "through_hash");
      pruned = true;
      prune_seq = seq;
      prune_through = (uint64_t)json_integer_value(json_object_get(rec, "through_seq"));
      snprintf(prune_hash, sizeof(prune_hash), "%s", json_is_string(th) ? json_string_value(th) : "");
    }
    for (head_check *h = file; h != NULL; h = h == file ? expect : NULL)
      if (h->set && h->seq == seq) {
        h->seen = true;
        memcpy(h->seen_hash, want, sizeof(want));
      }
    if (r->checked++ == 0)
      r->first_seq = seq;
    prev_seq = seq;
    memcpy(prev_hash, want, sizeof(want));
  }
  if (rc != SQLITE_DONE)
    return db_err(err, a->db, "cannot read the records");
  r->last_seq = r->checked ? prev_seq : 0;
  memcpy(r->head_hash, prev_hash, sizeof(prev_hash));

  if (anchored && !pruned)
    return tampered(r, AL_AUDIT_ANCHOR, anchor_seq,
                    "record %" PRIu64 ": the chain starts after it, but no prune record says records up to it were "
                    "pruned (records deleted, or the database was recreated)",
                    anchor_seq);
  if (pruned && (!anchored || prune_through != anchor_seq || strcmp(prune_hash, anchor_hash) != 0)) {
    if (anchored && anchor_seq > prune_through)
      return tampered(r, AL_AUDIT_ANCHOR, prune_through + 1,
                      "record %" PRIu64 ": missing; prune record %" PRIu64 " removed records up to %" PRIu64
                      " but the retention anchor was moved to %" PRIu64 " (records deleted)",
                      prune_through + 1, prune_seq, prune_through, anchor_seq);
    return tampered(r, AL_AUDIT_ANCHOR, prune_through,
                    "record %" PRIu64 ": the retention anchor does not match prune record %" PRIu64, prune_through,
                    prune_seq);
  }

  uint64_t last = prev_seq; /* the anchor when no record is left */
  if (file != NULL) {
    if (!file->set && (r->checked > 0 || anchored))
      return tampered(r, AL_AUDIT_HEAD_MISSING, 0, "%s is missing, so deleted newest records would go unnoticed",
                      AL_AUDIT_HEAD_FILE);
    if (file->set && check_head(file, AL_AUDIT_HEAD_FILE, last, anchor_seq, anchor_hash, r) == 1)
      return 1;
  }
  if (expect != NULL && expect->set) {
    int c = check_head(expect, "the expected head", last, anchor_seq, anchor_hash, r);
    if (c == 2)
      return al_err(err, 0,
                    "record %" PRIu64 " of the expected head was pruned (records up to %" PRIu64
                    " are); it can no longer be checked: anchor a newer head",
                    expect->seq, anchor_seq);
    if (c == 1)
      return 1;
  }
  return 0;
}

int al_audit_verify_expect(al_audit *a, uint64_t expect_seq, const char *expect_hash, al_audit_verify_result *r,
                           airlock_error **err) {
  memset(r, 0, sizeof(*r));
  head_check expect = {0};
  if (expect_hash != NULL) {
    char line[96];
    snprintf(line, sizeof(line), "%" PRIu64 ":%s", expect_seq, expect_hash);
    if (al_audit_parse_head(line, &expect.seq, expect.hash) < 0)
      return al_err(err, 0, "the expected head must be SEQ:HASH with 64 hex digits");
    expect.set = true;
  }
  /* The head file first: it is written after each commit, so the snapshot
   * read next holds at least the record it names. */
  head_check file = {0};
  airlock_error *ferr = NULL;
  int found = al_audit_read_head_path(a->head_path, &file.seq, file.hash, &ferr);
  if (found < 0) {
    tampered(r, AL_AUDIT_HEAD_MISSING, 0, "%s", ferr->msg);
    airlock_error_free(&ferr);
    return 1;
  }
  file.set = found == 1;
  r->head_file_seq = file.set ? file.seq : 0;
  if (exec_sql(a->db, "BEGIN", err) < 0)
    return -1;
  int rc = verify_locked(a, &file, &expect, r, err);
  al_sqlite_rollback_if_open(a->db);
  if (rc == 0) {
    r->kind = AL_AUDIT_INTACT;
    r->problem[0] = '\0';
  }
  return rc;
}

int al_audit_verify(al_audit *a, al_audit_verify_result *r, airlock_error **err) {
  return al_audit_verify_expect(a, 0, NULL, r, err);
}

/* --- retention ------------------------------------------------------------- */

int al_audit_prune(al_audit *a, int64_t older_than_ms, uint64_t *removed, airlock_error **err) {
  uint64_t dummy;
  if (removed == NULL)
    removed = &dummy;
  *removed = 0;
  /* Verified in a read transaction first, so writers are not held up for
   * the whole walk; only appends can come in between. */
  al_audit_verify_result vr;
  int v = al_audit_verify(a, &vr, err);
  if (v < 0)
    return al_err_prefix(err, "not pruning");
  if (v > 0)
    return al_err(err, 0, "not pruning: the audit trail fails verification: %s", vr.problem);

  if (exec_sql(a->db, "BEGIN IMMEDIATE", err) < 0)
    return -1;
  bool anchored;
  uint64_t anchor_seq = 0, head_seq = 0, through = 0;
  char anchor_hash[AL_AUDIT_HASH_HEX + 1], head_hash[AL_AUDIT_HASH_HEX + 1], through_hash[AL_AUDIT_HASH_HEX + 1];
  if (al_audit_read_anchor(a, &anchored, &anchor_seq, anchor_hash, err) < 0 ||
      al_audit_current_head(a, &head_seq, head_hash, err) < 0)
    goto fail;
  {
    /* the old end only: everything before the first record (in seq order)
     * that is not older than the cutoff */
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(a->db, "SELECT seq FROM records WHERE ts_ms >= ?1 ORDER BY seq LIMIT 1", -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_bind_int64(st, 1, older_than_ms) != SQLITE_OK) {
      db_err(err, a->db, "cannot find the records to prune");
      goto fail;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
      through = (uint64_t)sqlite3_column_int64(st, 0) - 1;
    else if (rc == SQLITE_DONE)
      through = head_seq;
    else {
      db_err(err, a->db, "cannot find the records to prune");
      goto fail;
    }
  }
  if (through <= anchor_seq) {
    al_sqlite_rollback_if_open(a->db);
    return 0;
  }
  {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(a->db, "SELECT hash FROM records WHERE seq = ?1", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, (sqlite3_int64)through) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
      db_err(err, a->db, "cannot read the last record to prune");
      goto fail;
    }
    const char *h = (const char *)sqlite3_column_text(st, 0);
    if (h == NULL || !al_audit_hash_well_formed(h, strlen(h))) {
      al_err(err, 0, "audit database %s: record %" PRIu64 " has a malformed hash", a->db_path, through);
      goto fail;
    }
    memcpy(through_hash, h, sizeof(through_hash));
  }
  {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(a->db, "DELETE FROM records WHERE seq <= ?1", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(st, 1, (sqlite3_int64)through) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
      db_err(err, a->db, "cannot delete old records");
      goto fail;
    }
    *removed = (uint64_t)sqlite3_changes64(a->db);
  }
  if (al_audit_write_anchor(a, through, through_hash, err) < 0)
    goto fail;
  {
    json_auto_t *rec = json_pack("{s:s, s:I, s:s, s:I}", "kind", "prune", "through_seq", (json_int_t)through,
                                 "through_hash", through_hash, "removed", (json_int_t)*removed);
    if (rec == NULL) {
      al_err(err, ENOMEM, "prune record");
      goto fail;
    }
    if (al_audit_append_locked(a, rec, &head_seq, head_hash, al_wall_ms(), err) < 0)
      goto fail;
  }
  if (exec_sql(a->db, "COMMIT", err) < 0)
    goto fail;
  al_audit_write_head_file(a, head_seq, head_hash, false);
  return 0;
fail:
  *removed = 0;
  al_sqlite_rollback_if_open(a->db);
  return -1;
}
