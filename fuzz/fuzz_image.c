/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_image.c - image layers (untrusted tar, gzip or zstd) through the
 * unpacker onto a fresh root, minisign signature text, cosign-style
 * payloads and base64 signatures through the checkers.  Beyond the sanitizers, the one property that matters is
 * checked after every layer: nothing appeared beside the root. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"

static char parent[] = "/tmp/airlock-fuzz-image.XXXXXX";

static void remove_tree(const char *path) {
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
  if (system(cmd) != 0)
    abort();
}

static int entries(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  if (d)
    closedir(d);
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (parent[sizeof(parent) - 2] == 'X' && !mkdtemp(parent))
    abort();
  if (size < 1)
    return 0;
  char path[128];
  if (data[0] % 3 == 1) { /* minisign signature text against a fixed trusted key */
    char *text = strndup((const char *)data + 1, size - 1);
    char key[128];
    snprintf(key, sizeof(key), "%s/key.pub", parent);
    FILE *f = fopen(key, "w");
    fputs("untrusted comment: minisign public key 1\nRWSiBNLwovmbwsuYlfgHk8kF1xlBFuqQLpS/FMmZtaSFaJyFgucDsved\n", f);
    fclose(f);
    const char *trusted[] = {key, NULL};
    char signer[17];
    airlock_error *err = NULL;
    al_minisign_verify("manifest", 8, text, "fuzz", trusted, signer, &err);
    airlock_error_free(&err);
    unlink(key);
    free(text);
    return 0;
  }
  if (data[0] % 3 == 2) { /* a cosign payload, and base64 signature text against a fixed PEM key */
    const char *digests[] = {"sha256:0000000000000000000000000000000000000000000000000000000000000000", NULL};
    char identity[64];
    airlock_error *err = NULL;
    al_cosign_payload_check((const char *)data + 1, size - 1, digests, identity, sizeof(identity), &err);
    airlock_error_free(&err);
    char *text = strndup((const char *)data + 1, size - 1);
    char key[128];
    snprintf(key, sizeof(key), "%s/key.pem", parent);
    FILE *f = fopen(key, "w");
    fputs("-----BEGIN PUBLIC KEY-----\n"
          "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEwByMyg3ZfgJHDQisWNrlDV045ZM/\n"
          "TXH8kf+BlODLEI78Fz4gUvkIMjr7dc6SWzfAg4olXqApJEbvtO0BHyD+VQ==\n"
          "-----END PUBLIC KEY-----\n",
          f);
    fclose(f);
    const char *trusted[] = {key, NULL};
    char signer[17];
    al_cosign_verify("{}", 2, text, "fuzz", digests, trusted, signer, &err);
    airlock_error_free(&err);
    unlink(key);
    free(text);
    return 0;
  }
  snprintf(path, sizeof(path), "%s/root", parent);
  if (mkdir(path, 0755) < 0)
    abort();
  int rootfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int fd = memfd_create("layer", MFD_CLOEXEC);
  if (rootfd < 0 || fd < 0 || write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
    abort();
  int skipped = 0;
  airlock_error *err = NULL;
  al_layer_apply(rootfd, fd, false, &skipped, &err);
  airlock_error_free(&err);
  close(fd);
  close(rootfd);
  if (entries(parent) != 1) /* a layer wrote beside its root */
    abort();
  remove_tree(path);
  return 0;
}
