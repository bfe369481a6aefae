/* SPDX-License-Identifier: Apache-2.0 */
/* sha256.h - SHA-256 (FIPS 180-4) for the changeset's content hashes: the
 * `airlock` binary links libc only, so it cannot use libcrypto's. */
#ifndef AIRLOCK_SHA256_H
#define AIRLOCK_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct al_sha256 {
  uint32_t h[8];
  uint64_t len; /* bytes so far */
  uint8_t buf[64];
  size_t used;
} al_sha256;

void al_sha256_init(al_sha256 *c);
void al_sha256_update(al_sha256 *c, const void *data, size_t len);
void al_sha256_final(al_sha256 *c, uint8_t out[32]);
/* 64 lowercase hex digits and a NUL */
void al_sha256_hex(const uint8_t sum[32], char out[65]);
/* hash what is left to read of fd; 0, or -1 with errno; *size gets the byte count */
int al_sha256_fd(int fd, uint8_t out[32], uint64_t *size);

#endif
