/* jobrec - the byte forms of a bulk job's pieces in Redis (issue 6, jobs
 * on Redis Streams; daemon/jobq.h).
 *
 * Two forms, both written by one rcptd and read by another (possibly on
 * another machine), so every integer is explicit little-endian, never a
 * host struct:
 *
 *   chunk   a stream entry's rows: "J1", u32 count, then per row
 *           u64 index, u32 prefix length, prefix, u32 input length,
 *           input. The prefix is the row's original columns as CSV
 *           results give them back; the input is the address as given.
 *   result  one row's outcome in the job's results hash: "R1", u8
 *           flags (JOBREC_HAS_INPUT), u32 prefix length, prefix, u32
 *           input length, input, then the verdict's JSON (api/
 *           verdict_json) to the end.
 *
 * A result has no end mark of its own: its JSON runs to the end of the
 * value (Redis keeps the length), and a cut JSON fails to parse.
 * Ownership: the encoders write into the caller's buffer (sized with the
 * _size functions); the decoders point into the caller's bytes (nothing
 * is copied, nothing allocated). Limits: JOBREC_CHUNK_ROWS_MAX rows a
 * chunk; a field is at most JOBREC_FIELD_MAX octets. The encoders do not
 * check these (the caller's rows are within them: a job's chunks hold
 * JOBQ_CHUNK_ROWS rows of a bounded body); the decoders refuse past them. Errors: a decoder
 * returns -1 on any form it did not write (short, long, bad lengths, bad
 * magic), never reads past @len. Loop: none; pure. */
#ifndef RCPTD_CORE_JOBREC_H
#define RCPTD_CORE_JOBREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Rows a chunk holds at most: the worker's unit of work and of loss
 * (a chunk is claimed, verified and acknowledged whole). */
#define JOBREC_CHUNK_ROWS_MAX 1000
/* A prefix or an input: a CSV row's columns are bounded by core/csv.h's
 * record limit (1 MiB); the same here, with room. */
#define JOBREC_FIELD_MAX (4u * 1024 * 1024)

#define JOBREC_HAS_INPUT 0x01

struct jobrec_row {
	uint64_t index;
	const char *prefix;
	size_t prefixlen;
	const char *input;
	size_t inputlen;
};

/* jobrec_row_size - the octets one row adds to a chunk. */
size_t jobrec_row_size(size_t prefixlen, size_t inputlen);
/* jobrec_chunk_size - the octets of a chunk of @n rows @rows. */
size_t jobrec_chunk_size(const struct jobrec_row *rows, size_t n);
/* jobrec_chunk_encode - @n rows into @dst (jobrec_chunk_size() octets);
 * returns that size. */
size_t jobrec_chunk_encode(const struct jobrec_row *rows, size_t n, char *dst);

/* A chunk being read: jobrec_chunk_open() then jobrec_chunk_next(). */
struct jobrec_cursor {
	const char *p, *end;
	uint32_t left;
};

/* jobrec_chunk_open - start reading @len octets; 0 and the row count in
 * *@count, or -1. */
int jobrec_chunk_open(struct jobrec_cursor *c, const char *src, size_t len,
		      uint32_t *count);
/* jobrec_chunk_next - the next row into *@row (pointing into the
 * chunk): 1; 0 after the last (and the chunk ended exactly there); -1 on
 * a malformed chunk. */
int jobrec_chunk_next(struct jobrec_cursor *c, struct jobrec_row *row);

struct jobrec_result {
	const char *prefix;
	size_t prefixlen;
	const char *input; /* NULL when the row had none (malformed) */
	size_t inputlen;
	const char *json; /* the verdict; not NUL-terminated */
	size_t jsonlen;
};

size_t jobrec_result_size(const struct jobrec_result *r);
/* jobrec_result_encode - @r into @dst (jobrec_result_size() octets). */
size_t jobrec_result_encode(const struct jobrec_result *r, char *dst);
/* jobrec_result_decode - @len octets into *@r (pointing into @src). */
int jobrec_result_decode(const char *src, size_t len, struct jobrec_result *r);

#endif
