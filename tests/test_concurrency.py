"""The shared, cached generator holds no mutable state: parallel use equals sequential use.

Up to float32 rounding: while any thread is inside pixel_stats, numpy's OpenBLAS runs on one
thread for everyone (gan8._blas), and its products round differently on one thread than on two.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

import gan8
from conftest import random_weights


def test_parallel_generation_and_stats_equal_sequential():
    generators = [gan8.Generator(**random_weights(s)) for s in (0, 1)]
    jobs = [(generators[i % 2], seed) for i, seed in enumerate(range(24))]

    def work(job):
        generator, seed = job
        images = generator.generate(gan8.sample_latents(64, seed))
        stats = gan8.pixel_stats(generator, 2000, seed, chunk=256)
        return images, stats.mean, stats.pixel_hist

    sequential = [work(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(work, jobs))
    for (a_img, a_mean, a_hist), (b_img, b_mean, b_hist) in zip(sequential, parallel, strict=True):
        np.testing.assert_allclose(a_img, b_img, rtol=0, atol=1e-6)
        np.testing.assert_array_equal(a_mean, b_mean)   # pixel_stats always generates on one thread
        np.testing.assert_array_equal(a_hist, b_hist)


def test_generator_state_is_frozen():
    g = gan8.Generator(**random_weights(0))
    internals = [value for value in vars(g).values() if isinstance(value, np.ndarray)]
    assert len(internals) == 7 and not any(a.flags.writeable for a in internals)
