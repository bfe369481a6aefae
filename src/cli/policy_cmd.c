/* SPDX-License-Identifier: Apache-2.0 */
/* policy_cmd.c - the policy outside the node: `airlock policy check` tells
 * what a policy would do with a command (to test a policy before deploying
 * it), and `airlock run --policy FILE` applies one before making the
 * sandbox.  In run the approver is the person at the terminal: a command
 * that needs approval is shown and asked about on /dev/tty with the policy's
 * timeout; without a terminal, or when the time runs out, defaultAction
 * decides (reject unless the policy says otherwise). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "airlock/airlock.h"
#include "classify.h"
#include "cleanup.h"
#include "cli.h"
#include "policy.h"

/* `policy check` keeps its documented codes: 0 allow, 1 ask, 3 deny, 2 bad usage */
#define POLICY_EXIT_USAGE 2

typedef struct {
  al_policy policy;
  al_catalogue *cat;
  al_classification c;
  bool parsed;
  al_policy_decision d;
} judged;

static void judged_clear(judged *j) {
  if (j->parsed)
    al_classification_free(&j->c);
  al_catalogue_free(j->cat);
  al_policy_clear(&j->policy);
}

/* load, classify, decide; -1 after printing why it could not */
static int judge(const char *who, const char *policy_path, const char *catalogue, char *const *argv, judged *j) {
  memset(j, 0, sizeof(*j));
  al_policy_init(&j->policy);
  airlock_error *err = NULL;
  if ((policy_path && al_policy_load_file(&j->policy, policy_path, false, &err) < 0) ||
      al_catalogue_load_builtin(&j->cat, &err) < 0 ||
      (catalogue && al_catalogue_add_file(j->cat, catalogue, &err) < 0)) {
    cli_fail_error(who, NULL, CLI_EXIT_FAILED, &err);
    return -1;
  }
  j->parsed = al_classify_argv(j->cat, argv, &j->c, &err) == 0;
  airlock_error_free(&err);
  al_policy_decide(&j->policy, j->parsed ? &j->c : NULL, &j->d);
  return 0;
}

static void describe(FILE *out, const judged *j) {
  fprintf(out, "actions:");
  for (unsigned a = 0; a < AL_ACTION_COUNT; a++)
    if (j->d.actions & AL_ACTION_BIT(a))
      fprintf(out, " %s", al_action_name((al_action)a));
  fprintf(out, "%s\n", j->parsed ? "" : " (the command could not be parsed)");
  for (size_t i = 0; j->parsed && i < j->c.n_matches; i++)
    fprintf(out, "dangerous: %s (%s): %s\n", j->c.matches[i].id, al_severity_name(j->c.matches[i].severity),
            j->c.matches[i].description);
  fprintf(out, "rule: %s\n", j->d.rule);
}

static const char *verdict_name(al_verdict v) {
  return v == AL_VERDICT_ALLOW ? "allow" : v == AL_VERDICT_ASK ? "approval_required" : "deny";
}

/* y within timeout_ms on the terminal */
static bool ask_terminal(const judged *j, char *const *argv) {
  _cleanup_close_ int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty < 0)
    return false;
  FILE *out = fdopen(dup(tty), "w");
  if (!out)
    return false;
  fprintf(out, "airlock run: this command needs approval:\n  ");
  for (size_t i = 0; argv[i]; i++)
    fprintf(out, "%s%s", i ? " " : "", argv[i]);
  fprintf(out, "\n");
  describe(out, j);
  fprintf(out, "Run it? [y/N] (%lld s) ", (long long)(j->policy.timeout_ms / 1000));
  fflush(out);
  struct pollfd pfd = {tty, POLLIN, 0};
  char line[16] = "";
  bool yes = false;
  if (poll(&pfd, 1, (int)j->policy.timeout_ms) == 1) {
    ssize_t r = read(tty, line, sizeof(line) - 1);
    if (r > 0) {
      line[r] = '\0';
      yes = strcmp(line, "y\n") == 0 || strcmp(line, "yes\n") == 0 || strcmp(line, "Y\n") == 0;
    }
  } else {
    fprintf(out, "\n(no answer)\n");
  }
  fclose(out);
  return yes;
}

int cli_policy_gate_run(const char *policy_path, airlock_spec *spec) {
  judged j;
  char *const *argv = spec->argv;
  if (judge("run", policy_path, NULL, argv, &j) < 0) {
    judged_clear(&j);
    return AIRLOCK_EXIT_SETUP;
  }
  int rc = 0;
  bool readonly = j.policy.enabled && j.policy.level == AL_LEVEL_READONLY;
  if (readonly && spec->output) {
    /* readonly holds by the mounts too, as on the node: a command the
     * classifier misreads still cannot write where the caller can see it */
    cli_fail("run", NULL, 0, "the policy is readonly, and --output would be writable; drop --output");
    rc = AIRLOCK_EXIT_SETUP;
  } else if (j.d.verdict == AL_VERDICT_DENY) {
    cli_fail("run", NULL, 0, "denied by policy: %s", j.d.rule);
    rc = AIRLOCK_EXIT_SETUP;
  } else if (j.d.verdict == AL_VERDICT_ASK) {
    bool interactive = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
    if (interactive ? !ask_terminal(&j, argv) : !j.policy.default_approve) {
      cli_fail("run", NULL, 0, "not approved (%s)%s", j.d.rule,
               interactive ? "" : "; there is no terminal to ask on, and defaultAction is reject");
      rc = AIRLOCK_EXIT_SETUP;
    }
  }
  if (rc == 0 && readonly) {
    spec->workspace_rw = false;
    for (size_t i = 0; i < spec->n_binds; i++)
      spec->binds[i].writable = false;
  }
  judged_clear(&j);
  return rc;
}

static void usage(FILE *out) {
  fprintf(out, "usage: airlock policy check [--policy FILE] [--catalogue FILE] [--json] -- CMD [ARG...]\n"
               "       airlock policy check [--policy FILE] [--catalogue FILE] [--json] --shell 'SHELL COMMAND'\n"
               "\n"
               "Tells what the policy would do with the command: its action types, the dangerous\n"
               "patterns it matches, the verdict (allow, approval_required, deny) and the rule that\n"
               "decided.  Without --policy only the classification is shown (verdict allow).\n"
               "exit: 0 allow, 1 approval_required, 3 deny, 2 bad arguments or files.\n");
}

int cli_policy(int argc, char **argv) {
  static const struct option opts[] = {
      {"policy", required_argument, 0, 'p'}, {"catalogue", required_argument, 0, 'c'},
      {"json", no_argument, 0, 'j'},         {"shell", no_argument, 0, 's'},
      {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
  };
  const char *policy = NULL, *catalogue = NULL;
  bool as_json = false, shell = false;
  if (argc < 2 || strcmp(argv[1], "check") != 0) {
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
      usage(stdout);
      return 0;
    }
    return cli_fail("policy", NULL, POLICY_EXIT_USAGE, "the subcommand is 'check' (see 'airlock policy --help')");
  }
  int c;
  optind = 0;
  opterr = 1;
  while ((c = getopt_long(argc - 1, argv + 1, "+h", opts, NULL)) != -1) {
    switch (c) {
    case 'p': policy = optarg; break;
    case 'c': catalogue = optarg; break;
    case 'j': as_json = true; break;
    case 's': shell = true; break;
    case 'h': usage(stdout); return 0;
    default: return cli_fail("policy", NULL, POLICY_EXIT_USAGE, "see 'airlock policy --help'");
    }
  }
  char **cmd = argv + 1 + optind;
  int ncmd = argc - 1 - optind;
  if (ncmd < 1 || (shell && ncmd != 1)) {
    return cli_fail("policy", NULL, POLICY_EXIT_USAGE, "give the command after '--'%s",
                    shell ? " as one string with --shell" : "");
  }
  char *sh_argv[] = {(char *)"/bin/sh", (char *)"-c", cmd[0], NULL};
  judged j;
  if (judge("policy", policy, catalogue, shell ? sh_argv : cmd, &j) < 0) {
    judged_clear(&j);
    return POLICY_EXIT_USAGE;
  }
  if (as_json) {
    json_t *actions = json_array(), *dangerous = json_array();
    for (unsigned a = 0; a < AL_ACTION_COUNT; a++)
      if (j.d.actions & AL_ACTION_BIT(a))
        json_array_append_new(actions, json_string(al_action_name((al_action)a)));
    for (size_t i = 0; j.parsed && i < j.c.n_matches; i++)
      json_array_append_new(dangerous, json_string(j.c.matches[i].id));
    json_t *o = json_pack("{s:s,s:b,s:o,s:o,s:s}", "verdict", verdict_name(j.d.verdict), "parsed", j.parsed, "actions",
                          actions, "dangerous", dangerous, "rule", j.d.rule);
    char *text = json_dumps(o, JSON_COMPACT);
    puts(text ? text : "{}");
    free(text);
    json_decref(o);
  } else {
    printf("verdict: %s\n", verdict_name(j.d.verdict));
    describe(stdout, &j);
  }
  int rc = j.d.verdict == AL_VERDICT_ALLOW ? 0 : j.d.verdict == AL_VERDICT_ASK ? 1 : 3;
  judged_clear(&j);
  return rc;
}
