"""The training toolkit: parameters(), state_dict/load_state_dict (buffers, lazy layers),
optimizers given their parameters, RMSprop and Adagrad, lr read by every update, optimizer
state that resumes training bit for bit, schedules, and the surprises users reported."""

import gc
import math
import subprocess
import sys
import threading
import tracemalloc

import numpy as np
import pytest

import autograd as ag
import autograd.functions as F
import autograd.hooks as H
import autograd.layers as L
import autograd.models as M
import autograd.optimizers as O

OPTIMIZERS = {
    "SGD": lambda params=None: O.SGD(params, lr=0.1),
    "Momentum": lambda params=None: O.Momentum(params, lr=0.05, momentum=0.9),
    "Adam": lambda params=None: O.Adam(params, lr=0.01),
    "AdamW": lambda params=None: O.AdamW(params, lr=0.01, weight_decay=0.1),
    "RMSprop": lambda params=None: O.RMSprop(params, lr=0.01),
    "Adagrad": lambda params=None: O.Adagrad(params, lr=0.1),
}


# ---------------------------------------------------------------- parameters, state_dict


class Shared(L.Layer):
    def __init__(self):
        super().__init__()
        self.a = L.Linear(3, in_size=3, rng=np.random.default_rng(0))
        self.b = L.Linear(3, in_size=3, rng=np.random.default_rng(1))
        self.b.w = self.a.w  # tied weights

    def forward(self, x):
        return self.b(F.tanh(self.a(x)))


def test_shared_parameter_listed_and_updated_once():
    """Reliability 9: a parameter shared by two layers was listed and updated twice."""
    net = Shared()
    assert list(net.params()) == ["a.b", "a.w", "b.b"]
    assert net.parameters() == [net.a.b, net.a.w, net.b.b]
    assert list(net.state_dict()) == ["a.b", "a.w", "b.b"]
    w0 = net.a.w.data.copy()
    F.sum(net(np.ones((2, 3)))).backward()
    g = net.a.w.grad.data.copy()
    O.SGD(lr=0.1).update(net)
    np.testing.assert_array_equal(net.a.w.data, w0 - 0.1 * g)


def test_parameters_is_a_list_in_params_order():
    m = M.MLP([4, 3, 1], rng=ag.random.const())
    assert m.parameters() == [m.linear0.b, m.linear1.b, m.linear2.b]  # weights not made yet
    m(np.ones((2, 5)))
    assert m.parameters() == list(m.params().values())
    assert [p.shape for p in m.parameters()] == [(1, 4), (5, 4), (1, 3), (4, 3), (1, 1), (3, 1)]


@pytest.mark.parametrize(
    "make",
    [lambda: M.MLP([16, 8, 1], rng=ag.random.const()), lambda: M.LSTM(6, 1, rng=ag.random.const())],
    ids=["MLP", "LSTM"],
)
def test_concurrent_first_calls_make_the_parameters_once(make):
    """Reliability 16: threads calling a fresh model at once made different weights."""
    x = np.linspace(-1, 1, 8).reshape(4, 2)
    reference = make()
    expected = reference(x).data
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(20):
            m = make()
            barrier = threading.Barrier(6)
            outs = [None] * 6

            def work(i):
                barrier.wait()
                outs[i] = m(x).data

            threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for k, p in m.params().items():
                np.testing.assert_array_equal(p.data, reference.params()[k].data, err_msg=k)
            if isinstance(m, M.MLP):
                for out in outs:
                    np.testing.assert_array_equal(out, expected)
    finally:
        sys.setswitchinterval(old)


class WithBuffer(L.Layer):
    def __init__(self):
        super().__init__()
        self.fc = L.Linear(2, rng=ag.random.const())
        self.register_buffer("running", np.zeros(2))
        self.register_buffer("later", None)

    def forward(self, x):
        y = self.fc(x)
        self.running += y.data.mean(axis=0)
        if self.later is None:
            self.later = np.ones(3)
        return y


def test_state_dict_has_copies_of_parameters_and_buffers():
    net = WithBuffer()
    with pytest.raises(ValueError, match=r"not made yet: \['fc.w', 'later'\].*call it once"):
        net.state_dict()
    net(np.ones((3, 4)))
    state = net.state_dict()
    assert list(state) == ["fc.b", "fc.w", "later", "running"]
    np.testing.assert_array_equal(state["running"], net.running)
    state["fc.w"][...] = 7.0
    state["running"][...] = 7.0
    assert not np.any(net.fc.w.data == 7.0) and not np.any(net.running == 7.0)
    assert list(net.params()) == ["fc.b", "fc.w"]  # buffers are not parameters
    with pytest.raises(TypeError, match="running is a buffer"):
        net.running = [1, 2]


def test_load_state_dict_writes_buffers_in_place_and_makes_lazy_parameters():
    src = WithBuffer()
    src(np.ones((3, 4)))
    dst = WithBuffer()
    held = dst.running
    dst.load_state_dict(src.state_dict())
    assert dst.running is held  # in place
    np.testing.assert_array_equal(dst.running, src.running)
    assert dst.fc.w.shape == (4, 2) and dst.fc.in_size == 4
    x = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_array_equal(dst.fc(x).data, src.fc(x).data)


def test_load_state_dict_checks_everything_first():
    m = M.MLP([4, 1], rng=ag.random.const())
    m(np.ones((2, 3)))
    good = m.state_dict()
    before = m.state_dict()
    with pytest.raises(ValueError, match=r"does not: \['bogus'\]"):
        m.load_state_dict({**good, "bogus": np.ones(1)})
    with pytest.raises(ValueError, match=r"lacks parameters of this model: \['linear\[1\].w'\]"):
        m.load_state_dict({k: v for k, v in good.items() if k != "linear[1].w"})
    bad = dict(good, **{"linear[0].b": np.zeros((1, 4)), "linear[1].w": np.zeros((5, 1))})
    with pytest.raises(
        ValueError, match=r"linear\[1\].w has shape \(5, 1\) in the state dict, \(4, 1\)"
    ):
        m.load_state_dict(bad)
    with pytest.raises(ValueError, match="dtype float32"):
        m.load_state_dict({k: v.astype(np.float32) for k, v in good.items()})
    with pytest.raises(TypeError, match="mapping"):
        m.load_state_dict([1, 2])
    for k, v in m.state_dict().items():  # nothing changed
        np.testing.assert_array_equal(v, before[k])
    # not strict: unknown names ignored, missing ones kept
    m.load_state_dict({"linear[0].b": np.full((1, 4), 2.0), "bogus": np.ones(1)}, strict=False)
    np.testing.assert_array_equal(m.linear0.b.data, np.full((1, 4), 2.0))
    np.testing.assert_array_equal(m.linear1.w.data, before["linear[1].w"])
    # a lazy weight is made only with a shape the layer can take
    lazy = M.MLP([4, 1])
    with pytest.raises(ValueError, match=r"linear\[0\].w has shape \(3, 5\).*expects \(in, 4\)"):
        lazy.load_state_dict(dict(good, **{"linear[0].w": np.ones((3, 5))}))
    assert lazy.linear0.w is None


def test_save_of_an_uncalled_lazy_model_is_refused(tmp_path):
    """The issue: saving before the first call saved only the biases, and loading it worked."""
    m = M.MLP([8, 1], rng=ag.random.const())
    with pytest.raises(
        ValueError,
        match=r"save: MLP has parameters that are not made yet: "
        r"\['linear\[0\].w', 'linear\[1\].w'\]",
    ):
        m.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []
    np.savez(tmp_path / "biases.npz", **{k: v.data for k, v in m.params().items()})
    with pytest.raises(
        ValueError,
        match=r"lacks parameters of this model: \['linear\[0\].w', "
        r"'linear\[1\].w'\]",
    ):
        M.MLP([8, 1]).load(tmp_path / "biases.npz")


def test_load_into_a_lazy_model_makes_its_parameters(tmp_path):
    m = M.LSTM(5, 1, rng=ag.random.const())
    m(np.ones((2, 3)))
    m.save(tmp_path / "lstm.npz")
    fresh = M.LSTM(5, 1, rng=ag.random.const(7))
    assert fresh.lstm.x2f.w is None
    fresh.load(tmp_path / "lstm.npz")
    assert fresh.lstm.x2f.w.shape == (3, 5) and fresh.lstm.x2f.in_size == 3
    m.reset_state()
    x = np.random.default_rng(0).normal(size=(2, 3))
    np.testing.assert_array_equal(fresh(x).data, m(x).data)


def test_every_layer_saves_and_loads(tmp_path):
    fc = L.Linear(3, in_size=2, rng=ag.random.const())
    fc.save(tmp_path / "fc.npz")
    other = L.Linear(3)
    other.load(tmp_path / "fc.npz")
    np.testing.assert_array_equal(other.w.data, fc.w.data)


# ---------------------------------------------------------------- the surprises


def test_step_without_parameters_says_what_to_do():
    for name, make in OPTIMIZERS.items():
        with pytest.raises(TypeError, match=rf"{name}.step\(\) has no parameters.*update\(model\)"):
            make().step()


def test_adam_lr_is_read_by_every_update_and_never_overwritten():
    m = M.MLP([4, 1], rng=ag.random.const())
    x = np.ones((3, 2))
    opt = O.Adam(lr=0.01)
    assert opt.lr == opt.alpha == 0.01
    assert O.Adam(alpha=0.02).lr == 0.02 and O.Adam().lr == 0.001
    with pytest.raises(TypeError, match="not both"):
        O.Adam(lr=0.1, alpha=0.1)
    for _ in range(3):
        F.sum(m(x)).backward()
        opt.update(m)
        assert opt.lr == 0.01  # not overwritten
    opt.lr = 0.0  # read by the next update
    before = m.state_dict()
    m.cleargrads()
    F.sum(m(x)).backward()
    opt.update(m)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_learning_rate_may_still_come_first():
    assert O.SGD(0.2).lr == 0.2 and O.Adam(0.003).lr == 0.003 and O.RMSprop(0.5).lr == 0.5
    with pytest.raises(TypeError, match="first argument is the parameters"):
        O.SGD(0.1, lr=0.2)
    with pytest.raises(TypeError, match="params must be"):
        O.SGD("weights")
    with pytest.raises(TypeError, match="must be Variables"):
        O.Adam([np.ones(2)])
    with pytest.raises(ValueError, match="empty"):
        O.Adam([])


def test_model_argument_errors_name_the_argument():
    with pytest.raises(TypeError, match="MLP: sizes must be a list"):
        M.MLP(10)
    with pytest.raises(ValueError, match=r"MLP: sizes\[1\] must be a positive int, got -3"):
        M.MLP([4, -3])
    with pytest.raises(TypeError, match=r"MLP: sizes\[0\]"):
        M.MLP([2.5])
    with pytest.raises(ValueError, match="LSTM: out_size must be a positive int"):
        M.LSTM(4, -1)
    with pytest.raises(ValueError, match="LSTM: hidden_size"):
        M.LSTM(-4, 1)
    with pytest.raises(ValueError, match="Linear: dtype must be float32 or float64"):
        L.Linear(3, dtype=np.int32)


def test_submodules_are_reachable_after_import_autograd():
    code = (
        "import autograd as ag\n"
        "print(ag.hooks.ClipGrad, ag.layers.Linear, ag.models.MLP, ag.optimizers.Adam, "
        "ag.functions.relu)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "ClipGrad" in out.stdout and "relu" in out.stdout


# ---------------------------------------------------------------- optimizers


def test_parameters_given_at_construction():
    x0, x1 = ag.Variable(0.0), ag.Variable(2.0)
    opt = O.SGD([x0, x1, x0], lr=0.001)  # a repeat counts once
    for _ in range(1000):  # Rosenbrock, as the seed
        y = 100 * (x1 - x0**2) ** 2 + (1 - x0) ** 2
        x0.cleargrad()
        x1.cleargrad()
        y.backward()
        opt.step()
    assert abs(x0.item() - 0.6837) < 1e-3 and abs(x1.item() - 0.4659) < 1e-3
    m = M.MLP([4, 1], rng=ag.random.const())  # a model: lazy weights join later
    opt = O.Adam(m, lr=0.01)
    F.sum(m(np.ones((2, 3)))).backward()
    opt.step()
    assert len(opt.state) == 4


def test_optimizers_only_move_parameters_with_gradients_and_keep_float32():
    for name, make in OPTIMIZERS.items():
        p = L.Parameter(np.array([1.0, 2.0], np.float32))
        q = L.Parameter(np.array([1.0, 2.0], np.float32))
        opt = make([p, q])
        p.grad = np.array([0.1, -0.2], np.float32)
        opt.step()
        assert p.dtype == np.float32 and not np.array_equal(p.data, [1.0, 2.0]), name
        np.testing.assert_array_equal(q.data, [1.0, 2.0])


def rmsprop_by_hand(p, grads, lr, alpha, eps):
    v = 0.0
    for g in grads:
        v = alpha * v + (1 - alpha) * g * g
        p = p - lr * g / (math.sqrt(v) + eps)
    return p


def adagrad_by_hand(p, grads, lr, eps):
    s = 0.0
    for g in grads:
        s = s + g * g
        p = p - lr * g / (math.sqrt(s) + eps)
    return p


def test_rmsprop_and_adagrad_by_hand():
    grads = [0.5, -0.2, 0.3, 1.5]
    for opt, expected in (
        (O.RMSprop(lr=0.01, alpha=0.9, eps=1e-6), rmsprop_by_hand(1.0, grads, 0.01, 0.9, 1e-6)),
        (O.Adagrad(lr=0.1, eps=1e-10), adagrad_by_hand(1.0, grads, 0.1, 1e-10)),
    ):
        p = L.Parameter(np.array([1.0]))
        for g in grads:
            p.grad = np.array([g])
            opt.update_one(p, p.grad.data)
        np.testing.assert_allclose(p.data, [expected], rtol=1e-14)


def test_rmsprop_and_adagrad_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    start = rng.normal(size=(4, 3))
    grads = [rng.normal(size=(4, 3)) for _ in range(5)]
    for ours, theirs in (
        (
            lambda ps: O.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-8),
            lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-8),
        ),
        (
            lambda ps: O.Adagrad(ps, lr=0.1, eps=1e-10),
            lambda ps: torch.optim.Adagrad(ps, lr=0.1, eps=1e-10),
        ),
    ):
        p = L.Parameter(start.copy())
        t = torch.tensor(start.copy(), requires_grad=True)
        a, b = ours([p]), theirs([t])
        for g in grads:
            p.grad = g.copy()
            a.step()
            t.grad = torch.tensor(g.copy())
            b.step()
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_update_one_with_a_gradient_of_another_shape(name):
    """Reliability 3: update_one with a gradient of another shape reached the kernels."""
    opt = OPTIMIZERS[name]()
    p = L.Parameter(np.ones((3, 4)))
    before = p.data.copy()
    for grad in (np.ones((4, 3)), np.ones(12), np.ones((3, 5)), np.ones((2, 4)), np.ones(1)):
        with pytest.raises(
            ValueError,
            match=r"gradient has shape \(.*\), the parameter has "
            r"shape \(3, 4\)",
        ):
            opt.update_one(p, grad)
    np.testing.assert_array_equal(p.data, before)


@pytest.mark.parametrize("name", ["Momentum", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_optimizer_state_goes_with_dropped_parameters(name):
    """Reliability 19: one optimizer used on many discarded models kept all their state."""
    opt = OPTIMIZERS[name]()
    x = np.ones((4, 64))

    def one_model():
        m = M.MLP([256, 1], rng=np.random.default_rng(0))
        F.sum(m(x)).backward()
        opt.update(m)

    one_model()
    gc.collect()
    tracemalloc.start()
    for _ in range(30):  # 30 models of 2 x 130 kB of state each if kept
        one_model()
    gc.collect()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert current < 1_000_000, f"{current / 1e6:.1f} MB kept by the optimizer"
    assert len(opt.state) <= 4


# ---------------------------------------------------------------- resuming bit for bit


def data():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(32, 3))
    return x, np.sin(x.sum(axis=1, keepdims=True))


def train(model, opt, steps, scheduler=None, given=True):
    x, t = data()
    for _ in range(steps):
        loss = F.mean_squared_error(model(x), t)
        model.cleargrads()
        loss.backward()
        opt.step() if given else opt.update(model)
        if scheduler is not None:
            scheduler.step()


@pytest.mark.parametrize("given", [True, False], ids=["step", "update"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_resumed_training_equals_uninterrupted_bit_for_bit(name, given):
    def fresh(seed):
        m = M.MLP([8, 1], activation=F.tanh, rng=ag.random.const(seed))
        opt = OPTIMIZERS[name](m if given else None)
        opt.hooks = [H.ClipGrad(1.0)]
        return m, opt, O.StepLR(opt, step_size=7, gamma=0.5)

    m, opt, sched = fresh(3)
    train(m, opt, 20, sched, given)
    whole = m.state_dict()

    m1, opt1, sched1 = fresh(3)
    train(m1, opt1, 10, sched1, given)
    saved = (m1.state_dict(), opt1.state_dict(), sched1.state_dict())
    del m1, opt1, sched1

    m2, opt2, sched2 = fresh(11)  # other weights, lazy: the state makes them
    m2.load_state_dict(saved[0])
    opt2.load_state_dict(saved[1])
    sched2.load_state_dict(saved[2])
    train(m2, opt2, 10, sched2, given)
    resumed = m2.state_dict()
    assert opt2.iter == 20
    for k in whole:
        np.testing.assert_array_equal(resumed[k], whole[k], err_msg=k)


def test_optimizer_state_dict_by_name_and_its_checks():
    m = M.MLP([4, 1], rng=ag.random.const())
    opt = O.Adam(m, lr=0.01)
    train(m, opt, 3)
    state = opt.state_dict()
    assert state["type"] == "Adam" and state["iter"] == 3
    assert state["hyper"] == {"lr": 0.01, "beta1": 0.9, "beta2": 0.999}
    assert list(state["state"]) == ["linear[0].b", "linear[0].w", "linear[1].b", "linear[1].w"]
    assert set(state["state"]["linear[0].w"]) == {"m", "v"}
    state["state"]["linear[0].w"]["m"][...] = 9.0  # a copy
    assert not np.any(opt.state_dict()["state"]["linear[0].w"]["m"] == 9.0)
    other = O.Adam(m)
    with pytest.raises(ValueError, match="of a Adam, not a SGD"):
        O.SGD(m).load_state_dict(state)
    bad = opt.state_dict()
    bad["state"]["linear[0].w"]["m"] = np.zeros((2, 2))
    with pytest.raises(
        ValueError,
        match=r"linear\[0\].w/m is float64 \(2, 2\), the parameter "
        r"float64 \(3, 4\)",
    ):
        other.load_state_dict(bad)
    bad = opt.state_dict()
    bad["hyper"]["beta1"] = 1.5
    with pytest.raises(ValueError, match="beta1"):
        other.load_state_dict(bad)
    assert other.iter == 0 and other.lr == 0.001  # unchanged by the failures
    other.load_state_dict(opt.state_dict())
    assert other.lr == 0.01 and other.iter == 3


def test_an_optimizer_of_loose_variables_names_them_by_position():
    a, b = ag.Variable(np.ones(2)), ag.Variable(np.ones(3))
    opt = O.Momentum([a, b])
    a.grad, b.grad = np.ones(2), np.ones(3)
    opt.step()
    assert list(opt.state_dict()["state"]) == ["0", "1"]


# ---------------------------------------------------------------- schedules


def test_schedules():
    opt = O.SGD(lr=1.0)
    s = O.StepLR(opt, step_size=2, gamma=0.5)
    lrs = [opt.lr]
    for _ in range(5):
        s.step()
        lrs.append(opt.lr)
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]

    opt = O.Adam(lr=0.1)
    s = O.CosineLR(opt, total_steps=4, min_lr=0.02)
    lrs = [opt.lr]
    for _ in range(6):
        s.step()
        lrs.append(opt.lr)
    np.testing.assert_allclose(
        lrs,
        [
            0.1,
            0.02 + 0.08 * (1 + math.cos(math.pi / 4)) / 2,
            0.06,
            0.02 + 0.08 * (1 + math.cos(3 * math.pi / 4)) / 2,
            0.02,
            0.02,
            0.02,
        ],
    )

    opt = O.SGD(lr=0.4)
    s = O.WarmupLR(opt, 4)
    lrs = [opt.lr]
    for _ in range(5):
        s.step()
        lrs.append(opt.lr)
    np.testing.assert_allclose(lrs, [0.1, 0.2, 0.3, 0.4, 0.4, 0.4])

    opt = O.SGD(lr=1.0)
    s = O.WarmupLR(opt, 2, then=O.StepLR(opt, 1, gamma=0.5))
    lrs = [opt.lr]
    for _ in range(4):
        s.step()
        lrs.append(opt.lr)
    assert lrs == [0.5, 1.0, 1.0, 0.5, 0.25]


def test_a_schedule_changes_what_the_optimizer_does():
    p = L.Parameter(np.array([0.0]))
    opt = O.SGD([p], lr=1.0)
    s = O.StepLR(opt, step_size=1, gamma=0.1)
    for _ in range(3):
        p.grad = np.array([1.0])
        opt.step()
        s.step()
    np.testing.assert_allclose(p.data, [-1.11])


@pytest.mark.parametrize(
    "make",
    [
        lambda o: O.StepLR(o, 0),
        lambda o: O.StepLR(o, 2, gamma=-1),
        lambda o: O.CosineLR(o, 2.5),
        lambda o: O.WarmupLR(o, -1),
        lambda o: O.CosineLR(o, 3, min_lr=float("nan")),
        lambda o: O.StepLR(object(), 2),
        lambda o: O.WarmupLR(o, 2, then=O.StepLR(O.SGD(), 2)),
    ],
)
def test_schedule_arguments(make):
    with pytest.raises((TypeError, ValueError)):
        make(O.SGD())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_large_and_small_parameters_are_updated_to_the_same_bits(name, dtype):
    """Large arrays take the fused path (axpy, scratch buffers), small ones NumPy's: same bits."""
    rng = np.random.default_rng(1)
    start = rng.normal(size=(64, 64)).astype(dtype)
    big = L.Parameter(start.copy())
    rows = [L.Parameter(start[i].copy()) for i in range(64)]
    opt_big, opt_rows = OPTIMIZERS[name]([big]), OPTIMIZERS[name](rows)
    for _ in range(3):
        g = rng.normal(size=(64, 64)).astype(dtype)
        big.grad = g.copy()
        for i, r in enumerate(rows):
            r.grad = g[i].copy()
        opt_big.step()
        opt_rows.step()
    np.testing.assert_array_equal(big.data, np.stack([r.data for r in rows]))
    assert big.dtype == dtype


# ---------------------------------------------------------------- model and optimizer, one file


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_resumed_from_one_file_equals_uninterrupted_bit_for_bit(name, tmp_path):
    def fresh(seed):
        m = M.MLP([8, 1], activation=F.tanh, rng=ag.random.const(seed))
        return m, OPTIMIZERS[name](m)

    m, opt = fresh(3)
    train(m, opt, 20)
    m1, opt1 = fresh(3)
    train(m1, opt1, 10)
    m1.save(tmp_path / "checkpoint.npz", optimizer=opt1)
    m2, opt2 = fresh(11)  # lazy, other seed: everything comes from the file
    m2.load(tmp_path / "checkpoint.npz", optimizer=opt2)
    train(m2, opt2, 10)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(m2.state_dict()[k], v, err_msg=k)
    # the model alone loads from the same file, the optimizer's part ignored
    m3 = M.MLP([8, 1], activation=F.tanh)
    m3.load(tmp_path / "checkpoint.npz")
    np.testing.assert_array_equal(m3.linear0.w.data, m1.linear0.w.data)


def test_model_and_optimizer_file_is_checked_before_anything_changes(tmp_path):
    m = M.MLP([4, 1], rng=ag.random.const())
    opt = O.Adam(m, lr=0.01)
    train(m, opt, 3)
    m.save(tmp_path / "plain.npz")
    m.save(tmp_path / "with.npz", optimizer=opt)
    other = M.MLP([4, 1], rng=ag.random.const(1))
    other(np.ones((1, 3)))
    before = other.state_dict()
    fresh = O.Adam(other, lr=0.5)

    def unchanged():
        for k, v in other.state_dict().items():
            np.testing.assert_array_equal(v, before[k])
        assert fresh.iter == 0 and fresh.lr == 0.5 and len(fresh.state) == 0

    with pytest.raises(ValueError, match="holds no optimizer state"):
        other.load(tmp_path / "plain.npz", optimizer=fresh)
    unchanged()
    with pytest.raises(ValueError, match="of a Adam, not a SGD"):
        other.load(tmp_path / "with.npz", optimizer=O.SGD(other))
    unchanged()
    arrays = dict(np.load(tmp_path / "with.npz"))
    arrays["optimizer:state:linear[1].w:m"] = np.zeros((2, 2))
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=r"optimizer:state:linear\[1\].w:m is float64 \(2, 2\)"):
        other.load(tmp_path / "bad.npz", optimizer=fresh)
    unchanged()
    with pytest.raises(TypeError, match="optimizer must be"):
        m.save(tmp_path / "x.npz", optimizer="adam")
    other.load(tmp_path / "with.npz", optimizer=fresh)
    assert fresh.iter == 3 and fresh.lr == 0.01
    state, expected = fresh.state_dict()["state"], opt.state_dict()["state"]
    for name in expected:
        for slot in ("m", "v"):
            np.testing.assert_array_equal(state[name][slot], expected[name][slot])


def test_freezing_a_lazy_layer_freezes_what_it_makes_later():
    fc = L.Linear(2)
    fc.requires_grad_(False)
    fc(np.ones((1, 3)))
    assert fc.W.requires_grad is False and fc.b.requires_grad is False
    m = M.MLP([4, 1])
    m.requires_grad_(False)
    m(np.ones((2, 3)))
    assert not any(p.requires_grad for p in m.params().values())
    m.requires_grad_(True)
    assert all(p.requires_grad for p in m.params().values())


def test_sgd_updates_with_a_read_only_broadcast_gradient():
    fc = L.Linear(3, rng=np.random.default_rng(0))
    F.sum(fc(np.ones((1, 2)))).backward()  # the bias gradient: a broadcast view
    before = fc.b.data.copy()
    O.SGD(lr=0.5).update(fc)
    np.testing.assert_allclose(fc.b.data, before - 0.5)
