"""autograd.distributed: data-parallel training over MPI, checked by launching
``mpirun -n 2`` on this machine. Skipped when mpi4py or mpirun is absent (CI installs
the ``mpi`` extra); the ImportError without mpi4py is checked either way."""

import os
import pathlib
import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

# the mpirun training is made once (a module fixture): these tests stay on one
# pytest-xdist worker
pytestmark = pytest.mark.xdist_group("distributed")

# The training both sides run: the MPI ranks (batch 50 each, sharded) and this process
# (batch 100, one process) execute this same source.
COMMON = textwrap.dedent('''
    import numpy as np
    import autograd as ag
    import autograd.functions as F
    import autograd.hooks as H
    import autograd.models as M
    import autograd.optimizers as O

    # name -> optimizer of a model; names ending in "_step" are given the model at
    # construction and updated with step() rather than update(model)
    OPTIMIZERS = {
        "sgd": lambda m: O.SGD(lr=0.5),
        "adam": lambda m: O.Adam(alpha=0.01),
        "momentum": lambda m: O.Momentum(lr=0.1),
        "sgd_clip": lambda m: O.SGD(lr=0.5, hooks=[H.ClipGrad(0.05)]),
        "adamw_decay": lambda m: O.AdamW(alpha=0.01, hooks=[H.WeightDecay(1e-3)]),
        "adam_step": lambda m: O.Adam(m, alpha=0.01),
    }

    def data():
        rng = np.random.default_rng(1)
        x = rng.standard_normal((200, 4))
        t = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.int64) + (x[:, 3] > 1)
        return x, t

    def model():
        m = M.MLP([16, 3], activation=F.tanh, rng=np.random.default_rng(0))
        m(np.zeros((1, 4)))
        return m

    def train(name, batch, shard, wrap=lambda opt: opt, before=lambda step: None, steps=20,
              n=200, weighted=False):
        """Parameters after each of ``steps`` updates: a list of {name: array}.
        ``wrap`` wraps the optimizer; ``before(step)`` runs before each update; ``n``
        samples of the data; ``weighted``: each rank weights its gradients by its batch
        size (uneven batches)."""
        x, t = data()
        x, t = x[:n], t[:n]
        m = model()
        opt = wrap(OPTIMIZERS[name](m))
        loader = ag.data.DataLoader(ag.data.ArrayDataset(x, t), batch_size=batch,
                                    shuffle=True, rng=np.random.default_rng(2), shard=shard)
        history = []
        while len(history) < steps:
            for xb, tb in loader:
                loss = F.softmax_cross_entropy(m(xb), tb)
                m.cleargrads()
                loss.backward()
                before(len(history))
                weight = {"weight": len(tb)} if weighted else {}
                opt.step(**weight) if name.endswith("_step") else opt.update(m, **weight)
                history.append({k: p.data.copy() for k, p in m.params().items()})
                if len(history) == steps:
                    break
        return history
''')

WORKER = COMMON + textwrap.dedent("""
    import sys
    import autograd.distributed as dist

    mode, out = sys.argv[1], sys.argv[2]
    r, n = dist.rank(), dist.size()

    if mode == "train":
        for name in OPTIMIZERS:
            history = train(name, 50, (r, n), dist.DistributedOptimizer)
            np.savez(f"{out}/{name}_{r}.npz",
                     **{f"{i}/{k}": a for i, h in enumerate(history) for k, a in h.items()})
        # 199 samples, batches of 50 and 49 at the end of each epoch: weighted by size
        for name in ("sgd", "adam", "adam_step"):
            history = train(name, 50, (r, n), dist.DistributedOptimizer, n=199, weighted=True)
            np.savez(f"{out}/uneven_{name}_{r}.npz",
                     **{f"{i}/{k}": a for i, h in enumerate(history) for k, a in h.items()})
        # differently initialised ranks, made equal by broadcast_parameters
        m = M.MLP([5, 2], rng=np.random.default_rng(10 + r))
        m(np.zeros((1, 3)))
        for p in m.params().values():
            p.data += r                 # the biases too
        before = {k: p.data.copy() for k, p in m.params().items()}
        dist.broadcast_parameters(m, root=1)
        np.savez(f"{out}/bcast_{r}.npz", **{"before/" + k: a for k, a in before.items()},
                 **{"after/" + k: p.data for k, p in m.params().items()})
        # a parameter with a gradient on rank 1 only, and one with none anywhere
        a = ag.Variable(np.ones(3), name="a")
        b = ag.Variable(np.ones(2), name="b")
        if r == 1:
            (a * 4.0).sum().backward()
        dist.allreduce_grads({"a": a, "b": b})
        np.savez(f"{out}/nograd_{r}.npz", a=a.grad.data if a.grad is not None else np.array([]),
                 b_missing=np.array(b.grad is None))
        # allreduce of a number
        np.savez(f"{out}/numbers_{r}.npz", total=dist.allreduce(r + 1.0),
                 mean=dist.allreduce(np.array([r, 2.0 * r]), average=True),
                 count=dist.allreduce(np.array([200], np.uint8)))
        # a layer's buffers (running statistics) are broadcast with its parameters
        import autograd.layers as L
        bn = L.BatchNorm()
        bn(np.arange(12.0).reshape(4, 3) * (r + 1))
        dist.broadcast_parameters(bn)
        np.savez(f"{out}/buffers_{r}.npz", mean=bn.running_mean, var=bn.running_var)
        # a rank of weight 0 (an empty batch, a NaN mean) contributes nothing
        a = ag.Variable(np.ones(3))
        (a * (np.nan if r == 0 else 4.0)).sum().backward()
        dist.allreduce_grads([a], weight=0 if r == 0 else 5)
        np.save(f"{out}/weight0_{r}.npy", a.grad.data)
    elif mode == "raise":
        def before(step):
            if r == 1 and step == 2:
                raise ValueError("rank 1 fails on purpose")
        train("sgd", 50, (r, n), dist.DistributedOptimizer, before)
    elif mode == "raise_elsewhere":  # rank 0 waits in a collective of its own, not ours
        if r == 1:
            raise ValueError("rank 1 fails on purpose")
        from mpi4py import MPI
        MPI.COMM_WORLD.barrier()
    elif mode == "exit":
        def before(step):
            if r == 1 and step == 2:
                sys.exit(3)
        train("sgd", 50, (r, n), dist.DistributedOptimizer, before)
    elif mode == "short":             # rank 1 runs fewer steps and ends normally
        train("sgd", 50, (r, n), dist.DistributedOptimizer, steps=5 if r == 1 else 10)
    elif mode == "mismatch":
        m = M.MLP([4 + r, 2], rng=np.random.default_rng(0))
        m(np.zeros((1, 3)))
        dist.broadcast_parameters(m)
    elif mode == "step_ahead":        # rank 1 takes one step more, then both wait
        train("sgd", 50, (r, n), dist.DistributedOptimizer, steps=3 + r)
        dist.barrier()
    elif mode == "barrier_allreduce":
        dist.barrier() if r == 0 else dist.allreduce(1.0)
    elif mode == "step_allreduce":    # rank 1 takes one step more, then both allreduce
        train("sgd", 50, (r, n), dist.DistributedOptimizer, steps=3 + r)
        dist.allreduce(1.0)
    elif mode == "reordered":         # agreed once, then another order on rank 1
        params = {"a": ag.Variable(np.ones(3)), "b": ag.Variable(np.ones(3))}
        dist.allreduce_grads(params)
        dist.allreduce_grads(dict(reversed(params.items())) if r == 1 else params)
    elif mode == "lazy":              # a layer made on rank 0 only
        m = M.MLP([4, 2], rng=np.random.default_rng(0))
        if r == 0:
            m(np.zeros((1, 3)))
        dist.allreduce_grads(m)
    elif mode == "weight_on_one":     # one rank weights, the other does not
        a = ag.Variable(np.ones(3))
        (a * 2.0).sum().backward()
        dist.allreduce_grads([a], weight=5 if r == 0 else None)
    elif mode == "average_on_one":
        a = ag.Variable(np.ones(3))
        (a * 2.0).sum().backward()
        dist.allreduce_grads([a], average=r == 0)
    elif mode == "lazy_broadcast":    # weights not made yet: made later, differently
        dist.broadcast_parameters(M.MLP([10, 3]))
    elif mode == "allreduce_average":
        dist.allreduce(2.0, average=r == 0)
    elif mode == "frozen":            # a parameter frozen on one rank only
        m = M.MLP([4, 2], rng=np.random.default_rng(0))
        m(np.zeros((1, 3)))
        if r == 1:
            m.params()["linear[0].w"].requires_grad = False
        dist.allreduce_grads(m)
    elif mode == "shapes":
        dist.allreduce(np.zeros(2 + r))
    elif mode == "roots":
        m = M.MLP([4, 2], rng=np.random.default_rng(0))
        m(np.zeros((1, 3)))
        dist.broadcast_parameters(m, root=r)
""")


def _mpirun():
    """The mpirun that came with the mpi extra (beside this Python), else one on PATH."""
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install 'cyautograd[mpi]')")
    exe = shutil.which("mpirun", path=os.path.dirname(sys.executable)) or shutil.which("mpirun")
    if exe is None:
        pytest.skip("no mpirun on this machine")
    cmd = [exe, "-n", "2", "--oversubscribe"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    return cmd


def _env():
    # Variables set by an MPI already initialised in this process would confuse mpirun.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "PRTE_", "PMI_"))
    }
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if _from_source():  # the ranks import the library this process tests
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _from_source():
    import autograd

    return pathlib.Path(autograd.__file__).resolve().parent == ROOT / "autograd"


def launch(tmp_path, mode, timeout=120):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    start = time.monotonic()
    proc = subprocess.run(
        _mpirun() + [sys.executable, str(script), mode, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
        stdin=subprocess.DEVNULL,
    )
    return proc, time.monotonic() - start


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("mpi")
    proc, _ = launch(out, "train")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def reference(name):
    space = {}
    exec(COMMON, space)
    return space["train"](name, 100, None)


NAMES = ["sgd", "adam", "momentum", "sgd_clip", "adamw_decay", "adam_step"]


@pytest.mark.parametrize("name", NAMES)
def test_two_ranks_of_50_equal_one_process_of_100(trained, name):
    ranks = [np.load(trained / f"{name}_{r}.npz") for r in (0, 1)]
    expected = reference(name)
    assert len(expected) == 20
    for step, params in enumerate(expected):
        for key, value in params.items():
            got = ranks[0][f"{step}/{key}"]
            np.testing.assert_allclose(
                got, value, rtol=0, atol=1e-12, err_msg=f"{name}: step {step}, {key}"
            )
    # the steps really moved the parameters
    first = sorted(expected[0])[0]
    assert not np.allclose(expected[0][first], expected[-1][first])


@pytest.mark.parametrize("name", ["sgd", "adam", "adam_step"])
def test_uneven_batches_weighted_equal_one_process(trained, name):
    """199 samples: the ranks' last batches of each epoch hold 50 and 49; weighted by
    their sizes, the average is one process's gradient of its batch of 99."""
    ranks = [np.load(trained / f"uneven_{name}_{r}.npz") for r in (0, 1)]
    space = {}
    exec(COMMON, space)
    expected = space["train"](name, 100, None, n=199)
    for step, params in enumerate(expected):
        for key, value in params.items():
            np.testing.assert_allclose(
                ranks[0][f"{step}/{key}"], value, rtol=0, atol=1e-12, err_msg=f"step {step}, {key}"
            )
            assert ranks[0][f"{step}/{key}"].tobytes() == ranks[1][f"{step}/{key}"].tobytes()


@pytest.mark.parametrize("name", NAMES)
def test_ranks_bitwise_equal_after_every_step(trained, name):
    r0, r1 = (np.load(trained / f"{name}_{r}.npz") for r in (0, 1))
    assert sorted(r0.files) == sorted(r1.files) and len(r0.files) == 20 * 4
    for key in r0.files:
        assert r0[key].tobytes() == r1[key].tobytes(), key


def test_broadcast_makes_different_ranks_equal(trained):
    r0, r1 = (np.load(trained / f"bcast_{r}.npz") for r in (0, 1))
    keys = [k for k in r0.files if k.startswith("after/")]
    assert keys
    for key in keys:
        name = key.split("/", 1)[1]
        assert not np.array_equal(r0["before/" + name], r1["before/" + name])
        assert r0[key].tobytes() == r1[key].tobytes() == r1["before/" + name].tobytes()


def test_parameters_without_gradient_agree(trained):
    r0, r1 = (np.load(trained / f"nograd_{r}.npz") for r in (0, 1))
    # rank 1's gradient 4, rank 0 none (zeros): the average 2 on both
    np.testing.assert_array_equal(r0["a"], [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(r1["a"], [2.0, 2.0, 2.0])
    assert r0["b_missing"] and r1["b_missing"]


def test_allreduce_numbers(trained):
    for r in (0, 1):
        got = np.load(trained / f"numbers_{r}.npz")
        assert float(got["total"]) == 3.0
        np.testing.assert_array_equal(got["mean"], [0.5, 1.0])
        assert got["count"].tolist() == [400]  # summed in 64 bits: no wrap at uint8


def test_broadcast_shares_buffers(trained):
    r0, r1 = (np.load(trained / f"buffers_{r}.npz") for r in (0, 1))
    x = np.arange(12.0).reshape(4, 3)  # rank 0's batch: its statistics on both
    np.testing.assert_allclose(r0["mean"], 0.1 * x.mean(axis=0))
    for key in ("mean", "var"):
        assert r0[key].tobytes() == r1[key].tobytes()


def test_a_rank_of_weight_0_contributes_nothing(trained):
    for r in (0, 1):  # rank 0's NaN gradient has weight 0: rank 1's 4 alone
        np.testing.assert_array_equal(np.load(trained / f"weight0_{r}.npy"), [4.0, 4.0, 4.0])


@pytest.mark.parametrize(
    "mode, message",
    [
        ("raise", "rank 1 fails on purpose"),
        ("raise_elsewhere", "rank 1 fails on purpose"),
        ("exit", "has ended its program while rank 0 waits"),
        ("short", "has ended its program while rank 0 waits"),
        ("mismatch", "the ranks' models differ"),
        (
            "step_ahead",
            "the ranks are in different calls: rank 0 in barrier, another in allreduce_grads",
        ),
        ("barrier_allreduce", "the ranks are in different calls"),
        (
            "step_allreduce",
            "the ranks are in different calls: rank 0 in allreduce, another in allreduce_grads",
        ),
        (
            "reordered",
            "the same parameters in another order (position 0: 'a' on rank 0, 'b' on rank 1)",
        ),
        ("lazy", "rank 0 has 4 parameters, rank 1 2; only rank 0 has [('linear[0].w'"),
        (
            "shapes",
            "rank 0 average=False dtype <f8 shape (2,), rank 1 average=False dtype <f8 shape (3,)",
        ),
        ("lazy_broadcast", "parameters ['linear[0].w', 'linear[1].w'] are not made yet"),
        ("allreduce_average", "rank 0 average=True dtype <f8 shape (), rank 1 average=False"),
        ("frozen", "only rank 1 has [('linear[0].w', (3, 4), '<f8', 'frozen')]"),
        ("weight_on_one", "the ranks differ in a weight given: rank 0 True, rank 1 False"),
        ("average_on_one", "the ranks differ in average=: rank 0 True, rank 1 False"),
        ("roots", "the ranks give different roots: [0, 1]"),
    ],
)
def test_a_failing_rank_ends_the_job(tmp_path, mode, message):
    proc, elapsed = launch(tmp_path, mode, timeout=60)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert elapsed < 30
    assert message in proc.stderr, proc.stderr


def test_example_trains_on_two_ranks_and_one(tmp_path):
    cmd = _mpirun()
    example = str(ROOT / "examples" / "train_mpi.py")
    args = ["--epochs", "20", "--log-every", "10", "-N", "303"]  # last batches of 2 and 1
    two = subprocess.run(
        cmd + [sys.executable, example, *args, "--checkpoint", str(tmp_path / "two.npz")],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        stdin=subprocess.DEVNULL,
    )
    assert two.returncode == 0, two.stdout + two.stderr
    one = subprocess.run(
        [sys.executable, example, *args, "--checkpoint", str(tmp_path / "one.npz")],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert one.returncode == 0, one.stderr
    lines = two.stdout.splitlines()
    # only rank 0 prints: two progress lines and the saving line, once
    assert len(lines) == 3 and lines[-1].startswith("saved"), two.stdout
    assert "2 processes" in lines[0] and "1 process," in one.stdout.splitlines()[0]
    # the same training: the same losses printed, the same parameters to rounding
    strip = lambda text: [line.split("(")[0] for line in text.splitlines()[:2]]
    assert strip(two.stdout) == strip(one.stdout)
    a, b = np.load(tmp_path / "two.npz"), np.load(tmp_path / "one.npz")
    for key in a.files:
        np.testing.assert_allclose(a[key], b[key], rtol=0, atol=1e-12)

    # 10 epochs on two ranks, then resumed to 20 on one: the uninterrupted run's result
    half = subprocess.run(
        cmd
        + [sys.executable, example, "--epochs", "10", "-N", "303"]
        + ["--checkpoint", str(tmp_path / "half.npz")],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        stdin=subprocess.DEVNULL,
    )
    assert half.returncode == 0, half.stdout + half.stderr
    resumed = subprocess.run(
        [sys.executable, example, *args, "--resume", "--checkpoint", str(tmp_path / "half.npz")],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines()[0].startswith("epoch   20"), resumed.stdout
    c = np.load(tmp_path / "half.npz")
    for key in b.files:
        np.testing.assert_allclose(c[key], b[key], rtol=0, atol=1e-12)


def test_docs_script_runs_on_two_ranks(tmp_path):
    """The scripts of docs/distributed.md (```py blocks: they need mpirun, so
    tests/test_docs.py does not run them) train, save once, then resume."""
    import re

    blocks = re.findall(r"```py\n(.*?)```", (ROOT / "docs" / "distributed.md").read_text(), re.S)
    assert len(blocks) == 2
    script = tmp_path / "train.py"
    script.write_text(blocks[0] + "\n" + blocks[1])
    proc = subprocess.run(
        _mpirun() + [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        env=_env(),
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 10 and lines[-1].startswith("epoch 100: loss"), proc.stdout
    assert float(lines[-1].split()[-1]) < 0.5
    assert (tmp_path / "spiral.npz").exists()


def test_single_process_api():
    """Without mpirun: rank 0 of 1, the calls validate their arguments and do nothing."""
    pytest.importorskip("mpi4py")
    import inspect

    import autograd as ag
    import autograd.distributed as dist
    import autograd.models as M
    import autograd.optimizers as O

    assert (dist.rank(), dist.size(), dist.is_root()) == (0, 1, True)
    for name in dist.__all__:
        assert inspect.getdoc(getattr(dist, name)), name
    m = M.MLP([3, 2], rng=np.random.default_rng(0))
    m(np.ones((4, 2))).sum().backward()
    grads = {k: p.grad.data.copy() for k, p in m.params().items()}
    dist.allreduce_grads(m)
    dist.broadcast_parameters(m)
    for k, p in m.params().items():
        np.testing.assert_array_equal(p.grad.data, grads[k])
    opt = dist.DistributedOptimizer(O.SGD(lr=0.1))
    opt.lr = 0.5  # reaches the wrapped optimizer (schedulers)
    assert opt.optimizer.lr == 0.5
    opt.update(m)
    with pytest.raises(TypeError, match="update"):
        dist.DistributedOptimizer(object())
    with pytest.raises(TypeError, match="holds no parameters"):
        dist.DistributedOptimizer(O.SGD()).step()
    with pytest.raises(TypeError, match="expected a model"):
        dist.allreduce_grads(42)
    with pytest.raises(TypeError, match="not a Variable"):
        dist.allreduce_grads({"w": np.ones(2)})
    with pytest.raises(ValueError, match="root must be in"):
        dist.broadcast_parameters(m, root=1)
    with pytest.raises(TypeError, match="average must be"):
        dist.allreduce_grads(m, average="yes")
    with pytest.raises(TypeError, match="weight must be a real number"):
        dist.allreduce_grads(m, weight="3")
    with pytest.raises(ValueError, match="finite and >= 0"):
        dist.allreduce_grads(m, weight=-1)
    with pytest.raises(ValueError, match="needs average=True"):
        dist.allreduce_grads(m, average=False, weight=2)
    with pytest.raises(TypeError, match="got the class SGD"):
        dist.DistributedOptimizer(O.SGD)
    opt.average = False  # the wrapper's own setting, not the wrapped optimizer's
    assert opt.average is False and not hasattr(opt.optimizer, "average")
    with pytest.raises(TypeError, match="average must be"):
        opt.average = "no"
    assert dist.allreduce(np.bool_(True)) == 1.0
    zero_d = dist.allreduce(np.array(3.0), average=True)  # an array either way
    assert isinstance(zero_d, np.ndarray) and zero_d.shape == () and zero_d == 3.0
    assert dist.allreduce(np.array([200], np.uint8)).dtype == np.uint64
    with pytest.raises(TypeError, match="masked arrays"):
        dist.allreduce(np.ma.array([1.0], mask=[True]))
    # the checks made under mpirun are made by one process too
    v = ag.Variable(np.ones(3))
    v.grad = ag.Variable(np.ones(4))
    with pytest.raises(ValueError, match="has a gradient of shape"):
        dist.allreduce_grads([v])
    v.grad = ag.Variable(np.ones(3))
    with pytest.raises(ValueError, match="weights sum to 0"):
        dist.allreduce_grads([v], weight=0)
    w = ag.Variable(np.ones(3, np.float32))
    w.grad = ag.Variable(np.ones(3, np.float32))
    with pytest.raises(ValueError, match="out of the range of float32"):
        dist.allreduce_grads([w], weight=1e39)
    with pytest.raises(ValueError, match="not made yet"):
        dist.broadcast_parameters(M.MLP([3, 2]))
    np.testing.assert_array_equal(dist.allreduce(np.array([True, False])), [1, 0])
    big = dist.allreduce(np.arange(3.0).astype(">f8"))
    assert big.dtype == np.float64 and big.dtype.isnative and big.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(TypeError, match="complex numbers are not supported"):
        dist.allreduce(1j)
    with pytest.raises(TypeError, match="real numbers or booleans, got ndarray of dtype complex"):
        dist.allreduce(np.ones(2, complex))
    assert dist.allreduce(3, average=True) == 3.0
    np.testing.assert_array_equal(dist.allreduce(np.array([1, 2])), [1, 2])
    dist.barrier()
    v = ag.Variable(np.ones(2))
    dist.allreduce_grads([v])  # an iterable of Variables, no gradient: fine
    assert v.grad is None


@pytest.mark.parametrize(
    "init, mpi",
    [
        ("raise ImportError('No module named mpi4py')\n", None),  # the package is absent
        ("", "raise RuntimeError('cannot load MPI library')\n"),  # no MPI library under it
    ],
)
def test_import_without_mpi4py_names_the_extra(tmp_path, init, mpi):
    # a stand-in mpi4py that fails to import
    fake = tmp_path / "mpi4py"
    fake.mkdir()
    (fake / "__init__.py").write_text(init)
    if mpi is not None:
        (fake / "MPI.py").write_text(mpi)
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(tmp_path)] + ([str(ROOT)] if _from_source() else [])),
    )
    proc = subprocess.run(
        [sys.executable, "-c", "import autograd.distributed"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr
    assert 'pip install "cyautograd[mpi]"' in proc.stderr
    # the rest of the library does not need it
    proc = subprocess.run(
        [sys.executable, "-c", "import autograd as ag; ag.data.DataLoader"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
