"""Objects other than numpy arrays: read through DLPack without a copy, and results given back as their kind.

The native module calls these only for inputs that are not numpy arrays, so numpy calls never pay for them.
"""

import sys

import numpy as np


def to_numpy(obj, what):
    """``obj`` as a numpy array sharing its memory, through ``__dlpack__``; ``TypeError`` when it cannot be."""
    if not hasattr(obj, "__dlpack__"):
        raise TypeError(
            f"{what} is a {type(obj).__module__}.{type(obj).__qualname__}; maxpool takes numpy arrays and "
            "objects with __dlpack__ on the CPU (PyTorch tensors, JAX arrays, ...)"
        )
    try:
        return np.from_dlpack(obj)
    except (BufferError, RuntimeError, TypeError, ValueError) as e:
        hint = ""
        if _is_torch(obj) and getattr(obj, "requires_grad", False):
            hint = "; for gradients use maxpool.torch.max_pool2d or maxpool.torch.MaxPool2d"
        raise TypeError(f"{what} cannot be read in place through DLPack: {e}{hint}") from e


def from_numpy(array, like):
    """``array`` as the kind of object ``like`` is: a PyTorch tensor (with the same strides, so channels-last
    stays channels-last), else whatever ``like``'s array namespace makes of it through DLPack."""
    if _is_torch(like):
        import torch

        return torch.from_numpy(array)
    namespace = getattr(like, "__array_namespace__", None)
    if namespace is not None:
        return namespace().from_dlpack(array)
    return array


def _is_torch(obj):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)
