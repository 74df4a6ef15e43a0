"""Shared checks: first and second derivatives against central differences.

The second-order check differentiates the create_graph gradient and compares it with
central differences of the *plain* first-order gradient, so an error in either
backward (the array one or the differentiable one) fails it; and the create_graph
gradient's value must equal the plain one.
"""
import numpy as np

import autograd as ag
import autograd.functions as F


def weighted(f, out_shape, rng):
    """``sum(f(*xs) * W)`` with fixed random W: a scalar whose gradient is not all ones."""
    w = rng.uniform(0.5, 1.5, size=out_shape)
    return lambda *vs: F.sum(f(*vs) * w)


def check_first(f, arrays, rng, atol=1e-6, rtol=1e-5):
    xs = [ag.Variable(a.copy()) for a in arrays]
    out_shape = f(*xs).shape
    loss = weighted(f, out_shape, rng)
    assert ag.numerical.gradcheck(loss, xs, atol=atol, rtol=rtol)


def _grads(loss, xs, create_graph):
    for v in xs:
        v.cleargrad()
    loss(*xs).backward(create_graph=create_graph)
    grads = [v.grad for v in xs]
    for v in xs:
        v.cleargrad()
    return grads


def check_second(f, arrays, rng, atol=1e-5, rtol=1e-4):
    xs = [ag.Variable(a.copy()) for a in arrays]
    out_shape = f(*xs).shape
    loss = weighted(f, out_shape, rng)
    r = [rng.uniform(0.5, 1.5, size=a.shape) for a in arrays]

    def projected(create_graph):
        def g(*vs):
            total = ag.Variable(0.0)
            for gi, ri in zip(_grads(loss, vs, create_graph), r):
                if gi is not None:
                    total = total + F.sum(gi * ri)
            return total
        return g

    # the create_graph gradient has the plain gradient's value
    plain = _grads(loss, xs, False)
    graph = _grads(loss, xs, True)
    for gp, gg in zip(plain, graph):
        assert (gp is None) == (gg is None)
        if gp is not None:
            np.testing.assert_allclose(gg.data, gp.data, rtol=1e-12, atol=1e-14)

    # d/dx of the create_graph gradient against differences of the plain gradient
    numeric = ag.numerical.diff(projected(False), xs)
    for v in xs:
        v.cleargrad()
    projected(True)(*xs).backward()
    for k, (x, num) in enumerate(zip(xs, numeric)):
        ana = np.zeros_like(x.data) if x.grad is None else x.grad.data
        np.testing.assert_allclose(ana, num, atol=atol, rtol=rtol,
                                   err_msg=f"second derivative, input {k}")
