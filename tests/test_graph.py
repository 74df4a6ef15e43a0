"""The graph: generations, the backward walk, accumulation, retain_grad,
create_graph, unchain, deep chains, and freeing by reference counting alone."""

import gc
import weakref

import numpy as np
import pytest

import autograd as ag
import autograd.functions as F


def test_generation_and_creator():
    x = ag.variable(1.0)
    y = F.sin(x)
    z = y * y
    assert x.generation == 0 and x.creator is None
    assert y.generation == 1 and y.creator.name == "Sin"
    assert z.generation == 2 and z.creator.inputs == (y, y)


def test_diamond_graph_visits_each_function_once():
    x = ag.variable(2.0)
    a = x**2.0
    y = a + a * 3.0 + F.exp(a)
    y.backward()
    np.testing.assert_allclose(x.grad.data, (1 + 3 + np.exp(4.0)) * 4.0)


def test_grads_accumulate_by_addition():
    x = ag.variable(3.0)
    (x + x).backward()
    assert repr(x.grad) == "variable(2)"
    ((x + x) + x).backward()
    assert repr(x.grad) == "variable(5)"
    x.cleargrad()
    ((x + x) + x).backward()
    assert repr(x.grad) == "variable(3)"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradients_added_in_place_stay_exact_and_unshared(dtype):
    """A walk adds a node's third and later gradients in place into the sum it made of
    the first two: the sums are exact, and an array another node was handed (``+``
    passes its gradient on as it is, to both operands) is never written into."""
    rng = np.random.default_rng(3)
    c, d, e, f = (rng.integers(-4, 5, size=(3, 4)).astype(dtype) for _ in range(4))
    p = ag.Variable(np.ones((3, 4), dtype))
    q = ag.Variable(np.ones((3, 4), dtype))
    r = q * 1.0  # a generation up: p + r is walked first, and p's first gradient is r's
    y = F.sum((p + r) * c) + F.sum(p * d) + F.sum(p * e) + F.sum(p * f)
    y.backward(retain_grad=True)
    np.testing.assert_array_equal(r.grad.data, c)
    np.testing.assert_array_equal(q.grad.data, c)
    np.testing.assert_array_equal(p.grad.data, c + d + e + f)
    # an intermediate with four gradients, kept; and through grad(), which walks apart
    z = p * 2.0
    y = F.sum(z * c) + F.sum(z * d) + F.sum(z * e) + F.sum(z * f)
    p.cleargrad()
    y.backward(retain_grad=True)
    np.testing.assert_array_equal(z.grad.data, c + d + e + f)
    np.testing.assert_array_equal(p.grad.data, 2 * (c + d + e + f))
    (gp, gq) = ag.grad([F.sum((p + q) * c) + F.sum(p * d) + F.sum(p * e) + F.sum(p * f)], [p, q])
    np.testing.assert_array_equal(gq.data, c)
    np.testing.assert_array_equal(gp.data, c + d + e + f)


def test_one_element_gradients_added_in_place_only_where_unshared():
    """A one-element sum is made in the gradient array a node alone holds; never in one
    another node was handed (``+`` passes its gradient to both operands as it is)."""
    p, q = ag.Variable(np.array([1.5])), ag.Variable(np.array(2.0))
    r = q * 1.0  # a generation up: p + r is walked first
    s = p + r  # (1,) + (): p's first gradient is s's own array, which s keeps (retain_grad)
    y = s * 3.0 + p * 5.0 + p * 7.0
    y.backward(retain_grad=True)
    assert (s.grad.item(), r.grad.item(), q.grad.item(), p.grad.item()) == (3.0, 3.0, 3.0, 15.0)
    x = ag.variable(0.5)
    for _ in range(3):  # x's first gradient is its own: summed in place, walk after walk
        x.cleargrad()
        (x * 2.0 + x * 3.0 + x * 4.0).backward()
        assert x.grad.item() == 9.0


def test_retain_grad():
    x = ag.variable(2.0)
    a = x * 3.0
    y = a * a
    y.backward()
    assert a.grad is None and y.grad is None
    x.cleargrad()
    a = x * 3.0
    y = a * a
    y.backward(retain_grad=True)
    assert repr(a.grad) == "variable(12)"
    assert repr(y.grad) == "variable(1)"
    assert repr(x.grad) == "variable(36)"


def test_backward_on_leaf_and_non_scalar():
    x = ag.variable(1.0, 2.0)
    x.backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])
    x = ag.Variable(np.arange(6.0).reshape(2, 3))
    y = x * x
    y.backward()  # seeded with ones, as the seed does
    np.testing.assert_array_equal(x.grad.data, 2 * x.data)


def test_preset_output_grad_is_used():
    x = ag.Variable(np.array([1.0, 2.0]))
    y = x * 3.0
    y.grad = ag.Variable(np.array([10.0, 20.0]))
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [30.0, 60.0])


def test_create_graph_gradient_has_a_graph():
    x = ag.variable(1.0)
    F.sin(x).backward(create_graph=True)
    assert x.grad.creator is not None
    y = ag.variable(1.0)
    F.sin(y).backward()
    assert y.grad.creator is None


def test_third_derivative_of_tanh():
    x = ag.variable(0.3)
    y = F.tanh(x)
    y.backward(create_graph=True)
    for _ in range(2):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
    t = np.tanh(0.3)
    np.testing.assert_allclose(x.grad.data, -2 * (1 - t * t) * (1 - 3 * t * t), rtol=1e-12)


def test_unchain():
    x = ag.variable(1.0)
    y = x**2.0
    y.unchain()
    assert y.creator is None
    y.backward()
    assert x.grad is None


def test_unchain_backward_stops_the_next_backward():
    x = ag.variable(1.0)
    h = x
    for _ in range(3):
        h = F.tanh(h * 2.0)
    loss = h * h
    loss.unchain_backward()
    assert loss.creator is not None
    assert h.creator is None
    loss2 = loss * 3.0
    loss2.backward()
    assert x.grad is None
    assert repr(loss.grad) is not None


def test_chain_of_200000_operations():
    x = ag.variable(1.0)
    y = x
    for _ in range(200_000):
        y = y + 1e-6
    y.backward()
    assert repr(x.grad) == "variable(1)"
    del y  # deep deallocation must not overflow the C stack
    gc.collect()


def test_long_create_graph_chain_backward():
    x = ag.variable(0.5)
    y = x
    for _ in range(20_000):
        y = y * 1.0
    y.backward(create_graph=True)
    assert repr(x.grad) == "variable(1)"


class Probe(ag.Function):
    """An identity operation whose instances can be watched with weakref."""

    def forward(self, x):
        return x.copy()

    def backward(self, gy):
        return gy


def test_dropped_graph_is_freed_without_the_garbage_collector():
    gc.disable()
    try:
        x = ag.Variable(np.ones(3))
        probe = Probe()
        ref = weakref.ref(probe)
        y = F.sum(F.exp(probe(x * 2.0)))
        del probe
        y.backward()
        assert ref() is not None
        del y
        assert ref() is None, "the graph outlived its output: a reference cycle"
    finally:
        gc.enable()


def test_training_loop_memory_stays_flat():
    import tracemalloc

    gc.disable()
    try:
        w = ag.Variable(np.random.default_rng(0).normal(size=(20, 20)))
        x = np.random.default_rng(1).normal(size=(8, 20))

        def step():
            w.cleargrad()
            loss = F.sum(F.tanh(F.matmul(x, w)) ** 2.0)
            loss.backward()
            w.data = w.data - 0.01 * w.grad.data

        for _ in range(50):
            step()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(500):
            step()
        grown = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        assert grown < 50_000, f"memory grew by {grown} bytes over 500 steps"
    finally:
        gc.enable()


def test_user_function_multiple_outputs_and_double_backward():
    class SinCos(ag.Function):
        def forward(self, x):
            return np.sin(x), np.cos(x)

        def backward(self, gs, gc_):
            (x,) = self.inputs
            return gs * F.cos(x) - gc_ * F.sin(x)

    x = ag.variable(0.7)
    s, c = SinCos()(x)
    (s * c).backward(create_graph=True)
    np.testing.assert_allclose(x.grad.data, np.cos(1.4))
    x2 = ag.variable(0.7)
    s, _ = SinCos()(x2)
    s.backward()  # the unused output contributes zero
    np.testing.assert_allclose(x2.grad.data, np.cos(0.7))


def test_user_function_errors_name_the_function():
    class Bad(ag.Function):
        def forward(self, x):
            return x

        def backward(self, gy):
            return ag.Variable(np.ones(5))

    x = ag.Variable(np.ones(3))
    y = Bad()(x)
    with pytest.raises(ValueError, match="Bad.backward returned a gradient of shape"):
        y.backward()

    f = Probe()
    f(x)
    with pytest.raises(RuntimeError, match="already part of a graph"):
        f(x)


def test_no_grad_records_nothing():
    x = ag.variable(1.0)
    with ag.no_grad():
        y = F.sin(x) * 2.0
    assert y.creator is None
    assert not y.requires_grad
    with pytest.raises(RuntimeError, match="no_grad"):
        y.backward()
    assert x.grad is None


def test_constants_get_no_gradient_and_no_node():
    y = F.add(np.ones(3), np.ones(3))
    assert y.creator is None
    x = ag.Variable(np.ones(3))
    z = x * np.arange(3.0)
    z.backward()
    a, c = z.creator.inputs
    assert c.grad is None
    np.testing.assert_array_equal(x.grad.data, [0, 1, 2])


class _Twice(ag.Function):
    """A user function: no one-element form on doubles, so the walk hands it an array."""

    def forward(self, x):
        return x * 2.0

    def backward(self, gy):
        return gy * 2.0


def _scalar_graph(seed, retain):
    """A random graph of one-element float64 values (shapes (1,) and, for one leaf,
    (1, 1), which the elementwise one-element forms refuse), with fan-out, a constant,
    a user function, and the operations that have a one-element backward."""
    rng = np.random.default_rng(seed)
    leaves = [ag.Variable(np.array([v])) for v in rng.uniform(0.3, 1.7, 3)]
    leaves.append(ag.Variable(np.array([[rng.uniform(0.3, 1.7)]])))
    const = ag.Variable(np.array([0.7]), requires_grad=False)
    pool = leaves + [const]
    unary = [
        F.exp,
        F.sin,
        F.cos,
        F.tanh,
        F.sigmoid,
        F.square,
        F.log1p,
        F.softplus,
        lambda v: -v,
        lambda v: v * 1.5,
        lambda v: 2.5 - v,
        lambda v: v**3,
        lambda v: 1.0 / (1.0 + v * v),
        lambda v: _Twice()(v),
    ]
    binary = [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a * b,
        lambda a, b: a / (1.0 + b * b),
        F.maximum,
        F.minimum,
    ]
    for _ in range(12):
        if rng.random() < 0.45:
            v = unary[rng.integers(len(unary))](pool[rng.integers(len(pool))])
        else:
            a, b = pool[rng.integers(len(pool))], pool[rng.integers(len(pool))]
            v = binary[rng.integers(len(binary))](a, b)
        pool.append(v)
    y = pool[-1]
    for v in pool[len(leaves) + 1 : -1]:
        y = y + v * 0.25  # every value reaches y, most of them along several paths
    return leaves, pool, y


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("retain", [False, True])
def test_one_element_gradients_carried_as_doubles_are_the_arrays_gradients(seed, retain):
    """backward() from a one-element float64 output carries one-element gradients as C
    doubles; a preset output gradient makes the same walk on arrays. Every gradient is
    the same to the last bit, and has the shape and dtype of its variable."""
    results = []
    for preset in (False, True):
        leaves, pool, y = _scalar_graph(seed, retain)
        if preset:
            y.grad = ag.Variable(np.ones_like(y.data))
        y.backward(retain_grad=retain)
        watched = leaves + (pool[len(leaves) + 1 :] if retain else [])
        grads = []
        for v in watched:
            if v.grad is None:
                grads.append(None)
                continue
            assert v.grad.shape == v.shape and v.grad.dtype == np.float64
            grads.append(v.grad.data.tobytes())
        results.append(grads)
    assert results[0] == results[1]
    assert any(g is not None for g in results[0])


def test_one_element_gradients_as_doubles_survive_a_nested_walk_and_a_failure():
    """A user function whose backward walks another graph sharing nodes with the outer
    one (a nested walk) finds the outer walk's one-element gradients on them and saves
    them; a backward that raises half-way writes no gradient, and the next walk starts
    clean."""
    x = ag.Variable(np.array([2.0]))
    n = x * x
    side = n * 4.0  # shares n and x with the outer graph

    class Inner(ag.Function):
        def forward(self, v):
            return v * 3.0

        def backward(self, gy):
            side.backward()  # n already holds a gradient of the outer walk, as a double
            return gy * 3.0

    d = x * 1.0 * 1.0 * 1.0  # n * d is walked before Inner (a higher generation)
    y = n * d + Inner()(n) * 1.0
    y.backward()
    # the side walk's 4 * 2x, then the outer walk's (d + 3) * 2x + n, added to it
    assert x.grad.item() == 16.0 + ((2.0 + 3.0) * 4.0 + 4.0)

    class Fails(ag.Function):
        def forward(self, x):
            return x + 0.0

        def backward(self, gy):
            raise ArithmeticError("no backward here")

    x.cleargrad()
    y = Fails()(x * 2.0) + x * 3.0
    with pytest.raises(ArithmeticError):
        y.backward()
    assert x.grad is None
    y = x * 2.0 + x * 3.0
    y.backward()
    assert x.grad.item() == 5.0


@pytest.mark.parametrize("preset", [False, True])
def test_a_gradient_carried_as_a_double_keeps_its_shape_when_data_is_replaced(preset):
    """A backward that assigns a variable another .data half-way through the walk: the
    gradient the walk had made for it keeps the shape it was made with (as on the array
    walk), not the new data's (whose other elements would be uninitialised)."""
    x, z = ag.Variable(np.array([0.5])), ag.Variable(np.array([1.0]))

    class Swap(ag.Function):
        def forward(self, v):
            return v * 1.0

        def backward(self, gy):
            x.data = np.full((3, 3), 7.0)  # after exp's backward gave x its gradient
            return gy

    y = Swap()(z) + F.exp(x)
    if preset:
        y.grad = ag.Variable(np.ones(1))
    y.backward()
    assert x.grad.shape == (1,)
    assert x.grad.data[0] == np.exp(0.5)
