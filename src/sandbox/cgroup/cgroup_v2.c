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

/* cgroup v2 forbids a cgroup with processes from handing controllers to
 * its children ("no internal processes"), so in a delegated cgroup that
 * holds the caller (a systemd unit with Delegate=yes, a `systemd-run
 * --scope -p Delegate=yes`) its processes move into a leaf of their own,
 * DIR/supervisor, as systemd's delegation rules ask: the node and its
 * helpers, or the `airlock run` launcher, live there, and the sandboxes
 * beside it below DIR/airlock.  Only processes of this delegated cgroup are
 * moved, and only when enabling the controllers was refused for them. */
static int move_processes_to_leaf(const char *dir, airlock_error **err) {
  char leaf[4096], procs[4096];
  if ((size_t)snprintf(leaf, sizeof(leaf), "%s/supervisor", dir) >= sizeof(leaf) ||
      (size_t)snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir) >= sizeof(procs))
    return al_err(err, ENAMETOOLONG, "cgroup path %s", dir);
  if (mkdir(leaf, 0755) < 0 && errno != EEXIST)
    return al_err(err, errno, "mkdir %s", leaf);
  FILE *f = fopen(procs, "re");
  if (!f)
    return al_err(err, errno, "open %s", procs);
  long pid;
  int rc = 0;
  while (rc == 0 && fscanf(f, "%ld", &pid) == 1) {
    char v[32];
    snprintf(v, sizeof(v), "%ld", pid);
    airlock_error *e = NULL;
    if (al_cgroup_write_file(leaf, "cgroup.procs", v, &e) < 0 && e && e->errnum != ESRCH)
      rc = al_err(err, e->errnum, "cannot move process %ld of %s into %s (a delegated cgroup must hold only "
                                "airlock's own processes): %s", pid, dir, leaf, e->msg);
    airlock_error_free(&e);
  }
  fclose(f);
  return rc;
}

/* Make base exist and delegate memory, pids and cpu to its children. */
static int prepare_parent(const char *base, airlock_error **err) {
  char parent[4096];
  snprintf(parent, sizeof(parent), "%s", base);
  char *slash = strrchr(parent, '/');
  if (slash == NULL)
    return al_err(err, 0, "bad cgroup path %s", base);
  *slash = '\0';
  /* enabling in the parent fails harmlessly when already enabled, or where
   * the parent is not ours (then the next write says why) */
  airlock_error *refused = NULL;
  if (al_cgroup_write_file(parent, "cgroup.subtree_control", "+memory +pids +cpu", &refused) < 0 && refused &&
      refused->errnum == EBUSY) {
    /* processes (ours) in the parent: into a leaf beside the sandboxes */
    airlock_error_free(&refused);
    if (move_processes_to_leaf(parent, err) < 0 ||
        al_cgroup_write_file(parent, "cgroup.subtree_control", "+memory +pids +cpu", err) < 0)
      return -1;
  }
  airlock_error_free(&refused);
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
