/* lists - disposable, free-provider and role lists applied to a verdict
 * (see lists.h). */
#include "core/lists.h"

#include <stdio.h>
#include <string.h>

#include "core/suggest.h"

/* The compiled-in defaults, generated from the data/ files by
 * tools/embed-lists.sh into $(BUILD)/gen/lists_data.c. */
extern const char lists_data_disposable_domains[];
extern const size_t lists_data_disposable_domains_len;
extern const char lists_data_free_providers[];
extern const size_t lists_data_free_providers_len;
extern const char lists_data_role_accounts[];
extern const size_t lists_data_role_accounts_len;

static const char *const lists_name[LISTS_KIND_LAST] = {
    [LISTS_DISPOSABLE] = "disposable",
    [LISTS_FREE_PROVIDER] = "free_provider",
    [LISTS_ROLE] = "role",
};

const char *lists_kind_name(enum lists_kind kind)
{
	if ((unsigned)kind >= LISTS_KIND_LAST)
		return NULL;
	return lists_name[kind];
}

static struct nameset **lists_slot(struct lists *l, enum lists_kind kind)
{
	switch (kind) {
	case LISTS_DISPOSABLE:
		return &l->disposable;
	case LISTS_FREE_PROVIDER:
		return &l->free_provider;
	case LISTS_ROLE:
		return &l->role;
	case LISTS_KIND_LAST:
		break;
	}
	return NULL;
}

/* lists_load - a new set from @text, or NULL with "KIND list: why". */
static struct nameset *lists_load(enum lists_kind kind, const char *text,
				  size_t len, long *count, char *err,
				  size_t errlen)
{
	char why[NAMESET_ERR_MAX];
	struct nameset *set = nameset_new();

	if (set == NULL) {
		snprintf(why, sizeof(why), "out of memory");
	} else if ((*count = nameset_load(set, text, len, why, sizeof(why))) <
		   0) {
		nameset_free(set);
		set = NULL;
	}
	if (set == NULL && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s list: %s", lists_kind_name(kind),
			 why);
	return set;
}

long lists_replace(struct lists *l, enum lists_kind kind, const char *text,
		   size_t len, char *err, size_t errlen)
{
	struct nameset **slot = lists_slot(l, kind);
	long count = 0;

	if (slot == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "no list of kind %d", (int)kind);
		return -1;
	}
	struct nameset *set = lists_load(kind, text, len, &count, err, errlen);
	if (set == NULL)
		return -1;
	nameset_free(*slot);
	*slot = set;
	return count;
}

int lists_init_embedded(struct lists *l, char *err, size_t errlen)
{
	static const struct {
		enum lists_kind kind;
		const char *text;
		const size_t *len;
	} embedded[] = {
	    {LISTS_DISPOSABLE, lists_data_disposable_domains,
	     &lists_data_disposable_domains_len},
	    {LISTS_FREE_PROVIDER, lists_data_free_providers,
	     &lists_data_free_providers_len},
	    {LISTS_ROLE, lists_data_role_accounts,
	     &lists_data_role_accounts_len},
	};

	memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < sizeof(embedded) / sizeof(embedded[0]); i++) {
		if (lists_replace(l, embedded[i].kind, embedded[i].text,
				  *embedded[i].len, err, errlen) < 0) {
			lists_release(l);
			return -1;
		}
	}
	return 0;
}

void lists_release(struct lists *l)
{
	nameset_free(l->disposable);
	nameset_free(l->free_provider);
	nameset_free(l->role);
	l->disposable = l->free_provider = l->role = NULL;
}

/* lists_role - the local part, or the part before its first '+', is a
 * role. Sub-addressing ("info+shop") still reaches the role's mailbox on
 * the servers that offer it (Postfix recipient_delimiter, Gmail). */
static bool lists_role(const struct nameset *role, const struct address *a)
{
	char local[ADDRESS_LOCAL_MAX + 1];

	if (role == NULL || !address_local_lower(a, local, sizeof(local)))
		return false;
	if (nameset_has(role, local))
		return true;
	char *plus = strchr(local, '+');
	if (plus == NULL || plus == local)
		return false;
	*plus = '\0';
	return nameset_has(role, local);
}

/* lists_suggest - "local@suggested-domain" into @v, or empty. */
static void lists_suggest(const struct lists *l, const struct address *a,
			  struct verdict *v)
{
	char domain[SUGGEST_DOMAIN_MAX + 1];

	v->suggestion[0] = '\0';
	if (!suggest_domain(l->free_provider, l->disposable, a->domain, domain,
			    sizeof(domain)))
		return;
	/* An address that would be too long is no suggestion at all: a
	 * cut one would be wrong. */
	int n = snprintf(v->suggestion, sizeof(v->suggestion), "%s@%s",
			 a->local, domain);
	if (n < 0 || (size_t)n >= sizeof(v->suggestion))
		v->suggestion[0] = '\0';
}

void lists_apply_flags(const struct lists *l, const struct address *a,
		       struct verdict *v)
{
	v->disposable = false;
	v->free_provider = false;
	v->role_account = false;
	/* An address literal names a host, not a domain: no list speaks
	 * of it. */
	if (a->kind != ADDRESS_KIND_DOMAIN)
		return;
	v->disposable = l->disposable != NULL &&
			nameset_has_domain(l->disposable, a->domain);
	v->free_provider = l->free_provider != NULL &&
			   nameset_has(l->free_provider, a->domain);
	v->role_account = lists_role(l->role, a);
}

void lists_apply_suggestion(const struct lists *l, const struct address *a,
			    struct verdict *v)
{
	v->suggestion[0] = '\0';
	/* For an address literal a suggestion would be a guess. */
	if (a->kind == ADDRESS_KIND_DOMAIN)
		lists_suggest(l, a, v);
}

void lists_apply(const struct lists *l, const struct address *a,
		 struct verdict *v)
{
	lists_apply_flags(l, a, v);
	lists_apply_suggestion(l, a, v);
}
