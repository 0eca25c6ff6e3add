"""Package boundaries: gan8 never imports streamlit; the public API is what __all__ says."""

from __future__ import annotations

import subprocess
import sys

import gan8
from conftest import ROOT

MODULES = ["gan8", "gan8.cli", "gan8.data", "gan8.evaluate", "gan8.classifier", "gan8.nets", "gan8.train",
           "gan8.stats", "gan8.render", "gan8.latents", "gan8.weights", "gan8.generator", "gan8.limits"]


def test_gan8_never_imports_streamlit_or_deep_learning_frameworks():
    code = (f"import sys; import {', '.join(MODULES)}; "
            "bad = [m for m in ('streamlit', 'torch', 'tensorflow', 'jax', 'plotly') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_public_api():
    for name in gan8.__all__:
        assert getattr(gan8, name).__doc__, f"gan8.{name} has no docstring"
