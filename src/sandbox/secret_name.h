/* SPDX-License-Identifier: Apache-2.0 */
/* secret_name.h - what a secret may be called and how large it may be.
 * Apart from the store (src/store/secrets.h) because the launcher checks
 * `--secret NAME` and reads secret files in the libc-only airlock binary,
 * which links neither SQLite nor libsodium. */
#ifndef AIRLOCK_SECRET_NAME_H
#define AIRLOCK_SECRET_NAME_H

#include <stdbool.h>

#define AL_SECRET_NAME_MAX 64
#define AL_SECRET_VALUE_MAX (64 * 1024)

/* Letters, digits, '.', '_' and '-', 1 to AL_SECRET_NAME_MAX of them. */
bool al_secret_name_valid(const char *name);

#endif
