/*-------------------------------------------------------------------------
 *
 * queuestate.c
 *	  The names of the job states, as fib_jobs.state holds them.
 *
 * The memo's readers (queuememo.c) and the statements on the tables
 * (queuejobs.c) share this file and nothing else of each other's.
 *
 * IDENTIFICATION
 *	  pg_fib/queuestate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "queuestate.h"

/* The names of the job states, as fib_jobs.state holds them. */
static const char *const fib_job_state_names[] = {
	[FIB_JOB_NONE] = "none",
	[FIB_JOB_QUEUED] = "queued",
	[FIB_JOB_RUNNING] = "running",
	[FIB_JOB_DONE] = "done",
	[FIB_JOB_FAILED] = "failed",
};

/* pg_fib_job_state_name returns the name of a job state. */
const char *
pg_fib_job_state_name(FibJobState state)
{
	return fib_job_state_names[state];
}

/* pg_fib_job_state_from_name returns the job state named name. */
FibJobState
pg_fib_job_state_from_name(const char *name)
{
	int			i;

	for (i = FIB_JOB_QUEUED; i <= FIB_JOB_FAILED; i++)
	{
		if (strcmp(name, fib_job_state_names[i]) == 0)
			return (FibJobState) i;
	}
	elog(ERROR, "unknown pg_fib job state \"%s\"", name);
	return FIB_JOB_NONE;		/* keep compiler quiet */
}
