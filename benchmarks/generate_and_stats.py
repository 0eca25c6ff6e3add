"""Throughput of generation and statistics against the original loop, naive numpy and a roofline,
all measured in this one run (medians of repeated timings; the machines here are noisy).

    python benchmarks/generate_and_stats.py [--n-stats 1000000]
"""

from __future__ import annotations

import argparse
import statistics
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from _common import benchmark_generator, interleaved_seconds, median_ratio

import gan8
from gan8._blas import single_threaded_blas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1024,
                        help="batch for the batched paths; 1024 fits in cache here (default: 1024)")
    parser.add_argument("--n-stats", type=int, default=1_000_000, help="samples for pixel_stats (default: 1000000)")
    parser.add_argument("--repeats", type=int, default=15, help="rounds of the batched timings (default: 15)")
    parser.add_argument("--stats-repeats", type=int, default=5,
                        help="rounds of generate-all against pixel_stats (default: 5)")
    args = parser.parse_args()

    g = benchmark_generator()
    A1, B1, A2, B2 = g.A_1, g.B_1.reshape(-1, 1), g.A_2, g.B_2.reshape(-1, 1)
    z = gan8.sample_latents(args.batch, 0)

    n_loop = 2000

    def original_loop():  # the MATLAB project's per-sample formula, float64
        out = np.empty((n_loop, 28, 28))
        for i in range(n_loop):
            w1 = A1 @ z[i % len(z)].reshape(10, 1) + B1
            w2 = A2 @ np.maximum(w1, 0) + B2
            out[i] = (1.0 / (1.0 + np.exp(w2))).reshape(28, 28, order="F")
        return out

    a1f, b1f = A1.T.astype(np.float32), B1.ravel().astype(np.float32)
    a2f, b2f = A2.T.astype(np.float32), B2.ravel().astype(np.float32)
    zf = z.astype(np.float32)

    def naive_numpy():  # batched float32, written the obvious way
        x = 1.0 / (1.0 + np.exp(np.maximum(zf @ a1f + b1f, 0) @ a2f + b2f))
        return x.reshape(-1, 28, 28).transpose(0, 2, 1).copy()

    h = np.empty((args.batch, 128), np.float32)
    o = np.empty((args.batch, 784), np.float32)

    def roofline():  # the two products and one exp, nothing else
        np.matmul(zf, a1f, out=h)
        np.matmul(h, a2f, out=o)
        with np.errstate(over="ignore"):
            np.exp(o, out=o)

    out = np.empty((args.batch, 28, 28), np.float32)
    hidden = np.empty((args.batch, 129), np.float32)

    def gan8_generate():
        g.generate(z, out=out, hidden=hidden)

    batched = interleaved_seconds({"loop": original_loop, "naive": naive_numpy, "roofline": roofline,
                                   "gan8": gan8_generate}, args.repeats)
    per_sample = {name: [t / (n_loop if name == "loop" else args.batch) for t in times]
                  for name, times in batched.items()}
    n = args.n_stats
    b = args.batch

    def generate_all():  # the same samples as pixel_stats draws, generated and thrown away
        rng = np.random.default_rng(0)
        for i in range(0, n, b):
            c = min(b, n - i)
            g.generate(rng.standard_normal((c, 10)), out=out[:c], hidden=hidden[:c])

    lane_buffers = [(np.empty((b, 28, 28), np.float32), np.empty((b, 129), np.float32)) for _ in range(2)]

    def generate_in_lanes():  # pixel_stats's two lanes without the statistics
        rng = np.random.default_rng(0)
        with single_threaded_blas(), ThreadPoolExecutor(2) as pool:
            pending = []
            for k, i in enumerate(range(0, n, b)):
                if len(pending) == 2:
                    pending.pop(0).result()
                z = rng.standard_normal((min(b, n - i), 10))
                images, hidden_k = lane_buffers[k % 2]
                pending.append(pool.submit(g.generate, z, out=images[:len(z)], hidden=hidden_k[:len(z)]))
            for future in pending:
                future.result()

    streamed = interleaved_seconds({"generate": generate_all, "lanes": generate_in_lanes,
                                    "stats": lambda: gan8.pixel_stats(g, n, 0, chunk=b)},
                                   args.stats_repeats, warmup=0)
    rates = {
        "original per-sample loop": 1 / statistics.median(per_sample["loop"]),
        "naive batched numpy (float32)": 1 / statistics.median(per_sample["naive"]),
        "roofline (2 matmuls + exp)": 1 / statistics.median(per_sample["roofline"]),
        "gan8 generate": 1 / statistics.median(per_sample["gan8"]),
        f"generate {n:,} as pixel_stats does": n / statistics.median(streamed["generate"]),
        f"gan8 pixel_stats (n={n:,})": n / statistics.median(streamed["stats"]),
        f"generate {n:,} in pixel_stats's 2 lanes": n / statistics.median(streamed["lanes"]),
    }

    print(f"weights {g.fingerprint}; batch {args.batch} (loop: {n_loop} samples); medians of {args.repeats} "
          f"interleaved rounds (generate-all and stats: {args.stats_repeats})")
    for name, rate in rates.items():
        print(f"  {name:<44} {rate:>12,.0f} samples/s")
    print("ratios (medians of per-round ratios, this run):")
    print(f"  gan8 / roofline                     {median_ratio(per_sample['roofline'], per_sample['gan8']):.2f}")
    print(f"  gan8 / per-sample loop              {median_ratio(per_sample['loop'], per_sample['gan8']):.1f}")
    print(f"  gan8 / naive numpy                  {median_ratio(per_sample['naive'], per_sample['gan8']):.2f}")
    print(f"  stats time / generation time (n={n:,}) {median_ratio(streamed['stats'], streamed['generate']):.2f}  "
          f"({statistics.median(streamed['stats']):.2f} s vs {statistics.median(streamed['generate']):.2f} s)")
    # What the statistics add to the same two lanes, and what the lanes alone gain over generate.
    print(f"  stats time / 2-lane generation time    {median_ratio(streamed['stats'], streamed['lanes']):.2f}")
    print(f"  generate time / 2-lane generation time {median_ratio(streamed['generate'], streamed['lanes']):.2f}")

if __name__ == "__main__":
    main()
