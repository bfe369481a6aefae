#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# openclaw_fake_test.sh - airlock's node against tests/node/openclaw_fake_gateway.py,
# a fake OpenClaw gateway for the failure modes a real one does not produce
# (malformed and huge frames, wrong types, binary frames, invokes missing
# fields, connections closed mid-invoke).  Usage: openclaw_fake_test.sh BUILD_DIR.
# Exit 77 when not root (the node's sandboxes need it).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
BIN=$1/airlock
[ "$(id -u)" = 0 ] || skip_all "needs root (sandboxes with cgroup limits)"
T=$(mktemp -d "${TMPDIR:-/tmp}/al-openclaw-fake.XXXXXX")
trap 'rm -rf "$T"' EXIT
tap_merge < <(python3 "$(dirname "${BASH_SOURCE[0]}")/openclaw_fake_gateway.py" "$BIN" "$T" 2>&1)
[ "$TAP_MERGED_SUMMARY" = 1 ] || bad "the fake gateway's scenario ran to its end"
finish
