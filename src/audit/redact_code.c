/* SPDX-License-Identifier: Apache-2.0 */
/* redact_code.c - the text rules for secrets inside code an agent passes
 * as a string (python -c, node -e, psql -c, expect -c, sed scripts): an
 * assignment with blanks around '=' to a quoted literal (password = 'X'),
 * a setter called with a literal (u.set_password('X')), SQL's PASSWORD 'X'
 * and IDENTIFIED BY 'X', and what an expect script sends after a password
 * prompt.  Kept apart from redact.c's shell-level rules because each reads
 * a little of a language's syntax: a quoted literal and what stands before
 * it.  Linear scans like the rest. */
#define _GNU_SOURCE
#include "redact_impl.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
static bool is_ident(char c) { return is_alnum(c) || c == '_'; }
static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* a quoted literal at s[i] ('...', "..." or the \"...\" of a JSON string
 * in a shell string): its inside into [*a, *b); false when none */
static bool literal_at(const char *s, size_t len, size_t i, size_t *a, size_t *b) {
  bool escaped = i + 1 < len && s[i] == '\\' && (s[i + 1] == '"' || s[i + 1] == '\'');
  if (i >= len || (!escaped && s[i] != '"' && s[i] != '\''))
    return false;
  char q = escaped ? s[i + 1] : s[i];
  size_t start = i + (escaped ? 2 : 1), e = start;
  while (e < len && s[e] != '\n') {
    if (escaped ? (s[e] == '\\' && e + 1 < len && s[e + 1] == q) : s[e] == q)
      break;
    if (!escaped && s[e] == '\\' && e + 1 < len)
      e++;
    e++;
  }
  if (e >= len || s[e] == '\n' || e == start)
    return false;
  *a = start;
  *b = e;
  return true;
}

static size_t skip_blanks(const char *s, size_t len, size_t i) {
  while (i < len && is_blank(s[i]))
    i++;
  return i;
}

/* The name a value is assigned to, ending at e (exclusive): an identifier
 * (db.password, $password), a quoted key ("password", in a subscript
 * ENV['TOKEN'] or a hash), or a symbol (:password).  Its bytes into
 * [*ks, *ke); false when none. */
static bool name_before(const char *s, size_t e, size_t *ks, size_t *ke) {
  while (e > 0 && is_blank(s[e - 1]))
    e--;
  bool subscript = e > 0 && s[e - 1] == ']';
  if (subscript)
    e--;
  if (e > 0 && (s[e - 1] == '\'' || s[e - 1] == '"')) {
    char q = s[e - 1];
    size_t b = e - 1;
    while (b > 0 && s[b - 1] != q && s[b - 1] != '\n')
      b--;
    if (b == 0 || s[b - 1] != q || b == e - 1)
      return false;
    *ks = b;
    *ke = e - 1;
    return !subscript || (b >= 2 && s[b - 2] == '[');
  }
  if (subscript)
    return false;
  size_t b = e;
  while (b > 0 && (is_ident(s[b - 1]) || s[b - 1] == '.' || s[b - 1] == '-'))
    b--;
  *ks = b;
  *ke = e;
  return e > b;
}

/* NAME = 'literal' (blanks around '=' or ':=', as interpreters and config
 * code write it; NAME=VALUE without blanks is redact.c's), subscripts
 * (os.environ['DB_PASSWORD'] = 'X', ENV['TOKEN']='X') and hashes ("password"
 * => "X", :password => 'X') */
static void scan_spaced_assignment(const char *s, size_t len, rd_spans *sp) {
  for (size_t i = 1; i < len; i++) {
    bool arrow = s[i] == '=' && i + 1 < len && s[i + 1] == '>';
    if (s[i] != '=' || (i + 1 < len && s[i + 1] == '=') || strchr("=!<>", s[i - 1]))
      continue;
    size_t k = i;
    if (s[k - 1] == ':')
      k--;
    bool blank = k != i || is_blank(s[k - 1]);
    if (!blank && !arrow && s[k - 1] != ']')
      continue; /* NAME=VALUE: the rule in redact.c */
    size_t ks, ke, a, b;
    if (name_before(s, k, &ks, &ke) && rd_name_secret(s + ks, ke - ks) &&
        literal_at(s, len, skip_blanks(s, len, i + 1 + arrow), &a, &b))
      rd_add(sp, a, b);
  }
}

/* the literal arguments of the call whose '(' is at open, from the
 * first-th on (0-based), to its ')' on the same line */
static void call_literals(const char *s, size_t len, size_t open, int first, rd_spans *sp) {
  int arg = 0, depth = 0;
  for (size_t i = open + 1; i < len && s[i] != '\n'; i++) {
    char c = s[i];
    size_t a, b;
    if ((c == '\'' || c == '"' || (c == '\\' && i + 1 < len && (s[i + 1] == '"' || s[i + 1] == '\''))) &&
        literal_at(s, len, i, &a, &b)) {
      if (arg >= first && depth == 0)
        rd_add(sp, a, b);
      i = b + (c == '\\' ? 1 : 0);
      continue;
    }
    if (c == '(' || c == '[' || c == '{')
      depth++;
    else if ((c == ')' || c == ']' || c == '}') && depth-- == 0)
      return;
    else if (c == ',' && depth == 0)
      arg++;
  }
}

static bool ends_with_ci(const char *s, size_t n, const char *w) {
  size_t l = strlen(w);
  return n >= l && strncasecmp(s + n - l, w, l) == 0;
}

/* DBI->connect("dbi:Pg:...", USER, PASSWORD), new PDO("mysql:host=...",
 * USER, PASSWORD): a call whose first argument is a data source name takes
 * the password third */
static bool dsn_call(const char *s, size_t len, size_t open) {
  static const char *const dsn[] = {"dbi:", "mysql:", "pgsql:", "odbc:", "oci:", "sqlsrv:", "firebird:", "ibm:"};
  size_t a, b, q = skip_blanks(s, len, open + 1);
  if (q >= len || !literal_at(s, len, q, &a, &b))
    return false;
  for (size_t k = 0; k < sizeof(dsn) / sizeof(dsn[0]); k++)
    if (b - a > strlen(dsn[k]) && strncasecmp(s + a, dsn[k], strlen(dsn[k])) == 0)
      return true;
  return false;
}

/* set_password('X'), setApiKey("X"), HTTPBasicAuth('u', 'X'): a call whose
 * name holds a secret takes it in its literal arguments; getters and
 * lookups take a name, not the secret.  login('u', 'X'),
 * authenticate(user, 'X'): the second argument of a log-in is the password. */
static void scan_setter_call(const char *s, size_t len, rd_spans *sp) {
  static const char *const lookups[] = {"get", "read", "load", "fetch", "lookup", "find", "has", "delete",
                                        "del", "remove", "print", "show", "list", "describe", "check"};
  for (size_t i = 1; i < len; i++) {
    if (s[i] != '(' || !is_ident(s[i - 1]))
      continue;
    size_t ns = i;
    while (ns > 0 && is_ident(s[ns - 1]))
      ns--;
    if (ends_with_ci(s + ns, i - ns, "login") || ends_with_ci(s + ns, i - ns, "logon") ||
        ends_with_ci(s + ns, i - ns, "signin") || ends_with_ci(s + ns, i - ns, "authenticate")) {
      call_literals(s, len, i, 1, sp);
      continue;
    }
    if (dsn_call(s, len, i)) {
      call_literals(s, len, i, 2, sp);
      continue;
    }
    if (!rd_name_secret(s + ns, i - ns))
      continue;
    bool lookup = false;
    for (size_t k = 0; k < sizeof(lookups) / sizeof(lookups[0]) && !lookup; k++) {
      size_t l = strlen(lookups[k]);
      lookup = i - ns > l && strncasecmp(s + ns, lookups[k], l) == 0;
    }
    if (!lookup)
      call_literals(s, len, i, 0, sp);
  }
}

static bool word_ci(const char *s, size_t len, size_t i, const char *w) {
  size_t n = strlen(w);
  return i + n <= len && strncasecmp(s + i, w, n) == 0 && (i == 0 || !is_ident(s[i - 1])) &&
         (i + n == len || !is_ident(s[i + n]));
}

/* SQL: [WITH] PASSWORD 'X', IDENTIFIED BY 'X' (CREATE/ALTER USER, ROLE) */
static void scan_sql(const char *s, size_t len, rd_spans *sp) {
  for (size_t i = 0; i < len; i++) {
    size_t v;
    if (word_ci(s, len, i, "password"))
      v = skip_blanks(s, len, i + 8);
    else if (word_ci(s, len, i, "identified")) {
      v = skip_blanks(s, len, i + 10);
      if (!word_ci(s, len, v, "by"))
        continue;
      v = skip_blanks(s, len, v + 2);
    } else {
      continue;
    }
    size_t a, b;
    if (v > i && v < len && is_blank(s[v - 1]) && s[v] == '\'' && literal_at(s, len, v, &a, &b))
      rd_add(sp, a, b);
  }
}

/* expect: after `expect` waits for a prompt naming a secret ("password:",
 * "Passphrase", "token"), the next `send` sends it */
static void scan_expect_send(const char *s, size_t len, rd_spans *sp) {
  bool prompt = false;
  for (size_t i = 0; i < len; i++) {
    if (word_ci(s, len, i, "expect")) {
      size_t e = i + 6;
      while (e < len && s[e] != '\n' && s[e] != ';' && s[e] != '}')
        e++;
      prompt = memmem(s + i, e - i, "assword", 7) || memmem(s + i, e - i, "assphrase", 9) ||
               memmem(s + i, e - i, "oken", 4) || memmem(s + i, e - i, "PIN", 3);
      i = e - 1;
    } else if (prompt && word_ci(s, len, i, "send")) {
      size_t v = skip_blanks(s, len, i + 4);
      if (v + 2 < len && s[v] == '-' && s[v + 1] == '-')
        v = skip_blanks(s, len, v + 2);
      size_t a, b;
      if (literal_at(s, len, v, &a, &b)) {
        /* the Enter that follows is not the secret */
        if (b - a > 2 && s[b - 2] == '\\' && (s[b - 1] == 'r' || s[b - 1] == 'n'))
          b -= 2;
        rd_add(sp, a, b);
      }
      prompt = false;
    }
  }
}

void rd_scan_code(const char *s, size_t len, rd_spans *sp) {
  scan_spaced_assignment(s, len, sp);
  scan_setter_call(s, len, sp);
  scan_sql(s, len, sp);
  scan_expect_send(s, len, sp);
}
