"""A small convolutional network on the real 8x8 handwritten digits that scikit-learn
ships (1,797 images, 10 classes): two conv + max-pool blocks and a linear head,
trained with Adam on 80% of the images and tested on the other 20%.

    python examples/digits_cnn.py [--epochs 20] [--batch-size 64] [--lr 0.005] [--seed 0]
        [--dtype float32] [--checkpoint digits_cnn.npz] [--resume] [--plot wrong.png]

Needs scikit-learn for the data (``pip install scikit-learn``; without it the program
says so and exits with status 0). Prints a progress line per epoch (loss, train and
test accuracy, elapsed seconds) and the final test accuracy, about 98% in a few
seconds. With ``--checkpoint`` the model and the optimizer's state are saved after every
epoch; ``--resume`` continues from that file exactly as if the run had not stopped. ``--plot`` draws misclassified test digits with their
predictions (needs matplotlib).
"""
import argparse
import json
import os
import sys
import time

# The products here are small (at most 32 x 144 by 144 x 1,000): one BLAS thread is as
# fast, and several threads spinning on a busy machine are many times slower.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402  (after the thread settings, which NumPy reads at import)

import autograd as ag
import autograd.functions as F
import autograd.layers as L
import autograd.models as M
import autograd.optimizers as O


class DigitsCNN(M.Model):
    """conv 16 (3x3, pad 1) - ReLU - max pool 2 - conv 32 (3x3, pad 1) - ReLU - max pool 2
    - flatten - linear 10: (N, 1, 8, 8) images to (N, 10) logits."""

    def __init__(self, rng=None, dtype=np.float32):
        super().__init__()
        self.features = L.Sequential(
            L.Conv2d(16, 3, pad=1, rng=rng, dtype=dtype), F.relu, L.MaxPool2d(2),
            L.Conv2d(32, 3, pad=1, rng=rng, dtype=dtype), F.relu, L.MaxPool2d(2),
            L.Flatten())
        self.head = L.Linear(10, rng=rng, dtype=dtype)

    def forward(self, x):
        return self.head(self.features(x))


def load_digits(seed, dtype):
    """Images (N, 1, 8, 8) scaled to [0, 1] and labels, split 80/20 by a seeded shuffle."""
    from sklearn.datasets import load_digits as sklearn_digits
    digits = sklearn_digits()
    x = (digits.images / 16.0).astype(dtype).reshape(-1, 1, 8, 8)
    t = digits.target.astype(np.intp)
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(len(x) * 0.8)
    train, test = order[:cut], order[cut:]
    return x[train], t[train], x[test], t[test]


def predict(model, x, batch_size=512):
    with ag.no_grad(), ag.test_mode():
        return np.concatenate([model(x[i:i + batch_size]).data.argmax(axis=1)
                               for i in range(0, len(x), batch_size)])


def save_checkpoint(model, opt, path, epoch):
    """The model and the optimizer's state in one file, then the epoch beside it."""
    model.save(path, optimizer=opt)
    tmp = path + ".json.tmp"
    with open(tmp, "w") as f:
        json.dump({"epoch": epoch}, f)
    os.replace(tmp, path + ".json")


def load_checkpoint(model, opt, path):
    model.load(path, optimizer=opt)
    with open(path + ".json") as f:
        return json.load(f)["epoch"]


def train(args, out=sys.stdout):
    dtype = np.dtype(args.dtype)
    x_train, t_train, x_test, t_test = load_digits(args.seed, dtype)
    model = DigitsCNN(rng=np.random.default_rng(args.seed), dtype=dtype)
    model(x_train[:1])                          # make the lazy parameters
    opt = O.Adam(model, lr=args.lr)
    start_epoch = 0
    if args.resume:
        if not args.checkpoint or not os.path.exists(args.checkpoint):
            sys.exit(f"--resume: no checkpoint at {args.checkpoint!r} (give --checkpoint PATH)")
        start_epoch = load_checkpoint(model, opt, args.checkpoint)
        print(f"resumed from {args.checkpoint} after epoch {start_epoch}", file=out)

    start = time.perf_counter()
    n = len(x_train)
    for epoch in range(start_epoch, args.epochs):
        order = np.random.default_rng([args.seed, epoch]).permutation(n)   # resumable shuffles
        total, count = 0.0, 0
        for i in range(0, n, args.batch_size):
            batch = order[i:i + args.batch_size]
            loss = F.softmax_cross_entropy(model(x_train[batch]), t_train[batch])
            model.cleargrads()
            loss.backward()
            opt.step()
            total += float(loss.data) * len(batch)
            count += len(batch)
        train_acc = (predict(model, x_train) == t_train).mean()
        test_acc = (predict(model, x_test) == t_test).mean()
        print(f"epoch {epoch + 1:3d}  loss {total / count:.4f}  train {train_acc:.4f}  "
              f"test {test_acc:.4f}  {time.perf_counter() - start:6.2f}s", file=out, flush=True)
        if args.checkpoint:
            save_checkpoint(model, opt, args.checkpoint, epoch + 1)
    pred = predict(model, x_test)
    print(f"test accuracy {(pred == t_test).mean():.4f} ({int((pred == t_test).sum())} of "
          f"{len(t_test)})", file=out)
    if args.plot:
        plot_mistakes(x_test, t_test, pred, args.plot)
        print(f"misclassified digits drawn to {args.plot}", file=out)
    return model, (pred == t_test).mean()


def plot_mistakes(x, t, pred, path, most=10):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("--plot needs matplotlib: pip install matplotlib")
    wrong = np.nonzero(pred != t)[0][:most]
    cols = max(len(wrong), 1)
    fig, axes = plt.subplots(1, cols, figsize=(1.6 * cols, 2.0), squeeze=False)
    for ax in axes[0]:
        ax.axis("off")
    for ax, i in zip(axes[0], wrong):
        ax.imshow(x[i, 0], cmap="gray_r", interpolation="nearest")
        ax.set_title(f"pred {pred[i]}\ntrue {t[i]}", fontsize=9)
    if not len(wrong):
        axes[0][0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    fig.suptitle("Misclassified test digits", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--checkpoint", help="save the model here after every epoch")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    parser.add_argument("--plot", help="draw misclassified test digits to this PNG")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or not args.lr > 0:
        parser.error("--epochs, --batch-size and --lr must be positive")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("digits_cnn: this example needs scikit-learn for its data set "
              "(pip install scikit-learn); skipped", file=sys.stderr)
        return 0
    train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
