"""The generator network: z (10) -> ReLU hidden layer (128) -> sigmoid(-W2) image (28 x 28).

The original MATLAB formula, for one column vector z:

    W1 = A_1 z + B_1,  Z1 = max(W1, 0),  W2 = A_2 Z1 + B_2,  X = 1 / (1 + exp(W2))

X is a 784-vector holding the 28 x 28 image in MATLAB's column-major order, with 1 = white paper
and 0 = black ink.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

__all__ = ["Generator", "LATENT_DIM", "HIDDEN_DIM", "IMAGE_SIDE", "IMAGE_PIXELS"]

LATENT_DIM = 10
HIDDEN_DIM = 128
IMAGE_SIDE = 28
IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE
# Rows per pass: a 1024 x 784 float32 block (3.2 MB) stays in this machine's caches between the
# product, exp and reciprocal; 4096 rows at once runs at half the speed (benchmarks/generate_and_stats.py).
GENERATE_CHUNK = 1024

# Row k of A_2 draws pixel (k % 28, k // 28) (column-major). Reordering A_2's rows once, by this
# permutation, makes output element r * 28 + c hold pixel (r, c), so the batched result reshapes
# to (n, 28, 28) upright with no copy. F-order indices of the C-order raster:
_COLUMN_MAJOR_OF_ROW_MAJOR = np.arange(IMAGE_PIXELS).reshape(IMAGE_SIDE, IMAGE_SIDE, order="F").ravel()


def _frozen(array: np.ndarray, dtype) -> np.ndarray:
    out = np.array(array, dtype=dtype, order="C", copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False)
class Generator:
    """An immutable generator; safe to share between threads and sessions.

    Parameters
    ----------
    A_1 : ndarray, shape (128, 10)
    B_1 : ndarray, shape (128,)
    A_2 : ndarray, shape (784, 128)
    B_2 : ndarray, shape (784,)
        The weights exactly as in the MATLAB file (rows of A_2 and B_2 in column-major pixel
        order). They are checked by :func:`gan8.load_weights`; construct directly only from
        trusted arrays.
    metadata : mapping of str to str
        Free-form text stored beside the weights (source, seed, ...).
    """

    A_1: np.ndarray
    B_1: np.ndarray
    A_2: np.ndarray
    B_2: np.ndarray
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        expected = {"A_1": (HIDDEN_DIM, LATENT_DIM), "B_1": (HIDDEN_DIM,),
                    "A_2": (IMAGE_PIXELS, HIDDEN_DIM), "B_2": (IMAGE_PIXELS,)}
        for name, shape in expected.items():
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if name.startswith("B"):
                value = value.reshape(-1)
            if value.shape != shape:
                raise ValueError(f"{name} must have shape {shape}, found {value.shape}")
            object.__setattr__(self, name, _frozen(value, np.float64))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))
        digest = hashlib.sha256()
        for name in expected:
            digest.update(getattr(self, name).tobytes())
        object.__setattr__(self, "_fingerprint", digest.hexdigest()[:12])
        # float32 working copies laid out for a batched, row-major forward pass. The output bias is
        # an extra row of the output weights, multiplied by a constant 1 in the hidden buffer, so
        # W2 = [Z1, 1] @ [A_2 B_2]^T is one matrix product with no separate bias pass.
        object.__setattr__(self, "_w1", _frozen(self.A_1.T, np.float32))          # (10, 128)
        object.__setattr__(self, "_b1", _frozen(self.B_1, np.float32))            # (128,)
        w2 = np.vstack([self.A_2.T, self.B_2[None, :]])[:, _COLUMN_MAJOR_OF_ROW_MAJOR]
        object.__setattr__(self, "_w2", _frozen(w2, np.float32))                  # (129, 784)

    @property
    def n_params(self) -> int:
        """Number of weights and biases (102,544 for the 10-128-784 network)."""
        return sum(a.size for a in (self.A_1, self.B_1, self.A_2, self.B_2))

    @property
    def fingerprint(self) -> str:
        """First 12 hex digits of the sha256 of the float64 weights, in file order."""
        return self._fingerprint

    def generate(self, z: np.ndarray, *, out: np.ndarray | None = None,
                 hidden: np.ndarray | None = None) -> np.ndarray:
        """Images for a batch of latents.

        Parameters
        ----------
        z : array_like, shape (n, 10)
        out : ndarray, shape (n, 28, 28), float32, optional
            Buffer to write into (for streaming without allocation).
        hidden : ndarray, shape (m, 129), float32, optional
            Scratch buffer for the hidden layer (its last column holds the constant 1 that
            multiplies the output bias); the batch is processed m rows at a time
            (default m = min(n, 1024), which keeps each block in cache).

        Returns
        -------
        images : ndarray, shape (n, 28, 28), float32 in [0, 1]
            Upright (row 0 at the top), 1 = paper, 0 = ink.
        """
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != LATENT_DIM:
            raise ValueError(f"z must have shape (n, {LATENT_DIM}), found {z.shape}")
        n = z.shape[0]
        if out is None:
            out = np.empty((n, IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32)
        if hidden is None:
            hidden = np.empty((min(n, GENERATE_CHUNK), HIDDEN_DIM + 1), dtype=np.float32)
        flat = out.reshape(n, IMAGE_PIXELS)  # a view: `out` must be C-contiguous
        step = hidden.shape[0]
        for start in range(0, n, step):
            stop = min(start + step, n)
            self._forward(z[start:stop], hidden[:stop - start], flat[start:stop])
        return out

    def _forward(self, z: np.ndarray, hidden: np.ndarray, flat: np.ndarray) -> None:
        """One cache-sized block: z (m, 10) float32, hidden (m, 129), flat (m, 784) written in place."""
        units = hidden[:, :HIDDEN_DIM]
        np.matmul(z, self._w1, out=units)
        units += self._b1
        np.maximum(units, 0.0, out=units)
        hidden[:, HIDDEN_DIM] = 1.0
        np.matmul(hidden, self._w2, out=flat)
        # X = 1 / (1 + exp(W2)), in place (numpy's exp is SIMD; scipy's expit is 5x slower here).
        # exp overflows to inf for W2 > 88, which gives exactly 0: solid ink.
        with np.errstate(over="ignore"):
            np.exp(flat, out=flat)
        flat += 1.0
        np.reciprocal(flat, out=flat)

    def __repr__(self) -> str:
        return f"Generator(10-128-784, n_params={self.n_params}, fingerprint={self.fingerprint!r})"
