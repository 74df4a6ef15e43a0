"""Layers: Linear's lazy init, RNN, LSTM state and truncated BPTT, registration."""

import math

import numpy as np
import pytest

import autograd as ag
import autograd.functions as F
import autograd.layers as L


def test_linear_lazy_xavier_init_and_shapes():
    s = ag.random.const()
    fc = L.Linear(3, rng=s)
    assert fc.w is None and fc.b.shape == (1, 3)
    assert list(fc.params()) == ["b"]
    y = fc(np.ones((2, 4)))
    assert y.shape == (2, 3) and fc.w.shape == (4, 3)
    expected = ag.random.const().standard_normal((4, 3)) * (1 / math.sqrt(4))
    np.testing.assert_array_equal(fc.w.data, expected)
    assert list(fc.params()) == ["b", "w"]
    assert fc.W is fc.w


def test_linear_options():
    fc = L.Linear(2, in_size=3, bias=False, rng=np.random.default_rng(0))
    assert fc.w.shape == (3, 2) and fc.b is None
    assert list(fc.params()) == ["w"]
    with pytest.raises(ValueError, match="expected 3 features"):
        fc(np.ones((1, 4)))
    with pytest.raises(ValueError, match="out_size must be a positive int"):
        L.Linear(0)
    with pytest.raises(TypeError, match="rng must be"):
        L.Linear(2, rng="seed")


def test_linear_float32():
    fc = L.Linear(2, rng=np.random.default_rng(0), dtype=np.float32)
    y = fc(np.ones((3, 4), np.float32))
    assert y.dtype == np.float32 and fc.w.dtype == np.float32


def test_linear_gradients():
    fc = L.Linear(3, in_size=4, rng=np.random.default_rng(1))
    x = np.random.default_rng(2).normal(size=(5, 4))
    w = fc.w
    assert ag.numerical.gradcheck(lambda w_: F.sum(F.linear(x, w_, fc.b) ** 2), [w])


def test_nested_names_and_user_composition():
    class Net(L.Layer):
        def __init__(self):
            super().__init__()
            self.encoder = L.Linear(4, in_size=3, rng=np.random.default_rng(0))
            self.scale = L.Parameter(np.ones(1))
            self.not_a_param = ag.Variable(np.ones(2))
            self.lstm = L.LSTM(2, in_size=4, rng=np.random.default_rng(1))

        def forward(self, x):
            return self.lstm(F.tanh(self.encoder(x))) * self.scale

    net = Net()
    names = list(net.params())
    assert names == sorted(names)
    assert "encoder.w" in names and "scale" in names and "lstm.x2f.w" in names
    assert "lstm.h2f.b" not in names and "not_a_param" not in names
    net(np.ones((1, 3)))
    y = net(np.ones((1, 3)))  # the h2* gates join from the second step
    F.sum(y).backward()
    assert all(p.grad is not None for p in net.params().values())
    net.cleargrads()
    assert all(p.grad is None for p in net.params().values())


def test_layer_without_super_init_is_a_clear_error():
    class Bad(L.Layer):
        def __init__(self):
            self.fc = L.Linear(2)

    with pytest.raises(AttributeError, match="super"):
        Bad()


def test_lstm_matches_the_seed_equations():
    lstm = L.LSTM(3, rng=ag.random.const())
    x = np.random.default_rng(0).normal(size=(2, 1))
    h1 = lstm(x)
    h2 = lstm(x)
    p = {k: v.data for k, v in lstm.params().items()}
    sig = lambda a: 1 / (1 + np.exp(-a))
    lin = lambda g, v: v @ p[f"{g}.w"] + p.get(f"{g}.b", 0)
    f, i, o, u = sig(lin("x2f", x)), sig(lin("x2i", x)), sig(lin("x2o", x)), np.tanh(lin("x2u", x))
    c = i * u
    h = o * np.tanh(c)
    np.testing.assert_allclose(h1.data, h, rtol=1e-12)
    f = sig(lin("x2f", x) + lin("h2f", h))
    i = sig(lin("x2i", x) + lin("h2i", h))
    o = sig(lin("x2o", x) + lin("h2o", h))
    u = np.tanh(lin("x2u", x) + lin("h2u", h))
    c = f * c + i * u
    np.testing.assert_allclose(h2.data, o * np.tanh(c), rtol=1e-12)


def test_lstm_reset_state():
    lstm = L.LSTM(3, rng=np.random.default_rng(0))
    x = np.ones((1, 2))
    first = lstm(x).data
    lstm(x)
    assert lstm.h is not None and lstm.c is not None
    lstm.reset_state()
    assert lstm.h is None and lstm.c is None
    np.testing.assert_array_equal(lstm(x).data, first)


def test_rnn():
    rnn = L.RNN(3, rng=np.random.default_rng(0))
    x = np.ones((2, 4))
    h1 = rnn(x)
    h2 = rnn(x)
    expected = np.tanh(x @ rnn.x2h.w.data + rnn.x2h.b.data + h1.data @ rnn.h2h.w.data)
    np.testing.assert_allclose(h2.data, expected)
    rnn.reset_state()
    assert rnn.h is None


def _rnn_run(rnn, xs, fused, square=False):
    """Loss and gradients of a sequence through ``rnn``: its own (fused) step, or the
    composed form tanh(x2h(x) + h2h(h)) written out with the elementary functions."""
    rnn.reset_state()
    rnn.cleargrads()
    head = np.linspace(-1.0, 1.0, rnn.h2h.w.shape[1]).reshape(-1, 1).astype(xs[0].dtype)
    loss, h = 0, None
    for x in xs:
        if fused:
            h = rnn(x)
        else:
            a = F.linear(x, rnn.x2h.w, rnn.x2h.b)
            h = F.tanh(a if h is None else a + F.linear(h, rnn.h2h.w))
        loss = loss + (F.sum(h * h) if square else F.sum(F.matmul(h, head) ** 2))
    loss.backward()
    return loss.data, h.data, {k: v.grad.data for k, v in rnn.params().items()}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_rnn_step_is_the_composed_step_to_the_last_bit(dtype):
    from autograd._core.ops import RNNCell

    rng = np.random.default_rng(3)
    rnn = L.RNN(5, in_size=3, rng=rng, dtype=dtype)
    xs = [rng.normal(size=(4, 3)).astype(dtype) for _ in range(6)]
    rnn(xs[0])
    h = rnn(xs[1])
    assert type(h.creator) is RNNCell  # one node for the product, the sum and tanh
    assert h.dtype == dtype
    fused = _rnn_run(rnn, xs, True)
    composed = _rnn_run(rnn, xs, False)
    np.testing.assert_array_equal(fused[0], composed[0])
    np.testing.assert_array_equal(fused[1], composed[1])
    assert sorted(fused[2]) == ["h2h.w", "x2h.b", "x2h.w"]
    for name in fused[2]:
        np.testing.assert_array_equal(fused[2][name], composed[2][name])
        assert fused[2][name].dtype == dtype


def test_fused_rnn_step_when_a_state_is_used_twice():
    # h * h gives each state three gradients (two from the product, one from the next
    # step); the walk may add them in another order than the composed graph's: the
    # values agree to rounding, not necessarily to the last bit
    rng = np.random.default_rng(6)
    rnn = L.RNN(5, in_size=3, rng=rng)
    xs = [rng.normal(size=(4, 3)) for _ in range(6)]
    fused = _rnn_run(rnn, xs, True, square=True)
    composed = _rnn_run(rnn, xs, False, square=True)
    np.testing.assert_array_equal(fused[1], composed[1])  # the forward pass is exact
    np.testing.assert_allclose(fused[0], composed[0], rtol=1e-14)
    for name in fused[2]:
        np.testing.assert_allclose(fused[2][name], composed[2][name], rtol=1e-12, atol=1e-14)


def test_fused_rnn_cell_first_and_second_order():
    from helpers import check_first, check_second

    from autograd._core import ops

    rng = np.random.default_rng(4)
    # a broadcast a (1, 3) as well as a full one
    for a_shape in [(2, 3), (1, 3)]:
        arrays = [
            rng.normal(size=a_shape),
            rng.normal(scale=0.7, size=(4, 3)),
            rng.normal(size=(2, 4)),
        ]
        check_first(ops.rnn_cell, arrays, rng)
        check_second(ops.rnn_cell, arrays, rng)


def test_fused_rnn_cell_gradients_and_constants():
    from autograd._core import ops

    rng = np.random.default_rng(5)
    a, wh, h = rng.normal(size=(2, 3)), rng.normal(size=(4, 3)), rng.normal(size=(2, 4))
    av, wv, hv = ag.Variable(a), ag.Variable(wh), ag.Variable(h)
    g = rng.normal(size=(2, 3))
    y = ops.rnn_cell(av, wv, hv)
    np.testing.assert_allclose(y.data, np.tanh(a + h @ wh), rtol=1e-14)
    F.sum(y * g).backward()
    ga = g * (1 - np.tanh(a + h @ wh) ** 2)
    np.testing.assert_allclose(av.grad.data, ga, rtol=1e-13)
    np.testing.assert_allclose(wv.grad.data, h.T @ ga, rtol=1e-13)
    np.testing.assert_allclose(hv.grad.data, ga @ wh.T, rtol=1e-13)
    # constant inputs get nothing; with no graph, nothing is recorded
    wv.cleargrad()
    y = ops.rnn_cell(a, wv, h)
    F.sum(y).backward()
    assert wv.grad is not None and y.creator is not None
    with ag.no_grad():
        assert ops.rnn_cell(av, wv, hv).creator is None


def test_fused_rnn_cell_bad_shapes():
    from autograd._core import ops

    with pytest.raises(ValueError, match="does not fit hidden weights"):
        ops.rnn_cell(np.ones((2, 3)), np.ones((4, 3)), np.ones((2, 5)))
    with pytest.raises(ValueError, match="does not fit hidden weights"):
        ops.rnn_cell(np.ones((2, 3)), np.ones(3), np.ones((2, 3)))
    with pytest.raises(ValueError, match="does not fit the hidden product"):
        ops.rnn_cell(np.ones((2, 5)), np.ones((4, 3)), np.ones((2, 4)))
    with pytest.raises(TypeError):
        ops.rnn_cell(None, np.ones((4, 3)), np.ones((2, 4)))


def test_rnn_with_a_replaced_hidden_layer_is_composed():
    rnn = L.RNN(3, in_size=2, rng=np.random.default_rng(0))
    rnn.h2h = L.Linear(3, in_size=3, rng=np.random.default_rng(1))  # with a bias now
    x = np.ones((2, 2))
    h1 = rnn(x)
    h2 = rnn(x)
    expected = np.tanh(
        x @ rnn.x2h.w.data + rnn.x2h.b.data + h1.data @ rnn.h2h.w.data + rnn.h2h.b.data
    )
    np.testing.assert_allclose(h2.data, expected, rtol=1e-14)


def test_truncated_bptt_does_not_reach_earlier_steps():
    lstm = L.LSTM(4, rng=np.random.default_rng(0))
    x = ag.Variable(np.ones((1, 2)))
    loss = F.sum(lstm(x))
    loss.backward()
    loss.unchain_backward()
    lstm.cleargrads()
    x.cleargrad()
    # the next segment starts from the unchained state: x (used only before) gets no gradient
    loss2 = F.sum(lstm(np.ones((1, 2))))
    loss2.backward()
    assert x.grad is None
    assert lstm.h2f.w.grad is not None


def _composed_step(x, wx, b, wh=None, h=None, c=None):
    """The seed's LSTM step written with the elementary functions."""
    a = [
        F.linear(x, w, bk) if h is None else F.linear(x, w, bk) + F.matmul(h, v)
        for w, bk, v in zip(wx, b, wh or [None] * 4)
    ]
    f, i, o, u = F.sigmoid(a[0]), F.sigmoid(a[1]), F.sigmoid(a[2]), F.tanh(a[3])
    c = i * u if c is None else f * c + i * u
    return o * F.tanh(c), c


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_lstm_cell_is_the_composed_step(dtype):
    from autograd._core import ops

    rng = np.random.default_rng(0)
    arrays = (
        [rng.normal(size=(3, 2))]
        + [rng.normal(size=(2, 4)) for _ in range(4)]
        + [rng.normal(size=(1, 4)) for _ in range(4)]
        + [rng.normal(size=(4, 4)) for _ in range(4)]
        + [rng.normal(size=(3, 4)), rng.normal(size=(3, 4))]
    )
    arrays = [a.astype(dtype) for a in arrays]

    def run(step, first):
        vs = [ag.Variable(a.copy()) for a in arrays]
        x, wx, b, wh, h, c = vs[0], vs[1:5], vs[5:9], vs[9:13], vs[13], vs[14]
        hn, cn = step(x, wx, b) if first else step(x, wx, b, wh, h, c)
        F.sum(hn * np.linspace(0.5, 1.5, 12).reshape(3, 4) + cn * cn).backward()
        return hn.data, cn.data, [None if v.grad is None else v.grad.data for v in vs]

    for first in (True, False):
        fh, fc, fg = run(ops.lstm_cell, first)
        sh, sc, sg = run(_composed_step, first)
        np.testing.assert_array_equal(fh, sh)  # the same arithmetic: the same bits
        np.testing.assert_array_equal(fc, sc)
        for a, b in zip(fg, sg):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(
                    a,
                    b,
                    rtol=1e-5 if dtype == np.float32 else 1e-12,
                    atol=1e-6 if dtype == np.float32 else 1e-14,
                )


def test_lstm_cell_with_one_feature_sums_as_the_go_loop():
    # one input feature: its products are Go's loop as well, 0 + x*w, which is +0 where
    # x*w is -0 (a plain multiplication would keep -0 through c = i * tanh(a))
    from autograd._core import ops

    x = ag.Variable(np.array([[-1.0], [2.0]]))
    wx = [ag.Variable(np.array([[0.0, 1.5]])) for _ in range(4)]
    b = [ag.Variable(np.full((1, 2), -0.0)) for _ in range(4)]
    h, c = ops.lstm_cell(x, wx, b)
    hc, cc = _composed_step(x, wx, b)
    assert h.data.tobytes() == hc.data.tobytes() and c.data.tobytes() == cc.data.tobytes()
    assert not np.signbit(c.data[0, 0]) and not np.signbit(h.data[0, 0])


def test_fused_lstm_cell_second_order():
    from helpers import check_first, check_second

    from autograd._core import ops

    rng = np.random.default_rng(1)
    shapes = [(2, 2)] + [(2, 3)] * 4 + [(1, 3)] * 4 + [(3, 3)] * 4 + [(2, 3), (2, 3)]
    arrays = [rng.normal(scale=0.7, size=s) for s in shapes]

    def step(*vs):
        h, c = ops.lstm_cell(vs[0], vs[1:5], vs[5:9], vs[9:13], vs[13], vs[14])
        return h * 2.0 + c

    check_first(step, arrays, rng)
    check_second(step, arrays, rng)


def _joined_arrays(rng, batch, n_in, n, dtype):
    """x, the list form's 4 input weights, 4 biases, 4 hidden weights, h, c."""
    arrays = (
        [rng.normal(size=(batch, n_in))]
        + [rng.normal(size=(n_in, n)) for _ in range(4)]
        + [rng.normal(size=(1, n)) for _ in range(4)]
        + [rng.normal(scale=0.5, size=(n, n)) for _ in range(4)]
        + [rng.normal(size=(batch, n)), rng.normal(size=(batch, n))]
    )
    return [a.astype(dtype) for a in arrays]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_in", [1, 3])
@pytest.mark.parametrize("first", [True, False])
def test_lstm_cell_joined_gates_are_the_list_form(dtype, n_in, first):
    # The gates side by side, w (in, 4H), b (1, 4H), wh (H, 4H): the same BLAS calls as
    # the list form, so h, c and every gradient are its numbers to the last bit.
    from autograd._core import ops

    arrays = _joined_arrays(np.random.default_rng(3), 5, n_in, 7, dtype)
    weights = np.linspace(0.5, 1.5, 35).reshape(5, 7).astype(dtype)

    def run(joined):
        vs = [ag.Variable(a.copy()) for a in arrays]
        x, wx, b, wh, h, c = vs[0], vs[1:5], vs[5:9], vs[9:13], vs[13], vs[14]
        if joined:
            wx, b, wh = (
                ag.Variable(np.concatenate([v.data for v in part], axis=1)) for part in (wx, b, wh)
            )
            ins = [x, wx, b, wh, h, c]
        else:
            ins = vs
        hn, cn = ops.lstm_cell(x, wx, b) if first else ops.lstm_cell(x, wx, b, wh, h, c)
        F.sum(hn * weights + cn * cn).backward()
        grads = [None if v.grad is None else v.grad.data for v in ins]
        if not joined:  # the list form's gradients, joined as the joined form's are
            f_unused = [np.zeros_like(a) for a in arrays[1:2] + arrays[5:6]]
            g = grads
            wx_g = [f_unused[0] if first and k == 0 else g[1 + k] for k in range(4)]
            b_g = [f_unused[1] if first and k == 0 else g[5 + k] for k in range(4)]
            grads = [g[0], np.concatenate(wx_g, 1), np.concatenate(b_g, 1)]
            grads += [None if first else np.concatenate(g[9:13], 1), g[13], g[14]]
        return hn.data, cn.data, grads

    jh, jc, jg = run(True)
    lh, lc, lg = run(False)
    assert jh.dtype == dtype and jh.shape == (5, 7) and jc.shape == (5, 7)
    np.testing.assert_array_equal(jh, lh)
    np.testing.assert_array_equal(jc, lc)
    for a, b in zip(jg, lg):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.dtype == dtype
            np.testing.assert_array_equal(a, b)
    # and the list form is the composed step (values to the last bit)
    vs = [ag.Variable(a.copy()) for a in arrays]
    ch, cc = (
        _composed_step(vs[0], vs[1:5], vs[5:9])
        if first
        else _composed_step(vs[0], vs[1:5], vs[5:9], vs[9:13], vs[13], vs[14])
    )
    np.testing.assert_array_equal(jh, ch.data)
    np.testing.assert_array_equal(jc, cc.data)


@pytest.mark.parametrize("first", [True, False])
def test_lstm_cell_joined_gates_first_and_second_order(first):
    from helpers import check_first, check_second

    from autograd._core import ops

    rng = np.random.default_rng(4)
    arrays = [
        rng.normal(scale=0.7, size=s) for s in [(2, 2), (2, 12), (1, 12), (3, 12), (2, 3), (2, 3)]
    ]

    def step(*vs):
        if first:
            h, c = ops.lstm_cell(vs[0], vs[1], vs[2])
        else:
            h, c = ops.lstm_cell(*vs)
        return h * 2.0 + c

    check_first(step, arrays[:3] if first else arrays, rng)
    check_second(step, arrays[:3] if first else arrays, rng)


def test_lstm_cell_joined_gates_float32_gradients():
    from autograd._core import ops

    rng = np.random.default_rng(5)
    arrays = [rng.normal(size=s) for s in [(4, 3), (3, 8), (1, 8), (2, 8), (4, 2), (4, 2)]]

    def grads(dtype):
        vs = [ag.Variable(a.astype(dtype)) for a in arrays]
        h, c = ops.lstm_cell(*vs)
        F.sum(h * h + c).backward()
        return [v.grad.data for v in vs]

    for g32, g64 in zip(grads(np.float32), grads(np.float64)):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)


def test_lstm_cell_joined_gates_bad_input():
    from autograd._core import ops

    x, w, b = np.ones((2, 3)), np.ones((3, 8)), np.zeros((1, 8))
    wh, h, c = np.ones((2, 8)), np.ones((2, 2)), np.ones((2, 2))
    with pytest.raises(ValueError, match=r"does not fit input weights of shape \(3, 7\)"):
        ops.lstm_cell(x, np.ones((3, 7)), b)
    with pytest.raises(ValueError, match=r"does not fit input weights of shape \(4, 8\)"):
        ops.lstm_cell(x, np.ones((4, 8)), b)
    with pytest.raises(ValueError, match=r"a bias of shape \(1, 4\)"):
        ops.lstm_cell(x, w, np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"hidden weights of shape \(3, 8\); expected \(2, 8\)"):
        ops.lstm_cell(x, w, b, np.ones((3, 8)), h, c)
    with pytest.raises(ValueError, match=r"h of shape \(3, 2\) does not fit a batch of 2"):
        ops.lstm_cell(x, w, b, wh, np.ones((3, 2)), c)
    with pytest.raises(ValueError, match=r"c of shape \(2, 3\)"):
        ops.lstm_cell(x, w, b, wh, h, np.ones((2, 3)))
    with pytest.raises(ValueError, match="h given without the hidden weights"):
        ops.lstm_cell(x, w, b, None, h, c)
    h1, c1 = ops.lstm_cell(x, w, b.reshape(-1))  # a (4H,) bias fits too
    assert h1.shape == c1.shape == (2, 2)


def test_lstm_gates_joined_kernels():
    from autograd._core.kernels import lstm_gates, lstm_gates_cat, lstm_gates_cat_backward

    rng = np.random.default_rng(6)
    a, c0 = rng.normal(size=(3, 8)), rng.normal(size=(3, 2))
    h, c, (g, tc) = lstm_gates_cat(a, c0)
    lh, lc, (f, i, o, u, ltc) = lstm_gates(a[:, :2], a[:, 2:4], a[:, 4:6], a[:, 6:], c0)
    np.testing.assert_array_equal(h, lh)
    np.testing.assert_array_equal(c, lc)
    np.testing.assert_array_equal(g, np.concatenate([f, i, o, u], 1))
    np.testing.assert_allclose(h, 1 / (1 + np.exp(-a[:, 4:6])) * np.tanh(c), rtol=1e-14)
    gh = rng.normal(size=(3, 2))
    da, gc0 = lstm_gates_cat_backward((g, tc), None, gh, None)
    np.testing.assert_array_equal(da[:, :2], 0.0)  # no previous cell: f is not used
    np.testing.assert_allclose(gc0, gh * o * (1 - tc * tc) * f, rtol=1e-14)
    with pytest.raises(TypeError, match="float32 or float64 expected"):
        lstm_gates_cat(a.astype(np.int64), None)
    with pytest.raises(ValueError, match=r"expected \(B, 4H\) pre-activations"):
        lstm_gates_cat(a[:, :7], None)
    with pytest.raises(ValueError, match="does not match"):
        lstm_gates_cat(a, c0[:, :1])
    with pytest.raises(ValueError, match="saved gates of different layouts"):
        lstm_gates_cat_backward((g[:, :4], tc), None, gh, None)
