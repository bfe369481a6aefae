/* SPDX-License-Identifier: Apache-2.0 */
/* node_cmd.c - `airlock node`: flags and config file into the node's
 * configuration, then the library's node loop (src/node/). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "airlock/airlock.h"
#include "cli.h"
#include "cleanup.h"
#include "node.h"
#include "statedir.h"

int airlock_node_run(al_node_config *cfg, airlock_error **err);

enum {
  OPT_LISTEN = 256,
  OPT_CONFIG,
  OPT_STATE_DIR,
  OPT_TLS_CERT,
  OPT_TLS_KEY,
  OPT_TLS_CLIENT_CA,
  OPT_PLAINTEXT,
  OPT_READY_FILE,
  OPT_POOL,
  OPT_WORKSPACE_ROOT,
  OPT_ALLOW_DEGRADED,
  OPT_HELP,
  OPT_OC_GATEWAY,
  OPT_OC_SETUP,
  OPT_OC_TOKEN,
  OPT_OC_NAME,
  OPT_OC_SCOPE,
  OPT_OC_CA,
  OPT_LOG_FORMAT,
  OPT_LOG_LEVEL,
};

static const struct option options[] = {
    {"listen", required_argument, 0, OPT_LISTEN},
    {"config", required_argument, 0, OPT_CONFIG},
    {"state-dir", required_argument, 0, OPT_STATE_DIR},
    {"tls-cert", required_argument, 0, OPT_TLS_CERT},
    {"tls-key", required_argument, 0, OPT_TLS_KEY},
    {"tls-client-ca", required_argument, 0, OPT_TLS_CLIENT_CA},
    {"insecure-plaintext", no_argument, 0, OPT_PLAINTEXT},
    {"ready-file", required_argument, 0, OPT_READY_FILE},
    {"pool", required_argument, 0, OPT_POOL},
    {"workspace-root", required_argument, 0, OPT_WORKSPACE_ROOT},
    {"allow-degraded", no_argument, 0, OPT_ALLOW_DEGRADED},
    {"openclaw-gateway", required_argument, 0, OPT_OC_GATEWAY},
    {"openclaw-setup-code", required_argument, 0, OPT_OC_SETUP},
    {"openclaw-token", required_argument, 0, OPT_OC_TOKEN},
    {"openclaw-name", required_argument, 0, OPT_OC_NAME},
    {"openclaw-scope", required_argument, 0, OPT_OC_SCOPE},
    {"openclaw-ca", required_argument, 0, OPT_OC_CA},
    {"log-format", required_argument, 0, OPT_LOG_FORMAT},
    {"log-level", required_argument, 0, OPT_LOG_LEVEL},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};

static void usage(FILE *out) {
  fprintf(out, "usage: airlock node [OPTIONS]\n"
               "  --listen unix:PATH | tcp:HOST:PORT   repeatable; default a unix socket (0600)\n"
               "  --tls-cert FILE --tls-key FILE       TLS for tcp listeners (required off loopback)\n"
               "  --tls-client-ca FILE                 require client certificates signed by this CA\n"
               "  --insecure-plaintext                 allow plain HTTP on a loopback tcp listener\n"
               "  --config FILE                        JSON node config; flags override it (default: node.json in\n"
               "                                       /etc/airlock as root, else $XDG_CONFIG_HOME/airlock or\n"
               "                                       ~/.config/airlock, when it is there)\n"
               "  --state-dir DIR                      tokens and state (must be 0700; default AIRLOCK_STATE_DIR,\n"
               "                                       else /var/lib/airlock as root, else ~/.local/state/airlock)\n"
               "  --workspace-root DIR                 host workspaces must be below DIR\n"
               "  --pool N                             warm one-shot sandboxes (default 2)\n"
               "  --allow-degraded                     accept rlimit fallbacks where cgroups are missing\n"
               "  --ready-file FILE                    written when the node serves (also sd_notify)\n"
               "  --log-format text|json|journal|auto  the node's log on stderr (default auto: journald's fields\n"
               "                                       when stderr is the journal, else text)\n"
               "  --log-level error|warn|info|debug    default info (debug adds /metrics and /v1/health requests)\n"
               "  --openclaw-gateway ws://HOST:PORT    also serve an OpenClaw gateway as its node (docs/openclaw.md)\n"
               "  --openclaw-setup-code CODE           pair with a node-profile setup code (once)\n"
               "  --openclaw-token TOKEN               or with the gateway's shared token\n"
               "  --openclaw-name NAME                 the node's display name (default the host name)\n"
               "  --openclaw-scope session|agent|shared  one sandbox per session (default), agent, or for all\n"
               "  --openclaw-ca FILE                   CA certificates for a wss:// gateway (default the system's)\n");
}

static int set(char **field, const char *v) {
  free(*field);
  *field = strdup(v);
  return 0;
}

/* without --config: node.json of the default config directory, when it is
 * there (one that is there but cannot be read is an error, not skipped) */
static int load_default_config(al_node_config *cfg, airlock_error **err) {
  _cleanup_free_ char *dir = al_default_config_dir(), *path = NULL;
  struct stat st;
  if (dir == NULL || asprintf(&path, "%s/node.json", dir) < 0)
    return 0;
  if (lstat(path, &st) < 0 && errno == ENOENT)
    return 0;
  return al_node_config_load(cfg, path, err);
}

int cli_node(int argc, char **argv) {
  al_node_config cfg;
  al_node_config_init(&cfg);
  airlock_error *err = NULL;
  int code = CLI_EXIT_USAGE;
  opterr = 0;
  optind = 0;
  int opt;
  bool config_given = false;
  while ((opt = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
    config_given = config_given || opt == OPT_CONFIG;
    if (opt == OPT_CONFIG && al_node_config_load(&cfg, optarg, &err) < 0)
      goto fail;
  }
  if (!config_given && load_default_config(&cfg, &err) < 0)
    goto fail;
  optind = 0;
  bool listen_given = false;
  while ((opt = getopt_long(argc, argv, "+:h", options, NULL)) != -1) {
    switch (opt) {
    case OPT_CONFIG: break;
    case OPT_LISTEN:
      if (!listen_given) { /* flags replace the config's list */
        for (size_t i = 0; i < cfg.n_listen; i++)
          free(cfg.listen[i]);
        cfg.n_listen = 0;
        listen_given = true;
      }
      {
        char **grown = realloc(cfg.listen, (cfg.n_listen + 1) * sizeof(char *));
        if (grown == NULL || (grown[cfg.n_listen] = strdup(optarg)) == NULL) {
          if (grown)
            cfg.listen = grown;
          code = cli_fail("node", NULL, CLI_EXIT_FAILED, "out of memory");
          goto out;
        }
        cfg.listen = grown;
        cfg.n_listen++;
      }
      break;
    case OPT_STATE_DIR: set(&cfg.state_dir, optarg); break;
    case OPT_TLS_CERT: set(&cfg.tls_cert, optarg); break;
    case OPT_TLS_KEY: set(&cfg.tls_key, optarg); break;
    case OPT_TLS_CLIENT_CA: set(&cfg.tls_client_ca, optarg); break;
    case OPT_READY_FILE: set(&cfg.ready_file, optarg); break;
    case OPT_WORKSPACE_ROOT: set(&cfg.workspace_root, optarg); break;
    case OPT_PLAINTEXT: cfg.insecure_plaintext = true; break;
    case OPT_OC_GATEWAY: set(&cfg.openclaw_gateway, optarg); break;
    case OPT_OC_SETUP: set(&cfg.openclaw_setup_code, optarg); break;
    case OPT_OC_TOKEN: set(&cfg.openclaw_token, optarg); break;
    case OPT_OC_NAME: set(&cfg.openclaw_name, optarg); break;
    case OPT_OC_SCOPE: set(&cfg.openclaw_scope, optarg); break;
    case OPT_OC_CA: set(&cfg.openclaw_ca, optarg); break;
    case OPT_ALLOW_DEGRADED: cfg.sandbox.allow_degraded = true; break;
    case OPT_LOG_FORMAT:
      if (al_log_format_parse(optarg, &cfg.log_format, "--log-format", &err) < 0) {
        code = cli_fail_error("node", NULL, CLI_EXIT_USAGE, &err);
        goto out;
      }
      break;
    case OPT_LOG_LEVEL:
      if (al_log_level_parse(optarg, &cfg.log_level, "--log-level", &err) < 0) {
        code = cli_fail_error("node", NULL, CLI_EXIT_USAGE, &err);
        goto out;
      }
      break;
    case OPT_POOL: {
      char *end = NULL;
      long v = strtol(optarg, &end, 10);
      if (!*optarg || *end || v < 0 || v > 64) {
        cli_fail("node", NULL, CLI_EXIT_USAGE, "--pool must be a number from 0 to 64, not '%s'", optarg);
        goto out;
      }
      cfg.pool_size = v;
      break;
    }
    case OPT_HELP:
    case 'h':
      usage(stdout);
      code = 0;
      goto out;
    default:
      cli_bad_option("node", NULL, opt, argv);
      goto out;
    }
  }
  if (optind < argc) {
    cli_fail("node", NULL, CLI_EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
    goto out;
  }
  code = airlock_node_run(&cfg, &err) < 0 ? CLI_EXIT_FAILED : 0;
  if (code == 0)
    goto out;
fail:
  code = cli_fail_error("node", NULL, CLI_EXIT_FAILED, &err);
out:
  al_node_config_clear(&cfg);
  return code;
}
