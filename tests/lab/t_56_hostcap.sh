# t_56_hostcap.sh - the per-MX-host session cap is never exceeded: in one
# process, and across two rcptd instances that share a Redis (issue 6).
# The scripted server records the most sessions it saw at once per
# address; "rtt" answers every reply after 50 ms, so sessions overlap
# whenever they are allowed to.

RPORT=6392
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT

addrs() { # addrs PREFIX N - N distinct addresses at rtt.test
	for i in $(seq 1 "$2"); do echo "$1$i@rtt.test"; done
}

# -- one process: 24 addresses, 4 per session, 2 sessions per host
lab_reset
out=$(lab_exec "$RCPTD" verify --dns-server "$LAB_DNS" \
	--allow-net 198.18.0.0/15 --helo verifier.test --rcpt-per-session 4 \
	--per-host-concurrency 2 --per-domain-rate 0 $(addrs a 24) 2>/dev/null)
expect_eq "one process: 24 verdicts" 24 "$(printf '%s\n' "$out" | grep -c '"reason":"mailbox_not_found"')"
expect_match "one process: several sessions were needed" '^([6-9]|[1-9][0-9]+)$' \
	"$(lab_stat rtt sessions)"
expect_eq "one process: at most 2 sessions at once, and 2 used" 2 \
	"$(lab_stat rtt max_concurrent)"

# -- two instances on one Redis, a cap of 1 each: 1 in all
ip netns exec "$LAB_NS" redis-server --port "$RPORT" --bind 127.0.0.1 \
	--save '' --appendonly no >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do
	[ "$(lab_exec redis-cli -p "$RPORT" ping 2>/dev/null)" = PONG ] && break
	sleep 0.1
done
for port in 8131 8132; do
	ip netns exec "$LAB_NS" "$RCPTD" serve --listen "127.0.0.1:$port" \
		--dns-server "$LAB_DNS" --allow-net 198.18.0.0/15 \
		--helo verifier.test --redis "redis://127.0.0.1:$RPORT" \
		--per-host-concurrency 1 --rcpt-per-session 3 \
		--per-domain-rate 0 --request-timeout 60s --access-log=false \
		--log-level error &
	pids+=($!)
done
for port in 8131 8132; do
	for _ in $(seq 50); do
		lab_exec curl -sf -m 1 "http://127.0.0.1:$port/readyz" >/dev/null && break
		sleep 0.1
	done
done
lab_reset
json() { # json PREFIX - {"emails": [12 addresses]}
	printf '{"emails": [%s]}' "$(addrs "$1" 12 | sed 's/.*/"&"/' | paste -sd,)"
}
lab_exec curl -s -m 60 -H 'Content-Type: application/json' \
	--data-binary "$(json b)" http://127.0.0.1:8131/v1/verify >"$LAB_RUN/cap1.json" &
c1=$!
lab_exec curl -s -m 60 -H 'Content-Type: application/json' \
	--data-binary "$(json c)" http://127.0.0.1:8132/v1/verify >"$LAB_RUN/cap2.json" &
c2=$!
wait "$c1" "$c2"
expect_eq "two instances: every address answered" "12 12" \
	"$(grep -o '"reason":"mailbox_not_found"' "$LAB_RUN/cap1.json" | wc -l) $(grep -o '"reason":"mailbox_not_found"' "$LAB_RUN/cap2.json" | wc -l)"
expect_match "two instances: several sessions each" '^([8-9]|[1-9][0-9]+)$' \
	"$(lab_stat rtt sessions)"
expect_eq "two instances: never more than 1 session at once in all" 1 \
	"$(lab_stat rtt max_concurrent)"
