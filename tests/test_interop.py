"""Variable conveniences and NumPy's protocols: NumPy functions on Variables run the
differentiable function of the same name; the others are refused with a useful name."""

import numpy as np
import pytest

import autograd as ag
import autograd.functions as F


def test_conveniences():
    v = ag.Variable(np.array([[1.0, -2.0], [3.0, 0.5]]))
    assert float(ag.variable(2.5)) == 2.5 and int(ag.variable(2.7)) == 2
    with pytest.raises(ValueError, match="4 elements"):
        float(v)
    np.testing.assert_array_equal(abs(v).data, np.abs(v.data))
    np.testing.assert_array_equal(v > 0, [[True, False], [True, True]])
    np.testing.assert_array_equal(v <= ag.Variable(np.ones((2, 2))), [[True, True], [False, True]])
    assert (v < 1.0).dtype == np.bool_ and (v >= 0.5).sum() == 3
    w = ag.Variable(v.data)
    assert v == v and v != w and len({v, w}) == 2  # identity, hashable
    assert v.max().item() == 3.0 and v.min(axis=0).shape == (2,)
    assert int(v.argmax()) == 2 and v.argmax(axis=1).tolist() == [0, 0]
    assert v.flatten().shape == (4,) and v.unsqueeze(0).shape == (1, 2, 2)
    assert v.unsqueeze(0).squeeze(0).shape == (2, 2)
    assert v.numpy() is v.data and v.tolist() == [[1.0, -2.0], [3.0, 0.5]]


def test_astype_is_differentiable_both_ways():
    x = ag.Variable(np.array([1.5, 2.0]))
    y = x.astype(np.float32)
    assert y.dtype == np.float32
    F.sum(y * y).backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(x.grad.data, [3.0, 4.0])
    assert x.astype("float64") is x
    with pytest.raises(TypeError, match="float32 or float64"):
        x.astype(np.int64)
    z = ag.Variable(np.array([1.0], np.float32))
    z.astype(np.float64).backward(create_graph=True)
    assert z.grad.dtype == np.float32


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda v: np.exp(v), lambda a: np.exp(a)),
        (lambda v: np.add(np.ones(3), v), lambda a: 1 + a),
        (lambda v: np.ones(3) * v, lambda a: a),
        (lambda v: np.arange(3.0) - v, lambda a: np.arange(3.0) - a),
        (lambda v: np.maximum(v, 0.5), lambda a: np.maximum(a, 0.5)),
        (lambda v: np.sqrt(v), np.sqrt),
        (lambda v: np.abs(v), np.abs),
        (lambda v: np.sum(v, axis=0), lambda a: a.sum(axis=0)),
        (lambda v: np.mean(v), np.mean),
        (lambda v: np.max(v), np.max),
        (lambda v: np.reshape(v, (3, 1)), lambda a: a.reshape(3, 1)),
        (lambda v: np.transpose(np.reshape(v, (3, 1))), lambda a: a.reshape(3, 1).T),
        (lambda v: np.concatenate([v, np.ones(2)]), lambda a: np.concatenate([a, np.ones(2)])),
        (lambda v: np.stack([v, v]), lambda a: np.stack([a, a])),
        (
            lambda v: np.where(np.array([True, False, True]), v, 0.0),
            lambda a: np.where([1, 0, 1], a, 0),
        ),
        (lambda v: np.einsum("i,i->", v, v), lambda a: a @ a),
        (lambda v: np.linalg.norm(v), np.linalg.norm),
        (lambda v: np.cumsum(v), np.cumsum),
        (lambda v: np.clip(v, 0.6, 1.5), lambda a: np.clip(a, 0.6, 1.5)),
        (lambda v: np.ones((2, 3)) @ v, lambda a: np.ones((2, 3)) @ a),
    ],
)
def test_numpy_functions_are_differentiable(call, expected):
    a = np.array([0.5, 1.0, 2.0])
    v = ag.Variable(a.copy())
    y = call(v)
    assert isinstance(y, ag.Variable)
    np.testing.assert_allclose(y.data, expected(a), rtol=1e-12)
    F.sum(y).backward()
    assert v.grad is not None and v.grad.shape == a.shape
    num = ag.numerical.diff(lambda x: F.sum(call(x)), [ag.Variable(a.copy())])[0]
    np.testing.assert_allclose(v.grad.data, num, rtol=1e-6, atol=1e-8)


def test_predicates_and_queries_work_on_the_data():
    v = ag.Variable(np.array([1.0, np.inf, -2.0]))
    np.testing.assert_array_equal(np.isfinite(v), [True, False, True])
    np.testing.assert_array_equal(np.greater(v, 0), [True, True, False])
    assert np.shape(v) == (3,) and np.ndim(v) == 1 and np.size(v) == 3
    assert np.allclose(v, v.data)
    np.testing.assert_array_equal(np.asarray(v), v.data)


def test_other_numpy_functions_are_refused_with_a_pointer():
    v = ag.Variable(np.array([1.5, 2.5]))
    with pytest.raises(TypeError, match=r"np\.floor .*v\.data"):
        np.floor(v)
    with pytest.raises(TypeError, match=r"np\.sort .*v\.data"):
        np.sort(v)
    with pytest.raises(TypeError, match="ddof"):
        np.var(v, ddof=1)


def test_forgetting_data_in_an_update_says_what_to_write():
    x = ag.Variable(np.array([1.0, 2.0]))
    F.sum(x * x).backward()
    with pytest.raises(TypeError, match=r"x\.grad\.data"):
        x.data -= 0.1 * x.grad
    np.testing.assert_array_equal(x.data, [1.0, 2.0])
    x.data -= 0.1 * x.grad.data
    np.testing.assert_allclose(x.data, [0.8, 1.6])


def test_truth_value_is_numpys():
    assert not ag.Variable(np.array([0.0])) and ag.variable(2.0)
    assert bool(ag.Variable(np.array(0.5)))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(ag.variable(1.0, 2.0))


def test_reshape_order_other_than_c_is_refused():
    v = ag.Variable(np.arange(6.0))
    with pytest.raises(TypeError, match="order='C'"):
        np.reshape(v, (3, 2), order="F")
    with pytest.raises(TypeError, match="order='C'"):
        np.ravel(v, order="F")


def test_refusals_name_what_exists():
    v = ag.Variable(np.ones((2, 2)))
    with pytest.raises(TypeError, match=r"autograd\.functions\.concat "):
        np.concatenate([v, v], dtype=np.float32)
    with pytest.raises(TypeError, match=r"np\.linalg\.inv has no"):
        np.linalg.inv(v)


def test_seed_gradients_take_the_outputs_dtype():
    x = ag.Variable(np.ones(2, np.float32))
    y = x * 2.0
    y.grad = ag.Variable(np.ones(2))  # float64
    y.backward()
    assert x.grad.dtype == np.float32
    z = ag.Variable(np.ones(2))
    (g,) = (ag.grad(z * 3.0, z, grad_outputs=np.ones(2, np.float32)),)
    assert g.dtype == np.float64
