/*-------------------------------------------------------------------------
 *
 * queuebgworker.c
 *	  What the keeper and the compute workers share: their registration,
 *	  start-up, the transaction bracket around each unit of work, and error
 *	  recovery.
 *
 * Start-up connects to pg_fib.database and then fixes the settings the
 * workers' statements rely on, whatever the database or role defaults say
 * (read-only transactions, another isolation level, statement or lock
 * timeouts, exit_on_error, a search_path).  When pg_fib.database cannot be
 * reached, the keeper says so once and then waits quietly, connected to no
 * database, looking at the shared catalog pg_database every
 * FIB_CONNECT_POLL_MS until the database can be connected to, instead of
 * failing every second; the compute workers connect only after the keeper
 * did.
 *
 * IDENTIFICATION
 *	  pg_fib/queuebgworker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/genam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "queue.h"
#include "settings.h"

/*
 * How often the keeper looks whether an unreachable pg_fib.database can be
 * connected to now, and a compute worker whether the keeper has connected.
 */
#define FIB_CONNECT_POLL_MS		1000

/* True in pg_fib's own background workers (see the restore trigger). */
bool		pg_fib_is_background_worker = false;

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

/* fib_sleep sleeps for ms, or until SIGTERM or postmaster death. */
static void
fib_sleep(long ms)
{
	TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	for (;;)
	{
		long		left = (long) ((end - GetCurrentTimestamp()) / 1000);

		if (left <= 0)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * fib_database_usable tells whether database name exists and accepts
 * connections, from the shared catalog pg_database: for a process
 * connected to no database.
 */
static bool
fib_database_usable(const char *name)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	bool		usable = false;

	StartTransactionCommand();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_database_datname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum(name));
	scan = systable_beginscan(rel, DatabaseNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tuple);

		usable = db->datallowconn && db->datconnlimit != DATCONNLIMIT_INVALID_DB;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return usable;
}

/*
 * fib_wait_for_database holds a worker back until it may connect.  The
 * keeper connects at once the first time; after a failed attempt (the
 * FATAL of a missing database) it says why, once, connects to no database
 * and waits until pg_fib.database can be connected to, then exits to be
 * started again, and connect.  A compute worker waits until the keeper has
 * connected.
 */
static void
fib_wait_for_database(bool keeper)
{
	if (keeper)
	{
		int			failures = pg_fib_connect_event(FIB_CONNECT_ATTEMPT);

		if (failures == 0)
			return;
		if (failures == 1)
			ereport(WARNING,
					(errmsg("pg_fib could not connect to database \"%s\"", pg_fib_database),
					 errdetail("The database named by \"pg_fib.database\" does not exist or does not accept connections; the keeper and the workers wait for it."),
					 errhint("Create the database, or set \"pg_fib.database\" and restart the server.  pg_fib connects within seconds of the database becoming available.")));
		BackgroundWorkerInitializeConnection(NULL, NULL, 0);
		while (!fib_database_usable(pg_fib_database))
			fib_sleep(FIB_CONNECT_POLL_MS);
		(void) pg_fib_connect_event(FIB_CONNECT_DUE);
		proc_exit(1);
	}
	/* The keeper sets our latch once it has connected. */
	while (!pg_fib_keeper_connected())
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 FIB_CONNECT_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * fib_fix_settings overrides the settings the workers' statements rely on,
 * whatever the database's or the role's defaults.  The keeper waits at most
 * a second for a row lock (see queuekeeper.c); the compute workers' transactions
 * are short and wait as long as it takes, seen by the deadlock detector.
 */
static void
fib_fix_settings(bool keeper)
{
	static const char *const settings[][2] = {
		/* they run as the bootstrap superuser: pg_catalog's operators only */
		{"search_path", "pg_catalog, pg_temp"},
		{"default_transaction_read_only", "off"},
		{"default_transaction_isolation", "read committed"},
		{"default_transaction_deferrable", "off"},
		{"statement_timeout", "0"},
		{"idle_in_transaction_session_timeout", "0"},
		/* an error a worker catches must not end the process */
		{"exit_on_error", "off"},
		/* their statements are the serial plans they were written for */
		{"force_parallel_mode", "off"},
	};
	int			i;

	for (i = 0; i < lengthof(settings); i++)
		SetConfigOption(settings[i][0], settings[i][1], PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("lock_timeout", keeper ? CppAsString2(PG_FIB_KEEPER_LOCK_TIMEOUT_MS) "ms" : "0",
					PGC_SUSET, PGC_S_OVERRIDE);
	/* a job committed is durable, as fib_request() promised; stricter stays */
	if (strcmp(GetConfigOption("synchronous_commit", false, false), "off") == 0)
		SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);
}

/*
 * pg_fib_bgworker_start sets up signals, connects to pg_fib.database and
 * fixes the settings, as every pg_fib background worker does first.
 */
void
pg_fib_bgworker_start(bool keeper)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	pg_fib_is_background_worker = true;

	fib_wait_for_database(keeper);
	BackgroundWorkerInitializeConnection(pg_fib_database, NULL, 0);
	if (keeper)
	{
		(void) pg_fib_connect_event(FIB_CONNECTED);
		pg_fib_wake_workers();
	}
	fib_fix_settings(keeper);
}

/*
 * pg_fib_next_round begins a round of a worker's main loop: it takes in
 * the latch, interrupts and a configuration reload, and empties context,
 * the loop's memory, and makes it current.
 */
void
pg_fib_next_round(MemoryContext context)
{
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
	MemoryContextReset(context);
	MemoryContextSwitchTo(context);
}

/*
 * The bracket around each unit of work: a transaction with an SPI
 * connection and a snapshot.  pg_fib_commit returns to the memory context
 * that was current before pg_fib_begin (not TopMemoryContext, where a
 * commit leaves it).
 */
static MemoryContext fib_outer_context = NULL;

void
pg_fib_begin(const char *activity)
{
	fib_outer_context = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

void
pg_fib_commit(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(fib_outer_context);
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * pg_fib_recover ends a unit of work that raised an error, from PG_CATCH:
 * it logs the error whole (SQLSTATE, detail, hint, context) with what added
 * to its context, aborts the transaction if one is open, and returns in
 * context, with a copy of the error there for the caller.
 */
ErrorData *
pg_fib_recover(MemoryContext context, const char *what)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(context);
	errcontext("%s", what);
	EmitErrorReport();
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	MemoryContextSwitchTo(context);
	return edata;
}

/*
 * Innocent attempts.  When any server process crashes, the postmaster stops
 * all the others with SIGQUIT and restarts them; the jobs the compute
 * workers were running are then requeued, but they did not cause the
 * restart and their attempt must not count.  A compute worker that gets
 * SIGQUIT leaves a marker file pg_fib/quit.<pid> in the data directory on
 * its way out; a worker that crashes by itself (or is killed) leaves none.
 * The keeper reads the markers when it requeues orphaned jobs, and removes
 * them after that is committed.
 */
#define FIB_MARKER_DIR		"pg_fib"

static char fib_quit_marker[MAXPGPATH];

/* fib_quit_handler leaves the marker and exits, as a crash exit does. */
static void
fib_quit_handler(SIGNAL_ARGS)
{
	int			fd = open(fib_quit_marker, O_WRONLY | O_CREAT, S_IRUSR | S_IWUSR);

	if (fd >= 0)
		close(fd);
	_exit(2);
}

/* pg_fib_mark_quit_exit installs the marking SIGQUIT handler. */
void
pg_fib_mark_quit_exit(void)
{
	(void) MakePGDirectory(FIB_MARKER_DIR);
	snprintf(fib_quit_marker, sizeof(fib_quit_marker), "%s/quit.%d",
			 FIB_MARKER_DIR, (int) MyProcPid);
	pqsignal(SIGQUIT, fib_quit_handler);
}

/*
 * pg_fib_read_quit_markers fills pids with up to max pids of workers that
 * left a marker, and returns how many.
 */
int
pg_fib_read_quit_markers(int *pids, int max)
{
	DIR		   *dir = AllocateDir(FIB_MARKER_DIR);
	struct dirent *entry;
	int			count = 0;

	if (dir == NULL)
		return 0;
	while (count < max && (entry = ReadDirExtended(dir, FIB_MARKER_DIR, LOG)) != NULL)
	{
		int			pid;

		if (sscanf(entry->d_name, "quit.%d", &pid) == 1)
			pids[count++] = pid;
	}
	FreeDir(dir);
	return count;
}

/* pg_fib_remove_quit_markers removes the markers of pids. */
void
pg_fib_remove_quit_markers(const int *pids, int count)
{
	int			i;

	for (i = 0; i < count; i++)
	{
		char		path[MAXPGPATH];

		snprintf(path, sizeof(path), "%s/quit.%d", FIB_MARKER_DIR, pids[i]);
		(void) unlink(path);
	}
}
