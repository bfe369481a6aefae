/* SPDX-License-Identifier: Apache-2.0 */
/* secret_cmd.c - `airlock secret set|list|rm|get|rotate-key`: the node's secret store
 * (src/store/secrets.c).  A value enters only through stdin (never an argument
 * or an environment variable, which other users can see in /proc), is read
 * straight into guarded memory, and leaves only through `get --reveal`,
 * byte for byte on stdout.  Exit 2: bad usage; 1: the operation failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "airlock/airlock.h"
#include "cli.h"
#include "secrets.h"
#include "statedir.h"

enum { OPT_STATE_DIR = 256, OPT_JSON, OPT_PROMPT, OPT_REVEAL, OPT_HELP };

static const struct option set_options[] = {
    {"state-dir", required_argument, 0, OPT_STATE_DIR},
    {"prompt", no_argument, 0, OPT_PROMPT},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};
static const struct option list_options[] = {
    {"state-dir", required_argument, 0, OPT_STATE_DIR},
    {"json", no_argument, 0, OPT_JSON},
    CLI_FORMAT_OPTION,
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};
static const struct option rm_options[] = {
    {"state-dir", required_argument, 0, OPT_STATE_DIR},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};
static const struct option rotate_options[] = {
    {"state-dir", required_argument, 0, OPT_STATE_DIR},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};
static const struct option get_options[] = {
    {"state-dir", required_argument, 0, OPT_STATE_DIR},
    {"reveal", no_argument, 0, OPT_REVEAL},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};

static void usage(FILE *out) {
  fprintf(out, "usage: airlock secret set NAME [--state-dir DIR] [--prompt]  < VALUE\n"
               "       airlock secret list [--state-dir DIR] [--json]\n"
               "       airlock secret rm NAME [--state-dir DIR]\n"
               "       airlock secret get NAME --reveal [--state-dir DIR]\n"
               "       airlock secret rotate-key [--state-dir DIR]\n"
               "\n"
               "Secrets for the node, encrypted at rest in STATE_DIR/secrets.db under a master\n"
               "key ($CREDENTIALS_DIRECTORY/airlock-master-key, else STATE_DIR/master.key).\n"
               "set reads the value from stdin (one trailing newline is dropped; at most\n"
               "64 KiB); there is no way to give it as an argument.  rotate-key makes a new\n"
               "STATE_DIR/master.key and seals every secret again under it, all or nothing.\n"
               "\n"
               "  NAME                      1 to 64 of A-Z a-z 0-9 . _ -\n"
               "  --state-dir DIR           default /var/lib/airlock as root, else\n"
               "                            $XDG_STATE_HOME/airlock or ~/.local/state/airlock\n"
               "  --prompt                  set: stdin may be a terminal; ask with echo off\n"
               "  --json                    list: JSON instead of a table (also --format table|json)\n"
               "  --reveal                  get: yes, print the value (raw bytes) on stdout\n"
               "\n"
               "exit: 0 done, 1 the operation failed, 2 bad usage.\n");
}

#define fail(code, sub, ...) cli_fail("secret", sub, code, __VA_ARGS__)
#define fail_error(sub, err) cli_fail_error("secret", sub, CLI_EXIT_FAILED, err)
#define bad_option(sub, opt, argv) cli_bad_option("secret", sub, opt, argv)

/* What every subcommand parses: options, then exactly `want_name` names. */
typedef struct {
  const char *state_flag, *name;
  bool json, prompt, reveal;
} args;

static int parse(const char *sub, int argc, char **argv, const struct option *options, bool want_name, args *a) {
  int opt;
  opterr = 0;
  optind = 0;
  while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
    switch (opt) {
    case 'h':
    case OPT_HELP: usage(stdout); return -1;
    case OPT_STATE_DIR: a->state_flag = optarg; break;
    case OPT_JSON: a->json = true; break;
    case CLI_OPT_FORMAT:
      if (cli_format_json("secret", sub, optarg, &a->json) != 0)
        return CLI_EXIT_USAGE;
      break;
    case OPT_PROMPT: a->prompt = true; break;
    case OPT_REVEAL: a->reveal = true; break;
    default: return bad_option(sub, opt, argv);
    }
  }
  if (want_name) {
    if (optind >= argc)
      return fail(CLI_EXIT_USAGE, sub, "which secret? airlock secret %s NAME", sub);
    if (argc - optind > 1)
      return fail(CLI_EXIT_USAGE, sub, "one name at a time, and no value as an argument (set reads it from stdin)");
    a->name = argv[optind];
    if (!al_secret_name_valid(a->name))
      return fail(CLI_EXIT_USAGE, sub, "invalid name '%.80s': use 1 to %d of A-Z a-z 0-9 . _ -", a->name,
                  AL_SECRET_NAME_MAX);
  } else if (optind < argc) {
    return fail(CLI_EXIT_USAGE, sub, "unexpected argument '%s'", argv[optind]);
  }
  return 0;
}

/* parse()'s answer as an exit code: -1 was --help */
static int parsed_exit(int rc) { return rc < 0 ? CLI_EXIT_OK : rc; }

/* Open the store in the flag's directory or the default one; 0, or an exit
 * code after printing why.  A missing store with !create: *out stays NULL
 * and 0 is returned when missing_ok. */
static int open_store(const char *sub, const args *a, bool create, bool missing_ok, al_secrets **out) {
  *out = NULL;
  char *dir = NULL;
  int dir_code = cli_state_dir("secret", sub, a->state_flag, &dir);
  if (dir_code != 0)
    return dir_code;
  airlock_error *err = NULL;
  int rc = al_secrets_open(dir, create, out, &err);
  if (rc < 0 && err->errnum == ENOENT && !create) {
    airlock_error_free(&err);
    rc = missing_ok ? CLI_EXIT_OK
                    : fail(CLI_EXIT_FAILED, sub, "no secret named '%s' (no secret database in %s)", a->name, dir);
    free(dir);
    return rc;
  }
  free(dir);
  return rc < 0 ? fail_error(sub, &err) : CLI_EXIT_OK;
}

/* --- set ------------------------------------------------------------------ */

static struct termios saved_tty;
static volatile sig_atomic_t tty_changed;

static void restore_tty(void) {
  if (tty_changed) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
    tty_changed = 0;
  }
}

/* Ctrl-C at the prompt: echo back on, then die of the signal as usual. */
static void on_signal(int sig) {
  restore_tty();
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Read stdin into buf (cap bytes) with read(2): no stdio buffer keeps a
 * copy.  With one_line, stop after the first newline (the prompt).  Stops
 * at cap: the caller makes cap larger than any valid input.  *len is what
 * was read; -1 on a read error. */
static int read_value(unsigned char *buf, size_t cap, bool one_line, size_t *len) {
  size_t n = 0;
  while (n < cap) {
    ssize_t got = read(STDIN_FILENO, buf + n, one_line ? 1 : cap - n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      return -1;
    if (got == 0)
      break;
    n += (size_t)got;
    if (one_line && buf[n - 1] == '\n')
      break;
  }
  *len = n;
  return 0;
}

static int secret_set(int argc, char **argv) {
  const char *sub = "set";
  args a = {0};
  int rc = parse(sub, argc, argv, set_options, true, &a);
  if (rc != 0)
    return parsed_exit(rc);
  bool tty = isatty(STDIN_FILENO);
  if (tty && !a.prompt)
    return fail(CLI_EXIT_USAGE, sub,
                "stdin is a terminal: pipe the value in (e.g. from a password manager) or use --prompt to type it"
                " with echo off");

  al_secrets *store = NULL;
  /* the largest value, its newline, and one byte to tell that more came */
  size_t cap = AL_SECRET_VALUE_MAX + 2;
  unsigned char *buf = al_secret_alloc(cap);
  if (buf == NULL)
    return fail(CLI_EXIT_FAILED, sub, "out of memory");
  size_t len = 0;
  if (tty) {
    if (tcgetattr(STDIN_FILENO, &saved_tty) < 0) {
      rc = fail(CLI_EXIT_FAILED, sub, "cannot read the terminal settings: %s", strerror(errno));
      goto out;
    }
    struct termios quiet = saved_tty;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGQUIT, on_signal);
    fprintf(stderr, "value for secret '%s' (not echoed): ", a.name);
    fflush(stderr);
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0) {
      rc = fail(CLI_EXIT_FAILED, sub, "cannot turn echo off: %s", strerror(errno));
      goto out;
    }
    tty_changed = 1;
  }
  int got = read_value(buf, cap, tty, &len);
  int read_errno = errno;
  if (tty) {
    restore_tty();
    fputc('\n', stderr);
  }
  if (got < 0) {
    rc = fail(CLI_EXIT_FAILED, sub, "cannot read the value from stdin: %s", strerror(read_errno));
    goto out;
  }
  if (len > 0 && buf[len - 1] == '\n')
    len--; /* one trailing newline, as `echo` and editors add */
  if (len == 0) {
    rc = fail(CLI_EXIT_USAGE, sub, "the value on stdin is empty; nothing stored");
    goto out;
  }
  if (len > AL_SECRET_VALUE_MAX) {
    rc = fail(CLI_EXIT_FAILED, sub, "the value on stdin is larger than %d bytes (64 KiB)", AL_SECRET_VALUE_MAX);
    goto out;
  }
  /* the store is opened (and made) only once there is a value to put in it */
  if ((rc = open_store(sub, &a, true, false, &store)) != CLI_EXIT_OK)
    goto out;
  airlock_error *err = NULL;
  if (al_secrets_set(store, a.name, buf, len, &err) < 0) {
    rc = fail_error(sub, &err);
    goto out;
  }
  printf("secret '%s' stored\n", a.name);
  rc = CLI_EXIT_OK;
out:
  al_secret_free(buf, cap);
  al_secrets_close(store);
  return rc;
}

/* --- list ----------------------------------------------------------------- */

static void format_time(int64_t t, char *buf, size_t len) {
  time_t tt = (time_t)t;
  struct tm tm;
  if (t <= 0 || gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    snprintf(buf, len, "-");
}

static int print_list(const al_secret_info *list, size_t n, bool json) {
  if (!json) {
    int width = 4;
    for (size_t i = 0; i < n; i++) {
      int w = (int)strlen(list[i].name);
      width = w > width ? w : width;
    }
    printf("%-*s  %-20s  %s\n", width, "NAME", "CREATED", "UPDATED");
    for (size_t i = 0; i < n; i++) {
      char created[32], updated[32];
      format_time(list[i].created_at, created, sizeof(created));
      format_time(list[i].updated_at, updated, sizeof(updated));
      printf("%-*s  %-20s  %s\n", width, list[i].name, created, updated);
    }
    return 0;
  }
  json_t *root = json_array();
  for (size_t i = 0; root != NULL && i < n; i++) {
    json_t *item = json_pack("{s:s, s:I, s:I}", "name", list[i].name, "created_at", (json_int_t)list[i].created_at,
                             "updated_at", (json_int_t)list[i].updated_at);
    if (item == NULL || json_array_append_new(root, item) < 0) {
      json_decref(root);
      root = NULL;
    }
  }
  char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(root);
  if (text == NULL)
    return -1;
  printf("%s\n", text);
  free(text);
  return 0;
}

static int secret_list(int argc, char **argv) {
  const char *sub = "list";
  args a = {0};
  int rc = parse(sub, argc, argv, list_options, false, &a);
  if (rc != 0)
    return parsed_exit(rc);
  al_secrets *store = NULL;
  if ((rc = open_store(sub, &a, false, true, &store)) != CLI_EXIT_OK)
    return rc;
  al_secret_info *list = NULL;
  size_t n = 0;
  if (store != NULL) { /* NULL: no store yet, no secrets */
    airlock_error *err = NULL;
    rc = al_secrets_list(store, &list, &n, &err);
    al_secrets_close(store);
    if (rc < 0)
      return fail_error(sub, &err);
  }
  rc = print_list(list, n, a.json);
  free(list);
  if (rc < 0 || fflush(stdout) != 0)
    return fail(CLI_EXIT_FAILED, sub, "could not write the list");
  return CLI_EXIT_OK;
}

/* --- rm ------------------------------------------------------------------- */

static int secret_rm(int argc, char **argv) {
  const char *sub = "rm";
  args a = {0};
  int rc = parse(sub, argc, argv, rm_options, true, &a);
  if (rc != 0)
    return parsed_exit(rc);
  al_secrets *store = NULL;
  if ((rc = open_store(sub, &a, false, false, &store)) != CLI_EXIT_OK)
    return rc;
  airlock_error *err = NULL;
  rc = al_secrets_rm(store, a.name, &err);
  al_secrets_close(store);
  if (rc < 0)
    return fail_error(sub, &err);
  printf("secret '%s' removed\n", a.name);
  return CLI_EXIT_OK;
}

/* --- get ------------------------------------------------------------------ */

static int secret_get(int argc, char **argv) {
  const char *sub = "get";
  args a = {0};
  int rc = parse(sub, argc, argv, get_options, true, &a);
  if (rc != 0)
    return parsed_exit(rc);
  if (!a.reveal)
    return fail(CLI_EXIT_USAGE, sub,
                "refusing to print secret '%s' without --reveal (it would land in the terminal's scrollback or a"
                " log)",
                a.name);
  al_secrets *store = NULL;
  if ((rc = open_store(sub, &a, false, false, &store)) != CLI_EXIT_OK)
    return rc;
  airlock_error *err = NULL;
  unsigned char *value = NULL;
  size_t len = 0;
  rc = al_secrets_get(store, a.name, &value, &len, &err);
  al_secrets_close(store);
  if (rc < 0)
    return fail_error(sub, &err);
  /* write(2), not stdio: no buffer outside guarded memory holds the value */
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(STDOUT_FILENO, value + off, len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    off += (size_t)n;
  }
  int write_errno = errno;
  al_secret_free(value, len);
  if (off < len)
    return fail(CLI_EXIT_FAILED, sub, "could not write the value to stdout: %s", strerror(write_errno));
  return CLI_EXIT_OK;
}

/* --- rotate-key ----------------------------------------------------------- */

static int secret_rotate_key(int argc, char **argv) {
  const char *sub = "rotate-key";
  args a = {0};
  int rc = parse(sub, argc, argv, rotate_options, false, &a);
  if (rc != 0)
    return parsed_exit(rc);
  al_secrets *store = NULL;
  if ((rc = open_store(sub, &a, false, true, &store)) != CLI_EXIT_OK)
    return rc;
  if (store == NULL)
    return fail(CLI_EXIT_FAILED, sub, "there is no secret database yet: nothing to rotate");
  airlock_error *err = NULL;
  size_t n = 0;
  rc = al_secrets_rotate_key(store, &n, &err);
  al_secrets_close(store);
  if (rc < 0)
    return fail_error(sub, &err);
  printf("master key rotated: %zu secret%s sealed again under the new key\n", n, n == 1 ? "" : "s");
  return CLI_EXIT_OK;
}

int cli_secret(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  const char *sub = argv[1];
  if (strcmp(sub, "set") == 0)
    return secret_set(argc - 1, argv + 1);
  if (strcmp(sub, "list") == 0)
    return secret_list(argc - 1, argv + 1);
  if (strcmp(sub, "rm") == 0)
    return secret_rm(argc - 1, argv + 1);
  if (strcmp(sub, "get") == 0)
    return secret_get(argc - 1, argv + 1);
  if (strcmp(sub, "rotate-key") == 0)
    return secret_rotate_key(argc - 1, argv + 1);
  if (strcmp(sub, "help") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
    usage(stdout);
    return CLI_EXIT_OK;
  }
  return fail(CLI_EXIT_USAGE, NULL, "unknown subcommand '%s': set, list, rm, get or rotate-key", sub);
}
