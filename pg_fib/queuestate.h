/*-------------------------------------------------------------------------
 *
 * queuestate.h
 *	  The states of a job and their names, a leaf that the memo's readers
 *	  (queuememo.c) and the queue's statements (queuejobs.c) both use.
 *
 * IDENTIFICATION
 *	  pg_fib/queuestate.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUEUESTATE_H
#define QUEUESTATE_H

/*
 * The states of a job, named once: queuejobs.c writes them into fib_jobs.state
 * (whose CHECK constraint lists the same names) and reads them back.
 */
typedef enum FibJobState
{
	FIB_JOB_NONE = 0,			/* no job and no memo row */
	FIB_JOB_QUEUED,
	FIB_JOB_RUNNING,
	FIB_JOB_DONE,
	FIB_JOB_FAILED
} FibJobState;

#define FIB_JOB_ENDED(state) ((state) == FIB_JOB_DONE || (state) == FIB_JOB_FAILED)

/* queuestate.c */
extern const char *pg_fib_job_state_name(FibJobState state);
extern FibJobState pg_fib_job_state_from_name(const char *name);

#endif							/* QUEUESTATE_H */
