/* SPDX-License-Identifier: Apache-2.0 */
/* classify.h - the action classifier of the policy engine.  Every request is
 * reduced to action types (code_exec, file_write, http_post, ...) and to the
 * dangerous patterns it matches.  What counts as dangerous, and which
 * commands do what, is data: a JSON catalogue (data/dangerous-actions.json,
 * installed to share/airlock/) in the match language of docs/catalogue.md,
 * which users extend with files of their own.  The catalogue is compiled once
 * (regexes, globs, a name index) so that a decision costs microseconds. */
#ifndef AIRLOCK_CLASSIFY_H
#define AIRLOCK_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "airlock/airlock.h"
#include "shell_parse.h"

typedef enum {
  AL_ACTION_CODE_EXEC,      /* interpreters, compilers, build tools, scripts, package installs */
  AL_ACTION_SYSTEM_COMMAND, /* everything else */
  AL_ACTION_FILE_READ,
  AL_ACTION_FILE_WRITE,
  AL_ACTION_FILE_DELETE,
  AL_ACTION_HTTP_GET,
  AL_ACTION_HTTP_POST, /* sends data out: uploads, raw sockets, git push, publishing */
  AL_ACTION_SSH_EXEC,
} al_action;

#define AL_ACTION_COUNT 8
#define AL_ACTION_BIT(a) (1u << (unsigned)(a))

/* "code_exec", "system_command", ...; NULL for a value out of range */
const char *al_action_name(al_action a);
/* 0 and *out set when name is one of the names above, -1 otherwise */
int al_action_from_name(const char *name, al_action *out);

typedef enum {
  AL_SEVERITY_NONE = 0,
  AL_SEVERITY_HIGH = 1,
  AL_SEVERITY_CRITICAL = 2,
} al_severity;

const char *al_severity_name(al_severity s); /* "none", "high", "critical" */

typedef struct al_catalogue al_catalogue;

/* Where the installed catalogue lives (share/airlock/dangerous-actions.json
 * under the install prefix). */
const char *al_catalogue_default_path(void);

/* The shipped catalogue, compiled into the binary (catalogue_builtin.c). */
int al_catalogue_load_builtin(al_catalogue **out, airlock_error **err);
/* Load and compile a catalogue file.  Errors name the file, the pattern id
 * (or command entry) and the field: "x.json: pattern 'rm-rf-root':
 * match.flags[0]: must be a string". */
int al_catalogue_load(const char *path, al_catalogue **out, airlock_error **err);
/* The same from memory; origin names the text in error messages. */
int al_catalogue_load_json(const char *json, size_t len, const char *origin, al_catalogue **out, airlock_error **err);
/* Merge another file into cat: its patterns are added (one with an id
 * already present replaces it), its commands take precedence, its "disable"
 * list switches patterns off.  On error cat is unchanged. */
int al_catalogue_add_file(al_catalogue *cat, const char *path, airlock_error **err);
int al_catalogue_add_json(al_catalogue *cat, const char *json, size_t len, const char *origin, airlock_error **err);
void al_catalogue_free(al_catalogue *cat);

typedef struct {
  const char *id;
  const char *description;
  al_severity severity;
  al_action action;
} al_pattern_info;

/* Enabled patterns, in file order. */
size_t al_catalogue_size(const al_catalogue *cat);
int al_catalogue_pattern(const al_catalogue *cat, size_t i, al_pattern_info *out);

typedef struct {
  const char *id; /* borrowed from the catalogue: valid while it lives */
  const char *description;
  al_severity severity;
  al_action action; /* the action type the pattern is filed under */
  size_t segment;   /* index into shell.segs */
} al_match;

typedef struct {
  al_shell shell;        /* the segments (see shell_parse.h) */
  al_action *seg_action; /* one primary action per segment */
  unsigned actions;      /* AL_ACTION_BIT() of every action the string performs */
  al_action primary;     /* the weightiest of them (system_command when there are none) */
  al_match *matches;     /* each (pattern, segment) once, in segment order */
  size_t n_matches;
  al_severity severity; /* highest matched severity, AL_SEVERITY_NONE when nothing matched */
  bool dynamic;         /* some command word is not known statically */
  bool opaque;          /* some code string (sh -c, eval, ...) could not be read */
} al_classification;

/* Classify a shell command string.  -1 when it does not parse (unclosed
 * quote, limits of shell_parse.h); a caller should then treat the request
 * as unclassifiable, not as harmless. */
int al_classify(const al_catalogue *cat, const char *shell_string, al_classification *out, airlock_error **err);
/* Classify an argv as given to execve; argv = {"sh", "-c", CODE} has CODE
 * parsed too. */
int al_classify_argv(const al_catalogue *cat, char *const argv[], al_classification *out, airlock_error **err);
void al_classification_free(al_classification *c);

/* Glob matching as the catalogue uses it, exposed for tests: '*' '?' '[...]'
 * and '\' escapes; in path mode '*' stops at '/', and a "**" component
 * matches any number of components. */
bool al_glob_match(const char *pattern, const char *s, bool path_mode);

#endif
