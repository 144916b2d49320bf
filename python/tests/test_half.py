"""The 16-bit floats: numpy's float16 and ml_dtypes' bfloat16, against the numpy reference and hand-written bit
patterns: every layout and index format, NaN payloads (signalling ones included), -0.0 against 0.0, padding, the
backward pass summed in float32 and rounded once, plans and out=, and the package without ml_dtypes. The bfloat16
tests need ml_dtypes and are skipped with the reason printed (pytest -rs) without it."""

import importlib.util
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import maxpool
import reference
from test_maxpool import CONCRETE, HALF_NAMES, as_dtype, bits, check, random_input

LAYOUTS = ["NCHW", "NHWC"]

# Bit patterns of each type: 1.0, 2.0, -inf, a quiet NaN with a payload, a signalling NaN, a negative signalling
# NaN with another payload.
PATTERNS = {
    "float16": dict(one=0x3C00, two=0x4000, ninf=0xFC00, qnan=0x7E01, snan=0x7C01, neg_snan=0xFD55),
    "bfloat16": dict(one=0x3F80, two=0x4000, ninf=0xFF80, qnan=0x7FC1, snan=0x7F81, neg_snan=0xFF95),
}
NEG_ZERO, ZERO = 0x8000, 0x0000


def plane_bits(name):
    """A 4 × 6 plane of bit patterns whose 2 × 2 windows (stride 2) test the NaN, zero and -inf rules, and each
    window's winner: (bits, flat index)."""
    p = PATTERNS[name]
    one, two, ninf, qnan, snan, neg_snan = (p[k] for k in ("one", "two", "ninf", "qnan", "snan", "neg_snan"))
    x = np.array([
        [one, snan, NEG_ZERO, ZERO, ZERO, NEG_ZERO],
        [qnan, one, NEG_ZERO, ZERO, ninf, NEG_ZERO],
        [ninf, ninf, one, qnan, ninf, ninf],
        [ninf, neg_snan, snan, two, ninf, ninf],
    ], np.uint16)
    want = [
        [(snan, 1), (NEG_ZERO, 2), (ZERO, 4)],  # the first NaN (signalling, payload kept); -0 first of equal zeros
        [(neg_snan, 19), (qnan, 15), (ninf, 16)],  # a negative NaN beats -inf; a NaN beats 2.0; all -inf
    ]
    return x, want


@pytest.mark.parametrize("name", HALF_NAMES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_nan_payloads_and_signed_zeros(name, layout):
    dtype = as_dtype(name)
    plane, want = plane_bits(name)
    # Two channels: the plane, and the plane mirrored left to right (other winners).
    nchw = np.stack([plane, plane[:, ::-1]])[None].view(dtype)
    x = np.ascontiguousarray(np.moveaxis(nchw, 1, -1)) if layout == "NHWC" else nchw
    want_bits = np.array([[b for b, _ in row] for row in want], np.uint16)
    want_index = np.array([[i for _, i in row] for row in want])
    for backend in maxpool.backends():
        v, i, m = maxpool.max_pool2d(x, 2, return_indices=True, return_multiplier=True, layout=layout,
                                     backend=backend)
        assert v.dtype == dtype
        if layout == "NHWC":
            v, i, m = (np.moveaxis(a, -1, 1) for a in (v, i, m))
        np.testing.assert_array_equal(bits(v[0, 0]), want_bits, err_msg=backend)
        np.testing.assert_array_equal(i[0, 0], want_index, err_msg=backend)
        assert m[0, 0].sum() == 6
    # The reference agrees, there and with padding (which never wins, even against -inf) and overlapping windows.
    check(x, (2, 2), (2, 2), (0, 0), (1, 1), False, layout)
    check(x, (3, 3), (2, 2), (1, 1), (1, 1), True, layout)
    check(x, (2, 3), (1, 2), (1, 0, 2, 1), (1, 2), True, layout)


@pytest.mark.parametrize("name", HALF_NAMES)
@pytest.mark.parametrize("index_format", maxpool.index_formats())
@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_index_format(name, index_format, layout):
    dtype = as_dtype(name)
    rng = np.random.default_rng(13)
    shape = (2, 3, 7, 8) if layout == "NCHW" else (2, 7, 8, 3)
    x = random_input(rng, shape, dtype, nan=True)
    types = ["int64", "int32"] + (["uint8"] if index_format == "window" else [])
    for index_dtype in types:
        check(x, (3, 3), (2, 2), (1, 1), (1, 1), False, layout, index_format=index_format,
              index_dtype=index_dtype)
        check(x, (2, 3), (1, 2), (0, 1), (2, 1), True, layout, index_format=index_format,
              index_dtype=index_dtype)


@pytest.mark.parametrize("name", HALF_NAMES)
def test_strided_views_and_backends(name):
    dtype = as_dtype(name)
    rng = np.random.default_rng(17)
    base = random_input(rng, (2, 3, 18, 20), dtype, nan=True)
    channels_last = base.transpose(0, 2, 3, 1).copy().transpose(0, 3, 1, 2)
    for view in (base[:, 1:, 1::2, ::3], np.asfortranarray(base), channels_last, base[:, :, ::-1]):
        for backend in CONCRETE:
            check(view, (2, 2), (2, 2), (0, 0), (1, 1), False, backend=backend)


# Three windows of 2 × 2 (stride 1) won by the centre of a 3 × 3 plane with gradients big, 1, 1 (and 0 for the
# fourth): summed in float32 and rounded once, big + 2; rounded after every addition, big (big + 1 is a tie,
# rounded to the even big).
ROUND_ONCE = {"float16": (2048.0, 2050.0), "bfloat16": (256.0, 258.0)}


@pytest.mark.parametrize("name", HALF_NAMES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("index_format", ["plane", "window"])
def test_backward_rounds_once(name, layout, index_format):
    dtype = as_dtype(name)
    big, want = ROUND_ONCE[name]
    x = np.array([[0, 1, 0], [2, 9, 3], [0, 4, 0]], dtype)[None, None]
    g = np.array([[big, 1], [1, 0]], dtype)[None, None]
    if layout == "NHWC":
        x, g = np.moveaxis(x, 1, -1), np.moveaxis(g, 1, -1)
    v, i = maxpool.max_pool2d(x, 2, 1, return_indices=True, layout=layout, index_format=index_format)
    got = maxpool.max_pool2d_backward(g, i, x.shape, 2, 1, layout=layout, index_format=index_format)
    assert got.dtype == dtype and got.shape == x.shape
    centre = got[0, 0, 1, 1] if layout == "NCHW" else got[0, 1, 1, 0]
    assert float(centre) == want
    assert float(got.astype(np.float32).sum()) == want  # nothing anywhere else
    # Rounding after every addition would give `big`: the case tells the two apart.
    per_add = dtype.type(0)
    for grad in (big, 1, 1, 0):
        per_add = (np.float32(per_add) + np.float32(grad)).astype(dtype)
    assert float(per_add) == big
    # The plan's backward is the same.
    plan = maxpool.Plan(2, 1, height=3, width=3)
    np.testing.assert_array_equal(bits(plan.backward(g, i, layout=layout, index_format=index_format)), bits(got))


@pytest.mark.parametrize("name", HALF_NAMES)
def test_backward_many_gradients(name):
    # Large overlaps (a 5 × 5 kernel, stride 1, few distinct values): many gradients summed per element.
    dtype = as_dtype(name)
    rng = np.random.default_rng(19)
    x = random_input(rng, (2, 3, 16, 15), dtype)
    args = ((5, 5), (1, 1), (2, 2), (1, 1), False)
    v, plane = maxpool.max_pool2d(x, *args, return_indices=True)
    g = (rng.standard_normal(v.shape) * 100).astype(dtype)
    got = maxpool.max_pool2d_backward(g, plane, x.shape, *args)
    np.testing.assert_array_equal(bits(got), bits(reference.backward(g, plane, x.shape)))


@pytest.mark.parametrize("name", HALF_NAMES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_plan_and_out(name, layout):
    dtype = as_dtype(name)
    rng = np.random.default_rng(23)
    shape = (2, 3, 9, 9) if layout == "NCHW" else (2, 9, 9, 3)
    x = random_input(rng, shape, dtype, nan=True)
    plan = maxpool.Plan(3, 2, 1, height=9, width=9)
    want = maxpool.max_pool2d(x, 3, 2, 1, return_indices=True, return_multiplier=True, layout=layout)
    got = plan(x, True, return_multiplier=True, layout=layout)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(bits(a), bits(b))
    values = np.asfortranarray(np.zeros(want[0].shape, dtype))
    indices = np.zeros(want[1].shape, np.int32)
    multiplier = np.zeros(x.shape, np.uint32)
    out = plan(x, True, return_multiplier=True, layout=layout, out=(values, indices, multiplier))
    assert out[0] is values and out[1] is indices and out[2] is multiplier
    np.testing.assert_array_equal(bits(values), bits(want[0]))
    np.testing.assert_array_equal(indices, want[1])
    np.testing.assert_array_equal(multiplier, want[2])
    # Values of the other 16-bit type, or of the same bits as integers, are not the input's.
    if name == "bfloat16":
        other = np.float16
    else:
        other = np.dtype("bfloat16") if "bfloat16" in maxpool.dtypes() else np.float32
    for wrong in (np.zeros(want[0].shape, np.uint16), np.zeros(want[0].shape, other)):
        with pytest.raises(TypeError, match="the input's"):
            plan(x, layout=layout, out=wrong)
    # Gradients must be the type itself; integer grads are refused, naming the argument.
    with pytest.raises(TypeError, match="grad_values"):
        plan.backward(want[0].view(np.uint16), want[1], layout=layout)


def test_dtypes_lists_the_16_bit_floats():
    names = maxpool.dtypes()
    assert names[names.index("float16"):] in (["float16", "bfloat16"], ["float16"])
    assert ("bfloat16" in names) == (importlib.util.find_spec("ml_dtypes") is not None)
    for name in names:
        np.dtype(name)  # each a numpy dtype (bfloat16 once ml_dtypes is imported, which dtypes() does)


def test_without_ml_dtypes():
    # In a fresh interpreter where `import ml_dtypes` fails: float16 works, bfloat16 is not listed, nothing
    # panics on the missing dtype, and a bfloat16 object is refused with a TypeError saying what to install.
    # Then, where ml_dtypes is installed, importing it later makes bfloat16 work: its absence was not kept.
    script = textwrap.dedent("""
        import sys
        sys.modules["ml_dtypes"] = None
        import numpy as np, maxpool
        assert "float16" in maxpool.dtypes() and "bfloat16" not in maxpool.dtypes(), maxpool.dtypes()
        v = maxpool.max_pool2d(np.arange(16, dtype=np.float16).reshape(4, 4), 2)
        assert v.dtype == np.float16 and v.tolist() == [[5, 7], [13, 15]]
        for bad in (np.zeros((4, 4), "V2"), np.zeros((4, 4), np.complex64)):
            try:
                maxpool.max_pool2d(bad, 2)
            except TypeError as e:
                assert "ml_dtypes.bfloat16" in str(e), e
            else:
                raise AssertionError("no TypeError")

        class BFloat16Tensor:
            dtype = "bfloat16"
            def __dlpack__(self, **kwargs):
                raise AssertionError("not read")

        for call in (lambda: maxpool.max_pool2d(BFloat16Tensor(), 2),
                     lambda: maxpool.max_pool2d(np.zeros((4, 4), np.float16), 2, out=BFloat16Tensor())):
            try:
                call()
            except TypeError as e:
                assert "ml_dtypes is not installed" in str(e) and "bfloat16" in str(e), e
            else:
                raise AssertionError("no TypeError")
        del sys.modules["ml_dtypes"]
        try:
            import ml_dtypes
        except ImportError:
            print("no ml_dtypes")
        else:
            assert "bfloat16" in maxpool.dtypes()
            x = np.arange(16, dtype=np.float32).reshape(4, 4).astype(ml_dtypes.bfloat16)
            v = maxpool.max_pool2d(x, 2)
            assert v.dtype == x.dtype and v.astype(np.float32).tolist() == [[5, 7], [13, 15]]
            print("ml_dtypes later")
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "Panic" not in run.stderr
    want = "ml_dtypes later" if importlib.util.find_spec("ml_dtypes") else "no ml_dtypes"
    assert run.stdout.strip() == want
