/* fuzz_verdict_json - any input through the precheck and the JSON encoder.
 *
 * Invariants: the precheck gives a verdict for every input; the encoder
 * always produces JSON that jansson parses back; the "email" echo is
 * valid UTF-8 and, when the input was valid UTF-8 without NUL and short
 * enough, equal to it; status and reason are names of the taxonomy and
 * agree with each other; verdict_from_json() (the cache's decoder) gives
 * the same verdict back. And the direct writer (verdict_json_write) gives
 * the bytes of jansson's tree and json_dumps(), also with the raw input
 * (any octets, UTF-8 or not, cut at its first NUL) in every text field
 * and as the "transcript" member. The domain lists are the embedded ones,
 * loaded once. abort() on any violation. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/verdict_json.h"
#include "core/precheck.h"

static struct lists lists;
static int lists_ready;

/* same_bytes - the writer's text of @v (with "transcript": @extra when
 * @with_extra) equals the tree's, or abort(). */
static void same_bytes(const struct verdict *v, bool with_extra,
		       const char *extra)
{
	json_t *o = verdict_to_json(v);
	if (o == NULL)
		abort();
	if (with_extra)
		json_object_set_new(o, "transcript",
				    extra ? json_string(extra) : json_null());
	char *want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	struct verdict_json_buf b;
	verdict_json_buf_init(&b, 0);
	verdict_json_write(&b, v, with_extra ? "transcript" : NULL, extra);
	char *got = verdict_json_buf_take(&b, NULL);
	if (want == NULL || got == NULL || strcmp(want, got) != 0)
		abort();
	free(want);
	free(got);
}

/* writer_vs_tree - the raw input in each text field of @v in turn. */
static void writer_vs_tree(const struct verdict *v, const uint8_t *data,
			   size_t size)
{
	char raw[VERDICT_REPLY_MAX + 1];
	size_t n = size < sizeof(raw) - 1 ? size : sizeof(raw) - 1;

	memcpy(raw, data, n);
	raw[n] = '\0';
	same_bytes(v, false, NULL);
	same_bytes(v, true, NULL);
	same_bytes(v, true, raw);
	for (int f = 0; f < 10; f++) {
		struct verdict w = *v;
		struct {
			char *dst;
			size_t size;
		} t[] = {
		    {w.email, sizeof(w.email)},
		    {w.address, sizeof(w.address)},
		    {w.message, sizeof(w.message)},
		    {w.domain, sizeof(w.domain)},
		    {w.mx[0].host, sizeof(w.mx[0].host)},
		    {w.suggestion, sizeof(w.suggestion)},
		    {w.smtp.host, sizeof(w.smtp.host)},
		    {w.smtp.ip, sizeof(w.smtp.ip)},
		    {w.smtp.enhanced, sizeof(w.smtp.enhanced)},
		    {w.smtp.message, sizeof(w.smtp.message)},
		};
		size_t k = n < t[f].size - 1 ? n : t[f].size - 1;
		memcpy(t[f].dst, raw, k);
		t[f].dst[k] = '\0';
		w.mx_count = 1;
		w.smtp.present = true;
		w.smtp.code = 250;
		w.retry_after = (unsigned)size;
		same_bytes(&w, false, NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verdict v;
	char err[256];

	if (!lists_ready) {
		if (lists_init_embedded(&lists, err, sizeof(err)) < 0)
			abort();
		lists_ready = 1;
	}
	precheck(&lists, (const char *)data, size, &v, NULL);

	char *s = verdict_json_dumps(&v);
	if (s == NULL)
		abort();
	json_error_t jerr;
	json_t *o = json_loads(s, 0, &jerr);
	if (o == NULL)
		abort();
	const char *status = json_string_value(json_object_get(o, "status"));
	const char *reason = json_string_value(json_object_get(o, "reason"));
	const char *email = json_string_value(json_object_get(o, "email"));
	if (status == NULL || reason == NULL || email == NULL)
		abort();
	int r = verdict_reason_from_name(reason);
	if (r < 0 ||
	    strcmp(verdict_status_name(verdict_reason_status(r)), status) != 0)
		abort();
	/* A valid address must come back normalised, an invalid one with a
	 * message. */
	if (r == REASON_INVALID_SYNTAX) {
		if (!json_is_string(json_object_get(o, "message")) ||
		    !json_is_null(json_object_get(o, "address")))
			abort();
	} else if (!json_is_string(json_object_get(o, "address")))
		abort();
	/* The echo equals the input when nothing had to be replaced. */
	if (size <= VERDICT_EMAIL_MAX && memchr(data, 0, size) == NULL &&
	    json_string_length(json_object_get(o, "email")) == size &&
	    memcmp(email, data, size) != 0)
		abort();
	/* The cache stores this JSON: it must decode to the same verdict. */
	struct verdict back;
	if (verdict_from_json(s, strlen(s), &back) < 0 ||
	    back.reason != v.reason || back.status != v.status ||
	    strcmp(back.email, v.email) != 0 ||
	    strcmp(back.address, v.address) != 0 ||
	    back.disposable != v.disposable ||
	    strcmp(back.suggestion, v.suggestion) != 0)
		abort();
	json_decref(o);
	free(s);
	writer_vs_tree(&v, data, size);
	return 0;
}
