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
