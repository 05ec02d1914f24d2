/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  pg_fib's shared memory: the callers' request slots, the hints for the
 *	  keeper, and the state of the keeper and the compute workers.
 *
 * A caller's query never writes: fib() must work in read-only transactions
 * and on a hot standby, and must never wait on another session's row.  So
 * whatever a query wants persisted goes through this shared memory to the
 * keeper, a background worker that writes it in transactions of its own:
 *
 *	- requests: fib_request(n) and fib_wait(n) want F(n) queued.  Every
 *	  backend has a request slot of its own (indexed by its PGPROC number), so
 *	  a request never finds the slots full.  A slot's one life-cycle field,
 *	  phase, goes IDLE -> POSTED -> TAKEN (by the keeper) -> ANSWERED ->
 *	  IDLE; its generation, bumped at every post, tells the keeper's answer
 *	  to an abandoned request from the answer to the current one.  The same
 *	  slot registers the job a fib_wait() sleeps on, which the compute
 *	  workers flag when the job ends;
 *	- memoize hints: a query computed a value worth keeping;
 *	- hit hints: a query found a value in the memo (counted at the keeper's
 *	  next tick, at most a second later).
 *
 * Hints are fire and forget: each kind has a table of its own, merged by n,
 * and a hint is dropped only when its own table is full, so that hits never
 * crowd out values to keep.  The compute workers publish the job they run
 * and its progress here, for fib_status().
 *
 * IDENTIFICATION
 *	  pg_fib/shmem.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/twophase.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/builtins.h"

#include "pg_fib.h"

/* The size of each hint table: a power of two, for open addressing. */
#define FIB_HINT_SLOTS			1024

/* How many places a hint looks at before it is dropped. */
#define FIB_HINT_PROBES			16

typedef enum FibSlotPhase
{
	FIB_SLOT_IDLE = 0,
	FIB_SLOT_POSTED,			/* waiting for the keeper */
	FIB_SLOT_TAKEN,				/* the keeper is writing it */
	FIB_SLOT_ANSWERED			/* answer holds the outcome */
} FibSlotPhase;

typedef struct FibRequestSlot
{
	FibSlotPhase phase;
	uint64		generation;
	Oid			database;
	uint64		n;
	NameData	role;
	char		requester[PG_FIB_REQUESTER_MAX + 1];	/* "" for the role as a whole */
	int			max_per_role;
	int			max_per_requester;
	FibAnswer	answer;
	uint64		wait_n;			/* fib_wait() sleeps on this job, if not 0 */
	bool		wait_ended;		/* ... and a worker saw it end */
	/* F(n) computed inside queries of this slot's backends, for fib_stats */
	int64		inline_count;
	double		inline_ms;
} FibRequestSlot;

/* A hint table: n + 1 as the key (0 marks a free entry), and a count. */
typedef struct FibHintTable
{
	int			used;
	FibHint		entries[FIB_HINT_SLOTS];
} FibHintTable;

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
	bool		keeper_connected;	/* the keeper reached pg_fib.database */
	int			connect_failures;	/* keeper starts that did not connect */
	int64		memo_bytes;		/* the memo's size as far as the keeper knows */
	ConditionVariable answer_cv;	/* the keeper answered requests */
	ConditionVariable jobs_cv;	/* a job ended, done or failed */
	FibWorkerState workers[PG_FIB_MAX_WORKERS];
	FibHintTable memoize;
	FibHintTable hits;
	int			nslots;
	FibRequestSlot slots[FLEXIBLE_ARRAY_MEMBER];
} FibShared;

static FibShared *fib_shared = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static int	fib_my_worker_index = -1;
static Oid	fib_queue_database = InvalidOid;

/* fib_slot_count is the number of PGPROCs, hence of request slots. */
static int
fib_slot_count(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts;
}

/* fib_shmem_size is the size of pg_fib's shared memory. */
static Size
fib_shmem_size(void)
{
	return add_size(offsetof(FibShared, slots),
					mul_size(fib_slot_count(), sizeof(FibRequestSlot)));
}

/* fib_shmem_request asks for pg_fib's shared memory and its lock. */
static void
fib_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(fib_shmem_size()));
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
	fib_shared = ShmemInitStruct("pg_fib", fib_shmem_size(), &found);
	if (!found)
	{
		memset(fib_shared, 0, fib_shmem_size());
		fib_shared->lock = &(GetNamedLWLockTranche("pg_fib"))->lock;
		fib_shared->memo_bytes = -1;
		fib_shared->nslots = fib_slot_count();
		ConditionVariableInit(&fib_shared->answer_cv);
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

/* fib_my_slot is this backend's request slot. */
static FibRequestSlot *
fib_my_slot(void)
{
	Assert(MyProc->pgprocno < fib_shared->nslots);
	return &fib_shared->slots[MyProc->pgprocno];
}

/* fib_wake_keeper sets the keeper's latch; called with the lock held. */
static void
fib_wake_keeper(void)
{
	if (fib_shared->keeper_pid != 0)
		SetLatch(&GetPGProcByNumber(fib_shared->keeper_pgprocno)->procLatch);
}

/*
 * pg_fib_post_request posts a request for F(absn) in this backend's slot,
 * as the current role with its own share of the queue, for requester (NULL
 * for the role as a whole, else a key fib_request checked) with this
 * session's share for it, and wakes the keeper.  When wait_n is not 0, the
 * slot also registers that this backend will sleep until the job of
 * F(wait_n) ends.
 */
void
pg_fib_post_request(uint64 absn, const char *requester, uint64 wait_n)
{
	FibRequestSlot *slot = fib_my_slot();
	char	   *role = GetUserNameFromId(GetUserId(), false);

	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	slot->generation++;
	slot->phase = FIB_SLOT_POSTED;
	slot->database = MyDatabaseId;
	slot->n = absn;
	namestrcpy(&slot->role, role);
	strlcpy(slot->requester, requester != NULL ? requester : "", sizeof(slot->requester));
	slot->max_per_role = pg_fib_max_queued_per_role;
	slot->max_per_requester = pg_fib_max_queued_per_requester;
	memset(&slot->answer, 0, sizeof(slot->answer));
	slot->wait_n = wait_n;
	slot->wait_ended = false;
	fib_wake_keeper();
	LWLockRelease(fib_shared->lock);
}

/*
 * pg_fib_poll_answer copies the keeper's answer to this backend's request
 * and returns true once there is one.  keeper_running tells whether a
 * keeper is attached.
 */
bool
pg_fib_poll_answer(FibAnswer *answer, bool *keeper_running)
{
	FibRequestSlot *slot = fib_my_slot();
	bool		answered;

	LWLockAcquire(fib_shared->lock, LW_SHARED);
	answered = slot->phase == FIB_SLOT_ANSWERED;
	if (answered)
		*answer = slot->answer;
	*keeper_running = fib_shared->keeper_pid != 0;
	LWLockRelease(fib_shared->lock);
	return answered;
}

/*
 * pg_fib_wait_ended tells whether a worker saw the job this backend waits
 * on end since the last call, and forgets it.
 */
bool
pg_fib_wait_ended(void)
{
	FibRequestSlot *slot = fib_my_slot();
	bool		ended;

	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	ended = slot->wait_ended;
	slot->wait_ended = false;
	LWLockRelease(fib_shared->lock);
	return ended;
}

/*
 * pg_fib_release_slot gives this backend's slot back: an answer the keeper
 * still has to write is then ignored.  Safe to call at any time, from error
 * cleanup too.
 */
void
pg_fib_release_slot(void)
{
	FibRequestSlot *slot;

	if (fib_shared == NULL || MyProc == NULL)
		return;
	slot = fib_my_slot();
	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	slot->phase = FIB_SLOT_IDLE;
	slot->wait_n = 0;
	slot->wait_ended = false;
	LWLockRelease(fib_shared->lock);
}

/*
 * pg_fib_count_inline counts an F(n) computed inside this backend's query,
 * and the time it took.  Only the backend writes its own slot's counters
 * (no lock: fib(n) of a small n costs less than taking one); readers add
 * them up.
 */
void
pg_fib_count_inline(double ms)
{
	FibRequestSlot *slot;

	if (fib_shared == NULL || MyProc == NULL)
		return;
	slot = fib_my_slot();
	slot->inline_count++;
	slot->inline_ms += ms;
}

/* pg_fib_inline_totals adds up the inline computations since the server started. */
void
pg_fib_inline_totals(int64 *count, double *ms)
{
	int			i;

	*count = 0;
	*ms = 0;
	for (i = 0; i < fib_shared->nslots; i++)
	{
		*count += fib_shared->slots[i].inline_count;
		*ms += fib_shared->slots[i].inline_ms;
	}
}

/* pg_fib_answer_cv is the condition variable broadcast when requests are answered. */
ConditionVariable *
pg_fib_answer_cv(void)
{
	return &fib_shared->answer_cv;
}

/* pg_fib_jobs_cv is the condition variable broadcast when a job ends. */
ConditionVariable *
pg_fib_jobs_cv(void)
{
	return &fib_shared->jobs_cv;
}

/*
 * fib_hint_add counts a hint for absn in table, merged with one for the
 * same n; dropped when no free entry is found near its place.  Called with
 * the lock held.
 */
static void
fib_hint_add(FibHintTable *table, uint64 absn)
{
	uint64		key = absn + 1;
	uint32		place = (uint32) (key * UINT64CONST(0x9E3779B97F4A7C15) >> 32);
	int			probe;

	for (probe = 0; probe < FIB_HINT_PROBES; probe++)
	{
		FibHint    *entry = &table->entries[(place + probe) % FIB_HINT_SLOTS];

		if (entry->n == key)
		{
			entry->hits++;
			return;
		}
		if (entry->n == 0)
		{
			entry->n = key;
			entry->hits = 1;
			table->used++;
			return;
		}
	}
}

/*
 * fib_hint_take moves up to max hints out of table into hints and returns
 * how many.  Called with the lock held.
 */
static int
fib_hint_take(FibHintTable *table, FibHint *hints, int max)
{
	int			taken = 0;
	int			i;

	for (i = 0; i < FIB_HINT_SLOTS && taken < max && table->used > 0; i++)
	{
		FibHint    *entry = &table->entries[i];

		if (entry->n == 0)
			continue;
		hints[taken].n = entry->n - 1;
		hints[taken].hits = entry->hits;
		taken++;
		entry->n = 0;
		entry->hits = 0;
		table->used--;
	}
	return taken;
}

/*
 * fib_post_hint posts a hint from a query in the queue database; hints
 * from elsewhere would only be thrown away by the keeper.
 */
static void
fib_post_hint(FibHintTable *table, uint64 absn, bool wake)
{
	if (fib_shared == NULL || !pg_fib_is_queue_database())
		return;
	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	fib_hint_add(table, absn);
	if (wake)
		fib_wake_keeper();
	LWLockRelease(fib_shared->lock);
}

/* pg_fib_post_memoize asks the keeper to memoize F(absn). */
void
pg_fib_post_memoize(uint64 absn)
{
	fib_post_hint(&fib_shared->memoize, absn, true);
}

/*
 * pg_fib_post_hit tells the keeper that F(absn) was read from the memo.
 * Hits wait for the keeper's next tick, where they are counted in one
 * UPDATE per n: waking it for each would turn every memo read into a write.
 */
void
pg_fib_post_hit(uint64 absn)
{
	fib_post_hint(&fib_shared->hits, absn, false);
}

/* pg_fib_take_memoize moves up to max memoize hints into ns. */
int
pg_fib_take_memoize(uint64 *ns, int max)
{
	FibHint		hints[64];
	int			taken;
	int			i;

	max = Min(max, lengthof(hints));
	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	taken = fib_hint_take(&fib_shared->memoize, hints, max);
	LWLockRelease(fib_shared->lock);
	for (i = 0; i < taken; i++)
		ns[i] = hints[i].n;
	return taken;
}

/* pg_fib_take_hits moves up to max hit counts into hits. */
int
pg_fib_take_hits(FibHint *hits, int max)
{
	int			taken;

	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	taken = fib_hint_take(&fib_shared->hits, hits, max);
	LWLockRelease(fib_shared->lock);
	return taken;
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

	LWLockAcquire(fib_shared->lock, LW_SHARED);
	for (i = 0; i < PG_FIB_MAX_WORKERS; i++)
	{
		if (fib_shared->workers[i].pid != 0)
			pids[count++] = fib_shared->workers[i].pid;
	}
	LWLockRelease(fib_shared->lock);
	return count;
}

/* fib_keeper_detach forgets the keeper when it exits. */
static void
fib_keeper_detach(int code, Datum arg)
{
	int			i;

	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	fib_shared->keeper_pid = 0;
	fib_shared->keeper_connected = false;
	/* Requests it had taken are posted again for its successor. */
	for (i = 0; i < fib_shared->nslots; i++)
	{
		if (fib_shared->slots[i].phase == FIB_SLOT_TAKEN)
			fib_shared->slots[i].phase = FIB_SLOT_POSTED;
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
 * pg_fib_take_requests copies up to max posted requests of this database
 * into taken and marks them taken.  Requests posted from another database
 * are answered at once.
 */
int
pg_fib_take_requests(FibTakenRequest *taken, int max)
{
	int			ntaken = 0;
	bool		refused = false;
	int			i;

	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < fib_shared->nslots && ntaken < max; i++)
	{
		FibRequestSlot *slot = &fib_shared->slots[i];

		if (slot->phase != FIB_SLOT_POSTED)
			continue;
		if (slot->database != MyDatabaseId)
		{
			slot->answer.outcome = FIB_OUTCOME_WRONG_DATABASE;
			slot->phase = FIB_SLOT_ANSWERED;
			refused = true;
			continue;
		}
		taken[ntaken].slot = i;
		taken[ntaken].generation = slot->generation;
		taken[ntaken].database = slot->database;
		taken[ntaken].n = slot->n;
		taken[ntaken].role = slot->role;
		memcpy(taken[ntaken].requester, slot->requester, sizeof(slot->requester));
		taken[ntaken].max_per_role = slot->max_per_role;
		taken[ntaken].max_per_requester = slot->max_per_requester;
		memset(&taken[ntaken].answer, 0, sizeof(FibAnswer));
		slot->phase = FIB_SLOT_TAKEN;
		ntaken++;
	}
	LWLockRelease(fib_shared->lock);
	if (refused)
		ConditionVariableBroadcast(&fib_shared->answer_cv);
	return ntaken;
}

/*
 * pg_fib_answer_requests writes the keeper's answers into the slots of the
 * taken requests whose callers still wait for them, and wakes the callers.
 */
void
pg_fib_answer_requests(const FibTakenRequest *taken, int ntaken)
{
	int			i;

	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < ntaken; i++)
	{
		FibRequestSlot *slot = &fib_shared->slots[taken[i].slot];

		if (slot->phase != FIB_SLOT_TAKEN || slot->generation != taken[i].generation)
			continue;			/* abandoned by its caller */
		slot->answer = taken[i].answer;
		slot->phase = FIB_SLOT_ANSWERED;
	}
	LWLockRelease(fib_shared->lock);
	ConditionVariableBroadcast(&fib_shared->answer_cv);
}

/*
 * pg_fib_notify_job_ended flags the backends that wait on the job of
 * F(absn), or on any job when absn is 0, and wakes them; called after the
 * transaction that ended it committed.
 */
void
pg_fib_notify_job_ended(uint64 absn)
{
	int			i;

	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	for (i = 0; i < fib_shared->nslots; i++)
	{
		if (fib_shared->slots[i].wait_n != 0 &&
			(absn == 0 || fib_shared->slots[i].wait_n == absn))
			fib_shared->slots[i].wait_ended = true;
	}
	LWLockRelease(fib_shared->lock);
	ConditionVariableBroadcast(&fib_shared->jobs_cv);
}

/*
 * The memo's size as the keeper knows it: set exactly when it measures,
 * raised by the workers as they store values, -1 until first measured.
 */
void
pg_fib_add_memo_bytes(int64 bytes)
{
	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	if (fib_shared->memo_bytes >= 0)
		fib_shared->memo_bytes += bytes;
	LWLockRelease(fib_shared->lock);
}

int64
pg_fib_memo_bytes(void)
{
	int64		bytes;

	LWLockAcquire(fib_shared->lock, LW_SHARED);
	bytes = fib_shared->memo_bytes;
	LWLockRelease(fib_shared->lock);
	return bytes;
}

void
pg_fib_set_memo_bytes(int64 bytes)
{
	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	fib_shared->memo_bytes = bytes;
	LWLockRelease(fib_shared->lock);
}

/*
 * pg_fib_connect_event keeps count of the keeper's attempts to connect to
 * pg_fib.database, and returns how many attempts before this event failed:
 * FIB_CONNECT_ATTEMPT counts an attempt about to be made (it counts as
 * failed until FIB_CONNECTED); FIB_CONNECT_DUE, once the keeper has seen
 * the database usable, makes the next attempt a first one; FIB_CONNECTED
 * resets the count and tells the compute workers that they may connect.
 */
int
pg_fib_connect_event(FibConnectEvent event)
{
	int			failures;

	LWLockAcquire(fib_shared->lock, LW_EXCLUSIVE);
	failures = fib_shared->connect_failures;
	switch (event)
	{
		case FIB_CONNECT_ATTEMPT:
			fib_shared->connect_failures++;
			break;
		case FIB_CONNECT_DUE:
			fib_shared->connect_failures = 0;
			break;
		case FIB_CONNECTED:
			fib_shared->connect_failures = 0;
			fib_shared->keeper_connected = true;
			break;
	}
	LWLockRelease(fib_shared->lock);
	return failures;
}

/* pg_fib_keeper_connected tells whether the keeper reached pg_fib.database. */
bool
pg_fib_keeper_connected(void)
{
	bool		connected;

	LWLockAcquire(fib_shared->lock, LW_SHARED);
	connected = fib_shared->keeper_connected;
	LWLockRelease(fib_shared->lock);
	return connected;
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
 * that it computes none (absn == 0).
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
