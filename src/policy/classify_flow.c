/* SPDX-License-Identifier: Apache-2.0 */
/* classify_flow.c - data flow across the segments of one command line: a
 * file an earlier segment downloaded (curl -o F, curl -O URL, wget URL,
 * wget -O F, wget -qO F, curl URL > F), or unpacked into a directory (curl
 * URL | tar x -C D, tar xf F -C D, or where it runs: tar xzf F), that a
 * later segment runs (F, ./F, D/x, sh F, python3 F, source F, dpkg -i F);
 * also a repository cloned into D (git clone URL D), and a filter's output
 * redirected to F after a download (curl URL | base64 -d > F).  Backs the catalogue's "runs_fetched" condition. */
#define _GNU_SOURCE
#include "classify_impl.h"

#include <string.h>

#define MAX_FETCHED 16

typedef struct {
  char b[256];
} parser_free_buf; /* a name built here, before al_shell_normalise_path copies it */

static bool is_url(const char *a) { return strstr(a, "://") != NULL && a[0] != '-'; }

/* the file a URL lands in without -o: its last path component */
static const char *url_basename(const char *url) {
  const char *p = strstr(url, "://") + 3;
  const char *slash = strrchr(p, '/');
  if (slash == NULL || slash[1] == '\0')
    return NULL;
  return slash + 1;
}

static bool is_downloader(const al_segment *s) {
  return s->argc > 0 && (strcmp(s->name, "curl") == 0 || strcmp(s->name, "wget") == 0);
}

/* some earlier stage of s's pipeline is a download (curl URL | base64 -d > F) */
static bool fed_by_download(const al_shell *sh, const al_segment *s) {
  for (int j = s->pipe_from, hops = 0; j >= 0 && hops < 64; j = sh->segs[j].pipe_from, hops++)
    if (is_downloader(&sh->segs[j]))
      return true;
  return false;
}

/* where the output of s goes when redirected to a file, at most max */
static size_t redirected_to(const al_segment *s, const char **out, size_t n, size_t max) {
  for (size_t r = 0; r < s->n_redirs && n < max; r++)
    if ((s->redirs[r].kind == AL_REDIR_OUT || s->redirs[r].kind == AL_REDIR_APPEND) && s->redirs[r].fd != 2 &&
        !s->redirs[r].unresolved)
      out[n++] = s->redirs[r].target;
  return n;
}

/* the files segment j downloads into, at most max; returns how many: its
 * own output files, or, for a filter fed by a download (base64 -d, gunzip,
 * tr), the file its output is redirected to */
static size_t fetched_by(const al_shell *sh, const al_segment *s, const char **out, size_t max) {
  bool curl = strcmp(s->name, "curl") == 0, wget = strcmp(s->name, "wget") == 0;
  size_t n = 0;
  if (!curl && !wget)
    return s->argc > 0 && fed_by_download(sh, s) ? redirected_to(s, out, 0, max) : 0;
  bool named = false, remote_name = false;
  for (size_t k = 1; k < s->argc && n < max; k++) {
    const char *a = s->argv[k], *v = NULL;
    if (curl && (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0))
      v = k + 1 < s->argc ? s->argv[++k] : NULL;
    else if (curl && strncmp(a, "--output=", 9) == 0)
      v = a + 9;
    else if (curl && a[0] == '-' && a[1] != '-' && strchr(a, 'o') && strchr(a, 'o')[1] == '\0')
      v = k + 1 < s->argc ? s->argv[++k] : NULL; /* -fsSLo FILE */
    else if (curl && (strcmp(a, "-O") == 0 || strcmp(a, "--remote-name") == 0 ||
                      (a[0] == '-' && a[1] != '-' && strchr(a, 'O'))))
      remote_name = true;
    else if (wget && (strcmp(a, "-O") == 0 || strcmp(a, "--output-document") == 0))
      v = k + 1 < s->argc ? s->argv[++k] : NULL;
    else if (wget && strncmp(a, "--output-document=", 18) == 0)
      v = a + 18;
    else if (wget && a[0] == '-' && a[1] != '-' && strchr(a, 'O')) {
      /* a cluster: -qO FILE, -qO- (stdout), -OFILE */
      const char *o = strchr(a, 'O');
      v = o[1] ? o + 1 : (k + 1 < s->argc ? s->argv[++k] : NULL);
    }
    if (v) {
      named = true;
      if (strcmp(v, "-") != 0)
        out[n++] = v;
    }
  }
  if ((wget && !named) || (curl && remote_name))
    for (size_t k = 1; k < s->argc && n < max; k++)
      if (is_url(s->argv[k]) && url_basename(s->argv[k]))
        out[n++] = url_basename(s->argv[k]);
  return redirected_to(s, out, n, max);
}

static const char *const runners[] = {"source", ".", "python", "python3", "python2", "node", "perl",
                                      "ruby",   "php", "deno",  "bun",     "lua",     NULL};

static bool runner_name(const char *name) {
  for (size_t k = 0; runners[k]; k++)
    if (strcmp(name, runners[k]) == 0)
      return true;
  return false;
}

static bool has_suffix(const char *a, const char *suf) {
  size_t la = strlen(a), ls = strlen(suf);
  return la > ls && strcmp(a + la - ls, suf) == 0;
}

/* a package file handed to an installer, whose maintainer scripts or build
 * hooks run (dpkg -i F.deb, rpm -i F.rpm, apt install ./F.deb, pip install
 * F.whl, gem install F.gem, npm install F.tgz); NULL otherwise */
static const char *installed_package(const al_segment *s) {
  static const char *const installers[] = {"dpkg", "rpm", "apt", "apt-get", "dnf", "yum", "zypper",
                                           "pip", "pip3", "gem", "npm", "pnpm", "yarn", "installer", NULL};
  static const char *const suffixes[] = {".deb", ".rpm", ".whl", ".tar.gz", ".tgz", ".zip", ".gem", ".pkg", ".apk", NULL};
  bool known = false;
  for (size_t k = 0; !known && installers[k]; k++)
    known = strcmp(s->name, installers[k]) == 0;
  if (!known)
    return NULL;
  for (size_t k = 1; k < s->argc; k++) {
    const char *a = s->argv[k];
    if (a[0] == '-' || strstr(a, "://"))
      continue;
    for (size_t x = 0; suffixes[x]; x++)
      if (has_suffix(a, suffixes[x]))
        return a;
  }
  return NULL;
}

/* the file segment i runs: its command path, a shell's or an interpreter's
 * script operand, what source or . reads, a package file installed */
static const char *run_target(const al_segment *s) {
  if (s->argc == 0 || (s->flags & AL_SEG_UNRESOLVED_COMMAND))
    return NULL;
  const char *pkg = installed_package(s);
  if (pkg)
    return pkg;
  if (strchr(s->argv[0], '/'))
    return s->argv[0];
  if (!al_shell_is_shell(s->name) && !runner_name(s->name))
    return s->argv[0]; /* a bare name: only ever matched against downloads into $PATH */
  bool runner = al_shell_is_shell(s->name) || runner_name(s->name);
  if (!runner)
    return NULL;
  for (size_t k = 1; k < s->argc; k++) {
    const char *a = s->argv[k];
    if (strcmp(a, "--") == 0)
      return k + 1 < s->argc ? s->argv[k + 1] : NULL;
    if (strcmp(a, "-c") == 0 || strcmp(a, "-e") == 0 || strcmp(a, "-m") == 0)
      return NULL; /* inline code or a module, not a file */
    if (a[0] != '-' && a[0] != '+')
      return a;
  }
  return NULL;
}

/* tar asked to extract (x in its first word, -x in a cluster, --extract,
 * --get), not to list or create */
static bool tar_extracts(const al_segment *s) {
  for (size_t k = 1; k < s->argc; k++) {
    const char *a = s->argv[k];
    if (strcmp(a, "--extract") == 0 || strcmp(a, "--get") == 0)
      return true;
    if (a[0] == '-' && a[1] != '-' && strchr(a, 'x'))
      return true;
    if (k == 1 && a[0] != '-' && strchr(a, 'x'))
      return true;
  }
  return false;
}

/* git clone URL [DIR]: the directory the repository is checked out into
 * (DIR, or the URL's last component without .git) */
static const char *clone_dir(parser_free_buf *buf, const al_segment *s) {
  if (strcmp(s->name, "git") != 0)
    return NULL;
  size_t k = 1;
  while (k < s->argc && s->argv[k][0] == '-') /* git -q, -c x=y */
    k += (strcmp(s->argv[k], "-c") == 0 || strcmp(s->argv[k], "-C") == 0) ? 2 : 1;
  if (k >= s->argc || strcmp(s->argv[k], "clone") != 0)
    return NULL;
  static const char *const valued[] = {"-b", "--branch", "--depth", "-o", "--origin", "-c", "--config",
                                       "--reference", "--separate-git-dir", "-j", "--jobs", "--filter", "-u",
                                       "--upload-pack", "--template", NULL};
  const char *pos[2] = {NULL, NULL};
  size_t np = 0;
  for (k++; k < s->argc && np < 2; k++) {
    const char *a = s->argv[k];
    if (a[0] == '-') {
      for (size_t v = 0; valued[v]; v++)
        if (strcmp(a, valued[v]) == 0) {
          k++;
          break;
        }
      continue;
    }
    pos[np++] = a;
  }
  if (np == 2)
    return pos[1];
  if (np == 0)
    return NULL;
  const char *slash = strrchr(pos[0], '/');
  const char *base = slash ? slash + 1 : pos[0];
  size_t l = strlen(base);
  if (l > 4 && strcmp(base + l - 4, ".git") == 0)
    l -= 4;
  if (l == 0 || l >= sizeof buf->b)
    return NULL;
  memcpy(buf->b, base, l);
  buf->b[l] = '\0';
  return buf->b;
}

/* tar x ... -C DIR / unzip ... -d DIR: the directory ("." when the archive
 * is unpacked where the command runs), and the archive read (NULL when it
 * comes from stdin) */
static const char *unpack_dir(const al_segment *s, const char **archive) {
  bool tar = strcmp(s->name, "tar") == 0 || strcmp(s->name, "bsdtar") == 0, unzip = strcmp(s->name, "unzip") == 0;
  const char *dir = NULL;
  *archive = NULL;
  if (!tar && !unzip)
    return NULL;
  for (size_t k = 1; k < s->argc; k++) {
    const char *a = s->argv[k];
    if (tar && (strcmp(a, "-C") == 0 || strcmp(a, "--directory") == 0) && k + 1 < s->argc)
      dir = s->argv[++k];
    else if (tar && strncmp(a, "--directory=", 12) == 0)
      dir = a + 12;
    else if (tar && (strcmp(a, "-f") == 0 || strcmp(a, "--file") == 0) && k + 1 < s->argc)
      *archive = s->argv[++k];
    else if (tar && a[0] == '-' && a[1] != '-' && strchr(a, 'f') && strchr(a, 'f')[1] == '\0' && k + 1 < s->argc)
      *archive = s->argv[++k]; /* -xzf F */
    else if (tar && k == 1 && a[0] != '-' && strchr(a, 'f') && k + 1 < s->argc)
      *archive = s->argv[++k]; /* tar xzf F */
    else if (unzip && strcmp(a, "-d") == 0 && k + 1 < s->argc)
      dir = s->argv[++k];
    else if (unzip && a[0] != '-' && *archive == NULL)
      *archive = a;
  }
  if (dir)
    return dir;
  if (tar && tar_extracts(s))
    return ".";
  if (unzip) {
    for (size_t k = 1; k < s->argc; k++)
      if (s->argv[k][0] == '-' && strpbrk(s->argv[k] + 1, "lvtZ"))
        return NULL; /* listing or testing */
    return ".";
  }
  return NULL;
}

typedef struct {
  const char *path;
  bool dir;
} fetched;

bool al_cat_runs_fetched(clsf *c, size_t i) {
  const al_shell *sh = c->sh;
  const char *target = run_target(&sh->segs[i]);
  if (target == NULL)
    return false;
  const char *t = al_shell_normalise_path(c->sh, target, c->ctx[i].cwd);
  if (t == NULL)
    return false;
  fetched seen[MAX_FETCHED];
  size_t ns = 0;
  for (size_t j = 0; j < i && ns < MAX_FETCHED; j++) {
    const al_segment *s = &sh->segs[j];
    const char *files[MAX_FETCHED];
    size_t n = fetched_by(sh, s, files, MAX_FETCHED - ns);
    for (size_t k = 0; k < n; k++) {
      const char *f = al_shell_normalise_path(c->sh, files[k], c->ctx[j].cwd);
      if (f)
        seen[ns++] = (fetched){f, false};
    }
    parser_free_buf cb;
    const char *cloned = clone_dir(&cb, s);
    if (cloned && ns < MAX_FETCHED) {
      const char *d = al_shell_normalise_path(c->sh, cloned, c->ctx[j].cwd);
      if (d)
        seen[ns++] = (fetched){d, true};
      continue;
    }
    const char *archive, *dir = unpack_dir(s, &archive);
    if (dir == NULL || ns >= MAX_FETCHED)
      continue;
    bool from_net = archive == NULL && s->pipe_from >= 0 && is_downloader(&sh->segs[s->pipe_from]);
    const char *a = archive ? al_shell_normalise_path(c->sh, archive, c->ctx[j].cwd) : NULL;
    for (size_t k = 0; a && !from_net && k < ns; k++)
      from_net = !seen[k].dir && strcmp(seen[k].path, a) == 0;
    const char *d = from_net ? al_shell_normalise_path(c->sh, dir, c->ctx[j].cwd) : NULL;
    if (d)
      seen[ns++] = (fetched){d, true};
  }
  /* a bare name runs a file downloaded into a directory of $PATH (curl -o /usr/local/bin/x URL && x) */
  bool bare = target == sh->segs[i].argv[0] && strchr(target, '/') == NULL;
  static const char *const path_dirs[] = {"/usr/local/bin/", "/usr/bin/", "/bin/", "/usr/local/sbin/",
                                          "/usr/sbin/",      "~/.local/bin/", "~/bin/", NULL};
  for (size_t k = 0; bare && k < ns; k++) {
    const char *base = strrchr(seen[k].path, '/');
    if (seen[k].dir || base == NULL || strcmp(base + 1, target) != 0)
      continue;
    for (size_t d = 0; path_dirs[d]; d++)
      if (strncmp(seen[k].path, path_dirs[d], strlen(path_dirs[d])) == 0 &&
          strlen(seen[k].path) == strlen(path_dirs[d]) + strlen(target))
        return true;
  }
  if (bare)
    return false;
  for (size_t k = 0; k < ns; k++) {
    size_t l = strlen(seen[k].path);
    /* unpacked where the command started: any relative path below it */
    if (seen[k].dir && strcmp(seen[k].path, ".") == 0) {
      if (t[0] != '/' && t[0] != '~' && strcmp(t, ".") != 0 && strncmp(t, "../", 3) != 0 && strcmp(t, "..") != 0)
        return true;
      continue;
    }
    if (seen[k].dir ? strncmp(seen[k].path, t, l) == 0 && (t[l] == '/' || (l == 1 && seen[k].path[0] == '/'))
                    : strcmp(seen[k].path, t) == 0)
      return true;
  }
  return false;
}
