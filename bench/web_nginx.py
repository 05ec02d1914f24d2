"""The benchmark's Nginx configuration: deploy/nginx.conf as deploy/run.sh
fills it (read on stdin), with one server block per app, all in one Nginx.

    deploy/run.sh nginx-conf PREFIX LISTEN UPSTREAM RATE BURST CONN |
        python3 bench/web_nginx.py [--access-log PATH] SERVER...

Each SERVER is NAME=LISTEN=UPSTREAM[=OPTION,...]: a copy of deploy/nginx.conf's
server block listening on LISTEN and proxying to an upstream block of its
own, NAME, of the address UPSTREAM (Gunicorn), with deploy/nginx.conf's
keep-alive.  The first SERVER takes the template's own (LISTEN and
UPSTREAM of the filled template are replaced).  Options, for the
alternatives bench/web.sh measures:
    nobuffer      proxy_buffering off in the server's locations
    nokeepalive   no keep-alive connections to the upstream

Every server differs from deploy/nginx.conf in these only: a request with
the header X-Bypass-Cache skips the cache and is not stored (the uncached
variants), and the access log goes to --access-log (default /dev/null: the
line is still formatted and written, as in production, but nothing fills
the disk).  limit_req and limit_conn are raised by the RATE, BURST and CONN
given to run.sh.
"""

import argparse
import re
import sys


def block(text, start):
    """The end (exclusive) of the brace block whose "{" is the first at or
    after start."""
    depth = 0
    i = text.index("{", start)
    while True:
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        elif c in "'\"":
            i = text.index(c, i + 1)  # the template's quoted strings hold braces
        elif c == "#":
            i = text.index("\n", i)
        i += 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--access-log", default="/dev/null")
    parser.add_argument("servers", nargs="+")
    args = parser.parse_args()
    conf = sys.stdin.read()

    conf, count = re.subn(r"access_log \S+ pg_fib", f"access_log {args.access_log} pg_fib", conf)
    assert count == 1, "deploy/nginx.conf: no access_log"
    marker = "proxy_cache_valid 200 1y;"
    assert conf.count(marker) >= 1, f"deploy/nginx.conf: no {marker}"
    conf = conf.replace(marker, marker + " proxy_cache_bypass $http_x_bypass_cache;"
                        " proxy_no_cache $http_x_bypass_cache;")

    up_start = conf.index("    upstream gunicorn {")
    up_end = block(conf, up_start)
    upstream = conf[up_start:up_end]
    srv_start = conf.index("    server {", up_end)
    srv_end = block(conf, srv_start)
    server = conf[srv_start:srv_end]
    listen = re.search(r"listen (\S+)", server).group(0)

    upstreams, servers = [], []
    for spec in args.servers:
        name, addr, target, *rest = spec.split("=")
        options = set(rest[0].split(",")) if rest and rest[0] else set()
        unknown = options - {"nobuffer", "nokeepalive"}
        if unknown or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            parser.error(f"bad server {spec!r}")
        up = re.sub(r"server \S+;", f"server {target};", upstream).replace(
            "upstream gunicorn", f"upstream {name}")
        if "nokeepalive" in options:
            up, count = re.subn(r"\n\s*keepalive \d+;", "", up)
            assert count == 1
        upstreams.append(up)
        srv = server.replace(listen, f"listen {addr}")
        srv, count = re.subn(r"proxy_pass http://gunicorn;", f"proxy_pass http://{name};", srv)
        assert count >= 1
        if "nobuffer" in options:
            srv = srv.replace(f"proxy_pass http://{name};",
                              f"proxy_pass http://{name}; proxy_buffering off;")
        servers.append(f"    # {spec}\n{srv}")

    sys.stdout.write(conf[:up_start] + "\n\n".join(upstreams) + conf[up_end:srv_start]
                     + "\n\n".join(servers) + conf[srv_end:])


if __name__ == "__main__":
    main()
