/* pathpolicy.h - which host paths may be mounted into a sandbox and where. */
#ifndef AIRLOCK_PATHPOLICY_H
#define AIRLOCK_PATHPOLICY_H

#include "airlock/airlock.h"

/* Resolve src (symlinks included) and refuse dangerous host sources.
 * On success *resolved is a malloc'd canonical absolute path. */
int al_resolve_mount_source(const char *what, const char *src, char **resolved,
                            airlock_error **err);
/* Refuse targets that are not clean absolute paths or that would shadow
 * system paths of the sandbox. */
int al_check_mount_target(const char *what, const char *dst, airlock_error **err);

#endif
