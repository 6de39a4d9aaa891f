/* routes - which route a request takes and the checks before it runs:
 * method, CORS, rate limit, authentication, content type and body size;
 * then /healthz, /readyz and /metrics (the verify route is in
 * verify_route.c).
 *
 * Order of the checks, each answering with its own status:
 *   unknown path 404, method 405 (with Allow), CORS preflight 204,
 *   rate limit 429 (with Retry-After; by API key when the request carries
 *   a valid one, else by client IP, so that guessing keys is limited
 *   too), API key 401, Content-Type 415, body size 413.
 * /healthz and /readyz need no key and are not rate limited: they are
 * for the orchestrator's probes. /metrics needs the key when keys are
 * configured (it tells the traffic) but is not rate limited.
 *
 * Security: keys are compared in constant time (the time depends on the
 * configured key's length only, never on how much of it matched), and a
 * key never reaches a log line or a metric. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/http_int.h"
#include "api/jobs_route.h"
#include "api/reqparse.h"

/* Methods as bits. */
#define M_GET	  0x1u
#define M_HEAD	  0x2u
#define M_POST	  0x4u
#define M_OPTIONS 0x8u
#define M_DELETE  0x10u

struct route {
	const char *path;
	enum metrics_route id;
	unsigned methods;
	const char *allow; /* the Allow header of a 405 */
	bool auth;	   /* needs the API key when keys are set */
	bool limited;	   /* counts against the rate limit */
	unsigned jobs;	   /* 1: /v1/jobs, 2: a prefix of /v1/jobs/ID...
			    * (jobs_route.c; only with a job store) */
};

static const struct route routes[] = {
    {"/v1/verify", METRICS_ROUTE_VERIFY, M_GET | M_HEAD | M_POST,
     "GET, HEAD, POST", true, true, 0},
    {"/healthz", METRICS_ROUTE_HEALTHZ, M_GET | M_HEAD, "GET, HEAD", false,
     false, 0},
    {"/readyz", METRICS_ROUTE_READYZ, M_GET | M_HEAD, "GET, HEAD", false, false,
     0},
    {"/metrics", METRICS_ROUTE_METRICS, M_GET | M_HEAD, "GET, HEAD", true,
     false, 0},
    {"/v1/jobs", METRICS_ROUTE_JOBS, M_POST, "POST", true, true, 1},
    {"/v1/jobs/", METRICS_ROUTE_JOBS, M_GET | M_HEAD | M_DELETE,
     "GET, HEAD, DELETE", true, true, 2},
};

static unsigned method_bit(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return M_GET;
	if (strcmp(m, "HEAD") == 0)
		return M_HEAD;
	if (strcmp(m, "POST") == 0)
		return M_POST;
	if (strcmp(m, "OPTIONS") == 0)
		return M_OPTIONS;
	if (strcmp(m, "DELETE") == 0)
		return M_DELETE;
	return 0;
}

/* ct_equal - @a (@alen, from the client) equals @key (a configured key)?
 * Runs over every octet of @key whatever @a holds. */
static bool ct_equal(const char *a, size_t alen, const char *key)
{
	size_t klen = strlen(key);
	unsigned char diff = (unsigned char)(alen != klen);

	for (size_t i = 0; i < klen; i++) {
		unsigned char c = i < alen ? (unsigned char)a[i] : 0;
		diff |= c ^ (unsigned char)key[i];
	}
	return diff == 0;
}

/* bearer - the token of "Authorization: Bearer TOKEN" (RFC 6750 2.1;
 * the scheme is case-insensitive), or NULL. */
static const char *bearer(struct MHD_Connection *mc, size_t *len)
{
	const char *v =
	    MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Authorization");

	if (v == NULL || strncasecmp(v, "Bearer ", 7) != 0)
		return NULL;
	v += 7;
	while (*v == ' ')
		v++;
	*len = strlen(v);
	while (*len && v[*len - 1] == ' ')
		(*len)--;
	return *len ? v : NULL;
}

/* key_check - whether a configured key matches; every key is compared,
 * so the time does not tell which one (or whether one) matched. */
static bool key_check(const struct http *h, const char *tok, size_t len)
{
	bool ok = false;

	for (unsigned i = 0; i < h->cfg.api_key_count; i++)
		ok |= ct_equal(tok, len, h->cfg.api_keys[i]);
	return ok;
}

/* cors_match - the Access-Control-Allow-Origin for @origin, or NULL. */
static const char *cors_match(const struct http *h, const char *origin)
{
	for (unsigned i = 0; i < h->cfg.cors_origin_count; i++) {
		const char *o = h->cfg.cors_origins[i];
		if (strcmp(o, "*") == 0)
			return "*";
		if (origin && strcmp(o, origin) == 0)
			return o;
	}
	return NULL;
}

/* set_error - remember an error to answer once the body is in. */
static void set_error(struct http_req *r, unsigned status, const char *code,
		      const char *msg)
{
	r->err_status = status;
	r->err_code = code;
	snprintf(r->err_msg, sizeof(r->err_msg), "%s", msg);
}

/* too_large - answer 413 now: the connection closes after it, as the
 * rest of the body is never read. */
static void too_large(struct http_req *r)
{
	set_error(r, 413, "payload_too_large",
		  "the body is larger than the limit");
	if (http__error(r, 413, r->err_code, "%s (%zu octets)", r->err_msg,
			r->h->cfg.max_body) == 0)
		MHD_add_response_header(r->resp, "Connection", "close");
}

/* rate_check - take a token for the client; false (429 set) if none. */
static bool rate_check(struct http_req *r, const char *tok, size_t toklen)
{
	struct http *h = r->h;
	char key[1 + 1024 + 1];
	size_t n;
	unsigned wait;

	if (h->rl == NULL)
		return true;
	if (tok && r->authenticated && h->cfg.api_key_count) {
		n = toklen < sizeof(key) - 1 ? toklen : sizeof(key) - 1;
		key[0] = 'k';
		memcpy(key + 1, tok, n);
		n++;
	} else {
		n = (size_t)snprintf(key, sizeof(key), "i%s",
				     r->conn ? r->conn->ip : "?");
	}
	wait = ratelimit_take(h->rl, key, n, uv_now(h->loop));
	/* The key's copy is wiped: it must not linger on the stack. */
	explicit_bzero(key, sizeof(key));
	if (wait == 0)
		return true;
	r->retry_after = wait;
	set_error(r, 429, "rate_limited",
		  "too many requests; retry after the Retry-After seconds");
	return false;
}

void routes__begin(struct http_req *r, const char *url)
{
	struct http *h = r->h;
	struct MHD_Connection *mc = r->mc;
	const struct route *rt = NULL;
	unsigned m = method_bit(r->method);
	const char *tok = NULL, *v;
	size_t toklen = 0;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (routes[i].jobs && !jobs__enabled(r))
			continue;
		if (routes[i].jobs == 2 ? strncmp(url, routes[i].path,
						  strlen(routes[i].path)) == 0
					: strcmp(url, routes[i].path) == 0)
			rt = &routes[i];
	}
	if (h->cfg.cors_origin_count)
		r->cors_origin = cors_match(
		    h,
		    MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Origin"));
	if (rt == NULL) {
		set_error(r, 404, "not_found", "no such route");
		return;
	}
	r->route = rt->id;
	if (m == M_OPTIONS && rt->id == METRICS_ROUTE_VERIFY &&
	    h->cfg.cors_origin_count) {
		r->options = true; /* a CORS preflight: no key, no limit */
		return;
	}
	if (!(rt->methods & m)) {
		r->allow = rt->allow;
		set_error(r, 405, "method_not_allowed",
			  "method not allowed on this route");
		return;
	}
	tok = bearer(mc, &toklen);
	r->authenticated = h->cfg.api_key_count == 0 ||
			   (tok != NULL && key_check(h, tok, toklen));
	if (rt->limited && !rate_check(r, tok, toklen))
		return;
	if (rt->auth && !r->authenticated) {
		set_error(r, 401, "unauthorized",
			  tok ? "the API key is not valid"
			      : "an API key is required (Authorization: "
				"Bearer KEY)");
		return;
	}
	/* A declared body over the limit is refused before it is read,
	 * whatever the method. */
	v = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Length");
	if (v != NULL) {
		char *end;
		unsigned long long n = strtoull(v, &end, 10);
		if (*end == '\0' &&
		    n > (rt->jobs ? jobs__max_body(r) : h->cfg.max_body)) {
			too_large(r);
			return;
		}
	}
	if (m != M_POST)
		return;
	r->post = true;
	v = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Type");
	if (rt->jobs && !jobs__content_type(v)) {
		set_error(r, 415, "unsupported_media_type",
			  "the body must be text/csv, text/plain, "
			  "application/x-ndjson or application/json");
		return;
	}
	if (!rt->jobs && !reqparse_json_type(v)) {
		set_error(r, 415, "unsupported_media_type",
			  "the body must be application/json");
		return;
	}
	r->store_body = true;
}

int routes__body(struct http_req *r, const char *data, size_t len)
{
	struct http *h = r->h;
	size_t max_body = jobs__is(r) ? jobs__max_body(r) : h->cfg.max_body;

	/* Bodies of requests that read none are still counted: nobody
	 * may send an unbounded stream, whatever the route. A body of
	 * unknown length (chunked) that goes over the limit cannot be
	 * answered at once (MHD 0.9.75 refuses a response in the middle
	 * of an upload), so the rest is read and dropped and 413 answered
	 * at its end; past HTTP_DISCARD_MAX more the connection is cut. */
	if (r->body_len + len > max_body) {
		if (r->err_status != 413) {
			set_error(r, 413, "payload_too_large",
				  "the body is larger than the limit");
			free(r->body);
			r->body = NULL;
			r->body_cap = 0;
			r->store_body = false;
		}
		if (r->body_len - max_body + len > HTTP_DISCARD_MAX)
			return -1;
		r->body_len += len;
		return 0;
	}
	if (r->store_body && r->err_status == 0) {
		if (r->body_len + len > r->body_cap) {
			size_t cap = r->body_cap ? r->body_cap : 4096;
			while (cap < r->body_len + len)
				cap *= 2;
			if (cap > max_body)
				cap = max_body;
			char *nb = realloc(r->body, cap);
			if (nb == NULL) {
				set_error(r, 500, "internal", "out of memory");
				r->store_body = false;
				r->body_len += len;
				return 0;
			}
			r->body = nb;
			r->body_cap = cap;
		}
		memcpy(r->body + r->body_len, data, len);
	}
	r->body_len += len;
	return 0;
}

/* ready - /readyz: the loop answers (we are running on it) and, when
 * Redis is configured, Redis answers; never while draining. */
static void ready(struct http_req *r)
{
	struct http *h = r->h;
	char why[128] = "";
	bool ok = !h->draining;

	if (!ok)
		snprintf(why, sizeof(why), "shutting down");
	else if (h->hooks.ready)
		ok = h->hooks.ready(h->hooks.data, why, sizeof(why));
	if (ok)
		http__respond_json(r, 200,
				   json_pack("{s:s}", "status", "ready"));
	else {
		r->retry_after = 1;
		http__respond_json(r, 503,
				   json_pack("{s:s,s:s}", "status", "not_ready",
					     "reason", why));
	}
}

/* metrics - /metrics: this loop's counters are collected now; the other
 * loops' are at most a second old (their own timers). */
static void metrics_page(struct http_req *r)
{
	struct http *h = r->h;
	char *page;
	size_t len;

	if (h->hooks.collect) {
		struct metrics_collected c = {0};
		h->hooks.collect(h->hooks.data, &c);
		metrics_set_collected(h->metrics, h->shard, &c);
	}
	page = metrics_render(h->metrics, h->cfg.version, &len);
	if (page == NULL) {
		http__error(r, 500, "internal", "out of memory");
		return;
	}
	http__respond_raw(r, 200, page, len,
			  "text/plain; version=0.0.4; charset=utf-8");
}

void routes__finish(struct http_req *r)
{
	if (r->err_status) {
		http__error(r, r->err_status, r->err_code, "%s", r->err_msg);
		return;
	}
	if (r->options) {
		if (http__respond_raw(r, 204, NULL, 0, NULL) == 0) {
			MHD_add_response_header(r->resp,
						"Access-Control-Allow-Methods",
						"GET, POST, OPTIONS");
			MHD_add_response_header(r->resp,
						"Access-Control-Allow-Headers",
						"Authorization, Content-Type");
			MHD_add_response_header(
			    r->resp, "Access-Control-Max-Age", "600");
		}
		return;
	}
	switch (r->route) {
	case METRICS_ROUTE_HEALTHZ:
		http__respond_json(r, 200, json_pack("{s:s}", "status", "ok"));
		return;
	case METRICS_ROUTE_READYZ:
		ready(r);
		return;
	case METRICS_ROUTE_METRICS:
		metrics_page(r);
		return;
	case METRICS_ROUTE_VERIFY:
		verify__start(r);
		return;
	case METRICS_ROUTE_JOBS:
		if (jobs__is(r)) {
			jobs__start(r);
			return;
		}
		break;
	case METRICS_ROUTE_OTHER:
	case METRICS_ROUTE_LAST:
		break;
	}
	http__error(r, 404, "not_found", "no such route");
}
