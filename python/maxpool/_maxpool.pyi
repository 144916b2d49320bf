"""Type stubs for maxpool's native module. See ``help(maxpool.max_pool2d)`` for the semantics.

Element types (``dtypes()``): float32, float64, int8, uint8, int16, uint16, int32, int64, float16, and bfloat16
(``ml_dtypes.bfloat16``, when ml_dtypes is installed). The backward pass takes the float types, and sums float16
and bfloat16 gradients in float32, rounding each element's sum once.
"""

from typing import Any, Literal, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

__version__: str

_Size = Union[int, Tuple[int, int], Sequence[int]]
_Padding = Union[int, Tuple[int, int], Tuple[int, int, int, int], Sequence[int]]
_Layout = Literal["NCHW", "NHWC", "nchw", "nhwc"]
_Format = Literal["plane", "flat_nchw", "flat_nhwc", "flat_hwc", "window"]
_Backend = Literal["auto", "naive", "block", "lookup", "simd"]
# A numpy array, or anything with __dlpack__ on the CPU (results come back as the same kind of object), of an
# element type dtypes() lists.
_Array = Any

@overload
def max_pool2d(
    input: _Array,
    kernel_size: _Size,
    stride: _Size | None = None,
    padding: _Padding = 0,
    dilation: _Size = 1,
    ceil_mode: bool = False,
    return_indices: Literal[False] = False,
    *,
    return_multiplier: Literal[False] = False,
    layout: _Layout = "NCHW",
    index_format: _Format = "plane",
    index_dtype: npt.DTypeLike = "int64",
    backend: _Backend = "auto",
    out: _Array | Sequence[_Array] | None = None,
) -> _Array: ...
@overload
def max_pool2d(
    input: _Array,
    kernel_size: _Size,
    stride: _Size | None = None,
    padding: _Padding = 0,
    dilation: _Size = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    *,
    return_multiplier: bool = False,
    layout: _Layout = "NCHW",
    index_format: _Format = "plane",
    index_dtype: npt.DTypeLike = "int64",
    backend: _Backend = "auto",
    out: _Array | Sequence[_Array] | None = None,
) -> Tuple[_Array, ...]: ...
def max_pool2d_backward(
    grad_values: _Array,
    indices: _Array,
    input_shape: Sequence[int],
    kernel_size: _Size,
    stride: _Size | None = None,
    padding: _Padding = 0,
    dilation: _Size = 1,
    ceil_mode: bool = False,
    *,
    layout: _Layout = "NCHW",
    index_format: _Format = "plane",
    backend: _Backend = "auto",
) -> _Array: ...

class Plan:
    def __init__(
        self,
        kernel_size: _Size,
        stride: _Size | None = None,
        padding: _Padding = 0,
        dilation: _Size = 1,
        ceil_mode: bool = False,
        *,
        height: int,
        width: int,
        backend: _Backend = "auto",
    ) -> None: ...
    def __call__(
        self,
        input: _Array,
        return_indices: bool = False,
        *,
        return_multiplier: bool = False,
        layout: _Layout = "NCHW",
        index_format: _Format = "plane",
        index_dtype: npt.DTypeLike = "int64",
        out: _Array | Sequence[_Array] | None = None,
    ) -> Union[_Array, Tuple[_Array, ...]]: ...
    def backward(
        self,
        grad_values: _Array,
        indices: _Array,
        *,
        layout: _Layout = "NCHW",
        index_format: _Format = "plane",
    ) -> _Array: ...
    def kernel(self, input: _Array, *, layout: _Layout = "NCHW") -> str: ...
    @property
    def backend(self) -> str: ...
    @property
    def in_shape(self) -> Tuple[int, int]: ...
    @property
    def out_shape(self) -> Tuple[int, int]: ...

def backends() -> list[str]: ...
def dtypes() -> list[str]:
    """numpy's names of the element types: bfloat16 only when ml_dtypes is installed (this imports it)."""
def index_formats() -> list[str]: ...
def set_num_threads(threads: int) -> None: ...
def num_threads() -> int: ...
