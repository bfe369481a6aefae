/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_upstream.c - from a judged host to a connected socket: the proxy
 * resolves names itself (the sandbox's own lookups never leave it), drops
 * every address in a forbidden class (loopback, private, link-local and
 * metadata, CGNAT, multicast, IPv6 forms embedding those) unless the
 * operator listed it in allowAddresses, and connects to the very addresses
 * it checked, so a DNS answer that changes between check and use (DNS
 * rebinding) cannot steer the connection. */
#include "proxy_conn.h"
#include "clock.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

static void try_next(al_proxy_conn *c);

/* A small cache of DNS answers (30 s, least recently stored replaced):
 * evdns keeps none, and without one every connection to a name pays an A
 * and an AAAA query.  What it holds are answers, not decisions: every
 * address is checked again on every use, so a cached answer cannot let
 * more through than a fresh one. */
#define DNS_CACHE_SLOTS 64
#define DNS_CACHE_US (30 * 1000000LL)
typedef struct {
  char name[AL_HOST_MAX];
  struct sockaddr_storage addrs[8];
  int n;
  int64_t expires_us;
} dns_entry;
static dns_entry dns_cache[DNS_CACHE_SLOTS];

static dns_entry *cache_find(const char *name) {
  int64_t now = al_monotonic_us();
  for (int i = 0; i < DNS_CACHE_SLOTS; i++)
    if (dns_cache[i].expires_us > now && strcmp(dns_cache[i].name, name) == 0)
      return &dns_cache[i];
  return NULL;
}

static void cache_store(const char *name, const struct evutil_addrinfo *ai) {
  dns_entry *slot = &dns_cache[0];
  for (int i = 1; i < DNS_CACHE_SLOTS; i++)
    if (dns_cache[i].expires_us < slot->expires_us)
      slot = &dns_cache[i];
  memset(slot, 0, sizeof(*slot));
  snprintf(slot->name, sizeof(slot->name), "%.*s", (int)sizeof(slot->name) - 1, name);
  for (const struct evutil_addrinfo *a = ai; a && slot->n < 8; a = a->ai_next)
    if ((a->ai_family == AF_INET || a->ai_family == AF_INET6) && a->ai_addrlen <= sizeof(slot->addrs[0]))
      memcpy(&slot->addrs[slot->n++], a->ai_addr, a->ai_addrlen);
  slot->expires_us = slot->n ? al_monotonic_us() + DNS_CACHE_US : 0;
}

static void format_address(al_proxy_conn *c, const struct sockaddr *sa) {
  char ip[INET6_ADDRSTRLEN];
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
    snprintf(c->address, sizeof(c->address), "%s", ip);
  } else {
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof(ip));
    snprintf(c->address, sizeof(c->address), "[%s]", ip);
  }
}

/* Keep sa if it may be reached; remember why not otherwise. */
static void consider(al_proxy_conn *c, const struct sockaddr *sa, socklen_t len) {
  char why[128];
  if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
    return;
  if (al_addr_forbidden(sa, why, sizeof(why)) && !al_proxy_address_allowed(&c->px->cfg, sa)) {
    if (!c->forbidden_why[0])
      snprintf(c->forbidden_why, sizeof(c->forbidden_why), "%s", why);
    return;
  }
  if (c->n_addrs < (int)(sizeof(c->addrs) / sizeof(c->addrs[0])) && len <= sizeof(c->addrs[0]))
    memcpy(&c->addrs[c->n_addrs++], sa, len);
}

static void resolved_step(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  al_proxy_conn *c = arg;
  if (c->gai_result != 0) {
    al_conn_refuse(c, 502, 0, "cannot resolve %s: %s", c->host, evutil_gai_strerror(c->gai_result));
    return;
  }
  cache_store(c->host, c->ai);
  for (struct evutil_addrinfo *a = c->ai; a; a = a->ai_next) {
    if (a->ai_family == AF_INET)
      ((struct sockaddr_in *)a->ai_addr)->sin_port = htons(c->port);
    else if (a->ai_family == AF_INET6)
      ((struct sockaddr_in6 *)a->ai_addr)->sin6_port = htons(c->port);
    consider(c, a->ai_addr, (socklen_t)a->ai_addrlen);
  }
  evutil_freeaddrinfo(c->ai);
  c->ai = NULL;
  if (c->n_addrs == 0) {
    if (c->forbidden_why[0])
      al_conn_refuse(c, 403, 0, "%s resolves only to forbidden addresses (%s)", c->host, c->forbidden_why);
    else
      al_conn_refuse(c, 502, 0, "%s has no usable address", c->host);
    return;
  }
  try_next(c);
}

static void dns_answered(int result, struct evutil_addrinfo *res, void *arg) {
  if (result == EVUTIL_EAI_CANCEL)
    return; /* the connection is gone (al_upstream_cancel) */
  al_proxy_conn *c = arg;
  c->resolving = false;
  c->dns_req = NULL;
  c->gai_result = result;
  c->ai = res;
  /* not from inside evdns: the next stage may free the connection */
  event_active(c->step, EV_TIMEOUT, 0);
}

void al_upstream_start(al_proxy_conn *c) {
  al_proxy *px = c->px;
  c->step = event_new(px->base, -1, 0, resolved_step, c);
  if (!c->step) {
    al_conn_refuse(c, 503, 0, "out of memory");
    return;
  }
  if (c->host_is_ip) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len;
    if (c->host_ip.family == AF_INET) {
      struct sockaddr_in *in = (struct sockaddr_in *)&ss;
      in->sin_family = AF_INET;
      in->sin_port = htons(c->port);
      memcpy(&in->sin_addr, c->host_ip.addr, 4);
      len = sizeof(*in);
    } else {
      struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(c->port);
      memcpy(&in6->sin6_addr, c->host_ip.addr, 16);
      len = sizeof(*in6);
    }
    consider(c, (struct sockaddr *)&ss, len);
    if (c->n_addrs == 0) {
      format_address(c, (struct sockaddr *)&ss);
      al_conn_refuse(c, 403, 0, "forbidden address: %s", c->forbidden_why);
      return;
    }
    try_next(c);
    return;
  }
  dns_entry *hit = cache_find(c->host);
  if (hit) {
    for (int i = 0; i < hit->n; i++) {
      struct sockaddr_storage ss = hit->addrs[i];
      socklen_t len = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
      if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&ss)->sin_port = htons(c->port);
      else
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons(c->port);
      consider(c, (struct sockaddr *)&ss, len);
    }
    if (c->n_addrs == 0) {
      al_conn_refuse(c, 403, 0, "%s resolves only to forbidden addresses (%s)", c->host, c->forbidden_why);
      return;
    }
    try_next(c);
    return;
  }
  struct evutil_addrinfo hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  c->resolving = true;
  struct evdns_getaddrinfo_request *r = evdns_getaddrinfo(px->dns, c->host, NULL, &hints, dns_answered, c);
  if (c->resolving)
    c->dns_req = r;
}

void al_upstream_cancel(al_proxy_conn *c) {
  if (c->dns_req) {
    struct evdns_getaddrinfo_request *r = c->dns_req;
    c->dns_req = NULL;
    evdns_getaddrinfo_cancel(r);
  }
  if (c->ai) {
    evutil_freeaddrinfo(c->ai);
    c->ai = NULL;
  }
}

static void connect_event(struct bufferevent *bev, short what, void *arg) {
  al_proxy_conn *c = arg;
  if (what & BEV_EVENT_CONNECTED) {
    int one = 1;
    setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
    al_conn_upstream_ready(c);
    return;
  }
  int e = EVUTIL_SOCKET_ERROR();
  snprintf(c->last_error, sizeof(c->last_error), "%s", evutil_socket_error_to_string(e));
  bufferevent_free(c->upstream);
  c->upstream = NULL;
  c->at++;
  try_next(c);
}

static void try_next(al_proxy_conn *c) {
  if (c->at >= c->n_addrs) {
    al_conn_refuse(c, 502, 0, "cannot connect to %s port %u: %s", c->host, c->port,
                   c->last_error[0] ? c->last_error : "no address");
    return;
  }
  struct sockaddr *sa = (struct sockaddr *)&c->addrs[c->at];
  format_address(c, sa);
  c->upstream = bufferevent_socket_new(c->px->base, -1, BEV_OPT_CLOSE_ON_FREE);
  if (!c->upstream) {
    al_conn_refuse(c, 503, 0, "out of memory");
    return;
  }
  bufferevent_setcb(c->upstream, NULL, NULL, connect_event, c);
  socklen_t len = sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  if (bufferevent_socket_connect(c->upstream, sa, (int)len) < 0) {
    snprintf(c->last_error, sizeof(c->last_error), "connect failed");
    bufferevent_free(c->upstream);
    c->upstream = NULL;
    c->at++;
    try_next(c);
    return;
  }
  /* A TLS tunnel is decided and its address checked: answer 200 now and
   * read the ClientHello while the connection is being made, instead of
   * one round trip later.  (A failure to connect then ends the tunnel with
   * an alert and the reason in the record, not with a 502.) */
  if (c->kind == AL_PK_CONNECT && !c->early_200 && !al_tunnel_opaque(c)) {
    c->early_200 = true;
    al_tunnel_start(c);
  }
}
