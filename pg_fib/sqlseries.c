/*-------------------------------------------------------------------------
 *
 * sqlseries.c
 *	  fib_series_values(first, last): F(first), ..., F(last), one per call,
 *	  and the planner's row count for it.
 *
 * A run of consecutive Fibonacci numbers costs one addition per value once
 * the first two are known, where fib(n) per row costs a computation and a
 * conversion to decimal (or a memo read) each.  So the run computes
 * F(first) and its neighbour once, like fib() does (from the memo when it
 * has them, else on GMP), and then walks the recurrence in numeric's own
 * base-10000 digits (fibdigits.c): a value becomes a numeric by a copy, and
 * no binary-to-decimal conversion happens after the first.
 *
 * The state is the pair (|F(n)|, |F(n - 1)|), each right-aligned in a
 * buffer sized for the largest value of the run, in the multi-call memory
 * context.  Going up from n >= 0, |F(n + 1)| = |F(n)| + |F(n - 1)|; below
 * zero the magnitudes shrink, |F(n + 1)| = |F(n - 1)| - |F(n)| (with
 * F(-k) = (-1)^(k+1) F(k)); at n = 0 both rules agree, since |F(-1)| = 1.
 * The new magnitude overwrites |F(n - 1)|'s buffer and the two swap roles,
 * so a run of any length holds two buffers.  The sign of each value is
 * then the negafibonacci rule's.
 *
 * It is a value-per-call function: each call does one step and returns one
 * numeric, allocated in the caller's per-call memory context, which the
 * executor resets for every row.  Interrupts are checked at every call.
 * In a FROM clause PostgreSQL would store every row of a set-returning C
 * function before reading the first, which is why the SQL function
 * fib_series(first, last), which callers use, calls it in a select list
 * (see pg_fib--1.1.sql): the planner inlines it, and a LIMIT stops the run.
 *
 * IDENTIFICATION
 *	  pg_fib/sqlseries.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/supportnodes.h"
#include "optimizer/optimizer.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "sqlfuncs.h"
#include "queue.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(pg_fib_fib_series_values);
PG_FUNCTION_INFO_V1(pg_fib_fib_series_support);

/*
 * The zero digits after a buffer's last digit: the addition reads the
 * digit after the last one, and works eight digits at a time.
 */
#define FIB_SERIES_PADDING	8

/* The state of one run, in the multi-call memory context. */
typedef struct FibSeries
{
	int64		n;				/* the n of cur */
	int64		last;
	bool		started;		/* whether F(n) was returned */
	size_t		size;			/* digits of each buffer, the padding aside */
	FibDigit   *cur;			/* |F(n)|, ending at index size - 1 */
	FibDigit   *prev;			/* |F(n - 1)|, likewise */
	size_t		cur_top;		/* the index of cur's leading digit */
	size_t		prev_top;
} FibSeries;

/*
 * fib_series_check refuses an endpoint as fib() refuses its n, with the
 * same errors: every n of the run lies between the two endpoints, so none
 * has a larger |n| than both.
 */
static void
fib_series_check(int64 n)
{
	pg_fib_check_max_n(n);
	pg_fib_check_numeric_range(n);
}

/*
 * fib_series_compute writes F(k) into buf, right-aligned to end at index
 * size - 1, on GMP in an arena of its own, and returns the index of its
 * leading digit.  The computation and the conversion check for interrupts
 * between their steps, and count as one inline computation.
 */
static size_t
fib_series_compute(FibDigit *buf, size_t size, uint64 k)
{
	MemoryContext scratch = AllocSetContextCreate(CurrentMemoryContext,
												  "pg_fib series seed",
												  ALLOCSET_DEFAULT_SIZES);
	MemoryContext caller = MemoryContextSwitchTo(scratch);
	FibDigit   *digits;
	size_t		ndigits;
	double		elapsed_ms;

	digits = pg_fib_compute_digits((int64) k, &ndigits, NULL, NULL, NULL, &elapsed_ms);
	pg_fib_count_inline(elapsed_ms);
	if (ndigits > size - 1)
		elog(ERROR, "F(" UINT64_FORMAT ") has %zu base-10000 digits, more than the %zu expected",
			 k, ndigits, size - 1);
	memcpy(buf + size - ndigits, digits, ndigits * sizeof(FibDigit));
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(scratch);
	return size - ndigits;
}

/*
 * fib_series_seed writes |F(k)| into buf as fib_series_compute does, and
 * returns the index of its leading digit.  Like fib(), it takes F(k) from
 * the memo when k is worth a memo row and the memo has it, and otherwise
 * computes it and asks the keeper to memoize it.  The memo of the schema
 * of function funcid is read.
 */
static size_t
fib_series_seed(FibDigit *buf, size_t size, uint64 k, Oid funcid)
{
	size_t		top = size;
	size_t		ndigits;
	FibDigit   *digits;

	if (k <= PG_FIB_INT64_MAX_N)
	{
		uint64		value = pg_fib_small(k);

		do
		{
			buf[--top] = (FibDigit) (value % 10000);
			value /= 10000;
		} while (value != 0);
		return top;
	}
	if (k < (uint64) pg_fib_memo_min_n)
		return fib_series_compute(buf, size, k);

	digits = pg_fib_memo_read(get_func_namespace(funcid), k, &ndigits);
	if (digits != NULL && ndigits <= size - 1)
	{
		memcpy(buf + size - ndigits, digits, ndigits * sizeof(FibDigit));
		return size - ndigits;
	}
	top = fib_series_compute(buf, size, k);
	pg_fib_post_memoize(k);
	return top;
}

/*
 * fib_series_begin returns the state of the run first .. last (first <=
 * last, both checked), allocated in the current memory context, with
 * |F(first)| and |F(first - 1)| in place.
 */
static FibSeries *
fib_series_begin(int64 first, int64 last, Oid funcid)
{
	FibSeries  *series = palloc0(sizeof(FibSeries));
	uint64		k = pg_fib_abs(first);
	uint64		largest;
	double		decimal;

	/*
	 * The largest magnitude the run holds: |F(last)| going up, |F(first -
	 * 1)| = F(|first| + 1) going down.  pg_fib_decimal_digits may be one
	 * short near a power of ten; one more digit is a zero on the left,
	 * where each addition also needs one.
	 */
	largest = Max(k + 1, last > 0 ? (uint64) last : 0);
	decimal = pg_fib_decimal_digits(largest) + 1;
	series->size = TYPEALIGN(8, (size_t) ceil(decimal / 4) + 1);
	series->cur = palloc0((series->size + FIB_SERIES_PADDING) * sizeof(FibDigit));
	series->prev = palloc0((series->size + FIB_SERIES_PADDING) * sizeof(FibDigit));
	series->n = first;
	series->last = last;

	if (first == 0)
	{
		/* F(0) = 0 and |F(-1)| = 1 */
		series->cur_top = series->prev_top = series->size - 1;
		series->prev[series->size - 1] = 1;
		return series;
	}

	/* |F(first)| = F(k), and F(k - 1) next to it */
	series->cur_top = fib_series_seed(series->cur, series->size, k, funcid);
	series->prev_top = fib_series_seed(series->prev, series->size, k - 1, funcid);
	if (first < 0)
	{
		/* |F(first - 1)| = F(k + 1) = F(k) + F(k - 1) */
		size_t		top = Min(series->cur_top, series->prev_top) - 1;

		pg_fib_digits_add(series->prev, series->cur, top & ~(size_t) 7, series->size);
		series->prev_top = series->prev[top] != 0 ? top : top + 1;
	}
	return series;
}

/*
 * fib_series_step moves the run from n to n + 1: the new magnitude
 * overwrites |F(n - 1)|, which then becomes |F(n + 1)|, and |F(n)| becomes
 * the previous one.
 */
static void
fib_series_step(FibSeries *series)
{
	FibDigit   *next = series->prev;
	size_t		top = Min(series->cur_top, series->prev_top) - 1;
	size_t		start = top & ~(size_t) 7;

	if (series->n >= 0)
	{
		/* |F(n + 1)| = |F(n)| + |F(n - 1)|: one digit more at most */
		pg_fib_digits_add(next, series->cur, start, series->size);
		if (next[top] == 0)
			top++;
	}
	else
	{
		/* |F(n + 1)| = |F(n - 1)| - |F(n)|: as many digits or fewer */
		pg_fib_digits_subtract(next, series->cur, start, series->size);
		top = series->prev_top;
		while (top < series->size - 1 && next[top] == 0)
			top++;
	}

	series->prev = series->cur;
	series->prev_top = series->cur_top;
	series->cur = next;
	series->cur_top = top;
	series->n++;
}

/*
 * pg_fib_fib_series_values implements fib_series_values(first bigint, last
 * bigint) RETURNS SETOF numeric: F(first), ..., F(last), one per call,
 * nothing when first > last.  The endpoints are refused as fib() refuses
 * its n, before anything is computed.
 */
Datum
pg_fib_fib_series_values(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	FibSeries  *series;
	Numeric		result;

	CHECK_FOR_INTERRUPTS();

	if (SRF_IS_FIRSTCALL())
	{
		int64		first = PG_GETARG_INT64(0);
		int64		last = PG_GETARG_INT64(1);
		MemoryContext caller;

		funcctx = SRF_FIRSTCALL_INIT();
		if (first <= last)
		{
			fib_series_check(first);
			fib_series_check(last);
			caller = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
			funcctx->user_fctx = fib_series_begin(first, last, fcinfo->flinfo->fn_oid);
			MemoryContextSwitchTo(caller);
		}
	}

	funcctx = SRF_PERCALL_SETUP();
	series = (FibSeries *) funcctx->user_fctx;
	if (series == NULL)
		SRF_RETURN_DONE(funcctx);
	if (series->started)
	{
		if (series->n == series->last)
			SRF_RETURN_DONE(funcctx);
		fib_series_step(series);
	}
	series->started = true;

	result = pg_fib_digits_to_numeric(series->cur + series->cur_top,
									  series->size - series->cur_top,
									  pg_fib_fib_is_negative(series->n));
	SRF_RETURN_NEXT(funcctx, NumericGetDatum(result));
}

/*
 * pg_fib_fib_series_support is the planner support function of
 * fib_series_values() and fib_series(): given constant endpoints (or
 * parameters of a custom plan) it tells the planner the exact number of
 * rows, last - first + 1, where it would otherwise assume the declared
 * ROWS.
 */
Datum
pg_fib_fib_series_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	SupportRequestRows *req;
	List	   *args;
	Node	   *first;
	Node	   *last;

	if (!IsA(rawreq, SupportRequestRows))
		PG_RETURN_POINTER(NULL);
	req = (SupportRequestRows *) rawreq;
	if (!is_funcclause(req->node))
		PG_RETURN_POINTER(NULL);
	args = ((FuncExpr *) req->node)->args;
	if (list_length(args) != 2)
		PG_RETURN_POINTER(NULL);

	first = estimate_expression_value(req->root, (Node *) linitial(args));
	last = estimate_expression_value(req->root, (Node *) lsecond(args));
	if (!IsA(first, Const) || !IsA(last, Const))
		PG_RETURN_POINTER(NULL);

	if (((Const *) first)->constisnull || ((Const *) last)->constisnull)
		req->rows = 0;			/* STRICT: no rows */
	else
	{
		int64		from = DatumGetInt64(((Const *) first)->constvalue);
		int64		to = DatumGetInt64(((Const *) last)->constvalue);

		req->rows = from > to ? 0 : (double) to - (double) from + 1;
	}
	PG_RETURN_POINTER(req);
}
