"""Models: the seed MLP example's losses, save/load, the LSTM program, memory."""

import gc
import os
import pathlib
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import autograd as ag
import autograd.functions as F
import autograd.models as M
import autograd.optimizers as O

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_mlp_example_prints_the_seed_losses():
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "mlp.py")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.splitlines() == [
        "0.17547970",
        "0.07741569",
        "0.07284688",
        "0.07090371",
        "0.07005858",
        "0.06968885",
        "0.06952675",
        "0.06945531",
        "0.06942337",
        "0.06940859",
    ]


def test_mlp_structure():
    m = M.MLP([5, 3, 2], activation=F.tanh, rng=np.random.default_rng(0))
    y = m(np.ones((4, 7)))
    assert y.shape == (4, 2)
    assert list(m.params()) == [
        "linear[0].b",
        "linear[0].w",
        "linear[1].b",
        "linear[1].w",
        "linear[2].b",
        "linear[2].w",
    ]
    x = np.ones((4, 7))
    h = np.tanh(
        np.tanh(x @ m.linear0.w.data + m.linear0.b.data) @ m.linear1.w.data + m.linear1.b.data
    )
    np.testing.assert_allclose(y.data, h @ m.linear2.w.data + m.linear2.b.data)
    with pytest.raises(ValueError, match="at least one layer"):
        M.MLP([])


def trained_mlp():
    m = M.MLP([4, 1], rng=ag.random.const())
    m(np.ones((2, 3)))
    return m


def test_save_load_round_trip(tmp_path):
    m = trained_mlp()
    path = tmp_path / "m.npz"
    m.save(path)
    fresh = M.MLP([4, 1], rng=ag.random.const(9))
    fresh.load(path)  # lazy weights are created from the file
    x = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(fresh(x).data, m(x).data)
    assert not any(p.name.startswith(".tmp") for p in tmp_path.iterdir())


def test_load_wrong_shapes_leaves_model_unchanged(tmp_path):
    m = trained_mlp()
    other = M.MLP([5, 1], rng=ag.random.const())
    other(np.ones((2, 3)))
    other.save(tmp_path / "other.npz")
    before = {k: v.data.copy() for k, v in m.params().items()}
    with pytest.raises(ValueError, match=r"linear\[0\].b has shape \(1, 5\) in the file, \(1, 4\)"):
        m.load(tmp_path / "other.npz")
    for k, v in m.params().items():
        np.testing.assert_array_equal(v.data, before[k])


def test_load_names_and_dtypes(tmp_path):
    m = trained_mlp()
    np.savez(tmp_path / "extra.npz", **{k: v.data for k, v in m.params().items()}, bogus=np.ones(1))
    with pytest.raises(ValueError, match="does not: \\['bogus'\\]"):
        m.load(tmp_path / "extra.npz")
    np.savez(tmp_path / "missing.npz", **{"linear[0].w": m.linear0.w.data})
    with pytest.raises(ValueError, match="lacks parameters"):
        m.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "f32.npz", **{k: v.data.astype(np.float32) for k, v in m.params().items()})
    with pytest.raises(ValueError, match="dtype float32 in the file, float64"):
        m.load(tmp_path / "f32.npz")


def test_load_corrupt_and_missing_files(tmp_path):
    m = trained_mlp()
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip file")
    with pytest.raises(ValueError, match="not a readable .npz"):
        m.load(bad)
    with pytest.raises(FileNotFoundError, match="no such file"):
        m.load(tmp_path / "nope.npz")


def test_save_failure_keeps_the_previous_file(tmp_path, monkeypatch):
    m = trained_mlp()
    path = tmp_path / "m.npz"
    m.save(path)
    before = path.read_bytes()

    def crash(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(M, "_write_npz", crash)
    with pytest.raises(OSError, match="disk full"):
        m.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_lstm_model_and_reset():
    m = M.LSTM(5, 1, rng=ag.random.const())
    y = m(np.ones((3, 1)))
    assert y.shape == (3, 1)
    assert "lstm.x2f.w" in m.params() and "linear.w" in m.params()
    m.reset_state()
    assert m.lstm.h is None


def test_lstm_training_memory_is_flat():
    m = M.LSTM(16, 1, rng=ag.random.const())
    opt = O.SGD(lr=0.01)
    x = np.sin(np.linspace(0, 6, 8)).reshape(-1, 1)
    gc.disable()
    try:

        def run(steps):
            m.reset_state()
            loss = ag.variable(0.0)
            for i in range(steps):
                loss = loss + F.mean_squared_error(m(x), x)
                if (i + 1) % 10 == 0:
                    m.cleargrads()
                    loss.backward()
                    loss.unchain_backward()
                    opt.update(m)

        run(200)
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        run(2000)
        grown = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        assert grown < 200_000, f"memory grew by {grown} bytes over 2,000 steps"
    finally:
        gc.enable()


def run_lstm_program(env=None):
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / "lstm.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
        env=env,
    )


@pytest.fixture(scope="module")
def default_lstm_run():
    """The program run once as the README runs it (seed 0, 100 epochs, OpenBLAS's default
    thread count), for the two tests of the xdist group "lstm_default"."""
    env = dict(os.environ)  # without the one-thread settings conftest.py gives workers
    for var in env.pop("AUTOGRAD_TESTS_SET", "").split():
        env.pop(var, None)
    return run_lstm_program(env)


@pytest.mark.xdist_group("lstm_default")
def test_lstm_program_learns_the_cosine(default_lstm_run):
    out = default_lstm_run
    rows = [tuple(map(float, line.split(","))) for line in out.stdout.splitlines()]
    assert len(rows) == 999
    assert all(len(line.split(",")[0].split(".")[1]) == 6 for line in out.stdout.splitlines()[:3])
    lines = out.stderr.splitlines()
    assert lines[0].startswith("  0: loss=") and "elapsed=" in lines[0]
    mse = float(lines[-1].split(": ")[1].split(" ")[0])
    assert mse < 0.02, lines[-1]


@pytest.mark.parametrize(
    "threads", [pytest.param(None, marks=pytest.mark.xdist_group("lstm_default")), "1"]
)
def test_lstm_program_prints_what_it_printed(threads, request):
    """The default run (seed 0, 100 epochs) prints, to the last digit, what it printed
    before the LSTM step became one operation (tests/expected/lstm*.txt were recorded
    then), at OpenBLAS's default thread count and at one thread."""
    if threads is None:
        out = request.getfixturevalue("default_lstm_run")
    else:
        out = run_lstm_program(
            dict(os.environ, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads)
        )
    expected = ROOT / "tests" / "expected"
    assert out.stdout == (expected / "lstm.txt").read_text()
    err = [line.split(" elapsed=")[0] for line in out.stderr.splitlines()]
    assert err == (expected / "lstm_stderr.txt").read_text().splitlines()


def test_lstm_program_plot_needs_matplotlib_or_draws(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "lstm.py"),
            "--epochs",
            "1",
            "-N",
            "100",
            "--hidden-size",
            "4",
            "--bptt-length",
            "3",
            "--plot",
            str(tmp_path / "p.png"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    try:
        import matplotlib  # noqa: F401  (only whether it imports)
    except ImportError:
        assert out.returncode != 0 and "needs matplotlib" in out.stderr
    else:
        assert out.returncode == 0 and (tmp_path / "p.png").stat().st_size > 1000
