#!/usr/bin/env bash
# The test command: installs what is missing, then runs every check and test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
export KEYFOB_SETUP_DONE=1

echo "== GitHub workflows (actionlint)"
bash scripts/lint-workflows.sh

# The app's build script embeds ui/dist, so clippy and the app build need it.
echo "== UI: unit tests (Vitest), type check and build (Vite)"
npm test --prefix ui --silent
npm run build --prefix ui --silent

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
# Again without the test targets: they turn on test-only features (keyfob-core's
# `internals`, `ts`), so code only those reach would hide here as dead in production.
cargo clippy --workspace --locked -- -D warnings

echo "== module import cycles"
python3 scripts/check-cycles.py --self-test
python3 scripts/check-cycles.py

echo "== tests (real OpenID provider, real Secret Service)"
# Test servers that stalled at start and were restarted are noted here and reported after
# the tests; more than MAX_STALLS of them fail the run instead of hiding a real problem.
export KEYFOB_STALL_LOG="$PWD/target/test-stalls.log"
MAX_STALLS=3
mkdir -p target && : > "$KEYFOB_STALL_LOG"
scripts/with-keyring.sh cargo test --workspace --locked
echo "== test servers that stalled at start"
stalls=$(wc -l < "$KEYFOB_STALL_LOG")
if [ "$stalls" -eq 0 ]; then
  echo "none"
else
  cat "$KEYFOB_STALL_LOG"
fi
if [ "$stalls" -gt "$MAX_STALLS" ]; then
  echo "test.sh: $stalls stalled server starts (at most $MAX_STALLS allowed)" >&2
  exit 1
fi

echo "== desktop app: build, then drive its window end to end (Xvfb, WebDriver, Chromium)"
cargo build -p keyfob-app --locked
tests/e2e/run.sh

echo "== desktop app on Wayland (headless sway): copy a token, see it cleared (about 15 s)"
tests/e2e/wayland.sh

echo "== package: build the .deb and .rpm, install each into a throwaway root, check what a user gets"
bash scripts/package.sh
scripts/with-keyring.sh tests/package/install-test.sh

echo "== AppImage: pack the same binaries, start it, check its scheme registration and links"
bash scripts/appimage.sh
scripts/with-keyring.sh tests/package/appimage-test.sh
