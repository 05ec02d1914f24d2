"""fib_digits(), fib_leading() and fib_trailing() against independent values:
the exact F(n) (gmpy2) wherever it can be built, mpmath at a much higher
precision than pg_fib's and Python's modular powering (oracle.fib_mod) for
every bigint n.  Random cases are seeded: set PG_FIB_SEED to replay a run."""

import json
import math
import os
import pathlib
import random
import re
import subprocess

import gmpy2
import mpmath
import pytest
from psycopg import errors

import about_near_integer
import cluster
import oracle

SEED = int(os.environ.get("PG_FIB_SEED", random.randrange(2**32)))
INT64_MIN, INT64_MAX = -2**63, 2**63 - 1
KEPT = pathlib.Path(__file__).with_name("about_near_integer.json")


def exact_digits(n):
    """The decimal digits of |F(n)|, from the exact value."""
    return gmpy2.fib(abs(n)).digits()


def expected_from_exact(n, k):
    s = exact_digits(n)
    return len(s), s[:k], s[-k:]


def mpmath_about(n, k, dps):
    """The digit count and the first k digits of |F(n)| from log10 F(n) at
    dps decimal digits (the correction term included: it matters only for
    small n)."""
    big = abs(n)
    with mpmath.workdps(dps):
        phi = (1 + mpmath.sqrt(5)) / 2
        x = (big * mpmath.log10(phi) - mpmath.log10(mpmath.sqrt(5))
             + mpmath.log10(1 - (-1 / phi**2) ** big))
        j = int(mpmath.floor(x))
        y = mpmath.power(10, x - j + k - 1)
        return j + 1, str(int(mpmath.floor(y)))


def independent_about(n, k):
    """fib_digits, fib_leading and fib_trailing's values for a huge n: mpmath
    at two precisions both far above pg_fib's (they must agree, or the
    oracle itself would be unsure), and F(n) mod 10^k by powering."""
    dps = 2 * k + 80
    first = mpmath_about(n, k, dps)
    assert mpmath_about(n, k, dps + 60) == first, f"mpmath unsure for n={n}, k={k}"
    digits, leading = first
    trailing = str(oracle.fib_mod(abs(n), 10**k)).rjust(k, "0")
    return digits, leading, trailing


def about(conn, n, k):
    return conn.execute("SELECT fib_digits(%s), fib_leading(%s, %s), fib_trailing(%s, %s)",
                        (n, n, k, n, k)).fetchone()


def test_every_small_n_against_exact(conn):
    """-2000..2000, each n with a random k and with k = 20."""
    rng = random.Random(SEED)
    ns = list(range(-2000, 2001))
    ks = [rng.choice((1, 2, 5, 17, 18, 19, 20, 21, 100, 419, 10000)) for _ in ns]
    rows = conn.execute(
        "SELECT n, k, fib_digits(n), fib_leading(n, k), fib_trailing(n, k),"
        " fib_leading(n), fib_trailing(n)"
        " FROM unnest(%s::bigint[], %s::int[]) AS t(n, k)", (ns, ks)).fetchall()
    assert len(rows) == 4001
    for n, k, digits, leading, trailing, leading20, trailing20 in rows:
        s = exact_digits(n)
        assert (digits, leading, trailing) == (len(s), s[:k], s[-k:]), (n, k, SEED)
        assert (leading20, trailing20) == (s[:20], s[-20:]), (n, SEED)


def test_random_n_up_to_ten_million_against_exact(conn):
    rng = random.Random(SEED + 1)
    ns = [rng.choice((-1, 1)) * int(10 ** rng.uniform(3.3, 7)) for _ in range(60)]
    ns += [10**7, -(10**7 - 1), 2001, 8000, 8001, 48085, 48086]
    for n in ns:
        s = exact_digits(n)
        for k in {1, 18, 19, 20, rng.randrange(1, 10001), int(10 ** rng.uniform(0, 4)), 10000}:
            assert about(conn, n, k) == (len(s), s[:k], s[-k:]), (n, k, SEED)


def near_powers_of_ten(limit, count):
    """The n in [94, limit] whose F(n) lies closest above a power of ten and
    closest below one: by the fractional part of n log10 phi - log10 sqrt 5
    in exact scaled integers."""
    a, b = about_near_integer.constants()
    s = 1 << about_near_integer.SCALE_BITS
    fracs = sorted(((n * a - b) % s, n) for n in range(94, limit + 1))
    return [n for _, n in fracs[:count]], [n for _, n in fracs[-count:]]


def test_digit_count_boundaries_against_exact(conn):
    """F(n) just above a power of ten (leading digits 1000...) and just below
    one (9999...), on both sides of each change of the digit count."""
    above, below = near_powers_of_ten(300000, 6)
    for n in above + below:
        for m in (n - 1, n, n + 1, -n):
            s = exact_digits(m)
            for k in (1, 20, 60):
                assert about(conn, m, k) == (len(s), s[:k], s[-k:]), (m, k)
    for n in above:
        assert exact_digits(n).startswith("1000")
        assert conn.execute("SELECT fib_digits(%s) - fib_digits(%s)", (n, n - 1)).fetchone()[0] == 1
    for n in below:
        assert exact_digits(n).startswith("9999")
        assert conn.execute("SELECT fib_digits(%s) - fib_digits(%s)", (n + 1, n)).fetchone()[0] == 1


def huge_cases(rng):
    ns = [rng.randint(INT64_MIN, INT64_MAX) for _ in range(12)]
    ns += [rng.choice((-1, 1)) * int(10 ** rng.uniform(7, 18.96)) for _ in range(12)]
    ns += [INT64_MAX, INT64_MAX - 1, INT64_MIN, INT64_MIN + 1, 10**18, -(10**18), 9 * 10**18]
    cases = [(n, rng.choice((1, 18, 19, 20, 21, int(10 ** rng.uniform(0, 3.2))))) for n in ns]
    cases += [(INT64_MAX, 10000), (INT64_MIN, 10000), (10**18, 10000), (rng.randint(2**40, 2**62), 5000)]
    return cases


def test_huge_n_against_mpmath_and_powering(conn):
    rng = random.Random(SEED + 2)
    for n, k in huge_cases(rng):
        assert about(conn, n, k) == independent_about(n, k), (n, k, SEED)


def test_near_integer_search_is_kept():
    """The kept output is what the search finds; the search is exhaustive
    (checked against trying every n below 10^6)."""
    kept = json.loads(KEPT.read_text())
    assert kept == [about_near_integer.describe(10**18), about_near_integer.describe(2**63)]
    a, b = about_near_integer.constants()
    s = 1 << about_near_integer.SCALE_BITS
    for limit in (10**5, 10**6):
        best = min(range(94, limit + 1), key=lambda n: min((n * a - b) % s, s - (n * a - b) % s))
        assert about_near_integer.closest(limit)[0] == best


def debug_rounds(conn, sql, args):
    """Runs sql and returns the Ziv rounds pg_fib reported at DEBUG2."""
    notices = []
    conn.add_notice_handler(lambda d: notices.append(d.message_primary))
    conn.execute("SET client_min_messages = debug2")
    try:
        conn.execute(sql, args)
    finally:
        conn.execute("RESET client_min_messages")
    rounds = [int(m.split(" in ")[1].split()[0]) for m in notices if "settled at" in m]
    assert rounds, notices
    return rounds[-1]


def test_closest_to_an_integer(conn):
    """At the n below 10^18 (and the bigint n) where n log10 phi - log10 sqrt 5
    comes closest to an integer, the count is right where the double shortcut
    is wrong, and so are the leading digits, which start with 1000...; Ziv's
    loop raises the precision for the count of the closest bigint n."""
    for record in json.loads(KEPT.read_text()):
        n = int(record["n"])
        digits = int(record["digits"])
        assert abs(float(record["x_minus_integer"])) < 1e-18
        with mpmath.workdps(100):
            x = n * mpmath.log10((1 + mpmath.sqrt(5)) / 2) - mpmath.log10(mpmath.sqrt(5))
            assert int(mpmath.floor(x)) + 1 == digits
        double_shortcut = math.floor(n * 0.20898764024997873 - 0.3494850021680094) + 1
        assert double_shortcut != digits
        assert conn.execute("SELECT fib_digits(%s)", (n,)).fetchone()[0] == digits
        assert conn.execute("SELECT fib_digits(%s)", (-n,)).fetchone()[0] == digits
        for k in (1, 2, 20, 40):
            assert about(conn, n, k) == independent_about(n, k), (n, k)
        assert conn.execute("SELECT fib_leading(%s, 18)", (n,)).fetchone()[0] == "1" + "0" * 17
    # the bigint n closest of all: 128 bits are too few for its count, 192
    # enough (pg_fib/fibabout.c's argument that the cap is never reached)
    n_max = int(json.loads(KEPT.read_text())[1]["n"])
    assert debug_rounds(conn, "SELECT fib_digits(%s)", (n_max,)) == 2
    assert debug_rounds(conn, "SELECT fib_digits(%s)", (10**18,)) == 1


def context_bytes(conn):
    return conn.execute("SELECT sum(total_bytes) FROM pg_backend_memory_contexts").fetchone()[0]


def test_many_calls_errors_and_cancels_leave_nothing(conn, pgmp):
    """MPFR's caches live in each call's arena and are dropped with it: calls
    that grow them (large k) followed by calls that reuse them, refusals and
    cancels, in one session and beside pgmp's allocation functions, give
    right answers and leave no memory behind."""
    want = independent_about(10**18 + 7, 300)
    conn.execute("SELECT pgmp.fib(10)")   # pgmp's allocation functions are now installed

    def round_of_calls():
        conn.execute("SELECT count(fib_leading(1000000000000000000 + i, (i * 997) % 10000 + 1))"
                     " FROM generate_series(1, 40) AS i")
        assert about(conn, 10**18 + 7, 300) == want
        with pytest.raises(errors.InvalidParameterValue):
            conn.execute("SELECT fib_leading(5, 0)")
        conn.execute("SET statement_timeout = '30ms'")
        with pytest.raises(errors.QueryCanceled):
            conn.execute("SELECT count(fib_leading(1000000000000000000 + i, 10000)),"
                         " count(fib_trailing(1000000000000000000 + i, 10000))"
                         " FROM generate_series(1, 100000) AS i")
        conn.execute("RESET statement_timeout")

    round_of_calls()
    before = context_bytes(conn)
    for _ in range(10):
        round_of_calls()
    after = context_bytes(conn)
    # one leaked evaluation at k = 10000 would hold tens of kB
    assert after - before < 64 * 1024, (before, after)
    text = conn.execute("SELECT (pgmp.fib(2000) OPERATOR(pgmp.*) pgmp.fib(3000))::text").fetchone()[0]
    assert oracle.parse(text) == oracle.fib(2000) * oracle.fib(3000)


VALGRIND_SCRIPT = """
CREATE EXTENSION pg_fib;
SELECT fib_digits(8625812162537945092);
SELECT length(fib_leading(1000000000000000000, 10000));
SELECT fib_leading(1000000000000000001, 20);
SELECT fib_leading(5, 0);
SELECT length(fib_leading(1000000000000000002, 3000));
SELECT length(fib_trailing(1000000000000000003, 10000));
SELECT count(fib_leading(1000000000000000000 + i, (i * 997) % 10000 + 1)) FROM generate_series(1, 12) AS i;
SELECT fib_leading(30000, 7000) = left(fib(30000)::text, 7000) AS exact;
SELECT fib_leading(9223372036854775807, 40) AS last;
"""


def test_mpfr_caches_never_outlive_their_arena():
    """Under valgrind, in a single-user backend: calls that grow MPFR's caches
    (large k) then reuse them (small k), across a refusal, read and free no
    memory of a deleted arena.  Without the mpfr_mp_memory_cleanup() calls of
    pg_fib/fibabout.c, valgrind reports invalid reads, writes and frees."""
    c = cluster.Cluster(["shared_preload_libraries = 'pg_fib'"]).init()
    try:
        run = subprocess.run(
            cluster.as_owner(["valgrind", "-q", "--leak-check=no",
                              f"{cluster.BINDIR}/postgres", "--single", "-D", c.data,
                              "postgres"]),
            input=VALGRIND_SCRIPT, text=True, capture_output=True, timeout=600)
    finally:
        c.destroy()
    # PostgreSQL's own WAL writes report "Syscall param pwrite64(buf) points
    # to uninitialised byte(s)" without its valgrind suppressions: not ours
    bad = [line for line in run.stderr.splitlines()
           if re.search(r"== (Invalid (read|write|free)|Conditional jump|Use of uninitialised value)", line)]
    assert not bad, run.stderr[-4000:]
    assert '1: exact = "t"' in run.stdout, run.stdout[-2000:]
    want = independent_about(INT64_MAX, 40)[1]
    assert f'1: last = "{want}"' in run.stdout, run.stdout[-2000:]
