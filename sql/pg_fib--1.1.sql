\echo Use "CREATE EXTENSION pg_fib" to load this file. \quit

-- fib and fib_mod are pure functions of their arguments: they read no table
-- and write nothing, so they are IMMUTABLE (a call with constant arguments
-- may be folded at plan time), PARALLEL SAFE, and usable in read-only
-- transactions and on a hot standby.  STRICT: a NULL argument gives NULL.

CREATE FUNCTION fib(n bigint) RETURNS numeric
AS 'MODULE_PATHNAME', 'pg_fib_fib'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION fib(bigint) IS
'The exact Fibonacci number F(n), negafibonacci numbers included, for |n| <= 627177 (the largest F(n) that fits in numeric) and |n| <= pg_fib.max_n';

CREATE FUNCTION fib_mod(n bigint, m bigint) RETURNS bigint
AS 'MODULE_PATHNAME', 'pg_fib_fib_mod'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION fib_mod(bigint, bigint) IS
'F(n) modulo m, in [0, m), for every bigint n and every 1 <= m <= 2^63-1';

-- The memo and the queue.  Only pg_fib's background workers (and
-- fib_maintain) write them, in transactions of their own; callers' queries
-- read them through the functions below, which need no privilege on them:
-- the tables grant nothing to PUBLIC.  Both are dumped by pg_dump with
-- their data.

CREATE TABLE fib_memo (
    n           bigint PRIMARY KEY CHECK (n >= 0),
    value       bytea NOT NULL,
    digits      bigint NOT NULL CHECK (digits > 0),
    computed_at timestamptz NOT NULL DEFAULT now(),
    compute_ms  double precision NOT NULL,
    hits        bigint NOT NULL DEFAULT 0,
    last_used   timestamptz
);
-- Decimal digits do not compress: skip the attempt, store out of line.
ALTER TABLE fib_memo ALTER COLUMN value SET STORAGE EXTERNAL;
SELECT pg_catalog.pg_extension_config_dump('fib_memo', '');

COMMENT ON TABLE fib_memo IS
'Memoized |F(n)|: value holds base-10000 digits, most significant first, each a little-endian 16-bit integer';

CREATE TABLE fib_jobs (
    n            bigint PRIMARY KEY CHECK (n >= 0),
    state        text NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'done', 'failed')),
    progress     double precision NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    digits       bigint,
    requested_at timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    compute_ms   double precision,
    error        text,
    attempts     integer NOT NULL DEFAULT 0,
    worker_pid   integer,
    requested_by name,
    requester    text CHECK (requester ~ '^[!-~]{1,63}$'),
    start_tag    bigint,
    start_tag_in_role bigint
);
-- The workers' order, a fair queue (pg_fib/jobs.c, pg_fib/fairtags.c):
-- requested jobs by their role's turn, then memoize hints, oldest first;
-- within the role whose turn it is, by its requesters' turns.
CREATE INDEX fib_jobs_queued ON fib_jobs ((requested_by IS NULL), start_tag, requested_at, n)
    WHERE state = 'queued';
CREATE INDEX fib_jobs_queued_by_role ON fib_jobs (requested_by, start_tag_in_role, requested_at, n)
    WHERE state = 'queued';
CREATE INDEX fib_jobs_waiting_by_role ON fib_jobs (requested_by, requester)
    WHERE state IN ('queued', 'running');
SELECT pg_catalog.pg_extension_config_dump('fib_jobs', '');

COMMENT ON TABLE fib_jobs IS
'The queue of F(|n|) too large to compute inside a query, drained by the pg_fib workers';
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

REVOKE ALL ON fib_memo, fib_jobs FROM PUBLIC;

-- A row inserted by anyone but pg_fib's workers (pg_restore's COPY, say)
-- replaces the row of the same n, so that a restore into a running server
-- wins over what the workers wrote since the tables were created instead
-- of failing on the duplicate key.
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

CREATE TYPE fib_job AS (
    n            bigint,
    state        text,
    progress     double precision,
    digits       bigint,
    requested_at timestamptz,
    started_at   timestamptz,
    finished_at  timestamptz,
    compute_ms   double precision,
    error        text
);

COMMENT ON TYPE fib_job IS 'The state of the computation of F(n), as fib_request, fib_status and fib_wait return it';

-- fib_text gives the same value for the same n, but whether it can answer
-- (from the memo) or must refuse depends on the memo: STABLE.  It writes
-- nothing, so it is PARALLEL SAFE and works on a hot standby.
CREATE FUNCTION fib_text(n bigint) RETURNS text
AS 'MODULE_PATHNAME', 'pg_fib_fib_text'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION fib_text(bigint) IS
'The decimal F(n) for |n| <= pg_fib.max_n: from the memo, or computed inline when |n| <= pg_fib.sync_max_n';

-- fib_request and fib_wait have the keeper write a job and wait for it:
-- VOLATILE, and PARALLEL UNSAFE since they sleep on shared state.  fib_status
-- reads with a fresh snapshot, so two calls in one statement may differ
-- (VOLATILE), and a fresh snapshot cannot be taken in parallel mode
-- (PARALLEL UNSAFE).
CREATE FUNCTION fib_request(n bigint) RETURNS fib_job
AS 'MODULE_PATHNAME', 'pg_fib_fib_request'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION fib_request(bigint) IS
'Makes sure F(n) is, or will be, in the memo; returns its job';

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

CREATE FUNCTION fib_status(n bigint) RETURNS fib_job
AS 'MODULE_PATHNAME', 'pg_fib_fib_status'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION fib_status(bigint) IS
'The job of F(n) without queuing anything; NULL when F(n) was never requested nor memoized and is beyond pg_fib.sync_max_n';

CREATE FUNCTION fib_wait(n bigint, timeout interval DEFAULT '30 seconds') RETURNS fib_job
AS 'MODULE_PATHNAME', 'pg_fib_fib_wait'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION fib_wait(bigint, interval) IS
'Requests F(n) if needed and waits until its job is done or failed, or the timeout passes';

-- Upkeep.  The keeper requeues the jobs of workers that died and keeps the
-- memo within pg_fib.memo_max_size by itself; fib_maintain() also purges
-- old jobs, for pg_cron (see fib_schedule_maintenance) or any other
-- scheduler.  SECURITY DEFINER with a fixed search_path: a role granted
-- EXECUTE may run the upkeep without privileges on the tables.  It finds
-- the tables by the schema's identity and refuses a schema whose owner is
-- not a superuser.
CREATE FUNCTION fib_maintain(OUT requeued integer, OUT purged integer,
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
CREATE FUNCTION fib_schedule_maintenance(schedule text DEFAULT '* * * * *') RETURNS bigint
AS 'MODULE_PATHNAME', 'pg_fib_schedule_maintenance'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION fib_schedule_maintenance(text) IS
'Registers fib_maintain() with pg_cron as the job "pg_fib maintenance" (replacing an earlier one)';

REVOKE EXECUTE ON FUNCTION fib_maintain(), fib_schedule_maintenance(text), fib_restore_row()
    FROM PUBLIC;

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
