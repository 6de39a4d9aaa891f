#!/bin/sh
# lint.sh - `make lint`: formatting, layering and banned calls.
#  1. clang-format (.clang-format) agrees with every C file we track.
#  2. core/ includes no event loop, DNS, Redis, HTTP or socket header:
#     core/ is pure logic, testable with plain data.
#  3. No call from curl's banned list (unbounded or unchecked string and
#     number handling).
set -u
cd "$(dirname "$0")/.."
rc=0
files=$(git ls-files -co --exclude-standard '*.c' '*.h' 2>/dev/null)

if command -v clang-format >/dev/null 2>&1; then
	for f in $files; do
		[ -f "$f" ] || continue
		if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
			echo "lint: $f is not clang-formatted (run: clang-format -i $f)"
			rc=1
		fi
	done
else
	echo "lint: clang-format is not installed (make deps)"; rc=1
fi

bad=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](uv\.h|uv/|ares|hiredis|microhttpd|sys/socket\.h|netinet/|netdb\.h|sys/epoll\.h|poll\.h)' core/*.c core/*.h 2>/dev/null)
if [ -n "$bad" ]; then
	echo "lint: core/ must stay free of I/O libraries:"; echo "$bad"; rc=1
fi

banned=$(grep -nwE '(atoi|atol|sprintf|vsprintf|strcpy|strcat|strtok|gets)[[:space:]]*\(' $files 2>/dev/null | grep -v '^tools/')
if [ -n "$banned" ]; then
	echo "lint: banned call (use a bounded or checked alternative):"
	echo "$banned"; rc=1
fi
[ $rc -eq 0 ] && echo "lint: ok ($(echo $files | wc -w) files)"
exit $rc
