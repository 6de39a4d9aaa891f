#!/usr/bin/python3
"""farm - the bulk benchmark's farm and its round-trip lower bound.

  farm.py gen DIR        writes DIR/farm.conf (a lab scenario), DIR/addrs
                         (one address a line, shuffled) and DIR/domains.tsv
                         (domain, host, addresses, known users)
  farm.py bound DIR      prints the lower bounds (key=value lines) for the
                         farm in DIR and the parameters in the environment
  farm.py replies TDIR CAP   sessions, replies, RSETs, time per reply
                         and the busiest host's session time / CAP, from
                         the scripted server's transcripts in TDIR
  farm.py caps CAP       reads the scripted server's stats JSON on stdin,
                         prints "ADDR sessions max_concurrent" per farm
                         host and exits 1 if any max_concurrent > CAP

The farm (environment, defaults in brackets): N [3000] distinct addresses
over DOMAINS [75] domains bulkNNN.test, domain of rank i getting a share
proportional to 1/i^ZIPF [1.0] (largest remainder rounding, at least one
each); HOSTS [5] scripted mail hosts (labsmtp.py, behaviour users) at
198.18.6.1.., the domain of rank i on host ((i-1) mod HOSTS)+1; every
host waits DELAY [0.02] s before each reply and offers PIPELINING
[yes]. Every UNKNOWN_EVERY-th [10] address of a domain is an unknown
user (550 5.1.1), the rest are known users (250). The list is shuffled
with a fixed seed, as real lists mix their domains.

The bound (see bound() for the model) reads CAP (per-host sessions),
RCPT (recipients per session), RATE (new sessions a second per domain,
0 none), CONC (sessions in all), DELAY and PIPELINING.

Standard library only.
"""

import json
import math
import os
import random
import sys

FARM_NET = "198.18.6."  # farm hosts: 198.18.6.1 .. 198.18.6.HOSTS
HOSTS_MAX = 250         # addresses in that /24 left for hosts


def env_int(name, default):
    return int(os.environ.get(name, default))


def env_float(name, default):
    return float(os.environ.get(name, default))


def zipf_counts(n, domains, s):
    """zipf_counts - n split over domains ranks by 1/rank^s, each >= 1."""
    if n < domains:
        raise SystemExit("farm: N must be at least DOMAINS")
    w = [1.0 / (i ** s) for i in range(1, domains + 1)]
    total = sum(w)
    spare = n - domains     # one each first, the rest by weight
    raw = [spare * x / total for x in w]
    counts = [1 + int(r) for r in raw]
    left = n - sum(counts)
    order = sorted(range(domains), key=lambda i: (-(raw[i] - int(raw[i])),
                                                  i))
    for i in order[:left]:
        counts[i] += 1
    return counts


def gen(out):
    n = env_int("N", 3000)
    domains = env_int("DOMAINS", 75)
    hosts = env_int("HOSTS", 5)
    s = env_float("ZIPF", 1.0)
    delay = env_float("DELAY", 0.02)
    every = env_int("UNKNOWN_EVERY", 10)
    pipe = os.environ.get("PIPELINING", "yes")
    if not 1 <= hosts <= HOSTS_MAX or domains < 1 or every < 2:
        raise SystemExit("farm: bad HOSTS, DOMAINS or UNKNOWN_EVERY")
    counts = zipf_counts(n, domains, s)
    maxknown = max(counts)
    users = ["u%05d" % i for i in range(1, maxknown + 1)]
    addrs, rows = [], []
    for rank, c in enumerate(counts, 1):
        dom = "bulk%03d.test" % rank
        host = (rank - 1) % hosts + 1
        known = 0
        for j in range(1, c + 1):
            if j % every == 0:
                addrs.append("x%05d@%s" % (j, dom))
            else:
                addrs.append("u%05d@%s" % (j, dom))
                known += 1
        rows.append((dom, host, c, known))
    random.Random(6).shuffle(addrs)
    with open(os.path.join(out, "farm.conf"), "w") as f:
        f.write("# bulk benchmark farm (tests/bench/bulk/farm.py)\n")
        f.write("[lab]\nusers = %s\n" % " ".join(users))
        f.write("[hosts]\ndns 198.18.0.53 dns\n")
        for h in range(1, hosts + 1):
            f.write("farm%d %s%d smtp behaviour=users delay=%g "
                    "pipelining=%s idle_timeout=600\n" %
                    (h, FARM_NET, h, delay, pipe))
        f.write("[dns]\n")
        for dom, host, _, _ in rows:
            f.write("%s MX 10 mx%d.farm.test\n" % (dom, host))
        for h in range(1, hosts + 1):
            f.write("mx%d.farm.test ADDR farm%d\n" % (h, h))
    with open(os.path.join(out, "addrs"), "w") as f:
        f.write("".join(a + "\n" for a in addrs))
    with open(os.path.join(out, "domains.tsv"), "w") as f:
        for r in rows:
            f.write("%s\t%d\t%d\t%d\n" % r)


def bound(out):
    """bound - lower bounds of the run time, in seconds.

    Serial-reply model (the farm's own, the goal's base): labsmtp sleeps
    DELAY before every reply and answers a session's commands one after
    the other, pipelined or not, so a pipelined group of k commands costs
    k delays and pipelining saves nothing but the client's own turnaround;
    connecting costs nothing (the namespace's loopback). A session of k
    RCPTs in one transaction costs k + 4 delays: banner, EHLO, MAIL, the
    k RCPTs, QUIT. Sessions belong to one domain (as rcptd's engine); a
    domain of n addresses needs at least s = ceil(n / RCPT) sessions and
    one catch-all probe RCPT (riding on top of a session's cap, as
    rcptd's engine does): work W = n + 1 + 4 s delays at the fewest
    sessions, and more sessions only add work. A host serves at most CAP
    sessions at once, so it needs at least sum(W) / CAP; one domain alone
    at least (n + 1 + 4 max(s, CAP)) / CAP; with RATE > 0 a domain's s
    session starts need (s - RATE) / RATE s after its first (a bucket of
    RATE), then its last session's 5 delays; the whole run needs
    sum(all W) / CONC. The bound is the largest of these over every host
    and domain. Nothing else (DNS, start-up, rcptd's CPU) is counted.

    Also printed, for reference: the same with rcptd's fixed 10 recipients
    per transaction (RSET + MAIL again each 10: 2 more delays per further
    transaction), and the issue's network round-trip model (connect and
    banner 2 round trips, each unpipelined command 1, a pipelined group
    of MAIL and RCPTs 1, QUIT 1; round trip = DELAY), which this farm
    cannot reach: its delay is per reply, not per round trip."""
    cap = env_int("CAP", 5)
    rcpt = env_int("RCPT", 50)
    rate = env_float("RATE", 0)
    conc = env_int("CONC", 256)
    delay = env_float("DELAY", 0.02)
    txn = env_int("TXN", 10)
    pipe = os.environ.get("PIPELINING", "yes") == "yes"
    rows = []
    with open(os.path.join(out, "domains.tsv")) as f:
        for line in f:
            dom, host, n, _ = line.rstrip("\n").split("\t")
            rows.append((dom, int(host), int(n)))

    def session_sizes(n):
        s = math.ceil(n / rcpt)
        sizes = [rcpt] * (s - 1) + [n - rcpt * (s - 1)]
        sizes[0] += 1           # the catch-all probe
        return sizes

    def limits(work_of, short):
        """largest of the host, domain, rate and global terms (delays)"""
        host_work, total, dom_max, rate_max = {}, 0.0, 0.0, 0.0
        for dom, host, n in rows:
            sizes = session_sizes(n)
            w = sum(work_of(k) for k in sizes)
            host_work[host] = host_work.get(host, 0.0) + w
            total += w
            s = len(sizes)
            extra = (max(s, cap) - s) * work_of(0)
            dom_max = max(dom_max, (w + extra) / cap)
            if rate > 0 and s > rate:
                rate_max = max(rate_max,
                               (s - rate) / rate / delay + short)
        return max(max(host_work.values()) / cap, dom_max, rate_max,
                   total / conc)

    serial = limits(lambda k: k + 4, 5)
    serial_txn = limits(lambda k: k + 4 + 2 * max(0, math.ceil(k / txn) - 1),
                        5)
    if pipe:
        rtt = limits(lambda k: 5, 5)
    else:
        rtt = limits(lambda k: k + 5, 6)
    sessions = sum(len(session_sizes(n)) for _, _, n in rows)
    print("bound_s=%.3f" % (serial * delay))
    print("bound_txn_s=%.3f" % (serial_txn * delay))
    print("bound_rtt_s=%.3f" % (rtt * delay))
    print("min_sessions=%d" % sessions)
    print("addresses=%d" % sum(n for _, _, n in rows))
    print("largest=%d" % max(n for _, _, n in rows))
    print("smallest=%d" % min(n for _, _, n in rows))


def replies(tdir, cap):
    """replies - what the farm's transcripts say of one run: sessions,
    replies (final reply lines), RSETs, the effective time per reply (the
    sessions' time over their replies: the delay plus the farm's and the
    client's own overhead) and the busiest host's session time / cap."""
    nsess = nrep = nrset = 0
    secs = 0.0
    busiest = 0.0
    for host in sorted(os.listdir(tdir)):
        if not host.startswith(FARM_NET):
            continue
        hsecs = 0.0
        d = os.path.join(tdir, host)
        for name in os.listdir(d):
            with open(os.path.join(d, name), errors="replace") as f:
                for line in f:
                    if line.startswith("S: ") and line[6:7] == " ":
                        nrep += 1
                    elif line.startswith("C: RSET"):
                        nrset += 1
                    elif line.startswith("# end after "):
                        hsecs += float(line.split()[3])
                        nsess += 1
        secs += hsecs
        busiest = max(busiest, hsecs / cap)
    print("sessions=%d replies=%d rsets=%d per_reply_ms=%.1f busy_s=%.3f" %
          (nsess, nrep, nrset, 1000 * secs / max(nrep, 1), busiest))


def caps(cap):
    stats = json.load(sys.stdin)
    worst = 0
    for addr in sorted(stats):
        if not addr.startswith(FARM_NET):
            continue
        st = stats[addr]
        print("%s %d %d" % (addr, st["sessions"], st["max_concurrent"]))
        worst = max(worst, st["max_concurrent"])
    return 1 if worst > cap else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "gen":
        gen(argv[2])
    elif len(argv) == 3 and argv[1] == "bound":
        bound(argv[2])
    elif len(argv) == 4 and argv[1] == "replies":
        replies(argv[2], int(argv[3]))
    elif len(argv) == 3 and argv[1] == "caps":
        return caps(int(argv[2]))
    else:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
