/* SPDX-License-Identifier: Apache-2.0 */
/* secret_files.h - the values behind --secret NAME, fetched by the launcher
 * for /run/secrets (written by rootfs.c). */
#ifndef AIRLOCK_SECRET_FILES_H
#define AIRLOCK_SECRET_FILES_H

#include "plan.h"

/* Read every spec->secrets[i] from the secret store into p->secrets.  A
 * secret that cannot be read fails the launch with its name. */
int al_secret_files_fetch(al_plan *p, const airlock_spec *spec, airlock_error **err);

#endif
