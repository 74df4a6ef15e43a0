"""ag.dot: the seed's DOT text, complete higher-order graphs, rendering, the CLI."""

import re
import shutil
import subprocess
import sys

import pytest

import autograd as ag
import autograd.dot as dot
import autograd.functions as F

SIN_GRAPH = """digraph g {
"0x**********" [label="y", color=orange, style=filled]
"0x**********" [label="Sin", color=lightblue, style=filled, shape=box]
"0x**********" -> "0x**********"
"0x**********" -> "0x**********"
"0x**********" [label="x", color=orange, style=filled]
}"""

COMPOSITE = """digraph g {
"0x**********" [label="z", color=orange, style=filled]
"0x**********" [label="Cos", color=lightblue, style=filled, shape=box]
"0x**********" -> "0x**********"
"0x**********" -> "0x**********"
"0x**********" [label="y", color=orange, style=filled]
"0x**********" [label="Sin", color=lightblue, style=filled, shape=box]
"0x**********" -> "0x**********"
"0x**********" -> "0x**********"
"0x**********" [label="x", color=orange, style=filled]
}"""


def test_seed_sin_graph():
    x = ag.variable(1.0, name="x")
    y = F.sin(x)
    y.name = "y"
    assert dot.mask_ids(dot.graph(y)) == SIN_GRAPH


def test_seed_composite_graph_and_edges_point_the_right_way():
    x = ag.variable(1.0, name="x")
    y = F.sin(x)
    z = F.cos(y)
    y.name, z.name = "y", "z"
    text = dot.graph(z)
    assert dot.mask_ids(text) == COMPOSITE
    edges = re.findall(r'"(0x[0-9a-f]+)" -> "(0x[0-9a-f]+)"', text)
    fx, fy = f"0x{id(x):x}", f"0x{id(y):x}"
    sin, cos = f"0x{id(y.creator):x}", f"0x{id(z.creator):x}"
    assert edges == [(fy, cos), (cos, f"0x{id(z):x}"), (fx, sin), (sin, fy)]


def test_verbose_labels_with_values():
    x = ag.variable(1.0, name="x")
    text = dot.graph(F.sin(x), verbose=True)
    assert 'label="x(1)"' in text and 'label="variable(0.8414709848078965)"' in text


def walk(v):
    """Every function and variable behind v, found independently of dot."""
    funcs, variables, stack = {}, {id(v): v}, [v]
    while stack:
        u = stack.pop()
        if u.creator is not None and id(u.creator) not in funcs:
            funcs[id(u.creator)] = u.creator
            for x in u.creator.inputs:
                variables[id(x)] = x
                stack.append(x)
    return funcs, variables


def test_higher_order_graph_has_every_node_and_edge():
    g = dot.derivative_graph("tanh", 3)
    text = dot.graph(g)
    funcs, variables = walk(g)
    node_ids = re.findall(r'^"(0x[0-9a-f]+)" \[', text, re.M)
    assert set(node_ids) == {f"0x{k:x}" for k in list(funcs) + list(variables)}
    edges = set(re.findall(r'"(0x[0-9a-f]+)" -> "(0x[0-9a-f]+)"', text))
    for f in funcs.values():
        for x in f.inputs:
            assert (f"0x{id(x):x}", f"0x{id(f):x}") in edges
    assert text.count("shape=box") == len(funcs)
    assert 'label="gx3"' in text and 'label="x"' in text and 'label="y"' in text


def test_graph_of_a_leaf_and_bad_input():
    assert dot.mask_ids(dot.graph(ag.variable(1.0, name="a"))) == (
        'digraph g {\n"0x**********" [label="a", color=orange, style=filled]\n}'
    )
    with pytest.raises(TypeError, match="expected a Variable"):
        dot.graph(3.0)


def test_render_without_graphviz_says_how_and_keeps_the_dot_file(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    x = ag.variable(1.0, name="x")
    with pytest.raises(dot.GraphvizNotFound, match="apt-get install graphviz"):
        dot.render(F.sin(x), tmp_path / "g.png")
    assert (tmp_path / "g.dot").read_text().startswith("digraph g {")
    assert not (tmp_path / "g.png").exists()


def test_render_bad_suffix(tmp_path):
    with pytest.raises(ValueError, match="should end in one of"):
        dot.render(ag.variable(1.0), tmp_path / "g.jpg")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<"), (".pdf", b"%PDF")])
def test_render_formats(tmp_path, suffix, magic):
    out = dot.render(F.tanh(ag.variable(0.5, name="x")), tmp_path / f"g{suffix}")
    data = open(out, "rb").read()
    assert data.lstrip()[: len(magic)] == magic


def test_cli_prints_dot():
    out = subprocess.run(
        [sys.executable, "-m", "autograd.dot", "--func", "sin", "--order", "1"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stderr == ""
    text = dot.mask_ids(out.stdout)
    assert text.startswith('digraph g {\n"0x**********" [label="gx1"')
    assert '[label="Cos", color=lightblue' in text and text.rstrip().endswith("}")


def test_cli_writes_a_file_and_rejects_bad_arguments(tmp_path, capsys):
    # main() is what `python -m autograd.dot` runs (launched as such above)
    target = tmp_path / "t.dot"
    assert dot.main(["--func", "tanh", "--order", "2", "--verbose", "-o", str(target)]) == 0
    assert "gx2(" in target.read_text()
    with pytest.raises(SystemExit) as bad:
        dot.main(["--order", "0"])
    assert bad.value.code != 0 and "order must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad:
        dot.main(["--func", "sqrt"])
    assert bad.value.code != 0 and "invalid choice" in capsys.readouterr().err
