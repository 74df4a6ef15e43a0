"""Property-based tests (Hypothesis): for every differentiable function, random
shapes (0-d, size-1, broadcastable pairs), dtypes and values. Gradients agree
with central differences, second derivatives with differences of first
derivatives, float32 stays float32, and no input is mutated."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
import autograd.functions as F
from helpers import check_first, check_second

SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

UNARY = {
    "neg": (F.neg, (-3, 3)), "square": (F.square, (-3, 3)), "exp": (F.exp, (-3, 3)),
    "log": (F.log, (0.2, 5)), "sin": (F.sin, (-3, 3)), "cos": (F.cos, (-3, 3)),
    "tanh": (F.tanh, (-3, 3)), "sigmoid": (F.sigmoid, (-5, 5)), "gelu": (F.gelu, (-3, 3)),
    "relu": (F.relu, (0.1, 3)), "pow3": (lambda x: x ** 3, (-2, 2)),
    "pow_half": (lambda x: x ** 0.5, (0.2, 4)), "rdiv": (lambda x: 2.0 / x, (0.5, 3)),
    "sum": (F.sum, (-3, 3)), "mean": (F.mean, (-3, 3)), "variance": (F.variance, (-3, 3)),
    "softmax": (F.softmax, (-3, 3)), "log_softmax": (F.log_softmax, (-3, 3)),
    "transpose": (F.transpose, (-3, 3)), "clip": (lambda x: F.clip(x, -1.0, 1.0), (-0.9, 0.9)),
}
def _common(a, b):
    """Both broadcast to one shape: the losses compare equal shapes only."""
    shape = np.broadcast_shapes(a.shape, b.shape)
    return F.broadcast_to(a, shape), F.broadcast_to(b, shape)


BINARY = {
    "add": (F.add, (-3, 3), (-3, 3)), "sub": (F.sub, (-3, 3), (-3, 3)),
    "mul": (F.mul, (-3, 3), (-3, 3)), "div": (F.div, (-3, 3), (0.5, 3)),
    "pow": (F.pow, (0.5, 2), (-2, 2)),
    "mse": (lambda a, b: F.mean_squared_error(*_common(a, b)), (-3, 3), (-3, 3)),
}


def arrays(shape, bounds, dtype=np.float64):
    lo, hi = bounds
    if dtype == np.float32:
        # bounds float32 can hold, rounded inward
        lo32, hi32 = np.float32(lo), np.float32(hi)
        lo = float(lo32 if lo32 >= lo else np.nextafter(lo32, np.float32(np.inf)))
        hi = float(hi32 if hi32 <= hi else np.nextafter(hi32, np.float32(-np.inf)))
    width = 64 if dtype == np.float64 else 32
    return hnp.arrays(dtype, shape, elements=st.floats(lo, hi, allow_nan=False, width=width))


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


def needs_axis(name, shape):
    return name in ("softmax", "log_softmax") and len(shape) == 0


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(data=st.data())
def test_unary_first_and_second_order(name, data):
    f, bounds = UNARY[name]
    shape = data.draw(shapes)
    if needs_axis(name, shape):
        shape = (2,)
    x = data.draw(arrays(shape, bounds))
    rng = np.random.default_rng(0)
    check_first(f, [x], rng, atol=1e-5, rtol=1e-4)
    check_second(f, [x], rng, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(data=st.data())
def test_binary_broadcasting_first_and_second_order(name, data):
    f, b0, b1 = BINARY[name]
    (s0, s1), _ = data.draw(pairs)
    a = data.draw(arrays(s0, b0))
    b = data.draw(arrays(s1, b1))
    rng = np.random.default_rng(1)
    check_first(f, [a, b], rng, atol=1e-5, rtol=1e-4)
    check_second(f, [a, b], rng, atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("name", sorted(UNARY) + sorted(BINARY))
@SETTINGS
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_dtype_kept_and_inputs_not_mutated(name, data, dtype):
    if name in UNARY:
        f, bounds = UNARY[name]
        shape = data.draw(shapes)
        if needs_axis(name, shape):
            shape = (2,)
        inputs = [data.draw(arrays(shape, bounds, dtype))]
    else:
        f, b0, b1 = BINARY[name]
        (s0, s1), _ = data.draw(pairs)
        inputs = [data.draw(arrays(s0, b0, dtype)), data.draw(arrays(s1, b1, dtype))]
    before = [a.copy() for a in inputs]
    xs = [ag.Variable(a) for a in inputs]
    y = f(*xs)
    assert y.dtype == dtype
    F.sum(y).backward(create_graph=True)
    for x, a, b in zip(xs, inputs, before):
        np.testing.assert_array_equal(a, b)
        assert x.data is a
        assert x.grad.dtype == dtype and x.grad.shape == a.shape


@SETTINGS
@given(data=st.data())
def test_matmul_random_shapes(data):
    n, k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    batch = data.draw(st.sampled_from([(), (2,), (1, 2)]))
    a = data.draw(arrays(batch + (n, k), (-2, 2)))
    b = data.draw(arrays((k, m), (-2, 2)))
    rng = np.random.default_rng(2)
    check_first(F.matmul, [a, b], rng)
    check_second(F.matmul, [a, b], rng)


@SETTINGS
@given(data=st.data())
def test_reductions_over_random_axes(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    keepdims = data.draw(st.booleans())
    x = data.draw(arrays(shape, (-3, 3)))
    rng = np.random.default_rng(3)
    for f in (F.sum, F.mean, F.variance):
        g = lambda v, f=f: f(v, axis=axis, keepdims=keepdims)
        np.testing.assert_allclose(g(ag.Variable(x)).data,
                                   {F.sum: np.sum, F.mean: np.mean, F.variance: np.var}[f](
                                       x, axis=axis, keepdims=keepdims), rtol=1e-12, atol=1e-12)
        check_first(g, [x], rng)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3))
def test_empty_and_small_arrays_do_not_crash(shape):
    x = ag.Variable(np.zeros(shape))
    y = F.sum(F.tanh(x) * 2.0 + F.exp(x))
    y.backward()
    assert x.grad.shape == shape


@SETTINGS
@given(special=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_nan_and_inf_propagate(special):
    x = ag.Variable(np.array([special, 1.0]))
    with np.errstate(all="ignore"):
        y = F.sum(x * 2.0)
        y.backward()
    assert np.isnan(y.data) or np.isinf(y.data)
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])
