/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_splice.c - the bulk path of a tunnel.  Once a CONNECT has been
 * decided (and its ClientHello checked), nothing in the stream matters to
 * the proxy any more, so the bytes stop passing through user space: each
 * direction is splice(2)d from one socket into a pipe and from the pipe
 * into the other socket, with the pipe as the bound on what is in flight
 * (backpressure: a full pipe stops reading).  Buffered bufferevents cost a
 * wake-up, a copy in and a copy out for every few kilobytes; this path is
 * what lets a tunnel come close to a direct connection's throughput.
 * Half-close is passed on (EOF one way becomes shutdown(SHUT_WR) the other
 * way once the pipe is drained); bytes are counted, maxBytes and
 * idleTimeout apply as on the buffered path. */
#define _GNU_SOURCE
#include "proxy_conn.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>

#define PIPE_BYTES (1 << 20) /* asked for; the kernel may give less */

typedef struct {
  al_proxy_conn *c;
  int from, to;
  int pipe[2];
  size_t in_pipe, pipe_cap;
  bool eof, shut;
  struct event *rd, *wr;
  uint64_t *counter;
} splice_dir;

struct al_splice {
  int fds[2]; /* our own copies of the client's and the upstream's sockets */
  splice_dir dir[2];
};

static void finish_if_done(al_proxy_conn *c) {
  if (c->splice->dir[0].shut && c->splice->dir[1].shut)
    al_conn_finish(c, "allow", "closed");
}

static void idle_or_on(splice_dir *d) {
  al_proxy_conn *c = d->c;
  if (al_monotonic_us() - c->active_us >= (int64_t)c->px->cfg.idle_timeout_s * 1000000)
    al_conn_finish(c, "allow", "idle for limits.idleTimeout (%us)", c->px->cfg.idle_timeout_s);
}

/* Empty the pipe into d->to as far as it goes.  0 when empty, 1 when the
 * socket is full (wait for EV_WRITE), -1 when the connection was closed. */
static int flush(splice_dir *d) {
  while (d->in_pipe > 0) {
    ssize_t m = splice(d->pipe[0], NULL, d->to, NULL, d->in_pipe, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    if (m > 0) {
      d->in_pipe -= (size_t)m;
      continue;
    }
    if (m < 0 && errno == EINTR)
      continue;
    if (m < 0 && errno == EAGAIN)
      return 1;
    al_conn_finish(d->c, "allow", "closed (%s)", m < 0 ? strerror(errno) : "peer gone");
    return -1;
  }
  if (d->eof && !d->shut) {
    shutdown(d->to, SHUT_WR);
    d->shut = true;
    event_del(d->rd);
  }
  return 0;
}

static void on_writable(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  splice_dir *d = arg;
  al_proxy_conn *c = d->c;
  int r = flush(d);
  if (r < 0)
    return;
  if (r == 1) {
    event_add(d->wr, NULL);
    return;
  }
  if (!d->eof) {
    struct timeval idle = {.tv_sec = c->px->cfg.idle_timeout_s};
    event_add(d->rd, &idle);
  }
  finish_if_done(c);
}

static void on_readable(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  splice_dir *d = arg;
  al_proxy_conn *c = d->c;
  if (what & EV_TIMEOUT) {
    idle_or_on(d);
    return;
  }
  ssize_t n = splice(d->from, NULL, d->pipe[1], NULL, d->pipe_cap - d->in_pipe, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n < 0) {
    al_conn_finish(c, "allow", "closed (%s)", strerror(errno));
    return;
  }
  if (n == 0) {
    d->eof = true;
    event_del(d->rd);
  } else {
    d->in_pipe += (size_t)n;
    *d->counter += (uint64_t)n;
    c->active_us = al_monotonic_us();
    uint64_t cap = c->px->cfg.max_bytes;
    if (cap && c->bytes_up + c->bytes_down > cap) {
      al_conn_finish(c, "allow", "closed at limits.maxBytes (%llu bytes)", (unsigned long long)cap);
      return;
    }
  }
  int r = flush(d);
  if (r < 0)
    return;
  if (r == 1) { /* the far side is full: stop reading until it drains */
    event_del(d->rd);
    event_add(d->wr, NULL);
    return;
  }
  finish_if_done(c);
}

/* Send what a bufferevent still holds straight to fd; false if it would
 * block (the caller keeps the buffered path then). */
static bool send_now(struct evbuffer *buf, int fd) {
  while (evbuffer_get_length(buf) > 0) {
    int n = evbuffer_write(buf, fd);
    if (n <= 0)
      return false;
  }
  return true;
}

void al_splice_free(al_proxy_conn *c) {
  struct al_splice *s = c->splice;
  if (!s)
    return;
  for (int i = 0; i < 2; i++) {
    if (s->dir[i].rd)
      event_free(s->dir[i].rd);
    if (s->dir[i].wr)
      event_free(s->dir[i].wr);
    for (int k = 0; k < 2; k++)
      if (s->dir[i].pipe[k] >= 0)
        close(s->dir[i].pipe[k]);
    if (s->fds[i] >= 0)
      close(s->fds[i]);
  }
  free(s);
  c->splice = NULL;
}

bool al_splice_start(al_proxy_conn *c) {
  int cfd = bufferevent_getfd(c->client), ufd = bufferevent_getfd(c->upstream);
  if (cfd < 0 || ufd < 0)
    return false;
  /* what is already buffered goes first: the 200 to the client, the hello
   * (and anything after it) to the upstream */
  if (!send_now(bufferevent_get_output(c->client), cfd) || !send_now(bufferevent_get_output(c->upstream), ufd))
    return false;
  struct evbuffer *pending = bufferevent_get_input(c->client);
  size_t first = evbuffer_get_length(pending);
  if (!send_now(pending, ufd))
    return false;
  c->bytes_up += first;
  struct al_splice *s = calloc(1, sizeof(*s));
  if (!s)
    return false;
  s->fds[0] = dup(cfd);
  s->fds[1] = dup(ufd);
  for (int i = 0; i < 2; i++)
    s->dir[i].pipe[0] = s->dir[i].pipe[1] = -1;
  c->splice = s;
  bool ok = s->fds[0] >= 0 && s->fds[1] >= 0;
  for (int i = 0; i < 2 && ok; i++) {
    splice_dir *d = &s->dir[i];
    d->c = c;
    d->from = s->fds[i];
    d->to = s->fds[1 - i];
    d->counter = i == 0 ? &c->bytes_up : &c->bytes_down;
    ok = pipe2(d->pipe, O_CLOEXEC | O_NONBLOCK) == 0;
    if (!ok)
      break;
    int got = fcntl(d->pipe[1], F_SETPIPE_SZ, PIPE_BYTES);
    d->pipe_cap = got > 0 ? (size_t)got : 65536;
    d->rd = event_new(c->px->base, d->from, EV_READ | EV_PERSIST, on_readable, d);
    d->wr = event_new(c->px->base, d->to, EV_WRITE, on_writable, d);
    ok = d->rd && d->wr;
  }
  if (!ok) {
    al_splice_free(c);
    return false;
  }
  /* the bufferevents let go of the sockets (ours are the dups) */
  bufferevent_free(c->client);
  bufferevent_free(c->upstream);
  c->client = c->upstream = NULL;
  c->active_us = al_monotonic_us();
  struct timeval idle = {.tv_sec = c->px->cfg.idle_timeout_s};
  event_add(s->dir[0].rd, &idle);
  event_add(s->dir[1].rd, &idle);
  return true;
}
