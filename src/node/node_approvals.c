/* SPDX-License-Identifier: Apache-2.0 */
/* node_approvals.c - the approvals API: list and read approvals, approve
 * or reject them.  Only tokens named in approvalGating.approvers may answer,
 * never for their own requests (an agent holding an approver's token must
 * not wave its own commands through); others see only their own tenant's
 * approvals, which is what a polling caller needs. */
#define _GNU_SOURCE
#include "node.h"
#include "clock.h"

#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {} or {"always": bool} / {"reason": string}; -1 after answering 400 */
static int parse_answer(al_node *n, struct evhttp_request *req, bool approve, bool *always, char **reason) {
  size_t len;
  const char *body = al_node_body(req, &len);
  *always = false;
  *reason = NULL;
  if (len == 0)
    return 0;
  json_error_t jerr;
  json_auto_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
  const char *want = approve ? "body must be {} or {\"always\": true|false}"
                             : "body must be {} or {\"reason\": \"text of at most 1000 bytes\"}";
  if (!json_is_object(o)) {
    al_node_reply_error(n, req, 400, "bad_request", "%s", want);
    return -1;
  }
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    if (approve && strcmp(k, "always") == 0 && json_is_boolean(v)) {
      *always = json_is_true(v);
    } else if (!approve && strcmp(k, "reason") == 0 && json_is_string(v) && json_string_length(v) <= 1000 &&
               strlen(json_string_value(v)) == json_string_length(v)) {
      free(*reason);
      *reason = strdup(json_string_value(v));
    } else {
      free(*reason);
      *reason = NULL;
      al_node_reply_error(n, req, 400, "bad_request", "%s", want);
      return -1;
    }
  }
  return 0;
}

static void answer(al_node *n, al_tenant *t, struct evhttp_request *req, const char *id, bool approve) {
  const al_policy *pol = &n->cfg->policy;
  if (!al_policy_is_approver(pol, t->name)) {
    al_node_reply_error(n, req, 403, "forbidden", "token '%s' is not an approver (approvalGating.approvers)", t->name);
    return;
  }
  json_t *ap = al_approvals_get(n->approvals, id);
  if (!ap) {
    al_node_reply_error(n, req, 404, "not_found", "no approval '%s'", id);
    return;
  }
  bool own = strcmp(json_string_value(json_object_get(ap, "tenant")), t->name) == 0;
  json_decref(ap);
  if (own) {
    al_node_reply_error(n, req, 403, "forbidden",
                        "approval '%s' is for a request of '%s' itself; another approver "
                        "must answer it",
                        id, t->name);
    return;
  }
  bool always;
  char *reason;
  if (parse_answer(n, req, approve, &always, &reason) < 0)
    return;
  /* a timeout that is due wins over a late answer, with its defaultAction */
  al_node_approvals_expire(n);
  int64_t now = al_wall_ms();
  al_answer_result r = al_approvals_answer(n->approvals, id, t->name, approve, always, reason, now);
  ap = al_approvals_get(n->approvals, id);
  const char *state = ap ? json_string_value(json_object_get(ap, "state")) : "missing";
  switch (r) {
  case AL_ANSWER_OK: {
    al_node_metrics_approval(n, approve ? 0 : 1, ap, now);
    json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:b}", "kind", "approval.answered", "approval_id", id, "decision",
                            approve ? "approved" : "rejected", "approver", t->name, "always", always);
    json_object_set(rec, "tenant", json_object_get(ap, "tenant"));
    if (json_object_get(ap, "argv"))
      json_object_set(rec, "argv", json_object_get(ap, "argv"));
    if (reason)
      json_object_set_new(rec, "reason", json_string(reason));
    al_node_audit(n, rec);
    al_node_reply_json(req, 200, json_incref(ap));
    al_node_notify(n, approve ? "approval.approved" : "approval.rejected", json_incref(ap));
    al_node_approval_settled(n, id);
    break;
  }
  case AL_ANSWER_NOT_FOUND: al_node_reply_error(n, req, 404, "not_found", "no approval '%s'", id); break;
  case AL_ANSWER_EXPIRED:
    al_node_reply_error(n, req, 409, "expired", "approval '%s' expired before this answer; nothing was changed", id);
    /* the waiting caller learns it now rather than at the next timer */
    al_node_approval_settled(n, id);
    break;
  case AL_ANSWER_ALREADY:
    al_node_reply_error(n, req, 409, "already_answered", "approval '%s' is already %s%s%s; nothing was changed", id,
                        state, json_object_get(ap, "answered_by") ? " by " : "",
                        json_object_get(ap, "answered_by") ? json_string_value(json_object_get(ap, "answered_by"))
                                                           : "");
    break;
  default: al_node_reply_error(n, req, 500, "internal", "approvals database error");
  }
  json_decref(ap);
  free(reason);
}

void al_node_handle_approvals(al_node *n, al_tenant *t, struct evhttp_request *req, al_api_route route,
                              const char *id) {
  enum evhttp_cmd_type m = evhttp_request_get_command(req);
  bool approver = al_node_is_approver(n, t->name);
  if (route == AL_API_APPROVALS) {
    if (m != EVHTTP_REQ_GET) {
      al_node_reply_error(n, req, 405, "method_not_allowed", "use GET");
      return;
    }
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    const char *state = NULL;
    if (query && evhttp_parse_query_str(query, &q) == 0)
      state = evhttp_find_header(&q, "state");
    bool pending = !state || strcmp(state, "pending") == 0;
    if (state && !pending && strcmp(state, "all") != 0) {
      evhttp_clear_headers(&q);
      al_node_reply_error(n, req, 400, "bad_request", "query parameter 'state' must be 'pending' or 'all'");
      return;
    }
    evhttp_clear_headers(&q);
    json_t *list = al_approvals_list(n->approvals, approver ? NULL : t->name, pending, 500);
    al_node_reply_json(req, 200, json_pack("{s:o}", "approvals", list ? list : json_array()));
    return;
  }
  if ((route == AL_API_APPROVAL_APPROVE || route == AL_API_APPROVAL_REJECT) && !approver) {
    al_node_reply_error(n, req, 403, "forbidden", "token '%s' is not an approver (approvalGating.approvers)", t->name);
    return;
  }
  json_auto_t *ap = al_approvals_get(n->approvals, id);
  if (!ap || (!approver && strcmp(json_string_value(json_object_get(ap, "tenant")), t->name) != 0)) {
    al_node_reply_error(n, req, 404, "not_found", "no approval '%s'", id);
    return;
  }
  if (route == AL_API_APPROVAL) {
    if (m != EVHTTP_REQ_GET)
      al_node_reply_error(n, req, 405, "method_not_allowed", "use GET");
    else
      al_node_reply_json(req, 200, json_incref(ap));
    return;
  }
  if (m != EVHTTP_REQ_POST) {
    al_node_reply_error(n, req, 405, "method_not_allowed", "use POST");
    return;
  }
  answer(n, t, req, id, route == AL_API_APPROVAL_APPROVE);
}

bool al_node_is_approver(al_node *n, const char *tenant) { return al_policy_is_approver(&n->cfg->policy, tenant); }
