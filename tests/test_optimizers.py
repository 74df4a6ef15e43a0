"""Optimizers' first steps against hand-computed values; hooks."""

import math

import numpy as np
import pytest

import autograd.hooks as H
import autograd.layers as L
import autograd.optimizers as O


class One(L.Layer):
    """A model with one parameter whose gradient we set by hand."""

    def __init__(self, value, dtype=np.float64):
        super().__init__()
        self.p = L.Parameter(np.array(value, dtype=dtype))

    def set_grad(self, g):
        self.p.grad = np.array(g, dtype=self.p.dtype)


def test_sgd():
    m = One([1.0, 2.0])
    m.set_grad([0.5, -1.0])
    O.SGD(lr=0.1).update(m)
    np.testing.assert_allclose(m.p.data, [0.95, 2.1])


def test_momentum_two_steps():
    m = One([1.0])
    opt = O.Momentum(lr=0.1, momentum=0.9)
    m.set_grad([1.0])
    opt.update(m)  # v = -0.1, p = 0.9
    np.testing.assert_allclose(m.p.data, [0.9])
    m.set_grad([1.0])
    opt.update(m)  # v = 0.9 * -0.1 - 0.1 = -0.19, p = 0.71
    np.testing.assert_allclose(m.p.data, [0.71])


def adam_by_hand(p, grads, alpha, b1, b2, wd=0.0):
    m = v = 0.0
    for t, g in enumerate(grads, start=1):
        lr = alpha * math.sqrt(1 - b2**t) / (1 - b1**t)
        m = m + (1 - b1) * (g - m)
        v = v + (1 - b2) * (g * g - v)
        # the Adam step, then AdamW's shrink (the seed's order; 1 when wd = 0)
        p = (p - lr * m / (math.sqrt(v) + 1e-8)) * (1 - lr * wd)
    return p


def test_adam_first_steps():
    m = One([1.0])
    opt = O.Adam(alpha=0.01, beta1=0.9, beta2=0.999)
    for g in (0.5, -0.2, 0.3):
        m.set_grad([g])
        opt.update(m)
    np.testing.assert_allclose(
        m.p.data, [adam_by_hand(1.0, [0.5, -0.2, 0.3], 0.01, 0.9, 0.999)], rtol=1e-14
    )
    # the first step moves by alpha: bias correction folded into the learning rate
    m2 = One([0.0])
    m2.set_grad([123.0])
    O.Adam(alpha=0.01).update(m2)
    np.testing.assert_allclose(m2.p.data, [-0.01], rtol=1e-6)


def test_adamw_first_steps():
    m = One([2.0])
    opt = O.AdamW(alpha=0.01, weight_decay=0.1)
    for g in (0.5, 0.5):
        m.set_grad([g])
        opt.update(m)
    np.testing.assert_allclose(
        m.p.data, [adam_by_hand(2.0, [0.5, 0.5], 0.01, 0.9, 0.999, 0.1)], rtol=1e-14
    )


def test_only_parameters_with_grads_are_touched_and_float32_stays():
    m = One([1.0, 2.0], dtype=np.float32)
    before = m.p.data.copy()
    O.Adam().update(m)
    np.testing.assert_array_equal(m.p.data, before)
    for opt in (O.SGD(), O.Momentum(), O.Adam(), O.AdamW()):
        m.set_grad([0.1, 0.2])
        opt.update(m)
        assert m.p.dtype == np.float32


def test_weight_decay_hook():
    m = One([2.0])
    m.set_grad([0.5])
    O.SGD(lr=0.1, hooks=[H.WeightDecay(0.1)]).update(m)
    np.testing.assert_allclose(m.p.data, [2.0 - 0.1 * (0.5 + 0.1 * 2.0)])


def test_clip_grad_hook_global_norm():
    class Two(L.Layer):
        def __init__(self):
            super().__init__()
            self.a = L.Parameter(np.array([0.0]))
            self.b = L.Parameter(np.array([0.0]))

    m = Two()
    m.a.grad = np.array([3.0])
    m.b.grad = np.array([4.0])
    H.ClipGrad(1.0)([m.a, m.b])
    rate = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose([m.a.grad.data[0], m.b.grad.data[0]], [3 * rate, 4 * rate])
    m.a.grad = np.array([0.3])
    m.b.grad = np.array([0.4])
    H.ClipGrad(1.0)([m.a, m.b])  # norm below max: unchanged
    np.testing.assert_allclose([m.a.grad.data[0], m.b.grad.data[0]], [0.3, 0.4])


def test_clip_grad_does_not_scale_a_shared_gradient_twice():
    class Two(L.Layer):
        def __init__(self):
            super().__init__()
            self.a = L.Parameter(np.array([1.0]))
            self.b = L.Parameter(np.array([1.0]))

    m = Two()
    (m.a + m.b).backward()  # both grads may share one array
    H.ClipGrad(0.5)([m.a, m.b])
    expected = 0.5 / (math.sqrt(2) + 1e-6)
    np.testing.assert_allclose([m.a.grad.data[0], m.b.grad.data[0]], [expected, expected])


@pytest.mark.parametrize(
    "make",
    [
        lambda: O.SGD(lr=-1),
        lambda: O.Adam(beta1=1.0),
        lambda: O.Momentum(momentum=2),
        lambda: H.ClipGrad(-1),
        lambda: O.SGD(hooks=[3]),
    ],
)
def test_bad_settings(make):
    with pytest.raises((ValueError, TypeError)):
        make()


def test_update_needs_a_model():
    with pytest.raises(TypeError, match="params"):
        O.SGD().update(42)


def _by_numpy(kind, p, grads):
    """The updates as the NumPy expressions the optimizers were before each became one
    compiled pass (the defaults' settings, lr 0.01)."""
    p = p.copy()
    a, b = np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        if kind == "Momentum":
            a *= 0.9
            a -= 0.01 * g
            p += a
        elif kind in ("Adam", "AdamW"):
            rate = 0.01 * math.sqrt(1.0 - 0.999**t) / (1.0 - 0.9**t)
            a += (1 - 0.9) * (g - a)
            b += (1 - 0.999) * (g * g - b)
            p -= rate * a / (np.sqrt(b) + 1e-8)
            if kind == "AdamW":
                p *= 1 - rate * 0.01
        elif kind == "RMSprop":
            a *= 0.99
            a += (1 - 0.99) * (g * g)
            p -= 0.01 * (g / (np.sqrt(a) + 1e-8))
        elif kind == "Adagrad":
            a += g * g
            p -= 0.01 * (g / (np.sqrt(a) + 1e-10))
        else:
            p -= 0.01 * g
    return p


KINDS = ["SGD", "Momentum", "Adam", "AdamW", "RMSprop", "Adagrad"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_updates_keep_the_numpy_expressions_bits(kind, dtype):
    rng = np.random.default_rng(5)
    for shape in ((3,), (64, 40)):  # below and above the old small/large split
        p0 = rng.normal(size=shape).astype(dtype)
        grads = [rng.normal(size=shape).astype(dtype) for _ in range(3)]
        m = One(p0.copy(), dtype)
        opt = getattr(O, kind)(m, lr=0.01)
        for g in grads:
            m.set_grad(g)
            opt.step()
        assert m.p.dtype == dtype
        expected = _by_numpy(kind, p0, grads)
        np.testing.assert_array_equal(m.p.data.view(np.uint8), expected.view(np.uint8))


@pytest.mark.parametrize("kind", KINDS)
def test_updates_of_read_only_and_strided_parameters(kind):
    base = np.arange(12.0).reshape(3, 4) / 7
    for data in (base.T, base[:, ::2], np.broadcast_to(base[0], (2, 4))):
        m = One(0.0)
        m.p.data = data
        grad = np.full(data.shape, 0.25)
        m.p.grad = grad[::-1]  # a strided gradient too
        getattr(O, kind)(m, lr=0.01).step()
        assert m.p.data.flags.c_contiguous and m.p.data.flags.writeable
        np.testing.assert_array_equal(m.p.data, _by_numpy(kind, np.array(data), [grad]))
        np.testing.assert_array_equal(base, np.arange(12.0).reshape(3, 4) / 7)  # untouched


@pytest.mark.parametrize("kind", ["Momentum", "Adam", "RMSprop", "Adagrad"])
def test_state_follows_a_parameter_that_changed_dtype_or_came_in_fortran_order(kind):
    m = One(np.ones((3, 2)))
    opt = getattr(O, kind)(m, lr=0.01)
    m.set_grad(np.ones((3, 2)))
    opt.step()
    m.p.data = m.p.data.astype(np.float32)  # the state is float64
    m.set_grad(np.full((3, 2), 0.5))
    opt.step()
    assert m.p.dtype == np.float32
    assert all(a.dtype == np.float32 for a in opt.state[id(m.p)][1])
    # a state dict whose arrays are in Fortran order gives the C-order state's result
    state = opt.state_dict()
    twin = One(m.p.data.copy(), np.float32)
    other = getattr(O, kind)(twin, lr=0.01)
    fortran = {
        k: {s: np.asfortranarray(a) for s, a in v.items()} for k, v in state["state"].items()
    }
    other.load_state_dict(dict(state, state=fortran))
    g = np.arange(6, dtype=np.float32).reshape(3, 2)
    m.set_grad(g)
    twin.set_grad(g)
    opt.step()
    other.step()
    np.testing.assert_array_equal(twin.p.data, m.p.data)
