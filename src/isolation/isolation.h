/* SPDX-License-Identifier: Apache-2.0 */
/* isolation.h - the backend of a sandbox, picked by spec->isolation
 * (docs/isolation.md).  airlock_run() (airlock.h) for one-shot commands;
 * al_isolation_box_start() for the node's persistent sandboxes, whose box
 * (box.h) then works the same whatever the backend. */
#ifndef AIRLOCK_ISOLATION_H
#define AIRLOCK_ISOLATION_H

#include "box.h"

/* 0 when this host can run the backend as asked, else -1 with why (the
 * node answers 403 with it, before starting anything): vm needs QEMU and a
 * guest kernel, and emulation (no VMX/SVM) only with allow_degraded */
int al_isolation_available(airlock_isolation isolation, bool allow_degraded, airlock_error **err);
int al_isolation_box_start(al_box *b, const airlock_spec *spec, airlock_error **err);

#endif
