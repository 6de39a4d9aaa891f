# t_10_dns.sh - the lab DNS (unbound) answers every scenario record as
# declared, and the special cases as the probe engine needs them.
# shellcheck disable=SC2154 # LAB_* come from the lab's env file

# dig_status NAME TYPE [DIG OPTIONS] - the RCODE the lab DNS answers.
dig_status() {
	local name=$1 type=$2
	shift 2
	lab_exec dig @"$LAB_DNS" +time=2 +tries=1 "$@" "$name" "$type" |
		sed -n 's/.*status: \([A-Z]*\),.*/\1/p'
}

# dig_answer NAME TYPE - the answer section as "owner type data" lines.
dig_answer() {
	lab_exec dig @"$LAB_DNS" +time=2 +tries=1 +noall +answer "$1" "$2" |
		awk '{ d = $5; for (i = 6; i <= NF; i++) d = d " " $i;
		       print tolower($1), $4, d }'
}

# -- every record of the scenario (dns/expect, written by labgen), one
#    query per owner and type, all in one dig run.
expect_file=$LAB_RUN/dns/expect
awk '$2 != "SERVFAIL" { print $1, $2 }' "$expect_file" | sort -u >"$LAB_RUN/dns/queries"
seen=$(lab_exec dig @"$LAB_DNS" +time=2 +tries=1 +noall +answer \
	-f "$LAB_RUN/dns/queries" |
	awk '{ d = $5; for (i = 6; i <= NF; i++) d = d " " $i;
	       print tolower($1), $4, d }')
n=0
while read -r owner type; do
	want=$(awk -v o="$owner" -v t="$type" '$1 == o && $2 == t' "$expect_file" | sort)
	got=$(printf '%s\n' "$seen" | awk -v o="$owner" -v t="$type" '$1 == o && $2 == t' | sort)
	expect_eq "$owner $type" "$want" "$got"
	n=$((n + 1))
done <"$LAB_RUN/dns/queries"
expect_match "records checked" '^[1-9][0-9]*$' "$n"

# -- answers that are not records
expect_eq "nxdomain.test is absent" NXDOMAIN "$(dig_status nxdomain.test MX)"
expect_eq "any undeclared name under test. is NXDOMAIN" NXDOMAIN \
	"$(dig_status "nobody-$RANDOM.test" MX)"
expect_eq "below a lab domain, too" NXDOMAIN \
	"$(dig_status deep.below.postfix.test A)"
expect_eq "an MX host that does not exist" NXDOMAIN \
	"$(dig_status gone.dangling.test A)"
expect_eq "an MX host without address: NODATA" "NOERROR " \
	"$(dig_status mx.noaddr.test A) $(dig_answer mx.noaddr.test A)"
expect_eq "no AAAA either" "NOERROR " \
	"$(dig_status mx.noaddr.test AAAA) $(dig_answer mx.noaddr.test AAAA)"
expect_eq "implicit MX: no MX record" "NOERROR " \
	"$(dig_status implicit.test MX) $(dig_answer implicit.test MX)"
expect_eq "null MX (RFC 7505)" "nullmx.test. MX 0 ." "$(dig_answer nullmx.test MX)"
expect_eq "MX host on IPv4 loopback" "mx.loopback.test. A 127.0.0.1" \
	"$(dig_answer mx.loopback.test A)"
expect_eq "MX host on IPv6 loopback" "mx.loopback6.test. AAAA ::1" \
	"$(dig_answer mx.loopback6.test AAAA)"

# SERVFAIL at once: the stub zone's only server may not be queried.
t0=$(date +%s%N)
st=$(dig_status servfail.test MX)
ms=$((($(date +%s%N) - t0) / 1000000))
expect_eq "servfail.test" SERVFAIL "$st"
expect_eq "servfail.test answers within a second" yes \
	"$([ "$ms" -lt 1000 ] && echo yes || echo "no: $ms ms")"
expect_eq "below servfail.test too" SERVFAIL "$(dig_status mx.servfail.test A)"

# The lab never resolves real names: nothing could leave the namespace.
expect_eq "names outside test. are refused" REFUSED \
	"$(dig_status example.com MX)"
expect_eq "the root too" REFUSED "$(dig_status . NS)"

# CNAMEs are followed in the answer.
expect_eq "the domain is a CNAME" \
	"cname.test. CNAME postfix.test.|postfix.test. MX 10 mx.postfix.test." \
	"$(dig_answer cname.test MX | paste -sd'|')"
expect_eq "the MX host is a CNAME" \
	"mail.mxcname.test. CNAME mx.postfix.test.|mx.postfix.test. A 198.18.1.1" \
	"$(dig_answer mail.mxcname.test A | paste -sd'|')"

# Many MX: too large for 512 bytes without EDNS (TC set), whole over TCP.
flags=$(lab_exec dig @"$LAB_DNS" +noedns +ignore +time=2 +tries=1 manymx.test MX |
	sed -n 's/.*flags: \([a-z ]*\);.*/\1/p')
expect_match "manymx.test over UDP without EDNS is truncated" '(^| )tc( |$)' "$flags"
expect_eq "manymx.test over TCP: 30 MX" 30 \
	"$(lab_exec dig @"$LAB_DNS" +tcp +time=2 +tries=1 +noall +answer manymx.test MX | grep -c 'IN[[:space:]]*MX')"

expect_eq "a name the wildcard stands for" "mx17.manymx.test. A 198.18.3.1" \
	"$(dig_answer mx17.manymx.test A)"

# Reverse names of the lab hosts (Postfix looks its clients up).
expect_eq "PTR of the postfix host" postfix.lab.test. \
	"$(lab_exec dig @"$LAB_DNS" +short -x "$LAB_IP_postfix")"
expect_eq "PTR over IPv6" postfix.lab.test. \
	"$(lab_exec dig @"$LAB_DNS" +short -x "$LAB_IP6_postfix")"

# The DNS listens on its IPv6 address too.
expect_eq "lab DNS over IPv6" "10 mx.postfix.test." \
	"$(lab_exec dig @"$LAB_DNS6" +short +time=2 +tries=1 postfix.test MX)"

# The namespace's own resolver (/etc/netns/NAME/resolv.conf) is the lab's:
# any program run with lab_exec resolves lab names.
expect_eq "resolv.conf in the namespace" \
	"nameserver $LAB_DNS nameserver $LAB_DNS6" \
	"$(lab_exec grep '^nameserver' /etc/resolv.conf | paste -sd' ')"
expect_eq "system resolver: A and AAAA" "198.18.1.1 2001:2::1:1" \
	"$(lab_exec getent ahosts mx.postfix.test | awk '{print $1}' | sort -u | paste -sd' ')"
expect_eq "system resolver: an IPv6-only host" "2001:2::2:1" \
	"$(lab_exec getent ahosts mx.ipv6only.test | awk '{print $1}' | sort -u | paste -sd' ')"
expect_eq "system resolver: NXDOMAIN" 2 \
	"$(lab_exec getent hosts nxdomain.test >/dev/null; echo $?)"
