/* SPDX-License-Identifier: Apache-2.0 */
/* shell_parse.h - splits a POSIX sh command string into the simple commands
 * ("segments") it would run, so the policy engine can judge each one.  It is
 * a static reader, not an interpreter: quotes are removed, variables set
 * earlier in the same string and substitutions whose output is evident
 * ($(echo rm), `which rm`) are resolved, wrappers (sudo, env, xargs, ...) are
 * looked through, and code handed to another shell (sh -c, eval, ssh host
 * CMD, find -exec, a here-doc fed to bash) is parsed as further segments.
 * Whatever cannot be known without running anything is marked, never
 * guessed.  Input size, nesting and segment count are bounded, and any input
 * either parses or fails with an error. */
#ifndef AIRLOCK_SHELL_PARSE_H
#define AIRLOCK_SHELL_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "airlock/airlock.h"

#define AL_SHELL_MAX_INPUT (64 * 1024) /* bytes of one command string */
#define AL_SHELL_MAX_DEPTH 16          /* nested ( ), { }, $( ), ``, <( ), sh -c levels */
#define AL_SHELL_MAX_SEGMENTS 1024

/* al_segment.flags */
enum {
  AL_SEG_DYNAMIC_COMMAND = 1u << 0,    /* the command word came from an expansion ($X, $(..), `..`) */
  AL_SEG_UNRESOLVED_COMMAND = 1u << 1, /* ... and its value cannot be known statically */
  AL_SEG_UNRESOLVED_ARGS = 1u << 2,    /* some argument holds an expansion whose value is unknown */
  AL_SEG_IN_SUBSTITUTION = 1u << 3,    /* inside $( ), ` `, <( ) or >( ) */
  AL_SEG_FEEDS_PARENT = 1u << 4,       /* its output is read by its parent: $( ), ` `, <( ) */
  AL_SEG_FED_BY_PARENT = 1u << 5,      /* it reads its parent's output: >( ) */
  AL_SEG_PIPED_INTO = 1u << 6,         /* stdin is a pipe from segment pipe_from */
  AL_SEG_PIPES_OUT = 1u << 7,          /* stdout goes through a pipe to segment pipe_to */
  AL_SEG_BACKGROUND = 1u << 8,         /* part of a list run with & */
  AL_SEG_SUBSHELL = 1u << 9,           /* inside ( ) */
  AL_SEG_NESTED = 1u << 10,            /* parsed out of a code string held by its parent */
  AL_SEG_REMOTE = 1u << 11,            /* runs on another host (ssh HOST CMD) */
  AL_SEG_CODE_PARSED = 1u << 12,       /* a shell, eval, su -c ... whose code string became nested segments */
  AL_SEG_CODE_OPAQUE = 1u << 13,       /* runs a code string that could not be read (unknown or malformed) */
  AL_SEG_STDIN_PROGRAM = 1u << 14,     /* an interpreter whose program is its here-doc or here-string */
  AL_SEG_PACKAGE_RUN = 1u << 15,       /* run by a package runner (npx NAME): a package's own code */
};

typedef enum {
  AL_REDIR_IN,         /* <  */
  AL_REDIR_OUT,        /* >, >| */
  AL_REDIR_APPEND,     /* >> */
  AL_REDIR_INOUT,      /* <> */
  AL_REDIR_DUP_IN,     /* <&N */
  AL_REDIR_DUP_OUT,    /* >&N, >&- */
  AL_REDIR_HEREDOC,    /* << and <<-: target is the delimiter, body the text */
  AL_REDIR_HERESTRING, /* <<<: target is the word */
} al_redir_kind;

typedef struct {
  al_redir_kind kind;
  int fd;             /* the redirected descriptor; -1 for &> and &>> (stdout and stderr) */
  const char *target; /* after quote removal */
  const char *body;   /* here-doc body, NULL for other kinds */
  bool unresolved;    /* the target holds an expansion whose value is unknown */
} al_redir;

typedef struct {
  /* the command and its arguments after quote removal, expansion of what is
   * known, and wrapper skipping; argv[argc] is NULL.  argv[0] is the command
   * path normalised (/bin/../bin/rm -> /bin/rm).  argc is 0 for a segment that
   * only assigns variables or only redirects (": > file" without the colon). */
  char **argv;
  size_t argc;
  const char *name; /* basename of argv[0]; "" when argc is 0 */
  char **assigns;   /* NAME=value words before the command (and env's) */
  size_t n_assigns;
  char **wrappers; /* the wrappers looked through, outermost first (sudo, env, ...) */
  size_t n_wrappers;
  al_redir *redirs;
  size_t n_redirs;
  unsigned flags;       /* AL_SEG_* */
  int depth;            /* 0 at top level, +1 for each enclosing construct */
  int parent;           /* segment whose words or code string hold this one, or -1 */
  int pipe_from;        /* segment piping into this one, or -1 */
  int pipe_to;          /* segment this one pipes into, or -1 */
  const char *function; /* name of the function whose body holds this segment, or NULL */
} al_segment;

struct al_arena_block;

/* The parse result.  Segments are in the order their parsing finished: a
 * substitution's segments come before the command that holds them, a code
 * string's segments after it.  All strings live in an arena freed with the
 * result. */
typedef struct al_shell {
  al_segment *segs;
  size_t n;
  size_t cap;
  struct al_arena_block *arena;
  size_t arena_bytes;
} al_shell;

/* Parse a command string.  On failure (syntax error such as an unclosed
 * quote, or a limit exceeded) *out is left empty and *err says what and
 * where.  Code strings inside (sh -c '...') that do not parse are not an
 * error: the segment holding them gets AL_SEG_CODE_OPAQUE. */
int al_shell_parse(const char *input, al_shell *out, airlock_error **err);
/* One argv as given to execve: a single segment (wrappers looked through),
 * and the code of `sh -c CODE` and the like parsed as nested segments. */
int al_shell_parse_argv(char *const argv[], al_shell *out, airlock_error **err);
void al_shell_free(al_shell *sh);

/* Memory that lives as long as sh (for callers that annotate segments). */
void *al_shell_alloc(al_shell *sh, size_t size);

/* Lexical normalisation of a path: "." and empty components dropped, ".."
 * applied, trailing slash removed ("/bin/../bin/rm" -> "/bin/rm",
 * "./build/" -> "build", "~/x/../.ssh" -> "~/.ssh").  When cwd is not NULL a
 * relative path is taken relative to it.  Returns a string from sh's arena,
 * or NULL when out of memory or longer than PATH_MAX. */
const char *al_shell_normalise_path(al_shell *sh, const char *path, const char *cwd);

/* The shell-like programs whose -c argument is code (sh, bash, dash, ...). */
bool al_shell_is_shell(const char *name);

#endif
