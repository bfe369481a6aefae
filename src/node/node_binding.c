/* SPDX-License-Identifier: Apache-2.0 */
/* node_binding.c - what an approval is bound to.  A human approves one
 * request: this argv, cwd, environment and stdin, and the program and
 * script files as they are now.  The binding hash covers all of it, so a
 * changed argument, variable, or a rewritten script needs a new approval.
 *
 * Files are looked up the way the sandbox will see them: through the root
 * descriptor a persistent sandbox's agent sent when it became ready (or
 * /proc/PID/root of its init before that), or, for one-shot sandboxes
 * (built fresh from the node's spec), in the image or the host's /usr that
 * the sandbox mounts read-only.  Lookups use openat2(RESOLVE_IN_ROOT) so a
 * symlink in the sandbox cannot point the hash at a host file.  File hashes
 * are cached by (device, inode, size, mtime, ctime): ctime changes on every
 * write and cannot be set back by the sandbox.
 *
 * The hash is an HMAC-SHA256 under a random key of the node's (binding.key
 * in the state directory, 0600): approvals.db keeps bindings of "approve
 * always" answers, and a plain hash of argv, environment and stdin would let
 * whoever reads that file test guesses of the secrets in them offline. */
#define _GNU_SOURCE
#include "node.h"
#include "cleanup.h"
#include "error.h"
#include "plan.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CACHE_SLOTS 256

typedef struct {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime, ctime;
  char hex[65];
} hash_slot;

static hash_slot cache[CACHE_SLOTS]; /* the event loop's thread only */

static void to_hex(const unsigned char *md, char out[65]) {
  for (int i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int open_in_root(int root, const char *path) {
  struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  return (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
}

/* SHA-256 of a regular file, hex; false when it is not one */
static bool hash_file(int fd, char out[65]) {
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
    return false;
  hash_slot *slot = &cache[(st.st_ino ^ st.st_dev) % CACHE_SLOTS];
  if (slot->hex[0] && slot->dev == st.st_dev && slot->ino == st.st_ino && slot->size == st.st_size &&
      slot->mtime.tv_sec == st.st_mtim.tv_sec && slot->mtime.tv_nsec == st.st_mtim.tv_nsec &&
      slot->ctime.tv_sec == st.st_ctim.tv_sec && slot->ctime.tv_nsec == st.st_ctim.tv_nsec) {
    memcpy(out, slot->hex, 65);
    return true;
  }
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(ctx);
    return false;
  }
  char buf[65536];
  ssize_t r;
  while ((r = read(fd, buf, sizeof(buf))) > 0)
    EVP_DigestUpdate(ctx, buf, (size_t)r);
  unsigned char md[32];
  EVP_DigestFinal_ex(ctx, md, NULL);
  EVP_MD_CTX_free(ctx);
  if (r < 0)
    return false;
  to_hex(md, out);
  *slot = (hash_slot){st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim, ""};
  memcpy(slot->hex, out, 65);
  return true;
}

/* join a relative path to cwd */
static void absolute(const char *cwd, const char *path, char *out, size_t len) {
  if (path[0] == '/')
    snprintf(out, len, "%s", path);
  else
    snprintf(out, len, "%s/%s", cwd, path);
}

static bool hash_path(int root, const char *path, char out[65]) {
  _cleanup_close_ int fd = open_in_root(root, path);
  return fd >= 0 && hash_file(fd, out);
}

static const char *env_get(char *const *env, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
      return env[i] + n + 1;
  return NULL;
}

/* the program as execvp in the sandbox would find it */
static void find_exe(int root, const al_exec_params *p, const char *cwd, const char *path_var, al_binding *b) {
  const char *prog = p->argv[0];
  if (strchr(prog, '/')) {
    absolute(cwd, prog, b->exe, sizeof(b->exe));
    if (!hash_path(root, b->exe, b->exe_sha256))
      snprintf(b->exe_sha256, sizeof(b->exe_sha256), "absent");
    return;
  }
  _cleanup_free_ char *dirs = strdup(path_var);
  char *save = NULL;
  for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save)) {
    char cand[sizeof(b->exe)];
    absolute(cwd, d, cand, sizeof(cand));
    size_t l = strlen(cand);
    snprintf(cand + l, sizeof(cand) - l, "/%s", prog);
    _cleanup_close_ int fd = open_in_root(root, cand);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
      continue;
    snprintf(b->exe, sizeof(b->exe), "%s", cand);
    if (!hash_file(fd, b->exe_sha256))
      snprintf(b->exe_sha256, sizeof(b->exe_sha256), "unreadable");
    return;
  }
  snprintf(b->exe, sizeof(b->exe), "%s", prog);
  snprintf(b->exe_sha256, sizeof(b->exe_sha256), "absent");
}

static bool is_interpreter(const char *name) {
  static const char *const names[] = {"sh",   "bash",   "dash", "zsh", "ksh",     "mksh",  "ash", "perl", "ruby",
                                      "node", "nodejs", "php",  "lua", "Rscript", "tclsh", "awk", "gawk", "bun"};
  for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
    if (strcmp(name, names[i]) == 0)
      return true;
  return strncmp(name, "python", 6) == 0 || strncmp(name, "lua5", 4) == 0;
}

/* `sh script.sh`, `python3 -u tool.py`: the first operand is a file whose
 * contents decide what runs.  Options that take the program text from argv
 * (-c, -e, -m, ...) mean there is no script file. */
static void find_script(int root, const al_exec_params *p, const char *cwd, al_binding *b) {
  const char *base = strrchr(p->argv[0], '/');
  base = base ? base + 1 : p->argv[0];
  if (!is_interpreter(base))
    return;
  bool awk = strstr(base, "awk") != NULL;
  for (size_t i = 1; p->argv[i]; i++) {
    const char *a = p->argv[i];
    if (strcmp(a, "--") == 0) {
      a = p->argv[i + 1];
      if (!a)
        return;
    } else if (awk && strcmp(a, "-f") == 0 && p->argv[i + 1]) {
      a = p->argv[i + 1]; /* awk -f PROG */
    } else if (strcmp(a, "-c") == 0 || strcmp(a, "-e") == 0 || strcmp(a, "-E") == 0 || strcmp(a, "-m") == 0 ||
               strcmp(a, "-r") == 0 || strcmp(a, "--eval") == 0 || strcmp(a, "-p") == 0) {
      return;
    } else if (a[0] == '-') {
      continue;
    } else if (awk) {
      return; /* awk's first operand is program text */
    }
    absolute(cwd, a, b->script, sizeof(b->script));
    if (!hash_path(root, b->script, b->script_sha256))
      snprintf(b->script_sha256, sizeof(b->script_sha256), "absent");
    return;
  }
}

static int open_root(al_node *n, al_sbox *sb) {
  char path[64];
  if (sb && sb->root_fd >= 0)
    return fcntl(sb->root_fd, F_DUPFD_CLOEXEC, 0);
  if (sb && sb->box.launch.pid > 0) {
    snprintf(path, sizeof(path), "/proc/%d/root", (int)sb->box.launch.pid);
    return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  return open(n->cfg->sandbox.image ? n->cfg->sandbox.image : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
}

int al_node_binding(al_node *n, al_sbox *sb, const al_exec_params *p, al_binding *b) {
  memset(b, 0, sizeof(*b));
  _cleanup_close_ int root = open_root(n, sb);
  if (root < 0)
    return -1;
  const char *cwd = p->cwd ? p->cwd : n->cfg->sandbox.cwd ? n->cfg->sandbox.cwd : sb ? "/workspace" : AL_SANDBOX_HOME;
  snprintf(b->cwd, sizeof(b->cwd), "%s", cwd);
  const char *path_var = env_get(p->env, "PATH");
  if (!path_var)
    path_var = env_get(n->cfg->sandbox.env, "PATH");
  find_exe(root, p, cwd, path_var ? path_var : AL_SANDBOX_PATH, b);
  find_script(root, p, cwd, b);

  /* the hash: a canonical JSON of everything bound */
  json_t *argv = json_array(), *env = json_object(); /* an object: sorted below, whatever the request's order */
  for (size_t i = 0; p->argv[i]; i++)
    json_array_append_new(argv, json_string(p->argv[i]));
  for (size_t i = 0; p->env && p->env[i]; i++) {
    const char *eq = strchr(p->env[i], '=');
    _cleanup_free_ char *key = eq ? strndup(p->env[i], (size_t)(eq - p->env[i])) : NULL;
    if (key)
      json_object_set_new(env, key, json_string(eq + 1));
  }
  unsigned char md[32];
  char stdin_hex[65] = "none";
  if (p->stdin_data) {
    EVP_Digest(p->stdin_data, p->stdin_len, md, NULL, EVP_sha256(), NULL);
    to_hex(md, stdin_hex);
  }
  json_t *all =
      json_pack("{s:o,s:s,s:o,s:s,s:s,s:s,s:s,s:s}", "argv", argv, "cwd", cwd, "env", env, "exe", b->exe, "exe_sha256",
                b->exe_sha256, "script", b->script, "script_sha256", b->script_sha256, "stdin_sha256", stdin_hex);
  char *text = all ? json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref(all);
  if (!text)
    return -1;
  unsigned int md_len = 0;
  bool keyed = HMAC(EVP_sha256(), n->binding_key, sizeof(n->binding_key), (const unsigned char *)text, strlen(text),
                    md, &md_len) != NULL && md_len == sizeof(md);
  free(text);
  if (!keyed)
    return -1;
  to_hex(md, b->hash);
  return 0;
}

int al_node_binding_key_load(al_node *n, airlock_error **err) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/binding.key", n->cfg->state_dir);
  _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    unsigned char key[sizeof(n->binding_key)];
    if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
      return al_err(err, errno, "binding key: no random bytes");
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    unlink(tmp);
    _cleanup_close_ int w = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    bool ok = w >= 0 && write(w, key, sizeof(key)) == (ssize_t)sizeof(key) && fsync(w) == 0 &&
              link(tmp, path) == 0; /* never over a key another start made meanwhile */
    int saved = errno;
    explicit_bzero(key, sizeof(key));
    unlink(tmp);
    if (!ok && saved != EEXIST)
      return al_err(err, saved, "binding key '%s'", path);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  }
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0)
    return al_err(err, errno, "binding key '%s'", path);
  if (!S_ISREG(st.st_mode) || st.st_size != (off_t)sizeof(n->binding_key) || (st.st_mode & 077) ||
      st.st_uid != geteuid())
    return al_err(err, 0, "binding key '%s' must be a file of %zu bytes, owned by this user, mode 0600", path,
                  sizeof(n->binding_key));
  if (read(fd, n->binding_key, sizeof(n->binding_key)) != (ssize_t)sizeof(n->binding_key))
    return al_err(err, errno, "binding key '%s'", path);
  return 0;
}
