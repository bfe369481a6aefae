/* SPDX-License-Identifier: Apache-2.0 */
/* image.h - container images in a content-addressed store: import from an
 * OCI image layout (a directory, or a tar of one: `skopeo copy ... oci:DIR`,
 * `docker save` of Docker 25 and later), every blob checked by sha256, layers
 * unpacked once into a read-only root per manifest digest, and names that
 * point at digests.  `airlock run --image NAME@sha256:HEX` uses the root.
 *
 * Store layout (STORE = STATE_DIR.images, beside the private state directory):
 *   blobs/sha256/HEX     verified blobs, 0444
 *   roots/HEX/           the unpacked root of manifest HEX (made in a
 *                        temporary directory, renamed into place when whole)
 *   meta/HEX.json        name, config and layer digests, import time, signer
 *   names/ESCAPED        "sha256:HEX\n" for each NAME (tag) imported */
#ifndef AIRLOCK_IMAGE_H
#define AIRLOCK_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "airlock/airlock.h"

#define AL_DIGEST_MAX 72 /* "sha256:" + 64 hex + NUL */

typedef struct al_image_import_opts {
  const char *name;           /* NAME[:TAG] recorded for the image; NULL = the layout's own ref name */
  const char *signature;      /* minisign signature of the manifest blob, or NULL */
  const char *const *trusted; /* minisign public key files; NULL-terminated */
  bool require_signature;     /* refuse an image without a good signature by a trusted key */
  bool keep_setuid;           /* keep setuid/setgid bits of the layers' files (dropped by default) */
} al_image_import_opts;

/* Import PATH (an OCI layout directory or a tar of one) into STORE; on
 * success digest gets "sha256:HEX" of the manifest. */
int al_image_import(const char *store, const char *path, const al_image_import_opts *o, char digest[AL_DIGEST_MAX],
                    airlock_error **err);

/* One JSON line per image (digest, names, layers, size, imported_at_ms,
 * signed_by) to out, newest first. */
int al_image_list(const char *store, bool json, FILE *out, airlock_error **err);
/* The meta record of REF (NAME, NAME@sha256:HEX, sha256:HEX or a unique
 * prefix of HEX) on out. */
int al_image_inspect(const char *store, const char *ref, FILE *out, airlock_error **err);
/* Remove REF's names, root and meta; its blobs go at the next gc. */
int al_image_remove(const char *store, const char *ref, airlock_error **err);
/* Remove blobs no image refers to and leftovers of interrupted imports;
 * *freed gets the bytes released. */
int al_image_gc(const char *store, int64_t *freed, airlock_error **err);

/* image_digest.c: sha256 of what fd reads, as "sha256:HEX"; with copy_fd
 * >= 0 the bytes are also written there. */
int al_image_sha256_fd(int fd, int copy_fd, char digest[AL_DIGEST_MAX], int64_t *size, airlock_error **err);
bool al_digest_valid(const char *digest); /* "sha256:" and 64 lowercase hex */

/* image_unpack.c: apply one layer (a tar, compressed or not) read from fd on
 * the root rootfd: whiteouts honoured, every path resolved inside the root,
 * device nodes skipped, setuid/setgid dropped unless keep_setuid, owners kept
 * when running as root. *skipped counts what was left out. */
int al_layer_apply(int rootfd, int fd, bool keep_setuid, int *skipped, airlock_error **err);
/* NAME below dirfd and everything under it, never following a link; 0 when
 * it is not there */
int al_remove_tree_at(int dirfd, const char *name);

/* image_sign.c: check a minisign signature of data (the manifest blob) by
 * one of the trusted public key files; *signer gets the key id (hex). */
int al_minisign_verify(const void *data, size_t len, const char *sig_path, const char *const *trusted,
                       char signer[17], airlock_error **err);

#endif
