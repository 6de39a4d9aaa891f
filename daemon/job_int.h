/* job_int - what daemon/job.c (the pump, entries, greylisting) and
 * daemon/job_dom.c (the per-domain windows and batches) share: the job's
 * structs and their internal calls (prefix job__). Not for other
 * modules: their contract is daemon/job.h. */
#ifndef RCPTD_DAEMON_JOB_INT_H
#define RCPTD_DAEMON_JOB_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "core/htab.h"
#include "daemon/job.h"

enum entry_state { E_SENDQ = 0, E_DOMQ, E_FLIGHT, E_WAIT, E_DONE };

struct entry;
TAILQ_HEAD(entry_list, entry);

/* The domain of entries not yet done; freed with the last of them. */
struct dom {
	struct htab_node node;
	unsigned refs;	    /* entries not DONE that have this domain */
	unsigned in_flight; /* of them, at the verifier */
	bool warm;	    /* it has answered once: the full window */
	struct entry_list held;
	unsigned nheld;	     /* entries in held */
	uint64_t held_since; /* batching: loop time its partial batch began */
	bool in_partial;     /* in j->partial */
	TAILQ_ENTRY(dom) plink;
	size_t len;
	char name[];
};

struct entry {
	struct htab_node node; /* in j->table when keyed */
	struct job *j;
	enum entry_state state;
	bool keyed;
	bool flush;    /* SENDQ: answer with the kept verdict, do not send */
	bool released; /* SENDQ: let out of its domain's held: send it */
	TAILQ_ENTRY(entry) q;	   /* j->sendq or j->waitq */
	TAILQ_ENTRY(entry) all;	   /* j->entries */
	struct verifier_req *vreq; /* in FLIGHT */
	struct dom *dom;	   /* keyed entries: the address's domain */
	uint64_t *rows;		   /* rows waiting for the verdict */
	size_t nrows, caprows;
	unsigned tries;
	uint64_t due;	  /* WAIT: loop time of the retry */
	uint64_t born_ms; /* loop time it was taken (deadline_per_row) */
	char *input;	  /* the first row's input, until DONE */
	size_t inlen;
	char *pack; /* WAIT: the greylisted verdict; DONE: the verdict */
	size_t packlen;
	size_t keylen;
	char key[]; /* the normalised address */
};

struct rate_bucket {
	uint64_t sec;
	uint64_t n;
};

struct job {
	uv_loop_t *loop;
	struct verifier *v;
	struct job_config cfg;
	struct job_ops ops;
	void *data;
	uv_timer_t pump_timer, retry_timer;
	unsigned handles; /* open timers, for job_free */
	struct htab table;
	struct htab domains;
	struct entry_list entries, sendq, waitq;
	TAILQ_HEAD(, dom) partial; /* batching: domains holding a part batch */
	size_t kept_bytes;	   /* DONE entries kept */
	uint64_t start_ms, busy_until;
	bool started, paused, input_done, no_retry, cancelled;
	bool done_due, done_called, freeing, in_pump;
	unsigned group_left; /* of a released batch being sent whole */
	size_t nsendq;	     /* entries in sendq */
	struct job_progress prog;
	struct rate_bucket rate[JOB_RATE_WINDOW_S + 1];
};

/* job.c */
/* job__schedule - run the pump (or done) after @ms, unless sooner is due. */
void job__schedule(struct job *j, uint64_t ms);

/* job_dom.c */
bool job__dom_eq(const struct htab_node *n, const void *key, size_t len);
struct dom *job__dom_get(struct job *j, const char *name);
void job__dom_put(struct job *j, struct entry *e);
unsigned job__dom_limit(const struct job *j, const struct dom *d);
bool job__batching(const struct job *j);
void job__partial_set(struct job *j, struct dom *d);
void job__hold(struct job *j, struct entry *e);
void job__dom_release(struct job *j, struct dom *d);
bool job__batch_ready(const struct job *j, const struct dom *d);
void job__release_due(struct job *j);
unsigned job__group_size(const struct job *j, const struct entry *e);

#endif
