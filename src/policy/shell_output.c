/* SPDX-License-Identifier: Apache-2.0 */
/* shell_output.c - what a command substitution prints, when that is evident
 * without running anything ($(echo rm), `printf ...|base64 -d`).  Separate
 * because it is an interpreter of a few commands, not part of reading sh. */
#define _GNU_SOURCE
#include "shell_parse_impl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

/* --- what a substitution prints, when that is evident ----------------------------
 * A pipeline of at most four commands: a producer (echo, printf, which NAME,
 * command -v NAME, type -P NAME, ls, find START without tests, or
 * a here-string) and filters (base64 -d,
 * xxd -r -p, rev, tr SET1 SET2, cat).  Anything else is unknown. */

static bool has_flag(const al_segment *s, char letter, const char *long_name) {
  for (size_t i = 1; i < s->argc; i++) {
    const char *a = s->argv[i];
    if (long_name && strcmp(a, long_name) == 0)
      return true;
    if (a[0] == '-' && a[1] != '-' && strchr(a + 1, letter))
      return true;
  }
  return false;
}

static bool b64_value(int c, unsigned *v) {
  if (c >= 'A' && c <= 'Z')
    *v = (unsigned)(c - 'A');
  else if (c >= 'a' && c <= 'z')
    *v = (unsigned)(c - 'a' + 26);
  else if (c >= '0' && c <= '9')
    *v = (unsigned)(c - '0' + 52);
  else if (c == '+' || c == '-')
    *v = 62;
  else if (c == '/' || c == '_')
    *v = 63;
  else
    return false;
  return true;
}

static bool filter_base64(const strbuf *in, strbuf *out) {
  unsigned acc = 0, bits = 0;
  for (size_t i = 0; i < in->len; i++) {
    unsigned char c = (unsigned char)in->buf[i];
    unsigned v;
    if (is_ifs(c) || c == '\r')
      continue;
    if (c == '=')
      break;
    if (!b64_value(c, &v))
      return false;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      char ch = (char)((acc >> bits) & 0xff);
      if (ch == '\0' || !al_sh_sb_putc(out, ch))
        return false;
    }
  }
  return true;
}

static bool filter_hex(const strbuf *in, strbuf *out) {
  int hi = -1;
  for (size_t i = 0; i < in->len; i++) {
    unsigned char c = (unsigned char)in->buf[i];
    if (is_ifs(c))
      continue;
    if (!isxdigit(c))
      return false;
    int v = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
    if (hi < 0) {
      hi = v;
    } else {
      char ch = (char)(hi * 16 + v);
      if (ch == '\0' || !al_sh_sb_putc(out, ch))
        return false;
      hi = -1;
    }
  }
  return true;
}

static bool filter_rev(const strbuf *in, strbuf *out) {
  size_t i = 0;
  while (i < in->len) {
    size_t e = i;
    while (e < in->len && in->buf[e] != '\n')
      e++;
    for (size_t k = e; k > i; k--)
      if (!al_sh_sb_putc(out, in->buf[k - 1]))
        return false;
    if (e < in->len && !al_sh_sb_putc(out, '\n'))
      return false;
    i = e + 1;
  }
  return true;
}

/* tr's SET: ranges a-z and \n-style escapes; at most 256 characters */
static size_t tr_set(const char *s, char *out) {
  size_t n = 0;
  for (size_t i = 0; s[i] && n < 256;) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\\' && s[i + 1]) {
      static const char from[] = "ntr\\", to[] = "\n\t\r\\";
      const char *f = strchr(from, s[i + 1]);
      out[n++] = f ? to[f - from] : s[i + 1];
      i += 2;
      continue;
    }
    if (s[i + 1] == '-' && s[i + 2] && (unsigned char)s[i + 2] >= c) {
      for (unsigned k = c; k <= (unsigned char)s[i + 2] && n < 256; k++)
        out[n++] = (char)k;
      i += 3;
      continue;
    }
    out[n++] = (char)c;
    i++;
  }
  return n;
}

static bool filter_tr(const al_segment *s, const strbuf *in, strbuf *out) {
  if (s->argc != 3 || s->argv[1][0] == '-' || s->argv[1][0] == '[' || s->argv[2][0] == '[')
    return false;
  char a[256], b[256];
  size_t na = tr_set(s->argv[1], a), nb = tr_set(s->argv[2], b);
  if (na == 0 || nb == 0)
    return false;
  char map[256];
  for (int i = 0; i < 256; i++)
    map[i] = (char)i;
  for (size_t i = 0; i < na; i++)
    map[(unsigned char)a[i]] = b[i < nb ? i : nb - 1];
  for (size_t i = 0; i < in->len; i++) {
    char ch = map[(unsigned char)in->buf[i]];
    if (ch == '\0' || !al_sh_sb_putc(out, ch))
      return false;
  }
  return true;
}

static bool run_filter(const al_segment *s, const strbuf *in, strbuf *out) {
  const char *n = s->name;
  if (strcmp(n, "cat") == 0 && s->argc == 1)
    return al_sh_sb_putn(out, in->buf, in->len);
  if ((strcmp(n, "base64") == 0 || strcmp(n, "basenc") == 0) &&
      (has_flag(s, 'd', "--decode") || has_flag(s, 'D', NULL)))
    return filter_base64(in, out);
  if (strcmp(n, "xxd") == 0 && has_flag(s, 'r', NULL) && has_flag(s, 'p', NULL))
    return filter_hex(in, out);
  if (strcmp(n, "rev") == 0 && s->argc == 1)
    return filter_rev(in, out);
  if (strcmp(n, "tr") == 0)
    return filter_tr(s, in, out);
  return false;
}

static bool run_echo(const al_segment *s, strbuf *out) {
  size_t i = 1;
  bool newline = true, escapes = false;
  while (i < s->argc && s->argv[i][0] == '-' && s->argv[i][1] &&
         strspn(s->argv[i] + 1, "neE") == strlen(s->argv[i] + 1)) {
    for (const char *c = s->argv[i] + 1; *c; c++) {
      if (*c == 'n')
        newline = false;
      else
        escapes = *c == 'e';
    }
    i++;
  }
  bool ok = true;
  for (size_t first = i; i < s->argc; i++) {
    if (i > first)
      ok &= al_sh_sb_putc(out, ' ');
    const char *a = s->argv[i];
    if (!escapes) {
      ok &= al_sh_sb_putn(out, a, strlen(a));
      continue;
    }
    for (size_t k = 0; a[k];) {
      if (a[k] == '\\') {
        size_t used = al_sh_decode_escape(a + k + 1, out, true, &ok);
        if (used == 0)
          return ok;
        k += 1 + used;
      } else {
        ok &= al_sh_sb_putc(out, a[k++]);
      }
    }
  }
  if (newline)
    ok &= al_sh_sb_putc(out, '\n');
  return ok;
}

static bool run_printf(const al_segment *s, strbuf *out) {
  if (s->argc < 2)
    return false;
  const char *fmt = s->argv[1];
  size_t arg = 2;
  bool ok = true;
  for (int round = 0; round < 16; round++) {
    bool consumed = false;
    for (size_t k = 0; fmt[k];) {
      if (fmt[k] == '\\') {
        size_t used = al_sh_decode_escape(fmt + k + 1, out, false, &ok);
        if (used == 0)
          return ok;
        k += 1 + used;
      } else if (fmt[k] == '%') {
        char conv = fmt[k + 1];
        const char *a = arg < s->argc ? s->argv[arg] : "";
        if (conv == '%') {
          ok &= al_sh_sb_putc(out, '%');
        } else if (conv == 's' || conv == 'b') {
          if (conv == 'b') {
            for (size_t j = 0; a[j];) {
              if (a[j] == '\\') {
                size_t used = al_sh_decode_escape(a + j + 1, out, true, &ok);
                if (used == 0)
                  break;
                j += 1 + used;
              } else {
                ok &= al_sh_sb_putc(out, a[j++]);
              }
            }
          } else {
            ok &= al_sh_sb_putn(out, a, strlen(a));
          }
          arg++;
          consumed = true;
        } else if (conv == 'c') {
          if (a[0])
            ok &= al_sh_sb_putc(out, a[0]);
          arg++;
          consumed = true;
        } else {
          return false; /* numbers, widths: not worth it */
        }
        k += 2;
      } else {
        ok &= al_sh_sb_putc(out, fmt[k++]);
      }
    }
    if (!consumed || arg >= s->argc)
      break;
  }
  return ok;
}

/* find START with no test that picks files (only -type, depths, -print,
 * "! -name START"):
 * it lists everything below START, written START then "/" and "*"; NULL
 * otherwise.  The words of -exec ... ; and + are skipped (they run on each
 * file). */
const char *al_sh_find_everything(parser *p, char *const *argv, size_t argc) {
  static const char *const neutral[] = {"-xdev", "-mount", "-depth", "-print", "-print0", "-follow",
                                        "-ignore_readdir_race", "-noleaf", "-delete", NULL};
  static const char *const neutral_value[] = {"-mindepth", "-maxdepth", "-type", "-xtype", NULL};
  const char *start = NULL;
  size_t i = 1;
  while (i < argc && (strcmp(argv[i], "-L") == 0 || strcmp(argv[i], "-H") == 0 || strcmp(argv[i], "-P") == 0))
    i++;
  for (; i < argc && argv[i][0] != '-' && strcmp(argv[i], "(") != 0 && strcmp(argv[i], "!") != 0; i++) {
    if (start)
      return NULL; /* several start points: not worth it */
    start = argv[i];
  }
  if (start == NULL)
    start = ".";
  for (; i < argc; i++) {
    const char *a = argv[i];
    bool ok = false;
    for (size_t k = 0; !ok && neutral[k]; k++)
      ok = strcmp(a, neutral[k]) == 0;
    for (size_t k = 0; !ok && neutral_value[k]; k++)
      if (strcmp(a, neutral_value[k]) == 0 && i + 1 < argc) {
        ok = true;
        i++;
      }
    /* ! -name START (or -not -path START): only the start point itself is
     * left out, as -mindepth 1 does */
    if (!ok && (strcmp(a, "!") == 0 || strcmp(a, "-not") == 0) && i + 2 < argc &&
        (strcmp(argv[i + 1], "-name") == 0 || strcmp(argv[i + 1], "-path") == 0 ||
         strcmp(argv[i + 1], "-wholename") == 0) &&
        strcmp(argv[i + 2], start) == 0) {
      i += 2;
      ok = true;
    }
    if (!ok && (strcmp(a, "-exec") == 0 || strcmp(a, "-execdir") == 0 || strcmp(a, "-ok") == 0 ||
                strcmp(a, "-okdir") == 0)) {
      while (i + 1 < argc && strcmp(argv[i + 1], ";") != 0 && strcmp(argv[i + 1], "+") != 0)
        i++;
      i++;
      ok = true;
    }
    if (!ok)
      return NULL;
  }
  size_t n = strlen(start);
  while (n > 1 && start[n - 1] == '/')
    n--;
  strbuf b;
  al_sh_sb_init(&b);
  bool ok = al_sh_sb_putn(&b, start, n) && al_sh_sb_putn(&b, n == 1 && start[0] == '/' ? "*" : "/*", 2 - (n == 1 && start[0] == '/'));
  const char *res = ok ? al_sh_pdup(p, b.buf, b.len) : NULL;
  al_sh_sb_free(&b);
  if (res == NULL)
    al_sh_fail_nomem(p);
  return res;
}

/* ls -d PATH...: its operands, one a line; ls alone: the names in the
 * current directory, "*" (ls -A piped to xargs rm -rf deletes them).  ls DIR
 * prints names relative to DIR: not evident */
static bool run_ls(const al_segment *s, strbuf *out) {
  bool d = false, operands = false, ok = true;
  for (size_t i = 1; i < s->argc; i++) {
    const char *a = s->argv[i];
    if (a[0] != '-')
      operands = true;
    else if (a[1] == '-' || strspn(a + 1, "d1aA") != strlen(a + 1))
      return false; /* long listings, sorting, colours: not a list of names */
    else
      d |= strchr(a, 'd') != NULL;
  }
  if (!operands)
    return !d && al_sh_sb_putn(out, "*\n", 2);
  if (!d)
    return false;
  for (size_t i = 1; ok && i < s->argc; i++)
    if (s->argv[i][0] != '-')
      ok = al_sh_sb_putn(out, s->argv[i], strlen(s->argv[i])) && al_sh_sb_putc(out, '\n');
  return ok;
}

static bool run_producer(parser *p, const al_segment *s, strbuf *out) {
  const char *n = s->name;
  if (strcmp(n, "ls") == 0)
    return run_ls(s, out);
  if (strcmp(n, "find") == 0) {
    const char *all = al_sh_find_everything(p, s->argv, s->argc);
    return all && al_sh_sb_putn(out, all, strlen(all)) && al_sh_sb_putc(out, '\n');
  }
  if (strcmp(n, "echo") == 0)
    return run_echo(s, out);
  if (strcmp(n, "printf") == 0)
    return run_printf(s, out);
  /* the project root: pwd, git rev-parse --show-toplevel (before any cd) */
  if ((strcmp(n, "pwd") == 0 && s->argc == 1) ||
      (strcmp(n, "git") == 0 && s->argc == 3 && strcmp(s->argv[1], "rev-parse") == 0 &&
       strcmp(s->argv[2], "--show-toplevel") == 0))
    return al_sh_sb_putn(out, ".\n", 2);
  /* which rm / command -v rm / type -P rm: the name is what matters */
  bool lookup = strcmp(n, "which") == 0 ||
                (strcmp(n, "command") == 0 && (has_flag(s, 'v', NULL) || has_flag(s, 'V', NULL))) ||
                (strcmp(n, "type") == 0 && (has_flag(s, 'p', NULL) || has_flag(s, 'P', NULL)));
  if (lookup && s->argc >= 2) {
    const char *last = s->argv[s->argc - 1];
    if (last[0] == '-')
      return false;
    return al_sh_sb_putn(out, last, strlen(last)) && al_sh_sb_putc(out, '\n');
  }
  return false;
}

static bool harmless_redir(const al_redir *r) {
  if (r->kind == AL_REDIR_DUP_OUT || r->kind == AL_REDIR_DUP_IN)
    return true;
  return (r->kind == AL_REDIR_OUT || r->kind == AL_REDIR_APPEND) && r->fd == 2;
}

static const char *chain_output(parser *p, const size_t *chain, size_t m);

const char *al_sh_static_output(parser *p, size_t mark) {
  al_shell *sh = p->sh;
  size_t chain[4], m = 0;
  for (size_t i = mark; i < sh->n; i++) {
    if (sh->segs[i].parent != PENDING_PARENT)
      continue;
    if (m == AL_ARRAY_SIZE(chain))
      return NULL;
    chain[m++] = i;
  }
  if (m == 0)
    return "";
  return chain_output(p, chain, m);
}

const char *al_sh_pipe_output(parser *p, int last) {
  size_t rev[4], chain[4], m = 0;
  for (int i = last; i >= 0; i = p->sh->segs[i].pipe_from) {
    if (m == AL_ARRAY_SIZE(rev))
      return NULL;
    rev[m++] = (size_t)i;
  }
  for (size_t i = 0; i < m; i++)
    chain[i] = rev[m - 1 - i];
  return m ? chain_output(p, chain, m) : NULL;
}

static const char *chain_output(parser *p, const size_t *chain, size_t m) {
  al_shell *sh = p->sh;
  const char *herestring = NULL;
  for (size_t i = 0; i < m; i++) {
    const al_segment *s = &sh->segs[chain[i]];
    if (s->argc == 0 || (s->flags & (AL_SEG_UNRESOLVED_COMMAND | AL_SEG_UNRESOLVED_ARGS | AL_SEG_BACKGROUND |
                                     AL_SEG_CODE_PARSED | AL_SEG_CODE_OPAQUE)))
      return NULL;
    if (s->pipe_from != (i == 0 ? -1 : (int)chain[i - 1]))
      return NULL;
    for (size_t r = 0; r < s->n_redirs; r++) {
      if (i == 0 && s->redirs[r].kind == AL_REDIR_HERESTRING && !s->redirs[r].unresolved && herestring == NULL)
        herestring = s->redirs[r].target;
      else if (!harmless_redir(&s->redirs[r]))
        return NULL;
    }
  }
  strbuf a, b;
  al_sh_sb_init(&a);
  al_sh_sb_init(&b);
  bool ok;
  size_t i = 0;
  if (herestring) {
    ok = al_sh_sb_putn(&a, herestring, strlen(herestring)) && al_sh_sb_putc(&a, '\n');
  } else {
    ok = run_producer(p, &sh->segs[chain[0]], &a);
    i = 1;
  }
  for (; ok && i < m; i++) {
    b.len = 0;
    ok = run_filter(&sh->segs[chain[i]], &a, &b) && b.len <= MAX_STATIC_OUTPUT;
    a.len = 0;
    ok = ok && al_sh_sb_putn(&a, b.buf, b.len);
  }
  const char *res = NULL;
  if (ok) {
    while (a.len > 0 && a.buf[a.len - 1] == '\n')
      a.len--;
    if (a.len <= MAX_STATIC_OUTPUT && memchr(a.buf, '\0', a.len) == NULL) {
      res = al_sh_pdup(p, a.len ? a.buf : "", a.len);
      if (res == NULL)
        al_sh_fail_nomem(p);
    }
  }
  al_sh_sb_free(&a);
  al_sh_sb_free(&b);
  return res;
}
