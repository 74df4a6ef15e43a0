"""Graph modes, per thread: ``no_grad()`` and ``test_mode()``.

The flags live in C thread-local storage inside the compiled core, so reading
them costs nothing per operation and a mode set in one thread never changes
another's. Every mode restores the previous value when it ends, so they nest.
"""

from collections.abc import Callable
from typing import Literal

from autograd._core import graph as _graph

__all__ = ["config", "no_grad", "nograd", "test_mode", "testmode", "Span"]


class _Config:
    """Read-only views of the calling thread's modes."""

    __slots__ = ()

    @property
    def enable_backprop(self) -> bool:
        """True when operations record the graph (outside ``no_grad``)."""
        return _graph.is_backprop_enabled()

    @property
    def train(self) -> bool:
        """True in training mode (outside ``test_mode``): dropout is active."""
        return _graph.is_train()

    def __repr__(self):
        return f"config(enable_backprop={self.enable_backprop}, train={self.train})"


config = _Config()


class Span:
    """A mode switched on until ``end()`` is called, or until its ``with`` block ends.

    >>> import autograd as ag
    >>> span = ag.nograd()
    >>> ag.config.enable_backprop
    False
    >>> span.end()
    >>> ag.config.enable_backprop
    True
    """

    __slots__ = ("_active", "_previous", "_setter", "_value")

    def __init__(self, setter: Callable[[bool], bool], value: bool) -> None:
        self._setter = setter
        self._value = value
        self._previous = setter(value)
        self._active = True

    def end(self) -> None:
        """Restore the mode that was in force when the span began (once)."""
        if self._active:
            self._active = False
            self._setter(self._previous)

    def __enter__(self) -> "Span":
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        self.end()
        return False


def no_grad() -> Span:
    """Stop recording the graph until the block ends.

    >>> import autograd as ag
    >>> x = ag.variable(2.0)
    >>> with ag.no_grad():
    ...     y = x * x
    >>> y.creator is None
    True
    """
    return Span(_graph.set_enable_backprop, False)


def nograd() -> Span:
    """Go-style ``no_grad``: a Span to ``end()`` explicitly (``defer variable.Nograd().End()``)."""
    return Span(_graph.set_enable_backprop, False)


def test_mode() -> Span:
    """Evaluation mode until the block ends: dropout passes its input through."""
    return Span(_graph.set_train, False)


def testmode() -> Span:
    """Go-style ``test_mode``: a Span to ``end()`` explicitly."""
    return Span(_graph.set_train, False)


test_mode.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
