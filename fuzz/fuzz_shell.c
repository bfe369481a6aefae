/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_shell.c - libFuzzer target for the shell reader and the classifier.
 *
 * The input up to its first NUL is a command string: it goes through
 * al_shell_parse (whose result is checked for consistency: indices in range,
 * pipes linked both ways, limits kept) and al_classify with the shipped
 * catalogue.  Whatever follows the NUL is an argv (NUL-separated words) for
 * al_classify_argv.  A failure must come with a message and leave nothing.
 * The command string wrapped as sh -c CMD (argv, as OpenClaw sends it) must
 * never get a weaker verdict at level full than the string itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "policy.h"
#include "shell_parse.h"

#ifndef AIRLOCK_DATA_DIR
#error "AIRLOCK_DATA_DIR must be defined"
#endif

static al_catalogue *catalogue;
static al_policy level_full;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  airlock_error *err = NULL;
  if (al_catalogue_load(AIRLOCK_DATA_DIR "/dangerous-actions.json", &catalogue, &err) < 0)
    abort();
  al_policy_init(&level_full);
  json_t *autonomy = json_pack("{s:s}", "level", "full");
  if (autonomy == NULL || al_policy_set_autonomy(&level_full, autonomy, &err) < 0 ||
      al_policy_finish(&level_full, false, &err) < 0)
    abort();
  json_decref(autonomy);
  return 0;
}

static al_verdict verdict(const al_classification *c, int r) {
  al_policy_decision d;
  al_policy_decide(&level_full, r == 0 ? c : NULL, &d);
  return d.verdict;
}

static void check_error(int r, airlock_error **err) {
  if (r == 0 && *err != NULL)
    abort();
  if (r != 0 && (r != -1 || *err == NULL || (*err)->msg == NULL || (*err)->msg[0] == '\0'))
    abort();
  airlock_error_free(err);
}

static void check_shell(const al_shell *sh) {
  if (sh->n > AL_SHELL_MAX_SEGMENTS)
    abort();
  for (size_t i = 0; i < sh->n; i++) {
    const al_segment *s = &sh->segs[i];
    if (s->argv == NULL || s->argv[s->argc] != NULL || s->name == NULL)
      abort();
    for (size_t j = 0; j < s->argc; j++)
      if (s->argv[j] == NULL)
        abort();
    if ((s->argc == 0) != (s->name[0] == '\0' && s->argc == 0))
      abort();
    for (size_t j = 0; j < s->n_assigns; j++)
      if (s->assigns[j] == NULL || strchr(s->assigns[j], '=') == NULL)
        abort();
    for (size_t j = 0; j < s->n_redirs; j++)
      if (s->redirs[j].target == NULL)
        abort();
    if (s->depth < 0 || s->depth > AL_SHELL_MAX_DEPTH)
      abort();
    if (s->parent < -1 || s->parent >= (int)sh->n || s->parent == (int)i)
      abort();
    if (s->pipe_from >= 0 &&
        ((size_t)s->pipe_from >= sh->n || sh->segs[s->pipe_from].pipe_to != (int)i || !(s->flags & AL_SEG_PIPED_INTO)))
      abort();
    if (s->pipe_to >= 0 &&
        ((size_t)s->pipe_to >= sh->n || sh->segs[s->pipe_to].pipe_from != (int)i || !(s->flags & AL_SEG_PIPES_OUT)))
      abort();
  }
}

static void check_classification(const al_classification *c) {
  check_shell(&c->shell);
  al_severity max = AL_SEVERITY_NONE;
  for (size_t i = 0; i < c->n_matches; i++) {
    const al_match *m = &c->matches[i];
    if (m->segment >= c->shell.n || m->id == NULL || (unsigned)m->action >= AL_ACTION_COUNT)
      abort();
    if (m->severity > max)
      max = m->severity;
  }
  if (max != c->severity)
    abort();
  for (size_t i = 0; i < c->shell.n; i++)
    if ((unsigned)c->seg_action[i] >= AL_ACTION_COUNT)
      abort();
  if (c->actions >> AL_ACTION_COUNT)
    abort();
  if (c->actions && !(c->actions & AL_ACTION_BIT(c->primary)))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t cut = 0;
  while (cut < size && data[cut] != '\0')
    cut++;
  char *s = malloc(cut + 1);
  if (s == NULL)
    abort();
  memcpy(s, data, cut);
  s[cut] = '\0';

  al_shell sh;
  airlock_error *err = NULL;
  int parsed = al_shell_parse(s, &sh, &err);
  check_error(parsed, &err);
  if (parsed == 0)
    check_shell(&sh);
  else if (sh.n != 0 || sh.segs != NULL)
    abort();
  al_shell_free(&sh);

  al_classification c;
  int r = al_classify(catalogue, s, &c, &err);
  check_error(r, &err);
  if (r != parsed)
    abort(); /* the classifier fails exactly when the string does not parse */
  if (r == 0)
    check_classification(&c);
  al_verdict bare = verdict(&c, r);
  al_classification_free(&c);

  /* sh -c CMD is never weaker than CMD */
  char *wrapped[] = {"/bin/sh", "-lc", s, NULL};
  r = al_classify_argv(catalogue, wrapped, &c, &err);
  check_error(r, &err);
  if (r == 0)
    check_classification(&c);
  if (verdict(&c, r) < bare)
    abort();
  al_classification_free(&c);
  free(s);

  /* the rest: an argv */
  if (cut < size) {
    size_t n = 0;
    char *words = malloc(size - cut);
    char **argv = malloc((size - cut + 1) * sizeof(char *));
    if (words == NULL || argv == NULL)
      abort();
    memcpy(words, data + cut + 1, size - cut - 1);
    words[size - cut - 1] = '\0';
    for (char *w = words; w < words + (size - cut - 1) + 1;) {
      argv[n++] = w;
      w += strlen(w) + 1;
    }
    argv[n] = NULL;
    r = al_classify_argv(catalogue, argv, &c, &err);
    check_error(r, &err);
    if (r == 0)
      check_classification(&c);
    al_classification_free(&c);
    free(argv);
    free(words);
  }
  return 0;
}
