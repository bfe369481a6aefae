/* SPDX-License-Identifier: Apache-2.0 */
/* apply.c - writing a changeset onto the host's workspace directory, the
 * one path for both live write-back and `airlock changes apply`.  The host
 * directory was opened once; everything below it is reached component by
 * component with O_NOFOLLOW on the same file system, and changed only with
 * *at calls relative to those descriptors, so a link planted on the host
 * or in the changeset never redirects a write.  Files are written to a new
 * temporary name and renamed over the old one (an existing inode, maybe a
 * hard link to something else, is never written into); setuid and setgid
 * bits are dropped.  As root the host side runs with the workspace owner's
 * file system ids and no supplementary groups (per thread, raw syscalls):
 * the write-back can do what the sandbox could do through its idmapped
 * mount, no more. */
#define _GNU_SOURCE
#include "changeset.h"
#include "cleanup.h"
#include "error.h"
#include "sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

typedef struct {
  bool active; /* root switching to the owner */
  uid_t uid;
  gid_t gid;
  gid_t groups[256];
  int ngroups;
} creds;

static void creds_init(creds *c, uid_t uid, gid_t gid) {
  memset(c, 0, sizeof(*c));
  c->active = geteuid() == 0 && uid != 0;
  c->uid = uid;
  c->gid = gid;
  if (c->active) {
    c->ngroups = getgroups(AL_ARRAY_SIZE(c->groups), c->groups);
    if (c->ngroups < 0)
      c->ngroups = 0;
  }
}

static void as_owner(creds *c) {
  if (!c->active)
    return;
  syscall(SYS_setgroups, 0, NULL);
  syscall(SYS_setfsgid, c->gid);
  syscall(SYS_setfsuid, c->uid);
}

static void as_self(creds *c) {
  if (!c->active)
    return;
  syscall(SYS_setfsuid, 0);
  syscall(SYS_setfsgid, 0);
  syscall(SYS_setgroups, c->ngroups, c->groups);
}

/* chmod without following a link (fchmodat2, Linux 6.6) */
static int chmod_nofollow(int dir, const char *name, mode_t mode) {
  if (syscall(SYS_fchmodat2, dir, name, mode, AT_SYMLINK_NOFOLLOW) == 0)
    return 0;
  if (errno != ENOSYS)
    return -1;
  struct stat st;
  if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return -1;
  if (S_ISLNK(st.st_mode)) {
    errno = ELOOP;
    return -1;
  }
  return fchmodat(dir, name, mode, 0);
}

/* The last parent directory opened: entries come sorted by path, so
 * siblings follow each other and most entries reuse it (a walk from the
 * root for each of 20,000 files was most of an apply's time).  A directory
 * removed or replaced is never the parent of a later entry in that order. */
typedef struct {
  char path[4096];
  int fd;
} dir_cache;

static int cached_dir(dir_cache *c, int root, const char *path, bool create) {
  if (c->fd >= 0 && strcmp(c->path, path) == 0)
    return c->fd;
  int fd = al_ws_open_dir(root, path, create, 0, 0);
  if (fd < 0)
    return -1;
  if (c->fd >= 0)
    close(c->fd);
  c->fd = fd;
  snprintf(c->path, sizeof(c->path), "%s", path);
  return fd;
}

int al_ws_open_dir(int root, const char *path, bool create, uid_t uid, gid_t gid) {
  (void)uid;
  (void)gid;
  struct stat rst, st;
  if (fstat(root, &rst) < 0)
    return -1;
  int cur = openat(root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (path[0] == '\0' || cur < 0)
    return cur;
  if (!al_ws_path_ok(path)) {
    close(cur);
    errno = EINVAL;
    return -1;
  }
  char buf[4096];
  snprintf(buf, sizeof(buf), "%s", path);
  char *save = NULL;
  for (char *part = strtok_r(buf, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
    int next = openat(cur, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && create) {
      if (mkdirat(cur, part, 0755) < 0 && errno != EEXIST) {
        int e = errno;
        close(cur);
        errno = e;
        return -1;
      }
      next = openat(cur, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    int e = errno;
    close(cur);
    if (next < 0) {
      errno = e == ELOOP ? ENOTDIR : e;
      return -1;
    }
    if (fstat(next, &st) < 0 || st.st_dev != rst.st_dev) {
      close(next);
      errno = EXDEV;
      return -1;
    }
    cur = next;
  }
  return cur;
}

/* remove name below dir, a whole tree if it is a directory, never leaving
 * the file system or following a link */
static int rm_tree(int dir, const char *name, int depth) {
  if (unlinkat(dir, name, 0) == 0 || errno == ENOENT)
    return 0;
  if ((errno != EISDIR && errno != EPERM) || depth > 256)
    return -1;
  struct stat pst, st;
  int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  if (fstat(dir, &pst) < 0 || fstat(fd, &st) < 0 || st.st_dev != pst.st_dev) {
    close(fd);
    errno = EXDEV;
    return -1;
  }
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -1;
  }
  struct dirent *de;
  int rc = 0;
  while (rc == 0 && (de = readdir(d)) != NULL)
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
      rc = rm_tree(dirfd(d), de->d_name, depth + 1);
  closedir(d);
  if (rc == 0 && unlinkat(dir, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    rc = -1;
  return rc;
}

int al_ws_rm_tree(int dir, const char *name) { return rm_tree(dir, name, 0); }

static int empty_dir(int dir, const char *name) {
  int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -1;
  }
  struct dirent *de;
  int rc = 0;
  while (rc == 0 && (de = readdir(d)) != NULL)
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
      rc = rm_tree(dirfd(d), de->d_name, 1);
  closedir(d);
  return rc;
}

static int copy_range(int in, int out, off_t off, off_t len, uint64_t *copied) {
  char buf[65536];
  while (len > 0) {
    ssize_t n = pread(in, buf, len < (off_t)sizeof(buf) ? (size_t)len : sizeof(buf), off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n < 0 ? -1 : 0;
    for (ssize_t w = 0; w < n;) {
      ssize_t k = pwrite(out, buf + w, (size_t)(n - w), off + w);
      if (k < 0 && errno == EINTR)
        continue;
      if (k <= 0)
        return -1;
      w += k;
    }
    off += n;
    len -= n;
    *copied += (uint64_t)n;
  }
  return 0;
}

int al_ws_copy(int in, int out, uint64_t *copied) {
  *copied = 0;
  struct stat st;
  if (fstat(in, &st) < 0)
    return -1;
  off_t off = 0;
  while (off < st.st_size) {
    off_t data = lseek(in, off, SEEK_DATA);
    if (data < 0 && errno == ENXIO)
      break;        /* a hole up to the end */
    if (data < 0) { /* no SEEK_DATA: copy it all */
      data = off;
    }
    off_t hole = lseek(in, data, SEEK_HOLE);
    if (hole < 0)
      hole = st.st_size;
    if (copy_range(in, out, data, hole - data, copied) < 0)
      return -1;
    off = hole;
  }
  return ftruncate(out, st.st_size);
}

uint64_t al_ws_host_cost(const al_changeset *cs) {
  uint64_t cost = 0;
  for (size_t i = 0; i < cs->n; i++) {
    const al_ws_entry *e = &cs->e[i];
    if (e->op == AL_WS_FILE)
      cost += (e->alloc + 4095) / 4096 * 4096; /* as scanned: holes cost nothing */
    else if (e->op == AL_WS_DIR || e->op == AL_WS_OPAQUE || (e->op == AL_WS_SYMLINK && strlen(e->target) >= 60))
      cost += 4096;
  }
  return cost;
}

static void tmp_name(char *buf, size_t len, size_t index) {
  snprintf(buf, len, ".airlock-wb.%d.%zu", (int)getpid(), index);
}

/* put a new file or link at tmp in place of name */
static int replace(int dir, const char *tmp, const char *name) {
  if (renameat(dir, tmp, dir, name) == 0)
    return 0;
  if (errno != EISDIR && errno != ENOTEMPTY && errno != EEXIST)
    return -1;
  if (rm_tree(dir, name, 0) < 0)
    return -1;
  return renameat(dir, tmp, dir, name);
}

typedef struct {
  creds *cr;
  al_ws_open_fn open_content;
  void *ctx;
  al_ws_stats *st;
  dir_cache cache;
} apply_ctx;

/* A new name is created in place (O_EXCL: nothing there, nothing
 * followed); an existing one gets a temporary name renamed over it. */
static int apply_file(apply_ctx *a, int dir, const char *name, bool exists, size_t i, const al_ws_entry *e) {
  as_self(a->cr);
  _cleanup_close_ int src = a->open_content(a->ctx, i, e);
  as_owner(a->cr);
  struct stat sst;
  if (src < 0 || fstat(src, &sst) < 0 || !S_ISREG(sst.st_mode)) {
    if (src >= 0)
      errno = EINVAL;
    return -1;
  }
  char tmp[64];
  tmp_name(tmp, sizeof(tmp), i);
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  bool direct = !exists;
  _cleanup_close_ int out = direct ? openat(dir, name, flags, 0600) : -1;
  if (out < 0 && direct && errno != EEXIST)
    return -1;
  if (out < 0) {
    direct = false;
    if ((out = openat(dir, tmp, flags, 0600)) < 0)
      return -1;
  }
  uint64_t n = 0;
  struct timespec times[2] = {sst.st_atim, sst.st_mtim};
  if (al_ws_copy(src, out, &n) < 0 || fchmod(out, e->mode & 0777) < 0 || futimens(out, times) < 0 ||
      (!direct && replace(dir, tmp, name) < 0)) {
    int saved = errno;
    unlinkat(dir, direct ? name : tmp, 0);
    errno = saved;
    return -1;
  }
  a->st->bytes += n;
  a->st->files++;
  return 0;
}

static int apply_entry(apply_ctx *a, int host, size_t i, const al_ws_entry *e) {
  char parent[4096];
  snprintf(parent, sizeof(parent), "%s", e->path);
  char *slash = strrchr(parent, '/');
  const char *name = slash ? e->path + (slash - parent) + 1 : e->path;
  if (slash)
    *slash = '\0';
  bool create = e->op != AL_WS_DELETE && e->op != AL_WS_CHMOD;
  int dir = cached_dir(&a->cache, host, slash ? parent : "", create);
  if (dir < 0)
    return !create && errno == ENOENT ? 0 : -1;
  struct stat st;
  bool exists = fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
  switch (e->op) {
  case AL_WS_FILE: return apply_file(a, dir, name, exists, i, e);
  case AL_WS_DIR:
  case AL_WS_OPAQUE:
    if (exists && !S_ISDIR(st.st_mode) && unlinkat(dir, name, 0) < 0)
      return -1;
    if (exists && S_ISDIR(st.st_mode) && e->op == AL_WS_OPAQUE && empty_dir(dir, name) < 0)
      return -1;
    if ((!exists || !S_ISDIR(st.st_mode)) && mkdirat(dir, name, 0700) < 0)
      return -1;
    a->st->dirs++;
    /* writable and searchable for the entries below it; its own mode comes
     * in the last pass (finish_modes) */
    return !exists || !S_ISDIR(st.st_mode) ? 0 : chmod_nofollow(dir, name, (st.st_mode & 07777) | 0700);
  case AL_WS_SYMLINK: {
    char tmp[64];
    tmp_name(tmp, sizeof(tmp), i);
    if (symlinkat(e->target, dir, tmp) < 0)
      return -1;
    if (replace(dir, tmp, name) < 0) {
      int saved = errno;
      unlinkat(dir, tmp, 0);
      errno = saved;
      return -1;
    }
    a->st->links++;
    return 0;
  }
  case AL_WS_LINK: {
    char tparent[4096];
    snprintf(tparent, sizeof(tparent), "%s", e->target);
    char *ts = strrchr(tparent, '/');
    const char *tname = ts ? e->target + (ts - tparent) + 1 : e->target;
    if (ts)
      *ts = '\0';
    _cleanup_close_ int tdir = al_ws_open_dir(host, ts ? tparent : "", false, 0, 0);
    struct stat tst;
    char tmp[64];
    tmp_name(tmp, sizeof(tmp), i);
    if (tdir < 0 || fstatat(tdir, tname, &tst, AT_SYMLINK_NOFOLLOW) < 0)
      return -1;
    if (!S_ISREG(tst.st_mode)) { /* only ever a file this changeset wrote */
      errno = EINVAL;
      return -1;
    }
    if (linkat(tdir, tname, dir, tmp, 0) < 0)
      return -1;
    if (replace(dir, tmp, name) < 0) {
      int saved = errno;
      unlinkat(dir, tmp, 0);
      errno = saved;
      return -1;
    }
    a->st->links++;
    return 0;
  }
  case AL_WS_DELETE:
    if (!exists)
      return 0;
    a->st->deleted++;
    return rm_tree(dir, name, 0);
  case AL_WS_CHMOD:
    if (!exists)
      return 0;
    a->st->chmods++;
    if (S_ISDIR(st.st_mode))
      return chmod_nofollow(dir, name, (st.st_mode & 07777) | 0700); /* see finish_modes */
    return chmod_nofollow(dir, name, e->mode & 0777);
  default: errno = EINVAL; return -1;
  }
}

/* Directories' own modes, deepest first, once everything below them is in
 * place (a directory the sandbox left read-only still got its entries). */
static int finish_modes(const al_changeset *cs, const bool *select, int host, creds *cr, airlock_error **err) {
  for (size_t i = cs->n; i-- > 0;) {
    const al_ws_entry *e = &cs->e[i];
    if ((select && !select[i]) || (e->op != AL_WS_DIR && e->op != AL_WS_OPAQUE && e->op != AL_WS_CHMOD))
      continue;
    char parent[4096];
    snprintf(parent, sizeof(parent), "%s", e->path);
    char *slash = strrchr(parent, '/');
    const char *name = slash ? e->path + (slash - parent) + 1 : e->path;
    if (slash)
      *slash = '\0';
    as_owner(cr);
    _cleanup_close_ int dir = al_ws_open_dir(host, slash ? parent : "", false, 0, 0);
    struct stat st;
    int rc = dir < 0 || fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)
                 ? 0
                 : chmod_nofollow(dir, name, e->mode & 01777);
    int saved = errno;
    as_self(cr);
    if (rc < 0)
      return al_err(err, saved, "workspace write-back: mode of %s", e->path);
  }
  return 0;
}

int al_ws_apply(const al_changeset *cs, const bool *select, int host_fd, uid_t owner_uid, gid_t owner_gid,
                al_ws_open_fn open_content, void *ctx, al_ws_stats *st, airlock_error **err) {
  creds cr;
  creds_init(&cr, owner_uid, owner_gid);
  memset(st, 0, sizeof(*st));
  apply_ctx a = {&cr, open_content, ctx, st, {.fd = -1}};
  int rc = 0;
  for (size_t i = 0; i < cs->n && rc == 0; i++) {
    if (select && !select[i])
      continue;
    if (!al_ws_path_ok(cs->e[i].path)) {
      rc = al_err(err, 0, "workspace write-back: refusing the path '%s'", cs->e[i].path);
      break;
    }
    as_owner(&cr);
    if (apply_entry(&a, host_fd, i, &cs->e[i]) < 0)
      rc = al_err(err, errno, "workspace write-back: %s", cs->e[i].path);
    as_self(&cr);
  }
  if (a.cache.fd >= 0)
    close(a.cache.fd);
  return rc == 0 ? finish_modes(cs, select, host_fd, &cr, err) : rc;
}

/* ---- conflicts: has the host copy changed since the changeset was taken? ---- */

static bool same_as_base(int host, dir_cache *cache, const al_ws_entry *e) {
  char parent[4096];
  snprintf(parent, sizeof(parent), "%s", e->path);
  char *slash = strrchr(parent, '/');
  const char *name = slash ? e->path + (slash - parent) + 1 : e->path;
  if (slash)
    *slash = '\0';
  int dir = cached_dir(cache, host, slash ? parent : "", false);
  struct stat st;
  if (dir < 0 || fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return e->base_type == AL_BASE_ABSENT;
  switch (e->base_type) {
  case AL_BASE_ABSENT: return false;
  case AL_BASE_DIR: return S_ISDIR(st.st_mode);
  case AL_BASE_OTHER: return !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode);
  case AL_BASE_LINK: {
    if (!S_ISLNK(st.st_mode))
      return false;
    char buf[4096];
    ssize_t n = readlinkat(dir, name, buf, sizeof(buf) - 1);
    if (n < 0)
      return false;
    buf[n] = '\0';
    return strcmp(buf, e->base_target) == 0;
  }
  case AL_BASE_FILE: {
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->base_size)
      return false;
    _cleanup_close_ int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    uint8_t sha[32];
    uint64_t size;
    return fd >= 0 && al_sha256_fd(fd, sha, &size) == 0 && memcmp(sha, e->base_sha, 32) == 0;
  }
  default: return false;
  }
}

char *al_ws_conflicts(const al_changeset *cs, const bool *select, int host_fd, size_t *count) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NULL;
  *count = 0;
  dir_cache cache = {.fd = -1};
  for (size_t i = 0; i < cs->n; i++) {
    if ((select && !select[i]) || same_as_base(host_fd, &cache, &cs->e[i]))
      continue;
    if (*count < AL_WS_CONFLICTS_NAMED)
      fprintf(f, "%s%s", *count ? ", " : "", cs->e[i].path);
    (*count)++;
  }
  if (*count > AL_WS_CONFLICTS_NAMED)
    fprintf(f, " and %zu more", *count - AL_WS_CONFLICTS_NAMED);
  if (cache.fd >= 0)
    close(cache.fd);
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}
