"""The seed's MLP workload (seed 003): 1-10-1 with ReLU, batch 100, SGD lr 0.2,
1,000 steps, the same initial weights in every library.

    python benchmarks/mlp.py [--steps N] [--rounds R]
"""

import argparse

import harness

LR = 0.2


def problem():
    """Data and initial weights from the seed's source, as the seed example draws them."""
    import autograd as ag
    import autograd.functions as F
    import autograd.models as M

    s = ag.random.const()
    m = M.MLP([10, 1], activation=F.relu, rng=s)
    x = ag.rand((100, 1), rng=s).data
    t = ag.rand((100, 1), rng=s).data
    m(x)
    return x, t, {k: v.data.copy() for k, v in m.params().items()}


def run_autograd(x, t, init, steps):
    import autograd.functions as F
    import autograd.models as M
    import autograd.optimizers as O

    m = M.MLP([10, 1], activation=F.relu)
    m(x)
    for k, p in m.params().items():
        p.data = init[k].copy()
    o = O.SGD(lr=LR)
    for _ in range(steps):  # data as arrays: constants, no gradient (as in PyTorch)
        loss = F.mean_squared_error(m(x), t)
        m.cleargrads()
        loss.backward()
        o.update(m)
    return float(loss.data)


def run_torch(torch, x, t, init, steps):
    p = {k: torch.tensor(v, requires_grad=True) for k, v in init.items()}
    xt, tt = torch.tensor(x), torch.tensor(t)
    for _ in range(steps):
        h = torch.relu(xt @ p["linear[0].w"] + p["linear[0].b"])
        y = h @ p["linear[1].w"] + p["linear[1].b"]
        loss = ((y - tt) ** 2).sum() / y.numel()
        for v in p.values():
            v.grad = None
        loss.backward()
        with torch.no_grad():
            for v in p.values():
                v -= LR * v.grad
    return float(loss.detach())


def jax_runner(jax, x, t, init, steps):
    """JAX's runner: the loss below, its SGD step jitted (``harness.jax_sgd``)."""

    def loss_of(p, x, t):
        h = jax.nn.relu(x @ p["linear[0].w"] + p["linear[0].b"])
        y = h @ p["linear[1].w"] + p["linear[1].b"]
        return ((y - t) ** 2).sum() / y.size

    return harness.jax_sgd(jax, loss_of, x, t, init, steps, LR)


def run_dezero(dz, x, t, init, steps):
    import dezero.functions as DF
    import dezero.layers as DL
    import dezero.optimizers as DO
    from dezero import Model

    class MLP(Model):
        def __init__(self):
            super().__init__()
            self.l0 = DL.Linear(10)
            self.l1 = DL.Linear(1)

        def forward(self, v):
            return self.l1(DF.relu(self.l0(v)))

    m = MLP()
    m(x)
    for i in (0, 1):
        layer = getattr(m, f"l{i}")
        layer.W.data = init[f"linear[{i}].w"].copy()
        layer.b.data = init[f"linear[{i}].b"].reshape(-1).copy()
    o = DO.SGD(lr=LR).setup(m)
    for _ in range(steps):
        loss = DF.mean_squared_error(m(x), t)
        m.cleargrads()
        loss.backward()
        o.update()
    return float(loss.data)


def runners(steps):
    x, t, init = problem()
    return harness.installed(
        lambda: run_autograd(x, t, init, steps),
        pytorch=lambda torch: lambda: run_torch(torch, x, t, init, steps),
        dezero=lambda dz: lambda: run_dezero(dz, x, t, init, steps),
        jax=lambda jax: jax_runner(jax, x, t, init, steps),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    measured = harness.compare(runners(args.steps), args.rounds)
    expected = harness.agree(measured, 1e-9)
    print(harness.machine())
    harness.report(
        f"Seed MLP 1-10-1, batch 100, {args.steps} steps; final loss {expected:.8f}",
        measured,
        per=args.steps,
        unit="step",
    )
    return measured


if __name__ == "__main__":
    main()
