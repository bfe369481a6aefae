/* SPDX-License-Identifier: Apache-2.0 */
/* secrets.c - the secret store (see secrets.h) on SQLite and libsodium.  The
 * table holds, per name, the format version, the nonce and the ciphertext
 * (value + 16-byte Poly1305 tag); plaintext never reaches SQLite.  The
 * master key is read on the first set/get of a handle and kept read-only in
 * guarded memory until close.  All cryptography is libsodium's.
 *
 * Rotation (al_secrets_rotate_key).  The store records the id of the key its
 * secrets are sealed with (a keyed BLAKE2b of a fixed label: it tells keys
 * apart and reveals nothing of them), and a rotation keeps the old key file
 * as master.key.old until its transaction has committed:
 *   1. under the write lock: the old key's id is recorded if the store had
 *      none (committed, so a crash below can always be told apart);
 *   2. BEGIN IMMEDIATE; every secret is opened with the old key and sealed
 *      again with a new random one (fresh nonces), the new key's id stored;
 *   3. master.key.new is written (0600) and fsynced;
 *   4. master.key is hard-linked to master.key.old, then master.key.new is
 *      renamed over master.key, the directory fsynced after each;
 *   5. COMMIT; then master.key.old is removed.
 * A crash before 4's rename leaves the old key and old ciphertexts (a stray
 * master.key.new is replaced by the next rotation).  One after the rename
 * but before the commit leaves master.key = new key, master.key.old = old
 * key, old ciphertexts and the old id; one after the commit, the new state
 * and a leftover master.key.old.  Loading a key settles both: when
 * master.key.old exists, the key whose id the store records is used, and
 * under the store's write lock (taken only if it is free at once, so never
 * in the middle of a rotation) the files are put right: master.key.old
 * renamed back over master.key, or removed.  So every crash point leaves
 * all-old or all-new state that opens.  A set seals under the write lock
 * with the key the store's id names, so a set racing a rotation cannot put
 * a secret under the other key. */
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
#define SCHEMA_VERSION 2 /* 2: the master_key table (the sealing key's id) */
#define FORMAT_VERSION 1 /* of the sealed value: cipher and associated data */
#define BUSY_TIMEOUT_MS 2000
#define STORE "secret database"
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define AD_PREFIX "airlock-secret\0v"
#define KEY_ID_BYTES 16
#define KEY_ID_LABEL "airlock secret store master key id"
#define OLD_SUFFIX ".old" /* the key a rotation replaces, until its commit */
#define NEW_SUFFIX ".new" /* the key a rotation is writing */

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
                                 " updated_at INTEGER NOT NULL);"
                                 "CREATE TABLE IF NOT EXISTS master_key ("
                                 " one INTEGER PRIMARY KEY CHECK (one = 1),"
                                 " key_id BLOB NOT NULL);";

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

static void key_id_of(const unsigned char *key, unsigned char id[KEY_ID_BYTES]) {
  crypto_generichash(id, KEY_ID_BYTES, (const unsigned char *)KEY_ID_LABEL, sizeof(KEY_ID_LABEL) - 1, key,
                     AL_SECRET_KEY_BYTES);
}

/* The id of the key the store's secrets are sealed with: 1 and *id, or 0
 * when the store has none (made before rotation existed, or never keyed). */
static int stored_key_id(sqlite3 *db, unsigned char id[KEY_ID_BYTES], airlock_error **err) {
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT key_id FROM master_key WHERE one = 1", -1, &st, NULL) != SQLITE_OK)
    return db_err(err, db, "cannot read the master key's id");
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE)
    return 0;
  if (rc != SQLITE_ROW || sqlite3_column_bytes(st, 0) != KEY_ID_BYTES)
    return db_err(err, db, "cannot read the master key's id");
  memcpy(id, sqlite3_column_blob(st, 0), KEY_ID_BYTES);
  return 1;
}

static int store_key_id(sqlite3 *db, const unsigned char *key, airlock_error **err) {
  unsigned char id[KEY_ID_BYTES];
  key_id_of(key, id);
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO master_key (one, key_id) VALUES (1, ?1)", -1, &st, NULL) !=
          SQLITE_OK ||
      sqlite3_bind_blob(st, 1, id, KEY_ID_BYTES, SQLITE_TRANSIENT) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
    return db_err(err, db, "cannot record the master key's id");
  return 0;
}

static bool key_has_id(const unsigned char *key, const unsigned char id[KEY_ID_BYTES]) {
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

static void sync_dir(const char *dir) {
  _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0)
    fsync(fd);
}

static void set_key(al_secrets *s, unsigned char *key, const char *path) {
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
  unsigned char id[KEY_ID_BYTES];
  int have = stored_key_id(s->db, id, err);
  if (have <= 0)
    return have; /* no id: master.key.old is not a rotation's */
  if (fix) {     /* under the lock master.key is what it will stay */
    unsigned char *now = NULL;
    if (read_key_file(path, &now, err) < 0)
      return -1;
    set_key(s, now, path);
  }
  if (key_has_id(s->key, id)) { /* committed: the old key is no longer needed */
    if (fix && unlink(old_path) == 0)
      sync_dir(s->state_dir);
    return 0;
  }
  unsigned char *old = NULL;
  airlock_error *ignored = NULL;
  if (read_key_file(old_path, &old, &ignored) < 0 || !key_has_id(old, id)) {
    airlock_error_free(&ignored); /* neither key: the usual error when a secret does not open */
    if (old != NULL)
      sodium_free(old);
    return 0;
  }
  /* not committed: the secrets are still sealed with the old key */
  set_key(s, old, old_path);
  if (fix && rename(old_path, path) == 0) {
    sync_dir(s->state_dir);
    set_key(s, AL_STEAL(s->key), path);
  }
  return 0;
}

/* The master key into s->key.  locked: the caller holds the store's write
 * lock (a transaction begun with BEGIN IMMEDIATE). */
static int load_key(al_secrets *s, bool create, bool locked, airlock_error **err) {
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
    return locked ? store_key_id(s->db, s->key, err) : 0;
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
static void drop_key(al_secrets *s) {
  if (s->key != NULL)
    sodium_free(s->key);
  s->key = NULL;
  free(s->key_path);
  s->key_path = NULL;
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
    if (load_key(s, create, true, err) < 0)
      return -1;
    int have = stored_key_id(s->db, id, err);
    if (have < 0)
      return -1;
    if (have == 0 || key_has_id(s->key, id))
      return 0;
    if (attempt == 0)
      drop_key(s);
  }
  return al_err(err, 0,
                "master key %s is not the key the secrets in %s/" DB_FILE " are sealed with: restore the right key",
                s->key_path, s->state_dir);
}

static int set_locked(al_secrets *s, const char *name, const void *value, size_t len, airlock_error **err) {
  if (load_current_key(s, true, err) < 0)
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

/* One read of NAME's row and one decryption with the handle's key: 0, 1
 * when it did not open (*plain freed), or -1. */
static int get_once(al_secrets *s, const char *name, unsigned char **plain, size_t *plain_len, airlock_error **err) {
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
  if (load_key(s, false, false, err) < 0)
    return -1;

  unsigned char ad[64 + AL_SECRET_NAME_MAX];
  size_t ad_len = make_ad(ad, sizeof(ad), name, version);
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
  int rc = get_once(s, name, value, len, err);
  if (rc == 1) { /* a rotation may have committed between the row's read and the key's: once more */
    drop_key(s);
    rc = get_once(s, name, value, len, err);
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

/* --- rotation (the order is at the top of this file) ----------------------- */

/* Step 2: every secret opened with s->key and sealed with new_key, in the
 * caller's transaction. */
static int reseal_all(al_secrets *s, const unsigned char *new_key, size_t *count, airlock_error **err) {
  al_secret_info *list = NULL;
  size_t n = 0;
  if (al_secrets_list(s, &list, &n, err) < 0)
    return -1;
  _cleanup_free_ al_secret_info *names = list;
  for (size_t i = 0; i < n; i++) {
    const char *name = names[i].name;
    unsigned char *plain = NULL;
    size_t len = 0;
    int rc = get_once(s, name, &plain, &len, err);
    if (rc == 1)
      return al_err(err, 0,
                    "secret '%s' does not open with the master key %s: nothing was changed (remove or set it again"
                    " before rotating)",
                    name, s->key_path);
    if (rc < 0)
      return -1;
    unsigned char nonce[NONCE_BYTES], ad[64 + AL_SECRET_NAME_MAX];
    randombytes_buf(nonce, sizeof(nonce));
    size_t ad_len = make_ad(ad, sizeof(ad), name, FORMAT_VERSION);
    _cleanup_free_ unsigned char *ct = malloc(len + TAG_BYTES);
    unsigned long long ct_len = 0;
    rc =
        ct ? crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &ct_len, plain, len, ad, ad_len, NULL, nonce, new_key) : -1;
    sodium_free(plain);
    if (rc != 0)
      return al_err(err, ct ? 0 : ENOMEM, "secret '%s': sealing with the new key failed", name);
    _cleanup_stmt_ sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "UPDATE secrets SET version = ?2, nonce = ?3, ciphertext = ?4 WHERE name = ?1", -1,
                           &st, NULL) != SQLITE_OK ||
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int(st, 2, FORMAT_VERSION) != SQLITE_OK ||
        sqlite3_bind_blob(st, 3, nonce, sizeof(nonce), SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob64(st, 4, ct, ct_len, SQLITE_STATIC) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE)
      return db_err(err, s->db, "cannot store a re-sealed secret");
  }
  *count = n;
  return store_key_id(s->db, new_key, err);
}

/* Step 3: PATH, new, 0600, synced (a leftover of a crashed rotation is
 * replaced: only the holder of the write lock writes it) */
static int write_new_key_file(const char *path, const unsigned char *key, airlock_error **err) {
  if (unlink(path) < 0 && errno != ENOENT)
    return al_err(err, errno, "cannot replace %s", path);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return al_err(err, errno, "cannot write the new master key %s", path);
  ssize_t n = write(fd, key, AL_SECRET_KEY_BYTES);
  if (n != AL_SECRET_KEY_BYTES || fsync(fd) < 0) {
    int e = n < 0 || n == AL_SECRET_KEY_BYTES ? errno : EIO;
    unlink(path);
    return al_err(err, e, "cannot write the new master key %s", path);
  }
  return 0;
}

/* Steps 3 to 5, in the caller's transaction (committed here on success). */
static int replace_key_and_commit(al_secrets *s, const unsigned char *new_key, airlock_error **err) {
  _cleanup_free_ char *path = NULL, *new_path = NULL, *old_path = NULL;
  if (asprintf(&path, "%s/%s", s->state_dir, AL_SECRET_KEY_FILE) < 0 ||
      asprintf(&new_path, "%s%s", path, NEW_SUFFIX) < 0 || asprintf(&old_path, "%s%s", path, OLD_SUFFIX) < 0)
    return al_err(err, ENOMEM, "master key");
  if (write_new_key_file(new_path, new_key, err) < 0)
    return -1;
  if (link(path, old_path) < 0) {
    al_err(err, errno, "cannot keep the old master key as %s", old_path);
    unlink(new_path);
    return -1;
  }
  sync_dir(s->state_dir);
  if (rename(new_path, path) < 0) {
    al_err(err, errno, "cannot put the new master key in place of %s", path);
    unlink(new_path);
    unlink(old_path);
    return -1;
  }
  sync_dir(s->state_dir);
  if (al_sqlite_exec(s->db, STORE, "COMMIT", err) < 0) {
    /* the secrets are still the old key's: so is master.key again (were
     * this to fail, the next load settles it from master.key.old) */
    if (rename(old_path, path) == 0)
      sync_dir(s->state_dir);
    return -1;
  }
  if (unlink(old_path) == 0)
    sync_dir(s->state_dir);
  return 0;
}

/* Step 1, in a transaction of its own: the old key, settled and checked
 * against the store, its id recorded. */
static int record_old_key(al_secrets *s, airlock_error **err) {
  drop_key(s);
  unsigned char id[KEY_ID_BYTES];
  long long n = 0;
  int have = 0;
  _cleanup_free_ char *old_path = NULL;
  if (asprintf(&old_path, "%s/%s%s", s->state_dir, AL_SECRET_KEY_FILE, OLD_SUFFIX) < 0)
    return al_err(err, ENOMEM, "master key");
  if (count_secrets(s->db, &n, err) < 0 || load_key(s, n == 0, true, err) < 0 ||
      (have = stored_key_id(s->db, id, err)) < 0)
    return -1;
  if (have == 1 && !key_has_id(s->key, id))
    return al_err(err, 0,
                  "master key %s is not the key the secrets in %s/" DB_FILE " are sealed with: nothing was changed",
                  s->key_path, s->state_dir);
  if (access(old_path, F_OK) == 0)
    return al_err(err, 0, "%s exists and is not from a rotation of this store: move it away first", old_path);
  return have == 0 ? store_key_id(s->db, s->key, err) : 0;
}

/* Steps 2 to 5 in one transaction; the handle keeps the new key. */
static int reseal_and_replace(al_secrets *s, size_t *count, airlock_error **err) {
  unsigned char id[KEY_ID_BYTES];
  int have = stored_key_id(s->db, id, err);
  if (have < 0)
    return -1;
  if (have == 0 || !key_has_id(s->key, id))
    return al_err(err, 0, "the secret store's master key changed while rotating: nothing was changed, run it again");
  unsigned char *new_key = sodium_malloc(AL_SECRET_KEY_BYTES);
  if (new_key == NULL)
    return al_err(err, ENOMEM, "master key");
  randombytes_buf(new_key, AL_SECRET_KEY_BYTES);
  if (reseal_all(s, new_key, count, err) < 0 || replace_key_and_commit(s, new_key, err) < 0) {
    sodium_free(new_key);
    *count = 0;
    return -1;
  }
  sodium_mprotect_readonly(new_key);
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "%s/%s", s->state_dir, AL_SECRET_KEY_FILE) < 0) {
    sodium_free(new_key);
    drop_key(s); /* rotated: the next use reads the file */
    return 0;
  }
  set_key(s, new_key, path);
  return 0;
}

int al_secrets_rotate_key(al_secrets *s, size_t *count, airlock_error **err) {
  *count = 0;
  const char *creds = getenv("CREDENTIALS_DIRECTORY");
  if (creds != NULL && creds[0] != '\0')
    return al_err(err, 0,
                  "the master key comes from %s/" AL_SECRET_CREDENTIAL " (CREDENTIALS_DIRECTORY is set): rotate it"
                  " where systemd's credential is kept, not here",
                  creds);
  if (al_sqlite_exec(s->db, STORE, "BEGIN IMMEDIATE", err) < 0)
    return -1;
  if (record_old_key(s, err) < 0 || al_sqlite_exec(s->db, STORE, "COMMIT", err) < 0) {
    al_sqlite_rollback_if_open(s->db);
    return -1;
  }
  if (al_sqlite_exec(s->db, STORE, "BEGIN IMMEDIATE", err) < 0)
    return -1;
  if (reseal_and_replace(s, count, err) < 0) {
    al_sqlite_rollback_if_open(s->db);
    return -1;
  }
  return 0;
}
