# t_40_redis.sh - the lab's redis-server answers inside the namespace, on
# loopback and on its Unix socket, and keeps nothing on disk.
# shellcheck disable=SC2154 # LAB_* come from the lab's env file

rc() { lab_exec redis-cli -h "$LAB_REDIS_HOST" -p "$LAB_REDIS_PORT" "$@"; }

expect_eq "PING" PONG "$(rc PING)"
key="lab:t40:$$"
expect_eq "SET" OK "$(rc SET "$key" "hello lab" EX 60)"
expect_eq "GET" "hello lab" "$(rc GET "$key")"
expect_eq "the Unix socket reaches the same server" "hello lab" \
	"$(redis-cli -s "$LAB_REDIS_SOCKET" GET "$key")"
expect_eq "DEL" 1 "$(rc DEL "$key")"
expect_eq "GET after DEL" "" "$(rc GET "$key")"
expect_eq "no snapshots" "save" "$(rc CONFIG GET save | paste -sd' ' | sed 's/ *$//')"
expect_eq "no append-only file" "appendonly no" \
	"$(rc CONFIG GET appendonly | paste -sd' ')"
expect_eq "listens on loopback in the namespace only" "$LAB_REDIS_HOST:$LAB_REDIS_PORT" \
	"$(lab_exec ss -Hltn "( sport = :$LAB_REDIS_PORT )" | awk '{print $4}' | paste -sd' ')"
expect_match "LAB_REDIS_URL" '^redis://(127\.0\.0\.1|\[::1\]):[0-9]+$' "$LAB_REDIS_URL"
