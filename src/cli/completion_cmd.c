/* SPDX-License-Identifier: Apache-2.0 */
/* completion_cmd.c - `airlock completion bash|zsh`: the shell completion
 * script, generated from the getopt tables and short-flag strings the
 * commands parse their arguments with (so a flag a command accepts is a
 * flag the shell offers), the commands and their subcommands, and sandbox
 * ids from `airlock sandbox ls -q` where a command takes one. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command_flags {
  const char *name;
  const struct option *options;
  const char *shorts;
} command_flags;

static const command_flags TABLES[] = {
    {"run", cli_run_options, cli_run_short},
    {"exec", cli_exec_options, cli_exec_short},
    {"sandbox", cli_sandbox_options, cli_sandbox_short},
    {"ps", cli_sandbox_options, cli_sandbox_short},
    {"rm", cli_sandbox_options, cli_sandbox_short},
    {"cp", cli_cp_options, cli_cp_short},
    {"shell", cli_shell_options, cli_shell_short},
    {"logs", cli_logs_options, cli_logs_short},
};

static const char *const COMMANDS = "run exec sandbox ps rm cp shell logs gc policy node token secret proxy audit "
                                    "approvals mcp ssh-gate oci completion version help";

/* the subcommands of commands whose flags are not listed here */
static const struct {
  const char *name, *subs;
} SUBCOMMANDS[] = {
    {"sandbox", "create ls inspect rm"},        {"token", "create list revoke"},
    {"secret", "set list rm get rotate-key"},  {"audit", "verify prune head redact"},
    {"approvals", "list show approve reject"}, {"policy", "check"},
    {"completion", "bash zsh"},                 {"oci", "create start run exec state kill delete list ps features"},
};

static void print_flags(const command_flags *c) {
  for (const struct option *o = c->options; o->name; o++)
    printf(" --%s", o->name);
  for (const char *s = c->shorts; *s; s++)
    if (*s != '+' && *s != ':' && *s != 'h')
      printf(" -%c", *s);
  printf(" -h");
}

static void print_bash(void) {
  printf("# airlock's bash completion, made by 'airlock completion bash' from the commands' own option\n"
         "# tables.  Load it with: source <(airlock completion bash)\n"
         "_airlock_ids() { airlock sandbox ls -q 2>/dev/null; }\n"
         "_airlock() {\n"
         "  [ -z \"${ZSH_VERSION:-}\" ] || setopt localoptions ksharrays  # zsh: arrays from 0, as in bash\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd=${COMP_WORDS[1]} flags= subs=\n"
         "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
         "    COMPREPLY=($(compgen -W '%s' -- \"$cur\"))\n"
         "    return\n"
         "  fi\n"
         "  case $cmd in\n",
         COMMANDS);
  for (size_t i = 0; i < sizeof(TABLES) / sizeof(TABLES[0]); i++) {
    printf("  %s) flags='", TABLES[i].name);
    print_flags(&TABLES[i]);
    printf(" ';;\n");
  }
  printf("  esac\n"
         "  case $cmd in\n");
  for (size_t i = 0; i < sizeof(SUBCOMMANDS) / sizeof(SUBCOMMANDS[0]); i++)
    printf("  %s) subs='%s';;\n", SUBCOMMANDS[i].name, SUBCOMMANDS[i].subs);
  printf("  esac\n"
         "  if [ -n \"$subs\" ] && [ \"$COMP_CWORD\" -eq 2 ]; then\n"
         "    COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
         "  elif [ \"$prev\" = --sandbox ]; then\n"
         "    COMPREPLY=($(compgen -W \"$(_airlock_ids)\" -- \"$cur\"))\n"
         "  elif [[ $cur == -* ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
         "  elif [[ $cmd == shell || $cmd == logs || $cmd == rm ]] ||\n"
         "       [[ $cmd == sandbox && ( ${COMP_WORDS[2]} == inspect || ${COMP_WORDS[2]} == rm ) ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$(_airlock_ids)\" -- \"$cur\"))\n"
         "  else\n"
         "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
         "  fi\n"
         "}\n"
         "complete -o filenames -F _airlock airlock\n");
}

static void usage(FILE *out) {
  fprintf(out, "usage: airlock completion bash|zsh\n"
               "\n"
               "Prints the shell completion script for airlock's commands, their subcommands and flags\n"
               "(from the same option tables the commands parse with) and sandbox ids.\n"
               "  bash: source <(airlock completion bash)   (or save it in /etc/bash_completion.d/airlock)\n"
               "  zsh:  source <(airlock completion zsh)    (bash's script through zsh's bashcompinit)\n");
}

int cli_completion(int argc, char **argv) {
  if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    usage(stdout);
    return 0;
  }
  if (argc != 2 || (strcmp(argv[1], "bash") != 0 && strcmp(argv[1], "zsh") != 0))
    return cli_fail("completion", NULL, CLI_EXIT_USAGE, "which shell? airlock completion bash|zsh");
  if (strcmp(argv[1], "zsh") == 0)
    printf("# airlock's zsh completion: the bash one through zsh's bashcompinit\n"
           "autoload -U +X compinit && compinit\n"
           "autoload -U +X bashcompinit && bashcompinit\n");
  print_bash();
  return fflush(stdout) == 0 ? 0 : cli_fail("completion", NULL, CLI_EXIT_FAILED, "could not write the script");
}
