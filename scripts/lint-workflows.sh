#!/usr/bin/env bash
# Checks every GitHub workflow under .github/workflows with actionlint (syntax, expressions
# and contexts such as matrix keys, action inputs, runner labels, and the run: scripts
# through ShellCheck). actionlint comes from PyPI, hash-pinned in scripts/lint-requirements.txt,
# into a virtual environment under target/ so that no system Python is touched.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/lint-venv
requirements=scripts/lint-requirements.txt
# Installed again only when the pinned requirements change.
if ! cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    --require-hashes -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
fi

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if [ "${#workflows[@]}" -eq 0 ]; then
  echo "lint-workflows: no workflow under .github/workflows" >&2
  exit 1
fi
if ! command -v shellcheck >/dev/null; then
  echo "lint-workflows: shellcheck is missing (bash scripts/setup.sh installs it)" >&2
  exit 1
fi
"$venv/bin/actionlint" -no-color "${workflows[@]}"
echo "actionlint: ${workflows[*]} clean"
