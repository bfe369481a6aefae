/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup_v1.c - limits on a legacy (v1) hierarchy: one directory per
 * controller.  Memory+swap is capped through memsw when the kernel accounts
 * swap; without swap accounting only RAM is capped, and the caller reports
 * that when the host has swap. */
#define _GNU_SOURCE
#include "cgroup_backend.h"
#include "error.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFS_PERIOD_US 100000

static int write_limits(const char *dir, al_controller ctrl, const airlock_spec *spec, bool *swap_uncapped,
                        airlock_error **err) {
  char v[64];
  switch (ctrl) {
  case AL_CTRL_MEMORY: {
    snprintf(v, sizeof(v), "%lld", (long long)spec->memory_bytes);
    if (al_cgroup_write_file(dir, "memory.limit_in_bytes", v, err) < 0)
      return -1;
    char p[4096];
    snprintf(p, sizeof(p), "%s/memory.memsw.limit_in_bytes", dir);
    *swap_uncapped = access(p, F_OK) != 0;
    if (!*swap_uncapped && al_cgroup_write_file(dir, "memory.memsw.limit_in_bytes", v, err) < 0)
      return -1;
    return 0;
  }
  case AL_CTRL_PIDS:
    snprintf(v, sizeof(v), "%lld", (long long)spec->pids);
    return al_cgroup_write_file(dir, "pids.max", v, err);
  case AL_CTRL_CPU:
    snprintf(v, sizeof(v), "%d", CFS_PERIOD_US);
    if (al_cgroup_write_file(dir, "cpu.cfs_period_us", v, err) < 0)
      return -1;
    snprintf(v, sizeof(v), "%lld", (long long)(spec->cpus * CFS_PERIOD_US + 0.5));
    return al_cgroup_write_file(dir, "cpu.cfs_quota_us", v, err);
  default: return 0;
  }
}

static bool oom_killed(const char *memory_dir) {
  long long n = 0;
  if (al_cgroup_read_keyed_counter(memory_dir, "memory.oom_control", "oom_kill", &n) == 0)
    return n > 0;
  return false;
}

const al_cgroup_backend al_cgroup_v1_backend = {
    .version = 1,
    .prepare_parent = NULL,
    .write_limits = write_limits,
    .oom_killed = oom_killed,
};
