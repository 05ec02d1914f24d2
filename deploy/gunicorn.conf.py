# gunicorn.conf.py: Gunicorn's settings for pg_fib's web front, in the
# sections of Gunicorn's example config (examples/example_config.py).
# make run's supervisord (deploy/supervisord.conf) starts it as
#   gunicorn --config deploy/gunicorn.conf.py 'web:create_app()'
# and the environment overrides what is marked so (GUNICORN_BIND, ...).

import ctypes
import logging
import os
import shutil
import signal
import tempfile

# Server socket
#
# Loopback or a Unix socket only (make run: unix:run/gunicorn/gunicorn.sock):
# Nginx is the one client.
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
backlog = 2048

# Worker processes
#
# sync, 2 workers (one per core): a request is one prepared SELECT that
# takes PostgreSQL tens of microseconds, and Nginx buffers slow clients (and
# the 20 MB downloads), so no worker waits on them.  Measured by bench/web.sh
# (WORKER_CLASSES=1) on this 2-core machine, /api/v1/fib/<n> memo hits
# through Nginx with its cache missed, rounds taking turns, requests/s
# against sync 4 within a round (median), app CPU per request, p99, and the
# master's and workers' PSS, with the machine to itself: sync 2 1.07, 409 us,
# 17 ms, 84 MB; sync 4 1.00, 452 us, 21 ms, 148 MB; gthread 4x2 0.86, 608
# us; gthread 2x4 0.73, 681 us, 47 ms, 86 MB (its thread hand-offs cost 9.6
# context switches per request against 1.4, more than Nginx's upstream
# keep-alive saves); sync 8 0.73.  With other engineers' test runs taking
# 40% of the machine, gthread 2x4 did 1.41 times sync 4's requests/s on
# 547 us against sync 2's 454 (threads win more of a busy machine's CPU,
# not more work per microsecond of it).  GUNICORN_WORKER_CLASS,
# GUNICORN_WORKERS and GUNICORN_THREADS override.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Above the app's statement_timeout (FIB_WEB_STATEMENT_TIMEOUT_MS, 5 s), so
# the database cancels a slow query and the app answers 504 before
# Gunicorn would kill the worker.  Streaming F(10^8)'s 20 MB takes well under
# a second to Nginx, which buffers it for the client.
timeout = 60
graceful_timeout = 30
# Each worker tells the master it lives by an fchmod of a file of its own,
# at every request: in memory (/dev/shm), not in /tmp, which here is on
# disk (ext4), where each fchmod dirties an inode for the journal and can
# block a worker behind the disk, as Gunicorn's documentation warns.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
keepalive = 5
# Each worker is replaced after about this many requests (the jitter keeps
# them from all restarting at once), so that no slow leak in a library can
# grow without bound; the master starts the new one before the old one
# leaves, and requests waiting in the listen queue go to the others.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "2000"))

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
# To stdout and stderr; make run's supervisord sends them to run/gunicorn.log.
accesslog = "-"
errorlog = "-"
loglevel = "info"
# One line per request, with the worker's pid and the request's id (Nginx's
# $request_id, which the app also sets as PostgreSQL's application_name:
# web/requestid.py).
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms pid=%(p)s id=%({x-request-id}o)s'

# Process naming
proc_name = "pg_fib-web"

# Server hooks
#
# Gunicorn 20.1 runs child_exit inside the master's SIGCHLD handler, which
# Python may enter between any two bytecodes of the master, the handler
# itself included: workers that die close together (a burst of kills, all
# of them timing out in the same second) nest one handler in another, and
# an import or a write that a nested handler repeats fails ("partially
# initialized module", "reentrant call") and stops the master.  So
# child_exit only appends to a list (atomic, cannot fail), and the work it
# stands for runs in pre_fork, in the master's main loop, before the
# replacement worker is forked.  test/deploy/test_gunicorn_master.py kills
# workers 5 ms apart and all at once and checks that the master lives and
# serves.
#
# Metrics (web/metrics.py): each worker writes its own to files in
# PROMETHEUS_MULTIPROC_DIR, and /metrics adds them up.  The master makes
# the directory afresh at start (a worker's files must not outlive the
# server), owned by the workers' user, before any worker imports the app;
# a dead worker's live gauges are dropped before its replacement starts.


_METRICS_PREFIX = "pg_fib-web-metrics."
# prctl(2): the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
# Pids of the workers that exited, for pre_fork.
_exited = []


def on_starting(server):
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path, mode=0o700)
    else:
        path = tempfile.mkdtemp(prefix=_METRICS_PREFIX)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    os.chown(path, server.cfg.uid, server.cfg.gid)
    # Gunicorn logs from its SIGCHLD handler too; when that handler
    # interrupts a write of the same stream (one blocked on a full pipe),
    # the nested write fails ("reentrant call"), and logging's report of
    # the failure would raise out of the handler and stop the master.  The
    # master drops such a line instead; workers report as usual (post_fork).
    logging.raiseExceptions = False


def on_exit(server):
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    if os.path.basename(path).startswith(_METRICS_PREFIX):
        shutil.rmtree(path, ignore_errors=True)


def child_exit(server, worker):
    _exited.append(worker.pid)


def pre_fork(server, worker):
    if not _exited:
        return
    # Imported here, in the main loop, not at the top: prometheus_client
    # chooses its multiprocess mode when first imported, and
    # PROMETHEUS_MULTIPROC_DIR is set only by on_starting.
    from prometheus_client import multiprocess
    while _exited:
        pid = _exited.pop()
        try:
            multiprocess.mark_process_dead(pid)
        except OSError as error:
            server.log.warning("metrics of worker %s not dropped: %s", pid, error)


def post_fork(server, worker):
    logging.raiseExceptions = True


def post_worker_init(worker):
    # A master killed outright (SIGKILL, OOM) leaves its workers running;
    # the supervisor's new master binds a new socket, so they would serve
    # no one while holding their database connections until their next
    # check of the parent (up to timeout / 2).  SIGTERM, their graceful
    # stop, when the master dies.  Set here, after the worker took the
    # app's user: changing credentials clears the setting.
    if _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        worker.log.warning("prctl(PR_SET_PDEATHSIG): %s", os.strerror(ctypes.get_errno()))
    if os.getppid() != worker.ppid:
        worker.alive = False
