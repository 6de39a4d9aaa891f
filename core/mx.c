/* mx - order a domain's MX set for delivery attempts (see mx.h). */
#include "core/mx.h"

#include <arpa/inet.h>
#include <string.h>

/* A usable record: its index in the input, its name's length without the
 * final dot, and its preference. Names stay in the caller's input until
 * the final copy, so the work area is small (MX_INPUT_MAX * 16 octets). */
struct cand {
	size_t idx;
	size_t len;
	uint16_t preference;
};

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ldh(char c)
{
	return is_digit(c) || c == '-' || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

/* name_len - the length of @host without one final dot, or a value above
 * MX_NAME_MAX when it is longer than a host name can be. */
static size_t name_len(const char *host)
{
	size_t n = strnlen(host, MX_NAME_MAX + 2);

	if (n > 0 && host[n - 1] == '.')
		n--;
	return n;
}

static bool is_root(const char *host)
{
	return host[0] == '\0' || (host[0] == '.' && host[1] == '\0');
}

/* ldh_ok - the label rules of mx.h on @len octets at @s: 1..63 LDH octets
 * per label, no hyphen at a label's edge, two labels or more, and a last
 * label that is not all digits. */
static bool ldh_ok(const char *s, size_t len)
{
	size_t start = 0, labels = 0;
	bool all_digits = true;

	if (len == 0 || len > MX_NAME_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			size_t l = i - start;
			if (l == 0 || l > 63 || s[start] == '-' ||
			    s[i - 1] == '-')
				return false;
			labels++;
			if (i < len)
				all_digits = true;
			start = i + 1;
			continue;
		}
		if (!is_ldh(s[i]))
			return false;
		if (!is_digit(s[i]))
			all_digits = false;
	}
	return labels >= 2 && !all_digits;
}

bool mx_host_valid(const char *name)
{
	char buf[MX_NAME_MAX + 1];
	struct in_addr a;
	size_t len;

	if (name == NULL || (len = name_len(name)) > MX_NAME_MAX ||
	    !ldh_ok(name, len))
		return false;
	memcpy(buf, name, len);
	buf[len] = '\0';
	/* LDH names that inet_aton() reads as an address ("0x7f.0x1"): a
	 * resolver that tries the numeric form first would connect there. */
	return inet_aton(buf, &a) == 0;
}

/* same_name - @a and @b, of @len octets each, equal ignoring ASCII case. */
static bool same_name(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

/* shuffle - Fisher-Yates over @n candidates. rnd() % k is biased by at
 * most k / 2^64 with k <= MX_INPUT_MAX, far beneath anything a load
 * spreader could notice, and it never loops as rejection sampling can
 * with a poor caller-supplied source. */
static void shuffle(struct cand *c, size_t n, mx_random_fn rnd, void *ctx)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(rnd(ctx) % i);
		struct cand t = c[i - 1];
		c[i - 1] = c[j];
		c[j] = t;
	}
}

enum mx_status mx_order(const struct mx_record *in, size_t n, mx_random_fn rnd,
			void *ctx, struct mx_set *out)
{
	struct cand cand[MX_INPUT_MAX];
	size_t ncand = 0, considered = n < MX_INPUT_MAX ? n : MX_INPUT_MAX;
	bool null_mx = n > 0;

	memset(out, 0, sizeof *out);
	if (n == 0)
		return out->status = MX_EMPTY;

	for (size_t i = 0; i < n; i++)
		if (in[i].host == NULL || !is_root(in[i].host) ||
		    in[i].preference != 0)
			null_mx = false;
	if (null_mx) {
		out->dropped = (unsigned)n;
		return out->status = MX_NULL;
	}

	for (size_t i = 0; i < considered; i++) {
		const char *h = in[i].host;
		if (h == NULL || !mx_host_valid(h))
			continue;
		size_t len = name_len(h), k;
		/* Keep the first occurrence's slot, with the lowest
		 * preference: the earliest attempt is the one that counts. */
		for (k = 0; k < ncand; k++)
			if (cand[k].len == len &&
			    same_name(in[cand[k].idx].host, h, len))
				break;
		if (k < ncand) {
			if (in[i].preference < cand[k].preference)
				cand[k].preference = in[i].preference;
			continue;
		}
		cand[ncand++] = (struct cand){
		    .idx = i, .len = len, .preference = in[i].preference};
	}

	/* Stable insertion sort by preference (ncand <= MX_INPUT_MAX). */
	for (size_t i = 1; i < ncand; i++) {
		struct cand t = cand[i];
		size_t j = i;
		for (; j > 0 && cand[j - 1].preference > t.preference; j--)
			cand[j] = cand[j - 1];
		cand[j] = t;
	}
	/* Shuffle each run of equal preference before the cut, so that
	 * the hosts kept from the last run are a random choice too. */
	if (rnd != NULL) {
		for (size_t i = 0; i < ncand;) {
			size_t j = i + 1;
			while (j < ncand &&
			       cand[j].preference == cand[i].preference)
				j++;
			shuffle(cand + i, j - i, rnd, ctx);
			i = j;
		}
	}

	out->count = ncand < MX_HOSTS_MAX ? (unsigned)ncand : MX_HOSTS_MAX;
	out->cut = (unsigned)ncand - out->count;
	out->dropped = (unsigned)(n - ncand);
	for (unsigned i = 0; i < out->count; i++) {
		const char *h = in[cand[i].idx].host;
		for (size_t k = 0; k < cand[i].len; k++)
			out->hosts[i].host[k] = lower(h[k]);
		out->hosts[i].host[cand[i].len] = '\0';
		out->hosts[i].preference = cand[i].preference;
	}
	return out->status = ncand > 0 ? MX_OK : MX_UNUSABLE;
}
