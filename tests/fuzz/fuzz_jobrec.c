/* fuzz_jobrec - any input through the chunk and result decoders
 * (core/jobrec.h).
 *
 * The same octets are read as a chunk and as a result (at most one magic
 * matches; both must hold their promises either way). Invariants, or the
 * target aborts:
 *  - a decoder never reads past the input (ASan sees it: the libFuzzer
 *    buffer and the driver's are exactly the input's size);
 *  - a chunk yields at most the count it opened with, each row's fields
 *    within JOBREC_FIELD_MAX and inside the input;
 *  - a chunk read to its end (answer 0), its rows encoded again, gives
 *    the input octet for octet: the form has one encoding, so a decoder
 *    that accepts more than the encoder writes is caught here; and the
 *    input one octet shorter is refused;
 *  - a result decoded has its input NULL exactly when the flag is clear,
 *    its JSON running to the end, and encoded again gives the input.
 * Built with libFuzzer by `make fuzz`, and with tests/fuzz/driver.c as a
 * regression test over tests/fuzz/corpus/jobrec by `make fuzz-regress`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jobrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void broken(const char *what)
{
	fprintf(stderr, "fuzz_jobrec: %s\n", what);
	abort();
}

/* inside - [p, p + n) lies within the input. */
static int inside(const char *p, size_t n, const char *src, size_t size)
{
	return p != NULL && p >= src && p <= src + size &&
	       n <= (size_t)(src + size - p);
}

/* read_chunk - every row of @src into @rows; the last answer of
 * jobrec_chunk_next() (0 or -1), or -2 when open refuses. */
static int read_chunk(const char *src, size_t size, struct jobrec_row *rows,
		      uint32_t *n)
{
	struct jobrec_cursor c;
	struct jobrec_row r;
	uint32_t count;
	int rc;

	*n = 0;
	if (jobrec_chunk_open(&c, src, size, &count) < 0)
		return -2;
	if (count > JOBREC_CHUNK_ROWS_MAX)
		broken("open accepted a count above the ceiling");
	/* into a row of our own first, so that a decoder yielding too many
	 * rows is named here rather than overflowing @rows */
	while ((rc = jobrec_chunk_next(&c, &r)) == 1) {
		if (*n >= count)
			broken("more rows than the count");
		if (r.prefixlen > JOBREC_FIELD_MAX ||
		    r.inputlen > JOBREC_FIELD_MAX)
			broken("a row's field above the ceiling");
		if (!inside(r.prefix, r.prefixlen, src, size) ||
		    !inside(r.input, r.inputlen, src, size))
			broken("a row's field outside the input");
		rows[(*n)++] = r;
	}
	if (rc != 0 && rc != -1)
		broken("jobrec_chunk_next answered neither 1, 0 nor -1");
	if (rc == 0 && *n != count)
		broken("chunk ended before its count");
	return rc;
}

static void chunk(const char *src, size_t size)
{
	/* The cursor allows no more rows than the ceiling; on the stack, as
	 * core/ keeps no mutable static state and neither does this. */
	struct jobrec_row rows[JOBREC_CHUNK_ROWS_MAX];
	uint32_t n, m;

	if (read_chunk(src, size, rows, &n) != 0)
		return;
	size_t len = jobrec_chunk_size(rows, n);
	if (len != size)
		broken("chunk size differs from the input's");
	char *out = malloc(len);
	if (out == NULL)
		abort();
	if (jobrec_chunk_encode(rows, n, out) != len)
		broken("chunk encoder's answer differs from its size");
	if (memcmp(out, src, len) != 0)
		broken("chunk encoded again differs from the input");
	free(out);
	/* the input, one octet short, in a block of exactly that size */
	char *cut = malloc(size - 1 ? size - 1 : 1);
	if (cut == NULL)
		abort();
	memcpy(cut, src, size - 1);
	if (read_chunk(cut, size - 1, rows, &m) == 0)
		broken("chunk one octet short accepted");
	free(cut);
}

static void result(const char *src, size_t size)
{
	struct jobrec_result r;

	if (jobrec_result_decode(src, size, &r) != 0)
		return;
	if (size < 3 || (src[2] & JOBREC_HAS_INPUT) != (r.input != NULL))
		broken("result's input disagrees with its flag");
	if (r.input == NULL && r.inputlen != 0)
		broken("result without input has an input length");
	if (r.prefixlen > JOBREC_FIELD_MAX || r.inputlen > JOBREC_FIELD_MAX)
		broken("a result's field above the ceiling");
	if (!inside(r.prefix, r.prefixlen, src, size) ||
	    (r.input && !inside(r.input, r.inputlen, src, size)) ||
	    !inside(r.json, r.jsonlen, src, size) ||
	    r.json + r.jsonlen != src + size)
		broken("a result's field outside the input");
	size_t len = jobrec_result_size(&r);
	if (len != size)
		broken("result size differs from the input's");
	char *out = malloc(len);
	if (out == NULL)
		abort();
	if (jobrec_result_encode(&r, out) != len)
		broken("result encoder's answer differs from its size");
	if (memcmp(out, src, len) != 0)
		broken("result encoded again differs from the input");
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	chunk((const char *)data, size);
	result((const char *)data, size);
	return 0;
}
