# Sourced by the package tests (install-test.sh, appimage-test.sh): one way to check and report.
# `check` runs a command and counts it in $pass or $fail; a failure says on stderr what was
# expected and what was there. The caller prints "N passed, N failed" last.
pass=0 fail=0
check() { # check "what" "expected" "got" command...
  local what=$1 expected=$2 got=$3 out
  shift 3
  if out=$("$@" 2>&1); then echo "  ok    $what"; pass=$((pass + 1));
  else
    echo "  FAIL  $what"
    {
      echo "        expected: $expected"
      echo "        got:      $got"
      [ -z "$out" ] || sed 's/^/        | /' <<<"$out"
    } >&2
    fail=$((fail + 1))
  fi
}
# What is at a path, for a failure message.
describe() { if [ -e "$1" ]; then ls -ld "$1" 2>&1; else echo "nothing at $1"; fi; }
# Polls a command for up to $1 seconds.
wait_for() { # wait_for seconds command...
  local tries=$(($1 * 10)); shift
  for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
