/* SPDX-License-Identifier: Apache-2.0 */
/* landlock.h - write confinement below the mount table. */
#ifndef AIRLOCK_LANDLOCK_H
#define AIRLOCK_LANDLOCK_H

#include <stdbool.h>

/* Kernel Landlock ABI version, 0 when unavailable. */
int al_landlock_abi(void);
/* Restrict the calling process (and its future children) so that it can
 * write only beneath writable_paths (NULL-terminated, already inside the new
 * root).  Also scopes signals and abstract unix sockets to the sandbox where
 * the ABI has it.  Returns 0, or -errno; callable after fork (no malloc). */
int al_landlock_restrict(const char *const *writable_paths, int abi);
/* The same; scoped false leaves signals and abstract unix sockets unscoped
 * (an OCI container's exec'd processes are in a domain of their own and
 * must still be able to signal the container's other processes). */
int al_landlock_restrict_scoped(const char *const *writable_paths, int abi, bool scoped);

/* Forbid the calling process every file system access Landlock can
 * handle (reading, writing, executing, listing): for a process, such as the
 * egress proxy, that has opened all it needs.  0, or -errno. */
int al_landlock_no_fs(int abi);

#endif
