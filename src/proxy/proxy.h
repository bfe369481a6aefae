/* SPDX-License-Identifier: Apache-2.0 */
/* proxy.h - the egress proxy: the only way out of a sandbox in network
 * mode "proxy".  It runs as a process of its own (never inside the node,
 * which must stay single-threaded, and never inside the sandbox), serves
 * listening sockets that were created inside the sandbox's network
 * namespace (or, standalone, its own), decides every connection against
 * the operator's rules and the forbidden address classes, and records each
 * decision.  Files: proxy_config.c (the `network` object), proxy_request.c
 * (HTTP heads), proxy_conn.c (accept, read the head, decide),
 * proxy_record.c (refuse, record, release), proxy_upstream.c (resolve,
 * check, connect), proxy_relay.c (moving bytes), proxy_tunnel.c (CONNECT
 * and the SNI check), proxy_inspect.c (inspected tunnels: TLS ended here,
 * every request's Host checked), proxy_ca.c (their per-proxy CA),
 * proxy_route.c (credential injection, upstream TLS), proxy_dns.c (the DNS
 * stub), proxy_log.c, proxy_main.c. */
#ifndef AIRLOCK_PROXY_H
#define AIRLOCK_PROXY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "airlock/airlock.h"
#include "egress_rules.h"
#include "proxy_ratelimit.h"

#define AL_PROXY_DNS_CONNS 8
#include "proxy_request.h"

/* a jansson value released (json_decref) when it goes out of scope */
static inline void al_json_decrefp(json_t **j) { json_decref(*j); }
#define _cleanup_json_ __attribute__((cleanup(al_json_decrefp)))

#define AL_PROXY_MAX_ROUTES 32
#define AL_PROXY_MAX_ADDR_RULES 32
#define AL_PROXY_MAX_INSPECT 32

/* A header set from a secret on requests that leave over verified TLS
 * (routes, inspected hosts), replacing any header of that name. */
typedef struct {
  char *header; /* "x-api-key" */
  char *prefix; /* put before the secret ("Bearer "), "" if none */
  char *secret_name;
  unsigned char *secret; /* sodium-guarded value (prefix included) */
  size_t secret_len;
} al_proxy_inject;

/* A credential-injection route: plain HTTP from the sandbox to PATH... is
 * sent over verified TLS to UPSTREAM with HEADER set from a secret. */
typedef struct {
  char *path;          /* "/llm/" */
  char *upstream_host; /* normalised */
  uint16_t upstream_port;
  char *upstream_base; /* path prefix of the upstream URL, "" or "/v1" */
  al_proxy_inject inject;
} al_proxy_route;

/* An allow entry with "inspect": true: the CONNECT tunnels it covers end
 * in the proxy's TLS (a certificate from the per-proxy CA), and every
 * request in them must name the CONNECT host. */
typedef struct {
  char *rule;               /* HOST[:PORT] as written */
  al_egress_ruleset *match; /* that one rule: which tunnels it covers */
  char *constraint;         /* the CA's permitted DNS subtree for it; NULL for "*" (then none at all) */
  int port;                 /* the rule's port: 0 none (80 and 443), -1 "*" */
  bool has_inject;
  al_proxy_inject inject; /* when has_inject: only on a rule for one name */
} al_proxy_inspect;

typedef struct {
  al_ip net;
  unsigned bits;
} al_proxy_cidr;

typedef struct {
  al_egress_ruleset *rules;
  al_proxy_cidr allow_addresses[AL_PROXY_MAX_ADDR_RULES]; /* may be reached although forbidden */
  size_t n_allow_addresses;
  al_proxy_route routes[AL_PROXY_MAX_ROUTES];
  size_t n_routes;
  al_proxy_inspect inspects[AL_PROXY_MAX_INSPECT];
  size_t n_inspect;
  uint16_t opaque_ports[16]; /* CONNECT ports whose tunnel need not start with a TLS hello */
  size_t n_opaque_ports;
  char *resolver;    /* "IP[:PORT]" or NULL for the system's */
  char *upstream_ca; /* extra CA file for routes, or NULL */
  double rate_per_minute, rate_burst;
  double host_rate_per_minute, host_rate_burst;
  unsigned max_connections;
  unsigned header_timeout_s, idle_timeout_s, max_duration_s;
  uint64_t max_bytes; /* per connection, 0 = no cap */
} al_proxy_config;

/* Parse and check a `network` object (docs/egress.md).  Secrets are not
 * loaded here.  0, or -1 and *err naming the key. */
int al_proxy_config_parse(al_proxy_config *cfg, json_t *network, airlock_error **err);
/* Load every route's secret from the store under state_dir. */
int al_proxy_config_load_secrets(al_proxy_config *cfg, const char *state_dir, airlock_error **err);
void al_proxy_config_free(al_proxy_config *cfg);
/* Whether addr is listed in allowAddresses. */
bool al_proxy_address_allowed(const al_proxy_config *cfg, const struct sockaddr *sa);
/* The first inspect entry whose rule covers the name host (normalised) at
 * port, or NULL: then a tunnel there is opaque. */
const al_proxy_inspect *al_proxy_inspect_match(const al_proxy_config *cfg, const char *host, uint16_t port);

typedef struct al_proxy_conn al_proxy_conn;

typedef struct al_proxy {
  struct event_base *base;
  struct evdns_base *dns;
  SSL_CTX *tls;           /* client context for routes and inspected hosts: system store (+ upstreamCa) */
  struct al_proxy_ca *ca; /* inspected hosts: the per-proxy CA (proxy_ca.c); its key stays here */
  SSL_CTX *inspect_tls;   /* server context of inspected tunnels (http/1.1 only) */
  al_proxy_config cfg;
  al_bucket bucket;
  al_host_buckets *host_buckets;
  unsigned n_conns;
  al_proxy_conn *conns; /* open connections, to record at shutdown */
  struct evconnlistener *listener;
  struct event *dns_event;
  int dns_fd;
  /* a seqpacket DNS listener (gVisor's relay): its accepted connections */
  struct event *dns_conns[AL_PROXY_DNS_CONNS];
  FILE *log;
  const char *sandbox;
  bool stopping;
} al_proxy;

/* The record of one decision, written as one JSON line. */
typedef struct {
  const char *kind; /* "connect", "http", "route", "dns" */
  const char *method;
  const char *host;
  unsigned port;
  const char *sni;
  const char *address;
  const char *route;
  const char *verdict; /* "allow" or "deny" */
  int status;          /* HTTP status answered, 0 if none */
  const char *reason;
  uint64_t bytes_up, bytes_down;
  int64_t duration_us;
  const char *qtype; /* dns */
} al_proxy_record;

void al_proxy_log(al_proxy *px, const al_proxy_record *rec);

/* How a proxy process is started (proxy_main.c). */
typedef struct {
  const char *listen;      /* standalone: "ADDR:PORT" for HTTP */
  const char *dns_listen;  /* standalone: "ADDR:PORT" for the DNS stub (UDP), or NULL */
  int control_fd;          /* runtime: the launcher's socket (-1 standalone) */
  int config_fd;           /* runtime: the network object as JSON (-1: none) */
  const char *config_path; /* an airlock config file; its "network" object */
  const char **allow, **deny, **allow_addresses;
  size_t n_allow, n_deny, n_allow_addresses;
  const char *resolver;
  const char *log_path; /* NULL or "-": stderr */
  int log_fd;           /* records to this descriptor instead (-1: none) */
  const char *sandbox;
  const char *state_dir;
  const char *ready_file;
  const char *ca_cert_path; /* standalone: write the inspect CA's certificate there */
  int64_t ca_validity_s;    /* how long the inspect CA is valid (0: a day) */
} al_proxy_options;

/* Run a proxy until it is told to stop (SIGTERM/SIGINT, or the control
 * socket closing).  Fails before serving anything if the configuration is
 * wrong; in runtime mode the failure is also sent to the launcher. */
int al_proxy_serve(const al_proxy_options *o, airlock_error **err);

/* proxy_conn.c; the listener owns fd once this succeeds (the caller still
 * does when it fails), as px->dns_fd does with al_proxy_dns_fd's */
int al_proxy_listen_fd(al_proxy *px, int fd, airlock_error **err);
void al_proxy_close_all(al_proxy *px, const char *reason);
/* proxy_dns.c: fd is a UDP socket (the sandbox's 127.0.0.1:53) or a unix
 * seqpacket listener (--isolation gvisor: its relay's queries, one per
 * message, answered in order, one byte when there is no answer) */
int al_proxy_dns_fd(al_proxy *px, int fd, airlock_error **err);
void al_proxy_dns_stop(al_proxy *px);
/* proxy_route.c */
int al_proxy_tls_init(al_proxy *px, airlock_error **err);
/* proxy_inspect.c: the CA and the server context, when some allow entry
 * inspects; then *pem is the CA certificate (malloc'd; NULL otherwise) */
int al_proxy_inspect_init(al_proxy *px, int64_t validity_s, char **pem, airlock_error **err);
void al_proxy_inspect_free(al_proxy *px);

#endif
