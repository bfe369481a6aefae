/* SPDX-License-Identifier: Apache-2.0 */
/* image_store.h - the store's directories, held open, and what import and
 * the listing commands share (image_store.c). */
#ifndef AIRLOCK_IMAGE_STORE_H
#define AIRLOCK_IMAGE_STORE_H

#include <jansson.h>

#include "image.h"

typedef struct al_store {
  int root, blobs, roots, meta, names, tmp; /* directory descriptors */
} al_store;

int al_store_open(const char *path, bool create, al_store *s, airlock_error **err);
void al_store_close(al_store *s);
/* copy the layout's blob DIGEST into the store through its sha256 check;
 * with bytes, also read it whole (at most 4 MiB) into *bytes (free it) */
int al_store_blob_copy(al_store *s, int layout, const char *digest, char **bytes, size_t *len, airlock_error **err);
/* the manifest's config and layers into the store, its root unpacked (once),
 * its meta record and its name written.  signature: what import verified
 * ({format, signature[, payload]}), kept in the meta record so that it can
 * be checked again at run time (borrowed), or NULL */
int al_store_unpack(al_store *s, int layout, const char *mdigest, json_t *manifest, bool keep_setuid,
                    const char *name, const char *signer, json_t *signature, airlock_error **err);
void al_store_remove_tmp(al_store *s, const char *name);
/* the meta record of manifest HEX, or NULL (image_list.c) */
json_t *al_store_meta(al_store *s, const char *hex);
/* REF -> the manifest's hex digest: sha256:HEX, NAME@sha256:HEX, NAME, or
 * a unique prefix of at least 12 hex digits (image_list.c) */
int al_store_resolve(al_store *s, const char *ref, char hex[65], airlock_error **err);
/* mkdtemp below a directory descriptor: template ends in XXXXXX */
char *mkdtempat_compat(int dirfd, char *template);
bool al_digest_valid_hex(const char *hex); /* 64 lowercase hex digits */
/* "NAME[:TAG]" -> a file name under names/ (percent-escaped) */
int al_store_name_file(const char *name, char *out, size_t size);

#endif
