"""Seed 001, the quickstart: a forward pass, backward, the Matyas function, and
the higher derivatives of sin. Prints what the seed page prints."""

import autograd as ag
import autograd.functions as F


def matyas(x, y):
    # 0.26(x^2 + y^2) - 0.48xy
    z0 = 0.26 * (x**2.0 + y**2.0)
    z1 = 0.48 * (x * y)
    return z0 - z1


def main():
    # forward
    x = ag.variable(0.5)
    y = F.square(F.exp(F.square(x)))
    print(y)

    # backward
    y.backward()
    print(x.grad)

    # Matyas: both partial derivatives in one pass
    x = ag.variable(1.0)
    y = ag.variable(1.0)
    z = matyas(x, y)
    z.backward()
    print(x.grad, y.grad)

    # higher-order gradients of sin
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


if __name__ == "__main__":
    main()
