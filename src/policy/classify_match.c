/* SPDX-License-Identifier: Apache-2.0 */
/* classify_match.c - one compiled match node against one segment: the
 * segment's options, operands and path candidates worked out once and
 * cached (segctx), then conditions checked cheapest first.  Kept apart from
 * classify.c, which only decides which patterns to try. */
#define _GNU_SOURCE
#include "classify_impl.h"

#include <string.h>

#include "cleanup.h"

#define MAX_RELATION_HOPS 64

static const cmdent *find_cmd(const al_catalogue *cat, const char *name) {
  hentry *e = al_cat_idx_slot(&cat->cmd_by_name, name);
  if (e && e->key)
    return cat->commands[e->vals[0]];
  for (size_t i = 0; i < cat->ncmd_glob; i++) {
    const cmdent *c = cat->commands[cat->cmd_glob[i]];
    size_t nl = strlen(name);
    for (size_t k = 0; k < c->names.npos; k++)
      if (!c->names.pos[k].literal && al_cat_cglob_plain(&c->names.pos[k], name, nl))
        return c;
  }
  return NULL;
}

static bool bit_get(const unsigned char *bm, unsigned char c) { return bm[c / 8] & (1u << (c % 8)); }
static void bit_set(unsigned char *bm, unsigned char c) { bm[c / 8] |= (unsigned char)(1u << (c % 8)); }

static bool str_in(const char *s, char *const *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(s, v[i]) == 0)
      return true;
  return false;
}

/* how many argv words, starting at i, the option word argv[i] uses (1 or 2) */
static size_t option_width(const cmdent *cmd, const char *a) {
  if (!cmd)
    return 1;
  if (a[1] == '-') {
    if (strchr(a, '='))
      return 1;
    return str_in(a, cmd->long_values, cmd->nlong_values) ? 2 : 1;
  }
  if (str_in(a, cmd->long_values, cmd->nlong_values)) /* -name style */
    return 2;
  for (size_t k = 1; a[k]; k++)
    if (bit_get(cmd->short_values, (unsigned char)a[k]))
      return a[k + 1] ? 1 : 2;
  return 1;
}

static bool is_option_word(const char *a) { return (a[0] == '-' && a[1] != '\0'); }

int al_cat_prepare(clsf *c, size_t i) {
  segctx *x = &c->ctx[i];
  if (x->ready)
    return 0;
  const al_segment *s = &c->sh->segs[i];
  x->ready = true;
  if (s->argc > 0 && !(s->flags & AL_SEG_UNRESOLVED_COMMAND))
    x->cmd = find_cmd(c->cat, s->name);
  x->pos = al_shell_alloc(c->sh, (s->argc + 1) * sizeof(char *));
  if (!x->pos) {
    c->failed = true;
    return -1;
  }
  bool dd = false, posix = x->cmd && x->cmd->posix_options;
  for (size_t j = 1; j < s->argc; j++) {
    const char *a = s->argv[j];
    if (dd || !is_option_word(a)) {
      x->pos[x->npos++] = a;
      if (posix)
        dd = true;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      dd = true;
      continue;
    }
    if (a[1] != '-' && !(x->cmd && str_in(a, x->cmd->long_values, x->cmd->nlong_values))) {
      for (size_t k = 1; a[k]; k++) {
        bit_set(x->shortf, (unsigned char)a[k]);
        if (x->cmd && bit_get(x->cmd->short_values, (unsigned char)a[k]))
          break;
      }
    }
    j += option_width(x->cmd, a) - 1;
  }
  return 0;
}

static const char *home_alias(al_shell *sh, const char *p) {
  const char *rest = NULL;
  if (strncmp(p, "/root", 5) == 0 && (p[5] == '/' || p[5] == '\0'))
    rest = p + 5;
  else if (strncmp(p, "/home/", 6) == 0 && p[6] && p[6] != '/') {
    const char *slash = strchr(p + 6, '/');
    rest = slash ? slash : p + strlen(p);
  }
  if (!rest)
    return NULL;
  size_t l = strlen(rest);
  char *a = al_shell_alloc(sh, l + 2);
  if (!a)
    return NULL;
  a[0] = '~';
  memcpy(a + 1, rest, l + 1);
  return a;
}

static bool make_split(al_shell *sh, const char *str, splitpath *out) {
  out->s = str;
  out->len = strlen(str);
  out->ncomps = al_cat_split_path(str, out->len, NULL, 0);
  out->comps = al_shell_alloc(sh, out->ncomps * sizeof(span));
  if (!out->comps)
    return false;
  al_cat_split_path(str, out->len, out->comps, out->ncomps);
  return true;
}

static int add_cand(clsf *c, segctx *x, size_t cap, const char *value, unsigned role, bool redirect) {
  if (x->npaths >= cap || value[0] == '\0')
    return 0;
  if (strstr(value, "://") && value[0] != '/' && value[0] != '.')
    return 0; /* a URL names no local file (curl https://x/key.key) */
  if (value[0] == '@' && value[1]) { /* curl -d @file */
    value++;
    role = ROLE_READ;
  }
  const char *norm = al_shell_normalise_path(c->sh, value, x->cwd);
  if (!norm)
    return 0;
  pathcand *p = &x->paths[x->npaths];
  memset(p, 0, sizeof(*p));
  const char *alias = home_alias(c->sh, norm);
  if (!make_split(c->sh, norm, &p->norm) || (alias && !make_split(c->sh, alias, &p->alias))) {
    c->failed = true;
    return -1;
  }
  p->role = role;
  p->redirect = redirect;
  x->npaths++;
  return 0;
}

/* grep -e PAT, -f FILE, --regexp=PAT, -rne PAT: the pattern came from an
 * option, so every positional is a path */
static bool pattern_from_option(const al_segment *s) {
  for (size_t j = 1; j < s->argc; j++) {
    const char *a = s->argv[j];
    if (strcmp(a, "--") == 0)
      return false;
    if (a[0] != '-' || a[1] == '\0')
      continue;
    if (a[1] == '-') {
      if (strncmp(a, "--regexp", 8) == 0 || strncmp(a, "--file", 6) == 0)
        return true;
      continue;
    }
    if (strpbrk(a + 1, "ef"))
      return true;
  }
  return false;
}

int al_cat_prepare_paths(clsf *c, size_t i) {
  segctx *x = &c->ctx[i];
  if (x->paths_ready)
    return 0;
  if (al_cat_prepare(c, i) < 0)
    return -1;
  x->paths_ready = true;
  const al_segment *s = &c->sh->segs[i];
  const cmdent *cmd = x->cmd;
  size_t cap = 2 * s->argc + s->n_redirs + 1;
  x->paths = al_shell_alloc(c->sh, cap * sizeof(pathcand));
  if (!x->paths) {
    c->failed = true;
    return -1;
  }
  int mode = cmd ? cmd->paths : PATHS_READ;
  size_t posn = 0;
  size_t pattern_at = cmd && cmd->pattern_operand && !pattern_from_option(s) ? (size_t)cmd->pattern_operand : 0;
  const char *first_pos = NULL;
  bool dd = false, posix = cmd && cmd->posix_options;
  for (size_t j = 1; j < s->argc; j++) {
    const char *a = s->argv[j];
    if (dd || !is_option_word(a)) {
      unsigned role = ROLE_READ;
      switch (mode) {
      case PATHS_WRITE: role = ROLE_WRITE; break;
      case PATHS_DELETE: role = ROLE_DELETE; break;
      case PATHS_NONE: role = ROLE_NONE; break;
      case PATHS_COPY: role = (x->npos >= 2 && posn == x->npos - 1) ? ROLE_WRITE : ROLE_READ; break;
      }
      posn++;
      if (!first_pos)
        first_pos = a;
      if (posn == pattern_at && (!cmd->pattern_subcommand || strcmp(first_pos, cmd->pattern_subcommand) == 0)) {
        if (posix)
          dd = true;
        continue; /* a search pattern (grep 'process.env' src) names no file */
      }
      if (cmd && cmd->noperands) {
        const char *eq = strchr(a, '=');
        for (size_t k = 0; eq && k < cmd->noperands; k++)
          if (strlen(cmd->operands[k].key) == (size_t)(eq - a) &&
              strncmp(a, cmd->operands[k].key, (size_t)(eq - a)) == 0) {
            static const unsigned roles[] = {ROLE_READ, ROLE_WRITE, ROLE_DELETE, ROLE_NONE};
            add_cand(c, x, cap, eq + 1, roles[cmd->operands[k].role], false);
          }
      }
      add_cand(c, x, cap, a, role, false);
      if (posix)
        dd = true;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      dd = true;
      continue;
    }
    size_t w = option_width(cmd, a);
    const char *value = NULL, *eq = a[1] == '-' ? strchr(a, '=') : NULL;
    char name[64];
    if (eq) {
      value = eq + 1;
      al_cat_fieldf(name, sizeof(name), "%.*s", (int)(eq - a), a);
    } else if (w == 2 && j + 1 < s->argc) {
      value = s->argv[j + 1];
      al_cat_fieldf(name, sizeof(name), "%s", a);
      if (a[1] != '-' && !(cmd && str_in(a, cmd->long_values, cmd->nlong_values)))
        al_cat_fieldf(name, sizeof(name), "-%c", a[strlen(a) - 1]);
    }
    if (value) {
      bool write = cmd && str_in(name, cmd->write_options, cmd->nwrite_options);
      add_cand(c, x, cap, value, write ? ROLE_WRITE : ROLE_READ, false);
    }
    j += w - 1;
  }
  for (size_t r = 0; r < s->n_redirs; r++) {
    const al_redir *d = &s->redirs[r];
    unsigned role = d->kind == AL_REDIR_IN                                    ? ROLE_READ
                    : (d->kind == AL_REDIR_OUT || d->kind == AL_REDIR_APPEND) ? ROLE_WRITE
                    : d->kind == AL_REDIR_INOUT                               ? (ROLE_READ | ROLE_WRITE)
                                                                              : 0;
    if (role)
      add_cand(c, x, cap, d->target, role, true);
  }
  return 0;
}

static bool gs_plain(const globset *g, const char *s) {
  size_t n = strlen(s);
  bool hit = g->npos == 0;
  for (size_t i = 0; !hit && i < g->npos; i++)
    hit = al_cat_cglob_plain(&g->pos[i], s, n);
  if (!hit)
    return false;
  for (size_t i = 0; i < g->nneg; i++)
    if (al_cat_cglob_plain(&g->neg[i], s, n))
      return false;
  return true;
}

static bool gs_path(const globset *g, const splitpath *p) {
  bool hit = g->npos == 0;
  for (size_t i = 0; !hit && i < g->npos; i++)
    hit = al_cat_glob_path_split(&g->pos[i], p->s, p->len, p->comps, p->ncomps);
  if (!hit)
    return false;
  for (size_t i = 0; i < g->nneg; i++)
    if (al_cat_glob_path_split(&g->neg[i], p->s, p->len, p->comps, p->ncomps))
      return false;
  return true;
}

static bool cand_match(const globset *g, const pathcand *p) {
  return gs_path(g, &p->norm) || (p->alias.s && gs_path(g, &p->alias));
}

static bool flag_present(const segctx *x, const al_segment *s, const char *alt) {
  size_t l = strlen(alt);
  if (l == 2 && alt[0] == '-' && alt[1] != '-')
    return bit_get(x->shortf, (unsigned char)alt[1]);
  bool long_form = alt[0] == '-' && alt[1] == '-';
  for (size_t j = 1; j < s->argc; j++) {
    const char *a = s->argv[j];
    if (strcmp(a, "--") == 0)
      break;
    if (strcmp(a, alt) == 0)
      return true;
    if (long_form && strncmp(a, alt, l) == 0 && a[l] == '=')
      return true;
  }
  return false;
}

/* the program an interpreter reads from its here-doc or here-string
 * (python3 - <<EOF), seen by arg_regex and argline_regex as inline code */
static const char *stdin_program(const al_segment *s) {
  if (!(s->flags & AL_SEG_STDIN_PROGRAM))
    return NULL;
  for (size_t r = 0; r < s->n_redirs; r++) {
    if (s->redirs[r].kind == AL_REDIR_HEREDOC && s->redirs[r].body)
      return s->redirs[r].body;
    if (s->redirs[r].kind == AL_REDIR_HERESTRING && !s->redirs[r].unresolved)
      return s->redirs[r].target;
  }
  return NULL;
}

static bool group_present(const segctx *x, const al_segment *s, const altgroup *g) {
  for (size_t i = 0; i < g->n; i++)
    if (flag_present(x, s, g->alts[i]))
      return true;
  return false;
}

static bool re_any(const relist *r, const char *s) {
  for (size_t i = 0; i < r->n; i++)
    if (regexec(&r->re[i], s, 0, NULL, 0) == 0)
      return true;
  return false;
}

static bool value_ok(const optcond *o, const char *v) {
  if (o->value.npos == 0 && o->value.nneg == 0 && o->value_re.n == 0)
    return true;
  if ((o->value.npos || o->value.nneg) && gs_plain(&o->value, v))
    return true;
  return o->value_re.n && re_any(&o->value_re, v);
}

static bool option_match(const segctx *x, const al_segment *s, const optcond *o) {
  for (size_t j = 1; j < s->argc; j++) {
    const char *a = s->argv[j];
    if (strcmp(a, "--") == 0)
      break;
    const char *next = j + 1 < s->argc ? s->argv[j + 1] : NULL;
    for (size_t k = 0; k < o->names.n; k++) {
      const char *alt = o->names.alts[k];
      size_t l = strlen(alt);
      if (strcmp(a, alt) == 0) {
        if (next && value_ok(o, next))
          return true;
        continue;
      }
      if (alt[0] == '-' && alt[1] == '-') {
        if (strncmp(a, alt, l) == 0 && a[l] == '=' && value_ok(o, a + l + 1))
          return true;
        continue;
      }
      if (l == 2 && a[0] == '-' && a[1] != '-') { /* in a cluster: -sSd @file, -XPOST */
        for (size_t m = 1; a[m]; m++) {
          if (a[m] == alt[1]) {
            const char *v = a[m + 1] ? a + m + 1 : next;
            if (v && value_ok(o, v))
              return true;
            break;
          }
          if (x->cmd && bit_get(x->cmd->short_values, (unsigned char)a[m]))
            break; /* the rest is another option's value */
        }
      }
    }
  }
  return false;
}

static bool is_decl(const char *name) {
  static const char *const decl[] = {"export", "declare", "typeset", "local", "readonly"};
  for (size_t i = 0; i < AL_ARRAY_SIZE(decl); i++)
    if (strcmp(name, decl[i]) == 0)
      return true;
  return false;
}

static bool assign_match(const al_segment *s, const globset *g) {
  for (size_t i = 0; i < s->n_assigns; i++)
    if (gs_plain(g, s->assigns[i]))
      return true;
  if (s->argc > 0 && is_decl(s->name))
    for (size_t i = 1; i < s->argc; i++)
      if (strchr(s->argv[i], '=') && gs_plain(g, s->argv[i]))
        return true;
  return false;
}

/* segments whose output reaches i (input) or that i's output reaches */
static bool related_match(clsf *c, const mnode *m, size_t i, int depth, bool input) {
  const al_shell *sh = c->sh;
  size_t stack[MAX_RELATION_HOPS + 8];
  size_t top = 0, visited = 0;
  uint64_t seen[AL_SHELL_MAX_SEGMENTS / 64] = {0};
  size_t cur = i;
  seen[cur / 64] |= 1ull << (cur % 64);
  for (;;) {
    /* push the neighbours of cur */
    const al_segment *s = &sh->segs[cur];
    size_t nb[3 + 1];
    size_t nn = 0;
    if (input && s->pipe_from >= 0)
      nb[nn++] = (size_t)s->pipe_from;
    if (!input && s->pipe_to >= 0)
      nb[nn++] = (size_t)s->pipe_to;
    if (!input && (s->flags & AL_SEG_FEEDS_PARENT) && s->parent >= 0)
      nb[nn++] = (size_t)s->parent;
    for (size_t k = 0; k < nn; k++)
      if (!(seen[nb[k] / 64] & (1ull << (nb[k] % 64))) && top < AL_ARRAY_SIZE(stack)) {
        seen[nb[k] / 64] |= 1ull << (nb[k] % 64);
        stack[top++] = nb[k];
      }
    for (size_t k = c->child_off[cur]; k < c->child_off[cur + 1]; k++) {
      size_t ch = c->child[k];
      unsigned want = input ? AL_SEG_FEEDS_PARENT : AL_SEG_FED_BY_PARENT;
      if ((sh->segs[ch].flags & want) && !(seen[ch / 64] & (1ull << (ch % 64))) && top < AL_ARRAY_SIZE(stack)) {
        seen[ch / 64] |= 1ull << (ch % 64);
        stack[top++] = ch;
      }
    }
    if (top == 0 || visited >= MAX_RELATION_HOPS)
      return false;
    cur = stack[--top];
    visited++;
    if (al_cat_match_node(c, m, cur, depth + 1))
      return true;
  }
}

static bool tri_ok(int want, bool have) { return want == TRI_UNSET || (want == TRI_TRUE) == have; }

bool al_cat_match_node(clsf *c, const mnode *m, size_t i, int depth) {
  if (depth > 2 * MAX_MATCH_NESTING || c->failed)
    return false;
  const al_segment *s = &c->sh->segs[i];
  bool unresolved = s->flags & AL_SEG_UNRESOLVED_COMMAND;
  uint64_t name_bit = 0;
  if ((m->have & (C_COMMAND | C_COMMAND_NOT)) && s->argc > 0 && !unresolved) {
    if (!c->ctx[i].name_bit)
      c->ctx[i].name_bit = al_cat_bloom_bit(s->name);
    name_bit = c->ctx[i].name_bit;
  }
  if (m->have & C_COMMAND) {
    if (unresolved) {
      if (!m->evidence)
        return false; /* an unknown command matches a command list only through positive evidence */
    } else if (s->argc == 0 || (m->command.all_literal && !(m->command.bloom & name_bit)) ||
               !gs_plain(&m->command, s->name)) {
      return false;
    }
  }
  if ((m->have & C_COMMAND_NOT) && !unresolved && s->argc > 0 &&
      !(m->command_not.all_literal && !(m->command_not.bloom & name_bit)) && gs_plain(&m->command_not, s->name))
    return false;
  if (m->have & C_WRAPPER) {
    bool hit = false;
    for (size_t k = 0; !hit && k < s->n_wrappers; k++)
      hit = gs_plain(&m->wrapper, s->wrappers[k]);
    /* find -exec CMD {} runs CMD on each file found, as xargs does */
    const al_segment *up = s->parent >= 0 ? &c->sh->segs[s->parent] : NULL;
    if (!hit && up && (s->flags & AL_SEG_NESTED) && up->argc > 0 && strcmp(up->name, "find") == 0)
      hit = gs_plain(&m->wrapper, "find");
    if (!hit)
      return false;
  }
  if (!tri_ok(m->dynamic, unresolved) || !tri_ok(m->piped_into, s->flags & AL_SEG_PIPED_INTO) ||
      !tri_ok(m->pipes_out, s->flags & AL_SEG_PIPES_OUT) || !tri_ok(m->background, s->flags & AL_SEG_BACKGROUND) ||
      !tri_ok(m->remote, s->flags & AL_SEG_REMOTE))
    return false;
  if (m->runs_fetched != TRI_UNSET && !tri_ok(m->runs_fetched, al_cat_runs_fetched(c, i)))
    return false;
  if (m->stdin_text != TRI_UNSET) {
    bool text = false; /* crontab <<EOF ... EOF: stdin is text in the command line */
    for (size_t k = 0; k < s->n_redirs; k++)
      text |= (s->redirs[k].kind == AL_REDIR_HEREDOC || s->redirs[k].kind == AL_REDIR_HERESTRING) &&
              s->redirs[k].fd <= 0;
    if (!tri_ok(m->stdin_text, text))
      return false;
  }
  if (m->recursive_call != TRI_UNSET) {
    bool rec = s->function && s->argc > 0 && strcmp(s->argv[0], s->function) == 0;
    if (!tri_ok(m->recursive_call, rec))
      return false;
  }
  if (m->have & C_ASSIGN && !assign_match(s, &m->assign))
    return false;
  if (m->nredirects) {
    if (al_cat_prepare_paths(c, i) < 0)
      return false;
    const segctx *x = &c->ctx[i];
    for (size_t k = 0; k < m->nredirects; k++) {
      const redircond *rc = &m->redirects[k];
      unsigned want = rc->dir == DIR_IN ? ROLE_READ : rc->dir == DIR_OUT ? ROLE_WRITE : (ROLE_READ | ROLE_WRITE);
      bool hit = false;
      for (size_t p = 0; !hit && p < x->npaths; p++)
        hit = x->paths[p].redirect && (x->paths[p].role & want) && cand_match(&rc->path, &x->paths[p]);
      if (!hit)
        return false;
    }
  }
  bool need_args = m->have & (C_SUBCOMMAND | C_ARG | C_ARG_RE | C_ARGLINE_RE | C_PATH | C_READ_PATH | C_WRITE_PATH);
  if (need_args || m->nflags || m->nflags_absent || m->noptions || m->no_positionals != TRI_UNSET) {
    if (al_cat_prepare(c, i) < 0)
      return false;
    segctx *x = &c->ctx[i];
    if (!tri_ok(m->no_positionals, x->npos == 0))
      return false;
    if ((m->have & C_SUBCOMMAND) && (x->npos == 0 || !gs_plain(&m->subcommand, x->pos[0])))
      return false;
    for (size_t k = 0; k < m->nflags; k++)
      if (!group_present(x, s, &m->flags[k]))
        return false;
    for (size_t k = 0; k < m->nflags_absent; k++)
      if (group_present(x, s, &m->flags_absent[k]))
        return false;
    if (m->have & C_ARG) {
      bool hit = false;
      for (size_t j = 1; !hit && j < s->argc; j++)
        hit = gs_plain(&m->arg, s->argv[j]);
      if (!hit)
        return false;
    }
    const char *program = stdin_program(s);
    if (m->have & C_ARG_RE) {
      bool hit = program && re_any(&m->arg_re, program);
      for (size_t j = 1; !hit && j < s->argc; j++)
        hit = re_any(&m->arg_re, s->argv[j]);
      if (!hit)
        return false;
    }
    if (m->have & C_ARGLINE_RE) {
      if (!x->argline) {
        size_t len = 1 + (program ? strlen(program) + 1 : 0);
        for (size_t j = 1; j < s->argc; j++)
          len += strlen(s->argv[j]) + 1;
        char *l = al_shell_alloc(c->sh, len);
        if (!l) {
          c->failed = true;
          return false;
        }
        size_t o = 0;
        for (size_t j = 1; j < s->argc; j++) {
          size_t al = strlen(s->argv[j]);
          if (j > 1)
            l[o++] = ' ';
          memcpy(l + o, s->argv[j], al);
          o += al;
        }
        if (program) { /* python3 - <<EOF: the program is an argument, as with -c */
          if (o > 0)
            l[o++] = ' ';
          memcpy(l + o, program, strlen(program));
          o += strlen(program);
        }
        l[o] = '\0';
        x->argline = l;
      }
      if (!re_any(&m->argline_re, x->argline))
        return false;
    }
    for (size_t k = 0; k < m->noptions; k++)
      if (!option_match(x, s, &m->options[k]))
        return false;
    if (m->have & (C_PATH | C_READ_PATH | C_WRITE_PATH)) {
      if (al_cat_prepare_paths(c, i) < 0)
        return false;
      const struct {
        unsigned bit;
        const globset *g;
      } pk[] = {{C_PATH, &m->path}, {C_READ_PATH, &m->read_path}, {C_WRITE_PATH, &m->write_path}};
      for (size_t q = 0; q < AL_ARRAY_SIZE(pk); q++) {
        if (!(m->have & pk[q].bit))
          continue;
        bool hit = false;
        for (size_t p = 0; !hit && p < x->npaths; p++) {
          const pathcand *pc = &x->paths[p];
          bool eligible = pk[q].bit == C_PATH        ? !pc->redirect
                          : pk[q].bit == C_READ_PATH ? (pc->role & ROLE_READ) != 0
                                                     : (pc->role & ROLE_WRITE) != 0;
          hit = eligible && cand_match(pk[q].g, pc);
        }
        if (!hit)
          return false;
      }
    }
  }
  if (m->input_from && !related_match(c, m->input_from, i, depth, true))
    return false;
  if (m->output_to && !related_match(c, m->output_to, i, depth, false))
    return false;
  if (m->not &&al_cat_match_node(c, m->not, i, depth + 1))
    return false;
  if (m->nany) {
    bool hit = false;
    for (size_t k = 0; !hit && k < m->nany; k++)
      hit = al_cat_match_node(c, &m->any[k], i, depth + 1);
    if (!hit)
      return false;
  }
  return !c->failed;
}
