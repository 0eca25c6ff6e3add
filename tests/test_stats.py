import numpy as np
import pytest

import gan8
from gan8._blas import single_threaded_blas
from gan8.stats import image_stats


def _samples(generator, n, seed, psi=1.0, chunk=None):
    """The samples pixel_stats sees: the same latents, generated in the same batches and BLAS
    threading (float32 rounding in BLAS depends on both)."""
    z = psi * np.random.default_rng(seed).standard_normal((n, 10))
    chunk = chunk or n
    with single_threaded_blas():
        batches = [generator.generate(z[i:i + chunk]) for i in range(0, n, chunk)]
    return np.concatenate(batches).astype(np.float64)


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000, 5000])
@pytest.mark.parametrize("bins", [16, 64])
@pytest.mark.parametrize("psi", [0.0, 0.8, 2.0])
def test_pixel_stats_equal_numpy_on_concatenated_samples(generator, chunk, bins, psi):
    n, seed = 1000, 3
    x = _samples(generator, n, seed, psi, chunk)
    s = gan8.pixel_stats(generator, n, seed, psi=psi, chunk=chunk, bins=bins)
    assert s.count == n
    # float32 block sums: within a few float32 ulps of 1 (docstring: about 1e-7)
    np.testing.assert_allclose(s.mean, x.mean(axis=0), atol=2e-7)
    np.testing.assert_allclose(s.std, x.std(axis=0), atol=1e-6)
    np.testing.assert_array_equal(s.min, x.min(axis=0))
    np.testing.assert_array_equal(s.max, x.max(axis=0))
    counts, edges = np.histogram(x.astype(np.float32), bins=bins, range=(0.0, 1.0))
    np.testing.assert_array_equal(s.hist_counts, counts)
    np.testing.assert_allclose(s.hist_edges, edges)
    pixel = (5, 20)
    np.testing.assert_array_equal(s.pixel_hist[pixel],
                                  np.histogram(x[:, 5, 20].astype(np.float32), bins=bins, range=(0, 1))[0])
    ink = (x < 0.5).reshape(n, -1).mean(axis=1)
    assert s.ink_fraction_mean == pytest.approx(ink.mean(), abs=1e-12)
    assert s.ink_fraction_std == pytest.approx(ink.std(), abs=1e-12)
    assert s.ink_fraction_quantile(0.5) == np.quantile(ink, 0.5, method="lower")
    assert s.ink_fraction_quantile(0.95) == np.quantile(ink, 0.95, method="lower")


def test_chunk_size_changes_nothing_but_rounding(generator):
    a = gan8.pixel_stats(generator, 3000, 0, chunk=100)
    b = gan8.pixel_stats(generator, 3000, 0, chunk=3000)
    np.testing.assert_allclose(a.mean, b.mean, atol=1e-6)
    np.testing.assert_allclose(a.std, b.std, atol=1e-6)
    np.testing.assert_allclose(a.min, b.min, atol=1e-6)
    # float32 rounding may move a value sitting on a bin edge: a handful of counts at most
    assert np.abs(a.pixel_hist - b.pixel_hist).sum() <= 10
    assert np.abs(a.ink_counts - b.ink_counts).sum() <= 10


def test_progress_is_reported_and_can_interrupt(generator):
    calls = []
    gan8.pixel_stats(generator, 250, 0, chunk=100, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(100, 250), (200, 250), (250, 250)]

    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop

    with pytest.raises(Stop):
        gan8.pixel_stats(generator, 1000, 0, chunk=100, progress=stop)


def test_histogram_edges_exact_values():
    # hand-written images: values on bin edges go right; 1.0 joins the last bin
    images = np.ones((2, 28, 28), np.float32)
    images[0, 0, 0], images[0, 0, 1], images[1, 0, 0] = 0.0, 0.25, 0.5
    s = image_stats(images, bins=4)
    assert s.pixel_hist[0, 0].tolist() == [1, 0, 1, 0]
    assert s.pixel_hist[0, 1].tolist() == [0, 1, 0, 1]
    assert s.hist_counts.tolist() == [1, 1, 1, 2 * 784 - 3]
    assert s.ink_counts[2] == 1 and s.ink_counts[0] == 1   # image 0 has two pixels < 0.5, image 1 none


@pytest.mark.parametrize("kwargs,match", [
    ({"n": -1}, "n must"), ({"n": 10**9}, "at most"), ({"bins": 100}, "power of two"),
    ({"chunk": 0}, "chunk"), ({"psi": -1}, "psi"),
])
def test_bad_parameters(generator, kwargs, match):
    args = {"n": 10, "rng": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        gan8.pixel_stats(generator, **args)


def test_exports(generator, tmp_path):
    s = gan8.pixel_stats(generator, 50, 0)
    path = tmp_path / "s.npz"
    path.write_bytes(s.to_npz())
    with np.load(path, allow_pickle=False) as data:
        np.testing.assert_array_equal(data["mean"], s.mean)
        assert int(data["count"]) == 50
    rows = s.to_csv().strip().splitlines()
    assert rows[0] == "row,col,mean,std,min,max" and len(rows) == 785
    r, c, mean = rows[1 + 28 * 3 + 4].split(",")[:3]
    assert (int(r), int(c)) == (3, 4) and float(mean) == pytest.approx(s.mean[3, 4], rel=1e-5)
    summary = s.summary()
    assert summary["samples"] == 50 and 0 <= summary["ink fraction mean"] <= 1
    text = s.summary_text()
    assert list(text) == list(summary) and text["samples"] == "50"
    assert text["ink fraction mean"] == f"{summary['ink fraction mean']:.4f}"


def test_image_stats_matches_pixel_stats(generator):
    images = _samples(generator, 300, 9).astype(np.float32)
    a = image_stats(images, chunk=64)
    b = gan8.pixel_stats(generator, 300, 9)
    np.testing.assert_allclose(a.mean, b.mean, atol=2e-7)
    np.testing.assert_array_equal(a.pixel_hist, b.pixel_hist)


@pytest.mark.parametrize("bins", [2, 64, 128, 1024])
def test_histogram_bins_by_hand(bins):
    """Edges are exact: 0 in the first bin, 1 (paper) and the last edge in the last, 0.5 starts bin bins/2."""
    image = np.full((28, 28), 0.25, np.float32)
    image[0, 0], image[0, 1], image[0, 2], image[0, 3] = 0.0, 1.0, 0.5, 1 - 1 / bins
    s = image_stats(image[None], bins=bins)
    assert s.pixel_hist.shape == (28, 28, bins)
    expected = np.zeros(bins, np.int64)
    expected[int(0.25 * bins)] = 784 - 4
    expected[0] += 1
    expected[bins - 1] += 2
    expected[bins // 2] += 1
    np.testing.assert_array_equal(s.hist_counts, expected)
    assert s.pixel_hist[0, 1, bins - 1] == 1 and s.pixel_hist[0, 0, 0] == 1


@pytest.mark.parametrize("bad", [-0.1, 1.5, np.nan])
def test_image_stats_rejects_values_outside_the_unit_interval(bad):
    images = np.ones((2, 28, 28), np.float32)
    images[1, 3, 3] = bad
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        image_stats(images)


def test_overlapped_reduction_equals_the_serial_one(generator, monkeypatch):
    """With and without the second thread: the same chunks, the same results (the two lanes' float64
    sums are merged in another order: the moments agree to float64 rounding, the rest exactly)."""
    import contextlib

    from gan8 import stats

    calls = []
    overlapped = gan8.pixel_stats(generator, 2500, 4, chunk=300, progress=lambda d, t: calls.append(d))

    @contextlib.contextmanager
    def one_thread_no_overlap():
        with single_threaded_blas():
            yield False
    monkeypatch.setattr(stats, "single_threaded_blas", one_thread_no_overlap)
    serial_calls = []
    serial = gan8.pixel_stats(generator, 2500, 4, chunk=300, progress=lambda d, t: serial_calls.append(d))
    assert calls == serial_calls == [300 * k for k in range(1, 9)] + [2500]
    for name in ("min", "max", "pixel_hist", "ink_counts"):
        np.testing.assert_array_equal(getattr(overlapped, name), getattr(serial, name), err_msg=name)
    np.testing.assert_allclose(overlapped.mean, serial.mean, rtol=0, atol=1e-13)
    np.testing.assert_allclose(overlapped.std, serial.std, rtol=0, atol=1e-10)


def test_an_error_while_reducing_reaches_the_caller(generator, monkeypatch):
    from gan8 import stats

    calls = []
    real_update = stats._Accumulator.update

    def failing_update(self, flat):
        calls.append(len(flat))
        if len(calls) == 3:
            raise MemoryError("reduction failed")
        real_update(self, flat)
    monkeypatch.setattr(stats._Accumulator, "update", failing_update)
    with pytest.raises(MemoryError, match="reduction failed"):
        gan8.pixel_stats(generator, 3000, 0, chunk=100)
    assert 3 <= len(calls) <= 4  # at most the chunk already in the other lane runs after the failure
