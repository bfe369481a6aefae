/* SPDX-License-Identifier: Apache-2.0 */
/* node_tree.c - copying and emptying directory trees for snapshots, restores
 * and forks (node_snapshot.c).  Both ends may be trees a sandbox can write
 * while the node works on them, so everything goes through descriptors:
 * each directory is opened relative to its parent with O_NOFOLLOW, files are
 * opened O_NOFOLLOW | O_NONBLOCK and judged by fstat on what was opened, and
 * nothing is created but with O_EXCL / mkdirat / symlinkat in a directory the
 * copy opened itself.  A swapped-in symbolic link can make a copy fail,
 * never make it read or write outside the two trees.  Regular files are
 * cloned (FICLONE, copy-on-write) where the file system allows it, else
 * copied in the kernel (copy_file_range).  Modes (without set-id bits on
 * files), owners (when root, with one owner remapped), symbolic links, empty
 * directories, FIFOs and modification times are kept; hard links become
 * separate files; sockets and
 * device nodes are skipped (a sandbox cannot make devices, and a socket is
 * nothing without its process). */
#define _GNU_SOURCE
#include "node.h"
#include "cleanup.h"
#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_DEPTH 512

static uid_t owner_of(const al_tree_copy *c, uid_t u) { return u == c->map_from_uid ? c->map_to_uid : u; }
static gid_t group_of(const al_tree_copy *c, gid_t g) { return g == c->map_from_gid ? c->map_to_gid : g; }

static int copy_attrs(const al_tree_copy *c, int fd, const struct stat *st) {
  if (c->keep_owners && fchown(fd, owner_of(c, st->st_uid), group_of(c, st->st_gid)) < 0)
    return -1;
  /* no set-id file comes out of a copy: meaningless in a sandbox (nosuid),
   * and a copy made as root must not hand one to anyone on the host */
  mode_t mode = st->st_mode & (S_ISREG(st->st_mode) ? 01777 : 07777);
  if (fchmod(fd, mode) < 0)
    return -1;
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  return futimens(fd, ts);
}

static int copy_data(int in, int out, off_t size) {
  if (size == 0 || ioctl(out, FICLONE, in) == 0)
    return 0;
  off_t left = size;
  while (left > 0) {
    ssize_t k = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
    if (k < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
      char buf[65536];
      k = read(in, buf, sizeof(buf));
      if (k > 0 && write(out, buf, (size_t)k) != k)
        return -1;
    }
    if (k < 0)
      return -1;
    if (k == 0)
      break; /* shrank while copied: what was there */
    left -= k;
  }
  return 0;
}

static int copy_dir(al_tree_copy *c, int src, int dst, int depth, airlock_error **err);

enum make_kind { MAKE_DIR, MAKE_FILE, MAKE_LINK, MAKE_FIFO };

static int make_once(enum make_kind k, int dst, const char *name, const char *target) {
  switch (k) {
  case MAKE_DIR: return mkdirat(dst, name, 0700);
  case MAKE_FILE: return openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  case MAKE_LINK: return symlinkat(target, dst, name);
  case MAKE_FIFO: return mkfifoat(dst, name, 0600);
  }
  return -1;
}

/* Make NAME in dst.  A sandbox's scratch is a tmpfs of its user namespace,
 * where the node's uid 0 has no id (EOVERFLOW): there the entry is made
 * with the file system ids of its owner-to-be, which the namespace maps.
 * The node has no threads, so the switch affects nothing else. */
static int make(const al_tree_copy *c, enum make_kind k, int dst, const char *name, const char *target,
                const struct stat *st) {
  int rc = make_once(k, dst, name, target);
  if (rc >= 0 || errno != EOVERFLOW || !c->keep_owners)
    return rc;
  setfsgid(group_of(c, st->st_gid));
  setfsuid(owner_of(c, st->st_uid));
  rc = make_once(k, dst, name, target);
  int saved = errno;
  setfsuid(geteuid());
  setfsgid(getegid());
  errno = saved;
  return rc;
}

static int copy_entry(al_tree_copy *c, int src, int dst, const char *name, int depth, airlock_error **err) {
  struct stat st;
  if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : al_err(err, errno, "%s: stat %s", c->what, name);
  c->files++;
  if (c->max_files && c->files > c->max_files)
    return al_err(err, EFBIG, "%s: more than %lld files", c->what, (long long)c->max_files);
  if (S_ISDIR(st.st_mode)) {
    if (depth >= MAX_DEPTH)
      return al_err(err, ELOOP, "%s: deeper than %d directories", c->what, MAX_DEPTH);
    _cleanup_close_ int sub = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0)
      return al_err(err, errno, "%s: open directory %s", c->what, name);
    if (make(c, MAKE_DIR, dst, name, NULL, &st) < 0)
      return al_err(err, errno, "%s: mkdir %s", c->what, name);
    _cleanup_close_ int out = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (out < 0)
      return al_err(err, errno, "%s: open new directory %s", c->what, name);
    if (copy_dir(c, sub, out, depth + 1, err) < 0)
      return -1;
    /* the mode last: a read-only directory is filled first */
    if (copy_attrs(c, out, &st) < 0)
      return al_err(err, errno, "%s: attributes of %s", c->what, name);
    return 0;
  }
  if (S_ISREG(st.st_mode)) {
    c->bytes += st.st_size;
    if (c->max_bytes && c->bytes > c->max_bytes)
      return al_err(err, EFBIG, "%s: more than %lld bytes", c->what, (long long)c->max_bytes);
    _cleanup_close_ int in = openat(src, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat ist;
    if (in < 0 || fstat(in, &ist) < 0)
      return al_err(err, errno, "%s: open %s", c->what, name);
    if (!S_ISREG(ist.st_mode))
      return al_err(err, 0, "%s: %s changed while it was copied", c->what, name);
    _cleanup_close_ int out = make(c, MAKE_FILE, dst, name, NULL, &ist);
    if (out < 0)
      return al_err(err, errno, "%s: create %s", c->what, name);
    if (copy_data(in, out, ist.st_size) < 0)
      return al_err(err, errno, "%s: copy %s", c->what, name);
    if (copy_attrs(c, out, &ist) < 0)
      return al_err(err, errno, "%s: attributes of %s", c->what, name);
    return 0;
  }
  if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t k = readlinkat(src, name, target, sizeof(target) - 1);
    if (k < 0)
      return errno == ENOENT ? 0 : al_err(err, errno, "%s: readlink %s", c->what, name);
    target[k] = '\0';
    if (make(c, MAKE_LINK, dst, name, target, &st) < 0)
      return al_err(err, errno, "%s: symlink %s", c->what, name);
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    if ((c->keep_owners &&
         fchownat(dst, name, owner_of(c, st.st_uid), group_of(c, st.st_gid), AT_SYMLINK_NOFOLLOW) < 0) ||
        utimensat(dst, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
      return al_err(err, errno, "%s: attributes of symlink %s", c->what, name);
    return 0;
  }
  if (S_ISFIFO(st.st_mode)) {
    if (make(c, MAKE_FIFO, dst, name, NULL, &st) < 0)
      return al_err(err, errno, "%s: mkfifo %s", c->what, name);
    /* opened O_PATH: a FIFO is never opened for reading or writing */
    _cleanup_close_ int out = openat(dst, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (out < 0 || (c->keep_owners && fchownat(out, "", owner_of(c, st.st_uid), group_of(c, st.st_gid),
                                               AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) ||
        fchmodat(dst, name, st.st_mode & 07777, 0) < 0)
      return al_err(err, errno, "%s: attributes of FIFO %s", c->what, name);
    return 0;
  }
  c->files--; /* sockets, devices: skipped */
  c->skipped++;
  return 0;
}

static int copy_dir(al_tree_copy *c, int src, int dst, int depth, airlock_error **err) {
  int dup_fd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup_fd < 0)
    return al_err(err, errno, "%s: open directory", c->what);
  _cleanup_closedir_ DIR *d = fdopendir(dup_fd);
  if (!d) {
    close(dup_fd);
    return al_err(err, errno, "%s: read directory", c->what);
  }
  struct dirent *de;
  errno = 0;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    if (copy_entry(c, src, dst, de->d_name, depth, err) < 0)
      return -1;
    errno = 0;
  }
  if (errno)
    return al_err(err, errno, "%s: read directory", c->what);
  return 0;
}

int al_tree_copy_into(al_tree_copy *c, int src_dir, int dst_dir, airlock_error **err) {
  /* the descriptors may be O_PATH: reopen them for reading and as directories */
  _cleanup_close_ int src = openat(src_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_close_ int dst = openat(dst_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (src < 0 || dst < 0)
    return al_err(err, errno, "%s: open directory", c->what);
  return copy_dir(c, src, dst, 0, err);
}

int al_tree_empty(int dir_fd, const char *what, const char *keep, airlock_error **err) {
  _cleanup_close_ int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return al_err(err, errno, "%s: open directory", what);
  for (;;) {
    /* a fresh listing each round: removing while reading one is unspecified */
    int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup_fd < 0)
      return al_err(err, errno, "%s: open directory", what);
    _cleanup_closedir_ DIR *d = fdopendir(dup_fd);
    if (!d) {
      close(dup_fd);
      return al_err(err, errno, "%s: read directory", what);
    }
    int removed = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || (keep && strcmp(de->d_name, keep) == 0))
        continue;
      if (al_fs_remove_tree(fd, what, de->d_name, err) < 0)
        return -1;
      removed++;
    }
    if (removed == 0)
      return 0;
  }
}

int al_tree_open_dir(int dir_fd, const char *name, bool make, airlock_error **err) {
  if (make && mkdirat(dir_fd, name, 0700) < 0 && errno != EEXIST)
    return al_err(err, errno, "mkdir %s", name);
  /* "home/sandbox" in a sandbox's root: no link in any component */
  struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                         .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  int fd = (int)syscall(SYS_openat2, dir_fd, name, &how, sizeof(how));
  if (fd < 0)
    return al_err(err, errno, "open %s", name);
  return fd;
}

int al_tree_stage(al_tree_copy *c, int src_dir, int dst_dir, const char *stage, airlock_error **err) {
  _cleanup_close_ int dst = openat(dst_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (dst < 0 || fstat(dst, &st) < 0)
    return al_err(err, errno, "%s: open directory", c->what);
  /* made as the directory's owner would make it (a sandbox's tmpfs) */
  al_tree_copy as_owner = *c;
  as_owner.map_from_uid = (uid_t)-1, as_owner.map_from_gid = (gid_t)-1;
  if (make(&as_owner, MAKE_DIR, dst, stage, NULL, &st) < 0)
    return al_err(err, errno, "%s: mkdir %s", c->what, stage);
  _cleanup_close_ int out = openat(dst, stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (out < 0)
    return al_err(err, errno, "%s: open %s", c->what, stage);
  if (src_dir < 0)
    return 0;
  _cleanup_close_ int src = openat(src_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (src < 0)
    return al_err(err, errno, "%s: open directory", c->what);
  return copy_dir(c, src, out, 0, err);
}

int al_tree_commit(int dst_dir, const char *stage, const char *what, airlock_error **err) {
  if (al_tree_empty(dst_dir, what, stage, err) < 0)
    return -1;
  _cleanup_close_ int from = openat(dst_dir, stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int dup_fd = from < 0 ? -1 : openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup_fd < 0)
    return al_err(err, errno, "%s: open %s", what, stage);
  _cleanup_closedir_ DIR *d = fdopendir(dup_fd);
  if (!d) {
    close(dup_fd);
    return al_err(err, errno, "%s: read %s", what, stage);
  }
  struct stat st;
  if (fstat(dst_dir, &st) < 0)
    return al_err(err, errno, "%s: stat", what);
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    int rc = renameat(from, de->d_name, dst_dir, de->d_name);
    if (rc < 0 && errno == EOVERFLOW && geteuid() == 0) {
      /* a sandbox's tmpfs, where uid 0 has no id: as its owner (see make) */
      setfsgid(st.st_gid);
      setfsuid(st.st_uid);
      rc = renameat(from, de->d_name, dst_dir, de->d_name);
      int saved = errno;
      setfsuid(geteuid());
      setfsgid(getegid());
      errno = saved;
    }
    if (rc < 0)
      return al_err(err, errno, "%s: move %s into place", what, de->d_name);
  }
  if (unlinkat(dst_dir, stage, AT_REMOVEDIR) < 0)
    return al_err(err, errno, "%s: remove %s", what, stage);
  return 0;
}

void al_tree_unstage(int dst_dir, const char *stage) {
  _cleanup_error_ airlock_error *err = NULL;
  if (al_fs_remove_tree(dst_dir, "restore", stage, &err) < 0)
    fprintf(stderr, "airlock node: %s\n", err->msg);
}
