/* fdpass.h - sending descriptors over a unix socket (SCM_RIGHTS): the
 * launcher's cgroup files to the sandbox, the sandbox's egress sockets to
 * the launcher, and those on to the egress proxy. */
#ifndef AIRLOCK_FDPASS_H
#define AIRLOCK_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

#define AL_FDPASS_MAX 8

/* Send len bytes of data with n descriptors (n <= AL_FDPASS_MAX; 0 sends
 * none), retrying on EINTR.  Returns what sendmsg returned (errno set when
 * -1).  Allocates nothing, so a freshly cloned child may call it. */
ssize_t al_send_fds(int sock, const void *data, size_t len, const int *fds, size_t n);

#endif
