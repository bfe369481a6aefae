/* SPDX-License-Identifier: Apache-2.0 */
/* network.c - see network.h.  The settings stay one JSON object in
 * spec->network_json from the config file to the proxy, so keys the runtime
 * does not know (rate limits, injection, resolver, ...) pass through
 * untouched; flags only append rules to its allow and deny arrays. */
#define _GNU_SOURCE
#include "network.h"
#include "cleanup.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

const char *const al_egress_env[AL_EGRESS_ENV_COUNT + 1] = {
    "HTTP_PROXY=" AL_EGRESS_PROXY_URL,  "HTTPS_PROXY=" AL_EGRESS_PROXY_URL, "ALL_PROXY=" AL_EGRESS_PROXY_URL,
    "http_proxy=" AL_EGRESS_PROXY_URL,  "https_proxy=" AL_EGRESS_PROXY_URL, "all_proxy=" AL_EGRESS_PROXY_URL,
    "NO_PROXY=" AL_EGRESS_NO_PROXY,     "no_proxy=" AL_EGRESS_NO_PROXY,     NULL,
};

int al_egress_unix_listener(const char *dir, const char *name, int type, const char *what, airlock_error **err) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", dir, name) >= sizeof(a.sun_path))
    return al_err(err, ENAMETOOLONG, "%s: the proxy's socket path %s/%s is too long", what, dir, name);
  _cleanup_close_ int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0)
    return al_err(err, errno, "%s: the proxy's socket %s", what, a.sun_path);
  if (chmod(a.sun_path, 0666) < 0)
    return al_err(err, errno, "%s: chmod %s", what, a.sun_path);
  return AL_STEAL_FD(fd);
}

/* every key of the network object; all but mode, allow and deny are the
 * proxy's to check */
static const char *const network_keys[] = {
    "mode", "allow", "deny", "rateLimit", "limits", "inject", "allowAddresses", "resolver", "upstreamCa", "opaquePorts",
};

static int check_rules(const char *prefix, const char *name, json_t *v, airlock_error **err) {
  bool allow = strcmp(name, "allow") == 0;
  if (!json_is_array(v))
    return al_err(err, 0, "config key '%s.%s' must be an array of %s", prefix, name,
                  allow ? "rules (strings or {\"host\", \"inspect\"} objects)" : "strings");
  size_t i;
  json_t *item;
  json_array_foreach(v, i, item) {
    /* an allow entry may be an object (an inspected host): its "host" is
     * the rule; the proxy checks the rest */
    json_t *rule = allow && json_is_object(item) ? json_object_get(item, "host") : item;
    if (!json_is_string(rule))
      return al_err(err, 0, "config key '%s.%s[%zu]%s' must be a string%s", prefix, name, i,
                    rule == item ? "" : ".host", rule == item && allow ? " or an object {\"host\", \"inspect\"}" : "");
    if (strlen(json_string_value(rule)) != json_string_length(rule))
      return al_err(err, 0, "config key '%s.%s[%zu]' contains a NUL character", prefix, name, i);
  }
  return 0;
}

/* Known keys, mode a string, allow/deny arrays of strings.  *mode is NULL
 * when the object has none. */
static int check_object(const char *prefix, json_t *obj, const char **mode, airlock_error **err) {
  *mode = NULL;
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    size_t i = 0;
    while (i < AL_ARRAY_SIZE(network_keys) && strcmp(network_keys[i], k) != 0)
      i++;
    if (i == AL_ARRAY_SIZE(network_keys))
      return al_err(err, 0, "unknown config key '%s.%s'", prefix, k);
    if (strcmp(k, "mode") == 0) {
      if (!json_is_string(v))
        return al_err(err, 0, "config key '%s.mode' must be \"none\" or \"proxy\"", prefix);
      *mode = json_string_value(v);
    } else if ((strcmp(k, "allow") == 0 || strcmp(k, "deny") == 0) && check_rules(prefix, k, v, err) < 0) {
      return -1;
    }
  }
  return 0;
}

static int mode_error(const char *key, const char *mode, airlock_error **err) {
  if (strcmp(mode, "host") == 0)
    return al_err(err, 0, "config key '%s': network mode \"host\" is always refused", key);
  return al_err(err, 0, "config key '%s': network mode must be \"none\" or \"proxy\", not \"%s\"", key, mode);
}

static int set_json(airlock_spec *spec, json_t *obj, airlock_error **err) {
  char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
  if (obj && !text)
    return al_err(err, ENOMEM, "network settings");
  free(spec->network_json);
  spec->network_json = text;
  return 0;
}

int al_network_load(airlock_spec *spec, const char *key, json_t *v, airlock_error **err) {
  /* a later config file's network replaces an earlier one's as a whole */
  if (json_is_string(v)) {
    const char *m = json_string_value(v);
    if (strcmp(m, "none") != 0 && strcmp(m, "proxy") != 0)
      return mode_error(key, m, err);
    spec->network = strcmp(m, "proxy") == 0 ? AIRLOCK_NETWORK_PROXY : AIRLOCK_NETWORK_NONE;
    return set_json(spec, NULL, err);
  }
  if (!json_is_object(v))
    return al_err(err, 0, "config key '%s' must be \"none\", \"proxy\" or an object with a \"mode\"", key);
  const char *mode = NULL;
  if (check_object(key, v, &mode, err) < 0)
    return -1;
  if (mode == NULL)
    return al_err(err, 0, "config key '%s.mode' is missing (\"none\" or \"proxy\")", key);
  if (strcmp(mode, "none") == 0) {
    const char *k;
    json_t *item;
    json_object_foreach(v, k, item) {
      if (strcmp(k, "mode") != 0)
        return al_err(err, 0, "config key '%s.%s' applies only with mode \"proxy\"", key, k);
    }
    spec->network = AIRLOCK_NETWORK_NONE;
    return set_json(spec, NULL, err);
  }
  if (strcmp(mode, "proxy") != 0) {
    char full[256];
    snprintf(full, sizeof(full), "%s.mode", key);
    return mode_error(full, mode, err);
  }
  spec->network = AIRLOCK_NETWORK_PROXY;
  return set_json(spec, v, err);
}

int al_network_load_openclaw(airlock_spec *spec, const char *key, json_t *v, airlock_error **err) {
  if (!json_is_string(v))
    return al_err(err, 0, "config key '%s' must be a string", key);
  const char *m = json_string_value(v);
  if (strcmp(m, "none") == 0) {
    spec->network = AIRLOCK_NETWORK_NONE;
    return set_json(spec, NULL, err);
  }
  if (strcmp(m, "bridge") == 0) {
    /* Docker's default network: here, every destination the proxy lets
     * through at all (it still refuses private, loopback and metadata
     * addresses, and applies its limits) */
    json_auto_t *obj = json_pack("{s:s, s:[s]}", "mode", "proxy", "allow", "*:*");
    spec->network = AIRLOCK_NETWORK_PROXY;
    return set_json(spec, obj, err);
  }
  if (strcmp(m, "host") == 0)
    return al_err(err, 0, "config key '%s': network mode \"host\" is always refused", key);
  return al_err(err, 0, "config key '%s': network mode \"%s\" is not supported (\"none\" or \"bridge\")", key, m);
}

static json_t *load_settings(const char *text, airlock_error **err) {
  if (text == NULL)
    return json_object();
  json_error_t jerr;
  json_t *obj = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
  if (obj == NULL || !json_is_object(obj)) {
    json_decref(obj);
    al_err(err, 0, "network settings are not a JSON object");
    return NULL;
  }
  return obj;
}

int airlock_spec_add_egress_rule(airlock_spec *spec, bool deny, const char *rule, airlock_error **err) {
  const char *name = deny ? "deny" : "allow";
  json_auto_t *obj = load_settings(spec->network_json, err);
  if (obj == NULL)
    return -1;
  json_t *list = json_object_get(obj, name);
  if (list == NULL) {
    list = json_array();
    if (list == NULL || json_object_set_new(obj, name, list) < 0)
      return al_err(err, ENOMEM, "network settings");
  }
  if (!json_is_array(list))
    return al_err(err, 0, "config key 'network.%s' must be an array of strings", name);
  if (json_array_append_new(list, json_string(rule)) < 0)
    return al_err(err, 0, "--%s '%s' is not valid UTF-8", name, rule);
  return set_json(spec, obj, err);
}

int al_network_check(const airlock_spec *spec, airlock_error **err) {
  if (spec->network != AIRLOCK_NETWORK_NONE && spec->network != AIRLOCK_NETWORK_PROXY)
    return al_err(err, 0, "unknown network mode %d", (int)spec->network);
  if (spec->network == AIRLOCK_NETWORK_NONE) {
    if (spec->network_json)
      return al_err(err, 0, "--allow and --deny (network.allow, network.deny) apply only with --network proxy");
    if (spec->egress_log)
      return al_err(err, 0, "--egress-log applies only with --network proxy");
    return 0;
  }
  if (spec->egress_log && spec->egress_log[0] == '\0')
    return al_err(err, 0, "--egress-log must not be empty");
  json_auto_t *obj = load_settings(spec->network_json, err);
  const char *mode = NULL;
  if (obj == NULL || check_object("network", obj, &mode, err) < 0)
    return -1;
  if (mode && strcmp(mode, "proxy") != 0)
    return al_err(err, 0, "network settings say mode \"%s\" but the network mode is proxy", mode);
  return 0;
}

static int ensure_array(json_t *obj, const char *name) {
  return json_object_get(obj, name) ? 0 : json_object_set_new(obj, name, json_array());
}

char *al_network_proxy_config(const airlock_spec *spec, airlock_error **err) {
  json_auto_t *obj = load_settings(spec->network_json, err);
  if (obj == NULL)
    return NULL;
  if (json_object_set_new(obj, "mode", json_string("proxy")) < 0 || ensure_array(obj, "allow") < 0 ||
      ensure_array(obj, "deny") < 0) {
    al_err(err, ENOMEM, "network settings");
    return NULL;
  }
  char *text = json_dumps(obj, JSON_COMPACT);
  if (text == NULL)
    al_err(err, ENOMEM, "network settings");
  return text;
}

char *al_network_report(const airlock_spec *spec) {
  json_auto_t *settings = load_settings(spec->network_json, NULL);
  if (settings == NULL)
    return NULL;
  if (ensure_array(settings, "allow") < 0 || ensure_array(settings, "deny") < 0)
    return NULL;
  _cleanup_free_ char *log = NULL;
  if (spec->egress_log && spec->egress_log[0] != '/') {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) && asprintf(&log, "%s/%s", cwd, spec->egress_log) < 0)
      log = NULL;
  }
  json_auto_t *report =
      json_pack("{s:s, s:s, s:O, s:O, s:s}", "proxy", AL_EGRESS_HTTP_ADDR, "dns", AL_EGRESS_DNS_ADDR, "allow",
                json_object_get(settings, "allow"), "deny", json_object_get(settings, "deny"), "log",
                spec->egress_log_fd >= 0 ? "audit"
                : log                    ? log
                : spec->egress_log       ? spec->egress_log
                                         : "stderr");
  return report ? json_dumps(report, JSON_COMPACT) : NULL;
}

/* the variables TLS clients read for their trust store: OpenSSL (and
 * Python's ssl, Ruby, Go, rustls-native-certs), requests (which would
 * otherwise use certifi's), curl, pip, git, the AWS SDKs and CLI, cargo;
 * Node adds its extra certificates to its own roots */
const char *const al_egress_ca_env[AL_EGRESS_CA_ENV_COUNT + 1] = {
    "SSL_CERT_FILE=" AL_EGRESS_CA_BUNDLE,     "REQUESTS_CA_BUNDLE=" AL_EGRESS_CA_BUNDLE,
    "CURL_CA_BUNDLE=" AL_EGRESS_CA_BUNDLE,    "PIP_CERT=" AL_EGRESS_CA_BUNDLE,
    "GIT_SSL_CAINFO=" AL_EGRESS_CA_BUNDLE,    "AWS_CA_BUNDLE=" AL_EGRESS_CA_BUNDLE,
    "CARGO_HTTP_CAINFO=" AL_EGRESS_CA_BUNDLE, "NODE_EXTRA_CA_CERTS=" AL_EGRESS_CA_CERT,
    NULL,
};

static const char *const host_ca_bundles[] = {AL_SYSTEM_CA_BUNDLE, "/etc/pki/tls/certs/ca-bundle.crt",
                                              "/etc/ssl/cert.pem"};
#define MAX_CA_BUNDLE (8 << 20)

char *al_read_host_ca_bundle(size_t *len, airlock_error **err) {
  *len = 0;
  for (size_t i = 0; i < AL_ARRAY_SIZE(host_ca_bundles); i++) {
    _cleanup_close_ int fd = open(host_ca_bundles[i], O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
      continue;
    if (st.st_size > MAX_CA_BUNDLE) {
      al_err(err, 0, "the host's trust store '%s' is over %d MiB", host_ca_bundles[i], MAX_CA_BUNDLE >> 20);
      return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
      ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      got += (size_t)n;
    }
    if (!buf || got != (size_t)st.st_size) {
      al_err(err, buf ? EIO : ENOMEM, "reading the host's trust store '%s'", host_ca_bundles[i]);
      free(buf);
      return NULL;
    }
    *len = got;
    return buf;
  }
  return strdup(""); /* none: the bundle is the proxy's CA alone */
}
