-- fib_request, fib_status, fib_wait, the upkeep functions: what they refuse,
-- and what they answer without a worker.  This database is not the one named
-- by pg_fib.database, so nothing can be queued from here.

-- within pg_fib.sync_max_n: done at once, nothing queued
SELECT n, state, progress, digits, requested_at IS NULL AS not_queued
  FROM fib_request(10);
SELECT n, state, progress, digits FROM fib_request(-3000000);
SELECT n, state, digits FROM fib_status(93);
SELECT n, state, digits FROM fib_wait(2000000);
SELECT count(*) AS jobs FROM fib_jobs;

-- never requested nor memoized: NULL
SELECT fib_status(3000001) IS NULL AS is_null;

-- queuing works only in the database of the workers: 55000
SHOW pg_fib.database;
SELECT fib_request(3000001);
\echo :LAST_ERROR_SQLSTATE
SELECT fib_wait(3000001);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS jobs FROM fib_jobs;

-- limits and bad arguments
SELECT fib_request(100000001);
\echo :LAST_ERROR_SQLSTATE
SELECT fib_status(-100000001);
\echo :LAST_ERROR_SQLSTATE
SELECT fib_wait(10, '-1 second');
\echo :LAST_ERROR_SQLSTATE
SELECT fib_wait(NULL) IS NULL AS n_null, fib_wait(10, NULL) IS NULL AS timeout_null;
SELECT state FROM fib_wait(10, '0 seconds');

-- the upkeep functions, with nothing to do
SELECT * FROM fib_maintain();
SELECT fib_schedule_maintenance();
\echo :LAST_ERROR_SQLSTATE

-- a plain role has no privilege on the tables: it reads the memo and the
-- queue only through the functions, and cannot write them, run the upkeep,
-- call the restore trigger or raise its share of the queue
CREATE ROLE fib_jobs_user;
SET ROLE fib_jobs_user;
SELECT count(*) AS memo_rows FROM fib_memo;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS jobs FROM fib_jobs;
\echo :LAST_ERROR_SQLSTATE
SELECT state FROM fib_request(20);
SELECT state FROM fib_status(20);
SELECT fib(20), fib_text(20);
INSERT INTO fib_memo (n, value, digits, compute_ms) VALUES (1, '\x0100', 1, 0);
\echo :LAST_ERROR_SQLSTATE
UPDATE fib_jobs SET state = 'failed';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM fib_memo;
\echo :LAST_ERROR_SQLSTATE
SELECT fib_maintain();
\echo :LAST_ERROR_SQLSTATE
SELECT fib_schedule_maintenance();
\echo :LAST_ERROR_SQLSTATE
SELECT fib_restore_row();
\echo :LAST_ERROR_SQLSTATE
SET pg_fib.max_queued_per_role = 100000;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE fib_jobs_user;

-- the settings: defaults, but pg_fib.workers = 2 in the test cluster
SELECT name, setting, unit, context FROM pg_settings WHERE name LIKE 'pg\_fib.%' ORDER BY name;
