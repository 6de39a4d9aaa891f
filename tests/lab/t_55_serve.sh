# t_55_serve.sh - rcptd serve end to end in the lab (issue 5): the HTTP
# routes against Postfix and the scripted server, the in-process cache,
# Redis as the second tier (TTLs, a daemon restart, Redis killed and
# restarted mid-run), metrics, and a clean stop.

PORT=8125
RPORT=6391
BASE="http://127.0.0.1:$PORT"
serve_pid=""
redis_pid=""

# Processes started here are ours: stop them by PID whatever happens.
cleanup() {
	[ -n "$serve_pid" ] && kill -KILL "$serve_pid" 2>/dev/null
	[ -n "$redis_pid" ] && kill -KILL "$redis_pid" 2>/dev/null
	wait 2>/dev/null
}
trap cleanup EXIT

# get PATH - "STATUS BODY" of a GET, from inside the lab.
get() {
	lab_exec curl -s -m 20 -w '\n%{http_code}' "$BASE$1" |
		"$LAB_PY" -c 'import sys; b = sys.stdin.read().rsplit("\n", 1); print(b[1], b[0])'
}

# post PATH JSON - the same for a JSON POST.
post() {
	lab_exec curl -s -m 20 -w '\n%{http_code}' -H 'Content-Type: application/json' \
		--data-binary "$2" "$BASE$1" |
		"$LAB_PY" -c 'import sys; b = sys.stdin.read().rsplit("\n", 1); print(b[1], b[0])'
}

# jq_ JSON EXPR - a Python expression over the parsed body `v`.
jq_() {
	printf '%s\n' "$1" | "$LAB_PY" -c '
import json, sys
v = json.loads(sys.stdin.read())
print(eval(sys.argv[1]))' "$2"
}

rcli() {
	lab_exec redis-cli -p "$RPORT" "$@"
}

start_redis() {
	ip netns exec "$LAB_NS" redis-server --port "$RPORT" --bind 127.0.0.1 \
		--save '' --appendonly no >/dev/null 2>&1 &
	redis_pid=$!
	for _ in $(seq 50); do
		[ "$(rcli ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	return 1
}

start_serve() {
	ip netns exec "$LAB_NS" "$RCPTD" serve --listen "127.0.0.1:$PORT" \
		--dns-server "$LAB_DNS" --allow-net 198.18.0.0/15 \
		--helo verifier.test --connect-timeout 2 --command-timeout 3 \
		--banner-timeout 3 --redis "redis://127.0.0.1:$RPORT" \
		--access-log=false --log-level warn 2>>"$LAB_RUN/serve.log" &
	serve_pid=$!
	for _ in $(seq 50); do
		[ "$(get /healthz | cut -d' ' -f1)" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}

# stop_serve - SIGTERM; sets STOPPED to "EXIT_STATUS SECONDS". (Not in a
# command substitution: only this shell can wait for its child.)
stop_serve() {
	local t0 rc
	t0=$(date +%s%N)
	kill -TERM "$serve_pid"
	wait "$serve_pid"
	rc=$?
	serve_pid=""
	STOPPED="$rc $((($(date +%s%N) - t0) / 1000000000))"
}

start_redis || lab_fail "redis-server did not start on $RPORT"
start_serve || lab_fail "rcptd serve did not answer /healthz"

# -- the routes against real servers
r=$(get '/v1/verify?email=alice@postfix.test')
expect_eq "GET verify: 200" 200 "${r%% *}"
body=${r#* }
expect_eq "GET verify: Postfix accepts alice" "deliverable accepted False" \
	"$(jq_ "$body" 'v["status"] + " " + v["reason"] + " " + str(v["cached"])')"
first_at=$(jq_ "$body" 'v["checked_at"]')
r=$(get '/v1/verify?email=alice@postfix.test')
expect_eq "GET verify again: cached, original checked_at" "True $first_at" \
	"$(jq_ "${r#* }" 'str(v["cached"]) + " " + v["checked_at"]')"

r=$(post /v1/verify '{"email": "nobody@postfix.test"}')
expect_eq "POST verify: unknown user" "200 mailbox_not_found" \
	"${r%% *} $(jq_ "${r#* }" 'v["reason"]')"
r=$(post /v1/verify '{"emails": ["alice@catchall.test", "alice@full.test", "a..b@scripted.test", "alice@loopback.test"]}')
expect_eq "POST batch: four verdicts in order" \
	"200 catch_all mailbox_full invalid_syntax blocked_target" \
	"${r%% *} $(jq_ "${r#* }" '" ".join(x["reason"] for x in v["results"])')"
r=$(get '/v1/verify?email=alice@grey.test')
expect_eq "GET verify: greylisted with retry_after" "unknown greylisted True" \
	"$(jq_ "${r#* }" 'v["status"] + " " + v["reason"] + " " + str(v.get("retry_after", 0) > 0)')"
r=$(get '/v1/verify?email=alice@postfix.test&fresh=1')
expect_eq "fresh=1 skips the cache" False "$(jq_ "${r#* }" 'str(v["cached"])')"
r=$(get '/v1/verify?email=bob@scripted.test&transcript=1')
expect_contains "transcript=1 shows the conversation" "C: RCPT TO:<bob@scripted.test>" \
	"$(jq_ "${r#* }" 'v.get("transcript")')"
expect_canary_silent

# -- Redis holds the verdicts, each with a TTL by status
ttl=$(rcli ttl rcptd:v1:verdict:alice@postfix.test)
expect_match "Redis: deliverable kept about 7 days (s)" '^(6[0-9]{5}|604[0-7][0-9]{2}|604800)$' "$ttl"
ttl=$(rcli ttl rcptd:v1:verdict:nobody@postfix.test)
expect_match "Redis: undeliverable kept about 3 days (s)" '^2[0-9]{5}$' "$ttl"
ttl=$(rcli ttl rcptd:v1:verdict:alice@grey.test)
expect_match "Redis: greylisted kept minutes, not days (s)" '^[1-9][0-9]{0,2}$' "$ttl"
# (The jobs' stream is the queue itself: it has no TTL, and holds only
# the chunks not yet done.)
expect_eq "Redis: every key has a TTL (but the jobs' stream)" 0 \
	"$(rcli --scan --pattern 'rcptd:*' | grep -vx 'rcptd:v1:jobs' | while read -r k; do rcli ttl "$k"; done | grep -c -- '^-1$')"
expect_eq "Redis: the jobs' stream is empty" 0 "$(rcli xlen rcptd:v1:jobs)"

# -- the verdicts survive a daemon restart (from Redis)
stop_serve
expect_eq "SIGTERM: exit 0 within a few seconds" "0" \
	"$(echo "$STOPPED" | awk '{print ($2 < 5) ? $1 : "slow: " $0}')"
start_serve || lab_fail "rcptd serve did not come back"
r=$(get '/v1/verify?email=nobody@postfix.test')
expect_eq "after a restart: cached from Redis" "mailbox_not_found True" \
	"$(jq_ "${r#* }" 'v["reason"] + " " + str(v["cached"])')"

# -- Redis killed mid-run: every request is still answered
r=$(get /readyz)
expect_eq "readyz with Redis up" 200 "${r%% *}"
kill -KILL "$redis_pid"
wait "$redis_pid" 2>/dev/null
redis_pid=""
codes=""
for a in alice@postfix.test carol@postfix.test bob@postfix.test \
	alice@scripted.test carol@scripted.test nobody@scripted.test; do
	r=$(get "/v1/verify?email=$a")
	codes="$codes ${r%% *}:$(jq_ "${r#* }" 'v["status"]')"
done
expect_eq "Redis down: every request answered" \
	" 200:deliverable 200:deliverable 200:deliverable 200:deliverable 200:deliverable 200:undeliverable" \
	"$codes"
r=$(get /readyz)
expect_eq "readyz says Redis is down" 503 "${r%% *}"
start_redis || lab_fail "redis-server did not restart"
ok=""
for _ in $(seq 100); do
	[ "$(get /readyz | cut -d' ' -f1)" = 200 ] && ok=1 && break
	sleep 0.1
done
expect_eq "readyz again once Redis is back" 1 "$ok"
get '/v1/verify?email=postmaster@postfix.test' >/dev/null
expect_match "caching to Redis resumes" '^[1-9][0-9]*$' \
	"$(rcli ttl rcptd:v1:verdict:postmaster@postfix.test)"

# -- errors, metrics, health
expect_eq "unknown route: 404" 404 "$(get /v1/nope | cut -d' ' -f1)"
r=$(post /v1/verify '{"email": 42}')
expect_eq "non-string email: 400 bad_request" "400 bad_request" \
	"${r%% *} $(jq_ "${r#* }" 'v["error"]["code"]')"
m=$(lab_exec curl -s -m 10 "$BASE/metrics")
expect_contains "metrics: verdicts by reason" 'reason="mailbox_not_found"' "$m"
if command -v promtool >/dev/null 2>&1; then
	lint=$(printf '%s\n' "$m" | promtool check metrics 2>&1)
	expect_eq "metrics pass promtool check metrics" "" "$lint"
fi
expect_eq "still healthy" 200 "$(get /healthz | cut -d' ' -f1)"
stop_serve
expect_eq "SIGTERM at the end: exit 0" "0" "${STOPPED%% *}"
