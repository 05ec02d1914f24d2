"""fib_series(first, last): runs of consecutive F(n) against
Python's exact int for random ranges (negative, across 0, at numeric's
limit), the same stored bytes and hashes as fib(n), a LIMIT on the largest
ranges answering at once, cancel and statement_timeout within 1 s, memory
flat however long the range, and the first two values from the memo when it
has them.  Seeded: set PG_FIB_SEED to replay a run."""

import os
import random
import shlex
import subprocess
import threading
import time

import pytest
from psycopg import errors

import oracle
from jobs import forget, memo_row_value, wait_for

SEED = int(os.environ.get("PG_FIB_SEED", random.randrange(2**32)))
TOP = oracle.NUMERIC_MAX_N
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def random_ranges(rng):
    """(first, last) pairs: anywhere in numeric's range, small ones, across 0,
    at both ends of the range, and the single values around the int64 and
    header boundaries."""
    ranges = []
    for _ in range(20):
        length = rng.randint(1, 60)
        first = rng.randint(-TOP, TOP - length + 1)
        ranges.append((first, first + length - 1))
    for _ in range(10):
        first = rng.choice((-1, 1)) * int(10 ** rng.uniform(0, 5))
        ranges.append((first, first + rng.randint(0, 300)))
    for _ in range(5):
        ranges.append((-rng.randint(1, 400), rng.randint(0, 400)))
    ranges.append((TOP - rng.randint(0, 30), TOP))
    ranges.append((-TOP, -TOP + rng.randint(0, 30)))
    ranges += [(0, 0), (-1, 1), (92, 94), (-94, -92), (1200, 1300)]
    return ranges


def test_random_ranges_match_oracle(conn):
    """Each range starts from oracle.fib(first - 1) and oracle.fib(first)
    (the doubling formulas) and goes on by the definition, F(n + 1) =
    F(n) + F(n - 1), in Python's signed int; its last value is checked
    against oracle.fib too."""
    rng = random.Random(SEED)
    rows_checked = 0
    for first, last in random_ranges(rng):
        rows = conn.execute("SELECT n, value::text FROM fib_series(%s, %s)",
                            (first, last)).fetchall()
        assert [n for n, _ in rows] == list(range(first, last + 1)), \
            f"fib_series({first}, {last}): wrong n (seed {SEED})"
        before, expected = oracle.fib(first - 1), oracle.fib(first)
        for n, text in rows:
            assert oracle.parse(text) == expected, \
                f"fib_series({first}, {last}): F({n}) differs (seed {SEED})"
            before, expected = expected, expected + before
        assert oracle.parse(rows[-1][1]) == oracle.fib(last)
        rows_checked += len(rows)
    assert rows_checked > 1000


def test_same_stored_form_hash_and_binary_output_as_fib(conn):
    """Equality, hashing and numeric_send agree with fib(n)'s, because the
    stored bytes are the same; a hash join of the two finds every pair."""
    rng = random.Random(SEED + 1)
    ranges = [(a, b) for a, b in random_ranges(rng) if b - a < 200]
    for first, last in ranges:
        rows, not_fib, other_hash, other_send = conn.execute(
            "SELECT count(*),"
            "       count(*) FILTER (WHERE NOT record_image_eq(ROW(value), ROW(f))),"
            "       count(*) FILTER (WHERE hash_numeric_extended(value, 42)"
            "                              <> hash_numeric_extended(f, 42)),"
            "       count(*) FILTER (WHERE numeric_send(value) <> numeric_send(f))"
            "  FROM (SELECT s.value, fib(s.n) AS f FROM fib_series(%s, %s) AS s OFFSET 0) AS t",
            (first, last)).fetchone()
        assert (rows, not_fib, other_hash, other_send) == (last - first + 1, 0, 0, 0), \
            f"fib_series({first}, {last}) (seed {SEED})"

    conn.execute("SET enable_mergejoin = off; SET enable_nestloop = off")
    first, last = -1500, 1500
    plan = "\n".join(r[0] for r in conn.execute(
        "EXPLAIN SELECT * FROM fib_series(%s, %s) AS s"
        " JOIN (SELECT n, fib(n) AS v FROM generate_series(%s::bigint, %s) AS n) AS f"
        " ON f.v = s.value", (first, last, first, last)).fetchall())
    assert "Hash Join" in plan, plan
    # F(1) = F(2) = F(-1) = 1 and F(-2) = -1 = ... : count the pairs of equal values
    pairs = conn.execute(
        "SELECT count(*) FROM fib_series(%s, %s) AS s"
        " JOIN (SELECT n, fib(n) AS v FROM generate_series(%s::bigint, %s) AS n) AS f"
        " ON f.v = s.value", (first, last, first, last)).fetchone()[0]
    values = [oracle.fib(n) for n in range(first, last + 1)]
    assert pairs == sum(values.count(v) for v in values)


@pytest.mark.parametrize("first,last", [(0, TOP), (-TOP, TOP), (TOP - 20000, TOP), (-TOP, 0)])
def test_limit_on_a_huge_range_answers_at_once(conn, first, last):
    """The run is computed as it is read: ten rows of a range of up to
    1,254,355 (which would take minutes and gigabytes in all) come back in
    well under a second, the first two values being the costliest part."""
    start = time.monotonic()
    rows = conn.execute("SELECT n, value::text FROM fib_series(%s, %s) LIMIT 10",
                        (first, last)).fetchall()
    elapsed = time.monotonic() - start
    assert [n for n, _ in rows] == list(range(first, first + 10))
    assert all(oracle.parse(text) == oracle.fib(n) for n, text in rows)
    assert elapsed < 1.0, elapsed


def test_statement_timeout_and_cancel_within_1s(connect):
    """A cancel is honoured between rows, in fib_series and in
    fib_series_values called in FROM (where PostgreSQL stores every row
    before reading the first), and the session goes on."""
    c = connect()
    queries = ("SELECT count(value) FROM fib_series(-%s, %s)" % (TOP, TOP),
               "SELECT count(v) FROM fib_series_values(-%s, %s) AS v" % (TOP, TOP))
    for sql in queries:
        c.execute("SET statement_timeout = '300ms'")
        start = time.monotonic()
        with pytest.raises(errors.QueryCanceled):
            c.execute(sql)
        assert time.monotonic() - start < 1.3, sql
        c.execute("RESET statement_timeout")

        other = connect()
        timer = threading.Timer(0.5, lambda: other.execute("SELECT pg_cancel_backend(%s)",
                                                           (c.info.backend_pid,)))
        start = time.monotonic()
        timer.start()
        with pytest.raises(errors.QueryCanceled):
            c.execute(sql)
        assert time.monotonic() - start < 1.5, sql
        timer.join()
    assert c.execute("SELECT count(*), sum(value) FROM fib_series(0, 10)").fetchone() == (11, 143)


def _rss_anon(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon")


def _peak_rss_anon(conn, sql):
    """The largest private resident memory of conn's backend, sampled every
    5 ms while it runs sql."""
    pid = conn.info.backend_pid
    peak = [_rss_anon(pid)]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_anon(pid))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        conn.execute(sql)
    finally:
        done.set()
        sampler.join()
    return max(peak[0], _rss_anon(pid))


def context_bytes(conn):
    return conn.execute("SELECT sum(total_bytes) FROM pg_backend_memory_contexts").fetchone()[0]


def test_memory_stays_flat_over_a_long_range(connect):
    """The backend's private memory peaks as high over 27,178 values of
    64 kB each (1.7 GB in all), or over 300,001 smaller ones, as over 201 of
    them: each row is freed when the next is read, and the run holds two
    values.  Nothing is left behind in the backend's memory contexts."""
    c = connect()
    short = "SELECT count(value) FROM fib_series(600000, 600200)"
    _peak_rss_anon(c, short)                                  # warm up
    before = context_bytes(c)
    baseline = _peak_rss_anon(c, short)
    long_top = _peak_rss_anon(c, f"SELECT count(value) FROM fib_series(600000, {TOP})")
    long_many = _peak_rss_anon(c, "SELECT count(value) FROM fib_series(-150000, 150000)")
    growth = max(long_top, long_many) - baseline
    assert growth < 16 * 1024 * 1024, (baseline, long_top, long_many)
    assert context_bytes(c) - before < 128 * 1024


def test_first_values_come_from_the_memo_when_it_has_them(conn):
    """A run computes F(first) and F(first - 1) on GMP (two inline
    computations) and asks the keeper to memoize them, as fib() does; once
    they are in the memo, the run reads them and computes nothing on GMP.
    A damaged memo row is refused as fib() refuses it (XX001)."""
    k = 412345
    ns = (k, k - 1)
    forget(conn, *ns)

    def inline_computations():
        return conn.execute("SELECT inline_computations FROM fib_counters()").fetchone()[0]

    def run():
        rows = conn.execute("SELECT n, value::text FROM fib_series(%s, %s)", (k, k + 3)).fetchall()
        assert [(n, oracle.parse(t)) for n, t in rows] == [(n, oracle.fib(n)) for n in range(k, k + 4)]

    before = inline_computations()
    run()
    assert inline_computations() - before == 2
    # the keeper queues both, a worker memoizes them
    wait_for(lambda: conn.execute("SELECT count(*) FROM fib_memo WHERE n = ANY(%s)",
                                  (list(ns),)).fetchone()[0] == 2, 60, what="F(k) and F(k - 1) memoized")
    before = inline_computations()
    run()
    assert inline_computations() - before == 0

    # negative first: |F(first)| and F(|first| - 1) too, then one addition
    before = inline_computations()
    rows = conn.execute("SELECT n, value::text FROM fib_series(%s, %s)", (-k, -k + 2)).fetchall()
    assert [(n, oracle.parse(t)) for n, t in rows] == [(n, oracle.fib(n)) for n in range(-k, -k + 3)]
    assert inline_computations() - before == 0

    good_value, digits = memo_row_value(k)
    try:
        conn.execute("UPDATE fib_memo SET value = %s WHERE n = %s", (good_value[:-2], k))
        with pytest.raises(errors.DataCorrupted) as caught:
            conn.execute("SELECT count(*) FROM fib_series(%s, %s)", (k, k + 3))
        assert f"F({k})" in str(caught.value)
    finally:
        forget(conn, *ns)


def test_refusals_as_fib(conn):
    """The endpoints are refused with fib(n)'s errors, before any row."""
    for first, last, refused, error in ((0, TOP + 1, TOP + 1, errors.NumericValueOutOfRange),
                                        (-TOP - 1, TOP, -TOP - 1, errors.NumericValueOutOfRange),
                                        (0, 2**63 - 1, 2**63 - 1, errors.ProgramLimitExceeded),
                                        (-2**63, 0, -2**63, errors.ProgramLimitExceeded)):
        with pytest.raises(error) as caught:
            conn.execute("SELECT * FROM fib_series(%s, %s)", (first, last))
        with pytest.raises(error) as by_fib:
            conn.execute("SELECT fib(%s)", (refused,))
        assert str(caught.value) == str(by_fib.value)
        assert caught.value.diag.message_detail == by_fib.value.diag.message_detail
        assert caught.value.diag.message_hint == by_fib.value.diag.message_hint
    conn.execute("SET pg_fib.max_n = 1000")
    with pytest.raises(errors.ProgramLimitExceeded):
        conn.execute("SELECT * FROM fib_series(0, 1001)")
    assert conn.execute("SELECT count(*) FROM fib_series(-1000, 1000)").fetchone()[0] == 2001
    conn.execute("RESET pg_fib.max_n")
    assert conn.execute("SELECT count(*) FROM fib_series(%s, %s)", (TOP + 5, 0)).fetchone()[0] == 0


SHADOWS = """
CREATE TABLE ran (what text);
CREATE FUNCTION caught(what text) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO ran VALUES (what);
    RAISE NOTICE 'shadow % ran', what;
    RETURN true;
END $f$;
CREATE FUNCTION generate_series(bigint, bigint) RETURNS SETOF bigint LANGUAGE sql
    AS $f$ SELECT 42::bigint WHERE caught('generate_series') $f$;
CREATE FUNCTION fib_series_values(bigint, bigint) RETURNS SETOF numeric LANGUAGE sql
    AS $f$ SELECT 42::numeric WHERE caught('fib_series_values') $f$;
CREATE FUNCTION fib_series(bigint, bigint) RETURNS TABLE (n bigint, value numeric) LANGUAGE sql
    AS $f$ SELECT 42::bigint, 42::numeric WHERE caught('fib_series') $f$;
"""


def test_a_plain_role_gets_the_run_whatever_its_search_path(conn, connect, role):
    """A role with no privilege on pg_fib's tables reads the run (its first
    values from the memo, by identity), and names of its own placed before
    pg_catalog and pg_fib's schema on its search_path never run: the body of
    fib_series was bound to its functions when it was created."""
    schema = "series_evil"
    mallory_role = role("series_mallory", "LOGIN")
    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    conn.execute(f"CREATE SCHEMA {schema} AUTHORIZATION {mallory_role}")
    try:
        k = 7919
        conn.execute("DELETE FROM fib_memo WHERE n IN (%s, %s)", (k, k - 1))
        for n in (k, k - 1):
            value, digits = memo_row_value(n)
            conn.execute("INSERT INTO fib_memo (n, value, digits, compute_ms) VALUES (%s, %s, %s, 1)",
                         (n, value, digits))
        mallory = connect(user=mallory_role)
        notices = []
        mallory.add_notice_handler(lambda d: notices.append(d.message_primary))
        mallory.execute(f"SET search_path = {schema}, pg_catalog")
        mallory.execute(SHADOWS)
        mallory.execute(f"SET search_path = {schema}, pg_temp, pg_catalog, public")
        # the shadows are live: an unqualified call finds them
        assert mallory.execute("SELECT count(*) FROM fib_series(1, 2)").fetchone() == (1,)
        mallory.execute("TRUNCATE ran")
        notices.clear()

        for first, last in ((-20, 20), (k, k + 30), (-k, -k + 30)):
            rows = mallory.execute("SELECT n, value::text FROM public.fib_series(%s, %s)",
                                   (first, last)).fetchall()
            assert [(n, oracle.parse(t)) for n, t in rows] == \
                [(n, oracle.fib(n)) for n in range(first, last + 1)]
        assert mallory.execute("SELECT count(*) FROM ran").fetchone() == (0,)
        assert notices == []
        mallory.close()
    finally:
        conn.execute("DELETE FROM fib_memo WHERE n IN (%s, %s)", (7919, 7918))


def test_digit_arithmetic_against_a_textbook_carry(tmp_path):
    """pg_fib/fibdigits.c, built with its SSE2 path and with its scalar one,
    against a textbook carry loop on 200,000 numbers, most of them made of
    the digits its carry guess gets wrong (sums of 9999, differences of 0)
    for long stretches: test/python/fibdigits_check.c."""
    pg_config = os.environ.get("PG_CONFIG", "pg_config")

    def config(option):
        return subprocess.run([pg_config, option], check=True, capture_output=True,
                              text=True).stdout.strip()

    cc = shlex.split(config("--cc"))
    flags = ["-O2", "-Wall", "-I" + config("--includedir-server"), "-I" + os.path.join(ROOT, "pg_fib")]
    source = os.path.join(ROOT, "pg_fib", "fibdigits.c")
    sse, scalar, check = (str(tmp_path / name) for name in ("sse.o", "scalar.o", "check"))
    subprocess.run(cc + flags + ["-c", source, "-o", sse], check=True)
    subprocess.run(cc + flags + ["-U__SSE2__", "-Dpg_fib_digits_add=scalar_add",
                                 "-Dpg_fib_digits_subtract=scalar_subtract",
                                 "-c", source, "-o", scalar], check=True)
    subprocess.run(cc + flags + [os.path.join(HERE, "fibdigits_check.c"), sse, scalar, "-o", check],
                   check=True)
    run = subprocess.run([check], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.startswith("ok"), run.stdout + run.stderr
