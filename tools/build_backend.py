"""The build backend: setuptools', asking for Cython and NumPy only when something must
be built.

An install of a tree whose extensions are built and up to date beside their sources
(``setup.py``, ``all_built``) only copies them, so pip need not install Cython and NumPy
into its isolated build environment (about 9 s): the README's second command, after its
first. An sdist never needs them; a wheel or editable install of a clean tree does.
"""

import runpy

from setuptools import build_meta
from setuptools.build_meta import *  # noqa: F403 (the other hooks, unchanged)


def _build_requires():
    setup = runpy.run_path("setup.py", run_name="build_backend")
    return [] if setup["all_built"]() else setup["BUILD_REQUIRES"]


def get_requires_for_build_wheel(config_settings=None):
    return build_meta.get_requires_for_build_wheel(config_settings) + _build_requires()


def get_requires_for_build_editable(config_settings=None):
    return build_meta.get_requires_for_build_editable(config_settings) + _build_requires()
