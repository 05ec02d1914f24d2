/*-------------------------------------------------------------------------
 *
 * sqlfib.c
 *	  The SQL-callable functions fib() and fib_mod().
 *
 * fib(n) returns the exact F(n) as numeric for every n whose F(n) fits in
 * numeric; fib_mod(n, m) returns F(n) mod m for every bigint n.  Both are
 * pure functions of their arguments and write nothing, so they are
 * IMMUTABLE and PARALLEL SAFE, and they work in read-only transactions and
 * on a hot standby.  fib() reads the memo for |n| >= pg_fib.memo_min_n, but
 * the memo only caches what fib() would compute: the value never depends
 * on it.  A value worth memoizing that fib() had to compute is handed to
 * the keeper, which memoizes it in its own transaction.
 *
 * IDENTIFICATION
 *	  pg_fib/sqlfib.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/lsyscache.h"

#include "sqlfuncs.h"
#include "queue.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(pg_fib_fib);
PG_FUNCTION_INFO_V1(pg_fib_fib_mod);
PG_FUNCTION_INFO_V1(pg_fib_fib_sign);

/*
 * pg_fib_check_numeric_range refuses an n whose F(n) does not fit in
 * numeric.  It is checked from n alone, before any computation: fib() and
 * fib_series_values() check their arguments with it.
 */
void
pg_fib_check_numeric_range(int64 n)
{
	if (pg_fib_abs(n) > PG_FIB_NUMERIC_MAX_N)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("F(" INT64_FORMAT ") is out of range for type numeric", n),
				 errdetail("F(n) fits in numeric only for |n| <= %d; F(" INT64_FORMAT ") has about %.0f decimal digits.",
						   PG_FIB_NUMERIC_MAX_N, n,
						   pg_fib_decimal_digits(pg_fib_abs(n))),
				 errhint("Use fib_text(n) for its decimal digits, or fib_mod(n, m) for F(n) modulo m.")));
}

/* fib_numeric_datum converts a computed F(n) to fib()'s result. */
static Datum
fib_numeric_datum(const mpz_t value, void *arg)
{
	return NumericGetDatum(pg_fib_mpz_to_numeric(value));
}

/*
 * pg_fib_fib implements fib(n bigint) RETURNS numeric.
 */
Datum
pg_fib_fib(PG_FUNCTION_ARGS)
{
	int64		n = PG_GETARG_INT64(0);
	size_t		ndigits;
	FibDigit   *digits;

	pg_fib_check_max_n(n);
	pg_fib_check_numeric_range(n);

	if (pg_fib_abs(n) <= PG_FIB_INT64_MAX_N)
	{
		int64		value = (int64) pg_fib_small(pg_fib_abs(n));

		pg_fib_count_inline(0);
		PG_RETURN_NUMERIC(int64_to_numeric(pg_fib_fib_is_negative(n) ? -value : value));
	}

	digits = pg_fib_memo_or_inline(get_func_namespace(fcinfo->flinfo->fn_oid), n, &ndigits);
	if (digits != NULL)
		PG_RETURN_NUMERIC(pg_fib_digits_to_numeric(digits, ndigits,
												   pg_fib_fib_is_negative(n)));
	PG_RETURN_DATUM(pg_fib_compute_datum(n, fib_numeric_datum));
}

/*
 * pg_fib_fib_sign implements fib_sign(n bigint) RETURNS integer: -1, 0 or 1
 * as F(n) is negative, zero or positive, for every bigint n, so that
 * clients of fib_digits() and friends (which describe |F(n)|) need not
 * know the negafibonacci rule.
 */
Datum
pg_fib_fib_sign(PG_FUNCTION_ARGS)
{
	int64		n = PG_GETARG_INT64(0);

	PG_RETURN_INT32(n == 0 ? 0 : pg_fib_fib_is_negative(n) ? -1 : 1);
}

/*
 * pg_fib_fib_mod implements fib_mod(n bigint, m bigint) RETURNS bigint.
 */
Datum
pg_fib_fib_mod(PG_FUNCTION_ARGS)
{
	int64		n = PG_GETARG_INT64(0);
	int64		m = PG_GETARG_INT64(1);

	if (m <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("modulus must be positive, got " INT64_FORMAT, m),
				 errdetail("fib_mod(n, m) returns F(n) modulo m, in [0, m), for 1 <= m <= %s.",
						   "9223372036854775807"),
				 errhint("Pass a modulus m >= 1.")));

	PG_RETURN_INT64((int64) pg_fib_mod(n, (uint64) m));
}

/*
 * pg_fib_check_max_n refuses an n beyond pg_fib.max_n.  Callers run it
 * before they allocate anything for the computation.
 */
void
pg_fib_check_max_n(int64 n)
{
	if (pg_fib_abs(n) > (uint64) pg_fib_max_n)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("Fibonacci index " INT64_FORMAT " exceeds the limit of pg_fib.max_n (%d)",
						n, pg_fib_max_n),
				 errdetail("pg_fib computes F(n) only for |n| up to pg_fib.max_n, which bounds the memory and time of one computation."),
				 errhint("Use fib_mod(n, m) for F(n) modulo m, or ask a superuser to raise \"pg_fib.max_n\".")));
}

/*
 * pg_fib_compute_datum returns F(n) converted by convert, computed by
 * pg_fib_compute_converted and counted in fib_stats: the whole of an
 * inline computation, for the SQL-callable functions.
 */
Datum
pg_fib_compute_datum(int64 n, FibConvertFunction convert)
{
	double		elapsed_ms;
	Datum		result = pg_fib_compute_converted(n, NULL, NULL, convert, NULL,
												  &elapsed_ms);

	pg_fib_count_inline(elapsed_ms);
	return result;
}
