/* fuzz_smtp_reply - libFuzzer target for the SMTP reply parser
 * (core/smtp_reply.h) and the dialog it feeds (core/dialog.h): server
 * replies are hostile input.
 *
 * Input: byte 0 picks the mode and the chunk size (its low 7 bits; 0 is
 * the whole input at once).
 *  - bit 7 clear, parser mode: the rest is fed in chunks; every reply must
 *    keep the promises of smtp_reply.h (code 2yz..5yz, enhanced code of
 *    the right shape and class, text a C string of at most
 *    SMTP_REPLY_TEXT_MAX octets with no control octet but HT, 1..
 *    SMTP_REPLY_LINES_MAX lines, keywords only on 250), errors are sticky,
 *    and feeding the same bytes whole and one by one must give the same
 *    replies and the same end.
 *  - bit 7 set, dialog mode: byte 1 sets the config (pipelining, per-
 *    transaction cap, error budget, idle wait, transcript size); the rest
 *    is what the server says, in chunks, to a dialog with five recipients
 *    (one UTF-8, one with CR LF) and more added whenever it idles. Every
 *    output line must be a whole command we send, with no control octet;
 *    the transcript stays within its bound; after a final timeout or close
 *    the dialog is finished and every recipient taken has exactly one
 *    result.
 * Built with libFuzzer by `make fuzz`, and with tests/fuzz/driver.c as a
 * regression test over tests/fuzz/corpus/smtp_reply. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dialog.h"
#include "core/smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* broken - report the broken invariant and abort, so the fuzzer keeps the
 * input and the regression driver fails. */
static void broken(const char *what)
{
	fprintf(stderr, "fuzz_smtp_reply: %s\n", what);
	abort();
}

static void check(int ok, const char *what)
{
	if (!ok)
		broken(what);
}

/* ---- parser mode ------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h;
}

static int digit(char c)
{
	return c >= '0' && c <= '9';
}

/* check_enhanced - "" or class.subject.detail with 1-3 digit parts and
 * the class of the code. */
static void check_enhanced(const char *e, int code)
{
	size_t i = 0;

	if (e[0] == '\0')
		return;
	check(e[0] == '0' + code / 100, "enhanced class differs from code");
	check(e[0] == '2' || e[0] == '4' || e[0] == '5', "enhanced class");
	check(e[1] == '.', "enhanced shape");
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t start = i;
		while (digit(e[i]))
			i++;
		check(i > start && i - start <= 3, "enhanced part length");
		check(e[i] == (part == 0 ? '.' : '\0'), "enhanced shape");
		i++;
	}
}

/* reply_hash - check one reply's promises; its fingerprint. */
static uint64_t reply_hash(const struct smtp_reply *r)
{
	uint64_t h = 1469598103934665603ull;
	const unsigned known = SMTP_EXT_PIPELINING | SMTP_EXT_STARTTLS |
			       SMTP_EXT_SIZE | SMTP_EXT_SMTPUTF8 |
			       SMTP_EXT_8BITMIME |
			       SMTP_EXT_ENHANCEDSTATUSCODES | SMTP_EXT_CHUNKING;

	check(r->code >= 200 && r->code <= 599, "code out of range");
	check(memchr(r->enhanced, '\0', sizeof(r->enhanced)) != NULL,
	      "enhanced not terminated");
	check_enhanced(r->enhanced, r->code);
	check(r->text_len <= SMTP_REPLY_TEXT_MAX, "text too long");
	check(strlen(r->text) == r->text_len, "text length");
	for (size_t i = 0; i < r->text_len; i++) {
		unsigned char c = (unsigned char)r->text[i];
		check(c == '\t' || (c >= 0x20 && c != 0x7f), "control in text");
	}
	check(!r->truncated || r->text_len == SMTP_REPLY_TEXT_MAX,
	      "truncated short text");
	check(r->lines >= 1 && r->lines <= SMTP_REPLY_LINES_MAX, "lines");
	check((r->ext & ~known) == 0, "unknown ext bit");
	check(r->ext == 0 || r->code == 250, "ext outside 250");
	check(r->size == 0 || (r->ext & SMTP_EXT_SIZE), "size without SIZE");
	check(r->ext == 0 || r->lines > 1, "ext on a one-line reply");

	h = fnv(h, &r->code, sizeof(r->code));
	h = fnv(h, r->enhanced, strlen(r->enhanced) + 1);
	h = fnv(h, r->text, r->text_len + 1);
	h = fnv(h, &r->lines, sizeof(r->lines));
	h = fnv(h, &r->ext, sizeof(r->ext));
	h = fnv(h, &r->size, sizeof(r->size));
	return fnv(h, &r->truncated, sizeof(r->truncated));
}

/* parse - feed @data in chunks of @chunk (0: whole); the fingerprints of
 * the replies go to @out (room for @max); returns the final value. */
static int parse(const uint8_t *data, size_t size, size_t chunk, uint64_t *out,
		 size_t max, size_t *n)
{
	struct smtp_reply_parser p;
	struct smtp_reply r;
	size_t off = 0;
	int rc = SMTP_REPLY_NEED_MORE;

	smtp_reply_init(&p);
	*n = 0;
	if (chunk == 0)
		chunk = size ? size : 1;
	while (off < size) {
		size_t k = size - off < chunk ? size - off : chunk;
		smtp_reply_feed(&p, (const char *)data + off, k);
		off += k;
		while ((rc = smtp_reply_next(&p, &r)) == SMTP_REPLY_READY) {
			check(*n < max, "more replies than possible");
			out[(*n)++] = reply_hash(&r);
		}
		if (rc < 0)
			break;
	}
	if (rc < 0) { /* sticky, even with more input */
		check(rc > SMTP_REPLY_ERR_LAST, "unknown error");
		check(smtp_reply_next(&p, &r) == rc, "error not sticky");
		smtp_reply_feed(&p, "250 ok\r\n", 8);
		check(smtp_reply_next(&p, &r) == rc, "error not sticky");
	}
	return rc;
}

static void parser_mode(const uint8_t *data, size_t size, size_t chunk)
{
	/* the shortest reply is "200\n": 4 octets */
	size_t max = size / 4 + 1, na, nb, nc;
	uint64_t *a = malloc(max * sizeof(*a));
	uint64_t *b = malloc(max * sizeof(*b));
	uint64_t *c = malloc(max * sizeof(*c));
	int ra, rb, rcc;

	if (a == NULL || b == NULL || c == NULL)
		broken("out of memory");
	ra = parse(data, size, chunk, a, max, &na);
	rb = parse(data, size, 0, b, max, &nb);
	rcc = parse(data, size, 1, c, max, &nc);
	check(ra == rb && rb == rcc, "final value depends on chunking");
	check(na == nb && nb == nc, "reply count depends on chunking");
	check(memcmp(a, b, na * sizeof(*a)) == 0 &&
		  memcmp(b, c, nb * sizeof(*b)) == 0,
	      "replies depend on chunking");
	free(a);
	free(b);
	free(c);
}

/* ---- dialog mode ------------------------------------------------------- */

static const char *const rcpts[] = {
    "a@example.net",	   "b@example.net", "j\xc3\xb6rg@example.de",
    "bad\r\n@example.net", "c@example.net",
};
static const char *const extra[] = {"d@example.net", "e@example.net",
				    "f@example.net"};

/* check_output - whole command lines, CRLF-terminated, no control octet
 * anywhere else: nothing from a recipient can start a command. */
static void check_output(const char *o, size_t n)
{
	static const char *const verbs[] = {"EHLO ",	 "HELO ", "MAIL FROM:<",
					    "RCPT TO:<", "RSET",  "QUIT"};
	size_t start = 0;

	while (start < n) {
		const char *lf = memchr(o + start, '\n', n - start);
		size_t len, v;

		check(lf != NULL, "output ends inside a line");
		len = (size_t)(lf - (o + start));
		check(len >= 1 && o[start + len - 1] == '\r', "LF without CR");
		for (size_t i = start; i < start + len - 1; i++)
			check((unsigned char)o[i] >= 0x20 &&
				  (unsigned char)o[i] != 0x7f,
			      "control octet in a command");
		for (v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++)
			if (strncmp(o + start, verbs[v], strlen(verbs[v])) == 0)
				break;
		check(v < sizeof(verbs) / sizeof(verbs[0]), "unknown command");
		check(len + 1 <= 512, "command line over 512 octets");
		start += len + 1;
	}
}

/* after_event - drain and check the output (in two parts, as a partial
 * write would) and the state. */
static void after_event(struct dialog *d, int rc, size_t ts_max)
{
	const char *o, *ts;
	size_t n = dialog_output(d, &o);

	check(rc >= DIALOG_RC_CONTINUE && rc <= DIALOG_RC_DONE, "bad rc");
	check((rc == DIALOG_RC_DONE) == dialog_finished(d), "rc and state");
	check_output(o, n);
	dialog_output_consumed(d, n / 3);
	n = dialog_output(d, &o);
	dialog_output_consumed(d, n);
	check(dialog_transcript(d, &ts) <= ts_max, "transcript too long");
	check(strlen(ts) == dialog_transcript(d, &ts), "transcript NUL");
	check(dialog_memory(d) < 48 * 1024, "dialog memory");
	check(dialog_finished(d) == (dialog_state(d) == DIALOG_DONE),
	      "finished");
}

static void dialog_mode(const uint8_t *data, size_t size, size_t chunk)
{
	struct dialog_config cfg;
	struct dialog *d;
	struct dialog_result res;
	unsigned taken = 0, results = 0, more = 0;
	uint8_t conf = size > 0 ? data[0] : 0;
	size_t off = 0;
	int rc;

	if (size > 0) {
		data++;
		size--;
	}
	dialog_config_default(&cfg);
	cfg.helo = "verifier.example.org";
	cfg.mail_from = conf & 0x80 ? "verify@example.org" : "";
	cfg.pipelining = conf & 1;
	cfg.rcpt_per_txn = 1 + ((conf >> 1) & 3);
	cfg.errors_max = (conf >> 3) & 3;
	cfg.idle_ms = conf & 0x20 ? 1000 : 0;
	cfg.transcript_max = conf & 0x40 ? 64 : DIALOG_TRANSCRIPT_MAX;
	d = dialog_new(&cfg);
	if (d == NULL)
		broken("dialog_new");
	for (size_t i = 0; i < sizeof(rcpts) / sizeof(rcpts[0]); i++)
		if (dialog_add_rcpt(d, rcpts[i], NULL) >= 0)
			taken++;
	after_event(d, dialog_on_connected(d), cfg.transcript_max);
	if (chunk == 0)
		chunk = size ? size : 1;
	while (off < size && !dialog_finished(d)) {
		size_t k = size - off < chunk ? size - off : chunk;
		rc = dialog_on_bytes(d, (const char *)data + off, k);
		off += k;
		after_event(d, rc, cfg.transcript_max);
		if (dialog_state(d) == DIALOG_IDLE && more < 3) {
			rc = dialog_add_rcpt(d, extra[more++], NULL);
			check(rc >= 0, "idle dialog refused a recipient");
			taken++;
			after_event(d, rc, cfg.transcript_max);
		}
		while (dialog_next_result(d, &res))
			results++;
	}
	/* the end: a timer fires (QUIT from idle, then its wait), then the
	 * peer closes */
	for (int i = 0; i < 2 && !dialog_finished(d); i++)
		after_event(d, dialog_on_timeout(d), cfg.transcript_max);
	after_event(d, dialog_on_closed(d), cfg.transcript_max);
	check(dialog_finished(d), "not finished after close");
	check(dialog_pending(d) == 0, "recipients left pending");
	check(dialog_add_rcpt(d, "z@example.net", NULL) == DIALOG_ERR_CLOSED,
	      "finished dialog took a recipient");
	while (dialog_next_result(d, &res)) {
		check(res.text != NULL, "result without text");
		check(res.status < DIALOG_RCPT_STATUS_LAST, "result status");
		check(res.status != DIALOG_RCPT_REPLIED ||
			  (res.stage == SMTP_STAGE_RCPT && res.code >= 200 &&
			   res.code <= 599),
		      "replied without a reply");
		check(strcmp(res.address, "bad\r\n@example.net") != 0 ||
			  res.status == DIALOG_RCPT_REFUSED,
		      "CR LF recipient not refused");
		results++;
	}
	check(results == taken, "a recipient without exactly one result");
	dialog_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 0x80)
		dialog_mode(data + 1, size - 1, data[0] & 0x7f);
	else
		parser_mode(data + 1, size - 1, data[0] & 0x7f);
	return 0;
}
