/* SPDX-License-Identifier: Apache-2.0 */
/* test_report.c - airlock_result_to_json: every field survives a round trip
 * through the JSON text. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/airlock.h"

static json_t *to_json(const airlock_result *r) {
  char *text = airlock_result_to_json(r);
  assert_non_null(text);
  json_error_t jerr;
  json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    print_error("report is not valid JSON (%s):\n%s\n", jerr.text, text);
  free(text);
  assert_non_null(root);
  assert_true(json_is_object(root));
  return root;
}

static json_int_t get_int(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_integer(v))
    print_error("key '%s' is missing or not an integer\n", key);
  assert_true(json_is_integer(v));
  return json_integer_value(v);
}

static bool get_bool(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_boolean(v))
    print_error("key '%s' is missing or not a boolean\n", key);
  assert_true(json_is_boolean(v));
  return json_is_true(v);
}

static const char *get_str(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_string(v))
    print_error("key '%s' is missing or not a string\n", key);
  assert_true(json_is_string(v));
  return json_string_value(v);
}

static void check_limit(json_t *limits, const char *name, json_int_t value, const char *unit, const char *mechanism,
                        bool degraded) {
  json_t *l = json_object_get(limits, name);
  if (!json_is_object(l))
    print_error("limit '%s' missing\n", name);
  assert_true(json_is_object(l));
  assert_int_equal(json_object_size(l), 4);
  assert_true(get_int(l, "value") == value);
  assert_string_equal(get_str(l, "unit"), unit);
  assert_string_equal(get_str(l, "mechanism"), mechanism);
  assert_int_equal(get_bool(l, "degraded"), degraded);
}

static void set_limit(airlock_result *r, airlock_limit_kind k, const char *name, int64_t value, const char *unit,
                      const char *mechanism, bool degraded) {
  r->limits[k] = (airlock_limit_report){name, value, unit, mechanism, degraded};
}

static void test_full_result(void **state) {
  (void)state;
  airlock_result r;
  memset(&r, 0, sizeof(r));
  r.exit_code = 137;
  r.signal = 9;
  r.timed_out = false;
  r.oom_killed = true;
  r.exec_failed = false;
  r.wall_ms = 123456;
  r.cpu_user_ms = 7890;
  r.cpu_sys_ms = 321;
  r.max_rss_kb = 5000000000LL; /* beyond 32 bits */
  r.landlock_abi = 3;
  r.seccomp = true;
  set_limit(&r, AIRLOCK_LIMIT_MEMORY, "memory", 536870912, "bytes", "cgroup1", false);
  set_limit(&r, AIRLOCK_LIMIT_PIDS, "pids", 256, "count", "cgroup1", false);
  set_limit(&r, AIRLOCK_LIMIT_CPU_TIME, "cpu_time", 31000, "ms", "rlimit", true);
  set_limit(&r, AIRLOCK_LIMIT_OPEN_FILES, "open_files", 1024, "count", "rlimit", false);
  set_limit(&r, AIRLOCK_LIMIT_CPUS, "cpus", 1500, "millicpus", "none", true);
  r.degraded_note = strdup("cpus: no cpu controller in cgroup v1 \"hierarchy\"\n(\xc3\xa9)");
  assert_non_null(r.degraded_note);

  json_t *root = to_json(&r);
  assert_true(get_int(root, "exit_code") == 137);
  assert_true(get_int(root, "signal") == 9);
  assert_false(get_bool(root, "timed_out"));
  assert_true(get_bool(root, "oom_killed"));
  assert_false(get_bool(root, "exec_failed"));
  assert_true(get_int(root, "wall_ms") == 123456);
  assert_true(get_int(root, "cpu_user_ms") == 7890);
  assert_true(get_int(root, "cpu_sys_ms") == 321);
  assert_true(get_int(root, "max_rss_kb") == 5000000000LL);

  json_t *limits = json_object_get(root, "limits");
  assert_true(json_is_object(limits));
  assert_int_equal(json_object_size(limits), 5); /* unnamed slots are left out */
  check_limit(limits, "memory", 536870912, "bytes", "cgroup1", false);
  check_limit(limits, "pids", 256, "count", "cgroup1", false);
  check_limit(limits, "cpu_time", 31000, "ms", "rlimit", true);
  check_limit(limits, "open_files", 1024, "count", "rlimit", false);
  check_limit(limits, "cpus", 1500, "millicpus", "none", true);

  json_t *iso = json_object_get(root, "isolation");
  assert_true(json_is_object(iso));
  assert_true(get_bool(iso, "seccomp"));
  assert_true(get_int(iso, "landlock_abi") == 3);
  assert_true(get_bool(iso, "no_new_privs"));
  assert_true(get_bool(iso, "capabilities_dropped"));
  assert_string_equal(get_str(iso, "network"), "none");
  json_t *ns = json_object_get(iso, "namespaces");
  assert_true(json_is_array(ns));
  assert_int_equal(json_array_size(ns), 7);
  static const char *const want_ns[] = {"user", "pid", "mount", "network", "ipc", "uts", "cgroup"};
  for (size_t i = 0; i < 7; i++)
    assert_string_equal(json_string_value(json_array_get(ns, i)), want_ns[i]);

  assert_string_equal(get_str(root, "degraded"), r.degraded_note);
  json_decref(root);

  airlock_result_clear(&r);
  assert_null(r.degraded_note);
  assert_int_equal(r.exit_code, 0);
  assert_null(r.limits[AIRLOCK_LIMIT_MEMORY].name);
}

static void test_clean_result(void **state) {
  (void)state;
  airlock_result r;
  memset(&r, 0, sizeof(r));
  r.exit_code = 124;
  r.signal = 0;
  r.timed_out = true;
  r.oom_killed = false;
  r.exec_failed = true;
  r.killed_by_signal = true;
  r.wall_ms = 1;
  r.cpu_user_ms = 0;
  r.cpu_sys_ms = 2;
  r.max_rss_kb = 1024;
  r.landlock_abi = 0;
  r.seccomp = false;
  set_limit(&r, AIRLOCK_LIMIT_MEMORY, "memory", 8LL << 30, "bytes", "cgroup2", false);
  set_limit(&r, AIRLOCK_LIMIT_TIMEOUT, "timeout", 30000, "ms", "timer", false);
  r.degraded_note = NULL;

  json_t *root = to_json(&r);
  assert_true(get_int(root, "exit_code") == 124);
  assert_true(get_int(root, "signal") == 0);
  assert_true(get_bool(root, "timed_out"));
  assert_false(get_bool(root, "oom_killed"));
  assert_true(get_bool(root, "exec_failed"));
  assert_true(get_bool(root, "killed_by_signal"));
  assert_true(get_int(root, "wall_ms") == 1);
  assert_true(get_int(root, "cpu_user_ms") == 0);
  assert_true(get_int(root, "cpu_sys_ms") == 2);
  assert_true(get_int(root, "max_rss_kb") == 1024);
  json_t *limits = json_object_get(root, "limits");
  assert_int_equal(json_object_size(limits), 2);
  check_limit(limits, "memory", 8LL << 30, "bytes", "cgroup2", false);
  check_limit(limits, "timeout", 30000, "ms", "timer", false);
  json_t *iso = json_object_get(root, "isolation");
  assert_false(get_bool(iso, "seccomp"));
  assert_true(get_int(iso, "landlock_abi") == 0);

  json_t *degraded = json_object_get(root, "degraded");
  assert_non_null(degraded);           /* present ... */
  assert_true(json_is_null(degraded)); /* ... and null */
  json_decref(root);
  airlock_result_clear(&r);
}

/* proxy mode: the isolation says so and the egress object is embedded */
static void test_egress_report(void **state) {
  (void)state;
  airlock_result r;
  memset(&r, 0, sizeof(r));
  r.network = AIRLOCK_NETWORK_PROXY;
  r.egress_json = strdup("{\"proxy\":\"127.0.0.1:3128\",\"dns\":\"127.0.0.1:53\",\"allow\":[\"a.example\"],"
                         "\"deny\":[],\"log\":\"stderr\"}");
  assert_non_null(r.egress_json);
  json_t *root = to_json(&r);
  assert_string_equal(get_str(json_object_get(root, "isolation"), "network"), "proxy");
  json_t *egress = json_object_get(root, "egress");
  assert_true(json_is_object(egress));
  assert_string_equal(get_str(egress, "proxy"), "127.0.0.1:3128");
  assert_string_equal(get_str(egress, "dns"), "127.0.0.1:53");
  assert_string_equal(get_str(egress, "log"), "stderr");
  assert_string_equal(json_string_value(json_array_get(json_object_get(egress, "allow"), 0)), "a.example");
  json_decref(root);
  airlock_result_clear(&r);
  assert_null(r.egress_json);
}

static void test_empty_result(void **state) {
  (void)state;
  airlock_result r;
  memset(&r, 0, sizeof(r));
  json_t *root = to_json(&r);
  json_t *limits = json_object_get(root, "limits");
  assert_true(json_is_object(limits));
  assert_int_equal(json_object_size(limits), 0);
  assert_true(json_is_null(json_object_get(root, "degraded")));
  /* exactly the documented top-level keys */
  static const char *const keys[] = {"exit_code", "signal",           "timed_out",  "oom_killed", "exec_failed",
                                     "wall_ms",   "cpu_user_ms",      "cpu_sys_ms", "max_rss_kb", "limits",
                                     "isolation", "killed_by_signal", "degraded",   "identity",   "cgroup_placement"};
  assert_int_equal(json_object_size(root), sizeof(keys) / sizeof(keys[0]));
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    if (json_object_get(root, keys[i]) == NULL)
      print_error("key '%s' missing\n", keys[i]);
    assert_non_null(json_object_get(root, keys[i]));
  }
  json_decref(root);
}

/* the backend and the kernel the command saw: the host's under namespaces,
 * the one the backend names otherwise (gvisor's report has no namespaces) */
static void test_isolation_level(void **state) {
  (void)state;
  airlock_result r;
  memset(&r, 0, sizeof(r));
  json_t *root = to_json(&r);
  json_t *iso = json_object_get(root, "isolation");
  assert_string_equal(json_string_value(json_object_get(iso, "level")), "namespaces");
  assert_non_null(strstr(json_string_value(json_object_get(iso, "kernel")), "Linux"));
  assert_true(json_is_array(json_object_get(iso, "namespaces")));
  json_decref(root);
  r.isolation = AIRLOCK_ISOLATION_GVISOR;
  r.kernel = strdup("gVisor (runsc /usr/bin/runsc, platform ptrace) above host Linux 6.1");
  root = to_json(&r);
  iso = json_object_get(root, "isolation");
  assert_string_equal(json_string_value(json_object_get(iso, "level")), "gvisor");
  assert_string_equal(json_string_value(json_object_get(iso, "kernel")), r.kernel);
  assert_null(json_object_get(iso, "namespaces"));
  assert_string_equal(json_string_value(json_object_get(iso, "network")), "none");
  json_decref(root);
  airlock_result_clear(&r);
  assert_null(r.kernel);
  airlock_isolation v;
  airlock_error *err = NULL;
  assert_int_equal(airlock_parse_isolation("gvisor", &v, &err), 0);
  assert_int_equal(v, AIRLOCK_ISOLATION_GVISOR);
  assert_int_equal(airlock_parse_isolation("vm", &v, &err), 0);
  assert_int_equal(v, AIRLOCK_ISOLATION_VM);
  assert_int_equal(airlock_parse_isolation("kvm", &v, &err), -1);
  assert_non_null(strstr(err->msg, "\"namespaces\", \"gvisor\" or \"vm\""));
  airlock_error_free(&err);
  assert_string_equal(airlock_isolation_name(AIRLOCK_ISOLATION_NAMESPACES), "namespaces");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_full_result),
      cmocka_unit_test(test_clean_result),
      cmocka_unit_test(test_empty_result),
      cmocka_unit_test(test_egress_report),
      cmocka_unit_test(test_isolation_level),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
