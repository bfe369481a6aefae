/* SPDX-License-Identifier: Apache-2.0 */
/* clock.c - see clock.h.  Only clock_gettime, so that the sandbox's init
 * and a freshly cloned child may call it. */
#include "clock.h"

#include <time.h>

static int64_t read_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t al_monotonic_ns(void) { return read_ns(CLOCK_MONOTONIC); }
int64_t al_monotonic_us(void) { return read_ns(CLOCK_MONOTONIC) / 1000; }
int64_t al_monotonic_ms(void) { return read_ns(CLOCK_MONOTONIC) / 1000000; }
int64_t al_wall_ms(void) { return read_ns(CLOCK_REALTIME) / 1000000; }
