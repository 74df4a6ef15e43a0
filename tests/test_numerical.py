import numpy as np
import pytest

import autograd as ag
import autograd.functions as F


def test_diff_matches_analytic():
    x = ag.Variable(np.array([0.3, 1.2]))
    g = ag.numerical.diff(F.sin, x)
    np.testing.assert_allclose(g, np.cos(x.data), rtol=1e-7)
    gs = ag.numerical.diff(lambda a, b: a * b, [np.array([2.0]), np.array([3.0])])
    np.testing.assert_allclose(gs[0], [3.0]) and np.testing.assert_allclose(gs[1], [2.0])


def test_diff_restores_data():
    data = np.array([1.0, 2.0])
    x = ag.Variable(data)
    ag.numerical.diff(F.exp, x)
    assert x.data is data and (data == [1.0, 2.0]).all()


def test_gradcheck_catches_a_wrong_gradient():
    class WrongSquare(ag.Function):
        def forward(self, x):
            return x * x

        def backward(self, gy):
            (x,) = self.inputs
            return gy * x  # should be 2x

    x = ag.Variable(np.array([1.0, 2.0]))
    with pytest.raises(ag.numerical.GradcheckError, match="input 0"):
        ag.numerical.gradcheck(lambda v: WrongSquare()(v), [x])
    assert not ag.numerical.gradcheck(lambda v: WrongSquare()(v), [x], raise_exception=False)


def test_bad_step():
    with pytest.raises(ValueError, match="h must be positive"):
        ag.numerical.diff(F.sin, np.ones(2), h=0)
