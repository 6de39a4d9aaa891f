/* precheck - syntax and domain facts, no network (see precheck.h). */
#include "core/precheck.h"

#include <string.h>

static bool check(const struct lists *lists, const char *input, size_t len,
		  struct verdict *v, struct address *a, bool suggest)
{
	struct address local;
	char why[ADDRESS_WHY_MAX];

	if (a == NULL)
		a = &local;
	verdict_init(v, input, len);
	if (address_parse(input, len, a, why) < 0) {
		verdict_set(v, REASON_INVALID_SYNTAX);
		verdict_copy_text(v->message, sizeof(v->message), why,
				  strlen(why), false);
		return false;
	}
	/* Both fit by construction: the parser bounds them more tightly. */
	memcpy(v->address, a->address, strlen(a->address) + 1);
	memcpy(v->domain, a->domain, strlen(a->domain) + 1);
	if (lists && suggest)
		lists_apply(lists, a, v);
	else if (lists)
		lists_apply_flags(lists, a, v);
	return true;
}

bool precheck(const struct lists *lists, const char *input, size_t len,
	      struct verdict *v, struct address *a)
{
	return check(lists, input, len, v, a, true);
}

bool precheck_fast(const struct lists *lists, const char *input, size_t len,
		   struct verdict *v, struct address *a)
{
	return check(lists, input, len, v, a, false);
}
