/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_relay.c - moving bytes once a connection is allowed: for plain HTTP
 * and injection routes, the rewritten head, exactly one request body
 * (framing followed by the parser, so nothing after it is forwarded) and
 * the response back; for tunnels, both directions with half-close.  Every
 * direction stops reading when the other side has 256 KiB unsent, so a
 * fast sender cannot grow the proxy's memory; bytes are counted for the
 * record and against limits.maxBytes; an idle connection is closed after
 * limits.idleTimeout. */
#include "proxy_conn.h"
#include "clock.h"

#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

static struct bufferevent *peer_of(al_proxy_conn *c, struct bufferevent *bev) {
  return bev == c->client ? c->upstream : c->client;
}

static bool over_cap(al_proxy_conn *c, size_t more) {
  uint64_t cap = c->px->cfg.max_bytes;
  if (cap && c->bytes_up + c->bytes_down + more > cap) {
    al_conn_finish(c, "allow", "closed at limits.maxBytes (%llu bytes)", (unsigned long long)cap);
    return true;
  }
  return false;
}

int al_relay_pump(al_proxy_conn *c, struct bufferevent *from, struct bufferevent *to, size_t n) {
  struct evbuffer *in = bufferevent_get_input(from);
  struct evbuffer *out = bufferevent_get_output(to);
  if (over_cap(c, n))
    return -1;
  evbuffer_remove_buffer(in, out, n);
  c->active_us = al_monotonic_us();
  if (from == c->client)
    c->bytes_up += n;
  else
    c->bytes_down += n;
  if (evbuffer_get_length(out) >= AL_RELAY_HIGH_WATER) {
    bufferevent_disable(from, EV_READ);
    bufferevent_setwatermark(to, EV_WRITE, AL_RELAY_HIGH_WATER / 2, 0);
  }
  return 0;
}

static void finish_if_done(al_proxy_conn *c) {
  if (c->client_eof && c->upstream_eof && evbuffer_get_length(bufferevent_get_output(c->client)) == 0 &&
      (!c->upstream || evbuffer_get_length(bufferevent_get_output(c->upstream)) == 0))
    al_conn_finish(c, "allow", "closed");
}

/* The output of bev has drained: let its peer send again, pass on a
 * half-close that was waiting for it, or end. */
static void drained(struct bufferevent *bev, void *arg) {
  al_proxy_conn *c = arg;
  struct bufferevent *peer = peer_of(c, bev);
  bool peer_eof = bev == c->client ? c->upstream_eof : c->client_eof;
  if (peer && !peer_eof && (bev == c->client || c->kind == AL_PK_CONNECT || !c->req.complete))
    bufferevent_enable(peer, EV_READ);
  if (evbuffer_get_length(bufferevent_get_output(bev)) == 0 && peer_eof) {
    if (c->kind != AL_PK_CONNECT && bev == c->client) {
      al_conn_finish(c, "allow", "response complete");
      return;
    }
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd >= 0)
      shutdown(fd, SHUT_WR);
    finish_if_done(c);
  }
}

static void tunnel_read(struct bufferevent *bev, void *arg) {
  al_proxy_conn *c = arg;
  al_relay_pump(c, bev, peer_of(c, bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

static const char *tls_error(struct bufferevent *bev) {
  static char buf[160];
  unsigned long e = bufferevent_get_openssl_error(bev);
  if (!e)
    return NULL;
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

static void side_event(struct bufferevent *bev, short what, void *arg) {
  al_proxy_conn *c = arg;
  bool is_client = bev == c->client;
  if (what & BEV_EVENT_TIMEOUT) {
    /* a read timeout on one side while the other streams is not idleness */
    if (al_monotonic_us() - c->active_us < (int64_t)c->px->cfg.idle_timeout_s * 1000000) {
      bufferevent_enable(bev, EV_READ);
      return;
    }
    al_conn_finish(c, "allow", "idle for limits.idleTimeout (%us)", c->px->cfg.idle_timeout_s);
    return;
  }
  if (!is_client && c->kind != AL_PK_CONNECT && c->bytes_down == 0 && !c->relaying) {
    const char *tls = tls_error(bev);
    al_conn_refuse(c, 502, 0, "upstream %s before answering%s%s", (what & BEV_EVENT_EOF) ? "closed" : "failed",
                   tls ? ": " : "", tls ? tls : "");
    return;
  }
  if ((what & BEV_EVENT_ERROR) && is_client) {
    al_conn_finish(c, "allow", "client connection failed");
    return;
  }
  /* EOF, or an upstream that ended without a TLS close_notify: treat as end */
  if (is_client)
    c->client_eof = true;
  else
    c->upstream_eof = true;
  bufferevent_disable(bev, EV_READ);
  struct bufferevent *peer = peer_of(c, bev);
  if (c->kind != AL_PK_CONNECT && is_client) {
    if (!c->req.complete)
      al_conn_finish(c, "deny", "client closed in the middle of its request body");
    return; /* a client that half-closed after its request still gets the answer */
  }
  if (peer)
    drained(peer, c);
}

int al_relay_body(al_proxy_conn *c) {
  struct evbuffer *in = bufferevent_get_input(c->client);
  size_t have = evbuffer_get_length(in);
  if (have == 0)
    return 0;
  const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)have);
  ssize_t mine = al_http_req_feed_body(&c->req, data, have);
  if (mine < 0) {
    if (c->relaying)
      al_conn_finish(c, "deny", "malformed request body");
    else
      al_conn_refuse(c, 400, 0, "malformed request body (chunk framing)");
    return -1;
  }
  if (mine > 0 && al_relay_pump(c, c->client, c->upstream, (size_t)mine) < 0)
    return -1;
  return c->req.complete ? 1 : 0;
}

static void body_read(struct bufferevent *bev, void *arg) {
  if (al_relay_body(arg) <= 0)
    return;
  /* anything after the one request (pipelining, or a smuggling attempt)
   * is not forwarded: the proxy answers one request per connection */
  struct evbuffer *in = bufferevent_get_input(bev);
  evbuffer_drain(in, evbuffer_get_length(in));
  bufferevent_disable(bev, EV_READ);
}

static void response_read(struct bufferevent *bev, void *arg) {
  al_proxy_conn *c = arg;
  c->relaying = true;
  al_relay_pump(c, bev, c->client, evbuffer_get_length(bufferevent_get_input(bev)));
}

static void start_timers(al_proxy_conn *c) {
  c->stage = AL_ST_RELAY;
  struct timeval idle = {.tv_sec = c->px->cfg.idle_timeout_s};
  bufferevent_set_timeouts(c->client, &idle, NULL);
  bufferevent_set_timeouts(c->upstream, &idle, NULL);
  event_del(c->timer);
  al_conn_deadline(c, c->px->cfg.max_duration_s);
}

void al_relay_start(al_proxy_conn *c) {
  c->relaying = true;
  c->stage = AL_ST_RELAY;
  event_del(c->timer);
  al_conn_deadline(c, c->px->cfg.max_duration_s);
  if (al_splice_start(c))
    return;
  start_timers(c);
  bufferevent_setcb(c->client, tunnel_read, drained, side_event, c);
  bufferevent_setcb(c->upstream, tunnel_read, drained, side_event, c);
  bufferevent_enable(c->client, EV_READ | EV_WRITE);
  bufferevent_enable(c->upstream, EV_READ | EV_WRITE);
  /* bytes that came with the hello (or before) go first */
  if (evbuffer_get_length(bufferevent_get_input(c->client)) > 0)
    tunnel_read(c->client, c);
}

int al_relay_head(al_proxy_conn *c, const char *path, uint16_t default_port, const char *set_name,
                  const char *set_value, size_t set_len, bool keep_alive) {
  char hosthdr[AL_HOST_MAX + 16];
  if (c->port == default_port)
    snprintf(hosthdr, sizeof(hosthdr), "%s", c->host);
  else
    snprintf(hosthdr, sizeof(hosthdr), "%s:%u", c->host, c->port);
  size_t len = 0;
  char *head = al_http_req_upstream_head(&c->req, path, hosthdr, set_name, set_value, set_len, keep_alive, &len);
  int rc = head ? bufferevent_write(c->upstream, head, len) : -1;
  if (head) {
    explicit_bzero(head, len); /* it may hold an injected key */
    free(head);
  }
  if (rc < 0) {
    al_conn_refuse(c, 503, 0, "out of memory");
    return -1;
  }
  c->bytes_up += len;
  c->active_us = al_monotonic_us();
  return 0;
}

void al_forward_request(al_proxy_conn *c, const char *set_name, const char *set_value, size_t set_len) {
  if (al_relay_head(c, c->path, c->kind == AL_PK_ROUTE ? 443 : 80, set_name, set_value, set_len, false) < 0)
    return;
  start_timers(c);
  bufferevent_setcb(c->client, body_read, drained, side_event, c);
  bufferevent_setcb(c->upstream, response_read, drained, side_event, c);
  bufferevent_enable(c->upstream, EV_READ | EV_WRITE);
  bufferevent_enable(c->client, EV_WRITE);
  if (!c->req.complete) {
    bufferevent_enable(c->client, EV_READ);
    body_read(c->client, c);
  }
}
