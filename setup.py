"""Build the compiled core: every ``autograd/_core/*.pyx`` becomes an extension.

Compiler directives are set once, here. ``AUTOGRAD_DEBUG=1`` in the environment
turns bounds checks, wraparound and None checks back on for debugging.
"""
import glob
import os

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("AUTOGRAD_DEBUG", "") not in ("", "0")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "nonecheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}

extensions = [
    Extension(
        "autograd._core." + os.path.splitext(os.path.basename(path))[0],
        [path],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # initial-exec TLS: the per-thread mode flags are read without a function call
        extra_compile_args=(["-O0", "-g"] if DEBUG else ["-O3"]) + ["-ftls-model=initial-exec"],
        extra_link_args=[] if DEBUG else ["-Wl,--strip-debug"],
    )
    for path in sorted(glob.glob(os.path.join("autograd", "_core", "*.pyx")))
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
