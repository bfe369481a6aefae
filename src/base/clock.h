/* SPDX-License-Identifier: Apache-2.0 */
/* clock.h - the two clocks airlock reads: monotonic for timeouts and
 * durations (never jumps), wall for what records and reports show. */
#ifndef AIRLOCK_CLOCK_H
#define AIRLOCK_CLOCK_H

#include <stdint.h>

int64_t al_monotonic_ns(void);
int64_t al_monotonic_us(void);
int64_t al_monotonic_ms(void);
/* milliseconds since the epoch (CLOCK_REALTIME) */
int64_t al_wall_ms(void);

#endif
