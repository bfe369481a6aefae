/* SPDX-License-Identifier: Apache-2.0 */
/* tls_sni.c - the incremental ClientHello reader (see tls_sni.h).  Bytes
 * are appended to a raw buffer (what the proxy forwards later); records are
 * unwrapped from it into a handshake buffer, and the ClientHello is parsed
 * only once its announced length has arrived, with every vector length
 * checked against what contains it (RFC 8446 section 4.1.2, RFC 6066
 * section 3). */
#define _GNU_SOURCE
#include "tls_sni.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define TLS_RECORD_MAX 16384 /* plaintext record limit, RFC 8446 5.1 */
#define REC_HANDSHAKE 22
#define HS_CLIENT_HELLO 1
#define EXT_SERVER_NAME 0x0000
#define EXT_ECH 0xfe0d
#define EXT_ESNI 0xffce

struct al_sni_reader {
  size_t cap;
  uint8_t *raw;
  size_t raw_len, raw_alloc;
  size_t pos;       /* next raw byte not yet unwrapped */
  size_t rec_left;  /* payload bytes left in the current record */
  bool seen_record; /* a first record header was read */
  uint8_t *hs;      /* handshake bytes (record payloads concatenated) */
  size_t hs_len;
  al_sni_status final;
  bool finished;
  char host[AL_HOST_MAX];
};

al_sni_reader *al_sni_reader_new(size_t cap) {
  al_sni_reader *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return NULL;
  r->cap = cap ? cap : AL_SNI_DEFAULT_CAP;
  return r;
}

void al_sni_reader_free(al_sni_reader *r) {
  if (r == NULL)
    return;
  free(r->raw);
  free(r->hs);
  free(r);
}

const char *al_sni_host(const al_sni_reader *r) { return r && r->finished && r->final == AL_SNI_DONE ? r->host : NULL; }

const uint8_t *al_sni_raw(const al_sni_reader *r, size_t *len) {
  if (len)
    *len = r ? r->raw_len : 0;
  return r ? r->raw : NULL;
}

const char *al_sni_strerror(al_sni_status st) {
  switch (st) {
  case AL_SNI_NEED_MORE: return "ClientHello incomplete";
  case AL_SNI_DONE: return "server name read";
  case AL_SNI_ERR_NOT_TLS: return "not a TLS handshake";
  case AL_SNI_ERR_NOT_CLIENT_HELLO: return "first handshake message is not a ClientHello";
  case AL_SNI_ERR_MALFORMED: return "malformed ClientHello";
  case AL_SNI_ERR_NO_SNI: return "ClientHello has no server name";
  case AL_SNI_ERR_SEVERAL_NAMES: return "ClientHello has more than one server name";
  case AL_SNI_ERR_ECH: return "ClientHello uses Encrypted Client Hello";
  case AL_SNI_ERR_BAD_NAME: return "server name is not a valid host name";
  case AL_SNI_ERR_OVERSIZED: return "ClientHello too large";
  case AL_SNI_ERR_NOMEM: return "out of memory";
  }
  return "unknown status";
}

/* A bounds-checked cursor over a byte vector. */
typedef struct {
  const uint8_t *p;
  size_t left;
} cur;

static bool take(cur *c, size_t n, const uint8_t **out) {
  if (c->left < n)
    return false;
  if (out)
    *out = c->p;
  c->p += n;
  c->left -= n;
  return true;
}

static bool u8(cur *c, unsigned *v) {
  const uint8_t *b;
  if (!take(c, 1, &b))
    return false;
  *v = b[0];
  return true;
}

static bool u16(cur *c, unsigned *v) {
  const uint8_t *b;
  if (!take(c, 2, &b))
    return false;
  *v = (unsigned)b[0] << 8 | b[1];
  return true;
}

/* a sub-cursor over a vector with a 1- or 2-byte length prefix */
static bool vec(cur *c, int lenbytes, cur *sub) {
  unsigned n;
  if (!(lenbytes == 1 ? u8(c, &n) : u16(c, &n)))
    return false;
  const uint8_t *b;
  if (!take(c, n, &b))
    return false;
  sub->p = b;
  sub->left = n;
  return true;
}

static bool is_ech(unsigned type) { return type == EXT_ECH || (type >= 0xfe08 && type <= 0xfe0c) || type == EXT_ESNI; }

static al_sni_status parse_server_name(cur ext, char *host, size_t hostlen, bool *found) {
  cur list;
  if (!vec(&ext, 2, &list) || ext.left != 0 || list.left == 0)
    return AL_SNI_ERR_MALFORMED;
  while (list.left > 0) {
    unsigned type;
    cur name;
    if (!u8(&list, &type) || !vec(&list, 2, &name))
      return AL_SNI_ERR_MALFORMED;
    if (type != 0) /* only host_name (0) is defined */
      return AL_SNI_ERR_MALFORMED;
    if (*found)
      return AL_SNI_ERR_SEVERAL_NAMES;
    *found = true;
    if (name.left == 0 || name.left > 253)
      return AL_SNI_ERR_BAD_NAME;
    char raw[254];
    for (size_t i = 0; i < name.left; i++) {
      uint8_t ch = name.p[i];
      bool ok =
          (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
      if (!ok) /* RFC 6066: ASCII, A-labels; a NUL or UTF-8 is refused */
        return AL_SNI_ERR_BAD_NAME;
      raw[i] = (char)ch;
    }
    raw[name.left] = '\0';
    if (raw[name.left - 1] == '.') /* RFC 6066: no trailing dot */
      return AL_SNI_ERR_BAD_NAME;
    if (al_ip_parse(raw, NULL) != AL_IP_NOT)
      return AL_SNI_ERR_BAD_NAME;
    airlock_error *err = NULL;
    if (al_host_normalise(raw, host, hostlen, &err) < 0) {
      airlock_error_free(&err);
      return AL_SNI_ERR_BAD_NAME;
    }
  }
  return AL_SNI_DONE;
}

static al_sni_status parse_client_hello(const uint8_t *body, size_t len, char *host, size_t hostlen) {
  cur c = {body, len};
  unsigned version;
  cur sid, suites, comp, exts;
  if (!u16(&c, &version) || (version >> 8) != 3 || !take(&c, 32, NULL))
    return AL_SNI_ERR_MALFORMED;
  if (!vec(&c, 1, &sid) || sid.left > 32)
    return AL_SNI_ERR_MALFORMED;
  if (!vec(&c, 2, &suites) || suites.left < 2 || suites.left % 2 != 0)
    return AL_SNI_ERR_MALFORMED;
  if (!vec(&c, 1, &comp) || comp.left < 1)
    return AL_SNI_ERR_MALFORMED;
  if (c.left == 0)
    return AL_SNI_ERR_NO_SNI; /* no extensions at all */
  if (!vec(&c, 2, &exts) || c.left != 0)
    return AL_SNI_ERR_MALFORMED;
  uint64_t seen[65536 / 64];
  memset(seen, 0, sizeof(seen));
  bool found = false, ech = false;
  al_sni_status sni = AL_SNI_ERR_NO_SNI;
  while (exts.left > 0) {
    unsigned type;
    cur data;
    if (!u16(&exts, &type) || !vec(&exts, 2, &data))
      return AL_SNI_ERR_MALFORMED;
    if ((seen[type / 64] >> (type % 64)) & 1)
      return AL_SNI_ERR_MALFORMED; /* RFC 8446 4.2: no extension twice */
    seen[type / 64] |= (uint64_t)1 << (type % 64);
    if (is_ech(type))
      ech = true;
    else if (type == EXT_SERVER_NAME)
      sni = parse_server_name(data, host, hostlen, &found);
  }
  if (ech)
    return AL_SNI_ERR_ECH;
  if (sni == AL_SNI_DONE && !found)
    return AL_SNI_ERR_NO_SNI;
  return sni;
}

static al_sni_status finish(al_sni_reader *r, al_sni_status st) {
  r->final = st;
  r->finished = true;
  if (st != AL_SNI_DONE)
    r->host[0] = '\0';
  return st;
}

static bool append(uint8_t **buf, size_t *len, size_t *alloc, const uint8_t *data, size_t n) {
  if (n == 0)
    return true;
  if (*len + n > *alloc) {
    size_t na = *alloc ? *alloc : 512;
    while (na < *len + n)
      na *= 2;
    uint8_t *nb = realloc(*buf, na);
    if (nb == NULL)
      return false;
    *buf = nb;
    *alloc = na;
  }
  memcpy(*buf + *len, data, n);
  *len += n;
  return true;
}

al_sni_status al_sni_feed(al_sni_reader *r, const void *data, size_t len) {
  if (r == NULL)
    return AL_SNI_ERR_NOMEM;
  if (r->finished)
    return r->final;
  if (len > 0 && data == NULL)
    return finish(r, AL_SNI_ERR_MALFORMED);
  if (!append(&r->raw, &r->raw_len, &r->raw_alloc, data, len))
    return finish(r, AL_SNI_ERR_NOMEM);
  for (;;) {
    if (r->rec_left == 0) {
      size_t avail = r->raw_len - r->pos;
      if (avail == 0)
        break;
      const uint8_t *h = r->raw + r->pos;
      /* judge the first bytes as soon as they arrive */
      if (avail >= 1 && h[0] != REC_HANDSHAKE)
        return finish(r, r->seen_record ? AL_SNI_ERR_MALFORMED : AL_SNI_ERR_NOT_TLS);
      if (avail >= 2 && h[1] != 3)
        return finish(r, r->seen_record ? AL_SNI_ERR_MALFORMED : AL_SNI_ERR_NOT_TLS);
      if (avail < 5)
        break;
      size_t rl = (size_t)h[3] << 8 | h[4];
      if (rl == 0 || rl > TLS_RECORD_MAX) /* empty handshake records are forbidden (RFC 8446 5.1) */
        return finish(r, r->seen_record ? AL_SNI_ERR_MALFORMED : AL_SNI_ERR_NOT_TLS);
      r->seen_record = true;
      r->rec_left = rl;
      r->pos += 5;
    }
    size_t avail = r->raw_len - r->pos;
    if (avail == 0)
      break;
    size_t n = avail < r->rec_left ? avail : r->rec_left;
    size_t hs_alloc = r->hs_len; /* grown exactly: bounded by the cap below */
    uint8_t *nh = realloc(r->hs, r->hs_len + n);
    if (nh == NULL)
      return finish(r, AL_SNI_ERR_NOMEM);
    r->hs = nh;
    memcpy(r->hs + hs_alloc, r->raw + r->pos, n);
    r->hs_len += n;
    r->pos += n;
    r->rec_left -= n;
    /* the cap counts every byte up to the end of the hello, record headers
     * included, however the bytes arrived */
    if (r->pos > r->cap)
      return finish(r, AL_SNI_ERR_OVERSIZED);
    if (r->hs[0] != HS_CLIENT_HELLO)
      return finish(r, AL_SNI_ERR_NOT_CLIENT_HELLO);
    if (r->hs_len >= 4) {
      size_t body = (size_t)r->hs[1] << 16 | (size_t)r->hs[2] << 8 | r->hs[3];
      /* record headers of a hello that size: one per 16 KiB */
      if (4 + body + 5 > r->cap)
        return finish(r, AL_SNI_ERR_OVERSIZED);
      if (r->hs_len >= 4 + body)
        return finish(r, parse_client_hello(r->hs + 4, body, r->host, sizeof(r->host)));
    }
  }
  if (r->raw_len > r->cap)
    return finish(r, AL_SNI_ERR_OVERSIZED);
  return AL_SNI_NEED_MORE;
}
