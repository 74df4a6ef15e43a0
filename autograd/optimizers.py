"""Optimizers: ``SGD``, ``Momentum``, ``Adam``, ``AdamW``, with the seed's update rules.

``update(model)`` takes the parameters that have a gradient, runs the hooks on
them, then updates each in place (float32 parameters stay float32).

>>> import numpy as np
>>> import autograd as ag
>>> import autograd.functions as F
>>> import autograd.models as M
>>> import autograd.optimizers as O
>>> m = M.MLP([4, 1], rng=ag.random.const())
>>> opt = O.SGD(lr=0.1)
>>> loss = F.mean_squared_error(m(np.ones((3, 2))), np.zeros((3, 1)))
>>> m.cleargrads(); loss.backward(); opt.update(m)
"""
import math
from typing import Any, Sequence

import numpy as np

from autograd._core.kernels import axpy_fast

__all__ = ["Optimizer", "SGD", "Momentum", "Adam", "AdamW"]


def _rate(value, what):
    if not isinstance(value, (int, float, np.floating, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{what} must be a number, got {value!r}")
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{what} must be a finite number >= 0, got {value}")
    return float(value)


def _beta(value, what):
    value = _rate(value, what)
    if not value < 1:
        raise ValueError(f"{what} must be in [0, 1), got {value}")
    return value


class Optimizer:
    """Base: collects the parameters with gradients, runs hooks, updates each."""

    def __init__(self, hooks: Sequence[Any] = ()) -> None:
        hooks = list(hooks)
        for h in hooks:
            if not callable(h):
                raise TypeError(f"hooks must be callables taking the parameters, got {h!r}")
        self.hooks = hooks
        self.state: dict = {}       # per parameter (by identity): the optimizer's arrays

    def update(self, model: Any) -> None:
        """Update every parameter of ``model`` that has a gradient."""
        if not hasattr(model, "params"):
            raise TypeError(f"update: expected a model or layer with params(), got "
                            f"{type(model).__name__}")
        every = model._params() if hasattr(model, "_params") else model.params()
        params = [p for p in every.values() if p.grad is not None and p.requires_grad]
        for hook in self.hooks:
            hook(params)
        self.step()
        for p in params:
            if p.grad.shape != p.shape:
                raise ValueError(f"update: parameter {p.name!r} of shape {p.shape} has a "
                                 f"gradient of shape {p.grad.shape}")
            self.update_one(p, p.grad.data)

    def step(self):
        """Called once per update, before the parameters (Adam counts iterations here)."""

    def update_one(self, param, grad):
        raise NotImplementedError

    def _slot(self, param, count):
        slots = self.state.get(id(param))
        if slots is None or slots[0] is not param:
            slots = (param, [np.zeros_like(param.data) for _ in range(count)])
            self.state[id(param)] = slots
        return slots[1]


def _inplace(param):
    """The parameter's array, made writable, owned and contiguous so it can be updated in place."""
    data = param.data
    if not data.flags.writeable or data.base is not None or not data.flags.c_contiguous:
        data = np.ascontiguousarray(data).copy()
        param.data = data
    return data


class SGD(Optimizer):
    """``param -= lr * grad``."""

    def __init__(self, lr: float = 0.01, hooks: Sequence[Any] = ()) -> None:
        super().__init__(hooks)
        self.lr = _rate(lr, "SGD: lr")

    def update_one(self, param, grad):
        axpy_fast(_inplace(param), grad, -self.lr)


class Momentum(Optimizer):
    """``v = momentum * v - lr * grad; param += v``."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, hooks: Sequence[Any] = ()) -> None:
        super().__init__(hooks)
        self.lr = _rate(lr, "Momentum: lr")
        self.momentum = _beta(momentum, "Momentum: momentum")

    def update_one(self, param, grad):
        v, = self._slot(param, 1)
        v *= self.momentum
        v -= self.lr * grad
        data = _inplace(param)
        data += v


class Adam(Optimizer):
    """Adam with the bias correction folded into the step size, as the seed:
    ``lr = alpha * sqrt(1 - beta2^t) / (1 - beta1^t)``,
    ``m += (1 - beta1)(g - m)``, ``v += (1 - beta2)(g^2 - v)``,
    ``param -= lr * m / (sqrt(v) + 1e-8)``."""

    def __init__(self, alpha: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 hooks: Sequence[Any] = ()) -> None:
        super().__init__(hooks)
        self.alpha = _rate(alpha, "Adam: alpha")
        self.beta1 = _beta(beta1, "Adam: beta1")
        self.beta2 = _beta(beta2, "Adam: beta2")
        self.iter = 0
        self.lr = 0.0

    def step(self):
        self.iter += 1
        fix1 = 1.0 - self.beta1 ** self.iter
        fix2 = 1.0 - self.beta2 ** self.iter
        self.lr = self.alpha * math.sqrt(fix2) / fix1

    def _moments(self, param, grad):
        m, v = self._slot(param, 2)
        m += (1 - self.beta1) * (grad - m)
        v += (1 - self.beta2) * (grad * grad - v)
        return self.lr * m / (np.sqrt(v) + 1e-8)

    def update_one(self, param, grad):
        data = _inplace(param)
        data -= self._moments(param, grad)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``param -= lr * m / (sqrt(v) + 1e-8) +
    lr * weight_decay * param`` (the seed's form, with Adam's corrected ``lr``)."""

    def __init__(self, alpha: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 weight_decay: float = 0.01, hooks: Sequence[Any] = ()) -> None:
        super().__init__(alpha, beta1, beta2, hooks)
        self.weight_decay = _rate(weight_decay, "AdamW: weight_decay")

    def update_one(self, param, grad):
        update = self._moments(param, grad)
        data = _inplace(param)
        data -= update + self.lr * self.weight_decay * data
