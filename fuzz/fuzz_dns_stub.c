/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_dns_stub.c - libFuzzer target for the DNS stub's answer to one query
 * (dns_stub.c).  Two rule sets are built once (names and wildcards; "*:*"
 * with deny rules), the low bit of the first byte picks one, and the input
 * is answered as a UDP query into a heap buffer of exactly 512 bytes.
 * Checked: the length is at most the buffer's and 0 only for a short
 * header or a response; an answer echoes the ID and RD, has QR set and RA
 * clear, carries the RCODE that info reports, echoes the question byte for
 * byte, and has an A record (198.18.0.1) only for an allowed name asked as
 * type A; an allowed name is one al_egress_name_allowed allows; the same
 * input gives the same answer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_stub.h"

static al_egress_ruleset *sets[2];

static al_egress_ruleset *build(const char *const *allow, size_t na, const char *const *deny, size_t nd) {
  al_egress_ruleset *rs = al_egress_ruleset_new();
  if (rs == NULL)
    abort();
  airlock_error *err = NULL;
  for (size_t i = 0; i < na; i++)
    if (al_egress_ruleset_add(rs, AL_EGRESS_ALLOW, allow[i], &err) != 0)
      abort();
  for (size_t i = 0; i < nd; i++)
    if (al_egress_ruleset_add(rs, AL_EGRESS_DENY, deny[i], &err) != 0)
      abort();
  return rs;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  static const char *const a0[] = {"api.example.com", "*.example.org", "git.example.net:22", "a"};
  static const char *const d0[] = {"*.bad.example.org:*", "x.example.org"};
  static const char *const a1[] = {"*:*", "203.0.113.7"};
  static const char *const d1[] = {"tunnel.example:*", "*.evil.example:*", "*:25"};
  sets[0] = build(a0, sizeof(a0) / sizeof(a0[0]), d0, sizeof(d0) / sizeof(d0[0]));
  sets[1] = build(a1, sizeof(a1) / sizeof(a1[0]), d1, sizeof(d1) / sizeof(d1[0]));
  return 0;
}

static unsigned g16(const uint8_t *b) { return (unsigned)(b[0] << 8 | b[1]); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const al_egress_ruleset *rs = sets[size > 0 ? data[0] & 1 : 0];
  enum { CAP = AL_DNS_ANSWER_MIN };
  uint8_t *out = malloc(CAP);
  uint8_t *again = malloc(CAP);
  if (out == NULL || again == NULL)
    abort();
  al_dns_info info;
  size_t n = al_dns_answer(data, size, rs, out, CAP, &info);
  if (n > CAP || memchr(info.name, '\0', sizeof(info.name)) == NULL ||
      memchr(info.reason, '\0', sizeof(info.reason)) == NULL || info.reason[0] == '\0')
    abort();
  if (al_dns_answer(data, size, rs, again, CAP, NULL) != n || memcmp(out, again, n) != 0)
    abort();
  if (n == 0) {
    if (info.verdict != AL_DNS_MALFORMED || info.rcode != -1 || (size >= 12 && !(data[2] & 0x80)))
      abort();
  } else {
    if (n < 12 || size < 12 || memcmp(out, data, 2) != 0)
      abort();
    unsigned flags = g16(out + 2), qd = g16(out + 4), an = g16(out + 6);
    if (!(flags & 0x8000) || (flags & 0x0080) || (flags & 0x0100) != (g16(data + 2) & 0x0100) ||
        (int)(flags & 0xf) != info.rcode || g16(out + 8) != 0 || g16(out + 10) != 0 || qd > 1 || an > 1)
      abort();
    if ((info.verdict == AL_DNS_ALLOW) != (info.rcode == AL_DNS_NOERROR))
      abort();
    size_t qend = 12;
    if (qd == 1) {
      /* the echoed question ends after the root label and type and class */
      size_t p = 12;
      while (p < n && out[p] != 0)
        p += 1 + out[p];
      qend = p + 5;
      if (qend > n || qend > size || memcmp(out + 12, data + 12, qend - 12) != 0)
        abort();
    }
    if (an == 1) {
      static const uint8_t a[16] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18, 0, 1};
      if (n != qend + 16 || memcmp(out + qend, a, 16) != 0 || info.qtype != 1)
        abort();
    } else if (n != qend) {
      abort();
    }
    if (info.verdict == AL_DNS_ALLOW && (qd != 1 || an != (info.qtype == 1) || !al_egress_name_allowed(rs, info.name)))
      abort();
  }
  free(out);
  free(again);
  return 0;
}
