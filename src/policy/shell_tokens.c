/* SPDX-License-Identifier: Apache-2.0 */
/* shell_tokens.c - the shell reader's lexer exposed with source offsets
 * (shell_tokens.h).  Kept apart from the grammar files: it only drives
 * al_sh_peek() over a string and reads here-document bodies itself, so
 * that redaction sees the same words as the classifier without the parser
 * having to carry positions. */
#define _GNU_SOURCE
#include "shell_tokens.h"
#include "shell_parse_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"

static bool is_keyword(const char *w) {
  static const char *const kw[] = {"if",   "then", "else", "elif", "fi", "do", "done", "while",
                                   "until", "{",   "}",    "!",    "time", NULL};
  return al_sh_in_list(w, kw);
}

typedef struct {
  al_shell_token *v;
  size_t n, cap;
} tokvec;

static int push(tokvec *tv, al_shell_token t) {
  if (tv->n == tv->cap) {
    size_t ncap = tv->cap ? tv->cap * 2 : 32;
    al_shell_token *g = reallocarray(tv->v, ncap, sizeof(*g));
    if (g == NULL)
      return -1;
    tv->v = g;
    tv->cap = ncap;
  }
  tv->v[tv->n++] = t;
  return 0;
}

/* the body of a here-doc starting at p->pos, up to its delimiter line */
static void skip_heredoc(parser *p, const char *delim, bool strip_tabs, size_t *bstart, size_t *bend) {
  size_t dl = strlen(delim), pos = p->pos;
  *bstart = pos;
  *bend = p->len;
  while (pos < p->len) {
    const char *nl = memchr(p->s + pos, '\n', p->len - pos);
    size_t line_end = nl ? (size_t)(nl - p->s) : p->len, ls = pos;
    while (strip_tabs && ls < line_end && p->s[ls] == '\t')
      ls++;
    if (line_end - ls == dl && memcmp(p->s + ls, delim, dl) == 0) {
      *bend = pos;
      p->pos = nl ? line_end + 1 : p->len;
      return;
    }
    pos = nl ? line_end + 1 : p->len;
  }
  p->pos = p->len;
}

int al_shell_tokens(const char *input, al_shell *sh, al_shell_token **toks, size_t *n, airlock_error **err) {
  memset(sh, 0, sizeof(*sh));
  *toks = NULL;
  *n = 0;
  if (input == NULL)
    return al_err(err, EINVAL, "shell tokens: no command string");
  size_t len = strnlen(input, AL_SHELL_MAX_INPUT + 1);
  if (len > AL_SHELL_MAX_INPUT)
    return al_err(err, 0, "shell tokens: command string longer than %d bytes", AL_SHELL_MAX_INPUT);
  _cleanup_free_ vartab *vars = calloc(1, sizeof(*vars));
  if (vars == NULL)
    return al_err(err, ENOMEM, "shell tokens");
  parser p;
  memset(&p, 0, sizeof(p));
  p.s = input;
  p.len = len;
  p.sh = sh;
  p.vars = vars;
  p.default_parent = -1;
  p.err = err;
  tokvec tv = {0};
  struct {
    const char *delim;
    bool strip;
  } pending[32];
  size_t npending = 0;
  bool cmd_start = true, redir_next = false, heredoc_next = false, heredoc_strip = false;
  int rc = 0;
  for (;;) {
    token *t = al_sh_peek(&p);
    if (t == NULL) {
      rc = -1;
      break;
    }
    if (t->type == T_EOF)
      break;
    token cur = *t;
    size_t end = p.pos;
    consume(&p);
    if (cur.type == T_WORD) {
      al_shell_token st = {.kind = AL_STOK_WORD, .start = cur.start, .end = end, .text = cur.text,
                           .cmd_start = cmd_start && !redir_next, .redir_target = redir_next};
      if (push(&tv, st) < 0) {
        rc = al_err(err, ENOMEM, "shell tokens");
        break;
      }
      if (heredoc_next && npending < AL_ARRAY_SIZE(pending))
      {
        pending[npending].delim = cur.text;
        pending[npending++].strip = heredoc_strip;
      }
      if (!redir_next)
        cmd_start = is_keyword(cur.text);
      redir_next = heredoc_next = false;
      continue;
    }
    redir_next = heredoc_next = false;
    if (cur.type == T_REDIR) {
      redir_next = true;
      heredoc_next = cur.rkind == AL_REDIR_HEREDOC;
      heredoc_strip = cur.strip_tabs;
      continue;
    }
    cmd_start = true;
    if (cur.type == T_NEWLINE) {
      for (size_t i = 0; i < npending; i++) {
        size_t bs, be;
        skip_heredoc(&p, pending[i].delim, pending[i].strip, &bs, &be);
        if (push(&tv, (al_shell_token){.kind = AL_STOK_HEREDOC, .start = bs, .end = be, .text = ""}) < 0) {
          rc = al_err(err, ENOMEM, "shell tokens");
          break;
        }
      }
      npending = 0;
      if (rc < 0)
        break;
    }
  }
  if (rc < 0) {
    if (err && *err == NULL)
      al_err(err, 0, "shell tokens failed");
    free(tv.v);
    al_shell_free(sh);
    return -1;
  }
  *toks = tv.v;
  *n = tv.n;
  return 0;
}
