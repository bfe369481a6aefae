/* SPDX-License-Identifier: Apache-2.0 */
/* gvisor_gc.c - the bundles of gVisor sandboxes whose launcher was killed.
 *
 * A bundle (gvisor_run.c) lives in /run/airlock/gvisor-XXXXXX as root, else
 * $XDG_RUNTIME_DIR, /tmp or /dev/shm as airlock-gvisor-XXXXXX, and may hold
 * --secret files on a tmpfs while its sandbox runs.  A launcher that gets
 * SIGKILL cannot remove it, so the secrets would stay.  Each bundle holds
 * an `owner.lock` that its launcher (or, for a node's sandbox, the
 * supervisor) keeps locked with flock() for its whole life; `airlock gc`
 * takes the lock of every bundle of the caller's that it can, which only
 * succeeds when nobody holds it, overwrites the secret files and removes the
 * bundle.  A bundle without the file (its launcher has not made it yet, or
 * an older version made the bundle) is left alone. */
#define _GNU_SOURCE
#include "cleanup.h"
#include "error.h"
#include "gvisor.h"
#include "launch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCK_NAME "owner.lock"

int al_gvisor_bundle_lock(int bundle_dirfd, airlock_error **err) {
  _cleanup_close_ int fd = openat(bundle_dirfd, LOCK_NAME, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
    return al_err(err, errno, "isolation gvisor: the bundle's %s", LOCK_NAME);
  return AL_STEAL_FD(fd);
}

/* overwrite every regular file below rootfs/run/secrets (its names are the
 * killed launcher's plan's, which we do not have) */
static void wipe_secret_files(int bundle_dirfd) {
  _cleanup_close_ int dir = openat(bundle_dirfd, "rootfs/run/secrets", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0)
    return;
  fchmod(dir, 0700);
  int scan = dup(dir);
  DIR *d = scan >= 0 ? fdopendir(scan) : NULL;
  if (!d) {
    if (scan >= 0)
      close(scan);
    return;
  }
  static const char zeros[4096];
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    struct stat st;
    _cleanup_close_ int fd = openat(dir, e->d_name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
      continue;
    for (off_t off = 0; off < st.st_size;) {
      size_t n = (size_t)(st.st_size - off) < sizeof(zeros) ? (size_t)(st.st_size - off) : sizeof(zeros);
      ssize_t w = pwrite(fd, zeros, n, off);
      if (w <= 0)
        break;
      off += w;
    }
  }
  closedir(d);
}

/* one directory of bundles: entries prefix* owned by the caller */
static unsigned gc_in(const char *base, const char *prefix) {
  _cleanup_close_ int basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (basefd < 0)
    return 0;
  int scan = dup(basefd);
  DIR *d = scan >= 0 ? fdopendir(scan) : NULL;
  if (!d) {
    if (scan >= 0)
      close(scan);
    return 0;
  }
  unsigned removed = 0;
  size_t plen = strlen(prefix);
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (strncmp(e->d_name, prefix, plen) != 0 || strlen(e->d_name) != plen + 6)
      continue; /* mkdtemp's six characters */
    _cleanup_close_ int dirfd = openat(basefd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (dirfd < 0 || fstat(dirfd, &st) < 0 || st.st_uid != geteuid())
      continue;
    _cleanup_close_ int lock = openat(dirfd, LOCK_NAME, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0)
      continue; /* no lock file yet, or its launcher is alive */
    wipe_secret_files(dirfd);
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
    al_remove_tree(path);
    if (faccessat(basefd, e->d_name, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
      removed++;
  }
  closedir(d);
  return removed;
}

unsigned al_gvisor_gc(void) {
  unsigned n = 0;
  if (geteuid() == 0)
    n += gc_in("/run/airlock", "gvisor-");
  const char *xdg = getenv("XDG_RUNTIME_DIR");
  if (xdg && xdg[0] == '/')
    n += gc_in(xdg, "airlock-gvisor-");
  n += gc_in("/tmp", "airlock-gvisor-");
  n += gc_in("/dev/shm", "airlock-gvisor-");
  return n;
}
