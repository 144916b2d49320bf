//! Runs one case through one backend and checks everything a user relies on against the reference.

use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};

use maxpool::ndarray::{s, Array3, ShapeBuilder};
use maxpool::{
    pool, Backend, ErrorKind, IndexElement, IndexFormat, Layout, Outputs, Params, Plan, PooledMut,
    TensorMut, TensorOutputs, TensorRef, Want,
};

use crate::reference::{reference, Expected};
use crate::sample::Sample;

/// One pooling call: parameters and a batch of planes.
#[derive(Clone, Debug)]
pub struct Case<T> {
    /// The parameters.
    pub params: Params,
    /// Number of planes.
    pub planes: usize,
    /// Plane height.
    pub height: usize,
    /// Plane width.
    pub width: usize,
    /// planes × height × width elements, row-major.
    pub input: Vec<T>,
}

/// What became of a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The backend ran it and every check passed.
    Ran,
    /// The backend refused it with the error class the contract gives (the reference refuses it too).
    Refused,
    /// The backend does not support the geometry, says so in advance, and refused it with `Unsupported`.
    Skipped,
}

/// Counts of cases run and skipped, so that a skip is never silent.
#[derive(Debug)]
pub struct Tally {
    name: String,
    ran: AtomicUsize,
    refused: AtomicUsize,
    skipped: AtomicUsize,
}

impl Tally {
    /// A tally for one test of one backend.
    pub fn new(name: impl Into<String>) -> Self {
        Tally {
            name: name.into(),
            ran: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            skipped: AtomicUsize::new(0),
        }
    }
    /// Counts an outcome.
    pub fn record(&self, outcome: Outcome) {
        match outcome {
            Outcome::Ran => &self.ran,
            Outcome::Refused => &self.refused,
            Outcome::Skipped => &self.skipped,
        }
        .fetch_add(1, Ordering::Relaxed);
    }
    /// (ran, refused, skipped)
    pub fn counts(&self) -> (usize, usize, usize) {
        let get = |c: &AtomicUsize| c.load(Ordering::Relaxed);
        (get(&self.ran), get(&self.refused), get(&self.skipped))
    }
    /// Prints the counts and checks them: some cases ran, and a backend that claims every geometry skipped none.
    pub fn finish(&self, backend: Backend) {
        let (ran, refused, skipped) = self.counts();
        eprintln!("{}: {ran} ran, {refused} refused as the contract says, {skipped} skipped as unsupported by {backend}", self.name);
        assert!(ran > 0, "{}: no case ran on {backend}", self.name);
        if backend != Backend::Block {
            assert_eq!(
                skipped, 0,
                "{}: {backend} claims every geometry but skipped some",
                self.name
            );
        }
    }
}

macro_rules! ensure {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(format!($($msg)*));
        }
    };
}

fn same_bits<T: Sample>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.bits() == y.bits())
}

fn diff<T: Debug>(what: &str, got: &[T], want: &[T]) -> String {
    format!("{what} differ:\n   got {got:?}\n  want {want:?}")
}

/// Runs `case` on `backend` and checks it against the reference and the contract's invariants. `Err` says what
/// went wrong.
pub fn check_case<T: Sample>(backend: Backend, case: &Case<T>) -> Result<Outcome, String> {
    let Case {
        params,
        planes,
        height: h,
        width: w,
        ref input,
    } = *case;
    let expected = reference(&params, planes, h, w, input);
    let plan = match Plan::new(backend, &params, h, w) {
        Err(e) if e.kind() == ErrorKind::Unsupported => {
            let said = backend.supports(&params).err().map(|e| e.kind());
            ensure!(
                said == Some(ErrorKind::Unsupported),
                "plan refused as unsupported ({e}) but supports() said {said:?}"
            );
            return Ok(Outcome::Skipped);
        }
        Err(e) => {
            ensure!(
                expected.as_ref().err() == Some(&e.kind()),
                "refused with {e} ({:?}); expected {:?}",
                e.kind(),
                expected.map(|_| ())
            );
            return Ok(Outcome::Refused);
        }
        Ok(plan) => plan,
    };
    let expected = expected.map_err(|kind| {
        format!(
            "expected a {kind:?} error but {} planned it",
            plan.backend()
        )
    })?;
    ensure!(plan.backend() != Backend::Auto, "plan reports backend auto");
    ensure!(
        backend == Backend::Auto || plan.backend() == backend,
        "asked for {backend}, got {}",
        plan.backend()
    );
    let g = plan.geometry();
    ensure!(
        (g.out_height(), g.out_width()) == (expected.out_height, expected.out_width),
        "output size {}×{}, expected {}×{}",
        g.out_height(),
        g.out_width(),
        expected.out_height,
        expected.out_width
    );
    check_slices(&plan, case, &expected)?;
    check_arrays(&plan, case, &expected)?;
    check_tensors(&plan, case, &expected)?;
    check_refusals(&plan, case)?;
    Ok(Outcome::Ran)
}

/// The slice API: all outputs, each subset of optional outputs, and the invariants.
fn check_slices<T: Sample>(plan: &Plan, case: &Case<T>, e: &Expected<T>) -> Result<(), String> {
    let (planes, plane_len) = (case.planes, case.height * case.width);
    let out_len = planes * e.out_height * e.out_width;
    let mut values = vec![T::default(); out_len];
    let mut indices = vec![-1i64; out_len];
    let mut multiplier = vec![7u32; planes * plane_len];
    plan.forward(
        &case.input,
        planes,
        Outputs::new(&mut values)
            .with_indices(&mut indices)
            .with_multiplier(&mut multiplier),
    )
    .map_err(|e| format!("forward failed: {e}"))?;
    ensure!(
        same_bits(&values, &e.values),
        "{}",
        diff("values", &values, &e.values)
    );
    ensure!(
        indices == e.indices,
        "{}",
        diff("indices", &indices, &e.indices)
    );
    ensure!(
        multiplier == e.multiplier,
        "{}",
        diff("multiplier", &multiplier, &e.multiplier)
    );

    // Invariants, checked on the output itself.
    let per_out = e.out_height * e.out_width;
    let mut bincount = vec![0u32; planes * plane_len];
    for (o, (&ix, v)) in indices.iter().zip(&values).enumerate() {
        let p = o / per_out;
        ensure!(
            (0..plane_len as i64).contains(&ix),
            "index {ix} outside its plane"
        );
        let winner = case.input[p * plane_len + ix as usize];
        ensure!(
            winner.bits() == v.bits(),
            "index {ix} points at {winner:?}, not the value {v:?}"
        );
        bincount[p * plane_len + ix as usize] += 1;
    }
    ensure!(
        multiplier == bincount,
        "multiplier is not the bincount of the indices"
    );
    let ones = vec![1.0f64; out_len];
    let mut grad = vec![f64::NAN; planes * plane_len];
    plan.backward(planes, &ones, &indices, &mut grad)
        .map_err(|e| format!("backward failed: {e}"))?;
    let as_f64: Vec<f64> = multiplier.iter().map(|&m| m as f64).collect();
    ensure!(grad == as_f64, "backward of ones is not the multiplier");

    // Optional outputs left out: what is computed is the same.
    let mut only_values = vec![T::default(); out_len];
    plan.forward(&case.input, planes, Outputs::new(&mut only_values))
        .map_err(|e| e.to_string())?;
    ensure!(
        same_bits(&only_values, &values),
        "values without indices differ"
    );
    let mut only_multiplier = vec![3u32; planes * plane_len];
    let mut v2 = vec![T::default(); out_len];
    plan.forward(
        &case.input,
        planes,
        Outputs::new(&mut v2).with_multiplier(&mut only_multiplier),
    )
    .map_err(|e| e.to_string())?;
    ensure!(
        only_multiplier == multiplier,
        "multiplier without indices differs"
    );
    let mut only_indices = vec![-1i64; out_len];
    plan.forward(
        &case.input,
        planes,
        Outputs::new(&mut v2).with_indices(&mut only_indices),
    )
    .map_err(|e| e.to_string())?;
    ensure!(only_indices == indices, "indices without multiplier differ");
    Ok(())
}

/// The ndarray API with strided views: Fortran order and reversed rows give what a contiguous copy gives.
fn check_arrays<T: Sample>(plan: &Plan, case: &Case<T>, e: &Expected<T>) -> Result<(), String> {
    let shape = (case.planes, case.height, case.width);
    let c_order = Array3::from_shape_vec(shape, case.input.clone()).expect("shape matches");
    let mut f_order = Array3::from_elem(shape.f(), T::default());
    f_order.assign(&c_order);
    let got = plan
        .pool(f_order.view(), Want::ALL)
        .map_err(|e| format!("array pool failed: {e}"))?;
    ensure!(
        got.values.shape() == [case.planes, e.out_height, e.out_width],
        "array output shape {:?}",
        got.values.shape()
    );
    let values: Vec<T> = got.values.iter().copied().collect();
    ensure!(
        same_bits(&values, &e.values),
        "{}",
        diff("Fortran-order values", &values, &e.values)
    );
    let indices: Vec<i64> = got
        .indices
        .as_ref()
        .expect("asked for")
        .iter()
        .copied()
        .collect();
    ensure!(
        indices == e.indices,
        "{}",
        diff("Fortran-order indices", &indices, &e.indices)
    );
    let multiplier: Vec<u32> = got.multiplier.expect("asked for").iter().copied().collect();
    ensure!(
        multiplier == e.multiplier,
        "Fortran-order multiplier differs"
    );
    // Into Fortran-order arrays the caller made; first a refusal (values one row short), which writes nothing.
    let out_shape = (case.planes, e.out_height, e.out_width);
    let mut values = Array3::from_elem(out_shape.f(), T::default());
    let mut indices = Array3::from_elem(out_shape.f(), -1i64);
    let mut multiplier = Array3::from_elem(shape.f(), u32::MAX);
    let mut short = Array3::from_elem((case.planes, e.out_height + 1, e.out_width), T::default());
    let refused = plan.pool_into(
        f_order.view(),
        PooledMut {
            values: short.view_mut(),
            indices: Some(indices.view_mut()),
            multiplier: Some(multiplier.view_mut()),
        },
        IndexFormat::Plane,
    );
    ensure!(
        refused.is_err_and(|e| e.kind() == ErrorKind::InvalidShape)
            && indices.iter().all(|&i| i == -1)
            && multiplier.iter().all(|&m| m == u32::MAX),
        "pool_into with values of the wrong shape was not refused, or wrote"
    );
    plan.pool_into(
        f_order.view(),
        PooledMut {
            values: values.view_mut(),
            indices: Some(indices.view_mut()),
            multiplier: Some(multiplier.view_mut()),
        },
        IndexFormat::Plane,
    )
    .map_err(|e| format!("pool_into failed: {e}"))?;
    let into: Vec<T> = values.iter().copied().collect();
    ensure!(
        same_bits(&into, &e.values),
        "{}",
        diff("pool_into values", &into, &e.values)
    );
    ensure!(
        indices.iter().copied().eq(e.indices.iter().copied())
            && multiplier.iter().copied().eq(e.multiplier.iter().copied()),
        "pool_into indices or multiplier differ"
    );

    // The backward of ones is the multiplier, read in place from Fortran-order arrays and made in their order.
    let ones = got.values.mapv(|_| 1.0f64);
    let grad = plan
        .backward_with(
            ones.view(),
            got.indices.as_ref().expect("asked for").view(),
            IndexFormat::Plane,
        )
        .map_err(|e| format!("array backward failed: {e}"))?;
    // (An output with an axis of one element has no one memory order to follow.)
    ensure!(
        ones.shape().contains(&1) || grad.view().reversed_axes().is_standard_layout(),
        "array backward strides {:?}, not Fortran order like its gradient",
        grad.strides()
    );
    ensure!(
        grad.iter()
            .zip(&e.multiplier)
            .all(|(&g, &m)| g == f64::from(m)),
        "array backward of ones is not the multiplier"
    );

    // The planes as the channels of one channels-last image, (H, W, C), pooled and its backward run in place.
    let hwc = c_order.view().permuted_axes([1, 2, 0]);
    let got = plan
        .pool_nhwc::<T, _, i64>(hwc, Want::ALL, IndexFormat::Plane)
        .map_err(|e| format!("channels-last array pool failed: {e}"))?;
    ensure!(
        got.values.shape() == [e.out_height, e.out_width, case.planes],
        "channels-last output shape {:?}",
        got.values.shape()
    );
    let values: Vec<T> = got
        .values
        .view()
        .permuted_axes([2, 0, 1])
        .iter()
        .copied()
        .collect();
    ensure!(
        same_bits(&values, &e.values),
        "{}",
        diff("channels-last values", &values, &e.values)
    );
    // The same into (H, W, C) arrays the caller made.
    let mut values = Array3::from_elem((e.out_height, e.out_width, case.planes), T::default());
    let mut multiplier = Array3::from_elem((case.height, case.width, case.planes), 0u32);
    plan.pool_nhwc_into::<T, _, i64>(
        hwc,
        PooledMut {
            values: values.view_mut(),
            indices: None,
            multiplier: Some(multiplier.view_mut()),
        },
        IndexFormat::Plane,
    )
    .map_err(|e| format!("pool_nhwc_into failed: {e}"))?;
    ensure!(
        same_bits(
            &values.iter().copied().collect::<Vec<_>>(),
            &got.values.iter().copied().collect::<Vec<_>>()
        ) && Some(&multiplier) == got.multiplier.as_ref(),
        "pool_nhwc_into differs from pool_nhwc"
    );
    let ones = got.values.mapv(|_| 1.0f64);
    let grad = plan
        .backward_nhwc(
            ones.view(),
            got.indices.expect("asked for").view(),
            IndexFormat::Plane,
        )
        .map_err(|e| format!("channels-last array backward failed: {e}"))?;
    ensure!(
        grad.shape() == [case.height, case.width, case.planes],
        "channels-last backward shape {:?}",
        grad.shape()
    );
    let grad: Vec<f64> = grad.permuted_axes([2, 0, 1]).iter().copied().collect();
    ensure!(
        grad.iter()
            .zip(&e.multiplier)
            .all(|(&g, &m)| g == f64::from(m)),
        "channels-last backward of ones is not the multiplier"
    );

    let reversed = c_order.slice(s![.., ..;-1, ..]);
    let via_view = pool(
        reversed,
        plan.geometry().params(),
        plan.backend(),
        Want::INDICES,
    )
    .map_err(|e| e.to_string())?;
    let via_copy = pool(
        reversed.to_owned().view(),
        plan.geometry().params(),
        plan.backend(),
        Want::INDICES,
    )
    .map_err(|e| e.to_string())?;
    ensure!(
        via_view.indices == via_copy.indices,
        "a reversed view pools differently from its copy"
    );
    Ok(())
}

/// Refusals write nothing: a short buffer, and a backward index outside its plane.
fn check_refusals<T: Sample>(plan: &Plan, case: &Case<T>) -> Result<(), String> {
    let g = plan.geometry();
    let out_len = case.planes * g.out_plane_len();
    let mut values = vec![T::default(); out_len];
    let mut short = vec![-5i64; out_len.saturating_sub(1)];
    let err = plan.forward(
        &case.input,
        case.planes,
        Outputs::new(&mut values).with_indices(&mut short),
    );
    ensure!(
        err.map_err(|e| e.kind()) == Err(ErrorKind::InvalidShape),
        "a short indices buffer was not refused"
    );
    ensure!(
        short.iter().all(|&i| i == -5),
        "a refused call wrote indices"
    );

    let mut indices = vec![0i64; out_len];
    if let Some(last) = indices.last_mut() {
        *last = g.plane_len() as i64;
    }
    let mut grad = vec![2.5f32; case.planes * g.plane_len()];
    let err = plan.backward(case.planes, &vec![1.0f32; out_len], &indices, &mut grad);
    ensure!(
        err.map_err(|e| e.kind()) == Err(ErrorKind::IndexOutOfRange),
        "an index past the plane was not refused"
    );
    ensure!(
        grad.iter().all(|&x| x == 2.5),
        "a refused backward wrote grad_input"
    );
    Ok(())
}

/// The layouts a case is pooled in beside dense NCHW: channels-last, and a strided view with gaps between
/// elements and its axes in another order (which one depends on the case). The case's planes are N × C.
fn layouts(case: &Case<impl Sample>) -> [(&'static str, Layout); 2] {
    let (planes, h, w) = (case.planes, case.height, case.width);
    let (n, c) = if planes % 2 == 0 && planes > 0 {
        (2, planes / 2)
    } else {
        (1, planes)
    };
    let shape = [n, c, h, w];
    // Innermost axis first; each axis steps over the ones inside it plus a gap.
    let orders = [[3, 2, 1, 0], [1, 3, 2, 0], [2, 1, 3, 0], [3, 1, 2, 0]];
    let order = orders[(planes + h + 2 * w) % orders.len()];
    let mut strides = [0; 4];
    let mut stride = 2;
    for a in order {
        strides[a] = stride;
        stride = stride * shape[a].max(1) + 1;
    }
    [
        ("channels-last", Layout::nhwc(n, h, w, c)),
        ("strided", Layout { shape, strides }),
    ]
}

/// `data` (N, C, H, W in row-major order) placed at `layout`'s offsets in a buffer of its span; the gaps hold
/// `fill`.
fn placed<E: Copy>(data: &[E], layout: &Layout, fill: E) -> Vec<E> {
    let [n, c, h, w] = layout.shape;
    let mut out = vec![fill; layout.span().expect("test tensors are small")];
    let mut i = 0;
    for pn in 0..n {
        for pc in 0..c {
            for r in 0..h {
                for col in 0..w {
                    out[layout.offset([pn, pc, r, col])] = data[i];
                    i += 1;
                }
            }
        }
    }
    out
}

/// The elements at `layout`'s offsets, in (N, C, H, W) row-major order.
fn gathered<E: Copy>(buffer: &[E], layout: &Layout) -> Vec<E> {
    let [n, c, h, w] = layout.shape;
    let mut out = Vec::with_capacity(n * c * h * w);
    for pn in 0..n {
        for pc in 0..c {
            for r in 0..h {
                for col in 0..w {
                    out.push(buffer[layout.offset([pn, pc, r, col])]);
                }
            }
        }
    }
    out
}

/// The reference's winner at output `o` of plane (n, c), in `format`: the formulas restated here, apart from
/// the library's.
fn expected_index(
    format: IndexFormat,
    params: &Params,
    e: &Expected<impl Sample>,
    [_, c_len, h, w]: [usize; 4],
    (n, c): (usize, usize),
    o: usize,
    plane_index: i64,
) -> u64 {
    let p = plane_index as u64;
    let (row, col) = (p / w as u64, p % w as u64);
    let (oh, ow) = (o / e.out_width, o % e.out_width);
    let (n, c, c_len, h, w) = (n as u64, c as u64, c_len as u64, h as u64, w as u64);
    match format {
        IndexFormat::Plane => p,
        IndexFormat::FlatNchw => (n * c_len + c) * h * w + p,
        IndexFormat::FlatNhwc => ((n * h + row) * w + col) * c_len + c,
        IndexFormat::FlatHwc => (row * w + col) * c_len + c,
        IndexFormat::Window => {
            let i = (row as usize + params.padding.top - e.row_starts[oh]) / params.dilation[0];
            let j = (col as usize + params.padding.left - e.col_starts[ow]) / params.dilation[1];
            (i * params.kernel[1] + j) as u64
        }
    }
}

/// The tensor API in channels-last and strided layouts, outputs in another layout, in every index format and
/// index type: the reference's winners, encoded; a type that cannot hold the format's indices refused with
/// nothing written.
fn check_tensors<T: Sample>(plan: &Plan, case: &Case<T>, e: &Expected<T>) -> Result<(), String> {
    // Outputs channels-last beside a channels-last input, and NCHW with gaps beside it and the strided one.
    let calls = layouts(case).into_iter().flat_map(|(name, layout)| {
        let dense = name == "channels-last";
        [(name, layout, false)]
            .into_iter()
            .chain(dense.then_some((name, layout, true)))
    });
    for (name, layout, dense_out) in calls {
        let input = placed(&case.input, &layout, T::default());
        let out_shape = [layout.shape[0], layout.shape[1], e.out_height, e.out_width];
        let label = if dense_out {
            format!("{name}, outputs alike")
        } else {
            format!("{name}, outputs NCHW with gaps")
        };
        let out_layout = |shape: [usize; 4]| {
            if dense_out {
                layout.dense_like(shape)
            } else {
                let mut l = Layout::nchw(shape[0], shape[1], shape[2], shape[3] * 2);
                l.shape = shape;
                l.strides[3] = 2;
                l
            }
        };
        let call = TensorCall {
            plan,
            case,
            e,
            name: &label,
            input: &input,
            layout,
            out: out_layout(out_shape),
            multiplier_layout: out_layout(layout.shape),
        };
        // Every format and type with and without the multiplier (kernels take other paths), and the values
        // alone and with the multiplier alone once.
        for format in IndexFormat::ALL {
            for multiplier in [true, false] {
                call.check::<i64>(format, true, multiplier)?;
                call.check::<i32>(format, true, multiplier)?;
                call.check::<u8>(format, true, multiplier)?;
            }
        }
        call.check::<i64>(IndexFormat::Plane, false, true)?;
        call.check::<i64>(IndexFormat::Plane, false, false)?;
    }
    Ok(())
}

/// One case's tensor call in one pair of layouts, to be checked in each index format and type.
struct TensorCall<'a, T> {
    plan: &'a Plan,
    case: &'a Case<T>,
    e: &'a Expected<T>,
    /// The input layout's name.
    name: &'a str,
    /// The case's input, placed in `layout`.
    input: &'a [T],
    layout: Layout,
    /// The values' and indices' layout.
    out: Layout,
    multiplier_layout: Layout,
}

impl<T: Sample> TensorCall<'_, T> {
    /// Checks the call with the indices in `format` as `I` when `want_indices`, and the multiplier when
    /// `want_multiplier`; the outputs not asked for are left alone.
    fn check<I: IndexElement + TryFrom<u64>>(
        &self,
        format: IndexFormat,
        want_indices: bool,
        want_multiplier: bool,
    ) -> Result<(), String> {
        let TensorCall {
            plan,
            case,
            e,
            name,
            input,
            layout,
            out,
            multiplier_layout,
        } = *self;
        let shape = layout.shape;
        let [n, c, h, w] = shape;
        let what = match (want_indices, want_multiplier) {
            (true, true) => format!("{name}: {format} indices as {:?}, multiplier", I::DTYPE),
            (true, false) => format!("{name}: {format} indices as {:?}", I::DTYPE),
            (false, true) => format!("{name}: values and multiplier"),
            (false, false) => format!("{name}: values"),
        };
        let mut values = vec![T::default(); out.span().expect("small")];
        let mut indices = vec![I::default(); out.span().expect("small")];
        let mut multiplier = vec![7u32; multiplier_layout.span().expect("small")];
        let (values_before, multiplier_before) = (values.clone(), multiplier.clone());
        let mut outputs = TensorOutputs::new(TensorMut::new(&mut values, out));
        if want_indices {
            outputs = outputs.with_indices(TensorMut::new(&mut indices, out), format);
        }
        if want_multiplier {
            outputs = outputs.with_multiplier(TensorMut::new(&mut multiplier, multiplier_layout));
        }
        let result = plan.forward_tensor(TensorRef::new(input, layout), outputs);
        // The expected indices, or the refusal when the type cannot hold the format's largest.
        let mut expected = Vec::with_capacity(e.indices.len());
        let largest = match format {
            IndexFormat::Plane => h * w,
            IndexFormat::FlatNchw | IndexFormat::FlatNhwc => n * c * h * w,
            IndexFormat::FlatHwc => c * h * w,
            IndexFormat::Window => case.params.kernel[0] * case.params.kernel[1],
        }
        .saturating_sub(1) as u64;
        let fits = !want_indices
            || (I::DTYPE != maxpool::DType::U8 || format == IndexFormat::Window)
                && I::try_from(largest).is_ok();
        if !fits {
            let err = result.err().ok_or_else(|| format!("{what}: not refused"))?;
            ensure!(
                err.kind() == ErrorKind::Unsupported,
                "{what}: refused with {err} ({:?})",
                err.kind()
            );
            ensure!(
                values == values_before
                    && multiplier == multiplier_before
                    && indices.iter().all(|&i| i == I::default()),
                "{what}: refused but wrote"
            );
            return Ok(());
        }
        result.map_err(|err| format!("{what}: {err}"))?;
        let out_len = e.out_height * e.out_width;
        for (i, &p) in e.indices.iter().enumerate() {
            let plane = i / out_len;
            let v = expected_index(
                format,
                &case.params,
                e,
                shape,
                (plane / c, plane % c),
                i % out_len,
                p,
            );
            expected.push(I::try_from(v).map_err(|_| format!("{what}: {v} does not fit"))?);
        }
        let got_values = gathered(&values, &out);
        ensure!(
            same_bits(&got_values, &e.values),
            "{what}: {}",
            diff("values", &got_values, &e.values)
        );
        let got_indices = gathered(&indices, &out);
        if !want_indices {
            expected = vec![I::default(); got_indices.len()];
        }
        ensure!(
            got_indices == expected,
            "{what}: {}",
            diff("indices", &got_indices, &expected)
        );
        let got_multiplier = gathered(&multiplier, &multiplier_layout);
        let untouched;
        let want = if want_multiplier {
            &e.multiplier
        } else {
            untouched = vec![7; got_multiplier.len()];
            &untouched
        };
        ensure!(
            got_multiplier == *want,
            "{what}: {}",
            diff("multiplier", &got_multiplier, want)
        );
        Ok(())
    }
}
