/* http - the HTTP API on a libuv loop (DESIGN.md "HTTP API").
 *
 * One struct http is one libmicrohttpd daemon driven by one libuv loop,
 * on a listening socket the caller bound (http_listen); `rcptd serve
 * --threads N` runs N loops, each with its own socket (SO_REUSEPORT), MHD
 * daemon, engine and verifier. The choice of arrangement and why it is
 * this one is explained at the top of http.c.
 *
 * Routes (api/routes.c, api/verify_route.c):
 *   GET  /v1/verify?email=ADDR[&fresh=1][&transcript=1][&wait=DURATION]
 *   POST /v1/verify  {"email": ...} or {"emails": [...]} (application/json)
 *   GET  /healthz  /readyz  /metrics;  OPTIONS /v1/verify with CORS.
 * Errors are {"error": {"code": ..., "message": ...}} with 400, 401, 404,
 * 405, 413, 415, 429 (Retry-After), 500 or 503 (Retry-After).
 *
 * Deadlines: a request waits for a probe at most its wait (default
 * request_timeout_ms, "wait=" up to wait_max_ms), then is answered
 * unknown/in_progress with retry_after while the probe goes on. A
 * connection may be idle, or send one request, for at most
 * idle_timeout_ms (a total deadline, not an inactivity timer: a client
 * trickling one byte a second is closed when it runs out).
 *
 * Ownership: the config's strings, the verifier, metrics, rate limiter
 * and hooks are borrowed for the life of the struct http. http_free()
 * ends it; memory is released when its handles have closed.
 * Loop: everything runs on the loop given to http_new(), its thread only;
 * the metrics and rate limiter are the only state shared between loops. */
#ifndef RCPTD_API_HTTP_H
#define RCPTD_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "api/metrics.h"
#include "api/ratelimit.h"
#include "daemon/verifier.h"

struct http_config {
	unsigned request_timeout_ms;	 /* default wait for a verdict */
	unsigned wait_max_ms;		 /* ceiling of "wait=" */
	size_t max_body;		 /* octets of a request body */
	unsigned max_batch;		 /* addresses in one POST */
	unsigned max_connections;	 /* of this loop */
	unsigned max_connections_per_ip; /* of this loop; 0: none */
	unsigned idle_timeout_ms;
	const char *const *api_keys; /* none: no authentication */
	unsigned api_key_count;
	const char *const *cors_origins; /* "*" or origins; none: no CORS */
	unsigned cors_origin_count;
	bool access_log; /* one info line per request */
	const char *version;
	/* The loop's job store (api/jobs_route.h); NULL: /v1/jobs is 404. */
	const struct jobs_binding *jobs;
};

/* What the HTTP layer asks of the rest of its loop. Either may be NULL. */
struct http_hooks {
	/* ready - for /readyz: false, with a few words in @why, when a
	 * dependency (Redis, when configured) does not answer. */
	bool (*ready)(void *data, char *why, size_t len);
	/* collect - the engine's, verifier's and cache's counters of this
	 * loop, for /metrics. */
	void (*collect)(void *data, struct metrics_collected *c);
	void *data;
};

struct http;
struct jobs_binding;

/* http_listen - bind @count listening TCP sockets to @addr ("IP:PORT",
 * "[IPv6]:PORT"), with SO_REUSEPORT when @count > 1 so that the kernel
 * spreads connections over them; port 0 picks one free port for all.
 * Returns 0 and the sockets (non-blocking, close-on-exec) in @fds, or -1
 * with one line in @err naming --listen. */
int http_listen(const char *addr, unsigned count, int *fds, char *err,
		size_t errlen);

/* http_listen_port - the port a listening socket is bound to; 0 on error.
 */
unsigned http_listen_port(int fd);

/* http_new - serve on @listen_fd (the struct http takes ownership of it)
 * from @loop, as metrics shard @shard; @rl may be NULL (no rate limit).
 * Returns 0, or -1 with one line in @err. */
int http_new(uv_loop_t *loop, const struct http_config *c, int listen_fd,
	     struct verifier *v, struct metrics *m, unsigned shard,
	     struct ratelimit *rl, const struct http_hooks *hooks,
	     struct http **out, char *err, size_t errlen);

/* http_drain - stop accepting connections and finish the requests in
 * flight: those still waiting for a probe after @deadline_ms are answered
 * in_progress; responses carry "Connection: close". @done runs once, on a
 * later turn of the loop, when no request is left. Call it once. */
void http_drain(struct http *h, unsigned deadline_ms, void (*done)(void *),
		void *data);

/* http_free - stop now: requests still waiting are answered in_progress
 * (their probes go on), every connection is closed; @closed (may be NULL)
 * runs when the memory is gone, on a later turn of the loop. */
void http_free(struct http *h, void (*closed)(void *), void *data);

#endif
