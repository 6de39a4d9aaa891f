/* suggest - typo suggestions for mail domains (see suggest.h for the
 * rules and why each one is there). */
#include "core/suggest.h"

#include <limits.h>
#include <string.h>

#define SUGGEST_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* Larger than any cost a candidate may have: "no match". */
#define SUGGEST_FAR UINT_MAX

/* The domains people type most, so that the common typos are caught even
 * when an operator replaces the free-provider list with a short one of
 * their own. Every entry is also "plausibly intended" (rule 1). */
static const char *const suggest_popular[] = {
    "gmail.com",      "yahoo.com",	"hotmail.com",	  "outlook.com",
    "icloud.com",     "aol.com",	"live.com",	  "msn.com",
    "googlemail.com", "ymail.com",	"rocketmail.com", "me.com",
    "mac.com",	      "comcast.net",	"verizon.net",	  "att.net",
    "sbcglobal.net",  "protonmail.com", "proton.me",	  "gmx.com",
    "gmx.de",	      "gmx.net",	"web.de",	  "mail.com",
    "yandex.ru",      "mail.ru",	"hotmail.co.uk",  "yahoo.co.uk",
    "hotmail.fr",     "yahoo.fr",	"orange.fr",	  "qq.com",
    "163.com",	      "naver.com",
};

/* Two-label public suffixes under which providers register (Public
 * Suffix List), so that "yahoo.co.uk" splits into yahoo + co.uk. */
static const char *const suggest_sld[] = {
    "co.uk",  "org.uk", "me.uk",  "ac.uk",  "com.au", "net.au", "org.au",
    "co.nz",  "co.jp",	"ne.jp",  "or.jp",  "com.br", "co.in",	"co.id",
    "co.za",  "com.mx", "com.ar", "com.tr", "com.cn", "com.tw", "com.hk",
    "com.sg", "com.ph", "com.vn", "com.my", "co.kr",  "co.il",	"co.th",
};

/* Rule 2: the top-level domains a mistyped one is fixed to. */
static const char *const suggest_tld_target[] = {
    "com", "net", "org", "edu", "gov", "info", "biz",
};

/* Real TLDs (IANA root zone, as in the Public Suffix List) one edit from
 * a target: typing them may be deliberate, so they are never fixed. The
 * two-letter ones are those near "uk", judged only after "co.". */
static const char *const suggest_tld_real[] = {
    "bet", "bid", "bio", "bom", "cam", "gbiz", "goo", "gop",
    "got", "mom", "mov", "nec", "new", "next", "ntt", "ong",
    "pet", "vet", "ck",	 "dk",	"fk",  "hk",   "lk",  "mk",
    "pk",  "sk",  "tk",	 "ua",	"ug",  "us",   "uy",  "uz",
};

/* One side of a comparison: a domain cut into its parts. */
struct suggest_parts {
	const char *name; /* the label before the suffix */
	size_t nlen;
	const char *suffix; /* one label, or a two-label suffix */
	size_t slen;
	bool more; /* labels before the name ("mail.gmial.com") */
};

/* The best candidate so far. */
struct suggest_best {
	char domain[SUGGEST_DOMAIN_MAX + 1];
	unsigned cost;
	bool com;  /* its suffix is "com": wins a tie */
	bool tie;  /* another domain has the same rank */
	bool slip; /* the edit is a transposition or a missing letter */
};

/* Walks the built-in table, then the providers set. */
struct suggest_iter {
	const struct nameset *set;
	size_t builtin;
	size_t cursor;
};

static bool suggest_eq(const char *a, size_t alen, const char *b)
{
	return strlen(b) == alen && memcmp(a, b, alen) == 0;
}

static bool suggest_in(const char *const *table, size_t n, const char *s,
		       size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (suggest_eq(s, len, table[i]))
			return true;
	return false;
}

static const char *suggest_iter_next(struct suggest_iter *it)
{
	if (it->builtin < SUGGEST_ARRAY_LEN(suggest_popular))
		return suggest_popular[it->builtin++];
	if (it->set == NULL)
		return NULL;
	return nameset_next(it->set, &it->cursor);
}

/* suggest_osa - the optimal string alignment distance (Damerau-
 * Levenshtein with adjacent transpositions, no substring edited twice)
 * of @a and @b. Strings longer than SUGGEST_LABEL_MAX are SUGGEST_FAR:
 * no provider name is that long. Three rolling rows keep it on the
 * stack. */
static unsigned suggest_osa(const char *a, size_t al, const char *b, size_t bl)
{
	unsigned rows[3][SUGGEST_LABEL_MAX + 1];
	unsigned *pp = rows[0], *p = rows[1], *c = rows[2];

	if (al > SUGGEST_LABEL_MAX || bl > SUGGEST_LABEL_MAX)
		return SUGGEST_FAR;
	for (size_t j = 0; j <= bl; j++)
		p[j] = (unsigned)j;
	for (size_t i = 1; i <= al; i++) {
		c[0] = (unsigned)i;
		for (size_t j = 1; j <= bl; j++) {
			unsigned sub = p[j - 1] + (a[i - 1] != b[j - 1]);
			unsigned del = p[j] + 1, ins = c[j - 1] + 1;
			unsigned v = sub < del ? sub : del;
			v = v < ins ? v : ins;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			c[j] = v;
		}
		unsigned *t = pp;
		pp = p;
		p = c;
		c = t;
	}
	return p[bl];
}

/* suggest_slip - @typed is @want with two neighbouring letters swapped or
 * one letter left out: the typos that do not spell a new name. */
static bool suggest_slip(const char *typed, size_t tl, const char *want,
			 size_t wl)
{
	size_t i = 0;

	while (i < tl && i < wl && typed[i] == want[i])
		i++;
	if (tl + 1 == wl)
		return memcmp(typed + i, want + i + 1, tl - i) == 0;
	if (tl == wl && i + 1 < tl)
		return typed[i] == want[i + 1] && typed[i + 1] == want[i] &&
		       memcmp(typed + i + 2, want + i + 2, tl - i - 2) == 0;
	return false;
}

/* suggest_split - cut @d (@len octets, already checked LDH) into name and
 * suffix. False for a single label or a bare suffix. */
static bool suggest_split(const char *d, size_t len, struct suggest_parts *p)
{
	const char *last = memrchr(d, '.', len);

	if (last == NULL)
		return false;
	p->suffix = last + 1;
	p->slen = len - (size_t)(p->suffix - d);
	size_t head = (size_t)(last - d);
	const char *prev = memrchr(d, '.', head);
	/* Every two-label suffix we know ends in a country code: the table
	 * is searched only then, which keeps the common ".com" fast. */
	if (p->slen == 2) {
		const char *sld = prev ? prev + 1 : d;
		if (suggest_in(suggest_sld, SUGGEST_ARRAY_LEN(suggest_sld), sld,
			       len - (size_t)(sld - d))) {
			if (prev == NULL)
				return false; /* a bare suffix: "co.uk" */
			p->suffix = sld;
			p->slen = len - (size_t)(sld - d);
			head = (size_t)(prev - d);
			prev = memrchr(d, '.', head);
		}
	}
	p->name = prev ? prev + 1 : d;
	p->nlen = head - (size_t)(p->name - d);
	p->more = prev != NULL;
	return p->nlen > 0;
}

/* suggest_ldh - @d is a plausible lower-case A-label domain: letters,
 * digits, hyphens, no empty label. */
static bool suggest_ldh(const char *d, size_t len)
{
	if (len == 0 || len > SUGGEST_DOMAIN_MAX || d[0] == '.' ||
	    d[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = d[i];
		if (c == '.' && d[i + 1] == '.')
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* suggest_known - @d or a parent of it is a provider (rule 1). */
static bool suggest_known(const struct nameset *providers, const char *d)
{
	if (providers != NULL && nameset_has_domain(providers, d))
		return true;
	for (const char *p = d; p != NULL;) {
		if (suggest_in(suggest_popular,
			       SUGGEST_ARRAY_LEN(suggest_popular), p,
			       strlen(p)))
			return true;
		p = strchr(p, '.');
		if (p != NULL)
			p++;
	}
	return false;
}

/* suggest_tld - rule 2: the target for the last label @tld (@len octets)
 * when it is a typo, else NULL. @after_co: the label before is "co". */
static const char *suggest_tld(const char *tld, size_t len, bool after_co)
{
	const char *found = NULL;
	size_t hits = 0;

	if (suggest_in(suggest_tld_real, SUGGEST_ARRAY_LEN(suggest_tld_real),
		       tld, len) ||
	    suggest_in(suggest_tld_target,
		       SUGGEST_ARRAY_LEN(suggest_tld_target), tld, len) ||
	    suggest_eq(tld, len, "uk"))
		return NULL;
	if (len >= 3) {
		for (size_t i = 0; i < SUGGEST_ARRAY_LEN(suggest_tld_target);
		     i++) {
			const char *t = suggest_tld_target[i];
			if (suggest_osa(tld, len, t, strlen(t)) == 1) {
				found = t;
				hits++;
			}
		}
	}
	if (after_co && suggest_osa(tld, len, "uk", 2) == 1) {
		found = "uk";
		hits++;
	}
	return hits == 1 ? found : NULL;
}

/* suggest_max_edits - how many edits a provider name of @len letters
 * may be away. */
static unsigned suggest_max_edits(size_t len)
{
	if (len >= SUGGEST_NAME_EDIT2)
		return 2;
	if (len >= SUGGEST_NAME_EDIT1)
		return 1;
	return 0;
}

/* suggest_offer - rank candidate @cand at @cost against @best. */
static void suggest_offer(struct suggest_best *best, const char *cand,
			  unsigned cost, bool slip)
{
	size_t len = strlen(cand);
	bool com = len >= 4 && memcmp(cand + len - 4, ".com", 4) == 0;

	if (len > SUGGEST_DOMAIN_MAX)
		return;
	if (cost < best->cost || (cost == best->cost && com && !best->com)) {
		memcpy(best->domain, cand, len + 1);
		best->cost = cost;
		best->com = com;
		best->slip = slip;
		best->tie = false;
	} else if (cost == best->cost && com == best->com &&
		   strcmp(best->domain, cand) != 0) {
		best->tie = true;
	}
}

/* suggest_is_brand - @name is some provider's name (any suffix). */
static bool suggest_is_brand(const struct nameset *providers,
			     const struct suggest_parts *t)
{
	struct suggest_iter it = {providers, 0, 0};
	const char *cand;

	while ((cand = suggest_iter_next(&it)) != NULL) {
		struct suggest_parts c;
		/* A cheap prefix test first: "NAME." starts the candidate. */
		if (strncmp(cand, t->name, t->nlen) != 0 ||
		    cand[t->nlen] != '.')
			continue;
		if (suggest_split(cand, strlen(cand), &c) && !c.more &&
		    c.nlen == t->nlen)
			return true;
	}
	return false;
}

/* suggest_provider - rule 3 for the domain @d (@len octets, the TLD
 * already fixed by rule 2). */
static void suggest_provider(const struct nameset *providers, const char *d,
			     size_t len, struct suggest_best *best)
{
	struct suggest_iter it = {providers, 0, 0};
	struct suggest_parts t;
	const char *cand;

	if (!suggest_split(d, len, &t)) {
		/* A single label: a provider with its dots left out. */
		if (memchr(d, '.', len) != NULL)
			return;
		while ((cand = suggest_iter_next(&it)) != NULL) {
			size_t k = 0;
			const char *q = cand;
			for (; *q != '\0'; q++) {
				if (*q == '.')
					continue;
				if (k >= len || *q != d[k])
					break;
				k++;
			}
			if (*q == '\0' && k == len)
				suggest_offer(best, cand, 1, false);
		}
		return;
	}
	if (t.more)
		return;
	int brand = -1; /* not known yet: most domains never need it */
	while ((cand = suggest_iter_next(&it)) != NULL) {
		struct suggest_parts c;
		size_t clen = strlen(cand);
		/* Every match below is at most two octets longer or shorter:
		 * two edits of the name, or one of the suffix. */
		if (clen > len + 2 || len > clen + 2)
			continue;
		if (!suggest_split(cand, clen, &c) || c.more)
			continue;
		bool same_name =
		    c.nlen == t.nlen && memcmp(c.name, t.name, t.nlen) == 0;
		bool same_suffix =
		    c.slen == t.slen && memcmp(c.suffix, t.suffix, t.slen) == 0;
		if (same_name && same_suffix) {
			suggest_offer(best, cand, 0, false);
		} else if (same_name) {
			if (c.nlen >= SUGGEST_BRAND_MIN &&
			    suggest_osa(t.suffix, t.slen, c.suffix, c.slen) ==
				1)
				suggest_offer(best, cand, 1, false);
		} else if (same_suffix) {
			unsigned max = suggest_max_edits(c.nlen);
			if (t.nlen + max < c.nlen || c.nlen + max < t.nlen)
				continue;
			if (brand < 0)
				brand = suggest_is_brand(providers, &t);
			if (brand)
				continue;
			unsigned cost =
			    suggest_osa(t.name, t.nlen, c.name, c.nlen);
			if (cost <= max)
				suggest_offer(best, cand, cost,
					      cost == 1 &&
						  suggest_slip(t.name, t.nlen,
							       c.name, c.nlen));
		}
	}
}

bool suggest_domain(const struct nameset *providers,
		    const struct nameset *disposable, const char *domain,
		    char *out, size_t outsz)
{
	size_t len = strnlen(domain, SUGGEST_DOMAIN_MAX + 1);
	char fixed[SUGGEST_DOMAIN_MAX + 1];
	struct suggest_best best = {.cost = SUGGEST_FAR};
	const char *result = NULL;

	if (!suggest_ldh(domain, len) || suggest_known(providers, domain))
		return false;
	bool listed =
	    disposable != NULL && nameset_has_domain(disposable, domain);

	/* Rule 2 first: a TLD that cannot exist is certain to be a typo,
	 * and the provider rules then see the domain as meant. */
	memcpy(fixed, domain, len + 1);
	size_t flen = len;
	const char *dot = memrchr(domain, '.', len);
	if (dot != NULL && !listed) {
		size_t head = (size_t)(dot - domain);
		const char *prev = memrchr(domain, '.', head);
		const char *plabel = prev ? prev + 1 : domain;
		bool after_co =
		    suggest_eq(plabel, head - (size_t)(plabel - domain), "co");
		const char *tld =
		    suggest_tld(dot + 1, len - head - 1, after_co);
		if (tld != NULL) {
			size_t tl = strlen(tld);
			if (head + 1 + tl <= SUGGEST_DOMAIN_MAX) {
				memcpy(fixed + head + 1, tld, tl + 1);
				flen = head + 1 + tl;
				result = fixed;
			}
		}
	}

	suggest_provider(providers, fixed, flen, &best);
	if (best.cost != SUGGEST_FAR && !best.tie &&
	    (!listed || (best.cost == 1 && best.slip)))
		result = best.domain;
	if (result == NULL || strcmp(result, domain) == 0)
		return false;
	size_t rlen = strlen(result);
	if (rlen + 1 > outsz)
		return false;
	memcpy(out, result, rlen + 1);
	return true;
}
