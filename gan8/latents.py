"""Latent vectors: sampling z ~ N(0, I) with truncation, and paths between keyframes.

In 10 dimensions a standard normal z has norm about 3.1 +- 0.7, but the midpoint of the straight
line between two samples has norm about 2.2: linear paths cut through the low-norm middle of
the distribution, where the generator draws washed-out average digits. Spherical interpolation
(slerp) keeps the norm in range and is the default.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .generator import LATENT_DIM
from .limits import MAX_FRAMES, MAX_SAMPLES, check_count, check_psi

__all__ = ["sample_latents", "keyframes_from_seeds", "lerp", "slerp", "latent_path", "INTERPOLATIONS"]

INTERPOLATIONS = ("slerp", "linear")


def sample_latents(n: int, rng, psi: float = 1.0) -> np.ndarray:
    """Draw ``n`` latents z ~ N(0, I), scaled by the truncation factor ``psi``.

    The draws fill a 10 x n matrix column by column, one column per sample, as the original
    project's ``randn(10, n)`` did: sample i is column i of ``rng.standard_normal((10, n))``.
    So ``sample_latents(100, 0)`` on data21.mat gives exactly the samples of the reference picture
    (``np.random.default_rng(0).standard_normal((10, 100))``). The sample at a position therefore
    depends on n; :func:`gan8.pixel_stats` streams its own latents instead.

    Parameters
    ----------
    n : int, at most MAX_SAMPLES (100,000); stream more with :func:`gan8.pixel_stats`
    rng : int, numpy.random.Generator or SeedSequence
        A seed or generator (never the global numpy state). The same seed gives the same
        latents on every machine (numpy's PCG64 and its standard normal are fixed).
    psi : float
        Truncation: z' = psi z. Below 1 trades variety for typical, cleaner samples.

    Returns
    -------
    z : ndarray, shape (n, 10), float64
    """
    n = check_count("n", n, maximum=MAX_SAMPLES)
    psi = check_psi(psi)
    z = np.random.default_rng(rng).standard_normal((LATENT_DIM, n)).T.copy()  # (n, 10), C order
    z *= psi
    return z


def keyframes_from_seeds(seeds: Sequence[int], psi: float = 1.0) -> np.ndarray:
    """One latent per seed, each the first sample of ``sample_latents(1, seed, psi)``.

    Returns
    -------
    keyframes : ndarray, shape (len(seeds), 10)
    """
    return np.stack([sample_latents(1, int(seed), psi)[0] for seed in seeds]) if len(seeds) else \
        np.empty((0, LATENT_DIM))


def lerp(z0: np.ndarray, z1: np.ndarray, t) -> np.ndarray:
    """Straight-line interpolation ``(1 - t) z0 + t z1``.

    z0, z1 : shape (d,); t : scalar or shape (m,). Returns shape (d,) or (m, d).
    """
    z0, z1, t, scalar = _prepare(z0, z1, t)
    out = (1.0 - t) * z0 + t * z1
    return out[0] if scalar else out


def slerp(z0: np.ndarray, z1: np.ndarray, t, eps: float = 1e-7) -> np.ndarray:
    """Spherical interpolation: the direction moves along the great circle at constant angular
    speed, and the norm moves linearly from ``|z0|`` to ``|z1|``.

    For unit vectors this is the classic slerp (the norm stays 1). Parallel vectors fall back to
    the straight line; for opposite vectors the great circle is not unique and the path turns
    through a fixed perpendicular direction. Zero vectors fall back to the straight line.

    z0, z1 : shape (d,); t : scalar or shape (m,). Returns shape (d,) or (m, d).
    """
    z0, z1, t, scalar = _prepare(z0, z1, t)
    n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
    if n0 < eps or n1 < eps:
        return lerp(z0, z1, t[:, 0] if not scalar else t[0, 0])
    u0, u1 = z0 / n0, z1 / n1
    cos = float(np.clip(u0 @ u1, -1.0, 1.0))
    if cos > 1.0 - eps:
        out = lerp(z0, z1, t[:, 0])
        return out[0] if scalar else out
    if cos < -1.0 + eps:
        # Opposite directions: go through the unit vector orthogonal to u0 nearest to the
        # axis where u0 is smallest (deterministic and well conditioned).
        axis = np.zeros_like(u0)
        axis[np.argmin(np.abs(u0))] = 1.0
        perp = axis - (axis @ u0) * u0
        perp /= np.linalg.norm(perp)
        angle = np.pi * t
        direction = np.cos(angle) * u0 + np.sin(angle) * perp
    else:
        omega = np.arccos(cos)
        direction = (np.sin((1.0 - t) * omega) * u0 + np.sin(t * omega) * u1) / np.sin(omega)
    out = direction * ((1.0 - t) * n0 + t * n1)
    return out[0] if scalar else out


def latent_path(keyframes: np.ndarray, steps: int, method: str = "slerp", loop: bool = False) -> np.ndarray:
    """Latents visiting each keyframe in turn.

    Parameters
    ----------
    keyframes : ndarray, shape (k, d), k >= 2
    steps : int
        Frames per segment, counting the segment's start and not its end.
    method : {"slerp", "linear"}
    loop : bool
        Add a segment from the last keyframe back to the first. The path then ends one step
        before the first keyframe, so that playing it on repeat never shows a frame twice.

    Returns
    -------
    path : ndarray, shape ((k - 1) * steps + 1, d), or (k * steps, d) when looping
    """
    keyframes = np.asarray(keyframes, dtype=np.float64)
    if keyframes.ndim != 2 or keyframes.shape[0] < 2:
        raise ValueError(f"keyframes must have shape (k, d) with k >= 2, found {keyframes.shape}")
    check_count("steps", steps, minimum=1, maximum=None)
    if method not in INTERPOLATIONS:
        raise ValueError(f"method must be one of {INTERPOLATIONS}, found {method!r}")
    frames = steps * (len(keyframes) if loop else len(keyframes) - 1) + (0 if loop else 1)
    if frames > MAX_FRAMES:
        raise ValueError(f"the path would have {frames:,} frames; at most {MAX_FRAMES} (fewer keyframes or steps)")
    interpolate = slerp if method == "slerp" else lerp
    stops = list(keyframes) + ([keyframes[0]] if loop else [])
    t = np.arange(steps) / steps
    segments = [interpolate(a, b, t) for a, b in zip(stops[:-1], stops[1:], strict=True)]
    if not loop:
        segments.append(keyframes[-1][None, :])
    return np.concatenate(segments)


def _prepare(z0, z1, t):
    z0 = np.asarray(z0, dtype=np.float64)
    z1 = np.asarray(z1, dtype=np.float64)
    if z0.ndim != 1 or z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must be vectors of the same length, found {z0.shape} and {z1.shape}")
    t = np.asarray(t, dtype=np.float64)
    scalar = t.ndim == 0
    if t.ndim > 1:
        raise ValueError(f"t must be a scalar or a vector, found shape {t.shape}")
    return z0, z1, t.reshape(-1, 1), scalar
