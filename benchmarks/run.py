"""Run every workload side by side and write ``benchmarks/results.md`` and
``benchmarks/results.png``.

    python benchmarks/run.py [--rounds R] [--threads 1 2]

For each thread count, a child process sets OMP/OpenBLAS/MKL threads (and PyTorch's;
XLA's Eigen single-threaded for JAX at one thread), bound to that many cores, before
anything loads, then runs every workload with every installed library,
alternating libraries round by round, and checks that they agree. The peak memory
of the big MLP and of the digits CNN is measured in a fresh process per library.

    python benchmarks/run.py --only cnn32 cnn64

measures only the workloads named and keeps the others' numbers from the previous run
(``results.json``).
"""

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
LIBRARIES = ["autograd", "pytorch", "micrograd", "dezero", "jax"]
SHORT = {
    "rosenbrock": "Rosenbrock",
    "mlp": "seed MLP",
    "bigmlp64": "MLP 784-512 float64",
    "bigmlp32": "MLP 784-512 float32",
    "lstm": "seed LSTM",
    "tanh10": "tanh 10th derivative",
    "newton": "Newton's method",
    "cnn32": "CNN float32",
    "cnn64": "CNN float64",
    "hessian2": "Hessian 2-D",
    "hessian100": "Hessian 100-D",
}

# (key, title, unit, iterations per run, goal: ratio of PyTorch's time to ours, or None)
WORKLOADS = [
    (
        "rosenbrock",
        "Rosenbrock, 10,000 steps (seed 002)",
        "step",
        10000,
        ">= 40x (>= 4x micrograd)",
    ),
    ("mlp", "Seed MLP 1-10-1, batch 100, 1,000 steps", "step", 1000, ">= 3x"),
    (
        "bigmlp64",
        "MLP 784-512-512-10, batch 256, 50 steps, float64",
        "step",
        50,
        ">= 1.1x, within 5% of matmul",
    ),
    (
        "bigmlp32",
        "MLP 784-512-512-10, batch 256, 50 steps, float32",
        "step",
        50,
        ">= 1.1x, within 5% of matmul",
    ),
    ("lstm", "Seed LSTM, hidden 100, batch 30, bptt 30, 20 epochs", "epoch", 20, ">= 3x"),
    ("tanh10", "tanh's 10th derivative (repeated create_graph), 20 runs", "run", 20, ">= 2x"),
    ("newton", "Newton's method (seed 004), 1,000 runs", "run", 1000, ">= 10x"),
    (
        "hessian2",
        "Hessian of the 2-D Rosenbrock function (torch.func.hessian), 200 runs",
        "run",
        200,
        ">= 1x",
    ),
    (
        "hessian100",
        "Hessian of the 100-D Rosenbrock function (torch.func.hessian), 20 runs",
        "run",
        20,
        ">= 1x",
    ),
    (
        "cnn32",
        "Digits CNN (examples/digits_cnn.py), batch 64, 50 steps, float32",
        "step",
        50,
        ">= 1.0x, peak memory <= PyTorch's",
    ),
    (
        "cnn64",
        "Digits CNN (examples/digits_cnn.py), batch 64, 50 steps, float64",
        "step",
        50,
        ">= 1.0x, peak memory <= PyTorch's",
    ),
]


def runners(key):
    import bigmlp
    import cnn
    import higher
    import lstm
    import mlp
    import rosenbrock

    return {
        "rosenbrock": lambda: rosenbrock.runners(10000),
        "mlp": lambda: mlp.runners(1000),
        "bigmlp64": lambda: bigmlp.runners("float64", 50),
        "bigmlp32": lambda: bigmlp.runners("float32", 50),
        "lstm": lambda: lstm.runners(20),
        "tanh10": higher.tanh_runners,
        "newton": higher.newton_runners,
        "hessian2": lambda: higher.hessian_runners(2),
        "hessian100": lambda: higher.hessian_runners(100),
        "cnn32": lambda: cnn.runners("float32", 50),
        "cnn64": lambda: cnn.runners("float64", 50),
    }[key]()


def child(rounds, only=None):
    import harness

    out = {}
    for key, title, unit, per, goal in WORKLOADS:
        if only and key not in only:
            continue
        measured = harness.compare(runners(key), rounds)
        harness.agree(measured, 1e-3)
        out[key] = {name: seconds for name, (seconds, _) in measured.items()}
        print(
            f"  {key}: " + ", ".join(f"{n} {s:.3f}s" for n, s in out[key].items()),
            file=sys.stderr,
            flush=True,
        )
    return out


def memory_child(library):
    """Peak resident memory added by 10 steps of the float64 big MLP, in MiB."""
    import resource

    import bigmlp
    import harness
    import numpy as np

    x, t, init = bigmlp.problem(np.dtype("float64"))
    if library == "autograd":
        run = lambda: bigmlp.run_autograd(x, t, init, 10)
    else:
        torch = harness.load_torch()
        run = lambda: bigmlp.run_torch(torch, x, t, init, 10)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (after - before) / 1024


def spawn(args, threads):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    done = subprocess.run(
        [sys.executable, str(HERE / "run.py")] + args, env=env, capture_output=True, text=True
    )
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"benchmark child failed: {args}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cell(seconds, per, base):
    if seconds is None:
        return "–"
    each = seconds / per * 1e6
    text = f"{each:,.1f} µs" if each < 10000 else f"{each / 1000:,.1f} ms"
    return text if seconds == base else f"{text} ({seconds / base:.2f}x)"


def table(results):
    lines = [
        "| workload | goal (PyTorch ÷ autograd) | " + " | ".join(LIBRARIES) + " | matmul only |",
        "| --- | --- | " + " | ".join("---" for _ in LIBRARIES) + " | --- |",
    ]
    for key, title, unit, per, goal in WORKLOADS:
        r = results.get(key)
        if r is None:
            lines.append(
                f"| {title}, per {unit} | {goal} | not measured with these threads | "
                + " | ".join("–" for _ in LIBRARIES)
                + " |"
            )
            continue
        base = r["autograd"]
        cells = [cell(r.get(lib), per, base) for lib in LIBRARIES + ["matmul only"]]
        lines.append(f"| {title}, per {unit} | {goal} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def chart(results, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    import numpy as np

    others = ["pytorch", "micrograd", "dezero"]
    keys = [w[0] for w in WORKLOADS]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.26
    for j, lib in enumerate(others):
        ratios = [results[k].get(lib, np.nan) / results[k]["autograd"] for k in keys]
        ax.bar(np.arange(len(keys)) + (j - 1) * width, ratios, width, label=lib)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(keys)), [SHORT[k] for k in keys], rotation=15, fontsize=8)
    ax.set_ylabel("time ÷ autograd's time (log)")
    ax.set_title("Each library's time as a multiple of autograd's (above 1: autograd is faster)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def versions():
    import harness
    import numpy as np

    out = {"numpy": np.__version__}
    torch = harness.load_torch()
    out["pytorch"] = torch.__version__ if torch is not None else "not installed"
    try:
        from importlib.metadata import version

        out["micrograd"] = version("micrograd")
    except Exception:
        out["micrograd"] = "not installed"
    dz = harness.load_dezero()
    out["dezero"] = getattr(dz, "__version__", "installed") if dz is not None else "not installed"
    try:
        out["jax"] = version("jax")
    except Exception:
        out["jax"] = "not installed"
    return out, harness.machine()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--memory", help=argparse.SUPPRESS)
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[w[0] for w in WORKLOADS],
        help="measure these workloads only; keep the others from results.json",
    )
    args = parser.parse_args(argv)
    if args.child:  # bound to as many cores as threads when harness loads
        print(json.dumps(child(args.rounds, args.only)))
        return
    if args.memory:
        print(json.dumps(memory_child(args.memory)))
        return

    previous = {"threads": {}, "memory": {}, "cnn_memory": {}}
    if args.only:
        if not (HERE / "results.json").exists():
            raise SystemExit("--only needs the results of a full run (benchmarks/results.json)")
        previous.update(json.loads((HERE / "results.json").read_text()))
    by_threads = {int(n): r for n, r in previous["threads"].items()}
    for n in args.threads:
        print(f"{n} thread(s):", file=sys.stderr, flush=True)
        only = ["--only"] + args.only if args.only else []
        by_threads[n] = dict(previous["threads"].get(str(n), {}))
        by_threads[n].update(spawn(["--child", "--rounds", str(args.rounds)] + only, n))
    memory = previous["memory"]
    if not args.only or "bigmlp64" in args.only:
        memory = {}
        for lib in ("autograd", "pytorch"):
            try:
                memory[lib] = spawn(["--memory", lib], 1)
            except SystemExit:
                memory[lib] = None
    cnn_memory = previous["cnn_memory"]
    if not args.only or {"cnn32", "cnn64"} & set(args.only):
        import cnn

        cnn_memory = {dtype: cnn.memory(dtype) for dtype in ("float32", "float64")}
    v, machine = versions()
    for lib, version in previous.get("versions", {}).items():
        if v.get(lib) == "not installed":  # measured in the previous run, kept from it
            v[lib] = version
    parts = [
        f"# Benchmark results\n\nMeasured {datetime.date.today().isoformat()} with "
        f"`python benchmarks/run.py` on {machine}; "
        + ", ".join(f"{k} {val}" for k, val in v.items())
        + ". Each cell is the median of "
        f"{args.rounds} rounds (libraries alternated in one process); (Nx) is that library's "
        "time as a multiple of autograd's, so above 1 means autograd is faster. Every "
        "library starts from the same data and weights and must reach the same result."
    ]
    if args.only:
        parts[0] += (
            f" This run re-measured only {', '.join(args.only)}; the other rows are "
            "from the previous full run (results.json)."
        )
    for n, results in sorted(by_threads.items()):
        parts.append(f"\n## {n} BLAS thread{'s' if n > 1 else ''}\n\n" + table(results))
    if memory.get("autograd") is not None:
        parts.append(
            "\n## Peak memory, big MLP (float64, 10 steps)\n\n| library | peak added |\n| --- | --- |\n"
            + "\n".join(f"| {lib} | {mb:.0f} MiB |" for lib, mb in memory.items() if mb is not None)
        )
    if cnn_memory:
        libs = list(cnn_memory["float32"])
        parts.append(
            "\n## Peak memory, digits CNN (20 steps after a warm-up step)\n\n"
            "| library | float32 | float64 |\n| --- | --- | --- |\n"
            + "\n".join(
                f"| {lib} | {cnn_memory['float32'][lib]:.2f} MiB | "
                f"{cnn_memory['float64'][lib]:.2f} MiB |"
                for lib in libs
            )
        )
    (HERE / "results.json").write_text(
        json.dumps(
            {"threads": by_threads, "memory": memory, "cnn_memory": cnn_memory, "versions": v},
            indent=1,
        )
    )
    drew = chart(by_threads[args.threads[0]], HERE / "results.png")
    parts.append(
        "\n![ratios](results.png)\n" if drew else "\n(matplotlib is not installed: no chart)\n"
    )
    (HERE / "results.md").write_text("\n".join(parts) + "\n")
    print((HERE / "results.md").read_text())


if __name__ == "__main__":
    main()
