/*-------------------------------------------------------------------------
 *
 * sqlabout.c
 *	  The SQL-callable functions fib_digits(), fib_leading() and
 *	  fib_trailing().
 *
 * They check k and hand |n| to the arithmetic of fibabout.c, which answers
 * for every bigint n without building F(n).
 *
 * IDENTIFICATION
 *	  pg_fib/sqlabout.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "fib.h"

PG_FUNCTION_INFO_V1(pg_fib_fib_digits);
PG_FUNCTION_INFO_V1(pg_fib_fib_leading);
PG_FUNCTION_INFO_V1(pg_fib_fib_trailing);

/* The most digits fib_leading and fib_trailing return. */
#define FIB_ABOUT_MAX_K			10000

/*
 * about_check_k refuses a digit count k outside 1..FIB_ABOUT_MAX_K for
 * function, which returns the "first" or "last" digits.
 */
static void
about_check_k(int32 k, const char *function, const char *which)
{
	if (k < 1 || k > FIB_ABOUT_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("digit count must be between 1 and %d, got %d",
						FIB_ABOUT_MAX_K, k),
				 errdetail("%s(n, k) returns the %s k decimal digits of |F(n)|, for 1 <= k <= %d.",
						   function, which, FIB_ABOUT_MAX_K),
				 errhint("Pass a k between 1 and %d; fib_digits(n) gives the number of digits of F(n), and fib_text(n) all of them.",
						 FIB_ABOUT_MAX_K)));
}

/*
 * pg_fib_fib_digits implements fib_digits(n bigint) RETURNS bigint.
 */
Datum
pg_fib_fib_digits(PG_FUNCTION_ARGS)
{
	int64		n = PG_GETARG_INT64(0);

	PG_RETURN_INT64((int64) pg_fib_about_digits(pg_fib_abs(n)));
}

/*
 * pg_fib_fib_leading implements fib_leading(n bigint, k integer) RETURNS
 * text.
 */
Datum
pg_fib_fib_leading(PG_FUNCTION_ARGS)
{
	int64		n = PG_GETARG_INT64(0);
	int32		k = PG_GETARG_INT32(1);

	about_check_k(k, "fib_leading", "first");
	PG_RETURN_TEXT_P(pg_fib_about_leading(pg_fib_abs(n), k));
}

/*
 * pg_fib_fib_trailing implements fib_trailing(n bigint, k integer) RETURNS
 * text.
 */
Datum
pg_fib_fib_trailing(PG_FUNCTION_ARGS)
{
	int64		n = PG_GETARG_INT64(0);
	int32		k = PG_GETARG_INT32(1);

	about_check_k(k, "fib_trailing", "last");
	PG_RETURN_TEXT_P(pg_fib_about_trailing(pg_fib_abs(n), k));
}
