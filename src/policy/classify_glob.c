/* SPDX-License-Identifier: Apache-2.0 */
/* classify_glob.c - the glob matching of the catalogue: '*' '?' '[...]' and
 * escapes, path globs with "**" components, and globs compiled once (cglob)
 * for the matcher.  It knows nothing of catalogues or segments. */
#define _GNU_SOURCE
#include "classify_impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

/* --- globs -------------------------------------------------------------------- */

/* one pattern character (or class, or escape) at p[*pi] against c */
static bool glob_one(const char *p, size_t pn, size_t *pi, unsigned char c) {
  size_t i = *pi;
  if (p[i] == '?') {
    *pi = i + 1;
    return true;
  }
  if (p[i] == '\\' && i + 1 < pn) {
    *pi = i + 2;
    return (unsigned char)p[i + 1] == c;
  }
  if (p[i] == '[') {
    size_t j = i + 1;
    bool neg = j < pn && (p[j] == '!' || p[j] == '^');
    if (neg)
      j++;
    bool found = false, first = true;
    while (j < pn && (p[j] != ']' || first)) {
      first = false;
      unsigned char lo = (unsigned char)p[j], hi = lo;
      if (j + 2 < pn && p[j + 1] == '-' && p[j + 2] != ']') {
        hi = (unsigned char)p[j + 2];
        j += 3;
      } else {
        j++;
      }
      if (c >= lo && c <= hi)
        found = true;
    }
    if (j < pn) { /* a closed class */
      *pi = j + 1;
      return found != neg;
    }
    /* no closing ']': a literal '[' */
  }
  *pi = i + 1;
  return (unsigned char)p[i] == c;
}

/* '*' matches any run of characters: the classic backtracking to the last star */
static bool glob_plain(const char *p, size_t pn, const char *s, size_t sn) {
  size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;
  while (si < sn) {
    if (pi < pn && p[pi] == '*') {
      star_p = ++pi;
      star_s = si;
      continue;
    }
    size_t next = pi;
    if (pi < pn && glob_one(p, pn, &next, (unsigned char)s[si])) {
      pi = next;
      si++;
      continue;
    }
    if (star_p == SIZE_MAX)
      return false;
    pi = star_p;
    si = ++star_s;
  }
  while (pi < pn && p[pi] == '*')
    pi++;
  return pi == pn;
}

/* "/a/b" -> "", "a", "b"; at most max spans stored, the count is returned */
size_t al_cat_split_path(const char *s, size_t len, span *out, size_t max) {
  size_t n = 0;
  const char *c = s, *end = s + len;
  for (;;) {
    const char *e = memchr(c, '/', (size_t)(end - c));
    size_t l = e ? (size_t)(e - c) : (size_t)(end - c);
    if (n < max)
      out[n] = (span){c, l};
    n++;
    if (!e)
      return n;
    c = e + 1;
  }
}

static bool has_glob_chars_n(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] == '*' || s[i] == '?' || s[i] == '[' || s[i] == '\\')
      return true;
  return false;
}

void al_cat_cglob_free(cglob *g) {
  free(g->text);
  free(g->comps);
}

bool al_cat_cglob_init(cglob *g, const char *text) {
  memset(g, 0, sizeof(*g));
  g->text = strdup(text);
  if (!g->text)
    return false;
  g->len = strlen(text);
  g->literal = !has_glob_chars_n(text, g->len);
  size_t n = al_cat_split_path(g->text, g->len, NULL, 0);
  span *tmp = malloc(n * sizeof(span));
  g->comps = malloc(n * sizeof(pspan));
  if (!tmp || !g->comps) {
    free(tmp);
    return false;
  }
  al_cat_split_path(g->text, g->len, tmp, n);
  for (size_t i = 0; i < n; i++) {
    pspan *c = &g->comps[i];
    c->p = tmp[i].p;
    c->n = tmp[i].n;
    c->dstar = c->n == 2 && c->p[0] == '*' && c->p[1] == '*';
    c->lit = !c->dstar && !has_glob_chars_n(c->p, c->n);
    g->dstar |= c->dstar;
  }
  g->ncomps = n;
  free(tmp);
  return true;
}

static bool comp_match(const pspan *pc, const span *sc) {
  if (pc->lit)
    return pc->n == sc->n && memcmp(pc->p, sc->p, sc->n) == 0;
  return glob_plain(pc->p, pc->n, sc->p, sc->n);
}

/* g against a path already split into components */
bool al_cat_glob_path_split(const cglob *g, const char *path, size_t plen, const span *sc, size_t ns) {
  if (g->literal)
    return g->len == plen && memcmp(g->text, path, plen) == 0;
  const pspan *pc = g->comps;
  size_t np = g->ncomps;
  if (!g->dstar) {
    if (np != ns)
      return false;
    for (size_t i = 0; i < np; i++)
      if (!comp_match(&pc[i], &sc[i]))
        return false;
    return true;
  }
  /* cheap rejections on the first and last components */
  if (!pc[0].dstar && (ns == 0 || !comp_match(&pc[0], &sc[0])))
    return false;
  if (np > 1 && !pc[np - 1].dstar && (ns == 0 || !comp_match(&pc[np - 1], &sc[ns - 1])))
    return false;
  /* next[j]: pattern components pi+1.. match path components j.. */
  bool stack[2 * 65];
  _cleanup_free_ bool *heap = NULL;
  bool *dp = stack;
  if (ns + 1 > 65) {
    dp = heap = malloc(2 * (ns + 1) * sizeof(bool));
    if (!dp)
      return false;
  }
  bool *next = dp, *cur = dp + ns + 1;
  for (size_t j = 0; j <= ns; j++)
    next[j] = j == ns;
  for (size_t pi = np; pi-- > 0;) {
    if (pc[pi].dstar) {
      cur[ns] = next[ns];
      for (size_t j = ns; j-- > 0;)
        cur[j] = next[j] || cur[j + 1];
    } else {
      cur[ns] = false;
      for (size_t j = 0; j < ns; j++)
        cur[j] = next[j + 1] && comp_match(&pc[pi], &sc[j]);
    }
    bool *t = next;
    next = cur;
    cur = t;
  }
  return next[0];
}

static bool glob_path_str(const cglob *g, const char *path) {
  size_t plen = strlen(path);
  span stack[64];
  size_t ns = al_cat_split_path(path, plen, stack, AL_ARRAY_SIZE(stack));
  if (ns <= AL_ARRAY_SIZE(stack))
    return al_cat_glob_path_split(g, path, plen, stack, ns);
  _cleanup_free_ span *heap = malloc(ns * sizeof(span));
  if (!heap)
    return false;
  al_cat_split_path(path, plen, heap, ns);
  return al_cat_glob_path_split(g, path, plen, heap, ns);
}

bool al_cat_cglob_plain(const cglob *g, const char *s, size_t n) {
  if (g->literal)
    return g->len == n && memcmp(g->text, s, n) == 0;
  return glob_plain(g->text, g->len, s, n);
}

/* the parameter is not named pattern: that is the catalogue's type */
bool al_glob_match(const char *pat, const char *s, bool path_mode) {
  cglob g;
  if (!al_cat_cglob_init(&g, pat)) {
    al_cat_cglob_free(&g);
    return false;
  }
  bool r = path_mode ? glob_path_str(&g, s) : al_cat_cglob_plain(&g, s, strlen(s));
  al_cat_cglob_free(&g);
  return r;
}
