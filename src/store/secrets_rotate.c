/* SPDX-License-Identifier: Apache-2.0 */
/* secrets_rotate.c - al_secrets_rotate_key (see secrets.h): a new master
 * key for the secret store, all or nothing.
 *
 * The store records the id of the key its secrets are sealed with, and of
 * the key the last rotation replaced (a keyed BLAKE2b of a fixed label: it
 * tells keys apart and reveals nothing of them), and a rotation keeps the
 * old key file as master.key.old until its transaction has committed:
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
 * in the middle of a rotation; secrets.c, settle_rotation) the files are
 * put right: master.key.old renamed back over master.key, or removed (only
 * when it is the key the last rotation replaced, or master.key itself:
 * anyone else's file of that name is left alone).  So every crash point
 * leaves all-old or all-new state that opens.  A set seals under the write
 * lock with the key the store's id names, so a set racing a rotation cannot
 * put a secret under the other key. */
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
#include <unistd.h>

#include "cleanup.h"
#include "error.h"

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
    int rc = sec_get_once(s, name, &plain, &len, err);
    if (rc == 1)
      return al_err(err, 0,
                    "secret '%s' does not open with the master key %s: nothing was changed (remove or set it again"
                    " before rotating)",
                    name, s->key_path);
    if (rc < 0)
      return -1;
    unsigned char nonce[NONCE_BYTES], ad[64 + AL_SECRET_NAME_MAX];
    randombytes_buf(nonce, sizeof(nonce));
    size_t ad_len = sec_make_ad(ad, sizeof(ad), name, FORMAT_VERSION);
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
      return sec_db_err(err, s->db, "cannot store a re-sealed secret");
  }
  *count = n;
  return sec_store_key_id(s->db, new_key, s->key, err);
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
  sec_sync_dir(s->state_dir);
  if (rename(new_path, path) < 0) {
    al_err(err, errno, "cannot put the new master key in place of %s", path);
    unlink(new_path);
    unlink(old_path);
    return -1;
  }
  sec_sync_dir(s->state_dir);
  if (al_sqlite_exec(s->db, STORE, "COMMIT", err) < 0) {
    /* the secrets are still the old key's: so is master.key again (were
     * this to fail, the next load settles it from master.key.old) */
    if (rename(old_path, path) == 0)
      sec_sync_dir(s->state_dir);
    return -1;
  }
  if (unlink(old_path) == 0)
    sec_sync_dir(s->state_dir);
  return 0;
}

/* Step 1, in a transaction of its own: the old key, settled and checked
 * against the store, its id recorded. */
static int record_old_key(al_secrets *s, airlock_error **err) {
  sec_drop_key(s);
  unsigned char id[KEY_ID_BYTES];
  long long n = 0;
  int have = 0;
  _cleanup_free_ char *old_path = NULL;
  if (asprintf(&old_path, "%s/%s%s", s->state_dir, AL_SECRET_KEY_FILE, OLD_SUFFIX) < 0)
    return al_err(err, ENOMEM, "master key");
  if (sec_count(s->db, &n, err) < 0 || sec_load_key(s, n == 0, true, err) < 0 ||
      (have = sec_stored_key_id(s->db, id, err)) < 0)
    return -1;
  bool matches = have == 1 && sec_key_has_id(s->key, id);
  if (have == 1 && !matches && n > 0)
    return al_err(err, 0,
                  "master key %s is not the key the secrets in %s/" DB_FILE " are sealed with: nothing was changed",
                  s->key_path, s->state_dir);
  if (access(old_path, F_OK) == 0)
    return al_err(err, 0, "%s exists and is not from a rotation of this store: move it away first", old_path);
  return matches ? 0 : sec_store_key_id(s->db, s->key, NULL, err);
}

/* Steps 2 to 5 in one transaction; the handle keeps the new key. */
static int reseal_and_replace(al_secrets *s, size_t *count, airlock_error **err) {
  unsigned char id[KEY_ID_BYTES];
  int have = sec_stored_key_id(s->db, id, err);
  if (have < 0)
    return -1;
  if (have == 0 || !sec_key_has_id(s->key, id))
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
    sec_drop_key(s); /* rotated: the next use reads the file */
    return 0;
  }
  sec_set_key(s, new_key, path);
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
