"""maxpool's Python package against the numpy reference in reference.py: every dtype, both layouts, strided
views, padding, ceil mode, dilation, NaN, ties, the notebook's matrices, the shared test vectors, the backward
pass, every error, GIL release and in-place reading. The bfloat16 tests need ml_dtypes, and are skipped with the
reason printed (pytest -rs) without it; float16 needs nothing."""

import json
import math
import pathlib
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import maxpool
import reference

REPO = pathlib.Path(__file__).resolve().parents[2]
# Every element type by numpy's name; bfloat16 is ml_dtypes' (see as_dtype).
DTYPE_NAMES = ["float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "int64", "float16", "bfloat16"]
FLOAT_NAMES = ["float32", "float64", "float16", "bfloat16"]
HALF_NAMES = ["float16", "bfloat16"]
CONCRETE = [b for b in maxpool.backends() if b != "auto"]
NO_ML_DTYPES = "ml_dtypes is not installed: the bfloat16 tests need it (pip install ml_dtypes)"


def as_dtype(name):
    """numpy's dtype named `name`; for bfloat16, ml_dtypes', the test skipped (reason printed) without it."""
    if name == "bfloat16":
        return np.dtype(pytest.importorskip("ml_dtypes", reason=NO_ML_DTYPES).bfloat16)
    return np.dtype(name)


def is_float(dtype):
    return dtype.kind == "f" or dtype.name == "bfloat16"  # ml_dtypes' bfloat16 is of kind "V"


def bits(a):
    """An array's elements as unsigned integers of its width, so that floats compare bit for bit."""
    a = np.ascontiguousarray(a)
    return a.view(f"u{a.dtype.itemsize}") if is_float(a.dtype) else a


def random_input(rng, shape, dtype, nan=False):
    if is_float(dtype):
        x = rng.integers(-6, 6, size=shape).astype(dtype)  # few values: many ties
        if nan:
            x[rng.random(shape) < 0.05] = np.nan
        return x
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -6), min(info.max, 6), size=shape, endpoint=True).astype(dtype)


def check(x, kernel, stride, padding, dilation, ceil_mode, layout="NCHW", backend="auto",
          index_format="plane", index_dtype="int64"):
    got = maxpool.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, return_indices=True,
                             return_multiplier=True, layout=layout, index_format=index_format,
                             index_dtype=index_dtype, backend=backend)
    pad4 = padding if len(padding) == 4 else (padding[0], padding[0], padding[1], padding[1])
    want = reference.max_pool2d(x, kernel, stride, pad4, dilation, ceil_mode, layout, index_format)
    values, indices, multiplier = got
    assert values.dtype == x.dtype and indices.dtype == np.dtype(index_dtype)
    assert multiplier.dtype == np.uint32 and multiplier.shape == x.shape
    np.testing.assert_array_equal(bits(values), bits(want[0]))
    np.testing.assert_array_equal(indices, want[1])
    np.testing.assert_array_equal(multiplier, want[2])
    return got


# The notebook's matrices (cells 15, 20 and 21), as the conformance suite has them.
A4 = np.array([[12, 15, 5, 0], [3, 11, 3, 7], [9, 3, 5, 2], [4, 7, 6, 8]])
A5 = np.array([[12, 15, 5, 0, 1], [3, 11, 3, 7, 2], [9, 3, 5, 2, 3], [4, 7, 6, 8, 4], [1, 2, 3, 4, 5]])
A6 = np.array([[12, 15, 5, 0, 1, 2], [3, 11, 3, 7, 2, 4], [9, 3, 5, 2, 3, 1], [4, 7, 6, 8, 4, 6],
               [1, 2, 3, 4, 5, 2], [2, 3, 5, 1, 0, 3]])


@pytest.mark.parametrize("backend", maxpool.backends())
def test_notebook_matrices(backend):
    v, i, m = maxpool.max_pool2d(A4, 2, return_indices=True, return_multiplier=True, backend=backend)
    np.testing.assert_array_equal(v, [[15, 7], [9, 8]])
    np.testing.assert_array_equal(i, [[1, 7], [8, 15]])
    assert m.sum() == 4 and m[0, 1] == 1
    v, i = maxpool.max_pool2d(A5, 2, ceil_mode=True, return_indices=True, backend=backend)
    np.testing.assert_array_equal(v, [[15, 7, 2], [9, 8, 4], [2, 4, 5]])
    np.testing.assert_array_equal(i, [[1, 8, 9], [10, 18, 19], [21, 23, 24]])
    # Negated, zero padding would win every edge window; it must not.
    v, i = maxpool.max_pool2d(-A5, 2, ceil_mode=True, return_indices=True, backend=backend)
    np.testing.assert_array_equal(v, [[-3, 0, -1], [-3, -2, -3], [-1, -3, -5]])
    np.testing.assert_array_equal(i, [[5, 3, 4], [11, 13, 14], [20, 22, 24]])
    v, i = maxpool.max_pool2d(A6, 3, return_indices=True, backend=backend)
    np.testing.assert_array_equal(v, [[15, 7], [7, 8]])
    np.testing.assert_array_equal(i, [[1, 9], [19, 21]])


@pytest.mark.parametrize("name", DTYPE_NAMES)
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_every_dtype_and_layout(name, layout):
    dtype = as_dtype(name)
    rng = np.random.default_rng(hash((name, layout)) % 2**32)
    shape = (2, 3, 9, 10) if layout == "NCHW" else (2, 9, 10, 3)
    x = random_input(rng, shape, dtype, nan=True)
    for kernel, stride, padding, dilation, ceil_mode in [
        ((3, 3), (2, 2), (1, 1), (1, 1), False),
        ((2, 2), (2, 2), (0, 0), (1, 1), True),
        ((3, 2), (1, 2), (1, 0, 0, 1), (2, 1), True),
    ]:
        check(x, kernel, stride, padding, dilation, ceil_mode, layout)


@pytest.mark.parametrize("backend", CONCRETE)
def test_every_backend_random_geometries(backend):
    rng = np.random.default_rng(7)
    done = 0
    for _ in range(60):
        kernel = tuple(rng.integers(1, 5, size=2))
        stride = tuple(rng.integers(1, 4, size=2))
        dilation = tuple(rng.integers(1, 3, size=2))
        padding = tuple(int(p) for p in rng.integers(0, 3, size=4))
        ceil_mode = bool(rng.integers(0, 2))
        if backend == "block":  # it pools tilings only
            stride, dilation = kernel, (1, 1)
        x = random_input(rng, (2, 2, int(rng.integers(4, 12)), int(rng.integers(4, 12))), np.dtype("f4"), nan=True)
        try:
            want = reference.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
        except ValueError:
            with pytest.raises(ValueError):
                maxpool.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, backend=backend)
            continue
        try:
            got = maxpool.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, return_indices=True,
                                     return_multiplier=True, backend=backend)
        except ValueError as e:
            assert "cannot" in str(e) or "can" in str(e), e  # a backend that cannot pool this geometry
            continue
        np.testing.assert_array_equal(bits(got[0]), bits(want[0]))
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_array_equal(got[2], want[2])
        done += 1
    assert done >= 10


def test_nan_and_ties():
    x = np.array([[1.0, np.nan, 3.0, np.nan], [np.nan, 3.0, 3.0, 1.0]], dtype=np.float32)
    v, i = maxpool.max_pool2d(x, 2, return_indices=True)
    assert np.isnan(v[0, 0]) and i[0, 0] == 1  # the first NaN in scan order
    assert np.isnan(v[0, 1]) and i[0, 1] == 3
    ties = np.array([[2, 2], [2, 2]], dtype=np.int8)
    assert maxpool.max_pool2d(ties, 2, return_indices=True)[1][0, 0] == 0
    z = np.array([[-0.0, 0.0], [0.0, -0.0]], dtype=np.float64)
    v = maxpool.max_pool2d(z, 2)
    assert math.copysign(1.0, v[0, 0]) == -1.0  # the first of equal values, bit for bit
    # Padding never wins, even against the lowest value of the type.
    lowest = np.full((3, 3), np.iinfo(np.int32).min, dtype=np.int32)
    v, i = maxpool.max_pool2d(lowest, 2, 1, 1, return_indices=True)
    assert (v == np.iinfo(np.int32).min).all() and (i >= 0).all()
    neg_inf = np.full((3, 3), -np.inf, dtype=np.float32)
    assert (maxpool.max_pool2d(neg_inf, 3, 1, 1) == -np.inf).all()


@pytest.mark.parametrize("index_format", maxpool.index_formats())
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_index_formats_and_types(index_format, layout):
    rng = np.random.default_rng(3)
    shape = (2, 3, 7, 8) if layout == "NCHW" else (2, 7, 8, 3)
    x = random_input(rng, shape, np.dtype("f4"))
    types = ["int64", "int32"] + (["uint8"] if index_format == "window" else [])
    for index_dtype in types:
        check(x, (3, 3), (2, 2), (1, 1), (1, 1), False, layout, index_format=index_format,
              index_dtype=index_dtype)
    assert maxpool.max_pool2d(x, 2, return_indices=True, index_dtype=np.int32, layout=layout)[1].dtype == np.int32


def test_index_type_refusals():
    x = np.zeros((4, 4), np.float32)
    with pytest.raises(ValueError, match="u8"):
        maxpool.max_pool2d(x, 2, return_indices=True, index_dtype="uint8")  # plane format
    with pytest.raises(ValueError, match="index_dtype"):
        maxpool.max_pool2d(x, 2, return_indices=True, index_dtype="float32")
    with pytest.raises(TypeError, match="index_dtype"):
        maxpool.max_pool2d(x, 2, return_indices=True, index_dtype="not a dtype")
    # i32 is refused when the format's largest index does not fit: flat_nchw over 2^31 elements, read in
    # place from a broadcast view (no memory behind it).
    big = np.broadcast_to(np.float32(0), (1 << 16, 1 << 14, 2, 2))
    with pytest.raises(ValueError, match="i32"):
        maxpool.max_pool2d(big, 2, return_indices=True, index_format="flat_nchw", index_dtype="int32")


def test_strided_views_and_orders():
    rng = np.random.default_rng(11)
    base = random_input(rng, (3, 4, 20, 22), np.dtype("f8"), nan=True)
    views = {
        "sliced": base[:, 1:, 2:19:2, ::3],
        "fortran": np.asfortranarray(base),
        "channels-last transposed": base.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2),
        "negative strides (copied)": base[:, :, ::-1, ::-2],
        "5-D": base.reshape(3, 2, 2, 20, 22),
        "2-D": base[1, 2],
        "3-D": base[1],
        "broadcast": np.broadcast_to(base[0, 0], (2, 3, 20, 22)),
    }
    for name, view in views.items():
        got = check(view, (3, 3), (2, 2), (1, 1), (1, 1), True)
        # Outputs follow the input's memory order.
        if name == "channels-last transposed":
            assert got[0].strides[1] == got[0].itemsize and got[2].strides[1] == 4, name


def test_outputs_keep_nhwc_order():
    x = np.zeros((2, 8, 8, 16), np.float32)
    v, i, m = maxpool.max_pool2d(x, 2, return_indices=True, return_multiplier=True, layout="NHWC")
    assert v.shape == (2, 4, 4, 16) and v.flags.c_contiguous and i.flags.c_contiguous and m.flags.c_contiguous
    assert v.flags.writeable and i.flags.writeable and m.flags.writeable


# The vectors' type names (the library's) as numpy's.
VECTOR_DTYPES = {"f32": "float32", "f64": "float64", "i8": "int8", "u8": "uint8", "i16": "int16", "u16": "uint16",
                 "i32": "int32", "i64": "int64", "f16": "float16", "bf16": "bfloat16"}


@pytest.mark.parametrize("vector_dtype", list(VECTOR_DTYPES))
def test_shared_test_vectors(vector_dtype):
    path = REPO / "crates" / "conformance" / "data" / "maxpool2d.jsonl"
    special = {"NaN": np.nan, "Infinity": np.inf, "-Infinity": -np.inf}
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert {case["dtype"] for case in cases} <= set(VECTOR_DTYPES)
    cases = [case for case in cases if case["dtype"] == vector_dtype]
    assert len(cases) > 20
    dtype = as_dtype(VECTOR_DTYPES[vector_dtype])
    for case in cases:
        shape = (case["planes"], case["height"], case["width"])
        x = np.array([special.get(v, v) if isinstance(v, str) else v for v in case["input"]], dtype=dtype)
        x = x.reshape(shape)
        args = (case["kernel"], case["stride"], case["padding"], case["dilation"], case["ceil_mode"])
        for backend in maxpool.backends():
            if "error" in case:
                with pytest.raises(ValueError):
                    maxpool.max_pool2d(x, *args, backend=backend)
                continue
            try:
                v, i, m = maxpool.max_pool2d(x, *args, return_indices=True, return_multiplier=True,
                                             backend=backend)
            except ValueError as e:
                assert backend == "block", (case["name"], backend, e)  # block pools only tilings
                continue
            want = np.array([special.get(v, v) if isinstance(v, str) else v for v in case["values"]], dtype=dtype)
            np.testing.assert_array_equal(bits(v.ravel()), bits(want), err_msg=case["name"])
            np.testing.assert_array_equal(i.ravel(), case["indices"], err_msg=case["name"])
            np.testing.assert_array_equal(m.ravel(), case["multiplier"], err_msg=case["name"])



@pytest.mark.parametrize("name", FLOAT_NAMES)
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("index_format", maxpool.index_formats())
def test_backward(name, layout, index_format):
    dtype = as_dtype(name)
    rng = np.random.default_rng(5)
    shape = (2, 3, 9, 9) if layout == "NCHW" else (2, 9, 9, 3)
    x = rng.standard_normal(shape).astype(dtype)
    args = ((3, 3), (2, 2), (1, 1), (1, 1), True)
    v, i = maxpool.max_pool2d(x, *args, return_indices=True, layout=layout, index_format=index_format)
    _, plane, _ = maxpool.max_pool2d(x, *args, return_indices=True, return_multiplier=True, layout=layout)
    g = rng.standard_normal(v.shape).astype(dtype)
    got = maxpool.max_pool2d_backward(g, i, x.shape, *args, layout=layout, index_format=index_format)
    if layout == "NHWC":
        want = np.moveaxis(reference.backward(np.moveaxis(g, -1, -3), np.moveaxis(plane, -1, -3),
                                              np.moveaxis(x, -1, -3).shape), -3, -1)
    else:
        want = reference.backward(g, plane, x.shape)
    assert got.shape == x.shape and got.dtype == x.dtype
    np.testing.assert_array_equal(bits(got), bits(want))
    # Gradients read in place from a view with a step in every axis.
    wide = np.zeros(tuple(2 * n for n in g.shape), dtype)
    wide[::2, ::2, ::2, ::2] = g
    got = maxpool.max_pool2d_backward(wide[::2, ::2, ::2, ::2], i, x.shape, *args, layout=layout,
                                      index_format=index_format)
    np.testing.assert_array_equal(bits(got), bits(want))
    # The backward of all-ones is the multiplier: dense ones, and one broadcast (strides 0), as autograd's sum gives.
    multiplier = maxpool.max_pool2d(x, *args, return_multiplier=True, layout=layout)[1]
    for ones in (np.ones_like(v), np.broadcast_to(np.ones((), dtype), v.shape)):
        got = maxpool.max_pool2d_backward(ones, i, x.shape, *args, layout=layout, index_format=index_format)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got.astype(np.float64), multiplier)


def test_backward_refusals():
    x = np.arange(16, dtype=np.float32).reshape(4, 4)
    v, i = maxpool.max_pool2d(x, 2, return_indices=True)
    bad = i.copy()
    bad[0, 0] = 16
    with pytest.raises(ValueError, match="16"):
        maxpool.max_pool2d_backward(v, bad, x.shape, 2)
    bad[0, 0] = -1
    with pytest.raises(ValueError, match="negative"):
        maxpool.max_pool2d_backward(v, bad, x.shape, 2)
    with pytest.raises(ValueError, match="negative"):
        maxpool.max_pool2d_backward(v, bad.T.copy().T, x.shape, 2)  # the same, Fortran order
    with pytest.raises(TypeError, match="float32, float64, float16 and bfloat16"):
        maxpool.max_pool2d_backward(v.astype(np.int32), i, x.shape, 2)
    with pytest.raises(TypeError, match="indices"):
        maxpool.max_pool2d_backward(v, i.astype(np.float32), x.shape, 2)
    with pytest.raises(ValueError, match="grad_values has shape"):
        maxpool.max_pool2d_backward(v, i, (6, 6), 2)
    with pytest.raises(ValueError, match="shape"):
        maxpool.max_pool2d_backward(v, i[:1], x.shape, 2)


def test_plan():
    plan = maxpool.Plan(kernel_size=3, stride=1, height=8, width=8, backend="auto")
    assert plan.out_shape == (6, 6) and plan.in_shape == (8, 8) and plan.backend in CONCRETE
    assert "Plan(kernel_size=(3, 3)" in repr(plan)
    x = np.random.default_rng(1).standard_normal((4, 8, 8)).astype(np.float32)
    v = plan(x)
    np.testing.assert_array_equal(v, maxpool.max_pool2d(x, 3, 1))
    v, i, m = plan(x, True, return_multiplier=True)
    g = plan.backward(np.ones_like(v), i)
    np.testing.assert_array_equal(g, m)
    with pytest.raises(ValueError, match="8 × 8"):
        plan(np.zeros((9, 9), np.float32))
    with pytest.raises(ValueError, match="block"):
        maxpool.Plan(3, 1, height=8, width=8, backend="block")


def test_errors_name_their_argument():
    x = np.zeros((1, 1, 8, 8), np.float32)
    cases = [
        (dict(kernel_size=0), ValueError, "kernel"),
        (dict(kernel_size=-2), ValueError, "kernel_size"),
        (dict(kernel_size=2, stride=0), ValueError, "stride"),
        (dict(kernel_size=2, stride=-1), ValueError, "stride"),
        (dict(kernel_size=2, dilation=0), ValueError, "dilation"),
        (dict(kernel_size=2, padding=-1), ValueError, "padding"),
        (dict(kernel_size=2, padding=(1, 2, 3)), ValueError, "padding"),
        (dict(kernel_size=2.5), TypeError, "kernel_size"),
        (dict(kernel_size="2"), TypeError, "kernel_size"),
        (dict(kernel_size=3, padding=5), ValueError, "padding"),
        (dict(kernel_size=9), ValueError, "larger"),
        (dict(kernel_size=2, layout="HWC"), ValueError, "layout"),
        (dict(kernel_size=2, index_format="torch"), ValueError, "index_format"),
        (dict(kernel_size=2, backend="fast"), ValueError, "backend"),
    ]
    for kwargs, error, word in cases:
        with pytest.raises(error, match=word):
            maxpool.max_pool2d(x, **kwargs)
    with pytest.raises(TypeError, match="complex64"):
        maxpool.max_pool2d(x.astype(np.complex64), 2)
    with pytest.raises(TypeError, match="ml_dtypes.bfloat16"):
        maxpool.max_pool2d(x.astype(np.float16).view("V2"), 2)  # 16 bits, but not a float numpy knows
    with pytest.raises(TypeError, match="byte order"):
        maxpool.max_pool2d(x.astype(">f4"), 2)
    with pytest.raises(TypeError, match="__dlpack__"):
        maxpool.max_pool2d([[1, 2], [3, 4]], 2)
    with pytest.raises(ValueError, match="axes"):
        maxpool.max_pool2d(np.zeros(4, np.float32), 2)
    with pytest.raises(ValueError, match="axes"):
        maxpool.max_pool2d(np.zeros((4, 4), np.float32), 2, layout="NHWC")
    with pytest.raises(ValueError, match="threads"):
        maxpool.set_num_threads(10**6)
    with pytest.raises(ValueError, match="threads"):
        maxpool.set_num_threads(-1)


def test_threads_setting():
    before = maxpool.num_threads()
    try:
        maxpool.set_num_threads(1)
        assert maxpool.num_threads() == 1
    finally:
        maxpool.set_num_threads(0)
    assert maxpool.num_threads() == before


def test_gil_is_released():
    # While one thread pools a large input, another keeps running Python: the longest pause it sees is much
    # shorter than the pooling call. With the GIL held, the pause would be the whole call.
    x = np.random.default_rng(0).standard_normal((16, 64, 128, 128)).astype(np.float32)
    maxpool.set_num_threads(1)
    try:
        start = time.perf_counter()
        maxpool.max_pool2d(x, 3, 1, return_indices=True, return_multiplier=True)
        call = time.perf_counter() - start
        done = threading.Event()

        def pool():
            maxpool.max_pool2d(x, 3, 1, return_indices=True, return_multiplier=True)
            done.set()

        worker = threading.Thread(target=pool)
        longest, last = 0.0, time.perf_counter()
        worker.start()
        while not done.is_set():
            now = time.perf_counter()
            longest, last = max(longest, now - last), now
        worker.join()
    finally:
        maxpool.set_num_threads(0)
    assert call > 0.05, f"the call took {call:.3f} s, too short to tell"
    assert longest < call / 2, f"the main thread paused {longest:.3f} s during a {call:.3f} s call"


class Wrapped:
    """Only the DLPack protocol, as a PyTorch or JAX array offers it."""

    def __init__(self, array):
        self.array = array

    def __dlpack__(self, **kwargs):
        return self.array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()


def test_dlpack_objects_are_read_in_place():
    import maxpool._interop as interop

    x = np.random.default_rng(2).standard_normal((2, 5, 6, 7)).astype(np.float32)[:, :, 1:, ::2]
    seen = interop.to_numpy(Wrapped(x), "input")
    assert np.shares_memory(seen, x) and seen.strides == x.strides
    v, i = maxpool.max_pool2d(Wrapped(x), 2, return_indices=True)
    want = maxpool.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(v, want[0])
    np.testing.assert_array_equal(i, want[1])


def test_numpy_views_are_read_in_place():
    # The plan reads a channels-last view or a strided view in place (kernel "…/nhwc" or "…/nchw"); only an
    # array without a layout (negative strides) is copied first.
    base = np.zeros((2, 16, 16, 32), np.float32)
    plan = maxpool.Plan(2, height=16, width=16)
    assert plan.kernel(base, layout="NHWC").endswith("/nhwc")
    assert plan.kernel(base.transpose(0, 3, 1, 2)).endswith("/nhwc")
    assert plan.kernel(base.transpose(0, 3, 1, 2).copy()).endswith("/nchw")
    assert "copy" in plan.kernel(base.transpose(0, 3, 1, 2)[:, :, ::-1])


def test_version_and_lists():
    cargo = (REPO / "Cargo.toml").read_text()
    assert f'version = "{maxpool.__version__}"' in cargo
    assert maxpool.backends()[0] == "auto" and set(CONCRETE) == {"naive", "block", "lookup", "simd"}
    assert "float32" in maxpool.dtypes() and "window" in maxpool.index_formats()
    assert "index_format" in maxpool.max_pool2d.__doc__ and "(top, bottom, left, right)" in maxpool.max_pool2d.__doc__


def test_notebook_example_runs():
    out = subprocess.run([sys.executable, str(REPO / "python" / "examples" / "notebook.py")],
                         capture_output=True, text=True, check=True).stdout
    for backend in CONCRETE:
        assert backend in out
    assert "multiplier" in out


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_out_arrays_are_written_in_place(layout):
    rng = np.random.default_rng(8)
    shape = (2, 3, 9, 9) if layout == "NCHW" else (2, 9, 9, 3)
    x = random_input(rng, shape, np.dtype("f4"), nan=True)
    want = maxpool.max_pool2d(x, 3, 2, 1, return_indices=True, return_multiplier=True, layout=layout)
    # Fortran-order outputs, indices as int32 (taken from the array).
    values = np.asfortranarray(np.zeros_like(want[0]))
    indices = np.asfortranarray(np.zeros(want[1].shape, np.int32))
    multiplier = np.zeros(x.shape, np.uint32)
    got = maxpool.max_pool2d(x, 3, 2, 1, return_indices=True, return_multiplier=True, layout=layout,
                             out=(values, indices, multiplier))
    assert got[0] is values and got[1] is indices and got[2] is multiplier
    np.testing.assert_array_equal(bits(values), bits(want[0]))
    np.testing.assert_array_equal(indices, want[1])
    np.testing.assert_array_equal(multiplier, want[2])
    # Values only: one array, returned as itself; a strided view of a larger buffer is written in place.
    buffer = np.zeros(want[0].shape + (2,), np.float32)
    view = buffer[..., 1]
    assert maxpool.max_pool2d(x, 3, 2, 1, layout=layout, out=view) is view
    np.testing.assert_array_equal(bits(view), bits(want[0]))
    assert not buffer[..., 0].any()
    plan = maxpool.Plan(3, 2, 1, height=9, width=9)
    assert plan(x, layout=layout, out=[values]) is values


def test_out_refusals_write_nothing():
    x = np.arange(36, dtype=np.float32).reshape(6, 6)
    values, indices = np.full((3, 3), -7, np.float32), np.full((3, 3), -7, np.int64)
    cases = [
        (dict(out=(values,)), ValueError, "out has 1 arrays; this call returns 2"),
        (dict(out=(values, indices[:2])), ValueError, "indices has shape"),
        (dict(out=(values.astype(np.float64), indices)), TypeError, "the input's"),
        (dict(out=(values, indices.astype(np.float32))), TypeError, "int64, int32 or uint8"),
        (dict(out=(values, indices), index_dtype="int32"), ValueError, "index_dtype"),
        (dict(out=(values, np.broadcast_to(indices, (3, 3)))), ValueError, "writeable"),
        (dict(out=(values, np.full((3, 3), 0, np.int64)[::-1])), ValueError, "negative stride"),
        (dict(out=(x[:3, :3], indices)), ValueError, "out"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            maxpool.max_pool2d(x, 2, return_indices=True, **kwargs)
        assert (values == -7).all() and (indices == -7).all()
    with pytest.raises(TypeError, match="uint32"):
        maxpool.max_pool2d(x, 2, return_multiplier=True, out=(values, np.zeros((6, 6), np.int32)))
    # Two results into one buffer: elements must be distinct.
    with pytest.raises(ValueError):
        maxpool.max_pool2d(x, 2, out=np.lib.stride_tricks.as_strided(values, (3, 3), (0, 4)))
    assert (values == -7).all()
