/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_openclaw.c - the OpenClaw frame handler's parsing (src/openclaw/):
 * a gateway frame, then as the node would take it: an invoke request's
 * paramsJSON through system.run/prepare/which, a cancel, a challenge, a
 * setup code.  Everything here is untrusted input from the gateway. */
#include "openclaw.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool never(const char *f) {
  (void)f;
  return false;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  oc_frame f;
  airlock_error *err = NULL;
  if (oc_frame_parse((const char *)data, size, &f, &err) == 0) {
    oc_invoke inv;
    if (oc_invoke_parse(f.payload, &inv, &err) == 0) {
      oc_run r;
      const char *code;
      if (oc_run_parse(inv.params, &r, &code, &err) == 0) {
        char *cwd = oc_sandbox_cwd(r.cwd);
        json_t *p = oc_prepare_result(&r, cwd ? cwd : "/workspace", (oc_exec_policy)(data[0] % 3));
        json_decref(p);
        free(cwd);
        char why[200];
        (void)oc_run_human_approved(&r, why, sizeof(why));
        char *key = oc_scope_key("agent", &r);
        free(key);
        oc_outcome o = {.has_exit = true, .stdout_text = "x", .stdout_len = 1, .stderr_text = "", .truncated = true};
        json_decref(oc_exec_finished(&r, &o));
        oc_run_clear(&r);
      }
      airlock_error_free(&err);
      json_t *w = oc_which_result(inv.params, "/nonexistent:/x", never, &err);
      if (w)
        json_decref(w);
      airlock_error_free(&err);
      oc_invoke_clear(&inv);
    }
    airlock_error_free(&err);
    (void)oc_cancel_id(f.payload);
    const char *nonce;
    int64_t ts;
    oc_challenge_parse(f.payload, &nonce, &ts, &err);
    airlock_error_free(&err);
    oc_frame_clear(&f);
  }
  airlock_error_free(&err);
  char *code = strndup((const char *)data, size);
  char *url = NULL, *boot = NULL;
  int64_t exp;
  if (code && oc_setup_code_decode(code, &url, &boot, &exp, &err) == 0) {
    free(url);
    free(boot);
  }
  airlock_error_free(&err);
  free(code);
  return 0;
}
