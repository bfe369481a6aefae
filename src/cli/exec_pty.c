/* SPDX-License-Identifier: Apache-2.0 */
/* exec_pty.c - `airlock exec --pty`: the command runs on a pty that the
 * sandbox's agent made inside the sandbox; here is the caller's side.  The
 * caller's terminal goes into raw mode, the stream's output (the pty's)
 * goes to stdout as exec_cmd.c writes it, and a second thread with a
 * connection of its own sends what is read from stdin and every window size
 * change (POST /v1/execs/{id}/input): the streaming connection is busy in
 * airlock_client_exec() until the exit record.  The terminal gets its modes
 * back however this ends: the exit record, a failure, SIGTERM, SIGHUP,
 * SIGINT or SIGQUIT (modes back, then the default action, as before). */
#define _GNU_SOURCE
#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "term.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define INPUT_CHUNK 4096
#define BACKGROUND_MS 200 /* how soon raw mode follows `fg` (a running job gets no SIGCONT) */

struct cli_pty {
  airlock_client *input; /* the input thread's own connection */
  int wake[2];           /* to the input thread: 's' the exec id is known, 'q' stop */
  char exec_id[32];      /* written before 's' */
  int term;              /* the caller's terminal: the first of 0, 1, 2 that is one; -1 */
  bool raw;
  struct termios saved;
  sigset_t old_mask;
  int sfd; /* SIGWINCH and the signals that end us */
  pthread_t thread;
  bool started;
};

static const int pty_signals[] = {SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGQUIT};

static void restore(cli_pty *p) {
  if (p->raw)
    al_term_set(p->term, &p->saved);
  p->raw = false;
}

static void resize(cli_pty *p) {
  struct winsize ws;
  if (p->term >= 0 && ioctl(p->term, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
    airlock_error *err = NULL;
    airlock_client_exec_resize(p->input, p->exec_id, ws.ws_row, ws.ws_col, &err);
    airlock_error_free(&err); /* the exec may have just ended: its exit record says how */
  }
}

/* The terminal's modes back, then the signal's own action on the process. */
static void die_by(cli_pty *p, int sig) {
  restore(p);
  signal(sig, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  pthread_sigmask(SIG_UNBLOCK, &one, NULL);
  raise(sig);
  _exit(128 + sig); /* it was ignored when we started: end anyway, the modes are back */
}

/* The keyboard is read in the terminal's foreground only (a background
 * read would stop us), and in raw mode: once in the foreground, raw. */
static bool keyboard_ready(cli_pty *p) {
  if (p->term != STDIN_FILENO)
    return true; /* stdin is not the terminal */
  if (!al_term_foreground(p->term))
    return false;
  if (!p->raw)
    p->raw = al_term_raw(p->term, &p->saved) == 0;
  return true;
}

static void *input_thread(void *arg) {
  cli_pty *p = arg;
  bool known = false, reading = true;
  char buf[INPUT_CHUNK];
  for (;;) {
    struct pollfd fds[3] = {{p->wake[0], POLLIN, 0}, {p->sfd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    bool keys = known && reading && keyboard_ready(p);
    if (poll(fds, keys ? 3 : 2, known && reading && !keys ? BACKGROUND_MS : -1) < 0 && errno != EINTR)
      break;
    if (fds[0].revents) {
      char c = 'q';
      if (read(p->wake[0], &c, 1) != 1 || c == 'q')
        break;
      known = true;
    }
    if (fds[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(p->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo != SIGWINCH)
          die_by(p, (int)si.ssi_signo);
        if (known)
          resize(p);
      }
    }
    if (keys && fds[2].revents) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
      if (n < 0 && errno == EINTR)
        continue;
      airlock_error *err = NULL;
      if (n <= 0) {
        /* stdin that is not a terminal ended: the terminal's end of file */
        reading = false;
        if (p->term != STDIN_FILENO)
          airlock_client_exec_input(p->input, p->exec_id, "\x04", 1, &err);
      } else if (airlock_client_exec_input(p->input, p->exec_id, buf, (size_t)n, &err) < 0) {
        reading = false; /* ended, or the node is gone: the stream tells */
      }
      airlock_error_free(&err);
    }
  }
  return NULL;
}

void cli_exec_pty_started(cli_pty *p, const char *exec_id) {
  snprintf(p->exec_id, sizeof(p->exec_id), "%s", exec_id);
  if (write(p->wake[1], "s", 1) != 1)
    return; /* no input then; the output still comes */
}

int cli_exec_pty_start(cli_pty **out, const char *node, const char *token, const airlock_client_tls *tls,
                       airlock_exec_request *req, airlock_error **err) {
  cli_pty *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return al_err(err, ENOMEM, "terminal");
  p->wake[0] = p->wake[1] = p->sfd = p->term = -1;
  *out = p;
  if (airlock_client_open(node, token, tls, &p->input, err) < 0)
    return -1;
  if (pipe2(p->wake, O_CLOEXEC) < 0)
    return al_err(err, errno, "pipe");
  for (int fd = 0; fd < 3 && p->term < 0; fd++)
    if (isatty(fd))
      p->term = fd;
  struct winsize ws;
  if (p->term >= 0 && ioctl(p->term, TIOCGWINSZ, &ws) == 0) {
    req->rows = ws.ws_row;
    req->cols = ws.ws_col;
  }
  req->pty = true;

  /* every thread blocks them: they are read from the signalfd only */
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < AL_ARRAY_SIZE(pty_signals); i++)
    sigaddset(&set, pty_signals[i]);
  pthread_sigmask(SIG_BLOCK, &set, &p->old_mask);
  if ((p->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
    return al_err(err, errno, "signalfd");
  keyboard_ready(p); /* raw now, not at the first key */
  int e = pthread_create(&p->thread, NULL, input_thread, p);
  if (e != 0) {
    restore(p);
    return al_err(err, e, "input thread");
  }
  p->started = true;
  return 0;
}

void cli_exec_pty_end(cli_pty **pp) {
  cli_pty *p = *pp;
  if (p == NULL)
    return;
  if (p->started && write(p->wake[1], "q", 1) == 1) /* a pipe with room: 's' and 'q' are all it gets */
    pthread_join(p->thread, NULL);
  restore(p);
  if (p->sfd >= 0) {
    close(p->sfd);
    pthread_sigmask(SIG_SETMASK, &p->old_mask, NULL);
  }
  for (int i = 0; i < 2; i++)
    if (p->wake[i] >= 0)
      close(p->wake[i]);
  airlock_client_close(&p->input);
  free(p);
  *pp = NULL;
}
