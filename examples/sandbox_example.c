/* SPDX-License-Identifier: Apache-2.0 */
/* sandbox_example.c - libairlock in a few lines: describe a sandbox from a
 * JSON config, check it, and (with --run, as root or with delegated cgroups)
 * run a command in it and print the report.  Built against the installed
 * library by tests/install (pkg-config and find_package).
 *
 *   sandbox-example '{"limits": {"memory": "256m", "timeout": 10}}'
 *   sandbox-example '{"limits": {"memory": "256m"}}' --run /bin/echo hello */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/airlock.h"
#include "airlock/client.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s CONFIG_JSON [--run COMMAND...]\n", argv[0]);
    return 2;
  }
  airlock_spec spec;
  airlock_error *err = NULL;
  airlock_spec_init(&spec);
  static char *no_command[] = {"/bin/true", NULL};
  spec.argv = argc > 3 && strcmp(argv[2], "--run") == 0 ? argv + 3 : no_command;
  if (airlock_spec_load_json(&spec, argv[1], strlen(argv[1]), &err) < 0 || airlock_spec_validate(&spec, &err) < 0) {
    fprintf(stderr, "sandbox-example: %s\n", err->msg);
    airlock_error_free(&err);
    airlock_spec_clear(&spec);
    return 1;
  }
  printf("libairlock %s: memory %lld bytes, timeout %g s\n", AIRLOCK_VERSION, (long long)spec.memory_bytes,
         spec.timeout_sec);
  int rc = 0;
  if (argc > 3 && strcmp(argv[2], "--run") == 0) {
    airlock_result res;
    if (airlock_run(&spec, &res, &err) < 0) {
      fprintf(stderr, "sandbox-example: %s\n", err->msg);
      airlock_error_free(&err);
      rc = 1;
    } else {
      char *json = airlock_result_to_json(&res);
      printf("exit %d, report: %s\n", res.exit_code, json ? json : "?");
      free(json);
      rc = res.exit_code;
      airlock_result_clear(&res);
    }
  }
  /* the node client is in the same library: a node that is not there */
  airlock_client *c = NULL;
  if (airlock_client_open("unix:/nonexistent/airlock.sock", "node_tok_x", NULL, &c, &err) == 0)
    airlock_client_close(&c);
  airlock_error_free(&err);
  airlock_spec_clear(&spec);
  return rc;
}
