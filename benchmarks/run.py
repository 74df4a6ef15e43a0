"""Run every workload side by side and write ``benchmarks/results.md``.

    python benchmarks/run.py [--rounds R]

Each workload runs in this one process for every installed library, alternating
libraries round by round, with one BLAS thread; the table gives the median time
per iteration and each library's time as a multiple of autograd's.
"""
import argparse
import datetime
import pathlib

import harness
import lstm
import mlp
import rosenbrock

HERE = pathlib.Path(__file__).resolve().parent

WORKLOADS = [
    ("Rosenbrock, 10,000 steps (seed 002)", "step", 10000, lambda: rosenbrock.runners(10000)),
    ("Seed MLP 1-10-1, batch 100, 1,000 steps", "step", 1000, lambda: mlp.runners(1000)),
    ("Seed LSTM, hidden 100, batch 30, bptt 30, 20 epochs", "epoch", 20, lambda: lstm.runners(20)),
]
LIBRARIES = ["autograd", "pytorch", "micrograd", "dezero"]


def versions():
    import numpy as np
    out = {"autograd": "this tree", "numpy": np.__version__}
    torch = harness.load_torch()
    out["pytorch"] = torch.__version__ if torch is not None else "not installed"
    try:
        from importlib.metadata import version
        out["micrograd"] = version("micrograd")
    except Exception:
        out["micrograd"] = "not installed"
    dz = harness.load_dezero()
    out["dezero"] = getattr(dz, "__version__", "installed") if dz is not None else "not installed"
    return out


def cell(seconds, per, base):
    each = seconds / per * 1e6
    text = f"{each:,.1f} µs" if each < 10000 else f"{each / 1000:,.1f} ms"
    return text if seconds == base else f"{text} ({seconds / base:.1f}x)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    for title, unit, per, make in WORKLOADS:
        measured = harness.compare(make(), args.rounds)
        base = measured["autograd"][0]
        cells = [cell(measured[lib][0], per, base) if lib in measured else "–" for lib in LIBRARIES]
        rows.append(f"| {title}, per {unit} | " + " | ".join(cells) + " |")
        print(rows[-1], flush=True)
    v = versions()
    text = "\n".join([
        "| workload | " + " | ".join(LIBRARIES) + " |",
        "| --- | " + " | ".join("---" for _ in LIBRARIES) + " |",
        *rows,
        "",
        f"Median of {args.rounds} rounds, one BLAS thread, libraries alternated in one process; "
        f"(Nx) = that library's time as a multiple of autograd's (higher: autograd is faster). "
        f"Machine: {harness.machine()}. Versions: " + ", ".join(f"{k} {val}" for k, val in v.items())
        + f". Measured {datetime.date.today().isoformat()} with `python benchmarks/run.py`.",
        "",
    ])
    (HERE / "results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
