/* SPDX-License-Identifier: Apache-2.0 */
/* audit_priv.h - what the audit trail's files share behind audit.h: the
 * handle, the chain hash, the head file, the anchor and a record's filter
 * columns.  audit_trail.c owns the handle and the appends; audit_query.c,
 * audit_verify.c and audit_writer.c build on them. */
#ifndef AIRLOCK_AUDIT_PRIV_H
#define AIRLOCK_AUDIT_PRIV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "audit.h"
#include "clock.h"
#include "sqlite_store.h"

/* hash_0 of a trail that was never pruned: 64 '0's */
extern const char al_audit_genesis_hash[AL_AUDIT_HASH_HEX + 1];

struct al_audit {
  sqlite3 *db;
  sqlite3_stmt *insert, *last; /* kept prepared: every append uses both */
  EVP_MD *sha256;
  EVP_MD_CTX *md;
  char *state_dir, *db_path, *head_path;
};

#define STORE "audit database"

static inline int db_err(airlock_error **err, sqlite3 *db, const char *what) {
  return al_sqlite_err(err, db, STORE, what);
}

static inline int exec_sql(sqlite3 *db, const char *sql, airlock_error **err) {
  return al_sqlite_exec(db, STORE, sql, err);
}

/* --- audit_trail.c ----------------------------------------------------------- */

/* hash_n = SHA-256(hex(hash_{n-1}) || decimal(n) || body) into out (64 hex
 * digits); -1 when OpenSSL fails. */
int al_audit_chain_hash(al_audit *a, const char *prev_hex, uint64_t seq, const char *body, size_t body_len,
                        char out[AL_AUDIT_HASH_HEX + 1]);
/* 64 lowercase hex digits */
bool al_audit_hash_well_formed(const char *h, size_t len);
/* A head file at path: 1 read, 0 no such file, -1 error. */
int al_audit_read_head_path(const char *path, uint64_t *seq, char hash_hex[65], airlock_error **err);
/* Replace audit.head (or, with only_if_absent, create it when missing)
 * through a synced temporary file; -1 with errno. */
int al_audit_write_head_file(al_audit *a, uint64_t seq, const char *hash, bool only_if_absent);
/* The newest record (or the anchor, or the genesis) as of this transaction. */
int al_audit_current_head(al_audit *a, uint64_t *seq, char hash[65], airlock_error **err);

/* The filter columns of a record, as stored and as verify re-derives them. */
typedef struct {
  int64_t ts_ms;
  const char *kind, *tenant, *decision;
  size_t kind_len, tenant_len, decision_len;
  char *actions; /* ",a,b," or NULL; malloc'd */
  bool has_exit;
  int64_t exit_code;
} al_audit_columns;

/* -1 only when out of memory; al_audit_columns_clear() frees what it holds. */
int al_audit_derive_columns(json_t *rec, al_audit_columns *c);
void al_audit_columns_clear(al_audit_columns *c);
/* Number, hash and insert one record after (*seq, hash), inside an open
 * write transaction; both advance. */
int al_audit_append_locked(al_audit *a, json_t *rec, uint64_t *seq, char hash[65], int64_t now, airlock_error **err);

/* --- audit_verify.c ---------------------------------------------------------- */

/* The retention anchor (the last pruned record) from the meta table;
 * *present false, 0 and the genesis hash when nothing was pruned. */
int al_audit_read_anchor(al_audit *a, bool *present, uint64_t *seq, char hash[65], airlock_error **err);
int al_audit_write_anchor(al_audit *a, uint64_t seq, const char *hash, airlock_error **err);

#endif
