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
    opt.update(m)                       # v = -0.1, p = 0.9
    np.testing.assert_allclose(m.p.data, [0.9])
    m.set_grad([1.0])
    opt.update(m)                       # v = 0.9 * -0.1 - 0.1 = -0.19, p = 0.71
    np.testing.assert_allclose(m.p.data, [0.71])


def adam_by_hand(p, grads, alpha, b1, b2, wd=0.0):
    m = v = 0.0
    for t, g in enumerate(grads, start=1):
        lr = alpha * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
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
    np.testing.assert_allclose(m.p.data, [adam_by_hand(1.0, [0.5, -0.2, 0.3], 0.01, 0.9, 0.999)],
                               rtol=1e-14)
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
    np.testing.assert_allclose(m.p.data, [adam_by_hand(2.0, [0.5, 0.5], 0.01, 0.9, 0.999, 0.1)],
                               rtol=1e-14)


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
    H.ClipGrad(1.0)([m.a, m.b])          # norm below max: unchanged
    np.testing.assert_allclose([m.a.grad.data[0], m.b.grad.data[0]], [0.3, 0.4])


def test_clip_grad_does_not_scale_a_shared_gradient_twice():
    class Two(L.Layer):
        def __init__(self):
            super().__init__()
            self.a = L.Parameter(np.array([1.0]))
            self.b = L.Parameter(np.array([1.0]))

    m = Two()
    (m.a + m.b).backward()               # both grads may share one array
    H.ClipGrad(0.5)([m.a, m.b])
    expected = 0.5 / (math.sqrt(2) + 1e-6)
    np.testing.assert_allclose([m.a.grad.data[0], m.b.grad.data[0]], [expected, expected])


@pytest.mark.parametrize("make", [lambda: O.SGD(lr=-1), lambda: O.Adam(beta1=1.0),
                                  lambda: O.Momentum(momentum=2), lambda: H.ClipGrad(-1),
                                  lambda: O.SGD(hooks=[3])])
def test_bad_settings(make):
    with pytest.raises((ValueError, TypeError)):
        make()


def test_update_needs_a_model():
    with pytest.raises(TypeError, match="params"):
        O.SGD().update(42)
