/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_client.c - the client's answer from a node on a unix socket
 * (client_unix.c: libhttp_parser and the callbacks around it, the body
 * sink, Retry-After, the node's JSON errors).  The input is the node's
 * whole answer, written into one end of a socket pair the client holds as
 * its kept connection; one request, buffered and then streamed. */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_priv.h"

static int sink_write(void *ctx, const char *data, size_t len, airlock_error **err) {
  (void)ctx, (void)data, (void)err;
  return len > 0 && data[0] == '!' ? -1 : 0; /* a sink that sometimes refuses */
}

static void one(const uint8_t *data, size_t size, bool stream) {
  airlock_client *c = NULL;
  airlock_error *err = NULL;
  if (airlock_client_open("unix:/nonexistent/fuzz.sock", "tok", NULL, &c, &err) < 0) {
    airlock_error_free(&err);
    return;
  }
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
    airlock_client_close(&c);
    return;
  }
  /* the answer first (a socket buffer holds it), then the node's end stops
   * writing; it stays open, so that the request can still be sent */
  size_t off = 0;
  while (off < size) {
    ssize_t w = write(sp[1], data + off, size - off);
    if (w <= 0)
      break;
    off += (size_t)w;
  }
  shutdown(sp[1], SHUT_WR);
  c->unix_fd = sp[0];
  al_client_response resp;
  al_client_sink sink = {.write = sink_write};
  al_client_perform(c, "POST", "/v1/exec", NULL, "{}", 2, stream ? &sink : NULL, &resp, &err);
  airlock_error_free(&err);
  al_client_response_clear(&resp);
  airlock_client_close(&c);
  close(sp[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 200000) /* more than a socket pair buffers without a reader */
    return 0;
  one(data, size, false);
  one(data, size, true);
  return 0;
}
