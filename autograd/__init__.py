"""autograd: automatic differentiation and a small deep-learning stack on NumPy.

>>> import autograd as ag
>>> x = ag.variable(2.0)
>>> y = x ** 3
>>> y.backward()
>>> x.grad
variable(12)
"""

from autograd import data, functional, functions, numerical, random
from autograd._core.graph import grad
from autograd import hooks
from autograd import layers
from autograd import models
from autograd import optimizers
from autograd.config import Span, config, no_grad, nograd, test_mode, testmode
from autograd.function import Function
from autograd.variable import (
    Variable,
    normal,
    ones,
    ones_like,
    rand,
    randn,
    variable,
    zeros,
    zeros_like,
)

from autograd._version import __version__ as __version__


def __getattr__(name):
    # ag.dot is imported on first use, so that `python -m autograd.dot` runs it cleanly
    if name == "dot":
        import autograd.dot as dot

        return dot
    raise AttributeError(f"module 'autograd' has no attribute {name!r}")


__all__ = [
    "Variable",
    "variable",
    "zeros",
    "ones",
    "zeros_like",
    "ones_like",
    "rand",
    "randn",
    "normal",
    "Function",
    "config",
    "no_grad",
    "nograd",
    "test_mode",
    "testmode",
    "Span",
    "functions",
    "numerical",
    "random",
    "dot",
    "hooks",
    "layers",
    "models",
    "optimizers",
    "grad",
    "functional",
    "data",
]
