# gunicorn.conf.py: Gunicorn's settings for pg_fib's web front, in the
# sections of Gunicorn's example config (examples/example_config.py).
# deploy/run.sh starts it as
#   gunicorn --config deploy/gunicorn.conf.py 'web:create_app()'
# and the environment overrides what is marked so (GUNICORN_BIND, ...).

import os

# Server socket
#
# Loopback only: Nginx is the one client.
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
backlog = 2048

# Worker processes
#
# gthread, 2 workers (one per core) of 4 threads each.  Measured by
# bench/web.sh on this 2-core machine, /api/v1/fib/10000 through Nginx with
# its cache bypassed, in three runs: sync 2, sync 4, sync 8, gthread 2x4 and
# gthread 4x2 side by side; gthread 2x4 and sync 2 beat sync 4 in every run
# (by 9 to 64 %) and sync 8 was last.  Between those two, threads keep a
# worker answering while one of its requests waits (a statement running
# until statement_timeout, a 20 MB download), and they let Nginx keep its
# connections to Gunicorn alive.  Each thread takes at most one pooled
# connection (FIB_WEB_POOL_MAX_SIZE, 4 by default).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Above the app's statement_timeout (FIB_WEB_STATEMENT_TIMEOUT_MS, 30 s), so
# the database cancels a slow query and the app answers 504 before
# Gunicorn would kill the worker.  Streaming F(10^8)'s 20 MB takes well under
# a second to Nginx, which buffers it for the client.
timeout = 60
graceful_timeout = 30
keepalive = 5

# Security
#
# Small requests only: the app reads no body.  Nginx's limits are lower
# (large_client_header_buffers 4 4k), so Nginx answers an overlong request
# with its JSON error before Gunicorn would with its HTML one.
limit_request_line = 8190
limit_request_fields = 50
limit_request_field_size = 8190

# Debugging
reload = False

# Server mechanics
pidfile = os.environ.get("GUNICORN_PIDFILE")
# Behind Nginx on loopback: trust its X-Forwarded-* (the app applies
# ProxyFix only when FIB_WEB_BEHIND_PROXY is true).
forwarded_allow_ips = "127.0.0.1"
raw_env = [f"FIB_WEB_BEHIND_PROXY={os.environ.get('FIB_WEB_BEHIND_PROXY', 'true')}"]

# Logging
#
# To stdout and stderr; deploy/run.sh sends them to run/gunicorn.log.
accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms'

# Process naming
proc_name = "pg_fib-web"
