"""Reliability of what touches files: Model.save/load, the LSTM program, the DOT CLI.

Each test here failed before its fix (issue numbers in the names)."""

import importlib.util
import io
import os
import pathlib
import signal
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import autograd as ag
import autograd.layers as L
import autograd.models as M
import autograd.optimizers as O

ROOT = pathlib.Path(__file__).resolve().parent.parent
LSTM_PROGRAM = ROOT / "examples" / "lstm.py"
SMALL = [
    "-N",
    "101",
    "--batch-size",
    "10",
    "--hidden-size",
    "4",
    "--epochs",
    "2",
    "--bptt-length",
    "4",
]


def trained():
    m = M.MLP([4, 1], rng=ag.random.const())
    m(np.ones((2, 3)))
    return m


def snapshot(m):
    return {k: v.data.copy() for k, v in m.params().items()}


def assert_refused(m, path, match):
    """load(path) is a ValueError naming the path and ``match``; the model is unchanged."""
    before = snapshot(m)
    with pytest.raises(ValueError, match=match) as info:
        m.load(path)
    assert repr(str(path)) in str(info.value)
    after = snapshot(m)
    assert after.keys() == before.keys()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])


def npy_header(shape, descr="<f8"):
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return buf.getvalue()


def bomb(path, name, shape, zero_bytes):
    """A deflated member ``name`` whose header says ``shape``, followed by zero bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open(name + ".npy", "w", force_zip64=True) as f:
            f.write(npy_header(shape))
            chunk = bytes(1 << 20)
            for _ in range(zero_bytes // len(chunk)):
                f.write(chunk)


# -- 17: names, shapes and dtypes come from the headers, before any data ------------------


@pytest.mark.parametrize(
    "name, shape, zeros",
    [
        ("bogus", (8 << 20,), 64 << 20),  # an unknown name
        ("linear0.w", (8 << 20,), 64 << 20),  # a known name, the wrong shape
        ("linear0.w", (3, 4), 64 << 20),  # the right shape, 64 MiB more data than it says
    ],
)
def test_17_a_deflate_bomb_is_refused_before_its_data_is_read(tmp_path, name, shape, zeros):
    m = trained()
    path = tmp_path / "bomb.npz"
    bomb(path, name, shape, zeros)
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(ValueError):
            m.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"load of a {path.stat().st_size}-byte file took {peak} bytes"


# -- 22: every bad file is a ValueError naming the path, the model unchanged -------------


def saved(tmp_path, name="m.npz"):
    m = trained()
    path = tmp_path / name
    m.save(path)
    return m, path


def local_header_offset_of_data(raw, info):
    fn_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26 : info.header_offset + 30])
    return info.header_offset + 30 + fn_len + extra_len


def patch_every_header(raw, offset_local, offset_central, fmt, value):
    """Set a field in every local (PK\\3\\4) and central (PK\\1\\2) header."""
    raw = bytearray(raw)
    for signature, offset in ((b"PK\x03\x04", offset_local), (b"PK\x01\x02", offset_central)):
        start = raw.find(signature)
        while start >= 0:
            struct.pack_into(fmt, raw, start + offset, value)
            start = raw.find(signature, start + 4)
    return bytes(raw)


def test_22_bad_files_are_value_errors(tmp_path):
    m, good = saved(tmp_path)
    raw = good.read_bytes()
    params = {k: v.data for k, v in m.params().items()}
    cases = {}

    np.save(tmp_path / "one.npy", np.ones(3))
    cases["one.npy"] = "a .npy file"
    (tmp_path / "empty.npz").write_bytes(b"")
    cases["empty.npz"] = "empty"
    (tmp_path / "half.npz").write_bytes(raw[: len(raw) // 2])
    cases["half.npz"] = "not a readable .npz"
    (tmp_path / "header.npz").write_bytes(raw.replace(b"\x93NUMPY", b"\x93NUMPX"))
    cases["header.npz"] = "not a readable .npz"
    np.savez(tmp_path / "objects.npz", **{**params, "linear0.b": np.array([None] * 4, object)})
    cases["objects.npz"] = "objects"
    with zipfile.ZipFile(tmp_path / "plain.npz", "w") as zf:  # AttributeError before
        for k, v in params.items():
            zf.writestr(k, v.tobytes())
    cases["plain.npz"] = "not a .npy array"
    for method, label in ((zipfile.ZIP_LZMA, "lzma"), (zipfile.ZIP_BZIP2, "bzip2")):
        with zipfile.ZipFile(tmp_path / f"{label}.npz", "w", compression=method) as zf:
            for k, v in params.items():
                with zf.open(k + ".npy", "w") as f:
                    np.lib.format.write_array(f, v)
        cases[f"{label}.npz"] = "only stored and deflated"
        data = bytearray((tmp_path / f"{label}.npz").read_bytes())  # LZMAError, OSError before
        with zipfile.ZipFile(tmp_path / f"{label}.npz") as zf:
            for info in zf.infolist():
                at = local_header_offset_of_data(data, info)
                data[at + 5 : at + 25] = b"\xff" * 20
        (tmp_path / f"{label}-broken.npz").write_bytes(bytes(data))
        cases[f"{label}-broken.npz"] = "only stored and deflated"
    np.savez_compressed(tmp_path / "deflated.npz", **params)
    data = bytearray((tmp_path / "deflated.npz").read_bytes())  # zlib.error before
    with zipfile.ZipFile(tmp_path / "deflated.npz") as zf:
        for info in zf.infolist():
            at = local_header_offset_of_data(data, info)
            data[at : at + 8] = b"\xff" * 8
    (tmp_path / "deflate-broken.npz").write_bytes(bytes(data))
    cases["deflate-broken.npz"] = "not a readable .npz"
    data = bytearray(raw)  # a flipped data byte
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo("linear[0].w.npy")
    data[local_header_offset_of_data(data, info) + 128 + 3] ^= 0xFF
    (tmp_path / "crc.npz").write_bytes(bytes(data))
    cases["crc.npz"] = "not a readable .npz"
    (tmp_path / "method99.npz").write_bytes(  # NotImplementedError before
        patch_every_header(raw, 8, 10, "<H", 99)
    )
    cases["method99.npz"] = "compressed with method 99"
    (tmp_path / "encrypted.npz").write_bytes(patch_every_header(raw, 6, 8, "<H", 1))
    cases["encrypted.npz"] = "encrypted"
    np.savez(tmp_path / "bigendian.npz", **{k: v.astype(">f8") for k, v in params.items()})
    cases["bigendian.npz"] = "dtype >f8"
    (tmp_path / "folder.npz").mkdir()
    cases["folder.npz"] = "is a directory"

    fresh = M.MLP([4, 1], rng=ag.random.const(3))  # lazy: shapes would come from the file
    for name, match in cases.items():
        assert_refused(m, tmp_path / name, match)
        assert_refused(fresh, tmp_path / name, match)
        assert fresh.linear0.w is None and fresh.linear1.w is None
    m.load(good)  # and the good file still loads


def test_22_shape_and_name_errors_name_the_path(tmp_path):
    m = trained()
    np.savez(tmp_path / "extra.npz", **snapshot(m), bogus=np.ones(1))
    assert_refused(m, tmp_path / "extra.npz", "does not: \\['bogus'\\]")
    wrong = {**snapshot(m), "linear[1].w": np.ones((5, 1))}
    np.savez(tmp_path / "shape.npz", **wrong)
    assert_refused(m, tmp_path / "shape.npz", r"linear\[1\].w has shape \(5, 1\) in the file")


def test_22_fortran_ordered_arrays_load(tmp_path):
    m = trained()
    np.savez(tmp_path / "f.npz", **{k: np.asfortranarray(v) for k, v in snapshot(m).items()})
    fresh = M.MLP([4, 1])
    fresh.load(tmp_path / "f.npz")
    for k, v in snapshot(m).items():
        np.testing.assert_array_equal(fresh.params()[k].data, v)
        assert fresh.params()[k].data.flags.c_contiguous


# -- 21: a killed save's temporary file is removed by the next save ----------------------

KILLED_SAVE = """
import os, signal, sys
import numpy as np
import autograd as ag, autograd.models as M
m = M.MLP([4, 1], rng=ag.random.const())
m(np.ones((2, 3)))
os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)   # die before the rename
m.save(sys.argv[1])
"""


def test_21_leftovers_of_a_killed_save_are_removed(tmp_path):
    path = tmp_path / "m.npz"
    done = subprocess.run(
        [sys.executable, "-c", KILLED_SAVE, str(path)], capture_output=True, timeout=120
    )
    assert done.returncode == -signal.SIGKILL
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].startswith(".m.npz.tmp-"), leftovers
    (tmp_path / ".other.npz.tmp-1-0123abcd").write_bytes(b"not ours")
    trained().save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.npz.tmp-1-0123abcd", "m.npz"]


def test_21_a_live_save_is_left_alone_unless_old(tmp_path):
    path = tmp_path / "m.npz"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".m.npz.tmp-{sleeper.pid}-0123abcd"
        live.write_bytes(b"being written")
        trained().save(path)
        assert live.exists()
        old = time.time() - 2 * 3600
        os.utime(live, (old, old))
        trained().save(path)
        assert not live.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


# -- 23: permissions follow the umask or the old file; symlinks are written through --------


def test_23_new_files_follow_the_umask_and_old_files_keep_their_mode(tmp_path):
    m = trained()
    old = os.umask(0o022)
    try:
        m.save(tmp_path / "a.npz")
        assert (tmp_path / "a.npz").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        m.save(tmp_path / "b.npz")
        assert (tmp_path / "b.npz").stat().st_mode & 0o777 == 0o600
        os.chmod(tmp_path / "a.npz", 0o640)
        m.save(tmp_path / "a.npz")
        assert (tmp_path / "a.npz").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def test_23_a_symlink_is_written_through(tmp_path):
    m = trained()
    (tmp_path / "store").mkdir()
    real = tmp_path / "store" / "real.npz"
    real.write_bytes(b"old")
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    m.save(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    fresh = M.MLP([4, 1])
    fresh.load(real)
    for k, v in snapshot(m).items():
        np.testing.assert_array_equal(fresh.params()[k].data, v)
    dangling = tmp_path / "dangling.npz"
    dangling.symlink_to(tmp_path / "store" / "new.npz")
    m.save(dangling)
    assert dangling.is_symlink() and (tmp_path / "store" / "new.npz").is_file()
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["new.npz", "real.npz"]


# -- 24: any parameter name round-trips ---------------------------------------------------

NAMES = ["file", "allow_pickle", "arr_0", "x.npy", "a/b", "../up", "ü", ""]


class Odd(M.Model):
    def __init__(self, fill):
        super().__init__()
        for i, name in enumerate(NAMES):
            setattr(self, name, L.Parameter(np.full((2,), fill + i, dtype=np.float64)))


def test_24_any_parameter_name_round_trips(tmp_path):
    Odd(10.0).save(tmp_path / "odd.npz")
    fresh = Odd(0.0)
    fresh.load(tmp_path / "odd.npz")
    for i, name in enumerate(NAMES):
        np.testing.assert_array_equal(getattr(fresh, name).data, [10.0 + i] * 2)
    with np.load(tmp_path / "odd.npz") as f:  # still a plain .npz for NumPy
        assert sorted(f.files) == sorted(NAMES)


# -- 28: a missing folder is named as the caller gave it ----------------------------------


def test_28_save_into_a_missing_folder_names_the_path_given(tmp_path):
    path = tmp_path / "missing" / "m.npz"
    with pytest.raises(FileNotFoundError) as info:
        trained().save(path)
    assert str(path) in str(info.value) and ".tmp" not in str(info.value)


def test_28_dot_cli_missing_folder_and_upper_case_suffix(tmp_path, capsys):
    # main() is what `python -m autograd.dot` runs (tests/test_dot.py launches it once)
    from autograd import dot

    run = ["--func", "sin", "-o"]
    with pytest.raises(SystemExit) as bad:
        dot.main([*run, str(tmp_path / "missing" / "g.dot")])
    assert bad.value.code == 2 and "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad:
        dot.main([*run, str(tmp_path / "g.jpg")])
    assert bad.value.code == 2 and "should end in one of" in capsys.readouterr().err
    assert dot.main([*run, str(tmp_path / "g.DOT")]) == 0, capsys.readouterr().err
    assert (tmp_path / "g.DOT").read_text().startswith("digraph g {")


# -- 15: the tail after the last BPTT window; a window longer than an epoch ---------------


def lstm_program():
    spec = importlib.util.spec_from_file_location("lstm_program", LSTM_PROGRAM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def count_updates(monkeypatch, argv):
    program = lstm_program()
    calls = []
    real = O.SGD.update
    monkeypatch.setattr(O.SGD, "update", lambda self, m: (calls.append(1), real(self, m)))
    log = io.StringIO()
    program.train(program.parse(argv), log=log)
    monkeypatch.undo()
    return len(calls), log.getvalue()


def test_15_the_tail_is_reported_or_trained(monkeypatch):
    # 10 batches an epoch, windows of 4: updates after batches 4 and 8, as the seed
    updates, log = count_updates(monkeypatch, SMALL + ["--bptt-length", "4"])
    assert updates == 2 * 2
    assert "the last 2 of the 10 batches of each epoch were fed but not trained" in log
    updates, log = count_updates(monkeypatch, SMALL + ["--bptt-length", "4", "--train-tail"])
    assert updates == 2 * 3 and "note" not in log
    updates, log = count_updates(monkeypatch, SMALL + ["--bptt-length", "5"])
    assert updates == 2 * 2 and "note" not in log
    # single-point batches: the seed's `count == N` holds at the last one
    updates, _ = count_updates(
        monkeypatch,
        [
            "-N",
            "11",
            "--batch-size",
            "1",
            "--bptt-length",
            "4",
            "--hidden-size",
            "2",
            "--epochs",
            "1",
        ],
    )
    assert updates == 3


def run_lstm(*args, env=None):
    return subprocess.run(
        [sys.executable, str(LSTM_PROGRAM), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def run_lstm_here(capsys, *args):
    """The program's main(args) in this process (what the command line runs, without an
    interpreter's start-up): (exit status, stdout, stderr). Any exception but the
    SystemExit of a usage error fails the test, as a traceback would."""
    try:
        lstm_program().main(list(args))
        status = 0
    except SystemExit as e:
        status = e.code
    out = capsys.readouterr()
    return status, out.out, out.err


def test_15_a_window_longer_than_an_epoch_is_a_usage_error(capsys):
    status, _, err = run_lstm_here(capsys, *SMALL, "--bptt-length", "11")
    assert status == 2 and "would never be updated" in err
    assert "loss=" not in err
    tail = run_lstm_here(capsys, *SMALL, "--bptt-length", "11", "--train-tail")
    frozen = run_lstm_here(
        capsys, *SMALL, "--bptt-length", "11", "--train-tail", "--learning-rate", "0"
    )
    assert tail[0] == 0 and frozen[0] == 0
    assert tail[1] != frozen[1]  # the model was updated


# -- 27: every argument is checked at start-up --------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--learning-rate", "-1"], "--learning-rate must be a finite number"),
        (["--learning-rate", "nan"], "--learning-rate must be a finite number"),
        (["--noise", "inf"], "--noise must be a finite number"),
        (["--seed", "-1"], "--seed must be in"),
        (["--seed", str(2**64)], "--seed must be in"),
        (["--hidden-size", "100000000"], "--hidden-size must be at most"),
        (["-N", "100000000000"], "-N must be at most"),
        (["--plot", "{tmp}"], "is a directory"),
        (["--plot", "{tmp}/missing/p.png"], "does not exist"),
        (["--plot", "{tmp}/p.nosuchformat"], "should end in one of"),
    ],
)
def test_27_bad_arguments_are_usage_errors_at_start_up(tmp_path, capsys, args, message):
    if message == "should end in one of" and importlib.util.find_spec("matplotlib") is None:
        pytest.skip("the list of formats comes from matplotlib, which is not installed")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    status, out, err = run_lstm_here(capsys, *SMALL, *args)
    assert status == 2, err
    assert message in err and "Traceback" not in err
    assert "loss=" not in err and out == ""
    assert list(tmp_path.iterdir()) == []


def test_27_plot_without_matplotlib_fails_before_training(tmp_path):
    fake = tmp_path / "fake"
    (fake / "matplotlib").mkdir(parents=True)
    (fake / "matplotlib" / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(fake), os.environ.get("PYTHONPATH")])),
    }
    out = run_lstm(*SMALL, "--plot", str(tmp_path / "p.png"), env=env)
    assert out.returncode == 2 and "needs matplotlib" in out.stderr
    assert "loss=" not in out.stderr
