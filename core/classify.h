/* classify - turn one SMTP reply into a verdict reason (DESIGN.md
 * "Verdicts"; RFC 5321 4.2, RFC 3463 enhanced status codes, RFC 7504).
 *
 * Input: the stage whose command the reply answers, the reply code, the
 * enhanced status code ("5.1.1", or NULL/"" when absent) and the reply
 * text (all lines joined, enhanced codes taken off, as smtp_reply gives
 * it). Output: an enum verdict_reason, and for a greylisted reason the
 * number of seconds to wait. Pure: the same input gives the same answer.
 *
 * The order of evidence. The enhanced code is the most precise signal
 * when it is specific (x.1.1 is about the recipient address, x.7.x about
 * policy), so it wins over the words of the text; the text decides when
 * the enhanced code is absent or generic (x.0.0, x.1.0, x.4.x, x.5.x, and
 * x.7.x on a 4xx, which servers use for greylisting, throttling and
 * temporary blocks alike); the basic code decides last. Texts match
 * case-insensitively as substrings. Two things come before the enhanced
 * code: the TLS signals, and the reply classes Postfix names when it
 * delays a client, HELO or sender rejection to RCPT time ("Client host
 * rejected", "Helo command rejected", "Sender address rejected") and
 * Exim's "Sender verify failed": those are about us whatever the enhanced
 * code says (Postfix answers an unknown sender with 5.1.0/5.1.1).
 *
 * Rules, in the order applied (first match wins):
 *  0. A code outside 200..599, or a 3xx (no command we send expects one):
 *     protocol_error. Any 2xx: accepted (at RCPT: the mailbox accepts mail,
 *     and the caller decides catch-all; at other stages: go on).
 *     An enhanced code that is malformed or whose class differs from the
 *     code's first digit is ignored.
 *  1. TLS: enhanced x.7.10 or x.7.11 (RFC 5248 "encryption needed"), or
 *     the text names STARTTLS or TLS/encryption as required, or a 530
 *     whose text does not speak of authentication (RFC 3207's 530 "Must
 *     issue a STARTTLS command first"; RFC 4954 reuses 530 for AUTH):
 *     tls_required.
 *  2. RCPT only, 4xx or 5xx: enhanced x.5.3 or "too many recipients":
 *     in_progress. Not a verdict about the address: this transaction is
 *     full, and the caller retries the recipient in a new transaction or
 *     session (RFC 5321 4.5.3.1.10, which also says a 552 here is
 *     temporary).
 *  3. 4xx: explicit greylisting words ("greylist", "graylist", ...):
 *     greylisted.
 *  4. Postfix/Exim client, HELO and sender rejections (above):
 *     policy_rejected.
 *  5. Specific enhanced codes: x.1.7 / x.1.8 (our sender): policy_rejected;
 *     5.7.x: policy_rejected; at RCPT 5.1.1, 5.1.2, 5.1.3, 5.1.4, 5.1.6,
 *     5.1.10: mailbox_not_found (at other stages: policy_rejected, the
 *     address in question is ours); at RCPT 5.2.1: mailbox_disabled, 5.2.2
 *     and 4.2.2: mailbox_full, and 5.4.1 with "recipient address rejected"
 *     (Microsoft 365 Directory-Based Edge Blocking: the recipient does not
 *     exist): mailbox_not_found; 4.4.5 (congestion): rate_limited.
 *  6. 5xx with code 500, 501, 502, 503 or 504 (syntax, unknown command,
 *     bad sequence): protocol_error.
 *  7. Words about our rate or load ("too many connections", "rate limit",
 *     "too quickly", "volume", "throttl", ...): rate_limited.
 *  8. 4xx with "timeout" / "timed out" (the server gave up on us):
 *     timeout.
 *  9. Words about the client or policy ("block", "blacklist", "spamhaus",
 *     "barracuda", "spamcop", "policy", "reputation", "rbl", "dnsbl",
 *     "listed", "banned", "denied", "relay", "not allowed to send",
 *     "spam", "your ip", ...): policy_rejected. Checked before the
 *     mailbox words, so "user unknown (blocked list check passed)" without
 *     an enhanced code is policy_rejected: a wrong "unknown" costs less
 *     than a wrong "mailbox_not_found".
 * 10. RCPT, 5xx: "disabled", "inactive", "suspended", ...:
 *     mailbox_disabled; "mailbox full", "quota", ...: mailbox_full; "user
 *     unknown", "no such user", "mailbox unavailable", "recipient
 *     rejected", "does not exist", "unknown recipient", "invalid
 *     recipient", "address rejected", "mailbox not found", "no mailbox
 *     here by that name", "unrouteable address", ...: mailbox_not_found.
 *     RCPT, 4xx: the mailbox-full words: mailbox_full.
 * 11. 4xx with a word of deferral ("try again", "try later", "temporar",
 *     "defer", ...): greylisted.
 * 12. The basic code. 4xx: 421 (service closing the channel): connect_
 *     failed, the caller tries the next MX host; any other 4xx:
 *     greylisted. A generic temporary failure (Exim's "451 Temporary
 *     local problem") is not greylisting as such, but the taxonomy's only
 *     "come back later" reason is greylisted, and coming back later is
 *     the right action, as Postfix verify(8) keeps any 4xx "deferred" and
 *     retries. 5xx at RCPT: 550, 551, 553 (RFC 5321: mailbox unavailable,
 *     user not local, mailbox name not allowed): mailbox_not_found; 552
 *     (exceeded storage allocation): mailbox_full; 556 (RFC 7504: domain
 *     does not accept mail): no_mail_server; any other 5xx (554
 *     transaction failed, the code of most blocklist rejections):
 *     policy_rejected. 5xx at MAIL, EHLO or the banner: policy_rejected;
 *     a refused MAIL FROM or greeting is about us, never the mailbox.
 *
 * Stages: the steps marked RCPT apply to replies to RCPT TO only; a reply
 * at any other stage (MAIL, EHLO, the banner, and NONE/CONNECT, taken as
 * the greeting read right after connecting) goes through the others.
 *
 * retry_after: set (when @retry_after is not NULL) for every call: 0
 * unless the reason is greylisted; then the delay the text names ("try
 * again in 5 minutes", "Greylisted for 300 seconds", "retry in 60s"),
 * clamped to 1..CLASSIFY_RETRY_MAX, or CLASSIFY_RETRY_DEFAULT.
 *
 * Reasons this can yield: accepted, mailbox_not_found, mailbox_disabled,
 * mailbox_full, no_mail_server, greylisted, timeout, connect_failed,
 * policy_rejected, tls_required, protocol_error, rate_limited,
 * in_progress. Ownership: @enhanced and @text are borrowed for the call.
 * Errors: none (bad input is protocol_error). Loop: none; pure. */
#ifndef RCPTD_CORE_CLASSIFY_H
#define RCPTD_CORE_CLASSIFY_H

#include "core/verdict.h"

/* Postgrey's default delay, and about what most greylisters ask for. */
#define CLASSIFY_RETRY_DEFAULT 300
/* A day: a server naming a longer wait is not greylisting any more. */
#define CLASSIFY_RETRY_MAX 86400

/* classify_reply - the reason for reply (@code, @enhanced, @text) to the
 * command of @stage; see the rules above. @enhanced and @text may be NULL.
 * @retry_after may be NULL. */
enum verdict_reason classify_reply(enum smtp_stage stage, int code,
				   const char *enhanced, const char *text,
				   unsigned *retry_after);

#endif
