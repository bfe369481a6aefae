/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_tls_sni.c - libFuzzer target for the ClientHello reader (tls_sni.c).
 * The input (after a first byte that picks a chunk size) is fed whole and
 * then in chunks; both must end in the same status and the same server
 * name, the raw bytes kept must be exactly those fed, and a name read is
 * a normalised host name. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls_sni.h"

static al_sni_status run(const uint8_t *data, size_t size, size_t chunk, char *host) {
  al_sni_reader *r = al_sni_reader_new(0);
  if (r == NULL)
    abort();
  al_sni_status st = AL_SNI_NEED_MORE;
  size_t pos = 0;
  do {
    size_t k = size - pos < chunk ? size - pos : chunk;
    st = al_sni_feed(r, data + pos, k);
    pos += k;
  } while (st == AL_SNI_NEED_MORE && pos < size);
  size_t rl;
  const uint8_t *raw = al_sni_raw(r, &rl);
  if (rl != pos || (rl > 0 && memcmp(raw, data, rl) != 0))
    abort();
  host[0] = '\0';
  if (st == AL_SNI_DONE) {
    const char *h = al_sni_host(r);
    if (h == NULL || strlen(h) >= AL_HOST_MAX)
      abort();
    strcpy(host, h);
    char again[AL_HOST_MAX];
    airlock_error *err = NULL;
    if (al_host_normalise(h, again, sizeof(again), &err) != 0 || strcmp(again, h) != 0)
      abort();
  } else if (al_sni_host(r) != NULL) {
    abort();
  }
  /* a final status is final: more input changes nothing */
  if (st != AL_SNI_NEED_MORE && al_sni_feed(r, "x", 1) != st)
    abort();
  al_sni_reader_free(r);
  return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  size_t chunk = (size_t)data[0] % 64 + 1;
  data++;
  size--;
  char h1[AL_HOST_MAX], h2[AL_HOST_MAX];
  al_sni_status whole = run(data, size, size ? size : 1, h1);
  al_sni_status pieces = run(data, size, chunk, h2);
  /* DONE, and the name read, do not depend on how the bytes arrived (the
   * error found first may: a chunk that crosses the cap ends in OVERSIZED
   * before the header it cuts is judged) */
  if ((whole == AL_SNI_DONE) != (pieces == AL_SNI_DONE) && whole != AL_SNI_NEED_MORE && pieces != AL_SNI_NEED_MORE)
    abort();
  if (whole == AL_SNI_DONE && pieces == AL_SNI_DONE && strcmp(h1, h2) != 0)
    abort();
  return 0;
}
