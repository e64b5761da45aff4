# shellcheck shell=bash disable=SC2034 # the variables are read by install-test.sh
# The .rpm's part of the install test (sourced by install-test.sh): where the package is, how it
# goes into the throwaway root, what it requires, and what Fedora calls things.
package_glob="bundle/rpm/*.rpm"
# WebKitGTK 4.1, GTK 3 and the tray's indicator library by Fedora's names.
required_packages=(webkit2gtk4.1 gtk3 libayatana-appindicator-gtk3 xdg-utils)
zsh_completions="zsh/site-functions/_keyfob"

install_package() { # install_package PACKAGE ROOT
  # Debian's rpm, with its own database inside the root. That database knows none of the
  # host's libraries and the root has no shell for scriptlets (the package has none):
  # requirements are checked separately against the package's header.
  rpm --root "$2" --dbpath /var/lib/rpm --initdb
  rpm --root "$2" --dbpath /var/lib/rpm --nodeps --noscripts -i "$1"
}
# dependencies PACKAGE: the requirements the package states, on one line (rpm's own rpmlib()
# capabilities left out)
dependencies() { rpm -qpR "$1" | grep -v '^rpmlib(' | paste -sd, - | sed 's/,/, /g'; }
dependency_names() { # dependency_names PACKAGE: every package named (rich alternatives too), one a line
  rpm -qpR "$1" | grep -v '^rpmlib(' | tr '()' '  ' | tr -s '[:space:]' '\n' |
    grep -vxE 'or|and|if|else|with|without|unless|[<>=]+|[0-9][^[:space:]]*|' || true
}
# What the root's database says about the installed package, and what it should say: the
# package's name, version, release and architecture.
nvra='%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\n'
registration() { rpm --root "$2" --dbpath /var/lib/rpm -q --qf "$nvra" keyfob 2>&1 || true; } # registration PACKAGE ROOT
expected_registration() { rpm -qp --qf "$nvra" "$1"; } # expected_registration PACKAGE
