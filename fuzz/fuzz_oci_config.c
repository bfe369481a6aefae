/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_oci_config.c - an OCI bundle's config.json (untrusted: whoever
 * writes the bundle) through airlock-oci's parser, and its linux.seccomp
 * through the libseccomp compiler, and a process.json (exec --process)
 * through the process parser.  Beyond the sanitizers: a config that
 * parses has what create relies on (args, an absolute cwd, a mount
 * namespace, absolute mount destinations, no mapping of host id 0). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  al_oci_config c;
  airlock_error *err = NULL;
  if (al_oci_config_parse((const char *)data, size, &c, &err) == 0) {
    if (!c.proc.args || !c.proc.args[0] || !c.proc.cwd || c.proc.cwd[0] != '/' || !c.ns[AL_OCI_NS_MNT] ||
        !c.root_path)
      abort();
    for (size_t i = 0; i < c.n_mounts; i++)
      if (!c.mounts[i].dest || c.mounts[i].dest[0] != '/' || !c.mounts[i].type)
        abort();
    for (size_t i = 0; i < c.n_uid_map; i++)
      if (c.uid_map[i].host == 0)
        abort();
    for (size_t i = 0; i < c.n_gid_map; i++)
      if (c.gid_map[i].host == 0)
        abort();
    if (c.seccomp) {
      void *insns = NULL;
      unsigned short len = 0;
      if (al_oci_seccomp_compile(c.seccomp, &insns, &len, &err) == 0 && (insns == NULL || len == 0))
        abort();
      free(insns);
    }
  }
  airlock_error_free(&err);
  al_oci_config_free(&c);
  /* the same bytes as an exec --process document */
  json_t *doc = json_loadb((const char *)data, size, 0, NULL);
  if (doc) {
    al_oci_process p;
    if (al_oci_process_parse(doc, "process", &p, &err) == 0 && (!p.args || !p.args[0] || !p.cwd))
      abort();
    airlock_error_free(&err);
    al_oci_process_free(&p);
    json_decref(doc);
  }
  return 0;
}
