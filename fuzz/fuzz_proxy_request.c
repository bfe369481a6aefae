/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_proxy_request.c - libFuzzer target for the egress proxy's request
 * head parser (src/proxy/proxy_request.c), the input a sandbox controls
 * entirely.  The bytes up to the end of the head are parsed; an accepted
 * head must have a target of visible ASCII, at most one Content-Length and
 * not both framings; the rest is fed as the body, which may claim at most
 * what it was given; the upstream head is rebuilt and must end the head. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *buf = (const char *)data;
  size_t end = al_http_head_end(buf, size);
  if (end == 0)
    return 0;
  al_http_req r;
  char why[256];
  int st = al_http_req_parse_head(&r, buf, end, why, sizeof(why));
  if (st == 0) {
    for (const char *t = r.target; *t; t++)
      if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
        abort();
    if (al_http_req_header_count(&r, "content-length") > 1 ||
        (r.chunked && al_http_req_header_count(&r, "content-length") > 0))
      abort();
    ssize_t n = al_http_req_feed_body(&r, buf + end, size - end);
    if (n > (ssize_t)(size - end))
      abort();
    size_t hl;
    char *head = al_http_req_upstream_head(&r, "/x", "example.com", "x-key", "v", 1, (size & 1) != 0, &hl);
    if (head && (hl < 4 || memcmp(head + hl - 4, "\r\n\r\n", 4) != 0 || al_http_head_end(head, hl) != hl))
      abort();
    free(head);
  } else if (st < 400 || st > 505) {
    abort();
  }
  al_http_req_clear(&r);
  return 0;
}
