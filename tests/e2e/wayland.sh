#!/usr/bin/env bash
# Runs tests/e2e/wayland.mjs: Keyfob's window copies a token on a Wayland desktop. A headless
# sway (wlroots, which offers the data-control protocol arboard writes through) on a private
# socket, without Xwayland and with no DISPLAY, so the window and its clipboard can only be
# Wayland clients; then a private D-Bus session with an unlocked keyring. Needs the built app
# and CLI (cargo build -p keyfob-app -p keyfob-cli) and Debian's sway, wl-clipboard and grim
# (scripts/setup.sh); scripts/test.sh runs it after the X11 end-to-end test.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Under /tmp, not $TMPDIR: the compositor's user must be able to reach its runtime dir.
work=$(mktemp -d /tmp/keyfob-wayland.XXXXXX)
sway_pid=
cleanup() {
  if [ -n "$sway_pid" ]; then kill "$sway_pid" 2>/dev/null || true; wait "$sway_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"
mkdir "$work/runtime"
as_compositor=()
if [ "$(id -u)" -eq 0 ]; then
  # sway will not run as root ("Unable to drop root"): it runs as a user made for the test.
  # The test's own clients (the app, wl-paste, grim) stay root and reach its socket by path.
  user=keyfob-wayland
  id -u "$user" >/dev/null 2>&1 ||
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user"
  chown "$user:" "$work/runtime"
  # setpriv execs sway itself, so $! below is sway's pid.
  as_compositor=(setpriv --reuid="$user" --regid="$user" --init-groups)
fi
chmod 700 "$work/runtime"
# No Xwayland: an X11 fallback is impossible, not merely unused.
printf 'xwayland disable\n' >"$work/sway.conf"
"${as_compositor[@]}" env -i PATH=/usr/bin:/bin XDG_RUNTIME_DIR="$work/runtime" \
  WLR_BACKENDS=headless WLR_LIBINPUT_NO_DEVICES=1 WLR_RENDERER=pixman \
  sway -c "$work/sway.conf" >"$work/sway.log" 2>&1 &
sway_pid=$!

socket= ipc=
for _ in $(seq 100); do
  socket=$(find "$work/runtime" -maxdepth 1 -type s -name 'wayland-*' | head -n1)
  ipc=$(find "$work/runtime" -maxdepth 1 -type s -name 'sway-ipc.*' | head -n1)
  [ -n "$socket" ] && [ -n "$ipc" ] && break
  kill -0 "$sway_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$socket" ] || [ -z "$ipc" ]; then
  echo "wayland.sh: sway did not start:" >&2
  cat "$work/sway.log" >&2
  exit 1
fi

# A Wayland session and nothing else: an absolute WAYLAND_DISPLAY (clients need not share
# sway's XDG_RUNTIME_DIR, which with-keyring.sh replaces), GTK told to use it, no X display.
unset DISPLAY
export WAYLAND_DISPLAY="$socket" SWAYSOCK="$ipc" GDK_BACKEND=wayland
exec_status=0
scripts/with-keyring.sh node tests/e2e/wayland.mjs "$@" || exec_status=$?
if [ "$exec_status" -ne 0 ]; then
  echo "wayland.sh: sway's log:" >&2
  tail -n 20 "$work/sway.log" >&2
fi
exit "$exec_status"
