"""Hooks run by an optimizer on the parameters that have gradients, before it updates them.

>>> import autograd.optimizers as O
>>> import autograd.hooks as H
>>> opt = O.SGD(lr=0.1, hooks=[H.WeightDecay(1e-4), H.ClipGrad(1.0)])
"""

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["WeightDecay", "ClipGrad"]


def _nonnegative(value, what):
    if not isinstance(value, (int, float, np.floating, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{what} must be a number, got {value!r}")
    if not value >= 0:
        raise ValueError(f"{what} must not be negative, got {value}")
    return float(value)


class WeightDecay:
    """L2 decay added to the gradient: ``grad + rate * param``."""

    def __init__(self, rate: float) -> None:
        self.rate = _nonnegative(rate, "WeightDecay: rate")

    def __call__(self, params: Sequence[Any]) -> None:
        for p in params:
            p.grad.data = p.grad.data + self.rate * p.data


class ClipGrad:
    """Scale every gradient by ``max_norm / (norm + 1e-6)`` when the global L2 norm
    of all gradients exceeds ``max_norm``, as the seed does."""

    def __init__(self, max_norm: float) -> None:
        self.max_norm = _nonnegative(max_norm, "ClipGrad: max_norm")

    def __call__(self, params: Sequence[Any]) -> None:
        total = sum(float(np.sum(np.square(p.grad.data, dtype=np.float64))) for p in params)
        rate = self.max_norm / (math.sqrt(total) + 1e-6)
        if rate >= 1:
            return
        for p in params:
            p.grad.data = p.grad.data * p.grad.data.dtype.type(rate)
