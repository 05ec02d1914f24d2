"""fib_maintain(): orphaned jobs, retention, the memo's size; and its
schedule in pg_cron.  Runs on the shared cluster, in database "postgres"."""

import pytest
from psycopg import errors

from jobs import forget, job, job_row, reload_setting, reset_setting, wait_finished, wait_for

SYNC_MAX_N = 3_000_000




def test_keeper_requeues_a_job_left_by_a_dead_worker(conn):
    n = SYNC_MAX_N + 31
    forget(conn, n)
    conn.execute("INSERT INTO fib_jobs (n, state, attempts, worker_pid, started_at)"
                 " VALUES (%s, 'running', 1, 999999, now())", (n,))
    done = wait_finished(conn, n, timeout=30)
    assert done["state"] == "done"
    assert job_row(conn, n)["attempts"] == 2


def test_orphan_that_used_its_attempts_ends_failed(conn):
    n = SYNC_MAX_N + 32
    forget(conn, n)
    conn.execute("INSERT INTO fib_jobs (n, state, attempts, worker_pid, started_at)"
                 " VALUES (%s, 'running', 3, 999999, now())", (n,))
    failed = wait_finished(conn, n, timeout=30)
    assert failed["state"] == "failed"
    assert "gave up after 3 attempts" in failed["error"]


def test_maintain_purges_old_finished_jobs(conn):
    n = SYNC_MAX_N + 33
    forget(conn, n)
    assert conn.execute("SELECT state FROM fib_wait(%s)", (n,)).fetchone()[0] == "done"
    conn.execute("UPDATE fib_jobs SET finished_at = now() - interval '2 hours' WHERE n = %s", (n,))
    reload_setting(conn, "pg_fib.job_retention", "1h")
    try:
        purged = conn.execute("SELECT purged FROM fib_maintain()").fetchone()[0]
    finally:
        reset_setting(conn, "pg_fib.job_retention")
    assert purged >= 1
    assert job_row(conn, n) is None
    # the value stays in the memo: status and text still answer
    assert job(conn, n)["state"] == "done"
    assert len(conn.execute("SELECT fib_text(%s)", (n,)).fetchone()[0]) == job(conn, n)["digits"]


def test_maintain_keeps_the_memo_within_its_size(conn):
    """Of two values of the same size and cost, the one used more stays; a
    value that cost nothing to compute goes first."""
    used, unused, cheap = SYNC_MAX_N + 41, SYNC_MAX_N + 42, SYNC_MAX_N + 43
    for n in (used, unused, cheap):
        forget(conn, n)
        assert conn.execute("SELECT state FROM fib_wait(%s)", (n,)).fetchone()[0] == "done"
    conn.execute("UPDATE fib_memo SET compute_ms = 50, hits = 0 WHERE n IN (%s, %s)", (used, unused))
    conn.execute("UPDATE fib_memo SET hits = 10 WHERE n = %s", (used,))
    conn.execute("UPDATE fib_memo SET compute_ms = 0.001 WHERE n = %s", (cheap,))
    sizes = dict(conn.execute("SELECT n, octet_length(value) FROM fib_memo WHERE n IN (%s, %s)",
                              (used, unused)).fetchall())
    assert sizes[used] == sizes[unused]
    # room for every value ranked above "unused" (so "used" among them),
    # and half of "unused": only the hits tell the two apart
    above = conn.execute(
        "SELECT sum(octet_length(value)) FROM fib_memo WHERE compute_ms * (1 + hits) / octet_length(value)"
        " > (SELECT compute_ms * (1 + hits) / octet_length(value) FROM fib_memo WHERE n = %s)",
        (unused,)).fetchone()[0]
    limit_kb = (above + sizes[unused] // 2) // 1024
    reload_setting(conn, "pg_fib.memo_max_size", f"{limit_kb}kB")
    try:
        memo_bytes = conn.execute("SELECT memo_bytes FROM fib_maintain()").fetchone()[0]
    finally:
        reset_setting(conn, "pg_fib.memo_max_size")
    # the keeper keeps the budget by itself too, so either may have evicted
    kept = {r[0] for r in conn.execute("SELECT n FROM fib_memo")}
    assert memo_bytes <= limit_kb * 1024
    assert used in kept and unused not in kept and cheap not in kept
    # an evicted value is computed again on request
    assert job(conn, unused) is None
    assert conn.execute("SELECT state FROM fib_wait(%s)", (unused,)).fetchone()[0] == "done"


def test_pg_cron_runs_fib_maintain(conn):
    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_cron")
    try:
        with pytest.raises(errors.InvalidParameterValue):
            conn.execute("SELECT fib_schedule_maintenance('not a schedule')")
        job_id = conn.execute("SELECT fib_schedule_maintenance()").fetchone()[0]
        again = conn.execute("SELECT fib_schedule_maintenance('*/2 * * * *')").fetchone()[0]
        assert again == job_id, "scheduling again replaces the job"
        conn.execute("SELECT fib_schedule_maintenance('* * * * *')")
        row = conn.execute("SELECT schedule, command, database FROM cron.job WHERE jobid = %s",
                           (job_id,)).fetchone()
        assert (row[0], row[2]) == ("* * * * *", "postgres")
        assert row[1].startswith("DO ") and "fib_maintain()" in row[1]
        assert "public" not in row[1], "the command finds the schema at each run"

        # pg_cron starts it at the top of the next minute
        def ran():
            return conn.execute("SELECT status, return_message FROM cron.job_run_details"
                                " WHERE jobid = %s AND status IN ('succeeded', 'failed')",
                                (job_id,)).fetchone()
        status = wait_for(ran, 75, interval=0.5, what="pg_cron to run fib_maintain()")
        assert status[0] == "succeeded", status
    finally:
        conn.execute("DROP EXTENSION pg_cron")
