/* test_jobq - bulk jobs on Redis Streams (daemon/jobq.h) against a real
 * redis-server on loopback.
 *
 * As test_hostgate.c: /usr/bin/redis-server is started per test on a free
 * port of 127.0.0.1 without persistence, killed by PID in the teardown
 * (PR_SET_PDEATHSIG as a net). The loop runs in the test's own process,
 * turned with a bounded deadline. The worker verifies over the real stack
 * (verifier, engine, resolver) whose resolver asks 127.0.0.1 only: a
 * closed port, so every lookup fails at once (unknown / dns_error), or a
 * UDP socket of the test that never answers (the rows stay at the
 * verifier). Addresses without an @ are answered by the precheck. A sync
 * hiredis client plays a dead worker and checks the stream; what a worker
 * stores goes through jobq__store (jobq_int.h), the worker's own call. */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "api/verdict_json.h"
#include "core/csv.h"
#include "core/htab.h"
#include "core/jobrec.h"
#include "core/lists.h"
#include "core/netpolicy.h"
#include "daemon/engine.h"
#include "daemon/jobq.h"
#include "daemon/jobq_int.h" /* jobq__store: what a worker writes */
#include "daemon/log.h"
#include "daemon/resolver.h"
#include "daemon/verifier.h"
#include "tests/unit/app/fixture_redis.h"
#include "tests/unit/app/fixture_stack.h"

#define WAIT_MS 8000
#define NO_JOB	"00000000000000000000000000000000"

static unsigned port;
static pid_t server_pid = -1;

static struct {
	uv_loop_t loop;
	struct lists lists;
	struct netpolicy policy;
	struct resolver *res;
	struct engine *eng;
	struct verifier *ver;
	int dns_fd; /* the silent DNS server, or -1 */
	int closed;
} S;
static const struct fixture_stack STACK = {&S.lists, &S.policy, &S.dns_fd,
					   &S.res,   &S.eng,	&S.ver};

/* ---- redis-server ------------------------------------------------------ */

/* sync_int - an integer answer (or the first element of an array's), or
 * -100 on anything else. */
static long long sync_int(redisContext *r, const char *cmd)
{
	redisReply *rep = redisCommand(r, cmd);
	long long n = -100;

	if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
	    rep->element[0]->type == REDIS_REPLY_INTEGER)
		n = rep->element[0]->integer;
	else if (rep && rep->type == REDIS_REPLY_INTEGER)
		n = rep->integer;
	if (rep)
		freeReplyObject(rep);
	return n;
}

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_setup(LOG_FORMAT_TEXT, "error");
	port = fixture_free_port();
	server_pid = -1;
	memset(&S, 0, sizeof(S));
	S.dns_fd = -1;
	ck_assert_int_eq(uv_loop_init(&S.loop), 0);
}

static void teardown(void)
{
	fixture_redis_stop(&server_pid);
}

/* ---- the loop ------------------------------------------------------------ */

static void tick(uv_timer_t *t)
{
	(void)t;
}

/* run_until - turn the loop until @pred holds or @ms pass. */
static bool run_until(bool (*pred)(void *), void *arg, unsigned ms)
{
	uv_timer_t t;
	uint64_t end;
	bool ok;

	uv_update_time(&S.loop);
	end = uv_now(&S.loop) + ms;
	uv_timer_init(&S.loop, &t);
	uv_timer_start(&t, tick, 5, 5);
	while (!(ok = pred(arg)) && uv_now(&S.loop) < end)
		uv_run(&S.loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&S.loop, UV_RUN_NOWAIT);
	return ok;
}

static bool never(void *arg)
{
	(void)arg;
	return false;
}

static bool nonzero(void *arg)
{
	return *(int *)arg != 0;
}

static void bump(void *arg)
{
	(*(int *)arg)++;
}

static bool is_ready(void *q)
{
	return jobq_ready(q);
}

/* ---- the verifier: precheck, engine, a resolver on 127.0.0.1 -------------- */

static void stack_new(bool silent_dns)
{
	fixture_stack_start(&STACK, &S.loop, silent_dns, 3000, 0);
}

static void on_engine_closed(void *data)
{
	(void)data;
	verifier_free(S.ver);
	resolver_close(S.res, bump, &S.closed);
}

static void stack_free(void)
{
	verifier_close(S.ver);
	engine_close(S.eng, on_engine_closed, NULL);
	ck_assert(run_until(nonzero, &S.closed, WAIT_MS));
	lists_release(&S.lists);
	if (S.dns_fd >= 0)
		close(S.dns_fd);
}

/* loop_end - every handle closed: nothing left behind. */
static void loop_end(void)
{
	run_until(never, NULL, 20);
	ck_assert_int_eq(uv_loop_close(&S.loop), 0);
}

/* ---- the queue and its calls ----------------------------------------------- */

static struct jobq *queue_new(struct verifier *v, unsigned claim_ms,
			      unsigned max_jobs, bool wait_ready)
{
	struct jobq_config c;
	struct jobq *q;
	char url[64], err[256];

	memset(&c, 0, sizeof(c));
	snprintf(url, sizeof(url), "redis://127.0.0.1:%u", port);
	c.redis_url = url;
	c.timeout_ms = 500;
	c.max_rows = 100;
	c.max_jobs_per_owner = max_jobs;
	c.retention_ms = 60000;
	c.claim_timeout_ms = claim_ms;
	job_config_defaults(&c.job);
	ck_assert_msg(jobq_new(&S.loop, &c, v, &q, err, sizeof(err)) == 0, "%s",
		      err);
	if (wait_ready)
		ck_assert(run_until(is_ready, q, WAIT_MS));
	return q;
}

static void queue_close(struct jobq *q)
{
	int closed = 0;

	jobq_close(q, bump, &closed);
	ck_assert(run_until(nonzero, &closed, WAIT_MS));
}

/* An answer; seq orders the callbacks against jobq_close()'s. */
static int seq;
struct ans {
	int n, err, seq;
	char id[JOBSTORE_ID_LEN + 1];
	bool deleted;
	struct jobstore_status st;
	struct jobq_reader *rd;
};

static void answer(struct ans *a, int err)
{
	a->n++;
	a->err = err;
	a->seq = ++seq;
}

static void on_create(void *d, int err, const char *id)
{
	answer(d, err);
	if (id)
		snprintf(((struct ans *)d)->id, JOBSTORE_ID_LEN + 1, "%s", id);
}

static void on_status(void *d, int err, const struct jobstore_status *st)
{
	answer(d, err);
	if (st)
		((struct ans *)d)->st = *st;
}

static void on_cancel(void *d, int err, bool deleted)
{
	answer(d, err);
	((struct ans *)d)->deleted = deleted;
}

static void on_reader(void *d, int err, struct jobq_reader *rd)
{
	answer(d, err);
	((struct ans *)d)->rd = rd;
}

static bool answered(void *d)
{
	return ((struct ans *)d)->n > 0;
}

/* waited - a call that returned @rc and answers into @a: its one answer. */
static struct ans waited(int rc, struct ans *a)
{
	ck_assert_int_eq(rc, 0);
	ck_assert(run_until(answered, a, WAIT_MS));
	run_until(never, NULL, 10); /* a second answer would show */
	ck_assert_int_eq(a->n, 1);
	return *a;
}

static struct ans create(struct jobq *q, const char *owner,
			 const struct jobstore_row *rows, size_t n)
{
	struct ans a = {0};
	return waited(jobq_create(q, owner, strlen(owner), "email", 5, rows, n,
				  on_create, &a, NULL),
		      &a);
}

static struct ans status(struct jobq *q, const char *id, const char *owner)
{
	struct ans a = {0};
	return waited(
	    jobq_status(q, id, owner, strlen(owner), on_status, &a, NULL), &a);
}

static struct ans cancel(struct jobq *q, const char *id, const char *owner)
{
	struct ans a = {0};
	return waited(
	    jobq_cancel(q, id, owner, strlen(owner), on_cancel, &a, NULL), &a);
}

static struct ans reader(struct jobq *q, const char *id, const char *owner,
			 enum jobstore_format f)
{
	struct ans a = {0};
	return waited(jobq_reader_new(q, id, owner, strlen(owner), f, on_reader,
				      &a, NULL),
		      &a);
}

static void wait_done(struct jobq *q, const char *id, const char *owner)
{
	for (int i = 0; i < WAIT_MS / 50; i++) {
		if (status(q, id, owner).st.state == JOBSTORE_DONE)
			return;
		run_until(never, NULL, 50);
	}
	ck_abort_msg("job %s not done", id);
}

/* read_all - job @id's results through jobq_read() in odd-sized pieces
 * (rows cut anywhere), waiting for each wake; the caller frees. */
static char *read_all(struct jobq *q, const char *id, const char *owner,
		      enum jobstore_format f)
{
	enum { PIECE = 37, CAP = 65536 };
	struct ans a = reader(q, id, owner, f);
	char *out = malloc(CAP);
	size_t len = 0;
	int w = 0;

	ck_assert_int_eq(a.err, 0);
	ck_assert_ptr_nonnull(a.rd);
	for (;;) {
		long n = jobq_read(a.rd, out + len, PIECE, bump, &w);
		if (n == JOBQ_AGAIN) {
			ck_assert(run_until(nonzero, &w, WAIT_MS));
			ck_assert_int_eq(w, 1);
			w = 0;
			continue;
		}
		ck_assert_int_ge(n, 0);
		ck_assert_int_le(n, PIECE);
		if (n == 0)
			break;
		len += (size_t)n;
		ck_assert_uint_lt(len + PIECE, CAP);
	}
	out[len] = '\0';
	jobq_reader_free(a.rd);
	return out;
}

/* ---- rows ----------------------------------------------------------------- */

#define DNS ",unknown,dns_error,,,false,false,false,,,,\n"
#define NO_AT                                                                  \
	",undeliverable,invalid_syntax,address has no "                        \
	"@,,false,false,false,,,,\n"

static struct verdict bad; /* a malformed line's: answered at creation */

/* rows - @n rows of @in; NULL: the row "broken", answered already. */
static void rows(struct jobstore_row *r, const char *const *in, size_t n)
{
	verdict_init(&bad, "broken", 6);
	verdict_set(&bad, REASON_INVALID_SYNTAX);
	snprintf(bad.message, sizeof(bad.message), "address has no @");
	bad.checked_at = (int64_t)time(NULL);
	for (size_t i = 0; i < n; i++) {
		const char *s = in[i] ? in[i] : "broken";
		r[i] = (struct jobstore_row){s, strlen(s), in[i],
					     in[i] ? strlen(s) : 0,
					     in[i] ? NULL : &bad};
	}
}

/* ---- 1: create, status, results ------------------------------------------- */

static const char *const in1[] = {
    "ann@one.example", "bob@two.example", "ann@ONE.example", NULL,
    "bob@two.example", "Ann@one.example", "nobody"};
#define N1 (sizeof(in1) / sizeof(*in1))
static const char csv1[] =
    "email," CSV_VERDICT_COLUMNS "\n"
    "ann@one.example" DNS "bob@two.example" DNS "ann@ONE.example" DNS
    "broken" NO_AT "bob@two.example" DNS "Ann@one.example" DNS "nobody" NO_AT;
/* NDJSON: the reason of each row, in order */
static const char *const reason1[N1] = {
    "dns_error", "dns_error", "dns_error",     "invalid_syntax",
    "dns_error", "dns_error", "invalid_syntax"};

START_TEST(create_status_and_results_in_order)
{
	struct jobstore_row r[N1];
	struct jobq_stats qs;
	char *text, *line, *next;
	size_t i = 0;

	server_pid = fixture_redis_start(port);
	stack_new(false);
	struct jobq *q = queue_new(S.ver, 60000, 4, true);
	rows(r, in1, N1);
	struct ans c = create(q, "key-one", r, N1);
	ck_assert_int_eq(c.err, 0);
	ck_assert_uint_eq(strlen(c.id), JOBSTORE_ID_LEN);
	/* the repeats are counted at creation (the domain's case aside) */
	struct ans s = status(q, c.id, "key-one");
	ck_assert_int_eq(s.err, 0);
	ck_assert_str_eq(s.st.id, c.id);
	ck_assert_uint_eq(s.st.total, N1);
	ck_assert_uint_eq(s.st.duplicates, 2);
	ck_assert_int_gt(s.st.created_at, 0);
	wait_done(q, c.id, "key-one");
	s = status(q, c.id, "key-one");
	ck_assert_int_eq(s.st.state, JOBSTORE_DONE);
	ck_assert_uint_eq(s.st.total, N1);
	ck_assert_uint_eq(s.st.done, N1);
	ck_assert_uint_eq(s.st.duplicates, 2);
	ck_assert_uint_eq(s.st.counts[VERDICT_UNKNOWN], 5);
	ck_assert_uint_eq(s.st.counts[VERDICT_UNDELIVERABLE], 2);
	ck_assert_uint_eq(s.st.counts[VERDICT_DELIVERABLE], 0);
	ck_assert_uint_eq(s.st.counts[VERDICT_RISKY], 0);
	ck_assert_int_eq(s.st.eta_s, 0);
	ck_assert_int_ge(s.st.finished_at, s.st.created_at);

	text = read_all(q, c.id, "key-one", JOBSTORE_CSV);
	ck_assert_str_eq(text, csv1);
	free(text);
	text = read_all(q, c.id, "key-one", JOBSTORE_NDJSON);
	for (line = text; *line; line = next + 1, i++) {
		json_error_t je;
		next = strchr(line, '\n');
		ck_assert_ptr_nonnull(next);
		ck_assert_uint_lt(i, N1);
		json_t *o = json_loadb(line, (size_t)(next - line), 0, &je);
		ck_assert_msg(o != NULL, "row %zu: %s", i, je.text);
		ck_assert_int_eq(json_integer_value(json_object_get(o, "row")),
				 (json_int_t)i);
		ck_assert_str_eq(json_string_value(json_object_get(o, "email")),
				 in1[i] ? in1[i] : "broken");
		ck_assert_str_eq(
		    json_string_value(json_object_get(o, "reason")),
		    reason1[i]);
		json_decref(o);
	}
	ck_assert_uint_eq(i, N1);
	free(text);
	jobq_get_stats(q, &qs);
	ck_assert_uint_eq(qs.chunks_taken, 1); /* 6 rows: one chunk */
	ck_assert_uint_eq(qs.chunks_done, 1);
	ck_assert_uint_eq(qs.rows_stored, N1 - 1);
	queue_close(q);
	stack_free();
	loop_end();
}
END_TEST

/* ---- 2: owners ------------------------------------------------------------- */

static const char *const two[] = {"ann@one.example", "bob@two.example"};
/* ids refused before any command: not 32 lower-case hex digits */
static const char *const bad_ids[] = {"",
				      "abc",
				      "0000000000000000000000000000000",
				      "000000000000000000000000000000000",
				      "ABCDEF00000000000000000000000000",
				      "g0000000000000000000000000000000",
				      "../00000000000000000000000000000"};

START_TEST(another_owner_s_job_is_not_found)
{
	struct jobstore_row r[2];
	struct ans a = {0};

	server_pid = fixture_redis_start(port);
	struct jobq *q = queue_new(NULL, 60000, 4, true);
	rows(r, two, 2);
	struct ans c = create(q, "key-one", r, 2);
	ck_assert_int_eq(c.err, 0);
	ck_assert_int_eq(status(q, c.id, "key-two").err, JOBSTORE_NOT_FOUND);
	ck_assert_int_eq(cancel(q, c.id, "key-two").err, JOBSTORE_NOT_FOUND);
	struct ans rd = reader(q, c.id, "key-two", JOBSTORE_CSV);
	ck_assert_int_eq(rd.err, JOBSTORE_NOT_FOUND);
	ck_assert_ptr_null(rd.rd);
	ck_assert_int_eq(status(q, NO_JOB, "key-one").err, JOBSTORE_NOT_FOUND);
	/* the owner's job is untouched by the other's cancel */
	struct ans s = status(q, c.id, "key-one");
	ck_assert_int_eq(s.err, 0);
	ck_assert_int_eq(s.st.state, JOBSTORE_QUEUED);
	ck_assert_uint_eq(s.st.total, 2);
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(*bad_ids); i++) {
		ck_assert_int_eq(jobq_status(q, bad_ids[i], "key-one", 7,
					     on_status, &a, NULL),
				 JOBSTORE_NOT_FOUND);
		ck_assert_int_eq(jobq_cancel(q, bad_ids[i], "key-one", 7,
					     on_cancel, &a, NULL),
				 JOBSTORE_NOT_FOUND);
		ck_assert_int_eq(jobq_reader_new(q, bad_ids[i], "key-one", 7,
						 JOBSTORE_CSV, on_reader, &a,
						 NULL),
				 JOBSTORE_NOT_FOUND);
	}
	run_until(never, NULL, 50);
	ck_assert_int_eq(a.n, 0);
	queue_close(q);
	loop_end();
}
END_TEST

/* ---- 3, 4: the owner's limit; cancel ------------------------------------------- */

START_TEST(one_job_per_owner_until_cancelled)
{
	struct jobstore_row r[2];

	server_pid = fixture_redis_start(port);
	struct jobq *q = queue_new(NULL, 60000, 1, true); /* no worker */
	rows(r, two, 2);
	struct ans a = create(q, "key-one", r, 2);
	ck_assert_int_eq(a.err, 0);
	struct ans b = create(q, "key-one", r, 2);
	ck_assert_int_eq(b.err, JOBSTORE_TOO_MANY);
	ck_assert_str_eq(b.id, "");
	ck_assert_int_eq(create(q, "key-two", r, 2).err, 0); /* per owner */
	struct ans x = cancel(q, a.id, "key-one");
	ck_assert_int_eq(x.err, 0);
	ck_assert(!x.deleted);
	struct ans c = create(q, "key-one", r, 2);
	ck_assert_int_eq(c.err, 0);
	ck_assert_str_ne(c.id, a.id);
	queue_close(q);
	loop_end();
}
END_TEST

START_TEST(cancel_a_queued_job_then_forget_it)
{
	struct jobstore_row r[2];
	char key[80];

	server_pid = fixture_redis_start(port);
	struct jobq *q = queue_new(NULL, 60000, 4, true);
	rows(r, two, 2);
	struct ans c = create(q, "key-one", r, 2);
	ck_assert_int_eq(c.err, 0);
	ck_assert_int_eq(status(q, c.id, "key-one").st.state, JOBSTORE_QUEUED);
	struct ans x = cancel(q, c.id, "key-one");
	ck_assert_int_eq(x.err, 0);
	ck_assert(!x.deleted);
	struct ans s = status(q, c.id, "key-one");
	ck_assert_int_eq(s.err, 0);
	ck_assert_int_eq(s.st.state, JOBSTORE_CANCELLED);
	ck_assert_uint_eq(s.st.done, 0);
	ck_assert_int_gt(s.st.finished_at, 0);
	x = cancel(q, c.id, "key-one");
	ck_assert_int_eq(x.err, 0);
	ck_assert(x.deleted);
	ck_assert_int_eq(status(q, c.id, "key-one").err, JOBSTORE_NOT_FOUND);
	ck_assert_int_eq(cancel(q, c.id, "key-one").err, JOBSTORE_NOT_FOUND);
	redisContext *rc = fixture_redis_open(port);
	snprintf(key, sizeof(key), "EXISTS rcptd:v1:job:%s", c.id);
	ck_assert_int_eq(sync_int(rc, key), 0);
	redisFree(rc);
	queue_close(q);
	loop_end();
}
END_TEST

/* ---- 5: exactly once after a takeover ------------------------------------------ */

static const char *const in5[] = {"a@three.example", NULL, "b@three.example",
				  "c@four.example"};
#define N5 (sizeof(in5) / sizeof(*in5))

static void on_stored(void *d, enum redis_conn_status s, const redisReply *r)
{
	answer(d, s == REDIS_CONN_OK && r->type == REDIS_REPLY_INTEGER
		      ? (int)r->integer
		      : -100);
}

/* store_one - row @index of job @id gets @v as a worker stores it (the
 * store script through jobq__store), as a worker that dies later did. */
static void store_one(struct jobq *q, const char *id, const char *owner,
		      uint64_t index, const char *input, struct verdict *v)
{
	char own[JOBQ_OWNER_HEX + 1], *json = verdict_json_dumps(v), *rec;
	struct jobrec_result res = {input,	   strlen(input), input,
				    strlen(input), json,	  strlen(json)};
	unsigned char st = (unsigned char)v->status;
	size_t len;
	struct ans a = {0};

	snprintf(own, sizeof(own), "%016" PRIx64,
		 htab_hash(owner, strlen(owner)));
	rec = malloc(jobrec_result_size(&res));
	len = jobrec_result_encode(&res, rec);
	a = waited(jobq__store(q, id, own, true, 1, &index, &st, &rec, &len,
			       on_stored, &a),
		   &a);
	ck_assert_int_eq(a.err, 0); /* stored; the job not done */
	free(rec);
	free(json);
}

START_TEST(a_dead_worker_s_chunk_is_taken_over_once)
{
	struct jobstore_row r[N5];
	struct jobq_stats qs;
	struct verdict v;
	redisReply *rep;

	server_pid = fixture_redis_start(port);
	struct jobq *q0 = queue_new(NULL, 60000, 4, true);
	rows(r, in5, N5);
	struct ans c = create(q0, "key-one", r, N5);
	ck_assert_int_eq(c.err, 0);
	/* a worker takes the chunk, stores row 0 and dies without a word */
	verdict_init(&v, in5[0], strlen(in5[0]));
	verdict_set(&v, REASON_ACCEPTED);
	store_one(q0, c.id, "key-one", 0, in5[0], &v);
	queue_close(q0);
	redisContext *rc = fixture_redis_open(port);
	rep = redisCommand(rc, "XGROUP CREATE rcptd:v1:jobs workers 0");
	ck_assert(rep && rep->type == REDIS_REPLY_STATUS);
	freeReplyObject(rep);
	rep = redisCommand(rc, "XREADGROUP GROUP workers dead COUNT 1 STREAMS "
			       "rcptd:v1:jobs >");
	ck_assert(rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1);
	ck_assert_uint_eq(rep->element[0]->element[1]->elements, 1);
	freeReplyObject(rep);
	ck_assert_int_eq(sync_int(rc, "XPENDING rcptd:v1:jobs workers"), 1);

	stack_new(false);
	struct jobq *q = queue_new(S.ver, 300, 4, true);
	wait_done(q, c.id, "key-one");
	struct ans s = status(q, c.id, "key-one");
	ck_assert_uint_eq(s.st.done, N5);
	ck_assert_uint_eq(s.st.counts[VERDICT_DELIVERABLE], 1);
	ck_assert_uint_eq(s.st.counts[VERDICT_UNKNOWN], 2);
	ck_assert_uint_eq(s.st.counts[VERDICT_UNDELIVERABLE], 1);
	/* checked as soon as the chunk is let go (XACK and XDEL answered):
	 * before any XAUTOCLAIM could clean a deleted entry's claim */
	for (int i = 0; i < 400 && (jobq_get_stats(q, &qs), qs.chunks_held);
	     i++)
		run_until(never, NULL, 5);
	ck_assert_uint_eq(qs.chunks_held, 0);
	ck_assert_int_eq(sync_int(rc, "XPENDING rcptd:v1:jobs workers"), 0);
	ck_assert_int_eq(sync_int(rc, "XLEN rcptd:v1:jobs"), 0);
	redisFree(rc);
	jobq_get_stats(q, &qs);
	ck_assert_uint_eq(qs.chunks_claimed, 1);
	ck_assert_uint_eq(qs.chunks_done, 1);
	ck_assert_uint_eq(qs.rows_stored, N5 - 2); /* row 0 was not */
	/* the first worker was only slow: its late result counts nothing */
	verdict_set(&v, REASON_MAILBOX_NOT_FOUND);
	store_one(q, c.id, "key-one", 2, in5[2], &v);
	s = status(q, c.id, "key-one");
	ck_assert_int_eq(s.st.state, JOBSTORE_DONE);
	ck_assert_uint_eq(s.st.done, N5);
	ck_assert_uint_eq(s.st.counts[VERDICT_UNDELIVERABLE], 1);
	char *text = read_all(q, c.id, "key-one", JOBSTORE_CSV);
	ck_assert_str_eq(text, "email," CSV_VERDICT_COLUMNS "\n"
			       "a@three.example,deliverable,accepted,,,false,"
			       "false,false,,,,\n"
			       "broken" NO_AT "b@three.example" DNS
			       "c@four.example" DNS);
	free(text);
	queue_close(q);
	stack_free();
	loop_end();
}
END_TEST

/* ---- 6: Redis down; jobq_op_cancel ----------------------------------------------- */

START_TEST(redis_down_refuses_and_op_cancel_silences)
{
	struct jobstore_row r[2];
	struct ans a = {0}, b = {0};
	struct jobq_op *op;

	rows(r, two, 2);
	struct jobq *q = queue_new(NULL, 60000, 4, false); /* nothing there */
	run_until(never, NULL, 200);
	ck_assert(!jobq_ready(q));
	ck_assert_int_eq(
	    jobq_create(q, "k", 1, "email", 5, r, 2, on_create, &a, NULL),
	    JOBSTORE_UNAVAILABLE);
	ck_assert_int_eq(jobq_status(q, NO_JOB, "k", 1, on_status, &a, NULL),
			 JOBSTORE_UNAVAILABLE);
	/* an id that cannot be is refused before Redis is even asked */
	ck_assert_int_eq(jobq_status(q, "nope", "k", 1, on_status, &a, NULL),
			 JOBSTORE_NOT_FOUND);
	run_until(never, NULL, 50);
	ck_assert_int_eq(a.n, 0);
	queue_close(q);

	server_pid = fixture_redis_start(port);
	q = queue_new(NULL, 60000, 4, true);
	ck_assert_int_eq(
	    jobq_create(q, "k", 1, "email", 5, r, 2, on_create, &a, &op), 0);
	jobq_op_cancel(op);
	ck_assert_int_eq(jobq_status(q, NO_JOB, "k", 1, on_status, &b, &op), 0);
	jobq_op_cancel(op);
	run_until(never, NULL, 300);
	ck_assert_int_eq(a.n, 0);
	ck_assert_int_eq(b.n, 0);
	ck_assert_int_eq(
	    jobq_create(q, "k", 1, "email", 5, r, 2, on_create, &a, &op), 0);
	jobq_op_cancel(op); /* then closed with it in flight */
	queue_close(q);
	ck_assert_int_eq(a.n, 0);
	loop_end();
}
END_TEST

/* ---- 7: jobq_close with work in flight --------------------------------------------- */

static const char *const pre3[] = {NULL, NULL, NULL};

static void on_closed_seq(void *d)
{
	*(int *)d = ++seq;
}

START_TEST(close_answers_what_is_in_flight)
{
	struct jobstore_row r[3];
	struct ans a[5] = {{0}};
	struct jobq_op *op;
	char buf[4096];
	int w = 0, closed = 0;

	server_pid = fixture_redis_start(port);
	struct jobq *q = queue_new(NULL, 60000, 4, true);
	rows(r, pre3, 3); /* answered at creation: done without a worker */
	struct ans c = create(q, "key-one", r, 3);
	ck_assert_int_eq(c.err, 0);
	ck_assert_int_eq(status(q, c.id, "key-one").st.state, JOBSTORE_DONE);
	struct ans rd = reader(q, c.id, "key-one", JOBSTORE_CSV);
	ck_assert_int_eq(rd.err, 0);
	ck_assert_int_eq(jobq_read(rd.rd, buf, sizeof(buf), bump, &w),
			 (long)strlen("email," CSV_VERDICT_COLUMNS "\n"));
	ck_assert_int_eq(jobq_read(rd.rd, buf, sizeof(buf), bump, &w),
			 JOBQ_AGAIN);

	ck_assert_int_eq(jobq_create(q, "key-one", 7, "email", 5, r, 3,
				     on_create, &a[0], NULL),
			 0);
	ck_assert_int_eq(
	    jobq_status(q, c.id, "key-one", 7, on_status, &a[1], NULL), 0);
	ck_assert_int_eq(
	    jobq_cancel(q, NO_JOB, "key-one", 7, on_cancel, &a[2], NULL), 0);
	ck_assert_int_eq(jobq_reader_new(q, c.id, "key-one", 7, JOBSTORE_NDJSON,
					 on_reader, &a[3], NULL),
			 0);
	ck_assert_int_eq(
	    jobq_status(q, c.id, "key-one", 7, on_status, &a[4], &op), 0);
	jobq_op_cancel(op);
	jobq_close(q, on_closed_seq, &closed);
	ck_assert(run_until(nonzero, &closed, WAIT_MS));
	for (int i = 0; i < 4; i++) {
		ck_assert_msg(a[i].n == 1, "op %d: %d answers", i, a[i].n);
		ck_assert_int_eq(a[i].err, JOBSTORE_UNAVAILABLE);
		ck_assert_int_lt(a[i].seq, closed);
	}
	ck_assert_ptr_null(a[3].rd);
	ck_assert_int_eq(a[4].n, 0);
	ck_assert_int_eq(w, 1); /* the reader's block failed */
	ck_assert_int_eq(jobq_read(rd.rd, buf, sizeof(buf), bump, &w), -1);
	jobq_reader_free(rd.rd);
	loop_end();
}
END_TEST

/* A worker closed while it holds a chunk whose rows wait at the verifier
 * (a DNS that never answers): everything is released (ASan). */
START_TEST(close_a_worker_holding_a_chunk)
{
	struct jobstore_row r[2];
	struct jobq_stats qs = {0};

	server_pid = fixture_redis_start(port);
	stack_new(true);
	struct jobq *q = queue_new(S.ver, 60000, 4, true);
	rows(r, two, 2);
	struct ans c = create(q, "key-one", r, 2);
	ck_assert_int_eq(c.err, 0);
	for (int i = 0; i < 100 && qs.chunks_held == 0; i++) {
		run_until(never, NULL, 20);
		jobq_get_stats(q, &qs);
	}
	ck_assert_uint_eq(qs.chunks_held, 1);
	run_until(never, NULL, 100); /* the rows go to the verifier */
	struct ans s = status(q, c.id, "key-one");
	ck_assert_uint_eq(s.st.done, 0);
	queue_close(q);
	stack_free();
	loop_end();
}
END_TEST

Suite *jobq_suite(void)
{
	Suite *s = suite_create("jobq");
	TCase *t = tcase_create("redis");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 30);
	tcase_add_test(t, create_status_and_results_in_order);
	tcase_add_test(t, another_owner_s_job_is_not_found);
	tcase_add_test(t, one_job_per_owner_until_cancelled);
	tcase_add_test(t, cancel_a_queued_job_then_forget_it);
	tcase_add_test(t, a_dead_worker_s_chunk_is_taken_over_once);
	tcase_add_test(t, redis_down_refuses_and_op_cancel_silences);
	tcase_add_test(t, close_answers_what_is_in_flight);
	tcase_add_test(t, close_a_worker_holding_a_chunk);
	suite_add_tcase(s, t);
	return s;
}
