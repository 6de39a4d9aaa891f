#!/usr/bin/python3
"""labsmtp - the lab's scriptable SMTP server, and its loopback canary.

Usage: labsmtp.py CONFIG.json      (written by labgen.py)

One asyncio process listens on every address of every scripted host and
plays that host's behaviour (tests/lab/README.md lists them), so that
rcptd meets what Postfix cannot easily be made to show. Every session's
transcript goes to TRANSCRIPTS/ADDRESS/NNNNNN.txt, written at each point
where the server waits for the client, so it is complete whenever the
client is. Per address it counts sessions, the current and the highest
number of concurrent sessions, and commands pipelined without PIPELINING.

With a host's "rtt" (seconds, 0 off) the server plays a network round
trip instead of a per-reply delay: the banner goes out 2 rtt after the
accept (connect and banner: two round trips), and the replies to all the
commands that one read of client input completed (one pipelined flight)
go out together, rtt after that read. Waiting is an asyncio sleep of the
one session, as "delay" is, so other sessions go on meanwhile.

A control socket (config "ctl", a Unix socket) answers one command a
connection: "stats" (JSON of the counters) and "reset" (counters and
greylisting state back to zero).

With behaviour "canary" (its own process and config) every connection is
a safety failure: it is logged at once as one JSON line to "canary_log",
answered with 554 and closed. Connections from the addresses in
params.selftest_from are the lab's own check of the canary and say so.

Standard library only; runs with Debian's /usr/bin/python3.
"""

import asyncio
import json
import os
import resource
import signal
import sys
import time

# A command line longer than this is cut off and the rest skipped: RFC
# 5321 4.5.3.1.4 allows 512, real clients stay far below.
LINE_MAX = 4096
DATA_MAX = 10 << 20     # message bytes accepted after DATA (we discard them)
TRANSCRIPT_TEXT_MAX = 300   # characters of one line kept in a transcript
REPLY_KEEP = 5          # lines of an endless reply kept in a transcript
ENDLESS_MAX = 10000000  # lines of an endless reply before we give up
SYNC_VERBS = {"EHLO", "HELO", "DATA", "QUIT", "NOOP", "VRFY", "EXPN",
              "STARTTLS"}   # RFC 2920 3.1: must end a pipelined group


def printable(data):
    """printable - bytes as one readable line: controls escaped."""
    out = []
    for b in data:
        if 32 <= b < 127 and b != 0x5C:
            out.append(chr(b))
        elif b == 0x5C:
            out.append("\\\\")
        elif b == 13:
            out.append("\\r")
        elif b == 10:
            out.append("\\n")
        else:
            out.append("\\x%02x" % b)
    text = "".join(out)
    if len(text) > TRANSCRIPT_TEXT_MAX:
        text = "%s... [%d bytes]" % (text[:TRANSCRIPT_TEXT_MAX], len(data))
    return text


def angle(arg, prefix):
    """angle - the address of 'FROM:<a> params', or None if malformed."""
    if not arg.upper().startswith(prefix):
        return None
    rest = arg[len(prefix):].strip()
    if not rest.startswith("<"):
        return None
    end = rest.find(">")
    if end < 0:
        return None
    return rest[1:end]


class Closed(Exception):
    """The session is over (client gone, timeout or deliberate hang-up)."""


class Session:
    def __init__(self, srv, lst, local, reader, writer):
        self.srv = srv
        self.lst = lst
        self.p = lst["params"]
        self.beh = lst["behaviour"]
        self.local = local
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("?", 0)
        self.peer = peer[0]
        self.peer_port = peer[1]
        self.buf = bytearray()
        self.skipping = False
        self.lines = []
        self.mail = None
        self.accepted = 0
        self.errors = 0
        self.drop_next = False
        self.pipelining = bool(self.p.get("pipelining", True))
        self.rtt = float(self.p.get("rtt") or 0)
        self.out = []           # rtt: replies of this flight, not sent yet
        srv.seq += 1
        self.seq = srv.seq
        d = os.path.join(srv.cfg["transcripts"], local)
        self.path = os.path.join(d, "%06d.txt" % self.seq)
        os.makedirs(d, exist_ok=True)
        self.start = time.monotonic()
        self.due = self.start + 2 * self.rtt   # rtt: when self.out may go
        self.note("session %d host=%s behaviour=%s local=%s peer=%s:%s "
                  "at %s" % (self.seq, lst["host"], self.beh, local,
                             self.peer, self.peer_port,
                             time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                           time.gmtime())))

    # -- transcript -------------------------------------------------------

    def note(self, text):
        self.lines.append("# " + text)

    def flush(self):
        if not self.lines:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write("\n".join(self.lines) + "\n")
        self.lines = []

    # -- I/O ----------------------------------------------------------------

    async def send(self, *lines):
        """send - one reply (its lines, without CRLF) after the delay;
        with rtt, held until the flight's last reply (push)."""
        if self.p.get("delay"):
            await asyncio.sleep(self.p["delay"])
        data = "".join(line + "\r\n" for line in lines).encode()
        for line in lines:
            self.lines.append("S: " + printable(line.encode()))
        if self.rtt:
            self.out.append(data)
            if not self.more_in_flight():
                await self.push()
            return
        self.writer.write(data)
        try:
            await self.writer.drain()
        except (ConnectionError, OSError):
            raise Closed("client gone while we wrote")

    def more_in_flight(self):
        """more_in_flight - True if the input already read holds another
        command line (read_line would not need to read)."""
        return self.buf.find(b"\n") >= 0 or len(self.buf) > LINE_MAX

    async def push(self):
        """push - rtt: the held replies of a flight, all in one write, when
        the flight's round trip is over (self.due)."""
        wait = self.due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        data, n = b"".join(self.out), len(self.out)
        self.out = []
        self.note("rtt: %d replies sent at +%.3f s" %
                  (n, time.monotonic() - self.start))
        self.writer.write(data)
        try:
            await self.writer.drain()
        except (ConnectionError, OSError):
            raise Closed("client gone while we wrote")

    async def read_line(self):
        """read_line - the next line the client sent, or Closed at EOF.
        A line over LINE_MAX comes back cut (without its LF); the rest
        of it is then skipped."""
        while True:
            i = self.buf.find(b"\n")
            if self.skipping:
                if i < 0:
                    self.buf.clear()
                else:
                    del self.buf[:i + 1]
                    self.skipping = False
                    continue
            elif i >= 0 and i < LINE_MAX:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            elif len(self.buf) > LINE_MAX:
                line = bytes(self.buf[:LINE_MAX])
                del self.buf[:LINE_MAX]
                self.skipping = True
                return line
            if self.out:
                await self.push()
            self.flush()
            try:
                data = await asyncio.wait_for(self.reader.read(65536),
                                              self.p.get("idle_timeout", 120))
            except asyncio.TimeoutError:
                self.note("idle timeout")
                raise Closed("timeout")
            except (ConnectionError, OSError):
                raise Closed("connection reset")
            if self.rtt:
                now = time.monotonic()
                self.due = now + self.rtt
                self.note("rtt: read %d bytes at +%.3f s" %
                          (len(data), now - self.start))
            if not data:
                if self.buf:
                    self.lines.append("C: " + printable(bytes(self.buf)))
                    self.note("client closed in the middle of a line")
                raise Closed("eof")
            self.buf += data

    async def command(self):
        """command - (verb, argument, raw) of the next client command."""
        raw = await self.read_line()
        if not raw.endswith(b"\n"):
            self.lines.append("C: " + printable(raw))
            self.note("line longer than %d bytes" % LINE_MAX)
            return ("", "", raw, "long")
        crlf = raw.endswith(b"\r\n")
        body = raw[:-2] if crlf else raw[:-1]
        self.lines.append("C: " + printable(body))
        if not crlf:
            self.note("bare LF line ending")
        text = body.decode("utf-8", "replace")
        verb, _, arg = text.partition(" ")
        verb = verb.upper()
        if self.buf and (not self.pipelining or verb in SYNC_VERBS):
            self.note("improper pipelining: more input after %s" % verb)
            self.srv.stat(self.local)["improper_pipelining"] += 1
        return (verb, arg.strip(), body, None)

    # -- the behaviours -----------------------------------------------------

    def special(self, stage):
        """special - True if this stage's reply is the behaviour's trick."""
        return self.beh in ("endless", "longline") and \
            self.p.get("stage") == stage

    async def trick(self, code):
        if self.beh == "longline":
            await self.send("%d %s" % (code, "x" * self.p["length"]))
            return
        # endless: continuation lines until the client leaves.
        if self.p.get("delay"):
            await asyncio.sleep(self.p["delay"])
        if self.rtt:
            await self.push()       # the flight's round trip first
        n = 0
        try:
            while n < ENDLESS_MAX:
                chunk = []
                for _ in range(100):
                    n += 1
                    line = "%d-%s endless reply line %d" % (
                        code, self.lst["hostname"], n)
                    if n <= REPLY_KEEP:
                        self.lines.append("S: " + line)
                    chunk.append(line + "\r\n")
                self.writer.write("".join(chunk).encode())
                await asyncio.wait_for(self.writer.drain(),
                                       self.p.get("idle_timeout", 120))
        except (ConnectionError, OSError, asyncio.TimeoutError):
            pass
        self.note("endless reply: %d lines sent, stopped by the client" % n)
        raise Closed("endless")

    async def reply(self, stage, code, *lines):
        """reply - the normal reply of a stage, unless it is the trick."""
        if self.special(stage):
            await self.trick(code)      # endless never returns
        else:
            await self.send(*lines)
        if self.beh == "drop" and self.p.get("drop_after") == stage:
            self.drop_next = True

    async def run(self):
        beh, host = self.beh, self.lst["hostname"]
        if beh == "busy421":
            await self.send("421 4.3.2 %s Service not available, all server "
                            "ports are busy" % host)
            raise Closed("421 at connect")
        if beh == "tarpit":
            self.note("tarpit: banner in %g s" % self.p["banner_delay"])
            self.flush()
            await asyncio.sleep(self.p["banner_delay"])
        if beh == "garbage":
            await self.send(self.p["text"])
            await self.command()
            await self.send("Protocol mismatch.")
            raise Closed("not SMTP")
        await self.reply("banner", 220, "220 %s ESMTP rcptd-lab" % host)
        while True:
            if beh == "hangup" and self.errors >= self.p["max_errors"]:
                await self.send("421 4.7.0 %s Error: too many errors" % host)
                raise Closed("too many errors")
            verb, arg, raw, problem = await self.command()
            if self.drop_next:
                self.note("dropped without a reply")
                raise Closed("dropped")
            if problem == "long":
                await self.send("500 5.5.0 Error: line too long")
                continue
            handler = getattr(self, "do_" + verb.lower(), None) \
                if verb.isalpha() else None
            if handler is None:
                await self.send("502 5.5.2 Error: command not recognized")
                continue
            await handler(arg)

    async def do_ehlo(self, arg):
        if self.p.get("ehlo") == "reject":
            await self.send("502 5.5.2 Error: command not recognized")
            return
        if not arg:
            await self.send("501 5.5.4 Syntax: EHLO hostname")
            return
        self.mail, self.accepted = None, 0
        caps = [self.lst["hostname"]]
        if self.pipelining:
            caps.append("PIPELINING")
        caps += ["SIZE 10240000", "ENHANCEDSTATUSCODES", "8BITMIME"]
        if self.beh == "starttls":
            caps.append("STARTTLS")
        caps.append("SMTPUTF8")
        lines = ["250-" + c for c in caps[:-1]] + ["250 " + caps[-1]]
        await self.reply("ehlo", 250, *lines)

    async def do_helo(self, arg):
        if not arg:
            await self.send("501 5.5.4 Syntax: HELO hostname")
            return
        self.mail, self.accepted = None, 0
        await self.reply("ehlo", 250, "250 " + self.lst["hostname"])

    async def do_mail(self, arg):
        addr = angle(arg, "FROM:")
        if addr is None:
            await self.send("501 5.5.4 Syntax: MAIL FROM:<address>")
        elif self.mail is not None:
            await self.send("503 5.5.1 Error: nested MAIL command")
        elif self.beh == "blocked":
            await self.send("554 5.7.1 Service unavailable; Client host [%s] "
                            "blocked using bl.lab.test" % self.peer)
        elif self.beh == "starttls":
            await self.send("530 5.7.0 Must issue a STARTTLS command first")
        else:
            self.mail, self.accepted = addr, 0
            await self.reply("mail", 250, "250 2.1.0 Ok")

    def rcpt_verdict(self, rcpt):
        """rcpt_verdict - the reply line for RCPT TO:<rcpt>."""
        beh, p = self.beh, self.p
        local, at, domain = rcpt.rpartition("@")
        domain = domain.lower().rstrip(".")
        if not at or not local or not domain:
            return "501 5.1.3 Bad recipient address syntax"
        if beh == "limit452" and self.accepted >= p["max_rcpt"]:
            return "452 4.5.3 Error: too many recipients"
        relay = beh in ("open-relay", "open-relay-partial")
        if domain not in self.lst["domains"]:
            if beh == "open-relay":
                return "250 2.1.5 Ok"
            return "554 5.7.1 <%s>: Relay access denied" % rcpt
        if relay and ("%" in local or "!" in local):
            return "250 2.1.5 Ok"       # percent hack / bang path relayed
        if beh == "greylist":
            key = (self.lst["host"], self.mail.lower(), rcpt.lower())
            now = time.monotonic()
            first = self.srv.grey.setdefault(key, now)
            left = p["greylist_delay"] - (now - first)
            if left > 0:
                return ("450 4.2.0 <%s>: Recipient address rejected: "
                        "Greylisted, try again in %d seconds" %
                        (rcpt, max(1, int(left + 0.999))))
        if beh == "catchall":
            return "250 2.1.5 Ok"
        if local.lower() not in self.lst["users"]:
            return ("550 5.1.1 <%s>: Recipient address rejected: User "
                    "unknown" % rcpt)
        if beh == "full":
            return "552 5.2.2 <%s>: Mailbox full" % rcpt
        return "250 2.1.5 Ok"

    async def do_rcpt(self, arg):
        if self.mail is None:
            await self.send("503 5.5.1 Error: need MAIL command")
            return
        rcpt = angle(arg, "TO:")
        if rcpt is None:
            await self.send("501 5.5.4 Syntax: RCPT TO:<address>")
            return
        line = self.rcpt_verdict(rcpt)
        if line.startswith("2"):
            self.accepted += 1
        elif line.startswith("5"):
            self.errors += 1
        await self.reply("rcpt", int(line[:3]), line)

    async def do_data(self, arg):
        if self.mail is None or not self.accepted:
            await self.send("554 5.5.1 Error: no valid recipients")
            return
        await self.send("354 End data with <CR><LF>.<CR><LF>")
        size = 0
        while True:
            line = await self.read_line()
            if line in (b".\r\n", b".\n"):
                break
            size += len(line)
            if size > DATA_MAX:
                await self.send("552 5.3.4 Error: message file too big")
                raise Closed("message too big")
        self.note("message of %d bytes discarded" % size)
        self.mail, self.accepted = None, 0
        await self.send("250 2.0.0 Ok: queued as LAB%06d" % self.seq)

    async def do_rset(self, arg):
        self.mail, self.accepted = None, 0
        await self.send("250 2.0.0 Ok")

    async def do_noop(self, arg):
        await self.send("250 2.0.0 Ok")

    async def do_vrfy(self, arg):
        await self.send("502 5.5.1 VRFY command is disabled")

    async def do_starttls(self, arg):
        if self.beh == "starttls":
            await self.send("454 4.7.0 TLS not available due to local "
                            "problem")
        else:
            await self.send("502 5.5.1 Error: command not implemented")

    async def do_quit(self, arg):
        await self.send("221 2.0.0 Bye")
        raise Closed("quit")


class Server:
    def __init__(self, cfg):
        self.cfg = cfg
        self.seq = 0
        self.stats = {}
        self.grey = {}
        self.servers = []
        self.canary_seq = 0

    def stat(self, addr):
        return self.stats.setdefault(addr, {
            "sessions": 0, "current": 0, "max_concurrent": 0,
            "improper_pipelining": 0})

    async def session(self, lst, local, reader, writer):
        st = self.stat(local)
        st["sessions"] += 1
        st["current"] += 1
        st["max_concurrent"] = max(st["max_concurrent"], st["current"])
        s = None
        why = "error"
        try:
            s = Session(self, lst, local, reader, writer)
            await s.run()
        except Closed as e:
            why = str(e)
        except Exception as e:      # a lab bug must not kill the server
            why = "server error: %r" % e
            print("labsmtp: %s: %r" % (local, e), file=sys.stderr)
        finally:
            if s is not None and s.out:
                try:        # rtt: replies held when the session ended
                    await s.push()
                except (Closed, ConnectionError, OSError):
                    pass
            st["current"] -= 1
            if s is not None:
                s.note("end after %.3f s: %s" %
                       (time.monotonic() - s.start, why))
                try:
                    s.flush()
                except OSError as e:
                    print("labsmtp: transcript: %s" % e, file=sys.stderr)
            writer.close()

    async def canary(self, lst, local, reader, writer):
        """canary - log a connection to loopback at once, then refuse it."""
        peer = writer.get_extra_info("peername") or ("?", 0)
        self.canary_seq += 1
        entry = {"n": self.canary_seq, "local": local,
                 "port": lst["port"], "peer": peer[0],
                 "peer_port": peer[1],
                 "selftest": peer[0] in lst["params"]["selftest_from"],
                 "time": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                       time.gmtime())}
        with open(self.cfg["canary_log"], "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
        try:
            writer.write(b"554 5.7.1 rcptd lab canary: a connection to "
                         b"loopback port 25 is a safety failure\r\n")
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        writer.close()

    async def control(self, reader, writer):
        try:
            line = (await asyncio.wait_for(reader.readline(), 5)).strip()
            if line == b"stats":
                out = json.dumps(self.stats, sort_keys=True)
            elif line == b"reset":
                self.stats.clear()
                self.grey.clear()
                out = "ok"
            else:
                out = "error: commands are stats and reset"
            writer.write(out.encode() + b"\n")
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError, OSError):
            pass
        writer.close()

    async def start(self):
        for lst in self.cfg["listeners"]:
            handler = self.canary if lst["behaviour"] == "canary" \
                else self.session
            lst["users"] = [u.lower() for u in lst["users"]]
            lst["domains"] = [d.lower() for d in lst["domains"]]
            for addr in lst["addrs"]:
                def cb(r, w, lst=lst, addr=addr, handler=handler):
                    return handler(lst, addr, r, w)
                self.servers.append(await asyncio.start_server(
                    cb, host=addr, port=lst["port"], backlog=4096,
                    reuse_address=True))
        if self.cfg.get("ctl"):
            try:
                os.unlink(self.cfg["ctl"])
            except FileNotFoundError:
                pass
            self.servers.append(await asyncio.start_unix_server(
                self.control, path=self.cfg["ctl"]))
        with open(self.cfg["ready"], "w") as f:
            f.write("%d\n" % os.getpid())

    def save_stats(self):
        if self.cfg.get("stats"):
            with open(self.cfg["stats"], "w") as f:
                json.dump(self.stats, f, sort_keys=True)


async def main(path):
    with open(path) as f:
        cfg = json.load(f)
    # Thousands of concurrent sessions in the benchmarks: one fd each.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    srv = Server(cfg)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await srv.start()
    except OSError as e:
        print("labsmtp: cannot listen: %s" % e, file=sys.stderr)
        return 1
    await stop.wait()
    for s in srv.servers:
        s.close()
    srv.save_stats()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: labsmtp.py CONFIG.json", file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(sys.argv[1])))
