#!/usr/bin/python3
"""labkeeper - the parent and reaper of one lab's daemons.

Usage: labkeeper.py COMMAND...

Makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER, Linux 3.4),
runs COMMAND (the lab's internal `_start`, which starts the daemons in the
background and returns), then reaps every process orphaned under it
(daemons that detach themselves, such as Postfix's master, included) and
exits when none is left, that is once `lab down` has stopped them.

Why: once `lab up` has returned, its daemons would be orphans of PID 1,
and where PID 1 does not reap (many containers and VMs) every tear-down
would leave zombies behind. The keeper runs outside the lab's namespace,
listens nowhere and sends nothing. Standard library only.
"""

import ctypes
import os
import sys

PR_SET_CHILD_SUBREAPER = 36     # <linux/prctl.h>


def main(argv):
    if len(argv) < 2:
        print("usage: labkeeper.py COMMAND...", file=sys.stderr)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("labkeeper: prctl: %s" % os.strerror(ctypes.get_errno()),
              file=sys.stderr)
        return 1
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[1], argv[1:])
        finally:
            os._exit(127)
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue


if __name__ == "__main__":
    sys.exit(main(sys.argv))
