/* SPDX-License-Identifier: Apache-2.0 */
/* redact_impl.h - what the files of redaction share; not an API (that is
 * redact.h).  redact.c: byte ranges and the text rules (names, headers,
 * URLs, PEM, token shapes, operator patterns); redact_registry.c: the
 * registry of secret-bearing options per tool and the known secret values;
 * redact_cmd.c: commands read with the shell reader, and the entry points. */
#ifndef AIRLOCK_REDACT_IMPL_H
#define AIRLOCK_REDACT_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "redact.h"

typedef struct {
  size_t start, end;
  bool sure; /* a value the operator named (known, patterns): never a placeholder */
} rd_span;

typedef struct {
  rd_span *v;
  size_t n, cap;
  bool oom;
} rd_spans;

void rd_add(rd_spans *sp, size_t start, size_t end);
void rd_add_sure(rd_spans *sp, size_t start, size_t end);
/* the range only refers to a secret or holds a placeholder for one
 * (redact_placeholder.c): rd_apply leaves it as written */
bool rd_placeholder_value(const char *v, size_t n);
/* where s refers to a secret kept elsewhere (${DB_PASSWORD:?}, {{ .pw }},
 * ENC[...]): a range inside one only refers too */
void rd_reference_ranges(const char *s, size_t len, rd_spans *out);
/* s with each merged range replaced by AL_REDACTED; frees sp->v; NULL on OOM */
char *rd_apply(const char *s, size_t len, rd_spans *sp);

/* The text rules over s[0..len): ranges to hide, into sp.  depth bounds the
 * decoding of base64 words (decoded text is checked with the same rules). */
void rd_scan_text(const char *s, size_t len, rd_spans *sp, int depth);

/* token shapes, URL parameters, config lines, base64 words (redact_shapes.c) */
void rd_scan_shapes(const char *s, size_t len, rd_spans *sp, int depth);
/* NAME: VALUE as one whole word (a curl -H argument) */
void rd_scan_header_word(const char *e, size_t len, rd_spans *sp);

/* whether a name (option, variable, key) holds a secret: strongly (its
 * value is hidden whatever it looks like) or weakly (only a random-looking
 * value) */
bool rd_name_secret(const char *k, size_t n);
bool rd_name_weak(const char *k, size_t n);
/* a long random-looking word: length, character classes and entropy */
bool rd_random_word(const char *s, size_t n);
/* a value that names where a secret is, not the secret: /dev/stdin */
bool rd_harmless_value(const char *v, size_t n);
/* a known token shape anywhere in s */
bool rd_has_shape(const char *s, size_t n);

/* a word of a command, where it stands in the source (redact_cmd.c) */
typedef struct {
  const char *raw;   /* the buffer the word is in */
  size_t start, end; /* its bytes there */
  const char *text;  /* after quote removal */
  size_t text_len;
  rd_spans *sp; /* where its ranges go */
  bool cmd_start;
  bool direct;     /* text is raw[text_off..] byte for byte */
  size_t text_off; /* (when direct) */
  bool herestring; /* the word after <<< */
  bool piped;      /* (cmd_start) the command before it pipes into this one */
  bool out_target; /* the word after > or >> */
} rword;

/* hide text[a..b) of w (a whole word) in its source */
void rd_mark(const rword *w, size_t a, size_t b);
void rd_mark_all(const rword *w);

/* secrets in code strings: SQL, interpreter assignments and setters,
 * expect scripts (redact_code.c) */
void rd_scan_code(const char *s, size_t len, rd_spans *sp);

/* where a command's data goes (redact_flow.c): echo/printf piped into a
 * tool that reads a secret on stdin or written into a file that holds
 * one, printf's arguments in the output its format makes, sed scripts'
 * replacements.  w[0..n) are the words of a whole command string. */
void rd_flow_rules(rword *w, size_t n);
/* whether the here-document whose delimiter is w[word] holds a secret: its
 * command reads one on stdin or writes a secret file, or pipes into one
 * that reads it */
bool rd_heredoc_secret(const rword *w, size_t n, size_t word);

/* --- the registry (redact_registry.c) --- */

typedef struct rd_tool rd_tool;
const rd_tool *rd_tool_find(const char *name);
bool rd_is_wrapper(const char *name);
bool rd_tool_novalue(const rd_tool *t, const char *opt);
/* the option takes the next word as a secret (or OPT=VALUE) */
bool rd_tool_option(const rd_tool *t, const char *opt);
/* attached prefix (-pSECRET): its length, else 0 */
size_t rd_tool_attached(const rd_tool *t, const char *word);
/* the character after which an option's value is secret ('\0': all) */
char rd_tool_split(const rd_tool *t, const char *opt);
bool rd_tool_name_then_value(const rd_tool *t);
/* positional operand index that is secret (0: none), with its conditions */
int rd_tool_operand(const rd_tool *t, const char **when_flag);
bool rd_tool_subcommand_ok(const rd_tool *t, const char *const *words, size_t n);
bool rd_tool_has_subcommands(const rd_tool *t);
/* openssl pass:X: the prefix to keep; skip prefixes make the value harmless */
size_t rd_tool_value_offset(const rd_tool *t, const char *value, bool *harmless);
bool rd_registry_secret_name(const char *norm);
bool rd_registry_weak_name(const char *norm);
/* a name that ends like a secret's but holds an identifier: cache_key,
 * account_sid, idempotency_key, public_key */
bool rd_registry_identifier_name(const char *norm);
bool rd_registry_url_param(const char *name, size_t n);
/* the tool reads a secret from stdin: always, or with one of these words
 * (docker login --password-stdin, sudo -S) */
bool rd_tool_stdin_secret(const rd_tool *t, const char *word);
/* a path to a file whose whole content is a secret (.vault-token) */
bool rd_registry_secret_file(const char *path);

/* known secret values: every occurrence in s[0..len) into sp */
void rd_scan_known(const char *s, size_t len, rd_spans *sp);

#endif
