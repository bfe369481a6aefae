# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# testlib.sh - what every shell test suite under tests/ shares: counting
# checks and printing them as TAP, and the closing summary.  A suite sources
# it right after `set -u`:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
#
# Output: one line a check, "ok N - NAME" or "not ok N - NAME" followed by
# its detail as "#   " lines; `finish`, the suite's last command, prints the
# plan "1..N" and the summary "N passed, N failed" and fails when a check
# failed.  The counters are $pass, $fail and $n (the last check's number).
#
# Ways to make a check (a suite uses the ones that suit it):
#   result NAME RC [DETAIL]  RC 0 passes; DETAIL is shown on failure
#   ok NAME / bad NAME [DETAIL]
#   case_ NAME COMMAND...    COMMAND's exit code; its output is the detail
#   check NAME COMMAND...    COMMAND run in this shell (it sees and sets the
#                            suite's variables); on failure the detail is the
#                            exit code and output of the last `run`
#   checkx NAME 'EXPRESSION' the same for a shell expression (eval'd)
#   verdict NAME             several checks as one: passes when no want_*
#                            helper of the suite added a line to $problems
# TAP_PREFIX (empty by default) is put before every NAME, for example
# "[root] " in suites that run twice.  Further down: run, lines and
# one_line_error for checks of a command's output; tap_merge to take in
# another run's TAP; have_test_user, as_test_user and copy_suite for the
# rootless passes; skip_all, bail and finish to end the suite.

pass=0
fail=0
n=0
TAP_PREFIX=
TESTLIB=${BASH_SOURCE[0]}

result() { # result NAME RC [DETAIL]
  n=$((n + 1))
  if [ "$2" -eq 0 ]; then
    pass=$((pass + 1))
    echo "ok $n - $TAP_PREFIX$1"
  else
    fail=$((fail + 1))
    echo "not ok $n - $TAP_PREFIX$1"
    [ -z "${3:-}" ] || printf '%s\n' "$3" | sed 's/^/#   /'
  fi
}
ok() { result "$1" 0; }
bad() { result "$1" 1 "${2:-}"; }

case_() { # case_ NAME COMMAND...: passes when COMMAND exits 0; its output explains a failure
  local _tl_name=$1 _tl_out _tl_rc
  shift
  [ -z "${NOTE:-}" ] || rm -f "$NOTE"
  _tl_out=$("$@" 2>&1)
  _tl_rc=$?
  result "$_tl_name" "$_tl_rc" "$_tl_out"
  # a measurement the case left in $NOTE (when the suite sets NOTE) follows its line
  if [ -n "${NOTE:-}" ] && [ -s "$NOTE" ]; then
    sed 's/^/#   /' "$NOTE"
    rm -f "$NOTE"
  fi
}

# run COMMAND...: sets OUT (stdout), ERR (stderr) and RC (exit code); stdin
# is the caller's.  Needs $TMP, a scratch directory.  With RUN_LOG set, OUT
# and ERR are appended to that file too.
run() {
  OUT=$("$@" 2>"$TMP/stderr")
  RC=$?
  ERR=$(cat "$TMP/stderr")
  [ -z "${RUN_LOG:-}" ] || printf '%s\n%s\n' "$OUT" "$ERR" >>"$RUN_LOG"
}
run_detail() { echo "exit=${RC:-} stdout=[${OUT:-}] stderr=[${ERR:-}]"; }
check() { # check NAME COMMAND [ARG...]
  local _tl_name=$1
  shift
  if "$@"; then result "$_tl_name" 0; else result "$_tl_name" 1 "$(run_detail)"; fi
}
checkx() { # checkx NAME 'SHELL EXPRESSION' (for !, && and the like)
  if eval "$2"; then result "$1" 0; else result "$1" 1 "$(run_detail)"; fi
}
lines() { if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi; }
# the last `run` exited CODE with nothing on stdout and one line on stderr
one_line_error() { [ "$RC" = "$1" ] && [ -z "$OUT" ] && [ "$(lines "$ERR")" = 1 ]; }

# verdict NAME: reports the checks made since the last verdict, each a line
# in $problems, and empties it.  A failure's detail is the problems and, when
# the suite defines it, the output of its problem_context function.
problems=
verdict() {
  local _tl_detail=$problems
  if [ -z "$problems" ]; then
    result "$1" 0
  else
    declare -F problem_context >/dev/null && _tl_detail+=$(problem_context)
    result "$1" 1 "$_tl_detail"
  fi
  problems=
}

# tap_merge: the TAP output of another run on stdin (this suite again as
# another user, a python or node test runner) joined to ours: its tests
# counted and renumbered after ours, "#" lines kept, its plan and summary
# dropped, anything else kept as a comment.  Sets TAP_MERGED_SUMMARY=1 when
# the other run printed its summary (it did not stop half way).
TAP_MERGED_SUMMARY=0
tap_merge() {
  local line
  while IFS= read -r line; do
    if [[ $line =~ ^(not )?ok( [0-9]+)?( - | |$)(.*)$ ]]; then
      n=$((n + 1))
      if [ -n "${BASH_REMATCH[1]}" ]; then
        fail=$((fail + 1))
        echo "not ok $n${BASH_REMATCH[4]:+ - ${BASH_REMATCH[4]}}"
      else
        pass=$((pass + 1))
        echo "ok $n${BASH_REMATCH[4]:+ - ${BASH_REMATCH[4]}}"
      fi
    elif [[ $line =~ ^[0-9]+\ passed,\ [0-9]+\ failed ]]; then
      # shellcheck disable=SC2034 # for the suite that called tap_merge
      TAP_MERGED_SUMMARY=1
    elif [[ $line =~ ^1\.\.[0-9]+ ]]; then
      :
    elif [[ $line == "#"* ]]; then
      printf '%s\n' "$line"
    else
      printf '# %s\n' "$line"
    fi
  done
}

# The unprivileged user of the rootless passes (root only): made when missing.
TEST_USER=${AIRLOCK_TEST_USER:-airlock-test}
have_test_user() {
  id "$TEST_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$TEST_USER"
  id "$TEST_USER" >/dev/null 2>&1
}
# as_test_user [NAME=VALUE...] COMMAND...: COMMAND as $TEST_USER from /, in an
# environment of PATH, HOME=/nonexistent and the NAME=VALUE given
as_test_user() {
  local env=(PATH="$PATH" HOME=/nonexistent)
  while [[ ${1:-} == [A-Za-z_]*=* ]]; do
    env+=("$1")
    shift
  done
  (cd / && env -i "${env[@]}" setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups "$@")
}
# copy_suite DIR: a copy of the running suite and of this library under DIR,
# readable by everyone (the test user may not reach the source tree); prints
# the suite copy's path
copy_suite() {
  local suite
  suite=$1/suite/$(basename "$(dirname "$0")")/$(basename "$0")
  mkdir -p "$1/suite/lib" "$(dirname "$suite")"
  cp "$0" "$suite"
  cp "$TESTLIB" "$1/suite/lib/testlib.sh"
  chmod 755 "$1/suite" "$1/suite/lib" "$(dirname "$suite")" "$suite"
  chmod 644 "$1/suite/lib/testlib.sh"
  echo "$suite"
}

# skip_all REASON: the whole suite cannot run here; exit 77 (ctest's
# SKIP_RETURN_CODE)
skip_all() {
  echo "1..0 # SKIP $1"
  exit 77
}
# bail NAME [DETAIL]: a step every check needs failed; report it and stop
bail() {
  bad "$1" "${2:-}"
  finish
  exit 1
}
# finish: the plan and the summary; fails when a check failed.  The last
# command of a suite, so that it is the suite's exit status (it does not exit
# itself: ShellCheck would take the suite's trap handlers for dead code).
finish() {
  echo "1..$n"
  echo "$pass passed, $fail failed"
  [ "$fail" = 0 ]
}
