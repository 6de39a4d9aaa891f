/* jobq_int - what daemon/jobq.c (the routes' side) and daemon/jobq_worker.c
 * (the stream's consumer) share: the queue struct, the key names and the
 * Lua scripts. Not for other modules: their contract is daemon/jobq.h. */
#ifndef RCPTD_DAEMON_JOBQ_INT_H
#define RCPTD_DAEMON_JOBQ_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "daemon/job.h"
#include "daemon/jobfmt.h"
#include "daemon/jobq.h"
#include "daemon/redis_conn.h"

#define JOBQ_STREAM "rcptd:v1:jobs"
#define JOBQ_GROUP  "workers"
/* "rcptd:v1:job:" + an id + ":res" */
#define JOBQ_KEY_MAX 64
/* An owner's hash in hex. */
#define JOBQ_OWNER_HEX 16
/* A stream entry id: two 64-bit numbers and a dash. */
#define JOBQ_ENTRY_ID_MAX 48
/* The consumer's name: host name (64), pid, loop, random. */
#define JOBQ_CONSUMER_MAX 128

struct jobq_chunk;
TAILQ_HEAD(jobq_chunk_list, jobq_chunk);
struct jobq_reader;
LIST_HEAD(jobq_reader_list, jobq_reader);

struct jobq {
	uv_loop_t *loop;
	struct jobq_config cfg;
	struct redis_conn *rc;
	struct verifier *v;
	char consumer[JOBQ_CONSUMER_MAX];
	struct jobq_reader_list readers; /* open, for jobq_close() */
	/* the worker (jobq_worker.c) */
	uv_timer_t tick;
	struct jobq_chunk_list chunks;
	unsigned nchunks;
	uint64_t next_seq;
	struct job *job; /* verifies every chunk's rows (jobq_worker.c) */
	bool worker, group_made, taking, stopping, closing;
	uint64_t last_autoclaim, last_heartbeat, last_watch; /* uv_now */
	char cursor[JOBQ_ENTRY_ID_MAX];			     /* XAUTOCLAIM's */
	struct jobq_stats stats;
	/* closing: the connection and the timer */
	unsigned closing_parts;
	void (*closed_cb)(void *);
	void *closed_data;
};

/* ---- operations (jobq.c) ---- */

enum op_kind { OP_CREATE, OP_STATUS, OP_CANCEL, OP_READER };

struct jobq_op {
	struct jobq *q;
	enum op_kind kind;
	union {
		jobq_create_cb create;
		jobq_status_cb status;
		jobq_cancel_cb cancel;
		jobq_reader_cb reader;
	} cb;
	void *data;
	bool cancelled;
	unsigned pending; /* commands in flight */
	int err;
	char id[JOBSTORE_ID_LEN + 1];
	char owner[JOBQ_OWNER_HEX + 1];
	/* create: the stream entries, and the rows answered at once */
	char **chunk;
	size_t *chunklen, nchunks;
	size_t npre;
	uint64_t *pidx;
	unsigned char *pst;
	char **prec;
	size_t *preclen;
	uint64_t dup; /* rows that repeat an earlier row's address */
	/* the answers */
	bool deleted;
	struct jobstore_status st;
	struct jobq_reader *rd;
	enum jobstore_format format;
};

struct jobq_reader {
	struct jobq *q;		      /* NULL once the queue has closed */
	LIST_ENTRY(jobq_reader) link; /* q->readers */
	char id[JOBSTORE_ID_LEN + 1];
	enum jobstore_format format;
	uint64_t total, next; /* rows; the next to ask for */
	char *header;
	size_t headerlen;
	bool header_done, fetching, have_ready, failed, freed;
	struct jobfmt_buf out, ready;
	size_t off;
	void (*wake)(void *);
	void *wake_data;
};

struct jobq_op *jobq__op_new(struct jobq *q, enum op_kind kind, void *data);
/* jobq__op_end - the op's last command has answered: its callback (unless
 * cancelled), then it is freed. */
void jobq__op_end(struct jobq_op *op);
void jobq__op_free(struct jobq_op *op);
void jobq__reader_release(struct jobq_reader *rd);
/* jobq__reply_failed - a command's outcome as a jobstore_err (0: a
 * reply that is not an error). */
int jobq__reply_failed(enum redis_conn_status s, const redisReply *r);
void jobq__owner_hex(char out[JOBQ_OWNER_HEX + 1], const void *owner,
		     size_t len);

/* Keys of job @id. */
void jobq__key(char *out, const char *id, const char *suffix);
void jobq__owner_key(char *out, const char *owner_hex);

/* jobq__store - send the store script for @n results of job @id: a
 * @worker's flushes (the job starts running), or the rows answered at
 * the job's creation. @idx,
 * @status and @rec/@reclen are parallel arrays. Returns 0 and the
 * command's callback will run, or -1 (not sent). */
int jobq__store(struct jobq *q, const char *id, const char *owner_hex,
		bool worker, size_t n, const uint64_t *idx,
		const unsigned char *status, char *const *rec,
		const size_t *reclen, redis_conn_cb cb, void *data);

/* jobq__ignore - the callback of a command whose answer does not matter
 * (it is best effort, or its effect is checked later). */
void jobq__ignore(void *data, enum redis_conn_status s, const redisReply *r);

/* The worker's side (jobq_worker.c). */
int jobq__worker_start(struct jobq *q);
void jobq__worker_stop(struct jobq *q);

/* jobq__now_s - Unix seconds, for the jobs' timestamps. */
int64_t jobq__now_s(void);

#endif
