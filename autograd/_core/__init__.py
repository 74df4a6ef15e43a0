"""The compiled core of autograd: graph nodes, the backward walk, kernels and operations."""
