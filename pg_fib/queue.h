/*-------------------------------------------------------------------------
 *
 * queue.h
 *	  The queue: shared memory, callers' requests, the memo's readers, the
 *	  statements on the tables, the fair queue, the keeper and the compute
 *	  workers (queue*.c).
 *
 * IDENTIFICATION
 *	  pg_fib/queue.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef QUEUE_H
#define QUEUE_H

#include "executor/spi.h"
#include "storage/condition_variable.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "fib.h"
#include "queuestate.h"
#include "queuevalue.h"

/*
 * The longest requester key fib_request(n, requester) accepts, in bytes
 * (each a printable ASCII character): a role name's length.
 */
#define PG_FIB_REQUESTER_MAX	63

/*
 * What the keeper answers to a request (see queuekeeper.c), with the numbers a
 * message needs.  queuerequest.c turns every outcome but FIB_OUTCOME_OK into the
 * caller's error, in one place.
 */
typedef enum FibOutcome
{
	FIB_OUTCOME_NONE = 0,		/* not answered yet */
	FIB_OUTCOME_OK,				/* the job is committed; state says how it stands */
	FIB_OUTCOME_QUEUE_FULL,		/* count jobs queued, limit pg_fib.max_queued */
	FIB_OUTCOME_ROLE_FULL,		/* count jobs of the role, limit its share */
	FIB_OUTCOME_REQUESTER_FULL, /* count jobs of the requester, limit its bound */
	FIB_OUTCOME_LOCKED,			/* the job's row stayed locked for limit ms */
	FIB_OUTCOME_WRONG_DATABASE, /* posted from another database */
	FIB_OUTCOME_NOT_INSTALLED,	/* no pg_fib in pg_fib.database */
	FIB_OUTCOME_WRONG_VERSION,	/* the installed version is not the library's */
	FIB_OUTCOME_UNSAFE_SCHEMA,	/* the owner of schema count is not a superuser */
	FIB_OUTCOME_ERROR			/* anything else; the keeper logged it */
} FibOutcome;

typedef struct FibAnswer
{
	FibOutcome	outcome;
	FibJobState state;
	int64		count;
	int64		limit;
} FibAnswer;

/* queueshmem.c: the callers' side */
extern void pg_fib_shmem_init(void);
extern bool pg_fib_is_queue_database(void);
extern void pg_fib_post_request(uint64 absn, const char *requester, uint64 wait_n);
extern bool pg_fib_poll_answer(FibAnswer *answer, bool *keeper_running);
extern bool pg_fib_wait_ended(void);
extern void pg_fib_release_slot(void);
extern ConditionVariable *pg_fib_answer_cv(void);
extern ConditionVariable *pg_fib_jobs_cv(void);
extern void pg_fib_post_memoize(uint64 absn);
extern void pg_fib_post_hit(uint64 absn);
extern bool pg_fib_running_progress(uint64 absn, double *progress);
extern void pg_fib_count_inline(double ms);
extern void pg_fib_inline_totals(int64 *count, double *ms);

/* queueshmem.c: the keeper's side */

/*
 * A request as a caller posts it in its slot (queueshmem.c) and the keeper
 * takes it, whole, with the answer the keeper writes back: its fields are
 * written once, here.
 */
typedef struct FibRequest
{
	uint64		generation;		/* of the slot, to drop an abandoned answer */
	Oid			database;
	uint64		n;
	NameData	role;
	char		requester[PG_FIB_REQUESTER_MAX + 1];	/* "" for the role as a whole */
	int			max_per_role;
	int			max_per_requester;
	FibAnswer	answer;
} FibRequest;

/* A request the keeper took, and the slot it answers into. */
typedef struct FibTakenRequest
{
	int			slot;
	FibRequest	request;
} FibTakenRequest;

typedef struct FibHint
{
	uint64		n;
	int64		hits;
} FibHint;

extern void pg_fib_keeper_attach(void);
extern int	pg_fib_take_requests(FibTakenRequest *taken, int max);
extern void pg_fib_answer_requests(const FibTakenRequest *taken, int ntaken);
extern int	pg_fib_take_memoize(uint64 *ns, int max);
extern int	pg_fib_take_hits(FibHint *hits, int max);
extern int	pg_fib_running_workers(int *pids);
extern void pg_fib_add_memo_bytes(int64 bytes);
extern int64 pg_fib_memo_bytes(void);
extern void pg_fib_set_memo_bytes(int64 bytes);
/* What happens to the keeper's connection to pg_fib.database (queueshmem.c). */
typedef enum FibConnectEvent
{
	FIB_CONNECT_ATTEMPT,		/* about to connect */
	FIB_CONNECT_DUE,			/* the database is there: connect at next start */
	FIB_CONNECTED				/* connected */
} FibConnectEvent;

extern int	pg_fib_connect_event(FibConnectEvent event);
extern bool pg_fib_keeper_connected(void);

/* queueshmem.c: the compute workers' side */
extern void pg_fib_worker_attach(int index);
extern void pg_fib_worker_set_job(uint64 absn);
extern void pg_fib_worker_set_progress(double progress);
extern void pg_fib_wake_workers(void);
extern void pg_fib_notify_job_ended(uint64 absn);

/* queuerequest.c */
extern FibJobState pg_fib_request(uint64 absn, const char *requester);
extern FibJobState pg_fib_request_and_wait(uint64 absn, TimestampTz answer_deadline,
										   TimestampTz deadline,
										   FibJobState (*read_state) (uint64 absn, void *arg),
										   void *arg);
extern void pg_fib_report_wrong_database(uint64 absn);

/* queuememo.c: the tables, and reading them from a caller's query */

/* The attributes of fib_memo and fib_jobs, as the install script creates them. */
#define Anum_fib_memo_n				1
#define Anum_fib_memo_value			2
#define Anum_fib_memo_digits		3
#define Anum_fib_memo_computed_at	4
#define Anum_fib_memo_compute_ms	5
#define Natts_fib_memo_read			5

#define Anum_fib_jobs_n				1
#define Anum_fib_jobs_state			2
#define Anum_fib_jobs_progress		3
#define Anum_fib_jobs_digits		4
#define Anum_fib_jobs_requested_at	5
#define Anum_fib_jobs_started_at	6
#define Anum_fib_jobs_finished_at	7
#define Anum_fib_jobs_compute_ms	8
#define Anum_fib_jobs_error			9

/* The columns of the fib_job type: fib_jobs' first nine. */
#define FIB_JOB_NATTS 9

/* One fib_job row, and whether the memo holds its value. */
typedef struct FibJobRow
{
	Datum		values[FIB_JOB_NATTS];
	bool		nulls[FIB_JOB_NATTS];
	FibJobState state;
	bool		memoized;
} FibJobRow;

extern FibDigit *pg_fib_memo_read(Oid namespace, uint64 absn, size_t *ndigits);
extern bool pg_fib_job_read(Oid namespace, int64 n, FibJobRow *row);
extern void pg_fib_release_read_locks(void);
extern const char *pg_fib_table_locked_by_me(Oid namespace);
extern bool pg_fib_memo_job_read(Oid namespace, int64 n, FibJobRow *row);
extern void pg_fib_done_row(FibJobRow *row, int64 n, int64 digits);
extern void pg_fib_delete_row(Relation rel, uint64 absn);
extern FibDigit *pg_fib_memo_or_inline(Oid namespace, int64 n, size_t *ndigits);

/* The schema of pg_fib in this database, found by identity, and whether it can be used. */
typedef struct FibSchema
{
	FibOutcome	status;			/* FIB_OUTCOME_OK when the workers may use it */
	Oid			namespace;
	char	   *quoted;			/* its name, quoted, for statements */
	Oid			owner;
} FibSchema;

/* Jobs that ended in a transaction, whose waiters are told after it commits. */
typedef struct FibEndedJobs
{
	int			count;
	bool		overflow;		/* more than fit: tell every waiter */
	uint64		n[64];
} FibEndedJobs;

/*
 * The jobs waiting in the queue, kept up to date across a keeper's batch:
 * those a role requested, which pg_fib.max_queued bounds, and all of them,
 * with the jobs queued to memoize a value, which are dropped beyond it.
 */
typedef struct FibQueued
{
	int64		requested;
	int64		all;
} FibQueued;

extern void pg_fib_find_schema(FibSchema *schema);
extern void pg_fib_schema_of(Oid namespace, FibSchema *schema);
extern void pg_fib_check_schema_owner(Oid namespace);
extern void pg_fib_report_unsafe_schema(int elevel, Oid namespace);

/*
 * The refusal of a schema not owned by a superuser, worded once: pg_fib's
 * keeper, workers and upkeep run as a superuser there, and its owner could
 * replace what they run.  pg_fib_report_unsafe_schema raises it; the
 * command pg_cron runs (sqljobs.c) raises it in SQL with the same words.
 * Neither contains a single quote or a percent sign, so that both fit in a
 * SQL literal and a format.
 */
#define PG_FIB_UNSAFE_SCHEMA_MESSAGE \
	"the schema of extension \"pg_fib\" is not owned by a superuser"
#define PG_FIB_UNSAFE_SCHEMA_HINT \
	"Make a superuser own the schema (ALTER SCHEMA ... OWNER TO), or install pg_fib in a schema only superusers own."
extern void pg_fib_jobs_request(const FibSchema *schema, FibRequest *req,
								FibQueued *queued);
extern void pg_fib_jobs_memoize(const FibSchema *schema, uint64 absn, FibQueued *queued);
extern void pg_fib_jobs_count_hits(const FibSchema *schema, const FibHint *hint);
extern void pg_fib_jobs_queued(const FibSchema *schema, FibQueued *queued);
extern bool pg_fib_jobs_claim(const FibSchema *schema, uint64 *absn);
extern void pg_fib_jobs_store(const FibSchema *schema, uint64 absn,
							  const FibDigit *digits, size_t ndigits, double compute_ms);
extern void pg_fib_jobs_end_attempt(const FibSchema *schema, uint64 absn, bool final,
									const char *error, FibEndedJobs *ended);
extern int	pg_fib_jobs_requeue_orphans(const FibSchema *schema, const int *innocent,
										int ninnocent, FibEndedJobs *ended);
extern void pg_fib_notify_ended(const FibEndedJobs *ended);
extern int	pg_fib_jobs_purge(const FibSchema *schema);
extern int	pg_fib_jobs_evict(const FibSchema *schema, int64 max_bytes, int64 *memo_bytes);

/* queuefair.c */

/*
 * The smallest start tags of the queued jobs, where there are any: among
 * every role's requested jobs, and among the requesting role's.
 */
typedef struct FibQueueHeads
{
	bool		queued;
	int64		start_tag;
	bool		queued_in_role;
	int64		start_tag_in_role;
} FibQueueHeads;

extern void pg_fib_fair_tags(const NameData *role, const char *requester,
							 const FibQueueHeads *heads, int64 *start_tag,
							 int64 *start_tag_in_role);
extern void pg_fib_fair_queued(const NameData *role, const char *requester,
							   int64 start_tag, int64 start_tag_in_role);
extern void pg_fib_fair_forget(void);

/* queuebgworker.c */

/*
 * The keeper's lock_timeout: how long it waits for a job's row that a
 * caller's transaction holds before it answers FIB_OUTCOME_LOCKED, which
 * tells the caller this number.
 */
#define PG_FIB_KEEPER_LOCK_TIMEOUT_MS	1000

extern bool pg_fib_is_background_worker;
extern void pg_fib_register_workers(void);
extern void pg_fib_bgworker_start(bool keeper);
extern void pg_fib_next_round(MemoryContext context);
extern void pg_fib_begin(const char *activity);
extern void pg_fib_commit(void);
extern ErrorData *pg_fib_recover(MemoryContext context, const char *what);
extern void pg_fib_mark_quit_exit(void);
extern int	pg_fib_read_quit_markers(int *pids, int max);
extern void pg_fib_remove_quit_markers(const int *pids, int count);

/* queuekeeper.c, queueworker.c */
extern PGDLLEXPORT void pg_fib_keeper_main(Datum main_arg);
extern PGDLLEXPORT void pg_fib_worker_main(Datum main_arg);

#endif							/* QUEUE_H */
