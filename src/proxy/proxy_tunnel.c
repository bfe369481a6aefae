/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_tunnel.c - CONNECT: once the host is allowed and its checked
 * address connected, answer 200 and, on ports 80 and 443, read the TLS
 * ClientHello before forwarding a byte.  Its SNI must be the CONNECT host
 * (so an allowed CONNECT cannot carry a TLS session for another name
 * through a shared front end: domain fronting); no SNI, several names and
 * ECH are refused with a TLS access_denied alert.  The hello may arrive in
 * any pieces; tls_sni.c caps it.  This holds on every port except those the
 * operator lists in network.opaquePorts (SSH, whose server speaks first, so
 * nothing can be read before forwarding): waiting for the client to speak
 * first for a while and going opaque otherwise would let a client that
 * waits skip the check.  A host whose allow entry says "inspect" goes on to
 * proxy_inspect.c once its hello has passed, instead of the relay. */
#include "proxy_conn.h"

#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>

static void hello_read(struct bufferevent *bev, void *arg) {
  al_proxy_conn *c = arg;
  struct evbuffer *in = bufferevent_get_input(bev);
  size_t have = evbuffer_get_length(in);
  if (have <= c->hello_fed)
    return;
  const unsigned char *data = evbuffer_pullup(in, (ev_ssize_t)have);
  al_sni_status st = al_sni_feed(c->sni_reader, data + c->hello_fed, have - c->hello_fed);
  c->hello_fed = have;
  if (st == AL_SNI_NEED_MORE)
    return;
  if (st == AL_SNI_DONE) {
    snprintf(c->sni, sizeof(c->sni), "%s", al_sni_host(c->sni_reader));
    if (c->host_is_ip || strcmp(c->sni, c->host) != 0) {
      al_conn_refuse(c, 0, 0, "TLS SNI '%s' differs from the CONNECT host '%s'", c->sni, c->host);
      return;
    }
  } else if (!(st == AL_SNI_ERR_NO_SNI && c->host_is_ip)) {
    /* an IP literal allowed by an IP rule is the one case a hello without
     * a name is expected (RFC 6066 forbids IP addresses in SNI) */
    al_conn_refuse(c, 0, 0, "TLS ClientHello refused: %s", al_sni_strerror(st));
    return;
  }
  c->hello_ok = true;
  if (c->early_200 && !c->upstream_ready) {
    bufferevent_disable(c->client, EV_READ); /* the rest waits for the upstream */
    return;
  }
  al_tunnel_decided(c);
}

void al_tunnel_decided(al_proxy_conn *c) {
  if (c->inspect)
    al_inspect_start(c);
  else
    al_relay_start(c);
}

bool al_tunnel_opaque(const al_proxy_conn *c) {
  for (size_t i = 0; i < c->px->cfg.n_opaque_ports; i++)
    if (c->px->cfg.opaque_ports[i] == c->port)
      return true;
  return false;
}

static void hello_event(struct bufferevent *bev, short what, void *arg) {
  (void)bev;
  al_proxy_conn *c = arg;
  al_conn_finish(c, "deny", "client %s before its TLS ClientHello was complete",
                 (what & BEV_EVENT_EOF) ? "closed" : "failed");
}

void al_tunnel_start(al_proxy_conn *c) {
  c->status = 200;
  /* straight to the socket: the client sends its hello only after this,
   * and a bufferevent would write it one loop turn later */
  static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
  ssize_t w = send(bufferevent_getfd(c->client), ok, sizeof(ok) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (w < (ssize_t)sizeof(ok) - 1)
    bufferevent_write(c->client, ok + (w > 0 ? w : 0), sizeof(ok) - 1 - (size_t)(w > 0 ? w : 0));
  if (al_tunnel_opaque(c)) {
    snprintf(c->reason + strlen(c->reason), sizeof(c->reason) - strlen(c->reason),
             "; opaque tunnel (network.opaquePorts has %u)", c->port);
    al_relay_start(c);
    return;
  }
  c->stage = AL_ST_HELLO;
  c->sni_reader = al_sni_reader_new(0);
  if (!c->sni_reader) {
    al_conn_finish(c, "deny", "out of memory");
    return;
  }
  if (!c->early_200)
    bufferevent_disable(c->upstream, EV_READ);
  bufferevent_setcb(c->client, hello_read, NULL, hello_event, c);
  bufferevent_enable(c->client, EV_READ | EV_WRITE);
  event_del(c->timer);
  al_conn_deadline(c, c->px->cfg.header_timeout_s);
  if (evbuffer_get_length(bufferevent_get_input(c->client)) > 0)
    hello_read(c->client, c);
}
