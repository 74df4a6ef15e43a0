"""Build the compiled core: every ``autograd/_core/*.pyx`` becomes an extension.

Compiler directives are set once, here. ``AUTOGRAD_DEBUG=1`` in the environment
turns bounds checks, wraparound and None checks back on for debugging.

Build time: the modules are translated by Cython and compiled by the C compiler in
parallel, one job per core; the numeric loops get -O3, the graph -O2, and the
operations and layers modules, mostly calls into Python's and NumPy's C API, -O1 (within
1% of -O2's instruction count on the scalar, MLP and LSTM workloads, and 40% quicker
to compile: the operations module is 6.5 MB of C). Cython's memoryview code, needed by
the three loop modules, is one shared extension (``_cyutility``) rather than three
copies. A copy of each built extension is kept beside its source, so that a later
editable install (the README's second command after its first) finds it up to date
instead of compiling everything again.
"""

import glob
import os
import shutil

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext as _build_ext

DEBUG = os.environ.get("AUTOGRAD_DEBUG", "") not in ("", "0")
JOBS = os.cpu_count() or 1

# The numeric loops (kernels, the random source, the nn kernels) run without bounds checks; the graph
# and the operations index Python objects and keep Python's checked semantics.
# Only the graph's types pickle (a Variable does; its graph does not): Cython's pickling code
# for every operation's record was a quarter of the generated C, for a pickle nobody asks of
# a Function (it raises TypeError, as PyTorch's grad_fn does).
GRAPH = {"language_level": 3, "cdivision": True, "embedsignature": True}
SAFE = dict(GRAPH, auto_pickle=False)
FAST = dict(SAFE, boundscheck=DEBUG, wraparound=DEBUG, initializedcheck=DEBUG, nonecheck=DEBUG)
LOOP_MODULES = {"kernels", "pcg", "nn_kernels"}
OPTIMISE = dict.fromkeys(LOOP_MODULES, "-O3") | {"graph": "-O2", "_cyutility": "-O2"}
# Cython's memoryview code (the type, slicing, acquiring a buffer), made once in a module of
# its own and shared by the loop modules, instead of translated and compiled into each
SHARED = "autograd._core._cyutility"


def extension(path):
    name = os.path.splitext(os.path.basename(path))[0]
    # -g0: Python's own CFLAGS ask for debug information, which the link strips anyway;
    # making it is a third of the compile time of the largest module
    optimise = ["-O0", "-g"] if DEBUG else [OPTIMISE.get(name, "-O1"), "-g0"]
    if name in LOOP_MODULES:
        # sqrt as one instruction (no errno to set: nothing reads it), so the optimizers'
        # loops vectorise; the results are the same IEEE square roots
        optimise.append("-fno-math-errno")
    ext = Extension(
        "autograd._core." + name,
        [path],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # initial-exec TLS: the per-thread mode flags are read without a function call
        extra_compile_args=optimise + ["-ftls-model=initial-exec"],
        extra_link_args=[] if DEBUG else ["-Wl,--strip-debug"],
    )
    if name in LOOP_MODULES or ext.name == SHARED:
        ext.cython_directives = FAST
    else:
        ext.cython_directives = GRAPH if name == "graph" else SAFE
    return ext


STAMP = os.path.join("autograd", "_core", ".translated")


def _stamp():
    import Cython

    return f"Cython {Cython.__version__}, debug {DEBUG}, {GRAPH}, {SAFE}, {FAST}\n"


def _stamp_holds():
    """Whether the core's C was last made by this Cython in this mode."""
    try:
        with open(STAMP) as f:
            return f.read() == _stamp()
    except OSError:
        return False


def _newer(path, sources):
    """Whether ``path`` exists and was written after every one of ``sources``."""
    try:
        made = os.path.getmtime(path)
        return all(os.path.getmtime(src) <= made for src in sources)
    except OSError:
        return False


def _up_to_date(ext):
    """Whether this module's C was made by this Cython, in this mode, after every source
    of the package's core changed. (Cython's own check also compares NumPy's .pxd files,
    which every isolated build environment installs anew, so it would translate and
    compile everything again on each install.)"""
    c_file = os.path.splitext(ext.sources[0])[0] + ".c"
    # the shared module's C depends on the Cython and the mode alone (the stamp)
    core = (
        [] if ext.name == SHARED else glob.glob(os.path.join("autograd", "_core", "*.p[xy][xid]"))
    )
    return _stamp_holds() and _newer(c_file, core)


def translated(extensions):
    """Cython's C for every module, several modules at once; each keeps its directives."""
    out = []
    for ext in extensions:
        if _up_to_date(ext):
            ext.sources = [os.path.splitext(ext.sources[0])[0] + ".c"]
            out.append(ext)
    todo = [e for e in extensions if e not in out]
    # another mode or Cython made the C there: translate again even where it looks newer
    # than its sources (Cython's own check does not see the directives change)
    force = not _stamp_holds()
    for directives in (GRAPH, SAFE, FAST):
        group = [e for e in todo if e.cython_directives is directives]
        if group:
            out += cythonize(
                group,
                compiler_directives=directives,
                nthreads=JOBS,
                force=force,
                shared_utility_qualified_name=SHARED,
            )
    if todo:
        try:
            with open(STAMP, "w") as f:
                f.write(_stamp())
        except OSError:
            pass  # a read-only source tree: the next build translates again
    # the largest C file first: compiled in parallel, the longest job must not start last
    return sorted(out, key=lambda e: -os.path.getsize(e.sources[0]))


class build_ext(_build_ext):
    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = JOBS

    def build_extension(self, ext):
        # an up-to-date copy beside the source (left by an earlier build of this tree in
        # this mode) stands in for compiling it again
        target = self.get_ext_fullpath(ext.name)
        beside = os.path.join(os.path.dirname(ext.sources[0]), os.path.basename(target))
        reusable = not (self.inplace or DEBUG or self.force)
        if reusable and _up_to_date(ext) and _newer(beside, ext.sources):
            try:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copy2(beside, target)
                return
            except OSError:
                pass  # compile it, then
        super().build_extension(ext)

    def run(self):
        super().run()
        if self.inplace or DEBUG:
            return
        for ext in self.extensions:
            built = self.get_ext_fullpath(ext.name)
            beside = os.path.join(os.path.dirname(ext.sources[0]), os.path.basename(built))
            try:
                shutil.copy2(built, beside)
            except OSError:
                pass  # a read-only source tree: the next build compiles again


extensions = [extension(p) for p in sorted(glob.glob(os.path.join("autograd", "_core", "*.pyx")))]
extensions.append(extension(os.path.join(*SHARED.split(".")) + ".c"))
setup(ext_modules=translated(extensions), cmdclass={"build_ext": build_ext})
