/* SPDX-License-Identifier: Apache-2.0 */
/* secrets.c - the secret store (see secrets.h) on SQLite and libsodium.  The
 * table holds, per name, the format version, the nonce and the ciphertext
 * (value + 16-byte Poly1305 tag); plaintext never reaches SQLite.  The
 * master key is read on the first set/get of a handle and kept read-only in
 * guarded memory until close.  All cryptography is libsodium's. */
#define _GNU_SOURCE
#include "secrets.h"
#include "sqlite_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "cleanup.h"
#include "error.h"
#include "statedir.h"

#define DB_FILE "secrets.db"
#define SCHEMA_VERSION 1
#define FORMAT_VERSION 1 /* of the sealed value: cipher and associated data */
#define BUSY_TIMEOUT_MS 2000
#define STORE "secret database"
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define AD_PREFIX "airlock-secret\0v"

_Static_assert(AL_SECRET_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");

struct al_secrets {
  sqlite3 *db;
  char *state_dir;
  unsigned char *key; /* sodium_malloc'd, read-only once loaded; NULL until */
  char *key_path;     /* where the key came from, for messages */
};

static const char schema_sql[] = "CREATE TABLE IF NOT EXISTS secrets ("
                                 " name TEXT PRIMARY KEY,"
                                 " version INTEGER NOT NULL,"
                                 " nonce BLOB NOT NULL,"
                                 " ciphertext BLOB NOT NULL,"
                                 " created_at INTEGER NOT NULL,"
                                 " updated_at INTEGER NOT NULL);";

static int db_err(airlock_error **err, sqlite3 *db, const char *what) { return al_sqlite_err(err, db, STORE, what); }

static int exec_sql(sqlite3 *db, const char *sql, airlock_error **err) { return al_sqlite_exec(db, STORE, sql, err); }

void *al_secret_alloc(size_t len) {
  if (sodium_init() < 0)
    return NULL;
  return sodium_malloc(len ? len : 1);
}

void al_secret_free(void *value, size_t len) {
  (void)len; /* sodium_free wipes the whole allocation */
  if (value != NULL)
    sodium_free(value);
}

/* "no secret named" with errnum ENOENT for callers, but no strerror text */
static int not_found(airlock_error **err, const char *name) {
  bool fresh = err != NULL && *err == NULL;
  al_err(err, 0, "no secret named '%s'", name);
  if (fresh && *err != NULL)
    (*err)->errnum = ENOENT;
  return -1;
}

static int check_name(const char *name, airlock_error **err) {
  if (al_secret_name_valid(name))
    return 0;
  return al_err(err, 0, "invalid secret name '%.80s': use 1 to %d of A-Z a-z 0-9 . _ -", name ? name : "",
                AL_SECRET_NAME_MAX);
}

/* --- the database -------------------------------------------------------- */

static int ensure_schema(sqlite3 *db, airlock_error **err) {
  return al_sqlite_ensure_schema(db, STORE, schema_sql, SCHEMA_VERSION, err);
}

static int set_wal(sqlite3 *db, airlock_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
    return db_err(err, db, "cannot switch to WAL mode");
  const char *mode = (const char *)sqlite3_column_text(st, 0);
  if (mode == NULL || strcmp(mode, "wal") != 0)
    return al_err(err, 0, "secret database %s: cannot switch to WAL mode (journal mode is '%s')",
                  sqlite3_db_filename(db, "main"), mode ? mode : "?");
  return 0;
}

int al_secrets_open(const char *state_dir, bool create, al_secrets **out, airlock_error **err) {
  *out = NULL;
  if (sodium_init() < 0)
    return al_err(err, 0, "secret store: libsodium could not be initialised");
  if (al_state_dir_prepare(state_dir, create, err) < 0)
    return -1;
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "%s/%s", state_dir, DB_FILE) < 0)
    return al_err(err, ENOMEM, STORE);
  if (al_sqlite_check_file(STORE, path, create, NULL, err) < 0)
    return -1;

  al_secrets *s = calloc(1, sizeof(*s));
  if (s == NULL || (s->state_dir = strdup(state_dir)) == NULL) {
    free(s);
    return al_err(err, ENOMEM, STORE);
  }
  int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
  if (rc != SQLITE_OK) {
    if (s->db != NULL)
      db_err(err, s->db, "cannot open");
    else
      al_err(err, ENOMEM, "secret database %s", path);
    al_secrets_close(s);
    return -1;
  }
  sqlite3_extended_result_codes(s->db, 1);
  /* secure_delete: a removed or replaced ciphertext is overwritten, not left
   * in a free page */
  if (sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS) != SQLITE_OK ||
      exec_sql(s->db, "PRAGMA secure_delete = ON", err) < 0 || set_wal(s->db, err) < 0 ||
      ensure_schema(s->db, err) < 0) {
    db_err(err, s->db, "cannot set up the database");
    al_secrets_close(s);
    return -1;
  }
  *out = s;
  return 0;
}

void al_secrets_close(al_secrets *s) {
  if (s == NULL)
    return;
  sqlite3_close_v2(s->db);
  if (s->key != NULL)
    sodium_free(s->key);
  free(s->key_path);
  free(s->state_dir);
  free(s);
}

/* --- the master key ------------------------------------------------------ */

/* Read exactly AL_SECRET_KEY_BYTES from fd (checked: ours, no group/other
 * bits, a regular file of that size) into guarded memory. */
static int read_key(int fd, const char *path, unsigned char **out, airlock_error **err) {
  struct stat st;
  if (fstat(fd, &st) < 0)
    return al_err(err, errno, "master key %s", path);
  if (!S_ISREG(st.st_mode))
    return al_err(err, 0, "master key %s is not a regular file", path);
  if (st.st_uid != geteuid())
    return al_err(err, 0, "master key %s is owned by uid %u, not by uid %u that airlock runs as", path,
                  (unsigned)st.st_uid, (unsigned)geteuid());
  if (st.st_mode & 077)
    return al_err(err, 0, "master key %s has mode %04o: group and others must have no access (chmod 600 %s)", path,
                  (unsigned)(st.st_mode & 07777), path);
  if (st.st_size != AL_SECRET_KEY_BYTES)
    return al_err(err, 0, "master key %s is %lld bytes, not %d", path, (long long)st.st_size, AL_SECRET_KEY_BYTES);
  unsigned char *key = sodium_malloc(AL_SECRET_KEY_BYTES);
  if (key == NULL)
    return al_err(err, ENOMEM, "master key %s", path);
  size_t got = 0;
  while (got < AL_SECRET_KEY_BYTES) {
    ssize_t n = read(fd, key + got, AL_SECRET_KEY_BYTES - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int e = n < 0 ? errno : 0;
      sodium_free(key);
      return al_err(err, e, "master key %s: %s", path, n == 0 ? "shorter than its size" : "cannot read");
    }
    got += (size_t)n;
  }
  sodium_mprotect_readonly(key);
  *out = key;
  return 0;
}

/* A new STATE_DIR/master.key: 0600, random, synced; O_EXCL so that two
 * processes racing here both end up with the one that won. */
static int create_key_file(const char *path, airlock_error **err) {
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return errno == EEXIST ? 0 : al_err(err, errno, "cannot create master key %s", path);
  unsigned char *key = sodium_malloc(AL_SECRET_KEY_BYTES);
  if (key == NULL) {
    unlink(path);
    return al_err(err, ENOMEM, "master key %s", path);
  }
  randombytes_buf(key, AL_SECRET_KEY_BYTES);
  ssize_t n = write(fd, key, AL_SECRET_KEY_BYTES);
  int e = errno;
  sodium_free(key);
  if (n != AL_SECRET_KEY_BYTES || fsync(fd) < 0) {
    e = n < 0 ? e : errno;
    unlink(path);
    return al_err(err, n >= 0 && n != AL_SECRET_KEY_BYTES ? EIO : e, "cannot write master key %s", path);
  }
  return 0;
}

static int count_secrets(sqlite3 *db, long long *n, airlock_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM secrets", -1, &st, NULL) != SQLITE_OK ||
      sqlite3_step(st) != SQLITE_ROW)
    return db_err(err, db, "cannot count secrets");
  *n = sqlite3_column_int64(st, 0);
  return 0;
}

static int load_key(al_secrets *s, bool create, airlock_error **err) {
  if (s->key != NULL)
    return 0;
  const char *creds = getenv("CREDENTIALS_DIRECTORY");
  _cleanup_free_ char *path = NULL;
  bool from_credentials = creds != NULL && creds[0] != '\0';
  if (asprintf(&path, "%s/%s", from_credentials ? creds : s->state_dir,
               from_credentials ? AL_SECRET_CREDENTIAL : AL_SECRET_KEY_FILE) < 0)
    return al_err(err, ENOMEM, "master key");
  _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && !from_credentials && create) {
    /* a new key for an empty store only: secrets sealed with a key that has
     * gone missing must not be silently joined by ones under a new key */
    long long n = 0;
    if (count_secrets(s->db, &n, err) < 0)
      return -1;
    if (n > 0)
      return al_err(err, 0,
                    "master key %s is missing but %s/" DB_FILE " holds %lld secret%s sealed with it: restore the key"
                    " (or remove the secrets)",
                    path, s->state_dir, n, n == 1 ? "" : "s");
    if (create_key_file(path, err) < 0)
      return -1;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) {
    if (from_credentials)
      return al_err(err, errno, "master key %s (CREDENTIALS_DIRECTORY is set, so the key must be there)", path);
    return al_err(err, errno, "master key %s", path);
  }
  if (read_key(fd, path, &s->key, err) < 0)
    return -1;
  s->key_path = AL_STEAL(path);
  return 0;
}

/* --- secrets ------------------------------------------------------------- */

/* Associated data: a fixed prefix, the format version, the name. */
static size_t make_ad(unsigned char *ad, size_t cap, const char *name, int version) {
  size_t plen = sizeof(AD_PREFIX) - 1, nlen = strlen(name);
  if (plen + 1 + nlen > cap)
    return 0;
  memcpy(ad, AD_PREFIX, plen);
  ad[plen] = (unsigned char)version;
  memcpy(ad + plen + 1, name, nlen);
  return plen + 1 + nlen;
}

int al_secrets_set(al_secrets *s, const char *name, const void *value, size_t len, airlock_error **err) {
  if (check_name(name, err) < 0)
    return -1;
  if (len > AL_SECRET_VALUE_MAX)
    return al_err(err, 0, "secret '%s' is %zu bytes; the most is %d (64 KiB)", name, len, AL_SECRET_VALUE_MAX);
  if (value == NULL && len > 0)
    return al_err(err, EINVAL, "secret '%s'", name);
  if (load_key(s, true, err) < 0)
    return -1;

  unsigned char nonce[NONCE_BYTES], ad[64 + AL_SECRET_NAME_MAX];
  randombytes_buf(nonce, sizeof(nonce));
  size_t ad_len = make_ad(ad, sizeof(ad), name, FORMAT_VERSION);
  _cleanup_free_ unsigned char *ct = malloc(len + TAG_BYTES);
  if (ct == NULL)
    return al_err(err, ENOMEM, "secret '%s'", name);
  unsigned long long ct_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &ct_len, value, len, ad, ad_len, NULL, nonce, s->key) != 0)
    return al_err(err, 0, "secret '%s': encryption failed", name);

  sqlite3_int64 now = (sqlite3_int64)time(NULL);
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db,
                         "INSERT INTO secrets (name, version, nonce, ciphertext, created_at, updated_at)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT(name) DO UPDATE SET"
                         " version = excluded.version, nonce = excluded.nonce,"
                         " ciphertext = excluded.ciphertext, updated_at = excluded.updated_at",
                         -1, &st, NULL) != SQLITE_OK ||
      sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_int(st, 2, FORMAT_VERSION) != SQLITE_OK ||
      sqlite3_bind_blob(st, 3, nonce, sizeof(nonce), SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_blob64(st, 4, ct, ct_len, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_int64(st, 5, now) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
    return db_err(err, s->db, "cannot store the secret");
  return 0;
}

int al_secrets_get(al_secrets *s, const char *name, unsigned char **value, size_t *len, airlock_error **err) {
  *value = NULL;
  *len = 0;
  if (check_name(name, err) < 0)
    return -1;
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, "SELECT version, nonce, ciphertext FROM secrets WHERE name = ?1", -1, &st, NULL) !=
          SQLITE_OK ||
      sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK)
    return db_err(err, s->db, "cannot look up the secret");
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE)
    return not_found(err, name);
  if (rc != SQLITE_ROW)
    return db_err(err, s->db, "cannot look up the secret");
  int version = sqlite3_column_int(st, 0);
  const unsigned char *nonce = sqlite3_column_blob(st, 1);
  int nonce_len = sqlite3_column_bytes(st, 1);
  const unsigned char *ct = sqlite3_column_blob(st, 2);
  int ct_len = sqlite3_column_bytes(st, 2);
  if (version != FORMAT_VERSION)
    return al_err(err, 0, "secret '%s' has format version %d; this airlock knows only %d", name, version,
                  FORMAT_VERSION);
  if (nonce == NULL || nonce_len != (int)NONCE_BYTES || ct == NULL || ct_len < (int)TAG_BYTES ||
      ct_len > AL_SECRET_VALUE_MAX + (int)TAG_BYTES)
    return al_err(err, 0, "secret '%s' is damaged in the database (nonce or ciphertext has the wrong size)", name);
  if (load_key(s, false, err) < 0)
    return -1;

  unsigned char ad[64 + AL_SECRET_NAME_MAX];
  size_t ad_len = make_ad(ad, sizeof(ad), name, version);
  size_t plain_len = (size_t)ct_len - TAG_BYTES;
  unsigned char *plain = sodium_malloc(plain_len ? plain_len : 1);
  if (plain == NULL)
    return al_err(err, ENOMEM, "secret '%s'", name);
  unsigned long long out_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &out_len, NULL, ct, (unsigned long long)ct_len, ad, ad_len,
                                                 nonce, s->key) != 0) {
    sodium_free(plain);
    return al_err(err, 0,
                  "secret '%s' cannot be decrypted: the master key %s is not the one it was sealed with, or its row"
                  " in the database was altered or copied from another name",
                  name, s->key_path);
  }
  *value = plain;
  *len = (size_t)out_len;
  return 0;
}

int al_secrets_list(al_secrets *s, al_secret_info **infos, size_t *n, airlock_error **err) {
  *infos = NULL;
  *n = 0;
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, "SELECT name, created_at, updated_at FROM secrets ORDER BY name", -1, &st, NULL) !=
      SQLITE_OK)
    return db_err(err, s->db, "cannot list secrets");
  _cleanup_free_ al_secret_info *list = NULL;
  size_t count = 0, cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (count == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      al_secret_info *grown = reallocarray(list, ncap, sizeof(*list));
      if (grown == NULL)
        return al_err(err, ENOMEM, "cannot list secrets");
      list = grown;
      cap = ncap;
    }
    al_secret_info *info = &list[count++];
    memset(info, 0, sizeof(*info));
    const unsigned char *nm = sqlite3_column_text(st, 0);
    snprintf(info->name, sizeof(info->name), "%s", nm ? (const char *)nm : "");
    info->created_at = sqlite3_column_int64(st, 1);
    info->updated_at = sqlite3_column_int64(st, 2);
  }
  if (rc != SQLITE_DONE)
    return db_err(err, s->db, "cannot list secrets");
  *infos = AL_STEAL(list);
  *n = count;
  return 0;
}

int al_secrets_rm(al_secrets *s, const char *name, airlock_error **err) {
  if (check_name(name, err) < 0)
    return -1;
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, "DELETE FROM secrets WHERE name = ?1", -1, &st, NULL) != SQLITE_OK ||
      sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
    return db_err(err, s->db, "cannot remove the secret");
  if (sqlite3_changes(s->db) != 1)
    return not_found(err, name);
  return 0;
}
