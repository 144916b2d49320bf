"""JAX arrays in and out of maxpool: read through DLPack without a copy on the CPU, results back as JAX arrays,
equal to the numpy call's. Skipped, with the reason printed (pytest -rs), when JAX is not installed."""

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="JAX is not installed: the JAX interop tests need it")
jnp = jax.numpy

import maxpool  # noqa: E402


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_jax_arrays_come_back_as_jax_arrays(layout):
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 3, 9, 8) if layout == "NCHW" else (2, 9, 8, 3))
    got = maxpool.max_pool2d(x, 3, 2, 1, return_indices=True, return_multiplier=True, layout=layout)
    want = maxpool.max_pool2d(np.asarray(x), 3, 2, 1, return_indices=True, return_multiplier=True, layout=layout)
    for g, w in zip(got, want):
        assert isinstance(g, jax.Array)
        np.testing.assert_array_equal(np.asarray(g), w)
    v, i, m = got
    grad = maxpool.max_pool2d_backward(jnp.ones_like(v), i, x.shape, 3, 2, 1, layout=layout)
    assert isinstance(grad, jax.Array)
    np.testing.assert_array_equal(np.asarray(grad), np.asarray(m).astype(np.float32))


def test_jax_input_is_read_in_place():
    x = jnp.arange(64, dtype=jnp.float32).reshape(8, 8)
    view = np.from_dlpack(x)
    assert view.ctypes.data == x.unsafe_buffer_pointer()  # numpy's view is JAX's buffer, so no copy is made
    np.testing.assert_array_equal(np.asarray(maxpool.max_pool2d(x, 2)), maxpool.max_pool2d(view, 2))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_jax_16_bit_floats(dtype):
    # bfloat16 does not pass through DLPack to numpy: it is read as numpy's view of the buffer (ml_dtypes'
    # bfloat16, which JAX depends on) and given back through jax.numpy.asarray.
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 3, 9, 8)).astype(dtype)
    v, i = maxpool.max_pool2d(x, 3, 2, 1, return_indices=True)
    want_v, want_i = maxpool.max_pool2d(np.asarray(x), 3, 2, 1, return_indices=True)
    assert isinstance(v, jax.Array) and v.dtype == x.dtype
    np.testing.assert_array_equal(np.asarray(v).view(np.uint16), want_v.view(np.uint16))
    np.testing.assert_array_equal(np.asarray(i), want_i)
    grad = maxpool.max_pool2d_backward(jnp.ones_like(v), i, x.shape, 3, 2, 1)
    assert isinstance(grad, jax.Array) and grad.dtype == x.dtype
