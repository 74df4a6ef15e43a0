"""Shared checks: first and second derivatives against central differences."""
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


def check_second(f, arrays, rng, atol=1e-5, rtol=1e-4):
    xs = [ag.Variable(a.copy()) for a in arrays]
    out_shape = f(*xs).shape
    loss = weighted(f, out_shape, rng)
    r = [rng.uniform(0.5, 1.5, size=a.shape) for a in arrays]

    def projected_grads(*vs):
        for v in vs:
            v.cleargrad()
        loss(*vs).backward(create_graph=True)
        grads = [v.grad for v in vs]
        for v in vs:
            v.cleargrad()
        total = ag.Variable(0.0)
        for g, ri in zip(grads, r):
            if g is not None:
                total = total + F.sum(g * ri)
        return total

    assert ag.numerical.gradcheck(projected_grads, xs, atol=atol, rtol=rtol)
