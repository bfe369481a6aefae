/* SPDX-License-Identifier: Apache-2.0 */
/* tokens.c - the token store (see tokens.h) on SQLite.  A token is
 * "node_tok_" + 32 random bytes in unpadded base64url; the table holds only
 * the hex SHA-256 of the whole token string, so a copy of tokens.db lets no
 * one call the node.  The database is in WAL mode with a busy timeout: the CLI
 * writes while the node reads, and readers are not blocked by the writer. */
#define _GNU_SOURCE
#include "tokens.h"
#include "sqlite_store.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "cleanup.h"
#include "error.h"
#include "statedir.h"

#define DB_FILE "tokens.db"
#define SCHEMA_VERSION 1
#define BUSY_TIMEOUT_MS 2000
#define HASH_HEX_LEN AL_TOKEN_HASH_HEX_LEN

struct al_token_store {
  sqlite3 *db;
  sqlite3_stmt *verify; /* kept prepared: verify runs on every request */
  EVP_MD *sha256;       /* fetched once, not per hash */
  EVP_MD_CTX *md_ctx;
};

static const char schema_sql[] = "CREATE TABLE IF NOT EXISTS tokens ("
                                 " name TEXT PRIMARY KEY,"
                                 " hash TEXT UNIQUE NOT NULL,"
                                 " created_at INTEGER,"
                                 " revoked_at INTEGER NULL,"
                                 " max_concurrent_execs INTEGER NULL,"
                                 " max_memory_bytes INTEGER NULL,"
                                 " max_cpus REAL NULL,"
                                 " max_timeout_ms INTEGER NULL);";

#define INFO_COLUMNS "name, created_at, revoked_at, max_concurrent_execs, max_memory_bytes, max_cpus, max_timeout_ms"

static const char verify_sql[] = "SELECT " INFO_COLUMNS " FROM tokens WHERE hash = ?1 AND revoked_at IS NULL";

#define STORE "token database"

static int db_err(airlock_error **err, sqlite3 *db, const char *what) { return al_sqlite_err(err, db, STORE, what); }

static int exec_sql(sqlite3 *db, const char *sql, airlock_error **err) { return al_sqlite_exec(db, STORE, sql, err); }

/* --- the database file -------------------------------------------------- */

static int set_wal(sqlite3 *db, airlock_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
    return db_err(err, db, "cannot switch to WAL mode");
  const char *mode = (const char *)sqlite3_column_text(st, 0);
  if (mode == NULL || strcmp(mode, "wal") != 0)
    return al_err(err, 0, "token database %s: cannot switch to WAL mode (journal mode is '%s')",
                  sqlite3_db_filename(db, "main"), mode ? mode : "?");
  return 0;
}

static int ensure_schema(sqlite3 *db, airlock_error **err) {
  return al_sqlite_ensure_schema(db, STORE, schema_sql, SCHEMA_VERSION, err);
}

int al_token_store_open(const char *state_dir, bool create, al_token_store **out, airlock_error **err) {
  *out = NULL;
  if (al_state_dir_prepare(state_dir, create, err) < 0)
    return -1;
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "%s/%s", state_dir, DB_FILE) < 0)
    return al_err(err, ENOMEM, "token database");
  if (al_sqlite_check_file(STORE, path, create, NULL, err) < 0)
    return -1;

  al_token_store *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return al_err(err, ENOMEM, "token database");
  /* NOMUTEX: a handle is used by one thread at a time (tokens.h).
   * NOFOLLOW: the file checked above is the file opened. */
  int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
  if (rc != SQLITE_OK) {
    if (s->db != NULL)
      db_err(err, s->db, "cannot open");
    else
      al_err(err, ENOMEM, "token database %s", path);
    al_token_store_close(s);
    return -1;
  }
  sqlite3_extended_result_codes(s->db, 1);
  if (sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS) != SQLITE_OK) {
    db_err(err, s->db, "cannot set the busy timeout");
    al_token_store_close(s);
    return -1;
  }
  if (set_wal(s->db, err) < 0 || ensure_schema(s->db, err) < 0) {
    al_token_store_close(s);
    return -1;
  }
  if (sqlite3_prepare_v3(s->db, verify_sql, -1, SQLITE_PREPARE_PERSISTENT, &s->verify, NULL) != SQLITE_OK) {
    db_err(err, s->db, "cannot prepare the token lookup");
    al_token_store_close(s);
    return -1;
  }
  s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  s->md_ctx = EVP_MD_CTX_new();
  if (s->sha256 == NULL || s->md_ctx == NULL) {
    al_err(err, 0, "token database %s: OpenSSL has no SHA-256", path);
    al_token_store_close(s);
    return -1;
  }
  *out = s;
  return 0;
}

void al_token_store_close(al_token_store *s) {
  if (s == NULL)
    return;
  sqlite3_finalize(s->verify);
  sqlite3_close_v2(s->db);
  EVP_MD_CTX_free(s->md_ctx);
  EVP_MD_free(s->sha256);
  free(s);
}

/* --- tokens -------------------------------------------------------------- */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding; out must hold (n * 4 + 2) / 3 + 1 bytes. */
static void base64url_encode(const unsigned char *in, size_t n, char *out) {
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    *out++ = b64url[v >> 18 & 63];
    *out++ = b64url[v >> 12 & 63];
    *out++ = b64url[v >> 6 & 63];
    *out++ = b64url[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    *out++ = b64url[v >> 18 & 63];
    *out++ = b64url[v >> 12 & 63];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    *out++ = b64url[v >> 18 & 63];
    *out++ = b64url[v >> 12 & 63];
    *out++ = b64url[v >> 6 & 63];
  }
  *out = '\0';
}

static bool token_well_formed(const char *token) {
  if (strnlen(token, AL_TOKEN_LEN + 1) != AL_TOKEN_LEN)
    return false;
  if (memcmp(token, AL_TOKEN_PREFIX, sizeof(AL_TOKEN_PREFIX) - 1) != 0)
    return false;
  for (const char *p = token + sizeof(AL_TOKEN_PREFIX) - 1; *p; p++) {
    char c = *p;
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
  }
  return true;
}

static int hash_hex(al_token_store *s, const char *token, char hex[HASH_HEX_LEN + 1]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_DigestInit_ex2(s->md_ctx, s->sha256, NULL) != 1 || EVP_DigestUpdate(s->md_ctx, token, strlen(token)) != 1 ||
      EVP_DigestFinal_ex(s->md_ctx, md, &md_len) != 1 || md_len * 2 != HASH_HEX_LEN)
    return -1;
  static const char digits[] = "0123456789abcdef";
  for (unsigned i = 0; i < md_len; i++) {
    hex[2 * i] = digits[md[i] >> 4];
    hex[2 * i + 1] = digits[md[i] & 15];
  }
  hex[HASH_HEX_LEN] = '\0';
  return 0;
}

bool al_token_name_valid(const char *name) {
  if (name == NULL)
    return false;
  size_t len = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
  return len >= 1 && len <= AL_TOKEN_NAME_MAX && name[len] == '\0';
}

static int check_limits(const al_token_limits *l, airlock_error **err) {
  if (l->max_concurrent_execs < 0)
    return al_err(err, 0, "max concurrent execs must not be negative");
  if (l->max_memory_bytes < 0)
    return al_err(err, 0, "max memory must not be negative");
  if (l->max_timeout_ms < 0)
    return al_err(err, 0, "max timeout must not be negative");
  if (!isfinite(l->max_cpus) || l->max_cpus < 0)
    return al_err(err, 0, "max cpus must be a non-negative number");
  return 0;
}

/* 0 means "not set" and is stored as NULL. */
static int bind_limit_int(sqlite3_stmt *st, int idx, int64_t v) {
  return v > 0 ? sqlite3_bind_int64(st, idx, v) : sqlite3_bind_null(st, idx);
}

static int64_t column_limit_int(sqlite3_stmt *st, int col) {
  int64_t v = sqlite3_column_int64(st, col); /* NULL reads as 0 */
  return v > 0 ? v : 0;
}

/* Fill info from a row of INFO_COLUMNS. */
static void read_info(sqlite3_stmt *st, al_token_info *info) {
  memset(info, 0, sizeof(*info));
  const unsigned char *name = sqlite3_column_text(st, 0);
  snprintf(info->name, sizeof(info->name), "%s", name ? (const char *)name : "");
  info->created_at = sqlite3_column_int64(st, 1);
  info->revoked_at = sqlite3_column_int64(st, 2);
  info->limits.max_concurrent_execs = column_limit_int(st, 3);
  info->limits.max_memory_bytes = column_limit_int(st, 4);
  double cpus = sqlite3_column_double(st, 5);
  info->limits.max_cpus = cpus > 0 ? cpus : 0;
  info->limits.max_timeout_ms = column_limit_int(st, 6);
}

/* Whether NAME exists: 1 (and *revoked_at), 0, or -1 on error. */
static int lookup_name(sqlite3 *db, const char *name, int64_t *revoked_at, airlock_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT revoked_at FROM tokens WHERE name = ?1", -1, &st, NULL) != SQLITE_OK ||
      sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK)
    return db_err(err, db, "cannot look up a token name");
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW)
    return db_err(err, db, "cannot look up a token name");
  *revoked_at = sqlite3_column_int64(st, 0);
  return 1;
}

static void free_secret(char **p) {
  if (*p != NULL) {
    explicit_bzero(*p, strlen(*p));
    free(*p);
  }
}

static int new_token(char **out, airlock_error **err) {
  unsigned char raw[AL_TOKEN_RANDOM_BYTES];
  size_t got = 0;
  while (got < sizeof(raw)) {
    ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      explicit_bzero(raw, sizeof(raw));
      return al_err(err, errno, "cannot get random bytes for a token");
    }
    got += (size_t)n;
  }
  char *token = malloc(AL_TOKEN_LEN + 1);
  if (token == NULL) {
    explicit_bzero(raw, sizeof(raw));
    return al_err(err, ENOMEM, "token");
  }
  memcpy(token, AL_TOKEN_PREFIX, sizeof(AL_TOKEN_PREFIX) - 1);
  base64url_encode(raw, sizeof(raw), token + sizeof(AL_TOKEN_PREFIX) - 1);
  explicit_bzero(raw, sizeof(raw));
  *out = token;
  return 0;
}

int al_token_create(al_token_store *s, const char *name, const al_token_limits *limits, char **token_out,
                    airlock_error **err) {
  *token_out = NULL;
  if (!al_token_name_valid(name))
    return al_err(err, 0, "invalid token name '%s': use 1 to %d of A-Z a-z 0-9 . _ -", name ? name : "",
                  AL_TOKEN_NAME_MAX);
  al_token_limits none = {0};
  if (limits == NULL)
    limits = &none;
  if (check_limits(limits, err) < 0)
    return -1;

  __attribute__((cleanup(free_secret))) char *token = NULL;
  char hex[HASH_HEX_LEN + 1];
  if (new_token(&token, err) < 0)
    return -1;
  if (hash_hex(s, token, hex) < 0)
    return al_err(err, 0, "cannot hash the token (OpenSSL SHA-256 failed)");

  /* one write transaction: the name check and the insert see the same table */
  if (exec_sql(s->db, "BEGIN IMMEDIATE", err) < 0)
    return -1;
  int64_t revoked_at = 0;
  int found = lookup_name(s->db, name, &revoked_at, err);
  if (found != 0) {
    al_sqlite_rollback_if_open(s->db);
    if (found < 0)
      return -1;
    return al_err(err, 0, "a token named '%s' already exists%s", name,
                  revoked_at ? " (revoked; names of revoked tokens are not reused)" : "");
  }
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db,
                         "INSERT INTO tokens (name, hash, created_at, revoked_at, max_concurrent_execs,"
                         " max_memory_bytes, max_cpus, max_timeout_ms) VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6, ?7)",
                         -1, &st, NULL) != SQLITE_OK ||
      sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_text(st, 2, hex, HASH_HEX_LEN, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL)) != SQLITE_OK ||
      bind_limit_int(st, 4, limits->max_concurrent_execs) != SQLITE_OK ||
      bind_limit_int(st, 5, limits->max_memory_bytes) != SQLITE_OK ||
      (limits->max_cpus > 0 ? sqlite3_bind_double(st, 6, limits->max_cpus) : sqlite3_bind_null(st, 6)) != SQLITE_OK ||
      bind_limit_int(st, 7, limits->max_timeout_ms) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
    db_err(err, s->db, "cannot store the token");
    al_sqlite_rollback_if_open(s->db);
    return -1;
  }
  if (exec_sql(s->db, "COMMIT", err) < 0) {
    al_sqlite_rollback_if_open(s->db);
    return -1;
  }
  *token_out = AL_STEAL(token);
  return 0;
}

int al_token_revoke(al_token_store *s, const char *name, airlock_error **err) {
  if (!al_token_name_valid(name))
    return al_err(err, 0, "invalid token name '%s'", name ? name : "");
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, "UPDATE tokens SET revoked_at = ?1 WHERE name = ?2 AND revoked_at IS NULL", -1, &st,
                         NULL) != SQLITE_OK ||
      sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL)) != SQLITE_OK ||
      sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
    return db_err(err, s->db, "cannot revoke the token");
  if (sqlite3_changes(s->db) == 1)
    return 0;
  int64_t revoked_at = 0;
  int found = lookup_name(s->db, name, &revoked_at, err);
  if (found < 0)
    return -1;
  if (found == 0)
    return al_err(err, 0, "no token named '%s'", name);
  return al_err(err, 0, "token '%s' is already revoked", name);
}

int al_token_list(al_token_store *s, al_token_info **out, size_t *n, airlock_error **err) {
  *out = NULL;
  *n = 0;
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, "SELECT " INFO_COLUMNS " FROM tokens ORDER BY name", -1, &st, NULL) != SQLITE_OK)
    return db_err(err, s->db, "cannot list tokens");
  _cleanup_free_ al_token_info *list = NULL;
  size_t count = 0, cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (count == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      al_token_info *grown = reallocarray(list, ncap, sizeof(*list));
      if (grown == NULL)
        return al_err(err, ENOMEM, "cannot list tokens");
      list = grown;
      cap = ncap;
    }
    read_info(st, &list[count++]);
  }
  if (rc != SQLITE_DONE)
    return db_err(err, s->db, "cannot list tokens");
  *out = AL_STEAL(list);
  *n = count;
  return 0;
}

int al_token_hash(al_token_store *s, const char *token, char hex[AL_TOKEN_HASH_HEX_LEN + 1]) {
  if (s == NULL)
    return -1;
  if (token == NULL || !token_well_formed(token))
    return 0;
  return hash_hex(s, token, hex) < 0 ? -1 : 1;
}

int al_token_verify(al_token_store *s, const char *token, al_token_info *who) {
  char hex[HASH_HEX_LEN + 1];
  int rc = al_token_hash(s, token, hex);
  return rc == 1 ? al_token_verify_hash(s, hex, who) : rc;
}

int al_token_verify_hash(al_token_store *s, const char *hex, al_token_info *who) {
  if (s == NULL)
    return -1;
  if (hex == NULL || strnlen(hex, HASH_HEX_LEN + 1) != HASH_HEX_LEN)
    return 0;
  /* The lookup is by hash, so its timing tells nothing about stored tokens.
   * Each call is its own read transaction: a committed revoke is seen. */
  sqlite3_stmt *st = s->verify;
  if (sqlite3_bind_text(st, 1, hex, HASH_HEX_LEN, SQLITE_STATIC) != SQLITE_OK)
    return -1;
  int rc = sqlite3_step(st);
  int result = -1;
  if (rc == SQLITE_ROW) {
    if (who != NULL)
      read_info(st, who);
    result = 1;
  } else if (rc == SQLITE_DONE) {
    result = 0;
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st); /* hex may be on the caller's stack */
  return result;
}
