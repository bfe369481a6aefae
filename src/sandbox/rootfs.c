/* SPDX-License-Identifier: Apache-2.0 */
/* rootfs.c - assembling the sandbox's root inside its own mount namespace.
 *
 * The root is an empty tmpfs, entered with pivot_root first; the old root
 * stays reachable at /oldroot (nothing of it is hidden under the new tmpfs)
 * until the new root is complete, then it is detached.  Host trees are attached with the new mount
 * API (open_tree clone -> mount_setattr -> move_mount), which lets flags be
 * set on a detached tree before it becomes visible, and lets every target be
 * reached through a directory fd walked without following symlinks: a target
 * inside a writable directory cannot be redirected to the host (the runc and
 * crun CVE class).  All writable scratch space lives on the root tmpfs so
 * --disk caps it as a whole.  Finally the old root is detached, so no host path stays
 * reachable, and the root is made read-only.
 * Runs in the cloned child: no allocation, messages go to errbuf. */
#define _GNU_SOURCE
#include "network.h"
#include "plan.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FAIL(...)                                                                                                      \
  do {                                                                                                                 \
    int saved_ = errno;                                                                                                \
    fail(errbuf, errlen, saved_, __VA_ARGS__);                                                                         \
    errno = saved_;                                                                                                    \
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

/* Absolute host paths are canonical (resolved by the policy check), so any
 * symlink met now means the tree changed since: refuse.  Relative targets
 * are additionally kept beneath the new root. */
static int open_no_symlinks(int dirfd, const char *path, int flags) {
  struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC,
                         .resolve =
                             RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | (path[0] == '/' ? 0 : RESOLVE_BENEATH)};
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* Open (creating on our own tmpfs when missing) the mount point `rel` below
 * rootfd.  Directories that belong to another mount (a workspace the agent
 * controls) are never written to: a missing target there is an error. */
static int make_target(int rootfd, dev_t root_dev, const char *rel, bool dir, char *errbuf, size_t errlen) {
  char path[4096];
  snprintf(path, sizeof(path), "%s", rel);
  int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
  char *save = NULL;
  for (char *part = strtok_r(path, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
    bool last = save == NULL || *save == '\0';
    int next = open_no_symlinks(cur, part, O_PATH | ((!last || dir) ? O_DIRECTORY : 0));
    if (next < 0 && errno == ENOENT) {
      struct stat st;
      if (fstat(cur, &st) < 0 || st.st_dev != root_dev) {
        close(cur);
        errno = ENOENT;
        FAIL("mount target /%s: a directory on its path belongs to another mount; create it there first", rel);
      }
      if (!last || dir) {
        if (mkdirat(cur, part, 0755) < 0 && errno != EEXIST) {
          close(cur);
          FAIL("mkdir /%s", rel);
        }
      } else {
        int f = openat(cur, part, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (f < 0 && errno != EEXIST) {
          close(cur);
          FAIL("create /%s", rel);
        }
        if (f >= 0)
          close(f);
      }
      next = open_no_symlinks(cur, part, O_PATH | ((!last || dir) ? O_DIRECTORY : 0));
    }
    close(cur);
    if (next < 0)
      FAIL("mount target /%s", rel);
    cur = next;
  }
  return cur;
}

/* Clone the host tree at `host` (already canonical; opened without following
 * symlinks so a path swapped since the policy check fails) and attach it. */
#define OLD_ROOT "/oldroot"

static int attach_tree(int rootfd, dev_t root_dev, const al_mount_entry *e, uint64_t attrs, char *errbuf,
                       size_t errlen) {
  char host[4096 + sizeof(OLD_ROOT)];
  snprintf(host, sizeof(host), OLD_ROOT "%s", e->host_path);
  int src = open_no_symlinks(AT_FDCWD, host, O_PATH);
  if (src < 0)
    FAIL("open %s", e->host_path);
  /* a user-named source: the launcher opened and judged one inode, and this
   * name must still lead to exactly that one (rootless: the kernel cannot
   * carry the launcher's mount into this namespace) */
  struct stat st;
  if (e->src_ino != 0 && (fstat(src, &st) < 0 || st.st_dev != e->src_dev || st.st_ino != e->src_ino)) {
    close(src);
    errno = ESTALE;
    FAIL("%s changed after it was checked", e->host_path);
  }
  int tree = open_tree(
      src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (e->type == AL_ENTRY_DIR ? AT_RECURSIVE : 0));
  close(src);
  if (tree < 0)
    FAIL("clone mount of %s", e->host_path);
  struct mount_attr attr = {.attr_set = attrs};
  if (attrs && mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
    close(tree);
    FAIL("set mount flags on %s", e->host_path);
  }
  int target = make_target(rootfd, root_dev, e->target + 1, e->type == AL_ENTRY_DIR, errbuf, errlen);
  if (target < 0) {
    close(tree);
    return -1;
  }
  int rc = move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  int saved = errno;
  close(tree);
  close(target);
  errno = saved;
  if (rc < 0)
    FAIL("mount %s at %s", e->host_path, e->target);
  return 0;
}

/* A tree the launcher made (root: flags and idmapping already set). */
static int attach_detached(int rootfd, dev_t root_dev, const al_mount_entry *e, char *errbuf, size_t errlen) {
  int target = make_target(rootfd, root_dev, e->target + 1, e->type == AL_ENTRY_DIR, errbuf, errlen);
  if (target < 0)
    return -1;
  int rc = move_mount(e->tree_fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  int saved = errno;
  close(target);
  errno = saved;
  if (rc < 0)
    FAIL("mount %s at %s", e->host_path, e->target);
  return 0;
}

/* Host unix sockets inside a mounted tree (an ssh or gpg agent, a database,
 * a container engine) would let the sandbox talk to what listens on them;
 * connect() needs no more than write permission on the inode, and the
 * sandbox owns the workspace's files.  Each one found is covered with a
 * bind of /dev/null: connecting gets ECONNREFUSED, and being a mount point
 * it cannot be removed or renamed away.  The walk reads directory entries
 * only (d_type), with a fixed buffer per level: no allocation here. */
#define MASK_MAX_DEPTH 128

static int mask_sockets_in(int rootfd, int dir, int depth, unsigned *masked, char *errbuf, size_t errlen) {
  if (depth >= MASK_MAX_DEPTH) {
    errno = ELOOP;
    FAIL("checking a mounted tree for sockets: deeper than %d levels", MASK_MAX_DEPTH);
  }
  char buf[4096];
  for (;;) {
    long n = syscall(SYS_getdents64, dir, buf, sizeof(buf));
    if (n < 0)
      FAIL("checking a mounted tree for sockets");
    if (n == 0)
      return 0;
    for (long off = 0; off < n;) {
      struct {
        uint64_t ino;
        int64_t off;
        unsigned short reclen;
        unsigned char type;
        char name[];
      } *d = (void *)(buf + off);
      off += d->reclen;
      if (strcmp(d->name, ".") == 0 || strcmp(d->name, "..") == 0)
        continue;
      unsigned char type = d->type;
      if (type == DT_UNKNOWN) {
        struct stat st;
        if (fstatat(dir, d->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
          continue;
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISSOCK(st.st_mode) ? DT_SOCK : DT_REG;
      }
      if (type == DT_DIR) {
        int sub = openat(dir, d->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
          continue; /* unreadable to the sandbox too: nothing reachable below */
        int rc = mask_sockets_in(rootfd, sub, depth + 1, masked, errbuf, errlen);
        close(sub);
        if (rc < 0)
          return -1;
      } else if (type == DT_SOCK) {
        int target = openat(dir, d->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        int cover = open_tree(rootfd, "dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        int rc = target < 0 || cover < 0
                     ? -1
                     : move_mount(cover, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
        int saved = errno;
        if (target >= 0)
          close(target);
        if (cover >= 0)
          close(cover);
        errno = saved;
        if (rc < 0)
          FAIL("masking the host socket %s", d->name);
        (*masked)++;
      }
    }
  }
}

static int attach_overlaid(int rootfd, dev_t root_dev, const al_plan *p, const al_mount_entry *e, size_t slot,
                           uint32_t *degraded, char *errbuf, size_t errlen);

/* ovl[]'s slot of user[i]; -1 when it is not mounted as an overlay */
static int overlay_slot(const al_plan *p, size_t i) {
  for (size_t k = 0; p->overlay_writes && k < p->n_ovl; k++)
    if (p->ovl[k].user_index == (int)i)
      return (int)k;
  return -1;
}

static int attach_user(int rootfd, dev_t root_dev, const al_plan *p, size_t i, unsigned *masked, uint32_t *degraded,
                       char *errbuf, size_t errlen) {
  const al_mount_entry *e = &p->user[i];
  uint64_t attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (e->writable ? 0 : MOUNT_ATTR_RDONLY);
  int slot = overlay_slot(p, i);
  int rc = slot >= 0           ? attach_overlaid(rootfd, root_dev, p, e, (size_t)slot, degraded, errbuf, errlen)
           : e->tree_fd >= 0 ? attach_detached(rootfd, root_dev, e, errbuf, errlen)
                             : attach_tree(rootfd, root_dev, e, attrs, errbuf, errlen);
  if (rc < 0 || e->type != AL_ENTRY_DIR || e->socket)
    return rc;
  int dir = open_no_symlinks(rootfd, e->target + 1, O_RDONLY | O_DIRECTORY);
  if (dir < 0)
    FAIL("open %s", e->target);
  rc = mask_sockets_in(rootfd, dir, 0, masked, errbuf, errlen);
  close(dir);
  return rc;
}

/* Read-write directories (workspace, output, rw binds) as overlays: the host
 * tree (idmapped as root) read-only below, the upper and work directories
 * on one tmpfs sized by the workspace quota, so together they get ENOSPC at
 * the cap and the host file system is not written while the sandbox runs.
 * Each lower layer is first attached under a staging directory of the root
 * tmpfs (overlayfs takes private clones of its layers) and detached again
 * once the overlay is mounted; the upper tmpfs's root goes to the launcher,
 * which writes each layer back, or saves the workspace's, once the sandbox
 * is gone.  Needs overlayfs in user namespaces with userxattr (Linux 5.11),
 * idmapped lower layers (5.19) and tmpfs user xattrs (6.6, for opaque
 * directories).  When an overlay cannot be made and degraded mode is
 * allowed, that host tree is attached directly instead (its bit in
 * *degraded). */
#define OVL_STAGE ".airlock-ws"

static int overlay_mount(int target, const char *what, const char *lower, const char *upper, const char *work,
                         char *errbuf, size_t errlen) {
  int fs = fsopen("overlay", FSOPEN_CLOEXEC);
  if (fs < 0)
    FAIL("%s overlay: overlayfs is not available", what);
  const char *const opts[][2] = {{"lowerdir", lower}, {"upperdir", upper}, {"workdir", work}};
  int rc = 0;
  for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]) && rc == 0; i++)
    rc = fsconfig(fs, FSCONFIG_SET_STRING, opts[i][0], opts[i][1], 0);
  if (rc == 0)
    rc = fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0);
  if (rc == 0)
    rc = fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
  if (rc < 0) {
    int saved = errno;
    char log[160] = "";
    ssize_t n = read(fs, log, sizeof(log) - 1); /* the kernel's reason, "e overlayfs: ..." */
    log[n > 0 ? n : 0] = '\0';
    if (n > 0 && log[n - 1] == '\n')
      log[n - 1] = '\0';
    close(fs);
    errno = saved;
    FAIL("%s overlay (userxattr, idmapped lower, tmpfs upper)%s%s", what, n > 2 ? ": " : "", n > 2 ? log + 2 : "");
  }
  int mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  close(fs);
  rc = mnt < 0 ? -1 : move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  int saved = errno;
  if (mnt >= 0)
    close(mnt);
  errno = saved;
  if (rc < 0)
    FAIL("%s overlay: mount", what);
  return 0;
}

/* the staging directory and the one tmpfs every upper layer lives on */
static int overlay_stage(int rootfd, const al_plan *p, char *errbuf, size_t errlen) {
  if (mkdirat(rootfd, OVL_STAGE, 0700) < 0 || mkdirat(rootfd, OVL_STAGE "/upper", 0700) < 0)
    FAIL("overlays: staging directories");
  if (mount("tmpfs", "/" OVL_STAGE "/upper", "tmpfs", MS_NOSUID | MS_NODEV, p->ws_opts) < 0)
    FAIL("overlays: the upper layers' tmpfs");
  return 0;
}

/* the upper tmpfs's root for the launcher, and the staging directory gone */
static int overlay_unstage(int rootfd, int *upper_root, char *errbuf, size_t errlen) {
  if ((*upper_root = openat(rootfd, OVL_STAGE "/upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    FAIL("overlays: open the upper layers' tmpfs");
  if (umount2("/" OVL_STAGE "/upper", MNT_DETACH) < 0 || unlinkat(rootfd, OVL_STAGE "/upper", AT_REMOVEDIR) < 0 ||
      unlinkat(rootfd, OVL_STAGE, AT_REMOVEDIR) < 0)
    FAIL("overlays: removing the staging directories");
  return 0;
}

static int attach_overlaid(int rootfd, dev_t root_dev, const al_plan *p, const al_mount_entry *e, size_t slot,
                           uint32_t *degraded, char *errbuf, size_t errlen) {
  char lower[32], upper[32], work[32];
  snprintf(lower, sizeof(lower), "/%s/l%zu", OVL_STAGE, slot);
  snprintf(upper, sizeof(upper), "/%s/upper/u%zu", OVL_STAGE, slot);
  snprintf(work, sizeof(work), "/%s/upper/w%zu", OVL_STAGE, slot);
  if (mkdirat(rootfd, lower + 1, 0700) < 0)
    FAIL("%s: staging directory", e->target);
  al_mount_entry staged = *e;
  staged.target = lower;
  int rc = e->tree_fd >= 0
               ? attach_detached(rootfd, root_dev, &staged, errbuf, errlen)
               : attach_tree(rootfd, root_dev, &staged, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, errbuf, errlen);
  if (rc < 0)
    return -1;
  int target = make_target(rootfd, root_dev, e->target + 1, true, errbuf, errlen);
  if (target < 0)
    return -1;
  struct stat lst;
  if (fstatat(rootfd, lower + 1, &lst, 0) < 0 || mkdirat(rootfd, upper + 1, lst.st_mode & 07777) < 0 ||
      fchmodat(rootfd, upper + 1, lst.st_mode & 07777, 0) < 0 || mkdirat(rootfd, work + 1, 0700) < 0) {
    close(target);
    FAIL("%s: the upper layer's directories", e->target);
  }
  rc = overlay_mount(target, e->target, lower, upper, work, errbuf, errlen);
  bool direct = false;
  if (rc < 0 && p->spec->allow_degraded) { /* the host tree itself, unbounded, as before */
    direct = true;
    *degraded |= 1u << slot;
    int tree = open_tree(rootfd, lower + 1, OPEN_TREE_CLOEXEC);
    rc = tree < 0 ? -1 : move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    if (tree >= 0)
      close(tree);
    if (rc < 0) {
      close(target);
      FAIL("%s: attaching it without an overlay", e->target);
    }
  }
  close(target);
  if (rc < 0)
    return -1;
  if ((!direct && umount2(lower, MNT_DETACH) < 0) || unlinkat(rootfd, lower + 1, AT_REMOVEDIR) < 0)
    FAIL("%s: removing the staging directory", e->target);
  return 0;
}

static int place_entry(int rootfd, dev_t root_dev, const al_mount_entry *e, uint64_t attrs, char *errbuf,
                       size_t errlen) {
  if (e->type == AL_ENTRY_SYMLINK) {
    if (symlinkat(e->link_target, rootfd, e->target + 1) < 0 && errno != EEXIST)
      FAIL("symlink %s", e->target);
    return 0;
  }
  if (e->content) {
    int fd = openat(rootfd, e->target + 1, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
      FAIL("create %s", e->target);
    ssize_t w = write(fd, e->content, e->content_len);
    close(fd);
    if (w != (ssize_t)e->content_len)
      FAIL("write %s", e->target);
    return 0;
  }
  return attach_tree(rootfd, root_dev, e, attrs, errbuf, errlen);
}

static int write_file_at(int dirfd, const char *name, const char *content, mode_t mode, char *errbuf, size_t errlen) {
  int fd = openat(dirfd, name, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    FAIL("create /etc/%s", name);
  size_t len = strlen(content);
  ssize_t w = write(fd, content, len);
  close(fd);
  if (w != (ssize_t)len)
    FAIL("write /etc/%s", name);
  return 0;
}

static int build_etc(int rootfd, const al_plan *p, char *errbuf, size_t errlen) {
  if (mkdirat(rootfd, "etc", 0755) < 0 && errno != EEXIST)
    FAIL("mkdir /etc");
  int etc = openat(rootfd, "etc", O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (etc < 0)
    FAIL("open /etc");
  int rc = 0;
  if (write_file_at(etc, "passwd", p->passwd, 0644, errbuf, errlen) < 0 ||
      write_file_at(etc, "group", p->group, 0644, errbuf, errlen) < 0 ||
      write_file_at(etc, "hosts", p->hosts, 0644, errbuf, errlen) < 0 ||
      write_file_at(etc, "hostname", p->hostname, 0644, errbuf, errlen) < 0 ||
      write_file_at(etc, "nsswitch.conf",
                    p->egress ? "passwd: files\ngroup: files\nhosts: files dns\n"
                              : "passwd: files\ngroup: files\nhosts: files\n",
                    0644, errbuf, errlen) < 0 ||
      /* proxy mode: names are resolved by the proxy's DNS socket */
      (p->egress && write_file_at(etc, "resolv.conf", "nameserver " AL_EGRESS_HOST "\n", 0644, errbuf, errlen) < 0))
    rc = -1;
  close(etc);
  return rc;
}

static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

static int build_dev(int rootfd, dev_t root_dev, const al_plan *p, char *errbuf, size_t errlen) {
  if (mkdirat(rootfd, "dev", 0755) < 0 && errno != EEXIST)
    FAIL("mkdir /dev");
  for (size_t i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
    char host[32], target[32];
    snprintf(host, sizeof(host), "/dev/%s", dev_nodes[i]);
    snprintf(target, sizeof(target), "/dev/%s", dev_nodes[i]);
    al_mount_entry e = {.host_path = host, .target = target, .type = AL_ENTRY_FILE};
    char old[64];
    snprintf(old, sizeof(old), OLD_ROOT "%s", host);
    if (access(old, F_OK) < 0)
      continue;
    /* no extra flags: a device node is neither executable nor setuid */
    if (attach_tree(rootfd, root_dev, &e, 0, errbuf, errlen) < 0)
      return -1;
  }
  if (mkdirat(rootfd, "dev/pts", 0755) < 0 && errno != EEXIST)
    FAIL("mkdir /dev/pts");
  (void)p;
  if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0)
    FAIL("mount devpts");
  static const char *const links[][2] = {{"pts/ptmx", "dev/ptmx"},
                                         {"/proc/self/fd", "dev/fd"},
                                         {"/proc/self/fd/0", "dev/stdin"},
                                         {"/proc/self/fd/1", "dev/stdout"},
                                         {"/proc/self/fd/2", "dev/stderr"}};
  for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
    if (symlinkat(links[i][0], rootfd, links[i][1]) < 0 && errno != EEXIST)
      FAIL("symlink /%s", links[i][1]);
  return 0;
}

/* --secret: /run/secrets/NAME on the root tmpfs, before the root turns
 * read-only; file 0400 and directory 0500, owned by the sandbox user (init
 * already runs as it).  Not even that user can make them writable or
 * readable by others later: the mount is read-only. */
static int write_secrets(int rootfd, dev_t root_dev, const al_plan *p, char *errbuf, size_t errlen) {
  if (p->n_secrets == 0)
    return 0;
  if (mkdirat(rootfd, "run", 0755) < 0 && errno != EEXIST)
    FAIL("mkdir /run");
  if (mkdirat(rootfd, "run/secrets", 0700) < 0)
    FAIL("mkdir /run/secrets");
  int dir = open_no_symlinks(rootfd, "run/secrets", O_DIRECTORY | O_RDONLY);
  struct stat st;
  if (dir < 0 || fstat(dir, &st) < 0 || st.st_dev != root_dev) {
    if (dir >= 0) {
      close(dir);
      errno = EXDEV;
    }
    FAIL("open /run/secrets");
  }
  for (size_t i = 0; i < p->n_secrets; i++) {
    const al_secret_file *f = &p->secrets[i];
    int fd = openat(dir, f->name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0400);
    size_t off = 0;
    while (fd >= 0 && off < f->len) {
      ssize_t w = write(fd, f->value + off, f->len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        break;
      off += (size_t)w;
    }
    int rc = fd < 0 || off < f->len || fchmod(fd, 0400) < 0 ? -1 : 0;
    int saved = errno;
    if (fd >= 0)
      close(fd);
    if (rc < 0) {
      close(dir);
      errno = saved;
      FAIL("write /run/secrets/%s", f->name);
    }
  }
  int rc = fchmod(dir, 0500);
  close(dir);
  if (rc < 0)
    FAIL("chmod /run/secrets");
  return 0;
}

static int write_ro_file(int dir, const char *name, const char *content, size_t len, char *errbuf, size_t errlen) {
  int fd = openat(dir, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0444);
  size_t off = 0;
  while (fd >= 0 && off < len) {
    ssize_t w = write(fd, content + off, len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      break;
    off += (size_t)w;
  }
  int rc = fd < 0 || off < len || fchmod(fd, 0444) < 0 ? -1 : 0; /* whatever the umask */
  int saved = errno;
  if (fd >= 0)
    close(fd);
  errno = saved;
  if (rc < 0)
    FAIL("write " AL_EGRESS_CA_DIR "/%s", name);
  return 0;
}

/* Inspected hosts: the proxy's CA certificate and the bundle with it (the
 * host's trust store, then the CA) in /run/airlock on the root tmpfs, and,
 * with the host's /etc, the bundle mounted read-only over the host's
 * /etc/ssl/certs/ca-certificates.crt, where OpenSSL, curl and Python look
 * by default.  Nothing but the certificate: the CA's key never leaves the
 * proxy. */
static int write_egress_ca(int rootfd, const al_plan *p, char *errbuf, size_t errlen) {
  if (!p->egress_ca)
    return 0;
  if (mkdirat(rootfd, "run", 0755) < 0 && errno != EEXIST)
    FAIL("mkdir /run");
  if (mkdirat(rootfd, &AL_EGRESS_CA_DIR[1], 0755) < 0 || fchmodat(rootfd, &AL_EGRESS_CA_DIR[1], 0755, 0) < 0)
    FAIL("mkdir " AL_EGRESS_CA_DIR);
  int dir = open_no_symlinks(rootfd, &AL_EGRESS_CA_DIR[1], O_DIRECTORY | O_RDONLY);
  if (dir < 0)
    FAIL("open " AL_EGRESS_CA_DIR);
  int rc = write_ro_file(dir, "egress-ca.crt", p->egress_ca, strlen(p->egress_ca), errbuf, errlen);
  if (rc == 0)
    rc = write_ro_file(dir, "ca-certificates.crt", p->ca_bundle, p->ca_bundle_len, errbuf, errlen);
  close(dir);
  if (rc < 0 || !p->generate_etc)
    return rc;
  int target = open_no_symlinks(rootfd, &AL_SYSTEM_CA_BUNDLE[1], O_PATH);
  struct stat st;
  if (target < 0 || fstat(target, &st) < 0 || !S_ISREG(st.st_mode)) {
    if (target >= 0)
      close(target);
    return 0; /* the host keeps its store elsewhere: the variables point at the bundle */
  }
  int tree = open_tree(rootfd, &AL_EGRESS_CA_BUNDLE[1], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
  rc = tree < 0 ? -1 : mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr));
  if (rc == 0)
    rc = move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  int saved = errno;
  if (tree >= 0)
    close(tree);
  close(target);
  errno = saved;
  if (rc < 0)
    FAIL("mount the CA bundle over " AL_SYSTEM_CA_BUNDLE);
  return 0;
}

/* The root tmpfs, sized by --disk, is also the scratch space: /tmp, /dev/shm
 * and HOME are directories of it, each bound onto itself as its own writable
 * (nosuid, nodev, noexec unless --tmp-exec) mount, while the root mount
 * itself turns read-only at the end.  One superblock, so --disk caps them
 * together; no second tmpfs to create and tear down on every launch. */
static int build_scratch(int rootfd, const al_plan *p, char *errbuf, size_t errlen) {
  static const struct {
    const char *dir;
    mode_t mode;
  } spaces[] = {{"tmp", 01777}, {"dev/shm", 01777}, {"home", 0755}, {"home/sandbox", 0700}};
  for (size_t i = 0; i < sizeof(spaces) / sizeof(spaces[0]); i++) {
    if ((mkdirat(rootfd, spaces[i].dir, spaces[i].mode) < 0 && errno != EEXIST) ||
        fchmodat(rootfd, spaces[i].dir, spaces[i].mode, 0) < 0)
      FAIL("mkdir /%s", spaces[i].dir);
  }
  struct mount_attr attr = {.attr_set =
                                MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (p->spec->tmp_exec ? 0 : MOUNT_ATTR_NOEXEC)};
  static const char *const writable[] = {"tmp", "dev/shm", "home/sandbox"};
  for (size_t i = 0; i < sizeof(writable) / sizeof(writable[0]); i++) {
    int tree = open_tree(rootfd, writable[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    int rc = tree < 0 ? -1 : mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr));
    if (rc == 0)
      rc = move_mount(tree, "", rootfd, writable[i], MOVE_MOUNT_F_EMPTY_PATH);
    int saved = errno;
    if (tree >= 0)
      close(tree);
    errno = saved;
    if (rc < 0)
      FAIL("mount scratch /%s", writable[i]);
  }
  /* /var/tmp shares /tmp: one mount less on every launch */
  if (mkdirat(rootfd, "var", 0755) < 0 && errno != EEXIST)
    FAIL("mkdir /var");
  if (symlinkat("../tmp", rootfd, "var/tmp") < 0 && errno != EEXIST)
    FAIL("symlink /var/tmp");
  return 0;
}

int al_rootfs_build(const al_plan *p, unsigned *sockets_masked, int *upper_root, uint32_t *degraded, char *errbuf,
                    size_t errlen) {
  *sockets_masked = 0;
  *upper_root = -1;
  *degraded = 0;
  /* nothing we mount may propagate back to the host */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    FAIL("make mounts private");
  char opts[128];
  snprintf(opts, sizeof(opts), "mode=0755,%s", p->scratch_opts);
  if (mount("tmpfs", p->root_base, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
    FAIL("mount root tmpfs on %s", p->root_base);
  if (chdir(p->root_base) < 0 || mkdir("oldroot", 0700) < 0 || syscall(SYS_pivot_root, ".", "oldroot") < 0 ||
      chdir("/") < 0)
    FAIL("pivot_root into the new root");
  int rootfd = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (rootfd < 0)
    FAIL("open new root");
  struct stat st;
  if (fstat(rootfd, &st) < 0)
    FAIL("stat new root");
  dev_t root_dev = st.st_dev;
  int rc = -1;
  const uint64_t ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

  for (size_t i = 0; i < p->n_system; i++)
    if (place_entry(rootfd, root_dev, &p->system[i], ro, errbuf, errlen) < 0)
      goto out;
  if (p->generate_etc) {
    if (build_etc(rootfd, p, errbuf, errlen) < 0)
      goto out;
    for (size_t i = 0; i < p->n_etc; i++)
      if (place_entry(rootfd, root_dev, &p->etc[i], ro, errbuf, errlen) < 0)
        goto out;
  }
  if (build_dev(rootfd, root_dev, p, errbuf, errlen) < 0 || build_scratch(rootfd, p, errbuf, errlen) < 0 ||
      write_secrets(rootfd, root_dev, p, errbuf, errlen) < 0 || write_egress_ca(rootfd, p, errbuf, errlen) < 0)
    goto out;
  bool overlays = p->overlay_writes && p->n_ovl > 0;
  if (overlays && overlay_stage(rootfd, p, errbuf, errlen) < 0)
    goto out;
  for (size_t i = 0; i < p->n_user; i++)
    if (attach_user(rootfd, root_dev, p, i, sockets_masked, degraded, errbuf, errlen) < 0)
      goto out;
  if (overlays && overlay_unstage(rootfd, upper_root, errbuf, errlen) < 0)
    goto out;
  if (mkdirat(rootfd, "proc", 0555) < 0 && errno != EEXIST) {
    fail(errbuf, errlen, errno, "mkdir /proc");
    goto out;
  }
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
    fail(errbuf, errlen, errno, "mount /proc (a host /proc with masked paths prevents this)");
    goto out;
  }
  if (umount2(OLD_ROOT, MNT_DETACH) < 0 || rmdir(OLD_ROOT) < 0) {
    fail(errbuf, errlen, errno, "detach the host's root");
    goto out;
  }
  /* the root itself becomes read-only: writes go to the mounts meant for them */
  struct mount_attr ro_attr = {.attr_set = MOUNT_ATTR_RDONLY};
  if (mount_setattr(rootfd, "", AT_EMPTY_PATH, &ro_attr, sizeof(ro_attr)) < 0) {
    fail(errbuf, errlen, errno, "make root read-only");
    goto out;
  }
  rc = 0;
out:
  close(rootfd);
  return rc;
}
