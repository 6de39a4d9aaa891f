/* dnsmsg - the response code and the TTLs of a DNS response (dnsmsg.h). */
#include "core/dnsmsg.h"

#include <string.h>

/* The fixed part of an RR after its owner name: TYPE, CLASS, TTL,
 * RDLENGTH (RFC 1035 4.1.3). */
#define RR_FIXED_LEN 10
/* QTYPE and QCLASS after the question's name (RFC 1035 4.1.2). */
#define QUESTION_FIXED_LEN 4
/* SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM after the SOA's two names
 * (RFC 1035 3.3.13). */
#define SOA_FIXED_LEN 20

/* A read-only cursor over the message; off never exceeds len. */
struct cursor {
	const unsigned char *m;
	size_t len;
	size_t off;
};

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* ttl_value - RFC 2181 8: a TTL with the most significant bit set is
 * treated as zero. */
static uint32_t ttl_value(uint32_t raw)
{
	return raw > DNSMSG_TTL_MAX ? 0 : raw;
}

/* name_skip - walk the name at c->off and leave c->off just past the
 * octets it occupies in place (up to and including its terminating zero
 * label or its first pointer). The name is followed through its pointers
 * so that a bad one is refused here, where the bounds are known. */
static int name_skip(struct cursor *c)
{
	size_t pos = c->off;
	size_t run = c->off; /* start of the current label run */
	size_t end = 0;	     /* in-place end, known at the first pointer */
	unsigned hops = 0;
	unsigned wire = 0; /* octets of the name in wire form */

	for (;;) {
		unsigned len;

		if (pos >= c->len)
			return DNSMSG_ETRUNC;
		len = c->m[pos];
		if ((len & 0xc0) == 0xc0) {
			size_t target;

			if (pos + 1 >= c->len)
				return DNSMSG_ETRUNC;
			target = (size_t)(len & 0x3f) << 8 | c->m[pos + 1];
			if (hops == 0)
				end = pos + 2;
			/* Strictly before the run that holds the pointer:
			 * anything at or after its start either loops or
			 * points forward. */
			if (target >= run || ++hops > DNSMSG_HOPS_MAX)
				return DNSMSG_ENAME;
			pos = run = target;
			continue;
		}
		if ((len & 0xc0) != 0)
			return DNSMSG_ENAME; /* RFC 6891 5: no other types */
		wire += len + 1;
		if (wire > DNSMSG_NAME_MAX)
			return DNSMSG_ENAME;
		if (len == 0) {
			if (hops == 0)
				end = pos + 1;
			break;
		}
		if (c->len - pos - 1 < len)
			return DNSMSG_ETRUNC;
		pos += 1 + len;
	}
	c->off = end;
	return DNSMSG_OK;
}

/* question - the one question of a response: its type and class. */
static int question(struct cursor *c, struct dnsmsg_info *out)
{
	int rc;

	if (out->qdcount != 1)
		return DNSMSG_EQUESTION;
	rc = name_skip(c);
	if (rc != DNSMSG_OK)
		return rc;
	if (c->len - c->off < QUESTION_FIXED_LEN)
		return DNSMSG_ETRUNC;
	out->qtype = get16(c->m + c->off);
	out->qclass = get16(c->m + c->off + 2);
	c->off += QUESTION_FIXED_LEN;
	return DNSMSG_OK;
}

/* struct rr - the fixed fields of one RR and where its RDATA lies. */
struct rr {
	uint16_t type;
	uint32_t ttl;
	size_t rdata; /* offset of RDATA */
	size_t rdlen;
};

/* rr_next - walk one RR; c->off ends past its RDATA. */
static int rr_next(struct cursor *c, struct rr *rr)
{
	int rc = name_skip(c);

	if (rc != DNSMSG_OK)
		return rc;
	if (c->len - c->off < RR_FIXED_LEN)
		return DNSMSG_ETRUNC;
	rr->type = get16(c->m + c->off);
	rr->ttl = ttl_value(get32(c->m + c->off + 4));
	rr->rdlen = get16(c->m + c->off + 8);
	c->off += RR_FIXED_LEN;
	if (c->len - c->off < rr->rdlen)
		return DNSMSG_ETRUNC;
	rr->rdata = c->off;
	c->off += rr->rdlen;
	return DNSMSG_OK;
}

/* soa_minimum - the MINIMUM field of the SOA RDATA of @rr. The two names
 * may point anywhere earlier, but their in-place octets and the five
 * numbers must fill RDLENGTH exactly. */
static int soa_minimum(const struct cursor *msg, const struct rr *rr,
		       uint32_t *minimum)
{
	/* A cursor that ends with the RDATA, so no name runs past it. */
	struct cursor c = {msg->m, rr->rdata + rr->rdlen, rr->rdata};
	int rc;

	rc = name_skip(&c); /* MNAME */
	if (rc == DNSMSG_OK)
		rc = name_skip(&c); /* RNAME */
	if (rc == DNSMSG_ETRUNC)
		return DNSMSG_ERDATA;
	if (rc != DNSMSG_OK)
		return rc;
	if (c.len - c.off != SOA_FIXED_LEN)
		return DNSMSG_ERDATA;
	*minimum = ttl_value(get32(c.m + c.off + 16));
	return DNSMSG_OK;
}

/* answer_section - count the RRs of the asked type and the CNAMEs and
 * keep their least TTL. */
static int answer_section(struct cursor *c, struct dnsmsg_info *out)
{
	for (unsigned i = 0; i < out->ancount; i++) {
		struct rr rr;
		int rc = rr_next(c, &rr);

		if (rc != DNSMSG_OK)
			return rc;
		if (rr.type == out->qtype)
			out->answers++;
		else if (rr.type == DNSMSG_TYPE_CNAME)
			out->cnames++;
		else
			continue;
		if (out->answers + out->cnames == 1 || rr.ttl < out->answer_ttl)
			out->answer_ttl = rr.ttl;
	}
	return DNSMSG_OK;
}

/* authority_section - find the SOAs and keep the least negative TTL. */
static int authority_section(struct cursor *c, struct dnsmsg_info *out)
{
	for (unsigned i = 0; i < out->nscount; i++) {
		struct rr rr;
		uint32_t minimum, neg;
		int rc = rr_next(c, &rr);

		if (rc != DNSMSG_OK)
			return rc;
		if (rr.type != DNSMSG_TYPE_SOA)
			continue;
		rc = soa_minimum(c, &rr, &minimum);
		if (rc != DNSMSG_OK)
			return rc;
		neg = rr.ttl < minimum ? rr.ttl : minimum;
		if (!out->soa || neg < out->negative_ttl) {
			out->soa_ttl = rr.ttl;
			out->soa_minimum = minimum;
			out->negative_ttl = neg;
		}
		out->soa = true;
	}
	return DNSMSG_OK;
}

int dnsmsg_parse(const unsigned char *msg, size_t len, struct dnsmsg_info *out)
{
	struct cursor c = {msg, len, DNSMSG_HEADER_LEN};
	int rc;

	memset(out, 0, sizeof(*out));
	if (len > DNSMSG_MAX)
		return DNSMSG_ETOOBIG;
	if (len < DNSMSG_HEADER_LEN)
		return DNSMSG_ETRUNC;
	out->id = get16(msg);
	out->qr = (msg[2] & 0x80) != 0;
	out->aa = (msg[2] & 0x04) != 0;
	out->tc = (msg[2] & 0x02) != 0;
	out->rcode = msg[3] & 0x0f;
	out->qdcount = get16(msg + 4);
	out->ancount = get16(msg + 6);
	out->nscount = get16(msg + 8);
	out->arcount = get16(msg + 10);

	rc = question(&c, out);
	if (rc == DNSMSG_OK)
		rc = answer_section(&c, out);
	if (rc == DNSMSG_OK)
		rc = authority_section(&c, out);
	return rc;
}

const char *dnsmsg_strerror(int err)
{
	switch (err) {
	case DNSMSG_OK:
		return "no error";
	case DNSMSG_ETRUNC:
		return "message ends inside a header, name or record";
	case DNSMSG_ENAME:
		return "malformed name (pointer loop, forward pointer, bad "
		       "label type or over 255 octets)";
	case DNSMSG_EQUESTION:
		return "not exactly one question";
	case DNSMSG_ERDATA:
		return "SOA data does not fill its length";
	case DNSMSG_ETOOBIG:
		return "message longer than 65535 octets";
	default:
		return "unknown dnsmsg error";
	}
}
