# t_20_postfix.sh - the lab's real Postfix: known users are accepted at
# RCPT, unknown ones get Postfix's own rejection, its defaults are intact.
# shellcheck disable=SC2154 # LAB_* come from the lab's env file

pf=$LAB_IP_postfix

# swaks_rcpt ADDRESS - swaks's line for the server's reply to RCPT TO
# (or, when there was none, swaks's last words).
swaks_rcpt() {
	local out reply
	out=$(lab_exec swaks --server "$pf" --from '<>' --to "$1" \
		--helo verifier.test --quit-after RCPT --timeout 10 2>&1)
	reply=$(printf '%s\n' "$out" | sed -n '/-> RCPT TO/{n;s/^<[-*]*  *//p;}')
	echo "${reply:-(swaks: $(printf '%s\n' "$out" | tail -n 1))}"
}

expect_eq "swaks: a known user" "250 2.1.5 Ok" "$(swaks_rcpt alice@postfix.test)"
expect_eq "swaks: an unknown user" \
	"550 5.1.1 <nobody@postfix.test>: Recipient address rejected: User unknown in virtual mailbox table" \
	"$(swaks_rcpt nobody@postfix.test)"
expect_eq "swaks: local part case does not matter" "250 2.1.5 Ok" \
	"$(swaks_rcpt Alice@postfix.test)"

# Every user at every domain routed to Postfix, in one session.
steps=("EHLO verifier.test" "MAIL FROM:<>")
want=""
for d in $LAB_DOMAINS_postfix; do
	for u in $LAB_USERS; do
		steps+=("RCPT TO:<$u@$d>")
		want="${want}250 2.1.5 Ok|"
	done
done
steps+=(QUIT)
out=$(lab_smtp postfix "${steps[@]}")
expect_eq "every user at every Postfix domain ($LAB_DOMAINS_postfix)" \
	"$want" "$(printf '%s\n' "$out" | sed -n '/^C: RCPT/{n;s/^S: //p;}' | tr '\n' '|')"
expect_contains "Postfix's own banner" \
	"S: 220 postfix.lab.test ESMTP Postfix (Debian/GNU)" "$out"
expect_contains "Postfix offers PIPELINING" "S: 250-PIPELINING" "$out"
expect_eq "the session ends with QUIT" "S: 221 2.0.0 Bye" "$(printf '%s\n' "$out" | tail -n 1)"

# Not an open relay: the lab's clients are outside mynetworks.
out=$(lab_smtp postfix "EHLO verifier.test" "MAIL FROM:<>" \
	"RCPT TO:<alice@example.com>" QUIT)
expect_contains "relaying is refused (Postfix default restrictions)" \
	"S: 454 4.7.1 <alice@example.com>: Relay access denied" "$out"

# Over IPv6 too (swaks here lacks IO::Socket::INET6, labclient does not).
out=$(lab_smtp "[$LAB_IP6_postfix]:25" "EHLO verifier.test" "MAIL FROM:<>" \
	"RCPT TO:<bob@postfix.test>" "RCPT TO:<nobody@postfix.test>" QUIT)
expect_contains "IPv6: a known user" "S: 250 2.1.5 Ok" "$out"
expect_contains "IPv6: an unknown user" "S: 550 5.1.1 <nobody@postfix.test>" "$out"

# Several unknown users in one session: each rejected on its own (below
# the soft error limit, so without Postfix's error sleep).
out=$(lab_smtp postfix "EHLO verifier.test" "MAIL FROM:<>" \
	"RCPT TO:<x1@postfix.test>" "RCPT TO:<x2@postfix.test>" \
	"RCPT TO:<x3@postfix.test>" "RSET" "MAIL FROM:<>" \
	"RCPT TO:<carol@postfix.test>" QUIT)
expect_eq "three rejections, then an acceptance after RSET" "550 550 550 250" \
	"$(printf '%s\n' "$out" | sed -n '/^C: RCPT/{n;s/^S: \([0-9]*\).*/\1/p;}' | paste -sd' ')"

# The lab starts Postfix without its integrity checks (quick-start, for
# speed): they pass, with no warning, when run here.
maillog=$(dirname "$LAB_POSTFIX_postfix")/maillog
n=$(wc -l <"$maillog")
expect_eq "postfix check: no error" 0 \
	"$(lab_exec postfix -c "$LAB_POSTFIX_postfix" check >/dev/null 2>&1; echo $?)"
expect_eq "postfix check: no warning" "" \
	"$(tail -n +$((n + 1)) "$maillog" | grep -E 'warning|fatal|error')"

# The anti-abuse limits are Postfix's defaults: main.cf does not set them.
pc() { postconf -c "$LAB_POSTFIX_postfix" -xh "$1"; }
expect_eq "smtpd_hard_error_limit is the default" 20 "$(pc smtpd_hard_error_limit)"
expect_eq "smtpd_soft_error_limit is the default" 10 "$(pc smtpd_soft_error_limit)"
expect_eq "smtpd_recipient_limit is the default" 1000 "$(pc smtpd_recipient_limit)"
expect_eq "smtpd_client_connection_count_limit is the default" 50 \
	"$(pc smtpd_client_connection_count_limit)"
expect_eq "none of them is set in main.cf" "" \
	"$(postconf -c "$LAB_POSTFIX_postfix" -n | grep -E '^smtpd_(hard|soft)_error_limit|^smtpd_recipient_limit|^smtpd_client_' )"

# Postfix looked its client up in the lab DNS (reverse, then forward).
found=no
for _ in 1 2 3 4 5 6 7 8 9 10; do
	grep -q "connect from postfix.lab.test\[$pf\]" "$maillog" && found=yes && break
	sleep 0.2
done
expect_eq "Postfix names its client from the lab's reverse zone" yes "$found"
expect_eq "and never failed a lookup" "" \
	"$(grep -E 'warning: (hostname|.*address not listed|.*lookup)' "$maillog" | head -n 3)"
