/* SPDX-License-Identifier: Apache-2.0 */
/* oc_run.c - the pure parts of system.run, system.run.prepare and
 * system.which: their parameters checked as the official node host checks
 * them (rawCommand against argv, environment overrides), the command text
 * and preview, the cwd mapped into the sandbox's workspace, the result with
 * the official output cap and marker, the exec.finished payload, and the
 * sandbox key of a run for the configured scope.  No I/O: fuzzed. */
#define _GNU_SOURCE
#include "openclaw.h"
#include "cleanup.h"
#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 4096
#define MAX_ENV 256

static void free_list(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

void oc_run_clear(oc_run *r) {
  free_list(r->argv);
  free_list(r->env);
  free(r->raw_command);
  free(r->cwd);
  free(r->run_id);
  free(r->session_key);
  free(r->agent_id);
  free(r->approval_decision);
  free(r->approval_source);
  json_decref(r->plan);
  memset(r, 0, sizeof(*r));
}

static char *opt_str(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  return json_is_string(v) && json_string_length(v) == strlen(json_string_value(v)) ? strdup(json_string_value(v))
                                                                                    : NULL;
}

const char *oc_shell_payload(char *const *argv) {
  static const char *const shells[] = {"sh", "bash", "dash", "zsh", "ksh", "ash"};
  if (!argv || !argv[0] || !argv[1] || !argv[2])
    return NULL;
  const char *base = strrchr(argv[0], '/');
  base = base ? base + 1 : argv[0];
  bool shell = false;
  for (size_t i = 0; i < AL_ARRAY_SIZE(shells); i++)
    shell = shell || strcmp(base, shells[i]) == 0;
  const char *f = argv[1];
  if (!shell || f[0] != '-' || !strchr(f, 'c'))
    return NULL;
  for (const char *c = f + 1; *c; c++)
    if (!strchr("lci", *c))
      return NULL;
  return argv[2];
}

char *oc_format_command(char *const *argv) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return NULL;
  for (size_t i = 0; argv && argv[i]; i++) {
    const char *a = argv[i];
    if (i)
      fputc(' ', f);
    if (!*a) {
      fputs("\"\"", f);
      continue;
    }
    bool quote = false;
    for (const char *c = a; *c; c++)
      quote = quote || isspace((unsigned char)*c) || *c == '"';
    if (!quote) {
      fputs(a, f);
      continue;
    }
    fputc('"', f);
    for (const char *c = a; *c; c++) {
      if (*c == '"')
        fputc('\\', f);
      fputc(*c, f);
    }
    fputc('"', f);
  }
  fclose(f);
  return buf;
}

/* s without leading and trailing whitespace, as a new string */
static char *trimmed(const char *s, size_t len) {
  while (len && isspace((unsigned char)*s))
    s++, len--;
  while (len && isspace((unsigned char)s[len - 1]))
    len--;
  return strndup(s, len);
}

static bool portable_name(const char *k) {
  if (!*k || isdigit((unsigned char)*k))
    return false;
  for (const char *c = k; *c; c++)
    if (!isalnum((unsigned char)*c) && *c != '_')
      return false;
  return true;
}

/* keys an override may never set (the official host's policy, abridged:
 * loaders, interpreters' search paths and start-up hooks, the shell's own) */
static bool blocked_key(const char *k) {
  static const char *const exact[] = {"PATH",
                                      "NODE_OPTIONS",
                                      "NODE_PATH",
                                      "PYTHONPATH",
                                      "PYTHONHOME",
                                      "PYTHONSTARTUP",
                                      "PERL5LIB",
                                      "PERL5OPT",
                                      "PERLLIB",
                                      "RUBYLIB",
                                      "RUBYOPT",
                                      "BASH_ENV",
                                      "ENV",
                                      "SHELL",
                                      "SHELLOPTS",
                                      "BASHOPTS",
                                      "PS4",
                                      "IFS",
                                      "GCONV_PATH",
                                      "GLIBC_TUNABLES",
                                      "SSLKEYLOGFILE",
                                      "JAVA_TOOL_OPTIONS",
                                      "_JAVA_OPTIONS",
                                      "JDK_JAVA_OPTIONS",
                                      "DOTNET_STARTUP_HOOKS",
                                      "CC",
                                      "CXX",
                                      "MAKEFLAGS",
                                      "GIT_EXEC_PATH",
                                      "GIT_DIR",
                                      "GIT_SSH",
                                      "GIT_SSH_COMMAND",
                                      "GIT_ASKPASS",
                                      "SSH_ASKPASS",
                                      "EDITOR",
                                      "VISUAL",
                                      "PROMPT_COMMAND",
                                      "HOME",
                                      "ZDOTDIR",
                                      "TMPDIR"};
  static const char *const prefixes[] = {
      "LD_",     "DYLD_", "BASH_FUNC_",   "GIT_CONFIG_",     "NPM_CONFIG_", "CARGO_REGISTRIES_",
      "TF_VAR_", "RUSTC", "CARGO_BUILD_", "OPENCLAW_GATEWAY"};
  for (size_t i = 0; i < AL_ARRAY_SIZE(exact); i++)
    if (strcmp(k, exact[i]) == 0)
      return true;
  for (size_t i = 0; i < AL_ARRAY_SIZE(prefixes); i++)
    if (strncmp(k, prefixes[i], strlen(prefixes[i])) == 0)
      return true;
  return false;
}

/* under a shell wrapper only these overrides pass; the others are dropped */
static bool shell_safe_key(const char *k) {
  static const char *const keys[] = {"TERM", "LANG", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "OPENCLAW_SUBAGENT_EXEC"};
  for (size_t i = 0; i < AL_ARRAY_SIZE(keys); i++)
    if (strcmp(k, keys[i]) == 0)
      return true;
  return strncmp(k, "LC_", 3) == 0;
}

static int parse_env(const json_t *env, oc_run *r, const char **code, airlock_error **err) {
  if (!env || json_is_null(env))
    return 0;
  if (!json_is_object(env) || json_object_size(env) > MAX_ENV) {
    *code = "INVALID_REQUEST";
    return al_err(err, 0, "env must be an object of at most %d strings", MAX_ENV);
  }
  bool shell = oc_shell_payload(r->argv) != NULL;
  char blocked[512] = "";
  size_t n = 0;
  r->env = calloc(json_object_size(env) + 1, sizeof(char *));
  if (!r->env)
    return al_err(err, ENOMEM, "env");
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)env, k, v) {
    if (!json_is_string(v) || !portable_name(k) || blocked_key(k)) {
      size_t used = strlen(blocked);
      snprintf(blocked + used, sizeof(blocked) - used, "%s%s", used ? ", " : "", portable_name(k) ? k : "?");
      continue;
    }
    if (shell && !shell_safe_key(k))
      continue;
    const char *val = json_string_value(v);
    if ((strcmp(k, "PAGER") == 0 || strcmp(k, "GIT_PAGER") == 0) && strcmp(val, "cat") == 0)
      val = "";
    if (asprintf(&r->env[n], "%s=%s", k, val) < 0)
      return al_err(err, ENOMEM, "env");
    n++;
  }
  if (*blocked) {
    *code = "INVALID_REQUEST";
    return al_err(err, 0, "SYSTEM_RUN_DENIED: environment override rejected (blocked override keys: %s)", blocked);
  }
  return 0;
}

int oc_run_parse(const json_t *params, oc_run *r, const char **code, airlock_error **err) {
  memset(r, 0, sizeof(*r));
  *code = "INVALID_REQUEST";
  const json_t *cmd = json_object_get(params, "command");
  size_t argc = json_array_size(cmd);
  if (!json_is_array(cmd) || argc == 0 || argc > MAX_ARGS)
    return al_err(err, 0, "command must be a non-empty array of strings");
  r->argv = calloc(argc + 1, sizeof(char *));
  if (!r->argv)
    return al_err(err, ENOMEM, "argv");
  for (size_t i = 0; i < argc; i++) {
    const json_t *a = json_array_get(cmd, i);
    if (!json_is_string(a) || strlen(json_string_value(a)) != json_string_length(a)) {
      oc_run_clear(r);
      return al_err(err, 0, "command must be a non-empty array of strings");
    }
    r->argv[i] = strdup(json_string_value(a));
  }
  if (!*r->argv[0]) {
    oc_run_clear(r);
    return al_err(err, 0, "command[0] is empty");
  }
  /* a field of the wrong type is refused, not read as absent: a timeout or a
   * session key the gateway meant must not silently go missing */
  static const char *const strs[] = {"rawCommand",       "cwd",           "runId", "sessionKey", "agentId",
                                     "approvalDecision", "approvalSource"};
  for (size_t i = 0; i < AL_ARRAY_SIZE(strs); i++) {
    const json_t *v = json_object_get(params, strs[i]);
    if (v && !json_is_null(v) && (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)))) {
      oc_run_clear(r);
      return al_err(err, 0, "%s must be a string", strs[i]);
    }
  }
  const json_t *t = json_object_get(params, "timeoutMs");
  if (t && !json_is_null(t) && (!json_is_number(t) || json_number_value(t) < 0 || json_number_value(t) > 1e15)) {
    oc_run_clear(r);
    return al_err(err, 0, "timeoutMs must be a number of milliseconds");
  }
  r->raw_command = opt_str(params, "rawCommand");
  r->cwd = opt_str(params, "cwd");
  r->run_id = opt_str(params, "runId");
  r->session_key = opt_str(params, "sessionKey");
  r->agent_id = opt_str(params, "agentId");
  r->suppress_notify = json_is_true(json_object_get(params, "suppressNotifyOnExit"));
  const json_t *approved = json_object_get(params, "approved");
  const json_t *plan = json_object_get(params, "systemRunPlan");
  if (approved && !json_is_null(approved) && !json_is_boolean(approved)) {
    oc_run_clear(r);
    return al_err(err, 0, "approved must be true or false");
  }
  if (plan && !json_is_null(plan) && !json_is_object(plan)) {
    oc_run_clear(r);
    return al_err(err, 0, "systemRunPlan must be an object");
  }
  r->approved = json_is_true(approved);
  r->approval_decision = opt_str(params, "approvalDecision");
  r->approval_source = opt_str(params, "approvalSource");
  r->plan = json_is_object(plan) ? json_incref((json_t *)plan) : NULL;
  if (t && json_number_value(t) >= 1)
    r->timeout_ms = (int64_t)json_number_value(t);
  if (r->raw_command) {
    _cleanup_free_ char *raw = trimmed(r->raw_command, strlen(r->raw_command));
    _cleanup_free_ char *formatted = oc_format_command(r->argv);
    const char *inline_script = oc_shell_payload(r->argv);
    _cleanup_free_ char *script = inline_script ? trimmed(inline_script, strlen(inline_script)) : NULL;
    if (!raw || !formatted || (strcmp(raw, formatted) != 0 && !(script && strcmp(raw, script) == 0))) {
      oc_run_clear(r);
      return al_err(err, 0, "rawCommand does not match command");
    }
  }
  if (parse_env(json_object_get(params, "env"), r, code, err) < 0) {
    oc_run_clear(r);
    return -1;
  }
  *code = NULL;
  return 0;
}

char *oc_sandbox_cwd(const char *cwd) {
  if (!cwd || !*cwd)
    return strdup("/workspace");
  char *out = NULL;
  if (cwd[0] != '/') {
    if (asprintf(&out, "/workspace/%s", cwd) < 0)
      return NULL;
  } else {
    bool inside = strncmp(cwd, "/workspace", 10) == 0 && (cwd[10] == '/' || cwd[10] == '\0');
    out = strdup(inside ? cwd : "/workspace");
  }
  /* no way out of the workspace by dot-dot */
  if (out && (strstr(out, "/../") || (strlen(out) >= 3 && strcmp(out + strlen(out) - 3, "/..") == 0))) {
    free(out);
    out = strdup("/workspace");
  }
  return out;
}

json_t *oc_prepare_result(const oc_run *r, const char *cwd, oc_exec_policy policy) {
  _cleanup_free_ char *text = oc_format_command(r->argv);
  const char *script = oc_shell_payload(r->argv);
  json_t *plan = json_pack("{s:o,s:s,s:s,s:s}", "argv", json_array(), "cwd", cwd, "commandText", text ? text : "",
                           "commandPreview",
                           script ? script
                           : text ? text
                                  : "");
  if (!plan)
    return NULL;
  for (size_t i = 0; r->argv[i]; i++)
    json_array_append_new(json_object_get(plan, "argv"), json_string(r->argv[i]));
  json_object_set_new(plan, "agentId", r->agent_id ? json_string(r->agent_id) : json_null());
  json_object_set_new(plan, "sessionKey", r->session_key ? json_string(r->session_key) : json_null());
  /* the gateway applies the stricter of its own policy and this one: "ask
   * always" makes it raise exec.approval.request to its approvers, "deny"
   * refuses at once without a system.run */
  const char *security = policy == OC_EXEC_DENY ? "deny" : "full";
  const char *ask = policy == OC_EXEC_ASK ? "always" : "off";
  return json_pack("{s:o,s:{s:s,s:s},s:{s:b,s:[]}}", "plan", plan, "execPolicy", "security", security, "ask", ask,
                   "allowAlwaysCoverage", "complete", 0, "patterns");
}

static bool same_string(const json_t *v, const char *s) {
  if (!s)
    return !v || json_is_null(v);
  return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

bool oc_run_human_approved(const oc_run *r, char *why, size_t len) {
  const char *d = r->approval_decision;
  if (!r->approved || !d || (strcmp(d, "allow-once") != 0 && strcmp(d, "allow-always") != 0)) {
    /* auto-review and ask-fallback are the gateway's own verdicts, not a
     * human's answer to what airlock's policy asked */
    snprintf(why, len, "approval required (%s)",
             r->approved && r->approval_source ? "not a human's decision" : "no approval for this command");
    return false;
  }
  if (!r->plan) {
    snprintf(why, len, "approval without a systemRunPlan");
    return false;
  }
  const json_t *argv = json_object_get(r->plan, "argv");
  size_t n = 0;
  while (r->argv[n])
    n++;
  bool argv_same = json_is_array(argv) && json_array_size(argv) == n;
  for (size_t i = 0; argv_same && i < n; i++)
    argv_same = same_string(json_array_get(argv, i), r->argv[i]);
  const char *field = !argv_same                                                             ? "argv"
                      : !same_string(json_object_get(r->plan, "agentId"), r->agent_id)       ? "agentId"
                      : !same_string(json_object_get(r->plan, "sessionKey"), r->session_key) ? "sessionKey"
                      : (r->cwd && !same_string(json_object_get(r->plan, "cwd"), r->cwd))    ? "cwd"
                                                                                             : NULL;
  if (field) {
    snprintf(why, len, "the approved plan's %s differs from the request", field);
    return false;
  }
  return true;
}

json_t *oc_which_result(const json_t *params, const char *path, bool (*exists)(const char *file), airlock_error **err) {
  const json_t *bins = json_object_get(params, "bins");
  if (!json_is_array(bins) || json_array_size(bins) > 256) {
    al_err(err, 0, "bins must be an array of at most 256 names");
    return NULL;
  }
  json_t *found = json_object();
  size_t i;
  const json_t *b;
  json_array_foreach(bins, i, b) {
    const char *name = json_string_value(b);
    if (!name || !*name || strchr(name, '/') || strlen(name) > 255 || strlen(name) != json_string_length(b))
      continue;
    for (const char *d = path; *d;) {
      size_t dl = strcspn(d, ":");
      char file[4096];
      if (dl && dl < 3800) {
        snprintf(file, sizeof(file), "%.*s/%s", (int)dl, d, name);
        if (exists(file)) {
          json_object_set_new(found, name, json_string(file));
          break;
        }
      }
      d += dl;
      if (*d == ':')
        d++;
    }
  }
  return json_pack("{s:o}", "bins", found);
}

static bool blank(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (!isspace((unsigned char)s[i]))
      return false;
  return true;
}

/* one stream as a JSON string, with the truncation marker when it carries it */
static json_t *output_json(const char *text, size_t len, bool marked) {
  if (!marked)
    return json_stringn_nocheck(text, len);
  _cleanup_free_ char *s = NULL;
  if (asprintf(&s, "%.*s%s", (int)len, text, OC_TRUNCATED) < 0)
    s = NULL;
  return json_string_nocheck(s ? s : "");
}

json_t *oc_run_result(const oc_outcome *o) {
  /* the marker goes on stderr when it has something to say, else on stdout */
  bool on_err = o->truncated && !blank(o->stderr_text, o->stderr_len);
  bool on_out = o->truncated && !on_err;
  json_t *out = output_json(o->stdout_text, o->stdout_len, on_out);
  json_t *errs = output_json(o->stderr_text, o->stderr_len, on_err);
  bool success = o->has_exit && o->exit_code == 0 && !o->timed_out && !o->error;
  json_t *r = json_pack("{s:b,s:b,s:o,s:o,s:o}", "timedOut", o->timed_out, "success", success, "stdout", out, "stderr",
                        errs, "error", o->error ? json_string(o->error) : json_null());
  if (r && (o->has_exit || o->timed_out))
    json_object_set_new(r, "exitCode", json_integer(o->timed_out ? 124 : o->exit_code));
  return r;
}

json_t *oc_exec_finished(const oc_run *r, const oc_outcome *o) {
  char *joined = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&joined, &len);
  if (!f)
    return NULL;
  const char *parts[3] = {o->stdout_text, o->stderr_text, o->error};
  size_t lens[3] = {o->stdout_len, o->stderr_len, o->error ? strlen(o->error) : 0};
  bool any = false;
  for (int i = 0; i < 3; i++) {
    if (!parts[i] || blank(parts[i], lens[i]))
      continue;
    if (any)
      fputc('\n', f);
    fwrite(parts[i], 1, lens[i], f);
    any = true;
  }
  fclose(f);
  _cleanup_free_ char *all = trimmed(joined ? joined : "", len);
  free(joined);
  _cleanup_free_ char *output = NULL;
  size_t al = all ? strlen(all) : 0;
  if (al > OC_FINISHED_TAIL) {
    const char *tail = all + al - OC_FINISHED_TAIL;
    while ((*tail & 0xc0) == 0x80) /* not in the middle of a character */
      tail++;
    if (asprintf(&output, "... (truncated) %s", tail) < 0)
      output = NULL;
  } else {
    output = all ? strdup(all) : NULL;
  }
  _cleanup_free_ char *text = oc_format_command(r->argv);
  bool success = o->has_exit && o->exit_code == 0 && !o->timed_out && !o->error;
  json_t *p = json_pack("{s:s,s:s,s:s,s:b,s:b,s:s,s:b}", "sessionKey", r->session_key ? r->session_key : "", "runId",
                        r->run_id ? r->run_id : "", "host", "node", "timedOut", o->timed_out, "success", success,
                        "output", output ? output : "", "suppressNotifyOnExit", r->suppress_notify);
  if (p) {
    json_object_set_new(p, "command", json_string(text ? text : ""));
    if (o->has_exit || o->timed_out)
      json_object_set_new(p, "exitCode", json_integer(o->timed_out ? 124 : o->exit_code));
  }
  return p;
}

char *oc_scope_key(const char *scope, const oc_run *r) {
  char *key = NULL;
  if (scope && strcmp(scope, "shared") == 0)
    return strdup("shared");
  if (scope && strcmp(scope, "agent") == 0) {
    const char *agent = r->agent_id;
    char buf[128] = "";
    /* session keys read "agent:<id>:..." */
    if (!agent && r->session_key && strncmp(r->session_key, "agent:", 6) == 0) {
      snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(r->session_key + 6, ":"), r->session_key + 6);
      agent = buf;
    }
    if (asprintf(&key, "agent:%s", agent && *agent ? agent : "main") < 0)
      return NULL;
    return key;
  }
  if (asprintf(&key, "session:%s", r->session_key && *r->session_key ? r->session_key : "(none)") < 0)
    return NULL;
  return key;
}
