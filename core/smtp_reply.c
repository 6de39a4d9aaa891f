/* smtp_reply - incremental SMTP reply parser; the contract is in
 * smtp_reply.h. One octet at a time through a small state machine, so that
 * every chunking of the same bytes gives the same replies and memory does
 * not depend on what the server sends. */
#include "core/smtp_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where in a line's grammar the next octet falls. */
enum reply_lstate {
	LS_CODE = 0, /* reading the 3 digits */
	LS_SEP,	     /* after the code: '-', SP or EOL */
	LS_TEXT,     /* text up to EOL */
	LS_CR	     /* after CR: only LF may follow */
};

static const struct {
	const char *name;
	unsigned bit;
} reply_ext_table[] = {
    {"PIPELINING", SMTP_EXT_PIPELINING},
    {"STARTTLS", SMTP_EXT_STARTTLS},
    {"SIZE", SMTP_EXT_SIZE},
    {"SMTPUTF8", SMTP_EXT_SMTPUTF8},
    {"8BITMIME", SMTP_EXT_8BITMIME},
    {"ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCEDSTATUSCODES},
    {"CHUNKING", SMTP_EXT_CHUNKING},
};

#define REPLY_EXT_COUNT (sizeof(reply_ext_table) / sizeof(reply_ext_table[0]))

static const char *const reply_err_name[] = {
    [-SMTP_REPLY_ERR_CODE] = "reply code is not 3 digits 2yz..5yz",
    [-SMTP_REPLY_ERR_SEPARATOR] = "reply code not followed by '-', SP or EOL",
    [-SMTP_REPLY_ERR_MISMATCH] = "reply lines with different codes",
    [-SMTP_REPLY_ERR_BARE_CR] = "CR not followed by LF in a reply",
    [-SMTP_REPLY_ERR_LINE_TOO_LONG] = "reply line too long",
    [-SMTP_REPLY_ERR_TOO_LONG] = "reply too long",
    [-SMTP_REPLY_ERR_TOO_MANY_LINES] = "reply has too many lines",
};

static bool reply_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool reply_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char reply_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* reply_line_reset - ready for the first octet of a line. */
static void reply_line_reset(struct smtp_reply_parser *p)
{
	p->lstate = LS_CODE;
	p->line_code = 0;
	p->ndigits = 0;
	p->last = false;
	p->line_len = 0;
	p->head_done = false;
	p->head_len = 0;
	p->line_started = false;
}

/* reply_reset - ready for the first line of a reply. */
static void reply_reset(struct smtp_reply_parser *p)
{
	reply_line_reset(p);
	p->code = 0;
	p->lines = 0;
	p->total = 0;
	p->enhanced[0] = '\0';
	p->enhanced_len = 0;
	p->ext = 0;
	p->size = 0;
	p->text_len = 0;
	p->truncated = false;
	p->text[0] = '\0';
}

void smtp_reply_init(struct smtp_reply_parser *p)
{
	memset(p, 0, sizeof(*p));
	reply_reset(p);
}

/* smtp_reply_feed - borrow the next input; see the header. */
void smtp_reply_feed(struct smtp_reply_parser *p, const char *buf, size_t len)
{
	if (p->in_off < p->in_len) {
		/* Caller bug: the previous input is still borrowed. */
		fprintf(stderr, "smtp_reply_feed: %zu octets not consumed\n",
			p->in_len - p->in_off);
		abort();
	}
	if (p->err != 0) /* sticky: nothing more is parsed */
		return;
	p->in = buf;
	p->in_len = len;
	p->in_off = 0;
}

/* reply_text_put - append one octet of this line to the reply's text. The
 * line separator is written lazily, before the line's first kept octet, so
 * that a line that contributes nothing adds no space. */
static void reply_text_put(struct smtp_reply_parser *p, char c)
{
	if (!p->line_started) {
		p->line_started = true;
		if (p->text_len > 0)
			reply_text_put(p, ' ');
	}
	if (p->text_len < SMTP_REPLY_TEXT_MAX)
		p->text[p->text_len++] = c;
	else
		p->truncated = true;
}

/* reply_enhanced_at - the length of an RFC 3463 status code at the start
 * of @s (@n octets), or 0. @eol says that @s ends where the line ends; the
 * code must be followed by white space or the end of the line, so that
 * "5.1.1x" or "5.1.1.2" are text. @cls is the reply code's first digit,
 * which the code's class must repeat (RFC 3463 2). */
static size_t reply_enhanced_at(const char *s, size_t n, bool eol, int cls)
{
	size_t i = 0;

	if (cls != 2 && cls != 4 && cls != 5)
		return 0;
	if (n < 5 || s[0] != '0' + cls || s[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t start = i;
		while (i < n && reply_is_digit(s[i]) && i - start < 3)
			i++;
		if (i == start)
			return 0;
		if (part == 0) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i == n)
		return eol ? i : 0;
	return reply_is_wsp(s[i]) ? i : 0;
}

/* reply_size_param - the SIZE parameter at @s (@n octets): 1*20DIGIT
 * (RFC 1870) ending the line or followed by white space; 0 otherwise or
 * when it does not fit 64 bits. */
static uint64_t reply_size_param(const char *s, size_t n, bool eol)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < n && reply_is_digit(s[i])) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
		i++;
	}
	if (i == 0 || (i == n && !eol) || (i < n && !reply_is_wsp(s[i])))
		return 0;
	return v;
}

/* reply_ehlo_keyword - note the EHLO keyword that starts @s (one line's
 * head, @n octets). A keyword that fills the whole head without @eol goes
 * on past it and is none we know. */
static void reply_ehlo_keyword(struct smtp_reply_parser *p, const char *s,
			       size_t n, bool eol)
{
	size_t w = 0;

	while (w < n && !reply_is_wsp(s[w]))
		w++;
	if (w == 0 || (w == n && !eol))
		return;
	for (size_t k = 0; k < REPLY_EXT_COUNT; k++) {
		const char *name = reply_ext_table[k].name;
		size_t i = 0;
		while (i < w && name[i] != '\0' && reply_upper(s[i]) == name[i])
			i++;
		if (i != w || name[i] != '\0')
			continue;
		p->ext |= reply_ext_table[k].bit;
		if (reply_ext_table[k].bit == SMTP_EXT_SIZE) {
			while (w < n && reply_is_wsp(s[w]))
				w++;
			p->size = reply_size_param(s + w, n - w, eol);
		}
		return;
	}
}

/* reply_head_flush - the head of this line is complete (it is full, or
 * the line ended): take the enhanced code and the EHLO keyword from it,
 * then move the rest into the text. */
static void reply_head_flush(struct smtp_reply_parser *p, bool eol)
{
	const char *s = p->head;
	size_t n = p->head_len;
	size_t skip = 0;

	if (p->lines == 0) {
		skip = reply_enhanced_at(s, n, eol, p->code / 100);
		if (skip > 0) {
			memcpy(p->enhanced, s, skip);
			p->enhanced[skip] = '\0';
			p->enhanced_len = skip;
		}
	} else if (p->enhanced_len > 0 && n >= p->enhanced_len &&
		   memcmp(s, p->enhanced, p->enhanced_len) == 0 &&
		   (n == p->enhanced_len ? eol
					 : reply_is_wsp(s[p->enhanced_len]))) {
		/* Gmail repeats "5.1.1" on every line of its 550. */
		skip = p->enhanced_len;
	}
	if (skip > 0)
		while (skip < n && reply_is_wsp(s[skip]))
			skip++;
	if (p->lines > 0 && p->code == 250)
		reply_ehlo_keyword(p, s, n, eol);
	for (size_t i = skip; i < n; i++)
		reply_text_put(p, s[i]);
	p->head_done = true;
}

/* reply_text_octet - one octet of a line's text, made safe for C strings
 * and logs: NUL, other C0 controls except HT, and DEL become '?'. */
static void reply_text_octet(struct smtp_reply_parser *p, unsigned char c)
{
	char s = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;

	if (p->head_done) {
		reply_text_put(p, s);
		return;
	}
	p->head[p->head_len++] = s;
	if (p->head_len == SMTP_REPLY_HEAD_MAX)
		reply_head_flush(p, false);
}

/* reply_line_end - the line is complete; SMTP_REPLY_READY if it was the
 * reply's last. */
static int reply_line_end(struct smtp_reply_parser *p)
{
	if (!p->head_done)
		reply_head_flush(p, true);
	p->lines++;
	if (p->last)
		return SMTP_REPLY_READY;
	reply_line_reset(p);
	return SMTP_REPLY_NEED_MORE;
}

/* reply_step - one octet; READY, NEED_MORE or an error. The bounds are
 * checked first so that no state is reached past them. */
static int reply_step(struct smtp_reply_parser *p, unsigned char c)
{
	if (p->line_len == 0 && p->lines >= SMTP_REPLY_LINES_MAX)
		return SMTP_REPLY_ERR_TOO_MANY_LINES;
	if (++p->total > SMTP_REPLY_MAX)
		return SMTP_REPLY_ERR_TOO_LONG;
	if (++p->line_len > SMTP_REPLY_LINE_MAX)
		return SMTP_REPLY_ERR_LINE_TOO_LONG;

	switch (p->lstate) {
	case LS_CODE:
		/* RFC 5321 4.2: Reply-code = %x32-35 %x30-35 %x30-39; we
		 * accept any second digit, as the meaning is in the first. */
		if (!reply_is_digit((char)c) ||
		    (p->ndigits == 0 && (c < '2' || c > '5')))
			return SMTP_REPLY_ERR_CODE;
		p->line_code = p->line_code * 10 + (c - '0');
		if (++p->ndigits < 3)
			return SMTP_REPLY_NEED_MORE;
		if (p->lines == 0)
			p->code = p->line_code;
		else if (p->line_code != p->code)
			return SMTP_REPLY_ERR_MISMATCH;
		p->lstate = LS_SEP;
		return SMTP_REPLY_NEED_MORE;
	case LS_SEP:
		p->last = c != '-';
		if (c == '-' || c == ' ') {
			p->lstate = LS_TEXT;
			return SMTP_REPLY_NEED_MORE;
		}
		if (c == '\r') {
			p->lstate = LS_CR;
			return SMTP_REPLY_NEED_MORE;
		}
		if (c == '\n')
			return reply_line_end(p);
		return SMTP_REPLY_ERR_SEPARATOR;
	case LS_TEXT:
		if (c == '\r') {
			p->lstate = LS_CR;
			return SMTP_REPLY_NEED_MORE;
		}
		if (c == '\n')
			return reply_line_end(p);
		reply_text_octet(p, c);
		return SMTP_REPLY_NEED_MORE;
	case LS_CR:
		if (c == '\n')
			return reply_line_end(p);
		return SMTP_REPLY_ERR_BARE_CR;
	default:
		fprintf(stderr, "reply_step: bad line state %u\n", p->lstate);
		abort();
	}
}

/* smtp_reply_next - see the header. */
int smtp_reply_next(struct smtp_reply_parser *p, struct smtp_reply *reply)
{
	if (p->err != 0)
		return p->err;
	if (p->handed_out) {
		reply_reset(p);
		p->handed_out = false;
	}
	while (p->in_off < p->in_len) {
		int rc = reply_step(p, (unsigned char)p->in[p->in_off++]);
		if (rc < 0) {
			p->err = rc;
			p->in = NULL;
			p->in_len = p->in_off = 0;
			return rc;
		}
		if (rc == SMTP_REPLY_READY) {
			p->text[p->text_len] = '\0';
			reply->code = p->code;
			memcpy(reply->enhanced, p->enhanced,
			       sizeof(p->enhanced));
			reply->text = p->text;
			reply->text_len = p->text_len;
			reply->truncated = p->truncated;
			reply->lines = p->lines;
			reply->ext = p->ext;
			reply->size = p->size;
			p->handed_out = true;
			return SMTP_REPLY_READY;
		}
	}
	p->in = NULL;
	p->in_len = p->in_off = 0;
	return SMTP_REPLY_NEED_MORE;
}

const char *smtp_reply_strerror(int rc)
{
	if (rc == SMTP_REPLY_NEED_MORE)
		return "need more input";
	if (rc == SMTP_REPLY_READY)
		return "reply ready";
	if (rc < 0 && rc > SMTP_REPLY_ERR_LAST)
		return reply_err_name[-rc];
	return "unknown smtp_reply error";
}

const char *smtp_reply_ext_name(unsigned bit)
{
	for (size_t k = 0; k < REPLY_EXT_COUNT; k++)
		if (reply_ext_table[k].bit == bit)
			return reply_ext_table[k].name;
	return NULL;
}
