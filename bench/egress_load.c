/* SPDX-License-Identifier: Apache-2.0 */
/* egress_load.c - the upstream servers and the timed client of
 * bench/egress.sh: an egress proxy (airlock proxy, tinyproxy) against
 * direct connections to the same loopback upstream.
 *
 *   egress-load serve --addr IP --cert FILE --key FILE --ready FILE
 *                     [--name NAME] [--body BYTES]
 *   egress-load run --servers FILE --ca FILE [--name NAME]
 *                   --case LABEL[=IP:PORT:name|ip|inspect]... [--target LABEL]
 *                   [--http N] [--tls N] [--https N] [--warmup W]
 *                   [--bulk-bytes B] [--bulk-rounds R] [--raw FILE]
 *   egress-load free-port [IP]
 *
 * serve binds, on IP with ports the kernel picks, six upstreams and
 * writes "http=P tls=P bulk=P tlsbulk=P https=P dns=P body=B" to the ready
 * file:
 *   http     HTTP/1.x: reads one request head, answers 200 with a BYTES
 *            body (default 1024), Content-Length framed and
 *            "Connection: close", then closes (so a keep-alive client and a
 *            proxy sending Connection: close are served alike)
 *   tls      TLS (the certificate and key given): the handshake, then waits
 *            for the client to close
 *   bulk     raw TCP: reads a decimal byte count and a newline, sends that
 *            many bytes, closes
 *   tlsbulk  the same inside TLS
 *   https    http inside TLS: the handshake, one request, the same answer,
 *            close_notify
 *   dns      UDP DNS: NAME (default up.test) has the A record IP and no
 *            AAAA; any other name is NXDOMAIN
 * Each TCP upstream has two threads accepting on its socket, each serving
 * its connections one at a time (the client below is sequential).  serve
 * runs until it is killed.
 *
 * run measures, one case after another in round-robin (round i starts at
 * case i mod cases, so a drift of the machine hits every case alike):
 *   1. plain HTTP: a fresh TCP connection per request, GET, timed from
 *      the start of connect() until the whole response (head and
 *      Content-Length body) is in; a proxy case sends the absolute URI
 *      http://HOST:PORT/bench to the proxy
 *   2. CONNECT set-up: from the start of connect() to the end of the TLS
 *      handshake (certificate verified against --ca, host name or IP
 *      checked); a proxy case connects to the proxy, sends CONNECT
 *      HOST:PORT, reads the 200 and shakes hands through the tunnel
 *   3. HTTPS request: a fresh connection, the TLS handshake (through a
 *      CONNECT tunnel when proxied), GET, the whole response
 *   4. bulk, raw: B bytes (default 256 MiB) over one connection, from the
 *      start of connect() to the last byte; a proxy case goes through a
 *      CONNECT tunnel to the bulk port (which the proxy must treat as
 *      opaque: the client sends no TLS hello)
 *   5. bulk, TLS: the same inside TLS through a CONNECT tunnel to tlsbulk
 * The close that follows each (waiting for the server's or proxy's close)
 * is not timed, and the next operation starts only after it.
 * A case LABEL alone is direct (to IP, with SNI NAME); LABEL=IP:PORT:name
 * goes through the proxy at IP:PORT naming the upstream by NAME (the proxy
 * resolves it, the TLS hello carries SNI NAME), LABEL=IP:PORT:ip names it by
 * its IP literal (no SNI), LABEL=IP:PORT:inspect names it by NAME through
 * a proxy that ends the TLS itself (an inspected host: the handshake is
 * with the proxy, whose CA must be in --ca) and is measured in 2 and 3
 * only.  W untimed warm-up requests per case come first in each of 1, 2
 * and 3 (bulk: one untimed transfer of up to 16 MiB per case).
 * Each case's requests alternate; every sample is timed with
 * CLOCK_MONOTONIC.  Percentiles interpolate linearly between closest
 * ranks.  The first case is the baseline: "added" is a case's median minus
 * the baseline's, "ratio" its median over the baseline's.  --target LABEL
 * prints whether that case met the egress proxy's targets (added median
 * under 0.3 ms for 1 and 2, bulk throughput at least 80% of direct).
 *
 * --raw FILE writes every timed sample, one a line: measurement, case,
 * round, value (ms, or MB/s for bulk; negative: failed).
 *
 * free-port prints a TCP port that was free on IP (default 127.0.0.1) a
 * moment ago.
 *
 * This is a benchmark, not a test: run exits 0 when it ran, whatever the
 * numbers or failures (1: it could not run at all, 2: bad usage). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define MAX_CASES 8
#define IO_TIMEOUT_S 30
#define BULK_CHUNK (256 * 1024)
#define HEAD_MAX 16384
#define WHY_MAX 400

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "egress-load: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

static void set_timeouts(int fd) {
  struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int parse_port(const char *s, uint16_t *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < 1 || v > 65535)
    return -1;
  *out = (uint16_t)v;
  return 0;
}

static long long parse_count(const char *opt, const char *s, long long min) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (!*s || *end || errno || v < min) {
    fprintf(stderr, "egress-load: %s needs a number of at least %lld, not '%s'\n", opt, min, s);
    exit(2);
  }
  return v;
}

/* ---- serve ---------------------------------------------------------------- */

typedef enum { SV_HTTP, SV_TLS, SV_BULK, SV_TLSBULK, SV_HTTPS, SV_COUNT } service_kind;

typedef struct {
  service_kind kind;
  int fd;
  uint16_t port;
} service;

static SSL_CTX *server_tls;
#define HTTP_HEAD_FMT                                                                                                  \
  "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n"
static char *http_response;
static size_t http_response_len;
static char bulk_block[BULK_CHUNK];

/* Read until "\r\n\r\n" (or a newline for the bulk request line). */
static ssize_t read_head(int fd, SSL *ssl, char *buf, size_t cap, const char *end_mark) {
  size_t have = 0;
  while (have + 1 < cap) {
    int n = ssl ? SSL_read(ssl, buf + have, (int)(cap - 1 - have)) : (int)recv(fd, buf + have, cap - 1 - have, 0);
    if (n < 0 && !ssl && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    have += (size_t)n;
    buf[have] = '\0';
    if (strstr(buf, end_mark))
      return (ssize_t)have;
  }
  return -1;
}

/* Wait for the peer to close (so closing here never resets what was sent). */
static void drain_until_eof(int fd, SSL *ssl) {
  char buf[4096];
  for (;;) {
    int n = ssl ? SSL_read(ssl, buf, sizeof(buf)) : (int)recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && !ssl && errno == EINTR)
      continue;
    if (n <= 0)
      return;
  }
}

static void serve_http(int fd) {
  char buf[HEAD_MAX];
  if (read_head(fd, NULL, buf, sizeof(buf), "\r\n\r\n") < 0)
    return;
  if (write_all(fd, http_response, http_response_len) < 0)
    return;
  shutdown(fd, SHUT_WR);
}

static void send_bulk(int fd, SSL *ssl, const char *request) {
  char *end;
  unsigned long long want = strtoull(request, &end, 10);
  if (end == request || *end != '\n')
    return;
  while (want > 0) {
    size_t n = want < sizeof(bulk_block) ? (size_t)want : sizeof(bulk_block);
    if (ssl ? SSL_write(ssl, bulk_block, (int)n) != (int)n : write_all(fd, bulk_block, n) < 0)
      return;
    want -= n;
  }
  if (ssl)
    SSL_shutdown(ssl);
  else
    shutdown(fd, SHUT_WR);
  drain_until_eof(fd, ssl);
}

static void serve_one(service_kind kind, int fd) {
  char buf[128];
  if (kind == SV_HTTP) {
    serve_http(fd);
    return;
  }
  if (kind == SV_BULK) {
    if (read_head(fd, NULL, buf, sizeof(buf), "\n") > 0)
      send_bulk(fd, NULL, buf);
    return;
  }
  SSL *ssl = SSL_new(server_tls);
  if (!ssl)
    return;
  SSL_set_fd(ssl, fd);
  char head[HEAD_MAX];
  if (SSL_accept(ssl) == 1) {
    if (kind == SV_TLS) {
      drain_until_eof(fd, ssl);
    } else if (kind == SV_HTTPS) {
      if (read_head(fd, ssl, head, sizeof(head), "\r\n\r\n") > 0 &&
          SSL_write(ssl, http_response, (int)http_response_len) == (int)http_response_len) {
        SSL_shutdown(ssl);
        drain_until_eof(fd, ssl);
      }
    } else if (read_head(fd, ssl, buf, sizeof(buf), "\n") > 0) {
      send_bulk(fd, ssl, buf);
    }
  }
  SSL_free(ssl);
  ERR_clear_error();
}

static void *acceptor(void *arg) {
  service *s = arg;
  for (;;) {
    int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE)
        continue;
      return NULL;
    }
    set_timeouts(fd);
    serve_one(s->kind, fd);
    close(fd);
  }
}

static int bind_any(struct in_addr addr, int type, uint16_t *port) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = addr};
  socklen_t len = sizeof(sa);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
      bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (type == SOCK_STREAM && listen(fd, 256) < 0) ||
      getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
    return -1;
  *port = ntohs(sa.sin_port);
  return fd;
}

/* The DNS answer for one query in q (n bytes) into out; its length, or 0 to
 * drop the packet. */
static size_t dns_answer(const unsigned char *q, size_t n, const char *name, struct in_addr addr, unsigned char *out,
                         size_t cap) {
  if (n < 12 + 5 || (q[2] & 0x80) || q[4] != 0 || q[5] != 1)
    return 0;
  char qname[256];
  size_t at = 12, ql = 0;
  while (at < n && q[at] != 0) {
    unsigned len = q[at];
    if (len > 63 || at + 1 + len >= n || ql + len + 2 > sizeof(qname))
      return 0;
    if (ql)
      qname[ql++] = '.';
    memcpy(qname + ql, q + at + 1, len);
    ql += len;
    at += 1 + len;
  }
  qname[ql] = '\0';
  if (at + 5 > n)
    return 0;
  size_t qend = at + 5; /* the root label, QTYPE and QCLASS */
  unsigned qtype = (unsigned)q[at + 1] << 8 | q[at + 2];
  bool known = strcasecmp(qname, name) == 0;
  bool answer = known && qtype == 1;
  size_t len = qend + (answer ? 16 : 0);
  if (len > cap)
    return 0;
  memcpy(out, q, qend);
  out[2] = 0x84 | (q[2] & 0x01); /* response, authoritative, RD copied */
  out[3] = known ? 0x00 : 0x03;  /* NOERROR or NXDOMAIN */
  out[6] = 0;
  out[7] = answer ? 1 : 0;
  memset(out + 8, 0, 4); /* no authority or additional records */
  if (answer) {
    static const unsigned char rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4}; /* name ptr, A, IN, TTL 5, len 4 */
    memcpy(out + qend, rr, sizeof(rr));
    memcpy(out + qend + sizeof(rr), &addr, 4);
  }
  return len;
}

typedef struct {
  int fd;
  const char *name;
  struct in_addr addr;
} dns_server;

static void *dns_loop(void *arg) {
  dns_server *d = arg;
  unsigned char q[1500], a[1500];
  for (;;) {
    struct sockaddr_storage from;
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(d->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return NULL;
    }
    size_t len = dns_answer(q, (size_t)n, d->name, d->addr, a, sizeof(a));
    if (len)
      sendto(d->fd, a, len, 0, (struct sockaddr *)&from, fl);
  }
}

static int cmd_serve(int argc, char **argv) {
  const char *addr_s = NULL, *cert = NULL, *key = NULL, *ready = NULL, *name = "up.test";
  long long body = 1024;
  for (int i = 0; i < argc; i += 2) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) {
      fprintf(stderr, "egress-load serve: %s needs a value\n", a);
      return 2;
    }
    if (strcmp(a, "--addr") == 0)
      addr_s = v;
    else if (strcmp(a, "--cert") == 0)
      cert = v;
    else if (strcmp(a, "--key") == 0)
      key = v;
    else if (strcmp(a, "--ready") == 0)
      ready = v;
    else if (strcmp(a, "--name") == 0)
      name = v;
    else if (strcmp(a, "--body") == 0)
      body = parse_count(a, v, 0);
    else {
      fprintf(stderr, "egress-load serve: unknown argument %s\n", a);
      return 2;
    }
  }
  struct in_addr addr;
  if (!addr_s || !cert || !key || !ready || inet_pton(AF_INET, addr_s, &addr) != 1 || body > (64 << 20)) {
    fprintf(stderr,
            "egress-load serve: needs --addr IPv4 --cert FILE --key FILE --ready FILE (--body at most 64 MiB)\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  for (size_t i = 0; i < sizeof(bulk_block); i++)
    bulk_block[i] = (char)(i * 131 + (i >> 9));
  int hl = snprintf(NULL, 0, HTTP_HEAD_FMT, (size_t)body);
  http_response_len = (size_t)hl + (size_t)body;
  if (!(http_response = malloc(http_response_len + 1)))
    die("%s", "out of memory");
  snprintf(http_response, (size_t)hl + 1, HTTP_HEAD_FMT, (size_t)body);
  for (long long i = 0; i < body; i++)
    http_response[hl + i] = (char)('a' + i % 26);

  server_tls = SSL_CTX_new(TLS_server_method());
  if (!server_tls || SSL_CTX_use_certificate_chain_file(server_tls, cert) != 1 ||
      SSL_CTX_use_PrivateKey_file(server_tls, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(server_tls) != 1)
    die("cannot load the certificate and key (%s)", cert);
  SSL_CTX_set_min_proto_version(server_tls, TLS1_2_VERSION);
  SSL_CTX_set_session_cache_mode(server_tls, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(server_tls, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(server_tls, 0); /* every handshake is a full one */

  static service svc[SV_COUNT];
  for (int k = 0; k < SV_COUNT; k++) {
    svc[k].kind = (service_kind)k;
    if ((svc[k].fd = bind_any(addr, SOCK_STREAM, &svc[k].port)) < 0)
      die("cannot listen on %s", addr_s);
    for (int t = 0; t < 2; t++) {
      pthread_t th;
      if (pthread_create(&th, NULL, acceptor, &svc[k]) != 0)
        die("%s", "cannot start a thread");
      pthread_detach(th);
    }
  }
  static dns_server dns;
  uint16_t dns_port;
  dns.name = name;
  dns.addr = addr;
  if ((dns.fd = bind_any(addr, SOCK_DGRAM, &dns_port)) < 0)
    die("cannot bind a UDP socket on %s", addr_s);
  pthread_t th;
  if (pthread_create(&th, NULL, dns_loop, &dns) != 0)
    die("%s", "cannot start a thread");
  pthread_detach(th);

  char tmp[4096];
  snprintf(tmp, sizeof(tmp), "%s.tmp", ready);
  FILE *f = fopen(tmp, "w");
  if (!f)
    die("cannot write %s", tmp);
  fprintf(f, "addr=%s http=%u tls=%u bulk=%u tlsbulk=%u https=%u dns=%u body=%lld\n", addr_s, svc[SV_HTTP].port,
          svc[SV_TLS].port, svc[SV_BULK].port, svc[SV_TLSBULK].port, svc[SV_HTTPS].port, dns_port, body);
  if (fclose(f) != 0 || rename(tmp, ready) != 0)
    die("cannot write %s", ready);
  for (;;)
    pause();
}

/* ---- run ------------------------------------------------------------------ */

enum { PH_HTTP, PH_TLS, PH_HTTPS, PH_RAW, PH_TLSBULK, PH_COUNT };

typedef struct {
  double *v;
  size_t n, cap;
  long failures;
  char first_error[WHY_MAX];
} sampleset;

typedef struct {
  const char *label;
  bool proxied, by_name;
  bool inspected; /* the proxy ends the TLS: measured in PH_TLS and PH_HTTPS only */
  struct sockaddr_in proxy;
  sampleset s[PH_COUNT];
  sampleset open_ms, shake_ms; /* CONNECT set-up split: path open, TLS handshake */
} bcase;

typedef struct {
  struct sockaddr_in addr; /* the upstream's address; port set per use */
  char ip[INET_ADDRSTRLEN];
  const char *name;
  uint16_t port[SV_COUNT];
  long long body;
  SSL_CTX *tls;
  char tls_desc[96];
} upstream;

static void add_sample(sampleset *s, double v) {
  if (s->n == s->cap) {
    size_t c = s->cap ? s->cap * 2 : 1024;
    double *p = realloc(s->v, c * sizeof(double));
    if (!p)
      die("%s", "out of memory");
    s->v = p;
    s->cap = c;
  }
  s->v[s->n++] = v;
}

static void add_failure(sampleset *s, const char *why) {
  if (s->failures++ == 0)
    snprintf(s->first_error, sizeof(s->first_error), "%s", why);
}

/* One line of text: CR, LF and other controls shown as spaces. */
static void one_line(char *dst, size_t cap, const char *src, size_t n) {
  size_t j = 0;
  for (size_t i = 0; i < n && j + 1 < cap; i++)
    dst[j++] = (unsigned char)src[i] < 0x20 || (unsigned char)src[i] >= 0x7f ? ' ' : src[i];
  dst[j] = '\0';
}

static int tcp_connect(const struct sockaddr_in *to, char *why, size_t wl) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(why, wl, "socket: %s", strerror(errno));
    return -1;
  }
  set_timeouts(fd);
  if (connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0) {
    snprintf(why, wl, "connect: %s", strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

static const char *target_host(const bcase *c, const upstream *u) { return c->by_name ? u->name : u->ip; }

/* Read a response head; consume exactly the head from the socket (peeking
 * first), so what follows it stays for the caller.  The status, or -1. */
static int read_proxy_head(int fd, char *why, size_t wl) {
  char head[HEAD_MAX];
  size_t have = 0;
  for (;;) {
    char peek[4096];
    ssize_t n = recv(fd, peek, sizeof(peek), MSG_PEEK);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      snprintf(why, wl, "proxy closed before its answer to CONNECT was complete%s%s", n < 0 ? ": " : "",
               n < 0 ? strerror(errno) : "");
      return -1;
    }
    size_t take = (size_t)n;
    if (have + take >= sizeof(head))
      take = sizeof(head) - 1 - have;
    memcpy(head + have, peek, take);
    head[have + take] = '\0';
    char *end = strstr(head + (have > 3 ? have - 3 : 0), "\r\n\r\n");
    if (end)
      take = (size_t)(end + 4 - head) - have;
    ssize_t got = recv(fd, head + have, take, 0);
    if (got != (ssize_t)take) {
      snprintf(why, wl, "reading the answer to CONNECT failed");
      return -1;
    }
    have += take;
    head[have] = '\0';
    if (end)
      break;
    if (have + 1 >= sizeof(head)) {
      snprintf(why, wl, "answer to CONNECT over %d bytes", HEAD_MAX);
      return -1;
    }
  }
  int status = 0;
  if (sscanf(head, "HTTP/1.%*d %d", &status) != 1 || status != 200) {
    char line[200];
    one_line(line, sizeof(line), head, have);
    snprintf(why, wl, "CONNECT answered: %s", line);
    return -1;
  }
  return status;
}

/* A connection to the upstream's port: direct, or a CONNECT tunnel. */
static int open_path(const bcase *c, const upstream *u, service_kind kind, char *why, size_t wl) {
  struct sockaddr_in to = u->addr;
  to.sin_port = htons(u->port[kind]);
  if (!c->proxied)
    return tcp_connect(&to, why, wl);
  int fd = tcp_connect(&c->proxy, why, wl);
  if (fd < 0)
    return -1;
  char req[512];
  const char *h = target_host(c, u);
  int n =
      snprintf(req, sizeof(req), "CONNECT %s:%u HTTP/1.1\r\nHost: %s:%u\r\n\r\n", h, u->port[kind], h, u->port[kind]);
  if (write_all(fd, req, (size_t)n) < 0) {
    snprintf(why, wl, "sending CONNECT: %s", strerror(errno));
    close(fd);
    return -1;
  }
  if (read_proxy_head(fd, why, wl) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Read one response (200, Content-Length framed) on fd or ssl; *end_ns is
 * when the whole response was in.  Then, untimed, the close. */
static int read_response(int fd, SSL *ssl, int64_t *end_ns, char *why, size_t wl) {
  char buf[HEAD_MAX + 4096];
  size_t have = 0;
  long long body = 0, need = -1;
  while (need < 0 || body < need) {
    /* the head is gathered in buf; after it, body bytes are only counted */
    size_t off = need < 0 ? have : 0;
    int got = ssl ? SSL_read(ssl, buf + off, (int)(sizeof(buf) - 1 - off))
                  : (int)recv(fd, buf + off, sizeof(buf) - 1 - off, 0);
    if (got < 0 && !ssl && errno == EINTR)
      continue;
    if (got <= 0) {
      snprintf(why, wl, "connection %s after %zu bytes of head and %lld of body",
               got < 0 && !ssl ? strerror(errno) : "closed", have, body);
      return -1;
    }
    if (need >= 0) {
      body += got;
      continue;
    }
    have += (size_t)got;
    buf[have] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (!end) {
      if (have + 1 >= sizeof(buf)) {
        snprintf(why, wl, "response head too long");
        return -1;
      }
      continue;
    }
    size_t head_len = (size_t)(end + 4 - buf);
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || status != 200) {
      char line[200];
      one_line(line, sizeof(line), buf, head_len);
      snprintf(why, wl, "answered: %s", line);
      return -1;
    }
    for (char *p = buf; p < end; p++)
      if ((p == buf || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) {
        need = strtoll(p + 15, NULL, 10);
        break;
      }
    if (need < 0) {
      snprintf(why, wl, "response without Content-Length");
      return -1;
    }
    body = (long long)(have - head_len);
  }
  *end_ns = now_ns();
  if (body != need) {
    snprintf(why, wl, "response body of %lld bytes, Content-Length %lld", body, need);
    return -1;
  }
  drain_until_eof(fd, ssl); /* the close, untimed: the next request starts after it */
  ERR_clear_error();
  return 0;
}

/* One request; *end_ns is when the whole response was in. */
static int http_once(const bcase *c, const upstream *u, int64_t *end_ns, char *why, size_t wl) {
  struct sockaddr_in to = u->addr;
  to.sin_port = htons(u->port[SV_HTTP]);
  const char *h = target_host(c, u);
  char req[512];
  int n;
  if (c->proxied)
    n = snprintf(req, sizeof(req),
                 "GET http://%s:%u/bench HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: egress-load\r\nAccept: */*\r\n"
                 "Connection: close\r\n\r\n",
                 h, u->port[SV_HTTP], h, u->port[SV_HTTP]);
  else
    n = snprintf(req, sizeof(req),
                 "GET /bench HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: egress-load\r\nAccept: */*\r\n"
                 "Connection: close\r\n\r\n",
                 u->name, u->port[SV_HTTP]);
  int fd = tcp_connect(c->proxied ? &c->proxy : &to, why, wl);
  if (fd < 0)
    return -1;
  int rc = -1;
  if (write_all(fd, req, (size_t)n) < 0)
    snprintf(why, wl, "sending the request: %s", strerror(errno));
  else
    rc = read_response(fd, NULL, end_ns, why, wl);
  close(fd);
  return rc;
}

static void ssl_why(char *why, size_t wl, const char *what, SSL *ssl, int ret) {
  unsigned long e = ERR_peek_last_error();
  char es[160] = "";
  if (e)
    ERR_error_string_n(e, es, sizeof(es));
  long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
  snprintf(why, wl, "%s failed (SSL error %d%s%s%s%s)", what, ssl ? SSL_get_error(ssl, ret) : 0, es[0] ? ", " : "", es,
           vr != X509_V_OK ? ", verify: " : "", vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "");
  ERR_clear_error();
}

static SSL *tls_start(const bcase *c, upstream *u, int fd, char *why, size_t wl) {
  SSL *ssl = SSL_new(u->tls);
  if (!ssl) {
    snprintf(why, wl, "SSL_new failed");
    return NULL;
  }
  SSL_set_fd(ssl, fd);
  bool name = !c->proxied || c->by_name;
  if (name) {
    SSL_set_tlsext_host_name(ssl, u->name);
    SSL_set1_host(ssl, u->name);
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), u->ip);
  }
  int r = SSL_connect(ssl);
  if (r != 1) {
    ssl_why(why, wl, "TLS handshake", ssl, r);
    SSL_free(ssl);
    return NULL;
  }
  if (!u->tls_desc[0])
    snprintf(u->tls_desc, sizeof(u->tls_desc), "%s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
  return ssl;
}

/* One set-up; *end_ns is when the handshake was complete.  Then, untimed,
 * a half-close and the server's close.  Not a close_notify: written right
 * after the Finished, it is a second small write that a proxy without
 * TCP_NODELAY holds back until the server's delayed ACK (about 40 ms). */
static int tls_once(const bcase *c, upstream *u, int64_t *open_ns, int64_t *end_ns, char *why, size_t wl) {
  int fd = open_path(c, u, SV_TLS, why, wl);
  if (fd < 0)
    return -1;
  *open_ns = now_ns();
  SSL *ssl = tls_start(c, u, fd, why, wl);
  *end_ns = now_ns();
  if (ssl) {
    shutdown(fd, SHUT_WR);
    drain_until_eof(fd, NULL);
  }
  SSL_free(ssl);
  ERR_clear_error();
  close(fd);
  return ssl ? 0 : -1;
}

/* One HTTPS request on a fresh connection: the handshake (through the
 * tunnel when proxied), GET, the whole response; *end_ns when it was in. */
static int https_once(const bcase *c, upstream *u, int64_t *end_ns, char *why, size_t wl) {
  int fd = open_path(c, u, SV_HTTPS, why, wl);
  if (fd < 0)
    return -1;
  int rc = -1;
  SSL *ssl = tls_start(c, u, fd, why, wl);
  if (ssl) {
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET /bench HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: egress-load\r\nAccept: */*\r\n"
                     "Connection: close\r\n\r\n",
                     !c->proxied || c->by_name ? u->name : u->ip, u->port[SV_HTTPS]);
    if (SSL_write(ssl, req, n) != n)
      ssl_why(why, wl, "sending the request", ssl, n);
    else
      rc = read_response(fd, ssl, end_ns, why, wl);
    SSL_free(ssl);
  }
  ERR_clear_error();
  close(fd);
  return rc;
}

/* One download of bytes; *last_ns is when the last byte arrived.  Then the
 * server's close (and TLS close_notify) is read, untimed, so that closing
 * here resets nothing. */
static int bulk_once(const bcase *c, upstream *u, bool tls, long long bytes, int64_t *last_ns, char *why, size_t wl) {
  static char buf[BULK_CHUNK];
  int fd = open_path(c, u, tls ? SV_TLSBULK : SV_BULK, why, wl);
  if (fd < 0)
    return -1;
  SSL *ssl = NULL;
  int rc = -1;
  if (tls && !(ssl = tls_start(c, u, fd, why, wl)))
    goto out;
  char req[32];
  int n = snprintf(req, sizeof(req), "%lld\n", bytes);
  if (ssl ? SSL_write(ssl, req, n) != n : write_all(fd, req, (size_t)n) < 0) {
    snprintf(why, wl, "sending the request failed");
    goto out;
  }
  long long got = 0;
  while (got < bytes) {
    int m = ssl ? SSL_read(ssl, buf, sizeof(buf)) : (int)recv(fd, buf, sizeof(buf), 0);
    if (m < 0 && !ssl && errno == EINTR)
      continue;
    if (m <= 0) {
      if (ssl)
        ssl_why(why, wl, "TLS read", ssl, m);
      else
        snprintf(why, wl, "connection %s after %lld of %lld bytes", m < 0 ? strerror(errno) : "closed", got, bytes);
      goto out;
    }
    got += m;
  }
  *last_ns = now_ns();
  rc = 0;
  for (;;) { /* the server closes after the last byte */
    int m = ssl ? SSL_read(ssl, buf, sizeof(buf)) : (int)recv(fd, buf, sizeof(buf), 0);
    if (m < 0 && !ssl && errno == EINTR)
      continue;
    if (m > 0) {
      snprintf(why, wl, "more than %lld bytes", bytes);
      rc = -1;
    }
    if (m <= 0)
      break;
  }
  ERR_clear_error();
out:
  if (ssl)
    SSL_free(ssl);
  close(fd);
  return rc;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* percentile p (0..1) of sorted v, linear interpolation between closest ranks */
static double pct(const double *v, size_t n, double p) {
  if (n == 0)
    return 0;
  double r = p * (double)(n - 1);
  size_t lo = (size_t)r;
  if (lo + 1 >= n)
    return v[n - 1];
  return v[lo] + (r - (double)lo) * (v[lo + 1] - v[lo]);
}

static const char *phase_short[PH_COUNT] = {"plain HTTP request", "CONNECT set-up", "HTTPS request",
                                            "bulk, raw (opaque tunnel)", "bulk, TLS"};
static const char *phase_title[PH_COUNT] = {
    "plain HTTP request: fresh connection, GET, whole response",
    "CONNECT set-up: connect() to TLS handshake complete",
    "HTTPS request: fresh connection, TLS handshake, GET, whole response",
    "bulk download, raw TCP (opaque tunnel)",
    "bulk download, TLS",
};

/* One timed operation of phase ph for case c; seconds or <0 on failure.
 * For a CONNECT set-up *open_s is the time until the path was open (direct:
 * connect() returned; proxied: the proxy's 200 was read). */
static double timed(int ph, bcase *c, upstream *u, long long bulk, double *open_s, char *why, size_t wl) {
  int64_t t0 = now_ns(), t1 = 0, topen = 0;
  int rc = ph == PH_HTTP    ? http_once(c, u, &t1, why, wl)
           : ph == PH_TLS   ? tls_once(c, u, &topen, &t1, why, wl)
           : ph == PH_HTTPS ? https_once(c, u, &t1, why, wl)
                            : bulk_once(c, u, ph == PH_TLSBULK, bulk, &t1, why, wl);
  *open_s = (double)(topen - t0) / 1e9;
  return rc == 0 ? (double)(t1 - t0) / 1e9 : -1;
}

static FILE *raw_out;
static const char *phase_key[PH_COUNT] = {"http", "connect", "https", "bulk-raw", "bulk-tls"};

/* An inspected case speaks HTTP in TLS to the proxy: not plain HTTP or bulk. */
static bool measured(const bcase *c, int ph) { return !c->inspected || ph == PH_TLS || ph == PH_HTTPS; }

static void run_phase(int ph, bcase *cases, int nc, upstream *u, long long rounds, long long warmup,
                      long long bulk_bytes) {
  char why[WHY_MAX];
  bool bulk = ph == PH_RAW || ph == PH_TLSBULK;
  long long warm_bytes = bulk_bytes < (16 << 20) ? bulk_bytes : (16 << 20);
  for (long long i = 0; i < warmup; i++)
    for (int k = 0; k < nc; k++) {
      bcase *c = &cases[(i + k) % nc];
      double unused;
      if (!measured(c, ph))
        continue;
      if (timed(ph, c, u, warm_bytes, &unused, why, sizeof(why)) < 0)
        add_failure(&c->s[ph], why);
    }
  for (long long i = 0; i < rounds; i++)
    for (int k = 0; k < nc; k++) {
      bcase *c = &cases[(i + k) % nc];
      double open_s;
      if (!measured(c, ph))
        continue;
      double t = timed(ph, c, u, bulk_bytes, &open_s, why, sizeof(why));
      if (raw_out)
        fprintf(raw_out, "%s %s %lld %.6f\n", phase_key[ph], c->label, i,
                bulk ? (double)bulk_bytes / t / 1e6 : t * 1e3);
      if (t < 0)
        add_failure(&c->s[ph], why);
      else
        add_sample(&c->s[ph], bulk ? (double)bulk_bytes / t / 1e6 : t * 1e3);
      if (t >= 0 && ph == PH_TLS) {
        add_sample(&c->open_ms, open_s * 1e3);
        add_sample(&c->shake_ms, (t - open_s) * 1e3);
      }
    }
  for (int k = 0; k < nc; k++) {
    qsort(cases[k].s[ph].v, cases[k].s[ph].n, sizeof(double), cmp_double);
    if (ph == PH_TLS) {
      qsort(cases[k].open_ms.v, cases[k].open_ms.n, sizeof(double), cmp_double);
      qsort(cases[k].shake_ms.v, cases[k].shake_ms.n, sizeof(double), cmp_double);
    }
  }
}

static double median_of(const sampleset *s) { return pct(s->v, s->n, 0.5); }

static void print_phase(int ph, bcase *cases, int nc, long long count, long long bulk_bytes) {
  bool bulk = ph == PH_RAW || ph == PH_TLSBULK;
  if (bulk)
    printf("\n%s, %lld MiB per transfer, %lld rounds\n", phase_title[ph], bulk_bytes >> 20, count);
  else
    printf("\n%s, %lld per case\n", phase_title[ph], count);
  if (bulk)
    printf("  %-24s %10s %10s %10s %9s %8s\n", "case", "MB/s p50", "min", "max", "ratio", "failed");
  else
    printf("  %-24s %10s %10s %10s %10s %9s %8s\n", "case", "p50 ms", "p90 ms", "p99 ms", "added ms", "ratio",
           "failed");
  double base = median_of(&cases[0].s[ph]);
  for (int k = 0; k < nc; k++) {
    sampleset *s = &cases[k].s[ph];
    double m = median_of(s);
    char ratio[32] = "-", added[32] = "-";
    if (k > 0 && s->n && base > 0) {
      snprintf(ratio, sizeof(ratio), "%.3f", m / base);
      snprintf(added, sizeof(added), "%+.3f", m - base);
    }
    if (!measured(&cases[k], ph))
      continue;
    if (!s->n)
      printf("  %-24s %10s %10s %10s %10s %9s %8ld\n", cases[k].label, "-", "-", "-", "-", "-", s->failures);
    else if (bulk)
      printf("  %-24s %10.0f %10.0f %10.0f %9s %8ld\n", cases[k].label, m, s->v[0], s->v[s->n - 1], ratio, s->failures);
    else
      printf("  %-24s %10.3f %10.3f %10.3f %10s %9s %8ld\n", cases[k].label, m, pct(s->v, s->n, 0.9),
             pct(s->v, s->n, 0.99), added, ratio, s->failures);
  }
  if (ph == PH_TLS) {
    printf("  split at the median: path open (direct: connect() returned; proxied: connect, CONNECT, 200 read),\n"
           "  then the TLS handshake (through the tunnel when proxied)\n");
    printf("  %-24s %10s %10s %10s %10s\n", "case", "open ms", "added", "shake ms", "added");
    double bo = median_of(&cases[0].open_ms), bs = median_of(&cases[0].shake_ms);
    for (int k = 0; k < nc; k++) {
      double o = median_of(&cases[k].open_ms), h = median_of(&cases[k].shake_ms);
      char ao[32] = "-", ah[32] = "-";
      if (k > 0) {
        snprintf(ao, sizeof(ao), "%+.3f", o - bo);
        snprintf(ah, sizeof(ah), "%+.3f", h - bs);
      }
      if (cases[k].open_ms.n)
        printf("  %-24s %10.3f %10s %10.3f %10s\n", cases[k].label, o, ao, h, ah);
    }
  }
  for (int k = 0; k < nc; k++)
    if (cases[k].s[ph].failures)
      printf("  ! %s: %ld failed; first: %s\n", cases[k].label, cases[k].s[ph].failures, cases[k].s[ph].first_error);
}

static int read_servers(const char *path, upstream *u) {
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  char addr[INET_ADDRSTRLEN];
  unsigned p[SV_COUNT + 1];
  int n = fscanf(f, "addr=%15s http=%u tls=%u bulk=%u tlsbulk=%u https=%u dns=%u body=%lld", addr, &p[0], &p[1], &p[2],
                 &p[3], &p[4], &p[5], &u->body);
  fclose(f);
  if (n != 8 || inet_pton(AF_INET, addr, &u->addr.sin_addr) != 1)
    return -1;
  u->addr.sin_family = AF_INET;
  snprintf(u->ip, sizeof(u->ip), "%s", addr);
  for (int k = 0; k < SV_COUNT; k++)
    u->port[k] = (uint16_t)p[k];
  return 0;
}

static int parse_case(const char *spec, bcase *c) {
  char *s = strdup(spec);
  if (!s)
    return -1;
  char *eq = strchr(s, '=');
  c->label = s;
  if (!eq)
    return *s ? 0 : -1;
  *eq = '\0';
  char *ip = eq + 1, *port = strchr(ip, ':'), *mode = port ? strchr(port + 1, ':') : NULL;
  if (!*s || !port || !mode)
    return -1;
  *port++ = '\0';
  *mode++ = '\0';
  c->proxied = true;
  c->proxy.sin_family = AF_INET;
  uint16_t pn;
  if (inet_pton(AF_INET, ip, &c->proxy.sin_addr) != 1 || parse_port(port, &pn) < 0)
    return -1;
  c->proxy.sin_port = htons(pn);
  if (strcmp(mode, "name") == 0 || strcmp(mode, "inspect") == 0)
    c->by_name = true;
  else if (strcmp(mode, "ip") != 0)
    return -1;
  c->inspected = strcmp(mode, "inspect") == 0;
  return 0;
}

static int cmd_run(int argc, char **argv) {
  const char *servers = NULL, *ca = NULL, *target = NULL;
  static upstream u;
  u.name = "up.test";
  static bcase cases[MAX_CASES];
  int nc = 0;
  long long n_http = 2000, n_tls = 500, n_https = 500, warmup = 20, bulk_bytes = 256ll << 20, bulk_rounds = 5;
  for (int i = 0; i < argc; i += 2) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) {
      fprintf(stderr, "egress-load run: %s needs a value\n", a);
      return 2;
    }
    if (strcmp(a, "--servers") == 0)
      servers = v;
    else if (strcmp(a, "--ca") == 0)
      ca = v;
    else if (strcmp(a, "--name") == 0)
      u.name = v;
    else if (strcmp(a, "--target") == 0)
      target = v;
    else if (strcmp(a, "--raw") == 0) {
      if (!(raw_out = fopen(v, "w")))
        die("cannot write %s", v);
    } else if (strcmp(a, "--case") == 0) {
      if (nc == MAX_CASES || parse_case(v, &cases[nc]) < 0) {
        fprintf(stderr, "egress-load run: bad --case '%s' (LABEL or LABEL=IP:PORT:name|ip|inspect, at most %d)\n", v,
                MAX_CASES);
        return 2;
      }
      nc++;
    } else if (strcmp(a, "--http") == 0)
      n_http = parse_count(a, v, 0);
    else if (strcmp(a, "--tls") == 0)
      n_tls = parse_count(a, v, 0);
    else if (strcmp(a, "--https") == 0)
      n_https = parse_count(a, v, 0);
    else if (strcmp(a, "--warmup") == 0)
      warmup = parse_count(a, v, 0);
    else if (strcmp(a, "--bulk-bytes") == 0)
      bulk_bytes = parse_count(a, v, 1);
    else if (strcmp(a, "--bulk-rounds") == 0)
      bulk_rounds = parse_count(a, v, 0);
    else {
      fprintf(stderr, "egress-load run: unknown argument %s\n", a);
      return 2;
    }
  }
  if (!servers || !ca || nc == 0) {
    fprintf(stderr, "egress-load run: needs --servers FILE --ca FILE and at least one --case\n");
    return 2;
  }
  if (read_servers(servers, &u) < 0)
    die("cannot read the servers file %s", servers);
  signal(SIGPIPE, SIG_IGN);
  u.tls = SSL_CTX_new(TLS_client_method());
  if (!u.tls || SSL_CTX_load_verify_locations(u.tls, ca, NULL) != 1)
    die("cannot load the CA file %s", ca);
  SSL_CTX_set_verify(u.tls, SSL_VERIFY_PEER, NULL);
  SSL_CTX_set_min_proto_version(u.tls, TLS1_2_VERSION);
  SSL_CTX_set_session_cache_mode(u.tls, SSL_SESS_CACHE_OFF);

  printf("upstream %s (%s), ports http %u, tls %u, bulk %u, tlsbulk %u, https %u; HTTP body %lld bytes\n", u.ip, u.name,
         u.port[SV_HTTP], u.port[SV_TLS], u.port[SV_BULK], u.port[SV_TLSBULK], u.port[SV_HTTPS], u.body);
  for (int k = 0; k < nc; k++) {
    char pa[INET_ADDRSTRLEN] = "";
    if (cases[k].proxied)
      inet_ntop(AF_INET, &cases[k].proxy.sin_addr, pa, sizeof(pa));
    if (cases[k].proxied)
      printf("case %-24s via %s:%u, upstream named by %s\n", cases[k].label, pa, ntohs(cases[k].proxy.sin_port),
             cases[k].inspected ? "name, inspected (the proxy ends TLS and checks each request; CONNECT set-up "
                                  "and HTTPS only)"
             : cases[k].by_name ? "name (proxy resolves it; SNI sent)"
                                : "IP literal (no SNI)");
    else
      printf("case %-24s direct to %s (SNI %s)\n", cases[k].label, u.ip, u.name);
  }
  fflush(stdout);
  int64_t t0 = now_ns();
  long long counts[PH_COUNT] = {n_http, n_tls, n_https, bulk_rounds, bulk_rounds};
  for (int ph = 0; ph < PH_COUNT; ph++) {
    if (counts[ph] == 0)
      continue;
    run_phase(ph, cases, nc, &u, counts[ph], ph >= PH_RAW ? 1 : warmup, bulk_bytes);
    print_phase(ph, cases, nc, counts[ph], bulk_bytes);
    if (ph == PH_TLS && u.tls_desc[0])
      printf("  (negotiated: %s)\n", u.tls_desc);
    fflush(stdout);
  }
  printf("\nmeasured in %.1f s\n", (double)(now_ns() - t0) / 1e9);
  if (raw_out)
    fclose(raw_out);
  for (int k = 0; target && k < nc; k++) {
    if (strcmp(cases[k].label, target) != 0 || k == 0)
      continue;
    printf("\ntargets for %s (against %s):\n", target, cases[0].label);
    for (int ph = 0; ph < PH_COUNT; ph++) {
      const sampleset *s = &cases[k].s[ph], *b = &cases[0].s[ph];
      if (!s->n || !b->n) {
        printf("  %-26s not measured\n", phase_short[ph]);
        continue;
      }
      double m = median_of(s), base = median_of(b);
      if (ph == PH_HTTPS)
        printf("  %-26s added %.3f ms at the median (no target)\n", phase_short[ph], m - base);
      else if (ph <= PH_TLS)
        printf("  %-26s added %.3f ms at the median, target under 0.3 ms: %s\n", phase_short[ph], m - base,
               m - base < 0.3 ? "met" : "NOT met");
      else
        printf("  %-26s %.0f%% of direct, target at least 80%%: %s\n", phase_short[ph], 100 * m / base,
               m / base >= 0.8 ? "met" : "NOT met");
    }
  }
  return 0;
}

static int cmd_free_port(int argc, char **argv) {
  struct in_addr a;
  if (inet_pton(AF_INET, argc > 0 ? argv[0] : "127.0.0.1", &a) != 1) {
    fprintf(stderr, "egress-load free-port: not an IPv4 address\n");
    return 2;
  }
  uint16_t port;
  int fd = bind_any(a, SOCK_STREAM, &port);
  if (fd < 0)
    die("%s", "cannot bind");
  close(fd);
  printf("%u\n", port);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "serve") == 0)
    return cmd_serve(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "run") == 0)
    return cmd_run(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "free-port") == 0)
    return cmd_free_port(argc - 2, argv + 2);
  fprintf(stderr, "usage: egress-load serve|run|free-port ... (see bench/egress_load.c)\n");
  return 2;
}
