/* suggest - a likely fix for a mistyped mail domain ("gmial.com" ->
 * "gmail.com", "example.con" -> "example.com"): the verdict's
 * "suggestion" (DESIGN.md "Verdicts").
 *
 * A suggestion is advice to a person, never a change to the address; so
 * it is made only when the typed domain is very probably not what was
 * meant, and silence is the answer to any doubt. The rules, in order:
 *
 * 1. Never for a domain that is plausibly intended: a provider (the
 *    built-in popular table or the @providers set) or a subdomain of one;
 *    a domain in the @disposable set (or under one), except for a
 *    provider typo of the two slips that make no new word, two
 *    neighbouring letters swapped or one letter missing ("gmial.com",
 *    "hotmai.com"): public disposable lists hold such typo-squatting
 *    catch-alls, and whoever typed them meant the provider. Other
 *    listed near-misses ("gotmail.com", "tmail.com") are real services;
 *    a listed domain gets no fix of rule 2 either.
 * 2. A top-level domain that does not exist and is one edit (Damerau-
 *    Levenshtein, adjacent transpositions) from exactly one of com, net,
 *    org, edu, gov, info, biz is fixed on any domain: .con .cmo .ocm .comm
 *    -> .com, .nte -> .net, .orgg -> .org; after "co." a label one edit
 *    from "uk" becomes "uk" (.co.ukk). Only labels of three or more
 *    letters are judged, except after "co.", and a built-in table of the
 *    real TLDs one edit from those targets (.cam .mom .bom .new .pet ...,
 *    taken from the Public Suffix List) is never touched: two-letter
 *    labels are country codes, and .co .cm .om are real.
 * 3. Provider typos, on a domain of the form NAME.SUFFIX (SUFFIX one
 *    label or a known two-label suffix such as co.uk), against every
 *    provider of the same form:
 *    - NAME a misspelt provider name, same suffix: at most one edit for
 *      names of SUGGEST_NAME_EDIT1 or more letters, two for
 *      SUGGEST_NAME_EDIT2 or more; shorter names (qq, gmx, aol, me, mac,
 *      live, ...) are too close to other real domains to guess at.
 *      A NAME that is itself a provider's name ("gmx", "ymail", "mail",
 *      "email") is never respelt into another provider.
 *    - NAME exactly a provider's name of SUGGEST_BRAND_MIN or more
 *      letters, suffix one edit from that provider's: hotmail.co ->
 *      hotmail.com, icloud.cm -> icloud.com (real TLDs, but a provider's
 *      name on them is a slip); gmail.co.uk and gmail.de are left alone.
 *    - A single label that is a provider without its dots: gmailcom.
 *    The lowest cost wins; at equal cost a ".com" provider wins (yahoo.cm
 *    -> yahoo.com, not yahoo.ca); any other tie means no suggestion.
 *
 * Input: a domain in A-label form, lower case (struct address's).
 * Anything else (an address literal, upper case, empty labels) gets no
 * suggestion. Cost: a provider domain returns after one hash lookup;
 * any other walks the providers once with a length cut, a few
 * microseconds for the embedded lists; no allocation.
 * Ownership: nothing is kept; the sets are borrowed for the call.
 * Errors: none; false means "no suggestion". Loop: none. */
#ifndef RCPTD_CORE_SUGGEST_H
#define RCPTD_CORE_SUGGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "core/nameset.h"

/* RFC 1035 2.3.4: a domain in text form, no final dot. */
#define SUGGEST_DOMAIN_MAX 253
/* RFC 1035 2.3.4: a label; also the longest string ever compared. */
#define SUGGEST_LABEL_MAX 63

/* Provider names this long accept one edit ("gmai", "yaho"); this long,
 * two ("protnmial"). Below five letters one edit turns most names into
 * another real domain (live/love, gmx/gmc, mail/mall). */
#define SUGGEST_NAME_EDIT1 5
#define SUGGEST_NAME_EDIT2 8
/* A provider name this long may have its suffix fixed (aol.co). */
#define SUGGEST_BRAND_MIN 3

/* suggest_domain - write the suggested domain for @domain into @out
 * (@outsz octets, SUGGEST_DOMAIN_MAX + 1 is always enough) and return
 * true; return false when there is none (or it does not fit).
 * @providers and @disposable may be NULL; the built-in table of popular
 * provider domains is always used. */
bool suggest_domain(const struct nameset *providers,
		    const struct nameset *disposable, const char *domain,
		    char *out, size_t outsz);

#endif
