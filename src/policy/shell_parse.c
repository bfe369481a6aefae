/* SPDX-License-Identifier: Apache-2.0 */
/* shell_parse.c - the grammar of the static reader of sh command strings
 * (see shell_parse.h) and its entry points.  A recursive-descent parser over
 * a one-token lookahead: list -> and-or -> pipeline -> command, where a
 * command is a simple command, ( list ), { list; }, case, [[ ]], (( )), or a
 * function definition.  if, while, for and friends are read leniently: their
 * keywords are skipped and the commands between them become segments, which
 * is all the classifier needs.  Tokens come from shell_words.c, segments are
 * made by shell_command.c (shell_parse_impl.h lists the parts). */
#define _GNU_SOURCE
#include "shell_parse_impl.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"

static int parse_command(parser *p, cmdres *res);

/* --- here-documents ------------------------------------------------------- */

/* After a newline token: the bodies of the here-docs opened on that line. */
int al_sh_read_heredocs(parser *p) {
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
    char *body = al_sh_pdup(p, p->s + body_start, body_end - body_start);
    if (body == NULL)
      return al_sh_fail_nomem(p);
    if (h->b) {
      h->b->redirs[h->redir].body = body;
    } else if (h->seg >= 0 && (size_t)h->seg < p->sh->n) {
      al_segment *s = &p->sh->segs[h->seg];
      s->redirs[h->redir].body = body;
      if (al_sh_stdin_shell(s) && al_sh_parse_code(p, h->seg, body, 0) < 0)
        return -1;
    }
  }
  return 0;
}

/* --- tokens ------------------------------------------------------------------ */

static bool tok_is_word(const token *t, const char *w) {
  return t->type == T_WORD && t->plain && t->nfields == 1 && strcmp(t->fields[0], w) == 0;
}

/* --- redirections ------------------------------------------------------------ */

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

static int parse_redirect(parser *p, builder *b) {
  token r = p->tok;
  consume(p);
  token *t = al_sh_peek(p);
  if (t == NULL)
    return -1;
  if (t->type != T_WORD || t->nfields == 0)
    return al_sh_fail_syntax(p, r.start, "redirection without a target");
  if (!grow((void **)&b->redirs, &b->capredirs, b->nredirs + 1, sizeof(al_redir)))
    return al_sh_fail_nomem(p);
  al_redir *d = &b->redirs[b->nredirs];
  memset(d, 0, sizeof(*d));
  d->kind = r.rkind;
  d->fd = r.fd;
  d->target = t->text;
  for (size_t i = 0; i < t->nfields; i++)
    if (t->fflags[i] & F_UNRESOLVED)
      d->unresolved = true;
  /* >&word with a word that is not a descriptor: both streams to a file */
  if (d->kind == AL_REDIR_DUP_OUT && strcmp(d->target, "-") != 0 &&
      strspn(d->target, "0123456789") != strlen(d->target)) {
    d->kind = AL_REDIR_OUT;
    if (d->fd == 1)
      d->fd = -1;
  }
  if (d->kind == AL_REDIR_HEREDOC) {
    if (p->npending >= AL_ARRAY_SIZE(p->pending))
      return al_sh_fail_fatal(p, "more than 32 here-documents on one line");
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

/* --- grammar ------------------------------------------------------------------ */

static int need_depth(parser *p) {
  if (p->depth + 1 > AL_SHELL_MAX_DEPTH)
    return al_sh_fail_fatal(p, "nesting deeper than " AL_STR(AL_SHELL_MAX_DEPTH) " levels");
  return 0;
}

/* redirections after ) or } or done: kept as a segment without a command */
static int trailing_redirects(parser *p, cmdres *res) {
  token *t = al_sh_peek(p);
  if (t == NULL)
    return -1;
  if (t->type != T_REDIR)
    return 0;
  builder b;
  memset(&b, 0, sizeof(b));
  size_t first = t->seg_mark;
  int r = 0;
  while (r == 0 && (t = al_sh_peek(p)) != NULL && t->type == T_REDIR)
    r = parse_redirect(p, &b);
  if (t == NULL)
    r = -1;
  if (r == 0) {
    cmdparts c = {.redirs = b.redirs, .nredirs = b.nredirs};
    int k = al_sh_finish_command(p, &b, &c, first, PENDING_PARENT, p->depth, 0);
    if (k < 0)
      r = -1;
    else if (res->out < 0)
      res->in = res->out = k;
  }
  al_sh_builder_free(p, &b);
  return r;
}

static int parse_function_body(parser *p, const char *name, cmdres *res) {
  token *t;
  while ((t = al_sh_peek(p)) != NULL && t->type == T_NEWLINE)
    consume(p);
  if (t == NULL)
    return -1;
  const char *saved = p->function;
  p->function = name;
  size_t start = t->start;
  cmdres body;
  int r = parse_command(p, &body);
  p->function = saved;
  if (r < 0)
    return -1;
  if (!body.consumed)
    return al_sh_fail_syntax(p, t->start, "function without a body");
  /* kept (as the variable "\1NAME") so that a call with arguments is read again with $1... */
  size_t end = p->have_tok ? p->tok.start : p->pos;
  size_t nl = strlen(name);
  char *key = al_shell_alloc(p->sh, nl + 2);
  char *text = end > start ? al_sh_pdup(p, p->s + start, end - start) : NULL;
  if (key == NULL || (end > start && text == NULL))
    return al_sh_fail_nomem(p);
  key[0] = '\1';
  memcpy(key + 1, name, nl + 1);
  if (al_sh_var_set(p, key, nl + 1, text) < 0)
    return -1;
  res->consumed = true;
  return 0;
}

static int parse_simple(parser *p, cmdres *res) {
  builder b;
  memset(&b, 0, sizeof(b));
  token *t = al_sh_peek(p);
  size_t first = t ? t->seg_mark : p->sh->n;
  int r = 0;
  while (r == 0) {
    t = al_sh_peek(p);
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
    if (b.nwords == 0 && w.nfields == 1 && al_sh_assignment_prefix(p->s + w.start) > 0) {
      r = al_sh_builder_assign(p, &b, w.fields[0], w.fflags[0]);
      continue;
    }
    for (size_t i = 0; r == 0 && i < w.nfields; i++)
      r = al_sh_builder_word(p, &b, w.fields[i], w.fflags[i]);
    /* name ( ) body */
    if (r == 0 && b.nwords == 1 && b.nassigns == 0 && b.nredirs == 0 && w.plain) {
      t = al_sh_peek(p);
      if (t == NULL) {
        r = -1;
        break;
      }
      if (t->type == T_LPAREN) {
        size_t at = t->start;
        consume(p);
        t = al_sh_peek(p);
        if (t == NULL || t->type != T_RPAREN) {
          r = t ? al_sh_fail_syntax(p, at, "expected ) in function definition") : -1;
          break;
        }
        consume(p);
        r = parse_function_body(p, w.fields[0], res);
        al_sh_builder_free(p, &b);
        return r;
      }
    }
  }
  if (r == 0 && (b.nwords || b.nassigns || b.nredirs)) {
    res->consumed = true;
    cmdparts c = {b.words, b.wflags, b.nwords, b.assigns, b.aflags, b.nassigns, b.redirs, b.nredirs};
    int k = al_sh_finish_command(p, &b, &c, first, PENDING_PARENT, p->depth, 0);
    if (k < 0)
      r = -1;
    else
      res->in = res->out = k;
  }
  al_sh_builder_free(p, &b);
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
  int r = al_sh_parse_list(p, subshell ? NULL : "}", &lr);
  p->depth--;
  p->inherit = saved;
  if (r < 0)
    return -1;
  token *t = al_sh_peek(p);
  if (t == NULL)
    return -1;
  if (subshell ? t->type != T_RPAREN : !tok_is_word(t, "}"))
    return al_sh_fail_syntax(p, at, subshell ? "unterminated ( )" : "unterminated { }");
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
  token *t = al_sh_peek(p);
  if (t == NULL)
    return -1;
  if (t->type != T_WORD)
    return al_sh_fail_syntax(p, at, "case without a word");
  consume(p);
  while ((t = al_sh_peek(p)) != NULL && t->type == T_NEWLINE)
    consume(p);
  if (t == NULL)
    return -1;
  if (!tok_is_word(t, "in"))
    return al_sh_fail_syntax(p, at, "case without in");
  consume(p);
  p->case_depth++;
  int r = 0;
  for (;;) {
    while ((t = al_sh_peek(p)) != NULL && t->type == T_NEWLINE)
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
      r = al_sh_fail_syntax(p, at, "unterminated case");
      break;
    }
    if (t->type == T_LPAREN)
      consume(p);
    /* patterns: word ( | word )* ) */
    for (;;) {
      t = al_sh_peek(p);
      if (t == NULL || t->type != T_WORD) {
        r = t ? al_sh_fail_syntax(p, t->start, "bad case pattern") : -1;
        break;
      }
      consume(p);
      t = al_sh_peek(p);
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
      r = al_sh_fail_syntax(p, t->start, "bad case pattern");
      break;
    }
    if (r < 0)
      break;
    cmdres lr;
    if (al_sh_parse_list(p, "esac", &lr) < 0) {
      r = -1;
      break;
    }
    t = al_sh_peek(p);
    if (t == NULL) {
      r = -1;
      break;
    }
    if (t->type == T_DSEMI)
      consume(p);
    else if (!tok_is_word(t, "esac")) {
      r = al_sh_fail_syntax(p, t->start, "unterminated case item");
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
    return al_sh_skip_arith(p, 0, at);
  token *t = al_sh_peek(p);
  if (t == NULL)
    return -1;
  if (t->type != T_WORD || t->nfields != 1)
    return al_sh_fail_syntax(p, at, "for without a name");
  const char *name = t->fields[0];
  consume(p);
  t = al_sh_peek(p);
  if (t == NULL)
    return -1;
  if (!tok_is_word(t, "in"))
    return 0;
  consume(p);
  const char *only = NULL;
  unsigned only_f = 0;
  size_t count = 0;
  while ((t = al_sh_peek(p)) != NULL && t->type == T_WORD) {
    for (size_t i = 0; i < t->nfields; i++) {
      only = t->fields[i];
      only_f = t->fflags[i];
      count++;
    }
    consume(p);
  }
  if (t == NULL)
    return -1;
  if (is_name_start((unsigned char)name[0]) &&
      al_sh_var_set(p, name, strlen(name), count == 1 && !(only_f & F_UNRESOLVED) ? only : NULL) < 0)
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
  int r = al_sh_builder_word(p, &b, "[[", 0);
  while (r == 0) {
    while (p->pos < p->len && (is_ifs((unsigned char)p->s[p->pos]) ||
                               (p->s[p->pos] == '\\' && p->pos + 1 < p->len && p->s[p->pos + 1] == '\n')))
      p->pos += p->s[p->pos] == '\\' ? 2 : 1;
    if (p->pos >= p->len) {
      r = al_sh_fail_syntax(p, at, "unterminated [[ ]]");
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
      char *w = al_sh_pdup(p, s, n);
      r = w ? al_sh_builder_word(p, &b, w, 0) : al_sh_fail_nomem(p);
      p->pos += n;
      continue;
    }
    token t;
    r = al_sh_read_word(p, &t);
    for (size_t i = 0; r == 0 && i < t.nfields; i++)
      r = al_sh_builder_word(p, &b, t.fields[i], t.fflags[i]);
  }
  if (r == 0) {
    cmdparts c = {b.words, b.wflags, b.nwords, NULL, NULL, 0, NULL, 0};
    int k = al_sh_finish_command(p, &b, &c, first, PENDING_PARENT, p->depth, 0);
    if (k < 0)
      r = -1;
    else {
      res->in = res->out = k;
      res->consumed = true;
    }
  }
  al_sh_builder_free(p, &b);
  return r;
}

static int parse_command(parser *p, cmdres *res) {
  static const char *const skipped[] = {"if",    "then",  "else", "elif", "fi",     "do", "done",
                                        "while", "until", "!",    "esac", "coproc", NULL};
  res->in = res->out = -1;
  res->consumed = false;
  for (;;) {
    token *t = al_sh_peek(p);
    if (t == NULL)
      return -1;
    if (t->type == T_LPAREN) {
      if (p->pos < p->len && p->s[p->pos] == '(') { /* (( arithmetic )) */
        size_t at = t->start;
        consume(p);
        res->consumed = true;
        if (al_sh_skip_arith(p, 1, at) < 0)
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
      if (al_sh_in_list(w, skipped)) {
        consume(p);
        res->consumed = true;
        if (strcmp(w, "done") == 0 || strcmp(w, "fi") == 0 || strcmp(w, "esac") == 0) {
          t = al_sh_peek(p);
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
        return al_sh_fail_syntax(p, t->start, "unexpected }");
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
        t = al_sh_peek(p);
        if (t == NULL)
          return -1;
        if (t->type != T_WORD || t->nfields != 1)
          return al_sh_fail_syntax(p, at, "function without a name");
        const char *name = t->fields[0];
        consume(p);
        t = al_sh_peek(p);
        if (t == NULL)
          return -1;
        if (t->type == T_LPAREN) {
          consume(p);
          t = al_sh_peek(p);
          if (t == NULL || t->type != T_RPAREN)
            return t ? al_sh_fail_syntax(p, at, "expected ) in function definition") : -1;
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
    token *t = al_sh_peek(p);
    if (t == NULL)
      return -1;
    size_t at = t->start;
    cmdres c;
    if (parse_command(p, &c) < 0)
      return -1;
    if (!c.consumed) {
      if (after_pipe)
        return al_sh_fail_syntax(p, at, "missing command after |");
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
      if (al_sh_piped_code(p, res->out, c.in) < 0)
        return -1;
    }
    res->out = c.out;
    t = al_sh_peek(p);
    if (t == NULL)
      return -1;
    if (t->type != T_PIPE && t->type != T_PIPE_AMP)
      return 0;
    consume(p);
    while ((t = al_sh_peek(p)) != NULL && t->type == T_NEWLINE)
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
    token *t = al_sh_peek(p);
    if (t == NULL)
      return -1;
    if (t->type != T_AND && t->type != T_OR)
      return 0;
    size_t at = t->start;
    consume(p);
    while ((t = al_sh_peek(p)) != NULL && t->type == T_NEWLINE)
      consume(p);
    if (t == NULL)
      return -1;
    cmdres next;
    if (parse_pipeline(p, &next) < 0)
      return -1;
    if (!next.consumed)
      return al_sh_fail_syntax(p, at, "missing command after && or ||");
    if (res->in < 0)
      res->in = next.in;
    if (next.out >= 0)
      res->out = next.out;
  }
}

int al_sh_parse_list(parser *p, const char *stop, cmdres *res) {
  res->in = res->out = -1;
  res->consumed = false;
  for (;;) {
    token *t;
    while ((t = al_sh_peek(p)) != NULL && t->type == T_NEWLINE)
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
      return al_sh_fail_syntax(p, at, "unexpected operator");
    if (!res->consumed)
      res->in = ao.in;
    res->consumed = true;
    if (ao.out >= 0)
      res->out = ao.out;
    t = al_sh_peek(p);
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
int al_sh_parse_string(parser *p, const char *code, size_t len, int parent, unsigned extra, int origin, bool recover) {
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
    q.inherit |= AL_SEG_NESTED | (p->sh->segs[parent].flags &
                                  (AL_SEG_IN_SUBSTITUTION | AL_SEG_SUBSHELL | AL_SEG_REMOTE | AL_SEG_NESTED));
  q.origin = origin;
  q.default_parent = parent;
  q.err = p->err;
  size_t mark = p->sh->n;
  cmdres r;
  int rc = al_sh_parse_list(&q, NULL, &r);
  if (rc == 0) {
    token *t = al_sh_peek(&q);
    if (t == NULL)
      rc = -1;
    else if (t->type != T_EOF)
      rc = al_sh_fail_syntax(&q, t->start, t->type == T_RPAREN ? "unexpected )" : "unexpected token");
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

/* --- entry points ------------------------------------------------------------- */

static vartab *new_vars(void) {
  vartab *v = calloc(1, sizeof(*v));
  if (v == NULL)
    return NULL;
  /* $HOME is the home directory, $IFS splits on blanks */
  v->v[v->n++] = (var){"HOME", "~"};
  v->v[v->n++] = (var){"IFS", " \t\n"};
  /* the directory the command starts in is the project root: "." */
  v->v[v->n++] = (var){"PWD", "."};
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
  int rc = al_sh_parse_list(&p, NULL, &r);
  if (rc == 0) {
    token *t = al_sh_peek(&p);
    if (t == NULL)
      rc = -1;
    else if (t->type != T_EOF)
      rc = al_sh_fail_syntax(&p, t->start, t->type == T_RPAREN ? "unexpected )" : "unexpected token");
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
    rc = al_sh_fail_nomem(&p);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    words[i] = al_sh_pdup(&p, argv[i], strlen(argv[i]));
    f[i] = 0;
    if (words[i] == NULL)
      rc = al_sh_fail_nomem(&p);
  }
  if (rc == 0)
    rc = al_sh_push_argv_segment(&p, words, f, n, -1, 0);
  if (rc < 0) {
    if (err && *err == NULL)
      al_err(err, 0, "shell parse failed");
    al_shell_free(out);
    return -1;
  }
  finish_parents(out);
  return 0;
}
