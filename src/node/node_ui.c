/* SPDX-License-Identifier: Apache-2.0 */
/* node_ui.c - the server side of the web UI: the embedded files under /ui/,
 * browser sessions, and GET /v1/whoami.
 *
 * A browser must not hold a node token in script-readable storage, so a
 * person pastes the token once into POST /ui/login and gets a session
 * cookie (HttpOnly, SameSite=Strict) instead.  authenticate() in
 * node_http.c accepts that cookie for every /v1 route through
 * al_node_ui_authenticate(); since a browser sends cookies by itself,
 * every cookie-authenticated request other than GET must also carry the
 * session's CSRF token (X-CSRF-Token) and, if it has an Origin, our own.
 *
 * Sessions live only in this process's memory (a restart logs everyone
 * out) and keep the SHA-256 of their token, never the token: each request
 * re-checks that hash against the token store, so `airlock token revoke`
 * ends a token's sessions at its next request, exactly as it ends bearer
 * use of the token. */
#define _GNU_SOURCE
#include "node.h"
#include "clock.h"
#include "tokens.h"
#include "web_assets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>

#define COOKIE_NAME "airlock_session"
#define SECRET_BYTES 32
#define SECRET_LEN 43 /* base64url of 32 bytes, unpadded */
#define MAX_SESSIONS 1024
#define SESSION_MAX_MS (12LL * 3600 * 1000)
#define SESSION_IDLE_MS (30LL * 60 * 1000)
#define RATE_SLOTS 256
#define RATE_WINDOW_MS (60LL * 1000)
#define RATE_MAX_FAILURES 10
#define LOGIN_BODY_MAX 4096

typedef struct ui_session {
  bool used;
  char id[SECRET_LEN + 1];
  char csrf[SECRET_LEN + 1];
  char token_hash[AL_TOKEN_HASH_HEX_LEN + 1];
  char tenant[AL_TOKEN_NAME_MAX + 1];
  int64_t created_ms, last_used_ms; /* monotonic */
} ui_session;

/* failed logins of one peer address in the current one-minute window */
typedef struct ui_rate {
  char peer[INET6_ADDRSTRLEN + 8];
  int64_t window_ms;
  int failures;
} ui_rate;

struct al_ui {
  ui_session sessions[MAX_SESSIONS];
  ui_rate rate[RATE_SLOTS];
};

void al_node_ui_free(al_node *n) {
  if (!n->ui)
    return;
  explicit_bzero(n->ui, sizeof(*n->ui));
  free(n->ui);
  n->ui = NULL;
}

static struct al_ui *ui_of(al_node *n) {
  if (!n->ui)
    n->ui = calloc(1, sizeof(*n->ui));
  return n->ui;
}

static void drop(ui_session *s) { explicit_bzero(s, sizeof(*s)); }

static bool expired(const ui_session *s, int64_t now) {
  return now - s->created_ms >= SESSION_MAX_MS || now - s->last_used_ms >= SESSION_IDLE_MS;
}

static int random_secret(char out[SECRET_LEN + 1]) {
  static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char raw[SECRET_BYTES + 1] = {0}; /* one spare zero byte: whole 3-byte groups */
  size_t got = 0;
  while (got < SECRET_BYTES) {
    ssize_t r = getrandom(raw + got, SECRET_BYTES - got, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return -1;
    got += (size_t)r;
  }
  size_t o = 0;
  for (size_t i = 0; i < SECRET_BYTES; i += 3) {
    uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | (i + 2 < sizeof(raw) ? raw[i + 2] : 0);
    for (int k = 18; k >= 0 && o < SECRET_LEN; k -= 6)
      out[o++] = b64url[v >> k & 63];
  }
  out[SECRET_LEN] = '\0';
  explicit_bzero(raw, sizeof(raw));
  return 0;
}

static const char *header(struct evhttp_request *req, const char *name) {
  return evhttp_find_header(evhttp_request_get_input_headers(req), name);
}

/* TLS listeners hand evhttp an OpenSSL filter bufferevent (node_http.c) */
static bool is_tls(struct evhttp_request *req) {
  struct evhttp_connection *c = evhttp_request_get_connection(req);
  struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) : NULL;
  return bev && bufferevent_openssl_get_ssl(bev) != NULL;
}

/* An Origin, when the browser sends one, must be this very node as the
 * browser reached it: scheme of the listener, and the Host it asked for. */
static bool origin_ok(struct evhttp_request *req) {
  const char *origin = header(req, "Origin");
  if (!origin)
    return true;
  const char *host = header(req, "Host");
  const char *scheme = is_tls(req) ? "https://" : "http://";
  size_t sl = strlen(scheme);
  return host && *host && strncasecmp(origin, scheme, sl) == 0 && strcasecmp(origin + sl, host) == 0;
}

/* The live session named by an airlock_session value of the request's
 * Cookie headers, or NULL.  More than one value can arrive (another site
 * on the same host name may have set one too): the first live one counts. */
static ui_session *find_session_in(al_node *n, struct evkeyvalq *headers, int64_t now) {
  if (!n->ui)
    return NULL;
  struct evkeyval *kv;
  for (kv = headers->tqh_first; kv; kv = kv->next.tqe_next) {
    if (strcasecmp(kv->key, "Cookie") != 0)
      continue;
    const char *cur = kv->value, *val;
    size_t vlen;
    while ((val = al_cookie_next(&cur, COOKIE_NAME, &vlen))) {
      if (vlen != SECRET_LEN)
        continue;
      /* every slot compared in constant time: the scan's timing says
       * nothing about which ids exist */
      ui_session *hit = NULL;
      for (size_t i = 0; i < MAX_SESSIONS; i++) {
        ui_session *s = &n->ui->sessions[i];
        if (s->used && CRYPTO_memcmp(s->id, val, SECRET_LEN) == 0)
          hit = s;
      }
      if (hit && expired(hit, now))
        drop(hit);
      else if (hit)
        return hit;
    }
  }
  return NULL;
}

static ui_session *find_session(al_node *n, struct evhttp_request *req, int64_t now) {
  return find_session_in(n, evhttp_request_get_input_headers(req), now);
}

bool al_node_ui_session_live(al_node *n, struct evkeyvalq *headers) {
  return find_session_in(n, headers, al_monotonic_ms()) != NULL;
}

bool al_node_ui_has_session_cookie(struct evhttp_request *req) {
  struct evkeyval *kv;
  for (kv = evhttp_request_get_input_headers(req)->tqh_first; kv; kv = kv->next.tqe_next) {
    const char *cur = kv->value;
    size_t vlen;
    if (strcasecmp(kv->key, "Cookie") == 0 && al_cookie_next(&cur, COOKIE_NAME, &vlen))
      return true;
  }
  return false;
}

static void set_cookie(struct evhttp_request *req, const char *value) {
  char c[160];
  snprintf(c, sizeof(c), COOKIE_NAME "=%s; HttpOnly; SameSite=Strict; Path=/%s%s", value, *value ? "" : "; Max-Age=0",
           is_tls(req) ? "; Secure" : "");
  evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie", c);
}

/* the write checks of a cookie-authenticated request: true when it passes */
static bool csrf_ok(struct evhttp_request *req, const ui_session *s) {
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  if (m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD)
    return true;
  const char *t = header(req, "X-CSRF-Token");
  return t && strlen(t) == SECRET_LEN && CRYPTO_memcmp(t, s->csrf, SECRET_LEN) == 0 && origin_ok(req);
}

al_tenant *al_node_ui_authenticate(al_node *n, struct evhttp_request *req) {
  int64_t now = al_monotonic_ms();
  ui_session *s = find_session(n, req, now);
  if (!s) {
    set_cookie(req, "");
    al_node_reply_error(n, req, 401, "unauthorized", "session expired or unknown; log in again");
    return NULL;
  }
  if (!csrf_ok(req, s)) {
    al_node_reply_error(n, req, 403, "csrf",
                        "a request with a session cookie needs the session's X-CSRF-Token header and, if it sends "
                        "an Origin, this node's");
    return NULL;
  }
  al_token_info who;
  int ok = al_token_verify_hash(n->tokens, s->token_hash, &who);
  if (ok < 0) {
    al_node_reply_error(n, req, 500, "internal", "token store unavailable");
    return NULL;
  }
  if (ok == 0) {
    drop(s); /* revoked: the session ends with its token */
    set_cookie(req, "");
    al_node_reply_error(n, req, 401, "unauthorized", "unknown or revoked token");
    return NULL;
  }
  s->last_used_ms = now;
  al_node_limits lim = {.max_concurrent_execs = who.limits.max_concurrent_execs,
                        .max_memory_bytes = who.limits.max_memory_bytes,
                        .max_cpus = who.limits.max_cpus,
                        .max_timeout_ms = who.limits.max_timeout_ms};
  return al_node_tenant(n, who.name, &lim);
}

void al_node_handle_whoami(al_node *n, al_tenant *t, struct evhttp_request *req) {
  json_t *body = json_pack("{s:s,s:b}", "tenant", t->name, "approver", al_node_is_approver(n, t->name));
  /* A page reloaded in a browser still has its cookie but has lost the CSRF
   * token it kept in memory; only same-origin script can read this answer
   * (the node sends no CORS headers), so it may have it back. */
  if (!header(req, "Authorization")) {
    ui_session *s = find_session(n, req, al_monotonic_ms());
    if (s)
      json_object_set_new(body, "csrf", json_string(s->csrf));
  }
  al_node_reply_json(req, 200, body);
}

/* --- login rate limit ------------------------------------------------------ */

static void peer_of(struct evhttp_request *req, char *out, size_t len) {
  struct evhttp_connection *c = evhttp_request_get_connection(req);
  const struct sockaddr *sa = c ? evhttp_connection_get_addr(c) : NULL;
  char text[INET6_ADDRSTRLEN] = "";
  if (sa && sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, text, sizeof(text));
  else if (sa && sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, text, sizeof(text));
  /* every local (unix socket) client shares one budget */
  snprintf(out, len, "%s", text[0] ? text : "local");
}

/* the peer's slot, or NULL; with make, a new one (reusing the stalest) */
static ui_rate *rate_slot(struct al_ui *ui, const char *peer, int64_t now, bool make) {
  ui_rate *stalest = NULL;
  for (size_t i = 0; i < RATE_SLOTS; i++) {
    ui_rate *r = &ui->rate[i];
    if (r->peer[0] && strcmp(r->peer, peer) == 0) {
      if (now - r->window_ms >= RATE_WINDOW_MS) {
        r->window_ms = now;
        r->failures = 0;
      }
      return r;
    }
    if (!stalest || !r->peer[0] || (stalest->peer[0] && r->window_ms < stalest->window_ms))
      stalest = r;
  }
  if (!make)
    return NULL;
  snprintf(stalest->peer, sizeof(stalest->peer), "%s", peer);
  stalest->window_ms = now;
  stalest->failures = 0;
  return stalest;
}

/* --- login, logout ------------------------------------------------------- */

static ui_session *new_session(struct al_ui *ui, int64_t now) {
  ui_session *free_slot = NULL, *lru = NULL;
  for (size_t i = 0; i < MAX_SESSIONS; i++) {
    ui_session *s = &ui->sessions[i];
    if (s->used && expired(s, now))
      drop(s);
    if (!s->used && !free_slot)
      free_slot = s;
    if (s->used && (!lru || s->last_used_ms < lru->last_used_ms))
      lru = s;
  }
  /* full: the session idle longest goes (it is at most 30 minutes from
   * ending anyway) rather than refusing every new login */
  ui_session *s = free_slot ? free_slot : lru;
  drop(s);
  return s;
}

static void handle_login(al_node *n, struct evhttp_request *req) {
  if (!origin_ok(req)) {
    al_node_reply_error(n, req, 403, "csrf", "the request's Origin is not this node");
    return;
  }
  /* a JSON content type cannot be sent cross-site without a CORS preflight,
   * which the node never grants: no login from a form on another site */
  const char *ct = header(req, "Content-Type");
  if (!ct || strncasecmp(ct, "application/json", 16) != 0 || (ct[16] != '\0' && ct[16] != ';')) {
    al_node_reply_error(n, req, 400, "bad_request", "use Content-Type: application/json");
    return;
  }
  struct al_ui *ui = ui_of(n);
  if (!ui) {
    al_node_reply_error(n, req, 500, "internal", "out of memory");
    return;
  }
  int64_t now = al_monotonic_ms();
  char peer[sizeof(ui->rate[0].peer)];
  peer_of(req, peer, sizeof(peer));
  ui_rate *r = rate_slot(ui, peer, now, false);
  if (r && r->failures >= RATE_MAX_FAILURES) {
    char after[32];
    snprintf(after, sizeof(after), "%lld", (long long)((r->window_ms + RATE_WINDOW_MS - now + 999) / 1000));
    al_node_metrics_rejected(n, 429);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", after);
    al_node_reply_json(req, 429,
                       json_pack("{s:{s:s,s:s}}", "error", "code", "over_capacity", "message",
                                 "too many failed logins from this address; retry later"));
    return;
  }
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t len = evbuffer_get_length(in);
  json_t *root = NULL, *tok = NULL;
  if (len <= LOGIN_BODY_MAX) {
    root = json_loadb(len ? (const char *)evbuffer_pullup(in, -1) : "", len, JSON_REJECT_DUPLICATES, NULL);
    tok = json_is_object(root) && json_object_size(root) == 1 ? json_object_get(root, "token") : NULL;
  }
  if (!json_is_string(tok)) {
    json_decref(root);
    al_node_reply_error(n, req, 400, "bad_request", "body must be {\"token\": \"node_tok_...\"}");
    return;
  }
  char hash[AL_TOKEN_HASH_HEX_LEN + 1];
  al_token_info who;
  int ok = al_token_hash(n->tokens, json_string_value(tok), hash);
  if (ok == 1)
    ok = al_token_verify_hash(n->tokens, hash, &who);
  json_decref(root);
  if (ok < 0) {
    al_node_reply_error(n, req, 500, "internal", "token store unavailable");
    return;
  }
  if (ok == 0) {
    r = rate_slot(ui, peer, now, true);
    r->failures++;
    al_node_reply_error(n, req, 401, "unauthorized", "unknown or revoked token");
    return;
  }
  ui_session *s = new_session(ui, now);
  if (random_secret(s->id) < 0 || random_secret(s->csrf) < 0) {
    drop(s);
    al_node_reply_error(n, req, 500, "internal", "no random bytes for a session");
    return;
  }
  s->used = true;
  memcpy(s->token_hash, hash, sizeof(hash));
  snprintf(s->tenant, sizeof(s->tenant), "%s", who.name);
  s->created_ms = s->last_used_ms = now;
  set_cookie(req, s->id);
  al_node_reply_json(req, 200, json_pack("{s:s,s:s}", "tenant", s->tenant, "csrf", s->csrf));
}

static void handle_logout(al_node *n, struct evhttp_request *req) {
  ui_session *s = find_session(n, req, al_monotonic_ms());
  if (s && !csrf_ok(req, s)) {
    al_node_reply_error(n, req, 403, "csrf", "logout needs the session's X-CSRF-Token header");
    return;
  }
  if (s)
    drop(s);
  set_cookie(req, "");
  al_node_security_headers(req);
  evhttp_send_reply(req, 204, "No Content", NULL);
}

/* --- static files ---------------------------------------------------------- */

static void redirect(struct evhttp_request *req, const char *to) {
  al_node_security_headers(req);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; charset=utf-8");
  evhttp_add_header(evhttp_request_get_output_headers(req), "Location", to);
  evhttp_send_reply(req, 302, "Found", NULL);
}

static void serve(struct evhttp_request *req, const al_web_asset *a) {
  struct evbuffer *buf = evbuffer_new();
  if (!buf) {
    evhttp_send_error(req, 500, NULL);
    return;
  }
  evbuffer_add_reference(buf, a->data, a->len, NULL, NULL); /* static: no copy */
  al_node_security_headers(req);
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", a->content_type);
  evhttp_send_reply(req, 200, "OK", buf);
  evbuffer_free(buf);
}

void al_node_ui_handle(al_node *n, struct evhttp_request *req, const char *path) {
  if (!n->cfg->ui_enabled) {
    al_node_reply_error(n, req, 404, "not_found", "no such route");
    return;
  }
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  bool get = m == EVHTTP_REQ_GET;
  if (strcmp(path, "/ui/login") == 0 || strcmp(path, "/ui/logout") == 0) {
    if (m != EVHTTP_REQ_POST)
      al_node_reply_error(n, req, 405, "method_not_allowed", "use POST");
    else
      strcmp(path, "/ui/login") == 0 ? handle_login(n, req) : handle_logout(n, req);
    return;
  }
  const char *name = strcmp(path, "/") == 0 || strcmp(path, "/ui") == 0 ? NULL
                     : strcmp(path, "/ui/") == 0                        ? "index.html"
                                                                        : path + 4;
  const al_web_asset *a = NULL;
  for (size_t i = 0; name && i < al_web_assets_count; i++)
    if (strcmp(al_web_assets[i].name, name) == 0)
      a = &al_web_assets[i];
  if (name && !a) {
    al_node_reply_error(n, req, 404, "not_found", "no such route");
    return;
  }
  if (!get) {
    al_node_reply_error(n, req, 405, "method_not_allowed", "use GET");
    return;
  }
  if (!a)
    redirect(req, "/ui/");
  else
    serve(req, a);
}
