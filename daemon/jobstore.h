/* jobstore - the bulk jobs of `rcptd serve`, in process (POST /v1/jobs;
 * issue 6). Without --redis this is where jobs live, and they are lost
 * when the process ends (DESIGN.md: in-process is the embedded default
 * for one machine).
 *
 * A job is its rows (each row's original columns, as the results give
 * them back, and its address), the verdict of each row once known, and
 * counters. It runs on the event loop that created it, through
 * daemon/job.h over that loop's verifier; its results are written here
 * as they come.
 * Threads: with `serve --threads N` one store serves every loop (a
 * request for a job may reach any loop: the kernel spreads connections);
 * its state is behind one mutex, held only to copy a few fields or to
 * format a block of results. A cancel asked on another loop than the
 * job's reaches it through that loop's uv_async_t.
 * Limits: at most max_rows rows a job (413 beyond), at most
 * max_jobs_per_owner jobs queued or running per owner (an API key, or
 * the client address without keys; 429 beyond), JOBSTORE_JOBS_MAX jobs
 * in all (503). A finished job (done, cancelled, failed) is kept for
 * retention_ms after it finished, then forgotten.
 * Owners: a job is seen only by its owner; another owner's id is
 * answered as unknown (404), so ids do not leak between keys.
 * Results: in input order, CSV (the rows' original columns, then the
 * verdict columns of core/csv.h) or NDJSON (the verdict of DESIGN.md
 * with "row", its index from 0); while a job runs, the rows done so far
 * (a row not yet done is left out). A reader holds a reference, so a job
 * forgotten while it is being read stays until the reader is done.
 * Ownership: the store copies everything it is given. Errors: negative
 * enum jobstore_err. Loop: see Threads; jobstore_attach() and
 * jobstore_detach() on the loop's own thread, or before it runs. */
#ifndef RCPTD_DAEMON_JOBSTORE_H
#define RCPTD_DAEMON_JOBSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/verdict.h"
#include "daemon/job.h"
#include "daemon/verifier.h"

/* An id: 128 random bits in hex (RFC 4122 would add nothing but dashes;
 * guessing one is out of reach). */
#define JOBSTORE_ID_LEN 32
/* Jobs held at once, all owners: the memory of 1000 jobs of the default
 * 100 000 rows is a few GiB; more is a mistake or an attack. */
#define JOBSTORE_JOBS_MAX 1000
/* Loops a store serves (as --threads). */
#define JOBSTORE_LOOPS_MAX 256

enum jobstore_err {
	JOBSTORE_OK = 0,
	JOBSTORE_NOT_FOUND = -1, /* 404 */
	JOBSTORE_TOO_MANY = -2,	 /* 429: the owner's running jobs */
	JOBSTORE_FULL = -3,	 /* 503: JOBSTORE_JOBS_MAX */
	JOBSTORE_NOMEM = -4,	 /* 500 */
	JOBSTORE_TOO_LARGE = -5, /* 413: max_rows */
	JOBSTORE_NO_LOOP = -6,	 /* 503: the loop is not attached */
	JOBSTORE_UNAVAILABLE =
	    -7 /* 503: Redis did not answer (daemon/jobq.h) */
};

enum jobstore_state {
	JOBSTORE_QUEUED = 0,
	JOBSTORE_RUNNING,
	JOBSTORE_DONE,
	JOBSTORE_CANCELLED,
	JOBSTORE_FAILED,
	JOBSTORE_STATE_LAST
};

enum jobstore_format { JOBSTORE_CSV = 0, JOBSTORE_NDJSON };

struct jobstore_config {
	unsigned max_rows;	     /* --max-job-size */
	unsigned max_jobs_per_owner; /* --max-jobs-per-key */
	unsigned retention_ms;	     /* --job-retention */
	struct job_config job;	     /* window, greylisting, deadline */
};

/* One row handed to jobstore_create(): @prefix is its original columns
 * as they go out in CSV results (without a trailing comma), @input the
 * address as given, or NULL for a row already answered by @verdict
 * (a malformed line: undeliverable / invalid_syntax). Copied. */
struct jobstore_row {
	const char *prefix;
	size_t prefixlen;
	const char *input;
	size_t inputlen;
	const struct verdict *verdict;
};

struct jobstore_status {
	char id[JOBSTORE_ID_LEN + 1];
	enum jobstore_state state;
	uint64_t total, done, duplicates;
	uint64_t counts[VERDICT_STATUS_LAST];
	double rate;	     /* rows a second, sliding window */
	long eta_s;	     /* -1: not known yet */
	int64_t created_at;  /* Unix seconds */
	int64_t finished_at; /* 0 while it runs */
};

struct jobstore;
struct jobstore_reader;

/* jobstore_new - a store for @loops loops (1..JOBSTORE_LOOPS_MAX). NULL
 * when memory runs out or a limit is 0. */
struct jobstore *jobstore_new(const struct jobstore_config *c, unsigned loops);

/* jobstore_attach - loop @idx runs jobs over @v from now on. Returns 0,
 * or JOBSTORE_NOMEM. */
int jobstore_attach(struct jobstore *js, unsigned idx, uv_loop_t *loop,
		    struct verifier *v);

/* jobstore_detach - loop @idx is closing: its jobs still running are
 * cancelled (state failed: "the server stopped"), its handles closed (the
 * loop must run once more for them). */
void jobstore_detach(struct jobstore *js, unsigned idx);

/* jobstore_free - after every loop is detached and every reader ended. */
void jobstore_free(struct jobstore *js);

/* jobstore_max_rows - the configured bound, for the routes' messages. */
unsigned jobstore_max_rows(const struct jobstore *js);

/* jobstore_create - a job of @nrows rows for @owner (bytes, not a
 * string), run on loop @idx (the caller's), with the CSV results'
 * header line @header (without its line end; the verdict columns are
 * added). Returns 0 and the id in @id, or a negative jobstore_err. */
int jobstore_create(struct jobstore *js, unsigned idx, const void *owner,
		    size_t ownerlen, const char *header, size_t headerlen,
		    const struct jobstore_row *rows, size_t nrows,
		    char id[JOBSTORE_ID_LEN + 1]);

/* jobstore_status - the state of job @id of @owner. */
int jobstore_status(struct jobstore *js, const char *id, const void *owner,
		    size_t ownerlen, struct jobstore_status *out);

/* jobstore_cancel - stop job @id of @owner: a running job is cancelled
 * (its done rows stay readable; *@deleted false); a finished one is
 * forgotten (*@deleted true). */
int jobstore_cancel(struct jobstore *js, const char *id, const void *owner,
		    size_t ownerlen, bool *deleted);

/* jobstore_reader_new - read the results of job @id of @owner as
 * @format, from the header (CSV) or first row on. */
int jobstore_reader_new(struct jobstore *js, const char *id, const void *owner,
			size_t ownerlen, enum jobstore_format format,
			struct jobstore_reader **out);

/* jobstore_read - the next results into @buf (@len octets, any size:
 * a row longer than @len continues in the next call): the octets
 * written, 0 at the end; -1 when memory runs out. */
long jobstore_read(struct jobstore_reader *rd, char *buf, size_t len);

void jobstore_reader_free(struct jobstore_reader *rd); /* NULL: no-op */

const char *jobstore_state_name(enum jobstore_state s);

/* jobstore_new_id - a fresh job id: 128 random bits in hex. 0, or -1
 * when the kernel gives no randomness. */
int jobstore_new_id(char id[JOBSTORE_ID_LEN + 1]);

#endif
