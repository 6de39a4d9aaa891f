#!/bin/sh
# deps.sh - install the Debian packages rcptd needs to build and test.
# As root it installs what is missing; otherwise it prints the exact
# apt-get line and fails. Used by `make deps` (and so by run, test, asan);
# `deps.sh bench` adds what only the benchmarks use, `deps.sh deploy`
# what only the deploy checks use.
set -eu

# Build: compiler, pkg-config and the -dev packages of every library.
build="gcc make pkg-config libmicrohttpd-dev libc-ares-dev libhiredis-dev
libuv1-dev libjansson-dev libidn2-dev"
# Test: Check, clang and its sanitizer/libFuzzer runtime, clang-format for
# lint, and the lab's real servers and clients (see tests/lab/README.md).
test="check libsubunit-dev clang libclang-rt-14-dev clang-format
redis-server postfix unbound dnsutils swaks iproute2 procps python3 curl time
prometheus"
# Bench: the load generator, the reference web server and GNU time (peak
# RSS). The npm comparison uses the machine's node and npm and installs the
# npm package itself, into the bench's own directory.
bench="wrk nginx-light"
# Deploy (make deploy-test): Debian's Docker engine and Compose, debootstrap
# for the base images (no registry is needed), systemd-analyze and groff
# for the unit and the man page; the lint tools come from npm with the
# machine's node (tests/deploy/run).
deploy="docker.io docker-compose debootstrap systemd groff-base"
extra=""
[ "${1:-}" = bench ] && extra=$bench
[ "${1:-}" = deploy ] && extra=$deploy

missing=""
for p in $build $test $extra; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "rcptd: missing Debian packages; as root run:" >&2
	echo "  apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi

echo "rcptd: installing$missing" >&2
# Postfix is used only as a private instance inside the test lab: answer
# its configuration question with "No configuration" so that installing it
# does not start a system mail server.
echo "postfix postfix/main_mailer_type select No configuration" |
	debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
