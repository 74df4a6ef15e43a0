"""ag.grad (gradients as values), requires_grad and detach."""

import gc
import tracemalloc

import numpy as np
import pytest

import autograd as ag
import autograd.functional as AF
import autograd.functions as F
import autograd.layers as L
import autograd.optimizers as O


class Boom(ag.Function):
    """An identity whose backward must never run."""

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        raise AssertionError("the walk went behind the inputs")


# ------------------------------------------------------------------ ag.grad


def test_grad_of_a_scalar_function():
    x = ag.variable(3.0)
    g = ag.grad(x**3.0, x)
    assert isinstance(g, ag.Variable)
    np.testing.assert_allclose(g.data, [27.0])
    assert x.grad is None


def test_grad_leaves_every_grad_untouched():
    rng = np.random.default_rng(0)
    a = ag.Variable(rng.normal(size=(3, 4)))
    b = ag.Variable(rng.normal(size=(4,)))
    h = F.tanh(a * b)
    y = F.sum(h**2.0)
    marker = ag.Variable(np.full((3, 4), 7.0))
    a.grad = marker
    for create_graph in (False, True):
        ga, gb, gh = ag.grad(y, [a, b, h], create_graph=create_graph)
        assert a.grad is marker and b.grad is None and h.grad is None and y.grad is None
        t = np.tanh(a.data * b.data)
        np.testing.assert_allclose(gh.data, 2 * t)
        np.testing.assert_allclose(ga.data, 2 * t * (1 - t**2) * b.data)
        np.testing.assert_allclose(gb.data, (2 * t * (1 - t**2) * a.data).sum(axis=0))


def test_grad_equals_backward():
    rng = np.random.default_rng(1)
    x = ag.Variable(rng.normal(size=(5, 3)))
    w = ag.Variable(rng.normal(size=(3, 2)))
    y = F.sum(F.sigmoid(F.matmul(x, w)) * 3.0)
    gx, gw = ag.grad(y, (x, w))
    y.backward()
    np.testing.assert_allclose(gx.data, x.grad.data, rtol=1e-14)
    np.testing.assert_allclose(gw.data, w.grad.data, rtol=1e-14)


def test_grad_returns_a_tuple_for_a_sequence_of_inputs():
    x = ag.variable(2.0)
    out = ag.grad(x * x, [x])
    assert isinstance(out, tuple) and len(out) == 1
    np.testing.assert_allclose(out[0].data, [4.0])


def test_second_derivative_of_sin_is_minus_sin():
    x = ag.Variable(np.linspace(-3, 3, 7))
    g1 = ag.grad(F.sum(F.sin(x)), x, create_graph=True)
    g2 = ag.grad(F.sum(g1), x, create_graph=True)
    g3 = ag.grad(F.sum(g2), x)
    np.testing.assert_allclose(g1.data, np.cos(x.data), rtol=1e-14)
    np.testing.assert_allclose(g2.data, -np.sin(x.data), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(g3.data, -np.cos(x.data), rtol=1e-14)
    assert x.grad is None


def test_tanh_tenth_derivative():
    x = ag.variable(1.0)
    g = F.tanh(x)
    for _ in range(10):
        g = ag.grad(g, x, create_graph=True)
    # reference: repeated create_graph backward
    x2 = ag.variable(1.0)
    F.tanh(x2).backward(create_graph=True)
    for _ in range(9):
        gx = x2.grad
        x2.cleargrad()
        gx.backward(create_graph=True)
    np.testing.assert_allclose(g.data, x2.grad.data, rtol=1e-12)


def _tanh_derivative(n, x):
    """The n-th derivative of tanh at x: a polynomial in t = tanh(x), with
    P_0 = t and P_{k+1} = P_k'(t) (1 - t**2)."""
    p = np.polynomial.Polynomial([0.0, 1.0])
    for _ in range(n):
        p = p.deriv() * np.polynomial.Polynomial([1.0, 0.0, -1.0])
    return p(np.tanh(x))


@pytest.mark.parametrize("order", [1, 2, 3, 4, 10])
@pytest.mark.parametrize(
    "value", [0.7, np.array([-1.5, -0.2, 0.0, 0.4, 2.0]), np.array([[0.3], [-0.8]], np.float32)]
)
def test_tanh_derivatives_against_their_polynomials(order, value):
    # scalars take the C-double path, arrays the compiled kernels, float32 its own;
    # the last step is a plain walk, the others create_graph ones
    x = ag.Variable(np.asarray(value))
    g = F.tanh(x)
    for k in range(order):
        (g,) = ag.grad([F.sum(g)], [x], create_graph=k < order - 1)
    expected = _tanh_derivative(order, np.asarray(value, np.float64))
    rtol = 1e-4 if x.dtype == np.float32 else 1e-12
    assert g.dtype == x.dtype
    np.testing.assert_allclose(g.data, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


def test_grad_with_respect_to_an_intermediate_walks_no_further():
    x = ag.Variable(np.array([0.5, -1.0]))
    h = Boom()(x) * 2.0
    y = F.sum(F.exp(h))
    gh = ag.grad(y, h)  # Boom's backward would raise
    np.testing.assert_allclose(gh.data, np.exp(h.data))


def test_grad_walks_only_branches_that_lead_to_an_input():
    x = ag.variable(1.5)
    c = ag.variable(2.0)
    y = x * 3.0 + Boom()(c) * 5.0  # the c branch leads to no input
    np.testing.assert_allclose(ag.grad(y, x).data, [3.0])


def test_grad_of_an_intermediate_and_what_lies_behind_it():
    x = ag.Variable(np.array([0.3, 0.7]))
    t = F.tanh(x)
    u = F.sum(F.sin(t) + t * x)
    gt, gx = ag.grad(u, [t, x])
    np.testing.assert_allclose(gt.data, np.cos(t.data) + x.data)
    np.testing.assert_allclose(gx.data, (np.cos(t.data) + x.data) * (1 - t.data**2) + t.data)


def test_grad_of_an_output_with_respect_to_itself_is_the_seed():
    x = ag.Variable(np.array([1.0, 2.0]))
    np.testing.assert_allclose(ag.grad(x, x).data, [1.0, 1.0])
    np.testing.assert_allclose(ag.grad(x, x, grad_outputs=np.array([3.0, 4.0])).data, [3.0, 4.0])


def test_grad_of_several_outputs_with_grad_outputs():
    a = ag.Variable(np.array([1.0, 2.0]))
    b = ag.Variable(np.array([3.0, 4.0]))
    y1 = a * b
    y2 = F.sum(a * a)
    ga, gb = ag.grad([y1, y2], [a, b], grad_outputs=[np.array([1.0, 10.0]), None])
    np.testing.assert_allclose(ga.data, [1.0 * 3.0 + 2.0, 10.0 * 4.0 + 4.0])
    np.testing.assert_allclose(gb.data, [1.0, 20.0])


def test_grad_outputs_as_variable_is_differentiable_with_create_graph():
    x = ag.Variable(np.array([1.0, 2.0]))
    v = ag.Variable(np.array([0.5, -1.0]))
    y = x**3.0
    g = ag.grad(y, x, grad_outputs=v, create_graph=True)  # v * 3x^2
    gv = ag.grad(F.sum(g), v)
    np.testing.assert_allclose(gv.data, 3 * x.data**2)


def test_unused_input_is_a_value_error_naming_it_or_zeros():
    x = ag.variable(1.0)
    z = ag.Variable(np.ones((2, 3)), name="z")
    y = x * 2.0
    with pytest.raises(ValueError, match="input 1.*'z'.*allow_unused"):
        ag.grad(y, [x, z])
    gx, gz = ag.grad(y, [x, z], allow_unused=True)
    np.testing.assert_allclose(gx.data, [2.0])
    assert gz.shape == (2, 3) and not gz.data.any()


def test_bad_arguments():
    x = ag.variable(1.0)
    y = x * 2.0
    with pytest.raises(TypeError, match="inputs"):
        ag.grad(y, np.ones(1))
    with pytest.raises(TypeError, match="outputs"):
        ag.grad(3.0, x)
    with pytest.raises(ValueError, match="shape"):
        ag.grad(y, x, grad_outputs=np.ones(3))
    with pytest.raises(ValueError, match="2 outputs but 1"):
        ag.grad([y, y], x, grad_outputs=[None])
    with pytest.raises(ValueError, match="empty"):
        ag.grad(y, [])


def test_a_failed_grad_leaves_the_graph_usable():
    x = ag.variable(2.0)
    y = x * 3.0
    x.data = np.array([5.0])  # stale: the walk refuses
    with pytest.raises(RuntimeError, match="assigned"):
        ag.grad(y, x)
    x2 = ag.variable(2.0)
    y2 = F.exp(x2)
    np.testing.assert_allclose(ag.grad(y2, x2).data, np.exp([2.0]))
    y2.backward()
    np.testing.assert_allclose(x2.grad.data, np.exp([2.0]))


def test_grad_nested_in_a_backward_sharing_nodes():
    x = ag.Variable(np.array([2.0]))
    seen = []

    class Inner(ag.Function):
        def forward(self, v):
            return v * v

        def backward(self, gy):
            (v,) = self.inputs
            if v.creator is not None or v.requires_grad:
                inner = v * 3.0
                if inner.requires_grad:
                    seen.append(float(ag.grad(inner, v).data[0]))
            return gy * 2.0 * v

    for create_graph in (False, True):
        seen.clear()
        h = x * 1.0
        y = Inner()(h) * h  # h**3
        g = ag.grad(y, x, create_graph=create_graph)
        np.testing.assert_allclose(g.data, [12.0])
        assert seen == ([3.0] if create_graph else [])
        assert x.grad is None


# ------------------------------------------------------------------ memory


def _tanh_sixth_backward(x):
    F.tanh(x).sum().backward(create_graph=True)
    for _ in range(5):
        gx = x.grad
        x.cleargrad()
        F.sum(gx).backward(create_graph=True)
    x.cleargrad()


def _tanh_sixth_grad(x):
    g = F.tanh(x)
    for _ in range(6):
        g = ag.grad(F.sum(g), x, create_graph=True)
    return g


@pytest.mark.parametrize("run", [_tanh_sixth_backward, _tanh_sixth_grad])
def test_higher_order_graphs_are_freed_without_the_collector(run):
    # 10,000 elements: one graph kept alive per run would hold about 15 MB, a single
    # array kept per run 80 KB, 4 MB over the 50 runs; either is far over the 1 MiB allowed
    x = ag.Variable(np.linspace(-2, 2, 10_000))
    gc.collect()
    gc.disable()
    try:
        run(x)
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(50):
            run(x)
        grown = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        assert grown < 1 << 20, f"memory grew by {grown} bytes over 50 runs"
        assert gc.collect() == 0, "the graphs made reference cycles"
    finally:
        gc.enable()


# ------------------------------------------------------------------ requires_grad, detach


def test_requires_grad_defaults_and_constructor():
    assert ag.Variable(1.0).requires_grad
    assert not ag.Variable(1.0, requires_grad=False).requires_grad
    with pytest.raises(TypeError, match="requires_grad"):
        ag.Variable(1.0, requires_grad="yes")


def test_operations_on_non_requiring_inputs_record_no_graph():
    a = ag.Variable(np.ones(3), requires_grad=False)
    b = ag.Variable(np.ones(3), requires_grad=False)
    y = F.exp(a * b + 1.0)
    assert y.creator is None and not y.requires_grad
    c = F.add(np.ones(3), np.ones(3))
    assert c.creator is None and not c.requires_grad
    x = ag.Variable(np.ones(3))
    z = x * a
    assert z.creator is not None and z.requires_grad


def test_backward_never_gives_a_gradient_to_a_non_requiring_variable():
    a = ag.Variable(np.array([2.0]), requires_grad=False)
    x = ag.Variable(np.array([3.0]))
    y = x * a + a**2.0
    y.backward()
    assert a.grad is None
    np.testing.assert_allclose(x.grad.data, [2.0])
    a.backward()  # a user leaf that requires no gradient: nothing happens
    assert a.grad is None


def test_backward_on_a_result_with_no_graph_is_a_runtime_error():
    x = ag.variable(1.0)
    with ag.no_grad():
        y = F.sin(x)
    assert not y.requires_grad
    with pytest.raises(RuntimeError, match="no_grad"):
        y.backward()
    with pytest.raises(RuntimeError, match="detach"):
        x.detach().backward()
    with pytest.raises(RuntimeError):
        F.exp(ag.Variable(1.0, requires_grad=False)).backward()


def test_requires_grad_is_settable_on_leaves_only():
    x = ag.variable(1.0)
    x.requires_grad = False
    assert not (x * 2.0).requires_grad
    x.requires_grad = True
    y = x * 2.0
    assert y.requires_grad
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False
    with pytest.raises(TypeError):
        x.requires_grad = 1


def test_detach_shares_data_and_cuts_the_graph():
    x = ag.Variable(np.array([1.0, 2.0]))
    h = x * 3.0
    d = h.detach()
    assert d.data is h.data and d.creator is None and not d.requires_grad and d.is_leaf
    y = F.sum(x * d)
    y.backward()
    np.testing.assert_allclose(x.grad.data, d.data)
    assert d.grad is None


def test_grads_are_constants():
    x = ag.variable(2.0)
    (x * x).backward()
    assert not x.grad.requires_grad


def test_frozen_layer_gets_no_gradient_and_optimizer_skips_it():
    rng = np.random.default_rng(0)
    layer = L.Linear(3, in_size=4)
    x = rng.normal(size=(5, 4))
    F.sum(layer(x)).backward()  # gradients left over from before freezing
    assert layer.requires_grad_(False) is layer
    assert all(not p.requires_grad for p in layer.params().values())
    before = [p.data.copy() for p in layer.params().values()]
    y = F.sum(layer(x))
    assert not y.requires_grad
    O.SGD(lr=0.1).update(layer)
    for b, p in zip(before, layer.params().values()):
        np.testing.assert_array_equal(b, p.data)
    layer.requires_grad_(True)
    layer.cleargrads()
    F.sum(layer(x)).backward()
    assert all(p.grad is not None for p in layer.params().values())
    O.SGD(lr=0.1).update(layer)
    assert not np.array_equal(before[0], layer.params()["w"].data)


def test_variable_requires_grad_underscore():
    x = ag.variable(1.0).requires_grad_(False)
    assert not x.requires_grad
    assert x.requires_grad_() is x and x.requires_grad


def test_no_library_made_cycle_at_any_order():
    rng = np.random.default_rng(0)
    cases = [
        lambda x, w: F.sum(F.matmul(x.reshape(2, 3), w) ** 2.0),
        lambda x, w: F.mean(F.sigmoid(x) - np.ones(6)),
        lambda x, w: F.sum(F.softmax(x.reshape(2, 3)) * F.log(F.exp(x.reshape(2, 3)))),
        lambda x, w: F.sum(F.broadcast_to(x.reshape(1, 6), (3, 6)) * x),
        lambda x, w: F.sum(F.concat([x, x * 2.0], 0) ** 2.0) + F.variance(x) + F.max(x),
        lambda x, w: F.sum(F.get_item(x, slice(1, 4)) ** 3.0) + F.sum(1.0 / (x * x + 1.0)),
    ]
    gc.collect()
    gc.disable()
    try:
        for case in cases:
            x = ag.Variable(rng.normal(size=6))
            w = ag.Variable(rng.normal(size=(3, 2)))
            case(x, w).backward(create_graph=True)
            for _ in range(4):
                gx = x.grad
                x.cleargrad()
                w.cleargrad()
                if gx is None or not gx.requires_grad:
                    break
                F.sum(gx).backward(create_graph=True)
            x.cleargrad()
            w.cleargrad()
            del x, w, gx
            assert gc.collect() == 0
    finally:
        gc.enable()


def test_create_graph_walks_leave_the_collector_as_they_found_it():
    x = ag.variable(0.5)
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            F.tanh(x).backward(create_graph=True)
            ag.grad(F.tanh(x), x, create_graph=True)
            AF.hessian(lambda v: F.sum(v**3.0))(np.ones(2))
            assert gc.isenabled() == enabled
        finally:
            gc.enable()
    x.cleargrad()
    # and a failing walk too
    bad = Boom()(x) * 2.0
    with pytest.raises(AssertionError):
        bad.backward(create_graph=True)
    with pytest.raises(AssertionError):
        ag.grad(bad, x, create_graph=True)
    assert gc.isenabled()


def test_grad_through_a_function_of_several_outputs():
    x = ag.Variable(np.arange(6.0).reshape(3, 2))
    a, b = F.split(x, [1, 2], axis=0)
    y = F.sum(a * 3.0) + F.sum(F.sin(b))
    gx = ag.grad(y, x)
    y.backward()
    np.testing.assert_allclose(gx.data, x.grad.data)
    ga, gx2 = ag.grad(F.sum(a * a), [a, x])  # b's share is zero
    np.testing.assert_allclose(ga.data, 2 * a.data)
    np.testing.assert_allclose(gx2.data, np.vstack([2 * a.data, np.zeros((2, 2))]))


def test_grad_in_threads():
    import threading

    results = []

    def work():
        x = ag.Variable(np.linspace(0, 1, 500))
        g = ag.grad(F.sum(F.tanh(x) ** 2.0), x, create_graph=True)
        results.append(ag.grad(F.sum(g), x).data.copy())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])
