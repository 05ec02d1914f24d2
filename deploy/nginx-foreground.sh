#!/usr/bin/env bash
# nginx-foreground.sh PREFIX: Nginx in the foreground (daemon off) on the
# configuration PREFIX/nginx.conf, as supervisord runs it for "make run"
# (deploy/supervisord.conf, in the directory PREFIX).
#
# A master killed outright (SIGKILL, OOM) leaves its workers running: they
# keep the listening socket, so the new master could not bind it and
# supervisord would give up.  So first every Nginx process whose working
# directory is PREFIX (only supervisord starts Nginx there) is asked to
# stop gracefully (SIGQUIT: it closes its listening sockets at once and
# finishes the requests it has), and killed if it is still there 3 s later.
set -euo pipefail

PREFIX=$(cd "$1" && pwd -P)
NGINX=$(command -v nginx)

# leftovers prints the pids of the Nginx processes working in PREFIX.
leftovers() {
    local pid
    for pid in $(pgrep -x nginx); do
        # -ef: the same file (test's stat, no process per check).
        if [ "/proc/$pid/exe" -ef "$NGINX" ] && [ "/proc/$pid/cwd" -ef "$PREFIX" ]; then
            echo "$pid"
        fi
    done
}

mapfile -t pids < <(leftovers)
if [ "${#pids[@]}" -gt 0 ]; then
    echo "nginx-foreground: stopping what an earlier master left: ${pids[*]}" >&2
    kill -QUIT "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 30); do
        [ -n "$(leftovers)" ] || break
        sleep 0.1
    done
    mapfile -t pids < <(leftovers)
    [ "${#pids[@]}" -eq 0 ] || kill -KILL "${pids[@]}" 2>/dev/null || true
fi

cd "$PREFIX"
exec "$NGINX" -p "$PREFIX" -c "$PREFIX/nginx.conf"
