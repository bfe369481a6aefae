/* SPDX-License-Identifier: Apache-2.0 */
/* store.c - saved changesets: STATE/changesets/ID/ holds `manifest` (the
 * entries, manifest.c) and files/N, the new content of entry N.  Contents
 * are stored under numbers, never under the names the sandbox chose, so no
 * name of the sandbox's becomes a path in the state directory.  A changeset
 * is written under a temporary name and renamed into place when complete.
 * The state directory is airlock's own (private, checked by
 * al_state_dir_prepare) and opened once; everything below it is reached
 * through that descriptor. */
#define _GNU_SOURCE
#include "changeset.h"
#include "cleanup.h"
#include "error.h"
#include "statedir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_MANIFEST (512u << 20)

bool al_ws_id_ok(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n >= 64 || id[0] == '-' || id[0] == '.')
    return false;
  for (const char *p = id; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '-'))
      return false;
  return true;
}

void al_ws_new_id(char out[64]) {
  unsigned char r[3] = {0};
  if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r[0] = (unsigned char)ts.tv_nsec;
    r[1] = (unsigned char)(ts.tv_nsec >> 8);
    r[2] = (unsigned char)getpid();
  }
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  char stamp[32];
  strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
  snprintf(out, 64, "%s-%02x%02x%02x", stamp, r[0], r[1], r[2]);
}

/* STATE/changesets, created when asked */
static int open_store(const char *state_dir, bool create, airlock_error **err) {
  if (al_state_dir_prepare(state_dir, create, err) < 0)
    return -1;
  _cleanup_close_ int state = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (state < 0)
    return al_err(err, errno, "state directory %s", state_dir);
  if (create && mkdirat(state, "changesets", 0700) < 0 && errno != EEXIST)
    return al_err(err, errno, "creating %s/changesets", state_dir);
  int fd = openat(state, "changesets", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT && !create ? -2 : al_err(err, errno, "opening %s/changesets", state_dir);
  return fd;
}

static int write_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int al_ws_save(int upper_fd, const al_changeset *cs, const char *state_dir, airlock_error **err) {
  _cleanup_close_ int store = open_store(state_dir, true, err);
  if (store < 0)
    return -1;
  char tmp[80];
  snprintf(tmp, sizeof(tmp), ".tmp-%s", cs->id);
  if (mkdirat(store, tmp, 0700) < 0)
    return al_err(err, errno, "changeset %s", cs->id);
  _cleanup_close_ int dir = openat(store, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_close_ int files = -1;
  if (dir < 0 || mkdirat(dir, "files", 0700) < 0 ||
      (files = openat(dir, "files", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
    al_err(err, errno, "changeset %s", cs->id);
    goto fail;
  }
  for (size_t i = 0; i < cs->n; i++) {
    if (cs->e[i].op != AL_WS_FILE)
      continue;
    char name[32];
    snprintf(name, sizeof(name), "%zu", i);
    _cleanup_close_ int src = al_ws_open_upper(upper_fd, cs->e[i].path, O_RDONLY);
    _cleanup_close_ int dst = openat(files, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    struct stat st;
    uint64_t copied;
    if (src < 0 || dst < 0 || fstat(src, &st) < 0 || !S_ISREG(st.st_mode) || al_ws_copy(src, dst, &copied) < 0) {
      al_err(err, errno, "changeset %s: saving %s", cs->id, cs->e[i].path);
      goto fail;
    }
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    futimens(dst, times);
  }
  {
    _cleanup_free_ char *text = al_changeset_format(cs);
    _cleanup_close_ int m = openat(dir, "manifest", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (!text || m < 0 || write_all(m, text, strlen(text)) < 0 || fsync(m) < 0) {
      al_err(err, errno ? errno : ENOMEM, "changeset %s: writing its manifest", cs->id);
      goto fail;
    }
  }
  if (renameat(store, tmp, store, cs->id) < 0) {
    al_err(err, errno, "changeset %s", cs->id);
    goto fail;
  }
  return 0;
fail:
  al_ws_rm_tree(store, tmp);
  return -1;
}

static int open_changeset(const char *state_dir, const char *id, airlock_error **err) {
  if (!al_ws_id_ok(id))
    return al_err(err, 0, "'%s' is not a changeset id", id);
  _cleanup_close_ int store = open_store(state_dir, false, err);
  if (store == -2)
    return al_err(err, ENOENT, "no changeset %s", id);
  if (store < 0)
    return -1;
  int fd = openat(store, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return al_err(err, errno == ENOENT ? 0 : errno, "no changeset %s%s", id,
                  errno == ENOENT ? " (see 'airlock changes list')" : "");
  return fd;
}

int al_ws_load(const char *state_dir, const char *id, al_changeset *cs, airlock_error **err) {
  memset(cs, 0, sizeof(*cs));
  _cleanup_close_ int dir = open_changeset(state_dir, id, err);
  if (dir < 0)
    return -1;
  _cleanup_close_ int m = openat(dir, "manifest", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (m < 0 || fstat(m, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_MANIFEST)
    return al_err(err, m < 0 ? errno : EFBIG, "changeset %s: its manifest", id);
  _cleanup_free_ char *text = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (text && got < (size_t)st.st_size) {
    ssize_t n = read(m, text + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  if (!text || got != (size_t)st.st_size)
    return al_err(err, text ? EIO : ENOMEM, "changeset %s: reading its manifest", id);
  if (al_changeset_parse(text, got, cs, err) < 0)
    return al_err_prefix(err, "changeset %s", id);
  if (strcmp(cs->id, id) != 0) {
    al_changeset_free(cs);
    return al_err(err, 0, "changeset %s: its manifest names another id", id);
  }
  return 0;
}

int al_ws_open_content(const char *state_dir, const char *id) {
  airlock_error *err = NULL;
  _cleanup_close_ int dir = open_changeset(state_dir, id, &err);
  airlock_error_free(&err);
  return dir < 0 ? -1 : openat(dir, "files", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int al_ws_discard(const char *state_dir, const char *id, airlock_error **err) {
  _cleanup_close_ int dir = open_changeset(state_dir, id, err);
  if (dir < 0)
    return -1;
  _cleanup_close_ int store = open_store(state_dir, false, err);
  if (store < 0 || al_ws_rm_tree(store, id) < 0)
    return al_err(err, errno, "discarding changeset %s", id);
  return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

char **al_ws_list(const char *state_dir, airlock_error **err) {
  int fd = open_store(state_dir, false, err);
  if (fd == -2)
    return calloc(1, sizeof(char *));
  if (fd < 0)
    return NULL;
  _cleanup_closedir_ DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    al_err(err, errno, "listing changesets");
    return NULL;
  }
  size_t n = 0, cap = 16;
  char **ids = calloc(cap + 1, sizeof(char *));
  struct dirent *de;
  while (ids && (de = readdir(d)) != NULL) {
    if (!al_ws_id_ok(de->d_name))
      continue;
    if (n == cap) {
      char **grown = realloc(ids, (cap * 2 + 1) * sizeof(char *));
      if (!grown)
        break;
      ids = grown;
      cap *= 2;
    }
    if ((ids[n] = strdup(de->d_name)) == NULL)
      break;
    ids[++n] = NULL;
  }
  if (ids)
    qsort(ids, n, sizeof(char *), cmp_str);
  else
    al_err(err, ENOMEM, "listing changesets");
  return ids;
}
