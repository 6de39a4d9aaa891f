/* verdict_json - encode a verdict as JSON (see verdict_json.h). */
#include "api/verdict_json.h"

#include <stdio.h>
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

char *verdict_json_dumps(const struct verdict *v)
{
	json_t *o = verdict_to_json(v);
	char *s;

	if (o == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}
