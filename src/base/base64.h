/* SPDX-License-Identifier: Apache-2.0 */
/* base64.h - standard base64 (RFC 4648, with padding) for the bytes the
 * client sends as "stdin_base64": JSON strings cannot carry arbitrary bytes. */
#ifndef AIRLOCK_BASE64_H
#define AIRLOCK_BASE64_H

#include <stddef.h>

/* Encoded copy of len bytes, NUL-terminated; NULL when out of memory or len
 * is too large to encode.  Caller frees. */
char *al_base64_encode(const void *data, size_t len);

#endif
