#!/usr/bin/python3
"""farm - the bulk benchmark's farm and its round-trip lower bound.

  farm.py gen DIR        writes DIR/farm.conf (a lab scenario), DIR/addrs
                         (one address a line, shuffled) and DIR/domains.tsv
                         (domain, host, addresses, known users)
  farm.py bound DIR      prints the lower bounds (key=value lines) for the
                         farm in DIR and the parameters in the environment
  farm.py flights TDIR CAP   sessions, flights (round trips) by kind,
                         RCPTs, RSETs, session times and the busiest
                         host's session time / CAP, from the scripted
                         server's transcripts in TDIR (key=value line)
  farm.py caps CAP       reads the scripted server's stats JSON on stdin,
                         prints "ADDR sessions max_concurrent" per farm
                         host and exits 1 if any max_concurrent > CAP

The farm (environment, defaults in brackets): N [3000] distinct addresses
over DOMAINS [75] domains bulkNNN.test, domain of rank i getting a share
proportional to 1/i^ZIPF [1.0] (largest remainder rounding, at least one
each); HOSTS [5] scripted mail hosts (labsmtp.py, behaviour users) at
198.18.6.1.., the domain of rank i on host ((i-1) mod HOSTS)+1; every
host plays a network round trip of RTT [0.02] s (labsmtp's rtt=: the
banner 2 RTT after the accept, the replies to each flight of client
input together 1 RTT after it arrived) and offers PIPELINING [yes].
Every UNKNOWN_EVERY-th [10] address of a domain is an unknown user (550
5.1.1), the rest are known users (250). The list is shuffled with a
fixed seed, as real lists mix their domains.

The bound (see bound() for the model) reads CAP (per-host sessions),
RCPT (recipients per session), RATE (new sessions a second per domain,
0 none), CONC (sessions in all), RTT and PIPELINING.

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
    rtt = env_float("RTT", 0.02)
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
            f.write("farm%d %s%d smtp behaviour=users rtt=%g "
                    "pipelining=%s idle_timeout=600\n" %
                    (h, FARM_NET, h, rtt, pipe))
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
    """bound - the issue's round-trip lower bound of the run time.

    Model (issue 6), in round trips of RTT: connect and banner cost 2,
    each unpipelined command 1, a pipelined flight 1 whatever it holds.
    Sessions belong to one domain (as rcptd's engine) and carry at most
    RCPT recipients in one transaction; the domain's catch-all probe
    rides on top of one session's cap (as rcptd's engine does). With
    PIPELINING a session costs T = 5: connect and banner 2, EHLO 1 (RFC
    2920 3.1: EHLO ends a group), MAIL with all its RCPTs 1, QUIT 1
    (rcptd sends QUIT once the last RCPT reply is in and holds its slot
    until the 221), whatever the number of RCPTs. Without PIPELINING a
    session of k RCPTs costs k + 5 (MAIL 1 and each RCPT 1). A domain of
    n addresses needs at least ceil(n / RCPT) sessions, and more sessions
    only add round trips. Limits:
      host  a host's sessions share CAP slots: pipelined, all sessions
            equal, ceil(sessions / CAP) * T; else its work / CAP;
      rate  with RATE > 0 a domain's s session starts come from a bucket
            of RATE refilled at RATE a second: the last starts at
            (s - RATE) / RATE s at the earliest, then lasts a session;
      all   CONC sessions at once in all: ceil(all sessions / CONC) * T
            (pipelined), else all work / CONC.
    The bound is the largest of them. DNS, start-up and CPU count
    nothing. Also printed: bound4_s, the same with QUIT in the last
    flight (T = 4: a client that knows a session's last batch)."""
    cap = env_int("CAP", 5)
    rcpt = env_int("RCPT", 50)
    rate = env_float("RATE", 0)
    conc = env_int("CONC", 256)
    rtt = env_float("RTT", 0.02)
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

    def limits(fixed):
        """the host, rate and global terms in round trips, for sessions
        of `fixed` round trips plus one per RCPT without pipelining"""
        def cost(k):
            return fixed + (0 if pipe else k)
        host_sess, host_work, terms = {}, {}, {"rate": 0.0}
        for _, host, n in rows:
            sizes = session_sizes(n)
            host_sess[host] = host_sess.get(host, 0) + len(sizes)
            host_work[host] = host_work.get(host, 0) + \
                sum(cost(k) for k in sizes)
            s = len(sizes)
            if rate > 0 and s > rate:
                terms["rate"] = max(terms["rate"],
                                    (s - rate) / rate / rtt + cost(1))
        if pipe:
            terms["host"] = max(math.ceil(x / cap) * fixed
                                for x in host_sess.values())
            terms["all"] = math.ceil(sum(host_sess.values()) / conc) * fixed
        else:
            terms["host"] = max(host_work.values()) / cap
            terms["all"] = sum(host_work.values()) / conc
        return terms, host_sess

    terms, host_sess = limits(5)
    terms4, _ = limits(4)
    busiest = max(host_sess, key=lambda h: host_sess[h])
    which = max(terms, key=lambda k: terms[k])
    print("bound_s=%.3f" % (terms[which] * rtt))
    print("bound_rt=%g" % terms[which])
    print("bound_term=%s" % which)
    print("bound4_s=%.3f" % (max(terms4.values()) * rtt))
    for k in ("host", "rate", "all"):
        print("bound_%s_s=%.3f" % (k, terms[k] * rtt))
    print("session_rt=%d" % 5)
    print("min_sessions=%d" % sum(host_sess.values()))
    print("busiest_sessions=%d" % host_sess[busiest])
    print("addresses=%d" % sum(n for _, _, n in rows))
    print("largest=%d" % max(n for _, _, n in rows))
    print("smallest=%d" % min(n for _, _, n in rows))


def flight_kind(cmds):
    """flight_kind - what one flight of client commands was."""
    if not cmds:
        return "banner"
    verbs = [c.split(" ", 1)[0].upper() for c in cmds]
    if verbs == ["QUIT"]:
        return "quit"
    if verbs[0] in ("EHLO", "HELO"):
        return "ehlo" if len(verbs) == 1 else "ehlo+"
    if verbs[0] in ("MAIL", "RSET"):
        return "mail"
    if all(v == "RCPT" for v in verbs):
        return "rcpt"
    return "other"


def flights(tdir, cap):
    """flights - what the farm's transcripts (rtt mode) say of one run:
    sessions; flights in all and by kind (banner, ehlo, mail: MAIL with
    its RCPTs, rcpt: RCPTs added to an open transaction, quit: QUIT
    alone, other); RCPTs and RSETs; sessions carrying at most one RCPT;
    the mean session time in round trips; the mean turnaround from a
    flight of replies sent to the next input read (ms: the client's and
    the farm's own latency, which the model counts as nothing); and the
    busiest host's session time / cap (seconds)."""
    rtt = env_float("RTT", 0.02)
    kinds = {k: 0 for k in ("banner", "ehlo", "ehlo+", "mail", "rcpt",
                            "quit", "other")}
    nsess = nrcpt = nrset = small = nturn = 0
    turn = 0.0
    secs = busiest = 0.0
    for host in sorted(os.listdir(tdir)):
        if not host.startswith(FARM_NET):
            continue
        hsecs = 0.0
        d = os.path.join(tdir, host)
        for name in os.listdir(d):
            cmds, srcpt, sent = [], 0, None
            with open(os.path.join(d, name), errors="replace") as f:
                for line in f:
                    if line.startswith("C: "):
                        cmds.append(line[3:].rstrip("\n"))
                        if line.startswith("C: RCPT"):
                            srcpt += 1
                        elif line.startswith("C: RSET"):
                            nrset += 1
                    elif line.startswith("# rtt: read "):
                        t = float(line.split()[6])
                        if sent is not None and t >= sent:
                            turn += t - sent
                            nturn += 1
                            sent = None
                    elif line.startswith("# rtt: "):
                        kinds[flight_kind(cmds)] += 1
                        cmds = []
                        sent = float(line.split()[6])
                    elif line.startswith("# end after "):
                        hsecs += float(line.split()[3])
                        nsess += 1
            nrcpt += srcpt
            small += srcpt <= 1
        secs += hsecs
        busiest = max(busiest, hsecs / cap)
    nfl = sum(kinds.values())
    print("sessions=%d flights=%d %s rcpts=%d rsets=%d small=%d "
          "session_rt=%.2f turn_ms=%.1f busy_s=%.3f" %
          (nsess, nfl, " ".join("fl_%s=%d" % (k.replace("+", "_more"), v)
                                for k, v in kinds.items()),
           nrcpt, nrset, small, secs / max(nsess, 1) / rtt,
           1000 * turn / max(nturn, 1), busiest))


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
    elif len(argv) == 4 and argv[1] == "flights":
        flights(argv[2], int(argv[3]))
    elif len(argv) == 3 and argv[1] == "caps":
        return caps(int(argv[2]))
    else:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
