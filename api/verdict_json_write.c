/* verdict_json_write - a verdict's JSON written straight into a buffer,
 * the bytes jansson's json_dumps() would give (see verdict_json.h). */
#include "api/verdict_json.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the direct writer ---------------------------------------------- */

/* The first allocation: a cached verdict's answer is 300 to 700 octets. */
#define VJ_FIRST_CAP 1024

void verdict_json_buf_init(struct verdict_json_buf *b, size_t hint)
{
	b->data = NULL;
	b->len = 0;
	b->cap = hint;
	b->failed = false;
}

/* reserve - room for @n more octets and a NUL; false once failed. */
static bool reserve(struct verdict_json_buf *b, size_t n)
{
	size_t want, cap;
	char *p;

	if (b->failed)
		return false;
	if (b->data != NULL && b->cap - b->len > n)
		return true;
	if (n >= VERDICT_JSON_BUF_MAX - b->len) {
		b->failed = true;
		return false;
	}
	want = b->len + n + 1;
	cap = b->data != NULL ? b->cap : (b->cap ? b->cap : VJ_FIRST_CAP);
	while (cap < want)
		cap *= 2;
	if (cap > VERDICT_JSON_BUF_MAX)
		cap = VERDICT_JSON_BUF_MAX;
	p = realloc(b->data, cap);
	if (p == NULL) {
		b->failed = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

/* put - append @n octets; the common case (room left) stays inline. */
static inline void put(struct verdict_json_buf *b, const char *s, size_t n)
{
	if ((b->data == NULL || b->failed || b->cap - b->len <= n) &&
	    !reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

void verdict_json_buf_put(struct verdict_json_buf *b, const char *s, size_t n)
{
	put(b, s, n);
}

/* PUT - append a string literal (its length known at compile time). */
#define PUT(b, lit) put((b), (lit), sizeof(lit) - 1)

/* utf8_valid - @s (@n octets) is UTF-8 as jansson's utf8_check_string()
 * accepts it: no stray continuation octet, no overlong form, no
 * surrogate, nothing above U+10FFFF, no sequence cut short. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			k = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			k = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			k = 3, cp = c & 0x07;
		else
			return false;
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3F);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += k + 1;
	}
	return true;
}

/* needs_escape - the octets json_dumps() does not copy as they are. */
static bool needs_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

int verdict_json_buf_string(struct verdict_json_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), run = 0, mark = b->len;
	unsigned char high = 0;

	/* The worst case, every octet a \u00XX, is reserved at once: the
	 * loop below then writes without a check. */
	if (b->failed || !reserve(b, 6 * n + 2))
		return -1;
	char *o = b->data + b->len;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = u[i];
		high |= c;
		if (!needs_escape(c)) {
			run++;
			continue;
		}
		memcpy(o, s + i - run, run);
		o += run;
		run = 0;
		*o++ = '\\';
		switch (c) {
		case '"':
		case '\\':
			*o++ = (char)c;
			break;
		case '\b':
			*o++ = 'b';
			break;
		case '\f':
			*o++ = 'f';
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		default:
			memcpy(o, "u00", 3);
			o[3] = hex[c >> 4];
			o[4] = hex[c & 0xF];
			o += 5;
		}
	}
	/* Octets above 0x7F are copied as they are, once they are known to
	 * be UTF-8 (checked only then: most text is ASCII); if not, what was
	 * written is taken back. */
	if ((high & 0x80) && !utf8_valid(u, n)) {
		b->len = mark;
		return -1;
	}
	memcpy(o, s + n - run, run);
	o += run;
	*o++ = '"';
	b->len = (size_t)(o - b->data);
	return 0;
}

/* put_int - @x in decimal, as jansson prints a json_int_t. */
static void put_int(struct verdict_json_buf *b, long long x)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	unsigned long long m =
	    x < 0 ? 0ULL - (unsigned long long)x : (unsigned long long)x;

	do {
		*--p = (char)('0' + m % 10);
		m /= 10;
	} while (m);
	if (x < 0)
		*--p = '-';
	put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* put_text - a text field where the tree has str_or_null(). */
static void put_text(struct verdict_json_buf *b, const char *s)
{
	if (s[0] == '\0' || verdict_json_buf_string(b, s) < 0)
		PUT(b, "null");
}

static void put_bool(struct verdict_json_buf *b, bool x)
{
	if (x)
		PUT(b, "true");
	else
		PUT(b, "false");
}

/* member_string - ",\"@name\":" (no comma for the first member), then the value
 * @s as a string; the member is left out when @s is NULL or not UTF-8,
 * as json_object_set_new() drops the NULL that json_string() gives. */
static void member_string(struct verdict_json_buf *b, bool *first,
			  const char *name, const char *s)
{
	size_t mark = b->len;

	if (s == NULL)
		return;
	if (!*first)
		PUT(b, ",");
	put(b, "\"", 1);
	put(b, name, strlen(name));
	PUT(b, "\":");
	if (verdict_json_buf_string(b, s) < 0) {
		if (!b->failed)
			b->len = mark;
		return;
	}
	*first = false;
}

/* time_fast - verdict_json_time() for the years 1970 to 9999 without
 * gmtime_r() and strftime() (on every answer; days to a civil date after
 * H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"); false for
 * other instants, which take the slow path. */
static bool time_fast(int64_t t, char buf[21])
{
	if (t < 0 || t > 253402300799LL) /* 9999-12-31T23:59:59Z */
		return false;
	int64_t days = t / 86400, sod = t % 86400;
	int64_t z = days + 719468, era = z / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = yoe + era * 400 + (m <= 2);
	int f[6] = {(int)y,
		    (int)m,
		    (int)d,
		    (int)(sod / 3600),
		    (int)(sod / 60 % 60),
		    (int)(sod % 60)};
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	int k = 5, w = 0;

	/* Fill the digits from the right, field by field. */
	memcpy(buf, shape, sizeof(shape));
	for (int i = (int)sizeof(shape) - 2; i >= 0; i--) {
		if (buf[i] != 'd') {
			if (w)
				k--, w = 0;
			continue;
		}
		buf[i] = (char)('0' + f[k] % 10);
		f[k] /= 10;
		w = 1;
	}
	return true;
}

void verdict_json_write(struct verdict_json_buf *b, const struct verdict *v,
			const char *extra_name, const char *extra_value)
{
	bool first = true;
	char when[21];

	PUT(b, "{");
	member_string(b, &first, "email", v->email);
	if (!first)
		PUT(b, ",");
	PUT(b, "\"address\":");
	put_text(b, v->address);
	first = false;
	member_string(b, &first, "status", verdict_status_name(v->status));
	member_string(b, &first, "reason", verdict_reason_name(v->reason));
	if (v->message[0])
		member_string(b, &first, "message", v->message);
	PUT(b, ",\"domain\":");
	put_text(b, v->domain);
	PUT(b, ",\"mx\":[");
	for (unsigned i = 0, n = 0; i < v->mx_count && i < VERDICT_MX_MAX;
	     i++) {
		size_t mark = b->len;
		if (n)
			PUT(b, ",");
		PUT(b, "{\"host\":");
		if (verdict_json_buf_string(b, v->mx[i].host) < 0) {
			/* json_pack() fails: the entry is not appended */
			if (!b->failed)
				b->len = mark;
			continue;
		}
		PUT(b, ",\"preference\":");
		put_int(b, (long long)v->mx[i].preference);
		PUT(b, "}");
		n++;
	}
	PUT(b, "],\"catch_all\":");
	if (v->catch_all == TRI_TRUE)
		PUT(b, "true");
	else if (v->catch_all == TRI_FALSE)
		PUT(b, "false");
	else
		PUT(b, "null");
	PUT(b, ",\"disposable\":");
	put_bool(b, v->disposable);
	PUT(b, ",\"free_provider\":");
	put_bool(b, v->free_provider);
	PUT(b, ",\"role_account\":");
	put_bool(b, v->role_account);
	PUT(b, ",\"suggestion\":");
	put_text(b, v->suggestion);
	PUT(b, ",\"smtp\":");
	if (v->smtp.present) {
		const struct verdict_smtp *s = &v->smtp;
		bool sfirst = false;
		PUT(b, "{\"host\":");
		put_text(b, s->host);
		PUT(b, ",\"ip\":");
		put_text(b, s->ip);
		member_string(b, &sfirst, "stage", smtp_stage_name(s->stage));
		PUT(b, ",\"code\":");
		if (s->code)
			put_int(b, s->code);
		else
			PUT(b, "null");
		PUT(b, ",\"enhanced\":");
		put_text(b, s->enhanced);
		PUT(b, ",\"message\":");
		put_text(b, s->message);
		PUT(b, ",\"tls\":");
		put_bool(b, s->tls);
		PUT(b, "}");
	} else {
		PUT(b, "null");
	}
	if (v->retry_after) {
		PUT(b, ",\"retry_after\":");
		put_int(b, (long long)v->retry_after);
	}
	PUT(b, ",\"cached\":");
	put_bool(b, v->cached);
	if (!time_fast(v->checked_at, when))
		verdict_json_time(v->checked_at, when);
	PUT(b, ",\"checked_at\":\"");
	put(b, when, strlen(when));
	PUT(b, "\",\"duration_ms\":");
	put_int(b, (long long)v->duration_ms);
	if (extra_name != NULL) {
		if (extra_value == NULL) {
			PUT(b, ",\"");
			put(b, extra_name, strlen(extra_name));
			PUT(b, "\":null");
		} else {
			member_string(b, &first, extra_name, extra_value);
		}
	}
	PUT(b, "}");
}

char *verdict_json_buf_take(struct verdict_json_buf *b, size_t *len)
{
	char *s = NULL;

	if (!b->failed && reserve(b, 0)) {
		b->data[b->len] = '\0';
		s = b->data;
		if (len)
			*len = b->len;
		b->data = NULL;
	}
	verdict_json_buf_release(b);
	return s;
}

void verdict_json_buf_release(struct verdict_json_buf *b)
{
	free(b->data);
	verdict_json_buf_init(b, 0);
}

char *verdict_json_dumps(const struct verdict *v)
{
	struct verdict_json_buf b;

	verdict_json_buf_init(&b, 0);
	verdict_json_write(&b, v, NULL, NULL);
	return verdict_json_buf_take(&b, NULL);
}
