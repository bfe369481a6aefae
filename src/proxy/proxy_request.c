/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_request.c - one HTTP/1.x request head from a sandbox, checked byte
 * by byte and then parsed by libhttp-parser; the body's framing followed so
 * that exactly one request is forwarded; the upstream head rebuilt without
 * hop-by-hop headers.  See proxy_request.h for why it is this strict. */
#include "proxy_request.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

size_t al_http_head_end(const char *buf, size_t len) {
  for (size_t i = 3; i < len; i++)
    if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
      return i + 1;
  return 0;
}

__attribute__((format(printf, 4, 5))) static int refuse(char *why, size_t whylen, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, whylen, fmt, ap);
  va_end(ap);
  return status;
}

static bool is_tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || strchr("!#$%&'*+-.^_`|~", c);
}

/* The checks libhttp-parser does not make (or makes only in some builds):
 * every line ends in CRLF, no CR or LF alone, no obs-fold, a target of
 * visible ASCII only, header names that are tokens, no control bytes in
 * values. */
static int check_bytes(const char *head, size_t len, char *why, size_t whylen) {
  size_t line = 0;
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)head[i];
    if (c == '\r') {
      if (i + 1 >= len || head[i + 1] != '\n')
        return refuse(why, whylen, 400, "bare CR in the request head");
      continue;
    }
    if (c == '\n') {
      if (i == 0 || head[i - 1] != '\r')
        return refuse(why, whylen, 400, "bare LF in the request head");
      line++;
      start = i + 1;
      continue;
    }
    if (i == start && line > 0 && (c == ' ' || c == '\t'))
      return refuse(why, whylen, 400, "obs-fold (a header line continued on the next line)");
    if (line == 0) {
      if (c < 0x20 || c >= 0x7f)
        return refuse(why, whylen, 400, "control or non-ASCII byte 0x%02x in the request line", c);
      continue;
    }
    if (c == '\t' || c >= 0x20) {
      if (c == 0x7f)
        return refuse(why, whylen, 400, "DEL byte in a header");
      continue;
    }
    return refuse(why, whylen, 400, "control byte 0x%02x in a header", c);
  }
  /* the request line: METHOD SP TARGET SP HTTP/d.d, nothing else */
  const char *eol = memchr(head, '\r', len);
  const char *sp1 = memchr(head, ' ', (size_t)(eol - head));
  const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
  if (!sp1 || sp1 == head || !sp2 || sp2 == sp1 + 1 || memchr(sp2 + 1, ' ', (size_t)(eol - sp2 - 1)) ||
      eol - sp2 != 9 || memcmp(sp2 + 1, "HTTP/", 5) != 0)
    return refuse(why, whylen, 400, "malformed request line (METHOD TARGET HTTP/1.1)");
  /* header names: tokens up to the colon, no space before it; the framing
   * headers counted here so that every ambiguity gets its own reason */
  size_t n_cl = 0, n_te = 0;
  const char *p = memchr(head, '\n', len);
  while (p && (size_t)(p + 1 - head) < len) {
    const char *l = p + 1;
    if (*l == '\r')
      break; /* the empty line */
    const char *e = l;
    while ((size_t)(e - head) < len && is_tchar((unsigned char)*e))
      e++;
    if (e == l || (size_t)(e - head) >= len || *e != ':')
      return refuse(why, whylen, 400, "malformed header name");
    n_cl += (size_t)(e - l) == 14 && strncasecmp(l, "content-length", 14) == 0;
    n_te += (size_t)(e - l) == 17 && strncasecmp(l, "transfer-encoding", 17) == 0;
    p = memchr(l, '\n', len - (size_t)(l - head));
  }
  if (n_cl > 1)
    return refuse(why, whylen, 400, "request smuggling: %zu Content-Length headers", n_cl);
  if (n_cl && n_te)
    return refuse(why, whylen, 400, "request smuggling: both Content-Length and Transfer-Encoding");
  if (n_te > 1)
    return refuse(why, whylen, 400, "request smuggling: %zu Transfer-Encoding headers", n_te);
  return 0;
}

static al_http_req *req_of(http_parser *p) { return (al_http_req *)p->data; }

static int append(char **s, const char *at, size_t n) {
  size_t old = *s ? strlen(*s) : 0;
  if (old + n > 65536)
    return -1;
  char *t = realloc(*s, old + n + 1);
  if (!t)
    return -1;
  memcpy(t + old, at, n);
  t[old + n] = '\0';
  *s = t;
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t n) {
  al_http_req *r = req_of(p);
  if (append(&r->target, at, n) < 0)
    r->overflow = true;
  return r->overflow ? -1 : 0;
}

static int on_field(http_parser *p, const char *at, size_t n) {
  al_http_req *r = req_of(p);
  if (r->head_done)
    return 0; /* a chunked body's trailer: forwarded as body bytes, not a header of the head */
  if (r->in_value || r->n_headers == 0) {
    if (r->n_headers == AL_HTTP_MAX_HEADERS) {
      r->overflow = true;
      return -1;
    }
    r->n_headers++;
    r->in_value = false;
  }
  if (append(&r->headers[r->n_headers - 1].name, at, n) < 0)
    r->overflow = true;
  return r->overflow ? -1 : 0;
}

static int on_value(http_parser *p, const char *at, size_t n) {
  al_http_req *r = req_of(p);
  if (r->head_done)
    return 0;
  r->in_value = true;
  if (r->n_headers == 0 || append(&r->headers[r->n_headers - 1].value, at, n) < 0)
    r->overflow = true;
  return r->overflow ? -1 : 0;
}

static int on_headers_complete(http_parser *p) {
  al_http_req *r = req_of(p);
  r->head_done = true;
  r->method = p->method;
  r->http_major = p->http_major;
  r->http_minor = p->http_minor;
  return 0;
}

static int on_message_complete(http_parser *p) {
  req_of(p)->complete = true;
  http_parser_pause(p, 1); /* stop right at the end of this message */
  return 0;
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
    .on_message_complete = on_message_complete,
};

static void trim(char *s) {
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    s[--n] = '\0';
  size_t lead = strspn(s, " \t");
  memmove(s, s + lead, n - lead + 1);
}

int al_http_req_parse_head(al_http_req *req, const char *head, size_t len, char *why, size_t whylen) {
  memset(req, 0, sizeof(*req));
  if (len > AL_HTTP_HEAD_MAX)
    return refuse(why, whylen, 431, "request head over %d bytes", AL_HTTP_HEAD_MAX);
  if (len < 4 || memcmp(head + len - 4, "\r\n\r\n", 4) != 0)
    return refuse(why, whylen, 400, "incomplete request head");
  int st = check_bytes(head, len, why, whylen);
  if (st)
    return st;
  http_parser_init(&req->parser, HTTP_REQUEST);
  req->parser.data = req;
  size_t used = http_parser_execute(&req->parser, &settings, head, len);
  enum http_errno e = HTTP_PARSER_ERRNO(&req->parser);
  if (req->overflow)
    return refuse(why, whylen, 431, "more than %d headers", AL_HTTP_MAX_HEADERS);
  if (e != HPE_OK && e != HPE_PAUSED)
    return refuse(why, whylen, 400, "malformed request: %s", http_errno_description(e));
  if (!req->head_done || !req->target || (used != len && !req->parser.upgrade && !req->complete))
    return refuse(why, whylen, 400, "malformed request head");
  if (req->http_major != 1)
    return refuse(why, whylen, 505, "HTTP/%u.%u is not served", req->http_major, req->http_minor);
  for (size_t i = 0; i < req->n_headers; i++) {
    if (!req->headers[i].value && !(req->headers[i].value = strdup("")))
      return refuse(why, whylen, 500, "out of memory");
    trim(req->headers[i].value);
  }
  /* check_bytes has refused two framings, or one of them twice */
  size_t n_cl = al_http_req_header_count(req, "content-length");
  size_t n_te = al_http_req_header_count(req, "transfer-encoding");
  if (n_te) {
    if (strcasecmp(al_http_req_header(req, "transfer-encoding"), "chunked") != 0)
      return refuse(why, whylen, 501, "Transfer-Encoding other than chunked");
    req->chunked = true;
  }
  if (n_cl) {
    const char *v = al_http_req_header(req, "content-length");
    if (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 15)
      return refuse(why, whylen, 400, "invalid Content-Length");
    req->has_length = true;
    req->content_length = strtoull(v, NULL, 10);
  }
  if (al_http_req_header_count(req, "host") > 1)
    return refuse(why, whylen, 400, "more than one Host header");
  if (req->http_minor >= 1 && al_http_req_header_count(req, "host") == 0)
    return refuse(why, whylen, 400, "HTTP/1.1 request without Host");
  if (req->method == HTTP_CONNECT)
    req->complete = true; /* what follows is the tunnel, not a body */
  return 0;
}

ssize_t al_http_req_feed_body(al_http_req *req, const char *data, size_t len) {
  if (req->complete || len == 0)
    return 0;
  size_t used = http_parser_execute(&req->parser, &settings, data, len);
  enum http_errno e = HTTP_PARSER_ERRNO(&req->parser);
  if (e != HPE_OK && e != HPE_PAUSED)
    return -1;
  return (ssize_t)used;
}

void al_http_req_clear(al_http_req *req) {
  free(req->target);
  for (size_t i = 0; i < req->n_headers; i++) {
    free(req->headers[i].name);
    free(req->headers[i].value);
  }
  memset(req, 0, sizeof(*req));
}

const char *al_http_req_header(const al_http_req *req, const char *name) {
  for (size_t i = 0; i < req->n_headers; i++)
    if (req->headers[i].name && strcasecmp(req->headers[i].name, name) == 0)
      return req->headers[i].value ? req->headers[i].value : "";
  return NULL;
}

size_t al_http_req_header_count(const al_http_req *req, const char *name) {
  size_t n = 0;
  for (size_t i = 0; i < req->n_headers; i++)
    n += req->headers[i].name && strcasecmp(req->headers[i].name, name) == 0;
  return n;
}

/* Whether the Connection header lists name (comma-separated tokens). */
static bool named_by_connection(const al_http_req *req, const char *name) {
  size_t nlen = strlen(name);
  for (size_t i = 0; i < req->n_headers; i++) {
    if (strcasecmp(req->headers[i].name, "connection") != 0)
      continue;
    const char *v = req->headers[i].value;
    while (*v) {
      v += strspn(v, " \t,");
      size_t t = strcspn(v, " \t,");
      if (t == nlen && strncasecmp(v, name, nlen) == 0)
        return true;
      v += t;
    }
  }
  return false;
}

static bool hop_by_hop(const al_http_req *req, const char *name) {
  static const char *const hop[] = {
      "connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "trailer",
      "upgrade",    "host"};
  for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
    if (strcasecmp(name, hop[i]) == 0)
      return true;
  if (strcasecmp(name, "transfer-encoding") == 0)
    return false; /* the body goes on as it came */
  return named_by_connection(req, name);
}

typedef struct {
  char *buf;
  size_t len, cap;
  bool failed;
} strbuf;

static void put(strbuf *b, const char *s, size_t n) {
  if (b->failed)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = (b->len + n + 1) * 2;
    char *t = realloc(b->buf, cap);
    if (!t) {
      b->failed = true;
      return;
    }
    b->buf = t;
    b->cap = cap;
  }
  memcpy(b->buf + b->len, s, n);
  b->len += n;
  b->buf[b->len] = '\0';
}

static void puts_(strbuf *b, const char *s) { put(b, s, strlen(s)); }

char *al_http_req_upstream_head(const al_http_req *req, const char *path, const char *host, const char *set_name,
                                const char *set_value, size_t set_len, bool keep_alive, size_t *outlen) {
  strbuf b = {0};
  puts_(&b, http_method_str((enum http_method)req->method));
  puts_(&b, " ");
  puts_(&b, path);
  puts_(&b, " HTTP/1.1\r\n");
  for (size_t i = 0; i < req->n_headers; i++) {
    const al_http_header *h = &req->headers[i];
    if (hop_by_hop(req, h->name) || (set_name && strcasecmp(h->name, set_name) == 0))
      continue;
    puts_(&b, h->name);
    puts_(&b, ": ");
    puts_(&b, h->value);
    puts_(&b, "\r\n");
  }
  puts_(&b, "Host: ");
  puts_(&b, host);
  puts_(&b, "\r\n");
  if (set_name) {
    puts_(&b, set_name);
    puts_(&b, ": ");
    put(&b, set_value, set_len);
    puts_(&b, "\r\n");
  }
  puts_(&b, keep_alive ? "\r\n" : "Connection: close\r\n\r\n");
  if (b.failed) {
    free(b.buf);
    return NULL;
  }
  *outlen = b.len;
  return b.buf;
}
