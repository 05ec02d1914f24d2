-- fib_text(n): decimal F(n), inline up to pg_fib.sync_max_n, else from the memo

-- the same digits as fib(), for small and negative n, across memo_min_n
SELECT count(*) AS mismatches
  FROM generate_series(-200, 200) AS n
 WHERE fib_text(n) <> fib(n)::text;
SELECT count(*) AS mismatches
  FROM (VALUES (4999), (5000), (5001), (-5000), (100000), (627177), (-627176)) AS t(n)
 WHERE fib_text(n) <> fib(n)::text;
SELECT fib_text(0) AS f0, fib_text(-6) AS fm6, fib_text(100) AS f100;
SELECT fib_text(NULL) IS NULL AS is_null;

-- beyond numeric: F(1000000) has 208988 digits
SELECT length(fib_text(1000000)) AS digits, left(fib_text(1000000), 15) AS leading,
       right(fib_text(1000000), 15) AS trailing;
SELECT length(fib_text(-1000000)) AS length_with_sign;

-- F(n) for |n| > pg_fib.sync_max_n is not computed inline: 55000
SHOW pg_fib.sync_max_n;
SELECT fib_text(3000001);
\echo :LAST_ERROR_SQLSTATE
SET pg_fib.sync_max_n = 1000;
SELECT length(fib_text(1000)) AS digits;
SELECT fib_text(1001);
\echo :LAST_ERROR_SQLSTATE
SELECT fib(-1001);
\echo :LAST_ERROR_SQLSTATE
RESET pg_fib.sync_max_n;

-- pg_fib.max_n bounds it first: 54000
SELECT fib_text(100000001);
\echo :LAST_ERROR_SQLSTATE
SELECT fib_text(-9223372036854775808);
\echo :LAST_ERROR_SQLSTATE

-- only a superuser may change the limits
CREATE ROLE fib_text_user;
SET ROLE fib_text_user;
SET pg_fib.sync_max_n = 100000000;
\echo :LAST_ERROR_SQLSTATE
SET pg_fib.memo_min_n = 0;
\echo :LAST_ERROR_SQLSTATE
SELECT length(fib_text(20000)) AS digits;
RESET ROLE;
DROP ROLE fib_text_user;

-- usable where nothing may be written
BEGIN TRANSACTION READ ONLY;
SELECT length(fib_text(2000000)) AS digits;
COMMIT;
