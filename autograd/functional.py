"""Transforms of Python functions: ``grad``, ``value_and_grad``, ``jacobian``, ``hessian``,
``vjp``, ``jvp``, ``hvp``.

The functions transformed take numbers, NumPy arrays or Variables and return Variables
built from them with autograd operations. The transforms return Variables and nest:
``grad(grad(f))(x)`` is the second derivative, ``jacobian(grad(f))(x)`` the Hessian.
Everything is computed with ``autograd.grad``: no ``.grad`` is read or written, and no
reference cycle is made.

>>> import autograd as ag
>>> import autograd.functions as F
>>> from autograd.functional import grad, hessian
>>> grad(F.sin)(0.0)
variable(1)
>>> grad(grad(F.sin))(0.0)
variable(-0)
>>> hessian(lambda x: (x ** 3.0).sum())(ag.variable(1.0, 2.0))
variable[2 2]([6 0 0 12])
"""

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograd._core import graph as _graph
from autograd._core.graph import Node
from autograd.variable import Variable

__all__ = ["grad", "value_and_grad", "jacobian", "hessian", "vjp", "jvp", "hvp"]

Argnum = int | Sequence[int]

_state = threading.local()


def _nested() -> bool:
    """True while another transform of this thread is calling the function it transforms:
    then every result must stay differentiable (closures may hold its Variables)."""
    return getattr(_state, "depth", 0) > 0


class _Calling:
    """Marks the time a transform spends inside the user's function, with backprop on."""

    def __enter__(self):
        _state.depth = getattr(_state, "depth", 0) + 1
        # as torch.func: an enclosing no_grad() does not stop a transform
        self.previous = _graph.set_enable_backprop(True)

    def __exit__(self, *exc):
        _graph.set_enable_backprop(self.previous)
        _state.depth -= 1
        return False


def _name(f: Callable) -> str:
    return getattr(f, "__name__", type(f).__name__)


def _check_callable(f: Any, what: str) -> None:
    if not callable(f):
        raise TypeError(f"{what}: expected a function, got {type(f).__name__}")


def _argnums(argnum: Any, nargs: int, what: str) -> tuple[tuple[int, ...], bool]:
    """The positions to differentiate, normalised, and whether one int was given."""
    single = not isinstance(argnum, (tuple, list))
    items = (argnum,) if single else tuple(argnum)
    if not items:
        raise ValueError(f"{what}: argnum is an empty sequence")
    out = []
    for a in items:
        if not isinstance(a, (int, np.integer)) or isinstance(a, (bool, np.bool_)):
            raise TypeError(f"{what}: argnum must be an int or a tuple of ints, got {a!r}")
        a = int(a)
        if not -nargs <= a < nargs:
            raise IndexError(
                f"{what}: argnum {a} is out of range for a call with {nargs} "
                f"positional argument{'s' if nargs != 1 else ''}"
            )
        a %= nargs
        if a in out:
            raise ValueError(f"{what}: argnum {a} is given twice")
        out.append(a)
    return tuple(out), single


def _as_input(value: Any, position: int, what: str) -> Node:
    """Argument ``position`` as a Variable that requires grad: a Variable that requires
    grad is used itself (so that an enclosing transform sees through it); anything else
    becomes a new leaf."""
    if isinstance(value, Node):
        if value.requires_grad:
            return value
        return Variable(value.data)
    if isinstance(value, (bool, np.bool_)) or (
        isinstance(value, np.ndarray) and value.dtype == bool
    ):
        raise TypeError(f"{what}: argument {position} is a bool, which is not differentiable")
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(
            f"{what}: argument {position} is not differentiable: expected a number, "
            f"an array or a Variable, got {type(value).__name__}"
        )
    try:
        return Variable(value)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what}: argument {position} is not differentiable: {e}") from None


def _call(f: Callable, args: Sequence[Any], argnums: tuple[int, ...], what: str):
    """Call ``f`` with the differentiated arguments as Variables; returns
    (inputs, output, create_graph)."""
    args = list(args)
    needs_graph = _nested() or any(isinstance(a, Node) and a.requires_grad for a in args)
    inputs = []
    for i in argnums:
        v = _as_input(args[i], i, what)
        args[i] = v
        inputs.append(v)
    with _Calling():
        out = f(*args)
    return inputs, out, needs_graph and _graph.is_backprop_enabled()


def _check_output(out: Any, f: Callable, what: str, scalar: bool) -> Node:
    if not isinstance(out, Node):
        raise TypeError(
            f"{what}: the function {_name(f)} must return a Variable built from its "
            f"arguments, got {type(out).__name__}"
        )
    if scalar and out.data.size != 1:
        raise ValueError(
            f"{what}: the function {_name(f)} must return one element (a loss), "
            f"got shape {out.data.shape}; use jacobian() or vjp() for other "
            f"shapes"
        )
    return out


def _grads(out: Node, inputs: Sequence[Node], seed: Any, create_graph: bool) -> tuple[Node, ...]:
    if not out.requires_grad:  # a constant: every gradient is zero
        return tuple(Variable(np.zeros_like(x.data), requires_grad=False) for x in inputs)
    gs = _graph.grad(
        out, list(inputs), grad_outputs=seed, create_graph=create_graph, allow_unused=True
    )
    return tuple(gs)


def _pick(items: tuple[Any, ...], single: bool) -> Any:
    return items[0] if single else items


# ------------------------------------------------------------------ grad, value_and_grad


def value_and_grad(f: Callable, argnum: Argnum = 0) -> Callable:
    """A function returning ``(f(*args), gradient)``: ``f`` must return one element; the
    gradient is with respect to argument ``argnum`` (a tuple of them for a tuple)."""
    _check_callable(f, "value_and_grad")

    def value_and_grad_f(*args):
        argnums, single = _argnums(argnum, len(args), "value_and_grad")
        inputs, out, cg = _call(f, args, argnums, "value_and_grad")
        out = _check_output(out, f, "value_and_grad", True)
        return out, _pick(_grads(out, inputs, None, cg), single)

    value_and_grad_f.__name__ = f"value_and_grad({_name(f)})"
    return value_and_grad_f


def grad(f: Callable, argnum: Argnum = 0) -> Callable:
    """The gradient of ``f`` (which returns one element) with respect to argument ``argnum``,
    as a function of the same arguments. Nests: ``grad(grad(f))``.

    >>> import autograd.functions as F
    >>> grad(lambda x, y: x * y, argnum=(0, 1))(2.0, 3.0)
    (variable(3), variable(2))
    """
    _check_callable(f, "grad")

    def grad_f(*args):
        argnums, single = _argnums(argnum, len(args), "grad")
        inputs, out, cg = _call(f, args, argnums, "grad")
        out = _check_output(out, f, "grad", True)
        return _pick(_grads(out, inputs, None, cg), single)

    grad_f.__name__ = f"grad({_name(f)})"
    return grad_f


# ------------------------------------------------------------------ jacobian, hessian


def _rows(out: Node, inputs: Sequence[Node], create_graph: bool) -> tuple[Node, ...]:
    """The Jacobian of ``out`` with respect to each input, ``out.shape + x.shape``, over
    the graph of one forward pass: walks carrying a batch of rows where every operation
    on the way has a batched backward, else one backward walk per element of ``out``."""
    m = out.data.size
    if not out.requires_grad or m == 0:
        return tuple(
            Variable(
                np.zeros(out.data.shape + x.data.shape, dtype=x.data.dtype), requires_grad=False
            )
            for x in inputs
        )
    if not create_graph and m > 1:
        blocks = _batched_rows(out, inputs)
        if blocks is not None:
            return tuple(
                Variable(b.reshape(out.data.shape + x.data.shape), requires_grad=False)
                for b, x in zip(blocks, inputs)
            )
    seeds = _graph._basis(out.data)
    per_row = _graph._grad_rows(out, list(inputs), seeds, create_graph)
    results = []
    for j, x in enumerate(inputs):
        shape = out.data.shape + x.data.shape
        rows = [r[j] for r in per_row]
        if create_graph:
            from autograd._core import ops as _ops

            flat = _ops.concat([_ops.reshape(r, (1,) + x.data.shape) for r in rows], 0)
            results.append(_ops.reshape(flat, shape))
        else:
            results.append(
                Variable(np.stack([r.data for r in rows]).reshape(shape), requires_grad=False)
            )
    return tuple(results)


# Rows walked at once hold a batch of every gradient array on the way: at most this
# many elements (of the largest of the output and the inputs) per batch.
_BATCH_ELEMENTS = 1 << 21


def _batched_rows(out: Node, inputs: Sequence[Node]) -> tuple[Any, ...] | None:
    """The Jacobian's rows by walks whose seed carries a batch of rows (one-hot rows of
    the identity), as many rows per walk as fit in ``_BATCH_ELEMENTS``: one walk instead
    of one per row. None when an operation on the way has no batched backward."""
    m = out.data.size
    widest = max([out.data.size] + [x.data.size for x in inputs])
    step = max(1, min(m, _BATCH_ELEMENTS // max(widest, 1)))
    eye = np.eye(m, dtype=out.data.dtype)
    parts: list[Any] = []
    for start in range(0, m, step):
        rows = eye[start : start + step]
        seeds = rows.reshape((rows.shape[0],) + out.data.shape)
        got = _graph._grad_batched(out, list(inputs), seeds)
        if got is None:
            return None
        parts.append(got)
    if len(parts) == 1:
        return tuple(np.ascontiguousarray(b) for b in parts[0])
    return tuple(np.concatenate([p[j] for p in parts]) for j in range(len(inputs)))


def jacobian(f: Callable, argnum: Argnum = 0) -> Callable:
    """The Jacobian of ``f`` with respect to argument ``argnum``, of shape
    ``out.shape + in.shape`` (a tuple of them for a tuple ``argnum``). One forward pass,
    then backward walks that each carry a batch of rows (one walk per row where an
    operation on the way has no batched backward, or the result must be differentiable).

    >>> import autograd as ag
    >>> jacobian(lambda x: x * x)(ag.variable(1.0, 2.0))
    variable[2 2]([2 0 0 4])
    """
    _check_callable(f, "jacobian")

    def jacobian_f(*args):
        argnums, single = _argnums(argnum, len(args), "jacobian")
        inputs, out, cg = _call(f, args, argnums, "jacobian")
        out = _check_output(out, f, "jacobian", False)
        return _pick(_rows(out, inputs, cg), single)

    jacobian_f.__name__ = f"jacobian({_name(f)})"
    return jacobian_f


def hessian(f: Callable, argnum: Argnum = 0) -> Callable:
    """The Hessian of ``f`` (which returns one element) with respect to argument ``argnum``,
    of shape ``in.shape + in.shape``; for a tuple ``argnum``, a tuple of tuples of the
    blocks. One forward pass, one backward walk for the gradient, then walks that each
    carry a batch of rows of the Hessian (see ``jacobian``).

    >>> import autograd as ag
    >>> hessian(lambda x: x[0] * x[1] ** 2.0)(ag.variable(3.0, 2.0))
    variable[2 2]([0 4 4 6])
    """
    _check_callable(f, "hessian")

    def hessian_f(*args):
        argnums, single = _argnums(argnum, len(args), "hessian")
        inputs, out, cg = _call(f, args, argnums, "hessian")
        out = _check_output(out, f, "hessian", True)
        gs = _grads(out, inputs, None, True)
        blocks = tuple(_rows(g, inputs, cg) for g in gs)
        return blocks[0][0] if single else blocks

    hessian_f.__name__ = f"hessian({_name(f)})"
    return hessian_f


# ------------------------------------------------------------------ vjp, jvp, hvp


def vjp(f: Callable, *args: Any) -> tuple[Node, Callable]:
    """``(f(*args), vjp_fn)``: ``vjp_fn(v)`` gives ``v`` times the Jacobian of ``f`` with
    respect to each argument, a tuple with one Variable per argument. ``v`` has the
    output's shape. ``vjp_fn`` may be called many times; each call walks back once.

    >>> import autograd as ag
    >>> out, fn = vjp(lambda x: x * x, ag.variable(1.0, 2.0))
    >>> fn(ag.variable(1.0, 1.0))
    (variable[2]([2 4]),)
    """
    _check_callable(f, "vjp")
    if not args:
        raise TypeError("vjp: give at least one argument to differentiate with respect to")
    inputs, out, cg = _call(f, args, tuple(range(len(args))), "vjp")
    out = _check_output(out, f, "vjp", False)

    def vjp_fn(v):
        if v is None:
            raise TypeError("vjp_fn: expected a cotangent of the output's shape, got None")
        return _grads(out, inputs, v, cg or _nested() or (isinstance(v, Node) and v.requires_grad))

    return out, vjp_fn


def _tuple_of(values: Any, what: str) -> tuple[Any, ...]:
    return tuple(values) if isinstance(values, (tuple, list)) else (values,)


def jvp(f: Callable, args: Any, tangents: Any) -> tuple[Node, Node]:
    """``(f(*args), J v)``: the Jacobian of ``f`` times the tangents (one per argument,
    each of that argument's shape), without forming the Jacobian: two backward walks
    (the transpose of a vector-Jacobian product).

    >>> import autograd as ag
    >>> jvp(lambda x: x * x, (ag.variable(1.0, 2.0),), (ag.variable(1.0, 0.0),))
    (variable[2]([1 4]), variable[2]([2 0]))
    """
    _check_callable(f, "jvp")
    args = _tuple_of(args, "jvp")
    tangents = _tuple_of(tangents, "jvp")
    if not args:
        raise TypeError("jvp: give at least one argument")
    if len(tangents) != len(args):
        raise ValueError(f"jvp: {len(args)} arguments but {len(tangents)} tangents")
    inputs, out, cg = _call(f, args, tuple(range(len(args))), "jvp")
    out = _check_output(out, f, "jvp", False)
    ts = []
    for i, (x, t) in enumerate(zip(inputs, tangents)):
        t = t if isinstance(t, Node) else Variable(t, requires_grad=False)
        if t.data.shape != x.data.shape:
            raise ValueError(
                f"jvp: tangent {i} has shape {t.data.shape}, argument {i} has shape {x.data.shape}"
            )
        ts.append(t)
    if not out.requires_grad:
        return out, Variable(np.zeros_like(out.data), requires_grad=False)
    # u -> u^T J is linear in u; its gradient with respect to u, seeded with v, is J v
    u = Variable(np.zeros_like(out.data))
    gs = _graph.grad(out, list(inputs), grad_outputs=u, create_graph=True, allow_unused=True)
    pairs = [(g, t) for g, t in zip(gs, ts) if g.requires_grad]
    if not pairs:
        return out, Variable(np.zeros_like(out.data), requires_grad=False)
    cg = cg or any(t.requires_grad for t in ts)
    tangent_out = _graph.grad(
        [g for g, _ in pairs],
        u,
        grad_outputs=[t for _, t in pairs],
        create_graph=cg,
        allow_unused=True,
    )
    return out, tangent_out


def hvp(f: Callable, x: Any, v: Any) -> Node:
    """The Hessian of ``f`` (one element out) at ``x`` times ``v`` (``x``'s shape), without
    forming the Hessian: two backward walks.

    >>> import autograd as ag
    >>> hvp(lambda x: (x ** 3.0).sum(), ag.variable(1.0, 2.0), ag.variable(1.0, 1.0))
    variable[2]([6 12])
    """
    _check_callable(f, "hvp")
    inputs, out, cg = _call(f, (x,), (0,), "hvp")
    out = _check_output(out, f, "hvp", True)
    xv = inputs[0]
    v = v if isinstance(v, Node) else Variable(v, requires_grad=False)
    if v.data.shape != xv.data.shape:
        raise ValueError(f"hvp: v has shape {v.data.shape}, x has shape {xv.data.shape}")
    (g,) = _grads(out, inputs, None, True)
    if not g.requires_grad:
        return Variable(np.zeros_like(xv.data), requires_grad=False)
    return _graph.grad(g, xv, grad_outputs=v, create_graph=cg or v.requires_grad, allow_unused=True)
