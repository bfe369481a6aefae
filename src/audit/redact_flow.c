/* SPDX-License-Identifier: Apache-2.0 */
/* redact_flow.c - secrets found by where a command's data goes rather than
 * by a name next to them: what echo or printf pipes into a tool that reads
 * a secret on stdin (docker login --password-stdin, sudo -S, chpasswd) or
 * writes into a file whose whole content is one (.vault-token, an age key
 * file, through > or tee); what a here-string gives such a tool; printf's
 * arguments in the output its format makes (password=%s); and the
 * replacement of a sed s/// command, read as the config line it writes.
 * Which tools and files these are is registry data (redact_registry.c). */
#define _GNU_SOURCE
#include "redact_impl.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"

#define PRINTF_MAX_OUT 65536

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

static bool is_assignment(const char *t) {
  if (!((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z') || t[0] == '_'))
    return false;
  const char *p = t + strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
  return *p == '=';
}

/* the command's program: its first word that is not an assignment, past
 * wrappers and their options (sudo -u x, env K=V, timeout 5); -1 if none */
static ssize_t program_index(const rword *w, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char *t = w[i].text;
    if (w[i].out_target || w[i].herestring || is_assignment(t))
      continue;
    if (t[0] == '-' && i > 0)
      continue; /* a wrapper's option */
    if (!rd_is_wrapper(base_name(t)))
      return (ssize_t)i;
  }
  return -1;
}

/* a word naming stdin as where a secret comes from: --password-file
 * /dev/stdin, --from-file=password=/dev/stdin, --key=/dev/stdin */
static bool secret_from_stdin(const char *word, const char *next) {
  const char *v = strrchr(word, '=');
  const char *value = v ? v + 1 : next;
  if (value == NULL || (strcmp(value, "/dev/stdin") != 0 && strcmp(value, "/dev/fd/0") != 0))
    return false;
  const char *end = v ? v : word + strlen(word);
  const char *start = word;
  for (const char *p = word; p < end; p++)
    if (*p == '=')
      start = p + 1;
  size_t len = (size_t)(end - start);
  /* password-file, key_path: where the secret is read from */
  static const char *const ref[] = {"-file", "_file", "-path", "_path"};
  for (size_t i = 0; i < AL_ARRAY_SIZE(ref); i++) {
    size_t l = strlen(ref[i]);
    if (len > l && strncasecmp(end - l, ref[i], l) == 0)
      len -= l;
  }
  return rd_name_secret(start, len) || rd_name_weak(start, len);
}

/* a variable's name as such tools take it: API_TOKEN, DB_PASSWORD */
static bool secret_variable(const char *t) {
  size_t n = strlen(t);
  if (n < 3 || n > 128 || strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != n)
    return false;
  return rd_name_secret(t, n);
}

/* `gh secret set NAME`, `wrangler secret put NAME`, `docker secret create
 * NAME -`, `gcloud secrets versions add NAME --data-file=-`, `vercel env
 * add API_TOKEN production`: a command that stores a secret (or a variable
 * named as one) with a value it reads on stdin */
static bool stores_secret(const rword *w, size_t n) {
  static const char *const verbs[] = {"set", "put", "create", "add"};
  bool about = false, verb = false;
  for (size_t i = 1; i < n; i++) {
    about |= strcasecmp(w[i].text, "secret") == 0 || strcasecmp(w[i].text, "secrets") == 0 ||
             (verb && secret_variable(w[i].text));
    for (size_t k = 0; k < AL_ARRAY_SIZE(verbs); k++)
      verb |= strcmp(w[i].text, verbs[k]) == 0;
  }
  return about && verb;
}

/* whether the command reads a secret on its stdin */
static bool reads_secret(const rword *w, size_t n) {
  if (stores_secret(w, n))
    return true;
  const rd_tool *tool = NULL;
  bool at_program = true;
  for (size_t i = 0; i < n; i++) {
    const char *t = w[i].text;
    if (w[i].herestring)
      continue;
    if (at_program && !is_assignment(t) && t[0] != '-') {
      const char *b = base_name(t);
      tool = rd_tool_find(b);
      at_program = rd_is_wrapper(b);
      if (rd_tool_stdin_secret(tool, NULL))
        return true;
      if (strcmp(b, "tee") == 0) {
        for (size_t j = i + 1; j < n; j++)
          if (w[j].text[0] != '-' && rd_registry_secret_file(w[j].text))
            return true;
      }
      continue;
    }
    if (rd_tool_stdin_secret(tool, t) || secret_from_stdin(t, i + 1 < n ? w[i + 1].text : NULL))
      return true;
  }
  return false;
}

static bool writes_secret_file(const rword *w, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (w[i].out_target && rd_registry_secret_file(w[i].text))
      return true;
  return false;
}

/* what echo or printf writes: their operands (printf's arguments, or its
 * format alone), each hidden whole unless it only refers to a secret */
static void hide_output(rword *w, size_t n) {
  ssize_t p = program_index(w, n);
  if (p < 0)
    return;
  const char *prog = base_name(w[p].text);
  bool echo = strcmp(prog, "echo") == 0, printf_ = strcmp(prog, "printf") == 0;
  if (!echo && !printf_)
    return;
  size_t first = (size_t)p + 1;
  while (first < n && w[first].text[0] == '-' && !w[first].out_target && strlen(w[first].text) <= 3)
    first++; /* echo -n, -e; printf -- */
  size_t operands = 0;
  for (size_t i = first; i < n; i++)
    operands += !w[i].out_target;
  for (size_t i = first; i < n; i++) {
    if (w[i].out_target || (printf_ && i == first && operands > 1))
      continue;
    if (!rd_harmless_value(w[i].text, w[i].text_len))
      rd_mark_all(&w[i]);
  }
}

/* printf FORMAT ARGS: the output its format makes, read by the text rules;
 * an argument any of whose bytes they hide is hidden whole */
static void printf_output(rword *w, size_t n) {
  ssize_t p = program_index(w, n);
  if (p < 0 || strcmp(base_name(w[p].text), "printf") != 0)
    return;
  size_t f = (size_t)p + 1;
  if (f < n && strcmp(w[f].text, "--") == 0)
    f++;
  if (f >= n || w[f].out_target)
    return;
  size_t nargs = 0;
  while (f + 1 + nargs < n && !w[f + 1 + nargs].out_target)
    nargs++;
  if (nargs == 0)
    return;
  rword *args = &w[f + 1];
  _cleanup_free_ char *out = malloc(PRINTF_MAX_OUT);
  _cleanup_free_ size_t *from = calloc(nargs, sizeof(*from)), *to = calloc(nargs, sizeof(*to));
  if (!out || !from || !to)
    return;
  size_t o = 0, a = 0;
  const char *fmt = w[f].text;
  /* the format is reused while arguments remain, as printf does */
  for (int round = 0; round < 64 && a < nargs; round++) {
    size_t used = a;
    for (const char *c = fmt; *c && o + 1 < PRINTF_MAX_OUT; c++) {
      if (*c == '\\' && c[1]) {
        c++;
        out[o++] = *c == 'n' ? '\n' : *c == 't' ? '\t' : *c;
      } else if (*c == '%' && c[1] == '%') {
        out[o++] = '%';
        c++;
      } else if (*c == '%' && c[1]) {
        c++;
        while (*c && strchr("-+ #0123456789.", *c))
          c++;
        if (!*c)
          break;
        if (a < nargs) {
          size_t l = args[a].text_len;
          if (o + l + 1 >= PRINTF_MAX_OUT)
            break;
          from[a] = o;
          memcpy(out + o, args[a].text, l);
          o += l;
          to[a++] = o;
        }
      } else {
        out[o++] = *c;
      }
    }
    if (a == used)
      break; /* a format without conversions */
  }
  rd_spans sp = {0};
  rd_scan_text(out, o, &sp, 0);
  for (size_t i = 0; i < a; i++)
    for (size_t k = 0; k < sp.n; k++)
      if (sp.v[k].start < to[i] && sp.v[k].end > from[i] && to[i] > from[i]) {
        rd_mark_all(&args[i]);
        break;
      }
  free(sp.v);
}

/* a sed pattern that marks where a value is to be filled in: a fill-in
 * word (REPLACE_ME, CHANGEME, <your-key>, YOUR_TOKEN_HERE, xxx, TODO), a
 * delimited template variable (__API_KEY__, {{TOKEN}}, @SECRET@, %KEY%) or
 * a name that holds or suggests a secret (API_KEY) */
static bool placeholder(const char *p, size_t n) {
  static const char *const fill[] = {"replace", "changeme", "change_me", "change-me", "placeholder", "your_",
                                     "your-",   "yourkey",  "todo",      "fixme",     "xxx",         "insert",
                                     "fill",    "dummy",    "redacted",  "secret_here", "_here"};
  while (n > 0 && (*p == '^' || *p == '\\'))
    p++, n--;
  while (n > 0 && p[n - 1] == '$')
    n--;
  if (n < 3 || n > 64)
    return false;
  for (size_t k = 0; k < sizeof(fill) / sizeof(fill[0]); k++) {
    size_t l = strlen(fill[k]);
    for (size_t i = 0; i + l <= n; i++)
      if (strncasecmp(p + i, fill[k], l) == 0)
        return true;
  }
  size_t a = 0, b = n;
  if (p[0] == '<' && p[n - 1] == '>')
    a++, b--;
  else if (n > 4 && ((p[0] == '_' && p[1] == '_') || (p[0] == '{' && p[1] == '{')))
    a += 2, b -= 2;
  else if (p[0] == '@' || p[0] == '%')
    a++, b -= p[n - 1] == p[0];
  for (size_t i = a; i < b; i++)
    if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') ||
          p[i] == '_' || p[i] == '-' || p[i] == '.'))
      return false;
  return b > a && (rd_name_secret(p + a, b - a) || rd_name_weak(p + a, b - a));
}

/* sed 's/PATTERN/REPLACEMENT/': the replacement is the line sed writes
 * (license_key: 'X', TOKEN=X) and is read as one; a random-looking word put
 * in place of a placeholder (s/REPLACE_ME/X/, s/__API_KEY__/X/) is hidden */
static void sed_script(const rword *w) {
  const char *s = w->text;
  size_t len = w->text_len;
  for (size_t i = 0; i + 1 < len; i++) {
    if (s[i] != 's' || (i > 0 && !strchr("; \t\n{}/$0123456789", s[i - 1])))
      continue;
    char d = s[i + 1];
    if (d == '\\' || d == '\n' || d == ' ' || (d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') ||
        (d >= '0' && d <= '9'))
      continue;
    size_t j = i + 2;
    while (j < len && s[j] != d)
      j += s[j] == '\\' ? 2 : 1;
    if (j >= len)
      continue;
    size_t r = j + 1, e = r;
    while (e < len && s[e] != d)
      e += s[e] == '\\' ? 2 : 1;
    if (e > len)
      e = len;
    rd_spans sp = {0};
    rd_scan_text(s + r, e - r, &sp, 0);
    if (sp.n == 0 && placeholder(s + i + 2, j - i - 2) && rd_random_word(s + r, e - r))
      rd_add(&sp, 0, e - r);
    for (size_t k = 0; k < sp.n; k++)
      rd_mark(w, r + sp.v[k].start, r + sp.v[k].end);
    free(sp.v);
    i = e;
  }
}

static void sed_rules(rword *w, size_t n) {
  ssize_t p = program_index(w, n);
  if (p < 0 || strcmp(base_name(w[p].text), "sed") != 0)
    return;
  bool script_seen = false;
  for (size_t i = (size_t)p + 1; i < n; i++) {
    const char *t = w[i].text;
    if (w[i].out_target)
      continue;
    if (strcmp(t, "-e") == 0 || strcmp(t, "--expression") == 0) {
      if (i + 1 < n)
        sed_script(&w[++i]);
      script_seen = true;
    } else if (strncmp(t, "--expression=", 13) == 0) {
      sed_script(&w[i]);
      script_seen = true;
    } else if (strcmp(t, "-f") == 0 || strcmp(t, "-l") == 0) {
      i++;
    } else if (t[0] != '-' && !script_seen) {
      sed_script(&w[i]);
      script_seen = true;
    }
  }
}

bool rd_heredoc_secret(const rword *w, size_t n, size_t word) {
  if (word >= n)
    return false;
  size_t cs = word;
  while (cs > 0 && !w[cs].cmd_start)
    cs--;
  size_t ce = word + 1;
  while (ce < n && !w[ce].cmd_start)
    ce++;
  if (reads_secret(w + cs, ce - cs) || writes_secret_file(w + cs, ce - cs))
    return true;
  if (ce >= n || !w[ce].piped)
    return false;
  size_t ne = ce + 1;
  while (ne < n && !w[ne].cmd_start)
    ne++;
  return reads_secret(w + ce, ne - ce);
}

void rd_flow_rules(rword *w, size_t n) {
  size_t prev = 0, prev_n = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && !w[j].cmd_start)
      j++;
    rword *c = w + i;
    size_t cn = j - i;
    bool secret_in = reads_secret(c, cn);
    if (secret_in) {
      for (size_t k = 0; k < cn; k++)
        if (c[k].herestring && !rd_harmless_value(c[k].text, c[k].text_len))
          rd_mark_all(&c[k]);
      if (c[0].piped && prev_n)
        hide_output(w + prev, prev_n);
    }
    if (writes_secret_file(c, cn))
      hide_output(c, cn);
    printf_output(c, cn);
    sed_rules(c, cn);
    prev = i;
    prev_n = cn;
    i = j;
  }
}
