"""Neural functions (conv2d, pooling, embedding, layer and batch norm), their kernels
and layers: forward, first and second derivatives against PyTorch at float64 (skipped
without torch) and against central differences always; float32; bad arguments."""

import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from helpers import check_first, check_second

import autograd as ag
import autograd.functions as F
import autograd.layers as L
from autograd._core import nn_kernels as K

try:
    import torch
    import torch.nn.functional as TF

    torch.set_num_threads(1)
except ImportError:  # the PyTorch comparisons are skipped
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

IDS = np.array([[0, 2, 2], [4, 1, 0]])


def distinct(*shape):
    """Values far apart (no ties within the differences' step), for max pooling."""
    return ("distinct", shape)


def bn_train(x, g, b):
    return F.batch_norm(x, g, b, None, None)


def bn_test(x, g, b):
    rm = np.array([0.1, -0.2, 0.3])
    rv = np.array([0.5, 1.5, 2.0])
    with ag.test_mode():
        return F.batch_norm(x, g, b, rm, rv)


def tbn_test(x, g, b):
    rm = torch.tensor([0.1, -0.2, 0.3], dtype=x.dtype)
    rv = torch.tensor([0.5, 1.5, 2.0], dtype=x.dtype)
    return TF.batch_norm(x, rm, rv, g, b, training=False, eps=1e-5)


# name: (ours, PyTorch's (or None), input shapes, second order against PyTorch)
CASES = {
    "conv2d": (
        lambda x, w, b: F.conv2d(x, w, b),
        lambda x, w, b: TF.conv2d(x, w, b),
        [(2, 3, 6, 5), (4, 3, 3, 2), (4,)],
    ),
    "conv2d_stride_pad": (
        lambda x, w, b: F.conv2d(x, w, b, stride=2, pad=1),
        lambda x, w, b: TF.conv2d(x, w, b, stride=2, padding=1),
        [(2, 2, 7, 7), (3, 2, 3, 3), (3,)],
    ),
    "conv2d_pairs_nobias": (
        lambda x, w: F.conv2d(x, w, stride=(1, 2), pad=(2, 0)),
        lambda x, w: TF.conv2d(x, w, stride=(1, 2), padding=(2, 0)),
        [(1, 2, 5, 6), (2, 2, 3, 2)],
    ),
    "conv2d_uncovered_rows": (
        lambda x, w: F.conv2d(x, w, stride=3),
        lambda x, w: TF.conv2d(x, w, stride=3),
        [(1, 1, 8, 7), (2, 1, 2, 2)],
    ),
    "max_pool2d": (
        lambda x: F.max_pool2d(x, 2),
        lambda x: TF.max_pool2d(x, 2),
        [distinct(2, 3, 6, 6)],
    ),
    "max_pool2d_overlap_pad": (
        lambda x: F.max_pool2d(x, 3, stride=2, pad=1),
        lambda x: TF.max_pool2d(x, 3, stride=2, padding=1),
        [distinct(2, 2, 7, 7)],
    ),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2), lambda x: TF.avg_pool2d(x, 2), [(2, 3, 6, 6)]),
    "avg_pool2d_pairs_pad": (
        lambda x: F.avg_pool2d(x, (3, 2), stride=(2, 1), pad=(1, 1)),
        lambda x: TF.avg_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 1)),
        [(2, 2, 7, 6)],
    ),
    "embedding": (
        lambda w: F.embedding(IDS, w),
        lambda w: TF.embedding(torch.tensor(IDS), w),
        [(5, 3)],
    ),
    "layer_norm": (
        lambda x, g, b: F.layer_norm(x, g, b),
        lambda x, g, b: TF.layer_norm(x, (5,), g, b),
        [(4, 5), (5,), (5,)],
    ),
    "layer_norm_2d": (
        lambda x, g, b: F.layer_norm(x, g, b),
        lambda x, g, b: TF.layer_norm(x, (3, 4), g, b),
        [(2, 3, 4), (3, 4), (3, 4)],
    ),
    "batch_norm_2d": (
        bn_train,
        lambda x, g, b: TF.batch_norm(x, None, None, g, b, training=True),
        [(6, 3), (3,), (3,)],
    ),
    "batch_norm_4d": (
        bn_train,
        lambda x, g, b: TF.batch_norm(x, None, None, g, b, training=True),
        [(3, 3, 3, 2), (3,), (3,)],
    ),
    "batch_norm_test_mode": (bn_test, tbn_test, [(4, 3, 2, 2), (3,), (3,)]),
}


def make_inputs(shapes, rng, dtype=np.float64):
    out = []
    for s in shapes:
        if s and s[0] == "distinct":
            size = int(np.prod(s[1]))
            out.append((rng.permutation(size) * 0.05 - size * 0.025).reshape(s[1]).astype(dtype))
        else:
            out.append(rng.uniform(-1.5, 1.5, size=s).astype(dtype))
    return out


def shapes_of(name):
    return [s[1] if s and s[0] == "distinct" else s for s in CASES[name][2]]


def ours(f, arrays, weight, project=None):
    """Forward, gradient of sum(f * weight), and (with ``project``) the gradient of
    sum(grad_i * project_i), computed through create_graph."""
    xs = [ag.Variable(a.copy()) for a in arrays]
    y = f(*xs)
    loss = F.sum(y * weight)
    if project is None:
        loss.backward()
        return y.data, [x.grad.data for x in xs]
    loss.backward(create_graph=True)
    grads = [x.grad for x in xs]
    for x in xs:
        x.cleargrad()
    total = ag.Variable(0.0)
    for g, r in zip(grads, project):
        total = total + F.sum(g * r)
    total.backward()
    return y.data, [np.zeros_like(x.data) if x.grad is None else x.grad.data for x in xs]


def theirs(f, arrays, weight, project=None):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = f(*ts)
    loss = (y * torch.tensor(weight)).sum()
    grads = torch.autograd.grad(loss, ts, create_graph=project is not None)
    if project is None:
        return y.detach().numpy(), [g.numpy() for g in grads]
    total = sum((g * torch.tensor(r)).sum() for g, r in zip(grads, project))
    if not total.requires_grad:  # the gradient does not depend on the inputs
        return y.detach().numpy(), [np.zeros(a.shape) for a in arrays]
    second = torch.autograd.grad(total, ts, allow_unused=True)
    return y.detach().numpy(), [
        np.zeros(a.shape) if g is None else g.numpy() for g, a in zip(second, arrays)
    ]


@needs_torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_and_first_derivative_match_pytorch(name):
    f, tf, _ = CASES[name]
    rng = np.random.default_rng(0)
    arrays = make_inputs(CASES[name][2], rng)
    y_ref = tf(*[torch.tensor(a) for a in arrays]).numpy()
    weight = rng.uniform(0.5, 1.5, size=y_ref.shape)
    y, grads = ours(f, arrays, weight)
    y_t, grads_t = theirs(tf, arrays, weight)
    np.testing.assert_allclose(y, y_t, rtol=1e-12, atol=1e-12)
    for g, gt in zip(grads, grads_t):
        np.testing.assert_allclose(g, gt, rtol=1e-10, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivative_matches_pytorch(name):
    f, tf, _ = CASES[name]
    rng = np.random.default_rng(1)
    arrays = make_inputs(CASES[name][2], rng)
    weight = rng.uniform(0.5, 1.5, size=tf(*[torch.tensor(a) for a in arrays]).shape)
    project = [rng.uniform(0.5, 1.5, size=a.shape) for a in arrays]
    _, second = ours(f, arrays, weight, project)
    _, second_t = theirs(tf, arrays, weight, project)
    for g, gt in zip(second, second_t):
        np.testing.assert_allclose(g, gt, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_derivative_central_differences(name):
    f = CASES[name][0]
    rng = np.random.default_rng(2)
    check_first(f, make_inputs(CASES[name][2], rng), rng)


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivative_central_differences(name):
    f = CASES[name][0]
    rng = np.random.default_rng(3)
    check_second(f, make_inputs(CASES[name][2], rng), rng)


@pytest.mark.parametrize("name", sorted(CASES))
def test_array_backward_equals_differentiable_backward(name):
    """The fast array backward and the create_graph one give the same gradients."""
    f = CASES[name][0]
    rng = np.random.default_rng(4)
    arrays = make_inputs(CASES[name][2], rng)
    out_shape = f(*[ag.Variable(a) for a in arrays]).shape
    weight = rng.uniform(0.5, 1.5, size=out_shape)
    grads = []
    for create_graph in (False, True):
        xs = [ag.Variable(a.copy()) for a in arrays]
        F.sum(f(*xs) * weight).backward(create_graph=create_graph)
        grads.append([x.grad.data for x in xs])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_kept(name):
    f = CASES[name][0]
    rng = np.random.default_rng(5)
    arrays = make_inputs(CASES[name][2], rng)
    x32 = [ag.Variable(a.astype(np.float32)) for a in arrays]
    x64 = [ag.Variable(a) for a in arrays]
    y32, y64 = f(*x32), f(*x64)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32.data, y64.data, rtol=1e-4, atol=1e-5)
    F.sum(y32 * y32).backward()
    F.sum(y64 * y64).backward()
    for a, b in zip(x32, x64):
        assert a.grad.dtype == np.float32
        np.testing.assert_allclose(a.grad.data, b.grad.data, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize(
    "name", ["conv2d_stride_pad", "max_pool2d", "avg_pool2d", "layer_norm", "batch_norm_4d"]
)
def test_non_contiguous_and_read_only_inputs(name):
    f = CASES[name][0]
    rng = np.random.default_rng(6)
    arrays = make_inputs(CASES[name][2], rng)
    views = []
    for a in arrays:
        big = np.repeat(a[..., None], 2, axis=-1)[..., 0]
        big.flags.writeable = False
        views.append(big)
    xs = [ag.Variable(v) for v in views]
    y = f(*xs)
    np.testing.assert_allclose(y.data, f(*[ag.Variable(a) for a in arrays]).data, rtol=1e-13)
    F.sum(y).backward()
    assert all(x.grad is not None for x in xs)


def test_mixed_dtypes_compute_in_the_wider_one():
    x = ag.Variable(np.ones((1, 1, 3, 3), np.float32))
    w = ag.Variable(np.ones((1, 1, 2, 2)))
    y = F.conv2d(x, w)
    assert y.dtype == np.float64
    F.sum(y).backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64


# ---------------------------------------------------------------------------- semantics


def test_conv2d_output_size_and_values():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.ones((1, 1, 3, 3))
    y = F.conv2d(x, w, pad=1, stride=2)
    assert y.shape == (1, 1, 2, 2)
    np.testing.assert_allclose(y.data[0, 0], [[10, 24], [51, 90]])


def test_max_pool_gradient_goes_to_first_maximum_of_ties():
    x = ag.Variable(np.ones((1, 1, 2, 2)))
    F.sum(F.max_pool2d(x, 2)).backward()
    np.testing.assert_array_equal(x.grad.data[0, 0], [[1, 0], [0, 0]])


def test_avg_pool_counts_padded_zeros():
    y = F.avg_pool2d(np.ones((1, 1, 2, 2)), 2, stride=1, pad=1)
    np.testing.assert_allclose(y.data[0, 0], [[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]])


def test_max_pool_graph_keeps_one_byte_an_output_and_walks_again():
    """The pooling's Function keeps where each maximum was as a one-byte position in its
    window: building the graph adds the output and a quarter of it (float32); and a
    second backward over the same graph adds the same gradient again."""
    import tracemalloc

    rng = np.random.default_rng(21)
    x = ag.Variable(rng.normal(size=(8, 16, 32, 32)).astype(np.float32))
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        y = F.max_pool2d(x, 2)
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert y.data.nbytes == 131072
    assert grown < 131072 + 32768 + 8192  # an intp index per output would add 262144
    loss = F.sum(y * 3.0)
    loss.backward()
    once = x.grad.data.copy()
    planes = x.data.reshape(128, 32, 32)
    expected = np.zeros_like(planes)
    ref = planes.reshape(128, 16, 2, 16, 2).transpose(0, 1, 3, 2, 4).reshape(128, 16, 16, 4)
    arg = ref.argmax(axis=-1)
    rows, cols = np.indices((16, 16))
    for m in range(128):
        expected[m, 2 * rows + arg[m] // 2, 2 * cols + arg[m] % 2] = 3.0
    np.testing.assert_array_equal(once, expected.reshape(x.shape))
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, 2 * once)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "kernel, stride, pad",
    [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((3, 2), (1, 2), (1, 1))],
)
def test_max_pool_window_positions_match_the_flat_indices(dtype, kernel, stride, pad):
    """The one-byte window positions point where the flat indices do, and
    ``max_pool_backward`` from them equals the scatter-add to the flat indices, with
    ties (small integers), NaNs and overlapping padded windows."""
    rng = np.random.default_rng(22)
    x = rng.integers(0, 3, size=(5, 7, 6)).astype(dtype)
    x[1, 2, 3] = x[3, 0, 0] = x[3, 0, 1] = np.nan
    y, idx = K.max_pool_forward(x, kernel, stride, pad)
    y2, pos = K.max_pool_forward(x, kernel, stride, pad, indices="window")
    y3, none = K.max_pool_forward(x, kernel, stride, pad, indices=False)
    assert none is None and pos.dtype == np.uint8 and pos.shape == y.shape
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(y3, y)
    oh, ow = y.shape[1:]
    rows = (np.arange(oh) * stride[0] - pad[0])[:, None] + pos // kernel[1]
    cols = (np.arange(ow) * stride[1] - pad[1])[None, :] + pos % kernel[1]
    np.testing.assert_array_equal(rows * 6 + cols, idx)
    gy = rng.normal(size=y.shape).astype(dtype)
    gx = K.max_pool_backward(pos, gy, x.shape, kernel, stride, pad)
    assert gx.dtype == dtype and gx.shape == x.shape
    ref = K.scatter_add(gy.reshape(5, -1), idx.reshape(5, -1), 42).reshape(x.shape)
    np.testing.assert_array_equal(gx, ref)
    if kernel == stride == (2, 2):  # the last NaN of the window wins
        assert pos[3, 0, 0] == 1 and gx[3, 0, 1] == gy[3, 0, 0] and gx[3, 0, 0] == 0


def _max_pool_reference(x, kh, kw, sh, sw):
    """Max pooling without padding as a Python loop: the first maximum of a window in
    scan order, and the last NaN where there is one (PyTorch's rule)."""
    m, h, w = x.shape
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    y, pos = np.empty((m, oh, ow), x.dtype), np.empty((m, oh, ow), np.uint8)
    for i in np.ndindex(m, oh, ow):
        best, t = -np.inf, 0
        for k, v in enumerate(
            x[i[0], i[1] * sh : i[1] * sh + kh, i[2] * sw : i[2] * sw + kw].ravel()
        ):
            if v > best or np.isnan(v):
                best, t = v, k
        y[i], pos[i] = best, t
    return y, pos


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_2x2_fast_path_against_the_rule(dtype):
    """The 2x2, stride 2 windows (their own loop) against a Python loop of the rule, with
    ties, signed zeros, infinities and NaNs in every position of a window."""
    rng = np.random.default_rng(24)
    x = rng.choice(np.array([-np.inf, -1.0, -0.0, 0.0, 1.0, 2.0, np.inf, np.nan]), size=(40, 6, 8))
    x = x.astype(dtype)
    ref_y, ref_pos = _max_pool_reference(x, 2, 2, 2, 2)
    y, pos = K.max_pool_forward(x, (2, 2), (2, 2), (0, 0), indices="window")
    _, idx = K.max_pool_forward(x, (2, 2), (2, 2), (0, 0))
    assert y.tobytes() == ref_y.tobytes()
    np.testing.assert_array_equal(pos, ref_pos)
    rows = np.arange(3)[:, None] * 2 + ref_pos // 2
    cols = np.arange(4)[None, :] * 2 + ref_pos % 2
    np.testing.assert_array_equal(idx, rows * 8 + cols)
    # the general loop (a 2x2 kernel, stride 1) agrees with the rule too
    y1, pos1 = K.max_pool_forward(x, (2, 2), (1, 1), (0, 0), indices="window")
    ref_y1, ref_pos1 = _max_pool_reference(x, 2, 2, 1, 1)
    assert y1.tobytes() == ref_y1.tobytes()
    np.testing.assert_array_equal(pos1, ref_pos1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(40, 6, 8), (3, 4, 40), (2, 7, 9)])
def test_max_pool_2x2_backward_against_the_scatter(dtype, shape):
    """The 2x2 windows' gradient (their own loop, which writes every element where the
    windows cover the planes, and the general loop on odd planes) against the
    scatter-add to the flat indices: ties, signed zeros, infinities, NaNs; a -0 gradient
    lands as +0 (added into zeros)."""
    rng = np.random.default_rng(25)
    x = rng.choice(np.array([-np.inf, -1.0, -0.0, 0.0, 1.0, 2.0, np.inf, np.nan]), size=shape)
    x = x.astype(dtype)
    y, pos = K.max_pool_forward(x, (2, 2), (2, 2), (0, 0), indices="window")
    _, idx = K.max_pool_forward(x, (2, 2), (2, 2), (0, 0))
    gy = rng.normal(size=y.shape).astype(dtype)
    gy.flat[::3] = -0.0
    gx = K.max_pool_backward(pos, gy, x.shape, (2, 2), (2, 2), (0, 0))
    m, h, w = shape
    ref = K.scatter_add(gy.reshape(m, -1), idx.reshape(m, -1), h * w).reshape(shape)
    assert gx.tobytes() == ref.tobytes()
    assert not np.signbit(gx[gx == 0]).any()
    bad = pos.copy()
    bad.flat[[0, 7]] = 4
    with pytest.raises(IndexError, match="2 positions are outside"):
        K.max_pool_backward(bad, gy, x.shape, (2, 2), (2, 2), (0, 0))


def test_max_pool_window_kernels_validate():
    pos = np.zeros((2, 2, 2), np.uint8)
    g = np.ones((2, 2, 2))
    with pytest.raises(TypeError, match="uint8"):
        K.max_pool_backward(pos.astype(np.intp), g, (2, 4, 4), (2, 2), (2, 2), (0, 0))
    with pytest.raises(ValueError, match=r"must both be \(2, 2, 2\)"):
        K.max_pool_backward(pos, np.ones((2, 3, 2)), (2, 4, 4), (2, 2), (2, 2), (0, 0))
    with pytest.raises(ValueError, match="at most half"):
        K.max_pool_backward(pos, g, (2, 4, 4), (2, 2), (2, 2), (2, 0))
    with pytest.raises(TypeError, match="float32 or float64"):
        K.max_pool_backward(pos, g.astype(int), (2, 4, 4), (2, 2), (2, 2), (0, 0))
    with pytest.raises(IndexError, match="1 positions are outside"):
        K.max_pool_backward(
            np.where(np.arange(8) == 5, 4, 0).astype(np.uint8).reshape(2, 2, 2),
            g,
            (2, 4, 4),
            (2, 2),
            (2, 2),
            (0, 0),
        )
    with pytest.raises(ValueError, match="at most 256 elements"):
        K.max_pool_forward(np.ones((1, 17, 17)), (17, 16), (1, 1), (0, 0), indices="window")
    with pytest.raises(ValueError, match="indices must be"):
        K.max_pool_forward(np.ones((1, 4, 4)), (2, 2), (2, 2), (0, 0), indices="flat")


def test_max_pool_over_256_elements_keeps_flat_indices():
    """Windows too large for a one-byte position keep flat indices: first and second
    derivatives as with small windows."""
    rng = np.random.default_rng(24)
    x = ag.Variable(rng.normal(size=(2, 3, 20, 20)))
    y = F.max_pool2d(x, (17, 16), stride=3)
    (gx,) = ag.grad([F.sum(y * y)], [x], create_graph=True)
    planes = x.data.reshape(6, 20, 20)
    _, idx = K.max_pool_forward(planes, (17, 16), (3, 3), (0, 0))
    vals = np.take_along_axis(planes.reshape(6, -1), idx.reshape(6, -1), 1)
    expected = K.scatter_add(2 * vals, idx.reshape(6, -1), 400).reshape(x.shape)
    np.testing.assert_allclose(gx.data, expected)
    F.sum(gx).backward()
    counts = K.scatter_add(np.ones(idx.shape).reshape(6, -1), idx.reshape(6, -1), 400)
    np.testing.assert_allclose(x.grad.data, 2 * counts.reshape(x.shape))  # windows overlap


def test_conv2d_forward_temporaries_stay_within_a_chunk():
    """The convolution's temporaries (patches, the product before it is rearranged) are
    made one chunk of at most 128 KiB at a time, the previous chunk's freed first: the
    forward peak is the output plus a few chunks (with 256 KiB chunks, two of which were
    alive at once, it was the output plus 516 KB)."""
    import tracemalloc

    rng = np.random.default_rng(23)
    x = ag.Variable(rng.normal(size=(256, 16, 8, 8)).astype(np.float32))
    w = ag.Variable(rng.normal(size=(32, 16, 3, 3)).astype(np.float32))
    b = ag.Variable(np.zeros(32, np.float32))
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        y = F.conv2d(x, w, b, pad=1)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert y.data.nbytes == 2097152
    assert peak < 2097152 + 163840  # 3 images a chunk: 110,592 + 24,576 bytes
    loops = F.conv2d(x.data[:1], w.data, b.data, pad=1).data
    np.testing.assert_allclose(y.data[:1], loops, rtol=1e-5, atol=1e-4)


def test_embedding_repeated_ids_add_up_and_ids_are_copied():
    w = ag.Variable(np.arange(6.0).reshape(3, 2))
    ids = np.array([1, 1, 2])
    y = F.embedding(ids, w)
    ids[:] = 0  # the caller reuses its buffer: the gradient must not change
    F.sum(y).backward()
    np.testing.assert_array_equal(w.grad.data, [[0, 0], [2, 2], [1, 1]])
    assert y.shape == (3, 2)


def test_batch_norm_updates_running_statistics_as_pytorch():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(5, 3, 2, 2))
    rm, rv = np.zeros(3), np.ones(3)
    F.batch_norm(x, np.ones(3), np.zeros(3), rm, rv, momentum=0.1)
    n = 5 * 4
    mean = x.mean(axis=(0, 2, 3))
    var = x.var(axis=(0, 2, 3)) * n / (n - 1)
    np.testing.assert_allclose(rm, 0.1 * mean)
    np.testing.assert_allclose(rv, 0.9 + 0.1 * var)
    if torch is not None:
        trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
        TF.batch_norm(torch.tensor(x), trm, trv, training=True, momentum=0.1)
        np.testing.assert_allclose(rm, trm.numpy(), rtol=1e-12)
        np.testing.assert_allclose(rv, trv.numpy(), rtol=1e-12)


def test_batch_norm_test_mode_uses_running_statistics_without_updating():
    x = np.random.default_rng(8).normal(size=(4, 2))
    rm, rv = np.array([1.0, -1.0]), np.array([4.0, 0.25])
    with ag.test_mode():
        y = F.batch_norm(x, np.ones(2), np.zeros(2), rm, rv)
    np.testing.assert_allclose(y.data, (x - [1.0, -1.0]) / np.sqrt(np.array([4.0, 0.25]) + 1e-5))
    np.testing.assert_array_equal(rm, [1.0, -1.0])
    np.testing.assert_array_equal(rv, [4.0, 0.25])


def test_layer_norm_without_affine():
    x = np.random.default_rng(9).normal(size=(3, 4))
    y = F.layer_norm(x, None, None)
    np.testing.assert_allclose(y.data.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y.data.var(axis=1), 1, rtol=1e-4)


# ---------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: F.conv2d(np.ones((1, 2, 4, 4)), np.ones((3, 1, 2, 2))), ValueError, "in_channels"),
        (
            lambda: F.conv2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3))),
            ValueError,
            "larger than the padded",
        ),
        (
            lambda: F.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), stride=0),
            ValueError,
            "stride",
        ),
        (lambda: F.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), pad=-1), ValueError, "pad"),
        (
            lambda: F.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), pad=(1, 2, 3)),
            TypeError,
            "pad",
        ),
        (
            lambda: F.conv2d(np.ones((1, 1, 4, 4)), np.ones((2, 1, 2, 2)), np.ones(3)),
            ValueError,
            "b must",
        ),
        (lambda: F.conv2d(np.ones((4, 4)), np.ones((1, 1, 2, 2))), ValueError, "x must"),
        (lambda: F.conv2d(np.ones((1, 1, 4, 4)), np.ones((2, 2))), ValueError, "w must"),
        (lambda: F.max_pool2d(np.ones((1, 1, 4, 4)), 2, pad=2), ValueError, "pad"),
        (lambda: F.max_pool2d(np.ones((1, 1, 4, 4)), 5), ValueError, "larger than the padded"),
        (lambda: F.max_pool2d(np.ones((1, 1, 4, 4)), 0), ValueError, "kernel"),
        (lambda: F.avg_pool2d(np.ones((1, 4, 4)), 2), ValueError, "x must"),
        (lambda: F.avg_pool2d(np.ones((1, 1, 4, 4)), 2.5), TypeError, "kernel"),
        (lambda: F.embedding([0, 3], np.ones((3, 2))), IndexError, "id 3"),
        (lambda: F.embedding([-1], np.ones((3, 2))), IndexError, "id -1"),
        (lambda: F.embedding([0.5], np.ones((3, 2))), TypeError, "ids"),
        (lambda: F.embedding([0], np.ones(3)), ValueError, "w must"),
        (lambda: F.layer_norm(np.ones((2, 3)), np.ones(4), np.zeros(4)), ValueError, "gamma"),
        (lambda: F.layer_norm(np.ones((2, 3)), np.ones(3), np.zeros(2)), ValueError, "beta"),
        (lambda: F.layer_norm(np.ones((2, 3)), np.ones(3), np.zeros(3), eps=0), ValueError, "eps"),
        (
            lambda: F.batch_norm(np.ones((2, 3)), np.ones(2), np.zeros(3), None, None),
            ValueError,
            "gamma",
        ),
        (
            lambda: F.batch_norm(np.ones((2, 3)), np.ones(3), np.zeros(3), np.zeros(2), np.ones(3)),
            ValueError,
            "running_mean",
        ),
        (
            lambda: F.batch_norm(np.ones((2, 3)), np.ones(3), np.zeros(3), [0, 0, 0], np.ones(3)),
            TypeError,
            "running_mean",
        ),
        (
            lambda: F.batch_norm(np.ones((2, 3)), np.ones(3), np.zeros(3), None, None, momentum=2),
            ValueError,
            "momentum",
        ),
        (
            lambda: F.batch_norm(np.ones((1, 3)), np.ones(3), np.zeros(3), None, None),
            ValueError,
            "more than one value",
        ),
        (lambda: L.Conv2d(-1, 3), ValueError, "out_channels"),
        (lambda: L.Conv2d(4, 0), ValueError, "kernel_size"),
        (lambda: L.Conv2d(4, 3, stride=0), ValueError, "stride"),
        (lambda: L.Conv2d(4, 3, pad=-1), ValueError, "pad"),
        (lambda: L.Conv2d(4, 3, in_channels=0), ValueError, "in_channels"),
        (lambda: L.Conv2d(4, 3, in_channels=2)(np.ones((1, 3, 5, 5))), ValueError, "in_channels=2"),
        (lambda: L.Conv2d(4, 5)(np.ones((1, 1, 3, 3))), ValueError, "larger than the padded"),
        (lambda: L.MaxPool2d(2, pad=2), ValueError, "pad"),
        (lambda: L.Embedding(0, 3), ValueError, "num"),
        (lambda: L.Embedding(3, -2), ValueError, "dim"),
        (lambda: L.LayerNorm(-3), ValueError, "dim"),
        (lambda: L.LayerNorm(3)(np.ones((2, 4))), ValueError, "normalised shape"),
        (lambda: L.BatchNorm(0), ValueError, "dim"),
        (lambda: L.BatchNorm(3)(np.ones((2, 4))), ValueError, "dim=3"),
        (lambda: L.Dropout(1.0), ValueError, "ratio"),
        (lambda: L.Sequential(L.Linear(2), 3), TypeError, "callable"),
    ],
)
def test_bad_arguments_name_what_is_wrong(call, error, words):
    with pytest.raises(error, match=words):
        call()


# ---------------------------------------------------------------------------- kernels


def naive_im2col(x, kh, kw, s, p):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    oh = (h + 2 * p[0] - kh) // s[0] + 1
    ow = (w + 2 * p[1] - kw) // s[1] + 1
    col = np.empty((c, kh, kw, n, oh, ow))
    for i in range(kh):
        for j in range(kw):
            col[:, i, j] = xp[:, :, i : i + s[0] * oh : s[0], j : j + s[1] * ow : s[1]].transpose(
                1, 0, 2, 3
            )
    return col.reshape(c * kh * kw, n * oh * ow)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "geometry",
    [
        ((3, 3), (1, 1), (1, 1)),
        ((2, 3), (2, 1), (0, 2)),
        ((1, 1), (3, 3), (0, 0)),
        ((4, 4), (1, 2), (3, 1)),
    ],
)
def test_im2col_and_its_adjoint_col2im(dtype, geometry):
    k, s, p = geometry
    rng = np.random.default_rng(10)
    x = rng.normal(size=(2, 3, 5, 6)).astype(dtype)
    col = K.im2col(x, k, s, p)
    assert col.dtype == dtype
    np.testing.assert_array_equal(col, naive_im2col(x, k[0], k[1], s, p))
    c = rng.normal(size=col.shape).astype(dtype)
    back = K.col2im(c, x.shape, k, s, p)
    # <im2col(x), c> == <x, col2im(c)>: col2im is the adjoint
    np.testing.assert_allclose(
        np.vdot(col, c), np.vdot(x, back), rtol=1e-4 if dtype == np.float32 else 1e-12
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "shape, geometry",
    [
        ((3, 2, 20, 17), ((3, 3), (1, 1), (1, 1))),  # rows of 16 and more: memcpy
        ((2, 3, 18, 33), ((5, 3), (2, 3), (2, 1))),
        ((4, 16, 4, 4), ((3, 3), (1, 1), (1, 1))),  # the digits CNN's second layer
        ((0, 2, 4, 4), ((3, 3), (1, 1), (1, 1))),
        ((2, 1, 0, 3), ((1, 1), (1, 1), (1, 0))),  # no rows: padding only
        ((2, 3, 5, 7), ((2, 2), (3, 3), (1, 1))),  # stride over the kernel: border tests
        ((2, 2, 5, 6), ((2, 3), (1, 1), (2, 3))),  # padding as wide as the kernel: too
    ],
)
def test_im2col_col2im_short_and_long_rows(dtype, shape, geometry):
    """im2col against its NumPy rendering and col2im against the same scatter written with
    np.add.at, bit for bit, on rows short and long, strided and padded; col2im adds into
    ``out``."""
    k, s, p = geometry
    rng = np.random.default_rng(13)
    x = rng.normal(size=shape).astype(dtype)
    col = K.im2col(x, k, s, p)
    np.testing.assert_array_equal(col, naive_im2col(x, k[0], k[1], s, p))
    c = rng.normal(size=col.shape).astype(dtype)
    n, ch, h, w = shape
    oh, ow = (h + 2 * p[0] - k[0]) // s[0] + 1, (w + 2 * p[1] - k[1]) // s[1] + 1
    pad = np.zeros((n, ch, h + 2 * p[0], w + 2 * p[1]), dtype)
    taps = c.reshape(ch, k[0], k[1], n, oh, ow)
    for i in range(k[0]):  # the taps in col2im's order: each element's sum from zero
        for j in range(k[1]):
            pad[:, :, i : i + s[0] * oh : s[0], j : j + s[1] * ow : s[1]] += taps[
                :, i, j
            ].transpose(1, 0, 2, 3)
    ref = pad[:, :, p[0] : p[0] + h, p[1] : p[1] + w]
    assert K.col2im(c, shape, k, s, p).tobytes() == (np.zeros(shape, dtype) + ref).tobytes()
    out = np.ones(shape, dtype)
    K.col2im(c, shape, k, s, p, out=out)
    assert out.tobytes() == (1 + ref).tobytes()


@pytest.mark.parametrize("size", [1, 5, 16, 23])
def test_nchw_to_cn_sums(size):
    """The rearranged gradient exactly, and its sums over images and pixels (four partial
    sums a plane) to float64's rounding."""
    rng = np.random.default_rng(14)
    for dtype in (np.float32, np.float64):
        g = rng.normal(size=(3, 4, size)).astype(dtype)
        gy2, gb = K.nchw_to_cn(g)
        np.testing.assert_array_equal(gy2, g.transpose(1, 0, 2).reshape(4, -1))
        np.testing.assert_allclose(gb, g.astype(np.float64).sum(axis=(0, 2)), rtol=1e-13)


def test_kernel_wrappers_validate():
    # a padding far wider than the kernel, with a stride as wide: no padded plane is made
    # (it would be 4,001 x 4,001 for 9 outputs); the border is tested instead
    col = K.im2col(np.full((1, 1, 1, 1), 7.0), (1, 1), (2000, 2000), (2000, 2000))
    np.testing.assert_array_equal(col, [[0, 0, 0, 0, 7, 0, 0, 0, 0]])
    back = K.col2im(np.arange(9.0)[None], (1, 1, 1, 1), (1, 1), (2000, 2000), (2000, 2000))
    np.testing.assert_array_equal(back, [[[[4.0]]]])
    with pytest.raises(ValueError, match="larger than the padded"):
        K.im2col(np.ones((1, 1, 2, 2)), (3, 3), (1, 1), (0, 0))
    with pytest.raises(TypeError, match="float32 or float64"):
        K.im2col(np.ones((1, 1, 2, 2), dtype=np.int64), (1, 1), (1, 1), (0, 0))
    with pytest.raises(ValueError, match="expected"):
        K.col2im(np.ones((4, 3)), (1, 1, 2, 2), (2, 2), (1, 1), (0, 0))
    with pytest.raises(IndexError, match="outside"):
        K.scatter_add(np.ones((1, 2)), np.array([[0, 9]]), 4)
    with pytest.raises(IndexError, match="outside"):
        K.gather(np.ones((1, 4)), np.array([[-1]]))
    with pytest.raises(IndexError, match="outside"):
        K.embedding_backward(np.array([0, 5]), np.ones((2, 3)), 5)
    with pytest.raises(ValueError, match="at most half"):
        K.max_pool_forward(np.ones((1, 4, 4)), (2, 2), (2, 2), (2, 0))
    with pytest.raises(TypeError, match="dtype"):
        K.layer_norm_forward(np.ones((2, 3)), np.ones(3, np.float32), np.zeros(3), 1e-5)


def test_pooling_kernels_against_numpy():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(3, 6, 4))
    y, idx = K.max_pool_forward(x, (2, 2), (2, 2), (0, 0))
    ref = x.reshape(3, 3, 2, 2, 2).max(axis=(2, 4))
    np.testing.assert_array_equal(y, ref)
    np.testing.assert_array_equal(
        np.take_along_axis(x.reshape(3, -1), idx.reshape(3, -1), 1), ref.reshape(3, -1)
    )
    avg = K.avg_pool_forward(x, (2, 2), (2, 2), (0, 0))
    np.testing.assert_allclose(avg, x.reshape(3, 3, 2, 2, 2).mean(axis=(2, 4)))
    g = rng.normal(size=avg.shape)
    np.testing.assert_allclose(
        np.vdot(avg, g), np.vdot(x, K.avg_pool_backward(g, x.shape, (2, 2), (2, 2), (0, 0)))
    )


def test_norm_kernels_against_numpy():
    rng = np.random.default_rng(12)
    x = rng.normal(size=(4, 5))
    g, b = rng.normal(size=5), rng.normal(size=5)
    y, mean, rstd = K.layer_norm_forward(x, g, b, 1e-5)
    np.testing.assert_allclose(mean, x.mean(1))
    np.testing.assert_allclose(
        y, (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5) * g + b
    )
    x3 = rng.normal(size=(3, 2, 4)).astype(np.float32)
    m, v = K.channel_stats(x3)
    np.testing.assert_allclose(m, x3.astype(np.float64).mean(axis=(0, 2)), rtol=1e-6)
    np.testing.assert_allclose(v, x3.astype(np.float64).var(axis=(0, 2)), rtol=1e-5)
    gy2, gb = K.nchw_to_cn(x3)
    np.testing.assert_array_equal(gy2, x3.transpose(1, 0, 2).reshape(2, -1))
    np.testing.assert_allclose(gb, x3.astype(np.float64).sum(axis=(0, 2)), rtol=1e-6)


# ---------------------------------------------------------------------------- layers


def test_conv_layer_is_lazy_and_learns_in_channels():
    conv = L.Conv2d(5, (3, 2), stride=2, pad=1, rng=np.random.default_rng(0))
    assert conv.w is None and conv.in_channels is None
    y = conv(np.ones((2, 4, 6, 6)))
    assert y.shape == (2, 5, 3, 4)
    assert conv.w.shape == (5, 4, 3, 2) and conv.b.shape == (5,) and conv.in_channels == 4
    np.testing.assert_allclose(conv.w.data.std(), np.sqrt(2 / 24), rtol=0.3)
    assert sorted(conv.params()) == ["b", "w"]


def test_float32_layers_stay_float32():
    net = L.Sequential(
        L.Conv2d(4, 3, pad=1, dtype=np.float32),
        L.BatchNorm(dtype=np.float32),
        F.relu,
        L.MaxPool2d(2),
        L.Flatten(),
        L.LayerNorm(16, dtype=np.float32),
        L.Linear(3, dtype=np.float32),
    )
    y = net(np.ones((2, 1, 4, 4), np.float32))
    assert y.dtype == np.float32
    F.sum(y).backward()
    assert all(p.grad.dtype == np.float32 for p in net.params().values())


def test_sequential_names_layers_by_position_and_accepts_callables():
    net = L.Sequential(L.Conv2d(2, 3, pad=1), F.relu, L.MaxPool2d(2), L.Flatten(), L.Linear(3))
    y = net(np.ones((4, 1, 6, 6)))
    assert y.shape == (4, 3)
    assert sorted(net.params()) == ["0.b", "0.w", "4.b", "4.w"]
    assert len(net) == 5 and net[1] is F.relu


def test_batch_norm_layer_keeps_running_statistics_and_uses_them_in_test_mode():
    bn = L.BatchNorm()
    x = np.random.default_rng(13).normal(2.0, 3.0, size=(16, 3, 2, 2))
    for _ in range(60):
        bn(x)
    np.testing.assert_allclose(bn.running_mean, x.mean(axis=(0, 2, 3)), rtol=1e-2)
    before = bn.running_mean.copy()
    with ag.test_mode():
        y = bn(x)
    np.testing.assert_array_equal(bn.running_mean, before)
    assert abs(y.data.mean()) < 0.05
    assert sorted(bn.params()) == ["beta", "gamma"]


def test_dropout_embedding_layernorm_layers():
    d = L.Dropout(0.5, rng=np.random.default_rng(0))
    x = ag.Variable(np.ones((4, 4)))
    assert set(np.unique(d(x).data)) <= {0.0, 2.0}
    with ag.test_mode():
        assert d(x) is x
    emb = L.Embedding(7, 3, rng=np.random.default_rng(0))
    out = emb(np.array([[1, 6]]))
    F.sum(out).backward()
    assert out.shape == (1, 2, 3) and emb.w.grad.data[1].tolist() == [1, 1, 1]
    ln = L.LayerNorm(3)
    assert ln(np.arange(6.0).reshape(2, 3)).shape == (2, 3)
    assert sorted(ln.params()) == ["beta", "gamma"]


def test_lazy_conv_initialises_once_under_threads():
    import threading

    conv = L.Conv2d(3, 2)
    seen = []
    barrier = threading.Barrier(4)

    def first_call():
        barrier.wait()
        conv(np.ones((1, 2, 3, 3)))
        seen.append(conv.w)

    threads = [threading.Thread(target=first_call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(w is seen[0] for w in seen)


def test_conv2d_in_many_chunks_equals_image_by_image():
    """40 images of 8x10x10 under 3x3 kernels, stride 2, make 14.4 KB of patches each: the
    batch is done in chunks of 9 images; the results must equal one image at a time."""
    rng = np.random.default_rng(14)
    x = rng.normal(size=(40, 8, 10, 10))
    w = rng.normal(size=(4, 8, 3, 3))
    b = rng.normal(size=4)
    weight = rng.uniform(0.5, 1.5, size=(40, 4, 5, 5))
    for create_graph in (False, True):
        xv, wv, bv = ag.Variable(x), ag.Variable(w), ag.Variable(b)
        y = F.conv2d(xv, wv, bv, stride=2, pad=1)
        F.sum(y * weight).backward(create_graph=create_graph)
        gw, gb = np.zeros_like(w), np.zeros_like(b)
        for i in range(40):
            xi, wi, bi = ag.Variable(x[i : i + 1]), ag.Variable(w), ag.Variable(b)
            yi = F.conv2d(xi, wi, bi, stride=2, pad=1)
            np.testing.assert_allclose(y.data[i : i + 1], yi.data, rtol=1e-12, atol=1e-12)
            F.sum(yi * weight[i : i + 1]).backward()
            np.testing.assert_allclose(
                xv.grad.data[i : i + 1], xi.grad.data, rtol=1e-12, atol=1e-12
            )
            gw += wi.grad.data
            gb += bi.grad.data
        np.testing.assert_allclose(wv.grad.data, gw, rtol=1e-11)
        np.testing.assert_allclose(bv.grad.data, gb, rtol=1e-11)
    if torch is not None:
        yt = TF.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride=2, padding=1)
        np.testing.assert_allclose(y.data, yt.numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------- the digits example

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "digits_cnn.py"


def run_example(*args, prelude=""):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    code = (
        prelude + f"import runpy, sys; sys.argv = {[str(EXAMPLE)] + list(args)!r}; "
        f"runpy.run_path({str(EXAMPLE)!r}, run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env
    )


def test_digits_example_reaches_97_percent_and_resumes(tmp_path):
    pytest.importorskip("sklearn")
    ckpt = str(tmp_path / "digits.npz")
    args = ["--checkpoint", ckpt]
    plot = importlib.util.find_spec("matplotlib") is not None
    if plot:
        args += ["--plot", str(tmp_path / "wrong.png")]
    done = run_example(*args)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    epochs = [line for line in lines if line.startswith("epoch")]
    assert len(epochs) == 20
    accuracy = float(next(line for line in lines if line.startswith("test accuracy")).split()[2])
    assert accuracy >= 0.97, done.stdout
    if plot:
        assert (tmp_path / "wrong.png").stat().st_size > 1000
    resumed = run_example("--checkpoint", ckpt, "--resume", "--epochs", "21")
    assert resumed.returncode == 0, resumed.stderr
    out = resumed.stdout.splitlines()
    assert out[0] == f"resumed from {ckpt} after epoch 20"
    assert [line.split()[1] for line in out if line.startswith("epoch")] == ["21"]


def test_digits_example_without_scikit_learn_says_so_and_exits_cleanly():
    done = run_example("--epochs", "1", prelude="import sys; sys.modules['sklearn'] = None; ")
    assert done.returncode == 0
    assert "pip install scikit-learn" in done.stderr
    assert done.stdout == ""


def test_lazy_conv_and_batch_norm_save_and_load(tmp_path):
    def build():
        return L.Sequential(
            L.Conv2d(3, 2, rng=np.random.default_rng(0)),
            L.BatchNorm(),
            F.relu,
            L.Flatten(),
            L.Linear(2, rng=np.random.default_rng(1)),
        )

    net = build()
    with pytest.raises(ValueError, match="not made yet"):
        net.save(tmp_path / "early.npz")
    x = np.random.default_rng(2).normal(size=(4, 2, 3, 3))
    net(x)
    state = net.state_dict()
    assert {"0.w", "0.b", "1.gamma", "1.beta", "1.running_mean", "1.running_var"} <= set(state)
    net.save(tmp_path / "net.npz")
    fresh = build()
    fresh.load(tmp_path / "net.npz")  # makes the lazy parameters and buffers
    assert fresh[0].in_channels == 2 and fresh[1].dim == 3
    np.testing.assert_array_equal(fresh[1].running_var, net[1].running_var)
    with ag.test_mode():
        np.testing.assert_array_equal(fresh(x).data, net(x).data)


def test_digits_example_resumes_bit_for_bit(tmp_path):
    """Two epochs straight equal one epoch, a checkpoint, and a resumed second epoch."""
    pytest.importorskip("sklearn")
    import io

    # threadpoolctl comes with scikit-learn
    from threadpoolctl import threadpool_limits

    spec = importlib.util.spec_from_file_location("digits_cnn", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)

    def args(*argv):
        return example.parse_args(list(argv))

    # one BLAS thread, as the example itself sets before NumPy is imported (here NumPy
    # came first): the products are small, and threads spinning on a busy machine made
    # this test three times slower
    with threadpool_limits(limits=1, user_api="blas"):
        straight, _ = example.train(args("--epochs", "2"), out=io.StringIO())
        ckpt = str(tmp_path / "c.npz")
        example.train(args("--epochs", "1", "--checkpoint", ckpt), out=io.StringIO())
        resumed, _ = example.train(
            args("--epochs", "2", "--checkpoint", ckpt, "--resume"), out=io.StringIO()
        )
    for name, p in straight.params().items():
        np.testing.assert_array_equal(p.data, resumed.params()[name].data, err_msg=name)
