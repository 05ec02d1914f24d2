"""Where the time of GET /api/v1/fib/N goes, per request in one process
(best of 5 rounds of K calls), printed as a markdown table; bench/web.sh
appends it to bench/results/web.md.

Usage: FIB_WEB_DATABASE_URL=... /usr/bin/python3 bench/web_profile.py N
"""

import os
import re
import statistics
import sys
import time

import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from web import create_app, db  # noqa: E402

K = 2000


def per_call_us(f, k=K):
    for _ in range(100):
        f()
    best = None
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(k):
            f()
        took = (time.perf_counter() - start) / k * 1e6
        best = took if best is None else min(best, took)
    return best


def main():
    n = int(sys.argv[1])
    url = os.environ["FIB_WEB_DATABASE_URL"]
    params = {"n": n, "max_digits": 200000, "failed_hold": 30,
              "application_name": "pg_fib web bench"}
    app = create_app()

    @app.get("/bench/const")
    def const():
        return {"n": "32", "value": "2178309"}

    client = app.test_client()
    rows = []
    rows.append(("Flask test client, constant route", per_call_us(lambda: client.get("/bench/const"))))
    rows.append((f"Flask test client, /api/v1/fib/{n}",
                 per_call_us(lambda: client.get(f"/api/v1/fib/{n}"))))
    with app.app_context():
        rows.append(("db.value(): pool + psycopg + round trip + server",
                     per_call_us(lambda: db.value(n, 200000))))
    real_value = db.value
    with app.app_context():
        row = db.value(n, 200000)
    db.value = lambda *_: row
    try:
        rows.append((f"/api/v1/fib/{n} with the query's row stubbed (route code only)",
                     per_call_us(lambda: client.get(f"/api/v1/fib/{n}"))))
    finally:
        db.value = real_value
    app.extensions["pg_fib_pools"].close()

    with psycopg.connect(url, autocommit=True, prepare_threshold=0) as conn:
        rows.append(("psycopg, one connection: prepared SELECT %s::bigint",
                     per_call_us(lambda: conn.execute("SELECT %(n)s::bigint", params).fetchone())))
        rows.append(("psycopg, one connection: the route's query (VALUE_SQL)",
                     per_call_us(lambda: conn.execute(db.VALUE_SQL, params).fetchone())))
        numbers = {"n": "$1", "max_digits": "$2", "failed_hold": "$3", "application_name": "$4"}
        sql = re.sub(r"%\((\w+)\)s", lambda m: numbers[m.group(1)], db.VALUE_SQL.replace("%%", "%"))
        conn.execute(f"PREPARE v(bigint, bigint, double precision, text) AS {sql}")
        times = []
        for _ in range(500):
            plan = conn.execute(f"EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) EXECUTE v({n}, 200000, 30, 'pg_fib web bench')")
            for (line,) in plan:
                if line.startswith("Execution Time"):
                    times.append(float(line.split()[2]) * 1000)
        rows.append(("server: execution of VALUE_SQL (EXPLAIN ANALYZE, median)",
                     statistics.median(times)))

    print(f"Per request in one process (n = {n}), best of 5 rounds of {K}:\n")
    print("| what | us |")
    print("|---|---:|")
    for label, us in rows:
        print(f"| {label} | {us:.1f} |")


if __name__ == "__main__":
    main()
