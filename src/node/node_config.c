/* SPDX-License-Identifier: Apache-2.0 */
/* node_config.c - the node's configuration: a JSON file (--config) under
 * flags that override it.  Strict like every parser here: unknown keys,
 * wrong types and impossible values are errors naming the key. */
#define _GNU_SOURCE
#include "isolation.h"
#include "node.h"
#include "image_ref.h"
#include "cleanup.h"
#include "error.h"
#include "statedir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void al_node_config_init(al_node_config *c) {
  memset(c, 0, sizeof(*c));
  airlock_spec_init(&c->sandbox);
  c->node_max = (al_node_limits){.max_concurrent_execs = 64, .max_timeout_ms = 3600 * 1000};
  /* snapshots: 32 per tenant, 4 GiB and a million entries in all of them */
  c->tenant_max = (al_node_limits){
      .max_concurrent_execs = 16, .max_snapshots = 32, .max_snapshot_bytes = 4LL << 30, .max_snapshot_files = 1000000};
  c->max_sandboxes = 64;
  c->pool_size = 2;
  c->idle_timeout_s = 15 * 60;
  c->max_age_s = 24 * 3600;
  c->max_output_bytes = 200000;
  c->max_body_bytes = 64 << 20;
  c->io_timeout_s = 30;
  c->max_unauthenticated_connections = 64;
  c->max_connections_per_peer = 256;
  c->sandbox_host_uid = 65534;
  c->ui_enabled = true;
  al_policy_init(&c->policy);
  c->audit_enabled = true;
  c->audit_retention_days = 90;
  c->log_format = AL_LOG_AUTO;
  c->log_level = AL_LOG_INFO;
}

/* "sandbox" holding an openclaw.json: a spec per agent of agents.list that
 * has a sandbox of its own, and agents.defaults.sandbox.scope as the
 * default OpenClaw scope (openclaw.scope or --openclaw-scope win) */
static int openclaw_agents(al_node_config *c, json_t *v, const char *text, airlock_error **err) {
  json_t *agents = json_object_get(v, "agents");
  if (!json_is_object(agents))
    return 0;
  const char *scope = json_string_value(json_object_get(json_object_get(json_object_get(agents, "defaults"), "sandbox"),
                                                        "scope")); /* checked by the loader */
  free(c->openclaw_json_scope);
  c->openclaw_json_scope = NULL;
  if (scope && !(c->openclaw_json_scope = strdup(scope)))
    return al_err(err, ENOMEM, "node config");
  size_t i;
  json_t *agent;
  json_array_foreach(json_object_get(agents, "list"), i, agent) {
    const char *id = json_string_value(json_object_get(agent, "id"));
    if (!id || !json_object_get(agent, "sandbox"))
      continue;
    for (size_t j = 0; j < c->n_agent_sandboxes; j++)
      if (strcmp(c->agent_sandboxes[j].agent_id, id) == 0)
        return al_err(err, 0, "node config key 'sandbox': agents.list has agent '%s' twice", id);
    struct al_agent_sandbox *grown = realloc(c->agent_sandboxes, (c->n_agent_sandboxes + 1) * sizeof(*grown));
    if (!grown)
      return al_err(err, ENOMEM, "node config");
    c->agent_sandboxes = grown;
    struct al_agent_sandbox *a = &c->agent_sandboxes[c->n_agent_sandboxes];
    airlock_spec_init(&a->spec);
    a->scope = NULL;
    if (!(a->agent_id = strdup(id)))
      return al_err(err, ENOMEM, "node config");
    c->n_agent_sandboxes++;
    if (airlock_spec_load_json_agent(&a->spec, text, strlen(text), id, err) < 0)
      return al_err_prefix(err, "node config key 'sandbox'");
    const char *own = json_string_value(json_object_get(json_object_get(agent, "sandbox"), "scope"));
    if (own && !(a->scope = strdup(own))) /* checked by the loader above */
      return al_err(err, ENOMEM, "node config");
  }
  return 0;
}

const char *al_node_openclaw_scope(const al_node_config *c, const char *agent_id) {
  if (c->openclaw_scope)
    return c->openclaw_scope;
  for (size_t i = 0; agent_id && i < c->n_agent_sandboxes; i++)
    if (strcmp(c->agent_sandboxes[i].agent_id, agent_id) == 0 && c->agent_sandboxes[i].scope)
      return c->agent_sandboxes[i].scope;
  return c->openclaw_json_scope ? c->openclaw_json_scope : "session";
}

const airlock_spec *al_node_agent_spec(const al_node_config *c, const char *agent_id) {
  for (size_t i = 0; agent_id && i < c->n_agent_sandboxes; i++)
    if (strcmp(c->agent_sandboxes[i].agent_id, agent_id) == 0)
      return &c->agent_sandboxes[i].spec;
  return &c->sandbox;
}

void al_node_config_clear(al_node_config *c) {
  for (size_t i = 0; i < c->n_listen; i++)
    free(c->listen[i]);
  free(c->listen);
  free(c->state_dir);
  free(c->tls_cert);
  free(c->tls_key);
  free(c->tls_client_ca);
  free(c->ready_file);
  free(c->workspace_root);
  free(c->openclaw_gateway);
  free(c->openclaw_setup_code);
  free(c->openclaw_token);
  free(c->openclaw_name);
  free(c->openclaw_scope);
  free(c->openclaw_ca);
  airlock_spec_clear(&c->sandbox);
  for (size_t i = 0; i < c->n_agent_sandboxes; i++) {
    free(c->agent_sandboxes[i].agent_id);
    free(c->agent_sandboxes[i].scope);
    airlock_spec_clear(&c->agent_sandboxes[i].spec);
  }
  free(c->agent_sandboxes);
  free(c->openclaw_json_scope);
  al_policy_clear(&c->policy);
  for (size_t i = 0; i < c->n_catalogue_files; i++)
    free(c->catalogue_files[i]);
  free(c->catalogue_files);
  for (size_t i = 0; i < c->n_redaction_files; i++)
    free(c->redaction_files[i]);
  free(c->redaction_files);
  memset(c, 0, sizeof(*c));
}

static int str(json_t *v, const char *key, char **out, airlock_error **err) {
  if (!json_is_string(v) || json_string_length(v) == 0)
    return al_err(err, 0, "node config key '%s' must be a non-empty string", key);
  char *copy = strdup(json_string_value(v));
  if (!copy)
    return al_err(err, ENOMEM, "node config key '%s'", key);
  free(*out);
  *out = copy;
  return 0;
}

/* append a copy of s to the list *v of *n strings */
static int push(char ***v, size_t *n, const char *s, const char *key, airlock_error **err) {
  char **grown = reallocarray(*v, *n + 1, sizeof(char *));
  if (!grown)
    return al_err(err, ENOMEM, "node config key '%s'", key);
  *v = grown;
  if (!(grown[*n] = strdup(s)))
    return al_err(err, ENOMEM, "node config key '%s'", key);
  (*n)++;
  return 0;
}

static int integer(json_t *v, const char *key, int64_t lo, int64_t hi, int64_t *out, airlock_error **err) {
  if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
    return al_err(err, 0, "node config key '%s' must be an integer from %lld to %lld", key, (long long)lo,
                  (long long)hi);
  *out = json_integer_value(v);
  return 0;
}

static int limits(json_t *obj, const char *key, al_node_limits *l, int64_t *sandboxes, airlock_error **err) {
  if (!json_is_object(obj))
    return al_err(err, 0, "node config key '%s' must be an object", key);
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    char full[128];
    snprintf(full, sizeof(full), "%s.%s", key, k);
    if (strcmp(k, "concurrent_execs") == 0) {
      if (integer(v, full, 1, 100000, &l->max_concurrent_execs, err) < 0)
        return -1;
    } else if (strcmp(k, "timeout_ms") == 0) {
      if (integer(v, full, 1, 7LL * 86400 * 1000, &l->max_timeout_ms, err) < 0)
        return -1;
    } else if (strcmp(k, "memory") == 0) {
      if (!json_is_string(v) || airlock_parse_size(json_string_value(v), &l->max_memory_bytes, err) < 0)
        return al_err(err, 0, "node config key '%s' must be a size such as \"2g\"", full);
    } else if (strcmp(k, "disk") == 0) {
      if (!json_is_string(v) || airlock_parse_size(json_string_value(v), &l->max_disk_bytes, err) < 0)
        return al_err(err, 0, "node config key '%s' must be a size such as \"4g\"", full);
    } else if (strcmp(k, "cpus") == 0) {
      if (!json_is_number(v) || !(json_number_value(v) > 0))
        return al_err(err, 0, "node config key '%s' must be a positive number", full);
      l->max_cpus = json_number_value(v);
    } else if (strcmp(k, "snapshots") == 0 && !sandboxes) {
      if (integer(v, full, 0, 100000, &l->max_snapshots, err) < 0)
        return -1;
    } else if (strcmp(k, "snapshot_bytes") == 0 && !sandboxes) {
      if (!json_is_string(v) || airlock_parse_size(json_string_value(v), &l->max_snapshot_bytes, err) < 0)
        return al_err(err, 0, "node config key '%s' must be a size such as \"10g\"", full);
    } else if (strcmp(k, "snapshot_files") == 0 && !sandboxes) {
      if (integer(v, full, 1, 1000000000, &l->max_snapshot_files, err) < 0)
        return -1;
    } else if (strcmp(k, "sandboxes") == 0 && sandboxes) {
      if (integer(v, full, 1, 100000, sandboxes, err) < 0)
        return -1;
    } else {
      return al_err(err, 0, "unknown node config key '%s'", full);
    }
  }
  return 0;
}

int al_node_config_load(al_node_config *c, const char *path, airlock_error **err) {
  json_error_t jerr;
  json_auto_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return al_err(err, 0, "node config %s: %s at line %d column %d", path, jerr.text, jerr.line, jerr.column);
  if (!json_is_object(root))
    return al_err(err, 0, "node config %s must be a JSON object", path);
  const char *k;
  json_t *v;
  json_object_foreach(root, k, v) {
    if (strcmp(k, "listen") == 0) {
      if (!json_is_array(v) || json_array_size(v) == 0)
        return al_err(err, 0,
                      "node config key 'listen' must be a non-empty array of \"unix:PATH\" or \"tcp:HOST:PORT\"");
      size_t i;
      json_t *item;
      json_array_foreach(v, i, item) {
        if (!json_is_string(item))
          return al_err(err, 0, "node config key 'listen[%zu]' must be a string", i);
        if (push(&c->listen, &c->n_listen, json_string_value(item), k, err) < 0)
          return -1;
      }
    } else if (strcmp(k, "state_dir") == 0) {
      if (str(v, k, &c->state_dir, err) < 0)
        return -1;
    } else if (strcmp(k, "workspace_root") == 0) {
      if (str(v, k, &c->workspace_root, err) < 0)
        return -1;
    } else if (strcmp(k, "ready_file") == 0) {
      if (str(v, k, &c->ready_file, err) < 0)
        return -1;
    } else if (strcmp(k, "tls") == 0) {
      const char *tk;
      json_t *tv;
      if (!json_is_object(v))
        return al_err(err, 0, "node config key 'tls' must be an object");
      json_object_foreach(v, tk, tv) {
        char **field = strcmp(tk, "cert") == 0        ? &c->tls_cert
                       : strcmp(tk, "key") == 0       ? &c->tls_key
                       : strcmp(tk, "client_ca") == 0 ? &c->tls_client_ca
                                                      : NULL;
        if (!field)
          return al_err(err, 0, "unknown node config key 'tls.%s'", tk);
        if (str(tv, tk, field, err) < 0)
          return -1;
      }
    } else if (strcmp(k, "insecure_plaintext") == 0) {
      if (!json_is_boolean(v))
        return al_err(err, 0, "node config key 'insecure_plaintext' must be true or false");
      c->insecure_plaintext = json_is_true(v);
    } else if (strcmp(k, "sandbox") == 0) {
      _cleanup_free_ char *text = json_dumps(v, JSON_COMPACT);
      if (!text)
        return al_err(err, ENOMEM, "node config key 'sandbox'");
      if (airlock_spec_load_json(&c->sandbox, text, strlen(text), err) < 0)
        return al_err_prefix(err, "node config key 'sandbox'");
      if (openclaw_agents(c, v, text, err) < 0)
        return -1;
    } else if (strcmp(k, "isolation") == 0) {
      if (!json_is_string(v) || airlock_parse_isolation(json_string_value(v), &c->isolation, err) < 0) {
        airlock_error_free(err);
        return al_err(err, 0, "node config key 'isolation' must be \"namespaces\", \"gvisor\" or \"vm\"");
      }
      c->has_isolation = true;
    } else if (strcmp(k, "max") == 0) {
      if (limits(v, "max", &c->node_max, &c->max_sandboxes, err) < 0)
        return -1;
    } else if (strcmp(k, "tenant_max") == 0) {
      if (limits(v, "tenant_max", &c->tenant_max, NULL, err) < 0)
        return -1;
    } else if (strcmp(k, "pool_size") == 0) {
      if (integer(v, k, 0, 64, &c->pool_size, err) < 0)
        return -1;
    } else if (strcmp(k, "idle_timeout_s") == 0) {
      if (integer(v, k, 1, 30LL * 86400, &c->idle_timeout_s, err) < 0)
        return -1;
    } else if (strcmp(k, "max_age_s") == 0) {
      if (integer(v, k, 1, 365LL * 86400, &c->max_age_s, err) < 0)
        return -1;
    } else if (strcmp(k, "max_output_bytes") == 0) {
      if (integer(v, k, 0, 64LL << 20, &c->max_output_bytes, err) < 0)
        return -1;
    } else if (strcmp(k, "max_body_bytes") == 0) {
      if (integer(v, k, 4096, 1LL << 30, &c->max_body_bytes, err) < 0)
        return -1;
    } else if (strcmp(k, "io_timeout_s") == 0) {
      if (integer(v, k, 1, 3600, &c->io_timeout_s, err) < 0)
        return -1;
    } else if (strcmp(k, "max_unauthenticated_connections") == 0) {
      if (integer(v, k, 1, 100000, &c->max_unauthenticated_connections, err) < 0)
        return -1;
    } else if (strcmp(k, "max_connections_per_peer") == 0) {
      if (integer(v, k, 1, 100000, &c->max_connections_per_peer, err) < 0)
        return -1;
    } else if (strcmp(k, "ui") == 0) {
      const char *uk;
      json_t *uv;
      if (!json_is_object(v))
        return al_err(err, 0, "node config key 'ui' must be an object");
      json_object_foreach(v, uk, uv) {
        if (strcmp(uk, "enabled") != 0)
          return al_err(err, 0, "unknown node config key 'ui.%s'", uk);
        if (!json_is_boolean(uv))
          return al_err(err, 0, "node config key 'ui.enabled' must be true or false");
        c->ui_enabled = json_is_true(uv);
      }
    } else if (strcmp(k, "metrics") == 0) {
      const char *mk;
      json_t *mv;
      if (!json_is_object(v))
        return al_err(err, 0, "node config key 'metrics' must be an object");
      json_object_foreach(v, mk, mv) {
        if (strcmp(mk, "tenant_series") != 0)
          return al_err(err, 0, "unknown node config key 'metrics.%s'", mk);
        if (integer(mv, "metrics.tenant_series", 0, 100, &c->metrics_tenant_series, err) < 0)
          return -1;
      }
    } else if (strcmp(k, "log") == 0) {
      const char *lk;
      json_t *lv;
      if (!json_is_object(v))
        return al_err(err, 0, "node config key 'log' must be an object");
      json_object_foreach(v, lk, lv) {
        bool fmt = strcmp(lk, "format") == 0;
        if (!fmt && strcmp(lk, "level") != 0)
          return al_err(err, 0, "unknown node config key 'log.%s'", lk);
        const char *what = fmt ? "node config key 'log.format'" : "node config key 'log.level'";
        if (fmt ? al_log_format_parse(json_string_value(lv), &c->log_format, what, err) < 0
                : al_log_level_parse(json_string_value(lv), &c->log_level, what, err) < 0)
          return -1;
      }
    } else if (strcmp(k, "sandbox_host_uid") == 0) {
      int64_t uid = 0;
      if (integer(v, k, 1, 4294967294LL, &uid, err) < 0)
        return -1;
      c->sandbox_host_uid = (uint32_t)uid;
    } else if (strcmp(k, "autonomy") == 0) {
      if (al_policy_set_autonomy(&c->policy, v, err) < 0)
        return al_err_prefix(err, "node config");
    } else if (strcmp(k, "approvalGating") == 0) {
      if (al_policy_set_gating(&c->policy, v, err) < 0)
        return al_err_prefix(err, "node config");
    } else if (strcmp(k, "catalogue") == 0) {
      size_t i;
      json_t *item;
      if (!json_is_array(v))
        return al_err(err, 0, "node config key 'catalogue' must be an array of catalogue file paths");
      json_array_foreach(v, i, item) {
        if (!json_is_string(item) || json_string_value(item)[0] != '/')
          return al_err(err, 0, "node config key 'catalogue[%zu]' must be an absolute path", i);
        if (push(&c->catalogue_files, &c->n_catalogue_files, json_string_value(item), k, err) < 0)
          return -1;
      }
    } else if (strcmp(k, "audit") == 0) {
      const char *ak;
      json_t *av;
      if (!json_is_object(v))
        return al_err(err, 0, "node config key 'audit' must be an object");
      json_object_foreach(v, ak, av) {
        if (strcmp(ak, "enabled") == 0 && json_is_boolean(av)) {
          c->audit_enabled = json_is_true(av);
        } else if (strcmp(ak, "retentionDays") == 0) {
          if (integer(av, "audit.retentionDays", 1, 36500, &c->audit_retention_days, err) < 0)
            return -1;
        } else if (strcmp(ak, "redaction") == 0 && json_is_array(av)) {
          size_t j;
          json_t *item;
          json_array_foreach(av, j, item) {
            if (!json_is_string(item) || json_string_value(item)[0] != '/')
              return al_err(err, 0, "node config key 'audit.redaction[%zu]' must be an absolute path", j);
            if (push(&c->redaction_files, &c->n_redaction_files, json_string_value(item), "audit.redaction", err) < 0)
              return -1;
          }
        } else {
          return al_err(err, 0,
                        "node config key 'audit.%s' is not one of enabled (boolean), retentionDays, redaction "
                        "(array of paths)",
                        ak);
        }
      }
    } else if (strcmp(k, "openclaw") == 0) {
      const char *ok;
      json_t *ov;
      if (!json_is_object(v))
        return al_err(err, 0, "node config key 'openclaw' must be an object");
      json_object_foreach(v, ok, ov) {
        char **dst = strcmp(ok, "gateway") == 0     ? &c->openclaw_gateway
                     : strcmp(ok, "setupCode") == 0 ? &c->openclaw_setup_code
                     : strcmp(ok, "token") == 0     ? &c->openclaw_token
                     : strcmp(ok, "name") == 0      ? &c->openclaw_name
                     : strcmp(ok, "scope") == 0     ? &c->openclaw_scope
                     : strcmp(ok, "ca") == 0        ? &c->openclaw_ca
                                                    : NULL;
        if (!dst)
          return al_err(err, 0,
                        "node config key 'openclaw.%s' is not one of gateway, setupCode, token, name, scope, ca", ok);
        if (str(ov, ok, dst, err) < 0)
          return -1;
      }
    } else {
      return al_err(err, 0, "unknown node config key '%s'", k);
    }
  }
  return 0;
}

/* what every sandbox spec of the node must hold: no agent secrets, a sane
 * set of defaults (checked with a placeholder command) */
static int check_sandbox(al_node_config *c, airlock_spec *spec, const char *key, airlock_error **err) {
  if (c->policy.enabled && c->policy.level == AL_LEVEL_READONLY)
    spec->workspace_rw = false; /* enforced by the mount too, not only by the classifier */
  /* the node holds no agent secrets: keys are injected on the gateway's
   * side (airlock run, or a standalone airlock proxy), not here */
  if (spec->n_secrets > 0)
    return al_err(err, 0, "node config key '%s.secrets': the node holds no agent secrets", key);
  char digest[72];
  if (al_image_ref_resolve(spec, c->state_dir, digest, NULL, err) < 0) /* an image of the store: its root */
    return al_err_prefix(err, "node config key '%s.image'", key);
  if (spec->network == AIRLOCK_NETWORK_PROXY && spec->network_json) {
    json_t *net = json_loads(spec->network_json, 0, NULL);
    bool inject = json_object_get(net, "inject") != NULL;
    json_decref(net);
    if (inject)
      return al_err(err, 0,
                    "node config key '%s.network.inject': the node holds no agent secrets; run "
                    "credential injection on the gateway's side (airlock proxy)",
                    key);
  }
  if (al_isolation_available(spec->isolation, spec->allow_degraded, err) < 0)
    return al_err_prefix(err, "node config key '%s'", key);
  char *argv[] = {(char *)"true", NULL};
  spec->argv = argv;
  int rc = airlock_spec_validate(spec, err);
  spec->argv = NULL;
  if (rc < 0)
    return al_err_prefix(err, "node config key '%s'", key);
  return 0;
}

int al_node_config_finish(al_node_config *c, airlock_error **err) {
  if (c->openclaw_scope && strcmp(c->openclaw_scope, "session") != 0 && strcmp(c->openclaw_scope, "agent") != 0 &&
      strcmp(c->openclaw_scope, "shared") != 0)
    return al_err(err, 0, "openclaw scope '%s' is not one of session, agent, shared", c->openclaw_scope);
  if ((c->openclaw_setup_code || c->openclaw_token || c->openclaw_name || c->openclaw_scope || c->openclaw_ca) &&
      !c->openclaw_gateway)
    return al_err(err, 0, "the openclaw settings need a gateway (--openclaw-gateway)");
  if (!c->state_dir && !(c->state_dir = al_default_state_dir()))
    return al_err(err, 0, "no state directory: pass --state-dir");
  if (c->n_listen == 0) {
    _cleanup_free_ char *sock = NULL;
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int r = geteuid() == 0 ? asprintf(&sock, "unix:/run/airlock/node.sock")
            : xdg          ? asprintf(&sock, "unix:%s/airlock/node.sock", xdg)
                           : asprintf(&sock, "unix:%s/node.sock", c->state_dir);
    if (r < 0)
      return al_err(err, 0, "out of memory");
    /* the socket's directory is made here; the socket itself is 0600 */
    _cleanup_free_ char *dir = strdup(sock + 5);
    if (!dir)
      return al_err(err, ENOMEM, "the default listen address");
    *strrchr(dir, '/') = '\0';
    mkdir(dir, 0755);
    if (push(&c->listen, &c->n_listen, sock, "listen", err) < 0)
      return -1;
  }
  if ((c->tls_cert != NULL) != (c->tls_key != NULL))
    return al_err(err, 0, "--tls-cert and --tls-key go together");
  if (c->tls_client_ca && !c->tls_cert)
    return al_err(err, 0, "--tls-client-ca needs --tls-cert and --tls-key");
  /* workspace_root is opened (without following links) when the node
   * starts, and its canonical name taken from that descriptor (node_fs.c) */
  if (c->workspace_root && c->workspace_root[0] != '/')
    return al_err(err, 0, "workspace_root '%s' must be an absolute path", c->workspace_root);
  /* a node attached to an OpenClaw gateway has that gateway's approvers for
   * its invocations; an API request that needs one is then refused when no
   * approver token is named (node_policy.c) */
  if (al_policy_finish(&c->policy, c->openclaw_gateway == NULL, err) < 0)
    return al_err_prefix(err, "node config");
  if (c->policy.enabled && !c->audit_enabled)
    return al_err(err, 0,
                  "node config: an autonomy policy needs the audit trail (audit.enabled true): decisions "
                  "and approvals must be on record");
  /* "isolation" at the top: the default sandbox's and every agent's of an
   * openclaw.json (whose sandbox blocks have no such key) */
  if (c->has_isolation) {
    c->sandbox.isolation = c->isolation;
    for (size_t i = 0; i < c->n_agent_sandboxes; i++)
      c->agent_sandboxes[i].spec.isolation = c->isolation;
  }
  if (check_sandbox(c, &c->sandbox, "sandbox", err) < 0)
    return -1;
  for (size_t i = 0; i < c->n_agent_sandboxes; i++) {
    char key[300];
    snprintf(key, sizeof(key), "sandbox' (agent '%.200s')", c->agent_sandboxes[i].agent_id);
    key[strlen(key) - 1] = '\0'; /* the message closes the quote */
    if (check_sandbox(c, &c->agent_sandboxes[i].spec, key, err) < 0)
      return -1;
  }
  return 0;
}
