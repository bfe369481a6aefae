/* SPDX-License-Identifier: Apache-2.0 */
/* node_openclaw.c - the node's connection to an OpenClaw gateway: one
 * WebSocket (wslay for the framing, a libevent bufferevent for the socket,
 * OpenSSL for wss://) in the node's own event loop, no threads.  It answers
 * connect.challenge with the device identity, pairs through a setup code and
 * keeps the device token it gets, reconnects with backoff (1 s to 30 s),
 * drops a silent connection, and hands invokes to node_openclaw_run.c.  The
 * HTTP upgrade is written here: wslay does frames only. */
#define _GNU_SOURCE
#include "node_openclaw.h"
#include "clock.h"
#include "cleanup.h"
#include "error.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define SILENCE_MS 75000 /* two ticks (30 s) and a margin: the gateway is gone */
#define UPGRADE_MS 20000 /* TCP (and TLS) connect and the HTTP upgrade */

static const char *const state_names[] = {"disconnected", "connecting", "upgrading", "challenge", "hello", "connected"};

void oc_log(al_openclaw *oc, const char *fmt, ...) {
  (void)oc;
  va_list ap;
  va_start(ap, fmt);
  char *msg = NULL;
  int r = vasprintf(&msg, fmt, ap);
  va_end(ap);
  al_logf(AL_LOG_INFO, "openclaw: %s", r < 0 ? fmt : msg);
  if (r >= 0)
    free(msg);
}

static void connect_now(al_openclaw *oc);

static void drop(al_openclaw *oc, const char *why) {
  if (oc->state == OC_DOWN)
    return;
  if (oc->in_recv) { /* wslay is on the stack: tear down after it returns */
    if (!oc->drop_pending)
      snprintf(oc->drop_why, sizeof(oc->drop_why), "%s", why ? why : "");
    oc->drop_pending = true;
    return;
  }
  if (why) {
    snprintf(oc->last_error, sizeof(oc->last_error), "%s", why);
    oc_log(oc, "disconnected: %s", why);
  }
  if (oc->state == OC_READY)
    oc->disconnects++;
  oc->state = OC_DOWN;
  oc_cancel_all(oc); /* runs do not outlive their connection */
  if (oc->ws) {
    wslay_event_context_free(oc->ws);
    oc->ws = NULL;
  }
  if (oc->bev) {
    bufferevent_free(oc->bev);
    oc->bev = NULL;
  }
  if (oc->n->stopping)
    return;
  struct timeval tv = {oc->backoff_ms / 1000, (oc->backoff_ms % 1000) * 1000};
  evtimer_add(oc->ev_retry, &tv);
  oc->backoff_ms = oc->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : oc->backoff_ms * 2;
}

static void flush_ws(al_openclaw *oc) {
  if (!oc->ws)
    return;
  if (wslay_event_want_write(oc->ws) && wslay_event_send(oc->ws) < 0) {
    drop(oc, "write failed");
    return;
  }
  if (!wslay_event_want_read(oc->ws) && !wslay_event_want_write(oc->ws)) {
    char why[96];
    if (wslay_event_get_close_received(oc->ws))
      snprintf(why, sizeof(why), "closed by the gateway (code %u)", wslay_event_get_status_code_received(oc->ws));
    else /* wslay failed the connection: bad UTF-8 (1007), a message over OC_MAX_FRAME (1009), bad framing (1002) */
      snprintf(why, sizeof(why), "closed by the node: the gateway broke the WebSocket protocol (code %u)",
               wslay_event_get_status_code_sent(oc->ws));
    drop(oc, why);
  }
}

static void send_text(al_openclaw *oc, const char *text) {
  if (!oc->ws || !text)
    return;
  struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)text, strlen(text)};
  wslay_event_queue_msg(oc->ws, &msg);
  if (!oc->in_recv) /* inside a receive, on_read sends once wslay returns */
    flush_ws(oc);
}

void oc_send_req(al_openclaw *oc, const char *method, json_t *params, char *id_out, size_t id_len) {
  char id[48];
  snprintf(id, sizeof(id), "al%llu:%s", (unsigned long long)++oc->next_req, oc->instance);
  if (id_out)
    snprintf(id_out, id_len, "%s", id);
  _cleanup_free_ char *text = oc_req_text(id, method, params);
  send_text(oc, text);
}

static void send_connect(al_openclaw *oc, const char *nonce, int64_t ts) {
  const char *token = oc->device_token ? oc->device_token : oc->bootstrap ? oc->bootstrap : oc->shared_token;
  oc_auth_kind kind = !oc->device_token && oc->bootstrap ? OC_AUTH_BOOTSTRAP : OC_AUTH_TOKEN;
  oc->sent_auth = oc->device_token   ? "device token"
                  : oc->bootstrap    ? "setup code"
                  : oc->shared_token ? "shared token"
                                     : "none";
  char host[256] = "airlock";
  gethostname(host, sizeof(host) - 1);
  const char *name = oc->n->cfg->openclaw_name ? oc->n->cfg->openclaw_name : host;
  json_t *params = oc_connect_params(&oc->id, name, oc->instance, kind, token, nonce, ts);
  if (!params) {
    drop(oc, "cannot build the connect request");
    return;
  }
  oc->state = OC_HELLO;
  oc_send_req(oc, "connect", params, oc->connect_req, sizeof(oc->connect_req));
}

static void hello(al_openclaw *oc, const oc_frame *f) {
  if (!f->ok) {
    const char *code = json_string_value(json_object_get(f->payload, "code"));
    const char *msg = json_string_value(json_object_get(f->payload, "message"));
    char why[256];
    snprintf(why, sizeof(why), "connect refused (%s): %s: %s", oc->sent_auth, code ? code : "?", msg ? msg : "");
    drop(oc, why);
    return;
  }
  const char *token = json_string_value(json_object_get(json_object_get(f->payload, "auth"), "deviceToken"));
  if (token && *token && (!oc->device_token || strcmp(token, oc->device_token) != 0)) {
    _cleanup_error_ airlock_error *err = NULL;
    if (oc_token_save(oc->n->cfg->state_dir, token, &err) < 0)
      oc_log(oc, "cannot keep the device token: %s", err->msg);
    free(oc->device_token);
    oc->device_token = strdup(token);
  }
  if (oc->bootstrap && oc->device_token) { /* a setup code is single use */
    sodium_memzero(oc->bootstrap, strlen(oc->bootstrap));
    free(oc->bootstrap);
    oc->bootstrap = NULL;
  }
  oc->state = OC_READY;
  oc->connects++;
  oc->connected_ms = al_wall_ms();
  oc->backoff_ms = BACKOFF_MIN_MS;
  oc->last_error[0] = '\0';
  oc_log(oc, "connected to %s:%d as device %.12s (%s)", oc->host, oc->port, oc->id.id, oc->sent_auth);
}

static void on_frame(al_openclaw *oc, const char *text, size_t len) {
  oc_frame f;
  _cleanup_error_ airlock_error *err = NULL;
  if (oc_frame_parse(text, len, &f, &err) < 0) {
    oc->bad_frames++;
    oc_log(oc, "bad frame from the gateway: %s", err->msg);
    return;
  }
  if (f.type == OC_FRAME_EVENT) {
    if (strcmp(f.name, "connect.challenge") == 0 && oc->state == OC_CHALLENGE) {
      const char *nonce;
      int64_t ts;
      if (oc_challenge_parse(f.payload, &nonce, &ts, &err) < 0) {
        oc->bad_frames++;
        drop(oc, err->msg);
      } else {
        send_connect(oc, nonce, ts);
      }
    } else if (oc->state != OC_READY) {
      /* nothing but the handshake before hello */
    } else if (strcmp(f.name, "node.invoke.request") == 0) {
      oc_handle_invoke(oc, f.payload);
    } else if (strcmp(f.name, "node.invoke.cancel") == 0) {
      oc_handle_cancel(oc, f.payload);
    } else if (strcmp(f.name, "node.pair.resolved") == 0) {
      const char *d = json_string_value(json_object_get(f.payload, "decision"));
      oc_log(oc, "pairing resolved: %s", d ? d : "?");
    } else if (strcmp(f.name, "shutdown") == 0) {
      /* its close follows with 1012 (service restart), a code wslay 1.1 takes
       * for a protocol error: leave first, and say why */
      drop(oc, "the gateway is shutting down; reconnecting when it is back");
    } else if (strcmp(f.name, "tick") != 0 && strcmp(f.name, "heartbeat") != 0 &&
               strcmp(f.name, "connect.challenge") != 0) {
      /* the gateway broadcasts events nodes have no use for (voicewake.*, presence):
       * counted; logged the first times and then at powers of two, not on every one */
      uint64_t k = ++oc->unknown_events;
      if (k <= 8 || (k & (k - 1)) == 0)
        oc_log(oc, "event '%.64s' ignored (%llu so far)", f.name, (unsigned long long)k);
    }
  } else if (f.type == OC_FRAME_RES) {
    if (oc->state == OC_HELLO && strcmp(f.id, oc->connect_req) == 0)
      hello(oc, &f);
    else
      oc_handle_res(oc, f.id);
  } else if (f.type == OC_FRAME_REQ) {
    /* the gateway asks nodes nothing: say so rather than leave it waiting */
    json_t *o = json_pack("{s:s,s:s,s:b,s:{s:s,s:s}}", "type", "res", "id", f.id, "ok", 0, "error", "code",
                          "INVALID_REQUEST", "message", "this node serves no requests");
    _cleanup_free_ char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (o)
      json_decref(o);
    send_text(oc, t);
  }
  oc_frame_clear(&f);
}

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *arg) {
  (void)flags;
  al_openclaw *oc = arg;
  int n = evbuffer_remove(bufferevent_get_input(oc->bev), buf, len);
  if (n <= 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  return n;
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *arg) {
  (void)flags;
  al_openclaw *oc = arg;
  if (evbuffer_add(bufferevent_get_output(oc->bev), data, len) < 0) {
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
  }
  return (ssize_t)len;
}

static int ws_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *arg) {
  (void)ctx, (void)arg;
  randombytes_buf(buf, len);
  return 0;
}

static void ws_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *m, void *arg) {
  (void)ctx;
  al_openclaw *oc = arg;
  oc->last_rx_ms = al_monotonic_ms();
  if (m->opcode == WSLAY_TEXT_FRAME) {
    on_frame(oc, (const char *)m->msg, m->msg_length);
  } else if (m->opcode == WSLAY_BINARY_FRAME) { /* the protocol is JSON text frames only */
    oc->bad_frames++;
    oc_log(oc, "bad frame from the gateway: a binary frame of %zu bytes, ignored", m->msg_length);
  }
}

/* the upgrade's answer: 101 with the accept key of our key */
static int upgrade_done(al_openclaw *oc) {
  struct evbuffer *in = bufferevent_get_input(oc->bev);
  struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
  if (end.pos < 0)
    return evbuffer_get_length(in) > 16384 ? -1 : 0;
  size_t hl = (size_t)end.pos + 4;
  _cleanup_free_ char *head = malloc(hl + 1);
  if (!head)
    return -1;
  evbuffer_remove(in, head, hl);
  head[hl] = '\0';
  if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
    snprintf(oc->last_error, sizeof(oc->last_error), "upgrade refused: %.*s", (int)strcspn(head, "\r\n"), head);
    return -1;
  }
  char want[64], cat[128];
  unsigned char sha[20];
  snprintf(cat, sizeof(cat), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", oc->ws_key);
  unsigned int shalen = 0;
  EVP_Digest(cat, strlen(cat), sha, &shalen, EVP_sha1(), NULL);
  sodium_bin2base64(want, sizeof(want), sha, sizeof(sha), sodium_base64_VARIANT_ORIGINAL);
  bool ok = false;
  for (char *line = strstr(head, "\r\n"); line && line[2]; line = strstr(line + 2, "\r\n")) {
    const char *l = line + 2;
    if (strncasecmp(l, "Sec-WebSocket-Accept:", 21) == 0) {
      l += 21;
      while (*l == ' ')
        l++;
      ok = strncmp(l, want, strlen(want)) == 0;
    }
  }
  if (!ok)
    snprintf(oc->last_error, sizeof(oc->last_error), "bad Sec-WebSocket-Accept");
  return ok ? 1 : -1;
}

static void on_read(struct bufferevent *bev, void *arg) {
  (void)bev;
  al_openclaw *oc = arg;
  if (oc->state == OC_UPGRADING) {
    int r = upgrade_done(oc);
    if (r < 0) {
      drop(oc, oc->last_error[0] ? oc->last_error : "bad upgrade answer");
      return;
    }
    if (r == 0)
      return;
    struct wslay_event_callbacks cb = {ws_recv, ws_send, ws_genmask, NULL, NULL, NULL, ws_msg};
    if (wslay_event_context_client_init(&oc->ws, &cb, oc) != 0) {
      drop(oc, "out of memory");
      return;
    }
    wslay_event_config_set_max_recv_msg_length(oc->ws, OC_MAX_FRAME);
    oc->state = OC_CHALLENGE;
    oc->last_rx_ms = al_monotonic_ms();
  }
  if (!oc->ws)
    return;
  oc->in_recv++;
  int r = wslay_event_recv(oc->ws);
  oc->in_recv--;
  if (oc->drop_pending) {
    oc->drop_pending = false;
    drop(oc, oc->drop_why);
    return;
  }
  if (r < 0) {
    drop(oc, "protocol error on the WebSocket");
    return;
  }
  flush_ws(oc);
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
  (void)bev;
  al_openclaw *oc = arg;
  if (what & BEV_EVENT_CONNECTED) {
    unsigned char k[16];
    randombytes_buf(k, sizeof(k));
    sodium_bin2base64(oc->ws_key, sizeof(oc->ws_key), k, sizeof(k), sodium_base64_VARIANT_ORIGINAL);
    bool v6 = strchr(oc->host, ':') != NULL;
    evbuffer_add_printf(bufferevent_get_output(oc->bev),
                        "GET %s HTTP/1.1\r\nHost: %s%s%s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nUser-Agent: airlock/%s\r\n\r\n",
                        oc->path, v6 ? "[" : "", oc->host, v6 ? "]" : "", oc->port, oc->ws_key, AIRLOCK_VERSION);
    oc->state = OC_UPGRADING;
    return;
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
    char why[300];
    int e = EVUTIL_SOCKET_ERROR();
    snprintf(why, sizeof(why), "%s%s%s", what & BEV_EVENT_EOF ? "connection closed" : "connection failed",
             (what & BEV_EVENT_ERROR) && e ? ": " : "", (what & BEV_EVENT_ERROR) && e ? strerror(e) : "");
    /* TLS: say why the handshake failed, the certificate check above all */
    SSL *ssl = oc->tls && oc->bev ? bufferevent_openssl_get_ssl(oc->bev) : NULL;
    unsigned long tls_err = oc->bev && oc->tls ? bufferevent_get_openssl_error(oc->bev) : 0;
    long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    size_t used = strlen(why);
    if (verify != X509_V_OK)
      snprintf(why + used, sizeof(why) - used, ": TLS certificate of the gateway not accepted: %s",
               X509_verify_cert_error_string(verify));
    else if (tls_err)
      snprintf(why + used, sizeof(why) - used, ": TLS: %s", ERR_reason_error_string(tls_err));
    drop(oc, why);
  }
}

static void connect_now(al_openclaw *oc) {
  if (oc->n->stopping || oc->state != OC_DOWN)
    return;
  if (oc->tls) {
    SSL *ssl = SSL_new(oc->ssl);
    if (!ssl) {
      oc->state = OC_CONNECTING;
      drop(oc, "TLS setup failed");
      return;
    }
    SSL_set_tlsext_host_name(ssl, oc->host);
    SSL_set1_host(ssl, oc->host);
    oc->bev = bufferevent_openssl_socket_new(oc->n->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  } else {
    oc->bev = bufferevent_socket_new(oc->n->base, -1, BEV_OPT_CLOSE_ON_FREE);
  }
  oc->state = OC_CONNECTING; /* from here on every failure goes through drop() and its retry */
  oc->attempt_ms = al_monotonic_ms();
  if (!oc->bev) {
    drop(oc, "cannot create the connection");
    return;
  }
  bufferevent_setcb(oc->bev, on_read, NULL, on_event, oc);
  bufferevent_enable(oc->bev, EV_READ | EV_WRITE);
  struct timeval tv = {15, 0};
  bufferevent_set_timeouts(oc->bev, NULL, &tv);
  if (bufferevent_socket_connect_hostname(oc->bev, oc->dns, AF_UNSPEC, oc->host, oc->port) < 0)
    drop(oc, "cannot start connecting");
}

static void on_retry(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  connect_now(arg);
}

static void on_watch(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  al_openclaw *oc = arg;
  int64_t now = al_monotonic_ms();
  if (oc->state >= OC_CHALLENGE && now - oc->last_rx_ms > SILENCE_MS)
    drop(oc, "nothing heard from the gateway for 75 s");
  /* measured from this attempt's start: the last frame heard may be from a
   * connection long gone, and every attempt after a long outage would be cut
   * at the first tick */
  else if (oc->state != OC_DOWN && oc->state < OC_CHALLENGE && now - oc->attempt_ms > UPGRADE_MS)
    drop(oc, "the gateway did not complete the WebSocket upgrade in 20 s");
  else if (oc->state == OC_DOWN && !oc->n->stopping && !evtimer_pending(oc->ev_retry, NULL))
    connect_now(oc); /* never left down with no retry on the way */
}

/* ws[s]://HOST[:PORT][/PATH] */
static int parse_url(al_openclaw *oc, const char *url, airlock_error **err) {
  const char *rest;
  if (strncmp(url, "ws://", 5) == 0) {
    rest = url + 5;
  } else if (strncmp(url, "wss://", 6) == 0) {
    rest = url + 6;
    oc->tls = true;
  } else {
    return al_err(err, 0, "openclaw gateway '%s' must start with ws:// or wss://", url);
  }
  size_t hl;
  const char *after;
  if (*rest == '[') {
    hl = strcspn(rest + 1, "]");
    if (rest[1 + hl] != ']')
      return al_err(err, 0, "openclaw gateway '%s': bad IPv6 address", url);
    oc->host = strndup(rest + 1, hl);
    after = rest + hl + 2;
  } else {
    hl = strcspn(rest, ":/");
    oc->host = strndup(rest, hl);
    after = rest + hl;
  }
  oc->port = oc->tls ? 443 : 18789;
  if (*after == ':') {
    char *end;
    long p = strtol(after + 1, &end, 10);
    if (p <= 0 || p > 65535 || (*end && *end != '/'))
      return al_err(err, 0, "openclaw gateway '%s': bad port", url);
    oc->port = (int)p;
    after = end;
  }
  oc->path = strdup(*after == '/' ? after : "/");
  if (!oc->host || !*oc->host || !oc->path || strpbrk(oc->path, " \r\n"))
    return al_err(err, 0, "openclaw gateway '%s': bad host or path", url);
  return 0;
}

static void oc_free(al_openclaw *oc) {
  oc_runs_free(oc);
  if (oc->ws)
    wslay_event_context_free(oc->ws);
  if (oc->bev)
    bufferevent_free(oc->bev);
  if (oc->ev_retry)
    event_free(oc->ev_retry);
  if (oc->ev_watch)
    event_free(oc->ev_watch);
  if (oc->dns)
    evdns_base_free(oc->dns, 0);
  if (oc->ssl)
    SSL_CTX_free(oc->ssl);
  char *secrets[] = {oc->device_token, oc->bootstrap, oc->shared_token};
  for (size_t i = 0; i < AL_ARRAY_SIZE(secrets); i++)
    if (secrets[i]) {
      sodium_memzero(secrets[i], strlen(secrets[i]));
      free(secrets[i]);
    }
  free(oc->host);
  free(oc->path);
  sodium_memzero(&oc->id, sizeof(oc->id));
  free(oc);
}

int al_node_openclaw_start(al_node *n, airlock_error **err) {
  al_node_config *c = n->cfg;
  if (!c->openclaw_gateway)
    return 0;
  al_openclaw *oc = calloc(1, sizeof(*oc));
  if (!oc)
    return al_err(err, ENOMEM, "openclaw");
  oc->n = n;
  oc->backoff_ms = BACKOFF_MIN_MS;
  if (parse_url(oc, c->openclaw_gateway, err) < 0 || oc_identity_load(c->state_dir, &oc->id, err) < 0 ||
      oc_token_load(c->state_dir, &oc->device_token, err) < 0) {
    oc_free(oc);
    return al_err_prefix(err, "openclaw");
  }
  if (c->openclaw_setup_code && !oc->device_token) {
    _cleanup_free_ char *url = NULL;
    int64_t expires;
    if (oc_setup_code_decode(c->openclaw_setup_code, &url, &oc->bootstrap, &expires, err) < 0) {
      oc_free(oc);
      return al_err_prefix(err, "--openclaw-setup-code");
    }
  }
  if (c->openclaw_token)
    oc->shared_token = strdup(c->openclaw_token);
  if (!oc->device_token && !oc->bootstrap && !oc->shared_token) {
    oc_free(oc);
    return al_err(err, 0, "openclaw: not paired yet: give --openclaw-setup-code or --openclaw-token");
  }
  unsigned char r[16];
  randombytes_buf(r, sizeof(r));
  sodium_bin2hex(oc->instance, sizeof(oc->instance), r, 8);
  /* a tenant no API token can name ('@' is not allowed in token names): its
   * sandboxes are invisible to the HTTP API's tenants */
  static const al_node_limits defaults;
  oc->tenant = al_node_tenant(n, "@openclaw", &defaults);
  oc->dns = evdns_base_new(n->base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
  if (oc->tls) {
    const char *ca = c->openclaw_ca;
    oc->ssl = SSL_CTX_new(TLS_client_method());
    if (!oc->ssl ||
        (ca ? SSL_CTX_load_verify_locations(oc->ssl, ca, NULL) : SSL_CTX_set_default_verify_paths(oc->ssl)) != 1) {
      oc_free(oc);
      return ca ? al_err(err, 0, "openclaw: cannot read the CA certificates in '%s'", ca)
                : al_err(err, 0, "openclaw: cannot set up TLS");
    }
    SSL_CTX_set_verify(oc->ssl, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_min_proto_version(oc->ssl, TLS1_2_VERSION);
  }
  oc->ev_retry = evtimer_new(n->base, on_retry, oc);
  oc->ev_watch = event_new(n->base, -1, EV_PERSIST, on_watch, oc);
  struct timeval five = {5, 0};
  event_add(oc->ev_watch, &five);
  n->openclaw = oc;
  oc->last_rx_ms = al_monotonic_ms();
  connect_now(oc);
  al_logf(AL_LOG_INFO, "openclaw: device %s, gateway %s", oc->id.id, c->openclaw_gateway);
  return 0;
}

void al_node_openclaw_stop(al_node *n) {
  al_openclaw *oc = n->openclaw;
  if (!oc)
    return;
  if (oc->ws && oc->state != OC_DOWN) {
    wslay_event_queue_close(oc->ws, WSLAY_CODE_GOING_AWAY, NULL, 0);
    wslay_event_send(oc->ws);
  }
  oc->state = oc->state == OC_DOWN ? OC_DOWN : OC_CONNECTING; /* no reconnect from drop() */
  n->openclaw = NULL;
  oc_cancel_all(oc);
  oc_free(oc);
}

void al_node_openclaw_metrics(al_node *n, struct evbuffer *b) {
  al_openclaw *oc = n->openclaw;
  static const char *const cmds[] = {"system.run.prepare", "system.run", "system.which", "other"};
  static const char *const outs[] = {"ok", "error", "denied", "timeout", "cancelled"};
  /* the connection's gauges and counters are there without a gateway too
   * (zeros), so that dashboards and alerts need no second case */
  evbuffer_add_printf(
      b,
      "# HELP airlock_openclaw_configured Whether the node is configured to serve an OpenClaw gateway.\n"
      "# TYPE airlock_openclaw_configured gauge\nairlock_openclaw_configured %d\n"
      "# HELP airlock_openclaw_connected Whether the OpenClaw gateway connection is up.\n"
      "# TYPE airlock_openclaw_connected gauge\nairlock_openclaw_connected %d\n"
      "# HELP airlock_openclaw_connects_total Completed handshakes with the gateway.\n"
      "# TYPE airlock_openclaw_connects_total counter\nairlock_openclaw_connects_total %llu\n"
      "# HELP airlock_openclaw_disconnects_total Connections lost after a handshake.\n"
      "# TYPE airlock_openclaw_disconnects_total counter\nairlock_openclaw_disconnects_total %llu\n"
      "# HELP airlock_openclaw_bad_frames_total Frames from the gateway that did not parse.\n"
      "# TYPE airlock_openclaw_bad_frames_total counter\nairlock_openclaw_bad_frames_total %llu\n"
      "# HELP airlock_openclaw_unknown_events_total Gateway events the node does not handle.\n"
      "# TYPE airlock_openclaw_unknown_events_total counter\nairlock_openclaw_unknown_events_total %llu\n",
      oc != NULL, oc && oc->state == OC_READY, oc ? (unsigned long long)oc->connects : 0ULL,
      oc ? (unsigned long long)oc->disconnects : 0ULL, oc ? (unsigned long long)oc->bad_frames : 0ULL,
      oc ? (unsigned long long)oc->unknown_events : 0ULL);
  if (!oc)
    return;
  evbuffer_add_printf(b, "# HELP airlock_openclaw_invocations_total OpenClaw invokes, by command and outcome.\n"
                         "# TYPE airlock_openclaw_invocations_total counter\n");
  for (int c = 0; c < OC_N_CMDS; c++)
    for (int o = 0; o < OC_N_OUTS; o++)
      evbuffer_add_printf(b, "airlock_openclaw_invocations_total{command=\"%s\",outcome=\"%s\"} %llu\n", cmds[c],
                          outs[o], (unsigned long long)oc->invokes[c][o]);
}

json_t *al_node_openclaw_health(al_node *n) {
  al_openclaw *oc = n->openclaw;
  if (!oc)
    return NULL;
  uint64_t total = 0;
  for (int c = 0; c < OC_N_CMDS; c++)
    for (int o = 0; o < OC_N_OUTS; o++)
      total += oc->invokes[c][o];
  int64_t running = 0, sessions = 0;
  for (oc_inv *i = oc->invs; i; i = i->next)
    running++;
  for (oc_session *s = oc->sessions; s; s = s->next)
    sessions++;
  json_t *h = json_pack("{s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:I}", "state", state_names[oc->state], "device_id", oc->id.id,
                        "gateway", n->cfg->openclaw_gateway, "paired", oc->device_token != NULL, "invocations",
                        (json_int_t)total, "running", (json_int_t)running, "sessions", (json_int_t)sessions,
                        "reconnects", (json_int_t)oc->disconnects);
  if (h && oc->last_error[0])
    json_object_set_new(h, "last_error", json_string(oc->last_error));
  return h;
}
