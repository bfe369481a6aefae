/* SPDX-License-Identifier: Apache-2.0 */
/* exec_cmd.c - `airlock exec`: run a command on an airlock node through the
 * client library (include/airlock/client.h) and behave like `airlock run`:
 * the command's output on our stdout/stderr as it is produced, its exit code
 * as ours, 124 timeout, 137 out of memory, 125 when the node refused or could
 * not be reached or the arguments were wrong.  With --pty the command runs
 * on a terminal of its own in the sandbox, relayed to ours (exec_pty.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "airlock/airlock.h"
#include "airlock/client.h"
#include "cleanup.h"
#include "cli.h"

/* Largest standard input sent to the node. */
#define MAX_STDIN (16u << 20)

enum {
  OPT_NODE = 256,
  OPT_TOKEN,
  OPT_SANDBOX,
  OPT_CWD,
  OPT_ENV,
  OPT_MEMORY,
  OPT_CPUS,
  OPT_PIDS,
  OPT_TIMEOUT,
  OPT_DISK,
  OPT_TLS_CA,
  OPT_TLS_CERT,
  OPT_TLS_KEY,
  OPT_SHELL,
  OPT_NO_STREAM,
  OPT_PTY,
  OPT_APPROVAL,
  OPT_APPROVAL_ID,
  OPT_HELP,
};

/* docker's short flags: -e, -w, -m, -t, -i */
#define EXEC_SHORT "+:hte:w:m:i"
const char cli_exec_short[] = EXEC_SHORT;

const struct option cli_exec_options[] = {
    {"node", required_argument, 0, OPT_NODE},
    {"token", required_argument, 0, OPT_TOKEN},
    {"sandbox", required_argument, 0, OPT_SANDBOX},
    {"cwd", required_argument, 0, 'w'},
    {"env", required_argument, 0, 'e'},
    {"memory", required_argument, 0, 'm'},
    {"cpus", required_argument, 0, OPT_CPUS},
    {"pids", required_argument, 0, OPT_PIDS},
    {"timeout", required_argument, 0, OPT_TIMEOUT},
    {"disk", required_argument, 0, OPT_DISK},
    {"tls-ca", required_argument, 0, OPT_TLS_CA},
    {"tls-cert", required_argument, 0, OPT_TLS_CERT},
    {"tls-key", required_argument, 0, OPT_TLS_KEY},
    {"shell", no_argument, 0, OPT_SHELL},
    {"no-stream", no_argument, 0, OPT_NO_STREAM},
    {"pty", no_argument, 0, OPT_PTY},
    {"interactive", no_argument, 0, 'i'},
    {"approval", required_argument, 0, OPT_APPROVAL},
    {"approval-id", required_argument, 0, OPT_APPROVAL_ID},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};

void cli_usage_exec(FILE *out) {
  fprintf(out, "usage: airlock exec [OPTIONS] -- CMD [ARG...]\n"
               "       airlock exec [OPTIONS] --shell -- 'SHELL COMMAND'\n"
               "\n"
               "node:\n"
               "  --node NODE               unix:PATH, https://HOST:PORT or http://127.0.0.1:PORT\n"
               "                            (default: AIRLOCK_NODE, else the socket 'airlock node'\n"
               "                            listens on by default as the same user)\n"
               "  --token TOKEN             node token; better in AIRLOCK_TOKEN (arguments are visible in ps)\n"
               "  --tls-ca FILE             CA certificate(s) that signed the node's (https)\n"
               "  --tls-cert FILE           client certificate for mutual TLS\n"
               "  --tls-key FILE            its private key\n"
               "command:\n"
               "  --sandbox ID              run in this persistent sandbox (default: a fresh one)\n"
               "  --shell                   CMD is one string run by /bin/sh -c\n"
               "  -w, --cwd DIR             working directory inside\n"
               "  -e, --env K=V             environment variable; repeatable\n"
               "  -i, --interactive         relay stdin to the command as it comes, with no size limit (without\n"
               "                            it, stdin is read whole first; with --pty it is relayed anyway)\n"
               "  --no-stream               print the output when the command has ended (capped by the node)\n"
               "  -t, --pty                 run it on a terminal of its own in the sandbox, relayed to ours\n"
               "                            (raw mode; stdin is sent as typed; TERM is ours unless --env sets it)\n"
               "  --approval wait|poll      when the node's policy asks a human: wait, counting down on stderr\n"
               "                            (default), or say so and exit 75 at once (poll)\n"
               "  --approval-id ID          run the command an approver approved (after --approval poll)\n"
               "limits (fresh sandboxes; default: the node's):\n"
               "  -m, --memory SIZE  --cpus N  --pids N  --disk SIZE\n"
               "  --timeout SECONDS         wall clock; exit 124 when hit\n"
               "\n"
               "stdin is sent to the command when it is not a terminal (at most 16 MiB, read before it starts);\n"
               "with -i or --pty it is relayed as it comes.\n"
               "exit: the command's code; 124 timeout, 137 out of memory, 126/127 command not executable /\n"
               "not found, 125 when the node refused the request, could not be reached, or an argument was wrong;\n"
               "75 with --approval poll when the command waits for an approval.\n");
}

#define fail(...) cli_fail("exec", NULL, AIRLOCK_EXIT_SETUP, __VA_ARGS__)

static int report_error(airlock_error **err) { return cli_fail_error("exec", NULL, AIRLOCK_EXIT_SETUP, err); }

static int parse_int(const char *s, long long lo, long long hi, long long *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

typedef struct exec_options {
  const char *node;
  const char *token;
  airlock_client_tls tls;
  airlock_exec_request req;
  airlock_spec env;   /* only its env list: checked and de-duplicated as for `airlock run` */
  double timeout_sec; /* as given, for the message */
  bool shell;
  bool no_stream;
  bool pty;
  bool interactive;   /* -i: stdin relayed as it comes (stdin_open) */
  bool approval_poll; /* --approval poll: report a pending approval and exit */
} exec_options;

static int apply_option(exec_options *o, int opt, const char *arg) {
  airlock_error *err = NULL;
  long long n;
  double d;
  switch (opt) {
  case OPT_NODE: o->node = arg; return 0;
  case OPT_TOKEN: o->token = arg; return 0;
  case OPT_SANDBOX: o->req.sandbox_id = arg; return 0;
  case 'w':
    if (arg[0] != '/')
      return fail("--cwd must be an absolute path inside the sandbox, not '%s'", arg);
    o->req.cwd = arg;
    return 0;
  case 'e': return airlock_spec_add_env(&o->env, arg, &err) < 0 ? report_error(&err) : 0;
  case 'm':
    if (airlock_parse_size(arg, &o->req.limits.memory_bytes, &err) < 0)
      return report_error(&err);
    if (o->req.limits.memory_bytes == 0)
      return fail("--memory must be above 0");
    return 0;
  case OPT_DISK:
    if (airlock_parse_size(arg, &o->req.limits.disk_bytes, &err) < 0)
      return report_error(&err);
    if (o->req.limits.disk_bytes == 0)
      return fail("--disk must be above 0");
    return 0;
  case OPT_CPUS:
    if (airlock_parse_decimal(arg, &d) < 0 || !(d > 0))
      return fail("--cpus must be a positive number such as 0.5 or 2, not '%s'", arg);
    o->req.limits.cpus = d;
    return 0;
  case OPT_PIDS:
    if (parse_int(arg, 1, 1LL << 40, &n) < 0)
      return fail("--pids must be a positive whole number, not '%s'", arg);
    o->req.limits.pids = n;
    return 0;
  case OPT_TIMEOUT:
    if (airlock_parse_decimal(arg, &d) < 0 || !(d >= 0.001) || d > 1e9)
      return fail("--timeout must be a number of seconds from 0.001, not '%s'", arg);
    o->timeout_sec = d;
    o->req.timeout_ms = (int64_t)(d * 1000 + 0.5);
    return 0;
  case OPT_TLS_CA: o->tls.ca_file = arg; return 0;
  case OPT_TLS_CERT: o->tls.cert_file = arg; return 0;
  case OPT_TLS_KEY: o->tls.key_file = arg; return 0;
  case OPT_SHELL: o->shell = true; return 0;
  case OPT_NO_STREAM: o->no_stream = true; return 0;
  case 't':
  case OPT_PTY: o->pty = true; return 0;
  case 'i': o->interactive = true; return 0;
  case OPT_APPROVAL:
    if (strcmp(arg, "wait") != 0 && strcmp(arg, "poll") != 0)
      return fail("--approval must be 'wait' or 'poll', not '%s'", arg);
    o->approval_poll = strcmp(arg, "poll") == 0;
    return 0;
  case OPT_APPROVAL_ID:
    if (strncmp(arg, "ap_", 3) != 0 || strlen(arg) != 19 || strspn(arg + 3, "0123456789abcdef") != 16)
      return fail("--approval-id '%s' is not an approval id (ap_ and 16 hex digits)", arg);
    o->req.approval_id = arg;
    return 0;
  default: return AIRLOCK_EXIT_SETUP;
  }
}

/* All of stdin when it is not a terminal; *data stays NULL when there is
 * none to send (a terminal, or stdin closed). */
static int read_stdin(char **data, size_t *len) {
  *data = NULL;
  *len = 0;
  struct stat st;
  if (fstat(STDIN_FILENO, &st) < 0 || isatty(STDIN_FILENO))
    return 0;
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap);
  if (buf == NULL)
    return fail("out of memory reading stdin");
  for (;;) {
    if (n == cap) {
      if (cap > MAX_STDIN) {
        free(buf);
        return fail("stdin is larger than %u MiB; give the data as a file in a sandbox instead", MAX_STDIN >> 20);
      }
      char *p = realloc(buf, cap * 2);
      if (p == NULL) {
        free(buf);
        return fail("out of memory reading stdin");
      }
      buf = p;
      cap *= 2;
    }
    ssize_t r = read(STDIN_FILENO, buf + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int e = errno;
      free(buf);
      return fail("cannot read stdin: %s", strerror(e));
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  if (n > MAX_STDIN) {
    free(buf);
    return fail("stdin is larger than %u MiB; give the data as a file in a sandbox instead", MAX_STDIN >> 20);
  }
  *data = buf;
  *len = n;
  return 0;
}

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, data, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    data += w;
    len -= (size_t)w;
  }
  return 0;
}

typedef struct output_state {
  int write_errno;  /* first failed write to our stdout/stderr */
  cli_pty *pty;     /* --pty */
  cli_stdin *input; /* -i without --pty */
} output_state;

static void on_started(void *ctx, const char *exec_id) {
  output_state *o = ctx;
  if (o->pty)
    cli_exec_pty_started(o->pty, exec_id);
  cli_exec_stdin_started(o->input, exec_id);
}

/* Streamed output goes straight to our fd 1 or 2, unbuffered, so the
 * interleaving of the two is kept. */
static int on_output(void *ctx, int fd, const char *data, size_t len) {
  output_state *o = ctx;
  if (write_all(fd, data, len) < 0) {
    o->write_errno = errno;
    return -1;
  }
  return 0;
}

/* The messages `airlock run` gives for the same outcomes. */
static void describe_outcome(const exec_options *o, const airlock_exec_result *res) {
  if (res->error)
    fprintf(stderr, "airlock: %s\n", res->error);
  if (res->truncated)
    fprintf(stderr, "airlock: output truncated by the node (over its max_output_bytes)\n");
  if (res->timed_out && o->timeout_sec > 0)
    fprintf(stderr, "airlock: timed out after %.3gs; sandbox killed\n", o->timeout_sec);
  else if (res->timed_out)
    fprintf(stderr, "airlock: timed out; sandbox killed\n");
  else if (res->oom_killed && res->exit_code == AIRLOCK_EXIT_OOM)
    fprintf(stderr, "airlock: out of memory; killed\n");
  else if (res->oom_killed)
    fprintf(stderr, "airlock: a process in the sandbox was killed for memory\n");
}

static int run_exec(exec_options *o) {
  airlock_error *err = NULL;
  char *node_alloc = NULL;
  if (o->node == NULL && (o->node = node_alloc = cli_default_node("exec")) == NULL)
    return AIRLOCK_EXIT_SETUP;
  airlock_client *client = NULL;
  char *stdin_data = NULL;
  size_t stdin_len = 0;
  int code = AIRLOCK_EXIT_SETUP;
  airlock_exec_result res = {0};
  output_state outs = {0};
  char *approval_id = NULL;

  if (airlock_client_open(o->node, o->token, &o->tls, &client, &err) < 0) {
    code = report_error(&err);
    goto out;
  }
  if (o->pty) {
    /* a terminal type means something to the command now: ours, unless --env gave one */
    const char *term = getenv("TERM");
    bool given = false;
    for (size_t i = 0; i < o->env.n_env; i++)
      given = given || strncmp(o->env.env[i], "TERM=", 5) == 0;
    _cleanup_free_ char *kv = NULL;
    if (!given && term && *term && asprintf(&kv, "TERM=%s", term) >= 0 && airlock_spec_add_env(&o->env, kv, &err) < 0) {
      code = report_error(&err);
      goto out;
    }
  } else if (o->interactive && !o->no_stream) {
    o->req.stdin_open = true;
  } else if (read_stdin(&stdin_data, &stdin_len) != 0) {
    goto out;
  }
  o->req.stdin_data = stdin_data;
  o->req.stdin_len = stdin_len;
  o->req.env = o->env.env;
  o->req.n_env = o->env.n_env;
  /* always the node's poll mode: a 202 says at once that a human is asked,
   * which the node's wait mode (a request held open) cannot */
  o->req.approval_poll = true;

  for (;;) {
    if (o->pty) {
      if (cli_exec_pty_start(&outs.pty, o->node, o->token, &o->tls, &o->req, &err) < 0) {
        code = report_error(&err);
        goto out;
      }
      o->req.on_started = on_started;
    } else if (o->req.stdin_open) {
      if (cli_exec_stdin_start(&outs.input, o->node, o->token, &o->tls, &err) < 0) {
        code = report_error(&err);
        goto out;
      }
      o->req.on_started = on_started;
    }
    int rc = airlock_client_exec(client, &o->req, o->no_stream ? NULL : on_output, &outs, &res, &err);
    cli_exec_pty_end(&outs.pty); /* the terminal's modes back before anything is said */
    cli_exec_stdin_end(&outs.input);
    if (rc < 0 && res.http_status == 202 && res.approval_id && !o->req.approval_id) {
      airlock_error_free(&err);
      cli_approval_announce(&res, o->approval_poll);
      if (o->approval_poll) {
        code = CLI_EXIT_APPROVAL_PENDING;
        goto out;
      }
      if ((code = cli_approval_wait(client, res.approval_id, res.approval_expires_at_ms)) != 0)
        goto out;
      approval_id = strdup(res.approval_id);
      if (approval_id == NULL) {
        code = fail("out of memory");
        goto out;
      }
      o->req.approval_id = approval_id;
      airlock_exec_result_clear(&res);
      continue;
    }
    if (rc < 0) {
      if (outs.write_errno)
        code = fail("cannot write the command's output: %s", strerror(outs.write_errno));
      else
        code = report_error(&err);
      airlock_error_free(&err);
      goto out;
    }
    break;
  }
  if (o->no_stream && (write_all(STDOUT_FILENO, res.stdout_data, res.stdout_len) < 0 ||
                       write_all(STDERR_FILENO, res.stderr_data, res.stderr_len) < 0)) {
    code = fail("cannot write the command's output: %s", strerror(errno));
    goto out;
  }
  describe_outcome(o, &res);
  code = res.exit_code;
out:
  cli_exec_pty_end(&outs.pty);
  cli_exec_stdin_end(&outs.input);
  airlock_exec_result_clear(&res);
  airlock_client_close(&client);
  free(stdin_data);
  free(node_alloc);
  free(approval_id);
  return code;
}

int cli_exec(int argc, char **argv) {
  exec_options o = {0};
  airlock_spec_init(&o.env);
  int code = AIRLOCK_EXIT_SETUP;
  opterr = 0;
  optind = 0;
  int opt;
  while ((opt = getopt_long(argc, argv, EXEC_SHORT, cli_exec_options, NULL)) != -1) {
    if (opt == 'h' || opt == OPT_HELP) {
      cli_usage_exec(stdout);
      code = 0;
      goto out;
    }
    if (opt == '?' || opt == ':') {
      code = cli_bad_option("exec", NULL, opt, argv);
      goto out;
    }
    int rc = apply_option(&o, opt, optarg);
    if (rc != 0) {
      code = rc;
      goto out;
    }
  }
  if (optind >= argc) {
    fail("no command given: airlock exec [OPTIONS] -- CMD [ARG...]");
    goto out;
  }
  if (o.shell) {
    if (argc - optind != 1) {
      fail("--shell takes the command as one string (quote it); got %d arguments", argc - optind);
      goto out;
    }
    o.req.command = argv[optind];
  } else {
    o.req.argv = argv + optind;
  }
  const airlock_exec_limits *l = &o.req.limits;
  if (o.pty && o.no_stream) {
    fail("--pty streams the terminal; it cannot be combined with --no-stream");
    goto out;
  }
  if (o.req.sandbox_id && (l->memory_bytes || l->cpus || l->pids || l->disk_bytes)) {
    fail("--memory, --cpus, --pids and --disk apply to fresh sandboxes only; "
         "sandbox '%s' keeps the limits it was created with",
         o.req.sandbox_id);
    goto out;
  }
  if (o.token == NULL)
    o.token = getenv("AIRLOCK_TOKEN");
  if (o.token == NULL || *o.token == '\0') {
    fail("no token: set AIRLOCK_TOKEN or give --token (tokens come from 'airlock token create')");
    goto out;
  }
  code = run_exec(&o);
out:
  airlock_spec_clear(&o.env);
  return code;
}
