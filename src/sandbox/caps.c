/* SPDX-License-Identifier: Apache-2.0 */
/* caps.c - capabilities are per user namespace, and the sandbox's init holds
 * all of them in its own namespace while it builds the root.  They are all
 * dropped here, after the last mount and before seccomp, with securebits
 * locked so that even uid 0 inside (--uid 0) regains nothing through execve.
 * Raw syscalls rather than libcap: this runs in the freshly cloned child. */
#define _GNU_SOURCE
#include "caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int last_cap(void) {
  for (int c = 40; c < 64; c++)
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) < 0)
      return c - 1;
  return 63;
}

int al_drop_privileges(void) {
  if (prctl(PR_SET_SECUREBITS,
            SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
                SECBIT_KEEP_CAPS_LOCKED,
            0, 0, 0) < 0)
    return -errno;
  int last = last_cap();
  for (int c = 0; c <= last; c++)
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      return -errno;
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return -errno;
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2] = {{0, 0, 0}, {0, 0, 0}};
  if (syscall(SYS_capset, &hdr, data) < 0)
    return -errno;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return -errno;
  return 0;
}
