#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# image_test.sh - the image store end to end: layouts built by make_layout.py
# from the host's binaries (and copied by Debian's skopeo), imported and run
# with `airlock run --image NAME@sha256:HEX`; the unpacker's rules seen from
# inside the sandbox (whiteouts, opaque directories, setuid dropped, device
# nodes skipped, links); tags refused; tampered layers, swapped manifests,
# entries leaving the root and writes through a link to a host path refused
# or kept inside; minisign and cosign-style signatures (good, other key,
# missing, for another manifest, altered payload) at import and again at run
# time (--require-signature, imageTrust in run and node configs); tar input;
# ls, inspect, verify, rm and gc.
# Usage: image_test.sh BUILD_DIR.  Exit 77 when not root (run's sandboxes and
# the owners of image files) or without minisign/skopeo (scripts/install-deps).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
BIN=$(cd "$1" && pwd)/airlock
MK=$(dirname "$0")/make_layout.py
[ "$(id -u)" = 0 ] || skip_all "needs root"
command -v minisign >/dev/null || skip_all "no minisign"
command -v skopeo >/dev/null || skip_all "no skopeo"
T=$(mktemp -d /tmp/al-image.XXXXXX)
chmod 755 "$T"
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
S=$T/state
mkdir -m 700 "$S"
STORE=$S.images
img() { "$BIN" image "$@" --state-dir "$S"; }
roots() { ls "$STORE/roots" 2>/dev/null | wc -l; }

D=$(python3 "$MK" "$T/lay" good)
OUT=$(img import "$T/lay" --name test/app:v1 2>&1)
checkx "import: prints NAME@DIGEST" '[ "$OUT" = "test/app:v1@$D" ]'
R=$("$BIN" run --state-dir "$S" --image "test/app:v1@$D" --report "$T/rep.json" -- /bin/sh -c \
  'cat /etc/image-release; id -u; ls /opaque; cat /etc/release-link /etc/release-hard; stat -c %a /usr/bin/suid-tool;
   for f in /etc/removed.txt /dev-null-copy; do [ -e $f ] && echo present $f; done; echo checked' 2>&1)
checkx "run --image NAME@sha256: runs on the image's root, as uid 1001" \
  '[ "$(sed -n 1,2p <<<"$R" | tr "\n" " ")" = "airlock test image v1 1001 " ]'
checkx "opaque directory: only the upper layer's file" '[ "$(sed -n 3p <<<"$R")" = new.txt ]'
checkx "symbolic and hard links within the image" \
  '[ "$(sed -n 4,5p <<<"$R" | sort -u)" = "airlock test image v1" ]'
checkx "setuid bit dropped (4755 -> 755)" '[ "$(sed -n 6p <<<"$R")" = 755 ]'
checkx "whiteout removed the lower file; the device node was not made" '[ "$(sed -n 7p <<<"$R")" = checked ]'
checkx "the report names the image's digest" \
  'python3 -c "import json,sys; i=json.load(open(sys.argv[1]))[\"image\"]; assert i[\"digest\"]==sys.argv[2], i" "$T/rep.json" "$D"'

printf '{"agents": {"defaults": {"sandbox": {"docker": {"image": "test/app:v1@%s"}}}}}' "$D" >"$T/oc.json"
R=$("$BIN" run --state-dir "$S" --config "$T/oc.json" -- /bin/cat /etc/image-release 2>&1)
checkx "openclaw.json's docker.image pinned by digest runs that image" '[ "$R" = "airlock test image v1" ]'
printf '{"agents": {"defaults": {"sandbox": {"docker": {"image": "test/app:v1"}}}}}' >"$T/octag.json"
R=$("$BIN" run --state-dir "$S" --config "$T/octag.json" -- /bin/true 2>&1)
checkx "openclaw.json's docker.image as a tag is refused, saying how to pin it" \
  '[ $? = 125 ] && grep -q "image tag" <<<"$R"'
printf '{"sandbox": {"image": "test/app:v1@%s"}, "approvalGating": {"enabled": false}}' "$D" >"$T/node.json"
"$BIN" node --config "$T/node.json" --state-dir "$S" --listen "unix:$T/node.sock" --pool 0 \
  --ready-file "$T/ready" >"$T/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 200); do [ -e "$T/ready" ] && break; kill -0 $NODE_PID 2>/dev/null || break; sleep 0.05; done
TOKEN=$("$BIN" token create --name imgt --state-dir "$S" 2>/dev/null | tail -1)
R=$(AIRLOCK_TOKEN=$TOKEN "$BIN" exec --node "unix:$T/node.sock" -- /bin/cat /etc/image-release 2>&1)
kill $NODE_PID; wait $NODE_PID 2>/dev/null
checkx "the node config's sandbox.image pinned by digest: the node's sandboxes run that image" \
  '[ "$R" = "airlock test image v1" ]'
printf '{"sandbox": {"image": "test/app:v1"}}' >"$T/nodetag.json"
R=$("$BIN" node --config "$T/nodetag.json" --state-dir "$S" --listen "unix:$T/node2.sock" 2>&1)
checkx "a node config naming a tag does not start, saying why" '[ $? != 0 ] && grep -q "is a tag" <<<"$R"'

R=$("$BIN" run --state-dir "$S" --image test/app:v1 -- /bin/true 2>&1)
rc=$?
checkx "a tag alone is refused (125), with the digest it names" '[ $rc = 125 ] && grep -qF "test/app:v1@$D" <<<"$R"'
"$BIN" run --state-dir "$S" --image "x@sha256:$(printf '%064d' 0)" -- /bin/true >/dev/null 2>&1
checkx "an unknown digest is refused" '[ $? = 125 ]'

before=$(roots)
cp -a "$T/lay" "$T/tamper"
L=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]+"/blobs/sha256/"+sys.argv[2][7:])); print(m["layers"][1]["digest"][7:])' "$T/lay" "$D")
printf 'X' | dd of="$T/tamper/blobs/sha256/$L" bs=1 seek=600 conv=notrunc 2>/dev/null
OUT=$(img import "$T/tamper" --name tampered 2>&1)
checkx "a tampered layer is refused, naming the blob" \
  '[ $? != 0 ] || true; grep -q "sha256:$L does not match its digest" <<<"$OUT" && [ "$(roots)" = "$before" ] &&
   ! img inspect tampered >/dev/null 2>&1'
E=$(python3 "$MK" "$T/two" twoimages)
cp -a "$T/lay" "$T/swap"
cp "$T/two/blobs/sha256/${E#sha256:}" "$T/swap/blobs/sha256/${D#sha256:}"
OUT=$(img import "$T/swap" 2>&1)
checkx "a swapped manifest is refused" 'grep -q "does not match its digest" <<<"$OUT"'

python3 "$MK" "$T/esc" escape "mark$$" >/dev/null
OUT=$(img import "$T/esc" 2>&1)
checkx "an entry with .. is refused, nothing written outside" \
  'grep -q "leaves the image'"'"'s root" <<<"$OUT" && [ -z "$(find "$T" "$STORE" -name "escaped-mark$$" 2>/dev/null)" ]'
mkdir -m 755 "$T/host-target"
SL=$(python3 "$MK" "$T/sym" symlink "$T/host-target")
OUT=$(img import "$T/sym" --name sym 2>&1)
checkx "a write through a link to a host path stays inside the image's root" \
  '[ -f "$STORE/roots/${SL#sha256:}$T/host-target/pwned-through-link" ] && [ -z "$(ls -A "$T/host-target")" ]'

OUT=$(img import "$T/two" 2>&1)
checkx "two manifests and no name: refused, asking for one" 'grep -q "holds 2 manifests" <<<"$OUT"'
OUT=$(img import "$T/two" --name multi:a 2>&1)
A=${OUT#multi:a@}
checkx "--name picks the manifest by its ref name" '[ -f "$STORE/roots/${A#sha256:}/a.txt" ] && [ ! -e "$STORE/roots/${A#sha256:}/b.txt" ]'

tar -C "$T/lay" -cf "$T/lay.tar" .
OUT=$(img import "$T/lay.tar" --name fromtar 2>&1)
checkx "a tar of the layout imports to the same digest" '[ "$OUT" = "fromtar@$D" ]'
skopeo copy -q "oci:$T/lay:v1" "oci:$T/sk:copied" >/dev/null 2>&1
OUT=$(img import "$T/sk" --name sk:copied 2>&1)
K=${OUT#sk:copied@}
R=$("$BIN" run --state-dir "$S" --image "sk:copied@$K" -- /bin/cat /etc/image-release 2>&1)
checkx "skopeo's copy of the image imports and runs" '[ "$R" = "airlock test image v1" ]'

minisign -G -W -p "$T/k.pub" -s "$T/k.sec" >/dev/null
minisign -G -W -p "$T/k2.pub" -s "$T/k2.sec" >/dev/null
minisign -S -s "$T/k.sec" -m "$T/lay/blobs/sha256/${D#sha256:}" -x "$T/good.sig" >/dev/null
minisign -S -s "$T/k.sec" -m "$T/two/blobs/sha256/${E#sha256:}" -x "$T/other.sig" >/dev/null
KEYID=$(sed -n 's/.*minisign public key //p' "$T/k.pub")
img import "$T/lay" --name signed:v1 --signature "$T/good.sig" --trusted-key "$T/k.pub" --require-signature >/dev/null 2>&1
checkx "a good signature by a trusted key: imported, signer recorded" \
  'img inspect signed:v1 | grep -q "\"signed_by\": \"$KEYID\""'
OUT=$(img import "$T/lay" --name s2 --signature "$T/good.sig" --trusted-key "$T/k2.pub" 2>&1)
checkx "a signature by an untrusted key is refused" 'grep -q "not among the trusted keys" <<<"$OUT" && ! img inspect s2 >/dev/null 2>&1'
OUT=$(img import "$T/lay" --name s3 --signature "$T/other.sig" --trusted-key "$T/k.pub" 2>&1)
checkx "a signature of another manifest is refused" 'grep -q "does not match the manifest" <<<"$OUT" && ! img inspect s3 >/dev/null 2>&1'
OUT=$(img import "$T/lay" --name s4 --require-signature 2>&1)
checkx "--require-signature without one is refused" 'grep -q "signature is required" <<<"$OUT" && ! img inspect s4 >/dev/null 2>&1'
# cosign-style keyed signing: ECDSA P-256 over a payload naming the manifest
# digest, made here with openssl as cosign would
openssl ecparam -name prime256v1 -genkey -noout -out "$T/c.key" 2>/dev/null
openssl ec -in "$T/c.key" -pubout -out "$T/c.pub" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$T/c2.key" 2>/dev/null
openssl ec -in "$T/c2.key" -pubout -out "$T/c2.pub" 2>/dev/null
CKEYID=$(openssl pkey -pubin -in "$T/c.pub" -outform DER | sha256sum | cut -c1-16)
payload() { printf '{"critical":{"identity":{"docker-reference":"test/app"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' "$1"; }
cosign() { openssl dgst -sha256 -sign "$T/c.key" "$1" | base64 -w0; }
payload "$D" >"$T/c.payload"
cosign "$T/c.payload" >"$T/c.sig"
OUT=$(img import "$T/lay" --name cosigned:v1 --signature "$T/c.sig" --signature-payload "$T/c.payload" \
  --trusted-key "$T/c.pub" --require-signature 2>&1)
checkx "cosign-style: a good signature by a trusted PEM key: imported, signer recorded" \
  '[ "$OUT" = "cosigned:v1@$D" ] && img inspect cosigned:v1 | grep -q "\"signed_by\": \"$CKEYID\""'
OUT=$(img import "$T/lay" --name c2 --signature "$T/c.sig" --signature-payload "$T/c.payload" --trusted-key "$T/c2.pub" 2>&1)
checkx "cosign-style: another key's signature is refused" \
  'grep -q "does not verify over its payload" <<<"$OUT" && ! img inspect c2 >/dev/null 2>&1'
payload "$E" >"$T/other.payload"
cosign "$T/other.payload" >"$T/other.csig"
OUT=$(img import "$T/lay" --name c3 --signature "$T/other.csig" --signature-payload "$T/other.payload" --trusted-key "$T/c.pub" 2>&1)
checkx "cosign-style: a good signature of a payload naming another digest is refused" \
  'grep -qF "signs $E, not this image" <<<"$OUT" && ! img inspect c3 >/dev/null 2>&1'
sed 's/test\/app/evil\/app/' "$T/c.payload" >"$T/altered.payload"
OUT=$(img import "$T/lay" --name c4 --signature "$T/c.sig" --signature-payload "$T/altered.payload" --trusted-key "$T/c.pub" 2>&1)
checkx "cosign-style: an altered payload is refused" \
  'grep -q "does not verify" <<<"$OUT" && ! img inspect c4 >/dev/null 2>&1'
OUT=$(img import "$T/lay" --name c5 --signature "$T/c.sig" --trusted-key "$T/c.pub" 2>&1)
checkx "cosign-style without its payload: refused, saying what is missing" 'grep -q -- "--signature-payload" <<<"$OUT"'

# run time: the stored signatures are checked again with the keys trusted now
U=$(python3 "$MK" "$T/base" base)
img import "$T/base" --name unsigned:v1 >/dev/null
R=$("$BIN" run --state-dir "$S" --image "cosigned:v1@$D" --require-signature --trusted-key "$T/c.pub" \
  --report "$T/signed.json" -- /bin/cat /etc/image-release 2>&1)
checkx "run --require-signature --trusted-key (PEM): runs, the report names the signer" \
  '[ "$R" = "airlock test image v1" ] && grep -q "\"signed_by\":\"$CKEYID\"" "$T/signed.json"'
R=$("$BIN" run --state-dir "$S" --image "signed:v1@$D" --require-signature --trusted-key "$T/k.pub" -- /bin/cat /etc/image-release 2>&1)
checkx "run: the same image's minisign signature verifies with the minisign key" '[ "$R" = "airlock test image v1" ]'
R=$("$BIN" run --state-dir "$S" --image "cosigned:v1@$D" --require-signature --trusted-key "$T/c2.pub" \
  -- /bin/sh -c 'echo RAN' 2>&1)
rc=$?
checkx "run: with only an untrusted key the image does not run (125)" '[ $rc = 125 ] && ! grep -q RAN <<<"$R" && grep -q "did not verify" <<<"$R"'
R=$("$BIN" run --state-dir "$S" --image "unsigned:v1@$U" --require-signature --trusted-key "$T/c.pub" -- /bin/sh -c 'echo RAN' 2>&1)
rc=$?
checkx "run: an image imported without a signature does not run under the requirement" \
  '[ $rc = 125 ] && ! grep -q RAN <<<"$R" && grep -q "imported without a signature" <<<"$R"'
R=$("$BIN" run --state-dir "$S" --image "unsigned:v1@$U" -- /bin/sh -c 'echo RAN' 2>&1)
checkx "... and runs without it" '[ "$R" = RAN ]'
R=$("$BIN" run --state-dir "$S" --image "$STORE/roots/${D#sha256:}" --require-signature --trusted-key "$T/c.pub" -- /bin/sh -c 'echo RAN' 2>&1)
rc=$?
checkx "run: a directory as --image is refused under the requirement" '[ $rc = 125 ] && ! grep -q RAN <<<"$R" && grep -q "is a directory" <<<"$R"'
printf '{"image": "unsigned:v1@%s", "imageTrust": {"requireSignature": true, "trustedKeys": ["%s"]}}' "$U" "$T/c.pub" >"$T/trust.json"
R=$("$BIN" run --state-dir "$S" --config "$T/trust.json" -- /bin/sh -c 'echo RAN' 2>&1)
rc=$?
checkx "config imageTrust: an unsigned image does not run" '[ $rc = 125 ] && ! grep -q RAN <<<"$R"'
printf '{"image": "cosigned:v1@%s", "imageTrust": {"requireSignature": true, "trustedKeys": ["%s"]}}' "$D" "$T/c.pub" >"$T/trust2.json"
R=$("$BIN" run --state-dir "$S" --config "$T/trust2.json" -- /bin/cat /etc/image-release 2>&1)
checkx "config imageTrust: a signed image runs" '[ "$R" = "airlock test image v1" ]'
printf '{"imageTrust": {"requireSignature": "yes"}}' >"$T/trust3.json"
R=$("$BIN" run --state-dir "$S" --config "$T/trust3.json" -- /bin/true 2>&1)
checkx "config imageTrust with a bad value: refused, naming the key" '[ $? = 125 ] && grep -q "imageTrust.requireSignature" <<<"$R"'
printf '{"sandbox": {"image": "unsigned:v1@%s", "imageTrust": {"requireSignature": true, "trustedKeys": ["%s"]}}}' "$U" "$T/c.pub" >"$T/nodetrust.json"
R=$(timeout 20 "$BIN" node --config "$T/nodetrust.json" --state-dir "$S" --listen "unix:$T/node3.sock" 2>&1)
checkx "a node whose sandbox image is unsigned under imageTrust does not start" '[ $? != 0 ] && grep -q "imported without a signature" <<<"$R"'
OUT=$(img verify "cosigned:v1" --trusted-key "$T/c.pub" 2>&1)
checkx "image verify: the stored signature checked again, signer printed" '[ "$OUT" = "$D: signed by $CKEYID" ]'
MB=$STORE/blobs/sha256/${D#sha256:}
cp -p "$MB" "$T/manifest.bak"
chmod u+w "$MB" && printf ' ' >>"$MB"
OUT=$(img verify "cosigned:v1" --trusted-key "$T/c.pub" 2>&1)
rc=$?
cp -p "$T/manifest.bak" "$MB"
checkx "image verify: a manifest changed in the store is refused" '[ $rc = 125 ] && grep -q "changed since it was imported" <<<"$OUT"'
sed -i 's/^trusted comment: .*/trusted comment: altered/' "$T/good.sig"
OUT=$(img import "$T/lay" --name s5 --signature "$T/good.sig" --trusted-key "$T/k.pub" 2>&1)
checkx "an altered trusted comment is refused" 'grep -q "trusted comment was altered" <<<"$OUT"'

L=$(img ls --json)
checkx "ls --json: one line per image" '[ "$(wc -l <<<"$L")" = "$(ls "$STORE/meta" | wc -l)" ] && grep -q "\"digest\":\"$D\"" <<<"$L"'
img rm "sk:copied" >/dev/null
"$BIN" run --state-dir "$S" --image "sk:copied@$K" -- /bin/true >/dev/null 2>&1
rc=$?
GC=$(img gc)
checkx "rm: the image no longer runs, and gc frees its blobs" \
  '[ $rc = 125 ] && [ ! -e "$STORE/roots/${K#sha256:}" ] && [ "$(sed "s/[^0-9]//g" <<<"$GC")" -gt 0 ] &&
   [ -z "$(ls -A "$STORE/tmp")" ]'
OUT=$(img import "$T/nonexistent" 2>&1)
checkx "a missing path is an error naming it" '[ -n "$OUT" ] && grep -q "nonexistent" <<<"$OUT"'
img bogus >/dev/null 2>&1
checkx "an unknown subcommand is a usage error (125)" '[ $? = 125 ]'
finish
