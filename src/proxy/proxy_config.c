/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_config.c - the `network` object of an airlock config, as the egress
 * proxy reads it: rules, addresses allowed despite their class, injection
 * routes, inspected hosts, rate limits and caps.  Strict: an unknown key or
 * a value of the wrong type is an error naming it, so a typo cannot open or
 * close more than the operator meant.  Secrets are loaded separately, after
 * checking. */
#include "proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"
#include "secrets.h"

#define NET "network."

static int parse_cidr(const char *text, al_proxy_cidr *out, airlock_error **err) {
  char buf[80];
  if (strlen(text) >= sizeof(buf))
    return al_err(err, 0, "config key '" NET "allowAddresses': '%s' is too long", text);
  /* an IPv6 network may be written bracketed, as in the rules:
   * "[fd00::/8]" or "[fd00::]/8" */
  size_t n = 0;
  for (const char *t = text; *t; t++)
    if (*t != '[' && *t != ']')
      buf[n++] = *t;
  buf[n] = '\0';
  char *slash = strchr(buf, '/');
  if (slash)
    *slash = '\0';
  char *addr = buf;
  memset(out, 0, sizeof(*out));
  if (inet_pton(AF_INET, addr, out->net.addr) == 1) {
    out->net.family = AF_INET;
  } else if (inet_pton(AF_INET6, addr, out->net.addr) == 1) {
    out->net.family = AF_INET6;
  } else {
    return al_err(err, 0, "config key '" NET "allowAddresses': '%s' is not an IP address or CIDR", text);
  }
  unsigned max = out->net.family == AF_INET ? 32 : 128;
  out->bits = max;
  if (slash) {
    char *end;
    unsigned long b = strtoul(slash + 1, &end, 10);
    if (!slash[1] || *end || b > max)
      return al_err(err, 0, "config key '" NET "allowAddresses': bad prefix length in '%s'", text);
    out->bits = (unsigned)b;
  }
  return 0;
}

static bool in_cidr(const al_proxy_cidr *c, int family, const uint8_t *addr) {
  if (c->net.family != family)
    return false;
  unsigned full = c->bits / 8, rest = c->bits % 8;
  if (memcmp(c->net.addr, addr, full) != 0)
    return false;
  if (rest == 0)
    return true;
  uint8_t mask = (uint8_t)(0xff << (8 - rest));
  return (c->net.addr[full] & mask) == (addr[full] & mask);
}

bool al_proxy_address_allowed(const al_proxy_config *cfg, const struct sockaddr *sa) {
  const uint8_t *addr;
  int family = sa->sa_family;
  if (family == AF_INET) {
    addr = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
  } else if (family == AF_INET6) {
    addr = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
  } else {
    return false;
  }
  for (size_t i = 0; i < cfg->n_allow_addresses; i++)
    if (in_cidr(&cfg->allow_addresses[i], family, addr))
      return true;
  return false;
}

static int string_list(json_t *arr, const char *key,
                       int (*each)(al_proxy_config *, const char *, const char *, airlock_error **),
                       al_proxy_config *cfg, airlock_error **err) {
  if (!json_is_array(arr))
    return al_err(err, 0, "config key '" NET "%s' must be an array of strings", key);
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    if (!json_is_string(v))
      return al_err(err, 0, "config key '" NET "%s[%zu]' must be a string", key, i);
    if (each(cfg, key, json_string_value(v), err) < 0)
      return -1;
  }
  return 0;
}

static int add_rule(al_proxy_config *cfg, const char *key, const char *rule, airlock_error **err) {
  al_egress_verdict v = strcmp(key, "allow") == 0 ? AL_EGRESS_ALLOW : AL_EGRESS_DENY;
  if (al_egress_ruleset_add(cfg->rules, v, rule, err) < 0)
    return al_err_prefix(err, "config key '" NET "%s'", key);
  return 0;
}

static int add_address(al_proxy_config *cfg, const char *key, const char *text, airlock_error **err) {
  (void)key;
  if (cfg->n_allow_addresses == AL_PROXY_MAX_ADDR_RULES)
    return al_err(err, 0, "config key '" NET "allowAddresses': more than %d entries", AL_PROXY_MAX_ADDR_RULES);
  return parse_cidr(text, &cfg->allow_addresses[cfg->n_allow_addresses++], err);
}

static int number(json_t *v, const char *key, double min, double max, double *out, airlock_error **err) {
  if (!json_is_number(v) || json_number_value(v) < min || json_number_value(v) > max)
    return al_err(err, 0, "config key '" NET "%s' must be a number from %g to %g", key, min, max);
  *out = json_number_value(v);
  return 0;
}

static int parse_rate(al_proxy_config *cfg, json_t *obj, airlock_error **err) {
  if (!json_is_object(obj))
    return al_err(err, 0, "config key '" NET "rateLimit' must be an object");
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    char key[96];
    snprintf(key, sizeof(key), "rateLimit.%s", k);
    double *slot = strcmp(k, "requestsPerMinute") == 0          ? &cfg->rate_per_minute
                   : strcmp(k, "burst") == 0                    ? &cfg->rate_burst
                   : strcmp(k, "perHostRequestsPerMinute") == 0 ? &cfg->host_rate_per_minute
                   : strcmp(k, "perHostBurst") == 0             ? &cfg->host_rate_burst
                                                                : NULL;
    if (!slot)
      return al_err(err, 0,
                    "config key '" NET "%s' is not known (requestsPerMinute, burst, "
                    "perHostRequestsPerMinute, perHostBurst)",
                    key);
    if (number(v, key, 0, 1e9, slot, err) < 0)
      return -1;
  }
  return 0;
}

static int parse_limits(al_proxy_config *cfg, json_t *obj, airlock_error **err) {
  if (!json_is_object(obj))
    return al_err(err, 0, "config key '" NET "limits' must be an object");
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    char key[96];
    snprintf(key, sizeof(key), "limits.%s", k);
    double d = 0;
    if (strcmp(k, "maxBytes") == 0) {
      if (json_is_string(v)) {
        int64_t sz;
        if (airlock_parse_size(json_string_value(v), &sz, err) < 0)
          return al_err_prefix(err, "config key '" NET "%s'", key);
        cfg->max_bytes = (uint64_t)sz;
        continue;
      }
      if (number(v, key, 0, 1e18, &d, err) < 0)
        return -1;
      cfg->max_bytes = (uint64_t)d;
      continue;
    }
    unsigned *slot = strcmp(k, "maxConnections") == 0  ? &cfg->max_connections
                     : strcmp(k, "headerTimeout") == 0 ? &cfg->header_timeout_s
                     : strcmp(k, "idleTimeout") == 0   ? &cfg->idle_timeout_s
                     : strcmp(k, "maxDuration") == 0   ? &cfg->max_duration_s
                                                       : NULL;
    if (!slot)
      return al_err(err, 0,
                    "config key '" NET "%s' is not known (maxConnections, headerTimeout, idleTimeout, "
                    "maxDuration, maxBytes)",
                    key);
    if (number(v, key, 1, 1e6, &d, err) < 0)
      return -1;
    *slot = (unsigned)d;
  }
  return 0;
}

static int need_string(json_t *obj, const char *name, const char *key, char **out, airlock_error **err) {
  json_t *v = json_object_get(obj, name);
  if (!json_is_string(v) || !*json_string_value(v))
    return al_err(err, 0, "config key '%s.%s' must be a non-empty string", key, name);
  *out = strdup(json_string_value(v));
  return *out ? 0 : al_err(err, ENOMEM, "out of memory");
}

/* "https://host[:port][/base]" */
static int parse_upstream(al_proxy_route *r, const char *key, const char *url, airlock_error **err) {
  if (strncmp(url, "https://", 8) != 0)
    return al_err(err, 0,
                  "config key '%s.upstream': '%s' must start with https:// (keys travel over verified "
                  "TLS only)",
                  key, url);
  const char *h = url + 8;
  size_t hl = strcspn(h, ":/");
  char host[AL_HOST_MAX];
  if (hl == 0 || hl >= sizeof(host))
    return al_err(err, 0, "config key '%s.upstream': no host in '%s'", key, url);
  memcpy(host, h, hl);
  host[hl] = '\0';
  char norm[AL_HOST_MAX];
  _cleanup_error_ airlock_error *e = NULL;
  if (al_host_normalise(host, norm, sizeof(norm), &e) < 0)
    return al_err(err, 0, "config key '%s.upstream': '%s' is not a host name", key, host);
  r->upstream_port = 443;
  const char *rest = h + hl;
  if (*rest == ':') {
    char *end;
    unsigned long p = strtoul(rest + 1, &end, 10);
    if (end == rest + 1 || p == 0 || p > 65535 || (*end && *end != '/'))
      return al_err(err, 0, "config key '%s.upstream': bad port in '%s'", key, url);
    r->upstream_port = (uint16_t)p;
    rest = end;
  }
  size_t bl = strlen(rest);
  while (bl > 0 && rest[bl - 1] == '/')
    bl--;
  if (strpbrk(rest, "?#"))
    return al_err(err, 0, "config key '%s.upstream': no query or fragment allowed in '%s'", key, url);
  r->upstream_host = strdup(norm);
  r->upstream_base = strndup(rest, bl);
  return r->upstream_host && r->upstream_base ? 0 : al_err(err, ENOMEM, "out of memory");
}

static bool header_name_ok(const char *s) {
  if (!*s)
    return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-'))
      return false;
  return true;
}

/* {"header", "secret"[, "prefix"]} at key (a route's or an allow entry's "inject") */
static int parse_inject(al_proxy_inject *in, json_t *inj, const char *key, airlock_error **err) {
  if (!json_is_object(inj))
    return al_err(err, 0, "config key '%s' must be an object {\"header\", \"secret\"[, \"prefix\"]}", key);
  const char *k;
  json_t *v;
  json_object_foreach(inj, k, v) if (strcmp(k, "header") && strcmp(k, "secret") && strcmp(k, "prefix")) return al_err(
      err, 0, "config key '%s.%s' is not known (header, secret, prefix)", key, k);
  if (need_string(inj, "header", key, &in->header, err) < 0 ||
      need_string(inj, "secret", key, &in->secret_name, err) < 0)
    return -1;
  if (!header_name_ok(in->header))
    return al_err(err, 0, "config key '%s.header': '%s' is not a header name", key, in->header);
  if (!al_secret_name_valid(in->secret_name))
    return al_err(err, 0, "config key '%s.secret': '%s' is not a valid secret name", key, in->secret_name);
  json_t *pre = json_object_get(inj, "prefix");
  if (pre && !json_is_string(pre))
    return al_err(err, 0, "config key '%s.prefix' must be a string", key);
  in->prefix = strdup(pre ? json_string_value(pre) : "");
  for (const char *c = in->prefix; c && *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f)
      return al_err(err, 0, "config key '%s.prefix' holds a control character", key);
  return in->prefix ? 0 : al_err(err, ENOMEM, "out of memory");
}

static int parse_route(al_proxy_config *cfg, json_t *obj, size_t idx, airlock_error **err) {
  char key[64];
  snprintf(key, sizeof(key), NET "inject[%zu]", idx);
  if (!json_is_object(obj))
    return al_err(err, 0, "config key '%s' must be an object", key);
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) if (strcmp(k, "path") && strcmp(k, "upstream") && strcmp(k, "inject")) return al_err(
      err, 0, "config key '%s.%s' is not known (path, upstream, inject)", key, k);
  if (cfg->n_routes == AL_PROXY_MAX_ROUTES)
    return al_err(err, 0, "config key '" NET "inject': more than %d routes", AL_PROXY_MAX_ROUTES);
  al_proxy_route *r = &cfg->routes[cfg->n_routes++];
  _cleanup_free_ char *upstream = NULL;
  if (need_string(obj, "path", key, &r->path, err) < 0 || need_string(obj, "upstream", key, &upstream, err) < 0 ||
      parse_upstream(r, key, upstream, err) < 0)
    return -1;
  size_t pl = strlen(r->path);
  if (r->path[0] != '/' || r->path[pl - 1] != '/' ||
      strspn(r->path, "abcdefghijklmnopqrstuvwxyz"
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/") != pl)
    return al_err(err, 0,
                  "config key '%s.path': '%s' must start and end with '/' and hold only letters, digits, "
                  "'-', '.', '_', '~'",
                  key, r->path);
  for (size_t i = 0; i + 1 < cfg->n_routes; i++)
    if (strncmp(cfg->routes[i].path, r->path, strlen(cfg->routes[i].path)) == 0 ||
        strncmp(r->path, cfg->routes[i].path, pl) == 0)
      return al_err(err, 0, "config key '%s.path': '%s' overlaps route '%s'", key, r->path, cfg->routes[i].path);
  char ikey[96];
  snprintf(ikey, sizeof(ikey), "%s.inject", key);
  return parse_inject(&r->inject, json_object_get(obj, "inject"), ikey, err);
}

/* The host and port of a rule the ruleset has accepted: HOST, HOST:PORT or
 * HOST:*, HOST perhaps a bracketed IPv6 literal.  *port 0 without one, -1
 * for '*'. */
static void split_rule(const char *rule, char *host, size_t hostlen, int *port) {
  const char *colon = rule[0] == '[' ? strchr(rule, ']') : rule;
  colon = colon ? strchr(colon, ':') : NULL;
  size_t hl = colon ? (size_t)(colon - rule) : strlen(rule);
  snprintf(host, hostlen, "%.*s", (int)hl, rule);
  *port = !colon ? 0 : strcmp(colon + 1, "*") == 0 ? -1 : atoi(colon + 1);
}

/* An allow entry {"host": RULE, "inspect": true[, "inject": {...}]}: the
 * rule is added like a string entry; inspection and its injection are
 * recorded beside it. */
static int parse_allow_object(al_proxy_config *cfg, json_t *obj, const char *key, airlock_error **err) {
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) if (strcmp(k, "host") && strcmp(k, "inspect") && strcmp(k, "inject")) return al_err(
      err, 0, "config key '%s.%s' is not known (host, inspect, inject)", key, k);
  json_t *host = json_object_get(obj, "host"), *inspect = json_object_get(obj, "inspect");
  json_t *inject = json_object_get(obj, "inject");
  if (!json_is_string(host))
    return al_err(err, 0, "config key '%s.host' must be a string: the rule, HOST[:PORT]", key);
  if (inspect && !json_is_boolean(inspect))
    return al_err(err, 0, "config key '%s.inspect' must be true or false", key);
  const char *rule = json_string_value(host);
  if (al_egress_ruleset_add(cfg->rules, AL_EGRESS_ALLOW, rule, err) < 0)
    return al_err_prefix(err, "config key '%s.host'", key);
  if (!json_is_true(inspect)) {
    if (inject)
      return al_err(err, 0,
                    "config key '%s.inject' needs \"inspect\": true (the header is added inside the "
                    "inspected TLS)",
                    key);
    return 0;
  }
  char name[AL_HOST_MAX + 8];
  int port;
  split_rule(rule, name, sizeof(name), &port);
  if (name[0] == '[' || strchr(name, '/') || al_ip_parse(name, NULL) != AL_IP_NOT)
    return al_err(err, 0,
                  "config key '%s.inspect': '%s' is an IP rule; only host name rules can be inspected "
                  "(a TLS name is never an IP address)",
                  key, rule);
  if (cfg->n_inspect == AL_PROXY_MAX_INSPECT)
    return al_err(err, 0, "config key '" NET "allow': more than %d inspected entries", AL_PROXY_MAX_INSPECT);
  al_proxy_inspect *in = &cfg->inspects[cfg->n_inspect++];
  in->port = port;
  if (!(in->rule = strdup(rule)) || !(in->match = al_egress_ruleset_new()))
    return al_err(err, ENOMEM, "out of memory");
  if (al_egress_ruleset_add(in->match, AL_EGRESS_ALLOW, rule, err) < 0)
    return al_err_prefix(err, "config key '%s.host'", key);
  bool wildcard = name[0] == '*';
  if (strcmp(name, "*") != 0) {
    char norm[AL_HOST_MAX];
    _cleanup_error_ airlock_error *e = NULL;
    if (al_host_normalise(wildcard ? name + 2 : name, norm, sizeof(norm), &e) < 0 || !(in->constraint = strdup(norm)))
      return al_err(err, e ? 0 : ENOMEM, "config key '%s.host': %s", key, e ? e->msg : "out of memory");
  }
  if (!inject)
    return 0;
  if (wildcard)
    return al_err(err, 0, "config key '%s.inject': '%s' is a wildcard; a key is added for one host name only", key,
                  rule);
  for (size_t i = 0; i + 1 < cfg->n_inspect; i++)
    if (cfg->inspects[i].has_inject && strcmp(cfg->inspects[i].constraint, in->constraint) == 0)
      return al_err(err, 0, "config key '%s.inject': '%s' already has a key (allow entry '%s')", key, in->constraint,
                    cfg->inspects[i].rule);
  in->has_inject = true;
  char ikey[96];
  snprintf(ikey, sizeof(ikey), "%s.inject", key);
  return parse_inject(&in->inject, inject, ikey, err);
}

/* network.allow: rules as strings, or objects for inspected hosts */
static int parse_allow(al_proxy_config *cfg, json_t *arr, airlock_error **err) {
  if (!json_is_array(arr))
    return al_err(err, 0,
                  "config key '" NET "allow' must be an array of rules (strings or {\"host\", \"inspect\"} "
                  "objects)");
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    char key[64];
    snprintf(key, sizeof(key), NET "allow[%zu]", i);
    int rc = json_is_string(v)   ? add_rule(cfg, "allow", json_string_value(v), err)
             : json_is_object(v) ? parse_allow_object(cfg, v, key, err)
                                 : al_err(err, 0,
                                          "config key '%s' must be a string or an object {\"host\", "
                                          "\"inspect\"}",
                                          key);
    if (rc < 0)
      return -1;
  }
  return 0;
}

/* An inspected tunnel speaks TLS from its first byte: a port whose tunnels
 * carry any bytes (opaquePorts) cannot also be inspected. */
static int check_inspect_ports(const al_proxy_config *cfg, airlock_error **err) {
  for (size_t i = 0; i < cfg->n_inspect; i++)
    for (size_t j = 0; j < cfg->n_opaque_ports; j++)
      if (cfg->inspects[i].port == cfg->opaque_ports[j])
        return al_err(err, 0, "config key '" NET "allow': '%s' is inspected, but port %u is in " NET "opaquePorts",
                      cfg->inspects[i].rule, cfg->opaque_ports[j]);
  return 0;
}

const al_proxy_inspect *al_proxy_inspect_match(const al_proxy_config *cfg, const char *host, uint16_t port) {
  for (size_t i = 0; i < cfg->n_inspect; i++)
    if (al_egress_decide(cfg->inspects[i].match, host, port, NULL, 0) == AL_EGRESS_ALLOW)
      return &cfg->inspects[i];
  return NULL;
}

int al_proxy_config_parse(al_proxy_config *cfg, json_t *net, airlock_error **err) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->max_connections = 256;
  cfg->header_timeout_s = 10;
  cfg->idle_timeout_s = 300;
  cfg->max_duration_s = 3600;
  cfg->rate_per_minute = 1200;
  cfg->rate_burst = 100;
  cfg->host_rate_per_minute = 600;
  cfg->host_rate_burst = 50;
  if (!(cfg->rules = al_egress_ruleset_new()))
    return al_err(err, ENOMEM, "out of memory");
  if (!json_is_object(net))
    return al_err(err, 0, "config key 'network' must be an object");
  const char *k;
  json_t *v;
  json_object_foreach(net, k, v) {
    int rc;
    if (strcmp(k, "mode") == 0) {
      rc = json_is_string(v) && strcmp(json_string_value(v), "proxy") == 0
               ? 0
               : al_err(err, 0, "config key '" NET "mode' must be \"proxy\" for the egress proxy");
    } else if (strcmp(k, "allow") == 0) {
      rc = parse_allow(cfg, v, err);
    } else if (strcmp(k, "deny") == 0) {
      rc = string_list(v, k, add_rule, cfg, err);
    } else if (strcmp(k, "allowAddresses") == 0) {
      rc = string_list(v, k, add_address, cfg, err);
    } else if (strcmp(k, "rateLimit") == 0) {
      rc = parse_rate(cfg, v, err);
    } else if (strcmp(k, "limits") == 0) {
      rc = parse_limits(cfg, v, err);
    } else if (strcmp(k, "inject") == 0) {
      rc = json_is_array(v) ? 0 : al_err(err, 0, "config key '" NET "inject' must be an array of routes");
      size_t i;
      json_t *r;
      json_array_foreach(v, i, r) if (rc == 0) rc = parse_route(cfg, r, i, err);
    } else if (strcmp(k, "opaquePorts") == 0) {
      rc = json_is_array(v) && json_array_size(v) <= 16
               ? 0
               : al_err(err, 0, "config key '" NET "opaquePorts' must be an array of at most 16 ports");
      size_t i;
      json_t *p;
      json_array_foreach(v, i, p) {
        if (rc < 0)
          break;
        if (!json_is_integer(p) || json_integer_value(p) < 1 || json_integer_value(p) > 65535 ||
            json_integer_value(p) == 443)
          rc = al_err(err, 0, "config key '" NET "opaquePorts[%zu]' must be a port number other than 443", i);
        else
          cfg->opaque_ports[cfg->n_opaque_ports++] = (uint16_t)json_integer_value(p);
      }
    } else if (strcmp(k, "resolver") == 0 || strcmp(k, "upstreamCa") == 0) {
      char **slot = k[0] == 'r' ? &cfg->resolver : &cfg->upstream_ca;
      rc = json_is_string(v) && *json_string_value(v) && (*slot = strdup(json_string_value(v)))
               ? 0
               : al_err(err, 0, "config key '" NET "%s' must be a non-empty string", k);
    } else {
      rc = al_err(err, 0,
                  "config key '" NET "%s' is not known (mode, allow, deny, allowAddresses, rateLimit, "
                  "limits, inject, opaquePorts, resolver, upstreamCa)",
                  k);
    }
    if (rc < 0)
      return -1;
  }
  if (cfg->resolver) {
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (evutil_parse_sockaddr_port(cfg->resolver, (struct sockaddr *)&ss, &len) < 0)
      return al_err(err, 0, "config key '" NET "resolver': '%s' is not IP[:PORT]", cfg->resolver);
  }
  return check_inspect_ports(cfg, err);
}

/* The inject's secret from the store, prefix first, in guarded memory. */
static int load_inject(al_secrets *store, al_proxy_inject *in, const char *what, airlock_error **err) {
  unsigned char *val = NULL;
  size_t len = 0;
  if (al_secrets_get(store, in->secret_name, &val, &len, err) < 0)
    return al_err_prefix(err, "%s", what);
  bool bad = false;
  for (size_t j = 0; j < len; j++)
    bad = bad || val[j] < 0x20 || val[j] == 0x7f;
  size_t pl = strlen(in->prefix);
  in->secret_len = pl + len;
  in->secret = bad ? NULL : al_secret_alloc(in->secret_len + 1);
  if (in->secret) {
    memcpy(in->secret, in->prefix, pl);
    memcpy(in->secret + pl, val, len);
    in->secret[in->secret_len] = '\0';
  }
  al_secret_free(val, len);
  if (bad)
    return al_err(err, 0, "%s: secret '%s' holds control characters and cannot be a header value", what,
                  in->secret_name);
  return in->secret ? 0 : al_err(err, ENOMEM, "out of memory");
}

int al_proxy_config_load_secrets(al_proxy_config *cfg, const char *state_dir, airlock_error **err) {
  bool need = cfg->n_routes > 0;
  for (size_t i = 0; i < cfg->n_inspect; i++)
    need = need || cfg->inspects[i].has_inject;
  if (!need)
    return 0;
  al_secrets *store = NULL;
  if (al_secrets_open(state_dir, false, &store, err) < 0)
    return al_err_prefix(err, "injection needs the secret store");
  int rc = 0;
  char what[AL_HOST_MAX + 32];
  for (size_t i = 0; i < cfg->n_routes && rc == 0; i++) {
    snprintf(what, sizeof(what), "route '%s'", cfg->routes[i].path);
    rc = load_inject(store, &cfg->routes[i].inject, what, err);
  }
  for (size_t i = 0; i < cfg->n_inspect && rc == 0; i++) {
    snprintf(what, sizeof(what), "inspected host '%s'", cfg->inspects[i].rule);
    if (cfg->inspects[i].has_inject)
      rc = load_inject(store, &cfg->inspects[i].inject, what, err);
  }
  al_secrets_close(store);
  return rc;
}

static void free_inject(al_proxy_inject *in) {
  free(in->header);
  free(in->prefix);
  free(in->secret_name);
  if (in->secret)
    al_secret_free(in->secret, in->secret_len + 1);
}

void al_proxy_config_free(al_proxy_config *cfg) {
  al_egress_ruleset_free(cfg->rules);
  for (size_t i = 0; i < cfg->n_routes; i++) {
    al_proxy_route *r = &cfg->routes[i];
    free(r->path);
    free(r->upstream_host);
    free(r->upstream_base);
    free_inject(&r->inject);
  }
  for (size_t i = 0; i < cfg->n_inspect; i++) {
    al_proxy_inspect *in = &cfg->inspects[i];
    free(in->rule);
    al_egress_ruleset_free(in->match);
    free(in->constraint);
    free_inject(&in->inject);
  }
  free(cfg->resolver);
  free(cfg->upstream_ca);
  memset(cfg, 0, sizeof(*cfg));
}
