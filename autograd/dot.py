"""The graph behind a variable in Graphviz's DOT language, as the seed draws it.

Variables are orange ellipses labelled with their name (or with ``str(v)`` when
verbose); functions are light-blue boxes labelled with their name (``Sin``). The
text is the same from run to run apart from the node ids.

>>> import autograd as ag
>>> import autograd.functions as F
>>> x = ag.variable(1.0, name="x")
>>> y = F.sin(x)
>>> y.name = "y"
>>> print(mask_ids(graph(y)))
digraph g {
"0x**********" [label="y", color=orange, style=filled]
"0x**********" [label="Sin", color=lightblue, style=filled, shape=box]
"0x**********" -> "0x**********"
"0x**********" -> "0x**********"
"0x**********" [label="x", color=orange, style=filled]
}

Command line, as the seed's program (DOT on stdout, or a file with ``-o``)::

    python -m autograd.dot --func tanh --order 2 --verbose > sample.dot
    python -m autograd.dot --func tanh --order 3 -o tanh3.png
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
from typing import Any, Optional, Sequence

__all__ = ["graph", "render", "mask_ids", "GraphvizNotFound", "main"]

_VAR = '"{id}" [label="{label}", color=orange, style=filled]'
_FUNC = '"{id}" [label="{label}", color=lightblue, style=filled, shape=box]'
_EDGE = '"{a}" -> "{b}"'
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


class GraphvizNotFound(RuntimeError):
    """Graphviz's ``dot`` program is not installed."""


def _id(obj):
    return f"0x{id(obj):x}"


def _quote(text):
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def _var(v, verbose):
    label = str(v) if verbose else (v.name or "")
    return _VAR.format(id=_id(v), label=_quote(label))


def graph(v: Any, verbose: bool = False) -> str:
    """The DOT text of the graph that made ``v``.

    The walk is the seed's: functions are taken last-found first; each function
    is written with an edge from each input and to each output the walk reached
    it through, then its inputs.
    """
    from autograd.variable import Variable
    if not isinstance(v, Variable):
        raise TypeError(f"graph: expected a Variable, got {type(v).__name__}")
    lines = ["digraph g {", _var(v, verbose)]
    outputs: dict = {}  # function id -> outputs found so far (functions do not hold them)
    stack, seen = [], set()

    def add(f, out):
        outputs.setdefault(id(f), [])
        if all(o is not out for o in outputs[id(f)]):
            outputs[id(f)].append(out)
        if id(f) not in seen:
            seen.add(id(f))
            stack.append(f)

    if v.creator is not None:
        add(v.creator, v)
    while stack:
        f = stack.pop()
        lines.append(_FUNC.format(id=_id(f), label=_quote(f.name)))
        lines.extend(_EDGE.format(a=_id(x), b=_id(f)) for x in f.inputs)
        lines.extend(_EDGE.format(a=_id(f), b=_id(y)) for y in outputs[id(f)])
        for x in f.inputs:
            lines.append(_var(x, verbose))
            if x.creator is not None:
                add(x.creator, x)
    lines.append("}")
    return "\n".join(lines)


def mask_ids(text: str) -> str:
    """``text`` with node ids replaced by ``0x**********`` (for comparing graphs)."""
    return re.sub(r'"0x[0-9a-f]+"', '"0x**********"', text)


def render(v: Any, path: Any, verbose: bool = False) -> str:
    """Write the graph of ``v`` to ``path`` (``.png``, ``.svg`` or ``.pdf``) with
    Graphviz's ``dot``, and the DOT text beside it (``path`` with suffix ``.dot``).

    Raises ``GraphvizNotFound``, saying how to install Graphviz, when ``dot`` is
    missing; the ``.dot`` file is written all the same.
    """
    path = os.fspath(path)
    stem, suffix = os.path.splitext(path)
    fmt = FORMATS.get(suffix.lower())
    if fmt is None:
        raise ValueError(f"render: {path!r} should end in one of {', '.join(FORMATS)}")
    dot_path = stem + ".dot"
    folder = os.path.dirname(dot_path)
    if folder and not os.path.isdir(folder):
        raise FileNotFoundError(f"render: the folder {folder!r} of {path!r} does not exist")
    with open(dot_path, "w") as f:
        f.write(graph(v, verbose) + "\n")
    program = shutil.which("dot")
    if program is None:
        raise GraphvizNotFound(
            f"Graphviz's dot program is not installed, so {path!r} was not drawn; "
            f"the DOT text is in {dot_path!r}. Install Graphviz (Debian/Ubuntu: "
            f"apt-get install graphviz; macOS: brew install graphviz; conda: conda install "
            f"graphviz) or paste the text into an online Graphviz viewer.")
    done = subprocess.run([program, f"-T{fmt}", dot_path, "-o", path],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"render: dot failed on {dot_path!r}: {done.stderr.strip()}")
    return path


def _functions():
    import autograd.functions as F
    return {
        "sin": F.sin, "cos": F.cos, "tanh": F.tanh, "exp": F.exp, "log": F.log,
        "pow": lambda x: F.pow(x, 3.0), "square": F.square, "neg": F.neg,
    }


def derivative_graph(func: str, order: int, x: float = 1.0) -> Any:
    """The seed program's graph: the ``order``-th derivative of ``func`` at ``x``,
    by repeated ``create_graph`` backward, with the variables named x, y, gx1..."""
    import autograd as ag
    if order < 1:
        raise ValueError(f"order must be at least 1, got {order}")
    fns = _functions()
    if func not in fns:
        raise ValueError(f"func {func!r} not found; expected one of {', '.join(sorted(fns))}")
    xv = ag.variable(x, name="x")
    y = fns[func](xv)
    y.name = "y"
    y.backward(create_graph=True)
    for i in range(1, order):
        gx: Any = xv.grad
        xv.cleargrad()
        gx.backward(create_graph=True)
        gx.name = f"gx{i}"
    result = xv.grad
    assert result is not None
    result.name = f"gx{order}"
    return result


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m autograd.dot``: print (or with ``-o`` write) the graph of a
    function's ``--order``-th derivative at ``--x``."""
    parser = argparse.ArgumentParser(
        prog="python -m autograd.dot",
        description="Print the graph of a function's n-th derivative in DOT (the seed's program).")
    parser.add_argument("--func", "-func", default="tanh", choices=sorted(_functions()))
    parser.add_argument("--order", "-order", type=int, default=1)
    parser.add_argument("--x", "-x", type=float, default=1.0)
    parser.add_argument("--verbose", "-verbose", action="store_true")
    parser.add_argument("-o", "--output", help="write to FILE (.dot, .png, .svg or .pdf)")
    args = parser.parse_args(argv)
    if args.order < 1:
        parser.error("--order must be at least 1")
    if args.output is not None:
        suffix = os.path.splitext(args.output)[1].lower()
        if suffix != ".dot" and suffix not in FORMATS:
            parser.error(f"-o {args.output!r} should end in one of .dot, {', '.join(FORMATS)}")
        folder = os.path.dirname(args.output)
        if folder and not os.path.isdir(folder):
            parser.error(f"-o {args.output!r}: the folder {folder!r} does not exist")
        if os.path.isdir(args.output):
            parser.error(f"-o {args.output!r} is a directory")
    g = derivative_graph(args.func, args.order, args.x)
    if args.output is None:
        print(graph(g, args.verbose))
        return 0
    try:
        if os.path.splitext(args.output)[1].lower() == ".dot":
            with open(args.output, "w") as f:
                f.write(graph(g, args.verbose) + "\n")
        else:
            render(g, args.output, args.verbose)
    except (GraphvizNotFound, ValueError, RuntimeError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
