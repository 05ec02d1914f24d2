/*-------------------------------------------------------------------------
 *
 * queuememo.c
 *	  Reading the memo and the queue from a caller's query.
 *
 * A caller's query reads fib_memo and fib_jobs directly through their
 * primary keys, found from the calling function's own schema by OID:
 *
 *	- by identity, not by name: renaming the schema, or creating objects
 *	  named like pg_fib's elsewhere, changes nothing, and no SQL is parsed;
 *	- with no privilege check: the functions are the interface, and a role
 *	  with EXECUTE on them needs no privilege on the tables (the tables
 *	  grant nothing to PUBLIC);
 *	- with a fresh snapshot (outside parallel mode, where the query's own
 *	  must do): a job that fib_status() or fib_wait() reports done is
 *	  readable in the same REPEATABLE READ or SERIALIZABLE transaction;
 *	- with locks held by a resource owner of their own, which a caller
 *	  about to sleep in fib_wait() (or on the keeper) releases, so that it
 *	  holds no lock that VACUUM FULL or DROP EXTENSION, and the workers
 *	  behind them, would queue on, while the next read in the transaction
 *	  finds its locks held, as usual.
 *
 * A caller's query never writes the tables (see queueshmem.c).
 *
 * IDENTIFICATION
 *	  pg_fib/queuememo.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "access/detoast.h"
#include "access/genam.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "commands/dbcommands.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "port/pg_bswap.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "queue.h"
#include "settings.h"

/*
 * fib_table_oid returns the OID of pg_fib's table name in the schema
 * namespace.
 */
static Oid
fib_table_oid(Oid namespace, const char *name)
{
	Oid			relid = get_relname_relid(name, namespace);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table \"%s\" of extension \"pg_fib\" does not exist", name),
				 errhint("Drop and create extension \"pg_fib\" again.")));
	return relid;
}

/*
 * The tables' OIDs, looked up once per backend and schema: a memo hit costs
 * a microsecond or two, and a catalog lookup would be a good share of it.
 */
typedef struct FibTableCache
{
	Oid			namespace;
	Oid			relid;
} FibTableCache;

/*
 * The resource owner of the locks pg_fib's reads take, a child of the
 * transaction's, made for each transaction that reads (fib_reads_lxid
 * tells which; the transaction's end deletes it with its parent).  The
 * locks stay to the end of the transaction, as usual, so that the next
 * read in it finds them held, which keeps a memo hit cheap; but a caller
 * about to sleep gives them all back at once (pg_fib_release_read_locks),
 * and the locks the transaction took by itself are told apart by being
 * held by another owner.
 */
static ResourceOwner fib_reads_owner = NULL;
static LocalTransactionId fib_reads_lxid = InvalidLocalTransactionId;

/*
 * fib_lock_for_reading locks relation relid in AccessShareLock for the
 * current transaction, held by fib_reads_owner.  Nothing but the lock is
 * registered with that owner: the relation itself is opened with NoLock
 * under the caller's, so an error leaves nothing of the caller's behind.
 */
static void
fib_lock_for_reading(Oid relid)
{
	ResourceOwner caller = CurrentResourceOwner;

	if (fib_reads_owner == NULL || fib_reads_lxid != MyProc->lxid)
	{
		fib_reads_owner = ResourceOwnerCreate(TopTransactionResourceOwner, "pg_fib reads");
		fib_reads_lxid = MyProc->lxid;
	}
	CurrentResourceOwner = fib_reads_owner;
	LockRelationOid(relid, AccessShareLock);
	CurrentResourceOwner = caller;
}

/*
 * pg_fib_release_read_locks releases the locks pg_fib's reads took in this
 * transaction, before the caller sleeps: a VACUUM FULL or DROP EXTENSION
 * must not queue behind a sleeper, nor the workers behind them.
 */
void
pg_fib_release_read_locks(void)
{
	ResourceOwner caller = CurrentResourceOwner;

	if (fib_reads_owner == NULL || fib_reads_lxid != MyProc->lxid)
		return;
	/* the locks alone, without the release callbacks of a whole owner */
	CurrentResourceOwner = fib_reads_owner;
	LockReleaseCurrentOwner(NULL, 0);
	CurrentResourceOwner = caller;
}

/*
 * fib_open_table opens pg_fib's table name in the schema namespace, through
 * cache, checking that the cached OID still names that table (it may have
 * been dropped and created again).
 */
static Relation
fib_open_table(FibTableCache *cache, Oid namespace, const char *name)
{
	Relation	rel;

	if (cache->namespace == namespace && OidIsValid(cache->relid))
	{
		fib_lock_for_reading(cache->relid);
		rel = try_table_open(cache->relid, NoLock);
		if (rel != NULL && RelationGetNamespace(rel) == namespace &&
			strcmp(RelationGetRelationName(rel), name) == 0)
			return rel;
		if (rel != NULL)
			table_close(rel, NoLock);
	}
	cache->namespace = namespace;
	cache->relid = fib_table_oid(namespace, name);
	fib_lock_for_reading(cache->relid);
	return table_open(cache->relid, NoLock);
}

/* A function that copies what it needs out of a row fib_read_row found. */
typedef void (*FibRowReader) (TupleTableSlot *slot, void *arg);

static FibTableCache fib_memo_table = {InvalidOid, InvalidOid};
static FibTableCache fib_jobs_table = {InvalidOid, InvalidOid};

/*
 * fib_read_row looks up the row of n = absn in pg_fib's table (fib_memo or
 * fib_jobs) through its primary key, with a fresh snapshot outside parallel
 * mode, and calls reader on it while the table is open.  The locks on the
 * table, its index and its TOAST table are fib_reads_owner's.  Returns
 * whether there is such a row.
 */
static bool
fib_read_row(Oid namespace, FibTableCache *table, const char *name, uint64 absn,
			 FibRowReader reader, void *arg)
{
	Relation	rel;
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ScanKeyData key;
	Snapshot	snapshot;
	bool		found;

	if (IsInParallelMode())
		snapshot = RegisterSnapshot(GetActiveSnapshot());
	else
		snapshot = RegisterSnapshot(GetLatestSnapshot());

	rel = fib_open_table(table, namespace, name);
	fib_lock_for_reading(RelationGetPrimaryKeyIndex(rel));
	index = index_open(RelationGetPrimaryKeyIndex(rel), NoLock);
	slot = table_slot_create(rel, NULL);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum((int64) absn));
	scan = index_beginscan(rel, index, snapshot, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	if (found && reader != NULL)
	{
		slot_getallattrs(slot);
		reader(slot, arg);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, NoLock);
	table_close(rel, NoLock);
	UnregisterSnapshot(snapshot);
	return found;
}

/*
 * Values stored out of line up to this size are read into a buffer kept for
 * the backend's life: a memo hit of F(627177) reads 64 kB, and allocating
 * and freeing that much on every call costs more than the read itself (the
 * C library gives it back to the kernel each time).  Larger values are rare,
 * and too large to keep around.
 */
#define FIB_READ_BUFFER_MAX		(1024 * 1024)

static struct varlena *fib_read_buffer = NULL;
static int32 fib_read_buffer_size = 0;

/*
 * fib_read_value copies the value of a fib_memo row out of the table,
 * detoasted, with a 4-byte header: a value stored out of line, not
 * compressed (the column's storage is EXTERNAL) and not too large, into
 * fib_read_buffer, valid until the next read; any other in the current
 * memory context.
 */
static void
fib_read_value(TupleTableSlot *slot, void *arg)
{
	bytea	  **value = (bytea **) arg;
	struct varlena *datum = (struct varlena *) DatumGetPointer(slot->tts_values[Anum_fib_memo_value - 1]);
	struct varatt_external toast;
	int32		size;
	Relation	toastrel;

	if (!VARATT_IS_EXTERNAL_ONDISK(datum))
	{
		*value = (bytea *) (VARATT_IS_EXTENDED(datum) ? detoast_attr(datum) :
							PG_DETOAST_DATUM_COPY(PointerGetDatum(datum)));
		return;
	}
	VARATT_EXTERNAL_GET_POINTER(toast, datum);
	size = VARATT_EXTERNAL_GET_EXTSIZE(toast);
	if (VARATT_EXTERNAL_IS_COMPRESSED(toast) || size > FIB_READ_BUFFER_MAX)
	{
		*value = (bytea *) detoast_attr(datum);
		return;
	}
	if (size > fib_read_buffer_size)
	{
		if (fib_read_buffer != NULL)
			pfree(fib_read_buffer);
		fib_read_buffer = MemoryContextAlloc(TopMemoryContext, VARHDRSZ + size);
		fib_read_buffer_size = size;
	}
	fib_lock_for_reading(toast.va_toastrelid);
	toastrel = table_open(toast.va_toastrelid, NoLock);
	table_relation_fetch_toast_slice(toastrel, toast.va_valueid, size, 0, size, fib_read_buffer);
	table_close(toastrel, NoLock);
	SET_VARSIZE(fib_read_buffer, VARHDRSZ + size);
	*value = (bytea *) fib_read_buffer;
}

/*
 * pg_fib_memo_read returns the digits of |F(absn)| from the memo of the
 * schema namespace, or NULL when the memo has no such row.  The digits are
 * valid until the next call, or the end of the current memory context (see
 * fib_read_value).  It writes nothing; a hit is reported to the keeper,
 * which counts it.
 */
FibDigit *
pg_fib_memo_read(Oid namespace, uint64 absn, size_t *ndigits)
{
	bytea	   *value = NULL;
	FibDigit   *digits;

	if (!fib_read_row(namespace, &fib_memo_table, "fib_memo", absn, fib_read_value, &value))
		return NULL;
	digits = pg_fib_bytea_to_digits(value, absn, ndigits);
	pg_fib_post_hit(absn);
	return digits;
}

/* fib_read_job_row copies a fib_jobs row into a FibJobRow. */
static void
fib_read_job_row(TupleTableSlot *slot, void *arg)
{
	FibJobRow  *row = (FibJobRow *) arg;
	TupleDesc	tupdesc = slot->tts_tupleDescriptor;
	int			i;

	for (i = 0; i < FIB_JOB_NATTS; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		row->nulls[i] = slot->tts_isnull[i];
		if (row->nulls[i])
			row->values[i] = (Datum) 0;
		else if (att->attlen == -1)
			row->values[i] = PointerGetDatum(PG_DETOAST_DATUM_COPY(slot->tts_values[i]));
		else
			row->values[i] = datumCopy(slot->tts_values[i], att->attbyval, att->attlen);
	}
	row->state = pg_fib_job_state_from_name(TextDatumGetCString(row->values[Anum_fib_jobs_state - 1]));
}

/*
 * pg_fib_done_row fills row as a done job of F(n) whose value has digits
 * decimal digits, with nothing else known (finished_at, compute_ms NULL):
 * the one place a done row is made up rather than read from fib_jobs, for
 * a memo row read as a job and for a value computed inline (sqljobs.c).
 */
void
pg_fib_done_row(FibJobRow *row, int64 n, int64 digits)
{
	memset(row->nulls, true, sizeof(row->nulls));
	row->state = FIB_JOB_DONE;
	row->memoized = false;
	row->values[Anum_fib_jobs_n - 1] = Int64GetDatum(n);
	row->nulls[Anum_fib_jobs_n - 1] = false;
	row->values[Anum_fib_jobs_state - 1] = CStringGetTextDatum(pg_fib_job_state_name(FIB_JOB_DONE));
	row->nulls[Anum_fib_jobs_state - 1] = false;
	row->values[Anum_fib_jobs_progress - 1] = Float8GetDatum(1.0);
	row->nulls[Anum_fib_jobs_progress - 1] = false;
	row->values[Anum_fib_jobs_digits - 1] = Int64GetDatum(digits);
	row->nulls[Anum_fib_jobs_digits - 1] = false;
}

/* What fib_read_memo_row fills: a job row of F(n). */
typedef struct FibMemoJobArg
{
	FibJobRow  *row;
	int64		n;
} FibMemoJobArg;

/*
 * fib_read_memo_row fills a done job row from a memo row (finished_at is
 * when the value was computed).
 */
static void
fib_read_memo_row(TupleTableSlot *slot, void *arg)
{
	FibMemoJobArg *memo_job = (FibMemoJobArg *) arg;
	FibJobRow  *row = memo_job->row;

	pg_fib_done_row(row, memo_job->n,
					DatumGetInt64(slot->tts_values[Anum_fib_memo_digits - 1]));
	row->memoized = true;
	row->values[Anum_fib_jobs_finished_at - 1] = slot->tts_values[Anum_fib_memo_computed_at - 1];
	row->values[Anum_fib_jobs_compute_ms - 1] = slot->tts_values[Anum_fib_memo_compute_ms - 1];
	row->nulls[Anum_fib_jobs_finished_at - 1] = false;
	row->nulls[Anum_fib_jobs_compute_ms - 1] = false;
}

/*
 * pg_fib_memo_job_read reads the memo row of F(|n|) into row, as a done job
 * (finished_at is when it was computed), and returns whether there is one.
 */
bool
pg_fib_memo_job_read(Oid namespace, int64 n, FibJobRow *row)
{
	FibMemoJobArg memo_job = {row, n};

	return fib_read_row(namespace, &fib_memo_table, "fib_memo", pg_fib_abs(n),
						fib_read_memo_row, &memo_job);
}

/*
 * pg_fib_table_locked_by_me returns the name of pg_fib's table, fib_memo or
 * fib_jobs, on which this transaction holds a lock of any mode, or NULL.
 * Called after pg_fib_release_read_locks, so such a lock was taken by the
 * caller's own statements (a query of the table, a row lock).
 */
const char *
pg_fib_table_locked_by_me(Oid namespace)
{
	static const char *const names[] = {"fib_memo", "fib_jobs"};
	int			i;
	LOCKMODE	mode;

	for (i = 0; i < lengthof(names); i++)
	{
		LOCKTAG		tag;

		SET_LOCKTAG_RELATION(tag, MyDatabaseId, fib_table_oid(namespace, names[i]));
		for (mode = AccessShareLock; mode <= MaxLockMode; mode++)
		{
			if (LockHeldByMe(&tag, mode))
				return names[i];
		}
	}
	return NULL;
}

/*
 * pg_fib_delete_row deletes the row of n = absn from rel, one of pg_fib's
 * tables, if there is one: for the restore trigger, which the caller's
 * INSERT privilege on the table guards.
 */
void
pg_fib_delete_row(Relation rel, uint64 absn)
{
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ScanKeyData key;
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());

	index = index_open(RelationGetPrimaryKeyIndex(rel), RowExclusiveLock);
	slot = table_slot_create(rel, NULL);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum((int64) absn));
	scan = index_beginscan(rel, index, snapshot, 1, 0);
	index_rescan(scan, &key, 1, NULL, 0);
	if (index_getnext_slot(scan, ForwardScanDirection, slot))
		simple_table_tuple_delete(rel, &slot->tts_tid, snapshot);
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, NoLock);
	UnregisterSnapshot(snapshot);
}

/*
 * pg_fib_job_read reads the job of F(|n|), or failing one its memo row
 * (done), into row, allocated in the current memory context; n is the
 * row's n as the caller asked.  A running job's progress comes live from
 * its worker.  Returns false when there is neither.
 */
bool
pg_fib_job_read(Oid namespace, int64 n, FibJobRow *row)
{
	uint64		absn = pg_fib_abs(n);
	double		progress;

	if (fib_read_row(namespace, &fib_jobs_table, "fib_jobs", absn, fib_read_job_row, row))
		row->memoized = fib_read_row(namespace, &fib_memo_table, "fib_memo", absn,
									 NULL, NULL);
	else if (!pg_fib_memo_job_read(namespace, n, row))
		return false;

	row->values[Anum_fib_jobs_n - 1] = Int64GetDatum(n);
	row->nulls[Anum_fib_jobs_n - 1] = false;
	if (row->state == FIB_JOB_RUNNING && pg_fib_running_progress(absn, &progress))
		row->values[Anum_fib_jobs_progress - 1] = Float8GetDatum(progress);
	return true;
}

/*
 * pg_fib_memo_or_inline decides, for fib() and fib_text(), where F(n) comes
 * from.  It returns the digits of |F(n)| from the memo when |n| is worth a
 * memo row (or too large to compute inline) and the memo has it.  It returns
 * NULL when the caller is to compute F(n) inline, after handing a value
 * worth a memo row to the keeper.  An F(n) beyond pg_fib.sync_max_n that is
 * not in the memo is refused with SQLSTATE 55000.
 */
FibDigit *
pg_fib_memo_or_inline(Oid namespace, int64 n, size_t *ndigits)
{
	uint64		absn = pg_fib_abs(n);
	FibDigit   *digits;

	if (absn < (uint64) pg_fib_memo_min_n && absn <= (uint64) pg_fib_sync_max_n)
		return NULL;

	digits = pg_fib_memo_read(namespace, absn, ndigits);
	if (digits != NULL)
		return digits;
	if (absn > (uint64) pg_fib_sync_max_n)
	{
		if (pg_fib_is_queue_database())
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("F(" INT64_FORMAT ") is not in the memo yet", n),
					 errdetail("F(n) is computed inside a query only for |n| <= pg_fib.sync_max_n (%d); larger ones are computed by a background worker.",
							   pg_fib_sync_max_n),
					 errhint("Call fib_request(n) to queue it, then fib_wait(n) or fib_status(n).")));
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("F(" INT64_FORMAT ") is not in the memo yet", n),
				 errdetail("F(n) is computed inside a query only for |n| <= pg_fib.sync_max_n (%d); larger ones are computed by pg_fib's background workers, which work only in database \"%s\".",
						   pg_fib_sync_max_n, pg_fib_database),
				 OidIsValid(get_database_oid(pg_fib_database, true)) ?
				 errhint("Ask for F(n) in database \"%s\".", pg_fib_database) :
				 errhint("Database \"%s\" does not exist: create it, or set \"pg_fib.database\" to an existing database and restart the server.",
						 pg_fib_database)));
	}
	pg_fib_post_memoize(absn);
	return NULL;
}
