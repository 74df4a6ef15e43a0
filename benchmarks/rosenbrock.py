"""The seed's Rosenbrock loop (seed 002): 10,000 gradient-descent steps on scalars,
written with operators and updating ``x.data`` in place, in every library.

    python benchmarks/rosenbrock.py [--iters N] [--rounds R]
"""

import argparse

import harness
import numpy as np

LR = 0.001


def run_autograd(iters):
    import autograd as ag

    x0 = ag.variable(0.0)
    x1 = ag.variable(2.0)
    for _ in range(iters):
        x0.cleargrad()
        x1.cleargrad()
        y = 100 * (x1 - x0**2) ** 2 + (x0 - 1) ** 2
        y.backward()
        x0.data -= LR * x0.grad.data
        x1.data -= LR * x1.grad.data
    return x0.item(), x1.item()


def run_torch(torch, iters):
    x0 = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
    x1 = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    for _ in range(iters):
        x0.grad = None
        x1.grad = None
        y = 100 * (x1 - x0**2) ** 2 + (x0 - 1) ** 2
        y.backward()
        with torch.no_grad():
            x0 -= LR * x0.grad
            x1 -= LR * x1.grad
    return x0.item(), x1.item()


def run_micrograd(Value, iters):
    x0 = Value(0.0)
    x1 = Value(2.0)
    for _ in range(iters):
        x0.grad = 0.0
        x1.grad = 0.0
        y = 100 * (x1 - x0**2) ** 2 + (x0 - 1) ** 2
        y.backward()
        x0.data -= LR * x0.grad
        x1.data -= LR * x1.grad
    return x0.data, x1.data


def run_dezero(dezero, iters):
    x0 = dezero.Variable(np.array(0.0))
    x1 = dezero.Variable(np.array(2.0))
    for _ in range(iters):
        x0.cleargrad()
        x1.cleargrad()
        y = 100 * (x1 - x0**2) ** 2 + (x0 - 1) ** 2
        y.backward()
        x0.data -= LR * x0.grad.data
        x1.data -= LR * x1.grad.data
    return float(x0.data), float(x1.data)


def jax_runner(jax, iters):
    """The step (gradient and update) jitted and compiled once; the loop in Python."""
    grad = jax.grad(lambda x0, x1: 100 * (x1 - x0**2) ** 2 + (x0 - 1) ** 2, argnums=(0, 1))

    @jax.jit
    def step(x0, x1):
        g0, g1 = grad(x0, x1)
        return x0 - LR * g0, x1 - LR * g1

    start = jax.numpy.float64(0.0), jax.numpy.float64(2.0)
    jax.block_until_ready(step(*start))

    def run():
        x0, x1 = start
        for _ in range(iters):
            x0, x1 = step(x0, x1)
        return float(x0), float(x1)

    return run


def runners(iters):
    return harness.installed(
        lambda: run_autograd(iters),
        pytorch=lambda torch: lambda: run_torch(torch, iters),
        micrograd=lambda Value: lambda: run_micrograd(Value, iters),
        dezero=lambda dz: lambda: run_dezero(dz, iters),
        jax=lambda jax: jax_runner(jax, iters),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    measured = harness.compare(runners(args.iters), args.rounds)
    expected = harness.agree(measured, 1e-9)
    print(harness.machine())
    harness.report(
        f"Rosenbrock, {args.iters} steps (seed 002); all end at "
        f"({expected[0]:.10f}, {expected[1]:.10f})",
        measured,
        per=args.iters,
    )
    return measured


if __name__ == "__main__":
    main()
