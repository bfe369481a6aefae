/* SPDX-License-Identifier: Apache-2.0 */
/* node_log.c - the node's log lines.  Three ways out, one per process:
 *   text     "airlock node: MESSAGE key=value ...", the human lines of before
 *   json     one object a line: ts, level, msg, then the event's fields
 *   journal  sd_journal_sendv() with PRIORITY= and AIRLOCK_<KEY>= fields,
 *            chosen by default when stderr is the journal: systemd sets
 *            JOURNAL_STREAM to the device and inode of that stream, which is
 *            its documented way to tell (a child's stderr redirected
 *            elsewhere no longer matches)
 * Messages and values are made safe for one line: control characters are
 * escaped, so nothing that reaches a log (an error text, a path) can forge
 * a second line. */
#define _GNU_SOURCE
#include "node_log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

static al_log_format log_format = AL_LOG_TEXT;
static al_log_level log_level = AL_LOG_INFO;

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static const char *const level_names[] = {"error", "warn", "info", "debug"};
/* syslog priorities: err, warning, info, debug */
static const int level_priority[] = {3, 4, 6, 7};

int al_log_format_parse(const char *s, al_log_format *out, const char *what, airlock_error **err) {
  static const char *const names[] = {"auto", "text", "json", "journal"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (s && strcmp(s, names[i]) == 0) {
      *out = (al_log_format)i;
      return 0;
    }
  return al_err(err, 0, "%s must be text, json, journal or auto, not '%s'", what, s ? s : "");
}

int al_log_level_parse(const char *s, al_log_level *out, const char *what, airlock_error **err) {
  for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
    if (s && strcmp(s, level_names[i]) == 0) {
      *out = (al_log_level)i;
      return 0;
    }
  return al_err(err, 0, "%s must be error, warn, info or debug, not '%s'", what, s ? s : "");
}

static bool stderr_is_journal(void) {
  const char *js = getenv("JOURNAL_STREAM");
  unsigned long long dev, ino;
  struct stat st;
  if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
    return false;
  return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void al_log_setup(al_log_format format, al_log_level level) {
  log_level = level;
  log_format = format != AL_LOG_AUTO ? format : stderr_is_journal() ? AL_LOG_JOURNAL : AL_LOG_TEXT;
  /* sd_journal_sendv() drops messages silently when there is no journal:
   * asked for one that is not there, the lines go to stderr instead */
  if (log_format == AL_LOG_JOURNAL && access(JOURNAL_SOCKET, W_OK) != 0) {
    log_format = AL_LOG_TEXT;
    al_logf(AL_LOG_WARN, "log format journal: no journal at %s; logging text to stderr", JOURNAL_SOCKET);
  }
}

bool al_log_enabled(al_log_level level) { return level <= log_level; }

al_log_format al_log_format_used(void) { return log_format; }

/* --- one line ------------------------------------------------------------- */

typedef struct {
  char *buf;
  size_t len;
  FILE *f;
} line_buf;

/* s with control characters as \xNN, and (quoted) quotes and backslashes
 * escaped; quoted when it is empty or holds a space, '=' or '"' */
static void put_text(FILE *f, const char *s, bool value) {
  bool quote = value && (!*s || strpbrk(s, " =\"\\") != NULL);
  if (quote)
    fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p < 0x20 || *p == 0x7f)
      fprintf(f, "\\x%02x", *p);
    else if (quote && (*p == '"' || *p == '\\'))
      fprintf(f, "\\%c", *p);
    else
      fputc(*p, f);
  }
  if (quote)
    fputc('"', f);
}

/* the message and fields as text, without the "airlock node: " prefix */
static char *text_form(const char *msg, const al_log_field *fields, size_t n) {
  line_buf lb = {0};
  if (!(lb.f = open_memstream(&lb.buf, &lb.len)))
    return NULL;
  put_text(lb.f, msg, false);
  for (size_t i = 0; i < n; i++) {
    if (fields[i].kind == AL_LOG_FIELD_STR && (!fields[i].str || !*fields[i].str))
      continue;
    fprintf(lb.f, " %s=", fields[i].key);
    if (fields[i].kind == AL_LOG_FIELD_INT)
      fprintf(lb.f, "%lld", fields[i].num);
    else
      put_text(lb.f, fields[i].str, true);
  }
  if (fclose(lb.f) != 0) {
    free(lb.buf);
    return NULL;
  }
  return lb.buf;
}

/* a JSON string of s: bytes that are not UTF-8 become '?' */
static json_t *json_text(const char *s) {
  json_t *j = json_string(s);
  if (j)
    return j;
  char *copy = strdup(s);
  if (!copy)
    return NULL;
  for (char *p = copy; *p; p++)
    if ((unsigned char)*p >= 0x80)
      *p = '?';
  j = json_string(copy);
  free(copy);
  return j;
}

static char *json_form(al_log_level level, const char *msg, const al_log_field *fields, size_t n) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct tm tm;
  gmtime_r(&now.tv_sec, &tm);
  char ts[40];
  size_t l = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(ts + l, sizeof(ts) - l, ".%03ldZ", now.tv_nsec / 1000000);
  json_t *o = json_object();
  if (!o)
    return NULL;
  json_object_set_new(o, "ts", json_string(ts));
  json_object_set_new(o, "level", json_string(level_names[level]));
  json_object_set_new(o, "msg", json_text(msg));
  for (size_t i = 0; i < n; i++) {
    if (fields[i].kind == AL_LOG_FIELD_INT)
      json_object_set_new(o, fields[i].key, json_integer(fields[i].num));
    else if (fields[i].str && *fields[i].str)
      json_object_set_new(o, fields[i].key, json_text(fields[i].str));
  }
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

/* the journal's own fields: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and one
 * AIRLOCK_<KEY> per field; -1 when the journal did not take it */
static int journal_send(al_log_level level, const char *text, const al_log_field *fields, size_t n) {
  size_t cap = n + 3, k = 0;
  struct iovec *iov = calloc(cap, sizeof(*iov));
  char **parts = calloc(cap, sizeof(*parts));
  int rc = -1;
  if (!iov || !parts)
    goto out;
  if (asprintf(&parts[k++], "MESSAGE=%s", text) < 0 || asprintf(&parts[k++], "PRIORITY=%d", level_priority[level]) < 0 ||
      asprintf(&parts[k++], "SYSLOG_IDENTIFIER=airlock-node") < 0) {
    parts[--k] = NULL;
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    char key[64];
    size_t j = 0;
    for (const char *c = fields[i].key; *c && j < sizeof(key) - 1; c++)
      key[j++] = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
    key[j] = '\0';
    int r = fields[i].kind == AL_LOG_FIELD_INT ? asprintf(&parts[k], "AIRLOCK_%s=%lld", key, fields[i].num)
            : fields[i].str && *fields[i].str  ? asprintf(&parts[k], "AIRLOCK_%s=%s", key, fields[i].str)
                                               : 0;
    if (r < 0) {
      parts[k] = NULL;
      goto out;
    }
    if (r > 0)
      k++;
  }
  for (size_t i = 0; i < k; i++)
    iov[i] = (struct iovec){.iov_base = parts[i], .iov_len = strlen(parts[i])};
  rc = sd_journal_sendv(iov, (int)k) < 0 ? -1 : 0;
out:
  for (size_t i = 0; parts && i < cap; i++)
    free(parts[i]);
  free(parts);
  free(iov);
  return rc;
}

void al_log_event(al_log_level level, const char *msg, const al_log_field *fields, size_t n) {
  if (!al_log_enabled(level))
    return;
  char *line = NULL;
  if (log_format == AL_LOG_JSON) {
    line = json_form(level, msg, fields, n);
    if (line) {
      fprintf(stderr, "%s\n", line);
      free(line);
      return;
    }
  }
  char *text = text_form(msg, fields, n);
  if (log_format == AL_LOG_JOURNAL && text && journal_send(level, text, fields, n) == 0) {
    free(text);
    return;
  }
  /* text, or what the journal or the JSON encoder did not take */
  fprintf(stderr, "airlock node: %s%s\n", level == AL_LOG_DEBUG ? "debug: " : "", text ? text : msg);
  free(text);
}

void al_logf(al_log_level level, const char *fmt, ...) {
  if (!al_log_enabled(level))
    return;
  char *msg = NULL;
  va_list ap;
  va_start(ap, fmt);
  int r = vasprintf(&msg, fmt, ap);
  va_end(ap);
  al_log_event(level, r < 0 ? fmt : msg, NULL, 0);
  if (r >= 0)
    free(msg);
}
