/* classify - turn one SMTP reply into a verdict reason (see classify.h). */
#include "core/classify.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

/* The word lists of classify.h's rules, lower case and '|'-separated; a
 * reply matches a list when its text holds any word, ignoring case. The
 * words come from the wording of real servers (see the replies in
 * tests/unit/core/test_classify.c). */

static const char tls_words[] =
    "starttls|tls required|requires tls|require tls|tls is required|"
    "must use tls|tls connection required|encryption required|"
    "encryption needed";

static const char auth_words[] = "auth";

static const char rcpt_limit_words[] = "too many recipients|too many rcpt";

static const char greylist_words[] =
    "greylist|graylist|grey-list|gray-list|grey list|gray list";

/* Postfix's delayed reply classes and Exim's sender verification. */
static const char client_part_words[] =
    "client host rejected|helo command rejected|"
    "sender address rejected|sender verif";

static const char rate_words[] =
    "rate limit|ratelimit|rate-limit|overlimit|too many connections|"
    "concurrent|connection limit|connection rate|"
    "too many sessions|too many messages|too many mails|too much mail|"
    "too many errors|too quickly|too fast|at a rate|unusual rate|"
    "sending rate|sending quota|throttl|volume|reached its limit|"
    "server busy|servers busy";

static const char timeout_words[] = "timeout|timed out|time out|time-out";

static const char policy_words[] =
    "block|blacklist|black list|denylist|spamhaus|barracuda|spamcop|"
    "sorbs|uceprotect|policy|policies|reputation|rbl|dnsbl|listed|"
    "banned|not allowed to send|denied|relay|prohibit|not authorized|"
    "unauthori|authentication|spam|unsolicited|spoof|spf|dmarc|dkim|"
    "reverse dns|reverse hostname|reverse lookup|ptr record|"
    "your hostname|client host|your ip|sending ip|client ip|"
    "your network|helo name|invalid helo|bad helo|invalid sender|sender "
    "rejected|sender denied|"
    "abuse|complaint";

static const char disabled_words[] =
    "disabled|deactivated|inactive|suspended|discontinued|"
    "no longer active|account closed|account is closed";

static const char full_words[] =
    "mailbox full|mailbox is full|mail box full|inbox is full|"
    "full mailbox|mailbox has exceeded|quota|"
    "exceeded storage|storage allocation|out of storage|"
    "mailbox size limit";

static const char not_found_words[] =
    "user unknown|unknown user|no such user|no such mailbox|"
    "no such recipient|no such address|no such account|"
    "mailbox unavailable|mailbox not found|mailbox does not exist|"
    "no mailbox|recipient rejected|recipient unknown|unknown recipient|"
    "invalid recipient|recipient not found|address rejected|"
    "does not exist|doesn't exist|does not have a|doesn't have a|"
    "unrouteable address|unroutable address|address unknown|"
    "unknown address|invalid mailbox|invalid address|bad recipient|"
    "not a valid|user not found|account not found|not found|"
    "unknown or illegal alias|mailbox name not allowed";

static const char deferral_words[] =
    "try again|try later|retry|come back|temporar|defer|later";

/* has_any - whether @text holds any word of @words ('|'-separated),
 * ignoring ASCII case. Texts are at most SMTP_REPLY_TEXT_MAX octets, so
 * the plain search is cheap enough. */
static bool has_any(const char *text, const char *words)
{
	for (const char *w = words; *w != '\0';) {
		size_t n = strcspn(w, "|");
		for (const char *t = text; *t != '\0'; t++)
			if (strncasecmp(t, w, n) == 0)
				return true;
		w += n;
		if (*w == '|')
			w++;
	}
	return false;
}

/* An enhanced status code (RFC 3463 2): class.subject.detail. */
struct esc {
	bool present;
	int cls, subject, detail;
};

/* read_num - 1..3 decimal digits at *@p, advancing it; -1 if none. */
static int read_num(const char **p)
{
	int v = 0, n = 0;

	while (n < 3 && **p >= '0' && **p <= '9') {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	return n == 0 ? -1 : v;
}

/* parse_esc - @s as "c.s.d" with c equal to @code's first digit (RFC 3463
 * 2: the class must agree with the reply code; a mismatch means one of
 * them is wrong, and the basic code is the one RFC 5321 requires). */
static struct esc parse_esc(const char *s, int code)
{
	struct esc e = {0};

	if (s == NULL || s[0] < '2' || s[0] > '5' || s[1] != '.' ||
	    s[0] - '0' != code / 100)
		return e;
	const char *p = s + 2;
	int subject = read_num(&p);
	if (subject < 0 || *p++ != '.')
		return e;
	int detail = read_num(&p);
	if (detail < 0 || *p != '\0')
		return e;
	return (struct esc){true, s[0] - '0', subject, detail};
}

static bool esc_is(const struct esc *e, int subject, int detail)
{
	return e->present && e->subject == subject && e->detail == detail;
}

/* Units of a delay in a reply text, longest spelling first; a one-letter
 * unit counts only right after the digits ("60s", not "60 s"). */
static const struct {
	const char *word;
	unsigned seconds;
} units[] = {
    {"seconds", 1},  {"second", 1},  {"secs", 1},   {"sec", 1},
    {"minutes", 60}, {"minute", 60}, {"mins", 60},  {"min", 60},
    {"hours", 3600}, {"hour", 3600}, {"hrs", 3600}, {"hr", 3600},
    {"s", 1},	     {"m", 60},	     {"h", 3600},
};

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* unit_at - the seconds of the unit word at @p (@attached: no space came
 * between it and the number), or 0. */
static unsigned unit_at(const char *p, bool attached)
{
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		size_t n = strlen(units[i].word);
		if ((n == 1 && !attached) || strncasecmp(p, units[i].word, n))
			continue;
		if (!is_alpha(p[n]))
			return units[i].seconds;
	}
	return 0;
}

/* retry_hint - the first "N unit" in @text, in seconds, clamped to
 * 1..CLASSIFY_RETRY_MAX; CLASSIFY_RETRY_DEFAULT when there is none. A
 * number glued to a letter, dot or colon before it (an IP address, a
 * version, a clock) is not a delay. */
static unsigned retry_hint(const char *text)
{
	for (const char *p = text; *p != '\0'; p++) {
		if (!is_digit(*p) ||
		    (p > text && (is_alpha(p[-1]) || is_digit(p[-1]) ||
				  p[-1] == '.' || p[-1] == ':')))
			continue;
		unsigned long v = 0;
		const char *q = p;
		for (; is_digit(*q); q++)
			if (v <= CLASSIFY_RETRY_MAX)
				v = v * 10 + (unsigned long)(*q - '0');
		bool attached = true;
		const char *u = q;
		if (*u == ' ') {
			u++;
			attached = false;
		}
		unsigned mult = unit_at(u, attached);
		if (mult == 0)
			continue;
		v *= mult;
		if (v < 1)
			return 1;
		return v > CLASSIFY_RETRY_MAX ? CLASSIFY_RETRY_MAX
					      : (unsigned)v;
	}
	return CLASSIFY_RETRY_DEFAULT;
}

/* decide - the rules of classify.h, steps 1..12, for a 4xx or 5xx. */
static enum verdict_reason decide(bool rcpt, int code, const struct esc *e,
				  const char *text)
{
	bool temp = code / 100 == 4;

	/* 1. TLS */
	if ((e->present && e->subject == 7 &&
	     (e->detail == 10 || e->detail == 11)) ||
	    has_any(text, tls_words) ||
	    (code == 530 && !has_any(text, auth_words)))
		return REASON_TLS_REQUIRED;
	/* 2. a full transaction, not a verdict */
	if (rcpt && (esc_is(e, 5, 3) || has_any(text, rcpt_limit_words)))
		return REASON_IN_PROGRESS;
	/* 3. explicit greylisting */
	if (temp && has_any(text, greylist_words))
		return REASON_GREYLISTED;
	/* 4. Postfix/Exim rejections of our client, HELO or sender */
	if (has_any(text, client_part_words))
		return REASON_POLICY_REJECTED;
	/* 5. specific enhanced codes */
	if (e->present) {
		if (esc_is(e, 1, 7) || esc_is(e, 1, 8))
			return REASON_POLICY_REJECTED;
		if (!temp && e->subject == 7)
			return REASON_POLICY_REJECTED;
		if (!temp && e->subject == 1 &&
		    (e->detail == 1 || e->detail == 2 || e->detail == 3 ||
		     e->detail == 4 || e->detail == 6 || e->detail == 10))
			return rcpt ? REASON_MAILBOX_NOT_FOUND
				    : REASON_POLICY_REJECTED;
		if (rcpt && !temp && esc_is(e, 2, 1))
			return REASON_MAILBOX_DISABLED;
		if (rcpt && esc_is(e, 2, 2))
			return REASON_MAILBOX_FULL;
		if (rcpt && !temp && esc_is(e, 4, 1) &&
		    has_any(text, "recipient address rejected"))
			return REASON_MAILBOX_NOT_FOUND;
		if (temp && esc_is(e, 4, 5))
			return REASON_RATE_LIMITED;
	}
	/* 6. the server did not understand us */
	if (code >= 500 && code <= 504)
		return REASON_PROTOCOL_ERROR;
	/* 7..9. our rate, our slowness, our standing */
	if (has_any(text, rate_words))
		return REASON_RATE_LIMITED;
	if (temp && has_any(text, timeout_words))
		return REASON_TIMEOUT;
	if (has_any(text, policy_words))
		return REASON_POLICY_REJECTED;
	/* 10. the mailbox, in words */
	if (rcpt && !temp) {
		if (has_any(text, disabled_words))
			return REASON_MAILBOX_DISABLED;
		if (has_any(text, full_words))
			return REASON_MAILBOX_FULL;
		if (has_any(text, not_found_words))
			return REASON_MAILBOX_NOT_FOUND;
	}
	if (rcpt && temp && has_any(text, full_words))
		return REASON_MAILBOX_FULL;
	/* 11..12. temporary: come back later, or try another host */
	if (temp)
		return code == 421 && !has_any(text, deferral_words)
			   ? REASON_CONNECT_FAILED
			   : REASON_GREYLISTED;
	if (!rcpt)
		return REASON_POLICY_REJECTED;
	switch (code) {
	case 550:
	case 551:
	case 553:
		return REASON_MAILBOX_NOT_FOUND;
	case 552:
		return REASON_MAILBOX_FULL;
	case 556:
		return REASON_NO_MAIL_SERVER;
	default:
		return REASON_POLICY_REJECTED;
	}
}

enum verdict_reason classify_reply(enum smtp_stage stage, int code,
				   const char *enhanced, const char *text,
				   unsigned *retry_after)
{
	enum verdict_reason r;

	if (text == NULL)
		text = "";
	if (code < 200 || code > 599 || code / 100 == 3) {
		r = REASON_PROTOCOL_ERROR;
	} else if (code / 100 == 2) {
		r = REASON_ACCEPTED;
	} else {
		struct esc e = parse_esc(enhanced, code);
		r = decide(stage == SMTP_STAGE_RCPT, code, &e, text);
	}
	if (retry_after != NULL)
		*retry_after = r == REASON_GREYLISTED ? retry_hint(text) : 0;
	return r;
}
