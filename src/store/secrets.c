/* SPDX-License-Identifier: Apache-2.0 */
/* secrets.c - the secret store (see secrets.h) on SQLite and libsodium.  The
 * table holds, per name, the format version, the nonce and the ciphertext
 * (value + 16-byte Poly1305 tag); plaintext never reaches SQLite.  The
 * master key is read on the first set/get of a handle and kept read-only in
 * guarded memory until close.  All cryptography is libsodium's.
 *
 * The store also records the id of the key its secrets are sealed with, and
 * of the key the last rotation replaced (a keyed BLAKE2b of a fixed label: it
 * tells keys apart and reveals nothing of them): secrets_rotate.c says why,
 * and loading a key here settles what a crashed rotation left behind. */
#define _GNU_SOURCE
#include "secrets.h"
#include "secrets_store.h"
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

#define SCHEMA_VERSION 2 /* 2: the master_key table (the sealing key's id) */
#define BUSY_TIMEOUT_MS 2000
#define AD_PREFIX "airlock-secret\0v"
#define KEY_ID_LABEL "airlock secret store master key id"

_Static_assert(AL_SECRET_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");

static const char schema_sql[] = "CREATE TABLE IF NOT EXISTS secrets ("
                                 " name TEXT PRIMARY KEY,"
                                 " version INTEGER NOT NULL,"
                                 " nonce BLOB NOT NULL,"
                                 " ciphertext BLOB NOT NULL,"
                                 " created_at INTEGER NOT NULL,"
                                 " updated_at INTEGER NOT NULL);"
                                 "CREATE TABLE IF NOT EXISTS master_key ("
                                 " one INTEGER PRIMARY KEY CHECK (one = 1),"
                                 " key_id BLOB NOT NULL,"
                                 " old_key_id BLOB);";

int sec_db_err(airlock_error **err, sqlite3 *db, const char *what) { return al_sqlite_err(err, db, STORE, what); }

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
    return sec_db_err(err, db, "cannot switch to WAL mode");
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
      sec_db_err(err, s->db, "cannot open");
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
    sec_db_err(err, s->db, "cannot set up the database");
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

int sec_count(sqlite3 *db, long long *n, airlock_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM secrets", -1, &st, NULL) != SQLITE_OK ||
      sqlite3_step(st) != SQLITE_ROW)
    return sec_db_err(err, db, "cannot count secrets");
  *n = sqlite3_column_int64(st, 0);
  return 0;
}

static void key_id_of(const unsigned char *key, unsigned char id[KEY_ID_BYTES]) {
  crypto_generichash(id, KEY_ID_BYTES, (const unsigned char *)KEY_ID_LABEL, sizeof(KEY_ID_LABEL) - 1, key,
                     AL_SECRET_KEY_BYTES);
}

/* The id of the key the store's secrets are sealed with: 1 and *id, or 0
 * when the store has none (made before rotation existed, or never keyed).
 * old_id (may be NULL): the key the last rotation replaced, zeros if none. */
static int stored_key_id2(sqlite3 *db, unsigned char id[KEY_ID_BYTES], unsigned char *old_id, airlock_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT key_id, old_key_id FROM master_key WHERE one = 1", -1, &st, NULL) != SQLITE_OK)
    return sec_db_err(err, db, "cannot read the master key's id");
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW || sqlite3_column_bytes(st, 0) != KEY_ID_BYTES)
    return sec_db_err(err, db, "cannot read the master key's id");
  memcpy(id, sqlite3_column_blob(st, 0), KEY_ID_BYTES);
  if (old_id != NULL) {
    memset(old_id, 0, KEY_ID_BYTES);
    if (sqlite3_column_bytes(st, 1) == KEY_ID_BYTES)
      memcpy(old_id, sqlite3_column_blob(st, 1), KEY_ID_BYTES);
  }
  return 1;
}

int sec_stored_key_id(sqlite3 *db, unsigned char id[KEY_ID_BYTES], airlock_error **err) {
  return stored_key_id2(db, id, NULL, err);
}

/* key's id as the store's; old_key (may be NULL): the key a rotation
 * replaces, so that its master.key.old can be told from anyone's file */
int sec_store_key_id(sqlite3 *db, const unsigned char *key, const unsigned char *old_key, airlock_error **err) {
  unsigned char id[KEY_ID_BYTES], old_id[KEY_ID_BYTES];
  key_id_of(key, id);
  if (old_key != NULL)
    key_id_of(old_key, old_id);
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO master_key (one, key_id, old_key_id) VALUES (1, ?1, ?2)", -1, &st,
                         NULL) != SQLITE_OK ||
      sqlite3_bind_blob(st, 1, id, KEY_ID_BYTES, SQLITE_TRANSIENT) != SQLITE_OK ||
      (old_key ? sqlite3_bind_blob(st, 2, old_id, KEY_ID_BYTES, SQLITE_TRANSIENT) : sqlite3_bind_null(st, 2)) !=
          SQLITE_OK ||
      sqlite3_step(st) != SQLITE_DONE)
    return sec_db_err(err, db, "cannot record the master key's id");
  return 0;
}

bool sec_key_has_id(const unsigned char *key, const unsigned char id[KEY_ID_BYTES]) {
  unsigned char mine[KEY_ID_BYTES];
  key_id_of(key, mine);
  return sodium_memcmp(mine, id, KEY_ID_BYTES) == 0;
}

static int read_key_file(const char *path, unsigned char **key, airlock_error **err) {
  _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return al_err(err, errno, "master key %s", path);
  return read_key(fd, path, key, err);
}

void sec_sync_dir(const char *dir) {
  _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0)
    fsync(fd);
}

void sec_set_key(al_secrets *s, unsigned char *key, const char *path) {
  if (s->key != NULL)
    sodium_free(s->key);
  s->key = key;
  free(s->key_path);
  s->key_path = strdup(path);
}

/* master.key.old exists: a rotation is under way, or was interrupted (see
 * the top of this file).  Use the key the store's id names; with the write
 * lock held (fix), also put the files right. */
static int settle_rotation(al_secrets *s, const char *path, const char *old_path, bool fix, airlock_error **err) {
  unsigned char id[KEY_ID_BYTES], replaced[KEY_ID_BYTES];
  int have = stored_key_id2(s->db, id, replaced, err);
  if (have <= 0)
    return have; /* no id: master.key.old is not a rotation's */
  if (fix) {     /* under the lock master.key is what it will stay */
    unsigned char *now = NULL;
    if (read_key_file(path, &now, err) < 0)
      return -1;
    sec_set_key(s, now, path);
  }
  unsigned char *old = NULL;
  airlock_error *ignored = NULL;
  if (read_key_file(old_path, &old, &ignored) < 0) {
    airlock_error_free(&ignored); /* not a key file: not a rotation's either */
    return 0;
  }
  if (sec_key_has_id(s->key, id)) {
    /* committed, the key it replaced no longer needed; or a crash before
     * the rename left a second link to master.key itself */
    if (fix && (sec_key_has_id(old, replaced) || sec_key_has_id(old, id)) && unlink(old_path) == 0)
      sec_sync_dir(s->state_dir);
    sodium_free(old);
    return 0;
  }
  if (!sec_key_has_id(old, id)) { /* neither key: the usual error when a secret does not open */
    sodium_free(old);
    return 0;
  }
  /* not committed: the secrets are still sealed with the old key */
  sec_set_key(s, old, old_path);
  if (fix && rename(old_path, path) == 0) {
    sec_sync_dir(s->state_dir);
    sec_set_key(s, AL_STEAL(s->key), path);
  }
  return 0;
}

/* The master key into s->key.  locked: the caller holds the store's write
 * lock (a transaction begun with BEGIN IMMEDIATE). */
int sec_load_key(al_secrets *s, bool create, bool locked, airlock_error **err) {
  if (s->key != NULL)
    return 0;
  const char *creds = getenv("CREDENTIALS_DIRECTORY");
  _cleanup_free_ char *path = NULL, *old_path = NULL;
  bool from_credentials = creds != NULL && creds[0] != '\0';
  if (asprintf(&path, "%s/%s", from_credentials ? creds : s->state_dir,
               from_credentials ? AL_SECRET_CREDENTIAL : AL_SECRET_KEY_FILE) < 0 ||
      asprintf(&old_path, "%s%s", path, OLD_SUFFIX) < 0)
    return al_err(err, ENOMEM, "master key");
  _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  bool created = false;
  if (fd < 0 && errno == ENOENT && !from_credentials && create) {
    /* a new key for an empty store only: secrets sealed with a key that has
     * gone missing must not be silently joined by ones under a new key */
    long long n = 0;
    if (sec_count(s->db, &n, err) < 0)
      return -1;
    if (n > 0)
      return al_err(err, 0,
                    "master key %s is missing but %s/" DB_FILE " holds %lld secret%s sealed with it: restore the key"
                    " (or remove the secrets)",
                    path, s->state_dir, n, n == 1 ? "" : "s");
    if (create_key_file(path, err) < 0)
      return -1;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    created = true;
  }
  if (fd < 0) {
    if (from_credentials)
      return al_err(err, errno, "master key %s (CREDENTIALS_DIRECTORY is set, so the key must be there)", path);
    return al_err(err, errno, "master key %s", path);
  }
  if (read_key(fd, path, &s->key, err) < 0)
    return -1;
  s->key_path = AL_STEAL(path);
  if (created) /* the store's secrets will be sealed with this one */
    return locked ? sec_store_key_id(s->db, s->key, NULL, err) : 0;
  struct stat st;
  if (from_credentials || lstat(old_path, &st) < 0)
    return 0;
  bool fix = locked;
  if (!locked) { /* the lock only if free now: never wait for a rotation */
    sqlite3_busy_timeout(s->db, 0);
    fix = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
  }
  _cleanup_free_ char *key_path = strdup(s->key_path);
  int rc = key_path ? settle_rotation(s, key_path, old_path, fix, err) : al_err(err, ENOMEM, "master key");
  if (fix && !locked && (rc < 0 || al_sqlite_exec(s->db, STORE, "COMMIT", err) < 0)) {
    al_sqlite_rollback_if_open(s->db);
    rc = -1;
  }
  return rc;
}

/* Forget the handle's key: the next use reads it again (a rotation may have
 * replaced it since). */
void sec_drop_key(al_secrets *s) {
  if (s->key != NULL)
    sodium_free(s->key);
  s->key = NULL;
  free(s->key_path);
  s->key_path = NULL;
}

/* --- secrets ------------------------------------------------------------- */

/* Associated data: a fixed prefix, the format version, the name. */
size_t sec_make_ad(unsigned char *ad, size_t cap, const char *name, int version) {
  size_t plen = sizeof(AD_PREFIX) - 1, nlen = strlen(name);
  if (plen + 1 + nlen > cap)
    return 0;
  memcpy(ad, AD_PREFIX, plen);
  ad[plen] = (unsigned char)version;
  memcpy(ad + plen + 1, name, nlen);
  return plen + 1 + nlen;
}

static int set_locked(al_secrets *s, const char *name, const void *value, size_t len, airlock_error **err);

int al_secrets_set(al_secrets *s, const char *name, const void *value, size_t len, airlock_error **err) {
  if (check_name(name, err) < 0)
    return -1;
  if (len > AL_SECRET_VALUE_MAX)
    return al_err(err, 0, "secret '%s' is %zu bytes; the most is %d (64 KiB)", name, len, AL_SECRET_VALUE_MAX);
  if (value == NULL && len > 0)
    return al_err(err, EINVAL, "secret '%s'", name);
  /* under the write lock: the key is the one the store's id names, and no
   * rotation can commit between the sealing and the write */
  if (al_sqlite_exec(s->db, STORE, "BEGIN IMMEDIATE", err) < 0)
    return -1;
  int rc = set_locked(s, name, value, len, err);
  if (rc < 0 || al_sqlite_exec(s->db, STORE, "COMMIT", err) < 0) {
    al_sqlite_rollback_if_open(s->db);
    return -1;
  }
  return 0;
}

/* The key the store's secrets are sealed with, read again when the
 * handle's is another (a rotation since); the caller holds the write lock. */
static int load_current_key(al_secrets *s, bool create, airlock_error **err) {
  unsigned char id[KEY_ID_BYTES];
  for (int attempt = 0; attempt < 2; attempt++) {
    if (sec_load_key(s, create, true, err) < 0)
      return -1;
    int have = sec_stored_key_id(s->db, id, err);
    if (have < 0)
      return -1;
    if (have == 0 || sec_key_has_id(s->key, id))
      return 0;
    if (attempt == 0)
      sec_drop_key(s);
  }
  long long n = 0;
  if (sec_count(s->db, &n, err) < 0)
    return -1;
  if (n == 0) /* nothing sealed with the recorded key: this one is the store's now */
    return sec_store_key_id(s->db, s->key, NULL, err);
  return al_err(err, 0,
                "master key %s is not the key the secrets in %s/" DB_FILE " are sealed with: restore the right key",
                s->key_path, s->state_dir);
}

static int set_locked(al_secrets *s, const char *name, const void *value, size_t len, airlock_error **err) {
  if (load_current_key(s, true, err) < 0)
    return -1;

  unsigned char nonce[NONCE_BYTES], ad[64 + AL_SECRET_NAME_MAX];
  randombytes_buf(nonce, sizeof(nonce));
  size_t ad_len = sec_make_ad(ad, sizeof(ad), name, FORMAT_VERSION);
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
    return sec_db_err(err, s->db, "cannot store the secret");
  return 0;
}

/* One read of NAME's row and one decryption with the handle's key: 0, 1
 * when it did not open (*plain freed), or -1. */
int sec_get_once(al_secrets *s, const char *name, unsigned char **plain, size_t *plain_len, airlock_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, "SELECT version, nonce, ciphertext FROM secrets WHERE name = ?1", -1, &st, NULL) !=
          SQLITE_OK ||
      sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK)
    return sec_db_err(err, s->db, "cannot look up the secret");
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE)
    return not_found(err, name);
  if (rc != SQLITE_ROW)
    return sec_db_err(err, s->db, "cannot look up the secret");
  int version = sqlite3_column_int(st, 0);
  const unsigned char *nonce_col = sqlite3_column_blob(st, 1);
  int nonce_len = sqlite3_column_bytes(st, 1);
  const unsigned char *ct_col = sqlite3_column_blob(st, 2);
  int ct_len = sqlite3_column_bytes(st, 2);
  if (version != FORMAT_VERSION)
    return al_err(err, 0, "secret '%s' has format version %d; this airlock knows only %d", name, version,
                  FORMAT_VERSION);
  if (nonce_col == NULL || nonce_len != (int)NONCE_BYTES || ct_col == NULL || ct_len < (int)TAG_BYTES ||
      ct_len > AL_SECRET_VALUE_MAX + (int)TAG_BYTES)
    return al_err(err, 0, "secret '%s' is damaged in the database (nonce or ciphertext has the wrong size)", name);
  /* copied and the statement ended: loading the key may take the write lock */
  unsigned char nonce[NONCE_BYTES];
  memcpy(nonce, nonce_col, NONCE_BYTES);
  _cleanup_free_ unsigned char *ct = malloc((size_t)ct_len);
  if (ct == NULL)
    return al_err(err, ENOMEM, "secret '%s'", name);
  memcpy(ct, ct_col, (size_t)ct_len);
  sqlite3_reset(st);
  if (sec_load_key(s, false, false, err) < 0)
    return -1;

  unsigned char ad[64 + AL_SECRET_NAME_MAX];
  size_t ad_len = sec_make_ad(ad, sizeof(ad), name, version);
  size_t len = (size_t)ct_len - TAG_BYTES;
  *plain = sodium_malloc(len ? len : 1);
  if (*plain == NULL)
    return al_err(err, ENOMEM, "secret '%s'", name);
  unsigned long long out_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(*plain, &out_len, NULL, ct, (unsigned long long)ct_len, ad, ad_len,
                                                 nonce, s->key) != 0) {
    sodium_free(*plain);
    *plain = NULL;
    return 1;
  }
  *plain_len = (size_t)out_len;
  return 0;
}

int al_secrets_get(al_secrets *s, const char *name, unsigned char **value, size_t *len, airlock_error **err) {
  *value = NULL;
  *len = 0;
  if (check_name(name, err) < 0)
    return -1;
  int rc = sec_get_once(s, name, value, len, err);
  if (rc == 1) { /* a rotation may have committed between the row's read and the key's: once more */
    sec_drop_key(s);
    rc = sec_get_once(s, name, value, len, err);
  }
  if (rc == 1)
    return al_err(err, 0,
                  "secret '%s' cannot be decrypted: the master key %s is not the one it was sealed with, or its row"
                  " in the database was altered or copied from another name",
                  name, s->key_path);
  return rc;
}

int al_secrets_list(al_secrets *s, al_secret_info **infos, size_t *n, airlock_error **err) {
  *infos = NULL;
  *n = 0;
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, "SELECT name, created_at, updated_at FROM secrets ORDER BY name", -1, &st, NULL) !=
      SQLITE_OK)
    return sec_db_err(err, s->db, "cannot list secrets");
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
    return sec_db_err(err, s->db, "cannot list secrets");
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
    return sec_db_err(err, s->db, "cannot remove the secret");
  if (sqlite3_changes(s->db) != 1)
    return not_found(err, name);
  return 0;
}
