/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  pg_fib's background workers: the keeper and the compute workers.
 *
 * The keeper writes what callers' queries may not (see shmem.c): it turns
 * request slots into rows of fib_jobs, counts memo hits (once a second), and
 * requeues the jobs of compute workers that died (every two seconds).  It never computes, so a request is
 * written within milliseconds even while every compute worker is busy.
 *
 * The pg_fib.workers compute workers drain fib_jobs.  Each claims the
 * oldest queued job with FOR UPDATE SKIP LOCKED, so several share the queue
 * without blocking each other, and commits the claim ("running") at once.
 * It then computes F(n) and its base-10000 digits, checking for interrupts
 * and publishing its progress between steps, and in one transaction
 * inserts the memo row and marks the job done: a result is stored whole or
 * not at all.  A job whose worker dies stays "running" until the keeper
 * requeues it; a job that raises an error is retried, and ends "failed"
 * with the error's text after pg_fib.max_attempts tries (at once when the
 * worker's query was cancelled).
 *
 * IDENTIFICATION
 *	  pg_fib/worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "pg_fib.h"

PGDLLEXPORT void pg_fib_keeper_main(Datum main_arg);
PGDLLEXPORT void pg_fib_worker_main(Datum main_arg);

/* How often the keeper looks for jobs of dead workers. */
#define FIB_ORPHAN_CHECK_MS		2000

/* How often the keeper wakes by itself: memo hits are written then. */
#define FIB_KEEPER_TICK_MS		1000

/* How long an idle compute worker sleeps when nobody wakes it. */
#define FIB_IDLE_WAIT_MS		10000

/* The share of a job's time spent computing F(n); the rest is decimal. */
#define FIB_COMPUTE_SHARE		0.15

#define FIB_TAKE_MAX			64

/*
 * pg_fib_register_workers registers the keeper and pg_fib.workers compute
 * workers.  They start once recovery is finished (a hot standby has none),
 * and the postmaster restarts them a second after they exit.
 */
void
pg_fib_register_workers(void)
{
	BackgroundWorker worker;
	int			i;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	strlcpy(worker.bgw_library_name, "pg_fib", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "pg_fib_keeper_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "pg_fib keeper", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "pg_fib keeper", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);

	strlcpy(worker.bgw_function_name, "pg_fib_worker_main", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "pg_fib worker", BGW_MAXLEN);
	for (i = 0; i < pg_fib_workers; i++)
	{
		snprintf(worker.bgw_name, BGW_MAXLEN, "pg_fib worker %d", i + 1);
		worker.bgw_main_arg = Int32GetDatum(i);
		RegisterBackgroundWorker(&worker);
	}
}

/*
 * fib_worker_start sets up signals and connects to pg_fib.database, as
 * every pg_fib background worker does first.
 */
static void
fib_worker_start(void)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(pg_fib_database, NULL, 0);

	/*
	 * The workers run as the bootstrap superuser: a search_path set on the
	 * database must not put anybody's functions or operators in front of
	 * pg_catalog's in their queries.
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
}

/*
 * fib_begin opens a transaction with an SPI connection and a snapshot:
 * the bracket around each unit of work of a worker.
 */
static MemoryContext fib_outer_context = NULL;

static void
fib_begin(const char *activity)
{
	fib_outer_context = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

/*
 * fib_commit closes the bracket opened by fib_begin, back in the memory
 * context that was current before it (not TopMemoryContext, where a commit
 * leaves it).
 */
static void
fib_commit(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(fib_outer_context);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * fib_log_and_abort ends a unit of work that raised an error: it logs the
 * error, aborts the transaction if one is open, and returns to context.
 * Called from PG_CATCH.  Returns a copy of the error's message.
 */
static char *
fib_log_and_abort(MemoryContext context, const char *what)
{
	ErrorData  *edata;
	char	   *message;

	MemoryContextSwitchTo(context);
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	MemoryContextSwitchTo(context);
	ereport(LOG, (errmsg("%s: %s", what, edata->message)));
	message = pstrdup(edata->message);
	FreeErrorData(edata);
	return message;
}

/*
 * fib_schema returns the quoted name of the schema pg_fib is installed in,
 * or NULL when it is not installed in this database.  Runs inside
 * fib_begin/fib_commit.
 */
static char *
fib_schema(void)
{
	int			ret;
	bool		isnull;
	Datum		name;

	ret = SPI_execute("SELECT n.nspname::text FROM pg_catalog.pg_extension e"
					  " JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
					  " WHERE e.extname = 'pg_fib'", true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not look up the pg_fib extension: %s",
			 SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return NULL;
	name = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return pstrdup(quote_identifier(TextDatumGetCString(name)));
}

/* fib_exec runs one statement with bigint arguments and checks it ran. */
static void
fib_exec(const char *query, int nargs, Oid *types, Datum *values, int expected)
{
	int			ret = SPI_execute_with_args(query, nargs, types, values, NULL,
											false, 0);

	if (ret != expected)
		elog(ERROR, "pg_fib could not run \"%s\": %s",
			 query, SPI_result_code_string(ret));
}

/* fib_queued_jobs counts the jobs waiting in the queue. */
static int64
fib_queued_jobs(const char *schema)
{
	bool		isnull;

	fib_exec(psprintf("SELECT count(*) FROM %s.fib_jobs WHERE state = 'queued'", schema),
			 0, NULL, NULL, SPI_OK_SELECT);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
									   1, &isnull));
}

/*
 * fib_keeper_write writes the taken slots: a job row for each REQUEST and
 * MEMOIZE slot whose value is not memoized yet (or whose job failed before,
 * for a REQUEST), and the hit counts.  While pg_fib.max_queued jobs wait, a
 * REQUEST of a new n is refused (in its slot) and a MEMOIZE dropped.
 * Returns an error text for all the callers when pg_fib is not installed
 * here.
 */
static const char *
fib_keeper_write(FibTakenSlot *taken, int ntaken)
{
	char	   *schema;
	char	   *request_sql;
	char	   *memoize_sql;
	char	   *hit_sql;
	char	   *known_sql;
	int			i;
	bool		queued = false;
	int64		waiting;

	fib_begin("pg_fib keeper: writing requests");
	schema = fib_schema();
	if (schema == NULL)
	{
		fib_commit();
		return psprintf("extension \"pg_fib\" is not installed in database \"%s\"",
						pg_fib_database);
	}

	request_sql = psprintf("INSERT INTO %1$s.fib_jobs AS j (n)"
						   " SELECT $1 WHERE NOT EXISTS (SELECT FROM %1$s.fib_memo m WHERE m.n = $1)"
						   " ON CONFLICT (n) DO UPDATE SET state = 'queued', progress = 0,"
						   " digits = NULL, requested_at = now(), started_at = NULL,"
						   " finished_at = NULL, compute_ms = NULL, error = NULL,"
						   " attempts = 0, worker_pid = NULL"
						   " WHERE j.state = 'failed'"
						   " OR (j.state = 'done' AND NOT EXISTS (SELECT FROM %1$s.fib_memo m WHERE m.n = $1))",
						   schema);
	memoize_sql = psprintf("INSERT INTO %1$s.fib_jobs (n)"
						   " SELECT $1 WHERE NOT EXISTS (SELECT FROM %1$s.fib_memo m WHERE m.n = $1)"
						   " ON CONFLICT (n) DO NOTHING",
						   schema);
	/* Hits skip a row someone holds locked: they are hints, not worth a wait. */
	hit_sql = psprintf("UPDATE %1$s.fib_memo SET hits = hits + $2, last_used = now()"
					   " WHERE n = (SELECT n FROM %1$s.fib_memo WHERE n = $1"
					   " FOR UPDATE SKIP LOCKED)", schema);
	known_sql = psprintf("SELECT FROM %1$s.fib_jobs WHERE n = $1 AND state <> 'failed'"
						 " UNION ALL SELECT FROM %1$s.fib_memo WHERE n = $1",
						 schema);
	waiting = fib_queued_jobs(schema);

	for (i = 0; i < ntaken; i++)
	{
		Oid			types[2] = {INT8OID, INT8OID};
		Datum		values[2];

		values[0] = Int64GetDatum((int64) taken[i].n);
		values[1] = Int64GetDatum(taken[i].hits);
		switch (taken[i].kind)
		{
			case FIB_SLOT_REQUEST:
				if (waiting >= pg_fib_max_queued)
				{
					/* a full queue still answers for what it knows */
					fib_exec(known_sql, 1, types, values, SPI_OK_SELECT);
					if (SPI_processed == 0)
					{
						taken[i].sqlerrcode = ERRCODE_CONFIGURATION_LIMIT_EXCEEDED;
						taken[i].error = psprintf(INT64_FORMAT " jobs are queued, the most \"pg_fib.max_queued\" allows",
												  waiting);
					}
					break;
				}
				fib_exec(request_sql, 1, types, values, SPI_OK_INSERT);
				waiting += SPI_processed;
				queued = true;
				break;
			case FIB_SLOT_MEMOIZE:
				if (waiting >= pg_fib_max_queued)
					break;		/* a hint: dropped */
				fib_exec(memoize_sql, 1, types, values, SPI_OK_INSERT);
				waiting += SPI_processed;
				queued = true;
				break;
			case FIB_SLOT_HIT:
				fib_exec(hit_sql, 2, types, values, SPI_OK_UPDATE);
				break;
			case FIB_SLOT_FREE:
				break;
		}
	}
	fib_commit();

	if (queued)
		pg_fib_wake_workers();
	return NULL;
}

/*
 * fib_keeper_requeue_orphans requeues the jobs left running by compute
 * workers that are gone (see fib_requeue_orphans() in the install script).
 */
static void
fib_keeper_requeue_orphans(void)
{
	char	   *schema;
	bool		requeued = false;

	fib_begin("pg_fib keeper: requeuing orphaned jobs");
	schema = fib_schema();
	if (schema != NULL)
	{
		int			ret = SPI_execute(psprintf("SELECT %s.fib_requeue_orphans()", schema),
									  false, 1);
		bool		isnull;

		if (ret != SPI_OK_SELECT)
			elog(ERROR, "could not requeue orphaned jobs: %s",
				 SPI_result_code_string(ret));
		requeued = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1,
											   &isnull)) > 0;
	}
	fib_commit();
	if (requeued)
		pg_fib_wake_workers();
}

/*
 * fib_keeper_round takes up to FIB_TAKE_MAX posted slots (memo hits only
 * when include_hits) and writes them.  An error is answered to the callers
 * and logged; the keeper goes on.  Returns how many slots it took.
 */
static int
fib_keeper_round(MemoryContext loop_context, bool include_hits)
{
	FibTakenSlot taken[FIB_TAKE_MAX];
	int			ntaken = pg_fib_keeper_take(taken, FIB_TAKE_MAX, include_hits);

	if (ntaken == 0)
		return 0;
	PG_TRY();
	{
		const char *error = fib_keeper_write(taken, ntaken);

		pg_fib_keeper_answer(taken, ntaken, error);
	}
	PG_CATCH();
	{
		char	   *message = fib_log_and_abort(loop_context,
												"pg_fib keeper could not write requests");

		pg_fib_keeper_answer(taken, ntaken, message);
	}
	PG_END_TRY();
	return ntaken;
}

/*
 * fib_keeper_guarded_requeue requeues orphaned jobs; an error is logged and
 * the keeper goes on.
 */
static void
fib_keeper_guarded_requeue(MemoryContext loop_context)
{
	PG_TRY();
	{
		fib_keeper_requeue_orphans();
	}
	PG_CATCH();
	{
		(void) fib_log_and_abort(loop_context, "pg_fib keeper could not requeue orphaned jobs");
	}
	PG_END_TRY();
}

/*
 * pg_fib_keeper_main is the keeper's entry point.  Each round it writes
 * one batch of posted slots, memo hits once every FIB_KEEPER_TICK_MS,
 * requeues orphaned jobs every FIB_ORPHAN_CHECK_MS, and sleeps on its latch
 * unless more slots may be waiting.  However busy the slots keep it, the
 * timers still run.
 */
void
pg_fib_keeper_main(Datum main_arg)
{
	MemoryContext loop_context;
	TimestampTz last_orphan_check = 0;
	TimestampTz last_hits = 0;

	fib_worker_start();
	pg_fib_keeper_attach();
	loop_context = AllocSetContextCreate(TopMemoryContext, "pg_fib keeper",
										 ALLOCSET_DEFAULT_SIZES);
	ereport(LOG, (errmsg("pg_fib keeper started in database \"%s\"", pg_fib_database)));

	for (;;)
	{
		bool		include_hits;
		int			ntaken;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		MemoryContextReset(loop_context);
		MemoryContextSwitchTo(loop_context);

		include_hits = TimestampDifferenceExceeds(last_hits, GetCurrentTimestamp(),
												  FIB_KEEPER_TICK_MS);
		ntaken = fib_keeper_round(loop_context, include_hits);
		if (include_hits)
			last_hits = GetCurrentTimestamp();

		if (TimestampDifferenceExceeds(last_orphan_check, GetCurrentTimestamp(),
									   FIB_ORPHAN_CHECK_MS))
		{
			fib_keeper_guarded_requeue(loop_context);
			last_orphan_check = GetCurrentTimestamp();
		}

		if (ntaken < FIB_TAKE_MAX)
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 FIB_KEEPER_TICK_MS, PG_WAIT_EXTENSION);
	}
}

/* fib_compute_progress publishes the progress of the computation phase. */
static void
fib_compute_progress(double fraction, void *arg)
{
	pg_fib_worker_set_progress(FIB_COMPUTE_SHARE * fraction);
}

/* fib_conversion_progress publishes the progress of the decimal phase. */
static void
fib_conversion_progress(double fraction, void *arg)
{
	pg_fib_worker_set_progress(FIB_COMPUTE_SHARE + (1 - FIB_COMPUTE_SHARE) * fraction);
}

/*
 * fib_worker_claim claims the oldest queued job, commits the claim and
 * returns true with its n, or returns false when there is none.
 */
static bool
fib_worker_claim(uint64 *absn)
{
	char	   *schema;
	bool		claimed = false;

	fib_begin("pg_fib worker: claiming a job");
	schema = fib_schema();
	if (schema != NULL)
	{
		int			ret;

		ret = SPI_execute(psprintf("UPDATE %1$s.fib_jobs SET state = 'running',"
								   " started_at = clock_timestamp(), finished_at = NULL,"
								   " attempts = attempts + 1, progress = 0,"
								   " worker_pid = pg_backend_pid()"
								   " WHERE n = (SELECT n FROM %1$s.fib_jobs"
								   " WHERE state = 'queued'"
								   " ORDER BY requested_at, n LIMIT 1"
								   " FOR UPDATE SKIP LOCKED)"
								   " RETURNING n", schema),
						  false, 1);
		if (ret != SPI_OK_UPDATE_RETURNING)
			elog(ERROR, "could not claim a job: %s", SPI_result_code_string(ret));
		if (SPI_processed == 1)
		{
			bool		isnull;

			*absn = (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
														 SPI_tuptable->tupdesc,
														 1, &isnull));
			claimed = true;
		}
	}
	fib_commit();
	return claimed;
}

/*
 * fib_worker_compute computes F(absn) and its digits outside any
 * transaction (a long computation must not hold back vacuum), then stores
 * them: the memo row and the job's "done" in one transaction.
 */
static void
fib_worker_compute(uint64 absn)
{
	FibArena	arena;
	FibDigit   *volatile digits = NULL;
	volatile size_t ndigits = 0;
	instr_time	start;
	instr_time	elapsed;
	double		compute_ms;
	char	   *schema;

	pgstat_report_activity(STATE_RUNNING,
						   psprintf("pg_fib worker: computing F(" UINT64_FORMAT ")", absn));
	INSTR_TIME_SET_CURRENT(start);
	pg_fib_arena_begin(&arena);
	PG_TRY();
	{
		mpz_t		value;
		size_t		count;

		mpz_init(value);
		pg_fib_compute(value, (int64) absn, fib_compute_progress, NULL);
		digits = pg_fib_mpz_to_digits(value, &count, fib_conversion_progress, NULL);
		ndigits = count;
	}
	PG_FINALLY();
	{
		pg_fib_arena_end(&arena);
	}
	PG_END_TRY();
	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	compute_ms = INSTR_TIME_GET_MILLISEC(elapsed);

	fib_begin("pg_fib worker: storing a result");
	schema = fib_schema();
	if (schema == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"pg_fib\" is not installed in database \"%s\"",
						pg_fib_database)));
	{
		Oid			types[4] = {INT8OID, BYTEAOID, INT8OID, FLOAT8OID};
		Datum		values[4];

		values[0] = Int64GetDatum((int64) absn);
		values[1] = PointerGetDatum(pg_fib_digits_to_bytea(digits, ndigits));
		values[2] = Int64GetDatum(pg_fib_digits_decimal_count(digits, ndigits));
		values[3] = Float8GetDatum(compute_ms);
		fib_exec(psprintf("WITH memo AS (INSERT INTO %1$s.fib_memo (n, value, digits, compute_ms)"
						  " VALUES ($1, $2, $3, $4) ON CONFLICT (n) DO NOTHING)"
						  " UPDATE %1$s.fib_jobs SET state = 'done', progress = 1,"
						  " digits = $3, finished_at = clock_timestamp(), compute_ms = $4,"
						  " error = NULL, worker_pid = NULL"
						  " WHERE n = $1 AND worker_pid = pg_backend_pid()", schema),
				 4, types, values, SPI_OK_UPDATE);
	}
	fib_commit();
}

/*
 * fib_worker_record_failure puts a job whose computation raised an error
 * back in the queue, or ends it "failed" once it has had its attempts or
 * when it was cancelled.
 */
static void
fib_worker_record_failure(uint64 absn, ErrorData *edata)
{
	char	   *schema;
	bool		cancelled = edata->sqlerrcode == ERRCODE_QUERY_CANCELED;

	ereport(LOG,
			(errmsg("pg_fib worker could not compute F(" UINT64_FORMAT "): %s",
					absn, edata->message)));

	fib_begin("pg_fib worker: recording a failure");
	schema = fib_schema();
	if (schema != NULL)
	{
		Oid			types[4] = {INT8OID, BOOLOID, INT4OID, TEXTOID};
		Datum		values[4];

		values[0] = Int64GetDatum((int64) absn);
		values[1] = BoolGetDatum(cancelled);
		values[2] = Int32GetDatum(pg_fib_max_attempts);
		values[3] = CStringGetTextDatum(edata->message);
		fib_exec(psprintf("UPDATE %s.fib_jobs SET"
						  " state = CASE WHEN $2 OR attempts >= $3 THEN 'failed' ELSE 'queued' END,"
						  " finished_at = CASE WHEN $2 OR attempts >= $3 THEN clock_timestamp() END,"
						  " progress = 0, error = $4, worker_pid = NULL"
						  " WHERE n = $1 AND worker_pid = pg_backend_pid()", schema),
				 4, types, values, SPI_OK_UPDATE);
	}
	fib_commit();
}

/*
 * fib_worker_run_job computes a claimed job and records its failure, if it
 * fails; the worker's progress is published meanwhile.
 */
static void
fib_worker_run_job(uint64 absn, MemoryContext job_context)
{
	pg_fib_worker_set_job(absn);
	PG_TRY();
	{
		fib_worker_compute(absn);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(job_context);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(job_context);
		fib_worker_record_failure(absn, edata);
	}
	PG_END_TRY();
	pg_fib_worker_set_job(0);
}

/*
 * fib_worker_guarded_claim claims a job like fib_worker_claim; an error is
 * logged, and reported as no job.
 */
static bool
fib_worker_guarded_claim(uint64 *absn, MemoryContext job_context)
{
	volatile bool claimed = false;

	PG_TRY();
	{
		claimed = fib_worker_claim(absn);
	}
	PG_CATCH();
	{
		(void) fib_log_and_abort(job_context, "pg_fib worker could not claim a job");
		claimed = false;
	}
	PG_END_TRY();
	return claimed;
}

/*
 * pg_fib_worker_main is a compute worker's entry point: it claims and
 * computes jobs until none is queued, then sleeps on its latch, which the
 * keeper sets when it queues a job.
 */
void
pg_fib_worker_main(Datum main_arg)
{
	MemoryContext job_context;

	fib_worker_start();
	pg_fib_worker_attach(DatumGetInt32(main_arg));
	job_context = AllocSetContextCreate(TopMemoryContext, "pg_fib job",
										ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		uint64		absn;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		MemoryContextReset(job_context);
		MemoryContextSwitchTo(job_context);

		if (!fib_worker_guarded_claim(&absn, job_context))
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 FIB_IDLE_WAIT_MS, PG_WAIT_EXTENSION);
			continue;
		}

		fib_worker_run_job(absn, job_context);
	}
}
