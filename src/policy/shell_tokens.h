/* SPDX-License-Identifier: Apache-2.0 */
/* shell_tokens.h - the shell reader's words with where they stand in the
 * source, for callers that must edit the text itself (redaction) rather
 * than judge the commands it runs.  The same lexer as al_shell_parse():
 * quotes removed and evident substitutions resolved in each word's text,
 * but no grammar: every word is reported, in source order, with whether it
 * begins a simple command, and here-document bodies are reported as raw
 * text spans. */
#ifndef AIRLOCK_SHELL_TOKENS_H
#define AIRLOCK_SHELL_TOKENS_H

#include <stdbool.h>
#include <stddef.h>

#include "shell_parse.h"

typedef enum {
  AL_STOK_WORD,    /* text is the word after quote removal and expansion */
  AL_STOK_HEREDOC, /* a here-document's body: start..end of the raw text */
} al_stok_kind;

typedef struct {
  al_stok_kind kind;
  size_t start, end; /* byte offsets into the input: the raw word or body */
  const char *text;  /* the word's text, in the arena of the al_shell given */
  bool cmd_start;    /* the first word after ; & | && || ( ) newline or a keyword */
  bool redir_target; /* the word after a redirection operator */
} al_shell_token;

/* The tokens of a command string.  *toks is malloc'd (free it), its strings
 * live in sh (al_shell_free).  Fails like al_shell_parse on bad quoting or a
 * limit. */
int al_shell_tokens(const char *input, al_shell *sh, al_shell_token **toks, size_t *n, airlock_error **err);

#endif
