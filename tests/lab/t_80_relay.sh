# t_80_relay.sh - `rcptd relay-test` (issue 8), the open-relay audit:
# the real Postfix with its default relay restrictions refuses every form
# (exit 0); the scripted open-relay-partial server accepts the percent
# hack and bang paths (exit 1, and the table names them); a loopback
# target without --allow-net is refused before anything connects (exit 2,
# the canary stays silent); --json parses.

# Postfix delays every reply by 1 s once a client passed its soft error
# limit (10): the audit's 20 refusals take about half a minute there.
# shellcheck disable=SC2034 # read by lab_exec (lib.sh)
LAB_CMD_TIMEOUT=120

# relay ARGS... - rcptd relay-test inside the lab, the lab's nets allowed;
# stdout in $out, stderr in $err, the exit status in $rc.
relay() {
	local e
	e=$(mktemp)
	out=$(lab_exec "$RCPTD" relay-test --allow-net 198.18.0.0/15 \
		--allow-net 2001:2::/48 --helo verifier.test \
		--connect-timeout 2 --command-timeout 10 "$@" 2>"$e")
	rc=$?
	err=$(cat "$e")
	rm -f "$e"
}

# json_field EXPR - evaluate EXPR on the JSON object in $out (d), or say
# why it does not parse.
json_field() {
	printf '%s\n' "$out" | "$LAB_PY" -c '
import json, sys
try:
    d = json.loads(sys.stdin.read())
except ValueError as e:
    print("(not JSON: %s)" % e)
    sys.exit(0)
print(eval(sys.argv[1]))' "$1"
}

if [ ! -x "${RCPTD:-}" ]; then
	lab_fail "RCPTD='${RCPTD:-}' is not an executable"
	exit 0
fi
lab_reset

# ---- the real Postfix: closed --------------------------------------------

relay --json --server-domain postfix.test mx.postfix.test
expect_eq "Postfix: exit status 0 (closed)" 0 "$rc"
# mx.postfix.test has an IPv4 and an IPv6 address, both in the allowed
# nets: the resolver's order picks one.
expect_match "Postfix: the JSON names the address it tested" \
	"^($LAB_IP_postfix|$LAB_IP6_postfix) 25 postfix\.test relay-test\.invalid\$" \
	"$(json_field '"%s %s %s %s" % (d["ip"], d["port"], d["server_domain"], d["outside"])')"
expect_eq "Postfix: 20 forms, none accepted" "20 [] False" \
	"$(json_field '"%d %s %s" % (len(d["tests"]), d["accepted"], d["open_relay"])')"
# Refused, or inconclusive only where Postfix says the domain is not
# found; a refused MAIL FROM (the empty-domain sender) leaves a form not
# tested, which is no relay either.
expect_eq "Postfix: every form refused or inconclusive for 'Domain not found'" "" \
	"$(json_field '"; ".join("%d %s %s %s" % (t["n"], t["result"], t["code"], t["message"]) for t in d["tests"] if not (t["result"] == "refused" or (t["result"] == "inconclusive" and "Domain not found" in t["message"]) or t["reason"] == "mail_refused"))')"
expect_eq "Postfix: relaying refused as Postfix words it" \
	"454 4.7.1 <relaytest@relay-test.invalid>: Relay access denied" \
	"$(json_field '"%s %s %s" % (d["tests"][0]["code"], d["tests"][0]["enhanced"], d["tests"][0]["message"])')"
expect_eq "Postfix: the verdict" "no relay accepted" "$(json_field 'd["verdict"]')"
expect_eq "Postfix: no warning or error on stderr" "" \
	"$(printf '%s\n' "$err" | grep -v 'info:' | grep .)"

# ---- the scripted server that relays the percent hack and bang paths -----

relay --server-domain relay.test mx.relay.test
expect_eq "open-relay-partial: exit status 1" 1 "$rc"
expect_eq "open-relay-partial: the verdict line comes last" \
	"OPEN RELAY: 2 forms accepted" "$(printf '%s\n' "$out" | tail -n 1)"
expect_match "the table names the percent hack as accepted" \
	'^ *7  percent hack +<> +<relaytest%relay-test\.invalid@relay\.test> +accepted +250 2\.1\.5 Ok$' \
	"$out"
expect_match "the table names the bang path as accepted" \
	'^ *19  bang path at server domain +<> +<relay-test\.invalid!relaytest@relay\.test> +accepted +250 2\.1\.5 Ok$' \
	"$out"
expect_eq "no other form accepted" 2 \
	"$(printf '%s\n' "$out" | grep -cE '^ *[0-9]+  .* accepted  ')"
expect_contains "the accepted forms listed by name" \
	"accepted: 7 percent hack, 19 bang path at server domain" "$out"
expect_match "the header names the server and its address" \
	"^relay test of mx\.relay\.test \\($LAB_IP_relay port 25\\)" "$out"
expect_transcript_contains relay "RSET"
expect_transcript_contains relay "MAIL FROM:<spamtest@[$LAB_IP_relay]>"
expect_transcript_contains relay "RCPT TO:<@relay.test:relaytest@relay-test.invalid>"
expect_transcript_lacks relay "DATA"
expect_eq "one session for all 20 tests" 1 "$(lab_stat relay sessions)"

relay --json --server-domain relay.test "$LAB_IP_relay:25"
expect_eq "open-relay-partial --json: exit status 1" 1 "$rc"
expect_eq "open-relay-partial --json: the accepted forms" \
	"['percent_hack', 'bang_path_server_domain'] True" \
	"$(json_field '"%s %s" % (d["accepted"], d["open_relay"])')"
expect_eq "open-relay-partial --json: the counts" \
	"{'accepted': 2, 'refused': 18, 'inconclusive': 0, 'not_tested': 0}" \
	"$(json_field 'd["counts"]')"

# ---- the network policy: nothing connects to loopback --------------------

for target in 127.0.0.1 "[::1]:25" mx.loopback.test; do
	out=$(lab_exec "$RCPTD" relay-test --helo verifier.test \
		--server-domain loopback.test "$target" 2>&1)
	rc=$?
	expect_eq "loopback target $target: exit status 2" 2 "$rc"
	expect_contains "loopback target $target: refused by the policy" \
		"refusing to connect to" "$out"
done
relay --server-domain loopback.test mx.loopback.test
expect_eq "--allow-net for the lab's nets does not open loopback" 2 "$rc"
expect_canary_silent

# ---- usage errors --------------------------------------------------------

relay
expect_eq "no HOST: exit status 2" 2 "$rc"
relay "$LAB_IP_relay"
expect_eq "an address without --server-domain: exit status 2" 2 "$rc"
expect_contains "an address without --server-domain: says so" \
	"--server-domain" "$err"
relay --server-domain relay.test "$LAB_IP_down"
expect_eq "a host that is down: exit status 2" 2 "$rc"
expect_contains "a host that is down: says why" "connect" "$err"
