#!/usr/bin/python3
"""load - keep rcptd busy for the deploy test's memory figures.

Usage: load.py HOST:PORT COUNT CONNECTIONS DOMAIN[,DOMAIN...]

Sends COUNT requests GET /v1/verify?email=userN@DOMAIN (N = 0..COUNT-1,
domains in turn, so every address is new and needs a probe) over
CONNECTIONS keep-alive connections at once, and prints one line:
"requests N, statuses {...}, reasons {...}, seconds S". Run it inside the
lab's namespace: the addresses are the lab's. Standard library only.
"""

import asyncio
import json
import sys
import time
from collections import Counter

# A verdict is ~1 KiB; an answer larger than this is not one of ours.
ANSWER_MAX = 1 << 20


async def worker(host, port, queue, statuses, reasons):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            try:
                path = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            writer.write(("GET %s HTTP/1.1\r\nHost: rcptd\r\n\r\n" %
                          path).encode())
            await writer.drain()
            line = (await reader.readline()).split()
            if len(line) < 2:
                raise ConnectionError("the server closed the connection")
            status = int(line[1])
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if length > ANSWER_MAX:
                raise ValueError("answer of %d octets" % length)
            body = await reader.readexactly(length)
            statuses[status] += 1
            if status == 200:
                reasons[json.loads(body).get("reason")] += 1
    finally:
        writer.close()


async def main(argv):
    host, _, port = argv[1].rpartition(":")
    count, conns = int(argv[2]), int(argv[3])
    domains = argv[4].split(",")
    queue = asyncio.Queue()
    for i in range(count):
        queue.put_nowait("/v1/verify?email=user%d@%s" %
                         (i, domains[i % len(domains)]))
    statuses, reasons = Counter(), Counter()
    t0 = time.monotonic()
    await asyncio.gather(*(worker(host, int(port), queue, statuses, reasons)
                           for _ in range(conns)))
    print("requests %d, statuses %s, reasons %s, seconds %.1f" %
          (sum(statuses.values()), dict(statuses), dict(reasons),
           time.monotonic() - t0))


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__.split("\n\n")[1])
    asyncio.run(main(sys.argv))
