"""maxpool for PyTorch: ``MaxPool2d``, a drop-in ``torch.nn.Module``, and ``max_pool2d``, both differentiable.

The forward pass and the backward pass are maxpool's (the backward deterministic: each input's gradient is the
sum, in output order, of the gradients of the windows it won). Tensors are read in place through DLPack, and
outputs keep the input's memory format (``channels_last`` in, ``channels_last`` out). CPU tensors of the
element types ``maxpool.dtypes()`` lists; gradients for float32, float64, float16 and bfloat16. float16 and
bfloat16 gradients are summed in float32 and each input's sum rounded once (to nearest, ties to even), so they
can differ from PyTorch's by that rounding. bfloat16 tensors need ``ml_dtypes`` (``pip install ml_dtypes``):
they are read as int16 through DLPack, without a copy, and viewed as ``ml_dtypes.bfloat16``.
"""

import torch

from . import _maxpool

__all__ = ["MaxPool2d", "max_pool2d"]


class _MaxPool2d(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, kernel_size, stride, padding, dilation, ceil_mode):
        # Outputs from torch.empty, written in place: no fill first, and in the input's memory format.
        plan = _maxpool.Plan(kernel_size, stride, padding, dilation, ceil_mode, height=input.shape[-2],
                             width=input.shape[-1])
        shape = tuple(input.shape[:-2]) + plan.out_shape
        memory_format = (torch.channels_last if input.dim() == 4 and not input.is_contiguous()
                         and input.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format)
        values = torch.empty(shape, dtype=input.dtype, memory_format=memory_format)
        indices = torch.empty(shape, dtype=torch.int64, memory_format=memory_format)
        plan(input.detach(), True, out=(values, indices))
        ctx.mark_non_differentiable(indices)
        ctx.save_for_backward(indices)
        ctx.args = (tuple(input.shape), kernel_size, stride, padding, dilation, ceil_mode)
        return values, indices

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_values, _grad_indices):
        (indices,) = ctx.saved_tensors
        input_shape, kernel_size, stride, padding, dilation, ceil_mode = ctx.args
        grad_input = _maxpool.max_pool2d_backward(
            grad_values, indices, input_shape, kernel_size, stride, padding, dilation, ceil_mode
        )
        return grad_input, None, None, None, None, None


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """``torch.nn.functional.max_pool2d`` computed by maxpool: the same arguments, results and gradients.

    ``input`` is (N, C, H, W) or (C, H, W) on the CPU, any memory format. Returns the values, and the indices
    (int64, ``row * W + col`` within each plane, as PyTorch's) when ``return_indices``. ``padding`` may also be
    (top, bottom, left, right), and is not limited to half the kernel.
    """
    stride = kernel_size if stride is None or (not isinstance(stride, int) and len(stride) == 0) else stride
    values, indices = _MaxPool2d.apply(input, kernel_size, stride, padding, dilation, ceil_mode)
    return (values, indices) if return_indices else values


class MaxPool2d(torch.nn.Module):
    """``torch.nn.MaxPool2d`` computed by maxpool: the same constructor arguments, results and gradients."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return max_pool2d(
            input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, self.return_indices
        )

    def extra_repr(self):
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )
