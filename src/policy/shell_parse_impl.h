/* SPDX-License-Identifier: Apache-2.0 */
/* shell_parse_impl.h - what the files of the shell reader share; not an API
 * (that is shell_parse.h).  shell_support.c: arena, buffers, variables,
 * escapes, paths; shell_words.c: words and tokens; shell_parse.c: the grammar
 * and the entry points; shell_command.c: segments, wrappers and the code they
 * hold; shell_calls.c: xargs lists and function calls read with their
 * arguments; shell_output.c: what a substitution prints; shell_registry.c: which
 * commands run commands (data/exec-commands.json); shell_inline.c: the code
 * given to interpreters (python3 -c, node -e, awk). */
#ifndef AIRLOCK_SHELL_PARSE_IMPL_H
#define AIRLOCK_SHELL_PARSE_IMPL_H

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>

#include "shell_parse.h"

#define PENDING_PARENT (-2)     /* parent not known yet: set when the holding command is pushed */
#define ARENA_LIMIT (16u << 20) /* all strings of one parse, expansions included */
#define MAX_VARS 256
#define MAX_STATIC_OUTPUT 4096 /* longest substitution output we compute */
#define AL_STR_(x) #x
#define AL_STR(x) AL_STR_(x)

/* --- growable byte buffer with inline storage ---------------------------- */

typedef struct {
  char *buf;
  size_t len;
  size_t cap;
  char small[192];
} strbuf;

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
  bool plain;       /* no quoting, escaping or expansion at all */
  bool quoted;      /* some quoting */
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
  builder *b; /* while the command is collected */
  int seg;    /* once it is pushed */
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
  unsigned inherit;     /* AL_SEG_* given to every segment made now */
  int origin;           /* ORIGIN_* of the innermost substitution being read */
  int default_parent;   /* parent of segments made at this string's top level */
  const char *function; /* body being read */
  int case_depth;
  heredoc_pending pending[32];
  size_t npending;
  token tok;
  bool have_tok;
  bool fatal;    /* the error is a limit or memory failure, not syntax */
  bool in_array; /* reading NAME=( ... ) */
  airlock_error **err;
} parser;

/* what a parsed construct (command, pipeline, list) reads and writes */
typedef struct {
  int in;  /* segment that reads the construct's stdin, or -1 */
  int out; /* segment that writes its stdout, or -1 */
  bool consumed;
} cmdres;

/* the parts of a simple command handed to finish_command */
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

/* --- character classes ------------------------------------------------------ */

static inline bool is_name_start(int c) { return c == '_' || isalpha(c); }
static inline bool is_name_char(int c) { return c == '_' || isalnum(c); }
static inline bool is_blank(int c) { return c == ' ' || c == '\t'; }
static inline bool is_ifs(int c) { return c == ' ' || c == '\t' || c == '\n'; }
static inline bool is_meta(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '<' || c == '>' || c == '(' ||
         c == ')';
}

/* --- shell_support.c ---------------------------------------------------------- */

void al_sh_sb_init(strbuf *b);
void al_sh_sb_free(strbuf *b);
bool al_sh_sb_putn(strbuf *b, const char *s, size_t n);
bool al_sh_sb_putc(strbuf *b, char c);
bool al_sh_in_list(const char *s, const char *const *list);
size_t al_sh_assignment_prefix(const char *s);
int al_sh_fail_syntax(parser *p, size_t at, const char *what);
int al_sh_fail_fatal(parser *p, const char *msg);
int al_sh_fail_nomem(parser *p);
char *al_sh_pdup(parser *p, const char *s, size_t n);
int al_sh_var_set(parser *p, const char *name, size_t n, const char *value);
void al_sh_var_unset(parser *p, const char *name);
int al_sh_var_get(parser *p, const char *name, size_t n, const char **value);
size_t al_sh_decode_escape(const char *s, strbuf *out, bool octal_zero, bool *ok);

/* --- shell_words.c ------------------------------------------------------------ */

int al_sh_skip_arith(parser *p, int depth, size_t at);
int al_sh_read_word(parser *p, token *t);
token *al_sh_peek(parser *p);
static inline void consume(parser *p) { p->have_tok = false; }

/* --- shell_parse.c ------------------------------------------------------------ */

int al_sh_read_heredocs(parser *p);
int al_sh_parse_list(parser *p, const char *stop, cmdres *res);
int al_sh_parse_string(parser *p, const char *code, size_t len, int parent, unsigned extra, int origin, bool recover);

/* --- shell_command.c ---------------------------------------------------------- */

void al_sh_builder_free(parser *p, builder *b);
int al_sh_builder_word(parser *p, builder *b, char *w, unsigned f);
int al_sh_builder_assign(parser *p, builder *b, char *w, unsigned f);
int al_sh_finish_command(parser *p, builder *b, cmdparts *c, size_t first, int parent, int depth, unsigned extra);
int al_sh_parse_code(parser *p, int k, const char *code, unsigned extra);
bool al_sh_stdin_shell(const al_segment *s);
int al_sh_push_argv_segment(parser *p, char **words, unsigned *f, size_t n, int parent, unsigned extra);

/* --- shell_registry.c -------------------------------------------------------- */

enum { AL_WRAP_PLAIN, AL_WRAP_ENV, AL_WRAP_COMMAND, AL_WRAP_PARALLEL, AL_WRAP_RUNNER };

typedef struct {
  char **names;       /* globs, NULL-terminated */
  char *short_values; /* option letters that take a value */
  char **long_values; /* long options that take a value (when not given with =) */
  int operands;       /* operands before the command: timeout DURATION */
  int kind;           /* AL_WRAP_* */
  bool assignments;   /* NAME=value words before the command (sudo) */
} al_sh_wrapper;

typedef struct {
  char **names;
  char **options;    /* "-c", "--command", or a prefix ending in = or : */
  char **values;     /* globs the value must match (none: any) */
  char **code_after; /* the code is what follows the first of these found in the value */
} al_sh_code_option;

typedef struct {
  char **names;
  char *language;      /* python, javascript, perl, ruby, php, lua, awk */
  char **options;      /* options whose value is the program */
  char **file_options; /* options naming a program file instead (awk -f) */
  char *subcommand;    /* deno eval CODE */
  bool program_first;  /* the first operand is the program (awk) */
} al_sh_interpreter;

typedef struct {
  al_sh_wrapper *wrappers;
  size_t nwrappers;
  al_sh_code_option *code_options;
  size_t ncode_options;
  al_sh_interpreter *interpreters;
  size_t ninterpreters;
  char **shell_setup; /* eval "$(ssh-agent -s)": printers of shell setup, as "name [arg]" */
} al_sh_registry;

/* NULL when the built-in registry could not be read */
const al_sh_registry *al_sh_registry_get(void);
/* "$(CMD)" or "`CMD`" where CMD is a listed printer of shell setup (pyenv init -) */
bool al_sh_is_shell_setup(const char *word);
bool al_sh_name_in(char *const *globs, const char *name);
const al_sh_wrapper *al_sh_find_wrapper(const char *name);
const al_sh_interpreter *al_sh_find_interpreter(const char *name);

/* --- shell_inline.c ----------------------------------------------------------- */

/* Read the inline program of interpreter segment k: shell strings it runs
 * become nested segments, literal file and network operations become the
 * equivalent commands, code it cannot see through marks k opaque. */
int al_sh_inline_code(parser *p, int k, const char *language, const char *code);

/* --- shell_output.c ----------------------------------------------------------- */

/* What the segments pushed since mark (a substitution's) print, when that is
 * evident; NULL when it is not, or out of memory (then p->fatal is set). */
const char *al_sh_static_output(parser *p, size_t mark);
/* What the pipeline ending at segment last prints, the same way. */
const char *al_sh_pipe_output(parser *p, int last);
/* find START with nothing that picks files lists everything below START,
 * written START followed by slash-star; NULL otherwise */
const char *al_sh_find_everything(parser *p, char *const *argv, size_t argc);
/* Text piped into a shell or an interpreter reading stdin is its code
 * (echo 'rm -rf ~' | sh): read when what the pipeline prints is evident. */
int al_sh_piped_code(parser *p, int from, int to);

/* --- shell_calls.c ------------------------------------------------------------ */

bool al_sh_has_wrapper(const al_segment *s, const char *name);
/* xargs CMD fed LIST: CMD run on the list's words (children of segment k). */
int al_sh_xargs_list(parser *p, int k, const char *text);
/* xargs CMD <<< LIST, the same. */
int al_sh_xargs_herestring(parser *p, int k);
/* segment k calls a function defined earlier with arguments: its body again, with $1... */
int al_sh_function_call(parser *p, int k, char **argv, unsigned *f, size_t argc);

#endif
