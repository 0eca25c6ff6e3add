"""Run numpy's OpenBLAS on one thread for a while, where numpy's build lets us.

``pixel_stats`` runs two lanes on two threads, each generating and reducing its own chunks.
That only pays when the matrix products do not also spread over every core: OpenBLAS's worker
threads busy-wait, so two of them beside a second Python thread on two cores ran slower than
one thread alone (benchmarks/generate_and_stats.py). OpenBLAS keeps one process-wide thread
count, so :func:`single_threaded_blas` sets it to 1 while any caller is inside and restores it
when the last one leaves. Other threads' matrix products meanwhile run on one core too: slower,
and rounded as on one thread (float32 results may differ in the last bit from a two-thread run).
Where numpy uses another BLAS, or its OpenBLAS cannot be found, it changes nothing and says so,
and the caller runs on one thread.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

__all__ = ["single_threaded_blas", "blas_threads"]

# Symbol names of the thread-count functions: numpy's scipy-openblas wheels prefix and suffix them.
_NAMES = [("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
          ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
          ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
          ("openblas_get_num_threads", "openblas_set_num_threads")]


def _vendored_libraries() -> list[str]:
    """The OpenBLAS copy numpy's wheels ship beside it (Linux and Windows: numpy.libs; macOS: .dylibs)."""
    root = Path(np.__file__).resolve().parent
    return [str(p) for folder in (root.parent / "numpy.libs", root / ".dylibs")
            if folder.is_dir() for p in sorted(folder.glob("*openblas*"))]


def _uses_openblas() -> bool:
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:  # the layout of numpy's build information is not a public contract
        return False
    return "openblas" in str(blas.get("name", "")).lower()


def _functions(path: str) -> tuple[ctypes._CFuncPtr, ctypes._CFuncPtr] | None:
    try:
        library = ctypes.CDLL(path)
    except OSError:
        return None
    for get_name, set_name in _NAMES:
        get, set_ = getattr(library, get_name, None), getattr(library, set_name, None)
        if get is not None and set_ is not None:
            get.restype, get.argtypes = ctypes.c_int, []
            set_.restype, set_.argtypes = None, [ctypes.c_int]
            return get, set_
    return None


@functools.cache
def _api() -> tuple[ctypes._CFuncPtr, ctypes._CFuncPtr] | None:
    """The (get, set) thread-count functions of numpy's OpenBLAS, looked up on first use (not at
    import: loading the library and, failing the vendored copy, searching the system take tens of ms)."""
    if not _uses_openblas():
        return None
    for path in _vendored_libraries():
        if (found := _functions(path)) is not None:
            return found
    import ctypes.util  # a system OpenBLAS, for numpy builds that link one (conda, distributions)

    system = ctypes.util.find_library("openblas")
    return _functions(system) if system else None


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_lock = threading.Lock()
_inside = 0
_saved = 1


def blas_threads() -> int | None:
    """OpenBLAS's current thread count, or None where it cannot be read."""
    api = _api()
    return None if api is None else int(api[0]())


@contextmanager
def single_threaded_blas() -> Iterator[bool]:
    """Hold numpy's OpenBLAS at one thread inside the block; yields whether it could.

    Safe to nest and to enter from several threads at once: the first to enter saves the count
    and the last to leave restores it.
    """
    global _inside, _saved
    api = _api()
    if api is None or _usable_cores() < 2:
        yield False
        return
    get, set_ = api
    with _lock:
        if _inside == 0:
            _saved = int(get())
            set_(1)
        _inside += 1
    try:
        yield True
    finally:
        with _lock:
            _inside -= 1
            if _inside == 0:
                set_(_saved)
