#!/usr/bin/env bash
# install-deps.sh installs the Debian packages pg_fib needs to build, test and
# benchmark.  It is idempotent: packages already present are not touched and
# apt's index is refreshed only when something is missing.
#
#   deploy/install-deps.sh            everything (make run, make test, make bench)
#   deploy/install-deps.sh SET...     only these sets, for the container images
#                                     of docker-compose.yml (docker/Dockerfile):
#       build   what compiles the extension
#       db      PostgreSQL 15 with pg_cron (the extension itself: build)
#       web     Flask under Gunicorn, the web front
#       nginx   Nginx in front of it
#       run     what make run adds: supervisord, which keeps Gunicorn and
#               Nginx running (the containers have Docker's restart policy)
#       test    the suites and benchmarks (with build, db, web, nginx and run),
#               and the npm packages of deploy/install-npm.sh
set -euo pipefail

BUILD=(
    build-essential
    libgmp-dev
    libmpfr-dev
    postgresql-server-dev-15
)
DB=(
    postgresql-15
    postgresql-contrib
    postgresql-15-cron
)
# The web front (web/, deploy/): Flask under Gunicorn behind Nginx; curl for
# the health checks.
WEB=(
    python3
    python3-flask
    python3-psycopg
    python3-psycopg-pool
    python3-prometheus-client
    gunicorn
    curl
)
NGINX=(
    nginx
    curl
)
# make run (deploy/run.sh): Gunicorn and Nginx under supervisord, which
# restarts either within a second if it dies; pgrep for
# deploy/nginx-foreground.sh.
RUN=(
    supervisor
    procps
)
TEST=(
    postgresql-15-pgmp
    python3-pytest
    # The API description: every answer checked against it, and drawn
    # requests (test/web/openapi_check.py, test_properties.py).
    python3-jsonschema
    python3-hypothesis
    python3-gmpy2
    python3-mpmath
    valgrind
    # The web tests and benchmark: headless Chromium, wrk, the old stack's
    # replica.
    chromium
    chromium-driver
    python3-selenium
    wrk
    python3-sqlalchemy
    python3-psycopg2
    # make soak's plot.
    python3-matplotlib
    # docker-compose.yml is validated (docker-compose config -q), not run:
    # no Docker engine is needed.
    docker-compose
)

PACKAGES=()
NPM=
for set in "${@:-all}"; do
    case "$set" in
        build) PACKAGES+=("${BUILD[@]}") ;;
        db) PACKAGES+=("${DB[@]}") ;;
        web) PACKAGES+=("${WEB[@]}") ;;
        nginx) PACKAGES+=("${NGINX[@]}") ;;
        run) PACKAGES+=("${RUN[@]}") ;;
        test | all) PACKAGES+=("${BUILD[@]}" "${DB[@]}" "${WEB[@]}" "${NGINX[@]}" "${RUN[@]}"
                              "${TEST[@]}")
            NPM=1 ;;
        *) echo "usage: $0 [build|db|web|nginx|run|test|all]..." >&2; exit 2 ;;
    esac
done

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done

# The npm packages of the tests, make audit and /api/docs (axe-core,
# Lighthouse, Redocly's CLI, Swagger UI), once the Debian packages are there.
npm_packages() {
    if [ -n "$NPM" ]; then
        "$(dirname "$0")/install-npm.sh"
    fi
}

if [ "${#missing[@]}" -eq 0 ]; then
    npm_packages
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
if [ "$status" -ne 0 ]; then
    exit "$status"
fi
npm_packages
