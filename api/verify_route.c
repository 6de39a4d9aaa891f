/* verify_route - GET and POST /v1/verify: addresses in, verdicts out.
 *
 * Input: GET ?email=ADDR, or a POST body (reqparse.h) with one address
 * or up to max_batch; flags fresh=, transcript= and wait= in the query
 * (and "fresh"/"transcript" in a POST body, which win).
 * Each address goes to the verifier. When every verdict is known at once
 * (invalid syntax, a cache hit) the answer leaves in the same call. Else
 * the request is suspended with a timer of its wait: each verdict that
 * arrives fills its slot, and the last one resumes the request; when the
 * wait runs out first, the slots still open are answered unknown /
 * in_progress with retry_after, and verifier_cancel() lets their probes
 * go on to fill the cache for the retry (Postfix verify(8)'s two
 * deadlines).
 * Refusals: 400 for a missing or bad "email" (not UTF-8, a NUL, broken
 * JSON), 413 over max_batch, 503 with Retry-After when the verifier is
 * busy (its probe queue is full) or closing. An address with CR, LF or
 * any other control is not refused here: it is a verdict,
 * undeliverable / invalid_syntax, as from the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/http_int.h"
#include "api/reqparse.h"
#include "api/verdict_json.h"

struct vslot {
	struct verify *vs;
	struct verifier_req *vreq; /* while pending */
	bool pending;
	const char *input; /* borrowed from MHD or the JSON body */
	size_t len;
	struct verdict v;
	char *transcript; /* owned; with transcript=1 */
};

struct verify {
	struct http_req *r;
	uv_timer_t timer;
	bool timer_started;
	struct reqparse_body body; /* owns the POSTed strings */
	bool batch, transcript;
	unsigned count, pending;
	struct vslot slot[]; /* count */
};

static void on_timer_closed(uv_handle_t *t)
{
	struct verify *vs = t->data;

	free(vs);
}

/* release - free the slots' data and the struct (after its timer has
 * closed, when it was started). Nothing may be pending. */
static void release(struct verify *vs)
{
	for (unsigned i = 0; i < vs->count; i++) {
		if (vs->slot[i].pending)
			verifier_cancel(vs->slot[i].vreq);
		free(vs->slot[i].transcript);
	}
	reqparse_release(&vs->body);
	if (vs->timer_started)
		uv_close((uv_handle_t *)&vs->timer, on_timer_closed);
	else
		free(vs);
}

void verify__free(struct http_req *r)
{
	struct verify *vs = r->vs;

	r->vs = NULL;
	if (vs)
		release(vs);
}

/* answer - the 200 answer from the slots (all filled), written directly
 * (verdict_json.h: no jansson tree on the hot path): one verdict object,
 * or {"results":[...]} for a batch; each with "transcript" when it was
 * asked for. */
static void answer(struct verify *vs)
{
	struct http_req *r = vs->r;
	struct http *h = r->h;
	struct verdict_json_buf b;
	const char *extra = vs->transcript ? "transcript" : NULL;
	size_t len;
	char *text;

	for (unsigned i = 0; i < vs->count; i++)
		metrics_verdict(h->metrics, h->shard, vs->slot[i].v.reason);
	verdict_json_buf_init(&b, 0);
	if (vs->batch)
		verdict_json_buf_put(&b, "{\"results\":[", 12);
	for (unsigned i = 0; i < vs->count; i++) {
		if (i > 0)
			verdict_json_buf_put(&b, ",", 1);
		verdict_json_write(&b, &vs->slot[i].v, extra,
				   vs->slot[i].transcript);
	}
	if (vs->batch)
		verdict_json_buf_put(&b, "]}", 2);
	text = verdict_json_buf_take(&b, &len);
	if (text == NULL ||
	    http__respond_raw(r, 200, text, len, "application/json") < 0)
		http__error(r, 500, "internal", "out of memory");
}

/* in_progress - the answer of a slot whose probe is still running. When
 * the verifier did not fill in the precheck's verdict (address, domain,
 * flags), the input is echoed alone. */
static void in_progress(struct verify *vs, struct vslot *s)
{
	struct http *h = vs->r->h;
	unsigned wait_s = (h->cfg.request_timeout_ms + 999) / 1000;

	if (s->v.email[0] == '\0' && s->len > 0)
		verdict_init(&s->v, s->input, s->len);
	verdict_set(&s->v, REASON_IN_PROGRESS);
	/* A retry after one more wait finds the verdict in the cache or
	 * joins the probe again. */
	s->v.retry_after = wait_s ? wait_s : 1;
	s->v.cached = false;
	s->v.checked_at = (int64_t)time(NULL);
	s->v.duration_ms =
	    (uint32_t)((uv_hrtime() - vs->r->start_ns) / 1000000);
}

static void finish_wait(struct verify *vs)
{
	if (vs->timer_started)
		uv_timer_stop(&vs->timer);
	answer(vs);
	http__ready(vs->r);
}

/* on_verdict - the verifier's answer for one slot. */
static void on_verdict(void *data, const struct verdict *v,
		       const char *transcript)
{
	struct vslot *s = data;
	struct verify *vs = s->vs;
	struct http *h = vs->r->h;

	s->pending = false;
	s->vreq = NULL;
	s->v = *v;
	if (vs->transcript && transcript)
		s->transcript = strdup(transcript);
	if (!v->cached)
		metrics_probe(h->metrics, h->shard, v->duration_ms);
	if (--vs->pending == 0)
		finish_wait(vs);
}

void verify__expire(struct http_req *r)
{
	struct verify *vs = r->vs;

	if (vs == NULL || vs->pending == 0) {
		http__ready(r);
		return;
	}
	for (unsigned i = 0; i < vs->count; i++) {
		struct vslot *s = &vs->slot[i];
		if (!s->pending)
			continue;
		verifier_cancel(s->vreq);
		s->vreq = NULL;
		s->pending = false;
		in_progress(vs, s);
	}
	vs->pending = 0;
	finish_wait(vs);
}

static void on_wait_timeout(uv_timer_t *t)
{
	struct verify *vs = t->data;

	verify__expire(vs->r);
}

/* query_flag - a boolean query parameter; -1 (400 set) when malformed. */
static int query_flag(struct http_req *r, const char *name, bool *out)
{
	const char *v = NULL;
	size_t len;

	*out = false;
	if (MHD_lookup_connection_value_n(r->mc, MHD_GET_ARGUMENT_KIND, name,
					  strlen(name), &v, &len) != MHD_YES)
		return 0;
	if (reqparse_flag(v, out) < 0) {
		http__error(r, 400, "bad_request",
			    "%s= takes 1, true, 0 or false", name);
		return -1;
	}
	return 0;
}

/* get_input - the GET request's address; -1 (400 set) when absent or
 * unusable. MHD decodes %XX, so a NUL may be inside: its length is the
 * truth, not strlen(). */
static int get_input(struct http_req *r, const char **in, size_t *len)
{
	if (MHD_lookup_connection_value_n(r->mc, MHD_GET_ARGUMENT_KIND, "email",
					  5, in, len) != MHD_YES ||
	    *in == NULL) {
		http__error(r, 400, "bad_request",
			    "missing email= (the address to verify)");
		return -1;
	}
	if (memchr(*in, '\0', *len) != NULL) {
		http__error(r, 400, "bad_request",
			    "email= contains a NUL octet");
		return -1;
	}
	if (!reqparse_utf8(*in, *len)) {
		http__error(r, 400, "bad_request", "email= is not valid UTF-8");
		return -1;
	}
	return 0;
}

void verify__start(struct http_req *r)
{
	struct http *h = r->h;
	struct reqparse_body body = {.fresh = -1, .transcript = -1};
	bool fresh, transcript;
	unsigned wait = h->cfg.request_timeout_ms, count = 1;
	const char *in = NULL, *wv = NULL;
	size_t inlen = 0, wlen;
	struct verify *vs;
	char msg[REQPARSE_MSG_MAX];

	if (query_flag(r, "fresh", &fresh) < 0 ||
	    query_flag(r, "transcript", &transcript) < 0)
		return;
	if (MHD_lookup_connection_value_n(r->mc, MHD_GET_ARGUMENT_KIND, "wait",
					  4, &wv, &wlen) == MHD_YES &&
	    reqparse_wait(wv, h->cfg.wait_max_ms, &wait) < 0) {
		http__error(r, 400, "bad_request",
			    "wait= takes a duration (e.g. 500ms, 3s)");
		return;
	}
	if (r->post) {
		int rc =
		    reqparse_json(r->body ? r->body : "", r->body_len,
				  h->cfg.max_batch, &body, msg, sizeof(msg));
		if (rc != REQPARSE_OK) {
			if (rc == REQPARSE_TOO_MANY)
				http__error(r, 413, "too_many_addresses", "%s",
					    msg);
			else if (rc == REQPARSE_NOMEM)
				http__error(r, 500, "internal", "%s", msg);
			else
				http__error(r, 400, "bad_request", "%s", msg);
			return;
		}
		count = body.count;
		if (body.fresh >= 0)
			fresh = body.fresh;
		if (body.transcript >= 0)
			transcript = body.transcript;
	} else if (get_input(r, &in, &inlen) < 0)
		return;

	/* Not calloc: a slot is mostly its verdict (about 4 KiB), which
	 * verifier_check() writes whole (verdict_init) before anything
	 * reads it; the rest is set below. */
	vs = malloc(sizeof(*vs) + count * sizeof(vs->slot[0]));
	if (vs == NULL) {
		reqparse_release(&body);
		http__error(r, 500, "internal", "out of memory");
		return;
	}
	memset(vs, 0, sizeof(*vs));
	vs->r = r;
	vs->body = body;
	vs->batch = body.batch;
	vs->transcript = transcript;
	vs->count = count;
	r->vs = vs;
	r->addresses = count;
	for (unsigned i = 0; i < count; i++) {
		/* every slot, before any can be released */
		vs->slot[i].vs = vs;
		vs->slot[i].vreq = NULL;
		vs->slot[i].pending = false;
		vs->slot[i].transcript = NULL;
	}
	for (unsigned i = 0; i < count; i++) {
		struct vslot *s = &vs->slot[i];
		int rc;

		s->input = r->post ? body.emails[i] : in;
		s->len = r->post ? body.lens[i] : inlen;
		rc = verifier_check(h->verifier, s->input, s->len,
				    fresh ? VERIFIER_FRESH : 0, &s->v,
				    on_verdict, s, &s->vreq);
		if (rc == VERIFIER_DONE) {
			if (s->v.checked_at == 0)
				s->v.checked_at = (int64_t)time(NULL);
			continue;
		}
		if (rc == VERIFIER_PENDING) {
			s->pending = true;
			vs->pending++;
			continue;
		}
		/* Refused: the whole request is, and what was started
		 * is let go (release() cancels the pending slots). */
		verify__free(r);
		r->retry_after = 1;
		http__error(r, 503, "unavailable",
			    rc == VERIFIER_BUSY
				? "too many probes waiting; retry later"
				: "the verifier cannot take work now");
		return;
	}
	if (vs->pending == 0) {
		answer(vs);
		return;
	}
	if (wait == 0) {
		verify__expire(r);
		return;
	}
	uv_timer_init(h->loop, &vs->timer);
	vs->timer.data = vs;
	vs->timer_started = true;
	uv_timer_start(&vs->timer, on_wait_timeout, wait, 0);
	http__wait(r);
}
