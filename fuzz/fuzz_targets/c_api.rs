//! The C entry points with random arguments, raw ones included (zero or huge sizes, backend values that are not
//! backends): every call returns a status without crashing; on success the results equal the Rust naive
//! backend's, on failure every output still holds its sentinel.

#![no_main]

mod common;

// The C ABI's own source, compiled into this target: the crate is a cdylib/staticlib named like the `maxpool`
// crate it wraps, so it cannot also be a Rust dependency here.
#[path = "../../crates/capi/src/lib.rs"]
#[allow(dead_code)]
mod maxpool_capi;

use libfuzzer_sys::fuzz_target;
use maxpool::{Backend, Outputs, Plan};
use maxpool_capi::{
    maxpool_forward_f32, maxpool_output_shape, maxpool_plan_forward_f32, maxpool_plan_free,
    maxpool_plan_new, MaxpoolParams, MaxpoolPlan, MaxpoolStatus,
};

/// Buffers above this many elements are not allocated: such calls are made only when the sizes overflow, so
/// that the library must refuse them before touching memory.
const MAX_ELEMENTS: usize = 1 << 20;
const SENTINEL: u32 = 0xABAB_ABAB;

fuzz_target!(|bytes: &[u8]| {
    let Some(call) = common::decode(bytes) else {
        return;
    };
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
    let input = common::elements(call.data, in_len, f32::from_le_bytes);
    let mut values = vec![f32::from_bits(SENTINEL); out_len.max(1)];
    let mut indices = vec![SENTINEL as i64; out_len.max(1)];
    let mut multiplier = vec![SENTINEL; in_len.max(1)];
    // SAFETY: buffers hold the element counts the call implies, or the sizes overflow and the call must refuse.
    let status = unsafe {
        maxpool_forward_f32(
            backend,
            &params,
            input.as_ptr(),
            planes,
            height,
            width,
            values.as_mut_ptr(),
            indices.as_mut_ptr(),
            multiplier.as_mut_ptr(),
        )
    };
    if status != MaxpoolStatus::Ok {
        assert!(
            values.iter().all(|v| v.to_bits() == SENTINEL),
            "values written on {status:?}"
        );
        assert!(
            indices.iter().all(|&i| i == SENTINEL as i64),
            "indices written on {status:?}"
        );
        assert!(
            multiplier.iter().all(|&m| m == SENTINEL),
            "multiplier written on {status:?}"
        );
        return;
    }
    assert_eq!(
        shape,
        MaxpoolStatus::Ok,
        "forward succeeded where output_shape refused"
    );
    let b = common::backend(backend).expect("a listed backend");
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
    assert_eq!(bits(&values[..out_len]), bits(&v));
    assert_eq!(&indices[..out_len], &i[..]);
    assert_eq!(&multiplier[..in_len], &m[..]);
    let mut plan: *mut MaxpoolPlan = std::ptr::null_mut();
    // SAFETY: as above; the plan is freed below.
    unsafe {
        assert_eq!(
            maxpool_plan_new(backend, &params, height, width, &mut plan),
            MaxpoolStatus::Ok
        );
        let s = maxpool_plan_forward_f32(
            plan,
            input.as_ptr(),
            planes,
            values.as_mut_ptr(),
            indices.as_mut_ptr(),
            std::ptr::null_mut(),
        );
        assert_eq!(s, MaxpoolStatus::Ok);
        maxpool_plan_free(plan);
    }
    assert_eq!(bits(&values[..out_len]), bits(&v));
});
