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
int al_image_ref_resolve(airlock_spec *spec, const char *state_dir, char digest[72], airlock_error **err);

#endif
