"""Models: ``MLP``, ``LSTM``, and the ``Model`` base with ``save`` and ``load``.

>>> import numpy as np
>>> import autograd as ag
>>> import autograd.models as M
>>> m = M.MLP([10, 1], rng=ag.random.const())
>>> m(np.ones((5, 1))).shape
(5, 1)
"""
import os
import tempfile
import zipfile
from typing import Any, Sequence

import numpy as np

import autograd.functions as F
import autograd.layers as L

__all__ = ["Model", "MLP", "LSTM"]


class Model(L.Layer):
    """A Layer that can save and load its parameters (``.npz``, names as keys)."""

    def save(self, path: Any) -> None:
        """Write every parameter to ``path`` (an ``.npz``): to a temporary file in the
        same folder first, then renamed over ``path``, so a crash never leaves a
        half-written file."""
        path = os.fspath(path)
        arrays = {name: p.data for name, p in self.params().items()}
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)  # type: ignore[arg-type]
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def load(self, path: Any) -> None:
        """Read parameters saved by ``save``. Names, shapes and dtypes are checked
        first; when anything does not match, a ValueError names it and the model is
        left unchanged."""
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"load: no such file: {path!r}")
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {name: f[name] for name in f.files}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
            raise ValueError(f"load: {path!r} is not a readable .npz file of parameters ({e})") from None
        entries = {name: (owner, attr, value) for name, owner, attr, value in self._entries()}
        unknown = sorted(set(arrays) - set(entries))
        if unknown:
            raise ValueError(f"load: {path!r} has parameters this model does not: {unknown}")
        missing = sorted(name for name, (_, _, v) in entries.items()
                         if v is not None and name not in arrays)
        if missing:
            raise ValueError(f"load: {path!r} lacks parameters of this model: {missing}")
        for name, array in arrays.items():
            owner, attr, current = entries[name]
            if current is not None:
                if array.shape != current.shape:
                    raise ValueError(f"load: {name} has shape {array.shape} in the file, "
                                     f"{current.shape} in the model")
                if array.dtype != current.dtype:
                    raise ValueError(f"load: {name} has dtype {array.dtype} in the file, "
                                     f"{current.dtype} in the model")
            elif isinstance(owner, L.Linear) and (array.ndim != 2 or array.shape[1] != owner.out_size):
                raise ValueError(f"load: {name} has shape {array.shape} in the file; the layer "
                                 f"expects (in, {owner.out_size})")
            elif array.dtype.kind != "f":
                raise ValueError(f"load: {name} has dtype {array.dtype}, not a float")
        for name, array in arrays.items():
            owner, attr, current = entries[name]
            if current is not None:
                current.data = array.copy()
                current.cleargrad()
            else:
                setattr(owner, attr, L.Parameter(array.copy(), name=attr))
                if isinstance(owner, L.Linear) and attr == "w":
                    owner.in_size = array.shape[0]


class MLP(Model):
    """Fully connected layers of the given output sizes; ``activation`` between them,
    none after the last."""

    def __init__(self, sizes: Sequence[int], activation: Any = F.sigmoid, rng: Any = None,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        sizes = list(sizes)
        if not sizes:
            raise ValueError("MLP: sizes must name at least one layer")
        if not callable(activation):
            raise TypeError(f"MLP: activation must be callable, got {activation!r}")
        self.activation = activation
        self.n_layers = len(sizes)
        for i, size in enumerate(sizes):
            setattr(self, f"linear{i}", L.Linear(size, rng=rng, dtype=dtype))

    @property
    def layers(self):
        return [getattr(self, f"linear{i}") for i in range(self.n_layers)]

    def forward(self, x):
        *hidden, last = self.layers
        for layer in hidden:
            x = self.activation(layer(x))
        return last(x)


class LSTM(Model):
    """An LSTM layer followed by a Linear output layer, as the seed's ``model.NewLSTM``."""

    def __init__(self, hidden_size: int, out_size: int, rng: Any = None,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        self.lstm = L.LSTM(hidden_size, rng=rng, dtype=dtype)
        self.linear = L.Linear(out_size, rng=rng, dtype=dtype)

    def reset_state(self) -> None:
        """Forget the LSTM's hidden and cell state."""
        self.lstm.reset_state()

    def forward(self, x):
        return self.linear(self.lstm(x))
