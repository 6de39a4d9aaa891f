/* transcript - the bounded record of one SMTP session (see transcript.h). */
#include "core/transcript.h"

#include <stdlib.h>
#include <string.h>

/* The longest piece one server octet adds to a line: "S: " opening the
 * line and a control octet as \xNN. */
#define TS_OCTET_MAX 7

static void *ts_libc_alloc(void *ud, void *ptr, size_t size)
{
	(void)ud;
	if (size == 0) {
		free(ptr);
		return NULL;
	}
	return realloc(ptr, size);
}

int transcript_init(struct transcript *t, size_t max, transcript_alloc_fn alloc,
		    void *alloc_ud)
{
	*t = (struct transcript){
	    .alloc = alloc ? alloc : ts_libc_alloc,
	    .alloc_ud = alloc_ud,
	};
	if (max != 0 && max < TRANSCRIPT_MIN)
		return -1;
	t->max = max;
	return 0;
}

void transcript_release(struct transcript *t)
{
	if (t->buf != NULL)
		t->alloc(t->alloc_ud, t->buf, 0);
	t->buf = NULL;
	t->len = t->cap = 0;
	t->full = t->midline = false;
}

/* ts_put - append @n octets; what passes max is cut and the mark ends the
 * record. The buffer doubles, but never past max + 1 (the NUL). */
static void ts_put(struct transcript *t, const char *s, size_t n)
{
	size_t room, want;
	bool cut;

	if (t->max == 0 || t->full)
		return;
	room = t->max - TRANSCRIPT_MARK_LEN - t->len;
	cut = n > room;
	want = t->len + (cut ? room + TRANSCRIPT_MARK_LEN : n) + 1;
	if (want > t->cap) {
		size_t cap = t->cap ? t->cap : TRANSCRIPT_INITIAL;
		char *b;
		while (cap < want)
			cap *= 2;
		if (cap > t->max + 1)
			cap = t->max + 1;
		b = t->alloc(t->alloc_ud, t->buf, cap);
		if (b == NULL) {
			t->full = true; /* the session matters more */
			return;
		}
		t->buf = b;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, cut ? room : n);
	t->len += cut ? room : n;
	if (cut) {
		memcpy(t->buf + t->len, TRANSCRIPT_MARK, TRANSCRIPT_MARK_LEN);
		t->len += TRANSCRIPT_MARK_LEN;
		t->full = true;
	}
	t->buf[t->len] = '\0';
}

void transcript_client(struct transcript *t, const char *line, size_t n)
{
	if (t->max == 0)
		return;
	if (t->midline) { /* a server line is still open */
		ts_put(t, "\n", 1);
		t->midline = false;
	}
	ts_put(t, "C: ", 3);
	ts_put(t, line, n);
	ts_put(t, "\n", 1);
}

/* transcript_server - escape into a small stack buffer and append it in
 * pieces: the record's bound, not the input's size, decides what is
 * kept. */
void transcript_server(struct transcript *t, const char *data, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char buf[128];
	size_t k = 0;

	if (t->max == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)data[i];
		if (k + TS_OCTET_MAX > sizeof(buf)) {
			ts_put(t, buf, k);
			k = 0;
		}
		if (!t->midline) {
			memcpy(buf + k, "S: ", 3);
			k += 3;
			t->midline = true;
		}
		if (c == '\n') {
			buf[k++] = '\n';
			t->midline = false;
		} else if (c == '\r') {
			continue;
		} else if (c < 0x20 || c == 0x7f) {
			buf[k++] = '\\';
			buf[k++] = 'x';
			buf[k++] = hex[c >> 4];
			buf[k++] = hex[c & 15];
		} else {
			buf[k++] = (char)c;
		}
	}
	ts_put(t, buf, k);
}

size_t transcript_text(const struct transcript *t, const char **out)
{
	*out = t->buf ? t->buf : "";
	return t->len;
}

size_t transcript_memory(const struct transcript *t)
{
	return t->cap;
}
