#!/usr/bin/env bash
# install-deps.sh installs the Debian packages pg_fib needs to build, test and
# benchmark.  It is idempotent: packages already present are not touched and
# apt's index is refreshed only when something is missing.
set -euo pipefail

PACKAGES=(
    build-essential
    libgmp-dev
    libmpfr-dev
    postgresql-15
    postgresql-server-dev-15
    postgresql-contrib
    postgresql-15-cron
    postgresql-15-pgmp
    python3
    python3-pytest
    python3-psycopg
    python3-gmpy2
    python3-mpmath
    valgrind
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's postgresql-common creates a "main" cluster and starts it; pg_fib's
# tests use throwaway clusters of their own and do not need it.
