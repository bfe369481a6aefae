/* SPDX-License-Identifier: Apache-2.0 */
/* classify.c - the classification of a command (see classify.h): a primary
 * action per segment, the candidate patterns of each segment taken from the
 * catalogue's name index and matched (classify_match.c), and the names of
 * actions and severities.  The catalogue itself is catalogue.c's. */
#define _GNU_SOURCE
#include "classify_impl.h"

#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "error.h"

/* --- names ------------------------------------------------------------------ */

static const char *const action_names[AL_ACTION_COUNT] = {
    "code_exec", "system_command", "file_read", "file_write", "file_delete", "http_get", "http_post", "ssh_exec",
};

const char *al_action_name(al_action a) { return (unsigned)a < AL_ACTION_COUNT ? action_names[a] : NULL; }

int al_action_from_name(const char *name, al_action *out) {
  for (unsigned i = 0; i < AL_ACTION_COUNT; i++)
    if (strcmp(name, action_names[i]) == 0) {
      *out = (al_action)i;
      return 0;
    }
  return -1;
}

const char *al_severity_name(al_severity s) {
  switch (s) {
  case AL_SEVERITY_HIGH: return "high";
  case AL_SEVERITY_CRITICAL: return "critical";
  default: return "none";
  }
}

/* --- primary action per segment ---------------------------------------------------- */

static bool writes_file(const al_segment *s) {
  for (size_t r = 0; r < s->n_redirs; r++) {
    const al_redir *d = &s->redirs[r];
    if (d->kind != AL_REDIR_OUT && d->kind != AL_REDIR_APPEND && d->kind != AL_REDIR_INOUT)
      continue;
    const char *t = d->target;
    if (strcmp(t, "/dev/null") == 0 || strcmp(t, "/dev/stdout") == 0 || strcmp(t, "/dev/stderr") == 0 ||
        strcmp(t, "/dev/tty") == 0 || strncmp(t, "/dev/fd/", 8) == 0)
      continue;
    return true;
  }
  return false;
}

static al_action segment_action(clsf *c, size_t i) {
  const al_segment *s = &c->sh->segs[i];
  al_action a = AL_ACTION_SYSTEM_COMMAND;
  if (s->argc == 0)
    return writes_file(s) ? AL_ACTION_FILE_WRITE : AL_ACTION_SYSTEM_COMMAND;
  if (s->flags & AL_SEG_UNRESOLVED_COMMAND)
    return AL_ACTION_SYSTEM_COMMAND;
  if (al_cat_prepare(c, i) < 0)
    return AL_ACTION_SYSTEM_COMMAND;
  const cmdent *cmd = c->ctx[i].cmd;
  if (cmd) {
    a = cmd->action;
    for (size_t k = 0; k < cmd->nwhen; k++)
      if (al_cat_match_node(c, &cmd->when[k].match, i, 0)) {
        a = cmd->when[k].action;
        break;
      }
  } else if (strchr(s->argv[0], '/') && strncmp(s->argv[0], "/usr/", 5) != 0 && strncmp(s->argv[0], "/bin/", 5) != 0 &&
             strncmp(s->argv[0], "/sbin/", 6) != 0) {
    a = AL_ACTION_CODE_EXEC; /* a program of its own: ./build.sh, tools/gen */
  }
  if (a == AL_ACTION_SYSTEM_COMMAND && (s->flags & AL_SEG_PACKAGE_RUN))
    a = AL_ACTION_CODE_EXEC; /* npx create-react-app: the package's code runs */
  if (a == AL_ACTION_FILE_READ || a == AL_ACTION_SYSTEM_COMMAND) {
    bool writes = writes_file(s);
    /* a file given to a write option: sort -o out */
    if (!writes && cmd && cmd->nwrite_options && al_cat_prepare_paths(c, i) == 0)
      for (size_t p = 0; !writes && p < c->ctx[i].npaths; p++)
        writes = !c->ctx[i].paths[p].redirect && (c->ctx[i].paths[p].role & ROLE_WRITE);
    if (writes)
      a = AL_ACTION_FILE_WRITE;
  }
  return a;
}

/* the command's entry says this invocation only reports what it would do */
static bool is_dry_run(clsf *c, size_t i) {
  const al_segment *s = &c->sh->segs[i];
  if (s->argc == 0 || (s->flags & AL_SEG_UNRESOLVED_COMMAND) || al_cat_prepare(c, i) < 0)
    return false;
  const cmdent *cmd = c->ctx[i].cmd;
  return cmd && cmd->has_dry_run && al_cat_match_node(c, &cmd->dry_run, i, 0);
}

/* containers whose nested segments speak for them */
static bool is_container(const al_segment *s) {
  if (!(s->flags & AL_SEG_CODE_PARSED) || s->argc == 0)
    return false;
  static const char *const names[] = {"eval", "su", "runuser", "env", "watch"};
  for (size_t i = 0; i < AL_ARRAY_SIZE(names); i++)
    if (strcmp(s->name, names[i]) == 0)
      return true;
  return al_shell_is_shell(s->name);
}

static const al_action rank[] = {
    AL_ACTION_FILE_DELETE, AL_ACTION_SSH_EXEC, AL_ACTION_HTTP_POST,      AL_ACTION_CODE_EXEC,
    AL_ACTION_FILE_WRITE,  AL_ACTION_HTTP_GET, AL_ACTION_SYSTEM_COMMAND, AL_ACTION_FILE_READ,
};

static void track_cwd(clsf *c) {
  const char *cwd = "."; /* the project root until a cd makes it unknown */
  for (size_t i = 0; i < c->sh->n; i++) {
    const al_segment *s = &c->sh->segs[i];
    c->ctx[i].cwd = cwd;
    if (s->argc == 0 || (s->flags & AL_SEG_UNRESOLVED_COMMAND))
      continue;
    if (strcmp(s->name, "popd") == 0) {
      cwd = NULL;
      continue;
    }
    if (strcmp(s->name, "cd") != 0 && strcmp(s->name, "pushd") != 0)
      continue;
    const char *target = "~";
    for (size_t j = 1; j < s->argc; j++)
      if (s->argv[j][0] != '-' || strcmp(s->argv[j], "-") == 0) {
        target = s->argv[j];
        break;
      }
    if (strcmp(target, "-") == 0 || (s->flags & AL_SEG_UNRESOLVED_ARGS))
      cwd = NULL;
    else if (target[0] == '/' || target[0] == '~')
      cwd = al_shell_normalise_path(c->sh, target, NULL);
    else
      cwd = cwd ? al_shell_normalise_path(c->sh, target, cwd) : NULL;
  }
}

static int add_match(al_classification *out, size_t *cap, const pattern *p, size_t seg) {
  if (out->n_matches == *cap) {
    size_t nc = *cap ? *cap * 2 : 8;
    al_match *m = realloc(out->matches, nc * sizeof(*m));
    if (!m)
      return -1;
    out->matches = m;
    *cap = nc;
  }
  out->matches[out->n_matches++] = (al_match){p->id, p->description, p->severity, p->action, seg};
  if (p->severity > out->severity)
    out->severity = p->severity;
  return 0;
}

static int classify_shell(const al_catalogue *cat, al_classification *out, airlock_error **err) {
  al_shell *sh = &out->shell;
  size_t n = sh->n;
  clsf c = {.cat = cat, .sh = sh};
  out->primary = AL_ACTION_SYSTEM_COMMAND;
  out->seg_action = al_shell_alloc(sh, (n + 1) * sizeof(al_action));
  c.ctx = al_shell_alloc(sh, (n + 1) * sizeof(segctx));
  c.child_off = al_shell_alloc(sh, (n + 2) * sizeof(size_t));
  c.child = al_shell_alloc(sh, (n + 1) * sizeof(size_t));
  _cleanup_free_ unsigned *seen = calloc(cat->npatterns + 1, sizeof(unsigned));
  if (!out->seg_action || !c.ctx || !c.child_off || !c.child || !seen)
    return al_err(err, ENOMEM, "classify");
  memset(c.ctx, 0, (n + 1) * sizeof(segctx));
  /* children of each segment, for input_from / output_to */
  memset(c.child_off, 0, (n + 2) * sizeof(size_t));
  for (size_t i = 0; i < n; i++)
    if (sh->segs[i].parent >= 0)
      c.child_off[sh->segs[i].parent + 2]++;
  for (size_t i = 2; i < n + 2; i++)
    c.child_off[i] += c.child_off[i - 1];
  for (size_t i = 0; i < n; i++)
    if (sh->segs[i].parent >= 0)
      c.child[c.child_off[sh->segs[i].parent + 1]++] = i;
  track_cwd(&c);
  size_t cap = 0;
  for (size_t i = 0; i < n; i++) {
    const al_segment *s = &sh->segs[i];
    al_action a = segment_action(&c, i);
    out->seg_action[i] = a;
    if (s->flags & AL_SEG_UNRESOLVED_COMMAND)
      out->dynamic = true;
    if (s->flags & AL_SEG_CODE_OPAQUE)
      out->opaque = true;
    if (!(s->flags & AL_SEG_REMOTE) && !is_container(s))
      out->actions |= AL_ACTION_BIT(a);
    /* a shell, eval, env -S or watch whose code was read is transparent:
     * its code's segments are judged, not the code string as an argument
     * (sh -c 'touch .env' must not read as a path ".env" given to sh); a
     * shell fed by a pipe is still judged for what feeds it (base64 -d | sh) */
    if (is_container(s) && !(s->flags & AL_SEG_PIPED_INTO) && strcmp(s->name, "su") != 0 &&
        strcmp(s->name, "runuser") != 0)
      continue;
    /* a dry run (rsync -n, aws s3 rm --dryrun, terraform plan) does nothing
     * its patterns describe; what feeds it or what it feeds is still judged */
    if (is_dry_run(&c, i))
      continue;
    /* the candidate patterns */
    const size_t *lists[3] = {NULL, cat->pat_glob, cat->pat_always};
    size_t counts[3] = {0, cat->npat_glob, cat->npat_always};
    if (s->argc > 0 && !(s->flags & AL_SEG_UNRESOLVED_COMMAND)) {
      hentry *e = al_cat_idx_slot(&cat->pat_by_name, s->name);
      if (e && e->key) {
        lists[0] = e->vals;
        counts[0] = e->n;
      }
    }
    if (s->flags & AL_SEG_UNRESOLVED_COMMAND) {
      for (size_t p = 0; p < cat->npatterns; p++) {
        const pattern *pt = cat->patterns[p];
        if (pt->enabled && al_cat_match_node(&c, &pt->match, i, 0) && add_match(out, &cap, pt, i) < 0)
          return al_err(err, ENOMEM, "classify");
      }
    } else {
      for (size_t l = 0; l < 3; l++)
        for (size_t k = 0; k < counts[l]; k++) {
          size_t p = lists[l][k];
          if (seen[p] == i + 1)
            continue;
          seen[p] = (unsigned)(i + 1);
          if (al_cat_match_node(&c, &cat->patterns[p]->match, i, 0) && add_match(out, &cap, cat->patterns[p], i) < 0)
            return al_err(err, ENOMEM, "classify");
        }
    }
    if (c.failed)
      return al_err(err, ENOMEM, "classify");
  }
  for (size_t r = 0; r < AL_ARRAY_SIZE(rank); r++)
    if (out->actions & AL_ACTION_BIT(rank[r])) {
      out->primary = rank[r];
      break;
    }
  return 0;
}

void al_classification_free(al_classification *c) {
  if (!c)
    return;
  al_shell_free(&c->shell);
  free(c->matches);
  memset(c, 0, sizeof(*c));
}

int al_classify(const al_catalogue *cat, const char *shell_string, al_classification *out, airlock_error **err) {
  memset(out, 0, sizeof(*out));
  if (al_shell_parse(shell_string, &out->shell, err) < 0)
    return -1;
  if (classify_shell(cat, out, err) < 0) {
    al_classification_free(out);
    return -1;
  }
  return 0;
}

int al_classify_argv(const al_catalogue *cat, char *const argv[], al_classification *out, airlock_error **err) {
  memset(out, 0, sizeof(*out));
  if (al_shell_parse_argv(argv, &out->shell, err) < 0)
    return -1;
  if (classify_shell(cat, out, err) < 0) {
    al_classification_free(out);
    return -1;
  }
  return 0;
}
