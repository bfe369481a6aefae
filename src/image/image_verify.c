/* SPDX-License-Identifier: Apache-2.0 */
/* image_verify.c - `airlock image verify` and the run-time trust check of
 * `airlock run --image` under a signature requirement: the signature import
 * verified is kept in the image's meta record, and it is checked again here
 * against the keys trusted now (a config's or a flag's, which may differ
 * from the import's), over the manifest blob re-hashed from the store.  An
 * image imported without a signature never passes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "image.h"
#include "image_store.h"

#define MANIFEST_MAX (4 << 20)

/* the stored manifest blob HEX, whole, checked against its digest */
static int read_manifest(al_store *s, const char *hex, char **bytes, size_t *len, airlock_error **err) {
  _cleanup_close_ int fd = openat(s->blobs, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return al_err(err, errno, "the manifest blob sha256:%s is missing from the store", hex);
  char *buf = malloc(MANIFEST_MAX);
  if (!buf)
    return al_err(err, ENOMEM, "manifest");
  size_t n = 0;
  ssize_t r;
  while (n < MANIFEST_MAX && (r = read(fd, buf + n, MANIFEST_MAX - n)) != 0) {
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      free(buf);
      return al_err(err, errno, "manifest sha256:%s", hex);
    }
    n += (size_t)r;
  }
  unsigned char md[32];
  char got[65];
  EVP_Digest(buf, n, md, NULL, EVP_sha256(), NULL);
  for (int i = 0; i < 32; i++)
    snprintf(got + 2 * i, 3, "%02x", md[i]);
  if (n == MANIFEST_MAX || strcmp(got, hex) != 0) {
    free(buf);
    return al_err(err, 0, "the stored manifest sha256:%s changed since it was imported", hex);
  }
  *bytes = buf;
  *len = n;
  return 0;
}

int al_image_verify(const char *store, const char *ref, const char *const *trusted, char signer[17],
                    char digest[AL_DIGEST_MAX], airlock_error **err) {
  if (!trusted || !trusted[0])
    return al_err(err, 0, "image '%s': no trusted key to check its signature with", ref);
  __attribute__((cleanup(al_store_close))) al_store s = {-1, -1, -1, -1, -1, -1};
  char hex[65];
  if (al_store_open(store, false, &s, err) < 0 || al_store_resolve(&s, ref, hex, err) < 0)
    return -1;
  json_t *meta = al_store_meta(&s, hex);
  json_t *sigs = json_object_get(meta, "signatures");
  char name[100];
  snprintf(name, sizeof(name), "stored with sha256:%.12s", hex);
  char *bytes = NULL;
  size_t len = 0;
  int rc;
  if (!meta)
    rc = al_err(err, 0, "image sha256:%s has no meta record", hex);
  else if (!json_array_size(sigs))
    rc = al_err(err, 0, "image sha256:%s was imported without a signature, and a signature is required", hex);
  else
    rc = read_manifest(&s, hex, &bytes, &len, err); /* the image is still the one imported */
  /* any one signature that verifies with a key trusted now is enough */
  size_t i;
  json_t *sig;
  json_array_foreach(sigs, i, sig) {
    if (rc < 0 && i == 0)
      break;
    const char *format = json_string_value(json_object_get(sig, "format"));
    const char *text = json_string_value(json_object_get(sig, "signature"));
    const char *payload = json_string_value(json_object_get(sig, "payload"));
    const char *index = json_string_value(json_object_get(sig, "index"));
    char mdigest[AL_DIGEST_MAX];
    snprintf(mdigest, sizeof(mdigest), "sha256:%s", hex);
    const char *digests[] = {mdigest, index, NULL};
    airlock_error_free(err);
    if (!format || !text)
      rc = al_err(err, 0, "image sha256:%s: a stored signature is incomplete", hex);
    else if (strcmp(format, "minisign") == 0)
      rc = al_minisign_verify(bytes, len, text, name, trusted, signer, err);
    else if (strcmp(format, "cosign") == 0 && payload)
      rc = al_cosign_verify(payload, strlen(payload), text, name, digests, trusted, signer, err);
    else
      rc = al_err(err, 0, "image sha256:%s: unknown signature format '%s'", hex, format);
    if (rc == 0)
      break;
  }
  free(bytes);
  json_decref(meta);
  if (rc == 0 && digest)
    snprintf(digest, AL_DIGEST_MAX, "sha256:%s", hex);
  return rc;
}
