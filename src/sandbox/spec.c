/* SPDX-License-Identifier: Apache-2.0 */
/* spec.c - the sandbox description: defaults, ownership and validation.
 * Validation runs before anything is created so that bad input is refused
 * with a message naming the field and nothing is left half-done. */
#define _GNU_SOURCE
#include "cleanup.h"
#include "error.h"
#include "launch.h"
#include "network.h"
#include "pathpolicy.h"
#include "secret_name.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_UID 1001

void airlock_spec_init(airlock_spec *spec) {
  memset(spec, 0, sizeof(*spec));
  spec->workspace_rw = true;
  spec->uid = DEFAULT_UID;
  spec->memory_bytes = 512LL << 20;
  spec->cpus = 1.0;
  spec->pids = 256;
  spec->timeout_sec = 30;
  spec->disk_bytes = 1LL << 30;
  spec->nofile = 1024;
  spec->network = AIRLOCK_NETWORK_NONE;
  spec->egress_log_fd = -1;
  spec->workspace_fd = -1;
}

void airlock_spec_clear(airlock_spec *spec) {
  free(spec->cwd);
  free(spec->image);
  for (size_t i = 0; i < spec->n_image_trusted_keys; i++)
    free(spec->image_trusted_keys[i]);
  free(spec->image_trusted_keys);
  free(spec->workspace);
  free(spec->output);
  free(spec->hostname);
  free(spec->network_json);
  free(spec->egress_log);
  free(spec->state_dir);
  free(spec->runsc);
  for (size_t i = 0; i < spec->n_secrets; i++)
    free(spec->secrets[i]);
  free(spec->secrets);
  for (size_t i = 0; i < spec->n_binds; i++) {
    free(spec->binds[i].src);
    free(spec->binds[i].dst);
  }
  free(spec->binds);
  for (size_t i = 0; i < spec->n_env; i++)
    free(spec->env[i]);
  free(spec->env);
  for (size_t i = 0; i < spec->n_sockets; i++) {
    free(spec->sockets[i].src);
    free(spec->sockets[i].dst);
  }
  free(spec->sockets);
  memset(spec, 0, sizeof(*spec));
  spec->workspace_fd = spec->egress_log_fd = -1; /* 0 would be stdin */
}

static int check_dir(const char *what, const char *path, airlock_error **err) {
  struct stat st;
  if (stat(path, &st) < 0)
    return al_err(err, errno, "%s '%s'", what, path);
  if (!S_ISDIR(st.st_mode))
    return al_err(err, 0, "%s '%s' is not a directory", what, path);
  return 0;
}

static int check_env_entry(const char *kv, airlock_error **err) {
  const char *eq = strchr(kv, '=');
  if (eq == NULL || eq == kv)
    return al_err(err, 0, "invalid environment entry '%s': expected KEY=VALUE", kv);
  for (const char *p = kv; p < eq; p++) {
    if (!(isalnum((unsigned char)*p) || *p == '_') || (p == kv && isdigit((unsigned char)*p)))
      return al_err(err, 0, "invalid environment name in '%s': use letters, digits and '_'", kv);
  }
  return 0;
}

int airlock_spec_validate(const airlock_spec *spec, airlock_error **err) { return al_spec_check(spec, true, err); }

int al_spec_check(const airlock_spec *spec, bool need_command, airlock_error **err) {
  if (need_command && (spec->argv == NULL || spec->argv[0] == NULL || spec->argv[0][0] == '\0'))
    return al_err(err, 0, "no command given");
  if (spec->memory_bytes < (6LL << 20))
    return al_err(
        err, 0, "memory limit (--memory, limits.memory, sandbox.memoryLimit) of %lld bytes is below the minimum of 6m",
        (long long)spec->memory_bytes);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (!(spec->cpus >= 0.01) || spec->cpus > (double)ncpu)
    return al_err(
        err, 0,
        "cpus (--cpus, limits.cpus, sandbox.cpuLimit) %.2f is out of range: this host has %ld CPUs (minimum 0.01)",
        spec->cpus, ncpu);
  if (spec->pids < 2 || spec->pids > 4194304)
    return al_err(err, 0,
                  "pids (--pids, limits.pids, sandbox.pidsLimit) %lld is out of range (2 to 4194304; the sandbox's "
                  "init counts as one)",
                  (long long)spec->pids);
  if (!(spec->timeout_sec >= 0.001) || spec->timeout_sec > 7 * 86400)
    return al_err(err, 0,
                  "timeout (--timeout, limits.timeout, sandbox.timeout) of %g seconds is out of range (1 ms to 7 days)",
                  spec->timeout_sec);
  if (spec->disk_bytes < (1LL << 20))
    return al_err(err, 0, "disk limit (--disk, limits.disk) of %lld bytes is below the minimum of 1m",
                  (long long)spec->disk_bytes);
  if (spec->workspace_quota_bytes != 0 && spec->workspace_quota_bytes < (1LL << 20))
    return al_err(err, 0,
                  "workspace quota (--workspace-quota, workspaceQuota) of %lld bytes is below the minimum of 1m",
                  (long long)spec->workspace_quota_bytes);
  if (spec->workspace_mode != AIRLOCK_WORKSPACE_LIVE && spec->workspace_mode != AIRLOCK_WORKSPACE_CHANGES)
    return al_err(err, 0, "workspace mode %d is not live or changes", (int)spec->workspace_mode);
  if (spec->nofile < 16 || spec->nofile > 1048576)
    return al_err(err, 0, "open files limit (--open-files, limits.openFiles) %lld is out of range (16 to 1048576)",
                  (long long)spec->nofile);
  if (spec->uid > 65534)
    return al_err(err, 0, "uid %u is out of range (0 to 65534)", spec->uid);
  if (spec->hostname) {
    size_t len = strlen(spec->hostname);
    bool ok = len > 0 && len <= 64 && spec->hostname[0] != '-' && spec->hostname[0] != '.';
    for (const char *c = spec->hostname; ok && *c; c++)
      ok = isalnum((unsigned char)*c) || *c == '-' || *c == '.';
    if (!ok)
      return al_err(err, 0, "hostname '%s' is invalid: use 1 to 64 letters, digits, '-' and '.'", spec->hostname);
  }
  if (spec->cwd && spec->cwd[0] != '/')
    return al_err(err, 0, "cwd '%s' must be an absolute path inside the sandbox", spec->cwd);
  if (spec->image) {
    /* an image is mounted as the whole root: the bind guard applies to it */
    _cleanup_free_ char *real = NULL;
    if (al_resolve_mount_source("image", spec->image, &real, err) < 0 || check_dir("image", real, err) < 0)
      return -1;
  }
  /* Workspace, output and bind sources are opened and judged once, by the
   * launch plan (plan.c), on the descriptor it then mounts: nothing here
   * looks them up by name. */
  for (size_t i = 0; i < spec->n_binds; i++) {
    const airlock_bind *b = &spec->binds[i];
    if (b->src == NULL || b->src[0] == '\0')
      return al_err(err, 0, "bind source is empty");
    if (al_check_mount_target("bind", b->dst, err) < 0)
      return -1;
    if ((spec->workspace && !spec->workspace_none && strcmp(b->dst, "/workspace") == 0) ||
        (spec->output && strcmp(b->dst, "/output") == 0))
      return al_err(err, 0, "bind target '%s' is already used by --%s", b->dst, b->dst + 1);
    for (size_t j = 0; j < i; j++)
      if (strcmp(spec->binds[j].dst, b->dst) == 0)
        return al_err(err, 0, "bind target '%s' is given twice", b->dst);
  }
  for (size_t i = 0; i < spec->n_env; i++)
    if (check_env_entry(spec->env[i], err) < 0)
      return -1;
  if (al_network_check(spec, err) < 0)
    return -1;
  if (spec->n_secrets > AL_MAX_SECRETS)
    return al_err(err, 0, "at most %d secrets (--secret, secrets)", AL_MAX_SECRETS);
  for (size_t i = 0; i < spec->n_secrets; i++) {
    const char *name = spec->secrets[i];
    /* the name becomes a file name in /run/secrets */
    if (!al_secret_name_valid(name) || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
      return al_err(err, 0, "invalid secret name '%.80s': use 1 to %d of A-Z a-z 0-9 . _ - (not . or ..)",
                    name ? name : "", AL_SECRET_NAME_MAX);
    for (size_t j = 0; j < i; j++)
      if (strcmp(spec->secrets[j], name) == 0)
        return al_err(err, 0, "secret '%s' is given twice", name);
  }
  if (spec->state_dir && spec->state_dir[0] == '\0')
    return al_err(err, 0, "--state-dir must not be empty");
  return 0;
}

int airlock_parse_workspace_mode(const char *s, airlock_workspace_mode *mode, airlock_error **err) {
  if (strcmp(s, "live") == 0)
    *mode = AIRLOCK_WORKSPACE_LIVE;
  else if (strcmp(s, "changes") == 0)
    *mode = AIRLOCK_WORKSPACE_CHANGES;
  else
    return al_err(err, 0, "workspace mode must be \"live\" or \"changes\", not \"%.40s\"", s);
  return 0;
}

int airlock_parse_isolation(const char *s, airlock_isolation *isolation, airlock_error **err) {
  if (strcmp(s, "namespaces") == 0)
    *isolation = AIRLOCK_ISOLATION_NAMESPACES;
  else if (strcmp(s, "gvisor") == 0)
    *isolation = AIRLOCK_ISOLATION_GVISOR;
  else if (strcmp(s, "vm") == 0)
    *isolation = AIRLOCK_ISOLATION_VM;
  else
    return al_err(err, 0, "isolation must be \"namespaces\", \"gvisor\" or \"vm\", not \"%.40s\"", s);
  return 0;
}

const char *airlock_isolation_name(airlock_isolation isolation) {
  switch (isolation) {
  case AIRLOCK_ISOLATION_NAMESPACES: return "namespaces";
  case AIRLOCK_ISOLATION_GVISOR: return "gvisor";
  case AIRLOCK_ISOLATION_VM: return "vm";
  }
  return "unknown";
}

int airlock_spec_set_string(char **field, const char *value, airlock_error **err) {
  char *copy = strdup(value);
  if (copy == NULL)
    return al_err(err, ENOMEM, "string");
  free(*field);
  *field = copy;
  return 0;
}

int airlock_spec_add_env(airlock_spec *spec, const char *kv, airlock_error **err) {
  if (check_env_entry(kv, err) < 0)
    return -1;
  size_t keylen = (size_t)(strchr(kv, '=') - kv) + 1;
  char *copy = strdup(kv);
  if (copy == NULL)
    return al_err(err, ENOMEM, "env");
  for (size_t i = 0; i < spec->n_env; i++) {
    if (strncmp(spec->env[i], kv, keylen) == 0) {
      free(spec->env[i]);
      spec->env[i] = copy;
      return 0;
    }
  }
  char **grown = realloc(spec->env, (spec->n_env + 1) * sizeof(*grown));
  if (grown == NULL) {
    free(copy);
    return al_err(err, ENOMEM, "env");
  }
  spec->env = grown;
  spec->env[spec->n_env++] = copy;
  return 0;
}

int airlock_spec_add_secret(airlock_spec *spec, const char *name, airlock_error **err) {
  char *copy = strdup(name);
  char **grown = copy ? realloc(spec->secrets, (spec->n_secrets + 1) * sizeof(*grown)) : NULL;
  if (grown == NULL) {
    free(copy);
    return al_err(err, ENOMEM, "secret");
  }
  spec->secrets = grown;
  spec->secrets[spec->n_secrets++] = copy;
  return 0;
}

static int append_bind(airlock_bind **arr, size_t *n, airlock_bind *b, const char *what, airlock_error **err) {
  airlock_bind *grown = realloc(*arr, (*n + 1) * sizeof(*grown));
  if (grown == NULL)
    return al_err(err, ENOMEM, "%s", what);
  *arr = grown;
  (*arr)[(*n)++] = *b;
  memset(b, 0, sizeof(*b));
  return 0;
}

int airlock_spec_add_bind(airlock_spec *spec, airlock_bind *bind, airlock_error **err) {
  return append_bind(&spec->binds, &spec->n_binds, bind, "bind", err);
}

int airlock_spec_add_socket(airlock_spec *spec, airlock_bind *sock, airlock_error **err) {
  return append_bind(&spec->sockets, &spec->n_sockets, sock, "socket", err);
}
