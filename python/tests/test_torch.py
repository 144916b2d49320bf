"""maxpool.torch against torch.nn.functional.max_pool2d: values, indices, gradients (gradcheck in float64),
memory formats, and tensors in and out of maxpool.max_pool2d. Skipped, with the reason printed (pytest -rs),
when PyTorch is not installed."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed: the maxpool.torch tests need it")
F = torch.nn.functional

import maxpool  # noqa: E402
import maxpool.torch as mt  # noqa: E402

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
    with pytest.raises(TypeError, match="maxpool.torch"):
        maxpool.max_pool2d(torch.zeros(1, 1, 4, 4, requires_grad=True), 2)
    with pytest.raises(TypeError):
        maxpool.max_pool2d(torch.zeros(1, 1, 4, 4, dtype=torch.float16), 2)


def test_tensors_are_read_in_place():
    import maxpool._interop as interop

    x = distinct((2, 4, 8, 8)).to(memory_format=torch.channels_last)[:, 1:, ::2]
    seen = interop.to_numpy(x, "input")
    assert seen.ctypes.data == x.data_ptr()
    assert seen.strides == tuple(s * x.element_size() for s in x.stride())
