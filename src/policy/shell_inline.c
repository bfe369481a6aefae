/* SPDX-License-Identifier: Apache-2.0 */
/* shell_inline.c - the code given inline to an interpreter (python3 -c,
 * node -e, perl -e, ruby -e, php -r, lua -e, awk 'PROG').  It is not parsed
 * as the language: calls that matter are found by name, and their literal
 * arguments read.  A shell string they run (os.system, subprocess with a
 * string or a list, child_process.execSync, system, backticks, awk's
 * system() and "cmd" | getline) becomes nested segments; literal file and
 * network operations (shutil.rmtree, os.remove, open, fs.rmSync, urlopen,
 * requests.post, fetch) become the commands that do the same (rm -rf, cat,
 * tee, curl), so the catalogue judges them as it judges a shell; a shell
 * sink, eval/exec or delete whose argument is not literal marks the
 * interpreter's segment opaque (unknown, which asks). */
#define _GNU_SOURCE
#include "shell_parse_impl.h"

#include <stdlib.h>
#include <string.h>

enum { K_SHELL, K_ARGV_OR_SHELL, K_EVAL, K_RMTREE, K_REMOVE, K_READ, K_OPEN, K_WRITE, K_GET, K_POST, K_FETCH };

typedef struct {
  const char *name; /* the call, matched at an identifier boundary and followed by ( */
  int kind;
} sink;

/* names shared by every language; a language's own come first */
static const sink common[] = {
    {"os.system", K_SHELL},
    {"os.popen", K_SHELL},
    {"subprocess.getoutput", K_SHELL},
    {"subprocess.getstatusoutput", K_SHELL},
    {"subprocess.run", K_ARGV_OR_SHELL},
    {"subprocess.call", K_ARGV_OR_SHELL},
    {"subprocess.check_call", K_ARGV_OR_SHELL},
    {"subprocess.check_output", K_ARGV_OR_SHELL},
    {"subprocess.Popen", K_ARGV_OR_SHELL},
    {"pty.spawn", K_ARGV_OR_SHELL},
    {"execSync", K_SHELL},
    {"execFileSync", K_ARGV_OR_SHELL},
    {"spawnSync", K_ARGV_OR_SHELL},
    {"child_process.exec", K_SHELL},
    {"system", K_SHELL},
    {"shell_exec", K_SHELL},
    {"passthru", K_SHELL},
    {"popen", K_SHELL},
    {"proc_open", K_SHELL},
    {"os.execute", K_SHELL},
    {"io.popen", K_SHELL},
    {"Open3.capture2", K_SHELL},
    {"Open3.capture3", K_SHELL},
    {"Open3.popen3", K_SHELL},
    {"exec", K_EVAL},
    {"eval", K_EVAL},
    {"compile", K_EVAL},
    {"Function", K_EVAL},
    {"shutil.rmtree", K_RMTREE},
    {"rmtree", K_RMTREE},
    {"remove_tree", K_RMTREE},
    {"FileUtils.rm_rf", K_RMTREE},
    {"FileUtils.rm_r", K_RMTREE},
    {"rmSync", K_RMTREE},
    {"rmdirSync", K_RMTREE},
    {"fs.rm", K_RMTREE},
    {"os.remove", K_REMOVE},
    {"os.unlink", K_REMOVE},
    {"unlinkSync", K_REMOVE},
    {"unlink", K_REMOVE},
    {"File.delete", K_REMOVE},
    {"open", K_OPEN},
    {"readFileSync", K_READ},
    {"File.read", K_READ},
    {"file_get_contents", K_READ},
    {"readfile", K_READ},
    {"fopen", K_READ},
    {"File.readlines", K_READ},
    {"IO.read", K_READ},
    {"IO.readlines", K_READ},
    {"readFile", K_READ},
    {"createReadStream", K_READ},
    {"read_text", K_READ},
    {"writeFileSync", K_WRITE},
    {"appendFileSync", K_WRITE},
    {"File.write", K_WRITE},
    {"file_put_contents", K_WRITE},
    {"urlopen", K_GET},
    {"urlretrieve", K_GET},
    {"requests.get", K_GET},
    {"httpx.get", K_GET},
    {"Net::HTTP.get", K_GET},
    {"LWP::Simple::get", K_GET},
    {"requests.post", K_POST},
    {"requests.put", K_POST},
    {"httpx.post", K_POST},
    {"Net::HTTP.post_form", K_POST},
    {"Net::HTTP.post", K_POST},
    {"fetch", K_FETCH},
};

typedef struct {
  parser *p;
  int k;
  const char *interp;
  strbuf out;  /* the equivalent shell text */
  bool opaque; /* something that runs code could not be read */
  bool ok;
  int depth;
} reader;

static bool ident_char(char c) { return is_name_char((unsigned char)c) || c == '.' || c == ':' || c == '$'; }

static const char *skip_space(const char *s, const char *end) {
  while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
    s++;
  return s;
}

static const char *home_expr(const char *s, const char *end);

/* a string literal at s: its value in out; returns the end, or NULL.  The
 * home directory interpolated into a double-quoted string ("$ENV{HOME}/x",
 * "#{Dir.home}/x", "{$_SERVER['HOME']}/x") is "~"; other interpolation is
 * not literal. */
static const char *literal(const char *s, const char *end, strbuf *out, bool *ok) {
  if (s >= end || (*s != '\'' && *s != '"' && *s != '`'))
    return NULL;
  char q = *s++;
  if (q != '`' && end - s >= 2 && s[0] == q && s[1] == q) { /* python triple quotes */
    const char *e = memmem(s + 2, (size_t)(end - s - 2), (char[]){q, q, q}, 3);
    if (e == NULL)
      return NULL;
    *ok &= al_sh_sb_putn(out, s + 2, (size_t)(e - s - 2));
    return e + 3;
  }
  while (s < end && *s != q) {
    const char *h;
    if (q == '"' && *s == '$' && (h = home_expr(s, end))) {
      *ok &= al_sh_sb_putc(out, '~');
      s = h;
      continue;
    }
    if (q != '\'' && *s == '#' && end - s > 2 && s[1] == '{' && (h = home_expr(s + 2, end)) && h < end && *h == '}') {
      *ok &= al_sh_sb_putc(out, '~');
      s = h + 1;
      continue;
    }
    if (q == '"' && *s == '{' && end - s > 1 && s[1] == '$' && (h = home_expr(s + 1, end)) && h < end && *h == '}') {
      *ok &= al_sh_sb_putc(out, '~');
      s = h + 1;
      continue;
    }
    if (q == '"' && *s == '$' && s + 1 < end && (s[1] == '{' || is_name_start((unsigned char)s[1])))
      return NULL; /* interpolation (perl, php, ruby #{}) is not literal */
    if (*s == '#' && s + 1 < end && s[1] == '{' && q != '\'')
      return NULL;
    if (q == '`' && *s == '$' && s + 1 < end && s[1] == '{')
      return NULL;
    if (*s == '\\' && s + 1 < end) {
      char c = s[1];
      *ok &= al_sh_sb_putc(out, c == 'n' ? '\n' : c == 't' ? '\t' : c);
      s += 2;
      continue;
    }
    *ok &= al_sh_sb_putc(out, *s++);
  }
  return s < end ? s + 1 : NULL;
}

/* the home directory however a language spells it */
static const char *home_expr(const char *s, const char *end) {
  static const char *const homes[] = {
      "os.path.expanduser('~')",
      "os.path.expanduser(\"~\")",
      "expanduser('~')",
      "expanduser(\"~\")",
      "Path.home()",
      "pathlib.Path.home()",
      "os.homedir()",
      "require('os').homedir()",
      "process.env.HOME",
      "os.environ['HOME']",
      "os.environ[\"HOME\"]",
      "os.getenv('HOME')",
      "os.getenv(\"HOME\")",
      "$ENV{HOME}",
      "ENV['HOME']",
      "ENV[\"HOME\"]",
      "Dir.home",
      "getenv('HOME')",
      "getenv(\"HOME\")",
      "$_SERVER['HOME']",
      "$_SERVER[\"HOME\"]",
      "$_ENV['HOME']",
      "process.env['HOME']",
      "process.env[\"HOME\"]",
      "os.environ.get('HOME')",
      "os.environ.get(\"HOME\")",
      "ENV.fetch('HOME')",
      "ENV.fetch(\"HOME\")",
      "System.getenv(\"HOME\")",
  };
  for (size_t i = 0; i < sizeof(homes) / sizeof(homes[0]); i++) {
    size_t l = strlen(homes[i]);
    if ((size_t)(end - s) >= l && strncmp(s, homes[i], l) == 0)
      return s + l;
  }
  return NULL;
}

/* an expression made of literals, home and joins: its value in out */
static const char *expr(const char *s, const char *end, strbuf *out, bool *ok, int depth) {
  s = skip_space(s, end);
  const char *e;
  if (depth > 4)
    return NULL;
  if ((e = home_expr(s, end))) {
    *ok &= al_sh_sb_putc(out, '~');
  } else if ((e = literal(s, end, out, ok))) {
    while (skip_space(e, end) < end && (*skip_space(e, end) == '\'' || *skip_space(e, end) == '"'))
      if (!(e = literal(skip_space(e, end), end, out, ok))) /* 'a' 'b' */
        return NULL;
  } else {
    static const char *const wraps[] = {"os.path.expanduser(", "expanduser(", "os.path.join(", "path.join(", "Path(",
                                        "File.expand_path(",   "str(",        "URI("};
    e = NULL;
    for (size_t i = 0; !e && i < sizeof(wraps) / sizeof(wraps[0]); i++) {
      size_t l = strlen(wraps[i]);
      if ((size_t)(end - s) < l || strncmp(s, wraps[i], l) != 0)
        continue;
      bool join = strstr(wraps[i], "join") != NULL;
      const char *a = s + l;
      for (bool first = true;; first = false) {
        if (!first && join)
          *ok &= al_sh_sb_putc(out, '/');
        a = expr(a, end, out, ok, depth + 1);
        if (a == NULL)
          return NULL;
        a = skip_space(a, end);
        if (a < end && *a == ',' && join) {
          a++;
          continue;
        }
        break;
      }
      if (a >= end || *a != ')')
        return NULL;
      e = a + 1;
    }
    if (e == NULL)
      return NULL;
  }
  const char *n = skip_space(e, end);
  if (n < end && (*n == '+' || (*n == '.' && n + 1 < end && (n[1] == ' ' || n[1] == '\'' || n[1] == '"'))))
    return expr(n + 1, end, out, ok, depth + 1);
  return e;
}

static bool emit_word(reader *r, const char *w) {
  bool ok = al_sh_sb_putc(&r->out, '\'');
  for (; *w; w++)
    ok &= *w == '\'' ? al_sh_sb_putn(&r->out, "'\\''", 4) : al_sh_sb_putc(&r->out, *w);
  return ok && al_sh_sb_putc(&r->out, '\'');
}

/* one command line: words, then optionally a final word already sh text */
static void emit(reader *r, const char *const *words, const char *tail) {
  for (size_t i = 0; words[i]; i++)
    r->ok &= (i == 0 || al_sh_sb_putc(&r->out, ' ')) && emit_word(r, words[i]);
  if (tail)
    r->ok &= al_sh_sb_putc(&r->out, ' ') && al_sh_sb_putn(&r->out, tail, strlen(tail));
  r->ok &= al_sh_sb_putc(&r->out, '\n');
}

/* [ 'a', 'b' ] as sh words */
static const char *list_words(reader *r, const char *s, const char *end) {
  s = skip_space(s, end);
  if (s >= end || (*s != '[' && *s != '('))
    return NULL;
  char close = *s == '[' ? ']' : ')';
  s++;
  for (bool first = true;; first = false) {
    s = skip_space(s, end);
    if (s < end && *s == close)
      break;
    strbuf w;
    al_sh_sb_init(&w);
    const char *e = expr(s, end, &w, &r->ok, 0);
    bool put = e && al_sh_sb_putc(&w, '\0');
    if (put)
      r->ok &= (first || al_sh_sb_putc(&r->out, ' ')) && emit_word(r, w.buf);
    al_sh_sb_free(&w);
    if (!put)
      return NULL;
    s = skip_space(e, end);
    if (s < end && *s == ',')
      s++;
    else if (s >= end || *s != close)
      return NULL;
  }
  r->ok &= al_sh_sb_putc(&r->out, '\n');
  return s + 1;
}

/* the end of one argument of a list: the next top-level comma, or end */
static const char *arg_end(const char *s, const char *end) {
  int level = 0;
  for (char q = 0; s < end; s++) {
    if (q) {
      if (*s == '\\')
        s++;
      else if (*s == q)
        q = 0;
    } else if (*s == '\'' || *s == '"' || *s == '`') {
      q = *s;
    } else if (*s == '(' || *s == '[' || *s == '{') {
      level++;
    } else if (*s == ')' || *s == ']' || *s == '}') {
      if (--level < 0)
        return s;
    } else if (*s == ',' && level == 0) {
      return s;
    }
  }
  return end;
}

/* 'a', 'b', 'c' up to end (perl and ruby system LIST, exec LIST): the
 * words of one command when the command word is literal (a computed
 * argument becomes an unknown word) */
static bool arg_words(reader *r, const char *s, const char *end) {
  strbuf line;
  al_sh_sb_init(&line);
  bool ok = true, all = true, first_plain = false;
  size_t n = 0;
  for (s = skip_space(s, end); all && s < end; n++) {
    strbuf w;
    al_sh_sb_init(&w);
    const char *e = expr(s, end, &w, &ok, 0);
    all = e != NULL && al_sh_sb_putc(&w, '\0');
    if (!all && n > 0 && first_plain && (e = arg_end(s, end)) > s) {
      /* system("sudo", "usermod", ENV["USER"]): a computed argument is an
       * unknown word; the command and the literal words are still read */
      ok &= al_sh_sb_putn(&line, " \"$AL_COMPUTED\"", 15);
      s = skip_space(e, end);
      if (s < end && *s == ',')
        s = skip_space(s + 1, end);
      all = true;
      al_sh_sb_free(&w);
      continue;
    }
    if (all) {
      if (n == 0) /* a program's name, not a shell string with options after it (execSync(CMD, {...})) */
        first_plain = w.buf[0] != '\0' && strpbrk(w.buf, " \t\n;|&<>$`'\"") == NULL;
      ok &= n == 0 || al_sh_sb_putc(&line, ' ');
      ok &= al_sh_sb_putc(&line, '\'');
      for (const char *c = w.buf; *c; c++)
        ok &= *c == '\'' ? al_sh_sb_putn(&line, "'\\''", 4) : al_sh_sb_putc(&line, *c);
      ok &= al_sh_sb_putc(&line, '\'');
      s = skip_space(e, end);
      if (s < end && *s == ',')
        s = skip_space(s + 1, end);
      else if (s < end)
        all = false;
    }
    al_sh_sb_free(&w);
  }
  all &= n > 1 && ok;
  if (all)
    r->ok &= al_sh_sb_putn(&r->out, line.buf, line.len) && al_sh_sb_putc(&r->out, '\n');
  al_sh_sb_free(&line);
  return all;
}

static bool mentions(const char *s, const char *end, const char *what) {
  return memmem(s, (size_t)(end - s), what, strlen(what)) != NULL;
}

/* the text of the call's arguments: from after ( to the matching ) */
static const char *call_end(const char *s, const char *end) {
  int level = 1;
  char q = 0;
  for (; s < end; s++) {
    if (q) {
      if (*s == '\\')
        s++;
      else if (*s == q)
        q = 0;
      continue;
    }
    if (*s == '\'' || *s == '"' || *s == '`')
      q = *s;
    else if (*s == '(' || *s == '[' || *s == '{')
      level++;
    else if ((*s == ')' || *s == ']' || *s == '}') && --level == 0)
      return s;
  }
  return end;
}

/* the end of a call written without parentheses (perl, ruby: system "cmd";):
 * the next ; or newline, or the brace closing the block it is in */
static const char *statement_end(const char *s, const char *end) {
  const char *e = call_end(s, end);
  for (const char *t = s; t < e; t++) {
    if (*t == '\'' || *t == '"' || *t == '`') { /* a string: skipped whole */
      char q = *t;
      for (t++; t < e && *t != q; t++)
        if (*t == '\\')
          t++;
      continue;
    }
    if (*t == ';' || *t == '\n')
      return t;
  }
  return e;
}

static void read_code(reader *r, const char *s, const char *end);

static void one_call(reader *r, int kind, const char *args, const char *aend) {
  strbuf v;
  al_sh_sb_init(&v);
  const char *e = expr(args, aend, &v, &r->ok, 0);
  bool lit = e != NULL && al_sh_sb_putc(&v, '\0');
  const char *val = lit ? v.buf : NULL;
  bool env = mentions(args, aend, "environ") || mentions(args, aend, "process.env") || mentions(args, aend, "ENV");
  switch (kind) {
  case K_SHELL:
    if (val && e && skip_space(e, aend) < aend && *skip_space(e, aend) == ',' && arg_words(r, args, aend))
      break; /* system("sudo", "iptables", "-F"): a list of words, not a shell string */
    if (val)
      r->ok &= al_sh_sb_putn(&r->out, val, strlen(val)) && al_sh_sb_putc(&r->out, '\n');
    else if (!list_words(r, args, aend))
      r->opaque = true;
    break;
  case K_ARGV_OR_SHELL:
    if (val)
      r->ok &= al_sh_sb_putn(&r->out, val, strlen(val)) && al_sh_sb_putc(&r->out, '\n');
    else if (!list_words(r, args, aend))
      r->opaque = true;
    break;
  case K_EVAL:
    if (mentions(args, aend, "urlopen") || mentions(args, aend, "requests.get") || mentions(args, aend, "fetch(") ||
        mentions(args, aend, "http")) {
      /* exec(urlopen(URL).read()): downloaded code run by the interpreter */
      r->ok &= al_sh_sb_putn(&r->out, "curl -fsSL https://remote.invalid/ | ", 37) && emit_word(r, r->interp) &&
               al_sh_sb_putc(&r->out, '\n');
    } else if (val && r->depth < 3) {
      r->depth++;
      read_code(r, val, val + strlen(val));
      r->depth--;
    } else if (!val) {
      r->opaque = true;
    }
    break;
  case K_RMTREE:
  case K_REMOVE:
    if (val)
      emit(r, (const char *[]){"rm", kind == K_RMTREE ? "-rf" : "-f", "--", val, NULL}, NULL);
    else
      r->opaque = true;
    break;
  case K_OPEN: {
    if (!val)
      break;
    const char *mode = e ? skip_space(e, aend) : aend;
    bool write = mode < aend && *mode == ',' &&
                 (mentions(mode, aend, "'w") || mentions(mode, aend, "\"w") || mentions(mode, aend, "'a") ||
                  mentions(mode, aend, "\"a"));
    if (val[0] == '>' || val[0] == '<' || val[0] == '|' || val[strlen(val) - 1] == '|') { /* perl open */
      if (val[strlen(val) - 1] == '|' || val[0] == '|')
        r->ok &= al_sh_sb_putn(&r->out, val + (val[0] == '|'), strlen(val) - 1) && al_sh_sb_putc(&r->out, '\n');
      break;
    }
    emit(r, (const char *[]){write ? "tee" : "cat", "--", val, NULL}, write ? "</dev/null" : NULL);
    break;
  }
  case K_READ:
    if (val)
      emit(r, (const char *[]){strncmp(val, "http", 4) == 0 ? "curl" : "cat", val, NULL}, NULL);
    break;
  case K_WRITE:
    if (val)
      emit(r, (const char *[]){"tee", "--", val, NULL}, "</dev/null");
    break;
  case K_GET:
    if (val)
      emit(r, (const char *[]){"curl", "-fsSL", val, NULL}, NULL);
    break;
  case K_POST:
  case K_FETCH: {
    bool post = kind == K_POST || mentions(args, aend, "POST") || mentions(args, aend, "body");
    if (!val)
      break;
    if (post && env)
      r->ok &= al_sh_sb_putn(&r->out, "printenv | ", 11);
    emit(r, post ? (const char *[]){"curl", "-d", "@-", val, NULL} : (const char *[]){"curl", "-fsSL", val, NULL},
         NULL);
    break;
  }
  }
  al_sh_sb_free(&v);
}

static void read_code(reader *r, const char *s, const char *end) {
  for (const char *c = s; c < end; c++) {
    /* backticks run a shell in perl, ruby and php; %x( ) and qx{ } too */
    if (*c == '`' || (c + 2 < end && ((c[0] == '%' && c[1] == 'x') || (c[0] == 'q' && c[1] == 'x')) &&
                      strchr("({[|/", c[2]) && (c == s || !ident_char(c[-1])))) {
      char open = *c == '`' ? '`' : c[2];
      char close = open == '(' ? ')' : open == '{' ? '}' : open == '[' ? ']' : open;
      const char *b = c + (*c == '`' ? 1 : 3);
      const char *e = memchr(b, close, (size_t)(end - b));
      if (e == NULL)
        return;
      if (memchr(b, '$', (size_t)(e - b)) || memmem(b, (size_t)(e - b), "#{", 2))
        r->opaque = true;
      else
        r->ok &= al_sh_sb_putn(&r->out, b, (size_t)(e - b)) && al_sh_sb_putc(&r->out, '\n');
      c = e;
      continue;
    }
    if (*c == '\'' || *c == '"') { /* awk: "cmd" | getline, print | "cmd" */
      strbuf v;
      al_sh_sb_init(&v);
      const char *e = literal(c, end, &v, &r->ok);
      if (e == NULL) {
        al_sh_sb_free(&v);
        continue;
      }
      const char *n = skip_space(e, end);
      const char *b = c - 1;
      while (b > s && (*b == ' ' || *b == '\t'))
        b--;
      if (strcmp(r->interp, "awk") == 0 &&
          ((n < end && *n == '|' && (n + 1 >= end || n[1] != '|')) || (b >= s && *b == '|' && c > s)))
        r->ok &= al_sh_sb_putn(&r->out, v.buf ? v.buf : "", v.len) && al_sh_sb_putc(&r->out, '\n');
      al_sh_sb_free(&v);
      c = e - 1;
      continue;
    }
    if (c > s && ident_char(c[-1]))
      continue;
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
      size_t l = strlen(common[i].name);
      const char *n = c + l;
      if ((size_t)(end - c) <= l || strncmp(c, common[i].name, l) != 0 || ident_char(*n))
        continue;
      /* a method of anything: x.system( ... only for the qualified names */
      n = skip_space(n, end);
      bool bare = n > c + l && n < end && (*n == '\'' || *n == '"') &&
                  (strcmp(r->interp, "perl") == 0 || strncmp(r->interp, "ruby", 4) == 0);
      if (bare) { /* perl and ruby call without parentheses: system "cmd" */
        one_call(r, common[i].kind, n, statement_end(n, end));
        break;
      }
      if (n >= end || *n != '(')
        continue;
      const char *aend = call_end(n + 1, end);
      one_call(r, common[i].kind, n + 1, aend);
      break;
    }
    /* a qualified call whose receiver is computed: __import__('os').system( */
    if (*c == '.' && c > s && c[-1] == ')' && c + 1 < end) {
      static const struct {
        const char *name;
        int kind;
      } methods[] = {
          {".system(", K_SHELL},        {".popen(", K_SHELL},         {".execSync(", K_SHELL},
          {".exec(", K_SHELL},          {".spawnSync(", K_SHELL},     {".rmtree(", K_RMTREE},
          {".rmSync(", K_RMTREE},       {".rmdirSync(", K_RMTREE},    {".unlinkSync(", K_REMOVE},
          {".readFileSync(", K_READ},   {".writeFileSync(", K_WRITE}, {".appendFileSync(", K_WRITE},
      };
      for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        size_t l = strlen(methods[i].name);
        if ((size_t)(end - c) > l && strncmp(c, methods[i].name, l) == 0) {
          const char *aend = call_end(c + l, end);
          one_call(r, methods[i].kind, c + l, aend);
          break;
        }
      }
    }
  }
}

int al_sh_inline_code(parser *p, int k, const char *language, const char *code) {
  reader r = {.p = p, .k = k, .ok = true};
  r.interp = strcmp(language, "awk") == 0 ? "awk" : p->sh->segs[k].name;
  al_sh_sb_init(&r.out);
  read_code(&r, code, code + strlen(code));
  if (!r.ok) {
    al_sh_sb_free(&r.out);
    return al_sh_fail_nomem(p);
  }
  if (r.opaque)
    p->sh->segs[k].flags |= AL_SEG_CODE_OPAQUE;
  int rc = 0;
  if (r.out.len) {
    char *text = al_sh_pdup(p, r.out.buf, r.out.len);
    rc = text ? al_sh_parse_code(p, k, text, 0) : al_sh_fail_nomem(p);
    /* what the program runs is its own business: its text need not be valid sh */
    p->sh->segs[k].flags &= ~AL_SEG_CODE_PARSED;
  }
  al_sh_sb_free(&r.out);
  return rc;
}
