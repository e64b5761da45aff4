#!/usr/bin/env bash
# The run command: installs what is missing, builds Keyfob's desktop app and runs it.
#
#   bash scripts/run.sh          the desktop window
#   bash scripts/run.sh --demo   the engine demo in the terminal (no window needed): links an
#                                account at a local OpenID provider, copies a token, unlinks;
#                                also what runs when there is no graphical session
#
# The window uses your desktop session's keyring (Secret Service). Without a D-Bus session
# bus it runs in a private session with a throwaway keyring instead, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

demo=
if [ "${1:-}" = "--demo" ]; then
  demo=1
  shift
elif [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run: no graphical session (DISPLAY and WAYLAND_DISPLAY are unset), so no window can" \
    "open; running the terminal demo instead (bash scripts/run.sh --demo)" >&2
  demo=1
fi
if [ -n "$demo" ]; then
  cargo build -p keyfob-core --example demo --quiet
  exec scripts/with-keyring.sh cargo run -p keyfob-core --example demo --quiet -- "$@"
fi

echo "run: building the window (first build: a few minutes)" >&2
npm run build --prefix ui --silent >/dev/null
cargo build -p keyfob-app --locked --quiet

if [ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || [ -S "${XDG_RUNTIME_DIR:-/nonexistent}/bus" ]; then
  exec target/debug/keyfob-app "$@"
fi
echo "run: no D-Bus session bus: using a private session with a throwaway keyring;" \
  "linked accounts are forgotten when the window closes" >&2
exec scripts/with-keyring.sh target/debug/keyfob-app "$@"
