# t_30_scripted.sh - each behaviour of the scripted SMTP server answers as
# declared, transcripts are recorded, counters count, the canary works.
# shellcheck disable=SC2154 # LAB_* come from the lab's env file

lab_reset

# replies OUTPUT - the code of each reply to a RCPT, space-separated.
rcpt_codes() {
	printf '%s\n' "$1" | sed -n '/^C: RCPT/{n;s/^S: \([0-9]*\).*/\1/p;}' |
		paste -sd' '
}

# -- users: known users accepted, others 550 5.1.1, other domains refused
out=$(lab_smtp users "EHLO verifier.test" "MAIL FROM:<>" \
	"RCPT TO:<alice@scripted.test>" "RCPT TO:<nobody@scripted.test>" \
	"RCPT TO:<alice@example.com>" QUIT)
expect_contains "users: banner" "S: 220 users.lab.test ESMTP rcptd-lab" "$out"
expect_contains "users: PIPELINING offered" "S: 250-PIPELINING" "$out"
expect_contains "users: known user" "S: 250 2.1.5 Ok" "$out"
expect_contains "users: unknown user" \
	"S: 550 5.1.1 <nobody@scripted.test>: Recipient address rejected: User unknown" "$out"
expect_contains "users: not its domain" \
	"S: 554 5.7.1 <alice@example.com>: Relay access denied" "$out"
expect_transcript_contains users "C: RCPT TO:<nobody@scripted.test>"
expect_transcript_contains users "S: 550 5.1.1 <nobody@scripted.test>"
expect_transcript_contains users "end after"
expect_eq "users: one session, one transcript" "1 1" \
	"$(lab_stat users sessions) $(lab_transcripts users | wc -l)"

# -- catchall: any local part
out=$(lab_smtp catchall "EHLO verifier.test" "MAIL FROM:<>" \
	"RCPT TO:<x7f3k2q9@catchall.test>" "RCPT TO:<alice@catchall.test>" QUIT)
expect_eq "catchall: random and known local parts" "250 250" "$(rcpt_codes "$out")"

# -- greylist: 450 for a new sender/recipient pair until the delay passed
grey() {
	lab_smtp grey "EHLO verifier.test" "MAIL FROM:<$1>" "RCPT TO:<$2>" QUIT
}
out=$(grey "" alice@grey.test)
expect_contains "greylist: first attempt" \
	"S: 450 4.2.0 <alice@grey.test>: Recipient address rejected: Greylisted" "$out"
expect_eq "greylist: at once again" 450 "$(rcpt_codes "$(grey "" alice@grey.test)")"
expect_eq "greylist: another pair starts its own clock" 450 \
	"$(rcpt_codes "$(grey sender@example.org alice@grey.test)")"
delay=$(echo "$LAB_PARAMS_grey" | sed -n 's/.*greylist_delay=\([0-9.]*\).*/\1/p')
sleep "$delay"
expect_eq "greylist: after ${delay}s" 250 "$(rcpt_codes "$(grey "" alice@grey.test)")"
expect_eq "greylist: then an unknown user is still unknown" 450 \
	"$(rcpt_codes "$(grey "" nobody@grey.test)")"

# -- tarpit: no banner for banner_delay seconds
out=$(lab_smtp -t 1.5 tarpit)
expect_eq "tarpit: nothing within 1.5 s" "# timeout" "$out"
expect_transcript_contains tarpit "tarpit: banner in"

# -- drop: banner, then the connection closes at the first command
out=$(lab_smtp drop "EHLO verifier.test")
expect_eq "drop: banner, EHLO, closed" \
	"S: 220 drop.lab.test ESMTP rcptd-lab|C: EHLO verifier.test|# closed" \
	"$(printf '%s\n' "$out" | paste -sd'|')"
expect_transcript_contains drop "dropped without a reply"

# -- busy: 421 at connect, closed
out=$(lab_smtp busy @read)
expect_eq "busy421: 421 at connect" \
	"S: 421 4.3.2 busy.lab.test Service not available, all server ports are busy|# closed" \
	"$(printf '%s\n' "$out" | paste -sd'|')"

# -- garbage: not an SMTP greeting
out=$(lab_smtp garbage "EHLO verifier.test")
expect_match "garbage: an SSH banner" '^S: SSH-2\.0-' "$(printf '%s\n' "$out" | head -n 1)"
expect_contains "garbage: not SMTP" "# not smtp" "$out"

# -- endless: the EHLO reply never ends
out=$(lab_smtp endless "EHLO verifier.test")
expect_contains "endless: normal banner" "S: 220 endless.lab.test" "$out"
expect_contains "endless: an EHLO reply over 100 lines" "# reply over 100 lines" "$out"
expect_transcript_contains endless "endless reply:"

# -- longline: a 100000-byte banner line
out=$(lab_smtp longline)
expect_contains "longline: an over-long reply line" "# line over 2048 bytes" "$out"
expect_transcript_contains longline "[100004 bytes]"

# -- full: 552 5.2.2 for known users
out=$(lab_smtp full "EHLO verifier.test" "MAIL FROM:<>" \
	"RCPT TO:<alice@full.test>" "RCPT TO:<nobody@full.test>" QUIT)
expect_contains "full: mailbox full" "S: 552 5.2.2 <alice@full.test>: Mailbox full" "$out"
expect_contains "full: unknown stays unknown" "S: 550 5.1.1 <nobody@full.test>" "$out"

# -- blocked: 554 5.7.1 at MAIL FROM
out=$(lab_smtp blocked "EHLO verifier.test" "MAIL FROM:<>" QUIT)
expect_match "blocked: policy rejection at MAIL" \
	'^S: 554 5\.7\.1 Service unavailable; Client host \[198\.18\.[0-9.]+\] blocked' \
	"$(printf '%s\n' "$out" | sed -n '/^C: MAIL/{n;p;}')"

# -- limit452: 452 4.5.3 after max_rcpt recipients
out=$(lab_smtp limit "EHLO verifier.test" "MAIL FROM:<>" \
	"RCPT TO:<alice@limit452.test>" "RCPT TO:<bob@limit452.test>" \
	"RCPT TO:<carol@limit452.test>" "RCPT TO:<postmaster@limit452.test>" \
	RSET "MAIL FROM:<>" "RCPT TO:<postmaster@limit452.test>" QUIT)
expect_eq "limit452: three accepted, the fourth deferred, fresh after RSET" \
	"250 250 250 452 250" "$(rcpt_codes "$out")"
expect_contains "limit452: the reply" "S: 452 4.5.3 Error: too many recipients" "$out"

# -- hangup: after max_errors rejected recipients, 421 and close
out=$(lab_smtp hangup "EHLO verifier.test" "MAIL FROM:<>" \
	"RCPT TO:<x1@hangup.test>" "RCPT TO:<x2@hangup.test>" \
	"RCPT TO:<x3@hangup.test>" @read @read)
expect_eq "hangup: three rejections" "550 550 550" "$(rcpt_codes "$out")"
expect_eq "hangup: then 421 unasked (as Postfix does) and the end" \
	"S: 421 4.7.0 hangup.lab.test Error: too many errors|# closed" \
	"$(printf '%s\n' "$out" | tail -n 2 | paste -sd'|')"
expect_transcript_contains hangup "end after"

# -- starttls: offered, demanded, not available
out=$(lab_smtp starttls "EHLO verifier.test" "MAIL FROM:<>" STARTTLS QUIT)
expect_contains "starttls: offered" "S: 250-STARTTLS" "$out"
expect_contains "starttls: demanded at MAIL" \
	"S: 530 5.7.0 Must issue a STARTTLS command first" "$out"
expect_contains "starttls: but not available" "S: 454 4.7.0 TLS not available" "$out"

# -- open-relay-partial: percent hack and bang path relayed, plain refused
out=$(lab_smtp relay "EHLO verifier.test" "MAIL FROM:<>" \
	"RCPT TO:<alice%example.net@relay.test>" \
	"RCPT TO:<example.net!alice@relay.test>" "RCPT TO:<alice@example.net>" \
	"RCPT TO:<alice@relay.test>" "RCPT TO:<nobody@relay.test>" QUIT)
expect_eq "open-relay-partial: %, !, foreign, known, unknown" \
	"250 250 554 250 550" "$(rcpt_codes "$out")"

# -- pipelining: counted when not offered, not counted when offered
out=$(lab_smtp nopipe "EHLO verifier.test" \
	"@pipe=MAIL FROM:<>|RCPT TO:<alice@nopipe.test>" QUIT)
expect_lacks "nopipe: PIPELINING not offered" "PIPELINING" "$out"
expect_eq "nopipe: both pipelined commands answered" "250 250" \
	"$(printf '%s\n' "$out" | sed -n 's/^S: \(250\) 2\.1\.[05] Ok/\1/p' | paste -sd' ')"
expect_transcript_contains nopipe "improper pipelining: more input after MAIL"
expect_eq "nopipe: counted" 1 "$(lab_stat nopipe improper_pipelining)"
lab_smtp users "EHLO verifier.test" \
	"@pipe=MAIL FROM:<>|RCPT TO:<alice@scripted.test>|RCPT TO:<bob@scripted.test>" \
	QUIT >/dev/null
expect_eq "users: pipelining when offered is fine" 0 \
	"$(lab_stat users improper_pipelining)"

# -- rtt: every reply waits delay seconds (5 replies: >= 0.25 s)
t0=$(date +%s%N)
out=$(lab_smtp rtt "EHLO verifier.test" "MAIL FROM:<>" \
	"RCPT TO:<alice@rtt.test>" QUIT)
ms=$((($(date +%s%N) - t0) / 1000000))
expect_eq "rtt: accepted" 250 "$(rcpt_codes "$out")"
expect_eq "rtt: five delayed replies take at least 250 ms" yes \
	"$([ "$ms" -ge 250 ] && echo yes || echo "no: $ms ms")"

# -- noehlo: EHLO refused, HELO works
out=$(lab_smtp noehlo "EHLO verifier.test" "HELO verifier.test" \
	"MAIL FROM:<>" "RCPT TO:<alice@noehlo.test>" QUIT)
expect_contains "noehlo: EHLO refused" "S: 502 5.5.2 Error: command not recognized" "$out"
expect_contains "noehlo: HELO accepted" "S: 250 noehlo.lab.test" "$out"
expect_eq "noehlo: then RCPT as usual" 250 "$(rcpt_codes "$out")"

# -- IPv6-only and the many-MX host
out=$(lab_smtp "[$LAB_IP6_ipv6only]:25" "EHLO verifier.test" "MAIL FROM:<>" \
	"RCPT TO:<alice@ipv6only.test>" QUIT)
expect_eq "ipv6only: over IPv6" 250 "$(rcpt_codes "$out")"
expect_transcript_contains "$LAB_IP6_ipv6only" "C: RCPT TO:<alice@ipv6only.test>"
out=$(lab_smtp many "EHLO verifier.test" "MAIL FROM:<>" \
	"RCPT TO:<alice@manymx.test>" QUIT)
expect_eq "many: manymx.test accepted" 250 "$(rcpt_codes "$out")"

# -- robustness of the server itself
out=$(lab_smtp users "$(printf 'A%.0s' $(seq 1 5000))" "NOOP" QUIT)
expect_contains "an over-long command line" "S: 500 5.5.0 Error: line too long" "$out"
expect_contains "and the session goes on" "S: 250 2.0.0 Ok" "$out"

# -- concurrency: the highest number of simultaneous sessions is recorded
before=$(lab_stat catchall sessions)
for _ in 1 2 3 4 5; do
	lab_smtp catchall "EHLO verifier.test" "@sleep=1" QUIT >/dev/null &
done
wait
expect_eq "catchall: five sessions at once" "5 $((before + 5))" \
	"$(lab_stat catchall max_concurrent) $(lab_stat catchall sessions)"
expect_eq "catchall: none left open" 0 "$(lab_stat catchall current)"
lab_reset
expect_eq "reset: counters back to zero" "0 0" \
	"$(lab_stat catchall max_concurrent) $(lab_stat catchall sessions)"
expect_eq "reset: greylisting forgotten" 450 \
	"$(rcpt_codes "$(grey "" alice@grey.test)")"

# -- the canary: its self-test connections are logged as such ...
selftests() { grep -c '"selftest": true' "$LAB_CANARY_LOG" 2>/dev/null; }
before=$(selftests)
out=$(lab_smtp -s 127.0.0.2 127.0.0.1:25)
expect_contains "canary: answers 554" "S: 554 5.7.1 rcptd lab canary" "$out"
out=$(lab_smtp -s "$(echo "$LAB_CANARY_SELFTEST_FROM" | awk '{print $2}')" "[::1]:25")
expect_contains "canary over IPv6: answers 554" "S: 554 5.7.1 rcptd lab canary" "$out"
expect_eq "canary: both logged as self-tests" $((before + 2)) "$(selftests)"
# ... and a connection from anywhere else would fail expect_canary_silent.
fake=$(mktemp)
cp "$LAB_CANARY_LOG" "$fake"
echo '{"n": 99, "local": "127.0.0.1", "port": 25, "peer": "127.0.0.1", "peer_port": 4242, "selftest": false}' >>"$fake"
got=$(LAB_RESULTS="" LAB_CANARY_LOG=$fake expect_canary_silent)
expect_contains "expect_canary_silent catches a stray connection" \
	'canary: expected silence, saw: {"n": 99' "$got"
rm -f "$fake"
expect_canary_silent
