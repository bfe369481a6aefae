/* SPDX-License-Identifier: Apache-2.0 */
/* node_log.h - the node's own log (not the audit trail): levels, and one
 * format for the whole process, chosen at start (node_log.c).  Events are a
 * message and a few named fields; callers pass ids, names, numbers and
 * statuses, never a command line, an environment or a token. */
#ifndef AIRLOCK_NODE_LOG_H
#define AIRLOCK_NODE_LOG_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum { AL_LOG_ERROR, AL_LOG_WARN, AL_LOG_INFO, AL_LOG_DEBUG } al_log_level;

/* AUTO: journald's native fields when stderr is the journal (systemd's
 * JOURNAL_STREAM), else TEXT */
typedef enum { AL_LOG_AUTO, AL_LOG_TEXT, AL_LOG_JSON, AL_LOG_JOURNAL } al_log_format;

int al_log_format_parse(const char *s, al_log_format *out, const char *what, airlock_error **err);
int al_log_level_parse(const char *s, al_log_level *out, const char *what, airlock_error **err);
/* once, before anything is logged; without it: text, info */
void al_log_setup(al_log_format format, al_log_level level);
bool al_log_enabled(al_log_level level);
/* the format in use after setup (AUTO resolved) */
al_log_format al_log_format_used(void);

typedef enum { AL_LOG_FIELD_STR, AL_LOG_FIELD_INT } al_log_field_kind;
typedef struct {
  const char *key; /* lower case, [a-z_]: also the journal's AIRLOCK_KEY */
  al_log_field_kind kind;
  const char *str; /* NULL or "": the field is left out */
  long long num;
} al_log_field;
#define AL_LOG_STR(k, v) ((al_log_field){.key = (k), .kind = AL_LOG_FIELD_STR, .str = (v)})
#define AL_LOG_INT(k, v) ((al_log_field){.key = (k), .kind = AL_LOG_FIELD_INT, .num = (long long)(v)})

/* one event: "msg" and its fields; thread-safe (the recorder's threads log) */
void al_log_event(al_log_level level, const char *msg, const al_log_field *fields, size_t n);
#define al_log_fields(level, msg, ...)                                                                                 \
  al_log_event((level), (msg), (const al_log_field[]){__VA_ARGS__},                                                    \
               sizeof((const al_log_field[]){__VA_ARGS__}) / sizeof(al_log_field))
/* a message without fields: what the node said on stderr before */
void al_logf(al_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
