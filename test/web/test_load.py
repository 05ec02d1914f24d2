"""Load: wrk through Nginx for 60 s at 64 connections on the mix of
bench/mix.lua (memo hits, inline values, bad input, a few queued huge
inputs, Nginx's cache hits and misses).  No answer is a 5xx, no socket
fails, and PostgreSQL never has more connections of fib_web than the pools
may open.  The figures go to test/web/artifacts/load.md (and docs/operations.md).
"""

import json
import os
import sys
import time

import pytest

from conftest import ARTIFACTS, ROOT, SYNC_MAX_N

sys.path.insert(0, os.path.join(ROOT, "bench"))
import loadmix  # noqa: E402

SECONDS = int(os.environ.get("PG_FIB_LOAD_SECONDS", "60"))
CONNECTIONS = 64
GUNICORN_WORKERS = 2  # the suites' Stack
POOL_MAX_SIZE = 4     # web/__init__.py's default


def memoize_the_mix(database, stack):
    """The mix's memo hits are in the memo, its cache hits in Nginx's cache."""
    from http_raw import get
    for n in loadmix.MEMO_HITS:
        assert get(stack.url, f"/api/v1/fib/{n}?warm").status == 200
    with database.su() as su:
        deadline = time.monotonic() + 60
        while su.execute("SELECT count(*) FROM fib_memo WHERE n BETWEEN %s AND %s",
                         (min(loadmix.MEMO_HITS), max(loadmix.MEMO_HITS))).fetchone()[0] \
                < len(loadmix.MEMO_HITS):
            assert time.monotonic() < deadline, "the mix's values were not memoized"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def loaded(stack):
    """Another Nginx in front of the suites' Gunicorn, with limit_req and
    the bound on uncached routes out of the way: one client address makes
    all the load."""
    with stack.extra_nginx(f"127.0.0.1:{stack.gunicorn_port}", "1000000r/s", "1000000",
                           uncached="1000") as url:
        yield url


def test_load_mix_for_a_minute(database, stack, loaded):
    memoize_the_mix(database, stack)
    with database.su() as su:
        with loadmix.Sampler(lambda: loadmix.fib_web_connections(su), 0.25) as connections:
            result = loadmix.wrk(loaded, SECONDS, CONNECTIONS, sync_max_n=SYNC_MAX_N)
    seen = connections.good()
    allowed = GUNICORN_WORKERS * POOL_MAX_SIZE
    table = loadmix.summary_table(result, [
        ("wrk", f"{SECONDS} s, {CONNECTIONS} connections, 2 threads"),
        ("fib_web connections (max seen / pools' total)", f"{max(seen)} / {allowed}")])
    print("\n" + table)
    os.makedirs(ARTIFACTS, exist_ok=True)
    with open(os.path.join(ARTIFACTS, "load.md"), "w") as f:
        f.write(table + "\n")
    with open(os.path.join(ARTIFACTS, "load.json"), "w") as f:
        json.dump(dict(result, connections_max=max(seen), connections_allowed=allowed), f)

    statuses = result["statuses"]
    assert not {s: c for s, c in statuses.items() if s >= 500}, statuses
    assert set(statuses) <= {200, 202, 400}, statuses
    assert statuses.get(200, 0) > 0.8 * result["requests"]
    assert statuses.get(400, 0) > 0 and statuses.get(202, 0) >= 0
    assert result["errors"] == {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    assert len(seen) > SECONDS and max(seen) <= allowed
