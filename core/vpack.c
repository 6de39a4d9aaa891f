/* vpack - compact in-process form of a verdict (see vpack.h). */
#include "core/vpack.h"

#include <stdint.h>
#include <string.h>

enum {
	PACK_EMAIL = 0,
	PACK_ADDRESS,
	PACK_DOMAIN,
	PACK_MESSAGE,
	PACK_SUGGESTION,
	PACK_SMTP_HOST,
	PACK_SMTP_IP,
	PACK_SMTP_ENHANCED,
	PACK_SMTP_MESSAGE,
	PACK_MX0,
	PACK_STRINGS = PACK_MX0 + VERDICT_MX_MAX
};

#define FLAG_DISPOSABLE	   0x01
#define FLAG_FREE_PROVIDER 0x02
#define FLAG_ROLE_ACCOUNT  0x04
#define FLAG_SMTP	   0x08
#define FLAG_TLS	   0x10
#define FLAG_TRUNCATED	   0x20
#define FLAG_CACHED	   0x40

struct head {
	int64_t checked_at;
	uint32_t duration_ms, retry_after;
	int32_t code;
	uint32_t mx_pref[VERDICT_MX_MAX];
	uint16_t len[PACK_STRINGS];
	uint8_t reason, catch_all, stage, mx_count, flags;
};

/* The text fields as (offset, size) in struct verdict, in PACK_* order;
 * one table serves the const encoder and the writing decoder. */
#define FIELD(m)                                                               \
	{                                                                      \
		offsetof(struct verdict, m), sizeof(((struct verdict *)0)->m)  \
	}
static const struct {
	size_t off, size;
} field[PACK_MX0] = {
    FIELD(email),   FIELD(address),	  FIELD(domain),
    FIELD(message), FIELD(suggestion),	  FIELD(smtp.host),
    FIELD(smtp.ip), FIELD(smtp.enhanced), FIELD(smtp.message),
};
#undef FIELD

/* field_at - offset and size of text field @i (the MX hosts follow). */
static size_t field_at(int i, size_t *size)
{
	if (i < PACK_MX0) {
		*size = field[i].size;
		return field[i].off;
	}
	*size = sizeof(((struct verdict *)0)->mx[0].host);
	return offsetof(struct verdict, mx) +
	       (size_t)(i - PACK_MX0) * sizeof(struct verdict_mx) +
	       offsetof(struct verdict_mx, host);
}

size_t vpack_size(const struct verdict *v)
{
	size_t size, n = sizeof(struct head);

	for (int i = 0; i < PACK_STRINGS; i++) {
		size_t off = field_at(i, &size);
		n += strnlen((const char *)v + off, size - 1);
	}
	return n;
}

size_t vpack_encode(const struct verdict *v, char *dst)
{
	size_t size, n = sizeof(struct head);
	unsigned mx =
	    v->mx_count < VERDICT_MX_MAX ? v->mx_count : VERDICT_MX_MAX;
	struct head h;

	memset(&h, 0, sizeof(h));
	h.checked_at = v->checked_at;
	h.duration_ms = v->duration_ms;
	h.retry_after = v->retry_after;
	h.code = v->smtp.code;
	h.reason = (uint8_t)v->reason;
	h.catch_all = (uint8_t)v->catch_all;
	h.stage = (uint8_t)v->smtp.stage;
	h.mx_count = (uint8_t)mx;
	h.flags = (v->disposable ? FLAG_DISPOSABLE : 0) |
		  (v->free_provider ? FLAG_FREE_PROVIDER : 0) |
		  (v->role_account ? FLAG_ROLE_ACCOUNT : 0) |
		  (v->smtp.present ? FLAG_SMTP : 0) |
		  (v->smtp.tls ? FLAG_TLS : 0) |
		  (v->email_truncated ? FLAG_TRUNCATED : 0) |
		  (v->cached ? FLAG_CACHED : 0);
	for (unsigned i = 0; i < mx; i++)
		h.mx_pref[i] = v->mx[i].preference;
	for (int i = 0; i < PACK_STRINGS; i++) {
		const char *f = (const char *)v + field_at(i, &size);
		/* A field without its NUL (a caller bug) is cut, not
		 * overrun. */
		h.len[i] = (uint16_t)strnlen(f, size - 1);
		memcpy(dst + n, f, h.len[i]);
		n += h.len[i];
	}
	memcpy(dst, &h, sizeof(h));
	return n;
}

int vpack_decode(const char *src, size_t len, struct verdict *v)
{
	size_t size, n = sizeof(struct head);
	struct head h;
	struct verdict out;

	if (len < sizeof(h))
		return -1;
	memcpy(&h, src, sizeof(h));
	if (h.reason >= REASON_LAST || h.catch_all > TRI_TRUE ||
	    h.stage >= SMTP_STAGE_LAST || h.mx_count > VERDICT_MX_MAX)
		return -1;
	memset(&out, 0, sizeof(out));
	for (int i = 0; i < PACK_STRINGS; i++) {
		char *f = (char *)&out + field_at(i, &size);
		if (h.len[i] >= size || h.len[i] > len - n)
			return -1;
		memcpy(f, src + n, h.len[i]);
		f[h.len[i]] = '\0';
		n += h.len[i];
	}
	if (n != len)
		return -1;
	verdict_set(&out, (enum verdict_reason)h.reason);
	out.checked_at = h.checked_at;
	out.duration_ms = h.duration_ms;
	out.retry_after = h.retry_after;
	out.smtp.code = h.code;
	out.catch_all = (enum tristate)h.catch_all;
	out.smtp.stage = (enum smtp_stage)h.stage;
	out.mx_count = h.mx_count;
	for (unsigned i = 0; i < h.mx_count; i++)
		out.mx[i].preference = h.mx_pref[i];
	out.disposable = h.flags & FLAG_DISPOSABLE;
	out.free_provider = h.flags & FLAG_FREE_PROVIDER;
	out.role_account = h.flags & FLAG_ROLE_ACCOUNT;
	out.smtp.present = h.flags & FLAG_SMTP;
	out.smtp.tls = h.flags & FLAG_TLS;
	out.email_truncated = h.flags & FLAG_TRUNCATED;
	out.cached = h.flags & FLAG_CACHED;
	*v = out;
	return 0;
}
