/* SPDX-License-Identifier: Apache-2.0 */
/* child.h - ending the child processes airlock starts (the sandbox's
 * launcher child, helpers, the node's recorder): waiting through EINTR,
 * killing and reaping, a deadline, and a cleanup helper so that an early
 * return cannot leave one running or unreaped. */
#ifndef AIRLOCK_CHILD_H
#define AIRLOCK_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* waitpid(pid, status, flags), retried on EINTR. */
pid_t al_child_wait(pid_t pid, int *status, int flags);
/* SIGKILL and reap pid (a child of ours); status may be NULL. */
void al_child_kill(pid_t pid, int *status);
/* Wait up to timeout_ms for pid to exit (through a pidfd where the kernel
 * has them), then SIGKILL it and reap it; *killed says which happened.
 * Returns the wait status (0 when pid was not our child any more). */
int al_child_wait_or_kill(pid_t pid, int timeout_ms, bool *killed);

static inline void al_child_cleanup(pid_t *pid) {
  if (*pid > 0)
    al_child_kill(*pid, NULL);
  *pid = -1;
}
/* a pid_t that is killed and reaped when it goes out of scope while > 0 */
#define _cleanup_child_ __attribute__((cleanup(al_child_cleanup)))

#endif
