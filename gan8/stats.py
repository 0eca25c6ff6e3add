"""Pixel-intensity statistics over many samples, streamed in fixed-size chunks.

Memory is bounded by the chunk, never by the number of samples: every statistic is either a
sum (merged across chunks in float64) or a count (exact integers).
"""

from __future__ import annotations

import io
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

from ._blas import single_threaded_blas
from .generator import HIDDEN_DIM, IMAGE_PIXELS, IMAGE_SIDE, LATENT_DIM, Generator
from .limits import MAX_STATS_SAMPLES, check_count, check_psi

__all__ = ["PixelStats", "pixel_stats", "image_stats", "DEFAULT_CHUNK", "DEFAULT_BINS", "INK_THRESHOLD"]

DEFAULT_CHUNK = 1024   # 1024 x 784 float32 = 3.2 MB per buffer, cache-sized (benchmarks/generate_and_stats.py)
DEFAULT_BINS = 64      # a power of two, so binning x * bins is exact in float32
INK_THRESHOLD = 0.5    # a pixel darker than mid-grey counts as ink
MOMENT_BLOCK = 256     # rows summed in float32 before merging in float64 (error ~1e-7 of a value)


@dataclass(frozen=True, eq=False)
class PixelStats:
    """Statistics of ``count`` images of 28 x 28 pixels in [0, 1].

    Attributes
    ----------
    count : int
    mean, std, min, max : ndarray, shape (28, 28)
        Per-pixel moments (std is the population std, ddof = 0) and extremes.
    pixel_hist : ndarray, shape (28, 28, bins), int64
        For each pixel, how many images put it in each intensity bin.
    hist_edges : ndarray, shape (bins + 1,)
        Bin edges, evenly spaced over [0, 1]; the last bin includes 1.
    ink_counts : ndarray, shape (785,), int64
        ink_counts[k] is how many images have exactly k ink pixels (value < ``ink_threshold``).
    ink_threshold : float
    """

    count: int
    mean: np.ndarray
    std: np.ndarray
    min: np.ndarray
    max: np.ndarray
    pixel_hist: np.ndarray
    hist_edges: np.ndarray
    ink_counts: np.ndarray
    ink_threshold: float = INK_THRESHOLD

    @property
    def hist_counts(self) -> np.ndarray:
        """Global intensity histogram over all pixels of all images, shape (bins,)."""
        return self.pixel_hist.sum(axis=(0, 1))

    @property
    def ink_fraction_mean(self) -> float:
        return float(self._ink_fractions() @ self.ink_counts / max(self.count, 1))

    @property
    def ink_fraction_std(self) -> float:
        f = self._ink_fractions()
        mean = self.ink_fraction_mean
        return float(np.sqrt(((f - mean) ** 2) @ self.ink_counts / max(self.count, 1)))

    def ink_fraction_quantile(self, q: float) -> float:
        """The q-quantile of the per-image ink fraction (lower interpolation, exact)."""
        if self.count == 0:
            return float("nan")
        position = np.searchsorted(np.cumsum(self.ink_counts), q * (self.count - 1), side="right")
        return float(self._ink_fractions()[min(position, IMAGE_PIXELS)])

    def summary(self) -> dict[str, float]:
        """The headline numbers, for tables and the CLI."""
        return {
            "samples": float(self.count),
            "mean intensity": float(self.mean.mean()),
            "mean per-pixel std": float(self.std.mean()),
            "ink fraction mean": self.ink_fraction_mean,
            "ink fraction std": self.ink_fraction_std,
            "ink fraction 5%": self.ink_fraction_quantile(0.05),
            "ink fraction median": self.ink_fraction_quantile(0.5),
            "ink fraction 95%": self.ink_fraction_quantile(0.95),
            f"share of paper (value >= {self.hist_edges[-2]:.3f})": float(self.pixel_hist[..., -1].sum()
                                                                     / max(self.count * IMAGE_PIXELS, 1)),
        }

    def summary_text(self) -> dict[str, str]:
        """``summary()`` as text for tables: the sample count whole, the rest to 4 decimals."""
        return {k: f"{v:,.0f}" if k == "samples" else f"{v:.4f}" for k, v in self.summary().items()}

    def to_npz(self) -> bytes:
        """All arrays as the bytes of an ``.npz`` file (no pickled objects)."""
        buffer = io.BytesIO()
        np.savez_compressed(buffer, count=self.count, mean=self.mean, std=self.std, min=self.min,
                            max=self.max, pixel_hist=self.pixel_hist, hist_edges=self.hist_edges,
                            hist_counts=self.hist_counts, ink_counts=self.ink_counts,
                            ink_threshold=self.ink_threshold)
        return buffer.getvalue()

    def to_csv(self) -> str:
        """One row per pixel: row, col, mean, std, min, max (row 0 is the top)."""
        r, c = np.indices((IMAGE_SIDE, IMAGE_SIDE))
        table = np.column_stack([a.ravel() for a in (r, c, self.mean, self.std, self.min, self.max)])
        lines = ["row,col,mean,std,min,max"]
        lines += [f"{int(a)},{int(b)},{m:.6g},{s:.6g},{lo:.6g},{hi:.6g}" for a, b, m, s, lo, hi in table]
        return "\n".join(lines) + "\n"

    def _ink_fractions(self) -> np.ndarray:
        return np.arange(IMAGE_PIXELS + 1) / IMAGE_PIXELS


class _Accumulator:
    """Streaming sums for PixelStats; ``update`` takes a (c, 784) float32 chunk."""

    def __init__(self, chunk: int, bins: int, shift: np.ndarray, ink_threshold: float):
        self.bins = bins
        self.ink_threshold = ink_threshold
        self.count = 0
        # Sums of (x - shift) and its square: shifting by a typical image first keeps the
        # variance free of cancellation for the near-constant paper pixels.
        self.shift = shift.astype(np.float32).reshape(IMAGE_PIXELS)
        self.sum = np.zeros(IMAGE_PIXELS)
        self.sumsq = np.zeros(IMAGE_PIXELS)
        self.min = np.full(IMAGE_PIXELS, np.inf, dtype=np.float32)
        self.max = np.full(IMAGE_PIXELS, -np.inf, dtype=np.float32)
        # Counts by key = bin * 784 + pixel (bin-major), with one extra bin for x = 1 exactly, folded
        # into the last bin at the end. The keys fit in uint16 for up to 82 bins.
        self.key_counts = np.zeros((bins + 1) * IMAGE_PIXELS, dtype=np.int64)
        key_type = np.uint16 if (bins + 1) * IMAGE_PIXELS <= np.iinfo(np.uint16).max + 1 else np.uint32
        self._pixel = np.arange(IMAGE_PIXELS, dtype=key_type)
        self._keys = np.empty((chunk, IMAGE_PIXELS), dtype=key_type)
        # bincount counts intp keys; converting into this buffer spares it a 6 MB allocation per
        # chunk, which glibc keeps in each thread's arena (the app's peak memory grew 90 MiB).
        self._keys_intp = np.empty(chunk * IMAGE_PIXELS, dtype=np.intp)
        self.ink_counts = np.zeros(IMAGE_PIXELS + 1, dtype=np.int64)
        self._work = np.empty((chunk, IMAGE_PIXELS), dtype=np.float32)
        self._ink = np.empty((chunk, IMAGE_PIXELS), dtype=bool)
        self._ones = np.ones(min(chunk, MOMENT_BLOCK), dtype=np.float32)

    def update(self, flat: np.ndarray) -> None:
        c = flat.shape[0]
        work, keys, ink = self._work[:c], self._keys[:c], self._ink[:c]
        np.minimum(self.min, flat.min(axis=0), out=self.min)
        np.maximum(self.max, flat.max(axis=0), out=self.max)
        np.less(flat, self.ink_threshold, out=ink)
        per_image = np.add.reduce(ink.view(np.uint8), axis=1, dtype=np.uint16)  # 3x faster than count_nonzero
        self.ink_counts += np.bincount(per_image, minlength=IMAGE_PIXELS + 1)
        # Bin index floor(x * bins): exact because bins is a power of two, and the float-to-unsigned
        # cast of the product's output truncates, which is floor for x >= 0. One bincount of small
        # unsigned keys over the whole chunk is 1.5x faster than selecting the non-paper values first.
        np.multiply(flat, self.bins, out=keys, casting="unsafe")
        np.multiply(keys, IMAGE_PIXELS, out=keys)
        np.add(keys, self._pixel, out=keys)
        keys_intp = self._keys_intp[:keys.size]
        np.copyto(keys_intp, keys.reshape(-1))
        self.key_counts += np.bincount(keys_intp, minlength=len(self.key_counts))
        # Moments of x - shift: float32 sums over blocks of MOMENT_BLOCK rows (matrix-vector
        # products, 3x faster than numpy's float64 column sums), merged in float64.
        np.subtract(flat, self.shift, out=work)
        for start in range(0, c, MOMENT_BLOCK):
            block = work[start:start + MOMENT_BLOCK]
            ones = self._ones[:len(block)]
            self.sum += ones @ block
            np.multiply(block, block, out=block)
            self.sumsq += ones @ block
        self.count += c

    def merge(self, other: _Accumulator) -> None:
        """Add another accumulator's chunks (same shift, bins and threshold) to this one."""
        np.minimum(self.min, other.min, out=self.min)
        np.maximum(self.max, other.max, out=self.max)
        self.sum += other.sum
        self.sumsq += other.sumsq
        self.key_counts += other.key_counts
        self.ink_counts += other.ink_counts
        self.count += other.count

    def result(self) -> PixelStats:
        n = max(self.count, 1)
        centred_mean = self.sum / n
        variance = np.maximum(self.sumsq / n - centred_mean**2, 0.0)
        shape = (IMAGE_SIDE, IMAGE_SIDE)
        nan = np.full(shape, np.nan)
        by_bin = self.key_counts.reshape(self.bins + 1, IMAGE_PIXELS)
        per_pixel = by_bin[:self.bins].T.copy()  # (784, bins)
        per_pixel[:, -1] += by_bin[self.bins]     # x = 1 belongs to the last bin
        empty = self.count == 0
        return PixelStats(
            count=self.count,
            mean=nan if empty else (centred_mean + self.shift).reshape(shape),
            std=nan if empty else np.sqrt(variance).reshape(shape),
            min=nan if empty else self.min.reshape(shape).copy(),
            max=nan if empty else self.max.reshape(shape).copy(),
            pixel_hist=per_pixel.reshape(*shape, self.bins),
            hist_edges=np.linspace(0.0, 1.0, self.bins + 1),
            ink_counts=self.ink_counts.copy(),
            ink_threshold=self.ink_threshold,
        )


def pixel_stats(generator: Generator, n: int, rng, psi: float = 1.0, chunk: int = DEFAULT_CHUNK,
                bins: int = DEFAULT_BINS, progress: Callable[[int, int], None] | None = None,
                ink_threshold: float = INK_THRESHOLD) -> PixelStats:
    """Statistics of ``n`` samples, generated and reduced ``chunk`` at a time.

    The latents are the rows of ``psi * np.random.default_rng(rng).standard_normal((n, 10))``,
    drawn ``chunk`` rows at a time from one stream, so the samples do not depend on ``chunk``
    and the result depends on it only through float rounding. Where numpy's OpenBLAS allows it
    (see ``gan8._blas``), two threads each generate (on one BLAS thread) and reduce alternate
    chunks, and their sums are merged at the end; the images always equal ``generator.generate``
    under ``gan8._blas.single_threaded_blas()``, and differ from its multi-threaded output by
    float32 rounding only. Moments are float32 sums over blocks of 256 samples merged in float64:
    within about 1e-7 of the exact moments of the float32 images. (:func:`gan8.sample_latents`
    fills its matrix column by column, as the original project did, which no streaming can do.)

    Parameters
    ----------
    generator : Generator
    n : int, at most MAX_STATS_SAMPLES
    rng : int or numpy.random.Generator
    psi : float
        Truncation factor.
    chunk : int
        Samples per chunk; the memory used is about 40 x chunk x 784 bytes (32 MiB at the default:
        per lane, the images, two working copies and bincount's int64 copy of the keys).
    bins : int
        Intensity bins over [0, 1], a power of two from 2 to 1024.
    progress : callable(done, total), optional
        Called from the calling thread after each chunk, in order; an exception raised there
        stops the computation.
    """
    n = check_count("n", n, maximum=MAX_STATS_SAMPLES)
    psi = check_psi(psi)
    chunk = check_count("chunk", chunk, minimum=1, maximum=65_536)
    bins = _check_bins(bins)
    rng = np.random.default_rng(rng)
    chunk = min(chunk, max(n, 1))
    shift = generator.generate(np.zeros((1, LATENT_DIM)))[0]
    chunks = -(-n // chunk)
    with single_threaded_blas() as parallel:  # always, so the samples never depend on n's chunking
        lanes = 2 if parallel and chunks >= 2 else 1
        # One accumulator and one set of buffers per lane; chunk k goes to lane k % lanes, and at
        # most one chunk per lane is in flight, so a lane's buffers are never shared.
        accumulators = [_Accumulator(chunk, bins, shift, ink_threshold) for _ in range(lanes)]
        images = [np.empty((chunk, IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32) for _ in range(lanes)]
        hidden = [np.empty((chunk, HIDDEN_DIM + 1), dtype=np.float32) for _ in range(lanes)]

        def process(k: int, z: np.ndarray) -> None:
            lane, c = k % lanes, len(z)
            generator.generate(z, out=images[lane][:c], hidden=hidden[lane][:c])
            accumulators[lane].update(images[lane][:c].reshape(c, IMAGE_PIXELS))

        def latents(k: int) -> np.ndarray:  # drawn in chunk order from the one stream
            z = rng.standard_normal((min(chunk, n - k * chunk), LATENT_DIM))
            z *= psi
            return z

        done = 0

        def finished(c: int) -> None:
            nonlocal done
            done += c
            if progress is not None:  # from the calling thread, once per chunk, in order
                progress(done, n)

        if lanes == 1:
            for k in range(chunks):
                z = latents(k)
                process(k, z)
                finished(len(z))
            return accumulators[0].result()
        pool = _lane_pool()
        in_flight: deque = deque()

        def collect_oldest() -> None:
            future, c = in_flight.popleft()
            future.result()  # re-raises anything the chunk raised
            finished(c)

        try:
            for k in range(chunks):
                if len(in_flight) == lanes:  # chunk k - lanes, which used this lane, must be done
                    collect_oldest()
                z = latents(k)
                in_flight.append((pool.submit(process, k, z), len(z)))
            while in_flight:
                collect_oldest()
        except BaseException:  # a failed chunk, a progress callback that stops us, Ctrl-C
            for future, _ in in_flight:
                future.cancel()
            wait([future for future, _ in in_flight])  # none may still write into our buffers
            raise
    for other in accumulators[1:]:
        accumulators[0].merge(other)
    return accumulators[0].result()


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _lane_pool() -> ThreadPoolExecutor:
    """The two threads every pixel_stats call shares: made once, so that each call does not start
    threads of its own (glibc gives every new thread a memory arena that it keeps)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="gan8-pixel-stats")
        return _pool


def _check_bins(bins) -> int:
    bins = check_count("bins", bins, minimum=2, maximum=1024)
    if bins & (bins - 1):
        raise ValueError(f"bins must be a power of two (for exact binning in float32), found {bins}")
    return bins


def image_stats(images: np.ndarray, bins: int = DEFAULT_BINS, chunk: int = DEFAULT_CHUNK,
                ink_threshold: float = INK_THRESHOLD) -> PixelStats:
    """The same statistics for given images, for example real eights.

    images : ndarray, shape (n, 28, 28), values in [0, 1] with 1 = paper.
    """
    flat = np.asarray(images, dtype=np.float32).reshape(-1, IMAGE_PIXELS)
    if flat.size and not (flat.min() >= 0.0 and flat.max() <= 1.0):  # also catches NaN
        raise ValueError(f"images must have values in [0, 1], found [{flat.min()}, {flat.max()}]")
    bins = _check_bins(bins)
    chunk = max(1, min(chunk, len(flat)))
    shift = flat.mean(axis=0) if len(flat) else np.ones(IMAGE_PIXELS, dtype=np.float32)
    acc = _Accumulator(chunk, bins, shift, ink_threshold)
    for start in range(0, len(flat), chunk):
        acc.update(np.ascontiguousarray(flat[start:start + chunk]))
    return acc.result()
