/* SPDX-License-Identifier: Apache-2.0 */
/* test_openclaw_run.c - system.run params as the gateway sends them
 * (src/openclaw/oc_run.c): the prepare answer that makes the gateway ask its
 * approvers or refuse, and the binding of a gateway approval to the exact
 * plan it was given for (frames shaped as in the protocol research note). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "openclaw.h"

#define SESSION "agent:main:openai:1b06daf1"
/* system.run after an approval: the plan the prepare answer gave, sent back */
static const char *approved_run(const char *decision, const char *plan_argv2, const char *plan_session) {
  static char buf[2048];
  snprintf(buf, sizeof(buf),
           "{\"command\":[\"/bin/sh\",\"-lc\",\"python3 -c 1\"],\"rawCommand\":\"python3 -c 1\","
           "\"cwd\":\"/workspace\",\"agentId\":\"main\",\"sessionKey\":\"" SESSION "\",\"runId\":\"r1\","
           "\"approved\":true,\"approvalDecision\":\"%s\","
           "\"systemRunPlan\":{\"argv\":[\"/bin/sh\",\"-lc\",\"%s\"],\"cwd\":\"/workspace\","
           "\"commandText\":\"x\",\"agentId\":\"main\",\"sessionKey\":\"%s\"}}",
           decision, plan_argv2, plan_session);
  return buf;
}

static bool approved(const char *params, char *why, size_t len) {
  json_t *p = json_loads(params, 0, NULL);
  assert_non_null(p);
  oc_run r;
  const char *code;
  airlock_error *err = NULL;
  assert_int_equal(oc_run_parse(p, &r, &code, &err), 0);
  bool ok = oc_run_human_approved(&r, why, len);
  oc_run_clear(&r);
  json_decref(p);
  return ok;
}

static void test_binding(void **state) {
  (void)state;
  char why[200];
  assert_true(approved(approved_run("allow-once", "python3 -c 1", SESSION), why, sizeof(why)));
  assert_true(approved(approved_run("allow-always", "python3 -c 1", SESSION), why, sizeof(why)));
  assert_false(approved(approved_run("allow-once", "python3 -c 2", SESSION), why, sizeof(why)));
  assert_string_equal(why, "the approved plan's argv differs from the request");
  assert_false(approved(approved_run("allow-once", "python3 -c 1", "agent:main:other"), why, sizeof(why)));
  assert_string_equal(why, "the approved plan's sessionKey differs from the request");
  assert_false(approved(approved_run("deny", "python3 -c 1", SESSION), why, sizeof(why)));
  assert_non_null(strstr(why, "approval required"));
  /* no approval at all, and the gateway's own fallback verdict */
  assert_false(approved("{\"command\":[\"/bin/sh\",\"-lc\",\"x\"]}", why, sizeof(why)));
  assert_string_equal(why, "approval required (no approval for this command)");
  assert_false(
      approved("{\"command\":[\"x\"],\"approved\":true,\"approvalSource\":\"ask-fallback\"}", why, sizeof(why)));
  assert_string_equal(why, "approval required (not a human's decision)");
  /* a decision without the plan it was given for */
  assert_false(
      approved("{\"command\":[\"x\"],\"approved\":true,\"approvalDecision\":\"allow-once\"}", why, sizeof(why)));
  assert_string_equal(why, "approval without a systemRunPlan");
}

static void test_bad_types(void **state) {
  (void)state;
  static const char *const bad[] = {
      "{\"command\":[\"x\"],\"approved\":\"yes\"}",
      "{\"command\":[\"x\"],\"systemRunPlan\":[1]}",
      "{\"command\":[\"x\"],\"approvalDecision\":7}",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    json_t *p = json_loads(bad[i], 0, NULL);
    oc_run r;
    const char *code;
    airlock_error *err = NULL;
    assert_int_equal(oc_run_parse(p, &r, &code, &err), -1);
    assert_string_equal(code, "INVALID_REQUEST");
    airlock_error_free(&err);
    json_decref(p);
  }
}

static const char *exec_policy(oc_exec_policy pol, const char *field) {
  static char out[64];
  json_t *p = json_loads("{\"command\":[\"/bin/sh\",\"-lc\",\"echo hi\"],\"sessionKey\":\"s\"}", 0, NULL);
  oc_run r;
  const char *code;
  airlock_error *err = NULL;
  assert_int_equal(oc_run_parse(p, &r, &code, &err), 0);
  json_t *res = oc_prepare_result(&r, "/workspace", pol);
  snprintf(out, sizeof(out), "%s", json_string_value(json_object_get(json_object_get(res, "execPolicy"), field)));
  assert_string_equal(json_string_value(json_object_get(json_object_get(res, "plan"), "commandPreview")), "echo hi");
  json_decref(res);
  oc_run_clear(&r);
  json_decref(p);
  return out;
}

static void test_prepare_policy(void **state) {
  (void)state;
  assert_string_equal(exec_policy(OC_EXEC_RUN, "security"), "full");
  assert_string_equal(exec_policy(OC_EXEC_RUN, "ask"), "off");
  assert_string_equal(exec_policy(OC_EXEC_ASK, "security"), "full");
  assert_string_equal(exec_policy(OC_EXEC_ASK, "ask"), "always");
  assert_string_equal(exec_policy(OC_EXEC_DENY, "security"), "deny");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_binding),
      cmocka_unit_test(test_bad_types),
      cmocka_unit_test(test_prepare_policy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
