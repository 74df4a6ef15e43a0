"""Random sources: ``const()`` reproduces the seed's ``rand.Const()``.

Anything that takes ``rng=`` accepts a source from here or a
``numpy.random.Generator``: both have ``random(shape)`` and ``standard_normal(shape)``.

A source may be shared by threads: each draw, and each array fill, advances the state
under the source's own lock, so the threads get the source's stream between them, every
number once. ``copy.copy``, ``copy.deepcopy`` and ``pickle`` give a new source at the
same state (``s.state``), which continues the same stream. A shape is an int or a
sequence of ints (NumPy integers too); anything else is a TypeError, not truncated.

>>> import autograd as ag
>>> s = ag.random.const()
>>> s.random()
0.9999275824802834
>>> s.standard_normal((2,)).shape
(2,)
>>> import copy
>>> t = copy.deepcopy(s)
>>> s.random() == t.random()
True
"""
from autograd._core.pcg import PCGSource

__all__ = ["const", "PCGSource"]


def const(seed0: int = 0, seed1: int = 0) -> PCGSource:
    """Go's ``rand.Const(seed0, seed1)``: a PCG source whose 128-bit state is
    ``seed0 << 64 | seed1``; it draws exactly the seed library's numbers."""
    return PCGSource(seed0, seed1)
