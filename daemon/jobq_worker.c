/* jobq_worker - the consumer of the jobs' stream (see jobq.h): it takes
 * chunks of rows, verifies them on this loop's verifier, writes the
 * results back and acknowledges each chunk once all its rows are stored.
 *
 * Every chunk held feeds one daemon/job.h job that runs as long as the
 * worker (its deadline counted per address: deadline_per_row), so its
 * per-domain window holds across chunks: two chunks of one domain do not
 * send twice the addresses to one server. A row's job index is the
 * chunk's sequence number and the row's place in it (CHUNK_SHIFT).
 *
 * One timer (JOBQ_POLL_MS) drives it: create the consumer group once,
 * refresh the claims of the chunks held (one XCLAIM ... JUSTID for all,
 * every claim_timeout/3), write the results waiting (every JOBQ_FLUSH_MS,
 * or at once when JOBQ_FLUSH_ROWS are waiting), and take work while fewer
 * than JOBQ_CHUNKS_MAX chunks are held: first what a silent worker left
 * (XAUTOCLAIM, every claim_timeout/2), then new entries (XREADGROUP,
 * non-blocking: the connection is shared and has a deadline per command).
 * A chunk is acknowledged (XACK, then XDEL so the stream does not grow)
 * only after every row of it has its result stored. A write that fails
 * is tried again on later ticks; after JOBQ_FLUSH_TRIES failures of a
 * finished chunk it is let go unacknowledged, for the claim timeout to
 * hand it over. */
#include "daemon/jobq_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/verdict_json.h"
#include "core/jobrec.h"
#include "daemon/job.h"
#include "daemon/log.h"

/* Failed writes of a finished chunk's results before it is let go. */
#define JOBQ_FLUSH_TRIES 40
/* A job index: the chunk's sequence number, then the row (a chunk holds
 * at most JOBREC_CHUNK_ROWS_MAX < 2^20 rows). */
#define CHUNK_SHIFT 20

/* KEYS: the job, its results. ARGV: row indexes. The job's state ('' when
 * it is gone) then 1/0 per index: the row has a result. */
static const char check_lua[] =
    "local st = redis.call('HGET', KEYS[1], 'state')\n"
    "if not st then return {''} end\n"
    "local out = {st}\n"
    "for i = 1, #ARGV do\n"
    "  out[i + 1] = redis.call('HEXISTS', KEYS[2], ARGV[i])\n"
    "end\n"
    "return out\n";

struct jobq_chunk {
	struct jobq *q;
	TAILQ_ENTRY(jobq_chunk) link;
	bool listed;
	uint64_t seq; /* the job indexes of its rows */
	char entry[JOBQ_ENTRY_ID_MAX];
	char id[JOBSTORE_ID_LEN + 1];
	char owner[JOBQ_OWNER_HEX + 1];
	char *blob; /* the rows point into it */
	struct jobrec_row *rows;
	uint32_t nrows, next;
	unsigned char *have; /* the row has its result (stored or waiting) */
	uint32_t left;	     /* rows still without a result */
	/* results not yet written: the first `flushing` are in flight */
	size_t npend, flushing;
	uint64_t *pidx;
	unsigned char *pst;
	char **prec;
	size_t *preclen;
	uint64_t last_flush;
	unsigned flush_fails;
	unsigned cmds; /* commands in flight with this chunk as data */
	unsigned acks; /* of them, the XACK and XDEL */
	bool running, complete, acking, dead;
};

/* ---- a chunk's life ------------------------------------------------------ */

static void chunk_release(struct jobq_chunk *c)
{
	for (size_t i = 0; i < c->npend; i++)
		free(c->prec[i]);
	free(c->prec);
	free(c->preclen);
	free(c->pidx);
	free(c->pst);
	free(c->have);
	free(c->rows);
	free(c->blob);
	free(c);
}

/* chunk_drop - @c leaves the worker (the results of its rows still at
 * the verifier are ignored); its memory goes once no command of it is in
 * flight. */
static void chunk_drop(struct jobq_chunk *c)
{
	struct jobq *q = c->q;

	if (c->listed) {
		TAILQ_REMOVE(&q->chunks, c, link);
		q->nchunks--;
		c->listed = false;
	}
	c->dead = true;
	if (c->cmds == 0)
		chunk_release(c);
}

/* cmd_back - one of @c's commands answered; false when @c is gone. */
static bool cmd_back(struct jobq_chunk *c)
{
	c->cmds--;
	if (c->dead) {
		if (c->cmds == 0)
			chunk_release(c);
		return false;
	}
	return true;
}

static void take(struct jobq *q);

static void on_acked(void *data, enum redis_conn_status s, const redisReply *r)
{
	struct jobq_chunk *c = data;

	(void)s;
	(void)r;
	/* A failed XACK leaves the entry pending: whoever claims it later
	 * finds every row stored and acknowledges it then. */
	c->acks--;
	if (cmd_back(c) && c->acks == 0) {
		struct jobq *q = c->q;
		chunk_drop(c);
		take(q);
	}
}

/* ack - every row of @c is stored (or its job is gone): acknowledge and
 * delete the entry, then let the chunk go. */
static void ack(struct jobq_chunk *c)
{
	struct jobq *q = c->q;
	const char *xack[] = {"XACK", JOBQ_STREAM, JOBQ_GROUP, c->entry};
	const char *xdel[] = {"XDEL", JOBQ_STREAM, c->entry};

	if (c->acking)
		return;
	c->acking = true;
	q->stats.chunks_done++;
	if (redis_conn_command(q->rc, 4, xack, NULL, on_acked, c, NULL) == 0)
		c->acks++;
	if (redis_conn_command(q->rc, 3, xdel, NULL, on_acked, c, NULL) == 0)
		c->acks++;
	c->cmds += c->acks;
	if (c->acks == 0) {
		chunk_drop(c);
		take(q);
	}
}

static void flush(struct jobq_chunk *c);

static void pend_shift(struct jobq_chunk *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(c->prec[i]);
	c->npend -= n;
	memmove(c->pidx, c->pidx + n, c->npend * sizeof(*c->pidx));
	memmove(c->pst, c->pst + n, c->npend * sizeof(*c->pst));
	memmove(c->prec, c->prec + n, c->npend * sizeof(*c->prec));
	memmove(c->preclen, c->preclen + n, c->npend * sizeof(*c->preclen));
}

static void on_flushed(void *data, enum redis_conn_status s,
		       const redisReply *r)
{
	struct jobq_chunk *c = data;
	size_t n = c->flushing;

	if (!cmd_back(c))
		return;
	c->flushing = 0;
	if (s != REDIS_CONN_OK || r == NULL || r->type != REDIS_REPLY_INTEGER) {
		if (s == REDIS_CONN_OK && r && r->type == REDIS_REPLY_ERROR)
			log_warn("jobs: storing results: %.200s", r->str);
		if (c->complete && ++c->flush_fails >= JOBQ_FLUSH_TRIES) {
			log_warn("jobs: job %s: results not stored, chunk "
				 "left to another worker",
				 c->id);
			chunk_drop(c);
		}
		return; /* tried again on a later tick */
	}
	c->flush_fails = 0;
	c->q->stats.rows_stored += n;
	pend_shift(c, n);
	if (r->integer < 0) {
		/* The job was cancelled, failed or is gone: stop. Its rows
		 * at the verifier go on (and fill the cache). */
		pend_shift(c, c->npend);
		ack(c);
		return;
	}
	if (c->complete) {
		if (c->npend)
			flush(c);
		else
			ack(c);
	}
}

/* flush - write the results waiting (one script call at most). */
static void flush(struct jobq_chunk *c)
{
	struct jobq *q = c->q;
	size_t n = c->npend;

	if (c->flushing || n == 0 || c->acking || !redis_conn_ready(q->rc))
		return;
	if (n > JOBQ_FLUSH_ROWS)
		n = JOBQ_FLUSH_ROWS;
	c->last_flush = uv_now(q->loop);
	if (jobq__store(q, c->id, c->owner, true, n, c->pidx, c->pst, c->prec,
			c->preclen, on_flushed, c) < 0)
		return;
	c->flushing = n;
	c->cmds++;
}

/* ---- the worker's job ------------------------------------------------------ */

static int w_pull(void *data, struct job_row *row)
{
	struct jobq *q = data;
	struct jobq_chunk *c;

	TAILQ_FOREACH(c, &q->chunks, link)
	{
		if (!c->running || c->acking)
			continue;
		while (c->next < c->nrows && c->have[c->next])
			c->next++;
		if (c->next == c->nrows)
			continue;
		row->index = c->seq << CHUNK_SHIFT | c->next;
		row->input = c->rows[c->next].input;
		row->len = c->rows[c->next].inputlen;
		c->next++;
		return 1;
	}
	return 0; /* none now: job_wake() when a chunk comes */
}

static void w_result(void *data, uint64_t index, const struct verdict *v)
{
	struct jobq *q = data;
	uint64_t seq = index >> CHUNK_SHIFT;
	uint32_t i = (uint32_t)(index & ((1u << CHUNK_SHIFT) - 1));
	struct jobq_chunk *c;
	char *json, *rec = NULL;

	TAILQ_FOREACH(c, &q->chunks, link)
	{
		if (c->seq == seq)
			break;
	}
	if (c == NULL || c->acking || i >= c->nrows || c->have[i])
		return; /* its chunk was let go */
	const struct jobrec_row *row = &c->rows[i];
	json = verdict_json_dumps(v);
	struct jobrec_result res = {row->prefix, row->prefixlen,
				    row->input,	 row->inputlen,
				    json,	 json ? strlen(json) : 0};
	if (json)
		rec = malloc(jobrec_result_size(&res));
	if (rec == NULL) {
		/* Out of memory: the row stays without a result, so the
		 * chunk is never acknowledged and will be done again. */
		free(json);
		log_warn("jobs: out of memory for a result");
		return;
	}
	c->preclen[c->npend] = jobrec_result_encode(&res, rec);
	free(json);
	c->prec[c->npend] = rec;
	c->pidx[c->npend] = row->index;
	c->pst[c->npend] = (unsigned char)v->status;
	c->npend++;
	c->have[i] = 1;
	if (--c->left == 0)
		c->complete = true;
	if (c->complete || c->npend - c->flushing >= JOBQ_FLUSH_ROWS)
		flush(c);
}

static void w_done(void *data)
{
	(void)data; /* never: the job is freed, not ended (jobq__worker_stop) */
}

/* run - hand @c's rows without a result to the worker's job. */
static void run(struct jobq_chunk *c)
{
	struct jobq *q = c->q;
	size_t n = c->nrows;

	c->pidx = malloc(n * sizeof(*c->pidx));
	c->pst = malloc(n * sizeof(*c->pst));
	c->prec = malloc(n * sizeof(*c->prec));
	c->preclen = malloc(n * sizeof(*c->preclen));
	if (!c->pidx || !c->pst || !c->prec || !c->preclen) {
		log_warn("jobs: out of memory for a chunk of job %s", c->id);
		chunk_drop(c); /* left pending: taken again later */
		return;
	}
	if (q->job == NULL) {
		struct job_ops ops = {w_pull, w_result, w_done};
		struct job_config jc = q->cfg.job;
		jc.dedupe_bytes = 0; /* repeats across jobs: the cache's */
		jc.deadline_per_row = true;
		if (job_new(q->loop, q->v, &jc, &ops, q, &q->job) < 0) {
			log_warn("jobs: out of memory for the worker");
			chunk_drop(c);
			return;
		}
		job_start(q->job);
	}
	c->running = true;
	job_wake(q->job);
}

static void on_checked(void *data, enum redis_conn_status s,
		       const redisReply *r)
{
	struct jobq_chunk *c = data;
	const char *st;
	uint32_t left = 0;

	if (!cmd_back(c))
		return;
	if (s != REDIS_CONN_OK || r == NULL || r->type != REDIS_REPLY_ARRAY ||
	    r->elements != 1 + (size_t)c->nrows ||
	    r->element[0]->type != REDIS_REPLY_STRING) {
		/* Redis failed: let it go unacknowledged. */
		chunk_drop(c);
		return;
	}
	st = r->element[0]->str;
	if (strcmp(st, "queued") != 0 && strcmp(st, "running") != 0) {
		ack(c); /* cancelled, failed or gone: nothing to do */
		return;
	}
	for (uint32_t i = 0; i < c->nrows; i++) {
		const redisReply *e = r->element[1 + i];
		c->have[i] = e->type == REDIS_REPLY_INTEGER && e->integer == 1;
		left += !c->have[i];
	}
	c->left = left;
	if (left == 0)
		ack(c);
	else
		run(c);
}

/* check - which rows of @c have a result already (a chunk taken over
 * from a worker that died mid-way), and whether its job still runs. */
static void check(struct jobq_chunk *c)
{
	struct jobq *q = c->q;
	size_t argc = 5 + c->nrows;
	const char **argv = malloc(argc * sizeof(*argv));
	char(*num)[24] = malloc((c->nrows + 1) * sizeof(*num));
	char meta[JOBQ_KEY_MAX], res[JOBQ_KEY_MAX];

	if (argv == NULL || num == NULL) {
		free(argv);
		free(num);
		chunk_drop(c);
		return;
	}
	jobq__key(meta, c->id, "");
	jobq__key(res, c->id, ":res");
	argv[0] = "EVAL";
	argv[1] = check_lua;
	argv[2] = "2";
	argv[3] = meta;
	argv[4] = res;
	for (uint32_t i = 0; i < c->nrows; i++) {
		snprintf(num[i], sizeof(num[i]), "%" PRIu64, c->rows[i].index);
		argv[5 + i] = num[i];
	}
	if (redis_conn_command(q->rc, (int)argc, argv, NULL, on_checked, c,
			       NULL) == 0)
		c->cmds++;
	else
		chunk_drop(c);
	free(argv);
	free(num);
}

/* field - the value of @name in a stream entry's field list. */
static const redisReply *field(const redisReply *f, const char *name)
{
	for (size_t i = 0; i + 1 < f->elements; i += 2)
		if (f->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(f->element[i]->str, name) == 0 &&
		    f->element[i + 1]->type == REDIS_REPLY_STRING)
			return f->element[i + 1];
	return NULL;
}

/* begin - a stream entry [id, [field, value, ...]] taken: its chunk.
 * False when the entry is gone (deleted since it was listed). */
static bool begin(struct jobq *q, const redisReply *e)
{
	const redisReply *job, *own, *rows;
	struct jobq_chunk *c;
	struct jobrec_cursor cur;
	uint32_t count;
	int rc;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING ||
	    e->element[0]->len >= JOBQ_ENTRY_ID_MAX ||
	    e->element[1]->type != REDIS_REPLY_ARRAY)
		return false; /* deleted meanwhile */
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return true; /* left pending */
	c->q = q;
	c->seq = q->next_seq++;
	memcpy(c->entry, e->element[0]->str, e->element[0]->len);
	job = field(e->element[1], "job");
	own = field(e->element[1], "owner");
	rows = field(e->element[1], "rows");
	TAILQ_INSERT_TAIL(&q->chunks, c, link);
	q->nchunks++;
	c->listed = true;
	if (job == NULL || own == NULL || rows == NULL ||
	    job->len != JOBSTORE_ID_LEN || own->len != JOBQ_OWNER_HEX ||
	    jobrec_chunk_open(&cur, rows->str, rows->len, &count) < 0) {
		log_warn("jobs: stream entry %s is not a chunk: dropped",
			 c->entry);
		ack(c);
		return true;
	}
	memcpy(c->id, job->str, JOBSTORE_ID_LEN);
	memcpy(c->owner, own->str, JOBQ_OWNER_HEX);
	c->blob = malloc(rows->len ? rows->len : 1);
	c->rows = calloc(count ? count : 1, sizeof(*c->rows));
	c->have = calloc(count ? count : 1, 1);
	if (!c->blob || !c->rows || !c->have) {
		chunk_drop(c);
		return true;
	}
	memcpy(c->blob, rows->str, rows->len);
	jobrec_chunk_open(&cur, c->blob, rows->len, &count);
	while ((rc = jobrec_chunk_next(&cur, &c->rows[c->nrows])) == 1)
		c->nrows++;
	if (rc < 0 || c->nrows == 0) {
		log_warn("jobs: stream entry %s: a malformed chunk dropped",
			 c->entry);
		ack(c);
		return true;
	}
	check(c);
	return true;
}

/* ---- taking work ---------------------------------------------------------- */

static void on_taken(void *data, enum redis_conn_status s, const redisReply *r)
{
	struct jobq *q = data;
	const redisReply *entries = NULL;
	bool got = false, claimed = false;

	q->taking = false;
	if (s != REDIS_CONN_OK || r == NULL || q->stopping)
		return;
	if (r->type == REDIS_REPLY_ERROR) {
		log_warn("jobs: reading the stream: %.200s", r->str);
		if (strncmp(r->str, "NOGROUP", 7) == 0)
			q->group_made = false; /* the stream was deleted */
		return;
	}
	/* XREADGROUP: [[stream, [entry...]]]; XAUTOCLAIM: [cursor,
	 * [entry...], [deleted...]]. */
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->elements == 2) {
		entries = r->element[0]->element[1];
	} else if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
		   r->element[0]->type == REDIS_REPLY_STRING &&
		   r->element[0]->len < JOBQ_ENTRY_ID_MAX) {
		/* Go on through the pending list from where this stopped;
		 * past its end, wait for the next sweep. */
		memcpy(q->cursor, r->element[0]->str, r->element[0]->len);
		q->cursor[r->element[0]->len] = '\0';
		if (strcmp(q->cursor, "0-0") != 0)
			q->last_autoclaim = 0;
		entries = r->element[1];
		claimed = true;
	}
	if (entries && entries->type == REDIS_REPLY_ARRAY) {
		for (size_t i = 0; i < entries->elements; i++) {
			if (!begin(q, entries->element[i]))
				continue;
			got = true;
			q->stats.chunks_taken++;
			q->stats.chunks_claimed += claimed;
		}
	}
	if (got)
		take(q); /* more while there is room */
}

/* take - ask for one more chunk when there is room. */
static void take(struct jobq *q)
{
	uint64_t now = uv_now(q->loop);
	char idle[16];

	if (q->stopping || q->closing || q->taking || !q->group_made ||
	    q->nchunks >= JOBQ_CHUNKS_MAX || !redis_conn_ready(q->rc))
		return;
	if (now - q->last_autoclaim >= q->cfg.claim_timeout_ms / 2) {
		q->last_autoclaim = now;
		snprintf(idle, sizeof(idle), "%u", q->cfg.claim_timeout_ms);
		const char *argv[] = {"XAUTOCLAIM", JOBQ_STREAM, JOBQ_GROUP,
				      q->consumer,  idle,	 q->cursor,
				      "COUNT",	    "1"};
		if (redis_conn_command(q->rc, 8, argv, NULL, on_taken, q,
				       NULL) == 0)
			q->taking = true;
		return;
	}
	const char *argv[] = {"XREADGROUP", "GROUP",	 JOBQ_GROUP,
			      q->consumer,  "COUNT",	 "1",
			      "STREAMS",    JOBQ_STREAM, ">"};
	if (redis_conn_command(q->rc, 9, argv, NULL, on_taken, q, NULL) == 0)
		q->taking = true;
}

static void on_group(void *data, enum redis_conn_status s, const redisReply *r)
{
	struct jobq *q = data;

	if (s != REDIS_CONN_OK || r == NULL)
		return;
	if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9))
		log_warn("jobs: creating the consumer group: %.200s", r->str);
	else
		q->group_made = true;
}

static void on_state(void *data, enum redis_conn_status s, const redisReply *r)
{
	struct jobq_chunk *c = data;

	if (!cmd_back(c) || s != REDIS_CONN_OK || r == NULL ||
	    r->type == REDIS_REPLY_ERROR)
		return;
	if (r->type != REDIS_REPLY_STRING ||
	    (strcmp(r->str, "queued") != 0 && strcmp(r->str, "running") != 0))
		ack(c); /* cancelled, failed or gone: its rows not yet
			 * pulled are never sent; its late results ignored */
}

/* watch - ask whether the jobs of the chunks held still run, so that a
 * cancel stops them within a second or so, results or not. */
static void watch(struct jobq *q)
{
	struct jobq_chunk *c;
	char meta[JOBQ_KEY_MAX];

	TAILQ_FOREACH(c, &q->chunks, link)
	{
		const char *argv[] = {"HGET", meta, "state"};
		if (c->acking || !c->running)
			continue;
		jobq__key(meta, c->id, "");
		if (redis_conn_command(q->rc, 3, argv, NULL, on_state, c,
				       NULL) == 0)
			c->cmds++;
	}
}

/* heartbeat - refresh the claims of the chunks held. */
static void heartbeat(struct jobq *q)
{
	const char *argv[5 + JOBQ_CHUNKS_MAX + 1];
	int argc = 0;
	struct jobq_chunk *c;

	argv[argc++] = "XCLAIM";
	argv[argc++] = JOBQ_STREAM;
	argv[argc++] = JOBQ_GROUP;
	argv[argc++] = q->consumer;
	argv[argc++] = "0";
	TAILQ_FOREACH(c, &q->chunks, link)
	{
		if (!c->acking && argc < 5 + JOBQ_CHUNKS_MAX)
			argv[argc++] = c->entry;
	}
	if (argc == 5)
		return;
	argv[argc++] = "JUSTID";
	redis_conn_command(q->rc, argc, argv, NULL, jobq__ignore, NULL, NULL);
}

static void on_tick(uv_timer_t *t)
{
	struct jobq *q = t->data;
	uint64_t now = uv_now(q->loop);
	struct jobq_chunk *c, *next;

	if (!redis_conn_ready(q->rc))
		return;
	if (!q->group_made) {
		const char *argv[] = {"XGROUP",	  "CREATE", JOBQ_STREAM,
				      JOBQ_GROUP, "0",	    "MKSTREAM"};
		redis_conn_command(q->rc, 6, argv, NULL, on_group, q, NULL);
		return;
	}
	if (now - q->last_heartbeat >= q->cfg.claim_timeout_ms / 3) {
		q->last_heartbeat = now;
		heartbeat(q);
	}
	if (now - q->last_watch >= JOBQ_WATCH_MS) {
		q->last_watch = now;
		watch(q);
	}
	for (c = TAILQ_FIRST(&q->chunks); c; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->npend && now - c->last_flush >= JOBQ_FLUSH_MS)
			flush(c);
	}
	take(q);
}

int jobq__worker_start(struct jobq *q)
{
	if (uv_timer_init(q->loop, &q->tick) != 0)
		return -1;
	q->tick.data = q;
	q->worker = true;
	/* The first claim sweep waits a while: a restarted fleet should not
	 * take over each other's chunks before they heartbeat. */
	q->last_autoclaim = uv_now(q->loop);
	memcpy(q->cursor, "0-0", 4);
	uv_timer_start(&q->tick, on_tick, JOBQ_POLL_MS, JOBQ_POLL_MS);
	return 0;
}

void jobq__worker_stop(struct jobq *q)
{
	if (!q->worker || q->stopping)
		return;
	q->stopping = true;
	uv_timer_stop(&q->tick);
	job_free(q->job); /* no callback after this */
	q->job = NULL;
	while (!TAILQ_EMPTY(&q->chunks))
		chunk_drop(TAILQ_FIRST(&q->chunks));
}
