/* SPDX-License-Identifier: Apache-2.0 */
/* config.c - the JSON config file.  Three vocabularies are accepted: airlock's
 * own keys, the OpenClaw "sandbox" block (seed 004), and an openclaw.json
 * (recognised by its top-level "agents" object: its sandbox settings, plus
 * airlock's own keys that OpenClaw's top level does not have, such as
 * "isolation") so an existing OpenClaw config works as it is.  The "network" key is read by network.c.  The parser is strict: an unknown key, a
 * wrong type or an impossible value is an error naming the key. */
#define _GNU_SOURCE
#include "cleanup.h"
#include "error.h"
#include "image_ref.h"
#include "network.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_CONFIG_BYTES (1 << 20)

typedef int (*key_handler)(airlock_spec *spec, const char *key, json_t *value, airlock_error **err);
typedef struct {
  const char *name;
  key_handler handle;
} key_entry;

static int want_string(const char *key, json_t *v, const char **out, airlock_error **err) {
  if (!json_is_string(v))
    return al_err(err, 0, "config key '%s' must be a string", key);
  *out = json_string_value(v);
  if (strlen(*out) != json_string_length(v))
    return al_err(err, 0, "config key '%s' contains a NUL character", key);
  return 0;
}

static int want_number(const char *key, json_t *v, double *out, airlock_error **err) {
  if (!json_is_number(v))
    return al_err(err, 0, "config key '%s' must be a number", key);
  *out = json_number_value(v);
  if (!isfinite(*out))
    return al_err(err, 0, "config key '%s' must be finite", key);
  return 0;
}

static int want_integer(const char *key, json_t *v, int64_t lo, int64_t hi, int64_t *out, airlock_error **err) {
  if (!json_is_integer(v))
    return al_err(err, 0, "config key '%s' must be an integer", key);
  json_int_t n = json_integer_value(v);
  if (n < lo || n > hi)
    return al_err(err, 0, "config key '%s' is %lld, outside %lld..%lld", key, (long long)n, (long long)lo,
                  (long long)hi);
  *out = n;
  return 0;
}

static int want_bool(const char *key, json_t *v, bool *out, airlock_error **err) {
  if (!json_is_boolean(v))
    return al_err(err, 0, "config key '%s' must be true or false", key);
  *out = json_is_true(v);
  return 0;
}

/* a size is "512m" or a number of bytes */
static int want_size(const char *key, json_t *v, int64_t *out, airlock_error **err) {
  if (json_is_integer(v)) {
    if (json_integer_value(v) <= 0)
      return al_err(err, 0, "config key '%s' must be positive", key);
    *out = json_integer_value(v);
    return 0;
  }
  const char *s = NULL;
  if (!json_is_string(v))
    return al_err(err, 0, "config key '%s' must be a size such as \"512m\" or a number of bytes", key);
  if (want_string(key, v, &s, err) < 0)
    return -1;
  if (airlock_parse_size(s, out, err) < 0)
    return al_err_prefix(err, "config key '%s'", key);
  return 0;
}

static int want_cpus(const char *key, json_t *v, double *out, airlock_error **err) {
  if (json_is_string(v)) {
    if (airlock_parse_decimal(json_string_value(v), out) < 0)
      return al_err(err, 0, "config key '%s' must be a number of CPUs such as \"1.0\"", key);
    return 0;
  }
  return want_number(key, v, out, err);
}

static int set_path(const char *key, json_t *v, char **field, airlock_error **err) {
  const char *s = NULL;
  if (want_string(key, v, &s, err) < 0)
    return -1;
  if (*s == '\0')
    return al_err(err, 0, "config key '%s' must not be empty", key);
  return airlock_spec_set_string(field, s, err);
}

static int dispatch(airlock_spec *spec, const char *prefix, json_t *obj, const key_entry *keys, size_t n,
                    airlock_error **err) {
  if (!json_is_object(obj))
    return al_err(err, 0, "config key '%s' must be an object", prefix[0] ? prefix : "(top level)");
  const char *k = NULL;
  json_t *v;
  json_object_foreach(obj, k, v) {
    char full[256];
    snprintf(full, sizeof(full), "%s%s%s", prefix, prefix[0] ? "." : "", k);
    size_t i = 0;
    while (i < n && strcmp(keys[i].name, k) != 0)
      i++;
    if (i == n)
      return al_err(err, 0, "unknown config key '%s'", full);
    if (keys[i].handle(spec, full, v, err) < 0)
      return -1;
  }
  return 0;
}

/* --- airlock's own keys ------------------------------------------------- */

static int k_image(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return set_path(k, v, &s->image, e);
}
/* "imageTrust": {"requireSignature": true, "trustedKeys": ["FILE", ...]} */
static int k_image_trust(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  if (!json_is_object(v))
    return al_err(e, 0, "config key '%s' must be an object", k);
  const char *key;
  json_t *val;
  json_object_foreach(v, key, val) {
    if (strcmp(key, "requireSignature") == 0) {
      if (!json_is_boolean(val))
        return al_err(e, 0, "config key '%s.requireSignature' must be true or false", k);
      s->image_require_signature = json_is_true(val);
    } else if (strcmp(key, "trustedKeys") == 0) {
      if (!json_is_array(val))
        return al_err(e, 0, "config key '%s.trustedKeys' must be an array of file names", k);
      size_t i;
      json_t *f;
      json_array_foreach(val, i, f) {
        if (!json_is_string(f) || !*json_string_value(f))
          return al_err(e, 0, "config key '%s.trustedKeys[%zu]' must be a file name", k, i);
        if (al_spec_add_trusted_key(s, json_string_value(f), e) < 0)
          return -1;
      }
    } else {
      return al_err(e, 0, "config key '%s.%s' is unknown (requireSignature, trustedKeys)", k, key);
    }
  }
  return 0;
}
static int k_workspace(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return set_path(k, v, &s->workspace, e);
}
static int k_output(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return set_path(k, v, &s->output, e);
}
static int k_cwd(airlock_spec *s, const char *k, json_t *v, airlock_error **e) { return set_path(k, v, &s->cwd, e); }
static int k_hostname(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return set_path(k, v, &s->hostname, e);
}

static int k_workspace_access(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  const char *a = NULL;
  if (want_string(k, v, &a, e) < 0)
    return -1;
  if (strcmp(a, "rw") == 0)
    s->workspace_rw = true;
  else if (strcmp(a, "ro") == 0)
    s->workspace_rw = false;
  else if (strcmp(a, "none") == 0)
    s->workspace_none = true; /* whatever order the keys come in */
  else
    return al_err(e, 0, "config key '%s' must be \"ro\", \"rw\" or \"none\", not \"%s\"", k, a);
  return 0;
}

/* an array of "SRC:DST[:ro|rw]" strings, each added with add */
static int bind_list(airlock_spec *s, const char *k, json_t *v, const char *form,
                     int (*add)(airlock_spec *, airlock_bind *, airlock_error **), airlock_error **e) {
  if (!json_is_array(v))
    return al_err(e, 0, "config key '%s' must be an array of \"%s\" strings", k, form);
  size_t i;
  json_t *item;
  json_array_foreach(v, i, item) {
    const char *text = NULL;
    airlock_bind b = {0};
    if (want_string(k, item, &text, e) < 0)
      return -1;
    if (airlock_parse_bind(text, &b, e) < 0)
      return al_err_prefix(e, "config key '%s[%zu]'", k, i);
    if (add(s, &b, e) < 0)
      return -1;
  }
  return 0;
}
static int k_binds(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return bind_list(s, k, v, "SRC:DST[:ro|rw]", airlock_spec_add_bind, e);
}
static int k_sockets(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return bind_list(s, k, v, "SRC:DST", airlock_spec_add_socket, e);
}

static int k_env(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  if (!json_is_object(v))
    return al_err(e, 0, "config key '%s' must be an object of strings", k);
  const char *name;
  json_t *val;
  json_object_foreach(v, name, val) {
    const char *str = NULL;
    if (!json_is_string(val))
      return al_err(e, 0, "config key '%s.%s' must be a string", k, name);
    str = json_string_value(val);
    _cleanup_free_ char *kv = NULL;
    if (asprintf(&kv, "%s=%s", name, str) < 0)
      return al_err(e, ENOMEM, "env");
    if (strchr(name, '='))
      return al_err(e, 0, "config key '%s.%s' is not a valid environment name", k, name);
    if (airlock_spec_add_env(s, kv, e) < 0)
      return al_err_prefix(e, "config key '%s.%s'", k, name);
  }
  return 0;
}

static int k_uid(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  int64_t n = 0;
  if (want_integer(k, v, 0, 65534, &n, e) < 0)
    return -1;
  s->uid = (uint32_t)n;
  return 0;
}

static int k_network(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return al_network_load(s, k, v, e);
}

static int k_secrets(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  if (!json_is_array(v))
    return al_err(e, 0, "config key '%s' must be an array of secret names", k);
  size_t i;
  json_t *item;
  json_array_foreach(v, i, item) {
    const char *name = NULL;
    char full[256];
    snprintf(full, sizeof(full), "%s[%zu]", k, i);
    if (want_string(full, item, &name, e) < 0 || airlock_spec_add_secret(s, name, e) < 0)
      return -1;
  }
  return 0;
}

static int k_workspace_quota(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return want_size(k, v, &s->workspace_quota_bytes, e);
}
static int k_workspace_mode(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  const char *m = NULL;
  if (want_string(k, v, &m, e) < 0)
    return -1;
  return airlock_parse_workspace_mode(m, &s->workspace_mode, e) < 0 ? al_err_prefix(e, "config key '%s'", k) : 0;
}

static int k_isolation(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  const char *m = NULL;
  if (want_string(k, v, &m, e) < 0)
    return -1;
  return airlock_parse_isolation(m, &s->isolation, e) < 0 ? al_err_prefix(e, "config key '%s'", k) : 0;
}
static int k_runsc(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return set_path(k, v, &s->runsc, e);
}

static int k_tmp_exec(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return want_bool(k, v, &s->tmp_exec, e);
}
static int k_allow_degraded(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return want_bool(k, v, &s->allow_degraded, e);
}
static int k_allow_writable_system(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return want_bool(k, v, &s->allow_writable_system, e);
}

static int l_memory(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return want_size(k, v, &s->memory_bytes, e);
}
static int l_disk(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return want_size(k, v, &s->disk_bytes, e);
}
static int l_cpus(airlock_spec *s, const char *k, json_t *v, airlock_error **e) { return want_cpus(k, v, &s->cpus, e); }
static int l_pids(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return want_integer(k, v, 2, 4194304, &s->pids, e);
}
static int l_open_files(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return want_integer(k, v, 16, 1048576, &s->nofile, e);
}
static int l_timeout(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  double t = 0;
  if (want_number(k, v, &t, e) < 0)
    return -1;
  if (!(t > 0))
    return al_err(e, 0, "config key '%s' must be a positive number of seconds", k);
  s->timeout_sec = t;
  return 0;
}

static const key_entry limit_keys[] = {
    {"memory", l_memory},   {"cpus", l_cpus}, {"pids", l_pids},
    {"timeout", l_timeout}, {"disk", l_disk}, {"openFiles", l_open_files},
};
static int k_limits(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return dispatch(s, k, v, limit_keys, AL_ARRAY_SIZE(limit_keys), e);
}

/* --- the OpenClaw "sandbox" block (seed 004) ---------------------------- */

static int oc_enabled(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  (void)s;
  bool on = false;
  if (want_bool(k, v, &on, e) < 0)
    return -1;
  if (!on)
    return al_err(e, 0, "config key '%s' is false: airlock always runs commands sandboxed", k);
  return 0;
}
static int oc_backend(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  (void)s;
  const char *b = NULL;
  if (want_string(k, v, &b, e) < 0)
    return -1;
  if (strcmp(b, "native") != 0 && strcmp(b, "airlock") != 0)
    return al_err(e, 0, "config key '%s': backend \"%s\" is not supported (use \"native\")", k, b);
  return 0;
}
static int oc_timeout_ms(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  double ms = 0;
  if (want_number(k, v, &ms, e) < 0)
    return -1;
  if (!(ms > 0))
    return al_err(e, 0, "config key '%s' must be a positive number of milliseconds", k);
  s->timeout_sec = ms / 1000.0;
  return 0;
}
static int oc_network_mode(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return al_network_load_openclaw(s, k, v, e);
}

static const key_entry openclaw_keys[] = {
    {"enabled", oc_enabled},    {"backend", oc_backend},
    {"timeout", oc_timeout_ms}, {"memoryLimit", l_memory},
    {"cpuLimit", l_cpus},       {"networkMode", oc_network_mode},
    {"image", k_image},         {"workspaceAccess", k_workspace_access},
    {"pidsLimit", l_pids},
};
static int k_sandbox(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return dispatch(s, k, v, openclaw_keys, AL_ARRAY_SIZE(openclaw_keys), e);
}

/* --- openclaw.json: agents.defaults.sandbox ----------------------------- */

/* OpenClaw's own sandbox settings (agents.defaults.sandbox and
 * agents.list[].sandbox), mapped onto airlock's.  Keys OpenClaw knows there
 * but which mean nothing to airlock are type-checked and left alone; keys
 * that would promise something airlock does not do are refused. */

static int oc_ignore_string(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  (void)s;
  const char *str = NULL;
  return want_string(k, v, &str, e);
}
static int oc_ignore_bool(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  (void)s;
  bool b = false;
  return want_bool(k, v, &b, e);
}
static int oc_ignore_object(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  (void)s;
  if (!json_is_object(v))
    return al_err(e, 0, "config key '%s' must be an object", k);
  return 0;
}
static int want_string_array(const char *k, json_t *v, airlock_error **e) {
  if (!json_is_array(v))
    return al_err(e, 0, "config key '%s' must be an array of strings", k);
  size_t i;
  json_t *item;
  json_array_foreach(v, i, item) {
    if (!json_is_string(item))
      return al_err(e, 0, "config key '%s[%zu]' must be a string", k, i);
  }
  return 0;
}
static int oc_ignore_strings(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  (void)s;
  return want_string_array(k, v, e);
}

static int oc_mode(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  (void)s;
  const char *m = NULL;
  if (want_string(k, v, &m, e) < 0)
    return -1;
  if (strcmp(m, "off") == 0)
    return al_err(e, 0, "config key '%s' is \"off\": airlock always runs commands sandboxed", k);
  if (strcmp(m, "non-main") != 0 && strcmp(m, "all") != 0)
    return al_err(e, 0, "config key '%s' must be \"off\", \"non-main\" or \"all\", not \"%s\"", k, m);
  return 0;
}
static int oc_scope(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  (void)s;
  const char *m = NULL;
  if (want_string(k, v, &m, e) < 0)
    return -1;
  if (strcmp(m, "agent") != 0 && strcmp(m, "session") != 0 && strcmp(m, "shared") != 0)
    return al_err(e, 0, "config key '%s' must be \"agent\", \"session\" or \"shared\", not \"%s\"", k, m);
  return 0;
}
static int oc_json_backend(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  (void)s;
  const char *b = NULL;
  if (want_string(k, v, &b, e) < 0)
    return -1;
  /* docker and podman: their "docker" settings are what airlock maps */
  if (strcmp(b, "docker") != 0 && strcmp(b, "podman") != 0 && strcmp(b, "native") != 0 && strcmp(b, "airlock") != 0)
    return al_err(e, 0, "config key '%s': backend \"%s\" runs commands on another machine; airlock runs them here", k,
                  b);
  return 0;
}

static int oc_image(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  const char *img = NULL;
  if (want_string(k, v, &img, e) < 0)
    return -1;
  if (img[0] != '/' && !strstr(img, "@sha256:"))
    return al_err(e, 0,
                  "config key '%s': \"%s\" is an image tag: import the image (airlock image import) and pin it "
                  "by digest, NAME@sha256:HEX, or give a root directory (an absolute path)",
                  k, img);
  return set_path(k, v, &s->image, e);
}
static int oc_workdir(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return set_path(k, v, &s->cwd, e);
}
static int oc_read_only_root(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  (void)s;
  bool ro = true;
  if (want_bool(k, v, &ro, e) < 0)
    return -1;
  /* a writable root would be a weaker sandbox than asked of airlock; the
   * operator who wants one writes to the workspace and tmpfs instead */
  if (!ro)
    return al_err(e, 0,
                  "config key '%s' is false: airlock's root file system is always read-only; commands write to "
                  "/workspace, /tmp and the paths of 'docker.tmpfs'",
                  k);
  return 0;
}

/* "PATH[:OPTIONS]": the sizes add up to the disk limit, "exec" allows
 * executing in the scratch space; the mount points are airlock's own */
static int oc_tmpfs(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  if (want_string_array(k, v, e) < 0)
    return -1;
  int64_t total = 0;
  size_t i;
  json_t *item;
  json_array_foreach(v, i, item) {
    const char *text = json_string_value(item);
    if (text[0] != '/')
      return al_err(e, 0, "config key '%s[%zu]': '%s' is not an absolute path", k, i, text);
    const char *colon = strchr(text, ':');
    if (colon == NULL)
      continue;
    _cleanup_free_ char *opts = strdup(colon + 1);
    if (opts == NULL)
      return al_err(e, ENOMEM, "config");
    char *save = NULL;
    for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
      if (strcmp(o, "exec") == 0) {
        s->tmp_exec = true;
      } else if (strncmp(o, "size=", 5) == 0) {
        int64_t n = 0;
        if (airlock_parse_size(o + 5, &n, e) < 0)
          return al_err_prefix(e, "config key '%s[%zu]'", k, i);
        if (n > INT64_MAX - total)
          return al_err(e, 0, "config key '%s': the sizes add up to more than %lld bytes", k, (long long)INT64_MAX);
        total += n;
      }
    }
  }
  if (total > 0)
    s->disk_bytes = total;
  return 0;
}

/* -1 (unlimited swap) or a size; checked against memory by oc_docker */
static int oc_memory_swap(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  (void)s;
  int64_t n = 0;
  if ((json_is_integer(v) && json_integer_value(v) == -1) ||
      (json_is_string(v) && strcmp(json_string_value(v), "-1") == 0))
    return 0;
  return want_size(k, v, &n, e);
}

/* "N" or "N:N": a numeric uid, which is also the gid inside */
static int oc_user(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  const char *u = NULL;
  if (want_string(k, v, &u, e) < 0)
    return -1;
  char *end = NULL;
  errno = 0;
  unsigned long uid = u[0] >= '0' && u[0] <= '9' ? strtoul(u, &end, 10) : 0;
  if (end == NULL || errno != 0 || (*end != '\0' && *end != ':'))
    return al_err(e, 0, "config key '%s': user \"%s\" is not a number; airlock resolves no user names: give a uid", k,
                  u);
  if (*end == ':') {
    char *gend = NULL;
    const char *g = end + 1;
    unsigned long gid = g[0] >= '0' && g[0] <= '9' ? strtoul(g, &gend, 10) : ULONG_MAX;
    if (gend == NULL || *gend != '\0' || gid != uid)
      return al_err(e, 0, "config key '%s': user \"%s\": airlock gives the sandbox the same number as uid and gid", k,
                    u);
  }
  if (uid > 65534)
    return al_err(e, 0, "config key '%s' is %lu, outside 0..65534", k, uid);
  s->uid = (uint32_t)uid;
  return 0;
}

/* a number, "SOFT[:HARD]" or {"soft", "hard"}; the hard limit (else the
 * soft one) is the limit.  Only nofile is applied. */
static int oc_ulimit_value(const char *k, json_t *v, int64_t *out, airlock_error **e) {
  if (json_is_integer(v)) {
    *out = json_integer_value(v);
  } else if (json_is_string(v)) {
    const char *t = json_string_value(v);
    const char *colon = strchr(t, ':');
    char *end = NULL;
    errno = 0;
    long long n = strtoll(colon ? colon + 1 : t, &end, 10);
    if (t[0] < '0' || t[0] > '9' || errno != 0 || end == NULL || *end != '\0' ||
        (colon && (colon[1] < '0' || colon[1] > '9')))
      return al_err(e, 0, "config key '%s' must be a number, \"SOFT:HARD\" or {\"soft\", \"hard\"}, not \"%s\"", k, t);
    *out = n;
  } else if (json_is_object(v)) {
    const char *name;
    json_t *x;
    *out = -1;
    json_object_foreach(v, name, x) {
      if (strcmp(name, "soft") != 0 && strcmp(name, "hard") != 0)
        return al_err(e, 0, "unknown config key '%s.%s'", k, name);
      if (!json_is_integer(x) || json_integer_value(x) < 0)
        return al_err(e, 0, "config key '%s.%s' must be a non-negative integer", k, name);
    }
    json_t *h = json_object_get(v, "hard"), *sf = json_object_get(v, "soft");
    if (h == NULL && sf == NULL)
      return al_err(e, 0, "config key '%s' has neither \"soft\" nor \"hard\"", k);
    *out = json_integer_value(h ? h : sf);
  } else {
    return al_err(e, 0, "config key '%s' must be a number, \"SOFT:HARD\" or {\"soft\", \"hard\"}", k);
  }
  return 0;
}
static int oc_ulimits(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  if (!json_is_object(v))
    return al_err(e, 0, "config key '%s' must be an object", k);
  const char *name;
  json_t *x;
  json_object_foreach(v, name, x) {
    char full[256];
    int64_t n = 0;
    snprintf(full, sizeof(full), "%s.%s", k, name);
    if (oc_ulimit_value(full, x, &n, e) < 0)
      return -1;
    if (strcmp(name, "nofile") == 0) {
      if (n < 16 || n > 1048576)
        return al_err(e, 0, "config key '%s' is %lld, outside 16..1048576", full, (long long)n);
      s->nofile = n;
    }
  }
  return 0;
}

static int oc_profile(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  (void)s;
  const char *p = NULL;
  if (want_string(k, v, &p, e) < 0)
    return -1;
  if (strcasecmp(p, "unconfined") == 0)
    return al_err(e, 0, "config key '%s': \"unconfined\" is refused (OpenClaw refuses it too)", k);
  return 0; /* airlock applies its own seccomp filter and Landlock rules */
}
static int oc_setup_command(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  (void)s;
  size_t len = 0;
  if (json_is_string(v)) {
    len = json_string_length(v);
  } else if (json_is_array(v)) {
    if (want_string_array(k, v, e) < 0)
      return -1;
    len = json_array_size(v);
  } else {
    return al_err(e, 0, "config key '%s' must be a string or an array of strings", k);
  }
  if (len > 0)
    return al_err(e, 0,
                  "config key '%s': airlock keeps no container to set up: every command starts from the image; put "
                  "what it installs in the image directory",
                  k);
  return 0;
}
static int oc_extra_hosts(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  (void)s;
  if (want_string_array(k, v, e) < 0)
    return -1;
  if (json_array_size(v) > 0)
    return al_err(e, 0,
                  "config key '%s' is not supported: the egress proxy resolves names itself and would not use "
                  "these addresses",
                  k);
  return 0;
}
static int oc_gpus(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  (void)s;
  (void)v;
  return al_err(e, 0, "config key '%s' is not supported: airlock gives the sandbox no devices", k);
}

static const key_entry oc_docker_keys[] = {
    {"image", oc_image},
    {"containerPrefix", oc_ignore_string},
    {"workdir", oc_workdir},
    {"readOnlyRoot", oc_read_only_root},
    {"tmpfs", oc_tmpfs},
    {"network", oc_network_mode},
    {"user", oc_user},
    {"capDrop", oc_ignore_strings},
    {"env", k_env},
    {"setupCommand", oc_setup_command},
    {"pidsLimit", l_pids},
    {"memory", l_memory},
    {"memorySwap", oc_memory_swap},
    {"cpus", l_cpus},
    {"gpus", oc_gpus},
    {"ulimits", oc_ulimits},
    {"seccompProfile", oc_profile},
    {"apparmorProfile", oc_profile},
    {"dns", oc_ignore_strings},
    {"extraHosts", oc_extra_hosts},
    {"binds", k_binds},
    {"dangerouslyAllowReservedContainerTargets", oc_ignore_bool},
    {"dangerouslyAllowExternalBindSources", oc_ignore_bool},
    {"dangerouslyAllowContainerNamespaceJoin", oc_ignore_bool},
};
static int oc_docker(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  if (dispatch(s, k, v, oc_docker_keys, AL_ARRAY_SIZE(oc_docker_keys), e) < 0)
    return -1;
  /* memorySwap is memory + swap; airlock allows no swap, so the memory limit
   * is memory + swap already: memorySwap alone sets it, and one below memory
   * is refused as Docker refuses it */
  json_t *swap = json_object_get(v, "memorySwap");
  if (swap == NULL || (json_is_integer(swap) && json_integer_value(swap) == -1) ||
      (json_is_string(swap) && strcmp(json_string_value(swap), "-1") == 0))
    return 0;
  int64_t total = 0;
  if (want_size(k, swap, &total, e) < 0)
    return -1;
  if (json_object_get(v, "memory") == NULL)
    s->memory_bytes = total;
  else if (total < s->memory_bytes)
    return al_err(e, 0, "config key '%s.memorySwap' (%lld bytes) is below '%s.memory' (%lld bytes)", k,
                  (long long)total, k, (long long)s->memory_bytes);
  return 0;
}

static const key_entry oc_sandbox_keys[] = {
    {"mode", oc_mode},
    {"scope", oc_scope},
    {"perSession", oc_ignore_bool},
    {"backend", oc_json_backend},
    {"workspaceAccess", k_workspace_access},
    {"workspaceRoot", oc_ignore_string},
    {"sessionToolsVisibility", oc_ignore_string},
    {"docker", oc_docker},
    {"browser", oc_ignore_object},
    {"prune", oc_ignore_object},
};
static int oc_sandbox(airlock_spec *s, const char *k, json_t *v, airlock_error **e) {
  return dispatch(s, k, v, oc_sandbox_keys, AL_ARRAY_SIZE(oc_sandbox_keys), e);
}

/* agents.defaults.sandbox goes into spec, then the sandbox of the agent
 * whose id is agent_id (if any) over it; every other agents.list[].sandbox is
 * checked with the same rules into a scratch spec.  Every other key of the
 * file is OpenClaw's business. */
static int load_openclaw_json(airlock_spec *spec, json_t *agents, const char *agent_id, airlock_error **err) {
  json_t *defaults = json_object_get(agents, "defaults");
  if (defaults != NULL && !json_is_object(defaults))
    return al_err(err, 0, "config key 'agents.defaults' must be an object");
  json_t *sb = defaults ? json_object_get(defaults, "sandbox") : NULL;
  if (sb != NULL && oc_sandbox(spec, "agents.defaults.sandbox", sb, err) < 0)
    return -1;
  json_t *list = json_object_get(agents, "list");
  if (list != NULL && !json_is_array(list))
    return al_err(err, 0, "config key 'agents.list' must be an array");
  bool found = false;
  size_t i;
  json_t *agent;
  json_array_foreach(list, i, agent) {
    char key[64];
    snprintf(key, sizeof(key), "agents.list[%zu]", i);
    if (!json_is_object(agent))
      return al_err(err, 0, "config key '%s' must be an object", key);
    const char *id = json_string_value(json_object_get(agent, "id"));
    bool mine = agent_id && id && strcmp(id, agent_id) == 0;
    found = found || mine;
    json_t *asb = json_object_get(agent, "sandbox");
    if (asb == NULL)
      continue;
    strcat(key, ".sandbox");
    if (mine) {
      if (oc_sandbox(spec, key, asb, err) < 0)
        return -1;
      continue;
    }
    airlock_spec scratch;
    airlock_spec_init(&scratch);
    int r = oc_sandbox(&scratch, key, asb, err);
    airlock_spec_clear(&scratch);
    if (r < 0)
      return -1;
  }
  if (agent_id && !found)
    return al_err(err, 0, "agents.list has no agent with id '%s'", agent_id);
  return 0;
}

static const key_entry top_keys[] = {
    {"sandbox", k_sandbox},
    {"image", k_image},
    {"imageTrust", k_image_trust},
    {"workspace", k_workspace},
    {"workspaceAccess", k_workspace_access},
    {"workspaceQuota", k_workspace_quota},
    {"workspaceMode", k_workspace_mode},
    {"output", k_output},
    {"binds", k_binds},
    {"env", k_env},
    {"uid", k_uid},
    {"hostname", k_hostname},
    {"cwd", k_cwd},
    {"limits", k_limits},
    {"tmpExec", k_tmp_exec},
    {"allowDegraded", k_allow_degraded},
    {"network", k_network},
    {"secrets", k_secrets},
    {"sockets", k_sockets},
    {"allowWritableSystemDir", k_allow_writable_system},
    {"isolation", k_isolation},
    {"runsc", k_runsc},
};

/* Top-level keys of an openclaw.json that are airlock's, not OpenClaw's
 * (OpenClaw's own top level has "env", "tools", "session" and more, which
 * are its business and never read here) */
static const char *const airlock_keys_in_openclaw_json[] = {
    "isolation", "runsc", "image", "imageTrust", "workspaceQuota", "workspaceMode", "limits", "network",
    "secrets", "allowDegraded",
};

int airlock_spec_load_json(airlock_spec *spec, const char *text, size_t len, airlock_error **err) {
  return airlock_spec_load_json_agent(spec, text, len, NULL, err);
}

int airlock_spec_load_json_agent(airlock_spec *spec, const char *text, size_t len, const char *agent_id,
                                 airlock_error **err) {
  if (len > MAX_CONFIG_BYTES)
    return al_err(err, 0, "config is larger than %d bytes", MAX_CONFIG_BYTES);
  json_error_t jerr;
  json_auto_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    return al_err(err, 0, "config is not valid JSON: %s at line %d column %d", jerr.text, jerr.line, jerr.column);
  json_t *agents = json_is_object(root) ? json_object_get(root, "agents") : NULL;
  if (json_is_object(agents)) { /* an openclaw.json */
    if (load_openclaw_json(spec, agents, agent_id, err) < 0)
      return -1;
    /* airlock's own keys beside OpenClaw's apply on top: dropping an
     * "isolation" here would run a command with less isolation than asked */
    json_auto_t *own = json_object();
    if (!own)
      return al_err(err, ENOMEM, "config");
    for (size_t i = 0; i < AL_ARRAY_SIZE(airlock_keys_in_openclaw_json); i++) {
      json_t *v = json_object_get(root, airlock_keys_in_openclaw_json[i]);
      if (v && json_object_set(own, airlock_keys_in_openclaw_json[i], v) < 0)
        return al_err(err, ENOMEM, "config");
    }
    return dispatch(spec, "", own, top_keys, AL_ARRAY_SIZE(top_keys), err);
  }
  if (agent_id)
    return al_err(err, 0, "agent '%s': the config is not an openclaw.json (it has no 'agents' object)", agent_id);
  return dispatch(spec, "", root, top_keys, AL_ARRAY_SIZE(top_keys), err);
}

int airlock_spec_load_file(airlock_spec *spec, const char *path, airlock_error **err) {
  return airlock_spec_load_file_agent(spec, path, NULL, err);
}

int airlock_spec_load_file_agent(airlock_spec *spec, const char *path, const char *agent_id, airlock_error **err) {
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (f == NULL)
    return al_err(err, errno, "config file '%s'", path);
  _cleanup_free_ char *buf = malloc(MAX_CONFIG_BYTES + 1);
  if (buf == NULL)
    return al_err(err, ENOMEM, "config");
  size_t n = fread(buf, 1, MAX_CONFIG_BYTES + 1, f);
  if (ferror(f))
    return al_err(err, errno, "config file '%s'", path);
  if (airlock_spec_load_json_agent(spec, buf, n, agent_id, err) < 0)
    return al_err_prefix(err, "%s", path);
  return 0;
}
