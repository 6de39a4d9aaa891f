# t_85_doctor.sh - `rcptd doctor` (issue 7) on a good and a bad setup.
#
# It needs names the default scenario does not have (a verifier identity
# of its own, a DNS blocklist listing one lab address), so it brings up a
# small lab of its own from the scenario below, next to the suite's, and
# tears it down at the end (LAB_OWNER: `lab gc` reclaims it if this test
# is killed). Every address is a lab address inside that namespace.
#   good: HELO verifier.lab.test, whose A record is the --source-ip and
#         whose PTR names it back; port 25 open at the MX of good.test;
#         a sender domain with an MX; Redis up; a DNSBL that does not
#         list the address (and one that refuses the query: a warning):
#         exit 0, every line PASS but that WARN.
#   bad:  a HELO name with no address; the only MX of the target is down;
#         the source address's PTR names another host and a DNSBL lists
#         it; a sender domain that cannot receive mail; Redis down: exit
#         1, each problem a FAIL with a fix.
# shellcheck disable=SC2154 # LAB_* come from the lab's env file

scenario=$(mktemp /tmp/rcptd-t85.XXXXXX)
cat >"$scenario" <<'EOF'
[hosts]
dns       198.18.0.53   dns
mx        198.18.2.1    smtp  behaviour=users
verifier  198.18.5.1    none
listed    198.18.5.2    none
down      198.18.9.1    none
redis     127.0.0.1     redis port=6379

[dns]
good.test                 MX    10 mx.good.test
mx.good.test              ADDR  mx
down.test                 MX    10 mx.down.test
mx.down.test              ADDR  down
sender.test               MX    10 mx.good.test
noaddr.test               TXT   "neither an MX nor an address"
# A DNS blocklist (RFC 5782): its test point, and the address of "listed".
2.0.0.127.dnsbl.test      A     127.0.0.2
2.5.18.198.dnsbl.test     A     127.0.0.2
2.5.18.198.dnsbl.test     TXT   "listed in the lab, see dnsbl.test"
# A blocklist that refuses the query (Spamhaus answers 127.255.255.254 to
# public resolvers).
2.0.0.127.refusing.test   A     127.255.255.254
1.5.18.198.refusing.test  A     127.255.255.254
EOF
d_env=$(LAB_OWNER=$$ "$LAB_DIR/lab" up "$scenario")
rm -f "$scenario"
d_ns=$(sed -n "s/^LAB_NS='\(.*\)'$/\1/p" "$d_env" 2>/dev/null)
trap '[ -n "$d_env" ] && "$LAB_DIR/lab" down "$d_env" >/dev/null 2>&1' EXIT

# doctor ARGS... - rcptd doctor in the test's lab; stdout in $out, stderr
# in $err, the exit status in $rc.
doctor() {
	local e
	e=$(mktemp)
	out=$(timeout -k 5 "$LAB_CMD_TIMEOUT" ip netns exec "$d_ns" \
		"$RCPTD" doctor --dns-server 198.18.0.53 \
		--allow-net 198.18.0.0/15 --connect-timeout 2s "$@" 2>"$e")
	rc=$?
	err=$(cat "$e")
	rm -f "$e"
}

# line PREFIX - the report's line that starts with PREFIX.
line() { printf '%s\n' "$out" | grep -F -- "$1" | head -n 1; }

if [ -z "$d_ns" ]; then
	lab_fail "the doctor's lab did not come up ($d_env)"
	return 0 2>/dev/null || exit 0
fi

# ---- good -----------------------------------------------------------------
doctor --helo verifier.lab.test --source-ip 198.18.5.1 \
	--target-domain good.test --mail-from postmaster@sender.test \
	--redis redis://127.0.0.1:6379 --dnsbl dnsbl.test --dnsbl refusing.test
expect_eq "good: exit status" 0 "$rc"
expect_match "good: DNS" '^PASS  DNS: --dns-server \(198\.18\.0\.53\) answered' \
	"$(line "  DNS:")"
expect_match "good: port 25" \
	'^PASS  port 25: mx\.good\.test \[198\.18\.2\.1\]:25 greeted us in [0-9]+ ms: "220 ' \
	"$(line "  port 25:")"
expect_eq "good: outgoing address" \
	"PASS  outgoing address: 198.18.5.1 (--source-ip)" \
	"$(line "  outgoing address:")"
expect_eq "good: HELO syntax" \
	"PASS  HELO verifier.lab.test is a fully qualified domain name" \
	"$(line "is a fully qualified")"
expect_eq "good: HELO resolves to the outgoing address" \
	"PASS  HELO verifier.lab.test resolves to 198.18.5.1 (the outgoing address)" \
	"$(line "resolves to")"
expect_eq "good: PTR, forward-confirmed" \
	"PASS  PTR of 198.18.5.1: verifier.lab.test, the HELO name (forward-confirmed)" \
	"$(line "  PTR of")"
expect_eq "good: MAIL FROM" \
	"PASS  MAIL FROM postmaster@sender.test: sender.test has an MX (mx.good.test, preference 10)" \
	"$(line "  MAIL FROM")"
expect_match "good: Redis" '^PASS  Redis redis://127\.0\.0\.1:6379: PONG in [0-9]+ ms$' \
	"$(line "  Redis")"
expect_eq "good: DNSBL not listed" \
	"PASS  DNSBL dnsbl.test: 198.18.5.1 is not listed" \
	"$(line "  DNSBL dnsbl.test")"
expect_match "good: a DNSBL that refuses the query is a warning" \
	'^WARN  DNSBL refusing\.test: its test address 127\.0\.0\.2 is not listed \(127\.255\.255\.254\)' \
	"$(line "  DNSBL refusing.test")"
expect_eq "good: summary" "doctor: 9 passed, 2 warnings, 0 failed, 0 skipped" \
	"$(printf '%s\n' "$out" | tail -n 1)"

# The kernel's choice: from inside the lab, a connection to mx (a local
# address) leaves from mx's own address, whose PTR is mx.lab.test. Options
# from the environment this time.
out=$(RCPTD_HELO=mx.lab.test RCPTD_TARGET_HOST=198.18.2.1:25 \
	RCPTD_DNS_SERVER=198.18.0.53 RCPTD_ALLOW_NET=198.18.0.0/15 \
	timeout -k 5 "$LAB_CMD_TIMEOUT" ip netns exec "$d_ns" "$RCPTD" doctor 2>&1)
rc=$?
expect_eq "kernel's source: exit status" 0 "$rc"
expect_eq "kernel's source: the address" \
	"PASS  outgoing address: 198.18.2.1 (the kernel's choice for 198.18.2.1)" \
	"$(line "  outgoing address:")"
expect_eq "kernel's source: PTR" \
	"PASS  PTR of 198.18.2.1: mx.lab.test, the HELO name (forward-confirmed)" \
	"$(line "  PTR of")"

# ---- bad ------------------------------------------------------------------
doctor --helo nohost.test --source-ip 198.18.5.2 --target-domain down.test \
	--mail-from x@noaddr.test --redis redis://127.0.0.1:6390 \
	--dnsbl dnsbl.test
expect_eq "bad: exit status" 1 "$rc"
expect_eq "bad: port 25 refused" \
	"FAIL  port 25: no greeting from mx.down.test ([198.18.9.1]:25 connection refused)" \
	"$(line "  port 25:")"
expect_eq "bad: HELO without an address" \
	"FAIL  HELO nohost.test has no A or AAAA record (NXDOMAIN)" \
	"$(line "  HELO nohost.test has")"
expect_eq "bad: PTR names another host" \
	"FAIL  PTR of 198.18.5.2: listed.lab.test, not the HELO name nohost.test" \
	"$(line "  PTR of")"
expect_match "bad: the PTR's fix names the host that resolves back" \
	'fix: use --helo listed\.lab\.test \(it resolves back to 198\.18\.5\.2\)' "$out"
expect_match "bad: MAIL FROM domain without MX" \
	'^FAIL  MAIL FROM x@noaddr\.test: noaddr\.test cannot receive mail \(no_mail_server' \
	"$(line "  MAIL FROM")"
expect_match "bad: Redis down" \
	'^FAIL  Redis redis://127\.0\.0\.1:6390: .*(refused|no answer)' \
	"$(line "  Redis")"
expect_eq "bad: listed on the DNSBL, with its TXT" \
	'FAIL  DNSBL dnsbl.test: 198.18.5.2 is listed (127.0.0.2): "listed in the lab, see dnsbl.test"' \
	"$(line "  DNSBL dnsbl.test")"
expect_eq "bad: every FAIL and WARN has its fix" \
	"$(printf '%s\n' "$out" | grep -cE '^(FAIL|WARN)  ')" \
	"$(printf '%s\n' "$out" | grep -c '^      fix: ')"
expect_eq "bad: summary" "doctor: 3 passed, 0 warnings, 6 failed, 0 skipped" \
	"$(printf '%s\n' "$out" | tail -n 1)"

# HELO "localhost", and no target at all.
doctor --helo localhost --target-host 198.18.2.1
expect_match "HELO localhost is refused" \
	"^FAIL  HELO 'localhost' is not a fully qualified domain name" "$out"
doctor --helo verifier.lab.test
expect_eq "no target: usage error" 2 "$rc"
expect_contains "no target: says which options" "--target-domain DOMAIN" "$err"
doctor --target-host '[2001:2::1'
expect_eq "malformed --target-host: usage error" 2 "$rc"
expect_eq "malformed --target-host: nothing checked" "" "$out"
doctor --target-host 198.18.2.1 --source-ip 198.18.5
expect_eq "malformed --source-ip: usage error" 2 "$rc"
expect_contains "malformed --source-ip: says so" "--source-ip: '198.18.5'" "$err"

"$LAB_DIR/lab" down "$d_env" >/dev/null 2>&1
d_env=""
