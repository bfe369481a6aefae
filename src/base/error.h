/* SPDX-License-Identifier: Apache-2.0 */
/* error.h - building airlock_error values.  Every failure is turned into a
 * message at the place that knows what was being attempted, then travels
 * up unchanged (or with context prepended) to the front end. */
#ifndef AIRLOCK_ERROR_H
#define AIRLOCK_ERROR_H

#include "airlock/airlock.h"

/* Set *err (if err is not NULL and *err unset) and return -1.  With errnum
 * != 0 the strerror text is appended: "what: strerror".  When memory runs
 * out *err is a shared "out of memory" error: a failure always has one. */
int al_err(airlock_error **err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prepend "context: " to an existing error; returns -1. */
int al_err_prefix(airlock_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define _cleanup_error_ __attribute__((cleanup(airlock_error_free)))

#endif
