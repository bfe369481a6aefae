/* SPDX-License-Identifier: Apache-2.0 */
/* vm_net.c - the loop both ends of the airlock.net port run (vm_net.h).
 *
 * Hand-written because nothing in Debian multiplexes streams over one byte
 * pipe in code small and libc-only enough for the static guest init; the
 * framing is vm_proto's (its reader is fuzzed).  One process per end, one
 * poll loop, non-blocking descriptors throughout.
 *
 * Per connection a side keeps the bytes the peer sent that its socket has
 * not yet taken (at most the window: the peer may send no more than that
 * before we acknowledge what we wrote), and the credit it may still send.
 * EOF is a half close (shutdown(SHUT_WR) once the buffer is written out);
 * a connection ends when both directions did; CLOSE drops it at once
 * (a reset, a failed connect, a window broken). */
#define _GNU_SOURCE
#include "vm_net.h"

#include "vm_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define ACK_EVERY (64 * 1024)
#define OUT_HIGH (1024 * 1024) /* port output queued above this: read nothing that makes more */
#define DNS_PENDING 64
#define DNS_TIMEOUT_MS 5000

typedef struct {
  bool used;
  uint64_t id;
  int fd;
  uint8_t *to_sock; /* from the peer, not yet written to fd (at most the window) */
  size_t to_len;
  uint32_t credit;  /* bytes we may still send the peer */
  uint32_t drained; /* written to fd since our last ACK */
  bool peer_eof, shut_wr, sock_eof;
} conn;

typedef struct {
  bool used;
  uint64_t id;
  int fd;                  /* host: the seqpacket socket to the stub */
  struct sockaddr_in from; /* guest: who asked */
  int64_t deadline;
} query;

typedef struct {
  bool host;
  int port, http_listener, dns_socket;
  char http_path[64], dns_path[64];
  uint8_t *in;
  size_t in_len;
  uint8_t *out;
  size_t out_len, out_cap;
  conn conns[AL_VM_NET_MAX_CONNS];
  query queries[DNS_PENDING];
  uint64_t next_id;
  bool broken; /* the peer broke the protocol */
} relay;

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int queue(relay *r, uint16_t kind, uint64_t id, const void *payload, uint32_t len) {
  size_t need = r->out_len + sizeof(al_vm_frame_hdr) + len;
  if (need > r->out_cap) {
    size_t cap = r->out_cap ? r->out_cap : 65536;
    while (cap < need)
      cap *= 2;
    uint8_t *p = realloc(r->out, cap);
    if (!p)
      return -1;
    r->out = p;
    r->out_cap = cap;
  }
  al_vm_frame_hdr h;
  al_vm_frame_header(&h, kind, id, len);
  memcpy(r->out + r->out_len, &h, sizeof(h));
  if (len)
    memcpy(r->out + r->out_len + sizeof(h), payload, len);
  r->out_len = need;
  return 0;
}

static conn *find(relay *r, uint64_t id) {
  for (int i = 0; i < AL_VM_NET_MAX_CONNS; i++)
    if (r->conns[i].used && r->conns[i].id == id)
      return &r->conns[i];
  return NULL;
}

static conn *add(relay *r, uint64_t id, int fd) {
  for (int i = 0; i < AL_VM_NET_MAX_CONNS; i++)
    if (!r->conns[i].used) {
      uint8_t *buf = malloc(AL_VM_NET_WINDOW);
      if (!buf)
        return NULL;
      r->conns[i] = (conn){.used = true, .id = id, .fd = fd, .to_sock = buf, .credit = AL_VM_NET_WINDOW};
      return &r->conns[i];
    }
  return NULL;
}

static void drop(conn *c) {
  close(c->fd);
  free(c->to_sock);
  *c = (conn){.used = false};
}

/* drop c and tell the peer */
static void reset(relay *r, conn *c) {
  queue(r, AL_VM_NET_CLOSE, c->id, NULL, 0);
  drop(c);
}

static int unix_connect(const char *path, int type) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(a.sun_path))
    return -1;
  strcpy(a.sun_path, path);
  int fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static query *free_query(relay *r) {
  for (int i = 0; i < DNS_PENDING; i++)
    if (!r->queries[i].used)
      return &r->queries[i];
  return NULL;
}

static void end_query(query *q) {
  if (q->fd >= 0)
    close(q->fd);
  *q = (query){.used = false, .fd = -1};
}

/* ---- frames from the peer ---- */

static void on_frame(relay *r, const al_vm_frame *f) {
  conn *c = f->kind == AL_VM_NET_DNS ? NULL : find(r, f->exec_id);
  switch (f->kind) {
  case AL_VM_NET_OPEN: {
    int fd = -1;
    if (!r->host || c || (fd = unix_connect(r->http_path, SOCK_STREAM)) < 0 || !add(r, f->exec_id, fd)) {
      if (fd >= 0)
        close(fd);
      if (r->host && !c)
        queue(r, AL_VM_NET_CLOSE, f->exec_id, NULL, 0);
    }
    return;
  }
  case AL_VM_NET_DATA:
    if (!c || c->peer_eof)
      return; /* closed here already; the peer learns it from our CLOSE */
    if (c->to_len + f->len > AL_VM_NET_WINDOW) {
      reset(r, c); /* the peer sent past the window it was given */
      return;
    }
    memcpy(c->to_sock + c->to_len, f->payload, f->len);
    c->to_len += f->len;
    return;
  case AL_VM_NET_ACK: {
    uint32_t n;
    memcpy(&n, f->payload, sizeof(n));
    if (c && (uint64_t)c->credit + n > AL_VM_NET_WINDOW)
      reset(r, c); /* acknowledges bytes never sent */
    else if (c)
      c->credit += n;
    return;
  }
  case AL_VM_NET_EOF:
    if (c)
      c->peer_eof = true;
    return;
  case AL_VM_NET_CLOSE:
    if (c)
      drop(c);
    return;
  case AL_VM_NET_DNS:
    if (r->host) {
      query *q = free_query(r);
      int fd = q ? unix_connect(r->dns_path, SOCK_SEQPACKET) : -1;
      if (fd < 0)
        return; /* the asker times out, as with a lost datagram */
      if (send(fd, f->payload, f->len, MSG_NOSIGNAL) != (ssize_t)f->len) {
        close(fd);
        return;
      }
      *q = (query){.used = true, .id = f->exec_id, .fd = fd, .deadline = now_ms() + DNS_TIMEOUT_MS};
    } else {
      for (int i = 0; i < DNS_PENDING; i++) {
        query *q = &r->queries[i];
        if (q->used && q->id == f->exec_id) {
          sendto(r->dns_socket, f->payload, f->len, 0, (struct sockaddr *)&q->from, sizeof(q->from));
          end_query(q);
          break;
        }
      }
    }
    return;
  default: r->broken = true; /* a control-port kind on the network port */
  }
}

static int read_port(relay *r) {
  size_t cap = sizeof(al_vm_frame_hdr) + AL_VM_MAX_PAYLOAD;
  ssize_t n = read(r->port, r->in + r->in_len, cap - r->in_len);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
    return -1;
  if (n > 0)
    r->in_len += (size_t)n;
  size_t off = 0;
  for (;;) {
    al_vm_frame f;
    long used = al_vm_frame_next(r->in + off, r->in_len - off, &f);
    if (used < 0) {
      r->broken = true;
      return -1;
    }
    if (used == 0)
      break;
    on_frame(r, &f);
    off += (size_t)used;
    if (r->broken)
      return -1;
  }
  memmove(r->in, r->in + off, r->in_len - off);
  r->in_len -= off;
  return 0;
}

static int write_port(relay *r) {
  ssize_t n = write(r->port, r->out, r->out_len);
  if (n < 0)
    return errno == EAGAIN || errno == EINTR ? 0 : -1;
  memmove(r->out, r->out + n, r->out_len - (size_t)n);
  r->out_len -= (size_t)n;
  return 0;
}

/* ---- sockets on this side ---- */

static void sock_read(relay *r, conn *c) {
  static uint8_t buf[AL_VM_DATA_CHUNK];
  size_t want = c->credit < sizeof(buf) ? c->credit : sizeof(buf);
  ssize_t n = read(c->fd, buf, want);
  if (n > 0) {
    queue(r, AL_VM_NET_DATA, c->id, buf, (uint32_t)n);
    c->credit -= (uint32_t)n;
  } else if (n == 0) {
    queue(r, AL_VM_NET_EOF, c->id, NULL, 0);
    c->sock_eof = true;
  } else if (errno != EAGAIN && errno != EINTR) {
    reset(r, c);
  }
}

static void sock_write(relay *r, conn *c) {
  ssize_t n = write(c->fd, c->to_sock, c->to_len);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR)
      reset(r, c);
    return;
  }
  memmove(c->to_sock, c->to_sock + n, c->to_len - (size_t)n);
  c->to_len -= (size_t)n;
  c->drained += (uint32_t)n;
  if (c->drained >= ACK_EVERY || (c->to_len == 0 && c->drained > 0)) {
    queue(r, AL_VM_NET_ACK, c->id, &c->drained, sizeof(c->drained));
    c->drained = 0;
  }
}

/* the half close and the end of a connection both sides finished */
static void settle(conn *c) {
  if (c->peer_eof && c->to_len == 0 && !c->shut_wr) {
    shutdown(c->fd, SHUT_WR);
    c->shut_wr = true;
  }
  if (c->sock_eof && c->shut_wr)
    drop(c);
}

static void guest_accept(relay *r) {
  int fd = accept4(r->http_listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0)
    return;
  uint64_t id = ++r->next_id;
  if (!add(r, id, fd)) {
    close(fd);
    return;
  }
  queue(r, AL_VM_NET_OPEN, id, NULL, 0);
}

static void guest_query(relay *r) {
  static uint8_t buf[AL_VM_NET_DNS_MAX + 1];
  struct sockaddr_in from;
  socklen_t fl = sizeof(from);
  ssize_t n = recvfrom(r->dns_socket, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&from, &fl);
  query *q = free_query(r);
  if (n <= 0 || n > AL_VM_NET_DNS_MAX || !q)
    return; /* dropped: the resolver asks again */
  *q = (query){.used = true, .id = ++r->next_id, .fd = -1, .from = from, .deadline = now_ms() + DNS_TIMEOUT_MS};
  queue(r, AL_VM_NET_DNS, q->id, buf, (uint32_t)n);
}

static void host_answer(relay *r, query *q) {
  static uint8_t buf[AL_VM_NET_DNS_MAX];
  ssize_t n = recv(q->fd, buf, sizeof(buf), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n > 0)
    queue(r, AL_VM_NET_DNS, q->id, buf, (uint32_t)n);
  end_query(q);
}

/* ---- the loop ---- */

#define MAX_FDS (3 + AL_VM_NET_MAX_CONNS + DNS_PENDING)

static int serve(relay *r) {
  signal(SIGPIPE, SIG_IGN);
  r->in = malloc(sizeof(al_vm_frame_hdr) + AL_VM_MAX_PAYLOAD);
  if (!r->in)
    return -1;
  for (int i = 0; i < DNS_PENDING; i++)
    r->queries[i].fd = -1;
  struct pollfd p[MAX_FDS];
  void *who[MAX_FDS];
  for (;;) {
    bool room = r->out_len < OUT_HIGH;
    int n = 0, timeout = -1;
    int64_t now = now_ms();
    p[n] = (struct pollfd){r->port, (short)((room ? POLLIN : 0) | (r->out_len ? POLLOUT : 0)), 0};
    who[n++] = NULL;
    if (!r->host) {
      p[n] = (struct pollfd){room ? r->http_listener : -1, POLLIN, 0};
      who[n++] = NULL;
      p[n] = (struct pollfd){room ? r->dns_socket : -1, POLLIN, 0};
      who[n++] = NULL;
    }
    for (int i = 0; i < AL_VM_NET_MAX_CONNS; i++) {
      conn *c = &r->conns[i];
      if (!c->used)
        continue;
      short ev = (short)((room && c->credit > 0 && !c->sock_eof ? POLLIN : 0) | (c->to_len ? POLLOUT : 0));
      p[n] = (struct pollfd){ev ? c->fd : -1, ev, 0};
      who[n++] = c;
    }
    for (int i = 0; i < DNS_PENDING; i++) {
      query *q = &r->queries[i];
      if (!q->used)
        continue;
      if (q->deadline <= now) {
        end_query(q);
        continue;
      }
      int left = (int)(q->deadline - now);
      timeout = timeout < 0 || left < timeout ? left : timeout;
      if (r->host) {
        p[n] = (struct pollfd){q->fd, POLLIN, 0};
        who[n++] = q;
      }
    }
    if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR)
      return -1;
    if ((p[0].revents & POLLOUT) && write_port(r) < 0)
      return 0;
    if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && read_port(r) < 0)
      return r->broken ? -1 : 0;
    int i = 1;
    if (!r->host) {
      if (p[1].revents & POLLIN)
        guest_accept(r);
      if (p[2].revents & POLLIN)
        guest_query(r);
      i = 3;
    }
    for (; i < n; i++) {
      if (!p[i].revents || !who[i])
        continue;
      if ((char *)who[i] >= (char *)r->queries && (char *)who[i] < (char *)(r->queries + DNS_PENDING)) {
        host_answer(r, who[i]);
        continue;
      }
      conn *c = who[i];
      if (p[i].revents & POLLERR) {
        reset(r, c);
        continue;
      }
      if (p[i].revents & POLLOUT)
        sock_write(r, c);
      /* a hang-up with no credit left waits for the peer's ACK */
      if (c->used && !c->sock_eof && c->credit > 0 && (p[i].revents & (POLLIN | POLLHUP)))
        sock_read(r, c);
    }
    for (int k = 0; k < AL_VM_NET_MAX_CONNS; k++)
      if (r->conns[k].used)
        settle(&r->conns[k]);
  }
}

int al_vm_net_serve_guest(int port, int http_listener, int dns_socket) {
  static relay r;
  r = (relay){.host = false, .port = port, .http_listener = http_listener, .dns_socket = dns_socket};
  if (fcntl(port, F_SETFL, fcntl(port, F_GETFL) | O_NONBLOCK) < 0)
    return -1;
  return serve(&r);
}

int al_vm_net_serve_host(int port, int sock_dir) {
  static relay r;
  r = (relay){.host = true, .port = port, .http_listener = -1, .dns_socket = -1};
  /* through the directory's descriptor: its path need not be reachable */
  snprintf(r.http_path, sizeof(r.http_path), "/proc/self/fd/%d/" AL_VM_NET_HTTP_SOCK, sock_dir);
  snprintf(r.dns_path, sizeof(r.dns_path), "/proc/self/fd/%d/" AL_VM_NET_DNS_SOCK, sock_dir);
  if (fcntl(port, F_SETFL, fcntl(port, F_GETFL) | O_NONBLOCK) < 0)
    return -1;
  return serve(&r);
}
