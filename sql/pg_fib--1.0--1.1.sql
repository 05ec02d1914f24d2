\echo Use "ALTER EXTENSION pg_fib UPDATE TO '1.1'" to load this file. \quit

-- pg_fib 1.0 -> 1.1.  Each section below matches one in pg_fib--1.1.sql.

-- The queue: each role's share (pg_fib.max_queued_per_role), each
-- requester's within it (pg_fib.max_queued_per_requester), and a fair claim
-- across roles and, within a role, across its requesters.
ALTER TABLE fib_jobs ADD COLUMN requested_by name;
ALTER TABLE fib_jobs ADD COLUMN requester text CHECK (requester ~ '^[!-~]{1,63}$');
ALTER TABLE fib_jobs ADD COLUMN start_tag bigint;
ALTER TABLE fib_jobs ADD COLUMN start_tag_in_role bigint;
-- The workers' order, a fair queue (pg_fib/jobs.c, pg_fib/fairtags.c):
-- requested jobs by their role's turn, then memoize hints, oldest first;
-- within the role whose turn it is, by its requesters' turns.
DROP INDEX fib_jobs_queued;
CREATE INDEX fib_jobs_queued ON fib_jobs ((requested_by IS NULL), start_tag, requested_at, n)
    WHERE state = 'queued';
CREATE INDEX fib_jobs_queued_by_role ON fib_jobs (requested_by, start_tag_in_role, requested_at, n)
    WHERE state = 'queued';
CREATE INDEX fib_jobs_waiting_by_role ON fib_jobs (requested_by, requester)
    WHERE state IN ('queued', 'running');
COMMENT ON COLUMN fib_jobs.requested_by IS
'The role that requested the job (NULL: queued by pg_fib to memoize a value computed inline); pg_fib.max_queued_per_role bounds its jobs queued or running';
COMMENT ON COLUMN fib_jobs.requester IS
'Who the role requested the job for, as fib_request(n, requester) named it (NULL: the role as a whole); pg_fib.max_queued_per_requester bounds its jobs queued or running';
COMMENT ON COLUMN fib_jobs.start_tag IS
'The job''s virtual start tag among the jobs of every role (the keeper assigns it; a claim takes the smallest of the queued jobs, and gives it to the job of its role whose requester''s turn it is)';
COMMENT ON COLUMN fib_jobs.start_tag_in_role IS
'The job''s virtual start tag among the jobs of its role, by requester (the keeper assigns it; the claim takes the smallest within the role whose turn it is)';
COMMENT ON INDEX fib_jobs_queued IS
'The workers'' claim: the queued job whose role''s turn it is, requested jobs before memoize hints';
COMMENT ON INDEX fib_jobs_queued_by_role IS
'The workers'' claim: within a role, the queued job whose requester''s turn it is';
COMMENT ON INDEX fib_jobs_waiting_by_role IS
'Counts a role''s, and a requester''s, jobs queued or running, for pg_fib.max_queued_per_role and pg_fib.max_queued_per_requester';

-- Least privilege: the functions are the interface; they read the tables
-- without needing a privilege on them.
REVOKE SELECT ON fib_memo, fib_jobs FROM PUBLIC;

-- A restore into a running server wins over what the workers wrote.
CREATE FUNCTION fib_restore_row() RETURNS trigger
AS 'MODULE_PATHNAME', 'pg_fib_restore_row'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION fib_restore_row() IS
'Trigger: a row inserted into fib_memo or fib_jobs by anyone but the pg_fib workers replaces the row of the same n';

CREATE TRIGGER fib_memo_restore BEFORE INSERT ON fib_memo
    FOR EACH ROW EXECUTE FUNCTION fib_restore_row();
CREATE TRIGGER fib_jobs_restore BEFORE INSERT ON fib_jobs
    FOR EACH ROW EXECUTE FUNCTION fib_restore_row();

COMMENT ON TRIGGER fib_memo_restore ON fib_memo IS
'A restored row replaces one the workers wrote since the table was created';
COMMENT ON TRIGGER fib_jobs_restore ON fib_jobs IS
'A restored row replaces one the keeper or the workers wrote since the table was created';

REVOKE EXECUTE ON FUNCTION fib_restore_row() FROM PUBLIC;

-- fib_request(n, requester) requests F(n) for a requester of the calling
-- role (a client the role serves, such as the web front's client address):
-- the requester has a share of the queue within the role's
-- (pg_fib.max_queued_per_requester) and a turn of its own in the workers'
-- claim.  Not STRICT: a NULL requester is refused, not answered with NULL.
CREATE FUNCTION fib_request(n bigint, requester text) RETURNS fib_job
AS 'MODULE_PATHNAME', 'pg_fib_fib_request_for'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION fib_request(bigint, text) IS
'Makes sure F(n) is, or will be, in the memo, requested for requester within the calling role; returns its job';

-- fib_status takes a fresh snapshot, which parallel mode forbids.
ALTER FUNCTION fib_status(bigint) PARALLEL UNSAFE;

-- The upkeep moves into the library: the keeper and fib_maintain() find the
-- tables by the schema's identity, not by a name baked into a function body.
DROP FUNCTION fib_requeue_orphans();
DROP FUNCTION fib_worker_pids();
DROP FUNCTION fib_wake_workers();

CREATE OR REPLACE FUNCTION fib_maintain(OUT requeued integer, OUT purged integer,
                                        OUT evicted integer, OUT memo_bytes bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'pg_fib_maintain'
LANGUAGE C VOLATILE STRICT SECURITY DEFINER PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION fib_maintain() IS
'Requeues orphaned jobs, purges finished jobs older than pg_fib.job_retention, evicts memo rows beyond pg_fib.memo_max_size';

-- fib_schedule_maintenance registers with pg_cron a command that finds the
-- schema by identity at each run (a renamed schema keeps its upkeep) and
-- runs fib_maintain() only while a superuser owns it; it refuses a schema
-- that a superuser does not own.
CREATE OR REPLACE FUNCTION fib_schedule_maintenance(schedule text DEFAULT '* * * * *') RETURNS bigint
AS 'MODULE_PATHNAME', 'pg_fib_schedule_maintenance'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- A pg_cron job that 1.0's fib_schedule_maintenance() registered names the
-- schema as it was then, and runs whatever is called fib_maintain() there:
-- it gets 1.1's command, on its schedule.  A job another role scheduled is
-- that role's to replace (a warning says so); in a schema not owned by a
-- superuser the job is removed, since 1.1's fib_maintain() refuses it anyway.
DO $$
DECLARE
    job record;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension
                    WHERE extname OPERATOR(pg_catalog.=) 'pg_cron') THEN
        RETURN;
    END IF;
    FOR job IN SELECT j.jobid, j.schedule, j.username FROM cron.job j
                WHERE j.jobname OPERATOR(pg_catalog.=) 'pg_fib maintenance'
                  AND j.database OPERATOR(pg_catalog.=) pg_catalog.current_database()
    LOOP
        IF job.username OPERATOR(pg_catalog.<>) CURRENT_USER THEN
            RAISE WARNING 'the pg_cron job "pg_fib maintenance" of role "%" still runs the command of pg_fib 1.0', job.username
                USING DETAIL = 'That command names pg_fib''s schema as it was when it was scheduled.',
                      HINT = 'Call fib_schedule_maintenance() again as that role.';
            CONTINUE;
        END IF;
        BEGIN
            PERFORM @extschema@.fib_schedule_maintenance(job.schedule);
        EXCEPTION WHEN object_not_in_prerequisite_state THEN
            PERFORM cron.unschedule(job.jobid);
            RAISE WARNING 'removed the pg_cron job "pg_fib maintenance": the schema of extension "pg_fib" is not owned by a superuser'
                USING HINT = 'Make a superuser own the schema (ALTER SCHEMA ... OWNER TO), then call fib_schedule_maintenance() again.';
        END;
    END LOOP;
END
$$;

-- Observability.  fib_counters() reads pg_fib's shared memory; the view adds
-- up the tables with its owner's privileges, so a monitoring role reads it
-- without any privilege on the tables.
CREATE FUNCTION fib_counters(OUT inline_computations bigint, OUT inline_ms double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'pg_fib_counters'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION fib_counters() IS
'F(n) computed inside queries (fib, fib_text, the first two values of a fib_series run) since the server started, and the milliseconds they took';

CREATE VIEW fib_stats AS
SELECT c.inline_computations,
       c.inline_ms,
       m.memo_rows,
       m.memo_bytes,
       m.memo_hits,
       j.queued,
       j.running,
       j.done,
       j.failed,
       j.compute_ms
  FROM fib_counters() AS c,
       (SELECT count(*) AS memo_rows,
               coalesce(sum(octet_length(value)), 0)::bigint AS memo_bytes,
               coalesce(sum(hits), 0)::bigint AS memo_hits
          FROM fib_memo) AS m,
       (SELECT count(*) FILTER (WHERE state = 'queued') AS queued,
               count(*) FILTER (WHERE state = 'running') AS running,
               count(*) FILTER (WHERE state = 'done') AS done,
               count(*) FILTER (WHERE state = 'failed') AS failed,
               coalesce(sum(compute_ms) FILTER (WHERE state = 'done'), 0) AS compute_ms
          FROM fib_jobs) AS j;

COMMENT ON VIEW fib_stats IS
'pg_fib at a glance: inline computations since the server started, the memo (rows, bytes, hits counted so far), the queue by state, and the workers'' computing time of the jobs kept';

REVOKE ALL ON fib_stats FROM PUBLIC;
GRANT SELECT ON fib_stats TO pg_monitor;

-- F(n) for every bigint n: digit count, leading and trailing digits
--
-- They answer for |F(n)| without building F(n), in time that grows with
-- log |n| (and with k): the digit count and the leading digits from
-- log10 F(n) bounded by interval arithmetic in MPFR, the trailing digits from
-- F(n) mod 10^k by fast doubling.  So pg_fib.max_n does not bound them.  Pure
-- functions of their arguments: IMMUTABLE STRICT PARALLEL SAFE.

CREATE FUNCTION fib_digits(n bigint) RETURNS bigint
AS 'MODULE_PATHNAME', 'pg_fib_fib_digits'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION fib_digits(bigint) IS
'The number of decimal digits of |F(n)| (F(0) = 0 has one), exact, for every bigint n';

CREATE FUNCTION fib_leading(n bigint, k integer DEFAULT 20) RETURNS text
AS 'MODULE_PATHNAME', 'pg_fib_fib_leading'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION fib_leading(bigint, integer) IS
'The first k decimal digits of |F(n)| (all of them when it has fewer), exact, for every bigint n and 1 <= k <= 10000';

CREATE FUNCTION fib_trailing(n bigint, k integer DEFAULT 20) RETURNS text
AS 'MODULE_PATHNAME', 'pg_fib_fib_trailing'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION fib_trailing(bigint, integer) IS
'The last k decimal digits of |F(n)|, zero-padded to k digits (to all of its digits when it has fewer), for every bigint n and 1 <= k <= 10000';

CREATE FUNCTION fib_sign(n bigint) RETURNS integer
AS 'MODULE_PATHNAME', 'pg_fib_fib_sign'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION fib_sign(bigint) IS
'The sign of F(n), -1, 0 or 1, for every bigint n (F(-n) = (-1)^(n+1) F(n))';

-- Runs of consecutive Fibonacci numbers
--
-- fib_series_values walks the recurrence from F(first), computed once like
-- fib()'s (from the memo, or on GMP), one addition in numeric's base-10000
-- digits per value, one value per call.  Its endpoints are refused as
-- fib(n) refuses n.  A set-returning C function in FROM has every row stored
-- before the first is read, so callers use fib_series, a SQL function the
-- planner inlines: its select list runs fib_series_values and
-- generate_series in lockstep (two set-returning functions in one select
-- list advance together), a row is computed when it is read, and a LIMIT
-- stops the run.  PostgreSQL inlines no STRICT SQL function, so fib_series
-- is not labelled STRICT; a NULL endpoint gives no rows, as STRICT would.
-- The support function tells the planner the exact row count of constant
-- endpoints.  All are pure functions of their arguments: IMMUTABLE
-- PARALLEL SAFE.

CREATE FUNCTION fib_series_support(internal) RETURNS internal
AS 'MODULE_PATHNAME', 'pg_fib_fib_series_support'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION fib_series_support(internal) IS
'Planner support for fib_series and fib_series_values: the row count of constant endpoints';

CREATE FUNCTION fib_series_values(first bigint, last bigint) RETURNS SETOF numeric
AS 'MODULE_PATHNAME', 'pg_fib_fib_series_values'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
ROWS 1000 SUPPORT fib_series_support;

COMMENT ON FUNCTION fib_series_values(bigint, bigint) IS
'F(first), ..., F(last) in order, the values of fib_series; stored whole before the first row is read when called in FROM';

CREATE FUNCTION fib_series(first bigint, last bigint) RETURNS TABLE (n bigint, value numeric)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
ROWS 1000 SUPPORT fib_series_support
BEGIN ATOMIC
    SELECT pg_catalog.generate_series(first, last), fib_series_values(first, last);
END;

COMMENT ON FUNCTION fib_series(bigint, bigint) IS
'The rows (n, F(n)) for n from first to last in order, none when first > last, the values of fib(n) computed one from the two before; same limits as fib(n)';
