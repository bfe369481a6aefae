/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_ca.c - see proxy_ca.h.  Everything cryptographic is OpenSSL's: key
 * generation (EVP_EC_gen), randomness (RAND_bytes), the X.509v3 extensions
 * (written in OpenSSL's own configuration syntax, from names that are
 * checked to be plain LDH first) and the signatures. */
#include "proxy_ca.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "error.h"

struct al_proxy_ca {
  EVP_PKEY *key; /* signs the leaves; never leaves this process */
  X509 *cert;
  EVP_PKEY *leaf_key;
  int64_t not_after;
  struct {
    char host[256];
    X509 *cert;
  } leaves[AL_PROXY_CA_LEAVES];
  size_t next; /* the slot the next new leaf takes */
};

/* The newest OpenSSL error as text, for a message. */
static int ssl_err(airlock_error **err, const char *what) {
  char buf[160] = "";
  unsigned long e = ERR_get_error();
  if (e)
    ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return al_err(err, 0, "%s%s%s", what, e ? ": " : "", buf);
}

/* a name the extension syntax cannot misread: LDH and dots, 1-253 bytes */
static bool plain_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 253)
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
      return false;
  return true;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
  X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  int ok = ext && X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok ? 0 : -1;
}

/* version 3, a random positive serial of 16 bytes, the validity window */
static int set_basics(X509 *x, int64_t from, int64_t until) {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof(b)) != 1)
    return -1;
  b[0] = (unsigned char)((b[0] & 0x7f) | 0x40); /* positive, never shorter */
  BIGNUM *bn = BN_bin2bn(b, sizeof(b), NULL);
  int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) && X509_set_version(x, X509_VERSION_3) &&
           ASN1_TIME_set(X509_getm_notBefore(x), (time_t)from) && ASN1_TIME_set(X509_getm_notAfter(x), (time_t)until);
  BN_free(bn);
  return ok ? 0 : -1;
}

static int add_name(X509_NAME *n, const char *field, const char *value) {
  return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8, (const unsigned char *)value, -1, -1, 0) ? 0 : -1;
}

/* "critical,permitted;DNS:a,permitted;DNS:b,excluded;IP:0.0.0.0/0.0.0.0,excluded;IP:::/::" */
static char *constraints(const char *const *permitted, size_t n) {
  size_t len = 64;
  for (size_t i = 0; i < n; i++)
    len += strlen(permitted[i]) + 16;
  char *s = malloc(len);
  if (!s)
    return NULL;
  strcpy(s, "critical");
  for (size_t i = 0; i < n; i++) {
    strcat(s, ",permitted;DNS:");
    strcat(s, permitted[i]);
  }
  strcat(s, ",excluded;IP:0.0.0.0/0.0.0.0,excluded;IP:::/::");
  return s;
}

al_proxy_ca *al_proxy_ca_new(const char *label, const char *const *permitted, size_t n_permitted, int64_t now,
                             int64_t validity_s, airlock_error **err) {
  for (size_t i = 0; i < n_permitted; i++)
    if (!plain_name(permitted[i])) {
      al_err(err, 0, "inspect CA: '%s' is not a host name", permitted[i]);
      return NULL;
    }
  if (validity_s <= 0) {
    al_err(err, 0, "inspect CA: validity must be positive");
    return NULL;
  }
  al_proxy_ca *ca = calloc(1, sizeof(*ca));
  if (!ca) {
    al_err(err, ENOMEM, "out of memory");
    return NULL;
  }
  ca->not_after = now + validity_s;
  ca->key = EVP_EC_gen("P-256");
  ca->leaf_key = EVP_EC_gen("P-256");
  ca->cert = X509_new();
  if (!ca->key || !ca->leaf_key || !ca->cert) {
    ssl_err(err, "inspect CA: cannot make its keys");
    al_proxy_ca_free(ca);
    return NULL;
  }
  char cn[64];
  snprintf(cn, sizeof(cn), "airlock egress CA %.40s", label && *label ? label : "proxy");
  X509_NAME *name = X509_get_subject_name(ca->cert);
  char *nc = n_permitted ? constraints(permitted, n_permitted) : NULL;
  bool ok = set_basics(ca->cert, now - AL_PROXY_CA_SKEW_S, ca->not_after) == 0 && add_name(name, "O", "airlock") == 0 &&
            add_name(name, "CN", cn) == 0 && X509_set_issuer_name(ca->cert, name) &&
            X509_set_pubkey(ca->cert, ca->key) &&
            add_ext(ca->cert, ca->cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") == 0 &&
            add_ext(ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign") == 0 &&
            add_ext(ca->cert, ca->cert, NID_subject_key_identifier, "hash") == 0 &&
            (!n_permitted || (nc && add_ext(ca->cert, ca->cert, NID_name_constraints, nc) == 0)) &&
            X509_sign(ca->cert, ca->key, EVP_sha256()) > 0;
  free(nc);
  if (!ok) {
    ssl_err(err, "inspect CA: cannot make its certificate");
    al_proxy_ca_free(ca);
    return NULL;
  }
  return ca;
}

void al_proxy_ca_free(al_proxy_ca *ca) {
  if (!ca)
    return;
  for (size_t i = 0; i < AL_PROXY_CA_LEAVES; i++)
    X509_free(ca->leaves[i].cert);
  X509_free(ca->cert);
  EVP_PKEY_free(ca->leaf_key);
  EVP_PKEY_free(ca->key);
  free(ca);
}

char *al_proxy_ca_pem(const al_proxy_ca *ca, airlock_error **err) {
  BIO *b = BIO_new(BIO_s_mem());
  char *data = NULL;
  long n = b && PEM_write_bio_X509(b, ca->cert) ? BIO_get_mem_data(b, &data) : 0;
  char *pem = n > 0 ? strndup(data, (size_t)n) : NULL;
  BIO_free(b);
  if (!pem)
    al_err(err, ENOMEM, "inspect CA: cannot write its certificate");
  return pem;
}

X509 *al_proxy_ca_cert(const al_proxy_ca *ca) { return ca->cert; }

EVP_PKEY *al_proxy_ca_leaf_key(const al_proxy_ca *ca) { return ca->leaf_key; }

static X509 *issue(al_proxy_ca *ca, const char *host, int64_t now) {
  X509 *x = X509_new();
  if (!x)
    return NULL;
  char san[300];
  snprintf(san, sizeof(san), "%sDNS:%s", strlen(host) > 64 ? "critical," : "", host);
  /* a CN holds 64 characters at most; longer names are in the SAN only
   * (which is then critical, as RFC 5280 wants for an empty subject) */
  bool ok = set_basics(x, now - AL_PROXY_CA_SKEW_S, ca->not_after) == 0 &&
            (strlen(host) > 64 || add_name(X509_get_subject_name(x), "CN", host) == 0) &&
            X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) && X509_set_pubkey(x, ca->leaf_key) &&
            add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
            add_ext(x, ca->cert, NID_key_usage, "critical,digitalSignature") == 0 &&
            add_ext(x, ca->cert, NID_ext_key_usage, "serverAuth") == 0 &&
            add_ext(x, ca->cert, NID_subject_alt_name, san) == 0 &&
            add_ext(x, ca->cert, NID_subject_key_identifier, "hash") == 0 &&
            add_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always") == 0 &&
            X509_sign(x, ca->key, EVP_sha256()) > 0;
  if (!ok) {
    X509_free(x);
    return NULL;
  }
  return x;
}

X509 *al_proxy_ca_leaf(al_proxy_ca *ca, const char *host, int64_t now, airlock_error **err) {
  if (!plain_name(host)) {
    al_err(err, 0, "inspect CA: '%s' is not a normalised host name", host);
    return NULL;
  }
  for (size_t i = 0; i < AL_PROXY_CA_LEAVES; i++)
    if (ca->leaves[i].cert && strcmp(ca->leaves[i].host, host) == 0)
      return ca->leaves[i].cert;
  X509 *x = issue(ca, host, now);
  if (!x) {
    ssl_err(err, "inspect CA: cannot issue a certificate");
    return NULL;
  }
  size_t slot = ca->next;
  ca->next = (ca->next + 1) % AL_PROXY_CA_LEAVES;
  X509_free(ca->leaves[slot].cert);
  ca->leaves[slot].cert = x;
  snprintf(ca->leaves[slot].host, sizeof(ca->leaves[slot].host), "%s", host);
  return x;
}
