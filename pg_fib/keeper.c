/*-------------------------------------------------------------------------
 *
 * keeper.c
 *	  The keeper: the background worker that writes what callers' queries
 *	  may not.
 *
 * Each round the keeper takes the requests and memoize hints posted in
 * shared memory (see shmem.c) and writes them to fib_jobs in one
 * transaction, each in a subtransaction of its own, and answers the
 * callers.  Its lock_timeout is one second (bgworker.c): a request whose
 * job row someone holds locked is answered FIB_OUTCOME_LOCKED after that
 * second, so a caller that holds the lock itself gets an error instead of
 * a deadlock no detector sees, and everyone else is served.  Every
 * FIB_KEEPER_TICK_MS it counts memo hits, keeps the memo within
 * pg_fib.memo_max_size (so the budget holds without pg_cron) and forgets
 * the fair queue's flows that no longer matter (fairtags.c); every
 * FIB_ORPHAN_CHECK_MS it requeues the jobs of compute workers that died.
 * It never computes, so requests are answered within milliseconds even
 * while every compute worker is busy.
 *
 * IDENTIFICATION
 *	  pg_fib/keeper.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "pg_fib.h"

/* How often the keeper wakes by itself: memo hits are written then. */
#define FIB_KEEPER_TICK_MS		1000

/* How often it looks for jobs of dead workers. */
#define FIB_ORPHAN_CHECK_MS		2000

/* How often it measures the memo, besides the workers' own count. */
#define FIB_MEMO_MEASURE_MS		60000

/* The keeper's lock_timeout, as bgworker.c sets it, for the answer. */
#define FIB_KEEPER_LOCK_TIMEOUT_MS	1000

#define FIB_TAKE_MAX			64

/* What the keeper last reported of pg_fib's schema, to say it once. */
static FibOutcome fib_reported_status = FIB_OUTCOME_OK;
static Oid	fib_reported_namespace = InvalidOid;

/*
 * fib_keeper_schema finds pg_fib's schema, and logs once why the keeper
 * does not use it, when it does not.  Runs inside pg_fib_begin/pg_fib_commit.
 */
static void
fib_keeper_schema(FibSchema *schema)
{
	pg_fib_find_schema(schema);
	if (schema->status == fib_reported_status && schema->namespace == fib_reported_namespace)
		return;
	fib_reported_status = schema->status;
	fib_reported_namespace = schema->namespace;
	if (schema->status == FIB_OUTCOME_UNSAFE_SCHEMA)
		ereport(WARNING,
				(errmsg("pg_fib keeper does not work in schema \"%s\": it is not owned by a superuser",
						get_namespace_name(schema->namespace)),
				 errdetail("Schema \"%s\" is owned by role \"%s\", who could replace what pg_fib runs as a superuser there.",
						   get_namespace_name(schema->namespace),
						   GetUserNameFromId(schema->owner, false)),
				 errhint("Make a superuser own the schema (ALTER SCHEMA ... OWNER TO), or install pg_fib in a schema only superusers own.")));
	else if (schema->status == FIB_OUTCOME_WRONG_VERSION)
		ereport(WARNING,
				(errmsg("pg_fib keeper does not work with extension \"pg_fib\" in database \"%s\": it needs an update",
						pg_fib_database),
				 errhint("Run ALTER EXTENSION pg_fib UPDATE in database \"%s\".", pg_fib_database)));
	else if (schema->status == FIB_OUTCOME_NOT_INSTALLED)
		ereport(LOG,
				(errmsg("pg_fib keeper: extension \"pg_fib\" is not installed in database \"%s\"",
						pg_fib_database)));
}

/* A unit of the keeper's work, run in a subtransaction by fib_keeper_try. */
typedef void (*FibKeeperStep) (const FibSchema *schema, void *arg, FibQueued *queued);

/*
 * fib_keeper_try runs step in a subtransaction, so that its failure (a row
 * locked too long, say) costs only its own work, and returns the SQLSTATE
 * of its error, or 0.  An error other than a lock timeout is logged.
 */
static int
fib_keeper_try(FibKeeperStep step, const FibSchema *schema, void *arg, FibQueued *queued)
{
	MemoryContext context = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile int sqlerrcode = 0;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(context);
	PG_TRY();
	{
		step(schema, arg, queued);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(context);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
		{
			errcontext("pg_fib keeper writing a job");
			EmitErrorReport();
		}
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		sqlerrcode = edata->sqlerrcode;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(context);
	CurrentResourceOwner = owner;
	return sqlerrcode;
}

/* fib_keeper_request is the step that writes one request. */
static void
fib_keeper_request(const FibSchema *schema, void *arg, FibQueued *queued)
{
	pg_fib_jobs_request(schema, (FibTakenRequest *) arg, queued);
}

/* fib_keeper_memoize is the step that writes one memoize hint. */
static void
fib_keeper_memoize(const FibSchema *schema, void *arg, FibQueued *queued)
{
	pg_fib_jobs_memoize(schema, *(uint64 *) arg, queued);
}

/* fib_keeper_hit is the step that counts one memo row's hits. */
static void
fib_keeper_hit(const FibSchema *schema, void *arg, FibQueued *queued)
{
	pg_fib_jobs_count_hits(schema, (FibHint *) arg);
}

/*
 * fib_keeper_write writes the taken requests and memoize hints, and hits,
 * in one transaction, and fills each request's answer.
 */
static void
fib_keeper_write(FibTakenRequest *requests, int nrequests, uint64 *memoize, int nmemoize,
				 FibHint *hits, int nhits)
{
	FibSchema	schema;
	FibQueued	queued;
	int64		queued_before;
	int			i;

	pg_fib_begin("pg_fib keeper: writing requests");
	fib_keeper_schema(&schema);
	if (schema.status != FIB_OUTCOME_OK)
	{
		pg_fib_commit();
		for (i = 0; i < nrequests; i++)
			requests[i].answer.outcome = schema.status;
		return;
	}

	pg_fib_jobs_queued(&schema, &queued);
	queued_before = queued.all;
	for (i = 0; i < nrequests; i++)
	{
		int			sqlerrcode = fib_keeper_try(fib_keeper_request, &schema, &requests[i], &queued);

		if (sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE)
		{
			requests[i].answer.outcome = FIB_OUTCOME_LOCKED;
			requests[i].answer.limit = FIB_KEEPER_LOCK_TIMEOUT_MS;
		}
		else if (sqlerrcode != 0)
			requests[i].answer.outcome = FIB_OUTCOME_ERROR;
	}
	for (i = 0; i < nmemoize; i++)
		(void) fib_keeper_try(fib_keeper_memoize, &schema, &memoize[i], &queued);
	for (i = 0; i < nhits; i++)
		(void) fib_keeper_try(fib_keeper_hit, &schema, &hits[i], &queued);
	pg_fib_commit();

	if (queued.all > queued_before)
		pg_fib_wake_workers();
}

/*
 * fib_keeper_round takes up to FIB_TAKE_MAX posted requests and memoize
 * hints, and the hits when include_hits, writes them and answers the
 * requests.  An error is logged and answered; the keeper goes on.  Returns
 * how many requests and hints it took.
 */
static int
fib_keeper_round(MemoryContext loop_context, bool include_hits)
{
	FibTakenRequest requests[FIB_TAKE_MAX];
	uint64		memoize[FIB_TAKE_MAX];
	FibHint		hits[FIB_TAKE_MAX];
	int			nrequests = pg_fib_take_requests(requests, FIB_TAKE_MAX);
	int			nmemoize = pg_fib_take_memoize(memoize, FIB_TAKE_MAX);
	int			nhits = include_hits ? pg_fib_take_hits(hits, FIB_TAKE_MAX) : 0;

	if (nrequests + nmemoize + nhits == 0)
		return 0;
	PG_TRY();
	{
		fib_keeper_write(requests, nrequests, memoize, nmemoize, hits, nhits);
	}
	PG_CATCH();
	{
		int			i;

		(void) pg_fib_recover(loop_context, "pg_fib keeper writing requests");
		for (i = 0; i < nrequests; i++)
			requests[i].answer.outcome = FIB_OUTCOME_ERROR;
	}
	PG_END_TRY();
	pg_fib_answer_requests(requests, nrequests);
	return nrequests + nmemoize;
}

/*
 * fib_keeper_requeue_orphans requeues the jobs left running by compute
 * workers that are gone; those whose worker left a quit marker (see
 * bgworker.c) do not count the attempt.  The markers are removed once that
 * is committed.
 */
static void
fib_keeper_requeue_orphans(void)
{
	FibSchema	schema;
	FibEndedJobs ended = {0};
	int			innocent[4 * PG_FIB_MAX_WORKERS];
	int			ninnocent = pg_fib_read_quit_markers(innocent, lengthof(innocent));

	pg_fib_begin("pg_fib keeper: requeuing orphaned jobs");
	fib_keeper_schema(&schema);
	if (schema.status == FIB_OUTCOME_OK)
		(void) pg_fib_jobs_requeue_orphans(&schema, innocent, ninnocent, &ended);
	pg_fib_commit();
	pg_fib_notify_ended(&ended);
	if (schema.status == FIB_OUTCOME_OK)
		pg_fib_remove_quit_markers(innocent, ninnocent);
}

/*
 * fib_keeper_keep_budget evicts memo rows beyond pg_fib.memo_max_size when
 * the workers' count says the memo grew beyond it, or when measure asks to
 * check the real size.
 */
static void
fib_keeper_keep_budget(bool measure)
{
	FibSchema	schema;
	int64		budget = (int64) pg_fib_memo_max_size * 1024;
	int64		bytes = pg_fib_memo_bytes();
	int64		after = 0;
	int			evicted = 0;

	if (!measure && bytes >= 0 && bytes <= budget)
		return;
	pg_fib_begin("pg_fib keeper: keeping the memo within pg_fib.memo_max_size");
	fib_keeper_schema(&schema);
	if (schema.status == FIB_OUTCOME_OK)
		evicted = pg_fib_jobs_evict(&schema, budget, &after);
	pg_fib_commit();
	pg_fib_set_memo_bytes(schema.status == FIB_OUTCOME_OK ? after : -1);
	if (evicted > 0)
		ereport(DEBUG1,
				(errmsg("pg_fib keeper evicted %d memo rows to keep the memo within \"pg_fib.memo_max_size\"",
						evicted)));
}

/* fib_keeper_guarded runs one periodic task; an error is logged and the keeper goes on. */
static void
fib_keeper_guarded(void (*task) (bool), bool arg, MemoryContext loop_context, const char *what)
{
	PG_TRY();
	{
		task(arg);
	}
	PG_CATCH();
	{
		(void) pg_fib_recover(loop_context, what);
	}
	PG_END_TRY();
}

/* fib_keeper_requeue_task adapts fib_keeper_requeue_orphans to fib_keeper_guarded. */
static void
fib_keeper_requeue_task(bool unused)
{
	fib_keeper_requeue_orphans();
}

/*
 * pg_fib_keeper_main is the keeper's entry point.  Each round it writes one
 * batch of posted requests and hints; once a tick the hits and the memo's
 * budget; every FIB_ORPHAN_CHECK_MS the orphaned jobs.  It sleeps on its
 * latch when a round found nothing to do.  However busy the requests keep it, the
 * timers still run.
 */
void
pg_fib_keeper_main(Datum main_arg)
{
	MemoryContext loop_context;
	TimestampTz last_tick = 0;
	TimestampTz last_orphan_check = 0;
	TimestampTz last_measure = 0;

	pg_fib_keeper_attach();
	pg_fib_bgworker_start(true);
	loop_context = AllocSetContextCreate(TopMemoryContext, "pg_fib keeper",
										 ALLOCSET_DEFAULT_SIZES);
	ereport(LOG, (errmsg("pg_fib keeper started in database \"%s\"", pg_fib_database)));

	for (;;)
	{
		TimestampTz now;
		bool		tick;
		int			ntaken;

		pg_fib_next_round(loop_context);

		now = GetCurrentTimestamp();
		tick = TimestampDifferenceExceeds(last_tick, now, FIB_KEEPER_TICK_MS);
		ntaken = fib_keeper_round(loop_context, tick);
		if (tick)
		{
			bool		measure = TimestampDifferenceExceeds(last_measure, now,
															 FIB_MEMO_MEASURE_MS);

			fib_keeper_guarded(fib_keeper_keep_budget, measure, loop_context,
							   "pg_fib keeper keeping the memo within pg_fib.memo_max_size");
			pg_fib_fair_forget();
			if (measure)
				last_measure = now;
			last_tick = now;
		}
		if (TimestampDifferenceExceeds(last_orphan_check, now, FIB_ORPHAN_CHECK_MS))
		{
			fib_keeper_guarded(fib_keeper_requeue_task, false, loop_context,
							   "pg_fib keeper requeuing orphaned jobs");
			last_orphan_check = now;
		}

		/*
		 * Sleep only after a round that found nothing: a wake-up that came
		 * while the round waited on a lock was consumed by that wait.
		 */
		if (ntaken == 0)
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 FIB_KEEPER_TICK_MS, PG_WAIT_EXTENSION);
	}
}
