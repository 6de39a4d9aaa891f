/* transcript - the bounded record of one SMTP session, for the person who
 * debugs it: "C: " lines for what the client sent, "S: " lines for what
 * the server sent, each ending in LF (curl's protocol logs, Postfix's
 * "smtp_debug" lines).
 *
 * Server octets are hostile and arrive in any chunking. CR is dropped,
 * every other control octet (C0 but LF, and DEL) is written as \xNN, and
 * a server line stays open across calls until its LF, so the record is
 * one printable line per protocol line whatever the chunking. A client
 * line written while a server line is open starts a line of its own.
 * Client lines are the caller's own commands, already refused by the line
 * writer when they hold a control octet (core/cmdbuf.h), and are copied
 * as they are.
 *
 * Limits: the record never passes the max given to transcript_init()
 * (TRANSCRIPT_MIN.. any size; 0 disables it). Whatever would pass it is
 * cut, and the record then ends with the line TRANSCRIPT_MARK; nothing
 * more goes in. The buffer grows by doubling from TRANSCRIPT_INITIAL, so
 * a short session holds a short buffer. Out of memory ends the record
 * where it is, without the mark: the session it records matters more.
 *
 * Ownership: struct transcript is embedded in its user's object and set
 * up by transcript_init(); transcript_release() frees its buffer. The
 * text from transcript_text() is borrowed until the next write or the
 * release. Errors: writes never fail (see Limits); transcript_init()
 * refuses a max below TRANSCRIPT_MIN. Loop: none; pure. */
#ifndef RCPTD_CORE_TRANSCRIPT_H
#define RCPTD_CORE_TRANSCRIPT_H

#include <stdbool.h>
#include <stddef.h>

/* The record's last line when it was cut. */
#define TRANSCRIPT_MARK	    "[truncated]\n"
#define TRANSCRIPT_MARK_LEN (sizeof(TRANSCRIPT_MARK) - 1)
/* Smallest useful record: the mark and a line or two. */
#define TRANSCRIPT_MIN 64
/* First allocation: the record of a short session. */
#define TRANSCRIPT_INITIAL 256

/* A realloc-style allocator (lua_Alloc): size 0 frees @ptr and returns
 * NULL. The same shape as dialog_alloc_fn, so a dialog passes its own. */
typedef void *(*transcript_alloc_fn)(void *ud, void *ptr, size_t size);

struct transcript {
	char *buf;    /* NUL-terminated; NULL until the first write */
	size_t len;   /* octets in buf, NUL not counted */
	size_t cap;   /* octets allocated */
	size_t max;   /* 0: disabled */
	bool full;    /* cut or out of memory: nothing more goes in */
	bool midline; /* a server line is open */
	transcript_alloc_fn alloc;
	void *alloc_ud;
};

/* transcript_init - an empty record of at most @max octets (0: none
 * kept), allocating with @alloc (NULL: malloc/realloc/free). Returns 0,
 * or -1 when @max is not 0 and below TRANSCRIPT_MIN (@t is then a
 * disabled record). */
int transcript_init(struct transcript *t, size_t max, transcript_alloc_fn alloc,
		    void *alloc_ud);

/* transcript_release - free the buffer; @t is then an empty record that
 * may be written again. */
void transcript_release(struct transcript *t);

/* transcript_client - the line the client sent (@n octets, without its
 * CRLF) as "C: line". */
void transcript_client(struct transcript *t, const char *line, size_t n);

/* transcript_server - @n octets the server sent, in any chunking, as
 * "S: " lines (see above). */
void transcript_server(struct transcript *t, const char *data, size_t n);

/* transcript_text - the record so far, borrowed; returns its length (0
 * and "" when nothing was kept). */
size_t transcript_text(const struct transcript *t, const char **out);

/* transcript_memory - heap octets held (the buffer's capacity). */
size_t transcript_memory(const struct transcript *t);

#endif
