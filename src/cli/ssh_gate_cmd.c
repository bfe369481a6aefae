/* SPDX-License-Identifier: Apache-2.0 */
/* ssh_gate_cmd.c - `airlock ssh-gate`: the forced command of an
 * authorized_keys line on a sandbox server.  Whatever the SSH client asked to
 * run (SSH_ORIGINAL_COMMAND) runs on an airlock node, in a persistent sandbox
 * per key (or a fresh one per connection), under the node's policy, limits and
 * audit trail; the SSH user gets nothing else.  The node does the work: this
 * command only finds or makes the key's sandbox and hands the command to
 * `airlock exec` in the same process, so output, stdin, terminals and exit
 * codes behave exactly as there. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "error.h"

#define LABEL "ssh-gate"
#define MAX_TOKEN 512

typedef struct gate_config {
  char *node;
  char *token;
  char *tls_ca;
  bool per_key; /* scope "key" (default): one persistent sandbox per key name */
  long timeout_s;
} gate_config;

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = cli_vfail("ssh-gate", NULL, AIRLOCK_EXIT_SETUP, fmt, ap);
  va_end(ap);
  return rc;
}

static void config_clear(gate_config *c) {
  free(c->node);
  if (c->token)
    explicit_bzero(c->token, strlen(c->token));
  free(c->token);
  free(c->tls_ca);
}

static void usage(FILE *out) {
  fprintf(out, "usage: airlock ssh-gate --config FILE [--key NAME]\n"
               "\n"
               "The forced command of an authorized_keys line, for example\n"
               "  restrict,command=\"airlock ssh-gate --config /etc/airlock/ssh-gate.json --key alice\" ssh-ed25519 AAAA...\n"
               "The command the SSH client asked for runs as `/bin/sh -c COMMAND` on the airlock node the\n"
               "config names, in that key's persistent sandbox (scope \"key\") or a fresh one per\n"
               "connection (scope \"connection\"); with no command and a terminal, a login shell there.\n"
               "\n"
               "config (JSON): {\"node\": \"unix:/run/airlock/node.sock\", \"token_file\": FILE,\n"
               "                \"scope\": \"key\"|\"connection\", \"tls_ca\": FILE, \"timeout_s\": N}\n"
               "exit: the command's code; 125 when the gate or the node refused.\n");
}

/* The token file: one line, readable by nobody but its owner (it is the
 * tenant's credential on the node); opened once, checked on the descriptor. */
static int read_token(const char *path, char **out) {
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  if (fd < 0)
    return fail("cannot open token_file '%s': %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
    return fail("token_file '%s' is not a regular file", path);
  if (st.st_mode & 077)
    return fail("token_file '%s' is readable by others (mode %03o): chmod 600 it", path, st.st_mode & 0777);
  if (st.st_uid != geteuid())
    return fail("token_file '%s' belongs to uid %u, not to this user (uid %u)", path, st.st_uid, geteuid());
  char buf[MAX_TOKEN + 2];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  if (n < 0)
    return fail("cannot read token_file '%s': %s", path, strerror(errno));
  buf[n] = '\0';
  buf[strcspn(buf, "\r\n")] = '\0';
  if (buf[0] == '\0' || strlen(buf) > MAX_TOKEN) {
    explicit_bzero(buf, sizeof(buf));
    return fail("token_file '%s' holds no token on its first line", path);
  }
  *out = strdup(buf);
  explicit_bzero(buf, sizeof(buf));
  return *out ? 0 : fail("out of memory");
}

static void json_release(json_t **j) { json_decref(*j); }

static int load_config(int fd, const char *path, gate_config *c) {
  json_error_t jerr;
  __attribute__((cleanup(json_release))) json_t *root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return fail("%s:%d: %s", path, jerr.line, jerr.text);
  if (!json_is_object(root))
    return fail("%s: the config is a JSON object", path);
  const char *key;
  json_t *v;
  const char *token_file = NULL;
  c->per_key = true;
  json_object_foreach(root, key, v) {
    if (strcmp(key, "node") == 0 || strcmp(key, "token_file") == 0 || strcmp(key, "tls_ca") == 0 ||
        strcmp(key, "scope") == 0) {
      if (!json_is_string(v) || json_string_length(v) == 0)
        return fail("%s: '%s' must be a non-empty string", path, key);
      const char *s = json_string_value(v);
      if (strcmp(key, "node") == 0)
        c->node = strdup(s);
      else if (strcmp(key, "tls_ca") == 0)
        c->tls_ca = strdup(s);
      else if (strcmp(key, "token_file") == 0)
        token_file = s;
      else if (strcmp(s, "key") == 0 || strcmp(s, "connection") == 0)
        c->per_key = strcmp(s, "key") == 0;
      else
        return fail("%s: scope must be \"key\" or \"connection\", not \"%s\"", path, s);
    } else if (strcmp(key, "timeout_s") == 0) {
      if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 7 * 86400)
        return fail("%s: timeout_s must be a whole number of seconds from 1 to 604800", path);
      c->timeout_s = (long)json_integer_value(v);
    } else {
      return fail("%s: unknown key '%s' (node, token_file, scope, tls_ca, timeout_s)", path, key);
    }
  }
  if (!token_file)
    return fail("%s: token_file is missing (a file holding the node token of this gate's tenant)", path);
  if (!c->node && !(c->node = cli_default_node("ssh-gate")))
    return AIRLOCK_EXIT_SETUP;
  return read_token(token_file, &c->token);
}

/* A key name becomes a label value and a log word: letters, digits, . _ - @ */
static bool key_name_ok(const char *k) {
  size_t n = strlen(k);
  if (n == 0 || n > 64)
    return false;
  for (const char *p = k; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("._-@", *p)))
      return false;
  return true;
}

/* The key's sandbox: the newest of the tenant's sandboxes labelled with the
 * key, else a new one.  The caller holds the config's lock, so two
 * connections of one key do not both make one. */
static int key_sandbox(const gate_config *c, const char *key, char **id) {
  airlock_client_tls tls = {.ca_file = c->tls_ca};
  _cleanup_error_ airlock_error *err = NULL;
  airlock_client *client = NULL;
  if (airlock_client_open(c->node, c->token, &tls, &client, &err) < 0)
    return cli_fail_error("ssh-gate", NULL, AIRLOCK_EXIT_SETUP, &err);
  char *resp = NULL, *text = NULL;
  json_t *body = NULL;
  int rc = AIRLOCK_EXIT_SETUP;
  if (airlock_client_request(client, "GET", "/v1/sandboxes", NULL, 0, NULL, &resp, NULL, &err) < 0) {
    rc = cli_fail_error("ssh-gate", NULL, AIRLOCK_EXIT_SETUP, &err);
    goto out;
  }
  json_t *list = json_loads(resp, 0, NULL);
  json_t *arr = json_is_array(list) ? list : json_object_get(list, "sandboxes");
  int64_t newest = -1;
  size_t i;
  json_t *sb;
  json_array_foreach(arr, i, sb) {
    const char *label = json_string_value(json_object_get(json_object_get(sb, "labels"), LABEL));
    const char *state = json_string_value(json_object_get(sb, "state"));
    int64_t created = json_integer_value(json_object_get(sb, "created_at_ms"));
    if (label && strcmp(label, key) == 0 && state && strcmp(state, "ready") == 0 && created > newest) {
      free(*id);
      *id = strdup(json_string_value(json_object_get(sb, "id")));
      newest = created;
    }
  }
  json_decref(list);
  if (*id) {
    rc = 0;
    goto out;
  }
  body = json_pack("{s:{s:s}}", "labels", LABEL, key);
  text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  if (!text)
    rc = fail("out of memory");
  else if (airlock_client_sandbox_create(client, text, id, &err) < 0)
    rc = cli_fail_error("ssh-gate", NULL, AIRLOCK_EXIT_SETUP, &err);
  else
    rc = 0;
out:
  json_decref(body);
  free(text);
  free(resp);
  airlock_client_close(&client);
  return rc;
}

int cli_ssh_gate(int argc, char **argv) {
  static const struct option options[] = {
      {"config", required_argument, NULL, 'c'}, {"key", required_argument, NULL, 'k'},
      {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  const char *config = NULL, *key = "default";
  opterr = 0;
  optind = 0;
  int opt;
  while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
    if (opt == 'h') {
      usage(stdout);
      return 0;
    }
    if (opt == 'c')
      config = optarg;
    else if (opt == 'k')
      key = optarg;
    else
      return cli_bad_option("ssh-gate", NULL, opt, argv);
  }
  if (optind < argc)
    return fail("unexpected argument '%s': the command comes from the SSH client (SSH_ORIGINAL_COMMAND)", argv[optind]);
  if (!config)
    return fail("--config FILE is required (see 'airlock ssh-gate --help')");
  if (!key_name_ok(key))
    return fail("--key must be 1 to 64 letters, digits, '.', '_', '-' or '@', not '%s'", key);

  _cleanup_close_ int cfd = open(config, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (cfd < 0)
    return fail("cannot open --config '%s': %s", config, strerror(errno));
  __attribute__((cleanup(config_clear))) gate_config c = {0};
  int rc = load_config(cfd, config, &c);
  if (rc)
    return rc;

  const char *cmd = getenv("SSH_ORIGINAL_COMMAND");
  bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
  if ((!cmd || !*cmd) && !tty)
    return fail("no command: this key only runs commands in a sandbox (ssh HOST COMMAND, or ssh -t HOST for a shell)");

  _cleanup_free_ char *sandbox = NULL;
  if (c.per_key) {
    if (flock(cfd, LOCK_EX) < 0)
      return fail("cannot lock '%s': %s", config, strerror(errno));
    rc = key_sandbox(&c, key, &sandbox);
    flock(cfd, LOCK_UN);
    if (rc)
      return rc;
  }
  /* the rest is `airlock exec`: token in its environment, never in argv */
  if (setenv("AIRLOCK_TOKEN", c.token, 1) < 0)
    return fail("cannot set the token: %s", strerror(errno));
  char timeout[32];
  snprintf(timeout, sizeof(timeout), "%ld", c.timeout_s ? c.timeout_s : 600);
  char *args[16];
  int n = 0;
  args[n++] = "exec";
  args[n++] = "--node";
  args[n++] = c.node;
  if (c.tls_ca) {
    args[n++] = "--tls-ca";
    args[n++] = c.tls_ca;
  }
  if (sandbox) {
    args[n++] = "--sandbox";
    args[n++] = sandbox;
  }
  args[n++] = "--timeout";
  args[n++] = timeout;
  if (tty)
    args[n++] = "--pty";
  else /* stdin relayed as it comes: a client may keep it open while the command runs */
    args[n++] = "-i";
  if (cmd && *cmd) {
    args[n++] = "--shell";
    args[n++] = "--";
    args[n++] = (char *)cmd;
  } else {
    args[n++] = "--";
    args[n++] = "/bin/sh";
    args[n++] = "-l";
  }
  args[n] = NULL;
  return cli_exec(n, args);
}
