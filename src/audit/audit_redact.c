/* SPDX-License-Identifier: Apache-2.0 */
/* audit_redact.c - records stored before the current redaction redacted
 * again (al_audit_redact_existing): an older node may have kept a secret
 * the redactor now finds.  A record cannot change without breaking the
 * chain, so the chain is re-hashed from the first changed record on, in
 * one transaction that also appends an "audit.redacted" record naming the
 * old head (docs/audit.md#redaction-of-existing-records says why this and
 * not a second chain).  Freed pages are zeroed (secure_delete), the WAL is
 * checkpointed and truncated and the file rebuilt, so the old text is not
 * left on disk. */
#define _GNU_SOURCE
#include "audit_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "redact.h"

#define CHUNK 512 /* records read per step: the walk never holds the whole trail */

/* the free-text fields that may quote a command */
static const char *const text_fields[] = {"error", "reason", "rule", "message", "problem", "command"};

/* rec redacted as the current node would have written it; true when
 * anything changed.  -1 when out of memory. */
static int redact_record(json_t *rec) {
  json_t *argv = json_object_get(rec, "argv");
  size_t n = json_is_array(argv) ? json_array_size(argv) : 0;
  _cleanup_free_ char **orig = calloc(n + 1, sizeof(*orig));
  if (orig == NULL)
    return -1;
  bool strings = json_is_array(argv);
  for (size_t i = 0; strings && i < n; i++) {
    orig[i] = (char *)json_string_value(json_array_get(argv, i));
    strings = orig[i] != NULL;
  }
  int changed = 0;
  json_t *red_argv = NULL;
  if (strings && n > 0) {
    red_argv = al_redact_argv(orig);
    if (red_argv == NULL)
      return -1;
    if (!json_equal(red_argv, argv))
      changed = 1;
  }
  for (size_t k = 0; k < AL_ARRAY_SIZE(text_fields); k++) {
    json_t *v = json_object_get(rec, text_fields[k]);
    if (!json_is_string(v))
      continue;
    _cleanup_free_ char *red = strings ? al_redact_derived(orig, json_string_value(v))
                                       : al_redact_string(json_string_value(v));
    if (red == NULL) {
      json_decref(red_argv);
      return -1;
    }
    if (strcmp(red, json_string_value(v)) != 0) {
      json_object_set_new(rec, text_fields[k], json_string(red));
      changed = 1;
    }
  }
  if (changed && red_argv != NULL)
    json_object_set(rec, "argv", red_argv);
  json_decref(red_argv);
  return changed;
}

static int meta_version(al_audit *a, int64_t *version, airlock_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(a->db, "SELECT value FROM meta WHERE key = 'redaction'", -1, &st, NULL) != SQLITE_OK)
    return db_err(err, a->db, "cannot read the redaction version");
  int rc = sqlite3_step(st);
  *version = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(err, a->db, "cannot read the redaction version");
}

typedef struct {
  uint64_t seq;
  char *body;
  char hash[AL_AUDIT_HASH_HEX + 1];
} row;

/* the next rows after seq, in order; *n 0 at the end */
static int read_rows(al_audit *a, uint64_t after, row *rows, size_t *n, airlock_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  *n = 0;
  if (sqlite3_prepare_v2(a->db, "SELECT seq, body, hash FROM records WHERE seq > ?1 ORDER BY seq LIMIT ?2", -1, &st,
                         NULL) != SQLITE_OK ||
      sqlite3_bind_int64(st, 1, (sqlite3_int64)after) != SQLITE_OK || sqlite3_bind_int(st, 2, CHUNK) != SQLITE_OK)
    return db_err(err, a->db, "cannot read the records");
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *body = (const char *)sqlite3_column_text(st, 1), *hash = (const char *)sqlite3_column_text(st, 2);
    if (body == NULL || hash == NULL || !al_audit_hash_well_formed(hash, strlen(hash)))
      return al_err(err, 0, "audit database %s: record %" PRId64 " is malformed", a->db_path,
                    (int64_t)sqlite3_column_int64(st, 0));
    row *r = &rows[(*n)++];
    r->seq = (uint64_t)sqlite3_column_int64(st, 0);
    memcpy(r->hash, hash, sizeof(r->hash));
    if ((r->body = strdup(body)) == NULL)
      return al_err(err, ENOMEM, "audit record");
  }
  return rc == SQLITE_DONE ? 0 : db_err(err, a->db, "cannot read the records");
}

static int update_row(al_audit *a, uint64_t seq, const char *body, const char *hash, airlock_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(a->db, "UPDATE records SET body = ?1, hash = ?2 WHERE seq = ?3", -1, &st, NULL) !=
          SQLITE_OK ||
      sqlite3_bind_text(st, 1, body, -1, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_text(st, 2, hash, AL_AUDIT_HASH_HEX, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_int64(st, 3, (sqlite3_int64)seq) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
    return db_err(err, a->db, "cannot rewrite a record");
  return 0;
}

/* inside the write transaction: every record redacted again, the chain
 * re-hashed from the first that changed */
static int rewrite(al_audit *a, al_audit_redact_result *res, airlock_error **err) {
  bool anchored;
  uint64_t anchor_seq, after;
  char prev[AL_AUDIT_HASH_HEX + 1];
  if (al_audit_read_anchor(a, &anchored, &anchor_seq, prev, err) < 0 ||
      al_audit_current_head(a, &res->old_head_seq, res->old_head, err) < 0)
    return -1;
  after = anchor_seq;
  _cleanup_free_ row *rows = calloc(CHUNK, sizeof(*rows));
  if (rows == NULL)
    return al_err(err, ENOMEM, "audit redaction");
  for (;;) {
    size_t n = 0;
    int rc = read_rows(a, after, rows, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
      row *r = &rows[i];
      res->checked++;
      json_error_t je;
      json_t *rec = json_loads(r->body, 0, &je);
      int changed = json_is_object(rec) ? redact_record(rec) : 0;
      _cleanup_free_ char *body = changed > 0 ? json_dumps(rec, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
      json_decref(rec);
      if (changed < 0 || (changed > 0 && body == NULL)) {
        rc = al_err(err, ENOMEM, "audit redaction");
        break;
      }
      if (changed > 0 && res->changed++ == 0)
        res->from_seq = r->seq;
      if (res->changed == 0) { /* before the first change the chain stands as it is */
        memcpy(prev, r->hash, sizeof(prev));
        continue;
      }
      const char *b = body ? body : r->body;
      char next[AL_AUDIT_HASH_HEX + 1];
      if (al_audit_chain_hash(a, prev, r->seq, b, strlen(b), next) < 0)
        rc = al_err(err, 0, "cannot hash an audit record (OpenSSL SHA-256 failed)");
      else
        rc = update_row(a, r->seq, b, next, err);
      memcpy(prev, next, sizeof(prev));
    }
    for (size_t i = 0; i < n; i++)
      free(rows[i].body);
    if (rc < 0)
      return -1;
    if (n == 0)
      break;
    after = rows[n - 1].seq;
  }
  return 0;
}

int al_audit_redact_existing(al_audit *a, bool force, al_audit_redact_result *res, airlock_error **err) {
  memset(res, 0, sizeof(*res));
  int64_t version;
  if (meta_version(a, &version, err) < 0)
    return -1;
  res->version_before = version;
  if (!force && version >= AL_REDACTION_VERSION)
    return 0;
  /* re-hashing a tampered trail would launder the tampering */
  al_audit_verify_result vr;
  int v = al_audit_verify(a, &vr, err);
  if (v < 0)
    return al_err_prefix(err, "not redacting the audit trail");
  if (v > 0)
    return al_err(err, 0, "not redacting the audit trail: it fails verification: %s", vr.problem);
  if (exec_sql(a->db, "PRAGMA secure_delete=ON", err) < 0 || exec_sql(a->db, "BEGIN IMMEDIATE", err) < 0)
    return -1;
  uint64_t seq = 0;
  char hash[AL_AUDIT_HASH_HEX + 1];
  if (rewrite(a, res, err) < 0)
    goto fail;
  if (al_audit_current_head(a, &seq, hash, err) < 0)
    goto fail;
  if (res->changed > 0) {
    char old_head[AL_AUDIT_HASH_HEX + 24];
    snprintf(old_head, sizeof(old_head), "%" PRIu64 ":%s", res->old_head_seq, res->old_head);
    json_t *rec = json_pack("{s:s,s:I,s:I,s:s,s:i}", "kind", "audit.redacted", "from_seq", (json_int_t)res->from_seq,
                            "changed", (json_int_t)res->changed, "old_head", old_head, "redaction",
                            AL_REDACTION_VERSION);
    int rc = rec ? al_audit_append_locked(a, rec, &seq, hash, al_wall_ms(), err) : al_err(err, ENOMEM, "audit");
    json_decref(rec);
    if (rc < 0)
      goto fail;
    res->record_seq = seq;
  }
  {
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(a->db,
                           "INSERT INTO meta (key, value) VALUES ('redaction', ?1)"
                           " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           -1, &st, NULL) != SQLITE_OK ||
        sqlite3_bind_int(st, 1, AL_REDACTION_VERSION) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
      db_err(err, a->db, "cannot store the redaction version");
      goto fail;
    }
  }
  if (exec_sql(a->db, "COMMIT", err) < 0)
    goto fail;
  if (res->changed > 0) {
    al_audit_write_head_file(a, seq, hash, false);
    /* the old text: out of the WAL, and the file rebuilt without free pages */
    if (exec_sql(a->db, "PRAGMA wal_checkpoint(TRUNCATE)", err) < 0 || exec_sql(a->db, "VACUUM", err) < 0 ||
        exec_sql(a->db, "PRAGMA wal_checkpoint(TRUNCATE)", err) < 0)
      return al_err_prefix(err, "audit trail redacted, but the old text may still be on disk");
  }
  return 0;
fail:
  al_sqlite_rollback_if_open(a->db);
  return -1;
}
