/* SPDX-License-Identifier: Apache-2.0 */
/* isolation.c - airlock_run(): the one place that picks the backend of a
 * sandbox (docs/isolation.md).  Every backend has airlock_run()'s contract:
 * spec in, result and exit code out, nothing left behind. */
#define _GNU_SOURCE
#include "box.h"
#include "error.h"
#include "isolation.h"
#include "gvisor.h"
#include "launch.h"

#include <string.h>

int al_isolation_available(airlock_isolation isolation, airlock_error **err) {
  switch (isolation) {
  case AIRLOCK_ISOLATION_NAMESPACES:
  case AIRLOCK_ISOLATION_GVISOR: return 0;
  case AIRLOCK_ISOLATION_VM: break;
  }
  return al_err(err, 0, "isolation %s: not available in this build", airlock_isolation_name(isolation));
}

int airlock_run(const airlock_spec *spec, airlock_result *r, airlock_error **err) {
  switch (spec->isolation) {
  case AIRLOCK_ISOLATION_NAMESPACES: return al_run_namespaces(spec, r, err);
  case AIRLOCK_ISOLATION_GVISOR: return al_gvisor_run(spec, r, err);
  case AIRLOCK_ISOLATION_VM: break;
  }
  *r = (airlock_result){.isolation = spec->isolation};
  return al_isolation_available(spec->isolation, err);
}

int al_isolation_box_start(al_box *b, const airlock_spec *spec, airlock_error **err) {
  switch (spec->isolation) {
  case AIRLOCK_ISOLATION_NAMESPACES: return al_box_start(b, spec, err);
  case AIRLOCK_ISOLATION_GVISOR: return al_gvisor_box_start(b, spec, err);
  case AIRLOCK_ISOLATION_VM: break;
  }
  memset(b, 0, sizeof(*b));
  return al_isolation_available(spec->isolation, err);
}
