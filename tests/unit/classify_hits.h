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

#endif
