"""Many sessions computing at once get exact results and leave the server
healthy."""

import random
import threading

import oracle

SESSIONS = 32
CALLS = 40


def test_many_sessions_at_once(connect):
    rng = random.Random(7)
    ns = [rng.randint(-oracle.NUMERIC_MAX_N, oracle.NUMERIC_MAX_N) for _ in range(60)]
    expected = {n: oracle.fib(n) for n in ns}
    conns = [connect() for _ in range(SESSIONS)]
    barrier = threading.Barrier(SESSIONS)
    failures = []

    def worker(index, conn):
        local = random.Random(index)
        try:
            barrier.wait(timeout=30)
            for _ in range(CALLS):
                n = local.choice(ns)
                text, mod = conn.execute("SELECT fib(%s)::text, fib_mod(%s, 1000000007)",
                                         (n, n)).fetchone()
                if oracle.parse(text) != expected[n] or mod != expected[n] % 1000000007:
                    failures.append((index, n))
        except Exception as exc:  # reported below, with the session's index
            failures.append((index, repr(exc)))

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert failures == []
