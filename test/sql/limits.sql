-- the limits of fib(): numeric's range and pg_fib.max_n, both sides of each

-- F(627177) is the largest Fibonacci number numeric can hold: 131072 digits
SELECT length(fib(627177)::text) AS digits,
       left(fib(627177)::text, 12) AS leading,
       right(fib(627177)::text, 12) AS trailing;
SELECT length(fib(-627177)::text) AS digits, fib(-627177) > 0 AS positive;
SELECT length(fib(-627176)::text) AS length_with_sign, fib(-627176) < 0 AS negative;

-- one past it: 22003 numeric_value_out_of_range
SELECT fib(627178);
\echo :LAST_ERROR_SQLSTATE
SELECT fib(-627178);
\echo :LAST_ERROR_SQLSTATE

-- past pg_fib.max_n: 54000 program_limit_exceeded, checked first
SHOW pg_fib.max_n;
SELECT fib(100000001);
\echo :LAST_ERROR_SQLSTATE
SELECT fib(9223372036854775807);
\echo :LAST_ERROR_SQLSTATE
SELECT fib(-9223372036854775808);
\echo :LAST_ERROR_SQLSTATE

-- a lower pg_fib.max_n applies to both signs
SET pg_fib.max_n = 1000;
SELECT fib(1000) = fib(999) + fib(998) AS f1000_ok, fib(-1000) = -fib(1000) AS fm1000_ok;
SELECT fib(1001);
\echo :LAST_ERROR_SQLSTATE
SELECT fib(-1001);
\echo :LAST_ERROR_SQLSTATE
SET pg_fib.max_n = 0;
SELECT fib(0);
SELECT fib(1);
\echo :LAST_ERROR_SQLSTATE
RESET pg_fib.max_n;

-- pg_fib.max_n refuses a negative value, and only a superuser may change it
SET pg_fib.max_n = -1;
\echo :LAST_ERROR_SQLSTATE
CREATE ROLE fib_regress_user;
SET ROLE fib_regress_user;
SET pg_fib.max_n = 2000000000;
\echo :LAST_ERROR_SQLSTATE
SELECT fib(50) AS f50;
RESET ROLE;
DROP ROLE fib_regress_user;

-- the pg_fib prefix is reserved: a misspelled setting is refused
SET pg_fib.maxn = 5;
\echo :LAST_ERROR_SQLSTATE
