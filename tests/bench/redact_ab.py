#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Alternating A/B runs of bench_redact builds on a shared machine (not run by ctest).

    python3 tests/bench/redact_ab.py FILE ROUNDS MODE SECONDS BENCH [BENCH ...]

Runs `BENCH SECONDS FILE only MODE` of every build in turn, ROUNDS times, each round in the
opposite order to the one before, and prints for each build the fastest run, the mean of the
five fastest and the median, in MB/s per core. On a machine whose other tenants come and go,
a build's speed moves by 10-30 % from one stretch to the next; the fastest runs of builds
taken side by side compare the code, the median says more about the neighbours.
docs/benchmarks.md names the figures it gives as "best five".
"""
import statistics
import subprocess
import sys


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    path, rounds, mode, secs, benches = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
    got = {b: [] for b in benches}
    for r in range(rounds):
        for b in benches if r % 2 == 0 else benches[::-1]:
            out = subprocess.run([b, secs, path, "only", mode], capture_output=True, text=True, check=True)
            line = next(l for l in out.stdout.splitlines() if l.startswith("varied:"))
            got[b].append(float(line.split()[1]))
    for b in benches:
        mb = sorted(got[b])
        print(f"{b}: max {mb[-1]:.1f} best5 {statistics.mean(mb[-5:]):.1f} "
              f"median {statistics.median(mb):.1f} min {mb[0]:.1f} MB/s")


if __name__ == "__main__":
    main()
