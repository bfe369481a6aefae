/* SPDX-License-Identifier: Apache-2.0 */
/* catalogue_compile.c - the catalogue's JSON (jansson) compiled into match
 * trees, command entries and sets, with errors that name the file, the entry
 * and the field.  Separate from catalogue.c because it is the bulk of the
 * loader and the only part that reads JSON structure. */
#define _GNU_SOURCE
#include "classify_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"

/* --- compiling the JSON ---------------------------------------------------------- */

typedef struct {
  const char *origin;
  char what[160];         /* "pattern 'rm-rf-root'", "command entry 4 (rm)" */
  const pathset *sets[2]; /* the catalogue's sets and this file's */
  size_t nsets[2];
  airlock_error **err;
} cctx;

/* field names ("match.any[2].flags[0]"), cut short if absurdly long */
void al_cat_fieldf(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, size, fmt, ap);
  va_end(ap);
}

static int cfail(cctx *c, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cfail(cctx *c, const char *field, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  return al_err(c->err, 0, "%s: %s: %s: %s", c->origin, c->what, field, msg);
}

static int want_str(cctx *c, const char *field, json_t *v, const char **out) {
  if (!json_is_string(v))
    return cfail(c, field, "must be a string");
  if (strlen(json_string_value(v)) != json_string_length(v))
    return cfail(c, field, "contains a NUL character");
  *out = json_string_value(v);
  return 0;
}

static bool strv_push(char ***v, size_t *n, const char *s) {
  char *d = strdup(s);
  if (!d)
    return false;
  char **nv = realloc(*v, (*n + 1) * sizeof(char *));
  if (!nv) {
    free(d);
    return false;
  }
  nv[(*n)++] = d;
  *v = nv;
  return true;
}

static const pathset *find_set(cctx *c, const char *name) {
  for (int k = 1; k >= 0; k--)
    for (size_t i = 0; i < c->nsets[k]; i++)
      if (strcmp(c->sets[k][i].name, name) == 0)
        return &c->sets[k][i];
  return NULL;
}

uint64_t al_cat_bloom_bit(const char *s) { return 1ull << (al_cat_hash(s) >> 58); }

static bool cglob_push(cglob **v, size_t *n, const char *s) {
  cglob *nv = realloc(*v, (*n + 1) * sizeof(cglob));
  if (!nv)
    return false;
  *v = nv;
  if (!al_cat_cglob_init(&nv[*n], s)) {
    al_cat_cglob_free(&nv[*n]);
    return false;
  }
  (*n)++;
  return true;
}

static int globset_add(cctx *c, const char *field, globset *g, const char *s) {
  bool ok;
  if (s[0] == '!') {
    if (s[1] == '\0')
      return cfail(c, field, "empty exclusion");
    ok = cglob_push(&g->neg, &g->nneg, s + 1);
  } else {
    if (s[0] == '\0')
      return cfail(c, field, "empty glob");
    ok = cglob_push(&g->pos, &g->npos, s);
  }
  return ok ? 0 : cfail(c, field, "out of memory");
}

/* a string or an array of strings; "@name" brings in a set, "!glob" excludes */
static int compile_globs(cctx *c, const char *field, json_t *v, globset *g, bool allow_sets) {
  json_t *arr = v;
  if (json_is_string(v)) {
    arr = json_array();
    if (!arr)
      return cfail(c, field, "out of memory");
    json_array_append(arr, v);
  } else if (!json_is_array(v)) {
    return cfail(c, field, "must be a string or an array of strings");
  }
  int r = 0;
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) {
    char f[96];
    al_cat_fieldf(f, sizeof(f), "%s[%zu]", field, i);
    const char *s = NULL;
    if ((r = want_str(c, f, e, &s)) < 0)
      break;
    if (s[0] == '@' && allow_sets && s[1] &&
        strspn(s + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(s + 1)) {
      const pathset *set = find_set(c, s + 1);
      if (!set) {
        r = cfail(c, f, "unknown set '%s'", s + 1);
        break;
      }
      for (size_t k = 0; r == 0 && k < set->n; k++)
        r = globset_add(c, f, g, set->globs[k]);
      if (r < 0)
        break;
      continue;
    }
    if ((r = globset_add(c, f, g, s)) < 0)
      break;
  }
  if (arr != v)
    json_decref(arr);
  if (r == 0 && g->npos == 0 && g->nneg == 0)
    return cfail(c, field, "is empty");
  g->all_literal = g->npos > 0;
  for (size_t k = 0; k < g->npos; k++) {
    g->all_literal &= g->pos[k].literal;
    g->bloom |= al_cat_bloom_bit(g->pos[k].text);
  }
  return r;
}

static int compile_regexes(cctx *c, const char *field, json_t *v, relist *out) {
  if (json_is_string(v)) {
    json_t *arr = json_array();
    if (!arr)
      return cfail(c, field, "out of memory");
    json_array_append(arr, v);
    int r = compile_regexes(c, field, arr, out);
    json_decref(arr);
    return r;
  }
  if (!json_is_array(v) || json_array_size(v) == 0)
    return cfail(c, field, "must be a string or a non-empty array of strings");
  out->re = calloc(json_array_size(v), sizeof(regex_t));
  if (!out->re)
    return cfail(c, field, "out of memory");
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    char f[96];
    al_cat_fieldf(f, sizeof(f), "%s[%zu]", field, i);
    const char *s = NULL;
    if (want_str(c, f, e, &s) < 0)
      return -1;
    int flags = REG_EXTENDED | REG_NOSUB;
    if (strncmp(s, "(?i)", 4) == 0) {
      flags |= REG_ICASE;
      s += 4;
    }
    int rc = regcomp(&out->re[i], s, flags);
    if (rc != 0) {
      char buf[256];
      regerror(rc, &out->re[i], buf, sizeof(buf));
      return cfail(c, f, "bad regular expression: %s", buf);
    }
    out->n++;
  }
  return 0;
}

/* "-r|-R|--recursive" */
static int compile_alts(cctx *c, const char *field, json_t *v, altgroup *g) {
  const char *s = NULL;
  if (want_str(c, field, v, &s) < 0)
    return -1;
  const char *p = s;
  for (;;) {
    const char *bar = strchr(p, '|');
    size_t l = bar ? (size_t)(bar - p) : strlen(p);
    if (l < 2 || (p[0] != '-' && p[0] != '+'))
      return cfail(c, field, "'%.*s' is not an option (-x, --long, -word or +x)", (int)l, p);
    char *d = strndup(p, l);
    char **nv = d ? realloc(g->alts, (g->n + 1) * sizeof(char *)) : NULL;
    if (!nv) {
      free(d);
      return cfail(c, field, "out of memory");
    }
    nv[g->n++] = d;
    g->alts = nv;
    if (!bar)
      return 0;
    p = bar + 1;
  }
}

static int compile_altlist(cctx *c, const char *field, json_t *v, altgroup **out, uint8_t *n) {
  if (json_is_string(v)) {
    *out = calloc(1, sizeof(altgroup));
    if (!*out)
      return cfail(c, field, "out of memory");
    *n = 1;
    return compile_alts(c, field, v, &(*out)[0]);
  }
  if (!json_is_array(v) || json_array_size(v) == 0)
    return cfail(c, field, "must be a string or a non-empty array of strings");
  if (json_array_size(v) > UINT8_MAX)
    return cfail(c, field, "more than %d entries", UINT8_MAX);
  *out = calloc(json_array_size(v), sizeof(altgroup));
  if (!*out)
    return cfail(c, field, "out of memory");
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    char f[96];
    al_cat_fieldf(f, sizeof(f), "%s[%zu]", field, i);
    (*n)++;
    if (compile_alts(c, f, e, &(*out)[i]) < 0)
      return -1;
  }
  return 0;
}

static int want_tri(cctx *c, const char *field, json_t *v, int8_t *out) {
  if (!json_is_boolean(v))
    return cfail(c, field, "must be true or false");
  *out = json_is_true(v) ? TRI_TRUE : TRI_FALSE;
  return 0;
}

static int compile_match(cctx *c, const char *field, json_t *v, mnode *m, int nesting);

static int compile_submatch(cctx *c, const char *field, json_t *v, mnode **out, int nesting) {
  *out = calloc(1, sizeof(mnode));
  if (!*out)
    return cfail(c, field, "out of memory");
  return compile_match(c, field, v, *out, nesting + 1);
}

static int compile_option(cctx *c, const char *field, json_t *v, optcond *o) {
  if (!json_is_object(v))
    return cfail(c, field, "must be an object {\"names\": ..., \"value\": [...]}");
  const char *k;
  json_t *e;
  bool names = false;
  json_object_foreach(v, k, e) {
    char f[128];
    al_cat_fieldf(f, sizeof(f), "%s.%s", field, k);
    int r;
    if (strcmp(k, "names") == 0) {
      r = compile_alts(c, f, e, &o->names);
      names = true;
    } else if (strcmp(k, "value") == 0) {
      r = compile_globs(c, f, e, &o->value, true);
    } else if (strcmp(k, "value_regex") == 0) {
      r = compile_regexes(c, f, e, &o->value_re);
    } else {
      r = cfail(c, f, "unknown key");
    }
    if (r < 0)
      return -1;
  }
  return names ? 0 : cfail(c, field, "needs \"names\"");
}

static int compile_redirect(cctx *c, const char *field, json_t *v, redircond *rd) {
  if (!json_is_object(v))
    return cfail(c, field, "must be an object {\"dir\": \"in\"|\"out\"|\"any\", \"path\": [...]}");
  const char *k;
  json_t *e;
  bool path = false;
  rd->dir = DIR_ANY;
  json_object_foreach(v, k, e) {
    char f[128];
    al_cat_fieldf(f, sizeof(f), "%s.%s", field, k);
    if (strcmp(k, "dir") == 0) {
      const char *s = NULL;
      if (want_str(c, f, e, &s) < 0)
        return -1;
      if (strcmp(s, "in") == 0)
        rd->dir = DIR_IN;
      else if (strcmp(s, "out") == 0)
        rd->dir = DIR_OUT;
      else if (strcmp(s, "any") == 0)
        rd->dir = DIR_ANY;
      else
        return cfail(c, f, "must be \"in\", \"out\" or \"any\"");
    } else if (strcmp(k, "path") == 0) {
      if (compile_globs(c, f, e, &rd->path, true) < 0)
        return -1;
      path = true;
    } else {
      return cfail(c, f, "unknown key");
    }
  }
  return path ? 0 : cfail(c, field, "needs \"path\"");
}

/* an object or an array of objects */
static int compile_objlist(cctx *c, const char *field, json_t *v, void **out, uint8_t *n, size_t elem,
                           int (*one)(cctx *, const char *, json_t *, void *)) {
  size_t count = json_is_array(v) ? json_array_size(v) : 1;
  if (count == 0)
    return cfail(c, field, "is empty");
  if (count > UINT8_MAX)
    return cfail(c, field, "more than %d entries", UINT8_MAX);
  *out = calloc(count, elem);
  if (!*out)
    return cfail(c, field, "out of memory");
  for (size_t i = 0; i < count; i++) {
    char f[96];
    json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
    if (json_is_array(v))
      al_cat_fieldf(f, sizeof(f), "%s[%zu]", field, i);
    else
      al_cat_fieldf(f, sizeof(f), "%s", field);
    (*n)++;
    if (one(c, f, e, (char *)*out + i * elem) < 0)
      return -1;
  }
  return 0;
}

static int one_option(cctx *c, const char *f, json_t *v, void *o) { return compile_option(c, f, v, o); }
static int one_redirect(cctx *c, const char *f, json_t *v, void *o) { return compile_redirect(c, f, v, o); }

static int compile_match(cctx *c, const char *field, json_t *v, mnode *m, int nesting) {
  if (nesting > MAX_MATCH_NESTING)
    return cfail(c, field, "nested deeper than %d levels", MAX_MATCH_NESTING);
  if (!json_is_object(v))
    return cfail(c, field, "must be an object");
  if (json_object_size(v) == 0)
    return cfail(c, field, "has no condition");
  const char *k;
  json_t *e;
  json_object_foreach(v, k, e) {
    char f[128];
    al_cat_fieldf(f, sizeof(f), "%s.%s", field, k);
    int r;
    static const struct {
      const char *key;
      unsigned bit;
      size_t off;
      bool sets;
    } globs[] = {
        {"command", C_COMMAND, offsetof(mnode, command), true},
        {"command_not", C_COMMAND_NOT, offsetof(mnode, command_not), true},
        {"wrapper", C_WRAPPER, offsetof(mnode, wrapper), true},
        {"subcommand", C_SUBCOMMAND, offsetof(mnode, subcommand), true},
        {"arg", C_ARG, offsetof(mnode, arg), true},
        {"path", C_PATH, offsetof(mnode, path), true},
        {"read_path", C_READ_PATH, offsetof(mnode, read_path), true},
        {"write_path", C_WRITE_PATH, offsetof(mnode, write_path), true},
        {"assign", C_ASSIGN, offsetof(mnode, assign), true},
    };
    static const struct {
      const char *key;
      size_t off;
    } tris[] = {
        {"dynamic", offsetof(mnode, dynamic)},       {"no_positionals", offsetof(mnode, no_positionals)},
        {"piped_into", offsetof(mnode, piped_into)}, {"pipes_out", offsetof(mnode, pipes_out)},
        {"background", offsetof(mnode, background)}, {"recursive_call", offsetof(mnode, recursive_call)},
        {"remote", offsetof(mnode, remote)},         {"runs_fetched", offsetof(mnode, runs_fetched)},
        {"stdin_text", offsetof(mnode, stdin_text)},
    };
    size_t i;
    for (i = 0; i < AL_ARRAY_SIZE(globs); i++)
      if (strcmp(k, globs[i].key) == 0)
        break;
    if (i < AL_ARRAY_SIZE(globs)) {
      if (m->have & globs[i].bit)
        return cfail(c, f, "given twice");
      m->have |= globs[i].bit;
      if (compile_globs(c, f, e, (globset *)((char *)m + globs[i].off), globs[i].sets) < 0)
        return -1;
      if (globs[i].bit & ~(C_COMMAND | C_COMMAND_NOT | C_WRAPPER))
        m->evidence = true;
      continue;
    }
    for (i = 0; i < AL_ARRAY_SIZE(tris); i++)
      if (strcmp(k, tris[i].key) == 0)
        break;
    if (i < AL_ARRAY_SIZE(tris)) {
      if (want_tri(c, f, e, (int8_t *)((char *)m + tris[i].off)) < 0)
        return -1;
      continue;
    }
    if (strcmp(k, "flags_absent") != 0 && strcmp(k, "not") != 0 && strcmp(k, "any") != 0)
      m->evidence = true;
    if (strcmp(k, "arg_regex") == 0) {
      m->have |= C_ARG_RE;
      r = compile_regexes(c, f, e, &m->arg_re);
    } else if (strcmp(k, "argline_regex") == 0) {
      m->have |= C_ARGLINE_RE;
      r = compile_regexes(c, f, e, &m->argline_re);
    } else if (strcmp(k, "flags") == 0) {
      r = compile_altlist(c, f, e, &m->flags, &m->nflags);
    } else if (strcmp(k, "flags_absent") == 0) {
      r = compile_altlist(c, f, e, &m->flags_absent, &m->nflags_absent);
    } else if (strcmp(k, "option") == 0) {
      r = compile_objlist(c, f, e, (void **)&m->options, &m->noptions, sizeof(optcond), one_option);
    } else if (strcmp(k, "redirect") == 0) {
      r = compile_objlist(c, f, e, (void **)&m->redirects, &m->nredirects, sizeof(redircond), one_redirect);
    } else if (strcmp(k, "input_from") == 0) {
      r = compile_submatch(c, f, e, &m->input_from, nesting);
    } else if (strcmp(k, "output_to") == 0) {
      r = compile_submatch(c, f, e, &m->output_to, nesting);
    } else if (strcmp(k, "not") == 0) {
      r = compile_submatch(c, f, e, &m->not, nesting);
    } else if (strcmp(k, "any") == 0) {
      if (!json_is_array(e) || json_array_size(e) == 0 || json_array_size(e) > UINT8_MAX)
        return cfail(c, f, "must be an array of 1 to 255 match objects");
      m->any = calloc(json_array_size(e), sizeof(mnode));
      if (!m->any)
        return cfail(c, f, "out of memory");
      size_t j;
      json_t *sub;
      r = 0;
      json_array_foreach(e, j, sub) {
        char sf[128];
        al_cat_fieldf(sf, sizeof(sf), "%s[%zu]", f, j);
        m->nany++;
        if ((r = compile_match(c, sf, sub, &m->any[j], nesting + 1)) < 0)
          break;
      }
    } else {
      r = cfail(c, f, "unknown key");
    }
    if (r < 0)
      return -1;
  }
  /* alternatives that all carry evidence carry it for the node */
  if (m->nany > 0) {
    bool all = true;
    for (size_t a = 0; a < m->nany; a++)
      all &= m->any[a].evidence;
    m->evidence |= all;
  }
  return 0;
}

static int want_action(cctx *c, const char *field, json_t *v, al_action *out) {
  const char *s = NULL;
  if (want_str(c, field, v, &s) < 0)
    return -1;
  if (al_action_from_name(s, out) < 0)
    return cfail(c, field,
                 "'%s' is not an action type (code_exec, system_command, file_read, file_write, "
                 "file_delete, http_get, http_post, ssh_exec)",
                 s);
  return 0;
}

static int compile_pattern(cctx *c, size_t index, json_t *v, pattern **out) {
  snprintf(c->what, sizeof(c->what), "pattern %zu", index);
  if (!json_is_object(v))
    return cfail(c, "(pattern)", "must be an object");
  json_t *id = json_object_get(v, "id");
  const char *ids = NULL;
  if (!id)
    return cfail(c, "id", "missing");
  if (want_str(c, "id", id, &ids) < 0)
    return -1;
  if (ids[0] == '\0' || strlen(ids) > 100 || strspn(ids, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(ids))
    return cfail(c, "id", "must be 1-100 characters of a-z, 0-9, '-', '_', '.'");
  snprintf(c->what, sizeof(c->what), "pattern '%s'", ids);
  pattern *p = calloc(1, sizeof(*p));
  if (!p)
    return cfail(c, "id", "out of memory");
  *out = p;
  p->enabled = true;
  p->id = strdup(ids);
  if (!p->id)
    return cfail(c, "id", "out of memory");
  bool have_desc = false, have_sev = false, have_action = false, have_match = false;
  const char *k;
  json_t *e;
  json_object_foreach(v, k, e) {
    if (strcmp(k, "id") == 0)
      continue;
    if (strcmp(k, "description") == 0) {
      const char *s = NULL;
      if (want_str(c, k, e, &s) < 0)
        return -1;
      p->description = strdup(s);
      if (!p->description)
        return cfail(c, k, "out of memory");
      have_desc = true;
    } else if (strcmp(k, "severity") == 0) {
      const char *s = NULL;
      if (want_str(c, k, e, &s) < 0)
        return -1;
      if (strcmp(s, "high") == 0)
        p->severity = AL_SEVERITY_HIGH;
      else if (strcmp(s, "critical") == 0)
        p->severity = AL_SEVERITY_CRITICAL;
      else
        return cfail(c, k, "must be \"high\" or \"critical\"");
      have_sev = true;
    } else if (strcmp(k, "action") == 0) {
      if (want_action(c, k, e, &p->action) < 0)
        return -1;
      have_action = true;
    } else if (strcmp(k, "match") == 0) {
      if (compile_match(c, "match", e, &p->match, 0) < 0)
        return -1;
      have_match = true;
    } else if (strcmp(k, "examples") == 0 || strcmp(k, "comment") == 0) {
      /* documentation only */
    } else {
      return cfail(c, k, "unknown key");
    }
  }
  if (!have_desc)
    return cfail(c, "description", "missing");
  if (!have_sev)
    return cfail(c, "severity", "missing");
  if (!have_action)
    return cfail(c, "action", "missing");
  if (!have_match)
    return cfail(c, "match", "missing");
  return 0;
}

static int compile_optlist(cctx *c, const char *field, json_t *v, cmdent *e, bool write) {
  if (!json_is_array(v))
    return cfail(c, field, "must be an array of options");
  size_t i;
  json_t *o;
  json_array_foreach(v, i, o) {
    char f[96];
    al_cat_fieldf(f, sizeof(f), "%s[%zu]", field, i);
    const char *s = NULL;
    if (want_str(c, f, o, &s) < 0)
      return -1;
    size_t l = strlen(s);
    if (l < 2 || s[0] != '-')
      return cfail(c, f, "'%s' is not an option (-x or --long)", s);
    bool ok = true;
    if (write)
      ok = strv_push(&e->write_options, &e->nwrite_options, s);
    else if (s[1] == '-')
      ok = strv_push(&e->long_values, &e->nlong_values, s);
    else if (l == 2)
      e->short_values[(unsigned char)s[1] / 8] |= (unsigned char)(1u << ((unsigned char)s[1] % 8));
    else
      ok = strv_push(&e->long_values, &e->nlong_values, s); /* -name style: a whole word */
    if (!ok)
      return cfail(c, f, "out of memory");
  }
  return 0;
}

static int want_role(cctx *c, const char *field, json_t *v, int *out, bool is_operand) {
  const char *s = NULL;
  if (want_str(c, field, v, &s) < 0)
    return -1;
  static const char *const names[] = {"read", "write", "delete", "none", "copy"};
  for (int i = 0; i < (is_operand ? 4 : 5); i++)
    if (strcmp(s, names[i]) == 0) {
      *out = i;
      return 0;
    }
  return cfail(c, field,
               is_operand ? "must be \"read\", \"write\", \"delete\" or \"none\""
                          : "must be \"read\", \"write\", \"delete\", \"none\" or \"copy\"");
}

static int compile_command(cctx *c, size_t index, json_t *v, cmdent **out) {
  snprintf(c->what, sizeof(c->what), "command entry %zu", index);
  if (!json_is_object(v))
    return cfail(c, "(command)", "must be an object");
  json_t *names = json_object_get(v, "names");
  if (!names)
    return cfail(c, "names", "missing");
  if (json_is_array(names) && json_array_size(names) > 0 && json_is_string(json_array_get(names, 0)))
    snprintf(c->what, sizeof(c->what), "command entry %zu (%s)", index, json_string_value(json_array_get(names, 0)));
  cmdent *e = calloc(1, sizeof(*e));
  if (!e)
    return cfail(c, "names", "out of memory");
  *out = e;
  e->action = AL_ACTION_SYSTEM_COMMAND;
  bool have_action = false;
  const char *k;
  json_t *x;
  json_object_foreach(v, k, x) {
    int r = 0;
    if (strcmp(k, "names") == 0) {
      r = compile_globs(c, k, x, &e->names, false);
      if (r == 0 && e->names.nneg)
        r = cfail(c, k, "exclusions make no sense here");
    } else if (strcmp(k, "action") == 0) {
      r = want_action(c, k, x, &e->action);
      have_action = true;
    } else if (strcmp(k, "value_options") == 0) {
      r = compile_optlist(c, k, x, e, false);
    } else if (strcmp(k, "write_options") == 0) {
      r = compile_optlist(c, k, x, e, true);
    } else if (strcmp(k, "paths") == 0) {
      r = want_role(c, k, x, &e->paths, false);
    } else if (strcmp(k, "pattern_operand") == 0) {
      json_t *pi = json_is_object(x) ? json_object_get(x, "index") : x;
      json_t *ps = json_is_object(x) ? json_object_get(x, "subcommand") : NULL;
      if (!json_is_integer(pi) || json_integer_value(pi) < 1 || json_integer_value(pi) > 8 ||
          (ps && !json_is_string(ps)) || (json_is_object(x) && json_object_size(x) != (ps ? 2u : 1u)))
        return cfail(c, k, "must be a position 1-8 or {\"index\": N, \"subcommand\": \"NAME\"}");
      e->pattern_operand = (int)json_integer_value(pi);
      if (ps && !(e->pattern_subcommand = strdup(json_string_value(ps))))
        return cfail(c, k, "out of memory");
    } else if (strcmp(k, "posix_options") == 0) {
      if (!json_is_boolean(x))
        r = cfail(c, k, "must be true or false");
      e->posix_options = json_is_true(x);
    } else if (strcmp(k, "operands") == 0) {
      if (!json_is_object(x))
        return cfail(c, k, "must be an object {\"of\": \"write\", ...}");
      e->operands = calloc(json_object_size(x) + 1, sizeof(operand));
      if (!e->operands)
        return cfail(c, k, "out of memory");
      const char *ok;
      json_t *ov;
      json_object_foreach(x, ok, ov) {
        char f[96];
        al_cat_fieldf(f, sizeof(f), "operands.%s", ok);
        operand *o = &e->operands[e->noperands++];
        o->key = strdup(ok);
        if (!o->key)
          return cfail(c, f, "out of memory");
        if (want_role(c, f, ov, &o->role, true) < 0)
          return -1;
      }
    } else if (strcmp(k, "when") == 0) {
      if (!json_is_array(x) || json_array_size(x) == 0)
        return cfail(c, k, "must be a non-empty array of {\"match\": ..., \"action\": ...}");
      e->when = calloc(json_array_size(x), sizeof(when_rule));
      if (!e->when)
        return cfail(c, k, "out of memory");
      size_t i;
      json_t *w;
      json_array_foreach(x, i, w) {
        char f[96];
        al_cat_fieldf(f, sizeof(f), "when[%zu]", i);
        if (!json_is_object(w))
          return cfail(c, f, "must be an object");
        e->nwhen++;
        json_t *m = json_object_get(w, "match"), *a = json_object_get(w, "action");
        if (!m || !a || json_object_size(w) != 2)
          return cfail(c, f, "needs exactly \"match\" and \"action\"");
        char mf[96];
        al_cat_fieldf(mf, sizeof(mf), "%s.match", f);
        if (compile_match(c, mf, m, &e->when[i].match, 0) < 0)
          return -1;
        al_cat_fieldf(mf, sizeof(mf), "%s.action", f);
        if (want_action(c, mf, a, &e->when[i].action) < 0)
          return -1;
      }
    } else if (strcmp(k, "dry_run") == 0) {
      e->has_dry_run = true; /* set first: a half-compiled node is still freed */
      r = compile_match(c, k, x, &e->dry_run, 0);
    } else {
      r = cfail(c, k, "unknown key");
    }
    if (r < 0)
      return -1;
  }
  if (!have_action)
    return cfail(c, "action", "missing");
  return 0;
}

int al_cat_compile_file(const al_catalogue *base, json_t *root, const char *origin, loaded *l, airlock_error **err) {
  cctx c = {.origin = origin, .err = err};
  snprintf(c.what, sizeof(c.what), "top level");
  if (base) {
    c.sets[0] = base->sets;
    c.nsets[0] = base->nsets;
  }
  if (!json_is_object(root))
    return cfail(&c, "(file)", "must be a JSON object");
  json_t *version = json_object_get(root, "version");
  if (version && (!json_is_integer(version) || json_integer_value(version) != 1))
    return cfail(&c, "version", "must be 1");
  const char *k;
  json_t *v;
  json_object_foreach(root, k, v) {
    if (strcmp(k, "version") == 0 || strcmp(k, "description") == 0 || strcmp(k, "comment") == 0)
      continue;
    if (strcmp(k, "sets") == 0 || strcmp(k, "patterns") == 0 || strcmp(k, "commands") == 0 || strcmp(k, "disable") == 0)
      continue;
    return cfail(&c, k, "unknown key");
  }
  /* sets first: patterns refer to them */
  json_t *sets = json_object_get(root, "sets");
  if (sets) {
    if (!json_is_object(sets))
      return cfail(&c, "sets", "must be an object of name: [globs]");
    l->sets = calloc(json_object_size(sets) + 1, sizeof(pathset));
    if (!l->sets)
      return cfail(&c, "sets", "out of memory");
    json_object_foreach(sets, k, v) {
      char f[128];
      al_cat_fieldf(f, sizeof(f), "sets.%s", k);
      pathset *s = &l->sets[l->nsets++];
      s->name = strdup(k);
      if (!s->name)
        return cfail(&c, f, "out of memory");
      if (!json_is_array(v) || json_array_size(v) == 0)
        return cfail(&c, f, "must be a non-empty array of globs");
      size_t i;
      json_t *g;
      json_array_foreach(v, i, g) {
        char gf[160];
        al_cat_fieldf(gf, sizeof(gf), "%s[%zu]", f, i);
        const char *gs = NULL;
        if (want_str(&c, gf, g, &gs) < 0)
          return -1;
        if (gs[0] == '@')
          return cfail(&c, gf, "sets cannot include sets");
        if (!strv_push(&s->globs, &s->n, gs))
          return cfail(&c, gf, "out of memory");
      }
    }
  }
  c.sets[1] = l->sets;
  c.nsets[1] = l->nsets;
  json_t *cmds = json_object_get(root, "commands");
  if (cmds) {
    if (!json_is_array(cmds))
      return cfail(&c, "commands", "must be an array");
    l->commands = calloc(json_array_size(cmds) + 1, sizeof(cmdent *));
    if (!l->commands)
      return cfail(&c, "commands", "out of memory");
    size_t i;
    json_array_foreach(cmds, i, v) {
      l->ncommands++;
      if (compile_command(&c, i, v, &l->commands[i]) < 0)
        return -1;
    }
  }
  json_t *pats = json_object_get(root, "patterns");
  if (pats) {
    if (!json_is_array(pats))
      return cfail(&c, "patterns", "must be an array");
    l->patterns = calloc(json_array_size(pats) + 1, sizeof(pattern *));
    if (!l->patterns)
      return cfail(&c, "patterns", "out of memory");
    size_t i;
    json_array_foreach(pats, i, v) {
      l->npatterns++;
      if (compile_pattern(&c, i, v, &l->patterns[i]) < 0)
        return -1;
      for (size_t j = 0; j < i; j++)
        if (strcmp(l->patterns[j]->id, l->patterns[i]->id) == 0)
          return cfail(&c, "id", "duplicate id (also pattern %zu)", j);
    }
  }
  json_t *dis = json_object_get(root, "disable");
  if (dis) {
    snprintf(c.what, sizeof(c.what), "top level");
    if (!json_is_array(dis))
      return cfail(&c, "disable", "must be an array of pattern ids");
    size_t i;
    json_array_foreach(dis, i, v) {
      char f[64];
      al_cat_fieldf(f, sizeof(f), "disable[%zu]", i);
      const char *s = NULL;
      if (want_str(&c, f, v, &s) < 0)
        return -1;
      if (!strv_push(&l->disable, &l->ndisable, s))
        return cfail(&c, f, "out of memory");
    }
  }
  return 0;
}
