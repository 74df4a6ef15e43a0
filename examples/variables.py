"""Seed 000, variables: construction, shape, naming, grad, cleargrad and unchain.
Prints the values the seed page shows, one per line."""

import autograd as ag
import autograd.functions as F


def main():
    x = ag.variable(1, 2, 3, 4, 5, 6).reshape(2, 3)
    print(list(x.shape))  # [2, 3]
    print(x.ndim)  # 2
    print(x.size)  # 6
    print(x.at(1, 2))  # 6.0
    print(x.at())  # 1.0

    x = ag.variable(1.0, 2.0)
    x.name = "x"
    print(x)  # x[2]([1 2])

    x = ag.variable(3.0)
    y = F.square(x)
    y.backward()
    print(x.grad)  # variable(6)

    x.cleargrad()
    y2 = F.square(x)
    y2.backward()
    print(x.grad)  # variable(6): fresh, not variable(12)

    x = ag.variable(1.0)
    y = F.pow(x, 2.0)
    y.unchain()
    print(y.creator)  # None

    x = ag.variable(1.0)
    y = F.pow(x, 2.0)
    z = F.sin(y)
    z.unchain_backward()
    print(y.creator)  # None: link severed
    print(z.creator.name)  # Sin: z keeps its creator


if __name__ == "__main__":
    main()
