/* SPDX-License-Identifier: Apache-2.0 */
/* policy.c - reading the autonomy configuration and deciding on a request
 * (see policy.h for the precedence).  Everything a request is judged by is
 * in al_policy; the decision allocates nothing. */
#define _GNU_SOURCE
#include "policy.h"
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void al_policy_init(al_policy *p) {
  memset(p, 0, sizeof(*p));
  p->level = AL_LEVEL_SUPERVISED;
  p->gating_enabled = true;
  p->timeout_ms = AL_POLICY_DEFAULT_TIMEOUT_MS;
  p->show_full_context = true;
  p->max_pending = AL_POLICY_DEFAULT_MAX_PENDING;
}

void al_policy_clear(al_policy *p) {
  free(p->channel);
  for (size_t i = 0; i < p->n_approvers; i++)
    free(p->approvers[i]);
  free(p->approvers);
  for (size_t i = 0; i < p->n_rules; i++)
    free(p->rules[i].pattern);
  free(p->rules);
  free(p->webhook_url);
  free(p->webhook_secret_file);
  memset(p, 0, sizeof(*p));
}

const char *al_autonomy_level_name(al_autonomy_level l) {
  return l == AL_LEVEL_READONLY ? "readonly" : l == AL_LEVEL_SUPERVISED ? "supervised" : "full";
}

static int action_list(json_t *v, const char *key, unsigned *out, airlock_error **err) {
  if (!json_is_array(v))
    return al_err(err, 0, "%s must be an array of action types", key);
  size_t i;
  json_t *item;
  *out = 0;
  json_array_foreach(v, i, item) {
    al_action a;
    if (!json_is_string(item) || al_action_from_name(json_string_value(item), &a) < 0)
      return al_err(err, 0,
                    "%s[%zu] must be one of code_exec, system_command, file_read, file_write, file_delete, "
                    "http_get, http_post, ssh_exec",
                    key, i);
    *out |= AL_ACTION_BIT(a);
  }
  return 0;
}

static int timeout(json_t *v, const char *key, int64_t *out, airlock_error **err) {
  /* one second to one day: an approval nobody can answer in time is useless,
   * one that waits longer holds a request open for too long */
  if (!json_is_integer(v) || json_integer_value(v) < 1000 || json_integer_value(v) > 86400000)
    return al_err(err, 0, "%s must be milliseconds from 1000 to 86400000", key);
  *out = json_integer_value(v);
  return 0;
}

static int set_str(json_t *v, const char *key, char **out, airlock_error **err) {
  if (!json_is_string(v) || json_string_length(v) == 0)
    return al_err(err, 0, "%s must be a non-empty string", key);
  free(*out);
  *out = strdup(json_string_value(v));
  return 0;
}

int al_policy_set_autonomy(al_policy *p, json_t *a, airlock_error **err) {
  if (!json_is_object(a))
    return al_err(err, 0, "autonomy must be an object");
  p->enabled = true;
  const char *k;
  json_t *v;
  json_object_foreach(a, k, v) {
    if (strcmp(k, "level") == 0) {
      const char *s = json_string_value(v);
      if (s && strcmp(s, "readonly") == 0)
        p->level = AL_LEVEL_READONLY;
      else if (s && strcmp(s, "supervised") == 0)
        p->level = AL_LEVEL_SUPERVISED;
      else if (s && strcmp(s, "full") == 0)
        p->level = AL_LEVEL_FULL;
      else
        return al_err(err, 0, "autonomy.level must be \"readonly\", \"supervised\" or \"full\"");
    } else if (strcmp(k, "allowedActions") == 0) {
      if (action_list(v, "autonomy.allowedActions", &p->allowed, err) < 0)
        return -1;
      p->allowed_set = true;
    } else if (strcmp(k, "blockedActions") == 0) {
      if (action_list(v, "autonomy.blockedActions", &p->blocked, err) < 0)
        return -1;
    } else if (strcmp(k, "approvalChannel") == 0) {
      if (set_str(v, "autonomy.approvalChannel", &p->channel, err) < 0)
        return -1;
    } else if (strcmp(k, "approvalTimeout") == 0) {
      if (timeout(v, "autonomy.approvalTimeout", &p->timeout_ms, err) < 0)
        return -1;
    } else {
      return al_err(err, 0, "unknown key 'autonomy.%s'", k);
    }
  }
  if (p->allowed & p->blocked)
    return al_err(err, 0, "autonomy: an action is both in allowedActions and in blockedActions");
  return 0;
}

static int parse_rule(json_t *r, size_t i, al_policy_rule *out, airlock_error **err) {
  if (!json_is_object(r))
    return al_err(err, 0, "approvalGating.rules[%zu] must be an object", i);
  json_t *action = json_object_get(r, "action"), *pattern = json_object_get(r, "pattern"),
         *approval = json_object_get(r, "approval");
  if (json_object_size(r) != 2 || !approval || (action != NULL) == (pattern != NULL))
    return al_err(err, 0,
                  "approvalGating.rules[%zu] must be {\"action\": TYPE, \"approval\": MODE} or "
                  "{\"pattern\": ID, \"approval\": MODE}",
                  i);
  if (action) {
    if (!json_is_string(action) || al_action_from_name(json_string_value(action), &out->action) < 0)
      return al_err(err, 0, "approvalGating.rules[%zu].action: unknown action type", i);
  } else {
    if (!json_is_string(pattern) || json_string_length(pattern) == 0)
      return al_err(err, 0, "approvalGating.rules[%zu].pattern must be a pattern id", i);
    out->is_pattern = true;
    out->pattern = strdup(json_string_value(pattern));
  }
  const char *m = json_string_value(approval);
  if (m && strcmp(m, "auto") == 0)
    out->mode = AL_APPROVAL_AUTO;
  else if (m && strcmp(m, "required") == 0)
    out->mode = AL_APPROVAL_REQUIRED;
  else if (m && strcmp(m, "deny") == 0)
    out->mode = AL_APPROVAL_DENY;
  else
    return al_err(err, 0, "approvalGating.rules[%zu].approval must be \"auto\", \"required\" or \"deny\"", i);
  return 0;
}

static int parse_webhook(al_policy *p, json_t *w, airlock_error **err) {
  if (!json_is_object(w))
    return al_err(err, 0, "approvalGating.webhook must be an object {\"url\": ..., \"secretFile\": ...}");
  const char *k;
  json_t *v;
  json_object_foreach(w, k, v) {
    if (strcmp(k, "url") == 0) {
      if (set_str(v, "approvalGating.webhook.url", &p->webhook_url, err) < 0)
        return -1;
    } else if (strcmp(k, "secretFile") == 0) {
      if (set_str(v, "approvalGating.webhook.secretFile", &p->webhook_secret_file, err) < 0)
        return -1;
    } else {
      return al_err(err, 0, "unknown key 'approvalGating.webhook.%s'", k);
    }
  }
  if (!p->webhook_url || !p->webhook_secret_file)
    return al_err(err, 0, "approvalGating.webhook needs both url and secretFile (payloads are signed)");
  return 0;
}

int al_policy_set_gating(al_policy *p, json_t *g, airlock_error **err) {
  if (!json_is_object(g))
    return al_err(err, 0, "approvalGating must be an object");
  const char *k;
  json_t *v;
  json_object_foreach(g, k, v) {
    if (strcmp(k, "enabled") == 0) {
      if (!json_is_boolean(v))
        return al_err(err, 0, "approvalGating.enabled must be true or false");
      p->gating_enabled = json_is_true(v);
    } else if (strcmp(k, "channel") == 0) {
      if (set_str(v, "approvalGating.channel", &p->channel, err) < 0)
        return -1;
    } else if (strcmp(k, "approvers") == 0) {
      if (!json_is_array(v))
        return al_err(err, 0, "approvalGating.approvers must be an array of token names");
      size_t i;
      json_t *item;
      json_array_foreach(v, i, item) {
        if (!json_is_string(item) || json_string_length(item) == 0 || json_string_length(item) > 64)
          return al_err(err, 0, "approvalGating.approvers[%zu] must be a token name", i);
        char **grown = realloc(p->approvers, (p->n_approvers + 1) * sizeof(char *));
        if (grown == NULL)
          return al_err(err, ENOMEM, "approvalGating.approvers");
        p->approvers = grown;
        if ((p->approvers[p->n_approvers] = strdup(json_string_value(item))) == NULL)
          return al_err(err, ENOMEM, "approvalGating.approvers");
        p->n_approvers++;
      }
    } else if (strcmp(k, "timeout") == 0) {
      if (timeout(v, "approvalGating.timeout", &p->timeout_ms, err) < 0)
        return -1;
    } else if (strcmp(k, "defaultAction") == 0) {
      const char *s = json_string_value(v);
      if (s && strcmp(s, "reject") == 0)
        p->default_approve = false;
      else if (s && strcmp(s, "approve") == 0)
        p->default_approve = true;
      else
        return al_err(err, 0, "approvalGating.defaultAction must be \"reject\" or \"approve\"");
    } else if (strcmp(k, "maxPending") == 0) {
      /* a flood of requests must not bury the one that matters */
      if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 10000)
        return al_err(err, 0, "approvalGating.maxPending must be an integer from 1 to 10000");
      p->max_pending = json_integer_value(v);
    } else if (strcmp(k, "showFullContext") == 0) {
      if (!json_is_boolean(v))
        return al_err(err, 0, "approvalGating.showFullContext must be true or false");
      p->show_full_context = json_is_true(v);
    } else if (strcmp(k, "rules") == 0) {
      if (!json_is_array(v))
        return al_err(err, 0, "approvalGating.rules must be an array");
      size_t i;
      json_t *item;
      json_array_foreach(v, i, item) {
        al_policy_rule *grown = realloc(p->rules, (p->n_rules + 1) * sizeof(*p->rules));
        if (grown == NULL)
          return al_err(err, ENOMEM, "approvalGating.rules");
        p->rules = grown;
        memset(&p->rules[p->n_rules], 0, sizeof(*p->rules));
        p->n_rules++;
        if (parse_rule(item, i, &p->rules[p->n_rules - 1], err) < 0)
          return -1;
      }
    } else if (strcmp(k, "webhook") == 0) {
      if (parse_webhook(p, v, err) < 0)
        return -1;
    } else {
      return al_err(err, 0, "unknown key 'approvalGating.%s'", k);
    }
  }
  return 0;
}

int al_policy_finish(al_policy *p, bool need_approvers, airlock_error **err) {
  static const char *channels[] = {"web", "cli", "api", "webhook", "telegram", "slack", "discord"};
  if (p->channel) {
    size_t i;
    for (i = 0; i < sizeof(channels) / sizeof(*channels); i++)
      if (strcmp(p->channel, channels[i]) == 0)
        break;
    if (i == sizeof(channels) / sizeof(*channels))
      return al_err(err, 0, "approval channel '%s' is not one of web, cli, api, webhook, telegram, slack, discord",
                    p->channel);
    /* chat channels are reached through a bridge that receives the webhook */
    if (i >= 3 && !p->webhook_url)
      return al_err(err, 0, "approval channel '%s' needs approvalGating.webhook (url and secretFile) to reach it",
                    p->channel);
  }
  if (!p->enabled && p->n_rules)
    return al_err(err, 0, "approvalGating.rules need an autonomy block to apply to");
  if (need_approvers && p->enabled && p->gating_enabled && p->n_approvers == 0 && p->level != AL_LEVEL_READONLY)
    return al_err(err, 0,
                  "approvalGating.approvers is empty: nobody could answer an approval (list approver token "
                  "names, or set approvalGating.enabled to false to deny whatever would need one)");
  return 0;
}

int al_policy_load_file(al_policy *p, const char *path, bool need_approvers, airlock_error **err) {
  json_error_t jerr;
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return al_err(err, 0, "policy %s: %s at line %d column %d", path, jerr.text, jerr.line, jerr.column);
  int rc = -1;
  const char *k;
  json_t *v;
  if (!json_is_object(root)) {
    al_err(err, 0, "must be a JSON object");
    goto out;
  }
  json_object_foreach(root, k, v) {
    if (strcmp(k, "autonomy") == 0) {
      if (al_policy_set_autonomy(p, v, err) < 0)
        goto out;
    } else if (strcmp(k, "approvalGating") == 0) {
      if (al_policy_set_gating(p, v, err) < 0)
        goto out;
    } else {
      al_err(err, 0, "unknown key '%s' (expected autonomy, approvalGating)", k);
      goto out;
    }
  }
  rc = al_policy_finish(p, need_approvers, err);
out:
  json_decref(root);
  if (rc < 0)
    al_err_prefix(err, "policy %s", path);
  return rc;
}

bool al_policy_is_approver(const al_policy *p, const char *name) {
  for (size_t i = 0; i < p->n_approvers; i++)
    if (strcmp(p->approvers[i], name) == 0)
      return true;
  return false;
}

/* --- the decision ------------------------------------------------------ */

#define READ_ACTIONS (AL_ACTION_BIT(AL_ACTION_FILE_READ) | AL_ACTION_BIT(AL_ACTION_HTTP_GET))

/* keep the most restrictive verdict; the first reason for it is the one told */
static void raise_to(al_policy_decision *d, al_verdict v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void raise_to(al_policy_decision *d, al_verdict v, const char *fmt, ...) {
  if (v <= d->verdict && !(v == AL_VERDICT_ALLOW && d->rule[0] == '\0'))
    return;
  d->verdict = v;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->rule, sizeof(d->rule), fmt, ap);
  va_end(ap);
}

static const al_policy_rule *action_rule(const al_policy *p, al_action a, size_t *index) {
  /* the last rule for an action wins, as later lines override earlier ones */
  const al_policy_rule *found = NULL;
  for (size_t i = 0; i < p->n_rules; i++)
    if (!p->rules[i].is_pattern && p->rules[i].action == a) {
      found = &p->rules[i];
      *index = i;
    }
  return found;
}

static const al_policy_rule *pattern_rule(const al_policy *p, const char *id, size_t *index) {
  const al_policy_rule *found = NULL;
  for (size_t i = 0; i < p->n_rules; i++)
    if (p->rules[i].is_pattern && strcmp(p->rules[i].pattern, id) == 0) {
      found = &p->rules[i];
      *index = i;
    }
  return found;
}

/* blockedActions, deny rules, the readonly level, then per-action rules and
 * the level's default, for each action in the set */
static void judge_actions(const al_policy *p, unsigned actions, al_policy_decision *d) {
  for (unsigned a = 0; a < AL_ACTION_COUNT; a++) {
    if (!(actions & AL_ACTION_BIT(a)))
      continue;
    const char *name = al_action_name((al_action)a);
    size_t ri = 0;
    const al_policy_rule *r = action_rule(p, (al_action)a, &ri);
    if (p->blocked & AL_ACTION_BIT(a)) {
      raise_to(d, AL_VERDICT_DENY, "blockedActions: %s", name);
    } else if (r && r->mode == AL_APPROVAL_DENY) {
      raise_to(d, AL_VERDICT_DENY, "approvalGating.rules[%zu]: %s is denied", ri, name);
    } else if (p->level == AL_LEVEL_READONLY && !(READ_ACTIONS & AL_ACTION_BIT(a))) {
      raise_to(d, AL_VERDICT_DENY, "autonomy readonly: %s is not a read", name);
    } else if (r) {
      if (r->mode == AL_APPROVAL_REQUIRED)
        raise_to(d, AL_VERDICT_ASK, "approvalGating.rules[%zu]: %s requires approval", ri, name);
      else
        raise_to(d, AL_VERDICT_ALLOW, "approvalGating.rules[%zu]: %s is auto", ri, name);
    } else if (p->level == AL_LEVEL_SUPERVISED && !(READ_ACTIONS & AL_ACTION_BIT(a))) {
      raise_to(d, AL_VERDICT_ASK, "autonomy supervised: %s changes state", name);
    } else if (p->level == AL_LEVEL_FULL && p->allowed_set && !(p->allowed & AL_ACTION_BIT(a))) {
      raise_to(d, AL_VERDICT_ASK, "autonomy full: %s is not in allowedActions", name);
    } else {
      raise_to(d, AL_VERDICT_ALLOW, "autonomy %s: %s is allowed", al_autonomy_level_name(p->level), name);
    }
  }
}

static void gate(const al_policy *p, al_policy_decision *d) {
  if (d->verdict == AL_VERDICT_ASK && !p->gating_enabled) {
    static const char tail[] = ", and approval gating is disabled";
    size_t len = strlen(d->rule), room = sizeof(d->rule) - sizeof(tail);
    memcpy(d->rule + (len < room ? len : room), tail, sizeof(tail));
    d->verdict = AL_VERDICT_DENY;
  }
}

void al_policy_decide_actions(const al_policy *p, unsigned actions, al_policy_decision *d) {
  memset(d, 0, sizeof(*d));
  d->actions = actions;
  if (!p->enabled) {
    snprintf(d->rule, sizeof(d->rule), "no autonomy policy");
    return;
  }
  judge_actions(p, actions, d);
  if (d->rule[0] == '\0')
    snprintf(d->rule, sizeof(d->rule), "autonomy %s", al_autonomy_level_name(p->level));
  gate(p, d);
}

void al_policy_decide(const al_policy *p, const al_classification *c, al_policy_decision *d) {
  memset(d, 0, sizeof(*d));
  d->actions = c ? c->actions : 0;
  if (!p->enabled) {
    snprintf(d->rule, sizeof(d->rule), "no autonomy policy");
    return;
  }
  if (!c) {
    if (p->level == AL_LEVEL_READONLY)
      raise_to(d, AL_VERDICT_DENY, "autonomy readonly: the command could not be parsed");
    else
      raise_to(d, AL_VERDICT_ASK, "the command could not be parsed, so what it does is unknown");
    gate(p, d);
    return;
  }
  d->actions = c->actions;
  /* dangerous patterns first: when several reasons ask for approval, the
   * pattern is the one worth telling the approver */
  for (size_t i = 0; i < c->n_matches; i++) {
    const al_match *m = &c->matches[i];
    size_t ri = 0;
    const al_policy_rule *r = pattern_rule(p, m->id, &ri);
    if (r && r->mode == AL_APPROVAL_DENY)
      raise_to(d, AL_VERDICT_DENY, "approvalGating.rules[%zu]: pattern %s is denied", ri, m->id);
    else if (p->level == AL_LEVEL_READONLY)
      raise_to(d, AL_VERDICT_DENY, "autonomy readonly: dangerous pattern %s", m->id);
    else if (r && r->mode == AL_APPROVAL_AUTO)
      continue;
    else if (r)
      raise_to(d, AL_VERDICT_ASK, "approvalGating.rules[%zu]: pattern %s requires approval", ri, m->id);
    else
      raise_to(d, AL_VERDICT_ASK, "dangerous pattern %s: %s", m->id, m->description);
  }
  judge_actions(p, c->actions, d);
  /* what cannot be read statically cannot be judged statically */
  if (c->opaque || c->dynamic) {
    const char *what = c->opaque ? "code that cannot be read (sh -c with a variable, eval, ...)"
                                 : "a command name only known when it runs";
    if (p->level == AL_LEVEL_READONLY)
      raise_to(d, AL_VERDICT_DENY, "autonomy readonly: %s", what);
    else
      raise_to(d, AL_VERDICT_ASK, "%s", what);
  }
  if (d->rule[0] == '\0')
    snprintf(d->rule, sizeof(d->rule), "autonomy %s", al_autonomy_level_name(p->level));
  gate(p, d);
}
