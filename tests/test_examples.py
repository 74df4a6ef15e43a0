"""Each example prints, byte for byte, what its seed page prints."""

import importlib.util
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXPECTED = ROOT / "tests" / "expected"
SEEDS = ROOT.parent / "shared" / "seeds"

EXAMPLES = ["quickstart", "gradient_descent", "higher_order", "variables"]


def run_example(name):
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / f"{name}.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return out.stdout


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_prints_expected(name):
    assert run_example(name) == (EXPECTED / f"{name}.txt").read_text()


def seed_text(prefix):
    matches = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    if not matches:
        pytest.skip("the seed pages (../shared/seeds) are not beside this checkout")
    return matches[0].read_text()


def block_after(text, marker, count):
    """The ``count`` lines of printed output that follow ``marker`` in a seed page."""
    lines = text[text.index(marker) + len(marker) :].strip("\n").splitlines()
    return lines[:count]


def test_expected_outputs_are_the_seed_pages():
    """The stored expectations are the seed pages' printed lines, not our own output."""
    s1 = seed_text("001")
    s2 = seed_text("002")
    s4 = seed_text("004")
    quick = (EXPECTED / "quickstart.txt").read_text().splitlines()
    assert quick[0] == "variable(1.648721270700128)"
    assert quick[1] == "variable(3.297442541400256)"
    assert "fmt.Println(y) // variable(1.648721270700128)" in s1
    assert "fmt.Println(x.Grad) // variable(3.297442541400256)" in s1
    assert "// variable(0.040000000000000036) variable(0.040000000000000036)" in s1
    assert quick[2] == "variable(0.040000000000000036) variable(0.040000000000000036)"
    sin_lines = re.findall(r"// (variable\([-0-9.]+\))", s1[s1.index("Higher-order") :])
    assert quick[3:] == sin_lines[:2] + sin_lines[2:7]

    descent = (EXPECTED / "gradient_descent.txt").read_text().splitlines()
    assert descent[:11] == block_after(s2, "Output at every 1,000th iteration:\n", 11)
    assert descent[11:13] == ["variable(0.040000000000000036)"] * 2
    assert descent[13:] == ["variable(2)", "variable(5)", "variable(3)"]

    higher = (EXPECTED / "higher_order.txt").read_text().splitlines()
    assert higher[:7] == block_after(s4, "Output:\n", 7)
    newton = s4[s4.index("Newton") :]
    assert higher[7:17] == block_after(newton, "Output:\n", 10)
    assert higher[17] == "variable(100)" and "// variable(100)" in s4


def test_variables_example_matches_seed_000():
    s0 = seed_text("000")
    lines = (EXPECTED / "variables.txt").read_text().splitlines()
    assert "x.Shape()   // []int{2, 3}" in s0 and lines[0] == "[2, 3]"
    assert "x.At(1, 2)  // 6.0" in s0 and lines[3] == "6.0"
    assert "fmt.Println(x) // x[2]([1 2])" in s0 and lines[5] == "x[2]([1 2])"
    assert lines[6:8] == ["variable(6)", "variable(6)"]


def test_classify_example_learns_the_spiral(tmp_path):
    """The spiral classifier prints its progress and a test accuracy of at least 95%;
    --plot draws the decision regions."""
    pytest.importorskip("autograd.data")
    args = [sys.executable, str(ROOT / "examples" / "classify.py"), "--epochs", "60"]
    plot = tmp_path / "regions.png"
    has_plot = importlib.util.find_spec("matplotlib") is not None
    if has_plot:
        args += ["--plot", str(plot)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("epoch    1  loss ") and "train accuracy" in lines[0]
    assert [line.split()[1] for line in lines[:-1]] == ["1", "25", "50", "60"]
    assert lines[-1].startswith("test accuracy ") and lines[-1].endswith("(120 points)")
    assert float(lines[-1].split()[2]) >= 0.95
    if has_plot:
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "classify.py"), "--lr", "nan"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--lr" in bad.stderr and "Traceback" not in bad.stderr
