/* SPDX-License-Identifier: Apache-2.0 */
/* diff.c - unified diffs for `airlock changes diff`, without calling an
 * external program (none may be on the host, and its output would be
 * another thing to trust).  Myers' O((N+M)·D) greedy algorithm ("An O(ND)
 * Difference Algorithm and Its Variations", 1986): an agent's edits are
 * usually small against large files, which is the case it is fast for; the
 * forward pass keeps, for each D, only the 2D+1 diagonals it reached, so
 * memory is O(D²), and past MAX_D edits the diff falls back to replacing the
 * whole file (still a correct diff, only a longer one). */
#define _GNU_SOURCE
#include "changeset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTEXT 3
#define MAX_D 2048

typedef struct {
  const char *p;
  size_t n; /* with its newline, if it has one */
} line;

bool al_ws_is_binary(const char *p, size_t len) { return memchr(p, '\0', len < 8000 ? len : 8000) != NULL; }

static line *split_lines(const char *s, size_t len, size_t *count) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    n += s[i] == '\n';
  n += len > 0 && s[len - 1] != '\n';
  line *l = calloc(n + 1, sizeof(*l));
  if (!l)
    return NULL;
  size_t k = 0;
  for (size_t i = 0; i < len;) {
    const char *nl = memchr(s + i, '\n', len - i);
    size_t end = nl ? (size_t)(nl - s) + 1 : len;
    l[k++] = (line){s + i, end - i};
    i = end;
  }
  *count = n;
  return l;
}

static bool eq(const line *a, const line *b) { return a->n == b->n && memcmp(a->p, b->p, a->n) == 0; }

/* the edit script, one of '=', '-', '+' per step; NULL when out of memory */
static char *myers(const line *a, size_t n, const line *b, size_t m, size_t *len) {
  char *ops = malloc(n + m + 1);
  if (!ops)
    return NULL;
  long **v = calloc(MAX_D + 1, sizeof(long *));
  long found = -1;
  for (long d = 0; v && d <= MAX_D && found < 0; d++) {
    long *cur = malloc((size_t)(2 * d + 1) * sizeof(long));
    if (!cur)
      break;
    v[d] = cur;
    long *prev = d ? v[d - 1] : NULL;
    for (long k = -d; k <= d; k += 2) {
      long x;
      if (d == 0)
        x = 0;
      else if (k == -d || (k != d && prev[k - 1 + d - 1] < prev[k + 1 + d - 1]))
        x = prev[k + 1 + d - 1];
      else
        x = prev[k - 1 + d - 1] + 1;
      long y = x - k;
      while ((size_t)x < n && y >= 0 && (size_t)y < m && eq(&a[x], &b[y]))
        x++, y++;
      cur[k + d] = x;
      if ((size_t)x >= n && y >= 0 && (size_t)y >= m) {
        found = d;
        break;
      }
    }
  }
  size_t k = 0;
  if (found < 0) { /* too many edits: the whole of a out, the whole of b in */
    for (size_t i = 0; i < n; i++)
      ops[k++] = '-';
    for (size_t i = 0; i < m; i++)
      ops[k++] = '+';
  } else {
    long x = (long)n, y = (long)m;
    for (long d = found; d > 0; d--) {
      long *prev = v[d - 1];
      long kk = x - y, pk;
      if (kk == -d || (kk != d && prev[kk - 1 + d - 1] < prev[kk + 1 + d - 1]))
        pk = kk + 1; /* came down: an insertion */
      else
        pk = kk - 1; /* came right: a deletion */
      long px = prev[pk + d - 1], py = px - pk;
      long mx = pk == kk + 1 ? px : px + 1;
      while (x > mx)
        ops[k++] = '=', x--, y--;
      ops[k++] = pk == kk + 1 ? '+' : '-';
      x = px;
      y = py;
    }
    while (x > 0)
      ops[k++] = '=', x--;
    for (size_t i = 0; i < k / 2; i++) { /* built backwards */
      char t = ops[i];
      ops[i] = ops[k - 1 - i];
      ops[k - 1 - i] = t;
    }
  }
  for (long d = 0; v && d <= MAX_D; d++)
    free(v[d]);
  free(v);
  *len = k;
  return ops;
}

static void put_line(FILE *f, char tag, const line *l) {
  fputc(tag, f);
  fwrite(l->p, 1, l->n, f);
  if (l->n == 0 || l->p[l->n - 1] != '\n')
    fputs("\n\\ No newline at end of file\n", f);
}

int al_ws_diff(const char *a, size_t alen, const char *b, size_t blen, const char *aname, const char *bname, char **out,
               size_t *outlen) {
  size_t n = 0, m = 0, k = 0;
  line *la = split_lines(a, alen, &n), *lb = split_lines(b, blen, &m);
  char *ops = la && lb ? myers(la, n, lb, m, &k) : NULL;
  FILE *f = ops ? open_memstream(out, outlen) : NULL;
  if (!f) {
    free(la);
    free(lb);
    free(ops);
    return -1;
  }
  bool any = false;
  for (size_t i = 0; i < k && !any; i++)
    any = ops[i] != '=';
  if (any)
    fprintf(f, "--- %s\n+++ %s\n", aname, bname);
  /* position in a and b at each op */
  size_t i = 0, ai = 0, bi = 0;
  while (any && i < k) {
    size_t c = i, ca = ai, cb = bi; /* next change */
    while (c < k && ops[c] == '=')
      c++, ca++, cb++;
    if (c == k)
      break;
    size_t back = c - i < CONTEXT ? c - i : CONTEXT;
    size_t hs = c - back, has = ca - back, hbs = cb - back;
    /* extend while the next change is within 2*CONTEXT equal lines */
    size_t e = c, run = 0;
    for (size_t j = c; j < k; j++) {
      if (ops[j] == '=') {
        if (++run > 2 * CONTEXT)
          break;
      } else {
        run = 0;
        e = j + 1;
      }
    }
    size_t he = e + CONTEXT < k ? e + CONTEXT : k;
    for (size_t j = e; j < he; j++)
      if (ops[j] != '=') { /* never cut a change short */
        he = j;
        break;
      }
    size_t acount = 0, bcount = 0;
    for (size_t j = hs; j < he; j++) {
      acount += ops[j] != '+';
      bcount += ops[j] != '-';
    }
    fprintf(f, "@@ -%zu,%zu +%zu,%zu @@\n", acount ? has + 1 : has, acount, bcount ? hbs + 1 : hbs, bcount);
    size_t x = has, y = hbs;
    for (size_t j = hs; j < he; j++) {
      if (ops[j] == '=')
        put_line(f, ' ', &la[x++]), y++;
      else if (ops[j] == '-')
        put_line(f, '-', &la[x++]);
      else
        put_line(f, '+', &lb[y++]);
    }
    i = he;
    ai = x;
    bi = y;
  }
  int rc = fclose(f) == 0 ? 0 : -1;
  free(la);
  free(lb);
  free(ops);
  return rc;
}
