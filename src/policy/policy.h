/* SPDX-License-Identifier: Apache-2.0 */
/* policy.h - autonomy levels and approval rules: what may run without a
 * human, what needs one, and what never runs.  The configuration is the JSON
 * of OpenClaw's autonomy settings ("autonomy" and "approvalGating" blocks);
 * the decision is a pure function of that configuration and a request's
 * classification (classify.h), so it can be tested as a matrix and costs
 * microseconds.  Remembered "approve always" answers are the caller's
 * business (they live in the approval store, not in the configuration). */
#ifndef AIRLOCK_POLICY_H
#define AIRLOCK_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "classify.h"

typedef enum { AL_LEVEL_READONLY, AL_LEVEL_SUPERVISED, AL_LEVEL_FULL } al_autonomy_level;
typedef enum { AL_APPROVAL_AUTO, AL_APPROVAL_REQUIRED, AL_APPROVAL_DENY } al_approval_mode;
typedef enum { AL_VERDICT_ALLOW, AL_VERDICT_ASK, AL_VERDICT_DENY } al_verdict;

typedef struct al_policy_rule {
  bool is_pattern;  /* {"pattern": ID, ...} names a catalogue pattern */
  al_action action; /* for {"action": TYPE, ...} */
  char *pattern;
  al_approval_mode mode;
} al_policy_rule;

#define AL_POLICY_DEFAULT_TIMEOUT_MS 300000
#define AL_POLICY_DEFAULT_MAX_PENDING 20

typedef struct al_policy {
  bool enabled; /* an "autonomy" block was given */
  al_autonomy_level level;
  unsigned allowed, blocked; /* AL_ACTION_BIT sets */
  bool allowed_set;          /* allowedActions given: unlisted actions ask */
  bool gating_enabled;       /* approvalGating.enabled (default true) */
  char *channel;             /* "web", "cli", "api", "webhook", "telegram", ... */
  char **approvers;          /* token names */
  size_t n_approvers;
  int64_t timeout_ms;
  bool default_approve; /* defaultAction "approve"; "reject" unless said */
  bool show_full_context;
  int64_t max_pending; /* approvals one tenant may have waiting (default 20) */
  al_policy_rule *rules;
  size_t n_rules;
  char *webhook_url, *webhook_secret_file;
} al_policy;

void al_policy_init(al_policy *p);
void al_policy_clear(al_policy *p);
/* The "autonomy" object: level, allowedActions, blockedActions, and the
 * older approvalChannel / approvalTimeout spellings. */
int al_policy_set_autonomy(al_policy *p, json_t *autonomy, airlock_error **err);
/* The "approvalGating" object: enabled, channel, approvers, timeout,
 * defaultAction, showFullContext, maxPending, rules, webhook {url, secretFile}. */
int al_policy_set_gating(al_policy *p, json_t *gating, airlock_error **err);
/* Cross-checks once both blocks are read.  With need_approvers (the node),
 * a configuration under which an approval could be asked for must name
 * someone who can give it; `airlock run` asks the person at the terminal. */
int al_policy_finish(al_policy *p, bool need_approvers, airlock_error **err);
/* A whole policy file: {"autonomy": ..., "approvalGating": ...}. */
int al_policy_load_file(al_policy *p, const char *path, bool need_approvers, airlock_error **err);

bool al_policy_is_approver(const al_policy *p, const char *name);
const char *al_autonomy_level_name(al_autonomy_level l);

typedef struct al_policy_decision {
  al_verdict verdict;
  char rule[256];   /* which rule decided, for people and the audit trail */
  unsigned actions; /* what was judged */
} al_policy_decision;

/* Decide on a classified command; c == NULL means it could not be parsed.
 * Precedence, strongest first: blockedActions and "deny" rules; the
 * readonly level; dangerous patterns (ask, unless a pattern rule says
 * otherwise); action rules; the level's default.  The most restrictive
 * verdict over all segments wins. */
void al_policy_decide(const al_policy *p, const al_classification *c, al_policy_decision *d);
/* The same for a request whose actions are known without a command (the
 * files API: file_read, file_write, file_delete). */
void al_policy_decide_actions(const al_policy *p, unsigned actions, al_policy_decision *d);

#endif
