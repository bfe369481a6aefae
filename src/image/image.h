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
 *   meta/HEX.json        name, config and layer digests, import time, signer and
 *                        the signatures import verified (to check again at run time)
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
  const char *signature;         /* minisign signature of the manifest blob, or a cosign-style one of the
                                  payload below (base64 ECDSA P-256); NULL = none */
  const char *signature_payload; /* cosign-style: the signed JSON payload naming the manifest digest */
  const char *const *trusted;    /* public key files: minisign's, or PEM (ECDSA P-256) for cosign-style;
                                  NULL-terminated */
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

/* Signature files and payloads are small texts: at most this many bytes. */
#define AL_SIGNATURE_MAX 8192
/* The text of a small file (read once; *text to free). */
int al_image_read_small(const char *what, const char *path, char **text, airlock_error **err);
/* image_sign.c: check a minisign signature (its text; sig_name for
 * messages) of data (the manifest blob) by one of the trusted public key
 * files; *signer gets the key id (hex).  PEM keys are skipped. */
int al_minisign_verify(const void *data, size_t len, const char *sig_text, const char *sig_name,
                       const char *const *trusted, char signer[17], airlock_error **err);
/* image_cosign.c: check a cosign-style signature (base64 of a DER ECDSA
 * P-256 signature over the payload) with one of the trusted PEM keys, then
 * that the payload names one of digests (NULL-terminated: the manifest's,
 * and the index's it was chosen from); *signer gets the key's id (the first
 * 8 bytes of the SHA-256 of its SubjectPublicKeyInfo, hex).  Minisign keys
 * are skipped. */
int al_cosign_verify(const char *payload, size_t payload_len, const char *sig_text, const char *sig_name,
                     const char *const *digests, const char *const *trusted, char signer[17], airlock_error **err);
/* The payload alone: a cosign container image signature naming one of
 * digests; identity gets its docker-reference ("" when none). */
int al_cosign_payload_check(const char *payload, size_t len, const char *const *digests, char *identity,
                            size_t identity_size, airlock_error **err);
/* image_verify.c: check REF's stored signature again, now, with trusted
 * (the run-time trust of a config or flag): the manifest blob re-hashed, the
 * signature verified.  An image imported without a signature is refused.
 * *signer gets the key id; digest (may be NULL) the manifest digest. */
int al_image_verify(const char *store, const char *ref, const char *const *trusted, char signer[17],
                    char digest[AL_DIGEST_MAX], airlock_error **err);

#endif
