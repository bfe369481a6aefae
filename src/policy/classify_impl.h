/* SPDX-License-Identifier: Apache-2.0 */
/* classify_impl.h - what the files of the classifier share; not an API
 * (that is classify.h).  classify_glob.c: globs; catalogue.c: loading,
 * merging, indexes; catalogue_compile.c: the JSON compiled; classify_match.c:
 * a match node against a segment; classify.c: the classification. */
#ifndef AIRLOCK_CLASSIFY_IMPL_H
#define AIRLOCK_CLASSIFY_IMPL_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify.h"

#define MAX_MATCH_NESTING 6

/* --- globs -------------------------------------------------------------------- */

typedef struct {
  const char *p;
  size_t n;
} span;

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
  int8_t dynamic, no_positionals, piped_into, pipes_out, background, recursive_call, remote, runs_fetched,
      stdin_text;
  uint8_t nflags, nflags_absent, noptions, nredirects, nany;
  altgroup *flags;
  altgroup *flags_absent;
  optcond *options;
  redircond *redirects;
  mnode *input_from, *output_to, *not ;
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
  /* the positional at this place (1-based; 0: none) is a search pattern,
   * not a path, unless -e/-f gave the pattern (grep PATTERN FILE); with
   * pattern_subcommand, only after that first positional (git grep) */
  int pattern_operand;
  char *pattern_subcommand;
  when_rule *when;
  size_t nwhen;
  /* when it holds the command only reports what it would do (rsync -n,
   * terraform plan): its own segment is matched by no pattern */
  mnode dry_run;
  bool has_dry_run;
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

/* --- classification ------------------------------------------------------------ */

typedef struct {
  const char *s;
  size_t len;
  span *comps;
  size_t ncomps;
} splitpath;

typedef struct {
  splitpath norm;
  splitpath alias; /* /root/x and /home/U/x also as ~/x; s is NULL otherwise */
  unsigned role;   /* ROLE_* */
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
  bool failed; /* out of memory somewhere below */
} clsf;

/* --- classify_glob.c ----------------------------------------------------------- */

size_t al_cat_split_path(const char *s, size_t len, span *out, size_t max);
void al_cat_cglob_free(cglob *g);
bool al_cat_cglob_init(cglob *g, const char *text);
bool al_cat_glob_path_split(const cglob *g, const char *path, size_t plen, const span *sc, size_t ns);
bool al_cat_cglob_plain(const cglob *g, const char *s, size_t n);

/* --- catalogue.c --------------------------------------------------------------- */

hentry *al_cat_idx_slot(const nameidx *x, const char *key);

/* --- catalogue_compile.c ------------------------------------------------------- */

void al_cat_fieldf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint64_t al_cat_hash(const char *s);
uint64_t al_cat_bloom_bit(const char *s);
/* one file's JSON compiled into l; base (may be NULL) lends its sets */
int al_cat_compile_file(const al_catalogue *base, json_t *root, const char *origin, loaded *l, airlock_error **err);

/* --- classify_match.c ---------------------------------------------------------- */

int al_cat_prepare(clsf *c, size_t i);
int al_cat_prepare_paths(clsf *c, size_t i);
bool al_cat_match_node(clsf *c, const mnode *m, size_t i, int depth);

/* --- classify_flow.c ----------------------------------------------------------- */

/* segment i runs a file an earlier segment downloaded */
bool al_cat_runs_fetched(clsf *c, size_t i);

#endif
