/* SPDX-License-Identifier: Apache-2.0 */
/* identity.c - leasing a sandbox's own host uid and gid (see identity.h).
 * Open file description locks (F_OFD_SETLK) on byte N of the lock file stand
 * for "uid start+N is in use": the kernel drops them when the last
 * descriptor of that open goes away, so a crashed launcher or node leaks
 * nothing, and a sandbox whose init still runs keeps its uid. */
#define _GNU_SOURCE
#include "identity.h"
#include "cleanup.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* "NAME:START:COUNT" for NAME in one subordinate id file; 0 when found. */
static int find_subid(const char *path, const char *want, uint32_t *start, uint32_t *count) {
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (f == NULL)
    return -1;
  char line[256];
  while (fgets(line, sizeof(line), f)) {
    char name[64];
    unsigned long long s, c;
    if (sscanf(line, "%63[^:]:%llu:%llu", name, &s, &c) == 3 && strcmp(name, want) == 0 &&
        s <= UINT32_MAX && c <= UINT32_MAX) {
      *start = (uint32_t)s;
      *count = (uint32_t)c;
      return 0;
    }
  }
  return -1;
}

int al_id_range_load(const char *subuid, const char *subgid, const char *passwd, al_id_range *r, airlock_error **err) {
  return al_id_range_load_named(AL_ID_RANGE_NAME, AL_ID_RANGE_DEFAULT_START, AL_ID_RANGE_DEFAULT_COUNT, subuid, subgid,
                                passwd, r, err);
}

int al_id_range_load_named(const char *range_name, uint32_t default_start, uint32_t default_count, const char *subuid,
                           const char *subgid, const char *passwd, al_id_range *r, airlock_error **err) {
  uint32_t us, uc, gs, gc;
  if (find_subid(subuid, range_name, &us, &uc) == 0 && find_subid(subgid, range_name, &gs, &gc) == 0) {
    *r = (al_id_range){us, gs, uc < gc ? uc : gc, true};
  } else {
    *r = (al_id_range){default_start, default_start, default_count, false};
  }
  char where_buf[128];
  snprintf(where_buf, sizeof(where_buf), "the '%s' entries of /etc/subuid and /etc/subgid", range_name);
  const char *where = r->from_subid ? where_buf : "the default range";
  if (r->count == 0)
    return al_err(err, 0, "sandbox uid range (%s) is empty", where);
  /* 65535 and above only: never a system or regular user's id, never nobody */
  uint64_t uid_end = (uint64_t)r->uid_start + r->count, gid_end = (uint64_t)r->gid_start + r->count;
  if (r->uid_start < 65536 || r->gid_start < 65536 || uid_end > (uint64_t)UINT32_MAX || gid_end > (uint64_t)UINT32_MAX)
    return al_err(err, 0, "sandbox uid range %u-%llu (%s) must lie between 65536 and 4294967294", r->uid_start,
                  (unsigned long long)uid_end - 1, where);
  if (passwd == NULL)
    return 0;
  _cleanup_fclose_ FILE *f = fopen(passwd, "re");
  struct passwd pw, *ent;
  char buf[4096];
  while (f && fgetpwent_r(f, &pw, buf, sizeof(buf), &ent) == 0) {
    if (ent->pw_uid >= r->uid_start && (uint64_t)ent->pw_uid < uid_end)
      return al_err(err, 0,
                    "sandbox uid range %u-%llu (%s) holds the uid of user '%s' (%u); reserve another "
                    "range for airlock in /etc/subuid and /etc/subgid",
                    r->uid_start, (unsigned long long)uid_end - 1, where, ent->pw_name, (unsigned)ent->pw_uid);
  }
  return 0;
}

static int open_lock_file(const char *path, airlock_error **err) {
  _cleanup_free_ char *dir = strdup(path);
  if (dir == NULL)
    return al_err(err, ENOMEM, "sandbox uid lock");
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = '\0';
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
      return al_err(err, errno, "sandbox uid lock: mkdir %s", dir);
  }
  int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return al_err(err, errno, "sandbox uid lock %s", path);
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
    close(fd);
    return al_err(err, 0, "sandbox uid lock %s must be a regular file of root's that only root may write", path);
  }
  return fd;
}

int al_id_lease_take(const char *lock_path, const al_id_range *r, al_id_lease *out, airlock_error **err) {
  *out = (al_id_lease){.lock_fd = -1};
  _cleanup_close_ int fd = open_lock_file(lock_path, err);
  if (fd < 0)
    return -1;
  uint32_t first = 0;
  if (getrandom(&first, sizeof(first), GRND_NONBLOCK) != (ssize_t)sizeof(first))
    first = (uint32_t)getpid();
  for (uint32_t i = 0; i < r->count; i++) {
    uint32_t slot = (first + i) % r->count;
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)slot, .l_len = 1};
    if (fcntl(fd, F_OFD_SETLK, &lk) == 0) {
      *out = (al_id_lease){r->uid_start + slot, r->gid_start + slot, AL_STEAL_FD(fd)};
      return 0;
    }
    if (errno != EAGAIN && errno != EACCES)
      return al_err(err, errno, "sandbox uid lock %s", lock_path);
  }
  return al_err(err, EBUSY,
                "every sandbox uid of %u-%llu is in use (%u sandboxes); widen the 'airlock' range "
                "in /etc/subuid and /etc/subgid",
                r->uid_start, (unsigned long long)r->uid_start + r->count - 1, r->count);
}

void al_id_lease_release(al_id_lease *l) {
  if (l->lock_fd >= 0)
    close(l->lock_fd);
  l->lock_fd = -1;
}
