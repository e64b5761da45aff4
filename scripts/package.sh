#!/usr/bin/env bash
# Builds Keyfob's Linux package: an optimized, stripped .deb with the desktop app, the keyfob
# CLI, icons in every size, shell completions, a systemd user unit for `keyfob keep` (installed,
# not enabled) and a desktop entry that registers the
# dev.keyfob.app: URL scheme. Prints the package and installed sizes.
#   bash scripts/package.sh        -> target/release/bundle/deb/Keyfob_<version>_amd64.deb
# (The AppImage cannot be built offline: Tauri's AppImage bundler downloads linuxdeploy and
# AppRun from GitHub at build time; see README "Install".)
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

# Bundle settings for the .deb only; tauri.conf.json keeps what every platform shares. The
# desktop template passes the URL (%u): Tauri's default entry has no field code, so a
# dev.keyfob.app: link opened by the desktop would start Keyfob without the callback.
cat > "$extras/deb.conf.json" <<JSON
{
  "bundle": {
    "linux": {
      "deb": {
        "section": "utils",
        "desktopTemplate": "$root/packaging/keyfob.desktop",
        "depends": ["gnome-keyring | keepassxc | kwalletmanager", "xdg-utils"],
        "files": {
          "/usr/bin/keyfob": "$target/release/keyfob",
          "/usr/lib/systemd/user/keyfob-keep.service": "$root/packaging/keyfob-keep.service",
          "/usr/share/bash-completion/completions/keyfob": "$extras/keyfob.bash",
          "/usr/share/zsh/vendor-completions/_keyfob": "$extras/keyfob.zsh",
          "/usr/share/fish/vendor_completions.d/keyfob.fish": "$extras/keyfob.fish"
        }
      }
    }
  }
}
JSON

(cd src-tauri && "$root/packaging/node_modules/.bin/tauri" build --bundles deb --config "$extras/deb.conf.json")

deb=$(ls -t "$target"/release/bundle/deb/*.deb | head -1)
echo
echo "Built $deb"
printf '  package size:   %s KiB\n' "$(( $(stat -c %s "$deb") / 1024 ))"
printf '  installed size: %s KiB\n' "$(dpkg-deb -f "$deb" Installed-Size)"
printf '  depends:        %s\n' "$(dpkg-deb -f "$deb" Depends)"
