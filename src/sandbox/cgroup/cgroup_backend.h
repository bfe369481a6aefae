/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup_backend.h - what differs between cgroup v1 and v2, as one table of
 * operations per version.  cgroup.c decides per controller which hierarchy
 * carries it and calls that version's table; the backends know nothing of
 * each other or of cgroup.c. */
#ifndef AIRLOCK_CGROUP_BACKEND_H
#define AIRLOCK_CGROUP_BACKEND_H

#include "cgroup.h"
#include "cgroup_file.h"

typedef struct al_cgroup_backend {
  /* 1 or 2: what the report and al_cgroup.version[] say */
  int version;
  /* Make base (the parent of every sandbox's directory) ready for children
   * that hold limits: v2 enables memory, pids and cpu in each ancestor's
   * cgroup.subtree_control.  NULL when the version needs nothing. */
  int (*prepare_parent)(const char *base, airlock_error **err);
  /* Write the spec's limit for one controller into the sandbox's directory.
   * Sets *swap_uncapped when memory is capped but swap cannot be (no swap
   * accounting).  A limit the spec does not set is left alone. */
  int (*write_limits)(const char *dir, al_controller ctrl, const airlock_spec *spec, bool *swap_uncapped,
                      airlock_error **err);
  /* Whether the kernel's OOM killer acted inside the memory cgroup dir. */
  bool (*oom_killed)(const char *memory_dir);
} al_cgroup_backend;

extern const al_cgroup_backend al_cgroup_v1_backend;
extern const al_cgroup_backend al_cgroup_v2_backend;

#endif
