/* hostgate - shared per-host session slots on Redis (see hostgate.h). */
#include "daemon/hostgate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "core/redis_url.h"
#include "daemon/redis_conn.h"

/* KEYS[1] the host's set, ARGV[1] cap, ARGV[2] lease ms, ARGV[3] token.
 * TIME is Redis' clock: the instances' clocks never meet. */
static const char acquire_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
    "if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then\n"
    "  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

/* KEYS[1] the host's set, ARGV[1] lease ms, ARGV[2] token: a lease
 * still held gets a new expiry (XX: an expired one is not brought back). */
static const char renew_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[1]), "
    "ARGV[2]) == 1 then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
    "end\n"
    "return 1\n";

#define HOSTGATE_KEY_MAX  80 /* "rcptd:v1:host:" + an IPv6 address */
#define HOSTGATE_HOST_MAX 64

/* A lease granted and not yet released: renewed while held. */
struct lease {
	TAILQ_ENTRY(lease) link;
	uint64_t token;
	char host[HOSTGATE_HOST_MAX];
};
TAILQ_HEAD(lease_list, lease);

struct hostgate {
	struct redis_conn *rc;
	unsigned lease_ms;
	uint64_t next_token;
	struct hostgate_stats stats;
	struct lease_list held;
	uv_timer_t renew;
	unsigned closing_parts;
	void (*closed_cb)(void *);
	void *closed_data;
};

struct acquire {
	struct hostgate *g;
	void (*done)(void *ctx, bool granted, uint64_t token);
	void *ctx;
	uint64_t token;
	char host[HOSTGATE_HOST_MAX];
};

static void key_of(char *key, const char *host)
{
	snprintf(key, HOSTGATE_KEY_MAX, "rcptd:v1:host:%s", host);
}

static void on_renewed(void *data, enum redis_conn_status status,
		       const redisReply *reply)
{
	(void)data;
	(void)status;
	(void)reply;
}

/* on_renew - every lease_ms/3: the leases still held get a new expiry,
 * so a lease can be short (an instance that dies frees its slots within
 * lease_ms) and still outlive the longest session. */
static void on_renew(uv_timer_t *t)
{
	struct hostgate *g = t->data;
	struct lease *l;
	char key[HOSTGATE_KEY_MAX], lease[16], token[24];

	snprintf(lease, sizeof(lease), "%u", g->lease_ms);
	TAILQ_FOREACH(l, &g->held, link)
	{
		key_of(key, l->host);
		snprintf(token, sizeof(token), "%" PRIu64, l->token);
		const char *argv[] = {"EVAL", renew_lua, "1",
				      key,    lease,	 token};
		redis_conn_command(g->rc, 6, argv, NULL, on_renewed, NULL,
				   NULL);
	}
}

int hostgate_new(uv_loop_t *loop, const char *url, unsigned timeout_ms,
		 unsigned lease_ms, struct hostgate **out, char *err,
		 size_t errlen)
{
	struct redis_conn_config rcfg;
	struct hostgate *g = calloc(1, sizeof(*g));

	if (g == NULL) {
		snprintf(err, errlen, "host gate: out of memory");
		return -1;
	}
	redis_conn_config_defaults(&rcfg);
	rcfg.timeout_ms = timeout_ms;
	if (redis_url_parse(url, &rcfg.url, err, errlen) < 0 ||
	    redis_conn_new(loop, &rcfg, &g->rc, err, errlen) < 0) {
		free(g);
		return -1;
	}
	g->lease_ms = lease_ms;
	TAILQ_INIT(&g->held);
	uv_timer_init(loop, &g->renew);
	g->renew.data = g;
	uv_timer_start(&g->renew, on_renew, lease_ms / 3, lease_ms / 3);
	/* Tokens only need to differ between instances and leases. */
	if (uv_random(NULL, NULL, &g->next_token, sizeof(g->next_token), 0,
		      NULL) < 0)
		g->next_token = uv_hrtime();
	*out = g;
	return 0;
}

static void on_acquire(void *data, enum redis_conn_status status,
		       const redisReply *reply)
{
	struct acquire *a = data;
	struct hostgate *g = a->g;

	if (status == REDIS_CONN_OK && reply &&
	    reply->type == REDIS_REPLY_INTEGER) {
		if (reply->integer == 1) {
			struct lease *l = malloc(sizeof(*l));
			g->stats.granted++;
			if (l) { /* without it the lease just is not renewed */
				l->token = a->token;
				memcpy(l->host, a->host, sizeof(l->host));
				TAILQ_INSERT_TAIL(&g->held, l, link);
			}
			a->done(a->ctx, true, a->token);
		} else {
			g->stats.denied++;
			a->done(a->ctx, false, 0);
		}
	} else if (status == REDIS_CONN_CLOSED) {
		a->done(a->ctx, false, 0); /* closing: start nothing new */
	} else {
		/* An error reply (scripts refused?), a deadline, a lost
		 * connection: never let Redis stop the work. */
		g->stats.local++;
		a->done(a->ctx, true, 0);
	}
	free(a);
}

int hostgate_acquire(void *gate, const char *host, unsigned cap,
		     void (*done)(void *ctx, bool granted, uint64_t token),
		     void *ctx)
{
	struct hostgate *g = gate;
	char key[HOSTGATE_KEY_MAX], caps[16], lease[16], token[24];
	struct acquire *a;

	if (!redis_conn_ready(g->rc))
		return -1;
	a = malloc(sizeof(*a));
	if (a == NULL)
		return -1;
	a->g = g;
	a->done = done;
	a->ctx = ctx;
	a->token = ++g->next_token ? g->next_token : ++g->next_token;
	snprintf(a->host, sizeof(a->host), "%s", host);
	key_of(key, host);
	snprintf(caps, sizeof(caps), "%u", cap);
	snprintf(lease, sizeof(lease), "%u", g->lease_ms);
	snprintf(token, sizeof(token), "%" PRIu64, a->token);
	const char *argv[] = {"EVAL", acquire_lua, "1",	 key,
			      caps,   lease,	   token};
	if (redis_conn_command(g->rc, 7, argv, NULL, on_acquire, a, NULL) < 0) {
		free(a);
		return -1;
	}
	return 0;
}

static void on_released(void *data, enum redis_conn_status status,
			const redisReply *reply)
{
	(void)data;
	(void)status;
	(void)reply;
}

void hostgate_release(void *gate, const char *host, uint64_t token)
{
	struct hostgate *g = gate;
	char key[HOSTGATE_KEY_MAX], tok[24];

	if (token == 0)
		return;
	for (struct lease *l = TAILQ_FIRST(&g->held); l;
	     l = TAILQ_NEXT(l, link)) {
		if (l->token == token) {
			TAILQ_REMOVE(&g->held, l, link);
			free(l);
			break;
		}
	}
	key_of(key, host);
	snprintf(tok, sizeof(tok), "%" PRIu64, token);
	const char *argv[] = {"ZREM", key, tok};
	/* Fire and forget: a lease that is not removed expires. */
	if (redis_conn_command(g->rc, 3, argv, NULL, on_released, NULL, NULL) ==
	    0)
		g->stats.released++;
}

void hostgate_engine_gate(struct hostgate *g, struct engine_gate *out)
{
	out->acquire = hostgate_acquire;
	out->release = hostgate_release;
	out->gate = g;
}

void hostgate_get_stats(const struct hostgate *g, struct hostgate_stats *s)
{
	*s = g->stats;
}

static void part_closed(struct hostgate *g)
{
	if (--g->closing_parts > 0)
		return;
	void (*cb)(void *) = g->closed_cb;
	void *cbdata = g->closed_data;
	while (!TAILQ_EMPTY(&g->held)) {
		struct lease *l = TAILQ_FIRST(&g->held);
		TAILQ_REMOVE(&g->held, l, link);
		free(l);
	}
	free(g);
	if (cb)
		cb(cbdata);
}

static void on_closed(void *data)
{
	part_closed(data);
}

static void on_renew_closed(uv_handle_t *h)
{
	part_closed(h->data);
}

void hostgate_close(struct hostgate *g, void (*closed_cb)(void *), void *data)
{
	g->closed_cb = closed_cb;
	g->closed_data = data;
	g->closing_parts = 2;
	uv_close((uv_handle_t *)&g->renew, on_renew_closed);
	redis_conn_close(g->rc, on_closed, g);
}
