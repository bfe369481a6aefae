/* SPDX-License-Identifier: Apache-2.0 */
/* trace.h - launch-path timing.  With AIRLOCK_TRACE=1 in the caller's
 * environment, the launcher and the sandbox's init print how long each step
 * of a launch took (to stderr), which is how the launch path is profiled. */
#ifndef AIRLOCK_TRACE_H
#define AIRLOCK_TRACE_H

#include <stdbool.h>
#include <stdint.h>

extern bool al_trace_enabled;
extern int64_t al_trace_origin_ns;

void al_trace_init(void);
/* async-signal-safe; a no-op unless tracing is on */
void al_trace_step(const char *who, const char *step);

#endif
