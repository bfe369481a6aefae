/* SPDX-License-Identifier: Apache-2.0 */
/* box.h - a persistent sandbox whose init is an exec agent (agent.c): the
 * node's unit of isolation.  Everything here is non-blocking except
 * al_box_free, which reaps a sandbox that is already dead or killed. */
#ifndef AIRLOCK_BOX_H
#define AIRLOCK_BOX_H

#include "launch.h"

typedef struct al_box {
  al_launch launch;
  airlock_result info; /* limits and mechanisms applied, degraded notes */
} al_box;

int al_box_start(al_box *b, const airlock_spec *spec, airlock_error **err);
/* the socket to watch for al_status_msg, and the pidfd (readable at death) */
int al_box_sock(const al_box *b);
int al_box_pidfd(const al_box *b);
/* Ask the agent to run argv (with env entries "K=V" on top of the sandbox's
 * base environment, in cwd or the default when NULL) with fds as stdin,
 * stdout, stderr; or, with fds NULL, on a new pty of rows x cols (0 x 0:
 * the kernel's default), whose master comes with AL_MSG_EXEC_STARTED (take
 * it with al_box_take_fd).  The reply comes as AL_MSG_EXEC_STARTED or
 * _ERROR, then AL_MSG_EXEC_EXIT, all tagged with exec_id. */
int al_box_exec(al_box *b, uint64_t exec_id, char *const *argv, char *const *env, const char *cwd, const int fds[3],
                unsigned rows, unsigned cols, airlock_error **err);
/* the descriptor that came with the message al_box_read just returned, or -1 */
int al_box_take_fd(al_box *b);
int al_box_signal(al_box *b, uint64_t exec_id, int signo);
int al_box_read(al_box *b, al_status_msg *m);
/* OOM kills seen by the sandbox's memory cgroup so far (0 without one) */
long long al_box_oom_kills(const al_box *b);
void al_box_kill(al_box *b);
void al_box_free(al_box *b);

#endif
