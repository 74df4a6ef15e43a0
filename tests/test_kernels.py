"""The compiled kernels, through their Python-visible wrappers."""

import math
import os
import platform

import numpy as np
import pytest

import autograd as ag
from autograd import functions as F
from autograd._core import kernels
from autograd._core.kernels import (
    adagrad_update,
    adam_update,
    axpy,
    buffer_cache,
    empty_vector,
    matmul_py,
    momentum_update,
    pow_array,
    relu_grad_py,
    relu_py,
    rmsprop_update,
    sum_to_py,
)


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


def _bits(a):
    return np.ascontiguousarray(a).view(np.uint8)


# the values where ReLU's bits are easy to get wrong: signed zeros, NaNs of both signs
# (NumPy keeps their payload), infinities, subnormals
_EDGES = [-0.0, 0.0, np.nan, -np.nan, np.inf, -np.inf, -1.5, 2.5, 1e-310, -5e-324]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_kernel_gives_numpys_bits(dtype):
    rng = np.random.default_rng(3)
    for x in (
        np.array(_EDGES, dtype),
        rng.normal(size=(37, 5)).astype(dtype),
        np.array(-2.0, dtype),
    ):
        y = relu_py(x)
        expected = np.maximum(x, dtype(0))
        assert y.dtype == dtype and y.shape == x.shape
        np.testing.assert_array_equal(_bits(y), _bits(expected))
    y = relu_py(np.array([-0.0, -3.0, np.nan, 4.0], dtype))
    assert not np.signbit(y[0]) and y[1] == 0 and np.isnan(y[2]) and y[3] == 4


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_grad_kernel_is_the_product_with_the_mask(dtype):
    x = np.array(_EDGES, dtype)
    y = relu_py(x)
    # gy * 0 keeps its sign and gives NaN for inf: a product, not a select
    gy = np.array([-1, -1, 1, 1, np.inf, np.inf, -1, 2, 3, np.nan], dtype)
    with np.errstate(invalid="ignore"):
        expected = gy * (x > 0)
    g = relu_grad_py(y, gy)
    assert g.dtype == dtype
    np.testing.assert_array_equal(_bits(g), _bits(expected))
    assert np.signbit(g[0]) and np.isnan(g[5]) and g[7] == 2 and g[3] == 0


def test_relu_kernels_take_any_layout_through_numpy():
    x = np.arange(-6.0, 6.0).reshape(3, 4)
    for odd in (x.T, x[:, ::2], x.astype(">f8"), x.astype(np.float16), x.astype(np.int64)):
        np.testing.assert_array_equal(relu_py(odd), np.maximum(odd, 0))
        np.testing.assert_array_equal(relu_grad_py(relu_py(odd), odd), odd * (odd > 0))
    ro = x.copy()
    ro.flags.writeable = False
    np.testing.assert_array_equal(relu_py(ro), np.maximum(x, 0))
    # a gradient of another dtype or a broadcast one: NumPy's product (the mask is boolean,
    # so the gradient's dtype is kept)
    g = relu_grad_py(relu_py(x), np.ones(4, np.float32))
    assert g.dtype == np.float32 and g.shape == (3, 4)
    np.testing.assert_array_equal(g, (x > 0) * 1.0)


# The optimizers' NumPy expressions before they were fused: the kernels must give their bits.
def _numpy_steps(kind, p, grads, h):
    p = p.copy()
    s1, s2 = np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        if kind == "momentum":
            s1 *= h["momentum"]
            s1 -= h["lr"] * g
            p += s1
        elif kind in ("adam", "adamw"):
            rate = h["lr"] * math.sqrt(1.0 - 0.999**t) / (1.0 - 0.9**t)
            s1 += (1 - 0.9) * (g - s1)
            s2 += (1 - 0.999) * (g * g - s2)
            p -= rate * s1 / (np.sqrt(s2) + 1e-8)
            if kind == "adamw":
                p *= 1 - rate * 0.1
        elif kind == "rmsprop":
            s1 *= h["alpha"]
            s1 += (1 - h["alpha"]) * (g * g)
            p -= h["lr"] * (g / (np.sqrt(s1) + h["eps"]))
        else:
            s1 += g * g
            p -= h["lr"] * (g / (np.sqrt(s1) + h["eps"]))
    return p, s1, s2


def _kernel_steps(kind, p, grads, h):
    p = p.copy()
    s1, s2 = np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        if kind == "momentum":
            momentum_update(p, s1, g, h["lr"], h["momentum"])
        elif kind in ("adam", "adamw"):
            rate = h["lr"] * math.sqrt(1.0 - 0.999**t) / (1.0 - 0.9**t)
            shrink = 1 - rate * 0.1 if kind == "adamw" else 1.0
            adam_update(p, s1, s2, g, rate, 0.9, 0.999, shrink)
        elif kind == "rmsprop":
            rmsprop_update(p, s1, g, h["lr"], h["alpha"], h["eps"])
        else:
            adagrad_update(p, s1, g, h["lr"], h["eps"])
    return p, s1, s2


_SETTINGS = {"lr": 0.0123, "momentum": 0.9, "alpha": 0.99, "eps": 1e-8}


@pytest.mark.parametrize("kind", ["momentum", "adam", "adamw", "rmsprop", "adagrad"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(1,), (3, 5), (70, 41)])
def test_optimizer_kernels_give_the_numpy_expressions_bits(kind, dtype, shape):
    rng = np.random.default_rng(11)
    p = rng.normal(size=shape).astype(dtype)
    grads = [rng.normal(size=shape).astype(dtype) for _ in range(4)]
    grads.append(np.zeros(shape, dtype))  # v's and s's square roots of what was summed
    got = _kernel_steps(kind, p, grads, _SETTINGS)
    expected = _numpy_steps(kind, p, grads, _SETTINGS)
    for a, b in zip(got, expected):
        assert a.dtype == dtype
        np.testing.assert_array_equal(_bits(a), _bits(b))


def test_optimizer_kernels_convert_the_gradient_and_check_the_rest():
    p = np.ones((2, 3))
    v = np.zeros_like(p)
    g = np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))  # other dtype, layout
    momentum_update(p, v, g, 0.5, 0.0)
    np.testing.assert_array_equal(v, -0.5 * np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(p, 1 - 0.5 * np.arange(6.0).reshape(2, 3))
    ro = np.ones(3)
    ro.flags.writeable = False
    with pytest.raises(TypeError, match="writable C-contiguous float32 or float64"):
        momentum_update(ro, np.zeros(3), np.ones(3), 0.1, 0.9)
    with pytest.raises(TypeError, match="writable C-contiguous float32 or float64"):
        adagrad_update(np.ones((3, 4)).T, np.zeros((4, 3)), np.ones((4, 3)), 0.1, 1e-10)
    with pytest.raises(TypeError, match="float64"):
        adam_update(np.ones(3), np.zeros(3, np.float32), np.zeros(3), np.ones(3), 0.1, 0.9, 0.99)
    with pytest.raises(TypeError, match="size"):
        rmsprop_update(np.ones(3), np.zeros(4), np.ones(3), 0.1, 0.9, 1e-8)
    with pytest.raises(ValueError, match="gradient has 4 elements"):
        adagrad_update(np.ones(3), np.zeros(3), np.ones(4), 0.1, 1e-10)
    with pytest.raises(TypeError, match="float32 or float64"):
        momentum_update(np.ones(3, np.int64), np.zeros(3, np.int64), np.ones(3), 0.1, 0.9)


# --- the cache of large buffers ----------------------------------------------------------


DEFAULT_LIMIT = buffer_cache()[2]  # the bound this machine gets, restored after each test


def _big(dtype=np.float64, rows=256, seed=0):
    return np.random.default_rng(seed).normal(size=(rows, 512)).astype(dtype)  # >= 256 KiB


def test_a_freed_large_buffer_serves_the_next_array_of_its_size():
    buffer_cache(DEFAULT_LIMIT)
    x = _big()
    y = relu_py(x)
    assert type(y.base).__name__ == "_Buffer" and not y.flags.owndata
    assert y.flags.c_contiguous and y.flags.writeable and y.ctypes.data % 64 == 0
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    where = y.ctypes.data
    blocks, held, _ = buffer_cache()
    del y
    assert buffer_cache()[:2] == (blocks + 1, held + x.nbytes)
    z = relu_py(-x)
    assert z.ctypes.data == where
    np.testing.assert_array_equal(z, np.maximum(-x, 0))
    small = relu_py(x[:8])  # under 256 KiB: NumPy's own memory
    assert small.base is None and small.flags.owndata


def test_a_view_keeps_its_buffer_out_of_the_cache():
    x = _big()
    y = relu_py(x)
    v = y[::2, 1:]
    expected = np.maximum(x, 0)[::2, 1:]
    del y
    for k in range(3):  # arrays of the same size now must not get v's memory
        w = relu_py(_big(seed=k + 1))
        w[...] = -7.0
        np.testing.assert_array_equal(v, expected)
        del w


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_products_into_the_cache_are_numpys_bits(dtype):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(300, 257)).astype(dtype)
    b = rng.normal(size=(257, 400)).astype(dtype)
    for left, right in ((a, b), (b.T, a.T), (a[:, :200], b[:200]), (np.asfortranarray(a), b)):
        got = matmul_py(left, right)
        assert type(got.base).__name__ == "_Buffer"
        np.testing.assert_array_equal(got, np.matmul(left, right))
    # what the cache does not take goes to NumPy, with NumPy's answer or error
    swapped = a.astype(a.dtype.newbyteorder())
    np.testing.assert_array_equal(matmul_py(swapped, b), np.matmul(swapped, b))
    mixed = matmul_py(a, b.astype(np.float16))
    assert mixed.dtype == np.result_type(a, np.float16)
    with pytest.raises(ValueError, match="matmul"):
        matmul_py(a, a)


# ---------------------------------------------------------------- products in the seed's order


def _go_matmul(a, b):
    """The Go library's loop: p = p + a[i][k] * b[k][j] for k ascending, from p = +0, each
    product rounded and then added (NumPy's elementwise operations are IEEE's, on any CPU)."""
    c = np.zeros((a.shape[0], b.shape[1]), a.dtype)
    for k in range(a.shape[1]):
        c = c + a[:, k : k + 1] * b[k : k + 1, :]
    return c


def _same_bits(got, expected):
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes()


@pytest.fixture(params=[0, 1, 2], ids=["baseline", "avx2", "avx512"])
def gemm_level(request):
    """Each vector width gemm.h has on this CPU (the same bits on each), then as it was."""
    limit, was = kernels.seed_order()
    if kernels.seed_order(level=request.param)[1] != request.param:
        kernels.seed_order(level=was)
        pytest.skip("this CPU does not have it")
    try:
        yield request.param
    finally:
        kernels.seed_order(limit=limit, level=was)


def _layouts(a, b):
    """The product's operands as C and Fortran arrays, transposed copies, reversed views
    and strided slices (the same values)."""
    yield a, b
    yield np.asfortranarray(a), np.asfortranarray(b)
    yield np.ascontiguousarray(a.T).T, np.ascontiguousarray(b.T).T
    yield a[::-1][::-1], b[:, ::-1][:, ::-1]
    wide_a = np.zeros((a.shape[0] * 2, a.shape[1] * 3), a.dtype)
    wide_a[::2, ::3] = a
    wide_b = np.zeros((b.shape[0] * 3, b.shape[1] * 2), b.dtype)
    wide_b[::3, ::2] = b
    yield wide_a[::2, ::3], wide_b[::3, ::2]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "m, depth, n",
    [
        (1, 3, 5),
        (3, 1, 2),
        (7, 13, 9),
        (30, 10, 100),
        (33, 17, 41),
        (4, 8, 16),
        (9, 5, 70),
        (5, 0, 4),
        (0, 3, 4),
        (3, 4, 0),
        (1, 1, 1),
        (40, 30, 1),
        (1, 200, 1),
        (6, 7, 3),
        (70, 2, 9),
    ],
)
def test_small_products_are_the_go_loops_bits(gemm_level, m, depth, n, dtype):
    rng = np.random.default_rng(m * 1000 + depth * 10 + n)
    a = rng.normal(size=(m, depth)).astype(dtype)
    b = rng.normal(size=(depth, n)).astype(dtype)
    expected = _go_matmul(a, b)
    for left, right in _layouts(a, b):
        _same_bits(matmul_py(left, right), expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_small_products_keep_the_go_loops_edges(gemm_level, dtype):
    # from p = +0: a sum of one -0 product is +0 (0 + -0); infinities, NaN, overflow and
    # subnormals as the loop makes them
    big = np.finfo(dtype).max
    tiny = np.finfo(dtype).smallest_subnormal
    a = np.array(
        [
            [-0.0, 1.0, 2.0],
            [np.inf, 0.0, 1.0],
            [np.nan, 1.0, 1.0],
            [big, big, -big],
            [tiny, tiny, 1.0],
            [-1.0, -0.0, 0.5],
        ],
        dtype,
    )
    b = np.array([[1.0, -0.0, 3.0], [0.0, 2.0, -1.0], [-0.0, 0.5, 0.25]], dtype)
    got = matmul_py(a, b)
    _same_bits(got, _go_matmul(a, b))
    assert not np.signbit(got[0, 0]) and not np.signbit(got[0, 1])
    assert np.isnan(got[1, 1]) and np.isnan(got[2]).all()
    assert got[3, 0] == big and np.isinf(got[3, 2])


def test_the_go_loop_stops_at_the_limit_and_blas_takes_over():
    limit, level = kernels.seed_order()
    assert limit == 1 << 15
    rng = np.random.default_rng(3)
    a = rng.normal(size=(32, 32))
    at_limit, over = rng.normal(size=(32, 32)), rng.normal(size=(32, 33))
    _same_bits(matmul_py(a, at_limit), _go_matmul(a, at_limit))
    _same_bits(matmul_py(a, over), np.matmul(a, over))
    try:
        assert kernels.seed_order(limit=0) == (0, level)
        _same_bits(matmul_py(a, at_limit), np.matmul(a, at_limit))
        assert kernels.seed_order(limit=1 << 20)[0] == 1 << 20
        _same_bits(matmul_py(a, over), _go_matmul(a, over))
    finally:
        kernels.seed_order(limit=limit)
    for bad, error in ((-1, ValueError), (True, ValueError), (2.5, TypeError), ("8", TypeError)):
        with pytest.raises(error):
            kernels.seed_order(limit=bad)
    assert kernels.seed_order() == (limit, level)


def _go_matmul_stack(a, b):
    """The Go loop over stacks of matrices, NumPy's broadcasting of the leading axes."""
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    c = np.zeros((*batch, a.shape[-2], b.shape[-1]), a.dtype)
    for k in range(a.shape[-1]):
        c = c + a[..., :, k : k + 1] * b[..., k : k + 1, :]
    return c


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "shape_a, shape_b",
    [
        ((2, 3, 40), (40, 5)),
        ((4, 1, 3, 7), (2, 7, 6)),
        ((3, 5), (4, 5, 2)),
        ((5, 2, 3, 4), (1, 4, 3)),
        ((3, 1, 6), (6, 1)),
        ((0, 3, 4), (4, 2)),
        ((2, 3, 4), (2, 4, 0)),
        ((2, 3, 0), (0, 4)),
    ],
)
def test_stacked_products_are_the_go_loops_bits(gemm_level, shape_a, shape_b, dtype):
    # each matrix of a stack in the seed's order, as the 2-D product: the same bits as
    # the batched backward of jacobian and hessian row by row
    rng = np.random.default_rng(len(shape_a) * 10 + len(shape_b))
    a = rng.normal(size=shape_a).astype(dtype)
    b = rng.normal(size=shape_b).astype(dtype)
    expected = _go_matmul_stack(a, b)
    assert expected.shape == np.matmul(a, b).shape
    swapped = np.swapaxes(np.ascontiguousarray(np.swapaxes(a, -1, -2)), -1, -2)
    for left in (a, swapped, a[..., ::-1, :][..., ::-1, :]):
        _same_bits(matmul_py(left, b), expected)
    with pytest.raises(ValueError):
        matmul_py(np.ones((2, 3, 4)), np.ones((3, 4, 2)))


def test_empty_products_return_at_once():
    # no element to compute: no scratch, whatever the depth (a broadcast of 2^57 rows)
    deep = np.broadcast_to(np.ones((1, 1)), (2**57, 1))
    assert matmul_py(np.empty((0, 2**57)), deep).shape == (0, 1)
    _same_bits(matmul_py(np.empty((3, 0)), np.empty((0, 2))), np.zeros((3, 2)))
    assert matmul_py(np.empty((2, 5)), np.empty((5, 0))).shape == (2, 0)


def test_unaligned_operands_keep_the_go_loops_bits():
    rng = np.random.default_rng(8)
    a = rng.normal(size=(3, 40))
    b = rng.normal(size=(40, 5))
    shifted = np.ndarray(a.shape, np.float64, buffer=bytearray(a.nbytes + 1), offset=1)
    shifted[...] = a
    assert not shifted.flags.aligned
    _same_bits(matmul_py(shifted, b), _go_matmul(a, b))


def test_products_into_an_output_are_the_go_loops_bits():
    rng = np.random.default_rng(9)
    a = rng.normal(size=(6, 5))
    b = rng.normal(size=(5, 12))
    expected = _go_matmul(a, b)
    wide = np.full((6, 20), 7.0)
    got = kernels.matmul_into_py(a, b, wide[:, 4:16])
    _same_bits(wide[:, 4:16], expected)
    assert got.base is wide and (wide[:, :4] == 7.0).all() and (wide[:, 16:] == 7.0).all()
    fortran = np.asfortranarray(np.zeros((6, 12)))  # columns not contiguous: through a copy
    kernels.matmul_into_py(a, b, fortran)
    _same_bits(np.ascontiguousarray(fortran), expected)
    square = rng.normal(size=(5, 5))
    overlapping = square.copy()  # out is an operand: the product is made first
    kernels.matmul_into_py(overlapping, square, overlapping)
    _same_bits(overlapping, _go_matmul(square, square))
    with pytest.raises(ValueError):
        kernels.matmul_into_py(a, b, np.zeros((6, 11)))


def test_a_bad_level_changes_nothing():
    before = kernels.seed_order()
    with pytest.raises(TypeError):
        kernels.seed_order(limit=100, level="x")
    assert kernels.seed_order() == before


def test_what_the_go_loop_does_not_take_goes_to_numpy():
    a = np.arange(6.0).reshape(2, 3)
    b = np.arange(12.0).reshape(3, 4)
    for left, right in (
        (a.astype(">f8"), b),  # big-endian
        (a.astype(np.float32), b),  # mixed types
        (a.astype(np.int64), b.astype(np.int64)),
        (a.view(np.matrix), b),  # a subclass
        (a[None], b),  # batched
    ):
        got = matmul_py(left, right)
        expected = np.matmul(left, right)
        assert type(got) is type(expected) and got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="matmul"):
        matmul_py(a, a)


def test_layers_and_their_gradients_are_the_go_loops_bits():
    # linear's forward and both gradients (gy @ w.T, x.T @ gy) go through the same loop
    rng = np.random.default_rng(5)
    x = ag.Variable(rng.normal(size=(6, 4)))
    w = ag.Variable(rng.normal(size=(4, 3)))
    y = F.linear(x, w)
    gy = rng.normal(size=(6, 3))
    y.grad = ag.Variable(gy)
    y.backward()
    _same_bits(y.data, _go_matmul(x.data, w.data))
    _same_bits(x.grad.data, _go_matmul(gy, w.data.T))
    _same_bits(w.grad.data, _go_matmul(x.data.T, gy))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.complex64, np.bool_])
def test_empty_vector_is_a_cached_1d_array_of_its_dtype(dtype):
    n = (1 << 19) // np.dtype(dtype).itemsize  # 512 KiB
    v = empty_vector(n, dtype)
    assert v.shape == (n,) and v.dtype == dtype and v.flags.c_contiguous and v.flags.writeable
    assert type(v.base).__name__ == "_Buffer" and v.ctypes.data % 64 == 0
    where = v.ctypes.data
    v[...] = 1
    del v
    w = empty_vector(n, np.dtype(dtype))  # the freed buffer, for the next vector of its size
    assert w.ctypes.data == where
    small = empty_vector(3, dtype)  # under 256 KiB: NumPy's own
    assert small.shape == (3,) and small.base is None
    assert empty_vector(0, dtype).shape == (0,)


def test_empty_vector_refuses_what_it_cannot_make():
    for dtype in (">f8" if np.little_endian else "<f8", object, "U3", [("a", "f8")]):
        with pytest.raises(ValueError, match="native-order number type"):
            empty_vector(10, dtype)
    with pytest.raises(ValueError, match="n must be >= 0"):
        empty_vector(-1, np.float64)
    with pytest.raises(TypeError):
        empty_vector(10, "not a dtype")
    for count in (40000.9, -0.5, np.float64(3.0), True, "3"):  # truncated before: a TypeError
        with pytest.raises(TypeError):
            empty_vector(count, np.float64)
    assert empty_vector(np.int64(5), np.float64).shape == (5,)


def test_the_default_bound_follows_the_machines_memory():
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert DEFAULT_LIMIT == min(256 << 20, memory // 64)


def test_a_cached_array_made_read_only_can_be_made_writable_again():
    y = relu_py(_big())
    y.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        y[0, 0] = 1.0
    y.flags.writeable = True  # NumPy asks the base (the buffer) for writable memory
    y[0, 0] = -3.0
    assert y[0, 0] == -3.0
    view = memoryview(y.base)  # the buffer's bytes, writable, keep it alive
    assert view.nbytes == y.nbytes and not view.readonly and view.format == "B"
    del y
    assert np.frombuffer(view, np.float64)[0] == -3.0
    view.release()


def test_the_bound_and_turning_the_cache_off():
    try:
        buffer_cache(0)
        assert buffer_cache() == (0, 0, 0)
        y = relu_py(_big())  # made as a plain NumPy array when off
        assert y.base is None
        buffer_cache(3 * _big().nbytes)
        ys = [relu_py(_big(seed=k)) for k in range(5)]
        del ys
        blocks, held, limit = buffer_cache()
        assert (blocks, held) == (3, 3 * _big().nbytes) and limit == held
        buffer_cache(np.int64(3 * _big().nbytes))  # a NumPy integer is a number too
        assert buffer_cache()[2] == 3 * _big().nbytes
        for bad in (-1, 1.5, True, "1", 2**64, np.bool_(True)):
            with pytest.raises(ValueError, match="number of bytes"):
                buffer_cache(bad)
    finally:
        buffer_cache(DEFAULT_LIMIT)


def test_tracemalloc_counts_the_arrays_in_use():
    import tracemalloc

    x = _big()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        y = relu_py(x)
        assert tracemalloc.get_traced_memory()[0] - before >= x.nbytes
        del y
        assert tracemalloc.get_traced_memory()[0] - before < 4096
    finally:
        tracemalloc.stop()


def test_threads_sharing_the_cache():
    import threading

    errors = []

    def work(seed):
        try:
            for k in range(50):
                x = _big(rows=128 + 64 * (k % 3), seed=seed)
                y = relu_py(x)
                g = relu_grad_py(y, x)
                p = matmul_py(y.T[:64], g)
                np.testing.assert_array_equal(y, np.maximum(x, 0))
                np.testing.assert_array_equal(g, x * (y > 0))
                np.testing.assert_array_equal(p, np.matmul(y.T[:64], g))
        except Exception as e:  # reported after the join
            errors.append(e)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


# ---------------------------------------------------------------------------- tanh and sigmoid four at a time


def _edges(dtype):
    """Arguments where the branches of Go's tanh meet, or where arithmetic is odd."""
    tiny = np.finfo(dtype).smallest_subnormal
    edges = [
        0.0,
        -0.0,
        0.625,
        -0.625,
        np.nextafter(0.625, 0),
        44.014845965556525,
        np.nextafter(44.014845965556525, 50),
        88.02969193111305,
        1e-300,
        tiny,
        -tiny,
        1.0,
        -1.0,
        2.0,
        1e300,
        -1e300,
        np.inf,
        -np.inf,
        np.nan,
        0.3,
        20.0,
        -20.0,
    ]
    return np.array(edges, dtype=np.float64).astype(dtype)


# exp(x) where glibc's FMA build (the one glibc picks on CPUs with FMA) and its build
# without FMA differ in the last bit: the vector path reproduces the first
FMA_EXP = {
    1.7659999999999156: 5.8474168522036054,
    2.0219999999998874: 7.5534166702343901,
    2.715999999999811: 15.11972223678754,
}


def _simd_expected():
    """Where the vector path must be on: x86-64 Linux, a CPU with AVX2 and FMA, and a C
    library whose exp is glibc's FMA build (with another exp the check at import turns
    it off, rightly: then both paths are the scalar one)."""
    if platform.machine() != "x86_64" or platform.system() != "Linux":
        return False
    try:
        with open("/proc/cpuinfo") as f:
            flags = next(line for line in f if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return False
    return "avx2" in flags and "fma" in flags and all(math.exp(x) == y for x, y in FMA_EXP.items())


@pytest.fixture
def both_paths():
    """Run the test body's function with the vector path off, then as it was."""
    was = kernels.simd()

    def run(fn):
        kernels.simd(False)
        try:
            slow = fn()
        finally:
            kernels.simd(was)
        return slow, fn()

    return run


@pytest.mark.skipif(not _simd_expected(), reason="needs x86-64 Linux, AVX2, FMA, glibc's exp")
def test_the_vector_path_is_on_where_the_cpu_has_it():
    # ag_simd_setup keeps it only if it gives the C library's exp on 40,960 arguments
    # and the scalar tanh on 4,096: a vector exp that drifted from glibc's would turn it
    # off, and the bitwise tests below would then compare the scalar path with itself
    assert kernels.simd() is True
    assert kernels.simd(False) is False
    assert kernels.simd(True) is True


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fn", [F.tanh, F.sigmoid], ids=["tanh", "sigmoid"])
def test_tanh_and_sigmoid_have_the_same_bits_four_at_a_time(both_paths, fn, dtype):
    rng = np.random.default_rng(7)
    x = np.concatenate(
        [
            _edges(dtype),
            (rng.standard_normal(40_001) * 3).astype(dtype),  # not a multiple of 4
            (rng.uniform(-90, 90, 10_000)).astype(dtype),
            (rng.uniform(-0.7, 0.7, 10_000)).astype(dtype),
        ]
    )
    slow, fast = both_paths(lambda: fn(x).data)
    assert fast.dtype == dtype
    np.testing.assert_array_equal(np.isnan(slow), np.isnan(fast))
    ok = ~np.isnan(slow)
    assert (slow[ok].view(f"u{slow.itemsize}") == fast[ok].view(f"u{fast.itemsize}")).all()
    # and the values: Go's tanh is within 2 ulp of the true one
    ref = np.tanh(x.astype(np.float64)) if fn is F.tanh else None
    if ref is not None:
        np.testing.assert_allclose(fast[ok], ref[ok], rtol=4 * np.finfo(dtype).eps, atol=0)
    if fn is F.tanh:  # tanh(-0) keeps the sign of zero
        assert fast[0] == 0.0 and math.copysign(1.0, fast[1]) == -1.0


def _c_exp(v):
    """The C library's exp (CPython's math.exp), inf where it overflows."""
    try:
        return math.exp(v)
    except OverflowError:
        return math.inf


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exp_over_arrays_is_the_c_librarys_on_both_paths(both_paths, dtype):
    # four at a time where glibc's main path runs (2^-54 <= |x| < 512), the C library's
    # exp one lane at a time elsewhere (tiny, huge, NaN, overflow, subnormal results)
    rng = np.random.default_rng(11)
    edges = [
        0.0,
        -0.0,
        math.inf,
        -math.inf,
        math.nan,
        2.0**-54,
        -(2.0**-54),
        2.0**-55,
        1e-300,
        511.99999999999994,
        -511.99999999999994,
        512.0,
        -512.0,
        709.78,
        709.8,
        -708.5,
        -745.1,
        -745.2,
        1.0,
        -1.0,
        2.0,
        -2.0,
        -4.0,
    ]
    x = np.concatenate(
        [
            np.array(edges),
            rng.standard_normal(40_001) * 5,  # not a multiple of 4
            rng.uniform(-800, 800, 20_000),
            rng.uniform(-1e-8, 1e-8, 1_000),
        ]
    ).astype(dtype)
    slow, fast = both_paths(lambda: F.exp(x).data)
    with np.errstate(over="ignore"):
        # float32 as Go's float32(math.Exp(x)): in double, rounded once
        expected = np.array([_c_exp(float(v)) for v in x]).astype(dtype)
    for got in (slow, fast):
        assert got.dtype == dtype
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
        ok = ~np.isnan(expected)
        assert got[ok].tobytes() == expected[ok].tobytes()


def test_odd_arrays_four_at_a_time(both_paths):
    x = np.random.default_rng(3).standard_normal((7, 9)) * 4
    frozen = x.copy()
    frozen.flags.writeable = False
    views = [
        x[:, ::2],
        x.T,
        x[1:, 1:],
        x[:3, :1],
        x[::-1],
        np.asfortranarray(x),
        frozen,
        x.astype(">f8"),
        x.astype(">f4"),
        x[0, 0].reshape(()),
        x[:0],
        x[:, :0],
    ]
    for view in views:
        for fn in (F.tanh, F.sigmoid, F.exp):
            slow, fast = both_paths(lambda v=view, fn=fn: fn(v).data)
            assert fast.shape == view.shape
            np.testing.assert_array_equal(slow, fast)
            native = np.ascontiguousarray(view, dtype=view.dtype.newbyteorder("="))
            np.testing.assert_array_equal(fast, fn(native).data)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lstm_gates_have_the_same_bits_four_at_a_time(both_paths, dtype):
    from autograd._core.kernels import lstm_gates, lstm_gates_cat

    rng = np.random.default_rng(11)
    a = [(rng.standard_normal((5, 13)) * 3).astype(dtype) for _ in range(4)]
    c0 = rng.standard_normal((5, 13)).astype(dtype)
    for c in (c0, None):
        slow, fast = both_paths(lambda c=c: lstm_gates(*a, c))
        for s, f in zip([slow[0], slow[1], *slow[2]], [fast[0], fast[1], *fast[2]]):
            np.testing.assert_array_equal(s, f)
        cat = np.concatenate(a, axis=1)
        slow, fast = both_paths(lambda c=c: lstm_gates_cat(cat, c))
        for s, f in zip([slow[0], slow[1], *slow[2]], [fast[0], fast[1], *fast[2]]):
            np.testing.assert_array_equal(s, f)
        # the joined form computes what the separate one does
        np.testing.assert_array_equal(fast[0], lstm_gates(*a, c)[0])
