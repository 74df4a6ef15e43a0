"""The digits CNN's training step (examples/digits_cnn.py): conv 16 (3x3, pad 1) - ReLU -
max pool 2 - conv 32 (3x3, pad 1) - ReLU - max pool 2 - flatten - linear 10 on 8x8
images, batch 64, softmax cross entropy, SGD lr 0.05, 50 steps; float32 and float64; the
same batch and initial weights in every library. ``--memory`` also measures the peak
memory each library adds over 20 steps, in a fresh process each (Linux only).

    python benchmarks/cnn.py [--dtype float32|float64] [--steps N] [--rounds R] [--memory]
"""

import argparse
import json
import os
import subprocess
import sys

import harness
import numpy as np

BATCH, LR = 64, 0.05


def problem(dtype):
    """A batch of 8x8 images and labels (random: a step's cost does not depend on the
    pixels) and the initial weights the example's model draws."""
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, 1, 8, 8)).astype(dtype)
    t = rng.integers(0, 10, size=BATCH)
    net = make_model(np.random.default_rng(1), dtype)
    net(x)
    return x, t, {k: v.data.copy() for k, v in net.params().items()}


def make_model(rng, dtype):
    import autograd.functions as F
    import autograd.layers as L

    return L.Sequential(
        L.Conv2d(16, 3, pad=1, rng=rng, dtype=dtype),
        F.relu,
        L.MaxPool2d(2),
        L.Conv2d(32, 3, pad=1, rng=rng, dtype=dtype),
        F.relu,
        L.MaxPool2d(2),
        L.Flatten(),
        L.Linear(10, rng=rng, dtype=dtype),
    )


def run_autograd(x, t, init, steps):
    import autograd.functions as F
    import autograd.optimizers as O

    net = make_model(None, x.dtype)
    net(x)
    for k, p in net.params().items():
        p.data = init[k].copy()
    o = O.SGD(lr=LR)
    for _ in range(steps):  # data as arrays: constants, no gradient (as in PyTorch)
        loss = F.softmax_cross_entropy(net(x), t)
        net.cleargrads()
        loss.backward()
        o.update(net)
    return float(loss.data)


def run_torch(torch, x, t, init, steps):
    TF = torch.nn.functional
    p = {k: torch.tensor(v, requires_grad=True) for k, v in init.items()}
    xt, tt = torch.tensor(x), torch.tensor(t)
    for _ in range(steps):
        h = TF.max_pool2d(torch.relu(TF.conv2d(xt, p["0.w"], p["0.b"], padding=1)), 2)
        h = TF.max_pool2d(torch.relu(TF.conv2d(h, p["3.w"], p["3.b"], padding=1)), 2)
        y = h.reshape(h.shape[0], -1) @ p["7.w"] + p["7.b"]
        loss = TF.cross_entropy(y, tt)
        for v in p.values():
            v.grad = None
        loss.backward()
        with torch.no_grad():
            for v in p.values():
                v -= LR * v.grad
    return float(loss.detach())


def jax_runner(jax, x, t, init, steps):
    """JAX's runner: the loss below, its SGD step jitted (``harness.jax_sgd``)."""
    jnp, lax = jax.numpy, jax.lax

    def conv_relu_pool(h, w, b):
        h = lax.conv_general_dilated(h, w, (1, 1), ((1, 1), (1, 1)))  # NCHW, OIHW
        h = jax.nn.relu(h + b.reshape(1, -1, 1, 1))
        return lax.reduce_window(h, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def loss_of(p, x, t):
        h = conv_relu_pool(x, p["0.w"], p["0.b"])
        h = conv_relu_pool(h, p["3.w"], p["3.b"])
        y = h.reshape(h.shape[0], -1) @ p["7.w"] + p["7.b"]
        return -jnp.take_along_axis(jax.nn.log_softmax(y), t[:, None], axis=1).mean()

    return harness.jax_sgd(jax, loss_of, x, t, init, steps, LR)


def runners(dtype, steps):
    x, t, init = problem(np.dtype(dtype))
    return harness.installed(
        lambda: run_autograd(x, t, init, steps),
        pytorch=lambda torch: lambda: run_torch(torch, x, t, init, steps),
        jax=lambda jax: jax_runner(jax, x, t, init, steps),
    )


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def memory_child(library, dtype, steps=20):
    """Peak resident memory added by ``steps`` training steps after one warm-up step, in
    MiB: Linux's high-water mark (VmHWM) is reset just before the steps."""
    x, t, init = problem(np.dtype(dtype))
    if library == "autograd":
        run = lambda n: run_autograd(x, t, init, n)
    else:
        torch = harness.load_torch()
        run = lambda n: run_torch(torch, x, t, init, n)
    run(1)  # load code and caches on both sides first
    before = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS
    run(steps)
    return (_status_kib("VmHWM") - before) / 1024


# glibc maps every buffer over 16 KiB on its own and returns freed memory at once, so
# that resident memory follows the buffers alive in both libraries (by default freed
# heap memory stays resident, and which buffers land there depends on the allocator's
# history rather than on what a step keeps alive).
MALLOC_ENV = dict(os.environ, MALLOC_MMAP_THRESHOLD_="16384", MALLOC_TRIM_THRESHOLD_="0")


def memory(dtype):
    """``{library: MiB}``, each measured in a fresh process."""
    out = {}
    for library in ("autograd", "pytorch"):
        if library == "pytorch" and harness.load_torch() is None:
            continue
        done = subprocess.run(
            [sys.executable, __file__, "--memory-child", library, "--dtype", dtype],
            capture_output=True,
            text=True,
            check=True,
            env=MALLOC_ENV,
        )
        out[library] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dtype", choices=["float32", "float64"], nargs="+", default=["float32", "float64"]
    )
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory", action="store_true", help="also measure peak memory")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, args.dtype[0])))
        return None
    print(harness.machine())
    out = {}
    for dtype in args.dtype:
        measured = harness.compare(runners(dtype, args.steps), args.rounds)
        expected = harness.agree(measured, 1e-3 if dtype == "float32" else 1e-9)
        harness.report(
            f"Digits CNN, batch {BATCH}, {args.steps} steps, {dtype}; final loss {expected:.6f}",
            measured,
            per=args.steps,
            unit="step",
        )
        out[dtype] = measured
        if args.memory:
            mem = memory(dtype)
            print("peak memory added: " + ", ".join(f"{k} {v:.2f} MiB" for k, v in mem.items()))
    return out


if __name__ == "__main__":
    main()
