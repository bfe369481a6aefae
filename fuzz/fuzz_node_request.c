/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_node_request.c - libFuzzer target for what a node client controls
 * before any sandbox is involved: the request head as the connection gate
 * reads it before evhttp (on all the bytes), the request path (router), the
 * JSON bodies of exec, sandbox-create and pty input requests, and the
 * Cookie header reader (on the PATH bytes).  Input: PATH NUL BODY. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"

/* the gate's head reader on the raw bytes: everything it points at lies
 * inside them, a length is never both declared and chunked, and a refusal
 * always says why */
static void head(const uint8_t *data, size_t size) {
  const char *buf = (const char *)data, *why = NULL;
  al_http_head h;
  int r = al_http_head_parse(buf, size, &h, &why);
  if (r < 0 && (!why || !why[0]))
    abort();
  if (r != 1)
    return;
  if (h.len == 0 || h.len > size || (h.content_length >= 0 && h.transfer_encoding) ||
      h.n_cookies > AL_HTTP_HEAD_COOKIES || h.method[0] == '\0' || memchr(h.method, '\0', sizeof(h.method)) == NULL ||
      memchr(h.path, '\0', sizeof(h.path)) == NULL)
    abort();
  if (h.authorization && (h.authorization < buf || h.authorization + h.authorization_len > buf + h.len))
    abort();
  for (size_t i = 0; i < h.n_cookies; i++)
    if (h.cookies[i].value < buf || h.cookies[i].value + h.cookies[i].len > buf + h.len)
      abort();
  /* the head ends with an empty line */
  if (buf[h.len - 1] != '\n')
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  head(data, size);
  const uint8_t *nul = memchr(data, '\0', size);
  size_t path_len = nul ? (size_t)(nul - data) : size;
  char *path = malloc(path_len + 1);
  memcpy(path, data, path_len);
  path[path_len] = '\0';
  char id[32];
  al_api_route r = al_api_route_parse(path, id, sizeof(id));
  if (r != AL_API_NONE && (r == AL_API_SANDBOX || r == AL_API_EXEC_ONE || r == AL_API_EXEC_INPUT) && strlen(id) == 0)
    abort(); /* a route with an id must have one */
  /* the same bytes as a Cookie header: every value found lies inside it */
  const char *cur = path, *val;
  size_t vlen;
  while ((val = al_cookie_next(&cur, "airlock_session", &vlen)))
    if (val < path || val + vlen > path + path_len)
      abort();
  free(path);

  const char *body = nul ? (const char *)nul + 1 : "";
  size_t body_len = nul ? size - path_len - 1 : 0;
  char err[256];
  al_exec_params p;
  if (al_exec_params_parse(body, body_len, &p, err, sizeof(err)) == 0) {
    /* an accepted request always has a command and a positive timeout */
    if (!p.argv || !p.argv[0] || p.timeout_ms <= 0)
      abort();
    /* a terminal only on a stream and without stdin; a size only with it */
    if ((p.pty && (!p.stream || p.stdin_data)) || (!p.pty && (p.rows || p.cols)))
      abort();
    al_exec_params_clear(&p);
  } else if (err[0] == '\0') {
    abort(); /* a refusal always says why */
  }
  al_sandbox_params s;
  if (al_sandbox_params_parse(body, body_len, &s, err, sizeof(err)) == 0)
    al_sandbox_params_clear(&s);
  al_exec_input in;
  if (al_exec_input_parse(body, body_len, &in, err, sizeof(err)) == 0) {
    /* something to do, and a window size is whole */
    if ((!in.data && !in.rows) || !in.rows != !in.cols || (in.len && !in.data))
      abort();
    free(in.data);
  } else if (err[0] == '\0' || in.data) {
    abort();
  }
  return 0;
}
