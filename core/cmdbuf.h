/* cmdbuf - the bounded output queue of an SMTP client: command lines
 * waiting for the socket, in the order written (RFC 5321 4.1.1; RFC 2920
 * lets a client queue a group of them).
 *
 * The line writer is the last guard before the wire. A command is
 * "prefix parameter suffix CRLF"; the parameter is the part that came
 * from elsewhere (an address, a sender, a HELO name), and when it holds a
 * control octet (C0 or DEL: CR or LF above all, which would end the
 * command and start another of the sender's choosing; NUL, which servers
 * read in surprising ways) nothing is written. The prefix and suffix are
 * the caller's literals.
 *
 * Limits: the queue never holds more than the max given to cmdbuf_init()
 * (the dialog's DIALOG_OUTPUT_MAX); a line that does not fit is refused
 * whole. The buffer is allocated on the first line, grows by doubling from
 * CMDBUF_INITIAL, and is freed when everything was consumed, so an idle
 * session holds no output memory.
 * Ownership: struct cmdbuf is embedded in its user's object and set up by
 * cmdbuf_init(); cmdbuf_release() frees its buffer. What cmdbuf_peek()
 * and cmdbuf_line() hand out is borrowed until the next call that writes
 * or consumes.
 * Errors: cmdbuf_line() returns CMDBUF_OK or a negative enum cmdbuf_rc;
 * cmdbuf_consume() returns -1 when asked to consume more than is queued.
 * Loop: none; pure. */
#ifndef RCPTD_CORE_CMDBUF_H
#define RCPTD_CORE_CMDBUF_H

#include <stdbool.h>
#include <stddef.h>

/* First allocation: one command line of the largest size RFC 5321
 * 4.5.3.1.4 allows (512 octets with CRLF). */
#define CMDBUF_INITIAL 512

enum cmdbuf_rc {
	CMDBUF_OK = 0,
	CMDBUF_REFUSED = -1, /* a control octet in the parameter */
	CMDBUF_NOROOM = -2   /* past the max, or out of memory */
};

/* A realloc-style allocator (lua_Alloc): size 0 frees @ptr and returns
 * NULL. The same shape as dialog_alloc_fn, so a dialog passes its own. */
typedef void *(*cmdbuf_alloc_fn)(void *ud, void *ptr, size_t size);

struct cmdbuf {
	char *buf;  /* queued octets are buf[off..len) */
	size_t off; /* consumed from the front */
	size_t len;
	size_t cap;
	size_t max; /* octets queued at most */
	cmdbuf_alloc_fn alloc;
	void *alloc_ud;
};

/* cmdbuf_init - an empty queue of at most @max octets, allocating with
 * @alloc (NULL: malloc/realloc/free). */
void cmdbuf_init(struct cmdbuf *b, size_t max, cmdbuf_alloc_fn alloc,
		 void *alloc_ud);

/* cmdbuf_release - drop whatever is queued and free the buffer. */
void cmdbuf_release(struct cmdbuf *b);

/* cmdbuf_param_ok - true when @s (@n octets) holds no control octet and
 * may be a command's parameter. */
bool cmdbuf_param_ok(const char *s, size_t n);

/* cmdbuf_line - queue "@pre @param @post CRLF" (@pre and @post are C
 * strings, @param is @plen octets). On CMDBUF_OK, when @line is not
 * NULL, *@line and *@len give the line as queued without its CRLF (for a
 * transcript). CMDBUF_REFUSED or CMDBUF_NOROOM: nothing was queued. */
int cmdbuf_line(struct cmdbuf *b, const char *pre, const char *param,
		size_t plen, const char *post, const char **line, size_t *len);

/* cmdbuf_peek - the queued octets, borrowed; returns their count (0 and
 * "" when none). */
size_t cmdbuf_peek(const struct cmdbuf *b, const char **out);

/* cmdbuf_consume - @n of the queued octets were sent. Returns 0, or -1
 * (nothing consumed) when fewer than @n are queued. */
int cmdbuf_consume(struct cmdbuf *b, size_t n);

/* cmdbuf_memory - heap octets held (the buffer's capacity). */
size_t cmdbuf_memory(const struct cmdbuf *b);

#endif
