/* SPDX-License-Identifier: Apache-2.0 */
/* token_cmd.c - `airlock token create|list|revoke`: the node's tenants, kept
 * in the state directory's token store (src/store/tokens.c).  A new token is
 * printed once, alone on stdout, so that scripts can capture it; nothing
 * here ever prints a hash.  Exit 2: bad usage; 1: the operation failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "airlock/airlock.h"
#include "cli.h"
#include "statedir.h"
#include "tokens.h"

enum {
  OPT_NAME = 256,
  OPT_STATE_DIR,
  OPT_MAX_CONCURRENT,
  OPT_MAX_MEMORY,
  OPT_MAX_CPUS,
  OPT_MAX_TIMEOUT,
  OPT_JSON,
  OPT_HELP,
};

static const struct option create_options[] = {
    {"name", required_argument, 0, OPT_NAME},
    {"state-dir", required_argument, 0, OPT_STATE_DIR},
    {"max-concurrent", required_argument, 0, OPT_MAX_CONCURRENT},
    {"max-memory", required_argument, 0, OPT_MAX_MEMORY},
    {"max-cpus", required_argument, 0, OPT_MAX_CPUS},
    {"max-timeout", required_argument, 0, OPT_MAX_TIMEOUT},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};

static const struct option list_options[] = {
    {"state-dir", required_argument, 0, OPT_STATE_DIR},
    {"json", no_argument, 0, OPT_JSON},
    CLI_FORMAT_OPTION,
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};

static const struct option revoke_options[] = {
    {"state-dir", required_argument, 0, OPT_STATE_DIR},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};

static void usage(FILE *out) {
  fprintf(out, "usage: airlock token create --name NAME [--state-dir DIR] [LIMITS]\n"
               "       airlock token list [--state-dir DIR] [--json]\n"
               "       airlock token revoke NAME [--state-dir DIR]\n"
               "\n"
               "Node tokens: each token is a tenant of 'airlock node'.  create prints the new\n"
               "token once (only its SHA-256 is stored); revoke takes effect at once.\n"
               "\n"
               "  --name NAME               1 to 64 of A-Z a-z 0-9 . _ -; never reused\n"
               "  --state-dir DIR           default /var/lib/airlock as root, else\n"
               "                            $XDG_STATE_HOME/airlock or ~/.local/state/airlock\n"
               "limits (default: the node's own maxima):\n"
               "  --max-concurrent N        execs running at once\n"
               "  --max-memory SIZE         memory per sandbox, e.g. 512m\n"
               "  --max-cpus N              CPUs per sandbox, e.g. 1.5\n"
               "  --max-timeout SECONDS     wall-clock limit per exec\n"
               "  --json                    list: JSON instead of a table (also --format table|json)\n"
               "\n"
               "exit: 0 done, 1 the operation failed, 2 bad usage.\n");
}

#define fail(code, sub, ...) cli_fail("token", sub, code, __VA_ARGS__)
#define fail_error(sub, err) cli_fail_error("token", sub, CLI_EXIT_FAILED, err)
#define bad_option(sub, opt, argv) cli_bad_option("token", sub, opt, argv)

static int parse_count(const char *s, long long hi, long long *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-' || s[0] == '+' || v < 1 || v > hi)
    return -1;
  *out = v;
  return 0;
}

/* --- create --------------------------------------------------------------- */

static int create_limit(const char *sub, int opt, const char *arg, al_token_limits *limits) {
  airlock_error *err = NULL;
  long long n;
  double d;
  switch (opt) {
  case OPT_MAX_CONCURRENT:
    if (parse_count(arg, INT32_MAX, &n) < 0)
      return fail(CLI_EXIT_USAGE, sub, "--max-concurrent must be a whole number from 1, not '%s'", arg);
    limits->max_concurrent_execs = n;
    return 0;
  case OPT_MAX_MEMORY:
    if (airlock_parse_size(arg, &limits->max_memory_bytes, &err) < 0) {
      fail(CLI_EXIT_USAGE, sub, "--max-memory: %s", err->msg);
      airlock_error_free(&err);
      return CLI_EXIT_USAGE;
    }
    if (limits->max_memory_bytes <= 0)
      return fail(CLI_EXIT_USAGE, sub, "--max-memory must be more than 0, not '%s'", arg);
    return 0;
  case OPT_MAX_CPUS:
    if (airlock_parse_decimal(arg, &d) < 0 || !(d > 0))
      return fail(CLI_EXIT_USAGE, sub, "--max-cpus must be a number above 0 such as 0.5 or 2, not '%s'", arg);
    limits->max_cpus = d;
    return 0;
  case OPT_MAX_TIMEOUT:
    if (airlock_parse_decimal(arg, &d) < 0 || !(d > 0))
      return fail(CLI_EXIT_USAGE, sub, "--max-timeout must be a positive number of seconds, not '%s'", arg);
    if (d > 9e12)
      return fail(CLI_EXIT_USAGE, sub, "--max-timeout '%s' is too large", arg);
    limits->max_timeout_ms = (int64_t)(d * 1000 + 0.5); /* d > 0: rounds to nearest */
    if (limits->max_timeout_ms < 1)
      return fail(CLI_EXIT_USAGE, sub, "--max-timeout must be at least 0.001 seconds, not '%s'", arg);
    return 0;
  default: return CLI_EXIT_USAGE;
  }
}

static int token_create(int argc, char **argv) {
  const char *sub = "create";
  const char *name = NULL, *state_flag = NULL;
  al_token_limits limits = {0};
  int opt;
  opterr = 0;
  optind = 0;
  while ((opt = getopt_long(argc, argv, ":h", create_options, NULL)) != -1) {
    switch (opt) {
    case 'h':
    case OPT_HELP: usage(stdout); return CLI_EXIT_OK;
    case OPT_NAME: name = optarg; break;
    case OPT_STATE_DIR: state_flag = optarg; break;
    case '?':
    case ':': return bad_option(sub, opt, argv);
    default: {
      int rc = create_limit(sub, opt, optarg, &limits);
      if (rc != 0)
        return rc;
    }
    }
  }
  if (optind < argc)
    return fail(CLI_EXIT_USAGE, sub, "unexpected argument '%s' (the name goes in --name)", argv[optind]);
  if (name == NULL)
    return fail(CLI_EXIT_USAGE, sub, "--name NAME is required");
  if (!al_token_name_valid(name))
    return fail(CLI_EXIT_USAGE, sub, "invalid name '%s': use 1 to %d of A-Z a-z 0-9 . _ -", name, AL_TOKEN_NAME_MAX);

  char *dir = NULL;
  int dir_code = cli_state_dir("token", sub, state_flag, &dir);
  if (dir_code != 0)
    return dir_code;
  airlock_error *err = NULL;
  al_token_store *store = NULL;
  int rc = al_token_store_open(dir, true, &store, &err);
  free(dir);
  if (rc < 0)
    return fail_error(sub, &err);
  char *token = NULL;
  rc = al_token_create(store, name, &limits, &token, &err);
  al_token_store_close(store);
  if (rc < 0)
    return fail_error(sub, &err);

  bool written = printf("%s\n", token) >= 0 && fflush(stdout) == 0;
  explicit_bzero(token, strlen(token));
  free(token);
  if (!written)
    return fail(CLI_EXIT_FAILED, sub, "could not write the token to stdout; it is lost: 'airlock token revoke %s'",
                name);
  fprintf(stderr, "airlock token: token '%s' created; it is shown only this once (the node keeps only its hash)\n",
          name);
  return CLI_EXIT_OK;
}

/* --- list ----------------------------------------------------------------- */

static void format_time(int64_t t, char *buf, size_t len) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (t <= 0 || gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(buf, len, "-");
}

static void format_size(int64_t bytes, char *buf, size_t len) {
  static const char units[] = "tgmk";
  for (int i = 0; i < 4; i++) {
    int64_t m = (int64_t)1 << (10 * (4 - i));
    if (bytes % m == 0) {
      snprintf(buf, len, "%" PRId64 "%c", bytes / m, units[i]);
      return;
    }
  }
  snprintf(buf, len, "%" PRId64, bytes);
}

static void format_limits(const al_token_limits *l, char *buf, size_t len) {
  size_t off = 0;
  buf[0] = '\0';
#define APPEND(...) off += (size_t)snprintf(buf + off, off < len ? len - off : 0, __VA_ARGS__)
  if (l->max_concurrent_execs > 0)
    APPEND("%sconcurrent=%" PRId64, off ? " " : "", l->max_concurrent_execs);
  if (l->max_memory_bytes > 0) {
    char size[32];
    format_size(l->max_memory_bytes, size, sizeof(size));
    APPEND("%smemory=%s", off ? " " : "", size);
  }
  if (l->max_cpus > 0)
    APPEND("%scpus=%g", off ? " " : "", l->max_cpus);
  if (l->max_timeout_ms > 0)
    APPEND("%stimeout=%gs", off ? " " : "", (double)l->max_timeout_ms / 1000);
#undef APPEND
  if (off == 0)
    snprintf(buf, len, "-");
}

static void print_table(const al_token_info *list, size_t n) {
  int width = 4;
  for (size_t i = 0; i < n; i++) {
    int w = (int)strlen(list[i].name);
    width = w > width ? w : width;
  }
  printf("%-*s  %-20s  %-20s  %s\n", width, "NAME", "CREATED", "REVOKED", "LIMITS");
  for (size_t i = 0; i < n; i++) {
    char created[32], revoked[32], limits[160];
    format_time(list[i].created_at, created, sizeof(created));
    format_time(list[i].revoked_at, revoked, sizeof(revoked));
    format_limits(&list[i].limits, limits, sizeof(limits));
    printf("%-*s  %-20s  %-20s  %s\n", width, list[i].name, created, revoked, limits);
  }
}

static json_t *limit_json(int64_t v) { return v > 0 ? json_integer((json_int_t)v) : json_null(); }

static int print_json(const al_token_info *list, size_t n) {
  json_t *root = json_array();
  for (size_t i = 0; root != NULL && i < n; i++) {
    const al_token_limits *l = &list[i].limits;
    json_t *limits = json_pack("{s:o, s:o, s:o, s:o}", "max_concurrent_execs", limit_json(l->max_concurrent_execs),
                               "max_memory_bytes", limit_json(l->max_memory_bytes), "max_cpus",
                               l->max_cpus > 0 ? json_real(l->max_cpus) : json_null(), "max_timeout_ms",
                               limit_json(l->max_timeout_ms));
    json_t *item =
        json_pack("{s:s, s:I, s:o, s:b, s:o}", "name", list[i].name, "created_at", (json_int_t)list[i].created_at,
                  "revoked_at", list[i].revoked_at > 0 ? json_integer((json_int_t)list[i].revoked_at) : json_null(),
                  "revoked", list[i].revoked_at > 0, "limits", limits);
    if (item == NULL || json_array_append_new(root, item) < 0) {
      json_decref(root);
      root = NULL;
    }
  }
  char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(root);
  if (text == NULL)
    return -1;
  printf("%s\n", text);
  free(text);
  return 0;
}

static int token_list(int argc, char **argv) {
  const char *sub = "list";
  const char *state_flag = NULL;
  bool json = false;
  int opt;
  opterr = 0;
  optind = 0;
  while ((opt = getopt_long(argc, argv, ":h", list_options, NULL)) != -1) {
    switch (opt) {
    case 'h':
    case OPT_HELP: usage(stdout); return CLI_EXIT_OK;
    case OPT_STATE_DIR: state_flag = optarg; break;
    case OPT_JSON: json = true; break;
    case CLI_OPT_FORMAT:
      if (cli_format_json("token", sub, optarg, &json) != 0)
        return CLI_EXIT_USAGE;
      break;
    default: return bad_option(sub, opt, argv);
    }
  }
  if (optind < argc)
    return fail(CLI_EXIT_USAGE, sub, "unexpected argument '%s'", argv[optind]);

  char *dir = NULL;
  int dir_code = cli_state_dir("token", sub, state_flag, &dir);
  if (dir_code != 0)
    return dir_code;
  airlock_error *err = NULL;
  al_token_store *store = NULL;
  al_token_info *list = NULL;
  size_t n = 0;
  int rc = al_token_store_open(dir, false, &store, &err);
  free(dir);
  if (rc < 0 && err->errnum == ENOENT) {
    airlock_error_free(&err); /* no state yet: no tokens */
    rc = 0;
  } else if (rc < 0) {
    return fail_error(sub, &err);
  } else {
    rc = al_token_list(store, &list, &n, &err);
    al_token_store_close(store);
    if (rc < 0)
      return fail_error(sub, &err);
  }
  if (json)
    rc = print_json(list, n);
  else
    print_table(list, n);
  free(list);
  if (rc < 0 || fflush(stdout) != 0)
    return fail(CLI_EXIT_FAILED, sub, "could not write the list");
  return CLI_EXIT_OK;
}

/* --- revoke --------------------------------------------------------------- */

static int token_revoke(int argc, char **argv) {
  const char *sub = "revoke";
  const char *state_flag = NULL;
  int opt;
  opterr = 0;
  optind = 0;
  while ((opt = getopt_long(argc, argv, ":h", revoke_options, NULL)) != -1) {
    switch (opt) {
    case 'h':
    case OPT_HELP: usage(stdout); return CLI_EXIT_OK;
    case OPT_STATE_DIR: state_flag = optarg; break;
    default: return bad_option(sub, opt, argv);
    }
  }
  if (optind >= argc)
    return fail(CLI_EXIT_USAGE, sub, "which token? airlock token revoke NAME");
  if (argc - optind > 1)
    return fail(CLI_EXIT_USAGE, sub, "one name at a time, not '%s' and '%s'", argv[optind], argv[optind + 1]);
  const char *name = argv[optind];
  if (!al_token_name_valid(name))
    return fail(CLI_EXIT_USAGE, sub, "invalid name '%s': use 1 to %d of A-Z a-z 0-9 . _ -", name, AL_TOKEN_NAME_MAX);

  char *dir = NULL;
  int dir_code = cli_state_dir("token", sub, state_flag, &dir);
  if (dir_code != 0)
    return dir_code;
  airlock_error *err = NULL;
  al_token_store *store = NULL;
  int rc = al_token_store_open(dir, false, &store, &err);
  if (rc < 0 && err->errnum == ENOENT) {
    airlock_error_free(&err);
    fail(CLI_EXIT_FAILED, sub, "no token named '%s' (no token database in %s)", name, dir);
    free(dir);
    return CLI_EXIT_FAILED;
  }
  free(dir);
  if (rc < 0)
    return fail_error(sub, &err);
  rc = al_token_revoke(store, name, &err);
  al_token_store_close(store);
  if (rc < 0)
    return fail_error(sub, &err);
  printf("token '%s' revoked\n", name);
  return CLI_EXIT_OK;
}

int cli_token(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  const char *sub = argv[1];
  if (strcmp(sub, "create") == 0)
    return token_create(argc - 1, argv + 1);
  if (strcmp(sub, "list") == 0)
    return token_list(argc - 1, argv + 1);
  if (strcmp(sub, "revoke") == 0)
    return token_revoke(argc - 1, argv + 1);
  if (strcmp(sub, "help") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
    usage(stdout);
    return CLI_EXIT_OK;
  }
  return fail(CLI_EXIT_USAGE, NULL, "unknown subcommand '%s': create, list or revoke", sub);
}
