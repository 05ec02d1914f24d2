-- fib_request(n, requester): what it refuses, and what it answers without a
-- worker.  This database is not the one named by pg_fib.database, so
-- nothing can be queued from here; a refused requester is refused first.

-- within pg_fib.sync_max_n: done at once, nothing queued, for any key
SELECT n, state, progress, digits, requested_at IS NULL AS not_queued
  FROM fib_request(10, 'ip:203.0.113.7');
SELECT n, state, digits FROM fib_request(-3000000, 'net:2001:db8::/64');
-- the longest key: 63 printable ASCII characters
SELECT state FROM fib_request(93, repeat('k', 63));
SELECT state FROM fib_request(93, '!~');
SELECT count(*) AS jobs FROM fib_jobs;

-- a valid key beyond pg_fib.sync_max_n: the keeper works in another database
SELECT fib_request(3000001, 'ip:203.0.113.7');
\echo :LAST_ERROR_SQLSTATE

-- bad keys: 22023, and 22004 for NULL; refused before the keeper is asked
SELECT fib_request(3000001, '');
\echo :LAST_ERROR_SQLSTATE
SELECT fib_request(3000001, repeat('k', 64));
\echo :LAST_ERROR_SQLSTATE
SELECT fib_request(3000001, 'ip:203.0.113.7 ');
\echo :LAST_ERROR_SQLSTATE
SELECT fib_request(3000001, E'ip:\t203.0.113.7');
\echo :LAST_ERROR_SQLSTATE
SELECT fib_request(3000001, E'ip:203.0.113.7\n');
\echo :LAST_ERROR_SQLSTATE
SELECT fib_request(3000001, 'clé');
\echo :LAST_ERROR_SQLSTATE
SELECT fib_request(3000001, NULL);
\echo :LAST_ERROR_SQLSTATE
-- within pg_fib.sync_max_n too: a key is checked whatever n is
SELECT fib_request(10, '');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS jobs FROM fib_jobs;

-- NULL n gives NULL, as fib_request(n) does; n beyond pg_fib.max_n: 54000
SELECT fib_request(NULL, 'ip:203.0.113.7') IS NULL AS n_null;
SELECT fib_request(NULL, NULL) IS NULL AS both_null;
SELECT fib_request(100000001, 'ip:203.0.113.7');
\echo :LAST_ERROR_SQLSTATE

-- the per-requester bound: any role may lower it for its own session (the
-- role's share, pg_fib.max_queued_per_role, still bounds it), never below 0
CREATE ROLE fib_requester_user;
SET ROLE fib_requester_user;
SET pg_fib.max_queued_per_requester = 2;
SHOW pg_fib.max_queued_per_requester;
SET pg_fib.max_queued_per_requester = -1;
\echo :LAST_ERROR_SQLSTATE
SELECT state FROM fib_request(20, 'ip:203.0.113.7');
RESET pg_fib.max_queued_per_requester;
RESET ROLE;
DROP ROLE fib_requester_user;
