/* SPDX-License-Identifier: Apache-2.0 */
/* scan.c - what a sandbox changed, read from its overlay upper layer after
 * the sandbox is gone.  In the upper layer (userxattr mode) a character
 * device 0:0 is a deletion (whiteout), a directory with user.overlay.opaque
 * "y" replaces the host directory's contents, anything else is new or
 * copied up.  The upper layer's names, links and file types are the
 * sandbox's choice: nothing is followed (every open is O_NOFOLLOW below a
 * descriptor), device nodes, fifos and sockets are refused and counted, and
 * the host side (the lower layer) is only stat'ed, read and hashed, to
 * record each changed path's base state. */
#define _GNU_SOURCE
#include "changeset.h"
#include "cleanup.h"
#include "error.h"
#include "sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define MAX_DEPTH 256

typedef struct {
  al_changeset *cs;
  airlock_error **err;
} scan_ctx;

static void skip(scan_ctx *c, const char *path, const char *why) {
  c->cs->skipped++;
  if (!c->cs->skipped_note && asprintf(&c->cs->skipped_note, "%s (%s)", path, why) < 0)
    c->cs->skipped_note = NULL;
}

/* open an upper entry for reading; rootless, the launcher owns the upper
 * layer's files but may have no permission on them yet: add it */
static int open_upper_at(int dir, const char *name, int flags, bool is_dir) {
  int fd = openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0 && errno == EACCES) {
    struct stat st;
    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode) &&
        fchmodat(dir, name, (st.st_mode & 07777) | (is_dir ? 0700 : 0400), 0) == 0)
      fd = openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  }
  return fd;
}

int al_ws_open_upper(int upper_fd, const char *path, int flags) {
  if (!al_ws_path_ok(path)) {
    errno = EINVAL;
    return -1;
  }
  char buf[4096];
  snprintf(buf, sizeof(buf), "%s", path);
  int cur = fcntl(upper_fd, F_DUPFD_CLOEXEC, 3);
  char *save = NULL;
  for (char *part = strtok_r(buf, "/", &save); part && cur >= 0; part = strtok_r(NULL, "/", &save)) {
    bool last = *save == '\0';
    int next = open_upper_at(cur, part, last ? flags : O_RDONLY | O_DIRECTORY, !last);
    int e = errno;
    close(cur);
    errno = e;
    cur = next;
  }
  return cur;
}

static int hash_at(int dir, const char *name, uint8_t sha[32], uint64_t *size, bool upper) {
  _cleanup_close_ int fd = upper ? open_upper_at(dir, name, O_RDONLY, false)
                                 : openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0)
    return -1;
  if (!S_ISREG(st.st_mode)) {
    errno = EINVAL;
    return -1;
  }
  return al_sha256_fd(fd, sha, size);
}

static char *read_link(int dir, const char *name) {
  char buf[4096];
  ssize_t n = readlinkat(dir, name, buf, sizeof(buf) - 1);
  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  return strdup(buf);
}

/* the host's state at name in lower (-1: nothing there) */
static int fill_base(int lower, const char *name, al_ws_entry *e, struct stat *ls) {
  if (lower < 0 || fstatat(lower, name, ls, AT_SYMLINK_NOFOLLOW) < 0) {
    e->base_type = AL_BASE_ABSENT;
    return 0;
  }
  e->base_mode = ls->st_mode & 07777;
  e->base_mtime = ls->st_mtim.tv_sec;
  if (S_ISREG(ls->st_mode)) {
    e->base_type = AL_BASE_FILE;
    if (hash_at(lower, name, e->base_sha, &e->base_size, false) < 0)
      return -1;
  } else if (S_ISDIR(ls->st_mode)) {
    e->base_type = AL_BASE_DIR;
  } else if (S_ISLNK(ls->st_mode)) {
    e->base_type = AL_BASE_LINK;
    if ((e->base_target = read_link(lower, name)) == NULL)
      return -1;
  } else {
    e->base_type = AL_BASE_OTHER;
  }
  return 0;
}

static al_ws_entry *add(scan_ctx *c, char op, const char *path) {
  al_ws_entry *e = al_changeset_add(c->cs, op, path);
  if (!e)
    al_err(c->err, ENOMEM, "workspace changes");
  return e;
}

static int scan_dir(scan_ctx *c, int upper, int lower, char *path, size_t plen, int depth);

static int scan_entry(scan_ctx *c, int upper, int lower, const char *name, char *path, size_t plen, int depth) {
  size_t nlen = strlen(name);
  if (plen + nlen + 2 >= 4096) {
    skip(c, path, "path too long");
    return 0;
  }
  if (plen)
    path[plen++] = '/';
  memcpy(path + plen, name, nlen + 1);
  size_t sub_len = plen + nlen;
  struct stat us, ls;
  if (fstatat(upper, name, &us, AT_SYMLINK_NOFOLLOW) < 0)
    return al_err(c->err, errno, "workspace changes: %s", path);
  al_ws_entry *e;
  if (S_ISCHR(us.st_mode) && us.st_rdev == makedev(0, 0)) { /* whiteout */
    struct stat tmp;
    if (lower < 0 || fstatat(lower, name, &tmp, AT_SYMLINK_NOFOLLOW) < 0)
      return 0; /* nothing on the host to delete */
    if ((e = add(c, AL_WS_DELETE, path)) == NULL)
      return -1;
    return fill_base(lower, name, e, &ls) < 0 ? al_err(c->err, errno, "workspace changes: host %s", path) : 0;
  }
  if (S_ISDIR(us.st_mode)) {
    if (depth + 1 >= MAX_DEPTH) {
      skip(c, path, "too deep");
      return 0;
    }
    _cleanup_close_ int sub = open_upper_at(upper, name, O_RDONLY | O_DIRECTORY, true);
    if (sub < 0)
      return al_err(c->err, errno, "workspace changes: %s", path);
    char val[4] = "";
    bool opaque = fgetxattr(sub, "user.overlay.opaque", val, sizeof(val)) == 1 && val[0] == 'y';
    _cleanup_close_ int lsub = -1;
    bool lower_dir = lower >= 0 && fstatat(lower, name, &ls, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(ls.st_mode);
    if (lower_dir && !opaque) {
      if ((ls.st_mode & 07777) != (us.st_mode & 07777)) {
        if ((e = add(c, AL_WS_CHMOD, path)) == NULL)
          return -1;
        e->mode = us.st_mode & 07777;
        if (fill_base(lower, name, e, &ls) < 0)
          return al_err(c->err, errno, "workspace changes: host %s", path);
      }
      lsub = openat(lower, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    } else {
      if ((e = add(c, lower_dir ? AL_WS_OPAQUE : AL_WS_DIR, path)) == NULL)
        return -1;
      e->mode = us.st_mode & 07777;
      if (fill_base(lower, name, e, &ls) < 0)
        return al_err(c->err, errno, "workspace changes: host %s", path);
    }
    return scan_dir(c, sub, lsub, path, sub_len, depth + 1);
  }
  if (S_ISREG(us.st_mode)) {
    if ((e = add(c, AL_WS_FILE, path)) == NULL)
      return -1;
    e->mode = us.st_mode & 07777;
    e->ino = us.st_nlink > 1 ? (uint64_t)us.st_ino : 0;
    e->alloc = (uint64_t)us.st_blocks * 512;
    if (hash_at(upper, name, e->sha, &e->size, true) < 0)
      return al_err(c->err, errno, "workspace changes: %s", path);
    if (fill_base(lower, name, e, &ls) < 0)
      return al_err(c->err, errno, "workspace changes: host %s", path);
    if (e->base_type == AL_BASE_FILE && e->base_size == e->size && memcmp(e->base_sha, e->sha, 32) == 0) {
      if (e->base_mode == e->mode) { /* copied up, not changed */
        free(e->path);
        c->cs->n--;
        return 0;
      }
      e->op = AL_WS_CHMOD;
      e->size = 0;
      memset(e->sha, 0, sizeof(e->sha));
    }
    return 0;
  }
  if (S_ISLNK(us.st_mode)) {
    _cleanup_free_ char *target = read_link(upper, name);
    if (!target) {
      skip(c, path, "unreadable link");
      return 0;
    }
    if ((e = add(c, AL_WS_SYMLINK, path)) == NULL)
      return -1;
    e->target = AL_STEAL(target);
    e->mode = 0777;
    if (fill_base(lower, name, e, &ls) < 0)
      return al_err(c->err, errno, "workspace changes: host %s", path);
    if (e->base_type == AL_BASE_LINK && strcmp(e->base_target, e->target) == 0) {
      free(e->path);
      free(e->target);
      free(e->base_target);
      c->cs->n--;
    }
    return 0;
  }
  skip(c, path, S_ISCHR(us.st_mode) || S_ISBLK(us.st_mode) ? "device node" : S_ISFIFO(us.st_mode) ? "fifo" : "socket");
  return 0;
}

static int scan_dir(scan_ctx *c, int upper, int lower, char *path, size_t plen, int depth) {
  int dfd = fcntl(upper, F_DUPFD_CLOEXEC, 3);
  _cleanup_closedir_ DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (!d) {
    if (dfd >= 0)
      close(dfd);
    return al_err(c->err, errno, "workspace changes: reading %s", plen ? path : "/");
  }
  struct dirent *de;
  errno = 0;
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    if (scan_entry(c, upper, lower, de->d_name, path, plen, depth) < 0)
      return -1;
    path[plen] = '\0';
    errno = 0;
  }
  if (errno)
    return al_err(c->err, errno, "workspace changes: reading %s", plen ? path : "/");
  return 0;
}

/* by path: stable output, and a directory still comes before what is in it */
static int by_path(const void *a, const void *b) {
  return strcmp(((const al_ws_entry *)a)->path, ((const al_ws_entry *)b)->path);
}

typedef struct {
  uint64_t ino;
  size_t index;
} link_ref;

static int by_ino(const void *a, const void *b) {
  const link_ref *x = a, *y = b;
  return x->ino != y->ino ? (x->ino < y->ino ? -1 : 1) : (x->index < y->index ? -1 : x->index > y->index);
}

/* Files sharing an upper inode (hard links the sandbox made) are written
 * once: the first path in order keeps the content, the others become
 * links to it.  Without this, a file of the whole quota linked a thousand
 * times would cost the host a thousand copies. */
static int group_links(al_changeset *cs, airlock_error **err) {
  size_t n = 0;
  for (size_t i = 0; i < cs->n; i++)
    n += cs->e[i].op == AL_WS_FILE && cs->e[i].ino;
  if (n < 2)
    return 0;
  _cleanup_free_ link_ref *refs = calloc(n, sizeof(*refs));
  if (!refs)
    return al_err(err, ENOMEM, "workspace changes");
  n = 0;
  for (size_t i = 0; i < cs->n; i++)
    if (cs->e[i].op == AL_WS_FILE && cs->e[i].ino)
      refs[n++] = (link_ref){cs->e[i].ino, i};
  qsort(refs, n, sizeof(*refs), by_ino);
  for (size_t k = 1; k < n; k++) {
    size_t first = k;
    while (first > 0 && refs[first - 1].ino == refs[k].ino)
      first--;
    if (first == k)
      continue;
    al_ws_entry *e = &cs->e[refs[k].index];
    if ((e->target = strdup(cs->e[refs[first].index].path)) == NULL)
      return al_err(err, ENOMEM, "workspace changes");
    e->op = AL_WS_LINK;
    e->size = e->alloc = 0;
    memset(e->sha, 0, sizeof(e->sha));
  }
  return 0;
}

int al_ws_scan(int upper_fd, int host_fd, al_changeset *cs, airlock_error **err) {
  scan_ctx c = {cs, err};
  char path[4096] = "";
  int rc = scan_dir(&c, upper_fd, host_fd, path, 0, 0);
  if (rc == 0 && cs->n > 1)
    qsort(cs->e, cs->n, sizeof(cs->e[0]), by_path);
  if (rc == 0)
    rc = group_links(cs, err);
  for (size_t i = 0; rc == 0 && i < cs->n; i++)
    cs->e[i].flags = al_ws_danger(&cs->e[i]);
  return rc;
}
