/* SPDX-License-Identifier: Apache-2.0 */
/* usermount.c - detached, idmapped trees of user-named sources (see
 * usermount.h).  Made in the launcher because only a process with
 * CAP_SYS_ADMIN over the source's mount may clone it and only the owner of
 * the file system's user namespace (host root) may idmap it; the child
 * moves the finished tree into its root with move_mount. */
#define _GNU_SOURCE
#include "usermount.h"
#include "cleanup.h"
#include "child.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

static int write_map(pid_t pid, const char *file, unsigned from, unsigned to) {
  char path[64], line[64];
  snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
  int n = snprintf(line, sizeof(line), "%u %u 1\n", from, to);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  return fd >= 0 && write(fd, line, (size_t)n) == n ? 0 : -1;
}

int al_idmap_userns(uid_t from_uid, gid_t from_gid, uid_t to_uid, gid_t to_gid, airlock_error **err) {
  /* A child that only holds its new user namespace open while its maps are
   * written and the namespace file opened; raw clone3, so nothing of ours
   * runs in it but read() and _exit(). */
  int hold[2];
  if (pipe2(hold, O_CLOEXEC) < 0)
    return al_err(err, errno, "idmapped mount: pipe");
  struct clone_args args = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
  pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
  if (pid == 0) {
    char b;
    close(hold[1]);
    ssize_t r = read(hold[0], &b, 1);
    _exit(r < 0);
  }
  close(hold[0]);
  if (pid < 0) {
    close(hold[1]);
    return al_err(err, errno, "idmapped mount: user namespace");
  }
  int fd = -1;
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
  if (write_map(pid, "uid_map", from_uid, to_uid) == 0 && write_map(pid, "gid_map", from_gid, to_gid) == 0)
    fd = open(path, O_RDONLY | O_CLOEXEC);
  int e = errno;
  close(hold[1]);
  al_child_wait(pid, NULL, 0);
  if (fd < 0)
    return al_err(err, e, "idmapped mount: mapping %u:%u to %u:%u", (unsigned)from_uid, (unsigned)from_gid,
                  (unsigned)to_uid, (unsigned)to_gid);
  return fd;
}

int al_user_tree(const al_host_path *src, const char *what, bool writable, int userns_fd, bool *idmap_unsupported,
                 airlock_error **err) {
  *idmap_unsupported = false;
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (S_ISDIR(src->st.st_mode) ? AT_RECURSIVE : 0);
  _cleanup_close_ int tree = (int)syscall(SYS_open_tree, src->fd, "", flags);
  if (tree < 0)
    return al_err(err, errno, "%s %s: cloning the mount", what, src->real);
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (writable ? 0 : MOUNT_ATTR_RDONLY)};
  if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
    return al_err(err, errno, "%s %s: setting mount flags", what, src->real);
  if (userns_fd >= 0) {
    struct mount_attr idmap = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd};
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &idmap, sizeof(idmap)) < 0) {
      int e = errno;
      *idmap_unsupported = e == EINVAL || e == EPERM || e == EOPNOTSUPP;
      return al_err(err, e, "%s %s: its file system cannot be idmapped", what, src->real);
    }
  }
  return AL_STEAL_FD(tree);
}
