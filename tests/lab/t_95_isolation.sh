# t_95_isolation.sh - the lab is sealed: its processes live in its own
# namespace, which has loopback only and no route out, and nothing touched
# loopback port 25 during the whole run (the canary; this file runs last).
# shellcheck disable=SC2154 # LAB_* come from the lab's env file

expect_eq "the namespace has loopback only" "lo" \
	"$(lab_exec ip -o link show | awk -F': ' '{print $2}' | paste -sd' ')"
expect_eq "no IPv4 route but local ones" "" \
	"$(lab_exec ip -4 route show table main)"
expect_eq "no IPv6 route off loopback" "" \
	"$(lab_exec ip -6 route show table main | grep -v ' dev lo ')"

# Every daemon of the lab (run dir's pids) lives in the lab's namespace.
while read -r name pid; do
	expect_eq "$name (pid $pid) is in $LAB_NS" "$LAB_NS" \
		"$(ip netns identify "$pid" 2>/dev/null)"
done <"$LAB_RUN/pids"
expect_match "the lab started its daemons" '^[1-9]' "$(wc -l <"$LAB_RUN/pids")"

# Every listening socket in the namespace is on a lab or loopback address.
bad=$(lab_exec ss -Hltun | awk '{print $5}' |
	grep -vE '^(198\.1[89]\.[0-9.]+|127\.[0-9.]+|\[2001:2::[0-9a-f:]*\]|\[::1\]):' )
expect_eq "listeners on lab or loopback addresses only" "" "$bad"
# ... and none of the lab's processes listens in the host's namespace.
pids=$(awk '{print $2}' "$LAB_RUN/pids" | paste -sd'|')
expect_eq "no lab process listens outside the namespace" "" \
	"$(ss -Hltunp | grep -E "pid=($pids)," )"

expect_canary_silent
