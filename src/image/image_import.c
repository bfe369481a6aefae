/* SPDX-License-Identifier: Apache-2.0 */
/* image_import.c - `airlock image import`: an OCI image layout (directory, or
 * a tar of one) into the store.  The layout is untrusted: index, manifest,
 * config and layers are each copied into the store only through a sha256
 * check against the digest that names them, the manifest's signature is
 * checked on the bytes that were verified, and the root is unpacked from the
 * stored blobs into a temporary directory that is renamed into place only
 * when every layer applied. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"
#include "image.h"
#include "image_store.h"

#define MAX_JSON (4 << 20) /* index, manifest and config are small documents */

/* a tar of a layout: only its oci-layout, index.json and blobs/sha256/HEX
 * regular files are taken, into a fresh directory under the store's tmp */
static int extract_layout(int tmpfd, int tarfd, const char *tarpath, char *dir, size_t size, airlock_error **err) {
  snprintf(dir, size, "layout-XXXXXX");
  if (!mkdtempat_compat(tmpfd, dir))
    return al_err(err, errno, "image store: temporary directory");
  _cleanup_close_ int out = openat(tmpfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (out < 0 || mkdirat(out, "blobs", 0755) < 0 || mkdirat(out, "blobs/sha256", 0755) < 0)
    return al_err(err, errno, "image store: temporary directory");
  struct archive *a = archive_read_new();
  if (!a)
    return al_err(err, ENOMEM, "image");
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  int rc = 0;
  if (archive_read_open_fd(a, tarfd, 1 << 16) != ARCHIVE_OK)
    rc = al_err(err, 0, "image '%s' is neither a directory nor a tar archive: %s", tarpath, archive_error_string(a));
  struct archive_entry *e;
  int r = ARCHIVE_OK;
  while (rc == 0 && ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)) {
    const char *p = archive_entry_pathname(e);
    while (p[0] == '.' && p[1] == '/')
      p += 2;
    bool blob = strncmp(p, "blobs/sha256/", 13) == 0 && al_digest_valid_hex(p + 13);
    if (archive_entry_filetype(e) != AE_IFREG || !(blob || !strcmp(p, "oci-layout") || !strcmp(p, "index.json")))
      continue;
    _cleanup_close_ int fd = openat(out, p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 || archive_read_data_into_fd(a, fd) != ARCHIVE_OK)
      rc = al_err(err, errno, "image '%s': entry '%.200s'", tarpath, p);
  }
  if (rc == 0 && r != ARCHIVE_EOF)
    rc = al_err(err, 0, "image '%s': %s", tarpath, archive_error_string(a));
  archive_read_free(a);
  return rc;
}

static json_t *load_small_json(int fd, const char *what, airlock_error **err) {
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_JSON) {
    al_err(err, 0, "%s is not a JSON document of at most %d bytes", what, MAX_JSON);
    return NULL;
  }
  json_error_t je;
  lseek(fd, 0, SEEK_SET);
  json_t *j = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
  if (!j || !json_is_object(j)) {
    json_decref(j);
    al_err(err, 0, "%s: %s", what, j ? "not a JSON object" : je.text);
  }
  return j;
}

static const char *arch_name(void) {
  struct utsname u;
  if (uname(&u) == 0 && strcmp(u.machine, "aarch64") == 0)
    return "arm64";
  return "amd64";
}

/* the manifest to import among an index's entries: a name's tag, else the
 * only one, else the one for this machine */
static json_t *choose(json_t *manifests, const char *name, airlock_error **err) {
  const char *tag = NULL;
  if (name) {
    const char *slash = strrchr(name, '/'), *colon = strrchr(name, ':');
    tag = colon && (!slash || colon > slash) ? colon + 1 : "latest";
  }
  size_t i, n = json_array_size(manifests);
  json_t *m, *arch = NULL;
  json_array_foreach(manifests, i, m) {
    const char *ref = json_string_value(json_object_get(json_object_get(m, "annotations"),
                                                        "org.opencontainers.image.ref.name"));
    if (tag && ref && (strcmp(ref, tag) == 0 || strcmp(ref, name) == 0))
      return m;
    const char *a = json_string_value(json_object_get(json_object_get(m, "platform"), "architecture"));
    if (a && strcmp(a, arch_name()) == 0 && !arch)
      arch = m;
  }
  if (n == 1)
    return json_array_get(manifests, 0);
  if (arch)
    return arch;
  al_err(err, 0, "the layout holds %zu manifests and none is named '%s': give --name NAME:TAG", n,
         tag ? tag : "(no name)");
  return NULL;
}

static bool is_index(const char *media) {
  return media && (strcmp(media, "application/vnd.oci.image.index.v1+json") == 0 ||
                   strcmp(media, "application/vnd.docker.distribution.manifest.list.v2+json") == 0);
}

/* The signature of the manifest (minisign's over its blob, or cosign-style
 * over a payload naming its digest), checked with the trusted keys; *rec
 * gets what the meta record keeps to check it again at run time.  Each
 * file is read once. */
static int check_signature(const al_image_import_opts *o, const char *mbytes, size_t mlen, const char *mdigest,
                           const char *listed, char signer[17], json_t **rec, airlock_error **err) {
  _cleanup_free_ char *sig = NULL, *payload = NULL;
  if (al_image_read_small("signature", o->signature, &sig, err) < 0)
    return -1;
  if (o->signature_payload) {
    if (al_image_read_small("signature payload", o->signature_payload, &payload, err) < 0)
      return -1;
    const char *digests[] = {mdigest, listed, NULL};
    if (al_cosign_verify(payload, strlen(payload), sig, o->signature, digests, o->trusted, signer, err) < 0)
      return -1;
    *rec = json_pack("{s:s,s:s,s:s}", "format", "cosign", "signature", sig, "payload", payload);
    if (*rec && strcmp(listed, mdigest) != 0) /* the payload may name the index */
      json_object_set_new(*rec, "index", json_string(listed));
  } else {
    if (strncmp(sig, "untrusted comment:", 18) != 0)
      return al_err(err, 0, "signature '%s' is not a minisign signature; a cosign-style one needs "
                    "--signature-payload FILE", o->signature);
    if (al_minisign_verify(mbytes, mlen, sig, o->signature, o->trusted, signer, err) < 0)
      return -1;
    *rec = json_pack("{s:s,s:s}", "format", "minisign", "signature", sig);
  }
  return *rec ? 0 : al_err(err, ENOMEM, "signature record");
}

int al_image_import(const char *store, const char *path, const al_image_import_opts *o, char digest[AL_DIGEST_MAX],
                    airlock_error **err) {
  if (o->require_signature && !o->signature)
    return al_err(err, 0, "a signature is required (--signature FILE): the image is not imported");
  if (o->signature && (!o->trusted || !o->trusted[0]))
    return al_err(err, 0, "--signature needs at least one --trusted-key FILE to check it with");
  if (o->signature_payload && !o->signature)
    return al_err(err, 0, "--signature-payload needs the --signature FILE made over it");
  __attribute__((cleanup(al_store_close))) al_store s = {-1, -1, -1, -1, -1, -1};
  if (al_store_open(store, true, &s, err) < 0)
    return -1;
  char tmpname[64] = "";
  _cleanup_close_ int ifd = -1;
  json_t *manifest = NULL, *sigrec = NULL;
  char *mbytes = NULL;
  size_t mlen = 0;
  /* PATH is opened once; a tar is read through that descriptor */
  _cleanup_close_ int layout = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
  struct stat st;
  if (layout < 0 || fstat(layout, &st) < 0) {
    al_err(err, errno, "image '%s'", path);
    goto fail;
  }
  if (S_ISREG(st.st_mode)) {
    int tar = layout;
    layout = -1;
    int rc = extract_layout(s.tmp, tar, path, tmpname, sizeof(tmpname), err);
    close(tar);
    if (rc < 0)
      goto fail;
    layout = openat(s.tmp, tmpname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (layout < 0) {
      al_err(err, errno, "image store: unpacked layout");
      goto fail;
    }
  } else if (!S_ISDIR(st.st_mode)) {
    al_err(err, 0, "image '%s' is neither a directory nor a tar archive", path);
    goto fail;
  }
  if (fstatat(layout, "oci-layout", &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
    al_err(err, 0, "image '%s' is not an OCI image layout (no oci-layout file)", path);
    goto fail;
  }
  ifd = openat(layout, "index.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  json_t *index = ifd >= 0 ? load_small_json(ifd, "index.json", err) : NULL;
  if (ifd < 0)
    al_err(err, errno, "image '%s': index.json", path);
  if (!index)
    goto fail;
  json_t *desc = choose(json_object_get(index, "manifests"), o->name, err);
  char mdigest[AL_DIGEST_MAX];
  const char *d = desc ? json_string_value(json_object_get(desc, "digest")) : NULL;
  const char *media = desc ? json_string_value(json_object_get(desc, "mediaType")) : NULL;
  char refname[256] = "";
  const char *ann = desc ? json_string_value(json_object_get(json_object_get(desc, "annotations"),
                                                             "org.opencontainers.image.ref.name"))
                         : NULL;
  snprintf(refname, sizeof(refname), "%s", o->name ? o->name : ann ? ann : "");
  if (desc && !al_digest_valid(d))
    al_err(err, 0, "index.json: a manifest digest is not sha256:HEX");
  snprintf(mdigest, sizeof(mdigest), "%s", d && al_digest_valid(d) ? d : "");
  bool listed_as_index = is_index(media); /* media points into index */
  json_decref(index);
  if (!mdigest[0])
    goto fail;
  char listed_digest[AL_DIGEST_MAX]; /* a signature may name the index the manifest was chosen from */
  snprintf(listed_digest, sizeof(listed_digest), "%s", mdigest);
  for (int depth = 0; depth < 2; depth++) { /* an index of platforms, then its manifest */
    if (al_store_blob_copy(&s, layout, mdigest, &mbytes, &mlen, err) < 0)
      goto fail;
    manifest = json_loadb(mbytes, mlen, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(manifest)) {
      al_err(err, 0, "manifest %s is not a JSON object", mdigest);
      goto fail;
    }
    const char *mt = json_string_value(json_object_get(manifest, "mediaType"));
    if (!is_index(mt) && !(depth == 0 && listed_as_index))
      break;
    json_t *pick = choose(json_object_get(manifest, "manifests"), NULL, err);
    const char *pd = pick ? json_string_value(json_object_get(pick, "digest")) : NULL;
    if (!al_digest_valid(pd)) {
      al_err(err, 0, "image index %s has no usable manifest for %s", mdigest, arch_name());
      goto fail;
    }
    snprintf(mdigest, sizeof(mdigest), "%s", pd);
    json_decref(manifest);
    free(mbytes);
    manifest = NULL, mbytes = NULL;
  }
  char signer[17] = "";
  if (o->signature && check_signature(o, mbytes, mlen, mdigest, listed_digest, signer, &sigrec, err) < 0)
    goto fail;
  if (al_store_unpack(&s, layout, mdigest, manifest, o->keep_setuid, refname, signer, sigrec, err) < 0)
    goto fail;
  json_decref(manifest);
  json_decref(sigrec);
  free(mbytes);
  manifest = NULL, mbytes = NULL;
  if (tmpname[0])
    al_store_remove_tmp(&s, tmpname);
  snprintf(digest, AL_DIGEST_MAX, "%s", mdigest);
  return 0;
fail:
  json_decref(sigrec);
  json_decref(manifest);
  free(mbytes);
  if (tmpname[0])
    al_store_remove_tmp(&s, tmpname);
  return -1;
}
