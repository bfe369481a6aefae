/* SPDX-License-Identifier: Apache-2.0 */
/* test_cgroup_placement.c - where a run's cgroups go (cgroup.c): when a
 * transient scope is asked of systemd (root, pure v2, systemd booted, not
 * in a delegated cgroup: only then), the scope's unit name, and the
 * report's cgroup_placement text for every case. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cgroup.h"

static void test_scope_wanted_only_for_root_on_pure_v2_systemd_outside_delegation(void **state) {
  (void)state;
  al_cgroup_facts f = {.root = true, .pure_v2 = true, .systemd_booted = true, .own_delegated = false};
  assert_true(al_cgroup_scope_wanted(&f));
  /* each fact alone turns it off */
  al_cgroup_facts g = f;
  g.root = false; /* rootless: below the caller's own (delegated) cgroup, as before */
  assert_false(al_cgroup_scope_wanted(&g));
  g = f;
  g.pure_v2 = false; /* v1 or hybrid: below the caller's cgroups in each hierarchy */
  assert_false(al_cgroup_scope_wanted(&g));
  g = f;
  g.systemd_booted = false; /* no systemd to ask */
  assert_false(al_cgroup_scope_wanted(&g));
  g = f;
  g.own_delegated = true; /* already in a unit with Delegate=yes: nest there */
  assert_false(al_cgroup_scope_wanted(&g));
}

static void test_scope_name(void **state) {
  (void)state;
  char name[64];
  assert_int_equal(al_cgroup_scope_name(name, sizeof(name), 123), 0);
  assert_string_equal(name, "airlock-run-123.scope");
  assert_int_equal(al_cgroup_scope_name(name, sizeof(name), 4194304), 0);
  assert_string_equal(name, "airlock-run-4194304.scope");
  char small[16];
  assert_int_equal(al_cgroup_scope_name(small, sizeof(small), 123), -1); /* does not fit: refused, not cut */
}

static const char *describe(const al_cgroup_facts *f, const char *own, const char *unit, const char *refusal) {
  static char buf[512];
  assert_int_equal(al_cgroup_describe_placement(buf, sizeof(buf), f, "/sys/fs/cgroup", own, unit, refusal), 0);
  return buf;
}

static void test_placement_text(void **state) {
  (void)state;
  al_cgroup_facts root_v2 = {.root = true, .pure_v2 = true, .systemd_booted = true};
  assert_string_equal(describe(&root_v2, "/system.slice/airlock-run-7.scope", "airlock-run-7.scope", NULL),
                      "systemd transient scope airlock-run-7.scope (/sys/fs/cgroup/system.slice/airlock-run-7.scope)");
  assert_string_equal(describe(&root_v2, "/user.slice/user-0.slice/session-3.scope", NULL, NULL),
                      "own sub-tree /sys/fs/cgroup/airlock");
  assert_string_equal(describe(&root_v2, "/init.scope", NULL, "cannot connect to the system bus: No such file"),
                      "own sub-tree /sys/fs/cgroup/airlock (no systemd transient scope: cannot connect to the system "
                      "bus: No such file)");
  assert_string_equal(describe(&root_v2, "/", NULL, NULL), "own sub-tree /sys/fs/cgroup/airlock");
  al_cgroup_facts delegated = root_v2;
  delegated.own_delegated = true;
  assert_string_equal(describe(&delegated, "/system.slice/airlock-node.service", NULL, NULL),
                      "delegated cgroup /sys/fs/cgroup/system.slice/airlock-node.service");
  al_cgroup_facts rootless = {.pure_v2 = true, .systemd_booted = true};
  assert_string_equal(
      describe(&rootless, "/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope", NULL, NULL),
      "below the caller's cgroup "
      "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope");
  al_cgroup_facts v1 = {.root = true};
  assert_string_equal(describe(&v1, "/", NULL, NULL), "below the caller's cgroups (cgroup v1 controllers)");
  /* a text that does not fit is reported */
  char tiny[8];
  assert_int_equal(al_cgroup_describe_placement(tiny, sizeof(tiny), &root_v2, "/sys/fs/cgroup", "/", NULL, NULL), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scope_wanted_only_for_root_on_pure_v2_systemd_outside_delegation),
      cmocka_unit_test(test_scope_name),
      cmocka_unit_test(test_placement_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
