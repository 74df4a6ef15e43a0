"""The documentation site: built strictly, every public name in the API reference, and
rendered in a real browser (headless Chromium) to PNG.

Skipped where mkdocs (the ``docs`` extra) or the repository's ``mkdocs.yml`` is missing
(an installed wheel is tested without them); the browser part is skipped without
Chromium (Debian's package: ``apt-get install chromium``).
"""

import importlib
import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

# module -> its page of the reference (docs/reference/<page>.md); modules added by
# later work are checked as soon as they exist.
REFERENCE = {
    "autograd": "autograd",
    "autograd.functions": "functions",
    "autograd.layers": "layers",
    "autograd.models": "models",
    "autograd.optimizers": "optimizers",
    "autograd.hooks": "hooks",
    "autograd.numerical": "numerical",
    "autograd.random": "random",
    "autograd.dot": "dot",
    "autograd.functional": "functional",
    "autograd.data": "data",
    "autograd.distributed": "distributed",
}

pytestmark = [
    pytest.mark.skipif(not (ROOT / "mkdocs.yml").exists(), reason="no mkdocs.yml (not a checkout)"),
    pytest.mark.skipif(
        importlib.util.find_spec("mkdocs") is None,
        reason='mkdocs is not installed (pip install -e ".[docs]")',
    ),
]


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = dict(
        os.environ,
        NO_MKDOCS_2_WARNING="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return out


def existing_modules():
    return [m for m in REFERENCE if importlib.util.find_spec(m) is not None]


def public_names(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n
            for n, v in vars(module).items()
            if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__
        ]
    return list(names)


def test_every_module_has_a_reference_page():
    for name in existing_modules():
        assert (ROOT / "docs" / "reference" / f"{REFERENCE[name]}.md").exists(), name


@pytest.mark.parametrize("name", existing_modules())
def test_every_public_name_is_in_the_reference(site, name):
    module = importlib.import_module(name)
    html = (site / "reference" / REFERENCE[name] / "index.html").read_text()
    # every documented object is a heading whose id is its path (autograd.functions.add)
    ids = set(re.findall(r'id="([\w.]+)"', html))
    last = {i.rsplit(".", 1)[-1] for i in ids if i.startswith("autograd")}
    missing = []
    for public in public_names(module):
        value = getattr(module, public)
        if isinstance(value, types.ModuleType):
            # a submodule: it has its own page, linked from this one
            page = REFERENCE.get(value.__name__)
            if page is None or f'href="../{page}/' not in html:
                missing.append(public)
        elif public not in last:
            missing.append(public)
    assert not missing, f"{name}: not in the reference: {missing}"


def test_compiled_functions_show_signature_and_docstring(site):
    html = (site / "reference" / "functions" / "index.html").read_text()
    text = re.sub(r"<[^>]+>", "", html)
    # the stub's annotations and the compiled docstring, less its embedded signature line
    assert re.search(r"conv2d\(\s*x:\s*ArrayLike,", text), "conv2d's stub signature is missing"
    assert "2-D convolution (cross-correlation" in text
    assert "with broadcasting" in text  # add's docstring
    assert "method descriptor" not in text


@pytest.mark.skipif(
    chromium() is None, reason="Chromium is not installed (apt-get install chromium)"
)
@pytest.mark.parametrize(
    "page, expected",
    [
        ("index.html", ["autograd", "Getting started", "API reference"]),
        (
            "reference/functions/index.html",
            [
                "autograd.functions",
                "conv2d",
                "softmax_cross_entropy",
                "ArrayLike",
                "with broadcasting",
            ],
        ),
    ],
)
def test_browser_renders(site, tmp_path, page, expected):
    url = (site / page).as_uri()
    browser = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    png = tmp_path / "page.png"
    shot = subprocess.run(
        browser + ["--window-size=1280,1600", f"--screenshot={png}", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot.stderr[-2000:]
    assert png.stat().st_size > 20_000, "the screenshot is (nearly) blank"
    dom = subprocess.run(browser + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = re.sub(r"<[^>]+>", " ", dom.stdout)
    for name in expected:
        assert name in text, f"{page}: {name!r} is not shown"
