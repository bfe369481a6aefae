/* SPDX-License-Identifier: Apache-2.0 */
/* landlock.c - Landlock as a second wall behind read-only mounts: even if a
 * mount were writable by mistake, or a path were reachable by a way the mount
 * table does not show, writes outside the sandbox's writable mounts fail.
 * Debian 12's headers stop at ABI 3, so newer bits are defined here. */
#define _GNU_SOURCE
#include "landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

/* ruleset_attr grew over time; this is the ABI 6 layout */
struct al_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

#define WRITE_ACCESS_V1                                                                                                \
  (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |                    \
   LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |                          \
   LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |                       \
   LANDLOCK_ACCESS_FS_MAKE_SYM)

int al_landlock_abi(void) {
  long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return v < 0 ? 0 : (int)v;
}

int al_landlock_restrict(const char *const *writable_paths, int abi) {
  return al_landlock_restrict_scoped(writable_paths, abi, true);
}

int al_landlock_restrict_scoped(const char *const *writable_paths, int abi, bool scoped) {
  if (abi <= 0)
    return -ENOSYS;
  uint64_t handled = WRITE_ACCESS_V1;
  if (abi >= 2)
    handled |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3)
    handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
  struct al_ruleset_attr attr = {.handled_access_fs = handled};
  size_t attr_size = sizeof(uint64_t);
  if (abi >= 6 && scoped) {
    attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
    attr_size = sizeof(attr);
  }
  int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
  if (ruleset < 0)
    return -errno;
  int rc = 0;
  for (const char *const *p = writable_paths; *p; p++) {
    int fd = open(*p, O_PATH | O_CLOEXEC);
    if (fd < 0)
      continue; /* an optional path (e.g. /dev/pts) may be absent */
    struct landlock_path_beneath_attr rule = {.allowed_access = handled, .parent_fd = fd};
    /* rights that only make sense on directories must not be asked for files */
    if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0) {
      rule.allowed_access = LANDLOCK_ACCESS_FS_WRITE_FILE | (abi >= 3 ? LANDLOCK_ACCESS_FS_TRUNCATE : 0);
      if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0)
        rc = -errno;
    }
    close(fd);
    if (rc < 0)
      break;
  }
  if (rc == 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
    rc = -errno;
  close(ruleset);
  return rc;
}

int al_landlock_no_fs(int abi) {
  if (abi <= 0)
    return -ENOSYS;
  uint64_t handled =
      WRITE_ACCESS_V1 | LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
  if (abi >= 2)
    handled |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3)
    handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
  struct al_ruleset_attr attr = {.handled_access_fs = handled};
  int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(uint64_t), 0);
  if (ruleset < 0)
    return -errno;
  int rc = syscall(SYS_landlock_restrict_self, ruleset, 0) < 0 ? -errno : 0;
  close(ruleset);
  return rc;
}
