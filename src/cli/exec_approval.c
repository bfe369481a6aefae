/* SPDX-License-Identifier: Apache-2.0 */
/* exec_approval.c - what `airlock exec` does when the node's policy holds a
 * command for a human: say so at once on stderr (the approval's id, its
 * rule, how to answer, the time left) and, in wait mode, count down while
 * polling GET /v1/approvals/{id} until it is answered.  The exec is sent in
 * the node's poll mode so that the 202 tells us at once; once approved it
 * is sent again with the approval's id, as the API asks. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "airlock/client.h"
#include "cleanup.h"
#include "cli.h"

#define POLL_MS 1000
#define PLAIN_EVERY_S 30 /* a line this often when stderr is not a terminal */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void format_left(int64_t expires_at_ms, char *buf, size_t len) {
  if (expires_at_ms <= 0) {
    snprintf(buf, len, "until the node's approval timeout");
    return;
  }
  int64_t s = (expires_at_ms - now_ms() + 999) / 1000;
  if (s < 0)
    s = 0;
  if (s >= 60)
    snprintf(buf, len, "%lldm%02llds left", (long long)(s / 60), (long long)(s % 60));
  else
    snprintf(buf, len, "%llds left", (long long)s);
}

void cli_approval_announce(const airlock_exec_result *res, bool poll_mode) {
  char left[48];
  format_left(res->approval_expires_at_ms, left, sizeof(left));
  fprintf(stderr,
          "airlock exec: waiting for approval %s: the node's policy asks a human first (rule: %s)\n"
          "airlock exec: an approver answers with 'airlock approvals approve %s' (or reject), or in the node's "
          "web UI; %s\n",
          res->approval_id, res->approval_rule ? res->approval_rule : "none given", res->approval_id, left);
  if (poll_mode)
    fprintf(stderr, "airlock exec: once approved, run the same command again with --approval-id %s\n",
            res->approval_id);
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0) {
  }
}

int cli_approval_wait(airlock_client *client, const char *id, int64_t expires_at_ms) {
  bool tty = isatty(STDERR_FILENO);
  int64_t last_line = now_ms();
  char path[64];
  snprintf(path, sizeof(path), "/v1/approvals/%s", id);
  for (;;) {
    char left[48];
    format_left(expires_at_ms, left, sizeof(left));
    if (tty) {
      fprintf(stderr, "\r\033[Kairlock exec: waiting for approval %s: %s", id, left);
      fflush(stderr);
    } else if (now_ms() - last_line >= PLAIN_EVERY_S * 1000) {
      fprintf(stderr, "airlock exec: still waiting for approval %s: %s\n", id, left);
      last_line = now_ms();
    }
    sleep_ms(POLL_MS);
    airlock_error *err = NULL;
    _cleanup_free_ char *resp = NULL;
    long status = 0;
    int rc = airlock_client_request(client, "GET", path, NULL, 0, &status, &resp, NULL, &err);
    if (tty)
      fprintf(stderr, "\r\033[K");
    if (rc < 0)
      return cli_fail_error("exec", NULL, AIRLOCK_EXIT_SETUP, &err);
    json_t *ap = json_loads(resp ? resp : "", 0, NULL);
    const char *state = json_string_value(json_object_get(ap, "state"));
    const char *by = json_string_value(json_object_get(ap, "answered_by"));
    const char *why = json_string_value(json_object_get(ap, "answer_reason"));
    int code = -1;
    if (state == NULL)
      code = cli_fail("exec", NULL, AIRLOCK_EXIT_SETUP, "the node's answer for approval %s has no state", id);
    else if (strcmp(state, "approved") == 0) {
      fprintf(stderr, "airlock exec: approval %s approved by %s; running\n", id, by ? by : "an approver");
      code = 0;
    } else if (strcmp(state, "rejected") == 0)
      code = cli_fail("exec", NULL, AIRLOCK_EXIT_SETUP, "approval %s rejected by %s%s%s; the command did not run", id,
                      by ? by : "an approver", why ? ": " : "", why ? why : "");
    else if (strcmp(state, "expired") == 0)
      code = cli_fail("exec", NULL, AIRLOCK_EXIT_SETUP,
                      "approval %s expired: nobody answered in time (defaultAction reject); the command did not run",
                      id);
    else if (strcmp(state, "pending") != 0)
      code = cli_fail("exec", NULL, AIRLOCK_EXIT_SETUP, "approval %s is %s; the command did not run", id, state);
    json_decref(ap);
    if (code >= 0)
      return code;
  }
}
