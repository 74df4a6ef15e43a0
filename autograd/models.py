"""Models: ``MLP``, ``LSTM``, and the ``Model`` base with ``save`` and ``load``.

>>> import numpy as np
>>> import autograd as ag
>>> import autograd.models as M
>>> m = M.MLP([10, 1], rng=ag.random.const())
>>> m(np.ones((5, 1))).shape
(5, 1)
"""
import errno
import os
import re
import secrets
import stat
import time
import zipfile
from typing import Any, Dict, Sequence, Tuple

import numpy as np

import autograd.functions as F
import autograd.layers as L

__all__ = ["Model", "MLP", "LSTM"]

# A temporary file older than this is a leftover even when a live process owns its pid
# (the pid may have been reused); no save takes an hour.
_STALE_SECONDS = 3600.0
_NPY_MAGIC = b"\x93NUMPY"


def _temp_name(name: str) -> str:
    """The temporary file of a save to ``name``: ``.<name>.tmp-<pid>-<8 hex digits>``."""
    return f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # os.kill would end the process there; leftovers go by age alone
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except (OverflowError, ValueError):
        return False  # not a pid at all
    return True


def _remove_leftovers(folder: str, name: str) -> None:
    """Delete temporary files that earlier saves to ``name`` left behind when they were
    killed: those whose process is gone, and any older than an hour."""
    pattern = re.compile(rf"\.{re.escape(name)}\.tmp-([0-9]+)-[0-9a-f]{{8}}")
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    now = time.time()
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match is None:
            continue
        pid = int(match.group(1))
        leftover = os.path.join(folder, entry)
        try:
            old = now - os.lstat(leftover).st_mtime > _STALE_SECONDS
            if old or (0 < pid != os.getpid() and not _pid_alive(pid)):
                os.unlink(leftover)
        except OSError:
            pass  # gone already, or not ours to delete


def _write_npz(f: Any, arrays: Dict[str, np.ndarray]) -> None:
    """What ``np.savez`` writes, without its keyword arguments: a parameter may be
    called ``file`` or ``allow_pickle``."""
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in arrays.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def _read_header(member: Any) -> Tuple[Tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(member)
    if version in ((2, 0), (3, 0)):
        return np.lib.format.read_array_header_2_0(member)
    raise ValueError(f"unknown .npy format version {version}")


class _Archive:
    """An ``.npz`` file read member by member: ``headers`` gives every array's shape and
    dtype from the archive's directory and the arrays' headers, decompressing almost
    nothing; ``read(name)`` then reads one array, exactly the bytes its header promises."""

    def __init__(self, path: str, f: Any) -> None:
        self.path = path
        try:
            self.zip = zipfile.ZipFile(f)
        except zipfile.BadZipFile as e:
            f.seek(0)
            start = f.read(len(_NPY_MAGIC))
            if start == _NPY_MAGIC:
                raise ValueError(f"load: {path!r} is a .npy file (one array), not a .npz "
                                 f"file of parameters") from None
            what = "it is empty" if not start else e
            raise ValueError(f"load: {path!r} is not a readable .npz file of parameters "
                             f"({what})") from None
        self.members: Dict[str, zipfile.ZipInfo] = {}
        self.headers: Dict[str, Tuple[Tuple[int, ...], bool, np.dtype, int]] = {}
        for info in self.zip.infolist():
            self._add(info)

    def _bad(self, member: str, what: str) -> ValueError:
        return ValueError(f"load: {self.path!r} is not a readable .npz file of parameters "
                          f"(member {member!r}: {what})")

    def _add(self, info: zipfile.ZipInfo) -> None:
        member = info.filename
        if not member.endswith(".npy"):
            raise self._bad(member, "not a .npy array")
        name = member[:-len(".npy")]
        if name in self.members:
            raise self._bad(member, "appears twice")
        if info.flag_bits & 0x1:
            raise self._bad(member, "encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise self._bad(member, f"compressed with method {info.compress_type}; only "
                                    f"stored and deflated members are read")
        with self.zip.open(info) as f:
            shape, fortran, dtype = _read_header(f)
            offset = f.tell()
        if dtype.hasobject:
            raise self._bad(member, f"an array of Python objects ({dtype}), which load "
                                    f"never unpickles")
        size = offset + dtype.itemsize * int(np.prod(shape, dtype=object))
        if info.file_size != size:
            raise self._bad(member, f"{info.file_size} bytes, but an array of shape "
                                    f"{shape} and dtype {dtype} takes {size}")
        self.members[name] = info
        self.headers[name] = (shape, fortran, dtype, offset)

    def read(self, name: str) -> np.ndarray:
        shape, fortran, dtype, offset = self.headers[name]
        with self.zip.open(self.members[name]) as f:
            f.read(offset)
            data = f.read(self.members[name].file_size - offset)  # checks the CRC too
        array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
        return array.copy()


def _describe_os_error(path: str, e: OSError, doing: str) -> OSError:
    """The same kind of OSError, naming the path the caller gave."""
    reason = e.strerror or str(e)
    if e.errno is None:
        return OSError(f"{doing} {path!r}: {reason}")
    return OSError(e.errno, f"{doing} {path!r}: {reason}")


class Model(L.Layer):
    """A Layer that can save and load its parameters (``.npz``, names as keys)."""

    def save(self, path: Any, optimizer: Any = None) -> None:
        """Write every parameter to ``path`` (an ``.npz``, names as keys).

        The file is written to a temporary file in the same folder
        (``.<name>.tmp-<pid>-<random>``), flushed to disk and renamed over ``path``,
        so a crash never leaves a half-written file; leftovers of saves that were
        killed are removed by the next save to the same path. The new file keeps the
        old one's permissions, or gets the usual ones for new files (the umask's);
        when ``path`` is a symbolic link, the file it points to is replaced.

        With ``optimizer``, its state (settings, update count, moments by this model's
        parameter names) goes into the same file, so ``load(path, optimizer=opt)``
        resumes training exactly. A lazy model not called yet is a ValueError.
        """
        path = os.fsdecode(os.fspath(path))
        arrays = self._state("save")  # parameters and buffers; lazy ones not made: refused
        if optimizer is not None:
            arrays.update(_optimizer(optimizer, "save")._to_arrays(self._params()))
        for name in arrays:
            if "\0" in name:
                raise ValueError(f"save: parameter name {name!r} contains a NUL character")
        target = os.path.realpath(path)  # write through a symbolic link
        folder, name = os.path.split(target)
        if os.path.isdir(target):
            raise IsADirectoryError(errno.EISDIR, f"save: {path!r} is a directory")
        if not os.path.isdir(folder):
            raise FileNotFoundError(errno.ENOENT, f"save: the folder of {path!r} does not exist")
        _remove_leftovers(folder, name)
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except OSError:
            mode = None  # a new file: the umask decides
        tmp = os.path.join(folder, _temp_name(name))
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(tmp, flags, 0o666)
        except OSError as e:
            raise _describe_os_error(path, e, "save: cannot write") from e
        try:
            with os.fdopen(fd, "wb") as f:
                if mode is not None and hasattr(os, "fchmod"):
                    os.fchmod(f.fileno(), mode)
                _write_npz(f, arrays)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException as e:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if isinstance(e, OSError):
                raise _describe_os_error(path, e, "save: cannot write") from e
            raise

    def load(self, path: Any, optimizer: Any = None) -> None:
        """Read parameters saved by ``save`` (and with ``optimizer``, the optimizer's
        state saved with them; without it, that part of the file is ignored).

        Names, shapes and dtypes are checked first, from the archive's directory and
        the arrays' headers, before any data is read; when anything does not match or
        the file is not such an archive, a ValueError names the path and what is
        wrong, and the model (and the optimizer) are left unchanged. Lazy weights not
        made yet are made with the saved shapes.
        """
        if optimizer is not None:
            _optimizer(optimizer, "load")
        path = os.fsdecode(os.fspath(path))
        try:
            info = os.stat(path)
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, f"load: no such file: {path!r}") from None
        if stat.S_ISDIR(info.st_mode):
            raise ValueError(f"load: {path!r} is a directory, not a .npz file of parameters")
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"load: {path!r} is not a regular file")
        with open(path, "rb") as f:
            try:
                archive = _Archive(path, f)
                headers = archive.headers
                spec = {name: (h[0], h[2]) for name, h in headers.items()
                        if not name.startswith("optimizer:")}
                plan = self._check_state(spec, True, "load", repr(path), "the file",
                                         f"{path!r}: ")
                if optimizer is not None:
                    parts = _check_optimizer_headers(path, headers, spec)
                arrays = {name: archive.read(name) for name in spec}
                if optimizer is not None:
                    state = optimizer._from_arrays({k: archive.read(k) for k in parts},
                                                   f"load: {path!r}")
                    checked = optimizer._validate(state, arrays, f"load: {path!r}")
            except ValueError:
                raise
            except Exception as e:  # zlib.error, EOFError, zipfile.BadZipFile, ...
                raise ValueError(f"load: {path!r} is not a readable .npz file of parameters "
                                 f"({type(e).__name__}: {e})") from None
        self._assign_state(arrays, plan)
        if optimizer is not None:
            optimizer._install(checked, self._params())


def _optimizer(optimizer: Any, what: str) -> Any:
    if not hasattr(optimizer, "_to_arrays"):
        raise TypeError(f"{what}: optimizer must be an autograd optimizer, got "
                        f"{type(optimizer).__name__}")
    return optimizer


def _check_optimizer_headers(path: str, headers: Dict[str, Any], spec: Dict[str, Any]) -> list:
    """The file's optimizer entries, once each array's header fits the parameter it is for."""
    names = [name for name in headers if name.startswith("optimizer:")]
    if not names:
        raise ValueError(f"load: {path!r} holds no optimizer state (it was saved without "
                         f"optimizer=)")
    for name in names:
        parts = name.split(":")
        if parts[1] == "state" and len(parts) == 4:
            if parts[2] not in spec:
                raise ValueError(f"load: {path!r}: {name} is for a parameter the file does "
                                 f"not hold")
            shape, dtype = headers[name][0], headers[name][2]
            if (tuple(shape), dtype) != (tuple(spec[parts[2]][0]), spec[parts[2]][1]):
                raise ValueError(f"load: {path!r}: {name} is {dtype} {tuple(shape)}, the "
                                 f"parameter {spec[parts[2]][1]} {tuple(spec[parts[2]][0])}")
    return names


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
            # named as the seed names them: parameters "linear[0].w", "linear[0].b", ...
            setattr(self, f"linear[{i}]", L.Linear(size, rng=rng, dtype=dtype))

    @property
    def layers(self):
        """The Linear layers, first to last."""
        return [getattr(self, f"linear[{i}]") for i in range(self.n_layers)]

    def __getattr__(self, name):
        # m.linear0 for m.layers[0], as version 0.1 spelled it
        match = re.fullmatch(r"linear([0-9]+)", name)
        if match is not None and int(match.group(1)) < self.__dict__.get("n_layers", 0):
            return getattr(self, f"linear[{match.group(1)}]")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

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
