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
        arrays = self._state("save")      # a ValueError when lazy weights are not made yet
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
        self._load_state(arrays, True, "load", repr(path), "the file")


class MLP(Model):
    """Fully connected layers of the given output sizes; ``activation`` between them,
    none after the last."""

    def __init__(self, sizes: Sequence[int], activation: Any = F.sigmoid, rng: Any = None,
                 dtype: Any = np.float64) -> None:
        super().__init__()
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
            raise TypeError(f"MLP: sizes must be a list of layer output sizes such as [10, 1], "
                            f"got {sizes!r}")
        sizes = list(sizes)
        if not sizes:
            raise ValueError("MLP: sizes must name at least one layer")
        for i, size in enumerate(sizes):
            L._positive(size, f"MLP: sizes[{i}]")
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
        L._positive(hidden_size, "LSTM: hidden_size")
        L._positive(out_size, "LSTM: out_size")
        self.lstm = L.LSTM(hidden_size, rng=rng, dtype=dtype)
        self.linear = L.Linear(out_size, rng=rng, dtype=dtype)

    def reset_state(self) -> None:
        """Forget the LSTM's hidden and cell state."""
        self.lstm.reset_state()

    def forward(self, x):
        return self.linear(self.lstm(x))
