/* SPDX-License-Identifier: Apache-2.0 */
/* node_gate.c - every connection's request heads are judged here before
 * evhttp parses them, so that nobody without a token makes the node hold a
 * body, and the number of connections is bounded.
 *
 * evhttp (libevent 2.1) reads a request's whole body into memory before it
 * calls the node, and the only hook between head and body,
 * evhttp_request_set_header_cb(), is reachable in 2.1 for requests the node
 * makes, not for those it serves (evhttp_set_newreqcb() came with 2.2).  So
 * the gate watches the input buffer of each connection's bufferevent (an
 * evbuffer callback, which runs inside the read, before evhttp's read
 * callback) and keeps from evhttp what it may not have yet:
 *
 *   HEAD     new bytes are taken out (at most HEAD_MAX) until a whole request
 *            head has come; it is read (al_http_head_parse, node_request.c)
 *            and judged: a head that announces a body must carry a valid
 *            token (or a live web UI session, or be a small POST /ui/login).
 *            Then the head is put back for evhttp.
 *   BODY     the body goes to evhttp: exactly Content-Length bytes (more
 *            are taken out), or all of a chunked body.
 *   HELD     evhttp has the request.  What comes now is the next request's
 *            and stays unparsed until the answer has been sent; the read
 *            watermark then stops reading the socket.
 *   REFUSED  evhttp gets one made-up head instead, which the node answers
 *            with the refusal (401, 400, 413, 429) and "Connection: close";
 *            what the client sends after it is never parsed, and reading
 *            stops at the watermark.
 *
 * A client that sends more than it may is held by TCP flow control, not by
 * the node's memory.  Connections that have not yet shown a token are capped
 * (max_unauthenticated_connections), and so are all connections of one peer
 * (max_connections_per_peer: an IP address, or a uid on the unix socket).
 * evhttp still writes its answers itself, on its own bufferevent.  Since the
 * gate sees every request open and complete (or its connection die), it
 * also writes each request's log line (node_log.h). */
#define _GNU_SOURCE
#include "node.h"
#include "cleanup.h"
#include "clock.h"
#include "tokens.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define HEAD_MAX (32 * 1024)       /* evhttp's own limit is 8 KiB of request line and 8 KiB of headers */
#define READ_WATERMARK (64 * 1024) /* the most a connection holds unparsed outside a body */
#define LOGIN_BODY_MAX 4096        /* POST /ui/login: the only body taken without a token */
#define BIG_BODY (1 << 20)         /* after a body this large, give freed memory back to the system */

typedef enum { GATE_HEAD, GATE_BODY, GATE_HELD, GATE_REFUSED } gate_state;

typedef struct gate_conn {
  struct al_gate *g;
  struct bufferevent *bev;  /* evhttp's */
  char *buf;                /* taken from evhttp's input: a head, or what came after one */
  size_t len, cap, scanned; /* scanned: where the search for the head's end goes on */
  gate_state state;
  int64_t body_left;     /* GATE_BODY: Content-Length bytes still to come; -1 chunked */
  int64_t head_since_ms; /* GATE_HEAD: when the head's first byte came */
  bool admitted, counted, authenticated, big_body, busy;
  int64_t answered_ms;             /* GATE_REFUSED: when the refusal was sent (0: not yet) */
  struct evhttp_connection *evcon; /* GATE_REFUSED: to close once the refusal is out */
  int status;                      /* GATE_REFUSED: the answer, once evhttp hands the request to the node */
  const char *code;
  char msg[256];
  char peer[64];
  /* the request the node has now, for its log line when answered */
  bool req_open;
  int64_t req_start_ms;
  char method[16], path[96], tenant[65], exec_id[32], decision[20];
  struct event *ev_start;
  struct gate_conn *prev, *next;
} gate_conn;

struct al_gate {
  al_node *n;
  gate_conn *conns;
  int64_t unauthenticated; /* admitted connections that have shown no token yet */
  struct event *ev_trim;
  struct event *ev_reap;  /* lets go of connections evhttp has freed, closes refused ones */
  struct event *ev_close; /* the same, now */
  bool stopped;           /* the event loop is going away: no new timers */
};

static const char synth_head[] = "GET /refused HTTP/1.1\r\n\r\n";

static struct al_gate *gate_of(al_node *n) {
  if (!n->gate && (n->gate = calloc(1, sizeof(*n->gate))))
    n->gate->n = n;
  return n->gate;
}

static void on_trim(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what, (void)arg;
  malloc_trim(0);
}

/* glibc keeps freed heap pages: give them back once a large body is gone */
static void trim_soon(struct al_gate *g) {
  if (g->stopped)
    return;
  if (!g->ev_trim)
    g->ev_trim = evtimer_new(g->n->base, on_trim, g);
  if (g->ev_trim && !evtimer_pending(g->ev_trim, NULL)) {
    struct timeval tv = {0, 100 * 1000};
    evtimer_add(g->ev_trim, &tv);
  }
}

/* how much evhttp's input may hold: a body needs all of it (evhttp moves a
 * Content-Length body only once it is complete), anything else little */
static void set_watermark(gate_conn *c) {
  bufferevent_setwatermark(c->bev, EV_READ, 0, c->state == GATE_BODY ? 0 : READ_WATERMARK);
}

static void set_state(gate_conn *c, gate_state st) {
  c->state = st;
  set_watermark(c);
}

/* evhttp gets a made-up head (in) that the node answers with this */
static void refuse(gate_conn *c, struct evbuffer *in, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void refuse(gate_conn *c, struct evbuffer *in, int status, const char *code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
  va_end(ap);
  c->status = status;
  c->code = code;
  c->len = c->scanned = 0;
  set_state(c, GATE_REFUSED);
  evbuffer_prepend(in, synth_head, sizeof(synth_head) - 1);
}

static void set_authenticated(gate_conn *c) {
  if (c->authenticated)
    return;
  c->authenticated = true;
  if (c->counted)
    c->g->unauthenticated--;
}

/* who is at the other end: an IP address, or a uid on a unix socket */
static void peer_of(gate_conn *c) {
  int fd = bufferevent_getfd(c->bev);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  snprintf(c->peer, sizeof(c->peer), "unknown");
  if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
    return;
  if (ss.ss_family == AF_UNIX) {
    struct ucred cred;
    socklen_t cl = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
      snprintf(c->peer, sizeof(c->peer), "uid %u", (unsigned)cred.uid);
    return;
  }
  sl = sizeof(ss);
  char text[INET6_ADDRSTRLEN] = "";
  if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
    return;
  if (ss.ss_family == AF_INET)
    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, text, sizeof(text));
  else if (ss.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, text, sizeof(text));
  if (text[0])
    snprintf(c->peer, sizeof(c->peer), "%s", text);
}

static bool gone(const gate_conn *c);
static void reap(struct al_gate *g, const gate_conn *keep);

/* the caps, once per connection: at its first byte or just after accept */
static void admit(gate_conn *c, struct evbuffer *in) {
  if (c->admitted)
    return;
  c->admitted = true;
  if (c->ev_start) {
    event_free(c->ev_start);
    c->ev_start = NULL;
  }
  if (gone(c))
    return; /* evhttp let go of it before it was admitted (a failed TLS handshake) */
  struct al_gate *g = c->g;
  const al_node_config *cfg = g->n->cfg;
  reap(g, c); /* count only connections that are still there */
  peer_of(c);
  int64_t same = 0;
  for (gate_conn *o = g->conns; o; o = o->next)
    if (o != c && o->counted && strcmp(o->peer, c->peer) == 0)
      same++;
  if (g->unauthenticated >= cfg->max_unauthenticated_connections) {
    refuse(c, in, 429, "over_capacity",
           "the node holds %lld connections that have not shown a token "
           "(max_unauthenticated_connections); retry later",
           (long long)cfg->max_unauthenticated_connections);
  } else if (same >= cfg->max_connections_per_peer) {
    refuse(c, in, 429, "over_capacity",
           "the node holds %lld connections from %s (max_connections_per_peer); "
           "retry later",
           (long long)same, c->peer);
  } else {
    c->counted = true;
    g->unauthenticated++;
  }
}

/* 1: the head carries a valid token or a live web UI session; 0: not;
 * -1: the token store failed */
static int credentials(gate_conn *c, const al_http_head *h) {
  al_node *n = c->g->n;
  if (h->authorization) {
    if (h->authorization_len <= 7 || h->authorization_len >= 512 || strncmp(h->authorization, "Bearer ", 7) != 0)
      return 0;
    char tok[512];
    memcpy(tok, h->authorization + 7, h->authorization_len - 7);
    tok[h->authorization_len - 7] = '\0';
    al_token_info who;
    int ok = al_token_verify(n->tokens, tok, &who);
    explicit_bzero(tok, sizeof(tok));
    return ok;
  }
  if (h->n_cookies == 0)
    return 0;
  struct evkeyvalq headers;
  TAILQ_INIT(&headers);
  for (size_t i = 0; i < h->n_cookies; i++) {
    char *v = strndup(h->cookies[i].value, h->cookies[i].len);
    if (v)
      evhttp_add_header(&headers, "Cookie", v);
    free(v);
  }
  bool live = al_node_ui_session_live(n, &headers);
  evhttp_clear_headers(&headers);
  return live ? 1 : 0;
}

static int reserve(gate_conn *c, size_t want) {
  if (c->cap >= want)
    return 0;
  size_t cap = c->cap ? c->cap : 4096;
  while (cap < want)
    cap *= 2;
  char *grown = realloc(c->buf, cap);
  if (!grown)
    return -1;
  c->buf = grown;
  c->cap = cap;
  return 0;
}

/* take up to max bytes from the front of in, after what is kept already */
static void take_in(gate_conn *c, struct evbuffer *in, size_t max) {
  size_t k = evbuffer_get_length(in);
  if (k > max)
    k = max;
  if (k == 0 || reserve(c, c->len + k) < 0)
    return;
  int got = evbuffer_remove(in, c->buf + c->len, k);
  if (got > 0)
    c->len += (size_t)got;
}

/* hand the first k kept bytes to evhttp, in front of what its input holds */
static void give(gate_conn *c, struct evbuffer *in, size_t k) {
  evbuffer_prepend(in, c->buf, k);
  memmove(c->buf, c->buf + k, c->len - k);
  c->len -= k;
  c->scanned = 0;
}

/* GATE_BODY: n bytes were added to in; take back what lies past the body */
static void body_came(gate_conn *c, struct evbuffer *in, size_t n) {
  if (c->body_left < 0)
    return; /* chunked: evhttp finds the end; the node's callback takes back the rest */
  if ((int64_t)n <= c->body_left) {
    c->body_left -= (int64_t)n;
  } else {
    size_t excess = n - (size_t)c->body_left;
    struct evbuffer *keep = evbuffer_new();
    if (keep) {
      evbuffer_remove_buffer(in, keep, evbuffer_get_length(in) - excess); /* moves chains, no copy */
      take_in(c, in, excess);
      evbuffer_drain(in, evbuffer_get_length(in)); /* nothing, unless out of memory */
      evbuffer_prepend_buffer(in, keep);
      evbuffer_free(keep);
    }
    c->body_left = 0;
  }
  if (c->body_left == 0)
    set_state(c, GATE_HELD);
}

/* GATE_HEAD: take what came, and once a whole head is here judge it */
static void head(gate_conn *c, struct evbuffer *in) {
  const al_node_config *cfg = c->g->n->cfg;
  if (c->len == 0 && evbuffer_get_length(in) > 0)
    c->head_since_ms = al_monotonic_ms();
  take_in(c, in, c->len < HEAD_MAX ? HEAD_MAX - c->len : 0);
  /* only parse once the empty line has come: a head trickled in byte by
   * byte costs one parse, not one per byte */
  size_t from = c->scanned > 3 ? c->scanned - 3 : 0;
  bool ended = false;
  for (size_t i = from; i + 1 < c->len && !ended; i++)
    ended = c->buf[i] == '\n' &&
            (c->buf[i + 1] == '\n' || (c->buf[i + 1] == '\r' && i + 2 < c->len && c->buf[i + 2] == '\n'));
  c->scanned = c->len;
  if (!ended) {
    if (c->len > AL_NODE_MAX_HEAD_BYTES)
      refuse(c, in, 431, "headers_too_large", "the request head is larger than %d bytes", AL_NODE_MAX_HEAD_BYTES);
    else if (c->len > 0 && al_monotonic_ms() - c->head_since_ms > cfg->io_timeout_s * 1000)
      refuse(c, in, 400, "bad_request", "the request head took longer than io_timeout_s (%llds) to arrive",
             (long long)cfg->io_timeout_s);
    return;
  }
  al_http_head h;
  const char *why;
  int r = al_http_head_parse(c->buf, c->len, &h, &why);
  if (r > 0) { /* for the log line of a refusal, which evhttp sees as a made-up head */
    snprintf(c->method, sizeof(c->method), "%s", h.method);
    snprintf(c->path, sizeof(c->path), "%s", h.path);
  }
  if (r <= 0) {
    refuse(c, in, 400, "bad_request", "bad request head: %s", r < 0 ? why : "no end");
    return;
  }
  /* what evhttp would answer with its own HTML page is answered here, in
   * JSON: another method (HEAD, OPTIONS, PATCH, ...), a head above its
   * limit, a declared body above max_body_bytes (below, once the sender is
   * known) */
  if (strcmp(h.method, "GET") != 0 && strcmp(h.method, "POST") != 0 && strcmp(h.method, "PUT") != 0 &&
      strcmp(h.method, "DELETE") != 0) {
    refuse(c, in, 405, "method_not_allowed", "the node answers GET, POST, PUT and DELETE, not %s", h.method);
    return;
  }
  if (h.len > AL_NODE_MAX_HEAD_BYTES) {
    refuse(c, in, 431, "headers_too_large", "the request line and headers are %zu bytes, at most %d", h.len,
           AL_NODE_MAX_HEAD_BYTES);
    return;
  }
  bool body = h.content_length > 0 || h.transfer_encoding;
  if (body) {
    int cred = credentials(c, &h);
    bool login = strcmp(h.method, "POST") == 0 && !h.path_truncated && strcmp(h.path, "/ui/login") == 0;
    if (cred < 0) {
      refuse(c, in, 500, "internal", "token store unavailable");
      return;
    }
    if (cred == 0 && !login) {
      refuse(c, in, 401, "unauthorized",
             "a request with a body needs 'Authorization: Bearer <node token>' (or a "
             "web UI session): the node reads no body before it knows who sends it");
      return;
    }
    if (cred == 0 && (h.transfer_encoding || h.content_length > LOGIN_BODY_MAX)) {
      refuse(c, in, 413, "too_large", "a login body is at most %d bytes, with a Content-Length", LOGIN_BODY_MAX);
      return;
    }
    if (cred == 1)
      set_authenticated(c);
    if (h.content_length > cfg->max_body_bytes) {
      refuse(c, in, 413, "too_large", "the body is %lld bytes; max_body_bytes is %lld", (long long)h.content_length,
             (long long)cfg->max_body_bytes);
      return;
    }
  }
  /* the head, and of what came after it as much as belongs to the body */
  size_t k = h.len;
  if (h.transfer_encoding) {
    k = c->len;
  } else if (body) {
    size_t rest = c->len - h.len;
    k += rest < (size_t)h.content_length ? rest : (size_t)h.content_length;
  }
  c->body_left = h.transfer_encoding ? -1 : body ? h.content_length - (int64_t)(k - h.len) : 0;
  size_t after = evbuffer_get_length(in); /* not taken: it came after what is kept */
  give(c, in, k);
  set_state(c, c->body_left != 0 ? GATE_BODY : GATE_HELD);
  if (after == 0 || c->body_left < 0)
    return;
  if (c->body_left > 0) {
    body_came(c, in, after); /* as if it came now */
  } else {
    /* the body ended within what was kept: what is in evhttp's input after
     * the request goes behind the rest of the next one */
    struct evbuffer *keep = evbuffer_new();
    if (keep) {
      evbuffer_remove_buffer(in, keep, k);
      take_in(c, in, after);
      evbuffer_drain(in, evbuffer_get_length(in)); /* nothing, unless out of memory */
      evbuffer_prepend_buffer(in, keep);
      evbuffer_free(keep);
    }
  }
}

/* an evbuffer callback on evhttp's input: runs inside each read, before
 * evhttp's read callback looks at the input */
static void on_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg) {
  gate_conn *c = arg;
  if (c->busy || info->n_added == 0)
    return;      /* our own changes, and evhttp's draining */
  if (gone(c)) { /* evhttp is done with it; the reaper closes it */
    evbuffer_drain(in, evbuffer_get_length(in));
    bufferevent_disable(c->bev, EV_READ);
    return;
  }
  c->busy = true;
  admit(c, in);
  if (c->state == GATE_HEAD) {
    head(c, in);
  } else if (c->state == GATE_BODY) {
    body_came(c, in, info->n_added);
  } else if (c->state == GATE_REFUSED && c->answered_ms) {
    /* evhttp waits for a next request that will not come: read no more */
    evbuffer_drain(in, evbuffer_get_length(in));
    bufferevent_disable(c->bev, EV_READ);
  }
  /* GATE_HELD, and GATE_REFUSED before its answer: it stays, unparsed, up
   * to the watermark */
  c->busy = false;
}

static void on_start(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  gate_conn *c = arg;
  if (c->admitted)
    return;
  struct evbuffer *in = bufferevent_get_input(c->bev);
  c->busy = true;
  admit(c, in);
  c->busy = false;
  if (c->state == GATE_REFUSED)
    bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
}

/* evhttp frees a connection's bufferevent without telling anyone but a
 * close callback the node's handlers use themselves; the gate holds a
 * reference on it instead, and sees it gone when evhttp has cleared its
 * callbacks (bufferevent_free does, and nothing else clears all of them on
 * a served connection).  Its socket is closed when the gate lets go. */
static bool gone(const gate_conn *c) {
  bufferevent_data_cb r, w;
  bufferevent_event_cb e;
  void *arg;
  bufferevent_getcb(c->bev, &r, &w, &e, &arg);
  return !r && !w && !e && !arg;
}

/* one line per request (node_log.h): ids, status and time, never a body,
 * a query string or a header.  status 0: the client left before its
 * answer.  Scrapes and health checks that succeed are debug lines. */
static void log_request(gate_conn *c, int status) {
  if (!c->req_open)
    return;
  c->req_open = false;
  bool routine = status == 200 && (strcmp(c->path, "/metrics") == 0 || strcmp(c->path, "/v1/health") == 0);
  al_log_fields(routine ? AL_LOG_DEBUG : AL_LOG_INFO, "request", AL_LOG_STR("method", c->method),
                AL_LOG_STR("path", c->path), AL_LOG_INT("status", status),
                AL_LOG_INT("duration_ms", al_monotonic_ms() - c->req_start_ms), AL_LOG_STR("tenant", c->tenant),
                AL_LOG_STR("exec", c->exec_id), AL_LOG_STR("decision", c->decision), AL_LOG_STR("peer", c->peer),
                AL_LOG_STR("error", status ? NULL : "client went away"));
  c->method[0] = c->path[0] = '\0';
}

static void request_opened(gate_conn *c, struct evhttp_request *req) {
  static const struct {
    enum evhttp_cmd_type cmd;
    const char *name;
  } methods[] = {{EVHTTP_REQ_GET, "GET"}, {EVHTTP_REQ_POST, "POST"}, {EVHTTP_REQ_PUT, "PUT"},
                 {EVHTTP_REQ_DELETE, "DELETE"}, {EVHTTP_REQ_HEAD, "HEAD"}};
  log_request(c, 0); /* one still open was never answered */
  c->req_open = true;
  c->req_start_ms = al_monotonic_ms();
  c->tenant[0] = c->exec_id[0] = c->decision[0] = '\0';
  if (c->state == GATE_REFUSED)
    return; /* what the client sent is in method and path, if its head could be read */
  snprintf(c->method, sizeof(c->method), "OTHER");
  for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
    if (evhttp_request_get_command(req) == methods[i].cmd)
      snprintf(c->method, sizeof(c->method), "%s", methods[i].name);
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
  const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
  snprintf(c->path, sizeof(c->path), "%s", path ? path : "");
}

static void conn_free(gate_conn *c) {
  log_request(c, 0);
  struct al_gate *g = c->g;
  if (c->prev)
    c->prev->next = c->next;
  else
    g->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  if (c->counted && !c->authenticated)
    g->unauthenticated--;
  if (c->big_body)
    trim_soon(g);
  if (c->ev_start)
    event_free(c->ev_start);
  evbuffer_remove_cb(bufferevent_get_input(c->bev), on_input, c);
  bufferevent_disable(c->bev, EV_READ | EV_WRITE);
  bufferevent_decref(c->bev); /* the last reference: the socket closes */
  free(c->buf);
  free(c);
}

/* nothing of the refusal is left to write, in any layer (under TLS the
 * socket's bufferevent is below the one evhttp writes to) */
static bool flushed(const gate_conn *c) {
  for (struct bufferevent *b = c->bev; b; b = bufferevent_get_underlying(b))
    if (evbuffer_get_length(bufferevent_get_output(b)) > 0)
      return false;
  return true;
}

/* keep: the connection the caller is working on, freed by a later pass */
static void reap(struct al_gate *g, const gate_conn *keep) {
  int64_t now = al_monotonic_ms();
  for (gate_conn *c = g->conns, *next; c; c = next) {
    next = c->next;
    if (c == keep)
      continue;
    if (gone(c)) {
      conn_free(c);
    } else if (c->state == GATE_REFUSED && c->answered_ms && c->evcon &&
               (flushed(c) || now - c->answered_ms > g->n->cfg->io_timeout_s * 1000)) {
      /* the refusal is out (or the client does not read it): close; the
       * next pass lets go of the bufferevent */
      struct evhttp_connection *ec = c->evcon;
      c->evcon = NULL;
      evhttp_connection_free(ec);
    }
  }
}

static void on_reap(evutil_socket_t fd, short what, void *arg) {
  (void)fd, (void)what;
  reap(arg, NULL);
}

/* a refusal has been answered: evhttp reads no next request from this
 * connection, and it is closed as soon as the answer has left */
static void on_refused_answered(struct evhttp_request *req, void *arg) {
  gate_conn *c = arg;
  log_request(c, evhttp_request_get_response_code(req));
  c->answered_ms = al_monotonic_ms();
  evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
  if (c->g->ev_close)
    event_active(c->g->ev_close, EV_TIMEOUT, 0); /* not from inside evhttp's callback */
}

struct bufferevent *al_node_gate_attach(al_node *n, struct bufferevent *bev) {
  struct al_gate *g = gate_of(n);
  gate_conn *c = g ? calloc(1, sizeof(*c)) : NULL;
  if (g && !g->ev_reap && (g->ev_reap = event_new(n->base, -1, EV_PERSIST, on_reap, g))) {
    struct timeval tv = {0, 250 * 1000};
    event_add(g->ev_reap, &tv);
  }
  if (g && !g->ev_close)
    g->ev_close = event_new(n->base, -1, 0, on_reap, g);
  if (!c || !g->ev_reap || !g->ev_close) {
    free(c);
    bufferevent_free(bev);
    return NULL;
  }
  reap(g, NULL);
  c->g = g;
  c->bev = bev;
  c->state = GATE_HEAD;
  set_watermark(c);
  for (struct bufferevent *u = bufferevent_get_underlying(bev); u; u = bufferevent_get_underlying(u))
    bufferevent_setwatermark(u, EV_READ, 0, READ_WATERMARK); /* the socket under TLS */
  bufferevent_incref(bev);
  c->next = g->conns;
  if (g->conns)
    g->conns->prev = c;
  g->conns = c;
  evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
  /* the caps are applied at the first byte, or here, just after evhttp has
   * given the connection its socket, for one that sends nothing */
  c->ev_start = evtimer_new(n->base, on_start, c);
  struct timeval now = {0, 0};
  if (c->ev_start)
    evtimer_add(c->ev_start, &now);
  return bev;
}

static gate_conn *conn_of(al_node *n, struct evhttp_request *req) {
  struct evhttp_connection *ec = req ? evhttp_request_get_connection(req) : NULL;
  struct bufferevent *bev = ec ? evhttp_connection_get_bufferevent(ec) : NULL;
  for (gate_conn *c = n->gate ? n->gate->conns : NULL; bev && c; c = c->next)
    if (c->bev == bev)
      return c;
  return NULL;
}

/* the answer has been sent: the next head may come */
static void on_complete(struct evhttp_request *req, void *arg) {
  gate_conn *c = arg;
  log_request(c, evhttp_request_get_response_code(req));
  if (c->big_body) {
    c->big_body = false;
    trim_soon(c->g);
  }
  if (c->state != GATE_HELD)
    return;
  /* what came meanwhile is the next head: it goes through the gate like
   * any other (evhttp waits for the next request right after this) */
  struct evbuffer *in = bufferevent_get_input(c->bev);
  c->busy = true;
  set_state(c, GATE_HEAD);
  c->head_since_ms = al_monotonic_ms();
  take_in(c, in, evbuffer_get_length(in));
  head(c, in);
  c->busy = false;
  /* under TLS, what the socket holds comes up once this callback is over */
  for (struct bufferevent *u = bufferevent_get_underlying(c->bev); u; u = bufferevent_get_underlying(u))
    bufferevent_trigger(u, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

int al_node_gate_request(al_node *n, struct evhttp_request *req) {
  gate_conn *c = conn_of(n, req);
  if (!c)
    return 0;
  request_opened(c, req);
  if (c->state == GATE_REFUSED) {
    /* no "Connection: close": evhttp would close before a TLS answer has
     * left the socket's bufferevent; the gate closes it itself */
    c->evcon = evhttp_request_get_connection(req);
    evhttp_request_set_on_complete_cb(req, on_refused_answered, c);
    al_node_reply_error(n, req, c->status ? c->status : 400, c->code ? c->code : "bad_request", "%s", c->msg);
    return -1;
  }
  /* evhttp took what it needed: anything after it is the next request's */
  struct evbuffer *in = bufferevent_get_input(c->bev);
  size_t left = evbuffer_get_length(in);
  if (left > 0 && reserve(c, c->len + left) == 0) {
    memmove(c->buf + left, c->buf, c->len);
    evbuffer_remove(in, c->buf, left);
    c->len += left;
    c->scanned = 0;
  }
  set_state(c, GATE_HELD);
  /* no more reading until the answer starts: evhttp's read callback must
   * not run while the node works on a request (evhttp enables reading again
   * when it writes the answer, with no read callback) */
  bufferevent_disable(c->bev, EV_READ);
  c->big_body = evbuffer_get_length(evhttp_request_get_input_buffer(req)) >= BIG_BODY;
  evhttp_request_set_on_complete_cb(req, on_complete, c);
  return 0;
}

void al_node_gate_authenticated(al_node *n, struct evhttp_request *req, const char *tenant) {
  gate_conn *c = conn_of(n, req);
  if (!c)
    return;
  set_authenticated(c);
  snprintf(c->tenant, sizeof(c->tenant), "%s", tenant);
}

void al_node_gate_note_exec(al_node *n, struct evhttp_request *req, const char *exec_id, const char *decision) {
  gate_conn *c = conn_of(n, req);
  if (!c)
    return;
  snprintf(c->exec_id, sizeof(c->exec_id), "%s", exec_id ? exec_id : "");
  snprintf(c->decision, sizeof(c->decision), "%s", decision ? decision : "");
}

int64_t al_node_gate_unauthenticated(const al_node *n) { return n->gate ? n->gate->unauthenticated : 0; }

void al_node_gate_stop(al_node *n) {
  struct al_gate *g = n->gate;
  if (!g)
    return;
  g->stopped = true;
  /* evhttp has freed its connections (al_node_http_stop): let them go */
  while (g->conns)
    conn_free(g->conns);
  if (g->ev_trim)
    event_free(g->ev_trim);
  if (g->ev_reap)
    event_free(g->ev_reap);
  if (g->ev_close)
    event_free(g->ev_close);
  g->ev_trim = g->ev_reap = g->ev_close = NULL;
}

void al_node_gate_free(al_node *n) {
  free(n->gate);
  n->gate = NULL;
}
