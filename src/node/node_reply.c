/* SPDX-License-Identifier: Apache-2.0 */
/* node_reply.c - what every request handler shares: JSON and error replies
 * with the security headers, the count of refused requests, a request's body
 * and the tenant a token names.  A leaf: it calls no other node file, so the
 * handlers can use it without depending on the router that calls them. */
#define _GNU_SOURCE
#include "node.h"
#include "cleanup.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const int al_node_rejected_codes[AL_NODE_REJECTED_CODES] = {400, 401, 403, 404, 405, 413, 429, 431, 500};

/* The same policy for every reply, the UI's files included: nothing but our
 * own files may load, nothing may frame us, and nothing is cached (a
 * logged-out browser must not show approvals from its cache). */
static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                          "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

void al_node_security_headers(struct evhttp_request *req) {
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  evhttp_add_header(h, "Content-Security-Policy", csp);
  evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
  evhttp_add_header(h, "X-Frame-Options", "DENY");
  evhttp_add_header(h, "Referrer-Policy", "no-referrer");
  evhttp_add_header(h, "Cache-Control", "no-store");
}

void al_node_metrics_rejected(al_node *n, int status) {
  for (size_t i = 0; i < AL_ARRAY_SIZE(al_node_rejected_codes); i++)
    if (al_node_rejected_codes[i] == status)
      n->metrics.rejected[i]++;
}

void al_node_reply_json(struct evhttp_request *req, int status, json_t *body) {
  char *text = json_dumps(body, JSON_COMPACT);
  struct evbuffer *buf = evbuffer_new();
  if (text) {
    evbuffer_add(buf, text, strlen(text));
    evbuffer_add(buf, "\n", 1);
  }
  struct evkeyvalq *h = evhttp_request_get_output_headers(req);
  evhttp_add_header(h, "Content-Type", "application/json");
  al_node_security_headers(req);
  evhttp_send_reply(req, status, NULL, buf);
  evbuffer_free(buf);
  free(text);
  json_decref(body);
}

void al_node_reply_error(al_node *n, struct evhttp_request *req, int status, const char *code, const char *fmt, ...) {
  if (!req) /* an exec without an HTTP request reports through its own channel */
    return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  al_node_metrics_rejected(n, status);
  if (status == 429)
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
  al_node_reply_json(req, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

const char *al_node_body(struct evhttp_request *req, size_t *len) {
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  *len = evbuffer_get_length(in);
  return *len ? (const char *)evbuffer_pullup(in, -1) : "";
}

al_tenant *al_node_tenant(al_node *n, const char *name, const al_node_limits *token) {
  al_tenant *t;
  for (t = n->tenants; t; t = t->next)
    if (strcmp(t->name, name) == 0)
      break;
  if (!t) {
    t = calloc(1, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->next = n->tenants;
    n->tenants = t;
  }
  /* the token's own limits win; the node's per-tenant defaults fill gaps */
  const al_node_limits *d = &n->cfg->tenant_max;
  t->max.max_concurrent_execs = token->max_concurrent_execs ? token->max_concurrent_execs : d->max_concurrent_execs;
  t->max.max_memory_bytes = token->max_memory_bytes ? token->max_memory_bytes : d->max_memory_bytes;
  t->max.max_cpus = token->max_cpus > 0 ? token->max_cpus : d->max_cpus;
  t->max.max_timeout_ms = token->max_timeout_ms ? token->max_timeout_ms : d->max_timeout_ms;
  t->max.max_disk_bytes = d->max_disk_bytes; /* no token field: the node's per-tenant maxima */
  t->max.max_snapshots = d->max_snapshots;
  t->max.max_snapshot_bytes = d->max_snapshot_bytes;
  t->max.max_snapshot_files = d->max_snapshot_files;
  return t;
}

void al_node_request_abandon(struct evhttp_request *req) {
  if (req && !evhttp_request_get_connection(req))
    evhttp_request_free(req);
}
