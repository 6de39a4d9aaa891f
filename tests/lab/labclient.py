#!/usr/bin/python3
"""labclient - a small SMTP client for the lab's own checks.

Usage: labclient.py [-t SECONDS] [-s SOURCE] HOST[:PORT] [STEP...]
       labclient.py ctl SOCKET COMMAND

Connects (HOST is an IPv4 address, an IPv6 address or [IPv6]:PORT; the
port defaults to 25), reads the greeting, then for each STEP sends it as
one command line and reads the reply. A STEP "@sleep=S" waits S seconds;
"@pipe=A|B|C" sends several commands in one write, then reads as many
replies; "@read" reads a reply without sending anything (an unasked 421,
or "# closed"). It prints what happens, one line each:
  S: <reply line>      C: <command>
  # timeout            (no complete reply within -t seconds, default 5)
  # closed             (the server closed the connection)
  # not smtp           (a reply line that is not NNN[ -]text)
  # reply over N lines / # line over N bytes   (it stopped reading)
and exits 0, or 1 if the connection failed ("# connect failed: why").
`ctl` sends COMMAND to the scripted server's control socket and prints
the answer. Standard library only.
"""

import re
import socket
import sys
import time

REPLY_LINES_MAX = 100       # a reply longer than this is not read on
LINE_MAX = 2048             # nor a line longer than this
SHOW_MAX = 200              # characters of a line printed
REPLY_RE = re.compile(rb"^(\d{3})([ -])")


class Stop(Exception):
    pass


def show(prefix, data):
    text = data.decode("utf-8", "replace")
    if len(text) > SHOW_MAX:
        text = "%s... [%d bytes]" % (text[:SHOW_MAX], len(data))
    print(prefix + text, flush=True)


class Client:
    def __init__(self, sock, timeout):
        self.sock = sock
        self.timeout = timeout
        self.buf = b""

    def line(self, deadline):
        while b"\n" not in self.buf:
            if len(self.buf) > LINE_MAX:
                show("S: ", self.buf)
                print("# line over %d bytes" % LINE_MAX)
                raise Stop
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                if self.buf:
                    show("S: ", self.buf)
                print("# closed")
                raise Stop
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def reply(self):
        deadline = time.monotonic() + self.timeout
        try:
            for _ in range(REPLY_LINES_MAX):
                line = self.line(deadline)
                show("S: ", line)
                m = REPLY_RE.match(line)
                if not m:
                    if not re.match(rb"^\d{3}$", line):
                        print("# not smtp")
                    return
                if m.group(2) == b" ":
                    return
            print("# reply over %d lines" % REPLY_LINES_MAX)
            raise Stop
        except socket.timeout:
            print("# timeout")
            raise Stop
        except (ConnectionError, OSError) as e:
            print("# error: %s" % e)
            raise Stop

    def send(self, cmds):
        for c in cmds:
            print("C: " + c, flush=True)
        try:
            self.sock.sendall("".join(c + "\r\n" for c in cmds).encode())
        except OSError as e:
            print("# error: %s" % e)
            raise Stop


def parse_target(t):
    if t.startswith("["):
        host, _, rest = t[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else 25
    if t.count(":") == 1:
        host, port = t.split(":")
        return host, int(port)
    return t, 25


def ctl(path, command):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    s.sendall(command.encode() + b"\n")
    out = b""
    while True:
        data = s.recv(65536)
        if not data:
            break
        out += data
    sys.stdout.write(out.decode())
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "ctl":
        return ctl(argv[2], argv[3])
    timeout, source = 5.0, None
    args = argv[1:]
    while args and args[0] in ("-t", "-s"):
        if len(args) < 2:
            break
        if args[0] == "-t":
            timeout = float(args[1])
        else:
            source = args[1]
        args = args[2:]
    if not args:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    host, port = parse_target(args[0])
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        if source:
            sock.bind((source, 0))
        sock.connect((host, port))
    except OSError as e:
        print("# connect failed: %s" % e)
        return 1
    c = Client(sock, timeout)
    try:
        c.reply()
        for step in args[1:]:
            if step.startswith("@sleep="):
                time.sleep(float(step[7:]))
                continue
            if step == "@read":
                c.reply()
                continue
            cmds = step[6:].split("|") if step.startswith("@pipe=") \
                else [step]
            c.send(cmds)
            for _ in cmds:
                c.reply()
    except Stop:
        pass
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
