"""Hostile and damaged weights files: every one must end in WeightsError (or load, if the mutation
left a valid file), in bounded time and memory, and never in any other exception."""

from __future__ import annotations

import io
import pickle
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
import scipy.io

import gan8
from conftest import random_weights
from gan8 import WeightsError

MUTANTS_PER_SEED = 700


def _mat(variables, **kwargs) -> bytes:
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables, **kwargs)
    return buffer.getvalue()


def _seed_files() -> dict[str, bytes]:
    w = random_weights(3)
    return {
        "v5": _mat(w),
        "v5 compressed": _mat(w, do_compression=True),
        "v4": _mat(w, format="4"),
    }


def _mutate(data: bytes, rng: np.random.Generator) -> bytes:
    data = bytearray(data)
    kind = rng.integers(7)
    if kind == 0:    # flip random bytes
        for i in rng.integers(0, len(data), size=rng.integers(1, 20)):
            data[i] ^= 1 << int(rng.integers(8))
    elif kind == 1:  # truncate anywhere
        del data[rng.integers(0, len(data)):]
    elif kind == 2:  # corrupt the header region
        start = int(rng.integers(0, 200))
        data[start:start + 8] = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()
    elif kind == 3:  # huge declared size in some 8-byte aligned tag
        pos = int(rng.integers(0, max(len(data) // 8 - 1, 1))) * 8 + 4
        data[pos:pos + 4] = struct.pack("<I", int(rng.choice([0x7FFFFFFF, 0xFFFFFFFF, 2**28])))
    elif kind == 4:  # insert junk
        pos = int(rng.integers(0, len(data)))
        data[pos:pos] = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
    elif kind == 5:  # overwrite a 4-byte word with a small or negative int (dims, classes, types)
        pos = int(rng.integers(0, max(len(data) // 4 - 1, 1))) * 4
        data[pos:pos + 4] = struct.pack("<i", int(rng.choice([-1, 0, 1, 2, 3, 4, 5, 14, 15, 17, 1 << 20])))
    else:            # zero a block
        pos = int(rng.integers(0, len(data)))
        data[pos:pos + 256] = bytes(min(256, len(data) - pos))
    return bytes(data)


def mutants(seed_name: str, count: int):
    """``count`` seeded mutants of one of the seed files (the same on every run)."""
    seed = _seed_files()[seed_name]
    rng = np.random.default_rng(zlib.crc32(seed_name.encode()))
    for _ in range(count):
        yield _mutate(seed, rng)


def _load_safely(data: bytes) -> str:
    """'ok' or 'error'; any other exception fails the test."""
    try:
        gan8.load_weights(data, name="fuzz.mat")
    except WeightsError as exc:
        assert str(exc).startswith("fuzz.mat: ") and len(str(exc)) > 20
        return "error"
    return "ok"


@pytest.mark.slow
@pytest.mark.parametrize("seed_name", sorted(_seed_files()))
def test_mutated_files_raise_only_weights_error(seed_name):
    outcomes = {"ok": 0, "error": 0}
    worst_bytes = 0.0
    tracemalloc.start()
    try:
        for mutant in mutants(seed_name, MUTANTS_PER_SEED):
            before, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            outcomes[_load_safely(mutant)] += 1
            worst_bytes = max(worst_bytes, tracemalloc.get_traced_memory()[1] - before)
    finally:
        tracemalloc.stop()
    # (how long the worst file takes is measured by benchmarks/hostile_files.py, not asserted here)
    assert outcomes["error"] > MUTANTS_PER_SEED // 3
    assert worst_bytes < 32 * 2**20, f"peak extra memory {worst_bytes / 2**20:.0f} MiB for one file"


def _v5_header() -> bytes:
    return b"MATLAB 5.0 MAT-file, hostile test".ljust(116, b" ") + bytes(8) + struct.pack("<H", 0x0100) + b"IM"


def _matrix_element(name: bytes, dims: tuple[int, int], mclass: int = 6, payload: bytes = b"") -> bytes:
    flags = struct.pack("<II", 6, 8) + struct.pack("<II", mclass, 0)
    dims_el = struct.pack("<II", 5, 8) + struct.pack("<ii", *dims)
    name_el = struct.pack("<II", 1, len(name)) + name + bytes(-len(name) % 8)
    body = flags + dims_el + name_el + payload
    return struct.pack("<II", 14, len(body)) + body


def _with_first_element(element: bytes) -> bytes:
    """A valid file (A_1 first) whose first variable is replaced by ``element``."""
    data = _mat(random_weights(0))
    (nbytes,) = struct.unpack("<I", data[132:136])
    return data[:128] + element + data[136 + nbytes:]


# (make the file, words its error must contain)
HOSTILE = [
    (lambda: _v5_header() + _matrix_element(b"A_1", (2**30, 2**30)), ["A_1", "1073741824 x 1073741824"]),
    (lambda: _with_first_element(_matrix_element(b"A_1", (128, 10), payload=struct.pack("<II", 9, 2**31))),
     ["damaged"]),
    (lambda: _v5_header() + struct.pack("<II", 15, 2**31), ["truncated"]),
    (lambda: (lambda bomb: _v5_header() + struct.pack("<II", 15, len(bomb)) + bomb)(
        zlib.compress(struct.pack("<II", 14, 200 * 2**20) + bytes(200 * 2**20), 9)), ["inflates past"]),
    (lambda: pickle.dumps({"A_1": np.zeros((128, 10))}), ["not a MAT file"]),
    (lambda: (lambda b: (np.save(b, np.zeros((128, 10))), b.getvalue())[1])(io.BytesIO()), ["not a MAT file"]),
    (lambda: np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes(), ["not a MAT file"]),
    (lambda: struct.pack("<5i", 0, 2**30, 2**30, 0, 4) + b"A_1\x00", ["truncated"]),   # v4, huge
    (lambda: _mat({**random_weights(0), "A_1": np.array([["x"]], dtype=object)}), ["A_1", "cell"]),
]


@pytest.mark.parametrize("make,words", HOSTILE)
def test_hostile_files_are_refused_before_allocation(make, words):
    data = make()
    tracemalloc.start()
    try:
        with pytest.raises(WeightsError) as info:
            gan8.load_weights(data, name="hostile.mat")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(data) + 16 * 2**20   # nothing near the declared sizes is allocated
    for word in words:
        assert word in str(info.value)


def test_nothing_is_unpickled(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: calls.append(a))
    with pytest.raises(WeightsError):
        gan8.load_weights(pickle.dumps(object()), name="x.mat")
    gan8.load_weights(_mat(random_weights(0)))
    assert calls == []
