/* SPDX-License-Identifier: Apache-2.0 */
/* base64.h - standard base64 (RFC 4648, with padding) for the bytes the
 * client sends as "stdin_base64": JSON strings cannot carry arbitrary bytes. */
#ifndef AIRLOCK_BASE64_H
#define AIRLOCK_BASE64_H

#include <stddef.h>

/* Encoded copy of len bytes, NUL-terminated; NULL when out of memory or len
 * is too large to encode.  Caller frees. */
char *al_base64_encode(const void *data, size_t len);
/* Strict decode of len characters (padded, no whitespace) into out, which
 * has room for cap bytes (len / 4 * 3 is always enough).  The number of
 * bytes, or -1 for anything that is not canonical base64 or does not fit. */
long al_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap);

#endif
