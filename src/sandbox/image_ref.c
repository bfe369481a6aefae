/* SPDX-License-Identifier: Apache-2.0 */
/* image_ref.c - `--image REF` (flag, config, node config, openclaw.json's
 * docker.image): a directory as before, or an
 * image of the store pinned by digest (NAME@sha256:HEX or sha256:HEX), whose
 * unpacked root (STATE_DIR.images/roots/HEX) becomes the sandbox's root.  A
 * tag alone could name different content tomorrow, so it is refused with
 * the digest it names today.  Under a signature requirement (imageTrust) the
 * image's stored signature is checked again with the keys trusted now, by
 * airlock-node (libairlock is libc only and has no crypto). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "cleanup.h"
#include "error.h"
#include "image_ref.h"
#include "node_bin.h"
#include "statedir.h"

static bool hex64(const char *s) {
  return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* the digest a tag names in the store, for the refusal's message */
static void tag_digest(const char *store, const char *tag, char *out, size_t size) {
  char file[256];
  size_t o = 0;
  out[0] = '\0';
  for (const char *p = tag; *p && o + 4 < sizeof(file); p++) {
    unsigned char c = (unsigned char)*p;
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                 c == '_' || c == '-';
    o += (size_t)snprintf(file + o, sizeof(file) - o, plain ? "%c" : "%%%02X", c);
  }
  char path[PATH_MAX + 300];
  snprintf(path, sizeof(path), "%s/names/%s", store, file);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return;
  ssize_t n = read(fd, out, size - 1);
  close(fd);
  out[n > 0 ? n : 0] = '\0';
  out[strcspn(out, "\n")] = '\0';
}

int al_spec_add_trusted_key(airlock_spec *spec, const char *path, airlock_error **err) {
  if (!*path)
    return al_err(err, 0, "a trusted key must be a file name, not empty");
  char *copy = strdup(path);
  char **grown = copy ? realloc(spec->image_trusted_keys, (spec->n_image_trusted_keys + 2) * sizeof(*grown)) : NULL;
  if (!grown) {
    free(copy);
    return al_err(err, ENOMEM, "trusted key");
  }
  spec->image_trusted_keys = grown;
  grown[spec->n_image_trusted_keys++] = copy;
  grown[spec->n_image_trusted_keys] = NULL;
  return 0;
}

/* `airlock-node image verify REF --trusted-key K... --state-dir S`: its
 * stdout's last word is the signer, its stderr goes to ours */
static int verify_signature(const airlock_spec *spec, const char *ref, const char *state, char signer[17],
                            airlock_error **err) {
  char path[PATH_MAX];
  if (al_node_binary_path(path, sizeof(path), err) < 0)
    return al_err_prefix(err, "image '%s': a signature is to be checked, which needs airlock-node", ref);
  size_t n = 0;
  char *argv[8 + 2 * 64];
  argv[n++] = (char *)"airlock-node";
  argv[n++] = (char *)"image";
  argv[n++] = (char *)"verify";
  argv[n++] = (char *)ref;
  argv[n++] = (char *)"--state-dir";
  argv[n++] = (char *)state;
  for (size_t i = 0; i < spec->n_image_trusted_keys && i < 64; i++) {
    argv[n++] = (char *)"--trusted-key";
    argv[n++] = spec->image_trusted_keys[i];
  }
  argv[n] = NULL;
  if (spec->n_image_trusted_keys > 64)
    return al_err(err, 0, "at most 64 trusted keys");
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0)
    return al_err(err, errno, "pipe");
  int fds[3] = {-1, pipefd[1], 2};
  _cleanup_child_ pid_t pid = al_helper_spawn(path, argv, fds, 3, err);
  close(pipefd[1]);
  if (pid < 0) {
    close(pipefd[0]);
    return -1;
  }
  char out[256];
  size_t got = 0;
  ssize_t r;
  while (got < sizeof(out) - 1 && ((r = read(pipefd[0], out + got, sizeof(out) - 1 - got)) > 0 || (r < 0 && errno == EINTR)))
    if (r > 0)
      got += (size_t)r;
  close(pipefd[0]);
  out[got] = '\0';
  int status = 0;
  pid_t waited = al_child_wait(pid, &status, 0);
  pid = -1;
  if (waited < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return al_err(err, 0, "image '%s': its signature did not verify with the trusted keys (see above)", ref);
  out[strcspn(out, "\n")] = '\0';
  const char *word = strrchr(out, ' ');
  if (signer)
    snprintf(signer, 17, "%.16s", word ? word + 1 : out);
  return 0;
}

int al_image_ref_resolve(airlock_spec *spec, const char *state_dir, char digest[72], char signer[17],
                         airlock_error **err) {
  digest[0] = '\0';
  if (signer)
    signer[0] = '\0';
  const char *ref = spec->image;
  if (!ref)
    return 0;
  bool trust = spec->image_require_signature || spec->n_image_trusted_keys > 0;
  const char *at = strstr(ref, "@sha256:");
  const char *d = at ? at + 1 : strncmp(ref, "sha256:", 7) == 0 ? ref : NULL;
  struct stat st;
  if (!d && (ref[0] == '/' || (stat(ref, &st) == 0 && S_ISDIR(st.st_mode)))) {
    if (trust)
      return al_err(err, 0,
                    "image '%s' is a directory, which carries no signature, and a signed image is required "
                    "(imageTrust): import it with 'airlock image import --signature'",
                    ref);
    return 0; /* a directory: the sandbox opens and checks it */
  }
  char *state = state_dir ? strdup(state_dir) : al_default_state_dir();
  if (!state)
    return al_err(err, 0, "no state directory for the image store: give --state-dir");
  char store[PATH_MAX], root[PATH_MAX + 80];
  int len = snprintf(store, sizeof(store), "%s.images", state); /* beside the private state directory */
  free(state);
  if (len < 0 || (size_t)len >= sizeof(store))
    return al_err(err, 0, "the state directory's path is too long");
  if (!d) {
    char known[80];
    tag_digest(store, ref, known, sizeof(known));
    if (known[0])
      return al_err(err, 0, "image '%s' is a tag, which may name other content later: pin it by digest, %s@%s", ref,
                    ref, known);
    return al_err(err, 0,
                  "image '%s' is neither a directory nor an image pinned by digest (NAME@sha256:HEX; airlock "
                  "image import, airlock image ls)",
                  ref);
  }
  if (!hex64(d + 7))
    return al_err(err, 0, "image '%s': the digest is not sha256: and 64 lowercase hex digits", ref);
  snprintf(root, sizeof(root), "%s/roots/%s", store, d + 7);
  if (lstat(root, &st) < 0 || !S_ISDIR(st.st_mode))
    return al_err(err, 0, "image '%s': no image %.71s in the store %s (airlock image import)", ref, d, store);
  if (trust) {
    if (!spec->n_image_trusted_keys)
      return al_err(err, 0, "image '%s': a signature is required and no trusted key is given (imageTrust.trustedKeys, "
                    "--trusted-key)", ref);
    char sd[PATH_MAX];
    snprintf(sd, sizeof(sd), "%.*s", (int)(strlen(store) - strlen(".images")), store);
    if (verify_signature(spec, d, sd, signer, err) < 0)
      return -1;
  }
  snprintf(digest, 72, "%.71s", d);
  return airlock_spec_set_string(&spec->image, root, err);
}
