"""The feature discriminator: its gradients against central finite differences, and its frozen layer
against the classifier it comes from."""

import numpy as np
from test_nets import LEAK, _numeric_grad

from gan8 import feature_disc as fd
from gan8.classifier import DigitClassifier


def _setup():
    rng = np.random.default_rng(3)
    frozen = fd.FrozenFeatures(W=rng.standard_normal((784, 6)) * 0.1, b=rng.standard_normal(6) * 0.5)
    head = fd.init_feature_head(rng, 6, 4, LEAK, dtype=np.float64)
    head["f2"] = rng.standard_normal(4) * 0.1
    x = rng.uniform(0.05, 0.95, (5, 784))
    weights = rng.standard_normal(5)  # a fixed linear loss on the logits
    return frozen, head, x, weights


def test_feature_discriminator_gradients_match_finite_differences():
    frozen, head, x, weights = _setup()

    def loss():
        return float(weights @ fd.feature_discriminator_forward(head, frozen, x, LEAK)[0])

    _, cache = fd.feature_discriminator_forward(head, frozen, x, LEAK)
    grads, dx = fd.feature_discriminator_backward(head, frozen, cache, weights)
    for name in head:
        picks, numeric = _numeric_grad(loss, head[name])
        np.testing.assert_allclose(grads[name].reshape(-1)[picks], numeric, rtol=1e-5, atol=1e-8, err_msg=name)
    picks, numeric = _numeric_grad(loss, x)
    np.testing.assert_allclose(dx.reshape(-1)[picks], numeric, rtol=1e-5, atol=1e-8)
    assert fd.feature_discriminator_backward(head, frozen, cache, weights, need_params=False)[0] is None


def test_frozen_layer_reads_column_major_images_as_the_classifier_reads_upright_ones():
    rng = np.random.default_rng(4)
    classifier = DigitClassifier(W1=rng.standard_normal((784, 7)), b1=rng.standard_normal(7),
                                 W2=rng.standard_normal((7, 10)), b2=np.zeros(10))
    frozen = fd.FrozenFeatures.from_classifier(classifier, dtype=np.float64)
    images = rng.uniform(0, 1, (3, 28, 28))
    column_major = images.transpose(0, 2, 1).reshape(3, 784)  # as the trainer holds images
    np.testing.assert_allclose(np.maximum((1 - column_major) @ frozen.W + frozen.b, 0),
                               classifier.features(images), rtol=1e-12)
