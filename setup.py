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

# The numeric loops (kernels, the random source, the nn kernels) run without bounds checks; the graph
# and the operations index Python objects and keep Python's checked semantics.
SAFE = {"language_level": 3, "cdivision": True, "embedsignature": True}
FAST = dict(SAFE, boundscheck=DEBUG, wraparound=DEBUG, initializedcheck=DEBUG, nonecheck=DEBUG)
LOOP_MODULES = {"kernels", "pcg", "nn_kernels"}

def extension(path):
    name = os.path.splitext(os.path.basename(path))[0]
    ext = Extension(
        "autograd._core." + name,
        [path],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # initial-exec TLS: the per-thread mode flags are read without a function call
        extra_compile_args=(["-O0", "-g"] if DEBUG else ["-O3"]) + ["-ftls-model=initial-exec"],
        extra_link_args=[] if DEBUG else ["-Wl,--strip-debug"],
    )
    return cythonize([ext], compiler_directives=FAST if name in LOOP_MODULES else SAFE)[0]


setup(ext_modules=[extension(p) for p in sorted(glob.glob(os.path.join("autograd", "_core", "*.pyx")))])
