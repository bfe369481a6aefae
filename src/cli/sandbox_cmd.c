/* SPDX-License-Identifier: Apache-2.0 */
/* sandbox_cmd.c - `airlock sandbox create|ls|inspect|rm` (the snapshot
 * subcommands are in snapshot_cmd.c) and `airlock logs`:
 * persistent sandboxes of a node, managed the way docker users manage
 * containers, through the node API (POST/GET/DELETE /v1/sandboxes, GET
 * /v1/audit) and the C client; nothing here knows the node's internals. */
#define _GNU_SOURCE
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "airlock/airlock.h"
#include "airlock/client.h"
#include "cleanup.h"
#include "cli.h"

enum {
  OPT_MEMORY = 256,
  OPT_CPUS,
  OPT_PIDS,
  OPT_DISK,
  OPT_WORKSPACE,
  OPT_WORKSPACE_ACCESS,
  OPT_LABEL,
  OPT_IDLE,
  OPT_MAX_AGE,
  OPT_FORMAT,
  OPT_QUIET,
  OPT_LIMIT,
  OPT_ISOLATION,
  OPT_HELP,
};

const struct option cli_sandbox_options[] = {
    CLI_CONN_OPTIONS,
    {"memory", required_argument, 0, 'm'},
    {"cpus", required_argument, 0, OPT_CPUS},
    {"pids", required_argument, 0, OPT_PIDS},
    {"disk", required_argument, 0, OPT_DISK},
    {"volume", required_argument, 0, 'v'},
    {"workspace", required_argument, 0, OPT_WORKSPACE},
    {"workspace-access", required_argument, 0, OPT_WORKSPACE_ACCESS},
    {"label", required_argument, 0, 'l'},
    {"idle-timeout", required_argument, 0, OPT_IDLE},
    {"max-age", required_argument, 0, OPT_MAX_AGE},
    {"isolation", required_argument, 0, OPT_ISOLATION},
    {"format", required_argument, 0, OPT_FORMAT},
    {"quiet", no_argument, 0, 'q'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};
#define SANDBOX_SHORT ":hm:v:l:q"
const char cli_sandbox_short[] = SANDBOX_SHORT;
const char cli_logs_short[] = ":h";

const struct option cli_logs_options[] = {
    CLI_CONN_OPTIONS,
    {"format", required_argument, 0, OPT_FORMAT},
    {"limit", required_argument, 0, OPT_LIMIT},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

static void usage(FILE *out) {
  fprintf(out, "usage: airlock sandbox create [OPTIONS]          print the new sandbox's id\n"
               "       airlock sandbox ls [--format table|json] [-q]\n"
               "       airlock sandbox inspect ID...            the node's JSON\n"
               "       airlock sandbox rm ID...\n"
               "       airlock sandbox snapshot|snapshots|restore|reset|fork|snapshot-rm ...\n"
               "                                                snapshots of a sandbox (see docs/cli.md)\n"
               "\n"
               "create:\n"
               "  -m, --memory SIZE  --cpus N  --pids N  --disk SIZE   limits (default: the node's)\n"
               "  -v, --volume DIR:/workspace[:ro|rw]   host directory of the node as the workspace\n"
               "  --workspace DIR    the same; --workspace-access ro|rw (default rw)\n"
               "                     (DIR is on the node's host, below its workspace_root/TENANT/)\n"
               "  -l, --label K=V    label; repeatable\n"
               "  --idle-timeout SECONDS  --max-age SECONDS   (default: the node's, 900 and 86400)\n"
               "  --isolation namespaces|gvisor|vm   the sandbox's backend (default: the node's)\n"
               "ls:\n"
               "  --format table|json   default table; json prints the node's array\n"
               "  -q, --quiet           ids only\n"
               "node:\n" CLI_CONN_USAGE "\n"
               "exit: 0 done, 125 bad usage, node unreachable or refused (rm: any sandbox not removed).\n");
}

static const char *opt_name(int opt) {
  for (const struct option *o = cli_sandbox_options; o->name; o++)
    if (o->val == opt)
      return o->name;
  return "?";
}

#define fail(sub, ...) cli_fail("sandbox", sub, AIRLOCK_EXIT_SETUP, __VA_ARGS__)

/* what the node hands out ("sb_" and hex); anything else would be a
 * different route, so it is refused here with a clear message */
bool cli_valid_sandbox_id(const char *id) {
  size_t n = strlen(id);
  return n >= 1 && n <= 31 &&
         strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

typedef struct create_opts {
  json_t *body;
  json_t *limits;
  json_t *labels;
} create_opts;

static int parse_seconds(const char *sub, const char *flag, const char *arg, json_int_t *out) {
  char *end = NULL;
  long long v = strtoll(arg, &end, 10);
  if (!*arg || *end || v < 1 || v > 2592000)
    return fail(sub, "%s must be a whole number of seconds from 1 to 2592000, not '%s'", flag, arg);
  *out = v;
  return 0;
}

static int create_option(create_opts *c, int opt, const char *arg) {
  airlock_error *err = NULL;
  int64_t size;
  double d;
  json_int_t secs = 0;
  switch (opt) {
  case 'm':
  case OPT_DISK:
    if (airlock_parse_size(arg, &size, &err) < 0)
      return cli_fail_error("sandbox", "create", AIRLOCK_EXIT_SETUP, &err);
    if (size <= 0)
      return fail("create", "--%s must be above 0", opt == 'm' ? "memory" : "disk");
    json_object_set_new(c->limits, opt == 'm' ? "memory" : "disk", json_integer(size));
    return 0;
  case OPT_CPUS:
    if (airlock_parse_decimal(arg, &d) < 0 || !(d > 0))
      return fail("create", "--cpus must be a positive number such as 0.5 or 2, not '%s'", arg);
    json_object_set_new(c->limits, "cpus", json_real(d));
    return 0;
  case OPT_PIDS: {
    char *end = NULL;
    long long v = strtoll(arg, &end, 10);
    if (!*arg || *end || v < 2 || v > 4194304)
      return fail("create", "--pids must be a whole number from 2 to 4194304, not '%s'", arg);
    json_object_set_new(c->limits, "pids", json_integer(v));
    return 0;
  }
  case 'v': {
    /* docker's SRC:DST[:MODE], where the only target a sandbox has is /workspace */
    _cleanup_free_ char *copy = strdup(arg);
    char *dst = copy ? strchr(copy, ':') : NULL;
    if (dst == NULL)
      return fail("create", "-v '%s': use DIR:/workspace[:ro|rw] (a sandbox mounts one directory, at /workspace)",
                  arg);
    *dst++ = '\0';
    char *mode = strchr(dst, ':');
    if (mode)
      *mode++ = '\0';
    if (strcmp(dst, "/workspace") != 0)
      return fail("create", "-v '%s': the target must be /workspace, not '%s' (a sandbox mounts one directory)", arg,
                  dst);
    if (mode && strcmp(mode, "ro") != 0 && strcmp(mode, "rw") != 0)
      return fail("create", "-v '%s': the mode must be ro or rw, not '%s'", arg, mode);
    if (!*copy)
      return fail("create", "-v '%s': the source directory is empty", arg);
    json_object_set_new(c->body, "workspace", json_string(copy));
    if (mode)
      json_object_set_new(c->body, "workspace_access", json_string(mode));
    return 0;
  }
  case OPT_WORKSPACE:
    if (!*arg)
      return fail("create", "--workspace needs a directory");
    json_object_set_new(c->body, "workspace", json_string(arg));
    return 0;
  case OPT_WORKSPACE_ACCESS:
    if (strcmp(arg, "ro") != 0 && strcmp(arg, "rw") != 0)
      return fail("create", "--workspace-access must be 'ro' or 'rw', not '%s'", arg);
    json_object_set_new(c->body, "workspace_access", json_string(arg));
    return 0;
  case 'l': {
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg)
      return fail("create", "--label '%s': use KEY=VALUE", arg);
    _cleanup_free_ char *key = strndup(arg, (size_t)(eq - arg));
    json_object_set_new(c->labels, key, json_string(eq + 1));
    return 0;
  }
  case OPT_IDLE:
  case OPT_MAX_AGE:
    if (parse_seconds("create", opt == OPT_IDLE ? "--idle-timeout" : "--max-age", arg, &secs) != 0)
      return AIRLOCK_EXIT_SETUP;
    json_object_set_new(c->body, opt == OPT_IDLE ? "idle_timeout_s" : "max_age_s", json_integer(secs));
    return 0;
  case OPT_ISOLATION: {
    airlock_isolation iso;
    if (airlock_parse_isolation(arg, &iso, &err) < 0)
      return cli_fail_error("sandbox", "create", AIRLOCK_EXIT_SETUP, &err);
    json_object_set_new(c->body, "isolation", json_string(arg));
    return 0;
  }
  default: return fail("create", "--%s does not apply to 'sandbox create'", opt_name(opt));
  }
}

static void format_time(json_int_t ms, char *buf, size_t len) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  if (ms <= 0 || gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(buf, len, "-");
}

static void print_table(json_t *arr) {
  printf("%-20s  %-8s  %-20s  %-8s  %-5s  %-5s  %s\n", "ID", "STATE", "CREATED", "MEMORY", "CPUS", "EXECS", "LABELS");
  size_t i;
  json_t *sb;
  json_array_foreach(arr, i, sb) {
    char created[32], mem[32] = "-";
    format_time(json_integer_value(json_object_get(sb, "created_at_ms")), created, sizeof(created));
    json_t *limits = json_object_get(sb, "limits");
    json_int_t m = json_integer_value(json_object_get(limits, "memory"));
    if (m > 0)
      snprintf(mem, sizeof(mem), "%lldm", (long long)(m >> 20));
    printf("%-20s  %-8s  %-20s  %-8s  %-5.2f  %-5lld  ", json_string_value(json_object_get(sb, "id")),
           json_string_value(json_object_get(sb, "state")), created, mem,
           json_number_value(json_object_get(limits, "cpus")),
           (long long)json_integer_value(json_object_get(sb, "execs_running")));
    const char *k;
    json_t *v;
    bool first = true;
    json_object_foreach(json_object_get(sb, "labels"), k, v) {
      printf("%s%s=%s", first ? "" : ",", k, json_string_value(v));
      first = false;
    }
    printf("%s\n", first ? "-" : "");
  }
}

/* GET a path; 0 with *doc, or 125 after saying why */
static int get_json(const char *cmd, const char *sub, airlock_client *client, const char *path, json_t **doc) {
  airlock_error *err = NULL;
  _cleanup_free_ char *resp = NULL;
  long status = 0;
  if (airlock_client_request(client, "GET", path, NULL, 0, &status, &resp, NULL, &err) < 0)
    return cli_fail_error(cmd, sub, AIRLOCK_EXIT_SETUP, &err);
  json_error_t jerr;
  if ((*doc = json_loads(resp ? resp : "", 0, &jerr)) == NULL)
    return cli_fail(cmd, sub, AIRLOCK_EXIT_SETUP, "the node's answer to GET %s is not JSON: %s", path, jerr.text);
  return 0;
}

static int print_json(json_t *doc) {
  char *text = json_dumps(doc, JSON_INDENT(2));
  int rc = text && puts(text) >= 0 ? 0 : AIRLOCK_EXIT_SETUP;
  free(text);
  return rc;
}

static int run_sub(const char *sub, cli_conn *conn, create_opts *c, const char *format, bool quiet, int nargs,
                   char **args) {
  _cleanup_free_ char *body = NULL;
  airlock_client *client = NULL;
  airlock_error *err = NULL;
  int code = cli_conn_open("sandbox", conn, &client);
  if (code != 0)
    return code;
  if (strcmp(sub, "create") == 0) {
    if (json_object_size(c->limits))
      json_object_set(c->body, "limits", c->limits);
    if (json_object_size(c->labels))
      json_object_set(c->body, "labels", c->labels);
    body = json_dumps(c->body, JSON_COMPACT);
    _cleanup_free_ char *id = NULL;
    if (airlock_client_sandbox_create(client, body, &id, &err) < 0)
      code = cli_fail_error("sandbox", sub, AIRLOCK_EXIT_SETUP, &err);
    else
      code = puts(id) >= 0 ? 0 : AIRLOCK_EXIT_SETUP;
  } else if (strcmp(sub, "ls") == 0) {
    json_t *doc = NULL;
    if ((code = get_json("sandbox", sub, client, "/v1/sandboxes", &doc)) == 0) {
      json_t *arr = json_object_get(doc, "sandboxes");
      size_t i;
      json_t *sb;
      if (strcmp(format, "json") == 0)
        code = print_json(arr ? arr : json_array());
      else if (quiet)
        json_array_foreach(arr, i, sb) puts(json_string_value(json_object_get(sb, "id")));
      else
        print_table(arr);
    }
    json_decref(doc);
  } else if (strcmp(sub, "inspect") == 0) {
    json_t *all = json_array();
    for (int i = 0; i < nargs && code == 0; i++) {
      char path[80];
      json_t *doc = NULL;
      snprintf(path, sizeof(path), "/v1/sandboxes/%s", args[i]);
      if ((code = get_json("sandbox", sub, client, path, &doc)) == 0)
        json_array_append_new(all, doc);
    }
    if (code == 0)
      code = print_json(nargs == 1 ? json_array_get(all, 0) : all);
    json_decref(all);
  } else { /* rm: every id is tried; any failure makes the exit 125 */
    for (int i = 0; i < nargs; i++) {
      if (airlock_client_sandbox_destroy(client, args[i], &err) < 0)
        code = cli_fail("sandbox", sub, AIRLOCK_EXIT_SETUP, "%s", err->msg);
      else
        puts(args[i]);
      airlock_error_free(&err);
    }
  }
  airlock_client_close(&client);
  return code;
}

int cli_sandbox(int argc, char **argv) {
  cli_conn conn = {0};
  create_opts c = {.body = json_object(), .limits = json_object(), .labels = json_object()};
  const char *format = "table";
  bool quiet = false;
  int code = AIRLOCK_EXIT_SETUP;
  const char *sub = argc > 1 ? argv[1] : NULL;
  if (sub && (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0)) {
    usage(stdout);
    code = 0;
    goto out;
  }
  if (sub == NULL) {
    fail(NULL, "missing subcommand: create, ls, inspect or rm (see 'airlock sandbox --help')");
    goto out;
  }
  if (strcmp(sub, "list") == 0 || strcmp(sub, "ps") == 0)
    sub = "ls";
  else if (strcmp(sub, "remove") == 0 || strcmp(sub, "destroy") == 0)
    sub = "rm";
  static const char *const snapshot_subs[] = {"snapshot", "snapshots", "restore", "reset", "fork", "snapshot-rm"};
  for (size_t i = 0; i < AL_ARRAY_SIZE(snapshot_subs); i++)
    if (strcmp(sub, snapshot_subs[i]) == 0) {
      code = cli_sandbox_snapshot(sub, argc, argv);
      goto out;
    }
  if (strcmp(sub, "create") != 0 && strcmp(sub, "ls") != 0 && strcmp(sub, "inspect") != 0 && strcmp(sub, "rm") != 0) {
    fail(NULL, "unknown subcommand '%s': create, ls, inspect, rm, snapshot, snapshots, restore, reset, fork or "
               "snapshot-rm",
         sub);
    goto out;
  }
  optind = 0;
  opterr = 0;
  int opt;
  /* GNU getopt permutes: options may come before or after the ids */
  while ((opt = getopt_long(argc - 1, argv + 1, SANDBOX_SHORT, cli_sandbox_options, NULL)) != -1) {
    if (opt == 'h') {
      usage(stdout);
      code = 0;
      goto out;
    }
    if (opt == '?' || opt == ':') {
      code = cli_bad_option("sandbox", sub, opt, argv + 1);
      goto out;
    }
    if (cli_conn_option(&conn, opt, optarg))
      continue;
    if (opt == OPT_FORMAT) {
      if (strcmp(optarg, "table") != 0 && strcmp(optarg, "json") != 0) {
        fail(sub, "--format must be 'table' or 'json', not '%s'", optarg);
        goto out;
      }
      format = optarg;
      continue;
    }
    if (opt == 'q') {
      quiet = true;
      continue;
    }
    if (strcmp(sub, "create") != 0) {
      fail(sub, "--%s goes with 'sandbox create'", opt_name(opt));
      goto out;
    }
    if ((code = create_option(&c, opt, optarg)) != 0)
      goto out;
  }
  code = AIRLOCK_EXIT_SETUP;
  int nargs = argc - 1 - optind;
  char **args = argv + 1 + optind;
  bool takes_ids = strcmp(sub, "inspect") == 0 || strcmp(sub, "rm") == 0;
  if (!takes_ids && nargs > 0) {
    fail(sub, "unexpected argument '%s'", args[0]);
    goto out;
  }
  if (takes_ids && nargs == 0) {
    fail(sub, "which sandbox? airlock sandbox %s ID... (ids from 'airlock sandbox ls')", sub);
    goto out;
  }
  for (int i = 0; i < nargs; i++)
    if (!cli_valid_sandbox_id(args[i])) {
      fail(sub, "'%s' is not a sandbox id (sb_ and 16 hex digits, from 'airlock sandbox ls')", args[i]);
      goto out;
    }
  if ((strcmp(format, "json") == 0 || quiet) && strcmp(sub, "ls") != 0) {
    fail(sub, "--format and --quiet go with 'sandbox ls'");
    goto out;
  }
  code = run_sub(sub, &conn, &c, format, quiet, nargs, args);
out:
  json_decref(c.body);
  json_decref(c.limits);
  json_decref(c.labels);
  cli_conn_clear(&conn);
  return code;
}

/* ---- airlock logs ID: the sandbox's execs from the audit trail ----------- */

static void print_command(json_t *argv) {
  size_t i;
  json_t *a;
  json_array_foreach(argv, i, a) {
    const char *s = json_string_value(a);
    if (!s)
      continue;
    bool plain = *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") ==
                           strlen(s);
    fputs(i ? " " : "", stdout);
    if (plain) {
      fputs(s, stdout);
      continue;
    }
    putchar('\'');
    for (; *s; s++)
      if (*s == '\'')
        fputs("'\\''", stdout);
      else
        putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
    putchar('\'');
  }
}

static void print_log_line(json_t *rec) {
  char when[32];
  format_time(json_integer_value(json_object_get(rec, "ts_ms")), when, sizeof(when));
  const char *kind = json_string_value(json_object_get(rec, "kind"));
  const char *exec = json_string_value(json_object_get(rec, "exec_id"));
  char what[64] = "";
  if (strcmp(kind, "exec.request") == 0)
    snprintf(what, sizeof(what), "%s", json_string_value(json_object_get(rec, "decision")));
  else if (strcmp(kind, "exec.result") == 0)
    snprintf(what, sizeof(what), "exit %lld, %lld ms", (long long)json_integer_value(json_object_get(rec, "exit_code")),
             (long long)json_integer_value(json_object_get(rec, "duration_ms")));
  else
    snprintf(what, sizeof(what), "refused");
  printf("%-20s  %-12s  %-19s  %-22s  ", when, kind, exec ? exec : "-", what);
  print_command(json_object_get(rec, "argv"));
  putchar('\n');
}

static void logs_usage(FILE *out) {
  fprintf(out, "usage: airlock logs [--format table|json] [--limit N] ID\n"
               "\n"
               "The execs of sandbox ID as the node's audit trail recorded them, oldest first: each\n"
               "request (the policy's decision), result (exit code, duration) and refusal.  The node\n"
               "lets only approvers (approvalGating.approvers) read the audit trail.\n"
               "  --format table|json   json: one audit record per line\n"
               "  --limit N             the N newest records (1 to 1000, default 1000)\n" CLI_CONN_USAGE);
}

int cli_logs(int argc, char **argv) {
  cli_conn conn = {0};
  const char *format = "table";
  long limit = 1000;
  int opt;
  optind = 0;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, cli_logs_short, cli_logs_options, NULL)) != -1) {
    if (opt == 'h') {
      logs_usage(stdout);
      return 0;
    }
    if (opt == '?' || opt == ':')
      return cli_bad_option("logs", NULL, opt, argv);
    if (cli_conn_option(&conn, opt, optarg))
      continue;
    if (opt == OPT_FORMAT) {
      if (strcmp(optarg, "table") != 0 && strcmp(optarg, "json") != 0)
        return cli_fail("logs", NULL, AIRLOCK_EXIT_SETUP, "--format must be 'table' or 'json', not '%s'", optarg);
      format = optarg;
    } else if (opt == OPT_LIMIT) {
      char *end = NULL;
      limit = strtol(optarg, &end, 10);
      if (!*optarg || *end || limit < 1 || limit > 1000)
        return cli_fail("logs", NULL, AIRLOCK_EXIT_SETUP, "--limit must be a whole number from 1 to 1000, not '%s'",
                        optarg);
    }
  }
  if (argc - optind != 1)
    return cli_fail("logs", NULL, AIRLOCK_EXIT_SETUP, argc - optind == 0 ? "which sandbox? airlock logs ID"
                                                                          : "one sandbox at a time: airlock logs ID");
  const char *id = argv[optind];
  if (!cli_valid_sandbox_id(id))
    return cli_fail("logs", NULL, AIRLOCK_EXIT_SETUP, "'%s' is not a sandbox id (sb_ and 16 hex digits)", id);
  airlock_client *client = NULL;
  int code = cli_conn_open("logs", &conn, &client);
  if (code != 0) {
    cli_conn_clear(&conn);
    return code;
  }
  /* the free-text filter finds the id; the sandbox field is then checked
   * exactly, since the text could also be in another record's argv */
  char path[128];
  snprintf(path, sizeof(path), "/v1/audit?q=%s&limit=%ld", id, limit);
  json_t *doc = NULL;
  if ((code = get_json("logs", NULL, client, path, &doc)) == 0) {
    json_t *recs = json_object_get(doc, "records");
    if (strcmp(format, "table") == 0)
      printf("%-20s  %-12s  %-19s  %-22s  %s\n", "TIME", "RECORD", "EXEC", "OUTCOME", "COMMAND");
    for (size_t i = json_array_size(recs); i-- > 0;) { /* newest first from the node: print oldest first */
      json_t *rec = json_array_get(recs, i);
      const char *kind = json_string_value(json_object_get(rec, "kind"));
      const char *sb = json_string_value(json_object_get(rec, "sandbox"));
      if (!kind || !sb || strcmp(sb, id) != 0 || strncmp(kind, "exec.", 5) != 0)
        continue;
      if (strcmp(format, "json") == 0) {
        char *line = json_dumps(rec, JSON_COMPACT);
        puts(line ? line : "{}");
        free(line);
      } else {
        print_log_line(rec);
      }
    }
    code = fflush(stdout) == 0 ? 0 : cli_fail("logs", NULL, AIRLOCK_EXIT_SETUP, "could not write the records");
  }
  json_decref(doc);
  airlock_client_close(&client);
  cli_conn_clear(&conn);
  return code;
}
