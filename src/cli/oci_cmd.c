/* SPDX-License-Identifier: Apache-2.0 */
/* oci_cmd.c - `airlock-oci` (and `airlock oci`): runc's command line over
 * src/oci (docs/oci.md).  Global options come before the command, as with
 * runc; crun's spellings (--cgroup-manager, run --config) are accepted too.
 * Failures are one line on stderr, and also in --log (text, or JSON lines
 * with --log-format json, which Podman and containerd read back); they exit
 * 125 like every airlock command, except that run and exec exit with the
 * container process's own code. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "airlock/airlock.h"
#include "oci.h"

#define OCI_EXIT_FAILED AIRLOCK_EXIT_SETUP

static al_oci_global G;
static const char *cmd_name = "airlock-oci";

static void log_line(const char *level, const char *msg) {
  if (!G.log)
    return;
  FILE *f = fopen(G.log, "ae");
  if (!f)
    return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char when[64];
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (G.log_json) {
    json_t *j = json_pack("{s:s,s:s,s:s}", "level", level, "msg", msg, "time", when);
    char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (t)
      fprintf(f, "%s\n", t);
    free(t);
    if (j)
      json_decref(j);
  } else {
    fprintf(f, "time=\"%s\" level=%s msg=\"%s\"\n", when, level, msg);
  }
  fclose(f);
}

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s: %s\n", cmd_name, msg);
  log_line("error", msg);
  return OCI_EXIT_FAILED;
}

static int fail_err(airlock_error **err) {
  int rc = fail("%s", *err && (*err)->msg ? (*err)->msg : "failed");
  airlock_error_free(err);
  return rc;
}

static void usage(FILE *out) {
  fprintf(out,
          "usage: airlock-oci [GLOBAL OPTIONS] COMMAND [OPTIONS] ID\n"
          "\n"
          "An OCI runtime with runc's command line (docs/oci.md).\n"
          "\n"
          "global options:\n"
          "  --root DIR            state directory (default " AL_OCI_DEFAULT_ROOT ")\n"
          "  --log FILE            also write errors there\n"
          "  --log-format text|json\n"
          "  --debug               log debug messages\n"
          "  --systemd-cgroup      refused: airlock manages its own cgroups (cgroupfs)\n"
          "  --cgroup-manager cgroupfs|systemd|disabled   crun's spelling; only cgroupfs\n"
          "\n"
          "commands:\n"
          "  create [--bundle DIR] [--config FILE] [--pid-file FILE] [--console-socket SOCK] ID\n"
          "  start ID\n"
          "  run [--bundle DIR] [--config FILE] [--pid-file FILE] [--console-socket SOCK] [--detach] ID\n"
          "  state ID\n"
          "  kill [--all] ID [SIGNAL]\n"
          "  delete [--force] ID\n"
          "  exec [--process FILE | --cwd DIR --env K=V --tty --user UID[:GID]] [--pid-file FILE]\n"
          "       [--console-socket SOCK] [--detach] ID [COMMAND...]\n"
          "  list [--format table|json] [--quiet]\n"
          "  ps [--format table|json] ID\n"
          "  features\n"
          "  version\n");
}

enum { O_BUNDLE = 2000, O_PID_FILE, O_CONSOLE, O_NO_PIVOT, O_NO_KEYRING, O_PRESERVE, O_CONFIG, O_DETACH, O_KEEP,
       O_PROCESS, O_CWD, O_ENV, O_TTY, O_USER, O_ALL, O_FORCE, O_FORMAT, O_QUIET, O_CAP, O_NNP, O_LABEL, O_APPARMOR,
       O_IGNORED };

/* create and run share their options */
static bool keep;
static int parse_create(int argc, char **argv, bool run, al_oci_create_opts *o, bool *detach, const char **id) {
  static const struct option opts[] = {{"bundle", required_argument, 0, 'b'},
                                       {"pid-file", required_argument, 0, O_PID_FILE},
                                       {"console-socket", required_argument, 0, O_CONSOLE},
                                       {"no-pivot", no_argument, 0, O_NO_PIVOT},
                                       {"no-new-keyring", no_argument, 0, O_NO_KEYRING},
                                       {"preserve-fds", required_argument, 0, O_PRESERVE},
                                       {"config", required_argument, 0, 'f'},
                                       {"detach", no_argument, 0, 'd'},
                                       {"keep", no_argument, 0, O_KEEP},
                                       {"no-subreaper", no_argument, 0, O_IGNORED},
                                       {0, 0, 0, 0}};
  memset(o, 0, sizeof(*o));
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "+:b:f:d", opts, NULL)) != -1) {
    switch (c) {
    case 'b': o->bundle = optarg; break;
    case 'f': o->config = optarg; break;
    case O_PID_FILE: o->pid_file = optarg; break;
    case O_CONSOLE: o->console_socket = optarg; break;
    case O_NO_PIVOT: return fail("%s: --no-pivot is refused: airlock always enters the rootfs with pivot_root", argv[0]);
    case O_NO_KEYRING: break; /* the container cannot use keyrings at all: seccomp refuses keyctl */
    case O_PRESERVE: o->preserve_fds = atoi(optarg); break;
    case 'd':
      if (!run)
        return fail("%s: unknown option --detach", argv[0]);
      *detach = true;
      break;
    case O_KEEP:
      if (!run)
        return fail("%s: unknown option --keep", argv[0]);
      keep = true;
      break;
    case O_IGNORED: break;
    case ':': return fail("%s: option %s needs a value", argv[0], argv[optind - 1]);
    default: return fail("%s: unknown option %s", argv[0], argv[optind - 1]);
    }
  }
  if (o->preserve_fds < 0 || o->preserve_fds > 1000)
    return fail("%s: --preserve-fds must be between 0 and 1000", argv[0]);
  if (optind != argc - 1)
    return fail("%s: exactly one container id is needed", argv[0]);
  *id = argv[optind];
  return 0;
}

static int cmd_create(int argc, char **argv, bool run) {
  al_oci_create_opts o;
  bool detach = false;
  const char *id = NULL;
  int rc = parse_create(argc, argv, run, &o, &detach, &id);
  if (rc != 0)
    return rc;
  airlock_error *err = NULL;
  if (!run)
    return al_oci_create(&G, id, &o, &err) < 0 ? fail_err(&err) : 0;
  int code = al_oci_run(&G, id, &o, detach, keep, &err);
  return code < 0 ? fail_err(&err) : code;
}

static int one_id(int argc, char **argv, const char **id) {
  if (argc != 2 || argv[1][0] == '-')
    return fail("%s: exactly one container id is needed", argv[0]);
  *id = argv[1];
  return 0;
}

static int cmd_start(int argc, char **argv) {
  const char *id = NULL;
  if (one_id(argc, argv, &id))
    return OCI_EXIT_FAILED;
  airlock_error *err = NULL;
  return al_oci_start(&G, id, &err) < 0 ? fail_err(&err) : 0;
}

static int cmd_state(int argc, char **argv) {
  const char *id = NULL;
  if (one_id(argc, argv, &id))
    return OCI_EXIT_FAILED;
  airlock_error *err = NULL;
  char *doc = al_oci_state_json(&G, id, &err);
  if (!doc)
    return fail_err(&err);
  printf("%s\n", doc);
  free(doc);
  return 0;
}

static int cmd_kill(int argc, char **argv) {
  static const struct option opts[] = {{"all", no_argument, 0, 'a'}, {0, 0, 0, 0}};
  bool all = false;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "+a", opts, NULL)) != -1) {
    if (c == 'a')
      all = true;
    else
      return fail("kill: unknown option %s", argv[optind - 1]);
  }
  if (optind >= argc || argc - optind > 2)
    return fail("kill: usage: kill [--all] ID [SIGNAL]");
  const char *id = argv[optind];
  int sig = al_oci_signal(argc - optind == 2 ? argv[optind + 1] : "TERM");
  if (sig < 0)
    return fail("kill: unknown signal '%s'", argv[optind + 1]);
  airlock_error *err = NULL;
  return al_oci_kill(&G, id, sig, all, &err) < 0 ? fail_err(&err) : 0;
}

static int cmd_delete(int argc, char **argv) {
  static const struct option opts[] = {{"force", no_argument, 0, 'f'}, {0, 0, 0, 0}};
  bool force = false;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
    if (c == 'f')
      force = true;
    else
      return fail("delete: unknown option %s", argv[optind - 1]);
  }
  if (optind != argc - 1)
    return fail("delete: exactly one container id is needed");
  airlock_error *err = NULL;
  return al_oci_delete(&G, argv[optind], force, &err) < 0 ? fail_err(&err) : 0;
}

static int cmd_exec(int argc, char **argv) {
  static const struct option opts[] = {{"process", required_argument, 0, 'p'},
                                       {"console-socket", required_argument, 0, O_CONSOLE},
                                       {"cwd", required_argument, 0, O_CWD},
                                       {"env", required_argument, 0, 'e'},
                                       {"tty", no_argument, 0, 't'},
                                       {"user", required_argument, 0, 'u'},
                                       {"pid-file", required_argument, 0, O_PID_FILE},
                                       {"detach", no_argument, 0, 'd'},
                                       {"preserve-fds", required_argument, 0, O_PRESERVE},
                                       {"cap", required_argument, 0, 'c'},
                                       {"no-new-privs", no_argument, 0, O_NNP},
                                       {"process-label", required_argument, 0, O_LABEL},
                                       {"apparmor", required_argument, 0, O_APPARMOR},
                                       {"additional-gids", required_argument, 0, 'g'},
                                       {"ignore-paused", no_argument, 0, O_IGNORED},
                                       {"cgroup", required_argument, 0, O_IGNORED},
                                       {0, 0, 0, 0}};
  al_oci_exec_opts o;
  memset(&o, 0, sizeof(o));
  char **env = calloc((size_t)argc + 1, sizeof(char *));
  if (!env)
    return fail("exec: out of memory");
  o.env = env;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "+:p:e:tu:dc:g:", opts, NULL)) != -1) {
    switch (c) {
    case 'p': o.process_file = optarg; break;
    case O_CONSOLE: o.console_socket = optarg; break;
    case O_CWD: o.cwd = optarg; break;
    case 'e':
      if (!strchr(optarg, '=')) {
        free(env);
        return fail("exec: --env takes KEY=VALUE, not '%s'", optarg);
      }
      env[o.n_env++] = optarg;
      break;
    case 't': o.tty = true; break;
    case 'u': {
      char *end = NULL;
      unsigned long u = strtoul(optarg, &end, 10), g = u;
      if (end && *end == ':')
        g = strtoul(end + 1, &end, 10);
      if (!end || *end || end == optarg) {
        free(env);
        return fail("exec: --user takes UID[:GID] as numbers, not '%s'", optarg);
      }
      o.has_user = true;
      o.uid = (uint32_t)u;
      o.gid = (uint32_t)g;
      break;
    }
    case O_PID_FILE: o.pid_file = optarg; break;
    case 'd': o.detach = true; break;
    case O_PRESERVE: o.preserve_fds = atoi(optarg); break;
    case 'c': break; /* capabilities: airlock gives none (docs/oci.md) */
    case O_NNP: break; /* always set */
    case O_LABEL:
    case O_APPARMOR:
      if (*optarg) {
        free(env);
        return fail("exec: %s is not supported (no LSM profiles)", argv[optind - 1]);
      }
      break;
    case 'g':
      free(env);
      return fail("exec: --additional-gids is not supported");
    case O_IGNORED: break;
    case ':': free(env); return fail("exec: option %s needs a value", argv[optind - 1]);
    default: free(env); return fail("exec: unknown option %s", argv[optind - 1]);
    }
  }
  if (optind >= argc) {
    free(env);
    return fail("exec: a container id is needed");
  }
  const char *id = argv[optind++];
  o.argv = argv + optind;
  if (!o.process_file && optind >= argc) {
    free(env);
    return fail("exec: a command or --process is needed");
  }
  if (o.preserve_fds < 0 || o.preserve_fds > 1000) {
    free(env);
    return fail("exec: --preserve-fds must be between 0 and 1000");
  }
  airlock_error *err = NULL;
  int code = al_oci_exec(&G, id, &o, &err);
  free(env);
  return code < 0 ? fail_err(&err) : code;
}

static int cmd_list(int argc, char **argv) {
  static const struct option opts[] = {{"format", required_argument, 0, 'f'}, {"quiet", no_argument, 0, 'q'},
                                       {0, 0, 0, 0}};
  bool json = false, quiet = false;
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "+f:q", opts, NULL)) != -1) {
    if (c == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "table") == 0))
      json = strcmp(optarg, "json") == 0;
    else if (c == 'q')
      quiet = true;
    else
      return fail("list: usage: list [--format table|json] [--quiet]");
  }
  airlock_error *err = NULL;
  return al_oci_list(&G, json, quiet, &err) < 0 ? fail_err(&err) : 0;
}

int cli_oci(int argc, char **argv);
int cli_oci(int argc, char **argv) {
  static const struct option opts[] = {{"root", required_argument, 0, 'r'},
                                       {"log", required_argument, 0, 'l'},
                                       {"log-format", required_argument, 0, 'F'},
                                       {"debug", no_argument, 0, 'D'},
                                       {"systemd-cgroup", no_argument, 0, 'S'},
                                       {"cgroup-manager", required_argument, 0, 'C'},
                                       {"rootless", required_argument, 0, 'R'},
                                       {"criu", required_argument, 0, 'I'},
                                       {"version", no_argument, 0, 'v'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  memset(&G, 0, sizeof(G));
  G.root = AL_OCI_DEFAULT_ROOT;
  optind = 1;
  opterr = 0;
  int c;
  bool systemd = false;
  while ((c = getopt_long(argc, argv, "+:vh", opts, NULL)) != -1) {
    switch (c) {
    case 'r': G.root = optarg; break;
    case 'l': G.log = optarg; break;
    case 'F':
      if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
        return fail("--log-format must be text or json, not '%s'", optarg);
      G.log_json = strcmp(optarg, "json") == 0;
      break;
    case 'D': G.debug = true; break;
    case 'S': systemd = true; break;
    case 'C':
      if (strcmp(optarg, "systemd") == 0)
        systemd = true;
      else if (strcmp(optarg, "cgroupfs") != 0 && strcmp(optarg, "disabled") != 0)
        return fail("--cgroup-manager must be cgroupfs, not '%s'", optarg);
      break;
    case 'R':
      if (strcmp(optarg, "true") == 0)
        return fail("--rootless true: rootless containers are not supported yet (docs/oci.md)");
      break;
    case 'I': break;
    case 'v': printf("airlock-oci version %s\nspec: %s\n+SECCOMP +LANDLOCK +CGROUPV1 +CGROUPV2\n", AIRLOCK_VERSION, AL_OCI_VERSION); return 0;
    case 'h': usage(stdout); return 0;
    case ':': return fail("option %s needs a value", argv[optind - 1]);
    default: return fail("unknown global option %s", argv[optind - 1]);
    }
  }
  if (optind >= argc) {
    usage(stderr);
    return OCI_EXIT_FAILED;
  }
  char **sub = argv + optind;
  int n = argc - optind;
  const char *cmd = sub[0];
  for (int i = 1; i < n; i++) { /* COMMAND --help */
    if (strcmp(sub[i], "--") == 0 || (strcmp(cmd, "exec") == 0 && sub[i][0] != '-'))
      break;
    if (strcmp(sub[i], "--help") == 0 || strcmp(sub[i], "-h") == 0) {
      usage(stdout);
      return 0;
    }
  }
  if (G.root[0] == '\0')
    return fail("--root must not be empty");
  if (systemd && strcmp(cmd, "features") != 0 && strcmp(cmd, "version") != 0 && strcmp(cmd, "state") != 0 &&
      strcmp(cmd, "list") != 0)
    return fail("--systemd-cgroup is not supported: airlock places each container in cgroups of its own (cgroupfs); "
                "use --cgroup-manager cgroupfs (Podman: --cgroup-manager=cgroupfs; docs/oci.md)");
  if (strcmp(cmd, "create") == 0)
    return cmd_create(n, sub, false);
  if (strcmp(cmd, "run") == 0)
    return cmd_create(n, sub, true);
  if (strcmp(cmd, "start") == 0)
    return cmd_start(n, sub);
  if (strcmp(cmd, "state") == 0)
    return cmd_state(n, sub);
  if (strcmp(cmd, "kill") == 0)
    return cmd_kill(n, sub);
  if (strcmp(cmd, "delete") == 0)
    return cmd_delete(n, sub);
  if (strcmp(cmd, "exec") == 0)
    return cmd_exec(n, sub);
  if (strcmp(cmd, "list") == 0)
    return cmd_list(n, sub);
  if (strcmp(cmd, "features") == 0) {
    char *f = al_oci_features_json();
    if (!f)
      return fail("features: out of memory");
    printf("%s\n", f);
    free(f);
    return 0;
  }
  if (strcmp(cmd, "version") == 0) {
    printf("airlock-oci version %s\nspec: %s\n", AIRLOCK_VERSION, AL_OCI_VERSION);
    return 0;
  }
  if (strcmp(cmd, "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "ps") == 0) {
    bool json = n >= 4 && (strcmp(sub[1], "--format") == 0 || strcmp(sub[1], "-f") == 0) && strcmp(sub[2], "json") == 0;
    if (n < 2)
      return fail("ps: a container id is needed");
    airlock_error *err = NULL;
    return al_oci_ps(&G, sub[n - 1], json, &err) < 0 ? fail_err(&err) : 0;
  }
  if (strcmp(cmd, "pause") == 0 || strcmp(cmd, "resume") == 0 || strcmp(cmd, "update") == 0 ||
      strcmp(cmd, "checkpoint") == 0 || strcmp(cmd, "restore") == 0 ||
      strcmp(cmd, "events") == 0 || strcmp(cmd, "spec") == 0)
    return fail("%s is not supported by airlock-oci (docs/oci.md)", cmd);
  fail("unknown command '%s'", cmd);
  usage(stderr);
  return OCI_EXIT_FAILED;
}

#ifdef AIRLOCK_OCI_MAIN
int main(int argc, char **argv) { return cli_oci(argc, argv); }
#endif
