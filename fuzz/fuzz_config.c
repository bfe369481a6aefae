/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_config.c - libFuzzer target for the JSON config loader.
 *
 * Every input is loaded into a fresh spec; a spec that loads is also run
 * through airlock_spec_validate (which only stats host paths), and one in
 * proxy mode must then give the proxy's settings and the report's egress
 * object.  Besides the
 * sanitizers, the contract of the error type is checked: a failure sets an
 * error with a non-empty message, a success leaves it unset. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "airlock/airlock.h"
#include "network.h"

static void check_result(int r, const airlock_error *err) {
  if (r == 0 && err != NULL)
    abort(); /* success but an error was reported */
  if (r != 0 && (r != -1 || err == NULL || err->msg == NULL || err->msg[0] == '\0'))
    abort(); /* failure without a usable message */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char *argv[] = {"/bin/true", NULL};
  airlock_spec spec;
  airlock_spec_init(&spec);
  airlock_error *err = NULL;

  int r = airlock_spec_load_json(&spec, (const char *)data, size, &err);
  check_result(r, err);
  if (r == 0) {
    /* what was loaded is well formed */
    for (size_t i = 0; i < spec.n_binds; i++)
      if (spec.binds[i].src == NULL || spec.binds[i].dst == NULL)
        abort();
    for (size_t i = 0; i < spec.n_env; i++)
      if (spec.env[i] == NULL)
        abort();
    spec.argv = argv;
    r = airlock_spec_validate(&spec, &err);
    check_result(r, err);
    /* valid proxy settings always make the proxy's JSON and the report */
    if (r == 0 && spec.network == AIRLOCK_NETWORK_PROXY) {
      char *settings = al_network_proxy_config(&spec, &err);
      char *report = al_network_report(&spec);
      if (settings == NULL || report == NULL)
        abort();
      free(settings);
      free(report);
    }
  }
  airlock_error_free(&err);
  airlock_spec_clear(&spec);
  return 0;
}
