/* SPDX-License-Identifier: Apache-2.0 */
/* term.c - see term.h. */
#define _GNU_SOURCE
#include "term.h"

#include <signal.h>
#include <unistd.h>

bool al_term_foreground(int fd) {
  pid_t fg = tcgetpgrp(fd);
  return fg >= 0 && fg == getpgrp();
}

void al_term_set(int fd, const struct termios *modes) {
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  sigprocmask(SIG_BLOCK, &ttou, &old);
  tcsetattr(fd, TCSANOW, modes);
  sigprocmask(SIG_SETMASK, &old, NULL);
}

int al_term_raw(int fd, struct termios *saved) {
  if (tcgetattr(fd, saved) < 0)
    return -1;
  struct termios raw = *saved;
  cfmakeraw(&raw);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  al_term_set(fd, &raw);
  return 0;
}
