/* SPDX-License-Identifier: Apache-2.0 */
/* shell_command.c - what a simple command becomes once its words are read:
 * the words collected (builder), the wrappers looked through (sudo, env,
 * xargs, ...), the segment pushed with its variables tracked, and the code
 * it holds (sh -c, eval, ssh HOST CMD, find -exec) parsed as nested segments. */
#define _GNU_SOURCE
#include "shell_parse_impl.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"

/* $ROOT/bin/NAME or ${ROOT}/.../bin/NAME where ROOT is a toolchain's own
 * directory (a virtualenv, conda, a JDK, Go, Cargo): the program is NAME from
 * that toolchain, whatever the directory is. */
static bool toolchain_bin(const char *w) {
  static const char *const roots[] = {"VIRTUAL_ENV", "CONDA_PREFIX", "JAVA_HOME", "GOROOT", "GOPATH",
                                      "CARGO_HOME", "PYENV_ROOT", "NVM_DIR", "NVM_BIN", "VOLTA_HOME",
                                      "BUN_INSTALL", "DENO_INSTALL", "HOMEBREW_PREFIX", "ANDROID_HOME",
                                      "ANDROID_SDK_ROOT", "SDKMAN_DIR", "MAMBA_ROOT_PREFIX", NULL};
  if (w[0] != '$')
    return false;
  bool brace = w[1] == '{';
  const char *n = w + 1 + brace;
  size_t l = strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
  if (l == 0 || (brace && n[l] != '}'))
    return false;
  const char *rest = n + l + brace;
  bool known = false;
  for (size_t i = 0; roots[i] && !known; i++)
    known = strlen(roots[i]) == l && strncmp(roots[i], n, l) == 0;
  const char *slash = strrchr(rest, '/');
  if (!known || rest[0] != '/' || slash == NULL || slash - rest < 4 || strncmp(slash - 4, "/bin/", 5) != 0 ||
      slash[1] == '\0' || strstr(rest, ".."))
    return false;
  const char *base = slash + 1;
  return strspn(base, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") == strlen(base) &&
         strspn(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-/") == strlen(rest);
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash && slash[1] ? slash + 1 : path;
}

/* --- building a segment ------------------------------------------------------ */

void al_sh_builder_free(parser *p, builder *b) {
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

int al_sh_builder_word(parser *p, builder *b, char *w, unsigned f) {
  if (b->nwords + 2 > b->capwords) {
    size_t c = b->capwords ? b->capwords * 2 : 8;
    char **nw = realloc(b->words, c * sizeof(*nw));
    if (nw == NULL)
      return al_sh_fail_nomem(p);
    b->words = nw;
    unsigned *nf = realloc(b->wflags, c * sizeof(*nf));
    if (nf == NULL)
      return al_sh_fail_nomem(p);
    b->wflags = nf;
    b->capwords = c;
  }
  b->words[b->nwords] = w;
  b->wflags[b->nwords] = f;
  b->nwords++;
  return 0;
}

int al_sh_builder_assign(parser *p, builder *b, char *w, unsigned f) {
  if (b->nassigns + 1 > b->capassigns) {
    size_t c = b->capassigns ? b->capassigns * 2 : 4;
    char **nw = realloc(b->assigns, c * sizeof(*nw));
    if (nw == NULL)
      return al_sh_fail_nomem(p);
    b->assigns = nw;
    unsigned *nf = realloc(b->aflags, c * sizeof(*nf));
    if (nf == NULL)
      return al_sh_fail_nomem(p);
    b->aflags = nf;
    b->capassigns = c;
  }
  b->assigns[b->nassigns] = w;
  b->aflags[b->nassigns] = f;
  b->nassigns++;
  return 0;
}

/* --- wrappers ---------------------------------------------------------------- */

/* Where the wrapped command starts in words[at..n), or 0 when words[at] is
 * not acting as a wrapper here (no command follows, command -v, env -S).
 * env's NAME=value words are reported through *env_from / *env_to. */
static size_t skip_wrapper(const al_sh_wrapper *w, char **words, size_t at, size_t n, size_t *env_from,
                           size_t *env_to) {
  size_t j = at + 1;
  while (j < n) {
    const char *a = words[j];
    if (strcmp(a, "--") == 0) {
      j++;
      break;
    }
    if (a[0] != '-' || a[1] == '\0')
      break;
    if (w->kind == AL_WRAP_COMMAND && (strchr(a + 1, 'v') || strchr(a + 1, 'V')))
      return 0;
    if (w->kind == AL_WRAP_ENV && (strncmp(a, "-S", 2) == 0 || strncmp(a, "--split-string", 14) == 0))
      return 0;
    /* npx -c 'CMD' runs code (a code option), not a package */
    if (w->kind == AL_WRAP_RUNNER && (strcmp(a, "-c") == 0 || strncmp(a, "--call", 6) == 0))
      return 0;
    if (a[1] == '-') {
      j += (!strchr(a, '=') && al_sh_in_list(a, (const char *const *)w->long_values)) ? 2 : 1;
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
  if (w->kind == AL_WRAP_ENV || w->assignments) {
    while (j < n && al_sh_assignment_prefix(words[j]) > 0)
      j++;
    *env_to = j;
  }
  j += (size_t)w->operands;
  /* no command follows (flock FILE -c CMD, parallel ::: a b): not a wrapper here */
  if (j >= n || words[j][0] == '-' || strncmp(words[j], ":::", 3) == 0)
    return 0;
  /* a package runner runs a package by name (npx wrangler deploy); a spec
   * naming where it comes from (github:u/r, a URL, a path, name@version)
   * is judged as the runner's own argument */
  if (w->kind == AL_WRAP_RUNNER && strpbrk(words[j], ":/@") != NULL)
    return 0;
  return j;
}

/* --- segments ------------------------------------------------------------------ */

static int handle_code(parser *p, int k, char **argv, unsigned *aflags, size_t argc);

static int push_segment(parser *p, al_segment *seg, size_t first, builder *b, int parent, int depth) {
  al_shell *sh = p->sh;
  if (sh->n >= AL_SHELL_MAX_SEGMENTS)
    return al_sh_fail_fatal(p, "more than " AL_STR(AL_SHELL_MAX_SEGMENTS) " segments");
  if (sh->n == sh->cap) {
    size_t cap = sh->cap ? sh->cap * 2 : 16;
    al_segment *n = realloc(sh->segs, cap * sizeof(*n));
    if (n == NULL)
      return al_sh_fail_nomem(p);
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
  return assign + al_sh_assignment_prefix(assign);
}

static int assign_var(parser *p, const char *a, unsigned f) {
  size_t pre = al_sh_assignment_prefix(a);
  if (pre == 0)
    return 0;
  bool append = a[pre - 2] == '+';
  size_t nl = pre - (append ? 2 : 1);
  const char *v = value_after_eq(a, f);
  if (append && v) {
    const char *old = NULL;
    if (!al_sh_var_get(p, a, nl, &old))
      v = NULL;
    else {
      size_t ol = strlen(old), vl = strlen(v);
      char *c = al_shell_alloc(p->sh, ol + vl + 1);
      if (c == NULL)
        return al_sh_fail_nomem(p);
      memcpy(c, old, ol);
      memcpy(c + ol, v, vl + 1);
      v = c;
    }
  }
  return al_sh_var_set(p, a, nl, v);
}

/* Variables the command changes for what follows: export X=1, unset X, read X. */
static int track_vars(parser *p, char **argv, unsigned *f, size_t argc) {
  if (argc == 0)
    return 0;
  static const char *const decl[] = {"export", "declare", "typeset", "local", "readonly", NULL};
  const char *name = argv[0];
  if (al_sh_in_list(name, decl)) {
    for (size_t i = 1; i < argc; i++)
      if (al_sh_assignment_prefix(argv[i]) && assign_var(p, argv[i], f[i]) < 0)
        return -1;
  } else if (strcmp(name, "cd") == 0 || strcmp(name, "pushd") == 0) {
    /* cd DIR: $OLDPWD is where we were ("." the project root), $PWD DIR when absolute */
    const char *pwd = NULL;
    al_sh_var_get(p, "PWD", 3, &pwd);
    if (al_sh_var_set(p, "OLDPWD", 6, pwd) < 0)
      return -1;
    const char *to = argc > 1 && !(f[argc - 1] & F_UNRESOLVED) ? argv[argc - 1] : NULL;
    if (al_sh_var_set(p, "PWD", 3, to && (to[0] == '/' || to[0] == '~') ? to : NULL) < 0)
      return -1;
  } else if (strcmp(name, "unset") == 0 || strcmp(name, "read") == 0 || strcmp(name, "mapfile") == 0) {
    for (size_t i = 1; i < argc; i++)
      if (argv[i][0] != '-')
        al_sh_var_unset(p, argv[i]);
  }
  return 0;
}

int al_sh_finish_command(parser *p, builder *b, cmdparts *c, size_t first, int parent, int depth, unsigned extra) {
  al_segment seg;
  memset(&seg, 0, sizeof(seg));
  seg.flags = extra;
  if (c->nwords == 0)
    for (size_t i = 0; i < c->nassigns; i++)
      if (assign_var(p, c->assigns[i], c->aflags[i]) < 0)
        return -1;
  /* look through wrappers */
  size_t start = 0, nwrap = 0;
  bool parallel = false;
  size_t env_from[16], env_to[16];
  const char *wrapnames[16];
  while (start < c->nwords && nwrap < AL_ARRAY_SIZE(wrapnames)) {
    if (c->wflags[start] & F_UNRESOLVED)
      break;
    const char *wname = base_name(c->words[start]);
    const al_sh_wrapper *w = al_sh_find_wrapper(wname);
    if (w == NULL)
      break;
    size_t next = skip_wrapper(w, c->words, start, c->nwords, &env_from[nwrap], &env_to[nwrap]);
    if (next == 0)
      break;
    parallel |= w->kind == AL_WRAP_PARALLEL;
    if (w->kind == AL_WRAP_RUNNER)
      seg.flags |= AL_SEG_PACKAGE_RUN;
    wrapnames[nwrap++] = wname;
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
    return al_sh_fail_nomem(p);
  size_t kept = 0;
  for (size_t i = 0; i < argc; i++) {
    /* parallel CMD ::: A B runs CMD A and CMD B: the arguments are CMD's */
    if (parallel && kept > 0 && strncmp(c->words[start + i], ":::", 3) == 0)
      continue;
    seg.argv[kept] = c->words[start + i];
    af[kept] = c->wflags[start + i];
    if (kept > 0 && (af[kept] & F_UNRESOLVED))
      seg.flags |= AL_SEG_UNRESOLVED_ARGS;
    kept++;
  }
  argc = kept;
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
    if ((af[0] & F_UNRESOLVED) && toolchain_bin(seg.argv[0]))
      af[0] &= ~F_UNRESOLVED; /* "$VIRTUAL_ENV/bin/python" is python */
    if (af[0] & F_UNRESOLVED)
      seg.flags |= AL_SEG_UNRESOLVED_COMMAND;
    if (strchr(seg.argv[0], '/') && !(af[0] & F_UNRESOLVED) && seg.argv[0][0] != '$') {
      const char *norm = al_shell_normalise_path(p->sh, seg.argv[0], NULL);
      /* a relative path stays one (./run.sh is not run.sh from $PATH) */
      if (norm && !strchr(norm, '/')) {
        size_t l = strlen(norm);
        char *rel = al_shell_alloc(p->sh, l + 3);
        if (rel == NULL)
          return al_sh_fail_nomem(p);
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
  if (argc > 0 && !(af[0] & F_UNRESOLVED) && al_sh_xargs_herestring(p, k) < 0)
    return -1;
  return k;
}

/* --- code held by a command: sh -c, eval, su -c, ssh HOST CMD, find -exec ------ */

/* Parse code as nested segments of segment k.  A syntax error inside only
 * marks k AL_SEG_CODE_OPAQUE; limits still fail the whole parse. */
int al_sh_parse_code(parser *p, int k, const char *code, unsigned extra) {
  int r = al_sh_parse_string(p, code, strlen(code), k, extra, ORIGIN_NONE, true);
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
  return al_sh_parse_code(p, k, code, extra);
}

/* argv[from..argc) joined with spaces, as eval and ssh do */
static int code_join(parser *p, int k, char **argv, unsigned *f, size_t from, size_t argc, unsigned extra) {
  if (from >= argc)
    return 0;
  strbuf b;
  al_sh_sb_init(&b);
  bool ok = true;
  unsigned any = 0;
  for (size_t i = from; i < argc; i++) {
    any |= f[i];
    ok &= (i == from || al_sh_sb_putc(&b, ' ')) && al_sh_sb_putn(&b, argv[i], strlen(argv[i]));
  }
  char *code = ok ? al_sh_pdup(p, b.len ? b.buf : "", b.len) : NULL;
  al_sh_sb_free(&b);
  if (code == NULL)
    return al_sh_fail_nomem(p);
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
bool al_sh_stdin_shell(const al_segment *s) {
  if (s->argc == 0 || !al_shell_is_shell(s->name))
    return false;
  bool c, sflag;
  size_t op = shell_operands(s->argv, s->argc, &c, &sflag);
  return !c && (sflag || op >= s->argc);
}

/* the value of option opt in argv[i] (and argv[i + 1]): -c V, -cV, -qc V,
 * --command V, --command=V, and prefixes such as --checkpoint-action=exec=V */
static const char *option_value(const char *opt, char **argv, size_t i, size_t argc, size_t *used) {
  const char *a = argv[i];
  size_t ol = strlen(opt);
  const char *next = i + 1 < argc ? argv[i + 1] : NULL;
  *used = 1;
  if (ol > 1 && (opt[ol - 1] == '=' || opt[ol - 1] == ':'))
    return strncmp(a, opt, ol) == 0 ? a + ol : NULL;
  if (strcmp(a, opt) == 0) {
    *used = 2;
    return next;
  }
  if (opt[0] == '-' && opt[1] == '-')
    return strncmp(a, opt, ol) == 0 && a[ol] == '=' ? a + ol + 1 : NULL;
  if (strcmp(opt, "+") == 0)
    return a[0] == '+' && a[1] ? a + 1 : NULL;
  if (ol == 2 && opt[0] == '-' && a[0] == '-' && a[1] != '-') { /* in a cluster: script -qc CMD */
    const char *at = strchr(a + 1, opt[1]);
    if (at == NULL)
      return NULL;
    if (at[1])
      return at + 1;
    *used = 2;
    return next;
  }
  return NULL;
}

/* options whose value is shell code (data/exec-commands.json "code_options") */
static int code_options(parser *p, int k, char **argv, unsigned *f, size_t argc) {
  const al_sh_registry *r = al_sh_registry_get();
  const char *name = p->sh->segs[k].name;
  for (size_t e = 0; r && e < r->ncode_options; e++) {
    const al_sh_code_option *co = &r->code_options[e];
    if (!al_sh_name_in(co->names, name))
      continue;
    for (size_t i = 1; i < argc; i++) {
      if (strcmp(argv[i], "--") == 0)
        break;
      for (size_t o = 0; co->options[o]; o++) {
        size_t used;
        const char *v = option_value(co->options[o], argv, i, argc, &used);
        if (v == NULL)
          continue;
        unsigned vf = f[i + used - 1];
        if (co->values[0] && !al_sh_name_in(co->values, v))
          break;
        for (size_t c = 0; co->code_after[c]; c++) {
          const char *at = strstr(v, co->code_after[c]);
          if (at) {
            v = at + strlen(co->code_after[c]);
            break;
          }
        }
        if (code_arg(p, k, v, vf, 0) < 0)
          return -1;
        i += used - 1;
        break;
      }
    }
  }
  return 0;
}

/* the program given inline to an interpreter (python3 -c, node -e, awk 'PROG') */
static int inline_program(parser *p, int k, const al_sh_interpreter *in, char **argv, unsigned *f, size_t argc) {
  size_t i = 1;
  if (in->subcommand[0] && argc > 2 && strcmp(argv[1], in->subcommand) == 0)
    return al_sh_inline_code(p, k, in->language, argv[2]);
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (a[0] != '-' || a[1] == '\0')
      break;
    if (al_sh_in_list(a, (const char *const *)in->file_options))
      return 0; /* the program is a file: read at approval time, not here */
    for (size_t o = 0; in->options[o]; o++) {
      size_t used;
      const char *v = option_value(in->options[o], argv, i, argc, &used);
      if (v == NULL)
        continue;
      if (f[i + used - 1] & F_UNRESOLVED) {
        p->sh->segs[k].flags |= AL_SEG_CODE_OPAQUE;
        return 0;
      }
      return al_sh_inline_code(p, k, in->language, v);
    }
    if (strcmp(a, "-v") == 0 || strcmp(a, "-F") == 0) /* awk -v x=1 -F: */
      i++;
  }
  if (in->program_first && i < argc) {
    if (f[i] & F_UNRESOLVED) {
      p->sh->segs[k].flags |= AL_SEG_CODE_OPAQUE;
      return 0;
    }
    return al_sh_inline_code(p, k, in->language, argv[i]);
  }
  /* python3 - <<< CODE, python3 <<EOF: the program is read from stdin */
  if (!in->program_first && (i >= argc || strcmp(argv[i], "-") == 0)) {
    const al_segment *s = &p->sh->segs[k];
    for (size_t r = 0; r < s->n_redirs; r++) {
      const al_redir *rd = &s->redirs[r];
      if ((rd->kind == AL_REDIR_HERESTRING && !rd->unresolved) || (rd->kind == AL_REDIR_HEREDOC && rd->body)) {
        p->sh->segs[k].flags |= AL_SEG_STDIN_PROGRAM; /* the catalogue's regexes read it as inline code */
        return al_sh_inline_code(p, k, in->language, rd->kind == AL_REDIR_HEREDOC ? rd->body : rd->target);
      }
    }
  }
  return 0;
}

static int handle_code(parser *p, int k, char **argv, unsigned *f, size_t argc) {
  const char *name = p->sh->segs[k].name;
  if (al_sh_function_call(p, k, argv, f, argc) < 0)
    return -1;
  if (al_shell_is_shell(name)) {
    bool c, s;
    size_t op = shell_operands(argv, argc, &c, &s);
    if (c) {
      if (op >= argc) { /* -c whose code is missing or looks like an option (sh -c '-x ...') */
        p->sh->segs[k].flags |= AL_SEG_CODE_OPAQUE;
        return 0;
      }
      /* sh -c CODE ARG0 ARG1 ...: $0, $1 ... are known while CODE is read */
      size_t npos = 0;
      for (size_t i = op + 1; i < argc && npos < 10; i++, npos++) {
        char d = (char)('0' + npos);
        if (al_sh_var_set(p, &d, 1, (f[i] & F_UNRESOLVED) ? NULL : argv[i]) < 0)
          return -1;
      }
      int r = code_arg(p, k, argv[op], f[op], 0);
      for (size_t i = 0; i < npos; i++) {
        char d[2] = {(char)('0' + i), '\0'};
        al_sh_var_unset(p, d);
      }
      return r;
    }
    if (s || op >= argc) { /* code from stdin: here-strings and here-docs */
      size_t nr = p->sh->segs[k].n_redirs;
      for (size_t i = 0; i < nr; i++) {
        al_redir *r = &p->sh->segs[k].redirs[i];
        if (r->kind == AL_REDIR_HERESTRING) {
          if (code_arg(p, k, r->target, r->unresolved ? F_UNRESOLVED : 0, 0) < 0)
            return -1;
        } else if (r->kind == AL_REDIR_HEREDOC && r->body) {
          if (al_sh_parse_code(p, k, r->body, 0) < 0)
            return -1;
        }
      }
    }
    return 0;
  }
  if (strcmp(name, "alias") == 0) { /* alias ls='rm -rf ~': the text is code, run under that name later */
    for (size_t i = 1; i < argc; i++) {
      const char *eq = strchr(argv[i], '=');
      if (eq == NULL || eq == argv[i])
        continue;
      if (code_arg(p, k, eq + 1, f[i], 0) < 0)
        return -1;
    }
    return 0;
  }
  /* trap 'CODE' EXIT: the code runs when the signal comes */
  if (strcmp(name, "trap") == 0) {
    size_t i = 1;
    while (i < argc && (strcmp(argv[i], "-p") == 0 || strcmp(argv[i], "-l") == 0))
      i++;
    if (i < argc && strcmp(argv[i], "--") == 0)
      i++;
    if (i + 1 < argc && argv[i][0] != '\0' && strcmp(argv[i], "-") != 0)
      return code_arg(p, k, argv[i], f[i], 0);
    return 0;
  }
  /* export PROMPT_COMMAND='CODE': bash runs it before every prompt */
  if (strcmp(name, "export") == 0 || strcmp(name, "declare") == 0 || strcmp(name, "typeset") == 0 ||
      strcmp(name, "readonly") == 0) {
    for (size_t i = 1; i < argc; i++)
      if (strncmp(argv[i], "PROMPT_COMMAND=", 15) == 0 && code_arg(p, k, argv[i] + 15, f[i], 0) < 0)
        return -1;
    return 0;
  }
  if (strcmp(name, "eval") == 0) {
    /* eval "$(ssh-agent -s)": the setup a known tool prints (the tool itself is its own segment) */
    if (argc == 2 && al_sh_is_shell_setup(argv[1]))
      return 0;
    return code_join(p, k, argv, f, 1, argc, 0);
  }
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
  if (code_options(p, k, argv, f, argc) < 0)
    return -1;
  const al_sh_interpreter *in = al_sh_find_interpreter(name);
  if (in)
    return inline_program(p, k, in, argv, f, argc);
  if (strcmp(name, "find") == 0) {
    for (size_t i = 1; i < argc; i++) {
      if (strcmp(argv[i], "-exec") && strcmp(argv[i], "-execdir") && strcmp(argv[i], "-ok") &&
          strcmp(argv[i], "-okdir"))
        continue;
      size_t j = i + 1;
      while (j < argc && strcmp(argv[j], ";") && strcmp(argv[j], "+"))
        j++;
      /* with nothing picking files, {} stands for everything below the start */
      const char *all = al_sh_find_everything(p, argv, argc);
      if (p->fatal)
        return -1;
      _cleanup_free_ char **words = calloc(j - i, sizeof(*words));
      if (words == NULL)
        return al_sh_fail_nomem(p);
      for (size_t w = i + 1; w < j; w++)
        words[w - i - 1] = all && strcmp(argv[w], "{}") == 0 ? (char *)all : argv[w];
      if (j > i + 1 && al_sh_push_argv_segment(p, words, f + i + 1, j - i - 1, k, AL_SEG_NESTED) < 0)
        return -1;
      p->sh->segs[k].flags |= AL_SEG_CODE_PARSED;
      i = j;
    }
  }
  return 0;
}

/* a segment made from words directly (find -exec, al_shell_parse_argv) */
int al_sh_push_argv_segment(parser *p, char **words, unsigned *f, size_t n, int parent, unsigned extra) {
  int depth = parent >= 0 ? p->sh->segs[parent].depth + 1 : p->depth;
  if (depth > AL_SHELL_MAX_DEPTH)
    return al_sh_fail_fatal(p, "nesting deeper than " AL_STR(AL_SHELL_MAX_DEPTH) " levels");
  cmdparts c = {.words = words, .wflags = f, .nwords = n};
  if (parent >= 0)
    extra |= p->sh->segs[parent].flags & (AL_SEG_IN_SUBSTITUTION | AL_SEG_SUBSHELL | AL_SEG_REMOTE);
  int saved = p->depth, saved_origin = p->origin;
  unsigned saved_inherit = p->inherit;
  p->depth = depth;
  p->origin = ORIGIN_NONE;
  p->inherit = 0;
  int k = al_sh_finish_command(p, NULL, &c, p->sh->n, parent, depth, extra);
  p->depth = saved;
  p->origin = saved_origin;
  p->inherit = saved_inherit;
  return k < 0 ? -1 : 0;
}

int al_sh_piped_code(parser *p, int from, int to) {
  const al_segment *s = &p->sh->segs[to];
  if (s->argc > 0 && !(s->flags & AL_SEG_UNRESOLVED_COMMAND) && al_sh_has_wrapper(s, "xargs")) {
    const char *list = al_sh_pipe_output(p, from);
    if (list == NULL)
      return p->fatal ? -1 : 0;
    return al_sh_xargs_list(p, to, list);
  }
  if (s->argc == 0 || (s->flags & (AL_SEG_UNRESOLVED_COMMAND | AL_SEG_CODE_PARSED | AL_SEG_CODE_OPAQUE)))
    return 0;
  const al_sh_interpreter *in = NULL;
  if (!al_sh_stdin_shell(s)) {
    in = al_sh_find_interpreter(s->name);
    if (in == NULL || (s->argc > 1 && strcmp(s->argv[1], "-") != 0))
      return 0;
  }
  const char *text = al_sh_pipe_output(p, from);
  if (text == NULL)
    return p->fatal ? -1 : 0;
  return in ? al_sh_inline_code(p, to, in->language, text) : al_sh_parse_code(p, to, text, 0);
}
