/* jobrec - byte forms of a job's chunks and results (see jobrec.h). */
#include "core/jobrec.h"

#include <string.h>

#define CHUNK_MAGIC  "J1"
#define RESULT_MAGIC "R1"
#define MAGIC_LEN    2

static char *put32(char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		*p++ = (char)(v >> (8 * i));
	return p;
}

static char *put64(char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		*p++ = (char)(v >> (8 * i));
	return p;
}

static uint64_t get(const char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)(unsigned char)p[i] << (8 * i);
	return v;
}

/* take - a u32 length and that many octets from [*p, end). */
static int take(const char **p, const char *end, const char **s, size_t *len)
{
	uint64_t n;

	if (end - *p < 4)
		return -1;
	n = get(*p, 4);
	*p += 4;
	if (n > JOBREC_FIELD_MAX || (uint64_t)(end - *p) < n)
		return -1;
	*s = *p;
	*len = (size_t)n;
	*p += n;
	return 0;
}

size_t jobrec_row_size(size_t prefixlen, size_t inputlen)
{
	return 8 + 4 + prefixlen + 4 + inputlen;
}

size_t jobrec_chunk_size(const struct jobrec_row *rows, size_t n)
{
	size_t size = MAGIC_LEN + 4;

	for (size_t i = 0; i < n; i++)
		size += jobrec_row_size(rows[i].prefixlen, rows[i].inputlen);
	return size;
}

size_t jobrec_chunk_encode(const struct jobrec_row *rows, size_t n, char *dst)
{
	char *p = dst;

	memcpy(p, CHUNK_MAGIC, MAGIC_LEN);
	p = put32(p + MAGIC_LEN, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		p = put64(p, rows[i].index);
		p = put32(p, (uint32_t)rows[i].prefixlen);
		if (rows[i].prefixlen)
			memcpy(p, rows[i].prefix, rows[i].prefixlen);
		p += rows[i].prefixlen;
		p = put32(p, (uint32_t)rows[i].inputlen);
		if (rows[i].inputlen)
			memcpy(p, rows[i].input, rows[i].inputlen);
		p += rows[i].inputlen;
	}
	return (size_t)(p - dst);
}

int jobrec_chunk_open(struct jobrec_cursor *c, const char *src, size_t len,
		      uint32_t *count)
{
	if (len < MAGIC_LEN + 4 || memcmp(src, CHUNK_MAGIC, MAGIC_LEN) != 0)
		return -1;
	c->left = (uint32_t)get(src + MAGIC_LEN, 4);
	if (c->left > JOBREC_CHUNK_ROWS_MAX)
		return -1;
	c->p = src + MAGIC_LEN + 4;
	c->end = src + len;
	*count = c->left;
	return 0;
}

int jobrec_chunk_next(struct jobrec_cursor *c, struct jobrec_row *row)
{
	const char *p = c->p;

	if (c->left == 0)
		return p == c->end ? 0 : -1;
	if (c->end - p < 8)
		return -1;
	row->index = get(p, 8);
	p += 8;
	if (take(&p, c->end, &row->prefix, &row->prefixlen) < 0 ||
	    take(&p, c->end, &row->input, &row->inputlen) < 0)
		return -1;
	c->p = p;
	c->left--;
	return 1;
}

size_t jobrec_result_size(const struct jobrec_result *r)
{
	return MAGIC_LEN + 1 + 4 + r->prefixlen + 4 +
	       (r->input ? r->inputlen : 0) + r->jsonlen;
}

size_t jobrec_result_encode(const struct jobrec_result *r, char *dst)
{
	size_t inlen = r->input ? r->inputlen : 0;
	char *p = dst;

	memcpy(p, RESULT_MAGIC, MAGIC_LEN);
	p += MAGIC_LEN;
	*p++ = r->input ? JOBREC_HAS_INPUT : 0;
	p = put32(p, (uint32_t)r->prefixlen);
	if (r->prefixlen)
		memcpy(p, r->prefix, r->prefixlen);
	p += r->prefixlen;
	p = put32(p, (uint32_t)inlen);
	if (inlen)
		memcpy(p, r->input, inlen);
	p += inlen;
	if (r->jsonlen)
		memcpy(p, r->json, r->jsonlen);
	return (size_t)(p - dst) + r->jsonlen;
}

int jobrec_result_decode(const char *src, size_t len, struct jobrec_result *r)
{
	const char *p, *end;
	unsigned flags;

	if (len < MAGIC_LEN + 1 || memcmp(src, RESULT_MAGIC, MAGIC_LEN) != 0)
		return -1;
	p = src;
	end = src + len;
	flags = (unsigned char)src[MAGIC_LEN];
	if (flags & ~(unsigned)JOBREC_HAS_INPUT)
		return -1;
	p += MAGIC_LEN + 1;
	if (take(&p, end, &r->prefix, &r->prefixlen) < 0 ||
	    take(&p, end, &r->input, &r->inputlen) < 0)
		return -1;
	if (!(flags & JOBREC_HAS_INPUT)) {
		if (r->inputlen != 0)
			return -1;
		r->input = NULL;
	}
	r->json = p;
	r->jsonlen = (size_t)(end - p);
	return 0;
}
