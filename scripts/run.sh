#!/usr/bin/env bash
# The run command: installs what is missing and runs Keyfob. Until the desktop window lands,
# this runs the engine demo: it starts the local OpenID provider, links an account through
# its real sign-in pages, shows the account, hands out a token and unlinks, all against a
# real keyring in a private session.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo build -p keyfob-core --example demo --quiet
scripts/with-keyring.sh cargo run -p keyfob-core --example demo --quiet -- "$@"
