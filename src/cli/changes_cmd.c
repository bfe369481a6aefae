/* SPDX-License-Identifier: Apache-2.0 */
/* changes_cmd.c - `airlock changes list|show|diff|apply|discard`: the
 * changesets that runs in --workspace-mode changes saved (src/workspace/
 * does the work: reading them, the diff, the fd-relative apply shared with
 * live write-back).  The workspace is re-opened by the path recorded for
 * display, without following links, and must be the same directory
 * (device and inode) the changeset was taken from. */
#define _GNU_SOURCE
#include "changeset.h"
#include "cleanup.h"
#include "error.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define CMD "changes"
#define MAX_DIFF_BYTES (16u << 20)

typedef struct {
  const char *sub;
  const char *state_flag;
  const char *workspace;
  bool json, force;
  char *state_dir;
} opts;

static void usage(FILE *out) {
  fprintf(out, "usage: airlock changes list [--format text|json]\n"
               "       airlock changes show ID [--format text|json]\n"
               "       airlock changes diff ID [PATH...]\n"
               "       airlock changes apply ID [PATH...] [--force] [--workspace DIR]\n"
               "       airlock changes discard ID\n"
               "\n"
               "Changesets are what runs with --workspace-mode changes kept instead of writing to\n"
               "their workspace.  apply refuses, naming them, files whose host copy changed since the\n"
               "changeset was taken, unless --force.  Every subcommand takes --state-dir DIR.\n");
}

/* bad arguments: exit 125 like every other argument error */
#define bad(o, ...) cli_fail(CMD, (o)->sub, AIRLOCK_EXIT_SETUP, __VA_ARGS__)

/* ---- presentation ---- */

/* a deleted file whose content an added file has: a rename (overlay keeps
 * none, so this is the best guess); rename[i] = index of the other half */
static void find_renames(const al_changeset *cs, long *pair) {
  for (size_t i = 0; i < cs->n; i++)
    pair[i] = -1;
  for (size_t i = 0; i < cs->n; i++) {
    const al_ws_entry *d = &cs->e[i];
    if (d->op != AL_WS_DELETE || d->base_type != AL_BASE_FILE)
      continue;
    for (size_t j = 0; j < cs->n; j++) {
      const al_ws_entry *a = &cs->e[j];
      if (pair[j] < 0 && a->op == AL_WS_FILE && a->base_type == AL_BASE_ABSENT && a->size == d->base_size &&
          memcmp(a->sha, d->base_sha, 32) == 0) {
        pair[i] = (long)j;
        pair[j] = (long)i;
        break;
      }
    }
  }
}

static const char *kind(const al_changeset *cs, size_t i, const long *pair) {
  const al_ws_entry *e = &cs->e[i];
  switch (e->op) {
  case AL_WS_FILE:
    if (pair[i] >= 0)
      return "renamed";
    return e->base_type == AL_BASE_ABSENT ? "added" : e->base_type == AL_BASE_FILE ? "modified" : "replaced";
  case AL_WS_DIR: return e->base_type == AL_BASE_ABSENT ? "added-dir" : "replaced";
  case AL_WS_OPAQUE: return "replaced-dir";
  case AL_WS_SYMLINK: return "symlink";
  case AL_WS_DELETE: return pair[i] >= 0 ? "renamed-from" : "deleted";
  case AL_WS_CHMOD: return "mode";
  case AL_WS_LINK: return "hardlink";
  default: return "?";
  }
}

static bool selected(const al_ws_entry *e, char **paths, int n) {
  if (n == 0)
    return true;
  for (int i = 0; i < n; i++) {
    size_t len = strlen(paths[i]);
    while (len > 1 && paths[i][len - 1] == '/')
      len--;
    if (strncmp(e->path, paths[i], len) == 0 && (e->path[len] == '\0' || e->path[len] == '/'))
      return true;
  }
  return false;
}

static int show(const opts *o, const al_changeset *cs) {
  _cleanup_free_ long *pair = calloc(cs->n + 1, sizeof(long));
  if (!pair)
    return cli_fail(CMD, o->sub, CLI_EXIT_FAILED, "out of memory");
  find_renames(cs, pair);
  char flags[160];
  if (o->json) {
    json_t *list = json_array();
    for (size_t i = 0; i < cs->n; i++) {
      const al_ws_entry *e = &cs->e[i];
      if (e->op == AL_WS_DELETE && pair[i] >= 0)
        continue;
      json_t *j = json_pack("{s:s, s:s, s:i}", "kind", kind(cs, i, pair), "path", e->path, "mode", (int)e->mode);
      if (e->op == AL_WS_FILE)
        json_object_set_new(j, "size", json_integer((json_int_t)e->size));
      if (pair[i] >= 0)
        json_object_set_new(j, "from", json_string(cs->e[pair[i]].path));
      if (e->target)
        json_object_set_new(j, "target", json_string(e->target));
      if (e->op == AL_WS_CHMOD)
        json_object_set_new(j, "old_mode", json_integer(e->base_mode));
      json_object_set_new(j, "flags", json_string(al_ws_danger_text(e->flags, flags, sizeof(flags))));
      json_array_append_new(list, j);
    }
    json_t *root = json_pack("{s:s, s:s, s:I, s:o}", "id", cs->id, "workspace", cs->workspace ? cs->workspace : "",
                             "created", (json_int_t)cs->created, "entries", list);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text)
      puts(text);
    free(text);
    return 0;
  }
  printf("changeset %s of %s, %zu entr%s%s\n", cs->id, cs->workspace ? cs->workspace : "?", cs->n,
         cs->n == 1 ? "y" : "ies", cs->skipped ? " (some refused entries were left out)" : "");
  for (size_t i = 0; i < cs->n; i++) {
    const al_ws_entry *e = &cs->e[i];
    if (e->op == AL_WS_DELETE && pair[i] >= 0)
      continue;
    printf("%-13s %s", kind(cs, i, pair), e->path);
    if (pair[i] >= 0)
      printf(" (from %s)", cs->e[pair[i]].path);
    if (e->op == AL_WS_SYMLINK || e->op == AL_WS_LINK)
      printf(" %s %s", e->op == AL_WS_LINK ? "=>" : "->", e->target);
    if (e->op == AL_WS_CHMOD)
      printf(" %04o -> %04o", e->base_mode, e->mode);
    else if (e->op == AL_WS_FILE && e->base_type == AL_BASE_FILE && e->base_mode != e->mode)
      printf(" (mode %04o -> %04o)", e->base_mode, e->mode);
    if (e->flags)
      printf("  [DANGER: %s]", al_ws_danger_text(e->flags, flags, sizeof(flags)));
    putchar('\n');
  }
  return 0;
}

/* ---- the workspace, re-opened ---- */

static int open_workspace(const opts *o, const al_changeset *cs, int *fd) {
  const char *path = o->workspace ? o->workspace : cs->workspace;
  if (!path || path[0] == '\0')
    return cli_fail(CMD, o->sub, CLI_EXIT_FAILED, "changeset %s names no workspace: use --workspace DIR", cs->id);
  struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                         .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  *fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
  struct stat st;
  if (*fd < 0 || fstat(*fd, &st) < 0)
    return cli_fail(CMD, o->sub, CLI_EXIT_FAILED, "workspace %s: %s", path, strerror(errno));
  if (((uint64_t)st.st_dev != cs->dev || (uint64_t)st.st_ino != cs->ino) && !o->force)
    return cli_fail(CMD, o->sub, CLI_EXIT_FAILED,
                    "workspace %s is not the directory changeset %s was taken from (device and inode differ); "
                    "pass --force to use it anyway",
                    path, cs->id);
  return 0;
}

/* ---- diff ---- */

static char *read_fd(int fd, size_t *len) {
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_DIFF_BYTES)
    return NULL;
  char *buf = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (buf && got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  *len = got;
  return buf;
}

static int open_host_file(int host, const char *path) {
  char parent[4096];
  snprintf(parent, sizeof(parent), "%s", path);
  char *slash = strrchr(parent, '/');
  const char *name = slash ? path + (slash - parent) + 1 : path;
  if (slash)
    *slash = '\0';
  _cleanup_close_ int dir = al_ws_open_dir(host, slash ? parent : "", false, 0, 0);
  return dir < 0 ? -1 : openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
}

static void diff_entry(int host, int files, size_t i, const al_ws_entry *e) {
  char flags[160], num[32];
  if (e->flags)
    printf("# DANGER: %s: %s\n", e->path, al_ws_danger_text(e->flags, flags, sizeof(flags)));
  switch (e->op) {
  case AL_WS_DIR:
  case AL_WS_OPAQUE:
    printf("%s directory %s/ (mode %04o)\n", e->op == AL_WS_OPAQUE ? "replaced" : "new", e->path, e->mode);
    return;
  case AL_WS_SYMLINK: printf("symlink %s -> %s\n", e->path, e->target); return;
  case AL_WS_LINK: printf("hard link %s => %s\n", e->path, e->target); return;
  case AL_WS_CHMOD: printf("mode %s: %04o -> %04o\n", e->path, e->base_mode, e->mode); return;
  default: break;
  }
  size_t alen = 0, blen = 0;
  _cleanup_free_ char *a = NULL, *b = NULL;
  _cleanup_close_ int hf = e->base_type == AL_BASE_FILE ? open_host_file(host, e->path) : -1;
  if (hf >= 0) {
    a = read_fd(hf, &alen);
    uint8_t sha[32];
    uint64_t sz;
    if (lseek(hf, 0, SEEK_SET) == 0 && al_sha256_fd(hf, sha, &sz) == 0 && memcmp(sha, e->base_sha, 32) != 0)
      printf("# note: the host copy of %s changed since the changeset was taken\n", e->path);
  } else if (e->base_type == AL_BASE_FILE) {
    printf("# note: the host copy of %s is gone\n", e->path);
  }
  if (e->op == AL_WS_FILE) {
    snprintf(num, sizeof(num), "%zu", i);
    _cleanup_close_ int nf = openat(files, num, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    b = read_fd(nf, &blen);
    if (!b) {
      printf("Files a/%s and b/%s differ (too large or unreadable to show)\n", e->path, e->path);
      return;
    }
  }
  if ((e->base_type == AL_BASE_FILE && !a) || (e->op == AL_WS_DELETE && e->base_type != AL_BASE_FILE)) {
    printf("%s %s\n", e->op == AL_WS_DELETE ? "deleted" : "Files differ:", e->path);
    return;
  }
  if ((a && al_ws_is_binary(a, alen)) || (b && al_ws_is_binary(b, blen))) {
    printf("Binary files %s%s and %s%s differ\n", a ? "a/" : "/dev/null", a ? e->path : "", b ? "b/" : "/dev/null",
           b ? e->path : "");
    return;
  }
  char an[4200], bn[4200];
  snprintf(an, sizeof(an), "%s%s", a ? "a/" : "/dev/null", a ? e->path : "");
  snprintf(bn, sizeof(bn), "%s%s", b ? "b/" : "/dev/null", b ? e->path : "");
  char *out = NULL;
  size_t outlen = 0;
  if (al_ws_diff(a ? a : "", alen, b ? b : "", blen, an, bn, &out, &outlen) == 0) {
    if (outlen == 0 && e->op == AL_WS_FILE && alen == 0 && blen == 0 && !a)
      printf("new empty file %s\n", e->path);
    fwrite(out, 1, outlen, stdout);
  }
  free(out);
}

/* ---- subcommands ---- */

static int load(const opts *o, const char *id, al_changeset *cs) {
  _cleanup_error_ airlock_error *err = NULL;
  if (!al_ws_id_ok(id))
    return bad(o, "'%s' is not a changeset id (see 'airlock changes list')", id);
  if (al_ws_load(o->state_dir, id, cs, &err) < 0)
    return cli_fail_error(CMD, o->sub, CLI_EXIT_FAILED, &err);
  return 0;
}

static int content(void *ctx, size_t index, const al_ws_entry *e) {
  (void)e;
  char num[32];
  snprintf(num, sizeof(num), "%zu", index);
  return openat(*(int *)ctx, num, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

static int apply(const opts *o, al_changeset *cs, char **paths, int n) {
  _cleanup_free_ bool *sel = calloc(cs->n + 1, sizeof(bool));
  if (!sel)
    return cli_fail(CMD, o->sub, CLI_EXIT_FAILED, "out of memory");
  size_t count = 0;
  for (size_t i = 0; i < cs->n; i++)
    count += sel[i] = selected(&cs->e[i], paths, n);
  for (int k = 0; k < n; k++) {
    bool any = false;
    for (size_t i = 0; i < cs->n && !any; i++)
      any = selected(&cs->e[i], &paths[k], 1);
    if (!any)
      return cli_fail(CMD, o->sub, CLI_EXIT_FAILED, "changeset %s changes nothing at '%s'", cs->id, paths[k]);
  }
  _cleanup_close_ int host = -1;
  int rc = open_workspace(o, cs, &host);
  if (rc)
    return rc;
  size_t nconf = 0;
  _cleanup_free_ char *conflicts = al_ws_conflicts(cs, sel, host, &nconf);
  if (!conflicts)
    return cli_fail(CMD, o->sub, CLI_EXIT_FAILED, "out of memory");
  if (nconf && !o->force)
    return cli_fail(CMD, o->sub, CLI_EXIT_FAILED,
                    "refusing: the host copy of %zu path%s changed since changeset %s was taken: %s (--force "
                    "applies anyway)",
                    nconf, nconf == 1 ? "" : "s", cs->id, conflicts);
  _cleanup_close_ int files = al_ws_open_content(o->state_dir, cs->id);
  struct stat st;
  if (files < 0 || fstat(host, &st) < 0)
    return cli_fail(CMD, o->sub, CLI_EXIT_FAILED, "changeset %s: its files: %s", cs->id, strerror(errno));
  _cleanup_error_ airlock_error *err = NULL;
  al_ws_stats stats;
  if (al_ws_apply(cs, sel, host, st.st_uid, st.st_gid, content, &files, &stats, &err) < 0)
    return cli_fail_error(CMD, o->sub, CLI_EXIT_FAILED, &err);
  char flags[160];
  for (size_t i = 0; i < cs->n; i++)
    if (sel[i] && (cs->e[i].flags & AL_WS_FLAG_SETID))
      fprintf(stderr, "airlock changes apply: %s: %s stripped\n", cs->e[i].path,
              al_ws_danger_text(AL_WS_FLAG_SETID, flags, sizeof(flags)));
  printf("applied %zu entr%s of %s to %s: %" PRIu64 " files (%" PRIu64 " bytes), %" PRIu64 " deleted%s\n", count,
         count == 1 ? "y" : "ies", cs->id, o->workspace ? o->workspace : cs->workspace, stats.files, stats.bytes,
         stats.deleted, nconf ? " (forced over host changes)" : "");
  return 0;
}

static int list(const opts *o) {
  _cleanup_error_ airlock_error *err = NULL;
  char **ids = al_ws_list(o->state_dir, &err);
  if (!ids)
    return cli_fail_error(CMD, o->sub, CLI_EXIT_FAILED, &err);
  json_t *arr = o->json ? json_array() : NULL;
  for (char **id = ids; *id; id++) {
    al_changeset cs;
    airlock_error *e2 = NULL;
    if (al_ws_load(o->state_dir, *id, &cs, &e2) < 0) {
      fprintf(stderr, "airlock changes list: %s\n", e2->msg);
      airlock_error_free(&e2);
      continue;
    }
    unsigned flagged = 0;
    for (size_t i = 0; i < cs.n; i++)
      flagged += cs.e[i].flags != 0;
    char when[32];
    time_t t = (time_t)cs.created;
    struct tm tm;
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    if (arr)
      json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I, s:I}", "id", cs.id, "created", when, "workspace",
                                           cs.workspace ? cs.workspace : "", "entries", (json_int_t)cs.n, "flagged",
                                           (json_int_t)flagged));
    else
      printf("%s  %s  %zu entr%s%s  %s\n", cs.id, when, cs.n, cs.n == 1 ? "y" : "ies", flagged ? "  FLAGGED" : "",
             cs.workspace ? cs.workspace : "");
    al_changeset_free(&cs);
  }
  for (char **id = ids; *id; id++)
    free(*id);
  free(ids);
  if (arr) {
    char *text = json_dumps(arr, JSON_INDENT(2));
    json_decref(arr);
    puts(text ? text : "[]");
    free(text);
  }
  return 0;
}

int cli_changes(int argc, char **argv) {
  opts o = {0};
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? AIRLOCK_EXIT_SETUP : 0;
  }
  o.sub = argv[1];
  static const char *const subs[] = {"list", "show", "diff", "apply", "discard"};
  bool known = false;
  for (size_t i = 0; i < AL_ARRAY_SIZE(subs); i++)
    known = known || strcmp(o.sub, subs[i]) == 0;
  if (!known)
    return cli_fail(CMD, NULL, AIRLOCK_EXIT_SETUP, "unknown subcommand '%s' (list, show, diff, apply, discard)", o.sub);
  enum { OPT_STATE = 256, OPT_FORMAT, OPT_FORCE, OPT_WORKSPACE };
  static const struct option longopts[] = {{"state-dir", required_argument, 0, OPT_STATE},
                                           {"format", required_argument, 0, OPT_FORMAT},
                                           {"force", no_argument, 0, OPT_FORCE},
                                           {"workspace", required_argument, 0, OPT_WORKSPACE},
                                           {"help", no_argument, 0, 'h'},
                                           {0, 0, 0, 0}};
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc - 1, argv + 1, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case OPT_STATE: o.state_flag = optarg; break;
    case OPT_FORMAT:
      if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
        return bad(&o, "--format must be 'text' or 'json', not '%s'", optarg);
      o.json = strcmp(optarg, "json") == 0;
      break;
    case OPT_FORCE: o.force = true; break;
    case OPT_WORKSPACE: o.workspace = optarg; break;
    case 'h': usage(stdout); return 0;
    default: cli_bad_option(CMD, o.sub, c, argv + 1); return AIRLOCK_EXIT_SETUP;
    }
  }
  char **rest = argv + 1 + optind;
  int nrest = argc - 1 - optind;
  bool is_list = strcmp(o.sub, "list") == 0, is_apply = strcmp(o.sub, "apply") == 0,
       is_diff = strcmp(o.sub, "diff") == 0;
  if ((o.force || o.workspace) && !is_apply)
    return bad(&o, "%s takes no --force or --workspace", o.sub);
  if (o.json && !is_list && strcmp(o.sub, "show") != 0)
    return bad(&o, "%s has no --format", o.sub);
  if (is_list ? nrest != 0 : nrest < 1 || (!is_apply && !is_diff && nrest != 1))
    return bad(&o, "wrong number of arguments (see 'airlock changes --help')");
  for (int i = 1; i < nrest; i++)
    if (!al_ws_path_ok(rest[i]) && !(strlen(rest[i]) > 1 && rest[i][strlen(rest[i]) - 1] == '/'))
      return bad(&o, "'%s' is not a path relative to the workspace", rest[i]);
  _cleanup_free_ char *state = NULL; /* o.state_dir, freed on return */
  int dc = cli_state_dir(CMD, o.sub, o.state_flag, &state);
  if (dc)
    return dc == CLI_EXIT_USAGE ? AIRLOCK_EXIT_SETUP : dc;
  o.state_dir = state;
  if (is_list)
    return list(&o);
  al_changeset cs;
  int rc = load(&o, rest[0], &cs);
  if (rc)
    return rc;
  if (strcmp(o.sub, "show") == 0) {
    rc = show(&o, &cs);
  } else if (is_diff) {
    _cleanup_close_ int host = -1;
    _cleanup_close_ int files = al_ws_open_content(o.state_dir, cs.id);
    rc = open_workspace(&o, &cs, &host);
    for (size_t i = 0; rc == 0 && i < cs.n; i++)
      if (selected(&cs.e[i], rest + 1, nrest - 1))
        diff_entry(host, files, i, &cs.e[i]);
  } else if (is_apply) {
    rc = apply(&o, &cs, rest + 1, nrest - 1);
  } else {
    _cleanup_error_ airlock_error *err = NULL;
    rc = al_ws_discard(o.state_dir, cs.id, &err) < 0 ? cli_fail_error(CMD, o.sub, CLI_EXIT_FAILED, &err) : 0;
    if (rc == 0)
      printf("discarded %s\n", cs.id);
  }
  al_changeset_free(&cs);
  return rc;
}
