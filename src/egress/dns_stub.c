/* SPDX-License-Identifier: Apache-2.0 */
/* dns_stub.c - the answer of the egress proxy's DNS stub to one query from
 * a sandbox (see dns_stub.h and docs/egress.md).
 *
 * The sandbox's resolv.conf points at this stub.  It never forwards a query
 * and never looks anything up: a name is answered from the egress rules
 * alone, so the name itself (c2VjcmV0.evil.example) cannot carry data to a
 * server outside.  An allowed name resolves to 198.18.0.1, a synthetic
 * address that has no route in the sandbox; programs reach the host through
 * the HTTP proxy anyway, and the address only satisfies tools that check
 * that a name resolves before they use the proxy.
 *
 * Hand-written rather than built on a DNS library on purpose: the stub
 * needs a tiny subset of the protocol (one question, no compression in the
 * query, three fixed kinds of answer) and reads bytes chosen by the
 * sandbox.  A full DNS library would parse far more than this (every record
 * type, compression in all sections, EDNS options) and add attack surface
 * for no gain.  Every length is checked against the packet's; nothing
 * after the question is read. */
#include "dns_stub.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define HDR_LEN 12
#define NAME_WIRE_MAX 255
#define TYPE_A 1
#define CLASS_IN 1

#define FLAG_QR 0x8000u
#define FLAG_AA 0x0400u
#define FLAG_RD 0x0100u

/* the longest answer: header, a 255-byte name with type and class, and an
 * A record with a compressed name */
#define ANSWER_MAX (HDR_LEN + NAME_WIRE_MAX + 4 + 16)
_Static_assert(ANSWER_MAX <= AL_DNS_ANSWER_MIN, "every answer fits in 512 bytes");

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void put16(uint8_t *p, unsigned v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static bool is_ldh(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

__attribute__((format(printf, 4, 5))) static void note(al_dns_info *info, int verdict, int rcode, const char *fmt,
                                                       ...) {
  info->verdict = verdict;
  info->rcode = rcode;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(info->reason, sizeof(info->reason), fmt, ap);
  va_end(ap);
}

/* Write the answer header, then the question (query[HDR_LEN..qend), none
 * when qend is 0) and, with an_a, the A record.  Returns the length. */
static size_t reply(const uint8_t *query, size_t qend, uint8_t *out, unsigned rcode, bool aa, bool an_a) {
  unsigned qflags = get16(query + 2);
  unsigned flags = FLAG_QR | (qflags & 0x7800u) /* opcode */ | (qflags & FLAG_RD) | rcode;
  if (aa)
    flags |= FLAG_AA;
  memcpy(out, query, 2); /* ID */
  put16(out + 2, flags);
  put16(out + 4, qend ? 1 : 0);
  put16(out + 6, an_a ? 1 : 0);
  put16(out + 8, 0);
  put16(out + 10, 0);
  size_t n = HDR_LEN;
  if (qend) {
    memcpy(out + n, query + HDR_LEN, qend - HDR_LEN);
    n = qend;
  }
  if (an_a) {
    static const uint8_t addr[4] = AL_DNS_SYNTHETIC_A;
    put16(out + n, 0xc000u | HDR_LEN); /* the name: a pointer to the question's */
    put16(out + n + 2, TYPE_A);
    put16(out + n + 4, CLASS_IN);
    put16(out + n + 6, 0);
    put16(out + n + 8, AL_DNS_TTL);
    put16(out + n + 10, sizeof(addr));
    memcpy(out + n + 12, addr, sizeof(addr));
    n += 16;
  }
  return n;
}

/* append s (n bytes) to info->name, keeping it NUL-terminated */
static void name_append(al_dns_info *info, size_t *tlen, const char *s, size_t n) {
  if (*tlen + n >= sizeof(info->name))
    return; /* cannot happen: 255 wire bytes need at most 1013 characters */
  memcpy(info->name + *tlen, s, n);
  *tlen += n;
  info->name[*tlen] = '\0';
}

size_t al_dns_answer(const uint8_t *query, size_t len, const al_egress_ruleset *rs, uint8_t *out, size_t outcap,
                     al_dns_info *info) {
  al_dns_info scratch;
  if (info == NULL)
    info = &scratch;
  info->name[0] = '\0';
  info->qtype = 0;
  info->reason[0] = '\0';

  if (query == NULL || out == NULL || outcap < AL_DNS_ANSWER_MIN) {
    note(info, AL_DNS_MALFORMED, -1, "no answer buffer of %d bytes", AL_DNS_ANSWER_MIN);
    return 0;
  }
  if (len < HDR_LEN) {
    note(info, AL_DNS_MALFORMED, -1, "shorter than a DNS header (%zu bytes)", len);
    return 0;
  }
  unsigned flags = get16(query + 2);
  if (flags & FLAG_QR) {
    note(info, AL_DNS_MALFORMED, -1, "a response, not a query");
    return 0;
  }
  unsigned opcode = (flags >> 11) & 0xfu;
  if (opcode != 0) {
    note(info, AL_DNS_MALFORMED, AL_DNS_NOTIMP, "opcode %u is not QUERY", opcode);
    return reply(query, 0, out, AL_DNS_NOTIMP, false, false);
  }
  unsigned qd = get16(query + 4), an = get16(query + 6), ns = get16(query + 8), ar = get16(query + 10);
  if (qd != 1) {
    note(info, AL_DNS_MALFORMED, AL_DNS_FORMERR, "%u questions, not 1", qd);
    return reply(query, 0, out, AL_DNS_FORMERR, false, false);
  }
  if (an != 0 || ns != 0 || ar > 1) {
    note(info, AL_DNS_MALFORMED, AL_DNS_FORMERR, "records in a query: %u answer, %u authority, %u additional", an, ns,
         ar);
    return reply(query, 0, out, AL_DNS_FORMERR, false, false);
  }

  /* The question name: labels of 1-63 bytes up to the root label, 255
   * bytes at most on the wire, no compression.  text gets the labels
   * joined by dots (at most 253 characters when the name fits), for
   * al_host_normalise; it is used only if every byte is a letter, digit or
   * '-', so a '.' or NUL inside a label cannot change the name. */
  char text[NAME_WIRE_MAX];
  size_t tlen = 0, elen = 0;
  bool ldh = true;
  size_t pos = HDR_LEN;
  for (;;) {
    if (pos >= len) {
      note(info, AL_DNS_MALFORMED, AL_DNS_FORMERR, "truncated question");
      return reply(query, 0, out, AL_DNS_FORMERR, false, false);
    }
    uint8_t l = query[pos];
    if ((l & 0xc0u) == 0xc0u) {
      note(info, AL_DNS_MALFORMED, AL_DNS_FORMERR, "compression pointer in the question");
      return reply(query, 0, out, AL_DNS_FORMERR, false, false);
    }
    if (l > 63) {
      note(info, AL_DNS_MALFORMED, AL_DNS_FORMERR, "label length %u over 63", l);
      return reply(query, 0, out, AL_DNS_FORMERR, false, false);
    }
    /* this label and, after it, at least the root label */
    size_t wire = pos - HDR_LEN + 1 + l + (l ? 1 : 0);
    if (wire > NAME_WIRE_MAX) {
      note(info, AL_DNS_MALFORMED, AL_DNS_FORMERR, "name longer than %d bytes", NAME_WIRE_MAX);
      return reply(query, 0, out, AL_DNS_FORMERR, false, false);
    }
    if (l == 0) {
      pos++;
      break;
    }
    if (len - pos - 1 < l) {
      note(info, AL_DNS_MALFORMED, AL_DNS_FORMERR, "truncated question");
      return reply(query, 0, out, AL_DNS_FORMERR, false, false);
    }
    if (tlen > 0) {
      text[tlen++] = '.';
      name_append(info, &elen, ".", 1);
    }
    for (size_t i = 0; i < l; i++) {
      uint8_t c = query[pos + 1 + i];
      text[tlen++] = (char)c;
      if (is_ldh(c)) {
        name_append(info, &elen, (const char *)&c, 1);
      } else {
        char esc[8];
        snprintf(esc, sizeof(esc), "\\%03u", c);
        name_append(info, &elen, esc, 4);
        ldh = false;
      }
    }
    pos += 1 + (size_t)l;
  }
  text[tlen] = '\0';
  if (tlen == 0)
    name_append(info, &elen, ".", 1);
  if (len - pos < 4) {
    note(info, AL_DNS_MALFORMED, AL_DNS_FORMERR, "truncated question");
    return reply(query, 0, out, AL_DNS_FORMERR, false, false);
  }
  uint16_t qtype = get16(query + pos), qclass = get16(query + pos + 2);
  pos += 4;
  info->qtype = qtype;
  /* an additional record (EDNS OPT) may follow; it is not read, and the
   * answer has none (RFC 6891: a responder without EDNS) */
  if (ar == 0 && pos != len) {
    note(info, AL_DNS_MALFORMED, AL_DNS_FORMERR, "%zu bytes after the question", len - pos);
    return reply(query, 0, out, AL_DNS_FORMERR, false, false);
  }
  size_t qend = pos;
  if (qclass != CLASS_IN) {
    note(info, AL_DNS_DENY, AL_DNS_REFUSED, "class %u, not IN", qclass);
    return reply(query, qend, out, AL_DNS_REFUSED, false, false);
  }

  if (!ldh) {
    note(info, AL_DNS_DENY, AL_DNS_NXDOMAIN, "invalid name: a byte other than a letter, digit or '-'");
    return reply(query, qend, out, AL_DNS_NXDOMAIN, true, false);
  }
  char norm[AL_HOST_MAX];
  airlock_error *err = NULL;
  if (al_host_normalise(text, norm, sizeof(norm), &err) < 0) {
    note(info, AL_DNS_DENY, AL_DNS_NXDOMAIN, "invalid name: %s", err && err->msg ? err->msg : "out of memory");
    airlock_error_free(&err);
    return reply(query, qend, out, AL_DNS_NXDOMAIN, true, false);
  }
  snprintf(info->name, sizeof(info->name), "%s", norm);
  if (!al_egress_name_allowed(rs, norm)) {
    note(info, AL_DNS_DENY, AL_DNS_NXDOMAIN, "name not allowed");
    return reply(query, qend, out, AL_DNS_NXDOMAIN, true, false);
  }
  if (qtype == TYPE_A) {
    note(info, AL_DNS_ALLOW, AL_DNS_NOERROR, "allowed: synthetic A record");
    return reply(query, qend, out, AL_DNS_NOERROR, true, true);
  }
  note(info, AL_DNS_ALLOW, AL_DNS_NOERROR, "allowed: no record of type %u (NODATA)", qtype);
  return reply(query, qend, out, AL_DNS_NOERROR, true, false);
}
