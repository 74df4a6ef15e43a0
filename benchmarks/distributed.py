"""Data-parallel training throughput: autograd over MPI against PyTorch's
DistributedDataParallel (gloo), on 1 and 2 processes with one BLAS thread each.

Workload: the MLP 784-512-512-10 with ReLU, softmax cross entropy, SGD lr 0.01, a
global batch of 512 (256 per process on 2), float32 by default; the same data,
shards (``DataLoader(..., shard=(rank, size))``) and initial weights in both
libraries, which must end at the same loss.

    python benchmarks/distributed.py [--steps 100] [--rounds 3] [--dtype float32|float64]
                                      [--bind core|none]

Each configuration runs in fresh processes (autograd under ``mpirun -n N``, PyTorch
with ``torch.multiprocessing``), alternating round by round; the median round is
reported. Each process of either library is bound to a core of its own (``--bind core``,
the default: what ``mpirun`` does by itself for 2 processes, and ``os.sched_setaffinity``
for PyTorch's), or to none (``--bind none``: every process free to move, better on a
machine that other work shares). The all-reduce time per
step is measured inside the training loop (it includes waiting for the slower rank)
and alone (back to back after a barrier).
"""

import argparse
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
SIZES = (784, 512, 512, 10)
GLOBAL_BATCH, LR, SAMPLES, WARMUP = 512, 0.01, 512 * 8, 3


def problem(dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, SIZES[0])).astype(dtype)
    t = rng.integers(0, SIZES[-1], size=SAMPLES)
    init = {}
    for i, (a, b) in enumerate(zip(SIZES, SIZES[1:])):
        init[f"linear{i}.w"] = (rng.normal(size=(a, b)) / np.sqrt(a)).astype(dtype)
        init[f"linear{i}.b"] = np.zeros((1, b), dtype=dtype)
    return x, t, init


def batches(x, t, rank, size, steps):
    """``steps`` batches of this rank's shard, epoch after epoch (the same in both libraries)."""
    import autograd as ag

    loader = ag.data.DataLoader(
        ag.data.ArrayDataset(x, t),
        batch_size=GLOBAL_BATCH // size,
        shuffle=True,
        drop_last=True,
        rng=np.random.default_rng(1),
        shard=(rank, size),
    )
    out = []
    while len(out) < steps:
        out.extend(loader)
    return out[:steps]


# --------------------------------------------------------------------------- workers


def worker_autograd(args):
    import autograd.distributed as dist
    import autograd.functions as F
    import autograd.models as M
    import autograd.optimizers as O

    rank, size = dist.rank(), dist.size()
    x, t, init = problem(np.dtype(args.dtype))
    data = batches(x, t, rank, size, WARMUP + args.steps)
    model = M.MLP(SIZES[1:], activation=F.relu, dtype=x.dtype)
    model(x[:1])
    for k, p in model.params().items():  # "linear[0].w" (or "linear0.w") <- linear0.w
        p.data = init[k.replace("[", "").replace("]", "")].copy()
    dist.broadcast_parameters(model)
    opt = O.SGD(lr=LR)
    reduce_time = 0.0
    for i, (xb, tb) in enumerate(data):
        if i == WARMUP:
            dist.barrier()
            start, reduce_time = time.perf_counter(), 0.0
        loss = F.softmax_cross_entropy(model(xb), tb)
        model.cleargrads()
        loss.backward()
        r0 = time.perf_counter()
        dist.allreduce_grads(model)  # what DistributedOptimizer.update does ...
        reduce_time += time.perf_counter() - r0
        opt.update(model)  # ... before the wrapped update
    dist.barrier()
    elapsed = time.perf_counter() - start
    final = dist.allreduce(float(loss.data), average=True)
    # the all-reduce alone: back to back after a barrier
    dist.barrier()
    r0 = time.perf_counter()
    for _ in range(10):
        dist.allreduce_grads(model)
    alone = (time.perf_counter() - r0) / 10
    if rank == 0:
        print(
            json.dumps(
                {
                    "step": elapsed / args.steps,
                    "reduce": reduce_time / args.steps,
                    "alone": alone if size > 1 else 0.0,
                    "loss": final,
                }
            ),
            flush=True,
        )


def _torch_rank(rank, size, port, args, queue):
    import torch
    import torch.distributed as tdist

    torch.set_num_threads(1)
    if args.bind == "core" and hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[rank % len(cores)]})
    x, t, init = problem(np.dtype(args.dtype))
    data = [
        (torch.from_numpy(xb), torch.from_numpy(tb))
        for xb, tb in batches(x, t, rank, size, WARMUP + args.steps)
    ]

    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.ParameterDict(
                {k.replace(".", "_"): torch.nn.Parameter(torch.tensor(v)) for k, v in init.items()}
            )

        def forward(self, h):
            p = self.p
            h = torch.relu(h @ p["linear0_w"] + p["linear0_b"])
            h = torch.relu(h @ p["linear1_w"] + p["linear1_b"])
            return h @ p["linear2_w"] + p["linear2_b"]

    model = MLP()
    if size > 1:
        tdist.init_process_group(
            "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=size
        )
        model = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    barrier = tdist.barrier if size > 1 else (lambda: None)
    for i, (xb, tb) in enumerate(data):
        if i == WARMUP:
            barrier()
            start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(xb), tb)
        loss.backward()  # DDP all-reduces the gradients in here
        opt.step()
    barrier()
    elapsed = time.perf_counter() - start
    final = loss.detach().reshape(1)
    if size > 1:
        tdist.all_reduce(final)
        final /= size
        tdist.destroy_process_group()
    if rank == 0:
        queue.put({"step": elapsed / args.steps, "loss": float(final)})


def worker_torch(args):
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.start_processes(
        _torch_rank, args=(args.nprocs, port, args, queue), nprocs=args.nprocs, start_method="spawn"
    )
    print(json.dumps(queue.get()), flush=True)


# --------------------------------------------------------------------------- driver


def mpirun(n, bind="core"):
    exe = shutil.which("mpirun", path=os.path.dirname(sys.executable)) or shutil.which("mpirun")
    if exe is None:
        return None
    # Bound to a core each, as mpirun binds 2 processes by itself: unbound, the two ranks
    # sometimes share a core for a while, and the all-reduce, which spins, then takes
    # milliseconds instead of one. Unbound (--bind none), a process on a busy core can
    # move to an idle one, which is better on a machine that other work shares.
    cmd = [exe, "-n", str(n), "--bind-to", bind]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    return cmd


def run(cmd):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "PRTE_"))}
    root = str(HERE.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if out.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--bind", default="core", choices=["core", "none"])
    p.add_argument("--worker", choices=["autograd", "torch"], help=argparse.SUPPRESS)
    p.add_argument("--nprocs", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker == "autograd":
        return worker_autograd(args)
    if args.worker == "torch":
        return worker_torch(args)

    me = [
        sys.executable,
        str(pathlib.Path(__file__).resolve()),
        "--steps",
        str(args.steps),
        "--dtype",
        args.dtype,
        "--bind",
        args.bind,
    ]
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        sys.exit('autograd.distributed needs mpi4py: pip install "cyautograd[mpi]"')
    if mpirun(1) is None:
        sys.exit("no mpirun found")
    try:
        import torch  # noqa: F401

        libraries = ["autograd", "pytorch"]
    except ImportError:
        print("note: PyTorch is not installed; its DDP is skipped", file=sys.stderr)
        libraries = ["autograd"]
    configs = [(lib, n) for lib in libraries for n in (1, 2)]
    results = {c: [] for c in configs}
    for _ in range(args.rounds):
        for lib, n in configs:
            if lib == "autograd":
                cmd = mpirun(n, args.bind) + me + ["--worker", "autograd"]
            else:
                cmd = me + ["--worker", "torch", "--nprocs", str(n)]
            results[(lib, n)].append(run(cmd))
    median = {}
    for c, rs in results.items():
        rs = sorted(rs, key=lambda r: r["step"])
        median[c] = rs[len(rs) // 2]

    losses = {c: r["loss"] for c, r in median.items()}
    ref = losses[("autograd", 1)]
    for c, loss in losses.items():
        if not np.isclose(loss, ref, rtol=1e-3 if args.dtype == "float32" else 1e-8):
            sys.exit(
                f"{c} ends at loss {loss}, autograd on 1 process at {ref}: the workloads differ"
            )

    import platform

    print(
        f"\nData-parallel MLP 784-512-512-10, global batch {GLOBAL_BATCH}, {args.dtype}, "
        f"{args.steps} steps, 1 BLAS thread per process, "
        f"{'each bound to a core' if args.bind == 'core' else 'not bound to cores'}, "
        f"median of {args.rounds} rounds"
    )
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"NumPy {np.__version__}"
    )
    print(
        f"{'library':<26} {'procs':>5} {'ms/step':>9} {'samples/s':>10} {'speed-up':>9} "
        f"{'all-reduce ms/step (alone)':>27}"
    )
    for lib, n in configs:
        r = median[(lib, n)]
        speedup = median[(lib, 1)]["step"] / r["step"]
        name = (
            "autograd (MPI)"
            if lib == "autograd"
            else ("pytorch (DDP, gloo)" if n > 1 else "pytorch (one process)")
        )
        reduce = (
            f"{r['reduce'] * 1e3:.2f} ({r['alone'] * 1e3:.2f})" if "reduce" in r and n > 1 else ""
        )
        print(
            f"{name:<26} {n:>5} {r['step'] * 1e3:>9.2f} {GLOBAL_BATCH / r['step']:>10.0f} "
            f"{speedup:>8.2f}x {reduce:>27}"
        )
    if "pytorch" in libraries:
        ratio = median[("pytorch", 2)]["step"] / median[("autograd", 2)]["step"]
        print(f"on 2 processes PyTorch DDP takes {ratio:.2f}x autograd's time per step")


if __name__ == "__main__":
    main()
