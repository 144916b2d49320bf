//! `maxpool._maxpool`, the Python package's native module: numpy arrays pooled in place by the `maxpool` crate,
//! with the GIL released while it works. Everything the pooling means (output sizes, winners, index formats,
//! which arguments are valid) is the crate's; this module only turns Python arguments into the crate's types and
//! its results and errors back into Python's. Objects other than numpy arrays (anything with `__dlpack__`) are
//! converted by `maxpool._interop`, in Python.

use maxpool::technique::{with_dtype, with_float_dtype, with_index_dtype};
use maxpool::{
    Backend, DType, Element, Error, ErrorKind, Float, IndexElement, IndexFormat, Padding, Params,
    PooledMut, Want,
};
use numpy::{
    PyArray, PyArrayDescr, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyMemoryError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyInt, PyList, PySequence, PyString, PyTuple};
use std::os::raw::c_int;
use std::sync::{Arc, Mutex};

/// The library's error as a Python exception with its message: `MemoryError` for a failed allocation,
/// `RuntimeError` for a caught bug, `ValueError` for everything a caller can get wrong (parameters, shapes,
/// index types, a backend that cannot pool the geometry, an index outside its plane).
fn to_py(error: Error) -> PyErr {
    let message = error.to_string();
    match error.kind() {
        ErrorKind::OutOfMemory => PyMemoryError::new_err(message),
        ErrorKind::Internal => PyRuntimeError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

/// A non-negative Python int (or anything with `__index__`, such as a numpy integer) as a size; `name` is the
/// argument's, for the message.
fn size(value: &Bound<'_, PyAny>, name: &str) -> PyResult<usize> {
    let v: i128 = value.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must be an int or a tuple of ints, not {}",
            type_name(value)
        ))
    })?;
    usize::try_from(v).map_err(|_| {
        PyValueError::new_err(format!("{name} is {v}; sizes are non-negative integers"))
    })
}

/// An int, or a sequence of `lens` ints (a tuple or a list), as sizes.
fn sizes(value: &Bound<'_, PyAny>, name: &str, lens: &[usize]) -> PyResult<Vec<usize>> {
    // An int first, then tuples and lists, before the slower check for any other sequence.
    if value.is_instance_of::<PyInt>() {
        return Ok(vec![size(value, name)?]);
    }
    let items: Vec<Bound<'_, PyAny>> = if let Ok(tuple) = value.cast::<PyTuple>() {
        tuple.iter().collect()
    } else if let Ok(list) = value.cast::<PyList>() {
        list.iter().collect()
    } else {
        let seq = value
            .cast::<PySequence>()
            .ok()
            .filter(|_| !value.is_instance_of::<PyString>());
        let Some(seq) = seq else {
            return Ok(vec![size(value, name)?]);
        };
        seq.try_iter()?.collect::<PyResult<_>>()?
    };
    if !lens.contains(&items.len()) {
        let lens: Vec<String> = lens.iter().map(|l| l.to_string()).collect();
        return Err(PyValueError::new_err(format!(
            "{name} has {} elements; it must be an int or {} of them",
            items.len(),
            lens.join(" or ")
        )));
    }
    items.iter().map(|item| size(item, name)).collect()
}

/// An int or an (h, w) pair.
fn pair(value: &Bound<'_, PyAny>, name: &str) -> PyResult<[usize; 2]> {
    let v = sizes(value, name, &[2])?;
    Ok(if v.len() == 1 {
        [v[0], v[0]]
    } else {
        [v[0], v[1]]
    })
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string())
}

/// The pooling parameters, as `torch.nn.functional.max_pool2d` takes them: ints or pairs; `stride` `None` (or
/// empty) for the kernel size; `padding` an int, (h, w), or (top, bottom, left, right).
fn params(
    kernel_size: &Bound<'_, PyAny>,
    stride: Option<&Bound<'_, PyAny>>,
    padding: Option<&Bound<'_, PyAny>>,
    dilation: Option<&Bound<'_, PyAny>>,
    ceil_mode: bool,
) -> PyResult<Params> {
    let kernel = pair(kernel_size, "kernel_size")?;
    let stride = match stride {
        None => kernel,
        Some(s)
            if s.cast::<PySequence>()
                .is_ok_and(|q| q.len().ok() == Some(0)) =>
        {
            kernel
        }
        Some(s) => pair(s, "stride")?,
    };
    let pad = match padding {
        None => vec![0],
        Some(p) => sizes(p, "padding", &[2, 4])?,
    };
    let padding = match pad[..] {
        [p] => Padding::uniform(p),
        [h, w] => Padding {
            top: h,
            bottom: h,
            left: w,
            right: w,
        },
        [top, bottom, left, right] => Padding {
            top,
            bottom,
            left,
            right,
        },
        _ => unreachable!("sizes checks the length"),
    };
    let dilation = match dilation {
        None => [1, 1],
        Some(d) => pair(d, "dilation")?,
    };
    Ok(Params::rect(kernel[0], kernel[1])
        .with_stride_hw(stride[0], stride[1])
        .with_padding_sides(padding)
        .with_dilation_hw(dilation[0], dilation[1])
        .with_ceil_mode(ceil_mode))
}

/// Where (height, width) are in an array: NCHW's last two axes, or NHWC's two before the channels.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Axes {
    Nchw,
    Nhwc,
}

impl Axes {
    fn parse(layout: &str) -> PyResult<Axes> {
        match layout.to_ascii_uppercase().as_str() {
            "NCHW" => Ok(Axes::Nchw),
            "NHWC" => Ok(Axes::Nhwc),
            _ => Err(PyValueError::new_err(format!(
                "layout is {layout:?}; it must be \"NCHW\" (the last two axes are height, width) or \"NHWC\" \
                 (the last three are height, width, channels)"
            ))),
        }
    }

    /// The (height, width) of an array of `shape`, named `what` in messages.
    fn plane(self, shape: &[usize], what: &str) -> PyResult<[usize; 2]> {
        let (least, name) = match self {
            Axes::Nchw => (2, "(height, width)"),
            Axes::Nhwc => (3, "(height, width, channels)"),
        };
        let n = shape.len();
        if n < least {
            return Err(PyValueError::new_err(format!(
                "{what} has shape {shape:?}; with layout {} its last {least} axes are {name}",
                self.name()
            )));
        }
        let h = if self == Axes::Nchw { n - 2 } else { n - 3 };
        Ok([shape[h], shape[h + 1]])
    }

    /// `shape` with its (height, width) replaced.
    fn with_plane(self, shape: &[usize], plane: [usize; 2]) -> Vec<usize> {
        let mut shape = shape.to_vec();
        let h = shape.len() - if self == Axes::Nchw { 2 } else { 3 };
        shape[h..h + 2].copy_from_slice(&plane);
        shape
    }

    fn name(self) -> &'static str {
        match self {
            Axes::Nchw => "NCHW",
            Axes::Nhwc => "NHWC",
        }
    }
}

fn index_format(name: &str) -> PyResult<IndexFormat> {
    name.parse::<IndexFormat>()
        .map_err(|e| PyValueError::new_err(format!("index_format: {e}")))
}

fn parse_backend(name: &str) -> PyResult<Backend> {
    name.parse::<Backend>()
        .map_err(|e| PyValueError::new_err(format!("backend: {e}")))
}

/// Whether numpy's dtype `descr` is `T`'s. Never for `bf16` until [`bfloat16`] has found its dtype.
fn is<T: numpy::Element>(py: Python<'_>, descr: &Bound<'_, PyArrayDescr>) -> bool {
    descr.is_equiv_to(&numpy::dtype::<T>(py))
}

/// numpy's dtype for `T`. Never for `bf16` until [`bfloat16`] has found its dtype.
fn dtype_of<T: numpy::Element>(py: Python<'_>) -> Bound<'_, PyArrayDescr> {
    numpy::dtype::<T>(py)
}

/// numpy's `bfloat16` dtype, once a package has registered it (numpy has none of its own; `ml_dtypes` registers
/// one, and PyTorch, JAX and TensorFlow use that). rust-numpy's `bf16` element looks the dtype up by that name and
/// panics if it is not there, so nothing here uses `bf16` as a `numpy::Element` (no `dtype`, `is`, cast or array)
/// before this has returned `Some`. With `import`, it first tries `import ml_dtypes` (an absent or broken
/// `ml_dtypes` is no error: there is no `bfloat16` then); without, it only finds a dtype already registered, which
/// is all that reading an array needs, since an array of `bfloat16` means its type is registered. Only a dtype
/// found is kept, so one registered later is still found.
fn bfloat16(py: Python<'_>, import: bool) -> Option<Bound<'_, PyArrayDescr>> {
    static BFLOAT16: PyOnceLock<Py<PyArrayDescr>> = PyOnceLock::new();
    if let Some(descr) = BFLOAT16.get(py) {
        return Some(descr.bind(py).clone());
    }
    if import {
        drop(py.import("ml_dtypes"));
    }
    PyArrayDescr::new(py, "bfloat16")
        .ok()
        .filter(|d| d.itemsize() == 2)?;
    // Registered under that name: rust-numpy's own look-up, the same, now succeeds.
    let descr = dtype_of::<maxpool::bf16>(py);
    Some(BFLOAT16.get_or_init(py, || descr.unbind()).bind(py).clone())
}

/// numpy's dtype for the element type `t`; `None` for bfloat16 while no package has registered one (see
/// [`bfloat16`], and `import` there).
fn descr_of(py: Python<'_>, t: DType, import: bool) -> Option<Bound<'_, PyArrayDescr>> {
    match t {
        DType::BF16 => bfloat16(py, import),
        _ => Some(with_dtype!(t, dtype_of(py))),
    }
}

/// numpy's type number of each element type numpy has itself (all but bfloat16), worked out once.
static TYPE_NUMBERS: PyOnceLock<Vec<(c_int, DType)>> = PyOnceLock::new();

/// The library's element type of an array, or a `TypeError` listing the ones it pools.
fn element_type(array: &Bound<'_, PyUntypedArray>, what: &str) -> PyResult<DType> {
    let py = array.py();
    let descr = array.dtype();
    let native = descr.is_native_byteorder() != Some(false);
    // The type number decides at once for arrays numpy made; an equivalent type under another number (int64
    // as `long long`) is found by numpy's own comparison.
    let numbers = TYPE_NUMBERS.get_or_init(py, || {
        DType::ALL
            .into_iter()
            .filter(|&t| t != DType::BF16)
            .map(|t| (with_dtype!(t, dtype_of(py)).num(), t))
            .collect()
    });
    let num = descr.num();
    if let Some(&(_, t)) = numbers.iter().find(|&&(n, _)| n == num) {
        if native {
            return Ok(t);
        }
    }
    // A type a package registered (numbers from NPY_USERDEF on): bfloat16, if it is that package's.
    if num >= numpy::npyffi::NPY_TYPES::NPY_USERDEF as c_int && native {
        if let Some(bf16) = bfloat16(py, false) {
            if bf16.num() == num || descr.is_equiv_to(&bf16) {
                return Ok(DType::BF16);
            }
        }
    }
    DType::ALL
        .into_iter()
        .filter(|&t| t != DType::BF16)
        .find(|&t| with_dtype!(t, is(py, &descr)))
        .ok_or_else(|| {
            PyTypeError::new_err(format!(
                "{what} has dtype {descr}; maxpool pools {} (in native byte order)",
                supported(py)
            ))
        })
}

/// The element types, for messages: numpy's names, bfloat16 as `ml_dtypes.bfloat16` (which provides it).
fn supported(py: Python<'_>) -> String {
    let names: Vec<String> = DType::ALL
        .into_iter()
        .map(|t| match t {
            DType::BF16 => "ml_dtypes.bfloat16".to_owned(),
            _ => with_dtype!(t, dtype_of(py)).to_string(),
        })
        .collect();
    names.join(", ")
}

/// An index type asked for by name or numpy dtype (`"int64"`, `np.int32`, `"u1"`, …).
fn index_type(py: Python<'_>, asked: &Bound<'_, PyAny>) -> PyResult<DType> {
    let descr = PyArrayDescr::new(py, asked)
        .map_err(|e| PyTypeError::new_err(format!("index_dtype is not a numpy dtype: {e}")))?;
    DType::ALL
        .into_iter()
        .filter(|&t| with_index_dtype!(t, I => ()).is_some())
        .find(|&t| with_dtype!(t, is(py, &descr)))
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "index_dtype is {descr}; indices are int64, int32 or uint8 (the window format)"
            ))
        })
}

/// `obj` as a numpy array: itself, or through `maxpool._interop.to_numpy` (DLPack, without a copy).
fn as_numpy<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Bound<'py, PyUntypedArray>> {
    if let Ok(array) = obj.cast::<PyUntypedArray>() {
        return Ok(array.clone());
    }
    let interop = obj.py().import("maxpool._interop")?;
    let array = interop.call_method1("to_numpy", (obj, what))?;
    Ok(array.cast_into::<PyUntypedArray>()?)
}

/// `results` as the kind of object `like` is (a numpy array stays one; a PyTorch tensor gets tensors back).
fn as_like<'py>(
    like: &Bound<'py, PyAny>,
    results: Vec<Bound<'py, PyAny>>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if like.is_instance_of::<PyUntypedArray>() {
        return Ok(results);
    }
    let interop = like.py().import("maxpool._interop")?;
    results
        .into_iter()
        .map(|r| interop.call_method1("from_numpy", (r, like)))
        .collect()
}

/// What a forward call returns, and how.
struct Asked<'py> {
    want: Want,
    axes: Axes,
    format: IndexFormat,
    index_type: DType,
    /// Arrays to write into (`out=`): values, then indices and multiplier if asked for.
    out: Option<Vec<Bound<'py, PyUntypedArray>>>,
}

/// Below this many elements a call takes less time than releasing and taking back the GIL, so it keeps it.
const RELEASE_FROM: usize = 1 << 12;

/// `work` on `elements` elements, with the GIL released unless there are too few to be worth it.
fn released<R: Send>(py: Python<'_>, elements: usize, work: impl FnOnce() -> R + Send) -> R {
    if elements < RELEASE_FROM {
        work()
    } else {
        py.detach(work)
    }
}

/// Pools `x` with `plan`, the GIL released: the values, then the indices and the multiplier if asked for, as
/// numpy arrays in the input's memory order.
fn forward<'py, T: Element + numpy::Element, I: IndexElement + numpy::Element>(
    plan: &maxpool::Plan,
    x: &Bound<'py, PyUntypedArray>,
    asked: &Asked<'py>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if let Some(out) = &asked.out {
        forward_into::<T, I>(plan, x, asked, out)?;
        return Ok(out.iter().map(|a| a.clone().into_any()).collect());
    }
    let py = x.py();
    let x = x.cast::<PyArrayDyn<T>>()?.try_readonly()?;
    let view = x.as_array();
    let (want, format, axes) = (asked.want, asked.format, asked.axes);
    let pooled = released(py, view.len(), || match axes {
        Axes::Nchw => plan.pool_with::<T, _, I>(view, want, format),
        Axes::Nhwc => plan.pool_nhwc::<T, _, I>(view, want, format),
    })
    .map_err(to_py)?;
    let mut out = vec![PyArray::from_owned_array(py, pooled.values).into_any()];
    if let Some(indices) = pooled.indices {
        out.push(PyArray::from_owned_array(py, indices).into_any());
    }
    if let Some(multiplier) = pooled.multiplier {
        out.push(PyArray::from_owned_array(py, multiplier).into_any());
    }
    Ok(out)
}

/// Pools `x` into the caller's arrays `out` (values, then indices and multiplier if asked for), whose element
/// types have been checked; the GIL released.
fn forward_into<'py, T: Element + numpy::Element, I: IndexElement + numpy::Element>(
    plan: &maxpool::Plan,
    x: &Bound<'py, PyUntypedArray>,
    asked: &Asked<'py>,
    out: &[Bound<'py, PyUntypedArray>],
) -> PyResult<()> {
    let py = x.py();
    let written = |e: numpy::BorrowError| {
        PyValueError::new_err(format!(
            "out: {e}; the arrays written must be writeable and share no memory with the input or each other"
        ))
    };
    let x = x.cast::<PyArrayDyn<T>>()?.try_readonly().map_err(written)?;
    let mut outs = out.iter();
    let mut next = || outs.next().expect("as many arrays as results, checked");
    let mut values = next()
        .cast::<PyArrayDyn<T>>()?
        .try_readwrite()
        .map_err(written)?;
    let mut indices = match asked.want.indices {
        true => Some(
            next()
                .cast::<PyArrayDyn<I>>()?
                .try_readwrite()
                .map_err(written)?,
        ),
        false => None,
    };
    let mut multiplier = match asked.want.multiplier {
        true => Some(
            next()
                .cast::<PyArrayDyn<u32>>()?
                .try_readwrite()
                .map_err(written)?,
        ),
        false => None,
    };
    let view = x.as_array();
    let out = PooledMut {
        values: values.as_array_mut(),
        indices: indices.as_mut().map(|a| a.as_array_mut()),
        multiplier: multiplier.as_mut().map(|a| a.as_array_mut()),
    };
    let (axes, format) = (asked.axes, asked.format);
    released(py, view.len(), || match axes {
        Axes::Nchw => plan.pool_into(view, out, format),
        Axes::Nhwc => plan.pool_nhwc_into(view, out, format),
    })
    .map_err(to_py)
}

/// The objects `out=` holds: a tuple's or a list's items, or itself.
fn out_items<'py>(out: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if out.is_instance_of::<PyTuple>() || out.is_instance_of::<PyList>() {
        out.try_iter()?.collect()
    } else {
        Ok(vec![out.clone()])
    }
}

/// `out=` as arrays, one per result (values, then indices and multiplier as `want` asks), each of the element
/// type it will hold: the input's, an index type (returned), `uint32`.
fn out_arrays<'py>(
    out: &Bound<'py, PyAny>,
    want: Want,
    input_type: DType,
) -> PyResult<(Vec<Bound<'py, PyUntypedArray>>, Option<DType>)> {
    let items = out_items(out)?;
    let names: Vec<&str> = ["values"]
        .into_iter()
        .chain(want.indices.then_some("indices"))
        .chain(want.multiplier.then_some("multiplier"))
        .collect();
    if items.len() != names.len() {
        return Err(PyValueError::new_err(format!(
            "out has {} arrays; this call returns {} ({})",
            items.len(),
            names.len(),
            names.join(", ")
        )));
    }
    let arrays = items
        .iter()
        .map(|item| as_numpy(item, "out"))
        .collect::<PyResult<Vec<_>>>()?;
    let mut index_type = None;
    for (array, name) in arrays.iter().zip(&names) {
        let (ok, must) = match *name {
            "values" => (
                element_type(array, "out's values")? == input_type,
                "the input's",
            ),
            "indices" => {
                let t = element_type(array, "out's indices")?;
                index_type = Some(t);
                (
                    with_index_dtype!(t, I => ()).is_some(),
                    "int64, int32 or uint8",
                )
            }
            _ => (is::<u32>(array.py(), &array.dtype()), "uint32"),
        };
        if !ok {
            return Err(PyTypeError::new_err(format!(
                "out's {name} has dtype {}; it must be {must}",
                array.dtype()
            )));
        }
    }
    Ok((arrays, index_type))
}

/// The backward pass on numpy arrays, the GIL released.
fn backward<'py, T: Float + numpy::Element, I: IndexElement + numpy::Element>(
    plan: &maxpool::Plan,
    grad: &Bound<'py, PyUntypedArray>,
    indices: &Bound<'py, PyUntypedArray>,
    axes: Axes,
    format: IndexFormat,
) -> PyResult<Bound<'py, PyAny>> {
    let py = grad.py();
    let grad = grad.cast::<PyArrayDyn<T>>()?.try_readonly()?;
    let indices = indices.cast::<PyArrayDyn<I>>()?.try_readonly()?;
    let (grad, indices) = (grad.as_array(), indices.as_array());
    let grad_input = released(py, grad.len(), || match axes {
        Axes::Nchw => plan.backward_with(grad, indices, format),
        Axes::Nhwc => plan.backward_nhwc(grad, indices, format),
    })
    .map_err(to_py)?;
    Ok(PyArray::from_owned_array(py, grad_input).into_any())
}

/// The layout `x` is pooled in place with, if any.
fn layout_of<T: Element + numpy::Element>(
    x: &Bound<'_, PyUntypedArray>,
    axes: Axes,
) -> PyResult<Option<maxpool::Layout>> {
    let x = x.cast::<PyArrayDyn<T>>()?.try_readonly()?;
    Ok(maxpool::array_layout(x.as_array(), axes == Axes::Nhwc))
}

/// A plan: pooling parameters validated for one plane size and a backend chosen, reusable for any number of
/// calls on arrays of that plane size, from any thread.
///
/// Call it as ``plan(x, return_indices=False, *, return_multiplier=False, layout="NCHW", index_format="plane",
/// index_dtype="int64", out=None)``: the same results as :func:`max_pool2d`. ``plan.backward(grad_values, indices, *,
/// layout="NCHW", index_format="plane")`` is :func:`max_pool2d_backward`.
#[pyclass(module = "maxpool", frozen, name = "Plan")]
struct Plan {
    plan: maxpool::Plan,
}

impl Plan {
    fn build(params: &Params, height: usize, width: usize, backend: Backend) -> PyResult<Plan> {
        let plan = maxpool::Plan::new(backend, params, height, width).map_err(to_py)?;
        Ok(Plan { plan })
    }

    #[allow(clippy::too_many_arguments)]
    /// Pools `x`, which is `input` as a numpy array, returning what `max_pool2d` returns.
    fn run<'py>(
        &self,
        input: &Bound<'py, PyAny>,
        x: &Bound<'py, PyUntypedArray>,
        return_indices: bool,
        return_multiplier: bool,
        layout: &str,
        index_format_name: &str,
        index_dtype: Option<&Bound<'py, PyAny>>,
        out: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = input.py();
        let t = element_type(x, "input")?;
        let want = Want {
            indices: return_indices,
            multiplier: return_multiplier,
        };
        let asked_type = index_dtype.map(|d| index_type(py, d)).transpose()?;
        let (out_arrays, out_type) = match out {
            Some(out) => {
                let (arrays, index_type) = out_arrays(out, want, t)?;
                (Some(arrays), index_type)
            }
            None => (None, None),
        };
        let index_type = match (asked_type, out_type) {
            (Some(a), Some(o)) if a != o => {
                return Err(PyValueError::new_err(format!(
                    "index_dtype is {} but out's indices are {}",
                    a.name(),
                    o.name()
                )))
            }
            (a, o) => a.or(o).unwrap_or(DType::I64),
        };
        let asked = Asked {
            want,
            axes: Axes::parse(layout)?,
            format: index_format(index_format_name)?,
            index_type,
            out: out_arrays,
        };
        let results = with_dtype!(t, forward_as(&self.plan, x, &asked))?;
        let mut results = match out {
            // The caller's own objects, as they gave them.
            Some(out) => out_items(out)?,
            None => as_like(input, results)?,
        };
        if results.len() == 1 {
            Ok(results.pop().expect("one result"))
        } else {
            Ok(PyTuple::new(py, results)?.into_any())
        }
    }

    /// The backward pass on `grad`, which is `grad_values` as a numpy array.
    fn run_backward<'py>(
        &self,
        grad_values: &Bound<'py, PyAny>,
        grad: &Bound<'py, PyUntypedArray>,
        indices: &Bound<'py, PyAny>,
        layout: &str,
        index_format_name: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let idx = as_numpy(indices, "indices")?;
        let axes = Axes::parse(layout)?;
        let format = index_format(index_format_name)?;
        let t = element_type(grad, "grad_values")?;
        let i = element_type(&idx, "indices")?;
        let grad_input = with_float_dtype!(t, T => {
            with_index_dtype!(i, I => backward::<T, I>(&self.plan, grad, &idx, axes, format))
                .ok_or_else(|| {
                    PyTypeError::new_err(format!(
                        "indices have dtype {}; indices are int64, int32 or uint8 (the window format)",
                        idx.dtype()
                    ))
                })
        })
        .ok_or_else(|| {
            PyTypeError::new_err(format!(
                "grad_values has dtype {}; the backward pass is defined for float32, float64, float16 and \
                 bfloat16",
                grad.dtype()
            ))
        })???;
        Ok(as_like(grad_values, vec![grad_input])?
            .pop()
            .expect("one result"))
    }
}

/// `forward` with the index type picked at run time.
fn forward_as<'py, T: Element + numpy::Element>(
    plan: &maxpool::Plan,
    x: &Bound<'py, PyUntypedArray>,
    asked: &Asked<'py>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    with_index_dtype!(asked.index_type, I => forward::<T, I>(plan, x, asked))
        .expect("index_type admits only index types")
}

#[pymethods]
impl Plan {
    #[new]
    #[pyo3(signature = (kernel_size, stride=None, padding=None, dilation=None, ceil_mode=false, *, height, width, backend="auto"))]
    #[pyo3(
        text_signature = "(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *, height, width, backend='auto')"
    )]
    #[allow(clippy::too_many_arguments)]
    fn new(
        kernel_size: &Bound<'_, PyAny>,
        stride: Option<&Bound<'_, PyAny>>,
        padding: Option<&Bound<'_, PyAny>>,
        dilation: Option<&Bound<'_, PyAny>>,
        ceil_mode: bool,
        height: &Bound<'_, PyAny>,
        width: &Bound<'_, PyAny>,
        backend: &str,
    ) -> PyResult<Plan> {
        let params = params(kernel_size, stride, padding, dilation, ceil_mode)?;
        Plan::build(
            &params,
            size(height, "height")?,
            size(width, "width")?,
            parse_backend(backend)?,
        )
    }

    #[pyo3(signature = (input, return_indices=false, *, return_multiplier=false, layout="NCHW", index_format="plane", index_dtype=None, out=None))]
    #[allow(clippy::too_many_arguments)]
    fn __call__<'py>(
        &self,
        input: &Bound<'py, PyAny>,
        return_indices: bool,
        return_multiplier: bool,
        layout: &str,
        index_format: &str,
        index_dtype: Option<&Bound<'py, PyAny>>,
        out: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.run(
            input,
            &as_numpy(input, "input")?,
            return_indices,
            return_multiplier,
            layout,
            index_format,
            index_dtype,
            out,
        )
    }

    /// The backward pass: ``grad_input``, shaped like the input, each element the sum, in output order, of the
    /// gradients of the windows it won (for float16 and bfloat16, summed in float32 and rounded once).
    #[pyo3(signature = (grad_values, indices, *, layout="NCHW", index_format="plane"))]
    fn backward<'py>(
        &self,
        grad_values: &Bound<'py, PyAny>,
        indices: &Bound<'py, PyAny>,
        layout: &str,
        index_format: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let grad = as_numpy(grad_values, "grad_values")?;
        self.run_backward(grad_values, &grad, indices, layout, index_format)
    }

    /// The concrete backend this plan runs: ``"naive"``, ``"block"``, ``"lookup"`` or ``"simd"``.
    #[getter]
    fn backend(&self) -> &'static str {
        self.plan.backend().name()
    }

    /// The input plane the plan was made for, ``(height, width)``.
    #[getter]
    fn in_shape(&self) -> (usize, usize) {
        let [h, w] = self.plan.in_shape();
        (h, w)
    }

    /// The output plane, ``(out_height, out_width)``.
    #[getter]
    fn out_shape(&self) -> (usize, usize) {
        let [h, w] = self.plan.out_shape();
        (h, w)
    }

    /// The kernel a call on ``input`` (with this ``layout``) runs, e.g. ``"simd/avx2/nhwc"``: backend,
    /// instruction set, and how the tensor is read (``nchw`` and ``nhwc`` in place, ``planes`` gathered).
    #[pyo3(signature = (input, *, layout="NCHW"))]
    fn kernel(&self, input: &Bound<'_, PyAny>, layout: &str) -> PyResult<&'static str> {
        let x = as_numpy(input, "input")?;
        let axes = Axes::parse(layout)?;
        axes.plane(x.shape(), "input")?;
        let t = element_type(&x, "input")?;
        let layout = with_dtype!(t, layout_of(&x, axes))?;
        Ok(layout.map_or("planes (a row-major copy first)", |l| self.plan.kernel(&l)))
    }

    fn __repr__(&self) -> String {
        let p = self.plan.params();
        let [h, w] = self.plan.in_shape();
        format!(
            "Plan(kernel_size={:?}, stride={:?}, padding={:?}, dilation={:?}, ceil_mode={}, height={h}, \
             width={w}, backend={:?})",
            (p.kernel[0], p.kernel[1]),
            (p.stride[0], p.stride[1]),
            (
                p.padding.top,
                p.padding.bottom,
                p.padding.left,
                p.padding.right
            ),
            (p.dilation[0], p.dilation[1]),
            if p.ceil_mode { "True" } else { "False" },
            self.plan.backend().name()
        )
    }
}

/// The plan of the last `max_pool2d` or `max_pool2d_backward` call, for the next one with the same parameters,
/// plane size and backend: a loop over equal inputs plans once, as a `Plan` would.
static LAST_PLAN: Mutex<Option<(PlanKey, Arc<Plan>)>> = Mutex::new(None);

type PlanKey = (Params, usize, usize, Backend);

/// A plan for `params` on planes of `height × width` with the backend named `backend_name`, made or reused.
fn cached(params: &Params, height: usize, width: usize, backend_name: &str) -> PyResult<Arc<Plan>> {
    let key = (*params, height, width, parse_backend(backend_name)?);
    // The lock is held only to compare and copy a pointer, never across a call into Python.
    let last = LAST_PLAN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, plan)) = last.as_ref().filter(|(k, _)| *k == key) {
        return Ok(Arc::clone(plan));
    }
    drop(last);
    let plan = Arc::new(Plan::build(params, height, width, key.3)?);
    *LAST_PLAN.lock().unwrap_or_else(|e| e.into_inner()) = Some((key, Arc::clone(&plan)));
    Ok(plan)
}

/// 2-D max pooling with the winners' indices and the multiplier.
///
/// ``input`` is a numpy array (or anything with ``__dlpack__`` on the CPU, such as a PyTorch tensor; results
/// come back as the same kind of object) of 2 or more axes: with ``layout="NCHW"`` the last two are (height,
/// width), with ``"NHWC"`` the last three are (height, width, channels); the axes before them are batch axes.
/// Any strides are read in place. Element types: :func:`dtypes`: float32, float64, the integer types, float16,
/// and bfloat16 (``ml_dtypes.bfloat16``, when ``ml_dtypes`` is installed).
///
/// ``kernel_size``, ``stride`` (default: the kernel size) and ``dilation`` are ints or (h, w) pairs;
/// ``padding`` is an int, (h, w), or **(top, bottom, left, right)** (not ``torch.nn.functional.pad``'s order).
/// Padding never wins. Output size as PyTorch, ``ceil_mode`` included.
///
/// Returns ``values``, then ``indices`` if ``return_indices``, then ``multiplier`` if ``return_multiplier``:
/// a bare array when only the values are asked for, else a tuple. Outputs keep the input's memory order.
///
/// - ``values``: each window's maximum, with the winner's exact bits (NaN payloads, -0.0). The first maximum
///   in row-major order wins a tie (-0.0 and 0.0 are equal); NaN beats every number and the first NaN wins.
/// - ``indices``: the winners, in ``index_format``: ``"plane"`` (``row * width + col`` within each plane, as
///   PyTorch), ``"flat_nchw"`` (ONNX), ``"flat_nhwc"`` / ``"flat_hwc"`` (TensorFlow's
///   ``max_pool_with_argmax`` with and without the batch), ``"window"`` (the winning tap within its window,
///   oneDNN's workspace); as ``index_dtype`` int64, int32 (when every index fits) or uint8 (window format).
/// - ``multiplier``: shaped like the input, uint32: how many windows each element won.
///
/// ``out``: arrays to write the results into instead (one, or a tuple in the order above), of the shapes and
/// element types the call returns, any strides; they are returned. With ``out``, ``index_dtype`` defaults to
/// the indices array's.
///
/// ``backend``: ``"auto"`` (the fastest that can pool the geometry), ``"naive"``, ``"block"``, ``"lookup"``
/// or ``"simd"``; all give identical results. The GIL is released while pooling inputs of 4096 elements or
/// more (for fewer, releasing it would cost more than the call). Bad parameters or shapes
/// raise ``ValueError``, unsupported element types or objects ``TypeError``; nothing is half-written.
#[pyfunction]
#[pyo3(signature = (input, kernel_size, stride=None, padding=None, dilation=None, ceil_mode=false, return_indices=false, *, return_multiplier=false, layout="NCHW", index_format="plane", index_dtype=None, backend="auto", out=None))]
#[pyo3(
    text_signature = "(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False, *, return_multiplier=False, layout='NCHW', index_format='plane', index_dtype='int64', backend='auto', out=None)"
)]
#[allow(clippy::too_many_arguments)]
fn max_pool2d<'py>(
    input: &Bound<'py, PyAny>,
    kernel_size: &Bound<'py, PyAny>,
    stride: Option<&Bound<'py, PyAny>>,
    padding: Option<&Bound<'py, PyAny>>,
    dilation: Option<&Bound<'py, PyAny>>,
    ceil_mode: bool,
    return_indices: bool,
    return_multiplier: bool,
    layout: &str,
    index_format: &str,
    index_dtype: Option<&Bound<'py, PyAny>>,
    backend: &str,
    out: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let params = params(kernel_size, stride, padding, dilation, ceil_mode)?;
    let x = as_numpy(input, "input")?;
    let [h, w] = Axes::parse(layout)?.plane(x.shape(), "input")?;
    let plan = cached(&params, h, w, backend)?;
    plan.run(
        input,
        &x,
        return_indices,
        return_multiplier,
        layout,
        index_format,
        index_dtype,
        out,
    )
}

/// The backward pass of :func:`max_pool2d`: the gradient with respect to its input.
///
/// ``grad_values`` (float32, float64, float16 or bfloat16) and ``indices`` (as :func:`max_pool2d` returned
/// them, any format and type) are shaped like the forward call's values; ``input_shape`` is the forward input's
/// shape. Returns an array of ``input_shape`` and ``grad_values``' type, in its memory order: zeros, plus each
/// window's gradient added onto its winner, in output order, so the result is deterministic. float16 and
/// bfloat16 gradients are summed in float32 and each element's sum rounded once to its type (to nearest, ties
/// to even), not after every addition: gradients 2048, 1 and 1 onto one float16 element give 2050, not 2048. Every index is checked: one outside its plane,
/// or naming another plane, raises ``ValueError``, and nothing is returned.
#[pyfunction]
#[pyo3(signature = (grad_values, indices, input_shape, kernel_size, stride=None, padding=None, dilation=None, ceil_mode=false, *, layout="NCHW", index_format="plane", backend="auto"))]
#[pyo3(
    text_signature = "(grad_values, indices, input_shape, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *, layout='NCHW', index_format='plane', backend='auto')"
)]
#[allow(clippy::too_many_arguments)]
fn max_pool2d_backward<'py>(
    grad_values: &Bound<'py, PyAny>,
    indices: &Bound<'py, PyAny>,
    input_shape: &Bound<'py, PyAny>,
    kernel_size: &Bound<'py, PyAny>,
    stride: Option<&Bound<'py, PyAny>>,
    padding: Option<&Bound<'py, PyAny>>,
    dilation: Option<&Bound<'py, PyAny>>,
    ceil_mode: bool,
    layout: &str,
    index_format: &str,
    backend: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let params = params(kernel_size, stride, padding, dilation, ceil_mode)?;
    let axes = Axes::parse(layout)?;
    let input_shape: Vec<usize> = input_shape
        .try_iter()
        .map_err(|_| PyTypeError::new_err("input_shape must be a tuple of ints"))?
        .map(|d| size(&d?, "input_shape"))
        .collect::<PyResult<_>>()?;
    let [h, w] = axes.plane(&input_shape, "input_shape")?;
    let plan = cached(&params, h, w, backend)?;
    let grad = as_numpy(grad_values, "grad_values")?;
    let grad_shape = grad.shape().to_vec();
    let [oh, ow] = plan.plan.out_shape();
    let expected = axes.with_plane(&input_shape, [oh, ow]);
    if grad_shape != expected {
        return Err(PyValueError::new_err(format!(
            "grad_values has shape {grad_shape:?}, but pooling an input of shape {input_shape:?} gives \
             {expected:?}"
        )));
    }
    plan.run_backward(grad_values, &grad, indices, layout, index_format)
}

/// The backends, by name: ``"auto"`` then the four concrete ones.
#[pyfunction]
fn backends() -> Vec<&'static str> {
    Backend::ALL.into_iter().map(Backend::name).collect()
}

/// The element types maxpool pools, by numpy's names: ``float32``, ``float64``, the integer types,
/// ``float16``, and ``bfloat16`` when ``ml_dtypes`` is installed (which this imports to find out: numpy has no
/// bfloat16 of its own). The backward pass takes the float ones.
#[pyfunction]
fn dtypes(py: Python<'_>) -> Vec<String> {
    DType::ALL
        .into_iter()
        .filter_map(|t| descr_of(py, t, true))
        .map(|d| d.to_string())
        .collect()
}

/// The index formats, by name.
#[pyfunction]
fn index_formats() -> Vec<&'static str> {
    IndexFormat::ALL
        .into_iter()
        .map(IndexFormat::name)
        .collect()
}

/// Sets how many threads a pooling call may use (0 restores the default: the ``MAXPOOL_NUM_THREADS``
/// environment variable, else the machine's cores).
#[pyfunction]
fn set_num_threads(threads: &Bound<'_, PyAny>) -> PyResult<()> {
    maxpool::set_num_threads(size(threads, "threads")?).map_err(to_py)
}

/// How many threads a pooling call may use.
#[pyfunction]
fn num_threads() -> usize {
    maxpool::num_threads()
}

#[pymodule]
#[pyo3(name = "_maxpool")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Plan>()?;
    m.add_function(wrap_pyfunction!(max_pool2d, m)?)?;
    m.add_function(wrap_pyfunction!(max_pool2d_backward, m)?)?;
    m.add_function(wrap_pyfunction!(backends, m)?)?;
    m.add_function(wrap_pyfunction!(index_formats, m)?)?;
    m.add_function(wrap_pyfunction!(dtypes, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(num_threads, m)?)?;
    Ok(())
}
