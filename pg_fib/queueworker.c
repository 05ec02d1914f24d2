/*-------------------------------------------------------------------------
 *
 * queueworker.c
 *	  The compute workers, which drain the queue.
 *
 * pg_fib.workers compute workers share fib_jobs.  Each claims a queued job,
 * fairly across roles and their requesters, and commits the claim
 * ("running") at once (queuejobs.c).  It then
 * computes F(n) and its base-10000 digits outside any transaction (a long
 * computation must not hold back vacuum), checking for interrupts and
 * publishing its progress between steps, and stores the memo row and the
 * job's "done" in one transaction: a result is stored whole or not at all.
 * A job that raises an error is retried, or ends "failed", by queuejobs.c's
 * rule; a job whose worker dies stays "running" until the keeper requeues
 * it.  A worker stopped by a restart of the whole server leaves a marker
 * (queuebgworker.c), so that its job's attempt does not count.
 *
 * IDENTIFICATION
 *	  pg_fib/queueworker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "utils/memutils.h"

#include "queue.h"
#include "settings.h"

/* How long an idle compute worker sleeps when nobody wakes it. */
#define FIB_IDLE_WAIT_MS		10000

/* The share of a job's time spent computing F(n); the rest is decimal. */
#define FIB_COMPUTE_SHARE		0.15

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

/* fib_worker_schema finds pg_fib's schema, or refuses to write to it. */
static void
fib_worker_schema(FibSchema *schema)
{
	pg_fib_find_schema(schema);
	if (schema->status != FIB_OUTCOME_OK)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_fib worker cannot use extension \"pg_fib\" in database \"%s\"",
						pg_fib_database),
				 errdetail("The keeper logs why.")));
}

/*
 * fib_worker_claim claims the queued job whose turn it is, commits the
 * claim and returns true with its n, or returns false when there is none.
 */
static bool
fib_worker_claim(uint64 *absn)
{
	FibSchema	schema;
	bool		claimed = false;

	pg_fib_begin("pg_fib worker: claiming a job");
	pg_fib_find_schema(&schema);
	if (schema.status == FIB_OUTCOME_OK)
		claimed = pg_fib_jobs_claim(&schema, absn);
	pg_fib_commit();
	return claimed;
}

/*
 * fib_worker_compute computes F(absn) and its digits outside any
 * transaction, then stores them and tells the job's waiters.
 */
static void
fib_worker_compute(uint64 absn)
{
	FibDigit   *digits;
	size_t		ndigits;
	double		elapsed_ms;
	FibSchema	schema;

	pgstat_report_activity(STATE_RUNNING,
						   psprintf("pg_fib worker: computing F(" UINT64_FORMAT ")", absn));
	digits = pg_fib_compute_digits((int64) absn, &ndigits, fib_compute_progress,
								   fib_conversion_progress, NULL, &elapsed_ms);

	pg_fib_begin("pg_fib worker: storing a result");
	fib_worker_schema(&schema);
	pg_fib_jobs_store(&schema, absn, digits, ndigits, elapsed_ms);
	pg_fib_commit();
	pg_fib_notify_job_ended(absn);
}

/*
 * fib_worker_end_attempt ends the attempt at F(absn) that raised edata: a
 * cancelled job fails at once, others are retried by queuejobs.c's rule.
 */
static void
fib_worker_end_attempt(uint64 absn, ErrorData *edata)
{
	FibSchema	schema;
	FibEndedJobs ended = {0};

	pg_fib_begin("pg_fib worker: recording a failure");
	fib_worker_schema(&schema);
	pg_fib_jobs_end_attempt(&schema, absn, edata->sqlerrcode == ERRCODE_QUERY_CANCELED,
							edata->message, &ended);
	pg_fib_commit();
	pg_fib_notify_ended(&ended);
}

/*
 * fib_worker_run_job computes a claimed job and ends its attempt if it
 * fails; errors are logged and the worker goes on.
 */
static void
fib_worker_run_job(uint64 absn, MemoryContext job_context)
{
	char	   *what = psprintf("pg_fib worker computing F(" UINT64_FORMAT ")", absn);

	pg_fib_worker_set_job(absn);
	PG_TRY();
	{
		fib_worker_compute(absn);
	}
	PG_CATCH();
	{
		ErrorData  *edata = pg_fib_recover(job_context, what);

		PG_TRY();
		{
			fib_worker_end_attempt(absn, edata);
		}
		PG_CATCH();
		{
			(void) pg_fib_recover(job_context, "pg_fib worker recording a failure");
		}
		PG_END_TRY();
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
		(void) pg_fib_recover(job_context, "pg_fib worker claiming a job");
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

	pg_fib_worker_attach(DatumGetInt32(main_arg));
	pg_fib_mark_quit_exit();
	pg_fib_bgworker_start(false);
	job_context = AllocSetContextCreate(TopMemoryContext, "pg_fib job",
										ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		uint64		absn;

		pg_fib_next_round(job_context);

		if (!fib_worker_guarded_claim(&absn, job_context))
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 FIB_IDLE_WAIT_MS, PG_WAIT_EXTENSION);
			continue;
		}

		fib_worker_run_job(absn, job_context);
	}
}
