#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make_layout.py - OCI image layouts for tests/image/image_test.sh, built
here from the host's own binaries (no registry): a base layer with /bin/sh,
cat and their libraries, and a second layer that exercises the unpacker
(whiteout, opaque directory, setuid bit, a device node, symbolic and hard
links).  Hostile variants are written on request.

usage: make_layout.py DIR KIND [ARG]
  KIND good        the two-layer image, ref name "v1"
  KIND escape      a layer with an entry "../escaped-ARG" (ARG: a marker)
  KIND symlink     a layer whose symbolic link points at the host path ARG
                   and a later entry written through it
  KIND twoimages   two manifests in one index (ref names "a" and "b")
Prints the manifest digest."""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def blob(root, data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(root, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


def tar_layer(entries, compress=True):
    """entries: (TarInfo, bytes or None)"""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for info, data in entries:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    raw = buf.getvalue()
    return gzip.compress(raw, mtime=0) if compress else raw


def entry(name, kind=tarfile.REGTYPE, data=None, mode=0o644, link=None, uid=0):
    i = tarfile.TarInfo(name)
    i.type, i.mode, i.uid, i.gid, i.mtime = kind, mode, uid, uid, 0
    if data is not None:
        i.size = len(data)
    if link is not None:
        i.linkname = link
    if kind == tarfile.CHRTYPE:
        i.devmajor, i.devminor = 1, 3
    return i, data


def libs_of(paths):
    out = set()
    for p in paths:
        text = subprocess.run(["ldd", p], capture_output=True, text=True).stdout
        for line in text.splitlines():
            parts = line.split()
            if "=>" in parts and parts[parts.index("=>") + 1].startswith("/"):
                out.add(parts[parts.index("=>") + 1])
            elif parts and parts[0].startswith("/"):
                out.add(parts[0])
    return sorted(out)


def base_layer():
    """the host's layout: /bin, /lib and /lib64 as the links they are
    (merged /usr), files where they really are, links to them kept"""
    bins = ["/bin/sh", "/bin/cat", "/bin/ls", "/usr/bin/id", "/usr/bin/stat"]
    entries, dirs, files, links = [], set(), set(), {}
    for top in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink("/" + top):
            links[top] = os.readlink("/" + top)
    for b in bins + libs_of([os.path.realpath(b) for b in bins]):
        here = os.path.join(os.path.realpath(os.path.dirname(b)), os.path.basename(b))
        if os.path.islink(here):
            links[here.lstrip("/")] = os.readlink(here)
        files.add(os.path.realpath(b))
    for path in list(files) + ["/" + k for k in links]:
        parent = os.path.dirname(path)
        while parent not in ("/", "") and parent.lstrip("/") not in links:
            dirs.add(parent)
            parent = os.path.dirname(parent)
    for d in sorted(dirs):
        entries.append(entry(d.lstrip("/"), tarfile.DIRTYPE, mode=0o755))
    for path in sorted(files):
        with open(path, "rb") as f:
            entries.append(entry(path.lstrip("/"), data=f.read(), mode=0o755))
    for name, target in sorted(links.items()):
        entries.append(entry(name, tarfile.SYMTYPE, link=target))
    entries += [entry("etc", tarfile.DIRTYPE, mode=0o755),
                entry("etc/image-release", data=b"airlock test image v1\n"),
                entry("etc/removed.txt", data=b"lower layer\n"),
                entry("opaque", tarfile.DIRTYPE, mode=0o755),
                entry("opaque/old.txt", data=b"hidden by the upper layer\n")]
    return tar_layer(entries)


def upper_layer():
    return tar_layer([
        entry("etc/.wh.removed.txt", data=b""),
        entry("opaque", tarfile.DIRTYPE, mode=0o755),
        entry("opaque/.wh..wh..opq", data=b""),
        entry("opaque/new.txt", data=b"upper\n"),
        entry("usr/bin/suid-tool", data=b"#!/bin/sh\necho suid\n", mode=0o4755),
        entry("dev-null-copy", tarfile.CHRTYPE, mode=0o666),
        entry("etc/release-link", tarfile.SYMTYPE, link="image-release"),
        entry("etc/release-hard", tarfile.LNKTYPE, link="etc/image-release"),
    ], compress=False)


def write_layout(root, layers, ref="v1", extra_manifests=()):
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    descs = []
    diff_ids = []
    for data in layers:
        d, n = blob(root, data)
        media = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if data[:2] == b"\x1f\x8b" else "")
        descs.append({"mediaType": media, "digest": d, "size": n})
        raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                      "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cd, cn = blob(root, cfg)
    man = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cn},
                      "layers": descs}).encode()
    md, mn = blob(root, man)
    manifests = [{"mediaType": OCI_MANIFEST, "digest": md, "size": mn,
                  "annotations": {"org.opencontainers.image.ref.name": ref}}] + list(extra_manifests)
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": manifests}, f)
    return md, {"mediaType": OCI_MANIFEST, "digest": md, "size": mn}


def main():
    root, kind = sys.argv[1], sys.argv[2]
    arg = sys.argv[3] if len(sys.argv) > 3 else ""
    shutil.rmtree(root, ignore_errors=True)
    if kind == "good":
        md, _ = write_layout(root, [base_layer(), upper_layer()])
    elif kind == "base":  # the base layer alone: another digest, with a shell
        md, _ = write_layout(root, [base_layer()])
    elif kind == "escape":
        md, _ = write_layout(root, [tar_layer([entry("../escaped-" + arg, data=b"out\n")])])
    elif kind == "symlink":
        # the link's target exists inside the image too: the write must land
        # there, in the image's own copy of the path, not on the host
        parts = arg.strip("/").split("/")
        dirs = [entry("/".join(parts[:i + 1]), tarfile.DIRTYPE, mode=0o755) for i in range(len(parts))]
        md, _ = write_layout(root, [tar_layer(dirs + [entry("lnk", tarfile.SYMTYPE, link=arg)]),
                                    tar_layer([entry("lnk/pwned-through-link", data=b"pwned\n")])])
    elif kind == "twoimages":
        _, first = write_layout(root + ".a", [tar_layer([entry("a.txt", data=b"a\n")])], ref="a")
        first["annotations"] = {"org.opencontainers.image.ref.name": "a"}
        shutil.copytree(root + ".a", root)
        shutil.rmtree(root + ".a")
        md, _ = write_layout(root, [tar_layer([entry("b.txt", data=b"b\n")])], ref="b", extra_manifests=[first])
    else:
        sys.exit("unknown kind " + kind)
    print(md)


if __name__ == "__main__":
    main()
