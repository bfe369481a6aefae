/* SPDX-License-Identifier: Apache-2.0 */
/* shell_words.c - the lexer of the shell reader: one word at a time with
 * its quoting removed and its expansions ($X, ${X...}, $( ), ` `, <( ),
 * braces) done as far as is known, and the operator tokens between words.
 * The grammar above it only ever sees finished tokens (peek). */
#define _GNU_SOURCE
#include "shell_parse_impl.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define MAX_BRACE_FIELDS 64

/* --- words ------------------------------------------------------------------ */

typedef struct {
  strbuf cur;
  bool started;     /* the current field exists, even if empty ("") */
  bool plain_field; /* the current field is unquoted literal text only */
  unsigned flags;   /* F_* of the current field */
  char **fields;
  unsigned *fflags;
  size_t n, cap;
  bool plain; /* the whole word so far */
  bool quoted;
  bool no_split; /* NAME=... words are not field-split */
} wordst;

static void ws_init(wordst *w) {
  memset(w, 0, sizeof(*w));
  al_sh_sb_init(&w->cur);
  w->plain = true;
  w->plain_field = true;
}

static void ws_free(wordst *w) {
  al_sh_sb_free(&w->cur);
  free(w->fields);
  free(w->fflags);
}

static int ws_push(parser *p, wordst *w, const char *s, size_t n, unsigned flags) {
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 4;
    if (cap > AL_SHELL_MAX_INPUT)
      return al_sh_fail_nomem(p);
    char **f = realloc(w->fields, cap * sizeof(*f));
    if (f == NULL)
      return al_sh_fail_nomem(p);
    w->fields = f;
    unsigned *ff = realloc(w->fflags, cap * sizeof(*ff));
    if (ff == NULL)
      return al_sh_fail_nomem(p);
    w->fflags = ff;
    w->cap = cap;
  }
  char *d = al_sh_pdup(p, s, n);
  if (d == NULL)
    return al_sh_fail_nomem(p);
  w->fields[w->n] = d;
  w->fflags[w->n] = flags;
  w->n++;
  return 0;
}

/* bash brace expansion of an unquoted literal field: pre{a,b}post.  At most
 * MAX_BRACE_FIELDS fields per word (*left) and 8 nested groups. */
static int brace_expand(parser *p, wordst *w, const char *s, size_t n, int *left, int level) {
  size_t open = SIZE_MAX, close = SIZE_MAX;
  bool comma = false;
  if (level < 8) {
    for (size_t i = 0; i < n && close == SIZE_MAX; i++) {
      if (s[i] == '{') {
        open = i;
        comma = false;
      } else if (s[i] == ',' && open != SIZE_MAX) {
        comma = true;
      } else if (s[i] == '}' && open != SIZE_MAX && comma) {
        close = i; /* an innermost group with a comma */
      }
    }
  }
  if (close == SIZE_MAX) {
    if (*left <= 0)
      return 0;
    (*left)--;
    return ws_push(p, w, s, n, 0);
  }
  size_t start = open + 1;
  for (size_t i = open + 1; i <= close && *left > 0; i++) {
    if (i == close || s[i] == ',') {
      strbuf b;
      al_sh_sb_init(&b);
      bool ok = al_sh_sb_putn(&b, s, open) && al_sh_sb_putn(&b, s + start, i - start) &&
                al_sh_sb_putn(&b, s + close + 1, n - close - 1);
      int r = ok ? brace_expand(p, w, b.buf, b.len, left, level + 1) : al_sh_fail_nomem(p);
      al_sh_sb_free(&b);
      if (r < 0)
        return -1;
      start = i + 1;
    }
  }
  return 0;
}

static int ws_finish(parser *p, wordst *w) {
  int r = 0;
  if (w->started || w->cur.len > 0) {
    if (w->plain_field && w->flags == 0 && memchr(w->cur.buf, '{', w->cur.len) && memchr(w->cur.buf, ',', w->cur.len)) {
      int left = MAX_BRACE_FIELDS;
      r = brace_expand(p, w, w->cur.buf, w->cur.len, &left, 0);
    } else
      r = ws_push(p, w, w->cur.buf, w->cur.len, w->flags);
  }
  w->cur.len = 0;
  w->started = false;
  w->plain_field = true;
  w->flags = 0;
  return r;
}

static int ws_char(parser *p, wordst *w, char c, bool literal_unquoted) {
  if (!al_sh_sb_putc(&w->cur, c))
    return al_sh_fail_nomem(p);
  w->started = true;
  if (!literal_unquoted) {
    w->plain_field = false;
    w->plain = false;
  }
  return 0;
}

/* An expansion: value NULL when unknown (then the source text raw is kept). */
static int ws_expansion(parser *p, wordst *w, const char *value, const char *raw, size_t rawlen, bool quoted) {
  w->plain = false;
  w->plain_field = false;
  if (w->n == 0 && al_sh_assignment_prefix(w->cur.buf) > 0)
    w->no_split = true;
  if (value == NULL) {
    if (!al_sh_sb_putn(&w->cur, raw, rawlen))
      return al_sh_fail_nomem(p);
    w->started = true;
    w->flags |= F_DYNAMIC | F_UNRESOLVED;
    return 0;
  }
  w->flags |= F_DYNAMIC;
  if (quoted || w->no_split) {
    if (!al_sh_sb_putn(&w->cur, value, strlen(value)))
      return al_sh_fail_nomem(p);
    w->started = true;
    return 0;
  }
  /* split on $IFS as it stands (IFS=, makes "rm,-rf,/" three fields); unset or
   * unknown IFS splits on blanks, an empty IFS not at all */
  const char *ifs = " \t\n";
  al_sh_var_get(p, "IFS", 3, &ifs);
  for (const char *v = value; *v; v++) {
    if (strchr(ifs, *v) != NULL) {
      if (w->started || w->cur.len > 0) {
        if (ws_finish(p, w) < 0)
          return -1;
        w->plain_field = false;
        w->flags = F_DYNAMIC;
      }
    } else {
      if (!al_sh_sb_putc(&w->cur, *v))
        return al_sh_fail_nomem(p);
      w->started = true;
    }
  }
  return 0;
}

/* skip $(( ... )) or (( ... )): pos at the first '(' still to count */
int al_sh_skip_arith(parser *p, int depth, size_t at) {
  while (p->pos < p->len) {
    char c = p->s[p->pos++];
    if (c == '(')
      depth++;
    else if (c == ')') {
      if (--depth == 0)
        return 0;
    } else if (c == '\\' && p->pos < p->len)
      p->pos++;
  }
  return al_sh_fail_syntax(p, at, "unterminated arithmetic (( ))");
}

static int read_dquote(parser *p, wordst *w);

/* parse a command or process substitution body in place, up to ')' */
static int read_substitution(parser *p, int origin, size_t at) {
  if (p->depth + 1 > AL_SHELL_MAX_DEPTH)
    return al_sh_fail_fatal(p, "nesting deeper than " AL_STR(AL_SHELL_MAX_DEPTH) " levels");
  unsigned saved_inherit = p->inherit;
  int saved_origin = p->origin, saved_case = p->case_depth;
  p->inherit |= AL_SEG_IN_SUBSTITUTION;
  p->origin = origin;
  p->case_depth = 0;
  p->depth++;
  cmdres r;
  int rc = al_sh_parse_list(p, NULL, &r);
  if (rc == 0) {
    token *t = al_sh_peek(p);
    if (t == NULL)
      rc = -1;
    else if (t->type != T_RPAREN)
      rc = al_sh_fail_syntax(p, at, origin == ORIGIN_CMD ? "unterminated $( )" : "unterminated process substitution");
    else
      consume(p);
  }
  p->depth--;
  p->inherit = saved_inherit;
  p->origin = saved_origin;
  p->case_depth = saved_case;
  return rc;
}

static int read_cmdsub(parser *p, wordst *w, bool quoted) {
  size_t start = p->pos;
  size_t mark = p->sh->n;
  p->pos += 2;
  if (read_substitution(p, ORIGIN_CMD, start) < 0)
    return -1;
  const char *value = al_sh_static_output(p, mark);
  if (p->fatal)
    return -1;
  return ws_expansion(p, w, value, p->s + start, p->pos - start, quoted);
}

static int read_backtick(parser *p, wordst *w, bool quoted) {
  size_t start = p->pos++;
  strbuf code;
  al_sh_sb_init(&code);
  for (;;) {
    if (p->pos >= p->len) {
      al_sh_sb_free(&code);
      return al_sh_fail_syntax(p, start, "unterminated backquote");
    }
    char c = p->s[p->pos];
    if (c == '`') {
      p->pos++;
      break;
    }
    bool ok;
    if (c == '\\' && p->pos + 1 < p->len && strchr("$`\\", p->s[p->pos + 1])) {
      ok = al_sh_sb_putc(&code, p->s[p->pos + 1]);
      p->pos += 2;
    } else {
      ok = al_sh_sb_putc(&code, c);
      p->pos++;
    }
    if (!ok) {
      al_sh_sb_free(&code);
      return al_sh_fail_nomem(p);
    }
  }
  size_t mark = p->sh->n;
  char *body = al_sh_pdup(p, code.buf, code.len);
  al_sh_sb_free(&code);
  if (body == NULL)
    return al_sh_fail_nomem(p);
  if (al_sh_parse_string(p, body, strlen(body), PENDING_PARENT, p->inherit | AL_SEG_IN_SUBSTITUTION, ORIGIN_CMD,
                         false) < 0)
    return -1;
  const char *value = al_sh_static_output(p, mark);
  if (p->fatal)
    return -1;
  return ws_expansion(p, w, value, p->s + start, p->pos - start, quoted);
}

static int read_procsub(parser *p, wordst *w) {
  size_t start = p->pos;
  int origin = p->s[p->pos] == '<' ? ORIGIN_PROC_IN : ORIGIN_PROC_OUT;
  p->pos += 2;
  if (read_substitution(p, origin, start) < 0)
    return -1;
  w->plain = w->plain_field = false;
  if (!al_sh_sb_putn(&w->cur, "/dev/fd/63", 10))
    return al_sh_fail_nomem(p);
  w->started = true;
  w->flags |= F_DYNAMIC;
  return 0;
}

/* ${...}: what can be known of NAME, NAME:-word, NAME:off:len, NAME/pat/rep */
static const char *param_value(parser *p, const char *c, size_t n) {
  size_t i = 0;
  if (n == 0 || !is_name_start((unsigned char)c[0]))
    return NULL;
  while (i < n && is_name_char((unsigned char)c[i]))
    i++;
  const char *val = NULL;
  bool known = al_sh_var_get(p, c, i, &val);
  if (i == n)
    return known ? val : NULL;
  const char *op = c + i;
  size_t rest = n - i;
  /* ${X:?msg} ${X?msg}: the value, or sh stops */
  if ((rest >= 1 && op[0] == '?') || (rest >= 2 && op[0] == ':' && op[1] == '?'))
    return known ? val : NULL;
  /* ${X:+word} ${X+word}: word when X is set (and not empty) */
  if ((rest >= 1 && op[0] == '+') || (rest >= 2 && op[0] == ':' && op[1] == '+')) {
    size_t skip = op[0] == ':' ? 2 : 1;
    if (!known)
      return NULL;
    if (op[0] == ':' && val[0] == '\0')
      return "";
    for (size_t k = skip; k < rest; k++)
      if (strchr("$`\\'\"", op[k]))
        return NULL;
    return al_sh_pdup(p, op + skip, rest - skip);
  }
  /* ${X:-word} ${X-word} ${X:=word} ${X=word} */
  if ((rest >= 2 && op[0] == ':' && (op[1] == '-' || op[1] == '=')) || op[0] == '-' || op[0] == '=') {
    size_t skip = op[0] == ':' ? 2 : 1;
    const char *word = op + skip;
    size_t wl = rest - skip;
    if (known && (op[0] != ':' || val[0] != '\0'))
      return val;
    for (size_t k = 0; k < wl; k++)
      if (strchr("$`\\'\"", word[k]))
        return NULL;
    return al_sh_pdup(p, word, wl);
  }
  if (!known)
    return NULL;
  /* ${X:off} ${X:off:len} */
  if (op[0] == ':' && rest >= 2 && isdigit((unsigned char)op[1])) {
    size_t k = 1, off = 0, len = SIZE_MAX;
    while (k < rest && isdigit((unsigned char)op[k]) && off < 100000)
      off = off * 10 + (size_t)(op[k++] - '0');
    if (k < rest) {
      if (op[k] != ':' || k + 1 >= rest)
        return NULL;
      k++;
      len = 0;
      while (k < rest && isdigit((unsigned char)op[k]) && len < 100000)
        len = len * 10 + (size_t)(op[k++] - '0');
      if (k != rest)
        return NULL;
    }
    size_t vl = strlen(val);
    if (off > vl)
      off = vl;
    if (len > vl - off)
      len = vl - off;
    return al_sh_pdup(p, val + off, len);
  }
  /* ${X/pat/rep} ${X//pat/rep} with literal pat and rep */
  if (op[0] == '/') {
    bool all = rest >= 2 && op[1] == '/';
    const char *pat = op + (all ? 2 : 1);
    const char *end = c + n;
    const char *slash = memchr(pat, '/', (size_t)(end - pat));
    size_t pl = slash ? (size_t)(slash - pat) : (size_t)(end - pat);
    const char *rep = slash ? slash + 1 : end;
    size_t rl = (size_t)(end - rep);
    for (const char *k = pat; k < end; k++)
      if (strchr("$`\\'\"*?[", *k))
        return NULL;
    if (pl == 0)
      return val;
    strbuf b;
    al_sh_sb_init(&b);
    bool ok = true, done = false;
    for (const char *v = val; *v;) {
      if (!done && strncmp(v, pat, pl) == 0) {
        ok &= al_sh_sb_putn(&b, rep, rl);
        v += pl;
        done = !all;
      } else {
        ok &= al_sh_sb_putc(&b, *v++);
      }
    }
    const char *res = ok ? al_sh_pdup(p, b.buf ? b.buf : "", b.len) : NULL;
    al_sh_sb_free(&b);
    return res;
  }
  return NULL;
}

static int read_param(parser *p, wordst *w, bool quoted) {
  size_t start = p->pos;
  size_t i = p->pos + 2;
  int level = 1;
  while (i < p->len) {
    char c = p->s[i];
    if (c == '\\') {
      i += 2;
      continue;
    }
    if (c == '\'' && !quoted) {
      const char *q = memchr(p->s + i + 1, '\'', p->len - i - 1);
      if (q == NULL)
        break;
      i = (size_t)(q - p->s) + 1;
      continue;
    }
    if (c == '$' && i + 1 < p->len && p->s[i + 1] == '{') {
      level++;
      i += 2;
      continue;
    }
    if (c == '}' && --level == 0)
      break;
    i++;
  }
  if (i >= p->len)
    return al_sh_fail_syntax(p, start, "unterminated ${ }");
  p->pos = i + 1;
  const char *value = param_value(p, p->s + start + 2, i - start - 2);
  if (p->fatal)
    return -1;
  return ws_expansion(p, w, value, p->s + start, p->pos - start, quoted);
}

static int read_dollar(parser *p, wordst *w, bool quoted) {
  size_t start = p->pos;
  char n1 = p->pos + 1 < p->len ? p->s[p->pos + 1] : '\0';
  char n2 = p->pos + 2 < p->len ? p->s[p->pos + 2] : '\0';
  if (n1 == '\'' && !quoted) { /* $'...' */
    p->pos += 2;
    w->plain = w->plain_field = false;
    w->quoted = true;
    w->started = true;
    bool ok = true, stopped = false;
    for (;;) {
      if (p->pos >= p->len)
        return al_sh_fail_syntax(p, start, "unterminated $'...'");
      char c = p->s[p->pos];
      if (c == '\'') {
        p->pos++;
        break;
      }
      if (c == '\\' && p->pos + 1 < p->len) {
        if (p->s[p->pos + 1] == 'c' && p->pos + 2 < p->len) {
          if (!stopped && (p->s[p->pos + 2] & 0x1f))
            ok &= al_sh_sb_putc(&w->cur, (char)(p->s[p->pos + 2] & 0x1f));
          p->pos += 3;
          continue;
        }
        strbuf tmp;
        al_sh_sb_init(&tmp);
        size_t used = al_sh_decode_escape(p->s + p->pos + 1, &tmp, false, &ok);
        if (!stopped)
          ok &= al_sh_sb_putn(&w->cur, tmp.buf, tmp.len);
        al_sh_sb_free(&tmp);
        p->pos += 1 + (used ? used : 1);
        continue;
      }
      if (!stopped)
        ok &= al_sh_sb_putc(&w->cur, c);
      p->pos++;
    }
    return ok ? 0 : al_sh_fail_nomem(p);
  }
  if (n1 == '"' && !quoted) { /* $"..." */
    p->pos++;
    return read_dquote(p, w);
  }
  if (n1 == '(' && n2 == '(') {
    p->pos++;
    if (al_sh_skip_arith(p, 0, start) < 0)
      return -1;
    return ws_expansion(p, w, NULL, p->s + start, p->pos - start, quoted);
  }
  if (n1 == '(')
    return read_cmdsub(p, w, quoted);
  if (n1 == '{')
    return read_param(p, w, quoted);
  if (is_name_start((unsigned char)n1)) {
    size_t i = p->pos + 1;
    while (i < p->len && is_name_char((unsigned char)p->s[i]))
      i++;
    const char *value = NULL;
    if (!al_sh_var_get(p, p->s + p->pos + 1, i - p->pos - 1, &value))
      value = NULL;
    p->pos = i;
    return ws_expansion(p, w, value, p->s + start, i - start, quoted);
  }
  if (n1 != '\0' && (isdigit((unsigned char)n1) || strchr("@*#?$!-", n1))) {
    /* $0..$9 are known inside sh -c CODE ARG0 ARG1 ... (shell_command.c) */
    const char *value = NULL;
    if (!isdigit((unsigned char)n1) || !al_sh_var_get(p, p->s + p->pos + 1, 1, &value))
      value = NULL;
    p->pos += 2;
    return ws_expansion(p, w, value, p->s + start, 2, quoted);
  }
  p->pos++;
  return ws_char(p, w, '$', false);
}

static int read_dquote(parser *p, wordst *w) {
  size_t start = p->pos++;
  w->plain = w->plain_field = false;
  w->quoted = true;
  w->started = true;
  for (;;) {
    if (p->pos >= p->len)
      return al_sh_fail_syntax(p, start, "unterminated double quote");
    char c = p->s[p->pos];
    if (c == '"') {
      p->pos++;
      return 0;
    }
    int r = 0;
    if (c == '\\' && p->pos + 1 < p->len && strchr("$`\"\\\n", p->s[p->pos + 1])) {
      if (p->s[p->pos + 1] != '\n')
        r = ws_char(p, w, p->s[p->pos + 1], false);
      p->pos += 2;
    } else if (c == '$') {
      r = read_dollar(p, w, true);
    } else if (c == '`') {
      r = read_backtick(p, w, true);
    } else {
      r = ws_char(p, w, c, false);
      p->pos++;
    }
    if (r < 0)
      return -1;
  }
}

/* NAME=( a b c ): elements read as words and dropped; the value is unknown */
static int read_array(parser *p, wordst *w) {
  size_t start = p->pos++;
  for (;;) {
    while (p->pos < p->len && (is_ifs((unsigned char)p->s[p->pos])))
      p->pos++;
    if (p->pos >= p->len)
      return al_sh_fail_syntax(p, start, "unterminated array assignment");
    char c = p->s[p->pos];
    if (c == ')') {
      p->pos++;
      break;
    }
    if (is_meta((unsigned char)c))
      return al_sh_fail_syntax(p, p->pos, "unexpected operator in array assignment");
    token tmp;
    if (al_sh_read_word(p, &tmp) < 0)
      return -1;
  }
  return ws_expansion(p, w, NULL, p->s + start, p->pos - start, false);
}

/* One word at p->pos: quotes removed, expansions done as far as known. */
int al_sh_read_word(parser *p, token *t) {
  wordst w;
  ws_init(&w);
  int r = 0;
  t->type = T_WORD;
  t->start = p->pos;
  if (p->pos + 1 < p->len && (p->s[p->pos] == '<' || p->s[p->pos] == '>') && p->s[p->pos + 1] == '(')
    r = read_procsub(p, &w);
  while (r == 0 && p->pos < p->len) {
    char c = p->s[p->pos];
    /* bash substitutes <( ) inside a word too: --data-file=<(cmd) */
    if ((c == '<' || c == '>') && p->pos + 1 < p->len && p->s[p->pos + 1] == '(') {
      r = read_procsub(p, &w);
      continue;
    }
    if (is_meta((unsigned char)c)) {
      /* NAME=( ... ) */
      if (c == '(' && !p->in_array && w.n == 0 && w.plain && w.cur.len > 0 &&
          al_sh_assignment_prefix(w.cur.buf) == w.cur.len) {
        p->in_array = true;
        r = read_array(p, &w);
        p->in_array = false;
        continue;
      }
      break;
    }
    switch (c) {
    case '\\':
      if (p->pos + 1 >= p->len) {
        r = ws_char(p, &w, '\\', false);
        p->pos++;
      } else if (p->s[p->pos + 1] == '\n') {
        p->pos += 2;
      } else {
        w.quoted = true;
        r = ws_char(p, &w, p->s[p->pos + 1], false);
        p->pos += 2;
      }
      break;
    case '\'': {
      const char *q = memchr(p->s + p->pos + 1, '\'', p->len - p->pos - 1);
      if (q == NULL) {
        r = al_sh_fail_syntax(p, p->pos, "unterminated single quote");
        break;
      }
      size_t n = (size_t)(q - (p->s + p->pos + 1));
      w.quoted = true;
      w.plain = w.plain_field = false;
      w.started = true;
      if (!al_sh_sb_putn(&w.cur, p->s + p->pos + 1, n))
        r = al_sh_fail_nomem(p);
      p->pos += n + 2;
      break;
    }
    case '"': r = read_dquote(p, &w); break;
    case '$': r = read_dollar(p, &w, false); break;
    case '`': r = read_backtick(p, &w, false); break;
    default: r = ws_char(p, &w, c, true); p->pos++;
    }
  }
  if (r == 0)
    r = ws_finish(p, &w);
  if (r == 0) {
    /* the fields and their joined text, in the arena */
    t->nfields = w.n;
    t->plain = w.plain;
    t->quoted = w.quoted;
    t->fields = al_shell_alloc(p->sh, (w.n + 1) * sizeof(char *));
    t->fflags = al_shell_alloc(p->sh, (w.n + 1) * sizeof(unsigned));
    strbuf joined;
    al_sh_sb_init(&joined);
    bool ok = t->fields && t->fflags;
    for (size_t i = 0; ok && i < w.n; i++) {
      t->fields[i] = w.fields[i];
      t->fflags[i] = w.fflags[i];
      ok = (i == 0 || al_sh_sb_putc(&joined, ' ')) && al_sh_sb_putn(&joined, w.fields[i], strlen(w.fields[i]));
    }
    if (ok) {
      t->fields[w.n] = NULL;
      t->text = al_sh_pdup(p, joined.len ? joined.buf : "", joined.len);
      ok = t->text != NULL;
    }
    al_sh_sb_free(&joined);
    if (!ok)
      r = al_sh_fail_nomem(p);
  }
  ws_free(&w);
  return r;
}

/* --- tokens ------------------------------------------------------------------ */

static int read_redir_op(parser *p, token *t, int fd) {
  const char *s = p->s + p->pos;
  size_t left = p->len - p->pos;
  t->type = T_REDIR;
#define AT(str) (left >= sizeof(str) - 1 && memcmp(s, str, sizeof(str) - 1) == 0)
  if (AT("<<<")) {
    t->rkind = AL_REDIR_HERESTRING;
    p->pos += 3;
  } else if (AT("<<-")) {
    t->rkind = AL_REDIR_HEREDOC;
    t->strip_tabs = true;
    p->pos += 3;
  } else if (AT("<<")) {
    t->rkind = AL_REDIR_HEREDOC;
    p->pos += 2;
  } else if (AT("<>")) {
    t->rkind = AL_REDIR_INOUT;
    p->pos += 2;
  } else if (AT("<&")) {
    t->rkind = AL_REDIR_DUP_IN;
    p->pos += 2;
  } else if (AT("<")) {
    t->rkind = AL_REDIR_IN;
    p->pos += 1;
  } else if (AT(">>")) {
    t->rkind = AL_REDIR_APPEND;
    p->pos += 2;
  } else if (AT(">&")) {
    t->rkind = AL_REDIR_DUP_OUT;
    p->pos += 2;
  } else if (AT(">|")) {
    t->rkind = AL_REDIR_OUT;
    p->pos += 2;
  } else {
    t->rkind = AL_REDIR_OUT;
    p->pos += 1;
  }
#undef AT
  if (fd >= 0)
    t->fd = fd;
  else
    t->fd = (t->rkind == AL_REDIR_IN || t->rkind == AL_REDIR_INOUT || t->rkind == AL_REDIR_DUP_IN ||
             t->rkind == AL_REDIR_HEREDOC || t->rkind == AL_REDIR_HERESTRING)
                ? 0
                : 1;
  return 0;
}

static int next_token(parser *p, token *t) {
  memset(t, 0, sizeof(*t));
  for (;;) {
    while (p->pos < p->len) {
      char c = p->s[p->pos];
      if (is_blank((unsigned char)c))
        p->pos++;
      else if (c == '\\' && p->pos + 1 < p->len && p->s[p->pos + 1] == '\n')
        p->pos += 2;
      else
        break;
    }
    if (p->pos < p->len && p->s[p->pos] == '#') {
      const char *nl = memchr(p->s + p->pos, '\n', p->len - p->pos);
      p->pos = nl ? (size_t)(nl - p->s) : p->len;
      continue;
    }
    break;
  }
  t->start = p->pos;
  t->seg_mark = p->sh->n;
  if (p->pos >= p->len) {
    t->type = T_EOF;
    return 0;
  }
  const char *s = p->s + p->pos;
  char c1 = p->pos + 1 < p->len ? s[1] : '\0';
  char c2 = p->pos + 2 < p->len ? s[2] : '\0';
  switch (s[0]) {
  case '\n':
    p->pos++;
    t->type = T_NEWLINE;
    return al_sh_read_heredocs(p);
  case ';':
    if (c1 == ';') {
      p->pos += c2 == '&' ? 3 : 2;
      t->type = p->case_depth > 0 ? T_DSEMI : T_SEMI;
    } else if (c1 == '&') {
      p->pos += 2;
      t->type = p->case_depth > 0 ? T_DSEMI : T_SEMI;
    } else {
      p->pos++;
      t->type = T_SEMI;
    }
    return 0;
  case '&':
    if (c1 == '&') {
      p->pos += 2;
      t->type = T_AND;
      return 0;
    }
    if (c1 == '>') {
      p->pos += 1;
      read_redir_op(p, t, 1);
      t->fd = -1;
      if (t->rkind == AL_REDIR_DUP_OUT) /* &>& is not a thing; treat as &> */
        t->rkind = AL_REDIR_OUT;
      return 0;
    }
    p->pos++;
    t->type = T_AMP;
    return 0;
  case '|':
    p->pos += (c1 == '|' || c1 == '&') ? 2 : 1;
    t->type = c1 == '|' ? T_OR : c1 == '&' ? T_PIPE_AMP : T_PIPE;
    return 0;
  case '(':
    p->pos++;
    t->type = T_LPAREN;
    return 0;
  case ')':
    p->pos++;
    t->type = T_RPAREN;
    return 0;
  case '<':
  case '>':
    if (c1 == '(')
      return al_sh_read_word(p, t);
    return read_redir_op(p, t, -1);
  default: break;
  }
  if (isdigit((unsigned char)s[0])) {
    size_t i = 0;
    int fd = 0;
    while (p->pos + i < p->len && isdigit((unsigned char)s[i])) {
      if (fd < 100000)
        fd = fd * 10 + (s[i] - '0');
      i++;
    }
    if (p->pos + i < p->len && (s[i] == '<' || s[i] == '>') && !(p->pos + i + 1 < p->len && s[i + 1] == '(')) {
      p->pos += i;
      return read_redir_op(p, t, fd);
    }
  }
  return al_sh_read_word(p, t);
}

token *al_sh_peek(parser *p) {
  if (!p->have_tok) {
    token t;
    if (next_token(p, &t) < 0)
      return NULL;
    p->tok = t;
    p->have_tok = true;
  }
  return &p->tok;
}
