# SPDX-License-Identifier: MIT
"""pprof_raw.py - read what `go tool pprof -raw` prints, for the tests.

  python3 pprof_raw.py RAW                 the profile as JSON (below)
  python3 pprof_raw.py compare RAW TB.JSON  "same" when the pprof samples,
      grouped by their frames, equal the statistics of hawk's
      format=traceback JSON (frames, count, size), else what differs

JSON of a profile: {"types": ["inuse_objects/count", ...],
  "samples": [{"values": [...], "pids": [...],
               "locs": [[[function, file, line], ...], ...]}],   leaf first
  "mappings": [{"id", "start", "limit", "offset", "file", "build_id",
                "flags"}]}
Each location is the list of its lines, innermost inlined call first, as
pprof stores them.  The parser follows pprof's own printer
(profile.Profile.String in github.com/google/pprof/profile).
"""
import json
import re
import sys

LOC = re.compile(r"^\s*(\d+): 0x([0-9a-f]+) (?:M=(\d+) )?(.*)$")
LINE = re.compile(r"^(.*) (\S+):(-?\d+)(?::\d+)? s=-?\d+.*$")
SAMPLE = re.compile(r"^\s*((?:-?\d+\s+)+)?(-?\d+):((?: \d+)*)\s*$")
MAP = re.compile(r"^(\d+): 0x([0-9a-f]+)/0x([0-9a-f]+)/0x([0-9a-f]+) (\S*)"
                 r"(?: ([0-9a-f]+))?\s*((?:\[\w+\])*)\s*$")


def parse(text):
    types, samples, locs, maps = [], [], {}, []
    section, cur = None, None
    for raw in text.splitlines():
        if raw.startswith("Samples:"):
            section = "samples"
            continue
        if raw.startswith("Locations"):
            section = "locations"
            continue
        if raw.startswith("Mappings"):
            section = "mappings"
            continue
        if section == "samples":
            if not types:
                types = [t.replace("[dflt]", "") for t in raw.split()]
                continue
            m = SAMPLE.match(raw)
            if m:
                vals = (m.group(1) or "").split() + [m.group(2)]
                samples.append({"values": [int(v) for v in vals],
                                "ids": [int(i) for i in m.group(3).split()],
                                "pids": []})
                continue
            m = re.match(r"^\s*pid:\[([-\d ,]+)\]", raw)
            if m and samples:
                samples[-1]["pids"] = [int(p) for p in
                                       re.split(r"[ ,]+", m.group(1).strip())]
        elif section == "locations":
            m = LOC.match(raw)
            if m:
                cur = int(m.group(1))
                locs[cur] = []
                rest = m.group(4)
            elif raw.startswith("             ") and cur is not None:
                rest = raw.strip()
            else:
                continue
            lm = LINE.match(rest)
            if lm:
                locs[cur].append([lm.group(1), lm.group(2), int(lm.group(3))])
        elif section == "mappings":
            m = MAP.match(raw)
            if m:
                maps.append({"id": int(m.group(1)),
                             "start": int(m.group(2), 16),
                             "limit": int(m.group(3), 16),
                             "offset": int(m.group(4), 16),
                             "file": m.group(5),
                             "build_id": m.group(6) or "",
                             "flags": m.group(7)})
    for s in samples:
        s["locs"] = [locs.get(i, []) for i in s.pop("ids")]
    return {"types": types, "samples": samples, "mappings": maps}


def compare(prof, tb):
    """Group the pprof samples by frames and compare with the JSON."""
    got = {}
    for s in prof["samples"]:
        frames = tuple(tuple(line) for loc in s["locs"] for line in loc)
        c = got.setdefault(frames, [0, 0])
        c[0] += s["values"][0]
        c[1] += s["values"][1]
    want = {}
    for st in tb["stats"]:
        frames = tuple((f["function"] or "<unknown>", f["filename"],
                        f["lineno"]) for f in reversed(st["frames"]))
        c = want.setdefault(frames, [0, 0])
        c[0] += st["mem_blocks_count"]
        c[1] += st["mem_blocks_size_bytes"]
    if got == want:
        return "same"
    out = []
    for k in sorted(set(got) | set(want)):
        if got.get(k) != want.get(k):
            out.append("%s: pprof %s json %s" % (list(k), got.get(k),
                                                want.get(k)))
    return "\n".join(out[:10])


def main(argv):
    if len(argv) == 4 and argv[1] == "compare":
        with open(argv[2]) as f:
            prof = parse(f.read())
        with open(argv[3]) as f:
            tb = json.load(f)
        print(compare(prof, tb))
        return 0
    if len(argv) == 2:
        with open(argv[1]) as f:
            print(json.dumps(parse(f.read())))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
