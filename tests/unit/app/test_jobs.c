/* test_jobs - the jobs API end to end on loopback, in the test's process
 * (POST/GET/DELETE /v1/jobs, api/jobs_route.c over daemon/jobstore.c).
 *
 * As test_http.c: the real stack (http, verifier, engine, resolver, a
 * job store bound to the loop) on 127.0.0.1 and a free port, its loop on
 * a thread of its own; the test speaks HTTP/1.0 over raw sockets (one
 * request a connection, the answer read to the end). Invalid addresses
 * are answered by the precheck, without the network; valid ones go to a
 * resolver that asks 127.0.0.1 only: a UDP socket of the test that never
 * answers, so their jobs stay running as long as a test needs. */
#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#include "api/http.h"
#include "api/jobs_route.h"
#include "core/csv.h"
#include "core/lists.h"
#include "core/netpolicy.h"
#include "daemon/engine.h"
#include "daemon/jobstore.h"
#include "daemon/resolver.h"
#include "daemon/verifier.h"
#include "tests/unit/app/fixture_stack.h"

Suite *jobs_suite(void);

/* ---- the server under test ------------------------------------------- */

static struct {
	pthread_t tid;
	uv_loop_t loop;
	uv_async_t ctl;
	struct lists lists;
	struct netpolicy policy;
	struct resolver *res;
	struct engine *eng;
	struct verifier *ver;
	struct metrics *metrics;
	struct http *http;
	struct jobstore *js;
	struct jobs_binding bind;
	unsigned port;
	int dns_fd;
} S;
static const struct fixture_stack STACK = {&S.lists, &S.policy, &S.dns_fd,
					   &S.res,   &S.eng,	&S.ver};

static struct http_config HC;
static struct jobstore_config JC;
static const char *keys[] = {"key-one", "key-two"};

static void defaults(void)
{
	memset(&HC, 0, sizeof(HC));
	HC.request_timeout_ms = 3000;
	HC.wait_max_ms = 10000;
	HC.max_body = 4096;
	HC.max_batch = 5;
	HC.max_connections = 64;
	HC.max_connections_per_ip = 64;
	HC.idle_timeout_ms = 3000;
	HC.version = "test";
	memset(&JC, 0, sizeof(JC));
	JC.max_rows = 5000;
	JC.max_jobs_per_owner = 4;
	JC.retention_ms = 60000;
	job_config_defaults(&JC.job);
}

static void on_engine_closed(void *data)
{
	(void)data;
	verifier_free(S.ver);
	resolver_close(S.res, NULL, NULL);
}

static void on_ctl(uv_async_t *a)
{
	http_free(S.http, NULL, NULL);
	jobstore_detach(S.js, 0);
	verifier_close(S.ver);
	engine_close(S.eng, on_engine_closed, NULL);
	uv_close((uv_handle_t *)a, NULL);
}

static void *srv_main(void *arg)
{
	(void)arg;
	uv_run(&S.loop, UV_RUN_DEFAULT);
	return NULL;
}

static void srv_start(size_t max_job_body)
{
	char err[256];
	int fd;

	ck_assert_int_eq(uv_loop_init(&S.loop), 0);
	fixture_stack_start(&STACK, &S.loop, true, 10000, 0);
	S.metrics = metrics_new(1);
	S.js = jobstore_new(&JC, 1);
	ck_assert_ptr_nonnull(S.js);
	ck_assert_int_eq(jobstore_attach(S.js, 0, &S.loop, S.ver), 0);
	jobs_route_bind(&S.bind, S.js, NULL, 0, max_job_body);
	HC.jobs = &S.bind;
	ck_assert_int_eq(http_listen("127.0.0.1:0", 1, &fd, err, sizeof(err)),
			 0);
	S.port = http_listen_port(fd);
	ck_assert_msg(http_new(&S.loop, &HC, fd, S.ver, S.metrics, 0, NULL,
			       NULL, &S.http, err, sizeof(err)) == 0,
		      "%s", err);
	uv_async_init(&S.loop, &S.ctl, on_ctl);
	ck_assert_int_eq(pthread_create(&S.tid, NULL, srv_main, NULL), 0);
}

static void srv_stop(void)
{
	uv_async_send(&S.ctl);
	pthread_join(S.tid, NULL);
	ck_assert_int_eq(uv_loop_close(&S.loop), 0);
	jobstore_free(S.js);
	lists_release(&S.lists);
	metrics_free(S.metrics);
	close(S.dns_fd);
}

/* ---- a small HTTP/1.0 client ----------------------------------------------- */

#define BODY_MAX (4 * 1024 * 1024)

struct resp {
	int status;
	char head[4096];
	char *body; /* NUL-terminated; the caller frees */
	size_t body_len;
};

/* request - one request on its own connection, read to the end. */
static void request(const char *method, const char *target, const char *key,
		    const char *ctype, const char *body, size_t blen,
		    struct resp *r)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tv = {.tv_sec = 8};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char head[1024], *all = malloc(BODY_MAX + 4096), *end;
	size_t have = 0;
	int n;

	sa.sin_port = htons((uint16_t)S.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = snprintf(head, sizeof(head), "%s %s HTTP/1.0\r\nHost: t\r\n",
		     method, target);
	if (key)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
			      "Authorization: Bearer %s\r\n", key);
	if (ctype)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
			      "Content-Type: %s\r\n", ctype);
	if (body)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
			      "Content-Length: %zu\r\n", blen);
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	ck_assert_int_eq(send(fd, head, (size_t)n, MSG_NOSIGNAL), n);
	if (body && blen)
		ck_assert_int_eq(send(fd, body, blen, MSG_NOSIGNAL),
				 (ssize_t)blen);
	for (;;) {
		ssize_t k = recv(fd, all + have, BODY_MAX + 4095 - have, 0);
		if (k <= 0)
			break;
		have += (size_t)k;
	}
	close(fd);
	all[have] = '\0';
	memset(r, 0, sizeof(*r));
	end = strstr(all, "\r\n\r\n");
	ck_assert_msg(end != NULL, "no answer to %s %s", method, target);
	ck_assert_uint_lt((size_t)(end - all), sizeof(r->head));
	memcpy(r->head, all, (size_t)(end - all));
	ck_assert_int_eq(sscanf(r->head, "HTTP/1.%*d %d", &r->status), 1);
	r->body_len = have - (size_t)(end + 4 - all);
	r->body = malloc(r->body_len + 1);
	memcpy(r->body, end + 4, r->body_len);
	r->body[r->body_len] = '\0';
	free(all);
}

static json_t *json_of(const struct resp *r)
{
	json_error_t e;
	json_t *j = json_loadb(r->body, r->body_len, 0, &e);

	ck_assert_msg(j != NULL, "not JSON: %s", r->body);
	return j;
}

/* post - a job; its id (the caller frees) or NULL, with the status. */
static char *post(const char *key, const char *ctype, const char *body,
		  int want, unsigned total)
{
	struct resp r;
	char *id = NULL;

	request("POST", "/v1/jobs", key, ctype, body, strlen(body), &r);
	ck_assert_msg(r.status == want, "POST %s: %d %s", ctype, r.status,
		      r.body);
	if (want == 202) {
		json_t *j = json_of(&r);
		ck_assert_uint_eq(
		    json_integer_value(json_object_get(j, "total")), total);
		id = strdup(json_string_value(json_object_get(j, "id")));
		ck_assert_uint_eq(strlen(id), JOBSTORE_ID_LEN);
		ck_assert_ptr_nonnull(strstr(r.head, "Location: /v1/jobs/"));
		json_decref(j);
	}
	free(r.body);
	return id;
}

/* state - GET /v1/jobs/ID as JSON (the caller decrefs). */
static json_t *state(const char *id, const char *key, int want)
{
	struct resp r;
	char target[128];
	json_t *j = NULL;

	snprintf(target, sizeof(target), "/v1/jobs/%s", id);
	request("GET", target, key, NULL, NULL, 0, &r);
	ck_assert_msg(r.status == want, "GET %s: %d %s", id, r.status, r.body);
	if (want == 200)
		j = json_of(&r);
	free(r.body);
	return j;
}

static const char *sget(json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

static long long iget(json_t *j, const char *k)
{
	return json_integer_value(json_object_get(j, k));
}

/* wait_done - poll until the job is done. */
static json_t *wait_done(const char *id, const char *key)
{
	for (int i = 0; i < 100; i++) {
		json_t *j = state(id, key, 200);
		if (strcmp(sget(j, "state"), "done") == 0)
			return j;
		json_decref(j);
		usleep(20000);
	}
	ck_abort_msg("job %s not done", id);
	return NULL;
}

static void results(const char *id, const char *fmt, struct resp *r)
{
	char target[160];

	snprintf(target, sizeof(target), "/v1/jobs/%s/results%s%s", id,
		 fmt ? "?format=" : "", fmt ? fmt : "");
	request("GET", target, NULL, NULL, NULL, 0, r);
}

#define V    ",false,false,false,,,,\n"
#define COLS CSV_VERDICT_COLUMNS "\n"

/* ---- tests ------------------------------------------------------------------ */

/* (content type, body, rows, the CSV results) */
static const struct {
	const char *ctype, *body;
	unsigned total;
	const char *csv;
} bodies[] = {
    {"text/csv", "Name,Email\n\"Doe, J\",not-an-address\nX,\"y@\"\n", 2,
     "Name,Email," COLS
     "\"Doe, J\",not-an-address,undeliverable,invalid_syntax,address has "
     "no @," V "X,\"y@\",undeliverable,invalid_syntax,domain is empty," V},
    {"text/csv; charset=utf-8", "id,mail\r\n1,x\r\n2,\"open\r\n3\r\n", 3,
     "id,mail," COLS "1,x,undeliverable,invalid_syntax,address has no @," V
     "\"2,\"\"open\",,undeliverable,invalid_syntax,malformed CSV line: a "
     "quoted field opened on this line is not closed," V
     "3,,undeliverable,invalid_syntax,the line has no column 2," V},
    {"text/plain", "nope\n\n\"a,b\"\n", 2,
     "email," COLS "nope,undeliverable,invalid_syntax,address has no @," V
     "\"\"\"a,b\"\"\",undeliverable,invalid_syntax,address has no @," V},
    {"application/x-ndjson", "{\"email\":\"x\"}\n\n\"y@\"\n", 2,
     "email," COLS "x,undeliverable,invalid_syntax,address has no @," V
     "y@,undeliverable,invalid_syntax,domain is empty," V},
    {"application/json", "{\"emails\":[\"p\",\"q,r\"]}", 2,
     "email," COLS "p,undeliverable,invalid_syntax,address has no @," V
     "\"q,r\",undeliverable,invalid_syntax,address has no @," V},
};

/* Each body kind: 202 with the count, done, and the results to the
 * octet, in input order, with the original columns first. */
START_TEST(round_trip)
{
	char *id;
	json_t *st;
	struct resp r;

	defaults();
	srv_start(1024 * 1024);
	id = post(NULL, bodies[_i].ctype, bodies[_i].body, 202,
		  bodies[_i].total);
	st = wait_done(id, NULL);
	ck_assert_int_eq(iget(st, "total"), bodies[_i].total);
	ck_assert_int_eq(iget(st, "done"), bodies[_i].total);
	ck_assert_int_eq(iget(json_object_get(st, "counts"), "undeliverable"),
			 bodies[_i].total);
	ck_assert_int_eq(iget(st, "eta_seconds"), 0);
	ck_assert_ptr_nonnull(sget(st, "created_at"));
	ck_assert_ptr_nonnull(sget(st, "finished_at"));
	json_decref(st);
	results(id, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.head, "Content-Type: text/csv"));
	ck_assert_str_eq(r.body, bodies[_i].csv);
	free(r.body);
	results(id, "ndjson", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(
	    strstr(r.head, "Content-Type: application/x-ndjson"));
	/* One line per row, each a verdict with its row. */
	unsigned lines = 0;
	for (char *p = r.body, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
		json_t *j = json_loadb(p, (size_t)(nl - p), 0, NULL);
		ck_assert_ptr_nonnull(j);
		ck_assert_int_eq(iget(j, "row"), lines);
		ck_assert_str_eq(sget(j, "reason"), "invalid_syntax");
		json_decref(j);
		lines++;
	}
	ck_assert_uint_eq(lines, bodies[_i].total);
	free(r.body);
	free(id);
	srv_stop();
}
END_TEST

/* Results far larger than one block stream whole. */
START_TEST(large_results)
{
	size_t n = 20000, len = 0;
	char *body = malloc(n * 16 + 16), *id;
	struct resp r;
	unsigned rows = 0;

	defaults();
	JC.max_rows = 20000;
	srv_start(4 * 1024 * 1024);
	len += (size_t)snprintf(body, 8, "email\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(body + len, 16, "bad%zu\n", i);
	id = post(NULL, "text/csv", body, 202, (unsigned)n);
	json_decref(wait_done(id, NULL));
	results(id, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	for (char *p = r.body; (p = strchr(p, '\n')); p++)
		rows++;
	ck_assert_uint_eq(rows, n + 1);
	ck_assert_ptr_nonnull(strstr(r.body, "\nbad19999,undeliverable,"));
	free(r.body);
	free(body);
	free(id);
	srv_stop();
}
END_TEST

/* (content type, body, status) of refused POSTs */
static const struct {
	const char *ctype, *body;
	int status;
	const char *code;
} refused[] = {
    {"text/csv", "a,b\nc,d\n", 400, "bad_request"},
    {"text/csv", "email,x\n", 202, NULL},
    {"application/json", "{\"emails\": 1}", 400, "bad_request"},
    {"application/json", "{", 400, "bad_request"},
    {"application/x-ndjson", "{\"mail\":\"x\"}\n", 400, "bad_request"},
    {"application/x-ndjson", "[[[[[[[[[[[[\"x\"]]]]]]]]]]]]\n", 400,
     "bad_request"},
    {"text/plain", "1\n2\n3\n4\n5\n6\n", 413, "too_many_rows"},
    {"application/json", "{\"emails\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\"]}",
     413, "too_many_rows"},
    {"image/png", "x", 415, "unsupported_media_type"},
};

START_TEST(refusals)
{
	struct resp r;

	defaults();
	JC.max_rows = 5;
	srv_start(1024 * 1024);
	request("POST", "/v1/jobs", NULL, refused[_i].ctype, refused[_i].body,
		strlen(refused[_i].body), &r);
	ck_assert_msg(r.status == refused[_i].status, "%s: %d %s",
		      refused[_i].body, r.status, r.body);
	if (refused[_i].code) {
		json_t *j = json_of(&r);
		ck_assert_str_eq(json_string_value(json_object_get(
				     json_object_get(j, "error"), "code")),
				 refused[_i].code);
		json_decref(j);
	}
	free(r.body);
	srv_stop();
}
END_TEST

/* A body over --max-job-body is 413 before it is read; routes and
 * methods are checked. */
START_TEST(limits_and_routes)
{
	struct resp r;
	char big[3000];

	defaults();
	srv_start(2048);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	request("POST", "/v1/jobs", NULL, "text/plain", big, strlen(big), &r);
	ck_assert_int_eq(r.status, 413);
	free(r.body);
	request("GET", "/v1/jobs", NULL, NULL, NULL, 0, &r);
	ck_assert_int_eq(r.status, 405);
	ck_assert_ptr_nonnull(strstr(r.head, "Allow: POST"));
	free(r.body);
	request("POST", "/v1/jobs/0123456789abcdef0123456789abcdef", NULL,
		"text/plain", "x", 1, &r);
	ck_assert_int_eq(r.status, 405);
	free(r.body);
	json_decref(state("0123456789abcdef0123456789abcdef", NULL, 404));
	json_decref(state("short", NULL, 404));
	request("GET", "/v1/jobs/0123456789abcdef0123456789abcdef/other", NULL,
		NULL, NULL, 0, &r);
	ck_assert_int_eq(r.status, 404);
	free(r.body);
	request("GET", "/v1/jobs/0123456789abcdef0123456789abcdef/results",
		NULL, NULL, NULL, 0, &r);
	ck_assert_int_eq(r.status, 404);
	free(r.body);
	srv_stop();
}
END_TEST

/* With keys: a job is its key's alone; each key has its own limit of
 * running jobs (429 past it, with Retry-After); a cancelled job frees
 * its place; DELETE cancels, then forgets. */
START_TEST(owners_and_cancel)
{
	char *a, *b, *c;
	struct resp r;
	char target[128];
	json_t *st;

	defaults();
	HC.api_keys = keys;
	HC.api_key_count = 2;
	JC.max_jobs_per_owner = 1;
	srv_start(1024 * 1024);
	/* valid addresses: their DNS never answers, the jobs run on */
	a = post("key-one", "text/plain", "u@hang.example\n", 202, 1);
	post("key-one", "text/plain", "v@hang.example\n", 429, 0);
	b = post("key-two", "text/plain", "w@hang.example\n", 202, 1);
	json_decref(state(a, "key-two", 404));
	json_decref(state(b, "key-one", 404));
	st = state(a, "key-one", 200);
	ck_assert_str_ne(sget(st, "state"), "done");
	ck_assert_int_eq(iget(st, "done"), 0);
	json_decref(st);
	request("POST", "/v1/jobs", NULL, "text/plain", "x", 1, &r);
	ck_assert_int_eq(r.status, 401);
	free(r.body);
	snprintf(target, sizeof(target), "/v1/jobs/%s", a);
	request("DELETE", target, "key-two", NULL, NULL, 0, &r);
	ck_assert_int_eq(r.status, 404);
	free(r.body);
	request("DELETE", target, "key-one", NULL, NULL, 0, &r);
	ck_assert_int_eq(r.status, 202);
	free(r.body);
	st = state(a, "key-one", 200);
	ck_assert_str_eq(sget(st, "state"), "cancelled");
	json_decref(st);
	c = post("key-one", "text/plain", "nope\n", 202, 1);
	json_decref(wait_done(c, "key-one"));
	request("DELETE", target, "key-one", NULL, NULL, 0, &r);
	ck_assert_int_eq(r.status, 204);
	free(r.body);
	json_decref(state(a, "key-one", 404));
	free(a);
	free(b);
	free(c);
	srv_stop();
}
END_TEST

/* Duplicates are verified once and every row gets the verdict. */
START_TEST(duplicates)
{
	char *id;
	json_t *st;
	struct resp r;

	defaults();
	srv_start(1024 * 1024);
	id = post(NULL, "text/plain", "dup\ndup\nother\ndup\n", 202, 4);
	st = wait_done(id, NULL);
	ck_assert_int_eq(iget(st, "done"), 4);
	json_decref(st);
	results(id, "csv", &r);
	ck_assert_str_eq(
	    r.body,
	    "email," COLS "dup,undeliverable,invalid_syntax,address has no @," V
	    "dup,undeliverable,invalid_syntax,address has no @," V
	    "other,undeliverable,invalid_syntax,address has no @," V
	    "dup,undeliverable,invalid_syntax,address has no @," V);
	free(r.body);
	results(id, "xml", &r);
	ck_assert_int_eq(r.status, 400);
	free(r.body);
	free(id);
	srv_stop();
}
END_TEST

Suite *jobs_suite(void)
{
	Suite *s = suite_create("jobs");
	TCase *tc;

	tc = tcase_create("round trip");
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, round_trip, 0,
			    (int)(sizeof(bodies) / sizeof(bodies[0])));
	tcase_add_test(tc, large_results);
	tcase_add_test(tc, duplicates);
	suite_add_tcase(s, tc);

	tc = tcase_create("refusals");
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, refusals, 0,
			    (int)(sizeof(refused) / sizeof(refused[0])));
	tcase_add_test(tc, limits_and_routes);
	tcase_add_test(tc, owners_and_cancel);
	suite_add_tcase(s, tc);
	return s;
}
