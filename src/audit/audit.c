/* audit.c - the audit trail (see audit.h) on SQLite.  Rows carry the
 * columns queries filter on and the canonical JSON body; only the body (with
 * its seq) enters the hash chain, and verify re-derives the columns from it,
 * so a record cannot be hidden from queries by editing a column either.
 * Durability: WAL with synchronous=FULL (an fsync per commit), so the writer
 * thread groups records into one transaction per batch. */
#define _GNU_SOURCE
#include "audit.h"
#include "sqlite_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "cleanup.h"
#include "error.h"
#include "statedir.h"

#define SCHEMA_VERSION 1
/* a writer waits this long for another process's transaction (a prune, a
 * CLI append) before its commit fails and is retried */
#define BUSY_TIMEOUT_MS 5000
#define WRITER_MAX_QUEUE 100000
#define WRITER_MAX_BATCH 4096
#define WRITER_TRIES 3
/* Group commit: records that arrive within this window share one
 * transaction.  An fsync (and the head file's) per record would make every
 * exec pay for a journal commit that the rest of the node's disk writes
 * queue behind; a flush, a stop or a full batch ends the wait early. */
#define WRITER_GATHER_MS 50 /* node.db groups exec ends by 100 ms */
#define WRITER_GATHER_MAX 1024

static const char genesis_hash[AL_AUDIT_HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct al_audit {
  sqlite3 *db;
  sqlite3_stmt *insert, *last; /* kept prepared: every append uses both */
  EVP_MD *sha256;
  EVP_MD_CTX *md;
  char *state_dir, *db_path, *head_path;
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS records ("
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

#define STORE "audit database"

static int db_err(airlock_error **err, sqlite3 *db, const char *what) {
  return al_sqlite_err(err, db, STORE, what);
}

static int exec_sql(sqlite3 *db, const char *sql, airlock_error **err) {
  return al_sqlite_exec(db, STORE, sql, err);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
static int chain_hash(al_audit *a, const char *prev_hex, uint64_t seq, const char *body, size_t body_len,
                      char out[AL_AUDIT_HASH_HEX + 1]) {
  char num[24];
  int num_len = snprintf(num, sizeof(num), "%" PRIu64, seq);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_DigestInit_ex2(a->md, a->sha256, NULL) != 1 ||
      EVP_DigestUpdate(a->md, prev_hex, AL_AUDIT_HASH_HEX) != 1 ||
      EVP_DigestUpdate(a->md, num, (size_t)num_len) != 1 || EVP_DigestUpdate(a->md, body, body_len) != 1 ||
      EVP_DigestFinal_ex(a->md, md, &md_len) != 1 || md_len * 2 != AL_AUDIT_HASH_HEX)
    return -1;
  to_hex(md, md_len, out);
  return 0;
}

static bool hash_well_formed(const char *h, size_t len) {
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

static int read_head_path(const char *path, uint64_t *seq, char hash_hex[65], airlock_error **err) {
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
  return read_head_path(path, seq, hash_hex, err);
}

/* Replace audit.head (or, with only_if_absent, create it when missing)
 * through a synced temporary file, so it is never seen half written. */
static int write_head_file(al_audit *a, uint64_t seq, const char *hash, bool only_if_absent) {
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

static int read_anchor(al_audit *a, bool *present, uint64_t *seq, char hash[65], airlock_error **err) {
  *present = false;
  *seq = 0;
  memcpy(hash, genesis_hash, sizeof(genesis_hash));
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
  if (sqlite3_column_type(st, 0) != SQLITE_INTEGER || s < 0 || h == NULL || !hash_well_formed(h, strlen(h)))
    return al_err(err, 0, "audit database %s: the retention anchor is malformed", a->db_path);
  *present = true;
  *seq = (uint64_t)s;
  memcpy(hash, h, AL_AUDIT_HASH_HEX + 1);
  return 0;
}

static int write_anchor(al_audit *a, uint64_t seq, const char *hash, airlock_error **err) {
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

/* The newest record (or the anchor, or the genesis) as of this transaction. */
static int current_head(al_audit *a, uint64_t *seq, char hash[65], airlock_error **err) {
  sqlite3_stmt *st = a->last;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const char *h = (const char *)sqlite3_column_text(st, 1);
    int64_t s = sqlite3_column_int64(st, 0);
    bool ok = h != NULL && hash_well_formed(h, strlen(h)) && s > 0;
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
  return read_anchor(a, &present, seq, hash, err);
}

/* A new database next to an audit.head that names records: the old
 * database was deleted.  Its head becomes the anchor of the new one, with
 * no prune record behind it, so verify keeps reporting the loss instead of
 * the next commit overwriting the evidence. */
static int adopt_orphan_head(al_audit *a, airlock_error **err) {
  uint64_t seq;
  char hash[65];
  airlock_error *ignored = NULL;
  int found = read_head_path(a->head_path, &seq, hash, &ignored);
  airlock_error_free(&ignored);
  if (found <= 0 || seq == 0)
    return 0;
  if (exec_sql(a->db, "BEGIN IMMEDIATE", err) < 0)
    return -1;
  uint64_t cur;
  char cur_hash[65];
  if (current_head(a, &cur, cur_hash, err) < 0 || (cur == 0 && write_anchor(a, seq, hash, err) < 0) ||
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
  int rc = sqlite3_open_v2(a->db_path, &a->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                           NULL);
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
    if (current_head(a, &seq, hash, err) < 0) {
      al_audit_close(a);
      return -1;
    }
    if (seq == 0 && write_head_file(a, 0, genesis_hash, true) < 0) {
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

/* The filter columns of a record, as stored and as verify re-derives them. */
typedef struct {
  int64_t ts_ms;
  const char *kind, *tenant, *decision;
  size_t kind_len, tenant_len, decision_len;
  char *actions; /* ",a,b," or NULL; malloc'd */
  bool has_exit;
  int64_t exit_code;
} columns;

static void columns_clear(columns *c) {
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
static int derive_columns(json_t *rec, columns *c) {
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
static int append_locked(al_audit *a, json_t *rec, uint64_t *seq, char hash[65], int64_t now,
                         airlock_error **err) {
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
  if (chain_hash(a, hash, n, body, body_len, next) < 0)
    return al_err(err, 0, "cannot hash an audit record (OpenSSL SHA-256 failed)");
  columns c;
  if (derive_columns(rec, &c) < 0)
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
  columns_clear(&c);
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
  int64_t now = now_ms();
  if (current_head(a, &seq, hash, err) < 0)
    goto fail;
  for (size_t i = 0; i < n; i++)
    if (append_locked(a, recs[i], &seq, hash, now, err) < 0)
      goto fail;
  if (exec_sql(a->db, "COMMIT", err) < 0)
    goto fail;
  /* after the commit, so the head file never names a record that is not
   * durable; a failure leaves it lagging, which verify accepts */
  write_head_file(a, seq, hash, false);
  return 0;
fail:
  al_sqlite_rollback_if_open(a->db);
  return -1;
}

int al_audit_append(al_audit *a, json_t *rec, airlock_error **err) {
  return al_audit_append_many(a, &rec, 1, err);
}

int al_audit_head(al_audit *a, uint64_t *seq, char hash_hex[65], airlock_error **err) {
  if (exec_sql(a->db, "BEGIN", err) < 0)
    return -1;
  int rc = current_head(a, seq, hash_hex, err);
  al_sqlite_rollback_if_open(a->db);
  return rc;
}

/* --- queries --------------------------------------------------------------- */

/* text as it appears inside the JSON body, LIKE wildcards escaped with '\' */
static char *like_pattern(const char *text) {
  json_auto_t *js = json_string(text);
  _cleanup_free_ char *enc = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
  const char *src = text;
  size_t len = strlen(text);
  if (enc != NULL && strlen(enc) >= 2) { /* strip the quotes */
    src = enc + 1;
    len = strlen(enc) - 2;
  }
  char *out = malloc(2 * len + 3), *p = out;
  if (out == NULL)
    return NULL;
  *p++ = '%';
  for (size_t i = 0; i < len; i++) {
    if (src[i] == '%' || src[i] == '_' || src[i] == '\\')
      *p++ = '\\';
    *p++ = src[i];
  }
  *p++ = '%';
  *p = '\0';
  return out;
}

int al_audit_query(al_audit *a, const al_audit_filter *f, int (*cb)(json_t *rec, void *ud), void *ud,
                   airlock_error **err) {
  al_audit_filter none = {0};
  if (f == NULL)
    f = &none;
  char sql[640] = "SELECT seq, body FROM records WHERE 1";
#define COND(c) strcat(sql, " AND " c)
  if (f->since_ms)
    COND("ts_ms >= ?");
  if (f->until_ms)
    COND("ts_ms < ?");
  if (f->tenant)
    COND("tenant = ?");
  if (f->action)
    COND("instr(actions, ',' || ? || ',') > 0");
  if (f->decision)
    COND("decision = ?");
  if (f->kind)
    COND("kind = ?");
  if (f->has_exit)
    COND("exit_code = ?");
  if (f->text)
    COND("body LIKE ? ESCAPE '\\'");
#undef COND
  strcat(sql, f->newest_first ? " ORDER BY seq DESC" : " ORDER BY seq");
  if (f->limit)
    strcat(sql, " LIMIT ?");

  _cleanup_free_ char *pattern = NULL;
  if (f->text && (pattern = like_pattern(f->text)) == NULL)
    return al_err(err, ENOMEM, "audit query");
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK)
    return db_err(err, a->db, "cannot query");
  int i = 1, rc = SQLITE_OK;
  if (f->since_ms)
    rc |= sqlite3_bind_int64(st, i++, f->since_ms);
  if (f->until_ms)
    rc |= sqlite3_bind_int64(st, i++, f->until_ms);
  if (f->tenant)
    rc |= sqlite3_bind_text(st, i++, f->tenant, -1, SQLITE_STATIC);
  if (f->action)
    rc |= sqlite3_bind_text(st, i++, f->action, -1, SQLITE_STATIC);
  if (f->decision)
    rc |= sqlite3_bind_text(st, i++, f->decision, -1, SQLITE_STATIC);
  if (f->kind)
    rc |= sqlite3_bind_text(st, i++, f->kind, -1, SQLITE_STATIC);
  if (f->has_exit)
    rc |= sqlite3_bind_int64(st, i++, f->exit_code);
  if (f->text)
    rc |= sqlite3_bind_text(st, i++, pattern, -1, SQLITE_STATIC);
  if (f->limit)
    rc |= sqlite3_bind_int64(st, i++, f->limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)f->limit);
  if (rc != SQLITE_OK)
    return db_err(err, a->db, "cannot query");

  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *body = (const char *)sqlite3_column_text(st, 1);
    json_error_t jerr;
    json_auto_t *rec = body ? json_loadb(body, (size_t)sqlite3_column_bytes(st, 1), 0, &jerr) : NULL;
    if (!json_is_object(rec))
      return al_err(err, 0, "audit database %s: record %lld is not a JSON object (run 'airlock audit verify')",
                    a->db_path, (long long)sqlite3_column_int64(st, 0));
    int r = cb(rec, ud);
    if (r > 0)
      return 0;
    if (r < 0)
      return al_err(err, 0, "audit query stopped");
  }
  if (rc != SQLITE_DONE)
    return db_err(err, a->db, "cannot query");
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

static bool columns_match(sqlite3_stmt *st, const columns *c) {
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
    if (strcmp(h->hash, genesis_hash) != 0)
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
  if (read_anchor(a, &anchored, &anchor_seq, anchor_hash, err) < 0)
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
      return tampered(r, AL_AUDIT_MISSING, prev_seq + 1, "record %" PRIu64 ": missing, and %" PRIu64
                      " more up to %" PRIu64 " (deleted)", prev_seq + 1, seq - prev_seq - 2, seq - 1);
    }
    const char *body = (const char *)sqlite3_column_text(st, 7);
    size_t body_len = (size_t)sqlite3_column_bytes(st, 7);
    json_error_t jerr;
    json_auto_t *rec = body ? json_loadb(body, body_len, 0, &jerr) : NULL;
    json_t *body_seq = json_object_get(rec, "seq");
    if (!json_is_object(rec) || !json_is_integer(body_seq))
      return tampered(r, AL_AUDIT_MALFORMED, seq, "record %" PRIu64 ": its body is not a JSON object with a seq",
                      seq);
    if ((uint64_t)json_integer_value(body_seq) != seq || json_integer_value(body_seq) < 0)
      return tampered(r, AL_AUDIT_SEQ_MISMATCH, seq,
                      "record %" PRIu64 ": holds the body of record %" JSON_INTEGER_FORMAT
                      " (records moved or swapped)",
                      seq, json_integer_value(body_seq));
    char want[AL_AUDIT_HASH_HEX + 1];
    if (chain_hash(a, prev_hash, seq, body, body_len, want) < 0)
      return al_err(err, 0, "cannot hash an audit record (OpenSSL SHA-256 failed)");
    const char *stored = (const char *)sqlite3_column_text(st, 8);
    if (stored == NULL || strcmp(stored, want) != 0)
      return tampered(r, AL_AUDIT_HASH_MISMATCH, seq,
                      "record %" PRIu64 ": hash mismatch: its content was changed, or it no longer follows record "
                      "%" PRIu64,
                      seq, prev_seq);
    columns c;
    if (derive_columns(rec, &c) < 0)
      return al_err(err, ENOMEM, "audit verify");
    bool same = columns_match(st, &c);
    columns_clear(&c);
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
      return al_err(err, 0, "record %" PRIu64 " of the expected head was pruned (records up to %" PRIu64
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
  int found = read_head_path(a->head_path, &file.seq, file.hash, &ferr);
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
  if (read_anchor(a, &anchored, &anchor_seq, anchor_hash, err) < 0 || current_head(a, &head_seq, head_hash, err) < 0)
    goto fail;
  {
    /* the old end only: everything before the first record (in seq order)
     * that is not older than the cutoff */
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(a->db, "SELECT seq FROM records WHERE ts_ms >= ?1 ORDER BY seq LIMIT 1", -1, &st,
                           NULL) != SQLITE_OK ||
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
    if (h == NULL || !hash_well_formed(h, strlen(h))) {
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
  if (write_anchor(a, through, through_hash, err) < 0)
    goto fail;
  {
    json_auto_t *rec = json_pack("{s:s, s:I, s:s, s:I}", "kind", "prune", "through_seq",
                                           (json_int_t)through, "through_hash", through_hash, "removed",
                                           (json_int_t)*removed);
    if (rec == NULL) {
      al_err(err, ENOMEM, "prune record");
      goto fail;
    }
    if (append_locked(a, rec, &head_seq, head_hash, now_ms(), err) < 0)
      goto fail;
  }
  if (exec_sql(a->db, "COMMIT", err) < 0)
    goto fail;
  write_head_file(a, head_seq, head_hash, false);
  return 0;
fail:
  *removed = 0;
  al_sqlite_rollback_if_open(a->db);
  return -1;
}

/* --- the writer thread ----------------------------------------------------- */

struct al_audit_writer {
  al_audit *a; /* used by the thread only, once started */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t work, progress;
  json_t **queue;
  size_t queued, cap;
  bool stopping;
  unsigned flush_waiters; /* someone waits in al_audit_writer_flush: commit now */
  /* submitted = done + queued + in flight; done = written + lost */
  uint64_t submitted, done, written, lost, lost_seen, batches;
  void (*observe)(size_t n, uint64_t commit_ns, bool ok, void *ud);
  void *observe_ud;
};

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void commit_batch(al_audit_writer *w, json_t **recs, size_t n) {
  bool ok = false;
  uint64_t start = mono_ns();
  for (int attempt = 0; attempt < WRITER_TRIES && !ok; attempt++) {
    if (attempt > 0)
      nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    airlock_error *err = NULL;
    ok = al_audit_append_many(w->a, recs, n, &err) == 0;
    airlock_error_free(&err);
  }
  if (w->observe != NULL)
    w->observe(n, mono_ns() - start, ok, w->observe_ud);
  for (size_t i = 0; i < n; i++)
    json_decref(recs[i]);
  pthread_mutex_lock(&w->mu);
  w->done += n;
  if (ok)
    w->written += n;
  else
    w->lost += n;
  w->batches++;
  pthread_cond_broadcast(&w->progress);
  pthread_mutex_unlock(&w->mu);
}

static void *writer_main(void *arg) {
  al_audit_writer *w = arg;
  json_t **batch = NULL;
  size_t batch_cap = 0;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (w->queued == 0 && !w->stopping)
      pthread_cond_wait(&w->work, &w->mu);
    if (w->queued == 0)
      break; /* stopping, and everything is written */
    if (!w->stopping && w->flush_waiters == 0 && w->queued < WRITER_GATHER_MAX) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_nsec += WRITER_GATHER_MS * 1000000L;
      if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
      }
      while (!w->stopping && w->flush_waiters == 0 && w->queued < WRITER_GATHER_MAX &&
             pthread_cond_timedwait(&w->work, &w->mu, &until) == 0) {
      }
    }
    /* take the whole queue (swap buffers): whatever came in while the last
     * batch was committing goes into the next transaction together */
    json_t **q = w->queue;
    size_t n = w->queued, qcap = w->cap;
    w->queue = batch;
    w->cap = batch_cap;
    w->queued = 0;
    batch = q;
    batch_cap = qcap;
    pthread_mutex_unlock(&w->mu);
    for (size_t off = 0; off < n; off += WRITER_MAX_BATCH)
      commit_batch(w, batch + off, n - off < WRITER_MAX_BATCH ? n - off : WRITER_MAX_BATCH);
    pthread_mutex_lock(&w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  free(batch);
  return NULL;
}

int al_audit_writer_start(const char *state_dir, al_audit_writer **out, airlock_error **err) {
  *out = NULL;
  al_audit_writer *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return al_err(err, ENOMEM, "audit writer");
  if (al_audit_open(state_dir, true, &w->a, err) < 0) {
    free(w);
    return -1;
  }
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->work, NULL);
  pthread_cond_init(&w->progress, NULL);
  int rc = pthread_create(&w->thread, NULL, writer_main, w);
  if (rc != 0) {
    al_audit_close(w->a);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->progress);
    free(w);
    return al_err(err, rc, "cannot start the audit writer thread");
  }
  *out = w;
  return 0;
}

void al_audit_writer_submit(al_audit_writer *w, json_t *rec) {
  if (rec == NULL)
    return;
  json_t *kind = json_object_get(rec, "kind");
  json_t *ts = json_object_get(rec, "ts_ms");
  bool valid = json_is_object(rec) && json_is_string(kind) && json_string_length(kind) > 0 &&
               (ts == NULL || (json_is_integer(ts) && json_integer_value(ts) >= 0));
  /* the time the event happened, not the time the batch was committed */
  if (valid && ts == NULL && json_object_set_new(rec, "ts_ms", json_integer((json_int_t)now_ms())) < 0)
    valid = false;
  pthread_mutex_lock(&w->mu);
  w->submitted++;
  if (valid && w->queued == w->cap && w->cap < WRITER_MAX_QUEUE) {
    size_t ncap = w->cap ? w->cap * 2 : 256;
    json_t **grown = reallocarray(w->queue, ncap, sizeof(*grown));
    if (grown != NULL) {
      w->queue = grown;
      w->cap = ncap;
    }
  }
  if (valid && w->queued < w->cap && w->queued < WRITER_MAX_QUEUE) {
    w->queue[w->queued++] = rec;
    rec = NULL;
    if (w->queued == 1 || w->queued == WRITER_GATHER_MAX)
      pthread_cond_signal(&w->work);
  } else {
    w->done++;
    w->lost++;
  }
  pthread_mutex_unlock(&w->mu);
  json_decref(rec);
}

int al_audit_writer_flush(al_audit_writer *w) {
  pthread_mutex_lock(&w->mu);
  uint64_t target = w->submitted;
  w->flush_waiters++;
  pthread_cond_signal(&w->work); /* no gathering while someone waits */
  while (w->done < target)
    pthread_cond_wait(&w->progress, &w->mu);
  w->flush_waiters--;
  int rc = w->lost > w->lost_seen ? -1 : 0;
  w->lost_seen = w->lost;
  pthread_mutex_unlock(&w->mu);
  return rc;
}

void al_audit_writer_stats_get(al_audit_writer *w, al_audit_writer_stats *out) {
  pthread_mutex_lock(&w->mu);
  out->submitted = w->submitted;
  out->written = w->written;
  out->lost = w->lost;
  out->batches = w->batches;
  pthread_mutex_unlock(&w->mu);
}

void al_audit_writer_observe(al_audit_writer *w, void (*fn)(size_t n, uint64_t commit_ns, bool ok, void *ud),
                             void *ud) {
  pthread_mutex_lock(&w->mu); /* the thread reads them after taking a batch under this lock */
  w->observe = fn;
  w->observe_ud = ud;
  pthread_mutex_unlock(&w->mu);
}

void al_audit_writer_stop(al_audit_writer *w) {
  if (w == NULL)
    return;
  pthread_mutex_lock(&w->mu);
  w->stopping = true;
  pthread_cond_signal(&w->work);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL); /* the thread drains the queue first */
  al_audit_close(w->a);
  free(w->queue);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->work);
  pthread_cond_destroy(&w->progress);
  free(w);
}
