"""The C allocator's policy set at import (graph.pyx, "the C allocator")."""

import os
import platform
import subprocess
import sys

import pytest

import autograd._core.graph as graph

LIBC = platform.libc_ver()
# mallinfo2 (which counts the mapped blocks) is glibc 2.33's
GLIBC = LIBC[0] == "glibc" and tuple(int(v) for v in LIBC[1].split(".")[:2]) >= (2, 33)

PROBE = (
    "import autograd._core.graph as g, ctypes, numpy as np\n"
    "libc = ctypes.CDLL(None)\n"
    "class Info(ctypes.Structure):\n"
    "    _fields_ = [(n, ctypes.c_size_t) for n in 'arena ordblks smblks hblks hblkhd usmblks "
    "fsmblks uordblks fordblks keepcost'.split()]\n"
    "libc.mallinfo2.restype = Info\n"
    "before = libc.mallinfo2().hblks\n"
    "a = np.ones(1 << 20)\n"  # 8 MiB: mmapped under glibc's first thresholds
    "print(g.MALLOC_TUNED, libc.mallinfo2().hblks - before)\n"
)


def probe(**env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    environ.pop("GLIBC_TUNABLES", None)
    environ.update(env)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=environ, capture_output=True, text=True, check=True
    )
    tuned, mapped = out.stdout.split()
    return tuned == "True", int(mapped)


@pytest.mark.skipif(not GLIBC, reason="glibc 2.33 or later only")
def test_large_blocks_come_from_the_heap_after_import():
    # an 8 MiB array is not given its own mapping: freed, it stays for the next graph
    assert probe() == (True, 0)


@pytest.mark.skipif(not GLIBC, reason="glibc 2.33 or later only")
@pytest.mark.parametrize(
    "var",
    ["MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_"],
)
def test_a_policy_the_user_chose_is_kept(var):
    value = "131072" if var != "MALLOC_MMAP_MAX_" else "65536"
    tuned, mapped = probe(**{var: value})
    assert not tuned
    if var == "MALLOC_MMAP_THRESHOLD_":
        assert mapped == 1  # the user's 128 KiB threshold still maps the 8 MiB array


@pytest.mark.skipif(not GLIBC, reason="glibc 2.33 or later only")
def test_glibc_tunables_are_kept():
    assert probe(GLIBC_TUNABLES="glibc.malloc.trim_threshold=131072")[0] is False


def test_flag_is_a_bool():
    assert isinstance(graph.MALLOC_TUNED, bool)
