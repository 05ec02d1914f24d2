/*-------------------------------------------------------------------------
 *
 * jobfuncs.c
 *	  The SQL-callable functions fib_text(), fib_request(), fib_status()
 *	  and fib_wait().
 *
 * fib_text(n) answers from the memo, or computes F(n) inline when |n| is at
 * most pg_fib.sync_max_n.  Larger n go to the queue: fib_request(n) has the
 * keeper commit a job (see shmem.c), fib_status(n) reports it, and
 * fib_wait(n) sleeps on a condition variable that the compute workers
 * broadcast when a job ends.  Job rows are read with the latest snapshot,
 * so that a caller sees a job end even inside a REPEATABLE READ
 * transaction.
 *
 * IDENTIFICATION
 *	  pg_fib/jobfuncs.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "pg_fib.h"

PG_FUNCTION_INFO_V1(pg_fib_fib_text);
PG_FUNCTION_INFO_V1(pg_fib_fib_request);
PG_FUNCTION_INFO_V1(pg_fib_fib_status);
PG_FUNCTION_INFO_V1(pg_fib_fib_wait);
PG_FUNCTION_INFO_V1(pg_fib_worker_pids);
PG_FUNCTION_INFO_V1(pg_fib_wake_workers_sql);

/* The columns of the fib_job type. */
#define FIB_JOB_NATTS 9

/* One fib_job row, and whether the memo holds its value. */
typedef struct FibJobRow
{
	Datum		values[FIB_JOB_NATTS];
	bool		nulls[FIB_JOB_NATTS];
	bool		memoized;
} FibJobRow;

/*
 * fib_inline_digits returns the decimal digits of |F(absn)| for the
 * n computed inline: exactly from the value up to F(92), by
 * pg_fib_decimal_digits beyond (exact well past pg_fib.sync_max_n).
 */
static int64
fib_inline_digits(uint64 absn)
{
	uint64		a;
	int64		digits = 1;

	if (absn > PG_FIB_INT64_MAX_N)
		return (int64) pg_fib_decimal_digits(absn);
	for (a = pg_fib_small(absn); a >= 10;)
	{
		a /= 10;
		digits++;
	}
	return digits;
}

/*
 * fib_done_row fills row for an F(n) that needs no job: computed inline.
 */
static void
fib_done_row(FibJobRow *row, int64 n)
{
	memset(row->nulls, true, sizeof(row->nulls));
	row->memoized = false;
	row->values[0] = Int64GetDatum(n);
	row->nulls[0] = false;
	row->values[1] = CStringGetTextDatum("done");
	row->nulls[1] = false;
	row->values[2] = Float8GetDatum(1.0);
	row->nulls[2] = false;
	row->values[3] = Int64GetDatum(fib_inline_digits(pg_fib_abs(n)));
	row->nulls[3] = false;
}

/*
 * fib_read_job reads the job of F(|n|), or failing one its memo row, with
 * the latest snapshot, into row (allocated in the current memory context).
 * A running job's progress comes from its worker.  Returns false when there
 * is neither.
 */
static bool
fib_read_job(Oid namespace, int64 n, FibJobRow *row)
{
	static FibCachedPlan read_job = {NULL, InvalidOid};
	MemoryContext caller_context = CurrentMemoryContext;
	uint64		absn = pg_fib_abs(n);
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		args[2];
	SPIPlanPtr	plan;
	bool		found = false;
	bool		isnull;
	int			ret;

	SPI_connect();
	plan = pg_fib_cached_plan(&read_job, namespace,
							  "SELECT $2, state, progress, digits, requested_at,"
							  " started_at, finished_at, compute_ms, error,"
							  " EXISTS (SELECT FROM %1$s.fib_memo m WHERE m.n = $1)"
							  " FROM %1$s.fib_jobs WHERE n = $1"
							  " UNION ALL"
							  " SELECT $2, 'done', 1, digits, NULL, NULL, computed_at,"
							  " compute_ms, NULL, true FROM %1$s.fib_memo m WHERE n = $1"
							  " AND NOT EXISTS (SELECT FROM %1$s.fib_jobs j WHERE j.n = $1)",
							  2, types);
	args[0] = Int64GetDatum((int64) absn);
	args[1] = Int64GetDatum(n);
	ret = SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(),
							   InvalidSnapshot, true, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 1)
	{
		TupleDesc	tupdesc = SPI_tuptable->tupdesc;
		int			i;

		for (i = 0; i < FIB_JOB_NATTS; i++)
		{
			Datum		value = SPI_getbinval(SPI_tuptable->vals[0], tupdesc, i + 1,
											  &row->nulls[i]);
			Form_pg_attribute att = TupleDescAttr(tupdesc, i);
			MemoryContext spi_context = MemoryContextSwitchTo(caller_context);

			row->values[i] = row->nulls[i] ? (Datum) 0 :
				datumCopy(value, att->attbyval, att->attlen);
			MemoryContextSwitchTo(spi_context);
		}
		row->memoized = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], tupdesc,
												   FIB_JOB_NATTS + 1, &isnull));
		found = true;
	}
	SPI_finish();

	if (found && !row->nulls[1])
	{
		char	   *state = TextDatumGetCString(row->values[1]);
		double		progress;

		if (strcmp(state, "running") == 0 && pg_fib_running_progress(absn, &progress))
			row->values[2] = Float8GetDatum(progress);
	}
	return found;
}

/* fib_job_state returns the state of a job row, as a C string. */
static char *
fib_job_state(FibJobRow *row)
{
	return TextDatumGetCString(row->values[1]);
}

/* fib_job_finished tells whether a job row is done or failed. */
static bool
fib_job_finished(FibJobRow *row)
{
	char	   *state = fib_job_state(row);

	return strcmp(state, "done") == 0 || strcmp(state, "failed") == 0;
}

/* fib_row_datum returns row as a datum of the function's fib_job type. */
static Datum
fib_row_datum(FunctionCallInfo fcinfo, FibJobRow *row)
{
	TupleDesc	tupdesc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, row->values, row->nulls));
}

/*
 * fib_request_row makes sure F(n) is, or will be, in the memo, and fills
 * row with its job: shared by fib_request() and fib_wait(), whose deadline
 * (0 for none) bounds the wait for the keeper.  A failed job, and a done
 * one whose memo row was deleted, are queued again.
 */
static void
fib_request_row(Oid namespace, int64 n, FibJobRow *row, TimestampTz deadline)
{
	uint64		absn = pg_fib_abs(n);

	pg_fib_check_max_n(n);
	if (absn <= (uint64) pg_fib_sync_max_n)
	{
		fib_done_row(row, n);
		return;
	}
	if (fib_read_job(namespace, n, row))
	{
		char	   *state = fib_job_state(row);

		if (strcmp(state, "failed") != 0 &&
			(strcmp(state, "done") != 0 || row->memoized))
			return;
	}

	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot queue F(" INT64_FORMAT ") during recovery", n),
				 errdetail("A hot standby has no pg_fib workers; it reads the memo its primary writes."),
				 errhint("Call fib_request(n) on the primary.")));
	if (!pg_fib_is_queue_database())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_fib queues jobs only in database \"%s\"", pg_fib_database),
				 errdetail("The keeper and the workers that write the queue and the memo work in the database named by \"pg_fib.database\"."),
				 errhint("Connect to database \"%s\", or set \"pg_fib.database\" and restart the server.",
						 pg_fib_database)));

	pg_fib_post_request(absn, deadline);
	if (!fib_read_job(namespace, n, row))
		elog(ERROR, "the job of F(" UINT64_FORMAT ") was not found after it was queued", absn);
}

/*
 * Beyond this many bits (about 3 * 10^6 digits, F(1.4 * 10^7)) one
 * mpz_get_str call would take more than about 0.2 s, too long to leave a
 * cancel waiting: a superuser may raise pg_fib.sync_max_n that far.
 */
#define FIB_INLINE_GET_STR_MAX_BITS		10000000

/*
 * fib_text_datum converts a computed F(n) to fib_text()'s result: by one
 * mpz_get_str call, the fastest way, or by the interruptible conversion of
 * the workers for a value so large that mpz_get_str could hold off a cancel.
 */
static Datum
fib_text_datum(const mpz_t value)
{
	size_t		ndigits;
	FibDigit   *digits;

	if (mpz_sizeinbase(value, 2) <= FIB_INLINE_GET_STR_MAX_BITS)
		return PointerGetDatum(pg_fib_mpz_to_text(value));
	digits = pg_fib_mpz_to_digits(value, &ndigits, NULL, NULL);
	return PointerGetDatum(pg_fib_digits_to_text(digits, ndigits, mpz_sgn(value) < 0));
}

/*
 * pg_fib_fib_text implements fib_text(n bigint) RETURNS text.
 */
Datum
pg_fib_fib_text(PG_FUNCTION_ARGS)
{
	int64		n = PG_GETARG_INT64(0);
	size_t		ndigits;
	FibDigit   *digits;

	pg_fib_check_max_n(n);

	digits = pg_fib_memo_or_inline(get_func_namespace(fcinfo->flinfo->fn_oid), n, &ndigits);
	if (digits != NULL)
		PG_RETURN_TEXT_P(pg_fib_digits_to_text(digits, ndigits,
											   pg_fib_fib_is_negative(n)));
	PG_RETURN_DATUM(pg_fib_compute_datum(n, fib_text_datum));
}

/*
 * pg_fib_fib_request implements fib_request(n bigint) RETURNS fib_job.
 */
Datum
pg_fib_fib_request(PG_FUNCTION_ARGS)
{
	FibJobRow	row;

	fib_request_row(get_func_namespace(fcinfo->flinfo->fn_oid), PG_GETARG_INT64(0), &row, 0);
	PG_RETURN_DATUM(fib_row_datum(fcinfo, &row));
}

/*
 * pg_fib_fib_status implements fib_status(n bigint) RETURNS fib_job: NULL
 * when F(n) was never requested nor memoized and is not computed inline.
 */
Datum
pg_fib_fib_status(PG_FUNCTION_ARGS)
{
	int64		n = PG_GETARG_INT64(0);
	FibJobRow	row;

	pg_fib_check_max_n(n);
	if (pg_fib_abs(n) <= (uint64) pg_fib_sync_max_n)
		fib_done_row(&row, n);
	else if (!fib_read_job(get_func_namespace(fcinfo->flinfo->fn_oid), n, &row))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(fib_row_datum(fcinfo, &row));
}

/*
 * pg_fib_fib_wait implements fib_wait(n bigint, timeout interval) RETURNS
 * fib_job: it requests F(n) if needed and sleeps until its job is done or
 * failed, or the timeout passes; then returns the job as it stands.
 */
Datum
pg_fib_fib_wait(PG_FUNCTION_ARGS)
{
	int64		n = PG_GETARG_INT64(0);
	Interval   *timeout = PG_GETARG_INTERVAL_P(1);
	Oid			namespace = get_func_namespace(fcinfo->flinfo->fn_oid);
	double		timeout_us;
	TimestampTz deadline;
	FibJobRow	row;
	ConditionVariable *cv;

	timeout_us = (double) timeout->time +
		((double) timeout->day + (double) timeout->month * DAYS_PER_MONTH) * USECS_PER_DAY;
	if (timeout_us < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must not be negative"),
				 errdetail("fib_wait(n, timeout) waits at most timeout for the job of F(n) to end."),
				 errhint("Pass a timeout of zero or more, such as '30 seconds'.")));
	deadline = GetCurrentTimestamp() + (TimestampTz) Min(timeout_us, (double) PG_INT64_MAX / 2);

	fib_request_row(namespace, n, &row, deadline);
	if (fib_job_finished(&row))
		PG_RETURN_DATUM(fib_row_datum(fcinfo, &row));

	/*
	 * Prepare to sleep before reading the job again, so that a job ending
	 * between the read and the sleep still wakes us.
	 */
	cv = pg_fib_jobs_cv();
	ConditionVariablePrepareToSleep(cv);
	for (;;)
	{
		long		remaining_ms;

		if (!fib_read_job(namespace, n, &row))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the job of F(" INT64_FORMAT ") was deleted while waiting for it", n),
					 errhint("fib_maintain() may have evicted it; call fib_wait(n) again.")));
		if (fib_job_finished(&row))
			break;
		remaining_ms = (long) ((deadline - GetCurrentTimestamp()) / 1000);
		if (remaining_ms <= 0)
			break;
		(void) ConditionVariableTimedSleep(cv, Min(remaining_ms, 1000), PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	PG_RETURN_DATUM(fib_row_datum(fcinfo, &row));
}

/*
 * pg_fib_worker_pids implements fib_worker_pids() RETURNS integer[]: the
 * process ids of the compute workers running now, from shared memory, for
 * fib_requeue_orphans().  Unlike pg_stat_activity it shows them to any
 * role.
 */
Datum
pg_fib_worker_pids(PG_FUNCTION_ARGS)
{
	int			pids[PG_FIB_MAX_WORKERS];
	Datum		elems[PG_FIB_MAX_WORKERS];
	int			count = pg_fib_running_workers(pids);
	int			i;

	for (i = 0; i < count; i++)
		elems[i] = Int32GetDatum(pids[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, count, INT4OID, sizeof(int32),
										  true, TYPALIGN_INT));
}

/*
 * pg_fib_wake_workers_sql implements fib_wake_workers(): it sets the latch
 * of every idle compute worker, after fib_requeue_orphans() queued jobs.
 */
Datum
pg_fib_wake_workers_sql(PG_FUNCTION_ARGS)
{
	pg_fib_wake_workers();
	PG_RETURN_VOID();
}
