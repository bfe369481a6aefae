/* SPDX-License-Identifier: Apache-2.0 */
/* fdpass.h - descriptors over a unix socket (SCM_RIGHTS), both ways: the
 * launcher's cgroup files to the sandbox, the sandbox's egress sockets to
 * the launcher and on to the egress proxy, stdio to a persistent sandbox's
 * agent. */
#ifndef AIRLOCK_FDPASS_H
#define AIRLOCK_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

#define AL_FDPASS_MAX 8

/* Send len bytes of data with n descriptors (n <= AL_FDPASS_MAX; 0 sends
 * none), retrying on EINTR.  Returns what sendmsg returned (errno set when
 * -1).  Allocates nothing, so a freshly cloned child may call it. */
ssize_t al_send_fds(int sock, const void *data, size_t len, const int *fds, size_t n);

/* Receive up to len bytes and up to max_fds descriptors (close-on-exec;
 * max_fds <= AL_FDPASS_MAX), retrying on EINTR; recv_flags are added to
 * recvmsg's (MSG_DONTWAIT).  *n_fds is how many arrived, in fds[]; any
 * beyond max_fds are closed, never leaked.  msg_flags (may be NULL) gets the
 * message's flags (MSG_TRUNC, MSG_CTRUNC).  Returns recvmsg's result (0 at
 * end of file, -1 with errno; *n_fds is 0 then).  Allocates nothing. */
ssize_t al_recv_fds(int sock, void *data, size_t len, int *fds, size_t max_fds, size_t *n_fds, int recv_flags,
                    int *msg_flags);

#endif
