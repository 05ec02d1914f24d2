/*-------------------------------------------------------------------------
 *
 * memo.c
 *	  Reading the memo from a caller's query, and the memo's value format.
 *
 * fib_memo.value holds |F(n)| as base-10000 digits, most significant first,
 * each a little-endian 16-bit integer: the digits of a numeric, so a value
 * becomes a numeric by a copy and decimal text in linear time.  The byte
 * order is fixed so that a dump restores on any machine.
 *
 * A caller's query only reads the memo, with its own snapshot, through a
 * plan prepared once per backend; it never writes it (see shmem.c).
 *
 * IDENTIFICATION
 *	  pg_fib/memo.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "pg_fib.h"

/*
 * pg_fib_digits_to_bytea returns digits in the memo's value format.
 */
bytea *
pg_fib_digits_to_bytea(const FibDigit *digits, size_t ndigits)
{
	size_t		size = ndigits * sizeof(FibDigit);
	bytea	   *result = (bytea *) MemoryContextAllocHuge(CurrentMemoryContext,
														  VARHDRSZ + size);

	SET_VARSIZE(result, VARHDRSZ + size);
#ifdef WORDS_BIGENDIAN
	{
		uint16	   *out = (uint16 *) VARDATA(result);
		size_t		i;

		for (i = 0; i < ndigits; i++)
			out[i] = pg_bswap16((uint16) digits[i]);
	}
#else
	memcpy(VARDATA(result), digits, size);
#endif
	return result;
}

/*
 * pg_fib_bytea_to_digits returns the digits of a (detoasted) value in the
 * memo's format, allocated in the current memory context.
 */
FibDigit *
pg_fib_bytea_to_digits(bytea *value, size_t *ndigits)
{
	size_t		size = VARSIZE_ANY_EXHDR(value);
	FibDigit   *digits;

	if (size == 0 || size % sizeof(FibDigit) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid value in fib_memo: %zu bytes", size)));
	*ndigits = size / sizeof(FibDigit);
	digits = MemoryContextAllocHuge(CurrentMemoryContext, size);
#ifdef WORDS_BIGENDIAN
	{
		const uint16 *in = (const uint16 *) VARDATA_ANY(value);
		size_t		i;

		for (i = 0; i < *ndigits; i++)
			digits[i] = (FibDigit) pg_bswap16(in[i]);
	}
#else
	memcpy(digits, VARDATA_ANY(value), size);
#endif
	return digits;
}

/*
 * pg_fib_cached_plan returns the plan of a query on pg_fib's tables,
 * prepared once per backend and schema and kept in cache.  query_format
 * names the schema as %1$s.  Plan invalidation is PostgreSQL's: a kept plan
 * is re-planned when the tables change.  Must be called between SPI_connect
 * and SPI_finish.
 */
SPIPlanPtr
pg_fib_cached_plan(FibCachedPlan *cache, Oid namespace, const char *query_format,
				   int nargs, Oid *argtypes)
{
	char	   *schema;
	char	   *query;
	SPIPlanPtr	plan;

	if (cache->plan != NULL && cache->namespace == namespace)
		return cache->plan;

	schema = get_namespace_name(namespace);
	if (schema == NULL)
		elog(ERROR, "cache lookup failed for namespace %u", namespace);
	query = psprintf(query_format, quote_identifier(schema));
	plan = SPI_prepare(query, nargs, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s",
			 query, SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	if (cache->plan != NULL)
		SPI_freeplan(cache->plan);
	cache->plan = plan;
	cache->namespace = namespace;
	return plan;
}

/*
 * fib_memo_lookup returns the digits of F(absn) from the memo in the given
 * schema, allocated in the current memory context, or NULL when the memo
 * has no such row.  It reads with the caller's snapshot and writes nothing;
 * a hit is reported to the keeper, which counts it.
 */
static FibDigit *
fib_memo_lookup(Oid namespace, uint64 absn, size_t *ndigits)
{
	static FibCachedPlan lookup = {NULL, InvalidOid};
	MemoryContext caller_context = CurrentMemoryContext;
	FibDigit   *digits = NULL;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1];
	SPIPlanPtr	plan;
	int			ret;

	SPI_connect();
	plan = pg_fib_cached_plan(&lookup, namespace,
							  "SELECT value FROM %1$s.fib_memo WHERE n = $1",
							  1, argtypes);
	args[0] = Int64GetDatum((int64) absn);
	ret = SPI_execute_plan(plan, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		value = SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			bytea	   *bytes = DatumGetByteaPP(value);
			MemoryContext spi_context = MemoryContextSwitchTo(caller_context);

			digits = pg_fib_bytea_to_digits(bytes, ndigits);
			MemoryContextSwitchTo(spi_context);
		}
	}
	SPI_finish();

	if (digits != NULL)
		pg_fib_post_hit(absn);
	return digits;
}

/*
 * pg_fib_memo_or_inline decides, for fib() and fib_text(), where F(n) comes
 * from.  It returns the digits of |F(n)| from the memo when |n| is worth a
 * memo row (or too large to compute inline) and the memo has it.  It returns
 * NULL when the caller is to compute F(n) inline, after handing a value
 * worth a memo row to the keeper.  An F(n) beyond pg_fib.sync_max_n that is
 * not in the memo is refused with SQLSTATE 55000.
 */
FibDigit *
pg_fib_memo_or_inline(Oid namespace, int64 n, size_t *ndigits)
{
	uint64		absn = pg_fib_abs(n);
	FibDigit   *digits;

	if (absn < (uint64) pg_fib_memo_min_n && absn <= (uint64) pg_fib_sync_max_n)
		return NULL;

	digits = fib_memo_lookup(namespace, absn, ndigits);
	if (digits != NULL)
		return digits;
	if (absn > (uint64) pg_fib_sync_max_n)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("F(" INT64_FORMAT ") is not in the memo yet", n),
				 errdetail("F(n) is computed inside a query only for |n| <= pg_fib.sync_max_n (%d); larger ones are computed by a background worker.",
						   pg_fib_sync_max_n),
				 errhint("Call fib_request(n) to queue it, then fib_wait(n) or fib_status(n).")));
	pg_fib_post_memoize(absn);
	return NULL;
}
