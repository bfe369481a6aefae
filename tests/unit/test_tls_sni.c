/* SPDX-License-Identifier: Apache-2.0 */
/* test_tls_sni.c - the incremental ClientHello reader (tls_sni.c).  A small
 * builder makes ClientHellos with chosen names, ECH, padding and record
 * splits; each is fed whole, in every 2-chunk split and byte by byte, and
 * broken ones (truncated, lying lengths, oversized, not TLS) must give their
 * specific error.  A ClientHello captured from OpenSSL is checked too
 * (tests/unit/openssl_client_hello.h says how it was made). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openssl_client_hello.h"
#include "tls_sni.h"

typedef struct {
  uint8_t b[70000];
  size_t n;
} buf;

static void put8(buf *o, unsigned v) {
  assert_true(o->n < sizeof(o->b));
  o->b[o->n++] = (uint8_t)v;
}
static void put16(buf *o, unsigned v) {
  put8(o, v >> 8);
  put8(o, v);
}
static void putn(buf *o, const void *p, size_t n) {
  assert_true(o->n + n <= sizeof(o->b));
  memcpy(o->b + o->n, p, n);
  o->n += n;
}
/* start a vector with a len-byte length; patch it with end_vec */
static size_t begin_vec(buf *o, int len) {
  size_t at = o->n;
  for (int i = 0; i < len; i++)
    put8(o, 0);
  return at;
}
static void end_vec(buf *o, size_t at, int len) {
  size_t n = o->n - at - (size_t)len;
  for (int i = 0; i < len; i++)
    o->b[at + (size_t)i] = (uint8_t)(n >> (8 * (len - 1 - i)));
}

typedef struct {
  const char *names[3]; /* host_names in one server_name extension */
  size_t name_len[3];   /* 0: strlen */
  unsigned ech;         /* an ECH/ESNI extension of this type */
  size_t pad;           /* a padding extension of this size */
  bool no_extensions;
  bool sni_twice;   /* two server_name extensions */
  unsigned hs_type; /* 0: ClientHello */
} hello_opts;

/* a handshake message: type, 24-bit length, ClientHello body */
static void build_hello(buf *o, const hello_opts *opt) {
  o->n = 0;
  put8(o, opt->hs_type ? opt->hs_type : 1);
  size_t hs = begin_vec(o, 3);
  put16(o, 0x0303);
  for (int i = 0; i < 32; i++)
    put8(o, (unsigned)i);
  size_t sid = begin_vec(o, 1);
  for (int i = 0; i < 32; i++)
    put8(o, 0xaa);
  end_vec(o, sid, 1);
  size_t cs = begin_vec(o, 2);
  put16(o, 0x1301);
  put16(o, 0x1302);
  put16(o, 0xc02f);
  end_vec(o, cs, 2);
  put8(o, 1);
  put8(o, 0);
  if (!opt->no_extensions) {
    size_t exts = begin_vec(o, 2);
    put16(o, 0x002b); /* supported_versions */
    put16(o, 3);
    put8(o, 2);
    put16(o, 0x0304);
    for (int twice = 0; twice < (opt->sni_twice ? 2 : 1); twice++) {
      if (opt->names[0] == NULL)
        break;
      put16(o, 0x0000);
      size_t ext = begin_vec(o, 2);
      size_t list = begin_vec(o, 2);
      for (int i = 0; i < 3 && opt->names[i]; i++) {
        size_t len = opt->name_len[i] ? opt->name_len[i] : strlen(opt->names[i]);
        put8(o, 0);
        put16(o, (unsigned)len);
        putn(o, opt->names[i], len);
      }
      end_vec(o, list, 2);
      end_vec(o, ext, 2);
    }
    if (opt->ech) {
      put16(o, opt->ech);
      put16(o, 4);
      put16(o, 0x0001);
      put16(o, 0x0203);
    }
    if (opt->pad) {
      put16(o, 0x0015);
      size_t p = begin_vec(o, 2);
      for (size_t i = 0; i < opt->pad; i++)
        put8(o, 0);
      end_vec(o, p, 2);
    }
    end_vec(o, exts, 2);
  }
  end_vec(o, hs, 3);
}

/* wrap a handshake message in records of at most sizes[i] bytes each (the
 * last record takes the rest) */
static void wrap(buf *out, const buf *hs, const size_t *sizes, size_t nsizes) {
  out->n = 0;
  size_t pos = 0;
  for (size_t i = 0; pos < hs->n; i++) {
    size_t n = hs->n - pos;
    if (i < nsizes && sizes[i] < n)
      n = sizes[i];
    if (n > 16384)
      n = 16384;
    put8(out, 22);
    put16(out, i == 0 ? 0x0301 : 0x0303);
    put16(out, (unsigned)n);
    putn(out, hs->b + pos, n);
    pos += n;
  }
}

static void make(buf *rec, const hello_opts *opt, const size_t *sizes, size_t nsizes) {
  static buf hs;
  build_hello(&hs, opt);
  wrap(rec, &hs, sizes, nsizes);
}

/* feed in chunks of `chunk` bytes (0: whole); the final status */
static al_sni_status feed_all(const uint8_t *p, size_t n, size_t chunk, size_t cap, char *host, size_t hostlen) {
  al_sni_reader *r = al_sni_reader_new(cap);
  assert_non_null(r);
  al_sni_status st = AL_SNI_NEED_MORE;
  size_t pos = 0;
  if (chunk == 0)
    chunk = n ? n : 1;
  while (pos < n) {
    size_t k = n - pos < chunk ? n - pos : chunk;
    st = al_sni_feed(r, p + pos, k);
    pos += k;
    if (st != AL_SNI_NEED_MORE)
      break;
  }
  if (st == AL_SNI_DONE) {
    assert_non_null(al_sni_host(r));
    snprintf(host, hostlen, "%s", al_sni_host(r));
    /* everything fed is kept, unchanged */
    size_t rl;
    const uint8_t *raw = al_sni_raw(r, &rl);
    assert_int_equal(rl, pos);
    assert_memory_equal(raw, p, pos);
    /* further input changes nothing */
    assert_int_equal(al_sni_feed(r, "x", 1), AL_SNI_DONE);
    al_sni_raw(r, &rl);
    assert_int_equal(rl, pos);
  } else {
    assert_null(al_sni_host(r));
    if (host)
      host[0] = '\0';
  }
  al_sni_reader_free(r);
  return st;
}

static void expect_done(const buf *rec, const char *want) {
  char host[AL_HOST_MAX];
  al_sni_status st = feed_all(rec->b, rec->n, 0, 0, host, sizeof(host));
  if (st != AL_SNI_DONE)
    fail_msg("status %d (%s), want DONE", st, al_sni_strerror(st));
  assert_string_equal(host, want);
}

static void expect_status(const buf *rec, al_sni_status want) {
  char host[AL_HOST_MAX];
  al_sni_status st = feed_all(rec->b, rec->n, 0, 0, host, sizeof(host));
  if (st != want)
    fail_msg("status %d (%s), want %d (%s)", st, al_sni_strerror(st), want, al_sni_strerror(want));
  /* byte by byte gives the same answer */
  assert_int_equal(feed_all(rec->b, rec->n, 1, 0, host, sizeof(host)), want);
}

static buf rec;

static void test_basic(void **state) {
  (void)state;
  hello_opts o = {.names = {"example.com"}};
  make(&rec, &o, NULL, 0);
  expect_done(&rec, "example.com");
  hello_opts up = {.names = {"API.Example.COM"}};
  make(&rec, &up, NULL, 0);
  expect_done(&rec, "api.example.com");
  hello_opts idn = {.names = {"xn--bcher-kva.example"}};
  make(&rec, &idn, NULL, 0);
  expect_done(&rec, "xn--bcher-kva.example");
}

/* every split in two chunks, and one byte at a time */
static void check_all_splits(const buf *r, const char *want) {
  for (size_t i = 0; i <= r->n; i++) {
    al_sni_reader *rd = al_sni_reader_new(0);
    assert_non_null(rd);
    al_sni_status a = al_sni_feed(rd, r->b, i);
    if (i < r->n) {
      if (a != AL_SNI_NEED_MORE)
        fail_msg("split at %zu: first chunk gave %d", i, a);
      a = al_sni_feed(rd, r->b + i, r->n - i);
    }
    if (a != AL_SNI_DONE)
      fail_msg("split at %zu of %zu: %d (%s)", i, r->n, a, al_sni_strerror(a));
    assert_string_equal(al_sni_host(rd), want);
    size_t rl;
    const uint8_t *raw = al_sni_raw(rd, &rl);
    assert_int_equal(rl, r->n);
    assert_memory_equal(raw, r->b, r->n);
    al_sni_reader_free(rd);
  }
  char host[AL_HOST_MAX];
  assert_int_equal(feed_all(r->b, r->n, 1, 0, host, sizeof(host)), AL_SNI_DONE);
  assert_string_equal(host, want);
  assert_int_equal(feed_all(r->b, r->n, 7, 0, host, sizeof(host)), AL_SNI_DONE);
}

static void test_splits(void **state) {
  (void)state;
  hello_opts o = {.names = {"split.example.net"}};
  make(&rec, &o, NULL, 0);
  check_all_splits(&rec, "split.example.net");
  /* one handshake message across two and three records */
  size_t two[] = {40};
  make(&rec, &o, two, 1);
  check_all_splits(&rec, "split.example.net");
  size_t three[] = {1, 90};
  make(&rec, &o, three, 2);
  check_all_splits(&rec, "split.example.net");
  /* the handshake header itself split: 2 bytes, then 1, then the rest */
  size_t hdr[] = {2, 1};
  make(&rec, &o, hdr, 2);
  check_all_splits(&rec, "split.example.net");
}

static void test_large_hello(void **state) {
  (void)state;
  /* post-quantum-sized hellos: 1.5 KiB, and 20 KiB across two records */
  hello_opts o = {.names = {"pq.example"}, .pad = 1500};
  size_t sizes[] = {700, 700};
  make(&rec, &o, sizes, 2);
  expect_done(&rec, "pq.example");
  char host[AL_HOST_MAX];
  assert_int_equal(feed_all(rec.b, rec.n, 1, 0, host, sizeof(host)), AL_SNI_DONE);
  hello_opts big = {.names = {"pq.example"}, .pad = 20000};
  make(&rec, &big, NULL, 0);
  assert_int_equal(feed_all(rec.b, rec.n, 0, 64 * 1024, host, sizeof(host)), AL_SNI_DONE);
  /* over the default 16 KiB cap: refused, whole or in pieces */
  expect_status(&rec, AL_SNI_ERR_OVERSIZED);
  assert_int_equal(feed_all(rec.b, rec.n, 1000, 0, host, sizeof(host)), AL_SNI_ERR_OVERSIZED);
  /* a small cap */
  hello_opts o2 = {.names = {"pq.example"}, .pad = 300};
  make(&rec, &o2, NULL, 0);
  assert_int_equal(feed_all(rec.b, rec.n, 0, 256, host, sizeof(host)), AL_SNI_ERR_OVERSIZED);
  /* an announced length far over the cap is refused at once */
  const uint8_t huge[] = {22, 3, 1, 0x40, 0x00, 1, 0xff, 0xff, 0xff};
  al_sni_reader *r = al_sni_reader_new(0);
  assert_int_equal(al_sni_feed(r, huge, sizeof(huge)), AL_SNI_ERR_OVERSIZED);
  al_sni_reader_free(r);
}

static void test_refusals(void **state) {
  (void)state;
  hello_opts none = {.pad = 10};
  make(&rec, &none, NULL, 0);
  expect_status(&rec, AL_SNI_ERR_NO_SNI);
  hello_opts noext = {.no_extensions = true};
  make(&rec, &noext, NULL, 0);
  expect_status(&rec, AL_SNI_ERR_NO_SNI);
  hello_opts ech = {.names = {"public.example"}, .ech = 0xfe0d};
  make(&rec, &ech, NULL, 0);
  expect_status(&rec, AL_SNI_ERR_ECH);
  hello_opts ech_only = {.ech = 0xfe0d};
  make(&rec, &ech_only, NULL, 0);
  expect_status(&rec, AL_SNI_ERR_ECH);
  hello_opts draft = {.names = {"public.example"}, .ech = 0xfe0a};
  make(&rec, &draft, NULL, 0);
  expect_status(&rec, AL_SNI_ERR_ECH);
  hello_opts esni = {.names = {"public.example"}, .ech = 0xffce};
  make(&rec, &esni, NULL, 0);
  expect_status(&rec, AL_SNI_ERR_ECH);
  hello_opts two = {.names = {"allowed.example", "evil.example"}};
  make(&rec, &two, NULL, 0);
  expect_status(&rec, AL_SNI_ERR_SEVERAL_NAMES);
  hello_opts same = {.names = {"a.example", "a.example"}};
  make(&rec, &same, NULL, 0);
  expect_status(&rec, AL_SNI_ERR_SEVERAL_NAMES);
  hello_opts twice = {.names = {"a.example"}, .sni_twice = true};
  make(&rec, &twice, NULL, 0);
  expect_status(&rec, AL_SNI_ERR_MALFORMED);
  hello_opts sh = {.names = {"a.example"}, .hs_type = 2};
  make(&rec, &sh, NULL, 0);
  expect_status(&rec, AL_SNI_ERR_NOT_CLIENT_HELLO);
  /* names that are not host names */
  static const char *const bad[] = {"127.0.0.1",    "2130706433",     "exa_mple.com", "example.com.",  "a..b",
                                    "exa mple.com", "bücher.example", "-a.example",   "xn--zz.example"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    hello_opts b = {.names = {bad[i]}};
    make(&rec, &b, NULL, 0);
    expect_status(&rec, AL_SNI_ERR_BAD_NAME);
  }
  hello_opts nul = {.names = {"allowed.example\0.evil"}, .name_len = {21}};
  make(&rec, &nul, NULL, 0);
  expect_status(&rec, AL_SNI_ERR_BAD_NAME);
  hello_opts empty = {.names = {""}, .name_len = {0}};
  make(&rec, &empty, NULL, 0);
  expect_status(&rec, AL_SNI_ERR_BAD_NAME);
}

static void test_not_tls(void **state) {
  (void)state;
  static const struct {
    const char *b;
    size_t n;
  } inputs[] = {
      {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27},
      {"CONNECT a:443 HTTP/1.1\r\n", 24},
      {"\x80\x2e\x01\x03\x01", 5}, /* an SSLv2-format hello */
      {"\x16\x02\x01\x00\x10", 5}, /* not version 3.x */
      {"\x16\x03\x01\x00\x00", 5}, /* an empty record */
      {"\x16\x03\x01\x40\x01", 5}, /* a record over 16 KiB */
  };
  for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
    char host[AL_HOST_MAX];
    al_sni_status st = feed_all((const uint8_t *)inputs[i].b, inputs[i].n, 0, 0, host, sizeof(host));
    if (st != AL_SNI_ERR_NOT_TLS)
      fail_msg("input %zu: %d", i, st);
  }
  /* the verdict comes with the first byte */
  al_sni_reader *r = al_sni_reader_new(0);
  assert_int_equal(al_sni_feed(r, "G", 1), AL_SNI_ERR_NOT_TLS);
  assert_int_equal(al_sni_feed(r, "\x16", 1), AL_SNI_ERR_NOT_TLS);
  al_sni_reader_free(r);
  r = al_sni_reader_new(0);
  assert_int_equal(al_sni_feed(r, NULL, 0), AL_SNI_NEED_MORE);
  al_sni_reader_free(r);
}

static void test_truncated(void **state) {
  (void)state;
  hello_opts o = {.names = {"t.example"}};
  size_t sizes[] = {50};
  make(&rec, &o, sizes, 1);
  for (size_t cut = 0; cut < rec.n; cut++) {
    char host[AL_HOST_MAX];
    al_sni_status st = feed_all(rec.b, cut, 0, 0, host, sizeof(host));
    if (st != AL_SNI_NEED_MORE)
      fail_msg("cut at %zu: %d", cut, st);
  }
}

/* offsets into a record built from {.names = {"lie.example"}} (one record):
 * 5 record header, 4 handshake header, 2 version, 32 random, 1+32 session
 * id, 2+6 suites, 1+1 compression, 2 extensions length, 4+3
 * supported_versions, then server_name: 2 type, 2 length, 2 list length, 1
 * type, 2 name length */
enum {
  OFF_HS_LEN = 6,
  OFF_SID_LEN = 5 + 4 + 2 + 32,
  OFF_CS_LEN = OFF_SID_LEN + 1 + 32,
  OFF_COMP_LEN = OFF_CS_LEN + 2 + 6,
  OFF_EXTS_LEN = OFF_COMP_LEN + 2,
  OFF_SNI = OFF_EXTS_LEN + 2 + 7,
  OFF_SNI_EXT_LEN = OFF_SNI + 2,
  OFF_SNI_LIST_LEN = OFF_SNI + 4,
  OFF_SNI_TYPE = OFF_SNI + 6,
  OFF_SNI_NAME_LEN = OFF_SNI + 7,
};

static void test_lying_lengths(void **state) {
  (void)state;
  hello_opts o = {.names = {"lie.example"}};
  buf good;
  make(&good, &o, NULL, 0);
  expect_done(&good, "lie.example");
  assert_int_equal(good.b[OFF_SNI_NAME_LEN + 1], strlen("lie.example"));
  assert_int_equal(good.b[OFF_SNI_NAME_LEN + 2], 'l');
  struct {
    size_t off;
    int delta;
    al_sni_status want;
  } lies[] = {
      {OFF_SID_LEN, +1, AL_SNI_ERR_MALFORMED},          {OFF_SID_LEN, -1, AL_SNI_ERR_MALFORMED},
      {OFF_CS_LEN + 1, +1, AL_SNI_ERR_MALFORMED},       {OFF_CS_LEN + 1, +2, AL_SNI_ERR_MALFORMED},
      {OFF_COMP_LEN, +1, AL_SNI_ERR_MALFORMED},         {OFF_EXTS_LEN + 1, +1, AL_SNI_ERR_MALFORMED},
      {OFF_EXTS_LEN + 1, -1, AL_SNI_ERR_MALFORMED},     {OFF_SNI_EXT_LEN + 1, +1, AL_SNI_ERR_MALFORMED},
      {OFF_SNI_EXT_LEN + 1, -1, AL_SNI_ERR_MALFORMED},  {OFF_SNI_LIST_LEN + 1, +1, AL_SNI_ERR_MALFORMED},
      {OFF_SNI_LIST_LEN + 1, -1, AL_SNI_ERR_MALFORMED}, {OFF_SNI_NAME_LEN + 1, +1, AL_SNI_ERR_MALFORMED},
      {OFF_SNI_NAME_LEN + 1, -1, AL_SNI_ERR_MALFORMED}, {OFF_SNI_TYPE, +1, AL_SNI_ERR_MALFORMED},
      {OFF_HS_LEN + 2, -1, AL_SNI_ERR_MALFORMED},       {5, +1, AL_SNI_ERR_NOT_CLIENT_HELLO}, /* handshake type 2 */
  };
  for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
    buf bad = good;
    bad.b[lies[i].off] = (uint8_t)(bad.b[lies[i].off] + lies[i].delta);
    char host[AL_HOST_MAX];
    al_sni_status st = feed_all(bad.b, bad.n, 0, 0, host, sizeof(host));
    if (st != lies[i].want)
      fail_msg("lie %zu at %zu: %d (%s), want %d", i, lies[i].off, st, al_sni_strerror(st), lies[i].want);
  }
  /* a handshake length longer than what follows: waits for more */
  buf longer = good;
  longer.b[OFF_HS_LEN + 2]++;
  longer.b[4]++; /* record length too, so the records agree */
  char host[AL_HOST_MAX];
  assert_int_equal(feed_all(longer.b, longer.n - 1, 0, 0, host, sizeof(host)), AL_SNI_NEED_MORE);
  /* a record of another type inside the hello */
  size_t sizes[] = {30};
  buf two;
  make(&two, &o, sizes, 1);
  two.b[5 + 30] = 23; /* the second record claims to be application data */
  assert_int_equal(feed_all(two.b, two.n, 0, 0, host, sizeof(host)), AL_SNI_ERR_MALFORMED);
  make(&two, &o, sizes, 1);
  two.b[5 + 30 + 1] = 2; /* a version that is not 3.x */
  assert_int_equal(feed_all(two.b, two.n, 0, 0, host, sizeof(host)), AL_SNI_ERR_MALFORMED);
  make(&two, &o, sizes, 1);
  two.b[5 + 30 + 3] = 0x50; /* a record over 16 KiB */
  assert_int_equal(feed_all(two.b, two.n, 0, 0, host, sizeof(host)), AL_SNI_ERR_MALFORMED);
}

static void test_openssl_capture(void **state) {
  (void)state;
  buf r;
  r.n = sizeof(openssl_client_hello);
  memcpy(r.b, openssl_client_hello, r.n);
  expect_done(&r, OPENSSL_CLIENT_HELLO_NAME);
  check_all_splits(&r, OPENSSL_CLIENT_HELLO_NAME);
}

static void test_strerror(void **state) {
  (void)state;
  for (int s = AL_SNI_ERR_NOMEM; s <= AL_SNI_DONE; s++)
    assert_string_not_equal(al_sni_strerror((al_sni_status)s), "unknown status");
  assert_null(al_sni_host(NULL));
  assert_int_equal(al_sni_feed(NULL, "x", 1), AL_SNI_ERR_NOMEM);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_basic),         cmocka_unit_test(test_splits),          cmocka_unit_test(test_large_hello),
      cmocka_unit_test(test_refusals),      cmocka_unit_test(test_not_tls),         cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_lying_lengths), cmocka_unit_test(test_openssl_capture), cmocka_unit_test(test_strerror),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
