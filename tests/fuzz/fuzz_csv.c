/* fuzz_csv - libFuzzer target for the CSV parser (core/csv.h).
 *
 * The input is parsed with small limits (so that the bounds are reached
 * often) three ways: whole, one octet at a time, and split in two at an
 * offset taken from the input. Each way must give the same records (a
 * hash over every member), and every record must keep csv.h's promises or
 * the target aborts:
 *  - at least one field, at most fields_max; each field within
 *    field_max; raw within record_max and inside the fed input's size;
 *  - a fault comes with its sentence and only then;
 *  - lines count up without gaps: a record starts where the last ended;
 *  - a record without fault, its fields written back with csv_quote(),
 *    reads back as the same fields;
 *  - csv_layout_detect() on the first record answers 0 with a column
 *    inside it (or plain lines) or -1 with a sentence.
 * Built with libFuzzer by `make fuzz`, and with tests/fuzz/driver.c as a
 * regression test over tests/fuzz/corpus/csv by `make fuzz-regress`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REC_MAX	   64
#define FIELD_MAX  16
#define FIELDS_MAX 8

static void broken(const char *what, uint64_t line)
{
	fprintf(stderr, "fuzz_csv: %s (record at line %llu)\n", what,
		(unsigned long long)line);
	abort();
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return h;
}

/* round_trip - the fields of @r written back and read again. */
static void round_trip(const struct csv_record *r)
{
	struct csv_limits l = {REC_MAX * 8, FIELD_MAX, FIELDS_MAX};
	char line[REC_MAX * 8];
	size_t n = 3;
	struct csv *p = csv_new(&l);
	struct csv_record back;

	if (p == NULL)
		abort();
	/* A BOM first, so that a field starting with one stays data. */
	memcpy(line, "\xef\xbb\xbf", 3);
	for (unsigned i = 0; i < r->nfields; i++) {
		if (i)
			line[n++] = ',';
		n += csv_quote(line + n, r->field[i].p, r->field[i].len);
	}
	line[n++] = '\n';
	if (csv_feed(p, line, n) != n || csv_next(p, &back) != 1)
		broken("written record does not read back", r->line);
	/* An empty line is one empty field, and reads back as such. */
	if (back.err != CSV_OK || back.nfields != r->nfields)
		broken("written record reads back different", r->line);
	for (unsigned i = 0; i < r->nfields; i++)
		if (back.field[i].len != r->field[i].len ||
		    memcmp(back.field[i].p, r->field[i].p, r->field[i].len))
			broken("written field reads back different", r->line);
	csv_free(p);
}

struct run {
	uint64_t hash, next_line, count;
	size_t size;
	int layout_done;
};

static void check(struct run *run, const struct csv_record *r)
{
	struct csv_layout lay;
	char why[256];

	if (r->nfields < 1 || r->nfields > FIELDS_MAX)
		broken("field count", r->line);
	if (r->raw_len > REC_MAX || r->raw_len > run->size)
		broken("raw length", r->line);
	for (unsigned i = 0; i < r->nfields; i++)
		if (r->field[i].len > FIELD_MAX)
			broken("field length", r->line);
	if ((r->err != CSV_OK) != (r->why[0] != '\0') ||
	    memchr(r->why, '\0', sizeof(r->why)) == NULL)
		broken("fault and sentence disagree", r->line);
	if (r->line != run->next_line || r->lines < 1)
		broken("line numbers", r->line);
	run->next_line = r->line + r->lines;
	if (r->err == CSV_OK)
		round_trip(r);
	if (!run->layout_done) {
		run->layout_done = 1;
		int rc = csv_layout_detect(r, NULL, &lay, why, sizeof(why));
		if (rc == 0 && lay.column >= r->nfields)
			broken("layout column outside the record", r->line);
		if (rc != 0 && (rc != -1 || why[0] == '\0'))
			broken("layout failure without a sentence", r->line);
	}
	run->hash = mix(run->hash, &r->line, sizeof(r->line));
	run->hash = mix(run->hash, &r->lines, sizeof(r->lines));
	run->hash = mix(run->hash, &r->err, sizeof(r->err));
	run->hash = mix(run->hash, r->raw, r->raw_len);
	for (unsigned i = 0; i < r->nfields; i++) {
		run->hash =
		    mix(run->hash, &r->field[i].len, sizeof(r->field[i].len));
		run->hash = mix(run->hash, r->field[i].p, r->field[i].len);
	}
	run->count++;
}

/* parse - feed @data in pieces: @step octets (0: whole), or two pieces
 * split at @split when @step is SIZE_MAX. */
static struct run parse(const uint8_t *data, size_t size, size_t step,
			size_t split)
{
	struct csv_limits l = {REC_MAX, FIELD_MAX, FIELDS_MAX};
	struct csv *p = csv_new(&l);
	struct csv_record r;
	struct run run = {
	    .hash = 0xcbf29ce484222325ULL, .next_line = 1, .size = size};
	size_t off = 0;

	if (p == NULL)
		abort();
	while (off < size) {
		size_t piece = size - off;
		if (step == SIZE_MAX)
			piece = off < split ? split - off : size - off;
		else if (step && piece > step)
			piece = step;
		size_t took = csv_feed(p, (const char *)data + off, piece);
		while (csv_next(p, &r) == 1)
			check(&run, &r);
		if (took == 0 &&
		    csv_feed(p, (const char *)data + off, piece) == 0)
			broken("no progress", run.next_line);
		off += took;
	}
	csv_finish(p);
	while (csv_next(p, &r) == 1)
		check(&run, &r);
	if (run.next_line - 1 != csv_lines(p))
		broken("csv_lines disagrees", run.next_line);
	csv_free(p);
	return run;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole = parse(data, size, 0, 0);
	struct run bytes = parse(data, size, 1, 0);
	struct run two =
	    parse(data, size, SIZE_MAX, size ? data[0] % (size + 1) : 0);

	if (whole.hash != bytes.hash || whole.count != bytes.count ||
	    whole.hash != two.hash || whole.count != two.count)
		broken("chunking changed the records", 0);
	return 0;
}
