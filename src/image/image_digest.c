/* SPDX-License-Identifier: Apache-2.0 */
/* image_digest.c - the sha256 digests that name every blob of an image,
 * computed with OpenSSL while the bytes are read (and copied). */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "image.h"

bool al_digest_valid(const char *d) {
  if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
    return false;
  for (const char *p = d + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    p += w, n -= (size_t)w;
  }
  return 0;
}

int al_image_sha256_fd(int fd, int copy_fd, char digest[AL_DIGEST_MAX], int64_t *size, airlock_error **err) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(ctx);
    return al_err(err, 0, "sha256: cannot start a digest");
  }
  char buf[1 << 16];
  int64_t total = 0;
  int rc = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = al_err(err, errno, "read");
      break;
    }
    if (n == 0)
      break;
    total += n;
    if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
      rc = al_err(err, 0, "sha256: digest update failed");
      break;
    }
    if (copy_fd >= 0 && write_all(copy_fd, buf, (size_t)n) < 0) {
      rc = al_err(err, errno, "write");
      break;
    }
  }
  unsigned char md[32];
  unsigned len = 0;
  if (rc == 0 && EVP_DigestFinal_ex(ctx, md, &len) != 1)
    rc = al_err(err, 0, "sha256: digest final failed");
  EVP_MD_CTX_free(ctx);
  if (rc < 0)
    return rc;
  memcpy(digest, "sha256:", 7);
  for (unsigned i = 0; i < 32; i++)
    snprintf(digest + 7 + 2 * i, 3, "%02x", md[i]);
  if (size)
    *size = total;
  return 0;
}
