# SPDX-License-Identifier: MIT
# bench/scale/sample.py PID DIR STOP - until the file STOP exists, every
# 10 ms read /proc/PID/smaps_rollup (private pages: Private_Clean +
# Private_Dirty, and Anonymous) and the bytes allocated to the files of DIR
# (tmpfs pages a target writes there); then print, in KiB:
#   "<first private+files> <max private+files> <first anon> <max anon>"
import os
import sys
import time

pid, d, stop = sys.argv[1], sys.argv[2], sys.argv[3]


def sample():
    priv = anon = 0
    try:
        with open("/proc/%s/smaps_rollup" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Private_Clean", "Private_Dirty"):
                    priv += int(v.split()[0])
                elif k == "Anonymous":
                    anon += int(v.split()[0])
    except OSError:
        return None
    files = 0
    try:
        for e in os.scandir(d):
            try:
                files += e.stat(follow_symlinks=False).st_blocks // 2
            except OSError:
                pass
    except OSError:
        pass
    return priv + files, anon


first = sample()
mx = list(first)
while not os.path.exists(stop):
    s = sample()
    if s:
        mx = [max(a, b) for a, b in zip(mx, s)]
    time.sleep(0.01)
print(first[0], mx[0], first[1], mx[1])
