/* SPDX-License-Identifier: Apache-2.0 */
/* trace.c - see trace.h.  Uses only clock_gettime and write so that the
 * forked sandbox child can call it too. */
#define _GNU_SOURCE
#include "trace.h"
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool al_trace_enabled;
int64_t al_trace_origin_ns;

void al_trace_init(void) {
  const char *v = getenv("AIRLOCK_TRACE");
  al_trace_enabled = v && *v && strcmp(v, "0") != 0;
  al_trace_origin_ns = al_monotonic_ns();
}

void al_trace_step(const char *who, const char *step) {
  if (!al_trace_enabled)
    return;
  char line[128];
  int n = snprintf(line, sizeof(line), "airlock-trace: %8.3f ms  %-8s %s\n",
                   (double)(al_monotonic_ns() - al_trace_origin_ns) / 1e6, who, step);
  if (n > 0) {
    ssize_t w = write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    (void)w;
  }
}
