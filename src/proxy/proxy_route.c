/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_route.c - credential injection, and the verified TLS to an upstream
 * that it shares with inspected tunnels.  A sandbox calls a route of the
 * proxy in plain HTTP (http://127.0.0.1:3128/llm/v1/messages); the proxy
 * opens TLS to the route's upstream, verifies its certificate and name
 * against the system store (plus upstreamCa when set), TLS 1.2 or later,
 * and forwards the request with the route's header set from a secret,
 * replacing any header of that name the sandbox sent.  The key exists only
 * in this process and on the wire to the upstream: never in the sandbox, a
 * response header the proxy writes, an error or a log record.  Responses,
 * redirects included, are passed back as they are and never followed. */
#include "proxy_conn.h"

#include <string.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "error.h"

int al_proxy_tls_init(al_proxy *px, airlock_error **err) {
  px->tls = SSL_CTX_new(TLS_client_method());
  if (!px->tls)
    return al_err(err, 0, "cannot create a TLS context");
  SSL_CTX_set_min_proto_version(px->tls, TLS1_2_VERSION);
  SSL_CTX_set_verify(px->tls, SSL_VERIFY_PEER, NULL);
  if (SSL_CTX_set_default_verify_paths(px->tls) != 1)
    return al_err(err, 0, "cannot load the system's certificate store");
  if (px->cfg.upstream_ca && SSL_CTX_load_verify_locations(px->tls, px->cfg.upstream_ca, NULL) != 1)
    return al_err(err, 0, "config key 'network.upstreamCa': cannot load '%s'", px->cfg.upstream_ca);
  /* what is sent is HTTP/1.1, whatever the upstream would prefer */
  static const unsigned char http11[] = "\x08http/1.1";
  if (SSL_CTX_set_alpn_protos(px->tls, http11, sizeof(http11) - 1) != 0)
    return al_err(err, 0, "cannot set up TLS (ALPN)");
  return 0;
}

static void tls_event(struct bufferevent *bev, short what, void *arg) {
  al_proxy_conn *c = arg;
  if (what & BEV_EVENT_CONNECTED) {
    c->tls_ready(c);
    return;
  }
  char why[200] = "connection closed during the handshake";
  SSL *ssl = bufferevent_openssl_get_ssl(bev);
  long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
  unsigned long e = bufferevent_get_openssl_error(bev);
  if (vr != X509_V_OK)
    snprintf(why, sizeof(why), "certificate not accepted: %s", X509_verify_cert_error_string(vr));
  else if (e)
    ERR_error_string_n(e, why, sizeof(why));
  al_conn_refuse(c, 502, 0, "TLS to %s failed: %s", c->host, why);
}

void al_upstream_tls(al_proxy_conn *c, void (*ready)(al_proxy_conn *c)) {
  SSL *ssl = SSL_new(c->px->tls);
  if (!ssl || SSL_set_tlsext_host_name(ssl, c->host) != 1 || SSL_set1_host(ssl, c->host) != 1) {
    SSL_free(ssl);
    al_conn_refuse(c, 503, 0, "cannot set up TLS");
    return;
  }
  /* deferred callbacks: the filter reports a close_notify that came with
   * the last data before it has passed that data on, and deferred ones run
   * reads before events, so an answer and its close in one flight are not
   * taken for a close before answering */
  struct bufferevent *tcp = c->upstream;
  struct bufferevent *tls = bufferevent_openssl_filter_new(c->px->base, tcp, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                           BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (!tls) {
    SSL_free(ssl);
    al_conn_refuse(c, 503, 0, "cannot set up TLS");
    return;
  }
  c->upstream = tls; /* owns the socket's bufferevent now */
  c->tls_ready = ready;
  /* the filter encrypts only while the socket has less than this unsent,
   * so the relay's limit on what is in flight holds for the ciphertext */
  bufferevent_setwatermark(tcp, EV_WRITE, 0, AL_RELAY_HIGH_WATER);
  bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
  bufferevent_setcb(tls, NULL, NULL, tls_event, c);
  bufferevent_enable(tls, EV_READ | EV_WRITE);
}

static void route_ready(al_proxy_conn *c) {
  const al_proxy_inject *in = &c->route->inject;
  al_forward_request(c, in->header, (const char *)in->secret, in->secret_len);
}

void al_inject_route_start(al_proxy_conn *c) { al_upstream_tls(c, route_ready); }
