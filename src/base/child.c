/* SPDX-License-Identifier: Apache-2.0 */
/* child.c - see child.h. */
#define _GNU_SOURCE
#include "child.h"
#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

pid_t al_child_wait(pid_t pid, int *status, int flags) {
  pid_t w;
  do
    w = waitpid(pid, status, flags);
  while (w < 0 && errno == EINTR);
  return w;
}

void al_child_kill(pid_t pid, int *status) {
  kill(pid, SIGKILL);
  al_child_wait(pid, status, 0);
}

int al_child_wait_or_kill(pid_t pid, int timeout_ms, bool *killed) {
  int st = 0;
  *killed = false;
  int64_t deadline = al_monotonic_ms() + timeout_ms;
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  for (;;) {
    pid_t w = al_child_wait(pid, &st, WNOHANG);
    if (w == pid)
      break;
    if (w < 0)
      break; /* not our child (any more): nothing to reap */
    int64_t left = deadline - al_monotonic_ms();
    if (left <= 0) {
      al_child_kill(pid, &st);
      *killed = true;
      break;
    }
    if (pidfd >= 0) {
      struct pollfd p = {pidfd, POLLIN, 0};
      poll(&p, 1, (int)left);
    } else {
      struct timespec ts = {0, 10 * 1000000};
      nanosleep(&ts, NULL);
    }
  }
  if (pidfd >= 0)
    close(pidfd);
  return st;
}
