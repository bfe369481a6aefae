/* SPDX-License-Identifier: Apache-2.0 */
/* audit_cmd.c - `airlock audit [verify|prune|head]`: reading, checking and
 * trimming the node's audit trail (src/audit/) in the state directory.
 * Queries print a table for people or JSON lines (--json) for programs.
 * Record fields come from agents (argv, paths), so the table escapes
 * control characters instead of writing them to the terminal.
 * Exit 2: bad usage; 1: the operation failed, or verify found tampering. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "airlock/airlock.h"
#include "clock.h"
#include "audit.h"
#include "cli.h"
#include "statedir.h"
#include "tokens.h"

#define DEFAULT_RETENTION "90d"
#define ARGV_WIDTH 60

enum {
  OPT_STATE_DIR = 256,
  OPT_SINCE,
  OPT_UNTIL,
  OPT_TENANT,
  OPT_ACTION,
  OPT_DECISION,
  OPT_KIND,
  OPT_EXIT,
  OPT_GREP,
  OPT_LIMIT,
  OPT_JSON,
  OPT_EXPECT_HEAD,
  OPT_OLDER_THAN,
  OPT_HELP,
};

static const struct option query_options[] = {
    {"state-dir", required_argument, 0, OPT_STATE_DIR},
    {"since", required_argument, 0, OPT_SINCE},
    {"until", required_argument, 0, OPT_UNTIL},
    {"tenant", required_argument, 0, OPT_TENANT},
    {"action", required_argument, 0, OPT_ACTION},
    {"decision", required_argument, 0, OPT_DECISION},
    {"kind", required_argument, 0, OPT_KIND},
    {"exit", required_argument, 0, OPT_EXIT},
    {"grep", required_argument, 0, OPT_GREP},
    {"limit", required_argument, 0, OPT_LIMIT},
    {"json", no_argument, 0, OPT_JSON},
    CLI_FORMAT_OPTION,
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};
static const struct option verify_options[] = {
    {"state-dir", required_argument, 0, OPT_STATE_DIR},
    {"expect-head", required_argument, 0, OPT_EXPECT_HEAD},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};
static const struct option prune_options[] = {
    {"state-dir", required_argument, 0, OPT_STATE_DIR},
    {"older-than", required_argument, 0, OPT_OLDER_THAN},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};
/* head and redact: nothing but the state directory */
static const struct option state_dir_options[] = {
    {"state-dir", required_argument, 0, OPT_STATE_DIR},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};

static const char *const decisions[] = {"allow", "deny", "approval_required", "approved", "rejected", "timeout"};

static void usage(FILE *out) {
  fprintf(out, "usage: airlock audit [--state-dir DIR] [FILTERS] [--limit N] [--json]\n"
               "       airlock audit verify [--state-dir DIR] [--expect-head SEQ:HASH]\n"
               "       airlock audit prune [--state-dir DIR] [--older-than AGE]\n"
               "       airlock audit head [--state-dir DIR]\n"
               "       airlock audit redact [--state-dir DIR]\n"
               "\n"
               "The node's audit trail (STATE_DIR/audit.db): every exec request and result,\n"
               "approval and file operation, chained by SHA-256 so that changes show.\n"
               "\n"
               "filters (all must match):\n"
               "  --since T, --until T      from T (inclusive), before T (exclusive); T is\n"
               "                            2026-11-22T10:00:00Z, 2026-11-22, epoch ms, or an\n"
               "                            age such as 30m, 2h, 7d (s m h d w)\n"
               "  --tenant NAME             the token's name\n"
               "  --action TYPE             an action type, e.g. code_exec, file_delete\n"
               "  --decision D              allow, deny, approval_required, approved,\n"
               "                            rejected or timeout\n"
               "  --kind K                  exec.request, exec.result, approval.requested, ...\n"
               "  --exit N                  the command's exit code\n"
               "  --grep TEXT               TEXT anywhere in the record (ASCII case-insensitive)\n"
               "  --limit N                 only the newest N (still printed oldest first)\n"
               "  --json                    one JSON record per line instead of a table (also --format json)\n"
               "verify: exit 0 intact, 1 tampered (names the record), 2 usage.\n"
               "  --expect-head SEQ:HASH    also require this head, printed earlier by\n"
               "                            'airlock audit head' and kept elsewhere\n"
               "prune: delete records older than AGE (default " DEFAULT_RETENTION "); the chain keeps an anchor.\n"
               "head: print the newest record's SEQ:HASH.\n"
               "redact: redact every record again with this version's rules (the node does\n"
               "  it at start for a trail written by an older one); the chain is re-hashed\n"
               "  from the first changed record and a record keeps the old head.\n"
               "  --state-dir DIR           default /var/lib/airlock as root, else\n"
               "                            $XDG_STATE_HOME/airlock or ~/.local/state/airlock\n"
               "\n"
               "exit: 0 done, 1 failed or tampered, 2 bad usage.\n");
}

#define fail(code, sub, ...) cli_fail("audit", sub, code, __VA_ARGS__)
#define fail_error(sub, err) cli_fail_error("audit", sub, CLI_EXIT_FAILED, err)
#define bad_option(sub, opt, argv) cli_bad_option("audit", sub, opt, argv)

/* --- times ---------------------------------------------------------------- */

static bool digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

static int num(const char *s, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; i++)
    v = v * 10 + (s[i] - '0');
  return v;
}

static int days_in_month(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

/* 30m, 2h, 7d: milliseconds; -1 when s is not an age */
static int64_t parse_age(const char *s) {
  size_t n = strlen(s);
  if (n < 2 || n > 12 || !digits(s, n - 1))
    return -1;
  int64_t unit;
  switch (s[n - 1]) {
  case 's': unit = 1000; break;
  case 'm': unit = 60 * 1000; break;
  case 'h': unit = 3600 * 1000; break;
  case 'd': unit = 86400 * 1000; break;
  case 'w': unit = 7 * 86400 * 1000; break;
  default: return -1;
  }
  int64_t v = 0;
  for (size_t i = 0; i + 1 < n; i++)
    v = v * 10 + (s[i] - '0');
  if (v > INT64_MAX / unit / 2)
    return -1;
  return v * unit;
}

/* RFC 3339 (2026-11-22T10:00:00Z, fractions, +hh:mm), a date (UTC
 * midnight), epoch milliseconds, or an age before now. */
static int parse_time(const char *s, int64_t now, int64_t *out) {
  int64_t age = parse_age(s);
  if (age >= 0) {
    *out = now - age;
    return 0;
  }
  size_t n = strlen(s);
  /* epoch milliseconds: 10 digits at least, so that a bare year (2026) is
   * refused rather than read as 2 seconds after 1970 */
  if (n >= 10 && n <= 15 && digits(s, n)) {
    *out = strtoll(s, NULL, 10);
    return 0;
  }
  if (n < 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2))
    return -1;
  struct tm tm = {0};
  tm.tm_year = num(s, 4) - 1900;
  tm.tm_mon = num(s + 5, 2) - 1;
  tm.tm_mday = num(s + 8, 2);
  if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
      tm.tm_mday > days_in_month(tm.tm_year + 1900, tm.tm_mon + 1))
    return -1;
  int64_t ms = 0, offset = 0;
  const char *p = s + 10;
  if (*p != '\0') {
    if ((*p != 'T' && *p != 't' && *p != ' ') || !digits(p + 1, 2) || p[3] != ':' || !digits(p + 4, 2) || p[6] != ':' ||
        !digits(p + 7, 2))
      return -1;
    tm.tm_hour = num(p + 1, 2);
    tm.tm_min = num(p + 4, 2);
    tm.tm_sec = num(p + 7, 2);
    if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
      return -1;
    p += 9;
    if (*p == '.') {
      p++;
      size_t f = strspn(p, "0123456789");
      if (f == 0)
        return -1;
      for (size_t i = 0; i < 3; i++)
        ms = ms * 10 + (i < f ? p[i] - '0' : 0);
      p += f;
    }
    if (*p == 'Z' || *p == 'z') {
      p++;
    } else if ((*p == '+' || *p == '-') && digits(p + 1, 2) && p[3] == ':' && digits(p + 4, 2)) {
      int h = num(p + 1, 2), m = num(p + 4, 2);
      if (h > 23 || m > 59)
        return -1;
      offset = (*p == '+' ? 1 : -1) * ((int64_t)h * 3600 + m * 60) * 1000;
      p += 6;
    } else {
      return -1;
    }
    if (*p != '\0')
      return -1;
  }
  time_t t = timegm(&tm);
  if (t == (time_t)-1)
    return -1;
  *out = (int64_t)t * 1000 + ms - offset;
  return 0;
}

static void format_ms(int64_t ms, char *buf, size_t len) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char base[32];
  if (ms < 0 || gmtime_r(&t, &tm) == NULL || strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
    snprintf(buf, len, "-");
  else
    snprintf(buf, len, "%s.%03dZ", base, (int)(ms % 1000));
}

/* --- output ------------------------------------------------------------------ */

static bool needs_quotes(const char *s) {
  if (s[0] == '\0')
    return true;
  for (const char *p = s; *p; p++)
    if (strchr(" \t\n'\"\\$`|&;<>()*?[]{}~#!", *p) != NULL)
      return true;
  return false;
}

/* append s to buf, shell-quoted when needed (and allowed), control bytes as \xNN */
static void append_word(char *buf, size_t cap, size_t *off, const char *s, bool quote) {
  bool q = quote && needs_quotes(s);
#define PUT(c)                                                                                                         \
  do {                                                                                                                 \
    if (*off + 1 < cap)                                                                                                \
      buf[(*off)++] = (c);                                                                                             \
  } while (0)
  if (q)
    PUT('\'');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p < 0x20 || *p == 0x7f) {
      char esc[8];
      snprintf(esc, sizeof(esc), "\\x%02x", *p);
      for (char *e = esc; *e; e++)
        PUT(*e);
    } else if (q && *p == '\'') {
      for (const char *e = "'\\''"; *e; e++)
        PUT(*e);
    } else {
      PUT((char)*p);
    }
  }
  if (q)
    PUT('\'');
#undef PUT
  buf[*off < cap ? *off : cap - 1] = '\0';
}

/* what the record is about, for the last column: its argv, else its path,
 * else its approval (and who answered it) */
static void summary(json_t *rec, char *out, size_t width) {
  char buf[1024];
  size_t off = 0;
  buf[0] = '\0';
  json_t *argv = json_object_get(rec, "argv");
  json_t *path = json_object_get(rec, "path");
  const char *kind = json_string_value(json_object_get(rec, "kind"));
  if (json_is_array(argv)) {
    size_t i;
    json_t *v;
    json_array_foreach(argv, i, v) {
      if (i > 0 && off + 1 < sizeof(buf))
        buf[off++] = ' ', buf[off] = '\0';
      append_word(buf, sizeof(buf), &off, json_is_string(v) ? json_string_value(v) : "?", true);
    }
  } else if (json_is_string(path)) {
    append_word(buf, sizeof(buf), &off, json_string_value(path), true);
  } else if (json_is_string(json_object_get(rec, "approval_id"))) {
    append_word(buf, sizeof(buf), &off, json_string_value(json_object_get(rec, "approval_id")), true);
    json_t *approver = json_object_get(rec, "approver");
    if (json_is_string(approver) && off + 5 < sizeof(buf)) {
      strcpy(buf + off, " by ");
      off += 4;
      append_word(buf, sizeof(buf), &off, json_string_value(approver), true);
    }
  } else if (kind != NULL && strcmp(kind, "prune") == 0) {
    snprintf(buf, sizeof(buf), "through seq %" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT " removed)",
             json_integer_value(json_object_get(rec, "through_seq")),
             json_integer_value(json_object_get(rec, "removed")));
  }
  if (buf[0] == '\0')
    snprintf(buf, sizeof(buf), "-");
  size_t len = strlen(buf);
  if (len > width) {
    /* cut on a UTF-8 character boundary */
    size_t cut = width - 3;
    while (cut > 0 && ((unsigned char)buf[cut] & 0xc0) == 0x80)
      cut--;
    memcpy(buf + cut, "...", 4);
  }
  snprintf(out, width + 4, "%s", buf);
}

static const char *field(json_t *rec, const char *key) {
  const char *s = json_string_value(json_object_get(rec, key));
  return s && *s ? s : "-";
}

/* a field for the table: control characters would reach the terminal */
static void clean_field(const char *s, char *out, size_t len) {
  size_t off = 0;
  out[0] = '\0';
  append_word(out, len, &off, s, false);
}

static void print_header(void) {
  printf("%-24s  %7s  %-18s  %-12s  %-17s  %4s  %s\n", "TIME", "SEQ", "KIND", "TENANT", "DECISION", "EXIT", "ARGV");
}

static int print_row(json_t *rec, bool json) {
  if (json) {
    char *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL)
      return -1;
    int rc = printf("%s\n", text);
    free(text);
    return rc < 0 ? -1 : 0;
  }
  char when[40], exit_code[16], what[ARGV_WIDTH + 4], kind[64], tenant[96], decision[64];
  format_ms((int64_t)json_integer_value(json_object_get(rec, "ts_ms")), when, sizeof(when));
  json_t *ex = json_object_get(rec, "exit_code");
  if (json_is_integer(ex))
    snprintf(exit_code, sizeof(exit_code), "%" JSON_INTEGER_FORMAT, json_integer_value(ex));
  else
    snprintf(exit_code, sizeof(exit_code), "-");
  summary(rec, what, ARGV_WIDTH);
  clean_field(field(rec, "kind"), kind, sizeof(kind));
  clean_field(field(rec, "tenant"), tenant, sizeof(tenant));
  clean_field(field(rec, "decision"), decision, sizeof(decision));
  return printf("%-24s  %7" JSON_INTEGER_FORMAT "  %-18s  %-12s  %-17s  %4s  %s\n", when,
                json_integer_value(json_object_get(rec, "seq")), kind, tenant, decision, exit_code, what) < 0
             ? -1
             : 0;
}

/* --- query ---------------------------------------------------------------------- */

typedef struct {
  bool json;
  json_t *keep; /* with --limit: newest first, printed reversed */
  bool write_failed;
} query_out;

static int on_record(json_t *rec, void *ud) {
  query_out *q = ud;
  if (q->keep != NULL)
    return json_array_append(q->keep, rec) == 0 ? 0 : -1;
  if (print_row(rec, q->json) < 0) {
    q->write_failed = true;
    return -1;
  }
  return 0;
}

static bool word_ok(const char *s) {
  size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-");
  return n >= 1 && n <= 64 && s[n] == '\0';
}

static int query_option(const char *sub, int opt, const char *arg, al_audit_filter *f, int64_t now) {
  char *end = NULL;
  long long v;
  switch (opt) {
  case OPT_SINCE:
  case OPT_UNTIL: {
    int64_t t;
    const char *flag = opt == OPT_SINCE ? "--since" : "--until";
    if (parse_time(arg, now, &t) < 0)
      return fail(CLI_EXIT_USAGE, sub,
                  "%s '%s': use RFC 3339 (2026-11-22T10:00:00Z), a date (2026-11-22), epoch milliseconds, or "
                  "an age such as 30m, 2h, 7d",
                  flag, arg);
    if (t <= 0)
      return fail(CLI_EXIT_USAGE, sub, "%s '%s' is before 1970", flag, arg);
    *(opt == OPT_SINCE ? &f->since_ms : &f->until_ms) = t;
    return 0;
  }
  case OPT_TENANT:
    if (!al_token_name_valid(arg))
      return fail(CLI_EXIT_USAGE, sub, "--tenant '%s': a tenant is a token name, 1 to %d of A-Z a-z 0-9 . _ -", arg,
                  AL_TOKEN_NAME_MAX);
    f->tenant = arg;
    return 0;
  case OPT_ACTION:
    if (!word_ok(arg))
      return fail(CLI_EXIT_USAGE, sub, "--action '%s': an action type is 1 to 64 of a-z 0-9 _ . - (e.g. code_exec)",
                  arg);
    f->action = arg;
    return 0;
  case OPT_KIND:
    if (!word_ok(arg))
      return fail(CLI_EXIT_USAGE, sub, "--kind '%s': a kind is 1 to 64 of a-z 0-9 _ . - (e.g. exec.result)", arg);
    f->kind = arg;
    return 0;
  case OPT_DECISION:
    for (size_t i = 0; i < sizeof(decisions) / sizeof(decisions[0]); i++)
      if (strcmp(arg, decisions[i]) == 0) {
        f->decision = arg;
        return 0;
      }
    return fail(CLI_EXIT_USAGE, sub,
                "--decision '%s': one of allow, deny, approval_required, approved, rejected, timeout", arg);
  case OPT_EXIT:
    errno = 0;
    v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '+' || v < INT_MIN || v > INT_MAX)
      return fail(CLI_EXIT_USAGE, sub, "--exit '%s': an exit code is a whole number such as 0, 1 or 137", arg);
    f->has_exit = true;
    f->exit_code = (int)v;
    return 0;
  case OPT_GREP:
    if (arg[0] == '\0')
      return fail(CLI_EXIT_USAGE, sub, "--grep must not be empty");
    f->text = arg;
    return 0;
  case OPT_LIMIT:
    errno = 0;
    v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '+' || arg[0] == '-' || v < 1 || v > 1000000000)
      return fail(CLI_EXIT_USAGE, sub, "--limit '%s': a whole number from 1", arg);
    f->limit = (size_t)v;
    return 0;
  }
  return CLI_EXIT_USAGE;
}

static int audit_query(int argc, char **argv) {
  const char *sub = NULL, *state_flag = NULL;
  al_audit_filter f = {0};
  query_out q = {0};
  int64_t now = al_wall_ms();
  int opt;
  opterr = 0;
  optind = 0;
  while ((opt = getopt_long(argc, argv, ":h", query_options, NULL)) != -1) {
    switch (opt) {
    case 'h':
    case OPT_HELP: usage(stdout); return CLI_EXIT_OK;
    case OPT_STATE_DIR: state_flag = optarg; break;
    case OPT_JSON: q.json = true; break;
    case CLI_OPT_FORMAT:
      if (cli_format_json("audit", sub, optarg, &q.json) != 0)
        return CLI_EXIT_USAGE;
      break;
    case '?':
    case ':': return bad_option(sub, opt, argv);
    default: {
      int rc = query_option(sub, opt, optarg, &f, now);
      if (rc != 0)
        return rc;
    }
    }
  }
  if (optind < argc)
    return fail(CLI_EXIT_USAGE, sub, "unexpected argument '%s' (subcommands: verify, prune, head, redact)", argv[optind]);
  if (f.since_ms && f.until_ms && f.since_ms >= f.until_ms)
    return fail(CLI_EXIT_USAGE, sub, "--since must be before --until");

  char *dir = NULL;
  int dir_code = cli_state_dir("audit", sub, state_flag, &dir);
  if (dir_code != 0)
    return dir_code;
  airlock_error *err = NULL;
  al_audit *a = NULL;
  int rc = al_audit_open(dir, false, &a, &err);
  free(dir);
  if (rc < 0 && err->errnum != ENOENT)
    return fail_error(sub, &err);
  if (!q.json)
    print_header();
  if (rc < 0) {
    airlock_error_free(&err); /* no trail yet: no records */
    return fflush(stdout) == 0 ? CLI_EXIT_OK : fail(CLI_EXIT_FAILED, sub, "could not write the records");
  }
  if (f.limit) {
    f.newest_first = true;
    q.keep = json_array();
  }
  rc = al_audit_query(a, &f, on_record, &q, &err);
  al_audit_close(a);
  if (rc == 0 && q.keep != NULL)
    for (size_t i = json_array_size(q.keep); i-- > 0 && rc == 0;)
      rc = print_row(json_array_get(q.keep, i), q.json);
  json_decref(q.keep);
  if (q.write_failed || (rc < 0 && err == NULL) || fflush(stdout) != 0) {
    airlock_error_free(&err);
    return fail(CLI_EXIT_FAILED, sub, "could not write the records");
  }
  if (rc < 0)
    return fail_error(sub, &err);
  return CLI_EXIT_OK;
}

/* --- verify ------------------------------------------------------------------------ */

/* a finding, not a failure of airlock: like `policy check`, verify keeps its own code */
#define AUDIT_EXIT_TAMPERED 1

/* no audit.db: fine when nothing says there ever was one */
static int verify_missing_db(const char *sub, const char *dir, bool expect, uint64_t expect_seq) {
  airlock_error *err = NULL;
  uint64_t seq = 0;
  char hash[65];
  int found = al_audit_read_head_file(dir, &seq, hash, &err);
  if (found < 0) {
    fail(AUDIT_EXIT_TAMPERED, sub, "TAMPERED: %s/%s is missing and %s", dir, AL_AUDIT_DB_FILE, err->msg);
    airlock_error_free(&err);
    return AUDIT_EXIT_TAMPERED;
  }
  if (expect && expect_seq > seq)
    seq = expect_seq;
  if (seq > 0)
    return fail(AUDIT_EXIT_TAMPERED, sub,
                "TAMPERED: records 1 to %" PRIu64 ": %s/%s is missing, but the trail reached record %" PRIu64, seq, dir,
                AL_AUDIT_DB_FILE, seq);
  printf("no audit trail in %s yet\n", dir);
  return CLI_EXIT_OK;
}

static int audit_verify(int argc, char **argv) {
  const char *sub = "verify", *state_flag = NULL, *expect_arg = NULL;
  int opt;
  opterr = 0;
  optind = 0;
  while ((opt = getopt_long(argc, argv, ":h", verify_options, NULL)) != -1) {
    switch (opt) {
    case 'h':
    case OPT_HELP: usage(stdout); return CLI_EXIT_OK;
    case OPT_STATE_DIR: state_flag = optarg; break;
    case OPT_EXPECT_HEAD: expect_arg = optarg; break;
    default: return bad_option(sub, opt, argv);
    }
  }
  if (optind < argc)
    return fail(CLI_EXIT_USAGE, sub, "unexpected argument '%s'", argv[optind]);
  uint64_t expect_seq = 0;
  char expect_hash[65];
  if (expect_arg != NULL && al_audit_parse_head(expect_arg, &expect_seq, expect_hash) < 0)
    return fail(CLI_EXIT_USAGE, sub, "--expect-head '%s': use SEQ:HASH as printed by 'airlock audit head'", expect_arg);

  char *dir = NULL;
  int dir_code = cli_state_dir("audit", sub, state_flag, &dir);
  if (dir_code != 0)
    return dir_code;
  airlock_error *err = NULL;
  al_audit *a = NULL;
  int rc = al_audit_open(dir, false, &a, &err);
  if (rc < 0 && err->errnum == ENOENT) {
    airlock_error_free(&err);
    rc = verify_missing_db(sub, dir, expect_arg != NULL, expect_seq);
    free(dir);
    return rc;
  }
  free(dir);
  if (rc < 0)
    return fail_error(sub, &err);
  al_audit_verify_result r;
  rc = al_audit_verify_expect(a, expect_seq, expect_arg ? expect_hash : NULL, &r, &err);
  al_audit_close(a);
  if (rc < 0)
    return fail_error(sub, &err);
  if (rc > 0)
    return fail(AUDIT_EXIT_TAMPERED, sub, "TAMPERED: %s", r.problem);
  if (r.checked == 0)
    printf("audit trail intact: no records");
  else
    printf("audit trail intact: %" PRIu64 " records, seq %" PRIu64 "..%" PRIu64, r.checked, r.first_seq, r.last_seq);
  if (r.anchor_seq > 0)
    printf(" (records up to %" PRIu64 " pruned)", r.anchor_seq);
  printf("; head %" PRIu64 ":%s\n", r.checked ? r.last_seq : r.anchor_seq, r.head_hash);
  if (expect_arg != NULL)
    printf("expected head %" PRIu64 " found in the chain\n", expect_seq);
  return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

/* --- prune ----------------------------------------------------------------------- */

static int audit_prune(int argc, char **argv) {
  const char *sub = "prune", *state_flag = NULL, *older = DEFAULT_RETENTION;
  int opt;
  opterr = 0;
  optind = 0;
  while ((opt = getopt_long(argc, argv, ":h", prune_options, NULL)) != -1) {
    switch (opt) {
    case 'h':
    case OPT_HELP: usage(stdout); return CLI_EXIT_OK;
    case OPT_STATE_DIR: state_flag = optarg; break;
    case OPT_OLDER_THAN: older = optarg; break;
    default: return bad_option(sub, opt, argv);
    }
  }
  if (optind < argc)
    return fail(CLI_EXIT_USAGE, sub, "unexpected argument '%s'", argv[optind]);
  int64_t now = al_wall_ms(), cutoff;
  if (parse_time(older, now, &cutoff) < 0)
    return fail(CLI_EXIT_USAGE, sub, "--older-than '%s': use an age such as 90d, 12h or 2w (or a date: 2026-01-01)",
                older);
  if (cutoff > now)
    return fail(CLI_EXIT_USAGE, sub, "--older-than '%s' is in the future: that would prune every record", older);

  char *dir = NULL;
  int dir_code = cli_state_dir("audit", sub, state_flag, &dir);
  if (dir_code != 0)
    return dir_code;
  airlock_error *err = NULL;
  al_audit *a = NULL;
  int rc = al_audit_open(dir, false, &a, &err);
  free(dir);
  if (rc < 0 && err->errnum == ENOENT) {
    airlock_error_free(&err);
    printf("nothing to prune: no audit trail yet\n");
    return CLI_EXIT_OK;
  }
  if (rc < 0)
    return fail_error(sub, &err);
  uint64_t removed = 0, seq = 0;
  char hash[65];
  rc = al_audit_prune(a, cutoff, &removed, &err);
  if (rc == 0 && removed > 0)
    rc = al_audit_head(a, &seq, hash, &err);
  al_audit_close(a);
  if (rc < 0)
    return fail_error(sub, &err);
  char when[40];
  format_ms(cutoff, when, sizeof(when));
  if (removed == 0)
    printf("nothing to prune: no record older than %s\n", when);
  else
    printf("pruned %" PRIu64 " records older than %s; prune record %" PRIu64 ", new head %" PRIu64 ":%s\n", removed,
           when, seq, seq, hash);
  return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

/* The options of head and redact, then the trail opened: -1 with *a set
 * to go on; otherwise the exit code (help, a bad flag, an error; with
 * missing_ok, no trail yet sets *missing and gives CLI_EXIT_OK). */
static int open_trail_only(const char *sub, int argc, char **argv, bool missing_ok, al_audit **a, bool *missing) {
  const char *state_flag = NULL;
  int opt;
  *a = NULL;
  *missing = false;
  opterr = 0;
  optind = 0;
  while ((opt = getopt_long(argc, argv, ":h", state_dir_options, NULL)) != -1) {
    switch (opt) {
    case 'h':
    case OPT_HELP: usage(stdout); return CLI_EXIT_OK;
    case OPT_STATE_DIR: state_flag = optarg; break;
    default: return bad_option(sub, opt, argv);
    }
  }
  if (optind < argc)
    return fail(CLI_EXIT_USAGE, sub, "unexpected argument '%s'", argv[optind]);
  char *dir = NULL;
  int dir_code = cli_state_dir("audit", sub, state_flag, &dir);
  if (dir_code != 0)
    return dir_code;
  airlock_error *err = NULL;
  int rc = al_audit_open(dir, false, a, &err);
  free(dir);
  if (rc < 0 && missing_ok && err->errnum == ENOENT) {
    airlock_error_free(&err);
    *missing = true;
    return CLI_EXIT_OK;
  }
  if (rc < 0)
    return fail_error(sub, &err);
  return -1;
}

/* --- redact ---------------------------------------------------------------------- */

static int audit_redact(int argc, char **argv) {
  const char *sub = "redact";
  al_audit *a = NULL;
  bool missing = false;
  int code = open_trail_only(sub, argc, argv, true, &a, &missing);
  if (code >= 0) {
    if (missing)
      printf("nothing to redact: no audit trail yet\n");
    return code;
  }
  airlock_error *err = NULL;
  al_audit_redact_result r;
  int rc = al_audit_redact_existing(a, true, &r, &err);
  al_audit_close(a);
  if (rc < 0)
    return fail_error(sub, &err);
  if (r.changed == 0)
    printf("nothing to redact: %" PRIu64 " records checked\n", r.checked);
  else
    printf("redacted %" PRIu64 " of %" PRIu64 " records; chain re-hashed from record %" PRIu64
           "; old head %" PRIu64 ":%s kept in record %" PRIu64 "\n",
           r.changed, r.checked, r.from_seq, r.old_head_seq, r.old_head, r.record_seq);
  return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

/* --- head ------------------------------------------------------------------------ */

static int audit_head(int argc, char **argv) {
  const char *sub = "head";
  al_audit *a = NULL;
  bool missing = false;
  int code = open_trail_only(sub, argc, argv, false, &a, &missing);
  if (code >= 0)
    return code;
  airlock_error *err = NULL;
  uint64_t seq;
  char hash[65];
  int rc = al_audit_head(a, &seq, hash, &err);
  al_audit_close(a);
  if (rc < 0)
    return fail_error(sub, &err);
  printf("%" PRIu64 ":%s\n", seq, hash);
  return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

int cli_audit(int argc, char **argv) {
  if (argc >= 2) {
    const char *sub = argv[1];
    if (strcmp(sub, "verify") == 0)
      return audit_verify(argc - 1, argv + 1);
    if (strcmp(sub, "prune") == 0)
      return audit_prune(argc - 1, argv + 1);
    if (strcmp(sub, "head") == 0)
      return audit_head(argc - 1, argv + 1);
    if (strcmp(sub, "redact") == 0)
      return audit_redact(argc - 1, argv + 1);
    if (strcmp(sub, "help") == 0) {
      usage(stdout);
      return CLI_EXIT_OK;
    }
    if (sub[0] != '-')
      return fail(CLI_EXIT_USAGE, NULL, "unknown subcommand '%s': verify, prune, head or redact (or query flags)", sub);
  }
  return audit_query(argc, argv);
}
