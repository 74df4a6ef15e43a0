"""Higher-order workloads (seed 004): tanh's 10th derivative by repeated
create_graph backward (the graph grows with each order), and Newton's method,
10 steps of double backward on a scalar, run 1,000 times.

    python benchmarks/higher.py [--rounds R]
"""
import argparse

import harness
import numpy as np

ORDER = 10
NEWTON_RUNS = 1000


def tanh_autograd(order=ORDER):
    import autograd as ag
    import autograd.functions as F
    x = ag.variable(1.0)
    y = F.tanh(x)
    y.backward(create_graph=True)
    for _ in range(order - 1):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
    return x.grad.item()


def tanh_torch(torch, order=ORDER):
    x = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    g = torch.tanh(x)
    for _ in range(order):
        g, = torch.autograd.grad(g.sum(), x, create_graph=True)
    return g.item()


def tanh_dezero(dz, order=ORDER):
    import dezero.functions as DF
    x = dz.Variable(np.array(1.0))
    y = DF.tanh(x)
    y.backward(create_graph=True)
    for _ in range(order - 1):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
    return float(x.grad.data)


def newton_autograd(runs=NEWTON_RUNS):
    import autograd as ag
    for _ in range(runs):
        x = ag.variable(2.0)
        for _ in range(10):
            y = x ** 4.0 - 2 * x ** 2.0
            x.cleargrad()
            y.backward(create_graph=True)
            gx = x.grad
            x.cleargrad()
            gx.backward()
            x.data = x.data - gx.data / x.grad.data
    return x.item()


def newton_torch(torch, runs=NEWTON_RUNS):
    for _ in range(runs):
        x = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
        for _ in range(10):
            y = x ** 4.0 - 2 * x ** 2.0
            gx, = torch.autograd.grad(y, x, create_graph=True)
            gx2, = torch.autograd.grad(gx, x)
            with torch.no_grad():
                x -= gx / gx2
    return x.item()


def newton_dezero(dz, runs=NEWTON_RUNS):
    for _ in range(runs):
        x = dz.Variable(np.array(2.0))
        for _ in range(10):
            y = x ** 4 - 2 * x ** 2
            x.cleargrad()
            y.backward(create_graph=True)
            gx = x.grad
            x.cleargrad()
            gx.backward()
            x.data = x.data - gx.data / x.grad.data
    return float(x.data)


def tanh_runners():
    return harness.installed(tanh_autograd, pytorch=lambda torch: lambda: tanh_torch(torch),
                             dezero=lambda dz: lambda: tanh_dezero(dz))


def newton_runners():
    return harness.installed(newton_autograd, pytorch=lambda torch: lambda: newton_torch(torch),
                             dezero=lambda dz: lambda: newton_dezero(dz))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(harness.machine())
    m = harness.compare(tanh_runners(), args.rounds)
    value = harness.agree(m, 1e-9)
    harness.report(f"tanh's {ORDER}th derivative at 1 = {value:.6g}", m, per=1, unit="run")
    m = harness.compare(newton_runners(), args.rounds)
    value = harness.agree(m, 1e-9)
    harness.report(f"Newton's method, {NEWTON_RUNS} runs of 10 steps; x = {value}", m,
                   per=NEWTON_RUNS, unit="run")


if __name__ == "__main__":
    main()
