/*-------------------------------------------------------------------------
 *
 * pg_fib.h
 *	  Declarations shared by the modules of the pg_fib extension.
 *
 * pg_fib computes exact Fibonacci numbers inside PostgreSQL on GMP.  Each
 * module owns one responsibility:
 *	 settings.c		the configuration variables
 *	 fibcore.c		the GMP arithmetic and its memory
 *	 fibdecimal.c	interruptible conversion to decimal, and text output
 *	 fibnumeric.c	conversion to numeric
 *	 fibmod.c		modular Fibonacci numbers in machine integers
 *	 fibdigits.c	addition and subtraction of base-10000 numbers in place
 *	 fibabout.c		fib_digits(), fib_leading(), fib_trailing() for every n
 *	 shmem.c		shared memory: callers' request slots, hints for the
 *					keeper, the workers' state
 *	 request.c		a caller's side of a request to the keeper: post, wait,
 *					report
 *	 memo.c			the memo's value format, and reading the memo and the
 *					queue from a caller's query, by the tables' identity
 *	 jobs.c			every statement the keeper, the workers and
 *					fib_maintain() run on the tables, and the job states
 *	 fairtags.c		the fair queue's start tags: the keeper's virtual
 *					clocks and each role's and requester's last turn
 *	 bgworker.c		what the keeper and the compute workers share: start-up,
 *					the transaction bracket, error recovery
 *	 keeper.c		the keeper
 *	 worker.c		the compute workers
 *	 fibfuncs.c		fib() and fib_mod()
 *	 fibseries.c	fib_series_values(): runs of consecutive F(n)
 *	 jobfuncs.c		fib_text(), fib_request(), fib_status(), fib_wait(),
 *					fib_maintain() and the restore trigger
 *
 * IDENTIFICATION
 *	  pg_fib/pg_fib.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_FIB_H
#define PG_FIB_H

#include <gmp.h>

#include "executor/spi.h"
#include "storage/condition_variable.h"
#include "utils/timestamp.h"
#include "utils/numeric.h"
#include "utils/rel.h"

/*
 * The largest n for which F(n) fits in numeric, whose values have at most
 * 131072 decimal digits before the point: F(627177) has 131072 digits and
 * F(627178) has 131073.  The regression tests check both sides.
 */
#define PG_FIB_NUMERIC_MAX_N	627177

/* The largest n whose F(n) fits in int64: F(92) = 7540113804746346429. */
#define PG_FIB_INT64_MAX_N		92

/* The most compute workers pg_fib.workers may ask for. */
#define PG_FIB_MAX_WORKERS		32

/*
 * The longest requester key fib_request(n, requester) accepts, in bytes
 * (each a printable ASCII character): a role name's length.
 */
#define PG_FIB_REQUESTER_MAX	63

/*
 * A base-10000 digit, as numeric stores them.  The memo keeps |F(n)| as an
 * array of them, most significant first, little-endian.
 */
typedef int16 FibDigit;

/* settings.c */
extern int	pg_fib_max_n;
extern int	pg_fib_sync_max_n;
extern int	pg_fib_memo_min_n;
extern int	pg_fib_workers;
extern char *pg_fib_database;
extern int	pg_fib_max_queued;
extern int	pg_fib_max_queued_per_role;
extern int	pg_fib_max_queued_per_requester;
extern int	pg_fib_max_attempts;
extern int	pg_fib_job_retention;
extern int	pg_fib_memo_max_size;
extern void pg_fib_settings_init(void);

/* fibcore.c */

/*
 * Called between the steps of a long computation with the fraction of the
 * work done so far, in [0, 1].
 */
typedef void (*FibProgressCallback) (double fraction, void *arg);

/*
 * The state of one GMP computation: the memory context that holds every
 * limb GMP allocates for it, and the allocation functions that were installed
 * before it began.
 */
typedef struct FibArena
{
	MemoryContext context;
	MemoryContext caller_context;
	void	   *(*saved_alloc) (size_t);
	void	   *(*saved_realloc) (void *, size_t, size_t);
	void		(*saved_free) (void *, size_t);
} FibArena;

extern uint64 pg_fib_abs(int64 n);
extern bool pg_fib_fib_is_negative(int64 n);
extern uint64 pg_fib_small(uint64 absn);
extern double pg_fib_decimal_digits(uint64 n);
extern void pg_fib_check_max_n(int64 n);
extern void pg_fib_arena_begin(FibArena *arena);
extern void pg_fib_arena_end(FibArena *arena);
extern void pg_fib_compute(mpz_t result, int64 n,
						   FibProgressCallback progress, void *progress_arg);

/* Turns a computed F(n) into the datum a SQL function returns. */
typedef Datum (*FibConvertFunction) (const mpz_t value);

extern Datum pg_fib_compute_datum(int64 n, FibConvertFunction convert);

/* fibdecimal.c */
extern FibDigit *pg_fib_mpz_to_digits(const mpz_t value, size_t *ndigits,
									  FibProgressCallback progress,
									  void *progress_arg);
extern int64 pg_fib_digits_decimal_count(const FibDigit *digits, size_t ndigits);
extern text *pg_fib_digits_to_text(const FibDigit *digits, size_t ndigits,
								   bool negative);
extern text *pg_fib_mpz_to_text(const mpz_t value);

/* fibnumeric.c */
extern Numeric pg_fib_digits_to_numeric(const FibDigit *digits, size_t ndigits,
										bool negative);
extern Numeric pg_fib_mpz_to_numeric(const mpz_t value);

/* fibmod.c */
extern uint64 pg_fib_mod_abs(uint64 absn, uint64 m);
extern uint64 pg_fib_mod(int64 n, uint64 m);

/* fibdigits.c */
extern void pg_fib_digits_add(FibDigit *x, const FibDigit *y, size_t start, size_t end);
extern void pg_fib_digits_subtract(FibDigit *x, const FibDigit *y, size_t start, size_t end);

/* fibfuncs.c */
extern void pg_fib_check_numeric_range(int64 n);

/*
 * The states of a job, named once: jobs.c writes them into fib_jobs.state
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

/*
 * What the keeper answers to a request (see keeper.c), with the numbers a
 * message needs.  request.c turns every outcome but FIB_OUTCOME_OK into the
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
	FIB_OUTCOME_UNSAFE_SCHEMA,	/* the schema's owner is not a superuser */
	FIB_OUTCOME_ERROR			/* anything else; the keeper logged it */
} FibOutcome;

typedef struct FibAnswer
{
	FibOutcome	outcome;
	FibJobState state;
	int64		count;
	int64		limit;
} FibAnswer;

/* shmem.c: the callers' side */
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

/* shmem.c: the keeper's side */
typedef struct FibTakenRequest
{
	int			slot;
	uint64		generation;
	Oid			database;
	uint64		n;
	NameData	role;
	char		requester[PG_FIB_REQUESTER_MAX + 1];	/* "" for the role as a whole */
	int			max_per_role;
	int			max_per_requester;
	FibAnswer	answer;
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
/* What happens to the keeper's connection to pg_fib.database (shmem.c). */
typedef enum FibConnectEvent
{
	FIB_CONNECT_ATTEMPT,		/* about to connect */
	FIB_CONNECT_DUE,			/* the database is there: connect at next start */
	FIB_CONNECTED				/* connected */
} FibConnectEvent;

extern int	pg_fib_connect_event(FibConnectEvent event);
extern bool pg_fib_keeper_connected(void);

/* shmem.c: the compute workers' side */
extern void pg_fib_worker_attach(int index);
extern void pg_fib_worker_set_job(uint64 absn);
extern void pg_fib_worker_set_progress(double progress);
extern void pg_fib_wake_workers(void);
extern void pg_fib_notify_job_ended(uint64 absn);

/* request.c */
extern FibJobState pg_fib_request(uint64 absn, const char *requester);
extern FibJobState pg_fib_request_and_wait(uint64 absn, TimestampTz answer_deadline,
										   TimestampTz deadline,
										   FibJobState (*read_state) (uint64 absn, void *arg),
										   void *arg);
extern void pg_fib_report_wrong_database(uint64 absn);

/* memo.c */

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
extern void pg_fib_delete_row(Relation rel, uint64 absn);
extern FibDigit *pg_fib_memo_or_inline(Oid namespace, int64 n, size_t *ndigits);
extern bytea *pg_fib_digits_to_bytea(const FibDigit *digits, size_t ndigits);
extern FibDigit *pg_fib_bytea_to_digits(bytea *value, uint64 absn, size_t *ndigits);
extern Oid	pg_fib_table_oid(Oid namespace, const char *name);

/* jobs.c */
extern const char *pg_fib_job_state_name(FibJobState state);
extern FibJobState pg_fib_job_state_from_name(const char *name);

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
extern void pg_fib_jobs_request(const FibSchema *schema, FibTakenRequest *req,
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

/* fairtags.c */

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

/* bgworker.c */
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

/* keeper.c, worker.c */
extern PGDLLEXPORT void pg_fib_keeper_main(Datum main_arg);
extern PGDLLEXPORT void pg_fib_worker_main(Datum main_arg);

#endif							/* PG_FIB_H */
