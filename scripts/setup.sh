#!/usr/bin/env bash
# Installs what Keyfob needs to build, run and test, if it is missing: Debian packages with
# apt-get and Node packages with npm ci. Crates come through cargo itself. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # Build
  build-essential pkg-config curl file
  # Secret Service keyring in a private D-Bus session
  dbus dbus-x11 gnome-keyring libsecret-tools
  # Benchmarks
  hyperfine
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js runs the local identity provider; any Node >= 20 will do (the image may ship its own).
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo is missing; install Rust with rustup (https://rustup.rs) and re-run" >&2
  exit 1
fi

# Node packages of the local identity provider, exactly as locked.
if ! npm ci --prefix tests/idp --no-audit --no-fund --loglevel=error >/dev/null; then
  echo "setup: npm ci failed in tests/idp" >&2
  exit 1
fi
