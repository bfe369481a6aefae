/* SPDX-License-Identifier: Apache-2.0 */
/* node_egress.c - the records of node sandboxes' egress proxies.  Each
 * sandbox in network mode "proxy" has its own proxy process (never a thread
 * of the node, which must stay single-threaded); the proxy writes one JSON
 * line per decision into a pipe, and the node turns each into an audit
 * record of kind "egress" with the sandbox's tenant, so that `airlock
 * audit` and GET /v1/audit show what left the machine next to what ran.
 * Without an audit trail the lines go to the node's stderr. */
#define _GNU_SOURCE
#include "node.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "error.h"
#include "cleanup.h"
#include "redact.h"

int al_node_egress_prepare(al_sbox *sb, int *write_end, airlock_error **err) {
  sb->egress_fd = -1;
  *write_end = -1;
  if (sb->spec.network != AIRLOCK_NETWORK_PROXY)
    return 0;
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return al_err(err, errno, "egress records pipe");
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  sb->egress_fd = p[0];
  *write_end = p[1];
  sb->spec.egress_log_fd = p[1];
  return 0;
}

static void record_line(al_node *n, al_sbox *sb, const char *line, size_t len) {
  json_auto_t *in = json_loadb(line, len, 0, NULL);
  if (json_is_object(in))
    al_node_metrics_egress(n, in);
  if (!al_recorder_audit_on(n)) {
    _cleanup_free_ char *text = strndup(line, len);
    _cleanup_free_ char *red = text ? al_redact_string(text) : NULL;
    al_logf(AL_LOG_INFO, "egress %s %s", sb->id, red ? red : AL_REDACTED);
    return;
  }
  if (!json_is_object(in))
    return; /* the proxy writes nothing else; a broken line is dropped */
  json_t *rec = al_node_audit_base("egress", sb->tenant, sb->id, NULL);
  const char *k;
  json_t *v;
  json_object_foreach(in, k, v) {
    if (strcmp(k, "time") == 0 || strcmp(k, "sandbox") == 0)
      continue; /* the trail stamps its own time; the node knows the sandbox */
    if (strcmp(k, "verdict") == 0)
      json_object_set(rec, "decision", v);
    else if (strcmp(k, "kind") == 0)
      json_object_set(rec, "request", v);
    else if (json_is_string(v)) {
      /* a host, a URL's parts, a reason: through redaction like any text */
      char *red = al_redact_string(json_string_value(v));
      json_object_set_new(rec, k, json_string(red ? red : AL_REDACTED));
      free(red);
    } else
      json_object_set(rec, k, v);
  }
  al_node_audit(n, rec);
}

/* Read what the pipe holds and record every complete line; returns at
 * EAGAIN (more later) or EOF (the proxy is gone). */
static void drain(al_node *n, al_sbox *sb) {
  int r;
  do {
    r = evbuffer_read(sb->egress_in, sb->egress_fd, 65536);
    size_t len;
    char *line;
    while ((line = evbuffer_readln(sb->egress_in, &len, EVBUFFER_EOL_LF)) != NULL) {
      record_line(n, sb, line, len);
      free(line);
    }
  } while (r > 0 || (r < 0 && errno == EINTR));
}

static void on_records(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  al_sbox *sb = arg;
  drain(sb->node, sb);
}

void al_node_egress_started(al_node *n, al_sbox *sb, int write_end) {
  if (write_end >= 0)
    close(write_end); /* only the proxy writes */
  sb->spec.egress_log_fd = -1;
  if (sb->egress_fd < 0)
    return;
  sb->egress_in = evbuffer_new();
  sb->ev_egress = event_new(n->base, sb->egress_fd, EV_READ | EV_PERSIST, on_records, sb);
  if (sb->ev_egress)
    event_add(sb->ev_egress, NULL);
}

void al_node_egress_finish(al_node *n, al_sbox *sb) {
  if (sb->egress_fd < 0)
    return;
  /* the proxy has been stopped with the sandbox: read its last records */
  if (sb->egress_in)
    drain(n, sb);
  if (sb->ev_egress)
    event_free(sb->ev_egress);
  if (sb->egress_in)
    evbuffer_free(sb->egress_in);
  close(sb->egress_fd);
  sb->egress_fd = -1;
  sb->ev_egress = NULL;
  sb->egress_in = NULL;
}
