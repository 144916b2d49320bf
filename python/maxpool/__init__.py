"""2-D max pooling with the winners' indices, the multiplier and the backward pass, for numpy and PyTorch.

>>> import numpy as np, maxpool
>>> x = np.array([[12, 15, 5, 0], [3, 11, 3, 7], [9, 3, 5, 2], [4, 7, 6, 8]], dtype=np.float32)
>>> values, indices, multiplier = maxpool.max_pool2d(x, 2, return_indices=True, return_multiplier=True)
>>> values
array([[15.,  7.],
       [ 9.,  8.]], dtype=float32)
>>> indices
array([[ 1,  7],
       [ 8, 15]])

The pooling itself is the Rust library ``maxpool`` (its semantics, checks and messages); this package reads
numpy arrays (and, through DLPack, PyTorch tensors and other arrays on the CPU) in place and releases the GIL
while it pools. ``maxpool.torch`` has ``MaxPool2d``, a differentiable drop-in for ``torch.nn.MaxPool2d``.
"""

from ._maxpool import (
    Plan,
    __version__,
    backends,
    dtypes,
    index_formats,
    max_pool2d,
    max_pool2d_backward,
    num_threads,
    set_num_threads,
)

__all__ = [
    "Plan",
    "__version__",
    "backends",
    "dtypes",
    "index_formats",
    "max_pool2d",
    "max_pool2d_backward",
    "num_threads",
    "set_num_threads",
]
