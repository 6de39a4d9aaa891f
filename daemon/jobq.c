/* jobq - bulk jobs on Redis Streams (see jobq.h): the queue, its
 * operations, and creating a job. Status, cancel and results are in
 * jobq_read.c, the stream's consumer in jobq_worker.c.
 *
 * Every call is one or two rounds of commands on this loop's connection;
 * the state is Redis', none is kept here between calls, so any instance
 * answers for any job. The scripts below keep each change of a job's
 * hash atomic (Redis runs a script alone). They touch keys they are not
 * given in KEYS (the owner set's jobs): fine on one Redis, not on a
 * Redis Cluster, which rcptd does not claim. */
#include "daemon/jobq_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api/verdict_json.h"
#include "core/htab.h"
#include "core/jobrec.h"
#include "daemon/jobfmt.h"
#include "daemon/log.h"

/* KEYS: the job, the owner's set. ARGV: id, owner, total, header,
 * created, the owner's limit, TTL (s), repeats. 0: the owner has too
 * many. */
static const char create_lua[] =
    "for _, j in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
    "  local s = redis.call('HGET', 'rcptd:v1:job:' .. j, 'state')\n"
    "  if s ~= 'queued' and s ~= 'running' then\n"
    "    redis.call('SREM', KEYS[2], j)\n"
    "  end\n"
    "end\n"
    "if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[6]) then\n"
    "  return 0\n"
    "end\n"
    "local st, fin = 'queued', 0\n"
    "if tonumber(ARGV[3]) == 0 then st = 'done'; fin = ARGV[5] end\n"
    "redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'state', st,\n"
    "  'total', ARGV[3], 'done', 0, 'dup', ARGV[8], 'c0', 0, 'c1', 0,\n"
    "  'c2', 0,"
    "  'c3', 0, 'header', ARGV[4], 'created', ARGV[5], 'started', 0,\n"
    "  'finished', fin)\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[7])\n"
    "if st == 'queued' then\n"
    "  redis.call('SADD', KEYS[2], ARGV[1])\n"
    "  redis.call('EXPIRE', KEYS[2], ARGV[7])\n"
    "end\n"
    "return 1\n";

/* KEYS: the job, its results, the owner's set. ARGV: now, retention
 * (s), 1 from a worker (the job starts running; 0: rows answered at its
 * creation), id, then (index, status, result) triples. Each
 * row counts once: only a result HSETNX really adds. Returns -1 (no
 * such job), -2 (cancelled or failed), 0 (stored), 1 (the job is done
 * now). */
static const char store_lua[] =
    "local st = redis.call('HGET', KEYS[1], 'state')\n"
    "if not st then return -1 end\n"
    "if st == 'cancelled' or st == 'failed' then return -2 end\n"
    "local n = 0\n"
    "for i = 5, #ARGV, 3 do\n"
    "  if redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[i + 2]) == 1 then\n"
    "    redis.call('HINCRBY', KEYS[1], 'c' .. ARGV[i + 1], 1)\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "local done = redis.call('HINCRBY', KEYS[1], 'done', n)\n"
    "if st == 'queued' and ARGV[3] == '1' then\n"
    "  redis.call('HSET', KEYS[1], 'state', 'running', 'started', ARGV[1])\n"
    "end\n"
    "if redis.call('TTL', KEYS[2]) < 0 then\n"
    "  redis.call('EXPIRE', KEYS[2], math.max(redis.call('TTL', KEYS[1]), "
    "1))\n"
    "end\n"
    "if st ~= 'done' and done >= tonumber(redis.call('HGET', KEYS[1], "
    "'total')) then\n"
    "  redis.call('HSET', KEYS[1], 'state', 'done', 'finished', ARGV[1])\n"
    "  redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
    "  redis.call('EXPIRE', KEYS[2], ARGV[2])\n"
    "  redis.call('SREM', KEYS[3], ARGV[4])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

int64_t jobq__now_s(void)
{
	return (int64_t)time(NULL);
}

void jobq__ignore(void *data, enum redis_conn_status s, const redisReply *r)
{
	(void)data;
	(void)s;
	(void)r;
}

void jobq__key(char *out, const char *id, const char *suffix)
{
	snprintf(out, JOBQ_KEY_MAX, "rcptd:v1:job:%s%s", id, suffix);
}

void jobq__owner_key(char *out, const char *owner_hex)
{
	snprintf(out, JOBQ_KEY_MAX, "rcptd:v1:owner:%s", owner_hex);
}

void jobq__owner_hex(char out[JOBQ_OWNER_HEX + 1], const void *owner,
		     size_t len)
{
	snprintf(out, JOBQ_OWNER_HEX + 1, "%016" PRIx64, htab_hash(owner, len));
}

/* ---- the queue ------------------------------------------------------------ */

int jobq_new(uv_loop_t *loop, const struct jobq_config *c, struct verifier *v,
	     struct jobq **out, char *err, size_t errlen)
{
	struct redis_conn_config rcfg;
	struct jobq *q = calloc(1, sizeof(*q));
	char host[65] = "rcptd";
	unsigned char rnd[4] = {0};

	if (q == NULL) {
		snprintf(err, errlen, "jobs: out of memory");
		return -1;
	}
	if (c->max_rows == 0 || c->max_jobs_per_owner == 0 ||
	    c->claim_timeout_ms < 3) {
		snprintf(err, errlen, "jobs: a limit is 0");
		free(q);
		return -1;
	}
	q->loop = loop;
	q->cfg = *c;
	q->cfg.redis_url = NULL; /* borrowed: used only here */
	q->v = v;
	TAILQ_INIT(&q->chunks);
	LIST_INIT(&q->readers);
	redis_conn_config_defaults(&rcfg);
	rcfg.timeout_ms = c->timeout_ms > JOBQ_TIMEOUT_MIN_MS
			      ? c->timeout_ms
			      : JOBQ_TIMEOUT_MIN_MS;
	if (redis_url_parse(c->redis_url, &rcfg.url, err, errlen) < 0 ||
	    redis_conn_new(loop, &rcfg, &q->rc, err, errlen) < 0) {
		free(q);
		return -1;
	}
	/* A name no other worker has, now or later: a dead worker's
	 * pending entries must look like nobody's. */
	gethostname(host, sizeof(host) - 1);
	uv_random(NULL, NULL, rnd, sizeof(rnd), 0, NULL);
	snprintf(q->consumer, sizeof(q->consumer), "%.64s-%ld-%02x%02x%02x%02x",
		 host, (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3]);
	if (v && jobq__worker_start(q) < 0) {
		snprintf(err, errlen, "jobs: out of memory");
		redis_conn_close(q->rc, free, q);
		return -1;
	}
	*out = q;
	return 0;
}

bool jobq_ready(const struct jobq *q)
{
	return redis_conn_ready(q->rc);
}

unsigned jobq_max_rows(const struct jobq *q)
{
	return q->cfg.max_rows;
}

void jobq_get_stats(const struct jobq *q, struct jobq_stats *s)
{
	*s = q->stats;
	s->chunks_held = q->nchunks;
}

void jobq_stop(struct jobq *q)
{
	jobq__worker_stop(q);
}

static void readers_orphan(struct jobq *q);

static void part_closed(struct jobq *q)
{
	if (--q->closing_parts > 0)
		return;
	void (*cb)(void *) = q->closed_cb;
	void *data = q->closed_data;
	free(q);
	if (cb)
		cb(data);
}

static void on_conn_closed(void *data)
{
	part_closed(data);
}

static void on_tick_closed(uv_handle_t *h)
{
	part_closed(h->data);
}

void jobq_close(struct jobq *q, void (*closed)(void *), void *data)
{
	if (q->closing)
		return;
	jobq__worker_stop(q);
	q->closing = true;
	readers_orphan(q);
	q->closed_cb = closed;
	q->closed_data = data;
	q->closing_parts = 1;
	if (q->worker) {
		q->closing_parts++;
		uv_close((uv_handle_t *)&q->tick, on_tick_closed);
	}
	redis_conn_close(q->rc, on_conn_closed, q);
}

int jobq__store(struct jobq *q, const char *id, const char *owner_hex,
		bool worker, size_t n, const uint64_t *idx,
		const unsigned char *status, char *const *rec,
		const size_t *reclen, redis_conn_cb cb, void *data)
{
	size_t argc = 10 + 3 * n;
	const char **argv = malloc(argc * sizeof(*argv));
	size_t *len = malloc(argc * sizeof(*len));
	char(*num)[24] = malloc((2 * n + 3) * sizeof(*num));
	char meta[JOBQ_KEY_MAX], res[JOBQ_KEY_MAX], own[JOBQ_KEY_MAX];
	int rc = -1;

	if (argv == NULL || len == NULL || num == NULL)
		goto out;
	jobq__key(meta, id, "");
	jobq__key(res, id, ":res");
	jobq__owner_key(own, owner_hex);
	argv[0] = "EVAL";
	argv[1] = store_lua;
	argv[2] = "3";
	argv[3] = meta;
	argv[4] = res;
	argv[5] = own;
	snprintf(num[0], sizeof(num[0]), "%" PRId64, jobq__now_s());
	snprintf(num[1], sizeof(num[1]), "%u",
		 q->cfg.retention_ms / 1000 ? q->cfg.retention_ms / 1000 : 1);
	snprintf(num[2], sizeof(num[2]), "%d", worker ? 1 : 0);
	argv[6] = num[0];
	argv[7] = num[1];
	argv[8] = num[2];
	argv[9] = id;
	argc = 10;
	for (size_t i = 0; i < n; i++) {
		snprintf(num[3 + 2 * i], sizeof(num[0]), "%" PRIu64, idx[i]);
		snprintf(num[4 + 2 * i], sizeof(num[0]), "%u",
			 (unsigned)status[i]);
		argv[argc++] = num[3 + 2 * i];
		argv[argc++] = num[4 + 2 * i];
		argv[argc] = rec[i];
		len[argc++] = reclen[i];
	}
	for (size_t i = 0; i < argc; i++)
		if (i < 10 || (i - 10) % 3 != 2)
			len[i] = strlen(argv[i]);
	rc = redis_conn_command(q->rc, (int)argc, argv, len, cb, data, NULL);
out:
	free(argv);
	free(len);
	free(num);
	return rc;
}

/* ---- operations --------------------------------------------------------------- */

/* readers_orphan - the queue closes; its readers may outlive it: they
 * fail from now on. */
static void readers_orphan(struct jobq *q)
{
	while (!LIST_EMPTY(&q->readers)) {
		struct jobq_reader *rd = LIST_FIRST(&q->readers);
		LIST_REMOVE(rd, link);
		rd->q = NULL;
	}
}

void jobq_op_cancel(struct jobq_op *op)
{
	op->cancelled = true;
}

void jobq__reader_release(struct jobq_reader *rd)
{
	if (rd->q)
		LIST_REMOVE(rd, link);
	free(rd->header);
	free(rd->out.buf);
	free(rd->ready.buf);
	free(rd);
}

void jobq__op_free(struct jobq_op *op)
{
	for (size_t i = 0; i < op->nchunks; i++)
		free(op->chunk[i]);
	free(op->chunk);
	free(op->chunklen);
	for (size_t i = 0; i < op->npre; i++)
		free(op->prec[i]);
	free(op->prec);
	free(op->preclen);
	free(op->pidx);
	free(op->pst);
	if (op->rd)
		jobq__reader_release(op->rd); /* never handed out */
	free(op);
}

/* op_end - the op's last command has answered: its callback, then free. */
void jobq__op_end(struct jobq_op *op)
{
	if (!op->cancelled) {
		switch (op->kind) {
		case OP_CREATE:
			op->cb.create(op->data, op->err,
				      op->err ? NULL : op->id);
			break;
		case OP_STATUS:
			op->cb.status(op->data, op->err,
				      op->err ? NULL : &op->st);
			break;
		case OP_CANCEL:
			op->cb.cancel(op->data, op->err, op->deleted);
			break;
		case OP_READER:
			op->cb.reader(op->data, op->err,
				      op->err ? NULL : op->rd);
			if (op->err == 0)
				op->rd = NULL; /* the caller's now */
			break;
		}
	}
	jobq__op_free(op);
}

struct jobq_op *jobq__op_new(struct jobq *q, enum op_kind kind, void *data)
{
	struct jobq_op *op = calloc(1, sizeof(*op));

	if (op) {
		op->q = q;
		op->kind = kind;
		op->data = data;
	}
	return op;
}

/* reply_failed - a command's outcome as a jobstore_err (0: a reply). */
int jobq__reply_failed(enum redis_conn_status s, const redisReply *r)
{
	if (s != REDIS_CONN_OK || r == NULL || r->type == REDIS_REPLY_ERROR) {
		if (s == REDIS_CONN_OK && r)
			log_warn("jobs: redis: %.200s", r->str);
		return JOBSTORE_UNAVAILABLE;
	}
	return 0;
}

/* ---- create ------------------------------------------------------------------ */

struct sorted {
	const struct jobstore_row *row;
	size_t index;
	const char *dom;
	size_t domlen;
};

/* cmp_address - the same domain (any case) and local part (as
 * written: RFC 5321 leaves its case to the server), as daemon/job.c
 * keys repeats. */
static int cmp_address(const struct sorted *x, const struct sorted *y)
{
	size_t n = x->domlen < y->domlen ? x->domlen : y->domlen;
	size_t xl = x->row->inputlen - x->domlen,
	       yl = y->row->inputlen - y->domlen;
	int c = strncasecmp(x->dom, y->dom, n);

	if (c == 0 && x->domlen != y->domlen)
		c = x->domlen < y->domlen ? -1 : 1;
	if (c == 0)
		c = memcmp(x->row->input, y->row->input, xl < yl ? xl : yl);
	if (c == 0 && xl != yl)
		c = xl < yl ? -1 : 1;
	return c;
}

/* by_address - by domain, then local part, then input order: a domain's
 * rows share chunks (and sessions), a repeat sits next to its first. */
static int by_address(const void *a, const void *b)
{
	const struct sorted *x = a, *y = b;
	int c = cmp_address(x, y);

	if (c == 0)
		c = x->index < y->index ? -1 : x->index > y->index;
	return c;
}

/* build - the stream entries (rows grouped by domain) and the results of
 * the rows answered already; the repeats counted. */
static int build(struct jobq_op *op, const struct jobstore_row *rows,
		 size_t nrows)
{
	struct sorted *s = calloc(nrows ? nrows : 1, sizeof(*s));
	struct jobrec_row *cr = malloc(JOBQ_CHUNK_ROWS * sizeof(*cr));
	size_t ns = 0, npre = 0;
	int rc = -1;

	if (s == NULL || cr == NULL)
		goto out;
	for (size_t i = 0; i < nrows; i++)
		npre += rows[i].input == NULL;
	op->prec = calloc(npre + 1, sizeof(*op->prec));
	op->preclen = calloc(npre + 1, sizeof(*op->preclen));
	op->pidx = calloc(npre + 1, sizeof(*op->pidx));
	op->pst = calloc(npre + 1, sizeof(*op->pst));
	if (!op->prec || !op->preclen || !op->pidx || !op->pst)
		goto out;
	for (size_t i = 0; i < nrows; i++) {
		const struct jobstore_row *r = &rows[i];
		if (r->input == NULL) {
			char *json = verdict_json_dumps(r->verdict);
			struct jobrec_result res = {
			    r->prefix, r->prefixlen, NULL,
			    0,	       json,	     json ? strlen(json) : 0};
			char *rec =
			    json ? malloc(jobrec_result_size(&res)) : NULL;
			if (rec)
				op->preclen[op->npre] =
				    jobrec_result_encode(&res, rec);
			free(json);
			if (rec == NULL)
				goto out;
			op->prec[op->npre] = rec;
			op->pidx[op->npre] = i;
			op->pst[op->npre++] = (unsigned char)r->verdict->status;
			continue;
		}
		const char *at = memrchr(r->input, '@', r->inputlen);
		s[ns].row = r;
		s[ns].index = i;
		s[ns].dom = at ? at + 1 : r->input;
		s[ns].domlen = at ? r->inputlen - (size_t)(at + 1 - r->input)
				  : r->inputlen;
		ns++;
	}
	qsort(s, ns, sizeof(*s), by_address);
	for (size_t i = 1; i < ns; i++)
		op->dup += cmp_address(&s[i - 1], &s[i]) == 0;
	op->nchunks = (ns + JOBQ_CHUNK_ROWS - 1) / JOBQ_CHUNK_ROWS;
	op->chunk = calloc(op->nchunks + 1, sizeof(*op->chunk));
	op->chunklen = calloc(op->nchunks + 1, sizeof(*op->chunklen));
	if (op->chunk == NULL || op->chunklen == NULL) {
		op->nchunks = 0;
		goto out;
	}
	for (size_t c = 0; c < op->nchunks; c++) {
		size_t first = c * JOBQ_CHUNK_ROWS, n = ns - first;
		if (n > JOBQ_CHUNK_ROWS)
			n = JOBQ_CHUNK_ROWS;
		for (size_t i = 0; i < n; i++) {
			const struct sorted *x = &s[first + i];
			cr[i].index = x->index;
			cr[i].prefix = x->row->prefix;
			cr[i].prefixlen = x->row->prefixlen;
			cr[i].input = x->row->input;
			cr[i].inputlen = x->row->inputlen;
		}
		op->chunklen[c] = jobrec_chunk_size(cr, n);
		op->chunk[c] = malloc(op->chunklen[c]);
		if (op->chunk[c] == NULL)
			goto out;
		jobrec_chunk_encode(cr, n, op->chunk[c]);
	}
	rc = 0;
out:
	free(s);
	free(cr);
	return rc;
}

/* create_done - every command of the creation has answered. */
static void create_done(struct jobq_op *op)
{
	if (op->err) {
		/* Half a job is no job: mark it failed (best effort). */
		char meta[JOBQ_KEY_MAX], own[JOBQ_KEY_MAX];
		jobq__key(meta, op->id, "");
		jobq__owner_key(own, op->owner);
		const char *a1[] = {"HSET", meta, "state", "failed"};
		const char *a2[] = {"SREM", own, op->id};
		redis_conn_command(op->q->rc, 4, a1, NULL, jobq__ignore, NULL,
				   NULL);
		redis_conn_command(op->q->rc, 3, a2, NULL, jobq__ignore, NULL,
				   NULL);
	}
	jobq__op_end(op);
}

static void on_create_part(void *data, enum redis_conn_status s,
			   const redisReply *r)
{
	struct jobq_op *op = data;

	if (jobq__reply_failed(s, r) && op->err == 0)
		op->err = JOBSTORE_UNAVAILABLE;
	if (--op->pending == 0)
		create_done(op);
}

/* send_rows - the job's hash exists: its entries and its answered rows. */
static void send_rows(struct jobq_op *op)
{
	struct jobq *q = op->q;

	op->pending = 1; /* held until everything is sent */
	for (size_t i = 0; i < op->npre; i += JOBQ_FLUSH_ROWS) {
		size_t n = op->npre - i;
		if (n > JOBQ_FLUSH_ROWS)
			n = JOBQ_FLUSH_ROWS;
		if (jobq__store(q, op->id, op->owner, false, n, op->pidx + i,
				op->pst + i, op->prec + i, op->preclen + i,
				on_create_part, op) < 0)
			op->err = JOBSTORE_UNAVAILABLE;
		else
			op->pending++;
	}
	for (size_t c = 0; c < op->nchunks; c++) {
		const char *argv[] = {"XADD",	 JOBQ_STREAM, "*",
				      "job",	 op->id,      "owner",
				      op->owner, "rows",      op->chunk[c]};
		size_t len[9];
		for (int i = 0; i < 8; i++)
			len[i] = strlen(argv[i]);
		len[8] = op->chunklen[c];
		if (redis_conn_command(q->rc, 9, argv, len, on_create_part, op,
				       NULL) < 0)
			op->err = JOBSTORE_UNAVAILABLE;
		else
			op->pending++;
	}
	if (--op->pending == 0)
		create_done(op); /* nothing could be sent */
}

static void on_created(void *data, enum redis_conn_status s,
		       const redisReply *r)
{
	struct jobq_op *op = data;

	op->pending = 0;
	op->err = jobq__reply_failed(s, r);
	if (op->err == 0 && r->type != REDIS_REPLY_INTEGER)
		op->err = JOBSTORE_UNAVAILABLE;
	if (op->err == 0 && r->integer == 0)
		op->err = JOBSTORE_TOO_MANY;
	if (op->err || (op->nchunks == 0 && op->npre == 0)) {
		jobq__op_end(op);
		return;
	}
	send_rows(op);
}

int jobq_create(struct jobq *q, const void *owner, size_t ownerlen,
		const char *header, size_t headerlen,
		const struct jobstore_row *rows, size_t nrows,
		jobq_create_cb cb, void *data, struct jobq_op **out)
{
	struct jobq_op *op;
	char meta[JOBQ_KEY_MAX], own[JOBQ_KEY_MAX], total[24], now[24], lim[16],
	    ttl[16], dup[24];
	const char *argv[13];
	size_t len[13];
	uint64_t ttl_s;

	if (nrows > q->cfg.max_rows)
		return JOBSTORE_TOO_LARGE;
	if (q->closing || !redis_conn_ready(q->rc))
		return JOBSTORE_UNAVAILABLE;
	op = jobq__op_new(q, OP_CREATE, data);
	if (op == NULL)
		return JOBSTORE_NOMEM;
	op->cb.create = cb;
	jobq__owner_hex(op->owner, owner, ownerlen);
	if (jobstore_new_id(op->id) < 0 || build(op, rows, nrows) < 0) {
		jobq__op_free(op);
		return JOBSTORE_NOMEM;
	}
	jobq__key(meta, op->id, "");
	jobq__owner_key(own, op->owner);
	snprintf(total, sizeof(total), "%zu", nrows);
	snprintf(now, sizeof(now), "%" PRId64, jobq__now_s());
	snprintf(lim, sizeof(lim), "%u", q->cfg.max_jobs_per_owner);
	/* Kept while it may run, and its retention after. */
	ttl_s =
	    ((uint64_t)q->cfg.job.deadline_ms + q->cfg.retention_ms) / 1000 +
	    3600;
	snprintf(ttl, sizeof(ttl), "%" PRIu64, ttl_s);
	argv[0] = "EVAL";
	argv[1] = create_lua;
	argv[2] = "2";
	argv[3] = meta;
	argv[4] = own;
	argv[5] = op->id;
	argv[6] = op->owner;
	argv[7] = total;
	argv[8] = header;
	argv[9] = now;
	argv[10] = lim;
	argv[11] = ttl;
	snprintf(dup, sizeof(dup), "%" PRIu64, op->dup);
	argv[12] = dup;
	for (int i = 0; i < 13; i++)
		len[i] = i == 8 ? headerlen : strlen(argv[i]);
	if (redis_conn_command(q->rc, 13, argv, len, on_created, op, NULL) <
	    0) {
		jobq__op_free(op);
		return JOBSTORE_UNAVAILABLE;
	}
	op->pending = 1;
	if (out)
		*out = op;
	return 0;
}
