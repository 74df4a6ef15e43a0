"""Numerical gradients by central differences, to check analytic ones.

>>> import numpy as np
>>> import autograd as ag
>>> import autograd.functions as F
>>> x = ag.Variable(np.array([0.5, 1.0]))
>>> ag.numerical.gradcheck(F.sin, [x])
True
"""
from typing import Any, Callable

import numpy as np

from autograd.variable import Variable

__all__ = ["diff", "gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with central differences."""


def _as_variables(xs):
    single = not isinstance(xs, (list, tuple))
    items = [xs] if single else list(xs)
    out = []
    for i, x in enumerate(items):
        if not isinstance(x, Variable):
            x = Variable(x)
        out.append(x)
    return out, single


def _total(f, xs):
    y = f(*xs)
    if not isinstance(y, Variable):
        raise TypeError(f"the function must return a Variable, got {type(y).__name__}")
    return float(np.sum(y.data, dtype=np.float64))


def diff(f: Callable[..., Any], xs: Any, h: float = 1e-4) -> Any:
    """Central differences of ``sum(f(*xs))`` with respect to each of ``xs``.

    ``xs`` is a Variable (or array), or a list of them; the result is an array
    of each input's shape, or a list of arrays when ``xs`` is a list. The
    inputs' data are restored afterwards. ``f`` runs in the current mode, so it
    may itself call ``backward`` (to check second derivatives); the differences
    are taken in float64 whatever the inputs' dtype.
    """
    if not h > 0:
        raise ValueError(f"diff: the step h must be positive, got {h}")
    variables, single = _as_variables(xs)
    grads = []
    for x in variables:
        original = x.data
        work = np.array(original, dtype=np.float64)
        grad = np.zeros_like(work)
        try:
            x.data = work
            for i in np.ndindex(work.shape):
                keep = work[i]
                work[i] = keep + h
                plus = _total(f, variables)
                work[i] = keep - h
                minus = _total(f, variables)
                work[i] = keep
                grad[i] = (plus - minus) / (2 * h)
        finally:
            x.data = original
        grads.append(grad.astype(original.dtype, copy=False))
    return grads[0] if single else grads


def gradcheck(f: Callable[..., Any], xs: Any, h: float = 1e-4, atol: float = 1e-5,
              rtol: float = 1e-4, raise_exception: bool = True) -> bool:
    """Compare backward's gradients of ``sum(f(*xs))`` with central differences.

    Returns True when every input agrees within ``atol + rtol * |numerical|``;
    otherwise raises ``GradcheckError`` naming the input and the largest error
    (or returns False with ``raise_exception=False``).
    """
    variables, _ = _as_variables(xs)
    numeric = diff(f, variables, h)
    for x in variables:
        x.cleargrad()
    y = f(*variables)
    y.backward()
    for k, (x, num) in enumerate(zip(variables, numeric)):
        ana = np.zeros_like(x.data) if x.grad is None else x.grad.data
        err = np.abs(ana - num)
        bound = atol + rtol * np.abs(num)
        if not np.all(err <= bound):
            if raise_exception:
                worst = np.unravel_index(np.argmax(err - bound), err.shape) if err.ndim else ()
                raise GradcheckError(
                    f"gradcheck: input {k} (shape {x.shape}): backward gives {ana[worst]!r}, "
                    f"central differences give {num[worst]!r} at index {worst}")
            return False
    return True
