//! The C entry points with random arguments, raw ones included (zero or huge sizes, backend values that are not
//! backends, pointers off their alignment): every call returns a status without crashing; on success the results
//! equal the Rust naive backend's, on failure every output still holds its sentinel.
//!
//! Besides the layout of `common.rs`, this target reads the two bytes after the header (zeros when absent) as a
//! byte offset 0–7 for each pointer, three bits each from the lowest: input, values, indices, multiplier. Each
//! buffer is placed that far into 8-aligned storage. An offset that breaks its type's alignment must give
//! `MISALIGNED` exactly when the same call with aligned pointers succeeds; alignment is checked with each buffer,
//! after the parameters, backend and geometry, so otherwise the call gets the refusal its aligned twin gets.
//!
//! When the plan is made, the same geometry is also pooled through the tensor calls
//! (`maxpool_plan_forward_tensor`, `maxpool_plan_backward_tensor`) with the header's element type, shaped by the
//! first three bytes after the offsets (zeros when absent; see [`TensorCase`]): layouts, index format and type
//! (values that are not formats and types that are not index types included), N and C. Every tensor's buffer
//! holds exactly the elements its layout spans. The C status must be the one the Rust API gives for the same
//! tensors on its naive backend (or, for what only C can pass, the boundary's), and every output byte,
//! gaps between elements included, must equal the Rust call's: written alike on success, untouched on failure.

use std::marker::PhantomData;

use crate::maxpool_capi::{
    maxpool_forward_f32, maxpool_output_shape, maxpool_plan_backward_tensor,
    maxpool_plan_forward_f32, maxpool_plan_forward_tensor, maxpool_plan_free, maxpool_plan_new,
    MaxpoolParams, MaxpoolPlan, MaxpoolStatus, MaxpoolTensor, MAXPOOL_DTYPE_F32, MAXPOOL_DTYPE_I32,
    MAXPOOL_DTYPE_I64, MAXPOOL_DTYPE_U32, MAXPOOL_DTYPE_U8,
};
use maxpool::technique::with_dtype;
use maxpool::{
    Backend, DType, Element, Float, IndexFormat, IndicesMut, IndicesRef, Layout, Outputs, Plan,
    TensorMut, TensorOutputs, TensorRef,
};

/// Buffers above this many elements are not allocated: such calls are made only when the sizes overflow, so
/// that the library must refuse them before touching memory.
const MAX_ELEMENTS: usize = 1 << 20;
/// Every byte of every output before a call.
const SENTINEL: u8 = 0xAB;

/// `len` elements of `T` placed `offset` bytes into 8-aligned storage that holds the sentinel elsewhere.
struct Placed<T> {
    store: Vec<u64>,
    offset: usize,
    len: usize,
    _type: PhantomData<T>,
}

impl<T: Copy> Placed<T> {
    fn new(len: usize, offset: usize) -> Self {
        let words = (offset + len * size_of::<T>()).div_ceil(8) + 1;
        Placed {
            store: vec![u64::from_ne_bytes([SENTINEL; 8]); words],
            offset,
            len,
            _type: PhantomData,
        }
    }

    fn with(elements: &[T], offset: usize) -> Self {
        let mut placed = Self::new(elements.len(), offset);
        for (i, &e) in elements.iter().enumerate() {
            // SAFETY: within the storage; the element may be unaligned.
            unsafe { placed.ptr().add(i).write_unaligned(e) };
        }
        placed
    }

    /// The buffer's pointer, aligned for `T` or not as the offset makes it; never NULL.
    fn ptr(&mut self) -> *mut T {
        self.store
            .as_mut_ptr()
            .cast::<u8>()
            .wrapping_add(self.offset)
            .cast()
    }

    fn misaligned(&self) -> bool {
        self.offset % align_of::<T>() != 0
    }

    fn elements(&mut self) -> Vec<T> {
        let ptr = self.ptr();
        // SAFETY: within the storage; the elements may be unaligned.
        (0..self.len)
            .map(|i| unsafe { ptr.add(i).read_unaligned() })
            .collect()
    }

    /// Whether every byte of the storage still holds the sentinel.
    fn untouched(&self) -> bool {
        self.store.iter().all(|w| w.to_ne_bytes() == [SENTINEL; 8])
    }
}

/// The outputs of one call.
struct Out {
    values: Placed<f32>,
    indices: Placed<i64>,
    multiplier: Placed<u32>,
}

impl Out {
    fn new(out_len: usize, in_len: usize, [_, values, indices, multiplier]: [usize; 4]) -> Self {
        Out {
            values: Placed::new(out_len, values),
            indices: Placed::new(out_len, indices),
            multiplier: Placed::new(in_len, multiplier),
        }
    }

    fn assert_untouched(&self, status: MaxpoolStatus) {
        assert!(self.values.untouched(), "values written on {status:?}");
        assert!(self.indices.untouched(), "indices written on {status:?}");
        assert!(
            self.multiplier.untouched(),
            "multiplier written on {status:?}"
        );
    }
}

/// One input of the `c_api` target.
pub fn run(bytes: &[u8]) {
    let Some(call) = crate::common::decode(bytes) else {
        return;
    };
    let (offsets, data) = match call.data {
        [a, b, rest @ ..] => {
            let bits = u16::from_le_bytes([*a, *b]) as usize;
            ([0, 3, 6, 9].map(|shift| (bits >> shift) & 7), rest)
        }
        short => ([0; 4], short),
    };
    let aligns = [
        align_of::<f32>(),
        align_of::<f32>(),
        align_of::<i64>(),
        align_of::<u32>(),
    ];
    let aligned: [usize; 4] = std::array::from_fn(|i| offsets[i] / aligns[i] * aligns[i]);
    let misaligned = offsets != aligned;
    let p = &call.params;
    let params = MaxpoolParams {
        kernel_h: p.kernel[0] as u32,
        kernel_w: p.kernel[1] as u32,
        stride_h: p.stride[0] as u32,
        stride_w: p.stride[1] as u32,
        pad_top: p.padding.top as u32,
        pad_bottom: p.padding.bottom as u32,
        pad_left: p.padding.left as u32,
        pad_right: p.padding.right as u32,
        dilation_h: p.dilation[0] as u32,
        dilation_w: p.dilation[1] as u32,
        // Any byte: the library reads it as an integer.
        ceil_mode: bytes[10] & 0x41,
    };
    // In raw mode the backend value may be anything, listed or not.
    let backend = if call.raw {
        u32::from_le_bytes([bytes[10], bytes[11], 0, 0]) % 9
    } else {
        call.backend % 5
    };
    // Raw mode also tries sizes whose products overflow.
    let (planes, height, width) = if call.raw && bytes[11] & 0x40 != 0 {
        (
            usize::MAX / (1 + bytes[11] as usize),
            call.height.max(1) << 40,
            call.width,
        )
    } else {
        (call.planes, call.height, call.width)
    };

    let (mut oh, mut ow) = (usize::MAX, usize::MAX);
    // SAFETY: valid pointers to locals.
    let shape = unsafe { maxpool_output_shape(&params, height, width, &mut oh, &mut ow) };
    let in_len = planes
        .checked_mul(height)
        .and_then(|n| n.checked_mul(width));
    let out_len = if shape == MaxpoolStatus::Ok {
        planes.checked_mul(oh).and_then(|n| n.checked_mul(ow))
    } else {
        Some(0)
    };
    let (in_len, out_len) = match (in_len, out_len) {
        (Some(i), Some(o)) if i <= MAX_ELEMENTS && o <= MAX_ELEMENTS => (i, o),
        (Some(_), Some(_)) => return, // valid but too large to allocate here: not a call we can make honestly
        _ => (0, 0), // overflowing sizes: the library must refuse with tiny buffers
    };
    let input = crate::common::elements(data, in_len, f32::from_le_bytes);
    let forward = |at: [usize; 4]| {
        let mut input = Placed::with(&input, at[0]);
        let mut out = Out::new(out_len, in_len, at);
        // SAFETY: buffers hold the element counts the call implies, or the sizes overflow and the call must
        // refuse; a misaligned one must be refused before it is read or written.
        let status = unsafe {
            maxpool_forward_f32(
                backend,
                &params,
                input.ptr(),
                planes,
                height,
                width,
                out.values.ptr(),
                out.indices.ptr(),
                out.multiplier.ptr(),
            )
        };
        if status != MaxpoolStatus::Ok {
            out.assert_untouched(status);
        }
        (status, out)
    };
    let (status, out) = forward(offsets);
    let (status, mut out) = if misaligned {
        let (twin, twin_out) = forward(aligned);
        let want = match twin {
            MaxpoolStatus::Ok => MaxpoolStatus::Misaligned,
            refused => refused,
        };
        assert_eq!(
            status, want,
            "offsets {offsets:?}, the aligned call gives {twin:?}"
        );
        (twin, twin_out)
    } else {
        assert_ne!(
            status,
            MaxpoolStatus::Misaligned,
            "aligned offsets {offsets:?}"
        );
        (status, out)
    };
    if status != MaxpoolStatus::Ok {
        return;
    }
    assert_eq!(
        shape,
        MaxpoolStatus::Ok,
        "forward succeeded where output_shape refused"
    );
    let b = crate::common::backend(backend).expect("a listed backend");
    assert!(
        b == Backend::Auto || b.supports(p).is_ok(),
        "{b} pooled what it does not support"
    );
    // The same call through a plan, and through the Rust API's naive backend, agree.
    // The C side reads any nonzero ceil_mode byte as true.
    let rust_params = maxpool::Params {
        ceil_mode: params.ceil_mode != 0,
        ..*p
    };
    let naive = Plan::new(Backend::Naive, &rust_params, height, width).expect("C accepted it");
    let (mut v, mut i, mut m) = (vec![0f32; out_len], vec![0i64; out_len], vec![0u32; in_len]);
    naive
        .forward(
            &input,
            planes,
            Outputs::new(&mut v)
                .with_indices(&mut i)
                .with_multiplier(&mut m),
        )
        .unwrap();
    let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&out.values.elements()), bits(&v));
    assert_eq!(out.indices.elements(), i);
    assert_eq!(out.multiplier.elements(), m);
    let mut plan: *mut MaxpoolPlan = std::ptr::null_mut();
    // SAFETY: as above; the plan is freed below.
    unsafe {
        assert_eq!(
            maxpool_plan_new(backend, &params, height, width, &mut plan),
            MaxpoolStatus::Ok
        );
        // The plan's call with the drawn offsets: with a valid plan, alignment is all that can refuse it.
        let mut input = Placed::with(&input, offsets[0]);
        let mut planned = Out::new(out_len, in_len, offsets);
        let s = maxpool_plan_forward_f32(
            plan,
            input.ptr(),
            planes,
            planned.values.ptr(),
            planned.indices.ptr(),
            std::ptr::null_mut(),
        );
        if input.misaligned() || planned.values.misaligned() || planned.indices.misaligned() {
            assert_eq!(s, MaxpoolStatus::Misaligned, "offsets {offsets:?}");
            planned.assert_untouched(s);
        } else {
            assert_eq!(s, MaxpoolStatus::Ok, "offsets {offsets:?}");
            assert_eq!(bits(&planned.values.elements()), bits(&v));
            assert_eq!(planned.indices.elements(), i);
            assert!(
                planned.multiplier.untouched(),
                "multiplier written though NULL was passed"
            );
        }
        let case = TensorCase::new(data, call.dtype);
        case.run(plan, &naive, data);
        maxpool_plan_free(plan);
    }
}

/// A call through the tensor API, from three bytes: byte 0 two bits of layout each for the input, values,
/// indices and multiplier (dense NCHW, dense NHWC, NCHW with a gap after every element, and a fourth that is
/// the input's stride 0 along N, or for an output strides that put its rows over each other); byte 1 bits 0–2
/// the index format (5–7 are not formats), bits 3–4 the index type (i64, i32, u8, f32), bit 5 indices
/// wanted, bit 6 multiplier wanted, bit 7 values of another dtype than the input; byte 2 N = 1 + b % 3 and
/// C = 1 + (b >> 2) % 5.
pub struct TensorCase {
    dtype: DType,
    layouts: [u8; 4],
    format: u32,
    index_dtype: u32,
    indices: bool,
    multiplier: bool,
    values_mismatch: bool,
    n: usize,
    c: usize,
}

/// A tensor's storage: exactly the bytes its layout spans (rounded up to whole words), 8-aligned.
struct Store {
    words: Vec<u64>,
    layout: Layout,
}

impl Store {
    /// Storage for `layout`'s span of `size`-byte elements, every byte `fill`; `None` when too large to make here.
    fn new(layout: Layout, size: usize, fill: u8) -> Option<Store> {
        let bytes = layout.span()?.checked_mul(size)?;
        (bytes <= MAX_ELEMENTS * 8).then(|| Store {
            words: vec![u64::from_ne_bytes([fill; 8]); bytes.div_ceil(8)],
            layout,
        })
    }

    /// Storage whose bytes come from `data`, cycled.
    fn from_data(layout: Layout, size: usize, data: &[u8]) -> Option<Store> {
        let mut store = Store::new(layout, size, 0)?;
        let bytes = crate::common::elements(data, store.words.len() * 8, |b: [u8; 1]| b[0]);
        for (w, chunk) in store.words.iter_mut().zip(bytes.chunks_exact(8)) {
            *w = u64::from_ne_bytes(chunk.try_into().expect("8 bytes"));
        }
        Some(store)
    }

    fn tensor(&mut self, dtype: u32) -> MaxpoolTensor {
        MaxpoolTensor {
            data: self.words.as_mut_ptr().cast(),
            dtype,
            shape: self.layout.shape,
            strides: self.layout.strides,
        }
    }

    /// The elements as `T`s, for the Rust call.
    fn slice<T>(&mut self) -> &mut [T] {
        let len = self.words.len() * 8 / size_of::<T>();
        // SAFETY: the words are 8-aligned, at least `len` `T`s long, and every bit pattern is a valid number.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast(), len) }
    }
}

/// The C value of an element type.
fn c_dtype(dtype: DType) -> u32 {
    DType::ALL.iter().position(|&d| d == dtype).expect("listed") as u32
}

impl TensorCase {
    fn new(data: &[u8], dtype: DType) -> Self {
        let byte = |i: usize| data.get(i).copied().unwrap_or(0);
        let (b0, b1, b2) = (byte(0), byte(1), byte(2));
        TensorCase {
            dtype,
            layouts: [b0 & 3, (b0 >> 2) & 3, (b0 >> 4) & 3, b0 >> 6],
            format: (b1 & 7) as u32,
            index_dtype: [
                MAXPOOL_DTYPE_I64,
                MAXPOOL_DTYPE_I32,
                MAXPOOL_DTYPE_U8,
                MAXPOOL_DTYPE_F32,
            ][(b1 as usize >> 3) & 3],
            indices: b1 & 0x20 != 0,
            multiplier: b1 & 0x40 != 0,
            values_mismatch: b1 & 0x80 != 0,
            n: 1 + b2 as usize % 3,
            c: 1 + (b2 as usize >> 2) % 5,
        }
    }

    fn layout(&self, kind: u8, [h, w]: [usize; 2], input: bool) -> Layout {
        let (n, c) = (self.n, self.c);
        let mut l = match kind {
            1 => Layout::nhwc(n, h, w, c),
            _ => Layout::nchw(n, c, h, w),
        };
        match kind {
            2 => l.strides = l.strides.map(|s| s * 2),
            3 if input => l.strides[0] = 0,
            3 => l.strides[2] = 1,
            _ => {}
        }
        l
    }

    /// Runs the case on the C plan `plan` and checks it against the Rust API's `naive` plan of the same geometry.
    ///
    /// # Safety
    /// `plan` is a live plan of `naive`'s geometry.
    unsafe fn run(&self, plan: *const MaxpoolPlan, naive: &Plan, data: &[u8]) {
        let (in_hw, out_hw) = (naive.in_shape(), naive.out_shape());
        let size = self.dtype.size();
        let index_size = match self.index_dtype {
            MAXPOOL_DTYPE_I64 => 8,
            MAXPOOL_DTYPE_U8 => 1,
            _ => 4,
        };
        let stores = (|| {
            Some((
                Store::from_data(self.layout(self.layouts[0], in_hw, true), size, data)?,
                Store::new(self.layout(self.layouts[1], out_hw, false), size, SENTINEL)?,
                Store::new(
                    self.layout(self.layouts[2], out_hw, false),
                    index_size,
                    SENTINEL,
                )?,
                Store::new(self.layout(self.layouts[3], in_hw, false), 4, SENTINEL)?,
            ))
        })();
        let Some((mut input, mut values, mut indices, mut multiplier)) = stores else {
            return;
        };
        let values_dtype = if self.values_mismatch {
            c_dtype(DType::ALL[(c_dtype(self.dtype) as usize + 1) % 8])
        } else {
            c_dtype(self.dtype)
        };
        let (in_t, v_t) = (
            input.tensor(c_dtype(self.dtype)),
            values.tensor(values_dtype),
        );
        let (ix_t, m_t) = (
            indices.tensor(self.index_dtype),
            multiplier.tensor(MAXPOOL_DTYPE_U32),
        );
        let opt = |want: bool, t: &MaxpoolTensor| {
            if want {
                t as *const MaxpoolTensor
            } else {
                std::ptr::null()
            }
        };
        // SAFETY: every tensor's storage holds its span.
        let status = unsafe {
            maxpool_plan_forward_tensor(
                plan,
                &in_t,
                &v_t,
                opt(self.indices, &ix_t),
                self.format,
                opt(self.multiplier, &m_t),
            )
        };
        // What only C can pass is refused at the boundary, in argument order; the rest as Rust refuses it.
        let format = IndexFormat::from_number(self.format);
        let expected = if format.is_none() {
            Err(MaxpoolStatus::InvalidParams)
        } else if self.values_mismatch || (self.indices && self.index_dtype == MAXPOOL_DTYPE_F32) {
            Err(MaxpoolStatus::Unsupported)
        } else {
            Ok(())
        };
        let mut want = (
            Store::new(values.layout, size, SENTINEL).expect("as above"),
            Store::new(indices.layout, index_size, SENTINEL).expect("as above"),
            Store::new(multiplier.layout, 4, SENTINEL).expect("as above"),
        );
        let expected = expected.and_then(|()| {
            let format = format.expect("checked");
            with_dtype!(
                self.dtype,
                rust_forward(self, naive, &mut input, &mut want, format)
            )
            .map_err(|e| MaxpoolStatus::from(&e))
        });
        assert_eq!(
            status,
            expected.err().unwrap_or(MaxpoolStatus::Ok),
            "tensor forward: {:?}",
            self.describe()
        );
        assert!(values.words == want.0.words, "values differ from Rust's");
        assert!(indices.words == want.1.words, "indices differ from Rust's");
        assert!(
            multiplier.words == want.2.words,
            "multiplier differs from Rust's"
        );
        if status != MaxpoolStatus::Ok || !self.indices || !self.dtype.is_float() {
            return;
        }
        // The backward pass on those indices: gradients in the values' layout, grad_input in the input's.
        let Some(mut grads) = Store::from_data(values.layout, size, data) else {
            return;
        };
        let Some(mut grad_input) = Store::new(input.layout, size, SENTINEL) else {
            return;
        };
        let mut want_gi = Store::new(input.layout, size, SENTINEL).expect("as above");
        let (go_t, gi_t) = (
            grads.tensor(c_dtype(self.dtype)),
            grad_input.tensor(c_dtype(self.dtype)),
        );
        // SAFETY: as above.
        let status =
            unsafe { maxpool_plan_backward_tensor(plan, &go_t, &ix_t, self.format, &gi_t) };
        let format = format.expect("checked");
        let expected = match self.dtype {
            DType::F32 => {
                rust_backward::<f32>(naive, &mut grads, &mut indices, self, format, &mut want_gi)
            }
            _ => rust_backward::<f64>(naive, &mut grads, &mut indices, self, format, &mut want_gi),
        };
        assert_eq!(
            status,
            expected
                .as_ref()
                .err()
                .map_or(MaxpoolStatus::Ok, MaxpoolStatus::from),
            "tensor backward: {:?}",
            self.describe()
        );
        // Sums in another order may differ in their last bits; the order is the same here, so they do not.
        assert!(
            grad_input.words == want_gi.words,
            "grad_input differs from Rust's"
        );
    }

    fn describe(&self) -> String {
        format!(
            "{} layouts {:?} format {} index dtype {} indices {} multiplier {} values mismatch {} N {} C {}",
            self.dtype,
            self.layouts,
            self.format,
            self.index_dtype,
            self.indices,
            self.multiplier,
            self.values_mismatch,
            self.n,
            self.c
        )
    }
}

/// The index tensor of a store, as the Rust API takes it.
fn indices_mut(store: &mut Store, dtype: u32) -> IndicesMut<'_> {
    let layout = store.layout;
    match dtype {
        MAXPOOL_DTYPE_I64 => IndicesMut::I64(TensorMut::new(store.slice(), layout)),
        MAXPOOL_DTYPE_I32 => IndicesMut::I32(TensorMut::new(store.slice(), layout)),
        _ => IndicesMut::U8(TensorMut::new(store.slice(), layout)),
    }
}

/// The forward call of `case` through the Rust API, into `want`'s stores.
fn rust_forward<T: Element>(
    case: &TensorCase,
    naive: &Plan,
    input: &mut Store,
    want: &mut (Store, Store, Store),
    format: IndexFormat,
) -> maxpool::Result<()> {
    let in_layout = input.layout;
    let input = TensorRef::new(input.slice::<T>(), in_layout);
    let (v, ix, m) = want;
    let v_layout = v.layout;
    let mut out = TensorOutputs::new(TensorMut::new(v.slice::<T>(), v_layout));
    if case.indices {
        out = out.with_indices(indices_mut(ix, case.index_dtype), format);
    }
    if case.multiplier {
        let m_layout = m.layout;
        out = out.with_multiplier(TensorMut::new(m.slice::<u32>(), m_layout));
    }
    naive.forward_tensor(input, out)
}

/// The backward call through the Rust API, into `want`.
fn rust_backward<T: Float>(
    naive: &Plan,
    grads: &mut Store,
    indices: &mut Store,
    case: &TensorCase,
    format: IndexFormat,
    want: &mut Store,
) -> maxpool::Result<()> {
    let (go_layout, ix_layout, gi_layout) = (grads.layout, indices.layout, want.layout);
    let ix = match case.index_dtype {
        MAXPOOL_DTYPE_I64 => IndicesRef::I64(TensorRef::new(indices.slice(), ix_layout)),
        MAXPOOL_DTYPE_I32 => IndicesRef::I32(TensorRef::new(indices.slice(), ix_layout)),
        _ => IndicesRef::U8(TensorRef::new(indices.slice(), ix_layout)),
    };
    naive.backward_tensor(
        TensorRef::new(grads.slice::<T>(), go_layout),
        ix,
        format,
        TensorMut::new(want.slice::<T>(), gi_layout),
    )
}
