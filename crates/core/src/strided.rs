//! Calls on tensors of any layout ([`crate::Layout`]): their checks, the forward pass for layouts whose planes
//! the techniques cannot read in place, and the backward pass in every index format.
//!
//! A technique pools one row-major plane at a time. A plane that is not one (channels-last, strided views) is
//! gathered into the thread's working storage first, one plane at a time, and outputs that are not row-major
//! planes, or indices in another format or type, are written from the thread's buffers once the plane is
//! pooled. The index encoding is [`IndexFormat::encode`]'s, the same for every technique.

use std::ops::Range;

use crate::element::{Element, Float, Summed};
use crate::engine::Parties;
use crate::error::{Error, Result};
use crate::geometry::Geometry;
use crate::simd::{Simd, Vectorised};
use crate::technique::{try_reserve, Scratch, Technique, Winners, Work};
use crate::tensor::{
    check_index_type, dense_order, IndexElement, IndexFormat, IndicesMut, IndicesRef, Layout,
    RowEncoder, TensorMut, TensorRef,
};
use crate::threads::Team;

/// The outputs of a call on tensors: `values` (N, C, OH, OW), and when given `indices` (the same shape, in
/// `index_format`) and `multiplier` (N, C, H, W), each in any layout.
#[derive(Debug)]
pub struct TensorOutputs<'a, T> {
    /// The maximum of each window.
    pub values: TensorMut<'a, T>,
    /// The winners, in `index_format`.
    pub indices: Option<IndicesMut<'a>>,
    /// How the indices encode the winners.
    pub index_format: IndexFormat,
    /// How many windows of its plane each input element won.
    pub multiplier: Option<TensorMut<'a, u32>>,
}

impl<'a, T> TensorOutputs<'a, T> {
    /// Values only.
    pub fn new(values: TensorMut<'a, T>) -> Self {
        TensorOutputs {
            values,
            indices: None,
            index_format: IndexFormat::Plane,
            multiplier: None,
        }
    }

    /// Also the winners, as `indices` in `format`.
    pub fn with_indices(mut self, indices: impl Into<IndicesMut<'a>>, format: IndexFormat) -> Self {
        self.indices = Some(indices.into());
        self.index_format = format;
        self
    }

    /// Also the multiplier.
    pub fn with_multiplier(mut self, multiplier: TensorMut<'a, u32>) -> Self {
        self.multiplier = Some(multiplier);
        self
    }
}

/// How a tensor is described in messages: `"(N, C, H, W) = (2, 3, 8, 8)"`.
fn shape_of(shape: [usize; 4]) -> String {
    format!(
        "(N, C, H, W) = ({}, {}, {}, {})",
        shape[0], shape[1], shape[2], shape[3]
    )
}

/// Where a checked tensor lies, for the overlap checks: its name, first byte, bytes spanned, and whether the
/// call writes it.
type Region = (&'static str, usize, usize, bool);

/// Checks one tensor of a call: its shape is `expected`, its layout reaches no further than it may be read or
/// written, and, for an output, no two of its elements share an offset. Returns where it lies.
fn check_tensor<E>(
    name: &'static str,
    tensor: &TensorRef<'_, E>,
    expected: [usize; 4],
    output: bool,
) -> Result<Region> {
    let layout = tensor.layout();
    if layout.shape != expected {
        return Err(Error::ArrayShape(format!(
            "{name} has shape {} but the call needs {}",
            shape_of(layout.shape),
            shape_of(expected)
        )));
    }
    let span = layout.span().ok_or(Error::Overflow(match name {
        "input" => "the input's largest offset",
        "values" => "the values' largest offset",
        "indices" => "the indices' largest offset",
        "multiplier" => "the multiplier's largest offset",
        "grad_output" => "grad_output's largest offset",
        _ => "grad_input's largest offset",
    }))?;
    if span > tensor.capacity() {
        return Err(Error::BufferLength {
            buffer: name,
            expected: span,
            actual: tensor.capacity(),
        });
    }
    let bytes = span
        .checked_mul(size_of::<E>())
        .ok_or(Error::Overflow("a tensor's size in bytes"))?;
    if output && !layout.elements_distinct() {
        return Err(Error::ArrayShape(format!(
            "the strides of {name}, {:?}, put two of its elements in one place (or interleave its axes)",
            layout.strides
        )));
    }
    Ok((name, tensor.as_ptr() as usize, bytes, output))
}

/// [`check_tensor`] for indices of any type.
fn check_indices(indices: &IndicesRef<'_>, expected: [usize; 4], output: bool) -> Result<Region> {
    match indices {
        IndicesRef::I64(t) => check_tensor("indices", t, expected, output),
        IndicesRef::I32(t) => check_tensor("indices", t, expected, output),
        IndicesRef::U8(t) => check_tensor("indices", t, expected, output),
    }
}

/// Refuses tensors whose memory overlaps: `regions` are (name, first byte, bytes spanned, written).
fn check_disjoint(regions: &[Region]) -> Result<()> {
    for (i, &(a, a_at, a_len, a_out)) in regions.iter().enumerate() {
        for &(b, b_at, b_len, b_out) in &regions[i + 1..] {
            let overlap = a_len > 0
                && b_len > 0
                && a_at < b_at.wrapping_add(b_len)
                && b_at < a_at.wrapping_add(a_len);
            if overlap && (a_out || b_out) {
                return Err(Error::ArrayShape(format!(
                    "{a} and {b} overlap in memory; an output must not share memory with another tensor of the \
                     call"
                )));
            }
        }
    }
    Ok(())
}

/// The checks of a forward call on tensors, in order: the multiplier's counts and the index type for the
/// geometry, then each tensor's shape, extent and layout, then overlaps. Nothing is written before they pass.
pub(crate) fn check_forward<T>(
    g: &Geometry,
    counts_fit: impl FnOnce() -> Result<()>,
    input: &TensorRef<'_, T>,
    out: &TensorOutputs<'_, T>,
) -> Result<()> {
    let [n, c, h, w] = input.layout().shape;
    if out.multiplier.is_some() {
        counts_fit()?;
    }
    if let Some(indices) = &out.indices {
        check_index_type(indices.dtype(), out.index_format, g, [n, c, h, w])?;
    }
    if [h, w] != [g.height(), g.width()] {
        return Err(Error::ArrayShape(format!(
            "the input has shape {} but the plan was made for planes of {} × {}",
            shape_of(input.layout().shape),
            g.height(),
            g.width()
        )));
    }
    let out_shape = [n, c, g.out_height(), g.out_width()];
    let mut regions = Vec::with_capacity(4);
    regions.push(check_tensor("input", input, [n, c, h, w], false)?);
    regions.push(check_tensor(
        "values",
        &out.values.as_ref(),
        out_shape,
        true,
    )?);
    if let Some(indices) = &out.indices {
        regions.push(check_indices(&indices.as_ref(), out_shape, true)?);
    }
    if let Some(m) = &out.multiplier {
        regions.push(check_tensor("multiplier", &m.as_ref(), [n, c, h, w], true)?);
    }
    check_disjoint(&regions)
}

/// Whether a checked forward call can run as a call on slices ([`crate::Pool::forward`]): every tensor dense
/// NCHW, indices `i64` in the plane format.
pub(crate) fn is_nchw_call<T>(input: &TensorRef<'_, T>, out: &TensorOutputs<'_, T>) -> bool {
    input.layout().is_nchw()
        && out.values.layout().is_nchw()
        && out.indices.as_ref().is_none_or(|i| {
            matches!(i, IndicesMut::I64(_))
                && out.index_format == IndexFormat::Plane
                && i.layout().is_nchw()
        })
        && out.multiplier.as_ref().is_none_or(|m| m.layout().is_nchw())
}

/// A thread's buffers for the planes it pools: whatever the tensors cannot give in place.
struct PlaneBuffers<T> {
    input: Vec<T>,
    values: Vec<T>,
    indices: Vec<i64>,
    multiplier: Vec<u32>,
}

/// Where the outputs of a forward call on tensors are, shared by the threads, which write disjoint parts.
pub(crate) struct Targets<T> {
    pub(crate) values: (*mut T, Layout),
    pub(crate) indices: Option<(IndexTarget, Layout)>,
    pub(crate) multiplier: Option<(*mut u32, Layout)>,
}

impl<T> Targets<T> {
    /// The outputs' pointers and layouts.
    pub(crate) fn of(out: TensorOutputs<'_, T>) -> Self {
        Targets {
            values: out.values.raw(),
            indices: out.indices.map(|i| match i {
                IndicesMut::I64(t) => (IndexTarget::I64(t.raw().0), t.raw().1),
                IndicesMut::I32(t) => (IndexTarget::I32(t.raw().0), t.raw().1),
                IndicesMut::U8(t) => (IndexTarget::U8(t.raw().0), t.raw().1),
            }),
            multiplier: out.multiplier.map(|m| m.raw()),
        }
    }
}

/// Where indices of each type go.
#[derive(Clone, Copy)]
pub(crate) enum IndexTarget {
    I64(*mut i64),
    I32(*mut i32),
    U8(*mut u8),
}

// SAFETY: the threads of a call write only their own planes' elements, which are distinct (checked).
unsafe impl<T: Send> Send for Targets<T> {}
unsafe impl<T: Send> Sync for Targets<T> {}

/// Pools tensors whose planes are not all dense NCHW, or whose indices are in another format or type: each
/// (n, c) plane is pooled by `technique` on its own, gathered first when it is not a row-major run, and its
/// outputs are written through their layouts. The call was checked ([`check_forward`]) and has planes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward_planes<K: Technique, T: Element>(
    g: &Geometry,
    technique: &K,
    coding: Option<&crate::coded::Coding>,
    threads: usize,
    input: TensorRef<'_, T>,
    out: TensorOutputs<'_, T>,
) -> Result<()> {
    let layout = *input.layout();
    let [n, c, _, _] = layout.shape;
    let planes = n * c;
    let (plane_len, out_len) = (g.plane_len(), g.out_plane_len());
    let format = out.index_format;
    let targets = Targets::of(out);
    // What each plane can give in place: a row-major run of the plane, and for indices only i64 plane indices.
    let input_in_place = layout.planes_dense();
    let values_in_place = targets.values.1.planes_dense();
    let indices_in_place = targets.indices.as_ref().is_some_and(|(t, l)| {
        matches!(t, IndexTarget::I64(_)) && format == IndexFormat::Plane && l.planes_dense()
    });
    let multiplier_in_place = targets
        .multiplier
        .as_ref()
        .is_some_and(|(_, l)| l.planes_dense());
    let want_multiplier = targets.multiplier.is_some();
    let want_indices = targets.indices.is_some();
    // One-byte window codes the technique's kernels write themselves, in place, rather than flat indices that
    // are then encoded; not with the multiplier, which is counted from flat indices.
    let taps_in_place = format == IndexFormat::Window
        && !want_multiplier
        && technique.writes_taps::<T>(g)
        && targets
            .indices
            .as_ref()
            .is_some_and(|(t, l)| matches!(t, IndexTarget::U8(_)) && l.planes_dense());

    let team = Team::new(threads, planes);
    let work = technique.work(g);
    let disjoint = g.params().windows_disjoint();
    let reserve = || -> Result<_> {
        let scratch = Scratch::reserve(g, want_multiplier && !want_indices, coding)?;
        let mut buffers = PlaneBuffers {
            input: Vec::new(),
            values: Vec::new(),
            indices: Vec::new(),
            multiplier: Vec::new(),
        };
        let what = "a thread's plane buffers";
        if !input_in_place {
            try_reserve(&mut buffers.input, plane_len, what)?;
            buffers.input.resize(plane_len, T::default());
        }
        if !values_in_place {
            try_reserve(&mut buffers.values, out_len, what)?;
            buffers.values.resize(out_len, T::default());
        }
        if want_indices && !indices_in_place && !taps_in_place {
            try_reserve(&mut buffers.indices, out_len, what)?;
            buffers.indices.resize(out_len, 0);
        }
        if want_multiplier && !multiplier_in_place {
            try_reserve(&mut buffers.multiplier, plane_len, what)?;
            buffers.multiplier.resize(plane_len, 0);
        }
        Ok((scratch, Work::<T>::reserve(work)?, buffers))
    };
    let parties = Parties::reserve(&team, reserve)?;
    let encoder = RowEncoder::new(format, g, layout.shape)?;
    let encoder = &encoder;
    let simd = technique.simd();
    let (out_h, out_w) = (g.out_height(), g.out_width());
    let targets = &targets;
    let ran = team.run(planes, &|units: Range<usize>, party: usize| {
        let mut guard = parties.lock(party);
        let (scratch, work, buffers) = &mut *guard;
        for unit in units {
            let (pn, pc) = (unit / c, unit % c);
            // SAFETY (all blocks below): the call was checked, so every offset of every tensor is inside it, its
            // elements are distinct, and the tensors do not overlap; each unit's plane is pooled by one thread.
            let plane: &[T] = if input_in_place {
                unsafe {
                    std::slice::from_raw_parts(
                        input.as_ptr().add(layout.plane_offset(pn, pc)),
                        plane_len,
                    )
                }
            } else {
                gather(&input, pn, pc, &mut buffers.input);
                &buffers.input
            };
            let (vptr, vl) = targets.values;
            let values: &mut [T] = if values_in_place {
                unsafe {
                    std::slice::from_raw_parts_mut(vptr.add(vl.plane_offset(pn, pc)), out_len)
                }
            } else {
                &mut buffers.values
            };
            let mut winners = if taps_in_place {
                let Some((IndexTarget::U8(p), l)) = &targets.indices else {
                    unreachable!("tap codes are written in place only to u8 indices")
                };
                let taps = unsafe {
                    std::slice::from_raw_parts_mut(p.add(l.plane_offset(pn, pc)), out_len)
                };
                Winners::with_taps(values, taps, scratch)
            } else {
                let indices: Option<&mut [i64]> = match &targets.indices {
                    None => None,
                    Some((IndexTarget::I64(p), l)) if indices_in_place => Some(unsafe {
                        std::slice::from_raw_parts_mut(p.add(l.plane_offset(pn, pc)), out_len)
                    }),
                    Some(_) => Some(&mut buffers.indices),
                };
                let multiplier: Option<&mut [u32]> = match targets.multiplier {
                    None => None,
                    Some((p, l)) if multiplier_in_place => Some(unsafe {
                        std::slice::from_raw_parts_mut(p.add(l.plane_offset(pn, pc)), plane_len)
                    }),
                    Some(_) => Some(&mut buffers.multiplier),
                };
                Winners::new(values, indices, multiplier, disjoint, coding, scratch)
            };
            technique.pool_rows(g, plane, 0..out_h, &mut winners, work);
            winners.finish();
            // The outputs the plane could not be given in place.
            if !values_in_place {
                let (p, l) = targets.values;
                for oh in 0..out_h {
                    for ow in 0..out_w {
                        unsafe {
                            *p.add(l.offset([pn, pc, oh, ow])) = buffers.values[oh * out_w + ow]
                        };
                    }
                }
            }
            if let Some((target, l)) = &targets.indices {
                if !indices_in_place && !taps_in_place {
                    let idx = &buffers.indices;
                    match *target {
                        IndexTarget::I64(p) => unsafe {
                            encode(simd, encoder, out_w, l, p, pn, pc, idx)
                        },
                        IndexTarget::I32(p) => unsafe {
                            encode(simd, encoder, out_w, l, p, pn, pc, idx)
                        },
                        IndexTarget::U8(p) => unsafe {
                            encode(simd, encoder, out_w, l, p, pn, pc, idx)
                        },
                    }
                }
            }
            if let Some((p, l)) = targets.multiplier {
                if !multiplier_in_place {
                    let (h, w) = (g.height(), g.width());
                    for row in 0..h {
                        for col in 0..w {
                            unsafe {
                                *p.add(l.offset([pn, pc, row, col])) =
                                    buffers.multiplier[row * w + col]
                            };
                        }
                    }
                }
            }
        }
    });
    ran.map_err(Error::Internal)
}

/// Copies plane (n, c) of `input` into `plane`, row-major.
fn gather<T: Element>(input: &TensorRef<'_, T>, n: usize, c: usize, plane: &mut [T]) {
    let l = input.layout();
    let [_, _, h, w] = l.shape;
    let base = l.plane_offset(n, c);
    for row in 0..h {
        for col in 0..w {
            // SAFETY: the input was checked; the offset is one of its elements.
            plane[row * w + col] = unsafe {
                *input
                    .as_ptr()
                    .add(base + row * l.strides[2] + col * l.strides[3])
            };
        }
    }
}

/// Writes the plane indices `idx` (output row-major) of plane (n, c) as `I`s through `layout`, by `encoder`;
/// run by [`Simd::run`], so that the row loops are compiled for the plan's instruction set.
struct Encode<'a, 'g, I> {
    encoder: &'a RowEncoder<'g>,
    out_w: usize,
    layout: &'a Layout,
    ptr: *mut I,
    n: usize,
    c: usize,
    idx: &'a [i64],
}

impl<I: IndexElement> Vectorised for Encode<'_, '_, I> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let Encode {
            encoder,
            out_w,
            layout,
            ptr,
            n,
            c,
            idx,
        } = self;
        for (oh, row) in idx.chunks_exact(out_w).enumerate() {
            // SAFETY (both): the indices tensor at `ptr` with `layout` was checked, and plane (n, c) is this
            // thread's (`encode`'s promise), so the row's elements are inside the tensor and this thread's.
            let at = unsafe { ptr.add(layout.offset([n, c, oh, 0])) };
            if layout.strides[3] == 1 {
                let out = unsafe { std::slice::from_raw_parts_mut(at, out_w) };
                encoder.row([n, c, oh, 0], row, out);
            } else {
                for (ow, &p) in row.iter().enumerate() {
                    let mut v = [I::default()];
                    encoder.row([n, c, oh, ow], &[p], &mut v);
                    unsafe { *at.add(ow * layout.strides[3]) = v[0] };
                }
            }
        }
    }
}

/// Writes the plane indices `idx` (output row-major) of plane (n, c) as `I`s through `layout`, by `encoder`,
/// compiled for `simd`.
///
/// # Safety
/// The indices tensor at `ptr` with `layout` was checked, and plane (n, c) is this thread's.
#[allow(clippy::too_many_arguments)]
unsafe fn encode<I: IndexElement>(
    simd: Simd,
    encoder: &RowEncoder<'_>,
    out_w: usize,
    layout: &Layout,
    ptr: *mut I,
    n: usize,
    c: usize,
    idx: &[i64],
) {
    simd.run(Encode {
        encoder,
        out_w,
        layout,
        ptr,
        n,
        c,
        idx,
    })
}

/// The backward pass on tensors: zeroes `grad_input` (N, C, H, W), then for every output element in order
/// adds `grad_output[n, c, oh, ow]` onto the input element its index names in `format`. Deterministic. Every
/// index is decoded and checked before anything is written: one that names no element of its window's plane is
/// [`Error::BadIndex`], and `grad_input` is left as it was.
pub fn backward_tensor<T: Float>(
    g: &Geometry,
    grad_output: TensorRef<'_, T>,
    indices: IndicesRef<'_>,
    format: IndexFormat,
    grad_input: TensorMut<'_, T>,
) -> Result<()> {
    backward_checked(g, grad_output, indices, format, grad_input, false)
}

/// [`backward_tensor`] into a `grad_input` that is the caller's new array, uninitialised, which it throws away
/// on error: the indices are checked as they are used, in one pass, instead of all of them first.
pub(crate) fn backward_fresh<T: Float>(
    g: &Geometry,
    grad_output: TensorRef<'_, T>,
    indices: IndicesRef<'_>,
    format: IndexFormat,
    grad_input: TensorMut<'_, T>,
) -> Result<()> {
    backward_checked(g, grad_output, indices, format, grad_input, true)
}

/// The backward pass's checks, then its work; with `fresh`, without a pass that checks every index first.
fn backward_checked<T: Float>(
    g: &Geometry,
    grad_output: TensorRef<'_, T>,
    indices: IndicesRef<'_>,
    format: IndexFormat,
    grad_input: TensorMut<'_, T>,
    fresh: bool,
) -> Result<()> {
    let shape = grad_input.layout().shape;
    let [n, c, h, w] = shape;
    check_index_type(indices.dtype(), format, g, shape)?;
    if [h, w] != [g.height(), g.width()] {
        return Err(Error::ArrayShape(format!(
            "grad_input has shape {} but the plan was made for planes of {} × {}",
            shape_of(shape),
            g.height(),
            g.width()
        )));
    }
    let out_shape = [n, c, g.out_height(), g.out_width()];
    check_disjoint(&[
        check_tensor("grad_output", &grad_output, out_shape, false)?,
        check_indices(&indices, out_shape, false)?,
        check_tensor("grad_input", &grad_input.as_ref(), shape, true)?,
    ])?;
    let decoder = Decoder::new(format, g, shape);
    let grad_input = match grad_input.same_as::<T::Sum>() {
        Ok(gi) => {
            let go = grad_output
                .same_as::<T::Sum>()
                .expect("the same type as grad_input");
            return scatter_any(&decoder, go, indices, gi, fresh);
        }
        Err(gi) => gi,
    };
    widened(&decoder, grad_output, indices, grad_input)
}

/// [`scatter`] with indices of any type.
fn scatter_any<S: Float>(
    decoder: &Decoder<'_>,
    grad_output: TensorRef<'_, S>,
    indices: IndicesRef<'_>,
    grad_input: TensorMut<'_, S::Sum>,
    fresh: bool,
) -> Result<()> {
    match indices {
        IndicesRef::I64(t) => scatter(decoder, grad_output, &t, grad_input, fresh),
        IndicesRef::I32(t) => scatter(decoder, grad_output, &t, grad_input, fresh),
        IndicesRef::U8(t) => scatter(decoder, grad_output, &t, grad_input, fresh),
    }
}

/// The backward pass of a type that sums its gradients in a wider one (`f16`, `bf16`; checked tensors): each
/// gradient widened as it is scattered into dense sums, each sum rounded once into `grad_input`. The sums keep
/// `grad_input`'s memory order, so the scatter takes the path it would on it. On error `grad_input` is not
/// written.
fn widened<T: Float>(
    decoder: &Decoder<'_>,
    grad_output: TensorRef<'_, T>,
    indices: IndicesRef<'_>,
    mut grad_input: TensorMut<'_, T>,
) -> Result<()> {
    // The sums: a dense layout in grad_input's memory order.
    let gi_at = *grad_input.layout();
    let gi_len = gi_at
        .len()
        .ok_or(Error::Overflow("the number of elements of a tensor"))?;
    let strides = dense_order(&gi_at.shape, &gi_at.strides, &gi_at.shape);
    let gi_dense = Layout {
        shape: gi_at.shape,
        strides: [strides[0], strides[1], strides[2], strides[3]],
    };
    let mut sums: Vec<T::Sum> = Vec::new();
    try_reserve(&mut sums, gi_len, "the gradient sums in f32")?;
    sums.resize(gi_len, <T::Sum as Summed>::ZERO);
    scatter_any(
        decoder,
        grad_output,
        indices,
        TensorMut::new(&mut sums, gi_dense),
        true,
    )?;
    let gi = grad_input.as_mut_ptr();
    each_position(gi_at.shape, |at| {
        // SAFETY: grad_input was checked, so each of its positions is inside it, and its elements are distinct.
        unsafe { *gi.add(gi_at.offset(at)) = T::narrow(sums[gi_dense.offset(at)]) };
    });
    Ok(())
}

/// Calls `f` with every position (n, c, h, w) of a tensor of `shape`, in row-major order.
fn each_position(shape: [usize; 4], mut f: impl FnMut([usize; 4])) {
    for n in 0..shape[0] {
        for c in 0..shape[1] {
            for h in 0..shape[2] {
                for w in 0..shape[3] {
                    f([n, c, h, w]);
                }
            }
        }
    }
}

/// Each window's winner as a position `row * W + col` in its plane, from an index in one format: the cheap
/// checks of [`IndexFormat::decode`], with what they need worked out once per call. `None` for an index that
/// `decode` refuses, which the caller asks it for the message.
struct Decoder<'g> {
    geometry: &'g Geometry,
    shape: [usize; 4],
    format: IndexFormat,
    plane_len: u64,
    channels: u64,
    width: u64,
    /// Window format: each tap's (row, column) offset from its window's first tap, in padded coordinates.
    taps: Vec<(u64, u64)>,
    /// Window format: the stride, the leading padding and the input size, per axis.
    stride: [u64; 2],
    before: [u64; 2],
    size: [u64; 2],
}

impl<'g> Decoder<'g> {
    fn new(format: IndexFormat, g: &'g Geometry, shape: [usize; 4]) -> Self {
        let params = g.params();
        let [kh, kw] = params.kernel;
        let taps = if format == IndexFormat::Window {
            (0..kh)
                .flat_map(|i| (0..kw).map(move |j| (i, j)))
                .map(|(i, j)| {
                    (
                        (i * params.dilation[0]) as u64,
                        (j * params.dilation[1]) as u64,
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        Decoder {
            geometry: g,
            shape,
            format,
            plane_len: g.plane_len() as u64,
            channels: shape[1] as u64,
            width: g.width() as u64,
            taps,
            stride: params.stride.map(|s| s as u64),
            before: [params.padding.top as u64, params.padding.left as u64],
            size: [g.height() as u64, g.width() as u64],
        }
    }

    /// The position index `v` of window (oh, ow) of plane (n, c) names, or why it names none, in the words of
    /// the one definition of each format, [`IndexFormat::decode`].
    #[inline(always)]
    fn checked(&self, at: [usize; 4], v: i64) -> Result<usize> {
        match self.position(at, v) {
            Some(p) => Ok(p),
            None => Err(self.refusal(at, v)),
        }
    }

    /// Why index `v` of window (oh, ow) of plane (n, c) names no position.
    #[cold]
    #[inline(never)]
    fn refusal(&self, at: [usize; 4], v: i64) -> Error {
        match self.format.decode(self.geometry, self.shape, at, v) {
            Err(e) => e,
            Ok(_) => Error::Internal("an index the fast decoder refused decodes".into()),
        }
    }

    /// The position index `v` of window (oh, ow) of plane (n, c) names, if it is valid.
    #[inline(always)]
    fn position(&self, [n, c, oh, ow]: [usize; 4], v: i64) -> Option<usize> {
        let v = u64::try_from(v).ok()?;
        let in_plane = |p: u64| (p < self.plane_len).then_some(p as usize);
        match self.format {
            IndexFormat::Plane => in_plane(v),
            IndexFormat::FlatNchw => {
                in_plane(v.checked_sub((n as u64 * self.channels + c as u64) * self.plane_len)?)
            }
            IndexFormat::FlatNhwc | IndexFormat::FlatHwc => {
                if v % self.channels != c as u64 {
                    return None;
                }
                let q = v / self.channels;
                match self.format {
                    IndexFormat::FlatHwc => in_plane(q),
                    _ => in_plane(q.checked_sub(n as u64 * self.plane_len)?),
                }
            }
            IndexFormat::Window => {
                let &(di, dj) = self.taps.get(usize::try_from(v).ok()?)?;
                let row = (oh as u64 * self.stride[0] + di).checked_sub(self.before[0])?;
                let col = (ow as u64 * self.stride[1] + dj).checked_sub(self.before[1])?;
                (row < self.size[0] && col < self.size[1])
                    .then_some((row * self.width + col) as usize)
            }
        }
    }
}

/// [`backward_tensor`] once its tensors are checked: every index decoded (the first bad one refused, nothing
/// written; with `fresh`, not beforehand but as it is used), then `grad_input` zeroed unit by unit and each
/// gradient added onto its winner. Windows are visited in output
/// order within each plane, so every element's sum is in output order; the planes of an image are visited
/// channel by channel when the channel axis is the indices' fastest (channels-last), else plane by plane.
/// Every element of `grad_input` is written (zeroed) before it is read, so it may start uninitialised:
/// [`Pool::backward_with`](crate::Pool::backward_with) relies on that.
fn scatter<S: Float, I: IndexElement>(
    decoder: &Decoder<'_>,
    grad_output: TensorRef<'_, S>,
    indices: &TensorRef<'_, I>,
    grad_input: TensorMut<'_, S::Sum>,
    fresh: bool,
) -> Result<()> {
    let shape = decoder.shape;
    let [_, c, _, w] = shape;
    let (ix, go) = (*indices.layout(), *grad_output.layout());
    let (gi_ptr, gi) = grad_input.raw();
    let walk = Walk {
        shape: grad_output.layout().shape,
        channels_inner: c > 1 && ix.strides[1] < ix.strides[3],
        ix,
        go,
    };
    if !fresh {
        walk.each(&mut Check { decoder, indices })?;
    }
    // PyTorch's case, plane indices onto row-major planes, the gradients often a broadcast one (strides 0):
    // row by row.
    if decoder.format == IndexFormat::Plane
        && !walk.channels_inner
        && gi.strides[3] == 1
        && gi.strides[2] == w
    {
        return plane_rows(decoder, &grad_output, indices, gi_ptr, &gi);
    }
    walk.each(&mut Add {
        decoder,
        indices,
        grad_output: &grad_output,
        gi_ptr,
        gi,
        shape,
        rows_follow: gi.strides[2] == w * gi.strides[3],
    })
}

/// [`scatter`] for `plane` indices, planes not visited channel by channel, onto row-major planes of
/// `grad_input` (`gi`, at `gi_ptr`): each plane zeroed, then each row of gradients added onto it in order, each
/// index checked as it is used.
fn plane_rows<S: Float, I: IndexElement>(
    decoder: &Decoder<'_>,
    grad_output: &TensorRef<'_, S>,
    indices: &TensorRef<'_, I>,
    gi_ptr: *mut S::Sum,
    gi: &Layout,
) -> Result<()> {
    let [n, c, oh_len, ow_len] = grad_output.layout().shape;
    let (ix, go) = (indices.layout(), grad_output.layout());
    let plane_len = decoder.plane_len as usize;
    for pn in 0..n {
        for pc in 0..c {
            // SAFETY (all): every tensor was checked, so these rows and this plane are inside their tensors, and
            // grad_input's plane is its own elements, distinct from the others'.
            let plane = unsafe {
                std::slice::from_raw_parts_mut(gi_ptr.add(gi.plane_offset(pn, pc)), plane_len)
            };
            plane.fill(<S::Sum as Summed>::ZERO);
            for oh in 0..oh_len {
                let (idx, grad) = (
                    indices.as_ptr().wrapping_add(ix.offset([pn, pc, oh, 0])),
                    grad_output
                        .as_ptr()
                        .wrapping_add(go.offset([pn, pc, oh, 0])),
                );
                for ow in 0..ow_len {
                    // SAFETY: as above, window (oh, ow)'s index and gradient are inside their tensors.
                    let (v, g) = unsafe {
                        (
                            (*idx.add(ow * ix.strides[3])).to_i64(),
                            *grad.add(ow * go.strides[3]),
                        )
                    };
                    match plane.get_mut(usize::try_from(v).unwrap_or(usize::MAX)) {
                        Some(x) => *x += g.widen(),
                        None => return Err(decoder.refusal([pn, pc, oh, ow], v)),
                    }
                }
            }
        }
    }
    Ok(())
}

/// What [`Walk::each`] does with each unit and each window.
trait Visit {
    /// Before the windows of `unit`.
    fn unit(&mut self, unit: Unit);
    /// Window (n, c, oh, ow), its index at offset `i` of the indices and its gradient at offset `o`.
    fn window(&mut self, at: [usize; 4], i: usize, o: usize) -> Result<()>;
}

/// The first pass: every index decoded, the first bad one refused.
struct Check<'a, 'b, I> {
    decoder: &'a Decoder<'a>,
    indices: &'a TensorRef<'b, I>,
}

impl<I: IndexElement> Visit for Check<'_, '_, I> {
    #[inline(always)]
    fn unit(&mut self, _: Unit) {}

    #[inline(always)]
    fn window(&mut self, at: [usize; 4], i: usize, _: usize) -> Result<()> {
        // SAFETY: the indices tensor was checked, so every window's offset is inside it.
        let v = unsafe { *self.indices.as_ptr().add(i) }.to_i64();
        self.decoder.checked(at, v).map(|_| ())
    }
}

/// The second pass (or the only one, into a fresh array): each unit of grad_input zeroed just before its
/// gradients are added, while it is in cache.
struct Add<'a, 'b, S: Float, I> {
    decoder: &'a Decoder<'a>,
    indices: &'a TensorRef<'b, I>,
    grad_output: &'a TensorRef<'b, S>,
    gi_ptr: *mut S::Sum,
    gi: Layout,
    shape: [usize; 4],
    /// Whether a plane's rows of grad_input follow each other, so position p is at p·stride_w.
    rows_follow: bool,
}

impl<S: Float, I: IndexElement> Visit for Add<'_, '_, S, I> {
    fn unit(&mut self, unit: Unit) {
        let ([_, c, h, w], gi) = (self.shape, &self.gi);
        let (pn, channels, dense) = match unit {
            Unit::Plane(pn, pc) => (
                pn,
                pc..pc + 1,
                (gi.strides[3] == 1 && gi.strides[2] == w)
                    .then_some((gi.plane_offset(pn, pc), h * w)),
            ),
            Unit::Image(pn) => (
                pn,
                0..c,
                (gi.strides[1] == 1 && gi.strides[3] == c && gi.strides[2] == w * c)
                    .then_some((gi.plane_offset(pn, 0), h * w * c)),
            ),
        };
        match dense {
            // SAFETY: grad_input was checked, and these are the unit's elements, contiguous.
            Some((at, len)) => unsafe { std::slice::from_raw_parts_mut(self.gi_ptr.add(at), len) }
                .fill(<S::Sum as Summed>::ZERO),
            None => {
                for pc in channels {
                    for row in 0..h {
                        for col in 0..w {
                            // SAFETY: grad_input was checked; its elements are distinct.
                            unsafe {
                                *self.gi_ptr.add(gi.offset([pn, pc, row, col])) =
                                    <S::Sum as Summed>::ZERO
                            };
                        }
                    }
                }
            }
        }
    }

    #[inline(always)]
    fn window(&mut self, at: [usize; 4], i: usize, o: usize) -> Result<()> {
        let (gi, w) = (&self.gi, self.shape[3]);
        // SAFETY (all): every tensor was checked, so each offset is inside its tensor; the position is checked
        // to be in its plane.
        unsafe {
            let v = (*self.indices.as_ptr().add(i)).to_i64();
            let p = self.decoder.checked(at, v)?;
            let within = if self.rows_follow {
                p * gi.strides[3]
            } else {
                (p / w) * gi.strides[2] + (p % w) * gi.strides[3]
            };
            *self.gi_ptr.add(gi.plane_offset(at[0], at[1]) + within) +=
                (*self.grad_output.as_ptr().add(o)).widen();
        }
        Ok(())
    }
}

/// What [`Walk::each`] visits as a whole: one (n, c) plane, or every plane of image n side by side.
#[derive(Clone, Copy)]
enum Unit {
    Plane(usize, usize),
    Image(usize),
}

/// The windows of tensors of `shape` (N, C, OH, OW), the indices and gradients laid out as `ix` and `go`, unit
/// by unit: in output order within each plane, and the planes of an image either one after the other or,
/// `channels_inner`, side by side (channel fastest).
struct Walk {
    shape: [usize; 4],
    channels_inner: bool,
    ix: Layout,
    go: Layout,
}

impl Walk {
    /// Calls `visit.unit` before each unit's windows, and `visit.window` with each window's (n, c, oh, ow) and
    /// the offsets of its index and its gradient, until that fails.
    #[inline(always)]
    fn each(&self, visit: &mut impl Visit) -> Result<()> {
        let [n, c, oh_len, ow_len] = self.shape;
        let (ix, go) = (&self.ix.strides, &self.go.strides);
        for pn in 0..n {
            if self.channels_inner {
                visit.unit(Unit::Image(pn));
                for oh in 0..oh_len {
                    for ow in 0..ow_len {
                        let (i, o) = (
                            self.ix.offset([pn, 0, oh, ow]),
                            self.go.offset([pn, 0, oh, ow]),
                        );
                        for pc in 0..c {
                            visit.window([pn, pc, oh, ow], i + pc * ix[1], o + pc * go[1])?;
                        }
                    }
                }
            } else {
                for pc in 0..c {
                    visit.unit(Unit::Plane(pn, pc));
                    for oh in 0..oh_len {
                        let (i, o) = (
                            self.ix.offset([pn, pc, oh, 0]),
                            self.go.offset([pn, pc, oh, 0]),
                        );
                        for ow in 0..ow_len {
                            visit.window([pn, pc, oh, ow], i + ow * ix[3], o + ow * go[3])?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{Padding, Params};

    /// The backward pass's decoder accepts exactly the indices [`IndexFormat::decode`] accepts, and gives the
    /// same positions: every format, every index from -2 to past the largest, on geometries with padding,
    /// dilation, strides and more than one image and channel.
    #[test]
    fn decoder_agrees_with_decode() {
        let geometries = [
            (Params::new(2), 4, 5),
            (
                Params::rect(3, 2)
                    .with_stride_hw(2, 1)
                    .with_padding_sides(Padding {
                        top: 1,
                        bottom: 2,
                        left: 0,
                        right: 1,
                    })
                    .with_dilation_hw(1, 2)
                    .with_ceil_mode(true),
                5,
                4,
            ),
        ];
        for (params, h, w) in geometries {
            let g = Geometry::new(&params, h, w).unwrap();
            let shape = [2, 3, h, w];
            for format in IndexFormat::ALL {
                let decoder = Decoder::new(format, &g, shape);
                let largest = format.largest(&g, shape).unwrap() as i64;
                for n in 0..2 {
                    for c in 0..3 {
                        for oh in 0..g.out_height() {
                            for ow in 0..g.out_width() {
                                let at = [n, c, oh, ow];
                                for v in -2..=largest + 2 {
                                    assert_eq!(
                                        decoder.position(at, v),
                                        format.decode(&g, shape, at, v).ok(),
                                        "{format} at {at:?}, index {v}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
