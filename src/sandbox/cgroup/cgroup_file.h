/* SPDX-License-Identifier: Apache-2.0 */
/* cgroup_file.h - one file of a cgroup directory, written or read: the
 * helpers every backend (and cgroup.c) uses. */
#ifndef AIRLOCK_CGROUP_FILE_H
#define AIRLOCK_CGROUP_FILE_H

#include "airlock/airlock.h"

/* Write value to dir/file in one write(2); the error names the file. */
int al_cgroup_write_file(const char *dir, const char *file, const char *value, airlock_error **err);
/* Find "key N" lines in dir/file (memory.events, memory.stat...); 0 and *out
 * when found, -1 when the file or the key is missing. */
int al_cgroup_read_keyed_counter(const char *dir, const char *file, const char *key, long long *out);

#endif
