/* jobstore - in-process bulk jobs of the API (see jobstore.h).
 *
 * Locking: js->mu guards the job list and every job's fields that more
 * than one loop reads (state, counters, the rows' verdicts). A job's
 * struct job (daemon/job.h) is touched only on its own loop. Nothing
 * calls out (to job.c, jansson, the verifier) that could call back into
 * the store while the mutex is held: job_*() runs no callback inside its
 * calls (job.h). */
#include "daemon/jobstore.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <time.h>

#include "core/htab.h"
#include "core/vpack.h"
#include "daemon/jobfmt.h"

/* A row. Its text (original columns, then the input) is one block. */
struct js_row {
	char *text;
	uint32_t prefixlen, inputlen;
	bool has_input; /* false: answered at creation (malformed) */
	char *pack;	/* the verdict (core/vpack), NULL until done */
	uint32_t packlen;
};

struct js_loop;

struct js_job {
	struct jobstore *js;
	TAILQ_ENTRY(js_job) link;
	char id[JOBSTORE_ID_LEN + 1];
	uint64_t owner; /* htab_hash() of the owner's octets */
	unsigned loop;
	enum jobstore_state state;
	unsigned refs;	   /* readers */
	bool listed;	   /* in js->jobs */
	bool cancel_asked; /* for the job's loop */
	struct js_row *rows;
	size_t nrows, next;
	uint64_t done, duplicates;
	uint64_t counts[VERDICT_STATUS_LAST];
	double rate; /* the job's, copied at each result */
	char *header;
	size_t headerlen;
	int64_t created_at, finished_at;
	uint64_t finished_ms; /* monotonic, for the retention */
	struct job *job;      /* on its loop; NULL once finished */
};

TAILQ_HEAD(js_job_list, js_job);

struct js_loop {
	struct jobstore *js;
	unsigned idx;
	uv_loop_t *loop;
	struct verifier *v;
	uv_async_t async;
	bool attached;
};

struct jobstore {
	struct jobstore_config cfg;
	pthread_mutex_t mu;
	struct js_job_list jobs;
	unsigned njobs;
	unsigned nloops;
	struct js_loop loops[];
};

static const char *const state_names[JOBSTORE_STATE_LAST] = {
    "queued", "running", "done", "cancelled", "failed"};

const char *jobstore_state_name(enum jobstore_state s)
{
	return (unsigned)s < JOBSTORE_STATE_LAST ? state_names[s] : NULL;
}

static uint64_t mono_ms(void)
{
	return uv_hrtime() / 1000000;
}

struct jobstore *jobstore_new(const struct jobstore_config *c, unsigned loops)
{
	struct jobstore *js;

	if (loops == 0 || loops > JOBSTORE_LOOPS_MAX || c->max_rows == 0 ||
	    c->max_jobs_per_owner == 0)
		return NULL;
	js = calloc(1, sizeof(*js) + loops * sizeof(js->loops[0]));
	if (js == NULL)
		return NULL;
	if (pthread_mutex_init(&js->mu, NULL) != 0) {
		free(js);
		return NULL;
	}
	js->cfg = *c;
	js->nloops = loops;
	TAILQ_INIT(&js->jobs);
	for (unsigned i = 0; i < loops; i++) {
		js->loops[i].js = js;
		js->loops[i].idx = i;
	}
	return js;
}

unsigned jobstore_max_rows(const struct jobstore *js)
{
	return js->cfg.max_rows;
}

/* ---- jobs: memory and the list ------------------------------------------- */

static void job_release(struct js_job *j)
{
	for (size_t i = 0; i < j->nrows; i++) {
		free(j->rows[i].text);
		free(j->rows[i].pack);
	}
	free(j->rows);
	free(j->header);
	free(j);
}

/* forget - @j leaves the list; its memory goes when nothing holds it
 * (a reader, its running job). Under the mutex. */
static void forget(struct jobstore *js, struct js_job *j)
{
	if (j->listed) {
		TAILQ_REMOVE(&js->jobs, j, link);
		js->njobs--;
		j->listed = false;
	}
	if (j->refs == 0 && j->job == NULL)
		job_release(j);
}

/* sweep - forget the finished jobs past their retention. Under the
 * mutex. */
static void sweep(struct jobstore *js)
{
	uint64_t now = mono_ms();
	struct js_job *j, *next;

	for (j = TAILQ_FIRST(&js->jobs); j; j = next) {
		next = TAILQ_NEXT(j, link);
		if (j->finished_at && j->job == NULL &&
		    now - j->finished_ms >= js->cfg.retention_ms)
			forget(js, j);
	}
}

/* find - job @id of @owner, or NULL. Under the mutex. */
static struct js_job *find(struct jobstore *js, const char *id, uint64_t owner)
{
	struct js_job *j;

	if (strlen(id) != JOBSTORE_ID_LEN)
		return NULL;
	TAILQ_FOREACH(j, &js->jobs, link)
	{
		if (j->owner == owner && strcmp(j->id, id) == 0)
			return j;
	}
	return NULL;
}

static void finish_state(struct js_job *j, enum jobstore_state s)
{
	if (j->finished_at)
		return;
	j->state = s;
	j->finished_at = (int64_t)time(NULL);
	j->finished_ms = mono_ms();
}

/* ---- a job on its loop ----------------------------------------------------- */

static int js_pull(void *data, struct job_row *row)
{
	struct js_job *j = data;
	int rc = -1;

	pthread_mutex_lock(&j->js->mu);
	if (j->state == JOBSTORE_QUEUED)
		j->state = JOBSTORE_RUNNING;
	while (j->next < j->nrows && !j->rows[j->next].has_input)
		j->next++;
	if (j->next < j->nrows && j->finished_at == 0) {
		struct js_row *r = &j->rows[j->next];
		row->index = j->next++;
		row->input = r->text + r->prefixlen; /* stays: rows do */
		row->len = r->inputlen;
		rc = 1;
	}
	pthread_mutex_unlock(&j->js->mu);
	return rc;
}

static void js_result(void *data, uint64_t index, const struct verdict *v)
{
	struct js_job *j = data;
	struct job_progress p;
	size_t n = vpack_size(v);
	char *pack = malloc(n);
	bool failed = false;

	job_get_progress(j->job, &p);
	if (pack)
		vpack_encode(v, pack);
	pthread_mutex_lock(&j->js->mu);
	if (pack && index < j->nrows && j->rows[index].pack == NULL) {
		j->rows[index].pack = pack;
		j->rows[index].packlen = (uint32_t)n;
		pack = NULL;
		j->done++;
		if ((unsigned)v->status < VERDICT_STATUS_LAST)
			j->counts[v->status]++;
	} else if (pack == NULL) {
		finish_state(j, JOBSTORE_FAILED); /* out of memory */
		failed = true;
	}
	j->rate = p.rate;
	j->duplicates = p.duplicates;
	pthread_mutex_unlock(&j->js->mu);
	free(pack);
	if (failed)
		job_cancel(j->job);
}

static void js_done(void *data)
{
	struct js_job *j = data;
	struct job *job = j->job;

	pthread_mutex_lock(&j->js->mu);
	finish_state(j,
		     j->done == j->nrows ? JOBSTORE_DONE : JOBSTORE_CANCELLED);
	j->job = NULL;
	if (!j->listed)
		forget(j->js, j);
	pthread_mutex_unlock(&j->js->mu);
	job_free(job);
}

/* on_async - cancels asked for this loop's jobs (from any loop). */
static void on_async(uv_async_t *a)
{
	struct js_loop *l = a->data;
	struct jobstore *js = l->js;
	struct job *cancel[64];
	unsigned n;
	struct js_job *j;

	do {
		n = 0;
		pthread_mutex_lock(&js->mu);
		TAILQ_FOREACH(j, &js->jobs, link)
		{
			if (j->loop == l->idx && j->cancel_asked && j->job &&
			    n < 64) {
				cancel[n++] = j->job;
				j->cancel_asked = false;
			}
		}
		pthread_mutex_unlock(&js->mu);
		for (unsigned i = 0; i < n; i++)
			job_cancel(cancel[i]);
	} while (n == 64);
}

int jobstore_attach(struct jobstore *js, unsigned idx, uv_loop_t *loop,
		    struct verifier *v)
{
	struct js_loop *l;

	if (idx >= js->nloops)
		return JOBSTORE_NO_LOOP;
	l = &js->loops[idx];
	if (uv_async_init(loop, &l->async, on_async) != 0)
		return JOBSTORE_NOMEM;
	l->async.data = l;
	l->loop = loop;
	l->v = v;
	pthread_mutex_lock(&js->mu);
	l->attached = true;
	pthread_mutex_unlock(&js->mu);
	return 0;
}

void jobstore_detach(struct jobstore *js, unsigned idx)
{
	struct js_loop *l = &js->loops[idx];
	struct js_job *j, *next;

	if (idx >= js->nloops || !l->attached)
		return;
	pthread_mutex_lock(&js->mu);
	l->attached = false;
	for (j = TAILQ_FIRST(&js->jobs); j; j = next) {
		next = TAILQ_NEXT(j, link);
		if (j->loop != idx || j->job == NULL)
			continue;
		finish_state(j, JOBSTORE_FAILED); /* the server stopped */
		job_free(j->job);		  /* no callback after this */
		j->job = NULL;
	}
	pthread_mutex_unlock(&js->mu);
	uv_close((uv_handle_t *)&l->async, NULL);
}

void jobstore_free(struct jobstore *js)
{
	if (js == NULL)
		return;
	while (!TAILQ_EMPTY(&js->jobs)) {
		struct js_job *j = TAILQ_FIRST(&js->jobs);
		TAILQ_REMOVE(&js->jobs, j, link);
		job_release(j);
	}
	pthread_mutex_destroy(&js->mu);
	free(js);
}

/* ---- the routes' calls ---------------------------------------------------------- */

int jobstore_new_id(char id[JOBSTORE_ID_LEN + 1])
{
	unsigned char r[JOBSTORE_ID_LEN / 2];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(id + 2 * i, 3, "%02x", r[i]);
	return 0;
}

/* copy_rows - the rows into @j; a row answered already is done. */
static int copy_rows(struct js_job *j, const struct jobstore_row *rows,
		     size_t nrows)
{
	j->rows = calloc(nrows ? nrows : 1, sizeof(*j->rows));
	if (j->rows == NULL)
		return -1;
	j->nrows = nrows;
	for (size_t i = 0; i < nrows; i++) {
		const struct jobstore_row *in = &rows[i];
		struct js_row *r = &j->rows[i];
		size_t inlen = in->input ? in->inputlen : 0;

		if (in->prefixlen > UINT32_MAX / 2 || inlen > UINT32_MAX / 2)
			return -1;
		r->text = malloc(in->prefixlen + inlen + 1);
		if (r->text == NULL)
			return -1;
		memcpy(r->text, in->prefix, in->prefixlen);
		if (inlen)
			memcpy(r->text + in->prefixlen, in->input, inlen);
		r->prefixlen = (uint32_t)in->prefixlen;
		r->inputlen = (uint32_t)inlen;
		r->has_input = in->input != NULL;
		if (!r->has_input) {
			const struct verdict *v = in->verdict;
			r->packlen = (uint32_t)vpack_size(v);
			r->pack = malloc(r->packlen);
			if (r->pack == NULL)
				return -1;
			vpack_encode(v, r->pack);
			j->done++;
			j->counts[v->status]++;
		}
	}
	return 0;
}

int jobstore_create(struct jobstore *js, unsigned idx, const void *owner,
		    size_t ownerlen, const char *header, size_t headerlen,
		    const struct jobstore_row *rows, size_t nrows,
		    char id[JOBSTORE_ID_LEN + 1])
{
	struct js_job *j, *k;
	struct js_loop *l;
	struct job_ops ops = {js_pull, js_result, js_done};
	unsigned mine = 0;
	int rc = 0;

	if (nrows > js->cfg.max_rows)
		return JOBSTORE_TOO_LARGE;
	if (idx >= js->nloops || !js->loops[idx].attached)
		return JOBSTORE_NO_LOOP;
	l = &js->loops[idx];
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return JOBSTORE_NOMEM;
	j->js = js;
	j->owner = htab_hash(owner, ownerlen);
	j->loop = idx;
	j->state = JOBSTORE_QUEUED;
	j->created_at = (int64_t)time(NULL);
	j->header = malloc(headerlen + 1);
	if (j->header == NULL || jobstore_new_id(j->id) < 0 ||
	    copy_rows(j, rows, nrows) < 0) {
		job_release(j);
		return JOBSTORE_NOMEM;
	}
	memcpy(j->header, header, headerlen);
	j->headerlen = headerlen;
	pthread_mutex_lock(&js->mu);
	sweep(js);
	TAILQ_FOREACH(k, &js->jobs, link)
	{
		mine += k->owner == j->owner && k->finished_at == 0;
	}
	if (mine >= js->cfg.max_jobs_per_owner)
		rc = JOBSTORE_TOO_MANY;
	else if (js->njobs >= JOBSTORE_JOBS_MAX)
		rc = JOBSTORE_FULL;
	if (rc == 0) {
		TAILQ_INSERT_TAIL(&js->jobs, j, link);
		js->njobs++;
		j->listed = true;
		if (j->done == j->nrows)
			finish_state(j, JOBSTORE_DONE); /* nothing to verify */
	}
	pthread_mutex_unlock(&js->mu);
	if (rc != 0) {
		job_release(j);
		return rc;
	}
	memcpy(id, j->id, sizeof(j->id));
	if (j->finished_at)
		return 0;
	/* On this loop (the caller's): the job starts on its next turn. */
	if (job_new(l->loop, l->v, &js->cfg.job, &ops, j, &j->job) < 0) {
		pthread_mutex_lock(&js->mu);
		finish_state(j, JOBSTORE_FAILED);
		pthread_mutex_unlock(&js->mu);
		return 0;
	}
	job_start(j->job);
	return 0;
}

int jobstore_status(struct jobstore *js, const char *id, const void *owner,
		    size_t ownerlen, struct jobstore_status *out)
{
	struct js_job *j;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&js->mu);
	sweep(js);
	j = find(js, id, htab_hash(owner, ownerlen));
	if (j) {
		memcpy(out->id, j->id, sizeof(out->id));
		out->state = j->state;
		out->total = j->nrows;
		out->done = j->done;
		out->duplicates = j->duplicates;
		memcpy(out->counts, j->counts, sizeof(out->counts));
		out->rate = j->rate;
		out->created_at = j->created_at;
		out->finished_at = j->finished_at;
	}
	pthread_mutex_unlock(&js->mu);
	if (j == NULL)
		return JOBSTORE_NOT_FOUND;
	if (out->done >= out->total)
		out->eta_s = 0;
	else if (out->finished_at || out->rate <= 0.0)
		out->eta_s = -1;
	else
		out->eta_s =
		    (long)((double)(out->total - out->done) / out->rate +
			   0.999);
	return 0;
}

int jobstore_cancel(struct jobstore *js, const char *id, const void *owner,
		    size_t ownerlen, bool *deleted)
{
	struct js_job *j;
	unsigned loop = 0;
	bool signal = false;

	pthread_mutex_lock(&js->mu);
	j = find(js, id, htab_hash(owner, ownerlen));
	if (j && j->finished_at == 0) {
		finish_state(j, JOBSTORE_CANCELLED);
		j->cancel_asked = j->job != NULL;
		signal = j->cancel_asked && js->loops[j->loop].attached;
		loop = j->loop;
		*deleted = false;
	} else if (j) {
		forget(js, j);
		*deleted = true;
	}
	if (signal)
		uv_async_send(&js->loops[loop].async);
	pthread_mutex_unlock(&js->mu);
	return j ? 0 : JOBSTORE_NOT_FOUND;
}

/* ---- reading results ------------------------------------------------------------- */

struct jobstore_reader {
	struct jobstore *js;
	struct js_job *j;
	enum jobstore_format format;
	bool header_done;
	size_t row;	       /* the next row to look at */
	struct jobfmt_buf out; /* one formatted row not yet handed out */
	size_t off;
};

int jobstore_reader_new(struct jobstore *js, const char *id, const void *owner,
			size_t ownerlen, enum jobstore_format format,
			struct jobstore_reader **out)
{
	struct jobstore_reader *rd = calloc(1, sizeof(*rd));
	struct js_job *j;

	if (rd == NULL)
		return JOBSTORE_NOMEM;
	pthread_mutex_lock(&js->mu);
	sweep(js);
	j = find(js, id, htab_hash(owner, ownerlen));
	if (j)
		j->refs++;
	pthread_mutex_unlock(&js->mu);
	if (j == NULL) {
		free(rd);
		return JOBSTORE_NOT_FOUND;
	}
	rd->js = js;
	rd->j = j;
	rd->format = format;
	rd->header_done = format != JOBSTORE_CSV;
	*out = rd;
	return 0;
}

void jobstore_reader_free(struct jobstore_reader *rd)
{
	if (rd == NULL)
		return;
	pthread_mutex_lock(&rd->js->mu);
	if (--rd->j->refs == 0 && !rd->j->listed && rd->j->job == NULL)
		job_release(rd->j);
	pthread_mutex_unlock(&rd->js->mu);
	free(rd->out.buf);
	free(rd);
}

/* produce - the next piece into rd->out: 1, or 0 at the end, -1 when
 * memory runs out. */
static int produce(struct jobstore_reader *rd)
{
	struct js_job *j = rd->j;
	int rc = 0;

	rd->out.len = rd->off = 0;
	pthread_mutex_lock(&rd->js->mu);
	if (!rd->header_done) {
		rd->header_done = true;
		rc = jobfmt_header(&rd->out, j->header, j->headerlen) < 0 ? -1
									  : 1;
	}
	while (rc == 0 && rd->row < j->nrows) {
		const struct js_row *r = &j->rows[rd->row++];
		struct verdict v;
		if (r->pack == NULL)
			continue; /* not done yet */
		if (vpack_decode(r->pack, r->packlen, &v) < 0)
			continue; /* cannot happen: our own packing */
		rc = jobfmt_row(&rd->out, rd->format, rd->row - 1, r->text,
				r->prefixlen,
				r->has_input ? r->text + r->prefixlen : NULL,
				r->inputlen, &v) < 0
			 ? -1
			 : 1;
	}
	pthread_mutex_unlock(&rd->js->mu);
	return rc;
}

long jobstore_read(struct jobstore_reader *rd, char *buf, size_t len)
{
	size_t n = 0;

	while (n < len) {
		if (rd->off == rd->out.len) {
			int rc = produce(rd);
			if (rc < 0)
				return n ? (long)n : -1;
			if (rc == 0)
				break;
		}
		size_t k = rd->out.len - rd->off;
		if (k > len - n)
			k = len - n;
		memcpy(buf + n, rd->out.buf + rd->off, k);
		rd->off += k;
		n += k;
	}
	return (long)n;
}
