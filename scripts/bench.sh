#!/usr/bin/env bash
# CLI benchmark: prints medians measured by hyperfine against the real Secret Service.
#   - `keyfob token` with a cached token, side by side with `gh auth token`, and the
#     instructions it executes (callgrind: a figure that load on the machine hardly moves)
#   - bursts of 50 concurrent `keyfob token` calls on an expired account (the local provider
#     must see exactly one refresh per burst)
#   - `keyfob list` with 1,000 accounts
#   - the share of `keyfob token` calls that wait on the network over a simulated 2-hour run
#     of 5-minute tokens with `keyfob keep` running (must be 0)
#   - the idle desktop app with its keeper (release build, Xvfb): CPU over 60 s and PSS with
#     its WebKit processes, with 100 accounts and with none, and in the tray (window closed)
# Usage: bash scripts/bench.sh [RUNS]   (default 200 runs for the single-command figures)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
missing=()
command -v gh >/dev/null || missing+=(gh)             # the comparison
command -v valgrind >/dev/null || missing+=(valgrind) # instruction counts
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
cargo build --release --quiet -p keyfob-cli
# The app as the package ships it: the Tauri CLI's release build (no bundle).
npm ci --prefix packaging --no-audit --no-fund --loglevel=error >/dev/null
(cd src-tauri && ../packaging/node_modules/.bin/tauri build --no-bundle >/dev/null 2>&1)
cargo build --release --quiet -p keyfob-testkit --example browser
exec scripts/with-keyring.sh bash scripts/bench-session.sh "${1:-200}"
