#!/usr/bin/env bash
# Installs the Debian packages the build (and, with --test, the tests) need, when they are missing.
# Usage: scripts/install-deps.sh [--test]
set -euo pipefail

packages=()
pkg-config --exists rdkafka 2>/dev/null || packages+=(librdkafka-dev)
pkg-config --exists libpq 2>/dev/null || packages+=(libpq-dev)
pkg-config --exists sqlite3 2>/dev/null || packages+=(libsqlite3-dev)
command -v pkg-config >/dev/null 2>&1 || packages+=(pkg-config)
if [ "${1:-}" = "--test" ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages+=(postgresql)
fi

if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing missing packages: ${packages[*]}"
run_as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    run_as_root=(sudo)
  else
    echo "error: these packages are missing and this user cannot install them: ${packages[*]}" >&2
    echo "Install them as root (apt-get install ${packages[*]}) and run again." >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${run_as_root[@]}" apt-get update -qq
"${run_as_root[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
