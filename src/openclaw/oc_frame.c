/* SPDX-License-Identifier: Apache-2.0 */
/* oc_frame.c - the gateway's JSON frames, parsed strictly (they are
 * untrusted input: fuzz/fuzz_openclaw.c), and the node's frames built.
 * Hand-written because the protocol is only JSON over WebSocket: jansson
 * parses, this file checks shapes and types. */
#define _GNU_SOURCE
#include "openclaw.h"
#include "error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void oc_frame_clear(oc_frame *f) {
  if (f->root)
    json_decref(f->root);
  memset(f, 0, sizeof(*f));
}

static const char *str_field(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

int oc_frame_parse(const char *text, size_t len, oc_frame *f, airlock_error **err) {
  memset(f, 0, sizeof(*f));
  if (len > OC_MAX_FRAME)
    return al_err(err, 0, "frame of %zu bytes is too large", len);
  json_error_t je;
  f->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!f->root)
    return al_err(err, 0, "frame is not JSON: %s", je.text);
  if (!json_is_object(f->root)) {
    oc_frame_clear(f);
    return al_err(err, 0, "frame is not a JSON object");
  }
  const char *type = str_field(f->root, "type");
  if (!type) {
    oc_frame_clear(f);
    return al_err(err, 0, "frame has no type");
  }
  if (strcmp(type, "req") == 0) {
    f->type = OC_FRAME_REQ;
    f->id = str_field(f->root, "id");
    f->name = str_field(f->root, "method");
    f->payload = json_object_get(f->root, "params");
  } else if (strcmp(type, "res") == 0) {
    f->type = OC_FRAME_RES;
    f->id = str_field(f->root, "id");
    json_t *ok = json_object_get(f->root, "ok");
    if (!json_is_boolean(ok)) {
      oc_frame_clear(f);
      return al_err(err, 0, "res frame has no boolean ok");
    }
    f->ok = json_is_true(ok);
    f->payload = json_object_get(f->root, f->ok ? "payload" : "error");
  } else if (strcmp(type, "event") == 0) {
    f->type = OC_FRAME_EVENT;
    f->name = str_field(f->root, "event");
    f->payload = json_object_get(f->root, "payload");
  } else {
    oc_frame_clear(f);
    return al_err(err, 0, "unknown frame type");
  }
  if ((f->type != OC_FRAME_EVENT && !f->id) || (f->type != OC_FRAME_RES && !f->name)) {
    static const char *const names[] = {"req", "res", "event"};
    const char *kind = names[f->type], *what = f->id || f->type == OC_FRAME_EVENT ? "a name" : "an id";
    oc_frame_clear(f); /* type pointed into the frame */
    return al_err(err, 0, "%s frame without %s", kind, what);
  }
  return 0;
}

static char *dup_field(const json_t *o, const char *key) {
  const char *s = str_field(o, key);
  return s ? strdup(s) : NULL;
}

void oc_invoke_clear(oc_invoke *inv) {
  free(inv->id);
  free(inv->node_id);
  free(inv->command);
  if (inv->params)
    json_decref(inv->params);
  memset(inv, 0, sizeof(*inv));
}

int oc_invoke_parse(const json_t *payload, oc_invoke *inv, airlock_error **err) {
  memset(inv, 0, sizeof(*inv));
  if (!json_is_object(payload))
    return al_err(err, 0, "node.invoke.request without a payload object");
  inv->id = dup_field(payload, "id");
  inv->node_id = dup_field(payload, "nodeId");
  inv->command = dup_field(payload, "command");
  if (!inv->id || !*inv->id || !inv->command) {
    oc_invoke_clear(inv);
    return al_err(err, 0, "node.invoke.request needs string id and command");
  }
  json_t *t = json_object_get(payload, "timeoutMs");
  if (json_is_integer(t) && json_integer_value(t) > 0)
    inv->timeout_ms = json_integer_value(t);
  const json_t *pj = json_object_get(payload, "paramsJSON");
  if (json_is_string(pj)) {
    json_error_t je;
    inv->params = json_loadb(json_string_value(pj), json_string_length(pj), JSON_REJECT_DUPLICATES, &je);
    if (!inv->params || !json_is_object(inv->params)) {
      oc_invoke_clear(inv);
      return al_err(err, 0, "paramsJSON is not a JSON object");
    }
  } else if (pj && !json_is_null(pj)) {
    oc_invoke_clear(inv);
    return al_err(err, 0, "paramsJSON must be a string");
  } else {
    inv->params = json_object();
  }
  return 0;
}

const char *oc_cancel_id(const json_t *payload) {
  const char *id = str_field(payload, "invokeId");
  return id ? id : str_field(payload, "id");
}

int oc_challenge_parse(const json_t *payload, const char **nonce, int64_t *ts, airlock_error **err) {
  *nonce = str_field(payload, "nonce");
  const json_t *t = json_object_get(payload, "ts");
  if (!*nonce || !**nonce || !json_is_integer(t))
    return al_err(err, 0, "connect.challenge needs a nonce and an integer ts");
  *ts = json_integer_value(t);
  return 0;
}

char *oc_req_text(const char *id, const char *method, json_t *params) {
  json_t *o = json_pack("{s:s,s:s,s:s,s:o}", "type", "req", "id", id, "method", method, "params",
                        params ? params : json_object());
  if (!o)
    return NULL;
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return text;
}

json_t *oc_result_ok(const char *invoke_id, const char *node_id, json_t *payload) {
  char *text = json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref(payload);
  json_t *o =
      text ? json_pack("{s:s,s:s,s:b,s:s}", "id", invoke_id, "nodeId", node_id, "ok", 1, "payloadJSON", text) : NULL;
  free(text);
  return o;
}

json_t *oc_result_error(const char *invoke_id, const char *node_id, const char *code, const char *message) {
  return json_pack("{s:s,s:s,s:b,s:{s:s,s:s}}", "id", invoke_id, "nodeId", node_id, "ok", 0, "error", "code", code,
                   "message", message);
}

json_t *oc_node_event(const char *event, json_t *payload) {
  char *text = json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref(payload);
  json_t *o = text ? json_pack("{s:s,s:s}", "event", event, "payloadJSON", text) : NULL;
  free(text);
  return o;
}
