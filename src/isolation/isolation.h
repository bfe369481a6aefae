/* SPDX-License-Identifier: Apache-2.0 */
/* isolation.h - the backend of a sandbox, picked by spec->isolation
 * (docs/isolation.md).  airlock_run() (airlock.h) for one-shot commands;
 * al_isolation_box_start() for the node's persistent sandboxes, whose box
 * (box.h) then works the same whatever the backend. */
#ifndef AIRLOCK_ISOLATION_H
#define AIRLOCK_ISOLATION_H

#include "box.h"

/* 0 when this build has the backend, else -1 with "isolation vm: not
 * available in this build" (the node answers 403 with it, before starting) */
int al_isolation_available(airlock_isolation isolation, airlock_error **err);
int al_isolation_box_start(al_box *b, const airlock_spec *spec, airlock_error **err);

#endif
