/* SPDX-License-Identifier: Apache-2.0 */
/* image_store.c - the content-addressed store (layout in image.h): blobs in
 * by digest check, roots unpacked once per manifest, meta records and names,
 * and what ls, inspect, rm and gc do with them.  All access goes through the
 * store's directory descriptors, never through a path built again. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "image_store.h"

bool al_digest_valid_hex(const char *hex) {
  char d[AL_DIGEST_MAX];
  snprintf(d, sizeof(d), "sha256:%.64s", hex);
  return strlen(hex) == 64 && al_digest_valid(d);
}

/* the template's trailing XXXXXX replaced by random letters and digits */
static int random_suffix(char *template) {
  size_t n = strlen(template);
  unsigned char r[6];
  if (n < 6 || strcmp(template + n - 6, "XXXXXX") != 0)
    return errno = EINVAL, -1;
  if (getrandom(r, sizeof(r), 0) != sizeof(r))
    return -1;
  for (int i = 0; i < 6; i++)
    template[n - 6 + i] = "abcdefghijklmnopqrstuvwxyz0123456789"[r[i] % 36];
  return 0;
}

char *mkdtempat_compat(int dirfd, char *template) {
  char pattern[128];
  snprintf(pattern, sizeof(pattern), "%s", template);
  for (int tries = 0; tries < 100; tries++) {
    snprintf(template, strlen(pattern) + 1, "%s", pattern);
    if (random_suffix(template) < 0)
      return NULL;
    if (mkdirat(dirfd, template, 0700) == 0)
      return template;
    if (errno != EEXIST)
      return NULL;
  }
  return NULL;
}

int al_store_name_file(const char *name, char *out, size_t size) {
  size_t o = 0;
  if (!*name || strlen(name) > 200)
    return -1;
  for (const char *p = name; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c < 0x21 || c > 0x7e)
      return -1;
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                 c == '_' || c == '-';
    if (o + 4 > size || (o == 0 && c == '.'))
      return -1;
    o += (size_t)snprintf(out + o, size - o, plain ? "%c" : "%%%02X", c);
  }
  return 0;
}

static int open_sub(int parent, const char *name, bool create) {
  if (create && mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
    return -1;
  return openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int al_store_open(const char *path, bool create, al_store *s, airlock_error **err) {
  if (create && mkdir(path, 0755) < 0 && errno != EEXIST)
    return al_err(err, errno, "image store '%s'", path);
  s->root = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (s->root < 0)
    return al_err(err, errno, create ? "image store '%s'" : "image store '%s' (nothing imported yet?)", path);
  struct stat st;
  if (fstat(s->root, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022))
    return al_err(err, 0, "image store '%s' must belong to uid %u and be writable by nobody else", path, geteuid());
  int blobs_parent = open_sub(s->root, "blobs", create);
  s->blobs = blobs_parent < 0 ? -1 : open_sub(blobs_parent, "sha256", create);
  if (blobs_parent >= 0)
    close(blobs_parent);
  s->roots = open_sub(s->root, "roots", create);
  s->meta = open_sub(s->root, "meta", create);
  s->names = open_sub(s->root, "names", create);
  s->tmp = open_sub(s->root, "tmp", create);
  if (s->blobs < 0 || s->roots < 0 || s->meta < 0 || s->names < 0 || s->tmp < 0)
    return al_err(err, errno, "image store '%s'", path);
  return 0;
}

void al_store_close(al_store *s) {
  int *fds[] = {&s->root, &s->blobs, &s->roots, &s->meta, &s->names, &s->tmp};
  for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
    if (*fds[i] >= 0)
      close(*fds[i]), *fds[i] = -1;
}

int al_store_blob_copy(al_store *s, int layout, const char *digest, char **bytes, size_t *len, airlock_error **err) {
  if (!al_digest_valid(digest))
    return al_err(err, 0, "blob digest '%.80s' is not sha256:HEX", digest);
  char src[96];
  snprintf(src, sizeof(src), "blobs/sha256/%s", digest + 7);
  _cleanup_close_ int in = openat(layout, src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0)
    return al_err(err, errno, "blob %s", digest);
  char tmp[] = "blob-XXXXXX";
  _cleanup_close_ int out = -1;
  for (int tries = 0; out < 0 && tries < 100; tries++) {
    memcpy(tmp + 5, "XXXXXX", 6);
    if (random_suffix(tmp) < 0)
      return al_err(err, errno, "image store: temporary file");
    out = openat(s->tmp, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
  }
  if (out < 0)
    return al_err(err, errno, "image store: temporary file");
  char got[AL_DIGEST_MAX];
  int64_t size = 0;
  if (al_image_sha256_fd(in, out, got, &size, err) < 0 || strcmp(got, digest) != 0) {
    unlinkat(s->tmp, tmp, 0);
    return al_err(err, 0, "blob %s does not match its digest (its content hashes to %s): the image was altered",
                  digest, got);
  }
  if (bytes) {
    if (size > (4 << 20)) {
      unlinkat(s->tmp, tmp, 0);
      return al_err(err, 0, "blob %s is %lld bytes, too large for a manifest", digest, (long long)size);
    }
    *bytes = malloc((size_t)size + 1);
    if (!*bytes || pread(out, *bytes, (size_t)size, 0) != size) {
      free(*bytes);
      *bytes = NULL;
      unlinkat(s->tmp, tmp, 0);
      return al_err(err, errno ? errno : ENOMEM, "blob %s", digest);
    }
    (*bytes)[size] = '\0';
    *len = (size_t)size;
  }
  if (renameat(s->tmp, tmp, s->blobs, digest + 7) < 0) {
    unlinkat(s->tmp, tmp, 0);
    return al_err(err, errno, "image store: blob %s", digest);
  }
  return 0;
}

void al_store_remove_tmp(al_store *s, const char *name) { al_remove_tree_at(s->tmp, name); }

static int write_file_at(int dirfd, const char *name, const char *text, airlock_error **err) {
  char tmp[300];
  snprintf(tmp, sizeof(tmp), ".%s.new", name);
  _cleanup_close_ int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  size_t len = strlen(text);
  if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0)
    return al_err(err, errno, "image store: '%s'", name);
  return 0;
}

int al_store_unpack(al_store *s, int layout, const char *mdigest, json_t *manifest, bool keep_setuid,
                    const char *name, const char *signer, json_t *signature, airlock_error **err) {
  json_t *config = json_object_get(manifest, "config");
  json_t *layers = json_object_get(manifest, "layers");
  const char *cd = json_string_value(json_object_get(config, "digest"));
  if (!cd || !json_is_array(layers))
    return al_err(err, 0, "manifest %s has no config digest or no layers", mdigest);
  if (al_store_blob_copy(s, layout, cd, NULL, NULL, err) < 0)
    return -1;
  json_t *ldigests = json_array();
  size_t i;
  json_t *l;
  int64_t total = 0;
  json_array_foreach(layers, i, l) {
    const char *ld = json_string_value(json_object_get(l, "digest"));
    const char *mt = json_string_value(json_object_get(l, "mediaType"));
    if (mt && !strstr(mt, "tar")) {
      json_decref(ldigests);
      return al_err(err, 0, "layer %zu of %s has media type '%s', not a tar", i, mdigest, mt);
    }
    if (al_store_blob_copy(s, layout, ld, NULL, NULL, err) < 0) {
      json_decref(ldigests);
      return al_err_prefix(err, "layer %zu", i);
    }
    total += json_integer_value(json_object_get(l, "size"));
    json_array_append_new(ldigests, json_string(ld));
  }
  int skipped = 0;
  struct stat st;
  if (fstatat(s->roots, mdigest + 7, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    char tmp[] = "root-XXXXXX";
    if (!mkdtempat_compat(s->tmp, tmp) || fchmodat(s->tmp, tmp, 0755, 0) < 0) {
      json_decref(ldigests);
      return al_err(err, errno, "image store: temporary root");
    }
    _cleanup_close_ int rootfd = openat(s->tmp, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int rc = rootfd < 0 ? al_err(err, errno, "image store: temporary root") : 0;
    json_array_foreach(ldigests, i, l) {
      if (rc < 0)
        break;
      /* unpacked from the stored, verified blob: checked again as it is read */
      _cleanup_close_ int fd = openat(s->blobs, json_string_value(l) + 7, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      char again[AL_DIGEST_MAX];
      if (fd < 0 || al_image_sha256_fd(fd, -1, again, NULL, err) < 0 || strcmp(again, json_string_value(l)) != 0)
        rc = al_err(err, errno, "stored layer %s changed since it was verified", json_string_value(l));
      else if (al_layer_apply(rootfd, fd, keep_setuid, &skipped, err) < 0)
        rc = al_err_prefix(err, "layer %zu (%s)", i, json_string_value(l));
    }
    if (rc < 0 || renameat(s->tmp, tmp, s->roots, mdigest + 7) < 0) {
      if (rc == 0)
        al_err(err, errno, "image store: root of %s", mdigest);
      al_remove_tree_at(s->tmp, tmp);
      json_decref(ldigests);
      return -1;
    }
  }
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  json_t *meta = json_pack("{s:s,s:s,s:o,s:I,s:I,s:i}", "digest", mdigest, "config", cd, "layers", ldigests,
                           "size", (json_int_t)total, "imported_at_ms",
                           (json_int_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, "skipped_entries", skipped);
  json_object_set_new(meta, "name", name && *name ? json_string(name) : json_null());
  /* the same manifest imported again keeps the signatures it had (an
   * unsigned import must not strip them); a new one is added once */
  json_t *before = al_store_meta(s, mdigest + 7);
  json_t *sigs = json_object_get(before, "signatures");
  sigs = json_is_array(sigs) ? json_deep_copy(sigs) : json_array();
  const char *old_signer = json_string_value(json_object_get(before, "signed_by"));
  bool known = false;
  json_t *one;
  json_array_foreach(sigs, i, one)
    known = known || (signature && json_equal(one, signature));
  if (signature && !known)
    json_array_append(sigs, signature);
  json_object_set_new(meta, "signatures", sigs);
  json_object_set_new(meta, "signed_by", signer && *signer      ? json_string(signer)
                                         : old_signer && *old_signer ? json_string(old_signer)
                                                                     : json_null());
  json_decref(before);
  char *text = json_dumps(meta, JSON_COMPACT);
  json_decref(meta);
  char file[80];
  snprintf(file, sizeof(file), "%s.json", mdigest + 7);
  int rc = text ? write_file_at(s->meta, file, text, err) : al_err(err, ENOMEM, "image meta");
  free(text);
  if (rc == 0 && name && *name) {
    char nf[256], line[AL_DIGEST_MAX + 2];
    if (al_store_name_file(name, nf, sizeof(nf)) < 0)
      return al_err(err, 0, "image name '%.200s' is not printable ASCII of at most 200 bytes", name);
    snprintf(line, sizeof(line), "%s\n", mdigest);
    rc = write_file_at(s->names, nf, line, err);
  }
  return rc;
}
