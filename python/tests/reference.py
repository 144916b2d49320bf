"""A plain numpy reference for max pooling, written from the semantics, not from the library.

Planes are (P, H, W). Windows are scanned row-major over their taps; padding is never a candidate; np.argmax
picks the first maximum and the first NaN, which is the tie and NaN rule (-0.0 and 0.0 are equal, so the first
wins). The 16-bit floats (numpy's float16, ml_dtypes' bfloat16) are compared as float32, which holds each of
them exactly, NaN as NaN; winners are taken from the input, so their bits (NaN payloads, the sign of a zero) are
the input's. Their backward pass sums in float32 and rounds each sum once.
"""

import numpy as np


def is_half(dtype):
    """Whether `dtype` is a 16-bit float: float16, or bfloat16 (ml_dtypes', whose numpy kind is not "f")."""
    dtype = np.dtype(dtype)
    return dtype == np.float16 or dtype.name == "bfloat16"


def comparable(x):
    """`x` as an array whose order is its elements' order: float16 and bfloat16 widened exactly to float32."""
    if is_half(x.dtype):
        with np.errstate(invalid="ignore"):  # a signalling NaN stays a NaN
            return x.astype(np.float32)
    return x


class WindowInPadding(ValueError):
    pass


def out_size(n, k, s, before, after, d, ceil_mode):
    """PyTorch's and ONNX's output size; None when the padded input is shorter than one window."""
    span = n + before + after - (d * (k - 1) + 1)
    if span < 0:
        return None
    if not ceil_mode:
        return span // s + 1
    o = -(-span // s) + 1
    # The last window must start inside the input or the leading padding.
    if (o - 1) * s >= n + before:
        o -= 1
    return o


def pool_planes(x, kernel, stride, padding, dilation, ceil_mode):
    """(values, rows, cols, taps) of planes x (P, H, W): the winner's row, column and tap number per window."""
    p, h, w = x.shape
    (kh, kw), (sh, sw), (top, bottom, left, right), (dh, dw) = kernel, stride, padding, dilation
    oh = out_size(h, kh, sh, top, bottom, dh, ceil_mode)
    ow = out_size(w, kw, sw, left, right, dw, ceil_mode)
    if oh is None or ow is None or oh <= 0 or ow <= 0:
        raise ValueError("empty output")
    values = np.empty((p, oh, ow), x.dtype)
    rows = np.empty((p, oh, ow), np.int64)
    cols = np.empty((p, oh, ow), np.int64)
    taps = np.empty((p, oh, ow), np.int64)
    for i in range(oh):
        for j in range(ow):
            inside = [
                (a * kw + b, i * sh - top + a * dh, j * sw - left + b * dw)
                for a in range(kh)
                for b in range(kw)
                if 0 <= i * sh - top + a * dh < h and 0 <= j * sw - left + b * dw < w
            ]
            if not inside:
                raise WindowInPadding(f"window ({i}, {j}) covers only padding")
            t = np.array([q[0] for q in inside])
            r = np.array([q[1] for q in inside])
            c = np.array([q[2] for q in inside])
            candidates = x[:, r, c]
            win = np.argmax(comparable(candidates), axis=1)
            values[:, i, j] = candidates[np.arange(p), win]
            rows[:, i, j], cols[:, i, j], taps[:, i, j] = r[win], c[win], t[win]
    return values, rows, cols, taps


def encode(fmt, n_of, c_of, rows, cols, taps, shape):
    """Indices in `fmt` for winners at (rows, cols) of planes whose (n, c) are n_of, c_of; shape (N, C, H, W)."""
    n_count, c_count, h, w = shape
    if fmt == "plane":
        return rows * w + cols
    if fmt == "flat_nchw":
        return ((n_of * c_count + c_of) * h + rows) * w + cols
    if fmt == "flat_nhwc":
        return ((n_of * h + rows) * w + cols) * c_count + c_of
    if fmt == "flat_hwc":
        return (rows * w + cols) * c_count + c_of
    if fmt == "window":
        return taps
    raise AssertionError(fmt)


def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, layout="NCHW", index_format="plane"):
    """(values, indices, multiplier) shaped as the library returns them for array x in `layout`."""
    if layout == "NHWC":
        x = np.moveaxis(x, -1, -3)
    lead = x.shape[:-3] if x.ndim >= 3 else ()
    c = x.shape[-3] if x.ndim >= 3 else 1
    n = int(np.prod(lead)) if lead else 1
    h, w = x.shape[-2:]
    planes = np.ascontiguousarray(x).reshape(-1, h, w)
    values, rows, cols, taps = pool_planes(planes, kernel, stride, padding, dilation, ceil_mode)
    plane_ids = np.arange(planes.shape[0])[:, None, None]
    indices = encode(index_format, plane_ids // c, plane_ids % c, rows, cols, taps, (n, c, h, w))
    multiplier = np.zeros((planes.shape[0], h * w), np.uint32)
    for p in range(planes.shape[0]):
        multiplier[p] = np.bincount((rows[p] * w + cols[p]).ravel(), minlength=h * w)
    oh, ow = values.shape[1:]
    out = [values.reshape(x.shape[:-2] + (oh, ow)), indices.reshape(x.shape[:-2] + (oh, ow)),
           multiplier.reshape(x.shape)]
    if layout == "NHWC":
        out = [np.moveaxis(a, -3, -1) for a in out]
    return tuple(out)


def backward(grad, plane_indices, input_shape):
    """Gradients of planes: zeros, plus each window's gradient added onto its winner, in output order; for
    float16 and bfloat16, added in float32 (exactly widened) and each sum rounded once to the type (numpy's and
    ml_dtypes' casts round to nearest, ties to even)."""
    h, w = input_shape[-2:]
    g = np.ascontiguousarray(grad).reshape(-1, grad.shape[-2] * grad.shape[-1])
    idx = np.ascontiguousarray(plane_indices).reshape(g.shape)
    sum_type = np.float32 if is_half(grad.dtype) else grad.dtype
    g = g.astype(sum_type)
    out = np.zeros((g.shape[0], h * w), sum_type)
    planes = np.arange(g.shape[0])
    for o in range(g.shape[1]):
        out[planes, idx[:, o]] += g[:, o]
    return out.astype(grad.dtype).reshape(tuple(input_shape))
