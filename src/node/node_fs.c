/* SPDX-License-Identifier: Apache-2.0 */
/* node_fs.c - the node's work on host directories, on descriptors only.  A
 * tenant's sandbox can rename, swap (renameat2 RENAME_EXCHANGE) and plant
 * symbolic links, FIFOs and sockets in every directory it can write, while
 * the node, often root, works on the same trees.  So nothing here resolves a
 * tenant's path by name twice: a path is opened once with openat2 below a
 * descriptor the node opened itself (RESOLVE_BENEATH, no symbolic or magic
 * links), judged by fstat on what was opened, and that descriptor is what the
 * launcher mounts.  Node-made workspaces are made, given away and removed
 * relative to one directory descriptor, and the removal never follows a link
 * nor opens anything but directories.  A leaf: it calls no other node file. */
#define _GNU_SOURCE
#include "node.h"
#include "cleanup.h"
#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NO_LINKS (RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

static int openat2_dir(int dirfd, const char *path, uint64_t flags, uint64_t resolve) {
  struct open_how how = {.flags = flags | O_DIRECTORY | O_CLOEXEC, .resolve = resolve};
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* the kernel's name for fd, malloc'd */
static char *fd_name(int fd) {
  char link[64], buf[PATH_MAX];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, buf, sizeof(buf) - 1);
  if (n <= 0 || buf[0] != '/')
    return NULL;
  buf[n] = '\0';
  return strdup(buf);
}

int al_fs_open_root(const char *what, const char *path, int *fd_out, char **canonical, airlock_error **err) {
  *fd_out = -1;
  if (path == NULL || path[0] != '/')
    return al_err(err, 0, "%s '%s' must be an absolute path", what, path ? path : "");
  _cleanup_close_ int fd = openat2_dir(AT_FDCWD, path, O_PATH, NO_LINKS);
  if (fd < 0 && errno == ENOENT)
    return al_err(err, 0, "%s '%s' does not exist", what, path);
  if (fd < 0 && errno == ELOOP)
    return al_err(err, 0,
                  "%s '%s' goes through a symbolic link: the node opens it once without following links; "
                  "give the path the link points to",
                  what, path);
  if (fd < 0)
    return al_err(err, errno, "%s '%s'", what, path);
  char *name = fd_name(fd);
  if (!name)
    return al_err(err, errno ? errno : ENOMEM, "%s '%s': cannot tell where it is", what, path);
  free(*canonical);
  *canonical = name;
  *fd_out = AL_STEAL_FD(fd);
  return 0;
}

static int refuse(char *why, size_t len, int status, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int refuse(char *why, size_t len, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, len, fmt, ap);
  va_end(ap);
  return status;
}

int al_fs_tenant_workspace(int root_fd, const char *root, const char *tenant, const char *requested, int *fd_out,
                           char **name, struct stat *st, char *why, size_t len) {
  *fd_out = -1;
  if (tenant[0] == '\0' || strcmp(tenant, ".") == 0 || strcmp(tenant, "..") == 0 || strchr(tenant, '/'))
    return refuse(why, len, 403, "the tenant name '%s' cannot name a directory below the node's workspace_root %s",
                  tenant, root);
  /* the tenant's own directory, as the client would write it */
  char prefix[PATH_MAX];
  if ((size_t)snprintf(prefix, sizeof(prefix), "%s/%s", strcmp(root, "/") == 0 ? "" : root, tenant) >= sizeof(prefix))
    return refuse(why, len, 403, "workspace_root %s and tenant '%s' make too long a path", root, tenant);
  const char *rest = requested;
  if (requested[0] == '/') {
    /* a string compare on what was asked for: the rest is opened below the
     * tenant's directory by the kernel, so "alice/../bob" fails there */
    size_t pl = strlen(prefix);
    if (strncmp(requested, prefix, pl) != 0 || (requested[pl] != '/' && requested[pl] != '\0'))
      return refuse(why, len, 403,
                    "workspace '%s' is not below %s/: a tenant may name only workspaces below "
                    "workspace_root/<tenant>/ (%s/%s/)",
                    requested, prefix, root, tenant);
    rest = requested + pl;
  }
  while (*rest == '/')
    rest++;
  if (*rest == '\0')
    rest = ".";
  _cleanup_close_ int tfd = openat2_dir(root_fd, tenant, O_PATH, RESOLVE_BENEATH | NO_LINKS);
  if (tfd < 0) {
    int e = errno;
    if (e == ENOENT)
      return refuse(why, len, 403,
                    "tenant '%s' has no directory %s/ below the node's workspace_root (the node's "
                    "operator makes it)",
                    tenant, prefix);
    if (e == ELOOP || e == ENOTDIR)
      return refuse(why, len, 403, "%s is %s, not a directory: a tenant's directory must be a plain directory", prefix,
                    e == ELOOP ? "a symbolic link" : "a file");
    return refuse(why, len, 500, "cannot open %s: %s", prefix, strerror(e));
  }
  _cleanup_close_ int fd = openat2_dir(tfd, rest, O_PATH, RESOLVE_BENEATH | NO_LINKS);
  if (fd < 0) {
    int e = errno;
    if (e == EXDEV)
      return refuse(why, len, 403,
                    "workspace '%s' leads outside %s/ ('..'): a tenant may name only workspaces "
                    "below workspace_root/<tenant>/",
                    requested, prefix);
    if (e == ELOOP)
      return refuse(why, len, 403,
                    "workspace '%s' goes through a symbolic link: the node opens workspaces below "
                    "%s/ without following links",
                    requested, prefix);
    if (e == ENOENT)
      return refuse(why, len, 403, "workspace '%s' does not exist below %s/", requested, prefix);
    if (e == ENOTDIR)
      return refuse(why, len, 403, "workspace '%s' is not a directory", requested);
    return refuse(why, len, 500, "cannot open workspace '%s': %s", requested, strerror(e));
  }
  if (fstat(fd, st) < 0)
    return refuse(why, len, 500, "cannot stat workspace '%s': %s", requested, strerror(errno));
  if (!S_ISDIR(st->st_mode))
    return refuse(why, len, 403, "workspace '%s' is not a directory", requested);
  if (!(*name = fd_name(fd)))
    return refuse(why, len, 500, "workspace '%s': cannot tell where it is", requested);
  *fd_out = AL_STEAL_FD(fd);
  return 0;
}

int al_fs_workspaces_open(const char *path, int *fd_out, airlock_error **err) {
  *fd_out = -1;
  if (mkdir(path, 0711) < 0 && errno != EEXIST)
    return al_err(err, errno, "mkdir %s", path);
  /* the node's own directory: its last component must not be a link, and
   * its mode is set on the descriptor, never by name */
  _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ELOOP)
    return al_err(err, 0, "%s is a symbolic link: node-made workspaces need a directory of the node's own", path);
  if (fd < 0)
    return al_err(err, errno, "open %s", path);
  struct stat st;
  if (fstat(fd, &st) < 0)
    return al_err(err, errno, "stat %s", path);
  if (st.st_uid != geteuid())
    return al_err(err, 0, "%s is owned by uid %u, not by uid %u that the node runs as", path, (unsigned)st.st_uid,
                  (unsigned)geteuid());
  if ((st.st_mode & 07777) != 0711 && fchmod(fd, 0711) < 0) /* traversable by sandbox uids, not listable */
    return al_err(err, errno, "chmod 0711 %s", path);
  *fd_out = AL_STEAL_FD(fd);
  return 0;
}

/* A tmpfs of quota_bytes (and one inode per 4 KiB, at least 1024) owned by
 * owner, mounted on the directory dir (by descriptor: no name is resolved
 * again); *root_out: its root.  A tmpfs needs no block device or file
 * system feature, counts bytes and inodes exactly, and its pages are
 * charged to the memory cgroup of whoever writes them (the sandbox). */
static int mount_quota_tmpfs(int dir, uint32_t owner, int64_t quota_bytes, int *root_out, airlock_error **err) {
  char size[32], inodes[32], id[16];
  int64_t n = quota_bytes / 4096 > 1024 ? quota_bytes / 4096 : 1024;
  snprintf(size, sizeof(size), "%lld", (long long)quota_bytes);
  snprintf(inodes, sizeof(inodes), "%lld", (long long)n);
  snprintf(id, sizeof(id), "%u", (unsigned)owner);
  const char *const opts[][2] = {{"size", size}, {"nr_inodes", inodes}, {"mode", "0700"}, {"uid", id}, {"gid", id}};
  _cleanup_close_ int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
  int rc = fs < 0 ? -1 : 0;
  for (size_t i = 0; rc == 0 && i < sizeof(opts) / sizeof(opts[0]); i++)
    rc = fsconfig(fs, FSCONFIG_SET_STRING, opts[i][0], opts[i][1], 0);
  if (rc == 0)
    rc = fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
  _cleanup_close_ int mnt =
      rc < 0 ? -1 : fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  if (mnt < 0 || move_mount(mnt, "", dir, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return al_err(err, errno, "the workspace's tmpfs (quota %lld bytes)", (long long)quota_bytes);
  if ((*root_out = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    return al_err(err, errno, "the workspace's tmpfs");
  return 0;
}

int al_fs_workspace_unmount(int dir_fd, const char *name) {
  struct stat parent;
  if (fstat(dir_fd, &parent) < 0)
    return -1;
  for (int depth = 0; depth < 8; depth++) { /* a mount stacked on ours goes first */
    _cleanup_close_ int fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
      return errno == ENOENT ? 0 : -1;
    if (st.st_dev == parent.st_dev)
      return 0;
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    if (umount2(link, MNT_DETACH) < 0)
      return -1;
  }
  errno = EBUSY;
  return -1;
}

int al_fs_workspace_make(int dir_fd, const char *path, const char *name, uint32_t owner, int64_t quota_bytes,
                         int *fd_out, airlock_error **err) {
  *fd_out = -1;
  if (mkdirat(dir_fd, name, 0700) < 0)
    return al_err(err, errno, "mkdir %s/%s", path, name);
  _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    al_err(err, errno, "open %s/%s", path, name);
    unlinkat(dir_fd, name, AT_REMOVEDIR);
    return -1;
  }
  if (st.st_uid != geteuid() || !S_ISDIR(st.st_mode)) { /* not the directory just made */
    return al_err(err, 0, "%s/%s changed while it was made (owner uid %u)", path, name, (unsigned)st.st_uid);
  }
  if ((geteuid() == 0 && fchown(fd, owner, owner) < 0) || fchmod(fd, 0700) < 0) {
    al_err(err, errno, "chown %u %s/%s", (unsigned)owner, path, name);
    unlinkat(dir_fd, name, AT_REMOVEDIR);
    return -1;
  }
  if (quota_bytes > 0) {
    int root = -1;
    if (mount_quota_tmpfs(fd, owner, quota_bytes, &root, err) < 0) {
      al_err_prefix(err, "%s/%s", path, name);
      al_fs_workspace_unmount(dir_fd, name);
      unlinkat(dir_fd, name, AT_REMOVEDIR);
      return -1;
    }
    close(fd);
    fd = root;
  }
  *fd_out = AL_STEAL_FD(fd);
  return 0;
}

typedef struct {
  dev_t dev;
  ino_t ino;
} dir_id;

/* one pass over the directory cur: unlink what is not a directory, rmdir
 * empty directories; *sub gets the first directory that is not empty.
 * Returns 0 (done, or *sub set) or an errno value. */
static int sweep(int cur, char sub[NAME_MAX + 1]) {
  sub[0] = '\0';
  int dup_fd = fcntl(cur, F_DUPFD_CLOEXEC, 3);
  if (dup_fd < 0)
    return errno;
  _cleanup_closedir_ DIR *d = fdopendir(dup_fd);
  if (!d) {
    int e = errno;
    close(dup_fd);
    return e;
  }
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (e == NULL)
      return errno; /* 0 at the end */
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    /* unlinkat never follows a link and never opens what it removes:
     * symbolic links, FIFOs and sockets go like files */
    if (unlinkat(cur, e->d_name, 0) == 0 || errno == ENOENT)
      continue;
    if (errno != EISDIR)
      return errno;
    if (unlinkat(cur, e->d_name, AT_REMOVEDIR) == 0 || errno == ENOENT)
      continue;
    if (errno != ENOTEMPTY && errno != EEXIST)
      return errno;
    snprintf(sub, NAME_MAX + 1, "%s", e->d_name);
    return 0;
  }
}

/* Depth-first with one directory descriptor open at a time: down into the
 * first directory that is not empty, back up through ".." (checked against
 * the inode that was left) when one is empty.  Nothing else writes the tree
 * meanwhile (its sandbox is dead), but the walk still never follows a link. */
int al_fs_remove_tree(int dir_fd, const char *path, const char *name, airlock_error **err) {
  if (unlinkat(dir_fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
    return 0;
  if (errno == ENOTDIR)
    return unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT ? 0 : al_err(err, errno, "remove %s/%s", path, name);
  if (errno != ENOTEMPTY && errno != EEXIST)
    return al_err(err, errno, "remove %s/%s", path, name);
  _cleanup_close_ int cur = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (cur < 0)
    return al_err(err, errno, "open %s/%s", path, name);
  _cleanup_free_ dir_id *stack = NULL;
  size_t depth = 0, cap = 0;
  for (;;) {
    char sub[NAME_MAX + 1];
    /* a sandbox may have taken its own write permission away */
    struct stat st;
    if (fstat(cur, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 0700) != 0700)
      fchmod(cur, (st.st_mode & 07777) | 0700);
    int e = sweep(cur, sub);
    if (e != 0)
      return al_err(err, e, "remove %s/%s (at depth %zu)", path, name, depth);
    if (sub[0] != '\0') {
      if (depth == cap) {
        if (cap >= (1u << 20))
          return al_err(err, 0, "remove %s/%s: deeper than %zu directories", path, name, cap);
        dir_id *grown = reallocarray(stack, cap ? cap * 2 : 64, sizeof(*stack));
        if (!grown)
          return al_err(err, ENOMEM, "remove %s/%s", path, name);
        stack = grown;
        cap = cap ? cap * 2 : 64;
      }
      if (fstat(cur, &st) < 0)
        return al_err(err, errno, "remove %s/%s", path, name);
      stack[depth++] = (dir_id){st.st_dev, st.st_ino};
      int next = openat(cur, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0)
        return al_err(err, errno, "remove %s/%s: open %s", path, name, sub);
      close(cur);
      cur = next;
      continue;
    }
    if (depth == 0)
      break;
    int up = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (up < 0)
      return al_err(err, errno, "remove %s/%s: open ..", path, name);
    close(cur);
    cur = up;
    depth--;
    if (fstat(cur, &st) < 0 || st.st_dev != stack[depth].dev || st.st_ino != stack[depth].ino)
      return al_err(err, 0, "remove %s/%s: the tree changed while it was removed", path, name);
  }
  if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return al_err(err, errno, "remove %s/%s", path, name);
  return 0;
}
