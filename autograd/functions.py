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
    # arithmetic and elementwise
    "add", "sub", "mul", "div", "neg", "pow", "square", "exp", "log", "sin", "cos", "tanh",
    "abs", "sqrt", "maximum", "minimum", "where", "log1p", "clip", "mask_fill",
    # shapes
    "reshape", "transpose", "broadcast_to", "sum_to", "squeeze", "unsqueeze", "concat",
    "split", "stack", "flatten", "get_item",
    # reductions
    "sum", "mean", "variance", "max", "min", "logsumexp", "norm", "cumsum",
    # linear algebra
    "matmul", "linear", "einsum",
    # activations
    "sigmoid", "relu", "leaky_relu", "softplus", "gelu", "softmax", "log_softmax", "dropout",
    # losses and metrics
    "mean_squared_error", "softmax_cross_entropy", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "huber_loss", "accuracy",
    # not differentiable: NumPy arrays
    "argmax", "argmin", "one_hot",
    # neural networks
    "conv2d", "max_pool2d", "avg_pool2d", "embedding", "layer_norm", "batch_norm",
]

# Each name is the compiled function itself: F.exp.__name__ == "exp".

# arithmetic and elementwise
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
abs = _ops.abs
sqrt = _ops.sqrt
maximum = _ops.maximum
minimum = _ops.minimum
where = _ops.where
log1p = _ops.log1p
clip = _ops.clip
mask_fill = _ops.mask_fill

# shapes
reshape = _ops.reshape
transpose = _ops.transpose
broadcast_to = _ops.broadcast_to
sum_to = _ops.sum_to
squeeze = _ops.squeeze
unsqueeze = _ops.unsqueeze
concat = _ops.concat
split = _ops.split
stack = _ops.stack
flatten = _ops.flatten
get_item = _ops.get_item

# reductions
sum = _ops.sum
mean = _ops.mean
variance = _ops.variance
max = _ops.max
min = _ops.min
logsumexp = _ops.logsumexp
norm = _ops.norm
cumsum = _ops.cumsum

# linear algebra
matmul = _ops.matmul
linear = _ops.linear
einsum = _ops.einsum

# activations
sigmoid = _ops.sigmoid
relu = _ops.relu
leaky_relu = _ops.leaky_relu
softplus = _ops.softplus
gelu = _ops.gelu
softmax = _ops.softmax
log_softmax = _ops.log_softmax
dropout = _ops.dropout

# losses and metrics
mean_squared_error = _ops.mean_squared_error
softmax_cross_entropy = _ops.softmax_cross_entropy
binary_cross_entropy = _ops.binary_cross_entropy
binary_cross_entropy_with_logits = _ops.binary_cross_entropy_with_logits
huber_loss = _ops.huber_loss
accuracy = _ops.accuracy

# not differentiable: they return NumPy arrays
argmax = _ops.argmax
argmin = _ops.argmin
one_hot = _ops.one_hot

# neural networks (autograd/_core/nn.pyx)
conv2d = _nn.conv2d
max_pool2d = _nn.max_pool2d
avg_pool2d = _nn.avg_pool2d
embedding = _nn.embedding
layer_norm = _nn.layer_norm
batch_norm = _nn.batch_norm
