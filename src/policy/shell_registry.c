/* SPDX-License-Identifier: Apache-2.0 */
/* shell_registry.c - the registry of commands that run other commands
 * (data/exec-commands.json, compiled in): wrappers and where their command
 * starts (sudo, timeout DURATION, flock FILE), options whose value is shell
 * code (script -c, tar --checkpoint-action=exec=, git -c alias.x=!...), and
 * interpreters whose inline code is read (python3 -c, node -e, awk 'PROG'),
 * and the printers of shell setup whose output eval runs (ssh-agent -s).
 * Kept as data so that what runs what is reviewed like the catalogue; read
 * once per process and shared read-only by every parse. */
#define _GNU_SOURCE
#include "shell_parse_impl.h"

#include <fnmatch.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "exec_commands_builtin.h"

static al_sh_registry registry;
static bool registry_ok;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;

/* a NULL-terminated copy of a JSON array of strings (or of one string) */
static char **strings(json_t *v) {
  size_t n = json_is_array(v) ? json_array_size(v) : (json_is_string(v) ? 1 : 0);
  char **out = calloc(n + 1, sizeof(char *));
  if (out == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_is_array(v) ? json_array_get(v, i) : v;
    out[i] = strdup(json_is_string(s) ? json_string_value(s) : "");
    if (out[i] == NULL)
      return NULL;
  }
  return out;
}

static char *string(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return strdup(json_is_string(v) ? json_string_value(v) : "");
}

static bool load_wrappers(json_t *arr) {
  registry.nwrappers = json_array_size(arr);
  registry.wrappers = calloc(registry.nwrappers + 1, sizeof(al_sh_wrapper));
  if (registry.wrappers == NULL)
    return false;
  for (size_t i = 0; i < registry.nwrappers; i++) {
    json_t *o = json_array_get(arr, i);
    al_sh_wrapper *w = &registry.wrappers[i];
    const char *kind = json_string_value(json_object_get(o, "kind"));
    w->names = strings(json_object_get(o, "names"));
    w->short_values = string(o, "short_values");
    w->long_values = strings(json_object_get(o, "long_values"));
    w->operands = (int)json_integer_value(json_object_get(o, "operands"));
    w->assignments = json_is_true(json_object_get(o, "assignments"));
    w->kind = !kind                           ? AL_WRAP_PLAIN
              : strcmp(kind, "env") == 0      ? AL_WRAP_ENV
              : strcmp(kind, "command") == 0  ? AL_WRAP_COMMAND
              : strcmp(kind, "parallel") == 0 ? AL_WRAP_PARALLEL
              : strcmp(kind, "runner") == 0   ? AL_WRAP_RUNNER
                                              : AL_WRAP_PLAIN;
    if (!w->names || !w->short_values || !w->long_values)
      return false;
  }
  return true;
}

static bool load_code_options(json_t *arr) {
  registry.ncode_options = json_array_size(arr);
  registry.code_options = calloc(registry.ncode_options + 1, sizeof(al_sh_code_option));
  if (registry.code_options == NULL)
    return false;
  for (size_t i = 0; i < registry.ncode_options; i++) {
    json_t *o = json_array_get(arr, i);
    al_sh_code_option *c = &registry.code_options[i];
    c->names = strings(json_object_get(o, "names"));
    c->options = strings(json_object_get(o, "options"));
    c->values = strings(json_object_get(o, "value"));
    c->code_after = strings(json_object_get(o, "code_after"));
    if (!c->names || !c->options || !c->values || !c->code_after)
      return false;
  }
  return true;
}

static bool load_interpreters(json_t *arr) {
  registry.ninterpreters = json_array_size(arr);
  registry.interpreters = calloc(registry.ninterpreters + 1, sizeof(al_sh_interpreter));
  if (registry.interpreters == NULL)
    return false;
  for (size_t i = 0; i < registry.ninterpreters; i++) {
    json_t *o = json_array_get(arr, i);
    al_sh_interpreter *t = &registry.interpreters[i];
    t->names = strings(json_object_get(o, "names"));
    t->language = string(o, "language");
    t->options = strings(json_object_get(o, "options"));
    t->file_options = strings(json_object_get(o, "file_options"));
    t->subcommand = string(o, "subcommand");
    const char *prog = json_string_value(json_object_get(o, "program"));
    t->program_first = prog && strcmp(prog, "first") == 0;
    if (!t->names || !t->language || !t->options || !t->file_options || !t->subcommand)
      return false;
  }
  return true;
}

static void load(void) {
  json_error_t je;
  json_t *root = json_loadb(exec_commands_builtin, exec_commands_builtin_len, JSON_REJECT_DUPLICATES, &je);
  if (root == NULL)
    return;
  registry_ok = load_wrappers(json_object_get(root, "wrappers")) &&
                load_code_options(json_object_get(root, "code_options")) &&
                load_interpreters(json_object_get(root, "interpreters")) &&
                (registry.shell_setup = strings(json_object_get(root, "shell_setup"))) != NULL;
  json_decref(root);
}

const al_sh_registry *al_sh_registry_get(void) {
  pthread_once(&registry_once, load);
  return registry_ok ? &registry : NULL;
}

bool al_sh_name_in(char *const *globs, const char *name) {
  for (size_t i = 0; globs && globs[i]; i++)
    if (strcmp(globs[i], name) == 0 || (strpbrk(globs[i], "*?[") && fnmatch(globs[i], name, 0) == 0))
      return true;
  return false;
}

const al_sh_wrapper *al_sh_find_wrapper(const char *name) {
  const al_sh_registry *r = al_sh_registry_get();
  for (size_t i = 0; r && i < r->nwrappers; i++)
    if (al_sh_name_in(r->wrappers[i].names, name))
      return &r->wrappers[i];
  return NULL;
}

const al_sh_interpreter *al_sh_find_interpreter(const char *name) {
  const al_sh_registry *r = al_sh_registry_get();
  for (size_t i = 0; r && i < r->ninterpreters; i++)
    if (al_sh_name_in(r->interpreters[i].names, name))
      return &r->interpreters[i];
  return NULL;
}

bool al_sh_is_shell_setup(const char *word) {
  const al_sh_registry *r = al_sh_registry_get();
  size_t n = strlen(word);
  size_t skip = strncmp(word, "$(", 2) == 0 ? 2 : word[0] == '`' ? 1 : 0;
  if (r == NULL || skip == 0 || n < skip + 2 || word[n - 1] != (skip == 2 ? ')' : '`'))
    return false;
  const char *cmd = word + skip;
  size_t len = n - skip - 1;
  while (len > 0 && cmd[0] == ' ') {
    cmd++;
    len--;
  }
  while (len > 0 && cmd[len - 1] == ' ')
    len--;
  /* one plain command: no operators, expansions, quotes or redirections */
  for (size_t i = 0; i < len; i++)
    if (strchr(";|&<>$`'\"\\(){}\n", cmd[i]))
      return false;
  const char *base = cmd;
  for (size_t i = 0; i < len && cmd[i] != ' '; i++)
    if (cmd[i] == '/')
      base = cmd + i + 1;
  size_t blen = len - (size_t)(base - cmd);
  for (size_t i = 0; r->shell_setup[i]; i++) {
    size_t el = strlen(r->shell_setup[i]);
    if (el <= blen && strncmp(base, r->shell_setup[i], el) == 0 && (el == blen || base[el] == ' '))
      return true;
  }
  return false;
}
