/* SPDX-License-Identifier: Apache-2.0 */
/* pathpolicy.h - which host paths may be mounted into a sandbox and where. */
#ifndef AIRLOCK_PATHPOLICY_H
#define AIRLOCK_PATHPOLICY_H

#include "airlock/airlock.h"

#include <stdbool.h>
#include <sys/stat.h>

/* A host path named by a user or tenant, opened once: every check and the
 * mount itself use the descriptor, never the name again. */
typedef struct al_host_path {
  int fd;     /* O_PATH | O_CLOEXEC; -1 when closed */
  char *real; /* the kernel's name for the descriptor (/proc/self/fd) */
  struct stat st;
} al_host_path;

/* Open src following no symbolic (or magic) link in any component, or adopt
 * a duplicate of given_fd (>= 0: an O_PATH descriptor the caller opened and
 * checked itself, such as the node below a tenant's root).  *out is closed
 * with al_host_path_close. */
int al_host_path_open(const char *what, const char *src, int given_fd, al_host_path *out, airlock_error **err);
void al_host_path_close(al_host_path *hp);
/* The bind guard, judged on the descriptor: the host root, protected trees,
 * shared roots and homes, container engine sockets, credential locations,
 * sockets and special files; and for a writable mount, a directory owned by
 * root or a system uid (below 1000) or under a system tree, unless
 * allow_system_write.  Messages name what, src and the rule. */
int al_check_mount_source(const char *what, const char *src, const al_host_path *hp, bool writable,
                          bool allow_system_write, airlock_error **err);
/* Open and check a read-only source; *resolved is its malloc'd real path. */
int al_resolve_mount_source(const char *what, const char *src, char **resolved, airlock_error **err);
/* Refuse targets that are not clean absolute paths or that would shadow
 * system paths of the sandbox. */
int al_check_mount_target(const char *what, const char *dst, airlock_error **err);

#endif
