"""A second discriminator that judges images by the features of a frozen digit classifier.

Vision-aided GAN training (Kumari et al. 2022): a small trainable head on the features of a fixed,
pretrained network is a discriminator that cannot learn the 400 training eights pixel by pixel,
only how they differ from fakes in the pretrained network's terms (stroke and shape detectors
learned from every digit). Its gradient is added to the generator's.

The frozen layer is the hidden layer of a ``DigitClassifier``: f = relu(u W + b), u = 1 - x (ink).
Its rows are reordered once into the training's column-major pixel order. The head is
h = lrelu(f F2 + f2), logit = h f3 + f3b.

Shapes: x (B, 784) column-major, 1 = paper; W (784, F); F2 (F, H); f3 (H,).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FrozenFeatures", "init_feature_head", "feature_discriminator_forward", "feature_discriminator_backward"]

Params = dict[str, np.ndarray]

# Row-major pixel index of each column-major pixel: row k of a column-major W is row _ROW_MAJOR[k].
_ROW_MAJOR = np.arange(784).reshape(28, 28).T.ravel()


@dataclass(frozen=True)
class FrozenFeatures:
    """The fixed first layer: W (784, F) in column-major pixel order and b (F,)."""

    W: np.ndarray
    b: np.ndarray

    @classmethod
    def from_classifier(cls, classifier, dtype=np.float32) -> FrozenFeatures:
        """From a ``DigitClassifier`` (whose W1 rows are in row-major pixel order)."""
        return cls(W=np.ascontiguousarray(classifier.W1[_ROW_MAJOR], dtype=dtype),
                   b=np.asarray(classifier.b1, dtype=dtype))


@dataclass
class FeatureCache:
    a: np.ndarray    # (B, F) frozen pre-activations
    f: np.ndarray    # (B, F) features
    s2: np.ndarray   # (B, H) leaky-ReLU slopes of the head
    h2: np.ndarray   # (B, H)


def init_feature_head(rng: np.random.Generator, features: int, hidden: int, leak: float,
                      dtype=np.float32) -> Params:
    """He-initialised head F2 (F, H), f2 (H,), f3 (H,), f3b (1,)."""
    gain = np.sqrt(2.0 / (1.0 + leak**2))
    return {"F2": (rng.standard_normal((features, hidden)) * gain / np.sqrt(features)).astype(dtype),
            "f2": np.zeros(hidden, dtype),
            "f3": (rng.standard_normal(hidden) / np.sqrt(hidden)).astype(dtype),
            "f3b": np.zeros(1, dtype)}


def feature_discriminator_forward(p: Params, frozen: FrozenFeatures, x: np.ndarray,
                                  leak: float) -> tuple[np.ndarray, FeatureCache]:
    """x (B, 784), 1 = paper -> logits (B,), high = real."""
    a = (1.0 - x) @ frozen.W + frozen.b
    f = np.maximum(a, 0)
    a2 = f @ p["F2"] + p["f2"]
    s2 = np.where(a2 > 0, 1.0, leak).astype(x.dtype)
    h2 = a2 * s2
    return h2 @ p["f3"] + p["f3b"][0], FeatureCache(a, f, s2, h2)


def feature_discriminator_backward(p: Params, frozen: FrozenFeatures, cache: FeatureCache, dout: np.ndarray,
                                   need_params: bool = True) -> tuple[Params | None, np.ndarray]:
    """Given dL/dlogits (B,), the head's parameter gradients (or None) and dL/dx (B, 784)."""
    da2 = np.outer(dout, p["f3"]) * cache.s2
    da = (da2 @ p["F2"].T) * (cache.a > 0)
    dx = -(da @ frozen.W.T)
    if not need_params:
        return None, dx
    return {"F2": cache.f.T @ da2, "f2": da2.sum(0), "f3": cache.h2.T @ dout,
            "f3b": np.array([dout.sum()], dtype=dout.dtype)}, dx
