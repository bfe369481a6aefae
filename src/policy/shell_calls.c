/* SPDX-License-Identifier: Apache-2.0 */
/* shell_calls.c - commands whose real arguments come from elsewhere in the
 * string: xargs CMD fed an evident list (a pipe or a here-string), and calls
 * of a function defined earlier, whose body is read again with the call's
 * $1... .  Both make child segments of the calling segment. */
#define _GNU_SOURCE
#include "shell_parse_impl.h"

#include <string.h>

/* xargs CMD fed an evident list (echo / | xargs rm -rf, xargs rm -rf <<< "/etc"):
 * CMD with the list's words appended, or put in place of {} (xargs -I{}), as a
 * child of the xargs segment; the list is split on blanks, at most 16 words */
bool al_sh_has_wrapper(const al_segment *s, const char *name) {
  for (size_t i = 0; i < s->n_wrappers; i++)
    if (strcmp(s->wrappers[i], name) == 0)
      return true;
  return false;
}

int al_sh_xargs_list(parser *p, int k, const char *text) {
  enum { MAX_ITEMS = 16 };
  const al_segment *s = &p->sh->segs[k];
  const char *items[MAX_ITEMS];
  size_t lens[MAX_ITEMS], n = 0;
  for (const char *t = text; *t && n < MAX_ITEMS;) {
    t += strspn(t, " \t\n");
    size_t l = strcspn(t, " \t\n");
    if (l == 0)
      break;
    items[n] = t;
    lens[n++] = l;
    t += l;
  }
  size_t repl = 0;
  for (size_t i = 1; i < s->argc; i++)
    if (strcmp(s->argv[i], "{}") == 0)
      repl = i;
  size_t rounds = repl ? n : 1, argc = repl ? s->argc : s->argc + n;
  for (size_t r = 0; r < rounds; r++) {
    char **w = al_shell_alloc(p->sh, (argc + 1) * sizeof(char *));
    unsigned *f = al_shell_alloc(p->sh, (argc + 1) * sizeof(unsigned));
    if (w == NULL || f == NULL)
      return al_sh_fail_nomem(p);
    for (size_t i = 0; i < s->argc; i++) {
      w[i] = s->argv[i];
      f[i] = 0;
    }
    for (size_t i = 0; i < (repl ? 1 : n); i++) {
      size_t at = repl ? repl : s->argc + i, it = repl ? r : i;
      if ((w[at] = al_sh_pdup(p, items[it], lens[it])) == NULL)
        return -1;
      f[at] = F_DYNAMIC;
    }
    w[argc] = NULL;
    if (al_sh_push_argv_segment(p, w, f, argc, k, 0) < 0)
      return -1;
  }
  return 0;
}

int al_sh_xargs_herestring(parser *p, int k) {
  const al_segment *s = &p->sh->segs[k];
  if (s->argc == 0 || !al_sh_has_wrapper(s, "xargs"))
    return 0;
  for (size_t r = 0; r < s->n_redirs; r++)
    if (s->redirs[r].kind == AL_REDIR_HERESTRING && !s->redirs[r].unresolved)
      return al_sh_xargs_list(p, k, s->redirs[r].target);
  return 0;
}



/* f ARG...: a function defined earlier in the string, its body read again
 * with $1... from the call (f(){ rm -rf "$1"; }; f ~), one level deep */
int al_sh_function_call(parser *p, int k, char **argv, unsigned *f, size_t argc) {
  const char *name = p->sh->segs[k].name, *body = NULL, *busy = NULL;
  size_t nl = strlen(name);
  char key[64];
  if (argc < 2 || nl + 2 > sizeof(key) || strchr(argv[0], '/') || p->sh->n > AL_SHELL_MAX_SEGMENTS / 2)
    return 0; /* beyond half the segment limit calls are not expanded, so they never make a parse fail */
  key[0] = '\1';
  memcpy(key + 1, name, nl + 1);
  if (!al_sh_var_get(p, key, nl + 1, &body) || al_sh_var_get(p, "\1", 1, &busy))
    return 0;
  const char *old[10] = {0};
  size_t npos = argc < 10 ? argc : 10;
  for (size_t i = 1; i < npos; i++) {
    char d = (char)('0' + i);
    al_sh_var_get(p, &d, 1, &old[i]);
    if (al_sh_var_set(p, &d, 1, (f[i] & F_UNRESOLVED) ? NULL : argv[i]) < 0)
      return -1;
  }
  int r = al_sh_var_set(p, "\1", 1, "1");
  if (r == 0)
    r = al_sh_parse_string(p, body, strlen(body), k, 0, ORIGIN_NONE, true) < 0 ? -1 : 0;
  al_sh_var_unset(p, "\1");
  for (size_t i = 1; i < npos; i++) {
    char d = (char)('0' + i);
    if (al_sh_var_set(p, &d, 1, old[i]) < 0)
      return -1;
  }
  return r;
}
