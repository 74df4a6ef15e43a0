"""A spiral classifier: an MLP trained with Adam on mini-batches from a DataLoader,
under a cosine learning-rate schedule; prints its progress and the test accuracy.

    python examples/classify.py [--epochs 200] [--hidden 32] [--lr 0.02] [--seed 0]
                                [--plot regions.png]

``--plot`` draws the decision regions with the test points (needs matplotlib).
"""

import argparse
import math
import os
import sys

import numpy as np

import autograd as ag
import autograd.functions as F
import autograd.models as M
import autograd.optimizers as O
from autograd.data import ArrayDataset, DataLoader, spiral

CLASSES = 3


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def learning_rate(text):
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def arguments(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-N", type=positive_int, default=600, help="points, all classes together")
    p.add_argument("--epochs", type=positive_int, default=200)
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--hidden", type=positive_int, default=32, help="units in each hidden layer")
    p.add_argument("--lr", type=learning_rate, default=0.02)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", default=None, help="draw the decision regions to this PNG file")
    args = p.parse_args(argv)
    if args.N < 10 * CLASSES:
        p.error(f"-N must be at least {10 * CLASSES}")
    if not 0 <= args.seed < 2**63:
        p.error("--seed must be in [0, 2**63)")
    if args.plot is not None:
        folder = os.path.dirname(os.path.abspath(args.plot))
        if os.path.isdir(args.plot) or not os.path.isdir(folder):
            p.error(f"--plot {args.plot!r}: give a file name in an existing folder")
        if not args.plot.lower().endswith(".png"):
            p.error(f"--plot {args.plot!r} should end in .png")
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            p.error("--plot needs matplotlib: pip install 'cyautograd[plot]'")
    return args


def main(argv=None):
    args = arguments(argv)
    rng = np.random.default_rng(args.seed)
    x, t = spiral(args.N, classes=CLASSES, rng=rng)
    n_test = args.N // 5
    x_train, t_train, x_test, t_test = x[n_test:], t[n_test:], x[:n_test], t[:n_test]

    model = M.MLP(
        [args.hidden, args.hidden, CLASSES], activation=F.relu, rng=ag.random.const(args.seed)
    )
    opt = O.Adam(model, lr=args.lr)
    loader = DataLoader(
        ArrayDataset(x_train, t_train), batch_size=args.batch_size, shuffle=True, rng=rng
    )
    schedule = O.CosineLR(opt, total_steps=args.epochs * len(loader), min_lr=args.lr / 100)

    for epoch in range(1, args.epochs + 1):
        total, seen = 0.0, 0
        for xb, tb in loader:
            loss = F.softmax_cross_entropy(model(xb), tb)
            model.cleargrads()
            loss.backward()
            opt.step()
            schedule.step()
            total += float(loss) * len(tb)
            seen += len(tb)
        if epoch == 1 or epoch % 25 == 0 or epoch == args.epochs:
            with ag.no_grad():
                train_acc = float(F.accuracy(model(x_train), t_train))
            print(
                f"epoch {epoch:4d}  loss {total / seen:.4f}  train accuracy {train_acc:.3f}  "
                f"lr {opt.lr:.5f}"
            )
    with ag.no_grad():
        test_acc = float(F.accuracy(model(x_test), t_test))
    print(f"test accuracy {test_acc:.3f} ({n_test} points)")
    if args.plot is not None:
        draw(model, x_test, t_test, args.plot)
        print(f"decision regions drawn to {args.plot}", file=sys.stderr)
    return test_acc


def draw(model, x, t, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(-1.1, 1.1, 300)
    gx, gy = np.meshgrid(grid, grid)
    with ag.no_grad():
        scores = model(np.stack([gx.ravel(), gy.ravel()], axis=1))
    regions = F.argmax(scores, axis=1).reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.contourf(gx, gy, regions, levels=np.arange(CLASSES + 1) - 0.5, cmap="Pastel1", alpha=0.9)
    ax.scatter(x[:, 0], x[:, 1], c=t, cmap="Set1", s=12, edgecolors="k", linewidths=0.3)
    ax.set_title("spiral: decision regions and test points")
    ax.set_aspect("equal")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    main()
