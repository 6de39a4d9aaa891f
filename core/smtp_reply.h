/* smtp_reply - incremental SMTP reply parser (RFC 5321 4.2, RFC 3463).
 *
 * Purpose: turn the bytes an SMTP server sends into complete replies, in
 * any chunking: smtp_reply_feed(p, buf, len), then smtp_reply_next(p, &r)
 * until it returns SMTP_REPLY_NEED_MORE (hiredis' reader, OpenSMTPD's
 * rfc5322_push/next). No allocation, no I/O, no clock.
 *
 * Security: server replies are hostile input (OpenSMTPD CVE-2020-8794 was
 * a bug in exactly this reader). The parser is a byte-at-a-time state
 * machine whose memory is fixed (sizeof(struct smtp_reply_parser), about
 * 0.7 KiB) whatever the server sends: it never stores a whole line, only
 * the first SMTP_REPLY_HEAD_MAX octets of each (for the enhanced code and
 * the EHLO keyword) and the first SMTP_REPLY_TEXT_MAX octets of the text.
 * Line length, reply size and line count are bounded; going past a bound
 * is an error, so an endless multi-line reply ends in an error, not in
 * memory growth.
 *
 * Grammar accepted (RFC 5321 4.2, 4.2.1), line by line:
 *   line = code ( "-" text / SP text / "" ) EOL
 *   code = %x32-35 DIGIT DIGIT          ; 2yz..5yz; 1yz is not SMTP
 *   EOL  = CRLF / LF                    ; Robustness: bare LF is accepted,
 *                                       ; some servers send it
 * "-" continues the reply; SP or an immediate EOL ("250" alone) ends it.
 * Every line of a reply must carry the first line's code. A CR that is not
 * followed by LF is an error.
 *
 * What a reply gives (struct smtp_reply):
 *  - code: 200..599.
 *  - enhanced: the RFC 3463 status code "class.subject.detail" (class 2, 4
 *    or 5 and equal to the reply code's first digit, subject and detail of
 *    1-3 digits) when the first line's text starts with one followed by
 *    white space or the end of the line; "" otherwise.
 *  - text: the text of all lines joined with one space (a reply read by a
 *    person is one sentence wrapped over lines, as Gmail's 550-5.1.1 is).
 *    The enhanced code is not part of the text: it is taken off the first
 *    line, and off every later line that repeats it, together with the
 *    white space that follows it. Control octets (C0 other than HT, and
 *    DEL; NUL included) become '?', so the text is a C string that is safe
 *    to log. Octets >= 0x80 are kept as they came (RFC 6531 servers send
 *    UTF-8; verdict_copy_text() repairs invalid sequences). The text is cut
 *    at SMTP_REPLY_TEXT_MAX octets (possibly inside a UTF-8 sequence) and
 *    `truncated` says so.
 *  - lines: the number of lines.
 *  - ext, size: for a 250 reply, the EHLO keywords found at the start of
 *    lines 2.. (RFC 5321 4.1.1.1: line 1 is the server's name), case-
 *    insensitively (RFC 5321 2.4), as SMTP_EXT_* bits, and the SIZE
 *    parameter (RFC 1870; 0 when absent or not a number). The parser does
 *    not know which command a reply answers; the caller reads these fields
 *    for an EHLO reply only.
 *
 * Ownership: smtp_reply_feed() borrows @buf until smtp_reply_next() has
 * returned SMTP_REPLY_NEED_MORE or an error; feeding again before that is
 * a caller bug and aborts. The text of a reply returned by
 * smtp_reply_next() is borrowed until the next smtp_reply_next() or
 * smtp_reply_init() on the same parser.
 *
 * Errors: smtp_reply_next() returns SMTP_REPLY_READY (1), NEED_MORE (0) or
 * a negative enum smtp_reply_err. Errors are sticky: an SMTP stream that
 * broke the grammar cannot be resynchronised, so every later call returns
 * the same error until smtp_reply_init().
 * Loop: none; pure. */
#ifndef RCPTD_CORE_SMTP_REPLY_H
#define RCPTD_CORE_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds. RFC 5321 4.5.3.1.5 allows 512 octets per reply line (code and
 * CRLF included); servers exceed it with long policy URLs, so we allow
 * four times that. Nothing is stored per line beyond the head, so the
 * bound costs no memory: it only ends a stream that never sends LF. */
#define SMTP_REPLY_LINE_MAX 2048
/* A whole reply: the longest real ones are multi-line banners with ASCII
 * art (a few KiB). 64 KiB is read at most before giving up. */
#define SMTP_REPLY_MAX (64 * 1024)
/* Lines per reply: EHLO replies have 5-20 lines, Gmail's 550 has 4. */
#define SMTP_REPLY_LINES_MAX 128
/* Text kept for people: as much as a verdict shows (VERDICT_REPLY_MAX). */
#define SMTP_REPLY_TEXT_MAX 512
/* The head of each line kept for the enhanced code (at most 9 octets,
 * "5.123.456") and an EHLO keyword with its parameter ("SIZE 35882577"). */
#define SMTP_REPLY_HEAD_MAX 64
/* "5.123.456" and NUL fit; the same size as verdict's enhanced[]. */
#define SMTP_REPLY_ENHANCED_MAX 16

#define SMTP_REPLY_NEED_MORE 0 /* every fed octet is consumed */
#define SMTP_REPLY_READY     1 /* *reply holds a complete reply */

enum smtp_reply_err {
	SMTP_REPLY_ERR_CODE = -1,	    /* not a 3-digit code 2yz..5yz */
	SMTP_REPLY_ERR_SEPARATOR = -2,	    /* code not followed by - SP EOL */
	SMTP_REPLY_ERR_MISMATCH = -3,	    /* a line with another code */
	SMTP_REPLY_ERR_BARE_CR = -4,	    /* CR not followed by LF */
	SMTP_REPLY_ERR_LINE_TOO_LONG = -5,  /* > SMTP_REPLY_LINE_MAX */
	SMTP_REPLY_ERR_TOO_LONG = -6,	    /* > SMTP_REPLY_MAX */
	SMTP_REPLY_ERR_TOO_MANY_LINES = -7, /* > SMTP_REPLY_LINES_MAX */
	SMTP_REPLY_ERR_LAST = -8
};

/* EHLO keywords (RFC 5321 4.1.1.1, the extensions' RFCs). */
#define SMTP_EXT_PIPELINING	     0x01u /* RFC 2920 */
#define SMTP_EXT_STARTTLS	     0x02u /* RFC 3207 */
#define SMTP_EXT_SIZE		     0x04u /* RFC 1870 */
#define SMTP_EXT_SMTPUTF8	     0x08u /* RFC 6531 */
#define SMTP_EXT_8BITMIME	     0x10u /* RFC 6152 */
#define SMTP_EXT_ENHANCEDSTATUSCODES 0x20u /* RFC 2034 */
#define SMTP_EXT_CHUNKING	     0x40u /* RFC 3030 */

struct smtp_reply {
	int code;				/* 200..599 */
	char enhanced[SMTP_REPLY_ENHANCED_MAX]; /* "5.1.1" or "" */
	const char *text;			/* borrowed, see above */
	size_t text_len;			/* strlen(text) */
	bool truncated;				/* text was cut */
	unsigned lines;				/* 1..SMTP_REPLY_LINES_MAX */
	unsigned ext;				/* SMTP_EXT_* of a 250 reply */
	uint64_t size;				/* SIZE parameter, 0: none */
};

/* The parser's state. Its fields are private: embed it, init it, and use
 * the functions below. */
struct smtp_reply_parser {
	const char *in; /* borrowed input, see smtp_reply_feed() */
	size_t in_len;
	size_t in_off;
	int err;	 /* sticky error, 0 while none */
	bool handed_out; /* the last reply was returned: reset before use */

	/* the line being read */
	unsigned lstate;   /* where in the line grammar we are */
	int line_code;	   /* its code as read so far */
	unsigned ndigits;  /* code digits read */
	bool last;	   /* this line ends the reply */
	size_t line_len;   /* octets of this line, EOL included */
	bool head_done;	   /* head processed; text goes straight on */
	size_t head_len;   /* octets in head */
	bool line_started; /* a text octet of this line was kept */
	char head[SMTP_REPLY_HEAD_MAX];

	/* the reply being read */
	int code; /* first line's code; 0 before it is complete */
	unsigned lines;
	size_t total; /* octets of this reply so far */
	char enhanced[SMTP_REPLY_ENHANCED_MAX];
	size_t enhanced_len;
	unsigned ext;
	uint64_t size;
	size_t text_len;
	bool truncated;
	char text[SMTP_REPLY_TEXT_MAX + 1];
};

/* smtp_reply_init - a parser with no input and no error. */
void smtp_reply_init(struct smtp_reply_parser *p);

/* smtp_reply_feed - offer @len octets at @buf; borrowed until
 * smtp_reply_next() returns NEED_MORE or an error. */
void smtp_reply_feed(struct smtp_reply_parser *p, const char *buf, size_t len);

/* smtp_reply_next - parse fed octets until a reply is complete (READY,
 * *reply written), the input is used up (NEED_MORE) or the grammar or a
 * bound is broken (negative enum smtp_reply_err, sticky). */
int smtp_reply_next(struct smtp_reply_parser *p, struct smtp_reply *reply);

/* smtp_reply_strerror - a short English name for a return value of
 * smtp_reply_next() ("code is not 3 digits"); never NULL. */
const char *smtp_reply_strerror(int rc);

/* smtp_reply_ext_name - the keyword of one SMTP_EXT_* bit ("PIPELINING"),
 * NULL for anything else. */
const char *smtp_reply_ext_name(unsigned bit);

#endif
