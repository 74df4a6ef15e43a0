"""Each example prints, byte for byte, what its seed page prints."""

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
