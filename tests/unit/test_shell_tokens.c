/* SPDX-License-Identifier: Apache-2.0 */
/* test_shell_tokens.c - the shell reader's words with their source offsets
 * (shell_tokens.h), as redaction uses them: each word's raw bytes, its text
 * after quote removal, whether it begins a command or follows a
 * redirection, and here-document bodies as raw spans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shell_tokens.h"

typedef struct {
  al_shell sh;
  al_shell_token *t;
  size_t n;
} toks;

static void read_tokens(const char *in, toks *out) {
  airlock_error *err = NULL;
  if (al_shell_tokens(in, &out->sh, &out->t, &out->n, &err) < 0)
    fail_msg("al_shell_tokens(%s): %s", in, err ? err->msg : "?");
}

static void done(toks *t) {
  free(t->t);
  al_shell_free(&t->sh);
}

/* the raw bytes of token i */
static void assert_raw(const char *in, const al_shell_token *t, const char *want) {
  size_t n = t->end - t->start;
  if (n != strlen(want) || memcmp(in + t->start, want, n) != 0)
    fail_msg("raw '%.*s', wanted '%s'", (int)n, in + t->start, want);
}

static void test_words_and_commands(void **state) {
  (void)state;
  const char *in = "a b; c 'x y' && K=v d\"e\"f | if true; then echo z; fi";
  toks t;
  read_tokens(in, &t);
  const struct {
    const char *raw, *text;
    bool cmd_start;
  } want[] = {
      {"a", "a", true},         {"b", "b", false},         {"c", "c", true},          {"'x y'", "x y", false},
      {"K=v", "K=v", true},     {"d\"e\"f", "def", false}, {"if", "if", true},        {"true", "true", true},
      {"then", "then", true},   {"echo", "echo", true},    {"z", "z", false},         {"fi", "fi", true},
  };
  assert_int_equal(t.n, sizeof(want) / sizeof(want[0]));
  for (size_t i = 0; i < t.n; i++) {
    assert_int_equal(t.t[i].kind, AL_STOK_WORD);
    assert_raw(in, &t.t[i], want[i].raw);
    assert_string_equal(t.t[i].text, want[i].text);
    if (t.t[i].cmd_start != want[i].cmd_start)
      fail_msg("word %zu (%s): cmd_start %d", i, want[i].raw, t.t[i].cmd_start);
  }
  done(&t);
}

static void test_redirections_and_heredocs(void **state) {
  (void)state;
  const char *in = "cat > out.txt <<EOF\napi_key = \"k\"\nEOF\necho done\n";
  toks t;
  read_tokens(in, &t);
  assert_int_equal(t.n, 6);
  assert_string_equal(t.t[0].text, "cat");
  assert_true(t.t[0].cmd_start);
  assert_string_equal(t.t[1].text, "out.txt");
  assert_true(t.t[1].redir_target);
  assert_false(t.t[1].cmd_start);
  assert_string_equal(t.t[2].text, "EOF");
  assert_true(t.t[2].redir_target);
  assert_int_equal(t.t[3].kind, AL_STOK_HEREDOC);
  assert_raw(in, &t.t[3], "api_key = \"k\"\n");
  assert_string_equal(t.t[4].text, "echo");
  assert_true(t.t[4].cmd_start);
  assert_string_equal(t.t[5].text, "done");
  done(&t);

  /* <<- strips tabs before the delimiter; a missing delimiter runs to the end */
  in = "cat <<-X\n\tbody\n\tX\ncat <<Y\nrest";
  read_tokens(in, &t);
  assert_int_equal(t.t[2].kind, AL_STOK_HEREDOC);
  assert_raw(in, &t.t[2], "\tbody\n");
  assert_int_equal(t.t[t.n - 1].kind, AL_STOK_HEREDOC);
  assert_raw(in, &t.t[t.n - 1], "rest");
  done(&t);
}

static void test_refused(void **state) {
  (void)state;
  toks t;
  airlock_error *err = NULL;
  assert_int_equal(al_shell_tokens("echo 'open", &t.sh, &t.t, &t.n, &err), -1);
  assert_non_null(err);
  assert_null(t.t);
  airlock_error_free(&err);
  assert_int_equal(al_shell_tokens(NULL, &t.sh, &t.t, &t.n, &err), -1);
  airlock_error_free(&err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_words_and_commands),
      cmocka_unit_test(test_redirections_and_heredocs),
      cmocka_unit_test(test_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
