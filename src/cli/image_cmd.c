/* SPDX-License-Identifier: Apache-2.0 */
/* image_cmd.c - `airlock image import|ls|inspect|rm|gc`: the image store of
 * the state directory (src/image/).  `airlock run --image NAME@sha256:HEX`
 * then runs on an imported image's root (image_ref.c). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "error.h"
#include "image.h"

#define MAX_KEYS 16

static void usage(FILE *out) {
  fprintf(out, "usage: airlock image import PATH [--name NAME[:TAG]] [--signature FILE [--signature-payload FILE]\n"
               "                            --trusted-key FILE...] [--require-signature] [--keep-setuid]\n"
               "       airlock image ls [--json]\n"
               "       airlock image inspect REF\n"
               "       airlock image verify REF --trusted-key FILE...\n"
               "       airlock image rm REF...\n"
               "       airlock image gc\n"
               "every subcommand takes --state-dir DIR (the store is DIR.images, beside it)\n"
               "\n"
               "PATH is an OCI image layout: a directory or a tar of one (skopeo copy ... oci:DIR, docker save).\n"
               "Every blob is checked against its sha256 digest; layers are unpacked once (whiteouts honoured,\n"
               "no path leaves the root, device nodes skipped, setuid/setgid dropped unless --keep-setuid).\n"
               "--signature is a minisign signature of the manifest blob, or with --signature-payload a cosign-style\n"
               "one (base64 ECDSA P-256 over a payload naming the manifest digest), checked with the --trusted-key\n"
               "files (minisign public keys, or PEM).  verify checks an image's stored signature again.\n"
               "REF: NAME[:TAG], NAME@sha256:HEX, sha256:HEX or the first 12+ hex digits.\n"
               "Run an image with: airlock run --image NAME@sha256:HEX -- CMD\n");
}

int cli_image(int argc, char **argv) {
  enum { OPT_NAME = 256, OPT_SIG, OPT_PAYLOAD, OPT_KEY, OPT_REQUIRE, OPT_SETUID, OPT_STATE, OPT_JSON };
  static const struct option options[] = {
      {"name", required_argument, NULL, OPT_NAME},       {"signature", required_argument, NULL, OPT_SIG},
      {"trusted-key", required_argument, NULL, OPT_KEY}, {"require-signature", no_argument, NULL, OPT_REQUIRE},
      {"keep-setuid", no_argument, NULL, OPT_SETUID},    {"state-dir", required_argument, NULL, OPT_STATE},
      {"json", no_argument, NULL, OPT_JSON},             {"help", no_argument, NULL, 'h'},
      {"signature-payload", required_argument, NULL, OPT_PAYLOAD},
      {NULL, 0, NULL, 0}};
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? CLI_EXIT_USAGE : 0;
  }
  const char *sub = argv[1];
  if (strcmp(sub, "import") && strcmp(sub, "ls") && strcmp(sub, "inspect") && strcmp(sub, "rm") && strcmp(sub, "gc") &&
      strcmp(sub, "verify"))
    return cli_fail("image", NULL, CLI_EXIT_USAGE, "unknown subcommand '%s' (import, ls, inspect, verify, rm, gc)",
                    sub);
  al_image_import_opts o = {0};
  const char *keys[MAX_KEYS + 1] = {0};
  int n_keys = 0;
  const char *state_flag = NULL;
  bool json = false;
  opterr = 0;
  optind = 0;
  int opt;
  while ((opt = getopt_long(argc - 1, argv + 1, ":h", options, NULL)) != -1) {
    switch (opt) {
    case 'h': usage(stdout); return 0;
    case OPT_NAME: o.name = optarg; break;
    case OPT_SIG: o.signature = optarg; break;
    case OPT_PAYLOAD: o.signature_payload = optarg; break;
    case OPT_KEY:
      if (n_keys == MAX_KEYS)
        return cli_fail("image", sub, CLI_EXIT_USAGE, "at most %d --trusted-key", MAX_KEYS);
      keys[n_keys++] = optarg;
      break;
    case OPT_REQUIRE: o.require_signature = true; break;
    case OPT_SETUID: o.keep_setuid = true; break;
    case OPT_STATE: state_flag = optarg; break;
    case OPT_JSON: json = true; break;
    default: return cli_bad_option("image", sub, opt, argv + 1);
    }
  }
  char **args = argv + 1 + optind;
  int nargs = argc - 1 - optind;
  bool import = strcmp(sub, "import") == 0, verify = strcmp(sub, "verify") == 0;
  if ((import || verify || !strcmp(sub, "inspect")) && nargs != 1)
    return cli_fail("image", sub, CLI_EXIT_USAGE, "give exactly one %s", import ? "PATH" : "REF");
  if (!strcmp(sub, "rm") && nargs < 1)
    return cli_fail("image", sub, CLI_EXIT_USAGE, "give the REF of at least one image");
  if ((!strcmp(sub, "ls") || !strcmp(sub, "gc")) && nargs)
    return cli_fail("image", sub, CLI_EXIT_USAGE, "unexpected argument '%s'", args[0]);
  if (!import && (o.name || o.signature || o.signature_payload || o.require_signature || o.keep_setuid))
    return cli_fail("image", sub, CLI_EXIT_USAGE, "--name, --signature, --signature-payload, --require-signature and "
                                                   "--keep-setuid are for import");
  if (!import && !verify && n_keys)
    return cli_fail("image", sub, CLI_EXIT_USAGE, "--trusted-key is for import and verify");
  if (verify && !n_keys)
    return cli_fail("image", sub, CLI_EXIT_USAGE, "give the keys to trust: --trusted-key FILE...");
  _cleanup_free_ char *state = NULL, *store = NULL;
  int rc = cli_state_dir("image", sub, state_flag, &state);
  if (rc)
    return rc;
  /* beside the state directory, like the node's workspaces: the state
   * directory is private (0700), and sandboxes must reach their image root */
  if (asprintf(&store, "%s.images", state) < 0)
    return cli_fail("image", sub, CLI_EXIT_FAILED, "out of memory");
  _cleanup_error_ airlock_error *err = NULL;
  o.trusted = keys;
  if (import) {
    char digest[AL_DIGEST_MAX];
    if (al_image_import(store, args[0], &o, digest, &err) < 0)
      return cli_fail_error("image", sub, CLI_EXIT_FAILED, &err);
    printf("%s%s%s\n", o.name ? o.name : "", o.name ? "@" : "", digest);
    return 0;
  }
  if (verify) {
    char signer[17] = "", digest[AL_DIGEST_MAX];
    if (al_image_verify(store, args[0], keys, signer, digest, &err) < 0)
      return cli_fail_error("image", sub, CLI_EXIT_FAILED, &err);
    printf("%s: signed by %s\n", digest, signer);
    return 0;
  }
  if (!strcmp(sub, "ls"))
    return al_image_list(store, json, stdout, &err) < 0 ? cli_fail_error("image", sub, CLI_EXIT_FAILED, &err) : 0;
  if (!strcmp(sub, "inspect"))
    return al_image_inspect(store, args[0], stdout, &err) < 0 ? cli_fail_error("image", sub, CLI_EXIT_FAILED, &err)
                                                              : 0;
  if (!strcmp(sub, "gc")) {
    int64_t freed = 0;
    if (al_image_gc(store, &freed, &err) < 0)
      return cli_fail_error("image", sub, CLI_EXIT_FAILED, &err);
    printf("freed %lld bytes\n", (long long)freed);
    return 0;
  }
  for (int i = 0; i < nargs; i++) {
    if (al_image_remove(store, args[i], &err) < 0)
      rc = cli_fail_error("image", sub, CLI_EXIT_FAILED, &err);
    else
      puts(args[i]);
  }
  return rc;
}
