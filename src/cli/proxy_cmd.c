/* SPDX-License-Identifier: Apache-2.0 */
/* proxy_cmd.c - `airlock proxy`: the egress proxy as a process of its own.
 * Standalone it listens where --listen says (the sidecar of a container
 * that may reach exactly the hosts listed); `airlock run --network proxy`
 * starts it with --control-fd/--config-fd and hands it the sockets created
 * inside the sandbox.  The work is in src/proxy/. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "airlock/airlock.h"
#include "cleanup.h"
#include "cli.h"
#include "proxy.h"
#include "statedir.h"

enum {
  OPT_LISTEN = 256,
  OPT_DNS_LISTEN,
  OPT_CONFIG,
  OPT_ALLOW,
  OPT_DENY,
  OPT_ALLOW_ADDRESS,
  OPT_RESOLVER,
  OPT_LOG,
  OPT_SANDBOX,
  OPT_STATE_DIR,
  OPT_READY_FILE,
  OPT_CONTROL_FD,
  OPT_CONFIG_FD,
  OPT_LOG_FD,
  OPT_CA_CERT,
  OPT_CA_VALIDITY,
  OPT_HELP,
};

static const struct option options[] = {
    {"listen", required_argument, 0, OPT_LISTEN},
    {"dns-listen", required_argument, 0, OPT_DNS_LISTEN},
    {"config", required_argument, 0, OPT_CONFIG},
    {"allow", required_argument, 0, OPT_ALLOW},
    {"deny", required_argument, 0, OPT_DENY},
    {"allow-address", required_argument, 0, OPT_ALLOW_ADDRESS},
    {"resolver", required_argument, 0, OPT_RESOLVER},
    {"log", required_argument, 0, OPT_LOG},
    {"sandbox", required_argument, 0, OPT_SANDBOX},
    {"state-dir", required_argument, 0, OPT_STATE_DIR},
    {"ready-file", required_argument, 0, OPT_READY_FILE},
    {"control-fd", required_argument, 0, OPT_CONTROL_FD},
    {"config-fd", required_argument, 0, OPT_CONFIG_FD},
    {"log-fd", required_argument, 0, OPT_LOG_FD},
    {"ca-cert", required_argument, 0, OPT_CA_CERT},
    {"ca-validity", required_argument, 0, OPT_CA_VALIDITY},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};

static void usage(FILE *out) {
  fprintf(out, "usage: airlock proxy --listen ADDR:PORT [--allow HOST[:PORT]]... [--deny HOST[:PORT]]...\n"
               "                     [--config FILE] [--dns-listen ADDR:PORT] [--allow-address CIDR]...\n"
               "                     [--resolver IP[:PORT]] [--log FILE] [--sandbox NAME] [--state-dir DIR]\n"
               "                     [--ready-file FILE] [--ca-cert FILE] [--ca-validity SECONDS]\n"
               "\n"
               "The egress proxy: HTTP CONNECT and absolute-URI requests to the hosts the rules\n"
               "allow (deny by default), credential injection routes, one JSON line per\n"
               "decision on stderr or --log.  See docs/egress.md.\n"
               "  --listen ADDR:PORT        where to accept connections (e.g. 127.0.0.1:3128)\n"
               "  --allow, --deny RULE      HOST, *.SUFFIX, IP or CIDR, with :PORT or :* (no port: 80 and 443)\n"
               "  --config FILE             an airlock config file: its \"network\" object (rules, inject,\n"
               "                            rateLimit, limits, allowAddresses, resolver, upstreamCa)\n"
               "  --dns-listen ADDR:PORT    also answer DNS (UDP) from the rules alone\n"
               "  --allow-address CIDR      an address the proxy may connect to although it is private,\n"
               "                            loopback or link-local\n"
               "  --resolver IP[:PORT]      the DNS server the proxy itself uses (default: the system's)\n"
               "  --log FILE                append the JSON-lines records there (default: stderr)\n"
               "  --sandbox NAME            the name put in every record\n"
               "  --state-dir DIR           where the secret store is (for injection routes)\n"
               "  --ready-file FILE         write the proxy's pid there once it is listening\n"
               "  --ca-cert FILE            write the certificate of the CA of inspected hosts there\n"
               "                            (allow entries with \"inspect\": true); clients must trust it\n"
               "  --ca-validity SECONDS     how long that CA is valid (default 86400)\n");
}

#define bad(...) cli_fail("proxy", NULL, CLI_EXIT_USAGE, __VA_ARGS__)

static int fd_arg(const char *s, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < 3 || v > 1 << 20)
    return -1;
  *out = (int)v;
  return 0;
}

int cli_proxy(int argc, char **argv) {
  al_proxy_options o = {.control_fd = -1, .config_fd = -1, .log_fd = -1};
  const char *state_flag = NULL;
  /* at most argc of each list */
  _cleanup_free_ const char **allow = calloc((size_t)argc + 1, sizeof(char *));
  _cleanup_free_ const char **deny = calloc((size_t)argc + 1, sizeof(char *));
  _cleanup_free_ const char **addrs = calloc((size_t)argc + 1, sizeof(char *));
  if (!allow || !deny || !addrs)
    return cli_fail("proxy", NULL, CLI_EXIT_FAILED, "out of memory");
  o.allow = allow;
  o.deny = deny;
  o.allow_addresses = addrs;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+", options, NULL)) != -1) {
    switch (c) {
    case OPT_LISTEN: o.listen = optarg; break;
    case OPT_DNS_LISTEN: o.dns_listen = optarg; break;
    case OPT_CONFIG: o.config_path = optarg; break;
    case OPT_ALLOW: allow[o.n_allow++] = optarg; break;
    case OPT_DENY: deny[o.n_deny++] = optarg; break;
    case OPT_ALLOW_ADDRESS: addrs[o.n_allow_addresses++] = optarg; break;
    case OPT_RESOLVER: o.resolver = optarg; break;
    case OPT_LOG: o.log_path = optarg; break;
    case OPT_SANDBOX: o.sandbox = optarg; break;
    case OPT_STATE_DIR: state_flag = optarg; break;
    case OPT_READY_FILE: o.ready_file = optarg; break;
    case OPT_CONTROL_FD:
      if (fd_arg(optarg, &o.control_fd) < 0)
        return bad("--control-fd '%s' is not a file descriptor number (3 or more)", optarg);
      break;
    case OPT_CONFIG_FD:
      if (fd_arg(optarg, &o.config_fd) < 0)
        return bad("--config-fd '%s' is not a file descriptor number (3 or more)", optarg);
      break;
    case OPT_LOG_FD:
      if (fd_arg(optarg, &o.log_fd) < 0)
        return bad("--log-fd '%s' is not a file descriptor number (3 or more)", optarg);
      break;
    case OPT_CA_CERT: o.ca_cert_path = optarg; break;
    case OPT_CA_VALIDITY: {
      char *end;
      long long v = strtoll(optarg, &end, 10);
      if (!*optarg || *end || v < 60 || v > 10LL * 365 * 24 * 3600)
        return bad("--ca-validity '%s' is not a number of seconds from 60 to ten years", optarg);
      o.ca_validity_s = v;
      break;
    }
    case OPT_HELP: usage(stdout); return 0;
    default:
      bad("unknown or incomplete option '%s'", argv[optind - 1]);
      usage(stderr);
      return CLI_EXIT_USAGE;
    }
  }
  if (optind < argc)
    return bad("unexpected argument '%s'", argv[optind]);
  if (!o.listen == (o.control_fd < 0))
    return bad("%s", o.listen ? "--listen and --control-fd exclude each other" : "--listen ADDR:PORT is required");
  if (o.log_fd >= 0 && o.log_path)
    return bad("%s", "--log and --log-fd exclude each other");
  if (o.config_fd >= 0 && o.config_path)
    return bad("%s", "--config and --config-fd exclude each other");
  if (o.control_fd >= 0 && (o.dns_listen || o.ready_file || o.ca_cert_path))
    return bad("%s", "--dns-listen, --ready-file and --ca-cert are for a standalone proxy (--listen)");
  /* the store is needed only by injection routes: no default is no error */
  if (state_flag && state_flag[0] == '\0')
    return bad("--state-dir must not be empty");
  _cleanup_free_ char *state_dir = state_flag ? strdup(state_flag) : al_default_state_dir();
  o.state_dir = state_dir;
  airlock_error *err = NULL;
  if (al_proxy_serve(&o, &err) < 0)
    return cli_fail_error("proxy", NULL, CLI_EXIT_FAILED, &err);
  return 0;
}
