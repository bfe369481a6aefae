/* SPDX-License-Identifier: Apache-2.0 */
/* shell_support.c - what every part of the shell reader stands on: the
 * arena that owns a parse's strings, the growable byte buffer, variables set
 * earlier in the string, escape decoding and path normalisation.  None of it
 * reads the grammar, so it is kept apart from the words and the commands. */
#define _GNU_SOURCE
#include "shell_parse_impl.h"

#include <limits.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"

#define ARENA_BLOCK 16384

/* --- arena --------------------------------------------------------------- */

struct al_arena_block {
  struct al_arena_block *next;
  size_t used;
  size_t cap;
  alignas(max_align_t) unsigned char data[];
};

void *al_shell_alloc(al_shell *sh, size_t size) {
  size_t a = alignof(max_align_t);
  size = (size + a - 1) & ~(a - 1);
  if (size == 0)
    size = a;
  if (size > ARENA_LIMIT || sh->arena_bytes > ARENA_LIMIT - size)
    return NULL;
  struct al_arena_block *b = sh->arena;
  if (b == NULL || b->cap - b->used < size) {
    size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
    b = malloc(sizeof(*b) + cap);
    if (b == NULL)
      return NULL;
    b->used = 0;
    b->cap = cap;
    b->next = sh->arena;
    sh->arena = b;
  }
  void *p = b->data + b->used;
  b->used += size;
  sh->arena_bytes += size;
  return p;
}

static char *arena_strndup(al_shell *sh, const char *s, size_t n) {
  char *d = al_shell_alloc(sh, n + 1);
  if (d == NULL)
    return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

void al_shell_free(al_shell *sh) {
  if (sh == NULL)
    return;
  free(sh->segs);
  struct al_arena_block *b = sh->arena;
  while (b) {
    struct al_arena_block *next = b->next;
    free(b);
    b = next;
  }
  memset(sh, 0, sizeof(*sh));
}

/* --- growable byte buffer with inline storage ---------------------------- */

void al_sh_sb_init(strbuf *b) {
  b->buf = b->small;
  b->len = 0;
  b->cap = sizeof(b->small);
}

void al_sh_sb_free(strbuf *b) {
  if (b->buf != b->small)
    free(b->buf);
  al_sh_sb_init(b);
}

static bool sb_grow(strbuf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap)
    return true;
  if (b->len + extra + 1 > AL_SHELL_MAX_INPUT * 4)
    return false;
  size_t cap = b->cap * 2;
  while (cap < b->len + extra + 1)
    cap *= 2;
  char *n;
  if (b->buf == b->small) {
    n = malloc(cap);
    if (n)
      memcpy(n, b->buf, b->len);
  } else {
    n = realloc(b->buf, cap);
  }
  if (n == NULL)
    return false;
  b->buf = n;
  b->cap = cap;
  return true;
}

bool al_sh_sb_putn(strbuf *b, const char *s, size_t n) {
  if (!sb_grow(b, n))
    return false;
  memcpy(b->buf + b->len, s, n);
  b->len += n;
  b->buf[b->len] = '\0';
  return true;
}

bool al_sh_sb_putc(strbuf *b, char c) { return al_sh_sb_putn(b, &c, 1); }

/* --- small helpers -------------------------------------------------------- */

bool al_sh_in_list(const char *s, const char *const *list) {
  for (; *list; list++)
    if (strcmp(s, *list) == 0)
      return true;
  return false;
}

bool al_shell_is_shell(const char *name) {
  static const char *const shells[] = {"sh",   "bash",  "dash", "zsh",   "ksh",   "mksh",       "ash", "yash",
                                       "posh", "rbash", "fish", "ksh93", "pdksh", "busybox-sh", NULL};
  return al_sh_in_list(name, shells);
}

/* NAME= or NAME+= at the start of s; returns the length up to and with '=' */
size_t al_sh_assignment_prefix(const char *s) {
  if (!is_name_start((unsigned char)s[0]))
    return 0;
  size_t i = 1;
  while (is_name_char((unsigned char)s[i]))
    i++;
  if (s[i] == '+' && s[i + 1] == '=')
    return i + 2;
  return s[i] == '=' ? i + 1 : 0;
}

/* --- path normalisation --------------------------------------------------- */

const char *al_shell_normalise_path(al_shell *sh, const char *path, const char *cwd) {
  size_t plen = strlen(path);
  if (plen >= PATH_MAX || (cwd && strlen(cwd) >= PATH_MAX))
    return NULL;
  char joined[2 * PATH_MAX + 2];
  char userhome[PATH_MAX + 8];
  if (path[0] == '~' && is_name_start((unsigned char)path[1])) { /* ~user is /home/user (~root /root) */
    size_t ul = strcspn(path + 1, "/");
    if (ul == 4 && strncmp(path + 1, "root", 4) == 0)
      snprintf(userhome, sizeof(userhome), "/root%s", path + 5);
    else
      snprintf(userhome, sizeof(userhome), "/home/%s", path + 1);
    path = userhome;
  }
  const char *src = path;
  bool home = path[0] == '~' && (path[1] == '/' || path[1] == '\0');
  if (cwd && path[0] != '/' && !home && cwd[0] != '\0') {
    snprintf(joined, sizeof(joined), "%s/%s", cwd, path);
    src = joined;
    home = src[0] == '~' && (src[1] == '/' || src[1] == '\0');
  }
  char out[2 * PATH_MAX + 8];
  uint16_t starts[PATH_MAX]; /* where each kept component begins (before its '/') */
  size_t o = 0, n = 0;
  char root = src[0] == '/' ? '/' : home ? '~' : 0;
  const char *p = src;
  if (root) {
    out[o++] = root;
    p++;
  }
  while (*p) {
    while (*p == '/')
      p++;
    if (!*p)
      break;
    const char *c = p;
    while (*p && *p != '/')
      p++;
    size_t l = (size_t)(p - c);
    if (l == 1 && c[0] == '.')
      continue;
    if (l == 2 && c[0] == '.' && c[1] == '.') {
      if (n > 0) {
        o = starts[--n];
      } else if (root == '~') {
        memcpy(out, "/home", 5); /* ~/.. is taken as /home */
        o = 5;
        starts[0] = 1;
        n = 1;
        root = '/';
      } else if (root == 0) {
        if (o > 0)
          out[o++] = '/';
        out[o++] = '.';
        out[o++] = '.';
      }
      continue;
    }
    if (o + l + 2 >= sizeof(out) || n >= AL_ARRAY_SIZE(starts))
      return NULL;
    starts[n++] = (uint16_t)o;
    if (o > 0 && out[o - 1] != '/')
      out[o++] = '/';
    memcpy(out + o, c, l);
    o += l;
  }
  if (o == 0)
    out[o++] = '.';
  if (o >= PATH_MAX)
    return NULL;
  return arena_strndup(sh, out, o);
}

/* --- parser errors and strings ---------------------------------------------- */

int al_sh_fail_syntax(parser *p, size_t at, const char *what) {
  return al_err(p->err, 0, "shell syntax: %s at offset %zu", what, at);
}

int al_sh_fail_fatal(parser *p, const char *msg) {
  p->fatal = true;
  return al_err(p->err, 0, "shell parse: %s", msg);
}

int al_sh_fail_nomem(parser *p) {
  p->fatal = true;
  return al_err(p->err, 0, "shell parse: out of memory or more than %u bytes of expanded text", (unsigned)ARENA_LIMIT);
}

char *al_sh_pdup(parser *p, const char *s, size_t n) { return arena_strndup(p->sh, s, n); }

/* --- variables ----------------------------------------------------------- */

static var *var_find(vartab *t, const char *name, size_t n) {
  for (size_t i = t->n; i-- > 0;)
    if (strlen(t->v[i].name) == n && memcmp(t->v[i].name, name, n) == 0)
      return &t->v[i];
  return NULL;
}

/* value NULL: unknown from now on */
int al_sh_var_set(parser *p, const char *name, size_t n, const char *value) {
  var *v = var_find(p->vars, name, n);
  if (v == NULL) {
    if (p->vars->n >= MAX_VARS)
      return 0; /* untracked: reads as unknown */
    v = &p->vars->v[p->vars->n];
    v->name = al_sh_pdup(p, name, n);
    if (v->name == NULL)
      return al_sh_fail_nomem(p);
    p->vars->n++;
  }
  if (value && strlen(value) > MAX_STATIC_OUTPUT)
    value = NULL;
  v->value = value;
  return 0;
}

void al_sh_var_unset(parser *p, const char *name) {
  var *v = var_find(p->vars, name, strlen(name));
  if (v)
    v->value = NULL;
}

/* 1 known (*value set), 0 unknown */
int al_sh_var_get(parser *p, const char *name, size_t n, const char **value) {
  var *v = var_find(p->vars, name, n);
  if (v == NULL || v->value == NULL)
    return 0;
  *value = v->value;
  return 1;
}

/* --- escapes (echo -e, printf, $'...') ----------------------------------- */

/* Decode one escape at s (just after the backslash) into out; returns the
 * number of bytes consumed, 0 for \c (stop output).  octal_zero: echo's \0NNN
 * form, otherwise \NNN. */
size_t al_sh_decode_escape(const char *s, strbuf *out, bool octal_zero, bool *ok) {
  char c = s[0];
  static const char from[] = "abefnrtv\\'\"?E";
  static const char to[] = "\a\b\033\f\n\r\t\v\\'\"?\033";
  const char *f = c ? strchr(from, c) : NULL;
  if (f) {
    *ok &= al_sh_sb_putc(out, to[f - from]);
    return 1;
  }
  if (c == 'c')
    return 0;
  if (c == 'x') {
    unsigned v = 0;
    size_t i = 1;
    while (i <= 2 && isxdigit((unsigned char)s[i])) {
      v = v * 16 + (unsigned)(isdigit((unsigned char)s[i]) ? s[i] - '0' : (tolower((unsigned char)s[i]) - 'a' + 10));
      i++;
    }
    if (i == 1) {
      *ok &= al_sh_sb_putn(out, "\\x", 2);
      return 1;
    }
    if (v != 0)
      *ok &= al_sh_sb_putc(out, (char)v);
    return i;
  }
  if (c >= '0' && c <= '7') {
    size_t i = 0, max = 3;
    if (octal_zero && c == '0') {
      i = 1;
      max = 4;
    }
    unsigned v = 0;
    while (i < max && s[i] >= '0' && s[i] <= '7') {
      v = v * 8 + (unsigned)(s[i] - '0');
      i++;
    }
    if (i == 0)
      i = 1;
    if ((v & 0xff) != 0)
      *ok &= al_sh_sb_putc(out, (char)(v & 0xff));
    return i;
  }
  if (c == '\0') {
    *ok &= al_sh_sb_putc(out, '\\');
    return 0;
  }
  *ok &= al_sh_sb_putc(out, '\\');
  *ok &= al_sh_sb_putc(out, c);
  return 1;
}
