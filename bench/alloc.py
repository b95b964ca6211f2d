# SPDX-License-Identifier: MIT
# bench/alloc.py - allocation-heavy Python workload for bench/run.sh (run
# with PYTHONMALLOC=malloc so that every object goes through malloc).
# A live set of small dicts, lists, tuples and strings keeps turning over.
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 300000
size = 20000
live = [None] * size
for i in range(n):
    live[i % size] = {"k": str(i), "v": [i, i + 1, (i, "x" * (i % 50))]}
print(sum(len(d["k"]) for d in live if d))
