/* http - libmicrohttpd on the libuv loop (see http.h).
 *
 * The arrangement, and why:
 *   MHD runs in external-epoll mode (MHD_USE_EPOLL without an internal
 *   thread). Its epoll descriptor (MHD_DAEMON_INFO_EPOLL_FD) is one
 *   uv_poll_t on our loop, and a uv_timer follows MHD_get_timeout(); on
 *   either we call MHD_run(), which does a non-blocking epoll_wait() and
 *   handles what is ready. A request whose verdict is not known at once is
 *   suspended (MHD_ALLOW_SUSPEND_RESUME); the verifier's callback, on the
 *   same loop, sets the answer and resumes it. So the engine, the cache
 *   and HTTP share one thread: no lock and no queue between a verdict and
 *   its request, and a cache hit is answered within the same turn.
 *   More cores: `--threads N` runs N such loops, each on its own
 *   SO_REUSEPORT socket (MHD_OPTION_LISTEN_SOCKET), with its own MHD,
 *   engine and verifier.
 *
 *   Measured on this machine (Debian 12, libmicrohttpd 0.9.75, 2 cores;
 *   wrk -t2 -d4s, a fixed 64-octet JSON answer, the client on the same
 *   host), requests/s at 64/128/256/512/1024 connections:
 *     MHD internal epoll thread  65668 / 136 / 154 / 754 / 881
 *     external epoll on libuv    50854 / 48579 / 44679 / 49955 / 53531
 *   The internal loop stalls because it drains epoll in batches of 128
 *   events and, when a batch is full, asks again with an infinite timeout
 *   before handling the batch (strace: epoll_wait(..., 128, -1)); MHD_run()
 *   in external mode always passes a timeout of 0, so it cannot.
 *   rcptd serve itself, same sweep, 1 loop, access log off:
 *     GET /v1/verify?email=x@@y (precheck)  67467 / 55345 / 60276 / 51726 /
 *                                           45145
 *     GET /healthz                          59185 / 59900 / 74995 / 61601 /
 *                                           59450
 *   (cache hits against nginx and a plain MHD program: BENCHMARKS.md
 *   "HTTP").
 *
 * Keep-alive: MHD 0.9.75 closes the connection after a response queued
 * on the first call of the access handler (the body is not read yet, so
 * it cannot know where the next request starts): 15 k instead of 69 k
 * requests/s here. Every response is therefore queued on a later call,
 * once the body is complete; the only exception is 413, where closing is
 * the point.
 *
 * Deadlines of our own (MHD's connection timeout is an inactivity timer,
 * reset by every byte): a connection's deadline is now + idle_timeout
 * when it opens, when a request line arrives (MHD's URI callback), when a
 * response is queued and when a request completes; it is off while the
 * request waits for a verdict (the wait timer bounds that). As every
 * deadline is now plus one constant, the armed connections form a FIFO
 * ordered by deadline: one timer for all of them, O(1) per change. An
 * expired connection is shut down (shutdown(2) on its socket); MHD sees
 * the end of the stream and closes it in its own way. */
#include "api/http.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/http_int.h"
#include "daemon/log.h"

/* MHD's per-connection memory pool holds the request line and headers
 * (and the read and write buffers): it bounds what a client can make us
 * hold before the handler is called. 8 KiB, not MHD's default of 32: MHD
 * 0.9.75 clears the whole pool for every request on a keep-alive
 * connection, so its size is paid per request (32 KiB of memset was 5 to
 * 10 % of a cache hit's CPU, BENCHMARKS.md "HTTP") and, at 1024
 * connections, in cache misses. 8 KiB leaves a request head of about
 * 7 KiB (measured: a 9 KiB header gets MHD's 431, a 9 KiB request line
 * 414), as nginx's default large_client_header_buffers (8 KiB): an API
 * request (a URL with at most 320 octets of address, 3 times that
 * %-encoded; Authorization, Origin, Content-Type) needs under 2 KiB. */
#define HTTP_CONN_MEMORY (8 * 1024)

static void mhd_run(struct http *h);

/* ---- connection deadlines ----------------------------------------------- */

static void on_deadline(uv_timer_t *t);

static void deadline_schedule(struct http *h)
{
	struct http_conn *c = TAILQ_FIRST(&h->deadlines);
	uint64_t now = uv_now(h->loop);

	if (h->closing)
		return;
	if (c == NULL) {
		uv_timer_stop(&h->deadline_timer);
		return;
	}
	uv_timer_start(&h->deadline_timer, on_deadline,
		       c->deadline > now ? c->deadline - now : 0, 0);
}

static void conn_disarm(struct http_conn *c)
{
	if (c->armed) {
		TAILQ_REMOVE(&c->h->deadlines, c, link);
		c->armed = false;
	}
}

/* conn_arm - the connection's deadline is now + idle_timeout: to the
 * tail of the FIFO. The timer, set for the head, need not move unless
 * the list was empty. */
static void conn_arm(struct http_conn *c)
{
	struct http *h = c->h;
	bool was_empty = TAILQ_EMPTY(&h->deadlines);

	if (h->closing)
		return;
	conn_disarm(c);
	c->deadline = uv_now(h->loop) + h->cfg.idle_timeout_ms;
	TAILQ_INSERT_TAIL(&h->deadlines, c, link);
	c->armed = true;
	if (was_empty || !uv_is_active((uv_handle_t *)&h->deadline_timer))
		deadline_schedule(h);
}

/* on_deadline - shut down every connection whose deadline has passed:
 * idle too long, or a request that did not arrive in time. */
static void on_deadline(uv_timer_t *t)
{
	struct http *h = t->data;
	uint64_t now = uv_now(h->loop);
	struct http_conn *c;
	bool killed = false;

	while ((c = TAILQ_FIRST(&h->deadlines)) != NULL && c->deadline <= now) {
		conn_disarm(c);
		if (c->req != NULL)
			log_info("closing the connection of %s: request not "
				 "complete within %u ms",
				 c->ip, h->cfg.idle_timeout_ms);
		shutdown(c->fd, SHUT_RDWR);
		killed = true;
	}
	deadline_schedule(h);
	if (killed)
		mhd_run(h);
}

/* ---- the MHD event loop -------------------------------------------------- */

static void on_mhd_timer(uv_timer_t *t)
{
	mhd_run(t->data);
}

static void on_mhd_poll(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	mhd_run(p->data);
}

/* mhd_run - let MHD handle what is ready, then wake it again when its
 * next timeout is due (0: it has work left, e.g. a resumed request). */
static void mhd_run(struct http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (h->mhd == NULL || h->in_run)
		return;
	h->in_run = true;
	MHD_run(h->mhd);
	h->in_run = false;
	if (h->closing)
		return;
	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES)
		uv_timer_start(&h->mhd_timer, on_mhd_timer, ms, 0);
	else
		uv_timer_stop(&h->mhd_timer);
}

/* kick - run MHD on the next turn (after a resume, from outside MHD). */
static void kick(struct http *h)
{
	if (!h->closing && h->mhd != NULL)
		uv_timer_start(&h->mhd_timer, on_mhd_timer, 0, 0);
}

/* ---- answers --------------------------------------------------------------
 */

static int add_headers(struct http_req *r, struct MHD_Response *resp)
{
	int ok = MHD_YES;

	ok &= MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (r->cors_origin) {
		ok &= MHD_add_response_header(
		    resp, "Access-Control-Allow-Origin", r->cors_origin);
		ok &= MHD_add_response_header(resp, "Vary", "Origin");
	}
	if (r->retry_after) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%u", r->retry_after);
		ok &= MHD_add_response_header(resp, "Retry-After", ra);
	}
	if (r->h->draining)
		ok &= MHD_add_response_header(resp, "Connection", "close");
	return ok == MHD_YES ? 0 : -1;
}

int http__respond_raw(struct http_req *r, unsigned status, char *body,
		      size_t len, const char *content_type)
{
	struct MHD_Response *resp;

	if (body == NULL)
		resp = MHD_create_response_from_buffer(0, (void *)"",
						       MHD_RESPMEM_PERSISTENT);
	else
		resp = MHD_create_response_from_buffer(len, body,
						       MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return -1;
	}
	if ((content_type &&
	     MHD_add_response_header(resp, "Content-Type", content_type) !=
		 MHD_YES) ||
	    add_headers(r, resp) < 0) {
		MHD_destroy_response(resp);
		return -1;
	}
	if (r->resp)
		MHD_destroy_response(r->resp);
	r->resp = resp;
	r->status = status;
	return 0;
}

int http__respond_json(struct http_req *r, unsigned status, json_t *json)
{
	char *text;

	if (json == NULL)
		return -1;
	text = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(json);
	if (text == NULL)
		return -1;
	return http__respond_raw(r, status, text, strlen(text),
				 "application/json");
}

int http__error(struct http_req *r, unsigned status, const char *code,
		const char *fmt, ...)
{
	char msg[HTTP_ERR_MSG_MAX];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rc = http__respond_json(
	    r, status,
	    json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
	if (rc == 0 && status == 405 && r->allow)
		MHD_add_response_header(r->resp, "Allow", r->allow);
	if (rc == 0 && status == 401)
		MHD_add_response_header(r->resp, "WWW-Authenticate",
					"Bearer realm=\"rcptd\"");
	return rc;
}

void http__wait(struct http_req *r)
{
	struct http *h = r->h;

	r->waiting = true;
	TAILQ_INSERT_TAIL(&h->waiting, r, wlink);
	h->nwaiting++;
	metrics_gauges(h->metrics, h->shard, h->conns, h->nwaiting);
	if (r->conn)
		conn_disarm(r->conn);
	MHD_suspend_connection(r->mc);
}

void http__ready(struct http_req *r)
{
	struct http *h = r->h;

	if (!r->waiting)
		return; /* answered within the handler: queued on return */
	r->waiting = false;
	TAILQ_REMOVE(&h->waiting, r, wlink);
	h->nwaiting--;
	metrics_gauges(h->metrics, h->shard, h->conns, h->nwaiting);
	MHD_resume_connection(r->mc);
	kick(h);
}

void http__park(struct http *h, struct http_park *p, struct MHD_Connection *mc)
{
	if (p->parked)
		return;
	p->parked = true;
	p->mc = mc;
	TAILQ_INSERT_TAIL(&h->parked, p, link);
	MHD_suspend_connection(mc);
}

void http__unpark(struct http *h, struct http_park *p)
{
	if (!p->parked)
		return;
	p->parked = false;
	TAILQ_REMOVE(&h->parked, p, link);
	MHD_resume_connection(p->mc);
	kick(h);
}

/* expire - stop a request's wait: verdicts in_progress, jobs 503. */
static void expire(struct http_req *r)
{
	if (r->jop)
		jobs__expire(r);
	else
		verify__expire(r);
}

/* queue - hand the answer to MHD. */
static enum MHD_Result queue(struct http_req *r)
{
	enum MHD_Result rc;

	if (r->resp == NULL)
		return MHD_NO;
	rc = MHD_queue_response(r->mc, r->status, r->resp);
	MHD_destroy_response(r->resp);
	r->resp = NULL;
	r->queued = rc == MHD_YES;
	if (r->conn)
		conn_arm(r->conn); /* the answer must leave in time too */
	return rc;
}

/* ---- MHD's callbacks -------------------------------------------------------
 */

static void req_free(struct http_req *r)
{
	if (r->vs)
		verify__free(r);
	if (r->jop)
		jobs__free(r);
	if (r->resp)
		MHD_destroy_response(r->resp);
	free(r->body);
	free(r);
}

static struct http_req *req_new(struct http *h, struct MHD_Connection *mc,
				const char *url, const char *method)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct http_req *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->h = h;
	r->mc = mc;
	r->conn = ci ? ci->socket_context : NULL;
	r->start_ns = uv_hrtime();
	r->method = method;
	r->route = METRICS_ROUTE_OTHER;
	snprintf(r->path, sizeof(r->path), "%s", url);
	if (r->conn)
		r->conn->req = r;
	h->reqs++;
	return r;
}

/* on_request - MHD's access handler; see the top of this file for the
 * order of calls. Returns MHD_NO only to drop the connection. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	struct http *h = cls;
	struct http_req *r = *con_cls;

	(void)version;
	if (r == NULL) {
		/* First call: the headers are in. Decide what can be
		 * decided; answer on a later call (keep-alive). */
		r = req_new(h, mc, url, method);
		if (r == NULL)
			return MHD_NO;
		*con_cls = r;
		routes__begin(r, url);
		if (r->err_status == 413)
			return queue(r); /* and close: the body is unread */
		return MHD_YES;
	}
	if (*data_size != 0) {
		size_t n = *data_size;
		*data_size = 0;
		if (r->queued) /* 413 queued: MHD drops the rest */
			return MHD_YES;
		return routes__body(r, data, n) < 0 ? MHD_NO : MHD_YES;
	}
	if (r->resp != NULL)
		return queue(r); /* resumed, or set earlier */
	if (r->queued)
		return MHD_YES;
	routes__finish(r);
	if (r->resp != NULL)
		return queue(r);
	if (r->waiting)
		return MHD_YES; /* suspended; resumed by http__ready() */
	return MHD_NO;		/* no answer could be made: out of memory */
}

/* on_uri - a request line has arrived: the request gets its deadline. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	(void)cls;
	(void)uri;
	if (ci && ci->socket_context)
		conn_arm(ci->socket_context);
	return NULL;
}

static const char *toe_name(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK:
		return "ok";
	case MHD_REQUEST_TERMINATED_WITH_ERROR:
		return "error";
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
		return "timeout";
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
		return "shutdown";
	case MHD_REQUEST_TERMINATED_READ_ERROR:
		return "read error";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
		return "client closed";
	}
	return "?";
}

static void on_drain_timer(uv_timer_t *t);

/* drained_check - a draining daemon with no request left reports it,
 * from a timer: this may run inside MHD_run(), where the caller's
 * callback must not stop MHD. */
static void drained_check(struct http *h)
{
	if (h->draining && !h->drained && h->reqs == 0 && !h->closing) {
		h->drained = true;
		uv_timer_start(&h->drain_timer, on_drain_timer, 0, 0);
	}
}

/* on_completed - the request is over (answered, or its connection
 * failed): access log, metrics, and the connection's idle deadline. */
static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http *h = cls;
	struct http_req *r = *con_cls;
	uint64_t usec;

	(void)mc;
	if (r == NULL)
		return;
	*con_cls = NULL;
	if (r->waiting) {
		/* Only MHD_stop_daemon() ends a suspended request; its
		 * probes go on without it. */
		TAILQ_REMOVE(&h->waiting, r, wlink);
		h->nwaiting--;
		r->waiting = false;
	}
	usec = (uv_hrtime() - r->start_ns) / 1000;
	if (r->queued)
		metrics_request(h->metrics, h->shard, r->route, r->status,
				usec);
	if (h->cfg.access_log) {
		char st[8] = "-";
		if (r->queued)
			snprintf(st, sizeof(st), "%u", r->status);
		log_info(
		    "access %s \"%s %s\" %s %llu.%03llums%s%s%s",
		    r->conn ? r->conn->ip : "-", r->method, r->path, st,
		    (unsigned long long)(usec / 1000),
		    (unsigned long long)(usec % 1000),
		    r->addresses > 1 ? " batch" : "",
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
							       : " ended: ",
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
							       : toe_name(toe));
	}
	if (r->conn) {
		r->conn->req = NULL;
		conn_arm(r->conn);
	}
	h->reqs--;
	req_free(r);
	drained_check(h);
}

static void on_connection(void *cls, struct MHD_Connection *mc,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct http *h = cls;
	struct http_conn *c = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd, *addr;
		c = calloc(1, sizeof(*c));
		if (c == NULL)
			return; /* served without deadlines of our own */
		c->h = h;
		c->mc = mc;
		fd = MHD_get_connection_info(mc,
					     MHD_CONNECTION_INFO_CONNECTION_FD);
		addr = MHD_get_connection_info(
		    mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		c->fd = fd ? fd->connect_fd : -1;
		snprintf(c->ip, sizeof(c->ip), "?");
		if (addr && addr->client_addr) {
			const struct sockaddr *sa = addr->client_addr;
			if (sa->sa_family == AF_INET)
				inet_ntop(
				    AF_INET,
				    &((const struct sockaddr_in *)sa)->sin_addr,
				    c->ip, sizeof(c->ip));
			else if (sa->sa_family == AF_INET6)
				inet_ntop(AF_INET6,
					  &((const struct sockaddr_in6 *)sa)
					       ->sin6_addr,
					  c->ip, sizeof(c->ip));
		}
		*socket_context = c;
		h->conns++;
		metrics_gauges(h->metrics, h->shard, h->conns, h->nwaiting);
		if (c->fd >= 0)
			conn_arm(c);
		return;
	}
	if (c == NULL)
		return;
	*socket_context = NULL;
	conn_disarm(c);
	if (c->req)
		c->req->conn = NULL;
	free(c);
	h->conns--;
	metrics_gauges(h->metrics, h->shard, h->conns, h->nwaiting);
}

/* on_mhd_log - MHD's own messages (limits reached, malformed requests)
 * are of interest when debugging, and a flood under attack otherwise.
 * The format is MHD's own (the attribute lets the compiler check the
 * vsnprintf below as it checks every printf-like function). */
__attribute__((format(printf, 2, 0))) static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_debug("libmicrohttpd: %s", msg);
}

/* ---- life cycle ----------------------------------------------------------
 */

int http_new(uv_loop_t *loop, const struct http_config *c, int listen_fd,
	     struct verifier *v, struct metrics *m, unsigned shard,
	     struct ratelimit *rl, const struct http_hooks *hooks,
	     struct http **out, char *err, size_t errlen)
{
	struct http *h = calloc(1, sizeof(*h));
	const union MHD_DaemonInfo *info;
	/* MHD's inactivity timeout backs ours up (whole seconds). */
	unsigned idle_s = (c->idle_timeout_ms + 999) / 1000 + 1;

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		close(listen_fd);
		return -1;
	}
	h->loop = loop;
	h->cfg = *c;
	h->verifier = v;
	h->metrics = m;
	h->shard = shard;
	h->rl = rl;
	if (hooks)
		h->hooks = *hooks;
	TAILQ_INIT(&h->deadlines);
	TAILQ_INIT(&h->waiting);
	TAILQ_INIT(&h->parked);
	h->mhd = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, listen_fd,
	    MHD_OPTION_CONNECTION_LIMIT, c->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, c->max_connections_per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, idle_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, h, MHD_OPTION_EXTERNAL_LOGGER,
	    on_mhd_log, h, MHD_OPTION_END);
	if (h->mhd == NULL) {
		snprintf(err, errlen, "libmicrohttpd refused to start");
		/* Whether MHD closed it on failure is not documented. */
		if (fcntl(listen_fd, F_GETFD) != -1)
			close(listen_fd);
		free(h);
		return -1;
	}
	/* MHD owns the socket now (MHD_stop_daemon closes it), unless it
	 * hands it back from MHD_quiesce_daemon(). */
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL || uv_poll_init(loop, &h->poll, info->epoll_fd) != 0) {
		snprintf(err, errlen, "libmicrohttpd: no epoll descriptor");
		MHD_stop_daemon(h->mhd);
		free(h);
		return -1;
	}
	uv_timer_init(loop, &h->mhd_timer);
	uv_timer_init(loop, &h->deadline_timer);
	uv_timer_init(loop, &h->drain_timer);
	h->poll.data = h->mhd_timer.data = h->deadline_timer.data =
	    h->drain_timer.data = h;
	h->handles = 4;
	uv_poll_start(&h->poll, UV_READABLE, on_mhd_poll);
	mhd_run(h);
	*out = h;
	return 0;
}

static void on_drain_timer(uv_timer_t *t)
{
	struct http *h = t->data;

	if (h->drained) {
		if (h->drain_cb)
			h->drain_cb(h->drain_data);
		return;
	}
	/* The drain deadline: answer whoever still waits. */
	while (!TAILQ_EMPTY(&h->waiting))
		expire(TAILQ_FIRST(&h->waiting));
}

void http_drain(struct http *h, unsigned deadline_ms, void (*done)(void *),
		void *data)
{
	MHD_socket fd;

	if (h->draining || h->closing)
		return;
	h->draining = true;
	h->drain_cb = done;
	h->drain_data = data;
	/* Stop accepting. In external mode MHD no longer touches the
	 * socket after this; it is ours to close. */
	fd = MHD_quiesce_daemon(h->mhd);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	uv_timer_start(&h->drain_timer, on_drain_timer, deadline_ms, 0);
	drained_check(h);
}

static void on_handle_closed(uv_handle_t *handle)
{
	struct http *h = handle->data;

	if (--h->handles > 0)
		return;
	void (*cb)(void *) = h->closed_cb;
	void *data = h->closed_data;
	free(h);
	if (cb)
		cb(data);
}

void http_free(struct http *h, void (*closed)(void *), void *data)
{
	if (h->closing)
		return;
	/* Answer the waiting (MHD refuses to stop with a suspended
	 * connection), then stop. */
	while (!TAILQ_EMPTY(&h->waiting))
		expire(TAILQ_FIRST(&h->waiting));
	while (!TAILQ_EMPTY(&h->parked)) {
		struct http_park *p = TAILQ_FIRST(&h->parked);
		p->closing = true;
		http__unpark(h, p);
	}
	h->closing = true;
	h->closed_cb = closed;
	h->closed_data = data;
	/* The poll goes before MHD closes the descriptor it watches. */
	uv_close((uv_handle_t *)&h->poll, on_handle_closed);
	uv_close((uv_handle_t *)&h->mhd_timer, on_handle_closed);
	uv_close((uv_handle_t *)&h->deadline_timer, on_handle_closed);
	uv_close((uv_handle_t *)&h->drain_timer, on_handle_closed);
	MHD_stop_daemon(h->mhd); /* completes every request (on_completed) */
	h->mhd = NULL;
	TAILQ_INIT(&h->deadlines);
}
