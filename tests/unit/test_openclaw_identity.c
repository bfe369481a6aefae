/* SPDX-License-Identifier: Apache-2.0 */
/* test_openclaw_identity.c - the OpenClaw device identity and its v3
 * signature (src/openclaw/oc_identity.c) against values airlock did not make:
 * a connect frame the official node host sent to a real gateway (captured in
 * the research note on the protocol), RFC 8032's first Ed25519 test vector,
 * and libsodium called directly on a fixed seed. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "openclaw.h"

/* the official host's connect (openclaw 2026.9.6, shared token), as captured */
#define CAP_ID "13a7ee37d384b5dc0aff0157f497fb89fac62847015cee67b482ce2556994711"
#define CAP_PUB "uANNaDhQGoDeZasVxnOzjzVlompy5Xg4nK8pnyM3l5k"
#define CAP_SIG "IcgCoBnPNb60vQaCtGB8lPQYKIS1fPGwSu7MvBp_DskDKpEWH87nvQRNuH5et_gLLtRrvokKgLd1Kw42fg09CA"
#define CAP_TS 1796609043154LL
#define CAP_TOKEN "T0ken-test-123"
#define CAP_NONCE "38bbf1ce-417d-4656-89b7-9582324288f9"

static void b64url_decode(const char *in, unsigned char *out, size_t want) {
  size_t len = 0;
  assert_int_equal(
      sodium_base642bin(out, want, in, strlen(in), NULL, &len, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
  assert_int_equal(len, want);
}

static void hex_decode(const char *in, unsigned char *out, size_t want) {
  size_t len = 0;
  assert_int_equal(sodium_hex2bin(out, want, in, strlen(in), NULL, &len, NULL), 0);
  assert_int_equal(len, want);
}

/* a state directory holding openclaw-device.json with this seed */
static char *dir_with_seed(const unsigned char seed[32]) {
  char tmpl[] = "/tmp/al-test-openclaw.XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  char *b64 = oc_b64url(seed, 32), *path = NULL;
  assert_non_null(b64);
  assert_true(asprintf(&path, "%s/openclaw-device.json", tmpl) > 0);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "{\"version\": 1, \"algorithm\": \"ed25519\", \"seed\": \"%s\"}\n", b64);
  fclose(f);
  assert_int_equal(chmod(path, 0600), 0);
  free(b64);
  free(path);
  return strdup(tmpl);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(p);
}

static void rm_dir(char *dir) {
  nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
  free(dir);
}

/* the payload airlock builds is byte for byte the one the official host
 * signed: its captured signature verifies over it */
static void test_captured_connect(void **state) {
  (void)state;
  char *payload = oc_auth_payload(CAP_ID, CAP_TS, CAP_TOKEN, CAP_NONCE);
  assert_non_null(payload);
  assert_string_equal(payload,
                      "v3|" CAP_ID "|node-host|node|node||1796609043154|" CAP_TOKEN "|" CAP_NONCE "|linux|linux");
  unsigned char pk[32], sig[64], h[32];
  b64url_decode(CAP_PUB, pk, sizeof(pk));
  b64url_decode(CAP_SIG, sig, sizeof(sig));
  crypto_hash_sha256(h, pk, sizeof(pk));
  char hex[65];
  sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
  assert_string_equal(hex, CAP_ID); /* device.id = hex sha256 of the raw key */
  assert_int_equal(crypto_sign_verify_detached(sig, (const unsigned char *)payload, strlen(payload), pk), 0);
  free(payload);
  /* and not over anything else: another token, another time */
  payload = oc_auth_payload(CAP_ID, CAP_TS, "T0ken-test-124", CAP_NONCE);
  assert_int_not_equal(crypto_sign_verify_detached(sig, (const unsigned char *)payload, strlen(payload), pk), 0);
  free(payload);
  payload = oc_auth_payload(CAP_ID, CAP_TS + 1, CAP_TOKEN, CAP_NONCE);
  assert_int_not_equal(crypto_sign_verify_detached(sig, (const unsigned char *)payload, strlen(payload), pk), 0);
  free(payload);
  /* no token is the empty field, not "(null)" */
  payload = oc_auth_payload(CAP_ID, 1, NULL, "n");
  assert_string_equal(payload, "v3|" CAP_ID "|node-host|node|node||1||n|linux|linux");
  free(payload);
}

/* RFC 8032, section 7.1, TEST 1: the empty message */
static void test_rfc8032_vector(void **state) {
  (void)state;
  unsigned char seed[32], pk[32];
  hex_decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed, sizeof(seed));
  hex_decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", pk, sizeof(pk));
  char *dir = dir_with_seed(seed);
  oc_identity id;
  airlock_error *err = NULL;
  assert_int_equal(oc_identity_load(dir, &id, &err), 0);
  assert_memory_equal(id.pk, pk, sizeof(pk));
  char *sig = oc_sign(&id, "");
  unsigned char want[64];
  hex_decode("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
             "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
             want, sizeof(want));
  char *want64 = oc_b64url(want, sizeof(want));
  assert_string_equal(sig, want64);
  assert_int_equal(strlen(sig), 86); /* 64 bytes, base64url without padding */
  free(sig);
  free(want64);
  rm_dir(dir);
}

/* a fixed seed: id, public key and the connect's signature as libsodium
 * computes them here, and the connect request that carries them */
static void test_seed_and_connect(void **state) {
  (void)state;
  unsigned char seed[32], pk[32], sk[64], h[32];
  for (int i = 0; i < 32; i++)
    seed[i] = (unsigned char)(i * 7 + 1);
  crypto_sign_seed_keypair(pk, sk, seed);
  crypto_hash_sha256(h, pk, sizeof(pk));
  char id_hex[65], pub[48];
  sodium_bin2hex(id_hex, sizeof(id_hex), h, sizeof(h));
  sodium_bin2base64(pub, sizeof(pub), pk, sizeof(pk), sodium_base64_VARIANT_URLSAFE_NO_PADDING);

  char *dir = dir_with_seed(seed);
  oc_identity id;
  airlock_error *err = NULL;
  assert_int_equal(oc_identity_load(dir, &id, &err), 0);
  assert_string_equal(id.id, id_hex);
  assert_string_equal(id.pub_b64, pub);
  assert_int_equal(strlen(id.pub_b64), 43);

  const char *nonce = "faac822e-82fc-4403-a739-dd1a43f05dbc", *token = "-starts-with-a-dash_x";
  json_t *p = oc_connect_params(&id, "n1", "inst", OC_AUTH_BOOTSTRAP, token, nonce, 1796609201812LL);
  assert_non_null(p);
  json_t *dev = json_object_get(p, "device");
  assert_string_equal(json_string_value(json_object_get(dev, "id")), id_hex);
  assert_string_equal(json_string_value(json_object_get(dev, "publicKey")), pub);
  assert_string_equal(json_string_value(json_object_get(dev, "nonce")), nonce);
  assert_int_equal(json_integer_value(json_object_get(dev, "signedAt")), 1796609201812LL);
  assert_string_equal(json_string_value(json_object_get(json_object_get(p, "auth"), "bootstrapToken")), token);
  assert_null(json_object_get(json_object_get(p, "auth"), "token"));
  assert_string_equal(json_string_value(json_object_get(p, "role")), "node");

  /* the signature libsodium makes with the same key over the v3 payload */
  char payload[512];
  snprintf(payload, sizeof(payload), "v3|%s|node-host|node|node||1796609201812|%s|%s|linux|linux", id_hex, token,
           nonce);
  unsigned char sig[64];
  crypto_sign_detached(sig, NULL, (const unsigned char *)payload, strlen(payload), sk);
  char *want = oc_b64url(sig, sizeof(sig));
  assert_string_equal(json_string_value(json_object_get(dev, "signature")), want);
  free(want);
  json_decref(p);

  /* a device token goes in auth.token */
  p = oc_connect_params(&id, "n1", "inst", OC_AUTH_TOKEN, "dev-tok", nonce, 5);
  assert_string_equal(json_string_value(json_object_get(json_object_get(p, "auth"), "token")), "dev-tok");
  json_decref(p);

  /* loading again gives the same identity; a broken seed is refused */
  oc_identity again;
  assert_int_equal(oc_identity_load(dir, &again, &err), 0);
  assert_memory_equal(again.sk, id.sk, sizeof(id.sk));
  char *path = NULL;
  assert_true(asprintf(&path, "%s/openclaw-device.json", dir) > 0);
  FILE *f = fopen(path, "w");
  fputs("{\"version\": 1, \"seed\": \"c2hvcnQ\"}", f);
  fclose(f);
  assert_int_equal(oc_identity_load(dir, &again, &err), -1);
  assert_non_null(err);
  assert_non_null(strstr(err->msg, "no valid Ed25519 seed"));
  airlock_error_free(&err);
  free(path);
  rm_dir(dir);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_captured_connect),
      cmocka_unit_test(test_rfc8032_vector),
      cmocka_unit_test(test_seed_and_connect),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
