/* SPDX-License-Identifier: Apache-2.0 */
/* image_sign.c - minisign signatures of an image's manifest, checked with
 * libsodium.  minisign has no C library in Debian, only its command, so its
 * two small text formats are read here:
 *   public key: a comment line, then base64 of "Ed" || key id (8) || key (32)
 *   signature:  a comment line, base64 of ALG || key id (8) || sig (64),
 *               "trusted comment: TEXT", base64 of a signature over sig || TEXT
 * ALG "ED" signs the BLAKE2b-512 hash of the data (minisign's default), "Ed"
 * the data itself.  Both signatures must verify with a trusted key of the
 * same id.  Trusted keys in PEM are cosign's (image_cosign.c) and skipped. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "cleanup.h"
#include "error.h"
#include "image.h"

#define KEY_BYTES (2 + 8 + crypto_sign_PUBLICKEYBYTES)
#define SIG_BYTES (2 + 8 + crypto_sign_BYTES)
#define TRUSTED "trusted comment: "

/* the lines of a small text file (at most 4 KiB), NUL-separated in buf */
static int read_lines(const char *what, const char *path, char *buf, size_t size, char **lines, int max, int *n,
                      airlock_error **err) {
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (!f)
    return al_err(err, errno, "%s '%s'", what, path);
  size_t len = fread(buf, 1, size - 1, f);
  if (!feof(f))
    return al_err(err, 0, "%s '%s' is larger than %zu bytes", what, path, size - 1);
  buf[len] = '\0';
  *n = 0;
  for (char *save = NULL, *l = strtok_r(buf, "\r\n", &save); l && *n < max; l = strtok_r(NULL, "\r\n", &save))
    lines[(*n)++] = l;
  return 0;
}

static int decode(const char *line, unsigned char *out, size_t want) {
  unsigned char tmp[128];
  long n = al_base64_decode(line, strlen(line), tmp, sizeof(tmp));
  if (n != (long)want)
    return -1;
  memcpy(out, tmp, want);
  return 0;
}

static void hex8(const unsigned char id[8], char out[17]) {
  /* minisign prints a key id as the little-endian 64-bit number, in
   * upper-case hex without leading zeros: the same text here */
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | id[i];
  snprintf(out, 17, "%" PRIX64, v);
}

int al_image_read_small(const char *what, const char *path, char **text, airlock_error **err) {
  *text = NULL;
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (!f)
    return al_err(err, errno, "%s '%s'", what, path);
  char *buf = malloc(AL_SIGNATURE_MAX + 1);
  if (!buf)
    return al_err(err, ENOMEM, "%s", what);
  size_t len = fread(buf, 1, AL_SIGNATURE_MAX, f);
  if (!feof(f) || memchr(buf, '\0', len)) {
    free(buf);
    return al_err(err, 0, "%s '%s' is not a text file of at most %d bytes", what, path, AL_SIGNATURE_MAX);
  }
  buf[len] = '\0';
  *text = buf;
  return 0;
}

int al_minisign_verify(const void *data, size_t len, const char *sig_text, const char *sig_name,
                       const char *const *trusted, char signer[17], airlock_error **err) {
  if (sodium_init() < 0)
    return al_err(err, 0, "libsodium did not start");
  char buf[4096];
  char *lines[4];
  int n = 0;
  if (strlen(sig_text) >= sizeof(buf))
    return al_err(err, 0, "signature '%s' is not a minisign signature", sig_name);
  strcpy(buf, sig_text);
  for (char *save = NULL, *l = strtok_r(buf, "\r\n", &save); l && n < 4; l = strtok_r(NULL, "\r\n", &save))
    lines[n++] = l;
  unsigned char sig[SIG_BYTES], global[crypto_sign_BYTES];
  if (n != 4 || decode(lines[1], sig, sizeof(sig)) < 0 || strncmp(lines[2], TRUSTED, strlen(TRUSTED)) != 0 ||
      decode(lines[3], global, sizeof(global)) < 0 || (memcmp(sig, "ED", 2) != 0 && memcmp(sig, "Ed", 2) != 0))
    return al_err(err, 0, "signature '%s' is not a minisign signature", sig_name);
  char id[17];
  hex8(sig + 2, id);
  unsigned char hash[crypto_generichash_BYTES_MAX];
  const unsigned char *msg = data;
  size_t msg_len = len;
  if (memcmp(sig, "ED", 2) == 0) {
    crypto_generichash(hash, sizeof(hash), data, len, NULL, 0);
    msg = hash, msg_len = sizeof(hash);
  }
  for (size_t k = 0; trusted && trusted[k]; k++) {
    char kbuf[1024];
    char *klines[2];
    int kn = 0;
    unsigned char key[KEY_BYTES];
    if (read_lines("trusted key", trusted[k], kbuf, sizeof(kbuf), klines, 2, &kn, err) < 0)
      return -1;
    if (kn >= 1 && strncmp(klines[0], "-----BEGIN", 10) == 0)
      continue; /* a PEM key: for cosign-style signatures */
    if (kn != 2 || decode(klines[1], key, sizeof(key)) < 0 || memcmp(key, "Ed", 2) != 0)
      return al_err(err, 0, "trusted key '%s' is not a minisign public key", trusted[k]);
    if (memcmp(key + 2, sig + 2, 8) != 0)
      continue;
    const unsigned char *pk = key + 10;
    if (crypto_sign_verify_detached(sig + 10, msg, msg_len, pk) != 0)
      return al_err(err, 0, "signature '%s' by key %s does not match the manifest", sig_name, id);
    /* the trusted comment is signed too, with the signature before it */
    const char *comment = lines[2] + strlen(TRUSTED);
    size_t clen = strlen(comment);
    unsigned char *both = malloc(crypto_sign_BYTES + clen);
    if (!both)
      return al_err(err, ENOMEM, "signature");
    memcpy(both, sig + 10, crypto_sign_BYTES);
    memcpy(both + crypto_sign_BYTES, comment, clen);
    int bad = crypto_sign_verify_detached(global, both, crypto_sign_BYTES + clen, pk);
    free(both);
    if (bad)
      return al_err(err, 0, "signature '%s': its trusted comment was altered", sig_name);
    memcpy(signer, id, sizeof(id));
    return 0;
  }
  return al_err(err, 0, "signature '%s' is by key %s, which is not among the trusted keys", sig_name, id);
}
