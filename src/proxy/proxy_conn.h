/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_conn.h - one connection from a sandbox through the egress proxy,
 * shared by the files that handle its stages: proxy_conn.c (head and
 * decision), proxy_upstream.c (resolve and connect), proxy_tunnel.c
 * (CONNECT), proxy_inspect.c (inspected tunnels), proxy_route.c (injection,
 * upstream TLS), proxy_relay.c (bytes both ways), and proxy_record.c (the
 * end: refusal, record, release). */
#ifndef AIRLOCK_PROXY_CONN_H
#define AIRLOCK_PROXY_CONN_H

#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/util.h>

#include "proxy.h"
#include "tls_sni.h"

typedef enum { AL_PK_HTTP, AL_PK_CONNECT, AL_PK_ROUTE } al_proxy_kind; /* http until known */
/* where a connection is; what its timer means depends on it (AL_ST_INSPECT:
 * an inspected tunnel's two TLS handshakes) */
typedef enum { AL_ST_HEAD, AL_ST_UPSTREAM, AL_ST_HELLO, AL_ST_INSPECT, AL_ST_RELAY } al_proxy_stage;

/* a relay stops reading one side while the other has this much unsent */
#define AL_RELAY_HIGH_WATER (256 * 1024)

struct al_inspect; /* proxy_inspect.c: an inspected tunnel's request cycle */

struct al_proxy_conn {
  al_proxy *px;
  al_proxy_conn *next, *prev;
  struct bufferevent *client;
  struct bufferevent *upstream;
  struct event *timer; /* header/hello deadline, then the connection's maximum duration */
  int64_t start_us;
  al_proxy_kind kind;
  al_proxy_stage stage;
  al_http_req req;
  bool have_req;
  char method[24];
  char host[AL_HOST_MAX + 2]; /* normalised name, or the IP literal as given */
  bool host_is_ip;
  al_ip host_ip;
  uint16_t port;
  char path[2048]; /* origin-form path for upstream (http, route) */
  const al_proxy_route *route;
  const al_proxy_inspect *inspect;     /* CONNECT: the allow entry that has the tunnel inspected, or NULL */
  struct al_inspect *ins;              /* ... and its state once TLS is ended here */
  void (*tls_ready)(al_proxy_conn *c); /* what follows the upstream's TLS handshake (al_upstream_tls) */
  char sni[AL_HOST_MAX];
  char address[INET6_ADDRSTRLEN + 8];
  al_sni_reader *sni_reader;
  struct event *step; /* runs the next stage from the loop (after DNS answers) */
  struct evdns_getaddrinfo_request *dns_req;
  bool resolving;
  int gai_result;
  struct evutil_addrinfo *ai;       /* DNS's answer, until checked */
  struct sockaddr_storage addrs[8]; /* addresses that may be reached, in order */
  int n_addrs, at;
  char forbidden_why[160]; /* why resolved addresses were dropped */
  char last_error[128];    /* why the last connect failed */
  bool relaying;
  bool client_eof, upstream_eof;
  bool closing; /* error reply written; close when flushed */
  uint64_t bytes_up, bytes_down;
  int64_t active_us;        /* when bytes last moved */
  size_t hello_fed;         /* bytes of the tunnel given to the SNI reader */
  struct al_splice *splice; /* a decided tunnel's zero-copy relay (proxy_splice.c) */
  bool early_200;           /* CONNECT: 200 sent while the upstream connection was still being made */
  bool upstream_ready;      /* ... and it has been made */
  bool hello_ok;            /* the ClientHello passed; the relay waits for the upstream */
  int status;
  const char *verdict;
  char reason[320];
  bool logged;
};

/* proxy_record.c: answer the client with an HTTP error and close when it
 * is written; records the decision (deny) once.  retry_after 0 = no header. */
void al_conn_refuse(al_proxy_conn *c, int status, unsigned retry_after, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Record (once) and free everything. */
void al_conn_finish(al_proxy_conn *c, const char *verdict, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* proxy_conn.c: arm the connection's timer to fire in seconds (what it
 * does then depends on the stage). */
void al_conn_deadline(al_proxy_conn *c, unsigned seconds);
/* The request head at the front of the client's input: its length and
 * *head; 0 while it is not complete, -1 after refusing one over
 * AL_HTTP_HEAD_MAX (431). */
ssize_t al_conn_head(al_proxy_conn *c, const char **head);
/* Take a token from the sandbox's and the host's bucket; 0, or -1 after
 * refusing with 429. */
int al_conn_rate_limit(al_proxy_conn *c);
/* Whether a Host header names c->host at c->port (no port in it: default_port). */
bool al_conn_host_matches(const al_proxy_conn *c, const char *hosthdr, uint16_t default_port);

/* proxy_upstream.c: resolve c->host (or use the literal), drop forbidden
 * addresses, connect; then calls al_conn_upstream_ready(c). */
void al_upstream_start(al_proxy_conn *c);
void al_upstream_cancel(al_proxy_conn *c);
/* Implemented by proxy_conn.c: dispatches to the tunnel, forward or route. */
void al_conn_upstream_ready(al_proxy_conn *c);

/* proxy_tunnel.c */
void al_tunnel_start(al_proxy_conn *c);
/* Whether a CONNECT to this port carries an opaque stream (opaquePorts). */
bool al_tunnel_opaque(const al_proxy_conn *c);
/* The hello passed and the upstream is connected: relay, or inspect. */
void al_tunnel_decided(al_proxy_conn *c);
/* proxy_inspect.c: end the sandbox's TLS here and open verified TLS to the
 * upstream, then serve the tunnel's requests one at a time. */
void al_inspect_start(al_proxy_conn *c);
/* An answer has been written into the sandbox's TLS: close it once the
 * socket has sent it (proxy_record.c, after a refusal). */
void al_inspect_close(al_proxy_conn *c);
void al_inspect_free(al_proxy_conn *c);
/* The timer of stage AL_ST_INSPECT fired: a handshake took too long. */
void al_inspect_timeout(al_proxy_conn *c);
/* proxy_route.c: wrap c->upstream in verified TLS to c->host, then ready(c);
 * a failure refuses with 502. */
void al_upstream_tls(al_proxy_conn *c, void (*ready)(al_proxy_conn *c));
/* wrap c->upstream in TLS to the route's host, then send. */
void al_inject_route_start(al_proxy_conn *c);
/* proxy_relay.c: send the rewritten head and the request body, then relay
 * the response; used by plain HTTP and routes. */
void al_forward_request(al_proxy_conn *c, const char *set_name, const char *set_value, size_t set_len);
/* Move bytes both ways with backpressure until either side ends. */
void al_relay_start(al_proxy_conn *c);
/* Move n bytes from's input to to's output, counted and capped
 * (limits.maxBytes); from stops reading when to has AL_RELAY_HIGH_WATER
 * unsent (its write callback must start it again).  -1 when the connection
 * was closed. */
int al_relay_pump(al_proxy_conn *c, struct bufferevent *from, struct bufferevent *to, size_t n);
/* Write the current request's head upstream, rebuilt for path
 * (al_http_req_upstream_head: Host c->host, with ":port" unless it is
 * default_port, and the set_name header when not NULL), and count it; the
 * copy that may hold a key is wiped.  0, or -1 after refusing (503). */
int al_relay_head(al_proxy_conn *c, const char *path, uint16_t default_port, const char *set_name,
                  const char *set_value, size_t set_len, bool keep_alive);
/* Pass on what the client sent of the current request's body (its framing
 * followed, nothing after it): 1 when the body is complete, 0 when more is
 * to come, -1 when the connection was closed or refused. */
int al_relay_body(al_proxy_conn *c);
/* proxy_splice.c: relay a tunnel with splice(2); false if it cannot (the
 * buffered relay is used then). */
bool al_splice_start(al_proxy_conn *c);
void al_splice_free(al_proxy_conn *c);

#endif
