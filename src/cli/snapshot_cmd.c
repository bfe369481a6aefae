/* SPDX-License-Identifier: Apache-2.0 */
/* snapshot_cmd.c - `airlock sandbox snapshot|snapshots|restore|reset|fork|
 * snapshot-rm`: snapshots of a node's persistent sandboxes through the C
 * client (docs/api.md "Snapshots"); nothing here knows the node's internals.
 * sandbox_cmd.c hands these subcommands over. */
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

enum { OPT_FORMAT = 256, OPT_SNAPSHOT };

static const struct option options[] = {
    CLI_CONN_OPTIONS,
    {"format", required_argument, 0, OPT_FORMAT},
    {"snapshot", required_argument, 0, OPT_SNAPSHOT},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

static void usage(FILE *out) {
  fprintf(out, "usage: airlock sandbox snapshot ID NAME        snapshot the sandbox; prints the snapshot's id\n"
               "       airlock sandbox snapshots [ID] [--format table|json]   its snapshots, or all of yours\n"
               "       airlock sandbox restore ID NAME         back to a snapshot (refused while an exec runs)\n"
               "       airlock sandbox reset ID                back to the state at its creation\n"
               "       airlock sandbox fork ID [NAME]          a new sandbox from a snapshot, or from ID's\n"
               "                                               current state; prints the new id\n"
               "       airlock sandbox fork --snapshot SNAPSHOT_ID   from a snapshot by id (after a restart)\n"
               "       airlock sandbox snapshot-rm ID NAME | snapshot-rm SNAPSHOT_ID\n"
               "\n"
               "NAME: 1 to 64 letters, digits, '.', '_', '-'.\n"
               "node:\n" CLI_CONN_USAGE "\n"
               "exit: 0 done, 125 bad usage, node unreachable or refused.\n");
}

static void print_table(json_t *arr) {
  printf("%-20s %-20s %-20s %12s %8s  %s\n", "NAME", "SNAPSHOT ID", "SANDBOX", "BYTES", "FILES", "CREATED");
  size_t i;
  json_t *s;
  json_array_foreach(arr, i, s) {
    char when[32] = "-";
    time_t t = (time_t)(json_integer_value(json_object_get(s, "created_ms")) / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm))
      strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%-20s %-20s %-20s %12lld %8lld  %s\n", json_string_value(json_object_get(s, "name")),
           json_string_value(json_object_get(s, "id")), json_string_value(json_object_get(s, "sandbox")),
           (long long)json_integer_value(json_object_get(s, "bytes")),
           (long long)json_integer_value(json_object_get(s, "files")), when);
  }
}

/* the client call of the subcommand; 0 or 125 after saying why */
static int run(const char *sub, airlock_client *client, const char *format, const char *snapshot_id, int nargs,
               char **args) {
  airlock_error *err = NULL;
  _cleanup_free_ char *out = NULL;
  int rc;
  if (strcmp(sub, "snapshot") == 0) {
    rc = airlock_client_snapshot_create(client, args[0], args[1], &out, &err);
    if (rc == 0) {
      json_auto_t *doc = json_loads(out, 0, NULL);
      if (strcmp(format, "json") == 0)
        puts(out);
      else
        puts(json_string_value(json_object_get(doc, "id")) ? json_string_value(json_object_get(doc, "id")) : "?");
    }
  } else if (strcmp(sub, "snapshots") == 0) {
    rc = airlock_client_snapshot_list(client, nargs ? args[0] : NULL, &out, &err);
    if (rc == 0) {
      json_auto_t *doc = json_loads(out, 0, NULL);
      json_t *arr = json_object_get(doc, "snapshots");
      if (strcmp(format, "json") == 0) {
        char *text = json_dumps(arr ? arr : json_array(), JSON_INDENT(2));
        if (text)
          puts(text);
        free(text);
      } else {
        print_table(arr);
      }
    }
  } else if (strcmp(sub, "restore") == 0 || strcmp(sub, "reset") == 0) {
    rc = airlock_client_sandbox_restore(client, args[0], nargs > 1 ? args[1] : NULL, &err);
    if (rc == 0)
      puts(args[0]);
  } else if (strcmp(sub, "fork") == 0) {
    rc = airlock_client_sandbox_fork(client, nargs ? args[0] : NULL,
                                     snapshot_id ? snapshot_id : nargs > 1 ? args[1] : NULL, NULL, &out, &err);
    if (rc == 0)
      puts(out);
  } else { /* snapshot-rm */
    rc = airlock_client_snapshot_delete(client, nargs == 2 ? args[0] : NULL, args[nargs - 1], &err);
    if (rc == 0)
      puts(args[nargs - 1]);
  }
  return rc < 0 ? cli_fail_error("sandbox", sub, AIRLOCK_EXIT_SETUP, &err) : 0;
}

int cli_sandbox_snapshot(const char *sub, int argc, char **argv) {
  cli_conn conn = {0};
  const char *format = "table", *snapshot_id = NULL;
  int code = AIRLOCK_EXIT_SETUP;
  optind = 0;
  opterr = 0;
  int opt;
  while ((opt = getopt_long(argc - 1, argv + 1, ":h", options, NULL)) != -1) {
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
    if (opt == OPT_FORMAT && strcmp(optarg, "table") != 0 && strcmp(optarg, "json") != 0) {
      cli_fail("sandbox", sub, code, "--format must be 'table' or 'json', not '%s'", optarg);
      goto out;
    }
    if (opt == OPT_FORMAT)
      format = optarg;
    else if (opt == OPT_SNAPSHOT && strcmp(sub, "fork") == 0)
      snapshot_id = optarg;
    else {
      cli_fail("sandbox", sub, code, "--snapshot goes with 'sandbox fork'");
      goto out;
    }
  }
  int nargs = argc - 1 - optind;
  char **args = argv + 1 + optind;
  /* how many arguments each takes: at least, at most */
  int lo = 1, hi = 1;
  const char *shape = "ID";
  if (strcmp(sub, "snapshot") == 0 || strcmp(sub, "restore") == 0)
    lo = hi = 2, shape = "ID NAME";
  else if (strcmp(sub, "snapshots") == 0)
    lo = 0, shape = "[ID]";
  else if (strcmp(sub, "fork") == 0)
    lo = snapshot_id ? 0 : 1, hi = snapshot_id ? 0 : 2, shape = snapshot_id ? "--snapshot SNAPSHOT_ID" : "ID [NAME]";
  else if (strcmp(sub, "snapshot-rm") == 0)
    hi = 2, shape = "ID NAME or SNAPSHOT_ID";
  if (nargs < lo || nargs > hi) {
    cli_fail("sandbox", sub, code, "usage: airlock sandbox %s %s (see 'airlock sandbox %s --help')", sub, shape, sub);
    goto out;
  }
  /* a sandbox id first (snapshot-rm with one argument: a snapshot id) */
  if (nargs >= 1 && !(strcmp(sub, "snapshot-rm") == 0 && nargs == 1) && !cli_valid_sandbox_id(args[0])) {
    cli_fail("sandbox", sub, code, "'%s' is not a sandbox id (sb_ and 16 hex digits, from 'airlock sandbox ls')",
             args[0]);
    goto out;
  }
  airlock_client *client = NULL;
  if ((code = cli_conn_open("sandbox", &conn, &client)) != 0)
    goto out;
  code = run(sub, client, format, snapshot_id, nargs, args);
  airlock_client_close(&client);
out:
  cli_conn_clear(&conn);
  return code;
}
