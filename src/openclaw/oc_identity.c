/* SPDX-License-Identifier: Apache-2.0 */
/* oc_identity.c - the node's OpenClaw device identity and credentials: an
 * Ed25519 key made once and kept 0600 in the state directory, the device id
 * (hex sha256 of the raw public key) and the v3 connect signature exactly as
 * the gateway verifies them, the device token it issues at pairing, and the
 * node-profile setup codes that carry a bootstrap token.  libsodium does the
 * cryptography; jansson the files. */
#define _GNU_SOURCE
#include "openclaw.h"
#include "cleanup.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *oc_b64url(const unsigned char *data, size_t len) {
  size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  char *out = malloc(cap);
  if (out)
    sodium_bin2base64(out, cap, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

/* base64url or standard base64, padding optional */
static int b64_decode(const char *in, unsigned char *out, size_t cap, size_t *len) {
  size_t n = strcspn(in, "=");
  int variant =
      strpbrk(in, "+/") ? sodium_base64_VARIANT_ORIGINAL_NO_PADDING : sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  return sodium_base642bin(out, cap, in, n, NULL, len, NULL, variant);
}

/* write text to DIR/NAME with mode 0600, atomically */
static int write_private(const char *dir, const char *name, const char *text, airlock_error **err) {
  _cleanup_free_ char *path = NULL, *tmp = NULL;
  if (asprintf(&path, "%s/%s", dir, name) < 0 || asprintf(&tmp, "%s/.%s.tmp", dir, name) < 0)
    return al_err(err, ENOMEM, "path");
  unlink(tmp);
  _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return al_err(err, errno, "create %s", tmp);
  size_t len = strlen(text);
  if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
    unlink(tmp);
    return al_err(err, errno, "write %s", tmp);
  }
  if (rename(tmp, path) < 0) {
    unlink(tmp);
    return al_err(err, errno, "rename %s", path);
  }
  return 0;
}

/* DIR/NAME as JSON; NULL with *missing when it does not exist */
static json_t *read_private(const char *dir, const char *name, bool *missing, airlock_error **err) {
  _cleanup_free_ char *path = NULL;
  *missing = false;
  if (asprintf(&path, "%s/%s", dir, name) < 0) {
    al_err(err, ENOMEM, "path");
    return NULL;
  }
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    *missing = errno == ENOENT;
    al_err(err, errno, "open %s", path);
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) < 0 || (st.st_mode & 077) || st.st_uid != geteuid()) {
    al_err(err, 0, "%s must be a file of ours with mode 0600", path);
    return NULL;
  }
  json_error_t je;
  json_t *o = json_loadfd(fd, 0, &je);
  if (!json_is_object(o)) {
    if (o)
      json_decref(o);
    al_err(err, 0, "%s: not a JSON object: %s", path, je.text);
    return NULL;
  }
  return o;
}

static void derive(oc_identity *id) {
  unsigned char h[32];
  crypto_hash_sha256(h, id->pk, sizeof(id->pk));
  sodium_bin2hex(id->id, sizeof(id->id), h, sizeof(h));
  sodium_bin2base64(id->pub_b64, sizeof(id->pub_b64), id->pk, sizeof(id->pk), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int oc_identity_load(const char *dir, oc_identity *id, airlock_error **err) {
  memset(id, 0, sizeof(*id));
  if (sodium_init() < 0)
    return al_err(err, 0, "libsodium cannot start");
  bool missing;
  airlock_error *rerr = NULL;
  json_t *o = read_private(dir, "openclaw-device.json", &missing, &rerr);
  if (!o && !missing) {
    *err = rerr;
    return -1;
  }
  airlock_error_free(&rerr);
  unsigned char seed[crypto_sign_SEEDBYTES];
  if (o) {
    const char *s = json_string_value(json_object_get(o, "seed"));
    size_t len = 0;
    int bad = !s || b64_decode(s, seed, sizeof(seed), &len) < 0 || len != sizeof(seed);
    json_decref(o);
    if (bad)
      return al_err(err, 0, "%s/openclaw-device.json: no valid Ed25519 seed", dir);
  } else {
    randombytes_buf(seed, sizeof(seed));
    _cleanup_free_ char *b = oc_b64url(seed, sizeof(seed));
    json_t *out = json_pack("{s:i,s:s,s:s}", "version", 1, "algorithm", "ed25519", "seed", b);
    _cleanup_free_ char *text = out ? json_dumps(out, JSON_INDENT(2)) : NULL;
    if (out)
      json_decref(out);
    if (!text || write_private(dir, "openclaw-device.json", text, err) < 0) {
      sodium_memzero(seed, sizeof(seed));
      return text ? -1 : al_err(err, ENOMEM, "device identity");
    }
  }
  crypto_sign_seed_keypair(id->pk, id->sk, seed);
  sodium_memzero(seed, sizeof(seed));
  derive(id);
  return 0;
}

int oc_token_load(const char *dir, char **token, airlock_error **err) {
  *token = NULL;
  bool missing;
  airlock_error *rerr = NULL;
  json_t *o = read_private(dir, "openclaw-auth.json", &missing, &rerr);
  if (!o) {
    if (missing) {
      airlock_error_free(&rerr);
      return 0;
    }
    *err = rerr;
    return -1;
  }
  const char *t = json_string_value(json_object_get(o, "deviceToken"));
  if (t && *t)
    *token = strdup(t);
  json_decref(o);
  return 0;
}

int oc_token_save(const char *dir, const char *token, airlock_error **err) {
  json_t *o = json_pack("{s:s}", "deviceToken", token);
  _cleanup_free_ char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
  if (o)
    json_decref(o);
  if (!text)
    return al_err(err, ENOMEM, "device token");
  return write_private(dir, "openclaw-auth.json", text, err);
}

int oc_setup_code_decode(const char *code, char **url, char **bootstrap, int64_t *expires_ms, airlock_error **err) {
  *url = *bootstrap = NULL;
  *expires_ms = 0;
  size_t cap = strlen(code) + 4, len = 0;
  _cleanup_free_ unsigned char *raw = malloc(cap);
  if (!raw || b64_decode(code, raw, cap, &len) < 0)
    return al_err(err, 0, "the setup code is not base64url");
  json_t *o = json_loadb((const char *)raw, len, 0, NULL);
  const char *b = json_string_value(json_object_get(o, "bootstrapToken"));
  if (!json_is_object(o) || !b || !*b) {
    if (o)
      json_decref(o);
    return al_err(err, 0, "the setup code holds no bootstrapToken");
  }
  *bootstrap = strdup(b);
  const char *u = json_string_value(json_object_get(o, "url"));
  if (u)
    *url = strdup(u);
  json_t *e = json_object_get(o, "expiresAtMs");
  if (json_is_integer(e))
    *expires_ms = json_integer_value(e);
  json_decref(o);
  return 0;
}

char *oc_auth_payload(const char *device_id, int64_t signed_at, const char *token, const char *nonce) {
  char *s = NULL;
  if (asprintf(&s, "v3|%s|node-host|node|node||%lld|%s|%s|linux|linux", device_id, (long long)signed_at,
               token ? token : "", nonce) < 0)
    return NULL;
  return s;
}

char *oc_sign(const oc_identity *id, const char *payload) {
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, NULL, (const unsigned char *)payload, strlen(payload), id->sk);
  return oc_b64url(sig, sizeof(sig));
}

json_t *oc_connect_params(const oc_identity *id, const char *name, const char *instance, oc_auth_kind kind,
                          const char *token, const char *nonce, int64_t ts) {
  _cleanup_free_ char *payload = oc_auth_payload(id->id, ts, token, nonce);
  _cleanup_free_ char *sig = payload ? oc_sign(id, payload) : NULL;
  if (!sig)
    return NULL;
  return json_pack("{s:i,s:i,s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s},s:[s],s:[s,s,s],s:s,s:[],s:{s:s},"
                   "s:{s:s,s:s,s:s,s:I,s:s}}",
                   "minProtocol", OC_PROTOCOL, "maxProtocol", OC_PROTOCOL, "client", "id", "node-host", "displayName",
                   name, "version", AIRLOCK_VERSION, "platform", "linux", "deviceFamily", "Linux", "mode", "node",
                   "instanceId", instance, "caps", "system", "commands", "system.run", "system.run.prepare",
                   "system.which", "role", "node", "scopes", "auth",
                   kind == OC_AUTH_BOOTSTRAP ? "bootstrapToken" : "token", token ? token : "", "device", "id", id->id,
                   "publicKey", id->pub_b64, "signature", sig, "signedAt", (json_int_t)ts, "nonce", nonce);
}
