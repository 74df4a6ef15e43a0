"""Variable: constructors, dtypes, shape helpers, operators, printing, errors."""

import numpy as np
import pytest

import autograd as ag
import autograd.functions as F
from autograd.variable import go_format


def test_constructors_and_dtypes():
    assert ag.variable(3.0).shape == (1,)
    assert ag.variable(1.0, 2.0, 3.0).shape == (3,)
    assert ag.Variable(3.0).shape == ()
    assert ag.Variable(np.arange(3)).dtype == np.float64
    assert ag.Variable(np.array([True])).dtype == np.float64
    assert ag.Variable(np.ones(2, np.float32)).dtype == np.float32
    assert ag.zeros(2, 3).shape == (2, 3) and ag.ones((2, 3)).data.sum() == 6
    assert ag.zeros(2, dtype=np.float32).dtype == np.float32
    assert ag.zeros_like(ag.ones(2, 2)).data.sum() == 0
    assert ag.ones_like(np.zeros(3)).data.sum() == 3
    rng = np.random.default_rng(0)
    r = ag.rand((2, 3), rng=rng)
    assert r.shape == (2, 3) and (0 <= r.data).all() and (r.data < 1).all()
    assert ag.randn(4, rng=rng).shape == (4,)
    n = ag.normal((1000,), 5.0, 0.1, rng=np.random.default_rng(1))
    assert abs(n.data.mean() - 5.0) < 0.02


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "abc",
        np.array(["a"]),
        np.array([1 + 2j]),
        np.array([object()], dtype=object),
        {"a": 1},
    ],
)
def test_bad_data_is_a_type_error(bad):
    with pytest.raises(TypeError, match="expected"):
        ag.Variable(bad)


def test_bad_constructor_arguments():
    with pytest.raises(TypeError, match="value 1 must be a real number"):
        ag.variable(1.0, "x")
    with pytest.raises(ValueError, match="must not be negative"):
        ag.zeros(-1, 2)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        ag.ones(2, dtype=np.int32)
    with pytest.raises(TypeError, match="rng must be"):
        ag.rand((2,), rng=42)
    with pytest.raises(TypeError, match="name"):
        ag.Variable(1.0, name=3)


def test_shape_helpers():
    x = ag.variable(1, 2, 3, 4, 5, 6).reshape(2, 3)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and len(x) == 2
    assert x.at(1, 2) == 6.0 and x.at() == 1.0
    assert ag.variable(4.0).item() == 4.0
    assert np.asarray(x) is x.data
    with pytest.raises(IndexError, match="out of range"):
        x.at(2, 0)
    with pytest.raises(IndexError, match=r"got 1 indices for a variable of 2 dimensions"):
        x.at(1)
    with pytest.raises(ValueError, match="6 elements"):
        x.item()
    with pytest.raises(ValueError, match=r"cannot reshape shape \(2, 3\)"):
        x.reshape(4, 2)
    assert x.T.shape == (3, 2) and x.transpose(1, 0).shape == (3, 2)
    assert x.sum(axis=0).shape == (3,) and x.mean().item() == 3.5
    assert x.reshape((3, 2)).shape == (3, 2)


def test_operators_and_reflected_forms():
    x = ag.Variable(np.array([1.0, 2.0]))
    a = np.array([3.0, 4.0])
    for expr, expected in [
        (x + 1, [2, 3]),
        (1 + x, [2, 3]),
        (x - 1, [0, 1]),
        (1 - x, [0, -1]),
        (x * 2, [2, 4]),
        (2 * x, [2, 4]),
        (x / 2, [0.5, 1]),
        (2 / x, [2, 1]),
        (x**2, [1, 4]),
        (2**x, [2, 4]),
        (-x, [-1, -2]),
        (+x, [1, 2]),
        (a * x, [3, 8]),
        (x * a, [3, 8]),
        (a - x, [2, 2]),
        (a / x, [3, 2]),
        (a + x, [4, 6]),
        (x**x, [1, 4]),
        (x[1], 2.0),
    ]:
        assert isinstance(expr, ag.Variable)
        np.testing.assert_allclose(expr.data, expected)
    m = ag.Variable(np.eye(2))
    assert isinstance(a @ m, ag.Variable) and isinstance(m @ a, ag.Variable)
    assert isinstance(np.float64(2.0) * x, ag.Variable)


def test_mismatched_shapes_name_the_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4,\)"):
        ag.Variable(np.ones((2, 3))) + ag.Variable(np.ones(4))
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\)"):
        F.matmul(np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        F.sum(ag.Variable(np.ones((2, 3))), axis=3)
    with pytest.raises(IndexError, match="does not fit shape"):
        ag.Variable(np.ones(3))[5]
    with pytest.raises(IndexError, match="label 3 is out of range for 3 classes"):
        F.softmax_cross_entropy(np.zeros((2, 3)), [0, 3])
    with pytest.raises(ValueError, match="labels must be integers"):
        F.softmax_cross_entropy(np.zeros((2, 3)), [0.5, 1.0])
    with pytest.raises(ValueError, match="ratio must be"):
        F.dropout(np.ones(3), 1.5)
    with pytest.raises(TypeError, match="exponent is None"):
        F.pow(ag.variable(1.0), None)
    with pytest.raises(ValueError, match=r"sizes \[1, 1\] do not add up to 3"):
        F.split(np.ones(3), [1, 1])
    with pytest.raises(ValueError, match="squeeze: dimension 0"):
        F.squeeze(np.ones((2, 1)), 0)


def test_printing_follows_go():
    assert repr(ag.variable(2.0)) == "variable(2)"
    assert str(ag.variable(0.040000000000000036)) == "variable(0.040000000000000036)"
    x = ag.variable(1.0, 2.0)
    x.name = "x"
    assert str(x) == "x[2]([1 2])"
    assert str(ag.variable(1, 2, 3, 4, 5, 6).reshape(2, 3)) == "variable[2 3]([1 2 3 4 5 6])"
    assert str(ag.Variable(np.array([[7.5]]))) == "variable(7.5)"
    assert str(ag.Variable(-np.inf)) == "variable(-Inf)"
    long = str(ag.Variable(np.zeros(1500)))
    assert long.startswith("variable[1500]([0 0") and long.endswith(" ...])")
    assert long.count(" ") == 1000


@pytest.mark.parametrize(
    "value, text",
    [
        (2.0, "2"),
        (-2.5, "-2.5"),
        (1e-05, "1e-05"),
        (0.0001, "0.0001"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (1e21, "1e+21"),
        (1e100, "1e+100"),
        (float("nan"), "NaN"),
        (float("inf"), "+Inf"),
        (-0.0, "-0"),
        (0.1 + 0.2, "0.30000000000000004"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
    ],
)
def test_go_format(value, text):
    assert go_format(value) == text


def test_go_format_float32_uses_shortest_float32_digits():
    assert go_format(np.float32(0.1), float32=True) == "0.1"
    assert str(ag.Variable(np.array([0.1, 0.2], np.float32))) == "variable[2]([0.1 0.2])"


def test_grad_setter_and_data_setter():
    x = ag.variable(1.0)
    x.grad = np.array([2.0])
    assert isinstance(x.grad, ag.Variable)
    x.data = np.array([3])
    assert x.data.dtype == np.float64
    with pytest.raises(TypeError):
        x.data = "three"
