"""How long the loader takes to refuse damaged and hostile files: the seeded fuzz corpus of
tests/test_fuzz.py (mutants of v4, v5 and compressed v7 files) and its hand-made hostile files
(huge declared sizes, decompression bombs, HDF5, pickles, ...). Medians and worst cases, measured
here rather than asserted in the tests.

    python benchmarks/hostile_files.py [--mutants 700]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from _common import ROOT

import gan8

sys.path.insert(0, str(ROOT / "tests"))
from test_fuzz import HOSTILE, _seed_files, mutants  # noqa: E402


def seconds_to_load(data: bytes) -> float:
    start = time.perf_counter()
    try:
        gan8.load_weights(data, name="bench.mat")
    except gan8.WeightsError:
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=700, help="mutants per seed file (default: 700)")
    args = parser.parse_args()
    print("load time per file (refused or, when a mutation left it valid, loaded):")
    for name in sorted(_seed_files()):
        times = [seconds_to_load(m) for m in mutants(name, args.mutants)]
        print(f"  {name:<16} {len(times)} mutants: median {statistics.median(times) * 1e3:6.2f} ms, "
              f"worst {max(times) * 1e3:7.2f} ms")
    times = [seconds_to_load(make()) for make, _ in HOSTILE]
    print(f"  hostile files    {len(times)} files: median {statistics.median(times) * 1e3:6.2f} ms, "
          f"worst {max(times) * 1e3:7.2f} ms")


if __name__ == "__main__":
    main()
