/* cmdbuf - the bounded output queue of an SMTP client (see cmdbuf.h). */
#include "core/cmdbuf.h"

#include <stdlib.h>
#include <string.h>

static void *cmdbuf_libc_alloc(void *ud, void *ptr, size_t size)
{
	(void)ud;
	if (size == 0) {
		free(ptr);
		return NULL;
	}
	return realloc(ptr, size);
}

void cmdbuf_init(struct cmdbuf *b, size_t max, cmdbuf_alloc_fn alloc,
		 void *alloc_ud)
{
	*b = (struct cmdbuf){
	    .max = max,
	    .alloc = alloc ? alloc : cmdbuf_libc_alloc,
	    .alloc_ud = alloc_ud,
	};
}

void cmdbuf_release(struct cmdbuf *b)
{
	if (b->buf != NULL)
		b->alloc(b->alloc_ud, b->buf, 0);
	b->buf = NULL;
	b->off = b->len = b->cap = 0;
}

bool cmdbuf_param_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* cmdbuf_reserve - room for @n more octets: first move the unsent rest to
 * the front, then grow. -1 when past max or out of memory. */
static int cmdbuf_reserve(struct cmdbuf *b, size_t n)
{
	size_t need, cap;
	char *t;

	if (b->off > 0) {
		memmove(b->buf, b->buf + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (n > b->max || b->len > b->max - n)
		return -1;
	need = b->len + n;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : CMDBUF_INITIAL;
	while (cap < need)
		cap *= 2;
	t = b->alloc(b->alloc_ud, b->buf, cap);
	if (t == NULL)
		return -1;
	b->buf = t;
	b->cap = cap;
	return 0;
}

int cmdbuf_line(struct cmdbuf *b, const char *pre, const char *param,
		size_t plen, const char *post, const char **line, size_t *len)
{
	size_t a = strlen(pre), c = strlen(post);
	char *o;

	if (!cmdbuf_param_ok(param, plen))
		return CMDBUF_REFUSED;
	if (plen > b->max || cmdbuf_reserve(b, a + plen + c + 2) < 0)
		return CMDBUF_NOROOM;
	o = b->buf + b->len;
	memcpy(o, pre, a);
	memcpy(o + a, param, plen);
	memcpy(o + a + plen, post, c);
	memcpy(o + a + plen + c, "\r\n", 2);
	b->len += a + plen + c + 2;
	if (line != NULL) {
		*line = o;
		*len = a + plen + c;
	}
	return CMDBUF_OK;
}

size_t cmdbuf_peek(const struct cmdbuf *b, const char **out)
{
	if (b->buf == NULL) {
		*out = "";
		return 0;
	}
	*out = b->buf + b->off;
	return b->len - b->off;
}

int cmdbuf_consume(struct cmdbuf *b, size_t n)
{
	if (n > b->len - b->off)
		return -1;
	b->off += n;
	if (b->off == b->len) /* idle sessions hold no buffer */
		cmdbuf_release(b);
	return 0;
}

size_t cmdbuf_memory(const struct cmdbuf *b)
{
	return b->cap;
}
