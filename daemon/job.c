/* job - a bulk job in process (see job.h).
 *
 * Every distinct address of the job is one entry, keyed by its normal
 * form in a hash table, with the rows that wait for it. An entry walks:
 *   SENDQ  waiting for room in the window (new, verifier busy, or its
 *          greylisting delay is over);
 *   DOMQ   held back by its domain's window or batch (job_dom.c), back
 *          to SENDQ when the domain has room and its batch is ready;
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
#include "daemon/job_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "core/address.h"
#include "core/htab.h"
#include "core/vpack.h"

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
	if (htab_init(&j->domains, job__dom_eq) < 0) {
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

static void entry_free(struct job *j, struct entry *e)
{
	if (e->keyed)
		htab_remove(&j->table, &e->node);
	if (e->state == E_DOMQ) {
		TAILQ_REMOVE(&e->dom->held, e, q);
		e->dom->nheld--;
		j->prog.domain_waiting--;
		job__partial_set(j, e->dom);
	}
	job__dom_put(j, e);
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
void job__schedule(struct job *j, uint64_t ms)
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
		job__schedule(j, 0);
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
	job__dom_put(j, e);
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
		if (job__batch_ready(j, d))
			job__dom_release(j, d);
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
		e->dom = job__dom_get(j, a.domain);
		if (e->dom)
			e->dom->refs++;
	}
	if (job__batching(j) && e->dom) {
		/* Straight to its domain: rows read ahead meet there. */
		struct dom *d = e->dom;
		job__hold(j, e);
		if (d->in_flight < job__dom_limit(j, d) &&
		    job__batch_ready(j, d))
			job__dom_release(j, d);
		else if (d->nheld == 1)
			job__schedule(j, JOB_BATCH_LINGER_MS);
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
	job__release_due(j);
	while (!j->cancelled) {
		uint64_t now = uv_now(j->loop);

		if (steps++ >= JOB_PUMP_BATCH) {
			job__schedule(j, 0);
			break;
		}
		if (!blocked && (e = TAILQ_FIRST(&j->sendq)) != NULL) {
			if (e->flush) {
				flush_entry(j, e);
				continue;
			}
			/* Held: its domain's window is full, or (job__batching)
			 * it waits for the rest of a session's recipients. */
			if (e->dom &&
			    (e->dom->in_flight >= job__dom_limit(j, e->dom) ||
			     (job__batching(j) && !e->released))) {
				struct dom *d = e->dom;
				TAILQ_REMOVE(&j->sendq, e, q);
				j->nsendq--;
				job__hold(j, e);
				if (d->in_flight < job__dom_limit(j, d) &&
				    job__batch_ready(j, d))
					job__dom_release(j, d);
				else if (job__batching(j) && d->nheld == 1)
					job__schedule(j, JOB_BATCH_LINGER_MS);
				continue;
			}
			/* A released batch goes whole or waits for room: sent
			 * one by one as the window frees, it would be a
			 * session per address again. Meanwhile a batching
			 * job reads ahead (below). */
			unsigned need = 1;
			if (j->group_left == 0 && e->released && e->dom &&
			    job__batching(j))
				need = job__group_size(j, e);
			if (j->prog.in_flight + need > j->cfg.window) {
				if (!job__batching(j))
					break;
				blocked = true;
				continue;
			}
			if (need > 1)
				j->group_left = need;
			if (now < j->busy_until) {
				job__schedule(j, j->busy_until - now);
				break;
			}
			if (send_entry(j, e) == VERIFIER_BUSY) {
				j->busy_until = now + JOB_BUSY_RETRY_MS;
				job__schedule(j, JOB_BUSY_RETRY_MS);
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
		    (!job__batching(j) && j->prog.in_flight >= j->cfg.window) ||
		    j->prog.domain_waiting + j->nsendq >=
			(uint64_t)j->cfg.window * JOB_WAITING_FACTOR)
			break;
		int rc = j->ops.pull(j->data, &row);
		if (rc < 0) {
			j->input_done = true;
			job__release_due(j); /* every part batch goes now */
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
	job__schedule(j, 0);
}

void job_wake(struct job *j)
{
	j->paused = false;
	if (j->started && !j->input_done)
		job__schedule(j, 0);
}

void job_stop_input(struct job *j)
{
	j->input_done = true;
	if (j->started)
		job__schedule(j, 0); /* check_done from the pump */
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
	job__schedule(j, 0);
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
