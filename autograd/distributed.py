"""Data-parallel training over MPI (mpi4py): every process holds the whole model,
computes gradients on its own part of each batch, and before every update one
all-reduce per dtype averages the gradients, so every process applies the same update.

Install with ``pip install "cyautograd[mpi]"`` (mpi4py and an MPI runtime); run with
``mpirun -n 2 python train.py`` (as root in a container: ``mpirun --allow-run-as-root``).
Without ``mpirun`` the same program runs as one process, and every call here is cheap.

>>> import numpy as np
>>> import autograd as ag
>>> import autograd.distributed as dist
>>> import autograd.functions as F
>>> import autograd.models as M
>>> import autograd.optimizers as O
>>> model = M.MLP([8, 3], rng=np.random.default_rng(0))
>>> x, t = ag.data.spiral(120, classes=3, rng=np.random.default_rng(0))
>>> loader = ag.data.DataLoader(ag.data.ArrayDataset(x, t), batch_size=30, shuffle=True,
...                             rng=np.random.default_rng(1),
...                             shard=(dist.rank(), dist.size()))
>>> _ = model(x[:1])                        # create the lazy parameters ...
>>> dist.broadcast_parameters(model)        # ... then start every rank from rank 0's
>>> opt = dist.DistributedOptimizer(O.Adam(alpha=0.01))
>>> for xb, tb in loader:
...     loss = F.softmax_cross_entropy(model(xb), tb)
...     model.cleargrads()
...     loss.backward()
...     opt.update(model)                   # all-reduce the gradients, then Adam
>>> dist.rank(), dist.size(), dist.is_root()
(0, 1, True)

Every call here first agrees with the other ranks on what it does (a handshake of one
small all-reduce): ranks in different calls, or in the same call with different
parameters, shapes or roots, raise on every rank instead of hanging or mixing data up.
When one rank raises, the exception is printed and the whole job is aborted with a
non-zero status (``MPI_Abort``), so no other rank is left waiting in a collective;
a rank that leaves early in any other way (``sys.exit``, the end of its program) is
noticed by a rank waiting for it in a collective of this module, which then raises.
"""

import atexit
import hashlib
import numbers
import sys
import time
from typing import Any

import numpy as np

try:
    from mpi4py import MPI
except (ImportError, RuntimeError) as _error:  # RuntimeError: mpi4py without an MPI library
    raise ImportError(
        f"autograd.distributed needs mpi4py and an MPI runtime ({_error}); install them with: "
        f'pip install "cyautograd[mpi]"'
    ) from _error

from autograd._core import kernels as _kernels
from autograd.layers import Layer
from autograd.variable import Variable

__all__ = [
    "rank",
    "size",
    "is_root",
    "barrier",
    "allreduce",
    "broadcast_parameters",
    "allreduce_grads",
    "DistributedOptimizer",
]

_WORLD = MPI.COMM_WORLD
_RANK = _WORLD.Get_rank()
_SIZE = _WORLD.Get_size()
_EXIT_TAG = 1  # the message a rank sends to every other when its program ends
_GRACE = 2.0  # seconds a collective may still take to finish after a peer has left
_SPIN = 0.0001  # seconds of polling without pause when waiting for the other ranks
_NAP = 0.00001  # then the pause between polls


def rank() -> int:
    """This process's rank in ``MPI.COMM_WORLD`` (0 when run without ``mpirun``)."""
    return _RANK


def size() -> int:
    """The number of processes (1 when run without ``mpirun``)."""
    return _SIZE


def is_root() -> bool:
    """True on rank 0, the one that prints and saves."""
    return _RANK == 0


# --------------------------------------------------------------------------- ending the job


def _abort_on_exception(kind, value, traceback):
    """An uncaught exception on any rank ends every rank: print it, then MPI_Abort."""
    try:
        _previous_hook(kind, value, traceback)
        sys.stderr.write(
            f"autograd.distributed: rank {_RANK} of {_SIZE} raised "
            f"{kind.__name__}; aborting all ranks\n"
        )
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        _WORLD.Abort(1)


def _leave():
    """At exit: tell every other rank that this one is done, then wait for all of them
    to say the same before MPI is finalized. A rank still waiting in a collective of
    this module sees the message and raises instead of waiting forever."""
    if MPI.Is_finalized():  # the program finalized MPI itself
        return
    empty = np.empty(0, np.uint8)
    others = [r for r in range(_SIZE) if r != _RANK]
    sends = [_comm.Isend([empty, MPI.BYTE], dest=r, tag=_EXIT_TAG) for r in others]
    for r in others:
        _comm.Recv([empty, MPI.BYTE], source=r, tag=_EXIT_TAG)
    MPI.Request.Waitall(sends)


if _SIZE > 1:
    # The collectives of this module run on a private communicator, so that they never
    # match the user's own messages; it also carries the exit notices.
    _comm = _WORLD.Dup()
    _previous_hook = sys.excepthook
    sys.excepthook = _abort_on_exception
    atexit.register(_leave)  # after mpi4py's import, so it runs before MPI_Finalize
else:
    _comm = _WORLD


def _wait(request, what):
    """Wait for a nonblocking collective; raise if a peer has left the job meanwhile.
    Polls in a tight loop for the first 0.1 millisecond, then sleeps a little between
    polls, so that a rank waiting for a slower one leaves the core to the processes
    that need it (on a busy machine, often that slower rank)."""
    status = MPI.Status()
    spin_until = time.monotonic() + _SPIN
    while not request.Test():
        if time.monotonic() > spin_until:
            time.sleep(_NAP)
        if _comm.Iprobe(source=MPI.ANY_SOURCE, tag=_EXIT_TAG, status=status):
            deadline = time.monotonic() + _GRACE
            while not request.Test():
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{what}: rank {status.Get_source()} has ended its program while rank "
                        f"{_RANK} waits for it; every rank must make the same calls (the same "
                        f"number of steps: shard the data with DataLoader(..., shard=(rank(), "
                        f"size())))"
                    )
            return


# --------------------------------------------------------------------------- parameters


def _named_params(model, what) -> list[tuple[str, Any]]:
    if hasattr(model, "params") and callable(model.params):
        items = list(model.params().items())
    elif isinstance(model, dict):
        items = list(model.items())
    elif isinstance(model, Variable):
        items = [("0", model)]
    else:
        try:
            items = [(str(i), p) for i, p in enumerate(model)]
        except TypeError:
            raise TypeError(
                f"{what}: expected a model or layer, a dict of Variables or an "
                f"iterable of them, got {type(model).__name__}"
            ) from None
    seen = set()
    out = []
    for name, p in items:
        if not isinstance(p, Variable):
            raise TypeError(f"{what}: parameter {name!r} is a {type(p).__name__}, not a Variable")
        if p.data.dtype.kind != "f":
            raise TypeError(f"{what}: parameter {name!r} has dtype {p.data.dtype}, not a float")
        if id(p) not in seen:  # a parameter shared under two names goes once
            seen.add(id(p))
            out.append((name, p))
    return out


def _groups(items, array_of=lambda item: item[1].data) -> list[tuple[np.dtype, list]]:
    """``items`` by the dtype of ``array_of(item)`` (by default, (name, Variable) pairs
    by their data's): dtypes in a fixed order, items in the given order."""
    by_dtype: dict[str, tuple[np.dtype, list]] = {}
    for item in items:
        dtype = array_of(item).dtype
        by_dtype.setdefault(dtype.str, (dtype, []))[1].append(item)
    return [by_dtype[key] for key in sorted(by_dtype)]


# --------------------------------------------------------------------------- agreement

# Every collective of this module starts with the same small all-reduce, which carries
# what the call is (its kind) and a digest of what it moves (the parameters' names,
# shapes and dtypes; an array's dtype and shape; the root). Two ranks in different
# calls (one rank a step ahead, one in barrier() and the other in allreduce()) thus
# meet in that all-reduce, see the difference, and raise, where their data transfers
# would have matched each other's and hung or mixed up the data.
_CALLS = ("barrier", "allreduce", "broadcast_parameters", "allreduce_grads")
_digests: dict[Any, int] = {}


def _digest(detail) -> int:
    """A 62-bit digest of ``detail`` (a tuple of names, shapes, dtype strings)."""
    digest = _digests.get(detail)
    if digest is None:
        digest = int.from_bytes(hashlib.sha256(repr(detail).encode()).digest()[:8], "little") >> 2
        if len(_digests) > 1024:  # layouts that change every call: do not grow
            _digests.clear()
        _digests[detail] = digest
    return digest


def _handshake(what, detail, explain):
    """Wait until every rank has reached a call of this module, and check that all are
    in the same one (``what``) with the same ``detail``; otherwise raise on every rank.
    The wait naps between polls and notices a peer that has left (``_wait``).
    ``explain(details)`` makes the message from every rank's ``detail`` when the
    ranks are all in ``what`` but their details differ."""
    kind = _CALLS.index(what) + 1
    digest = _digest(detail)
    mine = np.array([kind, digest, -kind, -digest], np.int64)
    highest = np.empty_like(mine)
    _wait(_comm.Iallreduce(mine, highest, op=MPI.MAX), what)
    if (highest == mine).all():  # the maximum of x and of -x: every rank has x
        return
    if highest[0] != kind or highest[2] != -kind:
        others = sorted({_CALLS[int(highest[0]) - 1], _CALLS[int(-highest[2]) - 1]} - {what})
        raise RuntimeError(
            f"{what}: the ranks are in different calls: rank {_RANK} in {what}, another "
            f"in {' or '.join(others)}; every rank must make the same calls of "
            f"autograd.distributed in the same order (the same number of steps: shard "
            f"the data with DataLoader(..., shard=(rank(), size())))"
        )
    details = _comm.allgather(detail)  # every rank is in this call: safe to exchange
    raise ValueError(f"{what}: {explain(details)}")


def _layout(params):
    """(name, shape, dtype, frozen) of each parameter: what must match on every rank."""
    return tuple(
        (name, p.data.shape, p.data.dtype.str) + (() if p.requires_grad else ("frozen",))
        for name, p in params
    )


def _explain_layouts(layouts):
    """Which parameters (name, shape, dtype) differ between rank 0 and the first rank
    whose layout is not rank 0's."""
    first = layouts[0]
    r, other = next((r, x) for r, x in enumerate(layouts) if x != first)
    only_first = [e for e in first if e not in other][:3]
    only_other = [e for e in other if e not in first][:3]
    if only_first or only_other:
        difference = (
            f"rank 0 has {len(first)} parameters, rank {r} {len(other)}; only rank 0 has "
            f"{only_first or 'none'}, only rank {r} has {only_other or 'none'} "
            f"(name, shape, dtype, and 'frozen' where requires_grad is False)"
        )
    else:
        i = next(i for i, (a, b) in enumerate(zip(first, other)) if a != b)
        difference = (
            f"the same parameters in another order (position {i}: {first[i][0]!r} on "
            f"rank 0, {other[i][0]!r} on rank {r})"
        )
    return (
        f"the ranks' models differ: {difference}; build the same model on every rank "
        f"and run one forward pass before (lazy layers make their weights at the first "
        f"call)"
    )


def _explain_grads(details):
    """The message for ranks in allreduce_grads with different settings or layouts."""
    for index, setting in enumerate(("average=", "a weight given")):
        values = [d[index] for d in details]
        if len(set(values)) > 1:
            given = ", ".join(f"rank {r} {v}" for r, v in enumerate(values))
            return f"the ranks differ in {setting}: {given}; give the same on every rank"
    return _explain_layouts([d[2] for d in details])


# --------------------------------------------------------------------------- collectives


def barrier() -> None:
    """Wait until every rank has reached this point."""
    if _SIZE > 1:
        _handshake("barrier", (), None)


def allreduce(value: Any, average: bool = False) -> Any:
    """The sum (or mean) over ranks of a number or an array, returned on every rank
    (a float for a number, a new array for an array): for losses and accuracies.
    Booleans and integers are summed as 64-bit integers (a count does not wrap at the
    width of its type); every rank must give the same dtype, shape and ``average``.

    >>> import autograd.distributed as dist
    >>> dist.allreduce(2.5, average=True)
    2.5
    """
    if not isinstance(average, (bool, np.bool_)):
        raise TypeError(f"allreduce: average must be True or False, got {average!r}")
    if isinstance(value, Variable):
        value = value.data
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError("allreduce: masked arrays are not supported (the mask would be lost)")
    scalar = isinstance(value, (numbers.Number, np.bool_))
    if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        raise TypeError(f"allreduce: complex numbers are not supported, got {value!r}")
    try:
        data = np.array(value, dtype=np.float64 if scalar else None)
    except (TypeError, ValueError, OverflowError) as error:
        raise TypeError(
            f"allreduce: expected a number or a numeric array, got {type(value).__name__} ({error})"
        ) from None
    if data.dtype.kind not in "fiub":
        raise TypeError(
            f"allreduce: expected a real number or an array of real numbers or booleans, "
            f"got {type(value).__name__} of dtype {data.dtype}"
        )
    wide = {"b": np.int64, "i": np.int64, "u": np.uint64}.get(data.dtype.kind)
    # a private, contiguous, native-order copy, summed in place
    data = np.array(data, dtype=wide or data.dtype.newbyteorder("="), order="C")
    if _SIZE > 1:
        _handshake(
            "allreduce",
            (bool(average), data.dtype.str, data.shape),
            lambda details: (
                "the ranks give different values: "
                + ", ".join(
                    f"rank {r} average={a} dtype {d} shape {s}"
                    for r, (a, d, s) in enumerate(details)
                )
                + "; every rank must give the same dtype, shape and average"
            ),
        )
        _comm.Allreduce(MPI.IN_PLACE, data, op=MPI.SUM)
    if average:
        data = np.asarray(data / _SIZE)  # a 0-d array stays an array
    return float(data) if scalar else data


def _broadcast_entries(model, what):
    """(name, owner, attribute) of what broadcast_parameters copies: every parameter
    (``owner.data``) and, for a layer or model, every buffer made (running statistics,
    ``getattr(owner, attribute)``). A lazy parameter not made yet is a ValueError: it
    would be made later from each rank's own random numbers."""
    entries = [(name, p, "data") for name, p in _named_params(model, what)]
    if isinstance(model, Layer):
        not_made = [name for name, _, _, value in model._entries() if value is None]
        if not_made:
            raise ValueError(
                f"{what}: parameters {not_made[:4]} are not made yet (lazy layers make "
                f"their weights at the first call): run one forward pass before"
            )
        entries += [
            (f"buffer {name}", owner, attr)
            for name, owner, attr, array in model._buffer_entries()
            if array is not None
        ]
    return entries


def broadcast_parameters(model: Any, root: int = 0) -> None:
    """Copy the parameters of rank ``root`` to every rank (in place), one broadcast per
    dtype, and a layer's buffers with them (``BatchNorm``'s running statistics). Call it
    once after building the model (after a first forward pass when it has lazy layers:
    a parameter not made yet is a ``ValueError``) and after loading a checkpoint on the
    root, so all ranks start equal. ``model``: a model or layer, a dict of Variables, or
    an iterable of them."""
    if isinstance(root, bool) or not isinstance(root, numbers.Integral):
        raise TypeError(f"broadcast_parameters: root must be an int, got {root!r}")
    if not 0 <= root < _SIZE:
        raise ValueError(f"broadcast_parameters: root must be in [0, {_SIZE}), got {root}")
    entries = _broadcast_entries(model, "broadcast_parameters")
    if _SIZE == 1:
        return
    arrays = [getattr(owner, attr) for _, owner, attr in entries]
    layout = tuple((name, a.shape, a.dtype.str) for (name, _, _), a in zip(entries, arrays))
    _handshake(
        "broadcast_parameters",
        (root, layout),
        lambda details: (
            f"the ranks give different roots: {[d[0] for d in details]} (rank 0's first)"
            if len({d[0] for d in details}) > 1
            else _explain_layouts([d[1] for d in details])
        ),
    )
    for dtype, group in _groups(zip(entries, arrays), lambda item: item[1]):
        buf = np.empty(sum(a.size for _, a in group), dtype.newbyteorder("="))
        if _RANK == root:
            _pack(buf, [a for _, a in group])
        _wait(_comm.Ibcast(buf, root=root), "broadcast_parameters")
        offset = 0
        for (_, owner, attr), a in group:
            part = buf[offset : offset + a.size].reshape(a.shape)
            offset += a.size
            if a.flags.writeable and a.flags.c_contiguous:
                np.copyto(a, part)
            else:
                setattr(owner, attr, part.copy())


def _pack(buf, arrays):
    offset = 0
    for a in arrays:
        np.copyto(buf[offset : offset + a.size].reshape(a.shape), a, casting="same_kind")
        offset += a.size


_NO_WEIGHT = (
    "allreduce_grads: the ranks' weights sum to 0; at least one rank must give a positive weight"
)


def _check_weight(weight, average, what):
    if weight is None:
        return None
    if not average:
        raise ValueError(f"{what}: a weight needs average=True (it weights the average)")
    if isinstance(weight, (bool, np.bool_)) or not isinstance(weight, numbers.Real):
        raise TypeError(
            f"{what}: weight must be a real number (this rank's samples), got {weight!r}"
        )
    weight = float(weight)
    if not (np.isfinite(weight) and weight >= 0):
        raise ValueError(f"{what}: weight must be finite and >= 0, got {weight}")
    return weight


def allreduce_grads(model: Any, average: bool = True, weight: float | None = None) -> None:
    """Sum (``average=True``: average) every parameter's gradient over the ranks.

    The gradients of one dtype are packed into one contiguous buffer, reduced by one
    all-reduce (in place) and unpacked into the parameters' ``grad`` Variables. A
    parameter without a gradient counts as zeros; it gets the reduced gradient on every
    rank when at least one rank had one, and stays without one on every rank when none
    had. Run on every rank, after ``backward()``, before the update (or use
    ``DistributedOptimizer``).

    ``weight``: this rank's weight in the average, usually its number of samples in the
    batch; the result is then ``sum(weight_r * grad_r) / sum(weight_r)``, which for
    gradients of per-rank mean losses is the gradient of the mean over all the ranks'
    samples even when the ranks' batches differ in size (a short last batch). Without
    it every rank counts the same (as PyTorch's DistributedDataParallel). A rank of
    weight 0 (an empty batch) contributes nothing: its gradients are not read."""
    if not isinstance(average, (bool, np.bool_)):
        raise TypeError(f"allreduce_grads: average must be True or False, got {average!r}")
    weight = _check_weight(weight, average, "allreduce_grads")
    params = _named_params(model, "allreduce_grads")
    groups = _groups(params)
    for dtype, group in groups:  # the same checks with and without mpirun
        for name, p in group:
            if p.grad is not None and p.grad.data.shape != p.data.shape:
                raise ValueError(
                    f"allreduce_grads: parameter {name!r} of shape {p.data.shape} "
                    f"has a gradient of shape {p.grad.data.shape}"
                )
        if weight and not float(np.finfo(dtype).tiny) <= weight <= float(np.finfo(dtype).max):
            raise ValueError(
                f"allreduce_grads: weight {weight} is out of the range of {dtype} "
                f"(the gradients' dtype)"
            )
    if _SIZE == 1:
        if weight == 0:
            raise ValueError(_NO_WEIGHT)
        return
    packed = []
    scale = (1.0 / _SIZE if weight is None else weight) if average else None
    for dtype, group in groups:
        total = sum(p.data.size for _, p in group)
        # The buffer ends with one flag per parameter (1 where this rank has a gradient)
        # and the weight. It comes from the core's cache of large buffers (a Variable's
        # data is always a native float array): the memory of the gradients the previous
        # step unpacked, warm, where a new array would fault every page in.
        buf = _kernels.empty_vector(total + len(group) + 1, dtype)
        flags = buf[total:-1]
        buf[-1] = 0.0 if weight is None else weight
        offset = 0
        for i, (_, p) in enumerate(group):
            part = buf[offset : offset + p.data.size].reshape(p.data.shape)
            offset += p.data.size
            grad = p.grad
            if grad is None or weight == 0:  # a rank of weight 0 (an empty batch): not read
                part[...] = 0
                flags[i] = 0
                continue
            if scale is not None:  # scaled while packing: no separate pass over the sum
                np.multiply(grad.data, scale, out=part, casting="same_kind")
            else:
                np.copyto(part, grad.data, casting="same_kind")
            flags[i] = 1
        packed.append((group, buf, total))
    _handshake(
        "allreduce_grads",
        (bool(average), weight is not None, _layout(params)),
        _explain_grads,
    )
    # Blocking all-reduces: every rank has arrived (the handshake), and a blocking one
    # moves the data about twice as fast as a nonblocking one (0.6 ms against 1.3 ms for
    # the 2.7 MB of the 784-512-512-10 MLP's gradients on 2 ranks).
    for _, buf, _ in packed:
        _comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
    for group, buf, total in packed:
        flags = buf[total:-1]
        if weight is not None:
            if not buf[-1] > 0:
                raise ValueError(_NO_WEIGHT)
            np.divide(buf[:total], buf[-1], out=buf[:total])
        offset = 0
        seen = set()
        for i, (_, p) in enumerate(group):
            part = buf[offset : offset + p.data.size].reshape(p.data.shape)
            offset += p.data.size
            if flags[i] == 0:
                continue  # no rank had a gradient: none has one now
            grad = p.grad
            if grad is None or id(grad) in seen:
                p.grad = Variable(part)
            else:
                grad.data = part
            seen.add(id(p.grad))


class DistributedOptimizer:
    """Wraps an optimizer: ``update(model)`` all-reduces the gradients
    (``allreduce_grads``), then runs the wrapped ``update`` (its hooks, such as
    ``ClipGrad``, see the averaged gradients). Other attributes (``lr``,
    ``state_dict()``, ``hooks``, ...) are the wrapped optimizer's.

    >>> import autograd.distributed as dist
    >>> import autograd.optimizers as O
    >>> opt = dist.DistributedOptimizer(O.SGD(lr=0.1))
    >>> opt.lr
    0.1
    """

    def __init__(self, optimizer: Any, average: bool = True) -> None:
        self.optimizer = optimizer
        self.average = average

    def update(self, model: Any, weight: float | None = None) -> None:
        """All-reduce the gradients of ``model``'s parameters, then update them.
        ``weight``: this rank's number of samples in the batch, to weight the average
        when the ranks' batches differ in size (see ``allreduce_grads``)."""
        allreduce_grads(model, average=self.average, weight=weight)
        self.optimizer.update(model)

    def step(self, weight: float | None = None) -> None:
        """For an optimizer given its parameters at construction: all-reduce their
        gradients, then the wrapped ``step()``."""
        params = _held_params(self.optimizer)
        if params is None:
            raise TypeError(
                "DistributedOptimizer.step(): the wrapped optimizer holds no "
                "parameters; give them at its construction or call update(model)"
            )
        allreduce_grads(params, average=self.average, weight=weight)
        self.optimizer.step()

    def __getattr__(self, name):
        if name == "optimizer":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.optimizer, name)

    def __setattr__(self, name, value):
        if name == "optimizer":
            if isinstance(value, type):
                raise TypeError(
                    f"DistributedOptimizer: got the class {value.__name__}; give an "
                    f"optimizer, such as {value.__name__}(...)"
                )
            if not callable(getattr(value, "update", None)):
                raise TypeError(
                    f"DistributedOptimizer: expected an optimizer with update(model), "
                    f"got {type(value).__name__}"
                )
            object.__setattr__(self, name, value)
        elif name == "average":
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(
                    f"DistributedOptimizer: average must be True or False, got {value!r}"
                )
            object.__setattr__(self, name, bool(value))
        else:  # opt.lr = ... (a scheduler, a user) sets the wrapped optimizer's rate
            setattr(self.optimizer, name, value)

    def __repr__(self) -> str:
        return f"DistributedOptimizer({self.optimizer!r})"


def _held_params(optimizer):
    """The parameters an optimizer was given at construction (a model, a dict or a list
    of Variables), by name, or None when it was given none."""
    given = getattr(optimizer, "_given", None)  # autograd's optimizers
    if callable(given):
        return given()
    for attr in ("params", "parameters"):  # other optimizers that keep a list
        held = getattr(optimizer, attr, None)
        if held is None or callable(held):
            continue
        held = list(held.values()) if isinstance(held, dict) else list(held)
        if held and all(isinstance(p, Variable) for p in held):
            return held
    return None
