# lib.sh - helpers for the lab's tests (bash; sourced by run-tests before
# each t_*.sh, or by hand after sourcing a lab's env file).
#
# Every expect_* counts one assertion: it appends "P ..." or "F ..." to
# $LAB_RESULTS (when set) and, on failure, prints one line
#   FAIL t_NN_x.sh:LINE WHAT: expected <...>, saw <...>
# Set LAB_VERBOSE=1 to also print the ones that pass. They return 0 or 1
# and never exit, so that one test file reports all its failures.

LAB_PY=/usr/bin/python3
LAB_CMD_TIMEOUT=${LAB_CMD_TIMEOUT:-60}  # seconds any one probe may take

# _lab_loc - file:line of the test line that called a helper.
_lab_loc() {
	local i
	for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
		if [ "${BASH_SOURCE[$i]##*/}" != lib.sh ]; then
			echo "${BASH_SOURCE[$i]##*/}:${BASH_LINENO[$((i - 1))]}"
			return
		fi
	done
	echo "?"
}

lab_pass() {
	[ -n "${LAB_RESULTS:-}" ] && echo "P $(_lab_loc) $1" >>"$LAB_RESULTS"
	[ -n "${LAB_VERBOSE:-}" ] && echo "  ok   $(_lab_loc) $1"
	return 0
}

lab_fail() {
	[ -n "${LAB_RESULTS:-}" ] && echo "F $(_lab_loc) $1" >>"$LAB_RESULTS"
	echo "  FAIL $(_lab_loc) $1"
	return 1
}

# _lab_show TEXT - a value as it goes into a message: one line, bounded.
_lab_show() {
	local s=${1//$'\r'/\\r}
	s=${s//$'\n'/\\n}
	[ "${#s}" -gt 400 ] && s="${s:0:400}...(${#1} bytes)"
	printf '%s' "$s"
}

# ---- running things in the lab ---------------------------------------------

# lab_exec CMD... - run CMD inside the lab's namespace (its resolver is
# the lab DNS, its addresses the lab's).
lab_exec() {
	timeout -k 5 "$LAB_CMD_TIMEOUT" ip netns exec "$LAB_NS" "$@"
}

# lab_ip HOST - the first address of a lab host: IPv4 if it has one.
# An address is passed through unchanged.
lab_ip() {
	local v4="LAB_IP_$1" v6="LAB_IP6_$1"
	case "$1" in
	*[.:]*) echo "$1" ;;
	*) echo "${!v4:-${!v6:-}}" ;;
	esac
}

# lab_smtp [-t S] [-s SRC] HOST|ADDR[:PORT] [STEP...] - a conversation
# with labclient.py inside the lab; prints S:/C:/# lines (see labclient.py).
lab_smtp() {
	local opts=()
	while [ "$#" -gt 0 ]; do
		case "$1" in
		-t | -s)
			opts+=("$1" "$2")
			shift 2
			;;
		*) break ;;
		esac
	done
	local target=$1
	shift
	case "$target" in
	*[.:]*) ;;
	*) target=$(lab_ip "$target") ;;
	esac
	lab_exec "$LAB_PY" "$LAB_DIR/labclient.py" "${opts[@]}" "$target" "$@"
}

# lab_ctl stats|reset - the scripted server's control socket.
lab_ctl() {
	"$LAB_PY" "$LAB_DIR/labclient.py" ctl "$LAB_SMTP_CTL" "$1"
}

# lab_stat HOST|ADDR FIELD - one counter of the scripted server for an
# address: sessions, current, max_concurrent, improper_pipelining.
lab_stat() {
	lab_ctl stats | "$LAB_PY" -c '
import json, sys
s = json.load(sys.stdin).get(sys.argv[1], {})
print(s.get(sys.argv[2], 0))' "$(lab_ip "$1")" "$2"
}

# lab_reset - greylisting state and counters to zero, transcripts gone.
lab_reset() {
	lab_ctl reset >/dev/null
	rm -rf "${LAB_TRANSCRIPTS:?}"/*
}

# lab_transcripts HOST|ADDR - the transcript files of an address, oldest
# first.
lab_transcripts() {
	local d
	d=$LAB_TRANSCRIPTS/$(lab_ip "$1")
	[ -d "$d" ] && ls -1 "$d"/*.txt 2>/dev/null
	return 0
}

# ---- assertions ------------------------------------------------------------

# expect_eq WHAT EXPECTED SEEN
expect_eq() {
	if [ "$2" = "$3" ]; then
		lab_pass "$1"
	else
		lab_fail "$1: expected '$(_lab_show "$2")', saw '$(_lab_show "$3")'"
	fi
}

# expect_match WHAT REGEX SEEN - SEEN matches the extended regex (grep -E).
expect_match() {
	if printf '%s\n' "$3" | grep -qE -- "$2"; then
		lab_pass "$1"
	else
		lab_fail "$1: expected a match of /$2/, saw '$(_lab_show "$3")'"
	fi
}

# expect_contains WHAT TEXT SEEN - SEEN contains TEXT (fixed string).
expect_contains() {
	case "$3" in
	*"$2"*) lab_pass "$1" ;;
	*) lab_fail "$1: expected to contain '$(_lab_show "$2")', saw '$(_lab_show "$3")'" ;;
	esac
}

# expect_lacks WHAT TEXT SEEN - SEEN does not contain TEXT.
expect_lacks() {
	case "$3" in
	*"$2"*) lab_fail "$1: expected no '$(_lab_show "$2")', saw '$(_lab_show "$3")'" ;;
	*) lab_pass "$1" ;;
	esac
}

# expect_verdict ADDRESS STATUS REASON [RCPTD FLAGS...] - rcptd verify,
# run inside the lab against the lab DNS, gives STATUS and REASON.
expect_verdict() {
	local addr=$1 status=$2 reason=$3 out err seen
	shift 3
	if [ ! -x "${RCPTD:-}" ]; then
		lab_fail "verdict for $addr: RCPTD='${RCPTD:-}' is not an executable"
		return 1
	fi
	err=$(mktemp)
	out=$(lab_exec "$RCPTD" verify --dns-server "$LAB_DNS" \
		--allow-net 198.18.0.0/15 --allow-net 2001:2::/48 \
		--helo verifier.test --connect-timeout 2 --command-timeout 3 \
		"$@" "$addr" 2>"$err")
	seen=$(printf '%s\n' "$out" | head -n 1 | "$LAB_PY" -c '
import json, sys
try:
    v = json.loads(sys.stdin.readline())
    print("%s %s" % (v.get("status"), v.get("reason")))
except ValueError:
    print("(no JSON verdict)")')
	if [ "$seen" = "$status $reason" ]; then
		lab_pass "verdict for $addr"
	else
		lab_fail "verdict for $addr: expected '$status $reason', saw '$seen' (output: $(_lab_show "$out") stderr: $(_lab_show "$(head -c 400 "$err")"))"
	fi
	rm -f "$err"
}

# expect_transcript_contains HOST|ADDR TEXT - some session of the
# scripted server at that address has TEXT in its transcript. Waits up to
# LAB_TRANSCRIPT_WAIT seconds (default 3) for the session to be written.
expect_transcript_contains() {
	local ip d t last
	ip=$(lab_ip "$1")
	d=$LAB_TRANSCRIPTS/$ip
	t=$((${LAB_TRANSCRIPT_WAIT:-3} * 10))
	while :; do
		if [ -d "$d" ] && grep -rqF -- "$2" "$d"; then
			lab_pass "transcript of $ip has '$2'"
			return 0
		fi
		[ "$t" -le 0 ] && break
		t=$((t - 1))
		sleep 0.1
	done
	last=$(lab_transcripts "$ip" | tail -n 1)
	lab_fail "transcript of $ip: expected '$(_lab_show "$2")', saw $(lab_transcripts "$ip" | wc -l) sessions${last:+, the last: $(_lab_show "$(head -n 30 "$last")")}"
}

# expect_transcript_lacks HOST|ADDR TEXT - no transcript there has TEXT.
expect_transcript_lacks() {
	local ip d
	ip=$(lab_ip "$1")
	d=$LAB_TRANSCRIPTS/$ip
	if [ -d "$d" ] && grep -rqF -- "$2" "$d"; then
		lab_fail "transcript of $ip: expected no '$2', saw: $(_lab_show "$(grep -rhF -- "$2" "$d" | head -n 3)")"
	else
		lab_pass "transcript of $ip lacks '$2'"
	fi
}

# expect_canary_silent - nothing connected to loopback port 25 in the lab
# (apart from the canary's own self-tests), and the canary still listens.
expect_canary_silent() {
	local bad pid
	bad=$(grep -v '"selftest": true' "$LAB_CANARY_LOG" 2>/dev/null)
	pid=$(cat "$LAB_RUN/canary/ready" 2>/dev/null)
	if [ -n "$bad" ]; then
		lab_fail "canary: expected silence, saw: $(_lab_show "$bad")"
	elif [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
		lab_fail "canary: expected it running, saw it gone (pid '$pid')"
	elif [ "$(lab_exec ss -Hltn "( sport = :$LAB_CANARY_PORT )" |
		grep -cE ' (127\.0\.0\.1|\[::1\]):')" != 2 ]; then
		lab_fail "canary: expected it listening on 127.0.0.1 and ::1 port $LAB_CANARY_PORT, saw: $(_lab_show "$(lab_exec ss -Hltn)")"
	else
		lab_pass "canary silent"
	fi
}
