"""Peak extra memory of pixel_stats for n = 1e5, 1e6 and 1e7 samples (tracemalloc sees numpy's
allocations). Memory must not grow with n.

    python benchmarks/stats_memory.py [--max-n 10000000]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from _common import benchmark_generator

import gan8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=10_000_000, help="largest n (default: 10000000)")
    args = parser.parse_args()
    g = benchmark_generator()
    n = 100_000
    print(f"weights {g.fingerprint}; chunk {gan8.stats.DEFAULT_CHUNK}")
    while n <= args.max_n:
        tracemalloc.start()
        start = time.perf_counter()
        gan8.pixel_stats(g, n, 0)
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  n = {n:>10,}: peak extra memory {peak / 2**20:6.1f} MiB, {seconds:6.1f} s")
        n *= 10


if __name__ == "__main__":
    main()
