/* SPDX-License-Identifier: Apache-2.0 */
/* cp_cmd.c - `airlock cp SRC DST`, one side `ID:PATH` in a persistent
 * sandbox's /workspace: host to sandbox and back through the node's files
 * API (GET/PUT .../files, op=stat and op=list).  Files and directories
 * either way: out of the sandbox through the API's listings, into it with
 * the directories made by `mkdir -p` run in the sandbox (the API makes
 * none) and then each file PUT.  Links are never followed on either side.
 * What lands on the host is assembled under a temporary name and renamed
 * into place, so a failed copy leaves nothing half-written behind. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "airlock/client.h"
#include "cleanup.h"
#include "cli.h"

#define MAX_DEPTH 64
#define MAX_FILE (64u << 20) /* the node's default body limit */

const struct option cli_cp_options[] = {
    CLI_CONN_OPTIONS,
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};
const char cli_cp_short[] = ":h";

static void usage(FILE *out) {
  fprintf(out, "usage: airlock cp [OPTIONS] HOST_PATH ID:PATH     host to sandbox\n"
               "       airlock cp [OPTIONS] ID:PATH HOST_PATH     sandbox to host\n"
               "\n"
               "PATH is in the sandbox's /workspace: /workspace/x, or x relative to it.  The sandbox is a\n"
               "persistent one (airlock sandbox create).  A directory as the destination receives the\n"
               "source under its own name, as with cp(1).  Files and directories (recursively); links\n"
               "and special files are skipped.  Directories copied into a sandbox are made by 'mkdir -p'\n"
               "run in it, under the node's policy.\n" CLI_CONN_USAGE
               "exit: 0 copied, 125 anything else (nothing is left half-written on the host).\n");
}

#define fail(...) cli_fail("cp", NULL, AIRLOCK_EXIT_SETUP, __VA_ARGS__)

bool cli_valid_sandbox_id(const char *id);

/* "ID:PATH" -> id and the path relative to /workspace ("." for itself) */
static int split_remote(const char *arg, char **id, char **rel) {
  const char *colon = strchr(arg, ':');
  *id = strndup(arg, (size_t)(colon - arg));
  const char *p = colon + 1;
  if (strcmp(p, "/workspace") == 0 || strcmp(p, "/workspace/") == 0 || *p == '\0')
    p = ".";
  else if (strncmp(p, "/workspace/", 11) == 0)
    p += 11;
  else if (*p == '/')
    return fail("'%s': the files API reaches only the sandbox's /workspace, not '%s'", arg, p);
  *rel = strdup(p);
  if (!*id || !*rel)
    return fail("out of memory");
  size_t n = strlen(*rel);
  while (n > 1 && (*rel)[n - 1] == '/')
    (*rel)[--n] = '\0';
  if (!cli_valid_sandbox_id(*id))
    return fail("'%s' is not a sandbox id (sb_ and 16 hex digits, from 'airlock sandbox ls')", *id);
  for (char *c = *rel; c; c = strchr(c, '/')) {
    c += *c == '/';
    if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || c[2] == '\0'))
      return fail("'%s': '..' is not allowed in a sandbox path", arg);
  }
  return 0;
}

/* a sandbox side looks like ID:PATH with an id before the colon; a host
 * path with a colon in it can be given as ./a:b */
static bool is_remote(const char *arg) {
  const char *colon = strchr(arg, ':');
  return colon && colon != arg && memchr(arg, '/', (size_t)(colon - arg)) == NULL;
}

static char *files_path(const char *id, const char *rel, const char *op) {
  size_t n = strlen(rel);
  char *enc = malloc(n * 3 + 1), *o = enc, *out = NULL;
  if (!enc)
    return NULL;
  for (const unsigned char *c = (const unsigned char *)rel; *c; c++) {
    if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("-_.~/", *c))
      *o++ = (char)*c;
    else
      o += sprintf(o, "%%%02X", *c);
  }
  *o = '\0';
  if (asprintf(&out, "/v1/sandboxes/%s/files?path=%s%s%s", id, enc, op ? "&op=" : "", op ? op : "") < 0)
    out = NULL;
  free(enc);
  return out;
}

typedef struct cp_ctx {
  airlock_client *client;
  const char *id;
  long status; /* of the last request */
} cp_ctx;

static int request(cp_ctx *c, const char *method, const char *rel, const char *op, const void *body, size_t len,
                   char **resp, size_t *resp_len) {
  airlock_error *err = NULL;
  _cleanup_free_ char *path = files_path(c->id, rel, op);
  if (!path)
    return fail("out of memory");
  c->status = 0;
  if (airlock_client_request(c->client, method, path, body, len, &c->status, resp, resp_len, &err) < 0) {
    cli_fail("cp", NULL, AIRLOCK_EXIT_SETUP, "%s:%s: %s", c->id, rel, err->msg);
    airlock_error_free(&err);
    return AIRLOCK_EXIT_SETUP;
  }
  return 0;
}

/* the ENTRY of rel, or NULL with *missing when the node says 404 */
static int stat_remote(cp_ctx *c, const char *rel, json_t **entry, bool quiet_404) {
  _cleanup_free_ char *resp = NULL;
  *entry = NULL;
  airlock_error *err = NULL;
  _cleanup_free_ char *path = files_path(c->id, rel, "stat");
  if (!path)
    return fail("out of memory");
  if (airlock_client_request(c->client, "GET", path, NULL, 0, &c->status, &resp, NULL, &err) < 0) {
    if (c->status == 404 && quiet_404 && resp && strstr(resp, "no such file")) {
      airlock_error_free(&err);
      return 0;
    }
    cli_fail("cp", NULL, AIRLOCK_EXIT_SETUP, "%s:%s: %s", c->id, rel, err->msg);
    airlock_error_free(&err);
    return AIRLOCK_EXIT_SETUP;
  }
  if ((*entry = json_loads(resp ? resp : "", 0, NULL)) == NULL)
    return fail("%s:%s: the node's stat answer is not JSON", c->id, rel);
  return 0;
}

static const char *entry_type(json_t *e) {
  const char *t = json_string_value(json_object_get(e, "type"));
  return t ? t : "other";
}

static int write_host_file(const char *path, const char *data, size_t len, mode_t mode) {
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
  if (fd < 0)
    return fail("cannot create '%s': %s", path, strerror(errno));
  while (len > 0) {
    ssize_t w = write(fd, data, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return fail("cannot write '%s': %s", path, strerror(errno));
    data += w;
    len -= (size_t)w;
  }
  return 0;
}

static int get_file(cp_ctx *c, const char *rel, const char *host, mode_t mode) {
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  int rc = request(c, "GET", rel, NULL, NULL, 0, &data, &len);
  return rc ? rc : write_host_file(host, data ? data : "", len, mode);
}

static int get_tree(cp_ctx *c, const char *rel, const char *host, int depth, size_t *copied) {
  if (depth > MAX_DEPTH)
    return fail("%s:%s: more than %d directories deep", c->id, rel, MAX_DEPTH);
  if (mkdir(host, 0700) < 0 && errno != EEXIST)
    return fail("cannot make directory '%s': %s", host, strerror(errno));
  _cleanup_free_ char *resp = NULL;
  int rc = request(c, "GET", rel, "list", NULL, 0, &resp, NULL);
  if (rc)
    return rc;
  json_t *doc = json_loads(resp ? resp : "", 0, NULL);
  json_t *entries = json_object_get(doc, "entries");
  if (!json_is_array(entries)) {
    json_decref(doc);
    return fail("%s:%s: the node's listing is not {\"entries\": [...]}", c->id, rel);
  }
  size_t i;
  json_t *e;
  json_array_foreach(entries, i, e) {
    const char *name = json_string_value(json_object_get(e, "name"));
    if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
      continue;
    _cleanup_free_ char *sub_rel = NULL, *sub_host = NULL;
    if (asprintf(&sub_rel, "%s/%s", rel, name) < 0 || asprintf(&sub_host, "%s/%s", host, name) < 0) {
      rc = fail("out of memory");
      break;
    }
    const char *type = entry_type(e);
    mode_t mode = (mode_t)json_integer_value(json_object_get(e, "mode"));
    if (strcmp(type, "file") == 0 && (rc = get_file(c, sub_rel, sub_host, mode)) == 0)
      ++*copied;
    else if (strcmp(type, "dir") == 0)
      rc = get_tree(c, sub_rel, sub_host, depth + 1, copied);
    else if (strcmp(type, "file") != 0)
      fprintf(stderr, "airlock cp: skipped %s:%s: a %s (only files and directories are copied)\n", c->id, sub_rel,
              type);
    if (rc)
      break;
    if (strcmp(type, "dir") == 0)
      chmod(sub_host, (mode & 0777) | 0700);
  }
  json_decref(doc);
  return rc;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

/* only ever our own temporary directory, made by mkdtemp just before */
static void remove_tree(const char *path) { nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS); }

static int from_sandbox(cp_ctx *c, const char *rel, const char *host) {
  json_t *entry = NULL;
  int rc = stat_remote(c, rel, &entry, false);
  if (rc)
    return rc;
  char type[16];
  snprintf(type, sizeof(type), "%s", entry_type(entry));
  bool is_dir = strcmp(type, "dir") == 0;
  mode_t mode = (mode_t)json_integer_value(json_object_get(entry, "mode"));
  json_decref(entry);
  if (!is_dir && strcmp(type, "file") != 0)
    return fail("%s:%s is a %s; only files and directories are copied", c->id, rel, type);
  /* the final name: DST, or DST/basename(SRC) when DST is a directory */
  _cleanup_free_ char *rel_copy = strdup(rel), *final = NULL;
  struct stat st;
  const char *base = strcmp(rel, ".") == 0 ? "workspace" : basename(rel_copy);
  if (stat(host, &st) == 0 && S_ISDIR(st.st_mode)) {
    if (asprintf(&final, "%s/%s", host, base) < 0)
      return fail("out of memory");
  } else if ((final = strdup(host)) == NULL) {
    return fail("out of memory");
  }
  if (lstat(final, &st) == 0 && (is_dir || !S_ISREG(st.st_mode)))
    return fail("'%s' already exists; remove it first or copy elsewhere", final);
  _cleanup_free_ char *dir_copy = strdup(final), *tmp = NULL;
  if (asprintf(&tmp, "%s/.airlock-cp.XXXXXX", dirname(dir_copy)) < 0)
    return fail("out of memory");
  if (mkdtemp(tmp) == NULL)
    return fail("cannot write in the directory of '%s': %s", final, strerror(errno));
  _cleanup_free_ char *staged = NULL;
  if (asprintf(&staged, "%s/x", tmp) < 0) {
    rmdir(tmp);
    return fail("out of memory");
  }
  size_t copied = 0;
  rc = is_dir ? get_tree(c, rel, staged, 0, &copied) : get_file(c, rel, staged, mode);
  if (rc == 0 && is_dir)
    chmod(staged, (mode & 0777) | 0700);
  if (rc == 0 && rename(staged, final) < 0)
    rc = fail("cannot move the copy to '%s': %s", final, strerror(errno));
  remove_tree(tmp);
  return rc;
}

/* one host file as file target; a link is followed only when it is the
 * path given on the command line (follow), as cp(1) does */
static int put_file(cp_ctx *c, const char *host, const char *target, bool follow) {
  _cleanup_close_ int fd = open(host, O_RDONLY | (follow ? 0 : O_NOFOLLOW) | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0)
    return fail("cannot read '%s': %s", host, strerror(errno));
  if (!S_ISREG(st.st_mode))
    return fail("'%s' is not a regular file", host);
  if ((unsigned long long)st.st_size > MAX_FILE)
    return fail("'%s' is larger than %u MiB, the node's default request limit", host, MAX_FILE >> 20);
  _cleanup_free_ char *data = malloc((size_t)st.st_size + 1);
  if (!data)
    return fail("out of memory reading '%s'", host);
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t r = read(fd, data + got, (size_t)st.st_size - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return fail("cannot read '%s': %s", host, r < 0 ? strerror(errno) : "it shrank while being read");
    got += (size_t)r;
  }
  return request(c, "PUT", target, NULL, data, got, NULL, NULL);
}

/* what a host directory holds: its directories (itself first) and files,
 * each as a host path and a path relative to /workspace */
typedef struct tree_list {
  char **host, **rel;
  size_t n, cap;
} tree_list;

static int list_add(tree_list *l, const char *host, const char *rel) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    char **h = realloc(l->host, cap * sizeof(char *));
    if (h)
      l->host = h;
    char **r = h ? realloc(l->rel, cap * sizeof(char *)) : NULL;
    if (!r)
      return fail("out of memory");
    l->rel = r;
    l->cap = cap;
  }
  l->host[l->n] = strdup(host);
  l->rel[l->n] = strdup(rel);
  l->n++;
  return l->host[l->n - 1] && l->rel[l->n - 1] ? 0 : fail("out of memory");
}

static void list_free(tree_list *l) {
  for (size_t i = 0; i < l->n; i++) {
    free(l->host[i]);
    free(l->rel[i]);
  }
  free(l->host);
  free(l->rel);
}

static int walk_host(const char *host, const char *rel, int depth, tree_list *dirs, tree_list *files) {
  if (depth > MAX_DEPTH)
    return fail("'%s': more than %d directories deep", host, MAX_DEPTH);
  int rc = list_add(dirs, host, rel);
  /* the directory named on the command line may be a link to one, as for cp(1) */
  int fd = rc ? -1 : open(host, O_RDONLY | O_DIRECTORY | (depth ? O_NOFOLLOW : 0) | O_CLOEXEC);
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (rc == 0 && d == NULL) {
    if (fd >= 0)
      close(fd);
    return fail("cannot read the directory '%s': %s", host, strerror(errno));
  }
  struct dirent *de;
  while (rc == 0 && (de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    struct stat st;
    _cleanup_free_ char *sub_host = NULL, *sub_rel = NULL;
    if (asprintf(&sub_host, "%s/%s", host, de->d_name) < 0 || asprintf(&sub_rel, "%s/%s", rel, de->d_name) < 0)
      rc = fail("out of memory");
    else if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      rc = fail("cannot read '%s': %s", sub_host, strerror(errno));
    else if (S_ISDIR(st.st_mode))
      rc = walk_host(sub_host, sub_rel, depth + 1, dirs, files);
    else if (S_ISREG(st.st_mode))
      rc = list_add(files, sub_host, sub_rel);
    else
      fprintf(stderr, "airlock cp: skipped '%s': not a regular file or directory (a link is not followed)\n",
              sub_host);
  }
  if (d)
    closedir(d);
  return rc;
}

/* The files API makes no directories: `mkdir -p` in the sandbox does, as an
 * exec under the node's policy (and in its audit trail), a batch at a time. */
#define MKDIR_BATCH 256
static int make_remote_dirs(cp_ctx *c, const tree_list *dirs) {
  for (size_t i = 0; i < dirs->n; i += MKDIR_BATCH) {
    size_t k = dirs->n - i < MKDIR_BATCH ? dirs->n - i : MKDIR_BATCH;
    char **argv = calloc(k + 4, sizeof(char *));
    int rc = argv ? 0 : fail("out of memory");
    if (argv) {
      argv[0] = (char *)"mkdir";
      argv[1] = (char *)"-p";
      argv[2] = (char *)"--";
    }
    for (size_t j = 0; rc == 0 && j < k; j++)
      if (asprintf(&argv[3 + j], "/workspace/%s", dirs->rel[i + j]) < 0) {
        argv[3 + j] = NULL;
        rc = fail("out of memory");
      }
    airlock_exec_request req = {.argv = argv, .sandbox_id = c->id, .approval_poll = true};
    airlock_exec_result res = {0};
    airlock_error *err = NULL;
    if (rc == 0 && airlock_client_exec(c->client, &req, NULL, NULL, &res, &err) < 0) {
      if (res.http_status == 202 && res.approval_id)
        rc = fail("making the directories in %s waits for approval %s (rule: %s): once it is answered, make them "
                  "with 'airlock exec --sandbox %s -- mkdir -p ...' and copy again",
                  c->id, res.approval_id, res.approval_rule ? res.approval_rule : "none given", c->id);
      else
        rc = fail("%s: cannot make the directories: %s", c->id, err->msg);
    } else if (rc == 0 && res.exit_code != 0) {
      rc = fail("%s: mkdir -p exited %d: %.*s", c->id, res.exit_code,
                (int)(res.stderr_len > 300 ? 300 : res.stderr_len), res.stderr_data ? res.stderr_data : "");
    }
    airlock_error_free(&err);
    airlock_exec_result_clear(&res);
    for (size_t j = 0; argv && j < k; j++)
      free(argv[3 + j]);
    free(argv);
    if (rc)
      return rc;
  }
  return 0;
}

static int to_sandbox(cp_ctx *c, const char *host, const char *rel) {
  struct stat st;
  if (stat(host, &st) < 0)
    return fail("cannot read '%s': %s", host, strerror(errno));
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
    return fail("'%s' is not a regular file or a directory", host);
  /* into a directory: under the host path's own name, as cp(1) */
  json_t *entry = NULL;
  int rc = stat_remote(c, rel, &entry, true);
  if (rc)
    return rc;
  bool into_dir = entry && strcmp(entry_type(entry), "dir") == 0;
  bool exists = entry != NULL;
  json_decref(entry);
  _cleanup_free_ char *target = NULL, *host_copy = strdup(host);
  size_t n = host_copy ? strlen(host_copy) : 0;
  while (n > 1 && host_copy[n - 1] == '/')
    host_copy[--n] = '\0';
  if (!host_copy ||
      (into_dir ? asprintf(&target, "%s/%s", rel, basename(host_copy)) : asprintf(&target, "%s", rel)) < 0)
    return fail("out of memory");
  if (S_ISREG(st.st_mode))
    return put_file(c, host, target, true);
  if (exists && !into_dir)
    return fail("%s:%s exists and is not a directory", c->id, rel);
  tree_list dirs = {0}, files = {0};
  rc = walk_host(host, target, 0, &dirs, &files);
  if (rc == 0)
    rc = make_remote_dirs(c, &dirs);
  for (size_t i = 0; rc == 0 && i < files.n; i++)
    rc = put_file(c, files.host[i], files.rel[i], false);
  list_free(&dirs);
  list_free(&files);
  return rc;
}

int cli_cp(int argc, char **argv) {
  cli_conn conn = {0};
  int opt;
  optind = 0;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, cli_cp_short, cli_cp_options, NULL)) != -1) {
    if (opt == 'h') {
      usage(stdout);
      return 0;
    }
    if (opt == '?' || opt == ':')
      return cli_bad_option("cp", NULL, opt, argv);
    cli_conn_option(&conn, opt, optarg);
  }
  if (argc - optind != 2)
    return fail("give a source and a destination: airlock cp SRC ID:PATH or airlock cp ID:PATH DST");
  const char *src = argv[optind], *dst = argv[optind + 1];
  bool rs = is_remote(src), rd = is_remote(dst);
  if (rs == rd)
    return fail(rs ? "both '%s' and '%s' are in a sandbox; one side must be a host path"
                   : "neither '%s' nor '%s' is in a sandbox; one side must be ID:PATH",
                src, dst);
  _cleanup_free_ char *id = NULL, *rel = NULL;
  int code = split_remote(rs ? src : dst, &id, &rel);
  if (code)
    return code;
  if (!*(rs ? dst : src))
    return fail("the host path is empty");
  cp_ctx c = {.id = id};
  if ((code = cli_conn_open("cp", &conn, &c.client)) == 0) {
    code = rs ? from_sandbox(&c, rel, dst) : to_sandbox(&c, src, rel);
    airlock_client_close(&c.client);
  }
  cli_conn_clear(&conn);
  return code;
}
