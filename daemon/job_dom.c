/* job_dom - a job's per-domain windows and batches (see job.h "Per
 * domain" and job_int.h): how many of a domain's addresses may be at the
 * verifier, which wait in the domain's held queue, and when a batch of
 * them goes. */
#include "daemon/job_int.h"

#include <stdlib.h>
#include <string.h>

bool job__dom_eq(const struct htab_node *n, const void *key, size_t len)
{
	const struct dom *d = htab_entry(n, struct dom, node);

	return d->len == len && memcmp(d->name, key, len) == 0;
}

/* job__dom_get - the domain of @a, made when new; NULL when memory runs out
 * (the address then goes without a domain window). */
struct dom *job__dom_get(struct job *j, const char *name)
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

/* job__dom_put - @e no longer needs its domain (done, or freed). */
void job__dom_put(struct job *j, struct entry *e)
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

unsigned job__dom_limit(const struct job *j, const struct dom *d)
{
	if (d->warm)
		return j->cfg.domain_window;
	return j->cfg.first_window ? j->cfg.first_window : 1;
}

bool job__batching(const struct job *j)
{
	return j->cfg.batch > 1;
}

/* job__partial_set - keep j->partial true to @d's held entries. */
void job__partial_set(struct job *j, struct dom *d)
{
	bool want = job__batching(j) && d->nheld > 0;

	if (want && !d->in_partial)
		TAILQ_INSERT_TAIL(&j->partial, d, plink);
	else if (!want && d->in_partial)
		TAILQ_REMOVE(&j->partial, d, plink);
	d->in_partial = want;
}

/* job__hold - @e (off every queue) waits in its domain's held queue. */
void job__hold(struct job *j, struct entry *e)
{
	struct dom *d = e->dom;

	e->state = E_DOMQ;
	e->released = false;
	TAILQ_INSERT_TAIL(&d->held, e, q);
	if (d->nheld++ == 0)
		d->held_since = uv_now(j->loop);
	j->prog.domain_waiting++;
	job__partial_set(j, d);
}

/* job__dom_release - @d's held addresses, as far as its window allows, back
 * to the head of the send queue (they have waited longest), marked to
 * be sent as they are. */
void job__dom_release(struct job *j, struct dom *d)
{
	unsigned room = job__dom_limit(j, d) > d->in_flight
			    ? job__dom_limit(j, d) - d->in_flight
			    : 0;
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
	job__partial_set(j, d);
}

/* job__batch_ready - whether @d's held addresses should go now: always
 * without batching; with it, a full batch (one session's recipients),
 * or whatever is there once the input has ended. */
bool job__batch_ready(const struct job *j, const struct dom *d)
{
	return !job__batching(j) || d->nheld >= j->cfg.batch || j->input_done;
}

/* job__release_due - batching: the part batches that waited JOB_BATCH_LINGER_MS
 * (or all, once the input has ended) go; the pump comes back for the
 * next one due. */
void job__release_due(struct job *j)
{
	uint64_t now = uv_now(j->loop), next = UINT64_MAX;
	struct dom *d, *n;

	for (d = TAILQ_FIRST(&j->partial); d; d = n) {
		n = TAILQ_NEXT(d, plink);
		if (j->input_done || now - d->held_since >= JOB_BATCH_LINGER_MS)
			job__dom_release(j, d);
		if (d->in_partial && d->held_since + JOB_BATCH_LINGER_MS < next)
			next = d->held_since + JOB_BATCH_LINGER_MS;
	}
	if (next != UINT64_MAX)
		job__schedule(j, next > now ? next - now : 1);
}

/* job__group_size - the released entries of @e's domain at the head of the
 * send queue from @e on: one batch at most, and never more than the
 * window (so that a small --job-window still moves). */
unsigned job__group_size(const struct job *j, const struct entry *e)
{
	unsigned g = 0, max = j->cfg.batch < j->cfg.window ? j->cfg.batch
							   : j->cfg.window;

	const struct dom *d = e->dom;

	for (; e && g < max && e->released && e->dom == d; e = TAILQ_NEXT(e, q))
		g++;
	return g ? g : 1;
}
