"""maxpool.torch against torch.nn.functional.max_pool2d: values, indices, gradients (gradcheck in float64;
float16 and bfloat16 against the numpy reference's float32 sums rounded once), memory formats, and tensors in and
out of maxpool.max_pool2d. Skipped, with the reason printed (pytest -rs), when PyTorch is not installed; the
bfloat16 tests also need ml_dtypes."""

import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed: the maxpool.torch tests need it")
F = torch.nn.functional

import maxpool  # noqa: E402
import maxpool.torch as mt  # noqa: E402
import reference  # noqa: E402

NO_ML_DTYPES = "ml_dtypes is not installed: the bfloat16 tests need it (pip install ml_dtypes)"
HALF = [torch.float16, torch.bfloat16]

# PyTorch's own limits: padding at most half the kernel; its NaN rule differs (the last NaN wins), so no NaN.
GEOMETRIES = [
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), ceil_mode=True),
    dict(kernel_size=3, stride=2, ceil_mode=True),
]


def distinct(shape, dtype=torch.float32, seed=0):
    """Values without ties, so that PyTorch's winners are unambiguous."""
    g = torch.Generator().manual_seed(seed)
    n = int(np.prod(shape))
    return (torch.randperm(n, generator=g).to(dtype) / n).reshape(shape)


@pytest.mark.parametrize("params", GEOMETRIES)
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_matches_torch(params, memory_format):
    x = distinct((2, 5, 13, 11)).to(memory_format=memory_format)
    want_v, want_i = F.max_pool2d(x, **params, return_indices=True)
    got_v, got_i = mt.max_pool2d(x, **params, return_indices=True)
    assert torch.equal(got_v, want_v) and torch.equal(got_i, want_i)
    assert got_v.is_contiguous(memory_format=memory_format)
    # maxpool.max_pool2d on a tensor gives tensors back, in the same memory format.
    v, i, m = maxpool.max_pool2d(x, **params, return_indices=True, return_multiplier=True)
    assert isinstance(v, torch.Tensor) and torch.equal(v, want_v) and torch.equal(i, want_i)
    assert v.is_contiguous(memory_format=memory_format) and m.shape == x.shape


@pytest.mark.parametrize("params", GEOMETRIES)
def test_gradients_match_torch(params):
    for memory_format in [torch.contiguous_format, torch.channels_last]:
        x = distinct((2, 3, 9, 10), torch.float64).to(memory_format=memory_format).requires_grad_()
        y = x.detach().clone().requires_grad_()
        g = torch.randn(F.max_pool2d(x.detach(), **params).shape, dtype=torch.float64)
        (mt.max_pool2d(x, **params) * g).sum().backward()
        (F.max_pool2d(y, **params) * g).sum().backward()
        assert torch.allclose(x.grad, y.grad, rtol=0, atol=1e-12)


@pytest.mark.parametrize("params", GEOMETRIES)
def test_gradcheck(params):
    x = distinct((1, 2, 7, 8), torch.float64, seed=3).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: mt.max_pool2d(t, **params), (x,))


def test_module_is_a_drop_in():
    theirs = torch.nn.MaxPool2d(3, 2, 1, return_indices=True)
    ours = mt.MaxPool2d(3, 2, 1, return_indices=True)
    x = distinct((4, 3, 16, 16))
    for a, b in zip(ours(x), theirs(x)):
        assert torch.equal(a, b)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), mt.MaxPool2d(2), torch.nn.Flatten(),
                              torch.nn.Linear(4 * 8 * 8, 2))
    loss = net(distinct((2, 3, 16, 16))).square().sum()
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())
    assert "kernel_size=2" in repr(net)


def test_integer_tensors_and_refusals():
    x = torch.randint(-100, 100, (2, 3, 8, 8), dtype=torch.int16)
    v, i = maxpool.max_pool2d(x, 2, return_indices=True)
    want_v, want_i = F.max_pool2d(x.float(), 2, return_indices=True)
    assert v.dtype == torch.int16 and torch.equal(v.float(), want_v)
    for dtype in [torch.float32, torch.float16] + ([torch.bfloat16] if "bfloat16" in maxpool.dtypes() else []):
        with pytest.raises(TypeError, match="maxpool.torch"):
            maxpool.max_pool2d(torch.zeros(1, 1, 4, 4, dtype=dtype, requires_grad=True), 2)
    with pytest.raises(TypeError, match="complex64"):
        maxpool.max_pool2d(torch.zeros(1, 1, 4, 4, dtype=torch.complex64), 2)


def test_tensors_are_read_in_place():
    import maxpool._interop as interop

    x = distinct((2, 4, 8, 8)).to(memory_format=torch.channels_last)[:, 1:, ::2]
    seen = interop.to_numpy(x, "input")
    assert seen.ctypes.data == x.data_ptr()
    assert seen.strides == tuple(s * x.element_size() for s in x.stride())


def half(dtype):
    """`dtype`, a 16-bit float, skipping the test (reason printed) for bfloat16 without ml_dtypes."""
    if dtype == torch.bfloat16:
        pytest.importorskip("ml_dtypes", reason=NO_ML_DTYPES)
    return dtype


def as_numpy(t):
    """A 16-bit float tensor as a numpy array of the same bits (bfloat16 as ml_dtypes')."""
    if t.dtype == torch.bfloat16:
        import ml_dtypes

        return t.detach().view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.detach().numpy()


def bits(t):
    return t.detach().contiguous().view(torch.int16)


@pytest.mark.parametrize("dtype", HALF, ids=str)
@pytest.mark.parametrize("params", GEOMETRIES)
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_half_matches_torch(dtype, params, memory_format):
    # Integers from -128 to 127: exact in both types; ties (the first wins, in PyTorch's CPU kernels too).
    x = (distinct((2, 5, 13, 11)) * 256 - 128).floor().to(half(dtype)).to(memory_format=memory_format)
    want_v, want_i = F.max_pool2d(x, **params, return_indices=True)
    got_v, got_i = mt.max_pool2d(x, **params, return_indices=True)
    assert got_v.dtype == dtype and torch.equal(bits(got_v), bits(want_v)) and torch.equal(got_i, want_i)
    assert got_v.is_contiguous(memory_format=memory_format)
    v, i, m = maxpool.max_pool2d(x, **params, return_indices=True, return_multiplier=True)
    assert isinstance(v, torch.Tensor) and v.dtype == dtype and v.is_contiguous(memory_format=memory_format)
    assert torch.equal(bits(v), bits(want_v)) and torch.equal(i, want_i) and m.shape == x.shape
    theirs, ours = torch.nn.MaxPool2d(**params), mt.MaxPool2d(**params)
    assert torch.equal(bits(ours(x)), bits(theirs(x)))


@pytest.mark.parametrize("dtype", HALF, ids=str)
@pytest.mark.parametrize("params", GEOMETRIES)
def test_half_gradients(dtype, params):
    # The gradient is the numpy reference's: each element's gradients summed in float32 in output order and
    # rounded once. (PyTorch's own may differ by that rounding.)
    for memory_format in [torch.contiguous_format, torch.channels_last]:
        x = distinct((2, 3, 9, 10), half(dtype)).to(memory_format=memory_format).requires_grad_()
        y = mt.MaxPool2d(**params)(x)
        g = torch.randn(y.shape).mul(64).to(dtype)
        (y * g).sum().backward()
        assert x.grad.dtype == dtype and x.grad.shape == x.shape
        _, plane = F.max_pool2d(x.detach(), **params, return_indices=True)
        want = reference.backward(as_numpy(g), plane.numpy(), tuple(x.shape))
        np.testing.assert_array_equal(as_numpy(x.grad.contiguous()).view(np.uint16), want.view(np.uint16))


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_half_gradient_is_rounded_once(dtype):
    # Three 2 x 2 windows (stride 1) won by the centre, gradients big, 1, 1: big + 2 when summed in float32
    # and rounded once; rounding after each addition would give big.
    big = {torch.float16: 2048.0, torch.bfloat16: 256.0}[half(dtype)]
    x = torch.tensor([[0, 1, 0], [2, 9, 3], [0, 4, 0]], dtype=dtype)[None, None].requires_grad_()
    g = torch.tensor([[big, 1], [1, 0]], dtype=dtype)[None, None]
    (mt.max_pool2d(x, 2, 1) * g).sum().backward()
    assert x.grad[0, 0, 1, 1].item() == big + 2 and x.grad.float().sum().item() == big + 2


@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_half_tensors_are_read_and_written_in_place(dtype):
    import maxpool._interop as interop

    x = distinct((2, 4, 8, 8), half(dtype)).to(memory_format=torch.channels_last)[:, 1:, ::2]
    seen = interop.to_numpy(x, "input")
    assert seen.ctypes.data == x.data_ptr() and seen.dtype.name == str(dtype).split(".")[1]
    assert seen.strides == tuple(s * x.element_size() for s in x.stride())
    back = interop.from_numpy(seen, x)
    assert back.dtype == dtype and back.data_ptr() == x.data_ptr() and back.stride() == x.stride()
    # out= tensors are written in place, and returned as themselves.
    want_v, want_i = F.max_pool2d(x, 2, return_indices=True)
    values, indices = torch.zeros_like(want_v), torch.zeros_like(want_i)
    got = maxpool.max_pool2d(x, 2, return_indices=True, out=(values, indices))
    assert got[0] is values and got[1] is indices
    assert torch.equal(bits(values), bits(want_v)) and torch.equal(indices, want_i)
    grad = maxpool.max_pool2d_backward(torch.ones_like(values), indices, tuple(x.shape), 2)
    assert grad.dtype == dtype and grad.float().sum().item() == values.numel()


def test_bfloat16_without_ml_dtypes(monkeypatch):
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # `import ml_dtypes` fails
    x = torch.zeros(1, 1, 4, 4, dtype=torch.bfloat16)
    with pytest.raises(TypeError, match="input is bfloat16.*ml_dtypes is not installed"):
        maxpool.max_pool2d(x, 2)
    with pytest.raises(TypeError, match="ml_dtypes is not installed"):
        mt.MaxPool2d(2)(x)
    with pytest.raises(TypeError, match="out is bfloat16"):
        maxpool.max_pool2d(x.float(), 2, out=torch.zeros(1, 1, 2, 2, dtype=torch.bfloat16))
    # float16 needs nothing.
    assert mt.MaxPool2d(2)(x.half()).dtype == torch.float16
