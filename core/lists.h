/* lists - the domain facts of a verdict: disposable, free_provider,
 * role_account and suggestion (DESIGN.md "Verdicts").
 *
 * Three name lists back them: disposable domains, free mailbox providers
 * and role local parts. Their defaults are compiled in from the data/ files
 * (tools/embed-lists.sh); an operator replaces any of them at run time
 * with the text of a file (--disposable-list, --free-provider-list,
 * --role-list, SIGHUP), which lists_replace() checks before it takes it.
 *
 * Matching (lists_apply):
 *   disposable     the domain or a parent domain is listed (disposable
 *                  services hand out whole subdomain trees);
 *   free_provider  the domain is listed exactly (a provider's subdomains
 *                  are its infrastructure, not mailboxes);
 *   role_account   the local part, lower-cased with quotes removed
 *                  (address_local_lower), is listed, or is listed once a
 *                  "+tag" is cut ("info+shop");
 *   suggestion     local "@" suggest_domain(free providers, disposable,
 *                  domain), see suggest.h.
 * An address literal (user@[192.0.2.1]) gets no flag and no suggestion.
 *
 * Ownership: struct lists owns its three sets; lists_release() frees
 * them. Text given to lists_replace() is copied; the caller keeps it.
 * Errors: 0 or a count, or -1 with "LIST: line N: why" in the caller's
 * buffer (LISTS_ERR_MAX is enough). Loop: none. Threads: lists_apply()
 * only reads; replacing a set while another thread applies the lists is
 * the caller's race to prevent (build a new struct lists and swap it). */
#ifndef RCPTD_CORE_LISTS_H
#define RCPTD_CORE_LISTS_H

#include <stddef.h>

#include "core/address.h"
#include "core/nameset.h"
#include "core/verdict.h"

/* "free_provider list: " in front of a nameset message. */
#define LISTS_ERR_MAX (NAMESET_ERR_MAX + 32)

enum lists_kind {
	LISTS_DISPOSABLE = 0,
	LISTS_FREE_PROVIDER,
	LISTS_ROLE,
	LISTS_KIND_LAST
};

struct lists {
	struct nameset *disposable;    /* domains, parents match */
	struct nameset *free_provider; /* domains, exact */
	struct nameset *role;	       /* local parts, lower case */
};

/* lists_init_embedded - load the three compiled-in lists into @l (whose
 * old contents are not looked at). Returns 0, or -1 with a message in
 * @err and @l holding no set. */
int lists_init_embedded(struct lists *l, char *err, size_t errlen);

/* lists_replace - replace the list @kind of @l with the names in @len
 * octets of @text (nameset.h's format). Returns the number of names of
 * the new list, or -1 with a message in @err; then the old list stays. */
long lists_replace(struct lists *l, enum lists_kind kind, const char *text,
		   size_t len, char *err, size_t errlen);

/* lists_release - free the sets of @l and set them to NULL; an @l that
 * holds none is fine. */
void lists_release(struct lists *l);

/* lists_kind_name - "disposable", "free_provider", "role"; NULL for an
 * out-of-range @kind. */
const char *lists_kind_name(enum lists_kind kind);

/* lists_apply - set @v's disposable, free_provider, role_account and
 * suggestion from @a. Status, reason and every other field are left
 * alone. A list that is NULL matches nothing. */
void lists_apply(const struct lists *l, const struct address *a,
		 struct verdict *v);

/* lists_apply_flags - lists_apply() without the suggestion, which is the
 * costly part (microseconds against tens of nanoseconds): for the answer
 * from the cache, whose verdict carries its suggestion already.
 * lists_apply_suggestion - the suggestion alone. */
void lists_apply_flags(const struct lists *l, const struct address *a,
		       struct verdict *v);
void lists_apply_suggestion(const struct lists *l, const struct address *a,
			    struct verdict *v);

#endif
