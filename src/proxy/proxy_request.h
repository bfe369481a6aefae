/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_request.h - reading one HTTP/1.x request from a sandbox and writing
 * the request the egress proxy sends upstream in its place.  Structure is
 * parsed by libhttp-parser; on top of it every byte of the head is checked,
 * because the ambiguities request smuggling lives on (obs-fold, bare CR or
 * LF, control characters in the target, Content-Length with
 * Transfer-Encoding, two Content-Lengths) must be refused, not interpreted.
 * Pure: no I/O, so it is unit-tested and fuzzed (fuzz/fuzz_proxy_request.c). */
#ifndef AIRLOCK_PROXY_REQUEST_H
#define AIRLOCK_PROXY_REQUEST_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AL_HTTP_HEAD_MAX 16384 /* a bigger head is answered 431 */
#define AL_HTTP_MAX_HEADERS 100

typedef struct {
  char *name;
  char *value;
} al_http_header;

typedef struct {
  http_parser parser; /* continues into the body */
  int method;         /* enum http_method */
  char *target;       /* request target as sent (checked: printable ASCII) */
  al_http_header headers[AL_HTTP_MAX_HEADERS];
  size_t n_headers;
  unsigned short http_major, http_minor;
  bool chunked;
  bool has_length;
  uint64_t content_length;
  bool head_done; /* the head was parsed */
  bool complete;  /* the whole message (head and body) was seen */
  bool in_value;  /* parser callbacks: the last piece was a header value */
  bool overflow;  /* parser callbacks: too many headers or out of memory */
} al_http_req;

/* Where the head ends: the offset just past the first "\r\n\r\n" in buf, or
 * 0 when it is not in buf yet. */
size_t al_http_head_end(const char *buf, size_t len);

/* Parse one request head (head[0..len) ending with "\r\n\r\n").  0 when it
 * is acceptable; otherwise the HTTP status to answer (400, 501) and why. */
int al_http_req_parse_head(al_http_req *req, const char *head, size_t len, char *why, size_t whylen);

/* Feed bytes that follow the head.  Returns how many of them belong to this
 * request's body (at most len; the rest would be a second request, which
 * the proxy does not serve), sets req->complete at its end; -1 when the
 * body is malformed (a bad chunk size). */
ssize_t al_http_req_feed_body(al_http_req *req, const char *data, size_t len);

void al_http_req_clear(al_http_req *req);

/* The value of the first header named name (case-insensitive), or NULL. */
const char *al_http_req_header(const al_http_req *req, const char *name);
/* How many headers are named name. */
size_t al_http_req_header_count(const al_http_req *req, const char *name);

/* The head to send upstream: "METHOD path HTTP/1.1", the sandbox's headers
 * without hop-by-hop ones (Connection and those it names, Keep-Alive,
 * Proxy-*, TE, Trailer, Upgrade), without Host and without any header named
 * set_name, then "Host: host", "set_name: set_value" (when set_name is not
 * NULL) and, unless keep_alive, "Connection: close".  Transfer-Encoding:
 * chunked is kept because the body is forwarded as it came.  malloc'd;
 * *outlen its length. */
char *al_http_req_upstream_head(const al_http_req *req, const char *path, const char *host, const char *set_name,
                                const char *set_value, size_t set_len, bool keep_alive, size_t *outlen);

#endif
