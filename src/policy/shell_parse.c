/* shell_parse.c - the static reader of sh command strings (see
 * shell_parse.h).  A recursive-descent parser over a one-token lookahead:
 * list -> and-or -> pipeline -> command, where a command is a simple command,
 * ( list ), { list; }, case, [[ ]], (( )), or a function definition.  if,
 * while, for and friends are read leniently: their keywords are skipped and
 * the commands between them become segments, which is all the classifier
 * needs.  Words are expanded as far as is known without running anything;
 * the rest is kept as source text and flagged. */
#define _GNU_SOURCE
#include "shell_parse.h"

#include <ctype.h>
#include <limits.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"

#define PENDING_PARENT (-2)      /* parent not known yet: set when the holding command is pushed */
#define ARENA_BLOCK 16384
#define ARENA_LIMIT (16u << 20)  /* all strings of one parse, expansions included */
#define MAX_VARS 256
#define MAX_STATIC_OUTPUT 4096   /* longest substitution output we compute */
#define MAX_BRACE_FIELDS 64
#define AL_STR_(x) #x
#define AL_STR(x) AL_STR_(x)

/* --- arena --------------------------------------------------------------- */

struct al_arena_block {
  struct al_arena_block *next;
  size_t used;
  size_t cap;
  alignas(max_align_t) unsigned char data[];
};

void *al_shell_alloc(al_shell *sh, size_t size) {
  size_t a = alignof(max_align_t);
  size = (size + a - 1) & ~(a - 1);
  if (size == 0)
    size = a;
  if (size > ARENA_LIMIT || sh->arena_bytes > ARENA_LIMIT - size)
    return NULL;
  struct al_arena_block *b = sh->arena;
  if (b == NULL || b->cap - b->used < size) {
    size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
    b = malloc(sizeof(*b) + cap);
    if (b == NULL)
      return NULL;
    b->used = 0;
    b->cap = cap;
    b->next = sh->arena;
    sh->arena = b;
  }
  void *p = b->data + b->used;
  b->used += size;
  sh->arena_bytes += size;
  return p;
}

static char *arena_strndup(al_shell *sh, const char *s, size_t n) {
  char *d = al_shell_alloc(sh, n + 1);
  if (d == NULL)
    return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

void al_shell_free(al_shell *sh) {
  if (sh == NULL)
    return;
  free(sh->segs);
  struct al_arena_block *b = sh->arena;
  while (b) {
    struct al_arena_block *next = b->next;
    free(b);
    b = next;
  }
  memset(sh, 0, sizeof(*sh));
}

/* --- growable byte buffer with inline storage ---------------------------- */

typedef struct {
  char *buf;
  size_t len;
  size_t cap;
  char small[192];
} strbuf;

static void sb_init(strbuf *b) {
  b->buf = b->small;
  b->len = 0;
  b->cap = sizeof(b->small);
}

static void sb_free(strbuf *b) {
  if (b->buf != b->small)
    free(b->buf);
  sb_init(b);
}

static bool sb_grow(strbuf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap)
    return true;
  if (b->len + extra + 1 > AL_SHELL_MAX_INPUT * 4)
    return false;
  size_t cap = b->cap * 2;
  while (cap < b->len + extra + 1)
    cap *= 2;
  char *n;
  if (b->buf == b->small) {
    n = malloc(cap);
    if (n)
      memcpy(n, b->buf, b->len);
  } else {
    n = realloc(b->buf, cap);
  }
  if (n == NULL)
    return false;
  b->buf = n;
  b->cap = cap;
  return true;
}

static bool sb_putn(strbuf *b, const char *s, size_t n) {
  if (!sb_grow(b, n))
    return false;
  memcpy(b->buf + b->len, s, n);
  b->len += n;
  b->buf[b->len] = '\0';
  return true;
}

static bool sb_putc(strbuf *b, char c) { return sb_putn(b, &c, 1); }

/* --- small helpers -------------------------------------------------------- */

static bool is_name_start(int c) { return c == '_' || isalpha(c); }
static bool is_name_char(int c) { return c == '_' || isalnum(c); }
static bool is_blank(int c) { return c == ' ' || c == '\t'; }
static bool is_ifs(int c) { return c == ' ' || c == '\t' || c == '\n'; }
static bool is_meta(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '<' || c == '>' ||
         c == '(' || c == ')';
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash && slash[1] ? slash + 1 : path;
}

static bool in_list(const char *s, const char *const *list) {
  for (; *list; list++)
    if (strcmp(s, *list) == 0)
      return true;
  return false;
}

bool al_shell_is_shell(const char *name) {
  static const char *const shells[] = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "posh",
                                       "rbash", "fish", "ksh93", "pdksh", "busybox-sh", NULL};
  return in_list(name, shells);
}

/* NAME= or NAME+= at the start of s; returns the length up to and with '=' */
static size_t assignment_prefix(const char *s) {
  if (!is_name_start((unsigned char)s[0]))
    return 0;
  size_t i = 1;
  while (is_name_char((unsigned char)s[i]))
    i++;
  if (s[i] == '+' && s[i + 1] == '=')
    return i + 2;
  return s[i] == '=' ? i + 1 : 0;
}

/* --- path normalisation --------------------------------------------------- */

const char *al_shell_normalise_path(al_shell *sh, const char *path, const char *cwd) {
  size_t plen = strlen(path);
  if (plen >= PATH_MAX || (cwd && strlen(cwd) >= PATH_MAX))
    return NULL;
  char joined[2 * PATH_MAX + 2];
  const char *src = path;
  bool home = path[0] == '~' && (path[1] == '/' || path[1] == '\0');
  if (cwd && path[0] != '/' && !home && cwd[0] != '\0') {
    snprintf(joined, sizeof(joined), "%s/%s", cwd, path);
    src = joined;
    home = src[0] == '~' && (src[1] == '/' || src[1] == '\0');
  }
  char out[2 * PATH_MAX + 8];
  uint16_t starts[PATH_MAX]; /* where each kept component begins (before its '/') */
  size_t o = 0, n = 0;
  char root = src[0] == '/' ? '/' : home ? '~' : 0;
  const char *p = src;
  if (root) {
    out[o++] = root;
    p++;
  }
  while (*p) {
    while (*p == '/')
      p++;
    if (!*p)
      break;
    const char *c = p;
    while (*p && *p != '/')
      p++;
    size_t l = (size_t)(p - c);
    if (l == 1 && c[0] == '.')
      continue;
    if (l == 2 && c[0] == '.' && c[1] == '.') {
      if (n > 0) {
        o = starts[--n];
      } else if (root == '~') {
        memcpy(out, "/home", 5); /* ~/.. is taken as /home */
        o = 5;
        starts[0] = 1;
        n = 1;
        root = '/';
      } else if (root == 0) {
        if (o > 0)
          out[o++] = '/';
        out[o++] = '.';
        out[o++] = '.';
      }
      continue;
    }
    if (o + l + 2 >= sizeof(out) || n >= AL_ARRAY_SIZE(starts))
      return NULL;
    starts[n++] = (uint16_t)o;
    if (o > 0 && out[o - 1] != '/')
      out[o++] = '/';
    memcpy(out + o, c, l);
    o += l;
  }
  if (o == 0)
    out[o++] = '.';
  if (o >= PATH_MAX)
    return NULL;
  return arena_strndup(sh, out, o);
}

/* --- parser state ---------------------------------------------------------- */

/* variables set earlier in the string (X=rm; $X ...), shared by every level */
typedef struct {
  const char *name;
  const char *value; /* NULL: set, but to something unknown */
} var;

typedef struct {
  var v[MAX_VARS];
  size_t n;
} vartab;

enum { ORIGIN_NONE, ORIGIN_CMD, ORIGIN_PROC_IN, ORIGIN_PROC_OUT };

/* field flags */
enum { F_DYNAMIC = 1u << 0, F_UNRESOLVED = 1u << 1 };

typedef enum {
  T_EOF,
  T_WORD,
  T_NEWLINE,
  T_SEMI,
  T_DSEMI,
  T_AMP,
  T_AND,
  T_OR,
  T_PIPE,
  T_PIPE_AMP,
  T_LPAREN,
  T_RPAREN,
  T_REDIR,
} tok_type;

typedef struct {
  tok_type type;
  size_t start;    /* offset of the token */
  size_t seg_mark; /* segment count before the token was read */
  /* T_WORD: the fields after expansion and splitting */
  char **fields;
  unsigned *fflags;
  size_t nfields;
  bool plain;      /* no quoting, escaping or expansion at all */
  bool quoted;     /* some quoting */
  const char *text; /* quote-removed text of the whole word (fields joined) */
  /* T_REDIR */
  al_redir_kind rkind;
  int fd;
  bool strip_tabs;
} token;

/* a simple command being collected */
typedef struct builder {
  char **words;
  unsigned *wflags;
  size_t nwords, capwords;
  char **assigns;
  unsigned *aflags;
  size_t nassigns, capassigns;
  al_redir *redirs;
  size_t nredirs, capredirs;
} builder;

typedef struct {
  builder *b;    /* while the command is collected */
  int seg;       /* once it is pushed */
  size_t redir;
  const char *delim;
  bool strip_tabs;
} heredoc_pending;

typedef struct parser {
  const char *s;
  size_t len;
  size_t pos;
  al_shell *sh;
  vartab *vars;
  int depth;
  unsigned inherit;       /* AL_SEG_* given to every segment made now */
  int origin;             /* ORIGIN_* of the innermost substitution being read */
  int default_parent;     /* parent of segments made at this string's top level */
  const char *function;   /* body being read */
  int case_depth;
  heredoc_pending pending[32];
  size_t npending;
  token tok;
  bool have_tok;
  bool fatal;             /* the error is a limit or memory failure, not syntax */
  bool in_array;          /* reading NAME=( ... ) */
  airlock_error **err;
} parser;

static int fail_syntax(parser *p, size_t at, const char *what) {
  return al_err(p->err, 0, "shell syntax: %s at offset %zu", what, at);
}

static int fail_fatal(parser *p, const char *msg) {
  p->fatal = true;
  return al_err(p->err, 0, "shell parse: %s", msg);
}

static int fail_nomem(parser *p) {
  p->fatal = true;
  return al_err(p->err, 0, "shell parse: out of memory or more than %u bytes of expanded text",
                (unsigned)ARENA_LIMIT);
}

static char *pdup(parser *p, const char *s, size_t n) { return arena_strndup(p->sh, s, n); }

/* --- variables ----------------------------------------------------------- */

static var *var_find(vartab *t, const char *name, size_t n) {
  for (size_t i = t->n; i-- > 0;)
    if (strlen(t->v[i].name) == n && memcmp(t->v[i].name, name, n) == 0)
      return &t->v[i];
  return NULL;
}

/* value NULL: unknown from now on */
static int var_set(parser *p, const char *name, size_t n, const char *value) {
  var *v = var_find(p->vars, name, n);
  if (v == NULL) {
    if (p->vars->n >= MAX_VARS)
      return 0; /* untracked: reads as unknown */
    v = &p->vars->v[p->vars->n];
    v->name = pdup(p, name, n);
    if (v->name == NULL)
      return fail_nomem(p);
    p->vars->n++;
  }
  if (value && strlen(value) > MAX_STATIC_OUTPUT)
    value = NULL;
  v->value = value;
  return 0;
}

static void var_unset(parser *p, const char *name) {
  var *v = var_find(p->vars, name, strlen(name));
  if (v)
    v->value = NULL;
}

/* 1 known (*value set), 0 unknown */
static int var_get(parser *p, const char *name, size_t n, const char **value) {
  var *v = var_find(p->vars, name, n);
  if (v == NULL || v->value == NULL)
    return 0;
  *value = v->value;
  return 1;
}

/* --- escapes (echo -e, printf, $'...') ----------------------------------- */

/* Decode one escape at s (just after the backslash) into out; returns the
 * number of bytes consumed, 0 for \c (stop output).  octal_zero: echo's \0NNN
 * form, otherwise \NNN. */
static size_t decode_escape(const char *s, strbuf *out, bool octal_zero, bool *ok) {
  char c = s[0];
  static const char from[] = "abefnrtv\\'\"?E";
  static const char to[] = "\a\b\033\f\n\r\t\v\\'\"?\033";
  const char *f = c ? strchr(from, c) : NULL;
  if (f) {
    *ok &= sb_putc(out, to[f - from]);
    return 1;
  }
  if (c == 'c')
    return 0;
  if (c == 'x') {
    unsigned v = 0;
    size_t i = 1;
    while (i <= 2 && isxdigit((unsigned char)s[i])) {
      v = v * 16 + (unsigned)(isdigit((unsigned char)s[i]) ? s[i] - '0' : (tolower((unsigned char)s[i]) - 'a' + 10));
      i++;
    }
    if (i == 1) {
      *ok &= sb_putn(out, "\\x", 2);
      return 1;
    }
    if (v != 0)
      *ok &= sb_putc(out, (char)v);
    return i;
  }
  if (c >= '0' && c <= '7') {
    size_t i = 0, max = 3;
    if (octal_zero && c == '0') {
      i = 1;
      max = 4;
    }
    unsigned v = 0;
    while (i < max && s[i] >= '0' && s[i] <= '7') {
      v = v * 8 + (unsigned)(s[i] - '0');
      i++;
    }
    if (i == 0)
      i = 1;
    if ((v & 0xff) != 0)
      *ok &= sb_putc(out, (char)(v & 0xff));
    return i;
  }
  if (c == '\0') {
    *ok &= sb_putc(out, '\\');
    return 0;
  }
  *ok &= sb_putc(out, '\\');
  *ok &= sb_putc(out, c);
  return 1;
}

/* --- forward declarations -------------------------------------------------- */

typedef struct {
  int in;   /* segment that reads the construct's stdin, or -1 */
  int out;  /* segment that writes its stdout, or -1 */
  bool consumed;
} cmdres;

static token *peek(parser *p);
static void consume(parser *p) { p->have_tok = false; }
static int parse_list(parser *p, const char *stop, cmdres *res);
static int parse_command(parser *p, cmdres *res);
static const char *static_output(parser *p, size_t mark);
static int parse_string(parser *p, const char *code, size_t len, int parent, unsigned extra, int origin,
                        bool recover);

/* --- words ------------------------------------------------------------------ */

typedef struct {
  strbuf cur;
  bool started;       /* the current field exists, even if empty ("") */
  bool plain_field;   /* the current field is unquoted literal text only */
  unsigned flags;     /* F_* of the current field */
  char **fields;
  unsigned *fflags;
  size_t n, cap;
  bool plain;         /* the whole word so far */
  bool quoted;
  bool no_split;      /* NAME=... words are not field-split */
} wordst;

static void ws_init(wordst *w) {
  memset(w, 0, sizeof(*w));
  sb_init(&w->cur);
  w->plain = true;
  w->plain_field = true;
}

static void ws_free(wordst *w) {
  sb_free(&w->cur);
  free(w->fields);
  free(w->fflags);
}

static int ws_push(parser *p, wordst *w, const char *s, size_t n, unsigned flags) {
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 4;
    if (cap > AL_SHELL_MAX_INPUT)
      return fail_nomem(p);
    char **f = realloc(w->fields, cap * sizeof(*f));
    if (f == NULL)
      return fail_nomem(p);
    w->fields = f;
    unsigned *ff = realloc(w->fflags, cap * sizeof(*ff));
    if (ff == NULL)
      return fail_nomem(p);
    w->fflags = ff;
    w->cap = cap;
  }
  char *d = pdup(p, s, n);
  if (d == NULL)
    return fail_nomem(p);
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
      sb_init(&b);
      bool ok = sb_putn(&b, s, open) && sb_putn(&b, s + start, i - start) && sb_putn(&b, s + close + 1, n - close - 1);
      int r = ok ? brace_expand(p, w, b.buf, b.len, left, level + 1) : fail_nomem(p);
      sb_free(&b);
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
    if (w->plain_field && w->flags == 0 && memchr(w->cur.buf, '{', w->cur.len) && memchr(w->cur.buf, ',', w->cur.len))
    {
      int left = MAX_BRACE_FIELDS;
      r = brace_expand(p, w, w->cur.buf, w->cur.len, &left, 0);
    }
    else
      r = ws_push(p, w, w->cur.buf, w->cur.len, w->flags);
  }
  w->cur.len = 0;
  w->started = false;
  w->plain_field = true;
  w->flags = 0;
  return r;
}

static int ws_char(parser *p, wordst *w, char c, bool literal_unquoted) {
  if (!sb_putc(&w->cur, c))
    return fail_nomem(p);
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
  if (w->n == 0 && assignment_prefix(w->cur.buf) > 0)
    w->no_split = true;
  if (value == NULL) {
    if (!sb_putn(&w->cur, raw, rawlen))
      return fail_nomem(p);
    w->started = true;
    w->flags |= F_DYNAMIC | F_UNRESOLVED;
    return 0;
  }
  w->flags |= F_DYNAMIC;
  if (quoted || w->no_split) {
    if (!sb_putn(&w->cur, value, strlen(value)))
      return fail_nomem(p);
    w->started = true;
    return 0;
  }
  for (const char *v = value; *v; v++) {
    if (is_ifs((unsigned char)*v)) {
      if (w->started || w->cur.len > 0) {
        if (ws_finish(p, w) < 0)
          return -1;
        w->plain_field = false;
        w->flags = F_DYNAMIC;
      }
    } else {
      if (!sb_putc(&w->cur, *v))
        return fail_nomem(p);
      w->started = true;
    }
  }
  return 0;
}

/* skip $(( ... )) or (( ... )): pos at the first '(' still to count */
static int skip_arith(parser *p, int depth, size_t at) {
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
  return fail_syntax(p, at, "unterminated arithmetic (( ))");
}

static int read_dquote(parser *p, wordst *w);

/* parse a command or process substitution body in place, up to ')' */
static int read_substitution(parser *p, int origin, size_t at) {
  if (p->depth + 1 > AL_SHELL_MAX_DEPTH)
    return fail_fatal(p, "nesting deeper than " AL_STR(AL_SHELL_MAX_DEPTH) " levels");
  unsigned saved_inherit = p->inherit;
  int saved_origin = p->origin, saved_case = p->case_depth;
  p->inherit |= AL_SEG_IN_SUBSTITUTION;
  p->origin = origin;
  p->case_depth = 0;
  p->depth++;
  cmdres r;
  int rc = parse_list(p, NULL, &r);
  if (rc == 0) {
    token *t = peek(p);
    if (t == NULL)
      rc = -1;
    else if (t->type != T_RPAREN)
      rc = fail_syntax(p, at, origin == ORIGIN_CMD ? "unterminated $( )" : "unterminated process substitution");
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
  const char *value = static_output(p, mark);
  if (p->fatal)
    return -1;
  return ws_expansion(p, w, value, p->s + start, p->pos - start, quoted);
}

static int read_backtick(parser *p, wordst *w, bool quoted) {
  size_t start = p->pos++;
  strbuf code;
  sb_init(&code);
  for (;;) {
    if (p->pos >= p->len) {
      sb_free(&code);
      return fail_syntax(p, start, "unterminated backquote");
    }
    char c = p->s[p->pos];
    if (c == '`') {
      p->pos++;
      break;
    }
    bool ok;
    if (c == '\\' && p->pos + 1 < p->len && strchr("$`\\", p->s[p->pos + 1])) {
      ok = sb_putc(&code, p->s[p->pos + 1]);
      p->pos += 2;
    } else {
      ok = sb_putc(&code, c);
      p->pos++;
    }
    if (!ok) {
      sb_free(&code);
      return fail_nomem(p);
    }
  }
  size_t mark = p->sh->n;
  char *body = pdup(p, code.buf, code.len);
  sb_free(&code);
  if (body == NULL)
    return fail_nomem(p);
  if (parse_string(p, body, strlen(body), PENDING_PARENT, p->inherit | AL_SEG_IN_SUBSTITUTION, ORIGIN_CMD, false) < 0)
    return -1;
  const char *value = static_output(p, mark);
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
  if (!sb_putn(&w->cur, "/dev/fd/63", 10))
    return fail_nomem(p);
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
  bool known = var_get(p, c, i, &val);
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
    return pdup(p, op + skip, rest - skip);
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
    return pdup(p, word, wl);
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
    return pdup(p, val + off, len);
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
    sb_init(&b);
    bool ok = true, done = false;
    for (const char *v = val; *v;) {
      if (!done && strncmp(v, pat, pl) == 0) {
        ok &= sb_putn(&b, rep, rl);
        v += pl;
        done = !all;
      } else {
        ok &= sb_putc(&b, *v++);
      }
    }
    const char *res = ok ? pdup(p, b.buf ? b.buf : "", b.len) : NULL;
    sb_free(&b);
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
    return fail_syntax(p, start, "unterminated ${ }");
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
        return fail_syntax(p, start, "unterminated $'...'");
      char c = p->s[p->pos];
      if (c == '\'') {
        p->pos++;
        break;
      }
      if (c == '\\' && p->pos + 1 < p->len) {
        if (p->s[p->pos + 1] == 'c' && p->pos + 2 < p->len) {
          if (!stopped && (p->s[p->pos + 2] & 0x1f))
            ok &= sb_putc(&w->cur, (char)(p->s[p->pos + 2] & 0x1f));
          p->pos += 3;
          continue;
        }
        strbuf tmp;
        sb_init(&tmp);
        size_t used = decode_escape(p->s + p->pos + 1, &tmp, false, &ok);
        if (!stopped)
          ok &= sb_putn(&w->cur, tmp.buf, tmp.len);
        sb_free(&tmp);
        p->pos += 1 + (used ? used : 1);
        continue;
      }
      if (!stopped)
        ok &= sb_putc(&w->cur, c);
      p->pos++;
    }
    return ok ? 0 : fail_nomem(p);
  }
  if (n1 == '"' && !quoted) { /* $"..." */
    p->pos++;
    return read_dquote(p, w);
  }
  if (n1 == '(' && n2 == '(') {
    p->pos++;
    if (skip_arith(p, 0, start) < 0)
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
    if (!var_get(p, p->s + p->pos + 1, i - p->pos - 1, &value))
      value = NULL;
    p->pos = i;
    return ws_expansion(p, w, value, p->s + start, i - start, quoted);
  }
  if (n1 != '\0' && (isdigit((unsigned char)n1) || strchr("@*#?$!-", n1))) {
    p->pos += 2;
    return ws_expansion(p, w, NULL, p->s + start, 2, quoted);
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
      return fail_syntax(p, start, "unterminated double quote");
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

static int read_word(parser *p, token *t);

/* NAME=( a b c ): elements read as words and dropped; the value is unknown */
static int read_array(parser *p, wordst *w) {
  size_t start = p->pos++;
  for (;;) {
    while (p->pos < p->len && (is_ifs((unsigned char)p->s[p->pos])))
      p->pos++;
    if (p->pos >= p->len)
      return fail_syntax(p, start, "unterminated array assignment");
    char c = p->s[p->pos];
    if (c == ')') {
      p->pos++;
      break;
    }
    if (is_meta((unsigned char)c))
      return fail_syntax(p, p->pos, "unexpected operator in array assignment");
    token tmp;
    if (read_word(p, &tmp) < 0)
      return -1;
  }
  return ws_expansion(p, w, NULL, p->s + start, p->pos - start, false);
}

/* One word at p->pos: quotes removed, expansions done as far as known. */
static int read_word(parser *p, token *t) {
  wordst w;
  ws_init(&w);
  int r = 0;
  t->type = T_WORD;
  t->start = p->pos;
  if (p->pos + 1 < p->len && (p->s[p->pos] == '<' || p->s[p->pos] == '>') && p->s[p->pos + 1] == '(')
    r = read_procsub(p, &w);
  while (r == 0 && p->pos < p->len) {
    char c = p->s[p->pos];
    if (is_meta((unsigned char)c)) {
      /* NAME=( ... ) */
      if (c == '(' && !p->in_array && w.n == 0 && w.plain && w.cur.len > 0 &&
          assignment_prefix(w.cur.buf) == w.cur.len) {
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
        r = fail_syntax(p, p->pos, "unterminated single quote");
        break;
      }
      size_t n = (size_t)(q - (p->s + p->pos + 1));
      w.quoted = true;
      w.plain = w.plain_field = false;
      w.started = true;
      if (!sb_putn(&w.cur, p->s + p->pos + 1, n))
        r = fail_nomem(p);
      p->pos += n + 2;
      break;
    }
    case '"':
      r = read_dquote(p, &w);
      break;
    case '$':
      r = read_dollar(p, &w, false);
      break;
    case '`':
      r = read_backtick(p, &w, false);
      break;
    default:
      r = ws_char(p, &w, c, true);
      p->pos++;
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
    sb_init(&joined);
    bool ok = t->fields && t->fflags;
    for (size_t i = 0; ok && i < w.n; i++) {
      t->fields[i] = w.fields[i];
      t->fflags[i] = w.fflags[i];
      ok = (i == 0 || sb_putc(&joined, ' ')) && sb_putn(&joined, w.fields[i], strlen(w.fields[i]));
    }
    if (ok) {
      t->fields[w.n] = NULL;
      t->text = pdup(p, joined.len ? joined.buf : "", joined.len);
      ok = t->text != NULL;
    }
    sb_free(&joined);
    if (!ok)
      r = fail_nomem(p);
  }
  ws_free(&w);
  return r;
}

/* --- here-documents ------------------------------------------------------- */

static bool stdin_shell(const al_segment *s);
static int parse_code(parser *p, int k, const char *code, unsigned extra);

/* After a newline token: the bodies of the here-docs opened on that line. */
static int read_heredocs(parser *p) {
  size_t npending = p->npending;
  p->npending = 0;
  for (size_t i = 0; i < npending; i++) {
    heredoc_pending *h = &p->pending[i];
    size_t body_start = p->pos, body_end = p->pos;
    size_t dl = strlen(h->delim);
    while (p->pos < p->len) {
      size_t ls = p->pos;
      const char *nl = memchr(p->s + ls, '\n', p->len - ls);
      size_t le = nl ? (size_t)(nl - p->s) : p->len;
      size_t cs = ls;
      if (h->strip_tabs)
        while (cs < le && p->s[cs] == '\t')
          cs++;
      p->pos = nl ? le + 1 : le;
      if (le - cs == dl && memcmp(p->s + cs, h->delim, dl) == 0) {
        body_end = ls;
        goto found;
      }
    }
    body_end = p->len;
  found:;
    char *body = pdup(p, p->s + body_start, body_end - body_start);
    if (body == NULL)
      return fail_nomem(p);
    if (h->b) {
      h->b->redirs[h->redir].body = body;
    } else if (h->seg >= 0 && (size_t)h->seg < p->sh->n) {
      al_segment *s = &p->sh->segs[h->seg];
      s->redirs[h->redir].body = body;
      if (stdin_shell(s) && parse_code(p, h->seg, body, 0) < 0)
        return -1;
    }
  }
  return 0;
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
    return read_heredocs(p);
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
      return read_word(p, t);
    return read_redir_op(p, t, -1);
  default:
    break;
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
  return read_word(p, t);
}

static token *peek(parser *p) {
  if (!p->have_tok) {
    token t;
    if (next_token(p, &t) < 0)
      return NULL;
    p->tok = t;
    p->have_tok = true;
  }
  return &p->tok;
}

static bool tok_is_word(const token *t, const char *w) {
  return t->type == T_WORD && t->plain && t->nfields == 1 && strcmp(t->fields[0], w) == 0;
}

/* --- building a segment ------------------------------------------------------ */

static void builder_free(parser *p, builder *b) {
  /* here-docs still waiting for a body must not point at a dead builder */
  for (size_t i = 0; i < p->npending; i++)
    if (p->pending[i].b == b) {
      p->pending[i].b = NULL;
      p->pending[i].seg = -1;
    }
  free(b->words);
  free(b->wflags);
  free(b->assigns);
  free(b->aflags);
  free(b->redirs);
  memset(b, 0, sizeof(*b));
}

static bool grow(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return true;
  size_t c = *cap ? *cap * 2 : 8;
  while (c < need)
    c *= 2;
  void *n = realloc(*arr, c * elem);
  if (n == NULL)
    return false;
  *arr = n;
  *cap = c;
  return true;
}

static int builder_word(parser *p, builder *b, char *w, unsigned f) {
  if (b->nwords + 2 > b->capwords) {
    size_t c = b->capwords ? b->capwords * 2 : 8;
    char **nw = realloc(b->words, c * sizeof(*nw));
    if (nw == NULL)
      return fail_nomem(p);
    b->words = nw;
    unsigned *nf = realloc(b->wflags, c * sizeof(*nf));
    if (nf == NULL)
      return fail_nomem(p);
    b->wflags = nf;
    b->capwords = c;
  }
  b->words[b->nwords] = w;
  b->wflags[b->nwords] = f;
  b->nwords++;
  return 0;
}

static int builder_assign(parser *p, builder *b, char *w, unsigned f) {
  if (b->nassigns + 1 > b->capassigns) {
    size_t c = b->capassigns ? b->capassigns * 2 : 4;
    char **nw = realloc(b->assigns, c * sizeof(*nw));
    if (nw == NULL)
      return fail_nomem(p);
    b->assigns = nw;
    unsigned *nf = realloc(b->aflags, c * sizeof(*nf));
    if (nf == NULL)
      return fail_nomem(p);
    b->aflags = nf;
    b->capassigns = c;
  }
  b->assigns[b->nassigns] = w;
  b->aflags[b->nassigns] = f;
  b->nassigns++;
  return 0;
}

static int parse_redirect(parser *p, builder *b) {
  token r = p->tok;
  consume(p);
  token *t = peek(p);
  if (t == NULL)
    return -1;
  if (t->type != T_WORD || t->nfields == 0)
    return fail_syntax(p, r.start, "redirection without a target");
  if (!grow((void **)&b->redirs, &b->capredirs, b->nredirs + 1, sizeof(al_redir)))
    return fail_nomem(p);
  al_redir *d = &b->redirs[b->nredirs];
  memset(d, 0, sizeof(*d));
  d->kind = r.rkind;
  d->fd = r.fd;
  d->target = t->text;
  for (size_t i = 0; i < t->nfields; i++)
    if (t->fflags[i] & F_UNRESOLVED)
      d->unresolved = true;
  /* >&word with a word that is not a descriptor: both streams to a file */
  if (d->kind == AL_REDIR_DUP_OUT && strcmp(d->target, "-") != 0 && strspn(d->target, "0123456789") != strlen(d->target)) {
    d->kind = AL_REDIR_OUT;
    if (d->fd == 1)
      d->fd = -1;
  }
  if (d->kind == AL_REDIR_HEREDOC) {
    if (p->npending >= AL_ARRAY_SIZE(p->pending))
      return fail_fatal(p, "more than 32 here-documents on one line");
    heredoc_pending *h = &p->pending[p->npending++];
    h->b = b;
    h->seg = -1;
    h->redir = b->nredirs;
    h->delim = t->text;
    h->strip_tabs = r.strip_tabs;
  }
  b->nredirs++;
  consume(p);
  return 0;
}

/* --- wrappers ---------------------------------------------------------------- */

enum { W_PLAIN, W_ENV, W_COMMAND };

typedef struct {
  const char *name;
  const char *short_values;        /* option letters that take a value */
  const char *const *long_values;  /* long options that take a value (when not given with =) */
  int operands;                    /* operands before the command: timeout DURATION */
  int kind;
} wrapper_def;

static const char *const env_long[] = {"--unset", "--chdir", NULL};
static const char *const sudo_long[] = {"--user", "--group", "--close-from", "--chdir", "--host", "--prompt",
                                        "--role", "--type", "--other-user", "--command-timeout", NULL};
static const char *const time_long[] = {"--format", "--output", NULL};
static const char *const nice_long[] = {"--adjustment", NULL};
static const char *const ionice_long[] = {"--class", "--classdata", "--pid", "--pgid", "--uid", NULL};
static const char *const timeout_long[] = {"--signal", "--kill-after", NULL};
static const char *const stdbuf_long[] = {"--input", "--output", "--error", NULL};
static const char *const chroot_long[] = {"--userspec", "--groups", NULL};
static const char *const xargs_long[] = {"--arg-file", "--eof", "--replace", "--max-lines", "--max-args",
                                         "--max-procs", "--max-chars", "--delimiter", "--process-slot-var", NULL};
static const char *const pkexec_long[] = {"--user", NULL};
static const char *const no_long[] = {NULL};

static const wrapper_def wrappers[] = {
    {"env", "uC", env_long, 0, W_ENV},
    {"sudo", "ugCDhpRrtTU", sudo_long, 0, W_PLAIN},
    {"doas", "uC", no_long, 0, W_PLAIN},
    {"pkexec", "", pkexec_long, 0, W_PLAIN},
    {"nohup", "", no_long, 0, W_PLAIN},
    {"setsid", "", no_long, 0, W_PLAIN},
    {"time", "fo", time_long, 0, W_PLAIN},
    {"nice", "n", nice_long, 0, W_PLAIN},
    {"ionice", "cnpPu", ionice_long, 0, W_PLAIN},
    {"chrt", "", no_long, 1, W_PLAIN},
    {"taskset", "", no_long, 1, W_PLAIN},
    {"timeout", "sk", timeout_long, 1, W_PLAIN},
    {"stdbuf", "ioe", stdbuf_long, 0, W_PLAIN},
    {"chroot", "", chroot_long, 1, W_PLAIN},
    {"xargs", "aEILnPsd", xargs_long, 0, W_PLAIN},
    {"exec", "a", no_long, 0, W_PLAIN},
    {"command", "", no_long, 0, W_COMMAND},
    {"builtin", "", no_long, 0, W_PLAIN},
    {"busybox", "", no_long, 0, W_PLAIN},
    {"sshpass", "pfdP", no_long, 0, W_PLAIN},
    {"unbuffer", "", no_long, 0, W_PLAIN},
    {"fakeroot", "lsi", no_long, 0, W_PLAIN},
    {"eatmydata", "", no_long, 0, W_PLAIN},
    {"torsocks", "uapP", no_long, 0, W_PLAIN},
    {"proxychains", "f", no_long, 0, W_PLAIN},
    {"proxychains4", "f", no_long, 0, W_PLAIN},
    {"strace", "abeEIoOpPsSuUX", no_long, 0, W_PLAIN},
    {"ltrace", "aAeDlnopsuw", no_long, 0, W_PLAIN},
};

static const wrapper_def *find_wrapper(const char *name) {
  for (size_t i = 0; i < AL_ARRAY_SIZE(wrappers); i++)
    if (strcmp(wrappers[i].name, name) == 0)
      return &wrappers[i];
  return NULL;
}

/* Where the wrapped command starts in words[at..n), or 0 when words[at] is
 * not acting as a wrapper here (no command follows, command -v, env -S).
 * env's NAME=value words are reported through *env_from / *env_to. */
static size_t skip_wrapper(const wrapper_def *w, char **words, size_t at, size_t n, size_t *env_from, size_t *env_to) {
  size_t j = at + 1;
  while (j < n) {
    const char *a = words[j];
    if (strcmp(a, "--") == 0) {
      j++;
      break;
    }
    if (a[0] != '-' || a[1] == '\0')
      break;
    if (w->kind == W_COMMAND && (strchr(a + 1, 'v') || strchr(a + 1, 'V')))
      return 0;
    if (w->kind == W_ENV && (strncmp(a, "-S", 2) == 0 || strncmp(a, "--split-string", 14) == 0))
      return 0;
    if (a[1] == '-') {
      j += (!strchr(a, '=') && in_list(a, w->long_values)) ? 2 : 1;
      continue;
    }
    size_t step = 1;
    for (size_t k = 1; a[k]; k++)
      if (strchr(w->short_values, a[k])) {
        step = a[k + 1] ? 1 : 2;
        break;
      }
    j += step;
  }
  *env_from = *env_to = j;
  if (w->kind == W_ENV) {
    while (j < n && assignment_prefix(words[j]) > 0)
      j++;
    *env_to = j;
  }
  j += (size_t)w->operands;
  if (j >= n)
    return 0;
  return j;
}

/* --- segments ------------------------------------------------------------------ */

typedef struct {
  char **words;
  unsigned *wflags;
  size_t nwords;
  char **assigns;
  unsigned *aflags;
  size_t nassigns;
  al_redir *redirs;
  size_t nredirs;
} cmdparts;

static int handle_code(parser *p, int k, char **argv, unsigned *aflags, size_t argc);

static int push_segment(parser *p, al_segment *seg, size_t first, builder *b, int parent, int depth) {
  al_shell *sh = p->sh;
  if (sh->n >= AL_SHELL_MAX_SEGMENTS)
    return fail_fatal(p, "more than " AL_STR(AL_SHELL_MAX_SEGMENTS) " segments");
  if (sh->n == sh->cap) {
    size_t cap = sh->cap ? sh->cap * 2 : 16;
    al_segment *n = realloc(sh->segs, cap * sizeof(*n));
    if (n == NULL)
      return fail_nomem(p);
    sh->segs = n;
    sh->cap = cap;
  }
  seg->depth = depth;
  seg->flags |= p->inherit;
  if (p->origin == ORIGIN_CMD || p->origin == ORIGIN_PROC_IN)
    seg->flags |= AL_SEG_FEEDS_PARENT;
  else if (p->origin == ORIGIN_PROC_OUT)
    seg->flags |= AL_SEG_FED_BY_PARENT;
  if (parent == PENDING_PARENT)
    parent = p->origin != ORIGIN_NONE ? PENDING_PARENT : p->default_parent;
  seg->parent = parent;
  seg->pipe_from = seg->pipe_to = -1;
  seg->function = p->function;
  int k = (int)sh->n;
  sh->segs[sh->n++] = *seg;
  for (size_t i = first; i < (size_t)k; i++)
    if (sh->segs[i].parent == PENDING_PARENT)
      sh->segs[i].parent = k;
  if (b)
    for (size_t i = 0; i < p->npending; i++)
      if (p->pending[i].b == b) {
        p->pending[i].b = NULL;
        p->pending[i].seg = k;
      }
  return k;
}

static const char *value_after_eq(const char *assign, unsigned f) {
  if (f & F_UNRESOLVED)
    return NULL;
  return assign + assignment_prefix(assign);
}

static int assign_var(parser *p, const char *a, unsigned f) {
  size_t pre = assignment_prefix(a);
  if (pre == 0)
    return 0;
  bool append = a[pre - 2] == '+';
  size_t nl = pre - (append ? 2 : 1);
  const char *v = value_after_eq(a, f);
  if (append && v) {
    const char *old = NULL;
    if (!var_get(p, a, nl, &old))
      v = NULL;
    else {
      size_t ol = strlen(old), vl = strlen(v);
      char *c = al_shell_alloc(p->sh, ol + vl + 1);
      if (c == NULL)
        return fail_nomem(p);
      memcpy(c, old, ol);
      memcpy(c + ol, v, vl + 1);
      v = c;
    }
  }
  return var_set(p, a, nl, v);
}

/* Variables the command changes for what follows: export X=1, unset X, read X. */
static int track_vars(parser *p, char **argv, unsigned *f, size_t argc) {
  if (argc == 0)
    return 0;
  static const char *const decl[] = {"export", "declare", "typeset", "local", "readonly", NULL};
  const char *name = argv[0];
  if (in_list(name, decl)) {
    for (size_t i = 1; i < argc; i++)
      if (assignment_prefix(argv[i]) && assign_var(p, argv[i], f[i]) < 0)
        return -1;
  } else if (strcmp(name, "unset") == 0 || strcmp(name, "read") == 0 || strcmp(name, "mapfile") == 0) {
    for (size_t i = 1; i < argc; i++)
      if (argv[i][0] != '-')
        var_unset(p, argv[i]);
  }
  return 0;
}

static int finish_command(parser *p, builder *b, cmdparts *c, size_t first, int parent, int depth, unsigned extra) {
  al_segment seg;
  memset(&seg, 0, sizeof(seg));
  seg.flags = extra;
  if (c->nwords == 0)
    for (size_t i = 0; i < c->nassigns; i++)
      if (assign_var(p, c->assigns[i], c->aflags[i]) < 0)
        return -1;
  /* look through wrappers */
  size_t start = 0, nwrap = 0;
  size_t env_from[16], env_to[16];
  const char *wrapnames[16];
  while (start < c->nwords && nwrap < AL_ARRAY_SIZE(wrapnames)) {
    if (c->wflags[start] & F_UNRESOLVED)
      break;
    const wrapper_def *w = find_wrapper(base_name(c->words[start]));
    if (w == NULL)
      break;
    size_t next = skip_wrapper(w, c->words, start, c->nwords, &env_from[nwrap], &env_to[nwrap]);
    if (next == 0)
      break;
    wrapnames[nwrap++] = w->name;
    start = next;
  }
  size_t argc = c->nwords - start;
  seg.argv = al_shell_alloc(p->sh, (argc + 1) * sizeof(char *));
  unsigned *af = al_shell_alloc(p->sh, (argc + 1) * sizeof(unsigned));
  size_t nenv = 0;
  for (size_t i = 0; i < nwrap; i++)
    nenv += env_to[i] - env_from[i];
  seg.assigns = al_shell_alloc(p->sh, (c->nassigns + nenv + 1) * sizeof(char *));
  seg.wrappers = al_shell_alloc(p->sh, (nwrap + 1) * sizeof(char *));
  seg.redirs = al_shell_alloc(p->sh, (c->nredirs + 1) * sizeof(al_redir));
  if (!seg.argv || !af || !seg.assigns || !seg.wrappers || !seg.redirs)
    return fail_nomem(p);
  for (size_t i = 0; i < argc; i++) {
    seg.argv[i] = c->words[start + i];
    af[i] = c->wflags[start + i];
    if (i > 0 && (af[i] & F_UNRESOLVED))
      seg.flags |= AL_SEG_UNRESOLVED_ARGS;
  }
  seg.argv[argc] = NULL;
  seg.argc = argc;
  for (size_t i = 0; i < c->nassigns; i++)
    seg.assigns[seg.n_assigns++] = c->assigns[i];
  for (size_t i = 0; i < nwrap; i++)
    for (size_t j = env_from[i]; j < env_to[i]; j++)
      seg.assigns[seg.n_assigns++] = c->words[j];
  seg.assigns[seg.n_assigns] = NULL;
  for (size_t i = 0; i < nwrap; i++)
    seg.wrappers[i] = (char *)wrapnames[i];
  seg.wrappers[nwrap] = NULL;
  seg.n_wrappers = nwrap;
  if (c->nredirs)
    memcpy(seg.redirs, c->redirs, c->nredirs * sizeof(al_redir));
  seg.n_redirs = c->nredirs;
  if (argc > 0) {
    if (af[0] & F_DYNAMIC)
      seg.flags |= AL_SEG_DYNAMIC_COMMAND;
    if (af[0] & F_UNRESOLVED)
      seg.flags |= AL_SEG_UNRESOLVED_COMMAND;
    if (strchr(seg.argv[0], '/') && !(af[0] & F_UNRESOLVED)) {
      const char *norm = al_shell_normalise_path(p->sh, seg.argv[0], NULL);
      /* a relative path stays one (./run.sh is not run.sh from $PATH) */
      if (norm && !strchr(norm, '/')) {
        size_t l = strlen(norm);
        char *rel = al_shell_alloc(p->sh, l + 3);
        if (rel == NULL)
          return fail_nomem(p);
        memcpy(rel, "./", 2);
        memcpy(rel + 2, norm, l + 1);
        norm = rel;
      }
      if (norm)
        seg.argv[0] = (char *)norm;
    }
    seg.name = base_name(seg.argv[0]);
  } else {
    seg.name = "";
  }
  if (track_vars(p, seg.argv, af, argc) < 0)
    return -1;
  int k = push_segment(p, &seg, first, b, parent, depth);
  if (k < 0)
    return -1;
  if (argc > 0 && !(af[0] & F_UNRESOLVED) && handle_code(p, k, seg.argv, af, argc) < 0)
    return -1;
  return k;
}

/* --- code held by a command: sh -c, eval, su -c, ssh HOST CMD, find -exec ------ */

/* Parse code as nested segments of segment k.  A syntax error inside only
 * marks k AL_SEG_CODE_OPAQUE; limits still fail the whole parse. */
static int parse_code(parser *p, int k, const char *code, unsigned extra) {
  int r = parse_string(p, code, strlen(code), k, extra, ORIGIN_NONE, true);
  if (r < 0)
    return -1;
  p->sh->segs[k].flags |= r == 0 ? AL_SEG_CODE_PARSED : AL_SEG_CODE_OPAQUE;
  return 0;
}

static int code_arg(parser *p, int k, const char *code, unsigned f, unsigned extra) {
  if (f & F_UNRESOLVED) {
    p->sh->segs[k].flags |= AL_SEG_CODE_OPAQUE;
    return 0;
  }
  return parse_code(p, k, code, extra);
}

/* argv[from..argc) joined with spaces, as eval and ssh do */
static int code_join(parser *p, int k, char **argv, unsigned *f, size_t from, size_t argc, unsigned extra) {
  if (from >= argc)
    return 0;
  strbuf b;
  sb_init(&b);
  bool ok = true;
  unsigned any = 0;
  for (size_t i = from; i < argc; i++) {
    any |= f[i];
    ok &= (i == from || sb_putc(&b, ' ')) && sb_putn(&b, argv[i], strlen(argv[i]));
  }
  char *code = ok ? pdup(p, b.len ? b.buf : "", b.len) : NULL;
  sb_free(&b);
  if (code == NULL)
    return fail_nomem(p);
  return code_arg(p, k, code, any, extra);
}

/* the options of sh/bash: index of the first operand, whether -c and -s were given */
static size_t shell_operands(char *const *argv, size_t argc, bool *c, bool *s) {
  size_t i = 1;
  *c = *s = false;
  while (i < argc) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0 || strcmp(a, "-") == 0) {
      i++;
      break;
    }
    if ((a[0] != '-' && a[0] != '+') || a[1] == '\0')
      break;
    if (a[0] == '-' && a[1] == '-') {
      i += (strcmp(a, "--rcfile") == 0 || strcmp(a, "--init-file") == 0) ? 2 : 1;
      continue;
    }
    bool value = false;
    for (size_t k = 1; a[k]; k++) {
      if (a[k] == 'c')
        *c = true;
      else if (a[k] == 's')
        *s = true;
      else if (a[k] == 'o' || a[k] == 'O')
        value = true;
    }
    i += value ? 2 : 1;
  }
  return i;
}

/* a shell reading its commands from stdin (bash, bash -s, sh -) */
static bool stdin_shell(const al_segment *s) {
  if (s->argc == 0 || !al_shell_is_shell(s->name))
    return false;
  bool c, sflag;
  size_t op = shell_operands(s->argv, s->argc, &c, &sflag);
  return !c && (sflag || op >= s->argc);
}

static int push_argv_segment(parser *p, char **words, unsigned *f, size_t n, int parent, unsigned extra);

static int handle_code(parser *p, int k, char **argv, unsigned *f, size_t argc) {
  const char *name = p->sh->segs[k].name;
  if (al_shell_is_shell(name)) {
    bool c, s;
    size_t op = shell_operands(argv, argc, &c, &s);
    if (c) {
      if (op < argc)
        return code_arg(p, k, argv[op], f[op], 0);
      return 0;
    }
    if (s || op >= argc) { /* code from stdin: here-strings and here-docs */
      size_t nr = p->sh->segs[k].n_redirs;
      for (size_t i = 0; i < nr; i++) {
        al_redir *r = &p->sh->segs[k].redirs[i];
        if (r->kind == AL_REDIR_HERESTRING) {
          if (code_arg(p, k, r->target, r->unresolved ? F_UNRESOLVED : 0, 0) < 0)
            return -1;
        } else if (r->kind == AL_REDIR_HEREDOC && r->body) {
          if (parse_code(p, k, r->body, 0) < 0)
            return -1;
        }
      }
    }
    return 0;
  }
  if (strcmp(name, "eval") == 0)
    return code_join(p, k, argv, f, 1, argc, 0);
  if (strcmp(name, "su") == 0 || strcmp(name, "runuser") == 0) {
    for (size_t i = 1; i < argc; i++) {
      const char *a = argv[i];
      if (strncmp(a, "--command=", 10) == 0)
        return code_arg(p, k, a + 10, f[i], 0);
      if ((strcmp(a, "--command") == 0 || strcmp(a, "-c") == 0) && i + 1 < argc)
        return code_arg(p, k, argv[i + 1], f[i + 1], 0);
      if (a[0] == '-' && a[1] != '-' && strchr(a, 'c')) {
        const char *c = strchr(a, 'c');
        if (c[1])
          return code_arg(p, k, c + 1, f[i], 0);
        if (i + 1 < argc)
          return code_arg(p, k, argv[i + 1], f[i + 1], 0);
      }
    }
    return 0;
  }
  if (strcmp(name, "env") == 0) {
    for (size_t i = 1; i < argc; i++) {
      const char *a = argv[i];
      if (strncmp(a, "--split-string=", 15) == 0)
        return code_arg(p, k, a + 15, f[i], 0);
      if (strcmp(a, "--split-string") == 0 || strcmp(a, "-S") == 0)
        return i + 1 < argc ? code_arg(p, k, argv[i + 1], f[i + 1], 0) : 0;
      if (strncmp(a, "-S", 2) == 0)
        return code_arg(p, k, a + 2, f[i], 0);
    }
    return 0;
  }
  if (strcmp(name, "ssh") == 0) {
    static const char ssh_values[] = "BbcDEeFIiJLlmOopQRSWw";
    size_t i = 1;
    while (i < argc && argv[i][0] == '-' && argv[i][1]) {
      if (strcmp(argv[i], "--") == 0) {
        i++;
        break;
      }
      size_t step = 1;
      for (size_t j = 1; argv[i][j]; j++)
        if (strchr(ssh_values, argv[i][j])) {
          step = argv[i][j + 1] ? 1 : 2;
          break;
        }
      i += step;
    }
    if (i + 1 < argc)
      return code_join(p, k, argv, f, i + 1, argc, AL_SEG_REMOTE);
    return 0;
  }
  if (strcmp(name, "watch") == 0) {
    size_t i = 1;
    while (i < argc && argv[i][0] == '-') {
      bool value = strcmp(argv[i], "-n") == 0 || strcmp(argv[i], "--interval") == 0;
      i += value ? 2 : 1;
    }
    return code_join(p, k, argv, f, i, argc, 0);
  }
  if (strcmp(name, "find") == 0) {
    for (size_t i = 1; i < argc; i++) {
      if (strcmp(argv[i], "-exec") && strcmp(argv[i], "-execdir") && strcmp(argv[i], "-ok") &&
          strcmp(argv[i], "-okdir"))
        continue;
      size_t j = i + 1;
      while (j < argc && strcmp(argv[j], ";") && strcmp(argv[j], "+"))
        j++;
      if (j > i + 1 && push_argv_segment(p, argv + i + 1, f + i + 1, j - i - 1, k, AL_SEG_NESTED) < 0)
        return -1;
      p->sh->segs[k].flags |= AL_SEG_CODE_PARSED;
      i = j;
    }
  }
  return 0;
}

/* a segment made from words directly (find -exec, al_shell_parse_argv) */
static int push_argv_segment(parser *p, char **words, unsigned *f, size_t n, int parent, unsigned extra) {
  int depth = parent >= 0 ? p->sh->segs[parent].depth + 1 : p->depth;
  if (depth > AL_SHELL_MAX_DEPTH)
    return fail_fatal(p, "nesting deeper than " AL_STR(AL_SHELL_MAX_DEPTH) " levels");
  cmdparts c = {.words = words, .wflags = f, .nwords = n};
  if (parent >= 0)
    extra |= p->sh->segs[parent].flags & (AL_SEG_IN_SUBSTITUTION | AL_SEG_SUBSHELL | AL_SEG_REMOTE);
  int saved = p->depth, saved_origin = p->origin;
  unsigned saved_inherit = p->inherit;
  p->depth = depth;
  p->origin = ORIGIN_NONE;
  p->inherit = 0;
  int k = finish_command(p, NULL, &c, p->sh->n, parent, depth, extra);
  p->depth = saved;
  p->origin = saved_origin;
  p->inherit = saved_inherit;
  return k < 0 ? -1 : 0;
}

/* --- grammar ------------------------------------------------------------------ */

static int need_depth(parser *p) {
  if (p->depth + 1 > AL_SHELL_MAX_DEPTH)
    return fail_fatal(p, "nesting deeper than " AL_STR(AL_SHELL_MAX_DEPTH) " levels");
  return 0;
}

/* redirections after ) or } or done: kept as a segment without a command */
static int trailing_redirects(parser *p, cmdres *res) {
  token *t = peek(p);
  if (t == NULL)
    return -1;
  if (t->type != T_REDIR)
    return 0;
  builder b;
  memset(&b, 0, sizeof(b));
  size_t first = t->seg_mark;
  int r = 0;
  while (r == 0 && (t = peek(p)) != NULL && t->type == T_REDIR)
    r = parse_redirect(p, &b);
  if (t == NULL)
    r = -1;
  if (r == 0) {
    cmdparts c = {.redirs = b.redirs, .nredirs = b.nredirs};
    int k = finish_command(p, &b, &c, first, PENDING_PARENT, p->depth, 0);
    if (k < 0)
      r = -1;
    else if (res->out < 0)
      res->in = res->out = k;
  }
  builder_free(p, &b);
  return r;
}

static int parse_function_body(parser *p, const char *name, cmdres *res) {
  token *t;
  while ((t = peek(p)) != NULL && t->type == T_NEWLINE)
    consume(p);
  if (t == NULL)
    return -1;
  const char *saved = p->function;
  p->function = name;
  cmdres body;
  int r = parse_command(p, &body);
  p->function = saved;
  if (r < 0)
    return -1;
  if (!body.consumed)
    return fail_syntax(p, t->start, "function without a body");
  res->consumed = true;
  return 0;
}

static int parse_simple(parser *p, cmdres *res) {
  builder b;
  memset(&b, 0, sizeof(b));
  token *t = peek(p);
  size_t first = t ? t->seg_mark : p->sh->n;
  int r = 0;
  while (r == 0) {
    t = peek(p);
    if (t == NULL) {
      r = -1;
      break;
    }
    if (t->type == T_REDIR) {
      r = parse_redirect(p, &b);
      continue;
    }
    if (t->type != T_WORD)
      break;
    token w = *t;
    consume(p);
    res->consumed = true;
    if (b.nwords == 0 && w.nfields == 1 && assignment_prefix(p->s + w.start) > 0) {
      r = builder_assign(p, &b, w.fields[0], w.fflags[0]);
      continue;
    }
    for (size_t i = 0; r == 0 && i < w.nfields; i++)
      r = builder_word(p, &b, w.fields[i], w.fflags[i]);
    /* name ( ) body */
    if (r == 0 && b.nwords == 1 && b.nassigns == 0 && b.nredirs == 0 && w.plain) {
      t = peek(p);
      if (t == NULL) {
        r = -1;
        break;
      }
      if (t->type == T_LPAREN) {
        size_t at = t->start;
        consume(p);
        t = peek(p);
        if (t == NULL || t->type != T_RPAREN) {
          r = t ? fail_syntax(p, at, "expected ) in function definition") : -1;
          break;
        }
        consume(p);
        r = parse_function_body(p, w.fields[0], res);
        builder_free(p, &b);
        return r;
      }
    }
  }
  if (r == 0 && (b.nwords || b.nassigns || b.nredirs)) {
    res->consumed = true;
    cmdparts c = {b.words, b.wflags, b.nwords, b.assigns, b.aflags, b.nassigns, b.redirs, b.nredirs};
    int k = finish_command(p, &b, &c, first, PENDING_PARENT, p->depth, 0);
    if (k < 0)
      r = -1;
    else
      res->in = res->out = k;
  }
  builder_free(p, &b);
  return r;
}

static int parse_group(parser *p, cmdres *res, bool subshell) {
  size_t at = p->tok.start;
  consume(p);
  if (need_depth(p) < 0)
    return -1;
  unsigned saved = p->inherit;
  if (subshell)
    p->inherit |= AL_SEG_SUBSHELL;
  p->depth++;
  cmdres lr;
  int r = parse_list(p, subshell ? NULL : "}", &lr);
  p->depth--;
  p->inherit = saved;
  if (r < 0)
    return -1;
  token *t = peek(p);
  if (t == NULL)
    return -1;
  if (subshell ? t->type != T_RPAREN : !tok_is_word(t, "}"))
    return fail_syntax(p, at, subshell ? "unterminated ( )" : "unterminated { }");
  consume(p);
  res->in = lr.in;
  res->out = lr.out;
  res->consumed = true;
  return trailing_redirects(p, res);
}

static int parse_case(parser *p, cmdres *res) {
  size_t at = p->tok.start;
  consume(p);
  res->consumed = true;
  token *t = peek(p);
  if (t == NULL)
    return -1;
  if (t->type != T_WORD)
    return fail_syntax(p, at, "case without a word");
  consume(p);
  while ((t = peek(p)) != NULL && t->type == T_NEWLINE)
    consume(p);
  if (t == NULL)
    return -1;
  if (!tok_is_word(t, "in"))
    return fail_syntax(p, at, "case without in");
  consume(p);
  p->case_depth++;
  int r = 0;
  for (;;) {
    while ((t = peek(p)) != NULL && t->type == T_NEWLINE)
      consume(p);
    if (t == NULL) {
      r = -1;
      break;
    }
    if (tok_is_word(t, "esac")) {
      consume(p);
      break;
    }
    if (t->type == T_EOF) {
      r = fail_syntax(p, at, "unterminated case");
      break;
    }
    if (t->type == T_LPAREN)
      consume(p);
    /* patterns: word ( | word )* ) */
    for (;;) {
      t = peek(p);
      if (t == NULL || t->type != T_WORD) {
        r = t ? fail_syntax(p, t->start, "bad case pattern") : -1;
        break;
      }
      consume(p);
      t = peek(p);
      if (t == NULL) {
        r = -1;
        break;
      }
      if (t->type == T_PIPE) {
        consume(p);
        continue;
      }
      if (t->type == T_RPAREN) {
        consume(p);
        break;
      }
      r = fail_syntax(p, t->start, "bad case pattern");
      break;
    }
    if (r < 0)
      break;
    cmdres lr;
    if (parse_list(p, "esac", &lr) < 0) {
      r = -1;
      break;
    }
    t = peek(p);
    if (t == NULL) {
      r = -1;
      break;
    }
    if (t->type == T_DSEMI)
      consume(p);
    else if (!tok_is_word(t, "esac")) {
      r = fail_syntax(p, t->start, "unterminated case item");
      break;
    }
  }
  p->case_depth--;
  if (r < 0)
    return -1;
  return trailing_redirects(p, res);
}

static void skip_blanks(parser *p) {
  while (p->pos < p->len && is_blank((unsigned char)p->s[p->pos]))
    p->pos++;
}

/* for NAME [in WORDS]; -- the loop variable is known when there is one word */
static int parse_for(parser *p, cmdres *res) {
  size_t at = p->tok.start;
  consume(p);
  res->consumed = true;
  skip_blanks(p);
  if (p->pos + 1 < p->len && p->s[p->pos] == '(' && p->s[p->pos + 1] == '(')
    return skip_arith(p, 0, at);
  token *t = peek(p);
  if (t == NULL)
    return -1;
  if (t->type != T_WORD || t->nfields != 1)
    return fail_syntax(p, at, "for without a name");
  const char *name = t->fields[0];
  consume(p);
  t = peek(p);
  if (t == NULL)
    return -1;
  if (!tok_is_word(t, "in"))
    return 0;
  consume(p);
  const char *only = NULL;
  unsigned only_f = 0;
  size_t count = 0;
  while ((t = peek(p)) != NULL && t->type == T_WORD) {
    for (size_t i = 0; i < t->nfields; i++) {
      only = t->fields[i];
      only_f = t->fflags[i];
      count++;
    }
    consume(p);
  }
  if (t == NULL)
    return -1;
  if (is_name_start((unsigned char)name[0]) && var_set(p, name, strlen(name), count == 1 && !(only_f & F_UNRESOLVED) ? only : NULL) < 0)
    return -1;
  return 0;
}

/* [[ ... ]]: operators inside are words */
static int parse_cond(parser *p, cmdres *res) {
  size_t at = p->tok.start;
  size_t first = p->tok.seg_mark;
  consume(p);
  builder b;
  memset(&b, 0, sizeof(b));
  int r = builder_word(p, &b, "[[", 0);
  while (r == 0) {
    while (p->pos < p->len && (is_ifs((unsigned char)p->s[p->pos]) ||
                               (p->s[p->pos] == '\\' && p->pos + 1 < p->len && p->s[p->pos + 1] == '\n')))
      p->pos += p->s[p->pos] == '\\' ? 2 : 1;
    if (p->pos >= p->len) {
      r = fail_syntax(p, at, "unterminated [[ ]]");
      break;
    }
    const char *s = p->s + p->pos;
    size_t left = p->len - p->pos;
    if (left >= 2 && s[0] == ']' && s[1] == ']' && (left == 2 || is_meta((unsigned char)s[2]))) {
      p->pos += 2;
      break;
    }
    if (is_meta((unsigned char)s[0])) {
      size_t n = (left >= 2 && (s[0] == '&' || s[0] == '|') && s[1] == s[0]) ? 2 : 1;
      char *w = pdup(p, s, n);
      r = w ? builder_word(p, &b, w, 0) : fail_nomem(p);
      p->pos += n;
      continue;
    }
    token t;
    r = read_word(p, &t);
    for (size_t i = 0; r == 0 && i < t.nfields; i++)
      r = builder_word(p, &b, t.fields[i], t.fflags[i]);
  }
  if (r == 0) {
    cmdparts c = {b.words, b.wflags, b.nwords, NULL, NULL, 0, NULL, 0};
    int k = finish_command(p, &b, &c, first, PENDING_PARENT, p->depth, 0);
    if (k < 0)
      r = -1;
    else {
      res->in = res->out = k;
      res->consumed = true;
    }
  }
  builder_free(p, &b);
  return r;
}

static int parse_command(parser *p, cmdres *res) {
  static const char *const skipped[] = {"if", "then", "else", "elif", "fi", "do", "done", "while",
                                        "until", "!", "esac", "coproc", NULL};
  res->in = res->out = -1;
  res->consumed = false;
  for (;;) {
    token *t = peek(p);
    if (t == NULL)
      return -1;
    if (t->type == T_LPAREN) {
      if (p->pos < p->len && p->s[p->pos] == '(') { /* (( arithmetic )) */
        size_t at = t->start;
        consume(p);
        res->consumed = true;
        if (skip_arith(p, 1, at) < 0)
          return -1;
        return trailing_redirects(p, res);
      }
      return parse_group(p, res, true);
    }
    if (t->type == T_REDIR)
      return parse_simple(p, res);
    if (t->type != T_WORD)
      return 0;
    if (t->plain && t->nfields == 1) {
      const char *w = t->fields[0];
      if (in_list(w, skipped)) {
        consume(p);
        res->consumed = true;
        if (strcmp(w, "done") == 0 || strcmp(w, "fi") == 0 || strcmp(w, "esac") == 0) {
          t = peek(p);
          if (t == NULL)
            return -1;
          if (t->type == T_REDIR)
            return trailing_redirects(p, res);
        }
        continue;
      }
      if (strcmp(w, "{") == 0)
        return parse_group(p, res, false);
      if (strcmp(w, "}") == 0)
        return fail_syntax(p, t->start, "unexpected }");
      if (strcmp(w, "case") == 0)
        return parse_case(p, res);
      if (strcmp(w, "for") == 0 || strcmp(w, "select") == 0) {
        if (parse_for(p, res) < 0)
          return -1;
        continue;
      }
      if (strcmp(w, "[[") == 0)
        return parse_cond(p, res);
      if (strcmp(w, "function") == 0) {
        size_t at = t->start;
        consume(p);
        t = peek(p);
        if (t == NULL)
          return -1;
        if (t->type != T_WORD || t->nfields != 1)
          return fail_syntax(p, at, "function without a name");
        const char *name = t->fields[0];
        consume(p);
        t = peek(p);
        if (t == NULL)
          return -1;
        if (t->type == T_LPAREN) {
          consume(p);
          t = peek(p);
          if (t == NULL || t->type != T_RPAREN)
            return t ? fail_syntax(p, at, "expected ) in function definition") : -1;
          consume(p);
        }
        return parse_function_body(p, name, res);
      }
    }
    return parse_simple(p, res);
  }
}

static int parse_pipeline(parser *p, cmdres *res) {
  res->in = res->out = -1;
  res->consumed = false;
  bool after_pipe = false;
  for (;;) {
    token *t = peek(p);
    if (t == NULL)
      return -1;
    size_t at = t->start;
    cmdres c;
    if (parse_command(p, &c) < 0)
      return -1;
    if (!c.consumed) {
      if (after_pipe)
        return fail_syntax(p, at, "missing command after |");
      return 0;
    }
    if (!res->consumed)
      res->in = c.in;
    res->consumed = true;
    if (after_pipe && res->out >= 0 && c.in >= 0) {
      al_segment *from = &p->sh->segs[res->out], *to = &p->sh->segs[c.in];
      from->flags |= AL_SEG_PIPES_OUT;
      from->pipe_to = c.in;
      to->flags |= AL_SEG_PIPED_INTO;
      to->pipe_from = res->out;
    }
    res->out = c.out;
    t = peek(p);
    if (t == NULL)
      return -1;
    if (t->type != T_PIPE && t->type != T_PIPE_AMP)
      return 0;
    consume(p);
    while ((t = peek(p)) != NULL && t->type == T_NEWLINE)
      consume(p);
    if (t == NULL)
      return -1;
    after_pipe = true;
  }
}

static int parse_and_or(parser *p, cmdres *res) {
  if (parse_pipeline(p, res) < 0)
    return -1;
  if (!res->consumed)
    return 0;
  for (;;) {
    token *t = peek(p);
    if (t == NULL)
      return -1;
    if (t->type != T_AND && t->type != T_OR)
      return 0;
    size_t at = t->start;
    consume(p);
    while ((t = peek(p)) != NULL && t->type == T_NEWLINE)
      consume(p);
    if (t == NULL)
      return -1;
    cmdres next;
    if (parse_pipeline(p, &next) < 0)
      return -1;
    if (!next.consumed)
      return fail_syntax(p, at, "missing command after && or ||");
    if (res->in < 0)
      res->in = next.in;
    if (next.out >= 0)
      res->out = next.out;
  }
}

static int parse_list(parser *p, const char *stop, cmdres *res) {
  res->in = res->out = -1;
  res->consumed = false;
  for (;;) {
    token *t;
    while ((t = peek(p)) != NULL && t->type == T_NEWLINE)
      consume(p);
    if (t == NULL)
      return -1;
    if (t->type == T_EOF || t->type == T_RPAREN || t->type == T_DSEMI)
      return 0;
    if (stop && tok_is_word(t, stop))
      return 0;
    size_t mark = t->seg_mark, at = t->start;
    cmdres ao;
    if (parse_and_or(p, &ao) < 0)
      return -1;
    if (!ao.consumed)
      return fail_syntax(p, at, "unexpected operator");
    if (!res->consumed)
      res->in = ao.in;
    res->consumed = true;
    if (ao.out >= 0)
      res->out = ao.out;
    t = peek(p);
    if (t == NULL)
      return -1;
    if (t->type == T_AMP) {
      for (size_t i = mark; i < p->sh->n; i++)
        p->sh->segs[i].flags |= AL_SEG_BACKGROUND;
      consume(p);
    } else if (t->type == T_SEMI) {
      consume(p);
    } else if (t->type != T_NEWLINE) {
      return 0;
    }
  }
}

/* A separate string (backquotes, sh -c code, here-doc to a shell). */
static int parse_string(parser *p, const char *code, size_t len, int parent, unsigned extra, int origin,
                        bool recover) {
  if (need_depth(p) < 0)
    return -1;
  parser q;
  memset(&q, 0, sizeof(q));
  q.s = code;
  q.len = len;
  q.sh = p->sh;
  q.vars = p->vars;
  q.depth = p->depth + 1;
  q.inherit = extra;
  if (parent >= 0)
    q.inherit |= AL_SEG_NESTED | (p->sh->segs[parent].flags & (AL_SEG_IN_SUBSTITUTION | AL_SEG_SUBSHELL | AL_SEG_REMOTE | AL_SEG_NESTED));
  q.origin = origin;
  q.default_parent = parent;
  q.err = p->err;
  size_t mark = p->sh->n;
  cmdres r;
  int rc = parse_list(&q, NULL, &r);
  if (rc == 0) {
    token *t = peek(&q);
    if (t == NULL)
      rc = -1;
    else if (t->type != T_EOF)
      rc = fail_syntax(&q, t->start, t->type == T_RPAREN ? "unexpected )" : "unexpected token");
  }
  if (rc == 0)
    return 0;
  if (q.fatal || !recover) {
    p->fatal |= q.fatal;
    return -1;
  }
  /* a malformed code string: forget what was read of it */
  p->sh->n = mark;
  if (p->err)
    airlock_error_free(p->err);
  return 1;
}

/* --- what a substitution prints, when that is evident ----------------------------
 * A pipeline of at most four commands: a producer (echo, printf, which NAME,
 * command -v NAME, type -P NAME, or a here-string) and filters (base64 -d,
 * xxd -r -p, rev, tr SET1 SET2, cat).  Anything else is unknown. */

static bool has_flag(const al_segment *s, char letter, const char *long_name) {
  for (size_t i = 1; i < s->argc; i++) {
    const char *a = s->argv[i];
    if (long_name && strcmp(a, long_name) == 0)
      return true;
    if (a[0] == '-' && a[1] != '-' && strchr(a + 1, letter))
      return true;
  }
  return false;
}

static bool b64_value(int c, unsigned *v) {
  if (c >= 'A' && c <= 'Z')
    *v = (unsigned)(c - 'A');
  else if (c >= 'a' && c <= 'z')
    *v = (unsigned)(c - 'a' + 26);
  else if (c >= '0' && c <= '9')
    *v = (unsigned)(c - '0' + 52);
  else if (c == '+' || c == '-')
    *v = 62;
  else if (c == '/' || c == '_')
    *v = 63;
  else
    return false;
  return true;
}

static bool filter_base64(const strbuf *in, strbuf *out) {
  unsigned acc = 0, bits = 0;
  for (size_t i = 0; i < in->len; i++) {
    unsigned char c = (unsigned char)in->buf[i];
    unsigned v;
    if (is_ifs(c) || c == '\r')
      continue;
    if (c == '=')
      break;
    if (!b64_value(c, &v))
      return false;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      char ch = (char)((acc >> bits) & 0xff);
      if (ch == '\0' || !sb_putc(out, ch))
        return false;
    }
  }
  return true;
}

static bool filter_hex(const strbuf *in, strbuf *out) {
  int hi = -1;
  for (size_t i = 0; i < in->len; i++) {
    unsigned char c = (unsigned char)in->buf[i];
    if (is_ifs(c))
      continue;
    if (!isxdigit(c))
      return false;
    int v = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
    if (hi < 0) {
      hi = v;
    } else {
      char ch = (char)(hi * 16 + v);
      if (ch == '\0' || !sb_putc(out, ch))
        return false;
      hi = -1;
    }
  }
  return true;
}

static bool filter_rev(const strbuf *in, strbuf *out) {
  size_t i = 0;
  while (i < in->len) {
    size_t e = i;
    while (e < in->len && in->buf[e] != '\n')
      e++;
    for (size_t k = e; k > i; k--)
      if (!sb_putc(out, in->buf[k - 1]))
        return false;
    if (e < in->len && !sb_putc(out, '\n'))
      return false;
    i = e + 1;
  }
  return true;
}

/* tr's SET: ranges a-z and \n-style escapes; at most 256 characters */
static size_t tr_set(const char *s, char *out) {
  size_t n = 0;
  for (size_t i = 0; s[i] && n < 256;) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\\' && s[i + 1]) {
      static const char from[] = "ntr\\", to[] = "\n\t\r\\";
      const char *f = strchr(from, s[i + 1]);
      out[n++] = f ? to[f - from] : s[i + 1];
      i += 2;
      continue;
    }
    if (s[i + 1] == '-' && s[i + 2] && (unsigned char)s[i + 2] >= c) {
      for (unsigned k = c; k <= (unsigned char)s[i + 2] && n < 256; k++)
        out[n++] = (char)k;
      i += 3;
      continue;
    }
    out[n++] = (char)c;
    i++;
  }
  return n;
}

static bool filter_tr(const al_segment *s, const strbuf *in, strbuf *out) {
  if (s->argc != 3 || s->argv[1][0] == '-' || s->argv[1][0] == '[' || s->argv[2][0] == '[')
    return false;
  char a[256], b[256];
  size_t na = tr_set(s->argv[1], a), nb = tr_set(s->argv[2], b);
  if (na == 0 || nb == 0)
    return false;
  char map[256];
  for (int i = 0; i < 256; i++)
    map[i] = (char)i;
  for (size_t i = 0; i < na; i++)
    map[(unsigned char)a[i]] = b[i < nb ? i : nb - 1];
  for (size_t i = 0; i < in->len; i++) {
    char ch = map[(unsigned char)in->buf[i]];
    if (ch == '\0' || !sb_putc(out, ch))
      return false;
  }
  return true;
}

static bool run_filter(const al_segment *s, const strbuf *in, strbuf *out) {
  const char *n = s->name;
  if (strcmp(n, "cat") == 0 && s->argc == 1)
    return sb_putn(out, in->buf, in->len);
  if ((strcmp(n, "base64") == 0 || strcmp(n, "basenc") == 0) &&
      (has_flag(s, 'd', "--decode") || has_flag(s, 'D', NULL)))
    return filter_base64(in, out);
  if (strcmp(n, "xxd") == 0 && has_flag(s, 'r', NULL) && has_flag(s, 'p', NULL))
    return filter_hex(in, out);
  if (strcmp(n, "rev") == 0 && s->argc == 1)
    return filter_rev(in, out);
  if (strcmp(n, "tr") == 0)
    return filter_tr(s, in, out);
  return false;
}

static bool run_echo(const al_segment *s, strbuf *out) {
  size_t i = 1;
  bool newline = true, escapes = false;
  while (i < s->argc && s->argv[i][0] == '-' && s->argv[i][1] && strspn(s->argv[i] + 1, "neE") == strlen(s->argv[i] + 1)) {
    for (const char *c = s->argv[i] + 1; *c; c++) {
      if (*c == 'n')
        newline = false;
      else
        escapes = *c == 'e';
    }
    i++;
  }
  bool ok = true;
  for (size_t first = i; i < s->argc; i++) {
    if (i > first)
      ok &= sb_putc(out, ' ');
    const char *a = s->argv[i];
    if (!escapes) {
      ok &= sb_putn(out, a, strlen(a));
      continue;
    }
    for (size_t k = 0; a[k];) {
      if (a[k] == '\\') {
        size_t used = decode_escape(a + k + 1, out, true, &ok);
        if (used == 0)
          return ok;
        k += 1 + used;
      } else {
        ok &= sb_putc(out, a[k++]);
      }
    }
  }
  if (newline)
    ok &= sb_putc(out, '\n');
  return ok;
}

static bool run_printf(const al_segment *s, strbuf *out) {
  if (s->argc < 2)
    return false;
  const char *fmt = s->argv[1];
  size_t arg = 2;
  bool ok = true;
  for (int round = 0; round < 16; round++) {
    bool consumed = false;
    for (size_t k = 0; fmt[k];) {
      if (fmt[k] == '\\') {
        size_t used = decode_escape(fmt + k + 1, out, false, &ok);
        if (used == 0)
          return ok;
        k += 1 + used;
      } else if (fmt[k] == '%') {
        char conv = fmt[k + 1];
        const char *a = arg < s->argc ? s->argv[arg] : "";
        if (conv == '%') {
          ok &= sb_putc(out, '%');
        } else if (conv == 's' || conv == 'b') {
          if (conv == 'b') {
            for (size_t j = 0; a[j];) {
              if (a[j] == '\\') {
                size_t used = decode_escape(a + j + 1, out, true, &ok);
                if (used == 0)
                  break;
                j += 1 + used;
              } else {
                ok &= sb_putc(out, a[j++]);
              }
            }
          } else {
            ok &= sb_putn(out, a, strlen(a));
          }
          arg++;
          consumed = true;
        } else if (conv == 'c') {
          if (a[0])
            ok &= sb_putc(out, a[0]);
          arg++;
          consumed = true;
        } else {
          return false; /* numbers, widths: not worth it */
        }
        k += 2;
      } else {
        ok &= sb_putc(out, fmt[k++]);
      }
    }
    if (!consumed || arg >= s->argc)
      break;
  }
  return ok;
}

static bool run_producer(const al_segment *s, strbuf *out) {
  const char *n = s->name;
  if (strcmp(n, "echo") == 0)
    return run_echo(s, out);
  if (strcmp(n, "printf") == 0)
    return run_printf(s, out);
  /* which rm / command -v rm / type -P rm: the name is what matters */
  bool lookup = strcmp(n, "which") == 0 ||
                (strcmp(n, "command") == 0 && (has_flag(s, 'v', NULL) || has_flag(s, 'V', NULL))) ||
                (strcmp(n, "type") == 0 && (has_flag(s, 'p', NULL) || has_flag(s, 'P', NULL)));
  if (lookup && s->argc >= 2) {
    const char *last = s->argv[s->argc - 1];
    if (last[0] == '-')
      return false;
    return sb_putn(out, last, strlen(last)) && sb_putc(out, '\n');
  }
  return false;
}

static bool harmless_redir(const al_redir *r) {
  if (r->kind == AL_REDIR_DUP_OUT || r->kind == AL_REDIR_DUP_IN)
    return true;
  return (r->kind == AL_REDIR_OUT || r->kind == AL_REDIR_APPEND) && r->fd == 2;
}

static const char *static_output(parser *p, size_t mark) {
  al_shell *sh = p->sh;
  size_t chain[4], m = 0;
  for (size_t i = mark; i < sh->n; i++) {
    if (sh->segs[i].parent != PENDING_PARENT)
      continue;
    if (m == AL_ARRAY_SIZE(chain))
      return NULL;
    chain[m++] = i;
  }
  if (m == 0)
    return "";
  const char *herestring = NULL;
  for (size_t i = 0; i < m; i++) {
    const al_segment *s = &sh->segs[chain[i]];
    if (s->argc == 0 || (s->flags & (AL_SEG_UNRESOLVED_COMMAND | AL_SEG_UNRESOLVED_ARGS | AL_SEG_BACKGROUND |
                                     AL_SEG_CODE_PARSED | AL_SEG_CODE_OPAQUE)))
      return NULL;
    if (s->pipe_from != (i == 0 ? -1 : (int)chain[i - 1]))
      return NULL;
    for (size_t r = 0; r < s->n_redirs; r++) {
      if (i == 0 && s->redirs[r].kind == AL_REDIR_HERESTRING && !s->redirs[r].unresolved && herestring == NULL)
        herestring = s->redirs[r].target;
      else if (!harmless_redir(&s->redirs[r]))
        return NULL;
    }
  }
  strbuf a, b;
  sb_init(&a);
  sb_init(&b);
  bool ok;
  size_t i = 0;
  if (herestring) {
    ok = sb_putn(&a, herestring, strlen(herestring)) && sb_putc(&a, '\n');
  } else {
    ok = run_producer(&sh->segs[chain[0]], &a);
    i = 1;
  }
  for (; ok && i < m; i++) {
    b.len = 0;
    ok = run_filter(&sh->segs[chain[i]], &a, &b) && b.len <= MAX_STATIC_OUTPUT;
    a.len = 0;
    ok = ok && sb_putn(&a, b.buf, b.len);
  }
  const char *res = NULL;
  if (ok) {
    while (a.len > 0 && a.buf[a.len - 1] == '\n')
      a.len--;
    if (a.len <= MAX_STATIC_OUTPUT && memchr(a.buf, '\0', a.len) == NULL) {
      res = pdup(p, a.len ? a.buf : "", a.len);
      if (res == NULL)
        fail_nomem(p);
    }
  }
  sb_free(&a);
  sb_free(&b);
  return res;
}

/* --- entry points ------------------------------------------------------------- */

static vartab *new_vars(void) {
  vartab *v = calloc(1, sizeof(*v));
  if (v == NULL)
    return NULL;
  /* $HOME is the home directory, $IFS splits on blanks */
  v->v[v->n++] = (var){"HOME", "~"};
  v->v[v->n++] = (var){"IFS", " \t\n"};
  return v;
}

static void finish_parents(al_shell *sh) {
  for (size_t i = 0; i < sh->n; i++)
    if (sh->segs[i].parent == PENDING_PARENT)
      sh->segs[i].parent = -1;
}

int al_shell_parse(const char *input, al_shell *out, airlock_error **err) {
  memset(out, 0, sizeof(*out));
  if (input == NULL)
    return al_err(err, EINVAL, "shell parse: no command string");
  size_t len = strnlen(input, AL_SHELL_MAX_INPUT + 1);
  if (len > AL_SHELL_MAX_INPUT)
    return al_err(err, 0, "shell parse: command string longer than %d bytes", AL_SHELL_MAX_INPUT);
  _cleanup_free_ vartab *vars = new_vars();
  if (vars == NULL)
    return al_err(err, ENOMEM, "shell parse");
  parser p;
  memset(&p, 0, sizeof(p));
  p.s = input;
  p.len = len;
  p.sh = out;
  p.vars = vars;
  p.default_parent = -1;
  p.err = err;
  cmdres r;
  int rc = parse_list(&p, NULL, &r);
  if (rc == 0) {
    token *t = peek(&p);
    if (t == NULL)
      rc = -1;
    else if (t->type != T_EOF)
      rc = fail_syntax(&p, t->start, t->type == T_RPAREN ? "unexpected )" : "unexpected token");
  }
  if (rc < 0) {
    if (err && *err == NULL)
      al_err(err, 0, "shell parse failed");
    al_shell_free(out);
    return -1;
  }
  finish_parents(out);
  return 0;
}

int al_shell_parse_argv(char *const argv[], al_shell *out, airlock_error **err) {
  memset(out, 0, sizeof(*out));
  if (argv == NULL || argv[0] == NULL)
    return al_err(err, EINVAL, "shell parse: empty argv");
  size_t n = 0, total = 0;
  while (argv[n]) {
    total += strlen(argv[n]) + 1;
    if (total > AL_SHELL_MAX_INPUT)
      return al_err(err, 0, "shell parse: argv longer than %d bytes", AL_SHELL_MAX_INPUT);
    n++;
  }
  _cleanup_free_ vartab *vars = new_vars();
  if (vars == NULL)
    return al_err(err, ENOMEM, "shell parse");
  parser p;
  memset(&p, 0, sizeof(p));
  p.s = "";
  p.sh = out;
  p.vars = vars;
  p.default_parent = -1;
  p.err = err;
  char **words = al_shell_alloc(out, (n + 1) * sizeof(char *));
  unsigned *f = al_shell_alloc(out, (n + 1) * sizeof(unsigned));
  int rc = 0;
  if (words == NULL || f == NULL)
    rc = fail_nomem(&p);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    words[i] = pdup(&p, argv[i], strlen(argv[i]));
    f[i] = 0;
    if (words[i] == NULL)
      rc = fail_nomem(&p);
  }
  if (rc == 0)
    rc = push_argv_segment(&p, words, f, n, -1, 0);
  if (rc < 0) {
    if (err && *err == NULL)
      al_err(err, 0, "shell parse failed");
    al_shell_free(out);
    return -1;
  }
  finish_parents(out);
  return 0;
}
