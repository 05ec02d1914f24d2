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
 *	 fibabout.c		fib_digits(), fib_leading(), fib_trailing() for every n
 *	 shmem.c		shared memory: the request slots, the workers' progress
 *	 memo.c			reading the memo from a caller's query
 *	 worker.c		the keeper and the compute workers
 *	 fibfuncs.c		fib() and fib_mod()
 *	 jobfuncs.c		fib_text(), fib_request(), fib_status(), fib_wait()
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
extern int	pg_fib_max_attempts;
extern int	pg_fib_job_retention;
extern int	pg_fib_memo_max_bytes;
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

/* shmem.c */
extern void pg_fib_shmem_init(void);
extern bool pg_fib_is_queue_database(void);
extern void pg_fib_post_request(uint64 absn, TimestampTz deadline);
extern void pg_fib_post_memoize(uint64 absn);
extern void pg_fib_post_hit(uint64 absn);
extern bool pg_fib_running_progress(uint64 absn, double *progress);
extern int	pg_fib_running_workers(int *pids);
extern ConditionVariable *pg_fib_jobs_cv(void);

/* the keeper's side of the request slots */
typedef enum FibSlotKind
{
	FIB_SLOT_FREE = 0,
	FIB_SLOT_REQUEST,			/* a caller waits until the job is committed */
	FIB_SLOT_MEMOIZE,			/* a value worth keeping was computed inline */
	FIB_SLOT_HIT				/* memo hits to add to a row's count */
} FibSlotKind;

typedef struct FibTakenSlot
{
	int			index;
	FibSlotKind kind;
	uint64		n;
	int64		hits;
	int			sqlerrcode;		/* the keeper's refusal of a REQUEST, if */
	const char *error;			/* error is not NULL */
} FibTakenSlot;

extern void pg_fib_keeper_attach(void);
extern int	pg_fib_keeper_take(FibTakenSlot *taken, int max, bool include_hits);
extern void pg_fib_keeper_answer(const FibTakenSlot *taken, int ntaken,
								 const char *error);
extern void pg_fib_worker_attach(int index);
extern void pg_fib_worker_set_job(uint64 absn);
extern void pg_fib_worker_set_progress(double progress);
extern void pg_fib_wake_workers(void);

/* memo.c */
/* A plan prepared once per backend, for the schema it was prepared in. */
typedef struct FibCachedPlan
{
	SPIPlanPtr	plan;
	Oid			namespace;
} FibCachedPlan;

extern SPIPlanPtr pg_fib_cached_plan(FibCachedPlan *cache, Oid namespace,
									 const char *query_format, int nargs,
									 Oid *argtypes);
extern FibDigit *pg_fib_memo_or_inline(Oid namespace, int64 n, size_t *ndigits);
extern bytea *pg_fib_digits_to_bytea(const FibDigit *digits, size_t ndigits);
extern FibDigit *pg_fib_bytea_to_digits(bytea *value, size_t *ndigits);

/* worker.c */
extern void pg_fib_register_workers(void);

#endif							/* PG_FIB_H */
