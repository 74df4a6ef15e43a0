"""Data-parallel training of the spiral classifier over MPI.

    mpirun -n 2 python examples/train_mpi.py [--epochs 300] [--batch-size 30]
                                             [--checkpoint spiral.npz] [--resume]
    python examples/train_mpi.py            # the same training, as one process

Every rank builds the same model and data, takes its own part of each batch
(``DataLoader(..., shard=(rank, size))``), and ``DistributedOptimizer`` averages the
gradients before every update, so the parameters after each step are those of one
process training with the whole batch (to rounding). ``--batch-size`` is that whole
(global) batch; each of N ranks computes on ``batch-size / N`` samples. Only rank 0
prints progress and writes the checkpoint (the parameters, and the epoch beside them
in ``<checkpoint>.json``); ``--resume`` continues from it on any number of ranks.
As root in a container: ``mpirun --allow-run-as-root -n 2 ...``.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

import autograd as ag
import autograd.functions as F
import autograd.models as M
import autograd.optimizers as O


def load_distributed():
    """``autograd.distributed``, or None to run as one process when mpi4py is absent
    (but not when started by mpirun: every rank would train alone)."""
    try:
        import autograd.distributed as dist
    except ImportError:
        if any(v in os.environ for v in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK")):
            raise
        return None
    return dist


def parse(argv=None):
    p = argparse.ArgumentParser(description="Spiral classifier, data-parallel over MPI.")
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=30, help="global batch (all ranks)")
    p.add_argument("--hidden-size", type=int, default=10)
    p.add_argument("--learning-rate", type=float, default=1.0)
    p.add_argument("-N", type=int, default=300, help="points of the spiral (3 arms)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=10, help="epochs between progress lines")
    p.add_argument("--checkpoint", default="spiral.npz", help="where rank 0 saves (.npz)")
    p.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    args = p.parse_args(argv)
    for name in ("epochs", "batch_size", "hidden_size", "N", "log_every"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")
    return args


def main(argv=None):
    args = parse(argv)
    dist = load_distributed()
    rank, size = (dist.rank(), dist.size()) if dist else (0, 1)
    if args.batch_size % size:
        if rank == 0:  # every rank stops; one says why
            print(
                f"--batch-size {args.batch_size} must be a multiple of the {size} processes",
                file=sys.stderr,
            )
        sys.exit(2)

    # Every rank makes the same data and the same model from the same seed.
    x, t = ag.data.spiral(args.N, classes=3, rng=np.random.default_rng(args.seed))
    loader = ag.data.DataLoader(
        ag.data.ArrayDataset(x, t),
        batch_size=args.batch_size // size,
        shuffle=True,
        shard=(rank, size),
    )
    model = M.MLP([args.hidden_size, 3], rng=np.random.default_rng(args.seed + 1))
    model(x[:1])  # make the lazy weights before sharing them
    opt = O.SGD(lr=args.learning_rate)

    start_epoch = 0
    state_file = args.checkpoint + ".json"
    if args.resume:
        if rank == 0:  # the root reads; broadcast_parameters shares
            model.load(args.checkpoint)
            with open(state_file) as f:
                start_epoch = json.load(f)["epoch"]
        if dist:
            start_epoch = int(dist.allreduce(start_epoch))  # only the root's is non-zero
    if dist:
        dist.broadcast_parameters(model, root=0)
        opt = dist.DistributedOptimizer(opt)

    start = time.perf_counter()
    for epoch in range(start_epoch, args.epochs):
        # The order of each epoch depends on the seed and the epoch alone, the same on
        # every rank, so a resumed run sees the batches the uninterrupted one would.
        loader.rng = np.random.default_rng([args.seed, epoch])
        total, count = 0.0, 0
        for xb, tb in loader:
            loss = F.softmax_cross_entropy(model(xb), tb)
            model.cleargrads()
            loss.backward()
            if dist:  # the ranks' batches may differ in size (the last one): weight them
                opt.update(model, weight=len(tb))
            else:
                opt.update(model)
            total += float(loss.data) * len(tb)
            count += len(tb)
        if dist:
            total, count = dist.allreduce(total), int(dist.allreduce(count))
        if rank == 0 and ((epoch + 1) % args.log_every == 0 or epoch + 1 == args.epochs):
            with ag.no_grad():
                acc = float(F.accuracy(model(x), t).data)
            print(
                f"epoch {epoch + 1:4d}  loss {total / count:.6f}  accuracy {acc:.4f}  "
                f"({size} process{'es' if size > 1 else ''}, "
                f"{time.perf_counter() - start:.1f}s)",
                flush=True,
            )

    if rank == 0:
        model.save(args.checkpoint)
        with open(state_file, "w") as f:
            json.dump({"epoch": args.epochs}, f)
        print(f"saved {args.checkpoint}", flush=True)
    return model


if __name__ == "__main__":
    main()
