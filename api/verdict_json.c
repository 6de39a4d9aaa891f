/* verdict_json - a verdict to JSON and back (see verdict_json.h). */
#include "api/verdict_json.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* str_or_null - a JSON string, or null for an empty field. The struct's
 * text fields are valid UTF-8 by construction (verdict_copy_text), so
 * json_string() cannot refuse them; should it, null is still honest. */
static json_t *str_or_null(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return json_null();
	json_t *j = json_string(s);
	return j ? j : json_null();
}

static json_t *tristate_json(enum tristate t)
{
	switch (t) {
	case TRI_TRUE:
		return json_true();
	case TRI_FALSE:
		return json_false();
	case TRI_UNKNOWN:
		return json_null();
	}
	return json_null();
}

void verdict_json_time(int64_t t, char buf[21])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 21, "1970-01-01T00:00:00Z");
}

static json_t *smtp_json(const struct verdict_smtp *s)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "host", str_or_null(s->host));
	json_object_set_new(o, "ip", str_or_null(s->ip));
	json_object_set_new(o, "stage", json_string(smtp_stage_name(s->stage)));
	json_object_set_new(o, "code",
			    s->code ? json_integer(s->code) : json_null());
	json_object_set_new(o, "enhanced", str_or_null(s->enhanced));
	json_object_set_new(o, "message", str_or_null(s->message));
	json_object_set_new(o, "tls", json_boolean(s->tls));
	return o;
}

json_t *verdict_to_json(const struct verdict *v)
{
	json_t *o = json_object();
	json_t *mx;
	char when[21];

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "email", json_string(v->email));
	json_object_set_new(o, "address", str_or_null(v->address));
	json_object_set_new(o, "status",
			    json_string(verdict_status_name(v->status)));
	json_object_set_new(o, "reason",
			    json_string(verdict_reason_name(v->reason)));
	if (v->message[0])
		json_object_set_new(o, "message", json_string(v->message));
	json_object_set_new(o, "domain", str_or_null(v->domain));

	mx = json_array();
	for (unsigned i = 0; mx && i < v->mx_count && i < VERDICT_MX_MAX; i++)
		json_array_append_new(
		    mx,
		    json_pack("{s:s, s:I}", "host", v->mx[i].host, "preference",
			      (json_int_t)v->mx[i].preference));
	json_object_set_new(o, "mx", mx ? mx : json_null());

	json_object_set_new(o, "catch_all", tristate_json(v->catch_all));
	json_object_set_new(o, "disposable", json_boolean(v->disposable));
	json_object_set_new(o, "free_provider", json_boolean(v->free_provider));
	json_object_set_new(o, "role_account", json_boolean(v->role_account));
	json_object_set_new(o, "suggestion", str_or_null(v->suggestion));
	json_object_set_new(
	    o, "smtp", v->smtp.present ? smtp_json(&v->smtp) : json_null());
	if (v->retry_after)
		json_object_set_new(o, "retry_after",
				    json_integer(v->retry_after));
	json_object_set_new(o, "cached", json_boolean(v->cached));
	verdict_json_time(v->checked_at, when);
	json_object_set_new(o, "checked_at", json_string(when));
	json_object_set_new(o, "duration_ms", json_integer(v->duration_ms));
	return o;
}

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

/* ---- decoding ------------------------------------------------------- */

/* How a text member may appear. */
enum text_mode {
	TEXT_STRING,   /* a string, possibly empty ("email", mx "host") */
	TEXT_NULLABLE, /* null for empty, else a non-empty string */
	TEXT_OPTIONAL  /* absent for empty, else a non-empty string */
};

/* get_text - member @key of @o into @dst of @size octets, whole. */
static int get_text(json_t *o, const char *key, char *dst, size_t size,
		    enum text_mode mode)
{
	json_t *j = json_object_get(o, key);
	size_t n;

	dst[0] = '\0';
	if (j == NULL)
		return mode == TEXT_OPTIONAL ? 0 : -1;
	if (json_is_null(j))
		return mode == TEXT_NULLABLE ? 0 : -1;
	if (!json_is_string(j))
		return -1;
	n = json_string_length(j);
	if (n >= size || (n == 0 && mode != TEXT_STRING))
		return -1;
	/* The parser refuses \u0000 (no JSON_ALLOW_NUL), so the string has
	 * no NUL inside and is valid UTF-8. */
	memcpy(dst, json_string_value(j), n);
	dst[n] = '\0';
	return 0;
}

/* get_int - integer member @key of @o within [@lo, @hi]. */
static int get_int(json_t *o, const char *key, json_int_t lo, json_int_t hi,
		   json_int_t *out)
{
	json_t *j = json_object_get(o, key);

	if (!json_is_integer(j))
		return -1;
	*out = json_integer_value(j);
	return *out < lo || *out > hi ? -1 : 0;
}

static int get_bool(json_t *o, const char *key, bool *out)
{
	json_t *j = json_object_get(o, key);

	if (!json_is_boolean(j))
		return -1;
	*out = json_is_true(j);
	return 0;
}

/* only_members - true when every member of @o is named in @names. */
static bool only_members(json_t *o, const char *const *names)
{
	const char *key;
	json_t *value;

	json_object_foreach(o, key, value)
	{
		const char *const *n = names;
		while (*n && strcmp(*n, key) != 0)
			n++;
		if (*n == NULL)
			return false;
	}
	return true;
}

/* parse_time - the encoder's "YYYY-MM-DDTHH:MM:SSZ" back to Unix seconds;
 * a date that does not exist (02-30, 24:00:00) fails the round trip. */
static int parse_time(json_t *j, int64_t *out)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	const char *s = json_string_value(j);
	struct tm tm = {0};
	char again[21];
	int f[6], k = 0;

	if (s == NULL || json_string_length(j) != sizeof(shape) - 1)
		return -1;
	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9')
				    : s[i] != shape[i])
			return -1;
	}
	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] != 'd')
			continue;
		if (i == 0 || shape[i - 1] != 'd')
			f[k++] = 0;
		f[k - 1] = f[k - 1] * 10 + (s[i] - '0');
	}
	tm.tm_year = f[0] - 1900;
	tm.tm_mon = f[1] - 1;
	tm.tm_mday = f[2];
	tm.tm_hour = f[3];
	tm.tm_min = f[4];
	tm.tm_sec = f[5];
	*out = (int64_t)timegm(&tm);
	verdict_json_time(*out, again);
	return strcmp(again, s) == 0 ? 0 : -1;
}

static int smtp_from_json(json_t *o, struct verdict_smtp *s)
{
	static const char *const names[] = {
	    "host", "ip", "stage", "code", "enhanced", "message", "tls", NULL};
	json_t *code = json_object_get(o, "code");
	const char *stage = json_string_value(json_object_get(o, "stage"));
	json_int_t n;

	if (!json_is_object(o) || !only_members(o, names) || stage == NULL)
		return -1;
	s->present = true;
	if (get_text(o, "host", s->host, sizeof(s->host), TEXT_NULLABLE) < 0 ||
	    get_text(o, "ip", s->ip, sizeof(s->ip), TEXT_NULLABLE) < 0 ||
	    get_text(o, "enhanced", s->enhanced, sizeof(s->enhanced),
		     TEXT_NULLABLE) < 0 ||
	    get_text(o, "message", s->message, sizeof(s->message),
		     TEXT_NULLABLE) < 0 ||
	    get_bool(o, "tls", &s->tls) < 0)
		return -1;
	s->stage = SMTP_STAGE_LAST;
	for (int i = 0; i < SMTP_STAGE_LAST; i++)
		if (strcmp(smtp_stage_name((enum smtp_stage)i), stage) == 0)
			s->stage = (enum smtp_stage)i;
	if (s->stage == SMTP_STAGE_LAST)
		return -1;
	/* The encoder writes null for "no reply read" (0); a reply code is
	 * three digits (RFC 5321 4.2). */
	if (json_is_null(code))
		s->code = 0;
	else if (get_int(o, "code", 100, 999, &n) < 0)
		return -1;
	else
		s->code = (int)n;
	return 0;
}

static int mx_from_json(json_t *a, struct verdict *v)
{
	static const char *const names[] = {"host", "preference", NULL};
	size_t i;
	json_t *m;

	if (!json_is_array(a) || json_array_size(a) > VERDICT_MX_MAX)
		return -1;
	json_array_foreach(a, i, m)
	{
		json_int_t pref;
		if (!json_is_object(m) || !only_members(m, names) ||
		    get_text(m, "host", v->mx[i].host, sizeof(v->mx[i].host),
			     TEXT_STRING) < 0 ||
		    get_int(m, "preference", 0, 65535, &pref) < 0)
			return -1; /* MX preference: 16 bits (RFC 1035 3.3.9) */
		v->mx[i].preference = (unsigned)pref;
	}
	v->mx_count = (unsigned)json_array_size(a);
	return 0;
}

/* from_object - the members of @o into @v (zeroed by the caller). */
static int from_object(json_t *o, struct verdict *v)
{
	static const char *const names[] = {"email",	    "address",
					    "status",	    "reason",
					    "message",	    "domain",
					    "mx",	    "catch_all",
					    "disposable",   "free_provider",
					    "role_account", "suggestion",
					    "smtp",	    "retry_after",
					    "cached",	    "checked_at",
					    "duration_ms",  NULL};
	const char *status = json_string_value(json_object_get(o, "status"));
	const char *reason = json_string_value(json_object_get(o, "reason"));
	json_t *catch_all = json_object_get(o, "catch_all");
	json_t *smtp = json_object_get(o, "smtp");
	json_int_t n;
	int r, st;

	if (!json_is_object(o) || !only_members(o, names) || status == NULL ||
	    reason == NULL)
		return -1;
	r = verdict_reason_from_name(reason);
	st = verdict_status_from_name(status);
	if (r < 0 || st < 0 ||
	    (int)verdict_reason_status((enum verdict_reason)r) != st)
		return -1;
	verdict_set(v, (enum verdict_reason)r);

	if (get_text(o, "email", v->email, sizeof(v->email), TEXT_STRING) < 0 ||
	    get_text(o, "address", v->address, sizeof(v->address),
		     TEXT_NULLABLE) < 0 ||
	    get_text(o, "message", v->message, sizeof(v->message),
		     TEXT_OPTIONAL) < 0 ||
	    get_text(o, "domain", v->domain, sizeof(v->domain), TEXT_NULLABLE) <
		0 ||
	    get_text(o, "suggestion", v->suggestion, sizeof(v->suggestion),
		     TEXT_NULLABLE) < 0 ||
	    mx_from_json(json_object_get(o, "mx"), v) < 0 ||
	    get_bool(o, "disposable", &v->disposable) < 0 ||
	    get_bool(o, "free_provider", &v->free_provider) < 0 ||
	    get_bool(o, "role_account", &v->role_account) < 0 ||
	    get_bool(o, "cached", &v->cached) < 0 ||
	    parse_time(json_object_get(o, "checked_at"), &v->checked_at) < 0 ||
	    get_int(o, "duration_ms", 0, UINT32_MAX, &n) < 0)
		return -1;
	v->duration_ms = (uint32_t)n;

	if (json_is_true(catch_all))
		v->catch_all = TRI_TRUE;
	else if (json_is_false(catch_all))
		v->catch_all = TRI_FALSE;
	else if (json_is_null(catch_all))
		v->catch_all = TRI_UNKNOWN;
	else
		return -1;

	if (smtp == NULL)
		return -1;
	if (!json_is_null(smtp) && smtp_from_json(smtp, &v->smtp) < 0)
		return -1;

	/* The encoder omits retry_after when 0. */
	if (json_object_get(o, "retry_after")) {
		if (get_int(o, "retry_after", 1, UINT_MAX, &n) < 0)
			return -1;
		v->retry_after = (unsigned)n;
	}
	return 0;
}

int verdict_from_json(const char *text, size_t len, struct verdict *out)
{
	struct verdict v;
	json_error_t jerr;
	json_t *o;
	int rc;

	if (text == NULL || len > VERDICT_JSON_MAX)
		return -1;
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL)
		return -1;
	memset(&v, 0, sizeof(v));
	rc = from_object(o, &v);
	json_decref(o);
	if (rc == 0)
		*out = v;
	return rc;
}
