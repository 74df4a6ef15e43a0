"""``Function``: the base of every operation, and of the ones users write.

A user-defined operation subclasses ``Function`` and writes ``forward`` on NumPy
arrays and ``backward`` on Variables, with differentiable functions, so that its
gradient can be differentiated again::

    import numpy as np
    import autograd as ag
    import autograd.functions as F

    class Cube(ag.Function):
        def forward(self, x):
            return x ** 3

        def backward(self, gy):
            x, = self.inputs
            return gy * 3 * x ** 2

    x = ag.variable(2.0)
    y = Cube()(x)
    y.backward()
    print(x.grad)            # variable(12)

Create a new instance for each call: an instance is a node of one graph.
"""

from autograd._core.graph import Function

__all__ = ["Function"]
