/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_inspect.c - a CONNECT tunnel to a host whose allow entry says
 * "inspect".  An opaque tunnel carries TLS the proxy cannot read, so a
 * client that names an allowed host in CONNECT and SNI can still send
 * "Host: other.example" inside, and a shared front end (a CDN) serves the
 * other site: domain fronting.  Here the sandbox's TLS ends in the proxy,
 * with a certificate for the CONNECT host issued by the per-proxy CA
 * (proxy_ca.c; the sandbox trusts it through the bundle the launcher put
 * in), offering http/1.1 only; the proxy opens its own TLS to the upstream,
 * verified as for an injection route (proxy_route.c), and passes requests
 * one at a time: each head is checked by proxy_request.c, must be in
 * origin form and name the CONNECT host in Host (the TLS name already
 * equals it) or is answered 421, and is rebuilt without hop-by-hop headers
 * (with the allow entry's key, when it has one); its body follows its own
 * framing; the response is relayed as it comes while libhttp-parser finds
 * its end.  Then the next request, on the same connections both ways, as
 * long as neither side closes.  The tunnel keeps its one record; a refusal
 * ends the tunnel. */
#include "proxy_conn.h"
#include "proxy_ca.h"
#include "clock.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "error.h"

struct al_inspect {
  struct event *head_timer; /* a head that has begun must end within limits.headerTimeout */
  bool head_timing;
  bool client_up, upstream_up; /* the two TLS handshakes are done */
  bool busy;                   /* a request is on its way or being answered */
  bool head_request;           /* ... a HEAD: its response has no body */
  bool response_done;          /* its final response has ended */
  bool keep_alive;             /* ... and the upstream keeps the connection */
  bool client_keep_alive;      /* the request did not ask to close (Connection: close, HTTP/1.0) */
  bool closing;                /* no more requests: close once the answer is out */
  const char *end;             /* why, for the record */
  unsigned requests;
  http_parser resp; /* the upstream's response, read for its end only */
};

static void client_read(struct bufferevent *bev, void *arg);

/* ------------------------------------------------------------- responses */
static int resp_headers_complete(http_parser *p) {
  al_proxy_conn *c = p->data;
  unsigned st = p->status_code;
  /* no body, whatever Content-Length says: a HEAD's answer, 1xx, 204, 304 */
  return c->ins->head_request || st / 100 == 1 || st == 204 || st == 304;
}

static int resp_message_complete(http_parser *p) {
  al_proxy_conn *c = p->data;
  if (p->status_code / 100 == 1 && p->status_code != 101)
    return 0; /* an interim answer (100 Continue): the final one follows */
  c->ins->response_done = true;
  /* 101 would switch protocols; the Upgrade header was not passed on, so
   * an upstream that says so anyway gets no further request */
  c->ins->keep_alive = p->status_code != 101 && http_should_keep_alive(p);
  http_parser_pause(p, 1); /* stop right at its end */
  return 0;
}

static const http_parser_settings resp_settings = {
    .on_headers_complete = resp_headers_complete,
    .on_message_complete = resp_message_complete,
};

/* ---------------------------------------------------------------- the end */
static void close_now(al_proxy_conn *c) {
  if (c->logged) {
    al_conn_finish(c, c->verdict ? c->verdict : "deny", NULL);
    return;
  }
  unsigned n = c->ins ? c->ins->requests : 0;
  al_conn_finish(c, "allow", "%u request%s; %s", n, n == 1 ? "" : "s", c->ins && c->ins->end ? c->ins->end : "closed");
}

static void flushed(struct bufferevent *tcp, void *arg) {
  if (evbuffer_get_length(bufferevent_get_output(tcp)) == 0)
    close_now(arg);
}

static void flush_event(struct bufferevent *tcp, short what, void *arg) {
  (void)tcp;
  (void)what;
  close_now(arg);
}

void al_inspect_close(al_proxy_conn *c) {
  /* the filter's output is empty, but what it encrypted may still wait in
   * the socket's: send close_notify after it and end once it has gone */
  SSL *ssl = bufferevent_openssl_get_ssl(c->client);
  struct bufferevent *tcp = bufferevent_get_underlying(c->client);
  if (ssl && c->ins && c->ins->client_up)
    SSL_shutdown(ssl);
  ERR_clear_error();
  if (!tcp || evbuffer_get_length(bufferevent_get_output(tcp)) == 0) {
    close_now(c);
    return;
  }
  struct timeval tv = {.tv_sec = c->px->cfg.header_timeout_s};
  bufferevent_setcb(tcp, NULL, flushed, flush_event, c);
  bufferevent_setwatermark(tcp, EV_WRITE, 0, 0);
  bufferevent_set_timeouts(tcp, NULL, &tv);
  bufferevent_disable(tcp, EV_READ);
  bufferevent_enable(tcp, EV_WRITE);
}

/* No more requests: close once what is queued for the sandbox is out (a
 * sandbox that stops reading is waited for limits.idleTimeout at most). */
static void close_after(al_proxy_conn *c, const char *why) {
  c->ins->closing = true;
  c->ins->end = why;
  evtimer_del(c->ins->head_timer);
  bufferevent_disable(c->client, EV_READ);
  struct timeval tv = {.tv_sec = c->px->cfg.idle_timeout_s};
  bufferevent_set_timeouts(c->client, NULL, &tv);
  if (evbuffer_get_length(bufferevent_get_output(c->client)) == 0)
    al_inspect_close(c);
}

void al_inspect_free(al_proxy_conn *c) {
  if (!c->ins)
    return;
  if (c->ins->head_timer)
    event_free(c->ins->head_timer);
  free(c->ins);
  c->ins = NULL;
}

void al_inspect_timeout(al_proxy_conn *c) {
  unsigned t = c->px->cfg.header_timeout_s;
  if (!c->ins || !c->ins->client_up)
    al_conn_finish(c, "deny", "the sandbox did not complete its TLS handshake within %us", t);
  else
    al_conn_refuse(c, 504, 0, "TLS to %s:%u not set up within %us", c->host, c->port, t);
}

/* ------------------------------------------------------------ the cycle */
static void idle(al_proxy_conn *c, struct bufferevent *bev) {
  /* a read timeout on one side while the other streams is not idleness */
  if (al_monotonic_us() - c->active_us < (int64_t)c->px->cfg.idle_timeout_s * 1000000) {
    bufferevent_enable(bev, EV_READ);
    return;
  }
  c->ins->end = "idle for limits.idleTimeout";
  close_now(c);
}

/* Between requests: read the next head, which may be here already. */
static void next_request(al_proxy_conn *c) {
  c->ins->busy = false;
  c->relaying = false; /* a refusal can be answered again */
  bufferevent_enable(c->client, EV_READ);
  if (evbuffer_get_length(bufferevent_get_input(c->client)) > 0)
    client_read(c->client, c);
}

/* The request and its answer have both gone through. */
static void cycle_done(al_proxy_conn *c) {
  struct al_inspect *ins = c->ins;
  if (!c->req.complete || !ins->response_done)
    return;
  ins->busy = false;
  if (c->upstream_eof)
    close_after(c, "the upstream closed");
  else if (!ins->keep_alive)
    close_after(c, "the upstream's answer ended the connection");
  else if (!ins->client_keep_alive)
    close_after(c, "the client asked to close");
  else
    next_request(c);
}

static void both_up(al_proxy_conn *c) {
  if (!c->ins->client_up || !c->ins->upstream_up)
    return;
  c->stage = AL_ST_RELAY;
  event_del(c->timer);
  al_conn_deadline(c, c->px->cfg.max_duration_s);
  struct timeval idle_tv = {.tv_sec = c->px->cfg.idle_timeout_s};
  bufferevent_set_timeouts(c->client, &idle_tv, NULL);
  bufferevent_set_timeouts(c->upstream, &idle_tv, NULL);
  c->active_us = al_monotonic_us();
  next_request(c);
}

/* The request's target, method and Host; 0, or -1 after refusing. */
static int check_request(al_proxy_conn *c) {
  const al_http_req *r = &c->req;
  if (r->method == HTTP_CONNECT) {
    al_conn_refuse(c, 400, 0, "CONNECT inside an inspected tunnel");
    return -1;
  }
  if (r->target[0] != '/' && !(strcmp(r->target, "*") == 0 && r->method == HTTP_OPTIONS)) {
    al_conn_refuse(c, 400, 0, "request target '%.100s' in an inspected tunnel: only a path (origin form)", r->target);
    return -1;
  }
  const char *host = al_http_req_header(r, "host");
  if (host && !al_conn_host_matches(c, host, 443)) {
    al_conn_refuse(c, 421, 0, "Host '%.200s' is not the TLS name and CONNECT host %s:%u (domain fronting)", host,
                   c->host, c->port);
    return -1;
  }
  /* the CONNECT took the first request's tokens */
  if (c->ins->requests > 0 && al_conn_rate_limit(c) < 0)
    return -1;
  c->ins->requests++;
  return 0;
}

static void body_read(al_proxy_conn *c) {
  if (al_relay_body(c) <= 0)
    return;
  bufferevent_disable(c->client, EV_READ); /* a pipelined request waits for this one's answer */
  cycle_done(c);
}

/* Send the checked request upstream, rebuilt, and its body after it. */
static void forward(al_proxy_conn *c) {
  struct al_inspect *ins = c->ins;
  const al_proxy_inject *key = c->inspect->has_inject ? &c->inspect->inject : NULL;
  if (al_relay_head(c, c->req.target, 443, key ? key->header : NULL, key ? (const char *)key->secret : NULL,
                    key ? key->secret_len : 0, true) < 0)
    return;
  ins->busy = true;
  ins->head_request = c->req.method == HTTP_HEAD;
  ins->client_keep_alive = http_should_keep_alive(&c->req.parser);
  ins->response_done = false;
  http_parser_init(&ins->resp, HTTP_RESPONSE);
  ins->resp.data = c;
  if (c->req.complete)
    bufferevent_disable(c->client, EV_READ);
  else
    body_read(c);
}

static void head_timer_fired(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  al_proxy_conn *c = arg;
  al_conn_refuse(c, 408, 0, "no complete request head within %us", c->px->cfg.header_timeout_s);
}

static void head_read(al_proxy_conn *c) {
  struct al_inspect *ins = c->ins;
  struct evbuffer *in = bufferevent_get_input(c->client);
  if (evbuffer_get_length(in) == 0)
    return;
  if (!ins->head_timing) { /* its first bytes: from now on it must not dawdle */
    struct timeval tv = {.tv_sec = c->px->cfg.header_timeout_s};
    evtimer_add(ins->head_timer, &tv);
    ins->head_timing = true;
  }
  const char *buf = NULL;
  ssize_t got = al_conn_head(c, &buf);
  if (got <= 0)
    return;
  size_t end = (size_t)got;
  evtimer_del(ins->head_timer);
  ins->head_timing = false;
  if (c->have_req)
    al_http_req_clear(&c->req);
  c->have_req = true;
  char why[256];
  int st = al_http_req_parse_head(&c->req, buf, end, why, sizeof(why));
  if (st) {
    al_conn_refuse(c, st, 0, "%s", why);
    return;
  }
  evbuffer_drain(in, end);
  if (check_request(c) == 0)
    forward(c);
}

static void client_read(struct bufferevent *bev, void *arg) {
  al_proxy_conn *c = arg;
  struct al_inspect *ins = c->ins;
  if (!ins->client_up || !ins->upstream_up || ins->closing)
    return; /* what came early waits for both sides */
  if (!ins->busy)
    head_read(c);
  else if (!c->req.complete)
    body_read(c);
  else
    bufferevent_disable(bev, EV_READ);
}

static void client_written(struct bufferevent *bev, void *arg) {
  al_proxy_conn *c = arg;
  if (c->ins->closing) {
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
      al_inspect_close(c);
    return;
  }
  if (c->upstream && c->ins->upstream_up && !c->upstream_eof)
    bufferevent_enable(c->upstream, EV_READ); /* room again for the answer */
}

static void client_event(struct bufferevent *bev, short what, void *arg) {
  al_proxy_conn *c = arg;
  struct al_inspect *ins = c->ins;
  if (what & BEV_EVENT_CONNECTED) {
    ins->client_up = true;
    both_up(c);
    return;
  }
  if (what & BEV_EVENT_TIMEOUT) {
    if (ins->closing)
      close_now(c); /* the answer was not taken within idleTimeout */
    else
      idle(c, bev);
    return;
  }
  if (!ins->client_up) {
    char why[160] = "it closed the connection";
    unsigned long e = bufferevent_get_openssl_error(bev);
    if (e)
      ERR_error_string_n(e, why, sizeof(why));
    al_conn_finish(c, "allow", "the sandbox's TLS handshake failed (%s); does it trust the egress CA?", why);
    return;
  }
  c->client_eof = true;
  if (ins->busy && !c->req.complete)
    al_conn_finish(c, "deny", "client closed in the middle of its request body");
  else {
    ins->end = "the client closed";
    close_now(c);
  }
}

static void upstream_read(struct bufferevent *bev, void *arg) {
  al_proxy_conn *c = arg;
  struct al_inspect *ins = c->ins;
  struct evbuffer *in = bufferevent_get_input(bev);
  size_t have = evbuffer_get_length(in);
  if (have == 0)
    return;
  if (!ins->busy || ins->response_done) {
    bufferevent_disable(bev, EV_READ);
    close_after(c, "the upstream sent bytes that answer no request");
    return;
  }
  const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)have);
  size_t used = http_parser_execute(&ins->resp, &resp_settings, data, have);
  enum http_errno e = HTTP_PARSER_ERRNO(&ins->resp);
  if (e != HPE_OK && e != HPE_PAUSED) {
    if (c->relaying)
      al_conn_finish(c, "allow", "malformed response from the upstream: %s", http_errno_description(e));
    else
      al_conn_refuse(c, 502, 0, "malformed response from %s: %s", c->host, http_errno_description(e));
    return;
  }
  c->relaying = true;
  if (al_relay_pump(c, bev, c->client, used) < 0)
    return;
  if (!ins->response_done)
    return;
  if (evbuffer_get_length(in) > 0) { /* the answer goes out, the rest does not */
    bufferevent_disable(bev, EV_READ);
    close_after(c, "the upstream sent bytes after its answer");
    return;
  }
  cycle_done(c);
}

static void upstream_written(struct bufferevent *bev, void *arg) {
  (void)bev;
  al_proxy_conn *c = arg;
  if (c->ins->busy && !c->req.complete && !c->client_eof)
    bufferevent_enable(c->client, EV_READ); /* room again for the body */
}

static void upstream_event(struct bufferevent *bev, short what, void *arg) {
  al_proxy_conn *c = arg;
  struct al_inspect *ins = c->ins;
  if (what & BEV_EVENT_TIMEOUT) {
    idle(c, bev);
    return;
  }
  c->upstream_eof = true;
  bufferevent_disable(bev, EV_READ);
  if (!ins->busy) { /* between requests: nothing is lost, the sandbox connects again */
    close_after(c, "the upstream closed");
    return;
  }
  if (!ins->response_done)
    http_parser_execute(&ins->resp, &resp_settings, NULL, 0); /* an answer that ends with the connection */
  if (!ins->response_done) {
    char why[160] = "";
    unsigned long e = bufferevent_get_openssl_error(bev);
    if (e)
      ERR_error_string_n(e, why, sizeof(why));
    if (c->relaying)
      al_conn_finish(c, "allow", "the upstream closed in the middle of its answer%s%s", e ? ": " : "", why);
    else
      al_conn_refuse(c, 502, 0, "upstream %s before answering%s%s", (what & BEV_EVENT_EOF) ? "closed" : "failed",
                     e ? ": " : "", why);
    return;
  }
  cycle_done(c);
}

/* The upstream's TLS is up (al_upstream_tls). */
static void upstream_up(al_proxy_conn *c) {
  c->ins->upstream_up = true;
  bufferevent_setcb(c->upstream, upstream_read, upstream_written, upstream_event, c);
  bufferevent_enable(c->upstream, EV_READ | EV_WRITE);
  both_up(c);
}

void al_inspect_start(al_proxy_conn *c) {
  al_proxy *px = c->px;
  _cleanup_error_ airlock_error *e = NULL;
  c->ins = calloc(1, sizeof(*c->ins));
  if (!c->ins || !(c->ins->head_timer = evtimer_new(px->base, head_timer_fired, c))) {
    al_conn_refuse(c, 0, 0, "out of memory");
    return;
  }
  X509 *leaf = al_proxy_ca_leaf(px->ca, c->host, (int64_t)time(NULL), &e);
  SSL *ssl = leaf ? SSL_new(px->inspect_tls) : NULL;
  if (!ssl || SSL_use_certificate(ssl, leaf) != 1 || SSL_use_PrivateKey(ssl, al_proxy_ca_leaf_key(px->ca)) != 1) {
    SSL_free(ssl);
    ERR_clear_error();
    al_conn_refuse(c, 0, 0, "cannot set up TLS for the sandbox: %s", e ? e->msg : "out of memory");
    return;
  }
  /* the hello the SNI check read is still in the socket's input: the
   * filter's handshake starts with it */
  struct bufferevent *tcp = c->client;
  struct bufferevent *tls =
      bufferevent_openssl_filter_new(px->base, tcp, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
  if (!tls) {
    SSL_free(ssl);
    al_conn_refuse(c, 0, 0, "cannot set up TLS for the sandbox");
    return;
  }
  c->client = tls;
  c->stage = AL_ST_INSPECT; /* the timer: both handshakes within headerTimeout */
  event_del(c->timer);
  al_conn_deadline(c, px->cfg.header_timeout_s);
  /* bounded both ways: ciphertext waiting for the socket, plaintext read
   * ahead of the request cycle */
  bufferevent_setwatermark(tcp, EV_WRITE, 0, AL_RELAY_HIGH_WATER);
  bufferevent_setwatermark(tls, EV_READ, 0, AL_RELAY_HIGH_WATER);
  bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
  bufferevent_setcb(tls, client_read, client_written, client_event, c);
  bufferevent_enable(tls, EV_READ | EV_WRITE);
  al_upstream_tls(c, upstream_up);
}

/* --------------------------------------------------------- process setup */
/* The sandbox's side offers http/1.1 only: a client that would speak only
 * h2 gets no ALPN, and an HTTP/2 preface is answered 505 like any. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg) {
  (void)ssl;
  (void)arg;
  static const unsigned char http11[] = "\x08http/1.1";
  unsigned char *chosen = NULL;
  if (SSL_select_next_proto(&chosen, outlen, http11, sizeof(http11) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

int al_proxy_inspect_init(al_proxy *px, int64_t validity_s, char **pem, airlock_error **err) {
  *pem = NULL;
  if (px->cfg.n_inspect == 0)
    return 0;
  /* the CA may sign for the inspected names (and their subdomains) only;
   * an inspected "*" leaves it unconstrained */
  const char *names[AL_PROXY_MAX_INSPECT];
  size_t n = 0;
  bool everything = false;
  for (size_t i = 0; i < px->cfg.n_inspect; i++) {
    const char *name = px->cfg.inspects[i].constraint;
    bool seen = !name;
    everything = everything || !name;
    for (size_t k = 0; k < n && !seen; k++)
      seen = strcmp(names[k], name) == 0;
    if (!seen)
      names[n++] = name;
  }
  px->ca = al_proxy_ca_new(px->sandbox, names, everything ? 0 : n, (int64_t)time(NULL),
                           validity_s > 0 ? validity_s : 24 * 3600, err);
  if (!px->ca)
    return -1;
  px->inspect_tls = SSL_CTX_new(TLS_server_method());
  if (!px->inspect_tls || SSL_CTX_set_min_proto_version(px->inspect_tls, TLS1_2_VERSION) != 1)
    return al_err(err, 0, "cannot create the TLS context of inspected tunnels");
  SSL_CTX_set_options(px->inspect_tls, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_alpn_select_cb(px->inspect_tls, alpn_select, NULL);
  *pem = al_proxy_ca_pem(px->ca, err);
  return *pem ? 0 : -1;
}

void al_proxy_inspect_free(al_proxy *px) {
  SSL_CTX_free(px->inspect_tls);
  px->inspect_tls = NULL;
  al_proxy_ca_free(px->ca);
  px->ca = NULL;
}
