"""claims.py: what a compute worker's claim costs with 10,000 jobs queued,
the fair claim of this tree beside the FIFO claim of the release before it,
side by side in one run (bench/queue.sh, section 6).

Usage: claims.py ROUNDS CLAIMS BASE_NAME BASE_HOST BASE_PORT HEAD_HOST HEAD_PORT HEAD_LOG

Two clusters, one compute worker each, with pg_stat_statements tracking the
statements the worker runs (track = all, track_planning = on): BASE runs the
library before the fair queue, HEAD this tree's.  The queue is filled
through the keeper, with the worker stopped (SIGSTOP), in these shapes of
10,000 jobs of n = 1 .. 10,000 (each computed in microseconds, so that a
worker claims back to back):

  - base, FIFO: fib_request(n) by one role;
  - head, one requester: fib_request(n, 'ip:0') by one role, the order the
    fair claim gives is FIFO;
  - head, 1,000 requesters: fib_request(n, 'ip:<r>') for r = 0 .. 999, ten
    each, by one role: every claim takes the next requester's turn, and
    gives the role's turn (its start_tag) to that job.

Each shape's queued rows are kept aside and put back before each round
(the restore trigger off, then VACUUM ANALYZE): a round wakes the worker,
lets it claim CLAIMS jobs (10,000 queued down to about 9,000), and reads the
claim's calls, planning and execution time from pg_stat_statements.  The
rounds take turns, ROUNDS of each; the medians of the per-claim means are
printed, with the plan of the fair claim that the worker ran with 10,000
jobs queued over 1,000 requesters (auto_explain in HEAD, for one round).
"""

import os
import re
import signal
import statistics
import sys
import threading
import time

import psycopg

rounds, claims, base_name = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
servers = {"base": (sys.argv[4], int(sys.argv[5])), "head": (sys.argv[6], int(sys.argv[7]))}
head_log = sys.argv[8]
JOBS, REQUESTERS = 10_000, 1_000
ROLE = "bench_web"
CLAIM = "query LIKE '%%fib_jobs%%SKIP LOCKED%%'"


def connect(side, **kwargs):
    host, port = servers[side]
    return psycopg.connect(host=host, port=port, user="postgres", dbname="postgres",
                           autocommit=True, **kwargs)


def worker_pid(conn):
    return conn.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_fib worker'"
                        ).fetchone()[0]


def wait_idle(conn, pid, timeout=60):
    """Wait until the worker sleeps on its latch, outside any transaction."""
    deadline = time.monotonic() + timeout
    while conn.execute("SELECT wait_event IS DISTINCT FROM 'Extension' OR xact_start IS NOT NULL"
                       " FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0]:
        if time.monotonic() > deadline:
            sys.exit("claims.py: the worker did not go idle")
        time.sleep(0.05)


# The keeper's statements: they name the schema; its lookup of the schema.
KEEPER = "(query LIKE '%%public.fib\\_%%' OR query LIKE '%%pg_catalog.pg_extension%%')"


def fill(side, shape):
    """Queue the shape's 10,000 jobs through the keeper with the worker
    stopped, keep them in bench_<shape>, and empty the queue.  Returns the
    seconds the 10,000 requests took (8 sessions), and the keeper's time per
    request in its statements (planning and execution), in us."""
    with connect(side) as conn:
        pid = worker_pid(conn)
        wait_idle(conn, pid)
        conn.execute("SELECT pg_stat_statements_reset()")
        os.kill(pid, signal.SIGSTOP)
        try:
            def requester(i):
                return None if shape == "fifo" else "ip:0" if shape == "one" else f"ip:{i // 10}"

            def session(part):
                with connect(side) as c:
                    c.execute("SET pg_fib.sync_max_n = 0")
                    c.execute("SET pg_fib.max_queued_per_role = 1000000")
                    if side == "head":
                        c.execute("SET pg_fib.max_queued_per_requester = 1000000")
                    c.execute(f"SET ROLE {ROLE}")
                    for i in part:
                        key = requester(i)
                        if key is None:
                            c.execute("SELECT fib_request(%s)", (i + 1,))
                        else:
                            c.execute("SELECT fib_request(%s, %s)", (i + 1, key))
            # each session takes whole requesters, in order
            parts = [[i for i in range(JOBS) if (i // 10) % 8 == k] for k in range(8)]
            t0 = time.perf_counter()
            threads = [threading.Thread(target=session, args=(p,)) for p in parts]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            seconds = time.perf_counter() - t0
            keeper_ms = conn.execute(f"SELECT sum(total_plan_time + total_exec_time)"
                                     f" FROM pg_stat_statements WHERE {KEEPER}").fetchone()[0]
            queued = conn.execute("SELECT count(*) FROM fib_jobs WHERE state = 'queued'").fetchone()[0]
            if queued != JOBS:
                sys.exit(f"claims.py: {queued} jobs queued for {side} {shape}, not {JOBS}")
            conn.execute(f"CREATE TABLE bench_{shape} AS SELECT * FROM fib_jobs WHERE state = 'queued'")
            conn.execute("DELETE FROM fib_jobs WHERE state = 'queued'")
        finally:
            os.kill(pid, signal.SIGCONT)
    return seconds, keeper_ms / JOBS * 1000


def claim_totals(conn):
    calls, plan, execute = conn.execute(
        f"SELECT coalesce(sum(calls), 0), coalesce(sum(total_plan_time), 0),"
        f" coalesce(sum(total_exec_time), 0) FROM pg_stat_statements WHERE {CLAIM}").fetchone()
    return int(calls), plan, execute


def one_round(side, shape, wake_n):
    """Put the shape's queue back, let the worker claim CLAIMS jobs, and
    return the mean planning and execution time per claim, in us."""
    with connect(side) as conn:
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute(f"DELETE FROM fib_jobs WHERE n IN (SELECT n FROM bench_{shape})")
            conn.execute(f"INSERT INTO fib_jobs SELECT * FROM bench_{shape}")
        conn.execute("VACUUM ANALYZE fib_jobs")
        conn.execute("SELECT pg_stat_statements_reset()")
        conn.execute("SET pg_fib.sync_max_n = 0")
        conn.execute("SELECT fib_request(%s)", (wake_n,))    # the keeper wakes the worker
        deadline = time.monotonic() + 300
        while claim_totals(conn)[0] < claims:
            if time.monotonic() > deadline:
                sys.exit(f"claims.py: fewer than {claims} claims in 300 s on {side}")
            time.sleep(0.05)
        calls, plan, execute = claim_totals(conn)
        conn.execute("DELETE FROM fib_jobs WHERE state = 'queued'")
        wait_idle(conn, worker_pid(conn))
    return plan / calls * 1000, execute / calls * 1000, calls


def explain_fair_claim():
    """The plan of one fair claim the worker ran, from auto_explain's log."""
    with connect("head") as conn:
        settings = {"auto_explain.log_min_duration": "0", "auto_explain.log_nested_statements": "on",
                    "auto_explain.log_analyze": "on", "auto_explain.log_timing": "off",
                    "auto_explain.log_format": "text"}
        offset = os.path.getsize(head_log)
        for name, value in settings.items():
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        conn.execute("SELECT pg_reload_conf()")
        time.sleep(1)
        try:
            one_round("head", "many", 30_000)
        finally:
            for name in settings:
                conn.execute(f"ALTER SYSTEM RESET {name}")
            conn.execute("SELECT pg_reload_conf()")
    with open(head_log, encoding="utf-8", errors="replace") as log:
        log.seek(offset)
        lines = log.read().splitlines()
    for i, line in enumerate(lines):
        if "Query Text: WITH head AS" in line:
            plan = []
            for follow in lines[i + 1:]:
                if not follow.startswith("\t"):
                    break
                plan.append(follow[1:])
            # a claim that took another requester's job than the head's,
            # and gave it the head's start_tag
            swap = plan.index("  CTE swap") if "  CTE swap" in plan else None
            if swap is not None and "actual rows=1 " in plan[0] and "actual rows=1 " in plan[swap + 2]:
                return plan
    sys.exit("claims.py: no fair claim that took a job of another requester in the log")


for side, shape in (("base", "fifo"), ("head", "one"), ("head", "many")):
    with connect(side) as conn:
        conn.execute("DROP ROLE IF EXISTS " + ROLE)
        conn.execute(f"CREATE ROLE {ROLE}")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
filled = {(side, shape): fill(side, shape)
          for side, shape in (("base", "fifo"), ("head", "one"), ("head", "many"))}

results = {key: [] for key in filled}
wake = 20_000
for _ in range(rounds):
    for side, shape in filled:
        wake += 1
        results[(side, shape)].append(one_round(side, shape, wake))
plan = explain_fair_claim()

names = {("base", "fifo"): f"FIFO claim ({base_name}), one role",
         ("head", "one"): "fair claim, one requester of one role",
         ("head", "many"): f"fair claim, {REQUESTERS:,} requesters of one role, {JOBS // REQUESTERS} jobs each"}
fifo = statistics.median(p + e for p, e, _ in results[("base", "fifo")])
print(f"Cost of one claim by a compute worker with {JOBS:,} jobs queued (n = 1 .. {JOBS:,}), "
      f"planning and execution\nof its statement as pg_stat_statements counts them; "
      f"medians of {rounds} rounds of {claims:,} claims each, taken in turns:\n")
print("| claim | per claim (us) | planning (us) | execution (us) | / FIFO |"
      " filling: 10,000 requests (s) | keeper per request (us) |")
print("|---|---:|---:|---:|---:|---:|---:|")
for key, runs in results.items():
    total = statistics.median(p + e for p, e, _ in runs)
    planning = statistics.median(p for p, _, _ in runs)
    execution = statistics.median(e for _, e, _ in runs)
    print(f"| {names[key]} | {total:.0f} | {planning:.0f} | {execution:.0f} | {total / fifo:.2f} |"
          f" {filled[key][0]:.1f} | {filled[key][1]:.0f} |")
print("\nFilling is one batch per shape, through 8 sessions; the keeper's time is that of the"
      " statements it ran\n(pg_stat_statements), the role's jobs counted for its share each time.")
print("\nThe fair claim's plan as the worker ran it, 10,000 jobs queued over 1,000 requesters "
      "(auto_explain, analyze without timing):\n")
print("```")
for line in plan:
    print(re.sub(r"\s+$", "", line))
print("```")
