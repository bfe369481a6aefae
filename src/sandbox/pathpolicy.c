/* SPDX-License-Identifier: Apache-2.0 */
/* pathpolicy.c - the bind guard.  A sandbox is only as good as what is
 * mounted into it: binding /, /etc, a docker socket or ~/.ssh hands the
 * agent the host.  A source is opened once, following no symbolic link in
 * any component, and everything is judged on that descriptor: its type and
 * owner by fstat, its place by the kernel's own name for it.  The mount is
 * then made from the same descriptor, so nothing can be swapped in between
 * (a link planted by an earlier sandbox is refused, not followed). */
#define _GNU_SOURCE
#include "pathpolicy.h"
#include "cleanup.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Host trees that must never be visible, nor any directory containing them. */
static const char *const denied_trees[] = {
    "/proc", "/sys", "/dev", "/etc", "/root", "/boot", "/run", "/var/run", "/var/lib/docker", "/var/lib/containers",
};

/* Sockets that give control of the host. */
static const char *const denied_sockets[] = {
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run/podman/podman.sock",
    "/run/containerd/containerd.sock",
    "/var/run/containerd/containerd.sock",
};

/* Shared scratch and home roots: fine to mount a directory below them, never
 * the whole tree (other users' sockets, agents' and X11 sockets, homes). */
static const char *const denied_exact[] = {"/tmp", "/var/tmp", "/home", "/var", "/usr/local"};

/* Per-user credential folders and files, matched as path components
 * relative to any directory (a home directory is wherever it is). */
static const char *const credential_names[] = {
    ".ssh",      ".aws",    ".gnupg",           ".docker",         ".kube",
    ".openclaw", ".azure",  ".config/gcloud",   ".config/gh",      ".netrc",
    ".npmrc",    ".pypirc", ".git-credentials", ".password-store", ".terraform.d",
};

/* Paths inside the sandbox that a bind may not cover or sit on. */
static const char *const system_targets[] = {
    "/usr", "/bin",  "/sbin", "/lib", "/lib32", "/lib64",   "/libx32",
    "/etc", "/proc", "/dev",  "/sys", "/run",   "/oldroot", /* where the host root sits during setup */
};

static bool path_is_under(const char *path, const char *tree) {
  size_t n = strlen(tree);
  return strncmp(path, tree, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* does path contain a component sequence equal to name ("/.config/gcloud")? */
static bool path_has_component(const char *path, const char *name) {
  size_t n = strlen(name);
  for (const char *p = path; (p = strchr(p, '/')) != NULL; p++) {
    if (strncmp(p + 1, name, n) == 0 && (p[1 + n] == '\0' || p[1 + n] == '/'))
      return true;
  }
  return false;
}

/* A user's home directory, or any directory above one, holds dotfiles and
 * credentials: refuse both (a project directory inside a home is fine). */
static int check_homes(const char *what, const char *src, const char *real, airlock_error **err) {
  _cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
  if (f == NULL)
    return 0;
  struct passwd pw, *ent;
  char buf[4096];
  while (fgetpwent_r(f, &pw, buf, sizeof(buf), &ent) == 0) {
    const char *home = ent->pw_dir;
    /* system accounts' "homes" are system directories, covered above */
    if (home == NULL || home[0] != '/' || strcmp(home, "/") == 0 || (ent->pw_uid != 0 && ent->pw_uid < 1000))
      continue;
    char *home_real = realpath(home, NULL);
    if (home_real == NULL)
      continue;
    bool hit = strcmp(home_real, "/") != 0 && path_is_under(home_real, real);
    free(home_real);
    if (hit)
      return al_err(err, 0,
                    "%s '%s' resolves to '%s', which is or contains the home directory of user '%s' (%s); "
                    "mount a project directory instead",
                    what, src, real, ent->pw_name, home);
  }
  return 0;
}

/* Where a writable mount would hand the sandbox the system: owners and trees. */
static const char *const system_trees[] = {"/usr", "/etc", "/var", "/opt", "/srv", "/boot", "/bin", "/sbin", "/lib"};

static bool is_system_tree(const char *real) {
  if (path_is_under(real, "/var/tmp") && strcmp(real, "/var/tmp") != 0)
    return false; /* scratch below /var/tmp belongs to whoever made it */
  for (size_t i = 0; i < AL_ARRAY_SIZE(system_trees); i++)
    if (path_is_under(real, system_trees[i]))
      return true;
  /* /lib32, /lib64, /libx32 */
  return strncmp(real, "/lib", 4) == 0 && (strchr(real + 1, '/') == NULL || strchr(real + 1, '/') > real + 4);
}

int al_host_path_open(const char *what, const char *src, int given_fd, al_host_path *out, airlock_error **err) {
  *out = (al_host_path){.fd = -1};
  _cleanup_close_ int fd = -1;
  if (given_fd >= 0) {
    fd = fcntl(given_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
      return al_err(err, errno, "%s '%s'", what, src);
  } else {
    if (src == NULL || src[0] == '\0')
      return al_err(err, ENOENT, "%s: no path given", what);
    struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
    fd = (int)syscall(SYS_openat2, AT_FDCWD, src, &how, sizeof(how));
    if (fd < 0 && errno == ELOOP)
      return al_err(err, 0,
                    "%s '%s' goes through a symbolic link: airlock opens host paths once and never follows "
                    "links in them; give the path the link points to",
                    what, src);
    if (fd < 0)
      return al_err(err, errno, "%s '%s'", what, src);
  }
  if (fstat(fd, &out->st) < 0)
    return al_err(err, errno, "%s '%s'", what, src);
  char link[64], buf[PATH_MAX];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, buf, sizeof(buf) - 1);
  if (n <= 0 || buf[0] != '/')
    return al_err(err, n < 0 ? errno : 0, "%s '%s': cannot tell where it is", what, src);
  buf[n] = '\0';
  if ((out->real = strdup(buf)) == NULL)
    return al_err(err, ENOMEM, "%s", what);
  out->fd = AL_STEAL_FD(fd);
  return 0;
}

void al_host_path_close(al_host_path *hp) {
  if (hp->fd >= 0)
    close(hp->fd);
  free(hp->real);
  *hp = (al_host_path){.fd = -1};
}

int al_check_mount_source(const char *what, const char *src, const al_host_path *hp, bool writable,
                          bool allow_system_write, airlock_error **err) {
  const char *real = hp->real;
  if (strcmp(real, "/") == 0)
    return al_err(err, 0, "%s '%s' resolves to '/': the host root may not be mounted", what, src);
  for (size_t i = 0; i < AL_ARRAY_SIZE(denied_trees); i++) {
    if (path_is_under(real, denied_trees[i]) || path_is_under(denied_trees[i], real))
      return al_err(err, 0, "%s '%s' resolves to '%s', which is or contains the protected host path %s", what, src,
                    real, denied_trees[i]);
  }
  for (size_t i = 0; i < AL_ARRAY_SIZE(denied_exact); i++) {
    if (strcmp(real, denied_exact[i]) == 0)
      return al_err(err, 0,
                    "%s '%s' resolves to %s, which is shared by other users and programs; mount a "
                    "directory below it instead",
                    what, src, real);
  }
  if (check_homes(what, src, real, err) < 0)
    return -1;
  for (size_t i = 0; i < AL_ARRAY_SIZE(denied_sockets); i++) {
    if (path_is_under(denied_sockets[i], real))
      return al_err(err, 0, "%s '%s' resolves to '%s', which is or contains the container engine socket %s", what, src,
                    real, denied_sockets[i]);
  }
  for (size_t i = 0; i < AL_ARRAY_SIZE(credential_names); i++) {
    if (path_has_component(real, credential_names[i]))
      return al_err(err, 0, "%s '%s' resolves to '%s', a credential location (%s)", what, src, real,
                    credential_names[i]);
    /* a directory holding credentials (a home directory) is refused too */
    struct stat st;
    if (S_ISDIR(hp->st.st_mode) && fstatat(hp->fd, credential_names[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
      return al_err(err, 0, "%s '%s' contains the credential location %s/%s", what, src, real, credential_names[i]);
  }
  if (S_ISSOCK(hp->st.st_mode))
    return al_err(err, 0, "%s '%s' is a socket: sockets may not be mounted into a sandbox (see --bind-socket)", what,
                  src);
  if (!S_ISDIR(hp->st.st_mode) && !S_ISREG(hp->st.st_mode))
    return al_err(err, 0, "%s '%s' is neither a directory nor a regular file", what, src);
  /* only a privileged launcher can map a sandbox onto someone else's files;
   * rootless, the sandbox writes no more than its caller could */
  if (writable && !allow_system_write && geteuid() == 0) {
    if (hp->st.st_uid < 1000)
      return al_err(err, 0,
                    "%s '%s' (%s) is owned by %s (uid %u) and would be writable: a sandbox may write only "
                    "into directories of a regular user (uid 1000 or above); mount it read-only, give it to a user, "
                    "or pass --allow-writable-system-dir",
                    what, src, real, hp->st.st_uid == 0 ? "root" : "a system user", (unsigned)hp->st.st_uid);
    if (is_system_tree(real))
      return al_err(err, 0,
                    "%s '%s' (%s) is under a system tree (/usr, /etc, /var, /opt, /srv, /boot, /lib*, /bin, "
                    "/sbin) and would be writable; mount it read-only or pass --allow-writable-system-dir",
                    what, src, real);
  }
  return 0;
}

int al_resolve_mount_source(const char *what, const char *src, char **resolved, airlock_error **err) {
  al_host_path hp;
  if (al_host_path_open(what, src, -1, &hp, err) < 0)
    return -1;
  if (al_check_mount_source(what, src, &hp, false, false, err) < 0) {
    al_host_path_close(&hp);
    return -1;
  }
  *resolved = AL_STEAL(hp.real);
  al_host_path_close(&hp);
  return 0;
}

int al_check_mount_target(const char *what, const char *dst, airlock_error **err) {
  if (dst == NULL || dst[0] != '/')
    return al_err(err, 0, "%s target '%s' must be an absolute path", what, dst ? dst : "");
  if (strcmp(dst, "/") == 0)
    return al_err(err, 0, "%s target '/' would replace the sandbox root", what);
  if (strlen(dst) >= PATH_MAX / 2)
    return al_err(err, 0, "%s target is too long", what);
  for (const char *p = dst; *p; p++) {
    if (p[0] == '/' && p[1] == '/')
      return al_err(err, 0, "%s target '%s' is not a clean path (//)", what, dst);
    if (p[0] == '/' && p[1] == '.' && (p[2] == '/' || p[2] == '\0' || (p[2] == '.' && (p[3] == '/' || p[3] == '\0'))))
      return al_err(err, 0, "%s target '%s' may not contain '.' or '..' components", what, dst);
  }
  if (dst[strlen(dst) - 1] == '/')
    return al_err(err, 0, "%s target '%s' must not end with '/'", what, dst);
  for (size_t i = 0; i < AL_ARRAY_SIZE(system_targets); i++) {
    if (path_is_under(dst, system_targets[i]) || path_is_under(system_targets[i], dst))
      return al_err(err, 0, "%s target '%s' would shadow the system path %s", what, dst, system_targets[i]);
  }
  return 0;
}
