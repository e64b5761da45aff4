#!/usr/bin/env bash
# Starts the built AppImage as a user would and checks what they get: a type-2 AppImage that
# carries the app, the CLI and a desktop entry, no update information; the keyfob CLI through
# a link named `keyfob`; on the first start, the dev.keyfob.app scheme registered for the user
# (a desktop entry in $XDG_DATA_HOME/applications running the AppImage's path with %u, the
# default handler) and the user told once, in a notification; callback URLs opened through the
# desktop (gio open, as browsers do) reaching the AppImage, running or not, which refuses
# those forged callbacks and stores nothing; nothing said again on the next start; after the
# file moves, the entry following it and the user told.
# Containers have no FUSE: the AppImage runs with --appimage-extract-and-run, and the runtime
# does the same for the starts the desktop makes (APPIMAGE_EXTRACT_AND_RUN=1).
# Run inside scripts/with-keyring.sh (a private D-Bus session, HOME and XDG_DATA_HOME); it
# starts its own Xvfb and notification server. Prints "N passed, N failed" last; a failing
# check says on stderr what it expected and got.
set -euo pipefail
shopt -s extglob
cd "$(dirname "$0")/../.."
built=$(ls -t "${CARGO_TARGET_DIR:-target}"/release/bundle/appimage/*.AppImage 2>/dev/null | head -1)
[ -n "$built" ] || { echo "appimage-test: no AppImage; run bash scripts/appimage.sh first" >&2; exit 1; }
[ -n "${XDG_DATA_HOME:-}" ] && [ -n "${KEYFOB_IN_KEYRING_SESSION:-}" ] \
  || { echo "appimage-test: run it inside scripts/with-keyring.sh" >&2; exit 1; }

# shellcheck source=tests/package/checks.sh
source tests/package/checks.sh

work=$(mktemp -d)
cleanup() { # each step runs even when a process is already gone
  local pid
  for pid in $(app_pids) ${runtime:-} ${bus:-} ${xvfb:-}; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# The runtime extracts into TMPDIR: keep it in the work directory.
export TMPDIR="$work/tmp" KEYFOB_HOME="$work/profile"
mkdir -p "$TMPDIR" "$work/Apps" "$work/bin"
appimage="$work/Apps/Keyfob.AppImage"
cp "$built" "$appimage"

# Keyfob processes running from an extraction of an AppImage in this test (their binary is
# under TMPDIR), optionally only those with argument $1. A later start that hands its URL over
# and exits removes the extraction it shares with the running one, whose binary then reads as
# deleted.
app_pids() {
  local pid
  for pid in $(pgrep -x keyfob-app || true); do
    [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$TMPDIR"/appimage_extracted_*/usr/bin/keyfob-app?(" (deleted)") ]] || continue
    [ -z "${1:-}" ] || tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$1" || continue
    echo "$pid"
  done
  return 0
}
# The AppImage file a process was started from (the runtime's APPIMAGE).
appimage_of() { tr '\0' '\n' < "/proc/$1/environ" 2>/dev/null | sed -n 's/^APPIMAGE=//p'; }
# The AppImage runtimes running now: processes whose executable is the AppImage file (also
# those the desktop started, and after the file moved).
runtime_pids() {
  local file proc
  file=$(stat -c %d:%i "$appimage")
  for proc in /proc/[0-9]*; do
    [ "$(stat -L -c %d:%i "$proc/exe" 2>/dev/null)" = "$file" ] && echo "${proc#/proc/}"
  done
  return 0
}
# Ends every Keyfob of this test and waits for their runtimes: each removes the extraction
# directory, which all starts of one file share, when it ends; a start made meanwhile would
# find it half gone.
quit_app() {
  local pid
  for pid in $(app_pids); do kill "$pid" 2>/dev/null || true; done
  wait_for 10 test -z "$(app_pids)" || true
  wait_for 10 test -z "$(runtime_pids)" || true
  [ -z "${runtime:-}" ] || { wait "$runtime" 2>/dev/null || true; runtime=""; }
}

echo "The file"
magic=$(od -A n -t x1 -j 8 -N 3 "$appimage" | tr -d ' ')
check "a type-2 AppImage (ELF, magic 'AI' 02 at offset 8)" "414902" "$magic" test "$magic" = 414902
updateinfo=$("$appimage" --appimage-updateinfo 2>&1 || true)
check "it carries no update information (nothing an updater would replace it with)" "nothing" "$updateinfo" \
  test -z "$updateinfo"
offset=$("$appimage" --appimage-offset 2>/dev/null || true)
listing=$(unsquashfs -o "${offset:-0}" -lc "$appimage" 2>&1 || true)
for path in AppRun keyfob.desktop keyfob.png usr/bin/keyfob-app usr/bin/keyfob; do
  check "it contains $path" "squashfs-root/$path in the image (offset ${offset:-?})" \
    "$(head -c 300 <<<"$listing")" grep -qxF "squashfs-root/$path" <<<"$listing"
done
unsquashfs -q -o "${offset:-0}" -d "$work/image" "$appimage" keyfob.desktop >/dev/null 2>&1 || true
entry_line() { grep "^$1=" "$work/image/keyfob.desktop" 2>/dev/null || echo "no $1 line"; }
check "its desktop entry passes the URL" "Exec=keyfob-app %u" "$(entry_line Exec)" \
  grep -qx 'Exec=keyfob-app %u' "$work/image/keyfob.desktop"
check "its desktop entry declares the scheme" "MimeType=x-scheme-handler/dev.keyfob.app;" \
  "$(entry_line MimeType)" grep -qx 'MimeType=x-scheme-handler/dev.keyfob.app;' "$work/image/keyfob.desktop"

# From here on every start extracts and runs, also the starts the desktop makes.
export APPIMAGE_EXTRACT_AND_RUN=1

echo "The CLI, through a link named keyfob"
ln -s "$appimage" "$work/bin/keyfob"
export PATH="$work/bin:$PATH"
version=$(keyfob --version 2>&1 || true)
check "keyfob --version" "keyfob <version>" "$version" grep -q '^keyfob ' <<<"$version"
providers=$(keyfob providers --json 2>&1 || true)
check "keyfob providers --json reads the profile" "a JSON list" "$providers" grep -q '^\[' <<<"$providers"

# The desktop around the app: a display, and a notification server that logs what it is told.
Xvfb -displayfd 3 -screen 0 1024x768x24 3>"$work/display" 2>/dev/null &
xvfb=$!
/usr/bin/python3 tests/e2e/desktop_bus.py serve "$work/bus.jsonl" 2>"$work/bus.err" &
bus=$!
wait_for 10 test -s "$work/display" || true
export DISPLAY=":$(cat "$work/display")"
owned() { [ "$(grep -c '"event": "name-owned"' "$work/bus.jsonl" 2>/dev/null)" -ge 2 ]; }
wait_for 10 owned || { echo "appimage-test: the notification server did not start: $(cat "$work/bus.err")" >&2; exit 1; }
REGISTERED="Keyfob opens sign-in links"
MOVED="Keyfob opens sign-in links from its new place"
told() { grep -cF "\"summary\": \"$1\"" "$work/bus.jsonl" || true; }
handler="$XDG_DATA_HOME/applications/keyfob-app-handler.desktop"
handler_exec() { sed -n 's/^Exec=//p' "$handler" 2>/dev/null; }
# Callbacks nobody asked for: their state matches no link, so the app must refuse them.
forged() { echo "dev.keyfob.app:/oauth/local?code=appimage-test-code&state=appimage-test-$1"; }
refused="keyfob: ignored a callback"
refusals() { grep -cF "$refused" "$1" 2>/dev/null || true; }
accounts_file="$KEYFOB_HOME/data/accounts.json"
stored_nothing() {
  local accounts
  # Only standard output: the runtime says on standard error when it reuses an extraction.
  accounts=$(keyfob list --json 2>/dev/null || true)
  check "$1" "keyfob list --json: [] and no account in accounts.json" \
    "keyfob list --json: $accounts; accounts.json: $(cat "$accounts_file" 2>/dev/null || echo absent)" \
    sh -c "[ \"\$1\" = '[]' ] && { [ ! -e \"\$2\" ] || ! grep -q '\"id\"' \"\$2\"; }" sh "$accounts" "$accounts_file"
}

echo "First start: the scheme registered for this user, and the user told"
"$appimage" --appimage-extract-and-run 2>"$work/app1.err" &
runtime=$!
wait_for 30 test "$(told "$REGISTERED")" -ge 1 || true
check "a notification says '$REGISTERED'" "1 such notification" \
  "$(told "$REGISTERED") ($(tail -n 3 "$work/app1.err" | tr '\n' ' '))" test "$(told "$REGISTERED")" -eq 1
check "it names the AppImage's path" "a notification body with $appimage" \
  "$(grep -F "\"summary\": \"$REGISTERED\"" "$work/bus.jsonl" | head -1)" \
  grep -qF "$appimage. If you move" "$work/bus.jsonl"
check "a user desktop entry runs the AppImage's path with the URL" "Exec=\"$appimage\" %u in $handler" \
  "$(handler_exec || echo "no file $handler")" test "$(handler_exec)" = "\"$appimage\" %u"
check "the entry declares the scheme" "MimeType=...x-scheme-handler/dev.keyfob.app" \
  "$(grep '^MimeType=' "$handler" 2>/dev/null || echo none)" \
  grep -Eq '^MimeType=(.*;)?x-scheme-handler/dev\.keyfob\.app(;|$)' "$handler"
check "the entry is valid" "desktop-file-validate accepts it" "it reports (below)" desktop-file-validate "$handler"
default=$(xdg-mime query default x-scheme-handler/dev.keyfob.app 2>/dev/null || true)
check "xdg-mime names it the scheme's handler" "keyfob-app-handler.desktop" "${default:-no handler}" \
  test "$default" = keyfob-app-handler.desktop

echo "A link opened through the desktop while the AppImage runs"
gio open "$(forged running)" 2>"$work/gio1.err" || true
wait_for 30 test "$(refusals "$work/app1.err")" -ge 1 || true
check "it reached the running app, which refused the forged callback" \
  "a line '$refused: ...' in the running app's log" \
  "$(tail -n 3 "$work/app1.err" | tr '\n' ' ') / gio: $(tail -n 3 "$work/gio1.err" | tr '\n' ' ')" \
  test "$(refusals "$work/app1.err")" -ge 1
stored_nothing "the refused callback stored no account"

echo "Second start, by a link (Keyfob was not running)"
quit_app
url=$(forged cold)
gio open "$url" 2>"$work/app2.err" || true
wait_for 30 test -n "$(app_pids "$url")" || true
started=$(app_pids "$url" | head -1)
check "gio open started the AppImage with the URL" "a keyfob-app from $appimage with $url" \
  "${started:+pid $started from $(appimage_of "$started")}${started:-not started: $(tail -n 3 "$work/app2.err" | tr '\n' ' ')}" \
  test -n "$started" -a "$(appimage_of "${started:-0}")" = "$appimage"
wait_for 30 test "$(refusals "$work/app2.err")" -ge 1 || true
check "it refused the forged callback" "a line '$refused: ...' in its log" \
  "$(tail -n 3 "$work/app2.err" | tr '\n' ' ')" test "$(refusals "$work/app2.err")" -ge 1
# Registration runs before the start's URL is handled: had it happened, it was said by now.
sleep 1
check "nothing is said again" "still 1 '$REGISTERED' notification" "$(told "$REGISTERED")" \
  test "$(told "$REGISTERED")" -eq 1
check "the entry is unchanged" "Exec=\"$appimage\" %u" "$(handler_exec)" test "$(handler_exec)" = "\"$appimage\" %u"
stored_nothing "still no account stored"
quit_app

echo "The file moved: the entry follows it"
mkdir -p "$work/My Apps"
mv "$appimage" "$work/My Apps/Keyfob.AppImage"
appimage="$work/My Apps/Keyfob.AppImage"
"$appimage" --appimage-extract-and-run 2>"$work/app3.err" &
runtime=$!
wait_for 30 test "$(told "$MOVED")" -ge 1 || true
check "a notification says '$MOVED'" "1 such notification" \
  "$(told "$MOVED") ($(tail -n 3 "$work/app3.err" | tr '\n' ' '))" test "$(told "$MOVED")" -eq 1
check "the entry runs the new path" "Exec=\"$appimage\" %u" "$(handler_exec)" \
  test "$(handler_exec)" = "\"$appimage\" %u"
gio open "$(forged moved)" 2>"$work/gio3.err" || true
wait_for 30 test "$(refusals "$work/app3.err")" -ge 1 || true
check "a link reaches the moved AppImage" "a line '$refused: ...' in its log" \
  "$(tail -n 3 "$work/app3.err" | tr '\n' ' ') / gio: $(tail -n 3 "$work/gio3.err" | tr '\n' ' ')" \
  test "$(refusals "$work/app3.err")" -ge 1
quit_app

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
