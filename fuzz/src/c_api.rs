//! The C entry points with random arguments, raw ones included (zero or huge sizes, backend values that are not
//! backends, pointers off their alignment): every call returns a status without crashing; on success the results
//! equal the Rust naive backend's, on failure every output still holds its sentinel.
//!
//! Besides the layout of `common.rs`, this target reads the two bytes after the header (zeros when absent) as a
//! byte offset 0–7 for each pointer, three bits each from the lowest: input, values, indices, multiplier. Each
//! buffer is placed that far into 8-aligned storage. An offset that breaks its type's alignment must give
//! `MISALIGNED` exactly when the same call with aligned pointers succeeds; alignment is checked with each buffer,
//! after the parameters, backend and geometry, so otherwise the call gets the refusal its aligned twin gets.

use std::marker::PhantomData;

use crate::maxpool_capi::{
    maxpool_forward_f32, maxpool_output_shape, maxpool_plan_forward_f32, maxpool_plan_free,
    maxpool_plan_new, MaxpoolParams, MaxpoolPlan, MaxpoolStatus,
};
use maxpool::{Backend, Outputs, Plan};

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
        maxpool_plan_free(plan);
    }
}
