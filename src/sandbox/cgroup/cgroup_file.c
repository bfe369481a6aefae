/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup_file.c - reading and writing one cgroup file (see cgroup_file.h).
 * Apart from cgroup.c so that the backends use it without calling back into
 * the code that calls them. */
#define _GNU_SOURCE
#include "cgroup_file.h"
#include "cleanup.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int al_cgroup_write_file(const char *dir, const char *file, const char *value, airlock_error **err) {
  char p[4096];
  snprintf(p, sizeof(p), "%s/%s", dir, file);
  _cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return al_err(err, errno, "open %s", p);
  size_t n = strlen(value);
  if (write(fd, value, n) != (ssize_t)n)
    return al_err(err, errno, "write '%s' to %s", value, p);
  return 0;
}

int al_cgroup_read_keyed_counter(const char *dir, const char *file, const char *key, long long *out) {
  char p[4096];
  snprintf(p, sizeof(p), "%s/%s", dir, file);
  _cleanup_fclose_ FILE *f = fopen(p, "re");
  if (!f)
    return -1;
  char k[64];
  long long v;
  while (fscanf(f, "%63s %lld", k, &v) == 2) {
    if (strcmp(k, key) == 0) {
      *out = v;
      return 0;
    }
  }
  return -1;
}
