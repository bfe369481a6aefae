/* SPDX-License-Identifier: Apache-2.0 */
/* run_cmd.c - `airlock run`: flags and config file into an airlock_spec,
 * then airlock_run(), then the exit code and report.  Flags override the
 * config file, so the file is loaded first. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "airlock/airlock.h"
#include "cli.h"
#include "image_ref.h"

enum {
  OPT_CONFIG = 256,
  OPT_IMAGE,
  OPT_REQUIRE_SIGNATURE,
  OPT_TRUSTED_KEY,
  OPT_WORKSPACE,
  OPT_WORKSPACE_ACCESS,
  OPT_WORKSPACE_QUOTA,
  OPT_WORKSPACE_MODE,
  OPT_OUTPUT,
  OPT_UID,
  OPT_HOSTNAME,
  OPT_CPUS,
  OPT_PIDS,
  OPT_TIMEOUT,
  OPT_DISK,
  OPT_OPEN_FILES,
  OPT_TMP_EXEC,
  OPT_ALLOW_DEGRADED,
  OPT_NETWORK,
  OPT_REPORT,
  OPT_POLICY,
  OPT_ALLOW,
  OPT_DENY,
  OPT_EGRESS_LOG,
  OPT_SECRET,
  OPT_STATE_DIR,
  OPT_BIND_SOCKET,
  OPT_ALLOW_WRITABLE_SYSTEM,
  OPT_PTY,
  OPT_NO_PTY,
  OPT_OPENCLAW_AGENT,
  OPT_ISOLATION,
  OPT_RUNSC,
  OPT_HELP,
};

/* docker run's short flags: -e, -v, -w, -m, -t, -i (':' first: getopt's
 * complaints come back as ':' and '?' for one line of our own) */
#define RUN_SHORT "+:hte:v:w:m:i"
const char cli_run_short[] = RUN_SHORT;

const struct option cli_run_options[] = {
    {"config", required_argument, 0, OPT_CONFIG},
    {"openclaw-agent", required_argument, 0, OPT_OPENCLAW_AGENT},
    {"image", required_argument, 0, OPT_IMAGE},
    {"require-signature", no_argument, 0, OPT_REQUIRE_SIGNATURE},
    {"trusted-key", required_argument, 0, OPT_TRUSTED_KEY},
    {"workspace", required_argument, 0, OPT_WORKSPACE},
    {"workspace-access", required_argument, 0, OPT_WORKSPACE_ACCESS},
    {"workspace-quota", required_argument, 0, OPT_WORKSPACE_QUOTA},
    {"workspace-mode", required_argument, 0, OPT_WORKSPACE_MODE},
    {"output", required_argument, 0, OPT_OUTPUT},
    {"bind", required_argument, 0, 'v'},
    {"bind-socket", required_argument, 0, OPT_BIND_SOCKET},
    {"allow-writable-system-dir", no_argument, 0, OPT_ALLOW_WRITABLE_SYSTEM},
    {"env", required_argument, 0, 'e'},
    {"uid", required_argument, 0, OPT_UID},
    {"cwd", required_argument, 0, 'w'},
    {"hostname", required_argument, 0, OPT_HOSTNAME},
    {"memory", required_argument, 0, 'm'},
    {"cpus", required_argument, 0, OPT_CPUS},
    {"pids", required_argument, 0, OPT_PIDS},
    {"timeout", required_argument, 0, OPT_TIMEOUT},
    {"disk", required_argument, 0, OPT_DISK},
    {"open-files", required_argument, 0, OPT_OPEN_FILES},
    {"tmp-exec", no_argument, 0, OPT_TMP_EXEC},
    {"allow-degraded", no_argument, 0, OPT_ALLOW_DEGRADED},
    {"network", required_argument, 0, OPT_NETWORK},
    {"report", required_argument, 0, OPT_REPORT},
    {"policy", required_argument, 0, OPT_POLICY},
    {"allow", required_argument, 0, OPT_ALLOW},
    {"deny", required_argument, 0, OPT_DENY},
    {"egress-log", required_argument, 0, OPT_EGRESS_LOG},
    {"secret", required_argument, 0, OPT_SECRET},
    {"state-dir", required_argument, 0, OPT_STATE_DIR},
    {"pty", no_argument, 0, OPT_PTY},
    {"interactive", no_argument, 0, 'i'},
    {"no-pty", no_argument, 0, OPT_NO_PTY},
    {"isolation", required_argument, 0, OPT_ISOLATION},
    {"runsc", required_argument, 0, OPT_RUNSC},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};

void cli_usage_run(FILE *out) {
  fprintf(out, "usage: airlock run [OPTIONS] -- CMD [ARG...]\n"
               "\n"
               "filesystem:\n"
               "  --image DIR|NAME@sha256:HEX  the read-only root: a directory, or an image imported with\n"
               "                            'airlock image import' (default: host /usr, /bin, /lib*)\n"
               "  --require-signature       the image must carry a signature that verifies with a\n"
               "                            --trusted-key (checked again now; a directory is refused)\n"
               "  --trusted-key FILE        a minisign or PEM (ECDSA P-256) public key; repeatable\n"
               "  --workspace DIR           mount DIR at /workspace\n"
               "  --workspace-access ro|rw  default rw\n"
               "  --workspace-quota SIZE    what a rw workspace may gain in bytes (and inodes, one per 4k)\n"
               "                            while the command runs (default: the --disk value)\n"
               "  --workspace-mode live|changes  live (default): written back when the command ends;\n"
               "                            changes: kept as a changeset for 'airlock changes'\n"
               "  --output DIR              mount DIR read-write at /output\n"
               "  -v, --bind SRC:DST[:ro|rw]  extra mount (default ro, unlike docker's -v); repeatable\n"
               "  --bind-socket SRC:DST     make the host unix socket SRC reachable at DST; every other socket\n"
               "                            found in a mounted tree is masked; repeatable\n"
               "  --allow-writable-system-dir  let a writable workspace, output or bind be a directory of\n"
               "                            root's or a system user's, or under /usr, /etc, /var, /opt, /srv\n"
               "  --tmp-exec                allow executing files from /tmp and other scratch space\n"
               "process:\n"
               "  -e, --env K=V             environment variable; repeatable\n"
               "  --uid N                   uid/gid inside (default 1001; 0 = root of its own namespace)\n"
               "  -w, --cwd DIR             working directory inside\n"
               "  --hostname NAME           default airlock\n"
               "  --secret NAME             secret from the secret store as the file /run/secrets/NAME\n"
               "                            (0400, the sandbox user's; never in the environment); repeatable\n"
               "  --state-dir DIR           the secret store (default /var/lib/airlock as root, else\n"
               "                            $XDG_STATE_HOME/airlock or ~/.local/state/airlock)\n"
               "terminal (the caller's own terminal never enters the sandbox):\n"
               "                            default: when stdin, stdout or stderr is a terminal, the command\n"
               "                            gets a pty of its own in their place, relayed to it\n"
               "  -t, --pty                 a pty for stdin and stdout even when they are not terminals\n"
               "  -i, --interactive         accepted for docker's 'run -it': stdin is always the command's\n"
               "  --no-pty                  no pty: a terminal stdin becomes /dev/null, a terminal stdout or\n"
               "                            stderr a pipe that airlock copies to it\n"
               "isolation (docs/isolation.md):\n"
               "  --isolation namespaces|gvisor|vm  namespaces (default): the host's kernel behind namespaces,\n"
               "                            seccomp and Landlock; gvisor: under gVisor's user-space kernel\n"
               "                            (runsc); vm: a QEMU microVM with its own kernel (docs/vm.md;\n"
               "                            emulation without VMX/SVM needs --allow-degraded)\n"
               "  --runsc PATH              gvisor: the runsc binary (default: runsc on PATH)\n"
               "network:\n"
               "  --network none|proxy      none (default): loopback only; proxy: loopback only plus an egress\n"
               "                            proxy at 127.0.0.1:3128 (HTTP_PROXY etc. set) and DNS at 127.0.0.1:53\n"
               "  --allow RULE              proxy: allow HOST[:PORT] (*.example.com, CIDR, [IPv6]); repeatable\n"
               "  --deny RULE               proxy: deny HOST[:PORT], wins over allow; repeatable\n"
               "  --egress-log FILE         proxy: its JSON-lines records go to FILE (default: stderr)\n"
               "limits:\n"
               "  -m, --memory SIZE         memory+swap (default 512m)\n"
               "  --cpus N                  CPU share (default 1.0)\n"
               "  --pids N                  processes and threads (default 256)\n"
               "  --timeout SECONDS         wall clock (default 30); exit 124 when hit\n"
               "  --disk SIZE               all writable scratch space together (default 1g)\n"
               "  --open-files N            default 1024\n"
               "  --allow-degraded          accept rlimit fallbacks where a cgroup limit is impossible\n"
               "other:\n"
               "  --config FILE             JSON config; flags override it\n"
               "  --openclaw-agent ID       with an openclaw.json: that agent's sandbox (agents.list[].sandbox)\n"
               "  --report FILE             write a JSON report of the run\n"
               "  --policy FILE             autonomy policy ({\"autonomy\": ..., \"approvalGating\": ...}):\n"
               "                            denied commands do not run (exit 125); ones needing approval\n"
               "                            are asked about on the terminal, else defaultAction decides\n"
               "\n"
               "exit: the command's code; 124 timeout, 137 out of memory, 125 sandbox or argument error,\n"
               "126/127 command not executable / not found.\n");
}

#define fail(...) cli_fail("run", NULL, AIRLOCK_EXIT_SETUP, __VA_ARGS__)

static int parse_double(const char *s, double *out) { return airlock_parse_decimal(s, out); }

static int parse_int(const char *s, long long lo, long long hi, long long *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

static int report_error(airlock_error **err) { return cli_fail_error("run", NULL, AIRLOCK_EXIT_SETUP, err); }

/* what the flags say beyond the spec itself */
typedef struct {
  const char *report_path;
  int network; /* -1: no --network flag */
} run_flags;

static int apply_option(airlock_spec *spec, int opt, const char *arg, run_flags *f) {
  airlock_error *err = NULL;
  long long n;
  double d;
  switch (opt) {
  case OPT_CONFIG:
  case OPT_OPENCLAW_AGENT: return 0; /* used by the config's loading, before the other flags */
  case OPT_IMAGE: return airlock_spec_set_string(&spec->image, arg, &err) < 0 ? report_error(&err) : 0;
  case OPT_REQUIRE_SIGNATURE: spec->image_require_signature = true; return 0;
  case OPT_TRUSTED_KEY: return al_spec_add_trusted_key(spec, arg, &err) < 0 ? report_error(&err) : 0;
  case OPT_WORKSPACE:
    spec->workspace_none = false; /* the flag overrides a config's "none" */
    return airlock_spec_set_string(&spec->workspace, arg, &err) < 0 ? report_error(&err) : 0;
  case OPT_OUTPUT: return airlock_spec_set_string(&spec->output, arg, &err) < 0 ? report_error(&err) : 0;
  case 'w': return airlock_spec_set_string(&spec->cwd, arg, &err) < 0 ? report_error(&err) : 0;
  case OPT_HOSTNAME: return airlock_spec_set_string(&spec->hostname, arg, &err) < 0 ? report_error(&err) : 0;
  case OPT_WORKSPACE_ACCESS:
    if (strcmp(arg, "ro") != 0 && strcmp(arg, "rw") != 0)
      return fail("--workspace-access must be 'ro' or 'rw', not '%s'", arg);
    spec->workspace_none = false; /* the flag overrides a config's "none" */
    spec->workspace_rw = strcmp(arg, "rw") == 0;
    return 0;
  case 'v': {
    airlock_bind b = {0};
    if (airlock_parse_bind(arg, &b, &err) < 0 || airlock_spec_add_bind(spec, &b, &err) < 0)
      return report_error(&err);
    return 0;
  }
  case OPT_BIND_SOCKET: {
    airlock_bind b = {0};
    if (airlock_parse_bind(arg, &b, &err) < 0 || airlock_spec_add_socket(spec, &b, &err) < 0)
      return report_error(&err);
    return 0;
  }
  case OPT_ALLOW_WRITABLE_SYSTEM: spec->allow_writable_system = true; return 0;
  case 'e': return airlock_spec_add_env(spec, arg, &err) < 0 ? report_error(&err) : 0;
  case OPT_UID:
    if (parse_int(arg, 0, 65534, &n) < 0)
      return fail("--uid must be a number from 0 to 65534, not '%s'", arg);
    spec->uid = (uint32_t)n;
    return 0;
  case 'm':
    if (airlock_parse_size(arg, &spec->memory_bytes, &err) < 0)
      return report_error(&err);
    return 0;
  case OPT_DISK:
    if (airlock_parse_size(arg, &spec->disk_bytes, &err) < 0)
      return report_error(&err);
    return 0;
  case OPT_WORKSPACE_QUOTA:
    if (airlock_parse_size(arg, &spec->workspace_quota_bytes, &err) < 0)
      return report_error(&err);
    return 0;
  case OPT_WORKSPACE_MODE:
    return airlock_parse_workspace_mode(arg, &spec->workspace_mode, &err) < 0 ? report_error(&err) : 0;
  case OPT_ISOLATION: return airlock_parse_isolation(arg, &spec->isolation, &err) < 0 ? report_error(&err) : 0;
  case OPT_RUNSC:
    if (arg[0] == '\0')
      return fail("--runsc must not be empty");
    return airlock_spec_set_string(&spec->runsc, arg, &err) < 0 ? report_error(&err) : 0;
  case OPT_CPUS:
    if (parse_double(arg, &d) < 0)
      return fail("--cpus must be a number such as 0.5 or 2, not '%s'", arg);
    spec->cpus = d;
    return 0;
  case OPT_PIDS:
    if (parse_int(arg, 0, 1LL << 40, &n) < 0)
      return fail("--pids must be a whole number, not '%s'", arg);
    spec->pids = n;
    return 0;
  case OPT_OPEN_FILES:
    if (parse_int(arg, 0, 1LL << 40, &n) < 0)
      return fail("--open-files must be a whole number, not '%s'", arg);
    spec->nofile = n;
    return 0;
  case OPT_TIMEOUT:
    if (parse_double(arg, &d) < 0 || !(d > 0))
      return fail("--timeout must be a positive number of seconds, not '%s'", arg);
    spec->timeout_sec = d;
    return 0;
  case OPT_TMP_EXEC: spec->tmp_exec = true; return 0;
  case OPT_ALLOW_DEGRADED: spec->allow_degraded = true; return 0;
  case OPT_NETWORK:
    if (strcmp(arg, "host") == 0)
      return fail("--network host is always refused: use 'proxy' with --allow rules");
    if (strcmp(arg, "none") != 0 && strcmp(arg, "proxy") != 0)
      return fail("--network must be 'none' or 'proxy', not '%s'", arg);
    f->network = strcmp(arg, "proxy") == 0 ? AIRLOCK_NETWORK_PROXY : AIRLOCK_NETWORK_NONE;
    return 0;
  case OPT_ALLOW:
  case OPT_DENY: return 0; /* appended once --network is known (apply_rules) */
  case OPT_EGRESS_LOG:
    if (*arg == '\0')
      return fail("--egress-log needs a file name");
    return airlock_spec_set_string(&spec->egress_log, arg, &err) < 0 ? report_error(&err) : 0;
  case OPT_SECRET: return airlock_spec_add_secret(spec, arg, &err) < 0 ? report_error(&err) : 0;
  case OPT_STATE_DIR:
    if (*arg == '\0')
      return fail("--state-dir must not be empty");
    return airlock_spec_set_string(&spec->state_dir, arg, &err) < 0 ? report_error(&err) : 0;
  case 't':
  case OPT_PTY: spec->pty = AIRLOCK_PTY_ALWAYS; return 0;
  case 'i': return 0; /* stdin is always the command's (docker's -i) */
  case OPT_NO_PTY: spec->pty = AIRLOCK_PTY_NEVER; return 0;
  case OPT_POLICY: return 0; /* applied once the command is known */
  case OPT_REPORT: f->report_path = arg; return 0;
  default: return AIRLOCK_EXIT_SETUP;
  }
}

/* --network overrides the config's mode; `none` also drops the config's
 * proxy settings.  Then --allow and --deny are appended to the settings,
 * wherever they stood: with mode none they are an error (validation). */
static int apply_rules(airlock_spec *spec, int argc, char **argv, const run_flags *f) {
  airlock_error *err = NULL;
  if (f->network >= 0) {
    spec->network = (airlock_network)f->network;
    if (spec->network == AIRLOCK_NETWORK_NONE) {
      free(spec->network_json);
      spec->network_json = NULL;
    }
  }
  optind = 0;
  opterr = 0;
  int opt;
  while ((opt = getopt_long(argc, argv, RUN_SHORT, cli_run_options, NULL)) != -1)
    if ((opt == OPT_ALLOW || opt == OPT_DENY) && airlock_spec_add_egress_rule(spec, opt == OPT_DENY, optarg, &err) < 0)
      return report_error(&err);
  return 0;
}

/* the report's JSON with "image": {ref, digest[, signed_by]} added (json is freed) */
static char *report_add_image(char *json, const char *ref, const char *digest, const char *signer) {
  json_t *root = json_loads(json, 0, NULL);
  if (!json_is_object(root)) {
    json_decref(root);
    return json;
  }
  json_t *image = json_pack("{s:s,s:s}", "ref", ref, "digest", digest);
  if (signer[0])
    json_object_set_new(image, "signed_by", json_string(signer));
  json_object_set_new(root, "image", image);
  char *out = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  if (!out)
    return json;
  free(json);
  return out;
}

int cli_run(int argc, char **argv) {
  airlock_spec spec;
  airlock_spec_init(&spec);
  airlock_error *err = NULL;
  run_flags flags = {.report_path = NULL, .network = -1};
  int code = AIRLOCK_EXIT_SETUP;

  /* pass 1: the config file, so that flags can override it, with the
   * openclaw.json agent whose sandbox settings apply */
  opterr = 0;
  optind = 0;
  int opt;
  const char *agent = NULL;
  bool has_config = false;
  while ((opt = getopt_long(argc, argv, RUN_SHORT, cli_run_options, NULL)) != -1) {
    agent = opt == OPT_OPENCLAW_AGENT ? optarg : agent;
    has_config = has_config || opt == OPT_CONFIG;
  }
  if (agent && !has_config) {
    fprintf(stderr, "airlock run: --openclaw-agent needs --config with an openclaw.json\n");
    goto out;
  }
  optind = 0;
  while ((opt = getopt_long(argc, argv, RUN_SHORT, cli_run_options, NULL)) != -1) {
    if (opt == OPT_CONFIG && airlock_spec_load_file_agent(&spec, optarg, agent, &err) < 0) {
      code = report_error(&err);
      goto out;
    }
  }
  /* pass 2: everything else, with errors */
  opterr = 0;
  optind = 0;
  while ((opt = getopt_long(argc, argv, RUN_SHORT, cli_run_options, NULL)) != -1) {
    if (opt == 'h' || opt == OPT_HELP) {
      cli_usage_run(stdout);
      code = 0;
      goto out;
    }
    if (opt == '?' || opt == ':') {
      code = cli_bad_option("run", NULL, opt, argv);
      goto out;
    }
    int rc = apply_option(&spec, opt, optarg, &flags);
    if (rc != 0) {
      code = rc;
      goto out;
    }
  }
  if ((code = apply_rules(&spec, argc, argv, &flags)) != 0)
    goto out;
  code = AIRLOCK_EXIT_SETUP;
  if (optind >= argc) {
    fail("no command given: airlock run [OPTIONS] -- CMD [ARG...]");
    goto out;
  }
  spec.argv = argv + optind;
  char image_digest[72], image_ref[512], image_signer[17];
  snprintf(image_ref, sizeof(image_ref), "%s", spec.image ? spec.image : "");
  if (al_image_ref_resolve(&spec, spec.state_dir, image_digest, image_signer, &err) < 0) {
    code = report_error(&err);
    goto out;
  }
  code = AIRLOCK_EXIT_SETUP;
  /* the policy judges the command before anything is built */
  optind = 0;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, RUN_SHORT, cli_run_options, NULL)) != -1)
    if (opt == OPT_POLICY && (code = cli_policy_gate_run(optarg, &spec)) != 0)
      goto out;
  code = AIRLOCK_EXIT_SETUP;

  /* opened before anything runs, and never through a link: a sandbox must
   * not turn the report path into a link to a host file the launcher
   * (root, perhaps) then writes */
  const char *report_path = flags.report_path;
  FILE *report = NULL;
  struct stat report_st;
  if (report_path) {
    int fd = open(report_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 || fstat(fd, &report_st) < 0 || !S_ISREG(report_st.st_mode) || (report = fdopen(fd, "w")) == NULL) {
      fail("cannot write report '%s': %s", report_path, fd < 0 ? strerror(errno) : "not a regular file");
      if (fd >= 0)
        close(fd);
      goto out;
    }
  }
  /* before the first cgroup: the layout is read once, from inside the scope */
  cli_run_enter_scope();
  if (spec.isolation == AIRLOCK_ISOLATION_VM) { /* src/vm: the command in a microVM, with the vm's own report */
    code = cli_run_vm(&spec, report, report_path);
    goto out;
  }
  airlock_result result;
  if (airlock_run(&spec, &result, &err) < 0) {
    airlock_result_clear(&result); /* what a failed launch had already filled in */
    code = report_error(&err);
    if (report) {
      /* remove what we created, and only that */
      struct stat now;
      if (lstat(report_path, &now) == 0 && now.st_dev == report_st.st_dev && now.st_ino == report_st.st_ino)
        unlink(report_path);
      fclose(report);
    }
    goto out;
  }
  code = result.exit_code;
  if (result.timed_out)
    fprintf(stderr, "airlock: timed out after %.3gs; sandbox killed\n", spec.timeout_sec);
  else if (result.oom_killed && code == AIRLOCK_EXIT_OOM)
    fprintf(stderr, "airlock: out of memory (limit %lld bytes); killed\n", (long long)spec.memory_bytes);
  else if (result.oom_killed)
    fprintf(stderr, "airlock: a process in the sandbox was killed for memory (limit %lld bytes)\n",
            (long long)spec.memory_bytes);
  else if (result.killed_by_signal)
    fprintf(stderr, "airlock: sandbox killed after a repeated signal\n");
  if (result.degraded_note)
    fprintf(stderr, "airlock: degraded: %s\n", result.degraded_note);
  if (report) {
    char *json = airlock_result_to_json(&result);
    if (json && image_digest[0])
      json = report_add_image(json, image_ref, image_digest, image_signer);
    bool written = json != NULL && fprintf(report, "%s\n", json) >= 0;
    if (fclose(report) != 0 || !written) {
      fail("cannot write report '%s'", report_path);
      code = AIRLOCK_EXIT_SETUP;
    }
    free(json);
  }
  airlock_result_clear(&result);
out:
  spec.argv = NULL;
  airlock_spec_clear(&spec);
  return code;
}
