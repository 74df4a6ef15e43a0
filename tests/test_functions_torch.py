"""The functions beyond the seed against PyTorch at float64: values, first derivatives
and second derivatives (the gradient of a weighted sum of the first derivatives),
including the conventions at ties and kinks. Skipped without torch."""

import numpy as np
import pytest

import autograd as ag
import autograd.functions as F

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(11)
A = RNG.uniform(-1.5, 1.5, (2, 3))
B = RNG.uniform(-1.5, 1.5, (3,))
P = RNG.uniform(0.5, 2.0, (2, 3))
TIES = np.array([[0.0, 1.0, -1.0], [2.0, 0.0, 0.5]])  # kinks and ties on purpose
COND = np.array([[True, False, True], [False, True, False]])
T01 = np.array([[0.0, 1.0, 0.3], [1.0, 0.0, 0.5]])
M33 = RNG.uniform(-1, 1, (3, 3))

# name: (ours, torch's, inputs)
CASES = {
    "abs": (F.abs, torch.abs, [A]),
    "abs_at_0": (F.abs, torch.abs, [TIES]),
    "sqrt": (F.sqrt, torch.sqrt, [P]),
    "maximum": (F.maximum, torch.maximum, [A, B]),
    "maximum_ties": (F.maximum, torch.maximum, [TIES, TIES[::-1]]),
    "minimum_ties": (F.minimum, torch.minimum, [TIES, np.zeros(3)]),
    "where": (
        lambda a, b: F.where(COND, a, b),
        lambda a, b: torch.where(torch.tensor(COND), a, b),
        [A, B],
    ),
    "leaky_relu": (
        lambda x: F.leaky_relu(x, 0.1),
        lambda x: torch.nn.functional.leaky_relu(x, 0.1),
        [TIES],
    ),
    "relu_at_0": (F.relu, torch.relu, [TIES]),
    "softplus": (F.softplus, torch.nn.functional.softplus, [A * 3]),
    "log1p": (F.log1p, torch.log1p, [P]),
    "stack": (lambda a, b: F.stack([a, b], 1), lambda a, b: torch.stack([a, b], 1), [A, A[::-1]]),
    "flatten": (F.flatten, lambda x: torch.flatten(x, 1), [RNG.normal(size=(2, 3, 2))]),
    "logsumexp": (lambda x: F.logsumexp(x, 1), lambda x: torch.logsumexp(x, 1), [A]),
    "logsumexp_all": (F.logsumexp, lambda x: torch.logsumexp(x, (0, 1)), [A]),
    "norm": (F.norm, torch.linalg.norm, [A]),
    "norm_axis": (
        lambda x: F.norm(x, 1, True),
        lambda x: torch.linalg.norm(x, dim=1, keepdim=True),
        [A],
    ),
    "cumsum": (lambda x: F.cumsum(x, 1), lambda x: torch.cumsum(x, 1), [A]),
    "einsum_bilinear": (
        lambda a, m, b: F.einsum("i,ij,j->", a, m, b),
        lambda a, m, b: torch.einsum("i,ij,j->", a, m, b),
        [B, M33, B[::-1]],
    ),
    "einsum_ellipsis": (
        lambda a, b: F.einsum("...ij,jk->...ik", a, b),
        lambda a, b: torch.einsum("...ij,jk->...ik", a, b),
        [RNG.normal(size=(2, 2, 3)), M33],
    ),
    "einsum_trace": (lambda m: F.einsum("ii", m), lambda m: torch.einsum("ii", m), [M33]),
    "bce": (
        lambda x: F.binary_cross_entropy(F.sigmoid(x), T01),
        lambda x: torch.nn.functional.binary_cross_entropy(torch.sigmoid(x), torch.tensor(T01)),
        [A],
    ),
    "bce_logits": (
        lambda x: F.binary_cross_entropy_with_logits(x, T01),
        lambda x: torch.nn.functional.binary_cross_entropy_with_logits(x, torch.tensor(T01)),
        [A * 4],
    ),
    "huber": (
        lambda y: F.huber_loss(y, T01, 0.5),
        lambda y: torch.nn.functional.huber_loss(y, torch.tensor(T01), delta=0.5),
        [A],
    ),
    "clip": (lambda x: F.clip(x, -0.5, 0.5), lambda x: torch.clamp(x, -0.5, 0.5), [A]),
}


def ours(f, arrays):
    xs = [ag.Variable(a.copy()) for a in arrays]
    y = f(*xs)
    w = np.linspace(0.5, 1.5, y.size).reshape(y.shape)
    F.sum(y * w).backward(create_graph=True)
    first = [x.grad for x in xs]
    for x in xs:
        x.cleargrad()
    total = sum(
        F.sum(g * np.cos(np.arange(g.size).reshape(g.shape))) for g in first if g is not None
    )
    second = None
    if isinstance(total, ag.Variable) and total.creator is not None:
        total.backward()
        second = [None if x.grad is None else x.grad.data for x in xs]
    elif isinstance(total, ag.Variable):
        # the first derivatives are constants (piecewise-linear functions: a mask times
        # the seed), which record no graph: the second derivative is zero, and the values
        # compared below still catch a backward that should depend on x but does not
        second = [None for x in xs]
    return y.data, [None if g is None else g.data for g in first], second


def theirs(f, arrays):
    xs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    y = f(*xs)
    w = torch.tensor(np.linspace(0.5, 1.5, y.numel()).reshape(tuple(y.shape)))
    first = torch.autograd.grad((y * w).sum(), xs, create_graph=True, allow_unused=True)
    parts = [
        (g * torch.tensor(np.cos(np.arange(g.numel()).reshape(tuple(g.shape))))).sum()
        for g in first
        if g is not None and g.requires_grad
    ]
    second = None
    if parts:
        second = torch.autograd.grad(sum(parts), xs, allow_unused=True)
        second = [None if s is None else s.numpy(force=True) for s in second]
    return y.detach().numpy(), [None if g is None else g.detach().numpy() for g in first], second


@pytest.mark.parametrize("name", sorted(CASES))
def test_against_pytorch(name):
    f, g, arrays = CASES[name]
    y, first, second = ours(f, arrays)
    ty, tfirst, tsecond = theirs(g, arrays)
    np.testing.assert_allclose(y, ty, rtol=1e-12, atol=1e-14)
    for a, b in zip(first, tfirst):
        np.testing.assert_allclose(
            np.zeros(1) if a is None else a, np.zeros(1) if b is None else b, rtol=1e-10, atol=1e-12
        )
    if tsecond is not None:
        assert second is not None, "PyTorch has a second derivative where we have none"
        for a, b in zip(second, tsecond):
            np.testing.assert_allclose(
                0 if a is None else a, 0 if b is None else b, rtol=1e-9, atol=1e-12
            )


def test_einsum_broadcasts_a_size_one_label_back():
    a = np.arange(2.0).reshape(2, 1) + 1
    b = np.arange(6.0).reshape(2, 3)
    ours_a, ours_b = ag.Variable(a), ag.Variable(b)
    F.sum(F.einsum("ij,kj->ik", ours_a, ours_b)).backward()
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a, b))
    torch.einsum("ij,kj->ik", ta, tb).sum().backward()
    np.testing.assert_allclose(ours_a.grad.data, ta.grad.numpy())
    np.testing.assert_allclose(ours_b.grad.data, tb.grad.numpy())
