/* engine_session - one SMTP session of the engine: the batch it
 * carries (requests of one domain and the catch-all probe), the results
 * it reads, and what becomes of each request when it ends: a verdict, a
 * new session at the same address, or the next address (see engine.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/classify.h"
#include "daemon/engine_int.h"
#include "daemon/log.h"
#include "daemon/session.h"

/* ---- sessions --------------------------------------------------------- */

static void on_result(struct session *s, const struct dialog_result *res,
		      void *data)
{
	struct esess *x = data;
	struct ereq *r;

	(void)s;
	if (x->probe && res->tag == x->probe) {
		x->probe->rstatus = res->status;
		if (res->status == DIALOG_RCPT_REPLIED)
			x->probe->reply_reason =
			    classify_reply(res->stage, res->code, res->enhanced,
					   res->text, &x->probe->retry_after);
		return;
	}
	r = res->tag;
	r->rstatus = res->status;
	if (res->stage != SMTP_STAGE_NONE && res->code) {
		r->v.smtp.stage = res->stage;
		r->v.smtp.code = res->code;
		snprintf(r->v.smtp.enhanced, sizeof(r->v.smtp.enhanced), "%s",
			 res->enhanced);
		verdict_copy_text(r->v.smtp.message, sizeof(r->v.smtp.message),
				  res->text, strlen(res->text), false);
	}
	if (res->status == DIALOG_RCPT_REPLIED) {
		x->nreplied++;
		x->d->rcpt_answered++;
		x->e->rcpt_answered++;
		if (res->code >= 400) {
			x->d->rcpt_rejected++;
			x->e->rcpt_rejected++;
		}
		r->reply_reason =
		    classify_reply(res->stage, res->code, res->enhanced,
				   res->text, &r->retry_after);
		if (res->code >= 400 && res->code < 500)
			x->n4xx++;
		if (r->reply_reason == REASON_RATE_LIMITED)
			x->pushback = true;
	}
}

/* failure_reason - what a session failure says about its recipients. */
static enum verdict_reason failure_reason(const struct dialog_failure *f,
					  unsigned *retry_after)
{
	switch (f->kind) {
	case DIALOG_FAIL_CONNECT:
	case DIALOG_FAIL_CLOSED:
	case DIALOG_FAIL_LOCAL:
		return REASON_CONNECT_FAILED;
	case DIALOG_FAIL_TIMEOUT:
		return REASON_TIMEOUT;
	case DIALOG_FAIL_PROTOCOL:
		return REASON_PROTOCOL_ERROR;
	case DIALOG_FAIL_REJECTED:
		return classify_reply(f->stage, f->code, f->enhanced, f->text,
				      retry_after);
	case DIALOG_FAIL_NONE:
	case DIALOG_FAIL_LAST:
		break;
	}
	return REASON_CONNECT_FAILED;
}

/* settle_probe - record what the catch-all probe learned. A session that
 * never connected did not ask: that run does not count against the
 * domain's bound. */
static void settle_probe(struct edomain *d, struct probe *p,
			 const struct dialog_failure *f)
{
	enum tristate t = TRI_UNKNOWN;

	d->probing = false;
	if (f->kind == DIALOG_FAIL_CONNECT && d->probe_runs > 0)
		d->probe_runs--;
	if (p->rstatus == DIALOG_RCPT_REPLIED) {
		if (p->reply_reason == REASON_ACCEPTED)
			t = TRI_TRUE;
		else if (p->reply_reason == REASON_MAILBOX_NOT_FOUND ||
			 p->reply_reason == REASON_MAILBOX_DISABLED)
			t = TRI_FALSE;
	}
	if (t != TRI_UNKNOWN) {
		engine__fact_set(d->e, d->name, t);
		if (d->e->fact_fn)
			d->e->fact_fn(d->e->fact_arg, d->name, t, d->mx,
				      d->mx_count);
	} else if (p->rstatus == DIALOG_RCPT_REPLIED) {
		d->probe_reason = p->reply_reason;
		d->probe_retry_after = p->retry_after;
	} else if (f->kind != DIALOG_FAIL_NONE)
		d->probe_reason = failure_reason(f, &d->probe_retry_after);
	free(p);
}

/* settle - decide what becomes of @r after its session ended. */
static void settle(struct esess *x, struct ereq *r,
		   const struct dialog_failure *f, bool tls,
		   const char *transcript)
{
	struct engine *e = x->e;
	struct edomain *d = x->d;
	enum verdict_reason reason;
	bool retry_same = false, retry_next = false;

	r->in_session = false;
	if (r->done) { /* its deadline passed while the session ran */
		engine__req_release(r);
		return;
	}
	engine__fill_smtp_target(r, x->target);
	r->v.smtp.tls = tls;
	switch (r->rstatus) {
	case DIALOG_RCPT_REPLIED:
		reason = r->reply_reason;
		if (reason == REASON_IN_PROGRESS) /* too many recipients */
			retry_same = true;
		break;
	case DIALOG_RCPT_REFUSED:
		/* The address grammar already refuses what the line writer
		 * refuses; should they ever differ, the writer wins. */
		reason = REASON_INVALID_SYNTAX;
		snprintf(r->v.message, sizeof(r->v.message),
			 "address cannot be sent in an SMTP command");
		break;
	case DIALOG_RCPT_NEEDS_SMTPUTF8:
		reason = REASON_PROTOCOL_ERROR;
		r->v.smtp.stage = SMTP_STAGE_EHLO;
		snprintf(r->v.smtp.message, sizeof(r->v.smtp.message),
			 "the server does not offer SMTPUTF8, needed for "
			 "this address");
		break;
	case DIALOG_RCPT_NOT_ATTEMPTED:
	case DIALOG_RCPT_UNANSWERED:
	default:
		if (f->kind == DIALOG_FAIL_NONE) {
			/* The server is fine but stopped taking recipients
			 * (error budget, 452): a new session. */
			retry_same = true;
			reason = REASON_RATE_LIMITED;
		} else {
			/* A server that answered some recipients and then
			 * hung up (an error limit, as Postfix's
			 * smtpd_hard_error_limit) is alive: the rest go on in
			 * a new session there. One that answered none is
			 * tried at the next address. */
			if (x->nreplied > 0)
				retry_same = true;
			else
				retry_next = true;
			reason = failure_reason(f, &r->retry_after);
			r->v.smtp.stage = f->stage;
			r->v.smtp.code = f->code;
			snprintf(r->v.smtp.enhanced, sizeof(r->v.smtp.enhanced),
				 "%s", f->enhanced);
			verdict_copy_text(
			    r->v.smtp.message, sizeof(r->v.smtp.message),
			    f->code ? f->text : f->detail,
			    strlen(f->code ? f->text : f->detail), false);
		}
		break;
	}
	if (reason == REASON_ACCEPTED && !d->literal) {
		enum tristate t = engine__fact_get(e, d->name);
		r->v.catch_all = t;
		if (t == TRI_UNKNOWN && e->c.catch_all_probe) {
			/* Accepted, but whether anything would be is not
			 * known: never deliverable on doubt. Ask again in a
			 * new session with the probe, once. */
			if (d->probe_runs < 2 && !e->closing &&
			    r->attempts + 1 < ENGINE_ATTEMPTS_MAX)
				retry_same = true;
			else {
				/* Say why: the probe was greylisted, timed
				 * out, ... */
				reason = d->probe_reason;
				r->retry_after = d->probe_retry_after;
			}
		}
	} else if (!d->literal)
		r->v.catch_all = engine__fact_get(e, d->name);

	if (retry_next && x->target + 1 < d->ntargets && !e->closing) {
		r->next_target = x->target + 1;
		r->attempts++;
		TAILQ_INSERT_HEAD(&d->queue, r, link);
		r->queued = true;
		return;
	}
	if (retry_same && !e->closing) {
		/* A session in which the server answered recipients and
		 * then stopped taking them (an error budget, 452, its error
		 * limit) made progress: only a fruitless session, a wait
		 * that ran out (a tarpit) or a repeat for the catch-all
		 * question counts as an attempt. ENGINE_SESSIONS_MAX bounds the rest. */
		if (x->nreplied == 0 || f->kind == DIALOG_FAIL_TIMEOUT ||
		    reason == REASON_ACCEPTED)
			r->attempts++;
		if (r->attempts < ENGINE_ATTEMPTS_MAX &&
		    r->sessions < ENGINE_SESSIONS_MAX) {
			TAILQ_INSERT_HEAD(&d->queue, r, link);
			r->queued = true;
			return;
		}
	}
	if (reason == REASON_IN_PROGRESS)
		reason = REASON_RATE_LIMITED;
	engine__req_finish(r, reason, transcript);
}

/* session_pushed_back - whether the server asked us to slow down: a
 * refused connection, 421, "too many connections" and the like, or a
 * burst of 4xx to RCPT. */
static bool session_pushed_back(const struct esess *x,
				const struct dialog_failure *f)
{
	unsigned retry;

	if (x->pushback || x->n4xx >= ENGINE_4XX_BURST)
		return true;
	if (f->kind == DIALOG_FAIL_CONNECT)
		return true;
	if (f->kind != DIALOG_FAIL_REJECTED)
		return false;
	if (classify_reply(f->stage, f->code, f->enhanced, f->text, &retry) ==
	    REASON_RATE_LIMITED)
		return true;
	/* A 421 after answering recipients is the server's error limit
	 * (Postfix's "too many errors"), not load: no backoff for it. */
	return f->code == 421 && x->nreplied == 0;
}

static void on_session_done(struct session *s, void *data)
{
	struct esess *x = data;
	struct engine *e = x->e;
	struct edomain *d = x->d;
	const struct dialog *dg = session_dialog(s);
	const struct dialog_failure *f = dialog_failure(dg);
	bool tls = (dialog_extensions(dg) & SMTP_EXT_STARTTLS) != 0;
	const char *transcript = NULL;

	if (e->c.dialog.transcript_max)
		dialog_transcript(dg, &transcript);
	if (f->kind != DIALOG_FAIL_NONE)
		e->stats.session_failures++;
	/* The probe first: the real recipients' verdicts depend on it. */
	if (x->probe)
		settle_probe(d, x->probe, f); /* frees it */
	/* Backwards: a request that goes on in a new session is put back
	 * at the head of the queue, so the queue keeps its order. */
	for (unsigned i = x->n; i-- > 0;)
		settle(x, x->reqs[i], f, tls, transcript);
	if (x->gate_held)
		engine__gate_release(e, &d->targets[x->target], x->gate_token);
	engine__host_judge(e, x->h, session_pushed_back(x, f));
	session_free(s);
	engine__host_put(e, x->h);
	d->active--;
	e->active--;
	TAILQ_REMOVE(&e->sessions, x, link);
	free(x);
	if (!TAILQ_EMPTY(&d->queue) && !d->in_ready)
		engine__ready_insert(e, d);
	engine__pump_soon(e);
	engine__dom_release(d);
}

static struct probe *probe_new(struct engine *e, struct edomain *d)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t dlen = strlen(d->name);
	struct probe *p;
	char local[24];

	/* "rcptd-" + 12 characters + "@" + domain must fit an address. */
	if (18 + 1 + dlen > ADDRESS_MAX)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	/* The same local part for a domain all through the engine's life
	 * (keyed by a secret drawn at start, so nobody can predict it):
	 * a greylisting server then lets the probe through on the retry as
	 * it lets the real address through. */
	uint64_t h = htab_hash(d->name, dlen) ^ e->probe_key;
	memcpy(local, "rcptd-", 6);
	for (int i = 6; i < 18; i++) {
		h ^= h >> 31; /* splitmix64's finaliser, one round a char */
		h *= 0xbf58476d1ce4e5b9ull;
		h ^= h >> 27;
		local[i] = alnum[h % (sizeof(alnum) - 1)];
	}
	local[18] = '\0';
	p->rstatus = DIALOG_RCPT_NOT_ATTEMPTED;
	memcpy(p->address, local, 18);
	p->address[18] = '@';
	memcpy(p->address + 19, d->name, dlen + 1);
	return p;
}

/* engine__start_session - one session for the head of @d's queue; false when a
 * limit stops it (the domain waits for a session to end). */
void engine__gate_release(struct engine *e, const struct target *t,
			  uint64_t token)
{
	char ip[VERDICT_IP_MAX];

	uv_inet_ntop(t->family, t->octets, ip, sizeof(ip));
	e->gate.release(e->gate.gate, ip, token);
}

/* on_gate - the shared gate answered @d's request for a slot. */
static void on_gate(void *ctx, bool granted, uint64_t token)
{
	struct edomain *d = ctx;
	struct engine *e = d->e;

	d->gating = false;
	if (granted) {
		d->gate_held = true;
		d->gate_token = token;
	}
	if (TAILQ_EMPTY(&d->queue) || e->closing) { /* nothing to use it for */
		if (d->gate_held)
			engine__gate_release(e, &d->targets[d->gate_target],
					     d->gate_token);
		d->gate_held = false;
		engine__dom_release(d);
		return;
	}
	if (granted)
		engine__pump_soon(e);
	else /* the host is busy with other instances: ask again soon */
		engine__wake_at(e, uv_now(e->loop) + ENGINE_GATE_RETRY_MS);
}

/* gate_ready - whether @d holds a shared slot for target @ti; if not,
 * ask for one (false: wait for the answer). A gate that cannot ask (Redis
 * away) lets the local count alone decide. */
static bool gate_ready(struct engine *e, struct edomain *d, unsigned ti)
{
	char ip[VERDICT_IP_MAX];

	if (d->gating)
		return false;
	if (d->gate_held && d->gate_target != ti) {
		engine__gate_release(e, &d->targets[d->gate_target],
				     d->gate_token);
		d->gate_held = false;
	}
	if (d->gate_held)
		return true;
	uv_inet_ntop(d->targets[ti].family, d->targets[ti].octets, ip,
		     sizeof(ip));
	d->gating = true;
	d->gate_target = ti;
	if (e->gate.acquire(e->gate.gate, ip, e->c.per_host_concurrency,
			    on_gate, d) < 0) {
		d->gating = false;
		return true;
	}
	return false;
}

bool engine__start_session(struct engine *e, struct edomain *d)
{
	struct ereq *head = TAILQ_FIRST(&d->queue), *r, *next;
	unsigned ti = head->next_target, cap, n = 0;
	struct ehost *h;
	struct esess *x;
	struct session *s;
	struct session_target t;
	const char **rcpts;
	void **tags;

	h = engine__host_get(e, &d->targets[ti]);
	if (h == NULL)
		return false;
	if (h->backoff_until > uv_now(e->loop)) {
		engine__wake_at(e, h->backoff_until);
		engine__host_maybe_free(e, h);
		return false;
	}
	if (h->active >= engine__host_cap(e, h))
		return false;
	if (e->gate.acquire && !gate_ready(e, d, ti)) {
		engine__host_maybe_free(e, h);
		return false;
	}
	if (!engine__rate_take(e, d)) {
		engine__host_maybe_free(e, h);
		return false;
	}
	cap = e->c.dialog.rcpt_max ? e->c.dialog.rcpt_max : 50;
	x = calloc(1, sizeof(*x) + (cap + 1) * sizeof(x->reqs[0]));
	rcpts = calloc(cap + 1, sizeof(*rcpts));
	tags = calloc(cap + 1, sizeof(*tags));
	if (x == NULL || rcpts == NULL || tags == NULL) {
		free(x), free(rcpts), free(tags);
		engine__host_maybe_free(e, h);
		return false;
	}
	for (r = head; r && n < cap; r = next) {
		next = TAILQ_NEXT(r, link);
		if (r->next_target != ti)
			continue;
		engine__req_unqueue(r);
		r->in_session = true;
		r->sessions++;
		x->reqs[n++] = r;
	}
	if (e->c.catch_all_probe && !d->literal && !d->probing &&
	    d->probe_runs < 2 && engine__fact_get(e, d->name) == TRI_UNKNOWN) {
		x->probe = probe_new(e, d);
		if (x->probe) {
			d->probing = true;
			d->probe_runs++;
		}
	}
	/* The probe goes first: the verdicts of every accepted address
	 * wait for its answer, and a server with an error limit (Postfix
	 * hangs up after 20 rejections) may never reach the end of a long
	 * batch. It costs one rejection of the budget at most. */
	unsigned k = 0;
	if (x->probe) {
		rcpts[k] = x->probe->address;
		tags[k++] = x->probe;
	}
	for (unsigned i = 0; i < n; i++, k++) {
		rcpts[k] = x->reqs[i]->v.address;
		tags[k] = x->reqs[i];
		x->reqs[i]->rstatus = DIALOG_RCPT_NOT_ATTEMPTED;
	}
	if (d->gate_held) { /* the shared slot goes with the session */
		x->gate_held = true;
		x->gate_token = d->gate_token;
		d->gate_held = false;
	}
	x->e = e;
	x->d = d;
	x->h = h;
	x->target = ti;
	x->n = n;
	t.family = d->targets[ti].family;
	memcpy(t.octets, d->targets[ti].octets, 16);
	t.port = e->c.port;
	h->active++;
	d->active++;
	e->active++;
	e->stats.sessions++;
	/* The probe rides on top of the session's recipient cap. */
	struct dialog_config dc = e->c.dialog;
	dc.rcpt_max = n + (x->probe != NULL);
	/* How many RCPTs a pipelined batch may carry: the error budget over
	 * the share of rejections seen at this domain (after 10 answers), or
	 * in the whole run; before any, ENGINE_REJECT_PRIOR. A domain whose
	 * server rejects far more than that costs its first session the
	 * error limits (Postfix slows down past 10 errors and hangs up at
	 * 20: the rest go on in a new session, in batches of the budget). */
	if (d->rcpt_answered >= ENGINE_REJECT_SAMPLE)
		dc.reject_permille =
		    (unsigned)(1000ull * (d->rcpt_rejected + 1) /
			       (d->rcpt_answered + 2));
	else if (e->rcpt_answered >= ENGINE_REJECT_SAMPLE)
		dc.reject_permille =
		    (unsigned)(1000ull * (e->rcpt_rejected + 1) /
			       (e->rcpt_answered + 2));
	else
		dc.reject_permille = ENGINE_REJECT_PRIOR;
	int rc = session_start(e->loop, &t, &dc, e->c.connect_timeout_ms, rcpts,
			       (void *const *)tags, n + (x->probe != NULL),
			       on_result, on_session_done, x, &s);
	free(rcpts);
	free(tags);
	if (rc == 0) { /* listed, so that engine_close() can end it */
		x->s = s;
		TAILQ_INSERT_TAIL(&e->sessions, x, link);
	}
	if (rc < 0) {
		/* As if the connection had failed at once. */
		static const struct dialog_failure fail = {
		    DIALOG_FAIL_CONNECT,
		    SMTP_STAGE_CONNECT,
		    0,
		    "",
		    "",
		    "could not start a connection"};
		log_warn("session to %s: %s", d->name, uv_strerror(rc));
		if (x->probe)
			settle_probe(d, x->probe, &fail);
		for (unsigned i = n; i-- > 0;)
			settle(x, x->reqs[i], &fail, false, NULL);
		if (x->gate_held)
			engine__gate_release(e, &d->targets[ti], x->gate_token);
		engine__host_put(e, h);
		d->active--;
		e->active--;
		free(x);
	}
	return true;
}
