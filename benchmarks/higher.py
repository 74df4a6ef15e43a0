"""Higher-order workloads (seed 004), each run many times in one process with the
cyclic collector on, as users run them:

- tanh's 10th derivative by repeated ``grad(create_graph=True)`` (the graph grows with
  each order), 20 runs: ours with ``ag.grad`` (and the seed's backward/cleargrad loop),
  PyTorch with ``torch.autograd.grad`` on a 0-d tensor, as its users write it;
- Newton's method, 10 steps of double differentiation on a scalar, 1,000 runs;
- Hessians of the Rosenbrock function in 2 and in 100 dimensions, ours with
  ``autograd.functional.hessian`` against ``torch.func.hessian``.

    python benchmarks/higher.py [--rounds R]
"""

import argparse

import harness
import numpy as np

ORDER = 10
TANH_RUNS = 20
NEWTON_RUNS = 1000
HESSIAN_RUNS = {2: 200, 100: 20}


# ------------------------------------------------------------------ tanh's 10th derivative

# Each run is a function call, as in a program: its graph goes when the call returns.


def tanh_autograd_once(order=ORDER):
    import autograd as ag
    import autograd.functions as F

    x = ag.variable(1.0)
    g = F.tanh(x)
    for _ in range(order):
        g = ag.grad(g, x, create_graph=True)
    return g.item()


def tanh_autograd(order=ORDER, runs=TANH_RUNS):
    for _ in range(runs):
        value = tanh_autograd_once(order)
    return value


def tanh_autograd_backward_once(order=ORDER):
    """The seed's way: backward(create_graph=True) and cleargrad()."""
    import autograd as ag
    import autograd.functions as F

    x = ag.variable(1.0)
    F.tanh(x).backward(create_graph=True)
    for _ in range(order - 1):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
    return x.grad.item()


def tanh_autograd_backward(order=ORDER, runs=TANH_RUNS):
    for _ in range(runs):
        value = tanh_autograd_backward_once(order)
    return value


def tanh_torch_once(torch, order=ORDER):
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    g = torch.tanh(x)
    for _ in range(order):
        (g,) = torch.autograd.grad(g, x, create_graph=True)
    return g.item()


def tanh_torch(torch, order=ORDER, runs=TANH_RUNS):
    for _ in range(runs):
        value = tanh_torch_once(torch, order)
    return value


def tanh_dezero(dz, order=ORDER, runs=TANH_RUNS):
    import dezero.functions as DF

    for _ in range(runs):
        x = dz.Variable(np.array(1.0))
        y = DF.tanh(x)
        y.backward(create_graph=True)
        for _ in range(order - 1):
            gx = x.grad
            x.cleargrad()
            gx.backward(create_graph=True)
    return float(x.grad.data)


# ------------------------------------------------------------------ Newton's method


def newton_autograd(runs=NEWTON_RUNS):
    import autograd as ag

    for _ in range(runs):
        x = ag.variable(2.0)
        for _ in range(10):
            y = x**4.0 - 2 * x**2.0
            gx = ag.grad(y, x, create_graph=True)
            gx2 = ag.grad(gx, x)
            x.data = x.data - gx.data / gx2.data
    return x.item()


def newton_torch(torch, runs=NEWTON_RUNS):
    for _ in range(runs):
        x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
        for _ in range(10):
            y = x**4.0 - 2 * x**2.0
            (gx,) = torch.autograd.grad(y, x, create_graph=True)
            (gx2,) = torch.autograd.grad(gx, x)
            with torch.no_grad():
                x -= gx / gx2
    return x.item()


def newton_dezero(dz, runs=NEWTON_RUNS):
    for _ in range(runs):
        x = dz.Variable(np.array(2.0))
        for _ in range(10):
            y = x**4 - 2 * x**2
            x.cleargrad()
            y.backward(create_graph=True)
            gx = x.grad
            x.cleargrad()
            gx.backward()
            x.data = x.data - gx.data / x.grad.data
    return float(x.data)


# ------------------------------------------------------------------ Hessians


def rosenbrock(v, lib):
    """sum(100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2), written once for both libraries."""
    a = v[1:]
    b = v[:-1]
    return lib.sum(100 * (a - b**2.0) ** 2.0 + (1 - b) ** 2.0)


def start(n):
    return np.linspace(-1.2, 1.0, n)


def hessian_autograd(n, runs):
    import autograd.functions as F
    from autograd.functional import hessian

    x = start(n)
    h = hessian(lambda v: rosenbrock(v, F))
    for _ in range(runs):
        H = h(x)
    return H.data


def hessian_torch(torch, n, runs):
    import torch.func

    x = torch.tensor(start(n), dtype=torch.float64)
    h = torch.func.hessian(lambda v: rosenbrock(v, torch))
    for _ in range(runs):
        H = h(x)
    return H.numpy()


# ------------------------------------------------------------------ JAX: each computation jitted


def tanh_jax(jax, order=ORDER, runs=TANH_RUNS):
    g = jax.numpy.tanh
    for _ in range(order):
        g = jax.grad(g)
    g = jax.jit(g)
    one = jax.numpy.float64(1.0)
    jax.block_until_ready(g(one))

    def run():
        for _ in range(runs):
            value = float(g(one))
        return value

    return run


def newton_jax(jax, runs=NEWTON_RUNS):
    f = lambda x: x**4.0 - 2 * x**2.0
    g = jax.grad(f)
    step = jax.jit(lambda x: x - g(x) / jax.grad(g)(x))
    two = jax.numpy.float64(2.0)
    jax.block_until_ready(step(two))

    def run():
        for _ in range(runs):
            x = two
            for _ in range(10):
                x = step(x)
        return float(x)

    return run


def hessian_jax(jax, n, runs):
    h = jax.jit(jax.hessian(lambda v: rosenbrock(v, jax.numpy)))
    x = jax.numpy.asarray(start(n))
    jax.block_until_ready(h(x))

    def run():
        for _ in range(runs):
            H = h(x)
        return np.asarray(H)

    return run


# ------------------------------------------------------------------ runners


def tanh_runners():
    runners = harness.installed(
        tanh_autograd,
        pytorch=lambda torch: lambda: tanh_torch(torch),
        dezero=lambda dz: lambda: tanh_dezero(dz),
        jax=tanh_jax,
    )
    runners["autograd (backward)"] = tanh_autograd_backward
    return runners


def newton_runners():
    return harness.installed(
        newton_autograd,
        pytorch=lambda torch: lambda: newton_torch(torch),
        dezero=lambda dz: lambda: newton_dezero(dz),
        jax=newton_jax,
    )


def hessian_runners(n):
    runs = HESSIAN_RUNS[n]
    return harness.installed(
        lambda: hessian_autograd(n, runs),
        pytorch=lambda torch: lambda: hessian_torch(torch, n, runs),
        jax=lambda jax: hessian_jax(jax, n, runs),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(harness.machine())
    m = harness.compare(tanh_runners(), args.rounds)
    value = harness.agree(m, 1e-9)
    harness.report(
        f"tanh's {ORDER}th derivative at 1 = {value:.6g}, {TANH_RUNS} runs (goal: >= 2x PyTorch)",
        m,
        per=TANH_RUNS,
        unit="run",
    )
    m = harness.compare(newton_runners(), args.rounds)
    value = harness.agree(m, 1e-9)
    harness.report(
        f"Newton's method, {NEWTON_RUNS} runs of 10 steps; x = {value} (goal: >= 10x PyTorch)",
        m,
        per=NEWTON_RUNS,
        unit="run",
    )
    for n, runs in HESSIAN_RUNS.items():
        m = harness.compare(hessian_runners(n), args.rounds)
        harness.agree(m, 1e-9)
        harness.report(
            f"Hessian of the {n}-D Rosenbrock function, {runs} runs; "
            f"torch.func.hessian for PyTorch (goal: >= 1x)",
            m,
            per=runs,
            unit="run",
        )


if __name__ == "__main__":
    main()
