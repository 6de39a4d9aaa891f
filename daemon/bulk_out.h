/* bulk_out - `rcptd bulk`'s output: rows written in input order, and
 * --resume (daemon/cli_bulk.c).
 *
 * The reorder buffer: every row taken gets the next index and a slot
 * holding its output line (its original columns); bulk_out_complete()
 * appends the verdict columns (core/csv.h CSV_VERDICT_COLUMNS) when the
 * verdict is in, and bulk_out_write_ready() writes the rows that are next
 * in order and complete. A slow row (greylisted for minutes) holds back
 * every row after it: bulk_out_full() says when the caller must stop
 * taking rows, bulk_out_has_room() when it may take them again.
 * Resuming: bulk_out_resume() reads an OUT a previous run wrote, checks
 * its header and each of its rows against IN's (each must begin with the
 * row's original columns followed by a comma: a different input is
 * refused), counts the rows as written and their verdicts by status,
 * drops a last line cut by a crash, and leaves OUT at its end.
 * Ownership: struct bulk_out is the caller's; o->out (a FILE the caller
 * opens and closes) and o->name (borrowed) are set by the caller. Lines
 * pushed are taken over; bulk_out_release() frees those never written.
 * Limits: BULK_OUT_PENDING_ROWS_MAX rows, BULK_OUT_PENDING_BYTES_MAX
 * octets pending; an OUT line read back at most BULK_OUT_RECORD_MAX.
 * Errors: 0 or -1 (out of memory; a message in the caller's buffer for
 * resuming); a write failure is an errno value. No I/O loop: plain
 * stdio and read(2), called from the caller's loop callbacks. */
#ifndef RCPTD_DAEMON_BULK_OUT_H
#define RCPTD_DAEMON_BULK_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/csv.h"
#include "core/verdict.h"

/* Rows taken but not yet written (waiting for their verdict or for an
 * earlier row's). A row greylisted for 5 minutes holds back what follows
 * it; at 1000 rows a second that is 300 000 rows, so a million rows or
 * 64 MiB, whichever comes first, before the job pauses. */
#define BULK_OUT_PENDING_ROWS_MAX  (1u << 20)
#define BULK_OUT_PENDING_BYTES_MAX ((size_t)64 * 1024 * 1024)
/* A line of our own output: a malformed input line quoted (twice its
 * size at worst), padding, the verdict columns. */
#define BULK_OUT_RECORD_MAX                                                    \
	(2 * CSV_RECORD_MAX + 2 + CSV_FIELDS_MAX + CSV_VERDICT_MAX + 2)
/* OUT is read back in chunks of this size (the csv parser's own). */
#define BULK_OUT_READ_CHUNK CSV_CHUNK

/* A row taken: its output line, complete once its verdict is in. */
struct bulk_out_slot {
	char *line;
	size_t len;
	bool ready;
};

struct bulk_out {
	const char *name;	    /* OUT, for messages; borrowed */
	FILE *out;		    /* the caller's */
	struct bulk_out_slot *ring; /* rows [written, written + count) */
	size_t cap, count, pending_bytes;
	uint64_t written;    /* rows written (resumed ones included) */
	uint64_t next_index; /* the index of the next row pushed */
	uint64_t resumed;    /* rows found in OUT by bulk_out_resume() */
	bool header_done;
};

/* IN, as bulk_out_resume() reads it (the caller's reader). */
struct bulk_out_input {
	const char *name; /* for messages */
	void *arg;
	/* header - read IN's first row, keep it for the run, and give IN's
	 * header line as written out (NULL when IN ends or has none).
	 * Returns 0, or -1 on a read error (the message in the caller's
	 * err buffer). */
	int (*header)(void *arg, const char **line, size_t *len);
	/* row - IN's next row: its original columns in *@prefix (taken
	 * over: bulk_out frees it). Returns 1, 0 at IN's end, -1 on a read
	 * error (the message in the caller's err buffer). */
	int (*row)(void *arg, char **prefix, size_t *len);
};

void bulk_out_init(struct bulk_out *o);
/* bulk_out_release - free the lines never written (not o->out). */
void bulk_out_release(struct bulk_out *o);

/* bulk_out_push - a slot for row o->next_index holding @line (taken over
 * on success); its index in *@index. Returns 0, or -1 when memory runs
 * out (@line is still the caller's). */
int bulk_out_push(struct bulk_out *o, char *line, size_t len, uint64_t *index);
/* bulk_out_complete - row @index has verdict @v: its line is finished.
 * Returns 0, or -1 when memory runs out. */
int bulk_out_complete(struct bulk_out *o, uint64_t index,
		      const struct verdict *v);
/* bulk_out_write_ready - write the rows next in order and complete, or
 * with @write false only drop them (after a failure). Returns 0, or the
 * errno of the first write that failed (later rows are dropped). */
int bulk_out_write_ready(struct bulk_out *o, bool write);
/* bulk_out_header - write @line once, before the first row (not when
 * OUT was resumed with it; nothing when @line is NULL). Returns 0, or an
 * errno value. */
int bulk_out_header(struct bulk_out *o, const char *line, size_t len);
/* bulk_out_full - too many rows pending: take no more. */
bool bulk_out_full(const struct bulk_out *o);
/* bulk_out_has_room - pending rows are down to half the limits again. */
bool bulk_out_has_room(const struct bulk_out *o);

/* bulk_out_resume - the rows already in OUT (@fd, open for reading and
 * writing) checked against @in and skipped; their verdicts counted into
 * @status; OUT cut after its last whole line and left at its end.
 * Returns 0, or -1 with @err. */
int bulk_out_resume(struct bulk_out *o, int fd, const struct bulk_out_input *in,
		    uint64_t status[VERDICT_STATUS_LAST], char *err,
		    size_t errlen);

#endif
