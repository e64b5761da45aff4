#!/usr/bin/env bash
# Packs Keyfob's AppImage from the release binaries that scripts/package.sh built: an AppDir
# assembled here (the desktop app, the keyfob CLI, the desktop entry, icons, AppRun), packed
# with Debian's squashfs-tools behind a type-2 AppImage runtime. Prints its size and what the
# host must provide.
#   bash scripts/package.sh && bash scripts/appimage.sh
#     -> target/release/bundle/appimage/Keyfob_<version>_amd64.AppImage
#
# The runtime comes from crates.io: the `appimage` crate ships the AppImageKit type-2 runtime
# as a file, pinned with its checksum in packaging/appimage-runtime/Cargo.lock. Nothing is
# downloaded from anywhere else (Tauri's AppImage bundler fetches linuxdeploy from GitHub, so
# it is not used).
#
# Libraries are not bundled: the host provides glibc, WebKitGTK 4.1, GTK 3 and a tray
# library, as it does for the .deb (README "Install"). Bundling WebKitGTK would make the file
# ~10 times larger and tie every WebKit security fix to a Keyfob release.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target="${CARGO_TARGET_DIR:-$root/target}"
release="$target/release"
for bin in keyfob-app keyfob; do
  [ -x "$release/$bin" ] || { echo "appimage: no $release/$bin; run bash scripts/package.sh first" >&2; exit 1; }
done
version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' src-tauri/tauri.conf.json | head -1)
out_dir="$release/bundle/appimage"
out="$out_dir/Keyfob_${version}_amd64.AppImage"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The runtime: cargo downloads the pinned crate (and checks it) and says where it put it.
crate=$(cargo metadata --locked --format-version 1 --manifest-path packaging/appimage-runtime/Cargo.toml |
  python3 -c 'import json, sys; print(next(p["manifest_path"] for p in json.load(sys.stdin)["packages"] if p["name"] == "appimage"))')
runtime="$(dirname "$crate")/assets/runtime-x86_64"
[ "$(od -A n -t x1 -j 8 -N 3 "$runtime" | tr -d ' ')" = 414902 ] \
  || { echo "appimage: $runtime is not a type-2 AppImage runtime" >&2; exit 1; }

# The AppDir (AppImage specification: AppRun, one desktop entry and its icon at the top).
app="$work/Keyfob.AppDir"
install -D -m 755 "$release/keyfob-app" "$app/usr/bin/keyfob-app"
install -D -m 755 "$release/keyfob" "$app/usr/bin/keyfob"
install -D -m 755 packaging/appimage/AppRun "$app/AppRun"
# The same entry as the .deb's (packaging/keyfob.desktop): %u and the scheme's MimeType, for
# AppImage integration tools that install it with Exec pointing at the file.
sed -e 's/{{name}}/Keyfob/; s/{{exec}}/keyfob-app/g; s/{{icon}}/keyfob/' \
  -e 's/{{comment}}/Link OAuth accounts and copy fresh access tokens/; s/{{categories}}/Utility;/' \
  packaging/keyfob.desktop > "$app/keyfob.desktop"
desktop-file-validate "$app/keyfob.desktop"
install -D -m 644 "$app/keyfob.desktop" "$app/usr/share/applications/keyfob.desktop"
for spec in 32x32:32x32 128x128:128x128 256x256:128x128@2x; do
  install -D -m 644 "icons/${spec#*:}.png" "$app/usr/share/icons/hicolor/${spec%%:*}/apps/keyfob.png"
done
cp icons/128x128@2x.png "$app/keyfob.png"
ln -s keyfob.png "$app/.DirIcon"

# The runtime reads zlib and xz images; xz is the smaller. Fixed times: the same binaries
# give the same file.
mksquashfs "$app" "$work/payload.squashfs" -all-root -noappend -comp xz \
  -all-time 0 -mkfs-time 0 -quiet >/dev/null
mkdir -p "$out_dir"
cat "$runtime" "$work/payload.squashfs" > "$out.tmp"
chmod 755 "$out.tmp"
mv "$out.tmp" "$out"

# The newest glibc symbol version the binaries need: the oldest glibc a host may have.
glibc=$(objdump -T "$app/usr/bin/keyfob-app" "$app/usr/bin/keyfob" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -1)
needed=$(objdump -p "$app/usr/bin/keyfob-app" | awk '/NEEDED/ { print $2 }' | grep -E 'webkit|gtk-3|soup' | paste -sd ' ')
echo
echo "Built $out"
printf '  size:           %s KiB\n' "$(( $(stat -c %s "$out") / 1024 ))"
printf '  host must have: %s (or newer), %s, libfuse2 (or start it with --appimage-extract-and-run)\n' \
  "${glibc/_/ }" "$needed"
