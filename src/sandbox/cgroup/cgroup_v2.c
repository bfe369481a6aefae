/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup_v2.c - limits on the unified (v2) hierarchy: one directory for all
 * controllers, which must first be enabled in every ancestor's
 * cgroup.subtree_control. */
#define _GNU_SOURCE
#include "cgroup_backend.h"
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CPU_PERIOD_US 100000

/* Make base exist and delegate memory, pids and cpu to its children. */
static int prepare_parent(const char *base, airlock_error **err) {
  char parent[4096];
  snprintf(parent, sizeof(parent), "%s", base);
  char *slash = strrchr(parent, '/');
  if (slash == NULL)
    return al_err(err, 0, "bad cgroup path %s", base);
  *slash = '\0';
  /* enabling in the parent fails harmlessly when already enabled */
  airlock_error *ignored = NULL;
  al_cgroup_write_file(parent, "cgroup.subtree_control", "+memory +pids +cpu", &ignored);
  airlock_error_free(&ignored);
  if (mkdir(base, 0755) < 0 && errno != EEXIST)
    return al_err(err, errno, "mkdir %s", base);
  return al_cgroup_write_file(base, "cgroup.subtree_control", "+memory +pids +cpu", err);
}

static int write_limits(const char *dir, al_controller ctrl, const airlock_spec *spec, bool *swap_uncapped,
                        airlock_error **err) {
  char v[64];
  switch (ctrl) {
  case AL_CTRL_MEMORY: {
    snprintf(v, sizeof(v), "%lld", (long long)spec->memory_bytes);
    if (al_cgroup_write_file(dir, "memory.max", v, err) < 0)
      return -1;
    char p[4096];
    snprintf(p, sizeof(p), "%s/memory.swap.max", dir);
    *swap_uncapped = access(p, F_OK) != 0;
    if (!*swap_uncapped && al_cgroup_write_file(dir, "memory.swap.max", "0", err) < 0)
      return -1;
    return 0;
  }
  case AL_CTRL_PIDS:
    snprintf(v, sizeof(v), "%lld", (long long)spec->pids);
    return al_cgroup_write_file(dir, "pids.max", v, err);
  case AL_CTRL_CPU:
    snprintf(v, sizeof(v), "%lld %d", (long long)(spec->cpus * CPU_PERIOD_US + 0.5), CPU_PERIOD_US);
    return al_cgroup_write_file(dir, "cpu.max", v, err);
  default: return 0;
  }
}

static bool oom_killed(const char *dir) {
  long long n = 0;
  if (al_cgroup_read_keyed_counter(dir, "memory.events", "oom_kill", &n) == 0)
    return n > 0;
  return false;
}

const al_cgroup_backend al_cgroup_v2_backend = {
    .version = 2,
    .prepare_parent = prepare_parent,
    .write_limits = write_limits,
    .oom_killed = oom_killed,
};
