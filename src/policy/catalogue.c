/* SPDX-License-Identifier: Apache-2.0 */
/* catalogue.c - the life of a compiled catalogue: loading files and JSON
 * text, merging a file into a catalogue, the name indexes rebuilt after each
 * load, and freeing.  Compiling the JSON is catalogue_compile.c's, matching
 * is classify_match.c's. */
#define _GNU_SOURCE
#include "classify_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"

#ifndef AIRLOCK_DATADIR
#define AIRLOCK_DATADIR "/usr/local/share"
#endif

#define MAX_CATALOGUE_BYTES (4 << 20)

const char *al_catalogue_default_path(void) { return AIRLOCK_DATADIR "/airlock/dangerous-actions.json"; }

/* --- freeing ------------------------------------------------------------------ */

static void strv_free(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static void globset_free(globset *g) {
  for (size_t i = 0; i < g->npos; i++)
    al_cat_cglob_free(&g->pos[i]);
  for (size_t i = 0; i < g->nneg; i++)
    al_cat_cglob_free(&g->neg[i]);
  free(g->pos);
  free(g->neg);
}

static void relist_free(relist *r) {
  for (size_t i = 0; i < r->n; i++)
    regfree(&r->re[i]);
  free(r->re);
}

static void alt_free(altgroup *a, size_t n) {
  for (size_t i = 0; i < n; i++)
    strv_free(a[i].alts, a[i].n);
  free(a);
}

static void mnode_free(mnode *m);

static void mnode_ptr_free(mnode *m) {
  if (m) {
    mnode_free(m);
    free(m);
  }
}

static void mnode_free(mnode *m) {
  globset *sets[] = {&m->command, &m->command_not, &m->wrapper,    &m->subcommand, &m->arg,
                     &m->path,    &m->read_path,   &m->write_path, &m->assign};
  for (size_t i = 0; i < AL_ARRAY_SIZE(sets); i++)
    globset_free(sets[i]);
  relist_free(&m->arg_re);
  relist_free(&m->argline_re);
  alt_free(m->flags, m->nflags);
  alt_free(m->flags_absent, m->nflags_absent);
  for (size_t i = 0; i < m->noptions; i++) {
    strv_free(m->options[i].names.alts, m->options[i].names.n);
    globset_free(&m->options[i].value);
    relist_free(&m->options[i].value_re);
  }
  free(m->options);
  for (size_t i = 0; i < m->nredirects; i++)
    globset_free(&m->redirects[i].path);
  free(m->redirects);
  mnode_ptr_free(m->input_from);
  mnode_ptr_free(m->output_to);
  mnode_ptr_free(m->not );
  for (size_t i = 0; i < m->nany; i++)
    mnode_free(&m->any[i]);
  free(m->any);
  memset(m, 0, sizeof(*m));
}

static void pattern_free(pattern *p) {
  if (!p)
    return;
  free(p->id);
  free(p->description);
  mnode_free(&p->match);
  free(p);
}

static void cmdent_free(cmdent *c) {
  if (!c)
    return;
  globset_free(&c->names);
  strv_free(c->long_values, c->nlong_values);
  strv_free(c->write_options, c->nwrite_options);
  for (size_t i = 0; i < c->noperands; i++)
    free(c->operands[i].key);
  free(c->operands);
  free(c->pattern_subcommand);
  for (size_t i = 0; i < c->nwhen; i++)
    mnode_free(&c->when[i].match);
  free(c->when);
  if (c->has_dry_run)
    mnode_free(&c->dry_run);
  free(c);
}

static void nameidx_free(nameidx *x) {
  for (size_t i = 0; i < x->cap; i++)
    free(x->slots[i].vals);
  free(x->slots);
  memset(x, 0, sizeof(*x));
}

static void indexes_free(al_catalogue *c) {
  nameidx_free(&c->pat_by_name);
  nameidx_free(&c->cmd_by_name);
  free(c->pat_glob);
  free(c->pat_always);
  free(c->cmd_glob);
  c->pat_glob = c->pat_always = c->cmd_glob = NULL;
  c->npat_glob = c->npat_always = c->ncmd_glob = 0;
}

void al_catalogue_free(al_catalogue *cat) {
  if (!cat)
    return;
  for (size_t i = 0; i < cat->npatterns; i++)
    pattern_free(cat->patterns[i]);
  free(cat->patterns);
  for (size_t i = 0; i < cat->ncommands; i++)
    cmdent_free(cat->commands[i]);
  free(cat->commands);
  for (size_t i = 0; i < cat->nsets; i++) {
    free(cat->sets[i].name);
    strv_free(cat->sets[i].globs, cat->sets[i].n);
  }
  free(cat->sets);
  indexes_free(cat);
  free(cat);
}

/* --- name index ---------------------------------------------------------------- */

/* FNV-1a: the name index's slots and the bloom bits of command names */
uint64_t al_cat_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

hentry *al_cat_idx_slot(const nameidx *x, const char *key) {
  if (x->cap == 0)
    return NULL;
  size_t i = al_cat_hash(key) & (x->cap - 1);
  for (;;) {
    hentry *e = &x->slots[i];
    if (e->key == NULL || strcmp(e->key, key) == 0)
      return e;
    i = (i + 1) & (x->cap - 1);
  }
}

static bool idx_add(nameidx *x, const char *key, size_t val) {
  if (x->cap == 0) {
    x->cap = 256;
    x->slots = calloc(x->cap, sizeof(hentry));
    if (!x->slots)
      return false;
  }
  hentry *e = al_cat_idx_slot(x, key);
  if (e->key == NULL) {
    size_t used = 0;
    for (size_t i = 0; i < x->cap; i++)
      used += x->slots[i].key != NULL;
    if ((used + 1) * 2 > x->cap) { /* grow and retry */
      nameidx bigger = {calloc(x->cap * 2, sizeof(hentry)), x->cap * 2};
      if (!bigger.slots)
        return false;
      for (size_t i = 0; i < x->cap; i++)
        if (x->slots[i].key)
          *al_cat_idx_slot(&bigger, x->slots[i].key) = x->slots[i];
      free(x->slots);
      *x = bigger;
      e = al_cat_idx_slot(x, key);
    }
    e->key = key;
  }
  if (e->n == e->cap) {
    size_t cap = e->cap ? e->cap * 2 : 4;
    size_t *v = realloc(e->vals, cap * sizeof(size_t));
    if (!v)
      return false;
    e->vals = v;
    e->cap = cap;
  }
  e->vals[e->n++] = val;
  return true;
}

static bool push_index(size_t **arr, size_t *n, size_t v) {
  size_t *a = realloc(*arr, (*n + 1) * sizeof(size_t));
  if (!a)
    return false;
  a[(*n)++] = v;
  *arr = a;
  return true;
}

/* Whether every way m can match names a command; then its names (literal
 * ones to the index, glob ones flag *glob).  A pattern whose alternatives all
 * name commands is tried only on those commands. */
static bool indexable(const mnode *m) {
  if (m->command.npos > 0)
    return true;
  if (m->nany == 0 || m->dynamic == TRI_TRUE)
    return false;
  for (size_t k = 0; k < m->nany; k++)
    if (!indexable(&m->any[k]))
      return false;
  return true;
}

static bool index_names(al_catalogue *c, const mnode *m, size_t pat, bool *glob) {
  if (m->command.npos > 0) {
    for (size_t k = 0; k < m->command.npos; k++) {
      if (!m->command.pos[k].literal)
        *glob = true;
      else if (!idx_add(&c->pat_by_name, m->command.pos[k].text, pat))
        return false;
    }
    return true;
  }
  for (size_t k = 0; k < m->nany; k++)
    if (!index_names(c, &m->any[k], pat, glob))
      return false;
  return true;
}

static int build_indexes(al_catalogue *c, airlock_error **err) {
  indexes_free(c);
  c->nenabled = 0;
  for (size_t i = 0; i < c->npatterns; i++) {
    pattern *p = c->patterns[i];
    if (!p->enabled)
      continue;
    c->nenabled++;
    bool ok = true, glob = false;
    if (!indexable(&p->match))
      ok = push_index(&c->pat_always, &c->npat_always, i);
    else
      ok = index_names(c, &p->match, i, &glob) && (!glob || push_index(&c->pat_glob, &c->npat_glob, i));
    if (!ok)
      return al_err(err, ENOMEM, "catalogue index");
  }
  for (size_t i = c->ncommands; i-- > 0;) {
    const cmdent *e = c->commands[i];
    bool ok = true, glob = false;
    for (size_t k = 0; ok && k < e->names.npos; k++) {
      if (!e->names.pos[k].literal)
        glob = true;
      else
        ok = idx_add(&c->cmd_by_name, e->names.pos[k].text, i);
    }
    if (ok && glob)
      ok = push_index(&c->cmd_glob, &c->ncmd_glob, i);
    if (!ok)
      return al_err(err, ENOMEM, "catalogue index");
  }
  return 0;
}

/* --- loading and merging --------------------------------------------------------- */

static void loaded_free(loaded *l) {
  for (size_t i = 0; i < l->npatterns; i++)
    pattern_free(l->patterns[i]);
  free(l->patterns);
  for (size_t i = 0; i < l->ncommands; i++)
    cmdent_free(l->commands[i]);
  free(l->commands);
  for (size_t i = 0; i < l->nsets; i++) {
    free(l->sets[i].name);
    strv_free(l->sets[i].globs, l->sets[i].n);
  }
  free(l->sets);
  strv_free(l->disable, l->ndisable);
  memset(l, 0, sizeof(*l));
}

static int merge(al_catalogue *cat, loaded *l, const char *origin, airlock_error **err) {
  /* check the disable list before changing anything */
  for (size_t i = 0; i < l->ndisable; i++) {
    bool found = false;
    for (size_t j = 0; j < cat->npatterns && !found; j++)
      found = strcmp(cat->patterns[j]->id, l->disable[i]) == 0;
    for (size_t j = 0; j < l->npatterns && !found; j++)
      found = strcmp(l->patterns[j]->id, l->disable[i]) == 0;
    if (!found)
      return al_err(err, 0, "%s: disable: no pattern with id '%s'", origin, l->disable[i]);
  }
  pattern **np = realloc(cat->patterns, (cat->npatterns + l->npatterns + 1) * sizeof(pattern *));
  if (!np)
    return al_err(err, ENOMEM, "%s", origin);
  cat->patterns = np;
  cmdent **nc = realloc(cat->commands, (cat->ncommands + l->ncommands + 1) * sizeof(cmdent *));
  if (!nc)
    return al_err(err, ENOMEM, "%s", origin);
  cat->commands = nc;
  pathset *ns = realloc(cat->sets, (cat->nsets + l->nsets + 1) * sizeof(pathset));
  if (!ns)
    return al_err(err, ENOMEM, "%s", origin);
  cat->sets = ns;
  for (size_t i = 0; i < l->npatterns; i++) {
    pattern *p = l->patterns[i];
    size_t j = 0;
    while (j < cat->npatterns && strcmp(cat->patterns[j]->id, p->id) != 0)
      j++;
    if (j < cat->npatterns) {
      pattern_free(cat->patterns[j]);
      cat->patterns[j] = p;
    } else {
      cat->patterns[cat->npatterns++] = p;
    }
  }
  free(l->patterns);
  l->patterns = NULL;
  l->npatterns = 0;
  for (size_t i = 0; i < l->ncommands; i++)
    cat->commands[cat->ncommands++] = l->commands[i];
  free(l->commands);
  l->commands = NULL;
  l->ncommands = 0;
  for (size_t i = 0; i < l->nsets; i++)
    cat->sets[cat->nsets++] = l->sets[i];
  free(l->sets);
  l->sets = NULL;
  l->nsets = 0;
  for (size_t i = 0; i < l->ndisable; i++)
    for (size_t j = 0; j < cat->npatterns; j++)
      if (strcmp(cat->patterns[j]->id, l->disable[i]) == 0)
        cat->patterns[j]->enabled = false;
  return build_indexes(cat, err);
}

int al_catalogue_add_json(al_catalogue *cat, const char *json, size_t len, const char *origin, airlock_error **err) {
  if (len > MAX_CATALOGUE_BYTES)
    return al_err(err, 0, "%s: larger than %d bytes", origin, MAX_CATALOGUE_BYTES);
  json_error_t je;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    return al_err(err, 0, "%s:%d:%d: %s", origin, je.line, je.column, je.text);
  loaded l;
  memset(&l, 0, sizeof(l));
  int r = al_cat_compile_file(cat, root, origin, &l, err);
  json_decref(root);
  if (r == 0)
    r = merge(cat, &l, origin, err);
  loaded_free(&l);
  return r;
}

int al_catalogue_load_json(const char *json, size_t len, const char *origin, al_catalogue **out, airlock_error **err) {
  *out = NULL;
  al_catalogue *cat = calloc(1, sizeof(*cat));
  if (!cat)
    return al_err(err, ENOMEM, "%s", origin);
  if (al_catalogue_add_json(cat, json, len, origin, err) < 0) {
    al_catalogue_free(cat);
    return -1;
  }
  *out = cat;
  return 0;
}

static int read_file(const char *path, char **data, size_t *len, airlock_error **err) {
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (!f)
    return al_err(err, errno, "cannot open catalogue %s", path);
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap);
  if (!buf)
    return al_err(err, ENOMEM, "%s", path);
  for (;;) {
    if (n == cap) {
      if (cap >= MAX_CATALOGUE_BYTES) {
        free(buf);
        return al_err(err, 0, "%s: larger than %d bytes", path, MAX_CATALOGUE_BYTES);
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        return al_err(err, ENOMEM, "%s", path);
      }
      buf = nb;
      cap *= 2;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) {
      if (ferror(f)) {
        free(buf);
        return al_err(err, EIO, "cannot read %s", path);
      }
      break;
    }
  }
  *data = buf;
  *len = n;
  return 0;
}

int al_catalogue_add_file(al_catalogue *cat, const char *path, airlock_error **err) {
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  if (read_file(path, &data, &len, err) < 0)
    return -1;
  return al_catalogue_add_json(cat, data, len, path, err);
}

int al_catalogue_load(const char *path, al_catalogue **out, airlock_error **err) {
  *out = NULL;
  _cleanup_free_ char *data = NULL;
  size_t len = 0;
  if (read_file(path, &data, &len, err) < 0)
    return -1;
  return al_catalogue_load_json(data, len, path, out, err);
}

size_t al_catalogue_size(const al_catalogue *cat) { return cat->nenabled; }

int al_catalogue_pattern(const al_catalogue *cat, size_t i, al_pattern_info *out) {
  for (size_t j = 0; j < cat->npatterns; j++) {
    const pattern *p = cat->patterns[j];
    if (!p->enabled)
      continue;
    if (i-- == 0) {
      *out = (al_pattern_info){p->id, p->description, p->severity, p->action};
      return 0;
    }
  }
  return -1;
}
