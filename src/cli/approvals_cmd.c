/* SPDX-License-Identifier: Apache-2.0 */
/* approvals_cmd.c - `airlock approvals list|show|approve|reject`: the
 * command-line approver.  It speaks the node's API with the approver's own
 * token (AIRLOCK_TOKEN), so the node decides who may answer and records who
 * did; nothing here touches the node's database directly.
 * Exit: 0 done, 125 when the node refused (not an approver, already
 * answered, expired, unknown id), could not be reached, or an argument was
 * wrong. */
#define _GNU_SOURCE
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "airlock/airlock.h"
#include "airlock/client.h"
#include "cli.h"

enum {
  OPT_NODE = 256,
  OPT_TOKEN,
  OPT_TLS_CA,
  OPT_TLS_CERT,
  OPT_TLS_KEY,
  OPT_ALL,
  OPT_JSON,
  OPT_ALWAYS,
  OPT_REASON,
  OPT_HELP
};

static const struct option options[] = {
    {"node", required_argument, 0, OPT_NODE},
    {"token", required_argument, 0, OPT_TOKEN},
    {"tls-ca", required_argument, 0, OPT_TLS_CA},
    {"tls-cert", required_argument, 0, OPT_TLS_CERT},
    {"tls-key", required_argument, 0, OPT_TLS_KEY},
    {"all", no_argument, 0, OPT_ALL},
    {"json", no_argument, 0, OPT_JSON},
    CLI_FORMAT_OPTION,
    {"always", no_argument, 0, OPT_ALWAYS},
    {"reason", required_argument, 0, OPT_REASON},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};

static void usage(FILE *out) {
  fprintf(out, "usage: airlock approvals list [--all] [--json]\n"
               "       airlock approvals show ID [--json]\n"
               "       airlock approvals approve ID [--always]\n"
               "       airlock approvals reject ID [--reason TEXT]\n"
               "\n"
               "  --all             every approval, answered ones too (default: pending only)\n"
               "  --always          remember the answer: the same request (argv, cwd, environment,\n"
               "                    executable and script hashes) runs without asking again\n"
               "  --reason TEXT     told to the caller and kept in the audit trail\n"
               "  --json            the node's JSON (one object per line for list); also --format json\n"
               "  --node NODE       unix:PATH, https://HOST:PORT or http://127.0.0.1:PORT\n"
               "  --token TOKEN     an approver's node token; better in AIRLOCK_TOKEN\n"
               "  --tls-ca FILE  --tls-cert FILE  --tls-key FILE   as for 'airlock exec'\n"
               "\n"
               "Only tokens named in the node's approvalGating.approvers may approve or reject,\n"
               "and never their own requests.\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cli_vfail("approvals", NULL, CLI_EXIT_USAGE, fmt, ap);
  va_end(ap);
  fprintf(stderr, "(see 'airlock approvals --help')\n");
  return CLI_EXIT_USAGE;
}

static const char *str(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

/* argv as one line, quoted where a shell would need it */
static void print_command(FILE *out, json_t *ap) {
  if (json_is_string(json_object_get(ap, "command"))) {
    fputs(str(ap, "command"), out);
    return;
  }
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(ap, "argv"), i, a) {
    const char *s = json_string_value(a);
    if (!s)
      continue;
    fputs(i ? " " : "", out);
    if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == strlen(s)) {
      fputs(s, out);
    } else {
      fputc('\'', out);
      for (; *s; s++)
        *s == '\'' ? fputs("'\\''", out) : fputc(*s, out);
      fputc('\'', out);
    }
  }
}

static void print_list(json_t *arr) {
  json_t *actions;
  size_t i;
  json_t *ap;
  time_t now = time(NULL);
  printf("%-19s  %-12s  %-9s  %-7s  %-24s  %s\n", "ID", "TENANT", "STATE", "LEFT", "ACTIONS", "COMMAND");
  json_array_foreach(arr, i, ap) {
    long long left = (json_integer_value(json_object_get(ap, "expires_at_ms")) / 1000) - (long long)now;
    char left_s[24] = "-";
    if (strcmp(str(ap, "state"), "pending") == 0)
      snprintf(left_s, sizeof(left_s), "%llds", left > 0 ? left : 0);
    char acts[128] = "";
    size_t k;
    json_t *a;
    actions = json_object_get(ap, "actions");
    json_array_foreach(actions, k, a) {
      size_t l = strlen(acts);
      snprintf(acts + l, sizeof(acts) - l, "%s%s", k ? "," : "", json_string_value(a));
    }
    printf("%-19s  %-12s  %-9s  %-7s  %-24s  ", str(ap, "approval_id"), str(ap, "tenant"), str(ap, "state"), left_s,
           acts);
    print_command(stdout, ap);
    putchar('\n');
  }
}

static void print_one(json_t *ap) {
  printf("approval   %s (%s)\n", str(ap, "approval_id"), str(ap, "state"));
  printf("tenant     %s%s%s\n", str(ap, "tenant"), json_object_get(ap, "sandbox") ? ", sandbox " : "",
         str(ap, "sandbox"));
  printf("command    ");
  print_command(stdout, ap);
  printf("\ncwd        %s\n", str(ap, "cwd"));
  printf("env keys  ");
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(ap, "env_keys"), i, v) printf(" %s", json_string_value(v));
  printf("\nactions   ");
  json_array_foreach(json_object_get(ap, "actions"), i, v) printf(" %s", json_string_value(v));
  printf("\nrule       %s\n", str(ap, "rule"));
  json_array_foreach(json_object_get(ap, "dangerous"), i, v)
      printf("dangerous  %s (%s): %s\n", str(v, "id"), str(v, "severity"), str(v, "description"));
  printf("exe        %s sha256:%s\n", str(ap, "exe"), str(ap, "exe_sha256"));
  if (json_object_get(ap, "script"))
    printf("script     %s sha256:%s\n", str(ap, "script"), str(ap, "script_sha256"));
  long long left = json_integer_value(json_object_get(ap, "expires_at_ms")) / 1000 - (long long)time(NULL);
  if (strcmp(str(ap, "state"), "pending") == 0)
    printf("time left  %llds\n", left > 0 ? left : 0);
  if (json_object_get(ap, "answered_by"))
    printf("answered   by %s%s%s%s\n", str(ap, "answered_by"),
           json_is_true(json_object_get(ap, "always")) ? " (always)" : "",
           json_object_get(ap, "answer_reason") ? ": " : "", str(ap, "answer_reason"));
}

int cli_approvals(int argc, char **argv) {
  const char *node = NULL, *token = NULL, *reason = NULL;
  airlock_client_tls tls = {0};
  bool all = false, as_json = false, always = false;
  int c;
  optind = 0; /* GNU getopt, permuting: options may come before or after the subcommand and id */
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
    switch (c) {
    case OPT_NODE: node = optarg; break;
    case OPT_TOKEN: token = optarg; break;
    case OPT_TLS_CA: tls.ca_file = optarg; break;
    case OPT_TLS_CERT: tls.cert_file = optarg; break;
    case OPT_TLS_KEY: tls.key_file = optarg; break;
    case OPT_ALL: all = true; break;
    case OPT_JSON: as_json = true; break;
    case CLI_OPT_FORMAT:
      if (cli_format_json("approvals", NULL, optarg, &as_json) != 0)
        return CLI_EXIT_USAGE;
      break;
    case OPT_ALWAYS: always = true; break;
    case OPT_REASON: reason = optarg; break;
    case 'h':
    case OPT_HELP: usage(stdout); return 0;
    default: return usage_error("unknown option or missing value: '%s'", argv[optind - 1]);
    }
  }
  size_t nwords = (size_t)(argc - optind);
  if (nwords > 2)
    return usage_error("unexpected argument '%s'", argv[optind + 2]);
  const char *words[2] = {nwords > 0 ? argv[optind] : NULL, nwords > 1 ? argv[optind + 1] : NULL};
  if (nwords == 0)
    return usage_error("missing subcommand: list, show, approve or reject");
  const char *sub = words[0], *id = words[1];
  bool is_list = strcmp(sub, "list") == 0, is_show = strcmp(sub, "show") == 0, is_approve = strcmp(sub, "approve") == 0,
       is_reject = strcmp(sub, "reject") == 0;
  if (!is_list && !is_show && !is_approve && !is_reject)
    return usage_error("unknown subcommand '%s' (list, show, approve, reject)", sub);
  if (is_list ? id != NULL : id == NULL)
    return usage_error(is_list ? "'list' takes no id" : "'%s' needs an approval id (see 'airlock approvals list')",
                       sub);
  if (id && (strncmp(id, "ap_", 3) != 0 || strlen(id) != 19 || strspn(id + 3, "0123456789abcdef") != 16))
    return usage_error("'%s' is not an approval id (ap_ and 16 hex digits)", id);
  if (all && !is_list)
    return usage_error("--all goes with 'list'");
  if (always && !is_approve)
    return usage_error("--always goes with 'approve'");
  if (reason && !is_reject)
    return usage_error("--reason goes with 'reject'");
  if (reason && strlen(reason) > 1000)
    return usage_error("--reason is longer than 1000 bytes");
  if (!token)
    token = getenv("AIRLOCK_TOKEN");
  if (!token || !*token)
    return usage_error("no token: set AIRLOCK_TOKEN (an approver's token) or give --token");

  char *node_alloc = NULL;
  if (!node && !(node = node_alloc = cli_default_node("approvals")))
    return AIRLOCK_EXIT_SETUP;
  airlock_error *err = NULL;
  airlock_client *client = NULL;
  int code = AIRLOCK_EXIT_SETUP;
  char path[128], *resp = NULL, *body = NULL;
  long status = 0;
  if (airlock_client_open(node, token, &tls, &client, &err) < 0)
    goto fail;
  const char *method = "GET";
  if (is_list) {
    snprintf(path, sizeof(path), "/v1/approvals?state=%s", all ? "all" : "pending");
  } else if (is_show) {
    snprintf(path, sizeof(path), "/v1/approvals/%s", id);
  } else {
    method = "POST";
    snprintf(path, sizeof(path), "/v1/approvals/%s/%s", id, is_approve ? "approve" : "reject");
    json_t *b = is_approve ? json_pack("{s:b}", "always", always)
                : reason   ? json_pack("{s:s}", "reason", reason)
                           : json_object();
    body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
  }
  int rc = airlock_client_request(client, method, path, body, body ? strlen(body) : 0, &status, &resp, NULL, &err);
  if (rc < 0 && status == 0)
    goto fail;
  json_t *o = resp ? json_loads(resp, 0, NULL) : NULL;
  if (rc < 0) {
    const char *msg = json_string_value(json_object_get(json_object_get(o, "error"), "message"));
    code = cli_fail("approvals", NULL, CLI_EXIT_FAILED, "the node answered %ld: %s", status, msg ? msg : (resp ? resp : ""));
    airlock_error_free(&err);
    json_decref(o);
    goto out;
  }
  if (as_json && is_list) {
    size_t i;
    json_t *ap;
    json_array_foreach(json_object_get(o, "approvals"), i, ap) {
      char *line = json_dumps(ap, JSON_COMPACT);
      puts(line);
      free(line);
    }
  } else if (as_json) {
    puts(resp);
  } else if (is_list) {
    print_list(json_object_get(o, "approvals"));
  } else if (is_show) {
    print_one(o);
  } else {
    printf("%s %s\n", id, is_approve ? (always ? "approved (always)" : "approved") : "rejected");
  }
  json_decref(o);
  code = 0;
  goto out;
fail:
  cli_fail_error("approvals", NULL, CLI_EXIT_FAILED, &err);
out:
  free(resp);
  free(body);
  airlock_client_close(&client);
  free(node_alloc);
  return code;
}
