/* SPDX-License-Identifier: Apache-2.0 */
/* oci_rootfs.c - the container's root, assembled by its first process in
 * its new mount namespace while it still holds the host's root privileges
 * (no user namespace yet: so it can create mount points in a root-owned
 * rootfs and mount sysfs, mqueue and device nodes), before it gives them up
 * for good (oci_create.c).  Every destination is resolved inside the
 * rootfs with openat2(RESOLVE_IN_ROOT), one component at a time, and
 * mounted on through its descriptor: a symlink in the rootfs cannot send a
 * mount onto the host (the runc CVE-2024-21626 class). */
#define _GNU_SOURCE
#include "oci_priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int al_oci_build_rootfs(const al_oci_config *c, const char *rootfs, const char *bundle, uid_t uid, gid_t gid,
                        int *pty_master, int *pty_slave, char *errbuf, size_t errlen);

#define FAIL(...)                                                                                                      \
  do {                                                                                                                 \
    int e_ = errno;                                                                                                    \
    fail(errbuf, errlen, e_, __VA_ARGS__);                                                                             \
    return -1;                                                                                                         \
  } while (0)

__attribute__((format(printf, 4, 5))) static void fail(char *buf, size_t len, int errnum, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, len, fmt, ap);
  va_end(ap);
  if (n >= 0 && (size_t)n < len && errnum)
    snprintf(buf + n, len - (size_t)n, ": %s", strerror(errnum));
}

static int in_root(int rootfd, const char *path, int flags) {
  struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  while (*path == '/')
    path++;
  if (*path == '\0')
    path = ".";
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/* O_PATH descriptor of path inside the root, made when missing: every
 * missing directory, and the last component as a directory or an empty
 * file.  The last component is created in its parent as a plain name. */
static int make_in_root(int rootfd, const char *path, bool dir) {
  int fd = in_root(rootfd, path, O_PATH);
  if (fd >= 0 || errno != ENOENT)
    return fd;
  char buf[4096];
  snprintf(buf, sizeof(buf), "%s", path);
  size_t len = strlen(buf);
  while (len > 1 && buf[len - 1] == '/')
    buf[--len] = '\0';
  char *slash = strrchr(buf, '/');
  const char *name = slash ? slash + 1 : buf;
  int parent;
  if (slash && slash != buf) {
    *slash = '\0';
    parent = make_in_root(rootfd, buf, true);
  } else {
    parent = in_root(rootfd, "/", O_PATH);
  }
  if (parent < 0)
    return -1;
  int pdir = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  close(parent);
  if (pdir < 0)
    return -1;
  int rc;
  if (dir) {
    rc = mkdirat(pdir, name, 0755);
  } else {
    int f = openat(pdir, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
    rc = f < 0 ? -1 : close(f);
  }
  int e = errno;
  close(pdir);
  if (rc < 0 && e != EEXIST) {
    errno = e;
    return -1;
  }
  return in_root(rootfd, path, O_PATH);
}

static unsigned long long attrs_of(unsigned long flags) {
  unsigned long long a = 0;
  if (flags & MS_RDONLY)
    a |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID)
    a |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV)
    a |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC)
    a |= MOUNT_ATTR_NOEXEC;
  if (flags & MS_NODIRATIME)
    a |= MOUNT_ATTR_NODIRATIME;
  return a;
}

/* a clone of the tree at src (a path or, with path "", a descriptor) with
 * the mount attributes of flags, moved onto target */
static int bind_onto(int srcfd, const char *src, bool recursive, unsigned long flags, unsigned long clear, int target) {
  int tree = (int)syscall(SYS_open_tree, srcfd, src,
                          OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0) |
                              (src[0] == '\0' ? AT_EMPTY_PATH : 0));
  if (tree < 0)
    return -1;
  struct mount_attr a = {.attr_set = attrs_of(flags), .attr_clr = attrs_of(clear)};
  int rc = 0;
  if (a.attr_set || a.attr_clr)
    rc = (int)syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof(a));
  if (rc == 0)
    rc = (int)syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  int e = errno;
  close(tree);
  errno = e;
  return rc;
}

static int mount_on_fd(const char *source, int target, const char *type, unsigned long flags, const char *data) {
  char p[64];
  snprintf(p, sizeof(p), "/proc/self/fd/%d", target);
  return mount(source, p, type, flags, data);
}

static const char *const default_devices[] = {"null", "zero", "full", "random", "urandom", "tty"};

static int make_devices(int rootfd, const al_oci_config *c, char *errbuf, size_t errlen) {
  for (size_t i = 0; i < sizeof(default_devices) / sizeof(default_devices[0]); i++) {
    char host[32], rel[32];
    snprintf(host, sizeof(host), "/dev/%s", default_devices[i]);
    snprintf(rel, sizeof(rel), "dev/%s", default_devices[i]);
    struct stat st;
    if (stat(host, &st) < 0)
      continue;
    bool listed = false;
    for (size_t k = 0; k < c->n_devices; k++)
      listed = listed || strcmp(c->devices[k].path, host) == 0;
    if (listed)
      continue;
    int t = make_in_root(rootfd, rel, false);
    if (t < 0)
      FAIL("/%s", rel);
    int rc = bind_onto(AT_FDCWD, host, false, 0, 0, t);
    close(t);
    if (rc < 0)
      FAIL("bind %s", host);
  }
  for (size_t k = 0; k < c->n_devices; k++) {
    const al_oci_device *d = &c->devices[k];
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", d->path);
    char *slash = strrchr(dir, '/');
    *slash = '\0';
    int p = make_in_root(rootfd, dir, true);
    int pd = p < 0 ? -1 : openat(p, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p >= 0)
      close(p);
    if (pd < 0)
      FAIL("linux.devices[%zu]: %s", k, dir);
    mode_t mode = (d->mode ? d->mode & 07777 : 0666) | (d->type == 'b' ? S_IFBLK : S_IFCHR);
    unlinkat(pd, slash + 1, 0);
    int rc = mknodat(pd, slash + 1, mode, makedev(d->major, d->minor));
    if (rc == 0)
      fchmodat(pd, slash + 1, mode & 07777, 0);
    int e = errno;
    close(pd);
    if (rc < 0) {
      errno = e;
      FAIL("linux.devices[%zu]: mknod %s", k, d->path);
    }
  }
  static const char *const links[][2] = {{"/proc/self/fd", "dev/fd"},
                                         {"/proc/self/fd/0", "dev/stdin"},
                                         {"/proc/self/fd/1", "dev/stdout"},
                                         {"/proc/self/fd/2", "dev/stderr"},
                                         {"/proc/kcore", "dev/core"}};
  int dev = in_root(rootfd, "dev", O_RDONLY | O_DIRECTORY);
  if (dev < 0)
    FAIL("/dev");
  for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
    symlinkat(links[i][0], dev, links[i][1] + 4);
  struct stat st;
  if (fstatat(dev, "pts/ptmx", &st, AT_SYMLINK_NOFOLLOW) == 0 && fstatat(dev, "ptmx", &st, AT_SYMLINK_NOFOLLOW) < 0)
    symlinkat("pts/ptmx", dev, "ptmx");
  close(dev);
  return 0;
}

/* tmpcopyup: what the tmpfs covers, copied into it (modes and owners kept) */
static int copy_tree(int from, int to, int depth) {
  if (depth > 64)
    return -1;
  int dup = fcntl(from, F_DUPFD_CLOEXEC, 3);
  DIR *d = dup < 0 ? NULL : fdopendir(dup);
  if (!d) {
    if (dup >= 0)
      close(dup);
    return -1;
  }
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    struct stat st;
    if (fstatat(from, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    if (S_ISDIR(st.st_mode)) {
      int a = openat(from, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int b = mkdirat(to, e->d_name, st.st_mode & 07777) < 0 && errno != EEXIST
                  ? -1
                  : openat(to, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      rc = a < 0 || b < 0 ? -1 : copy_tree(a, b, depth + 1);
      if (b >= 0) {
        fchown(b, st.st_uid, st.st_gid);
        fchmod(b, st.st_mode & 07777);
        close(b);
      }
      if (a >= 0)
        close(a);
    } else if (S_ISREG(st.st_mode)) {
      int a = openat(from, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      int b = openat(to, e->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777);
      char buf[65536];
      ssize_t n = 0;
      while (a >= 0 && b >= 0 && (n = read(a, buf, sizeof(buf))) > 0)
        if (write(b, buf, (size_t)n) != n) {
          n = -1;
          break;
        }
      if (a < 0 || b < 0 || n < 0)
        rc = -1;
      if (b >= 0) {
        fchown(b, st.st_uid, st.st_gid);
        fchmod(b, st.st_mode & 07777);
        close(b);
      }
      if (a >= 0)
        close(a);
    } else if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = readlinkat(from, e->d_name, target, sizeof(target) - 1);
      if (n >= 0) {
        target[n] = '\0';
        symlinkat(target, to, e->d_name);
        fchownat(to, e->d_name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
      }
    }
  }
  closedir(d);
  return rc;
}

static uid_t owner_uid;
static gid_t owner_gid;

static int do_mount(int rootfd, const al_oci_mount *m, const char *bundle, size_t i, char *errbuf, size_t errlen) {
  if (m->bind) {
    char src[4096];
    if (m->source[0] == '/')
      snprintf(src, sizeof(src), "%s", m->source);
    else
      snprintf(src, sizeof(src), "%s/%s", bundle, m->source);
    struct stat st;
    if (stat(src, &st) < 0)
      FAIL("mounts[%zu]: source %s", i, src);
    int t = make_in_root(rootfd, m->dest, S_ISDIR(st.st_mode));
    if (t < 0)
      FAIL("mounts[%zu]: destination %s", i, m->dest);
    int rc = bind_onto(AT_FDCWD, src, m->recursive || S_ISDIR(st.st_mode), m->flags, m->clear, t);
    close(t);
    if (rc < 0)
      FAIL("mounts[%zu]: bind %s on %s", i, src, m->dest);
    return 0;
  }
  const char *type = m->type;
  const char *data = m->data;
  unsigned long flags = m->flags & ~(unsigned long)MS_NODIRATIME;
  if (strcmp(type, "cgroup") == 0 || strcmp(type, "cgroup2") == 0) {
    /* the host's hierarchies (v1 or hybrid) cannot be shown to a container
     * without showing the host's: an empty read-only directory instead */
    type = "tmpfs";
    data = "mode=0555,size=4k";
    flags |= MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  }
  int t = make_in_root(rootfd, m->dest, true);
  if (t < 0)
    FAIL("mounts[%zu]: destination %s", i, m->dest);
  int under = m->copyup ? openat(t, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  /* a tmpfs is the container's: its root belongs to the container's user
   * (host root mounts it, and container root is not host root) */
  char owned[1024];
  if (strcmp(m->type, "tmpfs") == 0 && strcmp(type, "tmpfs") == 0 &&
      !(data && (strstr(data, "uid=") || strstr(data, "gid=")))) {
    snprintf(owned, sizeof(owned), "%s%suid=%u,gid=%u", data ? data : "", data ? "," : "", (unsigned)owner_uid,
             (unsigned)owner_gid);
    data = owned;
  }
  int rc = mount_on_fd(m->source && *m->source ? m->source : type, t, type,
                       m->copyup ? flags & ~(unsigned long)MS_RDONLY : flags, data);
  if (rc == 0 && under >= 0) {
    int top = in_root(rootfd, m->dest, O_RDONLY | O_DIRECTORY);
    if (top < 0 || copy_tree(under, top, 0) < 0) {
      if (top >= 0)
        close(top);
      close(under);
      close(t);
      FAIL("mounts[%zu]: tmpcopyup of %s", i, m->dest);
    }
    close(top);
  }
  if (under >= 0)
    close(under);
  if (rc == 0 && m->copyup && (flags & MS_RDONLY)) {
    char fdp[64];
    int top = in_root(rootfd, m->dest, O_PATH);
    snprintf(fdp, sizeof(fdp), "/proc/self/fd/%d", top);
    rc = top < 0 ? -1 : mount(NULL, fdp, NULL, MS_REMOUNT | MS_BIND | flags, NULL);
    if (top >= 0)
      close(top);
  }
  if (rc < 0 && strcmp(type, "sysfs") == 0 && errno == EPERM) /* a shared network namespace: the host's /sys, read-only */
    rc = bind_onto(AT_FDCWD, "/sys", true, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, t);
  close(t);
  if (rc < 0)
    FAIL("mounts[%zu]: mount %s on %s", i, type, m->dest);
  return 0;
}

static int mask_paths(int rootfd, const al_oci_config *c, char *errbuf, size_t errlen) {
  for (size_t i = 0; i < c->n_masked; i++) {
    int t = in_root(rootfd, c->masked[i], O_PATH | O_NOFOLLOW);
    if (t < 0)
      continue; /* absent: nothing to hide */
    struct stat st;
    int rc = fstat(t, &st);
    if (rc == 0 && S_ISDIR(st.st_mode))
      rc = mount_on_fd("tmpfs", t, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=0555");
    else if (rc == 0 && !S_ISLNK(st.st_mode))
      rc = bind_onto(AT_FDCWD, "/dev/null", false, 0, 0, t);
    close(t);
    if (rc < 0)
      FAIL("linux.maskedPaths: %s", c->masked[i]);
  }
  for (size_t i = 0; i < c->n_readonly; i++) {
    int t = in_root(rootfd, c->readonly_paths[i], O_PATH | O_NOFOLLOW);
    if (t < 0)
      continue;
    int rc = bind_onto(t, "", true, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, t);
    close(t);
    if (rc < 0)
      FAIL("linux.readonlyPaths: %s", c->readonly_paths[i]);
  }
  return 0;
}

static int open_console(int rootfd, const al_oci_config *c, int *master, int *slave, char *errbuf, size_t errlen) {
  /* a devpts instance's ptmx (5:2), never a node the rootfs brought */
  int m = in_root(rootfd, "dev/pts/ptmx", O_RDWR | O_NOCTTY | O_NOFOLLOW);
  struct stat pst;
  if (m >= 0 && (fstat(m, &pst) < 0 || !S_ISCHR(pst.st_mode) || major(pst.st_rdev) != 5 || minor(pst.st_rdev) != 2)) {
    close(m);
    m = -1;
    errno = ENOTTY;
  }
  if (m < 0)
    FAIL("process.terminal: no /dev/pts/ptmx in the container (a devpts mount at /dev/pts is needed)");
  int unlock = 0;
  int s = ioctl(m, TIOCSPTLCK, &unlock) < 0 ? -1 : ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0) {
    close(m);
    FAIL("process.terminal: open the pty");
  }
  if (c->proc.rows && c->proc.cols) {
    struct winsize ws = {.ws_row = c->proc.rows, .ws_col = c->proc.cols};
    ioctl(m, TIOCSWINSZ, &ws);
  }
  /* /dev/console is the pty, as runc does it */
  int dev = in_root(rootfd, "dev", O_PATH);
  struct stat st;
  if (dev >= 0 && fstat(dev, &st) == 0) {
    int t = make_in_root(rootfd, "dev/console", false);
    if (t >= 0) {
      bind_onto(s, "", false, 0, 0, t);
      close(t);
    }
  }
  if (dev >= 0)
    close(dev);
  fcntl(m, F_SETFD, FD_CLOEXEC);
  *master = m;
  *slave = s;
  return 0;
}

int al_oci_build_rootfs(const al_oci_config *c, const char *rootfs, const char *bundle, uid_t uid, gid_t gid,
                        int *pty_master, int *pty_slave, char *errbuf, size_t errlen) {
  owner_uid = uid;
  owner_gid = gid;
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    FAIL("make mounts private");
  if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    FAIL("bind the rootfs %s", rootfs);
  int rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    FAIL("open the rootfs %s", rootfs);
  /* a rootfs whose /dev leads elsewhere is refused outright, whatever
   * RESOLVE_IN_ROOT would make of it */
  struct stat dst;
  if (fstatat(rootfd, "dev", &dst, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(dst.st_mode)) {
    close(rootfd);
    errno = ENOTDIR;
    FAIL("root.path: /dev in the rootfs is not a directory (a symlink?)");
  }
  bool dev_mounted = false;
  for (size_t i = 0; i < c->n_mounts; i++) {
    if (do_mount(rootfd, &c->mounts[i], bundle, i, errbuf, errlen) < 0) {
      close(rootfd);
      return -1;
    }
    dev_mounted = dev_mounted || strcmp(c->mounts[i].dest, "/dev") == 0 || strcmp(c->mounts[i].dest, "/dev/") == 0;
  }
  if ((dev_mounted && make_devices(rootfd, c, errbuf, errlen) < 0) || mask_paths(rootfd, c, errbuf, errlen) < 0) {
    close(rootfd);
    return -1;
  }
  if (c->proc.terminal && pty_master && open_console(rootfd, c, pty_master, pty_slave, errbuf, errlen) < 0) {
    close(rootfd);
    return -1;
  }
  /* the working directory exists, as runc makes sure */
  int cwd = make_in_root(rootfd, c->proc.cwd, true);
  if (cwd >= 0)
    close(cwd);
  if (fchdir(rootfd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
    close(rootfd);
    FAIL("pivot_root into %s", rootfs);
  }
  close(rootfd);
  if (c->root_readonly) {
    struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
    if (syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, &a, sizeof(a)) < 0)
      FAIL("root.readonly");
  }
  return 0;
}
