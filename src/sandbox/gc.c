/* SPDX-License-Identifier: Apache-2.0 */
/* gc.c - cleaning up after launchers that were killed (SIGKILL gives no
 * chance to tidy).  Mounts and processes die with their namespaces; what can
 * remain are empty cgroup directories, which are removed here. */
#define _GNU_SOURCE
#include "cgroup.h"
#include "error.h"

int airlock_gc(unsigned *removed, airlock_error **err) {
  (void)err;
  unsigned n = al_cgroup_gc();
  if (removed)
    *removed = n;
  return 0;
}
