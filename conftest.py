"""autograd/distributed.py needs mpi4py (the optional extra ``mpi``): without it, its
doctests are not collected (importing the module is an ImportError by design).

The pytest-xdist workers (one per core) run their BLAS on one thread each: with its
default of one thread per core in every worker, OpenBLAS's threads outnumber the cores
and spin waiting for each other (the suite took 70 s of CPU instead of 63 s, and 4 s
longer). Set here, before any test module imports NumPy; a variable set by the user
is kept, and ``AUTOGRAD_TESTS_SET`` names those set here."""

import importlib.util
import os

if "PYTEST_XDIST_WORKER" in os.environ:
    _set = [
        var
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
        if var not in os.environ
    ]
    os.environ.update(dict.fromkeys(_set, "1"))
    # what a test that runs a program at the default thread count takes out again
    os.environ["AUTOGRAD_TESTS_SET"] = " ".join(_set)

collect_ignore = []
if importlib.util.find_spec("mpi4py") is None:
    collect_ignore.append("autograd/distributed.py")
