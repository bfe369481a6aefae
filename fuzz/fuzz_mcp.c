/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_mcp.c - libFuzzer target for what an MCP client controls: the lines
 * `airlock mcp` reads on stdin, through its message handler without a node
 * (so tools/call checks its arguments and answers at once, with no thread).
 * Every answer must be one line of JSON, a JSON-RPC 2.0 object with either
 * a result or an error; a request with a valid id gets exactly one answer,
 * a notification none.  The input is split into lines as stdin is; the base64
 * decoder that write_file uses gets the bytes too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base64.h"
#include "mcp.h"

static size_t answers;

static void on_write(void *ctx, const char *line, size_t len) {
  (void)ctx;
  if (memchr(line, '\n', len))
    abort(); /* the framing: one message a line */
  json_error_t err;
  json_t *msg = json_loadb(line, len, 0, &err);
  if (!json_is_object(msg))
    abort();
  const char *v = json_string_value(json_object_get(msg, "jsonrpc"));
  if (!v || strcmp(v, "2.0") != 0)
    abort();
  if (!json_object_get(msg, "id") || !json_object_get(msg, "result") == !json_object_get(msg, "error"))
    abort();
  json_t *e = json_object_get(msg, "error");
  if (e && (!json_is_integer(json_object_get(e, "code")) || !json_is_string(json_object_get(e, "message"))))
    abort();
  json_decref(msg);
  answers++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  al_mcp *m = al_mcp_new(NULL, on_write, NULL);
  if (m == NULL)
    return 0;
  const char *p = (const char *)data, *end = p + size;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    /* one answer for a request with a valid id, none for a notification */
    answers = 0;
    al_mcp_handle(m, p, len);
    if (answers > 1)
      abort();
    json_t *msg = json_loadb(p, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    json_t *id = json_object_get(msg, "id");
    bool request = json_is_object(msg) && json_is_string(json_object_get(msg, "method")) &&
                   (json_is_string(id) || json_is_integer(id));
    bool notification = json_is_object(msg) && json_is_string(json_object_get(msg, "method")) && !id &&
                        json_is_string(json_object_get(msg, "jsonrpc")) &&
                        strcmp(json_string_value(json_object_get(msg, "jsonrpc")), "2.0") == 0;
    if ((request && answers != 1) || (notification && answers != 0))
      abort();
    json_decref(msg);
    p += len + (nl ? 1 : 0);
  }
  al_mcp_free(&m);

  unsigned char out[4200];
  long n = al_base64_decode((const char *)data, size < 5600 ? size : 5600, out, sizeof(out));
  if (n > (long)sizeof(out))
    abort();
  if (n >= 0) { /* what decodes encodes back to the same text */
    char *again = al_base64_encode(out, (size_t)n);
    if (again == NULL || strlen(again) != (size < 5600 ? size : 5600) || memcmp(again, data, strlen(again)) != 0)
      abort();
    free(again);
  }
  return 0;
}
