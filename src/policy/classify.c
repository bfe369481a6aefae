/* classify.c - the catalogue of dangerous actions (compiled from JSON once)
 * and the classification of segments against it (see classify.h and
 * docs/catalogue.md for the match language).  Matching is cheap by
 * construction: patterns are indexed by command name, so a segment is tried
 * only against the patterns for its command plus the few that name none. */
#define _GNU_SOURCE
#include "classify.h"

#include <jansson.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"

#ifndef AIRLOCK_DATADIR
#define AIRLOCK_DATADIR "/usr/local/share"
#endif

#define MAX_CATALOGUE_BYTES (4 << 20)
#define MAX_MATCH_NESTING 6
#define MAX_RELATION_HOPS 64

/* --- names ------------------------------------------------------------------ */

static const char *const action_names[AL_ACTION_COUNT] = {
    "code_exec", "system_command", "file_read", "file_write", "file_delete", "http_get", "http_post", "ssh_exec",
};

const char *al_action_name(al_action a) {
  return (unsigned)a < AL_ACTION_COUNT ? action_names[a] : NULL;
}

int al_action_from_name(const char *name, al_action *out) {
  for (unsigned i = 0; i < AL_ACTION_COUNT; i++)
    if (strcmp(name, action_names[i]) == 0) {
      *out = (al_action)i;
      return 0;
    }
  return -1;
}

const char *al_severity_name(al_severity s) {
  switch (s) {
  case AL_SEVERITY_HIGH:
    return "high";
  case AL_SEVERITY_CRITICAL:
    return "critical";
  default:
    return "none";
  }
}

const char *al_catalogue_default_path(void) { return AIRLOCK_DATADIR "/airlock/dangerous-actions.json"; }

/* --- globs -------------------------------------------------------------------- */

/* one pattern character (or class, or escape) at p[*pi] against c */
static bool glob_one(const char *p, size_t pn, size_t *pi, unsigned char c) {
  size_t i = *pi;
  if (p[i] == '?') {
    *pi = i + 1;
    return true;
  }
  if (p[i] == '\\' && i + 1 < pn) {
    *pi = i + 2;
    return (unsigned char)p[i + 1] == c;
  }
  if (p[i] == '[') {
    size_t j = i + 1;
    bool neg = j < pn && (p[j] == '!' || p[j] == '^');
    if (neg)
      j++;
    bool found = false, first = true;
    while (j < pn && (p[j] != ']' || first)) {
      first = false;
      unsigned char lo = (unsigned char)p[j], hi = lo;
      if (j + 2 < pn && p[j + 1] == '-' && p[j + 2] != ']') {
        hi = (unsigned char)p[j + 2];
        j += 3;
      } else {
        j++;
      }
      if (c >= lo && c <= hi)
        found = true;
    }
    if (j < pn) { /* a closed class */
      *pi = j + 1;
      return found != neg;
    }
    /* no closing ']': a literal '[' */
  }
  *pi = i + 1;
  return (unsigned char)p[i] == c;
}

/* '*' matches any run of characters: the classic backtracking to the last star */
static bool glob_plain(const char *p, size_t pn, const char *s, size_t sn) {
  size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;
  while (si < sn) {
    if (pi < pn && p[pi] == '*') {
      star_p = ++pi;
      star_s = si;
      continue;
    }
    size_t next = pi;
    if (pi < pn && glob_one(p, pn, &next, (unsigned char)s[si])) {
      pi = next;
      si++;
      continue;
    }
    if (star_p == SIZE_MAX)
      return false;
    pi = star_p;
    si = ++star_s;
  }
  while (pi < pn && p[pi] == '*')
    pi++;
  return pi == pn;
}

typedef struct {
  const char *p;
  size_t n;
} span;

/* "/a/b" -> "", "a", "b"; at most max spans stored, the count is returned */
static size_t split_path(const char *s, size_t len, span *out, size_t max) {
  size_t n = 0;
  const char *c = s, *end = s + len;
  for (;;) {
    const char *e = memchr(c, '/', (size_t)(end - c));
    size_t l = e ? (size_t)(e - c) : (size_t)(end - c);
    if (n < max)
      out[n] = (span){c, l};
    n++;
    if (!e)
      return n;
    c = e + 1;
  }
}

static bool has_glob_chars_n(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] == '*' || s[i] == '?' || s[i] == '[' || s[i] == '\\')
      return true;
  return false;
}


/* A glob compiled once: its length, whether it is a plain string, and for
 * path matching its components (with "**" and literal ones marked). */
typedef struct {
  const char *p;
  size_t n;
  bool lit;
  bool dstar;
} pspan;

typedef struct {
  char *text;
  size_t len;
  bool literal;
  pspan *comps;
  size_t ncomps;
  bool dstar;
} cglob;

static void cglob_free(cglob *g) {
  free(g->text);
  free(g->comps);
}

static bool cglob_init(cglob *g, const char *text) {
  memset(g, 0, sizeof(*g));
  g->text = strdup(text);
  if (!g->text)
    return false;
  g->len = strlen(text);
  g->literal = !has_glob_chars_n(text, g->len);
  size_t n = split_path(g->text, g->len, NULL, 0);
  span *tmp = malloc(n * sizeof(span));
  g->comps = malloc(n * sizeof(pspan));
  if (!tmp || !g->comps) {
    free(tmp);
    return false;
  }
  split_path(g->text, g->len, tmp, n);
  for (size_t i = 0; i < n; i++) {
    pspan *c = &g->comps[i];
    c->p = tmp[i].p;
    c->n = tmp[i].n;
    c->dstar = c->n == 2 && c->p[0] == '*' && c->p[1] == '*';
    c->lit = !c->dstar && !has_glob_chars_n(c->p, c->n);
    g->dstar |= c->dstar;
  }
  g->ncomps = n;
  free(tmp);
  return true;
}

static bool comp_match(const pspan *pc, const span *sc) {
  if (pc->lit)
    return pc->n == sc->n && memcmp(pc->p, sc->p, sc->n) == 0;
  return glob_plain(pc->p, pc->n, sc->p, sc->n);
}

/* g against a path already split into components */
static bool glob_path_split(const cglob *g, const char *path, size_t plen, const span *sc, size_t ns) {
  if (g->literal)
    return g->len == plen && memcmp(g->text, path, plen) == 0;
  const pspan *pc = g->comps;
  size_t np = g->ncomps;
  if (!g->dstar) {
    if (np != ns)
      return false;
    for (size_t i = 0; i < np; i++)
      if (!comp_match(&pc[i], &sc[i]))
        return false;
    return true;
  }
  /* cheap rejections on the first and last components */
  if (!pc[0].dstar && (ns == 0 || !comp_match(&pc[0], &sc[0])))
    return false;
  if (np > 1 && !pc[np - 1].dstar && (ns == 0 || !comp_match(&pc[np - 1], &sc[ns - 1])))
    return false;
  /* next[j]: pattern components pi+1.. match path components j.. */
  bool stack[2 * 65];
  _cleanup_free_ bool *heap = NULL;
  bool *dp = stack;
  if (ns + 1 > 65) {
    dp = heap = malloc(2 * (ns + 1) * sizeof(bool));
    if (!dp)
      return false;
  }
  bool *next = dp, *cur = dp + ns + 1;
  for (size_t j = 0; j <= ns; j++)
    next[j] = j == ns;
  for (size_t pi = np; pi-- > 0;) {
    if (pc[pi].dstar) {
      cur[ns] = next[ns];
      for (size_t j = ns; j-- > 0;)
        cur[j] = next[j] || cur[j + 1];
    } else {
      cur[ns] = false;
      for (size_t j = 0; j < ns; j++)
        cur[j] = next[j + 1] && comp_match(&pc[pi], &sc[j]);
    }
    bool *t = next;
    next = cur;
    cur = t;
  }
  return next[0];
}

static bool glob_path_str(const cglob *g, const char *path) {
  size_t plen = strlen(path);
  span stack[64];
  size_t ns = split_path(path, plen, stack, AL_ARRAY_SIZE(stack));
  if (ns <= AL_ARRAY_SIZE(stack))
    return glob_path_split(g, path, plen, stack, ns);
  _cleanup_free_ span *heap = malloc(ns * sizeof(span));
  if (!heap)
    return false;
  split_path(path, plen, heap, ns);
  return glob_path_split(g, path, plen, heap, ns);
}

static bool cglob_plain(const cglob *g, const char *s, size_t n) {
  if (g->literal)
    return g->len == n && memcmp(g->text, s, n) == 0;
  return glob_plain(g->text, g->len, s, n);
}

bool al_glob_match(const char *pattern, const char *s, bool path_mode) {
  cglob g;
  if (!cglob_init(&g, pattern)) {
    cglob_free(&g);
    return false;
  }
  bool r = path_mode ? glob_path_str(&g, s) : cglob_plain(&g, s, strlen(s));
  cglob_free(&g);
  return r;
}

/* --- compiled catalogue -------------------------------------------------------- */

typedef struct {
  cglob *pos;
  size_t npos;
  cglob *neg;
  size_t nneg;
  bool all_literal; /* every entry a plain string: bloom says which names can match */
  uint64_t bloom;
} globset;

typedef struct {
  regex_t *re;
  size_t n;
} relist;

typedef struct {
  char **alts; /* "-r", "--recursive", "-delete" */
  size_t n;
} altgroup;

typedef struct {
  altgroup names;
  globset value;
  relist value_re;
} optcond;

enum { DIR_ANY, DIR_IN, DIR_OUT };

typedef struct {
  int dir;
  globset path;
} redircond;

enum { TRI_UNSET = 0, TRI_FALSE, TRI_TRUE };

/* condition bits of a match node */
enum {
  C_COMMAND = 1u << 0,
  C_COMMAND_NOT = 1u << 1,
  C_WRAPPER = 1u << 2,
  C_SUBCOMMAND = 1u << 3,
  C_ARG = 1u << 4,
  C_PATH = 1u << 5,
  C_READ_PATH = 1u << 6,
  C_WRITE_PATH = 1u << 7,
  C_ASSIGN = 1u << 8,
  C_ARG_RE = 1u << 9,
  C_ARGLINE_RE = 1u << 10,
};

typedef struct mnode mnode;
/* The fields every check reads come first: one cache line decides most
 * non-matches. */
struct mnode {
  unsigned have;
  bool evidence; /* a positive condition on arguments, paths, redirections or neighbours */
  int8_t dynamic, no_positionals, piped_into, pipes_out, background, recursive_call, remote;
  uint8_t nflags, nflags_absent, noptions, nredirects, nany;
  altgroup *flags;
  altgroup *flags_absent;
  optcond *options;
  redircond *redirects;
  mnode *input_from, *output_to, *not;
  mnode *any;
  globset command, command_not, wrapper, subcommand, arg, path, read_path, write_path, assign;
  relist arg_re, argline_re;
};

enum { ROLE_READ = 1, ROLE_WRITE = 2, ROLE_DELETE = 4, ROLE_NONE = 8 };
enum { PATHS_READ, PATHS_WRITE, PATHS_DELETE, PATHS_NONE, PATHS_COPY };

typedef struct {
  char *key;
  int role;
} operand;

typedef struct {
  mnode match;
  al_action action;
} when_rule;

typedef struct {
  globset names;
  al_action action;
  unsigned char short_values[32]; /* bitmap of option letters taking a value */
  char **long_values;
  size_t nlong_values;
  char **write_options;
  size_t nwrite_options;
  int paths;
  operand *operands;
  size_t noperands;
  bool posix_options;
  when_rule *when;
  size_t nwhen;
} cmdent;

typedef struct {
  char *id;
  char *description;
  al_severity severity;
  al_action action;
  mnode match;
  bool enabled;
} pattern;

typedef struct {
  char *name;
  char **globs;
  size_t n;
} pathset;

/* name -> list of indices */
typedef struct {
  const char *key;
  size_t *vals;
  size_t n, cap;
} hentry;

typedef struct {
  hentry *slots;
  size_t cap;
} nameidx;

struct al_catalogue {
  pattern **patterns;
  size_t npatterns;
  cmdent **commands;
  size_t ncommands;
  pathset *sets;
  size_t nsets;
  /* indexes, rebuilt after every load or merge */
  nameidx pat_by_name;
  size_t *pat_glob, npat_glob;     /* patterns whose command list has globs */
  size_t *pat_always, npat_always; /* patterns without a command */
  nameidx cmd_by_name;             /* value: the last (winning) entry */
  size_t *cmd_glob, ncmd_glob;     /* entries with glob names, last first */
  size_t nenabled;
};

/* --- freeing ------------------------------------------------------------------ */

static void strv_free(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static void globset_free(globset *g) {
  for (size_t i = 0; i < g->npos; i++)
    cglob_free(&g->pos[i]);
  for (size_t i = 0; i < g->nneg; i++)
    cglob_free(&g->neg[i]);
  free(g->pos);
  free(g->neg);
}

static void relist_free(relist *r) {
  for (size_t i = 0; i < r->n; i++)
    regfree(&r->re[i]);
  free(r->re);
}

static void alt_free(altgroup *a, size_t n) {
  for (size_t i = 0; i < n; i++)
    strv_free(a[i].alts, a[i].n);
  free(a);
}

static void mnode_free(mnode *m);

static void mnode_ptr_free(mnode *m) {
  if (m) {
    mnode_free(m);
    free(m);
  }
}

static void mnode_free(mnode *m) {
  globset *sets[] = {&m->command, &m->command_not, &m->wrapper, &m->subcommand, &m->arg,
                     &m->path, &m->read_path, &m->write_path, &m->assign};
  for (size_t i = 0; i < AL_ARRAY_SIZE(sets); i++)
    globset_free(sets[i]);
  relist_free(&m->arg_re);
  relist_free(&m->argline_re);
  alt_free(m->flags, m->nflags);
  alt_free(m->flags_absent, m->nflags_absent);
  for (size_t i = 0; i < m->noptions; i++) {
    strv_free(m->options[i].names.alts, m->options[i].names.n);
    globset_free(&m->options[i].value);
    relist_free(&m->options[i].value_re);
  }
  free(m->options);
  for (size_t i = 0; i < m->nredirects; i++)
    globset_free(&m->redirects[i].path);
  free(m->redirects);
  mnode_ptr_free(m->input_from);
  mnode_ptr_free(m->output_to);
  mnode_ptr_free(m->not);
  for (size_t i = 0; i < m->nany; i++)
    mnode_free(&m->any[i]);
  free(m->any);
  memset(m, 0, sizeof(*m));
}

static void pattern_free(pattern *p) {
  if (!p)
    return;
  free(p->id);
  free(p->description);
  mnode_free(&p->match);
  free(p);
}

static void cmdent_free(cmdent *c) {
  if (!c)
    return;
  globset_free(&c->names);
  strv_free(c->long_values, c->nlong_values);
  strv_free(c->write_options, c->nwrite_options);
  for (size_t i = 0; i < c->noperands; i++)
    free(c->operands[i].key);
  free(c->operands);
  for (size_t i = 0; i < c->nwhen; i++)
    mnode_free(&c->when[i].match);
  free(c->when);
  free(c);
}

static void nameidx_free(nameidx *x) {
  for (size_t i = 0; i < x->cap; i++)
    free(x->slots[i].vals);
  free(x->slots);
  memset(x, 0, sizeof(*x));
}

static void indexes_free(al_catalogue *c) {
  nameidx_free(&c->pat_by_name);
  nameidx_free(&c->cmd_by_name);
  free(c->pat_glob);
  free(c->pat_always);
  free(c->cmd_glob);
  c->pat_glob = c->pat_always = c->cmd_glob = NULL;
  c->npat_glob = c->npat_always = c->ncmd_glob = 0;
}

void al_catalogue_free(al_catalogue *cat) {
  if (!cat)
    return;
  for (size_t i = 0; i < cat->npatterns; i++)
    pattern_free(cat->patterns[i]);
  free(cat->patterns);
  for (size_t i = 0; i < cat->ncommands; i++)
    cmdent_free(cat->commands[i]);
  free(cat->commands);
  for (size_t i = 0; i < cat->nsets; i++) {
    free(cat->sets[i].name);
    strv_free(cat->sets[i].globs, cat->sets[i].n);
  }
  free(cat->sets);
  indexes_free(cat);
  free(cat);
}

/* --- name index ---------------------------------------------------------------- */

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static hentry *idx_slot(const nameidx *x, const char *key) {
  if (x->cap == 0)
    return NULL;
  size_t i = hash_str(key) & (x->cap - 1);
  for (;;) {
    hentry *e = &x->slots[i];
    if (e->key == NULL || strcmp(e->key, key) == 0)
      return e;
    i = (i + 1) & (x->cap - 1);
  }
}

static bool idx_add(nameidx *x, const char *key, size_t val) {
  if (x->cap == 0) {
    x->cap = 256;
    x->slots = calloc(x->cap, sizeof(hentry));
    if (!x->slots)
      return false;
  }
  hentry *e = idx_slot(x, key);
  if (e->key == NULL) {
    size_t used = 0;
    for (size_t i = 0; i < x->cap; i++)
      used += x->slots[i].key != NULL;
    if ((used + 1) * 2 > x->cap) { /* grow and retry */
      nameidx bigger = {calloc(x->cap * 2, sizeof(hentry)), x->cap * 2};
      if (!bigger.slots)
        return false;
      for (size_t i = 0; i < x->cap; i++)
        if (x->slots[i].key)
          *idx_slot(&bigger, x->slots[i].key) = x->slots[i];
      free(x->slots);
      *x = bigger;
      e = idx_slot(x, key);
    }
    e->key = key;
  }
  if (e->n == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 4;
    size_t *v = realloc(e->vals, cap * sizeof(size_t));
    if (!v)
      return false;
    e->vals = v;
    e->cap = cap;
  }
  e->vals[e->n++] = val;
  return true;
}

static bool push_index(size_t **arr, size_t *n, size_t v) {
  size_t *a = realloc(*arr, (*n + 1) * sizeof(size_t));
  if (!a)
    return false;
  a[(*n)++] = v;
  *arr = a;
  return true;
}

/* Whether every way m can match names a command; then its names (literal
 * ones to the index, glob ones flag *glob).  A pattern whose alternatives all
 * name commands is tried only on those commands. */
static bool indexable(const mnode *m) {
  if (m->command.npos > 0)
    return true;
  if (m->nany == 0 || m->dynamic == TRI_TRUE)
    return false;
  for (size_t k = 0; k < m->nany; k++)
    if (!indexable(&m->any[k]))
      return false;
  return true;
}

static bool index_names(al_catalogue *c, const mnode *m, size_t pat, bool *glob) {
  if (m->command.npos > 0) {
    for (size_t k = 0; k < m->command.npos; k++) {
      if (!m->command.pos[k].literal)
        *glob = true;
      else if (!idx_add(&c->pat_by_name, m->command.pos[k].text, pat))
        return false;
    }
    return true;
  }
  for (size_t k = 0; k < m->nany; k++)
    if (!index_names(c, &m->any[k], pat, glob))
      return false;
  return true;
}

static int build_indexes(al_catalogue *c, airlock_error **err) {
  indexes_free(c);
  c->nenabled = 0;
  for (size_t i = 0; i < c->npatterns; i++) {
    pattern *p = c->patterns[i];
    if (!p->enabled)
      continue;
    c->nenabled++;
    bool ok = true, glob = false;
    if (!indexable(&p->match))
      ok = push_index(&c->pat_always, &c->npat_always, i);
    else
      ok = index_names(c, &p->match, i, &glob) && (!glob || push_index(&c->pat_glob, &c->npat_glob, i));
    if (!ok)
      return al_err(err, ENOMEM, "catalogue index");
  }
  for (size_t i = c->ncommands; i-- > 0;) {
    const cmdent *e = c->commands[i];
    bool ok = true, glob = false;
    for (size_t k = 0; ok && k < e->names.npos; k++) {
      if (!e->names.pos[k].literal)
        glob = true;
      else
        ok = idx_add(&c->cmd_by_name, e->names.pos[k].text, i);
    }
    if (ok && glob)
      ok = push_index(&c->cmd_glob, &c->ncmd_glob, i);
    if (!ok)
      return al_err(err, ENOMEM, "catalogue index");
  }
  return 0;
}

/* --- compiling the JSON ---------------------------------------------------------- */

typedef struct {
  const char *origin;
  char what[160];           /* "pattern 'rm-rf-root'", "command entry 4 (rm)" */
  const pathset *sets[2];   /* the catalogue's sets and this file's */
  size_t nsets[2];
  airlock_error **err;
} cctx;

/* field names ("match.any[2].flags[0]"), cut short if absurdly long */
static void fieldf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fieldf(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, size, fmt, ap);
  va_end(ap);
}

static int cfail(cctx *c, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cfail(cctx *c, const char *field, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  return al_err(c->err, 0, "%s: %s: %s: %s", c->origin, c->what, field, msg);
}

static int want_str(cctx *c, const char *field, json_t *v, const char **out) {
  if (!json_is_string(v))
    return cfail(c, field, "must be a string");
  if (strlen(json_string_value(v)) != json_string_length(v))
    return cfail(c, field, "contains a NUL character");
  *out = json_string_value(v);
  return 0;
}

static bool strv_push(char ***v, size_t *n, const char *s) {
  char *d = strdup(s);
  if (!d)
    return false;
  char **nv = realloc(*v, (*n + 1) * sizeof(char *));
  if (!nv) {
    free(d);
    return false;
  }
  nv[(*n)++] = d;
  *v = nv;
  return true;
}

static const pathset *find_set(cctx *c, const char *name) {
  for (int k = 1; k >= 0; k--)
    for (size_t i = 0; i < c->nsets[k]; i++)
      if (strcmp(c->sets[k][i].name, name) == 0)
        return &c->sets[k][i];
  return NULL;
}

static uint64_t bloom_bit(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return 1ull << (h >> 58);
}

static bool cglob_push(cglob **v, size_t *n, const char *s) {
  cglob *nv = realloc(*v, (*n + 1) * sizeof(cglob));
  if (!nv)
    return false;
  *v = nv;
  if (!cglob_init(&nv[*n], s)) {
    cglob_free(&nv[*n]);
    return false;
  }
  (*n)++;
  return true;
}

static int globset_add(cctx *c, const char *field, globset *g, const char *s) {
  bool ok;
  if (s[0] == '!') {
    if (s[1] == '\0')
      return cfail(c, field, "empty exclusion");
    ok = cglob_push(&g->neg, &g->nneg, s + 1);
  } else {
    if (s[0] == '\0')
      return cfail(c, field, "empty glob");
    ok = cglob_push(&g->pos, &g->npos, s);
  }
  return ok ? 0 : cfail(c, field, "out of memory");
}

/* a string or an array of strings; "@name" brings in a set, "!glob" excludes */
static int compile_globs(cctx *c, const char *field, json_t *v, globset *g, bool allow_sets) {
  json_t *arr = v;
  if (json_is_string(v)) {
    arr = json_array();
    if (!arr)
      return cfail(c, field, "out of memory");
    json_array_append(arr, v);
  } else if (!json_is_array(v)) {
    return cfail(c, field, "must be a string or an array of strings");
  }
  int r = 0;
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) {
    char f[96];
    fieldf(f, sizeof(f), "%s[%zu]", field, i);
    const char *s = NULL;
    if ((r = want_str(c, f, e, &s)) < 0)
      break;
    if (s[0] == '@' && allow_sets && s[1] && strspn(s + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(s + 1)) {
      const pathset *set = find_set(c, s + 1);
      if (!set) {
        r = cfail(c, f, "unknown set '%s'", s + 1);
        break;
      }
      for (size_t k = 0; r == 0 && k < set->n; k++)
        r = globset_add(c, f, g, set->globs[k]);
      if (r < 0)
        break;
      continue;
    }
    if ((r = globset_add(c, f, g, s)) < 0)
      break;
  }
  if (arr != v)
    json_decref(arr);
  if (r == 0 && g->npos == 0 && g->nneg == 0)
    return cfail(c, field, "is empty");
  g->all_literal = g->npos > 0;
  for (size_t k = 0; k < g->npos; k++) {
    g->all_literal &= g->pos[k].literal;
    g->bloom |= bloom_bit(g->pos[k].text);
  }
  return r;
}

static int compile_regexes(cctx *c, const char *field, json_t *v, relist *out) {
  if (json_is_string(v)) {
    json_t *arr = json_array();
    if (!arr)
      return cfail(c, field, "out of memory");
    json_array_append(arr, v);
    int r = compile_regexes(c, field, arr, out);
    json_decref(arr);
    return r;
  }
  if (!json_is_array(v) || json_array_size(v) == 0)
    return cfail(c, field, "must be a string or a non-empty array of strings");
  out->re = calloc(json_array_size(v), sizeof(regex_t));
  if (!out->re)
    return cfail(c, field, "out of memory");
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    char f[96];
    fieldf(f, sizeof(f), "%s[%zu]", field, i);
    const char *s = NULL;
    if (want_str(c, f, e, &s) < 0)
      return -1;
    int flags = REG_EXTENDED | REG_NOSUB;
    if (strncmp(s, "(?i)", 4) == 0) {
      flags |= REG_ICASE;
      s += 4;
    }
    int rc = regcomp(&out->re[i], s, flags);
    if (rc != 0) {
      char buf[256];
      regerror(rc, &out->re[i], buf, sizeof(buf));
      return cfail(c, f, "bad regular expression: %s", buf);
    }
    out->n++;
  }
  return 0;
}

/* "-r|-R|--recursive" */
static int compile_alts(cctx *c, const char *field, json_t *v, altgroup *g) {
  const char *s = NULL;
  if (want_str(c, field, v, &s) < 0)
    return -1;
  const char *p = s;
  for (;;) {
    const char *bar = strchr(p, '|');
    size_t l = bar ? (size_t)(bar - p) : strlen(p);
    if (l < 2 || (p[0] != '-' && p[0] != '+'))
      return cfail(c, field, "'%.*s' is not an option (-x, --long, -word or +x)", (int)l, p);
    char *d = strndup(p, l);
    char **nv = d ? realloc(g->alts, (g->n + 1) * sizeof(char *)) : NULL;
    if (!nv) {
      free(d);
      return cfail(c, field, "out of memory");
    }
    nv[g->n++] = d;
    g->alts = nv;
    if (!bar)
      return 0;
    p = bar + 1;
  }
}

static int compile_altlist(cctx *c, const char *field, json_t *v, altgroup **out, uint8_t *n) {
  if (json_is_string(v)) {
    *out = calloc(1, sizeof(altgroup));
    if (!*out)
      return cfail(c, field, "out of memory");
    *n = 1;
    return compile_alts(c, field, v, &(*out)[0]);
  }
  if (!json_is_array(v) || json_array_size(v) == 0)
    return cfail(c, field, "must be a string or a non-empty array of strings");
  if (json_array_size(v) > UINT8_MAX)
    return cfail(c, field, "more than %d entries", UINT8_MAX);
  *out = calloc(json_array_size(v), sizeof(altgroup));
  if (!*out)
    return cfail(c, field, "out of memory");
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    char f[96];
    fieldf(f, sizeof(f), "%s[%zu]", field, i);
    (*n)++;
    if (compile_alts(c, f, e, &(*out)[i]) < 0)
      return -1;
  }
  return 0;
}

static int want_tri(cctx *c, const char *field, json_t *v, int8_t *out) {
  if (!json_is_boolean(v))
    return cfail(c, field, "must be true or false");
  *out = json_is_true(v) ? TRI_TRUE : TRI_FALSE;
  return 0;
}

static int compile_match(cctx *c, const char *field, json_t *v, mnode *m, int nesting);

static int compile_submatch(cctx *c, const char *field, json_t *v, mnode **out, int nesting) {
  *out = calloc(1, sizeof(mnode));
  if (!*out)
    return cfail(c, field, "out of memory");
  return compile_match(c, field, v, *out, nesting + 1);
}

static int compile_option(cctx *c, const char *field, json_t *v, optcond *o) {
  if (!json_is_object(v))
    return cfail(c, field, "must be an object {\"names\": ..., \"value\": [...]}");
  const char *k;
  json_t *e;
  bool names = false;
  json_object_foreach(v, k, e) {
    char f[128];
    fieldf(f, sizeof(f), "%s.%s", field, k);
    int r;
    if (strcmp(k, "names") == 0) {
      r = compile_alts(c, f, e, &o->names);
      names = true;
    } else if (strcmp(k, "value") == 0) {
      r = compile_globs(c, f, e, &o->value, true);
    } else if (strcmp(k, "value_regex") == 0) {
      r = compile_regexes(c, f, e, &o->value_re);
    } else {
      r = cfail(c, f, "unknown key");
    }
    if (r < 0)
      return -1;
  }
  return names ? 0 : cfail(c, field, "needs \"names\"");
}

static int compile_redirect(cctx *c, const char *field, json_t *v, redircond *rd) {
  if (!json_is_object(v))
    return cfail(c, field, "must be an object {\"dir\": \"in\"|\"out\"|\"any\", \"path\": [...]}");
  const char *k;
  json_t *e;
  bool path = false;
  rd->dir = DIR_ANY;
  json_object_foreach(v, k, e) {
    char f[128];
    fieldf(f, sizeof(f), "%s.%s", field, k);
    if (strcmp(k, "dir") == 0) {
      const char *s = NULL;
      if (want_str(c, f, e, &s) < 0)
        return -1;
      if (strcmp(s, "in") == 0)
        rd->dir = DIR_IN;
      else if (strcmp(s, "out") == 0)
        rd->dir = DIR_OUT;
      else if (strcmp(s, "any") == 0)
        rd->dir = DIR_ANY;
      else
        return cfail(c, f, "must be \"in\", \"out\" or \"any\"");
    } else if (strcmp(k, "path") == 0) {
      if (compile_globs(c, f, e, &rd->path, true) < 0)
        return -1;
      path = true;
    } else {
      return cfail(c, f, "unknown key");
    }
  }
  return path ? 0 : cfail(c, field, "needs \"path\"");
}

/* an object or an array of objects */
static int compile_objlist(cctx *c, const char *field, json_t *v, void **out, uint8_t *n, size_t elem,
                           int (*one)(cctx *, const char *, json_t *, void *)) {
  size_t count = json_is_array(v) ? json_array_size(v) : 1;
  if (count == 0)
    return cfail(c, field, "is empty");
  if (count > UINT8_MAX)
    return cfail(c, field, "more than %d entries", UINT8_MAX);
  *out = calloc(count, elem);
  if (!*out)
    return cfail(c, field, "out of memory");
  for (size_t i = 0; i < count; i++) {
    char f[96];
    json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
    if (json_is_array(v))
      fieldf(f, sizeof(f), "%s[%zu]", field, i);
    else
      fieldf(f, sizeof(f), "%s", field);
    (*n)++;
    if (one(c, f, e, (char *)*out + i * elem) < 0)
      return -1;
  }
  return 0;
}

static int one_option(cctx *c, const char *f, json_t *v, void *o) { return compile_option(c, f, v, o); }
static int one_redirect(cctx *c, const char *f, json_t *v, void *o) { return compile_redirect(c, f, v, o); }

static int compile_match(cctx *c, const char *field, json_t *v, mnode *m, int nesting) {
  if (nesting > MAX_MATCH_NESTING)
    return cfail(c, field, "nested deeper than %d levels", MAX_MATCH_NESTING);
  if (!json_is_object(v))
    return cfail(c, field, "must be an object");
  if (json_object_size(v) == 0)
    return cfail(c, field, "has no condition");
  const char *k;
  json_t *e;
  json_object_foreach(v, k, e) {
    char f[128];
    fieldf(f, sizeof(f), "%s.%s", field, k);
    int r;
    static const struct {
      const char *key;
      unsigned bit;
      size_t off;
      bool sets;
    } globs[] = {
        {"command", C_COMMAND, offsetof(mnode, command), true},
        {"command_not", C_COMMAND_NOT, offsetof(mnode, command_not), true},
        {"wrapper", C_WRAPPER, offsetof(mnode, wrapper), true},
        {"subcommand", C_SUBCOMMAND, offsetof(mnode, subcommand), true},
        {"arg", C_ARG, offsetof(mnode, arg), true},
        {"path", C_PATH, offsetof(mnode, path), true},
        {"read_path", C_READ_PATH, offsetof(mnode, read_path), true},
        {"write_path", C_WRITE_PATH, offsetof(mnode, write_path), true},
        {"assign", C_ASSIGN, offsetof(mnode, assign), true},
    };
    static const struct {
      const char *key;
      size_t off;
    } tris[] = {
        {"dynamic", offsetof(mnode, dynamic)},
        {"no_positionals", offsetof(mnode, no_positionals)},
        {"piped_into", offsetof(mnode, piped_into)},
        {"pipes_out", offsetof(mnode, pipes_out)},
        {"background", offsetof(mnode, background)},
        {"recursive_call", offsetof(mnode, recursive_call)},
        {"remote", offsetof(mnode, remote)},
    };
    size_t i;
    for (i = 0; i < AL_ARRAY_SIZE(globs); i++)
      if (strcmp(k, globs[i].key) == 0)
        break;
    if (i < AL_ARRAY_SIZE(globs)) {
      if (m->have & globs[i].bit)
        return cfail(c, f, "given twice");
      m->have |= globs[i].bit;
      if (compile_globs(c, f, e, (globset *)((char *)m + globs[i].off), globs[i].sets) < 0)
        return -1;
      if (globs[i].bit & ~(C_COMMAND | C_COMMAND_NOT | C_WRAPPER))
        m->evidence = true;
      continue;
    }
    for (i = 0; i < AL_ARRAY_SIZE(tris); i++)
      if (strcmp(k, tris[i].key) == 0)
        break;
    if (i < AL_ARRAY_SIZE(tris)) {
      if (want_tri(c, f, e, (int8_t *)((char *)m + tris[i].off)) < 0)
        return -1;
      continue;
    }
    if (strcmp(k, "flags_absent") != 0 && strcmp(k, "not") != 0 && strcmp(k, "any") != 0)
      m->evidence = true;
    if (strcmp(k, "arg_regex") == 0) {
      m->have |= C_ARG_RE;
      r = compile_regexes(c, f, e, &m->arg_re);
    } else if (strcmp(k, "argline_regex") == 0) {
      m->have |= C_ARGLINE_RE;
      r = compile_regexes(c, f, e, &m->argline_re);
    } else if (strcmp(k, "flags") == 0) {
      r = compile_altlist(c, f, e, &m->flags, &m->nflags);
    } else if (strcmp(k, "flags_absent") == 0) {
      r = compile_altlist(c, f, e, &m->flags_absent, &m->nflags_absent);
    } else if (strcmp(k, "option") == 0) {
      r = compile_objlist(c, f, e, (void **)&m->options, &m->noptions, sizeof(optcond), one_option);
    } else if (strcmp(k, "redirect") == 0) {
      r = compile_objlist(c, f, e, (void **)&m->redirects, &m->nredirects, sizeof(redircond), one_redirect);
    } else if (strcmp(k, "input_from") == 0) {
      r = compile_submatch(c, f, e, &m->input_from, nesting);
    } else if (strcmp(k, "output_to") == 0) {
      r = compile_submatch(c, f, e, &m->output_to, nesting);
    } else if (strcmp(k, "not") == 0) {
      r = compile_submatch(c, f, e, &m->not, nesting);
    } else if (strcmp(k, "any") == 0) {
      if (!json_is_array(e) || json_array_size(e) == 0 || json_array_size(e) > UINT8_MAX)
        return cfail(c, f, "must be an array of 1 to 255 match objects");
      m->any = calloc(json_array_size(e), sizeof(mnode));
      if (!m->any)
        return cfail(c, f, "out of memory");
      size_t j;
      json_t *sub;
      r = 0;
      json_array_foreach(e, j, sub) {
        char sf[128];
        fieldf(sf, sizeof(sf), "%s[%zu]", f, j);
        m->nany++;
        if ((r = compile_match(c, sf, sub, &m->any[j], nesting + 1)) < 0)
          break;
      }
    } else {
      r = cfail(c, f, "unknown key");
    }
    if (r < 0)
      return -1;
  }
  /* alternatives that all carry evidence carry it for the node */
  if (m->nany > 0) {
    bool all = true;
    for (size_t a = 0; a < m->nany; a++)
      all &= m->any[a].evidence;
    m->evidence |= all;
  }
  return 0;
}

static int want_action(cctx *c, const char *field, json_t *v, al_action *out) {
  const char *s = NULL;
  if (want_str(c, field, v, &s) < 0)
    return -1;
  if (al_action_from_name(s, out) < 0)
    return cfail(c, field, "'%s' is not an action type (code_exec, system_command, file_read, file_write, "
                           "file_delete, http_get, http_post, ssh_exec)", s);
  return 0;
}

static int compile_pattern(cctx *c, size_t index, json_t *v, pattern **out) {
  snprintf(c->what, sizeof(c->what), "pattern %zu", index);
  if (!json_is_object(v))
    return cfail(c, "(pattern)", "must be an object");
  json_t *id = json_object_get(v, "id");
  const char *ids = NULL;
  if (!id)
    return cfail(c, "id", "missing");
  if (want_str(c, "id", id, &ids) < 0)
    return -1;
  if (ids[0] == '\0' || strlen(ids) > 100 || strspn(ids, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(ids))
    return cfail(c, "id", "must be 1-100 characters of a-z, 0-9, '-', '_', '.'");
  snprintf(c->what, sizeof(c->what), "pattern '%s'", ids);
  pattern *p = calloc(1, sizeof(*p));
  if (!p)
    return cfail(c, "id", "out of memory");
  *out = p;
  p->enabled = true;
  p->id = strdup(ids);
  if (!p->id)
    return cfail(c, "id", "out of memory");
  bool have_desc = false, have_sev = false, have_action = false, have_match = false;
  const char *k;
  json_t *e;
  json_object_foreach(v, k, e) {
    if (strcmp(k, "id") == 0)
      continue;
    if (strcmp(k, "description") == 0) {
      const char *s = NULL;
      if (want_str(c, k, e, &s) < 0)
        return -1;
      p->description = strdup(s);
      if (!p->description)
        return cfail(c, k, "out of memory");
      have_desc = true;
    } else if (strcmp(k, "severity") == 0) {
      const char *s = NULL;
      if (want_str(c, k, e, &s) < 0)
        return -1;
      if (strcmp(s, "high") == 0)
        p->severity = AL_SEVERITY_HIGH;
      else if (strcmp(s, "critical") == 0)
        p->severity = AL_SEVERITY_CRITICAL;
      else
        return cfail(c, k, "must be \"high\" or \"critical\"");
      have_sev = true;
    } else if (strcmp(k, "action") == 0) {
      if (want_action(c, k, e, &p->action) < 0)
        return -1;
      have_action = true;
    } else if (strcmp(k, "match") == 0) {
      if (compile_match(c, "match", e, &p->match, 0) < 0)
        return -1;
      have_match = true;
    } else if (strcmp(k, "examples") == 0 || strcmp(k, "comment") == 0) {
      /* documentation only */
    } else {
      return cfail(c, k, "unknown key");
    }
  }
  if (!have_desc)
    return cfail(c, "description", "missing");
  if (!have_sev)
    return cfail(c, "severity", "missing");
  if (!have_action)
    return cfail(c, "action", "missing");
  if (!have_match)
    return cfail(c, "match", "missing");
  return 0;
}

static int compile_optlist(cctx *c, const char *field, json_t *v, cmdent *e, bool write) {
  if (!json_is_array(v))
    return cfail(c, field, "must be an array of options");
  size_t i;
  json_t *o;
  json_array_foreach(v, i, o) {
    char f[96];
    fieldf(f, sizeof(f), "%s[%zu]", field, i);
    const char *s = NULL;
    if (want_str(c, f, o, &s) < 0)
      return -1;
    size_t l = strlen(s);
    if (l < 2 || s[0] != '-')
      return cfail(c, f, "'%s' is not an option (-x or --long)", s);
    bool ok = true;
    if (write)
      ok = strv_push(&e->write_options, &e->nwrite_options, s);
    else if (s[1] == '-')
      ok = strv_push(&e->long_values, &e->nlong_values, s);
    else if (l == 2)
      e->short_values[(unsigned char)s[1] / 8] |= (unsigned char)(1u << ((unsigned char)s[1] % 8));
    else
      ok = strv_push(&e->long_values, &e->nlong_values, s); /* -name style: a whole word */
    if (!ok)
      return cfail(c, f, "out of memory");
  }
  return 0;
}

static int want_role(cctx *c, const char *field, json_t *v, int *out, bool is_operand) {
  const char *s = NULL;
  if (want_str(c, field, v, &s) < 0)
    return -1;
  static const char *const names[] = {"read", "write", "delete", "none", "copy"};
  for (int i = 0; i < (is_operand ? 4 : 5); i++)
    if (strcmp(s, names[i]) == 0) {
      *out = i;
      return 0;
    }
  return cfail(c, field, is_operand ? "must be \"read\", \"write\", \"delete\" or \"none\""
                                 : "must be \"read\", \"write\", \"delete\", \"none\" or \"copy\"");
}

static int compile_command(cctx *c, size_t index, json_t *v, cmdent **out) {
  snprintf(c->what, sizeof(c->what), "command entry %zu", index);
  if (!json_is_object(v))
    return cfail(c, "(command)", "must be an object");
  json_t *names = json_object_get(v, "names");
  if (!names)
    return cfail(c, "names", "missing");
  if (json_is_array(names) && json_array_size(names) > 0 && json_is_string(json_array_get(names, 0)))
    snprintf(c->what, sizeof(c->what), "command entry %zu (%s)", index, json_string_value(json_array_get(names, 0)));
  cmdent *e = calloc(1, sizeof(*e));
  if (!e)
    return cfail(c, "names", "out of memory");
  *out = e;
  e->action = AL_ACTION_SYSTEM_COMMAND;
  bool have_action = false;
  const char *k;
  json_t *x;
  json_object_foreach(v, k, x) {
    int r = 0;
    if (strcmp(k, "names") == 0) {
      r = compile_globs(c, k, x, &e->names, false);
      if (r == 0 && e->names.nneg)
        r = cfail(c, k, "exclusions make no sense here");
    } else if (strcmp(k, "action") == 0) {
      r = want_action(c, k, x, &e->action);
      have_action = true;
    } else if (strcmp(k, "value_options") == 0) {
      r = compile_optlist(c, k, x, e, false);
    } else if (strcmp(k, "write_options") == 0) {
      r = compile_optlist(c, k, x, e, true);
    } else if (strcmp(k, "paths") == 0) {
      r = want_role(c, k, x, &e->paths, false);
    } else if (strcmp(k, "posix_options") == 0) {
      if (!json_is_boolean(x))
        r = cfail(c, k, "must be true or false");
      e->posix_options = json_is_true(x);
    } else if (strcmp(k, "operands") == 0) {
      if (!json_is_object(x))
        return cfail(c, k, "must be an object {\"of\": \"write\", ...}");
      e->operands = calloc(json_object_size(x) + 1, sizeof(operand));
      if (!e->operands)
        return cfail(c, k, "out of memory");
      const char *ok;
      json_t *ov;
      json_object_foreach(x, ok, ov) {
        char f[96];
        fieldf(f, sizeof(f), "operands.%s", ok);
        operand *o = &e->operands[e->noperands++];
        o->key = strdup(ok);
        if (!o->key)
          return cfail(c, f, "out of memory");
        if (want_role(c, f, ov, &o->role, true) < 0)
          return -1;
      }
    } else if (strcmp(k, "when") == 0) {
      if (!json_is_array(x) || json_array_size(x) == 0)
        return cfail(c, k, "must be a non-empty array of {\"match\": ..., \"action\": ...}");
      e->when = calloc(json_array_size(x), sizeof(when_rule));
      if (!e->when)
        return cfail(c, k, "out of memory");
      size_t i;
      json_t *w;
      json_array_foreach(x, i, w) {
        char f[96];
        fieldf(f, sizeof(f), "when[%zu]", i);
        if (!json_is_object(w))
          return cfail(c, f, "must be an object");
        e->nwhen++;
        json_t *m = json_object_get(w, "match"), *a = json_object_get(w, "action");
        if (!m || !a || json_object_size(w) != 2)
          return cfail(c, f, "needs exactly \"match\" and \"action\"");
        char mf[96];
        fieldf(mf, sizeof(mf), "%s.match", f);
        if (compile_match(c, mf, m, &e->when[i].match, 0) < 0)
          return -1;
        fieldf(mf, sizeof(mf), "%s.action", f);
        if (want_action(c, mf, a, &e->when[i].action) < 0)
          return -1;
      }
    } else {
      r = cfail(c, k, "unknown key");
    }
    if (r < 0)
      return -1;
  }
  if (!have_action)
    return cfail(c, "action", "missing");
  return 0;
}

/* one file's content, compiled but not yet merged */
typedef struct {
  pattern **patterns;
  size_t npatterns;
  cmdent **commands;
  size_t ncommands;
  pathset *sets;
  size_t nsets;
  char **disable;
  size_t ndisable;
} loaded;

static void loaded_free(loaded *l) {
  for (size_t i = 0; i < l->npatterns; i++)
    pattern_free(l->patterns[i]);
  free(l->patterns);
  for (size_t i = 0; i < l->ncommands; i++)
    cmdent_free(l->commands[i]);
  free(l->commands);
  for (size_t i = 0; i < l->nsets; i++) {
    free(l->sets[i].name);
    strv_free(l->sets[i].globs, l->sets[i].n);
  }
  free(l->sets);
  strv_free(l->disable, l->ndisable);
  memset(l, 0, sizeof(*l));
}

static int compile_file(const al_catalogue *base, json_t *root, const char *origin, loaded *l, airlock_error **err) {
  cctx c = {.origin = origin, .err = err};
  snprintf(c.what, sizeof(c.what), "top level");
  if (base) {
    c.sets[0] = base->sets;
    c.nsets[0] = base->nsets;
  }
  if (!json_is_object(root))
    return cfail(&c, "(file)", "must be a JSON object");
  json_t *version = json_object_get(root, "version");
  if (version && (!json_is_integer(version) || json_integer_value(version) != 1))
    return cfail(&c, "version", "must be 1");
  const char *k;
  json_t *v;
  json_object_foreach(root, k, v) {
    if (strcmp(k, "version") == 0 || strcmp(k, "description") == 0 || strcmp(k, "comment") == 0)
      continue;
    if (strcmp(k, "sets") == 0 || strcmp(k, "patterns") == 0 || strcmp(k, "commands") == 0 ||
        strcmp(k, "disable") == 0)
      continue;
    return cfail(&c, k, "unknown key");
  }
  /* sets first: patterns refer to them */
  json_t *sets = json_object_get(root, "sets");
  if (sets) {
    if (!json_is_object(sets))
      return cfail(&c, "sets", "must be an object of name: [globs]");
    l->sets = calloc(json_object_size(sets) + 1, sizeof(pathset));
    if (!l->sets)
      return cfail(&c, "sets", "out of memory");
    json_object_foreach(sets, k, v) {
      char f[128];
      fieldf(f, sizeof(f), "sets.%s", k);
      pathset *s = &l->sets[l->nsets++];
      s->name = strdup(k);
      if (!s->name)
        return cfail(&c, f, "out of memory");
      if (!json_is_array(v) || json_array_size(v) == 0)
        return cfail(&c, f, "must be a non-empty array of globs");
      size_t i;
      json_t *g;
      json_array_foreach(v, i, g) {
        char gf[160];
        fieldf(gf, sizeof(gf), "%s[%zu]", f, i);
        const char *gs = NULL;
        if (want_str(&c, gf, g, &gs) < 0)
          return -1;
        if (gs[0] == '@')
          return cfail(&c, gf, "sets cannot include sets");
        if (!strv_push(&s->globs, &s->n, gs))
          return cfail(&c, gf, "out of memory");
      }
    }
  }
  c.sets[1] = l->sets;
  c.nsets[1] = l->nsets;
  json_t *cmds = json_object_get(root, "commands");
  if (cmds) {
    if (!json_is_array(cmds))
      return cfail(&c, "commands", "must be an array");
    l->commands = calloc(json_array_size(cmds) + 1, sizeof(cmdent *));
    if (!l->commands)
      return cfail(&c, "commands", "out of memory");
    size_t i;
    json_array_foreach(cmds, i, v) {
      l->ncommands++;
      if (compile_command(&c, i, v, &l->commands[i]) < 0)
        return -1;
    }
  }
  json_t *pats = json_object_get(root, "patterns");
  if (pats) {
    if (!json_is_array(pats))
      return cfail(&c, "patterns", "must be an array");
    l->patterns = calloc(json_array_size(pats) + 1, sizeof(pattern *));
    if (!l->patterns)
      return cfail(&c, "patterns", "out of memory");
    size_t i;
    json_array_foreach(pats, i, v) {
      l->npatterns++;
      if (compile_pattern(&c, i, v, &l->patterns[i]) < 0)
        return -1;
      for (size_t j = 0; j < i; j++)
        if (strcmp(l->patterns[j]->id, l->patterns[i]->id) == 0)
          return cfail(&c, "id", "duplicate id (also pattern %zu)", j);
    }
  }
  json_t *dis = json_object_get(root, "disable");
  if (dis) {
    snprintf(c.what, sizeof(c.what), "top level");
    if (!json_is_array(dis))
      return cfail(&c, "disable", "must be an array of pattern ids");
    size_t i;
    json_array_foreach(dis, i, v) {
      char f[64];
      fieldf(f, sizeof(f), "disable[%zu]", i);
      const char *s = NULL;
      if (want_str(&c, f, v, &s) < 0)
        return -1;
      if (!strv_push(&l->disable, &l->ndisable, s))
        return cfail(&c, f, "out of memory");
    }
  }
  return 0;
}

static int merge(al_catalogue *cat, loaded *l, const char *origin, airlock_error **err) {
  /* check the disable list before changing anything */
  for (size_t i = 0; i < l->ndisable; i++) {
    bool found = false;
    for (size_t j = 0; j < cat->npatterns && !found; j++)
      found = strcmp(cat->patterns[j]->id, l->disable[i]) == 0;
    for (size_t j = 0; j < l->npatterns && !found; j++)
      found = strcmp(l->patterns[j]->id, l->disable[i]) == 0;
    if (!found)
      return al_err(err, 0, "%s: disable: no pattern with id '%s'", origin, l->disable[i]);
  }
  pattern **np = realloc(cat->patterns, (cat->npatterns + l->npatterns + 1) * sizeof(pattern *));
  if (!np)
    return al_err(err, ENOMEM, "%s", origin);
  cat->patterns = np;
  cmdent **nc = realloc(cat->commands, (cat->ncommands + l->ncommands + 1) * sizeof(cmdent *));
  if (!nc)
    return al_err(err, ENOMEM, "%s", origin);
  cat->commands = nc;
  pathset *ns = realloc(cat->sets, (cat->nsets + l->nsets + 1) * sizeof(pathset));
  if (!ns)
    return al_err(err, ENOMEM, "%s", origin);
  cat->sets = ns;
  for (size_t i = 0; i < l->npatterns; i++) {
    pattern *p = l->patterns[i];
    size_t j = 0;
    while (j < cat->npatterns && strcmp(cat->patterns[j]->id, p->id) != 0)
      j++;
    if (j < cat->npatterns) {
      pattern_free(cat->patterns[j]);
      cat->patterns[j] = p;
    } else {
      cat->patterns[cat->npatterns++] = p;
    }
  }
  free(l->patterns);
  l->patterns = NULL;
  l->npatterns = 0;
  for (size_t i = 0; i < l->ncommands; i++)
    cat->commands[cat->ncommands++] = l->commands[i];
  free(l->commands);
  l->commands = NULL;
  l->ncommands = 0;
  for (size_t i = 0; i < l->nsets; i++)
    cat->sets[cat->nsets++] = l->sets[i];
  free(l->sets);
  l->sets = NULL;
  l->nsets = 0;
  for (size_t i = 0; i < l->ndisable; i++)
    for (size_t j = 0; j < cat->npatterns; j++)
      if (strcmp(cat->patterns[j]->id, l->disable[i]) == 0)
        cat->patterns[j]->enabled = false;
  return build_indexes(cat, err);
}

int al_catalogue_add_json(al_catalogue *cat, const char *json, size_t len, const char *origin, airlock_error **err) {
  if (len > MAX_CATALOGUE_BYTES)
    return al_err(err, 0, "%s: larger than %d bytes", origin, MAX_CATALOGUE_BYTES);
  json_error_t je;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    return al_err(err, 0, "%s:%d:%d: %s", origin, je.line, je.column, je.text);
  loaded l;
  memset(&l, 0, sizeof(l));
  int r = compile_file(cat, root, origin, &l, err);
  json_decref(root);
  if (r == 0)
    r = merge(cat, &l, origin, err);
  loaded_free(&l);
  return r;
}

int al_catalogue_load_json(const char *json, size_t len, const char *origin, al_catalogue **out, airlock_error **err) {
  *out = NULL;
  al_catalogue *cat = calloc(1, sizeof(*cat));
  if (!cat)
    return al_err(err, ENOMEM, "%s", origin);
  if (al_catalogue_add_json(cat, json, len, origin, err) < 0) {
    al_catalogue_free(cat);
    return -1;
  }
  *out = cat;
  return 0;
}

static int read_file(const char *path, char **data, size_t *len, airlock_error **err) {
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (!f)
    return al_err(err, errno, "cannot open catalogue %s", path);
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap);
  if (!buf)
    return al_err(err, ENOMEM, "%s", path);
  for (;;) {
    if (n == cap) {
      if (cap >= MAX_CATALOGUE_BYTES) {
        free(buf);
        return al_err(err, 0, "%s: larger than %d bytes", path, MAX_CATALOGUE_BYTES);
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        return al_err(err, ENOMEM, "%s", path);
      }
      buf = nb;
      cap *= 2;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) {
      if (ferror(f)) {
        free(buf);
        return al_err(err, EIO, "cannot read %s", path);
      }
      break;
    }
  }
  *data = buf;
  *len = n;
  return 0;
}

int al_catalogue_add_file(al_catalogue *cat, const char *path, airlock_error **err) {
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  if (read_file(path, &data, &len, err) < 0)
    return -1;
  return al_catalogue_add_json(cat, data, len, path, err);
}

int al_catalogue_load(const char *path, al_catalogue **out, airlock_error **err) {
  *out = NULL;
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  if (read_file(path, &data, &len, err) < 0)
    return -1;
  return al_catalogue_load_json(data, len, path, out, err);
}

size_t al_catalogue_size(const al_catalogue *cat) { return cat->nenabled; }

int al_catalogue_pattern(const al_catalogue *cat, size_t i, al_pattern_info *out) {
  for (size_t j = 0; j < cat->npatterns; j++) {
    const pattern *p = cat->patterns[j];
    if (!p->enabled)
      continue;
    if (i-- == 0) {
      *out = (al_pattern_info){p->id, p->description, p->severity, p->action};
      return 0;
    }
  }
  return -1;
}

/* --- classification ------------------------------------------------------------ */

typedef struct {
  const char *s;
  size_t len;
  span *comps;
  size_t ncomps;
} splitpath;

typedef struct {
  splitpath norm;
  splitpath alias;   /* /root/x and /home/U/x also as ~/x; s is NULL otherwise */
  unsigned role;     /* ROLE_* */
  bool redirect;
} pathcand;

typedef struct {
  bool ready;
  uint64_t name_bit; /* bloom_bit of the command name, 0 until computed */
  const cmdent *cmd;
  unsigned char shortf[32];
  const char **pos;
  size_t npos;
  const char *argline;
  pathcand *paths;
  size_t npaths;
  bool paths_ready;
  const char *cwd;
} segctx;

typedef struct {
  const al_catalogue *cat;
  al_shell *sh;
  segctx *ctx;
  size_t *child_off; /* children of segment i: child[child_off[i] .. child_off[i+1]) */
  size_t *child;
  bool failed;       /* out of memory somewhere below */
} clsf;

static const cmdent *find_cmd(const al_catalogue *cat, const char *name) {
  hentry *e = idx_slot(&cat->cmd_by_name, name);
  if (e && e->key)
    return cat->commands[e->vals[0]];
  for (size_t i = 0; i < cat->ncmd_glob; i++) {
    const cmdent *c = cat->commands[cat->cmd_glob[i]];
    size_t nl = strlen(name);
    for (size_t k = 0; k < c->names.npos; k++)
      if (!c->names.pos[k].literal && cglob_plain(&c->names.pos[k], name, nl))
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

static int prepare(clsf *c, size_t i) {
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
  out->ncomps = split_path(str, out->len, NULL, 0);
  out->comps = al_shell_alloc(sh, out->ncomps * sizeof(span));
  if (!out->comps)
    return false;
  split_path(str, out->len, out->comps, out->ncomps);
  return true;
}

static int add_cand(clsf *c, segctx *x, size_t cap, const char *value, unsigned role, bool redirect) {
  if (x->npaths >= cap || value[0] == '\0')
    return 0;
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

static int prepare_paths(clsf *c, size_t i) {
  segctx *x = &c->ctx[i];
  if (x->paths_ready)
    return 0;
  if (prepare(c, i) < 0)
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
  bool dd = false, posix = cmd && cmd->posix_options;
  for (size_t j = 1; j < s->argc; j++) {
    const char *a = s->argv[j];
    if (dd || !is_option_word(a)) {
      unsigned role = ROLE_READ;
      switch (mode) {
      case PATHS_WRITE:
        role = ROLE_WRITE;
        break;
      case PATHS_DELETE:
        role = ROLE_DELETE;
        break;
      case PATHS_NONE:
        role = ROLE_NONE;
        break;
      case PATHS_COPY:
        role = (x->npos >= 2 && posn == x->npos - 1) ? ROLE_WRITE : ROLE_READ;
        break;
      }
      posn++;
      if (cmd && cmd->noperands) {
        const char *eq = strchr(a, '=');
        for (size_t k = 0; eq && k < cmd->noperands; k++)
          if (strlen(cmd->operands[k].key) == (size_t)(eq - a) && strncmp(a, cmd->operands[k].key, (size_t)(eq - a)) == 0) {
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
      fieldf(name, sizeof(name), "%.*s", (int)(eq - a), a);
    } else if (w == 2 && j + 1 < s->argc) {
      value = s->argv[j + 1];
      fieldf(name, sizeof(name), "%s", a);
      if (a[1] != '-' && !(cmd && str_in(a, cmd->long_values, cmd->nlong_values)))
        fieldf(name, sizeof(name), "-%c", a[strlen(a) - 1]);
    }
    if (value) {
      bool write = cmd && str_in(name, cmd->write_options, cmd->nwrite_options);
      add_cand(c, x, cap, value, write ? ROLE_WRITE : ROLE_READ, false);
    }
    j += w - 1;
  }
  for (size_t r = 0; r < s->n_redirs; r++) {
    const al_redir *d = &s->redirs[r];
    unsigned role = d->kind == AL_REDIR_IN ? ROLE_READ
                    : (d->kind == AL_REDIR_OUT || d->kind == AL_REDIR_APPEND) ? ROLE_WRITE
                    : d->kind == AL_REDIR_INOUT ? (ROLE_READ | ROLE_WRITE) : 0;
    if (role)
      add_cand(c, x, cap, d->target, role, true);
  }
  return 0;
}

static bool gs_plain(const globset *g, const char *s) {
  size_t n = strlen(s);
  bool hit = g->npos == 0;
  for (size_t i = 0; !hit && i < g->npos; i++)
    hit = cglob_plain(&g->pos[i], s, n);
  if (!hit)
    return false;
  for (size_t i = 0; i < g->nneg; i++)
    if (cglob_plain(&g->neg[i], s, n))
      return false;
  return true;
}

static bool gs_path(const globset *g, const splitpath *p) {
  bool hit = g->npos == 0;
  for (size_t i = 0; !hit && i < g->npos; i++)
    hit = glob_path_split(&g->pos[i], p->s, p->len, p->comps, p->ncomps);
  if (!hit)
    return false;
  for (size_t i = 0; i < g->nneg; i++)
    if (glob_path_split(&g->neg[i], p->s, p->len, p->comps, p->ncomps))
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

static bool match_node(clsf *c, const mnode *m, size_t i, int depth);

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
    if (match_node(c, m, cur, depth + 1))
      return true;
  }
}

static bool tri_ok(int want, bool have) { return want == TRI_UNSET || (want == TRI_TRUE) == have; }

static bool match_node(clsf *c, const mnode *m, size_t i, int depth) {
  if (depth > 2 * MAX_MATCH_NESTING || c->failed)
    return false;
  const al_segment *s = &c->sh->segs[i];
  bool unresolved = s->flags & AL_SEG_UNRESOLVED_COMMAND;
  uint64_t name_bit = 0;
  if ((m->have & (C_COMMAND | C_COMMAND_NOT)) && s->argc > 0 && !unresolved) {
    if (!c->ctx[i].name_bit)
      c->ctx[i].name_bit = bloom_bit(s->name);
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
    if (!hit)
      return false;
  }
  if (!tri_ok(m->dynamic, unresolved) || !tri_ok(m->piped_into, s->flags & AL_SEG_PIPED_INTO) ||
      !tri_ok(m->pipes_out, s->flags & AL_SEG_PIPES_OUT) || !tri_ok(m->background, s->flags & AL_SEG_BACKGROUND) ||
      !tri_ok(m->remote, s->flags & AL_SEG_REMOTE))
    return false;
  if (m->recursive_call != TRI_UNSET) {
    bool rec = s->function && s->argc > 0 && strcmp(s->argv[0], s->function) == 0;
    if (!tri_ok(m->recursive_call, rec))
      return false;
  }
  if (m->have & C_ASSIGN && !assign_match(s, &m->assign))
    return false;
  if (m->nredirects) {
    if (prepare_paths(c, i) < 0)
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
    if (prepare(c, i) < 0)
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
    if (m->have & C_ARG_RE) {
      bool hit = false;
      for (size_t j = 1; !hit && j < s->argc; j++)
        hit = re_any(&m->arg_re, s->argv[j]);
      if (!hit)
        return false;
    }
    if (m->have & C_ARGLINE_RE) {
      if (!x->argline) {
        size_t len = 1;
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
      if (prepare_paths(c, i) < 0)
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
          bool eligible = pk[q].bit == C_PATH ? !pc->redirect
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
  if (m->not && match_node(c, m->not, i, depth + 1))
    return false;
  if (m->nany) {
    bool hit = false;
    for (size_t k = 0; !hit && k < m->nany; k++)
      hit = match_node(c, &m->any[k], i, depth + 1);
    if (!hit)
      return false;
  }
  return !c->failed;
}

/* --- primary action per segment ---------------------------------------------------- */

static bool writes_file(const al_segment *s) {
  for (size_t r = 0; r < s->n_redirs; r++) {
    const al_redir *d = &s->redirs[r];
    if (d->kind != AL_REDIR_OUT && d->kind != AL_REDIR_APPEND && d->kind != AL_REDIR_INOUT)
      continue;
    const char *t = d->target;
    if (strcmp(t, "/dev/null") == 0 || strcmp(t, "/dev/stdout") == 0 || strcmp(t, "/dev/stderr") == 0 ||
        strcmp(t, "/dev/tty") == 0 || strncmp(t, "/dev/fd/", 8) == 0)
      continue;
    return true;
  }
  return false;
}

static al_action segment_action(clsf *c, size_t i) {
  const al_segment *s = &c->sh->segs[i];
  al_action a = AL_ACTION_SYSTEM_COMMAND;
  if (s->argc == 0)
    return writes_file(s) ? AL_ACTION_FILE_WRITE : AL_ACTION_SYSTEM_COMMAND;
  if (s->flags & AL_SEG_UNRESOLVED_COMMAND)
    return AL_ACTION_SYSTEM_COMMAND;
  if (prepare(c, i) < 0)
    return AL_ACTION_SYSTEM_COMMAND;
  const cmdent *cmd = c->ctx[i].cmd;
  if (cmd) {
    a = cmd->action;
    for (size_t k = 0; k < cmd->nwhen; k++)
      if (match_node(c, &cmd->when[k].match, i, 0)) {
        a = cmd->when[k].action;
        break;
      }
  } else if (strchr(s->argv[0], '/') && strncmp(s->argv[0], "/usr/", 5) != 0 && strncmp(s->argv[0], "/bin/", 5) != 0 &&
             strncmp(s->argv[0], "/sbin/", 6) != 0) {
    a = AL_ACTION_CODE_EXEC; /* a program of its own: ./build.sh, tools/gen */
  }
  if (a == AL_ACTION_FILE_READ || a == AL_ACTION_SYSTEM_COMMAND) {
    bool writes = writes_file(s);
    /* a file given to a write option: sort -o out */
    if (!writes && cmd && cmd->nwrite_options && prepare_paths(c, i) == 0)
      for (size_t p = 0; !writes && p < c->ctx[i].npaths; p++)
        writes = !c->ctx[i].paths[p].redirect && (c->ctx[i].paths[p].role & ROLE_WRITE);
    if (writes)
      a = AL_ACTION_FILE_WRITE;
  }
  return a;
}

/* containers whose nested segments speak for them */
static bool is_container(const al_segment *s) {
  if (!(s->flags & AL_SEG_CODE_PARSED) || s->argc == 0)
    return false;
  static const char *const names[] = {"eval", "su", "runuser", "env", "watch"};
  for (size_t i = 0; i < AL_ARRAY_SIZE(names); i++)
    if (strcmp(s->name, names[i]) == 0)
      return true;
  return al_shell_is_shell(s->name);
}

static const al_action rank[] = {
    AL_ACTION_FILE_DELETE, AL_ACTION_SSH_EXEC, AL_ACTION_HTTP_POST, AL_ACTION_CODE_EXEC,
    AL_ACTION_FILE_WRITE,  AL_ACTION_HTTP_GET, AL_ACTION_SYSTEM_COMMAND, AL_ACTION_FILE_READ,
};

static void track_cwd(clsf *c) {
  const char *cwd = NULL;
  for (size_t i = 0; i < c->sh->n; i++) {
    const al_segment *s = &c->sh->segs[i];
    c->ctx[i].cwd = cwd;
    if (s->argc == 0 || (s->flags & AL_SEG_UNRESOLVED_COMMAND))
      continue;
    if (strcmp(s->name, "popd") == 0) {
      cwd = NULL;
      continue;
    }
    if (strcmp(s->name, "cd") != 0 && strcmp(s->name, "pushd") != 0)
      continue;
    const char *target = "~";
    for (size_t j = 1; j < s->argc; j++)
      if (s->argv[j][0] != '-' || strcmp(s->argv[j], "-") == 0) {
        target = s->argv[j];
        break;
      }
    if (strcmp(target, "-") == 0 || (s->flags & AL_SEG_UNRESOLVED_ARGS))
      cwd = NULL;
    else if (target[0] == '/' || target[0] == '~')
      cwd = al_shell_normalise_path(c->sh, target, NULL);
    else
      cwd = cwd ? al_shell_normalise_path(c->sh, target, cwd) : NULL;
  }
}

static int add_match(al_classification *out, size_t *cap, const pattern *p, size_t seg) {
  if (out->n_matches == *cap) {
    size_t nc = *cap ? *cap * 2 : 8;
    al_match *m = realloc(out->matches, nc * sizeof(*m));
    if (!m)
      return -1;
    out->matches = m;
    *cap = nc;
  }
  out->matches[out->n_matches++] = (al_match){p->id, p->description, p->severity, p->action, seg};
  if (p->severity > out->severity)
    out->severity = p->severity;
  return 0;
}

static int classify_shell(const al_catalogue *cat, al_classification *out, airlock_error **err) {
  al_shell *sh = &out->shell;
  size_t n = sh->n;
  clsf c = {.cat = cat, .sh = sh};
  out->primary = AL_ACTION_SYSTEM_COMMAND;
  out->seg_action = al_shell_alloc(sh, (n + 1) * sizeof(al_action));
  c.ctx = al_shell_alloc(sh, (n + 1) * sizeof(segctx));
  c.child_off = al_shell_alloc(sh, (n + 2) * sizeof(size_t));
  c.child = al_shell_alloc(sh, (n + 1) * sizeof(size_t));
  _cleanup_free_ unsigned *seen = calloc(cat->npatterns + 1, sizeof(unsigned));
  if (!out->seg_action || !c.ctx || !c.child_off || !c.child || !seen)
    return al_err(err, ENOMEM, "classify");
  memset(c.ctx, 0, (n + 1) * sizeof(segctx));
  /* children of each segment, for input_from / output_to */
  memset(c.child_off, 0, (n + 2) * sizeof(size_t));
  for (size_t i = 0; i < n; i++)
    if (sh->segs[i].parent >= 0)
      c.child_off[sh->segs[i].parent + 2]++;
  for (size_t i = 2; i < n + 2; i++)
    c.child_off[i] += c.child_off[i - 1];
  for (size_t i = 0; i < n; i++)
    if (sh->segs[i].parent >= 0)
      c.child[c.child_off[sh->segs[i].parent + 1]++] = i;
  track_cwd(&c);
  size_t cap = 0;
  for (size_t i = 0; i < n; i++) {
    const al_segment *s = &sh->segs[i];
    al_action a = segment_action(&c, i);
    out->seg_action[i] = a;
    if (s->flags & AL_SEG_UNRESOLVED_COMMAND)
      out->dynamic = true;
    if (s->flags & AL_SEG_CODE_OPAQUE)
      out->opaque = true;
    if (!(s->flags & AL_SEG_REMOTE) && !is_container(s))
      out->actions |= AL_ACTION_BIT(a);
    /* the candidate patterns */
    const size_t *lists[3] = {NULL, cat->pat_glob, cat->pat_always};
    size_t counts[3] = {0, cat->npat_glob, cat->npat_always};
    if (s->argc > 0 && !(s->flags & AL_SEG_UNRESOLVED_COMMAND)) {
      hentry *e = idx_slot(&cat->pat_by_name, s->name);
      if (e && e->key) {
        lists[0] = e->vals;
        counts[0] = e->n;
      }
    }
    if (s->flags & AL_SEG_UNRESOLVED_COMMAND) {
      for (size_t p = 0; p < cat->npatterns; p++) {
        const pattern *pt = cat->patterns[p];
        if (pt->enabled && match_node(&c, &pt->match, i, 0) && add_match(out, &cap, pt, i) < 0)
          return al_err(err, ENOMEM, "classify");
      }
    } else {
      for (size_t l = 0; l < 3; l++)
        for (size_t k = 0; k < counts[l]; k++) {
          size_t p = lists[l][k];
          if (seen[p] == i + 1)
            continue;
          seen[p] = (unsigned)(i + 1);
          if (match_node(&c, &cat->patterns[p]->match, i, 0) && add_match(out, &cap, cat->patterns[p], i) < 0)
            return al_err(err, ENOMEM, "classify");
        }
    }
    if (c.failed)
      return al_err(err, ENOMEM, "classify");
  }
  for (size_t r = 0; r < AL_ARRAY_SIZE(rank); r++)
    if (out->actions & AL_ACTION_BIT(rank[r])) {
      out->primary = rank[r];
      break;
    }
  return 0;
}

void al_classification_free(al_classification *c) {
  if (!c)
    return;
  al_shell_free(&c->shell);
  free(c->matches);
  memset(c, 0, sizeof(*c));
}

int al_classify(const al_catalogue *cat, const char *shell_string, al_classification *out, airlock_error **err) {
  memset(out, 0, sizeof(*out));
  if (al_shell_parse(shell_string, &out->shell, err) < 0)
    return -1;
  if (classify_shell(cat, out, err) < 0) {
    al_classification_free(out);
    return -1;
  }
  return 0;
}

int al_classify_argv(const al_catalogue *cat, char *const argv[], al_classification *out, airlock_error **err) {
  memset(out, 0, sizeof(*out));
  if (al_shell_parse_argv(argv, &out->shell, err) < 0)
    return -1;
  if (classify_shell(cat, out, err) < 0) {
    al_classification_free(out);
    return -1;
  }
  return 0;
}
