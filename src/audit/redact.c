/* SPDX-License-Identifier: Apache-2.0 */
/* redact.c - secrets out of audit records (see redact.h).  Every rule scans
 * the text once and collects the byte ranges to hide; the ranges are merged
 * and each becomes "[REDACTED]" in one copy.  The built-in rules are plain
 * C scans rather than regular expressions: argv elements can be long
 * (python -c '...'), and each scan stays linear whatever the input.
 * Operator patterns (al_redact_add_pattern) are POSIX EREs in a global
 * table behind a read-write lock. */
#define _GNU_SOURCE
#include "redact_impl.h"

#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"

/* --- ranges to hide ---------------------------------------------------------- */

static void add_span(rd_spans *sp, size_t start, size_t end, bool sure) {
  if (end <= start || sp->oom)
    return;
  if (sp->n == sp->cap) {
    size_t ncap = sp->cap ? sp->cap * 2 : 8;
    rd_span *grown = reallocarray(sp->v, ncap, sizeof(*grown));
    if (grown == NULL) {
      sp->oom = true;
      return;
    }
    sp->v = grown;
    sp->cap = ncap;
  }
  sp->v[sp->n++] = (rd_span){start, end, sure};
}

void rd_add(rd_spans *sp, size_t start, size_t end) { add_span(sp, start, end, false); }
void rd_add_sure(rd_spans *sp, size_t start, size_t end) { add_span(sp, start, end, true); }

static int span_cmp(const void *a, const void *b) {
  const rd_span *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

/* s with each merged range replaced by AL_REDACTED; frees sp->v */
char *rd_apply(const char *s, size_t len, rd_spans *sp) {
  _cleanup_free_ rd_span *v = sp->v;
  if (sp->oom)
    return NULL;
  /* a range that only refers to a secret, or holds a placeholder, stays */
  rd_spans refs = {0};
  rd_reference_ranges(s, len, &refs);
  _cleanup_free_ rd_span *ref = refs.v;
  size_t kept = 0;
  for (size_t i = 0; i < sp->n; i++) {
    bool inside = false;
    for (size_t r = 0; r < refs.n && !inside && !v[i].sure; r++)
      inside = ref[r].start <= v[i].start && v[i].end <= ref[r].end;
    if (v[i].sure || !(inside || rd_placeholder_value(s + v[i].start, v[i].end - v[i].start)))
      v[kept++] = v[i];
  }
  sp->n = kept;
  if (sp->n > 1)
    qsort(v, sp->n, sizeof(*v), span_cmp);
  size_t out_len = len + sp->n * (sizeof(AL_REDACTED) - 1) + 1;
  char *out = malloc(out_len), *p = out;
  if (out == NULL)
    return NULL;
  size_t pos = 0;
  for (size_t i = 0; i < sp->n;) {
    size_t start = v[i].start, end = v[i].end;
    /* overlapping or touching ranges are one secret */
    for (i++; i < sp->n && v[i].start <= end; i++)
      if (v[i].end > end)
        end = v[i].end;
    memcpy(p, s + pos, start - pos);
    p += start - pos;
    memcpy(p, AL_REDACTED, sizeof(AL_REDACTED) - 1);
    p += sizeof(AL_REDACTED) - 1;
    pos = end;
  }
  memcpy(p, s + pos, len - pos);
  p[len - pos] = '\0';
  return out;
}

/* --- character classes ---------------------------------------------------------- */

static bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
static bool is_key_char(char c) { return is_alnum(c) || c == '_' || c == '-' || c == '.'; }
static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
static bool is_quote(char c) { return c == '"' || c == '\'' || c == '`'; }
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/* Searches bounded by the text's length: each scan resumes after its last
 * hit, and a search that measured the rest of the text every time (as
 * strstr may) would make a long argument cost quadratic time. */
static const char *find(const char *s, size_t len, const char *from, const char *needle) {
  return memmem(from, len - (size_t)(from - s), needle, strlen(needle));
}

/* the same, ASCII case-insensitive; needle in lowercase */
static const char *find_ci(const char *s, size_t len, const char *from, const char *needle) {
  size_t n = strlen(needle);
  for (const char *p = from; p + n <= s + len; p++) {
    size_t k = 0;
    while (k < n && lower(p[k]) == needle[k])
      k++;
    if (k == n)
      return p;
  }
  return NULL;
}

/* --- which names are secret -------------------------------------------------- */

/* The end of a word-part of the name: DB_PASSWORD, apiKey, X-Api-Key,
 * accesstoken.  Separators are dropped first, so api_key is apikey. */
static const char *const secret_words[] = {
    "password", "passwd",     "pwd",         "secret",     "secrets",   "token",  "apikey",
    "auth",     "credential", "credentials", "privatekey", "accesskey", "bearer", "passphrase",
};
/* Only as a whole part: openssl -pass, -passin; not bypass or compass;
 * pat, a personal access token (AZURE_DEVOPS_EXT_PAT), not path. */
static const char *const secret_parts[] = {"pass", "passin", "passout", "pw", "pat"};
/* A last part that makes the value a reference to a secret, not the secret:
 * password_file, token_url, auth_type, private_key_path. */
static const char *const harmless_last[] = {
    "file",  "path", "dir",  "url",    "uri", "name",    "type",   "id",      "env",     "len",      "length", "count",
    "limit", "size", "mode", "method", "ttl", "timeout", "expiry", "expires", "enabled", "required", "stdin",
    "helper", "store", "cmd", "command", "prompt", "policy", "header", "location", "algorithm", "format",
};

static bool part_is(const char *p, size_t n, const char *word) {
  if (strlen(word) != n)
    return false;
  for (size_t i = 0; i < n; i++)
    if (lower(p[i]) != word[i])
      return false;
  return true;
}

bool rd_name_secret(const char *k, size_t n) {
  while (n > 0 && k[0] == '-')
    k++, n--;
  if (n == 0)
    return false;
  /* the shell's working directory, not a password */
  if ((n == 3 && memcmp(k, "PWD", 3) == 0) || (n == 6 && memcmp(k, "OLDPWD", 6) == 0))
    return false;
  /* a negated flag takes no secret: --no-auth */
  if (n > 3 && lower(k[0]) == 'n' && lower(k[1]) == 'o' && (k[2] == '-' || k[2] == '_'))
    return false;
  if (n > 255) { /* only the end of a very long name counts */
    k += n - 255;
    n = 255;
  }
  char norm[256];
  bool part_end[256];
  size_t m = 0, last_start = 0;
  for (size_t i = 0; i < n; i++) {
    char c = k[i];
    if (c == '_' || c == '-' || c == '.') {
      if (i + 1 < n)
        last_start = i + 1;
      continue;
    }
    norm[m] = lower(c);
    part_end[m] = i + 1 == n || k[i + 1] == '_' || k[i + 1] == '-' || k[i + 1] == '.';
    m++;
  }
  if (m == 0)
    return false;
  norm[m] = '\0';
  if (rd_registry_identifier_name(norm))
    return false;
  const char *last = k + last_start;
  size_t last_len = n - last_start;
  for (size_t i = 0; i < AL_ARRAY_SIZE(harmless_last); i++)
    if (part_is(last, last_len, harmless_last[i]))
      return false;
  /* whole parts */
  for (size_t i = 0, start = 0; i <= n; i++) {
    if (i == n || k[i] == '_' || k[i] == '-' || k[i] == '.') {
      for (size_t w = 0; w < AL_ARRAY_SIZE(secret_parts); w++)
        if (part_is(k + start, i - start, secret_parts[w]))
          return true;
      start = i + 1;
    }
  }
  for (size_t j = 0; j < m; j++) {
    if (!part_end[j])
      continue;
    for (size_t w = 0; w < AL_ARRAY_SIZE(secret_words); w++) {
      size_t wl = strlen(secret_words[w]);
      if (j + 1 >= wl && memcmp(norm + j + 1 - wl, secret_words[w], wl) == 0)
        return true;
    }
  }
  norm[m] = '\0';
  return rd_registry_secret_name(norm);
}

bool rd_name_weak(const char *k, size_t n) {
  while (n > 0 && k[0] == '-')
    k++, n--;
  if (n == 0 || n > 255)
    return false;
  char norm[256];
  size_t m = 0, last_start = 0;
  for (size_t i = 0; i < n; i++) {
    if (k[i] == '_' || k[i] == '-' || k[i] == '.') {
      if (i + 1 < n)
        last_start = i + 1;
      continue;
    }
    norm[m++] = lower(k[i]);
  }
  norm[m] = '\0';
  for (size_t i = 0; i < AL_ARRAY_SIZE(harmless_last); i++)
    if (part_is(k + last_start, n - last_start, harmless_last[i]))
      return false;
  return m > 0 && !rd_registry_identifier_name(norm) && rd_registry_weak_name(norm);
}

/* --- values next to a name ---------------------------------------------------- */

/* The value that starts at pos: a quoted string's inside (also \"...\" as
 * in a JSON string inside a shell string), else up to a delimiter. */
/* a reference by id, file or variable: docker build --secret
 * id=npm,src=FILE (every item KEY=VALUE, the first id=, every key one of
 * these) */
static bool secret_reference(const char *v, size_t w) {
  static const char *const keys[] = {"id", "src", "source", "env", "target", "type", "required", "uid", "gid", "mode"};
  if (w < 4 || strncmp(v, "id=", 3) != 0)
    return false;
  for (size_t i = 0; i < w;) {
    size_t e = i;
    while (e < w && v[e] != ',')
      e++;
    const char *eq = memchr(v + i, '=', e - i);
    if (eq == NULL)
      return false;
    size_t kl = (size_t)(eq - (v + i));
    bool known = false;
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]) && !known; k++)
      known = strlen(keys[k]) == kl && strncmp(v + i, keys[k], kl) == 0;
    if (!known)
      return false;
    i = e + 1;
  }
  return true;
}

/* only references to variables ($TOKEN, ${USER}:$PASS): the value is
 * elsewhere, and the command string never held it */
static bool variable_refs(const char *v, size_t n) {
  size_t i = 0, refs = 0;
  while (i < n && !is_space(v[i])) {
    if (v[i] == ':') {
      i++;
      continue;
    }
    if (v[i] != '$' || i + 1 >= n)
      return false;
    i++;
    bool brace = v[i] == '{';
    i += brace;
    size_t s = i;
    while (i < n && (is_alnum(v[i]) || v[i] == '_'))
      i++;
    if (i == s || (brace && (i >= n || v[i++] != '}')))
      return false;
    refs++;
  }
  return refs > 0 && (i == n || is_space(v[i]));
}

bool rd_harmless_value(const char *v, size_t n) {
  if ((n >= 5 && strncmp(v, "/dev/", 5) == 0) || (n >= 14 && strncmp(v, "/proc/self/fd/", 14) == 0))
    return true;
  if (variable_refs(v, n))
    return true;
  if (n >= 1 && v[0] == '-' && (n == 1 || is_space(v[1]) || is_quote(v[1])))
    return true; /* "-": read from stdin */
  /* a printf conversion (password=%s): the argument is the value, and the
   * rule for printf's output reads it there */
  if (n >= 2 && v[0] == '%') {
    size_t i = 1;
    while (i < n && strchr("-+ #0123456789.", v[i]))
      i++;
    if (i < n && strchr("sbdq", v[i]) && (i + 1 == n || v[i + 1] == '\\' || is_space(v[i + 1]) || is_quote(v[i + 1])))
      return true;
  }
  size_t w = 0;
  while (w < n && !is_space(v[w]) && !is_quote(v[w]))
    w++;
  return secret_reference(v, w);
}

static void add_value(const char *s, size_t len, size_t pos, bool colon, rd_spans *sp) {
  if (colon)
    while (pos < len && (s[pos] == ' ' || s[pos] == '\t'))
      pos++;
  if (pos >= len || rd_harmless_value(s + pos, len - pos))
    return;
  /* a substitution, $( ) or <( ), is the value whole, blanks and all */
  if ((s[pos] == '$' || s[pos] == '<') && pos + 1 < len && s[pos + 1] == '(') {
    size_t e = pos + 1;
    for (int level = 0; e < len; e++) {
      level += s[e] == '(' ? 1 : s[e] == ')' ? -1 : 0;
      if (level == 0)
        break;
    }
    rd_add(sp, pos, e < len ? e + 1 : len);
    return;
  }
  if (s[pos] == '"' || s[pos] == '\'' ||
      (s[pos] == '\\' && pos + 1 < len && (s[pos + 1] == '"' || s[pos + 1] == '\''))) {
    bool escaped_quote = s[pos] == '\\';
    char q = escaped_quote ? s[pos + 1] : s[pos];
    size_t start = pos + (escaped_quote ? 2 : 1), end = start;
    while (end < len) {
      if (escaped_quote ? (s[end] == '\\' && end + 1 < len && s[end + 1] == q) : s[end] == q)
        break;
      if (!escaped_quote && s[end] == '\\' && end + 1 < len)
        end++;
      end++;
    }
    rd_add(sp, start, end < len ? end : len);
    return;
  }
  size_t end = pos;
  while (end < len && !is_space(s[end]) && !is_quote(s[end]) && s[end] != '&' && s[end] != ';' &&
         !(colon && s[end] == ','))
    end++;
  rd_add(sp, pos, end);
}

/* NAME:verb with no blank, a word of lowercase letters and dashes alone:
 * a subcommand (firebase auth:export, heroku auth:whoami), not a value */
static bool colon_subcommand(const char *s, size_t len, size_t v) {
  size_t e = v;
  while (e < len && ((s[e] >= 'a' && s[e] <= 'z') || (e > v && s[e] == '-')))
    e++;
  return e > v && (e == len || is_space(s[e]) || is_quote(s[e]) || s[e] == ';' || s[e] == '&' || s[e] == '|');
}

/* NAME=VALUE, NAME: VALUE (at the start of a line or field) and
 * "NAME": VALUE, where NAME is secret. */
static void scan_named(const char *s, size_t len, rd_spans *sp) {
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c != '=' && c != ':')
      continue;
    size_t k = i;
    while (k > 0 && is_key_char(s[k - 1]))
      k--;
    if (k < i) {
      if (c == '=') {
        if (i + 1 < len && s[i + 1] == '=')
          continue; /* a comparison */
        if (rd_name_secret(s + k, i - k))
          add_value(s, len, i + 1, false, sp);
      } else {
        bool field_start = k == 0 || is_space(s[k - 1]) || strchr("\"'{,(;[", s[k - 1]) != NULL;
        bool url = i + 2 < len && s[i + 1] == '/' && s[i + 2] == '/';
        /* "password:" quoted whole is a prompt or a label, not NAME: VALUE */
        if (k > 0 && is_quote(s[k - 1]) && i + 1 < len && s[i + 1] == s[k - 1])
          continue;
        if (field_start && !url && !colon_subcommand(s, len, i + 1) && rd_name_secret(s + k, i - k))
          add_value(s, len, i + 1, true, sp);
      }
      continue;
    }
    if (c != ':')
      continue;
    /* "name" : value */
    size_t q = i;
    while (q > 0 && (s[q - 1] == ' ' || s[q - 1] == '\t'))
      q--;
    if (q == 0 || (s[q - 1] != '"' && s[q - 1] != '\''))
      continue;
    size_t e = q - 1, key_end = e;
    if (key_end > 0 && s[key_end - 1] == '\\') /* \"name\" inside a quoted string */
      key_end--;
    size_t b = key_end;
    while (b > 0 && is_key_char(s[b - 1]))
      b--;
    if (b == 0 || s[b - 1] != s[e] || b >= key_end)
      continue;
    if (rd_name_secret(s + b, key_end - b)) {
      add_value(s, len, i + 1, true, sp);
    } else if (rd_name_weak(s + b, key_end - b)) {
      /* "key": "VALUE" (kaggle.json): a weak name, a random-looking value */
      rd_spans one = {0};
      add_value(s, len, i + 1, true, &one);
      if (one.n == 1 && rd_random_word(s + one.v[0].start, one.v[0].end - one.v[0].start))
        rd_add(sp, one.v[0].start, one.v[0].end);
      free(one.v);
    }
  }
}

static size_t skip_blanks(const char *s, size_t len, size_t i) {
  while (i < len && (s[i] == ' ' || s[i] == '\t'))
    i++;
  return i;
}

static size_t word_end(const char *s, size_t len, size_t i) {
  while (i < len && !is_space(s[i]) && !is_quote(s[i]) && s[i] != ',')
    i++;
  return i;
}

/* the end of a header's value: the line, or with quoted the closing quote
 * of a shell string around it */
static size_t line_end(const char *s, size_t len, size_t i, bool quoted) {
  while (i < len && s[i] != '\n' && s[i] != '\r' && !(quoted && is_quote(s[i])))
    i++;
  return i;
}

static bool word_is(const char *s, size_t n, const char *const *words, size_t count) {
  for (size_t i = 0; i < count; i++)
    if (part_is(s, n, words[i]))
      return true;
  return false;
}

/* Schemes whose credential is the next word, and those whose parameters run
 * to the end of the header. */
static const char *const word_schemes[] = {"bearer", "basic", "token", "negotiate", "ntlm",
                                           "apikey", "dpop",  "hoba",  "mutual",    "sso-key"};
static const char *const param_schemes[] = {"digest", "aws4-hmac-sha256", "oauth", "signature"};

/* Authorization / Proxy-Authorization: NAME [: or =] [SCHEME] CREDENTIALS.
 * With to_end (a whole argv element), everything after the scheme. */
static void scan_authorization(const char *s, size_t len, bool to_end, rd_spans *sp) {
  static const char name[] = "authorization";
  for (const char *p = s; (p = find_ci(s, len, p, name)) != NULL; p += sizeof(name) - 1) {
    size_t i = skip_blanks(s, len, (size_t)(p - s) + sizeof(name) - 1);
    if (i >= len || (s[i] != ':' && s[i] != '='))
      continue;
    i = skip_blanks(s, len, i + 1);
    if (i < len && (s[i] == '"' || s[i] == '\''))
      i++;
    size_t w1 = word_end(s, len, i);
    if (w1 == i)
      continue;
    bool words = word_is(s + i, w1 - i, word_schemes, AL_ARRAY_SIZE(word_schemes));
    bool params = word_is(s + i, w1 - i, param_schemes, AL_ARRAY_SIZE(param_schemes));
    if (!words && !params) {
      /* an unknown scheme (Api-Token, SSWS, GenieKey) before its credential:
       * the word after it too */
      size_t j = skip_blanks(s, len, w1), w2 = j > w1 ? word_end(s, len, j) : j;
      bool scheme = w1 - i <= 24 && w2 > j;
      for (size_t k = i; k < w1 && scheme; k++)
        scheme = (s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') || s[k] == '-';
      rd_add(sp, i, to_end ? len : scheme ? w2 : w1);
      continue;
    }
    size_t j = skip_blanks(s, len, w1);
    if (to_end || params)
      rd_add(sp, j, to_end ? len : line_end(s, len, j, false)); /* "..." parameters */
    else
      rd_add(sp, j, word_end(s, len, j));
  }
}

/* Cookie: and Set-Cookie: carry session secrets */
static void scan_cookie(const char *s, size_t len, bool to_end, rd_spans *sp) {
  static const char name[] = "cookie";
  for (const char *p = s; (p = find_ci(s, len, p, name)) != NULL; p += sizeof(name) - 1) {
    if (p > s && is_alnum(p[-1]))
      continue;
    size_t i = skip_blanks(s, len, (size_t)(p - s) + sizeof(name) - 1);
    if (i >= len || s[i] != ':')
      continue;
    i = skip_blanks(s, len, i + 1);
    rd_add(sp, i, to_end ? len : line_end(s, len, i, true));
  }
}

static bool is_token68(char c) { return is_alnum(c) || strchr("-._~+/", c) != NULL; }

/* "Bearer <token>" outside an Authorization header */
static void scan_bearer(const char *s, size_t len, rd_spans *sp) {
  static const char name[] = "bearer";
  for (const char *p = s; (p = find_ci(s, len, p, name)) != NULL; p += sizeof(name) - 1) {
    if (p > s && is_alnum(p[-1]))
      continue;
    size_t i = (size_t)(p - s) + sizeof(name) - 1, j = skip_blanks(s, len, i);
    if (j == i)
      continue;
    size_t e = j;
    while (e < len && is_token68(s[e]))
      e++;
    while (e < len && s[e] == '=')
      e++;
    if (e - j >= 16)
      rd_add(sp, j, e);
  }
}

/* scheme://user:PASSWORD@host */
static void scan_userinfo(const char *s, size_t len, rd_spans *sp) {
  for (const char *p = s; (p = find(s, len, p, "://")) != NULL; p += 3) {
    size_t start = (size_t)(p - s) + 3, at = 0, i;
    /* '?' and '#' unescaped in a password happen too: only '/' ends the
     * authority before its '@' */
    for (i = start; i < len && !is_space(s[i]) && !is_quote(s[i]) && s[i] != '/'; i++)
      if (s[i] == '@')
        at = i; /* the last one: an unescaped @ in the password happens */
    if (at == 0)
      continue;
    const char *colon = memchr(s + start, ':', at - start);
    if (colon != NULL)
      rd_add(sp, (size_t)(colon - s) + 1, at);
  }
}

/* -----BEGIN ... PRIVATE KEY----- body -----END ...: the body (to the end
 * of the text when the END line is missing) */
static void scan_pem(const char *s, size_t len, rd_spans *sp) {
  static const char begin[] = "-----BEGIN ";
  const char *p = s;
  while ((p = find(s, len, p, begin)) != NULL) {
    const char *label = p + sizeof(begin) - 1;
    size_t label_len = strspn(label, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ");
    const char *close = label + label_len;
    if (strncmp(close, "-----", 5) != 0 || memmem(label, label_len, "PRIVATE KEY", 11) == NULL) {
      p = close; /* not a private key's BEGIN line; the next may start here */
      continue;
    }
    const char *body = close + 5;
    const char *end = find(s, len, body, "-----END ");
    rd_add(sp, (size_t)(body - s), end ? (size_t)(end - s) : len);
    if (end == NULL)
      return;
    p = end + 1;
  }
}

/* --- operator patterns ---------------------------------------------------------- */

static pthread_rwlock_t extra_lock = PTHREAD_RWLOCK_INITIALIZER;
static regex_t *extra;
static size_t n_extra, cap_extra;

int al_redact_add_pattern(const char *posix_ere, airlock_error **err) {
  if (posix_ere == NULL || posix_ere[0] == '\0')
    return al_err(err, 0, "redaction pattern: empty");
  int flags = REG_EXTENDED;
  const char *re = posix_ere;
  if (strncmp(re, "(?i)", 4) == 0) {
    flags |= REG_ICASE;
    re += 4;
  }
  regex_t compiled;
  int rc = regcomp(&compiled, re, flags);
  if (rc != 0) {
    char msg[160];
    regerror(rc, &compiled, msg, sizeof(msg));
    return al_err(err, 0, "redaction pattern '%s': %s", posix_ere, msg);
  }
  pthread_rwlock_wrlock(&extra_lock);
  if (n_extra == cap_extra) {
    size_t ncap = cap_extra ? cap_extra * 2 : 4;
    regex_t *grown = reallocarray(extra, ncap, sizeof(*grown));
    if (grown == NULL) {
      pthread_rwlock_unlock(&extra_lock);
      regfree(&compiled);
      return al_err(err, ENOMEM, "redaction pattern");
    }
    extra = grown;
    cap_extra = ncap;
  }
  extra[n_extra++] = compiled;
  pthread_rwlock_unlock(&extra_lock);
  return 0;
}

void al_redact_clear_patterns(void) {
  pthread_rwlock_wrlock(&extra_lock);
  for (size_t i = 0; i < n_extra; i++)
    regfree(&extra[i]);
  free(extra);
  extra = NULL;
  n_extra = cap_extra = 0;
  pthread_rwlock_unlock(&extra_lock);
}

static void scan_extra(const char *s, size_t len, rd_spans *sp) {
  pthread_rwlock_rdlock(&extra_lock);
  for (size_t k = 0; k < n_extra; k++) {
    /* REG_STARTEND: offsets into s, and no strlen of the rest per match */
    size_t off = 0;
    for (;;) {
      regmatch_t m[2] = {{.rm_so = (regoff_t)off, .rm_eo = (regoff_t)len}};
      if (off > len || regexec(&extra[k], s, 2, m, REG_STARTEND | (off ? REG_NOTBOL : 0)) != 0)
        break;
      size_t so = (size_t)m[0].rm_so, eo = (size_t)m[0].rm_eo;
      if (extra[k].re_nsub >= 1 && m[1].rm_so >= 0)
        rd_add_sure(sp, (size_t)m[1].rm_so, (size_t)m[1].rm_eo);
      else
        rd_add_sure(sp, so, eo);
      off = eo > so ? eo : so + 1;
    }
  }
  pthread_rwlock_unlock(&extra_lock);
}

/* XML: <password>VALUE</password>, and a tag naming its setting in key= or
 * name= with the value in value= (.NET appSettings, Ant, Spring beans) */
static void scan_xml(const char *s, size_t len, rd_spans *sp) {
  for (const char *p = s; (p = memchr(p, '<', len - (size_t)(p - s))) != NULL; p++) {
    size_t i = (size_t)(p - s) + 1, k = i;
    while (k < len && is_key_char(s[k]))
      k++;
    if (k == i || k >= len)
      continue;
    if (s[k] == '>') {
      size_t v = k + 1, e = v;
      while (e < len && s[e] != '<' && s[e] != '\n')
        e++;
      bool secret = rd_name_secret(s + i, k - i) || (rd_name_weak(s + i, k - i) && rd_random_word(s + v, e - v));
      if (secret && e + 1 < len && s[e] == '<' && s[e + 1] == '/')
        rd_add(sp, v, e);
      continue;
    }
    /* key="NAME" ... value="VALUE" within one tag */
    const char *close = memchr(s + k, '>', len - k);
    size_t tag_end = close ? (size_t)(close - s) : len;
    const char *name = NULL, *value = NULL;
    size_t name_len = 0, value_len = 0;
    for (size_t a = k; a + 2 < tag_end; a++) {
      if (s[a] != '=' || (s[a + 1] != '"' && s[a + 1] != '\''))
        continue;
      size_t b = a;
      while (b > k && is_key_char(s[b - 1]))
        b--;
      const char *q = memchr(s + a + 2, s[a + 1], tag_end - a - 2);
      if (q == NULL)
        break;
      size_t vs = a + 2, vl = (size_t)(q - s) - vs;
      if ((a - b == 3 && strncmp(s + b, "key", 3) == 0) || (a - b == 4 && strncmp(s + b, "name", 4) == 0))
        name = s + vs, name_len = vl;
      else if (a - b == 5 && strncmp(s + b, "value", 5) == 0)
        value = s + vs, value_len = vl;
      a = (size_t)(q - s);
    }
    if (name && value && value_len > 0 &&
        (rd_name_secret(name, name_len) || (rd_name_weak(name, name_len) && rd_random_word(value, value_len))))
      rd_add(sp, (size_t)(value - s), (size_t)(value - s) + value_len);
  }
}

/* --- all text rules ------------------------------------------------------------ */

void rd_scan_text(const char *s, size_t len, rd_spans *sp, int depth) {
  scan_pem(s, len, sp);
  scan_authorization(s, len, false, sp);
  scan_cookie(s, len, false, sp);
  scan_bearer(s, len, sp);
  scan_userinfo(s, len, sp);
  scan_named(s, len, sp);
  scan_xml(s, len, sp);
  rd_scan_code(s, len, sp);
  rd_scan_shapes(s, len, sp, depth);
  rd_scan_known(s, len, sp);
  scan_extra(s, len, sp);
}

/* rules that know the whole word: a header's value runs to the word's end */
void rd_scan_header_word(const char *e, size_t len, rd_spans *sp) {
  size_t name_end = 0;
  while (name_end < len && is_key_char(e[name_end]))
    name_end++;
  if (name_end == 0 || name_end >= len || e[name_end] != ':')
    return;
  size_t v = skip_blanks(e, len, name_end + 1);
  if (part_is(e, name_end, "authorization") || part_is(e, name_end, "proxy-authorization"))
    scan_authorization(e, len, true, sp);
  else if (part_is(e, name_end, "cookie") || part_is(e, name_end, "set-cookie"))
    rd_add(sp, v, len);
  else if (rd_name_secret(e, name_end) && !(v + 1 < len && e[v] == '/' && e[v + 1] == '/') &&
           !(v == name_end + 1 && colon_subcommand(e, len, v)))
    rd_add(sp, v, len);
}
