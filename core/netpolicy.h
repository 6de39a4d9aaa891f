/* netpolicy - which IP addresses rcptd may probe (DESIGN.md "Safety").
 *
 * The verifier connects only to MX addresses that are globally reachable
 * unicast. Every address is classified against the IANA IPv4 and IPv6
 * Special-Purpose Address Registries (RFC 6890, updated by RFC 8190) and
 * the IPv6 Address Space registry; any class but NETPOLICY_GLOBAL is
 * refused (blocked_target) unless an --allow-net CIDR names it.
 *
 * Decisions (each one the safe side of a choice):
 * - 0.0.0.0/8 is refused: connect() to 0.0.0.0 reaches loopback on Linux.
 * - 192.0.0.0/24 is refused as a whole, including the /32s the registry
 *   marks globally reachable (192.0.0.9 PCP, 192.0.0.10 TURN anycast): no
 *   mail server lives on a protocol anycast address.
 * - Globally reachable anycast services that are not mail servers are
 *   refused too: AS112 DNS sinks (192.31.196.0/24, 192.175.48.0/24,
 *   2001:4:112::/48, 2620:4f:8000::/48), AMT relays (192.52.193.0/24,
 *   2001:3::/32), the deprecated 6to4 relay anycast (192.88.99.0/24, RFC
 *   7526), and ORCHID / ORCHIDv2 identifiers (2001:10::/28, 2001:20::/28),
 *   which RFC 7343 says are not routable at the IP layer.
 * - IPv6 outside 2000::/3 is not global unicast and is refused
 *   (NETPOLICY_RESERVED), except the forms below that embed IPv4.
 * - Embedded IPv4 (RFC 4291, 6052, 3056, 4380):
 *     ::ffff:0:0/96 (IPv4-mapped) is treated exactly as the IPv4 address,
 *       for classification and for --allow-net matching alike: the
 *       kernel sends it as IPv4.
 *     64:ff9b::/96 (NAT64 well-known prefix) and 2002::/16 (6to4, IPv4 in
 *       bits 16..47) are classified by their IPv4: a non-global IPv4
 *       yields that IPv4's class (2002:7f00:1:: is "loopback").
 *     ::/96 (IPv4-compatible, deprecated), ::ffff:0:0:0/96 (IPv4-
 *       translated, RFC 2765, obsolete), 64:ff9b:1::/48 (local-use NAT64,
 *       RFC 8215) and 2001::/32 (Teredo: server and obfuscated client
 *       IPv4 inside) are refused whatever IPv4 they carry.
 * - fec0::/10 (site-local, deprecated by RFC 3879) is refused.
 *
 * Allow list: --allow-net entries permit addresses in their range even
 * when special (the lab runs on 198.18.0.0/15). An entry matches only its
 * own family, except that IPv4-mapped IPv6 addresses are matched as IPv4
 * (and a mapped CIDR of prefix >= 96 is stored as IPv4). No entry permits
 * an address that can never be a unicast peer: the unspecified address
 * and 0.0.0.0/8, multicast and limited broadcast; so --allow-net 0.0.0.0/0
 * does not turn into "allow loopback through 0.0.0.0".
 *
 * Parsing uses inet_pton() only: dotted-quad decimal without leading
 * zeros, or RFC 4291 text; no inet_aton() forms ("127.1", "0x7f.1"), no
 * zone ("%eth0"), no brackets, no white space.
 *
 * Ownership: struct netpolicy is plain data owned by the caller; it owns
 * no pointers. Limits: NETPOLICY_ALLOW_MAX entries, NETPOLICY_CIDR_MAX
 * octets of CIDR text. Errors: 0 or -1 with a sentence in the caller's
 * buffer. Loop: none; pure functions. */
#ifndef RCPTD_CORE_NETPOLICY_H
#define RCPTD_CORE_NETPOLICY_H

#include <stddef.h>

/* The address families are the socket API's AF_INET and AF_INET6, which
 * <arpa/inet.h> provides along with inet_pton(). */
#include <arpa/inet.h>

/* One --allow-net per lab network or private relay; 64 is far more than
 * any deployment names and keeps the linear match trivially cheap. */
#define NETPOLICY_ALLOW_MAX 64
/* Longest CIDR text: an IPv6 address in its longest text form (45
 * octets, INET6_ADDRSTRLEN - 1) plus "/128". Longer input is refused. */
#define NETPOLICY_CIDR_MAX 49
/* An error sentence always fits in this many octets (it quotes the CIDR
 * text and a network; truncated if the caller's buffer is smaller). */
#define NETPOLICY_ERR_MAX 192

enum netpolicy_class {
	NETPOLICY_GLOBAL = 0,	   /* globally reachable unicast: probe it */
	NETPOLICY_UNSPECIFIED,	   /* ::/128 */
	NETPOLICY_THIS_NETWORK,	   /* 0.0.0.0/8 (0.0.0.0 is loopback) */
	NETPOLICY_LOOPBACK,	   /* 127.0.0.0/8, ::1/128 */
	NETPOLICY_PRIVATE,	   /* 10/8, 172.16/12, 192.168/16 */
	NETPOLICY_SHARED,	   /* 100.64.0.0/10 (CGN) */
	NETPOLICY_LINK_LOCAL,	   /* 169.254.0.0/16, fe80::/10 */
	NETPOLICY_IETF_PROTOCOL,   /* 192.0.0.0/24, rest of 2001::/23 */
	NETPOLICY_DOCUMENTATION,   /* TEST-NETs, 2001:db8::/32, 3fff::/20 */
	NETPOLICY_BENCHMARKING,	   /* 198.18.0.0/15, 2001:2::/48 */
	NETPOLICY_MULTICAST,	   /* 224.0.0.0/4, ff00::/8 */
	NETPOLICY_RESERVED,	   /* 240.0.0.0/4; IPv6 outside 2000::/3 */
	NETPOLICY_BROADCAST,	   /* 255.255.255.255/32 */
	NETPOLICY_UNIQUE_LOCAL,	   /* fc00::/7 */
	NETPOLICY_SITE_LOCAL,	   /* fec0::/10, deprecated */
	NETPOLICY_DISCARD,	   /* 100::/64 discard-only */
	NETPOLICY_ORCHID,	   /* 2001:10::/28, 2001:20::/28 */
	NETPOLICY_ANYCAST,	   /* 6to4 relay, AMT */
	NETPOLICY_AS112,	   /* AS112 DNS sinks */
	NETPOLICY_TEREDO,	   /* 2001::/32 */
	NETPOLICY_NAT64_LOCAL,	   /* 64:ff9b:1::/48 */
	NETPOLICY_IPV4_COMPATIBLE, /* ::/96 other than :: and ::1 */
	NETPOLICY_IPV4_TRANSLATED, /* ::ffff:0:0:0/96 */
	NETPOLICY_CLASS_LAST
};

/* One allow-list entry: the network address (host bits zero) and its
 * prefix length. */
struct netpolicy_cidr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

struct netpolicy {
	struct netpolicy_cidr allow[NETPOLICY_ALLOW_MAX];
	unsigned allow_count;
};

/* netpolicy_init - an empty policy: only global addresses are probed. */
void netpolicy_init(struct netpolicy *p);

/* netpolicy_allow_cidr - add the --allow-net entry @cidr ("198.18.0.0/15",
 * "2001:db8::/32", or a bare address, meaning /32 or /128). The prefix
 * length is decimal without sign or leading zeros and at most 32 or 128;
 * host bits must be zero ("198.18.0.1/15" is refused, naming the network
 * that was probably meant). Returns 0, or -1 with a sentence in @err
 * (@errlen octets, NUL-terminated when @errlen > 0) and @p unchanged. */
int netpolicy_allow_cidr(struct netpolicy *p, const char *cidr, char *err,
			 size_t errlen);

/* netpolicy_classify - the class of the address of @family (AF_INET: 4
 * octets at @octets; AF_INET6: 16), ignoring any allow list. An unknown
 * family yields NETPOLICY_RESERVED (refused). */
enum netpolicy_class netpolicy_classify(int family,
					const unsigned char *octets);

/* netpolicy_check - NETPOLICY_GLOBAL (0) when @p permits probing the
 * address (it is global, or an allow entry covers it); otherwise the
 * class that refuses it, never NETPOLICY_GLOBAL. */
enum netpolicy_class netpolicy_check(const struct netpolicy *p, int family,
				     const unsigned char *octets);

/* netpolicy_parse_ip - parse @text strictly with inet_pton(): IPv4 first,
 * then IPv6. Writes the family to @family and 4 or 16 octets to @octets.
 * Returns 0, or -1 (outputs unspecified) when @text is not an address. */
int netpolicy_parse_ip(const char *text, int *family, unsigned char octets[16]);

/* netpolicy_class_name - the class as a word for logs and messages
 * ("loopback", "unique-local", ...); NULL for an out-of-range value. */
const char *netpolicy_class_name(enum netpolicy_class c);

#endif
