/* verdict_json - a verdict to a jansson tree and back from JSON text (see
 * verdict_json.h; the direct writer of answers is verdict_json_write.c). */
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
