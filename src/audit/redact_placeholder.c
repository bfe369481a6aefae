/* SPDX-License-Identifier: Apache-2.0 */
/* redact_placeholder.c - a hidden range whose text only stands for a secret
 * kept elsewhere, or for one not yet chosen, is left as written: a reference
 * ($TOKEN, ${DB_PASSWORD:?}, $env:KEY, %DB_PASS%, %(pw)s, {{ .Values.pw }},
 * ${{ secrets.NPM_TOKEN }}, var.db_password, op://vault/item/field, sops'
 * ENC[...], $(cat FILE)), a path to the file holding it, a digest, or a
 * placeholder (<your-key>, changeme, YOUR_TOKEN_HERE, ghp_xxxx, ****).
 * Hiding these only blinds the audit to what the agent did.  The forms are
 * strict so that no random value takes one: a real secret is never all
 * x's, never holds four stars, never a lowercase path of words. */
#define _GNU_SOURCE
#include "redact_impl.h"

#include <string.h>
#include <strings.h>

static bool is_lower_or_digit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static bool is_ident(char c) { return is_lower_or_digit(c) || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

static bool starts(const char *v, size_t n, const char *p) {
  size_t l = strlen(p);
  return n >= l && strncmp(v, p, l) == 0;
}

static size_t ident_run(const char *v, size_t n, size_t i) {
  while (i < n && is_ident(v[i]))
    i++;
  return i;
}

/* ${NAME}, ${NAME:?msg}, ${NAME:-default} with a default that is no secret
 * itself, ${env:NAME}, ${{ secrets.NAME }}: the braces balanced, at i */
static size_t brace_ref(const char *v, size_t n, size_t i) {
  if (i + 1 >= n || v[i] != '$' || v[i + 1] != '{')
    return 0;
  size_t e = i + 1;
  for (int level = 0; e < n; e++) {
    level += v[e] == '{' ? 1 : v[e] == '}' ? -1 : 0;
    if (level == 0)
      break;
  }
  if (e >= n)
    return 0;
  const char *in = v + i + 2;
  size_t in_len = e - i - 2;
  const char *dflt = memchr(in, '-', in_len);
  const char *assign = memchr(in, '=', in_len);
  if (assign != NULL && (dflt == NULL || assign < dflt))
    dflt = assign;
  /* a literal default is the value when the variable is unset */
  if (dflt != NULL && in[0] != '{' && ident_run(in, in_len, 0) + 1 >= (size_t)(dflt - in) &&
      rd_random_word(dflt + 1, in_len - (size_t)(dflt + 1 - in)))
    return 0;
  return e + 1;
}

/* $NAME, ${...}, $env:NAME (PowerShell), $(cat FILE) / $(< FILE) */
static size_t dollar_ref(const char *v, size_t n, size_t i) {
  if (i >= n || v[i] != '$')
    return 0;
  size_t e = brace_ref(v, n, i);
  if (e)
    return e;
  if (starts(v + i, n - i, "$env:"))
    i += 4;
  if (i + 1 < n && v[i + 1] == '(') {
    size_t a = i + 2;
    if (starts(v + a, n - a, "cat "))
      a += 4;
    else if (starts(v + a, n - a, "< "))
      a += 2;
    else
      return 0;
    size_t c = a;
    while (c < n && v[c] != ')' && v[c] != ' ' && v[c] != '\'' && v[c] != '"' && v[c] != ';' && v[c] != '|')
      c++;
    return c > a && c < n && v[c] == ')' ? c + 1 : 0;
  }
  size_t s = i + 1;
  e = ident_run(v, n, s);
  return e > s && !(v[s] >= '0' && v[s] <= '9' && e - s > 1) ? e : 0;
}

/* {{ ... }} groups and nothing else between them but blanks */
static bool template_only(const char *v, size_t n) {
  size_t i = 0, groups = 0;
  while (i < n) {
    if (v[i] == ' ') {
      i++;
      continue;
    }
    if (i + 1 >= n || v[i] != '{' || v[i + 1] != '{')
      return false;
    const char *close = NULL;
    for (size_t k = i + 2; k + 1 < n; k++)
      if (v[k] == '}' && v[k + 1] == '}') {
        close = v + k;
        break;
      }
    if (close == NULL)
      return false;
    i = (size_t)(close - v) + 2;
    groups++;
  }
  return groups > 0;
}

/* only references, with separators between them: ${USER}:$PASS */
static bool refs_only(const char *v, size_t n) {
  size_t i = 0, refs = 0;
  while (i < n) {
    if (strchr(":@/", v[i]) != NULL) {
      i++;
      continue;
    }
    size_t e = dollar_ref(v, n, i);
    if (e == 0)
      return false;
    i = e;
    refs++;
  }
  return refs > 0;
}

/* %NAME% (Windows, .NET config), %(name)s (configparser) */
static bool percent_ref(const char *v, size_t n) {
  if (n >= 3 && v[0] == '%' && v[n - 1] == '%')
    return ident_run(v, n - 1, 1) == n - 1;
  if (n >= 4 && v[0] == '%' && v[1] == '(' && v[n - 2] == ')' && v[n - 1] == 's')
    return ident_run(v, n - 2, 2) == n - 2;
  return false;
}

/* a reference into a secret store, or ciphertext: op://vault/item/field,
 * vault:secret/data/x#key, var.db_password (Terraform), ENC[AES256_GCM,...]
 * (sops) */
static bool store_ref(const char *v, size_t n) {
  if (starts(v, n, "op://") || starts(v, n, "vault:") || starts(v, n, "ENC[AES256_GCM,") ||
      starts(v, n, "ENC[PKCS7,")) {
    for (size_t i = 0; i < n; i++)
      if (v[i] == ' ')
        return false;
    return true;
  }
  if (starts(v, n, "var.") || starts(v, n, "local.") || starts(v, n, "data."))
    return ident_run(v, n, v[0] == 'v' ? 4 : v[0] == 'l' ? 6 : 5) == n && n > 5;
  return false;
}

/* a path of lowercase words: /etc/kubeadm/token, ./secrets/db-password.txt,
 * $HOME/.config/gcloud/sa.json; no random value is lowercase words with two
 * slashes */
static bool file_path(const char *v, size_t n) {
  size_t i = 0;
  if (starts(v, n, "$HOME/"))
    i = 5;
  else if (starts(v, n, "${HOME}/"))
    i = 7;
  else if (starts(v, n, "~/"))
    i = 1;
  else if (starts(v, n, "./"))
    i = 1;
  else if (starts(v, n, "../"))
    i = 2;
  else if (n > 0 && v[0] == '/')
    i = 0;
  else
    return false;
  size_t slashes = 0, word = 0;
  for (size_t k = i; k < n; k++) {
    char c = v[k];
    if (c == '/') {
      if (k > i && word == 0 && v[k - 1] == '/')
        return false;
      slashes++;
      word = 0;
      continue;
    }
    if (!is_lower_or_digit(c) && c != '-' && c != '_' && c != '.')
      return false;
    word++;
  }
  return slashes >= 2 || (i > 0 && slashes >= 1 && word > 0);
}

/* sha256:<64 hex>: a digest (a CA certificate's pin, an image) */
static bool digest(const char *v, size_t n) {
  if (!starts(v, n, "sha256:") || n != 7 + 64)
    return false;
  for (size_t i = 7; i < n; i++)
    if (!is_hex(v[i]))
      return false;
  return true;
}

/* <your-key>, <redacted>; your-api-key-here, CHANGEME, REPLACE_ME,
 * sk_test_your_key_here, dummy-password-for-plan; masked or elided: ****,
 * xxxxxxxx, sk-..., ghp_xxxx (a prefix, then x's), AKIAXXXXXXXXXXXXXXXX */
static bool placeholder(const char *v, size_t n) {
  if (n >= 3 && v[0] == '<' && v[n - 1] == '>') {
    for (size_t i = 1; i + 1 < n; i++)
      if (!is_ident(v[i]) && v[i] != '-' && v[i] != ' ' && v[i] != '.')
        return false;
    return true;
  }
  if (n >= 4 && memmem(v, n, "****", 4) != NULL)
    return true;
  if (n >= 3 && memcmp(v + n - 3, "...", 3) == 0) {
    for (size_t i = 0; i < n; i++)
      if (!is_ident(v[i]) && v[i] != '-' && v[i] != '.')
        return false;
    return n <= 12;
  }
  /* a short lowercase or uppercase prefix, then only x's (or X's) */
  size_t p = 0;
  while (p < n && p < 8 && v[p] != 'x' && v[p] != 'X')
    p++;
  size_t x = p;
  while (x < n && (v[x] == 'x' || v[x] == 'X'))
    x++;
  if (x == n && n - p >= 8)
    return true;
  /* words joined by - _ . that say so: your-api-key-here, REPLACE_ME,
   * sk_test_your_key_here, dummy-password-for-plan, change-me */
  static const char *const fillers[] = {"your", "changeme", "dummy", "placeholder", "redacted", "replaceme", "fixme"};
  bool filler = false;
  const char *prev = NULL;
  size_t prev_len = 0, parts = 0;
  for (size_t i = 0, s = 0; i <= n; i++) {
    if (i < n && v[i] != '-' && v[i] != '_' && v[i] != '.') {
      if (!is_ident(v[i]))
        return false;
      continue;
    }
    const char *part = v + s;
    size_t l = i - s;
    for (size_t k = 0; k < sizeof(fillers) / sizeof(fillers[0]); k++)
      filler |= strlen(fillers[k]) == l && strncasecmp(part, fillers[k], l) == 0;
    /* change me, replace me; a last part "here"; "paste" first */
    filler |= l == 2 && strncasecmp(part, "me", 2) == 0 && prev != NULL &&
              ((prev_len == 6 && strncasecmp(prev, "change", 6) == 0) ||
               (prev_len == 7 && strncasecmp(prev, "replace", 7) == 0));
    filler |= i == n && parts > 0 && l == 4 && strncasecmp(part, "here", 4) == 0;
    filler |= parts == 0 && l == 5 && strncasecmp(part, "paste", 5) == 0 && i < n;
    prev = part;
    prev_len = l;
    parts++;
    s = i + 1;
  }
  return filler || (n == 8 && strncasecmp(v, "password", 8) == 0);
}

/* the end of a reference that starts at i of s, else 0: ${...}, {{ ... }}
 * (and groups right after it), $env:NAME, %(name)s, %%(name)s, ENC[...] */
static size_t reference_at(const char *s, size_t len, size_t i) {
  if (s[i] == '$')
    return dollar_ref(s, len, i);
  if (s[i] == '{' && i + 1 < len && s[i + 1] == '{') {
    size_t e = i;
    while (e + 1 < len && s[e] == '{' && s[e + 1] == '{') {
      const char *close = memmem(s + e + 2, len - e - 2, "}}", 2);
      const char *nl = memchr(s + e + 2, '\n', len - e - 2);
      if (close == NULL || (nl != NULL && nl < close))
        break;
      e = (size_t)(close - s) + 2;
    }
    return e > i ? e : 0;
  }
  if (s[i] == '%') {
    size_t a = i + 1 + (i + 1 < len && s[i + 1] == '%');
    if (a >= len || s[a] != '(')
      return 0;
    size_t e = ident_run(s, len, a + 1);
    return e > a + 1 && e + 1 < len && s[e] == ')' && s[e + 1] == 's' ? e + 2 : 0;
  }
  if (s[i] == 'E' && starts(s + i, len - i, "ENC[") && (i == 0 || !is_ident(s[i - 1]))) {
    const char *close = memchr(s + i, ']', len - i);
    const char *blank = memchr(s + i, ' ', len - i);
    return close != NULL && (blank == NULL || close < blank) ? (size_t)(close - s) + 1 : 0;
  }
  return 0;
}

void rd_reference_ranges(const char *s, size_t len, rd_spans *out) {
  for (size_t i = 0; i < len; i++) {
    if (s[i] != '$' && s[i] != '{' && s[i] != '%' && s[i] != 'E')
      continue;
    size_t e = reference_at(s, len, i);
    if (e > i) {
      rd_add(out, i, e);
      i = e - 1;
    }
  }
}

bool rd_placeholder_value(const char *v, size_t n) {
  /* blanks or a field's ';' after it (a value to the line's end, a
   * connection string); sed's delimiter after <x> */
  while (n > 0 && (v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == ';'))
    n--;
  if (n >= 2 && v[n - 1] == '/' && v[n - 2] == '>')
    n--;
  /* quotes around the range, as the rules that hide a word whole take it */
  while (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0])
    v++, n -= 2;
  if (n >= 4 && v[0] == '\\' && (v[1] == '"' || v[1] == '\'') && v[n - 2] == '\\' && v[n - 1] == v[1])
    v += 2, n -= 4;
  if (n == 0)
    return false;
  /* a sed pattern's wildcard (.* in s/KEY=.*...): the old value, unseen;
   * a printf conversion alone (token: %s\n): its argument is read apart */
  if (n >= 2 && v[0] == '.' && (v[1] == '*' || v[1] == '+') && (n == 2 || v[2] == '/' || v[2] == '$'))
    return true;
  if (n >= 2 && v[0] == '%' && v[1] == 's' && (n == 2 || (n == 4 && v[2] == '\\' && v[3] == 'n')))
    return true;
  return refs_only(v, n) || template_only(v, n) || percent_ref(v, n) || store_ref(v, n) || file_path(v, n) ||
         digest(v, n) || placeholder(v, n);
}
