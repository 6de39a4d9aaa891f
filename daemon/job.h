/* job - one bulk job run in process: rows in, one verdict per row out
 * (issue 6, "bulk list cleaning").
 *
 * The job pulls rows (an index and an address) from its owner, hands
 * the addresses to a verifier (precheck, cache, probe engine) and gives
 * each row's verdict back. It is the common core of `rcptd bulk` and of
 * the jobs of the HTTP API.
 *
 * Bounded work: at most `window` addresses wait at the verifier at once,
 * so a list of 10^7 rows never becomes 10^7 pending requests; the job
 * pulls the next row only when there is room. The owner bounds what it
 * keeps per row itself: pull() may say "none now" and job_wake() later.
 * Per domain (slow start): `first_window` addresses of a domain (1 by
 * default) go to the verifier until the domain has given its first
 * answer (so the engine learns its facts -- MX set, catch-all -- from
 * one session, as a single verify would), then at most `domain_window`
 * at once; the others wait in the job, where no probe deadline runs.
 * With `batch`, a domain's addresses also wait until a session's worth
 * is there (or JOB_BATCH_LINGER_MS has passed, or the input has ended),
 * so that the engine gets them together: in a shuffled list of many
 * domains, one by one would mean a session per address (BENCHMARKS.md
 * "Bulk"). Addresses waiting so are bounded by JOB_WAITING_FACTOR *
 * window: past that the job pulls no more rows until some are sent.
 * Duplicates: rows are keyed by the normalised address (core/address:
 * domain lower-cased, A-labels; local part as written); a row whose
 * address is in flight joins it, and a row whose address is done gets
 * its verdict at once, so every distinct address is verified once. Done
 * verdicts are kept packed (core/vpack, ~300 octets each) up to
 * `dedupe_bytes`; past that, a repeat of an address that was not kept
 * goes to the verifier again, whose cache usually answers it.
 * Greylisting (RFC 6647): an unknown/greylisted verdict is not final
 * while the job's deadline allows a retry: the address waits
 * `greylist_retry_ms` (Postgrey's default delay is 300 s) on a timer and
 * is asked again, skipping the cache, up to JOB_GREYLIST_TRIES_MAX times;
 * only then, or once `deadline_ms` from the job's start (or from the
 * address's first ask, with deadline_per_row) would be passed, is the
 * greylisted verdict given. A verifier that is busy (its probe
 * queue is full) is asked again after JOB_BUSY_RETRY_MS.
 *
 * Results: result() runs exactly once for every row pulled, unless the
 * job is cancelled first, in the order verdicts arrive (not the input
 * order: the owner sorts if it wants). The verdict's email echo is that
 * of the row that was verified first for its address: an owner that
 * echoes inputs puts its own back. done() runs once, on a later turn of
 * the loop than the call that caused it, when the input has ended (pull
 * returned -1, or job_stop_input()) and every row pulled has its result,
 * or after job_cancel(). Neither callback runs from inside a job_*()
 * call; from inside them the owner may call any job_*() function except
 * job_free() (call that from done(), or later).
 * Ownership: rows given to the job are copied as needed; verdicts given
 * to result() are borrowed for the call. job_free() releases everything;
 * the memory goes on a later turn of the loop (timers close).
 * Loop: one libuv loop, its thread only; the verifier's loop. */
#ifndef RCPTD_DAEMON_JOB_H
#define RCPTD_DAEMON_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/verdict.h"
#include "daemon/verifier.h"

/* Addresses at the verifier at once: a tenth of the verifier's own
 * backlog limit (VERIFIER_DEFAULT_MAX_PENDING), so that a job leaves room
 * for the API's single checks, and more than the engine's default
 * concurrency (256 sessions, several RCPTs each) needs to stay busy. */
#define JOB_WINDOW_DEFAULT 1000
/* Addresses of one domain at the verifier at once, once it has
 * answered, when the owner does not size it: Postfix's
 * smtpd_soft_error_limit (10). `rcptd bulk` and the jobs of `rcptd
 * serve` size it as --per-host-concurrency x --rcpt-per-session, what
 * the host's sessions take at once: with 10, a big domain ran one short
 * session after another while the host's other slots idled (3x slower,
 * BENCHMARKS.md "Bulk"). More than that would only wait in the engine's
 * queue, where each request's probe deadline runs. */
#define JOB_DOMAIN_WINDOW_DEFAULT 10
/* Batching: a domain's part batch waits at most this long for the rest
 * of a session's recipients (a few round trips of a distant server). */
#define JOB_BATCH_LINGER_MS 100
/* Addresses held back per domain, in all, as a multiple of the window. */
#define JOB_WAITING_FACTOR 10
/* Postgrey's default greylisting delay (--delay=300); most greylisting
 * servers let the retry through after 1..5 minutes. */
#define JOB_GREYLIST_RETRY_DEFAULT_MS (5u * 60 * 1000)
/* Retries per address: servers that greylist for longer than a few
 * retries are not letting us through. */
#define JOB_GREYLIST_TRIES_MAX 4
/* Two hours: long enough for a few greylisting rounds on a big list,
 * short enough that a job does not hang on for a server that never
 * stops deferring. */
#define JOB_DEADLINE_DEFAULT_MS (2u * 3600 * 1000)
/* Done verdicts kept for repeats: ~800 000 distinct addresses. */
#define JOB_DEDUPE_BYTES_DEFAULT ((size_t)256 * 1024 * 1024)
/* The verifier said busy: ask again after this. */
#define JOB_BUSY_RETRY_MS 250
/* Rows taken in one turn of the loop before the job lets others run
 * (invalid rows and cache hits are answered without waiting). */
#define JOB_PUMP_BATCH 512
/* The rate is measured over this many seconds (a sliding window). */
#define JOB_RATE_WINDOW_S 30

struct job_config {
	unsigned window;	/* 0: JOB_WINDOW_DEFAULT */
	unsigned domain_window; /* 0: JOB_DOMAIN_WINDOW_DEFAULT */
	unsigned first_window;	/* a domain before its first answer; 0: 1 */
	/* Send a domain's addresses in groups of this many (one session's
	 * recipients), so that a shuffled list does not become a session
	 * per address; a part group goes after JOB_BATCH_LINGER_MS or when
	 * the input ends. 0 or 1: one by one, as they come. */
	unsigned batch;
	unsigned greylist_retry_ms; /* 0: no greylisting retry */
	unsigned deadline_ms;	    /* from job_start(); 0: no retry */
	size_t dedupe_bytes;	    /* 0: keep none once done */
	bool fresh;		    /* skip the cache for every row */
	/* The deadline counts from each address's first ask instead of
	 * job_start(): a job that never ends (daemon/jobq's worker runs one
	 * for all the chunks it takes). */
	bool deadline_per_row;
};

/* A row: @input (@len octets) is borrowed for the pull() call. */
struct job_row {
	uint64_t index;
	const char *input;
	size_t len;
};

struct job_ops {
	/* pull - the next row into *@row: 1; 0 when none is ready now
	 * (call job_wake() when one is); -1 when the input has ended. */
	int (*pull)(void *data, struct job_row *row);
	void (*result)(void *data, uint64_t index, const struct verdict *v);
	void (*done)(void *data);
};

struct job_progress {
	uint64_t taken; /* rows pulled */
	uint64_t done;	/* rows with their result */
	uint64_t status[VERDICT_STATUS_LAST];
	uint64_t reason[REASON_LAST];
	uint64_t unique;	   /* addresses sent to the verifier */
	uint64_t duplicates;	   /* rows answered by another's verdict */
	uint64_t greylist_retries; /* second and later asks */
	unsigned in_flight;	   /* at the verifier now */
	unsigned greylist_waiting; /* addresses waiting for their retry */
	unsigned domain_waiting;   /* held back by the per-domain window */
	double rate;		   /* rows a second, sliding window */
	uint64_t elapsed_ms;	   /* since job_start() */
};

struct job;

/* job_config_defaults - the defaults above. */
void job_config_defaults(struct job_config *c);

/* job_new - a job on @loop over @v (borrowed for the job's life), which
 * starts pulling at job_start(). Returns 0, or -1 when memory runs out. */
int job_new(uv_loop_t *loop, struct verifier *v, const struct job_config *c,
	    const struct job_ops *ops, void *data, struct job **out);

void job_start(struct job *j);

/* job_wake - rows are ready again after pull() said 0 (or the owner has
 * room again); harmless at any time. */
void job_wake(struct job *j);

/* job_stop_input - pull no more rows; done() runs once the rows pulled
 * have their results. */
void job_stop_input(struct job *j);

/* job_flush_greylisted - addresses waiting for a greylisting retry get
 * their greylisted verdict now (an owner that is stopping). */
void job_flush_greylisted(struct job *j);

/* job_cancel - stop now: no more result() calls; the addresses still at
 * the verifier are let go (their probes go on and fill the cache);
 * done() runs on a later turn. */
void job_cancel(struct job *j);

/* job_get_progress - the counters now. */
void job_get_progress(const struct job *j, struct job_progress *p);

/* job_eta_s - seconds until @total rows are done at the current rate;
 * -1 when no rate is known yet (or nothing is done). */
long job_eta_s(const struct job_progress *p, uint64_t total);

/* job_free - end the job (cancelled if it is running); NULL is a no-op. */
void job_free(struct job *j);

#endif
