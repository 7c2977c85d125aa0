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

When the neighbours switch on and off within a second (the same build then gives one of two
speeds, run after run), each build after the first also gets the ratio of its run to the
first build's run of the same round, over the rounds where both runs were in the fast mode
(above the midpoint of all runs' slowest and fastest): the median of those ratios and their
interquartile range. Short runs (0.2-0.25 s) and 40 rounds suit that.
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
    every = [v for b in benches for v in got[b]]
    fast = (min(every) + max(every)) / 2 if max(every) > 1.2 * min(every) else 0.0
    for b in benches[1:]:
        r = sorted(got[b][k] / got[benches[0]][k] for k in range(rounds)
                   if got[b][k] > fast and got[benches[0]][k] > fast)
        if len(r) >= 4:
            print(f"{b} / {benches[0]}: median ratio {statistics.median(r):.3f} "
                  f"(IQR {r[len(r) // 4]:.3f}-{r[3 * len(r) // 4]:.3f}, {len(r)} rounds)")


if __name__ == "__main__":
    main()
