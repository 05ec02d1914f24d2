"""Where the time of a memo hit, GET /api/v1/fib/<n>, goes: layer by layer,
in one process, in CPU time.  bench/web.sh runs it (after its wrk rounds,
and alone as "bench/web.sh profile", "make bench-web-profile"); it prints
markdown tables.

    FIB_WEB_DATABASE_URL=... [BENCH_OLD_DATABASE_URL=...] \\
        /usr/bin/python3 bench/web_profile.py MEMO_N INLINE_N [RUNS]

MEMO_N must be memoized, INLINE_N below pg_fib.memo_min_n.  RUNS, the file
of bench/web.sh's rounds (bench/web_wrk.py's), adds the table of every
microsecond of a request (the layers measured here beside each process's
CPU in the rounds) and of what would reach issue 16's goals.  Each row is a
callable run K times per round (K chosen for about 0.2 s), the rows taking
turns for PROFILE_ROUNDS rounds (default 7); the figures are the best
(lowest) of the rounds, per call, since the machine's other work can only
add to them:
  CPU      this process's CPU time (time.process_time_ns: every thread,
           user and system), what a Gunicorn worker spends;
  server   the CPU time of the PostgreSQL backends that served the calls
           (/proc/<pid>/schedstat, nanoseconds);
  wall     elapsed time, which also holds the round trips and whatever the
           other engineers' processes took from us: the noisiest column.
Requests go through Gunicorn's own sync worker code (SyncWorker.handle, with
deploy/gunicorn.conf.py's settings and its access log formatted and
written to /dev/null) over a socket pair, with the headers Nginx sends; the
layers inside the app are measured by calling the WSGI app directly and by
turning parts off (monkeypatching web's hooks out while the app is made, or
the query's row stubbed), never by changing web/.  Prometheus's client runs
in multiprocess mode, as under Gunicorn (PROMETHEUS_MULTIPROC_DIR, set
here when missing); its cost per observation is also measured without it
in a child process.  Every request and statement carries a request id of
its own, as in production.  CPU time, not instruction counts: this VM has
no hardware counters (perf stat: instructions not supported), and
callgrind counts no system calls, which cost over a microsecond each here.
"""

import os
import shutil
import subprocess
import sys
import tempfile

if __name__ == "__main__" and "PROMETHEUS_MULTIPROC_DIR" not in os.environ \
        and "--metrics-single" not in sys.argv:
    # The metrics' storage is chosen when prometheus_client is imported.
    _dir = tempfile.mkdtemp(prefix="pg_fib-profile-metrics.")
    try:
        sys.exit(subprocess.call([sys.executable] + sys.argv,
                                 env=dict(os.environ, PROMETHEUS_MULTIPROC_DIR=_dir)))
    finally:
        shutil.rmtree(_dir, ignore_errors=True)

import contextlib  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import runpy  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

ROUNDS = int(os.environ.get("PROFILE_ROUNDS", "7"))
ROUND_SECONDS = float(os.environ.get("PROFILE_ROUND_SECONDS", "0.2"))
# Every request has an id of its own (Nginx's $request_id), and so every
# statement a new application_name: the calls take them in turn.
REQUEST_IDS = [f"{i:08x}" * 4 for i in range(1, 258)]
REQUEST_ID = REQUEST_IDS[0]


def ids():
    """The request ids, in turn, for ever."""
    import itertools
    return itertools.cycle(REQUEST_IDS)


def nginx_requests(path):
    """The request as deploy/nginx.conf sends it to Gunicorn, one per id."""
    return [nginx_request(path, rid) for rid in REQUEST_IDS]


def nginx_request(path, request_id=REQUEST_ID):
    """The request as deploy/nginx.conf sends it to Gunicorn (its
    proxy_set_header lines, then the client's own headers)."""
    return (f"GET {path} HTTP/1.1\r\n"
            "Host: 127.0.0.1:8080\r\n"
            "X-Forwarded-For: 127.0.0.1\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: 127.0.0.1\r\n"
            "X-Forwarded-Port: 8080\r\n"
            f"X-Request-Id: {request_id}\r\n"
            "X-Bypass-Cache: 1\r\n"
            "\r\n").encode()


# Measuring ---------------------------------------------------------------

class Row:
    """One measured callable: f() is one call; context() wraps each round's
    calls; backends() gives the pids of the backends whose CPU is its."""

    def __init__(self, key, label, f, context=None, backends=None):
        self.key, self.label, self.f = key, label, f
        self.context = context or contextlib.nullcontext
        self.backends = backends or (lambda: [])
        self.k = None
        self.samples = []  # (cpu_us, server_us, wall_us) per round

    def measure(self):
        pids = self.backends()
        with self.context():
            if self.k is None:
                for _ in range(20):
                    self.f()
                start = time.perf_counter()
                for _ in range(20):
                    self.f()
                per = (time.perf_counter() - start) / 20
                self.k = max(20, int(ROUND_SECONDS / max(per, 1e-7)))
            s0, c0, w0 = _schedstat(pids), time.process_time_ns(), time.perf_counter_ns()
            for _ in range(self.k):
                self.f()
            w1, c1, s1 = time.perf_counter_ns(), time.process_time_ns(), _schedstat(pids)
        self.samples.append(((c1 - c0) / self.k / 1000, (s1 - s0) / self.k / 1000,
                             (w1 - w0) / self.k / 1000))

    def best(self, i):
        return min(s[i] for s in self.samples)

    @property
    def cpu(self):
        return self.best(0)

    @property
    def server(self):
        return self.best(1)

    @property
    def wall(self):
        return self.best(2)


def _schedstat(pids):
    """Nanoseconds on CPU of these processes so far."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def run_rounds(rows):
    for r in range(ROUNDS):
        print(f"web_profile.py: round {r + 1} of {ROUNDS}", file=sys.stderr)
        for row in rows:
            row.measure()


# Gunicorn ------------------------------------------------------------------

class _Listener:
    """What handle_request asks of the listening socket."""

    @staticmethod
    def getsockname():
        return ("127.0.0.1", 8000)


def sync_worker(wsgi, accesslog="/dev/null"):
    """A Gunicorn sync worker with deploy/gunicorn.conf.py's settings,
    serving wsgi, never started: handle() is called directly."""
    from gunicorn import glogging
    from gunicorn.config import Config
    from gunicorn.workers.sync import SyncWorker
    cfg = Config()
    for key, value in runpy.run_path(os.path.join(ROOT, "deploy", "gunicorn.conf.py")).items():
        if key in cfg.settings and not callable(value):
            cfg.set(key, value)
    cfg.set("accesslog", accesslog)
    worker = SyncWorker(0, os.getppid(), [], None, 60, cfg, glogging.Logger(cfg))
    worker.max_requests = sys.maxsize
    worker.wsgi = wsgi
    return worker


def through_gunicorn(worker, requests):
    """One request through worker (the next of requests, a list), as its
    loop serves a connection: accept (here a socket pair), handle, notify
    the master; the client's side reads the whole answer."""
    import itertools
    turn = itertools.cycle(requests)

    def call():
        client, server = socket.socketpair()
        client.sendall(next(turn))
        worker.handle(_Listener, server, ("127.0.0.1", 40000))
        worker.notify()
        answer = client.recv(65536)
        while True:
            more = client.recv(65536)
            if not more:
                break
            answer += more
        client.close()
        return answer
    return call


def sockets_only(request, answer):
    """The socket pair's own cost: what through_gunicorn spends besides
    Gunicorn and the app."""
    def call():
        client, server = socket.socketpair()
        client.sendall(request)
        server.recv(65536)
        server.sendall(answer)
        server.close()
        while client.recv(65536):
            pass
        client.close()
    return call


def direct(app, environs):
    """One call of the WSGI app with a copy of the next of environs (as
    Gunicorn made them)."""
    import itertools
    turn = itertools.cycle(environs)

    def start_response(status, headers, exc_info=None):
        return None

    def call():
        body = app(dict(next(turn)), start_response)
        for _ in body:
            pass
        if hasattr(body, "close"):
            body.close()
    return call


def gunicorn_environs(requests):
    """The WSGI environs Gunicorn makes of requests."""
    seen = []

    def capture(environ, start_response):
        seen.append(dict(environ))
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]
    call = through_gunicorn(sync_worker(capture, None), requests)
    for _ in requests:
        call()
    return seen


def trivial_app(environ, start_response):
    """WSGI without a framework: the bare route's body."""
    body = b'{"n":"32","value":"2178309"}\n'
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


# pg_fib's app, whole and in parts ------------------------------------------

class Stub:
    """db.value replaced by a function that gives the stubbed row while
    Stub.on is true, and calls the real one otherwise."""
    on = False
    rows = {}


def make_app(proxy=True, request_id=True, metrics=True):
    """web.create_app() as Gunicorn serves it (BEHIND_PROXY: ProxyFix), with
    the request-id hook and the metrics hooks left out when asked."""
    from web import create_app
    from web import metrics as metrics_mod
    from web import requestid as requestid_mod
    saved = metrics_mod.init_app, requestid_mod.init_app
    if not request_id:
        requestid_mod.init_app = lambda app: None
    if not metrics:
        metrics_mod.init_app = lambda app, **_: app.register_blueprint(metrics_mod.bp)
    try:
        return create_app({"BEHIND_PROXY": proxy})
    finally:
        metrics_mod.init_app, requestid_mod.init_app = saved


def install_stub():
    from web import db
    real = db.value

    def value(n, max_digits):
        if Stub.on:
            return Stub.rows[n]
        return real(n, max_digits)
    db.value = value


@contextlib.contextmanager
def stubbed():
    Stub.on = True
    try:
        yield
    finally:
        Stub.on = False


# Drivers and statements ----------------------------------------------------

def pg_params(sql, names):
    """sql with psycopg's %(name)s placeholders made $1, $2, ... in the order
    of names, for PREPARE."""
    numbers = {name: f"${i}" for i, name in enumerate(names, 1)}
    return re.sub(r"%\((\w+)\)s", lambda m: numbers[m.group(1)], sql).replace("%%", "%")


def statements(n):
    """(key, label, SQL with %(name)s placeholders) of the statements to
    compare; those made by editing today's value statement are skipped when
    the edit no longer applies (web/db.py changed)."""
    from web import db
    value = db.VALUE.template
    out = [("value", "`db.VALUE`, as web/db.py has it", value)]

    def edited(key, label, old, new):
        if old in value:
            out.append((key, label, value.replace(old, new)))
    edited("untagged", "`db.VALUE` without its request id (`set_config` filter)", db._TAGGED, "")
    row = ("SELECT s.n, s.state, s.progress, s.digits, s.error, "
           "CASE WHEN s.finished_at IS NOT NULL THEN 'memo' ELSE 'computed' END AS source, "
           "fib_sign(s.n) < 0 AS negative, "
           "CASE WHEN s.state = 'done' THEN fib_text(s.n) END AS value "
           "FROM fib_status(%(n)s) AS s")
    out += [
        ("row", "the same row from `fib_status` and `fib_text` alone (no queuing, no id)", row),
        ("row_tagged", "the same, with the request id (`set_config`)",
         f"{row} {db._TAGGED}"),
        ("text", "`SELECT fib_text(n)`", "SELECT fib_text(%(n)s)"),
        ("status", "`SELECT * FROM fib_status(n)`", "SELECT * FROM fib_status(%(n)s)"),
        ("one", "`SELECT n` (the protocol alone)", "SELECT %(n)s::bigint"),
    ]
    return out


def param_names(sql):
    names = []
    for name in re.findall(r"%\((\w+)\)s", sql):
        if name not in names:
            names.append(name)
    return names


def tagged_params(params):
    """params with each request's application_name, in turn, for ever."""
    import itertools
    return itertools.cycle([dict(params, application_name=f"pg_fib web {rid}")
                            for rid in REQUEST_IDS])


TYPES = {"n": "bigint", "max_digits": "bigint", "failed_hold": "double precision",
         "application_name": "text", "requester": "text"}


class Psycopg2:
    """Debian's psycopg2 (C): each statement PREPAREd once, then EXECUTEd
    (one round trip, the simple protocol), or sent whole with its
    parameters interpolated by the driver (plain)."""

    def __init__(self, url):
        import psycopg2
        import psycopg2.extras
        self.extras = psycopg2.extras
        self.conn = psycopg2.connect(url, application_name="pg_fib web",
                                     options="-c statement_timeout=30000")
        self.conn.autocommit = True
        self.count = 0

    def prepared(self, sql, params, dicts=False):
        """The call of sql, PREPAREd; each call with the next request id."""
        names = param_names(sql)
        self.count += 1
        name = f"s{self.count}"
        with self.conn.cursor() as cur:
            cur.execute(f"PREPARE {name}({', '.join(TYPES[n] for n in names)}) AS "
                        f"{pg_params(sql, names)}")
        execute = f"EXECUTE {name}({', '.join(['%s'] * len(names))})"
        factory = self.extras.RealDictCursor if dicts else None
        cur = self.conn.cursor(cursor_factory=factory)
        tagged = tagged_params(params)

        def call():
            p = next(tagged)
            cur.execute(execute, tuple(p[n] for n in names))
            return cur.fetchone()
        return call

    def plain(self, sql, params):
        cur = self.conn.cursor()
        tagged = tagged_params(params)

        def call():
            cur.execute(sql, next(tagged))
            return cur.fetchone()
        return call

    def backends(self):
        return [self.conn.get_backend_pid()]


class Psycopg3:
    """Debian's psycopg 3.1 (pure Python, libpq through ctypes), connected
    as web/db.py's pools connect: prepared on first use, autocommit."""

    def __init__(self, url, dicts=True):
        import psycopg
        from psycopg.rows import dict_row, tuple_row
        self.conn = psycopg.connect(url, autocommit=True, prepare_threshold=0,
                                    application_name="pg_fib web",
                                    options="-c statement_timeout=30000",
                                    row_factory=dict_row if dicts else tuple_row)

    def prepared(self, sql, params):
        conn = self.conn
        tagged = tagged_params(params)

        def call():
            return conn.execute(sql, next(tagged)).fetchone()
        return call

    def libpq(self, statement, params):
        """statement (a web.db.Statement) as web/db.py runs it: libpq's own
        PQexecPrepared through psycopg's pq module, text in and out."""
        from web.pools import _exec_prepared
        conn = self.conn
        tagged = tagged_params(params)

        def call():
            return statement.row(_exec_prepared(conn, statement, statement.values(next(tagged))))
        return call

    def backends(self):
        return [self.conn.info.backend_pid]


def client_backends(url):
    """A function giving the pids of every client backend but its own."""
    import psycopg
    conn = psycopg.connect(url, autocommit=True)

    def pids():
        # Another role's backend_type is hidden: the process title tells.
        found = []
        for (pid,) in conn.execute("SELECT pid FROM pg_stat_activity "
                                   "WHERE pid <> pg_backend_pid()"):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    title = f.read().decode(errors="replace")
            except OSError:
                continue
            if re.match(r"postgres: \S+ \S+ (\d|\[local\])", title):
                found.append(pid)
        return found
    return pids


# Prometheus ----------------------------------------------------------------

def metric_rows():
    from web import metrics
    route = "/api/v1/fib/<n>"
    return [
        Row("m_counter", "`fib_web_http_requests_total` `.labels(route, status).inc()`",
            lambda: metrics.REQUESTS.labels(route, "200").inc()),
        Row("m_hist", "`fib_web_http_request_duration_seconds` `.labels(route).observe()`",
            lambda: metrics.LATENCY.labels(route).observe(0.0012)),
        Row("m_query", "`fib_web_queries_total` `.labels(server, outcome).inc()`",
            lambda: metrics.QUERIES.labels("primary", "ok").inc()),
    ]


def metrics_single():
    """Child mode: the metric rows without multiprocess mode, as JSON."""
    rows = metric_rows()
    run_rounds(rows)
    print(json.dumps({row.key: row.cpu for row in rows}))


# The tables ----------------------------------------------------------------

def main():
    memo_n, inline_n = (int(a) for a in sys.argv[1:3])
    url = os.environ["FIB_WEB_DATABASE_URL"]
    old_url = os.environ.get("BENCH_OLD_DATABASE_URL")
    install_stub()
    backends = client_backends(url)

    memo_path, inline_path = f"/api/v1/fib/{memo_n}", f"/api/v1/fib/{inline_n}"
    memo_req, inline_req = nginx_requests(memo_path), nginx_requests(inline_path)
    bare_req = nginx_requests(f"/bare/{memo_n}")
    environ = gunicorn_environs(memo_req)
    bare_environ = gunicorn_environs(bare_req)
    inline_environ = gunicorn_environs(inline_req)

    from bench import web_bare
    bare = web_bare.create_app()
    app = make_app()
    plain = make_app(proxy=False, request_id=False, metrics=False)
    proxied = make_app(request_id=False, metrics=False)
    with_id = make_app(metrics=False)
    with_metrics = make_app(request_id=False)

    # The real rows, stubbed in later.
    from web import db
    with app.test_request_context(memo_path, headers={"X-Request-Id": REQUEST_ID}):
        Stub.rows[memo_n] = db.value(memo_n, app.config["VALUE_MAX_DIGITS"])
        Stub.rows[inline_n] = db.value(inline_n, app.config["VALUE_MAX_DIGITS"])
        assert Stub.rows[memo_n]["source"] == "memo", Stub.rows[memo_n]
        assert Stub.rows[inline_n]["source"] == "computed", Stub.rows[inline_n]

    worker = sync_worker(app)
    answer = through_gunicorn(worker, memo_req)()
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"source":"memo"' in answer, answer[:300]
    assert b"Connection: close" in answer

    rows = [
        Row("g_sockets", "the socket pair alone (subtracted from the rows below it)",
            sockets_only(memo_req[0], answer)),
        Row("g_trivial", "Gunicorn's sync worker + a WSGI function answering a constant",
            through_gunicorn(sync_worker(trivial_app), bare_req)),
        Row("g_trivial_nolog", "the same without Gunicorn's access log",
            through_gunicorn(sync_worker(trivial_app, None), bare_req)),
        Row("g_bare", "Gunicorn + the bare Flask route (`bench/web_bare.py`)",
            through_gunicorn(sync_worker(bare), bare_req)),
        Row("g_memo", f"Gunicorn + pg_fib's app, `{memo_path}` (memo hit)",
            through_gunicorn(worker, memo_req), backends=backends),
        Row("g_inline", f"Gunicorn + pg_fib's app, `{inline_path}` (computed inline)",
            through_gunicorn(worker, inline_req), backends=backends),
    ]
    if old_url:
        from bench import web_old
        old_req = nginx_requests(f"/old/calculate/{memo_n}")
        rows.append(Row("g_old", "Gunicorn + the old stack's replica (`bench/web_old.py`)",
                        through_gunicorn(sync_worker(web_old.create_app()), old_req),
                        backends=backends))
    rows += [
        Row("w_bare", "the bare Flask route", direct(bare, bare_environ)),
        Row("w_plain", "pg_fib's route, query stubbed; no ProxyFix, no request id, no metrics",
            direct(plain, environ), context=stubbed),
        Row("w_proxied", "... + ProxyFix", direct(proxied, environ), context=stubbed),
        Row("w_id", "... + ProxyFix + the request-id hook", direct(with_id, environ),
            context=stubbed),
        Row("w_metrics", "... + ProxyFix + the metrics hooks", direct(with_metrics, environ),
            context=stubbed),
        Row("w_stubbed", "pg_fib's app as served, query stubbed", direct(app, environ),
            context=stubbed),
        Row("w_memo", "pg_fib's app as served, memo hit", direct(app, environ),
            backends=backends),
        Row("w_inline", "pg_fib's app as served, computed inline", direct(app, inline_environ),
            backends=backends),
    ]

    # The query inside the app, and its parts.
    pools = app.extensions["pg_fib_pools"]
    limit = app.config["VALUE_MAX_DIGITS"]

    def in_request():
        return app.test_request_context(memo_path, headers={"X-Request-Id": REQUEST_ID})

    from flask import g
    request_ids = ids()

    def value():
        g.request_id = next(request_ids)  # as requestid.current() keeps it
        return db.value(memo_n, limit)

    def checkout():
        with pools.primary.pool.connection(timeout=5):
            pass
    rows += [
        Row("d_value", "`db.value()`: routing, pool, psycopg, the query",
            value, context=in_request, backends=backends),
        Row("d_checkout", "the pool's checkout and return alone", checkout),
    ]

    params = {"n": memo_n, "max_digits": limit, "failed_hold": 30.0,
              "application_name": f"pg_fib web {REQUEST_ID}", "requester": "ip:127.0.0.1"}
    pg3 = Psycopg3(url)
    pg3t = Psycopg3(url, dicts=False)
    pg2 = Psycopg2(url)
    drivers = []
    for key, label, sql in statements(memo_n):
        drivers.append(Row(f"p2_{key}", label, pg2.prepared(sql, params),
                           backends=pg2.backends))
    value_sql = db.VALUE.template
    drivers += [
        Row("pq_value", "psycopg 3.1's pq module: libpq's PQexecPrepared (as web/db.py)",
            pg3.libpq(db.VALUE, params), backends=pg3.backends),
        Row("p3_value", "psycopg 3.1, prepared, dict rows (as web/db.py did)",
            pg3.prepared(value_sql, params), backends=pg3.backends),
        Row("p3_value_tuple", "psycopg 3.1, prepared, tuple rows",
            pg3t.prepared(value_sql, params), backends=pg3t.backends),
        Row("p3_one", "psycopg 3.1, prepared, `SELECT n`",
            pg3.prepared("SELECT %(n)s::bigint", params), backends=pg3.backends),
        Row("p2_value_dict", "psycopg2, `EXECUTE`, dict rows (RealDictCursor)",
            pg2.prepared(value_sql, params, dicts=True), backends=pg2.backends),
        Row("p2_value_plain", "psycopg2, not prepared (parsed and planned each time)",
            pg2.plain(value_sql, params), backends=pg2.backends),
    ]
    inline_params = dict(params, n=inline_n)
    drivers += [
        Row("p2_value_inline", f"`db.VALUE`, n = {inline_n} (computed inline)",
            pg2.prepared(value_sql, inline_params), backends=pg2.backends),
        Row("p2_text_inline", f"`SELECT fib_text(n)`, n = {inline_n}",
            pg2.prepared("SELECT fib_text(%(n)s)", inline_params), backends=pg2.backends),
    ]
    metrics = metric_rows() + [
        Row("syscall", "for scale: one system call (`os.getpid()`)", os.getpid),
    ]
    everything = rows + drivers + metrics
    for row in everything:
        with row.context():
            row.f()  # each works before anything is measured
    run_rounds(everything)

    single = {}
    done = subprocess.run([sys.executable, __file__, "--metrics-single"], capture_output=True,
                          text=True, env={k: v for k, v in os.environ.items()
                                          if k != "PROMETHEUS_MULTIPROC_DIR"})
    if done.returncode == 0:
        single = json.loads(done.stdout.strip().splitlines()[-1])
    else:
        print(done.stderr, file=sys.stderr)
    stack = load_stack(sys.argv[3]) if len(sys.argv) > 3 else None
    print_tables({row.key: row for row in everything}, rows, drivers, metrics, single,
                 memo_path, stack)
    pools.close()


def load_stack(path):
    """variant -> part -> the median over rounds of its CPU µs per request,
    from bench/web_wrk.py's runs (bench/web.sh's rounds)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import web_wrk
    out = {}
    for variant, rounds in web_wrk._load(path).items():
        splits = [web_wrk._split_cpu(r) for r in rounds.values()]
        out[variant] = {k: statistics.median(s[k] for s in splits) for k in splits[0]}
        out[variant]["total"] = statistics.median(sum(s.values()) for s in splits)
    return out


def print_tables(r, rows, drivers, metrics, single, memo_path, stack):
    def line(cells):
        print("| " + " | ".join(cells) + " |")

    print(f"## Where the time of a memo hit goes (best of {ROUNDS} rounds taking turns; "
          "one process, `bench/web_profile.py`)\n")
    print("CPU is this process's CPU time per call, server the PostgreSQL backend's "
          "(`/proc/<pid>/schedstat`), wall the elapsed time (round trips, and whatever the "
          "machine's other users took: the noisiest).\n")
    print("### Requests, through Gunicorn's sync worker code or straight into the WSGI app\n")
    line(["request", "CPU µs", "server µs", "wall µs"])
    line(["---", "---:", "---:", "---:"])
    for row in rows:
        server = f"{row.server:.1f}" if row.server > 0.05 else ""
        line([row.label, f"{row.cpu:.1f}", server, f"{row.wall:.1f}"])

    sock = r["g_sockets"].cpu
    print("\n### The layers of a memo hit, CPU µs per request\n")
    print("Differences of the rows above (so each carries the noise of two); "
          "Nginx's and the kernel's work per request are in `bench/web.sh`'s CPU table.\n")
    line(["layer", "µs", "how"])
    line(["---", "---:", "---"])
    layers = [
        ("Gunicorn: parse, environ, response, notify", r["g_trivial_nolog"].cpu - sock,
         "constant WSGI function through `SyncWorker.handle`, no access log, minus the socket pair"),
        ("Gunicorn: access log line", r["g_trivial"].cpu - r["g_trivial_nolog"].cpu,
         "access log on minus off"),
        ("Flask + Werkzeug: a bare route", r["w_bare"].cpu, "the bare route, called directly"),
        ("pg_fib's route code (parse n, ETags, JSON of the value)",
         r["w_plain"].cpu - r["w_bare"].cpu, "query stubbed, no hooks, minus the bare route"),
        ("ProxyFix", r["w_proxied"].cpu - r["w_plain"].cpu, "on minus off"),
        ("request-id hook (`X-Request-Id` on the response)",
         r["w_id"].cpu - r["w_proxied"].cpu, "on minus off"),
        ("metrics hooks (a counter, a histogram)", r["w_metrics"].cpu - r["w_proxied"].cpu,
         "on minus off"),
        ("`db.value()`: pool, driver, round trip (client side)",
         r["w_memo"].cpu - r["w_stubbed"].cpu, "real query minus stubbed"),
        ("  of which the pool's checkout and return", r["d_checkout"].cpu, "alone"),
        ("  of which libpq running the statement", r["pq_value"].cpu,
         "`PQexecPrepared` of `db.VALUE` through psycopg's pq module"),
        ("PostgreSQL: the statement (server CPU)", r["pq_value"].server,
         "the backend's CPU per `db.VALUE`"),
    ]
    for label, us, how in layers:
        line([label, f"{us:.1f}", how])
    total_app = r["g_memo"].cpu - sock
    line(["**the memo hit in Gunicorn's worker, all layers**", f"**{total_app:.1f}**",
          "through `SyncWorker.handle` minus the socket pair"])
    line(["the bare route in Gunicorn's worker", f"{r['g_bare'].cpu - sock:.1f}",
          "the same for `/bare/<n>`"])

    print("\n### The statement and the driver, per query\n")
    print("psycopg2 `EXECUTE`s statements `PREPARE`d once on its connection (tuple rows "
          "unless said); psycopg 3.1 prepares on first use, as web/db.py's pools do.  "
          "Client CPU is the driver's.\n")
    line(["statement / driver", "client CPU µs", "server µs", "wall µs"])
    line(["---", "---:", "---:", "---:"])
    for row in drivers:
        line([row.label, f"{row.cpu:.1f}", f"{row.server:.1f}", f"{row.wall:.1f}"])

    print("\n### Prometheus, per observation\n")
    line(["observation", "multiprocess µs (as under Gunicorn)", "single process µs"])
    line(["---", "---:", "---:"])
    for row in metrics:
        alone = f"{single[row.key]:.2f}" if row.key in single else "-"
        line([row.label, f"{row.cpu:.2f}", alone])

    if stack and "memo" in stack and "bare" in stack:
        print_stack(r, stack, single, line)


def print_stack(r, stack, single, line):
    """Every microsecond of a memo hit beside the bare route's: the CPU per
    request of each process in bench/web.sh's rounds, Gunicorn's split by
    the layers measured here; then what the alternatives would save."""
    sock = r["g_sockets"].cpu
    memo, bare = stack["memo"], stack["bare"]
    gunicorn = r["g_trivial_nolog"].cpu - sock
    access = r["g_trivial"].cpu - r["g_trivial_nolog"].cpu
    parts = [
        ("route code: parse n, ETags, the JSON of the value", r["w_plain"].cpu - r["w_bare"].cpu),
        ("ProxyFix", r["w_proxied"].cpu - r["w_plain"].cpu),
        ("request-id hook", r["w_id"].cpu - r["w_proxied"].cpu),
        ("metrics hooks", r["w_metrics"].cpu - r["w_proxied"].cpu),
        ("`db.value()`: pool, psycopg 3.1, waiting", r["w_memo"].cpu - r["w_stubbed"].cpu),
    ]
    in_memo = r["g_memo"].cpu - sock
    in_bare = r["g_bare"].cpu - sock
    print("\n### Every microsecond of a request: a memo hit beside the bare route\n")
    print("CPU µs per request.  Nginx, the Gunicorn apps as a whole, PostgreSQL and wrk: "
          "their processes' CPU time in `bench/web.sh`'s rounds (medians, 32 connections); "
          "the layers inside Gunicorn's worker: this script, one process; the worker's CPU in "
          "the rounds beyond the layers' sum is the kernel's (accepting Nginx's new "
          "connection, select, TCP, being switched out while PostgreSQL answers and back) "
          "and what a busy machine's caches add.  On this VM one system call costs "
          f"{r['syscall'].cpu:.1f} µs (`os.getpid()`).\n")
    line(["layer", "memo hit", "bare route", "gap"])
    line(["---", "---:", "---:", "---:"])

    def row(label, a, b):
        line([label, f"{a:.0f}", f"{b:.0f}" if b is not None else "-",
              f"{a - (b or 0):+.0f}"])
    row("wrk: the client (sending, reading the answer)", memo["wrk"], bare["wrk"])
    row("Nginx: proxying (a new upstream connection per request: sync workers close it)",
        memo["nginx"], bare["nginx"])
    row("Gunicorn's worker beyond its code's cost in one process: the kernel (accept, "
        "select, TCP, switches), a busy machine's caches",
        memo["app"] - in_memo, bare["app"] - in_bare)
    row("Gunicorn: parse, environ, response", gunicorn, gunicorn)
    row("Gunicorn: access log line", access, access)
    flask_memo = in_memo - gunicorn - access - sum(us for _, us in parts)
    row("Flask + Werkzeug, and Gunicorn's handling of their answer (the rest of the whole)",
        flask_memo, in_bare - gunicorn - access)
    for label, us in parts:
        row(label, us, None)
    row("PostgreSQL: the backend", memo["postgres"], bare["postgres"])
    row("PostgreSQL: pg_fib's keeper and worker (memo hits counted)", memo["postgres_pg_fib"],
        bare["postgres_pg_fib"])
    row("PostgreSQL: the rest (postmaster, WAL writer, ...)", memo["postgres_other"],
        bare["postgres_other"])
    row("**total**", memo["total"], bare["total"])
    if "cached" in stack:
        line(["the same value from Nginx's cache: Nginx / wrk / total",
              f"{stack['cached']['nginx']:.0f} / {stack['cached']['wrk']:.0f} / "
              f"{stack['cached']['total']:.0f}", "", ""])

    print("\n### What would reach the goals\n")
    # A worker's CPU per request in the stack, under load, against the same
    # code in one process: what a saving measured here is worth there.
    scale = bare["app"] / in_bare if in_bare > 0 else 1.0
    print("On 2 busy cores the requests/s of a variant follow its CPU per request, so the "
          "ratio memo hit / bare route is about bare total / memo total (a bound: the "
          "workers also wait on round trips).  Costs the bare route shares (Gunicorn's "
          "access log, Nginx, the worker class) lower both totals and so make the ratio "
          "*worse*: only the app's own costs count.  Savings are measured in one process; "
          "in the stack a worker's code costs more (caches and CPU shared with everything "
          f"else: the bare route's worker, {bare['app']:.0f} µs in the rounds against "
          f"{in_bare:.0f} in one process, {scale:.1f}x), so each is counted at {scale:.1f}x "
          "(the server's at 1x).\n")
    saves = [
        ("psycopg2 (C) for psycopg 3.1, same statement, dict rows",
         (r["p3_value"].cpu - r["p2_value_dict"].cpu) * scale),
        ("one smaller statement with the request id (`fib_status` + `fib_text` + "
         "`set_config`: server CPU)", r["p2_value"].server - r["p2_row_tagged"].server
         if "p2_row_tagged" in r else 0.0),
        ("Prometheus's 3 observations at their single-process cost (counted in memory, "
         "written to the multiprocess files now and then)",
         sum(r[k].cpu - single.get(k, r[k].cpu) for k in ("m_counter", "m_hist", "m_query"))
         * scale),
        ("ProxyFix and the request-id hook, both gone",
         (r["w_id"].cpu - r["w_plain"].cpu) * scale),
    ]
    line(["change", "saves µs", "memo total", "memo / bare (CPU bound)"])
    line(["---", "---:", "---:", "---:"])
    total = memo["total"]
    line(["today", "", f"{total:.0f}", f"{bare['total'] / total:.2f}"])
    for label, us in saves:
        total -= us
        line([f"+ {label}", f"{us:.0f}", f"{total:.0f}", f"{bare['total'] / total:.2f}"])
    measured = [
        ("floor", "what-if, measured: the bare route + one psycopg2 `EXECUTE` of "
                  "`SELECT fib_text(n)` (`bench/web_floor.py`)"),
        ("floor_tagged", "what-if, measured: the same, the request id set by the statement"),
        ("floor_wsgi", "what-if, measured: the same without Flask (a WSGI function)"),
        ("floor_wsgi_gthread", "what-if, measured: the same under gthread workers (4 x 2) "
                               "with upstream keep-alive"),
        ("memo_gthread", "pg_fib's app as it is under gthread workers (4 x 2) with upstream "
                         "keep-alive, measured"),
    ]
    for key, label in measured:
        if key in stack:
            line([label, "", f"{stack[key]['total']:.0f}",
                  f"{bare['total'] / stack[key]['total']:.2f}"])
    goal = bare["total"] / 0.8
    print(f"\nThe 0.8 goal needs a memo hit at or below {goal:.0f} µs of CPU in all "
          f"(the bare route's {bare['total']:.0f} / 0.8).")
    if "bare_2k" in stack:
        b2 = stack["bare_2k"]
        print(f"The bare route answering a body as long as a memo hit's costs {b2['total']:.0f} "
              f"µs (Nginx {b2['nginx']:.0f}, wrk {b2['wrk']:.0f}, Gunicorn {b2['app']:.0f}): "
              f"{b2['total'] - bare['total']:+.0f} µs of the gap is the value's size alone.")
    if "bare_gthread" in stack and "memo_gthread" in stack:
        gt = stack["bare_gthread"]["total"]
        print(f"Under the same gthread workers the bare route itself costs {gt:.0f} µs: "
              f"against it a memo hit under gthread stands at "
              f"{gt / stack['memo_gthread']['total']:.2f}.")


if __name__ == "__main__":
    if "--metrics-single" in sys.argv:
        metrics_single()
    else:
        main()
