/* fuzz_verdict_json - any input through the precheck and the JSON encoder.
 *
 * Invariants: the precheck gives a verdict for every input; the encoder
 * always produces JSON that jansson parses back; the "email" echo is
 * valid UTF-8 and, when the input was valid UTF-8 without NUL and short
 * enough, equal to it; status and reason are names of the taxonomy and
 * agree with each other; verdict_from_json() (the cache's decoder) gives
 * the same verdict back. The domain lists are the embedded ones, loaded
 * once. abort() on any violation. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/verdict_json.h"
#include "core/precheck.h"

static struct lists lists;
static int lists_ready;

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
	return 0;
}
