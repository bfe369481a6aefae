/* SPDX-License-Identifier: Apache-2.0 */
/* secret_name.c - what a secret may be called (secret_name.h).  Apart from the
 * store because the launcher checks `--secret NAME` too, in the libc-only
 * airlock binary that does not link the store (libsodium, SQLite). */
#include "secret_name.h"

#include <string.h>

bool al_secret_name_valid(const char *name) {
  if (name == NULL)
    return false;
  size_t len = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
  return len >= 1 && len <= AL_SECRET_NAME_MAX && name[len] == '\0';
}
