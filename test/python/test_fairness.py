"""What one role, one requester, or one kind of hint, may take from everyone
else: a role's share of the queue
is bounded by pg_fib.max_queued_per_role, and a requester's within it by
pg_fib.max_queued_per_requester; the workers claim fairly across roles and
requesters; the memo's budget holds without pg_cron, and memo hits do not
crowd out the values to memoize.  Shared cluster, database "postgres";
settings and roles are restored in finally blocks."""

import random
import threading
import time

import psycopg
import pytest
from psycopg import errors

from jobs import forget, idle_workers_stopped, job_row, reload_setting, reset_setting, wait_finished, wait_for

SYNC_MAX_N = 3_000_000
BASE = SYNC_MAX_N + 800_000


@pytest.fixture
def roles(conn, role):
    """Two login roles, fib_greedy limited to 5 queued jobs, fib_other not."""
    role("fib_greedy", "LOGIN")
    role("fib_other", "LOGIN")
    conn.execute("ALTER ROLE fib_greedy SET pg_fib.max_queued_per_role = 5")


def test_a_role_may_queue_only_its_share(conn, database, roles):
    """With pg_fib.max_queued_per_role = 5 set on the role, its 6th new n
    is refused with 53400 while 5 of its jobs wait; another role still
    queues; a known n is still answered; once its jobs are done it queues
    again.  The compute workers are stopped so that the jobs stay queued."""
    mine = [BASE + i for i in range(1, 7)]
    theirs = BASE + 11
    for n in mine + [theirs]:
        forget(conn, n)
    with psycopg.connect(dbname=database, user="fib_greedy", autocommit=True) as greedy, \
            psycopg.connect(dbname=database, user="fib_other", autocommit=True) as other:
        greedy.execute("SET statement_timeout = '15s'")
        other.execute("SET statement_timeout = '15s'")
        assert greedy.execute("SHOW pg_fib.max_queued_per_role").fetchone()[0] == "5"
        with idle_workers_stopped(conn):
            for n in mine[:5]:
                assert greedy.execute("SELECT state FROM fib_request(%s)", (n,)).fetchone()[0] == "queued"
            with pytest.raises(errors.ConfigurationLimitExceeded) as refused:
                greedy.execute("SELECT fib_request(%s)", (mine[5],))
            assert "pg_fib.max_queued_per_role" in (refused.value.diag.message_hint or "") + \
                (refused.value.diag.message_detail or "") + str(refused.value)
            assert job_row(conn, mine[5]) is None
            # what it asked for already is still answered
            assert greedy.execute("SELECT state FROM fib_request(%s)", (mine[0],)).fetchone()[0] == "queued"
            assert other.execute("SELECT state FROM fib_request(%s)", (theirs,)).fetchone()[0] == "queued"
            assert [r[0] for r in conn.execute(
                "SELECT requested_by FROM fib_jobs WHERE n = ANY(%s) ORDER BY n",
                (mine + [theirs],))] == ["fib_greedy"] * 5 + ["fib_other"]
        for n in mine[:5] + [theirs]:
            assert wait_finished(conn, n, timeout=60)["state"] == "done"
        assert greedy.execute("SELECT state FROM fib_wait(%s)", (mine[5],)).fetchone()[0] == "done"


def test_a_requester_bound_cannot_raise_the_roles_share(conn, database, roles):
    """pg_fib.max_queued_per_requester is any session's to set, and only
    divides its role's share: fib_greedy (pg_fib.max_queued_per_role = 5)
    with the per-requester bound at its largest, naming a new requester for
    each n, still gets 53400 for the role at its 6th."""
    mine = [BASE + 40 + i for i in range(6)]
    for n in mine:
        forget(conn, n)
    with psycopg.connect(dbname=database, user="fib_greedy", autocommit=True) as greedy:
        greedy.execute("SET statement_timeout = '15s'")
        greedy.execute("SET pg_fib.max_queued_per_requester = 2147483647")
        with idle_workers_stopped(conn):
            for i, n in enumerate(mine[:5]):
                greedy.execute("SELECT fib_request(%s, %s)", (n, f"ip:192.0.2.{i}"))
            with pytest.raises(errors.ConfigurationLimitExceeded) as refused:
                greedy.execute("SELECT fib_request(%s, 'ip:192.0.2.9')", (mine[5],))
            assert refused.value.diag.message_primary == \
                f'could not queue F({mine[5]}): role "fib_greedy" has too many jobs waiting'
            assert job_row(conn, mine[5]) is None
    for n in mine[:5]:
        assert wait_finished(conn, n, timeout=60)["state"] == "done"


def _memo_bytes(conn):
    return conn.execute("SELECT coalesce(sum(octet_length(value)), 0) FROM fib_memo").fetchone()[0]


def test_the_memo_budget_holds_without_pg_cron(conn):
    """pg_fib.memo_max_size is kept by the keeper itself, without any
    call of fib_maintain(): three new values, together more than the room
    left, are stored, and the memo is back within its budget in a few
    seconds (the keeper may evict any of them, with its done job)."""
    new = [BASE + 21, BASE + 22, BASE + 23]
    for n in new:
        forget(conn, n)
    one_value = (BASE + 21) * 0.2090 / 2          # bytes of F(n): half a byte per decimal digit
    budget_kb = int((_memo_bytes(conn) + 1.5 * one_value) // 1024)
    reload_setting(conn, "pg_fib.memo_max_size", f"{budget_kb}kB")
    try:
        for n in new:
            conn.execute("SELECT fib_request(%s)", (n,))
        seen = []

        def stored_and_within():
            # a job finished, or gone with its evicted value: its value was stored
            pending = conn.execute("SELECT count(*) FROM fib_jobs WHERE n = ANY(%s) AND state IN"
                                   " ('queued', 'running')", (new,)).fetchone()[0]
            failed = conn.execute("SELECT count(*) FROM fib_jobs WHERE n = ANY(%s) AND state = 'failed'",
                                  (new,)).fetchone()[0]
            assert failed == 0
            seen.append(_memo_bytes(conn))
            return pending == 0 and seen[-1] <= budget_kb * 1024
        try:
            wait_for(stored_and_within, 20, interval=0.2, what="the memo to shrink to its budget")
        except AssertionError:
            pytest.fail(f"the memo holds {seen[-1]} bytes after the jobs, over its budget of {budget_kb} kB")
    finally:
        reset_setting(conn, "pg_fib.memo_max_size")


def _call_fib(database, ns, threads=2):
    """Call fib(n) for each n of ns, one query per call, from several sessions."""
    failures = []

    def caller(part):
        try:
            with psycopg.connect(dbname=database, autocommit=True) as c:
                for n in part:
                    c.execute("SELECT fib(%s) IS NULL", (n,))
        except psycopg.Error as exc:
            failures.append(exc)

    running = [threading.Thread(target=caller, args=(ns[i::threads],)) for i in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join(120)
    assert failures == []


def _memoized(conn, low, high):
    return conn.execute("SELECT count(*) FROM fib_memo WHERE n BETWEEN %s AND %s", (low, high)).fetchone()[0]


def test_memo_hits_do_not_crowd_out_values_to_memoize(conn, database):
    """With 1000 values of 5000..6999 in the memo already, two sessions
    call fib(n) for every n of the range, each n five times, interleaved,
    one query per call: every one of the 2,000 values ends up in the memo
    (hits on the 1000 must not take the places of the values to memoize;
    a memo that let them do so once stopped at 471)."""
    low, high, hot = 5000, 6999, 5999
    forget(conn, *range(low, high + 1))

    def hot_memoized():
        _call_fib(database, [n for n in range(low, hot + 1)
                             if not conn.execute("SELECT 1 FROM fib_memo WHERE n = %s", (n,)).fetchone()], 1)
        return _memoized(conn, low, hot) == hot - low + 1
    wait_for(hot_memoized, 30, interval=0.5, what=f"F({low}..{hot}) to be memoized")

    rng = random.Random(6)
    calls = []
    for _ in range(5):
        batch = list(range(low, high + 1))
        rng.shuffle(batch)
        calls += batch
    start = time.monotonic()
    _call_fib(database, calls)
    counts = []

    def all_memoized():
        counts.append(_memoized(conn, low, high))
        return counts[-1] == high - low + 1
    try:
        wait_for(all_memoized, max(5.0, 60 - (time.monotonic() - start)), interval=0.5,
                 what="every value to be memoized")
    except AssertionError:
        pytest.fail(f"{counts[-1]} of {high - low + 1} values memoized 60 s after the calls began")


def test_memoize_hints_neither_refuse_nor_delay_a_request(conn, database, roles):
    """fib() of many n between pg_fib.memo_min_n and sync_max_n queues
    jobs to memoize them, which count against no role.  With
    pg_fib.max_queued = 20 and the workers stopped, fib_greedy's 60 fib()
    calls leave the queue full of such hints, and yet fib_other's request
    of a new n is queued (no 53400), and once the workers go on it is
    claimed before every hint."""
    hinted = list(range(8000, 8060))
    theirs = BASE + 31
    forget(conn, theirs, *hinted)
    reload_setting(conn, "pg_fib.max_queued", "20")
    try:
        with psycopg.connect(dbname=database, user="fib_greedy", autocommit=True) as greedy, \
                psycopg.connect(dbname=database, user="fib_other", autocommit=True) as other:
            other.execute("SET statement_timeout = '15s'")
            with idle_workers_stopped(conn):
                for n in hinted:
                    greedy.execute("SELECT fib(%s) IS NULL", (n,))

                def hints_queued():
                    return conn.execute("SELECT count(*) FROM fib_jobs WHERE n = ANY(%s)"
                                        " AND state = 'queued'", (hinted,)).fetchone()[0] >= 20
                wait_for(hints_queued, 10, interval=0.1, what="the hints to fill the queue")
                try:
                    state = other.execute("SELECT state FROM fib_request(%s)", (theirs,)).fetchone()[0]
                except errors.ConfigurationLimitExceeded as exc:
                    pytest.fail(f"memoize hints filled the queue for a request: {exc}")
                assert state == "queued"
            assert wait_finished(conn, theirs, timeout=60)["state"] == "done"
            wait_for(lambda: conn.execute("SELECT count(*) FROM fib_jobs WHERE n = ANY(%s)"
                                          " AND state = 'queued'", (hinted,)).fetchone()[0] == 0,
                     30, interval=0.2, what="the hints to be memoized")
            # The workers go on at once: while one claims the request,
            # another may claim a hint and stamp it a few microseconds
            # earlier.  First in first out, 20 or more hints start first.
            earlier, workers = conn.execute(
                "SELECT count(*), current_setting('pg_fib.workers')::int FROM fib_jobs"
                " WHERE n = ANY(%s) AND started_at <"
                " (SELECT started_at FROM fib_jobs WHERE n = %s)", (hinted, theirs)).fetchone()
            assert earlier < workers, f"{earlier} hints were claimed before the request"
    finally:
        reset_setting(conn, "pg_fib.max_queued")


# One web client (a requester of role fib_web) and its
# backlog against another client of the same role and against another role.
# The roles here stand for fib_web and alice.

FAIR_BASE = SYNC_MAX_N + 900_000
WEB, ALICE = "fib_fair_web", "fib_fair_alice"


@pytest.fixture
def web_and_alice(role):
    """Two login roles: fib_fair_web, whose clients are requesters (as the
    web front's role fib_web), and fib_fair_alice, who requests as a whole."""
    role(WEB, "LOGIN")
    role(ALICE, "LOGIN")


def _request(c, n, requester=None):
    """fib_request(n), or fib_request(n, requester): the job's state."""
    if requester is None:
        return c.execute("SELECT state FROM fib_request(%s)", (n,)).fetchone()[0]
    return c.execute("SELECT state FROM fib_request(%s, %s)", (n, requester)).fetchone()[0]


def test_a_backlog_delays_other_requesters_by_the_running_jobs_only(conn, database, web_and_alice):
    """A backlog as one web client can make it, scaled down: requester A of
    fib_fair_web queues 120 jobs just above pg_fib.sync_max_n (tens of ms
    each); once the two workers are into them, role fib_fair_alice asks for
    one n, and so does requester B of fib_fair_web.  Each is claimed before
    any more of A's backlog: at most the two jobs whose claim may have been
    under way when it was queued start between its request and its own
    start.  The FIFO claim ran all of A's backlog first (at full size: alice
    still queued after 20 s behind 988 jobs)."""
    backlog = [FAIR_BASE + i for i in range(120)]
    alice_n, b_n = FAIR_BASE + 500, FAIR_BASE + 501
    forget(conn, *backlog, alice_n, b_n)
    try:
        with psycopg.connect(dbname=database, user=WEB, autocommit=True) as web, \
                psycopg.connect(dbname=database, user=ALICE, autocommit=True) as alice:
            web.execute("SET pg_fib.max_queued_per_requester = 1000")
            for n in backlog:
                assert _request(web, n, "ip:198.51.100.1") in ("queued", "running")
            wait_for(lambda: conn.execute("SELECT count(*) FROM fib_jobs WHERE n = ANY(%s)"
                                          " AND started_at IS NOT NULL", (backlog,)).fetchone()[0] >= 4,
                     60, interval=0.05, what="the workers to get into A's backlog")
            # The keeper commits each job before it answers the backend
            # (queuerequest.c), and a worker free at that moment may claim it
            # before the backend reads its row: "running" at once is the
            # fair claim at work.  What is checked is below: how many of A's
            # jobs started between its request and its start.
            assert _request(alice, alice_n) in ("queued", "running")
            assert _request(web, b_n, "ip:198.51.100.2") in ("queued", "running")
            for n in (alice_n, b_n):
                assert wait_finished(conn, n, timeout=60)["state"] == "done"
            for n, who in ((alice_n, "alice"), (b_n, "requester B")):
                overtaking, left = conn.execute(
                    "SELECT count(*) FILTER (WHERE a.started_at > j.requested_at"
                    "                          AND a.started_at < j.started_at),"
                    "       count(*) FILTER (WHERE a.started_at IS NULL OR a.started_at > j.started_at)"
                    " FROM fib_jobs j, fib_jobs a WHERE j.n = %s AND a.n = ANY(%s)",
                    (n, backlog)).fetchone()
                assert overtaking <= 2, f"{overtaking} of A's jobs were claimed before {who}'s"
                assert left >= 50, f"A's backlog was nearly drained ({left} left): the test proves nothing"
    finally:
        conn.execute("DELETE FROM fib_jobs WHERE n = ANY(%s) AND state = 'queued'", (backlog,))


def test_a_requester_at_its_bound_is_refused_and_others_are_served(conn, database, web_and_alice):
    """With pg_fib.max_queued_per_requester = 3 in the web's session, its
    requester A's 4th new n is refused with 53400 naming A, with the count
    and the limit, and nothing is queued; A's known n is still answered;
    requester B of the same role, the role as a whole and another role
    still queue; a session with the default bound (10) may queue A's 4th.
    Once A's jobs are done, A queues again."""
    mine = [FAIR_BASE + 600 + i for i in range(4)]
    theirs = {"B": FAIR_BASE + 610, "role": FAIR_BASE + 611, "alice": FAIR_BASE + 612}
    a = "ip:192.0.2.1"
    forget(conn, *mine, *theirs.values())
    with psycopg.connect(dbname=database, user=WEB, autocommit=True) as web, \
            psycopg.connect(dbname=database, user=WEB, autocommit=True) as web_default, \
            psycopg.connect(dbname=database, user=ALICE, autocommit=True) as alice:
        for c in (web, web_default, alice):
            c.execute("SET statement_timeout = '15s'")
        web.execute("SET pg_fib.max_queued_per_requester = 3")
        with idle_workers_stopped(conn):
            for n in mine[:3]:
                assert _request(web, n, a) == "queued"
            with pytest.raises(errors.ConfigurationLimitExceeded) as refused:
                _request(web, mine[3], a)
            diag = refused.value.diag
            assert diag.sqlstate == "53400"
            assert diag.message_primary == f'could not queue F({mine[3]}): requester "{a}" has too many jobs waiting'
            assert diag.message_detail == (f'The requester has 3 jobs queued or running for role "{WEB}",'
                                           ' the most "pg_fib.max_queued_per_requester" (3) allows.')
            assert job_row(conn, mine[3]) is None
            assert _request(web, mine[0], a) == "queued"
            assert _request(web, theirs["B"], "ip:192.0.2.2") == "queued"
            assert _request(web, theirs["role"]) == "queued"
            assert _request(alice, theirs["alice"]) == "queued"
            assert [tuple(r) for r in conn.execute(
                "SELECT requested_by, requester, count(*) FROM fib_jobs WHERE n = ANY(%s)"
                " GROUP BY 1, 2 ORDER BY 1, 2", (mine + list(theirs.values()),))] == \
                [(ALICE, None, 1), (WEB, a, 3), (WEB, "ip:192.0.2.2", 1), (WEB, None, 1)]
            # the bound is the calling session's: the default lets a 4th in
            assert web_default.execute("SHOW pg_fib.max_queued_per_requester").fetchone()[0] == "10"
            assert _request(web_default, mine[3], a) == "queued"
        for n in mine + list(theirs.values()):
            assert wait_finished(conn, n, timeout=60)["state"] == "done"
        forget(conn, mine[3])
        assert _request(web, mine[3], a) in ("queued", "running", "done")


def test_one_job_per_n_whichever_requester_asks(conn, database, web_and_alice):
    """The same n asked for by requesters A and B of fib_fair_web, and by
    fib_fair_alice, is one job, requested for A: B's asking is answered
    although B is at its bound (1), and all three wait on it."""
    n, b_own = FAIR_BASE + 700, FAIR_BASE + 701
    forget(conn, n, b_own)
    with psycopg.connect(dbname=database, user=WEB, autocommit=True) as web, \
            psycopg.connect(dbname=database, user=ALICE, autocommit=True) as alice:
        web.execute("SET pg_fib.max_queued_per_requester = 1")
        with idle_workers_stopped(conn):
            assert _request(web, b_own, "B") == "queued"
            assert _request(web, n, "A") == "queued"
            assert _request(web, n, "B") == "queued"
            assert _request(alice, n) == "queued"
            assert [tuple(r) for r in conn.execute(
                "SELECT requested_by, requester FROM fib_jobs WHERE n = %s", (n,))] == [(WEB, "A")]
        waits = {}

        def wait(name, c):
            waits[name] = c.execute("SELECT state, finished_at FROM fib_wait(%s, '60 seconds')",
                                    (n,)).fetchone()
        with psycopg.connect(dbname=database, user=WEB, autocommit=True) as web_b:
            threads = [threading.Thread(target=wait, args=args)
                       for args in (("A", web), ("B", web_b), ("alice", alice))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(90)
        assert set(waits) == {"A", "B", "alice"}
        assert {state for state, _ in waits.values()} == {"done"}
        assert len({finished for _, finished in waits.values()}) == 1
        assert job_row(conn, n)["attempts"] == 1


@pytest.mark.parametrize("key, sqlstate", [
    ("", "22023"), ("k" * 64, "22023"), ("ip:203.0.113.7 ", "22023"), ("ip:\t203.0.113.7", "22023"),
    ("ip:203.0.113.7\n", "22023"), ("clé", "22023"), ("\x7f", "22023"), (None, "22004")])
def test_bad_requester_keys_are_refused_and_change_nothing(conn, database, web_and_alice, key, sqlstate):
    """A key that is not 1 to 63 printable ASCII characters (no space), or
    NULL, is refused with its SQLSTATE before anything is queued, for any
    role; the longest good key is taken."""
    n = FAIR_BASE + 800
    forget(conn, n)
    jobs_before = conn.execute("SELECT count(*) FROM fib_jobs").fetchone()[0]
    with psycopg.connect(dbname=database, user=WEB, autocommit=True) as web:
        with pytest.raises(psycopg.Error) as refused:
            web.execute("SELECT fib_request(%s, %s)", (n, key))
        assert refused.value.sqlstate == sqlstate
    assert job_row(conn, n) is None
    assert conn.execute("SELECT count(*) FROM fib_jobs").fetchone()[0] == jobs_before


def test_the_longest_key_is_the_jobs_requester(conn, database, web_and_alice):
    """A key of 63 printable ASCII characters is taken and kept on the job,
    where only a superuser reads it: fib_status() does not show it."""
    n, key = FAIR_BASE + 801, "!" + "k" * 61 + "~"
    forget(conn, n)
    with psycopg.connect(dbname=database, user=WEB, autocommit=True) as web:
        assert _request(web, n, key) in ("queued", "running")
        assert "requester" not in [c.name for c in web.execute("SELECT * FROM fib_status(%s)", (n,)).description]
    assert (job_row(conn, n)["requested_by"], job_row(conn, n)["requester"]) == (WEB, key)
    assert wait_finished(conn, n, timeout=60)["state"] == "done"
