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
    # The web front (web/, deploy/): Flask under Gunicorn behind Nginx.
    python3-flask
    python3-psycopg-pool
    gunicorn
    nginx
    curl
    # Its tests and benchmark: headless Chromium, wrk, the old stack's replica.
    chromium
    chromium-driver
    python3-selenium
    wrk
    python3-sqlalchemy
    python3-psycopg2
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
# Debian starts a newly installed nginx on port 80 of every address; pg_fib
# runs its own Nginx on loopback (deploy/run.sh), so services installed now
# are not started (policy-rc.d exit 101), unless a policy is already there.
# (Debian's postgresql-common also creates a "main" cluster; pg_fib's tests
# and "make run" use clusters of their own and do not need it.)
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    own_policy=1
fi
status=0
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
if [ -n "$own_policy" ]; then
    $SUDO rm -f "$policy"
fi
exit "$status"
