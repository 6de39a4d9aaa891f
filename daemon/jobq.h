/* jobq - bulk jobs on Redis Streams, shared by every rcptd that points
 * at the same Redis (issue 6; `rcptd serve --redis`). Without --redis
 * jobs live in process instead (daemon/jobstore.h).
 *
 * One struct jobq per event loop: the routes' side (create, status,
 * cancel, read results; any instance answers for any job) and a worker
 * that takes the jobs' rows from the stream and verifies them on this
 * loop's verifier.
 *
 * In Redis (P = "rcptd:v1:"):
 *   P"jobs"          a stream with the consumer group "workers"; one
 *                    entry per chunk of at most JOBQ_CHUNK_ROWS rows
 *                    (fields job, owner, rows: core/jobrec.h's chunk)
 *   P"job:ID"        a hash: owner, state, total, done, counts by
 *                    status (c0..c3), dup, header, created, started,
 *                    finished (Unix seconds)
 *   P"job:ID:res"    a hash: row index -> core/jobrec.h's result (the
 *                    row's columns, its input, its verdict's JSON)
 *   P"owner:HASH"    a set: the owner's jobs queued or running, for
 *                    --max-jobs-per-key
 * Rows are put in chunks grouped by domain (the index keeps the input
 * order for the results), so a chunk's addresses share SMTP sessions and
 * a duplicate lands in the chunk of its first copy, where the job (daemon/
 * job.h) verifies it once.
 * Exactly once: a worker claims a chunk with XREADGROUP, keeps its claim
 * fresh (XCLAIM to itself every claim_timeout/3), writes each row's result
 * with HSETNX in a Lua script that counts only the rows it really added,
 * and acknowledges and deletes the entry (XACK, XDEL) once every row of
 * the chunk is stored. A worker that dies leaves the entry pending; after
 * claim_timeout another takes it (XAUTOCLAIM) and verifies only the rows
 * without a result. So no row is lost and none is counted or reported
 * twice; a row may be probed twice (its SMTP conversation repeated), never
 * answered twice.
 * Retention: a job's keys expire retention_ms after it finished (done or
 * cancelled), and at most deadline + retention after it was created.
 * Owners: the owner's octets are kept as a 64-bit hash (core/htab), never
 * the API key itself; another owner's job answers not found.
 *
 * Errors: negative enum jobstore_err (JOBSTORE_UNAVAILABLE: Redis did not
 * answer). Callbacks: each call's callback runs exactly once, on a later
 * turn of the loop, unless jobq_op_cancel() comes first. Ownership: the
 * calls copy what they are given. Loop: one libuv loop, its thread. */
#ifndef RCPTD_DAEMON_JOBQ_H
#define RCPTD_DAEMON_JOBQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "daemon/jobstore.h"
#include "daemon/verifier.h"

/* Rows a chunk: the unit a worker claims. Small enough that losing a
 * worker repeats little work, large enough that a domain's addresses
 * share a session and the stream holds few entries (10^5 rows: 1000). */
#define JOBQ_CHUNK_ROWS 100
/* Chunks a worker holds at once: JOB_WINDOW_DEFAULT addresses. */
#define JOBQ_CHUNKS_MAX 10
/* A claim not refreshed for this long is taken over by another worker
 * (--job-claim-timeout). */
#define JOBQ_CLAIM_TIMEOUT_DEFAULT_MS 60000
/* How often an idle worker looks at the stream for work. */
#define JOBQ_POLL_MS 200
/* Results are written at least this often while a chunk runs, so
 * progress shows. */
#define JOBQ_FLUSH_MS 500
/* How often a worker asks whether the jobs of its chunks still run (a
 * cancel stops their rows within this). */
#define JOBQ_WATCH_MS 1000
/* Results of one chunk written in one script call at most. */
#define JOBQ_FLUSH_ROWS 100
/* Job commands get at least this deadline: a chunk's XADD or a block of
 * results is larger than the cache's single GET. */
#define JOBQ_TIMEOUT_MIN_MS 2000
/* Rows of results asked for at once by a reader (HMGET). */
#define JOBQ_READ_BLOCK 256

struct jobq_config {
	const char *redis_url;
	unsigned timeout_ms;	     /* --redis-timeout (raised to the min) */
	unsigned max_rows;	     /* --max-job-size */
	unsigned max_jobs_per_owner; /* --max-jobs-per-key */
	unsigned retention_ms;	     /* --job-retention */
	unsigned claim_timeout_ms;   /* --job-claim-timeout */
	struct job_config job;	     /* greylisting, deadline */
};

struct jobq_stats {
	uint64_t chunks_taken;	 /* read from the stream */
	uint64_t chunks_claimed; /* taken over from a silent worker */
	uint64_t chunks_done;	 /* acknowledged */
	uint64_t rows_stored;	 /* results written by this worker */
	unsigned chunks_held;	 /* now */
};

struct jobq;
struct jobq_op;
struct jobq_reader;

/* jobq_new - a job queue on @loop, its worker verifying with @v (borrowed
 * for the queue's life; NULL: routes only, no worker). Connects in the
 * background. Returns 0, or -1 with one line in @err. */
int jobq_new(uv_loop_t *loop, const struct jobq_config *c, struct verifier *v,
	     struct jobq **out, char *err, size_t errlen);

/* jobq_stop - take no more chunks; the chunks held are dropped unfinished
 * (their results so far are kept; another worker takes them over after
 * the claim timeout). */
void jobq_stop(struct jobq *q);

/* jobq_close - stop, then close the connection; @closed (may be NULL)
 * runs when everything is released, on a later turn. Pending callbacks
 * run first (JOBSTORE_UNAVAILABLE). */
void jobq_close(struct jobq *q, void (*closed)(void *), void *data);

bool jobq_ready(const struct jobq *q);
unsigned jobq_max_rows(const struct jobq *q);
void jobq_get_stats(const struct jobq *q, struct jobq_stats *s);

/* jobq_op_cancel - the callback of @op will not run. */
void jobq_op_cancel(struct jobq_op *op);

typedef void (*jobq_create_cb)(void *data, int err, const char *id);
/* jobq_create - a job of @nrows rows (as jobstore_create()). */
int jobq_create(struct jobq *q, const void *owner, size_t ownerlen,
		const char *header, size_t headerlen,
		const struct jobstore_row *rows, size_t nrows,
		jobq_create_cb cb, void *data, struct jobq_op **op);

typedef void (*jobq_status_cb)(void *data, int err,
			       const struct jobstore_status *st);
int jobq_status(struct jobq *q, const char *id, const void *owner,
		size_t ownerlen, jobq_status_cb cb, void *data,
		struct jobq_op **op);

typedef void (*jobq_cancel_cb)(void *data, int err, bool deleted);
/* jobq_cancel - as jobstore_cancel(). */
int jobq_cancel(struct jobq *q, const char *id, const void *owner,
		size_t ownerlen, jobq_cancel_cb cb, void *data,
		struct jobq_op **op);

typedef void (*jobq_reader_cb)(void *data, int err, struct jobq_reader *rd);
/* jobq_reader_new - read job @id's results as @format (as
 * jobstore_reader_new()); the reader comes through @cb. */
int jobq_reader_new(struct jobq *q, const char *id, const void *owner,
		    size_t ownerlen, enum jobstore_format format,
		    jobq_reader_cb cb, void *data, struct jobq_op **op);

#define JOBQ_AGAIN (-2)
/* jobq_read - the next results into @buf: the octets written, 0 at the
 * end, JOBQ_AGAIN when the next block is still on its way (@wake runs,
 * once, when it has come), -1 on an error (Redis failed mid-way). */
long jobq_read(struct jobq_reader *rd, char *buf, size_t len,
	       void (*wake)(void *), void *data);
/* jobq_reader_free - NULL is a no-op; a pending wake does not run. A
 * reader may outlive its queue: after jobq_close() it reads -1. */
void jobq_reader_free(struct jobq_reader *rd);

#endif
