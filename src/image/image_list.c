/* SPDX-License-Identifier: Apache-2.0 */
/* image_list.c - `airlock image ls|inspect|rm|gc`: reading the store's meta
 * records, finding an image by name or digest, removing one, and collecting
 * the blobs no image refers to. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "image_store.h"

json_t *al_store_meta(al_store *s, const char *hex) {
  char file[80];
  snprintf(file, sizeof(file), "%s.json", hex);
  int fd = openat(s->meta, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  json_t *j = json_loadfd(fd, 0, NULL);
  close(fd);
  return j;
}

/* every meta record, as a JSON array */
static json_t *all_meta(al_store *s) {
  json_t *out = json_array();
  int fd = openat(s->meta, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (!d) {
    if (fd >= 0)
      close(fd);
    return out;
  }
  struct dirent *de;
  while ((de = readdir(d))) {
    char hex[65];
    if (strlen(de->d_name) != 69 || strcmp(de->d_name + 64, ".json") != 0)
      continue;
    snprintf(hex, sizeof(hex), "%.64s", de->d_name);
    json_t *m = al_digest_valid_hex(hex) ? al_store_meta(s, hex) : NULL;
    if (m)
      json_array_append_new(out, m);
  }
  closedir(d);
  return out;
}

/* REF -> the manifest's hex digest: sha256:HEX, NAME@sha256:HEX, NAME, or
 * a unique prefix of at least 12 hex digits */
int al_store_resolve(al_store *s, const char *ref, char hex[65], airlock_error **err) {
  const char *at = strstr(ref, "@sha256:");
  const char *d = at ? at + 1 : strncmp(ref, "sha256:", 7) == 0 ? ref : NULL;
  if (d) {
    if (!al_digest_valid(d))
      return al_err(err, 0, "'%s' does not end in sha256: and 64 lowercase hex digits", ref);
    snprintf(hex, 65, "%.64s", d + 7);
    json_t *m = al_store_meta(s, hex);
    json_decref(m);
    return m ? 0 : al_err(err, 0, "no image %s in the store (airlock image ls)", d);
  }
  char nf[256], line[AL_DIGEST_MAX + 2] = "";
  if (al_store_name_file(ref, nf, sizeof(nf)) == 0) {
    int fd = openat(s->names, nf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t n = read(fd, line, sizeof(line) - 1);
      close(fd);
      line[n > 0 ? n : 0] = '\0';
      line[strcspn(line, "\n")] = '\0';
      if (al_digest_valid(line)) {
        snprintf(hex, 65, "%.64s", line + 7);
        return 0;
      }
    }
  }
  size_t plen = strlen(ref);
  if (plen >= 12 && plen < 64 && strspn(ref, "0123456789abcdef") == plen) {
    json_t *all = all_meta(s);
    size_t i, found = 0;
    json_t *m;
    json_array_foreach(all, i, m) {
      const char *md = json_string_value(json_object_get(m, "digest"));
      if (md && strncmp(md + 7, ref, plen) == 0 && found++ == 0)
        snprintf(hex, 65, "%.64s", md + 7);
    }
    json_decref(all);
    if (found == 1)
      return 0;
    if (found > 1)
      return al_err(err, 0, "'%s' is the start of %zu image digests: give more of it", ref, found);
  }
  return al_err(err, 0, "no image '%s' in the store (airlock image ls)", ref);
}

int al_image_list(const char *store, bool json, FILE *out, airlock_error **err) {
  __attribute__((cleanup(al_store_close))) al_store s = {-1, -1, -1, -1, -1, -1};
  if (al_store_open(store, false, &s, err) < 0)
    return -1;
  json_t *all = all_meta(&s);
  size_t i;
  json_t *m;
  if (!json)
    fprintf(out, "%-71s  %-30s  %6s  %s\n", "DIGEST", "NAME", "LAYERS", "SIGNED BY");
  json_array_foreach(all, i, m) {
    if (json) {
      char *line = json_dumps(m, JSON_COMPACT);
      fprintf(out, "%s\n", line ? line : "{}");
      free(line);
      continue;
    }
    const char *name = json_string_value(json_object_get(m, "name"));
    const char *by = json_string_value(json_object_get(m, "signed_by"));
    fprintf(out, "%-71s  %-30s  %6zu  %s\n", json_string_value(json_object_get(m, "digest")), name ? name : "-",
            json_array_size(json_object_get(m, "layers")), by ? by : "-");
  }
  json_decref(all);
  return 0;
}

int al_image_inspect(const char *store, const char *ref, FILE *out, airlock_error **err) {
  __attribute__((cleanup(al_store_close))) al_store s = {-1, -1, -1, -1, -1, -1};
  char hex[65];
  if (al_store_open(store, false, &s, err) < 0 || al_store_resolve(&s, ref, hex, err) < 0)
    return -1;
  json_t *m = al_store_meta(&s, hex);
  if (!m)
    return al_err(err, errno, "image %s: meta record", hex);
  json_object_set_new(m, "root", json_sprintf("%s/roots/%s", store, hex));
  char *text = json_dumps(m, JSON_INDENT(2));
  json_decref(m);
  fprintf(out, "%s\n", text ? text : "{}");
  free(text);
  return 0;
}

int al_image_remove(const char *store, const char *ref, airlock_error **err) {
  __attribute__((cleanup(al_store_close))) al_store s = {-1, -1, -1, -1, -1, -1};
  char hex[65];
  if (al_store_open(store, false, &s, err) < 0 || al_store_resolve(&s, ref, hex, err) < 0)
    return -1;
  /* the names that point at it, then its root (renamed away first, so a
   * half-removed root is never used), then its record */
  int fd = openat(s.names, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    char line[AL_DIGEST_MAX + 2] = "";
    int nfd = de->d_name[0] == '.' ? -1 : openat(s.names, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (nfd < 0)
      continue;
    ssize_t n = read(nfd, line, sizeof(line) - 1);
    close(nfd);
    if (n >= 71 && strncmp(line + 7, hex, 64) == 0)
      unlinkat(s.names, de->d_name, 0);
  }
  if (d)
    closedir(d);
  char gone[] = "gone-XXXXXX";
  if (mkdtempat_compat(s.tmp, gone) && renameat(s.roots, hex, s.tmp, gone) == 0)
    al_store_remove_tmp(&s, gone);
  else if (errno != ENOENT)
    return al_err(err, errno, "image %s: its root", hex);
  else
    unlinkat(s.tmp, gone, AT_REMOVEDIR);
  char file[80];
  snprintf(file, sizeof(file), "%s.json", hex);
  if (unlinkat(s.meta, file, 0) < 0)
    return al_err(err, errno, "image %s: meta record", hex);
  return 0;
}

int al_image_gc(const char *store, int64_t *freed, airlock_error **err) {
  __attribute__((cleanup(al_store_close))) al_store s = {-1, -1, -1, -1, -1, -1};
  if (al_store_open(store, false, &s, err) < 0)
    return -1;
  *freed = 0;
  json_t *all = all_meta(&s);
  json_t *used = json_object();
  size_t i, j;
  json_t *m, *l;
  json_array_foreach(all, i, m) {
    json_object_set_new(used, json_string_value(json_object_get(m, "digest")) + 7, json_true());
    json_object_set_new(used, json_string_value(json_object_get(m, "config")) + 7, json_true());
    json_array_foreach(json_object_get(m, "layers"), j, l) json_object_set_new(used, json_string_value(l) + 7,
                                                                               json_true());
  }
  json_decref(all);
  int fd = openat(s.blobs, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    struct stat st;
    if (de->d_name[0] == '.' || json_object_get(used, de->d_name) ||
        fstatat(s.blobs, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    if (unlinkat(s.blobs, de->d_name, 0) == 0)
      *freed += st.st_size;
  }
  if (d)
    closedir(d);
  json_decref(used);
  /* what interrupted imports left (a running import's files are young:
   * gc is not run beside imports) */
  fd = openat(s.tmp, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  d = fd < 0 ? NULL : fdopendir(fd);
  while (d && (de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      al_store_remove_tmp(&s, de->d_name);
  if (d)
    closedir(d);
  return 0;
}
