/* SPDX-License-Identifier: Apache-2.0 */
/* egress_rules.c - host normalisation, IP literal parsing, the allow/deny
 * rules and the forbidden address classes of the egress proxy (see
 * egress_rules.h and docs/egress.md).  Pure functions: the proxy calls them
 * with what the sandbox asked for and with what DNS answered. */
#define _GNU_SOURCE
#include "egress_rules.h"

#include <arpa/inet.h>
#include <errno.h>
#include <idn2.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define HOST_INPUT_MAX 1024

static bool is_ldh(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* WHATWG "ends in a number": the last label (one trailing dot ignored) is
 * all digits, or 0x/0X followed by hex digits only. */
static bool ends_in_number(const char *s, size_t len) {
  if (len > 0 && s[len - 1] == '.')
    len--;
  size_t start = len;
  while (start > 0 && s[start - 1] != '.')
    start--;
  const char *l = s + start;
  size_t n = len - start;
  if (n == 0)
    return false;
  if (n >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X')) {
    for (size_t i = 2; i < n; i++)
      if (!is_hex(l[i]))
        return false;
    return true;
  }
  for (size_t i = 0; i < n; i++)
    if (l[i] < '0' || l[i] > '9')
      return false;
  return true;
}

static const char *describe_byte(unsigned char c, char *buf, size_t len) {
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
    snprintf(buf, len, "whitespace");
  else if (c < 0x20 || c == 0x7f)
    snprintf(buf, len, "control character 0x%02x", c);
  else
    snprintf(buf, len, "'%c'", c);
  return buf;
}

/* Check a name in A-label form: LDH labels of 1-63 bytes, no hyphen at
 * either end of a label, 253 bytes at most; lower-cases it in place. */
static int check_a_labels(char *s, airlock_error **err) {
  size_t len = strlen(s);
  if (len == 0)
    return al_err(err, 0, "empty host name");
  if (len > 253)
    return al_err(err, 0, "host name longer than 253 characters");
  size_t label = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || s[i] == '.') {
      if (label == 0)
        return al_err(err, 0, "host name has an empty label");
      if (label > 63)
        return al_err(err, 0, "host name label longer than 63 characters");
      if (s[i - label] == '-' || s[i - 1] == '-')
        return al_err(err, 0, "host name label starts or ends with '-'");
      label = 0;
      continue;
    }
    if (!is_ldh((unsigned char)s[i]))
      return al_err(err, 0, "host name has a character not allowed in host names");
    s[i] = lower(s[i]);
    label++;
  }
  return 0;
}

int al_host_normalise(const char *in, char *out, size_t outlen, airlock_error **err) {
  if (in == NULL || in[0] == '\0')
    return al_err(err, 0, "empty host name");
  size_t n = strnlen(in, HOST_INPUT_MAX + 1);
  if (n > HOST_INPUT_MAX)
    return al_err(err, 0, "host name too long");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c < 0x80 && !is_ldh(c) && c != '.') {
      char what[32];
      return al_err(err, 0, "host name contains %s", describe_byte(c, what, sizeof(what)));
    }
  }
  if (in[n - 1] == '.')
    n--;
  if (n == 0)
    return al_err(err, 0, "empty host name");

  /* Label by label: ASCII labels other than xn-- are only lower-cased (IDNA
   * would refuse real names such as r3---sn-x.googlevideo.com for their
   * "--" in positions 3-4); Unicode and xn-- labels go through UTS#46. */
  char res[HOST_INPUT_MAX * 2];
  size_t rlen = 0;
  size_t pos = 0;
  while (pos <= n) {
    size_t end = pos;
    while (end < n && in[end] != '.')
      end++;
    size_t llen = end - pos;
    if (llen == 0)
      return al_err(err, 0, "host name has an empty label");
    bool ascii = true;
    for (size_t i = pos; i < end; i++)
      if ((unsigned char)in[i] >= 0x80)
        ascii = false;
    bool alabel =
        llen >= 4 && lower(in[pos]) == 'x' && lower(in[pos + 1]) == 'n' && in[pos + 2] == '-' && in[pos + 3] == '-';
    if (rlen > 0)
      res[rlen++] = '.';
    if (ascii && !alabel) {
      if (rlen + llen >= sizeof(res))
        return al_err(err, 0, "host name too long");
      for (size_t i = pos; i < end; i++)
        res[rlen++] = lower(in[i]);
    } else {
      char lab[HOST_INPUT_MAX + 1];
      memcpy(lab, in + pos, llen);
      lab[llen] = '\0';
      char *a = NULL;
      int rc = idn2_to_ascii_8z(lab, &a, IDN2_NONTRANSITIONAL | IDN2_USE_STD3_ASCII_RULES | IDN2_NFC_INPUT);
      if (rc != IDN2_OK) {
        free(a);
        return al_err(err, 0, "host name is not a valid internationalised name: %s", idn2_strerror(rc));
      }
      size_t alen = strlen(a);
      if (rlen + alen >= sizeof(res)) {
        free(a);
        return al_err(err, 0, "host name too long");
      }
      memcpy(res + rlen, a, alen);
      rlen += alen;
      free(a);
    }
    pos = end + 1;
  }
  res[rlen] = '\0';
  if (check_a_labels(res, err) < 0)
    return -1;
  if (ends_in_number(res, rlen))
    return al_err(err, 0, "'%s' is an IP address literal, not a host name", res);
  if (rlen + 1 > outlen)
    return al_err(err, 0, "host name does not fit the output buffer");
  memcpy(out, res, rlen + 1);
  return 0;
}

/* One inet_aton part: decimal, octal (leading 0) or hex (0x; "0x" alone is
 * 0 as in WHATWG).  Values above 2^32-1 fail. */
static bool parse_v4_part(const char *s, size_t n, uint64_t *v) {
  if (n == 0)
    return false;
  unsigned base = 10;
  size_t i = 0;
  if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    i = 2;
  } else if (n >= 2 && s[0] == '0') {
    base = 8;
    i = 1;
  }
  uint64_t acc = 0;
  for (; i < n; i++) {
    unsigned d;
    char c = s[i];
    if (c >= '0' && c <= '9')
      d = (unsigned)(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = (unsigned)(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = (unsigned)(c - 'A' + 10);
    else
      return false;
    if (d >= base)
      return false;
    acc = acc * base + d;
    if (acc > 0xffffffffULL)
      return false;
  }
  *v = acc;
  return true;
}

static al_ip_kind parse_v4(const char *s, size_t len, al_ip *ip) {
  uint64_t parts[4];
  size_t count = 0;
  size_t pos = 0;
  while (pos <= len) {
    size_t end = pos;
    while (end < len && s[end] != '.')
      end++;
    if (count == 4 || !parse_v4_part(s + pos, end - pos, &parts[count]))
      return AL_IP_BAD;
    count++;
    pos = end + 1;
  }
  uint64_t v = 0;
  for (size_t i = 0; i + 1 < count; i++) {
    if (parts[i] > 255)
      return AL_IP_BAD;
    v |= parts[i] << (8 * (3 - i));
  }
  uint64_t last = parts[count - 1];
  if (last >= (1ULL << (8 * (5 - count))))
    return AL_IP_BAD;
  v |= last;
  if (ip) {
    memset(ip, 0, sizeof(*ip));
    ip->family = AF_INET;
    ip->addr[0] = (uint8_t)(v >> 24);
    ip->addr[1] = (uint8_t)(v >> 16);
    ip->addr[2] = (uint8_t)(v >> 8);
    ip->addr[3] = (uint8_t)v;
  }
  return AL_IP_V4;
}

al_ip_kind al_ip_parse(const char *host, al_ip *ip) {
  if (host == NULL)
    return AL_IP_BAD;
  size_t len = strnlen(host, HOST_INPUT_MAX + 1);
  if (len == 0 || len > HOST_INPUT_MAX)
    return AL_IP_NOT;
  const char *s = host;
  bool bracket = s[0] == '[';
  if (bracket || memchr(s, ':', len) != NULL) {
    if (bracket) {
      if (s[len - 1] != ']')
        return AL_IP_BAD;
      s++;
      len -= 2;
    }
    char buf[INET6_ADDRSTRLEN];
    if (len == 0 || len >= sizeof(buf) || memchr(s, '%', len) != NULL)
      return AL_IP_BAD;
    memcpy(buf, s, len);
    buf[len] = '\0';
    struct in6_addr a;
    if (inet_pton(AF_INET6, buf, &a) != 1)
      return AL_IP_BAD;
    if (ip) {
      memset(ip, 0, sizeof(*ip));
      ip->family = AF_INET6;
      memcpy(ip->addr, &a, 16);
    }
    return AL_IP_V6;
  }
  if (!ends_in_number(s, len))
    return AL_IP_NOT;
  if (s[len - 1] == '.')
    len--;
  return parse_v4(s, len, ip);
}

/* Forbidden address classes. */

typedef struct {
  uint32_t net;
  unsigned prefix;
  const char *what;
  const char *cidr;
} v4_class;

static const v4_class v4_classes[] = {
    {0x00000000u, 32, "unspecified", "0.0.0.0"},
    {0x00000000u, 8, "\"this network\"", "0.0.0.0/8"},
    {0x0a000000u, 8, "private", "10.0.0.0/8"},
    {0x64400000u, 10, "shared (CGNAT)", "100.64.0.0/10"},
    {0x7f000000u, 8, "loopback", "127.0.0.0/8"},
    {0xa9fea9feu, 32, "cloud metadata", "169.254.169.254"},
    {0xa9fe0000u, 16, "link-local", "169.254.0.0/16"},
    {0xac100000u, 12, "private", "172.16.0.0/12"},
    {0xc0000000u, 24, "IETF protocol assignments", "192.0.0.0/24"},
    {0xc0000200u, 24, "documentation", "192.0.2.0/24"},
    {0xc0586300u, 24, "6to4 relay anycast", "192.88.99.0/24"},
    {0xc0a80000u, 16, "private", "192.168.0.0/16"},
    {0xc6120000u, 15, "benchmarking", "198.18.0.0/15"},
    {0xc6336400u, 24, "documentation", "198.51.100.0/24"},
    {0xcb007100u, 24, "documentation", "203.0.113.0/24"},
    {0xe0000000u, 4, "multicast", "224.0.0.0/4"},
    {0xffffffffu, 32, "broadcast", "255.255.255.255"},
    {0xf0000000u, 4, "reserved", "240.0.0.0/4"},
};

static const v4_class *v4_forbidden(const uint8_t b[4]) {
  uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
  for (size_t i = 0; i < sizeof(v4_classes) / sizeof(v4_classes[0]); i++) {
    const v4_class *c = &v4_classes[i];
    uint32_t mask = c->prefix == 0 ? 0 : 0xffffffffu << (32 - c->prefix);
    if ((a & mask) == c->net)
      return c;
  }
  return NULL;
}

static bool prefix_match(const uint8_t *a, const uint8_t *net, unsigned prefix) {
  unsigned full = prefix / 8, rest = prefix % 8;
  if (memcmp(a, net, full) != 0)
    return false;
  if (rest == 0)
    return true;
  uint8_t mask = (uint8_t)(0xff << (8 - rest));
  return (a[full] & mask) == (net[full] & mask);
}

/* IPv6 prefixes, most specific first. */
enum v6_embed { EMBED_NONE, EMBED_LOW32, EMBED_6TO4, EMBED_TEREDO, EMBED_COMPAT };

typedef struct {
  uint8_t net[16];
  unsigned prefix;
  const char *what;
  const char *cidr;
  enum v6_embed embed; /* where an IPv4 address sits; forbidden only if it is */
} v6_class;

static const v6_class v6_classes[] = {
    {{0}, 128, "unspecified", "::", EMBED_NONE},
    {{[15] = 1}, 128, "loopback", "::1", EMBED_NONE},
    {{[10] = 0xff, [11] = 0xff}, 96, "IPv4-mapped", "::ffff:0:0/96", EMBED_LOW32},
    {{[8] = 0xff, [9] = 0xff}, 96, "IPv4-translated", "::ffff:0:0:0/96", EMBED_LOW32},
    {{0}, 96, "IPv4-compatible (deprecated)", "::/96", EMBED_COMPAT},
    {{0x00, 0x64, 0xff, 0x9b}, 96, "NAT64", "64:ff9b::/96", EMBED_LOW32},
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, "local-use NAT64", "64:ff9b:1::/48", EMBED_NONE},
    {{0x01, 0x00}, 64, "discard-only", "100::/64", EMBED_NONE},
    {{0x20, 0x01, 0x00, 0x00}, 32, "Teredo", "2001::/32", EMBED_TEREDO},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "documentation", "2001:db8::/32", EMBED_NONE},
    {{0x20, 0x02}, 16, "6to4", "2002::/16", EMBED_6TO4},
    {{0xfd, 0x00, 0x0e, 0xc2, [15] = 0x54, [14] = 0x02}, 128, "cloud metadata", "fd00:ec2::254", EMBED_NONE},
    {{0xfc}, 7, "unique local", "fc00::/7", EMBED_NONE},
    {{0xfe, 0x80}, 10, "link-local", "fe80::/10", EMBED_NONE},
    {{0xfe, 0xc0}, 10, "site-local (deprecated)", "fec0::/10", EMBED_NONE},
    {{0xff}, 8, "multicast", "ff00::/8", EMBED_NONE},
};

__attribute__((format(printf, 3, 4))) static bool say(char *why, size_t whylen, const char *fmt, ...) {
  if (why != NULL && whylen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
  }
  return true;
}

static bool v6_forbidden(const uint8_t a[16], char *why, size_t whylen) {
  for (size_t i = 0; i < sizeof(v6_classes) / sizeof(v6_classes[0]); i++) {
    const v6_class *c = &v6_classes[i];
    if (!prefix_match(a, c->net, c->prefix))
      continue;
    uint8_t v4[2][4];
    int nv4 = 0;
    switch (c->embed) {
    case EMBED_NONE: return say(why, whylen, "%s %s", c->what, c->cidr);
    case EMBED_LOW32:
    case EMBED_COMPAT: memcpy(v4[nv4++], a + 12, 4); break;
    case EMBED_6TO4: memcpy(v4[nv4++], a + 2, 4); break;
    case EMBED_TEREDO:
      memcpy(v4[nv4++], a + 4, 4); /* the Teredo server */
      for (int k = 0; k < 4; k++)  /* the client, stored inverted */
        v4[nv4][k] = (uint8_t)~a[12 + k];
      nv4++;
      break;
    }
    for (int k = 0; k < nv4; k++) {
      const v4_class *f = v4_forbidden(v4[k]);
      if (f != NULL)
        return say(why, whylen, "IPv4 embedded in %s %s: %s %s", c->what, c->cidr, f->what, f->cidr);
    }
    if (c->embed == EMBED_COMPAT)
      return say(why, whylen, "%s %s", c->what, c->cidr);
    return false; /* a public IPv4 address behind a translation prefix */
  }
  if ((a[0] & 0xe0) != 0x20) /* outside global unicast 2000::/3 */
    return say(why, whylen, "reserved (outside 2000::/3)");
  return false;
}

bool al_ip_forbidden(const al_ip *ip, char *why, size_t whylen) {
  if (ip == NULL)
    return say(why, whylen, "no address");
  if (ip->family == AF_INET) {
    const v4_class *c = v4_forbidden(ip->addr);
    if (c == NULL)
      return false;
    return say(why, whylen, "%s %s", c->what, c->cidr);
  }
  if (ip->family == AF_INET6)
    return v6_forbidden(ip->addr, why, whylen);
  return say(why, whylen, "not an IP address");
}

bool al_addr_forbidden(const struct sockaddr *sa, char *why, size_t whylen) {
  al_ip ip;
  memset(&ip, 0, sizeof(ip));
  if (sa == NULL)
    return say(why, whylen, "no address");
  if (sa->sa_family == AF_INET) {
    struct sockaddr_in in;
    memcpy(&in, sa, sizeof(in));
    ip.family = AF_INET;
    memcpy(ip.addr, &in.sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    struct sockaddr_in6 in6;
    memcpy(&in6, sa, sizeof(in6));
    ip.family = AF_INET6;
    memcpy(ip.addr, &in6.sin6_addr, 16);
  } else {
    return say(why, whylen, "address family is not IPv4 or IPv6");
  }
  return al_ip_forbidden(&ip, why, whylen);
}

/* Rules. */

typedef enum { RULE_NAME, RULE_SUFFIX, RULE_ANY_NAME, RULE_IP } rule_kind;

typedef struct {
  al_egress_verdict verdict;
  rule_kind kind;
  char name[AL_HOST_MAX]; /* RULE_NAME: the name; RULE_SUFFIX: the suffix */
  al_ip net;              /* RULE_IP */
  unsigned prefix;
  bool any_port;
  uint16_t port; /* 0: 80 and 443 */
  char *text;
} egress_rule;

struct al_egress_ruleset {
  egress_rule *rules;
  size_t n, cap;
};

al_egress_ruleset *al_egress_ruleset_new(void) { return calloc(1, sizeof(al_egress_ruleset)); }

void al_egress_ruleset_free(al_egress_ruleset *rs) {
  if (rs == NULL)
    return;
  for (size_t i = 0; i < rs->n; i++)
    free(rs->rules[i].text);
  free(rs->rules);
  free(rs);
}

size_t al_egress_ruleset_count(const al_egress_ruleset *rs) { return rs ? rs->n : 0; }

static int parse_port(const char *s, egress_rule *r, airlock_error **err) {
  if (strcmp(s, "*") == 0) {
    r->any_port = true;
    return 0;
  }
  size_t n = strlen(s);
  if (n == 0 || n > 5 || strspn(s, "0123456789") != n)
    return al_err(err, 0, "invalid port '%s' (a number 1-65535 or '*')", s);
  unsigned long v = strtoul(s, NULL, 10);
  if (v == 0 || v > 65535)
    return al_err(err, 0, "invalid port '%s' (a number 1-65535 or '*')", s);
  r->port = (uint16_t)v;
  return 0;
}

static int parse_prefix(const char *s, unsigned max, unsigned *out, airlock_error **err) {
  size_t n = strlen(s);
  if (n == 0 || n > 3 || strspn(s, "0123456789") != n || (n > 1 && s[0] == '0'))
    return al_err(err, 0, "invalid prefix length '/%s'", s);
  unsigned long v = strtoul(s, NULL, 10);
  if (v > max)
    return al_err(err, 0, "prefix length /%s is longer than %u", s, max);
  *out = (unsigned)v;
  return 0;
}

/* the address of an IP rule with its prefix; host bits must be zero */
static int parse_ip_rule(char *host, int want_family, egress_rule *r, airlock_error **err) {
  char *slash = strchr(host, '/');
  unsigned max = want_family == AF_INET6 ? 128 : 32;
  unsigned prefix = max;
  if (slash != NULL) {
    *slash = '\0';
    if (parse_prefix(slash + 1, max, &prefix, err) < 0)
      return -1;
  }
  al_ip_kind k = al_ip_parse(host, &r->net);
  if ((want_family == AF_INET6 && k != AL_IP_V6) || (want_family == AF_INET && k != AL_IP_V4))
    return al_err(err, 0, "'%s' is not a valid IP%s address", host, want_family == AF_INET6 ? "v6" : "v4");
  unsigned bytes = want_family == AF_INET6 ? 16 : 4;
  for (unsigned bit = prefix; bit < bytes * 8; bit++)
    if (r->net.addr[bit / 8] & (0x80 >> (bit % 8)))
      return al_err(err, 0, "'%s/%u' has bits set after the prefix", host, prefix);
  r->kind = RULE_IP;
  r->prefix = prefix;
  return 0;
}

static int parse_rule(const char *text, egress_rule *r, airlock_error **err) {
  size_t n = strnlen(text, HOST_INPUT_MAX + 1);
  if (n == 0)
    return al_err(err, 0, "empty rule");
  if (n > HOST_INPUT_MAX)
    return al_err(err, 0, "rule too long");
  char buf[HOST_INPUT_MAX + 1];
  memcpy(buf, text, n + 1);
  char *host = buf;
  char *port = NULL;
  if (buf[0] == '[') {
    char *close = strchr(buf, ']');
    if (close == NULL)
      return al_err(err, 0, "missing ']' after the IPv6 address");
    *close = '\0';
    host = buf + 1;
    if (close[1] == ':')
      port = close + 2;
    else if (close[1] != '\0')
      return al_err(err, 0, "unexpected text after ']'");
    if (port != NULL && parse_port(port, r, err) < 0)
      return -1;
    return parse_ip_rule(host, AF_INET6, r, err);
  }
  char *colon = strchr(buf, ':');
  if (colon != NULL) {
    if (strchr(colon + 1, ':') != NULL)
      return al_err(err, 0, "an IPv6 address in a rule must be in brackets: [ADDRESS]:PORT");
    *colon = '\0';
    port = colon + 1;
    if (parse_port(port, r, err) < 0)
      return -1;
  }
  if (host[0] == '\0')
    return al_err(err, 0, "rule has no host");
  if (strchr(host, '/') != NULL)
    return parse_ip_rule(host, AF_INET, r, err);
  if (strcmp(host, "*") == 0) { /* any name, never an IP literal */
    r->kind = RULE_ANY_NAME;
    return 0;
  }
  if (host[0] == '*') {
    if (host[1] != '.')
      return al_err(err, 0, "a wildcard is '*' (any name) or a whole first label: '*.example.com'");
    if (al_host_normalise(host + 2, r->name, sizeof(r->name), err) < 0)
      return al_err_prefix(err, "wildcard suffix");
    r->kind = RULE_SUFFIX;
    return 0;
  }
  switch (al_ip_parse(host, &r->net)) {
  case AL_IP_V4:
    r->kind = RULE_IP;
    r->prefix = 32;
    return 0;
  case AL_IP_V6: return al_err(err, 0, "an IPv6 address in a rule must be in brackets");
  case AL_IP_BAD: return al_err(err, 0, "'%s' is not a valid IP address", host);
  case AL_IP_NOT: break;
  }
  if (strchr(host, '*') != NULL)
    return al_err(err, 0, "a wildcard is '*' (any name) or a whole first label: '*.example.com'");
  if (al_host_normalise(host, r->name, sizeof(r->name), err) < 0)
    return -1;
  r->kind = RULE_NAME;
  return 0;
}

int al_egress_ruleset_add(al_egress_ruleset *rs, al_egress_verdict verdict, const char *rule, airlock_error **err) {
  if (rs == NULL || rule == NULL)
    return al_err(err, EINVAL, "no rule");
  if (verdict != AL_EGRESS_ALLOW && verdict != AL_EGRESS_DENY)
    return al_err(err, EINVAL, "invalid verdict");
  egress_rule r;
  memset(&r, 0, sizeof(r));
  r.verdict = verdict;
  if (parse_rule(rule, &r, err) < 0)
    return al_err_prefix(err, "egress rule '%.100s'", rule);
  if (rs->n == rs->cap) {
    size_t cap = rs->cap ? rs->cap * 2 : 8;
    egress_rule *nr = realloc(rs->rules, cap * sizeof(*nr));
    if (nr == NULL)
      return al_err(err, ENOMEM, "egress rules");
    rs->rules = nr;
    rs->cap = cap;
  }
  r.text = strdup(rule);
  if (r.text == NULL)
    return al_err(err, ENOMEM, "egress rules");
  rs->rules[rs->n++] = r;
  return 0;
}

static bool port_matches(const egress_rule *r, uint16_t port) {
  if (r->any_port)
    return true;
  if (r->port != 0)
    return r->port == port;
  return port == 80 || port == 443;
}

/* r is a name rule (not RULE_IP) */
static bool name_matches(const egress_rule *r, const char *name, size_t len) {
  if (r->kind == RULE_ANY_NAME)
    return true;
  if (r->kind == RULE_NAME)
    return strcmp(r->name, name) == 0;
  size_t sl = strlen(r->name);
  /* strictly under the suffix: at least one label and a dot before it */
  return len > sl + 1 && name[len - sl - 1] == '.' && memcmp(name + len - sl, r->name, sl) == 0;
}

static bool ip_matches(const egress_rule *r, const al_ip *ip) {
  return r->net.family == ip->family && prefix_match(ip->addr, r->net.addr, r->prefix);
}

__attribute__((format(printf, 4, 5))) static al_egress_verdict verdict(al_egress_verdict v, char *reason,
                                                                       size_t reasonlen, const char *fmt, ...) {
  if (reason != NULL && reasonlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, reasonlen, fmt, ap);
    va_end(ap);
  }
  return v;
}

al_egress_verdict al_egress_decide(const al_egress_ruleset *rs, const char *host, uint16_t port, char *reason,
                                   size_t reasonlen) {
  if (host == NULL || host[0] == '\0')
    return verdict(AL_EGRESS_DENY, reason, reasonlen, "invalid host: empty");
  if (port == 0)
    return verdict(AL_EGRESS_DENY, reason, reasonlen, "invalid port 0");
  al_ip ip;
  memset(&ip, 0, sizeof(ip));
  char name[AL_HOST_MAX] = "";
  size_t nlen = 0;
  al_ip v4;
  memset(&v4, 0, sizeof(v4));
  bool has_v4 = false;
  al_ip_kind kind = al_ip_parse(host, &ip);
  if (kind == AL_IP_BAD)
    return verdict(AL_EGRESS_DENY, reason, reasonlen, "invalid host: not a valid IP address literal");
  if (kind == AL_IP_NOT) {
    airlock_error *err = NULL;
    if (al_host_normalise(host, name, sizeof(name), &err) < 0) {
      al_egress_verdict v =
          verdict(AL_EGRESS_DENY, reason, reasonlen, "invalid host: %s", err && err->msg ? err->msg : "out of memory");
      airlock_error_free(&err);
      return v;
    }
    nlen = strlen(name);
  } else if (kind == AL_IP_V6) {
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    static const uint8_t translated[12] = {[8] = 0xff, [9] = 0xff};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    static const uint8_t compat[12] = {0};
    if (memcmp(ip.addr, mapped, 12) == 0) { /* ::ffff:a.b.c.d is a.b.c.d */
      memmove(ip.addr, ip.addr + 12, 4);
      memset(ip.addr + 4, 0, 12);
      ip.family = AF_INET;
    } else if (memcmp(ip.addr, translated, 12) == 0 || memcmp(ip.addr, nat64, 12) == 0 ||
               memcmp(ip.addr, compat, 12) == 0) {
      /* other IPv6 forms of an IPv4 address: deny rules on the IPv4
       * address apply to them too */
      has_v4 = true;
      v4.family = AF_INET;
      memcpy(v4.addr, ip.addr + 12, 4);
    }
  }
  const egress_rule *allow = NULL;
  for (size_t i = 0; rs != NULL && i < rs->n; i++) {
    const egress_rule *r = &rs->rules[i];
    if (!port_matches(r, port))
      continue;
    bool m = kind == AL_IP_NOT
                 ? (r->kind != RULE_IP && name_matches(r, name, nlen))
                 : (r->kind == RULE_IP &&
                    (ip_matches(r, &ip) || (has_v4 && r->verdict == AL_EGRESS_DENY && ip_matches(r, &v4))));
    if (!m)
      continue;
    if (r->verdict == AL_EGRESS_DENY)
      return verdict(AL_EGRESS_DENY, reason, reasonlen, "denied by rule '%s'", r->text);
    if (allow == NULL)
      allow = r;
  }
  if (allow != NULL)
    return verdict(AL_EGRESS_ALLOW, reason, reasonlen, "allowed by rule '%s'", allow->text);
  char what[AL_HOST_MAX + 80];
  if (kind == AL_IP_NOT)
    snprintf(what, sizeof(what), "%s:%u", name, (unsigned)port);
  else
    snprintf(what, sizeof(what), "%.200s port %u", host, (unsigned)port);
  return verdict(AL_EGRESS_DENY, reason, reasonlen, "no rule allows %s", what);
}

/* whether a deny rule that matches name covers port */
static bool name_denied_at(const al_egress_ruleset *rs, const char *name, size_t nlen, uint16_t port) {
  for (size_t i = 0; i < rs->n; i++) {
    const egress_rule *r = &rs->rules[i];
    if (r->verdict == AL_EGRESS_DENY && r->kind != RULE_IP && port_matches(r, port) && name_matches(r, name, nlen))
      return true;
  }
  return false;
}

bool al_egress_name_allowed(const al_egress_ruleset *rs, const char *normalised_name) {
  if (rs == NULL || normalised_name == NULL)
    return false;
  /* normalised again (it is idempotent) so that this agrees with
   * al_egress_decide whatever the caller passes */
  char name[AL_HOST_MAX];
  airlock_error *err = NULL;
  if (al_ip_parse(normalised_name, NULL) != AL_IP_NOT ||
      al_host_normalise(normalised_name, name, sizeof(name), &err) < 0) {
    airlock_error_free(&err);
    return false;
  }
  size_t nlen = strlen(name);
  /* a deny rule on every port settles it, and bounds the search below: the
   * other deny rules cover at most two ports each */
  for (size_t i = 0; i < rs->n; i++) {
    const egress_rule *r = &rs->rules[i];
    if (r->verdict == AL_EGRESS_DENY && r->kind != RULE_IP && r->any_port && name_matches(r, name, nlen))
      return false;
  }
  for (size_t i = 0; i < rs->n; i++) {
    const egress_rule *r = &rs->rules[i];
    if (r->verdict != AL_EGRESS_ALLOW || r->kind == RULE_IP || !name_matches(r, name, nlen))
      continue;
    if (r->any_port) {
      for (uint32_t p = 1; p <= 65535; p++)
        if (!name_denied_at(rs, name, nlen, (uint16_t)p))
          return true;
    } else if (r->port != 0) {
      if (!name_denied_at(rs, name, nlen, r->port))
        return true;
    } else if (!name_denied_at(rs, name, nlen, 80) || !name_denied_at(rs, name, nlen, 443)) {
      return true;
    }
  }
  return false;
}
