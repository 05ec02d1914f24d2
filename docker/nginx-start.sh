#!/usr/bin/env bash
# nginx-start.sh: Nginx in the "nginx" container of docker-compose.yml, from
# the template deploy/nginx.conf filled by "deploy/run.sh nginx-conf", as
# make run fills it, with two changes only a container needs: Nginx stays
# in the foreground (daemon off: it is the container's process 1) and
# listens on every address of the container.  Its logs go to the
# container's stdout and stderr.
#
#   nginx-start.sh           fill the template and run Nginx
#   nginx-start.sh --print   print the filled configuration and exit (the
#                            tests compare it with make run's)
#
# Environment: PORT (default 8080), UPSTREAM (Gunicorn, default web:8081),
# RATE and BURST (limit_req, default 50r/s and 100, as make run),
# NGINX_PREFIX (default /var/lib/pg_fib-nginx), LISTEN_HOST (default
# 0.0.0.0; test/deploy/test_nginx_start.py runs this script on the host, on
# 127.0.0.1).
set -euo pipefail

cd "$(dirname "$0")/.."
PORT=${PORT:-8080}
UPSTREAM=${UPSTREAM:-web:8081}
RATE=${RATE:-50r/s}
BURST=${BURST:-100}
PREFIX=${NGINX_PREFIX:-/var/lib/pg_fib-nginx}
LISTEN_HOST=${LISTEN_HOST:-0.0.0.0}

conf() {
    deploy/run.sh nginx-conf "$PREFIX" "$LISTEN_HOST:$PORT" "$UPSTREAM" "$RATE" "$BURST" |
        sed -e 's/^daemon on;$/daemon off;/'
}

if [ "${1:-}" = "--print" ]; then
    conf
    exit 0
fi

mkdir -p "$PREFIX/cache"
deploy/run.sh api-docs "$PREFIX/api-docs"
chown www-data: "$PREFIX/cache"
conf >"$PREFIX/nginx.conf"
if ! grep -qx 'daemon off;' "$PREFIX/nginx.conf"; then
    echo "nginx-start: deploy/nginx.conf has no 'daemon on;' line to turn off" >&2
    exit 1
fi
ln -sf /dev/stdout "$PREFIX/access.log"
ln -sf /dev/stderr "$PREFIX/error.log"
exec nginx -p "$PREFIX" -c "$PREFIX/nginx.conf"
