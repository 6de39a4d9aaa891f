/* test_jobrec - the byte forms of a job's chunks and results: rows and
 * results round-trip, the encodings are the little-endian layout jobrec.h
 * states (pinned octet for octet, since another rcptd reads them), and a
 * form the encoders did not write is refused without reading past it. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/jobrec.h"

/* Bytes as a literal: the length comes from sizeof, so embedded NULs
 * count (the terminating NUL does not). */
#define B(s) s, sizeof(s) - 1

/* xdup - @len octets in a heap block of exactly that size, so that ASan
 * sees a read past the end; an empty block still gets an address. */
static char *xdup(const char *src, size_t len)
{
	char *p = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(p);
	if (len)
		memcpy(p, src, len);
	return p;
}

/* encode_chunk - @rows into a fresh block of exactly the encoded size;
 * checks the size three ways (returned, _size, the layout's arithmetic). */
static char *encode_chunk(const struct jobrec_row *rows, size_t n, size_t *len)
{
	size_t want = 2 + 4;

	for (size_t i = 0; i < n; i++) {
		size_t row = 8 + 4 + rows[i].prefixlen + 4 + rows[i].inputlen;
		ck_assert_uint_eq(
		    jobrec_row_size(rows[i].prefixlen, rows[i].inputlen), row);
		want += row;
	}
	ck_assert_uint_eq(jobrec_chunk_size(rows, n), want);
	char *buf = malloc(want);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(jobrec_chunk_encode(rows, n, buf), want);
	*len = want;
	return buf;
}

/* inside - [p, p + n) lies within [buf, buf + len): decoders copy
 * nothing, they point into the caller's bytes. */
static void assert_inside(const char *p, size_t n, const char *buf, size_t len)
{
	ck_assert_ptr_nonnull(p);
	ck_assert(p >= buf && p <= buf + len);
	ck_assert_uint_le(n, (size_t)(buf + len - p));
}

/* assert_chunk_reads - @buf decodes to exactly @rows, then ends. */
static void assert_chunk_reads(const char *buf, size_t len,
			       const struct jobrec_row *rows, size_t n)
{
	struct jobrec_cursor c;
	struct jobrec_row r;
	uint32_t count = 0xdeadbeef;

	ck_assert_int_eq(jobrec_chunk_open(&c, buf, len, &count), 0);
	ck_assert_uint_eq(count, n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(jobrec_chunk_next(&c, &r), 1);
		ck_assert_uint_eq(r.index, rows[i].index);
		ck_assert_uint_eq(r.prefixlen, rows[i].prefixlen);
		ck_assert_uint_eq(r.inputlen, rows[i].inputlen);
		assert_inside(r.prefix, r.prefixlen, buf, len);
		assert_inside(r.input, r.inputlen, buf, len);
		ck_assert_int_eq(memcmp(r.prefix,
					rows[i].prefix ? rows[i].prefix : "",
					r.prefixlen),
				 0);
		ck_assert_int_eq(memcmp(r.input,
					rows[i].input ? rows[i].input : "",
					r.inputlen),
				 0);
	}
	ck_assert_int_eq(jobrec_chunk_next(&c, &r), 0);
	ck_assert_int_eq(jobrec_chunk_next(&c, &r), 0); /* stays ended */
}

/* chunk_status - open then read to the end: -2 if open refuses, else the
 * last jobrec_chunk_next() answer (0 or -1); the rows read in *@rows. */
static int chunk_status(const char *buf, size_t len, size_t *rows)
{
	struct jobrec_cursor c;
	struct jobrec_row r;
	uint32_t count;
	int rc;

	*rows = 0;
	if (jobrec_chunk_open(&c, buf, len, &count) < 0)
		return -2;
	while ((rc = jobrec_chunk_next(&c, &r)) == 1) {
		ck_assert_uint_lt(*rows, count);
		(*rows)++;
	}
	ck_assert(rc == 0 || rc == -1);
	return rc;
}

/* ---- chunk round trip --------------------------------------------------- */

static const struct jobrec_row rows_one[] = {
    {7, "alice,1,", 8, "alice@example.com", 17},
};
static const struct jobrec_row rows_empty_fields[] = {
    {0, "", 0, "", 0},
    {1, NULL, 0, NULL, 0},
    {2, "p", 1, "", 0},
    {3, "", 0, "i", 1},
};
static const struct jobrec_row rows_binary[] = {
    {0, "\0", 1, "\0\0", 2},
    {UINT64_MAX, "\xff\x00\r\n\"", 5, "a\0b@\x80\xfe", 6},
    {UINT64_MAX - 1, "J1\x01\x00\x00\x00", 6, "R1", 2},
};
static const struct jobrec_row rows_indices[] = {
    {UINT64_MAX, "x", 1, "y", 1},
    {0, "x", 1, "y", 1},
    {UINT64_C(0x0102030405060708), "", 0, "z", 1},
    {UINT64_C(0x8000000000000000), "", 0, "", 0},
};

static const struct {
	const char *name;
	const struct jobrec_row *rows;
	size_t n;
} chunk_cases[] = {
    {"no rows", NULL, 0},
    {"one row", rows_one, 1},
    {"empty prefix and input", rows_empty_fields, 4},
    {"binary with NUL", rows_binary, 3},
    {"index 0 and UINT64_MAX", rows_indices, 4},
};

START_TEST(chunk_round_trip)
{
	size_t len;
	char *buf = encode_chunk(chunk_cases[_i].rows, chunk_cases[_i].n, &len);

	assert_chunk_reads(buf, len, chunk_cases[_i].rows, chunk_cases[_i].n);
	free(buf);
}
END_TEST

/* The ceiling: JOBREC_CHUNK_ROWS_MAX rows, lengths varied and binary. */
START_TEST(chunk_round_trip_full)
{
	struct jobrec_row *rows = calloc(JOBREC_CHUNK_ROWS_MAX, sizeof(*rows));
	static const char bytes[64] = "prefix,\0\x01\xff"
				      "x@example.org\r\n\"quoted\"";
	size_t len;

	ck_assert_ptr_nonnull(rows);
	for (size_t i = 0; i < JOBREC_CHUNK_ROWS_MAX; i++) {
		rows[i].index = i == 0 ? UINT64_MAX : (uint64_t)i * 0x10001;
		rows[i].prefix = bytes + i % 7;
		rows[i].prefixlen = i % 41 % (sizeof(bytes) - 7);
		rows[i].input = bytes + i % 5;
		rows[i].inputlen = i % 53 % (sizeof(bytes) - 5);
	}
	char *buf = encode_chunk(rows, JOBREC_CHUNK_ROWS_MAX, &len);
	ck_assert_int_eq(memcmp(buf, "J1\xe8\x03\x00\x00", 6), 0); /* 1000 */
	assert_chunk_reads(buf, len, rows, JOBREC_CHUNK_ROWS_MAX);
	free(buf);
	free(rows);
}
END_TEST

/* ---- exact encodings ---------------------------------------------------- */

static const struct jobrec_row rows_pin_one[] = {
    {UINT64_C(0x0102030405060708), "a,b", 3, "x@y", 3},
};
static const struct jobrec_row rows_pin_two[] = {
    {UINT64_MAX, "", 0, "\0", 1},
    {0x100, "q", 1, "", 0},
};

static const struct {
	const char *name;
	const struct jobrec_row *rows;
	size_t n;
	const char *bytes;
	size_t len;
} chunk_pins[] = {
    {"no rows", NULL, 0,
     B("J1"
       "\x00\x00\x00\x00")},
    {"one row", rows_pin_one, 1,
     B("J1"
       "\x01\x00\x00\x00"
       "\x08\x07\x06\x05\x04\x03\x02\x01"
       "\x03\x00\x00\x00"
       "a,b"
       "\x03\x00\x00\x00"
       "x@y")},
    {"two rows", rows_pin_two, 2,
     B("J1"
       "\x02\x00\x00\x00"
       "\xff\xff\xff\xff\xff\xff\xff\xff"
       "\x00\x00\x00\x00"
       "\x01\x00\x00\x00"
       "\x00"
       "\x00\x01\x00\x00\x00\x00\x00\x00"
       "\x01\x00\x00\x00"
       "q"
       "\x00\x00\x00\x00")},
};

START_TEST(chunk_exact_bytes)
{
	size_t len;
	char *buf = encode_chunk(chunk_pins[_i].rows, chunk_pins[_i].n, &len);

	ck_assert_uint_eq(len, chunk_pins[_i].len);
	ck_assert_int_eq(memcmp(buf, chunk_pins[_i].bytes, len), 0);
	free(buf);
	/* and the pinned bytes read back as the rows */
	buf = xdup(chunk_pins[_i].bytes, chunk_pins[_i].len);
	assert_chunk_reads(buf, chunk_pins[_i].len, chunk_pins[_i].rows,
			   chunk_pins[_i].n);
	free(buf);
}
END_TEST

/* A length above 255 shows the u32 length's byte order too. */
START_TEST(chunk_exact_long_field)
{
	enum { PLEN = 0x0102, ILEN = 0x0201 };
	char *prefix = malloc(PLEN), *input = malloc(ILEN);
	struct jobrec_row row = {5, prefix, PLEN, input, ILEN};
	size_t len;

	ck_assert_ptr_nonnull(prefix);
	ck_assert_ptr_nonnull(input);
	memset(prefix, 'p', PLEN);
	memset(input, 'i', ILEN);
	char *buf = encode_chunk(&row, 1, &len);
	ck_assert_uint_eq(len, 6 + 8 + 4 + PLEN + 4 + ILEN);
	ck_assert_int_eq(memcmp(buf,
				"J1\x01\x00\x00\x00"
				"\x05\x00\x00\x00\x00\x00\x00\x00"
				"\x02\x01\x00\x00",
				18),
			 0);
	ck_assert_int_eq(memcmp(buf + 18, prefix, PLEN), 0);
	ck_assert_int_eq(memcmp(buf + 18 + PLEN, "\x01\x02\x00\x00", 4), 0);
	ck_assert_int_eq(memcmp(buf + 22 + PLEN, input, ILEN), 0);
	assert_chunk_reads(buf, len, &row, 1);
	free(buf);
	free(prefix);
	free(input);
}
END_TEST

static const struct {
	const char *name;
	struct jobrec_result r;
	const char *bytes;
	size_t len;
} result_pins[] = {
    {"with input",
     {"p,", 2, "i@d", 3, "{\"s\":1}", 7},
     B("R1"
       "\x01"
       "\x02\x00\x00\x00"
       "p,"
       "\x03\x00\x00\x00"
       "i@d"
       "{\"s\":1}")},
    {"without input",
     {"", 0, NULL, 0, "{}", 2},
     B("R1"
       "\x00"
       "\x00\x00\x00\x00"
       "\x00\x00\x00\x00"
       "{}")},
    {"empty input, empty json",
     {"a\0", 2, "", 0, "", 0},
     B("R1"
       "\x01"
       "\x02\x00\x00\x00"
       "a\0"
       "\x00\x00\x00\x00")},
};

START_TEST(result_exact_bytes)
{
	const struct jobrec_result *r = &result_pins[_i].r;
	size_t len = jobrec_result_size(r);
	char *buf = malloc(len);

	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(len, result_pins[_i].len);
	ck_assert_uint_eq(jobrec_result_encode(r, buf), len);
	ck_assert_int_eq(memcmp(buf, result_pins[_i].bytes, len), 0);
	free(buf);
}
END_TEST

/* ---- malformed chunks --------------------------------------------------- */

/* The sample every truncation is cut from: several rows, empty and binary
 * fields, so that every cut lands in a different part of the layout. */
static const struct jobrec_row rows_sample[] = {
    {1, "a,b,", 4, "x@example.com", 13},
    {2, "", 0, "", 0},
    {UINT64_MAX, "\0\xff", 2, "y\0", 2},
};

START_TEST(chunk_every_truncation)
{
	size_t len, rows;
	char *full = encode_chunk(rows_sample, 3, &len);

	for (size_t cut = 0; cut < len; cut++) {
		char *buf = xdup(full, cut);
		int rc = chunk_status(buf, cut, &rows);
		/* short of the head: open refuses; later: a row is refused */
		if (cut < 6)
			ck_assert_msg(rc == -2, "cut %zu: open accepted", cut);
		else
			ck_assert_msg(rc == -1, "cut %zu: answered %d", cut,
				      rc);
		ck_assert_uint_lt(rows, 3);
		free(buf);
	}
	/* one octet more is trailing garbage */
	char *longer = malloc(len + 1);
	ck_assert_ptr_nonnull(longer);
	memcpy(longer, full, len);
	longer[len] = 0;
	ck_assert_int_eq(chunk_status(longer, len + 1, &rows), -1);
	ck_assert_uint_eq(rows, 3);
	free(longer);
	free(full);
}
END_TEST

/* Hand-made chunks: @open is jobrec_chunk_open()'s answer; when 0, @good
 * rows are read (answer 1) and then jobrec_chunk_next() answers @last. */
static const struct {
	const char *name;
	const char *bytes;
	size_t len;
	int open;
	size_t good;
	int last;
} chunk_bad[] = {
    {"empty", B(""), -1, 0, 0},
    {"magic only", B("J1"), -1, 0, 0},
    {"count cut", B("J1\x00\x00\x00"), -1, 0, 0},
    {"wrong magic J2", B("J2\x00\x00\x00\x00"), -1, 0, 0},
    {"lower-case magic", B("j1\x00\x00\x00\x00"), -1, 0, 0},
    {"result magic", B("R1\x00\x00\x00\x00"), -1, 0, 0},
    {"count 1001", B("J1\xe9\x03\x00\x00"), -1, 0, 0},
    {"count 65536", B("J1\x00\x00\x01\x00"), -1, 0, 0},
    {"count UINT32_MAX", B("J1\xff\xff\xff\xff"), -1, 0, 0},
    {"count 1000, no rows", B("J1\xe8\x03\x00\x00"), 0, 0, -1},
    {"count 0, exact", B("J1\x00\x00\x00\x00"), 0, 0, 0},
    {"count 0, trailing", B("J1\x00\x00\x00\x00x"), 0, 0, -1},
    {"count 2, one row",
     B("J1\x02\x00\x00\x00"
       "\x00\x00\x00\x00\x00\x00\x00\x00"
       "\x00\x00\x00\x00"
       "\x00\x00\x00\x00"),
     0, 1, -1},
    {"count 1, trailing after last row",
     B("J1\x01\x00\x00\x00"
       "\x00\x00\x00\x00\x00\x00\x00\x00"
       "\x00\x00\x00\x00"
       "\x01\x00\x00\x00"
       "a"
       "garbage"),
     0, 1, -1},
    {"index cut",
     B("J1\x01\x00\x00\x00"
       "\x00\x00\x00\x00\x00\x00\x00"),
     0, 0, -1},
    {"prefix length past end",
     B("J1\x01\x00\x00\x00"
       "\x00\x00\x00\x00\x00\x00\x00\x00"
       "\x05\x00\x00\x00"
       "abc"),
     0, 0, -1},
    {"prefix length one past end",
     B("J1\x01\x00\x00\x00"
       "\x00\x00\x00\x00\x00\x00\x00\x00"
       "\x08\x00\x00\x00"
       "abc"
       "\x00\x00\x00\x00"),
     0, 0, -1},
    {"prefix length UINT32_MAX",
     B("J1\x01\x00\x00\x00"
       "\x00\x00\x00\x00\x00\x00\x00\x00"
       "\xff\xff\xff\xff"
       "\x00\x00\x00\x00"),
     0, 0, -1},
    {"input length missing",
     B("J1\x01\x00\x00\x00"
       "\x00\x00\x00\x00\x00\x00\x00\x00"
       "\x01\x00\x00\x00"
       "a"),
     0, 0, -1},
    {"input length past end",
     B("J1\x01\x00\x00\x00"
       "\x00\x00\x00\x00\x00\x00\x00\x00"
       "\x00\x00\x00\x00"
       "\x02\x00\x00\x00"
       "a"),
     0, 0, -1},
    {"second row's input length past end",
     B("J1\x02\x00\x00\x00"
       "\x00\x00\x00\x00\x00\x00\x00\x00"
       "\x00\x00\x00\x00"
       "\x00\x00\x00\x00"
       "\x01\x00\x00\x00\x00\x00\x00\x00"
       "\x00\x00\x00\x00"
       "\x05\x00\x00\x00"
       "ab"),
     0, 1, -1},
};

START_TEST(chunk_malformed)
{
	struct jobrec_cursor c;
	struct jobrec_row r;
	uint32_t count;
	char *buf = xdup(chunk_bad[_i].bytes, chunk_bad[_i].len);

	ck_assert_msg(jobrec_chunk_open(&c, buf, chunk_bad[_i].len, &count) ==
			  chunk_bad[_i].open,
		      "%s: open", chunk_bad[_i].name);
	if (chunk_bad[_i].open == 0) {
		for (size_t k = 0; k < chunk_bad[_i].good; k++)
			ck_assert_msg(jobrec_chunk_next(&c, &r) == 1,
				      "%s: row %zu", chunk_bad[_i].name, k);
		ck_assert_msg(jobrec_chunk_next(&c, &r) == chunk_bad[_i].last,
			      "%s: last", chunk_bad[_i].name);
	}
	free(buf);
}
END_TEST

/* The field ceiling itself, with every octet present so that only the
 * ceiling can refuse: JOBREC_FIELD_MAX reads, one more does not, in the
 * prefix and in the input. */
START_TEST(chunk_field_ceiling)
{
	static const struct {
		size_t prefixlen, inputlen;
		int want;
	} t[] = {
	    {JOBREC_FIELD_MAX, 0, 0},
	    {0, JOBREC_FIELD_MAX, 0},
	    {(size_t)JOBREC_FIELD_MAX + 1, 0, -1},
	    {0, (size_t)JOBREC_FIELD_MAX + 1, -1},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *field = calloc(1, (size_t)JOBREC_FIELD_MAX + 1);
		struct jobrec_row row = {9, field, t[i].prefixlen, field,
					 t[i].inputlen};
		size_t len, rows;

		ck_assert_ptr_nonnull(field);
		char *buf = encode_chunk(&row, 1, &len);
		ck_assert_msg(chunk_status(buf, len, &rows) == t[i].want,
			      "case %zu", i);
		ck_assert_uint_eq(rows, t[i].want == 0 ? 1 : 0);
		free(buf);
		free(field);
	}
}
END_TEST

/* ---- results ------------------------------------------------------------ */

static const struct {
	const char *name;
	struct jobrec_result r;
} result_cases[] = {
    {"with input", {"7,alice,", 8, "alice@example.com", 17, "{\"a\":1}", 7}},
    {"without input", {"7,,", 3, NULL, 0, "{\"status\":\"invalid\"}", 20}},
    {"empty json", {"p", 1, "i@d", 3, "", 0}},
    {"empty json, no input", {"", 0, NULL, 0, "", 0}},
    {"empty input present", {"", 0, "", 0, "{}", 2}},
    {"binary with NUL", {"\0\xff", 2, "a\0b", 3, "R1\x01\0", 4}},
};

/* assert_result_reads - @buf decodes to @want, pointing into @buf. */
static void assert_result_reads(const char *buf, size_t len,
				const struct jobrec_result *want)
{
	struct jobrec_result got;

	memset(&got, 0x5a, sizeof(got));
	ck_assert_int_eq(jobrec_result_decode(buf, len, &got), 0);
	ck_assert_uint_eq(got.prefixlen, want->prefixlen);
	assert_inside(got.prefix, got.prefixlen, buf, len);
	ck_assert_int_eq(memcmp(got.prefix, want->prefix, got.prefixlen), 0);
	if (want->input == NULL) {
		ck_assert_ptr_null(got.input);
		ck_assert_uint_eq(got.inputlen, 0);
	} else {
		ck_assert_uint_eq(got.inputlen, want->inputlen);
		assert_inside(got.input, got.inputlen, buf, len);
		ck_assert_int_eq(memcmp(got.input, want->input, got.inputlen),
				 0);
	}
	ck_assert_uint_eq(got.jsonlen, want->jsonlen);
	ck_assert_ptr_eq(got.json, buf + len - want->jsonlen);
	ck_assert_int_eq(memcmp(got.json, want->json, got.jsonlen), 0);
}

START_TEST(result_round_trip)
{
	const struct jobrec_result *r = &result_cases[_i].r;
	size_t len = jobrec_result_size(r);
	char *buf = malloc(len);

	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(len, 2 + 1 + 4 + r->prefixlen + 4 + r->inputlen +
				   r->jsonlen);
	ck_assert_uint_eq(jobrec_result_encode(r, buf), len);
	ck_assert_uint_eq((unsigned char)buf[2],
			  r->input ? JOBREC_HAS_INPUT : 0);
	assert_result_reads(buf, len, r);
	free(buf);
}
END_TEST

/* Every cut of a result: inside the head (magic, flags, the two fields)
 * it is refused; inside the JSON it cannot be told from a shorter JSON,
 * since the JSON runs to the end: the form has no end mark. */
START_TEST(result_every_truncation)
{
	const struct jobrec_result *r = &result_cases[_i].r;
	size_t len = jobrec_result_size(r);
	size_t head = len - r->jsonlen;
	char *full = malloc(len);
	struct jobrec_result got;

	ck_assert_ptr_nonnull(full);
	jobrec_result_encode(r, full);
	for (size_t cut = 0; cut <= len; cut++) {
		char *buf = xdup(full, cut);
		if (cut < head) {
			ck_assert_msg(
			    jobrec_result_decode(buf, cut, &got) == -1,
			    "%s: cut %zu accepted", result_cases[_i].name, cut);
		} else {
			struct jobrec_result shorter = *r;
			shorter.jsonlen = cut - head;
			assert_result_reads(buf, cut, &shorter);
		}
		free(buf);
	}
	free(full);
}
END_TEST

static const struct {
	const char *name;
	const char *bytes;
	size_t len;
} result_bad[] = {
    {"empty", B("")},
    {"magic only", B("R1")},
    {"no lengths", B("R1\x01")},
    {"wrong magic", B("R2\x00\x00\x00\x00\x00\x00\x00\x00\x00")},
    {"chunk magic", B("J1\x00\x00\x00\x00\x00\x00\x00\x00\x00")},
    {"lower-case magic", B("r1\x00\x00\x00\x00\x00\x00\x00\x00\x00")},
    {"flag 0x02", B("R1\x02\x00\x00\x00\x00\x00\x00\x00\x00{}")},
    {"flags 0x03", B("R1\x03\x00\x00\x00\x00\x00\x00\x00\x00{}")},
    {"flag 0x80", B("R1\x80\x00\x00\x00\x00\x00\x00\x00\x00{}")},
    {"flags 0xff", B("R1\xff\x00\x00\x00\x00\x00\x00\x00\x00{}")},
    {"no input flag, input length 1", B("R1\x00\x00\x00\x00\x00\x01\x00\x00\x00"
					"a{}")},
    {"no input flag, input length 1, no json",
     B("R1\x00\x00\x00\x00\x00\x01\x00\x00\x00"
       "a")},
    {"prefix length past end", B("R1\x01\x05\x00\x00\x00"
				 "abc")},
    {"prefix length UINT32_MAX", B("R1\x01\xff\xff\xff\xff\x00\x00\x00\x00{}")},
    {"input length cut", B("R1\x01\x00\x00\x00\x00\x00\x00")},
    {"input length past end", B("R1\x01\x00\x00\x00\x00\x04\x00\x00\x00"
				"abc")},
    {"input length 4 MiB + 1 (past end too)",
     B("R1\x01\x00\x00\x00\x00\x01\x00\x40\x00{}")},
};

START_TEST(result_malformed)
{
	struct jobrec_result got;
	char *buf = xdup(result_bad[_i].bytes, result_bad[_i].len);

	ck_assert_msg(jobrec_result_decode(buf, result_bad[_i].len, &got) == -1,
		      "%s: accepted", result_bad[_i].name);
	free(buf);
}
END_TEST

/* The field ceiling in a result, every octet present. */
START_TEST(result_field_ceiling)
{
	static const struct {
		size_t prefixlen, inputlen;
		int want;
	} t[] = {
	    {JOBREC_FIELD_MAX, 0, 0},
	    {0, JOBREC_FIELD_MAX, 0},
	    {(size_t)JOBREC_FIELD_MAX + 1, 0, -1},
	    {0, (size_t)JOBREC_FIELD_MAX + 1, -1},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char *field = calloc(1, (size_t)JOBREC_FIELD_MAX + 1);
		struct jobrec_result r = {field,	 t[i].prefixlen, field,
					  t[i].inputlen, "{}",		 2};
		struct jobrec_result got;

		ck_assert_ptr_nonnull(field);
		size_t len = jobrec_result_size(&r);
		char *buf = malloc(len);
		ck_assert_ptr_nonnull(buf);
		ck_assert_uint_eq(jobrec_result_encode(&r, buf), len);
		ck_assert_msg(jobrec_result_decode(buf, len, &got) == t[i].want,
			      "case %zu", i);
		free(buf);
		free(field);
	}
}
END_TEST

#define N(a) (int)(sizeof(a) / sizeof((a)[0]))

Suite *jobrec_suite(void)
{
	Suite *s = suite_create("jobrec");
	TCase *t;

	t = tcase_create("chunk round trip");
	tcase_add_loop_test(t, chunk_round_trip, 0, N(chunk_cases));
	tcase_add_test(t, chunk_round_trip_full);
	suite_add_tcase(s, t);

	t = tcase_create("exact bytes");
	tcase_add_loop_test(t, chunk_exact_bytes, 0, N(chunk_pins));
	tcase_add_test(t, chunk_exact_long_field);
	tcase_add_loop_test(t, result_exact_bytes, 0, N(result_pins));
	suite_add_tcase(s, t);

	t = tcase_create("malformed chunk");
	tcase_add_test(t, chunk_every_truncation);
	tcase_add_loop_test(t, chunk_malformed, 0, N(chunk_bad));
	tcase_add_test(t, chunk_field_ceiling);
	suite_add_tcase(s, t);

	t = tcase_create("result round trip");
	tcase_add_loop_test(t, result_round_trip, 0, N(result_cases));
	suite_add_tcase(s, t);

	t = tcase_create("malformed result");
	tcase_add_loop_test(t, result_every_truncation, 0, N(result_cases));
	tcase_add_loop_test(t, result_malformed, 0, N(result_bad));
	tcase_add_test(t, result_field_ceiling);
	suite_add_tcase(s, t);
	return s;
}
