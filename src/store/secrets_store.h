/* SPDX-License-Identifier: Apache-2.0 */
/* secrets_store.h - what secrets.c (the store, its keys) shares with
 * secrets_rotate.c (master-key rotation); not an API: callers use
 * secrets.h. */
#ifndef AIRLOCK_SECRETS_STORE_H
#define AIRLOCK_SECRETS_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <sodium.h>
#include <sqlite3.h>

#include "secrets.h"

#define DB_FILE "secrets.db"
#define FORMAT_VERSION 1 /* of the sealed value: cipher and associated data */
#define STORE "secret database"
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define KEY_ID_BYTES 16
#define OLD_SUFFIX ".old" /* the key a rotation replaces, until its commit */
#define NEW_SUFFIX ".new" /* the key a rotation is writing */

struct al_secrets {
  sqlite3 *db;
  char *state_dir;
  unsigned char *key; /* sodium_malloc'd, read-only once loaded; NULL until */
  char *key_path;     /* where the key came from, for messages */
};

int sec_db_err(airlock_error **err, sqlite3 *db, const char *what);
/* how many secrets the store holds */
int sec_count(sqlite3 *db, long long *n, airlock_error **err);
/* the store's sealing key id: 1 and *id, 0 when none is recorded */
int sec_stored_key_id(sqlite3 *db, unsigned char id[KEY_ID_BYTES], airlock_error **err);
/* record key's id (and old_key's, the key a rotation replaces; may be NULL) */
int sec_store_key_id(sqlite3 *db, const unsigned char *key, const unsigned char *old_key, airlock_error **err);
bool sec_key_has_id(const unsigned char *key, const unsigned char id[KEY_ID_BYTES]);
/* the master key into s->key; locked: the caller holds the write lock */
int sec_load_key(al_secrets *s, bool create, bool locked, airlock_error **err);
/* forget the handle's key (the next use reads it again) */
void sec_drop_key(al_secrets *s);
/* the handle's key becomes key (guarded memory, taken over), from path */
void sec_set_key(al_secrets *s, unsigned char *key, const char *path);
void sec_sync_dir(const char *dir);
/* the associated data of NAME's sealed value */
size_t sec_make_ad(unsigned char *ad, size_t cap, const char *name, int version);
/* one read of NAME's row, decrypted with the handle's key: 0, 1 when it did
 * not open, -1 on error */
int sec_get_once(al_secrets *s, const char *name, unsigned char **plain, size_t *plain_len, airlock_error **err);

#endif
