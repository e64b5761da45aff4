# shellcheck shell=bash disable=SC2034 # the variables are read by install-test.sh
# The .deb's part of the install test (sourced by install-test.sh): where the package is, how it
# goes into the throwaway root, what it depends on, and what Debian calls things.
package_glob="bundle/deb/*.deb"
# WebKitGTK 4.1, GTK 3 and the tray's indicator library by Debian's names.
required_packages=(libwebkit2gtk-4.1-0 libgtk-3-0 libayatana-appindicator3-1 xdg-utils)
zsh_completions="zsh/vendor-completions/_keyfob"

install_package() { # install_package PACKAGE ROOT
  mkdir -p "$2/var/lib/dpkg/info" "$2/var/lib/dpkg/updates" "$2/var/lib/dpkg/triggers"
  touch "$2/var/lib/dpkg/status"
  # The root's dpkg database is empty, so it cannot know the host's libraries: dependencies
  # are checked separately against the package's control data.
  dpkg --root="$2" --force-depends --force-script-chrootless -i "$1"
}
dependencies() { dpkg-deb -f "$1" Depends; } # dependencies PACKAGE: as the package states them
dependency_names() { # dependency_names PACKAGE: every package named (alternatives too), one a line
  dependencies "$1" | tr ',|' '\n\n' | sed 's/(.*)//; s/[[:space:]]//g' | grep -v '^$' || true
}
# What the root's database says about the installed package, and what it should say.
registration() { dpkg --root="$2" -s keyfob 2>&1 | grep '^Status:' || true; } # registration PACKAGE ROOT
expected_registration() { echo "Status: install ok installed"; } # expected_registration PACKAGE
