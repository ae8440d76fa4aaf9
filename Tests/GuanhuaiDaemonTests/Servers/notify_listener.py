#!/usr/bin/env python3
"""A fake service manager for sd_notify(3): binds an AF_UNIX datagram socket and appends every message it
receives to a file, one per line (newlines inside a message shown as "|"), with the sender's pid (SO_PASSCRED).

    notify_listener.py SOCKET LOGFILE
"""
import os, socket, struct, sys

path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
print("READY 0", flush=True)
with open(log, "a", buffering=1) as out:
    while True:
        data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = 0
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", payload[:12])[0]
        out.write("%d %s\n" % (pid, data.decode("utf-8", "replace").replace("\n", "|")))
