/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the egress proxy's CA of inspected tunnels (proxy_ca.c):
 * the CA certificate's parameters (P-256, CA:TRUE pathlen 0, key usages,
 * validity, name constraints), its PEM holding no key, and leaf
 * certificates that a client verifies for their host with OpenSSL's own
 * chain check, and for no other name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "proxy_ca.h"

#define NOW ((int64_t)1800000000) /* 2027-01-15 */
#define DAY 86400

static al_proxy_ca *make(const char *const *names, size_t n) {
  airlock_error *err = NULL;
  al_proxy_ca *ca = al_proxy_ca_new("box-1", names, n, NOW, DAY, &err);
  if (!ca)
    fail_msg("al_proxy_ca_new: %s", err ? err->msg : "(no error)");
  return ca;
}

/* X509_verify_cert of leaf against ca alone, at time at, for host. */
static int verify(al_proxy_ca *ca, X509 *leaf, const char *host, int64_t at) {
  X509_STORE *store = X509_STORE_new();
  X509_STORE_CTX *ctx = X509_STORE_CTX_new();
  assert_non_null(store);
  assert_non_null(ctx);
  assert_int_equal(X509_STORE_add_cert(store, al_proxy_ca_cert(ca)), 1);
  assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
  X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_time(vp, (time_t)at);
  X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER);
  if (host)
    X509_VERIFY_PARAM_set1_host(vp, host, 0);
  int rc = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return rc;
}

static void test_ca_certificate(void **state) {
  (void)state;
  const char *names[] = {"allowed.test", "example.com"};
  al_proxy_ca *ca = make(names, 2);
  X509 *cert = al_proxy_ca_cert(ca);
  /* EC P-256 */
  EVP_PKEY *pub = X509_get0_pubkey(cert);
  char group[64] = "";
  size_t gl = 0;
  assert_int_equal(EVP_PKEY_get_group_name(pub, group, sizeof(group), &gl), 1);
  assert_string_equal(group, "prime256v1");
  /* self-signed, a CA that may sign leaves only */
  assert_int_equal(X509_verify(cert, pub), 1);
  assert_int_equal(X509_check_issued(cert, cert), X509_V_OK);
  assert_int_equal(X509_check_ca(cert), 1);
  assert_int_equal(X509_get_pathlen(cert), 0);
  uint32_t ku = X509_get_key_usage(cert);
  assert_true(ku & KU_KEY_CERT_SIGN);
  assert_true(ku & KU_CRL_SIGN);
  assert_false(ku & KU_DIGITAL_SIGNATURE);
  int crit = -1;
  BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(cert, NID_basic_constraints, &crit, NULL);
  assert_non_null(bc);
  assert_int_equal(crit, 1);
  BASIC_CONSTRAINTS_free(bc);
  /* valid from a little before now, for the validity asked */
  assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(cert), (time_t)(NOW - AL_PROXY_CA_SKEW_S)), 0);
  assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(cert), (time_t)(NOW + DAY)), 0);
  /* name constraints, critical: the inspected names permitted, every IP
   * address excluded */
  NAME_CONSTRAINTS *nc = X509_get_ext_d2i(cert, NID_name_constraints, &crit, NULL);
  assert_non_null(nc);
  assert_int_equal(crit, 1);
  assert_int_equal(sk_GENERAL_SUBTREE_num(nc->permittedSubtrees), 2);
  for (int i = 0; i < 2; i++) {
    GENERAL_SUBTREE *st = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i);
    assert_int_equal(st->base->type, GEN_DNS);
    assert_string_equal((const char *)ASN1_STRING_get0_data(st->base->d.dNSName), names[i]);
  }
  assert_int_equal(sk_GENERAL_SUBTREE_num(nc->excludedSubtrees), 2);
  for (int i = 0; i < 2; i++) {
    GENERAL_SUBTREE *st = sk_GENERAL_SUBTREE_value(nc->excludedSubtrees, i);
    assert_int_equal(st->base->type, GEN_IPADD);
    const unsigned char *ip = ASN1_STRING_get0_data(st->base->d.iPAddress);
    int len = ASN1_STRING_length(st->base->d.iPAddress);
    assert_int_equal(len, i == 0 ? 8 : 32); /* address and mask, all zero: everything */
    for (int k = 0; k < len; k++)
      assert_int_equal(ip[k], 0);
  }
  NAME_CONSTRAINTS_free(nc);
  /* the subject names the sandbox */
  char subject[256];
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
  assert_non_null(strstr(subject, "airlock egress CA box-1"));
  al_proxy_ca_free(ca);
}

static void test_pem_has_no_key(void **state) {
  (void)state;
  const char *names[] = {"allowed.test"};
  al_proxy_ca *ca = make(names, 1);
  airlock_error *err = NULL;
  char *pem = al_proxy_ca_pem(ca, &err);
  assert_non_null(pem);
  assert_int_equal(strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28), 0);
  assert_null(strstr(pem, "PRIVATE"));
  assert_null(strstr(pem + 1, "-----BEGIN"));
  BIO *b = BIO_new_mem_buf(pem, -1);
  X509 *back = PEM_read_bio_X509(b, NULL, NULL, NULL);
  assert_non_null(back);
  assert_int_equal(X509_cmp(back, al_proxy_ca_cert(ca)), 0);
  X509_free(back);
  BIO_free(b);
  free(pem);
  al_proxy_ca_free(ca);
}

static void test_leaf(void **state) {
  (void)state;
  const char *names[] = {"allowed.test", "example.com"};
  al_proxy_ca *ca = make(names, 2);
  airlock_error *err = NULL;
  X509 *leaf = al_proxy_ca_leaf(ca, "allowed.test", NOW + 60, &err);
  assert_non_null(leaf);
  /* a client that trusts the CA accepts it for its name only */
  assert_int_equal(verify(ca, leaf, "allowed.test", NOW + 120), X509_V_OK);
  assert_int_equal(verify(ca, leaf, "other.test", NOW + 120), X509_V_ERR_HOSTNAME_MISMATCH);
  /* ... and within the CA's validity */
  assert_int_equal(verify(ca, leaf, "allowed.test", NOW + DAY + 1), X509_V_ERR_CERT_HAS_EXPIRED);
  assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(leaf), (time_t)(NOW + DAY)), 0);
  assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(leaf), (time_t)(NOW + 60 - AL_PROXY_CA_SKEW_S)), 0);
  /* a server certificate, not a CA, with the one key of all leaves */
  assert_int_equal(X509_check_ca(leaf), 0);
  assert_true(X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER);
  assert_false(X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT);
  assert_true(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE);
  assert_false(X509_get_key_usage(leaf) & KU_KEY_CERT_SIGN);
  assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(leaf), al_proxy_ca_leaf_key(ca)), 1);
  assert_int_not_equal(EVP_PKEY_eq(X509_get0_pubkey(leaf), X509_get0_pubkey(al_proxy_ca_cert(ca))), 1);
  /* kept: the same certificate for the same host, another for another */
  assert_ptr_equal(al_proxy_ca_leaf(ca, "allowed.test", NOW + 90, &err), leaf);
  X509 *sub = al_proxy_ca_leaf(ca, "api.example.com", NOW + 60, &err);
  assert_non_null(sub);
  assert_ptr_not_equal(sub, leaf);
  assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(sub), X509_get0_serialNumber(leaf)), 0);
  assert_int_equal(verify(ca, sub, "api.example.com", NOW + 120), X509_V_OK); /* under a permitted name */
  /* a name the constraints do not permit fails the chain check, whoever
   * signed it: the CA is good for the inspected hosts only */
  X509 *outside = al_proxy_ca_leaf(ca, "other.test", NOW + 60, &err);
  assert_non_null(outside);
  assert_int_equal(verify(ca, outside, "other.test", NOW + 120), X509_V_ERR_PERMITTED_VIOLATION);
  X509 *suffix = al_proxy_ca_leaf(ca, "evilexample.com", NOW + 60, &err);
  assert_non_null(suffix);
  assert_int_equal(verify(ca, suffix, "evilexample.com", NOW + 120), X509_V_ERR_PERMITTED_VIOLATION);
  al_proxy_ca_free(ca);
}

static void test_leaf_names(void **state) {
  (void)state;
  al_proxy_ca *ca = make(NULL, 0); /* an inspected "*": no constraints */
  assert_null(X509_get_ext_d2i(al_proxy_ca_cert(ca), NID_name_constraints, NULL, NULL));
  airlock_error *err = NULL;
  /* longer than a CN may be: in the SAN only, which is then critical */
  char longname[200];
  memset(longname, 'a', 60);
  strcpy(longname + 60, ".bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.example");
  X509 *leaf = al_proxy_ca_leaf(ca, longname, NOW, &err);
  assert_non_null(leaf);
  assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(leaf)), 0);
  int crit = -1;
  GENERAL_NAMES *san = X509_get_ext_d2i(leaf, NID_subject_alt_name, &crit, NULL);
  assert_non_null(san);
  assert_int_equal(crit, 1);
  GENERAL_NAMES_free(san);
  assert_int_equal(verify(ca, leaf, longname, NOW + 1), X509_V_OK);
  /* only normalised names: nothing the extension syntax could misread */
  static const char *const bad[] = {"", "a.test,IP:10.0.0.1", "A.test", "a test", "a.test\n", "*.test", "a_b.test"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_null(al_proxy_ca_leaf(ca, bad[i], NOW, &err));
    assert_non_null(err);
    airlock_error_free(&err);
  }
  al_proxy_ca_free(ca);
  /* a CA is refused for names that are not plain, or no validity */
  const char *badnames[] = {"a.test,DNS:b.test"};
  assert_null(al_proxy_ca_new("x", badnames, 1, NOW, DAY, &err));
  assert_non_null(strstr(err->msg, "not a host name"));
  airlock_error_free(&err);
  assert_null(al_proxy_ca_new("x", NULL, 0, NOW, 0, &err));
  airlock_error_free(&err);
}

static void test_each_ca_is_new(void **state) {
  (void)state;
  /* two proxies (two sandboxes) never share a key */
  const char *names[] = {"allowed.test"};
  al_proxy_ca *a = make(names, 1), *b = make(names, 1);
  assert_int_not_equal(EVP_PKEY_eq(X509_get0_pubkey(al_proxy_ca_cert(a)), X509_get0_pubkey(al_proxy_ca_cert(b))), 1);
  assert_int_not_equal(EVP_PKEY_eq(al_proxy_ca_leaf_key(a), al_proxy_ca_leaf_key(b)), 1);
  assert_int_not_equal(
      ASN1_INTEGER_cmp(X509_get0_serialNumber(al_proxy_ca_cert(a)), X509_get0_serialNumber(al_proxy_ca_cert(b))), 0);
  /* a leaf of one is not accepted by a client that trusts the other */
  airlock_error *err = NULL;
  X509 *leaf = al_proxy_ca_leaf(a, "allowed.test", NOW, &err);
  assert_int_not_equal(verify(b, leaf, "allowed.test", NOW + 1), X509_V_OK);
  al_proxy_ca_free(a);
  al_proxy_ca_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ca_certificate), cmocka_unit_test(test_pem_has_no_key), cmocka_unit_test(test_leaf),
      cmocka_unit_test(test_leaf_names),     cmocka_unit_test(test_each_ca_is_new),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
