#!/usr/bin/env bash
# Runs the end-to-end test of the desktop window: a private D-Bus session with an unlocked
# keyring (single-instance and the tokens need it), a virtual X display on a free number,
# then tests/e2e/run.mjs. Needs the built app (cargo build -p keyfob-app) and
# `npm ci --prefix tests/e2e`; scripts/test.sh does both.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec scripts/with-keyring.sh xvfb-run -a -s "-screen 0 1280x900x24" node tests/e2e/run.mjs "$@"
