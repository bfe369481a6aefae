/* SPDX-License-Identifier: Apache-2.0 */
/* node_request.c - turning request bodies and paths from untrusted clients
 * into checked parameters.  Strict like the config parser: unknown fields,
 * wrong types and impossible values are 400s naming the field.  Everything
 * here is pure (no I/O), which is what the fuzz target exercises. */
#define _GNU_SOURCE
#include "node.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ARGS 4096
#define MAX_ENV 1024
#define MAX_STDIN (16 << 20)

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, len, fmt, ap);
  va_end(ap);
  return -1;
}

/* the body as a JSON object, or NULL with the reason in err */
static json_t *load_object(const char *body, size_t blen, char *err, size_t len) {
  json_error_t jerr;
  json_t *root = json_loadb(body, blen, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) {
    fail(err, len, "body is not valid JSON: %s at line %d column %d", jerr.text, jerr.line, jerr.column);
    return NULL;
  }
  if (!json_is_object(root)) {
    fail(err, len, "body must be a JSON object");
    json_decref(root);
    return NULL;
  }
  return root;
}

static bool has_nul(json_t *s) { return strlen(json_string_value(s)) != json_string_length(s); }

static char **string_array(json_t *arr, const char *field, size_t max, char *err, size_t len) {
  if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > max) {
    fail(err, len, "field '%s' must be a non-empty array of at most %zu strings", field, max);
    return NULL;
  }
  char **v = calloc(json_array_size(arr) + 1, sizeof(char *));
  size_t i;
  json_t *item;
  json_array_foreach(arr, i, item) {
    if (!json_is_string(item) || has_nul(item)) {
      fail(err, len, "field '%s[%zu]' must be a string without NUL characters", field, i);
      for (size_t k = 0; k < i; k++)
        free(v[k]);
      free(v);
      return NULL;
    }
    v[i] = strdup(json_string_value(item));
  }
  return v;
}

static int want_int(json_t *v, const char *field, int64_t lo, int64_t hi, int64_t *out, char *err, size_t len) {
  if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
    return fail(err, len, "field '%s' must be an integer from %lld to %lld", field, (long long)lo, (long long)hi);
  *out = json_integer_value(v);
  return 0;
}

static int want_size(json_t *v, const char *field, int64_t *out, char *err, size_t len) {
  if (json_is_integer(v) && json_integer_value(v) > 0) {
    *out = json_integer_value(v);
    return 0;
  }
  airlock_error *e = NULL;
  if (json_is_string(v) && airlock_parse_size(json_string_value(v), out, &e) == 0)
    return 0;
  airlock_error_free(&e);
  return fail(err, len, "field '%s' must be a size such as \"512m\" or a positive number of bytes", field);
}

static int parse_limits(json_t *obj, int64_t *memory, double *cpus, int64_t *pids, int64_t *disk, char *err,
                        size_t len) {
  if (!json_is_object(obj))
    return fail(err, len, "field 'limits' must be an object");
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    if (strcmp(k, "memory") == 0) {
      if (want_size(v, "limits.memory", memory, err, len) < 0)
        return -1;
    } else if (strcmp(k, "disk") == 0) {
      if (want_size(v, "limits.disk", disk, err, len) < 0)
        return -1;
    } else if (strcmp(k, "pids") == 0) {
      if (want_int(v, "limits.pids", 2, 4194304, pids, err, len) < 0)
        return -1;
    } else if (strcmp(k, "cpus") == 0) {
      if (!json_is_number(v) || !(json_number_value(v) >= 0.01) || json_number_value(v) > 4096)
        return fail(err, len, "field 'limits.cpus' must be a number from 0.01");
      *cpus = json_number_value(v);
    } else {
      return fail(err, len, "unknown field 'limits.%s'", k);
    }
  }
  return 0;
}

static int want_isolation(json_t *v, airlock_isolation *out, char *err, size_t len) {
  airlock_error *e = NULL;
  if (json_is_string(v) && airlock_parse_isolation(json_string_value(v), out, &e) == 0)
    return 0;
  airlock_error_free(&e);
  return fail(err, len, "field 'isolation' must be \"namespaces\", \"gvisor\" or \"vm\"");
}

static bool valid_env_name(const char *kv, size_t keylen) {
  if (keylen == 0 || isdigit((unsigned char)kv[0]))
    return false;
  for (size_t i = 0; i < keylen; i++)
    if (!(isalnum((unsigned char)kv[i]) || kv[i] == '_'))
      return false;
  return true;
}

static int decode_base64(const char *in, size_t inlen, char **out, size_t *outlen) {
  if (inlen % 4 != 0)
    return -1;
  unsigned char *buf = malloc(inlen / 4 * 3 + 1);
  int n = inlen ? EVP_DecodeBlock(buf, (const unsigned char *)in, (int)inlen) : 0;
  if (n < 0) {
    free(buf);
    return -1;
  }
  /* EVP_DecodeBlock counts padding as data */
  if (inlen >= 1 && in[inlen - 1] == '=')
    n--;
  if (inlen >= 2 && in[inlen - 2] == '=')
    n--;
  *out = (char *)buf;
  *outlen = (size_t)n;
  return 0;
}

/* A string field of bytes: as it is, or base64 (with padding); at most max
 * bytes either way.  A value given before (the other form) is replaced. */
static int want_bytes(json_t *v, const char *field, bool base64, size_t max, char **data, size_t *dlen, char *err,
                      size_t len) {
  char *bytes = NULL;
  size_t n = 0;
  if (!base64 && json_is_string(v) && json_string_length(v) <= max) {
    n = json_string_length(v);
    bytes = malloc(n + 1);
    memcpy(bytes, json_string_value(v), n);
  } else if (!(base64 && json_is_string(v) && json_string_length(v) <= max / 3 * 4 &&
               decode_base64(json_string_value(v), json_string_length(v), &bytes, &n) == 0)) {
    return fail(err, len, "field '%s' must be %s of at most %zu bytes", field, base64 ? "base64" : "a string", max);
  }
  free(*data);
  *data = bytes;
  *dlen = n;
  return 0;
}

void al_exec_params_clear(al_exec_params *p) {
  for (char **a = p->argv; a && *a; a++)
    free(*a);
  free(p->argv);
  for (char **e = p->env; e && *e; e++)
    free(*e);
  free(p->env);
  free(p->cwd);
  free(p->stdin_data);
  memset(p, 0, sizeof(*p));
}

int al_exec_params_parse(const char *body, size_t blen, al_exec_params *p, char *err, size_t len) {
  memset(p, 0, sizeof(*p));
  p->timeout_ms = 30000;
  p->max_output = -1; /* the node's max_output_bytes */
  json_t *root = load_object(body, blen, err, len);
  if (!root)
    return -1;
  int rc = -1;
  const char *k;
  json_t *v;
  json_t *command = NULL;
  json_object_foreach(root, k, v) {
    if (strcmp(k, "argv") == 0) {
      if (!(p->argv = string_array(v, "argv", MAX_ARGS, err, len)))
        goto out;
    } else if (strcmp(k, "command") == 0) {
      if (!json_is_string(v) || json_string_length(v) == 0 || has_nul(v)) {
        fail(err, len, "field 'command' must be a non-empty string");
        goto out;
      }
      command = v;
    } else if (strcmp(k, "cwd") == 0) {
      if (!json_is_string(v) || json_string_value(v)[0] != '/' || has_nul(v) || json_string_length(v) > 4095) {
        fail(err, len, "field 'cwd' must be an absolute path");
        goto out;
      }
      p->cwd = strdup(json_string_value(v));
    } else if (strcmp(k, "env") == 0) {
      if (!json_is_object(v) || json_object_size(v) > MAX_ENV) {
        fail(err, len, "field 'env' must be an object of at most %d strings", MAX_ENV);
        goto out;
      }
      p->env = calloc(json_object_size(v) + 1, sizeof(char *));
      size_t i = 0;
      const char *name;
      json_t *val;
      json_object_foreach(v, name, val) {
        if (!json_is_string(val) || has_nul(val) || !valid_env_name(name, strlen(name))) {
          fail(err, len, "field 'env.%s' must be a string named with letters, digits and '_'", name);
          goto out;
        }
        if (asprintf(&p->env[i++], "%s=%s", name, json_string_value(val)) < 0)
          goto out;
      }
    } else if (strcmp(k, "stdin") == 0 || strcmp(k, "stdin_base64") == 0) {
      if (want_bytes(v, k, k[5] == '_', MAX_STDIN, &p->stdin_data, &p->stdin_len, err, len) < 0)
        goto out;
    } else if (strcmp(k, "timeout_ms") == 0) {
      if (want_int(v, "timeout_ms", 1, 7LL * 86400 * 1000, &p->timeout_ms, err, len) < 0)
        goto out;
      p->has_timeout = true;
    } else if (strcmp(k, "isolation") == 0) {
      if (want_isolation(v, &p->isolation, err, len) < 0)
        goto out;
      p->has_isolation = true;    } else if (strcmp(k, "limits") == 0) {
      if (parse_limits(v, &p->memory_bytes, &p->cpus, &p->pids, &p->disk_bytes, err, len) < 0)
        goto out;
      p->has_limits = json_object_size(v) > 0;
    } else if (strcmp(k, "stream") == 0) {
      if (!json_is_boolean(v)) {
        fail(err, len, "field 'stream' must be true or false");
        goto out;
      }
      p->stream = json_is_true(v);
    } else if (strcmp(k, "pty") == 0) {
      if (!json_is_boolean(v)) {
        fail(err, len, "field 'pty' must be true or false");
        goto out;
      }
      p->pty = json_is_true(v);
    } else if (strcmp(k, "stdin_open") == 0) {
      if (!json_is_boolean(v)) {
        fail(err, len, "field 'stdin_open' must be true or false");
        goto out;
      }
      p->stdin_open = json_is_true(v);
    } else if (strcmp(k, "rows") == 0 || strcmp(k, "cols") == 0) {
      if (want_int(v, k, 1, 65535, k[0] == 'r' ? &p->rows : &p->cols, err, len) < 0)
        goto out;
    } else if (strcmp(k, "detach_on_disconnect") == 0) {
      if (!json_is_boolean(v)) {
        fail(err, len, "field 'detach_on_disconnect' must be true or false");
        goto out;
      }
      p->detach = json_is_true(v);
    } else if (strcmp(k, "max_output_bytes") == 0) {
      if (want_int(v, "max_output_bytes", 0, 64LL << 20, &p->max_output, err, len) < 0)
        goto out;
    } else if (strcmp(k, "approval") == 0) {
      const char *mode = json_string_value(v);
      if (!mode || (strcmp(mode, "wait") != 0 && strcmp(mode, "poll") != 0)) {
        fail(err, len, "field 'approval' must be \"wait\" or \"poll\"");
        goto out;
      }
      p->approval_poll = strcmp(mode, "poll") == 0;
    } else if (strcmp(k, "approval_id") == 0) {
      const char *id = json_string_value(v);
      if (!id || strlen(id) != AL_APPROVAL_ID_LEN || strncmp(id, "ap_", 3) != 0 ||
          strspn(id + 3, "0123456789abcdef") != AL_APPROVAL_ID_LEN - 3) {
        fail(err, len, "field 'approval_id' must be an approval id such as \"ap_0123456789abcdef\"");
        goto out;
      }
      memcpy(p->approval_id, id, AL_APPROVAL_ID_LEN + 1);
    } else {
      fail(err, len, "unknown field '%s'", k);
      goto out;
    }
  }
  if ((p->argv != NULL) == (command != NULL)) {
    fail(err, len, "give exactly one of 'argv' and 'command'");
    goto out;
  }
  if (command) {
    p->argv = calloc(4, sizeof(char *));
    p->argv[0] = strdup("/bin/sh");
    p->argv[1] = strdup("-c");
    p->argv[2] = strdup(json_string_value(command));
  }
  if (p->detach && !p->stream) {
    fail(err, len, "field 'detach_on_disconnect' needs 'stream': true");
    goto out;
  }
  if (p->pty && !p->stream) {
    fail(err, len, "field 'pty' needs 'stream': true");
    goto out;
  }
  if (p->pty && p->stdin_data) {
    fail(err, len, "a 'pty' exec takes its input from POST /v1/execs/{id}/input, not 'stdin'");
    goto out;
  }
  if (p->stdin_open && (!p->stream || p->pty || p->stdin_data)) {
    fail(err, len, "field 'stdin_open' needs 'stream': true, and neither 'pty' nor 'stdin'");
    goto out;
  }
  if ((p->rows || p->cols) && !p->pty) {
    fail(err, len, "fields 'rows' and 'cols' need 'pty': true");
    goto out;
  }
  rc = 0;
out:
  json_decref(root);
  if (rc < 0)
    al_exec_params_clear(p);
  return rc;
}

/* bytes for a terminal in one request: as much as a burst of typing or a
 * paste, not a file (files go through the files API) */
#define MAX_TTY_INPUT (1 << 20)

int al_exec_input_parse(const char *body, size_t blen, al_exec_input *in, char *err, size_t len) {
  memset(in, 0, sizeof(*in));
  json_t *root = load_object(body, blen, err, len);
  if (!root)
    return -1;
  int rc = -1;
  const char *k;
  json_t *v;
  json_object_foreach(root, k, v) {
    if (strcmp(k, "data") == 0 || strcmp(k, "data_base64") == 0) {
      if (in->data) {
        fail(err, len, "give one of 'data' and 'data_base64'");
        goto out;
      }
      if (want_bytes(v, k, k[4] == '_', MAX_TTY_INPUT, &in->data, &in->len, err, len) < 0)
        goto out;
    } else if (strcmp(k, "rows") == 0 || strcmp(k, "cols") == 0) {
      if (want_int(v, k, 1, 65535, k[0] == 'r' ? &in->rows : &in->cols, err, len) < 0)
        goto out;
    } else if (strcmp(k, "eof") == 0) {
      if (!json_is_true(v)) {
        fail(err, len, "field 'eof' can only be true");
        goto out;
      }
      in->eof = true;
    } else {
      fail(err, len, "unknown field '%s'", k);
      goto out;
    }
  }
  if (!in->rows != !in->cols) {
    fail(err, len, "fields 'rows' and 'cols' go together");
    goto out;
  }
  if (!in->data && !in->rows && !in->eof) {
    fail(err, len, "body must have 'data' or 'data_base64', 'eof', and/or 'rows' and 'cols'");
    goto out;
  }
  rc = 0;
out:
  json_decref(root);
  if (rc < 0) {
    free(in->data);
    memset(in, 0, sizeof(*in));
  }
  return rc;
}

void al_sandbox_params_clear(al_sandbox_params *p) {
  free(p->workspace);
  free(p->fork_sandbox);
  free(p->fork_snapshot);
  if (p->labels)
    json_decref(p->labels);
  memset(p, 0, sizeof(*p));
}

int al_sandbox_params_parse(const char *body, size_t blen, al_sandbox_params *p, char *err, size_t len) {
  memset(p, 0, sizeof(*p));
  if (blen == 0)
    return 0;
  json_t *root = load_object(body, blen, err, len);
  if (!root)
    return -1;
  int rc = -1;
  const char *k;
  json_t *v;
  json_object_foreach(root, k, v) {
    if (strcmp(k, "workspace") == 0) {
      /* absolute (below workspace_root/<tenant>/) or relative to that
       * directory; where it may lead is the kernel's to judge (node_fs.c) */
      if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= 4096 || has_nul(v)) {
        fail(err, len,
             "field 'workspace' must be a directory path of 1 to 4095 bytes: absolute below "
             "workspace_root/<tenant>/, or relative to it");
        goto out;
      }
      p->workspace = strdup(json_string_value(v));
    } else if (strcmp(k, "workspace_access") == 0) {
      if (!json_is_string(v) || (strcmp(json_string_value(v), "ro") && strcmp(json_string_value(v), "rw"))) {
        fail(err, len, "field 'workspace_access' must be \"ro\" or \"rw\"");
        goto out;
      }
      p->workspace_ro = strcmp(json_string_value(v), "ro") == 0;
    } else if (strcmp(k, "isolation") == 0) {
      if (want_isolation(v, &p->isolation, err, len) < 0)
        goto out;
      p->has_isolation = true;    } else if (strcmp(k, "limits") == 0) {
      if (parse_limits(v, &p->memory_bytes, &p->cpus, &p->pids, &p->disk_bytes, err, len) < 0)
        goto out;
      p->has_limits = json_object_size(v) > 0;
    } else if (strcmp(k, "labels") == 0) {
      if (!json_is_object(v) || json_object_size(v) > 64) {
        fail(err, len, "field 'labels' must be an object of at most 64 strings");
        goto out;
      }
      const char *lk;
      json_t *lv;
      json_object_foreach(v, lk, lv) {
        if (!json_is_string(lv) || strlen(lk) > 128 || json_string_length(lv) > 1024) {
          fail(err, len, "label '%s' must be a string (keys up to 128, values up to 1024 bytes)", lk);
          goto out;
        }
      }
      p->labels = json_incref(v);
    } else if (strcmp(k, "idle_timeout_s") == 0) {
      if (want_int(v, "idle_timeout_s", 1, 30LL * 86400, &p->idle_timeout_s, err, len) < 0)
        goto out;
    } else if (strcmp(k, "max_age_s") == 0) {
      if (want_int(v, "max_age_s", 1, 30LL * 86400, &p->max_age_s, err, len) < 0)
        goto out;
    } else if (strcmp(k, "fork_from") == 0) {
      /* {"sandbox": ID} (its current state), {"sandbox": ID, "snapshot":
       * NAME} or {"snapshot": SNAPSHOT_ID}; node_snapshot.c judges them */
      json_t *fs = json_object_get(v, "sandbox"), *fn = json_object_get(v, "snapshot");
      if (!json_is_object(v) || json_object_size(v) != (size_t)(!!fs + !!fn) || (!fs && !fn) ||
          (fs && (!json_is_string(fs) || !al_snapshot_name_ok(json_string_value(fs)))) ||
          (fn && (!json_is_string(fn) || !al_snapshot_name_ok(json_string_value(fn))))) {
        fail(err, len,
             "field 'fork_from' must be {\"sandbox\": ID}, {\"sandbox\": ID, \"snapshot\": NAME} or "
             "{\"snapshot\": SNAPSHOT_ID} (names of 1 to 64 letters, digits, '.', '_', '-')");
        goto out;
      }
      p->fork = true;
      p->fork_sandbox = fs ? strdup(json_string_value(fs)) : NULL;
      p->fork_snapshot = fn ? strdup(json_string_value(fn)) : NULL;
    } else {
      fail(err, len, "unknown field '%s'", k);
      goto out;
    }
  }
  rc = 0;
out:
  json_decref(root);
  if (rc < 0)
    al_sandbox_params_clear(p);
  return rc;
}

bool al_snapshot_name_ok(const char *s) {
  size_t n = strlen(s);
  if (strcmp(s, "@created") == 0)
    return true;
  if (n == 0 || n > 64 || s[0] == '.' || s[0] == '-')
    return false;
  for (size_t i = 0; i < n; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
      return false;
  return true;
}

static bool valid_id(const char *s, size_t n) {
  if (n == 0 || n >= 32)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
      return false;
  return true;
}

al_api_route al_api_route_parse(const char *path, char *id, size_t idlen) {
  if (!path)
    return AL_API_NONE;
  if (strcmp(path, "/v1/health") == 0)
    return AL_API_HEALTH;
  if (strcmp(path, "/metrics") == 0)
    return AL_API_METRICS;
  if (strcmp(path, "/v1/exec") == 0)
    return AL_API_EXEC;
  if (strcmp(path, "/v1/sandboxes") == 0)
    return AL_API_SANDBOXES;
  if (strcmp(path, "/v1/whoami") == 0)
    return AL_API_WHOAMI;
  if (strcmp(path, "/") == 0 || strcmp(path, "/ui") == 0 || strncmp(path, "/ui/", 4) == 0)
    return AL_API_UI;
  if (strcmp(path, "/v1/approvals") == 0)
    return AL_API_APPROVALS;
  if (strcmp(path, "/v1/audit") == 0)
    return AL_API_AUDIT;
  if (strcmp(path, "/v1/snapshots") == 0)
    return AL_API_SNAPSHOTS;
  if (strncmp(path, "/v1/snapshots/", 14) == 0) {
    const char *sn = path + 14;
    size_t n = strlen(sn);
    if (!valid_id(sn, n) || n >= idlen)
      return AL_API_NONE;
    memcpy(id, sn, n + 1);
    return AL_API_SNAPSHOT;
  }
  const char *rest;
  bool sandbox;
  if (strncmp(path, "/v1/approvals/", 14) == 0) {
    rest = path + 14;
    size_t n = strcspn(rest, "/");
    if (!valid_id(rest, n) || n >= idlen)
      return AL_API_NONE;
    memcpy(id, rest, n);
    id[n] = '\0';
    return rest[n] == '\0'                     ? AL_API_APPROVAL
           : strcmp(rest + n, "/approve") == 0 ? AL_API_APPROVAL_APPROVE
           : strcmp(rest + n, "/reject") == 0  ? AL_API_APPROVAL_REJECT
                                               : AL_API_NONE;
  }
  if (strncmp(path, "/v1/sandboxes/", 14) == 0)
    rest = path + 14, sandbox = true;
  else if (strncmp(path, "/v1/execs/", 10) == 0)
    rest = path + 10, sandbox = false;
  else
    return AL_API_NONE;
  size_t n = strcspn(rest, "/");
  if (!valid_id(rest, n) || n >= idlen)
    return AL_API_NONE;
  memcpy(id, rest, n);
  id[n] = '\0';
  const char *tail = rest + n;
  if (*tail == '\0')
    return sandbox ? AL_API_SANDBOX : AL_API_EXEC_ONE;
  if (sandbox && strcmp(tail, "/exec") == 0)
    return AL_API_SANDBOX_EXEC;
  if (sandbox && strcmp(tail, "/files") == 0)
    return AL_API_SANDBOX_FILES;
  if (sandbox && strcmp(tail, "/snapshots") == 0)
    return AL_API_SANDBOX_SNAPSHOTS;
  if (sandbox && strncmp(tail, "/snapshots/", 11) == 0)
    return AL_API_SANDBOX_SNAPSHOT; /* the name is the handler's to judge */
  if (sandbox && strcmp(tail, "/restore") == 0)
    return AL_API_SANDBOX_RESTORE;
  if (sandbox && strcmp(tail, "/reset") == 0)
    return AL_API_SANDBOX_RESET;
  if (!sandbox && strcmp(tail, "/signal") == 0)
    return AL_API_EXEC_SIGNAL;
  if (!sandbox && strcmp(tail, "/input") == 0)
    return AL_API_EXEC_INPUT;
  return AL_API_NONE;
}

const char *al_cookie_next(const char **cursor, const char *name, size_t *len) {
  size_t nlen = strlen(name);
  for (const char *p = *cursor; *p;) {
    p += strspn(p, " \t;");
    size_t plen = strcspn(p, ";");
    const char *eq = memchr(p, '=', plen);
    const char *end = p + plen;
    *cursor = end;
    if (eq && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
      const char *val = eq + 1;
      while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
      *len = (size_t)(end - val);
      return val;
    }
    p = end;
  }
  *cursor += strlen(*cursor);
  return NULL;
}

int al_signal_parse(json_t *v) {
  static const struct {
    const char *name;
    int sig;
  } names[] = {{"TERM", SIGTERM}, {"KILL", SIGKILL}, {"INT", SIGINT},   {"HUP", SIGHUP},   {"QUIT", SIGQUIT},
               {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {"WINCH", SIGWINCH}};
  if (json_is_integer(v))
    return json_integer_value(v) > 0 && json_integer_value(v) < NSIG ? (int)json_integer_value(v) : -1;
  if (!json_is_string(v))
    return -1;
  const char *s = json_string_value(v);
  if (strncmp(s, "SIG", 3) == 0)
    s += 3;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strcmp(s, names[i].name) == 0)
      return names[i].sig;
  return -1;
}

/* --- request heads, read by the connection gate (node_gate.c) -------------- */

static bool token_char(unsigned char c) { return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c) != NULL; }

/* the next line of buf from *pos (LF or CRLF ended, as evhttp reads them);
 * NULL when no LF has arrived yet */
static const char *next_line(const char *buf, size_t len, size_t *pos, size_t *line_len) {
  const char *start = buf + *pos;
  const char *lf = memchr(start, '\n', len - *pos);
  if (!lf)
    return NULL;
  *line_len = (size_t)(lf - start);
  if (*line_len > 0 && start[*line_len - 1] == '\r')
    (*line_len)--;
  *pos = (size_t)(lf - buf) + 1;
  return start;
}

static bool name_is(const char *name, size_t len, const char *want) {
  return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

int al_http_head_parse(const char *buf, size_t len, al_http_head *h, const char **why) {
  memset(h, 0, sizeof(*h));
  h->content_length = -1;
  *why = NULL;
  size_t pos = 0, ll;
  const char *line = next_line(buf, len, &pos, &ll);
  if (!line)
    return 0;
  if (memchr(line, '\0', ll)) {
    *why = "a NUL byte in the request head";
    return -1;
  }
  /* METHOD SP TARGET SP HTTP/1.x */
  const char *sp1 = memchr(line, ' ', ll);
  const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', ll - (size_t)(sp1 + 1 - line)) : NULL;
  size_t mlen = sp1 ? (size_t)(sp1 - line) : 0;
  if (!sp2 || mlen == 0 || mlen >= sizeof(h->method) || sp2 == sp1 + 1 || (size_t)(line + ll - (sp2 + 1)) != 8 ||
      (strncmp(sp2 + 1, "HTTP/1.1", 8) != 0 && strncmp(sp2 + 1, "HTTP/1.0", 8) != 0)) {
    *why = "the request line is not METHOD TARGET HTTP/1.x";
    return -1;
  }
  for (size_t i = 0; i < mlen; i++)
    if (!isupper((unsigned char)line[i])) {
      *why = "the method is not a word of capital letters";
      return -1;
    }
  memcpy(h->method, line, mlen);
  const char *target = sp1 + 1;
  size_t tlen = (size_t)(sp2 - target);
  for (size_t i = 0; i < tlen; i++)
    if ((unsigned char)target[i] <= ' ' || target[i] == 0x7f) {
      *why = "a control character in the request target";
      return -1;
    }
  const char *q = memchr(target, '?', tlen);
  size_t plen = q ? (size_t)(q - target) : tlen;
  h->path_truncated = plen >= sizeof(h->path);
  memcpy(h->path, target, h->path_truncated ? sizeof(h->path) - 1 : plen);
  /* header lines up to the empty line */
  bool tracked = false; /* the last header is one read here: no continuation lines for it */
  for (;;) {
    line = next_line(buf, len, &pos, &ll);
    if (!line)
      return 0;
    if (ll == 0)
      break;
    if (memchr(line, '\0', ll)) {
      *why = "a NUL byte in the request head";
      return -1;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      if (tracked) {
        *why = "a continuation line in Content-Length, Transfer-Encoding, Authorization or Cookie";
        return -1;
      }
      continue;
    }
    const char *colon = memchr(line, ':', ll);
    size_t nlen = colon ? (size_t)(colon - line) : 0;
    for (size_t i = 0; i < nlen && colon; i++)
      if (!token_char((unsigned char)line[i]))
        colon = NULL;
    if (!colon || nlen == 0) {
      *why = "a header line that is not NAME: VALUE";
      return -1;
    }
    const char *v = colon + 1, *end = line + ll;
    while (v < end && (*v == ' ' || *v == '\t'))
      v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
      end--;
    size_t vlen = (size_t)(end - v);
    tracked = true;
    if (name_is(line, nlen, "Content-Length")) {
      if (h->content_length >= 0) {
        *why = "two Content-Length headers";
        return -1;
      }
      if (vlen == 0 || vlen > 18) {
        *why = "Content-Length is not a number of at most 18 digits";
        return -1;
      }
      int64_t cl = 0;
      for (size_t i = 0; i < vlen; i++) {
        if (!isdigit((unsigned char)v[i])) {
          *why = "Content-Length is not a number of at most 18 digits";
          return -1;
        }
        cl = cl * 10 + (v[i] - '0');
      }
      h->content_length = cl;
    } else if (name_is(line, nlen, "Transfer-Encoding")) {
      h->transfer_encoding = true;
    } else if (name_is(line, nlen, "Authorization")) {
      if (!h->authorization) {
        h->authorization = v;
        h->authorization_len = vlen;
      }
    } else if (name_is(line, nlen, "Cookie")) {
      if (h->n_cookies < AL_HTTP_HEAD_COOKIES) {
        h->cookies[h->n_cookies].value = v;
        h->cookies[h->n_cookies].len = vlen;
        h->n_cookies++;
      }
    } else {
      tracked = false;
    }
  }
  if (h->transfer_encoding && h->content_length >= 0) {
    *why = "both Content-Length and Transfer-Encoding";
    return -1;
  }
  h->len = pos;
  return 1;
}
