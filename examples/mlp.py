"""Seed 003, deep learning: an MLP (1-10-1, ReLU) trained with SGD on random data
drawn from the seed's ``rand.Const()``; prints the loss every 10 steps, as the seed."""

import autograd as ag
import autograd.functions as F
import autograd.models as M
import autograd.optimizers as O


def main():
    s = ag.random.const()
    m = M.MLP([10, 1], activation=F.relu, rng=s)
    o = O.SGD(lr=0.2)

    x = ag.rand((100, 1), rng=s)
    t = ag.rand((100, 1), rng=s)

    for i in range(100):
        y = m(x)
        loss = F.mean_squared_error(y, t)

        m.cleargrads()
        loss.backward()
        o.update(m)

        if i % 10 == 0:
            print(f"{loss.at():.8f}")


if __name__ == "__main__":
    main()
