/* SPDX-License-Identifier: Apache-2.0 */
/* node_openclaw.h - what the two halves of the node's OpenClaw side share:
 * node_openclaw.c (the gateway connection: WebSocket, handshake, pairing,
 * reconnects) and node_openclaw_run.c (the invokes, in sandboxes). */
#ifndef AIRLOCK_NODE_OPENCLAW_H
#define AIRLOCK_NODE_OPENCLAW_H

#include "node.h"
#include "openclaw.h"

#include <wslay/wslay.h>

enum { OC_DOWN, OC_CONNECTING, OC_UPGRADING, OC_CHALLENGE, OC_HELLO, OC_READY };
enum { OC_CMD_PREPARE, OC_CMD_RUN, OC_CMD_WHICH, OC_CMD_OTHER, OC_N_CMDS };
enum { OC_OUT_OK, OC_OUT_ERROR, OC_OUT_DENIED, OC_OUT_TIMEOUT, OC_OUT_CANCELLED, OC_N_OUTS };

typedef struct oc_inv { /* a system.run between request and result */
  struct al_openclaw *oc;
  char *invoke_id;
  oc_run run;
  char exec_id[32]; /* the al_exec running it */
  struct event *ev_term, *ev_kill, *ev_fallback;
  bool timed_out, cancelled, started;
  char finished_req[48]; /* the exec.finished request whose answer the result waits for */
  json_t *result;        /* node.invoke.result params, once known */
  struct oc_inv *next;
} oc_inv;

typedef struct oc_session { /* a scope key's persistent sandbox */
  char *key;
  char sbox_id[32];
  struct oc_session *next;
} oc_session;

typedef struct al_openclaw {
  al_node *n;
  oc_identity id;
  char *host, *path;
  int port;
  bool tls;
  char *device_token, *bootstrap, *shared_token;
  const char *sent_auth; /* which credential the last connect used */
  char instance[40];
  int state;
  struct bufferevent *bev;
  struct evdns_base *dns;
  struct ssl_ctx_st *ssl;
  wslay_event_context_ptr ws;
  char ws_key[32];
  uint64_t next_req;
  char connect_req[48];
  struct event *ev_retry, *ev_watch;
  int64_t backoff_ms, last_rx_ms, connected_ms;
  int64_t attempt_ms; /* when the current connection attempt began (monotonic) */
  oc_inv *invs;
  oc_session *sessions;
  al_tenant *tenant;
  uint64_t invokes[OC_N_CMDS][OC_N_OUTS];
  uint64_t connects, disconnects, bad_frames, unknown_events;
  char last_error[256];
  int in_recv; /* inside wslay_event_recv: a drop waits until it returns */
  char drop_why[200];
  bool drop_pending;
} al_openclaw;

/* node_openclaw.c */
void oc_send_req(al_openclaw *oc, const char *method, json_t *params, char *id_out, size_t id_len); /* steals */
void oc_log(al_openclaw *oc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* node_openclaw_run.c */
void oc_handle_invoke(al_openclaw *oc, const json_t *payload);
void oc_handle_cancel(al_openclaw *oc, const json_t *payload);
/* the answer to one of our requests arrived (exec.finished's, for the result waiting on it) */
void oc_handle_res(al_openclaw *oc, const char *id);
/* the connection is gone: every running invoke is killed */
void oc_cancel_all(al_openclaw *oc);
void oc_runs_free(al_openclaw *oc);

#endif
