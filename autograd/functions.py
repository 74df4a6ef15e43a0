"""Every differentiable function, by name: ``import autograd.functions as F``.

Each takes Variables (NumPy arrays and Python numbers are accepted too) and
returns a Variable. Each backward is written with these same functions, so
``create_graph=True`` differentiates through all of them. Broadcasting follows
NumPy; the gradient of a broadcast input is summed back to its shape.

>>> import autograd as ag
>>> import autograd.functions as F
>>> x = ag.variable(1.0)
>>> y = F.sin(x)
>>> y.backward(create_graph=True)
>>> x.grad
variable(0.5403023058681398)
"""
from autograd._core import ops as _ops

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "square", "exp", "log", "sin", "cos", "tanh",
    "reshape", "transpose", "broadcast_to", "sum_to", "squeeze", "unsqueeze", "concat",
    "split", "get_item", "sum", "mean", "variance", "max", "min", "matmul", "linear", "clip",
    "mask_fill", "sigmoid", "relu", "gelu", "softmax", "log_softmax", "mean_squared_error",
    "softmax_cross_entropy", "accuracy", "dropout",
]

# arithmetic
add = _ops.add
sub = _ops.sub
mul = _ops.mul
div = _ops.div
neg = _ops.neg
pow = _ops.pow
square = _ops.square
exp = _ops.exp
log = _ops.log
sin = _ops.sin
cos = _ops.cos
tanh = _ops.tanh

# shapes
reshape = _ops.reshape
transpose = _ops.transpose
broadcast_to = _ops.broadcast_to
sum_to = _ops.sum_to
squeeze = _ops.squeeze
unsqueeze = _ops.unsqueeze
concat = _ops.concat
split = _ops.split
get_item = _ops.get_item

# reductions
sum = _ops.sum
mean = _ops.mean
variance = _ops.variance
max = _ops.max
min = _ops.min

# linear algebra
matmul = _ops.matmul
linear = _ops.linear

# elementwise with masks
clip = _ops.clip
mask_fill = _ops.mask_fill

# activations
sigmoid = _ops.sigmoid
relu = _ops.relu
gelu = _ops.gelu
softmax = _ops.softmax
log_softmax = _ops.log_softmax

# losses and metrics
mean_squared_error = _ops.mean_squared_error
softmax_cross_entropy = _ops.softmax_cross_entropy
accuracy = _ops.accuracy
dropout = _ops.dropout
