/* SPDX-License-Identifier: Apache-2.0 */
/* network.h - the sandbox's network mode and the settings of its egress
 * proxy: what a config file and the flags say, the JSON the proxy gets, and
 * the report's "egress" object.  The runtime checks only the shape it
 * relies on (the mode, allow/deny as arrays of strings, known keys); the
 * proxy validates the rest and says so before the sandbox starts. */
#ifndef AIRLOCK_NETWORK_H
#define AIRLOCK_NETWORK_H

#include "airlock/airlock.h"

/* where the proxy is reached from inside a sandbox (sockets made by init in
 * the sandbox's network namespace, served from outside) */
#define AL_EGRESS_HOST "127.0.0.1"
#define AL_EGRESS_HTTP_PORT 3128
#define AL_EGRESS_DNS_PORT 53
#define AL_EGRESS_HTTP_ADDR AL_EGRESS_HOST ":3128"
#define AL_EGRESS_DNS_ADDR AL_EGRESS_HOST ":53"
#define AL_EGRESS_PROXY_URL "http://" AL_EGRESS_HTTP_ADDR
#define AL_EGRESS_NO_PROXY "localhost,127.0.0.1,::1"
/* inspected hosts: the proxy's CA certificate, alone and after the host's
 * trust store, inside the sandbox (on its root tmpfs, read-only) */
#define AL_EGRESS_CA_DIR "/run/airlock"
#define AL_EGRESS_CA_CERT AL_EGRESS_CA_DIR "/egress-ca.crt"
#define AL_EGRESS_CA_BUNDLE AL_EGRESS_CA_DIR "/ca-certificates.crt"
/* where Debian's (and curl's and OpenSSL's) default trust store is: the
 * bundle is mounted over it when the host has it */
#define AL_SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

struct json_t;

/* the config's top-level "network": "none", "proxy" or an object */
int al_network_load(airlock_spec *spec, const char *key, struct json_t *v, airlock_error **err);
/* OpenClaw's sandbox.networkMode: "none", or "bridge" (proxy mode allowing
 * every destination the proxy itself does not forbid) */
int al_network_load_openclaw(airlock_spec *spec, const char *key, struct json_t *v, airlock_error **err);
/* part of spec validation */
int al_network_check(const airlock_spec *spec, airlock_error **err);
/* proxy mode: the JSON text the proxy reads (mode, allow and deny always
 * present); malloc'd */
char *al_network_proxy_config(const airlock_spec *spec, airlock_error **err);
/* proxy mode: the report's "egress" object as JSON text; malloc'd, NULL when
 * out of memory */
char *al_network_report(const airlock_spec *spec);

/* proxy mode: the variables that point every common client at the proxy
 * ("HTTP_PROXY=...", NULL-terminated; a --env of the same name wins) */
#define AL_EGRESS_ENV_COUNT 8
extern const char *const al_egress_env[AL_EGRESS_ENV_COUNT + 1];
/* inspected hosts: the variables that point TLS clients at
 * AL_EGRESS_CA_BUNDLE (NODE_EXTRA_CA_CERTS at AL_EGRESS_CA_CERT);
 * NULL-terminated, a --env of the same name wins */
#define AL_EGRESS_CA_ENV_COUNT 8
extern const char *const al_egress_ca_env[AL_EGRESS_CA_ENV_COUNT + 1];
/* The host's trust store whole (the first of Debian's, Fedora's and the
 * BSDs' places that is a regular file), malloc'd; "" with *len 0 when
 * there is none; NULL with *err when it is over 8 MiB or unreadable. */
char *al_read_host_ca_bundle(size_t *len, airlock_error **err);

/* A unix listener of the given type at dir/name for the proxy, connectable
 * by any uid that reaches dir (mode 0666: the directory is what guards
 * it); what is for the error message's start.  The descriptor, or -1. */
int al_egress_unix_listener(const char *dir, const char *name, int type, const char *what, airlock_error **err);

#endif
