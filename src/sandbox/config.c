/* SPDX-License-Identifier: Apache-2.0 */
/* config.c - the JSON config file.  Two vocabularies are accepted: airlock's
 * own keys, and the OpenClaw "sandbox" block (seed 004) so an existing
 * OpenClaw config works as it is.  The "network" key is read by network.c.  The parser is strict: an unknown key, a
 * wrong type or an impossible value is an error naming the key. */
#define _GNU_SOURCE
#include "cleanup.h"
#include "error.h"
#include "network.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

static const key_entry top_keys[] = {
    {"sandbox", k_sandbox},
    {"image", k_image},
    {"workspace", k_workspace},
    {"workspaceAccess", k_workspace_access},
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
};

int airlock_spec_load_json(airlock_spec *spec, const char *text, size_t len, airlock_error **err) {
  if (len > MAX_CONFIG_BYTES)
    return al_err(err, 0, "config is larger than %d bytes", MAX_CONFIG_BYTES);
  json_error_t jerr;
  json_auto_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    return al_err(err, 0, "config is not valid JSON: %s at line %d column %d", jerr.text, jerr.line, jerr.column);
  return dispatch(spec, "", root, top_keys, AL_ARRAY_SIZE(top_keys), err);
}

int airlock_spec_load_file(airlock_spec *spec, const char *path, airlock_error **err) {
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (f == NULL)
    return al_err(err, errno, "config file '%s'", path);
  _cleanup_free_ char *buf = malloc(MAX_CONFIG_BYTES + 1);
  if (buf == NULL)
    return al_err(err, ENOMEM, "config");
  size_t n = fread(buf, 1, MAX_CONFIG_BYTES + 1, f);
  if (ferror(f))
    return al_err(err, errno, "config file '%s'", path);
  if (airlock_spec_load_json(spec, buf, n, err) < 0)
    return al_err_prefix(err, "%s", path);
  return 0;
}
