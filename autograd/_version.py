"""The version of autograd: the one place it is written.

``pyproject.toml`` reads it at build time (``[tool.setuptools.dynamic]``) and
``autograd.__version__`` re-exports it, so the wheel, the sdist and the package agree.
"""

__version__ = "0.2.0"
