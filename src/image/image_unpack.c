/* SPDX-License-Identifier: Apache-2.0 */
/* image_unpack.c - one image layer applied to a root directory.  A layer is
 * untrusted input: libarchive reads the tar (and its gzip or zstd), and every
 * path is resolved inside the root with openat2(RESOLVE_IN_ROOT), so no entry,
 * symbolic link or hard link of the layer can reach outside it.  OCI whiteouts
 * (.wh.NAME, .wh..wh..opq) are applied in a first pass over the layer, before
 * its entries, since they remove what lower layers left.  Device nodes, FIFOs
 * and sockets are skipped; setuid and setgid bits are dropped unless asked;
 * extended attributes (file capabilities) are never applied. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "image.h"

#define WH ".wh."
#define WH_OPAQUE ".wh..wh..opq"

static int open_in_root(int rootfd, const char *path, int flags) {
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
  if (*path == '\0')
    path = ".";
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

/* "./a//b/" -> "a/b"; -1 when a component is ".." (the layer is refused:
 * a well-made layer never has one) */
static int clean_path(const char *raw, char *out, size_t size) {
  size_t o = 0;
  const char *p = raw;
  while (*p) {
    while (*p == '/')
      p++;
    const char *end = p + strcspn(p, "/");
    size_t len = (size_t)(end - p);
    if (len == 2 && p[0] == '.' && p[1] == '.')
      return -1;
    if (len > 0 && !(len == 1 && p[0] == '.')) {
      if (o + len + 2 > size)
        return -1;
      if (o)
        out[o++] = '/';
      memcpy(out + o, p, len);
      o += len;
    }
    p = end;
  }
  out[o] = '\0';
  return 0;
}

/* split "a/b/c" into parent "a/b" and name "c" (in place) */
static const char *split_last(char *path) {
  char *slash = strrchr(path, '/');
  if (!slash) {
    memmove(path + 1, path, strlen(path) + 1);
    path[0] = '\0';
    return path + 1;
  }
  *slash = '\0';
  return slash + 1;
}

/* every entry below the directory fd (not fd itself), depth first */
static int remove_children(int fd) {
  int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dup_fd < 0 ? NULL : fdopendir(dup_fd);
  if (!d) {
    if (dup_fd >= 0)
      close(dup_fd);
    return -1;
  }
  struct dirent *de;
  int rc = 0;
  while (rc == 0 && (de = readdir(d)))
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
      rc = al_remove_tree_at(fd, de->d_name);
  closedir(d);
  return rc;
}

int al_remove_tree_at(int dirfd, const char *name) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : -1;
  if (!S_ISDIR(st.st_mode))
    return unlinkat(dirfd, name, 0);
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int rc = remove_children(fd);
  close(fd);
  return rc < 0 ? -1 : unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* the directory PATH inside the root, made (0755) where missing */
static int make_dirs(int rootfd, const char *path) {
  char prefix[PATH_MAX];
  int fd = open_in_root(rootfd, "", O_PATH | O_DIRECTORY);
  for (const char *p = path; fd >= 0 && *p;) {
    const char *end = p + strcspn(p, "/");
    snprintf(prefix, sizeof(prefix), "%.*s", (int)(end - path), path);
    int next = open_in_root(rootfd, prefix, O_PATH | O_DIRECTORY);
    if (next < 0 && errno == ENOENT) {
      char name[NAME_MAX + 1];
      snprintf(name, sizeof(name), "%.*s", (int)(end - p), p);
      if (mkdirat(fd, name, 0755) < 0 && errno != EEXIST) {
        close(fd);
        return -1;
      }
      next = open_in_root(rootfd, prefix, O_PATH | O_DIRECTORY);
    }
    close(fd);
    fd = next;
    p = *end ? end + 1 : end;
  }
  return fd;
}

typedef struct layer_ctx {
  int rootfd;
  bool keep_setuid;
  bool as_root;
  int skipped;
  airlock_error **err;
} layer_ctx;

static int open_layer(struct archive **a, int fd, airlock_error **err) {
  if (lseek(fd, 0, SEEK_SET) < 0)
    return al_err(err, errno, "layer: seek");
  *a = archive_read_new();
  if (!*a)
    return al_err(err, ENOMEM, "layer");
  archive_read_support_filter_all(*a);
  archive_read_support_format_tar(*a);
  if (archive_read_open_fd(*a, fd, 1 << 16) != ARCHIVE_OK) {
    al_err(err, 0, "layer is not a tar archive: %s", archive_error_string(*a));
    archive_read_free(*a);
    *a = NULL;
    return -1;
  }
  return 0;
}

/* pass 1: the whiteouts of this layer remove what lower layers left */
static int apply_whiteouts(layer_ctx *c, struct archive *a) {
  struct archive_entry *e;
  int r;
  while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
    char path[PATH_MAX];
    if (clean_path(archive_entry_pathname(e), path, sizeof(path)) < 0)
      return al_err(c->err, 0, "layer entry '%.200s' leaves the image's root", archive_entry_pathname(e));
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (strncmp(base, WH, strlen(WH)) != 0)
      continue;
    const char *name = split_last(path);
    _cleanup_close_ int dir = open_in_root(c->rootfd, path, O_RDONLY | O_DIRECTORY);
    if (dir < 0)
      continue; /* nothing below to hide */
    int rc = strcmp(name, WH_OPAQUE) == 0 ? remove_children(dir) : al_remove_tree_at(dir, name + strlen(WH));
    if (rc < 0)
      return al_err(c->err, errno, "layer whiteout '%.200s/%.200s'", path, name);
  }
  return r == ARCHIVE_EOF ? 0 : al_err(c->err, 0, "layer: %s", archive_error_string(a));
}

static int write_file(layer_ctx *c, struct archive *a, int fd) {
  const void *buf;
  size_t len;
  la_int64_t off;
  int r;
  while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
    const char *p = buf;
    while (len > 0) {
      ssize_t w = pwrite(fd, p, len, off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return al_err(c->err, errno, "layer: write");
      p += w, len -= (size_t)w, off += w;
    }
  }
  return r == ARCHIVE_EOF ? 0 : al_err(c->err, 0, "layer: %s", archive_error_string(a));
}

static mode_t entry_mode(const layer_ctx *c, struct archive_entry *e) {
  mode_t m = archive_entry_perm(e) & 07777;
  if (!c->keep_setuid)
    m &= (mode_t)~(S_ISUID | S_ISGID);
  return m;
}

/* pass 2: one entry of the layer, created in its parent inside the root */
static int apply_entry(layer_ctx *c, struct archive *a, struct archive_entry *e) {
  char path[PATH_MAX], link[PATH_MAX];
  const char *raw = archive_entry_pathname(e);
  if (clean_path(raw, path, sizeof(path)) < 0)
    return al_err(c->err, 0, "layer entry '%.200s' leaves the image's root", raw);
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  if (path[0] == '\0' || strncmp(base, WH, strlen(WH)) == 0)
    return 0; /* the root itself; whiteouts were pass 1's */
  mode_t type = archive_entry_filetype(e);
  const char *hard = archive_entry_hardlink(e);
  if (!hard && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
    c->skipped++; /* devices, FIFOs, sockets: never in an image's root */
    return 0;
  }
  char full[PATH_MAX];
  snprintf(full, sizeof(full), "%s", path);
  const char *name = split_last(path);
  _cleanup_close_ int dir = make_dirs(c->rootfd, path);
  if (dir < 0)
    return al_err(c->err, errno, "layer entry '%.200s': parent directory", full);
  struct stat st;
  bool exists = fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && !(type == AE_IFDIR && !hard && S_ISDIR(st.st_mode)) && al_remove_tree_at(dir, name) < 0)
    return al_err(c->err, errno, "layer entry '%.200s': replace", full);
  uid_t uid = (uid_t)archive_entry_uid(e);
  gid_t gid = (gid_t)archive_entry_gid(e);
  if (hard) {
    if (clean_path(hard, link, sizeof(link)) < 0 || link[0] == '\0')
      return al_err(c->err, 0, "layer hard link '%.200s' -> '%.200s' leaves the image's root", full, hard);
    const char *tname = split_last(link);
    _cleanup_close_ int tdir = open_in_root(c->rootfd, link, O_PATH | O_DIRECTORY);
    if (tdir < 0 || linkat(tdir, tname, dir, name, 0) < 0)
      return al_err(c->err, errno, "layer hard link '%.200s' -> '%.200s'", full, hard);
    return 0;
  }
  if (type == AE_IFLNK) {
    const char *target = archive_entry_symlink(e);
    if (!target || symlinkat(target, dir, name) < 0)
      return al_err(c->err, errno, "layer symbolic link '%.200s'", full);
    if (c->as_root && fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
      return al_err(c->err, errno, "layer symbolic link '%.200s': owner", full);
    return 0;
  }
  mode_t mode = entry_mode(c, e);
  _cleanup_close_ int fd = -1;
  if (type == AE_IFDIR) {
    if (!exists && mkdirat(dir, name, 0700) < 0)
      return al_err(c->err, errno, "layer directory '%.200s'", full);
    fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (!c->as_root)
      mode |= S_IRWXU; /* later layers must still write into it */
  } else {
    fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0 && write_file(c, a, fd) < 0)
      return -1;
  }
  if (fd < 0)
    return al_err(c->err, errno, "layer entry '%.200s'", full);
  if (c->as_root && fchown(fd, uid, gid) < 0)
    return al_err(c->err, errno, "layer entry '%.200s': owner", full);
  if (fchmod(fd, mode) < 0)
    return al_err(c->err, errno, "layer entry '%.200s': mode", full);
  return 0;
}

int al_layer_apply(int rootfd, int fd, bool keep_setuid, int *skipped, airlock_error **err) {
  layer_ctx c = {.rootfd = rootfd, .keep_setuid = keep_setuid, .as_root = geteuid() == 0, .err = err};
  struct archive *a = NULL;
  if (open_layer(&a, fd, err) < 0)
    return -1;
  int rc = apply_whiteouts(&c, a);
  archive_read_free(a);
  if (rc < 0 || open_layer(&a, fd, err) < 0)
    return -1;
  struct archive_entry *e;
  int r = ARCHIVE_OK;
  while (rc == 0 && ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN))
    rc = apply_entry(&c, a, e);
  if (rc == 0 && r != ARCHIVE_EOF)
    rc = al_err(err, 0, "layer: %s", archive_error_string(a));
  archive_read_free(a);
  if (skipped)
    *skipped += c.skipped;
  return rc;
}
