\echo Use "ALTER EXTENSION pg_fib UPDATE TO '1.1'" to load this file. \quit

-- pg_fib 1.0 -> 1.1.  Each section below matches one in pg_fib--1.1.sql.

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
