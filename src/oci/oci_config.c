/* SPDX-License-Identifier: Apache-2.0 */
/* oci_config.c - config.json of an OCI bundle, parsed with jansson into
 * al_oci_config.  Strict: every key is either understood or refused with an
 * error that names it, so a bundle never runs with a setting silently
 * dropped.  A few keys are accepted and documented as superseded by
 * airlock's own rules (capabilities: all dropped; apparmor and SELinux
 * labels; the device cgroup: only the listed nodes exist); docs/oci.md has
 * the table. */
#define _GNU_SOURCE
#include "oci.h"
#include "error.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#define CFG "config.json: "

static int unsupported(airlock_error **err, const char *where, const char *key) {
  return al_err(err, 0, CFG "%s%s%s is not supported", where, *where ? "." : "", key);
}

static int bad(airlock_error **err, const char *where, const char *key, const char *why) {
  return al_err(err, 0, CFG "%s%s%s: %s", where, *where ? "." : "", key, why);
}

/* every key of obj must be in allowed (NULL-terminated) */
static int check_keys(json_t *obj, const char *where, const char *const *allowed, airlock_error **err) {
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    bool ok = false;
    for (const char *const *a = allowed; *a && !ok; a++)
      ok = strcmp(*a, k) == 0;
    if (!ok)
      return unsupported(err, where, k);
  }
  return 0;
}

static int get_string(json_t *obj, const char *key, const char *where, char **out, airlock_error **err) {
  json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_string(v))
    return bad(err, where, key, "must be a string");
  *out = (char *)json_string_value(v);
  return 0;
}

static int get_u32(json_t *v, const char *where, const char *key, uint32_t *out, airlock_error **err) {
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
    return bad(err, where, key, "must be an integer between 0 and 4294967295");
  *out = (uint32_t)json_integer_value(v);
  return 0;
}

/* a JSON array of strings as a NULL-terminated array pointing into json */
static int get_strv(json_t *obj, const char *key, const char *where, char ***out, size_t *n, airlock_error **err) {
  json_t *a = json_object_get(obj, key);
  *out = NULL;
  if (n)
    *n = 0;
  if (a == NULL || json_is_null(a))
    return 0;
  if (!json_is_array(a))
    return bad(err, where, key, "must be an array of strings");
  size_t len = json_array_size(a);
  char **v = calloc(len + 1, sizeof(char *));
  if (!v)
    return al_err(err, ENOMEM, "config.json");
  for (size_t i = 0; i < len; i++) {
    json_t *s = json_array_get(a, i);
    if (!json_is_string(s)) {
      free(v);
      return bad(err, where, key, "must be an array of strings");
    }
    v[i] = (char *)json_string_value(s);
  }
  *out = v;
  if (n)
    *n = len;
  return 0;
}

static const struct {
  const char *name;
  int resource;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_FSIZE", RLIMIT_FSIZE},       {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},   {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

static int parse_rlimits(json_t *a, const char *where, al_oci_process *p, airlock_error **err) {
  if (!json_is_array(a))
    return bad(err, where, "rlimits", "must be an array");
  size_t i;
  json_t *r;
  json_array_foreach(a, i, r) {
    static const char *const keys[] = {"type", "soft", "hard", NULL};
    char at[96];
    snprintf(at, sizeof(at), "%s.rlimits[%zu]", where, i);
    if (!json_is_object(r))
      return bad(err, where, "rlimits", "entries must be objects");
    if (check_keys(r, at, keys, err) < 0)
      return -1;
    const char *type = json_string_value(json_object_get(r, "type"));
    json_t *soft = json_object_get(r, "soft"), *hard = json_object_get(r, "hard");
    if (!type || !json_is_integer(soft) || !json_is_integer(hard))
      return bad(err, at, "type", "type (string), soft and hard (integers) are required");
    int res = -1;
    for (size_t k = 0; k < sizeof(rlimit_names) / sizeof(rlimit_names[0]); k++)
      if (strcmp(rlimit_names[k].name, type) == 0)
        res = rlimit_names[k].resource;
    if (res < 0)
      return bad(err, at, "type", "unknown resource");
    if (p->n_rlimits >= AL_OCI_MAX_RLIMITS)
      return bad(err, where, "rlimits", "too many entries");
    /* JSON integers are signed 64-bit: -1 and huge values mean unlimited */
    json_int_t s = json_integer_value(soft), h = json_integer_value(hard);
    p->rlimits[p->n_rlimits++] = (al_oci_rlimit){res, s < 0 ? RLIM_INFINITY : (uint64_t)s,
                                                  h < 0 ? RLIM_INFINITY : (uint64_t)h};
  }
  return 0;
}

static int parse_scheduler(json_t *v, const char *where, al_oci_process *p, airlock_error **err) {
  char at[64];
  snprintf(at, sizeof(at), "%s.scheduler", where);
  static const char *const keys[] = {"policy", "nice", "priority", "flags", "runtime", "deadline", "period", NULL};
  if (!json_is_object(v))
    return bad(err, where, "scheduler", "must be an object");
  if (check_keys(v, at, keys, err) < 0)
    return -1;
  const char *pol = json_string_value(json_object_get(v, "policy"));
  if (!pol)
    return bad(err, at, "policy", "is required");
  static const struct {
    const char *name;
    int policy;
  } ok[] = {{"SCHED_OTHER", 0}, {"SCHED_BATCH", 3}, {"SCHED_IDLE", 5}};
  p->sched_policy = -1;
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
    if (strcmp(ok[i].name, pol) == 0)
      p->sched_policy = ok[i].policy;
  if (p->sched_policy < 0) {
    if (strcmp(pol, "SCHED_FIFO") == 0 || strcmp(pol, "SCHED_RR") == 0 || strcmp(pol, "SCHED_DEADLINE") == 0 ||
        strcmp(pol, "SCHED_ISO") == 0)
      return bad(err, at, "policy", "real-time policies are not supported (a container could starve the host)");
    return bad(err, at, "policy", "unknown policy");
  }
  json_t *n = json_object_get(v, "nice");
  if (n && !json_is_null(n)) {
    if (!json_is_integer(n) || json_integer_value(n) < -20 || json_integer_value(n) > 19)
      return bad(err, at, "nice", "must be an integer between -20 and 19");
    if (json_integer_value(n) < 0)
      return bad(err, at, "nice", "below 0 is not supported (it raises the container above the host)");
    p->sched_nice = (int)json_integer_value(n);
  }
  json_t *pr = json_object_get(v, "priority");
  if (pr && !json_is_null(pr) && !(json_is_integer(pr) && json_integer_value(pr) == 0))
    return bad(err, at, "priority", "must be 0 for this policy");
  static const char *const rt[] = {"runtime", "deadline", "period", NULL};
  for (const char *const *k = rt; *k; k++) {
    json_t *x = json_object_get(v, *k);
    if (x && !json_is_null(x) && !(json_is_integer(x) && json_integer_value(x) == 0))
      return bad(err, at, *k, "is for SCHED_DEADLINE only");
  }
  json_t *f = json_object_get(v, "flags");
  if (f && !json_is_null(f) && !(json_is_array(f) && json_array_size(f) == 0))
    return unsupported(err, at, "flags");
  p->has_sched = true;
  return 0;
}

static int parse_ioprio(json_t *v, const char *where, al_oci_process *p, airlock_error **err) {
  char at[64];
  snprintf(at, sizeof(at), "%s.ioPriority", where);
  static const char *const keys[] = {"class", "priority", NULL};
  if (!json_is_object(v))
    return bad(err, where, "ioPriority", "must be an object");
  if (check_keys(v, at, keys, err) < 0)
    return -1;
  const char *cls = json_string_value(json_object_get(v, "class"));
  int c = !cls ? -1 : strcmp(cls, "IOPRIO_CLASS_BE") == 0 ? 2 : strcmp(cls, "IOPRIO_CLASS_IDLE") == 0 ? 3 : -1;
  if (cls && strcmp(cls, "IOPRIO_CLASS_RT") == 0)
    return bad(err, at, "class", "IOPRIO_CLASS_RT is not supported (a container could starve the host's I/O)");
  if (c < 0)
    return bad(err, at, "class", "must be IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE");
  json_t *pr = json_object_get(v, "priority");
  json_int_t level = pr && json_is_integer(pr) ? json_integer_value(pr) : 4;
  if ((pr && !json_is_null(pr) && !json_is_integer(pr)) || level < 0 || level > 7)
    return bad(err, at, "priority", "must be between 0 and 7");
  p->has_ioprio = true;
  p->ioprio = c << 13 | (int)(c == 3 ? 0 : level);
  return 0;
}

int al_oci_process_parse(json_t *obj, const char *where, al_oci_process *p, airlock_error **err) {
  memset(p, 0, sizeof(*p));
  if (!json_is_object(obj))
    return al_err(err, 0, CFG "%s must be an object", where);
  /* capabilities, apparmorProfile, selinuxLabel: accepted; airlock drops
   * every capability and loads no LSM profile (docs/oci.md) */
  static const char *const keys[] = {"terminal", "consoleSize", "user", "args", "env", "cwd", "rlimits",
                                     "noNewPrivileges", "capabilities", "apparmorProfile", "selinuxLabel",
                                     "oomScoreAdj", "scheduler", "ioPriority", NULL};
  if (check_keys(obj, where, keys, err) < 0)
    return -1;
  json_t *v;
  if ((v = json_object_get(obj, "terminal")) && !json_is_null(v)) {
    if (!json_is_boolean(v))
      return bad(err, where, "terminal", "must be true or false");
    p->terminal = json_is_true(v);
  }
  if ((v = json_object_get(obj, "consoleSize")) && !json_is_null(v)) {
    static const char *const ck[] = {"height", "width", NULL};
    char at[64];
    snprintf(at, sizeof(at), "%s.consoleSize", where);
    uint32_t h = 0, w = 0;
    if (!json_is_object(v) || check_keys(v, at, ck, err) < 0 ||
        (json_object_get(v, "height") && get_u32(json_object_get(v, "height"), at, "height", &h, err) < 0) ||
        (json_object_get(v, "width") && get_u32(json_object_get(v, "width"), at, "width", &w, err) < 0))
      return *err ? -1 : bad(err, where, "consoleSize", "must be an object");
    p->rows = h > 65535 ? 65535 : (unsigned short)h;
    p->cols = w > 65535 ? 65535 : (unsigned short)w;
  }
  if ((v = json_object_get(obj, "user")) && !json_is_null(v)) {
    static const char *const uk[] = {"uid", "gid", "umask", "additionalGids", "username", NULL};
    char at[64];
    snprintf(at, sizeof(at), "%s.user", where);
    if (!json_is_object(v))
      return bad(err, where, "user", "must be an object");
    if (check_keys(v, at, uk, err) < 0)
      return -1;
    json_t *x;
    if ((x = json_object_get(v, "uid")) && get_u32(x, at, "uid", &p->uid, err) < 0)
      return -1;
    if ((x = json_object_get(v, "gid")) && get_u32(x, at, "gid", &p->gid, err) < 0)
      return -1;
    if ((x = json_object_get(v, "umask")) && !json_is_null(x)) {
      if (get_u32(x, at, "umask", &p->umask, err) < 0)
        return -1;
      p->has_umask = true;
      p->umask &= 0777;
    }
    if ((x = json_object_get(v, "username")) && !json_is_null(x) &&
        !(json_is_string(x) && json_string_length(x) == 0))
      return unsupported(err, at, "username"); /* Windows only */
    if ((x = json_object_get(v, "additionalGids")) && !json_is_null(x)) {
      if (!json_is_array(x))
        return bad(err, at, "additionalGids", "must be an array");
      p->n_add_gids = json_array_size(x);
      p->add_gids = calloc(p->n_add_gids + 1, sizeof(uint32_t));
      if (!p->add_gids)
        return al_err(err, ENOMEM, "config.json");
      for (size_t i = 0; i < p->n_add_gids; i++)
        if (get_u32(json_array_get(x, i), at, "additionalGids", &p->add_gids[i], err) < 0)
          return -1;
    }
  }
  if (get_strv(obj, "args", where, &p->args, NULL, err) < 0 || get_strv(obj, "env", where, &p->env, NULL, err) < 0)
    return -1;
  if (!p->args || !p->args[0])
    return bad(err, where, "args", "at least one argument is required");
  if (!p->env && !(p->env = calloc(1, sizeof(char *))))
    return al_err(err, ENOMEM, "config.json");
  if (get_string(obj, "cwd", where, &p->cwd, err) < 0)
    return -1;
  if (!p->cwd)
    p->cwd = (char *)"/";
  if (p->cwd[0] != '/')
    return bad(err, where, "cwd", "must be an absolute path");
  if ((v = json_object_get(obj, "rlimits")) && !json_is_null(v) && parse_rlimits(v, where, p, err) < 0)
    return -1;
  if ((v = json_object_get(obj, "noNewPrivileges")) && !json_is_null(v)) {
    if (!json_is_boolean(v))
      return bad(err, where, "noNewPrivileges", "must be true or false");
    p->no_new_privs = json_is_true(v);
  }
  if ((v = json_object_get(obj, "oomScoreAdj")) && !json_is_null(v)) {
    if (!json_is_integer(v) || json_integer_value(v) < -1000 || json_integer_value(v) > 1000)
      return bad(err, where, "oomScoreAdj", "must be an integer between -1000 and 1000");
    p->has_oom_score_adj = true;
    p->oom_score_adj = (int)json_integer_value(v);
  }
  if ((v = json_object_get(obj, "scheduler")) && !json_is_null(v) && parse_scheduler(v, where, p, err) < 0)
    return -1;
  if ((v = json_object_get(obj, "ioPriority")) && !json_is_null(v) && parse_ioprio(v, where, p, err) < 0)
    return -1;
  if ((v = json_object_get(obj, "capabilities")) && !json_is_null(v) && !json_is_object(v))
    return bad(err, where, "capabilities", "must be an object");
  if ((v = json_object_get(obj, "selinuxLabel")) && json_is_string(v) && json_string_length(v) > 0)
    return unsupported(err, where, "selinuxLabel");
  return 0;
}

void al_oci_process_free(al_oci_process *p) {
  free(p->args);
  free(p->env);
  free(p->add_gids);
  memset(p, 0, sizeof(*p));
}

/* mount options: flags, their clearing counterparts, propagation (refused
 * but private), everything else is file system data */
static const struct {
  const char *name;
  unsigned long set, clear;
} mount_flags[] = {
    {"ro", MS_RDONLY, 0},         {"rw", 0, MS_RDONLY},          {"nosuid", MS_NOSUID, 0},
    {"suid", 0, MS_NOSUID},       {"nodev", MS_NODEV, 0},        {"dev", 0, MS_NODEV},
    {"noexec", MS_NOEXEC, 0},     {"exec", 0, MS_NOEXEC},        {"sync", MS_SYNCHRONOUS, 0},
    {"async", 0, MS_SYNCHRONOUS}, {"noatime", MS_NOATIME, 0},    {"atime", 0, MS_NOATIME},
    {"relatime", MS_RELATIME, 0}, {"norelatime", 0, MS_RELATIME}, {"strictatime", MS_STRICTATIME, 0},
    {"nodiratime", MS_NODIRATIME, 0}, {"diratime", 0, MS_NODIRATIME}, {"dirsync", MS_DIRSYNC, 0},
    {"mand", 0, 0},               {"nomand", 0, 0},              {"defaults", 0, 0},
};

static int add_data(char **data, const char *opt, airlock_error **err) {
  char *n = NULL;
  if (asprintf(&n, "%s%s%s", *data ? *data : "", *data ? "," : "", opt) < 0)
    return al_err(err, ENOMEM, "config.json");
  free(*data);
  *data = n;
  return 0;
}

static int parse_mount(json_t *m, size_t i, al_oci_mount *out, airlock_error **err) {
  char at[48];
  snprintf(at, sizeof(at), "mounts[%zu]", i);
  if (!json_is_object(m))
    return al_err(err, 0, CFG "%s must be an object", at);
  static const char *const keys[] = {"destination", "type", "source", "options", "uidMappings", "gidMappings", NULL};
  if (check_keys(m, at, keys, err) < 0)
    return -1;
  if (json_object_get(m, "uidMappings") || json_object_get(m, "gidMappings"))
    return unsupported(err, at, json_object_get(m, "uidMappings") ? "uidMappings" : "gidMappings");
  if (get_string(m, "destination", at, &out->dest, err) < 0 || get_string(m, "type", at, &out->type, err) < 0 ||
      get_string(m, "source", at, &out->source, err) < 0)
    return -1;
  if (!out->dest || out->dest[0] != '/')
    return bad(err, at, "destination", "must be an absolute path");
  char **opts = NULL;
  size_t n = 0;
  if (get_strv(m, "options", at, &opts, &n, err) < 0)
    return -1;
  int rc = 0;
  for (size_t k = 0; k < n && rc == 0; k++) {
    const char *o = opts[k];
    bool known = false;
    for (size_t f = 0; f < sizeof(mount_flags) / sizeof(mount_flags[0]) && !known; f++)
      if (strcmp(o, mount_flags[f].name) == 0) {
        out->flags = (out->flags | mount_flags[f].set) & ~mount_flags[f].clear;
        out->clear = (out->clear | mount_flags[f].clear) & ~mount_flags[f].set;
        known = true;
      }
    if (known)
      continue;
    if (strcmp(o, "tmpcopyup") == 0) {
      out->copyup = true;
    } else if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0) {
      out->bind = true;
      out->recursive = out->recursive || o[0] == 'r';
    } else if (strcmp(o, "private") == 0 || strcmp(o, "rprivate") == 0 || strcmp(o, "slave") == 0 ||
               strcmp(o, "rslave") == 0) {
      /* every mount of an airlock container is private: nothing propagates either way */
    } else if (strcmp(o, "shared") == 0 || strcmp(o, "rshared") == 0 || strcmp(o, "unbindable") == 0 ||
               strcmp(o, "runbindable") == 0 || strncmp(o, "idmap", 5) == 0 || strncmp(o, "ridmap", 6) == 0 ||
               strcmp(o, "copy-symlink") == 0 || strcmp(o, "remount") == 0 ||
               strcmp(o, "move") == 0) {
      char what[96];
      snprintf(what, sizeof(what), "options \"%s\"", o);
      rc = unsupported(err, at, what);
    } else if (strncmp(o, "rro", 3) == 0 || strncmp(o, "rrw", 3) == 0 || strncmp(o, "rnosuid", 7) == 0 ||
               strncmp(o, "rnodev", 6) == 0 || strncmp(o, "rnoexec", 7) == 0) {
      /* recursive attributes: applied to the whole bound tree anyway */
      const char *base = o + 1;
      for (size_t f = 0; f < sizeof(mount_flags) / sizeof(mount_flags[0]); f++)
        if (strcmp(base, mount_flags[f].name) == 0) {
          out->flags = (out->flags | mount_flags[f].set) & ~mount_flags[f].clear;
          known = true;
        }
      if (!known)
        rc = add_data(&out->data, o, err);
    } else {
      rc = add_data(&out->data, o, err);
    }
  }
  free(opts);
  if (rc < 0)
    return -1;
  if (!out->type || strcmp(out->type, "none") == 0 || strcmp(out->type, "bind") == 0 || strcmp(out->type, "rbind") == 0) {
    if (!out->bind && !(out->type && strcmp(out->type, "bind") == 0) && !(out->type && strcmp(out->type, "rbind") == 0))
      return bad(err, at, "type", "a type is required unless the options say bind");
    out->bind = true;
    if (out->type && strcmp(out->type, "rbind") == 0)
      out->recursive = true;
    out->type = (char *)"bind";
  }
  if (out->copyup && (out->bind || strcmp(out->type, "tmpfs") != 0))
    return bad(err, at, "options", "tmpcopyup is for tmpfs mounts only");
  if (out->bind) {
    out->type = (char *)"bind";
    if (!out->source || !*out->source)
      return bad(err, at, "source", "a bind mount needs a source");
    if (out->data) /* a bind takes no file system data: an unknown option */
      return bad(err, at, "options", "unknown option for a bind mount");
    return 0;
  }
  static const char *const types[] = {"tmpfs", "proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2", NULL};
  for (const char *const *t = types; *t; t++)
    if (strcmp(*t, out->type) == 0)
      return 0;
  char what[96];
  snprintf(what, sizeof(what), "type \"%.60s\"", out->type);
  return unsupported(err, at, what);
}

static int parse_idmaps(json_t *a, const char *where, al_oci_idmap *maps, size_t *n, airlock_error **err) {
  if (!json_is_array(a))
    return bad(err, "linux", where, "must be an array");
  if (json_array_size(a) > AL_OCI_MAX_IDMAPS)
    return bad(err, "linux", where, "at most 5 ranges");
  size_t i;
  json_t *m;
  json_array_foreach(a, i, m) {
    static const char *const keys[] = {"containerID", "hostID", "size", NULL};
    char at[48];
    snprintf(at, sizeof(at), "linux.%s[%zu]", where, i);
    if (!json_is_object(m) || check_keys(m, at, keys, err) < 0)
      return *err ? -1 : bad(err, "linux", where, "entries must be objects");
    uint32_t c, h, s;
    if (get_u32(json_object_get(m, "containerID"), at, "containerID", &c, err) < 0 ||
        get_u32(json_object_get(m, "hostID"), at, "hostID", &h, err) < 0 ||
        get_u32(json_object_get(m, "size"), at, "size", &s, err) < 0)
      return -1;
    if (s == 0 || (uint64_t)h + s > UINT32_MAX || (uint64_t)c + s > UINT32_MAX)
      return bad(err, at, "size", "out of range");
    /* airlock's rule: nothing in a container is ever host uid or gid 0 */
    if (h == 0)
      return bad(err, at, "hostID", "maps host id 0 into the container; airlock never runs a container as host root");
    maps[(*n)++] = (al_oci_idmap){c, h, s};
  }
  return 0;
}

static int parse_namespaces(json_t *a, al_oci_config *c, airlock_error **err) {
  static const char *const names[AL_OCI_NS_COUNT] = {"pid", "network", "ipc", "uts", "mount", "user", "cgroup"};
  if (!json_is_array(a))
    return bad(err, "linux", "namespaces", "must be an array");
  size_t i;
  json_t *n;
  json_array_foreach(a, i, n) {
    static const char *const keys[] = {"type", "path", NULL};
    char at[48];
    snprintf(at, sizeof(at), "linux.namespaces[%zu]", i);
    if (!json_is_object(n) || check_keys(n, at, keys, err) < 0)
      return *err ? -1 : bad(err, "linux", "namespaces", "entries must be objects");
    const char *type = json_string_value(json_object_get(n, "type"));
    char *path = NULL;
    if (!type)
      return bad(err, at, "type", "required");
    if (get_string(n, "path", at, &path, err) < 0)
      return -1;
    int k = -1;
    for (int t = 0; t < AL_OCI_NS_COUNT; t++)
      if (strcmp(names[t], type) == 0)
        k = t;
    if (k < 0) {
      char what[64];
      snprintf(what, sizeof(what), "type \"%.30s\"", type);
      return unsupported(err, at, what); /* time: no */
    }
    if (c->ns[k])
      return bad(err, at, "type", "listed twice");
    c->ns[k] = true;
    if (path && *path) {
      /* joining: only namespaces owned by the host's user namespace that
       * carry no file system or process tree of another container */
      if (k != AL_OCI_NS_NET && k != AL_OCI_NS_IPC && k != AL_OCI_NS_UTS) {
        char what[64];
        snprintf(what, sizeof(what), "path (joining a %s namespace)", type);
        return unsupported(err, at, what);
      }
      c->ns_path[k] = path;
    }
  }
  return 0;
}

/* linux.resources.blockIO: no io controller is set up, so it is accepted
 * only when it asks for nothing (Docker sends {"weight": 0} whatever the
 * user gave): weights 0, device lists empty; anything else is refused. */
static int parse_blockio(json_t *v, airlock_error **err) {
  static const char *const bk[] = {"weight", "leafWeight", "weightDevice", "throttleReadBpsDevice",
                                   "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice",
                                   NULL};
  if (!json_is_object(v))
    return bad(err, "linux.resources", "blockIO", "must be an object");
  if (check_keys(v, "linux.resources.blockIO", bk, err) < 0)
    return -1;
  const char *k;
  json_t *x;
  json_object_foreach(v, k, x) {
    bool nothing = json_is_null(x) || (json_is_integer(x) && json_integer_value(x) == 0) ||
                   (json_is_array(x) && json_array_size(x) == 0);
    if (!nothing)
      return unsupported(err, "linux.resources.blockIO", k);
  }
  return 0;
}

static int parse_resources(json_t *r, al_oci_config *c, airlock_error **err) {
  if (!json_is_object(r))
    return bad(err, "linux", "resources", "must be an object");
  /* devices: the device cgroup (v1 hierarchies; oci_create.c), on top of a
   * container that has only the nodes of linux.devices
   * and the six defaults, and no capability to make others */
  static const char *const keys[] = {"memory", "pids", "cpu", "devices", "blockIO", NULL};
  if (check_keys(r, "linux.resources", keys, err) < 0)
    return -1;
  json_t *v;
  if ((v = json_object_get(r, "blockIO")) && !json_is_null(v) && parse_blockio(v, err) < 0)
    return -1;
  if ((v = json_object_get(r, "memory")) && !json_is_null(v)) {
    static const char *const mk[] = {"limit", "swap", "reservation", "disableOOMKiller", "swappiness",
                                     "useHierarchy", "checkBeforeUpdate", NULL};
    if (!json_is_object(v) || check_keys(v, "linux.resources.memory", mk, err) < 0)
      return *err ? -1 : bad(err, "linux.resources", "memory", "must be an object");
    json_t *l = json_object_get(v, "limit"), *s = json_object_get(v, "swap");
    if (l && !json_is_null(l)) {
      if (!json_is_integer(l))
        return bad(err, "linux.resources.memory", "limit", "must be an integer");
      if (json_integer_value(l) > 0)
        c->memory_limit = json_integer_value(l);
    }
    /* swap: accepted; airlock caps memory and swap together at the limit
     * (memsw where the kernel accounts swap), never more than asked */
    if (s && !json_is_null(s) && !json_is_integer(s))
      return bad(err, "linux.resources.memory", "swap", "must be an integer");
    static const char *const refused[] = {"reservation", "disableOOMKiller", "swappiness", NULL};
    for (const char *const *k = refused; *k; k++) {
      json_t *x = json_object_get(v, *k);
      if (x && !json_is_null(x) && !json_is_false(x))
        return unsupported(err, "linux.resources.memory", *k);
    }
  }
  if ((v = json_object_get(r, "pids")) && !json_is_null(v)) {
    static const char *const pk[] = {"limit", NULL};
    if (!json_is_object(v) || check_keys(v, "linux.resources.pids", pk, err) < 0)
      return *err ? -1 : bad(err, "linux.resources", "pids", "must be an object");
    json_t *l = json_object_get(v, "limit");
    if (l && !json_is_integer(l))
      return bad(err, "linux.resources.pids", "limit", "must be an integer");
    if (l && json_integer_value(l) > 0)
      c->pids_limit = json_integer_value(l);
  }
  if ((v = json_object_get(r, "cpu")) && !json_is_null(v)) {
    static const char *const ck[] = {"quota", "period", "shares", "cpus", "mems", "realtimeRuntime",
                                     "realtimePeriod", "burst", "idle", NULL};
    if (!json_is_object(v) || check_keys(v, "linux.resources.cpu", ck, err) < 0)
      return *err ? -1 : bad(err, "linux.resources", "cpu", "must be an object");
    json_t *q = json_object_get(v, "quota"), *p = json_object_get(v, "period");
    if ((q && !json_is_null(q) && !json_is_integer(q)) || (p && !json_is_null(p) && !json_is_integer(p)))
      return bad(err, "linux.resources", "cpu", "quota and period must be integers");
    json_int_t quota = json_is_integer(q) ? json_integer_value(q) : 0;
    json_int_t period = json_is_integer(p) && json_integer_value(p) > 0 ? json_integer_value(p) : 100000;
    if (quota > 0)
      c->cpus = (double)quota / (double)period;
    static const char *const refused[] = {"shares", "cpus", "mems", "realtimeRuntime", "realtimePeriod", "burst",
                                          "idle", NULL};
    for (const char *const *k = refused; *k; k++) {
      json_t *x = json_object_get(v, *k);
      if (x && !json_is_null(x) && !(json_is_string(x) && json_string_length(x) == 0) &&
          !(json_is_integer(x) && json_integer_value(x) == 0))
        return unsupported(err, "linux.resources.cpu", *k);
    }
  }
  if ((v = json_object_get(r, "devices")) && !json_is_null(v)) {
    if (!json_is_array(v))
      return bad(err, "linux.resources", "devices", "must be an array");
    c->n_devrules = json_array_size(v);
    c->devrules = calloc(c->n_devrules + 1, sizeof(al_oci_devrule));
    if (!c->devrules)
      return al_err(err, ENOMEM, "config.json");
    for (size_t i = 0; i < c->n_devrules; i++) {
      json_t *d = json_array_get(v, i);
      static const char *const dk[] = {"allow", "type", "major", "minor", "access", NULL};
      char at[64];
      snprintf(at, sizeof(at), "linux.resources.devices[%zu]", i);
      if (!json_is_object(d) || check_keys(d, at, dk, err) < 0)
        return *err ? -1 : bad(err, "linux.resources", "devices", "entries must be objects");
      al_oci_devrule *o = &c->devrules[i];
      json_t *al = json_object_get(d, "allow");
      if (!json_is_boolean(al))
        return bad(err, at, "allow", "true or false is required");
      o->allow = json_is_true(al);
      const char *t = json_string_value(json_object_get(d, "type"));
      o->type = !t || !*t ? 'a' : t[0];
      if ((t && strlen(t) > 1) || (o->type != 'a' && o->type != 'c' && o->type != 'b'))
        return bad(err, at, "type", "must be a, c or b");
      json_t *ma = json_object_get(d, "major"), *mi = json_object_get(d, "minor");
      if ((ma && !json_is_null(ma) && !json_is_integer(ma)) || (mi && !json_is_null(mi) && !json_is_integer(mi)))
        return bad(err, at, "major", "major and minor must be integers");
      o->major = json_is_integer(ma) && json_integer_value(ma) >= 0 && json_integer_value(ma) < (1 << 20)
                     ? (long)json_integer_value(ma)
                     : -1;
      o->minor = json_is_integer(mi) && json_integer_value(mi) >= 0 && json_integer_value(mi) < (1 << 20)
                     ? (long)json_integer_value(mi)
                     : -1;
      const char *a = json_string_value(json_object_get(d, "access"));
      snprintf(o->access, sizeof(o->access), "%s", a && *a ? a : "rwm");
      if (strspn(o->access, "rwm") != strlen(o->access) || (a && strlen(a) > 3))
        return bad(err, at, "access", "must be made of r, w and m");
    }
  }
  return 0;
}

static int parse_devices(json_t *a, al_oci_config *c, airlock_error **err) {
  if (!json_is_array(a))
    return bad(err, "linux", "devices", "must be an array");
  c->n_devices = json_array_size(a);
  c->devices = calloc(c->n_devices + 1, sizeof(al_oci_device));
  if (!c->devices)
    return al_err(err, ENOMEM, "config.json");
  size_t i;
  json_t *d;
  json_array_foreach(a, i, d) {
    static const char *const keys[] = {"path", "type", "major", "minor", "fileMode", "uid", "gid", NULL};
    char at[48];
    snprintf(at, sizeof(at), "linux.devices[%zu]", i);
    if (!json_is_object(d) || check_keys(d, at, keys, err) < 0)
      return *err ? -1 : bad(err, "linux", "devices", "entries must be objects");
    al_oci_device *o = &c->devices[i];
    char *type = NULL;
    uint32_t maj = 0, min = 0;
    if (get_string(d, "path", at, &o->path, err) < 0 || get_string(d, "type", at, &type, err) < 0)
      return -1;
    if (!o->path || strncmp(o->path, "/dev/", 5) != 0 || strstr(o->path, ".."))
      return bad(err, at, "path", "must be a path below /dev");
    if (!type || (strcmp(type, "c") != 0 && strcmp(type, "u") != 0 && strcmp(type, "b") != 0))
      return bad(err, at, "type", type && strcmp(type, "p") == 0 ? "fifos are not supported" : "must be c, u or b");
    o->type = type[0] == 'b' ? 'b' : 'c';
    if (get_u32(json_object_get(d, "major"), at, "major", &maj, err) < 0 ||
        get_u32(json_object_get(d, "minor"), at, "minor", &min, err) < 0)
      return -1;
    o->major = maj;
    o->minor = min;
    json_t *m = json_object_get(d, "fileMode");
    if (m && !json_is_null(m) && get_u32(m, at, "fileMode", &o->mode, err) < 0)
      return -1;
  }
  return 0;
}

static int parse_hooks(json_t *h, al_oci_config *c, airlock_error **err) {
  static const char *const kinds[AL_OCI_HOOK_KINDS] = {"prestart", "createRuntime", "poststart", "poststop"};
  if (!json_is_object(h))
    return bad(err, "", "hooks", "must be an object");
  const char *k;
  json_t *list;
  json_object_foreach(h, k, list) {
    int kind = -1;
    for (int i = 0; i < AL_OCI_HOOK_KINDS; i++)
      if (strcmp(kinds[i], k) == 0)
        kind = i;
    if (kind < 0) {
      /* createContainer and startContainer run inside the container's
       * namespaces with the host's binaries: not done */
      if (json_is_array(list) && json_array_size(list) == 0)
        continue;
      return unsupported(err, "hooks", k);
    }
    if (!json_is_array(list))
      return bad(err, "hooks", k, "must be an array");
    size_t n = json_array_size(list);
    c->hooks[kind] = calloc(n + 1, sizeof(al_oci_hook));
    if (!c->hooks[kind])
      return al_err(err, ENOMEM, "config.json");
    for (size_t i = 0; i < n; i++) {
      json_t *e = json_array_get(list, i);
      static const char *const keys[] = {"path", "args", "env", "timeout", NULL};
      char at[48];
      snprintf(at, sizeof(at), "hooks.%s[%zu]", k, i);
      al_oci_hook *o = &c->hooks[kind][i];
      c->n_hooks[kind]++;
      if (!json_is_object(e) || check_keys(e, at, keys, err) < 0)
        return *err ? -1 : bad(err, "hooks", k, "entries must be objects");
      if (get_string(e, "path", at, &o->path, err) < 0 || get_strv(e, "args", at, &o->args, NULL, err) < 0 ||
          get_strv(e, "env", at, &o->env, NULL, err) < 0)
        return -1;
      if (!o->path || o->path[0] != '/')
        return bad(err, at, "path", "must be an absolute path");
      json_t *t = json_object_get(e, "timeout");
      if (t && !json_is_null(t)) {
        if (!json_is_integer(t) || json_integer_value(t) <= 0 || json_integer_value(t) > 3600)
          return bad(err, at, "timeout", "must be between 1 and 3600 seconds");
        o->timeout = (int)json_integer_value(t);
      }
    }
  }
  return 0;
}

/* linux.sysctl: only keys of the network namespace (net.*), and only when
 * the container has a network namespace of its own (not joined by path):
 * such a value reaches no other container and not the host.  Docker sends
 * net.ipv4.ip_unprivileged_port_start and net.ipv4.ping_group_range by
 * default.  Every other key is refused, naming it.  A key is dotted words of
 * [A-Za-z0-9_-] (no '/', no empty word): it becomes a path under /proc/sys. */
static int parse_sysctl(json_t *v, al_oci_config *c, airlock_error **err) {
  if (!json_is_object(v))
    return bad(err, "linux", "sysctl", "must be an object");
  const char *k;
  json_t *x;
  json_object_foreach(v, k, x) {
    char what[160];
    snprintf(what, sizeof(what), "sysctl \"%.120s\"", k);
    bool word_ok = strlen(k) < 128 && k[0] != '.' && k[0] && k[strlen(k) - 1] != '.' && !strstr(k, "..") &&
                   strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == strlen(k);
    if (!word_ok)
      return bad(err, "linux", what, "not a sysctl name");
    if (strncmp(k, "net.", 4) != 0)
      return bad(err, "linux", what,
                 "not supported (only net.* keys are: they stay in the container's own network namespace)");
    if (!c->ns[AL_OCI_NS_NET] || c->ns_path[AL_OCI_NS_NET])
      return bad(err, "linux", what, "not supported without a network namespace made for the container (it would change another's)");
    if (!json_is_string(x) || json_string_length(x) > 256)
      return bad(err, "linux", what, "must be a string of at most 256 bytes");
  }
  c->sysctl = json_object_size(v) ? v : NULL;
  return 0;
}

static int parse_linux(json_t *l, al_oci_config *c, airlock_error **err) {
  if (!json_is_object(l))
    return bad(err, "", "linux", "must be an object");
  /* mountLabel: accepted when empty (no SELinux here) */
  static const char *const keys[] = {"namespaces", "uidMappings", "gidMappings", "resources", "cgroupsPath",
                                     "seccomp", "maskedPaths", "readonlyPaths", "devices", "rootfsPropagation",
                                     "mountLabel", "sysctl", NULL};
  if (check_keys(l, "linux", keys, err) < 0)
    return -1;
  json_t *v;
  if ((v = json_object_get(l, "namespaces")) && !json_is_null(v) && parse_namespaces(v, c, err) < 0)
    return -1;
  if ((v = json_object_get(l, "uidMappings")) && !json_is_null(v) &&
      parse_idmaps(v, "uidMappings", c->uid_map, &c->n_uid_map, err) < 0)
    return -1;
  if ((v = json_object_get(l, "gidMappings")) && !json_is_null(v) &&
      parse_idmaps(v, "gidMappings", c->gid_map, &c->n_gid_map, err) < 0)
    return -1;
  if ((c->n_uid_map || c->n_gid_map) && !c->ns[AL_OCI_NS_USER])
    return bad(err, "linux", "uidMappings", "needs a user namespace in linux.namespaces");
  if ((c->n_uid_map == 0) != (c->n_gid_map == 0))
    return bad(err, "linux", c->n_uid_map ? "gidMappings" : "uidMappings", "both mappings or neither are needed");
  if ((v = json_object_get(l, "resources")) && !json_is_null(v) && parse_resources(v, c, err) < 0)
    return -1;
  if (get_string(l, "cgroupsPath", "linux", &c->cgroups_path, err) < 0)
    return -1;
  if ((v = json_object_get(l, "seccomp")) && !json_is_null(v)) {
    if (!json_is_object(v))
      return bad(err, "linux", "seccomp", "must be an object");
    c->seccomp = v;
  }
  if (get_strv(l, "maskedPaths", "linux", &c->masked, &c->n_masked, err) < 0 ||
      get_strv(l, "readonlyPaths", "linux", &c->readonly_paths, &c->n_readonly, err) < 0)
    return -1;
  for (size_t i = 0; i < c->n_masked; i++)
    if (c->masked[i][0] != '/')
      return bad(err, "linux", "maskedPaths", "entries must be absolute paths");
  for (size_t i = 0; i < c->n_readonly; i++)
    if (c->readonly_paths[i][0] != '/')
      return bad(err, "linux", "readonlyPaths", "entries must be absolute paths");
  if ((v = json_object_get(l, "devices")) && !json_is_null(v) && parse_devices(v, c, err) < 0)
    return -1;
  if (get_string(l, "rootfsPropagation", "linux", &c->propagation, err) < 0)
    return -1;
  if (c->propagation && *c->propagation && strcmp(c->propagation, "private") != 0 &&
      strcmp(c->propagation, "rprivate") != 0 && strcmp(c->propagation, "slave") != 0 &&
      strcmp(c->propagation, "rslave") != 0) {
    char what[80];
    snprintf(what, sizeof(what), "rootfsPropagation \"%.40s\"", c->propagation);
    return unsupported(err, "linux", what);
  }
  if ((v = json_object_get(l, "mountLabel")) && json_is_string(v) && json_string_length(v) > 0)
    return unsupported(err, "linux", "mountLabel");
  if ((v = json_object_get(l, "sysctl")) && !json_is_null(v) && parse_sysctl(v, c, err) < 0)
    return -1;
  return 0;
}

int al_oci_config_parse(const char *text, size_t len, al_oci_config *c, airlock_error **err) {
  memset(c, 0, sizeof(*c));
  json_error_t je;
  c->json = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!c->json)
    return al_err(err, 0, CFG "line %d: %s", je.line, je.text);
  if (!json_is_object(c->json))
    return al_err(err, 0, CFG "must be a JSON object");
  static const char *const keys[] = {"ociVersion", "process", "root", "hostname", "domainname", "mounts",
                                     "linux", "hooks", "annotations", NULL};
  if (check_keys(c->json, "", keys, err) < 0)
    return -1;
  if (get_string(c->json, "ociVersion", "", &c->oci_version, err) < 0)
    return -1;
  if (!c->oci_version || strncmp(c->oci_version, "1.", 2) != 0)
    return al_err(err, 0, CFG "ociVersion must be 1.x");
  json_t *v = json_object_get(c->json, "process");
  if (!v)
    return al_err(err, 0, CFG "process is required");
  if (al_oci_process_parse(v, "process", &c->proc, err) < 0)
    return -1;
  v = json_object_get(c->json, "root");
  static const char *const rk[] = {"path", "readonly", NULL};
  if (!json_is_object(v) || check_keys(v, "root", rk, err) < 0)
    return *err ? -1 : al_err(err, 0, CFG "root is required (an object with a path)");
  if (get_string(v, "path", "root", &c->root_path, err) < 0)
    return -1;
  if (!c->root_path || !*c->root_path)
    return al_err(err, 0, CFG "root.path is required");
  json_t *ro = json_object_get(v, "readonly");
  if (ro && !json_is_null(ro) && !json_is_boolean(ro))
    return al_err(err, 0, CFG "root.readonly must be true or false");
  c->root_readonly = json_is_true(ro);
  if (get_string(c->json, "hostname", "", &c->hostname, err) < 0 ||
      get_string(c->json, "domainname", "", &c->domainname, err) < 0)
    return -1;
  if (c->hostname && strlen(c->hostname) > 64)
    return al_err(err, 0, CFG "hostname is longer than 64 bytes");
  if (c->domainname && strlen(c->domainname) > 64)
    return al_err(err, 0, CFG "domainname is longer than 64 bytes");
  v = json_object_get(c->json, "mounts");
  if (v && !json_is_null(v)) {
    if (!json_is_array(v))
      return al_err(err, 0, CFG "mounts must be an array");
    c->n_mounts = json_array_size(v);
    c->mounts = calloc(c->n_mounts + 1, sizeof(al_oci_mount));
    if (!c->mounts)
      return al_err(err, ENOMEM, "config.json");
    for (size_t i = 0; i < c->n_mounts; i++)
      if (parse_mount(json_array_get(v, i), i, &c->mounts[i], err) < 0)
        return -1;
  }
  v = json_object_get(c->json, "linux");
  if (v && !json_is_null(v) && parse_linux(v, c, err) < 0)
    return -1;
  if (c->hostname && *c->hostname && !c->ns[AL_OCI_NS_UTS])
    return al_err(err, 0, CFG "hostname needs a uts namespace in linux.namespaces");
  if (c->domainname && *c->domainname && !c->ns[AL_OCI_NS_UTS])
    return al_err(err, 0, CFG "domainname needs a uts namespace in linux.namespaces");
  if (!c->ns[AL_OCI_NS_MNT])
    return al_err(err, 0, CFG "linux.namespaces: airlock needs a mount namespace");
  v = json_object_get(c->json, "hooks");
  if (v && !json_is_null(v) && parse_hooks(v, c, err) < 0)
    return -1;
  v = json_object_get(c->json, "annotations");
  if (v && !json_is_null(v) && !json_is_object(v))
    return al_err(err, 0, CFG "annotations must be an object");
  return 0;
}

void al_oci_config_free(al_oci_config *c) {
  al_oci_process_free(&c->proc);
  for (size_t i = 0; i < c->n_mounts && c->mounts; i++)
    free(c->mounts[i].data);
  free(c->mounts);
  free(c->masked);
  free(c->readonly_paths);
  free(c->devices);
  free(c->devrules);
  for (int k = 0; k < AL_OCI_HOOK_KINDS; k++) {
    for (size_t i = 0; i < c->n_hooks[k]; i++) {
      free(c->hooks[k][i].args);
      free(c->hooks[k][i].env);
    }
    free(c->hooks[k]);
  }
  if (c->json)
    json_decref(c->json);
  memset(c, 0, sizeof(*c));
}
