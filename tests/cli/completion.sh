#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# completion.sh - `airlock completion bash|zsh`: the bash script loads and
# completes commands, subcommands, long and short flags and sandbox ids (a
# stand-in `airlock` on PATH answers `sandbox ls -q`); every flag it offers
# for a command is one that command accepts (its --help names it, and giving
# it is not refused as unknown); zsh loads its script and registers it
# (when zsh is installed).
#
#   tests/cli/completion.sh PATH_TO_AIRLOCK
#
# Prints TAP and "N passed, N failed".
# shellcheck disable=SC2016,SC2034  # checkx expressions are single-quoted on purpose: eval expands them
set -u
# shellcheck source=SCRIPTDIR/../lib/testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"

AIRLOCK=${1:?usage: $0 PATH_TO_AIRLOCK}
TMP=$(mktemp -d /tmp/airlock-completion-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

run "$AIRLOCK" completion bash
BASH_SCRIPT=$OUT
checkx "completion bash: a script on stdout, exit 0" '[ "$RC" = 0 ] && [ -z "$ERR" ] && grep -q "^complete -o filenames -F _airlock airlock$" <<<"$OUT"'
printf '%s\n' "$BASH_SCRIPT" >"$TMP/airlock.bash"
check "the script is valid bash" bash -n "$TMP/airlock.bash"
run "$AIRLOCK" completion fish
checkx "completion fish: 125, one line" 'one_line_error 125 && grep -q "bash|zsh" <<<"$ERR"'
run "$AIRLOCK" completion
checkx "completion without a shell: 125, one line" 'one_line_error 125'

# a stand-in airlock for the ids: the script calls `airlock sandbox ls -q`
mkdir "$TMP/bin"
printf '#!/bin/sh\n[ "$*" = "sandbox ls -q" ] && printf "sb_00000000000000aa\\nsb_00000000000000bb\\n"\n' >"$TMP/bin/airlock"
chmod 755 "$TMP/bin/airlock"

# complete WORDS...: the completions of the command line WORDS (the last is
# the word being completed), one a line, sorted
complete_() {
  PATH="$TMP/bin:$PATH" bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _airlock
    printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$TMP/airlock.bash" "$@"
}
want() { # want NAME EXPECTED WORDS...: the completions are EXPECTED (lines)
  local name=$1 expected=$2 got
  shift 2
  got=$(complete_ "$@")
  if [ "$got" = "$expected" ]; then ok "$name"; else bad "$name" "got: $got"; fi
}
has() { # has NAME ITEM WORDS...: ITEM is among the completions
  local name=$1 item=$2 got
  shift 2
  got=$(complete_ "$@")
  if grep -qxF -- "$item" <<<"$got"; then ok "$name"; else bad "$name" "got: $got"; fi
}
want "commands: 'airlock s' gives sandbox, secret, shell, ssh-gate" "$(printf 'sandbox\nsecret\nshell\nssh-gate')" airlock s
want "sandbox subcommands" "$(printf 'create')" airlock sandbox cr
want "token subcommands" "$(printf 'create\nlist\nrevoke')" airlock token ''
want "exec --sa gives --sandbox" "--sandbox" airlock exec --sa
want "run --workspace- gives the workspace's options" "$(printf -- '--workspace-access\n--workspace-mode\n--workspace-quota')" airlock run --workspace-
for f in -e -w -m -t -i; do
  has "exec offers docker's $f" "$f" airlock exec -
done
for f in -e -v -w -m -t -i; do
  has "run offers docker's $f" "$f" airlock run -
done
has "sandbox create offers -v" -v airlock sandbox create -
want "exec --sandbox completes sandbox ids" "$(printf 'sb_00000000000000aa\nsb_00000000000000bb')" airlock exec --sandbox sb_
want "shell completes sandbox ids" "sb_00000000000000bb" airlock shell sb_00000000000000b
want "sandbox rm completes sandbox ids" "$(printf 'sb_00000000000000aa\nsb_00000000000000bb')" airlock sandbox rm ''
want "rm (docker's) completes sandbox ids" "sb_00000000000000aa" airlock rm sb_00000000000000a
touch "$TMP/some-file"
has "cp completes host paths" "$TMP/some-file" airlock cp "$TMP/some-f"

# every flag offered is one the command takes: named in its --help, and not
# refused as unknown (the command may still refuse the value or the mix)
for cmd in run exec sandbox cp shell logs; do
  sub=()
  [ "$cmd" = sandbox ] && sub=(create)
  flags=$(complete_ airlock "$cmd" "${sub[@]}" -)
  missing=
  for f in $flags; do
    case $f in
    -h | --help) continue ;;
    --*) helpname=$f ;;
    *) helpname="$f," ;;
    esac
    "$AIRLOCK" "$cmd" --help 2>/dev/null | grep -qF -- "$helpname" || missing+=" $f(help)"
    # a flag without a value takes --help after it: usage, nothing run
    err=$(AIRLOCK_NODE=unix:/nonexistent AIRLOCK_TOKEN=x "$AIRLOCK" "$cmd" "${sub[@]}" "$f" --help 2>&1 </dev/null)
    ! grep -qF "unknown option '$f'" <<<"$err" || missing+=" $f(unknown)"
  done
  if [ -n "$flags" ] && [ -z "$missing" ]; then
    ok "$cmd: every flag offered is in its --help and accepted ($(wc -w <<<"$flags") flags)"
  else
    bad "$cmd: every flag offered is in its --help and accepted" "flags: $flags; not:$missing"
  fi
done

if command -v zsh >/dev/null; then
  "$AIRLOCK" completion zsh >"$TMP/airlock.zsh"
  # zsh's own matching filters the words (its compgen does not), so only
  # the loading and the registration are checked here
  run zsh -fc '. "$1" && whence -w _airlock && echo "${_comps[airlock]}"' _ "$TMP/airlock.zsh"
  checkx "zsh loads its script and completes airlock with it" \
    '[ "$RC" = 0 ] && grep -qx "_bash_complete -o filenames -F _airlock" <<<"$OUT"'
else
  echo "# zsh is not installed: its script is not loaded"
fi
finish
