/* SPDX-License-Identifier: Apache-2.0 */
/* classify_hits.h - for the classifier's unit tests (after cmocka.h): the
 * catalogue's path and whether a command string matches a pattern. */
#ifndef AIRLOCK_TEST_CLASSIFY_HITS_H
#define AIRLOCK_TEST_CLASSIFY_HITS_H

#include "classify.h"

#include <stdbool.h>
#include <string.h>

#ifndef AIRLOCK_DATA_DIR
#error "AIRLOCK_DATA_DIR must be defined"
#endif
#define CATALOGUE AIRLOCK_DATA_DIR "/dangerous-actions.json"

/* whether pattern id (any pattern when id is NULL) matches the command string */
static inline bool classify_hits(const al_catalogue *cat, const char *s, const char *id) {
  al_classification c;
  airlock_error *err = NULL;
  if (al_classify(cat, s, &c, &err) != 0)
    fail_msg("al_classify(%s) failed: %s", s, err ? err->msg : "(no error)");
  bool r = false;
  for (size_t i = 0; i < c.n_matches; i++)
    r |= id == NULL || strcmp(c.matches[i].id, id) == 0;
  al_classification_free(&c);
  return r;
}

#ifdef CLASSIFY_CLASS_TESTS
/* The files of classes (test_recall_classes*.c): the shipped catalogue,
 * loaded by setup; HIT: a command a pattern must flag; CLEAN: a benign
 * near miss no pattern may flag */
#include <stdio.h>

static al_catalogue *cat;

static bool hits(const char *s, const char *id) { return classify_hits(cat, s, id); }

#define HIT(s, id)                                                                                                     \
  do {                                                                                                                 \
    if (!hits(s, id))                                                                                                  \
      fail_msg("'%s' should match %s", s, id);                                                                         \
  } while (0)
#define CLEAN(s)                                                                                                       \
  do {                                                                                                                 \
    if (hits(s, NULL))                                                                                                 \
      fail_msg("'%s' should not be flagged", s);                                                                       \
  } while (0)

static int setup(void **state) {
  (void)state;
  airlock_error *err = NULL;
  if (al_catalogue_load(CATALOGUE, &cat, &err) < 0) {
    fprintf(stderr, "%s\n", err->msg);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  al_catalogue_free(cat);
  return 0;
}
#endif

#endif
