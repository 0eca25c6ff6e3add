import io

import numpy as np
import pytest
import scipy.io
import scipy.sparse

import gan8
from gan8 import WeightsError


def _mat_bytes(variables, **kwargs) -> bytes:
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables, **kwargs)
    return buffer.getvalue()


def test_save_then_load_round_trip(tmp_path, generator):
    path = tmp_path / "w.mat"
    gan8.save_weights(path, generator, source="unit test", seed="0")
    loaded = gan8.load_weights(path)
    for name in ("A_1", "B_1", "A_2", "B_2"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(generator, name))
    assert loaded.fingerprint == generator.fingerprint
    assert loaded.metadata == {"source": "unit test", "seed": "0"}


def test_saved_file_has_matlab_layout(tmp_path, generator):
    path = tmp_path / "w.mat"
    gan8.save_weights(path, generator)
    assert path.read_bytes()[:19] == b"MATLAB 5.0 MAT-file"
    info = {name: (shape, cls) for name, shape, cls in scipy.io.whosmat(path)}
    assert info == {"A_1": ((128, 10), "double"), "B_1": ((128, 1), "double"),
                    "A_2": ((784, 128), "double"), "B_2": ((784, 1), "double")}


@pytest.mark.parametrize("fmt,compress", [("5", False), ("5", True), ("4", False)])
def test_loads_float32_row_biases_and_extra_variables(weights, fmt, compress):
    variables = {
        "A_1": weights["A_1"].astype(np.float32),
        "B_1": weights["B_1"].reshape(1, -1).astype(np.float32),   # (1, n)
        "A_2": weights["A_2"].astype(np.float32),
        "B_2": weights["B_2"].reshape(1, -1),
        "notes": np.ones((3, 3)),                                  # ignored
    }
    if fmt == "5":
        variables["comment"] = "trained elsewhere"
    kwargs = {"format": fmt} if fmt == "4" else {"do_compression": compress}
    g = gan8.load_weights(_mat_bytes(variables, **kwargs))
    np.testing.assert_allclose(g.A_1, weights["A_1"].astype(np.float32))
    np.testing.assert_allclose(g.B_1, weights["B_1"].ravel().astype(np.float32))
    assert g.B_2.shape == (784,)
    if fmt == "5":
        assert g.metadata == {"comment": "trained elsewhere"}


def test_loads_from_file_object(weights_file, generator):
    with open(weights_file, "rb") as f:
        assert gan8.load_weights(f).fingerprint == generator.fingerprint


def test_reference_file_loads(reference_weights):
    g = gan8.load_weights(reference_weights)
    raw = scipy.io.loadmat(reference_weights)
    np.testing.assert_array_equal(g.A_2, raw["A_2"])
    np.testing.assert_array_equal(g.B_1, raw["B_1"].ravel())


def _with(weights, **changes):
    return _mat_bytes({**weights, **changes})


def _without(weights, name):
    return _mat_bytes({k: v for k, v in weights.items() if k != name})


def _cell():
    cell = np.empty((1, 2), dtype=object)
    cell[0, 0], cell[0, 1] = np.ones(3), "x"
    return cell


def _corrupt_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(64) + data[middle + 64:]


BROKEN = {
    "missing": (lambda w: _without(w, "B_2"), ["B_2", "missing", "A_1, A_2, B_1"]),
    "transposed": (lambda w: _with(w, A_1=w["A_1"].T), ["A_1", "10 x 128", "128 x 10", "transposed"]),
    "wrong shape": (lambda w: _with(w, A_2=w["A_2"][:, :100]), ["A_2", "784 x 100", "784 x 128"]),
    "wrong bias length": (lambda w: _with(w, B_1=np.ones((64, 1))), ["B_1", "64 x 1", "128 x 1"]),
    "text": (lambda w: _with(w, A_1="not numbers"), ["A_1", "char"]),
    "cell": (lambda w: _with(w, B_1=_cell()), ["B_1", "cell"]),
    "struct": (lambda w: _with(w, A_2={"a": 1.0}), ["A_2", "struct"]),
    "sparse": (lambda w: _with(w, A_2=scipy.sparse.csc_matrix(w["A_2"])), ["A_2", "sparse"]),
    "complex": (lambda w: _with(w, A_1=w["A_1"] + 1j), ["A_1", "complex"]),
    "logical": (lambda w: _with(w, A_1=w["A_1"] > 0), ["A_1", "logical"]),
    "integer": (lambda w: _with(w, A_1=w["A_1"].astype(np.int32)), ["A_1", "int32", "float"]),
    "nan": (lambda w: _with(w, A_2=np.where(np.eye(784, 128) > 0, np.nan, w["A_2"])),
            ["A_2", "NaN", "non-finite", "A_2(1, 1)"]),
    "inf": (lambda w: _with(w, B_2=np.vstack([w["B_2"][:-1], [[np.inf]]])), ["B_2", "Inf", "B_2(784, 1)"]),
    "huge values": (lambda w: _with(w, A_1=np.where(np.eye(128, 10) > 0, 1e300, w["A_1"])),
                    ["A_1", "1e+300", "A_1(1, 1)", "beyond"]),
    "empty": (lambda w: _with(w, B_1=np.zeros((0, 0))), ["B_1", "empty"]),
    "not a mat file": (lambda w: b"\x89PNG\r\n\x1a\n" + bytes(200), ["not a MAT file"]),
    "empty file": (lambda w: b"", ["empty"]),
    "truncated": (lambda w: _mat_bytes(w)[:400_000], ["truncated"]),
    "truncated compressed": (lambda w: _mat_bytes(w, do_compression=True)[:-5000], ["truncated"]),
    "corrupt compressed": (lambda w: _corrupt_middle(_mat_bytes(w, do_compression=True)), ["damaged"]),
    "v7.3": (lambda w: b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .".ljust(512, b" ")
             + b"\x89HDF\r\n\x1a\n" + bytes(512), ["v7.3", "-v7"]),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_broken_file_raises_a_specific_weights_error(tmp_path, weights, case):
    make, expected_words = BROKEN[case]
    path = tmp_path / f"{case.replace(' ', '_')}.mat"
    path.write_bytes(make(weights))
    with pytest.raises(WeightsError) as info:
        gan8.load_weights(path)
    message = str(info.value)
    assert str(path) in message
    for word in expected_words:
        assert word in message, f"{word!r} not in {message!r}"
    assert isinstance(info.value, ValueError)


def test_too_large_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.mat"
    path.write_bytes(bytes(gan8.weights.MAX_WEIGHTS_FILE_BYTES + 1))
    with pytest.raises(WeightsError, match="MB"):
        gan8.load_weights(path)


def test_missing_path(tmp_path):
    with pytest.raises(WeightsError, match="cannot read"):
        gan8.load_weights(tmp_path / "nope.mat")


def test_upload_bytes_name_the_upload(weights):
    with pytest.raises(WeightsError, match="^my.mat: variable B_2 is missing"):
        gan8.load_weights(_without(weights, "B_2"), name="my.mat")


def test_save_rejects_bad_metadata(tmp_path, generator):
    with pytest.raises(ValueError, match="MATLAB variable name"):
        gan8.save_weights(tmp_path / "w.mat", generator, **{"A_1": "clash"})
    with pytest.raises(ValueError, match="one line"):
        gan8.save_weights(tmp_path / "w.mat", generator, note="two\nlines")
