/* SPDX-License-Identifier: Apache-2.0 */
/* test_approvals.c - the approval store's state machine: approve, reject,
 * double answers, answers after expiry, the default action, single use,
 * binding and tenant/sandbox checks on use, "always" remembered across a
 * reopen (a restart of the node), and a file of the wrong mode refused. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "approvals.h"

#define BIND_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define BIND_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static char dir[64];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof(dir), "/tmp/airlock-test-approvals.XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  return system(cmd);
}

static al_approvals *open_store(void) {
  al_approvals *s = NULL;
  airlock_error *err = NULL;
  if (al_approvals_open(dir, &s, &err) < 0)
    fail_msg("open: %s", err->msg);
  return s;
}

static void create(al_approvals *s, const char *tenant, const char *sandbox, const char *binding, int64_t now,
                   int64_t expires, char id[AL_APPROVAL_ID_LEN + 1]) {
  airlock_error *err = NULL;
  json_t *ctx = json_pack("{s:[s,s],s:s}", "argv", "rm", "-rf", "rule", "test");
  if (al_approvals_create(s, tenant, sandbox, binding, now, expires, ctx, id, &err) < 0)
    fail_msg("create: %s", err->msg);
  json_decref(ctx);
  assert_int_equal(strlen(id), AL_APPROVAL_ID_LEN);
}

static const char *state_of(al_approvals *s, const char *id, char *buf, size_t len) {
  json_t *ap = al_approvals_get(s, id);
  assert_non_null(ap);
  snprintf(buf, len, "%s", json_string_value(json_object_get(ap, "state")));
  json_decref(ap);
  return buf;
}

static void test_answers(void **state) {
  (void)state;
  al_approvals *s = open_store();
  char id[AL_APPROVAL_ID_LEN + 1], id2[AL_APPROVAL_ID_LEN + 1], buf[32];
  create(s, "agent", "", BIND_A, 1000, 61000, id);
  assert_string_equal(state_of(s, id, buf, sizeof(buf)), "pending");
  assert_int_equal(al_approvals_pending_count(s, "agent"), 1);
  assert_int_equal(al_approvals_pending_count(s, "other"), 0);
  json_t *list = al_approvals_list(s, NULL, true, 0);
  assert_int_equal(json_array_size(list), 1);
  json_decref(list);
  /* approve once; the second answer, either way, changes nothing */
  assert_int_equal(al_approvals_answer(s, id, "alice", true, false, NULL, 2000), AL_ANSWER_OK);
  assert_int_equal(al_approvals_pending_count(s, "agent"), 0);
  assert_int_equal(al_approvals_answer(s, id, "bob", false, false, "no", 2001), AL_ANSWER_ALREADY);
  assert_int_equal(al_approvals_answer(s, id, "alice", true, false, NULL, 2002), AL_ANSWER_ALREADY);
  json_t *ap = al_approvals_get(s, id);
  assert_string_equal(json_string_value(json_object_get(ap, "answered_by")), "alice");
  assert_string_equal(json_string_value(json_object_get(ap, "state")), "approved");
  json_decref(ap);
  /* reject with a reason */
  create(s, "agent", "", BIND_B, 1000, 61000, id2);
  assert_int_equal(al_approvals_answer(s, id2, "bob", false, false, "too risky", 3000), AL_ANSWER_OK);
  ap = al_approvals_get(s, id2);
  assert_string_equal(json_string_value(json_object_get(ap, "state")), "rejected");
  assert_string_equal(json_string_value(json_object_get(ap, "answer_reason")), "too risky");
  json_decref(ap);
  char why[300];
  assert_int_equal(al_approvals_consume(s, id2, "agent", "", BIND_B, 3001, why, sizeof(why)), -1);
  assert_non_null(strstr(why, "rejected"));
  assert_int_equal(al_approvals_answer(s, "ap_0000000000000000", "bob", true, false, NULL, 3000), AL_ANSWER_NOT_FOUND);
  /* only pending ones are listed by default, every one with all */
  list = al_approvals_list(s, NULL, true, 0);
  assert_int_equal(json_array_size(list), 0);
  json_decref(list);
  list = al_approvals_list(s, "agent", false, 0);
  assert_int_equal(json_array_size(list), 2);
  json_decref(list);
  list = al_approvals_list(s, "someone-else", false, 0);
  assert_int_equal(json_array_size(list), 0);
  json_decref(list);
  al_approvals_close(s);
}

static void test_expiry(void **state) {
  (void)state;
  al_approvals *s = open_store();
  char id[AL_APPROVAL_ID_LEN + 1], id2[AL_APPROVAL_ID_LEN + 1], buf[32];
  create(s, "agent", "", BIND_A, 1000, 5000, id);
  create(s, "agent", "", BIND_A, 1000, 9000, id2);
  assert_int_equal(al_approvals_next_expiry(s), 5000);
  /* an answer after the deadline loses, even before the timer ran */
  assert_int_equal(al_approvals_answer(s, id, "alice", true, false, NULL, 5000), AL_ANSWER_EXPIRED);
  assert_string_equal(state_of(s, id, buf, sizeof(buf)), "expired");
  assert_int_equal(al_approvals_answer(s, id, "alice", true, false, NULL, 5001), AL_ANSWER_EXPIRED);
  /* the timer: defaultAction reject marks expired */
  char **ids;
  size_t n;
  assert_int_equal(al_approvals_expire(s, 8999, false, &ids, &n), 0);
  assert_int_equal(n, 0);
  free(ids);
  assert_int_equal(al_approvals_expire(s, 9000, false, &ids, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(ids[0], id2);
  free(ids[0]);
  free(ids);
  assert_string_equal(state_of(s, id2, buf, sizeof(buf)), "expired");
  assert_int_equal(al_approvals_next_expiry(s), 0);
  /* defaultAction approve: approved by "timeout" */
  create(s, "agent", "", BIND_A, 1000, 2000, id);
  assert_int_equal(al_approvals_expire(s, 2000, true, &ids, &n), 0);
  assert_int_equal(n, 1);
  free(ids[0]);
  free(ids);
  json_t *ap = al_approvals_get(s, id);
  assert_string_equal(json_string_value(json_object_get(ap, "state")), "approved");
  assert_string_equal(json_string_value(json_object_get(ap, "answered_by")), "timeout");
  json_decref(ap);
  al_approvals_close(s);
}

static void test_consume(void **state) {
  (void)state;
  al_approvals *s = open_store();
  char id[AL_APPROVAL_ID_LEN + 1], why[300];
  create(s, "agent", "sb_1", BIND_A, 1000, 61000, id);
  /* not yet approved */
  assert_int_equal(al_approvals_consume(s, id, "agent", "sb_1", BIND_A, 1500, why, sizeof(why)), -1);
  assert_non_null(strstr(why, "pending"));
  assert_int_equal(al_approvals_answer(s, id, "alice", true, false, NULL, 2000), AL_ANSWER_OK);
  /* another tenant does not even learn it exists */
  assert_int_equal(al_approvals_consume(s, id, "mallory", "sb_1", BIND_A, 2100, why, sizeof(why)), -1);
  assert_non_null(strstr(why, "no approval"));
  /* another sandbox, another request */
  assert_int_equal(al_approvals_consume(s, id, "agent", "sb_2", BIND_A, 2100, why, sizeof(why)), -1);
  assert_non_null(strstr(why, "another sandbox"));
  assert_int_equal(al_approvals_consume(s, id, "agent", "sb_1", BIND_B, 2100, why, sizeof(why)), -1);
  assert_non_null(strstr(why, "different request"));
  /* the right one, once */
  assert_int_equal(al_approvals_consume(s, id, "agent", "sb_1", BIND_A, 2200, why, sizeof(why)), 0);
  assert_int_equal(al_approvals_consume(s, id, "agent", "sb_1", BIND_A, 2300, why, sizeof(why)), -1);
  assert_non_null(strstr(why, "used"));
  assert_int_equal(al_approvals_answer(s, id, "alice", true, false, NULL, 2400), AL_ANSWER_ALREADY);
  al_approvals_close(s);
}

static void test_always_survives_reopen(void **state) {
  (void)state;
  al_approvals *s = open_store();
  char id[AL_APPROVAL_ID_LEN + 1], by[80] = "";
  create(s, "agent", "", BIND_A, 1000, 61000, id);
  assert_false(al_approvals_always(s, "agent", BIND_A, by, sizeof(by)));
  assert_int_equal(al_approvals_answer(s, id, "alice", true, true, NULL, 2000), AL_ANSWER_OK);
  al_approvals_close(s);
  s = open_store(); /* as after a restart */
  assert_true(al_approvals_always(s, "agent", BIND_A, by, sizeof(by)));
  assert_string_equal(by, "alice");
  /* bound to the tenant and to the binding */
  assert_false(al_approvals_always(s, "other", BIND_A, NULL, 0));
  assert_false(al_approvals_always(s, "agent", BIND_B, NULL, 0));
  /* a rejection is never remembered as "always" */
  create(s, "agent", "", BIND_B, 1000, 61000, id);
  assert_int_equal(al_approvals_answer(s, id, "alice", false, true, NULL, 2000), AL_ANSWER_OK);
  assert_false(al_approvals_always(s, "agent", BIND_B, NULL, 0));
  /* pending approvals survive a reopen too */
  create(s, "agent", "", BIND_B, 1000, 61000, id);
  al_approvals_close(s);
  s = open_store();
  char buf[32];
  assert_string_equal(state_of(s, id, buf, sizeof(buf)), "pending");
  al_approvals_close(s);
}

static void test_file_mode(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof(path), "%s/approvals.db", dir);
  assert_int_equal(chmod(path, 0644), 0);
  al_approvals *s = NULL;
  airlock_error *err = NULL;
  assert_int_equal(al_approvals_open(dir, &s, &err), -1);
  assert_non_null(strstr(err->msg, "chmod 600"));
  airlock_error_free(&err);
  assert_int_equal(chmod(path, 0600), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_answers),   cmocka_unit_test(test_expiry),
      cmocka_unit_test(test_consume),   cmocka_unit_test(test_always_survives_reopen),
      cmocka_unit_test(test_file_mode),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
