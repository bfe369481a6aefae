/* SPDX-License-Identifier: Apache-2.0 */
/* base64.c - base64 encoding and strict decoding (see base64.h). */
#include "base64.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *al_base64_encode(const void *data, size_t len) {
  if (len > (SIZE_MAX - 1) / 4 * 3 - 2)
    return NULL;
  const unsigned char *in = data;
  char *out = malloc((len + 2) / 3 * 4 + 1);
  if (out == NULL)
    return NULL;
  char *o = out;
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    *o++ = alphabet[v >> 18];
    *o++ = alphabet[(v >> 12) & 63];
    *o++ = alphabet[(v >> 6) & 63];
    *o++ = alphabet[v & 63];
  }
  if (i < len) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
    *o++ = alphabet[v >> 18];
    *o++ = alphabet[(v >> 12) & 63];
    *o++ = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  *o = '\0';
  return out;
}

static int value_of(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

long al_base64_decode(const char *in, size_t len, unsigned char *out, size_t cap) {
  if (len % 4 != 0)
    return -1;
  size_t n = 0;
  for (size_t i = 0; i < len; i += 4) {
    bool last = i + 4 == len;
    int pad = last ? (in[i + 3] == '=') + (in[i + 3] == '=' && in[i + 2] == '=') : 0;
    int v[4];
    for (int k = 0; k < 4 - pad; k++)
      if ((v[k] = value_of(in[i + k])) < 0)
        return -1;
    for (int k = 4 - pad; k < 4; k++)
      v[k] = 0;
    uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
    size_t bytes = 3 - (size_t)pad;
    /* canonical: the bits under the padding are zero */
    if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
      return -1;
    if (n + bytes > cap)
      return -1;
    out[n++] = (unsigned char)(w >> 16);
    if (bytes > 1)
      out[n++] = (unsigned char)(w >> 8);
    if (bytes > 2)
      out[n++] = (unsigned char)w;
  }
  return (long)n;
}
