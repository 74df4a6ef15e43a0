"""Build the compiled core: every ``autograd/_core/*.pyx`` becomes an extension.

Compiler directives are set once, here. ``AUTOGRAD_DEBUG=1`` in the environment
turns bounds checks, wraparound and None checks back on for debugging.

Build time: each module is one job, Cython's translation then the C compiler, and the
jobs run in parallel, one per core, the longest first (ORDER): the operations module
starts compiling as soon as its C exists while the other core translates and compiles
the rest. Cython translates in worker processes (it is not safe in a thread), forked
once per build. The numeric loops get -O3, the graph -O2, and the operations and layers
modules, mostly calls into Python's and NumPy's C API, -O1 (within 1% of -O2's
instruction count on the scalar, MLP and LSTM workloads, and 40% quicker to compile:
the operations module is about 5 MB of C). Cython's memoryview code, needed by the
three loop modules, is one shared extension (``_cyutility``, whose C Cython writes when
asked to translate the module of that name with ``shared_utility_qualified_name``)
rather than three copies.

Reuse: a copy of each built extension is kept beside its source, so that a later
install of the same tree (the README's second command after its first) finds it up to
date instead of translating and compiling everything again. Up to date means: the stamp
(``autograd/_core/.translated``) says the C was made in this mode (debug or not, the
same directives), and by the installed Cython where Cython is installed; the C is newer
than every source of the core; the extension is newer than its C and than this file
(its compiler flags). Where Cython is not installed, nothing can be translated and the
stamp's Cython version is not compared: the extensions are the ones compiled from the C
that the stamp's Cython made, which is right as long as no source changed since, and
that the times check. ``all_built()`` is that test for every extension; the in-tree
build backend (``tools/build_backend.py``) asks it before it asks pip for Cython and
NumPy (``BUILD_REQUIRES``), so an install that only reuses the built extensions does not
install them into pip's isolated build environment.
"""

import glob
import os
import shutil
import sys
import sysconfig
import threading

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext as _build_ext

DEBUG = os.environ.get("AUTOGRAD_DEBUG", "") not in ("", "0")
JOBS = os.cpu_count() or 1
# what translating and compiling need, besides setuptools (Cython 3.1 makes the shared
# memoryview module, SHARED; NumPy's headers are cimported)
BUILD_REQUIRES = ["Cython>=3.1", "numpy>=2.0"]

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
# The jobs, longest first (seconds to translate and to compile, both cores busy, on the
# development machine): ops 4 + 21, nn_kernels 3 + 13, kernels 2 + 9.5, graph 1.5 + 7.5,
# nn 1 + 5.5, _cyutility 0.5 + 4.5, pcg 0.5 + 3. On two cores: ops, graph and pcg on one,
# the rest on the other, finishing within 2 s of each other.
ORDER = ["ops", "nn_kernels", "kernels", "graph", "nn", "_cyutility", "pcg"]
CORE = os.path.join("autograd", "_core")
STAMP = os.path.join(CORE, ".translated")


def extension(name):
    # -g0: Python's own CFLAGS ask for debug information, which the link strips anyway;
    # making it is a third of the compile time of the largest module
    optimise = ["-O0", "-g"] if DEBUG else [OPTIMISE.get(name, "-O1"), "-g0"]
    if name in LOOP_MODULES:
        # sqrt as one instruction (no errno to set: nothing reads it), so the optimizers'
        # loops vectorise; the results are the same IEEE square roots
        optimise.append("-fno-math-errno")
    ext = Extension(
        "autograd._core." + name,
        # the C Cython makes; build_ext translates it from ext.pyx first when it is stale
        [os.path.join(CORE, name + ".c")],
        # the compiler flags are here, and the C headers the modules include: a change
        # compiles again (--inplace too)
        depends=["setup.py", *sorted(glob.glob(os.path.join(CORE, "*.h")))],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # no fused multiply-adds but those written out (vmath.h's exp): each operation is
        # rounded as NumPy's ufuncs round it, on CPUs whose baseline has FMA too (ARM),
        # and the one-element path gives the array loops' bits; initial-exec TLS: the
        # per-thread mode flags are read without a function call
        extra_compile_args=optimise + ["-ffp-contract=off", "-ftls-model=initial-exec"],
        extra_link_args=[] if DEBUG else ["-Wl,--strip-debug"],
    )
    ext.pyx = None if ext.name == SHARED else os.path.join(CORE, name + ".pyx")
    if name in LOOP_MODULES or ext.name == SHARED:
        ext.cython_directives = FAST
    else:
        ext.cython_directives = GRAPH if name == "graph" else SAFE
    return ext


def _cython_version():
    """The installed Cython's version, or None where Cython is not installed."""
    try:
        import Cython
    except ImportError:
        return None
    return Cython.__version__


def _mode():
    return f"debug {DEBUG}, {GRAPH}, {SAFE}, {FAST}\n"


def _stamp_holds():
    """Whether the core's C was last made in this mode, and by this Cython where Cython is
    installed (without it, nothing is translated: the C and what was compiled from it
    are the stamp's Cython's)."""
    try:
        with open(STAMP) as f:
            made_by, mode = f.readline(), f.read()
    except OSError:
        return False
    version = _cython_version()
    return mode == _mode() and (version is None or made_by == f"Cython {version}\n")


def _newer(path, sources):
    """Whether ``path`` exists and was written after every one of ``sources``."""
    try:
        made = os.path.getmtime(path)
        return all(os.path.getmtime(src) <= made for src in sources)
    except OSError:
        return False


def _translated(ext):
    """Whether this module's C was made by this Cython, in this mode, after every source
    of the package's core changed. (Cython's own check also compares NumPy's .pxd files,
    which every isolated build environment installs anew, so it would translate and
    compile everything again on each install.)"""
    # the shared module's C depends on the Cython and the mode alone (the stamp)
    core = [] if ext.pyx is None else glob.glob(os.path.join(CORE, "*.p[xy][xid]"))
    return _stamp_holds() and _newer(ext.sources[0], core)


def _beside(ext):
    """Where a copy of the built extension is kept: beside its source."""
    return os.path.join(CORE, ext.name.rpartition(".")[2] + sysconfig.get_config_var("EXT_SUFFIX"))


def _compiled(ext):
    """Whether the extension beside the source was compiled from this module's C as it is,
    up to date, with this file's flags."""
    return not DEBUG and _translated(ext) and _newer(_beside(ext), ext.sources + ext.depends)


def all_built():
    """Whether every extension is built, up to date, beside its source: an install then
    copies them and needs neither Cython nor NumPy's headers."""
    return all(_compiled(ext) for ext in extensions)


class build_ext(_build_ext):
    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = JOBS

    def run(self):
        # what to translate, and which built extensions to reuse, is decided before any
        # job starts: translating one module must not make the others look up to date
        self._translate = {ext.name for ext in self.extensions if not _translated(ext)}
        if self._translate and not _stamp_holds():
            # another mode or Cython made the C there: translate every module, even where
            # its C looks newer than its sources (Cython's own check does not see the
            # directives change)
            self._translate = {ext.name for ext in self.extensions}
        # (an editable or --inplace build too: setuptools builds into build/ and copies back)
        reusable = not (DEBUG or self.force)
        self._reuse = {
            ext.name
            for ext in self.extensions
            if reusable and ext.name not in self._translate and _compiled(ext)
        }
        if self._translate:
            # the stamp comes back once all of it is translated: a build that fails
            # half-way leaves no stamp over C of two modes
            try:
                os.remove(STAMP)
            except OSError:
                pass
        self._pending, self._lock, self._cython = set(self._translate), threading.Lock(), None
        if len(self._reuse) < len(self.extensions):
            import numpy

            for ext in self.extensions:
                ext.include_dirs = [*ext.include_dirs, numpy.get_include()]
        if self._translate:
            # Cython translates in worker processes (it is not safe in a thread), started
            # here, before the build's threads, with Cython already imported
            from concurrent.futures import ProcessPoolExecutor

            from Cython.Build import cythonize

            self._cythonize = cythonize
            sys.stdout.flush()
            sys.stderr.flush()
            self._cython = ProcessPoolExecutor(JOBS)
            for done in [self._cython.submit(int) for _ in range(JOBS)]:
                done.result()
        try:
            super().run()
        finally:
            if self._cython is not None:
                self._cython.shutdown()
        if self.inplace or DEBUG:
            return
        for ext in self.extensions:
            try:
                shutil.copy2(self.get_ext_fullpath(ext.name), _beside(ext))
            except shutil.SameFileError:
                pass
            except OSError:
                pass  # a read-only source tree: the next build compiles again

    def build_extension(self, ext):
        # one job: translate the module if its C is stale, then compile it, unless an
        # up-to-date copy beside the source (left by an earlier build of this tree in
        # this mode) stands in for compiling it again
        if ext.name in self._translate:
            self._translate_one(ext)
        if ext.name in self._reuse:
            target = self.get_ext_fullpath(ext.name)
            try:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copy2(_beside(ext), target)
                return
            except OSError:
                pass  # compile it, then
        super().build_extension(ext)

    def _translate_one(self, ext):
        # the same call, directives and shared module as for the whole set at once; for
        # SHARED, Cython writes the shared module's C
        self._cython.submit(
            self._cythonize,
            [Extension(ext.name, [ext.pyx or ext.sources[0]])],
            compiler_directives=ext.cython_directives,
            force=True,
            shared_utility_qualified_name=SHARED,
        ).result()
        with self._lock:
            self._pending.discard(ext.name)
            if self._pending:
                return
            try:
                with open(STAMP, "w") as f:
                    f.write(f"Cython {_cython_version()}\n" + _mode())
            except OSError:
                pass  # a read-only source tree: the next build translates again


extensions = [extension(name) for name in ORDER]
_unlisted = set(glob.glob(os.path.join(CORE, "*.pyx"))) - {ext.pyx for ext in extensions}
if _unlisted:
    raise SystemExit(f"setup.py: {sorted(_unlisted)} not in ORDER")

if __name__ == "__main__":
    setup(ext_modules=extensions, cmdclass={"build_ext": build_ext})
