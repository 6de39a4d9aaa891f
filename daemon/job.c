/* job - a bulk job in process (see job.h).
 *
 * Every distinct address of the job is one entry, keyed by its normal
 * form in a hash table, with the rows that wait for it. An entry walks:
 *   SENDQ  waiting for room in the window (new, verifier busy, or its
 *          greylisting delay is over);
 *   DOMQ   held back by its domain's window (struct dom), back to SENDQ
 *          when an address of the domain is answered;
 *   FLIGHT at the verifier;
 *   WAIT   greylisted, on the retry FIFO until its time (every delay is
 *          the same, so the FIFO is in order of time and one timer at
 *          its head serves all);
 *   DONE   answered; kept (packed) for repeats while the budget lasts,
 *          else freed.
 * One "pump" takes rows and sends entries; it runs from the loop (a
 * zero timer, the verifier's callbacks, the retry timer), never inside a
 * job_*() call, so the owner's callbacks never run inside its own
 * calls. */
#include "daemon/job.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "core/address.h"
#include "core/htab.h"
#include "core/vpack.h"

enum entry_state { E_SENDQ = 0, E_DOMQ, E_FLIGHT, E_WAIT, E_DONE };

struct entry;
TAILQ_HEAD(entry_list, entry);

/* The domain of entries not yet done; freed with the last of them. */
struct dom {
	struct htab_node node;
	unsigned refs;	    /* entries not DONE that have this domain */
	unsigned in_flight; /* of them, at the verifier */
	bool warm;	    /* it has answered once: the full window */
	struct entry_list held;
	unsigned nheld;	     /* entries in held */
	uint64_t held_since; /* batching: loop time its partial batch began */
	bool in_partial;     /* in j->partial */
	TAILQ_ENTRY(dom) plink;
	size_t len;
	char name[];
};

struct entry {
	struct htab_node node; /* in j->table when keyed */
	struct job *j;
	enum entry_state state;
	bool keyed;
	bool flush;    /* SENDQ: answer with the kept verdict, do not send */
	bool released; /* SENDQ: let out of its domain's held: send it */
	TAILQ_ENTRY(entry) q;	   /* j->sendq or j->waitq */
	TAILQ_ENTRY(entry) all;	   /* j->entries */
	struct verifier_req *vreq; /* in FLIGHT */
	struct dom *dom;	   /* keyed entries: the address's domain */
	uint64_t *rows;		   /* rows waiting for the verdict */
	size_t nrows, caprows;
	unsigned tries;
	uint64_t due;	  /* WAIT: loop time of the retry */
	uint64_t born_ms; /* loop time it was taken (deadline_per_row) */
	char *input;	  /* the first row's input, until DONE */
	size_t inlen;
	char *pack; /* WAIT: the greylisted verdict; DONE: the verdict */
	size_t packlen;
	size_t keylen;
	char key[]; /* the normalised address */
};

struct rate_bucket {
	uint64_t sec;
	uint64_t n;
};

struct job {
	uv_loop_t *loop;
	struct verifier *v;
	struct job_config cfg;
	struct job_ops ops;
	void *data;
	uv_timer_t pump_timer, retry_timer;
	unsigned handles; /* open timers, for job_free */
	struct htab table;
	struct htab domains;
	struct entry_list entries, sendq, waitq;
	TAILQ_HEAD(, dom) partial; /* batching: domains holding a part batch */
	size_t kept_bytes;	   /* DONE entries kept */
	uint64_t start_ms, busy_until;
	bool started, paused, input_done, no_retry, cancelled;
	bool done_due, done_called, freeing, in_pump;
	unsigned group_left; /* of a released batch being sent whole */
	size_t nsendq;	     /* entries in sendq */
	struct job_progress prog;
	struct rate_bucket rate[JOB_RATE_WINDOW_S + 1];
};

void job_config_defaults(struct job_config *c)
{
	c->window = JOB_WINDOW_DEFAULT;
	c->domain_window = JOB_DOMAIN_WINDOW_DEFAULT;
	c->greylist_retry_ms = JOB_GREYLIST_RETRY_DEFAULT_MS;
	c->deadline_ms = JOB_DEADLINE_DEFAULT_MS;
	c->dedupe_bytes = JOB_DEDUPE_BYTES_DEFAULT;
	c->fresh = false;
	c->deadline_per_row = false;
	c->first_window = 1;
	c->batch = 0;
}

static bool key_eq(const struct htab_node *n, const void *key, size_t len)
{
	const struct entry *e = htab_entry(n, struct entry, node);

	return e->keylen == len && memcmp(e->key, key, len) == 0;
}

static bool dom_eq(const struct htab_node *n, const void *key, size_t len)
{
	const struct dom *d = htab_entry(n, struct dom, node);

	return d->len == len && memcmp(d->name, key, len) == 0;
}

int job_new(uv_loop_t *loop, struct verifier *v, const struct job_config *c,
	    const struct job_ops *ops, void *data, struct job **out)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return -1;
	if (htab_init(&j->table, key_eq) < 0) {
		free(j);
		return -1;
	}
	if (htab_init(&j->domains, dom_eq) < 0) {
		htab_free(&j->table);
		free(j);
		return -1;
	}
	j->loop = loop;
	j->v = v;
	j->cfg = *c;
	if (j->cfg.window == 0)
		j->cfg.window = JOB_WINDOW_DEFAULT;
	if (j->cfg.domain_window == 0)
		j->cfg.domain_window = JOB_DOMAIN_WINDOW_DEFAULT;
	j->ops = *ops;
	j->data = data;
	TAILQ_INIT(&j->entries);
	TAILQ_INIT(&j->sendq);
	TAILQ_INIT(&j->waitq);
	TAILQ_INIT(&j->partial);
	uv_timer_init(loop, &j->pump_timer);
	uv_timer_init(loop, &j->retry_timer);
	j->pump_timer.data = j->retry_timer.data = j;
	j->handles = 2;
	*out = j;
	return 0;
}

/* ---- entries --------------------------------------------------------------- */

static struct entry *entry_new(struct job *j, const char *key, size_t keylen,
			       const char *input, size_t inlen)
{
	struct entry *e = calloc(1, sizeof(*e) + keylen + 1);

	if (e == NULL)
		return NULL;
	e->input = malloc(inlen ? inlen : 1);
	if (e->input == NULL) {
		free(e);
		return NULL;
	}
	memcpy(e->input, input, inlen);
	e->inlen = inlen;
	memcpy(e->key, key, keylen);
	e->keylen = keylen;
	e->j = j;
	e->born_ms = uv_now(j->loop);
	TAILQ_INSERT_TAIL(&j->entries, e, all);
	return e;
}

/* dom_get - the domain of @a, made when new; NULL when memory runs out
 * (the address then goes without a domain window). */
static struct dom *dom_get(struct job *j, const char *name)
{
	size_t len = strlen(name);
	struct htab_node *n = htab_find(&j->domains, name, len);
	struct dom *d;

	if (n)
		return htab_entry(n, struct dom, node);
	d = calloc(1, sizeof(*d) + len + 1);
	if (d == NULL)
		return NULL;
	memcpy(d->name, name, len);
	d->len = len;
	TAILQ_INIT(&d->held);
	htab_insert(&j->domains, &d->node, name, len);
	return d;
}

/* dom_put - @e no longer needs its domain (done, or freed). */
static void dom_put(struct job *j, struct entry *e)
{
	struct dom *d = e->dom;

	if (d == NULL)
		return;
	e->dom = NULL;
	if (--d->refs == 0) {
		htab_remove(&j->domains, &d->node);
		free(d);
	}
}

static void schedule(struct job *j, uint64_t ms);

static unsigned dom_limit(const struct job *j, const struct dom *d)
{
	if (d->warm)
		return j->cfg.domain_window;
	return j->cfg.first_window ? j->cfg.first_window : 1;
}

static bool batching(const struct job *j)
{
	return j->cfg.batch > 1;
}

/* partial_set - keep j->partial true to @d's held entries. */
static void partial_set(struct job *j, struct dom *d)
{
	bool want = batching(j) && d->nheld > 0;

	if (want && !d->in_partial)
		TAILQ_INSERT_TAIL(&j->partial, d, plink);
	else if (!want && d->in_partial)
		TAILQ_REMOVE(&j->partial, d, plink);
	d->in_partial = want;
}

/* hold - @e (off every queue) waits in its domain's held queue. */
static void hold(struct job *j, struct entry *e)
{
	struct dom *d = e->dom;

	e->state = E_DOMQ;
	e->released = false;
	TAILQ_INSERT_TAIL(&d->held, e, q);
	if (d->nheld++ == 0)
		d->held_since = uv_now(j->loop);
	j->prog.domain_waiting++;
	partial_set(j, d);
}

/* dom_release - @d's held addresses, as far as its window allows, back
 * to the head of the send queue (they have waited longest), marked to
 * be sent as they are. */
static void dom_release(struct job *j, struct dom *d)
{
	unsigned room =
	    dom_limit(j, d) > d->in_flight ? dom_limit(j, d) - d->in_flight : 0;
	struct entry *e, *last = NULL;

	while (room-- > 0 && (e = TAILQ_FIRST(&d->held)) != NULL) {
		TAILQ_REMOVE(&d->held, e, q);
		d->nheld--;
		j->prog.domain_waiting--;
		e->state = E_SENDQ;
		e->released = true;
		if (last)
			TAILQ_INSERT_AFTER(&j->sendq, last, e, q);
		else
			TAILQ_INSERT_HEAD(&j->sendq, e, q);
		j->nsendq++;
		last = e;
	}
	if (d->nheld)
		d->held_since = uv_now(j->loop);
	partial_set(j, d);
}

/* batch_ready - whether @d's held addresses should go now: always
 * without batching; with it, a full batch (one session's recipients),
 * or whatever is there once the input has ended. */
static bool batch_ready(const struct job *j, const struct dom *d)
{
	return !batching(j) || d->nheld >= j->cfg.batch || j->input_done;
}

/* release_due - batching: the part batches that waited JOB_BATCH_LINGER_MS
 * (or all, once the input has ended) go; the pump comes back for the
 * next one due. */
static void release_due(struct job *j)
{
	uint64_t now = uv_now(j->loop), next = UINT64_MAX;
	struct dom *d, *n;

	for (d = TAILQ_FIRST(&j->partial); d; d = n) {
		n = TAILQ_NEXT(d, plink);
		if (j->input_done || now - d->held_since >= JOB_BATCH_LINGER_MS)
			dom_release(j, d);
		if (d->in_partial && d->held_since + JOB_BATCH_LINGER_MS < next)
			next = d->held_since + JOB_BATCH_LINGER_MS;
	}
	if (next != UINT64_MAX)
		schedule(j, next > now ? next - now : 1);
}

static void entry_free(struct job *j, struct entry *e)
{
	if (e->keyed)
		htab_remove(&j->table, &e->node);
	if (e->state == E_DOMQ) {
		TAILQ_REMOVE(&e->dom->held, e, q);
		e->dom->nheld--;
		j->prog.domain_waiting--;
		partial_set(j, e->dom);
	}
	dom_put(j, e);
	if (e->state == E_DONE)
		j->kept_bytes -= sizeof(*e) + e->keylen + e->packlen;
	TAILQ_REMOVE(&j->entries, e, all);
	free(e->rows);
	free(e->input);
	free(e->pack);
	free(e);
}

static int add_row(struct entry *e, uint64_t index)
{
	if (e->nrows == e->caprows) {
		size_t cap = e->caprows ? e->caprows * 2 : 1;
		uint64_t *r = realloc(e->rows, cap * sizeof(*r));
		if (r == NULL)
			return -1;
		e->rows = r;
		e->caprows = cap;
	}
	e->rows[e->nrows++] = index;
	return 0;
}

/* pack - @v into the entry (replacing what it held). */
static int pack(struct entry *e, const struct verdict *v)
{
	size_t n = vpack_size(v);
	char *p = malloc(n);

	if (p == NULL)
		return -1;
	vpack_encode(v, p);
	free(e->pack);
	e->pack = p;
	e->packlen = n;
	return 0;
}

/* ---- scheduling ------------------------------------------------------------ */

static void on_pump(uv_timer_t *t);

/* schedule - run the pump (or done) after @ms, unless sooner is due. */
static void schedule(struct job *j, uint64_t ms)
{
	if (j->freeing)
		return;
	if (uv_is_active((uv_handle_t *)&j->pump_timer) &&
	    uv_timer_get_due_in(&j->pump_timer) <= ms)
		return;
	uv_timer_start(&j->pump_timer, on_pump, ms, 0);
}

/* check_done - when nothing is left to do, done() on the next turn. */
static void check_done(struct job *j)
{
	if (j->done_due || j->done_called)
		return;
	if (j->cancelled ||
	    (j->input_done && j->prog.in_flight == 0 &&
	     j->prog.domain_waiting == 0 && TAILQ_EMPTY(&j->sendq) &&
	     TAILQ_EMPTY(&j->waitq))) {
		j->done_due = true;
		schedule(j, 0);
	}
}

/* count - one row answered. */
static void count(struct job *j, const struct verdict *v)
{
	uint64_t now = uv_now(j->loop);
	uint64_t sec = now / 1000;
	struct rate_bucket *b = &j->rate[sec % (JOB_RATE_WINDOW_S + 1)];

	j->prog.done++;
	if ((unsigned)v->status < VERDICT_STATUS_LAST)
		j->prog.status[v->status]++;
	if ((unsigned)v->reason < REASON_LAST)
		j->prog.reason[v->reason]++;
	if (b->sec != sec) {
		b->sec = sec;
		b->n = 0;
	}
	b->n++;
}

/* deliver - the verdict of one row. */
static void deliver(struct job *j, uint64_t index, const struct verdict *v)
{
	count(j, v);
	j->ops.result(j->data, index, v);
}

/* finish - @e is answered: every row waiting for it gets @v; then @e is
 * kept for repeats (within the budget) or freed. */
static void finish(struct job *j, struct entry *e, const struct verdict *v)
{
	size_t cost;

	for (size_t i = 0; i < e->nrows && !j->cancelled; i++)
		deliver(j, e->rows[i], v);
	free(e->rows);
	e->rows = NULL;
	e->nrows = e->caprows = 0;
	dom_put(j, e);
	cost = sizeof(*e) + e->keylen + vpack_size(v);
	if (!e->keyed || j->cancelled ||
	    j->kept_bytes + cost > j->cfg.dedupe_bytes || pack(e, v) < 0) {
		entry_free(j, e);
		return;
	}
	e->state = E_DONE;
	free(e->input);
	e->input = NULL;
	j->kept_bytes += sizeof(*e) + e->keylen + e->packlen;
}

static void on_retry(uv_timer_t *t);

static void arm_retry(struct job *j)
{
	struct entry *e = TAILQ_FIRST(&j->waitq);
	uint64_t now = uv_now(j->loop);

	if (e == NULL || j->freeing) {
		uv_timer_stop(&j->retry_timer);
		return;
	}
	uv_timer_start(&j->retry_timer, on_retry,
		       e->due > now ? e->due - now : 0, 0);
}

/* can_retry - may @e be asked again after a greylisting answer? */
static bool can_retry(const struct job *j, const struct entry *e)
{
	uint64_t now = uv_now(j->loop);
	uint64_t from = j->cfg.deadline_per_row ? e->born_ms : j->start_ms;

	return j->cfg.greylist_retry_ms > 0 && !j->no_retry && !j->cancelled &&
	       e->keyed && e->tries < JOB_GREYLIST_TRIES_MAX &&
	       now - from + j->cfg.greylist_retry_ms <= j->cfg.deadline_ms;
}

/* answered - @e's verdict @v from the verifier: final, or greylisted
 * and put aside for a retry. */
static void answered(struct job *j, struct entry *e, const struct verdict *v)
{
	if (v->reason == REASON_GREYLISTED && can_retry(j, e) &&
	    pack(e, v) == 0) {
		e->state = E_WAIT;
		e->due = uv_now(j->loop) + j->cfg.greylist_retry_ms;
		TAILQ_INSERT_TAIL(&j->waitq, e, q);
		j->prog.greylist_waiting++;
		if (TAILQ_FIRST(&j->waitq) == e)
			arm_retry(j);
		return;
	}
	finish(j, e, v);
}

static void pump(struct job *j);

static void on_verdict(void *data, const struct verdict *v,
		       const char *transcript)
{
	struct entry *e = data;
	struct job *j = e->j;

	(void)transcript;
	e->vreq = NULL;
	j->prog.in_flight--;
	if (e->dom) {
		struct dom *d = e->dom;
		d->in_flight--;
		d->warm = true;
		if (batch_ready(j, d))
			dom_release(j, d);
	}
	answered(j, e, v);
	pump(j);
}

/* send - hand @e (the head of the send queue) to the verifier. Returns
 * VERIFIER_BUSY when it must wait, else 0. */
static int send_entry(struct job *j, struct entry *e)
{
	struct verdict out;
	unsigned flags = j->cfg.fresh || e->tries > 0 ? VERIFIER_FRESH : 0;
	int rc;

	rc = verifier_check(j->v, e->input, e->inlen, flags, &out, on_verdict,
			    e, &e->vreq);
	if (rc == VERIFIER_BUSY)
		return VERIFIER_BUSY;
	TAILQ_REMOVE(&j->sendq, e, q);
	j->nsendq--;
	if (e->tries++ == 0)
		j->prog.unique++;
	else
		j->prog.greylist_retries++;
	if (rc == VERIFIER_PENDING) {
		e->state = E_FLIGHT;
		j->prog.in_flight++;
		if (e->dom)
			e->dom->in_flight++;
		return 0;
	}
	if (rc == VERIFIER_ERROR) {
		/* Closing or out of memory: no answer, honestly told. */
		verdict_set(&out, REASON_TIMEOUT);
		out.checked_at = (int64_t)time(NULL);
	}
	answered(j, e, &out);
	return 0;
}

/* echo - @v told as the answer to the row of @input. */
static void echo(struct verdict *v, const char *input, size_t len)
{
	struct verdict tmp;

	verdict_init(&tmp, input, len);
	memcpy(v->email, tmp.email, sizeof(v->email));
	v->email_truncated = tmp.email_truncated;
}

/* take - a row pulled: join its address's entry, or answer it from a
 * kept verdict, or make a new entry. */
static void take(struct job *j, const struct job_row *row)
{
	struct address a;
	char why[ADDRESS_WHY_MAX];
	const char *key = "";
	size_t keylen = 0;
	struct entry *e = NULL;
	struct htab_node *n;

	j->prog.taken++;
	if (row->len <= ADDRESS_INPUT_MAX &&
	    address_parse(row->input, row->len, &a, why) == 0) {
		key = a.address;
		keylen = strlen(a.address);
		n = htab_find(&j->table, key, keylen);
		e = n ? htab_entry(n, struct entry, node) : NULL;
	}
	if (e && e->state == E_DONE) {
		struct verdict v;
		if (vpack_decode(e->pack, e->packlen, &v) == 0) {
			j->prog.duplicates++;
			echo(&v, row->input, row->len);
			deliver(j, row->index, &v);
			return;
		}
		entry_free(j, e); /* cannot happen: our own packing */
		e = NULL;
	}
	if (e) {
		if (add_row(e, row->index) == 0) {
			j->prog.duplicates++;
			return;
		}
		e = NULL; /* out of memory: verified on its own */
		keylen = 0;
	}
	e = entry_new(j, key, keylen, row->input, row->len);
	if (e == NULL || add_row(e, row->index) < 0) {
		struct verdict v;
		verdict_init(&v, row->input, row->len);
		verdict_set(&v, REASON_TIMEOUT);
		v.checked_at = (int64_t)time(NULL);
		if (e)
			entry_free(j, e);
		deliver(j, row->index, &v);
		return;
	}
	if (keylen) {
		htab_insert(&j->table, &e->node, key, keylen);
		e->keyed = true;
		e->dom = dom_get(j, a.domain);
		if (e->dom)
			e->dom->refs++;
	}
	if (batching(j) && e->dom) {
		/* Straight to its domain: rows read ahead meet there. */
		struct dom *d = e->dom;
		hold(j, e);
		if (d->in_flight < dom_limit(j, d) && batch_ready(j, d))
			dom_release(j, d);
		else if (d->nheld == 1)
			schedule(j, JOB_BATCH_LINGER_MS);
		return;
	}
	e->state = E_SENDQ;
	TAILQ_INSERT_TAIL(&j->sendq, e, q);
	j->nsendq++;
}

/* flush_entry - a greylisted entry whose retry was called off: its
 * greylisted verdict is final. */
static void flush_entry(struct job *j, struct entry *e)
{
	struct verdict v;

	TAILQ_REMOVE(&j->sendq, e, q);
	j->nsendq--;
	if (vpack_decode(e->pack, e->packlen, &v) < 0) {
		verdict_init(&v, e->input, e->inlen); /* cannot happen */
		verdict_set(&v, REASON_GREYLISTED);
		v.checked_at = (int64_t)time(NULL);
	}
	finish(j, e, &v);
}

/* group_size - the released entries of @e's domain at the head of the
 * send queue from @e on: one batch at most, and never more than the
 * window (so that a small --job-window still moves). */
static unsigned group_size(const struct job *j, const struct entry *e)
{
	unsigned g = 0, max = j->cfg.batch < j->cfg.window ? j->cfg.batch
							   : j->cfg.window;

	const struct dom *d = e->dom;

	for (; e && g < max && e->released && e->dom == d; e = TAILQ_NEXT(e, q))
		g++;
	return g ? g : 1;
}

/* pump - send what waits, then take rows, while the window has room;
 * at most JOB_PUMP_BATCH steps per turn. */
static void pump(struct job *j)
{
	unsigned steps = 0;
	struct entry *e;
	struct job_row row;
	bool blocked = false; /* batching: the head waits for the window */

	if (j->in_pump || !j->started || j->cancelled || j->freeing)
		return;
	j->in_pump = true;
	release_due(j);
	while (!j->cancelled) {
		uint64_t now = uv_now(j->loop);

		if (steps++ >= JOB_PUMP_BATCH) {
			schedule(j, 0);
			break;
		}
		if (!blocked && (e = TAILQ_FIRST(&j->sendq)) != NULL) {
			if (e->flush) {
				flush_entry(j, e);
				continue;
			}
			/* Held: its domain's window is full, or (batching)
			 * it waits for the rest of a session's recipients. */
			if (e->dom &&
			    (e->dom->in_flight >= dom_limit(j, e->dom) ||
			     (batching(j) && !e->released))) {
				struct dom *d = e->dom;
				TAILQ_REMOVE(&j->sendq, e, q);
				j->nsendq--;
				hold(j, e);
				if (d->in_flight < dom_limit(j, d) &&
				    batch_ready(j, d))
					dom_release(j, d);
				else if (batching(j) && d->nheld == 1)
					schedule(j, JOB_BATCH_LINGER_MS);
				continue;
			}
			/* A released batch goes whole or waits for room: sent
			 * one by one as the window frees, it would be a
			 * session per address again. Meanwhile a batching
			 * job reads ahead (below). */
			unsigned need = 1;
			if (j->group_left == 0 && e->released && e->dom &&
			    batching(j))
				need = group_size(j, e);
			if (j->prog.in_flight + need > j->cfg.window) {
				if (!batching(j))
					break;
				blocked = true;
				continue;
			}
			if (need > 1)
				j->group_left = need;
			if (now < j->busy_until) {
				schedule(j, j->busy_until - now);
				break;
			}
			if (send_entry(j, e) == VERIFIER_BUSY) {
				j->busy_until = now + JOB_BUSY_RETRY_MS;
				schedule(j, JOB_BUSY_RETRY_MS);
				break;
			}
			if (j->group_left)
				j->group_left--;
			continue;
		}
		/* Batching reads ahead while the window is full (up to the
		 * bound on rows waiting), so that a domain's rows meet in
		 * batches. */
		if (j->input_done || j->paused ||
		    (!batching(j) && j->prog.in_flight >= j->cfg.window) ||
		    j->prog.domain_waiting + j->nsendq >=
			(uint64_t)j->cfg.window * JOB_WAITING_FACTOR)
			break;
		int rc = j->ops.pull(j->data, &row);
		if (rc < 0) {
			j->input_done = true;
			release_due(j); /* every part batch goes now */
			continue;
		}
		if (rc == 0) {
			j->paused = true;
			break;
		}
		take(j, &row);
	}
	j->in_pump = false;
	check_done(j);
}

static void on_pump(uv_timer_t *t)
{
	struct job *j = t->data;

	if (j->done_due && !j->done_called) {
		j->done_called = true;
		j->ops.done(j->data); /* may free the job: nothing after */
		return;
	}
	pump(j);
}

static void on_retry(uv_timer_t *t)
{
	struct job *j = t->data;
	uint64_t now = uv_now(j->loop);
	struct entry *e;

	while ((e = TAILQ_FIRST(&j->waitq)) != NULL && e->due <= now) {
		TAILQ_REMOVE(&j->waitq, e, q);
		j->prog.greylist_waiting--;
		e->state = E_SENDQ;
		TAILQ_INSERT_TAIL(&j->sendq, e, q);
		j->nsendq++;
	}
	arm_retry(j);
	pump(j);
}

/* ---- the owner's calls -------------------------------------------------------- */

void job_start(struct job *j)
{
	if (j->started)
		return;
	j->started = true;
	j->start_ms = uv_now(j->loop);
	schedule(j, 0);
}

void job_wake(struct job *j)
{
	j->paused = false;
	if (j->started && !j->input_done)
		schedule(j, 0);
}

void job_stop_input(struct job *j)
{
	j->input_done = true;
	if (j->started)
		schedule(j, 0); /* check_done from the pump */
}

void job_flush_greylisted(struct job *j)
{
	struct entry *e;

	j->no_retry = true;
	if (TAILQ_EMPTY(&j->waitq))
		return;
	/* Moved to the send queue with their verdict marked final: the
	 * pump answers them on the next turn, outside this call. */
	while ((e = TAILQ_FIRST(&j->waitq)) != NULL) {
		TAILQ_REMOVE(&j->waitq, e, q);
		j->prog.greylist_waiting--;
		e->due = 0;
		e->flush = true;
		e->state = E_SENDQ;
		TAILQ_INSERT_HEAD(&j->sendq, e, q);
		j->nsendq++;
	}
	uv_timer_stop(&j->retry_timer);
	schedule(j, 0);
}

void job_cancel(struct job *j)
{
	struct entry *e;

	if (j->cancelled)
		return;
	j->cancelled = true;
	TAILQ_FOREACH(e, &j->entries, all)
	{
		if (e->state == E_FLIGHT && e->vreq) {
			verifier_cancel(e->vreq);
			e->vreq = NULL;
		}
	}
	j->prog.in_flight = 0;
	uv_timer_stop(&j->retry_timer);
	check_done(j);
}

void job_get_progress(const struct job *j, struct job_progress *p)
{
	uint64_t now = uv_now(j->loop);
	uint64_t sec = now / 1000, sum = 0;
	double span;

	*p = j->prog;
	p->elapsed_ms = j->started ? now - j->start_ms : 0;
	for (unsigned i = 0; i <= JOB_RATE_WINDOW_S; i++)
		if (j->rate[i].sec + JOB_RATE_WINDOW_S > sec &&
		    j->rate[i].sec <= sec)
			sum += j->rate[i].n;
	span = (double)p->elapsed_ms / 1000.0;
	if (span > JOB_RATE_WINDOW_S)
		span = JOB_RATE_WINDOW_S;
	if (span < 1.0)
		span = 1.0;
	p->rate = (double)sum / span;
}

long job_eta_s(const struct job_progress *p, uint64_t total)
{
	if (p->done >= total)
		return 0;
	if (p->rate <= 0.0 || p->done == 0)
		return -1;
	return (long)ceil((double)(total - p->done) / p->rate);
}

static void on_closed(uv_handle_t *h)
{
	struct job *j = h->data;

	if (--j->handles > 0)
		return;
	while (!TAILQ_EMPTY(&j->entries))
		entry_free(j, TAILQ_FIRST(&j->entries));
	htab_free(&j->table);
	htab_free(&j->domains);
	free(j);
}

void job_free(struct job *j)
{
	if (j == NULL || j->freeing)
		return;
	job_cancel(j);
	j->freeing = true;
	uv_close((uv_handle_t *)&j->pump_timer, on_closed);
	uv_close((uv_handle_t *)&j->retry_timer, on_closed);
}
