/* SPDX-License-Identifier: Apache-2.0 */
/* redact_shapes.c - the text rules that need no name next to a secret:
 * known token shapes (cloud keys, API tokens, JWTs, webhook URLs), URL
 * query parameters, config-file lines an agent writes inline (INI and TOML
 * `name = value`, .netrc, .pgpass), base64 words decoded and checked with
 * every rule, and the randomness test used where a name only suggests a
 * secret.  Plain linear scans, like redact.c. */
#define _GNU_SOURCE
#include "redact_impl.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <strings.h>
#include "cleanup.h"

static bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

static const char *find(const char *s, size_t len, const char *from, const char *needle) {
  return memmem(from, len - (size_t)(from - s), needle, strlen(needle));
}

/* --- token shapes ------------------------------------------------------------- */

enum charset { UPPER_DIGIT, ALNUM, ALNUM_UNDERSCORE, ALNUM_DASH, BASE64URL, TOKEN_DOT };

static bool in_charset(char c, enum charset cs) {
  switch (cs) {
  case UPPER_DIGIT: return (c >= 'A' && c <= 'Z') || is_digit(c);
  case ALNUM: return is_alnum(c);
  case ALNUM_UNDERSCORE: return is_alnum(c) || c == '_';
  case ALNUM_DASH: return is_alnum(c) || c == '-';
  case BASE64URL: return is_alnum(c) || c == '-' || c == '_';
  case TOKEN_DOT: return is_alnum(c) || c == '-' || c == '_' || c == '.';
  }
  return false;
}

static const struct shape {
  const char *prefix;
  enum charset cs;
  size_t min;      /* characters after the prefix */
  bool need_digit; /* keeps slugs such as sk-learn-feature-extraction out */
} shapes[] = {
    {"AKIA", UPPER_DIGIT, 16, false},     {"ASIA", UPPER_DIGIT, 16, false},     {"ABIA", UPPER_DIGIT, 16, false},
    {"ACCA", UPPER_DIGIT, 16, false},     {"ghp_", ALNUM, 30, false},           {"gho_", ALNUM, 30, false},
    {"ghu_", ALNUM, 30, false},           {"ghs_", ALNUM, 30, false},           {"ghr_", ALNUM, 30, false},
    {"github_pat_", ALNUM_UNDERSCORE, 22, false},                              {"sk-", BASE64URL, 20, true},
    {"sk_live_", ALNUM, 16, false},       {"sk_test_", ALNUM, 16, false},       {"rk_live_", ALNUM, 16, false},
    {"rk_test_", ALNUM, 16, false},       {"whsec_", ALNUM, 16, false},         {"xoxa-", ALNUM_DASH, 10, true},
    {"xoxb-", ALNUM_DASH, 10, true},      {"xoxp-", ALNUM_DASH, 10, true},      {"xoxr-", ALNUM_DASH, 10, true},
    {"xoxs-", ALNUM_DASH, 10, true},      {"xoxe-", ALNUM_DASH, 10, true},      {"xapp-", ALNUM_DASH, 10, true},
    {"AIza", BASE64URL, 35, false},       {"node_tok_", BASE64URL, 43, false},  {"glpat-", BASE64URL, 20, false},
    {"gldt-", BASE64URL, 20, false},      {"glrt-", BASE64URL, 20, false},      {"npm_", ALNUM, 30, false},
    {"hf_", ALNUM, 30, false},            {"hvs.", BASE64URL, 20, false},       {"hvb.", BASE64URL, 20, false},
    {"s.", ALNUM, 24, true},              {"SG.", TOKEN_DOT, 40, false},        {"pypi-", BASE64URL, 40, false},
    {"dop_v1_", ALNUM, 40, false},        {"doo_v1_", ALNUM, 40, false},        {"shpat_", ALNUM, 24, false},
    {"shpss_", ALNUM, 24, false},         {"pat", BASE64URL, 40, false},        {"lin_api_", ALNUM, 30, false},
    {"sq0atp-", BASE64URL, 20, false},    {"EAAC", ALNUM, 40, false},
    {"ATATT", BASE64URL, 40, false},      {"glsa_", ALNUM_UNDERSCORE, 30, false},
    /* Doppler: service, CLI, personal, service-account, SCIM and audit
     * tokens; a service token may carry its config (dp.st.prd.XXXX) */
    {"dp.st.", TOKEN_DOT, 30, false},     {"dp.ct.", TOKEN_DOT, 30, false},     {"dp.pt.", TOKEN_DOT, 30, false},
    {"dp.sa.", TOKEN_DOT, 30, false},     {"dp.scim.", TOKEN_DOT, 30, false},   {"dp.audit.", TOKEN_DOT, 30, false},
    {"pul-", ALNUM, 40, true},            {"GOCSPX-", BASE64URL, 24, false},
    {"dapi", ALNUM, 32, true},            {"r8_", ALNUM, 30, false},            {"gsk_", ALNUM, 30, false},
    {"pplx-", ALNUM, 30, false},          {"tvly-", ALNUM_DASH, 20, false},     {"fw_", ALNUM, 20, false},
    {"AGE-SECRET-KEY-1", UPPER_DIGIT, 50, false},
    /* SonarQube analysis, user and project tokens; crates.io */
    {"sqa_", ALNUM, 40, true},            {"squ_", ALNUM, 40, true},            {"sqp_", ALNUM, 40, true},
    {"cio", ALNUM, 32, true},
};

static size_t scan_one_shape(const char *s, size_t len, const struct shape *sh, rd_spans *sp) {
  size_t found = 0, plen = strlen(sh->prefix);
  for (const char *p = s; (p = find(s, len, p, sh->prefix)) != NULL; p++) {
    /* not the middle of a longer word: task-..., a base64 blob */
    if (p > s && (is_alnum(p[-1]) || p[-1] == '_'))
      continue;
    size_t start = (size_t)(p - s), i = start + plen;
    bool digit = false, upper = false, lowerc = false;
    while (i < len && in_charset(s[i], sh->cs)) {
      digit |= is_digit(s[i]);
      upper |= s[i] >= 'A' && s[i] <= 'Z';
      lowerc |= s[i] >= 'a' && s[i] <= 'z';
      i++;
    }
    size_t body = i - start - plen;
    /* short generic prefixes (s., AC, pat, EAAC, dapi) need a random body */
    bool generic = plen <= 4 && sh->cs != UPPER_DIGIT && strcmp(sh->prefix, "sk-") != 0 &&
                   strcmp(sh->prefix, "hf_") != 0 && strcmp(sh->prefix, "npm_") != 0 && strcmp(sh->prefix, "AIza") != 0 &&
                   strncmp(sh->prefix, "gh", 2) != 0 && strncmp(sh->prefix, "xox", 3) != 0 &&
                   strncmp(sh->prefix, "hv", 2) != 0 && strcmp(sh->prefix, "gsk_") != 0 && strcmp(sh->prefix, "r8_") != 0 &&
                   strcmp(sh->prefix, "fw_") != 0 && strcmp(sh->prefix, "pul-") != 0;
    if (body >= sh->min && (digit || !sh->need_digit) && (!generic || (digit && upper + lowerc >= 1 &&
                                                                       rd_random_word(s + start + plen, body)))) {
      rd_add(sp, start, i);
      found++;
      p = s + i - 1;
    }
  }
  return found;
}

/* header.payload.signature, both JSON parts starting {" (eyJ) */
static size_t scan_jwt(const char *s, size_t len, rd_spans *sp) {
  size_t found = 0;
  for (const char *p = s; (p = find(s, len, p, "eyJ")) != NULL; p++) {
    if (p > s && (in_charset(p[-1], BASE64URL) || p[-1] == '.'))
      continue;
    size_t i = (size_t)(p - s) + 3;
    while (i < len && in_charset(s[i], BASE64URL))
      i++;
    if (i >= len || s[i] != '.' || i + 4 > len || strncmp(s + i + 1, "eyJ", 3) != 0)
      continue;
    i += 4;
    while (i < len && in_charset(s[i], BASE64URL))
      i++;
    if (i >= len || s[i] != '.')
      continue;
    i++;
    while (i < len && in_charset(s[i], BASE64URL))
      i++;
    rd_add(sp, (size_t)(p - s), i);
    found++;
    p = s + i - 1;
  }
  return found;
}

/* Telegram bot tokens: 8-10 digits, ':', 35 of [A-Za-z0-9_-] */
static void scan_telegram(const char *s, size_t len, rd_spans *sp) {
  for (size_t i = 0; i < len; i++) {
    if (s[i] != ':' || i < 8)
      continue;
    size_t d = i;
    while (d > 0 && is_digit(s[d - 1]))
      d--;
    if (i - d < 8 || i - d > 10 || (d > 0 && is_alnum(s[d - 1])))
      continue;
    size_t e = i + 1;
    while (e < len && in_charset(s[e], BASE64URL))
      e++;
    if (e - i - 1 >= 30 && e - i - 1 <= 40)
      rd_add(sp, d, e);
  }
}

/* PREFIX + n1 alphanumerics + '.' + n2 hex digits: Airtable's personal
 * access tokens (pat + 14 + . + 64) */
static void scan_dotted_hex(const char *s, size_t len, const char *prefix, size_t n1, size_t n2, rd_spans *sp) {
  size_t pl = strlen(prefix);
  for (const char *p = s; (p = find(s, len, p, prefix)) != NULL; p++) {
    size_t a = (size_t)(p - s), i = a + pl;
    if (a > 0 && (is_alnum(s[a - 1]) || s[a - 1] == '_'))
      continue;
    size_t k = i;
    while (k < len && is_alnum(s[k]))
      k++;
    if (k - i != n1 || k >= len || s[k] != '.')
      continue;
    size_t h = ++k;
    while (k < len && ((s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'f')))
      k++;
    if (k - h == n2 && (k == len || !is_alnum(s[k])))
      rd_add(sp, a, k);
  }
}

/* PREFIX + n1 alphanumerics + SEP + at least n2 alphanumerics, a whole
 * word: Resend's API keys (re_ + 8 + _ + 24), random or not */
static void scan_two_part(const char *s, size_t len, const char *prefix, size_t n1, char sep, size_t n2,
                          rd_spans *sp) {
  size_t pl = strlen(prefix);
  for (const char *p = s; (p = find(s, len, p, prefix)) != NULL; p++) {
    size_t a = (size_t)(p - s), k = a + pl;
    if (a > 0 && (is_alnum(s[a - 1]) || s[a - 1] == '_'))
      continue;
    while (k < len && is_alnum(s[k]))
      k++;
    if (k - a - pl != n1 || k >= len || s[k] != sep)
      continue;
    size_t h = ++k;
    while (k < len && is_alnum(s[k]))
      k++;
    if (k - h >= n2 && (k == len || (s[k] != '_' && s[k] != '-')))
      rd_add(sp, a, k);
  }
}

/* Azure DevOps personal access tokens of the 84-character format: 52
 * alphanumerics, the signature JQQJ99 and AZDO, 22 more */
static void scan_azure_devops(const char *s, size_t len, rd_spans *sp) {
  for (const char *p = s; (p = find(s, len, p, "JQQJ99AZDO")) != NULL; p++) {
    size_t at = (size_t)(p - s), a = at, e = at + 10;
    while (a > 0 && is_alnum(s[a - 1]))
      a--;
    while (e < len && is_alnum(s[e]))
      e++;
    if (at - a >= 40 && e - at - 10 >= 16)
      rd_add(sp, a, e);
  }
}

/* webhook URLs whose path is the credential */
static void scan_webhook_paths(const char *s, size_t len, rd_spans *sp) {
  static const char *const hosts[] = {"hooks.slack.com/services/", "hooks.slack.com/workflows/",
                                      "discord.com/api/webhooks/", "discordapp.com/api/webhooks/",
                                      "outlook.office.com/webhook/", "webhook.office.com/webhookb2/",
                                      "api.telegram.org/bot"};
  for (size_t h = 0; h < AL_ARRAY_SIZE(hosts); h++)
    for (const char *p = s; (p = find(s, len, p, hosts[h])) != NULL; p++) {
      size_t start = (size_t)(p - s) + strlen(hosts[h]), e = start;
      while (e < len && !is_space(s[e]) && s[e] != '"' && s[e] != '\'' && s[e] != '?' && s[e] != '#' &&
             !(h == AL_ARRAY_SIZE(hosts) - 1 && s[e] == '/'))
        e++;
      rd_add(sp, start, e);
    }
}

/* ?name=VALUE and &name=VALUE for the registry's URL parameters */
static void scan_url_params(const char *s, size_t len, rd_spans *sp) {
  for (size_t i = 0; i < len; i++) {
    if (s[i] != '?' && s[i] != '&')
      continue;
    size_t n = i + 1;
    while (n < len && (is_alnum(s[n]) || s[n] == '_' || s[n] == '-' || s[n] == '.'))
      n++;
    if (n >= len || s[n] != '=' || n == i + 1 || !rd_registry_url_param(s + i + 1, n - i - 1))
      continue;
    size_t e = n + 1;
    while (e < len && !is_space(s[e]) && s[e] != '&' && s[e] != '#' && s[e] != ';' && s[e] != '"' && s[e] != '\'')
      e++;
    rd_add(sp, n + 1, e);
  }
}

/* Lines of config files: "name = value" (INI, TOML, .my.cnf, credentials),
 * .netrc's "password VALUE", and .pgpass's host:port:db:user:password. */
static void scan_lines(const char *s, size_t len, rd_spans *sp) {
  bool netrc = memmem(s, len, "machine ", 8) != NULL || memmem(s, len, "login ", 6) != NULL;
  for (size_t ls = 0; ls < len;) {
    const char *nl = memchr(s + ls, '\n', len - ls);
    size_t le = nl ? (size_t)(nl - s) : len, i = ls;
    while (i < le && (s[i] == ' ' || s[i] == '\t'))
      i++;
    size_t ks = i;
    while (i < le && (is_alnum(s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.'))
      i++;
    size_t ke = i;
    while (i < le && (s[i] == ' ' || s[i] == '\t'))
      i++;
    bool strong = ke > ks && rd_name_secret(s + ks, ke - ks);
    if (ke > ks && i < le && (s[i] == '=' || s[i] == ':') && (i > ke || s[i] == ':') &&
        (strong || rd_name_weak(s + ks, ke - ks))) {
      size_t v = i + 1;
      while (v < le && (s[v] == ' ' || s[v] == '\t'))
        v++;
      size_t ve = le;
      while (ve > v && (s[ve - 1] == ' ' || s[ve - 1] == '\r' || s[ve - 1] == '\t'))
        ve--;
      if (ve > v + 1 && (s[v] == '"' || s[v] == '\'')) {
        /* a quoted value ends at its quote: code may follow (x = 'v'; f()) */
        const char *q = memchr(s + v + 1, s[v], ve - v - 1);
        if (q != NULL && q > s + v + 1)
          ve = (size_t)(q - s);
        v++;
      }
      /* a weak name (key, license) only with a random-looking value; and
       * NAME:verb with no blank is a subcommand (firebase auth:export) */
      bool verb = s[i] == ':' && v == i + 1 && ve > v;
      for (size_t j = v; j < ve && verb; j++)
        verb = (s[j] >= 'a' && s[j] <= 'z') || (j > v && s[j] == '-');
      if ((i > ke || strong) && (strong || rd_random_word(s + v, ve - v)) && !verb)
        rd_add(sp, v, ve);
    }
    /* .netrc: tokens anywhere on the line */
    for (size_t j = ls; netrc && j + 8 < le; j++) {
      if ((j == ls || s[j - 1] == ' ' || s[j - 1] == '\t') &&
          (strncmp(s + j, "password", 8) == 0 || strncmp(s + j, "passwd", 6) == 0)) {
        size_t v = j + (s[j + 6] == 'r' ? 8 : 6);
        if (v >= le || (s[v] != ' ' && s[v] != '\t'))
          continue;
        while (v < le && (s[v] == ' ' || s[v] == '\t'))
          v++;
        size_t ve = v;
        while (ve < le && !is_space(s[ve]))
          ve++;
        rd_add(sp, v, ve);
      }
    }
    /* .pgpass: exactly four unescaped colons, a port or * second */
    size_t colons = 0, last = 0, first = 0;
    for (size_t j = ks; j < le; j++)
      if (s[j] == ':' && (j == ks || s[j - 1] != '\\')) {
        if (!colons)
          first = j;
        colons++;
        last = j;
      }
    if (colons == 4 && first > ks && !memchr(s + ks, ' ', le - ks) &&
        (s[first + 1] == '*' || is_digit(s[first + 1])) && last + 1 < le)
      rd_add(sp, last + 1, le);
    ls = nl ? le + 1 : len;
  }
}

/* --- randomness --------------------------------------------------------------- */

bool rd_random_word(const char *s, size_t n) {
  if (n < 16 || n > 4096)
    return false;
  int counts[256] = {0};
  bool up = false, lo = false, dg = false;
  /* '/' makes a path, except in base64 (an Azure storage key ends in ==) */
  size_t slashes = 0;
  bool b64 = s[0] != '/', b64_mark = s[n - 1] == '=';
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    slashes += c == '/';
    b64_mark |= c == '+';
    b64 &= is_alnum(c) || c == '+' || c == '/' || (c == '=' && i + 2 >= n) ;
    b64 &= !(c == '/' && i + 1 < n && s[i + 1] == '/');
  }
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (is_space((char)c) || (c == '/' && !b64) || c < 0x21 || c > 0x7e)
      return false; /* a path or prose, not a key */
    up |= c >= 'A' && c <= 'Z';
    lo |= c >= 'a' && c <= 'z';
    dg |= c >= '0' && c <= '9';
    counts[c]++;
  }
  if ((int)up + (int)lo + (int)dg < 2)
    return false;
  /* hex (a key written as hex, 128 bits and more) has 16 symbols: 32 random
   * hex digits measure 3.6 on average and fall under 3.3 one time in 60 */
  bool hex = !(up && lo);
  for (size_t i = 0; i < n && hex; i++)
    hex = is_digit(s[i]) || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F');
  if (slashes && !(b64_mark || (n >= 40 && up && lo && dg && slashes <= n / 16)))
    return false;
  double h = 0;
  for (int c = 0; c < 256; c++)
    if (counts[c]) {
      double p = (double)counts[c] / (double)n;
      h -= p * log2(p);
    }
  return h >= (hex && n >= 32 ? 3.0 : 3.3);
}

bool rd_has_shape(const char *s, size_t n) {
  rd_spans sp = {0};
  for (size_t k = 0; k < AL_ARRAY_SIZE(shapes); k++)
    scan_one_shape(s, n, &shapes[k], &sp);
  scan_jwt(s, n, &sp);
  bool found = sp.n > 0;
  free(sp.v);
  return found;
}

/* --- base64 words ------------------------------------------------------------- */

static bool is_b64(char c) { return is_alnum(c) || c == '+' || c == '/' || c == '-' || c == '_'; }

static int b64_value(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (is_digit(c))
    return c - '0' + 52;
  return c == '+' || c == '-' ? 62 : 63;
}

/* either alphabet, padding optional; the bits of a partial last group
 * dropped; NUL-terminated (the text rules may use string functions) */
static unsigned char *b64_decode(const char *in, size_t len, size_t *out_len) {
  unsigned char *out = malloc(len / 4 * 3 + 4);
  if (out == NULL)
    return NULL;
  uint32_t acc = 0;
  int bits = 0;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    acc = acc << 6 | (uint32_t)b64_value(in[i]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (unsigned char)(acc >> bits);
    }
  }
  out[n] = '\0';
  *out_len = n;
  return out;
}

/* A base64 word of 16+ characters whose decoding is text that some rule
 * redacts (a key, user:password after Basic) is hidden whole. */
static void scan_base64(const char *s, size_t len, rd_spans *sp, int depth) {
  if (depth >= 2)
    return;
  for (size_t i = 0; i < len;) {
    /* '=' before: padding, unless it ends a name (KEY_DATA=LS0t...) */
    bool after_pad = i > 0 && s[i - 1] == '=' && !(i > 1 && (is_alnum(s[i - 2]) || s[i - 2] == '_') && i + 16 < len);
    if (!is_b64(s[i]) || (i > 0 && (is_b64(s[i - 1]) || after_pad || s[i - 1] == '.'))) {
      i++;
      continue;
    }
    size_t e = i;
    while (e < len && is_b64(s[e]))
      e++;
    size_t w = e;
    while (w < len && s[w] == '=' && w - e < 2)
      w++;
    if (e - i >= 16 && e - i <= 65536) {
      size_t dlen = 0;
      _cleanup_free_ unsigned char *dec = b64_decode(s + i, e - i, &dlen);
      if (dec != NULL && dlen >= 6) {
        size_t printable = 0;
        for (size_t k = 0; k < dlen; k++)
          printable += (dec[k] >= 0x20 && dec[k] < 0x7f) || dec[k] == '\n' || dec[k] == '\t';
        /* DER: a SEQUENCE whose first item is the INTEGER 0 or 3, the
         * version of a private key (PKCS#1, PKCS#8) or of a PKCS#12 store;
         * a certificate starts with a SEQUENCE instead */
        if (printable < dlen && dlen >= 64 && dec[0] == 0x30 && (dec[1] == 0x82 || dec[1] == 0x81) &&
            dec[dec[1] == 0x82 ? 4 : 3] == 0x02 && dec[dec[1] == 0x82 ? 5 : 4] == 0x01 &&
            (dec[dec[1] == 0x82 ? 6 : 5] == 0x00 || dec[dec[1] == 0x82 ? 6 : 5] == 0x03))
          rd_add(sp, i, w);
        if (printable == dlen) {
          rd_spans inner = {0};
          rd_scan_text((const char *)dec, dlen, &inner, depth + 1);
          bool hit = inner.n > 0;
          free(inner.v);
          /* Basic and docker "auth": user:password */
          size_t b = i;
          while (b > 0 && (s[b - 1] == ' ' || s[b - 1] == '"' || s[b - 1] == ':'))
            b--;
          bool basic = (b >= 5 && strncasecmp(s + b - 5, "basic", 5) == 0) || (b >= 4 && strncasecmp(s + b - 4, "auth", 4) == 0);
          const unsigned char *colon = memchr(dec, ':', dlen);
          if (hit || (basic && colon && (size_t)(colon - dec) + 1 < dlen))
            rd_add(sp, i, w);
        }
      }
    }
    i = e > i ? e : i + 1;
  }
}

void rd_scan_shapes(const char *s, size_t len, rd_spans *sp, int depth) {
  for (size_t k = 0; k < AL_ARRAY_SIZE(shapes); k++)
    scan_one_shape(s, len, &shapes[k], sp);
  scan_jwt(s, len, sp);
  scan_telegram(s, len, sp);
  scan_dotted_hex(s, len, "pat", 14, 64, sp);
  scan_two_part(s, len, "re_", 8, '_', 20, sp);
  scan_azure_devops(s, len, sp);
  scan_webhook_paths(s, len, sp);
  scan_url_params(s, len, sp);
  scan_lines(s, len, sp);
  scan_base64(s, len, sp, depth);
}
