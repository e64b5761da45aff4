#!/usr/bin/env bash
# Installs each built Linux package into a throwaway root (its own package database) and checks
# what a user gets: files where the desktop entry says, the dev.keyfob.app: scheme handled by
# Keyfob's entry, a callback URL opened through the desktop (gio open, as browsers do) starting
# the installed binary with that URL, the app refusing that forged callback for a configured
# provider (local OpenID provider) without storing anything, and the keyfob CLI on the PATH.
# The checks are the same for every format; tests/package/FORMAT.sh holds what differs (where
# the package is, how it installs, how to read its dependencies, the distribution's names).
#   tests/package/install-test.sh [FORMAT...]   FORMAT: deb, rpm; all of them when none given
# Run inside scripts/with-keyring.sh (a private D-Bus session and HOME); it starts its own Xvfb.
# Prints "N passed, N failed" last per format; a failing check says on stderr what it expected
# and got.
set -euo pipefail
cd "$(dirname "$0")/../.."
formats=(deb rpm)

# Several formats (or none named): one run of this script per format, each from a clean state.
if [ "$#" -ne 1 ]; then
  [ "$#" -gt 0 ] || set -- "${formats[@]}"
  failed=()
  for format in "$@"; do
    echo "== $format"
    tests/package/install-test.sh "$format" || failed+=("$format")
  done
  [ "${#failed[@]}" -eq 0 ] || { echo "install-test: failed for ${failed[*]}" >&2; exit 1; }
  exit 0
fi
format=$1
[[ " ${formats[*]} " == *" $format "* ]] ||
  { echo "install-test: unknown format '$format' (known: ${formats[*]})" >&2; exit 2; }
# shellcheck source=tests/package/deb.sh
source "tests/package/$format.sh"
# shellcheck disable=SC2086 # the glob expands here
package=$(ls -t "${CARGO_TARGET_DIR:-target}"/release/$package_glob 2>/dev/null | head -1)
[ -n "$package" ] || { echo "install-test: no .$format; run bash scripts/package.sh first" >&2; exit 1; }

# shellcheck source=tests/package/checks.sh
source tests/package/checks.sh

work=$(mktemp -d)
app_pid=""
cleanup() { # each step runs even when a process is already gone
  local pid
  for pid in $app_pid ${second:-} ${xvfb:-} ${idp:-}; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
root="$work/root"
mkdir -p "$root"

echo "Installing $(basename "$package") into a throwaway root"
install_package "$package" "$root" >"$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }

echo "Package metadata"
depends=$(dependencies "$package")
depends_names=$(dependency_names "$package")
for dep in "${required_packages[@]}"; do
  check "the package depends on $dep" "$dep among the dependencies" "dependencies: $depends" \
    grep -qxF "$dep" <<<"$depends_names"
done
check "the package depends on a Secret Service provider" "gnome-keyring among the dependencies" \
  "dependencies: $depends" grep -qxF gnome-keyring <<<"$depends_names"
registered=$(registration "$package" "$root")
expected=$(expected_registration "$package")
check "the package is registered in the root's package database" "$expected" \
  "${registered:-nothing}" test "$registered" = "$expected"

echo "Files"
desktop=$(ls "$root"/usr/share/applications/*.desktop 2>/dev/null | head -1 || true)
check "a desktop entry is installed ($(basename "${desktop:-none}"))" \
  "a .desktop file in /usr/share/applications" "$(ls -A "$root/usr/share/applications" 2>&1 | tr '\n' ' ')" \
  test -f "$desktop"
check "the desktop entry is valid" "desktop-file-validate accepts $desktop" "it reports (below)" \
  desktop-file-validate "$desktop"
exec_bin=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$desktop" | head -1)
check "Exec=$exec_bin is installed in /usr/bin" "an executable /usr/bin/$(basename "$exec_bin")" \
  "$(describe "$root/usr/bin/$(basename "$exec_bin")")" test -x "$root/usr/bin/$(basename "$exec_bin")"
exec_line=$(grep '^Exec=' "$desktop" || true)
check "Exec passes the URL (%u or %U)" "Exec=... %u" "${exec_line:-no Exec line}" grep -Eq '^Exec=.* %[uU]' "$desktop"
mime_line=$(grep '^MimeType=' "$desktop" || true)
check "MimeType registers x-scheme-handler/dev.keyfob.app" "MimeType=...x-scheme-handler/dev.keyfob.app;" \
  "${mime_line:-no MimeType line}" grep -Eq '^MimeType=.*x-scheme-handler/dev\.keyfob\.app;' "$desktop"
icon=$(sed -n 's/^Icon=//p' "$desktop" | head -1)
for size in 32x32 128x128 256x256@2; do
  png="$root/usr/share/icons/hicolor/$size/apps/$icon.png"
  check "icon $icon in $size" "a file $png" "$(describe "$png")" test -f "$png"
done
check "the keyfob CLI is in /usr/bin" "an executable /usr/bin/keyfob" "$(describe "$root/usr/bin/keyfob")" \
  test -x "$root/usr/bin/keyfob"
# The keeper's user unit: shipped where systemd --user finds it, running `keyfob keep`, and
# not enabled (no package maintainer script links it into default.target.wants).
unit="$root/usr/lib/systemd/user/keyfob-keep.service"
check "the keeper's systemd user unit is installed" "a file $unit running /usr/bin/keyfob keep" \
  "$(describe "$unit")" grep -q '^ExecStart=/usr/bin/keyfob keep$' "$unit"
# Each shell's completions where it looks for them, generated by `keyfob completions SHELL`.
completion() { # completion FILE PATTERN: a non-empty file with a line matching PATTERN
  test -s "$1" && grep -Eq "$2" "$1"
}
for spec in "bash:bash-completion/completions/keyfob:^ *complete .*keyfob$" \
  "zsh:$zsh_completions:^#compdef keyfob" \
  "fish:fish/vendor_completions.d/keyfob.fish:^complete -c keyfob"; do
  IFS=: read -r shell path pattern <<<"$spec"
  file="$root/usr/share/$path"
  check "$shell completions are installed (/usr/share/$path)" "a non-empty file with a line /$pattern/" \
    "$(describe "$file"); lines matching: $(grep -Ec "$pattern" "$file" 2>/dev/null || true)" \
    completion "$file" "$pattern"
done
stripped_elf() { # stripped_elf FILE: `file` reads it and says a stripped ELF binary
  local kind
  kind=$(file -E -b "$1") || return 1
  [[ $kind == ELF* && $kind == *", stripped"* && $kind != *"not stripped"* ]]
}
for bin in keyfob-app keyfob; do
  check "/usr/bin/$bin is stripped" "file: ELF ..., stripped" \
    "file: $(file -E -b "$root/usr/bin/$bin" 2>&1 || true)" stripped_elf "$root/usr/bin/$bin"
done

echo "Desktop integration (as a desktop session sees the installed package)"
# What the package's triggers do on a real system: refresh the desktop database.
update-desktop-database "$root/usr/share/applications"
export XDG_DATA_DIRS="$root/usr/share:/usr/share" PATH="$root/usr/bin:$PATH"
export KEYFOB_HOME="$work/profile"
default=$(xdg-mime query default x-scheme-handler/dev.keyfob.app || true)
check "xdg-mime names Keyfob's entry as the handler" "$(basename "$desktop")" "${default:-no handler}" \
  test "$default" = "$(basename "$desktop")"
version=$(keyfob --version 2>&1 || true)
check "keyfob --version runs from the PATH" "keyfob <version>" "${version:-nothing}" grep -q '^keyfob ' <<<"$version"

# A provider for the callback to name: the local OpenID provider, added with the installed CLI
# as a user would.
IDP_IGNORE_STDIN=1 node tests/idp/server.mjs >"$work/idp.out" 2>"$work/idp.err" &
idp=$!
wait_for 20 test -s "$work/idp.out" || true
issuer=$(sed -n 's/.*"issuer":"\([^"]*\)".*/\1/p' "$work/idp.out")
[ -n "$issuer" ] || { echo "install-test: the local OpenID provider did not start: $(cat "$work/idp.err")" >&2; exit 1; }
keyfob provider add local --issuer "$issuer" --client-id keyfob-native --name "Local IdP" \
  >"$work/provider.log" 2>&1 || true
providers=$(keyfob providers 2>&1 || true)
check "keyfob provider add set up provider 'local' ($issuer)" "a row 'local  Local IdP  openid  $issuer' in keyfob providers" \
  "$(cat "$work/provider.log") / $providers" grep -Eq "^local +Local IdP +openid +$issuer " <<<"$providers"

# The installed Keyfob processes started with the URL $1 (the installed binary, not a
# development build, with the URL as its argument).
app_pids_with() {
  local pid
  for pid in $(pgrep -x keyfob-app || true); do
    [ "$(readlink "/proc/$pid/exe")" = "$root/usr/bin/keyfob-app" ] &&
      tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$1" && echo "$pid"
  done
  return 0
}
# Open a forged callback URL for that provider the way a browser hands it to the desktop. Its
# state is unknown, so the app must refuse it and change nothing; the installed binary must
# start with the URL as its argument.
Xvfb -displayfd 3 -screen 0 1024x768x24 3>"$work/display" 2>/dev/null &
xvfb=$!
for _ in $(seq 50); do [ -s "$work/display" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$work/display")"
iss=$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$issuer")
url="dev.keyfob.app:/oauth/local?code=install-test-forged-code&state=install-test-forged-state&iss=$iss"
# The app inherits gio's standard error: its log lands here.
gio open "$url" 2>"$work/gio.err" || true
started=""
for _ in $(seq 100); do
  app_pid=$(app_pids_with "$url" | head -1)
  [ -n "$app_pid" ] && { started=$(tr '\0' ' ' < "/proc/$app_pid/cmdline"); break; }
  sleep 0.1
done
check "gio open of a dev.keyfob.app: URL starts the installed app with that URL" \
  "keyfob-app $url" "${started:-not started: $(cat "$work/gio.err")}" test -n "$started"
# The app says on standard error when it refuses a callback; wait for that before looking at
# what it stored.
refused="keyfob: ignored a callback"
wait_for 20 grep -qF "$refused" "$work/gio.err" || true
check "the app handled the forged callback (refused it)" "a line '$refused: ...' in the app's log" \
  "$(tail -n 5 "$work/gio.err" | tr '\n' ' ')" grep -qF "$refused" "$work/gio.err"
# A second forged callback while Keyfob runs: the new instance hands it to the running one
# (single instance) and exits, and the running one refuses it too.
url2="${url/install-test-forged-state/install-test-forged-state-2}"
gio open "$url2" 2>"$work/gio2.err" || true
refusals() { grep -cF "$refused" "$work/gio.err" || true; }
handed_over() { [ -z "$(app_pids_with "$url2")" ] && [ "$(refusals)" -ge 2 ]; }
wait_for 20 handed_over || true
second=$(app_pids_with "$url2")
check "a second launch handed its forged callback to the running app, which refused it" \
  "a second '$refused' line from the running app; the second instance gone" \
  "$(refusals) such lines; second instance: ${second:-gone}" handed_over
accounts_file="$KEYFOB_HOME/data/accounts.json"
accounts=$(keyfob list --json 2>&1 || true)
check "the refused callback stored no account" \
  "keyfob list --json: [] and no account in accounts.json" \
  "keyfob list --json: $accounts; accounts.json: $(cat "$accounts_file" 2>/dev/null || echo absent)" \
  sh -c "[ \"\$1\" = '[]' ] && { [ ! -e \"\$2\" ] || ! grep -q '\"id\"' \"\$2\"; }" sh "$accounts" "$accounts_file"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
