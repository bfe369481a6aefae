/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_conn.c - a sandbox's connection from accept to the decision: read
 * one request head, bounded in size and time so a slow client cannot hold a
 * slot, tell what it asks for (CONNECT, http:// URI, injection route), and
 * judge its host against the rules and rate limits before anything leaves. */
#include "proxy_conn.h"
#include "clock.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/listener.h>

#include "error.h"

static void timer_fired(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  al_proxy_conn *c = arg;
  unsigned t = c->px->cfg.header_timeout_s;
  switch (c->stage) {
  case AL_ST_HEAD: al_conn_refuse(c, 408, 0, "no complete request head within %us", t); return;
  case AL_ST_UPSTREAM: al_conn_refuse(c, 504, 0, "could not reach %s:%u within %us", c->host, c->port, t); return;
  case AL_ST_HELLO:
    if (c->hello_ok)
      al_conn_refuse(c, 504, 0, "could not reach %s:%u within %us", c->host, c->port, t);
    else
      al_conn_refuse(c, 0, 0, "no complete TLS ClientHello within %us", t);
    return;
  case AL_ST_INSPECT: al_inspect_timeout(c); return;
  case AL_ST_RELAY:
    c->verdict = "allow";
    al_conn_finish(c, "allow", "closed after limits.maxDuration (%us)", c->px->cfg.max_duration_s);
    return;
  }
}

void al_conn_deadline(al_proxy_conn *c, unsigned seconds) {
  struct timeval tv = {.tv_sec = seconds};
  evtimer_add(c->timer, &tv);
}

/* host[:port] of a URL or authority as libhttp-parser split it. */
static int take_host(al_proxy_conn *c, const char *target, const struct http_parser_url *u, char *raw, size_t rawlen) {
  if (!(u->field_set & (1 << UF_HOST)) || u->field_data[UF_HOST].len == 0 ||
      (size_t)u->field_data[UF_HOST].len + 3 > rawlen) {
    al_conn_refuse(c, 400, 0, "no host in the request target");
    return -1;
  }
  size_t hl = u->field_data[UF_HOST].len;
  memcpy(raw, target + u->field_data[UF_HOST].off, hl);
  raw[hl] = '\0';
  /* libhttp-parser drops the brackets of an IPv6 literal; put them back so
   * the rules read it as one */
  if (strchr(raw, ':')) {
    memmove(raw + 1, raw, hl + 1);
    raw[0] = '[';
    strcat(raw, "]");
  }
  return 0;
}

/* Judge c->host (raw, as the sandbox wrote it) at c->port: name or IP
 * literal, rules, rate limits.  0 to go on; -1 after refusing. */
static int judge(al_proxy_conn *c, const char *raw, bool rules) {
  al_proxy *px = c->px;
  al_ip_kind k = al_ip_parse(raw, &c->host_ip);
  if (k == AL_IP_BAD) {
    snprintf(c->host, sizeof(c->host), "%s", raw);
    al_conn_refuse(c, 403, 0, "invalid IP literal '%s'", raw);
    return -1;
  }
  if (k != AL_IP_NOT) {
    c->host_is_ip = true;
    snprintf(c->host, sizeof(c->host), "%s", raw);
  } else {
    _cleanup_error_ airlock_error *e = NULL;
    if (al_host_normalise(raw, c->host, sizeof(c->host), &e) < 0) {
      snprintf(c->host, sizeof(c->host), "%.*s", (int)sizeof(c->host) - 1, raw);
      al_conn_refuse(c, 400, 0, "invalid host name: %s", e->msg);
      return -1;
    }
  }
  char why[256];
  if (rules && al_egress_decide(px->cfg.rules, raw, c->port, why, sizeof(why)) != AL_EGRESS_ALLOW) {
    al_conn_refuse(c, 403, 0, "%s", why);
    return -1;
  }
  if (rules)
    snprintf(c->reason, sizeof(c->reason), "%s", why);
  return al_conn_rate_limit(c);
}

int al_conn_rate_limit(al_proxy_conn *c) {
  al_proxy *px = c->px;
  int64_t now = al_monotonic_us();
  unsigned retry = 0;
  if (!al_bucket_take(&px->bucket, now, &retry)) {
    al_conn_refuse(c, 429, retry, "rate limit: more than %g requests per minute from this sandbox",
                   px->cfg.rate_per_minute);
    return -1;
  }
  if (!al_host_buckets_take(px->host_buckets, c->host, now, &retry)) {
    al_conn_refuse(c, 429, retry, "rate limit: more than %g requests per minute to %s", px->cfg.host_rate_per_minute,
                   c->host);
    return -1;
  }
  return 0;
}

static int start_connect(al_proxy_conn *c, const char *target) {
  struct http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(target, strlen(target), 1, &u) != 0 || !(u.field_set & (1 << UF_PORT))) {
    al_conn_refuse(c, 400, 0, "CONNECT target is not host:port");
    return -1;
  }
  char raw[AL_HOST_MAX + 4];
  if (take_host(c, target, &u, raw, sizeof(raw)) < 0)
    return -1;
  c->port = u.port;
  if (c->port == 0) {
    al_conn_refuse(c, 400, 0, "CONNECT to port 0");
    return -1;
  }
  if (judge(c, raw, true) < 0)
    return -1;
  /* a name the operator wants inspected, on a port whose tunnels must
   * start with a TLS hello */
  if (!c->host_is_ip && c->px->cfg.n_inspect && !al_tunnel_opaque(c) &&
      (c->inspect = al_proxy_inspect_match(&c->px->cfg, c->host, c->port)))
    snprintf(c->reason + strlen(c->reason), sizeof(c->reason) - strlen(c->reason), "; inspected");
  return 0;
}

bool al_conn_host_matches(const al_proxy_conn *c, const char *hosthdr, uint16_t default_port) {
  char want[AL_HOST_MAX + 16];
  const char *h = hosthdr;
  char name[AL_HOST_MAX + 16];
  size_t hl = strlen(h);
  if (hl >= sizeof(name))
    return false;
  /* split off ":port" (after a bracketed IPv6 literal, or the last colon of a name) */
  const char *colon = h[0] == '[' ? (strchr(h, ']') ? strchr(strchr(h, ']'), ':') : NULL) : strrchr(h, ':');
  unsigned port = default_port;
  size_t nl = hl;
  if (colon) {
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || p == 0 || p > 65535)
      return false;
    port = (unsigned)p;
    nl = (size_t)(colon - h);
  }
  if (port != c->port)
    return false;
  memcpy(name, h, nl);
  name[nl] = '\0';
  if (c->host_is_ip) {
    al_ip ip;
    al_ip_kind k = al_ip_parse(name, &ip);
    return (k == AL_IP_V4 || k == AL_IP_V6) && ip.family == c->host_ip.family &&
           memcmp(ip.addr, c->host_ip.addr, ip.family == AF_INET ? 4 : 16) == 0;
  }
  _cleanup_error_ airlock_error *e = NULL;
  return al_host_normalise(name, want, sizeof(want), &e) == 0 && strcmp(want, c->host) == 0;
}

static int start_http(al_proxy_conn *c, const char *target) {
  struct http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(target, strlen(target), 0, &u) != 0) {
    al_conn_refuse(c, 400, 0, "malformed request target");
    return -1;
  }
  if (u.field_set & (1 << UF_USERINFO)) {
    al_conn_refuse(c, 400, 0, "credentials in the request target");
    return -1;
  }
  char raw[AL_HOST_MAX + 4];
  if (take_host(c, target, &u, raw, sizeof(raw)) < 0)
    return -1;
  c->port = (u.field_set & (1 << UF_PORT)) ? u.port : 80;
  if (c->port == 0) {
    al_conn_refuse(c, 400, 0, "port 0");
    return -1;
  }
  const char *path = (u.field_set & (1 << UF_PATH)) ? target + u.field_data[UF_PATH].off : "/";
  if (u.field_set & (1 << UF_FRAGMENT)) {
    al_conn_refuse(c, 400, 0, "fragment in the request target");
    return -1;
  }
  if (strlen(path) >= sizeof(c->path)) {
    al_conn_refuse(c, 414, 0, "request target too long");
    return -1;
  }
  snprintf(c->path, sizeof(c->path), "%s", path);
  if (judge(c, raw, true) < 0)
    return -1;
  const char *hosthdr = al_http_req_header(&c->req, "host");
  if (hosthdr && !al_conn_host_matches(c, hosthdr, 80)) {
    al_conn_refuse(c, 400, 0, "Host header '%.200s' differs from the request target", hosthdr);
    return -1;
  }
  return 0;
}

/* A path the route may pass on: no "." or ".." segment in any spelling, so
 * a request cannot climb out of the upstream base path. */
static bool path_plain(const char *p) {
  if (strstr(p, "%2e") || strstr(p, "%2E") || strstr(p, "%2f") || strstr(p, "%2F") || strchr(p, '\\'))
    return false;
  size_t n = strcspn(p, "?");
  const char *seg = p;
  while (seg < p + n) {
    const char *end = memchr(seg, '/', (size_t)(p + n - seg));
    size_t len = end ? (size_t)(end - seg) : (size_t)(p + n - seg);
    if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
      return false;
    seg += len + 1;
  }
  return true;
}

static int start_route(al_proxy_conn *c, const char *target) {
  const al_proxy_config *cfg = &c->px->cfg;
  for (size_t i = 0; i < cfg->n_routes; i++) {
    const al_proxy_route *r = &cfg->routes[i];
    size_t pl = strlen(r->path);
    if (strncmp(target, r->path, pl) == 0 || (strncmp(target, r->path, pl - 1) == 0 && target[pl - 1] == '\0')) {
      c->route = r;
      break;
    }
  }
  if (!c->route) {
    al_conn_refuse(c, 404, 0, "no injection route for this path, and not a proxy request (absolute URI or CONNECT)");
    return -1;
  }
  const char *rest = target + strlen(c->route->path) - 1; /* keeps the '/' */
  if (!*rest)
    rest = "/";
  if (!path_plain(rest)) {
    al_conn_refuse(c, 400, 0, "'.' or '..' path segment (or an encoded '.', '/' or '\\') in a route request");
    return -1;
  }
  if (strlen(c->route->upstream_base) + strlen(rest) >= sizeof(c->path)) {
    al_conn_refuse(c, 414, 0, "request target too long");
    return -1;
  }
  strcpy(c->path, c->route->upstream_base);
  strcat(c->path, rest);
  c->port = c->route->upstream_port;
  if (judge(c, c->route->upstream_host, false) < 0)
    return -1;
  snprintf(c->reason, sizeof(c->reason), "route %s", c->route->path);
  return 0;
}

static void head_read(struct bufferevent *bev, void *arg);

static void client_event(struct bufferevent *bev, short what, void *arg) {
  (void)bev;
  al_proxy_conn *c = arg;
  const char *where = c->stage == AL_ST_HEAD ? "before its request head was complete" : "before the upstream answered";
  al_conn_finish(c, c->stage == AL_ST_HEAD ? "deny" : "allow", "client %s %s",
                 (what & BEV_EVENT_EOF) ? "closed" : "failed", where);
}

ssize_t al_conn_head(al_proxy_conn *c, const char **head) {
  struct evbuffer *in = bufferevent_get_input(c->client);
  size_t have = evbuffer_get_length(in);
  size_t look = have > AL_HTTP_HEAD_MAX ? AL_HTTP_HEAD_MAX : have;
  const char *buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)look);
  size_t end = buf ? al_http_head_end(buf, look) : 0;
  if (!end && have >= AL_HTTP_HEAD_MAX) {
    al_conn_refuse(c, 431, 0, "request head over %d bytes", AL_HTTP_HEAD_MAX);
    return -1;
  }
  *head = buf;
  return (ssize_t)end;
}

static void head_read(struct bufferevent *bev, void *arg) {
  al_proxy_conn *c = arg;
  struct evbuffer *in = bufferevent_get_input(bev);
  const char *buf = NULL;
  ssize_t got = al_conn_head(c, &buf);
  if (got <= 0)
    return;
  size_t end = (size_t)got;
  char why[256];
  c->have_req = true;
  int st = al_http_req_parse_head(&c->req, buf, end, why, sizeof(why));
  if (c->req.head_done) {
    snprintf(c->method, sizeof(c->method), "%s", http_method_str((enum http_method)c->req.method));
    if (c->req.method == HTTP_CONNECT)
      c->kind = AL_PK_CONNECT;
  }
  if (st) {
    al_conn_refuse(c, st, 0, "%s", why);
    return;
  }
  evbuffer_drain(in, end);
  const char *t = c->req.target;
  int rc;
  if (c->req.method == HTTP_CONNECT) {
    c->kind = AL_PK_CONNECT;
    rc = start_connect(c, t);
  } else if (strncasecmp(t, "http://", 7) == 0) {
    c->kind = AL_PK_HTTP;
    rc = start_http(c, t);
  } else if (strncasecmp(t, "https://", 8) == 0) {
    c->kind = AL_PK_HTTP;
    al_conn_refuse(c, 400, 0, "https:// targets go through CONNECT");
    return;
  } else if (t[0] == '/') {
    c->kind = AL_PK_ROUTE;
    rc = start_route(c, t);
  } else {
    al_conn_refuse(c, 400, 0, "request target is neither an absolute http:// URI, a CONNECT authority nor a path");
    return;
  }
  if (rc < 0)
    return;
  c->stage = AL_ST_UPSTREAM;
  bufferevent_disable(bev, EV_READ); /* a body waits until the upstream is there */
  al_upstream_start(c);
}

void al_conn_upstream_ready(al_proxy_conn *c) {
  if (c->kind == AL_PK_CONNECT && c->early_200) {
    c->upstream_ready = true;
    if (c->hello_ok)
      al_tunnel_decided(c);
  } else if (c->kind == AL_PK_CONNECT)
    al_tunnel_start(c);
  else if (c->kind == AL_PK_ROUTE)
    al_inject_route_start(c);
  else
    al_forward_request(c, NULL, NULL, 0);
}

static void refuse_now(al_proxy *px, evutil_socket_t fd, const char *why) {
  char buf[256];
  int n = snprintf(buf, sizeof(buf),
                   "HTTP/1.1 503 Service Unavailable\r\nX-Airlock-Egress: %s\r\nConnection: close\r\n"
                   "Content-Length: 0\r\n\r\n",
                   why);
  ssize_t w = send(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
  (void)w;
  evutil_closesocket(fd);
  al_proxy_record rec = {.kind = "http", .verdict = "deny", .status = 503, .reason = why};
  al_proxy_log(px, &rec);
}

static void accepted(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg) {
  (void)l;
  (void)sa;
  (void)salen;
  al_proxy *px = arg;
  if (px->stopping) {
    evutil_closesocket(fd);
    return;
  }
  if (px->n_conns >= px->cfg.max_connections) {
    refuse_now(px, fd, "too many connections (limits.maxConnections)");
    return;
  }
  al_proxy_conn *c = calloc(1, sizeof(*c));
  if (!c) {
    evutil_closesocket(fd);
    return;
  }
  /* a relay must not hold small writes back (Nagle): TLS handshakes and
   * request/response turns would wait for the peer's delayed ACK */
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  c->px = px;
  c->start_us = al_monotonic_us();
  c->next = px->conns;
  if (px->conns)
    px->conns->prev = c;
  px->conns = c;
  px->n_conns++;
  c->client = bufferevent_socket_new(px->base, fd, BEV_OPT_CLOSE_ON_FREE);
  c->timer = evtimer_new(px->base, timer_fired, c);
  if (!c->client || !c->timer) {
    if (!c->client)
      evutil_closesocket(fd);
    al_conn_finish(c, "deny", "out of memory");
    return;
  }
  bufferevent_setcb(c->client, head_read, NULL, client_event, c);
  bufferevent_enable(c->client, EV_READ);
  /* so a slowloris client or a flood of half-open CONNECTs holds at most
   * maxConnections slots for headerTimeout each */
  al_conn_deadline(c, px->cfg.header_timeout_s);
  /* the request has often arrived with the connection: read it now rather
   * than one loop turn later */
  int n = evbuffer_read(bufferevent_get_input(c->client), fd, AL_HTTP_HEAD_MAX);
  if (n > 0)
    head_read(c->client, c); /* may end the connection: c is not used after */
}

static void accept_error(struct evconnlistener *l, void *arg) {
  (void)l;
  (void)arg; /* EMFILE and the like: libevent retries on the next readiness */
}

int al_proxy_listen_fd(al_proxy *px, int fd, airlock_error **err) {
  evutil_make_socket_nonblocking(fd);
  px->listener = evconnlistener_new(px->base, accepted, px, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
  if (!px->listener)
    return al_err(err, 0, "cannot serve the proxy's listening socket");
  evconnlistener_set_error_cb(px->listener, accept_error);
  return 0;
}

void al_proxy_close_all(al_proxy *px, const char *reason) {
  px->stopping = true;
  if (px->listener) {
    evconnlistener_free(px->listener);
    px->listener = NULL;
  }
  while (px->conns) {
    al_proxy_conn *c = px->conns;
    al_conn_finish(c, c->verdict ? c->verdict : (c->relaying ? "allow" : "deny"), "%s", reason);
  }
}
