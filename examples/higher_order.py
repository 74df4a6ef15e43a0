"""Seed 004, higher-order gradients: the derivatives of sin, Newton's method by
double backpropagation, and first and second order mixed. Prints what the seed
page prints."""

import autograd as ag
import autograd.functions as F


def f(x):
    # y = x^4 - 2x^2
    return x**4.0 - 2 * x**2.0


def main():
    x = ag.variable(1.0)
    y = F.sin(x)
    y.backward(create_graph=True)
    print(y)
    print(x.grad)
    for _ in range(5):
        gx = x.grad
        x.cleargrad()
        gx.backward(create_graph=True)
        print(x.grad)

    # Newton's method: x <- x - f'(x) / f''(x)
    x = ag.variable(2.0)
    for _ in range(10):
        print(x)
        y = f(x)
        x.cleargrad()
        y.backward(create_graph=True)
        gx = x.grad
        x.cleargrad()
        gx.backward()
        gx2 = x.grad
        x.data = x.data - gx.data / gx2.data

    # z = (dy/dx)^3 + y with y = x^2: dz/dx = 24x^2 + 2x = 100 at x = 2
    x = ag.variable(2.0)
    y = x**2.0
    y.backward(create_graph=True)
    gx = x.grad
    z = gx**3.0 + y
    x.cleargrad()
    z.backward()
    print(x.grad)


if __name__ == "__main__":
    main()
