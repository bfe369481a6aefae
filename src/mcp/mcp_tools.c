/* SPDX-License-Identifier: Apache-2.0 */
/* mcp_tools.c - the tools as a model sees them: names, descriptions that say
 * what isolation a command gets (with the limits the node gave the session's
 * sandbox when it has one), JSON Schemas of the arguments and of run's
 * result, and the check of a tools/call's arguments against them, which
 * names the field it refuses. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "mcp_priv.h"

static const struct {
  const char *name;
  mcp_tool tool;
} names[] = {
    {"run", MCP_TOOL_RUN},
    {"read_file", MCP_TOOL_READ_FILE},
    {"write_file", MCP_TOOL_WRITE_FILE},
    {"list_files", MCP_TOOL_LIST_FILES},
    {"delete_file", MCP_TOOL_DELETE_FILE},
    {"create_sandbox", MCP_TOOL_CREATE_SANDBOX},
    {"destroy_sandbox", MCP_TOOL_DESTROY_SANDBOX},
};

/* --- descriptions -------------------------------------------------------- */

static void size_text(char *buf, size_t len, json_int_t bytes) {
  if (bytes >= (1 << 30) && bytes % (1 << 30) == 0)
    snprintf(buf, len, "%lld GiB", (long long)(bytes >> 30));
  else if (bytes >= (1 << 20))
    snprintf(buf, len, "%lld MiB", (long long)(bytes >> 20));
  else
    snprintf(buf, len, "%lld bytes", (long long)bytes);
}

/* "memory 512 MiB, 1 CPU, 256 processes, 1 GiB of disk" from the sandbox's limits */
static void limits_text(al_mcp *m, char *buf, size_t len) {
  pthread_mutex_lock(&m->lock);
  json_t *l = json_object_get(m->sandbox_info, "limits");
  json_t *idle = json_object_get(m->sandbox_info, "idle_timeout_s");
  if (!json_is_object(l)) {
    snprintf(buf, len,
             "the node's sandbox defaults (512 MiB of memory, 1 CPU, 256 processes, 1 GiB of disk unless "
             "its operator changed them)");
  } else {
    char mem[32], disk[32];
    size_text(mem, sizeof(mem), json_integer_value(json_object_get(l, "memory")));
    size_text(disk, sizeof(disk), json_integer_value(json_object_get(l, "disk")));
    snprintf(buf, len, "%s of memory, %g CPU, %lld processes, %s of disk; destroyed after %lld s without a command",
             mem, json_number_value(json_object_get(l, "cpus")),
             (long long)json_integer_value(json_object_get(l, "pids")), disk, (long long)json_integer_value(idle));
  }
  pthread_mutex_unlock(&m->lock);
}

#define SANDBOX_ARG                                                                                                    \
  "sandbox", "type", "string", "description",                                                                          \
      "Id of a sandbox from create_sandbox (sb_...). Leave it out to use this session's own sandbox."
#define PATH_HELP                                                                                                      \
  "Path inside the sandbox's workspace: relative to /workspace (\"src/main.py\"), or absolute under /workspace. "      \
  "Paths outside the workspace and '..' are refused."

static json_t *tool(const char *name, const char *title, const char *desc, json_t *input, json_t *annotations) {
  return json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", name, "title", title, "description", desc, "inputSchema", input,
                   "annotations", annotations);
}

static json_t *run_tool(al_mcp *m) {
  char limits[300], desc[2400];
  limits_text(m, limits, sizeof(limits));
  snprintf(desc, sizeof(desc),
           "Run a command inside an isolated airlock sandbox (a Linux sandbox on the airlock node, not the machine "
           "you are running on) and return its exit code, stdout and stderr. Give either `command` (a shell string, "
           "run with /bin/sh -c) or `argv` (program and arguments, no shell). The sandbox persists for this session: "
           "files under /workspace, /tmp and the home directory stay between calls, and processes left in the "
           "background keep running. Isolation: the command runs as an unprivileged user with its own pid, mount, "
           "network and user namespaces, a seccomp filter and no capabilities; it sees none of the host's files but "
           "its workspace (/workspace, the default working directory) and a read-only /usr; it has no network "
           "access (loopback only) unless the node's operator allowed specific hosts through airlock's egress proxy; "
           "no variable of the caller's environment is passed in, only `env`. Limits of this sandbox: %s. The "
           "command is killed after `timeout_ms` (default 30000). Output is streamed as progress notifications "
           "when the client asks for progress; the result keeps the first %d bytes (`truncated` says when more was "
           "dropped). The node's policy may refuse a command (the result is an error naming the rule) or hold it "
           "for a human's approval (the result says how it is answered; call run again with `approval_id` once it "
           "is approved).",
           limits, MCP_RESULT_OUTPUT_MAX);
  json_t *input = json_pack(
      "{s:s, s:{s:{s:s, s:s}, s:{s:s, s:{s:s}, s:i, s:s}, s:{s:s, s:s}, s:{s:s, s:{s:s}, s:s}, s:{s:s, s:i, s:i, "
      "s:s}, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}}, s:b}",
      "type", "object", "properties", "command", "type", "string", "description",
      "Shell command line, run as /bin/sh -c COMMAND. Exactly one of command and argv.", "argv", "type", "array",
      "items", "type", "string", "minItems", 1, "description",
      "Program and arguments, run without a shell; the program is looked up in PATH.", "cwd", "type", "string",
      "description", "Absolute working directory inside the sandbox (default /workspace).", "env", "type", "object",
      "additionalProperties", "type", "string", "description",
      "Environment variables to add, {\"NAME\": \"value\"}; the base environment has PATH, HOME, LANG and TERM.",
      "timeout_ms", "type", "integer", "minimum", 1, "maximum", 604800000, "description",
      "Wall-clock limit in milliseconds (default 30000); the command is killed when it is reached.", "stdin", "type",
      "string", "description", "Text given to the command on its standard input (default: none, end of file).",
      SANDBOX_ARG, "approval_id", "type", "string", "description",
      "An approved approval (ap_...) given back with exactly the same command, after a human approved it.",
      "additionalProperties", 0);
  json_t *tool_json = tool("run", "Run a command in the sandbox", desc, input,
                           json_pack("{s:b, s:b, s:b}", "readOnlyHint", 0, "destructiveHint", 1, "openWorldHint", 0));
  json_t *output =
      json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, "
                "s:{s:s}, s:{s:s}, s:{s:[ss]}}}",
                "type", "object", "properties", "exit_code", "type", "integer", "timed_out", "type", "boolean",
                "truncated", "type", "boolean", "oom_killed", "type", "boolean", "signal", "type", "integer", "stdout",
                "type", "string", "stderr", "type", "string", "exec_id", "type", "string", "sandbox", "type", "string",
                "wall_ms", "type", "integer", "error", "type", "string", "null");
  json_object_set_new(tool_json, "outputSchema", output);
  return tool_json;
}

json_t *mcp_tools_list(al_mcp *m) {
  json_t *tools = json_array();
  json_array_append_new(tools, run_tool(m));
  json_array_append_new(
      tools,
      tool("read_file", "Read a file from the sandbox",
           "Read a file of the sandbox's workspace (/workspace). Text comes back as text; a file that is not UTF-8 "
           "text, or with encoding \"base64\", comes back base64-encoded. At most 8 MiB.",
           json_pack("{s:s, s:{s:{s:s, s:s}, s:{s:s, s:[ss], s:s}, s:{s:s, s:s}}, s:[s], s:b}", "type", "object",
                     "properties", "path", "type", "string", "description", PATH_HELP, "encoding", "type", "string",
                     "enum", "text", "base64", "description", "text (default) or base64", SANDBOX_ARG, "required",
                     "path", "additionalProperties", 0),
           json_pack("{s:b, s:b}", "readOnlyHint", 1, "openWorldHint", 0)));
  json_array_append_new(
      tools, tool("write_file", "Write a file in the sandbox",
                  "Create or overwrite a file in the sandbox's workspace (/workspace) with the given content. The "
                  "directory must exist (make it with run: mkdir -p). Binary content goes base64-encoded with "
                  "encoding \"base64\".",
                  json_pack("{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:[ss], s:s}, s:{s:s, s:s}}, s:[ss], s:b}",
                            "type", "object", "properties", "path", "type", "string", "description", PATH_HELP,
                            "content", "type", "string", "description", "The file's new content.", "encoding", "type",
                            "string", "enum", "text", "base64", "description", "text (default) or base64", SANDBOX_ARG,
                            "required", "path", "content", "additionalProperties", 0),
                  json_pack("{s:b, s:b, s:b}", "readOnlyHint", 0, "destructiveHint", 1, "openWorldHint", 0)));
  json_array_append_new(
      tools,
      tool("list_files", "List a directory of the sandbox",
           "List a directory of the sandbox's workspace (default the workspace itself): name, type (file, "
           "dir, symlink, other), size in bytes, mode and modification time of each entry.",
           json_pack("{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}}, s:b}", "type", "object", "properties", "path", "type",
                     "string", "description", PATH_HELP " Default \".\".", SANDBOX_ARG, "additionalProperties", 0),
           json_pack("{s:b, s:b}", "readOnlyHint", 1, "openWorldHint", 0)));
  json_array_append_new(
      tools, tool("delete_file", "Delete a file in the sandbox",
                  "Delete a file, a symbolic link or an empty directory of the sandbox's workspace.",
                  json_pack("{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}}, s:[s], s:b}", "type", "object", "properties", "path",
                            "type", "string", "description", PATH_HELP, SANDBOX_ARG, "required", "path",
                            "additionalProperties", 0),
                  json_pack("{s:b, s:b, s:b}", "readOnlyHint", 0, "destructiveHint", 1, "openWorldHint", 0)));
  json_array_append_new(
      tools,
      tool("create_sandbox", "Create another sandbox",
           "Create another isolated sandbox on the node, with an empty /workspace of its own, and return its id; pass "
           "it as `sandbox` to the other tools. Sandboxes made here are destroyed when the session ends. Most tasks "
           "need only the session's own sandbox.",
           json_pack("{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:i, s:s}, s:{s:s, s:{s:s}, s:s}}, s:b}", "type",
                     "object", "properties", "memory", "type", "string", "description",
                     "Memory limit such as \"512m\" or \"2g\" (default the node's).", "cpus", "type", "number",
                     "description", "CPU limit, such as 0.5 or 2 (default the node's).", "idle_timeout_s", "type",
                     "integer", "minimum", 1, "description",
                     "Destroyed after this many seconds without a command (default the node's).", "labels", "type",
                     "object", "additionalProperties", "type", "string", "description", "Free-form labels.",
                     "additionalProperties", 0),
           json_pack("{s:b, s:b}", "readOnlyHint", 0, "openWorldHint", 0)));
  json_array_append_new(
      tools,
      tool("destroy_sandbox", "Destroy a sandbox",
           "Destroy a sandbox made with create_sandbox: its processes are killed and its workspace deleted. "
           "The session's own sandbox is destroyed when the session ends.",
           json_pack("{s:s, s:{s:{s:s, s:s}}, s:[s], s:b}", "type", "object", "properties", "sandbox", "type", "string",
                     "description", "Id of the sandbox (sb_...).", "required", "sandbox", "additionalProperties", 0),
           json_pack("{s:b, s:b, s:b}", "readOnlyHint", 0, "destructiveHint", 1, "openWorldHint", 0)));
  return tools;
}

/* --- argument checks ----------------------------------------------------- */

#define FAIL(...)                                                                                                      \
  do {                                                                                                                 \
    snprintf(why, why_len, __VA_ARGS__);                                                                               \
    return -1;                                                                                                         \
  } while (0)

static bool allowed(const char *key, const char *const *keys) {
  for (; *keys; keys++)
    if (strcmp(key, *keys) == 0)
      return true;
  return false;
}

static int string_arg(json_t *args, const char *key, bool required, bool nonempty, char *why, size_t why_len) {
  json_t *v = json_object_get(args, key);
  if (v == NULL) {
    if (required)
      FAIL("arguments.%s is required", key);
    return 0;
  }
  if (!json_is_string(v) || (nonempty && json_string_length(v) == 0))
    FAIL("arguments.%s must be a %sstring", key, nonempty ? "non-empty " : "");
  if (memchr(json_string_value(v), '\0', json_string_length(v)))
    FAIL("arguments.%s must not contain NUL characters", key);
  return 0;
}

/* ids go into request paths: the node's id alphabet only (1 to 31 letters, digits, '_') */
static int id_arg(json_t *args, const char *key, char *why, size_t why_len) {
  const char *v = json_string_value(json_object_get(args, key));
  if (v == NULL)
    return 0;
  size_t n = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
  if (n == 0 || n > 31 || v[n] != '\0')
    FAIL("arguments.%s must be an id such as %s (1 to 31 letters, digits or '_')", key,
         strcmp(key, "sandbox") == 0 ? "sb_0123456789abcdef" : "ap_0123456789abcdef");
  return 0;
}

static int string_map(json_t *args, const char *key, char *why, size_t why_len) {
  json_t *v = json_object_get(args, key);
  if (v == NULL)
    return 0;
  if (!json_is_object(v))
    FAIL("arguments.%s must be an object of strings", key);
  const char *k;
  json_t *val;
  json_object_foreach(v, k, val) {
    if (!json_is_string(val))
      FAIL("arguments.%s.%.100s must be a string", key, k);
  }
  return 0;
}

static int path_arg(json_t *args, bool required, char *why, size_t why_len) {
  if (string_arg(args, "path", required, true, why, why_len) < 0)
    return -1;
  const char *p = json_string_value(json_object_get(args, "path"));
  if (p && p[0] == '/' && mcp_workspace_path(p) == NULL)
    FAIL("arguments.path must be relative to /workspace or below /workspace/, not '%.200s'", p);
  return 0;
}

static int encoding_arg(json_t *args, char *why, size_t why_len) {
  if (string_arg(args, "encoding", false, true, why, why_len) < 0)
    return -1;
  const char *e = json_string_value(json_object_get(args, "encoding"));
  if (e && strcmp(e, "text") != 0 && strcmp(e, "base64") != 0)
    FAIL("arguments.encoding must be \"text\" or \"base64\"");
  return 0;
}

static int check_run(json_t *a, char *why, size_t why_len) {
  json_t *cmd = json_object_get(a, "command"), *argv = json_object_get(a, "argv");
  if ((cmd == NULL) == (argv == NULL))
    FAIL("arguments: give exactly one of command (a shell string) and argv (an array of strings)");
  if (string_arg(a, "command", false, true, why, why_len) < 0)
    return -1;
  if (argv) {
    if (!json_is_array(argv) || json_array_size(argv) == 0 || json_array_size(argv) > 4096)
      FAIL("arguments.argv must be an array of 1 to 4096 strings");
    size_t i;
    json_t *s;
    json_array_foreach(argv, i, s) {
      if (!json_is_string(s) || memchr(json_string_value(s), '\0', json_string_length(s)))
        FAIL("arguments.argv[%zu] must be a string without NUL characters", i);
    }
    if (json_string_length(json_array_get(argv, 0)) == 0)
      FAIL("arguments.argv[0] must not be empty");
  }
  if (string_arg(a, "cwd", false, true, why, why_len) < 0 || string_arg(a, "stdin", false, false, why, why_len) < 0 ||
      string_arg(a, "approval_id", false, true, why, why_len) < 0 || string_map(a, "env", why, why_len) < 0)
    return -1;
  const char *cwd = json_string_value(json_object_get(a, "cwd"));
  if (cwd && cwd[0] != '/')
    FAIL("arguments.cwd must be an absolute path");
  json_t *t = json_object_get(a, "timeout_ms");
  if (t && (!json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > 604800000))
    FAIL("arguments.timeout_ms must be an integer from 1 to 604800000");
  return 0;
}

static int check_create(json_t *a, char *why, size_t why_len) {
  json_t *mem = json_object_get(a, "memory"), *cpus = json_object_get(a, "cpus"), *idle;
  if (mem && !json_is_string(mem) && !(json_is_integer(mem) && json_integer_value(mem) > 0))
    FAIL("arguments.memory must be a size string such as \"512m\" or a positive number of bytes");
  if (cpus && (!json_is_number(cpus) || json_number_value(cpus) <= 0))
    FAIL("arguments.cpus must be a positive number");
  idle = json_object_get(a, "idle_timeout_s");
  if (idle && (!json_is_integer(idle) || json_integer_value(idle) < 1 || json_integer_value(idle) > 2592000))
    FAIL("arguments.idle_timeout_s must be an integer from 1 to 2592000");
  return string_map(a, "labels", why, why_len);
}

int mcp_tools_check(json_t *params, mcp_tool *tool_out, json_t **args_out, char *why, size_t why_len) {
  static const char *const run_keys[] = {"command", "argv",    "cwd",         "env", "timeout_ms",
                                         "stdin",   "sandbox", "approval_id", NULL};
  static const char *const read_keys[] = {"path", "encoding", "sandbox", NULL};
  static const char *const write_keys[] = {"path", "content", "encoding", "sandbox", NULL};
  static const char *const path_keys[] = {"path", "sandbox", NULL};
  static const char *const create_keys[] = {"memory", "cpus", "idle_timeout_s", "labels", NULL};
  static const char *const destroy_keys[] = {"sandbox", NULL};
  *args_out = NULL;
  if (!json_is_object(params))
    FAIL("params must be an object with 'name' and 'arguments'");
  json_t *name = json_object_get(params, "name");
  if (!json_is_string(name))
    FAIL("params.name must be a string");
  size_t i = 0;
  while (i < AL_ARRAY_SIZE(names) && strcmp(names[i].name, json_string_value(name)) != 0)
    i++;
  if (i == AL_ARRAY_SIZE(names))
    FAIL("params.name: unknown tool '%.100s'", json_string_value(name));
  mcp_tool t = names[i].tool;
  json_t *a = json_object_get(params, "arguments");
  if (a != NULL && !json_is_object(a))
    FAIL("params.arguments must be an object");
  json_auto_t *args = a ? json_incref(a) : json_object();
  const char *const *keys = t == MCP_TOOL_RUN               ? run_keys
                            : t == MCP_TOOL_READ_FILE       ? read_keys
                            : t == MCP_TOOL_WRITE_FILE      ? write_keys
                            : t == MCP_TOOL_CREATE_SANDBOX  ? create_keys
                            : t == MCP_TOOL_DESTROY_SANDBOX ? destroy_keys
                                                            : path_keys;
  const char *k;
  json_t *v;
  json_object_foreach(args, k, v) {
    if (!allowed(k, keys))
      FAIL("arguments.%.100s is not an argument of %s", k, names[i].name);
  }
  if (string_arg(args, "sandbox", t == MCP_TOOL_DESTROY_SANDBOX, true, why, why_len) < 0 ||
      id_arg(args, "sandbox", why, why_len) < 0 || id_arg(args, "approval_id", why, why_len) < 0)
    return -1;
  switch (t) {
  case MCP_TOOL_RUN:
    if (check_run(args, why, why_len) < 0)
      return -1;
    break;
  case MCP_TOOL_READ_FILE:
    if (path_arg(args, true, why, why_len) < 0 || encoding_arg(args, why, why_len) < 0)
      return -1;
    break;
  case MCP_TOOL_WRITE_FILE:
    if (path_arg(args, true, why, why_len) < 0 || string_arg(args, "content", true, false, why, why_len) < 0 ||
        encoding_arg(args, why, why_len) < 0)
      return -1;
    break;
  case MCP_TOOL_LIST_FILES:
    if (path_arg(args, false, why, why_len) < 0)
      return -1;
    break;
  case MCP_TOOL_DELETE_FILE:
    if (path_arg(args, true, why, why_len) < 0)
      return -1;
    break;
  case MCP_TOOL_CREATE_SANDBOX:
    if (check_create(args, why, why_len) < 0)
      return -1;
    break;
  case MCP_TOOL_DESTROY_SANDBOX: break;
  }
  *tool_out = t;
  *args_out = AL_STEAL(args);
  return 0;
}

const char *mcp_workspace_path(const char *path) {
  if (path[0] != '/')
    return path;
  if (strcmp(path, "/workspace") == 0 || strcmp(path, "/workspace/") == 0)
    return ".";
  if (strncmp(path, "/workspace/", 11) == 0)
    return path + 11;
  return NULL;
}
