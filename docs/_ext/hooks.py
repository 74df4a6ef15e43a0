"""MkDocs hooks.

1. The benchmark results (kept beside the benchmarks) in the site. ``benchmarks/results.md``
   and its chart are written by ``python benchmarks/run.py`` next to the benchmarks, and the
   pages in ``docs/`` link to them as ``../benchmarks/...`` so the links work on the
   repository page too. The site serves both files under ``benchmarks/`` and rewrites those
   links to point there: one copy of the numbers, no stale duplicate.
2. No public module or guide page left out. A public module of ``autograd`` (a module in
   ``REFERENCE`` that exists) without its page in ``docs/reference/`` gets a generated one
   (``::: autograd.<name>``), and every reference page and every guide page (``docs/*.md``)
   missing from ``nav`` is added to it, so that a module or a page added by other work is
   in the site and its reference at once (a hand-written page can replace it any time).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXTERNAL = ("benchmarks/results.md", "benchmarks/results.png")
_LINK = re.compile(r"\]\(((?:\.\./)+)benchmarks/")

# module -> its reference page, docs/reference/<page>.md (tests/test_docs_site.py checks
# that every public name of each of them is in the built reference)
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
REFERENCE_SECTION = "API reference"
NOT_GUIDES = {"index.md", "README.md", "changelog.md"}


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


def _generated_pages() -> dict[str, str]:
    """reference/<page>.md -> its generated text, for the modules without a written page."""
    return {
        f"reference/{page}.md": f"::: {module}\n"
        for module, page in REFERENCE.items()
        if _exists(module) and not (DOCS / "reference" / f"{page}.md").exists()
    }


def _nav_pages(nav: Any) -> set[str]:
    if isinstance(nav, str):
        return {nav}
    if isinstance(nav, list):
        return set().union(*(_nav_pages(item) for item in nav)) if nav else set()
    if isinstance(nav, dict):
        return set().union(*(_nav_pages(value) for value in nav.values())) if nav else set()
    return set()


def on_config(config: Any, **kwargs: Any) -> Any:
    nav = config["nav"]
    if not nav:
        return config
    listed = _nav_pages(nav)
    reference = next(
        (
            item[REFERENCE_SECTION]
            for item in nav
            if isinstance(item, dict) and REFERENCE_SECTION in item
        ),
        None,
    )
    if reference is not None:
        for module, page in REFERENCE.items():
            path = f"reference/{page}.md"
            if path not in listed and _exists(module):
                reference.append({module: path})
    at = next(
        (
            i
            for i, item in enumerate(nav)
            if isinstance(item, dict) and ("API guide" in item or REFERENCE_SECTION in item)
        ),
        len(nav),
    )
    for page in sorted(p.name for p in DOCS.glob("*.md")):
        if page not in listed and page not in NOT_GUIDES:
            title = page[:-3].replace("-", " ").capitalize()
            nav.insert(at, {title: page})
            at += 1
    return config


def on_files(files: Files, config: Any, **kwargs: Any) -> Files:
    for uri in EXTERNAL:
        if (ROOT / uri).exists():
            files.append(
                File(
                    uri,
                    src_dir=str(ROOT),
                    dest_dir=config["site_dir"],
                    use_directory_urls=config["use_directory_urls"],
                )
            )
    for uri, text in _generated_pages().items():
        files.append(File.generated(config, uri, content=text))
    return files


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    # one "../" fewer: docs/x.md's "../benchmarks/" is the site's "benchmarks/"
    return _LINK.sub(lambda m: "](" + m.group(1)[3:] + "benchmarks/", markdown)
