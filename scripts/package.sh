#!/usr/bin/env bash
# Builds Keyfob's Linux packages from one release build: an optimized, stripped .deb and .rpm
# with the desktop app, the keyfob CLI, icons in every size, shell completions, a systemd user
# unit for `keyfob keep` (installed, not enabled) and a desktop entry that registers the
# dev.keyfob.app: URL scheme. Prints each package's size, installed size and dependencies.
#   bash scripts/package.sh  -> target/release/bundle/deb/Keyfob_<version>_amd64.deb
#                               target/release/bundle/rpm/Keyfob-<version>-1.x86_64.rpm
# The AppImage is packed from the same binaries by scripts/appimage.sh (Tauri's AppImage
# bundler downloads linuxdeploy from GitHub at build time; see README "Install").
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target="${CARGO_TARGET_DIR:-$root/target}"

bash scripts/setup.sh
npm ci --prefix packaging --no-audit --no-fund --loglevel=error >/dev/null
npm run build --prefix ui --silent >/dev/null
cargo build --release --locked -p keyfob-cli

extras="$target/package"
mkdir -p "$extras"
for shell in bash zsh fish; do
  "$target/release/keyfob" completions "$shell" > "$extras/keyfob.$shell"
done

# Per-format bundle settings; tauri.conf.json keeps what every platform shares. Both formats
# use the same desktop template, which passes the URL (%u): Tauri's default entry has no field
# code, so a dev.keyfob.app: link opened by the desktop would start Keyfob without the callback.
# What both formats install beside the app; zsh looks in a different directory on Debian
# (vendor-completions) and Fedora (site-functions).
files() { # files ZSH_DIR: the "files" map of one format
  cat <<JSON
{
          "/usr/bin/keyfob": "$target/release/keyfob",
          "/usr/lib/systemd/user/keyfob-keep.service": "$root/packaging/keyfob-keep.service",
          "/usr/share/bash-completion/completions/keyfob": "$extras/keyfob.bash",
          "/usr/share/$1/_keyfob": "$extras/keyfob.zsh",
          "/usr/share/fish/vendor_completions.d/keyfob.fish": "$extras/keyfob.fish"
        }
JSON
}
template="$root/packaging/keyfob.desktop"
# Dependencies by each family's package names. Tauri's .deb bundler adds WebKitGTK, GTK and
# the tray's libayatana-appindicator by Debian's names; its .rpm bundler adds only their
# sonames, so the .rpm names the packages by Fedora's (as Fedora's spec files call them:
# webkitgtk.spec's webkit2gtk4.1, gtk3, libayatana-appindicator's -gtk3 package, kf6-kwallet).
# The Secret Service provider is a rich dependency (RPM >= 4.13).
cat > "$extras/bundle.conf.json" <<JSON
{
  "bundle": {
    "linux": {
      "deb": {
        "section": "utils",
        "desktopTemplate": "$template",
        "depends": ["gnome-keyring | keepassxc | kwalletmanager", "xdg-utils"],
        "files": $(files zsh/vendor-completions)
      },
      "rpm": {
        "release": "1",
        "desktopTemplate": "$template",
        "depends": [
          "webkit2gtk4.1",
          "gtk3",
          "libayatana-appindicator-gtk3",
          "xdg-utils",
          "(gnome-keyring or keepassxc or kf6-kwallet)"
        ],
        "files": $(files zsh/site-functions)
      }
    }
  }
}
JSON

# One release build of the app for both packages.
(cd src-tauri && "$root/packaging/node_modules/.bin/tauri" build --bundles deb,rpm --config "$extras/bundle.conf.json")

kib() { echo "$(( $1 / 1024 )) KiB"; }
deb=$(ls -t "$target"/release/bundle/deb/*.deb | head -1)
echo
echo "Built $deb"
printf '  package size:   %s\n' "$(kib "$(stat -c %s "$deb")")"
printf '  installed size: %s KiB\n' "$(dpkg-deb -f "$deb" Installed-Size)"
printf '  depends:        %s\n' "$(dpkg-deb -f "$deb" Depends)"
rpm=$(ls -t "$target"/release/bundle/rpm/*.rpm | head -1)
echo "Built $rpm"
printf '  package size:   %s\n' "$(kib "$(stat -c %s "$rpm")")"
printf '  installed size: %s\n' "$(kib "$(rpm -qp --qf '%{SIZE}' "$rpm")")"
printf '  requires:       %s\n' "$(rpm -qpR "$rpm" | grep -v '^rpmlib(' | paste -sd, | sed 's/,/, /g')"
