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
from autograd._core import nn as _nn
from autograd._core import ops as _ops

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "square", "exp", "log", "sin", "cos", "tanh",
    "reshape", "transpose", "broadcast_to", "sum_to", "squeeze", "unsqueeze", "concat",
    "split", "get_item", "sum", "mean", "variance", "max", "min", "matmul", "linear", "clip",
    "mask_fill", "sigmoid", "relu", "gelu", "softmax", "log_softmax", "mean_squared_error",
    "softmax_cross_entropy", "accuracy", "dropout",
    "conv2d", "max_pool2d", "avg_pool2d", "embedding", "layer_norm", "batch_norm",
]

# arithmetic
add = _ops.add
sub = _ops.sub
mul = _ops.mul
div = _ops.div
neg = _ops.neg
pow = _ops.pow_
square = _ops.square
exp = _ops.exp_
log = _ops.log_
sin = _ops.sin_
cos = _ops.cos_
tanh = _ops.tanh_

# shapes
reshape = _ops.reshape
transpose = _ops.transpose
broadcast_to = _ops.broadcast_to
sum_to = _ops.sum_to_
squeeze = _ops.squeeze
unsqueeze = _ops.unsqueeze
concat = _ops.concat
split = _ops.split
get_item = _ops.get_item

# reductions
sum = _ops.sum_
mean = _ops.mean
variance = _ops.variance
max = _ops.max_
min = _ops.min_

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

# neural networks (autograd/_core/nn.pyx)
conv2d = _nn.conv2d
max_pool2d = _nn.max_pool2d
avg_pool2d = _nn.avg_pool2d
embedding = _nn.embedding
layer_norm = _nn.layer_norm
batch_norm = _nn.batch_norm
