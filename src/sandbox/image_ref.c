/* SPDX-License-Identifier: Apache-2.0 */
/* image_ref.c - `--image REF` (flag, config, node config, openclaw.json's
 * docker.image): a directory as before, or an
 * image of the store pinned by digest (NAME@sha256:HEX or sha256:HEX), whose
 * unpacked root (STATE_DIR.images/roots/HEX) becomes the sandbox's root.  A
 * tag alone could name different content tomorrow, so it is refused with
 * the digest it names today.  libc only: part of libairlock. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "image_ref.h"
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

int al_image_ref_resolve(airlock_spec *spec, const char *state_dir, char digest[72], airlock_error **err) {
  digest[0] = '\0';
  const char *ref = spec->image;
  if (!ref)
    return 0;
  const char *at = strstr(ref, "@sha256:");
  const char *d = at ? at + 1 : strncmp(ref, "sha256:", 7) == 0 ? ref : NULL;
  struct stat st;
  if (!d && ref[0] == '/')
    return 0; /* a directory: the sandbox opens and checks it */
  if (!d && stat(ref, &st) == 0 && S_ISDIR(st.st_mode))
    return 0;
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
  snprintf(digest, 72, "%.71s", d);
  return airlock_spec_set_string(&spec->image, root, err);
}
