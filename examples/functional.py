"""Newton's method in two dimensions with ``autograd.functional``: minimise the
Rosenbrock function f(x, y) = 100 (y - x^2)^2 + (1 - x)^2 from (-1.2, 1), taking
each step x <- x - H(x)^-1 grad f(x) with the Hessian from ``hessian`` and the
gradient from ``grad``. Newton's method reaches the minimum (1, 1) in a handful of
steps, where gradient descent (examples/gradient_descent.py) needs thousands.
"""
import numpy as np

import autograd as ag
from autograd.functional import grad, hessian


def rosenbrock(v):
    x, y = v[0], v[1]
    return 100 * (y - x ** 2.0) ** 2.0 + (1 - x) ** 2.0


def main():
    v = ag.Variable(np.array([-1.2, 1.0]), name="x")
    df = grad(rosenbrock)
    d2f = hessian(rosenbrock)
    for step in range(10):
        f = rosenbrock(v)
        print(f"step {step}: {v} f = {f.item():.6g}")
        g = df(v)
        if np.abs(g.data).max() < 1e-12:
            break
        H = d2f(v)
        v = ag.Variable(v.data - np.linalg.solve(H.data, g.data), name="x")
    print("gradient:", g)
    print("hessian:", d2f(v))


if __name__ == "__main__":
    main()
