/* SPDX-License-Identifier: Apache-2.0 */
/* agent_proto.h - requests from the node to a persistent sandbox's agent.
 * One SOCK_SEQPACKET message per request; an exec carries the command's
 * stdin, stdout and stderr as SCM_RIGHTS file descriptors.  A pty exec
 * carries none: the agent opens a pty in the sandbox's own devpts, the
 * command's stdio and controlling terminal, and sends its master back with
 * AL_MSG_EXEC_STARTED.  Replies are al_status_msg (plan.h) on the same
 * socket. */
#ifndef AIRLOCK_AGENT_PROTO_H
#define AIRLOCK_AGENT_PROTO_H

#include <stdint.h>

#include "plan.h"

enum { AL_AGENT_EXEC = 1, AL_AGENT_SIGNAL = 2, AL_AGENT_EXEC_PTY = 3 };

/* payload of an exec: argc NUL-terminated argv strings, then envc
 * NUL-terminated "K=V" strings (added to the sandbox's base environment),
 * then the NUL-terminated cwd ("" = the sandbox's default) */
typedef struct al_agent_req {
  uint32_t kind;
  uint32_t argc;
  uint32_t envc;
  int32_t signo;
  uint64_t exec_id;
  uint32_t payload_len;
  uint16_t rows, cols; /* AL_AGENT_EXEC_PTY: the terminal's window size (0 = the kernel's default) */
} al_agent_req;

#define AL_AGENT_MAX_PAYLOAD (128 * 1024)
#define AL_AGENT_MAX_EXECS 1024

/* agent_msg.c: shared by every agent */
struct rusage;
/* a status message (plan.h) of kind, with the usage and text when given */
void al_status_fill(al_status_msg *m, int kind, uint64_t exec_id, int value, const struct rusage *ru, const char *text);
/* split count NUL-terminated strings off *p (up to end): a NULL-terminated
 * array of pointers into the payload (free it, not them); NULL when the
 * payload is short */
char **al_agent_take_strings(char **p, char *end, uint32_t count);
/* base (NULL-terminated) with extra's "K=V" entries on top: an array of the
 * same pointers, NULL-terminated (free it, not them) */
char **al_env_merge(char *const *base, char *const *extra, size_t n_extra);

#endif
