/* SPDX-License-Identifier: Apache-2.0 */
/* tokens.h - the node's token store: who may call the node API.  Each token
 * is a tenant with optional per-token maxima.  Only the SHA-256 of a token is
 * kept (in STATE_DIR/tokens.db); the token itself is shown once, at creation.
 *
 * A store handle is for one thread at a time.  Several handles, in one or
 * several processes, may use the same database: the CLI writes while the node
 * reads, and al_token_verify() sees every committed revoke at once. */
#ifndef AIRLOCK_TOKENS_H
#define AIRLOCK_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "airlock/airlock.h"

#define AL_TOKEN_PREFIX "node_tok_"
#define AL_TOKEN_RANDOM_BYTES 32
/* "node_tok_" + 43 characters of unpadded base64url */
#define AL_TOKEN_LEN (sizeof(AL_TOKEN_PREFIX) - 1 + (AL_TOKEN_RANDOM_BYTES * 4 + 2) / 3)
#define AL_TOKEN_NAME_MAX 64

/* Per-token maxima; 0 = not set (the node's default applies). */
typedef struct al_token_limits {
  int64_t max_concurrent_execs, max_memory_bytes, max_timeout_ms;
  double max_cpus;
} al_token_limits;

typedef struct al_token_info {
  char name[AL_TOKEN_NAME_MAX + 1];
  int64_t created_at, revoked_at; /* unix seconds; revoked_at 0 = not revoked */
  al_token_limits limits;
} al_token_info;

typedef struct al_token_store al_token_store;

/* Open STATE_DIR/tokens.db.  The state dir must pass al_state_dir_prepare()
 * and the database must be a regular file of the effective user with no
 * group/other bits.  With create, a missing dir and database are made (0700,
 * 0600); without it a missing one fails with errnum ENOENT. */
int al_token_store_open(const char *state_dir, bool create, al_token_store **out, airlock_error **err);
void al_token_store_close(al_token_store *s);

/* [A-Za-z0-9._-]{1,64} */
bool al_token_name_valid(const char *name);

/* Make a token for a new tenant NAME (never reused, even after a revoke).
 * *token_out is the token, malloc'd; it exists nowhere else, so the caller
 * shows it once and should explicit_bzero() it before free().  limits may be
 * NULL (no maxima); negative values are refused. */
int al_token_create(al_token_store *s, const char *name, const al_token_limits *limits, char **token_out,
                    airlock_error **err);
/* Fails when there is no such token or it is already revoked. */
int al_token_revoke(al_token_store *s, const char *name, airlock_error **err);
/* Every token, revoked ones included, ordered by name; *out is malloc'd
 * (NULL when *n is 0). */
int al_token_list(al_token_store *s, al_token_info **out, size_t *n, airlock_error **err);

/* 1: token is known and not revoked (*who filled when who is not NULL);
 * 0: unknown, revoked or malformed (wrong prefix, length or characters);
 * -1: the database could not be read.  Reads the database on every call. */
int al_token_verify(al_token_store *s, const char *token, al_token_info *who);

/* The form in which the store keeps a token: lower-case hex SHA-256. */
#define AL_TOKEN_HASH_HEX_LEN 64
/* hex of a well-formed token: 1; 0 when the token is malformed; -1 when
 * hashing failed. */
int al_token_hash(al_token_store *s, const char *token, char hex[AL_TOKEN_HASH_HEX_LEN + 1]);
/* al_token_verify() for a hash from al_token_hash(), same answers: lets the
 * node's web sessions re-check their token on every request (revocation
 * ends them) without keeping the token itself in memory. */
int al_token_verify_hash(al_token_store *s, const char *hex, al_token_info *who);

#endif
