"""Releasing data no backward reads (graph.pyx, "Releasing data"): which values are
released and when, that every gradient stays exactly what it was (again, accumulated,
and with create_graph), that nothing anyone refers to is touched, and the memory saved."""

import tracemalloc

import numpy as np
import pytest

import autograd as ag
import autograd.functions as F
from autograd._core import nn_kernels as K


def released(v):
    """Whether ``v``'s data is the released placeholder: NaN, one element, read-only."""
    d = v.data
    return d.strides == (0,) * d.ndim and not d.flags.writeable and bool(np.isnan(d).all())


def params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    shapes = {"w1": (16, 1, 3, 3), "b1": (16,), "w2": (32, 16, 3, 3), "b2": (32,), "w3": (128, 10)}
    return {
        k: ag.Variable((rng.normal(size=s) * 0.3).astype(dtype), name=k) for k, s in shapes.items()
    }


def cnn(x, t, p, held=None):
    """The digits CNN's graph; ``held`` (a list) keeps every intermediate value."""
    layers = [
        lambda h: F.conv2d(h, p["w1"], p["b1"], pad=1),
        F.relu,
        lambda h: F.max_pool2d(h, 2),
        lambda h: F.conv2d(h, p["w2"], p["b2"], pad=1),
        F.relu,
        lambda h: F.max_pool2d(h, 2),
        lambda h: F.reshape(h, (h.shape[0], -1)),
    ]
    h = x
    for layer in layers:
        h = layer(h)
        if held is not None:
            held.append(h)
    return F.softmax_cross_entropy(F.linear(h, p["w3"]), t)


def chain(loss):
    """The values behind ``loss`` in order: conv1, relu1, pool1, conv2, relu2, pool2, flat,
    the linear head's output."""
    out, f = [], loss.creator
    while f is not None:
        v = f.inputs[0]
        out.append(v)
        f = v.creator
    return out[::-1][1:]  # without the input images


def grads(p):
    return {k: v.grad.data.copy() for k, v in p.items()}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_released_values_change_no_gradient(dtype):
    rng = np.random.default_rng(1)
    x = rng.random((64, 1, 8, 8)).astype(dtype)
    t = rng.integers(0, 10, 64)
    pa, pb = params(dtype), params(dtype)
    held = []
    la = cnn(x, t, pa, held)  # every value referred to: nothing released
    lb = cnn(x, t, pb)
    vals = chain(lb)
    # released while the graph was built: the convolutions' outputs (ReLU reads its own
    # output) and the ReLUs' outputs (the pooling keeps where its maxima were); not the
    # last pooling's output, though reshape reads only shapes: its view keeps the memory
    assert [released(v) for v in vals] == [True, True, False, True, True, False, False, False]
    assert not any(released(v) for v in held)
    assert la.data.tobytes() == lb.data.tobytes()
    la.backward()
    lb.backward()
    ga, gb = grads(pa), grads(pb)
    for k in ga:
        assert ga[k].tobytes() == gb[k].tobytes(), k
    # walked again: the same gradients added again
    la.backward()
    lb.backward()
    for k in ga:
        assert pb[k].grad.data.tobytes() == pa[k].grad.data.tobytes(), k
        np.testing.assert_allclose(pb[k].grad.data, 2 * gb[k], rtol=1e-6)
    # differentiated again: the gradient's graph reads no released value
    for p, loss in ((pa, la), (pb, lb)):
        for v in p.values():
            v.cleargrad()
        g1, g2 = ag.grad(loss, [p["w1"], p["w2"]], create_graph=True)
        (F.sum(g1 * g1) + F.sum(g2 * g2)).backward()
    for k in ga:
        assert pa[k].grad.data.tobytes() == pb[k].grad.data.tobytes(), k
    assert np.abs(pb["w2"].grad.data).sum() > 0


def test_a_value_referred_to_is_kept():
    rng = np.random.default_rng(2)
    x = ag.Variable(rng.normal(size=(64, 64)))
    h = x * 2.0  # the user keeps h
    y = F.relu(h)
    z = F.sum(y * 3.0)  # MulC reads neither its input nor its output
    z.backward()
    np.testing.assert_array_equal(h.data, x.data * 2.0)
    np.testing.assert_array_equal(y.data, np.maximum(x.data * 2.0, 0))
    np.testing.assert_array_equal(x.grad.data, np.where(x.data > 0, 6.0, 0.0))


def test_a_use_the_walk_did_not_reach_keeps_a_value():
    """h is used by a ReLU on the walked path and by an operation of another graph: that
    use refers to it, so h keeps its data; the other graph's gradient is right."""
    rng = np.random.default_rng(3)
    x = ag.Variable(rng.normal(size=(64, 64)))
    h = x * 2.0
    a = F.relu(h)
    other = F.sum(F.exp(h))  # Exp reads its output, not h; but this use is not walked
    loss = F.sum(a * 1.0)
    del h
    loss.backward()
    h = a.creator.inputs[0]
    assert not released(h)
    np.testing.assert_array_equal(h.data, x.data * 2.0)
    x.cleargrad()
    other.backward()
    np.testing.assert_allclose(x.grad.data, 2.0 * np.exp(2.0 * x.data))


def test_released_after_the_walk_when_the_user_lets_go():
    rng = np.random.default_rng(4)
    x = ag.Variable(rng.normal(size=(64, 64)))
    h = x * 2.0
    loss = F.sum(F.relu(h) * 1.0)
    r = loss.creator.inputs[0].creator.inputs[0]  # the ReLU's output
    del h
    assert not released(loss.creator.inputs[0].creator.inputs[0].creator.inputs[0])
    del r
    loss.backward()
    relu_out = loss.creator.inputs[0].creator.inputs[0]
    h = relu_out.creator.inputs[0]
    assert released(h) and released(relu_out)
    assert h.shape == (64, 64) and h.dtype == np.float64
    once = x.grad.data.copy()
    np.testing.assert_array_equal(once, np.where(x.data > 0, 2.0, 0.0))
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, 2 * once)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_keeps_its_sign_bit_for_bit(dtype):
    """Released, ReLU's gradient comes from the sign it kept: gy * 1 or gy * 0, so -0.0
    for a negative gy and NaN for an infinite one, NaN inputs giving 0 gradient."""
    rng = np.random.default_rng(5)
    data = rng.normal(size=(96, 64)).astype(dtype)
    data[0, :4] = [np.nan, 0.0, -0.0, np.inf]
    g = rng.normal(size=(96, 64)).astype(dtype)
    g[1, :3] = [np.inf, -np.inf, np.nan]
    out = {}
    for keep in (True, False):
        x = ag.Variable(data.copy())
        y = F.relu(x * 1.0)
        z = y + 0.0  # AddC reads neither its input nor its output
        if not keep:
            del y
        with np.errstate(invalid="ignore"):  # inf * 0 in the gradient
            loss = F.sum(z * g)
            loss.backward()
        assert released(z.creator.inputs[0]) is (not keep)
        out[keep] = x.grad.data
    assert out[True].tobytes() == out[False].tobytes()
    with np.errstate(invalid="ignore"):
        expected = g * (np.maximum(np.nan_to_num(data, nan=-1.0), 0) > 0)
    assert out[False].tobytes() == expected.astype(dtype).tobytes()


@pytest.mark.parametrize(
    "kernel, stride, pad",
    [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((3, 2), (1, 2), (1, 1))],
)
def test_max_pool_higher_order_from_window_positions(kernel, stride, pad):
    """The differentiable backward of max pooling finds the flat indices from the window
    positions it kept (its input may be released): d(gx . r)/d gy gathers r at them."""
    rng = np.random.default_rng(6)
    xd = rng.normal(size=(2, 3, 7, 6))
    x = ag.Variable(xd)
    y = F.max_pool2d(x, kernel, stride, pad)
    gy = ag.Variable(rng.normal(size=y.shape))
    (gx,) = ag.grad(F.sum(y * gy), [x], create_graph=True)
    r = rng.normal(size=xd.shape)
    F.sum(gx * r).backward()
    idx = K.max_pool_forward(xd.reshape(6, 7, 6), kernel, stride, pad)[1]
    expected = np.take_along_axis(r.reshape(6, 42), idx.reshape(6, -1), axis=1)
    np.testing.assert_array_equal(gy.grad.data, expected.reshape(y.shape))


def test_graph_memory_without_the_released_values():
    """What a graph built without references keeps: the two convolutions' and ReLUs'
    outputs (float32) go, a byte an element of the ReLUs' stays."""
    rng = np.random.default_rng(7)
    x = rng.random((64, 1, 8, 8)).astype(np.float32)
    t = rng.integers(0, 10, 64)
    grown = {}
    for keep in (True, False):
        p = params(np.float32)
        held = [] if keep else None
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            loss = cnn(x, t, p, held)
            grown[keep] = tracemalloc.get_traced_memory()[0] - base
        finally:
            tracemalloc.stop()
        del loss, held
    conv_relu = 2 * (64 * 16 * 8 * 8 + 64 * 32 * 4 * 4) * 4  # 786,432 bytes
    signs = 64 * 16 * 8 * 8 + 64 * 32 * 4 * 4  # 98,304 bytes
    assert grown[True] - grown[False] >= conv_relu - signs - 4096
    assert grown[False] < 300_000


def test_a_use_unchained_during_the_walk_does_not_count_as_the_users():
    """A backward that unchains a value noted by an earlier use frees that use: the user's
    reference must not take its place in the count (the walk keeps the uses it noted)."""
    x = ag.Variable(np.random.default_rng(8).normal(size=(64, 64)))
    box = {}

    class Cutter(ag.Function):
        def forward(self, a):
            return a * 1.0

        def backward(self, gy):
            box["u"].unchain()  # frees AddC, the only other holder of v
            return gy

    v = x * 3.0  # the user keeps v
    u = v + 1.0
    box["u"] = u
    loss = F.sum(u) + F.sum(Cutter()(x))
    del u
    loss.backward()
    assert not released(v)
    np.testing.assert_array_equal(v.data, x.data * 3.0)


def test_nothing_released_where_a_view_keeps_the_memory():
    """A ReLU output that a reshape views frees nothing if released: it is kept, and ReLU
    makes no sign array (the graph would grow)."""
    rng = np.random.default_rng(9)
    x = ag.Variable(rng.normal(size=(64, 4, 16, 16)).astype(np.float32))
    w = ag.Variable(rng.normal(size=(4 * 16 * 16, 10)).astype(np.float32))
    r = F.relu(x * 1.0)
    flat = F.reshape(r, (64, -1))
    del r
    loss = F.sum(F.linear(flat, w))
    relu_out = flat.creator.inputs[0]
    assert not released(relu_out)
    assert released(relu_out.creator.inputs[0])  # x * 1.0: ReLU reads its own output
    loss.backward()
    assert not released(flat.creator.inputs[0])
    np.testing.assert_array_equal(flat.data, np.maximum(x.data, 0).reshape(64, -1))


def test_the_placeholder_cannot_be_made_writeable():
    x = ag.Variable(np.linspace(-1, 1, 4096).reshape(64, 64))
    loss = F.sum(F.relu(F.matmul(x, x) * 1.0))
    loss.backward()
    data = loss.creator.inputs[0].creator.inputs[0].data  # the product scaled: released
    assert np.isnan(data).all()
    with pytest.raises(ValueError):
        data.flags.writeable = True
