/*-------------------------------------------------------------------------
 *
 * jobs.c
 *	  Every statement the keeper, the compute workers and fib_maintain()
 *	  run on pg_fib's tables, the job states, and each rule of the queue,
 *	  written once.
 *
 * These statements run as a superuser: the keeper and the workers are the
 * bootstrap superuser, and fib_maintain() is SECURITY DEFINER.  So they
 * name the tables in the schema pg_fib is installed in, found by identity
 * (pg_extension.extnamespace, or the calling function's own schema), and
 * refuse a schema whose owner is not a superuser: its owner could rename it
 * and put a table or function of its own in its place, to be run as a
 * superuser.  A superuser-owned schema cannot be changed by anyone else, so
 * its name, read at the start of each unit of work, stays right for it.
 * The workers' search_path is pg_catalog, pg_temp, so the operators in
 * these statements are pg_catalog's.
 *
 * The rules:
 *	- a job is queued for F(n) when neither the memo nor a live job has it:
 *	  a failed job, and a done one whose memo row was deleted, are queued
 *	  again (fib_jobs_request_sql);
 *	- a new job is refused while pg_fib.max_queued jobs requested by roles
 *	  are queued, or while its role has its share
 *	  (pg_fib.max_queued_per_role) queued or running, or, requested for a
 *	  requester, while that requester has its share within the role's
 *	  (pg_fib.max_queued_per_requester, the caller's value); a memoize
 *	  hint is dropped while pg_fib.max_queued jobs of any kind are queued,
 *	  and claimed after every requested job (pg_fib_jobs_memoize);
 *	- the workers claim the requested jobs fairly, across roles and within
 *	  a role across its requesters, by the start tags the keeper gives
 *	  each new job (fairtags.c, fib_jobs_claim_sql);
 *	- an attempt that ends without a result (an error, or the worker died)
 *	  is retried until the job has had pg_fib.max_attempts, except a
 *	  cancelled one; an attempt the job is innocent of (the whole server
 *	  restarted, see worker.c) does not count (fib_end_attempt_sql);
 *	- jobs end, and workers are woken, only through the functions here, which
 *	  say so to waiters (pg_fib_notify_job_ended) after the commit.
 *
 * IDENTIFICATION
 *	  pg_fib/jobs.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "pg_fib.h"

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

/*
 * fib_schema_owner returns the role that owns the schema namespace: the
 * database's owner for a schema owned by pg_database_owner.
 */
static Oid
fib_schema_owner(Oid namespace)
{
	HeapTuple	tuple;
	Oid			owner;

	tuple = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(namespace));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for namespace %u", namespace);
	owner = ((Form_pg_namespace) GETSTRUCT(tuple))->nspowner;
	ReleaseSysCache(tuple);

	if (owner == ROLE_PG_DATABASE_OWNER)
	{
		tuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(MyDatabaseId));
		if (!HeapTupleIsValid(tuple))
			elog(ERROR, "cache lookup failed for database %u", MyDatabaseId);
		owner = ((Form_pg_database) GETSTRUCT(tuple))->datdba;
		ReleaseSysCache(tuple);
	}
	return owner;
}

/*
 * pg_fib_find_schema finds the schema pg_fib is installed in by identity
 * and says whether the workers may use it: installed, of the library's
 * version, and owned by a superuser.  Runs inside pg_fib_begin/pg_fib_commit.
 */
void
pg_fib_find_schema(FibSchema *schema)
{
	int			ret;
	bool		isnull;
	char	   *version;

	memset(schema, 0, sizeof(*schema));
	ret = SPI_execute("SELECT extnamespace, extversion FROM pg_catalog.pg_extension"
					  " WHERE extname = 'pg_fib'", true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not look up extension \"pg_fib\": %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
	{
		schema->status = FIB_OUTCOME_NOT_INSTALLED;
		return;
	}
	schema->namespace = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
													   SPI_tuptable->tupdesc, 1, &isnull));
	version = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0],
												SPI_tuptable->tupdesc, 2, &isnull));
	schema->owner = fib_schema_owner(schema->namespace);
	schema->quoted = pstrdup(quote_identifier(get_namespace_name(schema->namespace)));
	if (strcmp(version, PG_FIB_VERSION) != 0)
		schema->status = FIB_OUTCOME_WRONG_VERSION;
	else if (!superuser_arg(schema->owner))
		schema->status = FIB_OUTCOME_UNSAFE_SCHEMA;
	else
		schema->status = FIB_OUTCOME_OK;
}

/*
 * pg_fib_check_schema_owner refuses to run statements as a superuser in
 * the schema namespace, found from a SQL function's own OID, when its
 * owner is not a superuser.
 */
void
pg_fib_check_schema_owner(Oid namespace)
{
	Oid			owner = fib_schema_owner(namespace);

	if (!superuser_arg(owner))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the schema of extension \"pg_fib\" is not owned by a superuser"),
				 errdetail("Schema \"%s\" is owned by role \"%s\", who could replace what pg_fib runs as a superuser there.",
						   get_namespace_name(namespace), GetUserNameFromId(owner, false)),
				 errhint("Make a superuser own the schema (ALTER SCHEMA ... OWNER TO), or install pg_fib in a schema only superusers own.")));
}

/*
 * pg_fib_schema_of fills schema for the schema namespace, found from a SQL
 * function's own OID, after checking its owner.
 */
void
pg_fib_schema_of(Oid namespace, FibSchema *schema)
{
	pg_fib_check_schema_owner(namespace);
	schema->status = FIB_OUTCOME_OK;
	schema->namespace = namespace;
	schema->owner = fib_schema_owner(namespace);
	schema->quoted = pstrdup(quote_identifier(get_namespace_name(namespace)));
}

/*
 * fib_exec_nulls runs one statement with arguments, nulls[i] 'n' for a
 * NULL one (or nulls NULL for none), and checks that it ran.
 */
static void
fib_exec_nulls(const char *query, int nargs, Oid *types, Datum *values, const char *nulls,
			   int expected)
{
	int			ret = SPI_execute_with_args(query, nargs, types, values, nulls,
											false, 0);

	if (ret != expected)
		elog(ERROR, "pg_fib could not run \"%s\": %s",
			 query, SPI_result_code_string(ret));
}

/* fib_exec runs one statement with arguments and checks that it ran. */
static void
fib_exec(const char *query, int nargs, Oid *types, Datum *values, int expected)
{
	fib_exec_nulls(query, nargs, types, values, NULL, expected);
}

/* fib_int64_result returns column column of the first result row. */
static int64
fib_int64_result(int column)
{
	bool		isnull;
	Datum		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
									  column, &isnull);

	return isnull ? 0 : DatumGetInt64(value);
}

/* pg_fib_jobs_queued counts the jobs waiting in the queue. */
void
pg_fib_jobs_queued(const FibSchema *schema, FibQueued *queued)
{
	fib_exec(psprintf("SELECT count(*) FILTER (WHERE requested_by IS NOT NULL), count(*)"
					  " FROM %s.fib_jobs WHERE state = 'queued'", schema->quoted),
			 0, NULL, NULL, SPI_OK_SELECT);
	queued->requested = fib_int64_result(1);
	queued->all = fib_int64_result(2);
}

/*
 * fib_job_stands reads how the job of F(absn) stands, and whether the memo
 * holds its value.
 */
static FibJobState
fib_job_stands(const FibSchema *schema, uint64 absn, bool *memoized)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum((int64) absn)};
	bool		isnull;
	Datum		state;

	fib_exec(psprintf("SELECT (SELECT state FROM %1$s.fib_jobs WHERE n = $1),"
					  " EXISTS (SELECT FROM %1$s.fib_memo WHERE n = $1)", schema->quoted),
			 1, types, values, SPI_OK_SELECT);
	*memoized = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										   2, &isnull));
	state = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return *memoized ? FIB_JOB_DONE : FIB_JOB_NONE;
	return pg_fib_job_state_from_name(TextDatumGetCString(state));
}

/* fib_job_needs_queuing tells whether F(n) needs a (new) job. */
static bool
fib_job_needs_queuing(FibJobState state, bool memoized)
{
	return state == FIB_JOB_NONE || state == FIB_JOB_FAILED ||
		(state == FIB_JOB_DONE && !memoized);
}

/*
 * The statement that queues F($1), requested by role $2 for requester $3
 * (NULL: the role as a whole) with start tags $4 and $5: a new job, or a
 * failed one (or a done one whose value is gone) again from scratch.
 */
static const char *const fib_jobs_request_sql =
"INSERT INTO %1$s.fib_jobs AS j (n, requested_by, requester, start_tag, start_tag_in_role)"
" SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT FROM %1$s.fib_memo m WHERE m.n = $1)"
" ON CONFLICT (n) DO UPDATE SET state = 'queued', progress = 0,"
" digits = NULL, requested_at = now(), started_at = NULL,"
" finished_at = NULL, compute_ms = NULL, error = NULL,"
" attempts = 0, worker_pid = NULL, requested_by = excluded.requested_by,"
" requester = excluded.requester, start_tag = excluded.start_tag,"
" start_tag_in_role = excluded.start_tag_in_role"
" WHERE j.state = 'failed'"
" OR (j.state = 'done' AND NOT EXISTS (SELECT FROM %1$s.fib_memo m WHERE m.n = $1))";

/*
 * What the keeper reads before it queues F($1) for role $2 and requester
 * $3: how many other jobs the role, and the requester, have queued or
 * running (fib_jobs_waiting_by_role), and the heads of the queue, the
 * smallest start tags of the queued jobs that roles requested (memoize
 * hints, which have none, come after them in the index) and of those of
 * the role: each one descent of the index the claim uses.
 */
static const char *const fib_jobs_before_request_sql =
"SELECT (SELECT count(*) FROM %1$s.fib_jobs WHERE requested_by = $2"
" AND state IN ('queued', 'running') AND n <> $1),"
" (SELECT count(*) FROM %1$s.fib_jobs WHERE requested_by = $2 AND requester = $3"
" AND state IN ('queued', 'running') AND n <> $1),"
" (SELECT start_tag FROM %1$s.fib_jobs WHERE state = 'queued'"
" ORDER BY requested_by IS NULL, start_tag, requested_at, n LIMIT 1),"
" (SELECT start_tag_in_role FROM %1$s.fib_jobs WHERE state = 'queued' AND requested_by = $2"
" ORDER BY start_tag_in_role, requested_at, n LIMIT 1)";

/* fib_jobs_head reads a head of the queue, column column of the result. */
static bool
fib_jobs_head(int column, int64 *start_tag)
{
	bool		isnull;
	Datum		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
									  column, &isnull);

	if (!isnull)
		*start_tag = DatumGetInt64(value);
	return !isnull;
}

/*
 * pg_fib_jobs_request makes sure F(req->n) is, or will be, in the memo,
 * within the limits on the queue, and fills req->answer.  queued counts the
 * jobs waiting, kept up to date across a batch.
 */
void
pg_fib_jobs_request(const FibSchema *schema, FibTakenRequest *req, FibQueued *queued)
{
	Oid			types[5] = {INT8OID, NAMEOID, TEXTOID, INT8OID, INT8OID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	bool		for_requester = req->requester[0] != '\0';
	FibQueueHeads heads;
	int64		start_tag;
	int64		start_tag_in_role;
	bool		memoized;
	FibJobState state = fib_job_stands(schema, req->n, &memoized);

	req->answer.outcome = FIB_OUTCOME_OK;
	req->answer.state = state;
	if (!fib_job_needs_queuing(state, memoized))
		return;

	if (queued->requested >= pg_fib_max_queued)
	{
		req->answer.outcome = FIB_OUTCOME_QUEUE_FULL;
		req->answer.count = queued->requested;
		req->answer.limit = pg_fib_max_queued;
		return;
	}

	values[0] = Int64GetDatum((int64) req->n);
	values[1] = NameGetDatum(&req->role);
	values[2] = CStringGetTextDatum(req->requester);
	if (!for_requester)
		nulls[2] = 'n';
	fib_exec_nulls(psprintf(fib_jobs_before_request_sql, schema->quoted), 3, types, values,
				   nulls, SPI_OK_SELECT);
	if (fib_int64_result(1) >= req->max_per_role)
	{
		req->answer.outcome = FIB_OUTCOME_ROLE_FULL;
		req->answer.count = fib_int64_result(1);
		req->answer.limit = req->max_per_role;
		return;
	}
	if (for_requester && fib_int64_result(2) >= req->max_per_requester)
	{
		req->answer.outcome = FIB_OUTCOME_REQUESTER_FULL;
		req->answer.count = fib_int64_result(2);
		req->answer.limit = req->max_per_requester;
		return;
	}
	heads.queued = fib_jobs_head(3, &heads.start_tag);
	heads.queued_in_role = fib_jobs_head(4, &heads.start_tag_in_role);

	pg_fib_fair_tags(&req->role, req->requester, &heads, &start_tag, &start_tag_in_role);
	values[3] = Int64GetDatum(start_tag);
	values[4] = Int64GetDatum(start_tag_in_role);
	fib_exec_nulls(psprintf(fib_jobs_request_sql, schema->quoted), 5, types, values, nulls,
				   SPI_OK_INSERT);
	if (SPI_processed > 0)
	{
		pg_fib_fair_queued(&req->role, req->requester, start_tag, start_tag_in_role);
		queued->requested++;
		queued->all++;
		req->answer.state = FIB_JOB_QUEUED;
	}
	else
		req->answer.state = fib_job_stands(schema, req->n, &memoized);
}

/*
 * pg_fib_jobs_memoize queues F(absn), computed inline by a query, for a
 * worker to memoize: a hint, requested by no role, dropped while
 * pg_fib.max_queued jobs of any kind wait.  It does not count against the
 * requests' bound, and the workers claim it after every requested job, so
 * no role's fib() calls can refuse or delay another role's request.
 */
void
pg_fib_jobs_memoize(const FibSchema *schema, uint64 absn, FibQueued *queued)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum((int64) absn)};

	if (queued->all >= pg_fib_max_queued)
		return;
	fib_exec(psprintf("INSERT INTO %1$s.fib_jobs (n)"
					  " SELECT $1 WHERE NOT EXISTS (SELECT FROM %1$s.fib_memo m WHERE m.n = $1)"
					  " ON CONFLICT (n) DO NOTHING", schema->quoted),
			 1, types, values, SPI_OK_INSERT);
	queued->all += SPI_processed;
}

/*
 * pg_fib_jobs_count_hits adds hits to a memo row's count.  A row someone
 * holds locked is skipped: hits are hints, not worth a wait.
 */
void
pg_fib_jobs_count_hits(const FibSchema *schema, const FibHint *hint)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum((int64) hint->n), Int64GetDatum(hint->hits)};

	fib_exec(psprintf("UPDATE %1$s.fib_memo SET hits = hits + $2, last_used = now()"
					  " WHERE n = (SELECT n FROM %1$s.fib_memo WHERE n = $1"
					  " FOR UPDATE SKIP LOCKED)", schema->quoted),
			 2, types, values, SPI_OK_UPDATE);
}

/*
 * The fair claim (see fairtags.c).  The head, the queued job of the
 * smallest start_tag (requested jobs before memoize hints, which are taken
 * oldest first), says whose role's turn it is; within that role the job of
 * the smallest start_tag_in_role, its requesters' turn, is claimed.  The
 * claimed job takes the head's start_tag and the head takes the claimed
 * job's, so that the role keeps its turns among roles whichever of its jobs
 * takes them.  Each step is one descent of an index (fib_jobs_queued,
 * fib_jobs_queued_by_role, the primary key), and rows another worker holds
 * are skipped, so that workers share the queue without blocking each other.
 */
static const char *const fib_jobs_claim_sql =
"WITH head AS ("
" SELECT n, requested_by, start_tag FROM %1$s.fib_jobs WHERE state = 'queued'"
" ORDER BY requested_by IS NULL, start_tag, requested_at, n LIMIT 1"
" FOR UPDATE SKIP LOCKED"
"), pick AS ("
" SELECT h.n AS head_n, h.start_tag AS head_tag, coalesce(t.n, h.n) AS n, t.start_tag"
" FROM head h LEFT JOIN LATERAL ("
" SELECT j.n, j.start_tag FROM %1$s.fib_jobs j"
" WHERE j.state = 'queued' AND j.requested_by = h.requested_by"
" ORDER BY j.start_tag_in_role, j.requested_at, j.n LIMIT 1"
" FOR UPDATE SKIP LOCKED) t ON true"
"), swap AS ("
" UPDATE %1$s.fib_jobs j SET start_tag = p.start_tag FROM pick p"
" WHERE j.n = p.head_n AND p.n <> p.head_n"
")"
" UPDATE %1$s.fib_jobs j SET state = 'running',"
" started_at = clock_timestamp(), finished_at = NULL,"
" attempts = attempts + 1, progress = 0,"
" worker_pid = pg_backend_pid(), start_tag = p.head_tag"
" FROM pick p WHERE j.n = p.n"
" RETURNING j.n";

/*
 * pg_fib_jobs_claim claims a queued job for this worker, fairly across the
 * roles and their requesters (fib_jobs_claim_sql), memoize hints last,
 * and returns true with its n, or returns false when there is none.
 */
bool
pg_fib_jobs_claim(const FibSchema *schema, uint64 *absn)
{
	fib_exec(psprintf(fib_jobs_claim_sql, schema->quoted),
			 0, NULL, NULL, SPI_OK_UPDATE_RETURNING);
	if (SPI_processed == 0)
		return false;
	*absn = (uint64) fib_int64_result(1);
	return true;
}

/*
 * pg_fib_jobs_store stores the value of a job this worker computed: the memo
 * row and the job's "done" in one statement, so a result is stored whole
 * or not at all.
 */
void
pg_fib_jobs_store(const FibSchema *schema, uint64 absn, const FibDigit *digits,
				  size_t ndigits, double compute_ms)
{
	Oid			types[4] = {INT8OID, BYTEAOID, INT8OID, FLOAT8OID};
	Datum		values[4];
	bytea	   *value = pg_fib_digits_to_bytea(digits, ndigits);

	values[0] = Int64GetDatum((int64) absn);
	values[1] = PointerGetDatum(value);
	values[2] = Int64GetDatum(pg_fib_digits_decimal_count(digits, ndigits));
	values[3] = Float8GetDatum(compute_ms);
	fib_exec(psprintf("WITH memo AS (INSERT INTO %1$s.fib_memo (n, value, digits, compute_ms)"
					  " VALUES ($1, $2, $3, $4) ON CONFLICT (n) DO NOTHING)"
					  " UPDATE %1$s.fib_jobs SET state = 'done', progress = 1,"
					  " digits = $3, finished_at = clock_timestamp(), compute_ms = $4,"
					  " error = NULL, worker_pid = NULL"
					  " WHERE n = $1 AND worker_pid = pg_backend_pid()", schema->quoted),
			 4, types, values, SPI_OK_UPDATE);
	pg_fib_add_memo_bytes(VARSIZE(value) - VARHDRSZ);
}

/*
 * The retry-or-fail rule.  %1$s: the schema; %2$s: 1 for an attempt that
 * does not count, else 0; %3$s: true when the attempt is final; %4$s: the
 * error; %5$s: which jobs.  $1 is pg_fib.max_attempts.
 */
static const char *const fib_end_attempt_sql =
"UPDATE %1$s.fib_jobs SET attempts = attempts - (%2$s),"
" state = CASE WHEN (%3$s) OR attempts - (%2$s) >= $1 THEN 'failed' ELSE 'queued' END,"
" finished_at = CASE WHEN (%3$s) OR attempts - (%2$s) >= $1 THEN clock_timestamp() END,"
" error = CASE WHEN NOT (%3$s) AND attempts - (%2$s) >= $1"
" THEN format('gave up after %%s attempts: %%s', attempts - (%2$s), %4$s) ELSE %4$s END,"
" progress = 0, worker_pid = NULL"
" WHERE %5$s RETURNING n, state";

/*
 * fib_attempts_ended acts on the jobs fib_end_attempt_sql returned: it wakes
 * the workers for those queued again and adds those that failed to ended,
 * whose waiters are told after the commit (pg_fib_notify_ended).  Returns
 * how many jobs there were.
 */
static int
fib_attempts_ended(FibEndedJobs *ended)
{
	bool		requeued = false;
	uint64		i;

	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													SPI_tuptable->tupdesc, 1, &isnull));
		char	   *state = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[i],
															  SPI_tuptable->tupdesc, 2, &isnull));

		if (pg_fib_job_state_from_name(state) != FIB_JOB_FAILED)
			requeued = true;
		else if (ended->count < lengthof(ended->n))
			ended->n[ended->count++] = (uint64) n;
		else
			ended->overflow = true;
	}
	if (requeued)
		pg_fib_wake_workers();
	return (int) SPI_processed;
}

/* pg_fib_notify_ended tells the waiters of the jobs in ended that they ended. */
void
pg_fib_notify_ended(const FibEndedJobs *ended)
{
	int			i;

	if (ended->overflow)
		pg_fib_notify_job_ended(0);
	for (i = 0; i < ended->count; i++)
		pg_fib_notify_job_ended(ended->n[i]);
}

/*
 * pg_fib_jobs_end_attempt ends this worker's attempt at F(absn) that raised
 * error: retried, or failed when final (cancelled) or out of attempts.
 */
void
pg_fib_jobs_end_attempt(const FibSchema *schema, uint64 absn, bool final, const char *error,
						FibEndedJobs *ended)
{
	Oid			types[4] = {INT4OID, BOOLOID, TEXTOID, INT8OID};
	Datum		values[4];

	values[0] = Int32GetDatum(pg_fib_max_attempts);
	values[1] = BoolGetDatum(final);
	values[2] = CStringGetTextDatum(error);
	values[3] = Int64GetDatum((int64) absn);
	fib_exec(psprintf(fib_end_attempt_sql, schema->quoted, "0", "$2", "$3",
					  "n = $4 AND worker_pid = pg_backend_pid()"),
			 4, types, values, SPI_OK_UPDATE_RETURNING);
	(void) fib_attempts_ended(ended);
}

/* fib_int4_array returns pids as an int4[] datum. */
static Datum
fib_int4_array(const int *pids, int count)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(count, 1));
	int			i;

	for (i = 0; i < count; i++)
		elems[i] = Int32GetDatum(pids[i]);
	return PointerGetDatum(construct_array(elems, count, INT4OID, sizeof(int32),
										   true, TYPALIGN_INT));
}

/*
 * pg_fib_jobs_requeue_orphans ends the attempts of the jobs left running by
 * compute workers that are gone: each counts, unless its worker was stopped
 * by a restart of the whole server (innocent, see bgworker.c).  Returns how
 * many jobs there were; those that failed are added to ended.
 */
int
pg_fib_jobs_requeue_orphans(const FibSchema *schema, const int *innocent, int ninnocent,
							FibEndedJobs *ended)
{
	int			live[PG_FIB_MAX_WORKERS];
	int			nlive = pg_fib_running_workers(live);
	Oid			types[3] = {INT4OID, INT4ARRAYOID, INT4ARRAYOID};
	Datum		values[3];

	values[0] = Int32GetDatum(pg_fib_max_attempts);
	values[1] = fib_int4_array(innocent, ninnocent);
	values[2] = fib_int4_array(live, nlive);
	fib_exec(psprintf(fib_end_attempt_sql, schema->quoted,
					  "(worker_pid = ANY ($2))::int", "false",
					  "CASE WHEN worker_pid = ANY ($2)"
					  " THEN 'the server restarted while a worker computed it; requeued'"
					  " ELSE 'the worker computing it died' END",
					  "state = 'running' AND (worker_pid IS NULL OR worker_pid <> ALL ($3))"),
			 3, types, values, SPI_OK_UPDATE_RETURNING);
	return fib_attempts_ended(ended);
}

/*
 * pg_fib_jobs_purge deletes the jobs that ended longer ago than
 * pg_fib.job_retention, and returns how many.
 */
int
pg_fib_jobs_purge(const FibSchema *schema)
{
	Oid			types[1] = {FLOAT8OID};
	Datum		values[1] = {Float8GetDatum((double) pg_fib_job_retention)};

	fib_exec(psprintf("DELETE FROM %s.fib_jobs WHERE state IN ('done', 'failed')"
					  " AND finished_at < now() - make_interval(secs => $1)", schema->quoted),
			 1, types, values, SPI_OK_DELETE);
	return (int) SPI_processed;
}

/*
 * pg_fib_jobs_evict keeps the memo within max_bytes: it keeps the values
 * worth most per byte (compute time times uses, per byte) while they fit,
 * and evicts the rest with their done jobs.  Returns how many rows it
 * evicted, and the memo's size after in memo_bytes.
 */
int
pg_fib_jobs_evict(const FibSchema *schema, int64 max_bytes, int64 *memo_bytes)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(max_bytes)};

	fib_exec(psprintf("WITH ranked AS ("
					  " SELECT n, sum(octet_length(value)) OVER ("
					  " ORDER BY compute_ms * (1 + hits) / greatest(octet_length(value), 1) DESC, n DESC"
					  " ) AS kept_bytes, octet_length(value) AS bytes FROM %1$s.fib_memo"
					  "), gone AS ("
					  " DELETE FROM %1$s.fib_memo m USING ranked r"
					  " WHERE m.n = r.n AND r.kept_bytes > $1 RETURNING m.n"
					  "), gone_jobs AS ("
					  " DELETE FROM %1$s.fib_jobs j USING gone WHERE j.n = gone.n AND j.state = 'done'"
					  ") SELECT (SELECT count(*) FROM gone),"
					  " (SELECT coalesce(sum(bytes), 0) FROM ranked WHERE kept_bytes <= $1)::bigint",
					  schema->quoted),
			 1, types, values, SPI_OK_SELECT);
	*memo_bytes = fib_int64_result(2);
	return (int) fib_int64_result(1);
}
