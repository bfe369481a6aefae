/* SPDX-License-Identifier: Apache-2.0 */
/* manifest.c - a changeset's entries and their text form, the file
 * `manifest` of a saved changeset.  One line per field or entry, fields
 * separated by single spaces, bytes of names that could break a line
 * (controls, space, '%', DEL) written as %XX, "-" for an absent value.
 * The file is read back by `airlock changes`: it lives in a private state
 * directory, but it is parsed as untrusted input (every number range-checked,
 * every path checked to be a clean relative path) and fuzzed. */
#define _GNU_SOURCE
#include "changeset.h"
#include "cleanup.h"
#include "error.h"
#include "sha256.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_ENTRIES 10000000u

void al_changeset_free(al_changeset *cs) {
  for (size_t i = 0; i < cs->n; i++) {
    free(cs->e[i].path);
    free(cs->e[i].target);
    free(cs->e[i].base_target);
  }
  free(cs->e);
  free(cs->workspace);
  free(cs->skipped_note);
  memset(cs, 0, sizeof(*cs));
}

al_ws_entry *al_changeset_add(al_changeset *cs, char op, const char *path) {
  if (cs->n == cs->cap) {
    size_t cap = cs->cap ? cs->cap * 2 : 64;
    al_ws_entry *grown = realloc(cs->e, cap * sizeof(*grown));
    if (!grown)
      return NULL;
    cs->e = grown;
    cs->cap = cap;
  }
  al_ws_entry *e = &cs->e[cs->n];
  memset(e, 0, sizeof(*e));
  e->op = op;
  e->base_type = AL_BASE_ABSENT;
  if ((e->path = strdup(path)) == NULL)
    return NULL;
  cs->n++;
  return e;
}

bool al_ws_path_ok(const char *path) {
  size_t len = strlen(path);
  if (len == 0 || len >= 4096 || path[0] == '/')
    return false;
  for (const char *p = path; *p;) {
    size_t n = strcspn(p, "/");
    if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.') || n > 255)
      return false;
    p += n;
    if (*p == '/' && *++p == '\0')
      return false;
  }
  return true;
}

/* does the component list of path contain dir/ at any depth followed by more */
static bool has_dir(const char *path, const char *dir) {
  size_t n = strlen(dir);
  for (const char *p = path; p; p = strchr(p, '/'), p = p ? p + 1 : NULL)
    if (strncmp(p, dir, n) == 0 && p[n] == '/' && p[n + 1])
      return true;
  return false;
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* a link's target, resolved lexically from the link's directory: does it
 * leave the workspace (absolute, or more '..' than there are levels)? */
static bool points_outside(const char *path, const char *target) {
  if (target[0] == '/')
    return true;
  long depth = 0;
  for (const char *p = path; (p = strchr(p, '/')) != NULL; p++)
    depth++;
  for (const char *p = target; *p;) {
    size_t n = strcspn(p, "/");
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      if (--depth < 0)
        return true;
    } else if (n > 0 && !(n == 1 && p[0] == '.')) {
      depth++;
    }
    p += n;
    while (*p == '/')
      p++;
  }
  return false;
}

unsigned al_ws_danger(const al_ws_entry *e) {
  unsigned f = 0;
  if (e->op == AL_WS_DELETE)
    return 0;
  const char *b = base_name(e->path);
  if (has_dir(e->path, ".git/hooks") || strcmp(e->path, ".git/config") == 0 || strstr(e->path, "/.git/config"))
    f |= AL_WS_FLAG_HOOK;
  if (has_dir(e->path, ".github/workflows") || strcmp(b, ".gitlab-ci.yml") == 0)
    f |= AL_WS_FLAG_CI;
  if (strcmp(b, ".envrc") == 0)
    f |= AL_WS_FLAG_ENVRC;
  if (e->op != AL_WS_SYMLINK && (e->mode & (S_ISUID | S_ISGID)))
    f |= AL_WS_FLAG_SETID;
  if (e->op == AL_WS_SYMLINK && e->target && points_outside(e->path, e->target))
    f |= AL_WS_FLAG_OUTSIDE;
  return f;
}

const char *al_ws_danger_text(unsigned flags, char *buf, size_t len) {
  static const struct {
    unsigned bit;
    const char *text;
  } names[] = {{AL_WS_FLAG_HOOK, "git hook or config"},
               {AL_WS_FLAG_CI, "CI workflow"},
               {AL_WS_FLAG_ENVRC, ".envrc"},
               {AL_WS_FLAG_SETID, "setuid/setgid bit"},
               {AL_WS_FLAG_OUTSIDE, "symlink pointing outside the workspace"}};
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < AL_ARRAY_SIZE(names); i++)
    if (flags & names[i].bit) {
      int n = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", names[i].text);
      if (n < 0 || (size_t)n >= len - used)
        break;
      used += (size_t)n;
    }
  return buf;
}

/* ---- writing ---- */

static void put_esc(FILE *f, const char *s) {
  if (!s) {
    fputc('-', f);
    return;
  }
  if (strcmp(s, "-") == 0) {
    fputs("%2D", f);
    return;
  }
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p <= 0x20 || *p == '%' || *p == 0x7f)
      fprintf(f, "%%%02X", *p);
    else
      fputc(*p, f);
  }
}

static void put_sha(FILE *f, const uint8_t sha[32], bool have) {
  char hex[65];
  if (!have) {
    fputc('-', f);
    return;
  }
  al_sha256_hex(sha, hex);
  fputs(hex, f);
}

char *al_changeset_format(const al_changeset *cs) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NULL;
  fprintf(f, "airlock-changeset 1\nid %s\ncreated %" PRId64 "\nworkspace ", cs->id, cs->created);
  put_esc(f, cs->workspace);
  fprintf(f, "\ndev %" PRIu64 "\nino %" PRIu64 "\nskipped %zu\nentries %zu\n", cs->dev, cs->ino, cs->skipped, cs->n);
  for (size_t i = 0; i < cs->n; i++) {
    const al_ws_entry *e = &cs->e[i];
    fprintf(f, "E %c %o %" PRIu64 " ", e->op, e->mode, e->size);
    put_sha(f, e->sha, e->op == AL_WS_FILE);
    fprintf(f, " %c %o %" PRIu64 " %" PRId64 " ", e->base_type, e->base_mode, e->base_size, e->base_mtime);
    put_sha(f, e->base_sha, e->base_type == AL_BASE_FILE);
    fputc(' ', f);
    put_esc(f, e->path);
    fputc(' ', f);
    put_esc(f, e->target);
    fputc(' ', f);
    put_esc(f, e->base_target);
    fputc('\n', f);
  }
  if (fclose(f) != 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

/* ---- parsing ---- */

typedef struct {
  const char *p, *end;
} cursor;

/* the next line without its newline; false at the end */
static bool next_line(cursor *c, const char **line, size_t *len) {
  if (c->p >= c->end)
    return false;
  const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
  if (!nl)
    return false; /* every line ends with a newline */
  *line = c->p;
  *len = (size_t)(nl - c->p);
  c->p = nl + 1;
  return true;
}

/* split a line into at most max fields on single spaces; -1 when malformed */
static int split(const char *line, size_t len, char *copy, size_t cap, char **fields, int max) {
  if (len + 1 > cap || memchr(line, '\0', len))
    return -1;
  memcpy(copy, line, len);
  copy[len] = '\0';
  int n = 0;
  for (char *p = copy;;) {
    if (n == max)
      return -1;
    fields[n++] = p;
    char *sp = strchr(p, ' ');
    if (!sp)
      break;
    *sp = '\0';
    p = sp + 1;
  }
  for (int i = 0; i < n; i++)
    if (fields[i][0] == '\0')
      return -1;
  return n;
}

static int unesc(const char *s, char **out) {
  *out = NULL;
  if (strcmp(s, "-") == 0)
    return 0;
  size_t n = strlen(s);
  char *d = malloc(n + 1), *w = d;
  if (!d)
    return -1;
  for (const char *p = s; *p; p++) {
    if (*p == '%') {
      unsigned v;
      if (!p[1] || !p[2] || sscanf(p + 1, "%2x", &v) != 1 || !strchr("0123456789ABCDEFabcdef", p[1]) ||
          !strchr("0123456789ABCDEFabcdef", p[2]) || v == 0) {
        free(d);
        return -1;
      }
      *w++ = (char)v;
      p += 2;
    } else {
      *w++ = *p;
    }
  }
  *w = '\0';
  *out = d;
  return 0;
}

static bool parse_u64(const char *s, int base, uint64_t max, uint64_t *v) {
  if (!*s || *s == '-' || *s == '+' || *s == ' ')
    return false;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(s, &end, base);
  if (errno || *end || x > max)
    return false;
  *v = x;
  return true;
}

static bool parse_i64(const char *s, int64_t *v) {
  if (!*s)
    return false;
  char *end;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if (errno || *end)
    return false;
  *v = x;
  return true;
}

static bool parse_sha(const char *s, uint8_t out[32]) {
  if (strlen(s) != 64)
    return false;
  for (int i = 0; i < 32; i++) {
    unsigned v;
    if (!strchr("0123456789abcdef", s[2 * i]) || !strchr("0123456789abcdef", s[2 * i + 1]) ||
        sscanf(s + 2 * i, "%2x", &v) != 1)
      return false;
    out[i] = (uint8_t)v;
  }
  return true;
}

/* a header line "key value" */
static bool header(cursor *c, const char *key, char *copy, size_t cap, char **value) {
  const char *line;
  size_t len;
  char *f[2];
  if (!next_line(c, &line, &len) || split(line, len, copy, cap, f, 2) != 2 || strcmp(f[0], key) != 0)
    return false;
  *value = f[1];
  return true;
}

static int parse_entry(char **f, al_changeset *cs, size_t lineno, airlock_error **err) {
  uint64_t mode, size, bmode, bsize;
  int64_t bmtime;
  const char *op = f[1], *bt = f[5];
  if (strcmp(f[0], "E") != 0 || strlen(op) != 1 || !strchr("FDOLXCH", op[0]) || strlen(bt) != 1 ||
      !strchr("-fdlo", bt[0]) || !parse_u64(f[2], 8, 07777, &mode) || !parse_u64(f[3], 10, INT64_MAX, &size) ||
      !parse_u64(f[6], 8, 07777, &bmode) || !parse_u64(f[7], 10, INT64_MAX, &bsize) || !parse_i64(f[8], &bmtime))
    return al_err(err, 0, "changeset manifest: entry %zu is malformed", lineno);
  _cleanup_free_ char *path = NULL;
  if (unesc(f[10], &path) < 0 || !path || !al_ws_path_ok(path))
    return al_err(err, 0, "changeset manifest: entry %zu has a bad path", lineno);
  al_ws_entry *e = al_changeset_add(cs, op[0], path);
  if (!e)
    return al_err(err, ENOMEM, "changeset manifest");
  e->mode = (uint32_t)mode;
  e->size = size;
  e->base_type = bt[0];
  e->base_mode = (uint32_t)bmode;
  e->base_size = bsize;
  e->base_mtime = bmtime;
  bool want_sha = e->op == AL_WS_FILE, want_bsha = e->base_type == AL_BASE_FILE;
  if ((want_sha ? !parse_sha(f[4], e->sha) : strcmp(f[4], "-") != 0) ||
      (want_bsha ? !parse_sha(f[9], e->base_sha) : strcmp(f[9], "-") != 0))
    return al_err(err, 0, "changeset manifest: entry %zu has a bad hash", lineno);
  if (unesc(f[11], &e->target) < 0 || unesc(f[12], &e->base_target) < 0)
    return al_err(err, 0, "changeset manifest: entry %zu has a bad link target", lineno);
  if ((e->op == AL_WS_SYMLINK || e->op == AL_WS_LINK) != (e->target != NULL) || (e->target && !e->target[0]) ||
      (e->op == AL_WS_LINK && !al_ws_path_ok(e->target)) ||
      (e->base_type == AL_BASE_LINK) != (e->base_target != NULL) || (e->op != AL_WS_FILE && e->size != 0))
    return al_err(err, 0, "changeset manifest: entry %zu is inconsistent", lineno);
  e->flags = al_ws_danger(e);
  return 0;
}

int al_changeset_parse(const char *text, size_t len, al_changeset *cs, airlock_error **err) {
  memset(cs, 0, sizeof(*cs));
  cursor c = {text, text + len};
  char copy[3 * 4096 * 3 + 512];
  char *v;
  const char *line;
  size_t llen;
  uint64_t dev, ino, skipped, n;
  int64_t created;
  char *f[13];
  if (!next_line(&c, &line, &llen) || llen != strlen("airlock-changeset 1") ||
      memcmp(line, "airlock-changeset 1", llen) != 0)
    return al_err(err, 0, "changeset manifest: not a changeset (or of another version)");
  if (!header(&c, "id", copy, sizeof(copy), &v) || !al_ws_id_ok(v))
    goto bad;
  snprintf(cs->id, sizeof(cs->id), "%s", v);
  if (!header(&c, "created", copy, sizeof(copy), &v) || !parse_i64(v, &created))
    goto bad;
  cs->created = created;
  if (!header(&c, "workspace", copy, sizeof(copy), &v) || unesc(v, &cs->workspace) < 0)
    goto bad;
  if (!header(&c, "dev", copy, sizeof(copy), &v) || !parse_u64(v, 10, UINT64_MAX, &dev) ||
      !header(&c, "ino", copy, sizeof(copy), &v) || !parse_u64(v, 10, UINT64_MAX, &ino) ||
      !header(&c, "skipped", copy, sizeof(copy), &v) || !parse_u64(v, 10, MAX_ENTRIES, &skipped) ||
      !header(&c, "entries", copy, sizeof(copy), &v) || !parse_u64(v, 10, MAX_ENTRIES, &n))
    goto bad;
  cs->dev = dev;
  cs->ino = ino;
  cs->skipped = (size_t)skipped;
  for (uint64_t i = 0; i < n; i++) {
    if (!next_line(&c, &line, &llen) || split(line, llen, copy, sizeof(copy), f, 13) != 13) {
      al_err(err, 0, "changeset manifest: entry %" PRIu64 " is malformed", i + 1);
      al_changeset_free(cs);
      return -1;
    }
    if (parse_entry(f, cs, (size_t)i + 1, err) < 0) {
      al_changeset_free(cs);
      return -1;
    }
  }
  if (c.p != c.end) {
    al_err(err, 0, "changeset manifest: data after the last entry");
    al_changeset_free(cs);
    return -1;
  }
  return 0;
bad:
  al_changeset_free(cs);
  return al_err(err, 0, "changeset manifest: a header line is missing or malformed");
}
