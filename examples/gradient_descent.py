"""Seed 002, gradient descent: the Rosenbrock trajectory, the Matyas gradient,
and why cleargrad matters. Prints what the seed page prints."""

import autograd as ag


def rosenbrock(x0, x1):
    # 100 * (x1 - x0^2)^2 + (x0 - 1)^2
    y0 = (x1 - x0**2.0) ** 2.0
    y1 = (x0 - 1.0) ** 2.0
    return 100 * y0 + y1


def matyas(x, y):
    z0 = 0.26 * (x**2.0 + y**2.0)
    z1 = 0.48 * (x * y)
    return z0 - z1


def update(lr, *xs):
    for v in xs:
        v.data = v.data - lr * v.grad.data


def main():
    x0 = ag.variable(0.0)
    x1 = ag.variable(2.0)
    lr = 0.001
    iters = 10000
    for i in range(iters + 1):
        if i % 1000 == 0:
            print(x0, x1)
        x0.cleargrad()  # reset gradients before each iteration
        x1.cleargrad()
        y = rosenbrock(x0, x1)
        y.backward()
        update(lr, x0, x1)

    x = ag.variable(1.0)
    y = ag.variable(1.0)
    z = matyas(x, y)
    z.backward()
    print(x.grad)
    print(y.grad)

    # grads accumulate by addition when backward runs again without cleargrad
    x = ag.variable(3.0)
    y = x + x
    y.backward()
    print(x.grad)  # 2: correct

    y = (x + x) + x
    y.backward()
    print(x.grad)  # 5: 2 + 3, the old gradient was kept

    x.cleargrad()
    y = (x + x) + x
    y.backward()
    print(x.grad)  # 3: correct


if __name__ == "__main__":
    main()
