from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np

from autograd._core.graph import Node

ArrayLike: TypeAlias = Node | np.ndarray | float | int | Sequence[Any]
Pair: TypeAlias = int | tuple[int, int]

def conv2d(
    x: ArrayLike, w: ArrayLike, b: ArrayLike | None = ..., stride: Pair = ..., pad: Pair = ...
) -> Any: ...
def max_pool2d(x: ArrayLike, kernel: Pair, stride: Pair | None = ..., pad: Pair = ...) -> Any: ...
def avg_pool2d(x: ArrayLike, kernel: Pair, stride: Pair | None = ..., pad: Pair = ...) -> Any: ...
def embedding(ids: Any, w: ArrayLike) -> Any: ...
def layer_norm(
    x: ArrayLike, gamma: ArrayLike | None, beta: ArrayLike | None, eps: float = ...
) -> Any: ...
def batch_norm(
    x: ArrayLike,
    gamma: ArrayLike | None,
    beta: ArrayLike | None,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    momentum: float = ...,
    eps: float = ...,
) -> Any: ...
