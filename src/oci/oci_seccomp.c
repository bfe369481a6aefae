/* SPDX-License-Identifier: Apache-2.0 */
/* oci_seccomp.c - linux.seccomp of config.json compiled with libseccomp.
 * The container's profile is installed on top of airlock's own deny list
 * (src/sandbox/seccomp), never instead of it: the kernel applies both and
 * the stricter answer wins.  Notification (SCMP_ACT_NOTIFY, listenerPath)
 * is refused: nothing of airlock's would answer it. */
#define _GNU_SOURCE
#include "oci.h"
#include "error.h"

#include <errno.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SC "config.json: linux.seccomp"

static int action(json_t *rule, const char *where, uint32_t *out, airlock_error **err) {
  bool top = where[0] == '\0';
  const char *a = json_string_value(json_object_get(rule, top ? "defaultAction" : "action"));
  if (!a)
    return al_err(err, 0, SC "%s.%s is required", where, top ? "defaultAction" : "action");
  json_t *e = json_object_get(rule, top ? "defaultErrnoRet" : "errnoRet");
  int eno = json_is_integer(e) ? (int)json_integer_value(e) : EPERM;
  if (json_is_integer(e) && (json_integer_value(e) < 0 || json_integer_value(e) > 4095))
    return al_err(err, 0, SC "%s.errnoRet: out of range", where);
  if (strcmp(a, "SCMP_ACT_ALLOW") == 0)
    *out = SCMP_ACT_ALLOW;
  else if (strcmp(a, "SCMP_ACT_ERRNO") == 0)
    *out = SCMP_ACT_ERRNO((uint16_t)eno);
  else if (strcmp(a, "SCMP_ACT_KILL") == 0 || strcmp(a, "SCMP_ACT_KILL_THREAD") == 0)
    *out = SCMP_ACT_KILL_THREAD;
  else if (strcmp(a, "SCMP_ACT_KILL_PROCESS") == 0)
    *out = SCMP_ACT_KILL_PROCESS;
  else if (strcmp(a, "SCMP_ACT_TRAP") == 0)
    *out = SCMP_ACT_TRAP;
  else if (strcmp(a, "SCMP_ACT_LOG") == 0)
    *out = SCMP_ACT_LOG;
  else if (strcmp(a, "SCMP_ACT_TRACE") == 0)
    *out = SCMP_ACT_TRACE((uint16_t)eno);
  else
    return al_err(err, 0, SC "%s.%s \"%.40s\" is not supported", where, top ? "defaultAction" : "action", a);
  return 0;
}

static const struct {
  const char *name;
  enum scmp_compare op;
} ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
           {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
           {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};

static int check_keys(json_t *o, const char *where, const char *const *allowed, airlock_error **err) {
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    bool ok = false;
    for (const char *const *a = allowed; *a && !ok; a++)
      ok = strcmp(*a, k) == 0;
    if (!ok)
      return al_err(err, 0, SC "%s.%s is not supported", where, k);
  }
  return 0;
}

static void release(scmp_filter_ctx *c) {
  if (*c)
    seccomp_release(*c);
}

int al_oci_seccomp_compile(json_t *s, void **insns, unsigned short *len, airlock_error **err) {
  *insns = NULL;
  *len = 0;
  static const char *const keys[] = {"defaultAction", "defaultErrnoRet", "architectures", "flags", "syscalls", NULL};
  if (check_keys(s, "", keys, err) < 0)
    return -1;
  uint32_t def;
  if (action(s, "", &def, err) < 0)
    return -1;
  __attribute__((cleanup(release))) scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx)
    return al_err(err, 0, SC ": seccomp_init failed");
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  json_t *archs = json_object_get(s, "architectures");
  if (archs && !json_is_null(archs)) {
    if (!json_is_array(archs))
      return al_err(err, 0, SC ".architectures must be an array");
    size_t i;
    json_t *a;
    json_array_foreach(archs, i, a) {
      const char *n = json_string_value(a);
      if (!n || strncmp(n, "SCMP_ARCH_", 10) != 0)
        return al_err(err, 0, SC ".architectures[%zu] is not an architecture", i);
      char lower[32];
      size_t k = 0;
      for (const char *p = n + 10; *p && k < sizeof(lower) - 1; p++)
        lower[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
      lower[k] = '\0';
      uint32_t arch = seccomp_arch_resolve_name(lower);
      if (arch == 0)
        return al_err(err, 0, SC ".architectures[%zu] \"%.30s\" is unknown", i, n);
      int r = seccomp_arch_add(ctx, arch);
      if (r < 0 && r != -EEXIST)
        return al_err(err, -r, SC ".architectures[%zu]", i);
    }
  }
  json_t *flags = json_object_get(s, "flags");
  if (flags && !json_is_null(flags)) {
    size_t i;
    json_t *f;
    if (!json_is_array(flags))
      return al_err(err, 0, SC ".flags must be an array");
    json_array_foreach(flags, i, f) {
      const char *n = json_string_value(f);
      if (n && strcmp(n, "SECCOMP_FILTER_FLAG_LOG") == 0)
        seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
      else if (n && strcmp(n, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
        continue; /* a performance hint; airlock keeps speculation mitigations */
      else
        return al_err(err, 0, SC ".flags[%zu] \"%.40s\" is not supported", i, n ? n : "?");
    }
  }
  json_t *calls = json_object_get(s, "syscalls");
  if (calls && !json_is_null(calls)) {
    if (!json_is_array(calls))
      return al_err(err, 0, SC ".syscalls must be an array");
    size_t i;
    json_t *r;
    json_array_foreach(calls, i, r) {
      char where[48];
      snprintf(where, sizeof(where), ".syscalls[%zu]", i);
      static const char *const rk[] = {"names", "action", "errnoRet", "args", "comment", "includes", "excludes",
                                       NULL};
      if (!json_is_object(r))
        return al_err(err, 0, SC "%s must be an object", where);
      if (check_keys(r, where, rk, err) < 0)
        return -1;
      uint32_t act;
      if (action(r, where, &act, err) < 0)
        return -1;
      json_t *names = json_object_get(r, "names"), *args = json_object_get(r, "args");
      if (!json_is_array(names))
        return al_err(err, 0, SC "%s.names must be an array", where);
      struct scmp_arg_cmp cmp[6];
      unsigned n_args = 0;
      if (args && !json_is_null(args)) {
        if (!json_is_array(args) || json_array_size(args) > 6)
          return al_err(err, 0, SC "%s.args must be an array of at most 6", where);
        size_t k;
        json_t *a;
        json_array_foreach(args, k, a) {
          static const char *const ak[] = {"index", "value", "valueTwo", "op", NULL};
          char aw[64];
          snprintf(aw, sizeof(aw), "%s.args[%zu]", where, k);
          if (!json_is_object(a) || check_keys(a, aw, ak, err) < 0)
            return *err ? -1 : al_err(err, 0, SC "%s must be an object", aw);
          json_t *idx = json_object_get(a, "index"), *val = json_object_get(a, "value"),
                 *v2 = json_object_get(a, "valueTwo");
          const char *op = json_string_value(json_object_get(a, "op"));
          if (!json_is_integer(idx) || json_integer_value(idx) < 0 || json_integer_value(idx) > 5 ||
              !json_is_integer(val) || (v2 && !json_is_null(v2) && !json_is_integer(v2)) || !op)
            return al_err(err, 0, SC "%s: index 0-5, value and op are required", aw);
          int opi = -1;
          for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
            if (strcmp(ops[o].name, op) == 0)
              opi = (int)o;
          if (opi < 0)
            return al_err(err, 0, SC "%s.op \"%.30s\" is unknown", aw, op);
          cmp[n_args++] = (struct scmp_arg_cmp){.arg = (unsigned)json_integer_value(idx),
                                                .op = ops[opi].op,
                                                .datum_a = (scmp_datum_t)json_integer_value(val),
                                                .datum_b = json_is_integer(v2) ? (scmp_datum_t)json_integer_value(v2)
                                                                               : 0};
        }
      }
      if (act == def)
        continue; /* libseccomp refuses rules that restate the default */
      size_t k;
      json_t *nm;
      json_array_foreach(names, k, nm) {
        const char *name = json_string_value(nm);
        if (!name)
          return al_err(err, 0, SC "%s.names[%zu] must be a string", where, k);
        int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR)
          continue; /* not on this architecture or unknown to libseccomp: as runc */
        int rc = seccomp_rule_add_array(ctx, act, nr, n_args, n_args ? cmp : NULL);
        if (rc == -EINVAL && n_args > 1) /* several conditions on one argument: one rule each, as runc */
          for (unsigned c = 0; c < n_args && rc != 0; c++)
            rc = seccomp_rule_add_array(ctx, act, nr, 1, &cmp[c]) == 0 ? 0 : rc;
        if (rc < 0 && rc != -EEXIST)
          return al_err(err, -rc, SC "%s: rule for %s", where, name);
      }
    }
  }
  /* the program: libseccomp exports it to a descriptor */
  FILE *mem = tmpfile();
  if (!mem)
    return al_err(err, errno, SC ": temporary file");
  int rc = seccomp_export_bpf(ctx, fileno(mem));
  if (rc < 0) {
    fclose(mem);
    return al_err(err, -rc, SC ": exporting the program");
  }
  long size = lseek(fileno(mem), 0, SEEK_END);
  if (size <= 0 || size % (long)sizeof(struct sock_filter) != 0 ||
      size / (long)sizeof(struct sock_filter) > 65535) {
    fclose(mem);
    return al_err(err, 0, SC ": the program is empty or too long");
  }
  void *buf = malloc((size_t)size);
  if (!buf || pread(fileno(mem), buf, (size_t)size, 0) != size) {
    free(buf);
    fclose(mem);
    return al_err(err, errno ? errno : EIO, SC ": reading the program");
  }
  fclose(mem);
  *insns = buf;
  *len = (unsigned short)(size / (long)sizeof(struct sock_filter));
  return 0;
}
