/* node_approver_stub.c - a stand-in for the policy engine's answer to "may
 * this tenant answer approvals?", so that GET /v1/whoami and the web UI
 * build before the approvals queue exists.  It is weak: a real definition
 * linked in (the policy engine's) wins.  Delete this file when that one is
 * merged.  Until then nobody is an approver, which is the safe answer. */
#include "node.h"

__attribute__((weak)) bool al_node_is_approver(al_node *n, const char *tenant) {
  (void)n, (void)tenant;
  return false;
}
