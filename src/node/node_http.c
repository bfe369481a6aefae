/* SPDX-License-Identifier: Apache-2.0 */
/* node_http.c - the node's HTTP front: listeners (unix socket 0600, TCP with
 * TLS and optional client certificates, plaintext only on loopback when
 * asked), authentication and routing; the replies are node_reply.c's.  HTTP
 * parsing, chunked responses and connection handling are libevent's evhttp;
 * bounds on header and body sizes and I/O timeouts are set here. */
#define _GNU_SOURCE
#include "node.h"
#include "cleanup.h"
#include "error.h"
#include "tokens.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <netdb.h>
#include <signal.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_HEADERS_BYTES AL_NODE_MAX_HEAD_BYTES

/* "Bearer TOKEN" -> tenant, or NULL after answering 401; without an
 * Authorization header, the web UI's session cookie (node_ui.c) instead */
static al_tenant *authenticate(al_node *n, struct evhttp_request *req) {
  const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
  if (auth == NULL && al_node_ui_has_session_cookie(req))
    return al_node_ui_authenticate(n, req);
  if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0) {
    al_node_reply_error(n, req, 401, "unauthorized", "missing 'Authorization: Bearer <node token>' header");
    return NULL;
  }
  al_token_info who;
  int ok = al_token_verify(n->tokens, auth + 7, &who);
  if (ok < 0) {
    al_node_reply_error(n, req, 500, "internal", "token store unavailable");
    return NULL;
  }
  if (ok == 0) {
    al_node_reply_error(n, req, 401, "unauthorized", "unknown or revoked token");
    return NULL;
  }
  al_node_limits lim = {.max_concurrent_execs = who.limits.max_concurrent_execs,
                        .max_memory_bytes = who.limits.max_memory_bytes,
                        .max_cpus = who.limits.max_cpus,
                        .max_timeout_ms = who.limits.max_timeout_ms};
  return al_node_tenant(n, who.name, &lim);
}

static void handle_exec(al_node *n, al_tenant *t, struct evhttp_request *req, al_sbox *sb) {
  size_t len;
  const char *body = al_node_body(req, &len);
  al_exec_params p;
  char err[256];
  if (al_exec_params_parse(body, len, &p, err, sizeof(err)) < 0) {
    al_node_reply_error(n, req, 400, "bad_request", "%s", err);
    return;
  }
  al_node_exec_start(n, t, sb, &p, req);
}

static void handle_exec_one(al_node *n, al_tenant *t, struct evhttp_request *req, al_api_route route, const char *id) {
  al_exec *e = al_node_exec_find(n, t, id);
  if (!e) {
    json_t *old = route == AL_API_EXEC_ONE && evhttp_request_get_command(req) == EVHTTP_REQ_GET
                      ? al_state_exec_lookup(n, t->name, id)
                      : NULL;
    if (old)
      al_node_reply_json(req, 200, old);
    else
      al_node_reply_error(n, req, 404, "not_found", "no exec '%s'", id);
    return;
  }
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  if (route == AL_API_EXEC_ONE && m == EVHTTP_REQ_GET) {
    al_node_reply_json(req, 200, al_exec_result_json(e, false));
  } else if ((route == AL_API_EXEC_ONE && m == EVHTTP_REQ_DELETE) ||
             (route == AL_API_EXEC_SIGNAL && m == EVHTTP_REQ_POST)) {
    int sig = SIGKILL;
    if (route == AL_API_EXEC_SIGNAL) {
      size_t len;
      const char *body = al_node_body(req, &len);
      json_error_t jerr;
      json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
      json_t *s = json_is_object(root) && json_object_size(root) == 1 ? json_object_get(root, "signal") : NULL;
      sig = s ? al_signal_parse(s) : -1;
      json_decref(root);
      if (sig < 0) {
        al_node_reply_error(n, req, 400, "bad_request", "body must be {\"signal\": NAME or number}, e.g. \"TERM\"");
        return;
      }
    }
    if (e->state == AL_EXEC_DONE) {
      al_node_reply_error(n, req, 409, "conflict", "exec '%s' has already finished", id);
      return;
    }
    if (route == AL_API_EXEC_ONE)
      e->cancelled = true;
    al_node_exec_signal(n, e, sig);
    al_node_reply_json(req, 202, json_pack("{s:s,s:i}", "exec_id", e->id, "signal", sig));
  } else if (route == AL_API_EXEC_INPUT && m == EVHTTP_REQ_POST) {
    al_node_exec_input(n, e, req);
  } else {
    al_node_reply_error(n, req, 405, "method_not_allowed", "method not allowed here");
  }
}

static void on_request(struct evhttp_request *req, void *arg) {
  al_node *n = arg;
  if (al_node_gate_request(n, req) < 0)
    return; /* refused before its body (node_gate.c) */
  const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
  char id[32] = "";
  al_api_route route = al_api_route_parse(uri ? evhttp_uri_get_path(uri) : NULL, id, sizeof(id));
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  if (route == AL_API_NONE) {
    al_node_reply_error(n, req, 404, "not_found", "no such route");
    return;
  }
  if (route == AL_API_UI) {
    al_node_ui_handle(n, req, evhttp_uri_get_path(uri));
    return;
  }
  if (route == AL_API_HEALTH || route == AL_API_METRICS) {
    if (m != EVHTTP_REQ_GET) {
      al_node_reply_error(n, req, 405, "method_not_allowed", "use GET");
      return;
    }
    route == AL_API_HEALTH ? al_node_handle_health(n, req) : al_node_handle_metrics(n, req);
    return;
  }
  al_tenant *t = authenticate(n, req);
  if (!t)
    return;
  al_node_gate_authenticated(n, req, t->name);
  if (n->stopping) {
    al_node_reply_error(n, req, 429, "over_capacity", "the node is shutting down");
    return;
  }
  switch (route) {
  case AL_API_EXEC:
    if (m != EVHTTP_REQ_POST)
      al_node_reply_error(n, req, 405, "method_not_allowed", "use POST");
    else
      handle_exec(n, t, req, NULL);
    break;
  case AL_API_SANDBOX_EXEC: {
    al_sbox *sb = al_node_sbox_find(n, t, id);
    if (!sb)
      al_node_reply_error(n, req, 404, "not_found", "no sandbox '%s'", id);
    else if (sb->restoring)
      al_node_reply_error(n, req, 409, "conflict", "sandbox '%s' is being restored; retry when it ends", id);
    else if (m != EVHTTP_REQ_POST)
      al_node_reply_error(n, req, 405, "method_not_allowed", "use POST");
    else
      handle_exec(n, t, req, sb);
    break;
  }
  case AL_API_SANDBOX_FILES: {
    al_sbox *sb = al_node_sbox_find(n, t, id);
    if (!sb)
      al_node_reply_error(n, req, 404, "not_found", "no sandbox '%s'", id);
    else if (sb->restoring)
      al_node_reply_error(n, req, 409, "conflict", "sandbox '%s' is being restored; retry when it ends", id);
    else
      al_node_handle_files(n, sb, req);
    break;
  }
  case AL_API_SANDBOXES:
  case AL_API_SANDBOX: al_node_handle_sandboxes(n, t, req, route, id); break;
  case AL_API_EXEC_ONE:
  case AL_API_EXEC_SIGNAL:
  case AL_API_EXEC_INPUT: handle_exec_one(n, t, req, route, id); break;
  case AL_API_WHOAMI:
    if (m != EVHTTP_REQ_GET)
      al_node_reply_error(n, req, 405, "method_not_allowed", "use GET");
    else
      al_node_handle_whoami(n, t, req);
    break;
  case AL_API_APPROVALS:
  case AL_API_APPROVAL:
  case AL_API_APPROVAL_APPROVE:
  case AL_API_APPROVAL_REJECT: al_node_handle_approvals(n, t, req, route, id); break;
  case AL_API_AUDIT: al_node_handle_audit(n, t, req); break;
  case AL_API_SANDBOX_SNAPSHOTS:
  case AL_API_SANDBOX_SNAPSHOT:
  case AL_API_SANDBOX_RESTORE:
  case AL_API_SANDBOX_RESET:
  case AL_API_SNAPSHOTS:
  case AL_API_SNAPSHOT:
    al_node_handle_snapshots(n, t, req, route, id, uri ? evhttp_uri_get_path(uri) : "");
    break;
  default: al_node_reply_error(n, req, 404, "not_found", "no such route");
  }
}

/* Every connection's bufferevent is watched by the gate (node_gate.c).
 * (Out of memory, NULL makes evhttp try a bufferevent of its own, unwatched:
 * a bufferevent callback has no way to refuse a connection.) */
static struct bufferevent *make_plain_bev(struct event_base *base, void *arg) {
  struct bufferevent *sock = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
  return sock ? al_node_gate_attach(arg, sock) : NULL;
}

/* TLS as a filter over a plain socket bufferevent, watched by the gate.  The
 * socket flavour of bufferevent_openssl (libevent 2.1) can leave the end of a
 * chunked stream in its output buffer with no write scheduled; the filter
 * writes through to the socket bufferevent on every append. */
static struct bufferevent *make_tls_bev(struct event_base *base, void *arg) {
  al_node *n = arg;
  SSL *ssl = SSL_new(n->ssl);
  struct bufferevent *sock = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
  if (!ssl || !sock) {
    if (ssl)
      SSL_free(ssl);
    if (sock)
      bufferevent_free(sock);
    return NULL;
  }
  struct bufferevent *tls =
      bufferevent_openssl_filter_new(base, sock, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
  return tls ? al_node_gate_attach(n, tls) : NULL;
}

static struct evhttp *new_http(al_node *n) {
  struct evhttp *h = evhttp_new(n->base);
  if (!h)
    return NULL;
  evhttp_set_gencb(h, on_request, n);
  evhttp_set_bevcb(h, make_plain_bev, n); /* TLS listeners: make_tls_bev instead */
  evhttp_set_max_headers_size(h, MAX_HEADERS_BYTES);
  evhttp_set_max_body_size(h, n->cfg->max_body_bytes);
  evhttp_set_timeout(h, (int)n->cfg->io_timeout_s);
  evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
  return h;
}

static int listen_unix(al_node *n, const char *path, airlock_error **err) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path))
    return al_err(err, 0, "socket path '%s' is too long", path);
  strcpy(sa.sun_path, path);
  struct stat st;
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return al_err(err, 0, "'%s' exists and is not a socket", path);
    unlink(path); /* a socket left by a previous run */
  }
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return al_err(err, errno, "socket");
  /* the socket file is made 0600 by bind under this umask: no chmod of
   * the path afterwards */
  mode_t old = umask(0177);
  int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
  umask(old);
  if (rc < 0 || listen(fd, 512) < 0)
    return al_err(err, errno, "listen on unix:%s", path);
  if (!n->http_plain && !(n->http_plain = new_http(n)))
    return al_err(err, 0, "libevent refused unix:%s", path);
  if (!evhttp_accept_socket_with_handle(n->http_plain, fd))
    return al_err(err, 0, "libevent refused unix:%s", path);
  fd = -1; /* libevent's now */
  return 0;
}

static bool is_loopback(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET)
    return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
  if (sa->sa_family == AF_INET6)
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
  return false;
}

static int setup_tls(al_node *n, airlock_error **err) {
  if (n->ssl)
    return 0;
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx)
    return al_err(err, 0, "cannot create a TLS context");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  /* libevent hands SSL_write whatever is at the front of its buffer, which
   * moves as a stream grows while a write waits: OpenSSL must accept that
   * (otherwise a "bad write retry" drops the connection mid-stream) */
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
  if (SSL_CTX_use_certificate_chain_file(ctx, n->cfg->tls_cert) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, n->cfg->tls_key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    SSL_CTX_free(ctx);
    return al_err(err, 0, "cannot load TLS certificate '%s' and key '%s': %s", n->cfg->tls_cert, n->cfg->tls_key,
                  ERR_reason_error_string(ERR_get_error()));
  }
  if (n->cfg->tls_client_ca) {
    if (SSL_CTX_load_verify_locations(ctx, n->cfg->tls_client_ca, NULL) != 1) {
      SSL_CTX_free(ctx);
      return al_err(err, 0, "cannot load client CA '%s'", n->cfg->tls_client_ca);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
  }
  n->ssl = ctx;
  if (!(n->http_tls = new_http(n)))
    return al_err(err, 0, "libevent refused a TLS listener");
  evhttp_set_bevcb(n->http_tls, make_tls_bev, n);
  return 0;
}

static int listen_tcp(al_node *n, const char *spec, airlock_error **err) {
  char host[256];
  const char *port;
  if (spec[0] == '[') {
    const char *close_br = strchr(spec, ']');
    if (!close_br || close_br[1] != ':' || (size_t)(close_br - spec - 1) >= sizeof(host))
      return al_err(err, 0, "bad listen address 'tcp:%s': expected tcp:HOST:PORT or tcp:[V6]:PORT", spec);
    memcpy(host, spec + 1, (size_t)(close_br - spec - 1));
    host[close_br - spec - 1] = '\0';
    port = close_br + 2;
  } else {
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof(host))
      return al_err(err, 0, "bad listen address 'tcp:%s': expected tcp:HOST:PORT", spec);
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    port = colon + 1;
  }
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV}, *ai = NULL;
  if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
    return al_err(err, 0, "bad listen address 'tcp:%s': use a numeric address and port", spec);
  bool loopback = is_loopback(ai->ai_addr);
  bool tls = n->cfg->tls_cert && n->cfg->tls_key;
  if (!tls && !(n->cfg->insecure_plaintext && loopback)) {
    freeaddrinfo(ai);
    return al_err(err, 0,
                  "tcp:%s needs --tls-cert and --tls-key (plaintext is allowed only on a loopback address "
                  "with --insecure-plaintext)",
                  spec);
  }
  _cleanup_close_ int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) /* not on -1: errno must stay socket()'s */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  int rc = fd < 0 ? -1 : bind(fd, ai->ai_addr, ai->ai_addrlen);
  freeaddrinfo(ai);
  if (rc < 0 || listen(fd, 512) < 0)
    return al_err(err, errno, "listen on tcp:%s", spec);
  if (tls && setup_tls(n, err) < 0)
    return -1;
  struct evhttp *h = tls ? n->http_tls : (n->http_plain ? n->http_plain : (n->http_plain = new_http(n)));
  if (!h || !evhttp_accept_socket_with_handle(h, fd))
    return al_err(err, 0, "libevent refused tcp:%s", spec);
  fd = -1; /* libevent's now */
  return 0;
}

int al_node_http_start(al_node *n, airlock_error **err) {
  for (size_t i = 0; i < n->cfg->n_listen; i++) {
    const char *l = n->cfg->listen[i];
    int rc;
    if (strncmp(l, "unix:", 5) == 0)
      rc = listen_unix(n, l + 5, err);
    else if (strncmp(l, "tcp:", 4) == 0)
      rc = listen_tcp(n, l + 4, err);
    else
      rc = al_err(err, 0, "bad listen address '%s': use unix:PATH or tcp:HOST:PORT", l);
    if (rc < 0)
      return -1;
  }
  return 0;
}

void al_node_http_stop(al_node *n) {
  if (n->http_plain)
    evhttp_free(n->http_plain);
  if (n->http_tls)
    evhttp_free(n->http_tls);
  n->http_plain = n->http_tls = NULL;
  if (n->ssl)
    SSL_CTX_free(n->ssl);
  n->ssl = NULL;
  for (size_t i = 0; i < n->cfg->n_listen; i++)
    if (strncmp(n->cfg->listen[i], "unix:", 5) == 0)
      unlink(n->cfg->listen[i] + 5);
}
