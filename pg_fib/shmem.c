/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  pg_fib's shared memory: request slots, and the workers' progress.
 *
 * A caller's query never writes: fib() must work in read-only transactions
 * and on a hot standby, and must never wait on another session's row.  So
 * whatever a query wants persisted goes through the slots here to the
 * keeper, a background worker that writes it in transactions of its own:
 *
 *	- REQUEST: fib_request(n) wants F(n) queued.  The caller waits on a
 *	  condition variable until the keeper has committed the job, so a job is
 *	  durable once fib_request() returns, whatever the caller's transaction
 *	  does next, and the caller needs no privilege on the tables;
 *	- MEMOIZE: a query computed a value worth keeping (fire and forget);
 *	- HIT: a query found a value in the memo (counts, fire and forget, and
 *	  written at the keeper's next tick, at most a second later).
 *
 * Fire-and-forget slots are dropped when every slot is taken: they are
 * hints.  The compute workers publish the job they run and its progress
 * here, for fib_status().
 *
 * IDENTIFICATION
 *	  pg_fib/shmem.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "pg_fib.h"

#define FIB_SLOTS				256

/* How long a caller waits for a keeper that is not running. */
#define FIB_KEEPER_WAIT_MS		10000

typedef enum FibSlotState
{
	FIB_SLOT_POSTED = 1,		/* waiting for the keeper */
	FIB_SLOT_TAKEN,				/* the keeper is writing it */
	FIB_SLOT_ANSWERED			/* written (or refused, with an error) */
} FibSlotState;

typedef struct FibSlot
{
	FibSlotKind kind;
	FibSlotState state;
	Oid			database;
	uint64		n;
	int64		hits;
	uint64		ticket;			/* tells a REQUEST's caller its slot */
	bool		abandoned;		/* the caller stopped waiting */
	int			sqlerrcode;		/* the keeper's refusal, if error is set */
	char		error[256];
} FibSlot;

typedef struct FibWorkerState
{
	pid_t		pid;			/* 0 when not running */
	int			pgprocno;
	uint64		n;				/* the job it computes, when busy */
	bool		busy;
	double		progress;
} FibWorkerState;

typedef struct FibShared
{
	LWLock	   *lock;			/* protects everything below */
	pid_t		keeper_pid;
	int			keeper_pgprocno;
	uint64		next_ticket;
	ConditionVariable answered_cv;	/* the keeper answered a REQUEST */
	ConditionVariable jobs_cv;	/* a job ended, done or failed */
	FibWorkerState workers[PG_FIB_MAX_WORKERS];
	FibSlot		slots[FIB_SLOTS];
} FibShared;

static FibShared *fib_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static int	fib_my_worker_index = -1;

/*
 * The ticket of the REQUEST this backend waits for, if any: a backend
 * terminated while waiting (FATAL does not unwind through PG_FINALLY)
 * gives its slot back from fib_request_exit.
 */
static volatile uint64 fib_waiting_ticket = 0;
static bool fib_request_exit_registered = false;
static Oid	fib_queue_database = InvalidOid;

/* fib_shmem_request asks for pg_fib's shared memory and its lock. */
static void
fib_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(FibShared)));
	RequestNamedLWLockTranche("pg_fib", 1);
}

/* fib_shmem_startup creates or attaches pg_fib's shared memory. */
static void
fib_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	fib_shared = ShmemInitStruct("pg_fib", sizeof(FibShared), &found);
	if (!found)
	{
		memset(fib_shared, 0, sizeof(FibShared));
		fib_shared->lock = &(GetNamedLWLockTranche("pg_fib"))->lock;
		fib_shared->next_ticket = 1;
		ConditionVariableInit(&fib_shared->answered_cv);
		ConditionVariableInit(&fib_shared->jobs_cv);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * pg_fib_shmem_init installs the hooks that set up pg_fib's shared memory.
 * Called from _PG_init while shared_preload_libraries is processed.
 */
void
pg_fib_shmem_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = fib_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = fib_shmem_startup;
}

/*
 * pg_fib_is_queue_database tells whether this session is connected to the
 * database named by pg_fib.database, where the keeper writes.
 */
bool
pg_fib_is_queue_database(void)
{
	if (!OidIsValid(fib_queue_database))
		fib_queue_database = get_database_oid(pg_fib_database, true);
	return OidIsValid(fib_queue_database) && fib_queue_database == MyDatabaseId;
}

/* fib_wake_keeper sets the keeper's latch; called with the lock held. */
static void
fib_wake_keeper(void)
{
	if (fib_shared->keeper_pid != 0)
		SetLatch(&GetPGProcByNumber(fib_shared->keeper_pgprocno)->procLatch);
}

/*
 * fib_post_slot fills a free slot with a posting from this session and
 * wakes the keeper; called with the lock held.
 */
static void
fib_post_slot(FibSlot *slot, FibSlotKind kind, uint64 absn, uint64 ticket)
{
	slot->kind = kind;
	slot->state = FIB_SLOT_POSTED;
	slot->database = MyDatabaseId;
	slot->n = absn;
	slot->hits = kind == FIB_SLOT_REQUEST ? 0 : 1;
	slot->ticket = ticket;
	slot->abandoned = false;
	slot->error[0] = '\0';

	/*
	 * Hits wait for the keeper's next tick, where they are counted in one
	 * UPDATE per n: waking it for each would turn every memo read into a
	 * write.
	 */
	if (kind != FIB_SLOT_HIT)
		fib_wake_keeper();
}

/*
 * fib_post_hint posts a fire-and-forget slot, merged with one of the same
 * kind and n that the keeper has not taken yet, and dropped when every slot
 * is in use.
 */
static void
fib_post_hint(FibSlotKind kind, uint64 absn)
{
	int			free_slot = -1;
	int			i;

	if (fib_shared == NULL || !pg_fib_is_queue_database())
		return;

	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < FIB_SLOTS; i++)
	{
		FibSlot    *slot = &fib_shared->slots[i];

		if (slot->kind == FIB_SLOT_FREE)
		{
			if (free_slot < 0)
				free_slot = i;
		}
		else if (slot->kind == kind && slot->n == absn &&
				 slot->state == FIB_SLOT_POSTED)
		{
			slot->hits++;
			free_slot = -2;
			break;
		}
	}
	if (free_slot >= 0)
	{
		fib_post_slot(&fib_shared->slots[free_slot], kind, absn, 0);
	}
	LWLockRelease(fib_shared->lock);
}

/* pg_fib_post_memoize asks the keeper to memoize F(absn). */
void
pg_fib_post_memoize(uint64 absn)
{
	fib_post_hint(FIB_SLOT_MEMOIZE, absn);
}

/* pg_fib_post_hit tells the keeper that F(absn) was read from the memo. */
void
pg_fib_post_hit(uint64 absn)
{
	fib_post_hint(FIB_SLOT_HIT, absn);
}

/*
 * fib_abandon_request frees the slot of a REQUEST whose caller stops
 * waiting, or marks it for the keeper to free once answered.
 */
static void
fib_abandon_request(uint64 ticket)
{
	int			i;

	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < FIB_SLOTS; i++)
	{
		FibSlot    *slot = &fib_shared->slots[i];

		if (slot->kind == FIB_SLOT_REQUEST && slot->ticket == ticket)
		{
			if (slot->state == FIB_SLOT_TAKEN)
				slot->abandoned = true;
			else
				slot->kind = FIB_SLOT_FREE;
			break;
		}
	}
	LWLockRelease(fib_shared->lock);
}

/* fib_request_exit gives back the slot of a request left at exit. */
static void
fib_request_exit(int code, Datum arg)
{
	if (fib_waiting_ticket != 0)
		fib_abandon_request(fib_waiting_ticket);
	fib_waiting_ticket = 0;
}

/*
 * fib_keeper_unavailable raises the error of a REQUEST that no keeper
 * takes in.
 */
static void
fib_keeper_unavailable(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("the pg_fib keeper is not running"),
			 errdetail("Jobs are written to the queue by the \"pg_fib keeper\" background worker, which has not been seen for %d seconds.",
					   FIB_KEEPER_WAIT_MS / 1000),
			 errhint("Check the server log, and that pg_fib is in shared_preload_libraries.")));
}

/*
 * pg_fib_post_request asks the keeper to queue F(absn) and waits until the
 * job is committed, or until deadline when it is not 0.  It raises an error
 * if the keeper refused it, is not running, or did not answer by the
 * deadline; a cancel while waiting is honoured at once.
 */
void
pg_fib_post_request(uint64 absn, TimestampTz deadline)
{
	volatile uint64 ticket = 0;
	volatile TimestampTz keeper_missing_since = 0;
	char		error[256];
	volatile bool answered = false;
	volatile int sqlerrcode = 0;

	error[0] = '\0';
	if (!fib_request_exit_registered)
	{
		before_shmem_exit(fib_request_exit, (Datum) 0);
		fib_request_exit_registered = true;
	}
	ConditionVariablePrepareToSleep(&fib_shared->answered_cv);
	PG_TRY();
	{
		for (;;)
		{
			int			i;

			LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
			if (ticket == 0)
			{
				for (i = 0; i < FIB_SLOTS; i++)
				{
					if (fib_shared->slots[i].kind != FIB_SLOT_FREE)
						continue;
					ticket = fib_shared->next_ticket++;
					fib_waiting_ticket = ticket;
					fib_post_slot(&fib_shared->slots[i], FIB_SLOT_REQUEST, absn, ticket);
					break;
				}
			}
			else
			{
				for (i = 0; i < FIB_SLOTS; i++)
				{
					FibSlot    *slot = &fib_shared->slots[i];

					if (slot->kind == FIB_SLOT_REQUEST && slot->ticket == ticket &&
						slot->state == FIB_SLOT_ANSWERED)
					{
						strlcpy(error, slot->error, sizeof(error));
						sqlerrcode = slot->sqlerrcode;
						slot->kind = FIB_SLOT_FREE;
						answered = true;
						break;
					}
				}
			}
			if (fib_shared->keeper_pid == 0)
			{
				if (keeper_missing_since == 0)
					keeper_missing_since = GetCurrentTimestamp();
			}
			else
				keeper_missing_since = 0;
			LWLockRelease(fib_shared->lock);

			if (answered)
				break;
			if (keeper_missing_since != 0 &&
				TimestampDifferenceExceeds(keeper_missing_since,
										   GetCurrentTimestamp(),
										   FIB_KEEPER_WAIT_MS))
				fib_keeper_unavailable();
			if (deadline != 0 && GetCurrentTimestamp() >= deadline)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("could not queue F(" UINT64_FORMAT ") within the timeout", absn),
						 errdetail("The pg_fib keeper did not take the request in before the timeout passed."),
						 errhint("Call fib_wait(n) again with a longer timeout.")));

			(void) ConditionVariableTimedSleep(&fib_shared->answered_cv, 1000,
											   PG_WAIT_EXTENSION);
		}
	}
	PG_FINALLY();
	{
		ConditionVariableCancelSleep();
		if (ticket != 0 && !answered)
			fib_abandon_request(ticket);
		fib_waiting_ticket = 0;
	}
	PG_END_TRY();

	if (error[0] != '\0' && sqlerrcode == ERRCODE_CONFIGURATION_LIMIT_EXCEEDED)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not queue F(" UINT64_FORMAT "): the queue is full", absn),
				 errdetail("The pg_fib keeper reported: %s", error),
				 errhint("Try again when the queue has drained, or ask a superuser to raise \"pg_fib.max_queued\".")));
	if (error[0] != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not queue F(" UINT64_FORMAT ")", absn),
				 errdetail("The pg_fib keeper reported: %s", error),
				 errhint("Check that pg_fib is installed in the database named by \"pg_fib.database\".")));
}

/*
 * pg_fib_running_progress tells whether a worker is computing F(absn) now,
 * and if so how far it got.
 */
bool
pg_fib_running_progress(uint64 absn, double *progress)
{
	bool		found = false;
	int			i;

	if (fib_shared == NULL)
		return false;
	LWLockAcquire(fib_shared->lock, LW_SHARED);
	for (i = 0; i < PG_FIB_MAX_WORKERS; i++)
	{
		FibWorkerState *worker = &fib_shared->workers[i];

		if (worker->pid != 0 && worker->busy && worker->n == absn)
		{
			*progress = worker->progress;
			found = true;
			break;
		}
	}
	LWLockRelease(fib_shared->lock);
	return found;
}

/*
 * pg_fib_running_workers fills pids with the process ids of the compute
 * workers attached now and returns how many there are.
 */
int
pg_fib_running_workers(int *pids)
{
	int			count = 0;
	int			i;

	if (fib_shared == NULL)
		return 0;
	LWLockAcquire(fib_shared->lock, LW_SHARED);
	for (i = 0; i < PG_FIB_MAX_WORKERS; i++)
	{
		if (fib_shared->workers[i].pid != 0)
			pids[count++] = fib_shared->workers[i].pid;
	}
	LWLockRelease(fib_shared->lock);
	return count;
}

/* pg_fib_jobs_cv is the condition variable broadcast when a job ends. */
ConditionVariable *
pg_fib_jobs_cv(void)
{
	return &fib_shared->jobs_cv;
}

/* fib_keeper_detach forgets the keeper when it exits. */
static void
fib_keeper_detach(int code, Datum arg)
{
	int			i;

	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	fib_shared->keeper_pid = 0;
	/* Requests it had taken are posted again for its successor. */
	for (i = 0; i < FIB_SLOTS; i++)
	{
		if (fib_shared->slots[i].state == FIB_SLOT_TAKEN)
			fib_shared->slots[i].state = FIB_SLOT_POSTED;
	}
	LWLockRelease(fib_shared->lock);
}

/* pg_fib_keeper_attach announces the keeper, so that callers can wake it. */
void
pg_fib_keeper_attach(void)
{
	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	fib_shared->keeper_pid = MyProcPid;
	fib_shared->keeper_pgprocno = MyProc->pgprocno;
	LWLockRelease(fib_shared->lock);
	before_shmem_exit(fib_keeper_detach, (Datum) 0);
}

/*
 * pg_fib_keeper_take copies up to max posted slots of this database into
 * taken and marks them taken, memo hits only when include_hits;
 * fire-and-forget slots are freed at once.
 * Slots posted from another database are answered with an error.
 */
int
pg_fib_keeper_take(FibTakenSlot *taken, int max, bool include_hits)
{
	int			ntaken = 0;
	int			i;
	bool		refused = false;

	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < FIB_SLOTS && ntaken < max; i++)
	{
		FibSlot    *slot = &fib_shared->slots[i];

		if (slot->kind == FIB_SLOT_FREE || slot->state != FIB_SLOT_POSTED)
			continue;
		if (slot->kind == FIB_SLOT_HIT && !include_hits)
			continue;
		if (slot->database != MyDatabaseId)
		{
			if (slot->kind == FIB_SLOT_REQUEST)
			{
				snprintf(slot->error, sizeof(slot->error),
						 "requests are taken only in database \"%s\"",
						 pg_fib_database);
				slot->sqlerrcode = ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
				slot->state = FIB_SLOT_ANSWERED;
				refused = true;
			}
			else
				slot->kind = FIB_SLOT_FREE;
			continue;
		}
		taken[ntaken].index = i;
		taken[ntaken].kind = slot->kind;
		taken[ntaken].n = slot->n;
		taken[ntaken].hits = slot->hits;
		taken[ntaken].sqlerrcode = 0;
		taken[ntaken].error = NULL;
		ntaken++;
		if (slot->kind == FIB_SLOT_REQUEST)
			slot->state = FIB_SLOT_TAKEN;
		else
			slot->kind = FIB_SLOT_FREE;
	}
	LWLockRelease(fib_shared->lock);
	if (refused)
		ConditionVariableBroadcast(&fib_shared->answered_cv);
	return ntaken;
}

/*
 * pg_fib_keeper_answer marks the taken REQUEST slots answered and wakes
 * their callers: refused with error when it is not NULL (the keeper could
 * not write the batch), else with each slot's own refusal, if any.
 */
void
pg_fib_keeper_answer(const FibTakenSlot *taken, int ntaken, const char *error)
{
	int			i;

	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < ntaken; i++)
	{
		FibSlot    *slot = &fib_shared->slots[taken[i].index];

		if (taken[i].kind != FIB_SLOT_REQUEST || slot->kind != FIB_SLOT_REQUEST)
			continue;
		if (slot->abandoned)
		{
			slot->kind = FIB_SLOT_FREE;
			continue;
		}
		if (error != NULL)
		{
			strlcpy(slot->error, error, sizeof(slot->error));
			slot->sqlerrcode = ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
		}
		else if (taken[i].error != NULL)
		{
			strlcpy(slot->error, taken[i].error, sizeof(slot->error));
			slot->sqlerrcode = taken[i].sqlerrcode;
		}
		else
			slot->error[0] = '\0';
		slot->state = FIB_SLOT_ANSWERED;
	}
	LWLockRelease(fib_shared->lock);
	ConditionVariableBroadcast(&fib_shared->answered_cv);
}

/* fib_worker_detach forgets a compute worker when it exits. */
static void
fib_worker_detach(int code, Datum arg)
{
	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	fib_shared->workers[fib_my_worker_index].pid = 0;
	fib_shared->workers[fib_my_worker_index].busy = false;
	LWLockRelease(fib_shared->lock);
}

/* pg_fib_worker_attach announces compute worker number index. */
void
pg_fib_worker_attach(int index)
{
	Assert(index >= 0 && index < PG_FIB_MAX_WORKERS);
	fib_my_worker_index = index;
	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	fib_shared->workers[index].pid = MyProcPid;
	fib_shared->workers[index].pgprocno = MyProc->pgprocno;
	fib_shared->workers[index].busy = false;
	LWLockRelease(fib_shared->lock);
	before_shmem_exit(fib_worker_detach, (Datum) 0);
}

/*
 * pg_fib_worker_set_job publishes the job this worker computes (absn), or
 * that it computes none (absn == 0 and busy false).
 */
void
pg_fib_worker_set_job(uint64 absn)
{
	FibWorkerState *me = &fib_shared->workers[fib_my_worker_index];

	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	me->n = absn;
	me->busy = absn != 0;
	me->progress = 0;
	LWLockRelease(fib_shared->lock);
	if (absn == 0)
		ConditionVariableBroadcast(&fib_shared->jobs_cv);
}

/* pg_fib_worker_set_progress publishes how far this worker's job got. */
void
pg_fib_worker_set_progress(double progress)
{
	FibWorkerState *me = &fib_shared->workers[fib_my_worker_index];

	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	me->progress = progress;
	LWLockRelease(fib_shared->lock);
}

/* pg_fib_wake_workers sets the latch of every idle compute worker. */
void
pg_fib_wake_workers(void)
{
	int			i;

	LWLockAcquire(fib_shared->lock, LW_SHARED);
	for (i = 0; i < PG_FIB_MAX_WORKERS; i++)
	{
		FibWorkerState *worker = &fib_shared->workers[i];

		if (worker->pid != 0 && !worker->busy)
			SetLatch(&GetPGProcByNumber(worker->pgprocno)->procLatch);
	}
	LWLockRelease(fib_shared->lock);
}
