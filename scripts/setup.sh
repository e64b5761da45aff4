#!/usr/bin/env bash
# Installs what Keyfob needs to build, run and test, if it is missing: Debian packages with
# apt-get and Node packages with npm ci. Crates come through cargo itself. Safe to re-run.
# KEYFOB_SETUP=build installs only what building the app and its packages needs (the release
# workflow's Ubuntu runner, which has no Debian chromium and runs no tests).
set -euo pipefail
cd "$(dirname "$0")/.."
# The test command runs this once and then builds the package, which would run it again.
[ -n "${KEYFOB_SETUP_DONE:-}" ] && exit 0

build_packages=(
  build-essential pkg-config curl file
  # Desktop app build (Tauri 2 on WebKitGTK; the tray icon through libayatana-appindicator)
  libwebkit2gtk-4.1-dev libxdo-dev libssl-dev librsvg2-dev libayatana-appindicator3-dev
  # RPM (Debian's build): scripts/package.sh reads the .rpm's header for what it prints, and
  # the package test installs the .rpm into a throwaway root
  rpm
  # The AppImage (scripts/appimage.sh) is packed, and read back by its test, with squashfs-tools
  squashfs-tools
)
test_packages=(
  # The GitHub workflows' check (actionlint from PyPI in a virtual environment, with
  # ShellCheck for their run: scripts)
  python3-venv shellcheck
  # Secret Service keyring in a private D-Bus session
  dbus dbus-x11 gnome-keyring libsecret-tools
  # Benchmarks
  hyperfine
  # Desktop app end-to-end test: virtual display, WebDriver for WebKitGTK, a real browser,
  # the X clipboard, desktop integration (xdg-open, gio, .desktop files) and GNOME's UI font
  xvfb webkit2gtk-driver chromium xclip xdg-utils desktop-file-utils libglib2.0-bin
  fonts-cantarell
  # ... and the tray host and notification server it runs on its private bus
  # (tests/e2e/desktop_bus.py, Python with GObject introspection), and the accessibility
  # bus with its reader (tests/e2e/a11y.py)
  python3-gi gir1.2-glib-2.0 at-spi2-core gir1.2-atspi-2.0
  # The same window on Wayland (tests/e2e/wayland.sh): a headless compositor that offers the
  # data-control clipboard, the clipboard's command-line client, and screenshots
  sway wl-clipboard grim
)
packages=("${build_packages[@]}")
node_dirs=(ui)
if [ "${KEYFOB_SETUP:-all}" != build ]; then
  packages+=("${test_packages[@]}")
  node_dirs+=(tests/idp tests/e2e)
fi

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

# Node packages, exactly as locked: the local identity provider, the window's front end
# (Vite, TypeScript, Vitest, @tauri-apps/api) and the end-to-end test (playwright-core, which
# drives Debian's chromium; it downloads no browser).
for dir in "${node_dirs[@]}"; do
  if ! npm ci --prefix "$dir" --no-audit --no-fund --update-notifier=false --loglevel=error >/dev/null; then
    echo "setup: npm ci failed in $dir" >&2
    exit 1
  fi
done
