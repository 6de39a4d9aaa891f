/* reqparse - request body, query and header checks (see reqparse.h). */
#include "api/reqparse.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/config.h"

unsigned reqparse_depth(const char *s, size_t len, unsigned limit)
{
	unsigned depth = 0, max = 0;
	bool in_str = false;

	for (size_t i = 0; i < len && max <= limit; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++; /* the escaped octet cannot end it */
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"')
			in_str = true;
		else if (c == '[' || c == '{') {
			if (++depth > max)
				max = depth;
		} else if ((c == ']' || c == '}') && depth > 0)
			depth--;
	}
	return max;
}

bool reqparse_utf8(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], need;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			return false; /* continuation, 0xc0/0xc1, > 0xf4 */
		if (len - i <= need)
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

void reqparse_release(struct reqparse_body *b)
{
	json_decref(b->root);
	free(b->emails);
	free(b->lens);
	memset(b, 0, sizeof(*b));
}

/* get_bool - an optional boolean member: -1 absent, 0/1, or -2 wrong. */
static int get_bool(json_t *root, const char *name)
{
	json_t *v = json_object_get(root, name);

	if (v == NULL)
		return -1;
	if (!json_is_boolean(v))
		return -2;
	return json_is_true(v) ? 1 : 0;
}

int reqparse_json(const char *body, size_t len, unsigned max_batch,
		  struct reqparse_body *out, char *msg, size_t msglen)
{
	json_error_t jerr;
	json_t *one, *many;
	struct reqparse_body b = {.fresh = -1, .transcript = -1};
	int rc = REQPARSE_BAD;

	if (max_batch == 0 || max_batch > REQPARSE_BATCH_MAX)
		max_batch = REQPARSE_BATCH_MAX;
	if (!reqparse_utf8(body, len)) {
		snprintf(msg, msglen, "the body is not valid UTF-8");
		return REQPARSE_BAD;
	}
	if (reqparse_depth(body, len, REQPARSE_DEPTH_MAX) >
	    REQPARSE_DEPTH_MAX) {
		snprintf(msg, msglen, "JSON nested deeper than %d levels",
			 REQPARSE_DEPTH_MAX);
		return REQPARSE_BAD;
	}
	/* No JSON_ALLOW_NUL: "\u0000" is refused by the parser, so every
	 * string is a C string of its full length. */
	b.root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (b.root == NULL) {
		snprintf(msg, msglen, "malformed JSON at line %d column %d: %s",
			 jerr.line, jerr.column, jerr.text);
		return REQPARSE_BAD;
	}
	if (!json_is_object(b.root)) {
		snprintf(msg, msglen, "the body must be a JSON object");
		goto fail;
	}
	one = json_object_get(b.root, "email");
	many = json_object_get(b.root, "emails");
	if ((one == NULL) == (many == NULL)) {
		snprintf(msg, msglen,
			 one ? "give \"email\" or \"emails\", not both"
			     : "missing \"email\" (a string) or \"emails\" "
			       "(an array of strings)");
		goto fail;
	}
	b.fresh = get_bool(b.root, "fresh");
	b.transcript = get_bool(b.root, "transcript");
	if (b.fresh == -2 || b.transcript == -2) {
		snprintf(msg, msglen,
			 "\"fresh\" and \"transcript\" must be booleans");
		goto fail;
	}
	if (one) {
		if (!json_is_string(one)) {
			snprintf(msg, msglen, "\"email\" must be a string");
			goto fail;
		}
		b.count = 1;
	} else {
		if (!json_is_array(many)) {
			snprintf(msg, msglen,
				 "\"emails\" must be an array of strings");
			goto fail;
		}
		if (json_array_size(many) == 0) {
			snprintf(msg, msglen, "\"emails\" is empty");
			goto fail;
		}
		if (json_array_size(many) > max_batch) {
			snprintf(msg, msglen,
				 "more than %u addresses in one request",
				 max_batch);
			rc = REQPARSE_TOO_MANY;
			goto fail;
		}
		b.count = (unsigned)json_array_size(many);
		b.batch = true;
	}
	b.emails = calloc(b.count, sizeof(*b.emails));
	b.lens = calloc(b.count, sizeof(*b.lens));
	if (b.emails == NULL || b.lens == NULL) {
		snprintf(msg, msglen, "out of memory");
		rc = REQPARSE_NOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < b.count; i++) {
		json_t *s = one ? one : json_array_get(many, i);
		if (!json_is_string(s)) {
			snprintf(msg, msglen, "\"emails\"[%u] must be a string",
				 i);
			goto fail;
		}
		b.emails[i] = json_string_value(s);
		b.lens[i] = json_string_length(s);
	}
	*out = b;
	return REQPARSE_OK;
fail:
	reqparse_release(&b);
	return rc;
}

int reqparse_flag(const char *v, bool *out)
{
	static const char *const yes[] = {"", "1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};

	if (v == NULL) {
		*out = true; /* "?fresh" without '=' */
		return 0;
	}
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcasecmp(v, yes[i]) == 0)
			return *out = true, 0;
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (strcasecmp(v, no[i]) == 0)
			return *out = false, 0;
	return -1;
}

int reqparse_wait(const char *v, unsigned max_ms, unsigned *ms)
{
	unsigned w;

	if (v == NULL || config_parse_duration(v, &w) < 0)
		return -1;
	*ms = w < max_ms ? w : max_ms;
	return 0;
}

bool reqparse_json_type(const char *ct)
{
	static const char type[] = "application/json";
	const char *p;

	if (ct == NULL || strncasecmp(ct, type, sizeof(type) - 1) != 0)
		return false;
	p = ct + sizeof(type) - 1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return true;
	if (*p != ';')
		return false;
	/* Parameters: only charset means anything for JSON. */
	while (*p == ';') {
		const char *name, *val;
		size_t nlen, vlen;

		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		name = p;
		while (*p && *p != '=' && *p != ';')
			p++;
		nlen = (size_t)(p - name);
		if (*p != '=')
			return false;
		val = ++p;
		while (*p && *p != ';')
			p++;
		vlen = (size_t)(p - val);
		while (vlen && (val[vlen - 1] == ' ' || val[vlen - 1] == '\t'))
			vlen--;
		if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"')
			val++, vlen -= 2;
		if (nlen == 7 && strncasecmp(name, "charset", 7) == 0 &&
		    !((vlen == 5 && strncasecmp(val, "utf-8", 5) == 0) ||
		      (vlen == 4 && strncasecmp(val, "utf8", 4) == 0)))
			return false;
	}
	return *p == '\0';
}
