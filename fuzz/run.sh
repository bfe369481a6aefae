#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# fuzz/run.sh DURATION_SECONDS - build the libFuzzer targets with clang in
# build-fuzz (-DAIRLOCK_FUZZ=ON) and run each one for DURATION_SECONDS on a
# copy of its seed corpus.  Exits non-zero if any fuzzer finds a crash, leak,
# timeout or sanitizer report; the reproducers are kept in
# build-fuzz/artifacts/<target>/.
#
# Environment: FUZZ_JOBS (build parallelism), FUZZ_TARGETS (default
# "config parsers shell changeset node_request redact egress_rules tls_sni dns_stub
# proxy_request openclaw mcp image gvisor vm_proto oci_config"),
# FUZZ_KEEP_CORPUS=1 to keep the grown corpora,
# FUZZ_WERROR=OFF to build despite compiler warnings.
set -euo pipefail

if [[ $# -ne 1 || ! $1 =~ ^[0-9]+$ || $1 -eq 0 ]]; then
  echo "usage: $0 DURATION_SECONDS" >&2
  exit 2
fi
duration=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build-fuzz
targets=${FUZZ_TARGETS:-config parsers shell changeset node_request redact egress_rules tls_sni dns_stub proxy_request openclaw mcp image gvisor vm_proto oci_config client}

command -v clang >/dev/null || { echo "clang not found" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/airlock-fuzz.XXXXXX")
cleanup() { if [[ ${FUZZ_KEEP_CORPUS:-0} == 1 ]]; then echo "corpora kept in $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

CC=clang cmake -S "$root" -B "$build" -DAIRLOCK_FUZZ=ON -DAIRLOCK_WERROR="${FUZZ_WERROR:-ON}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$work/configure.log" 2>&1 || { cat "$work/configure.log" >&2; exit 2; }
build_targets=()
for t in $targets; do build_targets+=(--target "fuzz_$t"); done
cmake --build "$build" -j"${FUZZ_JOBS:-$(nproc)}" "${build_targets[@]}" || exit 2

declare -A max_len=([config]=16384 [parsers]=4200 [shell]=8192 [redact]=8192 [egress_rules]=2048 [tls_sni]=20000 [dns_stub]=600 [proxy_request]=20000 [openclaw]=16384 [mcp]=16384 [image]=65536 [vm_proto]=16384 [oci_config]=32768)
status=0
summary=()
for t in $targets; do
  corpus=$work/$t/corpus
  artifacts=$build/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  cp -r "$root/fuzz/corpus/$t/." "$corpus/"
  log=$work/$t/fuzz.log
  stamp=$work/$t/started
  touch "$stamp"
  echo "=== fuzz_$t for ${duration}s (log: $log)"
  rc=0
  # detect_leaks: a leak is a finding too.  The fuzzer exits non-zero on a
  # crash, sanitizer report, leak, timeout or out-of-memory.
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$build/fuzz/fuzz_$t" "$corpus" \
      -max_total_time="$duration" -timeout=10 -rss_limit_mb=2048 \
      -max_len="${max_len[$t]:-4096}" -print_final_stats=1 \
      -artifact_prefix="$artifacts/" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[^ ]+' "$log" | tail -1 || true)
  found=$(find "$artifacts" -type f -newer "$stamp" 2>/dev/null | head -5)
  if [[ $rc -ne 0 || -n $found ]]; then
    status=1
    echo "!!! fuzz_$t FAILED (exit $rc)"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -5 || true
    [[ -n $found ]] && echo "reproducer(s): $found"
    echo "--- last lines of the log:"; tail -30 "$log"
    summary+=("fuzz_$t: FAILED (exit $rc) after ${execs:-?} execs")
  else
    summary+=("fuzz_$t: ok, ${execs:-?} execs, ${speed:-?} exec/s, $cov")
  fi
done

echo "=== summary"
printf '%s\n' "${summary[@]}"
exit $status
