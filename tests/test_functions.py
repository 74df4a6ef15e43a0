"""Every differentiable function: forward against NumPy, first and second
derivatives against central differences (float64, broadcasting shapes), float32."""

import numpy as np
import pytest
from helpers import check_first, check_second

import autograd as ag
import autograd.functions as F


def sigmoid_np(x):
    return 1 / (1 + np.exp(-x))


def gelu_np(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def softmax_np(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def split_parts(x):
    a, b = F.split(x, [1, 2], axis=1)
    return F.concat([a * 2.0, b**2.0], axis=1)


def split_np(x):
    return np.concatenate([x[:, :1] * 2.0, x[:, 1:] ** 2.0], axis=1)


LABELS = np.array([2, 0, -100, 1])


def sce_np(x, t=LABELS):
    logp = np.log(softmax_np(x, 1))
    keep = t != -100
    return -logp[np.nonzero(keep)[0], t[keep]].mean()


WHERE = np.array([[True, False, True], [False, False, True]])
TARGETS = np.array([[0.0, 1.0, 0.3], [1.0, 0.0, 0.5]])
HUBER_T = np.array([[0.1, -2.0, 0.5], [2.5, 0.0, -0.3]])


def bce_np(p, t=TARGETS):
    return -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean()


def huber_np(y, t, delta):
    d = np.abs(y - t)
    return np.where(d <= delta, 0.5 * d**2, delta * (d - 0.5 * delta)).mean()


def pos(*shape):
    return ("pos", shape)


# name: (function, numpy reference, input shapes; ("pos", shape) for positive inputs)
CASES = {
    "add": (F.add, np.add, [(2, 3), (3,)]),
    "add_scalar_broadcast": (F.add, np.add, [(), (2, 2)]),
    "sub": (F.sub, np.subtract, [(2, 1), (1, 3)]),
    "mul": (F.mul, np.multiply, [(2, 3), (2, 1)]),
    "div": (F.div, np.divide, [(2, 3), pos(3)]),
    "neg": (F.neg, np.negative, [(2, 3)]),
    "pow_int": (lambda x: F.pow(x, 3), lambda x: x**3, [(2, 3)]),
    "pow_frac": (lambda x: F.pow(x, 2.5), lambda x: x**2.5, [pos(2, 3)]),
    "pow_negative": (lambda x: F.pow(x, -1.5), lambda x: x**-1.5, [pos(3)]),
    "pow_var": (F.pow, np.power, [pos(2, 3), (3,)]),
    "rpow": (lambda x: 2.0**x, lambda x: 2.0**x, [(2, 3)]),
    "square": (F.square, np.square, [(2, 3)]),
    "exp": (F.exp, np.exp, [(2, 3)]),
    "log": (F.log, np.log, [pos(2, 3)]),
    "sin": (F.sin, np.sin, [(2, 3)]),
    "cos": (F.cos, np.cos, [(2, 3)]),
    "tanh": (F.tanh, np.tanh, [(2, 3)]),
    "add_const": (lambda x: x + 2.0, lambda x: x + 2.0, [(2, 3)]),
    "rsub_const": (lambda x: 2.0 - x, lambda x: 2.0 - x, [(2, 3)]),
    "sub_const": (lambda x: x - 2.0, lambda x: x - 2.0, [(2, 3)]),
    "mul_const": (lambda x: 3.0 * x, lambda x: 3.0 * x, [(2, 3)]),
    "div_const": (lambda x: x / 4.0, lambda x: x / 4.0, [(2, 3)]),
    "rdiv_const": (lambda x: 2.0 / x, lambda x: 2.0 / x, [pos(2, 3)]),
    "array_operand": (
        lambda x: np.arange(3.0) * x - np.ones(3) / (x + 3.0),
        lambda x: np.arange(3.0) * x - np.ones(3) / (x + 3.0),
        [(2, 3)],
    ),
    "reshape": (lambda x: F.reshape(x, (3, 2)), lambda x: x.reshape(3, 2), [(2, 3)]),
    "transpose": (lambda x: F.transpose(x, (1, 0, 2)), lambda x: x.transpose(1, 0, 2), [(2, 3, 4)]),
    "transpose_default": (F.transpose, np.transpose, [(2, 3)]),
    "broadcast_to": (
        lambda x: F.broadcast_to(x, (2, 3)),
        lambda x: np.broadcast_to(x, (2, 3)),
        [(3,)],
    ),
    "sum_to": (lambda x: F.sum_to(x, (1, 3)), lambda x: x.sum(0, keepdims=True), [(2, 3)]),
    "squeeze": (lambda x: F.squeeze(x, 1), lambda x: x.squeeze(1), [(2, 1, 3)]),
    "unsqueeze": (lambda x: F.unsqueeze(x, 0), lambda x: x[None], [(2, 3)]),
    "concat": (
        lambda a, b: F.concat([a, b], axis=0),
        lambda a, b: np.concatenate([a, b]),
        [(2, 3), (1, 3)],
    ),
    "split": (split_parts, split_np, [(2, 3)]),
    "get_item_slice": (lambda x: x[1:, ::2], lambda x: x[1:, ::2], [(3, 4)]),
    "get_item_repeat": (lambda x: F.get_item(x, [0, 0, 2]), lambda x: x[[0, 0, 2]], [(3, 2)]),
    "get_item_int": (lambda x: x[1], lambda x: x[1], [(3, 2)]),
    "sum_all": (F.sum, np.sum, [(2, 3)]),
    "sum_axis": (
        lambda x: F.sum(x, axis=1, keepdims=True),
        lambda x: x.sum(1, keepdims=True),
        [(2, 3)],
    ),
    "sum_axes": (lambda x: F.sum(x, axis=(0, 2)), lambda x: x.sum((0, 2)), [(2, 3, 4)]),
    "mean": (lambda x: F.mean(x, axis=0), lambda x: x.mean(0), [(2, 3)]),
    "variance": (lambda x: F.variance(x, axis=1), lambda x: x.var(1), [(2, 3)]),
    "max": (lambda x: F.max(x, axis=1), lambda x: x.max(1), [(2, 3)]),
    "min_all": (F.min, np.min, [(2, 3)]),
    "matmul": (F.matmul, np.matmul, [(2, 3), (3, 4)]),
    "matmul_batched": (F.matmul, np.matmul, [(2, 3, 4), (2, 4, 2)]),
    "matmul_broadcast": (F.matmul, np.matmul, [(2, 3, 4), (4, 2)]),
    "matmul_vector": (F.matmul, np.matmul, [(3,), (3, 2)]),
    "matmul_dot": (F.matmul, np.matmul, [(3,), (3,)]),
    "matmul_op": (lambda a, b: a @ b, np.matmul, [(2, 3), (3,)]),
    "linear": (F.linear, lambda x, w, b: x @ w + b, [(4, 3), (3, 2), (1, 2)]),
    "linear_nobias": (F.linear, lambda x, w: x @ w, [(4, 3), (3, 2)]),
    "linear_batched": (F.linear, lambda x, w, b: x @ w + b, [(2, 4, 3), (3, 2), (2,)]),
    "clip": (lambda x: F.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), [(3, 4)]),
    "mask_fill": (
        lambda x: F.mask_fill(x, np.array([True, False, True]), -1.0),
        lambda x: np.where([True, False, True], -1.0, x),
        [(2, 3)],
    ),
    "sigmoid": (F.sigmoid, sigmoid_np, [(2, 3)]),
    "relu": (F.relu, lambda x: np.maximum(x, 0), [(2, 3)]),
    "gelu": (F.gelu, gelu_np, [(2, 3)]),
    "softmax": (F.softmax, softmax_np, [(2, 3)]),
    "softmax_axis0": (lambda x: F.softmax(x, axis=0), lambda x: softmax_np(x, 0), [(2, 3)]),
    "log_softmax": (F.log_softmax, lambda x: np.log(softmax_np(x)), [(2, 3)]),
    "mean_squared_error": (
        F.mean_squared_error,
        lambda y, t: ((y - t) ** 2).mean(),
        [(4, 1), (4, 1)],
    ),
    "softmax_cross_entropy": (lambda x: F.softmax_cross_entropy(x, LABELS), sce_np, [(4, 3)]),
    # the functions beyond the seed
    "abs": (F.abs, np.abs, [(2, 3)]),
    "sqrt": (F.sqrt, np.sqrt, [pos(2, 3)]),
    "maximum": (F.maximum, np.maximum, [(2, 3), (3,)]),
    "minimum": (F.minimum, np.minimum, [(2, 1), (1, 3)]),
    "maximum_number": (lambda x: F.maximum(x, 0.25), lambda x: np.maximum(x, 0.25), [(2, 3)]),
    "where": (
        lambda a, b: F.where(WHERE, a, b),
        lambda a, b: np.where(WHERE, a, b),
        [(2, 3), (3,)],
    ),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x), [(2, 3)]),
    "softplus": (F.softplus, lambda x: np.log1p(np.exp(x)), [(2, 3)]),
    "log1p": (F.log1p, np.log1p, [pos(2, 3)]),
    "stack": (
        lambda a, b: F.stack([a, b], axis=1),
        lambda a, b: np.stack([a, b], axis=1),
        [(2, 3), (2, 3)],
    ),
    "flatten": (F.flatten, lambda x: x.reshape(2, -1), [(2, 3, 2)]),
    "logsumexp": (F.logsumexp, lambda x: np.log(np.exp(x).sum()), [(2, 3)]),
    "logsumexp_axis": (
        lambda x: F.logsumexp(x, axis=1, keepdims=True),
        lambda x: np.log(np.exp(x).sum(1, keepdims=True)),
        [(2, 3)],
    ),
    "norm": (F.norm, np.linalg.norm, [(2, 3)]),
    "norm_axis": (lambda x: F.norm(x, axis=0), lambda x: np.linalg.norm(x, axis=0), [(2, 3)]),
    "cumsum": (lambda x: F.cumsum(x, 1), lambda x: np.cumsum(x, 1), [(2, 3)]),
    "einsum_matmul": (
        lambda a, b: F.einsum("ij,jk->ik", a, b),
        lambda a, b: a @ b,
        [(2, 3), (3, 4)],
    ),
    "einsum_implicit": (lambda a, b: F.einsum("ij,jk", a, b), lambda a, b: a @ b, [(2, 3), (3, 2)]),
    "einsum_trace": (lambda a: F.einsum("ii", a), np.trace, [(3, 3)]),
    "einsum_diag": (lambda a: F.einsum("ii->i", a), np.diag, [(3, 3)]),
    "einsum_ellipsis": (
        lambda a, b: F.einsum("...ij,...jk->...ik", a, b),
        np.matmul,
        [(2, 2, 3), (3, 2)],
    ),
    "einsum_outer_sum": (
        lambda a, b: F.einsum("i,jk->i", a, b),
        lambda a, b: a * b.sum(),
        [(3,), (2, 2)],
    ),
    "einsum_three": (
        lambda a, b, c: F.einsum("ij,jk,k->i", a, b, c),
        lambda a, b, c: a @ b @ c,
        [(2, 3), (3, 2), (2,)],
    ),
    "binary_cross_entropy": (
        lambda x: F.binary_cross_entropy(F.sigmoid(x), TARGETS),
        lambda x: bce_np(sigmoid_np(x)),
        [(2, 3)],
    ),
    "binary_cross_entropy_with_logits": (
        lambda x: F.binary_cross_entropy_with_logits(x, TARGETS),
        lambda x: bce_np(sigmoid_np(x)),
        [(2, 3)],
    ),
    "huber_loss": (
        lambda y: F.huber_loss(y, HUBER_T, 0.7),
        lambda y: huber_np(y, HUBER_T, 0.7),
        [(2, 3)],
    ),
    "dropout": (
        lambda x: F.dropout(x, 0.4, rng=np.random.default_rng(7)),
        lambda x: x * (np.random.default_rng(7).random(x.shape) > 0.4) / 0.6,
        [(3, 4)],
    ),
}


def make_inputs(shapes, rng, dtype=np.float64):
    out = []
    for s in shapes:
        if isinstance(s, tuple) and s and s[0] == "pos":
            out.append(rng.uniform(0.5, 2.0, size=s[1]).astype(dtype))
        else:
            out.append(rng.uniform(-1.5, 1.5, size=s).astype(dtype))
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_matches_numpy(name):
    f, ref, shapes = CASES[name]
    arrays = make_inputs(shapes, np.random.default_rng(0))
    y = f(*[ag.Variable(a) for a in arrays])
    assert isinstance(y, ag.Variable)
    np.testing.assert_allclose(y.data, ref(*arrays), rtol=1e-12, atol=1e-12)
    assert y.dtype == np.float64


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_derivative(name):
    f, _, shapes = CASES[name]
    rng = np.random.default_rng(1)
    check_first(f, make_inputs(shapes, rng), rng)


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivative(name):
    f, _, shapes = CASES[name]
    rng = np.random.default_rng(2)
    check_second(f, make_inputs(shapes, rng), rng)


# float64 array operands promote the result to float64, as in NumPy
FLOAT32_CASES = sorted(set(CASES) - {"array_operand"})


@pytest.mark.parametrize("name", FLOAT32_CASES)
def test_float32_kept(name):
    f, ref, shapes = CASES[name]
    rng = np.random.default_rng(3)
    arrays = make_inputs(shapes, rng, np.float32)
    xs = [ag.Variable(a) for a in arrays]
    y = f(*xs)
    assert y.dtype == np.float32, y.dtype
    np.testing.assert_allclose(
        y.data, ref(*[a.astype(np.float64) for a in arrays]), rtol=2e-5, atol=2e-6
    )
    F.sum(y).backward()
    x64 = [ag.Variable(a.astype(np.float64)) for a in arrays]
    F.sum(f(*x64)).backward()
    for x, x_ref in zip(xs, x64):
        assert x.grad.dtype == np.float32
        np.testing.assert_allclose(x.grad.data, x_ref.grad.data, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["add", "mul", "exp", "matmul", "linear", "softmax", "sigmoid"])
def test_non_contiguous_and_read_only_inputs(name):
    f, ref, shapes = CASES[name]
    rng = np.random.default_rng(4)
    arrays = []
    for a in make_inputs(shapes, rng):
        if a.ndim == 2:
            a = np.asfortranarray(a)
        big = np.repeat(a[..., None], 2, axis=-1)[..., 0]  # a strided view
        big.flags.writeable = False
        arrays.append(big)
    xs = [ag.Variable(a) for a in arrays]
    y = f(*xs)
    np.testing.assert_allclose(y.data, ref(*arrays), rtol=1e-12)
    F.sum(y).backward()
    check_first(f, [np.array(a) for a in arrays], rng)


def test_scalar_fast_path_matches_array_path():
    """One-element float64 operands take a C-double path; it must agree with NumPy's."""
    rng = np.random.default_rng(5)
    for name in [
        "add",
        "sub",
        "mul",
        "div",
        "exp",
        "log",
        "sin",
        "cos",
        "tanh",
        "sigmoid",
        "pow_int",
        "pow_frac",
        "add_const",
        "rdiv_const",
        "rpow",
    ]:
        f, ref, shapes = CASES[name]
        arrays = [a.reshape(-1)[:1] for a in make_inputs(shapes, rng)]
        y = f(*[ag.Variable(a) for a in arrays])
        np.testing.assert_allclose(y.data, ref(*arrays), rtol=1e-15)


def test_stable_extremes_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = ag.Variable(np.array([-1000.0, 0.0, 1000.0]))
        np.testing.assert_allclose(F.sigmoid(x).data, [0.0, 0.5, 1.0])
        np.testing.assert_allclose(F.tanh(x).data, [-1.0, 0.0, 1.0])
        for v in (-1000.0, 1000.0):
            y = F.sigmoid(ag.variable(v))
            y.backward()
            assert np.isfinite(y.data).all()
        logits = ag.Variable(np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]]))
        np.testing.assert_allclose(F.softmax(logits).data, [[1, 0, 0], [0, 0.5, 0.5]])
        ls = F.log_softmax(logits).data
        assert np.isfinite(ls).all()
        np.testing.assert_allclose(ls[0, :2], [0.0, -1e4])
        loss = F.softmax_cross_entropy(logits, [0, 1])
        loss.backward()
        np.testing.assert_allclose(loss.data, np.log(2) / 2)
        assert np.isfinite(logits.grad.data).all()


def test_softmax_cross_entropy_ignores_label():
    x = np.random.default_rng(6).normal(size=(4, 3))
    v = ag.Variable(x)
    loss = F.softmax_cross_entropy(v, LABELS)
    np.testing.assert_allclose(loss.data, sce_np(x))
    loss.backward()
    np.testing.assert_array_equal(v.grad.data[2], 0.0)
    np.testing.assert_allclose(v.grad.data.sum(axis=1), 0.0, atol=1e-15)


def test_accuracy():
    y = ag.Variable(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]))
    acc = F.accuracy(y, np.array([1, 0, 0]))
    np.testing.assert_allclose(acc.data, 2 / 3)
    assert acc.creator is None


def test_dropout_test_mode_is_identity():
    x = ag.Variable(np.ones((3, 3)))
    with ag.test_mode():
        assert F.dropout(x, 0.5) is x
    y = F.dropout(x, 0.5, rng=np.random.default_rng(0))
    assert set(np.unique(y.data)) <= {0.0, 2.0}


def test_max_shares_gradient_among_ties():
    x = ag.Variable(np.array([1.0, 3.0, 3.0]))
    F.max(x).backward()
    np.testing.assert_allclose(x.grad.data, [0, 0.5, 0.5])


def test_split_unused_output_gets_zero_gradient():
    x = ag.Variable(np.arange(6.0).reshape(2, 3))
    a, b = F.split(x, 3, axis=1)[:2]
    F.sum(a * 2.0).backward()
    np.testing.assert_allclose(x.grad.data, [[2, 0, 0], [2, 0, 0]])


def test_go_pow_matches_seed_rounding():
    """x**4 is computed as Go's math.Pow does, (x*x)*(x*x), not correctly rounded."""
    x = 1.4545454545454546
    y = (ag.variable(x) ** 4.0).item()
    assert y == (x * x) * (x * x)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_keeps_numpys_bits_at_the_edges_both_ways(dtype):
    # signed zeros, NaNs of both signs, infinities: forward as np.maximum(x, 0), backward
    # as gy * (x > 0) (-0.0 where gy < 0, NaN where gy is inf), whichever loop runs
    edges = [-0.0, 0.0, np.nan, -np.nan, np.inf, -np.inf, -1.5, 2.5, -3.0, 4.0]
    gy = np.array([-1, -1, 1, 1, np.inf, np.inf, -2, 3, np.inf, -5], dtype)
    for data in (np.array(edges, dtype), np.array(edges, dtype).reshape(2, 5).T):
        x = ag.Variable(data)
        y = F.relu(x)
        y.grad = ag.Variable(gy.reshape(data.shape).copy())
        with np.errstate(invalid="ignore"):
            y.backward()
            expected = gy.reshape(data.shape) * (data > 0)
        assert y.dtype == dtype and x.grad.dtype == dtype
        for got, want in ((y.data, np.maximum(data, dtype(0))), (x.grad.data, expected)):
            np.testing.assert_array_equal(
                np.ascontiguousarray(got).view(np.uint8), np.ascontiguousarray(want).view(np.uint8)
            )
    # the differentiable backward (create_graph) gives the same gradient, and a second
    # derivative of zeros
    x = ag.Variable(np.array([-1.0, 2.0, 0.0, 3.0], dtype))
    y = F.sum(F.relu(x) * F.relu(x))
    (gx,) = ag.grad(y, [x], create_graph=True)
    np.testing.assert_array_equal(gx.data, np.array([0, 4, 0, 6], dtype))
    (ggx,) = ag.grad(F.sum(gx), [x])
    np.testing.assert_array_equal(ggx.data, np.array([0, 2, 0, 2], dtype))
