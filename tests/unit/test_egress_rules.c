/* SPDX-License-Identifier: Apache-2.0 */
/* test_egress_rules.c - the egress proxy's pure decisions (egress_rules.c):
 * tables of host names to normalise, IP literals in every encoding, rules
 * to parse, allow/deny decisions (wildcards, suffix confusion, ports, deny
 * wins) and forbidden address classes, IPv6 embeddings of IPv4 included. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress_rules.h"

/* want == NULL: refused */
typedef struct {
  const char *in;
  const char *want;
} norm_case;

static const norm_case norm_cases[] = {
    {"example.com", "example.com"},
    {"Example.COM", "example.com"},
    {"example.com.", "example.com"},
    {"EXAMPLE.com.", "example.com"},
    {"bücher.example", "xn--bcher-kva.example"},
    {"BÜCHER.example", "xn--bcher-kva.example"},
    {"xn--bcher-kva.example", "xn--bcher-kva.example"},
    {"XN--BCHER-KVA.Example", "xn--bcher-kva.example"},
    {"faß.de", "xn--fa-hia.de"},           /* non-transitional: ß kept */
    {"ｅｘａｍｐｌｅ.com", "example.com"}, /* full-width letters map to ASCII */
    {"r3---sn-abc.googlevideo.com", "r3---sn-abc.googlevideo.com"},
    {"a-b.c-d.example", "a-b.c-d.example"},
    {"1.example.com", "1.example.com"},
    {"localhost", "localhost"},
    {"", NULL},
    {".", NULL},
    {"example.com..", NULL},
    {"a..b", NULL},
    {".example.com", NULL},
    {"exa mple.com", NULL},
    {"example.com ", NULL},
    {"exa\tmple.com", NULL},
    {"exa\x01mple.com", NULL},
    {"exa\x7fmple.com", NULL},
    {"exa%mple.com", NULL},
    {"example.com%eth0", NULL},
    {"user@example.com", NULL},
    {"a_b.example.com", NULL},
    {"example.com/path", NULL},
    {"example.com:443", NULL},
    {"-a.example", NULL},
    {"a-.example", NULL},
    {"xn--zz.example", NULL}, /* invalid punycode */
    {"xn--a.example", NULL},  /* decodes to a forbidden label */
    {"bücher.xn--zz", NULL},
    {"\xff\xfe.example", NULL}, /* not UTF-8 */
    {"127.0.0.1", NULL},        /* IP literals are not names */
    {"0x7f.1", NULL},
    {"example.123", NULL},
    {"１２７.０.０.１", NULL}, /* full-width digits: still an IP literal */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example"},        /* 63 */
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", NULL}, /* 64 */
};

static void test_normalise(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
    const norm_case *c = &norm_cases[i];
    char out[AL_HOST_MAX];
    airlock_error *err = NULL;
    int r = al_host_normalise(c->in, out, sizeof(out), &err);
    if (c->want == NULL) {
      if (r != -1 || err == NULL)
        fail_msg("case %zu '%s': accepted as '%s'", i, c->in, out);
    } else {
      if (r != 0)
        fail_msg("case %zu '%s': %s", i, c->in, err ? err->msg : "?");
      assert_string_equal(out, c->want);
    }
    airlock_error_free(&err);
  }
}

static void test_normalise_lengths(void **state) {
  (void)state;
  /* 4 labels of 63 and a dot each: 255 characters, over 253 */
  char label[64];
  memset(label, 'a', 63);
  label[63] = '\0';
  char name[400];
  snprintf(name, sizeof(name), "%s.%s.%s.%s", label, label, label, label);
  char out[AL_HOST_MAX];
  airlock_error *err = NULL;
  assert_int_equal(al_host_normalise(name, out, sizeof(out), &err), -1);
  airlock_error_free(&err);
  /* 253 exactly: 63.63.63.61 */
  snprintf(name, sizeof(name), "%s.%s.%s.%.61s", label, label, label, label);
  assert_int_equal(strlen(name), 253);
  assert_int_equal(al_host_normalise(name, out, sizeof(out), &err), 0);
  /* a buffer too small */
  assert_int_equal(al_host_normalise("example.com", out, 5, &err), -1);
  airlock_error_free(&err);
}

typedef struct {
  const char *in;
  al_ip_kind kind;
  const char *addr; /* inet_ntop form */
} ip_case;

static const ip_case ip_cases[] = {
    {"127.0.0.1", AL_IP_V4, "127.0.0.1"},
    {"127.0.0.1.", AL_IP_V4, "127.0.0.1"},
    {"2130706433", AL_IP_V4, "127.0.0.1"},
    {"0x7f000001", AL_IP_V4, "127.0.0.1"},
    {"0X7F000001", AL_IP_V4, "127.0.0.1"},
    {"017700000001", AL_IP_V4, "127.0.0.1"},
    {"0177.0.0.1", AL_IP_V4, "127.0.0.1"},
    {"0177.0000.0000.0001", AL_IP_V4, "127.0.0.1"},
    {"127.1", AL_IP_V4, "127.0.0.1"},
    {"127.0.1", AL_IP_V4, "127.0.0.1"},
    {"0x7f.1", AL_IP_V4, "127.0.0.1"},
    {"0x7f.0.0.0x1", AL_IP_V4, "127.0.0.1"},
    {"0xa9.0xfe.0xa9.0xfe", AL_IP_V4, "169.254.169.254"},
    {"169.254.43518", AL_IP_V4, "169.254.169.254"},
    {"10.0x10.0377.1", AL_IP_V4, "10.16.255.1"},
    {"0", AL_IP_V4, "0.0.0.0"},
    {"0x", AL_IP_V4, "0.0.0.0"},
    {"4294967295", AL_IP_V4, "255.255.255.255"},
    {"4294967296", AL_IP_BAD, NULL},
    {"256.0.0.1", AL_IP_BAD, NULL},
    {"1.2.3.4.5", AL_IP_BAD, NULL},
    {"1.2.3.256", AL_IP_BAD, NULL},
    {"1.2.65536", AL_IP_BAD, NULL},
    {"08.0.0.1", AL_IP_BAD, NULL}, /* 8 is not an octal digit */
    {"1..1", AL_IP_BAD, NULL},
    {"example.1", AL_IP_BAD, NULL},
    {"0x1g", AL_IP_NOT, NULL}, /* not a number: a (valid-looking) name */
    {"example.com", AL_IP_NOT, NULL},
    {"1.2.3.4.example", AL_IP_NOT, NULL},
    {"::1", AL_IP_V6, "::1"},
    {"[::1]", AL_IP_V6, "::1"},
    {"[::ffff:127.0.0.1]", AL_IP_V6, "::ffff:127.0.0.1"},
    {"[::ffff:7f00:1]", AL_IP_V6, "::ffff:127.0.0.1"},
    {"[::127.0.0.1]", AL_IP_V6, "::127.0.0.1"},
    {"[2001:DB8::1]", AL_IP_V6, "2001:db8::1"},
    {"[fe80::1%eth0]", AL_IP_BAD, NULL},
    {"[fe80::1%25eth0]", AL_IP_BAD, NULL},
    {"fe80::1%eth0", AL_IP_BAD, NULL},
    {"[::1", AL_IP_BAD, NULL},
    {"[]", AL_IP_BAD, NULL},
    {"[1.2.3.4]", AL_IP_BAD, NULL},
    {"[::g]", AL_IP_BAD, NULL},
    {"example.com:443", AL_IP_BAD, NULL},
};

static void test_ip_parse(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(ip_cases) / sizeof(ip_cases[0]); i++) {
    const ip_case *c = &ip_cases[i];
    al_ip ip;
    memset(&ip, 0, sizeof(ip));
    al_ip_kind k = al_ip_parse(c->in, &ip);
    if (k != c->kind)
      fail_msg("case %zu '%s': kind %d, want %d", i, c->in, (int)k, (int)c->kind);
    if (c->addr != NULL) {
      char buf[INET6_ADDRSTRLEN];
      assert_non_null(inet_ntop(ip.family, ip.addr, buf, sizeof(buf)));
      if (strcmp(buf, c->addr) != 0)
        fail_msg("case %zu '%s': %s, want %s", i, c->in, buf, c->addr);
    }
  }
}

static const char *const bad_rules[] = {
    "",
    ":443",
    "example.com:",
    "example.com:0",
    "example.com:65536",
    "example.com:+443",
    "example.com:http",
    "example.com:443:1",
    "**",
    "*:",
    "*:0",
    "[*]:443",
    "*/8",
    "*example.com",
    "*.",
    "*.*.example.com",
    "a.*.example.com",
    "ex*ample.com",
    "*.127.0.0.1",
    "::1",
    "[::1",
    "[::1]x",
    "[::1]:",
    "[1.2.3.4]",
    "[fe80::1%eth0]",
    "10.0.0.1/8",
    "10.0.0.0/33",
    "10.0.0.0/",
    "10.0.0.0/08",
    "example.com/8",
    "[2001:db8::1/32]",
    "256.1.1.1",
    "exa mple.com",
    "user@example.com",
};

static void test_bad_rules(void **state) {
  (void)state;
  al_egress_ruleset *rs = al_egress_ruleset_new();
  assert_non_null(rs);
  for (size_t i = 0; i < sizeof(bad_rules) / sizeof(bad_rules[0]); i++) {
    airlock_error *err = NULL;
    if (al_egress_ruleset_add(rs, AL_EGRESS_ALLOW, bad_rules[i], &err) != -1 || err == NULL)
      fail_msg("rule '%s' was accepted", bad_rules[i]);
    assert_non_null(strstr(err->msg, "egress rule"));
    airlock_error_free(&err);
  }
  assert_int_equal(al_egress_ruleset_count(rs), 0);
  al_egress_ruleset_free(rs);
}

typedef struct {
  const char *host;
  uint16_t port;
  al_egress_verdict want;
  const char *reason; /* substring */
} decide_case;

static const char *const allow_rules[] = {
    "api.example.com",     "*.example.org",     "Bücher.example:*", "git.example.net:22",
    "203.0.113.7",         "198.51.100.0/24:*", "[2001:db8::/32]",  "[2001:db8:1::5]:8443",
    "*.corp.example:8080", "evil.example.org",  "open.example:*",   "[64:ff9b::/96]",
};
static const char *const deny_rules[] = {"evil.example.org", "*.bad.example.org", "198.51.100.66:*"};

static const decide_case decide_cases[] = {
    /* exact names, case, trailing dot, default ports */
    {"api.example.com", 443, AL_EGRESS_ALLOW, "allowed by rule 'api.example.com'"},
    {"api.example.com", 80, AL_EGRESS_ALLOW, "api.example.com"},
    {"API.Example.COM.", 443, AL_EGRESS_ALLOW, "api.example.com"},
    {"api.example.com", 8443, AL_EGRESS_DENY, "no rule allows api.example.com:8443"},
    {"api.example.com", 22, AL_EGRESS_DENY, "no rule"},
    /* an exact rule does not cover subdomains */
    {"x.api.example.com", 443, AL_EGRESS_DENY, "no rule"},
    /* suffix confusion */
    {"evilapi.example.com", 443, AL_EGRESS_DENY, "no rule"},
    {"api.example.com.evil.com", 443, AL_EGRESS_DENY, "no rule"},
    {"api.example.comm", 443, AL_EGRESS_DENY, "no rule"},
    {"example.com", 443, AL_EGRESS_DENY, "no rule"},
    /* wildcards: subdomains only, at any depth, not the bare suffix */
    {"www.example.org", 443, AL_EGRESS_ALLOW, "'*.example.org'"},
    {"a.b.example.org", 80, AL_EGRESS_ALLOW, "'*.example.org'"},
    {"example.org", 443, AL_EGRESS_DENY, "no rule"},
    {"evilexample.org", 443, AL_EGRESS_DENY, "no rule"},
    {"www.example.org.evil.net", 443, AL_EGRESS_DENY, "no rule"},
    {"wwwexample.org", 443, AL_EGRESS_DENY, "no rule"},
    {".example.org", 443, AL_EGRESS_DENY, "invalid host"},
    {"www.example.org", 8080, AL_EGRESS_DENY, "no rule"},
    {"x.corp.example", 8080, AL_EGRESS_ALLOW, "'*.corp.example:8080'"},
    {"x.corp.example", 443, AL_EGRESS_DENY, "no rule"},
    /* deny wins, whatever the order */
    {"evil.example.org", 443, AL_EGRESS_DENY, "denied by rule 'evil.example.org'"},
    {"EVIL.example.org.", 443, AL_EGRESS_DENY, "denied by rule"},
    {"x.bad.example.org", 443, AL_EGRESS_DENY, "denied by rule '*.bad.example.org'"},
    {"bad.example.org", 443, AL_EGRESS_ALLOW, "'*.example.org'"},
    /* IDNA in rules and hosts */
    {"bücher.example", 443, AL_EGRESS_ALLOW, "Bücher.example:*"},
    {"xn--bcher-kva.example", 9999, AL_EGRESS_ALLOW, "Bücher.example:*"},
    {"BÜCHER.EXAMPLE.", 1, AL_EGRESS_ALLOW, "Bücher.example"},
    /* explicit and any ports */
    {"git.example.net", 22, AL_EGRESS_ALLOW, "git.example.net:22"},
    {"git.example.net", 443, AL_EGRESS_DENY, "no rule"},
    {"open.example", 65535, AL_EGRESS_ALLOW, "open.example:*"},
    {"open.example", 0, AL_EGRESS_DENY, "invalid port"},
    /* IP rules match IP literals in any encoding */
    {"203.0.113.7", 443, AL_EGRESS_ALLOW, "'203.0.113.7'"},
    {"3405803783", 443, AL_EGRESS_ALLOW, "'203.0.113.7'"},
    {"0xcb.0.0x71.07", 443, AL_EGRESS_ALLOW, "'203.0.113.7'"},
    {"[::ffff:203.0.113.7]", 80, AL_EGRESS_ALLOW, "'203.0.113.7'"},
    {"203.0.113.7", 8080, AL_EGRESS_DENY, "no rule allows 203.0.113.7 port 8080"},
    {"203.0.113.8", 443, AL_EGRESS_DENY, "no rule"},
    {"198.51.100.1", 5432, AL_EGRESS_ALLOW, "198.51.100.0/24:*"},
    {"198.51.100.66", 443, AL_EGRESS_DENY, "denied by rule '198.51.100.66:*'"},
    {"[::ffff:198.51.100.66]", 443, AL_EGRESS_DENY, "denied by rule"},
    {"3325256770", 443, AL_EGRESS_DENY, "denied by rule"}, /* 198.51.100.66 */
    /* other IPv6 forms of a denied IPv4 address are denied, even when an
     * IPv6 rule allows them */
    {"[64:ff9b::c633:6442]", 443, AL_EGRESS_DENY, "denied by rule '198.51.100.66:*'"},
    {"[::198.51.100.66]", 443, AL_EGRESS_DENY, "denied by rule"},
    {"[::ffff:0:198.51.100.66]", 443, AL_EGRESS_DENY, "denied by rule"},
    {"[64:ff9b::c633:6443]", 443, AL_EGRESS_ALLOW, "[64:ff9b::/96]"},
    {"[2001:db8::99]", 443, AL_EGRESS_ALLOW, "[2001:db8::/32]"},
    {"2001:db8::99", 80, AL_EGRESS_ALLOW, "[2001:db8::/32]"},
    {"[2001:db8::99]", 22, AL_EGRESS_DENY, "no rule"},
    {"[2001:db8:1::5]", 8443, AL_EGRESS_ALLOW, "[2001:db8:1::5]:8443"},
    {"[2001:db9::1]", 443, AL_EGRESS_DENY, "no rule"},
    /* name rules never match IP literals, and the reverse */
    {"127.0.0.1", 443, AL_EGRESS_DENY, "no rule"},
    {"2130706433", 443, AL_EGRESS_DENY, "no rule"},
    {"0x7f.1", 443, AL_EGRESS_DENY, "no rule"},
    {"[::1]", 443, AL_EGRESS_DENY, "no rule"},
    {"１２７.０.０.１", 443, AL_EGRESS_DENY, "invalid host"},
    /* invalid hosts */
    {"", 443, AL_EGRESS_DENY, "invalid host: empty"},
    {"api.example.com:443", 443, AL_EGRESS_DENY, "invalid host"},
    {"api.example.com%00", 443, AL_EGRESS_DENY, "invalid host"},
    {"user@api.example.com", 443, AL_EGRESS_DENY, "invalid host"},
    {"api.example.com\r\nX: y", 443, AL_EGRESS_DENY, "invalid host"},
    {"[fe80::1%eth0]", 443, AL_EGRESS_DENY, "invalid host"},
    {"1.2.3.256", 443, AL_EGRESS_DENY, "invalid host"},
    {"api.example.com..", 443, AL_EGRESS_DENY, "invalid host"},
};

static void test_decide(void **state) {
  (void)state;
  al_egress_ruleset *rs = al_egress_ruleset_new();
  assert_non_null(rs);
  airlock_error *err = NULL;
  /* deny rules first for some, after for others: order must not matter */
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_DENY, deny_rules[0], &err), 0);
  for (size_t i = 0; i < sizeof(allow_rules) / sizeof(allow_rules[0]); i++)
    if (al_egress_ruleset_add(rs, AL_EGRESS_ALLOW, allow_rules[i], &err) != 0)
      fail_msg("rule '%s': %s", allow_rules[i], err->msg);
  for (size_t i = 1; i < sizeof(deny_rules) / sizeof(deny_rules[0]); i++)
    assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_DENY, deny_rules[i], &err), 0);
  for (size_t i = 0; i < sizeof(decide_cases) / sizeof(decide_cases[0]); i++) {
    const decide_case *c = &decide_cases[i];
    char reason[512];
    al_egress_verdict v = al_egress_decide(rs, c->host, c->port, reason, sizeof(reason));
    if (v != c->want || strstr(reason, c->reason) == NULL)
      fail_msg("case %zu %s:%u: %s (%s), want %s (%s)", i, c->host, c->port, v ? "allow" : "deny", reason,
               c->want ? "allow" : "deny", c->reason);
  }
  al_egress_ruleset_free(rs);
}

/* "*" is any name, never an IP literal; with a port, like other rules */
static void test_any_name(void **state) {
  (void)state;
  al_egress_ruleset *rs = al_egress_ruleset_new();
  assert_non_null(rs);
  airlock_error *err = NULL;
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_ALLOW, "*", &err), 0);
  char reason[256];
  assert_int_equal(al_egress_decide(rs, "example.com", 443, reason, sizeof(reason)), AL_EGRESS_ALLOW);
  assert_string_equal(reason, "allowed by rule '*'");
  assert_int_equal(al_egress_decide(rs, "Anything.Example.", 80, NULL, 0), AL_EGRESS_ALLOW);
  assert_int_equal(al_egress_decide(rs, "localhost", 443, NULL, 0), AL_EGRESS_ALLOW);
  assert_int_equal(al_egress_decide(rs, "example.com", 22, NULL, 0), AL_EGRESS_DENY);
  assert_int_equal(al_egress_decide(rs, "example.com", 8443, NULL, 0), AL_EGRESS_DENY);
  al_egress_ruleset_free(rs);

  rs = al_egress_ruleset_new();
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_ALLOW, "*:*", &err), 0);
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_DENY, "evil.example", &err), 0);
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_DENY, "*.bad.example:*", &err), 0);
  assert_int_equal(al_egress_decide(rs, "example.com", 22, reason, sizeof(reason)), AL_EGRESS_ALLOW);
  assert_string_equal(reason, "allowed by rule '*:*'");
  assert_int_equal(al_egress_decide(rs, "example.com", 65535, NULL, 0), AL_EGRESS_ALLOW);
  /* IP literals are matched by IP rules only */
  static const char *const literals[] = {
      "127.0.0.1", "2130706433", "0x7f.1", "[::1]", "::ffff:127.0.0.1", "8.8.8.8", "[2606:4700:4700::1111]"};
  for (size_t i = 0; i < sizeof(literals) / sizeof(literals[0]); i++) {
    if (al_egress_decide(rs, literals[i], 443, reason, sizeof(reason)) != AL_EGRESS_DENY)
      fail_msg("'%s' allowed by '*:*': %s", literals[i], reason);
    assert_non_null(strstr(reason, "no rule allows"));
  }
  /* invalid names stay invalid */
  assert_int_equal(al_egress_decide(rs, "a_b.example", 443, reason, sizeof(reason)), AL_EGRESS_DENY);
  assert_non_null(strstr(reason, "invalid host"));
  assert_int_equal(al_egress_decide(rs, "1.2.3.256", 443, NULL, 0), AL_EGRESS_DENY);
  /* a deny rule still wins, on its ports */
  assert_int_equal(al_egress_decide(rs, "evil.example", 443, reason, sizeof(reason)), AL_EGRESS_DENY);
  assert_string_equal(reason, "denied by rule 'evil.example'");
  assert_int_equal(al_egress_decide(rs, "evil.example", 22, NULL, 0), AL_EGRESS_ALLOW);
  assert_int_equal(al_egress_decide(rs, "x.bad.example", 22, NULL, 0), AL_EGRESS_DENY);
  al_egress_ruleset_free(rs);

  /* "*:N" and "*" as deny rules */
  rs = al_egress_ruleset_new();
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_ALLOW, "*:22", &err), 0);
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_ALLOW, "api.example.com", &err), 0);
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_ALLOW, "203.0.113.7", &err), 0);
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_DENY, "*:80", &err), 0);
  assert_int_equal(al_egress_decide(rs, "git.example", 22, NULL, 0), AL_EGRESS_ALLOW);
  assert_int_equal(al_egress_decide(rs, "git.example", 443, NULL, 0), AL_EGRESS_DENY);
  assert_int_equal(al_egress_decide(rs, "api.example.com", 443, NULL, 0), AL_EGRESS_ALLOW);
  assert_int_equal(al_egress_decide(rs, "api.example.com", 80, reason, sizeof(reason)), AL_EGRESS_DENY);
  assert_string_equal(reason, "denied by rule '*:80'");
  /* a name deny rule does not touch IP literals */
  assert_int_equal(al_egress_decide(rs, "203.0.113.7", 80, NULL, 0), AL_EGRESS_ALLOW);
  al_egress_ruleset_free(rs);
}

static void test_name_allowed(void **state) {
  (void)state;
  al_egress_ruleset *rs = al_egress_ruleset_new();
  assert_non_null(rs);
  airlock_error *err = NULL;
  static const char *const allow[] = {"api.example.com", "*.example.org",   "git.example.net:22", "open.example:*",
                                      "half.example",    "ports.example:*", "203.0.113.7",        "2130706433"};
  static const char *const deny[] = {"evil.example.org:*", "half.example:443", "ports.example:1", "ports.example:2",
                                     "ports.example"};
  for (size_t i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
    assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_ALLOW, allow[i], &err), 0);
  for (size_t i = 0; i < sizeof(deny) / sizeof(deny[0]); i++)
    assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_DENY, deny[i], &err), 0);
  assert_true(al_egress_name_allowed(rs, "api.example.com"));
  assert_false(al_egress_name_allowed(rs, "x.api.example.com"));
  assert_false(al_egress_name_allowed(rs, "example.com"));
  /* "*.x" covers names under x, not x */
  assert_true(al_egress_name_allowed(rs, "www.example.org"));
  assert_true(al_egress_name_allowed(rs, "a.b.example.org"));
  assert_false(al_egress_name_allowed(rs, "example.org"));
  assert_false(al_egress_name_allowed(rs, "wwwexample.org"));
  /* denied at every port */
  assert_false(al_egress_name_allowed(rs, "evil.example.org"));
  /* allowed on port 22 only is allowed */
  assert_true(al_egress_name_allowed(rs, "git.example.net"));
  assert_true(al_egress_name_allowed(rs, "open.example"));
  /* 443 denied, 80 still allowed */
  assert_true(al_egress_name_allowed(rs, "half.example"));
  /* any port, with 1, 2, 80 and 443 denied: 3 is allowed */
  assert_true(al_egress_name_allowed(rs, "ports.example"));
  assert_int_equal(al_egress_decide(rs, "ports.example", 3, NULL, 0), AL_EGRESS_ALLOW);
  /* IP literals and invalid names are not names */
  assert_false(al_egress_name_allowed(rs, "203.0.113.7"));
  assert_false(al_egress_name_allowed(rs, "2130706433"));
  assert_false(al_egress_name_allowed(rs, "a_b.example.org"));
  assert_false(al_egress_name_allowed(rs, ""));
  assert_false(al_egress_name_allowed(rs, NULL));
  assert_false(al_egress_name_allowed(NULL, "api.example.com"));
  /* not yet normalised: the same answer as for the normalised form */
  assert_true(al_egress_name_allowed(rs, "API.Example.COM."));
  /* both ports of a port-less rule denied */
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_DENY, "half.example:80", &err), 0);
  assert_false(al_egress_name_allowed(rs, "half.example"));
  al_egress_ruleset_free(rs);

  /* the any-name rule, and a name denied by "name:*" */
  rs = al_egress_ruleset_new();
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_ALLOW, "*:*", &err), 0);
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_DENY, "blocked.example:*", &err), 0);
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_DENY, "*.tunnel.example:*", &err), 0);
  assert_true(al_egress_name_allowed(rs, "anything.example"));
  assert_true(al_egress_name_allowed(rs, "localhost"));
  assert_false(al_egress_name_allowed(rs, "blocked.example"));
  assert_false(al_egress_name_allowed(rs, "c2VjcmV0.tunnel.example"));
  assert_true(al_egress_name_allowed(rs, "tunnel.example"));
  assert_false(al_egress_name_allowed(rs, "127.0.0.1"));
  assert_false(al_egress_name_allowed(rs, "2130706433"));
  /* "*" denied on every port: nothing */
  assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_DENY, "*:*", &err), 0);
  assert_false(al_egress_name_allowed(rs, "anything.example"));
  al_egress_ruleset_free(rs);

  /* an empty rule set allows no name */
  rs = al_egress_ruleset_new();
  assert_false(al_egress_name_allowed(rs, "example.com"));
  al_egress_ruleset_free(rs);
}

/* al_egress_name_allowed agrees with al_egress_decide tried on every port */
static void test_name_allowed_agrees(void **state) {
  (void)state;
  static const char *const rules[][2] = {
      {"a.example", NULL},          {"a.example:22", "a.example"}, {"*.a.example:*", "x.a.example:*"}, {"*", "*:443"},
      {"*:8080", "b.example:8080"}, {"b.example", "*:80"},         {"*.c.example", "*.c.example:80"},
  };
  static const char *const names[] = {"a.example", "x.a.example", "y.a.example",  "b.example",
                                      "c.example", "z.c.example", "other.example"};
  al_egress_ruleset *rs = al_egress_ruleset_new();
  airlock_error *err = NULL;
  for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
    assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_ALLOW, rules[r][0], &err), 0);
    if (rules[r][1] != NULL)
      assert_int_equal(al_egress_ruleset_add(rs, AL_EGRESS_DENY, rules[r][1], &err), 0);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
      bool any = false;
      for (uint32_t p = 1; p <= 65535 && !any; p++)
        any = al_egress_decide(rs, names[i], (uint16_t)p, NULL, 0) == AL_EGRESS_ALLOW;
      if (al_egress_name_allowed(rs, names[i]) != any)
        fail_msg("after rule %zu, %s: name_allowed %d, decide on some port %d", r, names[i], !any, any);
    }
  }
  al_egress_ruleset_free(rs);
}

static void test_default_deny(void **state) {
  (void)state;
  char reason[256];
  assert_int_equal(al_egress_decide(NULL, "example.com", 443, reason, sizeof(reason)), AL_EGRESS_DENY);
  assert_string_equal(reason, "no rule allows example.com:443");
  al_egress_ruleset *rs = al_egress_ruleset_new();
  assert_int_equal(al_egress_decide(rs, "example.com", 443, NULL, 0), AL_EGRESS_DENY);
  al_egress_ruleset_free(rs);
}

typedef struct {
  const char *addr;
  bool forbidden;
  const char *why; /* substring */
} addr_case;

static const addr_case addr_cases[] = {
    {"0.0.0.0", true, "unspecified"},
    {"0.1.2.3", true, "0.0.0.0/8"},
    {"10.1.2.3", true, "private 10.0.0.0/8"},
    {"100.64.0.1", true, "CGNAT"},
    {"100.100.100.200", true, "CGNAT"}, /* Alibaba's metadata service */
    {"100.128.0.1", false, NULL},
    {"127.0.0.1", true, "loopback"},
    {"127.255.255.254", true, "loopback"},
    {"169.254.169.254", true, "cloud metadata"},
    {"169.254.170.2", true, "link-local"},
    {"172.16.0.1", true, "private 172.16.0.0/12"},
    {"172.31.255.255", true, "private"},
    {"172.32.0.1", false, NULL},
    {"192.168.1.1", true, "private 192.168.0.0/16"},
    {"192.0.0.8", true, "IETF"},
    {"192.0.2.1", true, "documentation"},
    {"198.18.0.1", true, "benchmarking"},
    {"224.0.0.1", true, "multicast"},
    {"239.255.255.250", true, "multicast"},
    {"240.0.0.1", true, "reserved"},
    {"255.255.255.255", true, "broadcast"},
    {"8.8.8.8", false, NULL},
    {"1.1.1.1", false, NULL},
    {"93.184.216.34", false, NULL},
    {"::", true, "unspecified"},
    {"::1", true, "loopback"},
    {"fc00::1", true, "unique local"},
    {"fd12:3456::1", true, "unique local"},
    {"fd00:ec2::254", true, "cloud metadata"},
    {"fe80::1", true, "link-local"},
    {"febf::1", true, "link-local"},
    {"fec0::1", true, "site-local"},
    {"ff02::1", true, "multicast"},
    {"100::1", true, "discard"},
    {"2001:db8::1", true, "documentation"},
    {"64:ff9b:1::1", true, "local-use NAT64"},
    {"::ffff:127.0.0.1", true, "IPv4-mapped ::ffff:0:0/96: loopback"},
    {"::ffff:169.254.169.254", true, "cloud metadata"},
    {"::ffff:10.0.0.1", true, "private"},
    {"::ffff:8.8.8.8", false, NULL},
    {"::ffff:0:127.0.0.1", true, "IPv4-translated"},
    {"::127.0.0.1", true, "IPv4-compatible (deprecated) ::/96: loopback"},
    {"::8.8.8.8", true, "IPv4-compatible"},
    {"64:ff9b::7f00:1", true, "NAT64 64:ff9b::/96: loopback"},
    {"64:ff9b::a9fe:a9fe", true, "NAT64 64:ff9b::/96: cloud metadata"},
    {"64:ff9b::808:808", false, NULL},
    {"2002:7f00:1::", true, "6to4 2002::/16: loopback"},
    {"2002:a9fe:a9fe::1", true, "6to4 2002::/16: cloud metadata"},
    {"2002:c0a8:101::1", true, "6to4 2002::/16: private"},
    {"2002:808:808::1", false, NULL},
    /* Teredo: server 65.54.227.120, client 127.0.0.1 stored inverted */
    {"2001:0:4136:e378:8000:63bf:80ff:fffe", true, "Teredo 2001::/32: loopback"},
    /* client 10.0.0.1 inverted: f5ff:fffe */
    {"2001:0:4136:e378:8000:63bf:f5ff:fffe", true, "Teredo 2001::/32: private"},
    /* server 169.254.169.254 */
    {"2001:0:a9fe:a9fe::", true, "Teredo 2001::/32"},
    /* server 65.54.227.120, client 8.8.8.8 (f7f7:f7f7) */
    {"2001:0:4136:e378:8000:63bf:f7f7:f7f7", false, NULL},
    {"4000::1", true, "reserved"},
    {"2606:4700:4700::1111", false, NULL},
    {"2a00:1450:4001:80e::200e", false, NULL},
};

static void test_forbidden(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
    const addr_case *c = &addr_cases[i];
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(c->addr, ':')) {
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
      s6->sin6_family = AF_INET6;
      assert_int_equal(inet_pton(AF_INET6, c->addr, &s6->sin6_addr), 1);
    } else {
      struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
      s4->sin_family = AF_INET;
      assert_int_equal(inet_pton(AF_INET, c->addr, &s4->sin_addr), 1);
    }
    char why[200] = "";
    bool f = al_addr_forbidden((struct sockaddr *)&ss, why, sizeof(why));
    if (f != c->forbidden)
      fail_msg("case %zu %s: forbidden=%d (%s), want %d", i, c->addr, f, why, c->forbidden);
    if (c->why != NULL && strstr(why, c->why) == NULL)
      fail_msg("case %zu %s: reason '%s', want '%s'", i, c->addr, why, c->why);
    /* the same through al_ip_parse: the literal and al_ip_forbidden agree */
    al_ip ip;
    assert_int_not_equal(al_ip_parse(c->addr, &ip), AL_IP_NOT);
    assert_int_equal(al_ip_forbidden(&ip, NULL, 0), c->forbidden);
  }
  struct sockaddr sa = {.sa_family = AF_UNIX};
  char why[100];
  assert_true(al_addr_forbidden(&sa, why, sizeof(why)));
  assert_true(al_addr_forbidden(NULL, NULL, 0));
}

/* encodings of forbidden addresses all parse to the forbidden address */
static void test_encoded_forbidden(void **state) {
  (void)state;
  static const char *const enc[] = {"2130706433", "0x7f000001",        "0177.0.0.1", "127.1",
                                    "0x7f.1",     "0xa9fea9fe",        "2852039166", "[::ffff:7f00:1]",
                                    "[::7f00:1]", "[64:ff9b::7f00:1]", "0x0a.1",     "012.0.0.1"};
  for (size_t i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
    al_ip ip;
    al_ip_kind k = al_ip_parse(enc[i], &ip);
    assert_true(k == AL_IP_V4 || k == AL_IP_V6);
    char why[200];
    if (!al_ip_forbidden(&ip, why, sizeof(why)))
      fail_msg("%s is not forbidden", enc[i]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_normalise),
      cmocka_unit_test(test_normalise_lengths),
      cmocka_unit_test(test_ip_parse),
      cmocka_unit_test(test_bad_rules),
      cmocka_unit_test(test_decide),
      cmocka_unit_test(test_any_name),
      cmocka_unit_test(test_name_allowed),
      cmocka_unit_test(test_name_allowed_agrees),
      cmocka_unit_test(test_default_deny),
      cmocka_unit_test(test_forbidden),
      cmocka_unit_test(test_encoded_forbidden),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
