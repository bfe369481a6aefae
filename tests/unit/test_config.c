/* SPDX-License-Identifier: Apache-2.0 */
/* test_config.c - airlock_spec_load_json / load_file and airlock_spec_validate. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "airlock/airlock.h"
#include "plan.h"

static char *test_argv[] = {"/bin/true", NULL};

static int load(airlock_spec *spec, const char *json, airlock_error **err) {
  return airlock_spec_load_json(spec, json, strlen(json), err);
}

/* Loading must fail and the message must contain every needle. */
static void load_bad(const char *json, const char *needle1, const char *needle2) {
  airlock_spec spec;
  airlock_spec_init(&spec);
  airlock_error *err = NULL;
  int r = load(&spec, json, &err);
  if (r == 0)
    print_error("config accepted: %s\n", json);
  assert_int_equal(r, -1);
  assert_non_null(err);
  assert_non_null(err->msg);
  const char *needles[] = {needle1, needle2};
  for (size_t i = 0; i < 2; i++) {
    if (needles[i] == NULL)
      continue;
    if (strstr(err->msg, needles[i]) == NULL)
      print_error("config %s\n  message \"%s\" does not contain \"%s\"\n", json, err->msg, needles[i]);
    assert_non_null(strstr(err->msg, needles[i]));
  }
  airlock_error_free(&err);
  airlock_spec_clear(&spec); /* whatever was loaded before the error is freed */
}

/* --- the OpenClaw block --------------------------------------------------- */

static void test_openclaw_seed_block(void **state) {
  (void)state;
  static const char seed[] = "{\"sandbox\":{\"enabled\":true,\"backend\":\"native\",\"timeout\":30000,"
                             "\"memoryLimit\":\"512m\",\"cpuLimit\":\"1.0\",\"networkMode\":\"none\"}}";
  airlock_spec spec;
  airlock_spec_init(&spec);
  /* the seed's values equal the defaults, so move the fields off them first:
   * only the config can bring them back */
  spec.timeout_sec = 1;
  spec.memory_bytes = 1;
  spec.cpus = 0.25;
  spec.network = (airlock_network)99;
  airlock_error *err = NULL;
  assert_int_equal(load(&spec, seed, &err), 0);
  assert_null(err);
  assert_true(spec.timeout_sec == 30.0);
  assert_true(spec.memory_bytes == 512LL * 1024 * 1024);
  assert_true(spec.cpus == 1.0);
  assert_int_equal(spec.network, AIRLOCK_NETWORK_NONE);
  /* nothing else is touched */
  assert_null(spec.image);
  assert_null(spec.workspace);
  assert_int_equal(spec.n_binds, 0);
  assert_int_equal(spec.n_env, 0);
  assert_int_equal(spec.pids, 256);
  airlock_spec_clear(&spec);
}

static void test_openclaw_other_values(void **state) {
  (void)state;
  airlock_spec spec;
  airlock_spec_init(&spec);
  airlock_error *err = NULL;
  assert_int_equal(load(&spec,
                        "{\"sandbox\":{\"enabled\":true,\"backend\":\"airlock\",\"timeout\":1500,"
                        "\"memoryLimit\":\"2GiB\",\"cpuLimit\":0.5,\"networkMode\":\"none\","
                        "\"image\":\"/srv/img\",\"workspaceAccess\":\"ro\",\"pidsLimit\":77}}",
                        &err),
                   0);
  assert_null(err);
  assert_true(spec.timeout_sec == 1.5);
  assert_true(spec.memory_bytes == 2LL << 30);
  assert_true(spec.cpus == 0.5);
  assert_string_equal(spec.image, "/srv/img");
  assert_false(spec.workspace_rw);
  assert_int_equal(spec.pids, 77);
  airlock_spec_clear(&spec);

  /* memoryLimit may be a plain number of bytes */
  airlock_spec_init(&spec);
  assert_int_equal(load(&spec, "{\"sandbox\":{\"memoryLimit\":268435456}}", &err), 0);
  assert_true(spec.memory_bytes == 256LL << 20);
  airlock_spec_clear(&spec);
}

/* --- openclaw.json: agents.defaults.sandbox ------------------------------- */

static void test_openclaw_json_mapping(void **state) {
  (void)state;
  static const char json[] =
      "{\"gateway\":{\"port\":18789},\"env\":{\"shellEnv\":{\"enabled\":true}},\"tools\":{\"exec\":{}},"
      "\"agents\":{\"defaults\":{\"model\":\"x\",\"workspace\":\"~/w\",\"sandbox\":{"
      "\"mode\":\"non-main\",\"scope\":\"agent\",\"backend\":\"docker\",\"workspaceAccess\":\"ro\","
      "\"workspaceRoot\":\"~/.openclaw/sandboxes\",\"prune\":{\"idleHours\":24},\"browser\":{},"
      "\"docker\":{\"image\":\"/srv/rootfs\",\"network\":\"bridge\",\"memory\":\"1g\",\"memorySwap\":\"2g\","
      "\"cpus\":1.5,\"pidsLimit\":99,\"readOnlyRoot\":true,\"tmpfs\":[\"/tmp:rw,size=64m,exec\",\"/var/tmp:size=32m\","
      "\"/run\"],\"capDrop\":[\"ALL\"],\"user\":\"1000:1000\",\"env\":{\"LANG\":\"C.UTF-8\"},"
      "\"binds\":[\"/opt/tools:/opt/tools:ro\"],\"ulimits\":{\"nofile\":{\"soft\":1024,\"hard\":4096},\"nproc\":64,"
      "\"core\":\"0:0\"},\"dns\":[\"1.1.1.1\"],\"extraHosts\":[],\"seccompProfile\":\"/p.json\","
      "\"workdir\":\"/workspace/src\",\"containerPrefix\":\"oc-\",\"setupCommand\":\"\"}}},"
      "\"list\":[{\"id\":\"main\"},{\"id\":\"w\",\"sandbox\":{\"mode\":\"all\",\"docker\":{\"memory\":\"64m\"}}}]}}";
  airlock_spec spec;
  airlock_spec_init(&spec);
  airlock_error *err = NULL;
  assert_int_equal(load(&spec, json, &err), 0);
  assert_null(err);
  assert_string_equal(spec.image, "/srv/rootfs");
  assert_false(spec.workspace_rw);
  assert_int_equal(spec.network, AIRLOCK_NETWORK_PROXY);
  assert_true(spec.memory_bytes == 1LL << 30); /* memorySwap does not raise it, and the agent's 64m is not applied */
  assert_true(spec.cpus == 1.5);
  assert_int_equal(spec.pids, 99);
  assert_true(spec.disk_bytes == 96LL << 20);
  assert_true(spec.tmp_exec);
  assert_int_equal(spec.uid, 1000);
  assert_int_equal(spec.n_env, 1);
  assert_string_equal(spec.env[0], "LANG=C.UTF-8");
  assert_int_equal(spec.n_binds, 1);
  assert_int_equal(spec.nofile, 4096);
  assert_string_equal(spec.cwd, "/workspace/src");
  assert_null(spec.hostname);
  airlock_spec_clear(&spec);

  /* memorySwap alone is the limit; -1 and plain numbers are accepted; no sandbox at all changes nothing */
  airlock_spec_init(&spec);
  assert_int_equal(
      load(&spec, "{\"agents\":{\"defaults\":{\"sandbox\":{\"docker\":{\"memorySwap\":268435456}}}}}", &err), 0);
  assert_true(spec.memory_bytes == 256LL << 20);
  assert_int_equal(load(&spec,
                        "{\"agents\":{\"defaults\":{\"sandbox\":{\"docker\":{\"memory\":\"128m\",\"memorySwap\":-1,"
                        "\"ulimits\":{\"nofile\":\"100:200\"},\"user\":\"0\",\"network\":\"none\"}}}}}",
                        &err),
                   0);
  assert_true(spec.memory_bytes == 128LL << 20);
  assert_int_equal(spec.nofile, 200);
  assert_int_equal(spec.uid, 0);
  assert_int_equal(spec.network, AIRLOCK_NETWORK_NONE);
  assert_int_equal(load(&spec, "{\"agents\":{\"list\":[]},\"whatever\":[1]}", &err), 0);
  assert_true(spec.memory_bytes == 128LL << 20);
  airlock_spec_clear(&spec);
}

/* airlock's own keys beside an openclaw.json's agents apply, for the
 * defaults and for every agent: a dropped "isolation" would run commands
 * with less isolation than asked; OpenClaw's own top-level keys ("env")
 * are still not read */
static void test_openclaw_json_airlock_keys(void **state) {
  (void)state;
  static const char json[] =
      "{\"isolation\":\"gvisor\",\"env\":{\"shellEnv\":{}},\"limits\":{\"pids\":77},"
      "\"agents\":{\"defaults\":{\"sandbox\":{\"docker\":{\"pidsLimit\":99}}},"
      "\"list\":[{\"id\":\"w\",\"sandbox\":{\"workspaceAccess\":\"ro\"}}]}}";
  airlock_spec spec;
  airlock_error *err = NULL;
  airlock_spec_init(&spec);
  assert_int_equal(load(&spec, json, &err), 0);
  assert_int_equal(spec.isolation, AIRLOCK_ISOLATION_GVISOR);
  assert_int_equal(spec.pids, 77);
  assert_int_equal(spec.n_env, 0);
  airlock_spec_clear(&spec);
  airlock_spec_init(&spec);
  assert_int_equal(airlock_spec_load_json_agent(&spec, json, strlen(json), "w", &err), 0);
  assert_int_equal(spec.isolation, AIRLOCK_ISOLATION_GVISOR);
  assert_false(spec.workspace_rw);
  airlock_spec_clear(&spec);
  load_bad("{\"isolation\":\"chroot\",\"agents\":{}}", "isolation", NULL);
}

/* an agent's own sandbox over the defaults, key by key */
static void test_openclaw_json_agent(void **state) {
  (void)state;
  static const char json[] =
      "{\"agents\":{\"defaults\":{\"sandbox\":{\"workspaceAccess\":\"rw\",\"docker\":{\"memory\":\"1g\","
      "\"pidsLimit\":99,\"network\":\"none\"}}},\"list\":[{\"id\":\"main\"},"
      "{\"id\":\"w\",\"sandbox\":{\"workspaceAccess\":\"ro\",\"docker\":{\"memory\":\"64m\"}}},"
      "{\"id\":\"bad\",\"sandbox\":{\"docker\":{\"network\":\"host\"}}}]}}";
  airlock_spec spec;
  airlock_error *err = NULL;
  airlock_spec_init(&spec);
  /* the defaults: agent "bad" is refused even when not chosen */
  assert_int_equal(airlock_spec_load_json_agent(&spec, json, strlen(json), "w", &err), -1);
  assert_non_null(strstr(err->msg, "agents.list[2].sandbox.docker.network"));
  airlock_error_free(&err);
  airlock_spec_clear(&spec);
  static const char good[] =
      "{\"agents\":{\"defaults\":{\"sandbox\":{\"workspaceAccess\":\"rw\",\"docker\":{\"memory\":\"1g\","
      "\"pidsLimit\":99,\"network\":\"none\"}}},\"list\":[{\"id\":\"main\"},"
      "{\"id\":\"w\",\"sandbox\":{\"workspaceAccess\":\"ro\",\"docker\":{\"memory\":\"64m\"}}}]}}";
  airlock_spec_init(&spec);
  assert_int_equal(airlock_spec_load_json_agent(&spec, good, strlen(good), "w", &err), 0);
  assert_true(spec.memory_bytes == 64LL << 20);
  assert_int_equal(spec.pids, 99); /* from the defaults */
  assert_false(spec.workspace_rw);
  airlock_spec_clear(&spec);
  airlock_spec_init(&spec);
  assert_int_equal(airlock_spec_load_json_agent(&spec, good, strlen(good), "main", &err), 0);
  assert_true(spec.memory_bytes == 1LL << 30);
  assert_true(spec.workspace_rw);
  airlock_spec_clear(&spec);
  airlock_spec_init(&spec);
  assert_int_equal(airlock_spec_load_json_agent(&spec, good, strlen(good), "nobody", &err), -1);
  assert_string_equal(err->msg, "agents.list has no agent with id 'nobody'");
  airlock_error_free(&err);
  assert_int_equal(airlock_spec_load_json_agent(&spec, "{\"limits\":{}}", 13, "w", &err), -1);
  assert_non_null(strstr(err->msg, "not an openclaw.json"));
  airlock_error_free(&err);
  airlock_spec_clear(&spec);
}

static void test_openclaw_json_refused(void **state) {
  (void)state;
#define OC(inner) "{\"agents\":{\"defaults\":{\"sandbox\":" inner "}}}"
  load_bad(OC("{\"docker\":{\"network\":\"host\"}}"), "'agents.defaults.sandbox.docker.network'", "always refused");
  load_bad(OC("{\"docker\":{\"network\":\"container:x\"}}"), "'agents.defaults.sandbox.docker.network'",
           "not supported");
  load_bad(OC("{\"mode\":\"off\"}"), "'agents.defaults.sandbox.mode'", "always runs commands sandboxed");
  load_bad(OC("{\"docker\":{\"readOnlyRoot\":false}}"), "'agents.defaults.sandbox.docker.readOnlyRoot' is false",
           "always read-only");
  load_bad(OC("{\"mode\":\"some\"}"), "'agents.defaults.sandbox.mode'", "\"some\"");
  load_bad(OC("{\"scope\":1}"), "'agents.defaults.sandbox.scope' must be a string", NULL);
  load_bad(OC("{\"backend\":\"ssh\"}"), "'agents.defaults.sandbox.backend'", "another machine");
  load_bad(OC("{\"bogus\":1}"), "unknown config key 'agents.defaults.sandbox.bogus'", NULL);
  load_bad(OC("{\"docker\":{\"bogus\":1}}"), "unknown config key 'agents.defaults.sandbox.docker.bogus'", NULL);
  load_bad(OC("{\"docker\":{\"image\":\"openclaw-sandbox:bookworm-slim\"}}"), "'agents.defaults.sandbox.docker.image'",
           "image tag");
  load_bad(OC("{\"docker\":{\"user\":\"node\"}}"), "'agents.defaults.sandbox.docker.user'", "not a number");
  load_bad(OC("{\"docker\":{\"user\":\"1000:100\"}}"), "'agents.defaults.sandbox.docker.user'", "same number");
  load_bad(OC("{\"docker\":{\"user\":\"70000\"}}"), "'agents.defaults.sandbox.docker.user' is 70000", NULL);
  load_bad(OC("{\"docker\":{\"memory\":\"1g\",\"memorySwap\":\"512m\"}}"),
           "'agents.defaults.sandbox.docker.memorySwap'", "below");
  load_bad(OC("{\"docker\":{\"memory\":true}}"), "'agents.defaults.sandbox.docker.memory' must be a size", NULL);
  load_bad(OC("{\"docker\":{\"tmpfs\":[\"/tmp:size=5q\"]}}"), "'agents.defaults.sandbox.docker.tmpfs[0]'", "5q");
  load_bad(OC("{\"docker\":{\"tmpfs\":[\"tmp\"]}}"), "'agents.defaults.sandbox.docker.tmpfs[0]'", "absolute");
  load_bad(OC("{\"docker\":{\"ulimits\":{\"nofile\":8}}}"), "'agents.defaults.sandbox.docker.ulimits.nofile' is 8",
           NULL);
  load_bad(OC("{\"docker\":{\"ulimits\":{\"nofile\":{\"max\":1}}}}"),
           "unknown config key 'agents.defaults.sandbox.docker.ulimits.nofile.max'", NULL);
  load_bad(OC("{\"docker\":{\"ulimits\":{\"core\":\"x\"}}}"), "'agents.defaults.sandbox.docker.ulimits.core'", NULL);
  load_bad(OC("{\"docker\":{\"extraHosts\":[\"a:1.2.3.4\"]}}"), "'agents.defaults.sandbox.docker.extraHosts'",
           "not supported");
  load_bad(OC("{\"docker\":{\"dns\":[1]}}"), "'agents.defaults.sandbox.docker.dns[0]' must be a string", NULL);
  load_bad(OC("{\"docker\":{\"setupCommand\":\"apt-get install -y git\"}}"),
           "'agents.defaults.sandbox.docker.setupCommand'", "no container");
  load_bad(OC("{\"docker\":{\"seccompProfile\":\"unconfined\"}}"), "'agents.defaults.sandbox.docker.seccompProfile'",
           "refused");
  load_bad(OC("{\"docker\":{\"gpus\":\"all\"}}"), "'agents.defaults.sandbox.docker.gpus'", "no devices");
  load_bad(OC("{\"docker\":{\"binds\":[\"/x\"]}}"), "'agents.defaults.sandbox.docker.binds[0]'", NULL);
  load_bad(OC("{\"docker\":{\"env\":{\"A\":1}}}"), "'agents.defaults.sandbox.docker.env.A' must be a string", NULL);
  load_bad(OC("[]"), "'agents.defaults.sandbox' must be an object", NULL);
#undef OC
  /* per-agent overrides are checked with the same rules */
  load_bad("{\"agents\":{\"list\":[{\"id\":\"a\"},{\"id\":\"b\",\"sandbox\":{\"docker\":{\"network\":\"host\"}}}]}}",
           "'agents.list[1].sandbox.docker.network'", "always refused");
  load_bad("{\"agents\":{\"list\":{}}}", "'agents.list' must be an array", NULL);
  load_bad("{\"agents\":{\"defaults\":[]}}", "'agents.defaults' must be an object", NULL);
  /* without an agents object the file is airlock's, checked strictly */
  load_bad("{\"agents\":[],\"gateway\":{}}", "unknown config key 'agents'", NULL);
}

/* --- airlock's own keys --------------------------------------------------- */

static void test_airlock_keys_full(void **state) {
  (void)state;
  static const char cfg[] = "{\n"
                            "  \"image\": \"/srv/rootfs\",\n"
                            "  \"workspace\": \"/home/u/project\",\n"
                            "  \"workspaceAccess\": \"ro\",\n"
                            "  \"output\": \"/tmp/out\",\n"
                            "  \"binds\": [\"/srv/data:/data\", \"/opt/t:/opt/tools:rw\", \"/x:/mnt/x:ro\"],\n"
                            "  \"env\": {\"FOO\": \"bar\", \"X_1\": \"a=b\", \"EMPTY\": \"\"},\n"
                            "  \"uid\": 0,\n"
                            "  \"hostname\": \"box\",\n"
                            "  \"cwd\": \"/workspace/sub\",\n"
                            "  \"limits\": {\"memory\": \"1g\", \"cpus\": \"0.75\", \"pids\": 64, \"timeout\": 12.5,\n"
                            "             \"disk\": 1048576, \"openFiles\": 333},\n"
                            "  \"tmpExec\": true,\n"
                            "  \"allowDegraded\": true,\n"
                            "  \"network\": \"none\"\n"
                            "}\n";
  airlock_spec spec;
  airlock_spec_init(&spec);
  airlock_error *err = NULL;
  int r = load(&spec, cfg, &err);
  if (r != 0)
    print_error("%s\n", err->msg);
  assert_int_equal(r, 0);
  assert_null(err);
  assert_string_equal(spec.image, "/srv/rootfs");
  assert_string_equal(spec.workspace, "/home/u/project");
  assert_false(spec.workspace_rw);
  assert_string_equal(spec.output, "/tmp/out");
  assert_int_equal(spec.n_binds, 3);
  assert_string_equal(spec.binds[0].src, "/srv/data");
  assert_string_equal(spec.binds[0].dst, "/data");
  assert_false(spec.binds[0].writable);
  assert_string_equal(spec.binds[1].src, "/opt/t");
  assert_string_equal(spec.binds[1].dst, "/opt/tools");
  assert_true(spec.binds[1].writable);
  assert_string_equal(spec.binds[2].dst, "/mnt/x");
  assert_false(spec.binds[2].writable);
  assert_int_equal(spec.n_env, 3);
  assert_string_equal(spec.env[0], "FOO=bar");
  assert_string_equal(spec.env[1], "X_1=a=b");
  assert_string_equal(spec.env[2], "EMPTY=");
  assert_int_equal(spec.uid, 0);
  assert_string_equal(spec.hostname, "box");
  assert_string_equal(spec.cwd, "/workspace/sub");
  assert_true(spec.memory_bytes == 1LL << 30);
  assert_true(spec.cpus == 0.75);
  assert_int_equal(spec.pids, 64);
  assert_true(spec.timeout_sec == 12.5);
  assert_true(spec.disk_bytes == 1048576);
  assert_int_equal(spec.nofile, 333);
  assert_true(spec.tmp_exec);
  assert_true(spec.allow_degraded);
  assert_int_equal(spec.network, AIRLOCK_NETWORK_NONE);
  airlock_spec_clear(&spec);
}

static void test_airlock_keys_variants(void **state) {
  (void)state;
  airlock_spec spec;
  airlock_error *err = NULL;

  /* workspaceAccess rw / ro, booleans false, cpus as number, uid max */
  airlock_spec_init(&spec);
  spec.workspace_rw = false;
  spec.tmp_exec = true;
  spec.allow_degraded = true;
  assert_int_equal(load(&spec,
                        "{\"workspaceAccess\":\"rw\",\"tmpExec\":false,\"allowDegraded\":false,"
                        "\"limits\":{\"cpus\":2},\"uid\":65534}",
                        &err),
                   0);
  assert_true(spec.workspace_rw);
  assert_false(spec.tmp_exec);
  assert_false(spec.allow_degraded);
  assert_true(spec.cpus == 2.0);
  assert_int_equal(spec.uid, 65534);
  airlock_spec_clear(&spec);

  /* workspaceAccess "none" drops the workspace, whatever the key order */
  airlock_spec_init(&spec);
  assert_int_equal(load(&spec, "{\"workspace\":\"/w\",\"workspaceAccess\":\"none\"}", &err), 0);
  assert_true(spec.workspace_none);
  airlock_spec_clear(&spec);
  airlock_spec_init(&spec);
  assert_int_equal(load(&spec, "{\"sandbox\":{\"workspaceAccess\":\"none\"},\"workspace\":\"/w\"}", &err), 0);
  assert_true(spec.workspace_none);
  airlock_spec_clear(&spec);

  /* a later value of a string key replaces the earlier one (no leak: ASan) */
  airlock_spec_init(&spec);
  assert_int_equal(load(&spec, "{\"image\":\"/a\"}", &err), 0);
  assert_int_equal(load(&spec, "{\"image\":\"/b\",\"limits\":{},\"sandbox\":{},\"binds\":[],\"env\":{}}", &err), 0);
  assert_string_equal(spec.image, "/b");
  assert_int_equal(spec.n_binds, 0);
  airlock_spec_clear(&spec);

  /* env keys given in the config replace earlier ones with the same name */
  airlock_spec_init(&spec);
  assert_int_equal(airlock_spec_add_env(&spec, "FOO=old", &err), 0);
  assert_int_equal(load(&spec, "{\"env\":{\"FOO\":\"new\"}}", &err), 0);
  assert_int_equal(spec.n_env, 1);
  assert_string_equal(spec.env[0], "FOO=new");
  airlock_spec_clear(&spec);
  assert_null(err);
}

/* --- errors name the key -------------------------------------------------- */

static void test_unknown_keys(void **state) {
  (void)state;
  load_bad("{\"bogus\":1}", "unknown config key 'bogus'", NULL);
  load_bad("{\"limits\":{\"memory\":\"1g\",\"foo\":1}}", "unknown config key 'limits.foo'", NULL);
  load_bad("{\"sandbox\":{\"enabled\":true,\"bar\":1}}", "unknown config key 'sandbox.bar'", NULL);
  /* keys are case sensitive and OpenClaw keys are not top-level keys */
  load_bad("{\"Image\":\"/x\"}", "'Image'", NULL);
  load_bad("{\"memoryLimit\":\"1g\"}", "'memoryLimit'", NULL);
  load_bad("{\"limits\":{\"memoryLimit\":\"1g\"}}", "'limits.memoryLimit'", NULL);
}

static void test_wrong_types(void **state) {
  (void)state;
  load_bad("{\"sandbox\":{\"memoryLimit\":true}}", "'sandbox.memoryLimit'", "size");
  load_bad("{\"sandbox\":{\"memoryLimit\":\"12x\"}}", "'sandbox.memoryLimit'", "'12x'");
  load_bad("{\"sandbox\":{\"memoryLimit\":0}}", "'sandbox.memoryLimit'", "positive");
  load_bad("{\"sandbox\":{\"memoryLimit\":1.5}}", "'sandbox.memoryLimit'", NULL);
  load_bad("{\"sandbox\":{\"cpuLimit\":\"one\"}}", "'sandbox.cpuLimit'", NULL);
  load_bad("{\"sandbox\":{\"cpuLimit\":\"nan\"}}", "'sandbox.cpuLimit'", NULL);
  load_bad("{\"sandbox\":{\"timeout\":\"30s\"}}", "'sandbox.timeout'", "number");
  load_bad("{\"sandbox\":{\"timeout\":0}}", "'sandbox.timeout'", "positive");
  load_bad("{\"sandbox\":{\"enabled\":\"yes\"}}", "'sandbox.enabled'", "true or false");
  load_bad("{\"sandbox\":7}", "'sandbox'", "object");
  load_bad("{\"limits\":{\"pids\":\"x\"}}", "'limits.pids'", "integer");
  load_bad("{\"limits\":{\"pids\":0}}", "'limits.pids'", "outside");
  load_bad("{\"limits\":{\"pids\":2.5}}", "'limits.pids'", "integer");
  load_bad("{\"limits\":{\"openFiles\":2000000}}", "'limits.openFiles'", "2000000");
  load_bad("{\"limits\":{\"timeout\":-1}}", "'limits.timeout'", "positive");
  load_bad("{\"limits\":{\"disk\":\"lots\"}}", "'limits.disk'", "'lots'");
  load_bad("{\"limits\":[]}", "'limits'", "object");
  load_bad("{\"uid\":-1}", "'uid'", "-1");
  load_bad("{\"uid\":70000}", "'uid'", "70000");
  load_bad("{\"uid\":\"0\"}", "'uid'", "integer");
  load_bad("{\"image\":5}", "'image'", "string");
  load_bad("{\"workspace\":\"\"}", "'workspace'", "empty");
  load_bad("{\"workspaceAccess\":\"all\"}", "'workspaceAccess'", "\"all\"");
  load_bad("{\"tmpExec\":1}", "'tmpExec'", "true or false");
  load_bad("{\"binds\":\"/a:/b\"}", "'binds'", "array");
  load_bad("{\"binds\":[\"/a:/b\",\"nocolon\"]}", "'binds[1]'", "'nocolon'");
  load_bad("{\"binds\":[3]}", "'binds'", "string");
  load_bad("{\"env\":[\"A=b\"]}", "'env'", "object");
  load_bad("{\"env\":{\"A\":1}}", "'env.A'", "string");
  load_bad("{\"env\":{\"A=B\":\"c\"}}", "'env.A=B'", NULL);
  /* the name is quoted, though (see report) not with its "env." key */
  load_bad("{\"env\":{\"1A\":\"c\"}}", "config key 'env.1A'", "environment name");
  load_bad("{\"network\":\"bridge\"}", "'network'", "\"bridge\"");
}

static void test_refused_values(void **state) {
  (void)state;
  load_bad("{\"sandbox\":{\"enabled\":false}}", "'sandbox.enabled'", "false");
  load_bad("{\"sandbox\":{\"backend\":\"docker\"}}", "'sandbox.backend'", "\"docker\"");
  load_bad("{\"sandbox\":{\"networkMode\":\"host\"}}", "'sandbox.networkMode'", "\"host\"");
  load_bad("{\"sandbox\":{\"networkMode\":\"macvlan\"}}", "'sandbox.networkMode'", "\"macvlan\"");
  load_bad("{\"network\":\"host\"}", "'network'", "\"host\"");
}

static void test_isolation_keys(void **state) {
  (void)state;
  airlock_spec spec;
  airlock_spec_init(&spec);
  airlock_error *err = NULL;
  assert_int_equal(spec.isolation, AIRLOCK_ISOLATION_NAMESPACES);
  assert_int_equal(load(&spec, "{\"isolation\": \"gvisor\", \"runsc\": \"/opt/gvisor/runsc\"}", &err), 0);
  assert_int_equal(spec.isolation, AIRLOCK_ISOLATION_GVISOR);
  assert_string_equal(spec.runsc, "/opt/gvisor/runsc");
  assert_int_equal(load(&spec, "{\"isolation\": \"vm\"}", &err), 0); /* parsed; refused by airlock_run() */
  assert_int_equal(spec.isolation, AIRLOCK_ISOLATION_VM);
  airlock_spec_clear(&spec);
  load_bad("{\"isolation\": \"docker\"}", "config key 'isolation'", "\"namespaces\", \"gvisor\" or \"vm\"");
  load_bad("{\"isolation\": 1}", "isolation", NULL);
  load_bad("{\"runsc\": \"\"}", "runsc", NULL);
}

static void test_invalid_json(void **state) {
  (void)state;
  load_bad("{\n  \"uid\": 1,\n  oops\n}\n", "not valid JSON", "line 3");
  load_bad("{\"uid\": 1,}", "not valid JSON", "line 1");
  load_bad("", "not valid JSON", NULL);
  load_bad("42", "not valid JSON", NULL);
  load_bad("{\"image\":\"a\\u0000b\"}", "not valid JSON", NULL);
  /* column is reported as well */
  load_bad("{\"uid\": 1 2}", "column 11", NULL);
}

static void test_duplicate_keys(void **state) {
  (void)state;
  load_bad("{\"uid\":1,\"uid\":2}", "duplicate", "uid");
  load_bad("{\"limits\":{\"pids\":4,\"pids\":5}}", "duplicate", "pids");
}

static void test_top_level_not_object(void **state) {
  (void)state;
  load_bad("[]", "(top level)", "object");
  load_bad("[{\"uid\":1}]", "(top level)", "object");
}

/* the length argument is honoured: bytes past it are not read */
static void test_length_respected(void **state) {
  (void)state;
  static const char text[] = "{\"uid\":7}GARBAGE";
  airlock_spec spec;
  airlock_spec_init(&spec);
  airlock_error *err = NULL;
  assert_int_equal(airlock_spec_load_json(&spec, text, 9, &err), 0);
  assert_int_equal(spec.uid, 7);
  assert_int_equal(airlock_spec_load_json(&spec, text, strlen(text), &err), -1);
  assert_non_null(err);
  airlock_error_free(&err);
  airlock_spec_clear(&spec);
}

static void test_load_file(void **state) {
  (void)state;
  char path[] = "/tmp/airlock-ut-cfg-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  static const char cfg[] = "{\"hostname\":\"from-file\",\"limits\":{\"pids\":12}}";
  assert_int_equal(write(fd, cfg, strlen(cfg)), (ssize_t)strlen(cfg));
  close(fd);

  airlock_spec spec;
  airlock_spec_init(&spec);
  airlock_error *err = NULL;
  assert_int_equal(airlock_spec_load_file(&spec, path, &err), 0);
  assert_string_equal(spec.hostname, "from-file");
  assert_int_equal(spec.pids, 12);

  /* an error inside the file is prefixed with the file name */
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("{\"limits\":{\"nope\":1}}", f);
  fclose(f);
  assert_int_equal(airlock_spec_load_file(&spec, path, &err), -1);
  assert_non_null(err);
  assert_non_null(strstr(err->msg, path));
  assert_non_null(strstr(err->msg, "'limits.nope'"));
  airlock_error_free(&err);
  unlink(path);

  /* a missing file names the path and carries errno */
  assert_int_equal(airlock_spec_load_file(&spec, path, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->errnum, ENOENT);
  assert_non_null(strstr(err->msg, path));
  airlock_error_free(&err);
  airlock_spec_clear(&spec);
}

/* --- network and secrets ------------------------------------------------- */

/* spec->network_json parsed, for checks */
static json_t *settings(const airlock_spec *spec) {
  assert_non_null(spec->network_json);
  json_t *obj = json_loads(spec->network_json, 0, NULL);
  assert_non_null(obj);
  return obj;
}

static void assert_rules(json_t *obj, const char *key, const char *const *want, size_t n) {
  json_t *list = json_object_get(obj, key);
  assert_true(json_is_array(list));
  assert_int_equal(json_array_size(list), n);
  for (size_t i = 0; i < n; i++)
    assert_string_equal(json_string_value(json_array_get(list, i)), want[i]);
}

static void test_network_modes(void **state) {
  (void)state;
  airlock_spec spec;
  airlock_spec_init(&spec);
  airlock_error *err = NULL;
  assert_int_equal(load(&spec, "{\"network\":\"proxy\"}", &err), 0);
  assert_int_equal(spec.network, AIRLOCK_NETWORK_PROXY);
  assert_null(spec.network_json);
  /* the object: unknown-to-the-runtime keys pass through to the proxy */
  assert_int_equal(load(&spec,
                        "{\"network\":{\"mode\":\"proxy\",\"allow\":[\"api.example.com\",\"*.pypi.org:443\"],"
                        "\"deny\":[\"10.0.0.0/8\"],\"rateLimit\":{\"rps\":5},\"limits\":{\"x\":1},"
                        "\"inject\":[{\"host\":\"a\"}],\"allowAddresses\":[\"192.168.1.2\"],"
                        "\"resolver\":\"1.1.1.1\",\"upstreamCa\":\"/etc/ca.pem\",\"opaquePorts\":[22]}}",
                        &err),
                   0);
  assert_int_equal(spec.network, AIRLOCK_NETWORK_PROXY);
  json_t *obj = settings(&spec);
  static const char *const allow[] = {"api.example.com", "*.pypi.org:443"};
  static const char *const deny[] = {"10.0.0.0/8"};
  assert_rules(obj, "allow", allow, 2);
  assert_rules(obj, "deny", deny, 1);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(obj, "rateLimit"), "rps")), 5);
  assert_string_equal(json_string_value(json_object_get(obj, "resolver")), "1.1.1.1");
  json_decref(obj);
  /* flags append to the config's rules */
  assert_int_equal(airlock_spec_add_egress_rule(&spec, false, "github.com", &err), 0);
  assert_int_equal(airlock_spec_add_egress_rule(&spec, true, "evil.example", &err), 0);
  obj = settings(&spec);
  static const char *const allow2[] = {"api.example.com", "*.pypi.org:443", "github.com"};
  static const char *const deny2[] = {"10.0.0.0/8", "evil.example"};
  assert_rules(obj, "allow", allow2, 3);
  assert_rules(obj, "deny", deny2, 2);
  json_decref(obj);
  /* a later config's network replaces the earlier one as a whole */
  assert_int_equal(load(&spec, "{\"network\":{\"mode\":\"none\"}}", &err), 0);
  assert_int_equal(spec.network, AIRLOCK_NETWORK_NONE);
  assert_null(spec.network_json);
  /* OpenClaw's bridge: proxy mode allowing everything the proxy allows at all */
  assert_int_equal(load(&spec, "{\"sandbox\":{\"networkMode\":\"bridge\"}}", &err), 0);
  assert_int_equal(spec.network, AIRLOCK_NETWORK_PROXY);
  obj = settings(&spec);
  static const char *const all[] = {"*:*"};
  assert_rules(obj, "allow", all, 1);
  json_decref(obj);
  assert_int_equal(load(&spec, "{\"sandbox\":{\"networkMode\":\"none\"}}", &err), 0);
  assert_int_equal(spec.network, AIRLOCK_NETWORK_NONE);
  assert_null(spec.network_json);
  /* rules without a config start a settings object of their own */
  assert_int_equal(airlock_spec_add_egress_rule(&spec, true, "x.example", &err), 0);
  obj = settings(&spec);
  static const char *const deny3[] = {"x.example"};
  assert_rules(obj, "deny", deny3, 1);
  assert_null(json_object_get(obj, "allow"));
  json_decref(obj);
  assert_null(err);
  airlock_spec_clear(&spec);
}

static void test_network_refused(void **state) {
  (void)state;
  load_bad("{\"network\":{\"mode\":\"proxy\",\"allowed\":[]}}", "unknown config key 'network.allowed'", NULL);
  load_bad("{\"network\":{\"mode\":\"proxy\",\"allow\":[\"a\",3]}}", "'network.allow[1]'", "string");
  load_bad("{\"network\":{\"mode\":\"proxy\",\"deny\":\"a\"}}", "'network.deny'", "array of strings");
  load_bad("{\"network\":{\"allow\":[]}}", "'network.mode'", "missing");
  load_bad("{\"network\":{\"mode\":3}}", "'network.mode'", "\"proxy\"");
  load_bad("{\"network\":{\"mode\":\"bridge\"}}", "'network.mode'", "\"bridge\"");
  load_bad("{\"network\":{\"mode\":\"host\"}}", "'network.mode'", "always refused");
  load_bad("{\"network\":{\"mode\":\"none\",\"allow\":[\"a\"]}}", "'network.allow'", "only with mode \"proxy\"");
  load_bad("{\"network\":{\"mode\":\"none\",\"rateLimit\":{}}}", "'network.rateLimit'", "only with mode");
  load_bad("{\"network\":[\"proxy\"]}", "'network'", "object");
  load_bad("{\"network\":\"proxy \"}", "'network'", "\"proxy \"");
  load_bad("{\"secrets\":\"KEY\"}", "'secrets'", "array");
  load_bad("{\"secrets\":[\"KEY\",7]}", "'secrets[1]'", "string");
}

static void test_network_validate(void **state) {
  (void)state;
  airlock_spec spec;
  airlock_spec_init(&spec);
  spec.argv = test_argv;
  airlock_error *err = NULL;
  /* rules or a log without proxy mode */
  assert_int_equal(airlock_spec_add_egress_rule(&spec, false, "a.example", &err), 0);
  assert_int_equal(airlock_spec_validate(&spec, &err), -1);
  assert_non_null(strstr(err->msg, "--allow and --deny"));
  assert_non_null(strstr(err->msg, "--network proxy"));
  airlock_error_free(&err);
  spec.network = AIRLOCK_NETWORK_PROXY;
  assert_int_equal(airlock_spec_validate(&spec, &err), 0);
  spec.network = AIRLOCK_NETWORK_NONE;
  free(spec.network_json);
  spec.network_json = NULL;
  assert_int_equal(airlock_spec_set_string(&spec.egress_log, "/tmp/x.jsonl", &err), 0);
  assert_int_equal(airlock_spec_validate(&spec, &err), -1);
  assert_non_null(strstr(err->msg, "--egress-log"));
  airlock_error_free(&err);
  spec.network = AIRLOCK_NETWORK_PROXY;
  assert_int_equal(airlock_spec_validate(&spec, &err), 0);
  /* settings set by hand are checked like the config's */
  spec.network_json = strdup("{\"mode\":\"proxy\",\"allow\":[1]}");
  assert_int_equal(airlock_spec_validate(&spec, &err), -1);
  assert_non_null(strstr(err->msg, "'network.allow[0]'"));
  airlock_error_free(&err);
  free(spec.network_json);
  spec.network_json = strdup("[]");
  assert_int_equal(airlock_spec_validate(&spec, &err), -1);
  assert_non_null(strstr(err->msg, "not a JSON object"));
  airlock_error_free(&err);
  free(spec.network_json);
  spec.network_json = NULL;
  spec.network = (airlock_network)7;
  assert_int_equal(airlock_spec_validate(&spec, &err), -1);
  airlock_error_free(&err);
  spec.network = AIRLOCK_NETWORK_NONE;
  free(spec.egress_log);
  spec.egress_log = NULL;

  /* secrets: the store's names, minus . and .. (they become file names) */
  assert_int_equal(load(&spec, "{\"secrets\":[\"OPENAI_API_KEY\",\"gh.token-2\"]}", &err), 0);
  assert_int_equal(spec.n_secrets, 2);
  assert_string_equal(spec.secrets[1], "gh.token-2");
  assert_int_equal(airlock_spec_validate(&spec, &err), 0);
  static const char *const bad[] = {
      "..", ".", "a/b", "", "with space", "x1234567890123456789012345678901234567890123456789012345678901234" /* 65 */};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(airlock_spec_add_secret(&spec, bad[i], &err), 0);
    assert_int_equal(airlock_spec_validate(&spec, &err), -1);
    assert_non_null(strstr(err->msg, "invalid secret name"));
    airlock_error_free(&err);
    free(spec.secrets[--spec.n_secrets]);
  }
  assert_int_equal(airlock_spec_add_secret(&spec, "OPENAI_API_KEY", &err), 0);
  assert_int_equal(airlock_spec_validate(&spec, &err), -1);
  assert_non_null(strstr(err->msg, "given twice"));
  airlock_error_free(&err);
  airlock_spec_clear(&spec);
}

/* --- airlock_spec_validate ------------------------------------------------ */

typedef struct {
  char dir[64];  /* an ordinary directory under /tmp */
  char file[80]; /* a regular file inside it */
} fixture;

static int setup_dirs(void **state) {
  fixture *fx = calloc(1, sizeof(*fx));
  if (fx == NULL)
    return -1;
  strcpy(fx->dir, "/tmp/airlock-ut-val-XXXXXX");
  if (mkdtemp(fx->dir) == NULL) {
    free(fx);
    return -1;
  }
  snprintf(fx->file, sizeof(fx->file), "%s/file", fx->dir);
  FILE *f = fopen(fx->file, "w");
  if (f == NULL)
    return -1;
  fclose(f);
  *state = fx;
  return 0;
}

static int teardown_dirs(void **state) {
  fixture *fx = *state;
  unlink(fx->file);
  rmdir(fx->dir);
  free(fx);
  return 0;
}

static void valid_spec(airlock_spec *spec) {
  airlock_spec_init(spec);
  spec->argv = test_argv;
}

static void expect_valid(airlock_spec *spec) {
  airlock_error *err = NULL;
  int r = airlock_spec_validate(spec, &err);
  if (r != 0)
    print_error("validate refused: %s\n", err->msg);
  assert_int_equal(r, 0);
  assert_null(err);
}

static void expect_invalid(airlock_spec *spec, const char *needle1, const char *needle2) {
  airlock_error *err = NULL;
  assert_int_equal(airlock_spec_validate(spec, &err), -1);
  assert_non_null(err);
  const char *needles[] = {needle1, needle2};
  for (size_t i = 0; i < 2; i++) {
    if (needles[i] == NULL)
      continue;
    if (strstr(err->msg, needles[i]) == NULL)
      print_error("message \"%s\" does not contain \"%s\"\n", err->msg, needles[i]);
    assert_non_null(strstr(err->msg, needles[i]));
  }
  airlock_error_free(&err);
}

static void test_validate_defaults(void **state) {
  fixture *fx = *state;
  airlock_spec spec;
  valid_spec(&spec);
  expect_valid(&spec);

  /* with a workspace, output, binds, env and the boundary values */
  assert_int_equal(airlock_spec_set_string(&spec.workspace, fx->dir, NULL), 0);
  assert_int_equal(airlock_spec_set_string(&spec.output, fx->dir, NULL), 0);
  airlock_bind b = {strdup(fx->dir), strdup("/data"), true};
  assert_int_equal(airlock_spec_add_bind(&spec, &b, NULL), 0);
  assert_null(b.src); /* ownership taken */
  airlock_bind b2 = {strdup(fx->file), strdup("/mnt/file"), false};
  assert_int_equal(airlock_spec_add_bind(&spec, &b2, NULL), 0);
  assert_int_equal(airlock_spec_add_env(&spec, "A=1", NULL), 0);
  spec.memory_bytes = 6LL << 20;
  spec.cpus = (double)sysconf(_SC_NPROCESSORS_ONLN);
  spec.pids = 2;
  spec.timeout_sec = 0.001;
  spec.disk_bytes = 1LL << 20;
  spec.uid = 0;
  expect_valid(&spec);
  airlock_spec_clear(&spec);
}

static void test_validate_limits(void **state) {
  (void)state;
  airlock_spec spec;

  valid_spec(&spec);
  spec.argv = NULL;
  expect_invalid(&spec, "no command", NULL);

  valid_spec(&spec);
  spec.memory_bytes = (6LL << 20) - 1;
  expect_invalid(&spec, "memory", "6m");

  valid_spec(&spec);
  spec.cpus = 0;
  expect_invalid(&spec, "cpus", NULL);

  valid_spec(&spec);
  spec.cpus = NAN;
  expect_invalid(&spec, "cpus", NULL);

  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  valid_spec(&spec);
  spec.cpus = (double)ncpu + 0.5;
  expect_invalid(&spec, "cpus", NULL);

  valid_spec(&spec);
  spec.pids = 1;
  expect_invalid(&spec, "pids", NULL);

  valid_spec(&spec);
  spec.timeout_sec = 0;
  expect_invalid(&spec, "timeout", NULL);

  valid_spec(&spec);
  spec.timeout_sec = 8 * 86400;
  expect_invalid(&spec, "timeout", NULL);

  valid_spec(&spec);
  spec.disk_bytes = (1LL << 20) - 1;
  expect_invalid(&spec, "disk", "1m");

  valid_spec(&spec);
  spec.nofile = 15;
  expect_invalid(&spec, "open files", NULL);

  valid_spec(&spec);
  spec.uid = 65535;
  expect_invalid(&spec, "uid", NULL);

  valid_spec(&spec);
  spec.cwd = (char *)"relative";
  expect_invalid(&spec, "cwd", "'relative'");
}

/* The launch plan opens workspace, output and bind sources once and judges
 * them on that descriptor: missing, wrong type, protected, behind a
 * symbolic link, or a writable directory of root's. */
static void expect_plan(airlock_spec *spec, const char *needle1, const char *needle2) {
  al_plan p;
  airlock_error *err = NULL;
  int r = al_plan_build(&p, spec, &err);
  if (needle1 == NULL) {
    if (r != 0)
      print_error("plan refused: %s\n", err->msg);
    assert_int_equal(r, 0);
  } else {
    assert_int_equal(r, -1);
    assert_non_null(err);
    const char *needles[] = {needle1, needle2};
    for (size_t i = 0; i < 2; i++) {
      if (needles[i] && strstr(err->msg, needles[i]) == NULL)
        print_error("message \"%s\" does not contain \"%s\"\n", err->msg, needles[i]);
      assert_true(needles[i] == NULL || strstr(err->msg, needles[i]) != NULL);
    }
  }
  airlock_error_free(&err);
  al_plan_free(&p);
}

static void test_validate_paths(void **state) {
  fixture *fx = *state;
  airlock_spec spec;
  char missing[128];
  snprintf(missing, sizeof(missing), "%s/does-not-exist", fx->dir);

  /* workspace, output and bind sources are judged by the launch plan, on
   * the descriptor it mounts (test_plan_paths); validation leaves them be */
  valid_spec(&spec);
  spec.workspace = missing;
  expect_valid(&spec);

  valid_spec(&spec);
  spec.image = missing;
  expect_invalid(&spec, "image", missing);

  airlock_bind binds[2] = {{fx->dir, (char *)"relative/target", false}, {fx->dir, (char *)"/data", false}};
  valid_spec(&spec);
  spec.binds = binds;
  spec.n_binds = 1;
  expect_invalid(&spec, "bind target", "'relative/target'");

  binds[0].dst = (char *)"/data";
  spec.n_binds = 2;
  expect_invalid(&spec, "'/data'", "twice");

  binds[0].dst = (char *)"/usr/local";
  spec.n_binds = 1;
  expect_invalid(&spec, "'/usr/local'", "/usr");

  binds[0].dst = (char *)"/workspace";
  spec.workspace = fx->dir;
  expect_invalid(&spec, "'/workspace'", "already used");
  spec.workspace = NULL;
  expect_valid(&spec); /* /workspace is free when no workspace is given */

  binds[0].dst = (char *)"/data";
  binds[0].src = missing;
  expect_valid(&spec); /* the plan judges the source (test_plan_paths) */
  spec.workspace = NULL;
  spec.binds = binds;
  spec.n_binds = 1;
  expect_plan(&spec, "bind source", missing);

  char *env[] = {(char *)"BAD NAME=1"};
  valid_spec(&spec);
  spec.env = env;
  spec.n_env = 1;
  expect_invalid(&spec, "BAD NAME", NULL);
}

static void test_plan_paths(void **state) {
  fixture *fx = *state;
  airlock_spec spec;
  char missing[128], link[128], sub[128];
  snprintf(missing, sizeof(missing), "%s/does-not-exist", fx->dir);
  snprintf(link, sizeof(link), "%s/link", fx->dir);
  snprintf(sub, sizeof(sub), "%s/sub", fx->dir);
  assert_int_equal(mkdir(sub, 0755), 0);
  assert_int_equal(symlink("sub", link), 0);

  valid_spec(&spec);
  spec.workspace = missing;
  expect_plan(&spec, "workspace", missing);
  spec.workspace = fx->file;
  expect_plan(&spec, "workspace", "not a directory");
  spec.workspace = (char *)"/etc";
  spec.workspace_rw = false;
  expect_plan(&spec, "workspace", "/etc");
  spec.workspace = link; /* never followed, not even to a fine directory */
  expect_plan(&spec, "symbolic link", link);
  spec.workspace = NULL;
  spec.output = fx->file;
  expect_plan(&spec, "output", "not a directory");
  spec.output = NULL;

  /* ownership: as root the fixture's directory is root's */
  spec.workspace = sub;
  spec.workspace_rw = true;
  if (geteuid() == 0) {
    expect_plan(&spec, "owned by root (uid 0)", "--allow-writable-system-dir");
    spec.workspace_rw = false;
    expect_plan(&spec, NULL, NULL); /* read-only: fine */
    spec.workspace_rw = true;
    spec.allow_writable_system = true;
    expect_plan(&spec, NULL, NULL);
    spec.allow_writable_system = false;
    assert_int_equal(chown(sub, 1000, 1000), 0);
  }
  expect_plan(&spec, NULL, NULL); /* a user's directory, writable */
  unlink(link);
  rmdir(sub);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_openclaw_seed_block),
      cmocka_unit_test(test_openclaw_other_values),
      cmocka_unit_test(test_openclaw_json_mapping),
      cmocka_unit_test(test_openclaw_json_refused),
      cmocka_unit_test(test_openclaw_json_agent),
      cmocka_unit_test(test_openclaw_json_airlock_keys),
      cmocka_unit_test(test_airlock_keys_full),
      cmocka_unit_test(test_airlock_keys_variants),
      cmocka_unit_test(test_unknown_keys),
      cmocka_unit_test(test_wrong_types),
      cmocka_unit_test(test_refused_values),
      cmocka_unit_test(test_invalid_json),
      cmocka_unit_test(test_isolation_keys),
      cmocka_unit_test(test_duplicate_keys),
      cmocka_unit_test(test_top_level_not_object),
      cmocka_unit_test(test_length_respected),
      cmocka_unit_test(test_load_file),
      cmocka_unit_test(test_network_modes),
      cmocka_unit_test(test_network_refused),
      cmocka_unit_test(test_network_validate),
      cmocka_unit_test_setup_teardown(test_validate_defaults, setup_dirs, teardown_dirs),
      cmocka_unit_test(test_validate_limits),
      cmocka_unit_test_setup_teardown(test_validate_paths, setup_dirs, teardown_dirs),
      cmocka_unit_test_setup_teardown(test_plan_paths, setup_dirs, teardown_dirs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
