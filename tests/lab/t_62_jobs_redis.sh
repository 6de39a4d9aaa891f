# t_62_jobs_redis.sh - jobs on Redis Streams (issue 6): two `rcptd serve`
# instances share one Redis and take a job's chunks from its stream; the
# one that holds unfinished rows is killed with SIGKILL mid-job (which
# one took them is the race of their polls); the other takes its rows
# over after --job-claim-timeout and the job completes with every row
# exactly once and the verdict a single verify gives. Then a job
# cancelled through a third instance stops.

RPORT=6393
A=8141
B=8142
W=$LAB_RUN/jobsredis
mkdir -p "$W"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT

rcli() { lab_exec redis-cli -p "$RPORT" "$@"; }

ip netns exec "$LAB_NS" redis-server --port "$RPORT" --bind 127.0.0.1 \
	--save '' --appendonly no >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do
	[ "$(rcli ping 2>/dev/null)" = PONG ] && break
	sleep 0.1
done

serve() { # serve PORT - an instance on the shared Redis; its pid in $!
	ip netns exec "$LAB_NS" "$RCPTD" serve --listen "127.0.0.1:$1" \
		--dns-server "$LAB_DNS" --allow-net 198.18.0.0/15 \
		--helo verifier.test --redis "redis://127.0.0.1:$RPORT" \
		--job-claim-timeout 2s --per-host-concurrency 2 \
		--rcpt-per-session 10 --per-domain-rate 0 --access-log=false \
		--log-level warn 2>>"$W/serve-$1.log" &
}
serve "$A"
pid_a=$!
pids+=("$pid_a")
serve "$B"
pid_b=$!
pids+=("$pid_b")
for port in "$A" "$B"; do
	for _ in $(seq 50); do
		lab_exec curl -sf -m 1 "http://127.0.0.1:$port/readyz" >/dev/null && break
		sleep 0.1
	done
done

# 510 rows: a catch-all domain, Postfix and the slow scripted server
# (50 ms before every reply), known and unknown users, repeats, and
# malformed lines, in an order that mixes the domains.
python3 - "$W/in.csv" <<'EOF'
import sys
rows = []
for i in range(400):
    rows.append("%s@rtt.test" % (["alice", "bob"][i % 2] if i % 20 == 0 else "nx%d" % i))
for i in range(60):
    rows.append("%s@postfix.test" % ("carol" if i % 15 == 0 else "nobody%d" % i))
for i in range(40):
    rows.append("any%d@catchall.test" % i)
rows += ["not an address %d" % i for i in range(5)]
rows += ["alice@rtt.test", "nx3@rtt.test", "any1@catchall.test", "carol@postfix.test", "nobody7@postfix.test"]
rows = [rows[(i * 7) % len(rows)] for i in range(len(rows))]  # 510 and 7 are coprime
with open(sys.argv[1], "w") as f:
    f.write("email,n\n")
    for i, r in enumerate(rows):
        f.write("%s,%d\n" % (r, i))
EOF
TOTAL=510

id=$(lab_exec curl -s -m 10 -H 'Content-Type: text/csv' --data-binary @"$W/in.csv" \
	"http://127.0.0.1:$A/v1/jobs" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
expect_match "the job is accepted by A" '^[0-9a-f]{32}$' "$id"

# Wait until an instance holds unfinished rows, then kill it.
held() { # held PID - entries pending for that process's consumer
	rcli xinfo consumers rcptd:v1:jobs workers 2>/dev/null |
		awk -v p="-$1-" '$0 == "name" { getline; n = $0 }
			$0 == "pending" { getline; if (index(n, p)) print }'
}
victim="" n=""
for _ in $(seq 200); do
	for p in "$pid_a" "$pid_b"; do
		n=$(held "$p")
		[ -n "$n" ] && [ "$n" -gt 0 ] && victim=$p && break 2
	done
	sleep 0.02
done
done_before=$(rcli hget "rcptd:v1:job:$id" done)
expect_match "an instance holds rows of the job when it is killed" '^[1-9][0-9]*$' "$n"
expect_match "the job is not done then" '^[0-9]+$' "$done_before"
[ "${done_before:-0}" -lt "$TOTAL" ] || lab_fail "the job finished before the kill"
kill -KILL "$victim"
if [ "$victim" = "$pid_a" ]; then
	survivor=$pid_b
else
	survivor=$pid_a B=$A
fi

state=""
for _ in $(seq 600); do
	state=$(lab_exec curl -s -m 5 "http://127.0.0.1:$B/v1/jobs/$id" |
		sed -n 's/.*"state":"\([a-z]*\)".*/\1/p')
	[ "$state" = done ] && break
	sleep 0.1
done
expect_eq "the job completes on the survivor" done "$state"
lab_exec curl -s -m 10 "http://127.0.0.1:$B/v1/jobs/$id" >"$W/status.json"
lab_exec curl -s -m 30 "http://127.0.0.1:$B/v1/jobs/$id/results?format=ndjson" >"$W/out.ndjson"
lab_exec curl -s -m 30 "http://127.0.0.1:$B/v1/jobs/$id/results" >"$W/out.csv"

# Every row once, in order, each with the verdict its address deserves.
check=$(python3 - "$W/in.csv" "$W/out.ndjson" "$W/out.csv" "$W/status.json" <<'EOF'
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1])))[1:]
out = [json.loads(l) for l in open(sys.argv[2])]
bad = []
if [o["row"] for o in out] != list(range(len(rows))):
    bad.append("rows: %d lines, not 0..%d once each in order" % (len(out), len(rows) - 1))
for o in out[:len(rows)]:
    email = rows[o["row"]][0]
    local, _, dom = email.partition("@")
    if " " in email:
        want = ("undeliverable", "invalid_syntax")
    elif dom == "catchall.test":
        want = ("risky", "catch_all")
    elif local in ("alice", "bob", "carol", "postmaster"):
        want = ("deliverable", "accepted")
    else:
        want = ("undeliverable", "mailbox_not_found")
    if (o["status"], o["reason"]) != want or o["email"] != email:
        bad.append("row %d %s: %s/%s" % (o["row"], email, o["status"], o["reason"]))
c = list(csv.reader(open(sys.argv[3])))
if len(c) != len(rows) + 1 or [r[:2] for r in c[1:]] != rows:
    bad.append("csv: %d lines or columns differ" % len(c))
st = json.load(open(sys.argv[4]))
if st["done"] != len(rows) or sum(st["counts"].values()) != len(rows):
    bad.append("status counts: %s" % st)
print("ok" if not bad else "; ".join(bad[:5]))
EOF
)
expect_eq "every row exactly once with its true verdict (NDJSON, CSV, counts)" ok "$check"
m=$(lab_exec curl -s -m 5 "http://127.0.0.1:$B/metrics")
expect_match "the survivor claimed the dead one's chunks (/metrics)" \
	'rcptd_job_chunks_total\{event="claimed"\} [1-9]' "$m"
expect_match "/metrics counts the jobs route" \
	'rcptd_http_requests_total\{route="jobs",code="200"\} [1-9]' "$m"
expect_eq "the stream is empty: every chunk acknowledged and deleted" 0 \
	"$(rcli xlen rcptd:v1:jobs)"
expect_eq "nothing is pending in the consumer group" 0 \
	"$(rcli xpending rcptd:v1:jobs workers | head -n 1)"
ttl=$(rcli ttl "rcptd:v1:job:$id:res")
expect_match "the results expire (--job-retention, 24 h)" '^(86[0-3][0-9]{2}|86400)$' "$ttl"

# A job posted to B and cancelled through a third instance.
serve 8143
third=$!
pids+=("$third")
for _ in $(seq 50); do
	lab_exec curl -sf -m 1 "http://127.0.0.1:8143/readyz" >/dev/null && break
	sleep 0.1
done
id2=$(lab_exec curl -s -m 10 -H 'Content-Type: text/plain' \
	--data-binary "$(for i in $(seq 300); do echo "c$i@rtt.test"; done)" \
	"http://127.0.0.1:$B/v1/jobs" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
sleep 0.5
expect_eq "DELETE through the other instance: 202" 202 \
	"$(lab_exec curl -s -o /dev/null -w '%{http_code}' -m 5 -X DELETE "http://127.0.0.1:8143/v1/jobs/$id2")"
expect_match "the job says cancelled where it was posted" '"state":"cancelled"' \
	"$(lab_exec curl -s -m 5 "http://127.0.0.1:$B/v1/jobs/$id2")"
for _ in $(seq 100); do
	[ "$(rcli xlen rcptd:v1:jobs)" = 0 ] && [ "$(rcli xpending rcptd:v1:jobs workers | head -n 1)" = 0 ] && break
	sleep 0.1
done
expect_eq "the cancelled job's chunks are let go" "0 0" \
	"$(rcli xlen rcptd:v1:jobs) $(rcli xpending rcptd:v1:jobs workers | head -n 1)"
done2=$(rcli hget "rcptd:v1:job:$id2" done)
[ "${done2:-0}" -lt 300 ] || lab_fail "the cancelled job ran to its end ($done2 rows)"
lab_pass "the cancelled job stopped early ($done2 of 300 rows)"

# Both stop cleanly on SIGTERM (under `make asan`, LeakSanitizer's
# verdict is in the exit status).
kill -TERM "$survivor" "$third"
st1=0 st2=0
wait "$survivor" || st1=$?
wait "$third" || st2=$?
expect_eq "the instances exit 0 on SIGTERM" "0 0" "$st1 $st2"
