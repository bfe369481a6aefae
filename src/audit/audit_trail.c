/* SPDX-License-Identifier: Apache-2.0 */
/* audit_trail.c - the audit trail itself (see audit.h) on SQLite: opening
 * and the schema, the hash chain, the head file and appending.  Rows carry
 * the columns queries filter on and the canonical JSON body; only the body
 * (with its seq) enters the hash chain. */
#define _GNU_SOURCE
#include "audit_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "statedir.h"

#define SCHEMA_VERSION 1
/* a writer waits this long for another process's transaction (a prune, a
 * CLI append) before its commit fails and is retried */
#define BUSY_TIMEOUT_MS 5000

const char al_audit_genesis_hash[AL_AUDIT_HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static const char schema_sql[] = "CREATE TABLE IF NOT EXISTS records ("
                                 " seq INTEGER PRIMARY KEY,"
                                 " ts_ms INTEGER NOT NULL,"
                                 " kind TEXT NOT NULL,"
                                 " tenant TEXT,"
                                 " decision TEXT,"
                                 " actions TEXT," /* ",type1,type2," so that one type is matched with instr() */
                                 " exit_code INTEGER,"
                                 " body TEXT NOT NULL,"
                                 " hash TEXT NOT NULL);"
                                 "CREATE INDEX IF NOT EXISTS records_ts ON records(ts_ms);"
                                 "CREATE INDEX IF NOT EXISTS records_tenant ON records(tenant, seq);"
                                 /* anchor_seq, anchor_hash: the last pruned record */
                                 "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);";

static const char insert_sql[] = "INSERT INTO records (seq, ts_ms, kind, tenant, decision, actions, exit_code, body,"
                                 " hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char last_sql[] = "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1";

/* --- hashing ----------------------------------------------------------------- */

static void to_hex(const unsigned char *md, unsigned len, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (unsigned i = 0; i < len; i++) {
    out[2 * i] = digits[md[i] >> 4];
    out[2 * i + 1] = digits[md[i] & 15];
  }
  out[2 * len] = '\0';
}

/* hash_n = SHA-256(hex(hash_{n-1}) || decimal(n) || body): text only, so an
 * operator can recompute it with printf and sha256sum. */
int al_audit_chain_hash(al_audit *a, const char *prev_hex, uint64_t seq, const char *body, size_t body_len,
                        char out[AL_AUDIT_HASH_HEX + 1]) {
  char num[24];
  int num_len = snprintf(num, sizeof(num), "%" PRIu64, seq);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_DigestInit_ex2(a->md, a->sha256, NULL) != 1 || EVP_DigestUpdate(a->md, prev_hex, AL_AUDIT_HASH_HEX) != 1 ||
      EVP_DigestUpdate(a->md, num, (size_t)num_len) != 1 || EVP_DigestUpdate(a->md, body, body_len) != 1 ||
      EVP_DigestFinal_ex(a->md, md, &md_len) != 1 || md_len * 2 != AL_AUDIT_HASH_HEX)
    return -1;
  to_hex(md, md_len, out);
  return 0;
}

bool al_audit_hash_well_formed(const char *h, size_t len) {
  if (len != AL_AUDIT_HASH_HEX)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
      return false;
  return true;
}

/* --- the head file --------------------------------------------------------- */

int al_audit_parse_head(const char *s, uint64_t *seq, char hash_hex[65]) {
  if (s == NULL || s[0] < '0' || s[0] > '9')
    return -1;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end != ':' || v > INT64_MAX)
    return -1;
  const char *h = end + 1;
  if (strlen(h) != AL_AUDIT_HASH_HEX)
    return -1;
  for (size_t i = 0; i < AL_AUDIT_HASH_HEX; i++) {
    char c = h[i];
    if (c >= 'A' && c <= 'F')
      c = (char)(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return -1;
    hash_hex[i] = c;
  }
  hash_hex[AL_AUDIT_HASH_HEX] = '\0';
  *seq = v;
  return 0;
}

int al_audit_read_head_path(const char *path, uint64_t *seq, char hash_hex[65], airlock_error **err) {
  _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return 0;
  if (fd < 0)
    return al_err(err, errno, "audit head %s", path);
  char buf[128];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  if (n < 0)
    return al_err(err, errno, "audit head %s", path);
  buf[n] = '\0';
  if (n > 0 && buf[n - 1] == '\n')
    buf[n - 1] = '\0';
  if (al_audit_parse_head(buf, seq, hash_hex) < 0)
    return al_err(err, 0, "audit head %s is not SEQ:HASH", path);
  return 1;
}

int al_audit_read_head_file(const char *state_dir, uint64_t *seq, char hash_hex[65], airlock_error **err) {
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "%s/%s", state_dir, AL_AUDIT_HEAD_FILE) < 0)
    return al_err(err, ENOMEM, "audit head");
  return al_audit_read_head_path(path, seq, hash_hex, err);
}

/* Replace audit.head (or, with only_if_absent, create it when missing)
 * through a synced temporary file, so it is never seen half written. */
int al_audit_write_head_file(al_audit *a, uint64_t seq, const char *hash, bool only_if_absent) {
  _cleanup_free_ char *tmp = NULL;
  if (asprintf(&tmp, "%s/.%s.XXXXXX", a->state_dir, AL_AUDIT_HEAD_FILE) < 0)
    return -1;
  _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
  if (fd < 0)
    return -1;
  char line[96];
  int len = snprintf(line, sizeof(line), "%" PRIu64 ":%s\n", seq, hash);
  int rc = -1;
  if (write(fd, line, (size_t)len) == len && fsync(fd) == 0) {
    if (only_if_absent)
      rc = link(tmp, a->head_path) == 0 || errno == EEXIST ? 0 : -1;
    else
      rc = rename(tmp, a->head_path);
  }
  if (only_if_absent || rc < 0)
    unlink(tmp);
  return rc;
}

/* --- opening --------------------------------------------------------------- */

static int pragma(sqlite3 *db, const char *sql, const char *want, airlock_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    return db_err(err, db, sql);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return db_err(err, db, sql);
  if (want != NULL) {
    const char *got = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    if (got == NULL || strcmp(got, want) != 0)
      return al_err(err, 0, "audit database %s: %s gave '%s', not '%s'", sqlite3_db_filename(db, "main"), sql,
                    got ? got : "", want);
  }
  return 0;
}

static int ensure_schema(sqlite3 *db, airlock_error **err) {
  return al_sqlite_ensure_schema(db, STORE, schema_sql, SCHEMA_VERSION, err);
}

/* The newest record (or the anchor, or the genesis) as of this transaction. */
int al_audit_current_head(al_audit *a, uint64_t *seq, char hash[65], airlock_error **err) {
  sqlite3_stmt *st = a->last;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const char *h = (const char *)sqlite3_column_text(st, 1);
    int64_t s = sqlite3_column_int64(st, 0);
    bool ok = h != NULL && al_audit_hash_well_formed(h, strlen(h)) && s > 0;
    if (ok) {
      *seq = (uint64_t)s;
      memcpy(hash, h, AL_AUDIT_HASH_HEX + 1);
    }
    sqlite3_reset(st);
    if (!ok)
      return al_err(err, 0, "audit database %s: the newest record is malformed (run 'airlock audit verify')",
                    a->db_path);
    return 0;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE)
    return db_err(err, a->db, "cannot read the newest record");
  bool present;
  return al_audit_read_anchor(a, &present, seq, hash, err);
}

/* A new database next to an audit.head that names records: the old
 * database was deleted.  Its head becomes the anchor of the new one, with
 * no prune record behind it, so verify keeps reporting the loss instead of
 * the next commit overwriting the evidence. */
static int adopt_orphan_head(al_audit *a, airlock_error **err) {
  uint64_t seq;
  char hash[65];
  airlock_error *ignored = NULL;
  int found = al_audit_read_head_path(a->head_path, &seq, hash, &ignored);
  airlock_error_free(&ignored);
  if (found <= 0 || seq == 0)
    return 0;
  if (exec_sql(a->db, "BEGIN IMMEDIATE", err) < 0)
    return -1;
  uint64_t cur;
  char cur_hash[65];
  if (al_audit_current_head(a, &cur, cur_hash, err) < 0 || (cur == 0 && al_audit_write_anchor(a, seq, hash, err) < 0) ||
      exec_sql(a->db, "COMMIT", err) < 0) {
    al_sqlite_rollback_if_open(a->db);
    return -1;
  }
  return 0;
}

int al_audit_open(const char *state_dir, bool create, al_audit **out, airlock_error **err) {
  *out = NULL;
  if (al_state_dir_prepare(state_dir, create, err) < 0)
    return -1;
  al_audit *a = calloc(1, sizeof(*a));
  if (a == NULL)
    return al_err(err, ENOMEM, "audit database");
  a->state_dir = strdup(state_dir);
  if (asprintf(&a->db_path, "%s/%s", state_dir, AL_AUDIT_DB_FILE) < 0)
    a->db_path = NULL; /* asprintf leaves it undefined on failure */
  if (asprintf(&a->head_path, "%s/%s", state_dir, AL_AUDIT_HEAD_FILE) < 0)
    a->head_path = NULL;
  if (a->state_dir == NULL || a->db_path == NULL || a->head_path == NULL) {
    al_audit_close(a);
    return al_err(err, ENOMEM, "audit database");
  }
  bool created = false;
  if (al_sqlite_check_file(STORE, a->db_path, create, &created, err) < 0) {
    al_audit_close(a);
    return -1;
  }
  /* NOMUTEX: one thread at a time (audit.h).  NOFOLLOW: the file checked is the file opened. */
  int rc =
      sqlite3_open_v2(a->db_path, &a->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
  if (rc != SQLITE_OK) {
    if (a->db != NULL)
      db_err(err, a->db, "cannot open");
    else
      al_err(err, ENOMEM, "audit database %s", a->db_path);
    al_audit_close(a);
    return -1;
  }
  sqlite3_extended_result_codes(a->db, 1);
  a->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  a->md = EVP_MD_CTX_new();
  if (sqlite3_busy_timeout(a->db, BUSY_TIMEOUT_MS) != SQLITE_OK ||
      pragma(a->db, "PRAGMA journal_mode=WAL", "wal", err) < 0 ||
      pragma(a->db, "PRAGMA synchronous=FULL", NULL, err) < 0 || ensure_schema(a->db, err) < 0 ||
      sqlite3_prepare_v3(a->db, insert_sql, -1, SQLITE_PREPARE_PERSISTENT, &a->insert, NULL) != SQLITE_OK ||
      sqlite3_prepare_v3(a->db, last_sql, -1, SQLITE_PREPARE_PERSISTENT, &a->last, NULL) != SQLITE_OK) {
    db_err(err, a->db, "cannot set up");
    al_audit_close(a);
    return -1;
  }
  if (a->sha256 == NULL || a->md == NULL) {
    al_err(err, 0, "audit database %s: OpenSSL has no SHA-256", a->db_path);
    al_audit_close(a);
    return -1;
  }
  if (created && adopt_orphan_head(a, err) < 0) {
    al_audit_close(a);
    return -1;
  }
  if (create) {
    /* an empty trail gets its head file now; one with records never gets a
     * new one here (a missing head file is evidence for verify) */
    uint64_t seq;
    char hash[65];
    if (al_audit_current_head(a, &seq, hash, err) < 0) {
      al_audit_close(a);
      return -1;
    }
    if (seq == 0 && al_audit_write_head_file(a, 0, al_audit_genesis_hash, true) < 0) {
      al_err(err, errno, "cannot create %s", a->head_path);
      al_audit_close(a);
      return -1;
    }
  }
  *out = a;
  return 0;
}

void al_audit_close(al_audit *a) {
  if (a == NULL)
    return;
  sqlite3_finalize(a->insert);
  sqlite3_finalize(a->last);
  sqlite3_close_v2(a->db);
  EVP_MD_CTX_free(a->md);
  EVP_MD_free(a->sha256);
  free(a->state_dir);
  free(a->db_path);
  free(a->head_path);
  free(a);
}

/* --- records --------------------------------------------------------------- */

void al_audit_columns_clear(al_audit_columns *c) {
  free(c->actions);
  c->actions = NULL;
}

static const char *string_field(json_t *rec, const char *key, size_t *len) {
  json_t *v = json_object_get(rec, key);
  if (!json_is_string(v)) {
    *len = 0;
    return NULL;
  }
  *len = json_string_length(v);
  return json_string_value(v);
}

/* -1 only when out of memory */
int al_audit_derive_columns(json_t *rec, al_audit_columns *c) {
  memset(c, 0, sizeof(*c));
  json_t *ts = json_object_get(rec, "ts_ms");
  c->ts_ms = json_is_integer(ts) ? (int64_t)json_integer_value(ts) : 0;
  c->kind = string_field(rec, "kind", &c->kind_len);
  c->tenant = string_field(rec, "tenant", &c->tenant_len);
  c->decision = string_field(rec, "decision", &c->decision_len);
  json_t *ex = json_object_get(rec, "exit_code");
  if (json_is_integer(ex)) {
    c->has_exit = true;
    c->exit_code = (int64_t)json_integer_value(ex);
  }
  json_t *actions = json_object_get(rec, "actions");
  if (json_is_array(actions)) {
    size_t len = 1, i;
    json_t *v;
    json_array_foreach(actions, i, v) {
      if (json_is_string(v))
        len += json_string_length(v) + 1;
    }
    if (len > 1) {
      char *s = malloc(len + 1), *p = s;
      if (s == NULL)
        return -1;
      *p++ = ',';
      json_array_foreach(actions, i, v) {
        if (!json_is_string(v))
          continue;
        memcpy(p, json_string_value(v), json_string_length(v));
        p += json_string_length(v);
        *p++ = ',';
      }
      *p = '\0';
      c->actions = s;
    }
  }
  return 0;
}

static int bind_textn(sqlite3_stmt *st, int idx, const char *s, size_t len) {
  return s ? sqlite3_bind_text(st, idx, s, (int)len, SQLITE_STATIC) : sqlite3_bind_null(st, idx);
}

/* Number, hash and insert one record after (*seq, hash); both advance. */
int al_audit_append_locked(al_audit *a, json_t *rec, uint64_t *seq, char hash[65], int64_t now, airlock_error **err) {
  if (!json_is_object(rec))
    return al_err(err, 0, "an audit record must be a JSON object");
  json_t *kind = json_object_get(rec, "kind");
  if (!json_is_string(kind) || json_string_length(kind) == 0)
    return al_err(err, 0, "an audit record needs a \"kind\" string");
  json_t *ts = json_object_get(rec, "ts_ms");
  if (ts == NULL) {
    if (json_object_set_new(rec, "ts_ms", json_integer((json_int_t)now)) < 0)
      return al_err(err, ENOMEM, "audit record");
  } else if (!json_is_integer(ts) || json_integer_value(ts) < 0) {
    return al_err(err, 0, "an audit record's \"ts_ms\" must be an integer >= 0 (Unix epoch milliseconds)");
  }
  if (*seq >= INT64_MAX)
    return al_err(err, 0, "audit database %s: no sequence numbers left", a->db_path);
  uint64_t n = *seq + 1;
  if (json_object_set_new(rec, "seq", json_integer((json_int_t)n)) < 0)
    return al_err(err, ENOMEM, "audit record");

  _cleanup_free_ char *body = json_dumps(rec, JSON_SORT_KEYS | JSON_COMPACT);
  if (body == NULL)
    return al_err(err, ENOMEM, "cannot serialise an audit record");
  size_t body_len = strlen(body);
  char next[AL_AUDIT_HASH_HEX + 1];
  if (al_audit_chain_hash(a, hash, n, body, body_len, next) < 0)
    return al_err(err, 0, "cannot hash an audit record (OpenSSL SHA-256 failed)");
  al_audit_columns c;
  if (al_audit_derive_columns(rec, &c) < 0)
    return al_err(err, ENOMEM, "audit record");
  sqlite3_stmt *st = a->insert;
  int rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)n) | sqlite3_bind_int64(st, 2, c.ts_ms) |
           bind_textn(st, 3, c.kind, c.kind_len) | bind_textn(st, 4, c.tenant, c.tenant_len) |
           bind_textn(st, 5, c.decision, c.decision_len) |
           (c.actions ? sqlite3_bind_text(st, 6, c.actions, -1, SQLITE_STATIC) : sqlite3_bind_null(st, 6)) |
           (c.has_exit ? sqlite3_bind_int64(st, 7, c.exit_code) : sqlite3_bind_null(st, 7)) |
           sqlite3_bind_text(st, 8, body, (int)body_len, SQLITE_STATIC) |
           sqlite3_bind_text(st, 9, next, AL_AUDIT_HASH_HEX, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
  if (rc != SQLITE_OK)
    db_err(err, a->db, "cannot store an audit record");
  sqlite3_reset(st);
  sqlite3_clear_bindings(st); /* body and c are freed below */
  al_audit_columns_clear(&c);
  if (rc != SQLITE_OK)
    return -1;
  *seq = n;
  memcpy(hash, next, sizeof(next));
  return 0;
}

int al_audit_append_many(al_audit *a, json_t *const *recs, size_t n, airlock_error **err) {
  if (n == 0)
    return 0;
  if (exec_sql(a->db, "BEGIN IMMEDIATE", err) < 0)
    return -1;
  uint64_t seq;
  char hash[AL_AUDIT_HASH_HEX + 1];
  int64_t now = al_wall_ms();
  if (al_audit_current_head(a, &seq, hash, err) < 0)
    goto fail;
  for (size_t i = 0; i < n; i++)
    if (al_audit_append_locked(a, recs[i], &seq, hash, now, err) < 0)
      goto fail;
  if (exec_sql(a->db, "COMMIT", err) < 0)
    goto fail;
  /* after the commit, so the head file never names a record that is not
   * durable; a failure leaves it lagging, which verify accepts */
  al_audit_write_head_file(a, seq, hash, false);
  return 0;
fail:
  al_sqlite_rollback_if_open(a->db);
  return -1;
}

int al_audit_append(al_audit *a, json_t *rec, airlock_error **err) { return al_audit_append_many(a, &rec, 1, err); }

int al_audit_head(al_audit *a, uint64_t *seq, char hash_hex[65], airlock_error **err) {
  if (exec_sql(a->db, "BEGIN", err) < 0)
    return -1;
  int rc = al_audit_current_head(a, seq, hash_hex, err);
  al_sqlite_rollback_if_open(a->db);
  return rc;
}
