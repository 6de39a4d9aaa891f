/* bulk_in - `rcptd bulk`'s input: IN read as rows (daemon/cli_bulk.c).
 *
 * IN is a file or stdin: CSV with a header naming the address column,
 * CSV without one, or plain lines, one address each (core/csv.h "rows"
 * decides from the first line). bulk_in_next_row() yields its rows in
 * order: IN's header when it has one (BULK_ROW_HEADER, not a row), then
 * each data row as an address to verify (BULK_ROW_ADDRESS) or, when it
 * cannot hold one, with its verdict already given (BULK_ROW_DIRECT:
 * undeliverable / invalid_syntax). Once the first record was read,
 * in->rows.header is the output's header line (IN's, or one made up).
 * Empty lines are skipped; they are not rows. A malformed line (csv.h's
 * faults) is never dropped: it is a BULK_ROW_DIRECT row holding the
 * line, logged with its line number as a warning (the first
 * BULK_IN_MALFORMED_REPORT_MAX; in->malformed counts them all).
 * A row may be given back once (bulk_in_push_back(): --resume reads the
 * first row to find the header). bulk_in_count_rows() counts a regular
 * IN's rows in a reading of its own, before the run, for the ETA.
 * Ownership: struct bulk_in is the caller's. A row's prefix (its
 * original columns, as written out) is the caller's to free; its addr is
 * borrowed from the parser until the next bulk_in_next_row(). in->name
 * is borrowed (the path given, or "stdin"); in->rows.header is the
 * module's. bulk_in_close() restores stdin's flags, closes a file it
 * opened and frees the rest (a row pushed back included).
 * Limits: read in BULK_IN_READ_CHUNK octets at a time; a record at most
 * CSV_RECORD_MAX (csv.h); a message at most BULK_IN_ERR_MAX.
 * Errors: -1 from bulk_in_init() when memory runs out, from
 * bulk_in_open() with a message in in->err; bulk_in_next_row()'s -2 with
 * a message in in->err, and in->layout_error set when the first line
 * gave no address column (a usage error, not a read failure).
 * Loop: none; read(2) on in->fd. A non-blocking IN (a pipe or terminal
 * after bulk_in_nonblock()) makes bulk_in_next_row() return 0 when it
 * would block: the caller polls in->fd and asks again. */
#ifndef RCPTD_DAEMON_BULK_IN_H
#define RCPTD_DAEMON_BULK_IN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/csv.h"
#include "core/verdict.h"

/* Input is read in chunks of this size (the csv parser's own look-ahead
 * room, CSV_CHUNK). */
#define BULK_IN_READ_CHUNK CSV_CHUNK
/* Malformed lines reported one by one; after these, only a count. */
#define BULK_IN_MALFORMED_REPORT_MAX 20
/* A message: a path, a line number and csv.h's sentence (400). */
#define BULK_IN_ERR_MAX 512

/* What one input record is for the job. */
enum bulk_row_kind {
	BULK_ROW_SKIP = 0,
	BULK_ROW_HEADER,
	BULK_ROW_DIRECT,
	BULK_ROW_ADDRESS
};

struct bulk_row {
	enum bulk_row_kind kind;
	const char *addr; /* BULK_ROW_ADDRESS: borrowed from the parser */
	size_t addrlen;
	struct verdict v; /* BULK_ROW_DIRECT */
	char *prefix;	  /* the original columns, as written out */
	size_t prefixlen;
};

struct bulk_in {
	const char *name; /* for messages: the path, or "stdin" */
	int fd;		  /* -1 before bulk_in_open() */
	int flags;	  /* fd's flags before bulk_in_nonblock() */
	bool regular;	  /* a regular file: it can be counted */
	bool nonblock;	  /* bulk_in_nonblock() set O_NONBLOCK */
	bool eof;
	dev_t dev; /* a regular IN's, to tell it from OUT */
	ino_t ino;
	struct csv *csv;
	char *rbuf; /* BULK_IN_READ_CHUNK */
	size_t rhave, roff;
	struct csv_rows rows;	  /* the layout and the header line */
	struct bulk_row pushback; /* bulk_in_push_back()'s */
	bool has_pushback;
	uint64_t malformed; /* malformed lines passed through */
	bool layout_error;  /* the first line gave no address column */
	char err[BULK_IN_ERR_MAX];
};

/* bulk_in_init - @in ready for bulk_in_open(); @column is --column
 * (borrowed, as csv_rows_init() takes it). Returns 0, or -1 when memory
 * runs out (bulk_in_close() frees what was allocated). */
int bulk_in_init(struct bulk_in *in, const char *column);
/* bulk_in_open - open @path (NULL or "-": stdin). Returns 0, or -1 with
 * in->err. */
int bulk_in_open(struct bulk_in *in, const char *path);
/* bulk_in_same_file - @fd is IN itself (a regular file's device and
 * inode). */
bool bulk_in_same_file(const struct bulk_in *in, int fd);
/* bulk_in_nonblock - make IN (not a regular file) non-blocking, its
 * flags restored by bulk_in_close(); nothing when that fails (reads then
 * block, which is still correct). */
void bulk_in_nonblock(struct bulk_in *in);
/* bulk_in_close - restore IN's flags, close it unless it is stdin, and
 * free the rest. */
void bulk_in_close(struct bulk_in *in);

/* bulk_in_next_row - the next row (or the header) into @r: 1; 0 when IN
 * would block; -1 at its end; -2 on an error (in->err). */
int bulk_in_next_row(struct bulk_in *in, struct bulk_row *r);
/* bulk_in_push_back - @r (from bulk_in_next_row(); taken over) is the
 * next row bulk_in_next_row() gives. One row at most. */
void bulk_in_push_back(struct bulk_in *in, const struct bulk_row *r);

/* bulk_in_count_rows - the rows of a regular IN, read once from its path
 * with a parser of its own (IN's reading is left alone); false when they
 * cannot be counted. */
bool bulk_in_count_rows(const struct bulk_in *in, uint64_t *total);

#endif
