#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with a real, unlocked gnome-keyring
# (Secret Service), in a throwaway HOME so nothing touches the user's own keyring.
# Usage: scripts/with-keyring.sh COMMAND [ARGS...]
set -euo pipefail

if [ -z "${KEYFOB_IN_KEYRING_SESSION:-}" ]; then
  sandbox=$(mktemp -d "${TMPDIR:-/tmp}/keyfob-session.XXXXXX")
  trap 'rm -rf "$sandbox"' EXIT
  mkdir -p "$sandbox/home" "$sandbox/runtime" "$sandbox/config" "$sandbox/data" "$sandbox/cache"
  chmod 700 "$sandbox/runtime"
  # Services the bus starts inherit this environment: set it before dbus-run-session.
  export HOME="$sandbox/home" XDG_RUNTIME_DIR="$sandbox/runtime" \
    XDG_CONFIG_HOME="$sandbox/config" XDG_DATA_HOME="$sandbox/data" XDG_CACHE_HOME="$sandbox/cache" \
    KEYFOB_IN_KEYRING_SESSION=1 KEYFOB_SESSION_DIR="$sandbox"
  # Cargo and rustup live under the real HOME; keep them reachable.
  export CARGO_HOME="${CARGO_HOME:-$(dirname "$(dirname "$(command -v cargo)")")}"
  export RUSTUP_HOME="${RUSTUP_HOME:-$CARGO_HOME/../.rustup}"
  status=0
  dbus-run-session -- "$0" "$@" || status=$?
  exit "$status"
fi

# Inside the session: start the keyring daemon unlocked with a throwaway password.
eval "$(printf '%s' "keyfob-test-keyring" | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
exec "$@"
