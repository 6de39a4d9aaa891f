/* test_job - the in-process job runner (daemon/job.h) over the real
 * verifier and probe engine, against a scripted SMTP server on loopback.
 *
 * Addresses are literals, user@[127.0.0.1], which the engine probes at
 * the literal's address (the network policy of each test allows
 * 127.0.0.0/8, as --allow-net does) on the port of the test's server:
 * no DNS, no address beyond loopback. The server, in threads of its
 * own, answers RCPT by the local part:
 *   ok*      250 2.1.5 Recipient OK
 *   nouser*  550 5.1.1 User unknown
 *   grey*    450 4.2.0 Greylisted, try again later -- the first time per
 *            address; 250 afterwards
 *   greyN*   always 450 (greylisted for ever)
 * and counts the RCPTs per address, so that "verified once" can be
 * asserted. The job's loop runs on the test's thread. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "core/lists.h"
#include "core/netpolicy.h"
#include "daemon/engine.h"
#include "daemon/job.h"
#include "daemon/resolver.h"
#include "daemon/verifier.h"

Suite *job_suite(void);

/* ---- the scripted SMTP server ---------------------------------------------- */

#define SMTP_ADDRS_MAX 256

static struct {
	int fd;
	unsigned port;
	pthread_mutex_t mu;
	char addr[SMTP_ADDRS_MAX][128];
	unsigned rcpts[SMTP_ADDRS_MAX];
	unsigned naddr;
} M = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* rcpt_count - RCPTs seen for @a, then +@add. */
static unsigned rcpt_count(const char *a, unsigned add)
{
	unsigned n = 0, i;

	pthread_mutex_lock(&M.mu);
	for (i = 0; i < M.naddr && strcmp(M.addr[i], a) != 0; i++)
		;
	if (i == M.naddr && add && M.naddr < SMTP_ADDRS_MAX)
		snprintf(M.addr[M.naddr++], sizeof(M.addr[0]), "%s", a);
	if (i < M.naddr) {
		M.rcpts[i] += add;
		n = M.rcpts[i];
	}
	pthread_mutex_unlock(&M.mu);
	return n;
}

static void say(int fd, const char *s)
{
	ssize_t n = send(fd, s, strlen(s), MSG_NOSIGNAL);
	(void)n;
}

static const char *rcpt_reply(const char *line)
{
	char a[128];
	const char *lt = strchr(line, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	unsigned seen;

	if (lt == NULL || gt == NULL || (size_t)(gt - lt) >= sizeof(a))
		return "501 5.1.3 Bad recipient address syntax\r\n";
	snprintf(a, sizeof(a), "%.*s", (int)(gt - lt - 1), lt + 1);
	seen = rcpt_count(a, 1);
	if (strncmp(a, "ok", 2) == 0)
		return "250 2.1.5 Recipient OK\r\n";
	if (strncmp(a, "nouser", 6) == 0)
		return "550 5.1.1 <x>: User unknown\r\n";
	if (strncmp(a, "greyN", 5) == 0 ||
	    (strncmp(a, "grey", 4) == 0 && seen == 1))
		return "450 4.2.0 Greylisted, try again later\r\n";
	return "250 2.1.5 Recipient OK\r\n";
}

static void *smtp_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];
	size_t have = 0;

	say(fd, "220 test.example ESMTP\r\n");
	for (;;) {
		char *eol;
		ssize_t n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		while ((eol = strstr(buf, "\r\n")) != NULL) {
			*eol = '\0';
			if (strncasecmp(buf, "EHLO", 4) == 0)
				say(fd, "250 test.example\r\n");
			else if (strncasecmp(buf, "HELO", 4) == 0 ||
				 strncasecmp(buf, "MAIL", 4) == 0 ||
				 strncasecmp(buf, "RSET", 4) == 0 ||
				 strncasecmp(buf, "NOOP", 4) == 0)
				say(fd, "250 2.0.0 OK\r\n");
			else if (strncasecmp(buf, "RCPT", 4) == 0)
				say(fd, rcpt_reply(buf));
			else if (strncasecmp(buf, "QUIT", 4) == 0) {
				say(fd, "221 2.0.0 Bye\r\n");
				close(fd);
				return NULL;
			} else
				say(fd, "502 5.5.2 Not implemented\r\n");
			have -= (size_t)(eol + 2 - buf);
			memmove(buf, eol + 2, have + 1);
		}
	}
	close(fd);
	return NULL;
}

static void *smtp_main(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_t t;
		int c = accept(M.fd, NULL, NULL);
		if (c < 0)
			return NULL;
		pthread_create(&t, NULL, smtp_conn, (void *)(intptr_t)c);
		pthread_detach(t);
	}
}

static void smtp_start(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	pthread_t t;

	M.fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(M.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(M.fd, 64), 0);
	getsockname(M.fd, (struct sockaddr *)&sa, &len);
	M.port = ntohs(sa.sin_port);
	pthread_create(&t, NULL, smtp_main, NULL);
	pthread_detach(t);
}

/* ---- the job under test ---------------------------------------------------------- */

#define ROWS_MAX 4096

struct T {
	uv_loop_t loop;
	struct lists lists;
	struct netpolicy policy;
	struct resolver *res;
	struct engine *eng;
	struct verifier *ver;
	struct job *job;
	uv_timer_t guard;
	/* the rows */
	const char *const *in;
	unsigned nin, next;
	unsigned hold_after; /* pull says "none now" from this row on */
	bool hold;
	/* what came back */
	unsigned results[ROWS_MAX];
	struct verdict v[ROWS_MAX];
	unsigned nresults, done_calls, max_in_flight;
	unsigned max_in_flight_cold; /* before the first result */
	bool cancel_at_first;
};

static struct T T;

static int t_pull(void *data, struct job_row *row)
{
	struct T *t = data;
	struct job_progress p;

	job_get_progress(t->job, &p);
	if (p.in_flight > t->max_in_flight)
		t->max_in_flight = p.in_flight;
	if (t->nresults == 0 && p.in_flight > t->max_in_flight_cold)
		t->max_in_flight_cold = p.in_flight;
	if (t->next == t->nin)
		return -1;
	if (t->hold && t->next >= t->hold_after)
		return 0;
	row->index = t->next;
	row->input = t->in[t->next];
	row->len = strlen(t->in[t->next]);
	t->next++;
	return 1;
}

static void t_result(void *data, uint64_t index, const struct verdict *v)
{
	struct T *t = data;

	ck_assert_uint_lt(index, t->nin);
	t->results[index]++;
	t->v[index] = *v;
	t->nresults++;
	if (t->hold && t->nresults == t->hold_after) {
		t->hold = false; /* the owner has room again */
		job_wake(t->job);
	}
	if (t->cancel_at_first)
		job_cancel(t->job);
}

static void t_done(void *data)
{
	struct T *t = data;

	t->done_calls++;
	uv_stop(&t->loop);
}

static void setup(struct job_config *jc)
{
	struct resolver_config rc;
	struct engine_config ec;
	struct job_ops ops = {t_pull, t_result, t_done};
	const char *servers[] = {"127.0.0.1:9"};
	char err[256];

	smtp_start();
	ck_assert_int_eq(uv_loop_init(&T.loop), 0);
	ck_assert_int_eq(lists_init_embedded(&T.lists, err, sizeof(err)), 0);
	netpolicy_init(&T.policy);
	ck_assert_int_eq(
	    netpolicy_allow_cidr(&T.policy, "127.0.0.0/8", err, sizeof(err)),
	    0);
	resolver_config_defaults(&rc);
	rc.servers = servers;
	rc.server_count = 1;
	ck_assert_int_eq(resolver_new(&T.loop, &rc, &T.res, err, sizeof(err)),
			 0);
	engine_config_defaults(&ec);
	ec.dialog.helo = "verifier.test";
	ec.dialog.mail_from = "";
	ec.port = (uint16_t)M.port;
	ec.policy = &T.policy;
	ec.resolver = T.res;
	ck_assert_msg(engine_new(&T.loop, &ec, &T.eng, err, sizeof(err)) == 0,
		      "%s", err);
	T.ver = verifier_new(T.eng, NULL, &T.lists, 0);
	ck_assert_ptr_nonnull(T.ver);
	ck_assert_int_eq(job_new(&T.loop, T.ver, jc, &ops, &T, &T.job), 0);
}

static void on_engine_closed(void *data)
{
	struct T *t = data;

	verifier_free(t->ver);
	resolver_close(t->res, NULL, NULL);
}

static void on_guard(uv_timer_t *t)
{
	uv_stop(t->loop);
}

/* run - the job until done() (or @limit_ms: a failure). */
static void run(const char *const *in, unsigned n, unsigned limit_ms)
{
	T.in = in;
	T.nin = n;
	uv_timer_init(&T.loop, &T.guard);
	uv_timer_start(&T.guard, on_guard, limit_ms, 0);
	job_start(T.job);
	uv_run(&T.loop, UV_RUN_DEFAULT);
	ck_assert_msg(T.done_calls == 1, "done() ran %u times within %u ms",
		      T.done_calls, limit_ms);
	uv_close((uv_handle_t *)&T.guard, NULL);
}

/* teardown - everything closed, no handle left. */
static void teardown(void)
{
	job_free(T.job);
	verifier_close(T.ver);
	engine_close(T.eng, on_engine_closed, &T);
	uv_run(&T.loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&T.loop), 0);
	lists_release(&T.lists);
}

static struct job_config cfg(unsigned retry_ms, unsigned deadline_ms)
{
	struct job_config jc;

	job_config_defaults(&jc);
	jc.greylist_retry_ms = retry_ms;
	jc.deadline_ms = deadline_ms;
	return jc;
}

#define L    "@[127.0.0.1]"
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* (row, status, reason) */
static const struct {
	const char *in;
	enum verdict_reason reason;
} once[] = {
    {"ok1" L, REASON_ACCEPTED},
    {"nouser1" L, REASON_MAILBOX_NOT_FOUND},
    {"not-an-address", REASON_INVALID_SYNTAX},
    {"ok1" L, REASON_ACCEPTED},
    {"ok2" L, REASON_ACCEPTED},
    {" ok1" L " ", REASON_ACCEPTED}, /* the same address, trimmed */
    {"nouser1" L, REASON_MAILBOX_NOT_FOUND},
    {"a\r\nb" L, REASON_INVALID_SYNTAX},
    {"ok1" L, REASON_ACCEPTED},
    {"", REASON_INVALID_SYNTAX},
};

/* Every row comes back exactly once with its verdict; every distinct
 * address is asked once at the server. */
START_TEST(every_row_once)
{
	struct job_config jc = cfg(0, 0);
	const char *in[N(once)];
	struct job_progress p;

	for (size_t i = 0; i < N(once); i++)
		in[i] = once[i].in;
	setup(&jc);
	run(in, N(once), 3000);
	for (size_t i = 0; i < N(once); i++) {
		ck_assert_msg(T.results[i] == 1, "row %zu: %u results", i,
			      T.results[i]);
		ck_assert_msg(T.v[i].reason == once[i].reason,
			      "row %zu (%s): %s", i, once[i].in,
			      verdict_reason_name(T.v[i].reason));
		ck_assert_int_eq(T.v[i].status,
				 verdict_reason_status(once[i].reason));
	}
	ck_assert_uint_eq(rcpt_count("ok1" L, 0), 1);
	ck_assert_uint_eq(rcpt_count("ok2" L, 0), 1);
	ck_assert_uint_eq(rcpt_count("nouser1" L, 0), 1);
	job_get_progress(T.job, &p);
	ck_assert_uint_eq(p.taken, N(once));
	ck_assert_uint_eq(p.done, N(once));
	ck_assert_uint_eq(p.unique, 6); /* 3 addresses, 3 invalid */
	ck_assert_uint_eq(p.duplicates, 4);
	ck_assert_uint_eq(p.status[VERDICT_DELIVERABLE], 5);
	ck_assert_uint_eq(p.status[VERDICT_UNDELIVERABLE], 5);
	ck_assert_uint_eq(p.reason[REASON_INVALID_SYNTAX], 3);
	ck_assert_uint_eq(p.in_flight, 0);
	teardown();
}
END_TEST

/* A greylisted address is asked again after the delay, and its second
 * answer is the verdict. */
START_TEST(greylist_retried)
{
	struct job_config jc = cfg(300, 60000);
	const char *in[] = {"grey1" L, "ok3" L, "grey1" L};
	struct job_progress p;

	setup(&jc);
	run(in, 3, 3500);
	ck_assert_int_eq(T.v[0].reason, REASON_ACCEPTED);
	ck_assert_int_eq(T.v[1].reason, REASON_ACCEPTED);
	ck_assert_int_eq(T.v[2].reason, REASON_ACCEPTED);
	ck_assert_uint_eq(rcpt_count("grey1" L, 0), 2);
	job_get_progress(T.job, &p);
	ck_assert_uint_eq(p.greylist_retries, 1);
	ck_assert_uint_eq(p.greylist_waiting, 0);
	ck_assert_uint_ge(p.elapsed_ms, 300);
	teardown();
}
END_TEST

/* No retry that would end past the deadline: greylisted is final. */
START_TEST(greylist_deadline)
{
	struct job_config jc = cfg(300, 100);
	const char *in[] = {"grey2" L};

	setup(&jc);
	run(in, 1, 3000);
	ck_assert_int_eq(T.v[0].reason, REASON_GREYLISTED);
	ck_assert_uint_eq(rcpt_count("grey2" L, 0), 1);
	teardown();
}
END_TEST

/* A server that greylists for ever is asked JOB_GREYLIST_TRIES_MAX
 * times in all. */
START_TEST(greylist_tries_bounded)
{
	struct job_config jc = cfg(50, 60000);
	const char *in[] = {"greyN" L};

	setup(&jc);
	run(in, 1, 3500);
	ck_assert_int_eq(T.v[0].reason, REASON_GREYLISTED);
	ck_assert_uint_eq(rcpt_count("greyN" L, 0), JOB_GREYLIST_TRIES_MAX);
	teardown();
}
END_TEST

/* Stopping: a greylisted address waiting for its retry gets its
 * greylisted verdict at once. */
static void on_flush_timer(uv_timer_t *t)
{
	struct job_progress p;

	job_get_progress(T.job, &p);
	if (p.greylist_waiting == 0)
		return; /* not yet answered: look again */
	uv_timer_stop(t);
	job_stop_input(T.job);
	job_flush_greylisted(T.job);
}

START_TEST(greylist_flush)
{
	struct job_config jc = cfg(60000, 3600000);
	const char *in[] = {"grey3" L, "ok4" L};
	uv_timer_t t;

	setup(&jc);
	uv_timer_init(&T.loop, &t);
	uv_timer_start(&t, on_flush_timer, 20, 20);
	run(in, 2, 3000);
	uv_close((uv_handle_t *)&t, NULL);
	ck_assert_int_eq(T.v[0].reason, REASON_GREYLISTED);
	ck_assert_int_eq(T.v[1].reason, REASON_ACCEPTED);
	ck_assert_uint_eq(T.results[0], 1);
	teardown();
}
END_TEST

/* The window bounds the addresses at the verifier. */
START_TEST(window_bound)
{
	struct job_config jc = cfg(0, 0);
	static char buf[40][32];
	const char *in[40];

	for (int i = 0; i < 40; i++) {
		snprintf(buf[i], sizeof(buf[i]), "ok-w%d" L, i);
		in[i] = buf[i];
	}
	jc.window = 3;
	jc.domain_window = 100;
	setup(&jc);
	run(in, 40, 3500);
	ck_assert_uint_le(T.max_in_flight, 3);
	ck_assert_uint_ge(T.max_in_flight, 1);
	ck_assert_uint_eq(T.nresults, 40);
	teardown();
}
END_TEST

/* One domain: a single address until it has answered, then at most its
 * window; every row still comes back. */
START_TEST(domain_slow_start)
{
	struct job_config jc = cfg(0, 0);
	static char buf[60][32];
	const char *in[60];
	struct job_progress p;

	for (int i = 0; i < 60; i++) {
		snprintf(buf[i], sizeof(buf[i]), "%s-d%d" L,
			 i % 3 ? "ok" : "nouser", i);
		in[i] = buf[i];
	}
	jc.domain_window = 4;
	setup(&jc);
	run(in, 60, 3500);
	ck_assert_uint_eq(T.max_in_flight_cold, 1);
	ck_assert_uint_le(T.max_in_flight, 4);
	ck_assert_uint_eq(T.nresults, 60);
	for (int i = 0; i < 60; i++)
		ck_assert_int_eq(T.v[i].reason, i % 3
						    ? REASON_ACCEPTED
						    : REASON_MAILBOX_NOT_FOUND);
	job_get_progress(T.job, &p);
	ck_assert_uint_eq(p.domain_waiting, 0);
	teardown();
}
END_TEST

/* Batching: a cold domain's first window and every batch go to the
 * verifier together (one session's recipients), not one by one. */
START_TEST(domain_batches)
{
	struct job_config jc = cfg(0, 0);
	static char buf[12][32];
	const char *in[12];

	for (int i = 0; i < 12; i++) {
		snprintf(buf[i], sizeof(buf[i]), "%s-b%d" L,
			 i % 4 ? "ok" : "nouser", i);
		in[i] = buf[i];
	}
	jc.first_window = 5;
	jc.batch = 5;
	jc.domain_window = 10;
	setup(&jc);
	run(in, 12, 3500);
	ck_assert_uint_eq(T.max_in_flight_cold, 5);
	ck_assert_uint_le(T.max_in_flight, 10);
	ck_assert_uint_eq(T.nresults, 12);
	for (int i = 0; i < 12; i++) {
		ck_assert_uint_eq(T.results[i], 1);
		ck_assert_int_eq(T.v[i].reason, i % 4
						    ? REASON_ACCEPTED
						    : REASON_MAILBOX_NOT_FOUND);
	}
	teardown();
}
END_TEST

/* Batching with an input that pauses: a part batch does not wait for
 * rows that are not coming; it goes after JOB_BATCH_LINGER_MS. */
START_TEST(part_batch_lingers)
{
	struct job_config jc = cfg(0, 0);
	const char *in[] = {"ok8" L, "ok9" L, "ok10" L, "nouser3" L};

	jc.first_window = 5;
	jc.batch = 5;
	setup(&jc);
	T.hold = true;
	T.hold_after = 2;
	run(in, 4, 3000);
	ck_assert_uint_eq(T.nresults, 4);
	ck_assert_int_eq(T.v[3].reason, REASON_MAILBOX_NOT_FOUND);
	teardown();
}
END_TEST

/* An owner without room says "none now" and wakes the job later. */
START_TEST(pull_pause_wake)
{
	struct job_config jc = cfg(0, 0);
	const char *in[] = {"ok5" L, "ok6" L, "ok7" L, "nouser2" L};

	setup(&jc);
	T.hold = true;
	T.hold_after = 2;
	run(in, 4, 3000);
	ck_assert_uint_eq(T.nresults, 4);
	ck_assert_int_eq(T.v[3].reason, REASON_MAILBOX_NOT_FOUND);
	teardown();
}
END_TEST

/* A repeat after its address is done: answered from the kept verdict;
 * with no room to keep it, asked again. */
START_TEST(dedupe_kept)
{
	struct job_config jc = cfg(0, 0);
	const char *in[] = {"ok8" L, "ok8" L};
	struct job_progress p;

	setup(&jc);
	T.hold = true;
	T.hold_after = 1;
	run(in, 2, 3000);
	ck_assert_uint_eq(rcpt_count("ok8" L, 0), 1);
	job_get_progress(T.job, &p);
	ck_assert_uint_eq(p.duplicates, 1);
	ck_assert_str_eq(T.v[1].email, "ok8" L);
	teardown();
}
END_TEST

START_TEST(dedupe_budget_zero)
{
	struct job_config jc = cfg(0, 0);
	const char *in[] = {"ok9" L, "ok9" L};

	jc.dedupe_bytes = 0;
	setup(&jc);
	T.hold = true;
	T.hold_after = 1;
	run(in, 2, 3000);
	ck_assert_uint_eq(rcpt_count("ok9" L, 0), 2);
	ck_assert_int_eq(T.v[1].reason, REASON_ACCEPTED);
	teardown();
}
END_TEST

/* After job_cancel() no result comes, and done() runs once. */
START_TEST(cancel)
{
	struct job_config jc = cfg(0, 0);
	const char *in[] = {"bad", "ok10" L, "ok11" L, "ok12" L};

	setup(&jc);
	T.cancel_at_first = true;
	run(in, 4, 3000);
	ck_assert_uint_eq(T.nresults, 1);
	ck_assert_uint_eq(T.done_calls, 1);
	teardown();
}
END_TEST

/* (done, rate, total, eta) */
static const struct {
	uint64_t done;
	double rate;
	uint64_t total;
	long eta;
} etas[] = {
    {0, 0.0, 100, -1},	{10, 0.0, 100, -1}, {10, 10.0, 100, 9},
    {10, 3.0, 100, 30}, {100, 5.0, 100, 0}, {120, 5.0, 100, 0},
    {1, 0.5, 3, 4},
};

START_TEST(eta_table)
{
	struct job_progress p = {0};

	p.done = etas[_i].done;
	p.rate = etas[_i].rate;
	ck_assert_int_eq(job_eta_s(&p, etas[_i].total), etas[_i].eta);
}
END_TEST

Suite *job_suite(void)
{
	Suite *s = suite_create("job");
	TCase *tc;

	tc = tcase_create("rows");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, every_row_once);
	tcase_add_test(tc, window_bound);
	tcase_add_test(tc, domain_slow_start);
	tcase_add_test(tc, domain_batches);
	tcase_add_test(tc, part_batch_lingers);
	tcase_add_test(tc, pull_pause_wake);
	tcase_add_test(tc, cancel);
	suite_add_tcase(s, tc);

	tc = tcase_create("duplicates");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, dedupe_kept);
	tcase_add_test(tc, dedupe_budget_zero);
	suite_add_tcase(s, tc);

	tc = tcase_create("greylisting");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, greylist_retried);
	tcase_add_test(tc, greylist_deadline);
	tcase_add_test(tc, greylist_tries_bounded);
	tcase_add_test(tc, greylist_flush);
	suite_add_tcase(s, tc);

	tc = tcase_create("progress");
	tcase_add_loop_test(tc, eta_table, 0, (int)N(etas));
	suite_add_tcase(s, tc);
	return s;
}
