/* SPDX-License-Identifier: Apache-2.0 */
/* client_unix.c - the client's transport to a node on a unix socket,
 * without libcurl.
 *
 * Why not libcurl here: agents call `airlock exec` once per command, and
 * loading libcurl with the thirty-odd libraries it pulls in (TLS, HTTP/2,
 * LDAP, Kerberos, ...) took about 6 ms of a process whose exchange with a
 * local node takes 1-2 ms.  A unix socket to our own node needs none of
 * them: plain HTTP/1.1.  The request is written here (a request line and a
 * few headers); the answer is parsed by Debian's libhttp_parser (also the
 * egress proxy's), never by hand.  The connection is kept alive between
 * requests of one client; a kept connection the node closed while idle is
 * reopened once, when nothing of the answer had arrived.  TCP and TLS nodes
 * still go through libcurl (client.c). */
#define _GNU_SOURCE
#include "client_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <http_parser.h>

#include "cleanup.h"
#include "error.h"

typedef struct parse_state {
  al_client_transfer *t;
  char field[16]; /* the header name being read, lower-cased, cut at 15 */
  size_t field_len;
  bool in_retry_after;
  char value[128];
  size_t value_len;
  bool complete;
  bool aborted;
} parse_state;

static int on_header_field(http_parser *p, const char *at, size_t n) {
  parse_state *s = p->data;
  if (s->in_retry_after || s->value_len) { /* a new header begins */
    if (s->in_retry_after)
      s->t->resp->retry_after_s = al_client_retry_after(s->value, s->value_len);
    s->field_len = 0;
    s->value_len = 0;
    s->in_retry_after = false;
  }
  for (size_t i = 0; i < n && s->field_len < sizeof(s->field) - 1; i++)
    s->field[s->field_len++] = at[i];
  s->field[s->field_len] = '\0';
  return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n) {
  parse_state *s = p->data;
  s->in_retry_after = strcasecmp(s->field, "retry-after") == 0;
  if (!s->in_retry_after) {
    s->value_len = 1; /* marks "a value was seen" for on_header_field */
    return 0;
  }
  size_t room = sizeof(s->value) - 1 - s->value_len;
  memcpy(s->value + s->value_len, at, n < room ? n : room);
  s->value_len += n < room ? n : room;
  return 0;
}

static int on_headers_complete(http_parser *p) {
  parse_state *s = p->data;
  if (s->in_retry_after)
    s->t->resp->retry_after_s = al_client_retry_after(s->value, s->value_len);
  s->t->resp->status = p->status_code;
  s->t->status_known = true;
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t n) {
  parse_state *s = p->data;
  if (!al_client_body(s->t, at, n)) {
    s->aborted = true;
    return -1;
  }
  return 0;
}

static int on_message_complete(http_parser *p) {
  ((parse_state *)p->data)->complete = true;
  return 0;
}

static const http_parser_settings settings = {
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static int connect_node(airlock_client *c, airlock_error **err) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof(a.sun_path), "%s", c->unix_path); /* length checked at open */
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
    return al_err(err, errno, "cannot reach node %s", c->node);
  c->unix_fd = AL_STEAL_FD(fd);
  return 0;
}

void al_client_unix_close(airlock_client *c) {
  if (c->unix_fd >= 0)
    close(c->unix_fd);
  c->unix_fd = -1;
}

static int send_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    data += w;
    len -= (size_t)w;
  }
  return 0;
}

/* The request head: method and path were checked by the caller (no spaces
 * or control characters), the token at open. */
static char *request_head(airlock_client *c, const char *method, const char *path, const char *content_type,
                          const void *body, size_t body_len) {
  char *head = NULL;
  char length[48] = "";
  if (body || strcmp(method, "GET") != 0)
    snprintf(length, sizeof(length), "Content-Length: %zu\r\n", body ? body_len : 0);
  int n = asprintf(&head, "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: airlock-client/%s\r\n%s%s%s%s%s%s\r\n",
                   method, path, AIRLOCK_VERSION, c->auth_header ? c->auth_header : "", c->auth_header ? "\r\n" : "",
                   body ? "Content-Type: " : "", body ? (content_type ? content_type : "application/json") : "",
                   body ? "\r\n" : "", length);
  return n < 0 ? NULL : head;
}

int al_client_unix_perform(airlock_client *c, const char *method, const char *path, const char *content_type,
                           const void *body, size_t body_len, al_client_transfer *t, airlock_error **err) {
  _cleanup_free_ char *head = request_head(c, method, path, content_type, body, body_len);
  if (head == NULL)
    return al_err(err, ENOMEM, "request headers");
  for (int attempt = 0;; attempt++) {
    bool reused = c->unix_fd >= 0;
    if (!reused && connect_node(c, err) < 0)
      return -1;
    if (send_all(c->unix_fd, head, strlen(head)) < 0 || (body_len > 0 && send_all(c->unix_fd, body, body_len) < 0)) {
      int e = errno;
      al_client_unix_close(c);
      if (reused && attempt == 0)
        continue; /* the node closed the idle connection: once more on a new one */
      return al_err(err, e, "cannot reach node %s", c->node);
    }
    http_parser parser;
    http_parser_init(&parser, HTTP_RESPONSE);
    parse_state st = {.t = t};
    parser.data = &st;
    bool any = false;
    char buf[65536];
    while (!st.complete) {
      ssize_t r = recv(c->unix_fd, buf, sizeof(buf), 0);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0) {
        int e = errno;
        al_client_unix_close(c);
        if (reused && attempt == 0 && !any && (e == ECONNRESET || e == EPIPE))
          break;
        return al_err(err, e, "%s node %s", any ? "connection broke during the answer of" : "cannot reach", c->node);
      }
      size_t used = http_parser_execute(&parser, &settings, buf, (size_t)r); /* r == 0: the end of the stream */
      if (st.aborted) {
        al_client_unix_close(c); /* the rest of the answer is not read */
        return 0;                /* al_client_finish reports the sink's error or the overflow */
      }
      if (r == 0 && !st.complete) {
        al_client_unix_close(c);
        if (reused && attempt == 0 && !any)
          break;
        return al_err(err, 0, "%s node %s: the connection closed", any ? "the answer was cut short by" : "no answer from",
                      c->node);
      }
      if (parser.http_errno != HPE_OK || used != (size_t)r) {
        al_client_unix_close(c);
        return al_err(err, 0, "node %s sent a malformed answer: %s", c->node,
                      http_errno_description(HTTP_PARSER_ERRNO(&parser)));
      }
      any = true;
    }
    if (st.complete) {
      if (!http_should_keep_alive(&parser))
        al_client_unix_close(c);
      return 0;
    }
    /* a kept connection was gone before any answer: reopen once */
  }
}
