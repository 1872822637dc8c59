#!/usr/bin/env bash
# Checks the files under deploy/ without a Docker engine or a cluster: YAML syntax and style
# (yamllint), the Kubernetes objects against the API schemas (kubernetes-validate, which bundles
# them), and the compose file, the KEDA objects, the Dockerfile and the settings they share
# (scripts/check-deploy.py).
# The tools go into a throw-away virtual environment under .build/, from PyPI.
# Usage: scripts/check-deploy.sh
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.build/check-deploy-venv
requirements="yamllint==1.38.0 kubernetes-validate==1.37.0"

if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  # Debian ships the venv module and pip's bootstrap in a package of their own.
  echo "Installing python3-venv for the deploy checks"
  run_as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "error: python3-venv is missing; install it as root (apt-get install python3-venv)" >&2; exit 1; }
    run_as_root=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${run_as_root[@]}" apt-get update -qq
  "${run_as_root[@]}" apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi

# The stamp names the pinned versions, so changing them rebuilds the environment.
if [ ! -f "$venv/installed" ] || [ "$(cat "$venv/installed")" != "$requirements" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # the requirements are separate words on purpose
  "$venv/bin/pip" install --quiet --disable-pip-version-check $requirements
  echo "$requirements" > "$venv/installed"
fi

# yamllint's defaults, with room for long comments and commands; truthy values must be true or false,
# so that compose's restart: "no" stays a quoted string.
yamllint_settings='{extends: default, rules: {line-length: {max: 140}, document-start: disable,
  truthy: {allowed-values: ["true", "false"], check-keys: false}, comments: {min-spaces-from-content: 1}}}'
"$venv/bin/yamllint" --strict -d "$yamllint_settings" deploy/
"$venv/bin/python" scripts/check-deploy.py deploy
