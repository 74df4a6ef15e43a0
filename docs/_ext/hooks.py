"""MkDocs hooks: bring the benchmark results (kept beside the benchmarks) into the site.

``benchmarks/results.md`` and its chart are written by ``python benchmarks/run.py`` next
to the benchmarks, and the pages in ``docs/`` link to them as ``../benchmarks/...`` so the
links work on the repository page too. The site serves both files under ``benchmarks/``
and rewrites those links to point there: one copy of the numbers, no stale duplicate.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = ("benchmarks/results.md", "benchmarks/results.png")
_LINK = re.compile(r"\]\(((?:\.\./)+)benchmarks/")


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
    return files


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    # one "../" fewer: docs/x.md's "../benchmarks/" is the site's "benchmarks/"
    return _LINK.sub(lambda m: "](" + m.group(1)[3:] + "benchmarks/", markdown)
