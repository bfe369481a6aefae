/* SPDX-License-Identifier: Apache-2.0 */
/* redact_registry.c - the data redaction reads commands with: which options
 * and operands of which tools carry secrets (data/redaction.json, compiled
 * in, plus operators' files through al_redact_registry_add_file), and the
 * secret values airlock knows (al_redact_add_known), hidden wherever they
 * appear.  Both are global tables behind a read-write lock, set up at the
 * node's start and read by every redaction. */
#define _GNU_SOURCE
#include "redact_impl.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "cleanup.h"
#include "error.h"
#include "redaction_builtin.h"

typedef struct {
  char **v;
  size_t n;
} strlist;

struct rd_tool {
  char *name;
  strlist options, attached, novalue, subcommands, split_options, strip_prefixes, skip_prefixes, stdin_options;
  char split;
  int operand;
  char *when_flag;
  bool name_then_value, stdin_secret;
};

static struct {
  bool loaded;
  rd_tool *tools;
  size_t n_tools;
  strlist wrappers, secret_names, weak_names, identifier_names, url_params, secret_files;
  /* known secret values */
  char **known;
  size_t *known_len;
  size_t n_known, cap_known;
} reg;

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int list_add(strlist *l, const char *s) {
  char **g = reallocarray(l->v, l->n + 1, sizeof(*g));
  if (g == NULL)
    return -1;
  l->v = g;
  if ((l->v[l->n] = strdup(s)) == NULL)
    return -1;
  l->n++;
  return 0;
}

static bool list_has(const strlist *l, const char *s) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->v[i], s) == 0)
      return true;
  return false;
}

/* names are compared normalised: lowercase, no _ - . */
static void normalise(const char *s, char *out, size_t cap) {
  size_t m = 0;
  for (; *s && m + 1 < cap; s++)
    if (*s != '_' && *s != '-' && *s != '.')
      out[m++] = (char)((*s >= 'A' && *s <= 'Z') ? *s - 'A' + 'a' : *s);
  out[m] = '\0';
}

static int strings_into(json_t *arr, strlist *l, bool norm, const char *what, const char *src, airlock_error **err) {
  if (arr == NULL)
    return 0;
  if (!json_is_array(arr))
    return al_err(err, 0, "%s: '%s' must be an array of strings", src, what);
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    if (!json_is_string(v))
      return al_err(err, 0, "%s: '%s' must be an array of strings", src, what);
    char buf[256];
    const char *s = json_string_value(v);
    if (norm) {
      normalise(s, buf, sizeof(buf));
      s = buf;
    }
    if (!list_has(l, s) && list_add(l, s) < 0)
      return al_err(err, ENOMEM, "%s", src);
  }
  return 0;
}

static rd_tool *tool_get(const char *name) {
  for (size_t i = 0; i < reg.n_tools; i++)
    if (strcmp(reg.tools[i].name, name) == 0)
      return &reg.tools[i];
  rd_tool *g = reallocarray(reg.tools, reg.n_tools + 1, sizeof(*g));
  if (g == NULL)
    return NULL;
  reg.tools = g;
  rd_tool *t = &reg.tools[reg.n_tools];
  memset(t, 0, sizeof(*t));
  if ((t->name = strdup(name)) == NULL)
    return NULL;
  reg.n_tools++;
  return t;
}

static const char *const tool_keys[] = {"names",         "options",        "attached",      "novalue",
                                        "subcommands",   "split_options",  "split",         "operand",
                                        "when_flag",     "name_then_value", "strip_prefixes", "skip_prefixes",
                                        "stdin_options", "stdin_secret",  NULL};

static int load_tool(json_t *o, const char *src, airlock_error **err) {
  const char *k;
  json_t *v;
  if (!json_is_object(o))
    return al_err(err, 0, "%s: each of 'tools' must be an object", src);
  json_object_foreach(o, k, v) {
    bool known = false;
    for (size_t i = 0; tool_keys[i]; i++)
      known |= strcmp(k, tool_keys[i]) == 0;
    if (!known)
      return al_err(err, 0, "%s: tool key '%s' is not one of names, options, attached, novalue, subcommands, "
                            "split_options, split, operand, when_flag, name_then_value, strip_prefixes, skip_prefixes, "
                            "stdin_options, stdin_secret",
                    src, k);
  }
  json_t *names = json_object_get(o, "names");
  if (!json_is_array(names) || json_array_size(names) == 0)
    return al_err(err, 0, "%s: a tool needs 'names', a non-empty array of strings", src);
  json_t *split = json_object_get(o, "split"), *operand = json_object_get(o, "operand"),
         *when = json_object_get(o, "when_flag"), *ntv = json_object_get(o, "name_then_value"),
         *stdin_secret = json_object_get(o, "stdin_secret");
  if ((split && (!json_is_string(split) || strlen(json_string_value(split)) != 1)) ||
      (operand && (!json_is_integer(operand) || json_integer_value(operand) < 1 || json_integer_value(operand) > 64)) ||
      (when && !json_is_string(when)) || (ntv && !json_is_boolean(ntv)) ||
      (stdin_secret && !json_is_boolean(stdin_secret)))
    return al_err(err, 0, "%s: 'split' is one character, 'operand' 1 to 64, 'when_flag' a string, "
                          "'name_then_value' and 'stdin_secret' booleans",
                  src);
  size_t i;
  json_t *nv;
  json_array_foreach(names, i, nv) {
    if (!json_is_string(nv))
      return al_err(err, 0, "%s: 'names' must be an array of strings", src);
    rd_tool *t = tool_get(json_string_value(nv));
    if (t == NULL)
      return al_err(err, ENOMEM, "%s", src);
    if (strings_into(json_object_get(o, "options"), &t->options, false, "options", src, err) < 0 ||
        strings_into(json_object_get(o, "attached"), &t->attached, false, "attached", src, err) < 0 ||
        strings_into(json_object_get(o, "novalue"), &t->novalue, false, "novalue", src, err) < 0 ||
        strings_into(json_object_get(o, "subcommands"), &t->subcommands, false, "subcommands", src, err) < 0 ||
        strings_into(json_object_get(o, "split_options"), &t->split_options, false, "split_options", src, err) < 0 ||
        strings_into(json_object_get(o, "strip_prefixes"), &t->strip_prefixes, false, "strip_prefixes", src, err) <
            0 ||
        strings_into(json_object_get(o, "skip_prefixes"), &t->skip_prefixes, false, "skip_prefixes", src, err) < 0 ||
        strings_into(json_object_get(o, "stdin_options"), &t->stdin_options, false, "stdin_options", src, err) < 0)
      return -1;
    if (stdin_secret)
      t->stdin_secret = json_is_true(stdin_secret);
    if (split)
      t->split = json_string_value(split)[0];
    if (operand)
      t->operand = (int)json_integer_value(operand);
    if (when) {
      free(t->when_flag);
      t->when_flag = strdup(json_string_value(when));
    }
    if (ntv)
      t->name_then_value = json_is_true(ntv);
  }
  return 0;
}

static int load_json(const char *text, size_t len, const char *src, airlock_error **err) {
  json_error_t je;
  json_auto_t *root = json_loadb(text, len, 0, &je);
  if (!json_is_object(root))
    return al_err(err, 0, "%s:%d: %s", src, je.line, root ? "not a JSON object" : je.text);
  const char *k;
  json_t *v;
  json_object_foreach(root, k, v) {
    if (strcmp(k, "version") && strcmp(k, "description") && strcmp(k, "wrappers") && strcmp(k, "tools") &&
        strcmp(k, "secret_names") && strcmp(k, "weak_names") && strcmp(k, "identifier_names") &&
        strcmp(k, "url_params") && strcmp(k, "secret_files"))
      return al_err(err, 0,
                    "%s: key '%s' is not one of version, description, wrappers, tools, secret_names, weak_names, "
                    "identifier_names, url_params, secret_files",
                    src, k);
  }
  if (strings_into(json_object_get(root, "wrappers"), &reg.wrappers, false, "wrappers", src, err) < 0 ||
      strings_into(json_object_get(root, "secret_names"), &reg.secret_names, true, "secret_names", src, err) < 0 ||
      strings_into(json_object_get(root, "weak_names"), &reg.weak_names, true, "weak_names", src, err) < 0 ||
      strings_into(json_object_get(root, "identifier_names"), &reg.identifier_names, true, "identifier_names", src,
                   err) < 0 ||
      strings_into(json_object_get(root, "url_params"), &reg.url_params, false, "url_params", src, err) < 0 ||
      strings_into(json_object_get(root, "secret_files"), &reg.secret_files, false, "secret_files", src, err) < 0)
    return -1;
  json_t *tools = json_object_get(root, "tools");
  if (tools && !json_is_array(tools))
    return al_err(err, 0, "%s: 'tools' must be an array", src);
  size_t i;
  json_array_foreach(tools, i, v) {
    if (load_tool(v, src, err) < 0)
      return -1;
  }
  return 0;
}

static void load_builtin(void) {
  airlock_error *err = NULL;
  pthread_rwlock_wrlock(&lock);
  if (load_json(redaction_builtin, redaction_builtin_len, "built-in redaction.json", &err) < 0)
    airlock_error_free(&err); /* tested: the shipped file loads */
  reg.loaded = true;
  pthread_rwlock_unlock(&lock);
}

static void ensure(void) { pthread_once(&once, load_builtin); }

int al_redact_registry_add_file(const char *path, airlock_error **err) {
  ensure();
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return al_err(err, errno, "cannot read redaction registry %s", path);
  FILE *mem = open_memstream(&text, &len);
  char buf[8192];
  size_t r;
  while (mem && (r = fread(buf, 1, sizeof(buf), f)) > 0)
    fwrite(buf, 1, r, mem);
  bool bad = ferror(f) || mem == NULL;
  fclose(f);
  if (mem)
    fclose(mem);
  if (bad)
    return al_err(err, errno, "cannot read redaction registry %s", path);
  pthread_rwlock_wrlock(&lock);
  int rc = load_json(text, len, path, err);
  pthread_rwlock_unlock(&lock);
  return rc;
}

/* --- lookups (called with the lock held for reading by redact_cmd.c) --- */

void al_redact_registry_lock(bool on) {
  if (on) {
    ensure();
    pthread_rwlock_rdlock(&lock);
  } else {
    pthread_rwlock_unlock(&lock);
  }
}

const rd_tool *rd_tool_find(const char *name) {
  for (size_t i = 0; i < reg.n_tools; i++)
    if (strcmp(reg.tools[i].name, name) == 0)
      return &reg.tools[i];
  return NULL;
}

bool rd_is_wrapper(const char *name) { return list_has(&reg.wrappers, name); }
bool rd_tool_novalue(const rd_tool *t, const char *opt) { return t && list_has(&t->novalue, opt); }
bool rd_tool_option(const rd_tool *t, const char *opt) { return t && list_has(&t->options, opt); }
bool rd_tool_name_then_value(const rd_tool *t) { return t && t->name_then_value; }
bool rd_tool_has_subcommands(const rd_tool *t) { return t && t->subcommands.n > 0; }

size_t rd_tool_attached(const rd_tool *t, const char *word) {
  for (size_t i = 0; t && i < t->attached.n; i++) {
    size_t l = strlen(t->attached.v[i]);
    if (strncmp(word, t->attached.v[i], l) == 0 && word[l] != '\0')
      return l;
  }
  return 0;
}

char rd_tool_split(const rd_tool *t, const char *opt) {
  if (!t || !t->split)
    return '\0';
  if (t->split_options.n == 0 || list_has(&t->split_options, opt))
    return t->split;
  return '\0';
}

int rd_tool_operand(const rd_tool *t, const char **when_flag) {
  *when_flag = t ? t->when_flag : NULL;
  return t ? t->operand : 0;
}

bool rd_tool_subcommand_ok(const rd_tool *t, const char *const *words, size_t n) {
  if (!t || t->subcommands.n == 0)
    return true;
  for (size_t i = 0; i < n; i++)
    if (list_has(&t->subcommands, words[i]))
      return true;
  return false;
}

size_t rd_tool_value_offset(const rd_tool *t, const char *value, bool *harmless) {
  *harmless = false;
  for (size_t i = 0; t && i < t->skip_prefixes.n; i++)
    if (strncmp(value, t->skip_prefixes.v[i], strlen(t->skip_prefixes.v[i])) == 0)
      *harmless = true;
  for (size_t i = 0; t && i < t->strip_prefixes.n; i++) {
    size_t l = strlen(t->strip_prefixes.v[i]);
    if (strncmp(value, t->strip_prefixes.v[i], l) == 0)
      return l;
  }
  return 0;
}

bool rd_registry_secret_name(const char *norm) {
  for (size_t i = 0; i < reg.secret_names.n; i++) {
    size_t l = strlen(reg.secret_names.v[i]), n = strlen(norm);
    if (n >= l && strcmp(norm + n - l, reg.secret_names.v[i]) == 0)
      return true;
  }
  return false;
}

bool rd_registry_weak_name(const char *norm) {
  for (size_t i = 0; i < reg.weak_names.n; i++) {
    size_t l = strlen(reg.weak_names.v[i]), n = strlen(norm);
    if (n >= l && strcmp(norm + n - l, reg.weak_names.v[i]) == 0)
      return true;
  }
  return false;
}

bool rd_registry_identifier_name(const char *norm) {
  size_t n = strlen(norm);
  for (size_t i = 0; i < reg.identifier_names.n; i++) {
    size_t l = strlen(reg.identifier_names.v[i]);
    if (n >= l && strcmp(norm + n - l, reg.identifier_names.v[i]) == 0)
      return true;
  }
  return false;
}

bool rd_registry_url_param(const char *name, size_t n) {
  for (size_t i = 0; i < reg.url_params.n; i++)
    if (strlen(reg.url_params.v[i]) == n && strncasecmp(reg.url_params.v[i], name, n) == 0)
      return true;
  return false;
}

bool rd_tool_stdin_secret(const rd_tool *t, const char *word) {
  if (!t)
    return false;
  return word == NULL ? t->stdin_secret : list_has(&t->stdin_options, word);
}

bool rd_registry_secret_file(const char *path) {
  size_t n = strlen(path);
  for (size_t i = 0; i < reg.secret_files.n; i++) {
    size_t l = strlen(reg.secret_files.v[i]);
    if (n >= l && strcmp(path + n - l, reg.secret_files.v[i]) == 0 && (n == l || path[n - l - 1] == '/'))
      return true;
  }
  /* a name that says so: token.txt, .vault_pass, api-key (not password_file) */
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  while (*b == '.')
    b++;
  size_t bl = strlen(b);
  const char *dot = strrchr(b, '.');
  /* a key file: server.key, config/credentials/production.key */
  if (dot && dot > b && strcmp(dot, ".key") == 0)
    return true;
  /* a structured config file (secrets.yaml, secret.example.toml) holds
   * named fields: the text rules find the secret ones, the file is not one
   * whole secret */
  static const char *const structured[] = {".yaml", ".yml", ".json",       ".toml", ".ini", ".xml",
                                           ".hcl",  ".tf",  ".properties", ".conf", ".cfg", ".tpl"};
  for (size_t i = 0; dot && i < AL_ARRAY_SIZE(structured); i++)
    if (strcmp(dot, structured[i]) == 0)
      return false;
  if (dot && dot > b && strlen(dot) <= 5)
    bl = (size_t)(dot - b);
  return bl > 0 && rd_name_secret(b, bl);
}

/* --- known values ---------------------------------------------------------- */

#define KNOWN_MIN 6 /* shorter values would hide ordinary words */

int al_redact_add_known(const void *value, size_t len) {
  if (value == NULL || len < KNOWN_MIN || memchr(value, '\0', len))
    return 0;
  ensure();
  pthread_rwlock_wrlock(&lock);
  int rc = 0;
  for (size_t i = 0; i < reg.n_known; i++)
    if (reg.known_len[i] == len && memcmp(reg.known[i], value, len) == 0)
      goto out;
  if (reg.n_known == reg.cap_known) {
    size_t ncap = reg.cap_known ? reg.cap_known * 2 : 16;
    char **g = reallocarray(reg.known, ncap, sizeof(*g));
    size_t *gl = g ? reallocarray(reg.known_len, ncap, sizeof(*gl)) : NULL;
    if (g)
      reg.known = g;
    if (gl == NULL) {
      rc = -1;
      goto out;
    }
    reg.known_len = gl;
    reg.cap_known = ncap;
  }
  if ((reg.known[reg.n_known] = strndup(value, len)) == NULL) {
    rc = -1;
    goto out;
  }
  reg.known_len[reg.n_known++] = len;
out:
  pthread_rwlock_unlock(&lock);
  return rc;
}

void al_redact_clear_known(void) {
  pthread_rwlock_wrlock(&lock);
  for (size_t i = 0; i < reg.n_known; i++) {
    explicit_bzero(reg.known[i], reg.known_len[i]);
    free(reg.known[i]);
  }
  free(reg.known);
  free(reg.known_len);
  reg.known = NULL;
  reg.known_len = NULL;
  reg.n_known = reg.cap_known = 0;
  pthread_rwlock_unlock(&lock);
}

void rd_scan_known(const char *s, size_t len, rd_spans *sp) {
  for (size_t k = 0; k < reg.n_known; k++) {
    const char *p = s;
    size_t kl = reg.known_len[k];
    while ((p = memmem(p, len - (size_t)(p - s), reg.known[k], kl)) != NULL) {
      rd_add_sure(sp, (size_t)(p - s), (size_t)(p - s) + kl);
      p += kl;
    }
  }
}
