#!/usr/bin/env bash
# Installs the built .deb into a throwaway root (its own dpkg database) and checks what a user
# gets: files where the desktop entry says, the dev.keyfob.app: scheme handled by Keyfob's
# entry, a callback URL opened through the desktop (gio open, as browsers do) starting the
# installed binary with that URL, and the keyfob CLI on the PATH.
# Run inside scripts/with-keyring.sh (a private D-Bus session and HOME); it starts its own Xvfb.
set -euo pipefail
cd "$(dirname "$0")/../.."
deb=$(ls -t "${CARGO_TARGET_DIR:-target}"/release/bundle/deb/*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { echo "install-test: no .deb; run bash scripts/package.sh first" >&2; exit 1; }

pass=0 fail=0
check() { # check "what" command...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then echo "  ok    $what"; pass=$((pass + 1));
  else echo "  FAIL  $what"; fail=$((fail + 1)); fi
}

work=$(mktemp -d)
app_pid=""
cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null
  [ -n "${xvfb:-}" ] && kill "$xvfb" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
touch "$root/var/lib/dpkg/status"

echo "Installing $(basename "$deb") into a throwaway root"
# The root's dpkg database is empty, so it cannot know the host's libraries: dependencies are
# checked separately against the package's control data below.
dpkg --root="$root" --force-depends --force-script-chrootless -i "$deb" >"$work/dpkg.log" 2>&1 \
  || { cat "$work/dpkg.log"; exit 1; }

echo "Package metadata"
depends=$(dpkg-deb -f "$deb" Depends)
check "Depends names WebKitGTK 4.1 ($depends)" grep -q "libwebkit2gtk-4.1" <<<"$depends"
check "Depends names a Secret Service provider" grep -q "gnome-keyring" <<<"$depends"
check "the package is registered in the root's dpkg database" \
  sh -c "dpkg --root='$root' -s keyfob | grep -q 'Status: install ok installed'"

echo "Files"
desktop=$(ls "$root"/usr/share/applications/*.desktop | head -1)
check "a desktop entry is installed ($(basename "$desktop"))" test -f "$desktop"
check "the desktop entry is valid" desktop-file-validate "$desktop"
exec_bin=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$desktop" | head -1)
check "Exec=$exec_bin is installed in /usr/bin" test -x "$root/usr/bin/$(basename "$exec_bin")"
check "Exec passes the URL (%u or %U)" grep -Eq '^Exec=.* %[uU]' "$desktop"
check "MimeType registers x-scheme-handler/dev.keyfob.app" grep -Eq '^MimeType=.*x-scheme-handler/dev\.keyfob\.app;' "$desktop"
icon=$(sed -n 's/^Icon=//p' "$desktop" | head -1)
for size in 32x32 128x128 256x256@2; do
  check "icon $icon in $size" test -f "$root/usr/share/icons/hicolor/$size/apps/$icon.png"
done
check "the keyfob CLI is in /usr/bin" test -x "$root/usr/bin/keyfob"
check "bash completions are installed" test -f "$root/usr/share/bash-completion/completions/keyfob"
check "the binaries are stripped" sh -c "! file '$root/usr/bin/keyfob-app' '$root/usr/bin/keyfob' | grep -q 'not stripped'"

echo "Desktop integration (as a desktop session sees the installed package)"
# What the package's triggers do on a real system: refresh the desktop database.
update-desktop-database "$root/usr/share/applications"
export XDG_DATA_DIRS="$root/usr/share:/usr/share" PATH="$root/usr/bin:$PATH"
export KEYFOB_HOME="$work/profile"
default=$(xdg-mime query default x-scheme-handler/dev.keyfob.app || true)
check "xdg-mime names Keyfob's entry as the handler ($default)" test "$default" = "$(basename "$desktop")"
check "keyfob --version runs from the PATH" sh -c "keyfob --version | grep -q '^keyfob '"

# Open a callback URL the way a browser hands it to the desktop. Its state is unknown, so the
# app refuses it and changes nothing; what matters here is that the installed binary starts
# with the URL as its argument.
Xvfb -displayfd 3 -screen 0 1024x768x24 3>"$work/display" 2>/dev/null &
xvfb=$!
for _ in $(seq 50); do [ -s "$work/display" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$work/display")"
url="dev.keyfob.app:/oauth/local?code=install-test&state=install-test-state"
gio open "$url" 2>"$work/gio.err" || true
started=""
for _ in $(seq 100); do
  for pid in $(pgrep -x keyfob-app || true); do
    # The installed binary (not a development build), with the URL as its argument.
    if [ "$(readlink "/proc/$pid/exe")" = "$root/usr/bin/keyfob-app" ] &&
      tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$url"; then
      app_pid=$pid
      started=$(tr '\0' ' ' < "/proc/$pid/cmdline")
    fi
  done
  [ -n "$started" ] && break
  sleep 0.1
done
check "gio open of a dev.keyfob.app: URL starts the installed app with that URL (${started:-not started: $(cat "$work/gio.err")})" test -n "$started"
check "the refused callback stored no account" sh -c "[ ! -e '$KEYFOB_HOME/data/accounts.json' ] || ! grep -q '\"id\"' '$KEYFOB_HOME/data/accounts.json'"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
