/* engine_int - the probe engine's internals, shared by its three files:
 *   engine.c          requests, domains, the pump and the public API;
 *   engine_polite.c   per-host backoff, per-domain rate, catch-all facts;
 *   engine_session.c  one SMTP session: starting it, reading its results,
 *                     settling each request (verdict, retry, next MX).
 * Not for other modules: engine.h is the contract. Names shared across
 * the files carry the engine__ prefix (libuv's uv__ convention). */
#ifndef RCPTD_DAEMON_ENGINE_INT_H
#define RCPTD_DAEMON_ENGINE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "core/dialog.h"
#include "core/htab.h"
#include "daemon/engine.h"

/* MX lookups in flight at once. A bulk job over 10^5 domains must not
 * throw 10^5 queries at the resolver together (unbound, for one, drops
 * what passes its 1024 queries a thread); each lookup is one MX query and
 * up to ten address queries. */
#define ENGINE_DNS_INFLIGHT 128
/* A host busy with other instances is asked again after this long. */
#define ENGINE_GATE_RETRY_MS 200
/* Sessions one request may ride in when each made progress (a server
 * taking 3 recipients a session before its error limit): bounded all the
 * same. */
#define ENGINE_SESSIONS_MAX 16

struct waiter {
	struct waiter *next;
	engine_cb cb;
	void *data;
};

struct ereq {
	struct htab_node node;	/* e->inflight, by address (not for probes) */
	TAILQ_ENTRY(ereq) link; /* d->queue */
	struct engine *e;
	struct edomain *d;
	struct waiter first, *waiters;
	uv_timer_t deadline;
	uint64_t started; /* uv_now() */
	unsigned next_target;
	unsigned attempts;
	unsigned sessions; /* sessions it was carried in */
	bool queued;	   /* in d->queue */
	bool in_session;   /* referenced by a session */
	bool done;	   /* callbacks ran */
	/* The result of the last session, read when it ends. */
	enum dialog_rcpt_status rstatus;
	enum verdict_reason reply_reason;
	unsigned retry_after;
	struct verdict v;
};

TAILQ_HEAD(ereq_queue, ereq);

struct target {
	int family;
	unsigned char octets[16];
	unsigned mx; /* index into d->v_mx; VERDICT_MX_MAX for a literal */
};

enum dom_state { DOM_RESOLVING, DOM_READY };

struct edomain {
	struct htab_node node;
	TAILQ_ENTRY(edomain) ready_link;
	TAILQ_ENTRY(edomain) dns_link; /* e->dns_wait */
	bool dns_waiting;
	struct engine *e;
	enum dom_state state;
	bool in_ready;
	bool literal;
	enum verdict_reason fail; /* REASON_LAST: none */
	struct resolver_req *rreq;
	struct verdict_mx *mx; /* mx_count of them; most domains have 1-2 */
	unsigned mx_count;
	struct target targets[ENGINE_TARGETS_MAX];
	unsigned ntargets;
	struct ereq_queue queue;
	/* The shared host gate (engine_set_gate): an answer awaited, or a
	 * slot granted for target gate_target and not yet used. */
	bool gating, gate_held;
	unsigned gate_target;
	uint64_t gate_token;
	unsigned active;		       /* sessions */
	unsigned rcpt_answered, rcpt_rejected; /* RCPT replies, 4yz/5yz */
	bool probing;	     /* a catch-all probe is in a session */
	unsigned probe_runs; /* bounded: an unanswered probe is retried once */
	enum verdict_reason probe_reason; /* why the probe said nothing */
	double tokens;			  /* session starts available */
	uint64_t tokens_at;		  /* uv_now() of the last refill */
	unsigned probe_retry_after;
	char name[VERDICT_DOMAIN_MAX + 3];
};

/* Per MX address: sessions running, and the backoff that trouble from
 * it earns (421, "too many connections", refused connections, bursts of
 * 4xx). While penalised it gets one session at a time, and none before
 * backoff_until. A clean session halves the penalty. Kept while it has
 * sessions or a penalty; freed when both are gone. */
struct ehost {
	struct htab_node node;
	unsigned char key[17]; /* family octet + 16 address octets */
	unsigned active;
	unsigned penalty_ms;
	uint64_t backoff_until; /* uv_now() */
};

/* The first penalty and the most there is. A host that said "too many
 * connections" is given a second; repeated trouble doubles it up to five
 * minutes, Postfix's minimal_backoff_time. */
#define ENGINE_BACKOFF_MIN_MS 1000u
#define ENGINE_BACKOFF_MAX_MS 300000u
/* RCPT replies in 4xx in one session that count as a burst. */
#define ENGINE_4XX_BURST 3

struct efact {
	struct htab_node node;
	TAILQ_ENTRY(efact) fifo;
	enum tristate catch_all;
	uint64_t expires;
	char name[VERDICT_DOMAIN_MAX + 3];
};

struct esess {
	struct engine *e;
	struct edomain *d;
	struct ehost *h;
	unsigned target;
	TAILQ_ENTRY(esess) link; /* e->sessions */
	struct session *s;
	unsigned n4xx;	   /* RCPT replies in 4xx */
	unsigned nreplied; /* RCPT replies of any kind */
	bool pushback;	   /* a reply said "slow down" */
	bool gate_held;	   /* a slot of the shared gate to give back */
	uint64_t gate_token;
	unsigned n;
	struct probe *probe; /* the catch-all probe, when it rides along */
	struct ereq *reqs[]; /* n of them */
};

/* The catch-all probe: a random local part at the domain. Only what the
 * session's answer needs: no verdict, no caller. */
struct probe {
	enum dialog_rcpt_status rstatus;
	enum verdict_reason reply_reason;
	unsigned retry_after;
	char address[ADDRESS_MAX + 1];
};

struct engine {
	uv_loop_t *loop;
	struct engine_config c;
	struct htab inflight, domains, hosts, facts;
	unsigned long rcpt_answered, rcpt_rejected; /* RCPT replies, 4yz/5yz */
	TAILQ_HEAD(, edomain) ready;
	TAILQ_HEAD(, esess) sessions;	/* running, for engine_close() */
	TAILQ_HEAD(, edomain) dns_wait; /* domains waiting for a lookup slot */
	unsigned resolving;		/* MX lookups in flight */
	TAILQ_HEAD(, efact) fact_fifo;
	uv_timer_t pump;
	bool pump_armed;
	uv_timer_t wake; /* the earliest end of a backoff or rate wait */
	bool wake_armed;
	uint64_t wake_when;
	int closing_handles; /* pump and wake, in engine_close */
	bool closing;
	unsigned active; /* sessions */
	unsigned nreqs;	 /* live ereq objects, timers included */
	uint64_t rnd;
	uint64_t probe_key; /* keys the catch-all probe's local parts */
	void (*closed_cb)(void *);
	void *closed_data;
	engine_fact_fn fact_fn;
	void *fact_arg;
	struct engine_gate gate; /* acquire NULL: none */
	struct engine_stats stats;
};

/* RCPT answers seen before their share of rejections sizes the pipelined
 * batches of a domain's next sessions (engine_session.c). */
#define ENGINE_REJECT_SAMPLE 10
/* The share of rejected RCPTs (permille) assumed before any is seen: one
 * in eight, a list that was never cleaned (a tenth of unknown users,
 * BENCHMARKS.md "Bulk"), and the catch-all probe's own rejection. */
#define ENGINE_REJECT_PRIOR 125

/* engine.c */
void engine__copy_str(char *dst, size_t size, const char *src);
void engine__dom_release(struct edomain *d);
void engine__ready_insert(struct engine *e, struct edomain *d);
void engine__fill_smtp_target(struct ereq *r, unsigned ti);
void engine__pump_soon(struct engine *e);
void engine__req_finish(struct ereq *r, enum verdict_reason reason,
			const char *transcript);
void engine__req_release(struct ereq *r);
void engine__req_unqueue(struct ereq *r);

/* engine_polite.c */
uint64_t engine__next_random(struct engine *e);
enum tristate engine__fact_get(struct engine *e, const char *domain);
void engine__fact_set(struct engine *e, const char *domain, enum tristate t);
struct ehost *engine__host_get(struct engine *e, const struct target *t);
void engine__host_maybe_free(struct engine *e, struct ehost *h);
void engine__host_put(struct engine *e, struct ehost *h);
void engine__host_judge(struct engine *e, struct ehost *h, bool trouble);
unsigned engine__host_cap(const struct engine *e, const struct ehost *h);
void engine__wake_at(struct engine *e, uint64_t when);
bool engine__rate_take(struct engine *e, struct edomain *d);

/* engine_session.c */
bool engine__start_session(struct engine *e, struct edomain *d);
void engine__gate_release(struct engine *e, const struct target *t,
			  uint64_t token);

#endif
