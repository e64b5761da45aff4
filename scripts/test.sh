#!/usr/bin/env bash
# The test command: installs what is missing, then runs every check and test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests (real OpenID provider, real Secret Service)"
scripts/with-keyring.sh cargo test --workspace --locked
