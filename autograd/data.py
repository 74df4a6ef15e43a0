"""Datasets and loaders: ``ArrayDataset``, ``DataLoader``, ``SeqDataLoader``, and small
datasets made on the fly (``sine``, ``spiral``, ``moons``), each returning ``(x, t)``.

A loader yields tuples of NumPy arrays, one per array of the dataset; every pass over
it (``for ... in loader``) is one epoch.

>>> import numpy as np
>>> import autograd as ag
>>> x, t = ag.data.spiral(300, classes=3, rng=np.random.default_rng(0))
>>> x.shape, t.shape
((300, 2), (300,))
>>> loader = ag.data.DataLoader(ag.data.ArrayDataset(x, t), batch_size=100, shuffle=True,
...                             rng=np.random.default_rng(1))
>>> [(xb.shape, tb.shape) for xb, tb in loader]
[((100, 2), (100,)), ((100, 2), (100,)), ((100, 2), (100,))]

Data-parallel training gives each process its own part with ``shard=(rank, size)``:
the ranks draw the same order (the same seeded ``rng`` on every rank) and each takes
every ``size``-th sample of it, so every sample is seen by exactly one rank per epoch.

>>> parts = [ag.data.DataLoader(ag.data.ArrayDataset(np.arange(8)), batch_size=2,
...                             shard=(r, 2)) for r in range(2)]
>>> [[b[0].tolist() for b in p] for p in parts]
[[[0, 2], [4, 6]], [[1, 3], [5, 7]]]
"""

import math
import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["ArrayDataset", "DataLoader", "SeqDataLoader", "sine", "spiral", "moons"]


# --------------------------------------------------------------------------- checks


def _count(value, what, minimum=1):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{what} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {value}")
    return int(value)


def _flag(value, what):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def _amount(value, what):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{what} must be a finite number >= 0, got {value}")
    return float(value)


def _rng(rng, what):
    """``rng`` as a source of draws: a Generator, an ``ag.random`` source, or None for
    NumPy's global one (the library's convention for ``rng=None``)."""
    if rng is None:
        return np.random
    if not (hasattr(rng, "random") and hasattr(rng, "standard_normal")):
        hint = (
            " (for a seed, pass numpy.random.default_rng(seed))"
            if isinstance(rng, numbers.Integral)
            else ""
        )
        raise TypeError(
            f"{what}: rng must be a numpy.random.Generator or an ag.random source, "
            f"got {type(rng).__name__}{hint}"
        )
    return rng


def _permutation(source, n):
    """A permutation of ``range(n)`` drawn from ``source``. A Generator uses its own
    ``permutation``; an ``ag.random`` source, which has no such method, the stable
    argsort of ``n`` uniform draws (``n`` draws, one per element, in order)."""
    if hasattr(source, "permutation"):
        return np.asarray(source.permutation(n), dtype=np.intp)
    return np.argsort(np.asarray(source.random((n,)), dtype=np.float64), kind="stable")


# --------------------------------------------------------------------------- datasets


class ArrayDataset:
    """Samples held in arrays of equal length: sample ``i`` is ``(a[i] for a in arrays)``.

    The arrays are kept as given (``np.asarray``, no copy); a loader hands out copies.

    >>> import numpy as np
    >>> ds = ArrayDataset(np.zeros((5, 3)), np.arange(5))
    >>> x2, t2 = ds[2]
    >>> len(ds), x2.shape, int(t2)
    (5, (3,), 2)
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("ArrayDataset: give at least one array")
        held = []
        for i, a in enumerate(arrays):
            if hasattr(a, "creator") and hasattr(a, "data"):  # a Variable: its data
                a = a.data
            a = np.asarray(a)
            if a.dtype == object:
                raise TypeError(f"ArrayDataset: array {i} is not numeric (dtype object)")
            if a.ndim == 0:
                raise ValueError(
                    f"ArrayDataset: array {i} is a scalar; each array needs a first axis of samples"
                )
            held.append(a)
        lengths = [len(a) for a in held]
        if len(set(lengths)) != 1:
            raise ValueError(
                f"ArrayDataset: the arrays must have the same length (first axis), got {lengths}"
            )
        self.arrays: tuple[np.ndarray, ...] = tuple(held)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(str(a.shape) for a in self.arrays)
        return f"ArrayDataset({shapes})"


def _as_dataset(dataset, what):
    if isinstance(dataset, ArrayDataset):
        return dataset
    if isinstance(dataset, np.ndarray):
        return ArrayDataset(dataset)
    if isinstance(dataset, tuple) and dataset and all(isinstance(a, np.ndarray) for a in dataset):
        return ArrayDataset(*dataset)  # (x, t) as the dataset functions return
    if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise TypeError(
            f"{what}: dataset must be an ArrayDataset, a tuple of arrays or an "
            f"object with __len__ and __getitem__, got {type(dataset).__name__}"
        )
    return dataset


# --------------------------------------------------------------------------- loaders


class DataLoader:
    """Batches of a dataset, one epoch per pass, as tuples of arrays.

    Parameters
    ----------
    dataset : ArrayDataset, tuple of arrays, or any object with ``__len__`` and
        ``__getitem__`` returning a sample (a tuple of arrays or numbers, or one array);
        its samples are stacked along a new first axis.
    batch_size : int
        Samples per batch (per process when sharded).
    shuffle : bool
        Draw a new order every epoch from ``rng``.
    drop_last : bool
        Leave out the last batch when it would be short (sharded: when the last global
        batch of ``batch_size * size`` samples would be short).
    rng : numpy.random.Generator, an ``ag.random`` source, or None
        Where the order comes from. None means NumPy's global generator, or, with
        ``shard``, ``numpy.random.default_rng(0)``, so that every rank draws the same
        order (as PyTorch's ``DistributedSampler`` uses seed 0).
    shard : (rank, size) or None
        Yield only this process's part. The order is drawn as for one process; global
        batch ``k`` is its samples ``k*B*size`` to ``(k+1)*B*size`` (``B = batch_size``)
        and rank ``r`` takes every ``size``-th of them starting at ``r``. So each epoch
        every sample is seen by exactly one rank, every rank yields the same number of
        batches, and the union of the ranks' ``k``-th batches is the ``k``-th batch of
        one process with batch ``B*size``. When fewer than ``size`` samples would remain
        for a last global batch, they join the one before (so no rank gets an empty
        batch); a dataset with fewer samples than ranks is a ``ValueError``.

    >>> import numpy as np
    >>> loader = DataLoader(ArrayDataset(np.arange(5.0), np.arange(5)), batch_size=2)
    >>> len(loader), [t.tolist() for _, t in loader]
    (3, [[0, 1], [2, 3], [4]])
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 32,
        shuffle: bool = False,
        drop_last: bool = False,
        rng: Any = None,
        shard: tuple[int, int] | None = None,
    ) -> None:
        self.dataset = _as_dataset(dataset, "DataLoader")
        self.batch_size = _count(batch_size, "DataLoader: batch_size")
        self.shuffle = _flag(shuffle, "DataLoader: shuffle")
        self.drop_last = _flag(drop_last, "DataLoader: drop_last")
        self.shard = self._check_shard(shard)
        if rng is None and self.shard is not None:
            rng = np.random.default_rng(0)
        self.rng = _rng(rng, "DataLoader")
        n, size = len(self.dataset), self.shard[1] if self.shard else 1
        if self.shard is not None and n < size and not self.drop_last:
            raise ValueError(
                f"DataLoader: a dataset of {n} samples cannot be shared by "
                f"{size} ranks (each needs at least one sample)"
            )

    @staticmethod
    def _check_shard(shard):
        if shard is None:
            return None
        if not isinstance(shard, (tuple, list)) or len(shard) != 2:
            raise TypeError(f"DataLoader: shard must be a (rank, size) pair, got {shard!r}")
        rank = _count(shard[0], "DataLoader: shard rank", minimum=0)
        size = _count(shard[1], "DataLoader: shard size", minimum=1)
        if rank >= size:
            raise ValueError(f"DataLoader: shard rank must be in [0, {size}), got {rank}")
        return rank, size

    def _bounds(self):
        """(start, end) of each global batch in the epoch's order."""
        n = len(self.dataset)
        size = self.shard[1] if self.shard else 1
        step = self.batch_size * size
        full, rest = divmod(n, step)
        bounds = [(k * step, (k + 1) * step) for k in range(full)]
        if rest and not self.drop_last:
            if rest < size and bounds:
                bounds[-1] = (bounds[-1][0], n)  # too few for every rank: join
            else:
                bounds.append((full * step, n))
        return bounds

    def __len__(self) -> int:
        """Batches per epoch (the same on every rank)."""
        return len(self._bounds())

    def _order(self):
        n = len(self.dataset)
        return _permutation(self.rng, n) if self.shuffle else np.arange(n)

    def _take(self, index):
        if isinstance(self.dataset, ArrayDataset):
            return tuple(a[index] for a in self.dataset.arrays)
        samples = [self.dataset[int(i)] for i in index]
        if not isinstance(samples[0], tuple):
            return (np.stack([np.asarray(s) for s in samples]),)
        return tuple(np.stack([np.asarray(s[j]) for s in samples]) for j in range(len(samples[0])))

    def __iter__(self) -> Iterator[tuple[np.ndarray, ...]]:
        order = self._order()
        rank, size = self.shard if self.shard else (0, 1)
        for start, end in self._bounds():
            yield self._take(order[start + rank : end : size])

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, shard={self.shard})"
        )


class SeqDataLoader:
    """Consecutive batches of a sequence, in order, for truncated backpropagation through
    time: batch ``k`` is samples ``k*B`` to ``(k+1)*B`` of every array (``B =
    batch_size``), a 1-D array as a column ``(B, 1)``; a short last batch is left out.
    These are the batches of the seed's LSTM program (its ``DataLoader.Seq2()``).

    Takes the arrays (``SeqDataLoader(x, t, batch_size=30)``), a tuple of them (what
    ``sine`` returns) or an ``ArrayDataset``. ``n`` is the number of samples (the
    program's ``dataset.N``).

    >>> import numpy as np
    >>> x, t = sine(1000, 0.05, rng=np.random.default_rng(0))
    >>> loader = SeqDataLoader(x, t, batch_size=30)
    >>> loader.n, len(loader)
    (999, 33)
    >>> xb, tb = next(iter(loader))
    >>> xb.shape, bool((xb[1:, 0] == tb[:-1, 0]).all())
    ((30, 1), True)
    """

    def __init__(self, *arrays: Any, batch_size: int = 32) -> None:
        if len(arrays) == 1:
            dataset = _as_dataset(arrays[0], "SeqDataLoader")
            if not isinstance(dataset, ArrayDataset):
                raise TypeError(
                    f"SeqDataLoader: expected arrays, a tuple of arrays or an "
                    f"ArrayDataset, got {type(arrays[0]).__name__}"
                )
        else:
            dataset = ArrayDataset(*arrays)
        self.dataset = dataset
        self.batch_size = _count(batch_size, "SeqDataLoader: batch_size")
        self.n = len(dataset)

    def __len__(self) -> int:
        return self.n // self.batch_size

    def __iter__(self) -> Iterator[tuple[np.ndarray, ...]]:
        b = self.batch_size
        for begin in range(0, self.n - b + 1, b):
            yield tuple(
                (
                    a[begin : begin + b].reshape(-1, 1) if a.ndim == 1 else a[begin : begin + b]
                ).copy()
                for a in self.dataset.arrays
            )

    def __repr__(self) -> str:
        return f"SeqDataLoader({self.dataset!r}, batch_size={self.batch_size})"


# --------------------------------------------------------------------------- made on the fly


def sine(n: int = 1000, noise: float = 0.05, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """A noisy sine over one period, as the seed's LSTM program makes it: ``n`` points
    ``y = sin(x) + uniform(-noise, noise)`` at ``x`` evenly spaced in ``[0, 2*pi]``;
    returns the ``n - 1`` pairs ``(y[:-1], y[1:])`` (each point and the next), 1-D.

    ``rng`` is drawn from ``n`` times (``rng.random(n)``), so with ``ag.random.const()``
    the points are the seed program's.

    >>> import autograd as ag
    >>> x, t = sine(5, noise=0.0)
    >>> x.round(3).tolist(), t.shape
    ([0.0, 1.0, 0.0, -1.0], (4,))
    """
    n = _count(n, "sine: n", minimum=2)
    noise = _amount(noise, "sine: noise")
    source = _rng(rng, "sine")
    grid = 2 * math.pi * (np.arange(n) / (n - 1))
    y = np.sin(grid) + np.asarray(source.random(n), dtype=np.float64) * (2 * noise) - noise
    return y[:-1].copy(), y[1:].copy()


def spiral(n: int = 300, classes: int = 3, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Points on ``classes`` interleaved spiral arms: ``x`` of shape ``(n, 2)`` (float64)
    and integer labels ``t`` of shape ``(n,)`` (int64), in a random order. ``n`` is the
    total; the arms get ``n // classes`` points each, the first ``n % classes`` one more.
    Arm ``j`` at ``r`` in ``[0, 1)``: radius ``r``, angle ``4j + 4r + 0.2 * normal()``.

    >>> import numpy as np
    >>> x, t = spiral(100, classes=4, rng=np.random.default_rng(0))
    >>> x.shape, np.bincount(t).tolist()
    ((100, 2), [25, 25, 25, 25])
    """
    n = _count(n, "spiral: n")
    classes = _count(classes, "spiral: classes")
    if n < classes:
        raise ValueError(f"spiral: n ({n}) must be at least classes ({classes})")
    source = _rng(rng, "spiral")
    counts = [n // classes + (j < n % classes) for j in range(classes)]
    t = np.repeat(np.arange(classes, dtype=np.int64), counts)
    rate = np.concatenate([np.arange(c) / c for c in counts])
    theta = t * 4.0 + rate * 4.0 + np.asarray(source.standard_normal(n), dtype=np.float64) * 0.2
    x = np.stack([rate * np.sin(theta), rate * np.cos(theta)], axis=1)
    order = _permutation(source, n)
    return x[order], t[order]


def moons(n: int = 200, noise: float = 0.1, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, as scikit-learn's ``make_moons``: ``x`` of shape
    ``(n, 2)`` plus Gaussian noise of standard deviation ``noise``, integer labels ``t``
    (0 for the upper moon, ``n - n // 2`` points; 1 for the lower, ``n // 2``), in a
    random order.

    >>> import numpy as np
    >>> x, t = moons(10, noise=0.0, rng=np.random.default_rng(0))
    >>> x.shape, int(t.sum())
    ((10, 2), 5)
    """
    n = _count(n, "moons: n", minimum=2)
    noise = _amount(noise, "moons: noise")
    source = _rng(rng, "moons")
    upper, lower = n - n // 2, n // 2
    a = np.linspace(0, math.pi, upper)
    b = np.linspace(0, math.pi, lower)
    x = np.concatenate(
        [
            np.stack([np.cos(a), np.sin(a)], axis=1),
            np.stack([1 - np.cos(b), 0.5 - np.sin(b)], axis=1),
        ]
    )
    t = np.concatenate([np.zeros(upper, np.int64), np.ones(lower, np.int64)])
    x = x + np.asarray(source.standard_normal((n, 2)), dtype=np.float64) * noise
    order = _permutation(source, n)
    return x[order], t[order]
