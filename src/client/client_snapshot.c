/* SPDX-License-Identifier: Apache-2.0 */
/* client_snapshot.c - snapshots, restore, reset and fork of a node's
 * persistent sandboxes (docs/api.md "Snapshots"): thin calls over
 * airlock_client_request that build the paths and bodies, so that a caller
 * never puts a name into a path or a JSON string itself. */
#define _GNU_SOURCE
#include "client_priv.h"
#include "cleanup.h"
#include "error.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the node's rule for names and ids (node_request.c): checked here too, so
 * that nothing else ever reaches a path */
static int name_ok(const char *what, const char *s, airlock_error **err) {
  size_t n = s ? strlen(s) : 0;
  bool ok = n > 0 && n <= 64 && s[0] != '.' && s[0] != '-';
  for (size_t i = 0; ok && i < n; i++)
    ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
         s[i] == '_' || s[i] == '.' || s[i] == '-';
  if (ok || (s && strcmp(s, "@created") == 0))
    return 0;
  return al_err(err, 0, "%s '%s' is not a name of 1 to 64 letters, digits, '.', '_' or '-'", what, s ? s : "");
}

static int post_json(airlock_client *c, const char *path, json_t *body, char **json_out, airlock_error **err) {
  _cleanup_free_ char *text = body ? json_dumps(body, JSON_COMPACT) : strdup("{}");
  if (!text)
    return al_err(err, ENOMEM, "request body");
  size_t len = 0;
  return airlock_client_request(c, "POST", path, text, strlen(text), NULL, json_out, &len, err);
}

int airlock_client_snapshot_create(airlock_client *c, const char *sandbox_id, const char *name, char **json_out,
                                   airlock_error **err) {
  *json_out = NULL;
  _cleanup_free_ char *base = al_client_sandbox_path(c, sandbox_id, err);
  _cleanup_free_ char *path = NULL;
  if (!base || name_ok("snapshot name", name, err) < 0)
    return -1;
  if (asprintf(&path, "%s/snapshots", base) < 0)
    return al_err(err, ENOMEM, "request path");
  json_auto_t *body = json_pack("{s:s}", "name", name);
  if (post_json(c, path, body, json_out, err) < 0)
    return al_err_prefix(err, "cannot snapshot sandbox '%s'", sandbox_id);
  return 0;
}

int airlock_client_snapshot_list(airlock_client *c, const char *sandbox_id, char **json_out, airlock_error **err) {
  *json_out = NULL;
  _cleanup_free_ char *path = NULL;
  if (sandbox_id) {
    _cleanup_free_ char *base = al_client_sandbox_path(c, sandbox_id, err);
    if (!base)
      return -1;
    if (asprintf(&path, "%s/snapshots", base) < 0)
      return al_err(err, ENOMEM, "request path");
  } else if (!(path = strdup("/v1/snapshots"))) {
    return al_err(err, ENOMEM, "request path");
  }
  size_t len = 0;
  if (airlock_client_request(c, "GET", path, NULL, 0, NULL, json_out, &len, err) < 0)
    return al_err_prefix(err, "cannot list snapshots");
  return 0;
}

int airlock_client_snapshot_delete(airlock_client *c, const char *sandbox_id, const char *snapshot,
                                   airlock_error **err) {
  _cleanup_free_ char *path = NULL;
  if (name_ok("snapshot", snapshot, err) < 0)
    return -1;
  if (sandbox_id) {
    _cleanup_free_ char *base = al_client_sandbox_path(c, sandbox_id, err);
    if (!base)
      return -1;
    if (asprintf(&path, "%s/snapshots/%s", base, snapshot) < 0)
      return al_err(err, ENOMEM, "request path");
  } else if (asprintf(&path, "/v1/snapshots/%s", snapshot) < 0) {
    return al_err(err, ENOMEM, "request path");
  }
  if (airlock_client_request(c, "DELETE", path, NULL, 0, NULL, NULL, NULL, err) < 0)
    return al_err_prefix(err, "cannot delete snapshot '%s'", snapshot);
  return 0;
}

int airlock_client_sandbox_restore(airlock_client *c, const char *sandbox_id, const char *snapshot,
                                   airlock_error **err) {
  _cleanup_free_ char *base = al_client_sandbox_path(c, sandbox_id, err);
  _cleanup_free_ char *path = NULL;
  if (!base || (snapshot && name_ok("snapshot", snapshot, err) < 0))
    return -1;
  if (asprintf(&path, "%s/%s", base, snapshot ? "restore" : "reset") < 0)
    return al_err(err, ENOMEM, "request path");
  json_auto_t *body = snapshot ? json_pack("{s:s}", "snapshot", snapshot) : NULL;
  _cleanup_free_ char *resp = NULL;
  if (post_json(c, path, body, &resp, err) < 0)
    return al_err_prefix(err, "cannot %s sandbox '%s'", snapshot ? "restore" : "reset", sandbox_id);
  return 0;
}

int airlock_client_sandbox_fork(airlock_client *c, const char *sandbox_id, const char *snapshot,
                                const char *extra_json, char **id_out, airlock_error **err) {
  *id_out = NULL;
  if ((!sandbox_id && !snapshot) || (sandbox_id && name_ok("sandbox id", sandbox_id, err) < 0) ||
      (snapshot && name_ok("snapshot", snapshot, err) < 0))
    return sandbox_id || snapshot ? -1 : al_err(err, 0, "a fork needs a sandbox id or a snapshot id");
  json_auto_t *body = extra_json ? json_loads(extra_json, 0, NULL) : json_object();
  if (!json_is_object(body))
    return al_err(err, 0, "the sandbox's JSON body must be an object");
  json_t *from = json_object();
  if (sandbox_id)
    json_object_set_new(from, "sandbox", json_string(sandbox_id));
  if (snapshot)
    json_object_set_new(from, "snapshot", json_string(snapshot));
  json_object_set_new(body, "fork_from", from);
  _cleanup_free_ char *text = json_dumps(body, JSON_COMPACT);
  if (!text)
    return al_err(err, ENOMEM, "request body");
  return airlock_client_sandbox_create(c, text, id_out, err);
}
