/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_gvisor.c - what the gvisor backend reads that a command controls:
 * runsc's stderr, which carries the command's own stderr before runsc's
 * error line.  The input is cut into chunks (the first byte of each chunk
 * gives the next chunk's length) appended to the tail, which is then
 * searched for runsc's error. */
#include "gvisor.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  al_gvisor_tail t = {.len = 0};
  t.text[0] = '\0';
  size_t i = 0;
  while (i < size) {
    size_t n = data[i++];
    if (n == 255 && i + 1 < size) /* a long chunk: two more length bytes */
      n = (size_t)data[i] << 8 | data[i + 1], i += 2;
    if (n > size - i)
      n = size - i;
    al_gvisor_tail_append(&t, (const char *)data + i, n);
    i += n;
    if (t.len >= sizeof(t.text) || t.text[t.len] != '\0')
      __builtin_trap();
  }
  int code = 0;
  const char *msg = NULL;
  if (al_gvisor_runsc_error(&t, &code, &msg)) {
    if (code != 125 && code != 126 && code != 127)
      __builtin_trap();
    if (msg < t.text || msg > t.text + sizeof(t.text) || strlen(msg) >= sizeof(t.text))
      __builtin_trap();
  }
  return 0;
}
