/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_vm_proto.c - the --isolation vm control channel (src/vm/vm_proto.c):
 * the frame reader both ends run on a byte stream the other end controls
 * (the guest agent reads the host's frames; airlock reads frames the guest,
 * that is the sandboxed command's kernel, writes), and the exec request's
 * argv/env/cwd split.  The input is cut in two at a point its first byte
 * picks and fed the way both readers buffer a stream (complete frames
 * consumed, the rest kept).  An exec that parses is built again and must
 * parse to the same strings. */
#include "vm_proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_exec(const uint8_t *payload, uint32_t len) {
  char **argv, **env, *cwd;
  if (al_vm_exec_parse(payload, len, &argv, &env, &cwd) < 0)
    return;
  uint32_t blen;
  uint8_t *built = al_vm_exec_build(argv, env, cwd, &blen);
  if (!built || blen != len || memcmp(built, payload, 8) != 0) /* kind, argc (envc follows) */
    abort();
  char **argv2, **env2, *cwd2;
  if (al_vm_exec_parse(built, blen, &argv2, &env2, &cwd2) < 0)
    abort();
  for (size_t i = 0; argv[i] || argv2[i]; i++)
    if (!argv[i] || !argv2[i] || strcmp(argv[i], argv2[i]) != 0)
      abort();
  for (size_t i = 0; env[i] || env2[i]; i++)
    if (!env[i] || !env2[i] || strcmp(env[i], env2[i]) != 0)
      abort();
  if (strcmp(cwd, cwd2) != 0)
    abort();
  free(built);
  free(argv);
  free(argv2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  size_t split = size > 1 ? 1 + data[0] % (size - 1) : 1;
  data++;
  size--;
  split = split > size ? size : split;
  uint8_t *buf = malloc(size + 1);
  size_t have = 0, fed = 0;
  while (fed < size || have > 0) {
    size_t take = fed < split ? split - fed : size - fed;
    memcpy(buf + have, data + fed, take);
    have += take;
    fed += take;
    size_t off = 0;
    for (;;) {
      al_vm_frame f;
      long used = al_vm_frame_next(buf + off, have - off, &f);
      if (used < 0) {
        have = off = 0; /* the peer is dropped */
        fed = size;
        break;
      }
      if (used == 0)
        break;
      if ((size_t)used > have - off || f.payload + f.len != buf + off + (size_t)used)
        abort();
      if (f.kind == AL_VM_EXEC)
        check_exec(f.payload, f.len);
      off += (size_t)used;
    }
    memmove(buf, buf + off, have - off);
    have -= off;
    if (fed == size)
      break;
  }
  free(buf);
  return 0;
}
