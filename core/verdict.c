/* verdict - status, reason and the plain-data verdict (see verdict.h). */
#include "core/verdict.h"

#include <string.h>

static const char *const status_name[VERDICT_STATUS_LAST] = {
    [VERDICT_UNKNOWN] = "unknown",
    [VERDICT_DELIVERABLE] = "deliverable",
    [VERDICT_UNDELIVERABLE] = "undeliverable",
    [VERDICT_RISKY] = "risky",
};

/* One row per reason: its JSON name and the status it belongs to, in the
 * order of DESIGN.md's table. */
static const struct {
	const char *name;
	enum verdict_status status;
} reason_table[REASON_LAST] = {
    [REASON_ACCEPTED] = {"accepted", VERDICT_DELIVERABLE},
    [REASON_INVALID_SYNTAX] = {"invalid_syntax", VERDICT_UNDELIVERABLE},
    [REASON_NO_SUCH_DOMAIN] = {"no_such_domain", VERDICT_UNDELIVERABLE},
    [REASON_NULL_MX] = {"null_mx", VERDICT_UNDELIVERABLE},
    [REASON_NO_MAIL_SERVER] = {"no_mail_server", VERDICT_UNDELIVERABLE},
    [REASON_MAILBOX_NOT_FOUND] = {"mailbox_not_found", VERDICT_UNDELIVERABLE},
    [REASON_MAILBOX_DISABLED] = {"mailbox_disabled", VERDICT_UNDELIVERABLE},
    [REASON_CATCH_ALL] = {"catch_all", VERDICT_RISKY},
    [REASON_MAILBOX_FULL] = {"mailbox_full", VERDICT_RISKY},
    [REASON_DISPOSABLE] = {"disposable", VERDICT_RISKY},
    [REASON_GREYLISTED] = {"greylisted", VERDICT_UNKNOWN},
    [REASON_TIMEOUT] = {"timeout", VERDICT_UNKNOWN},
    [REASON_CONNECT_FAILED] = {"connect_failed", VERDICT_UNKNOWN},
    [REASON_POLICY_REJECTED] = {"policy_rejected", VERDICT_UNKNOWN},
    [REASON_TLS_REQUIRED] = {"tls_required", VERDICT_UNKNOWN},
    [REASON_PROTOCOL_ERROR] = {"protocol_error", VERDICT_UNKNOWN},
    [REASON_BLOCKED_TARGET] = {"blocked_target", VERDICT_UNKNOWN},
    [REASON_RATE_LIMITED] = {"rate_limited", VERDICT_UNKNOWN},
    [REASON_DNS_ERROR] = {"dns_error", VERDICT_UNKNOWN},
    [REASON_IN_PROGRESS] = {"in_progress", VERDICT_UNKNOWN},
    [REASON_NOT_CHECKED] = {"not_checked", VERDICT_UNKNOWN},
};

static const char *const stage_name[SMTP_STAGE_LAST] = {
    [SMTP_STAGE_NONE] = "none",	    [SMTP_STAGE_CONNECT] = "connect",
    [SMTP_STAGE_BANNER] = "banner", [SMTP_STAGE_EHLO] = "ehlo",
    [SMTP_STAGE_MAIL] = "mail",	    [SMTP_STAGE_RCPT] = "rcpt",
};

const char *verdict_status_name(enum verdict_status status)
{
	if ((unsigned)status >= VERDICT_STATUS_LAST)
		return NULL;
	return status_name[status];
}

const char *verdict_reason_name(enum verdict_reason reason)
{
	if ((unsigned)reason >= REASON_LAST)
		return NULL;
	return reason_table[reason].name;
}

const char *smtp_stage_name(enum smtp_stage stage)
{
	if ((unsigned)stage >= SMTP_STAGE_LAST)
		return NULL;
	return stage_name[stage];
}

enum verdict_status verdict_reason_status(enum verdict_reason reason)
{
	if ((unsigned)reason >= REASON_LAST)
		return VERDICT_UNKNOWN;
	return reason_table[reason].status;
}

int verdict_status_from_name(const char *name)
{
	for (int i = 0; i < VERDICT_STATUS_LAST; i++)
		if (strcmp(status_name[i], name) == 0)
			return i;
	return -1;
}

int verdict_reason_from_name(const char *name)
{
	for (int i = 0; i < REASON_LAST; i++)
		if (strcmp(reason_table[i].name, name) == 0)
			return i;
	return -1;
}

void verdict_set(struct verdict *v, enum verdict_reason reason)
{
	v->reason = reason;
	v->status = verdict_reason_status(reason);
}

/* utf8_seq_len - length of the valid UTF-8 sequence at @s (at most @len
 * octets available), or 0 when it is not one. Strict per RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_seq_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	unsigned lo = 0x80, hi = 0xBF; /* bounds of the second octet */

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0; /* overlong */
		if (c == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90; /* overlong */
		if (c == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else
		return 0;
	if (len < n)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

bool verdict_copy_text(char *dst, size_t size, const char *src, size_t len,
		       bool keep_controls)
{
	static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
	const unsigned char *s = (const unsigned char *)src;
	size_t in = 0, out = 0;

	if (size == 0)
		return len == 0;
	while (in < len) {
		size_t n = utf8_seq_len(s + in, len - in);
		const char *piece = (const char *)s + in;
		size_t piece_len = n;

		if (n == 0 || s[in] == 0 ||
		    (!keep_controls && (s[in] < 0x20 || s[in] == 0x7F) &&
		     s[in] != '\t')) {
			piece = replacement;
			piece_len = 3;
			n = n ? n : 1;
		}
		if (out + piece_len > size - 1)
			break;
		memcpy(dst + out, piece, piece_len);
		out += piece_len;
		in += n;
	}
	dst[out] = '\0';
	return in == len;
}

void verdict_init(struct verdict *v, const char *email, size_t len)
{
	memset(v, 0, sizeof(*v));
	v->email_truncated =
	    !verdict_copy_text(v->email, sizeof(v->email), email, len, true);
	v->catch_all = TRI_UNKNOWN;
	verdict_set(v, REASON_NOT_CHECKED);
}
