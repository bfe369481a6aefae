/* SPDX-License-Identifier: Apache-2.0 */
/* image_cosign.c - cosign-style keyed "simple signing" of an image: a small
 * JSON payload that names the manifest digest, signed with ECDSA P-256 over
 * SHA-256 (the signature is base64 of the DER encoding, as `cosign sign
 * --key` and `openssl dgst -sha256 -sign` write it), checked with a trusted
 * PEM public key through libcrypto.  The payload is read with jansson only
 * after its signature verified; it must say it is a cosign container image
 * signature and name the digest being imported, so a signature of one image
 * never admits another. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "cleanup.h"
#include "error.h"
#include "image.h"

#define COSIGN_TYPE "cosign container image signature"
#define SIG_DER_MAX 160 /* an ECDSA P-256 DER signature is at most 72 bytes */

static void free_pkey(EVP_PKEY **k) { EVP_PKEY_free(*k); }
static void free_mdctx(EVP_MD_CTX **c) { EVP_MD_CTX_free(*c); }

int al_cosign_payload_check(const char *payload, size_t len, const char *const *digests, char *identity,
                            size_t identity_size, airlock_error **err) {
  json_error_t jerr;
  json_t *p = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object(p)) {
    json_decref(p);
    return al_err(err, 0, "cosign payload: not a JSON object (%s)", jerr.text);
  }
  json_t *critical = json_object_get(p, "critical");
  const char *type = json_string_value(json_object_get(critical, "type"));
  const char *digest = json_string_value(json_object_get(json_object_get(critical, "image"), "docker-manifest-digest"));
  const char *ref = json_string_value(json_object_get(json_object_get(critical, "identity"), "docker-reference"));
  int rc = 0;
  if (!type || strcmp(type, COSIGN_TYPE) != 0)
    rc = al_err(err, 0, "cosign payload: critical.type is not \"%s\"", COSIGN_TYPE);
  else if (!digest)
    rc = al_err(err, 0, "cosign payload: critical.image.docker-manifest-digest is missing");
  else {
    rc = -1;
    for (size_t i = 0; digests[i] && rc < 0; i++)
      if (strcmp(digests[i], digest) == 0)
        rc = 0;
    if (rc < 0)
      al_err(err, 0, "cosign payload signs %.80s, not this image (%s)", digest, digests[0]);
  }
  if (rc == 0 && identity)
    snprintf(identity, identity_size, "%s", ref ? ref : "");
  json_decref(p);
  return rc;
}

/* the first 8 bytes of the SHA-256 of the key's SubjectPublicKeyInfo, hex:
 * the signer recorded for the image */
static void key_id(EVP_PKEY *k, char out[17]) {
  unsigned char *der = NULL;
  int n = i2d_PUBKEY(k, &der);
  unsigned char md[32] = {0};
  if (n > 0)
    EVP_Digest(der, (size_t)n, md, NULL, EVP_sha256(), NULL);
  OPENSSL_free(der);
  for (int i = 0; i < 8; i++)
    snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static bool is_p256(EVP_PKEY *k) {
  char group[64] = "";
  return EVP_PKEY_is_a(k, "EC") &&
         EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) == 1 &&
         (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0);
}

int al_cosign_verify(const char *payload, size_t payload_len, const char *sig_text, const char *sig_name,
                     const char *const *digests, const char *const *trusted, char signer[17], airlock_error **err) {
  /* the signature: base64, surrounding white space allowed */
  size_t b = strspn(sig_text, " \t\r\n"), e = strlen(sig_text);
  while (e > b && strchr(" \t\r\n", sig_text[e - 1]))
    e--;
  unsigned char der[SIG_DER_MAX];
  long der_len = e > b ? al_base64_decode(sig_text + b, e - b, der, sizeof(der)) : -1;
  if (der_len <= 0)
    return al_err(err, 0, "signature '%s' is neither a minisign signature nor base64 of an ECDSA signature",
                  sig_name);
  bool any_pem = false;
  for (size_t k = 0; trusted && trusted[k]; k++) {
    _cleanup_fclose_ FILE *f = fopen(trusted[k], "re");
    if (!f)
      return al_err(err, errno, "trusted key '%s'", trusted[k]);
    __attribute__((cleanup(free_pkey))) EVP_PKEY *key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    if (!key)
      continue; /* a minisign key */
    any_pem = true;
    if (!is_p256(key))
      return al_err(err, 0, "trusted key '%s' is not an ECDSA P-256 public key", trusted[k]);
    __attribute__((cleanup(free_mdctx))) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) != 1)
      return al_err(err, 0, "libcrypto could not set up a signature check");
    if (EVP_DigestVerify(ctx, der, (size_t)der_len, (const unsigned char *)payload, payload_len) != 1)
      continue;
    char identity[256];
    if (al_cosign_payload_check(payload, payload_len, digests, identity, sizeof(identity), err) < 0)
      return al_err_prefix(err, "signature '%s'", sig_name);
    key_id(key, signer);
    return 0;
  }
  if (!any_pem)
    return al_err(err, 0, "signature '%s' is cosign-style, and no --trusted-key is a PEM public key", sig_name);
  return al_err(err, 0, "signature '%s' does not verify over its payload with any trusted key", sig_name);
}
