"""The seed's LSTM workload (seed 003): hidden 100, batch 30, bptt 30 on the noisy
sine (N=1000), SGD lr 0.01, the same data and initial weights in every library,
PyTorch written op for op (eight Linear gates, not nn.LSTM).

    python benchmarks/lstm.py [--epochs N] [--rounds R]
"""

import argparse

import harness
import numpy as np

HIDDEN, BATCH, BPTT, LR, N, NOISE = 100, 30, 30, 0.01, 1000, 0.05
GATES = [f"x2{g}" for g in "fiou"] + [f"h2{g}" for g in "fiou"]


def problem():
    import autograd as ag
    import autograd.models as M

    s = ag.random.const()
    grid = 2 * np.pi * (np.arange(N) / (N - 1))
    y = np.sin(grid) + s.random(N) * (2 * NOISE) - NOISE
    data, label = y[:-1], y[1:]
    m = M.LSTM(HIDDEN, 1, rng=s)
    m(np.zeros((BATCH, 1)))
    m(np.zeros((BATCH, 1)))
    init = {k: v.data.copy() for k, v in m.params().items()}
    xs = [data[b : b + BATCH].reshape(-1, 1) for b in range(0, len(data) - BATCH + 1, BATCH)]
    ts = [label[b : b + BATCH].reshape(-1, 1) for b in range(0, len(data) - BATCH + 1, BATCH)]
    return xs, ts, init


def run_autograd(xs, ts, init, epochs):
    import autograd as ag
    import autograd.functions as F
    import autograd.models as M
    import autograd.optimizers as O

    m = M.LSTM(HIDDEN, 1)
    m(np.zeros((BATCH, 1)))
    m(np.zeros((BATCH, 1)))
    for k, p in m.params().items():
        p.data = init[k].copy()
    o = O.SGD(lr=LR)
    for _ in range(epochs):
        m.reset_state()
        loss, count = ag.variable(0.0), 0
        for x, t in zip(xs, ts):
            loss = loss + F.mean_squared_error(m(x), t)
            count += 1
            if count % BPTT == 0:
                m.cleargrads()
                loss.backward()
                loss.unchain_backward()
                o.update(m)
    return float(loss.data[0]) / count


def run_torch(torch, xs, ts, init, epochs):
    p = {k: torch.tensor(v, requires_grad=True) for k, v in init.items()}
    xs = [torch.tensor(x) for x in xs]
    ts = [torch.tensor(t) for t in ts]

    def lin(name, v):
        y = v @ p[name + ".w"]
        b = p.get(name + ".b")
        return y if b is None else y + b

    for _ in range(epochs):
        h = c = None
        loss, count = torch.zeros(1, dtype=torch.float64), 0
        for x, t in zip(xs, ts):
            if h is None:
                f, i = torch.sigmoid(lin("lstm.x2f", x)), torch.sigmoid(lin("lstm.x2i", x))
                o, u = torch.sigmoid(lin("lstm.x2o", x)), torch.tanh(lin("lstm.x2u", x))
                c = i * u
            else:
                f = torch.sigmoid(lin("lstm.x2f", x) + lin("lstm.h2f", h))
                i = torch.sigmoid(lin("lstm.x2i", x) + lin("lstm.h2i", h))
                o = torch.sigmoid(lin("lstm.x2o", x) + lin("lstm.h2o", h))
                u = torch.tanh(lin("lstm.x2u", x) + lin("lstm.h2u", h))
                c = f * c + i * u
            h = o * torch.tanh(c)
            y = lin("linear", h)
            loss = loss + ((y - t) ** 2).sum() / y.numel()
            count += 1
            if count % BPTT == 0:
                for v in p.values():
                    v.grad = None
                loss.backward()
                loss, h, c = loss.detach(), h.detach(), c.detach()
                with torch.no_grad():
                    for v in p.values():
                        if v.grad is not None:
                            v -= LR * v.grad
    return float(loss.detach()) / count


def run_dezero(dz, xs, ts, init, epochs):
    import dezero.functions as DF
    import dezero.layers as DL
    import dezero.optimizers as DO
    from dezero import Model

    class Net(Model):
        def __init__(self):
            super().__init__()
            self.lstm = DL.LSTM(HIDDEN)
            self.linear = DL.Linear(1)

        def reset_state(self):
            self.lstm.reset_state()

        def forward(self, v):
            return self.linear(self.lstm(v))

    m = Net()
    m(xs[0])
    m(xs[0])
    m.reset_state()
    for name in GATES + ["linear"]:
        layer = getattr(m.lstm, name) if name != "linear" else m.linear
        key = f"lstm.{name}" if name != "linear" else "linear"
        layer.W.data = init[key + ".w"].copy()
        if layer.b is not None:
            layer.b.data = init[key + ".b"].reshape(-1).copy()
    o = DO.SGD(lr=LR).setup(m)
    for _ in range(epochs):
        m.reset_state()
        loss, count = 0, 0
        for x, t in zip(xs, ts):
            loss = loss + DF.mean_squared_error(m(x), t)
            count += 1
            if count % BPTT == 0:
                m.cleargrads()
                loss.backward()
                loss.unchain_backward()
                o.update()
    return float(loss.data) / count


def jax_runner(jax, xs, ts, init, epochs):
    """A BPTT window (forward, gradient and update) jitted and compiled once, and the
    steps after the last full window (forward only); the epochs in Python."""
    jnp = jax.numpy

    def lin(p, name, v):
        y = v @ p[name + ".w"]
        b = p.get(name + ".b")
        return y if b is None else y + b

    def cell(p, h, c, x):
        if h is None:  # the seed's first step: no hidden state, no h2* products
            f, i = jax.nn.sigmoid(lin(p, "lstm.x2f", x)), jax.nn.sigmoid(lin(p, "lstm.x2i", x))
            o, u = jax.nn.sigmoid(lin(p, "lstm.x2o", x)), jnp.tanh(lin(p, "lstm.x2u", x))
            c = i * u
        else:
            f = jax.nn.sigmoid(lin(p, "lstm.x2f", x) + lin(p, "lstm.h2f", h))
            i = jax.nn.sigmoid(lin(p, "lstm.x2i", x) + lin(p, "lstm.h2i", h))
            o = jax.nn.sigmoid(lin(p, "lstm.x2o", x) + lin(p, "lstm.h2o", h))
            u = jnp.tanh(lin(p, "lstm.x2u", x) + lin(p, "lstm.h2u", h))
            c = f * c + i * u
        h = o * jnp.tanh(c)
        return h, c

    def forward(p, h, c, xw, tw):
        loss = 0.0
        for k in range(xw.shape[0]):  # unrolled: the window's length is fixed
            h, c = cell(p, h, c, xw[k])
            y = lin(p, "linear", h)
            loss = loss + ((y - tw[k]) ** 2).sum() / y.size
        return loss, (h, c)

    @jax.jit
    def window(p, h, c, xw, tw):
        (loss, (h, c)), g = jax.value_and_grad(forward, has_aux=True)(p, h, c, xw, tw)
        return jax.tree_util.tree_map(lambda v, gv: v - LR * gv, p, g), h, c, loss

    tail = jax.jit(forward)
    whole = len(xs) // BPTT * BPTT
    xw = [jnp.asarray(np.stack(xs[b : b + BPTT])) for b in range(0, whole, BPTT)]
    tw = [jnp.asarray(np.stack(ts[b : b + BPTT])) for b in range(0, whole, BPTT)]
    rest = len(xs) > whole  # steps after the last full window: forward only, as the seed
    xt, tt = (
        (jnp.asarray(np.stack(xs[whole:])), jnp.asarray(np.stack(ts[whole:])))
        if rest
        else (None, None)
    )
    start = {k: jnp.asarray(v) for k, v in init.items()}

    def epoch(p):
        h = c = None
        total = 0.0
        for x, t in zip(xw, tw):
            p, h, c, loss = window(p, h, c, x, t)
            total = total + loss
        if rest:
            total = total + tail(p, h, c, xt, tt)[0]
        return p, total

    jax.block_until_ready(epoch(start))  # compiles each window's form and the tail

    def run():
        p = start
        for _ in range(epochs):
            p, total = epoch(p)
        return float(total) / len(xs)

    return run


def runners(epochs):
    xs, ts, init = problem()
    return harness.installed(
        lambda: run_autograd(xs, ts, init, epochs),
        pytorch=lambda torch: lambda: run_torch(torch, xs, ts, init, epochs),
        dezero=lambda dz: lambda: run_dezero(dz, xs, ts, init, epochs),
        jax=lambda jax: jax_runner(jax, xs, ts, init, epochs),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    measured = harness.compare(runners(args.epochs), args.rounds)
    expected = harness.agree(measured, 1e-6)
    print(harness.machine())
    harness.report(
        f"Seed LSTM, hidden {HIDDEN}, batch {BATCH}, bptt {BPTT}, {args.epochs} epochs; "
        f"final loss {expected:.8f}",
        measured,
        per=args.epochs,
        unit="epoch",
    )
    return measured


if __name__ == "__main__":
    main()
