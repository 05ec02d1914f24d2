/*-------------------------------------------------------------------------
 *
 * fairtags.c
 *	  The start tags of the fair queue: the keeper's virtual clocks, and
 *	  the turn each role and each requester had last.
 *
 * The workers claim queued jobs fairly across roles and, within a role,
 * across its requesters (fib_request(n, requester); the role's jobs
 * requested without one form one requester).  This is start-time fair
 * queuing (Goyal, Vin and Cheng, 1996) on two levels, every job costing
 * one turn.  At each level the keeper, which queues every job one at a
 * time, gives a new job the start tag
 *
 *		max(clock, the flow's last tag + 1)
 *
 * where the flow is the job's role (among roles: fib_jobs.start_tag) or its
 * requester (within the role: fib_jobs.start_tag_in_role), and clock is the
 * level's virtual time: one less than the smallest tag still queued there
 * (the head), or, with nothing queued, the largest tag given so far; it
 * never goes back.  The claim (jobs.c) takes the role of the smallest
 * start_tag, then that role's job of the smallest start_tag_in_role.  So:
 *
 *	- a flow with a backlog has one tag per turn, one after another, and a
 *	  flow that was not served in the current round starts at clock, below
 *	  every tag that another flow's backlog holds beyond its first job: a
 *	  new requester's job is claimed at the next free worker, before the
 *	  rest of any backlog, except that each other flow of the round may take
 *	  its one turn first (another role, or a requester of its own role that
 *	  became active before it): one job each, never a backlog;
 *	- a flow's last tag is remembered after its job was claimed or done, so
 *	  a client that asks again as soon as its job ends does not take a
 *	  second turn in the same round: backlogs are not starved;
 *	- a role with a thousand requesters has one turn among roles, like a
 *	  role with one: the claim gives the role's turn (its smallest
 *	  start_tag) to whichever of its jobs is its requesters' turn.
 *
 * The clocks and the flows' last tags are kept here, in the keeper's own
 * memory: the keeper is the only process that gives tags.  A flow whose
 * last tag is below its level's clock gives the same tags as one never
 * seen, so it is forgotten (pg_fib_fair_forget, at the keeper's tick); what
 * stays is bounded by the flows active in the current round.  A new keeper
 * starts with none, from the heads of the queue: at most one early turn per
 * flow.
 *
 * IDENTIFICATION
 *	  pg_fib/fairtags.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "pg_fib.h"

/* A role: its turn among roles, and its own clock among its requesters. */
typedef struct FibFairRole
{
	NameData	role;			/* the key */
	int64		next_tag;		/* its last start_tag + 1 */
	int64		clock;			/* the virtual time among its requesters */
	int64		max_tag;		/* the largest start_tag_in_role given */
	int			requesters;		/* its entries in fib_fair_requesters */
} FibFairRole;

typedef struct FibFairRequesterKey
{
	NameData	role;
	char		requester[PG_FIB_REQUESTER_MAX + 1];	/* "": the role as a whole */
} FibFairRequesterKey;

/* A requester of a role: its turn among the role's requesters. */
typedef struct FibFairRequester
{
	FibFairRequesterKey key;
	int64		next_tag;		/* its last start_tag_in_role + 1 */
} FibFairRequester;

static HTAB *fib_fair_roles = NULL;
static HTAB *fib_fair_requesters = NULL;

/* The virtual time among roles, and the largest start_tag given. */
static int64 fib_fair_clock = 0;
static int64 fib_fair_max_tag = 0;

/* fib_fair_init creates the keeper's tables of roles and requesters. */
static void
fib_fair_init(void)
{
	HASHCTL		ctl;

	if (fib_fair_roles != NULL)
		return;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(NameData);
	ctl.entrysize = sizeof(FibFairRole);
	ctl.hcxt = TopMemoryContext;
	fib_fair_roles = hash_create("pg_fib fair queue roles", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.keysize = sizeof(FibFairRequesterKey);
	ctl.entrysize = sizeof(FibFairRequester);
	fib_fair_requesters = hash_create("pg_fib fair queue requesters", 1024, &ctl,
									  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * fib_fair_role returns the entry of role, made when create asks for it
 * (the role was not seen in the current round), or NULL.
 */
static FibFairRole *
fib_fair_role(const NameData *role, bool create)
{
	NameData	key;
	FibFairRole *entry;
	bool		found;

	memset(&key, 0, sizeof(key));
	strlcpy(NameStr(key), NameStr(*role), NAMEDATALEN);
	entry = hash_search(fib_fair_roles, &key, create ? HASH_ENTER : HASH_FIND, &found);
	if (entry != NULL && !found)
	{
		entry->next_tag = PG_INT64_MIN;
		entry->clock = 0;
		entry->max_tag = 0;
		entry->requesters = 0;
	}
	return entry;
}

/* fib_fair_requester is fib_fair_role's counterpart for a requester of role. */
static FibFairRequester *
fib_fair_requester(FibFairRole *role, const char *requester, bool create)
{
	FibFairRequesterKey key;
	FibFairRequester *entry;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.role = role->role;
	strlcpy(key.requester, requester, sizeof(key.requester));
	entry = hash_search(fib_fair_requesters, &key, create ? HASH_ENTER : HASH_FIND, &found);
	if (entry != NULL && !found)
	{
		entry->next_tag = PG_INT64_MIN;
		role->requesters++;
	}
	return entry;
}

/*
 * fib_fair_advance returns a level's clock moved on: to just below its head
 * when jobs are queued there, else to the largest tag it gave; never back.
 */
static int64
fib_fair_advance(int64 clock, bool queued, int64 head, int64 max_tag)
{
	return Max(clock, queued ? head - 1 : max_tag);
}

/*
 * pg_fib_fair_tags gives the start tags of a new job of role, for requester
 * ("" for the role as a whole), from the heads of the queue as they stand
 * in the keeper's transaction.  Nothing is remembered of the job until
 * pg_fib_fair_queued says that it was queued.
 */
void
pg_fib_fair_tags(const NameData *role, const char *requester, const FibQueueHeads *heads,
				 int64 *start_tag, int64 *start_tag_in_role)
{
	FibFairRole *r;
	FibFairRequester *q;

	fib_fair_init();
	r = fib_fair_role(role, true);
	q = fib_fair_requester(r, requester, false);

	fib_fair_clock = fib_fair_advance(fib_fair_clock, heads->queued, heads->start_tag,
									  fib_fair_max_tag);
	r->clock = fib_fair_advance(r->clock, heads->queued_in_role, heads->start_tag_in_role,
								r->max_tag);
	*start_tag = Max(fib_fair_clock, r->next_tag);
	*start_tag_in_role = q != NULL ? Max(r->clock, q->next_tag) : r->clock;
}

/*
 * pg_fib_fair_queued remembers that a job of role for requester was queued
 * with the tags pg_fib_fair_tags gave it: the next ones of the two come
 * after them.
 */
void
pg_fib_fair_queued(const NameData *role, const char *requester, int64 start_tag,
				   int64 start_tag_in_role)
{
	FibFairRole *r;
	FibFairRequester *q;

	fib_fair_init();
	r = fib_fair_role(role, true);
	q = fib_fair_requester(r, requester, true);
	r->next_tag = start_tag + 1;
	r->max_tag = Max(r->max_tag, start_tag_in_role);
	q->next_tag = start_tag_in_role + 1;
	fib_fair_max_tag = Max(fib_fair_max_tag, start_tag);
}

/*
 * pg_fib_fair_forget forgets the requesters whose last turn is below their
 * role's clock, then the roles whose last turn is below the clock among
 * roles and who have no requester left: each would get the same tags as one
 * never seen.  Called at the keeper's tick.
 */
void
pg_fib_fair_forget(void)
{
	HASH_SEQ_STATUS status;
	FibFairRequester *q;
	FibFairRole *r;

	if (fib_fair_roles == NULL)
		return;
	hash_seq_init(&status, fib_fair_requesters);
	while ((q = hash_seq_search(&status)) != NULL)
	{
		r = fib_fair_role(&q->key.role, false);
		if (r == NULL)
			elog(ERROR, "pg_fib fair queue: requester of unknown role \"%s\"",
				 NameStr(q->key.role));
		if (q->next_tag <= r->clock)
		{
			r->requesters--;
			(void) hash_search(fib_fair_requesters, &q->key, HASH_REMOVE, NULL);
		}
	}
	hash_seq_init(&status, fib_fair_roles);
	while ((r = hash_seq_search(&status)) != NULL)
	{
		if (r->requesters == 0 && r->next_tag <= fib_fair_clock)
			(void) hash_search(fib_fair_roles, &r->role, HASH_REMOVE, NULL);
	}
}
