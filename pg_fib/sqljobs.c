/*-------------------------------------------------------------------------
 *
 * sqljobs.c
 *	  The SQL-callable functions fib_text(), fib_request(), fib_status(),
 *	  fib_wait(), fib_maintain() and fib_schedule_maintenance(), and the
 *	  restore trigger.
 *
 * fib_text(n) answers from the memo, or computes F(n) inline when |n| is at
 * most pg_fib.sync_max_n.  Larger n go to the queue: fib_request(n) has the
 * keeper commit a job (see queuerequest.c), fib_request(n, requester) one for a
 * requester within the calling role, fib_status(n) reports it, and
 * fib_wait(n) sleeps until a compute worker says it ended.  They read the
 * tables by identity with a fresh snapshot and release their locks at once
 * (queuememo.c), so a caller sees a job end even inside a REPEATABLE READ
 * transaction, needs no privilege on the tables, and holds no lock while
 * it sleeps.
 *
 * IDENTIFICATION
 *	  pg_fib/sqljobs.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "sqlfuncs.h"
#include "queue.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(pg_fib_fib_text);
PG_FUNCTION_INFO_V1(pg_fib_fib_request);
PG_FUNCTION_INFO_V1(pg_fib_fib_request_for);
PG_FUNCTION_INFO_V1(pg_fib_fib_status);
PG_FUNCTION_INFO_V1(pg_fib_fib_wait);
PG_FUNCTION_INFO_V1(pg_fib_maintain);
PG_FUNCTION_INFO_V1(pg_fib_schedule_maintenance);
PG_FUNCTION_INFO_V1(pg_fib_restore_row);
PG_FUNCTION_INFO_V1(pg_fib_counters);
PG_FUNCTION_INFO_V1(pg_fib_worker_pids);
PG_FUNCTION_INFO_V1(pg_fib_wake_workers_sql);

/* fib_wait() gives the keeper at least this long to take a request in. */
#define FIB_WAIT_MIN_ANSWER_MS	1000

/* fib_namespace is the schema of the SQL function being called: pg_fib's. */
static Oid
fib_namespace(FunctionCallInfo fcinfo)
{
	return get_func_namespace(fcinfo->flinfo->fn_oid);
}

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
 * fib_sync_row fills row for an F(n) that needs no job, |n| <=
 * pg_fib.sync_max_n: the memo's row when it has one (finished_at set),
 * otherwise a done row of a value computed inline (finished_at NULL).
 */
static void
fib_sync_row(Oid namespace, int64 n, FibJobRow *row)
{
	if (pg_fib_abs(n) >= (uint64) pg_fib_memo_min_n &&
		pg_fib_memo_job_read(namespace, n, row))
		return;
	pg_fib_done_row(row, n, fib_inline_digits(pg_fib_abs(n)));
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
 * fib_row_is_final tells whether a job row needs no request: done with its
 * value in the memo, or still on its way (queued or running).  A failed
 * job, and a done one whose memo row was deleted, are queued again.
 */
static bool
fib_row_is_final(const FibJobRow *row)
{
	return (row->state == FIB_JOB_DONE && row->memoized) ||
		row->state == FIB_JOB_QUEUED || row->state == FIB_JOB_RUNNING;
}

/* fib_check_can_queue refuses a request where no keeper can take it. */
static void
fib_check_can_queue(uint64 absn)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot queue F(" UINT64_FORMAT ") during recovery", absn),
				 errdetail("A hot standby has no pg_fib workers; it reads the memo its primary writes."),
				 errhint("Call fib_request(n) on the primary.")));
	if (!pg_fib_is_queue_database())
		pg_fib_report_wrong_database(absn);
}

/* fib_read_after_request reads the job the keeper just wrote. */
static void
fib_read_after_request(Oid namespace, int64 n, FibJobRow *row)
{
	if (!pg_fib_job_read(namespace, n, row))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the job of F(" INT64_FORMAT ") was deleted before it could be read", n),
				 errhint("fib_maintain() may have evicted it; ask for F(n) again.")));
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
fib_text_datum(const mpz_t value, void *arg)
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

	digits = pg_fib_memo_or_inline(fib_namespace(fcinfo), n, &ndigits);
	if (digits != NULL)
		PG_RETURN_TEXT_P(pg_fib_digits_to_text(digits, ndigits,
											   pg_fib_fib_is_negative(n)));
	PG_RETURN_DATUM(pg_fib_compute_datum(n, fib_text_datum));
}

/*
 * fib_request_row makes sure F(n) is, or will be, in the memo, requested
 * for requester (NULL: the role as a whole), and fills row with its job.
 * A job already on its way or done is answered as it stands, whoever
 * requested it: it counts against no one else's share.
 */
static void
fib_request_row(FunctionCallInfo fcinfo, int64 n, const char *requester, FibJobRow *row)
{
	Oid			namespace = fib_namespace(fcinfo);

	if (pg_fib_abs(n) <= (uint64) pg_fib_sync_max_n)
		fib_sync_row(namespace, n, row);
	else if (!pg_fib_job_read(namespace, n, row) || !fib_row_is_final(row))
	{
		fib_check_can_queue(pg_fib_abs(n));
		(void) pg_fib_request(pg_fib_abs(n), requester);
		fib_read_after_request(namespace, n, row);
	}
}

/*
 * pg_fib_fib_request implements fib_request(n bigint) RETURNS fib_job: it
 * makes sure F(n) is, or will be, in the memo, and returns its job.
 */
Datum
pg_fib_fib_request(PG_FUNCTION_ARGS)
{
	int64		n = PG_GETARG_INT64(0);
	FibJobRow	row;

	pg_fib_check_max_n(n);
	fib_request_row(fcinfo, n, NULL, &row);
	PG_RETURN_DATUM(fib_row_datum(fcinfo, &row));
}

/*
 * fib_check_requester refuses a requester key that is not 1 to
 * PG_FIB_REQUESTER_MAX printable ASCII characters other than space: keys
 * name clients in the queue, in messages and in logs, so they can hold
 * nothing that could be mistaken for something else there.
 */
static void
fib_check_requester(text *requester)
{
	const unsigned char *key = (const unsigned char *) VARDATA_ANY(requester);
	int			len = VARSIZE_ANY_EXHDR(requester);
	int			i;

	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("requester must not be empty"),
				 errdetail("A requester is a key of 1 to %d printable ASCII characters that names a client of the calling role.",
						   PG_FIB_REQUESTER_MAX),
				 errhint("Pass a key such as 'ip:203.0.113.7', or call fib_request(n) to request F(n) for the role as a whole.")));
	if (len > PG_FIB_REQUESTER_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("requester is too long"),
				 errdetail("The requester has %d bytes; a requester has at most %d.",
						   len, PG_FIB_REQUESTER_MAX),
				 errhint("Derive a shorter key from the client, such as 'net:2001:db8::/64'.")));
	for (i = 0; i < len; i++)
	{
		if (key[i] < '!' || key[i] > '~')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("requester contains a character that is not printable ASCII"),
					 errdetail("Byte %d of the requester is 0x%02X; a requester has only the characters from '!' to '~', without spaces.",
							   i + 1, key[i]),
					 errhint("Derive the key from the client's address, such as 'ip:203.0.113.7'.")));
	}
}

/*
 * pg_fib_fib_request_for implements fib_request(n bigint, requester text)
 * RETURNS fib_job: fib_request(n) for a requester of the calling role,
 * which has its own share of the role's (pg_fib.max_queued_per_requester)
 * and its own turn in the workers' claim.  NULL n gives NULL, as
 * fib_request(n) does; a NULL or invalid requester is refused before
 * anything is queued.
 */
Datum
pg_fib_fib_request_for(PG_FUNCTION_ARGS)
{
	int64		n;
	text	   *requester;
	FibJobRow	row;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	n = PG_GETARG_INT64(0);
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("requester must not be null"),
				 errhint("Call fib_request(n) to request F(n) for the role as a whole.")));
	requester = PG_GETARG_TEXT_PP(1);

	pg_fib_check_max_n(n);
	fib_check_requester(requester);
	fib_request_row(fcinfo, n, text_to_cstring(requester), &row);
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
	Oid			namespace = fib_namespace(fcinfo);
	FibJobRow	row;

	pg_fib_check_max_n(n);
	if (pg_fib_abs(n) <= (uint64) pg_fib_sync_max_n)
		fib_sync_row(namespace, n, &row);
	else if (!pg_fib_job_read(namespace, n, &row))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(fib_row_datum(fcinfo, &row));
}

/*
 * fib_check_can_wait releases the locks of pg_fib's own reads in this
 * transaction, then refuses to sleep in one that still holds a lock on
 * pg_fib's tables, taken by its own statements: a VACUUM FULL or DROP
 * EXTENSION would queue behind it, and every reader and the workers storing
 * results behind that.
 */
static void
fib_check_can_wait(Oid namespace)
{
	const char *table;

	pg_fib_release_read_locks();
	table = pg_fib_table_locked_by_me(namespace);

	if (table != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("fib_wait() cannot wait while this transaction holds a lock on table \"%s\"", table),
				 errdetail("Waiting with the lock would hold up VACUUM FULL and DROP EXTENSION, and the workers storing results behind them."),
				 errhint("Call fib_wait() in a transaction that has not read pg_fib's tables itself, or call fib_request() and fib_status(), which do not wait.")));
}

/* What fib_wait's read_state callback reads with. */
typedef struct FibWaitRead
{
	Oid			namespace;
	int64		n;
	FibJobRow  *row;
} FibWaitRead;

/* fib_wait_read_state reads how the awaited job stands. */
static FibJobState
fib_wait_read_state(uint64 absn, void *arg)
{
	FibWaitRead *read = (FibWaitRead *) arg;

	if (!pg_fib_job_read(read->namespace, read->n, read->row))
		return FIB_JOB_NONE;
	return read->row->state;
}

/*
 * pg_fib_fib_wait implements fib_wait(n bigint, timeout interval) RETURNS
 * fib_job: it requests F(n) if needed and sleeps until its job is done or
 * failed, or the timeout passes; then returns the job as it stands.  The
 * keeper gets at least FIB_WAIT_MIN_ANSWER_MS to take the request in, so
 * that a zero timeout still queues the job.
 */
Datum
pg_fib_fib_wait(PG_FUNCTION_ARGS)
{
	int64		n = PG_GETARG_INT64(0);
	Interval   *timeout = PG_GETARG_INTERVAL_P(1);
	Oid			namespace = fib_namespace(fcinfo);
	uint64		absn = pg_fib_abs(n);
	double		timeout_us;
	TimestampTz now;
	TimestampTz deadline;
	FibJobRow	row;
	FibWaitRead read = {namespace, n, &row};

	timeout_us = (double) timeout->time +
		((double) timeout->day + (double) timeout->month * DAYS_PER_MONTH) * USECS_PER_DAY;
	if (timeout_us < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must not be negative"),
				 errdetail("fib_wait(n, timeout) waits at most timeout for the job of F(n) to end."),
				 errhint("Pass a timeout of zero or more, such as '30 seconds'.")));
	now = GetCurrentTimestamp();
	deadline = now + (TimestampTz) Min(timeout_us, (double) PG_INT64_MAX / 4);

	pg_fib_check_max_n(n);
	if (absn <= (uint64) pg_fib_sync_max_n)
	{
		fib_sync_row(namespace, n, &row);
		PG_RETURN_DATUM(fib_row_datum(fcinfo, &row));
	}
	if (pg_fib_job_read(namespace, n, &row) && row.state == FIB_JOB_DONE && row.memoized)
		PG_RETURN_DATUM(fib_row_datum(fcinfo, &row));

	fib_check_can_wait(namespace);
	fib_check_can_queue(absn);
	(void) pg_fib_request_and_wait(absn,
								   Max(deadline, TimestampTzPlusMilliseconds(now, FIB_WAIT_MIN_ANSWER_MS)),
								   deadline, fib_wait_read_state, &read);
	if (!pg_fib_job_read(namespace, n, &row))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the job of F(" INT64_FORMAT ") was deleted while waiting for it", n),
				 errhint("fib_maintain() may have evicted it; call fib_wait(n) again.")));
	PG_RETURN_DATUM(fib_row_datum(fcinfo, &row));
}

/*
 * pg_fib_maintain implements fib_maintain(): requeues orphaned jobs, purges
 * jobs that ended longer ago than pg_fib.job_retention, and keeps the memo
 * within pg_fib.memo_max_size (the keeper also does the first and the last
 * by itself).  SECURITY DEFINER: it runs the statements of queuejobs.c as the
 * extension's owner, in pg_fib's schema found by identity, and refuses a
 * schema whose owner is not a superuser.
 */
Datum
pg_fib_maintain(PG_FUNCTION_ARGS)
{
	FibSchema	schema;
	FibEndedJobs ended = {0};
	int			innocent[4 * PG_FIB_MAX_WORKERS];
	int			ninnocent = pg_fib_read_quit_markers(innocent, lengthof(innocent));
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	int64		memo_bytes;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	pg_fib_schema_of(fib_namespace(fcinfo), &schema);

	SPI_connect();
	values[0] = Int32GetDatum(pg_fib_jobs_requeue_orphans(&schema, innocent, ninnocent, &ended));
	values[1] = Int32GetDatum(pg_fib_jobs_purge(&schema));
	values[2] = Int32GetDatum(pg_fib_jobs_evict(&schema, (int64) pg_fib_memo_max_size * 1024,
												&memo_bytes));
	values[3] = Int64GetDatum(memo_bytes);
	SPI_finish();

	pg_fib_notify_ended(&ended);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * The command fib_schedule_maintenance() registers with pg_cron.  pg_cron
 * runs it as the superuser who scheduled it, with pg_cron's search_path, as
 * long as the job exists: so it names nothing that anyone else could
 * replace (every name is pg_catalog's, every operator qualified).  It finds
 * pg_fib's schema by identity at each run, so that a renamed schema keeps
 * its upkeep, and calls fib_maintain() there only while a superuser owns
 * the schema: its owner could otherwise rename it and make a schema of the
 * old name with a fib_maintain() of its own (queuejobs.c refuses the same
 * schemas to the keeper and the workers).
 */
static const char fib_maintenance_command[] =
"DO $pg_fib$\n"
"DECLARE\n"
"    schema pg_catalog.name;\n"
"    owner pg_catalog.name;\n"
"    safe boolean;\n"
"BEGIN\n"
"    SELECT n.nspname, r.rolname, r.rolsuper INTO schema, owner, safe\n"
"      FROM pg_catalog.pg_extension e\n"
"      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace\n"
"      JOIN pg_catalog.pg_database d ON d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()\n"
"      JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=)\n"
"           CASE WHEN n.nspowner OPERATOR(pg_catalog.=) 'pg_database_owner'::pg_catalog.regrole\n"
"                THEN d.datdba ELSE n.nspowner END\n"
"     WHERE e.extname OPERATOR(pg_catalog.=) 'pg_fib';\n"
"    IF schema IS NULL THEN\n"
"        RAISE EXCEPTION 'extension \"pg_fib\" is not installed in database \"%\"', pg_catalog.current_database()\n"
"            USING ERRCODE = 'undefined_object',\n"
"                  HINT = 'Remove this job with cron.unschedule(''pg_fib maintenance'').';\n"
"    ELSIF NOT safe THEN\n"
"        RAISE EXCEPTION '" PG_FIB_UNSAFE_SCHEMA_MESSAGE "'\n"
"            USING ERRCODE = 'object_not_in_prerequisite_state',\n"
"                  DETAIL = pg_catalog.format('Schema %I is owned by role %I, who could replace what this job runs as a superuser there.', schema, owner),\n"
"                  HINT = '" PG_FIB_UNSAFE_SCHEMA_HINT "';\n"
"    END IF;\n"
"    EXECUTE pg_catalog.format('SELECT %I.fib_maintain()', schema);\n"
"END\n"
"$pg_fib$";

/*
 * pg_fib_schedule_maintenance implements fib_schedule_maintenance(schedule
 * text) RETURNS bigint: registers fib_maintenance_command with pg_cron as
 * the job "pg_fib maintenance" of this database, replacing an earlier one,
 * and returns its job id.  Refuses a schema not owned by a superuser, whose
 * owner could replace what the job would run.
 */
Datum
pg_fib_schedule_maintenance(PG_FUNCTION_ARGS)
{
	Oid			cron = get_extension_oid("pg_cron", true);
	Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[4];
	bool		isnull;
	int64		jobid;
	int			ret;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("schedule must not be null"),
				 errhint("Pass a pg_cron schedule, such as '* * * * *' for every minute.")));
	pg_fib_check_schema_owner(fib_namespace(fcinfo));
	if (!OidIsValid(cron))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_cron is not installed in database \"%s\"", get_database_name(MyDatabaseId)),
				 errdetail("fib_schedule_maintenance() registers fib_maintain() as a pg_cron job."),
				 errhint("Add pg_cron to shared_preload_libraries and run CREATE EXTENSION pg_cron in the database named by cron.database_name, or call fib_maintain() from another scheduler.")));

	values[0] = CStringGetTextDatum("pg_fib maintenance");
	values[1] = PG_GETARG_DATUM(0);
	values[2] = CStringGetTextDatum(fib_maintenance_command);
	values[3] = CStringGetTextDatum(get_database_name(MyDatabaseId));
	SPI_connect();
	/* pg_cron's own script creates its schema "cron": only a superuser's */
	ret = SPI_execute_with_args("SELECT cron.schedule_in_database($1, $2, $3, $4)",
								4, types, values, NULL, false, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not schedule pg_fib maintenance: %s", SPI_result_code_string(ret));
	jobid = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	PG_RETURN_INT64(jobid);
}

/*
 * pg_fib_restore_row implements fib_restore_row(), the BEFORE INSERT
 * trigger of fib_memo and fib_jobs.  A row inserted by anyone but pg_fib's
 * own workers replaces the row of the same n: so a restore into a running
 * server (pg_restore's COPY) wins over what the keeper and the workers
 * wrote since the tables were created, instead of failing on the duplicate
 * key and losing the whole table's data.
 */
Datum
pg_fib_restore_row(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	tuple;
	bool		isnull;
	Datum		n;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("fib_restore_row() must be fired BEFORE INSERT FOR EACH ROW")));
	tuple = trigdata->tg_trigtuple;
	if (pg_fib_is_background_worker)
		return PointerGetDatum(tuple);

	n = heap_getattr(tuple, 1, RelationGetDescr(trigdata->tg_relation), &isnull);
	if (!isnull && DatumGetInt64(n) >= 0)
		pg_fib_delete_row(trigdata->tg_relation, (uint64) DatumGetInt64(n));
	return PointerGetDatum(tuple);
}

/*
 * pg_fib_counters implements fib_counters(), for the fib_stats view: the
 * F(n) computed inside queries since the server started, and the
 * milliseconds they took, from shared memory.
 */
Datum
pg_fib_counters(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	int64		count;
	double		ms;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	pg_fib_inline_totals(&count, &ms);
	values[0] = Int64GetDatum(count);
	values[1] = Float8GetDatum(ms);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

/*
 * pg_fib_worker_pids and pg_fib_wake_workers_sql implemented two internal
 * functions of version 1.0, dropped by the update to 1.1.  They are kept so
 * that a 1.0 installation (before ALTER EXTENSION pg_fib UPDATE) loads.
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

Datum
pg_fib_wake_workers_sql(PG_FUNCTION_ARGS)
{
	pg_fib_wake_workers();
	PG_RETURN_VOID();
}
