/* SPDX-License-Identifier: Apache-2.0 */
/* redact_cmd.c - the one redaction of commands (redact.h): argv elements
 * and command strings are read with the shell reader (shell_tokens.h), so
 * that the same words are found whether they came as argv, inside `sh -c`
 * or `bash -lc` strings, in $( ) or in here-documents.  Each simple
 * command's words go through the rules that need context (the registry's
 * options and operands per tool, assignments, `name = value`, shells'
 * code strings read again), every word and the whole text through the text
 * rules (redact.c, redact_shapes.c), and what was found is mapped back to
 * the bytes of the source: a secret is replaced whole, quotes and all when
 * it cannot be cut out exactly. */
#define _GNU_SOURCE
#include "redact_impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "error.h"
#include "shell_parse.h"
#include "shell_tokens.h"

#define MAX_DEPTH 6
#define MAX_PASSES 3

void al_redact_registry_lock(bool on);


static void code_spans(const char *s, size_t len, rd_spans *out, int depth);

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* value (text[a..b)) matched in the raw bytes skipping quote characters */
static bool loose_find(const rword *w, const char *v, size_t vl, size_t *ms, size_t *me) {
  for (size_t i = w->start; i < w->end; i++) {
    if (w->raw[i] != v[0])
      continue;
    size_t j = i, k = 0;
    while (j < w->end && k < vl) {
      if (w->raw[j] == v[k]) {
        j++, k++;
      } else if (w->raw[j] == '\'' || w->raw[j] == '"' || w->raw[j] == '\\') {
        j++;
      } else {
        break;
      }
    }
    if (k == vl) {
      *ms = i;
      *me = j;
      return true;
    }
  }
  return false;
}

/* hide text[a..b) of w in its source */
void rd_mark(const rword *w, size_t a, size_t b) {
  if (b <= a)
    return;
  if (w->direct) {
    rd_add(w->sp, w->text_off + a, w->text_off + b);
    return;
  }
  const char *v = w->text + a;
  size_t vl = b - a, found = 0;
  const char *base = w->raw + w->start, *p = base;
  while ((p = memmem(p, w->end - (size_t)(p - w->raw), v, vl)) != NULL) {
    rd_add(w->sp, (size_t)(p - w->raw), (size_t)(p - w->raw) + vl);
    p += vl;
    found++;
  }
  if (found)
    return;
  size_t ms, me;
  if (loose_find(w, v, vl, &ms, &me)) {
    /* cut across quotes: the rest of the word goes too, so that no quote is left open */
    while (ms > w->start && (w->raw[ms - 1] == '\'' || w->raw[ms - 1] == '"'))
      ms--;
    rd_add(w->sp, ms, w->end);
    return;
  }
  /* the value came out of an expansion ($(echo ... | base64 -d)): from where
   * the word's literal prefix (NAME=, --opt=) stops matching, to its end */
  size_t k = 0;
  while (k < a && w->start + k < w->end && w->raw[w->start + k] == w->text[k])
    k++;
  rd_add(w->sp, w->start + k, w->end);
}

void rd_mark_all(const rword *w) { rd_mark(w, 0, w->text_len); }

/* an option's value: the part after split (user:PASS), the whole when the
 * user part is itself a token or there is no password part */
static void mark_value(const rword *w, const rd_tool *t, const char *opt, size_t from) {
  const char *v = w->text + from;
  if (rd_harmless_value(v, strlen(v)))
    return;
  bool harmless;
  size_t off = rd_tool_value_offset(t, v, &harmless);
  if (harmless)
    return;
  char split = opt ? rd_tool_split(t, opt) : '\0';
  if (split) {
    const char *c = strchr(v, split);
    if (c == NULL) {
      if (rd_random_word(v, strlen(v)) || rd_has_shape(v, strlen(v)))
        rd_mark(w, from, w->text_len);
      return;
    }
    size_t ul = (size_t)(c - v);
    if (c[1] == '\0' || rd_random_word(v, ul) || rd_has_shape(v, ul))
      rd_mark(w, from, w->text_len);
    else
      rd_mark(w, from + ul + 1, w->text_len);
    return;
  }
  rd_mark(w, from + off, w->text_len);
}

/* NAME=VALUE and --name=VALUE in one word */
static void word_assignment(const rword *w) {
  const char *eq = strchr(w->text, '=');
  if (eq == NULL || eq == w->text)
    return;
  size_t kl = (size_t)(eq - w->text), k0 = 0;
  while (k0 < kl && w->text[k0] == '-')
    k0++;
  for (size_t i = k0; i < kl; i++) {
    char c = w->text[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '.'))
      return;
  }
  size_t vs = kl + 1;
  if (vs >= w->text_len || w->text[vs] == '=' || rd_harmless_value(w->text + vs, w->text_len - vs))
    return; /* (.key=="...": a comparison) */
  if (rd_name_secret(w->text, kl))
    rd_mark(w, vs, w->text_len);
  else if (rd_name_weak(w->text, kl) && rd_random_word(w->text + vs, w->text_len - vs))
    rd_mark(w, vs, w->text_len);
}

/* an '=' inside the word (NAME=VALUE), not base64's padding at its end */
static bool inner_equals(const char *t) {
  const char *eq = strchr(t, '=');
  return eq != NULL && eq[strspn(eq, "=")] != '\0';
}

/* rules that read one word alone */
static void word_rules(const rword *w, int depth) {
  rd_spans sp = {0};
  rd_scan_text(w->text, w->text_len, &sp, 0);
  rd_scan_header_word(w->text, w->text_len, &sp);
  /* a word with blanks may be code (ssh host CMD, watch CMD, an argv
   * element holding a whole command line): read it as a command */
  if (depth < MAX_DEPTH && strpbrk(w->text, " \t\n;|&") != NULL)
    code_spans(w->text, w->text_len, &sp, depth + 1);
  for (size_t i = 0; i < sp.n; i++)
    rd_mark(w, sp.v[i].start, sp.v[i].end);
  free(sp.v);
  /* (NAME=VALUE: command_rules, which knows a shell's code string from it) */
  /* $( ) in the source: its code, read again where it stands */
  if (!w->direct && depth < MAX_DEPTH) {
    for (size_t i = w->start; i + 1 < w->end; i++) {
      if (w->raw[i] != '$' || w->raw[i + 1] != '(')
        continue;
      int level = 0;
      size_t j = i + 1;
      for (; j < w->end; j++) {
        level += w->raw[j] == '(' ? 1 : w->raw[j] == ')' ? -1 : 0;
        if (level == 0)
          break;
      }
      if (j >= w->end)
        break;
      _cleanup_free_ char *inner = strndup(w->raw + i + 2, j - i - 2);
      rd_spans in = {0};
      if (inner)
        code_spans(inner, j - i - 2, &in, depth + 1);
      for (size_t k = 0; k < in.n; k++)
        rd_add(w->sp, i + 2 + in.v[k].start, i + 2 + in.v[k].end);
      free(in.v);
      i = j;
    }
  }
}

static bool is_option(const char *t) { return t[0] == '-' && t[1] != '\0' && strcmp(t, "--") != 0; }

static bool is_assignment(const char *t) {
  if (!((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z') || t[0] == '_'))
    return false;
  const char *p = t;
  while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')
    p++;
  return *p == '=';
}

static bool shell_code_flag(const char *t) {
  if (t[0] != '-' || t[1] == '-')
    return false;
  for (const char *p = t + 1; *p; p++)
    if (*p == 'c')
      return true;
  return false;
}

/* "secret", "token": a subcommand (gh secret set), not a setting's name */
static bool bare_secret_word(const char *t) {
  static const char *const words[] = {"secret", "secrets", "token", "tokens", "auth", "password",
                                      "passwd", "credential", "credentials", "login", "apikey"};
  for (size_t i = 0; i < AL_ARRAY_SIZE(words); i++)
    if (strcasecmp(t, words[i]) == 0)
      return true;
  return false;
}

/* what echo or printf writes in a <( ) of w: its arguments (printf's
 * after its format), up to the closing parenthesis */
static void procsub_output(const rword *w) {
  const char *r = w->raw;
  for (size_t i = w->start; i + 1 < w->end; i++) {
    if ((r[i] != '<' && r[i] != '>') || r[i + 1] != '(')
      continue;
    size_t j = i + 1;
    for (int level = 0; j < w->end; j++) {
      level += r[j] == '(' ? 1 : r[j] == ')' ? -1 : 0;
      if (level == 0)
        break;
    }
    size_t a = i + 2;
    while (a < j && (r[a] == ' ' || r[a] == '\t'))
      a++;
    size_t pe = a;
    while (pe < j && r[pe] != ' ' && r[pe] != '\t')
      pe++;
    bool is_printf = pe - a == 6 && memcmp(r + a, "printf", 6) == 0;
    if (is_printf || (pe - a == 4 && memcmp(r + a, "echo", 4) == 0)) {
      size_t k = pe;
      for (bool format = is_printf;;) {
        while (k < j && (r[k] == ' ' || r[k] == '\t'))
          k++;
        size_t ke = k;
        while (ke < j && r[ke] != ' ' && r[ke] != '\t')
          ke++;
        bool more = ke < j;
        if (k < j && (r[k] == '-' || (format && more))) {
          format &= r[k] == '-';
          k = ke;
          continue;
        }
        break;
      }
      size_t e = j;
      while (e > k && (r[e - 1] == ' ' || r[e - 1] == '\t'))
        e--;
      size_t q = k < e && (r[k] == '"' || r[k] == '\'') ? 1 : 0; /* "$PW" is a reference */
      if (!rd_harmless_value(r + k + q, e - k - 2 * q))
        rd_add(w->sp, k, e);
    }
    i = j;
  }
}

/* a name that says its value is a secret or the file holding one:
 * private-key, --vault-password-file, --token-file= (up to an '=') */
static bool secret_reference(const char *t) {
  const char *eq = strchr(t, '=');
  size_t n = eq ? (size_t)(eq - t) : strlen(t);
  static const char *const ref[] = {"-file", "_file"};
  for (size_t i = 0; i < AL_ARRAY_SIZE(ref); i++) {
    size_t l = strlen(ref[i]);
    if (n > l && strncasecmp(t + n - l, ref[i], l) == 0)
      n -= l;
  }
  return n > 0 && rd_name_secret(t, n);
}

/* docker exec [OPTS] CONTAINER CMD..., kubectl exec POD -- CMD...: the
 * index of CMD, whose own options carry secrets as if it ran here; 0 when
 * w[i] starts no such command */
static size_t container_exec_at(const rword *w, size_t n, size_t i) {
  const char *b = base_name(w[i].text);
  size_t j = i + 1;
  if (strcmp(b, "docker") == 0 || strcmp(b, "podman") == 0 || strcmp(b, "nerdctl") == 0) {
    if (j < n && strcmp(w[j].text, "container") == 0)
      j++;
    if (j >= n || strcmp(w[j].text, "exec") != 0)
      return 0;
    static const char *const valued[] = {"-e", "--env", "-u", "--user", "-w", "--workdir", "--env-file", "--detach-keys"};
    for (j++; j < n && w[j].text[0] == '-'; j++) {
      for (size_t k = 0; k < AL_ARRAY_SIZE(valued); k++)
        if (strcmp(w[j].text, valued[k]) == 0) {
          j++;
          break;
        }
    }
    return j + 1 < n ? j + 1 : 0; /* after the container */
  }
  if (strcmp(b, "kubectl") == 0 || strcmp(b, "oc") == 0) {
    bool exec = false;
    for (; j < n; j++) {
      exec |= strcmp(w[j].text, "exec") == 0;
      if (strcmp(w[j].text, "--") == 0)
        return exec && j + 1 < n ? j + 1 : 0;
    }
  }
  return 0;
}

/* one simple command */
static void command_rules(rword *w, size_t n, int depth) {
  const rd_tool *tool = NULL;
  bool cmd_pos = true, shell = false, flag_seen = false;
  enum { NONE, SECRET, WEAK, CODE } pending = NONE;
  const char *pending_opt = NULL;
  const char *subs[64];
  size_t nsubs = 0;
  int operands = 0, sub_operands = 0;
  /* `wrangler secret put NAME <<< VALUE`, `gh secret set NAME <<< VALUE`:
   * what a command about a secret reads from a here-string is the secret */
  bool about_secret = false;
  for (size_t i = 1; i < n && !about_secret; i++)
    about_secret = !w[i].herestring && (strcasecmp(w[i].text, "secret") == 0 || strcasecmp(w[i].text, "secrets") == 0);
  size_t exec_at = 0;
  for (size_t i = 0; i < n; i++) {
    const char *t = w[i].text;
    if (i == exec_at && i > 0) {
      cmd_pos = true; /* the command a container runs */
      pending = NONE;
    }
    if (about_secret && w[i].herestring) {
      rd_mark_all(&w[i]);
      continue;
    }
    /* kubectl create secret generic X --from-literal=KEY=VALUE: every
     * literal of a command about a secret is one, whatever its key's name */
    if (about_secret && strncmp(t, "--from-literal=", 15) == 0) {
      const char *eq = strchr(t + 15, '=');
      size_t vs = eq ? (size_t)(eq - t) + 1 : 0;
      if (eq && vs < w[i].text_len && !rd_harmless_value(t + vs, w[i].text_len - vs)) {
        rd_mark(&w[i], vs, w[i].text_len);
        continue;
      }
    }
    /* gcloud secrets create X --data-file=<(printf %s VALUE); a file
     * named as a secret's given as <( ): wg set wg0 private-key <(echo K),
     * --vault-password-file <(echo PW), --password-file=<(printf %s PW) */
    if (!w[i].direct && i > 0 && memmem(w[i].raw + w[i].start, w[i].end - w[i].start, "<(", 2) &&
        (about_secret || secret_reference(w[i].text) || secret_reference(w[i - 1].text)))
      procsub_output(&w[i]);
    /* NAME=VALUE, --name=VALUE; not a shell's code string (`sh -c 'K=V
     * cmd'`), which word_rules read as a command */
    if (pending != CODE)
      word_assignment(&w[i]);
    if (pending != NONE) {
      int what = pending;
      pending = NONE;
      if (what == CODE)
        continue; /* a shell's code string: word_rules read it as a command */
      /* --client-secret -Lo2...: a random value may start with a dash */
      if (what == SECRET && (!is_option(t) || tool != NULL || rd_random_word(t, w[i].text_len))) {
        mark_value(&w[i], tool, pending_opt, 0);
        continue;
      }
      if (what == WEAK && !is_option(t) && rd_random_word(t, w[i].text_len)) {
        rd_mark_all(&w[i]);
        continue;
      }
    }
    if (cmd_pos && !is_option(t) && !is_assignment(t)) {
      const char *b = base_name(t);
      tool = rd_tool_find(b);
      shell = al_shell_is_shell(b);
      cmd_pos = rd_is_wrapper(b);
      size_t inner = container_exec_at(w, n, i);
      if (inner)
        exec_at = inner;
      nsubs = 0;
      operands = sub_operands = 0;
      flag_seen = false;
      continue;
    }
    if (is_option(t)) {
      if (tool && rd_tool_novalue(tool, t))
        continue;
      const char *when;
      rd_tool_operand(tool, &when);
      if (when && t[1] != '-' && strstr(t + 1, when))
        flag_seen = true;
      if (shell && shell_code_flag(t)) {
        pending = CODE;
        continue;
      }
      size_t att = rd_tool_attached(tool, t);
      bool subs_ok = rd_tool_subcommand_ok(tool, subs, nsubs);
      if (att && subs_ok && !rd_tool_option(tool, t)) {
        mark_value(&w[i], tool, NULL, att);
        continue;
      }
      const char *eq = strchr(t, '=');
      if (eq) {
        char opt[128];
        size_t ol = (size_t)(eq - t);
        if (ol < sizeof(opt)) {
          memcpy(opt, t, ol);
          opt[ol] = '\0';
          if (subs_ok && rd_tool_option(tool, opt))
            mark_value(&w[i], tool, opt, ol + 1);
        }
        continue; /* --name=VALUE: word_assignment */
      }
      if (subs_ok && rd_tool_option(tool, t)) {
        pending = SECRET;
        pending_opt = t;
      } else if (rd_name_secret(t, w[i].text_len)) {
        pending = SECRET;
        pending_opt = NULL;
      } else if (rd_name_weak(t, w[i].text_len)) {
        pending = WEAK;
      }
      continue;
    }
    /* an operand */
    if (i + 2 < n && strcmp(w[i + 1].text, "=") == 0 && rd_name_secret(t, w[i].text_len)) {
      rd_mark_all(&w[i + 2]); /* name = value */
      i += 2;
      continue;
    }
    /* a bare "token" right after a setter's "set" is the setting's name
     * (doppler configure set token X), unless the command is about a
     * secret (gh secret set token) */
    bool setting = i > 0 && strcmp(w[i - 1].text, "set") == 0 && !about_secret && !is_option(w[i + 1 < n ? i + 1 : i].text);
    if (rd_tool_name_then_value(tool) && i + 1 < n && !is_assignment(t) && (setting || !bare_secret_word(t)) &&
        strncmp(w[i + 1].text, "--", 2) != 0 && /* the secret's name, then options: gcloud secrets add db-pw --x */
        (rd_name_secret(t, w[i].text_len) ||
         (rd_name_weak(t, w[i].text_len) && rd_random_word(w[i + 1].text, w[i + 1].text_len)))) {
      rd_mark_all(&w[i + 1]);
      i++;
      continue;
    }
    operands++;
    if (rd_tool_has_subcommands(tool)) {
      if (nsubs < AL_ARRAY_SIZE(subs))
        subs[nsubs++] = t;
      if (rd_tool_subcommand_ok(tool, subs, nsubs) && !rd_tool_subcommand_ok(tool, subs, nsubs - 1))
        continue; /* this word is the subcommand */
      if (rd_tool_subcommand_ok(tool, subs, nsubs))
        sub_operands++;
    }
    const char *when;
    int want = rd_tool_operand(tool, &when);
    int have = rd_tool_has_subcommands(tool) ? sub_operands : operands;
    if (want && have == want && (!when || flag_seen) && rd_tool_subcommand_ok(tool, subs, nsubs) &&
        !inner_equals(t) && !rd_harmless_value(t, w[i].text_len)) {
      /* sqlplus user/PASS@db: after the split character, when there is a user */
      char split = rd_tool_split(tool, "");
      const char *c = split ? strchr(t, split) : NULL;
      if (!split)
        rd_mark_all(&w[i]);
      else if (c && c > t && c[1]) {
        const char *at = strrchr(c, '@'); /* the database after the password stays */
        rd_mark(&w[i], (size_t)(c - t) + 1, at ? (size_t)(at - t) : w[i].text_len);
      }
    }
  }
}

static void run_words(rword *w, size_t n, int depth) {
  for (size_t i = 0; i < n; i++)
    word_rules(&w[i], depth);
  rd_flow_rules(w, n);
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && !w[j].cmd_start)
      j++;
    command_rules(w + i, j - i, depth);
    i = j;
  }
}

/* whether raw[start..end) spells text exactly, or inside one pair of quotes */
static void set_direct(rword *w) {
  size_t rl = w->end - w->start;
  const char *r = w->raw + w->start;
  if (rl == w->text_len && memcmp(r, w->text, rl) == 0) {
    w->direct = true;
    w->text_off = w->start;
  } else if (rl == w->text_len + 2 && (r[0] == '\'' || r[0] == '"') && r[rl - 1] == r[0] &&
             memcmp(r + 1, w->text, w->text_len) == 0 && (r[0] == '\'' || !strpbrk(w->text, "\\$`\""))) {
    w->direct = true;
    w->text_off = w->start + 1;
  }
}

/* the ranges to hide in the command string s */
static void code_spans(const char *s, size_t len, rd_spans *out, int depth) {
  rd_scan_text(s, len, out, 0);
  al_shell sh;
  al_shell_token *toks = NULL;
  size_t nt = 0;
  airlock_error *err = NULL;
  if (al_shell_tokens(s, &sh, &toks, &nt, &err) < 0) {
    airlock_error_free(&err);
    return; /* not shell: the text rules are all there is */
  }
  rword *w = calloc(nt ? nt : 1, sizeof(*w));
  /* here-documents: their delimiter words and bodies, in the same order */
  size_t n = 0, *delims = calloc(nt ? nt : 1, sizeof(*delims)), ndelims = 0, nbodies = 0;
  rd_span *bodies = calloc(nt ? nt : 1, sizeof(*bodies));
  for (size_t i = 0; w && delims && bodies && i < nt; i++) {
    if (toks[i].kind != AL_STOK_WORD) {
      /* here-doc bodies: the text rules above read them */
      bodies[nbodies++] = (rd_span){toks[i].start, toks[i].end, false};
      continue;
    }
    rword *x = &w[n++];
    *x = (rword){.raw = s, .start = toks[i].start, .end = toks[i].end, .text = toks[i].text,
                 .text_len = strlen(toks[i].text), .sp = out, .cmd_start = toks[i].cmd_start};
    size_t b = x->start;
    while (b > 0 && (s[b - 1] == ' ' || s[b - 1] == '\t'))
      b--;
    x->herestring = toks[i].redir_target && b >= 3 && memcmp(s + b - 3, "<<<", 3) == 0;
    x->out_target = toks[i].redir_target && b >= 1 && s[b - 1] == '>';
    if (toks[i].redir_target && b >= 2 && s[b - 1] == '-' && s[b - 2] == '<')
      b--; /* <<- */
    if (toks[i].redir_target && b >= 2 && memcmp(s + b - 2, "<<", 2) == 0 && !x->herestring)
      delims[ndelims++] = n - 1;
    if (x->cmd_start) {
      /* `a | b`, `a |& b`, also across a line break: b reads a's output */
      while (b > 0 && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\n' || s[b - 1] == '\\'))
        b--;
      if (b > 0 && s[b - 1] == '&' && b > 1 && s[b - 2] == '|')
        b--;
      x->piped = b > 0 && s[b - 1] == '|' && !(b > 1 && s[b - 2] == '|');
    }
    set_direct(x);
  }
  if (w && delims && bodies) {
    run_words(w, n, depth);
    /* a body fed to a tool that reads a secret, or written to a secret file */
    for (size_t k = 0; k < ndelims && k < nbodies; k++)
      if (rd_heredoc_secret(w, n, delims[k])) {
        size_t e = bodies[k].end;
        while (e > bodies[k].start && s[e - 1] == '\n')
          e--;
        rd_add(out, bodies[k].start, e);
      }
  }
  free(delims);
  free(bodies);
  free(w);
  free(toks);
  al_shell_free(&sh);
}

/* --- entry points ------------------------------------------------------------ */

static char *string_once(const char *s) {
  rd_spans sp = {0};
  size_t len = strlen(s);
  code_spans(s, len, &sp, 0);
  return rd_apply(s, len, &sp);
}

/* argv redacted once, element by element (malloc'd array of malloc'd strings) */
static char **argv_once(char *const argv[], size_t n) {
  rword *w = calloc(n ? n : 1, sizeof(*w));
  rd_spans *sp = calloc(n ? n : 1, sizeof(*sp));
  char **out = calloc(n + 1, sizeof(*out));
  bool ok = w && sp && out;
  for (size_t i = 0; ok && i < n; i++) {
    size_t l = strlen(argv[i]);
    w[i] = (rword){.raw = argv[i], .start = 0, .end = l, .text = argv[i], .text_len = l, .sp = &sp[i],
                   .cmd_start = i == 0, .direct = true, .text_off = 0};
  }
  if (ok)
    run_words(w, n, 0);
  for (size_t i = 0; ok && i < n; i++)
    ok = (out[i] = rd_apply(argv[i], strlen(argv[i]), &sp[i])) != NULL;
  if (!ok && out) {
    for (size_t i = 0; i < n; i++)
      free(out[i]);
    free(out);
    out = NULL;
  }
  if (!ok && sp)
    for (size_t i = 0; i < n; i++)
      free(sp[i].v);
  free(sp);
  free(w);
  return out;
}

static void argv_free(char **a) {
  for (size_t i = 0; a && a[i]; i++)
    free(a[i]);
  free(a);
}

static bool argv_equal(char **a, char **b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(a[i], b[i]) != 0)
      return false;
  return true;
}

/* Each element whole: the fallback when passes do not settle (a text whose
 * redaction makes a new secret-looking text, which fuzzing finds) */
static char **argv_whole(char *const orig[], char **cur, size_t n, bool all) {
  for (size_t i = 0; i < n; i++)
    if (all || strcmp(orig[i], cur[i]) != 0) {
      char *r = strdup(AL_REDACTED);
      if (r == NULL) {
        argv_free(cur);
        return NULL;
      }
      free(cur[i]);
      cur[i] = r;
    }
  return cur;
}

/* redacted until redacting changes nothing: the result redacts to itself */
char **al_redact_argv_strings(char *const argv[]) {
  size_t n = 0;
  while (argv && argv[n])
    n++;
  al_redact_registry_lock(true);
  char **cur = argv_once(argv, n);
  bool same = false;
  for (int pass = 1; cur && !same && pass <= MAX_PASSES + 2; pass++) {
    if (pass == MAX_PASSES + 1) /* not settled: what changed is hidden whole */
      cur = argv_whole(argv, cur, n, false);
    else if (pass == MAX_PASSES + 2) /* still not: nothing is kept */
      cur = argv_whole(argv, cur, n, true);
    char **next = cur ? argv_once(cur, n) : NULL;
    same = next && argv_equal(cur, next, n);
    argv_free(cur);
    cur = next;
  }
  al_redact_registry_lock(false);
  return cur;
}

char *al_redact_string(const char *s) {
  if (s == NULL)
    s = "";
  al_redact_registry_lock(true);
  char *cur = string_once(s);
  bool same = false;
  for (int pass = 1; cur && !same && pass <= MAX_PASSES + 1; pass++) {
    if (pass == MAX_PASSES + 1) { /* not settled: hidden whole */
      free(cur);
      cur = strdup(AL_REDACTED);
    }
    char *next = cur ? string_once(cur) : NULL;
    same = next && strcmp(next, cur) == 0;
    free(cur);
    cur = next;
  }
  al_redact_registry_lock(false);
  return cur;
}

/* Invalid UTF-8 (json_string refuses it) becomes U+FFFD, byte by byte. */
static char *utf8_clean(const char *s) {
  size_t len = strlen(s);
  char *out = malloc(len * 3 + 1), *p = out;
  if (out == NULL)
    return NULL;
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < len;) {
    unsigned char c = u[i];
    size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    bool ok = n > 0 && i + n <= len;
    for (size_t k = 1; ok && k < n; k++)
      ok = (u[i + k] & 0xc0) == 0x80;
    if (ok && n > 1) {
      uint32_t cp = c & (0xff >> (n + 1));
      for (size_t k = 1; k < n; k++)
        cp = cp << 6 | (u[i + k] & 0x3f);
      static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= min_cp[n] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    }
    if (ok) {
      memcpy(p, s + i, n);
      p += n;
      i += n;
    } else {
      memcpy(p, "\xef\xbf\xbd", 3);
      p += 3;
      i++;
    }
  }
  *p = '\0';
  return out;
}

json_t *al_redact_argv(char *const argv[]) {
  json_t *arr = json_array();
  if (arr == NULL || argv == NULL)
    return arr;
  char **red = al_redact_argv_strings(argv);
  for (size_t i = 0; red && red[i]; i++) {
    _cleanup_free_ char *clean = utf8_clean(red[i]);
    if (clean == NULL || json_array_append_new(arr, json_string(clean)) < 0) {
      argv_free(red);
      json_decref(arr);
      return NULL;
    }
  }
  if (red == NULL) {
    json_decref(arr);
    return NULL;
  }
  argv_free(red);
  return arr;
}

char *al_redact_derived(char *const argv[], const char *text) {
  if (text == NULL)
    return NULL;
  /* the secrets of argv are what redaction took out of its elements */
  size_t n = 0;
  while (argv && argv[n])
    n++;
  rd_spans sp = {0};
  size_t len = strlen(text);
  al_redact_registry_lock(true);
  rword *w = calloc(n ? n : 1, sizeof(*w));
  rd_spans *esp = calloc(n ? n : 1, sizeof(*esp));
  if (w && esp) {
    for (size_t i = 0; i < n; i++) {
      size_t l = strlen(argv[i]);
      w[i] = (rword){.raw = argv[i], .end = l, .text = argv[i], .text_len = l, .sp = &esp[i], .cmd_start = i == 0,
                     .direct = true};
    }
    run_words(w, n, 0);
    for (size_t i = 0; i < n; i++) {
      for (size_t k = 0; k < esp[i].n; k++) {
        size_t vl = esp[i].v[k].end - esp[i].v[k].start;
        const char *v = argv[i] + esp[i].v[k].start;
        for (const char *p = text; vl >= 4 && (p = memmem(p, len - (size_t)(p - text), v, vl)) != NULL; p += vl)
          rd_add(&sp, (size_t)(p - text), (size_t)(p - text) + vl);
      }
      free(esp[i].v);
    }
  }
  free(w);
  free(esp);
  _cleanup_free_ char *first = rd_apply(text, len, &sp);
  al_redact_registry_lock(false);
  return first ? al_redact_string(first) : NULL;
}
