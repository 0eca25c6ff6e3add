"""Read and write generator weights in the layout of the original ``data21.mat``.

The file holds four variables: A_1 (128 x 10), B_1 (128 x 1), A_2 (784 x 128) and B_2 (784 x 1),
float64 in MATLAB 5 format. Rows of A_2 and B_2 are pixels in MATLAB's column-major order. Any
other variables are ignored, except short text variables, which are read as metadata.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import BinaryIO

import numpy as np
import scipy.io
import scipy.sparse

from ._matfile import MatFormatError, VariableHeader, scan_variables
from .generator import HIDDEN_DIM, IMAGE_PIXELS, LATENT_DIM, Generator

__all__ = ["WeightsError", "load_weights", "save_weights", "bundled_weights_path",
           "MAX_WEIGHTS_FILE_BYTES", "WEIGHT_SHAPES"]

WeightsSource = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO | None

# data21.mat is 784 KB; a float64 file of this layout cannot be much larger. The cap keeps a
# hostile upload from costing more than a few MB of memory.
MAX_WEIGHTS_FILE_BYTES = 4 * 1024 * 1024
WEIGHT_SHAPES = {
    "A_1": (HIDDEN_DIM, LATENT_DIM),
    "B_1": (HIDDEN_DIM, 1),
    "A_2": (IMAGE_PIXELS, HIDDEN_DIM),
    "B_2": (IMAGE_PIXELS, 1),
}
_MAX_METADATA_CHARS = 4096
# Trained weights are at most a few tens in size; beyond this a file is damaged or hostile, and
# float32 arithmetic would overflow to inf and NaN.
MAX_ABS_WEIGHT = 1e4
_METADATA_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
BUNDLED_WEIGHTS_FILE = "gan8_eights.mat"
_KIND_NAMES = {
    "cell": "a cell array", "struct": "a struct array", "sparse": "a sparse matrix",
    "object": "a MATLAB object", "function handle": "a function handle",
    "opaque": "a MATLAB opaque object", "char": "text (a char array)", "empty": "an empty element",
}


class WeightsError(ValueError):
    """A weights file that cannot be used; the message names the file, what was expected and
    what was found."""


def bundled_weights_path() -> Path:
    """Path of the weights shipped inside the package."""
    return Path(str(resources.files("gan8") / "assets" / BUNDLED_WEIGHTS_FILE))


def load_weights(path: WeightsSource = None, *, name: str | None = None) -> Generator:
    """Load a generator from a MAT file in the data21.mat layout.

    Parameters
    ----------
    path : str, path-like, bytes or binary file object, optional
        The file, its bytes (for example an upload), or None for the bundled weights.
    name : str, optional
        How to call the file in error messages (defaults to its path, or "the upload").

    Returns
    -------
    Generator

    Raises
    ------
    WeightsError
        If the file is unreadable, not a MAT file, truncated, a v7.3 file, or any of the four
        variables is missing, of the wrong shape or kind, empty, or not finite.
    """
    if path is None:
        path = bundled_weights_path()
        if not path.is_file():
            raise WeightsError(
                f"the bundled weights are missing ({path}); pass a file in the data21.mat layout, "
                "for example load_weights('data21.mat') or --weights data21.mat"
            )
    data, label = _read_source(path, name)
    try:
        _, headers = scan_variables(data, max_inflated_bytes=MAX_WEIGHTS_FILE_BYTES)
    except MatFormatError as exc:
        raise WeightsError(f"{label}: {exc}") from None
    by_name = {h.name: h for h in headers}
    for var, shape in WEIGHT_SHAPES.items():
        _check_header(label, var, shape, by_name)
    text_vars = [h.name for h in headers
                 if h.mclass == "char" and h.numel <= _MAX_METADATA_CHARS and len(h.dims) == 2
                 and h.name not in WEIGHT_SHAPES and _METADATA_NAME.fullmatch(h.name)]
    contents = _loadmat(data, label, list(WEIGHT_SHAPES) + text_vars)
    arrays = {var: _check_values(label, var, shape, contents.get(var))
              for var, shape in WEIGHT_SHAPES.items()}
    metadata = {var: _as_text(contents[var]) for var in text_vars if var in contents}
    metadata = {k: v for k, v in metadata.items() if v is not None}
    return Generator(**arrays, metadata=metadata)


def save_weights(path: str | os.PathLike | BinaryIO, generator: Generator, **metadata: str) -> None:
    """Write ``generator`` in the data21.mat layout (MATLAB 5 format, float64, (n, 1) biases).

    Keyword arguments are stored as extra text variables, which :func:`load_weights` reads
    back as ``generator.metadata`` and MATLAB sees as char arrays.
    """
    merged = {**generator.metadata, **metadata}
    for key, value in merged.items():
        if not _METADATA_NAME.fullmatch(key) or key in WEIGHT_SHAPES:
            raise ValueError(f"metadata name {key!r} must be a MATLAB variable name other than "
                             f"{', '.join(WEIGHT_SHAPES)}")
        if not isinstance(value, str) or len(value) > _MAX_METADATA_CHARS or "\n" in value:
            raise ValueError(f"metadata {key!r} must be one line of text up to "
                             f"{_MAX_METADATA_CHARS} characters")
    variables = {
        "A_1": generator.A_1, "B_1": generator.B_1.reshape(-1, 1),
        "A_2": generator.A_2, "B_2": generator.B_2.reshape(-1, 1),
        **merged,
    }
    scipy.io.savemat(path, variables, format="5", do_compression=False, oned_as="column")


def _read_source(source: WeightsSource, name: str | None) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), name or "the upload"
    elif hasattr(source, "read"):
        data, label = source.read(MAX_WEIGHTS_FILE_BYTES + 1), name or getattr(source, "name", "the upload")
    else:
        label = name or str(source)
        try:
            size = os.stat(source).st_size
            if size > MAX_WEIGHTS_FILE_BYTES:
                raise WeightsError(_too_large(label, size))
            with open(source, "rb") as f:
                data = f.read(MAX_WEIGHTS_FILE_BYTES + 1)
        except OSError as exc:
            raise WeightsError(f"{label}: cannot read the file ({exc.strerror or exc})") from None
    if not isinstance(data, bytes):
        raise WeightsError(f"{label}: expected bytes from the file object, found {type(data).__name__}")
    if len(data) > MAX_WEIGHTS_FILE_BYTES:
        raise WeightsError(_too_large(label, len(data)))
    return data, str(label)


def _too_large(label: str, size: int) -> str:
    return (f"{label}: the file is {size / 1e6:.1f} MB; weights in the data21.mat layout take "
            f"about 0.8 MB and at most {MAX_WEIGHTS_FILE_BYTES // (1024 * 1024)} MiB are accepted")


def _check_header(label: str, var: str, shape: tuple[int, int],
                  by_name: Mapping[str, VariableHeader]) -> None:
    header = by_name.get(var)
    if header is None:
        found = ", ".join(sorted(by_name)) or "no variables"
        raise WeightsError(f"{label}: variable {var} is missing; expected A_1, B_1, A_2 and B_2, "
                           f"found {found}")
    kind = _describe_kind(header)
    if kind is not None:
        raise WeightsError(f"{label}: variable {var} is {kind}; expected a real float "
                           f"(double or single) matrix of shape {_fmt(shape)}")
    if header.numel == 0:
        raise WeightsError(f"{label}: variable {var} is empty ({_fmt(header.dims)}); "
                           f"expected shape {_fmt(shape)}")
    dims = header.dims
    ok = dims == shape or (var.startswith("B") and dims in ((1, shape[0]), (shape[0],)))
    if not ok:
        hint = "; it looks transposed" if dims == shape[::-1] and not var.startswith("B") else ""
        allowed = f"{_fmt(shape)} or {_fmt((1, shape[0]))}" if var.startswith("B") else _fmt(shape)
        raise WeightsError(f"{label}: variable {var} has shape {_fmt(dims)}; expected {allowed}{hint}")


def _describe_kind(header: VariableHeader) -> str | None:
    """None for a real float matrix, else what the variable is instead."""
    if header.is_logical:
        return "a logical array"
    if header.mclass in _KIND_NAMES:
        return _KIND_NAMES[header.mclass]
    if header.is_complex:
        return f"complex ({header.mclass})"
    if header.mclass not in ("double", "single"):
        return f"of class {header.mclass}"
    return None


def _loadmat(data: bytes, label: str, names: list[str]) -> dict:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return scipy.io.loadmat(io.BytesIO(data), variable_names=names, mat_dtype=False,
                                    squeeze_me=False, chars_as_strings=True, verify_compressed_data_integrity=True)
    except Exception as exc:  # scipy raises many types for damaged files; report them all the same way
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{label}: the MAT file is damaged and could not be read ({detail})") from None


def _check_values(label: str, var: str, shape: tuple[int, int], value) -> np.ndarray:
    if value is None:
        raise WeightsError(f"{label}: variable {var} could not be read")
    if scipy.sparse.issparse(value) or not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        found = type(value).__name__ if not isinstance(value, np.ndarray) else str(value.dtype)
        raise WeightsError(f"{label}: variable {var} is {found}; expected a real float matrix")
    value = value.reshape(shape)
    bad = ~np.isfinite(value)
    if bad.any():
        count = int(bad.sum())
        first = tuple(int(i) + 1 for i in np.argwhere(bad)[0])  # 1-based, as MATLAB shows it
        what = "NaN" if np.isnan(value[bad]).any() else "Inf"
        raise WeightsError(f"{label}: variable {var} has {count} non-finite value(s) ({what} first "
                           f"at {var}{first}); expected finite numbers")
    too_large = np.abs(value) > MAX_ABS_WEIGHT
    if too_large.any():
        first = tuple(int(i) + 1 for i in np.argwhere(too_large)[0])
        raise WeightsError(f"{label}: variable {var} has {int(too_large.sum())} value(s) beyond +-{MAX_ABS_WEIGHT:g} "
                           f"({value[tuple(i - 1 for i in first)]:.3g} at {var}{first}); expected trained weights")
    return value.astype(np.float64)


def _as_text(value) -> str | None:
    if isinstance(value, np.ndarray) and value.dtype.kind == "U" and value.size == 1:
        return str(value.reshape(-1)[0])
    return None


def _fmt(dims) -> str:
    return " x ".join(str(d) for d in dims) if dims else "scalar"
