/* SPDX-License-Identifier: Apache-2.0 */
/* client.c - the connection to an airlock node (include/airlock/client.h):
 * which nodes may be reached and how (unix socket, verified TLS, loopback
 * HTTP), one libcurl easy handle per TCP client so keep-alive works (a unix
 * socket goes through client_unix.c without libcurl), requests,
 * and the node's JSON errors turned into airlock_error messages.  Execs are
 * in client_exec.c. */
#define _GNU_SOURCE
#include "client_priv.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <time.h>

#include <jansson.h>

#include "cleanup.h"
#include "curl_dl.h"
#include "error.h"

/* Largest 2xx body kept in memory (file reads, non-streamed output). */
#define MAX_BODY (256u << 20)
/* Of an error answer only the start is kept: the message is at the front. */
#define MAX_ERROR_BODY (64u << 10)
#define CONNECT_TIMEOUT_MS 10000L

static void curl_slistp(struct curl_slist **l) {
  if (*l)
    al_curl()->slist_free_all(*l);
}

char *al_client_clean_text(const char *s, size_t len) {
  char *out = malloc(len + 1);
  if (out == NULL)
    return NULL;
  for (size_t i = 0; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    out[i] = (ch < 0x20 && ch != '\t') || ch == 0x7f ? '?' : (char)ch;
    /* C1 controls (U+0080-U+009F, such as the one-byte CSI) in UTF-8 */
    if (ch == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9f) {
      out[i] = out[i + 1] = '?';
      i++;
    }
  }
  out[len] = '\0';
  return out;
}

void al_client_response_clear(al_client_response *resp) {
  free(resp->error_code);
  free(resp->body);
  memset(resp, 0, sizeof(*resp));
  resp->retry_after_s = -1;
}

/* --- opening: which nodes are acceptable --------------------------------- */

/* scheme://host[:port] of an http(s) node, after checking that the URL says
 * nothing else (no path, query, credentials) and that plain HTTP stays on
 * this machine. */
static int parse_url_node(const char *node, bool *tls, char **base, airlock_error **err) {
  if (strncasecmp(node, "http://", 7) != 0 && strncasecmp(node, "https://", 8) != 0)
    return al_err(err, 0, "node '%s': use unix:PATH, https://HOST:PORT or http://127.0.0.1:PORT", node);
  _cleanup_curl_url_ CURLU *u = al_curl()->url();
  if (u == NULL)
    return al_err(err, ENOMEM, "node '%s'", node);
  if (al_curl()->url_set(u, CURLUPART_URL, node, 0) != CURLUE_OK)
    return al_err(err, 0, "node '%s' is not a valid URL", node);
  _cleanup_curl_str_ char *scheme = NULL;
  _cleanup_curl_str_ char *host = NULL;
  _cleanup_curl_str_ char *path = NULL;
  _cleanup_curl_str_ char *extra = NULL;
  if (al_curl()->url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      al_curl()->url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
    return al_err(err, 0, "node '%s' is not a valid URL", node);
  *tls = strcmp(scheme, "https") == 0;
  if (!*tls && strcmp(scheme, "http") != 0)
    return al_err(err, 0, "node '%s': use unix:PATH, https://HOST:PORT or http://127.0.0.1:PORT", node);
  if (al_curl()->url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK && strcmp(path, "/") != 0 && path[0] != '\0')
    return al_err(err, 0, "node '%s' must not have a path ('%s')", node, path);
  if (al_curl()->url_get(u, CURLUPART_QUERY, &extra, 0) == CURLUE_OK ||
      al_curl()->url_get(u, CURLUPART_FRAGMENT, &extra, 0) == CURLUE_OK ||
      al_curl()->url_get(u, CURLUPART_USER, &extra, 0) == CURLUE_OK)
    return al_err(err, 0, "node '%s' must be only scheme, host and port", node);
  if (!*tls && !al_curl_host_is_loopback(host))
    return al_err(err, 0,
                  "node '%s': plain http is only for loopback (127.0.0.1 or [::1]); "
                  "use https:// for host '%s'",
                  node, host);
  if (al_curl()->url_set(u, CURLUPART_PATH, NULL, 0) != CURLUE_OK)
    return al_err(err, ENOMEM, "node '%s'", node);
  _cleanup_curl_str_ char *url = NULL;
  if (al_curl()->url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
    return al_err(err, 0, "node '%s' is not a valid URL", node);
  size_t n = strlen(url);
  while (n > 0 && url[n - 1] == '/')
    n--;
  if ((*base = strndup(url, n)) == NULL)
    return al_err(err, ENOMEM, "node '%s'", node);
  return 0;
}

static bool token_ok(const char *t) {
  if (*t == '\0')
    return false;
  for (; *t; t++)
    if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
      return false;
  return true;
}

#define SETOPT_WHO "HTTP client" /* in curl_dl.h's SETOPT_* messages */

static int configure(airlock_client *c, const char *unix_path, bool tls, const airlock_client_tls *t,
                     airlock_error **err) {
  CURL *h = c->curl;
  /* a unix socket is plain HTTP: no proxy from the environment either */
  al_curl_common common = {.who = SETOPT_WHO,
                           .errbuf = c->errbuf,
                           .protocols = "http,https",
                           .user_agent = "airlock-client/" AIRLOCK_VERSION,
                           .connect_timeout_ms = CONNECT_TIMEOUT_MS,
                           .tls = tls && !unix_path,
                           .ca_file = t ? t->ca_file : NULL};
  if (al_curl_setopt_common(h, &common, err) < 0)
    return -1;
  SETOPT_LONG(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  if (unix_path) {
    SETOPT_PTR(h, CURLOPT_UNIX_SOCKET_PATH, unix_path);
    return 0;
  }
  SETOPT_LONG(h, CURLOPT_TCP_KEEPALIVE, 1L); /* notice a vanished node during long silent execs */
  if (!tls)
    return 0;
  if (t && t->cert_file) {
    SETOPT_PTR(h, CURLOPT_SSLCERT, t->cert_file);
    SETOPT_PTR(h, CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (t && t->key_file) {
    SETOPT_PTR(h, CURLOPT_SSLKEY, t->key_file);
    SETOPT_PTR(h, CURLOPT_SSLKEYTYPE, "PEM");
  }
  return 0;
}

static bool has_tls_settings(const airlock_client_tls *t) { return t && (t->ca_file || t->cert_file || t->key_file); }

static int check_readable(const char *what, const char *path, airlock_error **err) {
  if (access(path, R_OK) < 0)
    return al_err(err, errno, "%s '%s'", what, path);
  return 0;
}

int airlock_client_open(const char *node, const char *token, const airlock_client_tls *tls, airlock_client **out,
                        airlock_error **err) {
  *out = NULL;
  if (node == NULL || *node == '\0')
    return al_err(err, 0, "no node given");
  if (token && !token_ok(token))
    return al_err(err, 0, "the token is empty or has spaces or control characters");
  __attribute__((cleanup(airlock_client_close))) airlock_client *c = calloc(1, sizeof(*c));
  if (c == NULL || (c->node = strdup(node)) == NULL)
    return al_err(err, ENOMEM, "cannot allocate the client");
  c->unix_fd = -1;

  const char *unix_path = NULL;
  bool use_tls = false;
  if (strncmp(node, "unix:", 5) == 0) {
    unix_path = node + 5;
    if (*unix_path == '\0')
      return al_err(err, 0, "node '%s': no socket path after 'unix:'", node);
    if (strlen(unix_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
      return al_err(err, 0, "node socket path '%s' is longer than %zu bytes", unix_path,
                    sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
    if ((c->base_url = strdup("http://localhost")) == NULL)
      return al_err(err, ENOMEM, "cannot allocate the client");
  } else if (strstr(node, "://") != NULL) {
    if (al_curl_load(err) == NULL || parse_url_node(node, &use_tls, &c->base_url, err) < 0)
      return -1;
  } else {
    return al_err(err, 0, "node '%s': use unix:PATH, https://HOST:PORT or http://127.0.0.1:PORT", node);
  }
  if (has_tls_settings(tls) && !use_tls)
    return al_err(err, 0, "TLS files were given but node '%s' is not https://", node);
  if (tls && tls->key_file && !tls->cert_file)
    return al_err(err, 0, "a TLS client key needs its certificate too");
  if (tls && ((tls->ca_file && check_readable("TLS CA file", tls->ca_file, err) < 0) ||
              (tls->cert_file && check_readable("TLS client certificate", tls->cert_file, err) < 0) ||
              (tls->key_file && check_readable("TLS client key", tls->key_file, err) < 0)))
    return -1;
  if (token && asprintf(&c->auth_header, "Authorization: Bearer %s", token) < 0) {
    c->auth_header = NULL;
    return al_err(err, ENOMEM, "cannot allocate the client");
  }
  if (unix_path) { /* client_unix.c: no libcurl to load */
    if ((c->unix_path = strdup(unix_path)) == NULL)
      return al_err(err, ENOMEM, "cannot allocate the client");
    *out = AL_STEAL(c);
    return 0;
  }
  if (al_curl_load(err) == NULL)
    return -1;

  CURLcode rc = al_curl()->global_init(CURL_GLOBAL_DEFAULT); /* reference counted; undone in close */
  if (rc != CURLE_OK)
    return al_err(err, 0, "cannot initialize libcurl: %s", al_curl()->easy_strerror(rc));
  if ((c->curl = al_curl()->easy_init()) == NULL) {
    al_curl()->global_cleanup();
    return al_err(err, 0, "cannot initialize libcurl");
  }
  if (configure(c, unix_path, use_tls, tls, err) < 0)
    return -1;
  *out = AL_STEAL(c);
  return 0;
}

void airlock_client_close(airlock_client **cp) {
  if (cp == NULL || *cp == NULL)
    return;
  airlock_client *c = *cp;
  if (c->curl) {
    al_curl()->easy_cleanup(c->curl);
    al_curl()->global_cleanup();
  }
  al_client_unix_close(c);
  free(c->unix_path);
  free(c->node);
  free(c->base_url);
  if (c->auth_header) {
    explicit_bzero(c->auth_header, strlen(c->auth_header)); /* the token */
    free(c->auth_header);
  }
  free(c);
  *cp = NULL;
}

/* --- one exchange -------------------------------------------------------- */

typedef al_client_transfer transfer;

long al_client_retry_after(const char *v, size_t n) {
  char text[128];
  while (n > 0 && isspace((unsigned char)*v))
    v++, n--;
  while (n > 0 && isspace((unsigned char)v[n - 1]))
    n--;
  if (n == 0 || n >= sizeof(text))
    return -1;
  memcpy(text, v, n);
  text[n] = '\0';
  if (strspn(text, "0123456789") == n) {
    errno = 0;
    long s = strtol(text, NULL, 10);
    return errno ? LONG_MAX : s;
  }
  /* the HTTP-date form (RFC 9110 IMF-fixdate), in the C locale's names */
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  const char *end = strptime(text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == NULL || *end != '\0')
    return -1;
  time_t when = timegm(&tm);
  if (when == -1)
    return -1;
  time_t now = time(NULL);
  return when > now ? (long)(when - now) : 0;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata) {
  transfer *t = userdata;
  size_t n = size * nmemb;
  static const char name[] = "retry-after:";
  if (n >= 5 && memcmp(line, "HTTP/", 5) == 0)
    t->resp->retry_after_s = -1; /* a new answer (after 100 Continue, say) */
  else if (n > sizeof(name) - 1 && strncasecmp(line, name, sizeof(name) - 1) == 0)
    t->resp->retry_after_s = al_client_retry_after(line + sizeof(name) - 1, n - (sizeof(name) - 1));
  return n;
}

static int buffer_body(transfer *t, const char *data, size_t n, size_t max) {
  al_client_response *r = t->resp;
  if (r->body_len >= max)
    return -1;
  if (n > max - r->body_len)
    n = max - r->body_len;
  if (r->body_len + n + 1 > t->body_cap) {
    size_t cap = t->body_cap ? t->body_cap : 4096;
    while (cap < r->body_len + n + 1)
      cap *= 2;
    char *p = realloc(r->body, cap);
    if (p == NULL)
      return -1;
    r->body = p;
    t->body_cap = cap;
  }
  memcpy(r->body + r->body_len, data, n);
  r->body_len += n;
  r->body[r->body_len] = '\0';
  return 0;
}

bool al_client_body(transfer *t, const char *data, size_t n) {
  bool ok = t->resp->status >= 200 && t->resp->status < 300;
  if (ok && t->sink)
    return t->sink->write(t->sink->ctx, data, n, &t->sink_err) == 0;
  if (!ok) {
    buffer_body(t, data, n, MAX_ERROR_BODY); /* the rest of a long error is dropped */
    return true;
  }
  if (buffer_body(t, data, n, MAX_BODY) < 0) {
    t->body_overflow = true;
    return false;
  }
  return true;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata) {
  transfer *t = userdata;
  size_t n = size * nmemb;
  if (!t->status_known) {
    al_curl()->easy_getinfo(t->c->curl, CURLINFO_RESPONSE_CODE, &t->resp->status);
    t->status_known = true;
  }
  return al_client_body(t, data, n) ? n : 0;
}

/* "node refused the request (429 over_capacity): <message>; retry after 3 s" */
static int http_error(al_client_response *r, airlock_error **err) {
  json_auto_t *doc = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
  json_t *e = json_object_get(doc, "error");
  const char *code = json_string_value(json_object_get(e, "code"));
  const char *message = json_string_value(json_object_get(e, "message"));
  if (code && (r->error_code = al_client_clean_text(code, strlen(code))) == NULL)
    return al_err(err, ENOMEM, "node answered %ld", r->status);
  _cleanup_free_ char *text = NULL;
  if (message) {
    text = al_client_clean_text(message, strlen(message));
  } else if (r->body && r->body_len > 0) { /* not the documented shape: show its start */
    size_t n = strcspn(r->body, "\r\n");
    text = al_client_clean_text(r->body, n > 200 ? 200 : n);
  }
  char retry[48] = "";
  if (r->status == 429 && r->retry_after_s >= 0)
    snprintf(retry, sizeof(retry), "; retry after %ld s", r->retry_after_s);
  return al_err(err, 0, "node %s (%ld%s%s)%s%s%s", r->status < 500 ? "refused the request" : "failed the request",
                r->status, r->error_code ? " " : "", r->error_code ? r->error_code : "", text && *text ? ": " : "",
                text ? text : "", retry);
}

static int transport_error(airlock_client *c, transfer *t, CURLcode rc, airlock_error **err) {
  const char *detail = c->errbuf[0] ? c->errbuf : al_curl()->easy_strerror(rc);
  long os_errno = 0;
  al_curl()->easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &os_errno);
  /* curl's text for a refused connect names host and port, which for a unix
   * socket are a made-up "localhost port 80": the errno says it better */
  if (rc == CURLE_COULDNT_CONNECT && os_errno > 0)
    detail = strerror((int)os_errno);
  int r;
  if (t->status_known)
    r = al_err(err, 0, "connection to node %s broke during the answer: %s", c->node, detail);
  else
    r = al_err(err, 0, "cannot reach node %s: %s", c->node, detail);
  if (*err && (*err)->errnum == 0)
    (*err)->errnum = (int)os_errno;
  return r;
}

static bool method_ok(const char *m) {
  static const char *const known[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
  for (size_t i = 0; i < AL_ARRAY_SIZE(known); i++)
    if (strcmp(m, known[i]) == 0)
      return true;
  return false;
}

static bool path_ok(const char *p) {
  if (p[0] != '/')
    return false;
  for (; *p; p++)
    if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
      return false;
  return true;
}

int al_client_perform(airlock_client *c, const char *method, const char *path, const char *content_type,
                      const void *body, size_t body_len, const al_client_sink *sink, al_client_response *resp,
                      airlock_error **err) {
  memset(resp, 0, sizeof(*resp));
  resp->retry_after_s = -1;
  if (!method_ok(method))
    return al_err(err, 0, "HTTP method '%s' is not one of GET, POST, PUT, DELETE, PATCH", method);
  if (!path_ok(path))
    return al_err(err, 0, "request path '%s' must start with '/' and have no spaces or control characters", path);
  if (body_len > 0 && body == NULL)
    return al_err(err, EINVAL, "request body");
  if (c->unix_path) {
    transfer t = {.c = c, .sink = sink, .resp = resp};
    if (al_client_unix_perform(c, method, path, content_type, body, body_len, &t, err) < 0) {
      airlock_error_free(&t.sink_err);
      return -1;
    }
    return al_client_finish(c, &t, method, path, err);
  }

  _cleanup_free_ char *url = NULL;
  if (asprintf(&url, "%s%s", c->base_url, path) < 0) {
    url = NULL;
    return al_err(err, ENOMEM, "request URL");
  }
  __attribute__((cleanup(curl_slistp))) struct curl_slist *headers = NULL;
  _cleanup_free_ char *ctype = NULL;
  struct curl_slist *tmp;
#define ADD_HEADER(h)                                                                                                  \
  do {                                                                                                                 \
    if ((tmp = al_curl()->slist_append(headers, (h))) == NULL)                                                         \
      return al_err(err, ENOMEM, "request headers");                                                                   \
    headers = tmp;                                                                                                     \
  } while (0)
  if (c->auth_header)
    ADD_HEADER(c->auth_header);
  ADD_HEADER("Expect:"); /* send bodies at once, no 100-continue round trip */
  if (body) {
    if (asprintf(&ctype, "Content-Type: %s", content_type ? content_type : "application/json") < 0) {
      ctype = NULL;
      return al_err(err, ENOMEM, "request headers");
    }
    ADD_HEADER(ctype);
  }
#undef ADD_HEADER

  CURL *h = c->curl;
  transfer t = {.c = c, .sink = sink, .resp = resp};
  SETOPT_PTR(h, CURLOPT_URL, url);
  SETOPT_LONG(h, CURLOPT_HTTPGET, 1L); /* back to a plain GET after the last request */
  SETOPT_PTR(h, CURLOPT_CUSTOMREQUEST, NULL);
  if (body) {
    SETOPT_OFF(h, CURLOPT_POSTFIELDSIZE_LARGE, body_len);
    SETOPT_PTR(h, CURLOPT_POSTFIELDS, body);
  }
  if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) {
    SETOPT_PTR(h, CURLOPT_CUSTOMREQUEST, method);
  } else if (strcmp(method, "POST") == 0 && !body) {
    SETOPT_OFF(h, CURLOPT_POSTFIELDSIZE_LARGE, 0);
    SETOPT_PTR(h, CURLOPT_POSTFIELDS, "");
  }
  SETOPT_PTR(h, CURLOPT_HTTPHEADER, headers);
  SETOPT_FN(h, CURLOPT_HEADERFUNCTION, on_header);
  SETOPT_PTR(h, CURLOPT_HEADERDATA, &t);
  SETOPT_FN(h, CURLOPT_WRITEFUNCTION, on_body);
  SETOPT_PTR(h, CURLOPT_WRITEDATA, &t);
  c->errbuf[0] = '\0';

  CURLcode rc = al_curl()->easy_perform(h);
  /* the handle must not keep pointers into this frame */
  al_curl()->easy_setopt(h, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
  al_curl()->easy_setopt(h, CURLOPT_HEADERDATA, NULL);
  al_curl()->easy_setopt(h, CURLOPT_WRITEDATA, NULL);
  al_curl()->easy_setopt(h, CURLOPT_HTTPGET, 1L);

  if (rc != CURLE_OK && !t.sink_err && !t.body_overflow)
    return transport_error(c, &t, rc, err);
  al_curl()->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
  return al_client_finish(c, &t, method, path, err);
}

int al_client_finish(airlock_client *c, transfer *t, const char *method, const char *path, airlock_error **err) {
  if (t->sink_err) {
    if (err && *err == NULL)
      *err = t->sink_err;
    else
      airlock_error_free(&t->sink_err);
    t->sink_err = NULL;
    return -1;
  }
  if (t->body_overflow)
    return al_err(err, 0, "answer of node %s to %s %s is larger than %u bytes", c->node, method, path, MAX_BODY);
  if (t->resp->status >= 200 && t->resp->status < 300)
    return 0;
  return http_error(t->resp, err);
}

/* --- requests and sandboxes --------------------------------------------- */

int airlock_client_request(airlock_client *c, const char *method, const char *path, const void *body, size_t body_len,
                           long *status, char **resp, size_t *resp_len, airlock_error **err) {
  if (status)
    *status = 0;
  if (resp)
    *resp = NULL;
  if (resp_len)
    *resp_len = 0;
  al_client_response r;
  const char *ctype = method && strcmp(method, "PUT") == 0 ? "application/octet-stream" : "application/json";
  int rc = al_client_perform(c, method, path, ctype, body, body_len, NULL, &r, err);
  if (status)
    *status = r.status;
  if (resp_len)
    *resp_len = r.body_len;
  if (resp) {
    if (r.body == NULL && r.status != 0 && (r.body = strdup("")) == NULL) {
      al_client_response_clear(&r);
      return al_err(err, ENOMEM, "answer body");
    }
    *resp = AL_STEAL(r.body);
  }
  al_client_response_clear(&r);
  return rc;
}

char *al_client_sandbox_path(airlock_client *c, const char *id, airlock_error **err) {
  if (id == NULL || *id == '\0') {
    al_err(err, 0, "no sandbox id given");
    return NULL;
  }
  (void)c;
  /* percent-encoding of everything but RFC 3986's unreserved characters */
  size_t n = strlen(id);
  _cleanup_free_ char *esc = n < SIZE_MAX / 3 ? malloc(3 * n + 1) : NULL;
  for (size_t i = 0, o = 0; esc && i <= n; i++) {
    unsigned char ch = (unsigned char)id[i];
    if (ch == '\0')
      esc[o] = '\0';
    else if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~')
      esc[o++] = (char)ch;
    else
      o += (size_t)sprintf(esc + o, "%%%02X", ch);
  }
  char *path = NULL;
  if (esc == NULL || asprintf(&path, "/v1/sandboxes/%s", esc) < 0) {
    al_err(err, ENOMEM, "request path");
    return NULL;
  }
  return path;
}

int airlock_client_sandbox_create(airlock_client *c, const char *json_body, char **id_out, airlock_error **err) {
  *id_out = NULL;
  const char *body = json_body ? json_body : "{}";
  _cleanup_free_ char *resp = NULL;
  size_t len = 0;
  if (airlock_client_request(c, "POST", "/v1/sandboxes", body, strlen(body), NULL, &resp, &len, err) < 0)
    return al_err_prefix(err, "cannot create a sandbox");
  json_auto_t *doc = json_loadb(resp, len, 0, NULL);
  const char *id = json_string_value(json_object_get(doc, "id"));
  if (id == NULL || *id == '\0')
    return al_err(err, 0, "cannot create a sandbox: node %s answered without an \"id\"", c->node);
  if ((*id_out = strdup(id)) == NULL)
    return al_err(err, ENOMEM, "sandbox id");
  return 0;
}

int airlock_client_sandbox_destroy(airlock_client *c, const char *id, airlock_error **err) {
  _cleanup_free_ char *path = al_client_sandbox_path(c, id, err);
  if (path == NULL)
    return -1;
  if (airlock_client_request(c, "DELETE", path, NULL, 0, NULL, NULL, NULL, err) < 0)
    return al_err_prefix(err, "cannot destroy sandbox '%s'", id);
  return 0;
}
