"""fib() and fib_mod() against Python's exact int, for random inputs over
their whole ranges (seeded: set PG_FIB_SEED to replay a run)."""

import os
import random

import oracle

SEED = int(os.environ.get("PG_FIB_SEED", random.randrange(2**32)))
INT64_MIN, INT64_MAX = -2**63, 2**63 - 1


def fib_inputs(rng):
    """About 400 n: uniform over the whole numeric range, log-uniform so small
    n are not starved, both sides of the boundary, and the special cases."""
    top = oracle.NUMERIC_MAX_N
    ns = [rng.randint(-top, top) for _ in range(150)]
    ns += [rng.choice((-1, 1)) * int(10 ** rng.uniform(0, 5.79)) for _ in range(200)]
    ns += [top - rng.randrange(50) for _ in range(20)]
    ns += [0, 1, -1, 2, -2, 92, 93, 94, -93, -94, 131071, 131072, 131073, top, -top, top - 1, -(top - 1)]
    return ns


def test_fib_matches_oracle(conn):
    rng = random.Random(SEED)
    ns = fib_inputs(rng)
    for n in ns:
        text = conn.execute("SELECT fib(%s)::text", (n,)).fetchone()[0]
        assert oracle.parse(text) == oracle.fib(n), f"fib({n}) differs (seed {SEED})"
    assert len(ns) >= 300


def test_fib_mod_matches_oracle(conn):
    rng = random.Random(SEED + 1)
    cases = []
    for _ in range(150):
        cases.append((rng.randint(INT64_MIN, INT64_MAX), rng.randint(1, INT64_MAX)))
    for _ in range(100):
        cases.append((rng.randint(INT64_MIN, INT64_MAX), rng.randint(1, 1000)))
    for _ in range(100):
        cases.append((rng.randint(-10**6, 10**6), rng.randint(1, INT64_MAX)))
    for n in (INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX):
        for m in (1, 2, 10, 2**32, 2**62, INT64_MAX - 1, INT64_MAX):
            cases.append((n, m))
    for n, m in cases:
        got = conn.execute("SELECT fib_mod(%s, %s)", (n, m)).fetchone()[0]
        assert got == oracle.fib_mod(n, m), f"fib_mod({n}, {m}) differs (seed {SEED})"


def test_oracle_is_exact():
    """The oracles agree with each other and with the definition."""
    a, b = 0, 1
    for n in range(300):
        assert oracle.fib(n) == a
        assert oracle.fib(-n) == (a if n % 2 else -a)
        assert oracle.fib_mod(n, 1000003) == a % 1000003
        assert oracle.fib_mod(-n, 97) == oracle.fib(-n) % 97
        a, b = b, a + b
