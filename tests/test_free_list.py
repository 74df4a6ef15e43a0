"""The free lists of the scalar path: the memory of dead Variables and elementwise
Functions is reused for the next ones. A reused object must be indistinguishable from
a new one, the classes' reference counts must stay balanced, and subclasses of
Variable (which may carry a __dict__, __weakref__ or slots) must not take part."""

import copy
import gc
import pickle
import sys
import weakref

import numpy as np
import pytest

import autograd as ag
import autograd.functions as F
from autograd._core import graph as _graph
from autograd._core import ops as _ops


def rosenbrock_steps(n):
    x0 = ag.variable(0.0)
    x1 = ag.variable(2.0)
    for _ in range(n):
        x0.cleargrad()
        x1.cleargrad()
        y = 100 * (x1 - x0**2) ** 2 + (x0 - 1) ** 2
        y.backward()
        x0.data -= 0.001 * x0.grad.data
        x1.data -= 0.001 * x1.grad.data
    return x0.item(), x1.item()


def rosenbrock_floats(n):
    a, b = 0.0, 2.0
    for _ in range(n):
        ga = -400.0 * a * (b - a * a) + 2.0 * (a - 1.0)
        gb = 200.0 * (b - a * a)
        a, b = a - 0.001 * ga, b - 0.001 * gb
    return a, b


def test_dead_variables_and_functions_are_kept_and_reused():
    x = ag.variable(2.0)
    y = (x * x + 1.0) ** 2
    del y
    kept = _graph._free_count(ag.Variable)
    assert kept >= 3  # x * x, + 1, ** 2
    assert _graph._free_count(_ops.Unary) >= 2
    assert _graph._free_count(_ops.Binary) >= 1
    y = x * 3.0
    assert _graph._free_count(ag.Variable) == kept - 1
    assert y.item() == 6.0


def test_steps_on_reused_objects_compute_what_floats_compute():
    got = rosenbrock_steps(300)
    want = rosenbrock_floats(300)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_a_reused_variable_starts_fresh():
    # leave behind dead Variables whose every field was set
    for _ in range(50):
        v = ag.Variable(np.array(5.0), name="old")
        v.grad = np.array(7.0)
        v.data = np.array(6.0)  # bumps its version
        w = v * v
        w.backward(create_graph=True)
        del v, w
    gc.collect()
    assert _graph._free_count(ag.Variable) > 0
    with ag.no_grad():
        c = ag.variable(1.0) + 1.0
    assert (c.name, c.grad, c.creator, c.generation, c.requires_grad) == (
        None,
        None,
        None,
        0,
        False,
    )
    x = ag.variable(3.0)
    y = x * 2.0
    assert (y.name, y.grad, y.generation, y.requires_grad, y.is_leaf) == (
        None,
        None,
        1,
        True,
        False,
    )
    assert y.creator.inputs == (x,)
    y.backward()
    assert x.grad.item() == 2.0
    assert y.grad is None
    # a stale version would make this backward refuse to run
    z = (x * x) * x
    z.backward()
    assert x.grad.item() == 2.0 + 27.0


def test_the_class_reference_counts_stay_balanced():
    x = ag.variable(2.0)
    rosenbrock_steps(5)
    before = sys.getrefcount(ag.Variable), sys.getrefcount(_ops.Unary)
    for _ in range(2000):
        x.cleargrad()
        y = (x * x + 1.0) ** 2
        y.backward()
    del y
    x.cleargrad()
    assert (sys.getrefcount(ag.Variable), sys.getrefcount(_ops.Unary)) == before


def test_subclasses_of_variable_are_not_pooled_and_are_freed():
    class Plain(ag.Variable):
        pass

    class Rich(ag.Variable):
        __slots__ = ("__weakref__", "tag")

    assert _graph._free_count(Plain) == -1
    assert _graph._free_count(Rich) == -1
    before = sys.getrefcount(Plain), sys.getrefcount(Rich)
    for _ in range(500):
        p = Plain(2.0)
        r = Rich(3.0)
        r.tag = p
        assert (p * r).item() == 6.0
    del p, r
    assert (sys.getrefcount(Plain), sys.getrefcount(Rich)) == before

    r = Rich(1.0)
    r.tag = [1, 2]
    ref = weakref.ref(r)
    del r
    assert ref() is None


def test_parameters_keep_weak_references():
    from autograd.layers import Parameter

    p = Parameter(np.array(1.0))
    ref = weakref.ref(p)
    del p
    assert ref() is None


def test_pickle_and_copy_of_reused_variables():
    x = ag.variable(1.5)
    for _ in range(10):
        y = (x * 2.0).detach()  # a leaf in reused memory (graphs do not pickle)
    back = pickle.loads(pickle.dumps(y))
    assert type(back) is ag.Variable
    assert back.item() == 3.0


def test_a_graph_is_refused_when_pickled_not_when_loaded():
    x = ag.variable(1.5)
    y = F.tanh(x * x)
    for thing in (y, y.creator):
        with pytest.raises(TypeError, match=r"Tanh record .* does not pickle or copy"):
            pickle.dumps(thing)
        with pytest.raises(TypeError, match="detach"):
            copy.deepcopy(thing)
    assert pickle.loads(pickle.dumps(y.detach())).item() == np.tanh(2.25)


def test_a_deep_chain_of_reused_variables_is_freed():
    x = ag.variable(1.0)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    del y  # the trashcan keeps deallocation iterative
    y = x
    for _ in range(100_000):
        y = y * 1.0
    assert y.item() == 1.0
    del y


# ---------------------------------------------------------------------------- number slots
# The Variable class's operators are compiled slots (as a compiled type's would be), the
# same functions ``Variable.__mul__`` etc. name.


def test_operators_in_both_orders():
    x = ag.variable(2.0)
    assert [v.item() for v in (x + 3, 3 + x, x - 3, 3 - x, x * 3, 3 * x)] == [5, 5, -1, 1, 6, 6]
    assert [v.item() for v in (x / 4, 4 / x, x**3, 3**x, -x, x + x)] == [0.5, 2, 8, 9, -2, 4]
    assert (x * True).item() == 2.0
    arr = np.array([1.0, 2.0])
    np.testing.assert_array_equal((x * arr).data, [2.0, 4.0])
    np.testing.assert_array_equal((arr - x).data, [-1.0, 0.0])
    np.testing.assert_array_equal((x - [1, 2]).data, [1.0, 0.0])
    y = 3 - x * x / 4 + 2**x
    y.backward()
    assert x.grad.item() == -1.0 + 4.0 * np.log(2.0)
    assert ag.Variable.__mul__ is _ops.mul  # the Python face is unchanged


def test_operator_errors():
    x = ag.variable(2.0)
    with pytest.raises(TypeError, match="modulus"):
        pow(x, 2, 5)
    with pytest.raises(TypeError, match="got str"):
        x * "a"
    with pytest.raises(ValueError, match="too large for float64"):
        x * 10**400
    with pytest.raises(ValueError, match="too large for float64"):
        x ** (10**400)


def test_a_subclass_overriding_an_operator_is_obeyed():
    class Loud(ag.Variable):
        def __mul__(self, other):
            return "mul"

        def __rsub__(self, other):
            return "rsub"

    loud = Loud(2.0)
    x = ag.variable(3.0)
    assert loud * x == "mul"
    assert 1 - loud == "rsub"
    assert (x * loud).item() == 6.0
    assert (loud + x).item() == 5.0


def test_cycles_of_pooled_objects_are_collected_as_they_pile_up():
    """Objects from the free lists bypass CPython's count of new objects, which starts
    the cycle collector; the lists keep their own count and start it too. A
    create_graph gradient refers back to its input (a cycle) and the walk pauses the
    collector: before, no collection ran in this loop and memory grew to 750 MB."""
    gc.collect()
    before = [s["collections"] for s in gc.get_stats()]
    x = ag.Variable(np.array(2.0))
    for _ in range(3000):
        x.grad = None
        (x * x * x).backward(create_graph=True)
        g = x.grad  # the previous gradient's graph is freed here, at once
        z = ag.Variable(np.full(100, 1.5))
        (z * z).backward(create_graph=True)  # z.grad's graph refers back to z: a cycle
        del z
    del g
    after = [s["collections"] for s in gc.get_stats()]

    def alive():
        return sum(1 for o in gc.get_objects() if type(o) is ag.Variable and o.shape == (100,))

    assert after[0] - before[0] >= 10  # collections ran as the cycles piled up
    assert alive() < 1000  # and freed most of them
    gc.collect()
    assert alive() == 0


def test_a_finalizer_given_to_the_class_after_import_runs():
    calls = []
    gc.collect()  # no garbage of earlier tests left to finalize
    ag.Variable.__del__ = lambda self: calls.append(1)
    try:
        for _ in range(300):
            v = ag.Variable(np.ones(3)) * 2.0
            del v
        gc.collect()
        assert len(calls) == 600  # every Variable, the reused ones too
    finally:
        del ag.Variable.__del__
    calls.clear()
    for _ in range(10):
        v = ag.Variable(np.ones(3)) * 2.0
        del v
    assert calls == []
