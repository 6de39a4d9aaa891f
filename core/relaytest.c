/* relaytest - the open-relay audit's forms and judgement (see
 * relaytest.h). */
#include "core/relaytest.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/netpolicy.h"

/* "[IPv6:" + the longest IPv6 text (45) + "]" and NUL. */
#define LITERAL_MAX 54

/* How a form is written: templates in which {S} is the server domain,
 * {L} its address literal, {O} the outside domain and {F} the sender of
 * the recipient tests. */
struct form_spec {
	const char *key;
	const char *name;
	const char *from;
	const char *to;
};

#define R RELAYTEST_RCPT_LOCAL
#define P RELAYTEST_SENDER_LOCAL
static const struct form_spec specs[RELAYTEST_FORMS] = {
    /* senders that badly configured servers trusted */
    {"plain", "plain", P "@{O}", R "@{O}"},
    {"unqualified_sender", "unqualified sender", P, R "@{O}"},
    {"null_sender", "null sender", "", R "@{O}"},
    {"sender_server_domain", "sender at server domain", P "@{S}", R "@{O}"},
    {"sender_server_ip", "sender at server address", P "@{L}", R "@{O}"},
    {"empty_domain_sender", "empty-domain sender", P "@", R "@{O}"},
    /* recipients that badly configured servers took for local ones */
    {"percent_hack", "percent hack", "{F}", R "%{O}@{S}"},
    {"percent_hack_ip", "percent hack at address", "{F}", R "%{O}@{L}"},
    {"percent_unqualified", "unqualified percent hack", "{F}", R "%{O}"},
    {"double_at", "double @", "{F}", R "@{O}@{S}"},
    {"double_at_ip", "double @ at address", "{F}", R "@{O}@{L}"},
    {"quoted", "quoted", "{F}", "\"" R "@{O}\""},
    {"quoted_percent", "quoted percent hack", "{F}", "\"" R "%{O}\""},
    {"quoted_server_domain", "quoted at server domain", "{F}",
     "\"" R "@{O}\"@{S}"},
    {"quoted_server_ip", "quoted at server address", "{F}",
     "\"" R "@{O}\"@{L}"},
    {"source_route", "source route", "{F}", "@{S}:" R "@{O}"},
    {"source_route_ip", "source route via address", "{F}", "@{L}:" R "@{O}"},
    {"bang_path", "bang path", "{F}", "{O}!" R},
    {"bang_path_server_domain", "bang path at server domain", "{F}",
     "{O}!" R "@{S}"},
    {"bang_path_server_ip", "bang path at server address", "{F}",
     "{O}!" R "@{L}"},
};
#undef R
#undef P

/* The values of a template's letters. */
struct form_args {
	const char *s, *l, *o, *f;
};

/* expand - template @t into @out; false when the result would be longer
 * than ADDRESS_MAX octets. */
static bool expand(char out[ADDRESS_MAX + 1], const char *t,
		   const struct form_args *a)
{
	size_t k = 0;

	while (*t != '\0') {
		const char *v = NULL;
		size_t n;
		if (t[0] == '{' && t[1] != '\0' && t[2] == '}') {
			v = t[1] == 'S'	  ? a->s
			    : t[1] == 'L' ? a->l
			    : t[1] == 'O' ? a->o
					  : a->f;
			t += 3;
		}
		n = v ? strlen(v) : 1;
		if (k + n > ADDRESS_MAX)
			return false;
		memcpy(out + k, v ? v : t, n);
		k += n;
		if (v == NULL)
			t++;
	}
	out[k] = '\0';
	return true;
}

const char *relaytest_check_domain(const char *name)
{
	size_t n = strnlen(name, 254), label = 0;

	if (n == 0)
		return "is empty";
	if (n > 253)
		return "is longer than 253 octets";
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (c == '.') {
			if (label == 0)
				return "has an empty label";
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return "holds a character other than letters, digits, "
			       "'-' and '.'";
		if (++label > 63)
			return "has a label longer than 63 octets";
	}
	if (label == 0)
		return "ends with a dot";
	return NULL;
}

int relaytest_forms(struct relaytest_form forms[RELAYTEST_FORMS],
		    const char *server_domain, const char *server_ip,
		    const char *outside, const char *sender, char *err,
		    size_t errlen)
{
	char literal[LITERAL_MAX];
	struct form_args args = {server_domain, literal, outside, sender};
	unsigned char octets[16];
	const char *why;
	size_t flen;
	int family;

	if ((why = relaytest_check_domain(server_domain)) != NULL) {
		snprintf(err, errlen, "the server domain %s", why);
		return -1;
	}
	if ((why = relaytest_check_domain(outside)) != NULL) {
		snprintf(err, errlen, "the outside domain %s", why);
		return -1;
	}
	if (strnlen(server_ip, LITERAL_MAX) >= LITERAL_MAX - 7 ||
	    netpolicy_parse_ip(server_ip, &family, octets) < 0) {
		snprintf(err, errlen,
			 "the server address is not an IP "
			 "address");
		return -1;
	}
	snprintf(literal, sizeof(literal),
		 family == AF_INET ? "[%s]" : "[IPv6:%s]", server_ip);
	flen = strnlen(sender, ADDRESS_MAX + 1);
	if (flen > ADDRESS_MAX) {
		snprintf(err, errlen, "the sender is longer than %d octets",
			 ADDRESS_MAX);
		return -1;
	}
	for (size_t i = 0; i < flen; i++)
		if ((unsigned char)sender[i] < 0x20 ||
		    (unsigned char)sender[i] == 0x7f) {
			snprintf(err, errlen,
				 "the sender holds a control character");
			return -1;
		}
	for (size_t i = 0; i < RELAYTEST_FORMS; i++) {
		const struct form_spec *sp = &specs[i];
		forms[i].key = sp->key;
		forms[i].name = sp->name;
		if (!expand(forms[i].mail_from, sp->from, &args) ||
		    !expand(forms[i].rcpt_to, sp->to, &args)) {
			snprintf(err, errlen,
				 "the %s form would be longer than %d octets: "
				 "use shorter domains",
				 sp->name, ADDRESS_MAX);
			return -1;
		}
	}
	return RELAYTEST_FORMS;
}

/* relaytest_parse_target - split first, then ask what the host is: an
 * address (inet_pton, as everywhere in rcptd: no "127.1") or a name. */
int relaytest_parse_target(const char *arg, char host[RELAYTEST_HOST_MAX + 1],
			   uint16_t *port, bool *is_ip, const char **why)
{
	const char *h = arg, *p = NULL, *colon = strchr(arg, ':');
	bool bracket = arg[0] == '[';
	unsigned char octets[16];
	size_t hlen;
	int family;

	if (bracket) {
		const char *close = strchr(arg, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
			*why = "is not HOST[:PORT] ([IPv6]:PORT with a port)";
			return -1;
		}
		h = arg + 1;
		hlen = (size_t)(close - h);
		if (close[1] == ':')
			p = close + 2;
	} else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		hlen = (size_t)(colon - arg);
		p = colon + 1;
	} else {
		hlen = strlen(arg); /* a name, or a bare IPv6 address */
	}
	if (hlen == 0 || hlen > RELAYTEST_HOST_MAX) {
		*why = "is not HOST[:PORT]";
		return -1;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = 25;
	if (p != NULL) {
		unsigned long v = 0;
		size_t i;
		for (i = 0; p[i] >= '0' && p[i] <= '9' && v <= 65535; i++)
			v = v * 10 + (unsigned long)(p[i] - '0');
		if (i == 0 || p[i] != '\0' || v == 0 || v > 65535) {
			*why = "has a port that is not 1..65535";
			return -1;
		}
		*port = (uint16_t)v;
	}
	*is_ip = netpolicy_parse_ip(host, &family, octets) == 0;
	if (*is_ip) {
		if (bracket != (family == AF_INET6) && (bracket || p != NULL)) {
			*why = "is not HOST[:PORT] ([IPv6]:PORT with a port)";
			return -1;
		}
		return 0;
	}
	if (bracket || strchr(host, ':') != NULL) {
		*why = "is not an IPv6 address";
		return -1;
	}
	if (host[hlen - 1] == '.' && hlen > 1)
		host[hlen - 1] = '\0'; /* the root's dot */
	if (relaytest_check_domain(host) != NULL) {
		*why = "is neither an IP address nor a host name";
		return -1;
	}
	return 0;
}

/* token_char - octets of one token of a reply text: words, and the
 * addresses and domain names that replies quote ("<relaytest@relay-test.
 * invalid>" must not read as the word "relay"). */
static bool token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '@' ||
	       c == '%' || c == '!' || c == '.' || c == '"';
}

/* names_relaying - @text holds the word relay, relaying, relayed or
 * relays on its own ("Relay access denied", "Relaying denied", "relay not
 * permitted", "Unable to relay"), not inside an address or a domain. */
static bool names_relaying(const char *text)
{
	static const char *const words[] = {"relay", "relaying", "relayed",
					    "relays"};
	const char *p = text;

	while (*p != '\0') {
		const char *b, *e;
		while (*p != '\0' && !token_char(*p))
			p++;
		b = p;
		while (*p != '\0' && token_char(*p))
			p++;
		e = p;
		while (b < e && (*b == '.' || *b == '"'))
			b++; /* sentence punctuation around a word */
		while (e > b && (e[-1] == '.' || e[-1] == '"'))
			e--;
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if ((size_t)(e - b) == strlen(words[i]) &&
			    strncasecmp(b, words[i], (size_t)(e - b)) == 0)
				return true;
	}
	return false;
}

/* has_word - @text holds @word, ASCII case-insensitively. */
static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = text; *p != '\0'; p++) {
		size_t k = 0;
		while (k < n && p[k] != '\0' &&
		       (p[k] | 0x20) == (word[k] | 0x20))
			k++;
		if (k == n)
			return true;
	}
	return false;
}

/* Texts of refusals about a domain that does not resolve, from the MTAs
 * that say so: Postfix ("Domain not found", for recipient and sender
 * alike), Exim ("Unrouteable address"), Sendmail ("Domain of sender
 * address ... does not resolve", "Host unknown (Name server: ... host not
 * found)"), and the common paraphrases. */
static const char *const unresolved_words[] = {
    "domain not found", "domain does not exist", "domain doesn't exist",
    "no such domain",	"unrouteable",		 "unroutable",
    "does not resolve", "host not found",	 "host unknown",
    "unknown domain",	"name service error",	 "nxdomain",
};

/* unresolved_code - RFC 3463 X.1.2 "bad destination system address",
 * X.1.8 "bad sender's system address", X.4.4 "unable to route". */
static bool unresolved_code(const char *enhanced)
{
	static const char *const subs[] = {".1.2", ".1.8", ".4.4"};

	if (enhanced[0] == '\0')
		return false;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(enhanced + 1, subs[i]) == 0)
			return true;
	return false;
}

/* relaytest_reply_outcome - relaying named outranks the rest: a server
 * that says it does not relay has answered the question, whatever the
 * class of its reply. */
enum relaytest_outcome relaytest_reply_outcome(int code, const char *enhanced,
					       const char *text)
{
	if (code >= 200 && code < 300)
		return RELAYTEST_ACCEPTED;
	if (code < 400 || code >= 600)
		return RELAYTEST_NO_ANSWER;
	if (names_relaying(text))
		return RELAYTEST_REFUSED;
	if (unresolved_code(enhanced))
		return RELAYTEST_UNRESOLVED;
	for (size_t i = 0;
	     i < sizeof(unresolved_words) / sizeof(unresolved_words[0]); i++)
		if (has_word(text, unresolved_words[i]))
			return RELAYTEST_UNRESOLVED;
	return code < 500 ? RELAYTEST_TEMPORARY : RELAYTEST_REFUSED;
}

/* relaytest_judge - a reply to the RCPT decides (REPLIED, or a 452 to a
 * fresh transaction, NOT_ATTEMPTED at stage rcpt with the session fine);
 * a refused MAIL (or RSET) leaves the test not tested, whether the
 * session went on (fail NONE) or ended there (REJECTED, but not 421,
 * which is a hang-up). Everything else got no answer. */
enum relaytest_outcome relaytest_judge(const struct dialog_result *res)
{
	switch (res->status) {
	case DIALOG_RCPT_REPLIED:
		return relaytest_reply_outcome(res->code, res->enhanced,
					       res->text);
	case DIALOG_RCPT_NOT_ATTEMPTED:
		if (res->code < 400 || res->code == 421)
			return RELAYTEST_NO_ANSWER;
		if (res->stage == SMTP_STAGE_MAIL &&
		    (res->fail == DIALOG_FAIL_NONE ||
		     res->fail == DIALOG_FAIL_REJECTED))
			return RELAYTEST_MAIL_REFUSED;
		if (res->stage == SMTP_STAGE_RCPT &&
		    res->fail == DIALOG_FAIL_NONE)
			return relaytest_reply_outcome(res->code, res->enhanced,
						       res->text);
		return RELAYTEST_NO_ANSWER;
	default:
		return RELAYTEST_NO_ANSWER;
	}
}

void relaytest_summarize(const enum relaytest_outcome *outcomes, size_t n,
			 struct relaytest_summary *s)
{
	*s = (struct relaytest_summary){0};
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)outcomes[i] < RELAYTEST_OUTCOME_LAST)
			s->count[outcomes[i]]++;
		s->total++;
	}
}

const char *relaytest_verdict(const struct relaytest_summary *s, char *buf,
			      size_t size)
{
	unsigned n = s->count[RELAYTEST_ACCEPTED];

	if (n == 0)
		snprintf(buf, size, "no relay accepted");
	else
		snprintf(buf, size, "OPEN RELAY: %u form%s accepted", n,
			 n == 1 ? "" : "s");
	return buf;
}

int relaytest_exit_status(const struct relaytest_summary *s)
{
	if (s->count[RELAYTEST_ACCEPTED] > 0)
		return 1;
	if (s->count[RELAYTEST_NO_ANSWER] > 0)
		return 2;
	return 0;
}

static const char *const outcome_words[RELAYTEST_OUTCOME_LAST] = {
    [RELAYTEST_ACCEPTED] = "accepted",
    [RELAYTEST_REFUSED] = "refused",
    [RELAYTEST_UNRESOLVED] = "inconclusive",
    [RELAYTEST_TEMPORARY] = "inconclusive",
    [RELAYTEST_MAIL_REFUSED] = "not tested",
    [RELAYTEST_NO_ANSWER] = "not tested",
};

static const char *const outcome_reasons[RELAYTEST_OUTCOME_LAST] = {
    [RELAYTEST_ACCEPTED] = "accepted",
    [RELAYTEST_REFUSED] = "refused",
    [RELAYTEST_UNRESOLVED] = "domain_not_found",
    [RELAYTEST_TEMPORARY] = "temporary",
    [RELAYTEST_MAIL_REFUSED] = "mail_refused",
    [RELAYTEST_NO_ANSWER] = "no_answer",
};

const char *relaytest_outcome_word(enum relaytest_outcome o)
{
	return (unsigned)o < RELAYTEST_OUTCOME_LAST ? outcome_words[o] : "?";
}

const char *relaytest_outcome_reason(enum relaytest_outcome o)
{
	return (unsigned)o < RELAYTEST_OUTCOME_LAST ? outcome_reasons[o] : "?";
}
