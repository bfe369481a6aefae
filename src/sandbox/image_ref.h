/* SPDX-License-Identifier: Apache-2.0 */
/* image_ref.h - an image of the store named by digest as a sandbox's root
 * (image_ref.c). */
#ifndef AIRLOCK_IMAGE_REF_H
#define AIRLOCK_IMAGE_REF_H

#include "airlock/airlock.h"

/* spec->image as given by a flag or a config: a directory stays as it is;
 * NAME@sha256:HEX or sha256:HEX becomes the path of that image's root in
 * the store beside state_dir (STATE_DIR.images/roots/HEX), and digest gets
 * "sha256:HEX" (else ""); anything else (a tag) is an error, with the digest
 * the tag names today when the store knows it. */
/* When spec->image_require_signature or image_trusted_keys is set, an image
 * of the store must also carry a signature that verifies with those keys,
 * checked by `airlock-node image verify` (libairlock has no crypto); signer
 * (may be NULL) gets the key id.  A directory is refused then. */
int al_image_ref_resolve(airlock_spec *spec, const char *state_dir, char digest[72], char signer[17],
                         airlock_error **err);
/* Append a trusted key file (spec->image_trusted_keys stays NULL-terminated). */
int al_spec_add_trusted_key(airlock_spec *spec, const char *path, airlock_error **err);

#endif
