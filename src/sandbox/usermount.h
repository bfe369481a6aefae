/* SPDX-License-Identifier: Apache-2.0 */
/* usermount.h - the launcher's half of mounting what a user or tenant named
 * (workspace, output, binds, sockets) when airlock runs as root: a detached
 * clone of the opened source with its flags set and, where the sandbox must
 * own files, an idmapping from the source's owner on disk to the sandbox's
 * own host uid.  The child only attaches the finished tree. */
#ifndef AIRLOCK_USERMOUNT_H
#define AIRLOCK_USERMOUNT_H

#include <stdbool.h>
#include <sys/types.h>

#include "airlock/airlock.h"
#include "pathpolicy.h"

/* A user namespace mapping exactly one uid and one gid, from (the ids on
 * disk) to (the kernel ids the sandbox runs as): what an idmapped mount
 * needs.  Returns its descriptor (O_CLOEXEC). */
int al_idmap_userns(uid_t from_uid, gid_t from_gid, uid_t to_uid, gid_t to_gid, airlock_error **err);

/* A detached, recursive clone of src (open_tree), nosuid, nodev, read-only
 * unless writable, and idmapped through userns_fd when >= 0.  Returns the
 * tree's descriptor; on failure -1 with *idmap_unsupported set when only the
 * idmapping was refused (a file system without idmap support). */
int al_user_tree(const al_host_path *src, const char *what, bool writable, int userns_fd, bool *idmap_unsupported,
                 airlock_error **err);

#endif
