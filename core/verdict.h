/* verdict - the answer rcptd gives about one address (DESIGN.md "Verdicts").
 *
 * A verdict is a status (what callers act on) and a reason (why). Every
 * reason belongs to exactly one status, so the status is derived from the
 * reason and the two can never disagree: verdict_set() is the only writer.
 *
 * Ownership: struct verdict is plain data with fixed-size fields; it owns
 * no pointers, so it can be copied with '=' and freed with its container.
 * Limits: every text field is bounded by the constants below; writers
 * truncate (on a UTF-8 boundary) rather than overflow.
 * Loop: none; pure data and pure functions. */
#ifndef RCPTD_CORE_VERDICT_H
#define RCPTD_CORE_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum verdict_status {
	VERDICT_UNKNOWN = 0,
	VERDICT_DELIVERABLE,
	VERDICT_UNDELIVERABLE,
	VERDICT_RISKY,
	VERDICT_STATUS_LAST
};

/* The reasons of DESIGN.md, in its table's order. */
enum verdict_reason {
	REASON_ACCEPTED = 0,
	REASON_INVALID_SYNTAX,
	REASON_NO_SUCH_DOMAIN,
	REASON_NULL_MX,
	REASON_NO_MAIL_SERVER,
	REASON_MAILBOX_NOT_FOUND,
	REASON_MAILBOX_DISABLED,
	REASON_CATCH_ALL,
	REASON_MAILBOX_FULL,
	REASON_DISPOSABLE,
	REASON_GREYLISTED,
	REASON_TIMEOUT,
	REASON_CONNECT_FAILED,
	REASON_POLICY_REJECTED,
	REASON_TLS_REQUIRED,
	REASON_PROTOCOL_ERROR,
	REASON_BLOCKED_TARGET,
	REASON_RATE_LIMITED,
	REASON_DNS_ERROR,
	REASON_IN_PROGRESS,
	REASON_NOT_CHECKED,
	REASON_LAST
};

/* The SMTP stage that decided a verdict (DESIGN.md "smtp.stage"). */
enum smtp_stage {
	SMTP_STAGE_NONE = 0, /* no SMTP conversation took place */
	SMTP_STAGE_CONNECT,
	SMTP_STAGE_BANNER,
	SMTP_STAGE_EHLO,
	SMTP_STAGE_MAIL,
	SMTP_STAGE_RCPT,
	SMTP_STAGE_LAST
};

/* A tri-state for flags that may be undetermined (catch_all: null). */
enum tristate { TRI_UNKNOWN = 0, TRI_FALSE, TRI_TRUE };

/* Bounds. The email echo is bounded because callers may send anything;
 * 320 octets covers every valid address with room for a display of why an
 * over-long one was refused. Reply text beyond 512 octets adds nothing a
 * person reads and is cut. */
#define VERDICT_EMAIL_MAX   320 /* the input as given (echo), octets */
#define VERDICT_ADDRESS_MAX 254 /* RFC 5321 4.5.3.1.3 path minus <> */
#define VERDICT_DOMAIN_MAX  253 /* RFC 1035 text form, no final dot */
#define VERDICT_HOST_MAX    253
#define VERDICT_MESSAGE_MAX 200 /* invalid_syntax explanation */
#define VERDICT_REPLY_MAX   512 /* smtp.message */
#define VERDICT_MX_MAX	    5	/* MX hosts reported (MTAs try 5) */
#define VERDICT_IP_MAX	    46	/* INET6_ADDRSTRLEN */

struct verdict_mx {
	char host[VERDICT_HOST_MAX + 1];
	unsigned preference;
};

struct verdict_smtp {
	bool present; /* false: no "smtp" object */
	char host[VERDICT_HOST_MAX + 1];
	char ip[VERDICT_IP_MAX];
	enum smtp_stage stage;
	int code;	   /* 0 when no reply was read */
	char enhanced[16]; /* "5.1.1", empty when absent */
	char message[VERDICT_REPLY_MAX + 1];
	bool tls; /* STARTTLS offered */
};

struct verdict {
	char email[VERDICT_EMAIL_MAX + 1]; /* input echo, valid UTF-8 */
	bool email_truncated;
	char
	    address[VERDICT_ADDRESS_MAX + 1]; /* normalised; empty if invalid */
	char domain[VERDICT_DOMAIN_MAX + 3];  /* A-label or "[literal]" */
	enum verdict_status status;	      /* derived from reason */
	enum verdict_reason reason;
	char message[VERDICT_MESSAGE_MAX + 1]; /* why, for invalid_syntax */

	struct verdict_mx mx[VERDICT_MX_MAX];
	unsigned mx_count;

	enum tristate catch_all;
	bool disposable;
	bool free_provider;
	bool role_account;
	char suggestion[VERDICT_ADDRESS_MAX + 1]; /* empty: null */

	struct verdict_smtp smtp;
	unsigned retry_after; /* seconds; 0: absent */

	bool cached;
	int64_t checked_at; /* Unix seconds, UTC */
	uint32_t duration_ms;
};

/* verdict_init - an empty verdict for the input @email of @len octets.
 * The echo is stored as valid UTF-8 (invalid bytes become U+FFFD) and cut
 * at VERDICT_EMAIL_MAX octets. Reason starts as not_checked. */
void verdict_init(struct verdict *v, const char *email, size_t len);

/* verdict_set - set the reason, and with it the status. */
void verdict_set(struct verdict *v, enum verdict_reason reason);

/* verdict_reason_status - the status a reason belongs to. */
enum verdict_status verdict_reason_status(enum verdict_reason reason);

/* Names as they appear in JSON and CSV; NULL for an out-of-range value. */
const char *verdict_status_name(enum verdict_status status);
const char *verdict_reason_name(enum verdict_reason reason);
const char *smtp_stage_name(enum smtp_stage stage);

/* Inverse lookups; -1 when the name is not known. */
int verdict_status_from_name(const char *name);
int verdict_reason_from_name(const char *name);

/* verdict_copy_text - copy @src (@len octets) into @dst of @size octets as
 * valid UTF-8: invalid sequences and NUL become U+FFFD; other C0 controls
 * and DEL are kept when @keep_controls (the JSON encoder escapes them, so a
 * caller sees the CR it sent) and become U+FFFD otherwise (text from a
 * remote server). The copy is cut on a character boundary. Returns true
 * when all of @src fitted. Always NUL-terminates (@size > 0). */
bool verdict_copy_text(char *dst, size_t size, const char *src, size_t len,
		       bool keep_controls);

#endif
