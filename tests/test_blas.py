"""gan8._blas: the OpenBLAS thread count is held at 1 inside the block and always restored."""

import threading

import numpy as np

from gan8 import _blas


def test_found_where_numpy_uses_openblas():
    # numpy's wheels on Linux vendor scipy-openblas, whose thread count can be set: the overlap in
    # pixel_stats depends on finding it, so a wheel that renamed its symbols must fail here.
    assert (_blas._api() is not None) == _blas._uses_openblas()


def test_single_thread_inside_and_restored_after():
    before = _blas.blas_threads()
    with _blas.single_threaded_blas() as held:
        assert held == (_blas._api() is not None and _blas._usable_cores() >= 2)
        if held:
            assert _blas.blas_threads() == 1
            with _blas.single_threaded_blas() as again:          # nesting keeps it at 1
                assert again and _blas.blas_threads() == 1
            assert _blas.blas_threads() == 1
    assert _blas.blas_threads() == before


def test_restored_after_an_exception():
    before = _blas.blas_threads()
    try:
        with _blas.single_threaded_blas():
            raise KeyError("x")
    except KeyError:
        pass
    assert _blas.blas_threads() == before


def test_overlapping_threads_restore_only_when_the_last_leaves():
    before = _blas.blas_threads()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with _blas.single_threaded_blas():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with _blas.single_threaded_blas() as held:
            second_in.set()
            first_out.wait(5)
            seen["inside after first left"] = _blas.blas_threads() if held else 1

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen["inside after first left"] == 1
    assert _blas.blas_threads() == before


def test_products_are_right_on_one_thread():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((300, 129)).astype(np.float32), rng.standard_normal((129, 784)).astype(np.float32)
    with _blas.single_threaded_blas():
        product = a @ b
    np.testing.assert_allclose(product, a.astype(np.float64) @ b.astype(np.float64), rtol=1e-4, atol=1e-4)
