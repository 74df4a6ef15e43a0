"""Side-by-side timing: each library runs the same workload in this one process,
alternating libraries round by round; the median of the rounds is reported with
its ratio to autograd's. Libraries that are not installed are skipped with a note.
"""

import gc
import os
import platform
import statistics
import sys
import time

# One BLAS/OpenMP thread for every library unless the caller says otherwise.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


def _bind():
    """The process bound to as many cores as threads (where the OS can): at one thread
    every library runs on one core, whatever threads of its own it starts. JAX's runtime
    has some besides Eigen's: unbound, its big MLP at "one thread" used both cores and
    took 10.9 ms a step against 19.4 ms bound."""
    if not hasattr(os, "sched_setaffinity"):
        return
    threads = int(os.environ["OMP_NUM_THREADS"])
    cores = sorted(os.sched_getaffinity(0))
    if 0 < threads < len(cores):
        os.sched_setaffinity(0, cores[:threads])


_bind()


def load_torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    return torch


def load_jax():
    """JAX on the CPU, float64 enabled (each workload's arrays say their dtype), on as
    many threads as the other libraries: one BLAS thread means XLA's single-threaded
    Eigen. Each workload jits its whole training step, as JAX's users write it, and
    compiles it before the clock starts."""
    if os.environ["OMP_NUM_THREADS"] == "1" and "xla_cpu_multi_thread_eigen" not in os.environ.get(
        "XLA_FLAGS", ""
    ):
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
        ).strip()
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_platforms", "cpu")
    jax.config.update("jax_enable_x64", True)
    return jax


def jax_sgd(jax, loss_of, x, t, init, steps, lr):
    """A JAX runner of ``steps`` SGD steps on ``loss_of(params, x, t)`` from ``init``:
    the training step jitted and compiled once (before the clock), the loop in Python.
    Returns a callable giving the last step's loss."""
    jnp = jax.numpy

    @jax.jit
    def step(p, x, t):
        loss, g = jax.value_and_grad(loss_of)(p, x, t)
        return jax.tree_util.tree_map(lambda v, gv: v - lr * gv, p, g), loss

    xj, tj = jnp.asarray(x), jnp.asarray(t)
    start = {k: jnp.asarray(v) for k, v in init.items()}
    jax.block_until_ready(step(start, xj, tj))

    def run():
        p = start
        for _ in range(steps):
            p, loss = step(p, xj, tj)
        return float(loss)

    return run


def load_micrograd():
    try:
        from micrograd.engine import Value
    except ImportError:
        return None
    return Value


def load_dezero():
    import numpy as np

    if not hasattr(np, "int"):
        np.int = int  # DeZero 0.0.13 still names np.int
    try:
        import dezero
    except ImportError:
        return None
    return dezero


def compare(runners, rounds=3, reference="autograd"):
    """Time each ``runners[name]()`` (a callable returning a result to check) ``rounds``
    times, alternating libraries; return ``{name: (median_seconds, result)}``.

    The collector stays on, as users run; before each timed run (untimed) it collects
    what the runs before left in reference cycles (DeZero's and micrograd's graphs are
    cycles), so that no library pays for another's garbage: left in place, DeZero's
    cycles made the full collections during autograd's tanh derivatives take 28 to 36
    ms a run instead of 11 to 12."""
    times = {name: [] for name in runners}
    results = {}
    for _ in range(rounds):
        for name, run in runners.items():
            gc.collect()
            start = time.perf_counter()
            results[name] = run()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(ts), results[name]) for name, ts in times.items()}


def report(title, measured, per=None, unit="iteration", reference="autograd"):
    """Print a table of medians, time per ``unit`` and the ratio to ``reference``."""
    base = measured[reference][0]
    print(f"\n{title}")
    print(f"{'library':<12} {'total (s)':>10} {'per ' + unit:>18} {'vs autograd':>12}")
    for name, (seconds, _) in measured.items():
        each = f"{seconds / per * 1e6:.2f} us" if per else ""
        if name == reference:
            ratio = "1.00x"
        elif seconds >= base:
            ratio = f"{seconds / base:.2f}x slower"
        else:
            ratio = f"{base / seconds:.2f}x faster"
        print(f"{name:<12} {seconds:>10.3f} {each:>18} {ratio:>12}")


def machine():
    import numpy as np

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}"
    )


def installed(autograd, pytorch=None, micrograd=None, dezero=None, jax=None):
    """The runners of the installed libraries. ``autograd`` is a callable; each other
    argument a function of that library's loaded module returning a callable. A library
    that is not installed is skipped with a note, never faked."""
    out = {"autograd": autograd}
    for name, make, load in (
        ("pytorch", pytorch, load_torch),
        ("micrograd", micrograd, load_micrograd),
        ("dezero", dezero, load_dezero),
        ("jax", jax, load_jax),
    ):
        if make is None:
            continue
        lib = load()
        if lib is None:
            print(f"note: {name} is not installed; skipped", file=sys.stderr)
            continue
        out[name] = make(lib)
    return out


def agree(measured, rtol):
    """autograd's result, after checking every library reached it (exit otherwise)."""
    import numpy as np

    expected = measured["autograd"][1]
    for name, (_, result) in measured.items():
        if result is not None and not np.allclose(result, expected, rtol=rtol):
            sys.exit(f"{name} gives {result}, autograd {expected}: the workloads differ")
    return expected
