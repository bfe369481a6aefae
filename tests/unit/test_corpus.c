/* SPDX-License-Identifier: Apache-2.0 */
/* test_corpus.c - the classifier against tests/policy/corpus.tsv, with the
 * installed catalogue (data/dangerous-actions.json).  Prints the confusion
 * matrix; fails when a dangerous line is not flagged with its pattern, when
 * more than 3% of the benign lines are flagged, or when a benign line lacks
 * the action it names.  Also prints the mean and slowest time of one
 * decision (printed only: no timing assertion). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify.h"

#ifndef AIRLOCK_DATA_DIR
#error "AIRLOCK_DATA_DIR (the source data/ directory) must be defined"
#endif
#ifndef AIRLOCK_POLICY_DIR
#error "AIRLOCK_POLICY_DIR (the source tests/policy/ directory) must be defined"
#endif

#define MAX_FP_RATE 0.03

typedef struct {
  int line;
  bool danger;
  char *expect; /* pattern id or action name */
  char *command;
} entry;

typedef struct {
  entry *e;
  size_t n;
} corpus;

static void load_corpus(corpus *c) {
  FILE *f = fopen(AIRLOCK_POLICY_DIR "/corpus.tsv", "re");
  assert_non_null(f);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int no = 0;
  while ((len = getline(&line, &cap, f)) >= 0) {
    no++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      line[--len] = '\0';
    if (len == 0 || line[0] == '#')
      continue;
    char *tab = strchr(line, '\t');
    if (tab == NULL)
      fail_msg("corpus.tsv:%d: no TAB", no);
    *tab = '\0';
    entry e = {.line = no};
    if (strncmp(line, "danger:", 7) == 0) {
      e.danger = true;
      e.expect = strdup(line + 7);
    } else if (strncmp(line, "benign:", 7) == 0) {
      e.expect = strdup(line + 7);
    } else {
      fail_msg("corpus.tsv:%d: expected danger:<id> or benign:<action>, got '%s'", no, line);
    }
    e.command = strdup(tab + 1);
    c->e = realloc(c->e, (c->n + 1) * sizeof(entry));
    assert_non_null(c->e);
    c->e[c->n++] = e;
  }
  free(line);
  fclose(f);
}

static void free_corpus(corpus *c) {
  for (size_t i = 0; i < c->n; i++) {
    free(c->e[i].expect);
    free(c->e[i].command);
  }
  free(c->e);
}

static void print_matches(const al_classification *cl) {
  for (size_t m = 0; m < cl->n_matches; m++)
    fprintf(stderr, " %s", cl->matches[m].id);
  if (cl->n_matches == 0)
    fprintf(stderr, " (none)");
}

static void test_corpus(void **state) {
  (void)state;
  al_catalogue *cat = NULL;
  airlock_error *err = NULL;
  if (al_catalogue_load(AIRLOCK_DATA_DIR "/dangerous-actions.json", &cat, &err) < 0)
    fail_msg("catalogue: %s", err->msg);
  corpus c = {0};
  load_corpus(&c);

  size_t danger = 0, benign = 0, tp = 0, fn = 0, other = 0, fp = 0, tn = 0, wrong_action = 0, errors = 0;
  size_t covered_ids = 0;
  double total_us = 0, max_us = 0;
  for (size_t i = 0; i < c.n; i++) {
    entry *e = &c.e[i];
    if (e->danger) {
      /* the expected id must exist: a typo would make the line unpassable */
      bool known = false;
      al_pattern_info info;
      for (size_t p = 0; al_catalogue_pattern(cat, p, &info) == 0; p++)
        if (strcmp(info.id, e->expect) == 0)
          known = true;
      if (!known)
        fail_msg("corpus.tsv:%d: no pattern '%s' in the catalogue", e->line, e->expect);
    } else {
      al_action a;
      if (al_action_from_name(e->expect, &a) < 0)
        fail_msg("corpus.tsv:%d: '%s' is not an action type", e->line, e->expect);
    }
    al_classification cl;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = al_classify(cat, e->command, &cl, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
    total_us += us;
    if (us > max_us)
      max_us = us;
    if (rc < 0) {
      fprintf(stderr, "corpus.tsv:%d: does not parse: %s: %s\n", e->line, e->command, err->msg);
      airlock_error_free(&err);
      errors++;
      if (e->danger) {
        danger++;
        fn++;
      } else {
        benign++;
        fp++;
      }
      continue;
    }
    if (e->danger) {
      danger++;
      bool hit = false;
      for (size_t m = 0; m < cl.n_matches; m++)
        hit |= strcmp(cl.matches[m].id, e->expect) == 0;
      if (hit) {
        tp++;
      } else {
        fn++;
        if (cl.n_matches)
          other++;
        fprintf(stderr, "MISSED corpus.tsv:%d: %s\n  want %s, matched:", e->line, e->command, e->expect);
        print_matches(&cl);
        fprintf(stderr, "\n");
      }
    } else {
      benign++;
      al_action want;
      al_action_from_name(e->expect, &want);
      if (cl.n_matches) {
        fp++;
        fprintf(stderr, "FALSE POSITIVE corpus.tsv:%d: %s\n  matched:", e->line, e->command);
        print_matches(&cl);
        fprintf(stderr, "\n");
      } else {
        tn++;
      }
      if (!(cl.actions & AL_ACTION_BIT(want))) {
        wrong_action++;
        fprintf(stderr, "WRONG ACTION corpus.tsv:%d: %s\n  want %s, got:", e->line, e->command, e->expect);
        for (int a = 0; a < AL_ACTION_COUNT; a++)
          if (cl.actions & AL_ACTION_BIT(a))
            fprintf(stderr, " %s", al_action_name((al_action)a));
        fprintf(stderr, "\n");
      }
    }
    al_classification_free(&cl);
  }
  /* how many catalogue patterns the corpus exercises */
  al_pattern_info info;
  size_t npat = 0;
  for (size_t p = 0; al_catalogue_pattern(cat, p, &info) == 0; p++) {
    npat++;
    for (size_t i = 0; i < c.n; i++)
      if (c.e[i].danger && strcmp(c.e[i].expect, info.id) == 0) {
        covered_ids++;
        break;
      }
  }
  double fp_rate = benign ? (double)fp / (double)benign : 0;
  printf("corpus: %zu lines, %zu dangerous, %zu benign; %zu of %zu patterns exercised\n", c.n, danger, benign,
         covered_ids, npat);
  printf("                      flagged   not flagged\n");
  printf("  dangerous (%3zu)     TP %4zu    FN %4zu   (%zu of the misses flagged by another pattern)\n", danger, tp, fn,
         other);
  printf("  benign    (%3zu)     FP %4zu    TN %4zu\n", benign, fp, tn);
  printf("  recall %.1f%%, false-positive rate %.2f%% (limit %.0f%%), wrong benign actions %zu, parse errors %zu\n",
         danger ? 100.0 * (double)tp / (double)danger : 0, 100.0 * fp_rate, 100 * MAX_FP_RATE, wrong_action, errors);

  printf("  decision time: %.1f us mean, %.1f us slowest, over %zu lines\n", c.n ? total_us / (double)c.n : 0, max_us,
         c.n);

  assert_true(c.n >= 160);
  assert_true(danger >= 70);
  assert_true(benign >= 70);
  assert_int_equal(fn, 0);
  assert_true(fp_rate <= MAX_FP_RATE);
  assert_int_equal(wrong_action, 0);
  free_corpus(&c);
  al_catalogue_free(cat);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_corpus),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
