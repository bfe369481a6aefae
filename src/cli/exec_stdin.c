/* SPDX-License-Identifier: Apache-2.0 */
/* exec_stdin.c - `airlock exec -i` without a terminal (and `airlock
 * ssh-gate` without one): stdin is relayed to the command as it arrives,
 * not read whole before it starts, so a client that keeps its end open
 * while the command runs (OpenClaw's SSH backend does, for later input)
 * does not stall it.  A thread with a connection of its own sends what it
 * reads (POST /v1/execs/{id}/input) and, at end of file, the end of input;
 * the streaming connection is busy in airlock_client_exec() until the exit
 * record. */
#define _GNU_SOURCE
#include "cli.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STDIN_CHUNK (64 * 1024)

struct cli_stdin {
  airlock_client *input; /* the thread's own connection */
  int wake[2];           /* to the thread: 's' the exec id is known, 'q' stop */
  char exec_id[32];      /* written before 's' */
  pthread_t thread;
  bool started;
};

/* one chunk, again while the node says its buffer is full (429) */
static int send_chunk(cli_stdin *s, const char *buf, size_t len) {
  for (;;) {
    airlock_error *err = NULL;
    int rc = len ? airlock_client_exec_input(s->input, s->exec_id, buf, len, &err)
                 : airlock_client_exec_input_eof(s->input, s->exec_id, &err);
    bool full = rc < 0 && err && strstr(err->msg, "429");
    airlock_error_free(&err); /* the exec may have ended: its exit record says how */
    if (!full)
      return rc;
    struct pollfd p = {.fd = s->wake[0], .events = POLLIN};
    if (poll(&p, 1, 50) > 0)
      return -1; /* told to stop */
  }
}

static void *relay(void *arg) {
  cli_stdin *s = arg;
  char c = 0;
  while (read(s->wake[0], &c, 1) < 0 && errno == EINTR)
    ;
  if (c != 's')
    return NULL;
  char *buf = malloc(STDIN_CHUNK);
  for (bool open = buf != NULL; open;) {
    struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = s->wake[0], .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[1].revents)
      break; /* 'q': the exec has ended */
    ssize_t n = read(STDIN_FILENO, buf, STDIN_CHUNK);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) { /* end of file (or an error, taken as one) */
      send_chunk(s, NULL, 0);
      break;
    }
    open = send_chunk(s, buf, (size_t)n) == 0;
  }
  free(buf);
  return NULL;
}

int cli_exec_stdin_start(cli_stdin **out, const char *node, const char *token, const airlock_client_tls *tls,
                         airlock_error **err) {
  cli_stdin *s = calloc(1, sizeof(*s));
  if (!s)
    return al_err(err, ENOMEM, "stdin relay");
  s->wake[0] = s->wake[1] = -1;
  if (airlock_client_open(node, token, tls, &s->input, err) < 0 || pipe2(s->wake, O_CLOEXEC) < 0 ||
      pthread_create(&s->thread, NULL, relay, s) != 0) {
    if (!*err)
      al_err(err, errno, "stdin relay");
    if (s->wake[0] >= 0) {
      close(s->wake[0]);
      close(s->wake[1]);
    }
    airlock_client_close(&s->input);
    free(s);
    return -1;
  }
  s->started = true;
  *out = s;
  return 0;
}

void cli_exec_stdin_started(cli_stdin *s, const char *exec_id) {
  if (!s)
    return;
  snprintf(s->exec_id, sizeof(s->exec_id), "%s", exec_id);
  ssize_t w = write(s->wake[1], "s", 1);
  (void)w;
}

void cli_exec_stdin_end(cli_stdin **sp) {
  cli_stdin *s = *sp;
  if (!s)
    return;
  ssize_t w = write(s->wake[1], "q", 1);
  (void)w;
  if (s->started)
    pthread_join(s->thread, NULL);
  close(s->wake[0]);
  close(s->wake[1]);
  airlock_client_close(&s->input);
  free(s);
  *sp = NULL;
}
