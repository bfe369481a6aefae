/* SPDX-License-Identifier: Apache-2.0 */
/* statedir.c - the node's state directory.  It holds the token hashes, so
 * the node and the CLI refuse to use it when anyone but the owner could read
 * or replace what is in it; they never loosen or "fix" its mode themselves. */
#define _GNU_SOURCE
#include "statedir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"

char *al_default_state_dir(void) {
  const char *env = getenv("AIRLOCK_STATE_DIR");
  if (env != NULL && env[0] == '/')
    return strdup(env);
  if (geteuid() == 0)
    return strdup("/var/lib/airlock");
  char *out = NULL;
  const char *xdg = getenv("XDG_STATE_HOME");
  /* the XDG spec says relative values are invalid and to be ignored */
  if (xdg != NULL && xdg[0] == '/')
    return asprintf(&out, "%s/airlock", xdg) < 0 ? NULL : out;
  const char *home = getenv("HOME");
  if (home != NULL && home[0] == '/')
    return asprintf(&out, "%s/.local/state/airlock", home) < 0 ? NULL : out;
  return NULL;
}

char *al_default_config_dir(void) {
  if (geteuid() == 0)
    return strdup("/etc/airlock");
  char *out = NULL;
  const char *xdg = getenv("XDG_CONFIG_HOME");
  if (xdg != NULL && xdg[0] == '/')
    return asprintf(&out, "%s/airlock", xdg) < 0 ? NULL : out;
  const char *home = getenv("HOME");
  if (home != NULL && home[0] == '/')
    return asprintf(&out, "%s/.config/airlock", home) < 0 ? NULL : out;
  return NULL;
}

char *al_state_dir_or_default(const char *given, airlock_error **err) {
  char *dir = given ? strdup(given) : al_default_state_dir();
  if (dir == NULL)
    al_err(err, given ? ENOMEM : 0, "%s",
           given ? "state directory" : "no default state directory (HOME is not set): use --state-dir DIR");
  return dir;
}

/* mkdir -p with mode 0700 for every directory it has to make. */
static int make_dirs(const char *dir, airlock_error **err) {
  _cleanup_free_ char *path = strdup(dir);
  if (path == NULL)
    return al_err(err, ENOMEM, "state directory %s", dir);
  for (char *p = path + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
      return al_err(err, errno, "cannot create %s (for state directory %s)", path, dir);
    *p = '/';
  }
  if (mkdir(path, 0700) < 0 && errno != EEXIST)
    return al_err(err, errno, "cannot create state directory %s", dir);
  return 0;
}

int al_state_dir_prepare(const char *dir, bool create, airlock_error **err) {
  if (dir == NULL || dir[0] == '\0')
    return al_err(err, 0, "empty state directory path");
  if (create && make_dirs(dir, err) < 0)
    return -1;
  struct stat st;
  if (stat(dir, &st) < 0)
    return al_err(err, errno, "state directory %s", dir);
  if (!S_ISDIR(st.st_mode))
    return al_err(err, ENOTDIR, "state directory %s", dir);
  uid_t euid = geteuid();
  if (st.st_uid != euid)
    return al_err(err, 0, "state directory %s is owned by uid %u, not by uid %u that airlock runs as", dir,
                  (unsigned)st.st_uid, (unsigned)euid);
  if (st.st_mode & 077)
    return al_err(err, 0, "state directory %s has mode %04o: group and others must have no access (chmod 700 %s)", dir,
                  (unsigned)(st.st_mode & 07777), dir);
  return 0;
}
