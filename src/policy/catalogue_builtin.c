/* SPDX-License-Identifier: Apache-2.0 */
/* catalogue_builtin.c - the shipped dangerous-action catalogue
 * (data/dangerous-actions.json), compiled in at build time so that a policy
 * never depends on an installed data file; users add their own files on top
 * (al_catalogue_add_file). */
#include "classify.h"

#include "catalogue_builtin.h"

int al_catalogue_load_builtin(al_catalogue **out, airlock_error **err) {
  return al_catalogue_load_json(catalogue_builtin, catalogue_builtin_len, "built-in dangerous-actions.json", out, err);
}
