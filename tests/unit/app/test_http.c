/* test_http - the HTTP API end to end on loopback, in the test's process.
 *
 * Each test starts the real stack (http, verifier, engine, resolver; no
 * cache) on 127.0.0.1 and a free port, on a libuv loop in a thread of
 * its own, and talks to it with raw sockets from the test thread: a
 * client of a few lines that sends exact bytes and reads one response
 * (status, headers, Content-Length body). No address leaves loopback:
 * the resolver asks 127.0.0.1 only, either a closed port (every lookup
 * fails at once: dns_error) or a UDP socket of the test that never
 * answers (a lookup hangs: the request waits). Invalid addresses are
 * answered by the precheck, without DNS.
 * Check forks per test, so each test has its own server and globals. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "api/http.h"
#include "core/lists.h"
#include "core/netpolicy.h"
#include "daemon/engine.h"
#include "daemon/resolver.h"
#include "daemon/verifier.h"
#include "tests/unit/app/fixture_stack.h"

/* ---- the server under test ------------------------------------------- */

enum dns_mode { DNS_REFUSED, DNS_SILENT };

struct srv {
	pthread_t tid;
	uv_loop_t loop;
	uv_async_t ctl;
	int cmd; /* 1 drain, 2 stop; atomic */
	struct lists lists;
	struct netpolicy policy;
	struct resolver *res;
	struct engine *eng;
	struct verifier *ver;
	struct metrics *metrics;
	struct ratelimit *rl;
	struct http *http;
	unsigned port;
	int dns_fd;
	int drained; /* atomic */
	unsigned max_pending;
};

static struct srv S;
static const struct fixture_stack STACK = {&S.lists, &S.policy, &S.dns_fd,
					   &S.res,   &S.eng,	&S.ver};
static struct http_config HC;

static const char *keys[] = {"s3cret-key-1", "other-key-2"};
static const char *origins[] = {"https://form.example"};

static void config_defaults(void)
{
	memset(&HC, 0, sizeof(HC));
	HC.request_timeout_ms = 3000;
	HC.wait_max_ms = 10000;
	HC.max_body = 4096;
	HC.max_batch = 5;
	HC.max_connections = 64;
	HC.max_connections_per_ip = 64;
	HC.idle_timeout_ms = 2000;
	HC.access_log = false;
	HC.version = "test";
}

static void on_drained(void *data)
{
	__atomic_store_n(&((struct srv *)data)->drained, 1, __ATOMIC_RELEASE);
}

static void on_engine_closed(void *data)
{
	struct srv *s = data;

	verifier_free(s->ver);
	resolver_close(s->res, NULL, NULL);
}

static void on_ctl(uv_async_t *a)
{
	struct srv *s = a->data;
	int cmd = __atomic_exchange_n(&s->cmd, 0, __ATOMIC_ACQUIRE);

	if (cmd == 1)
		http_drain(s->http, 300, on_drained, s);
	if (cmd == 2) {
		http_free(s->http, NULL, NULL);
		engine_close(s->eng, on_engine_closed, s);
		uv_close((uv_handle_t *)&s->ctl, NULL);
	}
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;

	uv_run(&s->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* srv_start - the stack on a free port; the loop runs on its thread. */
static void srv_start(enum dns_mode dns)
{
	char err[256];
	int fd;

	memset(&S.loop, 0, sizeof(S.loop));
	ck_assert_int_eq(uv_loop_init(&S.loop), 0);
	fixture_stack_start(&STACK, &S.loop, dns != DNS_REFUSED, 3000,
			    S.max_pending);
	S.metrics = metrics_new(1);
	ck_assert_int_eq(http_listen("127.0.0.1:0", 1, &fd, err, sizeof(err)),
			 0);
	S.port = http_listen_port(fd);
	ck_assert_uint_gt(S.port, 0);
	ck_assert_msg(http_new(&S.loop, &HC, fd, S.ver, S.metrics, 0, S.rl,
			       NULL, &S.http, err, sizeof(err)) == 0,
		      "%s", err);
	uv_async_init(&S.loop, &S.ctl, on_ctl);
	S.ctl.data = &S;
	ck_assert_int_eq(pthread_create(&S.tid, NULL, srv_main, &S), 0);
}

static void srv_post(int cmd)
{
	__atomic_store_n(&S.cmd, cmd, __ATOMIC_RELEASE);
	uv_async_send(&S.ctl);
}

/* srv_stop - close everything; the loop must end with no handle left. */
static void srv_stop(void)
{
	srv_post(2);
	pthread_join(S.tid, NULL);
	ck_assert_int_eq(uv_loop_close(&S.loop), 0);
	lists_release(&S.lists);
	metrics_free(S.metrics);
	ratelimit_free(S.rl);
	if (S.dns_fd >= 0)
		close(S.dns_fd);
}

/* ---- a small HTTP client ----------------------------------------------- */

struct resp {
	int status; /* 0: the connection closed before a response */
	char head[8192];
	char body[65536];
	size_t body_len;
};

/* What was read past one response (pipelined answers), per test
 * process: one connection is read at a time. */
static struct {
	int fd;
	size_t have;
	char buf[8192 + 65536];
} rx = {.fd = -1};

static int xconnect(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tv = {.tv_sec = 8};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_port = htons((uint16_t)S.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void xclose(int fd)
{
	if (rx.fd == fd)
		rx.fd = -1;
	close(fd);
}

static void xsend(int fd, const void *p, size_t len)
{
	ck_assert_int_eq(send(fd, p, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* header - the value of header @name in @r (copied into @out), or NULL. */
static const char *header(const struct resp *r, const char *name, char *out,
			  size_t outlen)
{
	size_t n = strlen(name);

	for (const char *p = strstr(r->head, "\r\n"); p && p[2];
	     p = strstr(p + 2, "\r\n")) {
		const char *l = p + 2;
		if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
			const char *v = l + n + 1, *e = strstr(v, "\r\n");
			while (*v == ' ')
				v++;
			snprintf(out, outlen, "%.*s", (int)(e - v), v);
			return out;
		}
	}
	return NULL;
}

/* read_response - one response from @fd; status 0 when the connection
 * closed (or failed) first. @head_only: a HEAD, no body follows. */
static void read_response(int fd, struct resp *r, bool head_only)
{
	char *end = NULL, cl[32];
	size_t hlen, want = 0;

	if (rx.fd != fd)
		rx.fd = fd, rx.have = 0;
	memset(r, 0, sizeof(*r));
	rx.buf[rx.have] = '\0';
	while ((end = strstr(rx.buf, "\r\n\r\n")) == NULL) {
		ssize_t n =
		    recv(fd, rx.buf + rx.have, sizeof(rx.buf) - 1 - rx.have, 0);
		if (n <= 0)
			return;
		rx.have += (size_t)n;
		rx.buf[rx.have] = '\0';
	}
	hlen = (size_t)(end - rx.buf) + 4;
	ck_assert_uint_lt(hlen, sizeof(r->head));
	memcpy(r->head, rx.buf, hlen);
	r->head[hlen] = '\0';
	ck_assert_int_eq(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
	if (!head_only && r->status != 204 &&
	    header(r, "Content-Length", cl, sizeof(cl)))
		want = strtoul(cl, NULL, 10);
	ck_assert_uint_lt(want, sizeof(r->body));
	while (rx.have - hlen < want) {
		ssize_t n =
		    recv(fd, rx.buf + rx.have, sizeof(rx.buf) - 1 - rx.have, 0);
		ck_assert_int_gt(n, 0);
		rx.have += (size_t)n;
	}
	memcpy(r->body, rx.buf + hlen, want);
	r->body[want] = '\0';
	r->body_len = want;
	rx.have -= hlen + want;
	memmove(rx.buf, rx.buf + hlen + want, rx.have);
}

/* closed - whether the server has closed @fd (within the timeout). */
static bool closed(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, 0);

	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* exchange - one request on a new connection. */
static void exchange(const char *req, size_t len, struct resp *r)
{
	int fd = xconnect();

	xsend(fd, req, len);
	read_response(fd, r, strncmp(req, "HEAD ", 5) == 0);
	xclose(fd);
}

#define EXCH(s, r)   exchange(s, sizeof(s) - 1, r)
#define XSEND(fd, s) xsend(fd, s, sizeof(s) - 1)

static void get(const char *target, struct resp *r)
{
	char req[2048];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n",
			 target);
	exchange(req, (size_t)n, r);
}

static void post(const char *target, const char *body, struct resp *r)
{
	char req[8192];
	int n = snprintf(req, sizeof(req),
			 "POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: "
			 "application/json\r\nContent-Length: %zu\r\n\r\n%s",
			 target, strlen(body), body);
	exchange(req, (size_t)n, r);
}

/* json_of - the body as JSON (the caller decrefs). */
static json_t *json_of(const struct resp *r)
{
	json_error_t e;
	json_t *j = json_loadb(r->body, r->body_len, 0, &e);

	ck_assert_msg(j != NULL, "not JSON: %s", r->body);
	return j;
}

static const char *jstr(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);
	if (path2)
		v = json_object_get(v, path2);
	return json_string_value(v);
}

static void assert_healthy(void)
{
	struct resp r;

	get("/healthz", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"status\":\"ok\"}");
}

/* ---- the bad-input table ------------------------------------------------ */

#define LONG_LOCAL                                                             \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct bad {
	const char *name;
	const char *req;  /* NULL: built by the test */
	int status;	  /* 0: the connection is closed without answer */
	const char *json; /* a POST /v1/verify body */
} bad[] = {
    {"unknown route", "GET /v2/verify HTTP/1.1\r\nHost: t\r\n\r\n", 404, NULL},
    {"root", "GET / HTTP/1.1\r\nHost: t\r\n\r\n", 404, NULL},
    {"trailing slash", "GET /v1/verify/ HTTP/1.1\r\nHost: t\r\n\r\n", 404,
     NULL},
    {"case", "GET /V1/VERIFY HTTP/1.1\r\nHost: t\r\n\r\n", 404, NULL},
    {"jobs not yet", "GET /v1/jobs HTTP/1.1\r\nHost: t\r\n\r\n", 404, NULL},
    {"DELETE verify", "DELETE /v1/verify HTTP/1.1\r\nHost: t\r\n\r\n", 405,
     NULL},
    {"PUT verify",
     "PUT /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}", 405,
     NULL},
    {"POST healthz",
     "POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", 405,
     NULL},
    {"OPTIONS without CORS", "OPTIONS /v1/verify HTTP/1.1\r\nHost: t\r\n\r\n",
     405, NULL},
    {"PATCH metrics", "PATCH /metrics HTTP/1.1\r\nHost: t\r\n\r\n", 405, NULL},
    {"no email", "GET /v1/verify HTTP/1.1\r\nHost: t\r\n\r\n", 400, NULL},
    {"other parameter",
     "GET /v1/verify?mail=a@b.example HTTP/1.1\r\nHost: t\r\n\r\n", 400, NULL},
    {"NUL in email",
     "GET /v1/verify?email=a%00@b.example HTTP/1.1\r\nHost: t\r\n\r\n", 400,
     NULL},
    {"not UTF-8 in email",
     "GET /v1/verify?email=a%FF@b.example HTTP/1.1\r\nHost: t\r\n\r\n", 400,
     NULL},
    {"overlong UTF-8",
     "GET /v1/verify?email=%C0%AF@b.example HTTP/1.1\r\nHost: t\r\n\r\n", 400,
     NULL},
    {"bad fresh",
     "GET /v1/verify?email=x&fresh=maybe HTTP/1.1\r\nHost: t\r\n\r\n", 400,
     NULL},
    {"bad transcript",
     "GET /v1/verify?email=x&transcript=2 HTTP/1.1\r\nHost: t\r\n\r\n", 400,
     NULL},
    {"bad wait", "GET /v1/verify?email=x&wait=soon HTTP/1.1\r\nHost: t\r\n\r\n",
     400, NULL},
    {"negative wait",
     "GET /v1/verify?email=x&wait=-1 HTTP/1.1\r\nHost: t\r\n\r\n", 400, NULL},
    {"CRLF in email (a verdict)",
     "GET /v1/verify?email=a%0D%0Ab@b.example HTTP/1.1\r\nHost: t\r\n\r\n", 200,
     NULL},
    {"empty email (a verdict)",
     "GET /v1/verify?email= HTTP/1.1\r\nHost: t\r\n\r\n", 200, NULL},
    {"long email (a verdict)",
     "GET /v1/verify?email=" LONG_LOCAL LONG_LOCAL LONG_LOCAL LONG_LOCAL
     "@b.example HTTP/1.1\r\nHost: t\r\n\r\n",
     200, NULL},
    /* POSTs of JSON: the test adds the headers and Content-Length */
    {"empty body", NULL, 400, ""},
    {"broken JSON", NULL, 400, "{"},
    {"truncated JSON", NULL, 400, "{\"email\":\"a"},
    {"trailing garbage", NULL, 400, "{\"email\":\"a@b\"} x"},
    {"array", NULL, 400, "[\"a@b.c\"]"},
    {"string", NULL, 400, "\"a@b.c\""},
    {"number email", NULL, 400, "{\"email\":1}"},
    {"null email", NULL, 400, "{\"email\":null}"},
    {"object email", NULL, 400, "{\"email\":{}}"},
    {"missing email", NULL, 400, "{\"mail\":\"x\"}"},
    {"both", NULL, 400, "{\"email\":\"a\",\"emails\":[]}"},
    {"emails not array", NULL, 400, "{\"emails\":\"a\"}"},
    {"emails empty", NULL, 400, "{\"emails\":[]}"},
    {"emails number", NULL, 400, "{\"emails\":[\"a\",1,2]}"},
    {"too many", NULL, 413,
     "{\"emails\":[\"a\",\"b\",\"c\",\"d\",\"e\","
     "\"f\"]}"},
    {"deep nesting", NULL, 400, "{\"a\":[[[[[[[[[[1]]]]]]]]]],\"e\":1}"},
    {"NUL escape", NULL, 400, "{\"email\":\"a\\u0000\"}"},
    {"raw NUL", NULL, 400, "{\"email\":\"a\0\"}"},
    {"non-UTF-8", NULL, 400, "{\"email\":\"a\xff\"}"},
    {"lone surrogate", NULL, 400, "{\"email\":\"\\ud800\"}"},
    {"duplicate key", NULL, 400, "{\"email\":\"a\",\"email\":\"b\"}"},
    {"fresh not bool", NULL, 400, "{\"email\":\"a\",\"fresh\":\"1\"}"},
    {"CRLF escape (a verdict)", NULL, 200, "{\"email\":\"a\\r\\nb\"}"},
    {"form type",
     "POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: "
     "application/x-www-form-"
     "urlencoded\r\nContent-Length: 7\r\n\r\nemail=x",
     415, NULL},
    {"no type",
     "POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}", 415,
     NULL},
    {"latin-1 JSON",
     "POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: application/json; "
     "charset=iso-8859-1\r\nContent-Length: 2\r\n\r\n{}",
     415, NULL},
    {"text type",
     "POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
     "Content-Length: 2\r\n\r\n{}",
     415, NULL},
    {"declared too big",
     "POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
     "Content-Length: 999999\r\n\r\n",
     413, NULL},
    {"huge body", NULL, 413, NULL},
    {"huge chunked body", NULL, 413, NULL},
    {"body on GET, too big", NULL, 413, NULL},
    /* MHD closes on a request line it cannot parse */
    {"garbage request line", "HELLO\r\n\r\n", 0, NULL},
    {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, NULL},
};

START_TEST(bad_input)
{
	const struct bad *b = &bad[_i];
	static char req[16384];
	size_t len;
	struct resp r;
	int fd;

	if (b->req) {
		len = strlen(b->req);
		memcpy(req, b->req, len);
	} else if (b->json) {
		/* the raw-NUL row has a NUL inside: two octets follow it */
		size_t blen = strlen(b->json);
		if (strcmp(b->name, "raw NUL") == 0)
			blen += 3;
		len = (size_t)snprintf(req, sizeof(req),
				       "POST /v1/verify HTTP/1.1\r\nHost: t\r\n"
				       "Content-Type: application/json\r\n"
				       "Content-Length: %zu\r\n\r\n",
				       blen);
		memcpy(req + len, b->json, blen);
		len += blen;
	} else if (strcmp(b->name, "huge body") == 0) {
		len = (size_t)snprintf(req, sizeof(req),
				       "POST /v1/verify HTTP/1.1\r\nHost: t\r\n"
				       "Content-Type: application/json\r\n"
				       "Content-Length: 5000\r\n\r\n");
		memset(req + len, ' ', 5000);
		len += 5000;
	} else if (strcmp(b->name, "huge chunked body") == 0) {
		len = (size_t)snprintf(req, sizeof(req),
				       "POST /v1/verify HTTP/1.1\r\nHost: t\r\n"
				       "Content-Type: application/json\r\n"
				       "Transfer-Encoding: chunked\r\n\r\n");
		for (int i = 0; i < 6; i++) {
			len += (size_t)snprintf(req + len, sizeof(req) - len,
						"400\r\n");
			memset(req + len, ' ', 1024);
			len += 1024;
			len += (size_t)snprintf(req + len, sizeof(req) - len,
						"\r\n");
		}
		len +=
		    (size_t)snprintf(req + len, sizeof(req) - len, "0\r\n\r\n");
	} else {
		len = (size_t)snprintf(req, sizeof(req),
				       "GET /healthz HTTP/1.1\r\nHost: t\r\n"
				       "Content-Length: 5000\r\n\r\n");
		memset(req + len, 'x', 5000);
		len += 5000;
	}
	config_defaults();
	srv_start(DNS_REFUSED);
	fd = xconnect();
	/* The server may answer and close before it reads it all. */
	send(fd, req, len, MSG_NOSIGNAL);
	read_response(fd, &r, false);
	xclose(fd);
	ck_assert_msg(r.status == b->status, "%s: status %d, want %d (%s)",
		      b->name, r.status, b->status, r.body);
	if (r.status >= 400 && r.status != 505 &&
	    strstr(b->req ? b->req : "", "HELLO") == NULL) {
		/* Our errors are JSON with a code and a message. */
		json_t *j = json_of(&r);
		ck_assert_ptr_nonnull(jstr(j, "error", "code"));
		ck_assert_ptr_nonnull(jstr(j, "error", "message"));
		json_decref(j);
	}
	assert_healthy();
	srv_stop();
}
END_TEST

/* ---- behaviours ----------------------------------------------------------- */

START_TEST(verify_get_invalid)
{
	struct resp r;
	char ct[64];
	json_t *j;

	config_defaults();
	srv_start(DNS_REFUSED);
	get("/v1/verify?email=a..b@example.com&transcript=1", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(header(&r, "Content-Type", ct, sizeof(ct)),
			 "application/json");
	j = json_of(&r);
	ck_assert_str_eq(jstr(j, "email", NULL), "a..b@example.com");
	ck_assert_str_eq(jstr(j, "status", NULL), "undeliverable");
	ck_assert_str_eq(jstr(j, "reason", NULL), "invalid_syntax");
	ck_assert(json_is_null(json_object_get(j, "transcript")));
	json_decref(j);
	srv_stop();
}
END_TEST

START_TEST(verify_post_batch)
{
	struct resp r;
	json_t *j, *res;

	config_defaults();
	srv_start(DNS_REFUSED);
	post("/v1/verify",
	     "{\"emails\":[\"bad@@x\",\"a..b@example.com\",\"\"]}", &r);
	ck_assert_int_eq(r.status, 200);
	j = json_of(&r);
	res = json_object_get(j, "results");
	ck_assert_uint_eq(json_array_size(res), 3);
	ck_assert_str_eq(jstr(json_array_get(res, 0), "email", NULL), "bad@@x");
	ck_assert_str_eq(jstr(json_array_get(res, 1), "email", NULL),
			 "a..b@example.com");
	ck_assert_str_eq(jstr(json_array_get(res, 2), "reason", NULL),
			 "invalid_syntax");
	json_decref(j);
	srv_stop();
}
END_TEST

/* A probe answer arriving while the request waits resumes it. */
START_TEST(verify_waits_for_probe)
{
	struct resp r;
	json_t *j;

	config_defaults();
	srv_start(DNS_REFUSED);
	get("/v1/verify?email=alice@example.com&wait=5s", &r);
	ck_assert_int_eq(r.status, 200);
	j = json_of(&r);
	ck_assert_str_eq(jstr(j, "address", NULL), "alice@example.com");
	ck_assert_str_eq(jstr(j, "status", NULL), "unknown");
	ck_assert_str_eq(jstr(j, "reason", NULL), "dns_error");
	json_decref(j);
	srv_stop();
}
END_TEST

/* The request's deadline passes first: in_progress, the probe goes on. */
START_TEST(verify_in_progress)
{
	struct resp r;
	struct timespec t0, t1;
	json_t *j, *res;
	long ms;

	config_defaults();
	srv_start(DNS_SILENT);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	get("/v1/verify?email=bob@example.com&wait=300ms", &r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, 280);
	ck_assert_int_lt(ms, 2000);
	ck_assert_int_eq(r.status, 200);
	j = json_of(&r);
	ck_assert_str_eq(jstr(j, "status", NULL), "unknown");
	ck_assert_str_eq(jstr(j, "reason", NULL), "in_progress");
	ck_assert_str_eq(jstr(j, "address", NULL), "bob@example.com");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "retry_after")),
			 3);
	json_decref(j);
	/* A batch: the invalid one answered, the valid one in progress;
	 * wait=0 answers at once. */
	post("/v1/verify?wait=0",
	     "{\"emails\":[\"carol@example.com\",\"x@@y\"]}", &r);
	ck_assert_int_eq(r.status, 200);
	j = json_of(&r);
	res = json_object_get(j, "results");
	ck_assert_str_eq(jstr(json_array_get(res, 0), "reason", NULL),
			 "in_progress");
	ck_assert_str_eq(jstr(json_array_get(res, 1), "reason", NULL),
			 "invalid_syntax");
	json_decref(j);
	srv_stop();
}
END_TEST

/* More probes than the verifier takes: 503 with Retry-After. */
START_TEST(busy_503)
{
	struct resp r;
	char ra[16];

	config_defaults();
	S.max_pending = 1;
	srv_start(DNS_SILENT);
	get("/v1/verify?email=one@example.com&wait=0", &r);
	ck_assert_str_eq(r.body + strlen(r.body) - 1, "}");
	ck_assert_int_eq(r.status, 200);
	get("/v1/verify?email=two@example.org&wait=0", &r);
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(header(&r, "Retry-After", ra, sizeof(ra)), "1");
	assert_healthy();
	srv_stop();
}
END_TEST

/* Several requests on one connection, answered in order, connection kept;
 * a waiting request does not lose keep-alive either. */
START_TEST(keep_alive)
{
	const char req[] =
	    "GET /v1/verify?email=x@@y HTTP/1.1\r\nHost: t\r\n\r\n"
	    "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
	struct resp r;
	int fd;

	config_defaults();
	srv_start(DNS_REFUSED);
	fd = xconnect();
	for (int round = 0; round < 3; round++) {
		xsend(fd, req, sizeof(req) - 1);
		read_response(fd, &r, false);
		ck_assert_int_eq(r.status, 200);
		ck_assert_ptr_nonnull(strstr(r.body, "invalid_syntax"));
		read_response(fd, &r, false);
		ck_assert_int_eq(r.status, 200);
		ck_assert_str_eq(r.body, "{\"status\":\"ok\"}");
	}
	XSEND(fd, "POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: "
		  "application/json\r\n"
		  "Content-Length: 25\r\n\r\n{\"email\":\"d@example.com\"}");
	read_response(fd, &r, false);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "dns_error"));
	xsend(fd, req, sizeof(req) - 1);
	read_response(fd, &r, false);
	ck_assert_int_eq(r.status, 200);
	xclose(fd);
	srv_stop();
}
END_TEST

/* One byte a second never completes a request: closed at the deadline
 * though every byte restarts MHD's inactivity timer. */
START_TEST(trickle_deadline)
{
	const char req[] =
	    "GET /v1/verify?email=a@b.example HTTP/1.1\r\nHost: t\r\n"
	    "Host: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
	struct timespec t0, t1;
	bool cut = false;
	int fd;
	long ms;

	config_defaults();
	HC.idle_timeout_ms = 1000;
	srv_start(DNS_REFUSED);
	fd = xconnect();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < sizeof(req) - 1; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1 ||
		    poll(&p, 1, 150) == 1) {
			cut = closed(fd); /* the end, not an answer */
			break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_msg(cut, "the trickling client was never cut");
	ck_assert_int_ge(ms, 900);
	ck_assert_int_lt(ms, 3500);
	xclose(fd);
	/* An idle keep-alive connection is closed at the deadline too. */
	fd = xconnect();
	XSEND(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
	struct resp r;
	read_response(fd, &r, false);
	ck_assert_int_eq(r.status, 200);
	ck_assert(closed(fd));
	xclose(fd);
	assert_healthy();
	srv_stop();
}
END_TEST

START_TEST(auth)
{
	struct resp r;
	char h[64];

	config_defaults();
	HC.api_keys = keys;
	HC.api_key_count = 2;
	srv_start(DNS_REFUSED);
	get("/v1/verify?email=x@@y", &r);
	ck_assert_int_eq(r.status, 401);
	ck_assert_str_eq(header(&r, "WWW-Authenticate", h, sizeof(h)),
			 "Bearer realm=\"rcptd\"");
	EXCH("GET /v1/verify?email=x@@y HTTP/1.1\r\nHost: t\r\n"
	     "Authorization: Bearer s3cret-key-\r\n\r\n",
	     &r);
	ck_assert_int_eq(r.status, 401);
	EXCH("GET /v1/verify?email=x@@y HTTP/1.1\r\nHost: t\r\n"
	     "Authorization: Bearer s3cret-key-12\r\n\r\n",
	     &r);
	ck_assert_int_eq(r.status, 401);
	EXCH("GET /v1/verify?email=x@@y HTTP/1.1\r\nHost: t\r\n"
	     "Authorization: Basic s3cret-key-1\r\n\r\n",
	     &r);
	ck_assert_int_eq(r.status, 401);
	EXCH("GET /v1/verify?email=x@@y HTTP/1.1\r\nHost: t\r\n"
	     "Authorization: Bearer other-key-2\r\n\r\n",
	     &r);
	ck_assert_int_eq(r.status, 200);
	EXCH("GET /v1/verify?email=x@@y HTTP/1.1\r\nHost: t\r\n"
	     "authorization: bearer s3cret-key-1\r\n\r\n",
	     &r);
	ck_assert_int_eq(r.status, 200);
	get("/metrics", &r);
	ck_assert_int_eq(r.status, 401);
	get("/readyz", &r);
	ck_assert_int_eq(r.status, 200);
	assert_healthy();
	srv_stop();
}
END_TEST

START_TEST(rate_limit)
{
	struct resp r;
	char ra[16];

	config_defaults();
	S.rl = ratelimit_new(1, 2, 0, 1);
	srv_start(DNS_REFUSED);
	get("/v1/verify?email=x@@y", &r);
	ck_assert_int_eq(r.status, 200);
	get("/v1/verify?email=x@@y", &r);
	ck_assert_int_eq(r.status, 200);
	get("/v1/verify?email=x@@y", &r);
	ck_assert_int_eq(r.status, 429);
	ck_assert_str_eq(header(&r, "Retry-After", ra, sizeof(ra)), "1");
	ck_assert_ptr_nonnull(strstr(r.body, "\"rate_limited\""));
	/* Health checks are not limited. */
	assert_healthy();
	usleep(1100 * 1000);
	get("/v1/verify?email=x@@y", &r);
	ck_assert_int_eq(r.status, 200);
	srv_stop();
}
END_TEST

START_TEST(cors)
{
	struct resp r;
	char h[128];

	config_defaults();
	HC.cors_origins = origins;
	HC.cors_origin_count = 1;
	srv_start(DNS_REFUSED);
	EXCH("OPTIONS /v1/verify HTTP/1.1\r\nHost: t\r\nOrigin: "
	     "https://form.example"
	     "\r\nAccess-Control-Request-Method: POST\r\n\r\n",
	     &r);
	ck_assert_int_eq(r.status, 204);
	ck_assert_str_eq(
	    header(&r, "Access-Control-Allow-Origin", h, sizeof(h)),
	    "https://form.example");
	ck_assert_ptr_nonnull(
	    header(&r, "Access-Control-Allow-Headers", h, sizeof(h)));
	ck_assert_ptr_nonnull(strstr(h, "Content-Type"));
	EXCH("GET /v1/verify?email=x@@y HTTP/1.1\r\nHost: t\r\n"
	     "Origin: https://form.example\r\n\r\n",
	     &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(
	    header(&r, "Access-Control-Allow-Origin", h, sizeof(h)),
	    "https://form.example");
	EXCH("GET /v1/verify?email=x@@y HTTP/1.1\r\nHost: t\r\n"
	     "Origin: https://evil.example\r\n\r\n",
	     &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_null(
	    header(&r, "Access-Control-Allow-Origin", h, sizeof(h)));
	srv_stop();
}
END_TEST

START_TEST(health_ready_metrics)
{
	struct resp r;
	char path[] = "/tmp/rcptd-http-metrics-XXXXXX", cmd[128];
	int fd;

	config_defaults();
	srv_start(DNS_REFUSED);
	EXCH("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	ck_assert_int_eq(r.status, 200);
	get("/readyz", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"status\":\"ready\"}");
	get("/v1/verify?email=x@@y", &r);
	get("/nope", &r);
	get("/metrics", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "rcptd_http_requests_total{route="
					     "\"healthz\",code=\"200\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "rcptd_http_requests_total{route="
					     "\"other\",code=\"404\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "rcptd_verdicts_total{status="
					     "\"undeliverable\",reason="
					     "\"invalid_syntax\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "# TYPE rcptd_http_request_"
					     "duration_seconds histogram\n"));
	if (access("/usr/bin/promtool", X_OK) == 0) {
		fd = mkstemp(path);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, r.body, r.body_len),
				 (ssize_t)r.body_len);
		xclose(fd);
		snprintf(cmd, sizeof(cmd),
			 "/usr/bin/promtool check metrics < %s", path);
		ck_assert_int_eq(system(cmd), 0);
		unlink(path);
	}
	srv_stop();
}
END_TEST

START_TEST(per_ip_limit)
{
	struct resp r;
	int a, b, c;

	config_defaults();
	HC.max_connections_per_ip = 2;
	srv_start(DNS_REFUSED);
	a = xconnect();
	b = xconnect();
	c = xconnect(); /* accepted by the kernel, closed by MHD */
	ck_assert(closed(c));
	xclose(c);
	XSEND(a, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
	read_response(a, &r, false);
	ck_assert_int_eq(r.status, 200);
	xclose(a);
	xclose(b);
	usleep(100 * 1000);
	assert_healthy();
	srv_stop();
}
END_TEST

/* SIGTERM's path: no new connections, the waiting request is answered
 * (in_progress at the drain deadline) with Connection: close. */
START_TEST(drain)
{
	struct resp r;
	char h[32];
	int fd;

	config_defaults();
	srv_start(DNS_SILENT);
	fd = xconnect();
	XSEND(fd, "GET /v1/verify?email=eve@example.com&wait=9s "
		  "HTTP/1.1\r\nHost: t\r\n\r\n");
	usleep(100 * 1000);
	srv_post(1);
	read_response(fd, &r, false);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "in_progress"));
	ck_assert_str_eq(header(&r, "Connection", h, sizeof(h)), "close");
	ck_assert(closed(fd));
	xclose(fd);
	for (int i = 0;
	     i < 50 && !__atomic_load_n(&S.drained, __ATOMIC_ACQUIRE); i++)
		usleep(20 * 1000);
	ck_assert_int_eq(S.drained, 1);
	{
		struct sockaddr_in sa = {.sin_family = AF_INET};
		int s2 = socket(AF_INET, SOCK_STREAM, 0);
		sa.sin_port = htons((uint16_t)S.port);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ck_assert_int_ne(
		    connect(s2, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(s2);
	}
	srv_stop();
}
END_TEST

Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc;

	tc = tcase_create("bad_input");
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, bad_input, 0, sizeof(bad) / sizeof(bad[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("verify");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, verify_get_invalid);
	tcase_add_test(tc, verify_post_batch);
	tcase_add_test(tc, verify_waits_for_probe);
	tcase_add_test(tc, verify_in_progress);
	tcase_add_test(tc, busy_503);
	suite_add_tcase(s, tc);

	tc = tcase_create("connections");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, keep_alive);
	tcase_add_test(tc, trickle_deadline);
	tcase_add_test(tc, per_ip_limit);
	tcase_add_test(tc, drain);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, auth);
	tcase_add_test(tc, rate_limit);
	tcase_add_test(tc, cors);
	suite_add_tcase(s, tc);

	tc = tcase_create("operations");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, health_ready_metrics);
	suite_add_tcase(s, tc);
	return s;
}
