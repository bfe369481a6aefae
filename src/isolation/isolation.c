/* SPDX-License-Identifier: Apache-2.0 */
/* isolation.c - airlock_run(): the one place that picks the backend of a
 * sandbox (docs/isolation.md): namespaces (src/sandbox), gVisor (src/gvisor)
 * or a microVM (src/vm).  Every backend has airlock_run()'s contract:
 * spec in, result and exit code out, nothing left behind. */
#define _GNU_SOURCE
#include "box.h"
#include "cgroup.h"
#include "error.h"
#include "isolation.h"
#include "gvisor.h"
#include "launch.h"
#include "vm.h"

#include <string.h>

int al_isolation_available(airlock_isolation isolation, bool allow_degraded, airlock_error **err) {
  switch (isolation) {
  case AIRLOCK_ISOLATION_NAMESPACES:
  case AIRLOCK_ISOLATION_GVISOR: return 0;
  case AIRLOCK_ISOLATION_VM: {
    al_vm_probe_info probe;
    if (al_vm_probe(&probe, err) < 0)
      return al_err_prefix(err, "isolation vm");
    if (strcmp(probe.accel, "tcg") == 0 && !allow_degraded)
      return al_err(err, 0,
                    "isolation vm: this host cannot run VMs fast (%s): only software emulation (TCG) is left, "
                    "which needs allow_degraded",
                    probe.why_not_kvm);
    return 0;
  }
  }
  return al_err(err, 0, "isolation %d: unknown", (int)isolation);
}

int airlock_run(const airlock_spec *spec, airlock_result *r, airlock_error **err) {
  int rc;
  switch (spec->isolation) {
  case AIRLOCK_ISOLATION_NAMESPACES: rc = al_run_namespaces(spec, r, err); break;
  case AIRLOCK_ISOLATION_GVISOR: rc = al_gvisor_run(spec, r, err); break;
  case AIRLOCK_ISOLATION_VM: rc = al_vm_airlock_run(spec, r, NULL, err); break;
  default:
    *r = (airlock_result){.isolation = spec->isolation};
    return al_err(err, 0, "isolation %d: unknown", (int)spec->isolation);
  }
  r->cgroup_placement = al_cgroup_placement();
  return rc;
}

/* What killed launchers left: empty cgroups of every backend, gVisor's
 * bundles (with their secret files) */
int airlock_gc(unsigned *removed, airlock_error **err) {
  (void)err;
  unsigned n = al_cgroup_gc() + al_gvisor_gc() + al_vm_gc(NULL);
  if (removed)
    *removed = n;
  return 0;
}

int al_isolation_box_start(al_box *b, const airlock_spec *spec, airlock_error **err) {
  switch (spec->isolation) {
  case AIRLOCK_ISOLATION_NAMESPACES: return al_box_start(b, spec, err);
  case AIRLOCK_ISOLATION_GVISOR: return al_gvisor_box_start(b, spec, err);
  case AIRLOCK_ISOLATION_VM: return al_vm_box_start(b, spec, err);
  }
  memset(b, 0, sizeof(*b));
  return al_err(err, 0, "isolation %d: unknown", (int)spec->isolation);
}
