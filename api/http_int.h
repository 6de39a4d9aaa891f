/* http_int - what api/http.c, api/routes.c and api/verify_route.c share:
 * the daemon, connection and request structs and the internal calls
 * between them (prefix http__, routes__, verify__). Not for other
 * modules: their contract is api/http.h. */
#ifndef RCPTD_API_HTTP_INT_H
#define RCPTD_API_HTTP_INT_H

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "api/http.h"

/* The request path kept for the access log: longer ones are cut. */
#define HTTP_LOG_PATH_MAX 96
/* How much of a body past the limit is read and dropped, so that a
 * chunked upload that went over can still be answered 413 (see
 * routes__body); beyond this the connection is cut. */
#define HTTP_DISCARD_MAX (1024 * 1024)
/* An error message in a JSON error body. */
#define HTTP_ERR_MSG_MAX 200

struct http_req;

/* One TCP connection (MHD's socket_context). */
struct http_conn {
	struct http *h;
	struct MHD_Connection *mc;
	int fd;
	TAILQ_ENTRY(http_conn) link; /* h->deadlines, when armed */
	uint64_t deadline;	     /* loop time, ms */
	bool armed;
	char ip[INET6_ADDRSTRLEN];
	struct http_req *req; /* the request in progress, if any */
};

struct verify;	/* verify_route.c */
struct jobq_op; /* daemon/jobq.h, for jobs_route.c */

/* A connection suspended by a content reader (jobs_route.c's results)
 * until its next block comes: listed so that http_free() resumes it
 * before MHD stops. */
struct http_park {
	TAILQ_ENTRY(http_park) link;
	struct MHD_Connection *mc;
	bool parked;
	bool closing; /* the daemon stops: end the answer */
};

/* One request (MHD's con_cls), from its first access-handler call to
 * MHD's completion notice. */
struct http_req {
	struct http *h;
	struct http_conn *conn; /* NULL once the connection is gone */
	struct MHD_Connection *mc;
	uint64_t start_ns;
	enum metrics_route route;
	const char *method; /* MHD's string, valid for the request */
	char path[HTTP_LOG_PATH_MAX];
	bool post, options;
	/* body */
	bool store_body; /* a POST to a route that reads it */
	char *body;
	size_t body_len, body_cap;
	/* an error found before the body was complete */
	unsigned err_status;
	const char *err_code;
	char err_msg[HTTP_ERR_MSG_MAX];
	const char *allow;	 /* Allow: for 405 */
	unsigned retry_after;	 /* Retry-After: for 429, 503 */
	const char *cors_origin; /* the Access-Control-Allow-Origin */
	bool authenticated;	 /* a valid key, or none configured */
	/* the answer */
	struct MHD_Response *resp;
	unsigned status; /* set when the response is queued */
	bool queued;
	bool waiting;	    /* suspended for a verdict */
	unsigned addresses; /* for the access log */
	struct verify *vs;
	struct jobq_op *jop;	     /* a jobs request waiting for Redis */
	char job_id[33];	     /* its job (JOBSTORE_ID_LEN + 1) */
	TAILQ_ENTRY(http_req) wlink; /* h->waiting */
};

TAILQ_HEAD(http_conn_list, http_conn);
TAILQ_HEAD(http_req_list, http_req);
TAILQ_HEAD(http_park_list, http_park);

struct http {
	uv_loop_t *loop;
	struct http_config cfg;
	struct MHD_Daemon *mhd;
	uv_poll_t poll;		   /* MHD's epoll fd */
	uv_timer_t mhd_timer;	   /* MHD_get_timeout(), or 0 for "run soon" */
	uv_timer_t deadline_timer; /* the head of h->deadlines */
	uv_timer_t drain_timer;
	struct http_conn_list deadlines; /* FIFO: all deadlines are now+T */
	struct http_req_list waiting;	 /* suspended for a verdict */
	struct http_park_list parked;	 /* suspended by a content reader */
	struct verifier *verifier;
	struct metrics *metrics;
	unsigned shard;
	struct ratelimit *rl;
	struct http_hooks hooks;
	unsigned conns, reqs, nwaiting;
	bool draining, drained, closing, in_run;
	void (*drain_cb)(void *);
	void *drain_data;
	void (*closed_cb)(void *);
	void *closed_data;
	unsigned handles;
};

/* http.c */
/* http__respond - the answer of @r: a JSON document (@json, stolen) or
 * NULL for an empty body. Queued when MHD next calls the handler. Returns
 * 0, or -1 when memory runs out (the request is then closed). */
int http__respond_json(struct http_req *r, unsigned status, json_t *json);
int http__respond_raw(struct http_req *r, unsigned status, char *body,
		      size_t len, const char *content_type);
/* http__error - the error document of @status. */
int http__error(struct http_req *r, unsigned status, const char *code,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* http__wait - suspend @r until http__ready(). */
void http__wait(struct http_req *r);
/* http__ready - the answer of a waiting @r is set: resume it. */
void http__ready(struct http_req *r);

/* http__park - suspend @mc from its content reader (which returns 0);
 * http__unpark() resumes it (harmless when it is not parked). */
void http__park(struct http *h, struct http_park *p, struct MHD_Connection *mc);
void http__unpark(struct http *h, struct http_park *p);

/* routes.c */
void routes__begin(struct http_req *r, const char *url);
/* routes__body - returns 0, or -1 when the connection must be cut (far
 * too much body). */
int routes__body(struct http_req *r, const char *data, size_t len);
void routes__finish(struct http_req *r);

/* verify_route.c */
void verify__start(struct http_req *r);
/* verify__expire - stop waiting: pending addresses are answered
 * in_progress (their probes go on). */
void verify__expire(struct http_req *r);
void verify__free(struct http_req *r);

/* jobs_route.c (the rest is in jobs_route.h) */
/* jobs__expire - stop waiting for Redis: 503. */
void jobs__expire(struct http_req *r);
void jobs__free(struct http_req *r);

#endif
