#!/usr/bin/env bash
# Installs what the emitter tests (tests/support/emitters.rs) run besides
# Debian's packages:
#   * a Python virtual environment with tests/emitters/requirements.txt, at
#     ${CARGO_TARGET_DIR:-target}/opsdeck-test-venv (or $OPSDECK_TEST_VENV);
#   * tests/emitters/node/node_modules, by `npm ci` from the committed
#     package-lock.json.
# Idempotent: each part is redone only when its pin file changed since it was
# last installed (a copy is kept beside the install), so a second run takes a
# fraction of a second. Needs python3 (with venv/ensurepip) and npm, and
# network access to PyPI and the npm registry the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

target=${CARGO_TARGET_DIR:-target}
case "$target" in /*) ;; *) target="$repo/$target" ;; esac
venv=${OPSDECK_TEST_VENV:-$target/opsdeck-test-venv}
requirements=tests/emitters/requirements.txt
node_dir=tests/emitters/node

# Python: the venv, then the pinned packages.
if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$venv/opsdeck-requirements.txt"; then
  echo "test-deps: $venv is up to date"
else
  echo "test-deps: installing $requirements into $venv"
  mkdir -p "$(dirname "$venv")"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-input -r "$requirements"
  cp "$requirements" "$venv/opsdeck-requirements.txt"
fi

# Node: npm ci (it removes node_modules first, so the copy of the lock file
# is written after it succeeded).
if [ -f "$node_dir/node_modules/.opsdeck-package-lock.json" ] &&
  cmp -s "$node_dir/package-lock.json" "$node_dir/node_modules/.opsdeck-package-lock.json"; then
  echo "test-deps: $node_dir/node_modules is up to date"
else
  echo "test-deps: npm ci in $node_dir"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$node_dir/package-lock.json" "$node_dir/node_modules/.opsdeck-package-lock.json"
fi
