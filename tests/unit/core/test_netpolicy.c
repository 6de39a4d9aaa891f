/* test_netpolicy - which IP addresses may be probed (core/netpolicy.h).
 *
 * Behaviours, one TCase each: the registry table (for every special-purpose
 * block its first, middle and last address carry the block's class, and the
 * addresses just outside it carry their own: global where they are); the
 * forms that embed IPv4; strict inet_pton() parsing; class names; the allow
 * list; CIDR parsing and its errors. Addresses are only parsed and
 * classified here: no test ever connects to one. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "core/netpolicy.h"

Suite *netpolicy_suite(void);

struct class_row {
	const char *ip;
	enum netpolicy_class cls;
};

/* Every block of netpolicy.c's tables: first, middle, last, and the
 * neighbours just below and above (rows generated once from the block list
 * with Python's ipaddress module, then checked by hand; each neighbour's
 * class is written out, not computed). */
static const struct class_row block_rows[] = {
    {"255.255.255.255", NETPOLICY_BROADCAST},	  /* 255.255.255.255/32 first */
    {"255.255.255.254", NETPOLICY_RESERVED},	  /* below 255.255.255.255/32 */
    {"0.0.0.0", NETPOLICY_THIS_NETWORK},	  /* 0.0.0.0/8 first */
    {"0.128.0.1", NETPOLICY_THIS_NETWORK},	  /* 0.0.0.0/8 middle */
    {"0.255.255.255", NETPOLICY_THIS_NETWORK},	  /* 0.0.0.0/8 last */
    {"1.0.0.0", NETPOLICY_GLOBAL},		  /* above 0.0.0.0/8 */
    {"10.0.0.0", NETPOLICY_PRIVATE},		  /* 10.0.0.0/8 first */
    {"10.128.0.1", NETPOLICY_PRIVATE},		  /* 10.0.0.0/8 middle */
    {"10.255.255.255", NETPOLICY_PRIVATE},	  /* 10.0.0.0/8 last */
    {"9.255.255.255", NETPOLICY_GLOBAL},	  /* below 10.0.0.0/8 */
    {"11.0.0.0", NETPOLICY_GLOBAL},		  /* above 10.0.0.0/8 */
    {"100.64.0.0", NETPOLICY_SHARED},		  /* 100.64.0.0/10 first */
    {"100.96.0.1", NETPOLICY_SHARED},		  /* 100.64.0.0/10 middle */
    {"100.127.255.255", NETPOLICY_SHARED},	  /* 100.64.0.0/10 last */
    {"100.63.255.255", NETPOLICY_GLOBAL},	  /* below 100.64.0.0/10 */
    {"100.128.0.0", NETPOLICY_GLOBAL},		  /* above 100.64.0.0/10 */
    {"127.0.0.0", NETPOLICY_LOOPBACK},		  /* 127.0.0.0/8 first */
    {"127.128.0.1", NETPOLICY_LOOPBACK},	  /* 127.0.0.0/8 middle */
    {"127.255.255.255", NETPOLICY_LOOPBACK},	  /* 127.0.0.0/8 last */
    {"126.255.255.255", NETPOLICY_GLOBAL},	  /* below 127.0.0.0/8 */
    {"128.0.0.0", NETPOLICY_GLOBAL},		  /* above 127.0.0.0/8 */
    {"169.254.0.0", NETPOLICY_LINK_LOCAL},	  /* 169.254.0.0/16 first */
    {"169.254.128.1", NETPOLICY_LINK_LOCAL},	  /* 169.254.0.0/16 middle */
    {"169.254.255.255", NETPOLICY_LINK_LOCAL},	  /* 169.254.0.0/16 last */
    {"169.253.255.255", NETPOLICY_GLOBAL},	  /* below 169.254.0.0/16 */
    {"169.255.0.0", NETPOLICY_GLOBAL},		  /* above 169.254.0.0/16 */
    {"172.16.0.0", NETPOLICY_PRIVATE},		  /* 172.16.0.0/12 first */
    {"172.24.0.1", NETPOLICY_PRIVATE},		  /* 172.16.0.0/12 middle */
    {"172.31.255.255", NETPOLICY_PRIVATE},	  /* 172.16.0.0/12 last */
    {"172.15.255.255", NETPOLICY_GLOBAL},	  /* below 172.16.0.0/12 */
    {"172.32.0.0", NETPOLICY_GLOBAL},		  /* above 172.16.0.0/12 */
    {"192.0.0.0", NETPOLICY_IETF_PROTOCOL},	  /* 192.0.0.0/24 first */
    {"192.0.0.129", NETPOLICY_IETF_PROTOCOL},	  /* 192.0.0.0/24 middle */
    {"192.0.0.255", NETPOLICY_IETF_PROTOCOL},	  /* 192.0.0.0/24 last */
    {"191.255.255.255", NETPOLICY_GLOBAL},	  /* below 192.0.0.0/24 */
    {"192.0.1.0", NETPOLICY_GLOBAL},		  /* above 192.0.0.0/24 */
    {"192.0.2.0", NETPOLICY_DOCUMENTATION},	  /* 192.0.2.0/24 first */
    {"192.0.2.129", NETPOLICY_DOCUMENTATION},	  /* 192.0.2.0/24 middle */
    {"192.0.2.255", NETPOLICY_DOCUMENTATION},	  /* 192.0.2.0/24 last */
    {"192.0.1.255", NETPOLICY_GLOBAL},		  /* below 192.0.2.0/24 */
    {"192.0.3.0", NETPOLICY_GLOBAL},		  /* above 192.0.2.0/24 */
    {"192.31.196.0", NETPOLICY_AS112},		  /* 192.31.196.0/24 first */
    {"192.31.196.129", NETPOLICY_AS112},	  /* 192.31.196.0/24 middle */
    {"192.31.196.255", NETPOLICY_AS112},	  /* 192.31.196.0/24 last */
    {"192.31.195.255", NETPOLICY_GLOBAL},	  /* below 192.31.196.0/24 */
    {"192.31.197.0", NETPOLICY_GLOBAL},		  /* above 192.31.196.0/24 */
    {"192.52.193.0", NETPOLICY_ANYCAST},	  /* 192.52.193.0/24 first */
    {"192.52.193.129", NETPOLICY_ANYCAST},	  /* 192.52.193.0/24 middle */
    {"192.52.193.255", NETPOLICY_ANYCAST},	  /* 192.52.193.0/24 last */
    {"192.52.192.255", NETPOLICY_GLOBAL},	  /* below 192.52.193.0/24 */
    {"192.52.194.0", NETPOLICY_GLOBAL},		  /* above 192.52.193.0/24 */
    {"192.88.99.0", NETPOLICY_ANYCAST},		  /* 192.88.99.0/24 first */
    {"192.88.99.129", NETPOLICY_ANYCAST},	  /* 192.88.99.0/24 middle */
    {"192.88.99.255", NETPOLICY_ANYCAST},	  /* 192.88.99.0/24 last */
    {"192.88.98.255", NETPOLICY_GLOBAL},	  /* below 192.88.99.0/24 */
    {"192.88.100.0", NETPOLICY_GLOBAL},		  /* above 192.88.99.0/24 */
    {"192.168.0.0", NETPOLICY_PRIVATE},		  /* 192.168.0.0/16 first */
    {"192.168.128.1", NETPOLICY_PRIVATE},	  /* 192.168.0.0/16 middle */
    {"192.168.255.255", NETPOLICY_PRIVATE},	  /* 192.168.0.0/16 last */
    {"192.167.255.255", NETPOLICY_GLOBAL},	  /* below 192.168.0.0/16 */
    {"192.169.0.0", NETPOLICY_GLOBAL},		  /* above 192.168.0.0/16 */
    {"192.175.48.0", NETPOLICY_AS112},		  /* 192.175.48.0/24 first */
    {"192.175.48.129", NETPOLICY_AS112},	  /* 192.175.48.0/24 middle */
    {"192.175.48.255", NETPOLICY_AS112},	  /* 192.175.48.0/24 last */
    {"192.175.47.255", NETPOLICY_GLOBAL},	  /* below 192.175.48.0/24 */
    {"192.175.49.0", NETPOLICY_GLOBAL},		  /* above 192.175.48.0/24 */
    {"198.18.0.0", NETPOLICY_BENCHMARKING},	  /* 198.18.0.0/15 first */
    {"198.19.0.1", NETPOLICY_BENCHMARKING},	  /* 198.18.0.0/15 middle */
    {"198.19.255.255", NETPOLICY_BENCHMARKING},	  /* 198.18.0.0/15 last */
    {"198.17.255.255", NETPOLICY_GLOBAL},	  /* below 198.18.0.0/15 */
    {"198.20.0.0", NETPOLICY_GLOBAL},		  /* above 198.18.0.0/15 */
    {"198.51.100.0", NETPOLICY_DOCUMENTATION},	  /* 198.51.100.0/24 first */
    {"198.51.100.129", NETPOLICY_DOCUMENTATION},  /* 198.51.100.0/24 middle */
    {"198.51.100.255", NETPOLICY_DOCUMENTATION},  /* 198.51.100.0/24 last */
    {"198.51.99.255", NETPOLICY_GLOBAL},	  /* below 198.51.100.0/24 */
    {"198.51.101.0", NETPOLICY_GLOBAL},		  /* above 198.51.100.0/24 */
    {"203.0.113.0", NETPOLICY_DOCUMENTATION},	  /* 203.0.113.0/24 first */
    {"203.0.113.129", NETPOLICY_DOCUMENTATION},	  /* 203.0.113.0/24 middle */
    {"203.0.113.255", NETPOLICY_DOCUMENTATION},	  /* 203.0.113.0/24 last */
    {"203.0.112.255", NETPOLICY_GLOBAL},	  /* below 203.0.113.0/24 */
    {"203.0.114.0", NETPOLICY_GLOBAL},		  /* above 203.0.113.0/24 */
    {"224.0.0.0", NETPOLICY_MULTICAST},		  /* 224.0.0.0/4 first */
    {"232.0.0.1", NETPOLICY_MULTICAST},		  /* 224.0.0.0/4 middle */
    {"239.255.255.255", NETPOLICY_MULTICAST},	  /* 224.0.0.0/4 last */
    {"223.255.255.255", NETPOLICY_GLOBAL},	  /* below 224.0.0.0/4 */
    {"240.0.0.0", NETPOLICY_RESERVED},		  /* above 224.0.0.0/4 */
    {"248.0.0.1", NETPOLICY_RESERVED},		  /* 240.0.0.0/4 middle */
    {"64:ff9b:1::", NETPOLICY_NAT64_LOCAL},	  /* 64:ff9b:1::/48 first */
    {"64:ff9b:1:8000::1", NETPOLICY_NAT64_LOCAL}, /* 64:ff9b:1::/48 middle */
    {"64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_NAT64_LOCAL}, /* 64:ff9b:1::/48 last */
    {"64:ff9b:0:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_RESERVED},			     /* below 64:ff9b:1::/48 */
    {"64:ff9b:2::", NETPOLICY_RESERVED},	     /* above 64:ff9b:1::/48 */
    {"100::", NETPOLICY_DISCARD},		     /* 100::/64 first */
    {"100::8000:0:0:1", NETPOLICY_DISCARD},	     /* 100::/64 middle */
    {"100::ffff:ffff:ffff:ffff", NETPOLICY_DISCARD}, /* 100::/64 last */
    {"ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_RESERVED},		  /* below 100::/64 */
    {"100:0:0:1::", NETPOLICY_RESERVED},  /* above 100::/64 */
    {"2001::", NETPOLICY_TEREDO},	  /* 2001::/32 first */
    {"2001:0:8000::1", NETPOLICY_TEREDO}, /* 2001::/32 middle */
    {"2001:0:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_TEREDO}, /* 2001::/32 last */
    {"2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_GLOBAL},				  /* below 2001::/32 */
    {"2001:1::", NETPOLICY_IETF_PROTOCOL},	  /* above 2001::/32 */
    {"2001:2::", NETPOLICY_BENCHMARKING},	  /* 2001:2::/48 first */
    {"2001:2:0:8000::1", NETPOLICY_BENCHMARKING}, /* 2001:2::/48 middle */
    {"2001:2:0:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_BENCHMARKING}, /* 2001:2::/48 last */
    {"2001:1:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_IETF_PROTOCOL},		     /* below 2001:2::/48 */
    {"2001:2:1::", NETPOLICY_IETF_PROTOCOL}, /* above 2001:2::/48 */
    {"2001:3::", NETPOLICY_ANYCAST},	     /* 2001:3::/32 first */
    {"2001:3:8000::1", NETPOLICY_ANYCAST},   /* 2001:3::/32 middle */
    {"2001:3:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_ANYCAST}, /* 2001:3::/32 last */
    {"2001:2:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_IETF_PROTOCOL},		     /* below 2001:3::/32 */
    {"2001:4::", NETPOLICY_IETF_PROTOCOL},   /* above 2001:3::/32 */
    {"2001:4:112::", NETPOLICY_AS112},	     /* 2001:4:112::/48 first */
    {"2001:4:112:8000::1", NETPOLICY_AS112}, /* 2001:4:112::/48 middle */
    {"2001:4:112:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_AS112}, /* 2001:4:112::/48 last */
    {"2001:4:111:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_IETF_PROTOCOL},		       /* below 2001:4:112::/48 */
    {"2001:4:113::", NETPOLICY_IETF_PROTOCOL}, /* above 2001:4:112::/48 */
    {"2001:10::", NETPOLICY_ORCHID},	       /* 2001:10::/28 first */
    {"2001:18::1", NETPOLICY_ORCHID},	       /* 2001:10::/28 middle */
    {"2001:1f:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_ORCHID}, /* 2001:10::/28 last */
    {"2001:f:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_IETF_PROTOCOL},	      /* below 2001:10::/28 */
    {"2001:20::", NETPOLICY_ORCHID},  /* above 2001:10::/28 */
    {"2001:28::1", NETPOLICY_ORCHID}, /* 2001:20::/28 middle */
    {"2001:2f:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_ORCHID},			      /* 2001:20::/28 last */
    {"2001:30::", NETPOLICY_IETF_PROTOCOL},   /* above 2001:20::/28 */
    {"2001:100::1", NETPOLICY_IETF_PROTOCOL}, /* 2001::/23 middle */
    {"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_IETF_PROTOCOL},			   /* 2001::/23 last */
    {"2001:200::", NETPOLICY_GLOBAL},		   /* above 2001::/23 */
    {"2001:db8::", NETPOLICY_DOCUMENTATION},	   /* 2001:db8::/32 first */
    {"2001:db8:8000::1", NETPOLICY_DOCUMENTATION}, /* 2001:db8::/32 middle */
    {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_DOCUMENTATION}, /* 2001:db8::/32 last */
    {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_GLOBAL},			       /* below 2001:db8::/32 */
    {"2001:db9::", NETPOLICY_GLOBAL},	       /* above 2001:db8::/32 */
    {"2620:4f:8000::", NETPOLICY_AS112},       /* 2620:4f:8000::/48 first */
    {"2620:4f:8000:8000::1", NETPOLICY_AS112}, /* 2620:4f:8000::/48 middle */
    {"2620:4f:8000:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_AS112}, /* 2620:4f:8000::/48 last */
    {"2620:4f:7fff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_GLOBAL},			      /* below 2620:4f:8000::/48 */
    {"2620:4f:8001::", NETPOLICY_GLOBAL},     /* above 2620:4f:8000::/48 */
    {"3fff::", NETPOLICY_DOCUMENTATION},      /* 3fff::/20 first */
    {"3fff:800::1", NETPOLICY_DOCUMENTATION}, /* 3fff::/20 middle */
    {"3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_DOCUMENTATION}, /* 3fff::/20 last */
    {"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_GLOBAL},			 /* below 3fff::/20 */
    {"3fff:1000::", NETPOLICY_GLOBAL},	 /* above 3fff::/20 */
    {"fc00::", NETPOLICY_UNIQUE_LOCAL},	 /* fc00::/7 first */
    {"fd00::1", NETPOLICY_UNIQUE_LOCAL}, /* fc00::/7 middle */
    {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_UNIQUE_LOCAL}, /* fc00::/7 last */
    {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_RESERVED},	       /* below fc00::/7 */
    {"fe00::", NETPOLICY_RESERVED},    /* above fc00::/7 */
    {"fe80::", NETPOLICY_LINK_LOCAL},  /* fe80::/10 first */
    {"fea0::1", NETPOLICY_LINK_LOCAL}, /* fe80::/10 middle */
    {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_LINK_LOCAL}, /* fe80::/10 last */
    {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_RESERVED},	       /* below fe80::/10 */
    {"fec0::", NETPOLICY_SITE_LOCAL},  /* above fe80::/10 */
    {"fee0::1", NETPOLICY_SITE_LOCAL}, /* fec0::/10 middle */
    {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_SITE_LOCAL},	      /* fec0::/10 last */
    {"ff00::", NETPOLICY_MULTICAST},  /* above fec0::/10 */
    {"ff80::1", NETPOLICY_MULTICAST}, /* ff00::/8 middle */
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     NETPOLICY_MULTICAST}, /* ff00::/8 last */

};

/* Addresses that embed IPv4, the exact IPv6 addresses, and samples of the
 * space between the blocks. */
static const struct class_row embedded_rows[] = {
    /* :: and ::1 are exact; the rest of ::/96 is IPv4-compatible. */
    {"::", NETPOLICY_UNSPECIFIED},
    {"::1", NETPOLICY_LOOPBACK},
    {"::2", NETPOLICY_IPV4_COMPATIBLE},
    {"::127.0.0.1", NETPOLICY_IPV4_COMPATIBLE},
    {"::8.8.8.8", NETPOLICY_IPV4_COMPATIBLE},
    {"::ffff:ffff", NETPOLICY_IPV4_COMPATIBLE},
    {"::1:0:0", NETPOLICY_RESERVED},
    /* IPv4-mapped: exactly the IPv4 address. */
    {"::ffff:0.0.0.0", NETPOLICY_THIS_NETWORK},
    {"::ffff:0.0.0.1", NETPOLICY_THIS_NETWORK},
    {"::ffff:127.0.0.1", NETPOLICY_LOOPBACK},
    {"::ffff:7f00:1", NETPOLICY_LOOPBACK},
    {"::ffff:10.1.2.3", NETPOLICY_PRIVATE},
    {"::ffff:172.31.255.255", NETPOLICY_PRIVATE},
    {"::ffff:192.168.0.1", NETPOLICY_PRIVATE},
    {"::ffff:100.64.0.1", NETPOLICY_SHARED},
    {"::ffff:169.254.169.254", NETPOLICY_LINK_LOCAL},
    {"::ffff:192.0.0.9", NETPOLICY_IETF_PROTOCOL},
    {"::ffff:192.0.2.1", NETPOLICY_DOCUMENTATION},
    {"::ffff:198.18.0.1", NETPOLICY_BENCHMARKING},
    {"::ffff:224.0.0.1", NETPOLICY_MULTICAST},
    {"::ffff:240.0.0.1", NETPOLICY_RESERVED},
    {"::ffff:255.255.255.255", NETPOLICY_BROADCAST},
    {"::ffff:8.8.8.8", NETPOLICY_GLOBAL},
    {"::ffff:1.1.1.1", NETPOLICY_GLOBAL},
    /* IPv4-translated (RFC 2765): refused whatever it carries. */
    {"::ffff:0:127.0.0.1", NETPOLICY_IPV4_TRANSLATED},
    {"::ffff:0:8.8.8.8", NETPOLICY_IPV4_TRANSLATED},
    {"::ffff:0:0:0", NETPOLICY_IPV4_TRANSLATED},
    {"::ffff:0:0", NETPOLICY_THIS_NETWORK},
    {"::fffe:0:0", NETPOLICY_RESERVED},
    /* NAT64 well-known prefix: classified by the IPv4 in the last 32
     * bits. */
    {"64:ff9b::", NETPOLICY_THIS_NETWORK},
    {"64:ff9b::127.0.0.1", NETPOLICY_LOOPBACK},
    {"64:ff9b::10.0.0.1", NETPOLICY_PRIVATE},
    {"64:ff9b::192.168.1.1", NETPOLICY_PRIVATE},
    {"64:ff9b::100.64.0.1", NETPOLICY_SHARED},
    {"64:ff9b::169.254.0.1", NETPOLICY_LINK_LOCAL},
    {"64:ff9b::192.0.0.170", NETPOLICY_IETF_PROTOCOL},
    {"64:ff9b::c000:201", NETPOLICY_DOCUMENTATION},
    {"64:ff9b::198.19.255.255", NETPOLICY_BENCHMARKING},
    {"64:ff9b::239.255.255.255", NETPOLICY_MULTICAST},
    {"64:ff9b::255.255.255.255", NETPOLICY_BROADCAST},
    {"64:ff9b::8.8.8.8", NETPOLICY_GLOBAL},
    {"64:ff9b::1.1.1.1", NETPOLICY_GLOBAL},
    /* Beside the /96 but not in it: outside 2000::/3. */
    {"64:ff9b::1:0:0", NETPOLICY_RESERVED},
    {"64:ff9b:0:0:1::", NETPOLICY_RESERVED},
    {"64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", NETPOLICY_RESERVED},
    /* Local-use NAT64 (RFC 8215): refused whatever it carries. */
    {"64:ff9b:1::8.8.8.8", NETPOLICY_NAT64_LOCAL},
    {"64:ff9b:1:1::127.0.0.1", NETPOLICY_NAT64_LOCAL},
    /* 6to4: the IPv4 in bits 16..47. */
    {"2002::", NETPOLICY_THIS_NETWORK},
    {"2002:7f00:1::", NETPOLICY_LOOPBACK},
    {"2002:7f00:1::1", NETPOLICY_LOOPBACK},
    {"2002:a00:1::1", NETPOLICY_PRIVATE},
    {"2002:ac10:1::", NETPOLICY_PRIVATE},
    {"2002:c0a8:101::1", NETPOLICY_PRIVATE},
    {"2002:6440:1::", NETPOLICY_SHARED},
    {"2002:a9fe:1::", NETPOLICY_LINK_LOCAL},
    {"2002:c000:201::", NETPOLICY_DOCUMENTATION},
    {"2002:c612:1::", NETPOLICY_BENCHMARKING},
    {"2002:e000:1::", NETPOLICY_MULTICAST},
    {"2002:f000:1::", NETPOLICY_RESERVED},
    {"2002:ffff:ffff::", NETPOLICY_BROADCAST},
    {"2002:c058:6301::", NETPOLICY_ANYCAST},
    {"2002:808:808::1", NETPOLICY_GLOBAL},
    {"2002:101:101:ffff:ffff:ffff:ffff:ffff", NETPOLICY_GLOBAL},
    {"2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NETPOLICY_GLOBAL},
    {"2003::", NETPOLICY_GLOBAL},
    /* Teredo (RFC 4380 5.2's example: server 65.54.227.120, client
     * 192.0.2.45 obfuscated): refused whatever it carries. */
    {"2001:0:4136:e378:8000:63bf:3fff:fdd2", NETPOLICY_TEREDO},
    {"2001:0:808:808::1", NETPOLICY_TEREDO},
    /* The rest of 2001::/23 (PCP, TURN, DNS-SD SRP anycast, DETs). */
    {"2001:1::1", NETPOLICY_IETF_PROTOCOL},
    {"2001:1::2", NETPOLICY_IETF_PROTOCOL},
    {"2001:1::3", NETPOLICY_IETF_PROTOCOL},
    {"2001:5::1", NETPOLICY_IETF_PROTOCOL},
    {"2001:30::1", NETPOLICY_IETF_PROTOCOL},
    {"2001:2:1::", NETPOLICY_IETF_PROTOCOL},
    {"2001:4:113::", NETPOLICY_IETF_PROTOCOL},
    {"2001:4:111:ffff:ffff:ffff:ffff:ffff", NETPOLICY_IETF_PROTOCOL},
    {"2001:4:112::53", NETPOLICY_AS112},
    /* Outside 2000::/3 and not otherwise named. */
    {"1000::1", NETPOLICY_RESERVED},
    {"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NETPOLICY_RESERVED},
    {"200::1", NETPOLICY_RESERVED},
    {"4000::", NETPOLICY_RESERVED},
    {"5f00::1", NETPOLICY_RESERVED},
    {"100:0:0:1::1", NETPOLICY_RESERVED},
    {"e000::1", NETPOLICY_RESERVED},
    {"fe00::1", NETPOLICY_RESERVED},
    /* 192.0.0.0/24 is refused whole, even the /32s IANA marks
     * globally reachable (PCP and TURN anycast). */
    {"192.0.0.8", NETPOLICY_IETF_PROTOCOL},
    {"192.0.0.9", NETPOLICY_IETF_PROTOCOL},
    {"192.0.0.10", NETPOLICY_IETF_PROTOCOL},
    {"192.0.0.170", NETPOLICY_IETF_PROTOCOL},
    {"192.88.99.2", NETPOLICY_ANYCAST},
    /* Global samples between the blocks. */
    {"1.0.0.1", NETPOLICY_GLOBAL},
    {"8.8.8.8", NETPOLICY_GLOBAL},
    {"9.255.255.255", NETPOLICY_GLOBAL},
    {"126.255.255.255", NETPOLICY_GLOBAL},
    {"128.0.0.0", NETPOLICY_GLOBAL},
    {"191.255.255.255", NETPOLICY_GLOBAL},
    {"193.0.0.1", NETPOLICY_GLOBAL},
    {"223.255.255.255", NETPOLICY_GLOBAL},
    {"2000::", NETPOLICY_GLOBAL},
    {"2001:200::1", NETPOLICY_GLOBAL},
    {"2600::1", NETPOLICY_GLOBAL},
    {"2a00:1450:4001:800::200e", NETPOLICY_GLOBAL},
    {"3ffe:ffff::1", NETPOLICY_GLOBAL},
    {"3fff:1000::", NETPOLICY_GLOBAL},
    {"fd00::1", NETPOLICY_UNIQUE_LOCAL},
    {"fe80::1", NETPOLICY_LINK_LOCAL},
    {"febf::1", NETPOLICY_LINK_LOCAL},
    {"ff02::1", NETPOLICY_MULTICAST},
};

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* check_row - parse, classify, and compare both class and name, so that a
 * failure prints the address and the two names. */
static void check_row(const struct class_row *r)
{
	unsigned char o[16];
	int family;

	ck_assert_msg(netpolicy_parse_ip(r->ip, &family, o) == 0,
		      "%s does not parse", r->ip);
	enum netpolicy_class got = netpolicy_classify(family, o);
	ck_assert_msg(got == r->cls, "%s: got %s, expected %s", r->ip,
		      netpolicy_class_name(got), netpolicy_class_name(r->cls));
	/* With an empty allow list, check() agrees with classify(). */
	struct netpolicy p;
	netpolicy_init(&p);
	ck_assert_int_eq(netpolicy_check(&p, family, o), r->cls);
}

START_TEST(test_blocks)
{
	check_row(&block_rows[_i]);
}
END_TEST

START_TEST(test_embedded)
{
	check_row(&embedded_rows[_i]);
}
END_TEST

/* The row tables themselves: every class but the out-of-range one is
 * exercised, so that a new class cannot be added untested. */
START_TEST(test_every_class_covered)
{
	int seen[NETPOLICY_CLASS_LAST] = {0};

	for (int i = 0; i < NROWS(block_rows); i++)
		seen[block_rows[i].cls]++;
	for (int i = 0; i < NROWS(embedded_rows); i++)
		seen[embedded_rows[i].cls]++;
	for (int c = 0; c < NETPOLICY_CLASS_LAST; c++)
		ck_assert_msg(seen[c] > 0, "class %s has no row",
			      netpolicy_class_name(c));
}
END_TEST

struct parse_row {
	const char *text;
	int family; /* 0: refused */
	unsigned char octets[16];
};

static const struct parse_row parse_rows[] = {
    {"1.2.3.4", AF_INET, {1, 2, 3, 4}},
    {"0.0.0.0", AF_INET, {0}},
    {"255.255.255.255", AF_INET, {255, 255, 255, 255}},
    {"::", AF_INET6, {0}},
    {"::1", AF_INET6, {[15] = 1}},
    {"2001:DB8::1", AF_INET6, {0x20, 0x01, 0x0d, 0xb8, [15] = 1}},
    {"::ffff:1.2.3.4", AF_INET6, {[10] = 0xff, 0xff, 1, 2, 3, 4}},
    {"1:2:3:4:5:6:7:8",
     AF_INET6,
     {0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8}},
    /* inet_aton() forms, which would let "127.1" reach loopback. */
    {"127.1", 0, {0}},
    {"1.2.3", 0, {0}},
    {"0x7f.0.0.1", 0, {0}},
    {"0177.0.0.1", 0, {0}},
    {"01.2.3.4", 0, {0}},
    {"2130706433", 0, {0}},
    {"256.0.0.1", 0, {0}},
    {"1.2.3.4.", 0, {0}},
    {" 1.2.3.4", 0, {0}},
    {"1.2.3.4 ", 0, {0}},
    {"1.2.3.4/32", 0, {0}},
    {"", 0, {0}},
    {"localhost", 0, {0}},
    {"[::1]", 0, {0}},
    {"IPv6:::1", 0, {0}},
    {"::1%lo", 0, {0}},
    {"fe80::1%1", 0, {0}},
    {":::1", 0, {0}},
    {"1:2:3:4:5:6:7:8:9", 0, {0}},
    {"::ffff:1.2.3", 0, {0}},
    {"12345::", 0, {0}},
};

START_TEST(test_parse)
{
	const struct parse_row *r = &parse_rows[_i];
	unsigned char o[16] = {0};
	int family = -1;
	int rc = netpolicy_parse_ip(r->text, &family, o);

	if (r->family == 0) {
		ck_assert_msg(rc == -1, "'%s' must be refused", r->text);
		return;
	}
	ck_assert_msg(rc == 0, "'%s' must parse", r->text);
	ck_assert_int_eq(family, r->family);
	ck_assert_mem_eq(o, r->octets, r->family == AF_INET ? 4 : 16);
}
END_TEST

START_TEST(test_names)
{
	static const char *const want[NETPOLICY_CLASS_LAST] = {
	    "global",	       "unspecified",	  "this-network",
	    "loopback",	       "private",	  "shared",
	    "link-local",      "ietf-protocol",	  "documentation",
	    "benchmarking",    "multicast",	  "reserved",
	    "broadcast",       "unique-local",	  "site-local",
	    "discard-only",    "orchid",	  "anycast",
	    "as112",	       "teredo",	  "nat64-local",
	    "ipv4-compatible", "ipv4-translated",
	};
	for (int c = 0; c < NETPOLICY_CLASS_LAST; c++)
		ck_assert_str_eq(netpolicy_class_name(c), want[c]);
	ck_assert_ptr_null(netpolicy_class_name(NETPOLICY_CLASS_LAST));
	ck_assert_ptr_null(netpolicy_class_name((enum netpolicy_class) - 1));
}
END_TEST

START_TEST(test_unknown_family)
{
	unsigned char o[16] = {8, 8, 8, 8};
	struct netpolicy p;

	netpolicy_init(&p);
	ck_assert_int_eq(netpolicy_allow_cidr(&p, "0.0.0.0/0", NULL, 0), 0);
	ck_assert_int_eq(netpolicy_classify(AF_UNSPEC, o), NETPOLICY_RESERVED);
	ck_assert_int_eq(netpolicy_classify(99, o), NETPOLICY_RESERVED);
	ck_assert_int_eq(netpolicy_check(&p, 99, o), NETPOLICY_RESERVED);
}
END_TEST

/* Allow list: the entries (up to 3, NULL-ended) and one address with the
 * verdict of netpolicy_check(). */
struct allow_row {
	const char *allow[3];
	const char *ip;
	enum netpolicy_class want;
};

static const struct allow_row allow_rows[] = {
    /* No entry: special is refused, global passes. */
    {{NULL}, "198.18.0.1", NETPOLICY_BENCHMARKING},
    {{NULL}, "8.8.8.8", NETPOLICY_GLOBAL},
    /* The lab: --allow-net 198.18.0.0/15. */
    {{"198.18.0.0/15"}, "198.18.0.0", NETPOLICY_GLOBAL},
    {{"198.18.0.0/15"}, "198.18.7.7", NETPOLICY_GLOBAL},
    {{"198.18.0.0/15"}, "198.19.255.255", NETPOLICY_GLOBAL},
    {{"198.18.0.0/15"}, "198.20.0.0", NETPOLICY_GLOBAL},
    {{"198.18.0.0/15"}, "10.0.0.1", NETPOLICY_PRIVATE},
    {{"198.18.0.0/15"}, "127.0.0.1", NETPOLICY_LOOPBACK},
    {{"198.18.0.0/15"}, "::ffff:198.18.0.1", NETPOLICY_GLOBAL},
    /* Only the mapped form is IPv4: NAT64 and 6to4 stay IPv6. */
    {{"198.18.0.0/15"}, "64:ff9b::198.18.0.1", NETPOLICY_BENCHMARKING},
    {{"198.18.0.0/15"}, "2002:c612:1::", NETPOLICY_BENCHMARKING},
    {{"198.18.0.0/15"}, "2001:2::1", NETPOLICY_BENCHMARKING},
    /* A bare address is a single host. */
    {{"127.0.0.1"}, "127.0.0.1", NETPOLICY_GLOBAL},
    {{"127.0.0.1"}, "::ffff:127.0.0.1", NETPOLICY_GLOBAL},
    {{"127.0.0.1"}, "127.0.0.2", NETPOLICY_LOOPBACK},
    {{"127.0.0.1"}, "::1", NETPOLICY_LOOPBACK},
    {{"127.0.0.1"}, "0.0.0.0", NETPOLICY_THIS_NETWORK},
    {{"::1"}, "::1", NETPOLICY_GLOBAL},
    {{"::1"}, "127.0.0.1", NETPOLICY_LOOPBACK},
    {{"::1"}, "::ffff:127.0.0.1", NETPOLICY_LOOPBACK},
    /* Everything IPv4, but never 0/8, multicast or broadcast. */
    {{"0.0.0.0/0"}, "10.1.2.3", NETPOLICY_GLOBAL},
    {{"0.0.0.0/0"}, "127.0.0.1", NETPOLICY_GLOBAL},
    {{"0.0.0.0/0"}, "240.0.0.1", NETPOLICY_GLOBAL},
    {{"0.0.0.0/0"}, "0.0.0.0", NETPOLICY_THIS_NETWORK},
    {{"0.0.0.0/0"}, "0.1.2.3", NETPOLICY_THIS_NETWORK},
    {{"0.0.0.0/0"}, "::ffff:0.0.0.0", NETPOLICY_THIS_NETWORK},
    {{"0.0.0.0/0"}, "224.0.0.1", NETPOLICY_MULTICAST},
    {{"0.0.0.0/0"}, "255.255.255.255", NETPOLICY_BROADCAST},
    {{"0.0.0.0/0"}, "fc00::1", NETPOLICY_UNIQUE_LOCAL},
    {{"0.0.0.0/8"}, "0.0.0.0", NETPOLICY_THIS_NETWORK},
    {{"224.0.0.0/4"}, "224.0.0.25", NETPOLICY_MULTICAST},
    /* Everything IPv6, but never :: or multicast, and no IPv4. */
    {{"::/0"}, "fe80::1", NETPOLICY_GLOBAL},
    {{"::/0"}, "fd12::1", NETPOLICY_GLOBAL},
    {{"::/0"}, "2001:db8::25", NETPOLICY_GLOBAL},
    {{"::/0"}, "::", NETPOLICY_UNSPECIFIED},
    {{"::/0"}, "ff02::1", NETPOLICY_MULTICAST},
    {{"::/0"}, "10.0.0.1", NETPOLICY_PRIVATE},
    {{"::/0"}, "::ffff:10.0.0.1", NETPOLICY_PRIVATE},
    /* A mapped CIDR is stored as IPv4. */
    {{"::ffff:10.0.0.0/104"}, "10.9.9.9", NETPOLICY_GLOBAL},
    {{"::ffff:10.0.0.0/104"}, "::ffff:10.9.9.9", NETPOLICY_GLOBAL},
    {{"::ffff:10.0.0.0/104"}, "172.16.0.1", NETPOLICY_PRIVATE},
    /* Several entries, odd prefix lengths, exact edges. */
    {{"fd00::/8", "192.168.1.0/24"}, "fd00::25", NETPOLICY_GLOBAL},
    {{"fd00::/8", "192.168.1.0/24"}, "fc00::25", NETPOLICY_UNIQUE_LOCAL},
    {{"fd00::/8", "192.168.1.0/24"}, "192.168.1.255", NETPOLICY_GLOBAL},
    {{"fd00::/8", "192.168.1.0/24"}, "192.168.2.0", NETPOLICY_PRIVATE},
    {{"fd00::/8", "192.168.1.0/24"}, "192.168.0.255", NETPOLICY_PRIVATE},
    {{"10.0.0.0/31"}, "10.0.0.1", NETPOLICY_GLOBAL},
    {{"10.0.0.0/31"}, "10.0.0.2", NETPOLICY_PRIVATE},
    {{"2001:db8::/33"}, "2001:db8:7fff:ffff::1", NETPOLICY_GLOBAL},
    {{"2001:db8::/33"}, "2001:db8:8000::1", NETPOLICY_DOCUMENTATION},
    {{"172.16.0.0/13"}, "172.23.255.255", NETPOLICY_GLOBAL},
    {{"172.16.0.0/13"}, "172.24.0.0", NETPOLICY_PRIVATE},
    {{"64:ff9b::/96"}, "64:ff9b::10.0.0.1", NETPOLICY_GLOBAL},
    {{"2001::/32"}, "2001:0:4136:e378:8000:63bf:3fff:fdd2", NETPOLICY_GLOBAL},
};

START_TEST(test_allow)
{
	const struct allow_row *r = &allow_rows[_i];
	struct netpolicy p;
	unsigned char o[16];
	char err[NETPOLICY_ERR_MAX];
	int family;

	netpolicy_init(&p);
	for (int i = 0; i < 3 && r->allow[i] != NULL; i++)
		ck_assert_msg(
		    netpolicy_allow_cidr(&p, r->allow[i], err, sizeof err) == 0,
		    "%s: %s", r->allow[i], err);
	ck_assert(netpolicy_parse_ip(r->ip, &family, o) == 0);
	enum netpolicy_class got = netpolicy_check(&p, family, o);
	ck_assert_msg(got == r->want, "%s allowed by %s: got %s, expected %s",
		      r->ip, r->allow[0] ? r->allow[0] : "nothing",
		      netpolicy_class_name(got), netpolicy_class_name(r->want));
}
END_TEST

/* Stored form of accepted CIDRs: family, network and prefix. */
struct cidr_ok_row {
	const char *cidr;
	int family;
	unsigned char addr[16];
	unsigned prefix;
};

static const struct cidr_ok_row cidr_ok_rows[] = {
    {"198.18.0.0/15", AF_INET, {198, 18}, 15},
    {"0.0.0.0/0", AF_INET, {0}, 0},
    {"127.0.0.1", AF_INET, {127, 0, 0, 1}, 32},
    {"192.0.2.1/32", AF_INET, {192, 0, 2, 1}, 32},
    {"10.0.0.0/8", AF_INET, {10}, 8},
    {"::/0", AF_INET6, {0}, 0},
    {"::1", AF_INET6, {[15] = 1}, 128},
    {"2001:db8::/32", AF_INET6, {0x20, 0x01, 0x0d, 0xb8}, 32},
    {"fe80::/10", AF_INET6, {0xfe, 0x80}, 10},
    {"::ffff:10.0.0.0/104", AF_INET, {10}, 8},
    {"::ffff:0.0.0.0/96", AF_INET, {0}, 0},
    {"::fffe:0:0/95", AF_INET6, {[10] = 0xff, 0xfe}, 95},
};

START_TEST(test_cidr_ok)
{
	const struct cidr_ok_row *r = &cidr_ok_rows[_i];
	struct netpolicy p;
	char err[NETPOLICY_ERR_MAX];

	netpolicy_init(&p);
	ck_assert_msg(netpolicy_allow_cidr(&p, r->cidr, err, sizeof err) == 0,
		      "%s: %s", r->cidr, err);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(p.allow_count, 1);
	ck_assert_int_eq(p.allow[0].family, r->family);
	ck_assert_uint_eq(p.allow[0].prefix, r->prefix);
	ck_assert_mem_eq(p.allow[0].addr, r->addr, 16);
}
END_TEST

/* Refused CIDRs and a fragment the sentence must hold. */
struct cidr_err_row {
	const char *cidr;
	const char *words;
};

static const struct cidr_err_row cidr_err_rows[] = {
    {"", "empty network"},
    {"10.0.0.1/8", "host bits set after the prefix length; the network is "
		   "10.0.0.0/8"},
    {"198.18.0.1/15", "the network is 198.18.0.0/15"},
    {"198.19.0.0/15", "the network is 198.18.0.0/15"},
    {"192.168.1.1/24", "the network is 192.168.1.0/24"},
    {"0.0.0.1/0", "the network is 0.0.0.0/0"},
    {"2001:db8::1/32", "the network is 2001:db8::/32"},
    {"fe80::1/10", "the network is fe80::/10"},
    {"::1/0", "the network is ::/0"},
    {"::ffff:10.0.0.1/104", "the network is 10.0.0.0/8"},
    {"10.0.0.0/33", "a number from 0 to 32"},
    {"::/129", "a number from 0 to 128"},
    {"10.0.0.0/", "a number from 0 to 32"},
    {"10.0.0.0/-1", "a number from 0 to 32"},
    {"10.0.0.0/+8", "a number from 0 to 32"},
    {"10.0.0.0/08", "a number from 0 to 32"},
    {"10.0.0.0/8x", "a number from 0 to 32"},
    {"10.0.0.0/8 ", "a number from 0 to 32"},
    {"10.0.0.0/0008", "a number from 0 to 32"},
    {"10.0.0.0/1000", "a number from 0 to 32"},
    {"10.0.0.0/8/8", "a number from 0 to 32"},
    {"10.0.0.0/8\n", "a number from 0 to 32"},
    {"10.0.0/8", "'10.0.0' is not an IPv4 or IPv6 address"},
    {"010.0.0.0/8", "is not an IPv4 or IPv6 address"},
    {"127.1/32", "is not an IPv4 or IPv6 address"},
    {" 10.0.0.0/8", "is not an IPv4 or IPv6 address"},
    {"10.0.0.0 /8", "is not an IPv4 or IPv6 address"},
    {"fe80::%eth0/64", "is not an IPv4 or IPv6 address"},
    {"[::1]/128", "is not an IPv4 or IPv6 address"},
    {"/8", "is not an IPv4 or IPv6 address"},
    {"example.com/24", "is not an IPv4 or IPv6 address"},
    {"1.2.3.4-1.2.3.9", "is not an IPv4 or IPv6 address"},
    {"0123456789012345678901234567890123456789012345678",
     "is not an IPv4 or IPv6 address"},
    {"01234567890123456789012345678901234567890123456789",
     "longer than 49 characters"},
    /* A control character never reaches the message. */
    {"10.0.0.0/8\x1b[31m", "'10.0.0.0/8?[31m' is not a network"},
};

START_TEST(test_cidr_err)
{
	const struct cidr_err_row *r = &cidr_err_rows[_i];
	struct netpolicy p;
	char err[NETPOLICY_ERR_MAX];

	netpolicy_init(&p);
	ck_assert_int_eq(netpolicy_allow_cidr(&p, r->cidr, err, sizeof err),
			 -1);
	ck_assert_uint_eq(p.allow_count, 0);
	ck_assert_msg(strstr(err, r->words) != NULL,
		      "'%s': message '%s' lacks '%s'", r->cidr, err, r->words);
	for (const char *c = err; *c != '\0'; c++)
		ck_assert_msg(*c >= 0x20 && *c < 0x7f, "control in '%s'", err);
}
END_TEST

START_TEST(test_cidr_limits)
{
	struct netpolicy p;
	char err[NETPOLICY_ERR_MAX], cidr[32];

	netpolicy_init(&p);
	for (int i = 0; i < NETPOLICY_ALLOW_MAX; i++) {
		snprintf(cidr, sizeof cidr, "10.%d.0.0/16", i);
		ck_assert_int_eq(
		    netpolicy_allow_cidr(&p, cidr, err, sizeof err), 0);
	}
	ck_assert_uint_eq(p.allow_count, NETPOLICY_ALLOW_MAX);
	ck_assert_int_eq(
	    netpolicy_allow_cidr(&p, "10.200.0.0/16", err, sizeof err), -1);
	ck_assert_str_eq(err, "too many allowed networks (at most 64)");
	ck_assert_uint_eq(p.allow_count, NETPOLICY_ALLOW_MAX);

	/* The last entry that fitted still works; the refused one does
	 * not. */
	unsigned char o[4] = {10, 63, 1, 1};
	ck_assert_int_eq(netpolicy_check(&p, AF_INET, o), NETPOLICY_GLOBAL);
	o[1] = 200;
	ck_assert_int_eq(netpolicy_check(&p, AF_INET, o), NETPOLICY_PRIVATE);
}
END_TEST

START_TEST(test_cidr_small_err_buffer)
{
	struct netpolicy p;
	char err[8];

	netpolicy_init(&p);
	memset(err, 'x', sizeof err);
	ck_assert_int_eq(
	    netpolicy_allow_cidr(&p, "10.0.0.1/8", err, sizeof err), -1);
	ck_assert_str_eq(err, "'10.0.0");
	ck_assert_int_eq(netpolicy_allow_cidr(&p, "bad", NULL, 0), -1);
	ck_assert_int_eq(netpolicy_allow_cidr(&p, "10.0.0.0/8", NULL, 0), 0);
	ck_assert_uint_eq(p.allow_count, 1);
}
END_TEST

Suite *netpolicy_suite(void)
{
	Suite *s = suite_create("netpolicy");
	TCase *tc;

	tc = tcase_create("registry_blocks");
	tcase_add_loop_test(tc, test_blocks, 0, NROWS(block_rows));
	tcase_add_test(tc, test_every_class_covered);
	suite_add_tcase(s, tc);

	tc = tcase_create("embedded_ipv4_and_samples");
	tcase_add_loop_test(tc, test_embedded, 0, NROWS(embedded_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("parse_strict");
	tcase_add_loop_test(tc, test_parse, 0, NROWS(parse_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("names_and_family");
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_unknown_family);
	suite_add_tcase(s, tc);

	tc = tcase_create("allow_net");
	tcase_add_loop_test(tc, test_allow, 0, NROWS(allow_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("cidr_parse");
	tcase_add_loop_test(tc, test_cidr_ok, 0, NROWS(cidr_ok_rows));
	tcase_add_loop_test(tc, test_cidr_err, 0, NROWS(cidr_err_rows));
	tcase_add_test(tc, test_cidr_limits);
	tcase_add_test(tc, test_cidr_small_err_buffer);
	suite_add_tcase(s, tc);

	return s;
}
