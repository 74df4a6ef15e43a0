"""The compiled kernels, through their Python-visible wrappers."""

import numpy as np
import pytest

from autograd._core.kernels import axpy, pow_array, sum_to_py


def test_sum_to_undoes_broadcasting():
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(sum_to_py(x, (3, 1)), x.sum(axis=(0, 2)).reshape(3, 1))
    np.testing.assert_array_equal(sum_to_py(x, (1, 4)), x.sum(axis=(0, 1)).reshape(1, 4))
    np.testing.assert_array_equal(sum_to_py(x, ()), x.sum())
    assert sum_to_py(x, (2, 3, 4)) is x
    with pytest.raises(ValueError, match="does not broadcast"):
        sum_to_py(x, (5, 4))
    with pytest.raises(ValueError, match="larger shape"):
        sum_to_py(np.ones(3), (2, 3))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_axpy_in_place_any_input_layout(dtype):
    y = np.arange(6, dtype=dtype).reshape(2, 3)
    x = np.asfortranarray(np.ones((2, 3)))  # other dtype and layout
    x.flags.writeable = False
    expected = y + 0.5 * x
    before = id(y)
    axpy(y, x, 0.5)
    assert id(y) == before and y.dtype == dtype
    np.testing.assert_allclose(y, expected)
    with pytest.raises(ValueError, match="does not match"):
        axpy(y, np.ones(3), 1.0)
    with pytest.raises(TypeError, match="C-contiguous"):
        axpy(np.ones((3, 2)).T, np.ones((2, 3)), 1.0)


def test_pow_array_is_gos_pow():
    x = np.array([1.4545454545454546, 2.0, 0.5])
    np.testing.assert_array_equal(pow_array(x, 4.0), (x * x) * (x * x))
    np.testing.assert_allclose(pow_array(x.astype(np.float32), 3.0), x**3, rtol=1e-6)
