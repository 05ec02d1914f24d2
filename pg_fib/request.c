/*-------------------------------------------------------------------------
 *
 * request.c
 *	  A caller's side of a request to the keeper: post it, wait for the
 *	  answer, report it; and fib_wait()'s sleep until a job ends.
 *
 * fib_request(n) and fib_wait(n) post n in the backend's own slot (see
 * shmem.c) and sleep on a condition variable until the keeper has committed
 * the job and answered.  The wait is bounded whatever the keeper does
 * (gone, stopped, or stuck): FIB_KEEPER_WAIT_MS, or fib_wait's own timeout.
 * The slot is given back by one cleanup, on success, ERROR and FATAL alike
 * (PG_ENSURE_ERROR_CLEANUP), and every refusal is raised by one function,
 * fib_report, in the Error Message Style Guide's form.
 *
 * Nothing here sleeps holding a lock on pg_fib's tables: the locks of
 * pg_fib's reads are released before each wait (pg_fib_release_read_locks),
 * and fib_wait() sleeps on shared memory, reading the job only when a worker
 * says it ended (or once a second, in case a notice was missed).
 *
 * IDENTIFICATION
 *	  pg_fib/request.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "utils/timestamp.h"

#include "pg_fib.h"

/* The longest a caller waits for the keeper's answer, whatever its state. */
#define FIB_KEEPER_WAIT_MS		10000

/* How often fib_wait() reads the job even when no worker said it ended. */
#define FIB_WAIT_RECHECK_MS		1000

/* fib_release_slot_cleanup gives the slot back on ERROR or FATAL. */
static void
fib_release_slot_cleanup(int code, Datum arg)
{
	pg_fib_release_slot();
}

/*
 * fib_report raises the error of a request the keeper refused or did not
 * answer; it returns only for FIB_OUTCOME_OK.  keeper_running tells the
 * two cases of FIB_OUTCOME_NONE (no answer by the deadline) apart;
 * requester is the one the request was for, or NULL.
 */
static void
fib_report(uint64 absn, const char *requester, const FibAnswer *answer, bool keeper_running,
		   bool own_timeout)
{
	switch (answer->outcome)
	{
		case FIB_OUTCOME_OK:
			return;
		case FIB_OUTCOME_NONE:
			if (own_timeout)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("could not queue F(" UINT64_FORMAT ") within the timeout", absn),
						 errdetail("The pg_fib keeper did not take the request in before the timeout passed."),
						 errhint("Call fib_wait(n) again with a longer timeout.")));
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the pg_fib keeper did not answer within %d seconds",
							FIB_KEEPER_WAIT_MS / 1000),
					 keeper_running ?
					 errdetail("The \"pg_fib keeper\" background worker is running but did not take the request for F(" UINT64_FORMAT ") in.", absn) :
					 errdetail("The \"pg_fib keeper\" background worker, which writes jobs to the queue, is not running."),
					 errhint("Check the server log, and that pg_fib is in shared_preload_libraries.")));
			break;
		case FIB_OUTCOME_QUEUE_FULL:
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("could not queue F(" UINT64_FORMAT "): the queue is full", absn),
					 errdetail(INT64_FORMAT " requested jobs are queued, the most \"pg_fib.max_queued\" (" INT64_FORMAT ") allows.",
							   answer->count, answer->limit),
					 errhint("Try again when the queue has drained, or ask a superuser to raise \"pg_fib.max_queued\".")));
			break;
		case FIB_OUTCOME_ROLE_FULL:
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("could not queue F(" UINT64_FORMAT "): role \"%s\" has too many jobs waiting",
							absn, GetUserNameFromId(GetUserId(), false)),
					 errdetail("The role has " INT64_FORMAT " jobs queued or running, the most \"pg_fib.max_queued_per_role\" (" INT64_FORMAT ") allows.",
							   answer->count, answer->limit),
					 errhint("Wait for them to end, or ask a superuser to raise \"pg_fib.max_queued_per_role\" for the role.")));
			break;
		case FIB_OUTCOME_REQUESTER_FULL:
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("could not queue F(" UINT64_FORMAT "): requester \"%s\" has too many jobs waiting",
							absn, requester != NULL ? requester : ""),
					 errdetail("The requester has " INT64_FORMAT " jobs queued or running for role \"%s\", the most \"pg_fib.max_queued_per_requester\" (" INT64_FORMAT ") allows.",
							   answer->count, GetUserNameFromId(GetUserId(), false), answer->limit),
					 errhint("Wait for some of them to end; a value already queued or done is still answered.")));
			break;
		case FIB_OUTCOME_LOCKED:
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("could not queue F(" UINT64_FORMAT "): its job is locked by another transaction", absn),
					 errdetail("The pg_fib keeper waited " INT64_FORMAT " ms for the lock on the row of F(" UINT64_FORMAT ") in table \"fib_jobs\".",
							   answer->limit, absn),
					 errhint("If this session holds that lock (it updated or deleted the row in an open transaction), end the transaction first; otherwise try again.")));
			break;
		case FIB_OUTCOME_WRONG_DATABASE:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("pg_fib queues jobs only in database \"%s\"", pg_fib_database),
					 errdetail("The keeper and the workers that write the queue and the memo work in the database named by \"pg_fib.database\"."),
					 errhint("Connect to database \"%s\", or set \"pg_fib.database\" and restart the server.",
							 pg_fib_database)));
			break;
		case FIB_OUTCOME_NOT_INSTALLED:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("extension \"pg_fib\" is not installed in database \"%s\"", pg_fib_database),
					 errhint("Run CREATE EXTENSION pg_fib in database \"%s\".", pg_fib_database)));
			break;
		case FIB_OUTCOME_WRONG_VERSION:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("extension \"pg_fib\" in database \"%s\" needs an update", pg_fib_database),
					 errdetail("The pg_fib library is version %s; its keeper and workers write only to the tables of that version.",
							   PG_FIB_VERSION),
					 errhint("Run ALTER EXTENSION pg_fib UPDATE in database \"%s\".", pg_fib_database)));
			break;
		case FIB_OUTCOME_UNSAFE_SCHEMA:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the schema of extension \"pg_fib\" is not owned by a superuser"),
					 errdetail("The pg_fib keeper and workers run as a superuser; the owner of the schema could replace what they run, so they do not work there."),
					 errhint("Make a superuser own the schema (ALTER SCHEMA ... OWNER TO), or install pg_fib in a schema only superusers own.")));
			break;
		case FIB_OUTCOME_ERROR:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the pg_fib keeper could not queue F(" UINT64_FORMAT ")", absn),
					 errhint("The keeper logged the reason in the server log.")));
			break;
	}
}

/* pg_fib_report_wrong_database raises the refusal of a caller outside pg_fib.database. */
void
pg_fib_report_wrong_database(uint64 absn)
{
	FibAnswer	answer;

	memset(&answer, 0, sizeof(answer));
	answer.outcome = FIB_OUTCOME_WRONG_DATABASE;
	fib_report(absn, NULL, &answer, true, false);
}

/*
 * fib_wait_answer sleeps until the keeper answers this backend's request or
 * deadline passes, and returns whether it answered.
 */
static bool
fib_wait_answer(FibAnswer *answer, TimestampTz deadline, bool *keeper_running)
{
	bool		answered;

	ConditionVariablePrepareToSleep(pg_fib_answer_cv());
	for (;;)
	{
		long		remaining_ms;

		answered = pg_fib_poll_answer(answer, keeper_running);
		if (answered)
			break;
		remaining_ms = (long) ((deadline - GetCurrentTimestamp()) / 1000);
		if (remaining_ms <= 0)
			break;
		(void) ConditionVariableTimedSleep(pg_fib_answer_cv(), remaining_ms,
										   PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	return answered;
}

/*
 * fib_post_and_report posts the request, for requester (NULL: the role as
 * a whole), waits for the answer until answer_deadline (0:
 * FIB_KEEPER_WAIT_MS from now), and raises the refusal, if any.  Returns
 * the job's state.
 */
static FibJobState
fib_post_and_report(uint64 absn, const char *requester, TimestampTz answer_deadline,
					uint64 wait_n)
{
	FibAnswer	answer;
	bool		keeper_running = true;
	bool		own_timeout = answer_deadline != 0;

	if (answer_deadline == 0)
		answer_deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													  FIB_KEEPER_WAIT_MS);
	answer_deadline = Min(answer_deadline,
						  TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													  FIB_KEEPER_WAIT_MS));
	pg_fib_post_request(absn, requester, wait_n);
	pg_fib_release_read_locks();
	if (!fib_wait_answer(&answer, answer_deadline, &keeper_running))
		answer.outcome = FIB_OUTCOME_NONE;
	fib_report(absn, requester, &answer, keeper_running, own_timeout);
	return answer.state;
}

/*
 * pg_fib_request has the keeper make sure F(absn) is, or will be, in the
 * memo, requested for requester (NULL: the role as a whole), and returns
 * how its job stands once committed.  Refusals are raised as errors.
 */
FibJobState
pg_fib_request(uint64 absn, const char *requester)
{
	FibJobState state;

	PG_ENSURE_ERROR_CLEANUP(fib_release_slot_cleanup, (Datum) 0);
	{
		state = fib_post_and_report(absn, requester, 0, 0);
	}
	PG_END_ENSURE_ERROR_CLEANUP(fib_release_slot_cleanup, (Datum) 0);
	pg_fib_release_slot();
	return state;
}

/*
 * pg_fib_request_and_wait requests F(absn) like pg_fib_request, waiting
 * for the keeper until answer_deadline, then sleeps until its job ends or
 * deadline passes.  read_state reads the job's state from the table (for
 * the end of the wait: a worker's notice comes after its commit).  Returns
 * the last state seen.
 */
FibJobState
pg_fib_request_and_wait(uint64 absn, TimestampTz answer_deadline, TimestampTz deadline,
						FibJobState (*read_state) (uint64 absn, void *arg), void *arg)
{
	FibJobState state;

	PG_ENSURE_ERROR_CLEANUP(fib_release_slot_cleanup, (Datum) 0);
	{
		state = fib_post_and_report(absn, NULL, answer_deadline, absn);

		ConditionVariablePrepareToSleep(pg_fib_jobs_cv());
		while (!FIB_JOB_ENDED(state))
		{
			long		remaining_ms = (long) ((deadline - GetCurrentTimestamp()) / 1000);

			if (remaining_ms <= 0)
				break;
			if (!pg_fib_wait_ended())
				(void) ConditionVariableTimedSleep(pg_fib_jobs_cv(),
												   Min(remaining_ms, FIB_WAIT_RECHECK_MS),
												   PG_WAIT_EXTENSION);
			state = read_state(absn, arg);
			pg_fib_release_read_locks();
		}
		ConditionVariableCancelSleep();
	}
	PG_END_ENSURE_ERROR_CLEANUP(fib_release_slot_cleanup, (Datum) 0);
	pg_fib_release_slot();
	return state;
}
