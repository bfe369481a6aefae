/* SPDX-License-Identifier: Apache-2.0 */
/* test_node_log.c - the node's log lines (node_log.c): the text form stays
 * one line whatever a value holds, the JSON form parses with its fields in
 * order, empty fields are left out, levels filter, bad format and level
 * names are refused by name.  The lines go to stderr, which each test
 * points at a temporary file and reads back. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node_log.h"

static FILE *capture;
static int saved_stderr = -1;

static void start_capture(void) {
  fflush(stderr);
  capture = tmpfile();
  assert_non_null(capture);
  saved_stderr = dup(STDERR_FILENO);
  assert_true(saved_stderr >= 0);
  assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
}

/* what was logged since start_capture (malloc'd) */
static char *end_capture(void) {
  fflush(stderr);
  dup2(saved_stderr, STDERR_FILENO);
  close(saved_stderr);
  long len = ftell(capture);
  assert_true(len >= 0);
  char *out = calloc(1, (size_t)len + 1);
  assert_non_null(out);
  rewind(capture);
  assert_int_equal(fread(out, 1, (size_t)len, capture), (size_t)len);
  fclose(capture);
  return out;
}

static void test_text(void **state) {
  (void)state;
  al_log_setup(AL_LOG_TEXT, AL_LOG_INFO);
  start_capture();
  al_log_fields(AL_LOG_INFO, "exec end", AL_LOG_STR("tenant", "alice"), AL_LOG_STR("sandbox", ""),
                AL_LOG_STR("exec", "ex_1"), AL_LOG_INT("exit", -1), AL_LOG_STR("note", "two words"),
                AL_LOG_STR("kill_reason", NULL));
  al_log_fields(AL_LOG_WARN, "bad\nline", AL_LOG_STR("path", "/a\"b\\c\r\nforged=1"));
  al_logf(AL_LOG_DEBUG, "not at info");
  al_logf(AL_LOG_ERROR, "plain %d", 42);
  char *out = end_capture();
  assert_string_equal(out, "airlock node: exec end tenant=alice exec=ex_1 exit=-1 note=\"two words\"\n"
                           "airlock node: bad\\x0aline path=\"/a\\\"b\\\\c\\x0d\\x0aforged=1\"\n"
                           "airlock node: plain 42\n");
  free(out);
}

static void test_json(void **state) {
  (void)state;
  al_log_setup(AL_LOG_JSON, AL_LOG_DEBUG);
  start_capture();
  al_log_fields(AL_LOG_INFO, "request", AL_LOG_STR("method", "POST"), AL_LOG_INT("status", 200),
                AL_LOG_STR("tenant", NULL), AL_LOG_STR("path", "/v1/\xff\nx"));
  al_logf(AL_LOG_DEBUG, "debug %s", "on");
  char *out = end_capture();
  char *second = strchr(out, '\n');
  assert_non_null(second);
  *second++ = '\0';
  json_error_t jerr;
  json_t *a = json_loads(out, 0, &jerr);
  assert_non_null(a);
  const char *keys[] = {"ts", "level", "msg", "method", "status", "path"};
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach(a, k, v) {
    assert_true(i < sizeof(keys) / sizeof(keys[0]));
    assert_string_equal(k, keys[i++]); /* stable order; tenant (NULL) left out */
  }
  assert_int_equal(i, sizeof(keys) / sizeof(keys[0]));
  assert_string_equal(json_string_value(json_object_get(a, "level")), "info");
  assert_int_equal(json_integer_value(json_object_get(a, "status")), 200);
  assert_string_equal(json_string_value(json_object_get(a, "path")), "/v1/?\nx"); /* not UTF-8: '?' */
  const char *ts = json_string_value(json_object_get(a, "ts"));
  assert_non_null(ts);
  assert_int_equal(strlen(ts), strlen("2026-01-02T03:04:05.678Z"));
  assert_int_equal(ts[10], 'T');
  assert_int_equal(ts[23], 'Z');
  json_decref(a);
  json_t *b = json_loads(second, 0, &jerr);
  assert_non_null(b);
  assert_string_equal(json_string_value(json_object_get(b, "level")), "debug");
  assert_string_equal(json_string_value(json_object_get(b, "msg")), "debug on");
  json_decref(b);
  free(out);
}

static void test_levels(void **state) {
  (void)state;
  al_log_setup(AL_LOG_TEXT, AL_LOG_WARN);
  assert_true(al_log_enabled(AL_LOG_ERROR));
  assert_true(al_log_enabled(AL_LOG_WARN));
  assert_false(al_log_enabled(AL_LOG_INFO));
  start_capture();
  al_logf(AL_LOG_INFO, "hidden");
  al_logf(AL_LOG_WARN, "shown");
  char *out = end_capture();
  assert_string_equal(out, "airlock node: shown\n");
  free(out);
}

static void test_parse(void **state) {
  (void)state;
  al_log_format f;
  al_log_level l;
  airlock_error *err = NULL;
  assert_int_equal(al_log_format_parse("json", &f, "--log-format", &err), 0);
  assert_int_equal(f, AL_LOG_JSON);
  assert_int_equal(al_log_format_parse("auto", &f, "--log-format", &err), 0);
  assert_int_equal(f, AL_LOG_AUTO);
  assert_int_equal(al_log_level_parse("debug", &l, "--log-level", &err), 0);
  assert_int_equal(l, AL_LOG_DEBUG);
  assert_int_equal(al_log_format_parse("xml", &f, "--log-format", &err), -1);
  assert_non_null(strstr(err->msg, "--log-format"));
  assert_non_null(strstr(err->msg, "'xml'"));
  airlock_error_free(&err);
  assert_int_equal(al_log_level_parse(NULL, &l, "node config key 'log.level'", &err), -1);
  assert_non_null(strstr(err->msg, "log.level"));
  airlock_error_free(&err);
}

/* "journal" asked for where there is no journal: text on stderr, and said */
static void test_journal_fallback(void **state) {
  (void)state;
  if (access("/run/systemd/journal/socket", F_OK) == 0)
    skip(); /* a journal is there: its lines go to it, not to stderr */
  start_capture();
  al_log_setup(AL_LOG_JOURNAL, AL_LOG_INFO);
  assert_int_equal(al_log_format_used(), AL_LOG_TEXT);
  al_log_fields(AL_LOG_INFO, "exec end", AL_LOG_STR("exec", "ex_2"));
  char *out = end_capture();
  assert_string_equal(out, "airlock node: log format journal: no journal at /run/systemd/journal/socket; "
                           "logging text to stderr\n"
                           "airlock node: exec end exec=ex_2\n");
  free(out);
}

/* auto: journal only when JOURNAL_STREAM names stderr's own device and inode */
static void test_auto(void **state) {
  (void)state;
  bool journal = access("/run/systemd/journal/socket", W_OK) == 0;
  start_capture();
  struct stat st;
  assert_int_equal(fstat(STDERR_FILENO, &st), 0);
  char js[64];
  snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino + 1);
  setenv("JOURNAL_STREAM", js, 1); /* another stream: stderr was redirected */
  al_log_setup(AL_LOG_AUTO, AL_LOG_INFO);
  assert_int_equal(al_log_format_used(), AL_LOG_TEXT);
  snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
  setenv("JOURNAL_STREAM", js, 1);
  al_log_setup(AL_LOG_AUTO, AL_LOG_INFO);
  unsetenv("JOURNAL_STREAM");
  char *out = end_capture();
  /* with a journal it is used; without one the fallback is said on stderr */
  assert_int_equal(al_log_format_used(), journal ? AL_LOG_JOURNAL : AL_LOG_TEXT);
  assert_true(journal ? out[0] == '\0' : strstr(out, "log format journal: no journal") != NULL);
  free(out);
}

int main(void) {
  /* auto, without JOURNAL_STREAM: text */
  unsetenv("JOURNAL_STREAM");
  al_log_setup(AL_LOG_AUTO, AL_LOG_INFO);
  if (al_log_format_used() != AL_LOG_TEXT)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text),   cmocka_unit_test(test_json),
      cmocka_unit_test(test_levels), cmocka_unit_test(test_parse),
      cmocka_unit_test(test_journal_fallback), cmocka_unit_test(test_auto),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
