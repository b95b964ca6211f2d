# SPDX-License-Identifier: MIT
# tests/fmt_pickle_check.py DIR - run by t-fmt-pickle: check the pickles and
# JSON files it wrote in DIR against this python3's tracemalloc.  Prints
# exactly 14 TAP test lines (numbered from 14) and exits 1 on a failure.
import json
import os
import pickle
import pickletools
import sys
import tracemalloc

d = sys.argv[1]
n = 13
failed = 0


def check(cond, what, detail=""):
    global n, failed
    n += 1
    print("%sok %d - python3: %s" % ("" if cond else "not ", n, what))
    if not cond:
        failed += 1
        for line in str(detail).splitlines()[:20]:
            print("#   " + line)
    sys.stdout.flush()


def load_json(name):
    with open(os.path.join(d, name), encoding="utf-8") as f:
        return json.load(f)["stats"]


def first_diff(ours, theirs, key):
    if len(ours) != len(theirs):
        return "%d statistics, python has %d" % (len(ours), len(theirs))
    for i, (o, s) in enumerate(zip(ours, theirs)):
        want = {"stat": str(s), "mem_blocks_count": s.count,
                "mem_blocks_size_bytes": s.size}
        if key == "lineno":
            want["filename"] = s.traceback[0].filename
            want["lineno"] = s.traceback[0].lineno
        else:
            want["traceback"] = s.traceback.format()
        got = {k: o.get(k) for k in want}
        if got != want:
            return "stat %d: ours %r\npython %r" % (i, got, want)
    return None


def same(name, stats, key):
    diff = first_diff(load_json(name), stats, key)
    check(diff is None, "%s equals python's statistics" % name, diff)


path = os.path.join(d, "new.pkl")
with open(path, "rb") as f:
    snap = pickle.load(f)
check(isinstance(snap, tracemalloc.Snapshot), "pickle.load gives a Snapshot")
snap = tracemalloc.Snapshot.load(path)
old = tracemalloc.Snapshot.load(os.path.join(d, "old.pkl"))
nblocks = sum(s["mem_blocks_count"] for s in load_json("lineno.json"))
check(len(snap.traces) == nblocks and nblocks > 1000,
      "Snapshot.load: one trace per block (%d)" % nblocks)
check(snap.traceback_limit == 10, "traceback_limit", snap.traceback_limit)
check({t.domain for t in snap.traces} == {100, 200},
      "each target is its own domain")
same("lineno.json", snap.statistics("lineno"), "lineno")
same("cumulative.json", snap.statistics("lineno", cumulative=True), "lineno")
same("traceback.json", snap.statistics("traceback"), "traceback")
flt = [tracemalloc.Filter(True, "src/f1*")]
same("filtered.json", snap.filter_traces(flt).statistics("lineno"), "lineno")
fsnap = tracemalloc.Snapshot.load(os.path.join(d, "filtered.pkl"))
same("filtered.json", fsnap.statistics("lineno"), "lineno")
same("diff-lineno.json", snap.compare_to(old, "lineno"), "lineno")
same("diff-cumulative.json", snap.compare_to(old, "lineno", cumulative=True),
     "lineno")
same("diff-traceback.json", snap.compare_to(old, "traceback"), "traceback")
with open(path, "rb") as f:
    ours = f.read()
theirs = pickle.dumps(pickle.loads(ours), 4)
check(pickletools.optimize(ours) == pickletools.optimize(theirs),
      "same opcodes as CPython's own pickle (after pickletools.optimize)",
      "%d vs %d bytes" % (len(ours), len(theirs)))
bad = [t for t in snap.traces._traces
       if not t[2] or t[3] < len(t[2]) or len(t[2]) > 10]
check(not bad, "no empty frames tuple, total_nframe >= len(frames)", bad[:3])
sys.exit(1 if failed else 0)
