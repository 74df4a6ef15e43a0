"""Optimizers: ``SGD``, ``Momentum``, ``Adam``, ``AdamW`` with the seed's update rules,
``RMSprop`` and ``Adagrad`` as PyTorch's; learning-rate schedules ``StepLR``,
``CosineLR``, ``WarmupLR``.

``update(model)`` takes the parameters that have a gradient, runs the hooks on
them, then updates each in place (float32 parameters stay float32). An optimizer
given its parameters at construction updates them with ``step()``. Every update
reads ``opt.lr``; only the user or a scheduler changes it.

>>> import numpy as np
>>> import autograd as ag
>>> import autograd.functions as F
>>> import autograd.models as M
>>> import autograd.optimizers as O
>>> m = M.MLP([4, 1], rng=ag.random.const())
>>> opt = O.SGD(lr=0.1)
>>> loss = F.mean_squared_error(m(np.ones((3, 2))), np.zeros((3, 1)))
>>> m.cleargrads(); loss.backward(); opt.update(m)
>>> opt = O.Adam(m, lr=0.01)           # parameters given: step() updates them
>>> loss = F.mean_squared_error(m(np.ones((3, 2))), np.zeros((3, 1)))
>>> m.cleargrads(); loss.backward(); opt.step()
"""

import math
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from autograd._core.kernels import (
    adagrad_update,
    adam_update,
    axpy_fast,
    momentum_update,
    rmsprop_update,
)
from autograd.variable import Variable

__all__ = [
    "Optimizer",
    "SGD",
    "Momentum",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Scheduler",
    "StepLR",
    "CosineLR",
    "WarmupLR",
]


def _number(value, what):
    if not isinstance(value, (int, float, np.floating, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{what} must be a number, got {value!r}")
    return value


def _rate(value, what):
    value = _number(value, what)
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{what} must be a finite number >= 0, got {value}")
    return float(value)


def _beta(value, what):
    value = _rate(value, what)
    if not value < 1:
        raise ValueError(f"{what} must be in [0, 1), got {value}")
    return value


def _positive_int(value, what):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{what} must be a positive int, got {value!r}")
    if value <= 0:
        raise ValueError(f"{what} must be a positive int, got {value}")
    return int(value)


def _is_number(value):
    return isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)


def _first_is_lr(cls, params, lr, default):
    """``O.SGD(0.1)`` as before parameters came first: a number there is the learning rate."""
    if _is_number(params):
        if lr is not None and lr != default:
            raise TypeError(
                f"{cls}: the first argument is the parameters (a model or an iterable "
                f"of Variables), got the number {params!r} as well as lr={lr!r}"
            )
        return None, params
    return params, default if lr is None else lr


class _States(dict):
    """id(parameter) -> (weak reference to it, its arrays); a dict that can be weakly referenced."""

    __slots__ = ("__weakref__",)


def _reference(param, states):
    """A weak reference to ``param`` whose death removes its entry from ``states``; a
    Variable that cannot be weakly referenced is held (a Parameter always can)."""
    key = id(param)
    states_ref = weakref.ref(states)

    def forget(ref):
        owner = states_ref()
        if owner is not None:
            entry = owner.get(key)
            if entry is not None and entry[0] is ref:
                del owner[key]

    try:
        return weakref.ref(param, forget)
    except TypeError:
        return lambda: param


# Every update is one compiled pass per parameter (kernels.pyx): the parameter, its state
# and its gradient read once, no temporaries, the same bits as the NumPy expressions in
# the docstrings (each constant rounded to the parameter's dtype first, as NumPy rounds it).


def _inplace(param):
    """The parameter's array, made writable, owned and contiguous so it can be updated in place."""
    data = param.data
    if not data.flags.writeable or data.base is not None or not data.flags.c_contiguous:
        data = np.ascontiguousarray(data).copy()
        param.data = data
    return data


class Optimizer:
    """Base: collects the parameters with gradients, runs hooks, updates each.

    A subclass names its per-parameter arrays in ``slot_names`` and its settings in
    ``hyper_names``, and writes ``update_one(param, grad)`` (getting the arrays from
    ``self._slots(param)``) and, for per-update work, ``prepare()``.
    """

    slot_names: tuple[str, ...] = ()
    hyper_names: tuple[str, ...] = ("lr",)
    lr: float

    def __init__(self, params: Any = None, hooks: Sequence[Any] = ()) -> None:
        if isinstance(hooks, (str, bytes)) or not hasattr(hooks, "__iter__"):
            raise TypeError(f"hooks must be a list of callables, got {hooks!r}")
        hooks = list(hooks)
        for h in hooks:
            if not callable(h):
                raise TypeError(f"hooks must be callables taking the parameters, got {h!r}")
        self.hooks = hooks
        self.iter = 0  # updates made; Adam's bias correction counts them
        self.state = _States()  # id(param) -> (weak reference, arrays); dies with it
        self._pending: dict[str, list] = {}  # loaded state waiting for its parameter, by name
        self._model: Any = None  # the model given at construction, or
        self._fixed: dict[str, Variable] | None = None  # the Variables given, named "0", "1"...
        self._last: Any = None  # a weak reference to the model last updated
        if params is not None:
            self._take(params)

    def _take(self, params):
        what = type(self).__name__
        if hasattr(params, "params") and callable(params.params):
            self._model = params
            return
        if isinstance(params, Variable):
            params = [params]
        elif isinstance(params, Mapping):
            named = dict(params)
            bad = [k for k, v in named.items() if not isinstance(v, Variable)]
            if bad:
                raise TypeError(f"{what}: the parameters must be Variables; {bad} are not")
            self._fixed = named
            return
        elif isinstance(params, (str, bytes)) or not hasattr(params, "__iter__"):
            raise TypeError(
                f"{what}: params must be a model, a Variable or an iterable of "
                f"Variables, got {type(params).__name__}"
            )
        listed, seen = [], set()
        for p in params:
            if not isinstance(p, Variable):
                raise TypeError(f"{what}: the parameters must be Variables, got {type(p).__name__}")
            if id(p) not in seen:
                seen.add(id(p))
                listed.append(p)
        if not listed:
            raise ValueError(f"{what}: the list of parameters is empty")
        self._fixed = {str(i): p for i, p in enumerate(listed)}

    # -------------------------------------------------------------------- updating

    def update(self, model: Any) -> None:
        """Update every parameter of ``model`` that has a gradient."""
        if not hasattr(model, "params"):
            raise TypeError(
                f"update: expected a model or layer with params(), got {type(model).__name__}"
            )
        last = self._last
        if last is None or last() is not model:
            try:
                self._last = weakref.ref(model)
            except TypeError:
                self._last = lambda: model
        self._update(model._params() if hasattr(model, "_params") else model.params())

    def step(self) -> None:
        """Update the parameters given at construction (those that have a gradient)."""
        named = self._given()
        if named is None:
            name = type(self).__name__
            raise TypeError(
                f"{name}.step() has no parameters to update: give them at "
                f"construction (O.{name}(model, ...) or O.{name}(model.parameters(), "
                f"...)), or call opt.update(model) instead"
            )
        self._update(named)

    def _given(self):
        if self._model is not None:
            model = self._model
            return model._params() if hasattr(model, "_params") else model.params()
        return self._fixed

    def _update(self, named):
        if self._pending:
            self._adopt(named)
        params = [p for p in named.values() if p.grad is not None and p.requires_grad]
        for hook in self.hooks:
            hook(params)
        for p in params:  # every shape checked before anything changes
            if p.grad.data.shape != p.data.shape:
                raise ValueError(
                    f"update: parameter {p.name!r} of shape {p.shape} has a "
                    f"gradient of shape {p.grad.shape}"
                )
        self.iter += 1
        self.prepare()
        for p in params:
            self.update_one(p, p.grad.data)

    def prepare(self) -> None:
        """Called once per update, before the parameters (Adam's bias correction here)."""

    def update_one(self, param: Variable, grad: np.ndarray) -> None:
        """Update one parameter in place from its gradient (an array of its shape)."""
        raise NotImplementedError(f"{type(self).__name__}.update_one is not written")

    def _check(self, param, grad):
        if not isinstance(grad, np.ndarray):
            grad = grad.data if isinstance(grad, Variable) else np.asarray(grad)
        if grad.shape != param.data.shape:
            raise ValueError(
                f"{type(self).__name__}.update_one: the gradient has shape "
                f"{grad.shape}, the parameter {param.name or ''}"
                f"{' ' if param.name else ''}has shape {param.data.shape}"
            )
        return grad

    def _slots(self, param):
        """The optimizer's arrays for ``param`` (zeros at first), forgotten when it dies."""
        entry = self.state.get(id(param))
        if entry is not None and entry[0]() is param:
            return entry[1]
        arrays = [np.zeros_like(param.data) for _ in self.slot_names]
        self.state[id(param)] = (_reference(param, self.state), arrays)
        return arrays

    def _refit(self, param, data):
        """The arrays of ``param`` made C-contiguous in its dtype (its array was replaced
        by one of another dtype since they were made); the shape is checked."""
        arrays = self._slots(param)
        for i, a in enumerate(arrays):
            if a.shape != data.shape:
                raise ValueError(
                    f"update: the {self.slot_names[i]} array of parameter {param.name!r} has "
                    f"shape {a.shape}, the parameter {data.shape}"
                )
            arrays[i] = np.array(a, dtype=data.dtype, order="C", copy=True)
        return arrays

    # -------------------------------------------------------------------- state

    def _named(self):
        named = self._given()
        if named is None and self._last is not None:
            model = self._last()
            if model is not None:
                named = model._params() if hasattr(model, "_params") else model.params()
        return named or {}

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's settings, update count and per-parameter arrays (copies), by
        parameter name: ``{"type", "iter", "hyper": {...}, "state": {name: {slot: array}}}``.

        Names are those of the parameters given at construction (``"0"``, ``"1"``... for
        a list) or of the model last updated.
        """
        named = self._named()
        known = {id(p) for p in named.values()}
        strays = [
            key for key, entry in self.state.items() if key not in known and entry[0]() is not None
        ]
        if strays:
            raise ValueError(
                f"state_dict: {type(self).__name__} holds state for {len(strays)} "
                f"parameters it cannot name; give it its parameters at construction "
                f"or update one model with it"
            )
        return self._state_dict(named)

    def _state_dict(self, named):
        """``state_dict()`` with the parameters named as ``named`` (name -> parameter) says."""
        state = {}
        for name, p in named.items():
            entry = self.state.get(id(p))
            if entry is not None and entry[0]() is p:
                state[name] = {s: a.copy() for s, a in zip(self.slot_names, entry[1])}
        for name, arrays in self._pending.items():
            state.setdefault(name, {s: a.copy() for s, a in zip(self.slot_names, arrays)})
        return {
            "type": type(self).__name__,
            "iter": self.iter,
            "hyper": {k: getattr(self, k) for k in self.hyper_names},
            "state": {name: state[name] for name in sorted(state)},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` gave: settings (``lr`` included), the update count and
        the arrays, matched to parameters by name (a parameter not made yet gets its arrays
        when it first appears). Everything is checked before anything changes."""
        named = self._named()
        checked = self._validate(state, named, f"{type(self).__name__}.load_state_dict")
        self._install(checked, named)

    def _validate(self, state, named, what):
        """Check a state dict against ``named`` (name -> anything with a shape and dtype);
        return what ``_install`` needs. Raises TypeError/ValueError; changes nothing."""
        if not isinstance(state, Mapping):
            raise TypeError(
                f"{what}: expected the dict state_dict() gives, got {type(state).__name__}"
            )
        missing = sorted({"type", "iter", "hyper", "state"} - set(state))
        if missing:
            raise ValueError(f"{what}: the state lacks {missing}")
        if state["type"] != type(self).__name__:
            raise ValueError(
                f"{what}: the state is of a {state['type']}, not a {type(self).__name__}"
            )
        count = state["iter"]
        if not isinstance(count, (int, np.integer)) or isinstance(count, bool) or count < 0:
            raise ValueError(f"{what}: iter must be an int >= 0, got {count!r}")
        hyper = state["hyper"]
        if not isinstance(hyper, Mapping) or set(hyper) != set(self.hyper_names):
            raise ValueError(
                f"{what}: the settings must be {sorted(self.hyper_names)}, got "
                f"{sorted(hyper) if isinstance(hyper, Mapping) else hyper!r}"
            )
        checked = {k: self._check_hyper(k, v) for k, v in hyper.items()}
        loaded = {}
        if not isinstance(state["state"], Mapping):
            raise ValueError(f"{what}: state['state'] must map parameter names to arrays")
        for name, slots in state["state"].items():
            if not isinstance(slots, Mapping) or set(slots) != set(self.slot_names):
                raise ValueError(f"{what}: {name} must have the arrays {list(self.slot_names)}")
            arrays = [np.asarray(slots[s]) for s in self.slot_names]
            for s, a in zip(self.slot_names, arrays):
                if a.dtype.kind != "f":
                    raise ValueError(f"{what}: {name}/{s} has dtype {a.dtype}, not a float")
            p = named.get(name)
            if p is not None:
                self._fits(what, name, p, arrays)
            loaded[name] = [np.array(a, order="C", copy=True) for a in arrays]
        return checked, int(count), loaded

    def _install(self, checked, named):
        hyper, count, loaded = checked
        for k, v in hyper.items():
            setattr(self, k, v)
        self.iter = count
        self.state.clear()
        self._pending = loaded
        if named:
            self._adopt(named)

    # The optimizer's part of a model file (``model.save(path, optimizer=opt)``): flat
    # names that no parameter can have (a parameter's name has no colon).

    def _to_arrays(self, named):
        state = self._state_dict(named)
        out = {
            f"optimizer:type:{state['type']}": np.zeros(0, np.uint8),
            "optimizer:iter": np.array(state["iter"], np.int64),
        }
        for k, v in state["hyper"].items():
            out[f"optimizer:hyper:{k}"] = np.array(v, np.float64)
        for name, slots in state["state"].items():
            for slot, array in slots.items():
                out[f"optimizer:state:{name}:{slot}"] = array
        return out

    @staticmethod
    def _from_arrays(arrays, what):
        """The state dict that ``_to_arrays`` flattened into ``arrays`` (name -> array)."""
        types = [k.split(":", 2)[2] for k in arrays if k.startswith("optimizer:type:")]
        if len(types) != 1 or "optimizer:iter" not in arrays:
            raise ValueError(f"{what}: the optimizer's part is incomplete")
        iteration = arrays["optimizer:iter"]
        if iteration.shape != () or iteration.dtype.kind not in "iu":
            raise ValueError(f"{what}: optimizer:iter must be one integer")
        state = {"type": types[0], "iter": int(iteration), "hyper": {}, "state": {}}
        for key, array in arrays.items():
            parts = key.split(":")
            if parts[1] == "hyper" and len(parts) == 3:
                if array.shape != () or array.dtype.kind != "f":
                    raise ValueError(f"{what}: {key} must be one float")
                state["hyper"][parts[2]] = float(array)
            elif parts[1] == "state" and len(parts) == 4:
                state["state"].setdefault(parts[2], {})[parts[3]] = array
            elif parts[1] not in ("type", "iter") or len(parts) != (3 if parts[1] == "type" else 2):
                raise ValueError(f"{what}: unknown entry {key!r}")
        return state

    def _check_hyper(self, name, value):
        if name in ("beta1", "beta2", "momentum", "alpha"):
            return _beta(value, f"{type(self).__name__}: {name}")
        return _rate(value, f"{type(self).__name__}: {name}")

    def _fits(self, what, name, p, arrays):
        for s, a in zip(self.slot_names, arrays):
            if a.shape != p.shape or a.dtype != p.dtype:
                raise ValueError(
                    f"{what}: {name}/{s} is {a.dtype} {a.shape}, the parameter {p.dtype} {p.shape}"
                )

    def _adopt(self, named):
        found = [(name, named[name]) for name in self._pending if name in named]
        for name, p in found:
            self._fits("update", name, p, self._pending[name])
        for name, p in found:
            self.state[id(p)] = (_reference(p, self.state), self._pending.pop(name))


class SGD(Optimizer):
    """``param -= lr * grad``.

    ``SGD(params=None, lr=0.01, hooks=())``: ``params`` a model or an iterable of
    Variables that ``step()`` updates (or none, and ``update(model)``).
    """

    def __init__(self, params: Any = None, lr: float = 0.01, *, hooks: Sequence[Any] = ()) -> None:
        params, lr = _first_is_lr("SGD", params, lr, 0.01)
        self.lr = _rate(lr, "SGD: lr")
        super().__init__(params, hooks)

    def update_one(self, param, grad):
        if type(grad) is not np.ndarray or grad.shape != param.data.shape:
            grad = self._check(param, grad)
        axpy_fast(_inplace(param), grad, -self.lr)


class Momentum(Optimizer):
    """``v = momentum * v - lr * grad; param += v``."""

    slot_names = ("v",)
    hyper_names = ("lr", "momentum")

    def __init__(
        self,
        params: Any = None,
        lr: float = 0.01,
        *,
        momentum: float = 0.9,
        hooks: Sequence[Any] = (),
    ) -> None:
        params, lr = _first_is_lr("Momentum", params, lr, 0.01)
        self.lr = _rate(lr, "Momentum: lr")
        self.momentum = _beta(momentum, "Momentum: momentum")
        super().__init__(params, hooks)

    def update_one(self, param, grad):
        if type(grad) is not np.ndarray or grad.shape != param.data.shape:
            grad = self._check(param, grad)
        data = _inplace(param)
        (v,) = self._slots(param)
        try:
            momentum_update(data, v, grad, self.lr, self.momentum)
        except TypeError:
            (v,) = self._refit(param, data)
            momentum_update(data, v, grad, self.lr, self.momentum)


class Adam(Optimizer):
    """Adam with the bias correction folded into the step size, as the seed:
    ``rate = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``,
    ``m += (1 - beta1)(g - m)``, ``v += (1 - beta2)(g^2 - v)``,
    ``param -= rate * m / (sqrt(v) + 1e-8)``.

    ``lr`` (default 0.001) is also called ``alpha``, the seed's name; either may be given.
    """

    slot_names = ("m", "v")
    hyper_names: tuple[str, ...] = ("lr", "beta1", "beta2")

    def __init__(
        self,
        params: Any = None,
        lr: float | None = None,
        *,
        alpha: float | None = None,
        beta1: float = 0.9,
        beta2: float = 0.999,
        hooks: Sequence[Any] = (),
    ) -> None:
        name = type(self).__name__
        if _is_number(params):
            if lr is not None or alpha is not None:
                raise TypeError(
                    f"{name}: the first argument is the parameters (a model or an "
                    f"iterable of Variables), got the number {params!r} as well"
                )
            params, lr = None, params
        if lr is not None and alpha is not None:
            raise TypeError(f"{name}: give lr or alpha (the same setting), not both")
        value = lr if lr is not None else alpha if alpha is not None else 0.001
        self.lr = _rate(value, f"{name}: lr" if alpha is None else f"{name}: alpha")
        self.beta1 = _beta(beta1, f"{name}: beta1")
        self.beta2 = _beta(beta2, f"{name}: beta2")
        self._step_rate = 0.0
        super().__init__(params, hooks)

    @property
    def alpha(self) -> float:
        """The seed's name of ``lr``."""
        return self.lr

    @alpha.setter
    def alpha(self, value: float) -> None:
        self.lr = value

    def prepare(self):
        fix1 = 1.0 - self.beta1**self.iter
        fix2 = 1.0 - self.beta2**self.iter
        self._step_rate = self.lr * math.sqrt(fix2) / fix1

    def update_one(self, param, grad):
        if type(grad) is not np.ndarray or grad.shape != param.data.shape:
            grad = self._check(param, grad)
        data = _inplace(param)
        m, v = self._slots(param)
        shrink = self._shrink()
        try:
            adam_update(data, m, v, grad, self._step_rate, self.beta1, self.beta2, shrink)
        except TypeError:
            m, v = self._refit(param, data)
            adam_update(data, m, v, grad, self._step_rate, self.beta1, self.beta2, shrink)

    def _shrink(self):
        """What the parameter is multiplied by after the step: 1 (nothing) for Adam."""
        return 1.0


class AdamW(Adam):
    """Adam with decoupled weight decay, as the seed library computes it: the Adam step,
    then the parameter shrunk, ``param = (param - rate * m / (sqrt(v) + 1e-8)) *
    (1 - rate * weight_decay)`` with Adam's corrected rate."""

    hyper_names = ("lr", "beta1", "beta2", "weight_decay")

    def __init__(
        self,
        params: Any = None,
        lr: float | None = None,
        *,
        alpha: float | None = None,
        beta1: float = 0.9,
        beta2: float = 0.999,
        weight_decay: float = 0.01,
        hooks: Sequence[Any] = (),
    ) -> None:
        self.weight_decay = _rate(weight_decay, "AdamW: weight_decay")
        super().__init__(params, lr, alpha=alpha, beta1=beta1, beta2=beta2, hooks=hooks)

    def _shrink(self):
        return 1 - self._step_rate * self.weight_decay


class RMSprop(Optimizer):
    """RMSprop as PyTorch's: ``v = alpha * v + (1 - alpha) * grad^2``,
    ``param -= lr * grad / (sqrt(v) + eps)``."""

    slot_names = ("v",)
    hyper_names = ("lr", "alpha", "eps")

    def __init__(
        self,
        params: Any = None,
        lr: float = 0.01,
        *,
        alpha: float = 0.99,
        eps: float = 1e-8,
        hooks: Sequence[Any] = (),
    ) -> None:
        params, lr = _first_is_lr("RMSprop", params, lr, 0.01)
        self.lr = _rate(lr, "RMSprop: lr")
        self.alpha = _beta(alpha, "RMSprop: alpha")
        self.eps = _rate(eps, "RMSprop: eps")
        super().__init__(params, hooks)

    def update_one(self, param, grad):
        if type(grad) is not np.ndarray or grad.shape != param.data.shape:
            grad = self._check(param, grad)
        data = _inplace(param)
        (v,) = self._slots(param)
        try:
            rmsprop_update(data, v, grad, self.lr, self.alpha, self.eps)
        except TypeError:
            (v,) = self._refit(param, data)
            rmsprop_update(data, v, grad, self.lr, self.alpha, self.eps)


class Adagrad(Optimizer):
    """Adagrad as PyTorch's: ``s += grad^2``, ``param -= lr * grad / (sqrt(s) + eps)``."""

    slot_names = ("sum",)
    hyper_names = ("lr", "eps")

    def __init__(
        self, params: Any = None, lr: float = 0.01, *, eps: float = 1e-10, hooks: Sequence[Any] = ()
    ) -> None:
        params, lr = _first_is_lr("Adagrad", params, lr, 0.01)
        self.lr = _rate(lr, "Adagrad: lr")
        self.eps = _rate(eps, "Adagrad: eps")
        super().__init__(params, hooks)

    def update_one(self, param, grad):
        if type(grad) is not np.ndarray or grad.shape != param.data.shape:
            grad = self._check(param, grad)
        data = _inplace(param)
        (s,) = self._slots(param)
        try:
            adagrad_update(data, s, grad, self.lr, self.eps)
        except TypeError:
            (s,) = self._refit(param, data)
            adagrad_update(data, s, grad, self.lr, self.eps)


# ------------------------------------------------------------------------ schedules


class Scheduler:
    """Base of the learning-rate schedules: sets ``optimizer.lr = lr_at(t)`` at
    construction (t = 0) and at each ``step()`` (t + 1). ``base_lr`` is the optimizer's
    ``lr`` when the schedule was made."""

    def __init__(self, optimizer: Any) -> None:
        if not hasattr(optimizer, "lr") or not _is_number(optimizer.lr):
            raise TypeError(
                f"{type(self).__name__}: expected an optimizer with an lr, got "
                f"{type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)
        self.last_step = 0
        self._apply()

    def lr_at(self, t: int) -> float:
        """The learning rate after ``t`` steps."""
        raise NotImplementedError

    @property
    def lr(self) -> float:
        """The learning rate now."""
        return self.lr_at(self.last_step)

    def step(self) -> None:
        """Advance one step and set the optimizer's ``lr``."""
        self.last_step += 1
        self._apply()

    def _apply(self):
        self.optimizer.lr = self.lr_at(self.last_step)

    def state_dict(self) -> dict[str, Any]:
        """``{"last_step", "base_lr"}``."""
        return {"last_step": self.last_step, "base_lr": self.base_lr}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` gave and set the optimizer's ``lr`` to match."""
        what = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, Mapping) or set(state) != {"last_step", "base_lr"}:
            raise ValueError(f"{what}: expected {{'last_step', 'base_lr'}}, got {state!r}")
        step = state["last_step"]
        if not isinstance(step, (int, np.integer)) or isinstance(step, bool) or step < 0:
            raise ValueError(f"{what}: last_step must be an int >= 0, got {step!r}")
        self.base_lr = _rate(state["base_lr"], f"{what}: base_lr")
        self.last_step = int(step)
        self._apply()


class StepLR(Scheduler):
    """``lr = base_lr * gamma ** (t // step_size)``: multiplied by ``gamma`` every
    ``step_size`` steps."""

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = _positive_int(step_size, "StepLR: step_size")
        self.gamma = _rate(gamma, "StepLR: gamma")
        super().__init__(optimizer)

    def lr_at(self, t):
        return self.base_lr * self.gamma ** (t // self.step_size)


class CosineLR(Scheduler):
    """``lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * t / total_steps)) / 2``, then
    ``min_lr`` from ``total_steps`` on."""

    def __init__(self, optimizer: Any, total_steps: int, min_lr: float = 0.0) -> None:
        self.total_steps = _positive_int(total_steps, "CosineLR: total_steps")
        self.min_lr = _rate(min_lr, "CosineLR: min_lr")
        super().__init__(optimizer)

    def lr_at(self, t):
        t = min(t, self.total_steps)
        return (
            self.min_lr
            + (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * t / self.total_steps)) / 2
        )


class WarmupLR(Scheduler):
    """``lr = base_lr * (t + 1) / warmup_steps`` for the first ``warmup_steps`` steps,
    then ``base_lr``, or the schedule ``then`` (made on the same optimizer, before this
    one) counted from the end of the warm-up:
    ``O.WarmupLR(opt, 100, then=O.CosineLR(opt, 1000))``."""

    def __init__(self, optimizer: Any, warmup_steps: int, then: Scheduler | None = None) -> None:
        self.warmup_steps = _positive_int(warmup_steps, "WarmupLR: warmup_steps")
        if then is not None and (
            not isinstance(then, Scheduler) or then.optimizer is not optimizer
        ):
            raise TypeError("WarmupLR: then must be a schedule of the same optimizer")
        self.then = then
        super().__init__(optimizer)

    def lr_at(self, t):
        if t < self.warmup_steps:
            return self.base_lr * (t + 1) / self.warmup_steps
        if self.then is not None:
            return self.then.lr_at(t - self.warmup_steps)
        return self.base_lr
