"""The seed's LSTM program (seed 003): learn a noisy sine wave with truncated
backpropagation through time, then predict a cosine.

    python examples/lstm.py -N 1000 --epochs 100 --batch-size 30 --hidden-size 100 \\
        --bptt-length 30 --learning-rate 0.01 --noise 0.05 [--seed 0] [--plot out.png] \\
        [--train-tail]

The CSV of the predictions (x, prediction) goes to stdout; a progress line per
epoch (epoch, loss, elapsed seconds) to stderr.

As the seed, the model is updated after every ``--bptt-length`` batches; the
batches after the last full window of an epoch are fed (they carry the state and
count in the loss) but not trained on, and a note on stderr says how many.
``--train-tail`` also updates after the last batch of each epoch.
"""

import argparse
import math
import os
import sys
import time

import numpy as np

import autograd as ag
import autograd.functions as F
import autograd.models as M
import autograd.optimizers as O
from autograd.data import SeqDataLoader, sine


def pi(c, n):
    """``n`` points evenly spaced in [0, c*pi]."""
    return c * math.pi * (np.arange(n) / (n - 1))


def windows(args):
    """(batches per epoch, the batch count after which the epoch's last update comes
    besides every ``bptt_length``-th, or None)."""
    n_batches = (args.N - 1) // args.batch_size
    # The seed updates at `count == dataset.N`, comparing a batch count with a point
    # count: true only when a batch is a single point. Kept, so the default run is
    # the seed's; --train-tail asks for the last update on purpose.
    last = n_batches if args.train_tail or n_batches == args.N - 1 else None
    return n_batches, last


def train(args, log=sys.stderr):
    rng = ag.random.const(args.seed)
    data, label = sine(args.N, args.noise, rng)  # the seed's noisy sine, point -> next point
    loader = SeqDataLoader(data, label, batch_size=args.batch_size)
    n = len(data)
    n_batches, last = windows(args)
    model = M.LSTM(args.hidden_size, 1, rng=rng)
    opt = O.SGD(lr=args.learning_rate)

    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.reset_state()
        loss, count = ag.variable(0.0), 0
        for x, t in loader:  # consecutive (batch, 1) pieces, in order
            y = model(x)
            loss = loss + F.mean_squared_error(y, t)
            count += 1
            if count % args.bptt_length == 0 or count == last:
                model.cleargrads()
                loss.backward()
                loss.unchain_backward()
                opt.update(model)
        print(
            f"{epoch:3d}: loss={loss.at() / max(count, 1):f} "
            f"elapsed={time.perf_counter() - start:.2f}s",
            file=log,
            flush=True,
        )
    untrained = 0 if last is not None else n_batches % args.bptt_length
    if untrained:
        print(
            f"note: the last {untrained} of the {n_batches} batches of each epoch were fed "
            f"but not trained on (after the last full --bptt-length window, as in the seed); "
            f"--train-tail trains them",
            file=log,
            flush=True,
        )
    return model, n


def predict(model, n):
    """Feed a cosine, one point at a time, without recording a graph."""
    xs = np.cos(pi(4, n))
    ys = np.empty(n)
    with ag.no_grad():
        model.reset_state()
        for i, v in enumerate(xs):
            ys[i] = model(ag.Variable(np.array([[v]]))).at()
    return xs, ys


def pyplot():
    """matplotlib.pyplot drawing to files, or None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def plot(path, grid, xs, ys):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(grid, xs, label="cos (input)", color="#999999")
    ax.plot(grid, ys, label="LSTM prediction", color="#e4572e")
    ax.set_xlabel("x")
    ax.legend()
    ax.set_title("LSTM trained on a noisy sine, fed a cosine")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# Beyond these the arrays no longer fit in memory (an LSTM of hidden size h holds
# 4*h*h weights, their gradients and the updates' temporaries).
MAX_N = 10_000_000
MAX_HIDDEN = 4096


def check_plot(p, path):
    """Answer a --plot that cannot be written now, not after the training."""
    if os.path.isdir(path):
        p.error(
            f"--plot {path!r} is a directory; give a file name such as "
            f"{os.path.join(path, 'lstm.png')!r}"
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        p.error(f"--plot {path!r}: the folder {os.path.dirname(path)!r} does not exist")
    plt = pyplot()
    if plt is None:
        p.error(
            "--plot needs matplotlib: pip install 'cyautograd[plot]' (or pip install matplotlib)"
        )
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    suffix = os.path.splitext(path)[1].lower().lstrip(".")
    if suffix not in formats:
        p.error(
            f"--plot {path!r} should end in one of {', '.join('.' + f for f in sorted(formats))}"
        )
    if not os.access(path if os.path.exists(path) else folder, os.W_OK):
        p.error(f"--plot {path!r} is not writable")


def parse(argv=None):
    p = argparse.ArgumentParser(description="The seed's LSTM program: sine in, cosine out.")
    p.add_argument("-N", type=int, default=1000, help="points of the sine curve")
    p.add_argument("--epochs", "-epochs", type=int, default=100)
    p.add_argument("--batch-size", "-batch-size", type=int, default=30)
    p.add_argument("--hidden-size", "-hidden-size", type=int, default=100)
    p.add_argument("--bptt-length", "-bptt-length", type=int, default=30)
    p.add_argument("--learning-rate", "-learning-rate", type=float, default=0.01)
    p.add_argument("--noise", "-noise", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0, help="seed of the random source")
    p.add_argument("--plot", metavar="FILE.png", help="also draw prediction against the cosine")
    p.add_argument(
        "--train-tail",
        action="store_true",
        help="also update after the last batch of each epoch (the seed does not)",
    )
    args = p.parse_args(argv)
    for name in ("N", "epochs", "batch_size", "hidden_size", "bptt_length"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")
    if args.N > MAX_N:
        p.error(f"-N must be at most {MAX_N:,}, got {args.N}")
    if args.hidden_size > MAX_HIDDEN:
        p.error(f"--hidden-size must be at most {MAX_HIDDEN}, got {args.hidden_size}")
    if args.N < args.batch_size + 1:
        p.error("-N must exceed --batch-size")
    if not (math.isfinite(args.learning_rate) and args.learning_rate >= 0):
        p.error(f"--learning-rate must be a finite number >= 0, got {args.learning_rate}")
    if not (math.isfinite(args.noise) and args.noise >= 0):
        p.error(f"--noise must be a finite number >= 0, got {args.noise}")
    if not 0 <= args.seed < 2**64:
        p.error(f"--seed must be in [0, 2**64), got {args.seed}")
    n_batches, last = windows(args)
    if last is None and args.bptt_length > n_batches:
        p.error(
            f"--bptt-length {args.bptt_length} is more than the {n_batches} batches of an "
            f"epoch (-N {args.N}, --batch-size {args.batch_size}), so the model would never "
            f"be updated; lower it, or pass --train-tail"
        )
    if args.plot is not None:
        check_plot(p, args.plot)
    return args


def main(argv=None):
    args = parse(argv)
    model, n = train(args)
    xs, ys = predict(model, n)
    grid = pi(4, n)
    for g, y in zip(grid, ys):
        print(f"{g:f},{y:f}")
    # the model predicts the next point of the curve it is fed
    mse = float(np.mean((ys[:-1] - xs[1:]) ** 2))
    mse_same = float(np.mean((ys - xs) ** 2))
    print(
        f"mean squared error against cos: {mse:.6f} (next point), {mse_same:.6f} (same point)",
        file=sys.stderr,
    )
    if args.plot is not None:
        plot(args.plot, grid, xs, ys)
    return mse


if __name__ == "__main__":
    main()
