/* SPDX-License-Identifier: Apache-2.0 */
/* secrets.h - the node's secret store: named values (API keys and the like)
 * that the egress proxy will hand out later, encrypted at rest in
 * STATE_DIR/secrets.db with a master key kept apart from the database.
 *
 * Each value is sealed with XChaCha20-Poly1305 (libsodium) under a fresh
 * random nonce; the secret's name and a format version are the associated
 * data, so a ciphertext copied to another name's row does not decrypt.  The
 * master key (32 bytes) comes from $CREDENTIALS_DIRECTORY/airlock-master-key
 * when CREDENTIALS_DIRECTORY is set (systemd LoadCredential=), else from
 * STATE_DIR/master.key, made 0600 by the first al_secrets_set() when missing.
 * Either file is refused when it is not the effective user's or has any
 * group/other permission bit.  Keys and decrypted values live in
 * sodium_malloc'd memory (guard pages, locked where the limit allows) and are
 * wiped when freed.
 *
 * A handle is for one thread at a time; several handles may share the
 * database (WAL mode, busy timeout), as in tokens.h. */
#ifndef AIRLOCK_SECRETS_H
#define AIRLOCK_SECRETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "airlock/airlock.h"
#include "secret_name.h"

#define AL_SECRET_KEY_BYTES 32
#define AL_SECRET_KEY_FILE "master.key"
#define AL_SECRET_CREDENTIAL "airlock-master-key"

typedef struct al_secret_info {
  char name[AL_SECRET_NAME_MAX + 1];
  int64_t created_at, updated_at; /* unix seconds */
} al_secret_info;

typedef struct al_secrets al_secrets;

/* Open STATE_DIR/secrets.db (the state dir must pass al_state_dir_prepare(),
 * the database is checked by al_sqlite_check_file()).  With create a missing
 * dir and database are made; without it a missing one fails with errnum
 * ENOENT.  The master key is not read here: list and rm need none. */
int al_secrets_open(const char *state_dir, bool create, al_secrets **out, airlock_error **err);
void al_secrets_close(al_secrets *s);

/* Store (or replace) NAME = value[0..len), len <= AL_SECRET_VALUE_MAX, any
 * bytes.  Reads the master key, creating STATE_DIR/master.key when there is
 * no key yet and the store holds no secret. */
int al_secrets_set(al_secrets *s, const char *name, const void *value, size_t len, airlock_error **err);
/* Decrypt NAME into *value (sodium_malloc'd, read-write, *len bytes; free
 * with al_secret_free()).  Fails with errnum ENOENT when there is no such
 * secret, and with a message naming the key file when it does not decrypt
 * (wrong master key, or the row was altered or moved). */
int al_secrets_get(al_secrets *s, const char *name, unsigned char **value, size_t *len, airlock_error **err);
/* Names and times, ordered by name, never values; *infos malloc'd (NULL when
 * *n is 0). */
int al_secrets_list(al_secrets *s, al_secret_info **infos, size_t *n, airlock_error **err);
/* Fails with errnum ENOENT when there is no such secret. */
int al_secrets_rm(al_secrets *s, const char *name, airlock_error **err);

/* Seal every secret again under a new random master key, in one SQLite
 * transaction, and replace STATE_DIR/master.key (0600, written to a
 * temporary file, fsynced, renamed); secrets_rotate.c says in which order, so that
 * a crash at any point leaves all-old or all-new state that opens.  The old
 * key is needed (every secret must open with it) and is gone afterwards.
 * *count: the secrets re-sealed.  Refused when the key comes from
 * CREDENTIALS_DIRECTORY (systemd's credential is not airlock's to write). */
int al_secrets_rotate_key(al_secrets *s, size_t *count, airlock_error **err);

/* Guarded memory for plaintext (sodium_malloc; NULL when out of memory) and
 * its release: wiped, unlocked and unmapped.  NULL is ignored. */
void *al_secret_alloc(size_t len);
void al_secret_free(void *value, size_t len);

#endif
