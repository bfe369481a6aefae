/* SPDX-License-Identifier: Apache-2.0 */
/* log_lines.c - the cost of one node log line (node_log.c) in each format,
 * written to a regular file as stderr: an exec end's eight fields, N times,
 * timed with CLOCK_MONOTONIC around the whole loop.  Not a test; used by
 * bench/node_obs.sh.
 * usage: log-lines FILE [N] */
#define _GNU_SOURCE
#include "node_log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return 2;
  long n = argc > 2 ? strtol(argv[2], NULL, 10) : 200000;
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || n <= 0)
    return 1;
  int out = dup(STDOUT_FILENO);
  dup2(fd, STDERR_FILENO);
  static const struct {
    const char *name;
    al_log_format format;
    al_log_level level;
  } cases[] = {{"json", AL_LOG_JSON, AL_LOG_INFO}, {"text", AL_LOG_TEXT, AL_LOG_INFO}, {"off", AL_LOG_JSON, AL_LOG_ERROR}};
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    al_log_setup(cases[c].format, cases[c].level);
    double t0 = now_s();
    for (long i = 0; i < n; i++)
      al_log_fields(AL_LOG_INFO, "exec end", AL_LOG_STR("tenant", "agent"), AL_LOG_STR("sandbox", "sb_0123456789abcdef"),
                    AL_LOG_STR("exec", "ex_0123456789abcdef"), AL_LOG_STR("decision", "allow"),
                    AL_LOG_STR("outcome", "ok"), AL_LOG_INT("exit", 0), AL_LOG_INT("signal", 0),
                    AL_LOG_INT("duration_ms", i % 1000), AL_LOG_STR("kill_reason", NULL));
    fflush(stderr);
    dprintf(out, "%s: %.2f us per line\n", cases[c].name, (now_s() - t0) / (double)n * 1e6);
  }
  return 0;
}
