"""autograd/distributed.py needs mpi4py (the optional extra ``mpi``): without it, its
doctests are not collected (importing the module is an ImportError by design)."""

import importlib.util

collect_ignore = []
if importlib.util.find_spec("mpi4py") is None:
    collect_ignore.append("autograd/distributed.py")
