/* SPDX-License-Identifier: Apache-2.0 */
/* node_bin.c - see node_bin.h.  `airlock` stays a libc-only binary; what
 * needs SQLite, libsodium or OpenSSL (the node, the secret store, the
 * egress proxy) lives in airlock-node, which the launcher finds beside its
 * own executable and starts as a child.  The child never sees the caller's
 * stdin or any other descriptor but those it is given, and cannot outlive
 * the launcher. */
#define _GNU_SOURCE
#include "node_bin.h"
#include "child.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int al_node_binary_path(char *buf, size_t len, airlock_error **err) {
  static const char name[] = "airlock-node";
  ssize_t n = readlink("/proc/self/exe", buf, len);
  if (n <= 0)
    return al_err(err, errno, "cannot find my own binary (/proc/self/exe)");
  if ((size_t)n >= len)
    return al_err(err, ENAMETOOLONG, "cannot find my own binary (/proc/self/exe)");
  buf[n] = '\0';
  char *slash = strrchr(buf, '/');
  size_t dir = slash ? (size_t)(slash - buf) + 1 : 0;
  if (dir + sizeof(name) > len)
    return al_err(err, ENAMETOOLONG, "path of %s", name);
  memcpy(buf + dir, name, sizeof(name));
  return 0;
}

int al_helper_binary_path(const char *name, const char *libexec_dir, char *buf, size_t len, airlock_error **err) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n > 0) {
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) {
      *slash = '\0';
      int w = snprintf(buf, len, "%s/%s", self, name);
      if (w > 0 && (size_t)w < len && access(buf, X_OK) == 0)
        return 0;
    }
  }
  int w = snprintf(buf, len, "%s/%s", libexec_dir, name);
  if (w > 0 && (size_t)w < len && access(buf, X_OK) == 0)
    return 0;
  return al_err(err, ENOENT, "%s is neither beside this program nor in %s", name, libexec_dir);
}

/* In the forked child: only async-signal-safe calls from here on. */
__attribute__((noreturn)) static void child(const char *path, char *const argv[], const int *fds, int n, int errw,
                                            pid_t parent) {
  int e = 0;
  setsid();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
    e = errno;
    goto failed;
  }
  if (getppid() != parent) /* the launcher died before the signal was armed */
    _exit(127);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++)
    sigaction(sig, &dfl, NULL); /* SIGKILL, SIGSTOP and glibc's own fail: fine */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* every source moves above n first, so that placing one cannot
   * overwrite another that still has to be placed */
  int tmp[16];
  if (n > (int)(sizeof(tmp) / sizeof(tmp[0]))) {
    e = EINVAL;
    goto failed;
  }
  if (errw < n && (errw = fcntl(errw, F_DUPFD_CLOEXEC, n)) < 0) {
    e = errno;
    goto failed;
  }
  for (int i = 0; i < n; i++) {
    int src = fds[i] >= 0 ? fds[i] : open("/dev/null", O_RDWR | O_CLOEXEC);
    tmp[i] = src < 0 ? -1 : fcntl(src, F_DUPFD_CLOEXEC, n);
    if (tmp[i] < 0) {
      e = errno;
      goto failed;
    }
  }
  for (int i = 0; i < n; i++)
    if (dup2(tmp[i], i) < 0) { /* dup2 leaves the new descriptor inheritable */
      e = errno;
      goto failed;
    }
  /* everything from n up closes on exec, including the error pipe */
  if (syscall(SYS_close_range, (unsigned)n, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    for (int fd = n; fd < 4096; fd++)
      fcntl(fd, F_SETFD, FD_CLOEXEC);
  execv(path, argv);
  e = errno;
failed:
  while (write(errw, &e, sizeof(e)) < 0 && errno == EINTR)
    ;
  _exit(127);
}

pid_t al_helper_spawn(const char *path, char *const argv[], const int *fds, int n, airlock_error **err) {
  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) < 0)
    return al_err(err, errno, "cannot start %s: pipe", path);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(errpipe[0]);
    close(errpipe[1]);
    return al_err(err, e, "cannot start %s: fork", path);
  }
  if (pid == 0) {
    close(errpipe[0]);
    child(path, argv, fds, n, errpipe[1], parent);
  }
  close(errpipe[1]);
  int e = 0;
  ssize_t got;
  do
    got = read(errpipe[0], &e, sizeof(e));
  while (got < 0 && errno == EINTR);
  close(errpipe[0]);
  if (got > 0) { /* the exec did not happen: the child said why */
    al_child_wait(pid, NULL, 0);
    return al_err(err, e, "cannot start %s", path);
  }
  return pid;
}
