/* jobq_read - a job's status, its cancel and its results, from Redis
 * (see jobq.h); the calls of any instance, for any job. */
#include "daemon/jobq_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/verdict_json.h"
#include "core/jobrec.h"
#include "daemon/log.h"

/* KEYS: the job, its results, the owner's set. ARGV: owner, now,
 * retention (s), id. -1: not this owner's; 0: cancelled; 1: a finished
 * job forgotten. */
static const char cancel_lua[] =
    "local m = redis.call('HMGET', KEYS[1], 'owner', 'state')\n"
    "if not m[1] or m[1] ~= ARGV[1] then return -1 end\n"
    "if m[2] == 'queued' or m[2] == 'running' then\n"
    "  redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finished', "
    "ARGV[2])\n"
    "  redis.call('EXPIRE', KEYS[1], ARGV[3])\n"
    "  redis.call('EXPIRE', KEYS[2], ARGV[3])\n"
    "  redis.call('SREM', KEYS[3], ARGV[4])\n"
    "  return 0\n"
    "end\n"
    "redis.call('DEL', KEYS[1], KEYS[2])\n"
    "return 1\n";

/* ---- status ------------------------------------------------------------------ */

#define META_FIELDS                                                            \
	"owner", "state", "total", "done", "dup", "c0", "c1", "c2", "c3",      \
	    "created", "started", "finished", "header"
enum {
	F_OWNER,
	F_STATE,
	F_TOTAL,
	F_DONE,
	F_DUP,
	F_C0,
	F_CREATED = F_C0 + VERDICT_STATUS_LAST,
	F_STARTED,
	F_FINISHED,
	F_HEADER,
	F_LAST
};

static int64_t num_at(const redisReply *r, int i)
{
	const redisReply *e = r->element[i];

	if (e->type != REDIS_REPLY_STRING)
		return 0;
	return strtoll(e->str, NULL, 10);
}

static enum jobstore_state state_of(const char *s)
{
	for (int i = 0; i < JOBSTORE_STATE_LAST; i++)
		if (strcmp(s, jobstore_state_name((enum jobstore_state)i)) == 0)
			return (enum jobstore_state)i;
	return JOBSTORE_FAILED;
}

/* meta_check - a HMGET of META_FIELDS: this owner's job? 0 or an error. */
static int meta_check(const struct jobq_op *op, enum redis_conn_status s,
		      const redisReply *r)
{
	int err = jobq__reply_failed(s, r);

	if (err)
		return err;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != F_LAST)
		return JOBSTORE_UNAVAILABLE;
	if (r->element[F_OWNER]->type != REDIS_REPLY_STRING ||
	    strcmp(r->element[F_OWNER]->str, op->owner) != 0 ||
	    r->element[F_STATE]->type != REDIS_REPLY_STRING)
		return JOBSTORE_NOT_FOUND;
	return 0;
}

static void on_status(void *data, enum redis_conn_status s, const redisReply *r)
{
	struct jobq_op *op = data;
	struct jobstore_status *st = &op->st;
	int64_t now = jobq__now_s(), started;

	op->pending = 0;
	op->err = meta_check(op, s, r);
	if (op->err == 0) {
		memcpy(st->id, op->id, sizeof(st->id));
		st->state = state_of(r->element[F_STATE]->str);
		st->total = (uint64_t)num_at(r, F_TOTAL);
		st->done = (uint64_t)num_at(r, F_DONE);
		st->duplicates = (uint64_t)num_at(r, F_DUP);
		for (int i = 0; i < VERDICT_STATUS_LAST; i++)
			st->counts[i] = (uint64_t)num_at(r, F_C0 + i);
		st->created_at = num_at(r, F_CREATED);
		st->finished_at = num_at(r, F_FINISHED);
		started = num_at(r, F_STARTED);
		/* Whole seconds since the first result: the rate over the
		 * job's life, whoever worked on it. */
		if (started && now > started)
			st->rate = (double)st->done / (double)(now - started);
		if (st->done >= st->total)
			st->eta_s = 0;
		else if (st->finished_at || st->rate <= 0.0)
			st->eta_s = -1;
		else
			st->eta_s =
			    (long)((double)(st->total - st->done) / st->rate +
				   0.999);
	}
	jobq__op_end(op);
}

/* send_meta - HMGET the job's hash for @op, answered to @cb. */
static int send_meta(struct jobq_op *op, redis_conn_cb cb)
{
	char meta[JOBQ_KEY_MAX];
	const char *argv[2 + F_LAST] = {"HMGET", meta, META_FIELDS};

	jobq__key(meta, op->id, "");
	if (redis_conn_command(op->q->rc, 2 + F_LAST, argv, NULL, cb, op,
			       NULL) < 0)
		return -1;
	op->pending = 1;
	return 0;
}

/* start_op - the common start of status, cancel and reader. */
static struct jobq_op *start_op(struct jobq *q, enum op_kind kind,
				const char *id, const void *owner,
				size_t ownerlen, void *data, int *err)
{
	struct jobq_op *op;

	*err = 0;
	if (strlen(id) != JOBSTORE_ID_LEN ||
	    strspn(id, "0123456789abcdef") != JOBSTORE_ID_LEN) {
		*err = JOBSTORE_NOT_FOUND;
		return NULL;
	}
	if (q->closing || !redis_conn_ready(q->rc)) {
		*err = JOBSTORE_UNAVAILABLE;
		return NULL;
	}
	op = jobq__op_new(q, kind, data);
	if (op == NULL) {
		*err = JOBSTORE_NOMEM;
		return NULL;
	}
	memcpy(op->id, id, JOBSTORE_ID_LEN + 1);
	jobq__owner_hex(op->owner, owner, ownerlen);
	return op;
}

int jobq_status(struct jobq *q, const char *id, const void *owner,
		size_t ownerlen, jobq_status_cb cb, void *data,
		struct jobq_op **out)
{
	int err;
	struct jobq_op *op =
	    start_op(q, OP_STATUS, id, owner, ownerlen, data, &err);

	if (op == NULL)
		return err;
	op->cb.status = cb;
	if (send_meta(op, on_status) < 0) {
		jobq__op_free(op);
		return JOBSTORE_UNAVAILABLE;
	}
	if (out)
		*out = op;
	return 0;
}

/* ---- cancel ------------------------------------------------------------------ */

static void on_cancel(void *data, enum redis_conn_status s, const redisReply *r)
{
	struct jobq_op *op = data;

	op->pending = 0;
	op->err = jobq__reply_failed(s, r);
	if (op->err == 0 && r->type != REDIS_REPLY_INTEGER)
		op->err = JOBSTORE_UNAVAILABLE;
	else if (op->err == 0 && r->integer < 0)
		op->err = JOBSTORE_NOT_FOUND;
	else if (op->err == 0)
		op->deleted = r->integer == 1;
	jobq__op_end(op);
}

int jobq_cancel(struct jobq *q, const char *id, const void *owner,
		size_t ownerlen, jobq_cancel_cb cb, void *data,
		struct jobq_op **out)
{
	int err;
	struct jobq_op *op =
	    start_op(q, OP_CANCEL, id, owner, ownerlen, data, &err);
	char meta[JOBQ_KEY_MAX], res[JOBQ_KEY_MAX], own[JOBQ_KEY_MAX], now[24],
	    ret[16];

	if (op == NULL)
		return err;
	op->cb.cancel = cb;
	jobq__key(meta, id, "");
	jobq__key(res, id, ":res");
	jobq__owner_key(own, op->owner);
	snprintf(now, sizeof(now), "%" PRId64, jobq__now_s());
	snprintf(ret, sizeof(ret), "%u",
		 q->cfg.retention_ms / 1000 ? q->cfg.retention_ms / 1000 : 1);
	const char *argv[] = {"EVAL", cancel_lua, "3", meta, res,
			      own,    op->owner,  now, ret,  op->id};
	if (redis_conn_command(q->rc, 10, argv, NULL, on_cancel, op, NULL) <
	    0) {
		jobq__op_free(op);
		return JOBSTORE_UNAVAILABLE;
	}
	op->pending = 1;
	if (out)
		*out = op;
	return 0;
}

/* ---- results ------------------------------------------------------------------ */

static void on_reader_meta(void *data, enum redis_conn_status s,
			   const redisReply *r)
{
	struct jobq_op *op = data;
	struct jobq_reader *rd;

	op->pending = 0;
	op->err = meta_check(op, s, r);
	if (op->err == 0) {
		const redisReply *h = r->element[F_HEADER];
		rd = calloc(1, sizeof(*rd));
		if (rd)
			rd->header = malloc(
			    h->type == REDIS_REPLY_STRING ? h->len + 1 : 6);
		if (rd == NULL || rd->header == NULL) {
			free(rd);
			op->err = JOBSTORE_NOMEM;
		} else {
			rd->q = op->q;
			memcpy(rd->id, op->id, sizeof(rd->id));
			rd->format = op->format;
			rd->total = (uint64_t)num_at(r, F_TOTAL);
			if (h->type == REDIS_REPLY_STRING) {
				memcpy(rd->header, h->str, h->len);
				rd->headerlen = h->len;
			} else {
				memcpy(rd->header, "email", 5);
				rd->headerlen = 5;
			}
			rd->header_done = rd->format != JOBSTORE_CSV;
			LIST_INSERT_HEAD(&op->q->readers, rd, link);
			op->rd = rd;
		}
	}
	jobq__op_end(op);
}

int jobq_reader_new(struct jobq *q, const char *id, const void *owner,
		    size_t ownerlen, enum jobstore_format format,
		    jobq_reader_cb cb, void *data, struct jobq_op **out)
{
	int err;
	struct jobq_op *op =
	    start_op(q, OP_READER, id, owner, ownerlen, data, &err);

	if (op == NULL)
		return err;
	op->cb.reader = cb;
	op->format = format;
	if (send_meta(op, on_reader_meta) < 0) {
		jobq__op_free(op);
		return JOBSTORE_UNAVAILABLE;
	}
	if (out)
		*out = op;
	return 0;
}

static void fetch(struct jobq_reader *rd);

/* format_block - a HMGET reply of rows rd->next.. into rd->ready. */
static int format_block(struct jobq_reader *rd, const redisReply *r)
{
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];
		struct jobrec_result res;
		struct verdict v;

		if (e->type != REDIS_REPLY_STRING)
			continue; /* not done yet */
		if (jobrec_result_decode(e->str, e->len, &res) < 0 ||
		    verdict_from_json(res.json, res.jsonlen, &v) < 0) {
			log_warn("jobs: job %s row %" PRIu64
				 ": an unreadable result skipped",
				 rd->id, rd->next + i);
			continue;
		}
		if (jobfmt_row(&rd->ready, rd->format, rd->next + i, res.prefix,
			       res.prefixlen, res.input, res.inputlen, &v) < 0)
			return -1;
	}
	return 0;
}

static void on_fetch(void *data, enum redis_conn_status s, const redisReply *r)
{
	struct jobq_reader *rd = data;
	void (*wake)(void *) = rd->wake;

	rd->fetching = false;
	if (rd->freed) {
		jobq__reader_release(rd);
		return;
	}
	if (jobq__reply_failed(s, r) || r->type != REDIS_REPLY_ARRAY ||
	    format_block(rd, r) < 0) {
		rd->failed = true;
	} else {
		rd->next += r->elements;
		rd->have_ready = true;
	}
	rd->wake = NULL;
	if (wake)
		wake(rd->wake_data);
}

/* fetch - ask for the next block, unless one is on its way or waiting. */
static void fetch(struct jobq_reader *rd)
{
	char res[JOBQ_KEY_MAX], (*num)[24];
	const char *argv[2 + JOBQ_READ_BLOCK];
	uint64_t n = rd->total - rd->next;

	if (rd->fetching || rd->have_ready || rd->failed || n == 0)
		return;
	if (n > JOBQ_READ_BLOCK)
		n = JOBQ_READ_BLOCK;
	num = malloc(n * sizeof(*num));
	if (num == NULL) {
		rd->failed = true;
		return;
	}
	jobq__key(res, rd->id, ":res");
	argv[0] = "HMGET";
	argv[1] = res;
	for (uint64_t i = 0; i < n; i++) {
		snprintf(num[i], sizeof(num[i]), "%" PRIu64, rd->next + i);
		argv[2 + i] = num[i];
	}
	if (rd->q == NULL || rd->q->closing ||
	    redis_conn_command(rd->q->rc, (int)(2 + n), argv, NULL, on_fetch,
			       rd, NULL) < 0)
		rd->failed = true;
	else
		rd->fetching = true;
	free(num);
}

long jobq_read(struct jobq_reader *rd, char *buf, size_t len,
	       void (*wake)(void *), void *data)
{
	size_t n = 0;

	while (n < len) {
		if (rd->off < rd->out.len) {
			size_t k = rd->out.len - rd->off;
			if (k > len - n)
				k = len - n;
			memcpy(buf + n, rd->out.buf + rd->off, k);
			rd->off += k;
			n += k;
			continue;
		}
		rd->out.len = rd->off = 0;
		if (!rd->header_done) {
			rd->header_done = true;
			if (jobfmt_header(&rd->out, rd->header, rd->headerlen) <
			    0)
				return n ? (long)n : -1;
			continue;
		}
		if (rd->have_ready) {
			struct jobfmt_buf t = rd->out;
			rd->out = rd->ready;
			rd->ready = t;
			rd->ready.len = 0;
			rd->have_ready = false;
			fetch(rd); /* the next block while this one leaves */
			continue;
		}
		if (rd->failed)
			return n ? (long)n : -1;
		if (rd->next >= rd->total && !rd->fetching)
			break; /* the end */
		fetch(rd);
		if (rd->failed)
			return n ? (long)n : -1;
		if (n > 0)
			break;
		rd->wake = wake;
		rd->wake_data = data;
		return JOBQ_AGAIN;
	}
	return (long)n;
}

void jobq_reader_free(struct jobq_reader *rd)
{
	if (rd == NULL)
		return;
	rd->wake = NULL;
	if (rd->fetching) {
		rd->freed = true; /* released by on_fetch() */
		return;
	}
	jobq__reader_release(rd);
}
