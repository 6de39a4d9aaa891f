/* dnsmsg - the response code and the TTLs of one DNS response
 * (RFC 1035 4.1, RFC 2181 8, RFC 2308 5).
 *
 * The resolver lets c-ares parse the records themselves (MX, A, AAAA);
 * c-ares 1.18's helpers give no TTL for MX records and nothing of the SOA
 * that bounds a negative answer's lifetime. dnsmsg supplies exactly that:
 * it walks the header, the question, the answer and the authority
 * sections and reports
 *   - the header fields (id, rcode, flags, section counts);
 *   - the asked type, the number of answer RRs of that type and of CNAME
 *     RRs, and the least TTL among them (the answer's lifetime);
 *   - the SOA of the authority section, whose min(TTL, MINIMUM) is the
 *     lifetime of a negative answer (NXDOMAIN, NODATA; RFC 2308 5).
 * The additional section is not walked. Owner names are not compared: the
 * least TTL over every RR of the asked type and every CNAME can only be
 * shorter than the TTL of the chain that c-ares follows, never longer.
 *
 * Strictness (a hostile server writes the bytes): every length is checked
 * against the message; a compression pointer must point strictly before
 * the label run that contains it, which rules out loops and forward
 * pointers (a name can only ever refer to an earlier name, RFC 1035
 * 4.1.4); at most DNSMSG_HOPS_MAX pointers per name; a name is at most
 * DNSMSG_NAME_MAX octets in wire form; label types 01 and 10 (RFC 6891
 * 5) are refused; the names and numbers of an SOA must fill its RDLENGTH
 * exactly. TTLs with the top bit set count as 0 (RFC 2181 8).
 *
 * Errors: dnsmsg_parse() returns 0 or a negative enum dnsmsg_err;
 * dnsmsg_strerror() names it. Ownership: reads the caller's buffer, writes
 * the caller's struct; no allocation. Loop: none. */
#ifndef RCPTD_CORE_DNSMSG_H
#define RCPTD_CORE_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNSMSG_HEADER_LEN 12
/* A DNS message over TCP carries a 16-bit length (RFC 1035 4.2.2); no
 * longer message exists, and no offset of a pointer can exceed it. */
#define DNSMSG_MAX 65535
/* A name is at most 255 octets in wire form (RFC 1035 2.3.4). */
#define DNSMSG_NAME_MAX 255
/* A 255-octet name has at most 127 labels; more pointers than that in one
 * name cannot be honest compression. */
#define DNSMSG_HOPS_MAX 127
/* RFC 2181 8: a TTL is 31 bits; a larger value is taken as 0. */
#define DNSMSG_TTL_MAX 0x7fffffffu

/* Types and response codes this module and its users name. */
enum dnsmsg_type {
	DNSMSG_TYPE_A = 1,
	DNSMSG_TYPE_NS = 2,
	DNSMSG_TYPE_CNAME = 5,
	DNSMSG_TYPE_SOA = 6,
	DNSMSG_TYPE_MX = 15,
	DNSMSG_TYPE_AAAA = 28
};

enum dnsmsg_rcode {
	DNSMSG_NOERROR = 0,
	DNSMSG_FORMERR = 1,
	DNSMSG_SERVFAIL = 2,
	DNSMSG_NXDOMAIN = 3,
	DNSMSG_NOTIMP = 4,
	DNSMSG_REFUSED = 5
};

enum dnsmsg_err {
	DNSMSG_OK = 0,
	DNSMSG_ETRUNC = -1,    /* ends inside the header, a name or an RR */
	DNSMSG_ENAME = -2,     /* bad name: loop, forward pointer, label
				* type, longer than DNSMSG_NAME_MAX */
	DNSMSG_EQUESTION = -3, /* not exactly one question */
	DNSMSG_ERDATA = -4,    /* an SOA does not fill its RDLENGTH */
	DNSMSG_ETOOBIG = -5    /* longer than DNSMSG_MAX */
};

struct dnsmsg_info {
	uint16_t id;
	bool qr;	/* a response */
	bool aa;	/* authoritative answer */
	bool tc;	/* truncated */
	unsigned rcode; /* the 4-bit header RCODE, enum dnsmsg_rcode */
	uint16_t qdcount, ancount, nscount, arcount;
	uint16_t qtype;	  /* the type asked in the question */
	uint16_t qclass;  /* its class */
	unsigned answers; /* answer RRs of type qtype */
	unsigned cnames;  /* answer RRs of type CNAME (qtype is not CNAME) */
	/* Least TTL over the RRs counted in answers and cnames, seconds;
	 * 0 when both counts are 0. */
	uint32_t answer_ttl;
	bool soa;	      /* an SOA RR is in the authority section */
	uint32_t soa_ttl;     /* its TTL */
	uint32_t soa_minimum; /* its MINIMUM field */
	/* RFC 2308 5: min(soa_ttl, soa_minimum), the least over the SOAs of
	 * the authority section; 0 when there is none. */
	uint32_t negative_ttl;
};

/* dnsmsg_parse - walk the @len octets at @msg and fill @out.
 * Returns 0, or a negative enum dnsmsg_err with @out partly written: the
 * header fields are valid whenever @len >= DNSMSG_HEADER_LEN. */
int dnsmsg_parse(const unsigned char *msg, size_t len, struct dnsmsg_info *out);

/* dnsmsg_strerror - a short English phrase for an enum dnsmsg_err. */
const char *dnsmsg_strerror(int err);

#endif
