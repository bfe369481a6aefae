/* SPDX-License-Identifier: Apache-2.0 */
/* test_dns_stub.c - the DNS stub's answers (dns_stub.c) to wire-format
 * queries built here: allowed names get the synthetic A record or NODATA,
 * other names NXDOMAIN; malformed headers and questions get FORMERR or
 * NOTIMP or are dropped; every truncation of a query is handled without
 * reading past its end (each is copied to a buffer of exactly its length,
 * for ASan); answers are parsed back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_stub.h"

#define T_A 1
#define T_AAAA 28
#define T_TXT 16
#define C_IN 1

typedef struct {
  uint8_t b[1024];
  size_t n;
} pkt;

static void put8(pkt *p, unsigned v) {
  assert_true(p->n < sizeof(p->b));
  p->b[p->n++] = (uint8_t)v;
}

static void put16(pkt *p, unsigned v) {
  put8(p, v >> 8);
  put8(p, v & 0xff);
}

static void put_bytes(pkt *p, const void *s, size_t n) {
  assert_true(p->n + n <= sizeof(p->b));
  memcpy(p->b + p->n, s, n);
  p->n += n;
}

static void header(pkt *p, unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns, unsigned ar) {
  p->n = 0;
  put16(p, id);
  put16(p, flags);
  put16(p, qd);
  put16(p, an);
  put16(p, ns);
  put16(p, ar);
}

/* a dotted name as labels and the root label ("" is the root alone) */
static void put_name(pkt *p, const char *name) {
  while (*name) {
    const char *dot = strchr(name, '.');
    size_t l = dot ? (size_t)(dot - name) : strlen(name);
    put8(p, (unsigned)l);
    put_bytes(p, name, l);
    name += l;
    if (*name == '.')
      name++;
  }
  put8(p, 0);
}

/* an EDNS OPT record: root name, type 41, payload size 1232, no options */
static void put_opt(pkt *p) {
  put8(p, 0);
  put16(p, 41);
  put16(p, 1232);
  put16(p, 0);
  put16(p, 0);
  put16(p, 0);
}

/* a plain query with RD set */
static void query(pkt *p, unsigned id, const char *name, unsigned qtype) {
  header(p, id, 0x0100, 1, 0, 0, 0);
  put_name(p, name);
  put16(p, qtype);
  put16(p, C_IN);
}

static al_egress_ruleset *rules(void) {
  al_egress_ruleset *rs = al_egress_ruleset_new();
  assert_non_null(rs);
  static const char *const allow[] = {"api.example.com.", "*.example.org", "git.example.net:22", "evil.example",
                                      "blocked.example.org"};
  static const char *const deny[] = {"blocked.example.org:*", "*.bad.example.org:*"};
  airlock_error *err = NULL;
  for (size_t i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
    assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_ALLOW, allow[i], &err), 0);
  for (size_t i = 0; i < sizeof(deny) / sizeof(deny[0]); i++)
    assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_DENY, deny[i], &err), 0);
  return rs;
}

/* Answer q from a heap copy of exactly its size (ASan sees any read past
 * the end) into a heap buffer of exactly cap bytes. */
static size_t answer(const pkt *q, size_t len, const al_egress_ruleset *rs, uint8_t *out, size_t cap,
                     al_dns_info *info) {
  uint8_t *in = malloc(len ? len : 1);
  assert_non_null(in);
  memcpy(in, q->b, len);
  uint8_t *o = malloc(cap ? cap : 1);
  assert_non_null(o);
  memset(o, 0xaa, cap);
  size_t n = al_dns_answer(in, len, rs, o, cap, info);
  assert_true(n <= cap);
  memcpy(out, o, n < 512 ? n : 512);
  free(o);
  free(in);
  return n;
}

static unsigned g16(const uint8_t *b) { return (unsigned)(b[0] << 8 | b[1]); }

/* Parse an answer back: the header fields, the echoed question (when
 * qdcount is 1 it must equal the query's), and an A record if any. */
typedef struct {
  unsigned id, flags, rcode, qd, an, ns, ar;
  uint8_t addr[4];
  unsigned ttl;
} parsed;

static parsed parse_answer(const uint8_t *a, size_t n, const pkt *q, size_t qend) {
  parsed r;
  memset(&r, 0, sizeof(r));
  assert_true(n >= 12);
  r.id = g16(a);
  r.flags = g16(a + 2);
  r.rcode = r.flags & 0xf;
  r.qd = g16(a + 4);
  r.an = g16(a + 6);
  r.ns = g16(a + 8);
  r.ar = g16(a + 10);
  assert_int_equal(r.id, g16(q->b));
  assert_true(r.flags & 0x8000);                              /* QR */
  assert_int_equal(r.flags & 0x0080, 0);                      /* RA */
  assert_int_equal(r.flags & 0x0200, 0);                      /* TC */
  assert_int_equal(r.flags & 0x0100, g16(q->b + 2) & 0x0100); /* RD echoed */
  assert_int_equal(r.ns, 0);
  assert_int_equal(r.ar, 0);
  size_t pos = 12;
  if (r.qd == 1) {
    assert_true(n >= qend);
    assert_memory_equal(a + 12, q->b + 12, qend - 12);
    pos = qend;
  } else {
    assert_int_equal(r.qd, 0);
  }
  if (r.an == 1) {
    assert_int_equal(n, pos + 16);
    assert_int_equal(g16(a + pos), 0xc00c); /* pointer to the question's name */
    assert_int_equal(g16(a + pos + 2), T_A);
    assert_int_equal(g16(a + pos + 4), C_IN);
    r.ttl = g16(a + pos + 6) << 16 | g16(a + pos + 8);
    assert_int_equal(g16(a + pos + 10), 4);
    memcpy(r.addr, a + pos + 12, 4);
  } else {
    assert_int_equal(r.an, 0);
    assert_int_equal(n, pos);
  }
  return r;
}

static const uint8_t synthetic[4] = {198, 18, 0, 1};

static void test_allowed_a(void **state) {
  (void)state;
  al_egress_ruleset *rs = rules();
  pkt q;
  query(&q, 0x1234, "api.example.com", T_A);
  uint8_t out[512];
  al_dns_info info;
  size_t n = answer(&q, q.n, rs, out, sizeof(out), &info);
  assert_int_equal(n, q.n + 16);
  parsed r = parse_answer(out, n, &q, q.n);
  assert_int_equal(r.id, 0x1234);
  assert_int_equal(r.flags, 0x8000 | 0x0400 | 0x0100); /* QR AA RD, NOERROR */
  assert_int_equal(r.qd, 1);
  assert_int_equal(r.an, 1);
  assert_int_equal(r.ttl, 60);
  assert_memory_equal(r.addr, synthetic, 4);
  assert_string_equal(info.name, "api.example.com");
  assert_int_equal(info.qtype, T_A);
  assert_int_equal(info.verdict, AL_DNS_ALLOW);
  assert_int_equal(info.rcode, AL_DNS_NOERROR);
  /* RD clear is echoed clear */
  q.b[2] = 0;
  n = answer(&q, q.n, rs, out, sizeof(out), &info);
  r = parse_answer(out, n, &q, q.n);
  assert_int_equal(r.flags, 0x8000 | 0x0400);
  assert_int_equal(r.an, 1);
  /* a name allowed on port 22 only resolves too */
  query(&q, 7, "git.example.net", T_A);
  n = answer(&q, q.n, rs, out, sizeof(out), &info);
  r = parse_answer(out, n, &q, q.n);
  assert_int_equal(r.an, 1);
  /* info may be NULL */
  assert_int_equal(al_dns_answer(q.b, q.n, rs, out, sizeof(out), NULL), n);
  al_egress_ruleset_free(rs);
}

static void test_allowed_nodata(void **state) {
  (void)state;
  al_egress_ruleset *rs = rules();
  static const unsigned types[] = {T_AAAA, 15 /* MX */, 16 /* TXT */, 255 /* ANY */, 0, 65535};
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
    pkt q;
    query(&q, 0xbeef, "api.example.com", types[i]);
    uint8_t out[512];
    al_dns_info info;
    size_t n = answer(&q, q.n, rs, out, sizeof(out), &info);
    parsed r = parse_answer(out, n, &q, q.n);
    assert_int_equal(r.rcode, AL_DNS_NOERROR);
    assert_true(r.flags & 0x0400);
    assert_int_equal(r.qd, 1);
    assert_int_equal(r.an, 0);
    assert_int_equal(info.verdict, AL_DNS_ALLOW);
    assert_int_equal(info.qtype, types[i]);
    assert_non_null(strstr(info.reason, "NODATA"));
  }
  al_egress_ruleset_free(rs);
}

/* a name the rules do not allow, or that is not a valid host name */
static void expect_nxdomain(const al_egress_ruleset *rs, const pkt *q, const char *reason, const char *name) {
  uint8_t out[512];
  al_dns_info info;
  size_t n = answer(q, q->n, rs, out, sizeof(out), &info);
  parsed r = parse_answer(out, n, q, q->n);
  if (r.rcode != AL_DNS_NXDOMAIN)
    fail_msg("%s: rcode %u (%s), want NXDOMAIN", info.name, r.rcode, info.reason);
  assert_true(r.flags & 0x0400);
  assert_int_equal(r.qd, 1);
  assert_int_equal(r.an, 0);
  assert_int_equal(info.verdict, AL_DNS_DENY);
  if (strstr(info.reason, reason) == NULL)
    fail_msg("%s: reason '%s', want '%s'", info.name, info.reason, reason);
  if (name != NULL)
    assert_string_equal(info.name, name);
}

static void test_denied(void **state) {
  (void)state;
  al_egress_ruleset *rs = rules();
  static const char *const denied[] = {
      "example.com",       "x.api.example.com",        "example.org",
      "evilexample.org",   "api.example.com.evil.net", "blocked.example.org",
      "x.bad.example.org", "c2VjcmV0.evil.example", /* exfiltration through the name */
  };
  pkt q;
  for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
    query(&q, (unsigned)i, denied[i], T_A);
    expect_nxdomain(rs, &q, "name not allowed", NULL);
    query(&q, (unsigned)i, denied[i], T_AAAA);
    expect_nxdomain(rs, &q, "name not allowed", NULL);
  }
  /* the log gets the normalised name */
  query(&q, 9, "c2VjcmV0.evil.example", T_TXT);
  expect_nxdomain(rs, &q, "name not allowed", "c2vjcmv0.evil.example");
  /* an empty rule set, and no rule set, allow nothing */
  al_egress_ruleset *none = al_egress_ruleset_new();
  query(&q, 1, "api.example.com", T_A);
  expect_nxdomain(none, &q, "name not allowed", "api.example.com");
  expect_nxdomain(NULL, &q, "name not allowed", "api.example.com");
  al_egress_ruleset_free(none);
  al_egress_ruleset_free(rs);
}

static void test_wildcards(void **state) {
  (void)state;
  al_egress_ruleset *rs = rules();
  pkt q;
  uint8_t out[512];
  al_dns_info info;
  query(&q, 1, "www.example.org", T_A);
  size_t n = answer(&q, q.n, rs, out, sizeof(out), &info);
  parsed r = parse_answer(out, n, &q, q.n);
  assert_int_equal(r.an, 1);
  query(&q, 2, "a.b.c.example.org", T_A);
  n = answer(&q, q.n, rs, out, sizeof(out), &info);
  r = parse_answer(out, n, &q, q.n);
  assert_int_equal(r.an, 1);
  al_egress_ruleset_free(rs);

  /* "*:*": every name resolves, still no IP literal and no invalid name */
  rs = al_egress_ruleset_new();
  airlock_error *err = NULL;
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_ALLOW, "*:*", &err), 0);
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_DENY, "tunnel.example:*", &err), 0);
  query(&q, 3, "anything.example", T_A);
  n = answer(&q, q.n, rs, out, sizeof(out), &info);
  r = parse_answer(out, n, &q, q.n);
  assert_int_equal(r.an, 1);
  assert_memory_equal(r.addr, synthetic, 4);
  query(&q, 4, "tunnel.example", T_A);
  expect_nxdomain(rs, &q, "name not allowed", "tunnel.example");
  query(&q, 5, "127.0.0.1", T_A);
  expect_nxdomain(rs, &q, "invalid name", NULL);
  query(&q, 6, "2130706433", T_A);
  expect_nxdomain(rs, &q, "invalid name", NULL);
  al_egress_ruleset_free(rs);
}

/* upper case is answered, and echoed as asked (0x20 randomisation) */
static void test_case(void **state) {
  (void)state;
  al_egress_ruleset *rs = rules();
  pkt q;
  query(&q, 0x4242, "aPi.EXAMPLE.cOm", T_A);
  uint8_t out[512];
  al_dns_info info;
  size_t n = answer(&q, q.n, rs, out, sizeof(out), &info);
  parsed r = parse_answer(out, n, &q, q.n); /* the question compared byte for byte */
  assert_int_equal(r.an, 1);
  assert_memory_equal(out + 13, "aPi", 3);
  assert_string_equal(info.name, "api.example.com");
  al_egress_ruleset_free(rs);
}

/* The wire name ends with the root label: "api.example.com" on the wire
 * is the rule "api.example.com." (trailing dot); the root name alone is
 * no host name. */
static void test_root(void **state) {
  (void)state;
  al_egress_ruleset *rs = rules();
  pkt q;
  query(&q, 1, "", T_A);
  assert_int_equal(q.n, 12 + 1 + 4);
  expect_nxdomain(rs, &q, "invalid name", ".");
  query(&q, 1, "", 2 /* NS */);
  expect_nxdomain(rs, &q, "invalid name", ".");
  /* an empty label cannot be written: a second zero byte ends the name
   * and the rest no longer parses as the question's end */
  header(&q, 1, 0x0100, 1, 0, 0, 0);
  put_name(&q, "api.example.com");
  put8(&q, 0);
  put16(&q, T_A);
  put16(&q, C_IN);
  uint8_t out[512];
  al_dns_info info;
  size_t n = answer(&q, q.n, rs, out, sizeof(out), &info);
  parsed r = parse_answer(out, n, &q, 0);
  assert_int_equal(r.rcode, AL_DNS_FORMERR);
  al_egress_ruleset_free(rs);
}

static void expect_rcode(const al_egress_ruleset *rs, const pkt *q, unsigned rcode, const char *reason) {
  uint8_t out[512];
  al_dns_info info;
  size_t n = answer(q, q->n, rs, out, sizeof(out), &info);
  if (n == 0)
    fail_msg("dropped (%s), want rcode %u", info.reason, rcode);
  parsed r = parse_answer(out, n, q, q->n);
  if (r.rcode != rcode)
    fail_msg("rcode %u (%s), want %u", r.rcode, info.reason, rcode);
  assert_int_equal(info.rcode, (int)rcode);
  if (rcode != AL_DNS_NOERROR)
    assert_int_equal(r.an, 0);
  if (reason != NULL && strstr(info.reason, reason) == NULL)
    fail_msg("reason '%s', want '%s'", info.reason, reason);
  if (rcode == AL_DNS_FORMERR || rcode == AL_DNS_NOTIMP) {
    assert_int_equal(r.qd, 0); /* the question is not echoed */
    assert_int_equal(n, 12);
    assert_int_equal(info.verdict, AL_DNS_MALFORMED);
  }
}

static void test_compression(void **state) {
  (void)state;
  al_egress_ruleset *rs = rules();
  pkt q;
  /* the whole name a pointer to offset 12 (itself) */
  header(&q, 1, 0, 1, 0, 0, 0);
  put16(&q, 0xc00c);
  put16(&q, T_A);
  put16(&q, C_IN);
  expect_rcode(rs, &q, AL_DNS_FORMERR, "compression pointer");
  /* a label, then a pointer */
  header(&q, 1, 0, 1, 0, 0, 0);
  put8(&q, 3);
  put_bytes(&q, "api", 3);
  put16(&q, 0xc00c);
  put16(&q, T_A);
  put16(&q, C_IN);
  expect_rcode(rs, &q, AL_DNS_FORMERR, "compression pointer");
  /* the reserved label types 0x40 and 0x80 */
  for (unsigned t = 0x40; t <= 0x80; t += 0x40) {
    header(&q, 1, 0, 1, 0, 0, 0);
    put8(&q, t | 1);
    put8(&q, 'a');
    put8(&q, 0);
    put16(&q, T_A);
    put16(&q, C_IN);
    expect_rcode(rs, &q, AL_DNS_FORMERR, "over 63");
  }
  al_egress_ruleset_free(rs);
}

static void test_header_counts(void **state) {
  (void)state;
  al_egress_ruleset *rs = rules();
  static const unsigned counts[][4] = {{2, 0, 0, 0}, {0, 0, 0, 0}, {65535, 0, 0, 0},
                                       {1, 1, 0, 0}, {1, 0, 1, 0}, {1, 0, 0, 2}};
  for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
    pkt q;
    header(&q, 0x99, 0x0100, counts[i][0], counts[i][1], counts[i][2], counts[i][3]);
    put_name(&q, "api.example.com");
    put16(&q, T_A);
    put16(&q, C_IN);
    put_name(&q, "api.example.com"); /* a second question (or anything) */
    put16(&q, T_A);
    put16(&q, C_IN);
    expect_rcode(rs, &q, AL_DNS_FORMERR, NULL);
  }
  al_egress_ruleset_free(rs);
}

static void test_opcode_and_response(void **state) {
  (void)state;
  al_egress_ruleset *rs = rules();
  pkt q;
  uint8_t out[512];
  al_dns_info info;
  for (unsigned op = 1; op < 16; op++) {
    query(&q, 0x77, "api.example.com", T_A);
    q.b[2] |= (uint8_t)(op << 3);
    expect_rcode(rs, &q, AL_DNS_NOTIMP, "opcode");
    size_t n = answer(&q, q.n, rs, out, sizeof(out), &info);
    assert_int_equal((g16(out + 2) >> 11) & 0xf, op); /* the opcode is echoed */
    assert_int_equal(n, 12);
  }
  /* a response (QR set) is dropped: never answer an answer */
  query(&q, 0x77, "api.example.com", T_A);
  q.b[2] |= 0x80;
  assert_int_equal(answer(&q, q.n, rs, out, sizeof(out), &info), 0);
  assert_int_equal(info.verdict, AL_DNS_MALFORMED);
  assert_int_equal(info.rcode, -1);
  assert_non_null(strstr(info.reason, "response"));
  /* also with a bad opcode */
  q.b[2] |= 0x10;
  assert_int_equal(answer(&q, q.n, rs, out, sizeof(out), &info), 0);
  al_egress_ruleset_free(rs);
}

static void test_class(void **state) {
  (void)state;
  al_egress_ruleset *rs = rules();
  static const unsigned classes[] = {3 /* CH */, 4 /* HS */, 254 /* NONE */, 255 /* ANY */, 0};
  for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
    pkt q;
    header(&q, 5, 0, 1, 0, 0, 0);
    put_name(&q, "api.example.com");
    put16(&q, T_A);
    put16(&q, classes[i]);
    uint8_t out[512];
    al_dns_info info;
    size_t n = answer(&q, q.n, rs, out, sizeof(out), &info);
    parsed r = parse_answer(out, n, &q, q.n);
    assert_int_equal(r.rcode, AL_DNS_REFUSED);
    assert_int_equal(r.qd, 1);
    assert_int_equal(r.an, 0);
    assert_int_equal(info.verdict, AL_DNS_DENY);
  }
  al_egress_ruleset_free(rs);
}

static void put_label_run(pkt *p, const size_t *lens, size_t k) {
  for (size_t i = 0; i < k; i++) {
    put8(p, (unsigned)lens[i]);
    for (size_t j = 0; j < lens[i]; j++)
      put8(p, 'a');
  }
  put8(p, 0);
}

static void test_lengths(void **state) {
  (void)state;
  al_egress_ruleset *rs = al_egress_ruleset_new();
  airlock_error *err = NULL;
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_ALLOW, "*", &err), 0);
  pkt q;
  /* a label of 64 bytes */
  header(&q, 1, 0, 1, 0, 0, 0);
  put8(&q, 64);
  for (int i = 0; i < 64; i++)
    put8(&q, 'a');
  put_bytes(&q, "\3com\0\0\1\0\1", 9);
  expect_rcode(rs, &q, AL_DNS_FORMERR, "over 63");
  /* 63 is fine */
  header(&q, 1, 0, 1, 0, 0, 0);
  size_t l63[] = {63, 3};
  put_label_run(&q, l63, 2);
  put16(&q, T_A);
  put16(&q, C_IN);
  expect_rcode(rs, &q, AL_DNS_NOERROR, "allowed");
  /* names of 257, 256 and 255 bytes on the wire */
  size_t l257[] = {63, 63, 63, 63}, l256[] = {63, 63, 63, 62}, l255[] = {63, 63, 63, 61};
  header(&q, 1, 0, 1, 0, 0, 0);
  put_label_run(&q, l257, 4);
  put16(&q, T_A);
  put16(&q, C_IN);
  expect_rcode(rs, &q, AL_DNS_FORMERR, "longer than 255");
  header(&q, 1, 0, 1, 0, 0, 0);
  put_label_run(&q, l256, 4);
  put16(&q, T_A);
  put16(&q, C_IN);
  expect_rcode(rs, &q, AL_DNS_FORMERR, "longer than 255");
  header(&q, 1, 0, 1, 0, 0, 0);
  put_label_run(&q, l255, 4);
  put16(&q, T_A);
  put16(&q, C_IN);
  assert_int_equal(q.n, 12 + 255 + 4);
  uint8_t out[512];
  al_dns_info info;
  size_t n = answer(&q, q.n, rs, out, sizeof(out), &info);
  parsed r = parse_answer(out, n, &q, q.n);
  assert_int_equal(r.an, 1);
  assert_int_equal(n, 12 + 255 + 4 + 16); /* the longest answer */
  assert_int_equal(strlen(info.name), 253);
  /* many one-byte labels: 127 of them make 255 bytes */
  header(&q, 1, 0, 1, 0, 0, 0);
  for (int i = 0; i < 127; i++)
    put_bytes(&q, "\1a", 2);
  put8(&q, 0);
  put16(&q, T_A);
  put16(&q, C_IN);
  expect_rcode(rs, &q, AL_DNS_NOERROR, "allowed");
  header(&q, 1, 0, 1, 0, 0, 0);
  for (int i = 0; i < 128; i++)
    put_bytes(&q, "\1a", 2);
  put8(&q, 0);
  put16(&q, T_A);
  put16(&q, C_IN);
  expect_rcode(rs, &q, AL_DNS_FORMERR, "longer than 255");
  al_egress_ruleset_free(rs);
}

/* labels with bytes that no host name has: NXDOMAIN, and the name printed
 * escaped */
static void test_invalid_names(void **state) {
  (void)state;
  al_egress_ruleset *rs = al_egress_ruleset_new();
  airlock_error *err = NULL;
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_ALLOW, "*:*", &err), 0);
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_ALLOW, "a.b", &err), 0);
  typedef struct {
    const char *label; /* one label, then "example" */
    size_t len;
    const char *printed;
  } bad;
  static const bad bads[] = {
      {"a_b", 3, "a\\095b.example"},
      {"_dmarc", 6, "\\095dmarc.example"},
      {"a%b", 3, "a\\037b.example"},
      {"a.b", 3, "a\\046b.example"}, /* a dot inside a label is not two labels */
      {"a\0b", 3, "a\\000b.example"},
      {"a b", 3, "a\\032b.example"},
      {"a\\b", 3, "a\\092b.example"},
      {"b\xc3\xbc", 3, "b\\195\\188.example"}, /* raw UTF-8: names travel as A-labels */
      {"-a", 2, "-a.example"},                 /* LDH bytes, but not a host name */
      {"xn--zz", 6, "xn--zz.example"},         /* invalid punycode */
  };
  for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
    pkt q;
    header(&q, 1, 0, 1, 0, 0, 0);
    put8(&q, (unsigned)bads[i].len);
    put_bytes(&q, bads[i].label, bads[i].len);
    put_bytes(&q, "\7example\0", 9);
    put16(&q, T_A);
    put16(&q, C_IN);
    expect_nxdomain(rs, &q, "invalid name", bads[i].printed);
  }
  /* a valid A-label is a name */
  pkt q;
  query(&q, 1, "xn--bcher-kva.example", T_A);
  uint8_t out[512];
  al_dns_info info;
  size_t n = answer(&q, q.n, rs, out, sizeof(out), &info);
  parsed r = parse_answer(out, n, &q, q.n);
  assert_int_equal(r.an, 1);
  al_egress_ruleset_free(rs);
}

/* Every prefix of a query is answered from a buffer of exactly that
 * length: dropped below 12 bytes, FORMERR while the question is cut, and
 * answered once the question is whole (an EDNS record after it is not
 * read). */
static void truncations(const pkt *q, size_t qend, bool edns) {
  al_egress_ruleset *rs = rules();
  for (size_t len = 0; len < q->n; len++) {
    uint8_t out[512];
    al_dns_info info;
    size_t n = answer(q, len, rs, out, sizeof(out), &info);
    if (len < 12) {
      assert_int_equal(n, 0);
      assert_int_equal(info.verdict, AL_DNS_MALFORMED);
      continue;
    }
    parsed r = parse_answer(out, n, q, qend);
    if (len < qend || !edns) {
      if (r.rcode != AL_DNS_FORMERR)
        fail_msg("length %zu of %zu: rcode %u (%s)", len, q->n, r.rcode, info.reason);
      assert_int_equal(n, 12);
    } else {
      assert_int_equal(r.rcode, AL_DNS_NOERROR);
      assert_int_equal(r.an, 1);
    }
  }
  al_egress_ruleset_free(rs);
}

static void test_truncated(void **state) {
  (void)state;
  pkt q;
  query(&q, 0xabcd, "api.example.com", T_A);
  truncations(&q, q.n, false);
  header(&q, 0xabcd, 0x0100, 1, 0, 0, 1);
  put_name(&q, "www.example.org");
  put16(&q, T_A);
  put16(&q, C_IN);
  size_t qend = q.n;
  put_opt(&q);
  truncations(&q, qend, true);
}

static void test_edns_and_trailing(void **state) {
  (void)state;
  al_egress_ruleset *rs = rules();
  pkt q;
  header(&q, 0x1111, 0x0100, 1, 0, 0, 1);
  put_name(&q, "api.example.com");
  put16(&q, T_A);
  put16(&q, C_IN);
  size_t qend = q.n;
  put_opt(&q);
  uint8_t out[512];
  al_dns_info info;
  size_t n = answer(&q, q.n, rs, out, sizeof(out), &info);
  parsed r = parse_answer(out, n, &q, qend); /* no OPT in the answer: AR 0 */
  assert_int_equal(r.an, 1);
  /* bytes after the question with no additional record announced */
  query(&q, 0x1111, "api.example.com", T_A);
  put8(&q, 0);
  expect_rcode(rs, &q, AL_DNS_FORMERR, "after the question");
  al_egress_ruleset_free(rs);
}

static void test_small_buffer(void **state) {
  (void)state;
  al_egress_ruleset *rs = rules();
  pkt q;
  query(&q, 1, "api.example.com", T_A);
  uint8_t out[512];
  al_dns_info info;
  assert_int_equal(answer(&q, q.n, rs, out, 511, &info), 0);
  assert_int_equal(info.verdict, AL_DNS_MALFORMED);
  assert_int_equal(al_dns_answer(q.b, q.n, rs, NULL, 512, &info), 0);
  assert_int_equal(al_dns_answer(NULL, 0, rs, out, 512, &info), 0);
  assert_int_not_equal(answer(&q, q.n, rs, out, 512, &info), 0);
  al_egress_ruleset_free(rs);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_allowed_a),
      cmocka_unit_test(test_allowed_nodata),
      cmocka_unit_test(test_denied),
      cmocka_unit_test(test_wildcards),
      cmocka_unit_test(test_case),
      cmocka_unit_test(test_root),
      cmocka_unit_test(test_compression),
      cmocka_unit_test(test_header_counts),
      cmocka_unit_test(test_opcode_and_response),
      cmocka_unit_test(test_class),
      cmocka_unit_test(test_lengths),
      cmocka_unit_test(test_invalid_names),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_edns_and_trailing),
      cmocka_unit_test(test_small_buffer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
