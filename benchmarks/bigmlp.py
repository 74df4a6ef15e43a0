"""A BLAS-bound workload: MLP 784-512-512-10 with ReLU, batch 256, softmax cross
entropy, SGD lr 0.01, 50 steps; float64 and float32; the same data and initial
weights in every library. Also times the workload's matrix products alone (the
floor any library can reach).

    python benchmarks/bigmlp.py [--dtype float64|float32] [--steps N] [--rounds R]
"""

import argparse

import harness
import numpy as np

SIZES = (784, 512, 512, 10)
BATCH, LR = 256, 0.01


def problem(dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, SIZES[0])).astype(dtype)
    t = rng.integers(0, SIZES[-1], size=BATCH)
    init = {}
    for i, (a, b) in enumerate(zip(SIZES, SIZES[1:])):
        init[f"linear[{i}].w"] = (rng.normal(size=(a, b)) / np.sqrt(a)).astype(dtype)
        init[f"linear[{i}].b"] = np.zeros((1, b), dtype=dtype)
    return x, t, init


def run_autograd(x, t, init, steps):
    import autograd.functions as F
    import autograd.models as M
    import autograd.optimizers as O

    m = M.MLP(SIZES[1:], activation=F.relu, dtype=x.dtype)
    m(x)
    for k, p in m.params().items():
        p.data = init[k].copy()
    o = O.SGD(lr=LR)
    for _ in range(steps):  # data as arrays: constants, no gradient (as in PyTorch)
        loss = F.softmax_cross_entropy(m(x), t)
        m.cleargrads()
        loss.backward()
        o.update(m)
    return float(loss.data)


def run_torch(torch, x, t, init, steps):
    p = {k: torch.tensor(v, requires_grad=True) for k, v in init.items()}
    xt, tt = torch.tensor(x), torch.tensor(t)
    for _ in range(steps):
        h = torch.relu(xt @ p["linear[0].w"] + p["linear[0].b"])
        h = torch.relu(h @ p["linear[1].w"] + p["linear[1].b"])
        y = h @ p["linear[2].w"] + p["linear[2].b"]
        loss = torch.nn.functional.cross_entropy(y, tt)
        for v in p.values():
            v.grad = None
        loss.backward()
        with torch.no_grad():
            for v in p.values():
                v -= LR * v.grad
    return float(loss.detach())


def run_dezero(dz, x, t, init, steps):
    import dezero.functions as DF
    import dezero.layers as DL
    import dezero.optimizers as DO
    from dezero import Model

    class MLP(Model):
        def __init__(self):
            super().__init__()
            self.layers = [DL.Linear(n) for n in SIZES[1:]]
            for i, layer in enumerate(self.layers):
                setattr(self, f"l{i}", layer)

        def forward(self, v):
            for layer in self.layers[:-1]:
                v = DF.relu(layer(v))
            return self.layers[-1](v)

    m = MLP()
    m(x)
    for i, layer in enumerate(m.layers):
        layer.W.data = init[f"linear[{i}].w"].copy()
        layer.b.data = init[f"linear[{i}].b"].reshape(-1).copy()
    o = DO.SGD(lr=LR).setup(m)
    for _ in range(steps):
        loss = DF.softmax_cross_entropy(m(x), t)
        m.cleargrads()
        loss.backward()
        o.update()
    return float(loss.data)


def jax_runner(jax, x, t, init, steps):
    """JAX's runner: the loss below, its SGD step jitted (``harness.jax_sgd``)."""
    jnp = jax.numpy

    def loss_of(p, x, t):
        h = jax.nn.relu(x @ p["linear[0].w"] + p["linear[0].b"])
        h = jax.nn.relu(h @ p["linear[1].w"] + p["linear[1].b"])
        y = h @ p["linear[2].w"] + p["linear[2].b"]
        return -jnp.take_along_axis(jax.nn.log_softmax(y), t[:, None], axis=1).mean()

    return harness.jax_sgd(jax, loss_of, x, t, init, steps, LR)


def run_matmuls(x, t, init, steps):
    """The workload's matrix products alone: 3 forward, 5 backward (no input gradient)."""
    w = [init[f"linear[{i}].w"] for i in range(3)]
    h1 = x @ w[0]
    h2 = h1 @ w[1]
    y = h2 @ w[2]
    for _ in range(steps):
        h1 = x @ w[0]
        h2 = h1 @ w[1]
        y = h2 @ w[2]
        g2 = y @ w[2].T
        _ = h2.T @ y
        g1 = g2 @ w[1].T
        _ = h1.T @ g2
        _ = x.T @ g1
    return None


def runners(dtype, steps):
    x, t, init = problem(np.dtype(dtype))
    out = harness.installed(
        lambda: run_autograd(x, t, init, steps),
        pytorch=lambda torch: lambda: run_torch(torch, x, t, init, steps),
        dezero=lambda dz: lambda: run_dezero(dz, x, t, init, steps),
        jax=lambda jax: jax_runner(jax, x, t, init, steps),
    )
    out["matmul only"] = lambda: run_matmuls(x, t, init, steps)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    measured = harness.compare(runners(args.dtype, args.steps), args.rounds)
    loss = harness.agree(measured, 1e-6 if args.dtype == "float64" else 1e-3)
    print(harness.machine())
    harness.report(
        f"MLP 784-512-512-10, batch 256, {args.steps} steps, {args.dtype}; final loss {loss:.6f}",
        measured,
        per=args.steps,
        unit="step",
    )


if __name__ == "__main__":
    main()
