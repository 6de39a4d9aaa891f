# t_50_verify.sh - rcptd verify against every DNS scenario and scripted
# behaviour of the lab, with exact status and reason (issue 4), and the
# safety promises: no probe of loopback, no injected command on the wire.

lab_reset

# verify ADDRESS... [-- FLAGS] - the JSON lines of one rcptd verify run in
# the lab (the flags expect_verdict uses, plus FLAGS).
verify() {
	local addrs=() extra=()
	while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
		addrs+=("$1")
		shift
	done
	[ "$#" -gt 0 ] && shift && extra=("$@")
	lab_exec "$RCPTD" verify --dns-server "$LAB_DNS" \
		--allow-net 198.18.0.0/15 --allow-net 2001:2::/48 \
		--helo verifier.test --connect-timeout 2 --command-timeout 3 \
		--banner-timeout 3 "${extra[@]}" -- "${addrs[@]}" 2>/dev/null
}

# field JSON PATH - one field of a verdict ("smtp.message", "catch_all").
field() {
	printf '%s\n' "$1" | "$LAB_PY" -c '
import json, sys
v = json.loads(sys.stdin.readline())
for k in sys.argv[1].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$2"
}

# -- the real Postfix
expect_verdict alice@postfix.test deliverable accepted
expect_verdict nobody@postfix.test undeliverable mailbox_not_found
out=$(verify nobody@postfix.test)
expect_contains "Postfix's own rejection in smtp.message" \
	"Recipient address rejected: User unknown in virtual mailbox table" \
	"$(field "$out" smtp.message)"
expect_eq "Postfix: rejection at rcpt with 5.1.1" "rcpt 550 5.1.1" \
	"$(field "$out" smtp.stage) $(field "$out" smtp.code) $(field "$out" smtp.enhanced)"
expect_eq "Postfix: the MX set is reported" "mx.postfix.test" \
	"$(printf '%s\n' "$out" | "$LAB_PY" -c 'import json,sys; print(",".join(m["host"] for m in json.loads(sys.stdin.readline())["mx"]))')"

# -- DNS scenarios
expect_verdict alice@multi.test deliverable accepted      # best MX: Postfix
expect_verdict alice@bestdown.test deliverable accepted   # best MX down
expect_verdict alice@implicit.test deliverable accepted   # A only, no MX
expect_verdict alice@cname.test deliverable accepted
expect_verdict alice@mxcname.test deliverable accepted    # MX host is a CNAME
expect_verdict alice@ipv6only.test deliverable accepted   # AAAA only
expect_verdict alice@manymx.test deliverable accepted     # 30 MX records
expect_verdict alice@nullmx.test undeliverable null_mx
expect_verdict alice@nxdomain.test undeliverable no_such_domain
expect_verdict alice@noaddr.test undeliverable no_mail_server
expect_verdict alice@dangling.test undeliverable no_mail_server
expect_verdict alice@servfail.test unknown dns_error
out=$(verify alice@manymx.test)
expect_eq "manymx: at most 5 MX hosts reported" 5 \
	"$(printf '%s\n' "$out" | "$LAB_PY" -c 'import json,sys; print(len(json.loads(sys.stdin.readline())["mx"]))')"

# -- scripted behaviours
out=$(verify alice@catchall.test bob@catchall.test)
expect_eq "catch-all: both risky/catch_all with the flag" \
	"risky catch_all true|risky catch_all true" \
	"$(printf '%s\n' "$out" | "$LAB_PY" -c '
import json, sys
print("|".join("%s %s %s" % (v["status"], v["reason"], str(v["catch_all"]).lower())
               for v in map(json.loads, sys.stdin)))')"
expect_eq "catch-all: one random-local-part probe for the domain" 1 \
	"$(cat $(lab_transcripts catchall) | grep -c '^C: RCPT TO:<rcptd-')"

expect_verdict alice@grey.test unknown greylisted
out=$(verify carol@grey.test)
expect_match "greylisted: retry_after is given" '^[1-9][0-9]*$' \
	"$(field "$out" retry_after)"

start=$(date +%s)
expect_verdict alice@tarpit.test unknown timeout --banner-timeout 2
expect_match "tarpit: the wait is bounded (seconds)" '^[0-9]$' \
	"$(($(date +%s) - start))"

expect_verdict alice@drop.test unknown connect_failed
expect_verdict alice@garbage.test unknown protocol_error
expect_verdict alice@longline.test unknown protocol_error
expect_verdict alice@full.test risky mailbox_full
expect_verdict alice@blocked.test unknown policy_rejected
out=$(verify alice@blocked.test)
expect_eq "blocked: refused at MAIL FROM" "mail 554" \
	"$(field "$out" smtp.stage) $(field "$out" smtp.code)"
expect_verdict alice@starttls.test unknown tls_required

# 421 at the best MX: the next MX (Postfix) answers.
expect_verdict alice@busy421.test deliverable accepted
expect_transcript_contains busy "S: 421"

# EHLO refused: HELO instead.
expect_verdict alice@noehlo.test deliverable accepted
expect_transcript_contains noehlo "C: HELO verifier.test"

# No PIPELINING offered: one command at a time.
expect_verdict alice@nopipe.test deliverable accepted
expect_eq "nopipe: no command sent ahead of its reply" 0 \
	"$(lab_stat nopipe improper_pipelining)"

# An endless multi-line reply ends as a protocol error in bounded memory.
rss=$(lab_exec /usr/bin/time -f %M "$RCPTD" verify --dns-server "$LAB_DNS" \
	--allow-net 198.18.0.0/15 --helo verifier.test --banner-timeout 5 \
	--command-timeout 5 alice@endless.test 2>&1 >/dev/null | tail -n 1)
expect_match "endless reply: peak RSS under 32 MiB (KiB)" '^[0-9]{1,5}$' "$rss"
expect_verdict alice@endless.test unknown protocol_error

# 452 after 3 recipients and a hang-up after 3 rejections: every address
# still gets its true verdict, in further sessions.
out=$(verify alice@limit452.test bob@limit452.test carol@limit452.test \
	postmaster@limit452.test nobody@limit452.test)
expect_eq "452 after 3: all five verdicts true" \
	"accepted accepted accepted accepted mailbox_not_found" \
	"$(printf '%s\n' "$out" | "$LAB_PY" -c 'import json,sys; print(" ".join(json.loads(l)["reason"] for l in sys.stdin))')"
out=$(verify n1@hangup.test n2@hangup.test n3@hangup.test n4@hangup.test \
	n5@hangup.test alice@hangup.test)
expect_eq "hang-up after 3 rejections: all six verdicts true" \
	"mailbox_not_found mailbox_not_found mailbox_not_found mailbox_not_found mailbox_not_found accepted" \
	"$(printf '%s\n' "$out" | "$LAB_PY" -c 'import json,sys; print(" ".join(json.loads(l)["reason"] for l in sys.stdin))')"

# Per-host cap: two domains on one scripted host, one session at a time.
lab_reset
out=$(verify alice@scripted.test bob@multi.test -- --per-host-concurrency 1)
expect_match "per-host cap 1: at most one session at a time" '^[01]$' \
	"$(lab_stat users max_concurrent)"

# -- safety: nothing reaches loopback, nothing injected reaches a server
expect_verdict alice@loopback.test unknown blocked_target
expect_verdict alice@loopback6.test unknown blocked_target
expect_verdict 'alice@[127.0.0.1]' unknown blocked_target
expect_verdict 'alice@[IPv6:::1]' unknown blocked_target
expect_verdict 'alice@[198.51.100.7]' unknown blocked_target # documentation
# /etc/hosts is never asked: "localhost" goes to DNS, not to 127.0.0.1.
out=$(verify alice@localhost)
expect_lacks "user@localhost is not deliverable" '"status":"deliverable"' "$out"
# Without --allow-net the lab's own addresses are refused too.
out=$(lab_exec "$RCPTD" verify --dns-server "$LAB_DNS" --helo verifier.test \
	alice@postfix.test 2>/dev/null)
expect_eq "no --allow-net: benchmarking range refused" "unknown blocked_target" \
	"$(field "$out" status) $(field "$out" reason)"
expect_canary_silent

lab_reset
evil=$'alice@scripted.test\r\nRCPT TO:<evil@scripted.test>'
expect_verdict "$evil" undeliverable invalid_syntax
expect_verdict $'alice@scripted.test\n' undeliverable invalid_syntax
expect_verdict 'alice@scripted.test>' undeliverable invalid_syntax
out=$(verify alice@scripted.test)  # a real session, for comparison
expect_transcript_contains users "C: RCPT TO:<alice@scripted.test>"
expect_transcript_lacks users "evil@scripted.test"

# One run over every kind of ending exits 0; under `make asan` this is
# also the leak check (LeakSanitizer makes the exit status non-zero).
lab_exec "$RCPTD" verify --dns-server "$LAB_DNS" --allow-net 198.18.0.0/15 \
	--allow-net 2001:2::/48 --helo verifier.test --connect-timeout 2 \
	--command-timeout 3 --banner-timeout 2 alice@postfix.test \
	nobody@postfix.test alice@catchall.test alice@grey.test \
	alice@tarpit.test alice@drop.test alice@garbage.test alice@endless.test \
	alice@busy421.test alice@servfail.test alice@nullmx.test \
	alice@loopback.test n1@hangup.test n2@hangup.test n3@hangup.test \
	n4@hangup.test 'a..b@x.test' >/dev/null 2>"$LAB_RUN/verify-all.err"
rc=$?
expect_eq "a run over every ending: exit 0 (no leak under ASan)" "0 " \
	"$rc $(grep -m1 -E 'LeakSanitizer|AddressSanitizer' "$LAB_RUN/verify-all.err")"
