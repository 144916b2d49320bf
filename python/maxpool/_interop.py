"""Objects other than numpy arrays: read through DLPack without a copy, and results given back as their kind.

The native module calls these only for inputs that are not numpy arrays, so numpy calls never pay for them.

bfloat16 is not a DLPack type numpy reads (nor one it has: ``ml_dtypes`` provides it). A PyTorch bfloat16
tensor is read as int16 through DLPack, without a copy, and viewed as ``ml_dtypes.bfloat16``; results go back
the same way. Other bfloat16 arrays (JAX's) are read with ``numpy.asarray``, without a copy on the CPU, and
results go back through their namespace's ``asarray``.
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
    bfloat16 = _ml_dtypes_bfloat16(obj, what) if _is_bfloat16(obj) else None
    try:
        if bfloat16 is not None and _is_torch(obj):
            import torch

            if obj.requires_grad:  # as PyTorch's DLPack export refuses the other types' (an int16 view would not)
                raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
            return np.from_dlpack(obj.view(torch.int16)).view(bfloat16)
        return np.from_dlpack(obj)
    except (BufferError, RuntimeError, TypeError, ValueError) as e:
        hint = ""
        if _is_torch(obj) and getattr(obj, "requires_grad", False):
            hint = "; for gradients use maxpool.torch.max_pool2d or maxpool.torch.MaxPool2d"
        elif bfloat16 is not None and what != "out" and hasattr(obj, "__array__"):
            # A bfloat16 array DLPack cannot carry to numpy: its own numpy view (JAX's is its buffer, read-only).
            array = np.asarray(obj)
            if array.dtype == bfloat16:
                return array
        raise TypeError(f"{what} cannot be read in place through DLPack: {e}{hint}") from e


def from_numpy(array, like):
    """``array`` as the kind of object ``like`` is: a PyTorch tensor (with the same strides, so channels-last
    stays channels-last), else whatever ``like``'s array namespace makes of it through DLPack."""
    bfloat16 = array.dtype.name == "bfloat16"
    if _is_torch(like):
        import torch

        if bfloat16:
            return torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
        return torch.from_numpy(array)
    namespace = getattr(like, "__array_namespace__", None)
    if namespace is not None:
        if bfloat16:
            return namespace().asarray(array)  # numpy cannot export bfloat16 through DLPack: a copy
        return namespace().from_dlpack(array)
    return array


def _is_torch(obj):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def _is_bfloat16(obj):
    """Whether ``obj``'s elements are bfloat16 (a PyTorch tensor's, a JAX array's, ...), by its dtype's name."""
    dtype = getattr(obj, "dtype", None)
    return dtype is not None and str(dtype).rsplit(".", 1)[-1] == "bfloat16"


def _ml_dtypes_bfloat16(obj, what):
    """numpy's bfloat16 dtype, from ``ml_dtypes``; ``TypeError`` when it is not installed."""
    try:
        import ml_dtypes
    except ImportError:
        raise TypeError(
            f"{what} is bfloat16 ({type(obj).__module__}.{type(obj).__qualname__} of dtype {obj.dtype}); maxpool "
            "reads bfloat16 as ml_dtypes.bfloat16, and ml_dtypes is not installed: pip install ml_dtypes "
            "(or maxpool[bfloat16])"
        ) from None
    return np.dtype(ml_dtypes.bfloat16)
