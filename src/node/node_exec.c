/* SPDX-License-Identifier: Apache-2.0 */
/* node_exec.c - one exec from request to result: checks against the
 * tenant's and the node's maxima, the pipes for stdin/stdout/stderr, the
 * hand-off to a sandbox's agent, output streamed as NDJSON or captured up to
 * a cap, the wall-clock timeout, cancellation (also when a streaming client
 * goes away), and the final record.  A pty exec has no pipes: the agent
 * makes a pty inside the sandbox and sends its master, whose output is the
 * stream's "stdout" and whose input comes from POST /v1/execs/{id}/input
 * (evhttp reads a request's body whole, so input cannot ride on the
 * streaming request itself). */
#define _GNU_SOURCE
#include "isolation.h"
#include "node.h"
#include "clock.h"
#include "cleanup.h"
#include "error.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#define READ_CHUNK 65536
#define EXIT_GRACE_MS 50        /* output still in flight after the command ended */
#define TTY_INPUT_MAX (1 << 20) /* a pty exec's input waiting for the command to read it */
#define KEEP_FINISHED 1000      /* finished execs kept for GET /v1/execs/{id} */

static void finish(al_exec *e);

static void make_id(char *buf, size_t len, const char *prefix) {
  unsigned char r[8] = {0};
  if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
    memset(r, 0, sizeof(r));
  snprintf(buf, len, "%s%02x%02x%02x%02x%02x%02x%02x%02x", prefix, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
}

/* Append len bytes to out as valid UTF-8: invalid bytes become U+FFFD; an
 * incomplete sequence at the end is kept in carry for the next chunk. */
static void utf8_append(struct evbuffer *out, const unsigned char *s, size_t len, unsigned char *carry,
                        size_t *carry_len, bool final) {
  unsigned char tmp[READ_CHUNK + 4];
  size_t n = 0;
  memcpy(tmp, carry, *carry_len);
  n = *carry_len;
  if (len)
    memcpy(tmp + n, s, len);
  n += len;
  *carry_len = 0;
  size_t i = 0;
  while (i < n) {
    unsigned char c = tmp[i];
    size_t need = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (need == 0 || (need == 2 && c < 0xc2) || (need == 4 && c > 0xf4)) {
      evbuffer_add(out, "\xef\xbf\xbd", 3);
      i++;
      continue;
    }
    if (i + need > n) {
      if (!final) { /* wait for the rest of the sequence */
        memcpy(carry, tmp + i, n - i);
        *carry_len = n - i;
        return;
      }
      evbuffer_add(out, "\xef\xbf\xbd", 3);
      i++;
      continue;
    }
    bool ok = true;
    for (size_t k = 1; k < need; k++)
      ok = ok && (tmp[i + k] & 0xc0) == 0x80;
    if (ok && need == 3) {
      unsigned cp = (unsigned)(c & 0x0f) << 12 | (unsigned)(tmp[i + 1] & 0x3f) << 6 | (tmp[i + 2] & 0x3f);
      ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
    } else if (ok && need == 4) {
      unsigned cp = (unsigned)(c & 0x07) << 18 | (unsigned)(tmp[i + 1] & 0x3f) << 12;
      ok = cp >= 0x10000 && cp <= 0x10ffff;
    }
    if (!ok) {
      evbuffer_add(out, "\xef\xbf\xbd", 3);
      i++;
      continue;
    }
    evbuffer_add(out, tmp + i, need);
    i += need;
  }
}

static void stream_record(al_exec *e, const char *type, struct evbuffer *text) {
  if (!e->req)
    return;
  size_t len = evbuffer_get_length(text);
  json_t *o = json_pack("{s:s,s:s%}", "type", type, "data", (const char *)evbuffer_pullup(text, -1), len);
  char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (!line)
    return;
  struct evbuffer *chunk = evbuffer_new();
  evbuffer_add(chunk, line, strlen(line));
  evbuffer_add(chunk, "\n", 1);
  evhttp_send_reply_chunk(e->req, chunk);
  evbuffer_free(chunk);
  free(line);
}

/* Backpressure for streams: while more than STREAM_BACKLOG bytes wait to be
 * sent to a slow client, stop reading the command's output (its writes
 * then block) instead of buffering without bound in the node. */
#define STREAM_BACKLOG (1 << 20)

static size_t backlog(al_exec *e) {
  if (!e->req)
    return 0;
  struct evhttp_connection *c = evhttp_request_get_connection(e->req);
  struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) : NULL;
  if (!bev)
    return 0;
  /* over TLS the bytes wait in the socket bufferevent under the filter */
  struct bufferevent *under = bufferevent_get_underlying(bev);
  return evbuffer_get_length(bufferevent_get_output(bev)) +
         (under ? evbuffer_get_length(bufferevent_get_output(under)) : 0);
}

static void on_drained(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  al_exec *e = arg;
  if (e->state == AL_EXEC_DONE || !e->paused)
    return;
  if (backlog(e) > STREAM_BACKLOG / 2) {
    struct timeval tv = {0, 10000};
    evtimer_add(e->ev_drain, &tv);
    return;
  }
  e->paused = false;
  if (!e->out_eof && e->ev_out)
    event_add(e->ev_out, NULL);
  if (!e->err_eof && e->ev_err)
    event_add(e->ev_err, NULL);
}

static void throttle(al_exec *e) {
  if (e->paused || backlog(e) <= STREAM_BACKLOG)
    return;
  e->paused = true;
  if (e->ev_out)
    event_del(e->ev_out);
  if (e->ev_err)
    event_del(e->ev_err);
  struct timeval tv = {0, 10000};
  evtimer_add(e->ev_drain, &tv);
}

static void on_output(evutil_socket_t fd, short what, void *arg) {
  (void)what;
  al_exec *e = arg;
  bool is_out = fd == e->out_fd;
  unsigned char buf[READ_CHUNK];
  ssize_t n = read(fd, buf, sizeof(buf));
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) { /* end of file; EIO from a pty's master: its slave is closed everywhere */
    event_del(is_out ? e->ev_out : e->ev_err);
    int i = is_out ? 0 : 1;
    if (e->p.stream && e->carry_len[i]) {
      struct evbuffer *text = evbuffer_new();
      utf8_append(text, NULL, 0, e->carry[i], &e->carry_len[i], true);
      stream_record(e, is_out ? "stdout" : "stderr", text);
      evbuffer_free(text);
    }
    if (is_out)
      e->out_eof = true;
    else
      e->err_eof = true;
    if (e->exited && e->out_eof && e->err_eof)
      finish(e);
    return;
  }
  if (e->p.stream) {
    /* a character split across two reads is completed by the next one */
    struct evbuffer *text = evbuffer_new();
    int i = is_out ? 0 : 1;
    utf8_append(text, buf, (size_t)n, e->carry[i], &e->carry_len[i], false);
    if (evbuffer_get_length(text))
      stream_record(e, is_out ? "stdout" : "stderr", text);
    evbuffer_free(text);
    throttle(e);
    return;
  }
  size_t room = e->captured < (size_t)e->p.max_output ? (size_t)e->p.max_output - e->captured : 0;
  size_t keep = (size_t)n < room ? (size_t)n : room;
  if (keep < (size_t)n)
    e->truncated = true;
  evbuffer_add(is_out ? e->out_buf : e->err_buf, buf, keep);
  e->captured += keep;
}

static void on_stdin(evutil_socket_t fd, short what, void *arg) {
  (void)what;
  al_exec *e = arg;
  while (e->stdin_off < e->p.stdin_len) {
    ssize_t w = write(fd, e->p.stdin_data + e->stdin_off, e->p.stdin_len - e->stdin_off);
    if (w < 0 && errno == EAGAIN)
      return; /* wait for room in the pipe */
    if (w <= 0)
      break; /* the command closed its stdin */
    e->stdin_off += (size_t)w;
  }
  event_del(e->ev_in);
  close(e->in_fd);
  e->in_fd = -1;
}

static void close_fd(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

/* a pty or stdin_open exec's input, written to the master or the pipe as
 * the command takes it; a stdin_open pipe is closed after its "eof" */
static void on_tty_input(evutil_socket_t fd, short what, void *arg) {
  (void)what;
  al_exec *e = arg;
  while (evbuffer_get_length(e->tty_in) > 0) {
    int w = evbuffer_write(e->tty_in, fd);
    if (w < 0 && (errno == EAGAIN || errno == EINTR))
      return; /* the terminal's input queue is full: the command is not reading */
    if (w <= 0) {
      evbuffer_drain(e->tty_in, evbuffer_get_length(e->tty_in)); /* the terminal is gone */
      break;
    }
  }
  event_del(e->ev_in);
  if (e->p.stdin_open && e->in_eof)
    close_fd(&e->in_fd);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  al_exec *e = arg;
  if (e->exited) { /* the grace period after exit ran out */
    finish(e);
    return;
  }
  e->timed_out = true;
  al_node_exec_signal(e->node, e, SIGKILL);
}

static void on_client_gone(struct evhttp_connection *conn, void *arg) {
  (void)conn;
  al_exec *e = arg;
  al_log_fields(AL_LOG_DEBUG, "client went away", AL_LOG_STR("exec", e->id), AL_LOG_INT("state", e->state));
  al_node_request_abandon(e->req);
  e->req = NULL;
  if (e->state != AL_EXEC_DONE && !e->p.detach) {
    e->cancelled = true;
    al_node_exec_signal(e->node, e, SIGKILL);
  }
}

static int make_pipes(al_exec *e) {
  int out[2], err[2], in[2];
  if (pipe2(out, O_CLOEXEC) < 0)
    return -1;
  if (pipe2(err, O_CLOEXEC) < 0) {
    close(out[0]), close(out[1]);
    return -1;
  }
  if (pipe2(in, O_CLOEXEC) < 0) {
    close(out[0]), close(out[1]), close(err[0]), close(err[1]);
    return -1;
  }
  e->out_fd = out[0], e->err_fd = err[0];
  e->child_fds[0] = in[0], e->child_fds[1] = out[1], e->child_fds[2] = err[1];
  e->in_fd = in[1];
  fcntl(e->out_fd, F_SETFL, O_NONBLOCK);
  fcntl(e->err_fd, F_SETFL, O_NONBLOCK);
  fcntl(e->in_fd, F_SETFL, O_NONBLOCK);
  return 0;
}

static void fail_exec(al_exec *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_exec(al_exec *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  free(e->error);
  if (vasprintf(&e->error, fmt, ap) < 0)
    e->error = NULL;
  va_end(ap);
  e->exited = e->out_eof = e->err_eof = true;
  e->wait_status = W_EXITCODE(AIRLOCK_EXIT_SETUP, 0);
  finish(e);
}

/* Hand the exec to its sandbox's agent (the sandbox is ready). */
static void dispatch(al_exec *e) {
  al_sbox *sb = e->sbox;
  _cleanup_error_ airlock_error *err = NULL;
  e->start_ms = al_monotonic_ms();
  if (al_box_exec(&sb->box, e->num, e->p.argv, e->p.env, e->p.cwd, e->p.pty ? NULL : e->child_fds, (unsigned)e->p.rows,
                  (unsigned)e->p.cols, &err) < 0) {
    fail_exec(e, "%s", err->msg);
    return;
  }
  for (int i = 0; i < 3; i++)
    close_fd(&e->child_fds[i]);
  e->state = AL_EXEC_RUNNING;
  sb->running++;
  sb->last_used_ms = al_monotonic_ms();
  if (!e->p.pty) { /* a pty's events start when its master arrives (tty_attach) */
    event_add(e->ev_out, NULL);
    event_add(e->ev_err, NULL);
    if (e->p.stdin_len || (e->p.stdin_open && (evbuffer_get_length(e->tty_in) > 0 || e->in_eof)))
      event_add(e->ev_in, NULL);
    else if (!e->p.stdin_open)
      close_fd(&e->in_fd);
  }
  struct timeval tv = {e->p.timeout_ms / 1000, (e->p.timeout_ms % 1000) * 1000};
  evtimer_add(e->ev_timer, &tv);
  al_state_exec_started(e->node, e);
}

void al_node_exec_sandbox_ready(al_node *n, al_sbox *sb) {
  (void)n;
  while (sb->waiting) {
    al_exec *e = sb->waiting;
    sb->waiting = e->wait_next;
    e->wait_next = NULL;
    dispatch(e);
  }
}

static const char *check_maxima(al_node *n, al_tenant *t, const al_exec_params *p, char *why, size_t len) {
  const al_node_limits *lims[2] = {&n->cfg->node_max, &t->max};
  const char *whose[2] = {"the node's", "this token's"};
  for (int i = 0; i < 2; i++) {
    const al_node_limits *l = lims[i];
    if (l->max_timeout_ms && p->timeout_ms > l->max_timeout_ms) {
      snprintf(why, len, "timeout_ms %lld is above %s maximum of %lld", (long long)p->timeout_ms, whose[i],
               (long long)l->max_timeout_ms);
      return why;
    }
    if (l->max_memory_bytes && p->memory_bytes > l->max_memory_bytes) {
      snprintf(why, len, "limits.memory %lld is above %s maximum of %lld bytes", (long long)p->memory_bytes, whose[i],
               (long long)l->max_memory_bytes);
      return why;
    }
    if (l->max_cpus > 0 && p->cpus > l->max_cpus) {
      snprintf(why, len, "limits.cpus %.2f is above %s maximum of %.2f", p->cpus, whose[i], l->max_cpus);
      return why;
    }
    if (l->max_disk_bytes && p->disk_bytes > l->max_disk_bytes) {
      snprintf(why, len, "limits.disk %lld is above %s maximum of %lld bytes", (long long)p->disk_bytes, whose[i],
               (long long)l->max_disk_bytes);
      return why;
    }
  }
  return NULL;
}

/* What a request did not ask for is the node's default brought down to the
 * smallest maximum that applies (the node's, the token's); what it asked
 * for is checked as it is.  A one-shot exec whose default memory or CPUs
 * were lowered gets a fresh sandbox, not one of the pool. */
static void clamp_defaults(al_node *n, al_tenant *t, al_sbox *sb, al_exec_params *p) {
  const al_node_limits *lims[2] = {&n->cfg->node_max, &t->max};
  int64_t mem = n->cfg->sandbox.memory_bytes, disk = n->cfg->sandbox.disk_bytes;
  double cpus = n->cfg->sandbox.cpus;
  for (int i = 0; i < 2; i++) {
    if (lims[i]->max_disk_bytes && disk > lims[i]->max_disk_bytes)
      disk = lims[i]->max_disk_bytes;
    if (!p->has_timeout && lims[i]->max_timeout_ms && p->timeout_ms > lims[i]->max_timeout_ms)
      p->timeout_ms = lims[i]->max_timeout_ms;
    if (lims[i]->max_memory_bytes && mem > lims[i]->max_memory_bytes)
      mem = lims[i]->max_memory_bytes;
    if (lims[i]->max_cpus > 0 && cpus > lims[i]->max_cpus)
      cpus = lims[i]->max_cpus;
  }
  if (sb) /* a persistent sandbox keeps the limits it was made with */
    return;
  if (!p->memory_bytes && mem != n->cfg->sandbox.memory_bytes) {
    p->memory_bytes = mem;
    p->has_limits = true;
  }
  if (!(p->cpus > 0) && cpus != n->cfg->sandbox.cpus) {
    p->cpus = cpus;
    p->has_limits = true;
  }
  if (!p->disk_bytes && disk != n->cfg->sandbox.disk_bytes) {
    p->disk_bytes = disk;
    p->has_limits = true;
  }
}

void al_node_exec_start(al_node *n, al_tenant *t, al_sbox *sb, al_exec_params *p, struct evhttp_request *req) {
  char why[256];
  if (sb && p->has_isolation && p->isolation != sb->spec.isolation) {
    al_node_reply_error(n, req, 400, "bad_request",
                        "isolation applies to fresh sandboxes; set it when creating the sandbox");
    al_exec_params_clear(p);
    return;
  }
  if (sb && p->has_limits) {
    al_node_reply_error(n, req, 400, "bad_request",
                        "limits apply to fresh sandboxes; set them when creating the sandbox");
    al_exec_params_clear(p);
    return;
  }
  clamp_defaults(n, t, sb, p);
  /* the sandbox's defaults are what a request without limits gets */
  const airlock_spec *d = &n->cfg->sandbox;
  al_exec_params eff = *p;
  if (!eff.memory_bytes)
    eff.memory_bytes = d->memory_bytes;
  if (!(eff.cpus > 0))
    eff.cpus = d->cpus;
  if (check_maxima(n, t, &eff, why, sizeof(why))) {
    al_node_reply_error(n, req, 403, "forbidden", "%s", why);
    al_exec_params_clear(p);
    return;
  }
  airlock_error *iso_err = NULL;
  if (!sb && p->has_isolation && al_isolation_available(p->isolation, n->cfg->sandbox.allow_degraded, &iso_err) < 0) {
    al_node_reply_error(n, req, 403, "forbidden", "%s", iso_err->msg);
    airlock_error_free(&iso_err);
    al_exec_params_clear(p);
    return;
  }
  /* the policy (and a human, when it asks for one) before any capacity is
   * taken: a request waiting for an approver holds no exec slot */
  if (!p->policy_done && !al_node_policy_gate(n, t, sb, p, req))
    return;
  if ((n->cfg->node_max.max_concurrent_execs && n->running >= n->cfg->node_max.max_concurrent_execs) ||
      (t->max.max_concurrent_execs && t->running >= t->max.max_concurrent_execs)) {
    bool tenant_full = t->max.max_concurrent_execs && t->running >= t->max.max_concurrent_execs;
    al_node_reply_error(n, req, 429, "over_capacity", "%s maximum of %lld concurrent execs is reached; retry later",
                        tenant_full ? "this token's" : "the node's",
                        (long long)(tenant_full ? t->max.max_concurrent_execs : n->cfg->node_max.max_concurrent_execs));
    al_exec_params_clear(p);
    return;
  }
  if (p->max_output < 0)
    p->max_output = n->cfg->max_output_bytes;
  al_exec *e = calloc(1, sizeof(*e));
  e->node = n;
  e->tenant = t;
  e->p = *p;
  memset(p, 0, sizeof(*p));
  e->num = ++n->next_num;
  if (e->p.exec_id[0])
    memcpy(e->id, e->p.exec_id, sizeof(e->id)); /* the id the audit trail already knows */
  else
    make_id(e->id, sizeof(e->id), "ex_");
  e->out_fd = e->err_fd = e->in_fd = -1;
  e->child_fds[0] = e->child_fds[1] = e->child_fds[2] = -1;
  e->out_buf = evbuffer_new();
  e->err_buf = evbuffer_new();
  e->req = req;
  e->state = AL_EXEC_WAITING;
  e->next = n->execs;
  n->execs = e;
  n->running++;
  t->running++;
  if (e->p.pty) {
    e->err_eof = true; /* the terminal is stdout and stderr at once */
    e->tty_in = evbuffer_new();
  } else if (make_pipes(e) < 0) {
    fail_exec(e, "cannot make pipes: %s", strerror(errno));
    return;
  } else {
    e->ev_out = event_new(n->base, e->out_fd, EV_READ | EV_PERSIST, on_output, e);
    e->ev_err = event_new(n->base, e->err_fd, EV_READ | EV_PERSIST, on_output, e);
    e->ev_in = event_new(n->base, e->in_fd, EV_WRITE | EV_PERSIST, e->p.stdin_open ? on_tty_input : on_stdin, e);
    if (e->p.stdin_open)
      e->tty_in = evbuffer_new();
  }
  e->ev_timer = evtimer_new(n->base, on_timeout, e);
  e->ev_drain = evtimer_new(n->base, on_drained, e);
  struct evhttp_connection *conn = req ? evhttp_request_get_connection(req) : NULL;
  if (conn) { /* no request: an OpenClaw invoke (p.on_done) */
    evhttp_connection_set_closecb(conn, on_client_gone, e);
    /* a quiet command must not look like a stalled client */
    int64_t secs = e->p.timeout_ms / 1000 + 5;
    if (secs > n->cfg->io_timeout_s)
      evhttp_connection_set_timeout(conn, (int)(secs > 86400 * 7 ? 86400 * 7 : secs));
  }
  if (e->p.stream && req) {
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/x-ndjson");
    evhttp_send_reply_start(req, 200, "OK");
    char line[96];
    snprintf(line, sizeof(line), "{\"type\":\"started\",\"exec_id\":\"%s\"}\n", e->id);
    struct evbuffer *chunk = evbuffer_new();
    evbuffer_add(chunk, line, strlen(line));
    evhttp_send_reply_chunk(req, chunk);
    evbuffer_free(chunk);
  }

  if (!sb) {
    /* one-shot: a warm sandbox from the pool when the request asks for
     * nothing special, otherwise a fresh one with the request's limits */
    bool other_backend = e->p.has_isolation && e->p.isolation != n->cfg->sandbox.isolation;
    if (!e->p.has_limits && !other_backend)
      sb = al_node_pool_take(n, t);
    if (!sb) {
      airlock_spec spec = n->cfg->sandbox;
      if (e->p.has_isolation)
        spec.isolation = e->p.isolation;
      if (e->p.memory_bytes)
        spec.memory_bytes = e->p.memory_bytes;
      if (e->p.cpus > 0)
        spec.cpus = e->p.cpus;
      if (e->p.pids)
        spec.pids = e->p.pids;
      if (e->p.disk_bytes)
        spec.disk_bytes = e->p.disk_bytes;
      _cleanup_error_ airlock_error *err = NULL;
      sb = al_node_sbox_create(n, t, &spec, true, &err);
      if (!sb && strstr(err->msg, "maximum") && e->req && !e->p.stream) {
        /* a full node is a retryable condition, not a failure */
        struct evhttp_request *req2 = e->req;
        e->req = NULL;
        evhttp_connection_set_closecb(evhttp_request_get_connection(req2), NULL, NULL);
        al_node_reply_error(n, req2, 429, "over_capacity", "%s; retry later", err->msg);
      }
      if (!sb) {
        fail_exec(e, "sandbox setup failed: %s", err->msg);
        return;
      }
    }
  }
  e->sbox = sb;
  if (!sb->one_shot)
    snprintf(e->sandbox_id, sizeof(e->sandbox_id), "%s", sb->id);
  if (sb->ready) {
    dispatch(e);
  } else {
    al_exec **tail = &sb->waiting;
    while (*tail)
      tail = &(*tail)->wait_next;
    *tail = e;
  }
}

static al_exec *find_by_num(al_node *n, al_sbox *sb, uint64_t num) {
  for (al_exec *e = n->execs; e; e = e->next)
    if (e->sbox == sb && e->num == num && e->state != AL_EXEC_DONE)
      return e;
  return NULL;
}

static void set_window_size(al_exec *e) {
  struct winsize ws = {.ws_row = (unsigned short)e->p.rows, .ws_col = (unsigned short)e->p.cols};
  if (e->out_fd >= 0 && ws.ws_row > 0)
    ioctl(e->out_fd, TIOCSWINSZ, &ws);
}

/* The master of a pty exec's terminal came with EXEC_STARTED: its output is
 * read as the pipes are, its input written from tty_in. */
static void tty_attach(al_node *n, al_exec *e, int master) {
  if (master < 0) {
    /* the agent started the command but the terminal did not arrive */
    free(e->error);
    e->error = strdup("the sandbox did not hand over the command's terminal");
    al_node_exec_signal(n, e, SIGKILL);
    return;
  }
  fcntl(master, F_SETFL, O_NONBLOCK);
  e->out_fd = master;
  e->in_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
  e->ev_out = event_new(n->base, e->out_fd, EV_READ | EV_PERSIST, on_output, e);
  if (e->in_fd >= 0)
    e->ev_in = event_new(n->base, e->in_fd, EV_WRITE | EV_PERSIST, on_tty_input, e);
  if (!e->paused)
    event_add(e->ev_out, NULL);
  if (e->ev_in && evbuffer_get_length(e->tty_in) > 0)
    event_add(e->ev_in, NULL);
  set_window_size(e); /* a resize may have come after the exec was handed over */
}

void al_node_exec_agent_msg(al_node *n, al_sbox *sb, const al_status_msg *m) {
  al_exec *e = find_by_num(n, sb, m->exec_id);
  if (!e)
    return;
  switch (m->kind) {
  case AL_MSG_EXEC_STARTED:
    if (e->p.pty && e->out_fd < 0)
      tty_attach(n, e, al_box_take_fd(&sb->box));
    break;
  case AL_MSG_EXEC_ERROR:
    e->exec_errno = m->value;
    free(e->error);
    e->error = strdup(m->text);
    break;
  case AL_MSG_EXEC_EXIT:
    e->exited = true;
    e->wait_status = m->value;
    e->user_us = m->user_us;
    e->sys_us = m->sys_us;
    e->max_rss_kb = m->max_rss_kb;
    e->end_ms = al_monotonic_ms();
    if (e->out_eof && e->err_eof) {
      finish(e);
    } else {
      /* background processes may hold the pipes open: wait briefly */
      struct timeval tv = {0, EXIT_GRACE_MS * 1000};
      evtimer_add(e->ev_timer, &tv);
    }
    break;
  default: break;
  }
}

void al_node_exec_sandbox_died(al_node *n, al_sbox *sb) {
  for (al_exec *e = n->execs; e; e = e->next) {
    if (e->sbox != sb || e->state == AL_EXEC_DONE)
      continue;
    if (!e->exited) {
      e->exited = true;
      e->wait_status = SIGKILL; /* killed with its sandbox */
      e->end_ms = al_monotonic_ms();
    }
    if (e->state == AL_EXEC_WAITING) {
      /* never started: a setup failure, reported as such (500) */
      free(e->error);
      if (asprintf(&e->error, "sandbox setup failed: %s",
                   sb->setup_error ? sb->setup_error : "the sandbox ended before the command started") < 0)
        e->error = NULL;
      e->wait_status = W_EXITCODE(AIRLOCK_EXIT_SETUP, 0);
    }
    finish(e);
  }
  sb->waiting = NULL;
}

void al_node_exec_signal(al_node *n, al_exec *e, int signo) {
  (void)n;
  if (e->state == AL_EXEC_DONE || !e->sbox)
    return;
  if (e->state == AL_EXEC_WAITING) {
    /* not started yet: take it out of the queue and end it */
    for (al_exec **w = &e->sbox->waiting; *w; w = &(*w)->wait_next)
      if (*w == e) {
        *w = e->wait_next;
        break;
      }
    e->exited = e->out_eof = e->err_eof = true;
    e->wait_status = signo & 0x7f;
    finish(e);
    return;
  }
  if (signo == SIGKILL && e->sbox->one_shot)
    al_box_kill(&e->sbox->box); /* everything it started goes with it */
  else
    al_box_signal(&e->sbox->box, e->num, signo);
}

json_t *al_exec_result_json(const al_exec *e, bool with_output) {
  json_t *o = json_object();
  json_object_set_new(o, "exec_id", json_string(e->id));
  json_object_set_new(o, "state",
                      json_string(e->state != AL_EXEC_DONE ? (e->state == AL_EXEC_WAITING ? "waiting" : "running")
                                  : e->interrupted         ? "interrupted"
                                                           : "exited"));
  if (e->sandbox_id[0])
    json_object_set_new(o, "sandbox", json_string(e->sandbox_id));
  if (e->state == AL_EXEC_DONE) {
    int code = al_exec_exit_code(e);
    int sig = WIFSIGNALED(e->wait_status) ? WTERMSIG(e->wait_status) : 0;
    json_object_set_new(o, "exit_code", json_integer(code));
    json_object_set_new(o, "signal", json_integer(e->timed_out ? SIGKILL : sig));
    json_object_set_new(o, "timed_out", json_boolean(e->timed_out));
    json_object_set_new(o, "oom_killed", json_boolean(e->oom_killed));
    json_object_set_new(o, "cancelled", json_boolean(e->cancelled));
    json_object_set_new(o, "success", json_boolean(code == 0 && !e->error));
    json_object_set_new(o, "truncated", json_boolean(e->truncated));
    json_object_set_new(o, "wall_ms",
                        json_integer(e->end_ms > e->start_ms && e->start_ms ? e->end_ms - e->start_ms : 0));
    json_object_set_new(o, "cpu_user_ms", json_integer(e->user_us / 1000));
    json_object_set_new(o, "cpu_sys_ms", json_integer(e->sys_us / 1000));
    json_object_set_new(o, "max_rss_kb", json_integer(e->max_rss_kb));
    json_object_set_new(o, "error", e->error ? json_string(e->error) : json_null());
  }
  if (with_output) {
    struct evbuffer *bufs[2] = {e->out_buf, e->err_buf};
    const char *names[2] = {"stdout", "stderr"};
    for (int i = 0; i < 2; i++) {
      struct evbuffer *clean = evbuffer_new();
      unsigned char carry[4];
      size_t carry_len = 0;
      size_t len = evbuffer_get_length(bufs[i]);
      unsigned char *data = evbuffer_pullup(bufs[i], -1);
      for (size_t off = 0; off < len; off += READ_CHUNK) {
        size_t part = len - off < READ_CHUNK ? len - off : READ_CHUNK;
        utf8_append(clean, data + off, part, carry, &carry_len, off + part == len);
      }
      const char *text = (const char *)evbuffer_pullup(clean, -1);
      json_object_set_new(o, names[i], json_stringn(text ? text : "", evbuffer_get_length(clean)));
      evbuffer_free(clean);
    }
  }
  return o;
}

static void finish(al_exec *e) {
  if (e->state == AL_EXEC_DONE)
    return;
  al_node *n = e->node;
  /* drain what is already in the pipes (bounded: a background process
   * may keep writing) */
  for (int i = 0; i < 2; i++) {
    for (int round = 0; round < 64; round++) {
      int fd = i == 0 ? e->out_fd : e->err_fd;
      bool eof = i == 0 ? e->out_eof : e->err_eof;
      int avail = 0;
      if (fd < 0 || eof || ioctl(fd, FIONREAD, &avail) < 0 || avail == 0)
        break;
      on_output(fd, EV_READ, e);
    }
  }
  bool was_running = e->state == AL_EXEC_RUNNING;
  e->state = AL_EXEC_DONE;
  if (!e->end_ms)
    e->end_ms = al_monotonic_ms();
  /* the memory cgroup is read only when a command died by SIGKILL: an OOM
   * kill not yet attributed to another exec is this one's */
  if (e->sbox && !e->timed_out && !e->cancelled && WIFSIGNALED(e->wait_status) && WTERMSIG(e->wait_status) == SIGKILL) {
    long long kills = al_box_oom_kills(&e->sbox->box);
    if (kills > e->sbox->oom_seen) {
      e->oom_killed = true;
      e->sbox->oom_seen = kills;
    }
  }
  struct event *evs[] = {e->ev_out, e->ev_err, e->ev_in, e->ev_timer, e->ev_drain};
  for (size_t i = 0; i < AL_ARRAY_SIZE(evs); i++)
    if (evs[i])
      event_del(evs[i]);
  close_fd(&e->out_fd);
  close_fd(&e->err_fd);
  close_fd(&e->in_fd);
  for (int i = 0; i < 3; i++)
    close_fd(&e->child_fds[i]);
  n->running--;
  e->tenant->running--;
  al_sbox *sb = e->sbox;
  if (sb) {
    if (was_running)
      sb->running--;
    sb->last_used_ms = al_monotonic_ms();
    if (sb->one_shot && !sb->dying)
      al_node_sbox_destroy(n, sb);
  }
  al_node_metrics_exec_done(n, e);
  al_state_exec_finished(n, e);
  n->n_finished++;
  if (e->req) {
    struct evhttp_connection *conn = evhttp_request_get_connection(e->req);
    evhttp_connection_set_closecb(conn, NULL, NULL);
    /* back to the node's I/O timeout for the connection's next requests */
    evhttp_connection_set_timeout(conn, (int)n->cfg->io_timeout_s);
    if (e->p.stream) {
      json_t *o = al_exec_result_json(e, false);
      json_object_set_new(o, "type", json_string("exit"));
      char *line = json_dumps(o, JSON_COMPACT);
      json_decref(o);
      struct evbuffer *chunk = evbuffer_new();
      evbuffer_add(chunk, line, strlen(line));
      evbuffer_add(chunk, "\n", 1);
      evhttp_send_reply_chunk(e->req, chunk);
      evbuffer_free(chunk);
      free(line);
      evhttp_send_reply_end(e->req);
    } else {
      bool setup_failed = e->wait_status == W_EXITCODE(AIRLOCK_EXIT_SETUP, 0) && e->error && !e->exec_errno;
      if (setup_failed)
        al_node_reply_error(n, e->req, 500, "internal", "%s", e->error);
      else
        al_node_reply_json(e->req, 200, al_exec_result_json(e, true));
    }
    e->req = NULL;
  }
  if (e->p.on_done)
    e->p.on_done(e, e->p.owner);
  /* recorded once the caller has its answer: the record costs it nothing */
  al_node_audit_exec_result(n, e);
  al_node_exec_gc(n);
}

void al_node_exec_free(al_exec *e) {
  struct event *evs[] = {e->ev_out, e->ev_err, e->ev_in, e->ev_timer, e->ev_drain};
  for (size_t i = 0; i < AL_ARRAY_SIZE(evs); i++)
    if (evs[i])
      event_free(evs[i]);
  if (e->tty_in)
    evbuffer_free(e->tty_in);
  evbuffer_free(e->out_buf);
  evbuffer_free(e->err_buf);
  al_exec_params_clear(&e->p);
  free(e->error);
  free(e);
}

void al_node_exec_gc(al_node *n) {
  /* new execs go to the front: walk only when there is something to drop,
   * and drop a batch at once */
  if (n->n_finished <= KEEP_FINISHED + KEEP_FINISHED / 4)
    return;
  int64_t kept = 0;
  for (al_exec **pe = &n->execs; *pe;) {
    al_exec *e = *pe;
    if (e->state == AL_EXEC_DONE && ++kept > KEEP_FINISHED) {
      *pe = e->next;
      al_node_exec_free(e);
      n->n_finished--;
      continue;
    }
    pe = &e->next;
  }
}

void al_node_exec_forget_sandbox(al_node *n, al_sbox *sb) {
  for (al_exec *e = n->execs; e; e = e->next)
    if (e->sbox == sb)
      e->sbox = NULL;
}

al_exec *al_node_exec_find(al_node *n, al_tenant *t, const char *id) {
  for (al_exec *e = n->execs; e; e = e->next)
    if (e->tenant == t && strcmp(e->id, id) == 0)
      return e;
  return NULL;
}

void al_node_exec_input(al_node *n, al_exec *e, struct evhttp_request *req) {
  if (!e->p.pty && !e->p.stdin_open) {
    al_node_reply_error(n, req, 409, "conflict",
                        "exec '%s' takes no input (it was started with neither \"pty\" nor \"stdin_open\")", e->id);
    return;
  }
  if (e->state == AL_EXEC_DONE) {
    al_node_reply_error(n, req, 409, "conflict", "exec '%s' has already finished", e->id);
    return;
  }
  size_t len;
  const char *body = al_node_body(req, &len);
  al_exec_input in;
  char why[256];
  if (al_exec_input_parse(body, len, &in, why, sizeof(why)) < 0) {
    al_node_reply_error(n, req, 400, "bad_request", "%s", why);
    return;
  }
  if ((in.eof && !e->p.stdin_open) || (in.rows && !e->p.pty) || (e->in_eof && in.len)) {
    free(in.data);
    al_node_reply_error(n, req, 400, "bad_request", "%s",
                        in.eof && !e->p.stdin_open ? "'eof' is for a stdin_open exec (a terminal takes Ctrl-D)"
                        : in.rows && !e->p.pty     ? "'rows' and 'cols' are for a pty exec"
                                                   : "input after 'eof'");
    return;
  }
  if (evbuffer_get_length(e->tty_in) + in.len > TTY_INPUT_MAX) {
    free(in.data);
    al_node_reply_error(n, req, 429, "over_capacity",
                        "exec '%s' has %zu bytes of input the command has not read yet (at most %d); retry later",
                        e->id, evbuffer_get_length(e->tty_in), TTY_INPUT_MAX);
    return;
  }
  e->in_eof = e->in_eof || in.eof;
  /* a stdin_open exec's pipe is written once it runs (dispatch) */
  bool writable = e->ev_in && (e->p.pty || e->state == AL_EXEC_RUNNING) && e->in_fd >= 0;
  if (in.len > 0)
    evbuffer_add(e->tty_in, in.data, in.len);
  if (writable && (in.len > 0 || in.eof))
    event_add(e->ev_in, NULL);
  free(in.data);
  if (in.rows) {
    e->p.rows = in.rows;
    e->p.cols = in.cols;
    set_window_size(e);
  }
  al_node_reply_json(req, 202,
                     json_pack("{s:s,s:I}", "exec_id", e->id, "queued", (json_int_t)evbuffer_get_length(e->tty_in)));
}
