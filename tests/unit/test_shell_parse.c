/* SPDX-License-Identifier: Apache-2.0 */
/* test_shell_parse.c - the static sh reader: quoting, operators,
 * substitutions, redirections, here-docs, variables, wrappers, nested code,
 * path normalisation, limits and malformed input. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shell_parse.h"

/* --- helpers -------------------------------------------------------------------- */

static al_shell parse_ok(const char *s) {
  al_shell sh;
  airlock_error *err = NULL;
  if (al_shell_parse(s, &sh, &err) != 0)
    fail_msg("al_shell_parse(%s) failed: %s", s, err ? err->msg : "(no error)");
  assert_null(err);
  return sh;
}

static void parse_fails(const char *s, const char *want) {
  al_shell sh;
  airlock_error *err = NULL;
  int r = al_shell_parse(s, &sh, &err);
  if (r == 0)
    fail_msg("al_shell_parse(%.60s) succeeded, wanted an error with '%s'", s, want);
  assert_int_equal(r, -1);
  assert_non_null(err);
  if (strstr(err->msg, want) == NULL)
    fail_msg("al_shell_parse(%.60s): error '%s' does not mention '%s'", s, err->msg, want);
  assert_int_equal(sh.n, 0);
  assert_null(sh.segs);
  airlock_error_free(&err);
}

/* the space-joined argv of segment i */
static const char *argv_str(const al_shell *sh, size_t i) {
  static char buf[4096];
  size_t o = 0;
  buf[0] = '\0';
  for (size_t j = 0; j < sh->segs[i].argc; j++)
    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", j ? " " : "", sh->segs[i].argv[j]);
  return buf;
}

/* index of the first segment named name, or fail */
static size_t seg_named(const al_shell *sh, const char *name) {
  for (size_t i = 0; i < sh->n; i++)
    if (strcmp(sh->segs[i].name, name) == 0)
      return i;
  fail_msg("no segment named %s", name);
  return 0;
}

/* the string has exactly the given segments, in order ("|"-separated argv) */
static void segments_are(const char *s, const char *const *want, size_t n) {
  al_shell sh = parse_ok(s);
  if (sh.n != n) {
    for (size_t i = 0; i < sh.n; i++)
      print_error("  [%zu] %s\n", i, argv_str(&sh, i));
    fail_msg("%s: %zu segments, want %zu", s, sh.n, n);
  }
  for (size_t i = 0; i < n; i++)
    if (strcmp(argv_str(&sh, i), want[i]) != 0)
      fail_msg("%s: segment %zu is '%s', want '%s'", s, i, argv_str(&sh, i), want[i]);
  al_shell_free(&sh);
}

#define SEGS(s, ...)                                                                                                   \
  do {                                                                                                                 \
    const char *const w_[] = {__VA_ARGS__};                                                                            \
    segments_are(s, w_, sizeof(w_) / sizeof(w_[0]));                                                                   \
  } while (0)

/* --- quoting ---------------------------------------------------------------------- */

static void test_quote_removal(void **state) {
  (void)state;
  SEGS("r'm' -rf /", "rm -rf /");
  SEGS("\"rm\" -rf /", "rm -rf /");
  SEGS("r\\m -rf /", "rm -rf /");
  SEGS("r\"\"m -rf /", "rm -rf /");
  SEGS("\"r\"'m' -r\\f /", "rm -rf /");
  SEGS("echo 'a b' \"c d\" e\\ f", "echo a b c d e f");
  SEGS("echo \"\\$HOME \\\"q\\\" \\\\ \\x\"", "echo $HOME \"q\" \\ \\x");
  SEGS("echo '\"' \"'\"", "echo \" '");
  SEGS("echo a\\\nb", "echo ab");
  SEGS("$'\\x72\\x6d' -rf /", "rm -rf /");
  SEGS("echo $'a\\tb\\n' $'\\101\\x42'", "echo a\tb\n AB");
  /* empty quoted words are words */
  al_shell sh = parse_ok("printf '' \"\" x");
  assert_int_equal(sh.segs[0].argc, 4);
  assert_string_equal(sh.segs[0].argv[1], "");
  al_shell_free(&sh);
  SEGS("echo hi # a comment; rm -rf /", "echo hi");
  SEGS("echo a#b", "echo a#b");
}

/* --- operators ------------------------------------------------------------------------ */

static void test_operators(void **state) {
  (void)state;
  SEGS("a && b || c ; d | e |& f & g\nh", "a", "b", "c", "d", "e", "f", "g", "h");
  SEGS("a&&b||c;d|e", "a", "b", "c", "d", "e");
  SEGS("a &&\n b", "a", "b");
  SEGS("a |\n\n b", "a", "b");
  al_shell sh = parse_ok("cat f | grep x | wc -l; sleep 1 &");
  assert_int_equal(sh.n, 4);
  assert_true(sh.segs[0].flags & AL_SEG_PIPES_OUT);
  assert_false(sh.segs[0].flags & AL_SEG_PIPED_INTO);
  assert_int_equal(sh.segs[0].pipe_to, 1);
  assert_true(sh.segs[1].flags & AL_SEG_PIPED_INTO);
  assert_int_equal(sh.segs[1].pipe_from, 0);
  assert_int_equal(sh.segs[2].pipe_from, 1);
  assert_false(sh.segs[2].flags & AL_SEG_PIPES_OUT);
  assert_true(sh.segs[3].flags & AL_SEG_BACKGROUND);
  assert_false(sh.segs[2].flags & AL_SEG_BACKGROUND);
  al_shell_free(&sh);
  /* & applies to the whole and-or list before it */
  sh = parse_ok("a && b & c");
  assert_true(sh.segs[0].flags & AL_SEG_BACKGROUND);
  assert_true(sh.segs[1].flags & AL_SEG_BACKGROUND);
  assert_false(sh.segs[2].flags & AL_SEG_BACKGROUND);
  al_shell_free(&sh);
}

static void test_subshells_and_groups(void **state) {
  (void)state;
  SEGS("a && (b; c) | { d; e; } > out", "a", "b", "c", "d", "e", "");
  al_shell sh = parse_ok("(cd / && rm -rf *) ; { x; }");
  assert_true(sh.segs[0].flags & AL_SEG_SUBSHELL);
  assert_int_equal(sh.segs[0].depth, 1);
  assert_true(sh.segs[1].flags & AL_SEG_SUBSHELL);
  assert_false(sh.segs[2].flags & AL_SEG_SUBSHELL);
  assert_int_equal(sh.segs[2].depth, 1);
  al_shell_free(&sh);
  /* the subshell's last command pipes into the group's first */
  sh = parse_ok("(a; b) | { c; d; }");
  assert_int_equal(sh.segs[1].pipe_to, 2);
  assert_int_equal(sh.segs[2].pipe_from, 1);
  assert_int_equal(sh.segs[3].pipe_from, -1);
  al_shell_free(&sh);
  /* a { that is not alone is a word (brace expansion), } as an argument is a word */
  SEGS("echo {a,b}c } {", "echo ac bc } {");
  SEGS("{rm,-rf,/}", "rm -rf /");
}

static void test_compound_commands(void **state) {
  (void)state;
  SEGS("if [ -f x ]; then rm x; elif true; then :; else echo no; fi", "[ -f x ]", "rm x", "true", ":", "echo no");
  SEGS("while read l; do echo $l; done < in.txt", "read l", "echo $l", "");
  SEGS("for f in a b; do cp $f /tmp; done", "cp $f /tmp");
  SEGS("for ((i=0; i<3; i++)); do echo $i; done", "echo $i");
  SEGS("case $x in a|b) rm -rf /;; (c) echo c;; *) ;; esac; echo after", "rm -rf /", "echo c", "echo after");
  SEGS("[[ -f x && $y =~ ^(a|b)$ ]] && echo ok", "[[ -f x && $y =~ ^ ( a | b ) $", "echo ok");
  SEGS("(( x = 1 + 2 )) && echo $((x * 2))", "echo $((x * 2))");
  SEGS("! grep -q x f || echo missing", "grep -q x f", "echo missing");
  /* a for loop over one word makes the variable known */
  SEGS("for c in rm; do $c -rf /; done", "rm -rf /");
  /* function definitions: the body's segments carry the function name */
  al_shell sh = parse_ok(":(){ :|:& };:");
  assert_int_equal(sh.n, 3);
  assert_string_equal(sh.segs[0].function, ":");
  assert_string_equal(sh.segs[1].function, ":");
  assert_true(sh.segs[0].flags & AL_SEG_PIPES_OUT);
  assert_true(sh.segs[1].flags & AL_SEG_BACKGROUND);
  assert_null(sh.segs[2].function);
  al_shell_free(&sh);
  sh = parse_ok("function f { echo hi; }; f() ( echo sub ); f");
  assert_string_equal(sh.segs[0].function, "f");
  assert_string_equal(sh.segs[1].function, "f");
  assert_true(sh.segs[1].flags & AL_SEG_SUBSHELL);
  al_shell_free(&sh);
}

/* --- substitutions ------------------------------------------------------------------------ */

static void test_command_substitution(void **state) {
  (void)state;
  al_shell sh = parse_ok("$(echo rm) -rf /");
  assert_int_equal(sh.n, 2);
  size_t rm = seg_named(&sh, "rm"), echo = seg_named(&sh, "echo");
  assert_string_equal(argv_str(&sh, rm), "rm -rf /");
  assert_true(sh.segs[rm].flags & AL_SEG_DYNAMIC_COMMAND);
  assert_false(sh.segs[rm].flags & AL_SEG_UNRESOLVED_COMMAND);
  assert_true(sh.segs[echo].flags & AL_SEG_IN_SUBSTITUTION);
  assert_true(sh.segs[echo].flags & AL_SEG_FEEDS_PARENT);
  assert_int_equal(sh.segs[echo].parent, (int)rm);
  assert_int_equal(sh.segs[echo].depth, 1);
  assert_int_equal(sh.segs[rm].parent, -1);
  al_shell_free(&sh);

  /* evident outputs: echo, printf, which, command -v, base64 -d, rev, tr, xxd -r -p */
  SEGS("`printf rm` -rf /", "printf rm", "rm -rf /");
  SEGS("`which rm` -rf /", "which rm", "rm -rf /");
  SEGS("$(command -v rm) x", "command -v rm", "rm x");
  SEGS("$(printf '\\162\\155') x", "printf \\162\\155", "rm x");
  SEGS("$(printf '%s%s' r m) x", "printf %s%s r m", "rm x");
  SEGS("$(echo cm0= | base64 -d) x", "echo cm0=", "base64 -d", "rm x");
  SEGS("$(base64 -d <<< cm0=) x", "base64 -d", "rm x");
  SEGS("$(echo mr | rev) x", "echo mr", "rev", "rm x");
  SEGS("$(echo ql | tr a-y b-z) x", "echo ql", "tr a-y b-z", "rm x");
  SEGS("$(echo 726d | xxd -r -p) x", "echo 726d", "xxd -r -p", "rm x");
  /* unquoted results are split into words, quoted ones are not */
  SEGS("$(echo rm -rf /)", "echo rm -rf /", "rm -rf /");
  SEGS("\"$(echo rm -rf)\" /", "echo rm -rf", "rm -rf /");

  /* anything else is unknown: kept as text, flagged */
  sh = parse_ok("$(cat cmd.txt) -rf /");
  rm = 1;
  assert_true(sh.segs[rm].flags & AL_SEG_UNRESOLVED_COMMAND);
  assert_string_equal(sh.segs[rm].argv[0], "$(cat cmd.txt)");
  al_shell_free(&sh);
  sh = parse_ok("echo `date` $(id -u)");
  size_t e = seg_named(&sh, "echo");
  assert_true(sh.segs[e].flags & AL_SEG_UNRESOLVED_ARGS);
  assert_false(sh.segs[e].flags & AL_SEG_DYNAMIC_COMMAND);
  al_shell_free(&sh);

  /* nesting: the inner substitution's parent is the outer command */
  sh = parse_ok("echo $(a $(b))");
  size_t a = seg_named(&sh, "a"), b = seg_named(&sh, "b");
  e = seg_named(&sh, "echo");
  assert_int_equal(sh.segs[b].parent, (int)a);
  assert_int_equal(sh.segs[a].parent, (int)e);
  assert_int_equal(sh.segs[b].depth, 2);
  al_shell_free(&sh);
  /* a substitution with a ) inside quotes */
  SEGS("echo \"$(echo ')')\"", "echo )", "echo )");
  /* backquotes with escapes */
  SEGS("echo `echo \\`echo hi\\``", "echo hi", "echo hi", "echo hi");
}

static void test_process_substitution(void **state) {
  (void)state;
  al_shell sh = parse_ok("bash <(curl -s https://x) ; tee >(sh) < f");
  size_t curl = seg_named(&sh, "curl"), bash = seg_named(&sh, "bash"), s = seg_named(&sh, "sh"),
         tee = seg_named(&sh, "tee");
  assert_int_equal(sh.segs[curl].parent, (int)bash);
  assert_true(sh.segs[curl].flags & AL_SEG_FEEDS_PARENT);
  assert_string_equal(sh.segs[bash].argv[1], "/dev/fd/63");
  assert_int_equal(sh.segs[s].parent, (int)tee);
  assert_true(sh.segs[s].flags & AL_SEG_FED_BY_PARENT);
  assert_false(sh.segs[s].flags & AL_SEG_FEEDS_PARENT);
  al_shell_free(&sh);
}

/* --- redirections and here-docs -------------------------------------------------------------- */

static void test_redirections(void **state) {
  (void)state;
  al_shell sh = parse_ok("cmd > out >> app 2> err < in &> both 2>&1 <> rw >| clob 3<&0 >&- &>> all >&file");
  assert_int_equal(sh.n, 1);
  al_segment *s = &sh.segs[0];
  assert_int_equal(s->argc, 1);
  struct {
    al_redir_kind kind;
    int fd;
    const char *target;
  } want[] = {
      {AL_REDIR_OUT, 1, "out"},   {AL_REDIR_APPEND, 1, "app"}, {AL_REDIR_OUT, 2, "err"},     {AL_REDIR_IN, 0, "in"},
      {AL_REDIR_OUT, -1, "both"}, {AL_REDIR_DUP_OUT, 2, "1"},  {AL_REDIR_INOUT, 0, "rw"},    {AL_REDIR_OUT, 1, "clob"},
      {AL_REDIR_DUP_IN, 3, "0"},  {AL_REDIR_DUP_OUT, 1, "-"},  {AL_REDIR_APPEND, -1, "all"}, {AL_REDIR_OUT, -1, "file"},
  };
  assert_int_equal(s->n_redirs, sizeof(want) / sizeof(want[0]));
  for (size_t i = 0; i < s->n_redirs; i++) {
    assert_int_equal(s->redirs[i].kind, want[i].kind);
    assert_int_equal(s->redirs[i].fd, want[i].fd);
    assert_string_equal(s->redirs[i].target, want[i].target);
  }
  al_shell_free(&sh);
  /* targets after quote removal and expansion; a redirection alone is a segment */
  sh = parse_ok("> \"$HOME/.bash_history\"; echo 2>x 2 >y");
  assert_int_equal(sh.segs[0].argc, 0);
  assert_string_equal(sh.segs[0].redirs[0].target, "~/.bash_history");
  assert_string_equal(argv_str(&sh, 1), "echo 2");
  assert_int_equal(sh.segs[1].redirs[0].fd, 2);
  assert_int_equal(sh.segs[1].redirs[1].fd, 1);
  al_shell_free(&sh);
  sh = parse_ok("cat < $(mktemp)");
  assert_true(sh.segs[1].redirs[0].unresolved);
  al_shell_free(&sh);
}

static void test_heredocs(void **state) {
  (void)state;
  /* the body is skipped up to the delimiter; commands after it are read */
  al_shell sh = parse_ok("cat <<EOF > out\nrm -rf /\n$(reboot)\nEOF\necho after");
  assert_int_equal(sh.n, 2);
  assert_string_equal(sh.segs[0].redirs[0].target, "EOF");
  assert_int_equal(sh.segs[0].redirs[0].kind, AL_REDIR_HEREDOC);
  assert_string_equal(sh.segs[0].redirs[0].body, "rm -rf /\n$(reboot)\n");
  assert_string_equal(sh.segs[0].redirs[1].target, "out");
  assert_string_equal(argv_str(&sh, 1), "echo after");
  al_shell_free(&sh);
  /* <<- strips tabs before the delimiter; quoted delimiters; two here-docs on a line */
  sh = parse_ok("cat <<-'END' ; cat << \"B\"\n\tbody\n\tEND\nsecond\nB\nls");
  assert_int_equal(sh.n, 3);
  assert_string_equal(sh.segs[0].redirs[0].target, "END");
  assert_string_equal(sh.segs[0].redirs[0].body, "\tbody\n");
  assert_string_equal(sh.segs[1].redirs[0].body, "second\n");
  assert_string_equal(argv_str(&sh, 2), "ls");
  al_shell_free(&sh);
  /* an unterminated body runs to the end of the input */
  sh = parse_ok("cat <<X\nline");
  assert_string_equal(sh.segs[0].redirs[0].body, "line");
  al_shell_free(&sh);
  /* here-docs and here-strings fed to a shell are code */
  sh = parse_ok("bash <<EOF\nrm -rf /\nEOF\n");
  assert_int_equal(sh.n, 2);
  assert_true(sh.segs[0].flags & AL_SEG_CODE_PARSED);
  assert_string_equal(argv_str(&sh, 1), "rm -rf /");
  assert_int_equal(sh.segs[1].parent, 0);
  assert_true(sh.segs[1].flags & AL_SEG_NESTED);
  al_shell_free(&sh);
  sh = parse_ok("cat <<EOF | sh\nreboot\nEOF");
  assert_int_equal(sh.n, 2); /* sh has a pipe, not a here-doc: its code is not known */
  al_shell_free(&sh);
  SEGS("sh <<< 'rm -rf /'", "sh", "rm -rf /");
  SEGS("python3 - <<PY\nimport os\nPY", "python3 -");
}

/* --- variables and assignments ---------------------------------------------------------------- */

static void test_variables(void **state) {
  (void)state;
  al_shell sh = parse_ok("FOO=bar BAZ=\"a b\" cmd $FOO");
  assert_int_equal(sh.n, 1);
  assert_int_equal(sh.segs[0].n_assigns, 2);
  assert_string_equal(sh.segs[0].assigns[0], "FOO=bar");
  assert_string_equal(sh.segs[0].assigns[1], "BAZ=a b");
  /* prefix assignments do not set the variable for the command's own words */
  assert_string_equal(argv_str(&sh, 0), "cmd $FOO");
  assert_true(sh.segs[0].flags & AL_SEG_UNRESOLVED_ARGS);
  al_shell_free(&sh);

  SEGS("X=rm; $X -rf /", "", "rm -rf /");
  SEGS("X=rm && ${X} -rf /", "", "rm -rf /");
  SEGS("a=r; b=m; $a$b x", "", "", "rm x");
  SEGS("C='rm -rf /'; $C", "", "rm -rf /");
  sh = parse_ok("C='rm -rf x'; \"$C\"");
  assert_int_equal(sh.segs[1].argc, 1); /* quoted: one word, as sh would run it */
  assert_string_equal(sh.segs[1].argv[0], "rm -rf x");
  al_shell_free(&sh);
  SEGS("export X=rm; $X", "export X=rm", "rm");
  SEGS("X=rm; unset X; $X", "", "unset X", "$X");
  SEGS("X=r; X+=m; $X", "", "", "rm");
  SEGS("X=$(echo rm); $X", "echo rm", "", "rm");
  SEGS("${X:-rm} -rf /", "rm -rf /");
  SEGS("X=xrmx; ${X:1:2} ${X/x/} ${X//x/}", "", "rm rmx rm");
  SEGS("rm -rf ${HOME:?}/ ${HOME?x} ${HOME:+/} ${NOPE:?}", "rm -rf ~/ ~ / ${NOPE:?}");
  SEGS("rm${IFS}-rf${IFS}/", "rm -rf /");
  SEGS("rm -rf $HOME ${HOME}/x \"$HOME\"", "rm -rf ~ ~/x ~");
  SEGS("E=; $E rm x", "", "rm x");
  SEGS("arr=(a $(b) c); echo ${arr[0]}", "b", "", "echo ${arr[0]}");
  /* unknown variables as command words */
  sh = parse_ok("$X -rf / ; ${Y} ; $1");
  for (size_t i = 0; i < 3; i++)
    assert_true(sh.segs[i].flags & (AL_SEG_DYNAMIC_COMMAND | AL_SEG_UNRESOLVED_COMMAND));
  assert_string_equal(sh.segs[0].argv[0], "$X");
  assert_string_equal(sh.segs[1].argv[0], "${Y}");
  al_shell_free(&sh);
}

/* --- wrappers ------------------------------------------------------------------------------------ */

static void test_wrappers(void **state) {
  (void)state;
  al_shell sh = parse_ok("sudo -u root env -i FOO=1 nohup nice -n 5 timeout -s KILL 10 rm -rf /");
  assert_int_equal(sh.n, 1);
  assert_string_equal(argv_str(&sh, 0), "rm -rf /");
  assert_int_equal(sh.segs[0].n_wrappers, 5);
  const char *w[] = {"sudo", "env", "nohup", "nice", "timeout"};
  for (size_t i = 0; i < 5; i++)
    assert_string_equal(sh.segs[0].wrappers[i], w[i]);
  assert_int_equal(sh.segs[0].n_assigns, 1);
  assert_string_equal(sh.segs[0].assigns[0], "FOO=1");
  al_shell_free(&sh);
  SEGS("time -p make", "make");
  SEGS("xargs -0 -n 1 rm -f", "rm -f");
  /* lists whose content is evident: ls -d operands, find without tests */
  SEGS("ls -d /etc/* | xargs rm -rf", "ls -d /etc/*", "rm -rf", "rm -rf /etc/*");
  SEGS("find /usr/lib -type f -print0 | xargs -0 rm -f", "find /usr/lib -type f -print0", "rm -f", "rm -f /usr/lib/*");
  SEGS("find . -name '*.tmp' | xargs rm -f", "find . -name *.tmp", "rm -f");
  SEGS("ls -l /etc | xargs rm -rf", "ls -l /etc", "rm -rf");
  SEGS("ls -A | xargs rm -rf", "ls -A", "rm -rf", "rm -rf *");
  SEGS("ls /srv/app/ | xargs rm -rf", "ls /srv/app/", "rm -rf"); /* names relative to /srv/app */
  SEGS("exec rm x", "rm x");
  SEGS("command rm x", "rm x");
  SEGS("builtin cd /", "cd /");
  SEGS("stdbuf -oL busybox rm x", "rm x");
  SEGS("/usr/bin/sudo /bin/../bin/rm x", "/bin/rm x");
  /* not wrappers here */
  SEGS("command -v rm", "command -v rm");
  SEGS("sudo -i", "sudo -i");
  SEGS("env", "env");
  SEGS("env -i", "env -i");
  SEGS("nohup", "nohup");
}

/* --- code strings ---------------------------------------------------------------------------- */

static void test_nested_code(void **state) {
  (void)state;
  al_shell sh = parse_ok("bash -c \"rm -rf /; echo hi\" ; sh -ec 'ls'");
  assert_int_equal(sh.n, 5);
  assert_true(sh.segs[0].flags & AL_SEG_CODE_PARSED);
  assert_string_equal(argv_str(&sh, 1), "rm -rf /");
  assert_int_equal(sh.segs[1].parent, 0);
  assert_true(sh.segs[1].flags & AL_SEG_NESTED);
  assert_int_equal(sh.segs[1].depth, 1);
  assert_string_equal(argv_str(&sh, 4), "ls");
  al_shell_free(&sh);
  SEGS("eval 'rm' '-rf /'", "eval rm -rf /", "rm -rf /");
  SEGS("su -c 'reboot' root", "su -c reboot root", "reboot");
  SEGS("env -S 'rm -rf /'", "env -S rm -rf /", "rm -rf /");
  SEGS("watch -n 5 'ls | wc -l'", "watch -n 5 ls | wc -l", "ls", "wc -l");
  SEGS("find . -name x -exec rm -rf {} \\; -print", "find . -name x -exec rm -rf {} ; -print", "rm -rf {}");
  SEGS("find . -name '*.o' -execdir sudo sh -c 'rm \"$1\"' _ {} +",
       "find . -name *.o -execdir sudo sh -c rm \"$1\" _ {} +", "sh -c rm \"$1\" _ {}",
       "rm {}"); /* $1 is the argument after $0 */
  /* nothing picks files: {} is everything below the start point */
  SEGS("find . -execdir sudo sh -c 'rm \"$1\"' _ {} +", "find . -execdir sudo sh -c rm \"$1\" _ {} +",
       "sh -c rm \"$1\" _ ./*", "rm ./*");
  SEGS("find /srv/app/ -mindepth 1 -type f -exec shred -u {} +", "find /srv/app/ -mindepth 1 -type f -exec shred -u {} +",
       "shred -u /srv/app/*");
  SEGS("find / -maxdepth 1 -exec rm -rf {} +", "find / -maxdepth 1 -exec rm -rf {} +", "rm -rf /*");
  SEGS("bash -c 'bash -c \"rm -rf /\"'", "bash -c bash -c \"rm -rf /\"", "bash -c rm -rf /", "rm -rf /");
  sh = parse_ok("ssh -p 22 host rm -rf / ; ssh host");
  assert_int_equal(sh.n, 3);
  assert_true(sh.segs[1].flags & AL_SEG_REMOTE);
  assert_string_equal(argv_str(&sh, 1), "rm -rf /");
  al_shell_free(&sh);
  /* unknown or malformed code strings: flagged, not an error */
  sh = parse_ok("bash -c \"$CODE\"; sh -c 'echo \"unclosed'");
  assert_int_equal(sh.n, 2);
  assert_true(sh.segs[0].flags & AL_SEG_CODE_OPAQUE);
  assert_true(sh.segs[1].flags & AL_SEG_CODE_OPAQUE);
  al_shell_free(&sh);
  /* argv as execve gets it */
  char *argv1[] = {"/bin/bash", "-lc", "cd /tmp && rm -rf *", NULL};
  airlock_error *err = NULL;
  assert_int_equal(al_shell_parse_argv(argv1, &sh, &err), 0);
  assert_int_equal(sh.n, 3);
  assert_string_equal(sh.segs[0].name, "bash");
  assert_string_equal(argv_str(&sh, 2), "rm -rf *");
  al_shell_free(&sh);
  char *argv2[] = {"sudo", "-u", "x", "r'm", "a b", NULL};
  assert_int_equal(al_shell_parse_argv(argv2, &sh, &err), 0);
  assert_int_equal(sh.n, 1);
  assert_string_equal(sh.segs[0].argv[0], "r'm"); /* argv words are not re-quoted */
  assert_string_equal(sh.segs[0].argv[1], "a b");
  al_shell_free(&sh);
}

/* --- paths ------------------------------------------------------------------------------------- */

static void test_normalise(void **state) {
  (void)state;
  al_shell sh = {0};
  struct {
    const char *in, *cwd, *out;
  } cases[] = {
      {"/bin/../bin/rm", NULL, "/bin/rm"},
      {"/", NULL, "/"},
      {"//", NULL, "/"},
      {"/./", NULL, "/"},
      {"/tmp/../", NULL, "/"},
      {"/..", NULL, "/"},
      {"./build/", NULL, "build"},
      {".", NULL, "."},
      {"a/../..", NULL, ".."},
      {"../../x", NULL, "../../x"},
      {"~", NULL, "~"},
      {"~/", NULL, "~"},
      {"~/x/../.ssh/id_rsa", NULL, "~/.ssh/id_rsa"},
      {"~/..", NULL, "/home"},
      {"~user/x", NULL, "/home/user/x"},
      {"~root/.ssh", NULL, "/root/.ssh"},
      {"~root", NULL, "/root"},
      {"~user", "/etc", "/home/user"},
      {"*", "/", "/*"},
      {"x", "/etc", "/etc/x"},
      {"..", "/etc", "/"},
      {".", "~", "~"},
      {"/abs", "/etc", "/abs"},
      {"a//b/./c/", NULL, "a/b/c"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *got = al_shell_normalise_path(&sh, cases[i].in, cases[i].cwd);
    assert_non_null(got);
    if (strcmp(got, cases[i].out) != 0)
      fail_msg("normalise(%s, %s) = %s, want %s", cases[i].in, cases[i].cwd ? cases[i].cwd : "-", got, cases[i].out);
  }
  char *huge = malloc(5000);
  memset(huge, 'a', 4999);
  huge[4999] = '\0';
  assert_null(al_shell_normalise_path(&sh, huge, NULL));
  free(huge);
  al_shell_free(&sh);
  /* the command word is normalised, the name is its basename */
  sh = parse_ok("/usr/bin/./../bin/rm x; ./tools/../run.sh");
  assert_string_equal(sh.segs[0].argv[0], "/usr/bin/rm");
  assert_string_equal(sh.segs[0].name, "rm");
  assert_string_equal(sh.segs[1].argv[0], "./run.sh");
  assert_string_equal(sh.segs[1].name, "run.sh");
  al_shell_free(&sh);
}

/* --- limits and malformed input ------------------------------------------------------------- */

static void test_malformed(void **state) {
  (void)state;
  parse_fails("echo 'unclosed", "single quote");
  parse_fails("echo \"unclosed", "double quote");
  parse_fails("echo $(ls", "$( )");
  parse_fails("echo `ls", "backquote");
  parse_fails("echo ${X", "${ }");
  parse_fails("echo $'x", "$'");
  parse_fails("(ls", "( )");
  parse_fails("{ ls;", "{ }");
  parse_fails("ls )", "unexpected )");
  parse_fails("}", "unexpected }");
  parse_fails("| ls", "unexpected operator");
  parse_fails("ls |", "missing command after |");
  parse_fails("ls &&", "missing command after &&");
  parse_fails("ls && && x", "missing command after &&");
  parse_fails("; ls", "unexpected operator");
  parse_fails("ls >", "redirection without a target");
  parse_fails("f ( x", "expected )");
  parse_fails("case x in a) ls", "case");
  parse_fails("[[ -f x", "[[ ]]");
  parse_fails("echo $(( 1 + 2", "arithmetic");
  airlock_error *err = NULL;
  al_shell sh;
  assert_int_equal(al_shell_parse(NULL, &sh, &err), -1);
  airlock_error_free(&err);
  /* empty and blank input is no segments, not an error */
  sh = parse_ok("");
  assert_int_equal(sh.n, 0);
  al_shell_free(&sh);
  sh = parse_ok(" \n\t# only a comment\n");
  assert_int_equal(sh.n, 0);
  al_shell_free(&sh);
}

static void test_limits(void **state) {
  (void)state;
  /* input size */
  char *big = malloc(AL_SHELL_MAX_INPUT + 2);
  memset(big, 'a', AL_SHELL_MAX_INPUT + 1);
  big[AL_SHELL_MAX_INPUT + 1] = '\0';
  parse_fails(big, "longer than");
  big[AL_SHELL_MAX_INPUT] = '\0'; /* exactly the limit: one long word */
  al_shell sh = parse_ok(big);
  assert_int_equal(sh.n, 1);
  al_shell_free(&sh);
  free(big);
  /* nesting: 16 levels parse, 17 do not */
  char buf[512];
  for (int depth = 16; depth <= 17; depth++) {
    size_t o = 0;
    for (int i = 0; i < depth; i++)
      o += (size_t)snprintf(buf + o, sizeof(buf) - o, "echo $(");
    o += (size_t)snprintf(buf + o, sizeof(buf) - o, "x");
    for (int i = 0; i < depth; i++)
      buf[o++] = ')';
    buf[o] = '\0';
    if (depth == 16) {
      sh = parse_ok(buf);
      assert_int_equal(sh.n, 17);
      al_shell_free(&sh);
    } else {
      parse_fails(buf, "nesting deeper than 16");
    }
  }
  /* subshells count too: ( ( ... x ... ) ) seventeen deep */
  size_t o2 = 0;
  for (int i = 0; i < 17; i++)
    o2 += (size_t)snprintf(buf + o2, sizeof(buf) - o2, "( ");
  o2 += (size_t)snprintf(buf + o2, sizeof(buf) - o2, "x");
  for (int i = 0; i < 17; i++)
    o2 += (size_t)snprintf(buf + o2, sizeof(buf) - o2, " )");
  parse_fails(buf, "nesting deeper than 16");
  /* segment count: 1024 parse, 1025 do not */
  char *many = malloc(1025 * 3 + 1);
  for (int n = 1024; n <= 1025; n++) {
    size_t o = 0;
    for (int i = 0; i < n; i++)
      o += (size_t)sprintf(many + o, "a;");
    many[o] = '\0';
    if (n == 1024) {
      sh = parse_ok(many);
      assert_int_equal(sh.n, 1024);
      al_shell_free(&sh);
    } else {
      parse_fails(many, "more than 1024 segments");
    }
  }
  free(many);
  /* expansion that doubles each time stays bounded */
  char *dbl = malloc(64 * 16 + 64);
  size_t o = (size_t)sprintf(dbl, "X=aaaaaaaaaaaaaaaa;");
  for (int i = 0; i < 40; i++)
    o += (size_t)sprintf(dbl + o, "X=$X$X;");
  sprintf(dbl + o, "echo $X");
  sh = parse_ok(dbl); /* values past the cap become unknown */
  assert_true(sh.segs[sh.n - 1].flags & AL_SEG_UNRESOLVED_ARGS);
  al_shell_free(&sh);
  free(dbl);
  /* brace expansion is capped */
  sh = parse_ok("echo {a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}");
  assert_true(sh.segs[0].argc <= 1 + 64);
  al_shell_free(&sh);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quote_removal),
      cmocka_unit_test(test_operators),
      cmocka_unit_test(test_subshells_and_groups),
      cmocka_unit_test(test_compound_commands),
      cmocka_unit_test(test_command_substitution),
      cmocka_unit_test(test_process_substitution),
      cmocka_unit_test(test_redirections),
      cmocka_unit_test(test_heredocs),
      cmocka_unit_test(test_variables),
      cmocka_unit_test(test_wrappers),
      cmocka_unit_test(test_nested_code),
      cmocka_unit_test(test_normalise),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
