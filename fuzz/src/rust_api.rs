//! The Rust API: every backend against the naive one on random parameters, shapes and element bytes, on slices
//! and through the tensor call (the planes as the channels of one channels-last image). Results
//! must be identical bit for bit, refusals of the same kind (block may also refuse as unsupported), and nothing
//! may panic. In raw mode, hostile geometries instead: planes up to 2^40 on a side, kernels and padding up to
//! 2^25, called over zero planes with the multiplier: planned in memory that does not grow with them, and a
//! multiplier whose counts cannot fit refused.

use maxpool::technique::with_dtype;
use maxpool::{
    Backend, Element, ErrorKind, IndexFormat, Layout, Outputs, Plan, TensorMut, TensorOutputs,
    TensorRef,
};

/// One input of the `rust_api` target.
pub fn run(bytes: &[u8]) {
    let Some(call) = crate::common::decode(bytes) else {
        return;
    };
    if call.raw {
        return hostile(&call);
    }
    with_dtype!(call.dtype, check(&call));
}

trait FromBytes: Element {
    fn decode(data: &[u8], n: usize) -> Vec<Self>;
}
macro_rules! from_bytes {
    ($($t:ty),*) => {$(
        impl FromBytes for $t {
            fn decode(data: &[u8], n: usize) -> Vec<Self> {
                crate::common::elements(data, n, <$t>::from_le_bytes)
            }
        }
    )*};
}
from_bytes!(
    f32,
    f64,
    i8,
    u8,
    i16,
    u16,
    i32,
    i64,
    maxpool::f16,
    maxpool::bf16
);

type Pooled<T> = (Vec<T>, Vec<i64>, Vec<u32>);

fn pool_with<T: Element>(
    backend: Backend,
    call: &crate::common::Call<'_>,
    input: &[T],
) -> Result<Pooled<T>, ErrorKind> {
    let plan = Plan::new(backend, &call.params, call.height, call.width).map_err(|e| e.kind())?;
    let out = call.planes * plan.geometry().out_plane_len();
    let (mut v, mut i, mut m) = (vec![T::default(); out], vec![0; out], vec![7; input.len()]);
    plan.forward(
        input,
        call.planes,
        Outputs::new(&mut v)
            .with_indices(&mut i)
            .with_multiplier(&mut m),
    )
    .map_err(|e| e.kind())?;
    Ok((v, i, m))
}

/// [`pool_with`] through the tensor call, the planes as the channels of one channels-last image: the input
/// transposed, the outputs channels-last, read back in plane order.
fn pool_channels_last<T: Element>(
    backend: Backend,
    call: &crate::common::Call<'_>,
    input: &[T],
) -> Result<Pooled<T>, ErrorKind> {
    let plan = Plan::new(backend, &call.params, call.height, call.width).map_err(|e| e.kind())?;
    let (c, h, w) = (call.planes, call.height, call.width);
    let (oh, ow) = (plan.geometry().out_height(), plan.geometry().out_width());
    let (layout, out) = (Layout::nhwc(1, h, w, c), Layout::nhwc(1, oh, ow, c));
    let mut nhwc = vec![T::default(); input.len()];
    for (i, &x) in input.iter().enumerate() {
        nhwc[layout.offset([0, i / (h * w), i / w % h, i % w])] = x;
    }
    let (mut v, mut i, mut m) = (
        vec![T::default(); c * oh * ow],
        vec![0i64; c * oh * ow],
        vec![7u32; input.len()],
    );
    plan.forward_tensor(
        TensorRef::new(&nhwc, layout),
        TensorOutputs::new(TensorMut::new(&mut v, out))
            .with_indices(TensorMut::new(&mut i, out), IndexFormat::Plane)
            .with_multiplier(TensorMut::new(&mut m, layout)),
    )
    .map_err(|e| e.kind())?;
    // Each tensor's offsets, in plane order.
    let planar = |l: &Layout| -> Vec<usize> {
        let [_, c, h, w] = l.shape;
        (0..c * h * w)
            .map(|k| l.offset([0, k / (h * w), k / w % h, k % w]))
            .collect()
    };
    let (outs, ins) = (planar(&out), planar(&layout));
    Ok((
        outs.iter().map(|&k| v[k]).collect(),
        outs.iter().map(|&k| i[k]).collect(),
        ins.iter().map(|&k| m[k]).collect(),
    ))
}

fn check<T: FromBytes>(call: &crate::common::Call<'_>) {
    let input = T::decode(call.data, call.planes * call.height * call.width);
    let reference = pool_with(Backend::Naive, call, &input);
    for backend in [
        Backend::Block,
        Backend::Lookup,
        Backend::Simd,
        Backend::Auto,
    ] {
        for got in [
            pool_with(backend, call, &input),
            pool_channels_last(backend, call, &input),
        ] {
            compare(backend, call, &reference, got);
        }
    }
}

/// A backend's result beside naive's: the same bits, or the same refusal (block may refuse as unsupported).
fn compare<T: Element>(
    backend: Backend,
    call: &crate::common::Call<'_>,
    reference: &Result<Pooled<T>, ErrorKind>,
    got: Result<Pooled<T>, ErrorKind>,
) {
    match (reference, &got) {
        (Ok((rv, ri, rm)), Ok((v, i, m))) => {
            let same_values = rv
                .iter()
                .zip(v)
                .all(|(a, b)| format!("{a:?}") == format!("{b:?}"));
            assert!(
                same_values && ri == i && rm == m,
                "{backend} differs from naive on {:?}",
                call.params
            );
        }
        (_, Err(ErrorKind::Unsupported)) if backend == Backend::Block => {}
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "{backend} refuses differently on {:?}", call.params)
        }
        _ => panic!(
            "{backend}: {:?} where naive gives {:?}",
            got.map(|_| ()),
            reference.as_ref().map(|_| ())
        ),
    }
}

/// A hostile geometry, scaled up from the raw bytes, over zero planes: every backend but lookup (whose table is
/// one offset per output per tap) plans it or refuses it for a reason other than memory, and a call with the
/// multiplier is refused exactly when the most windows one element lies in cannot fit its u32 count.
fn hostile(call: &crate::common::Call<'_>) {
    // The first data byte scales the kernel and padding, the second the plane.
    let byte = |i: usize| call.data.get(i).map_or(0, |&b| b as usize);
    let (window_shift, plane_shift) = (byte(0) % 24, byte(1));
    let mut params = call.params;
    params.kernel = params.kernel.map(|k| k << window_shift);
    let p = &mut params.padding;
    for side in [&mut p.top, &mut p.bottom, &mut p.left, &mut p.right] {
        *side <<= window_shift;
    }
    let height = call.height << (plane_shift % 33);
    let width = call.width << ((plane_shift / 2) % 33);
    for backend in [Backend::Auto, Backend::Naive, Backend::Block, Backend::Simd] {
        let plan = match Plan::new(backend, &params, height, width) {
            Ok(plan) => plan,
            Err(e) => {
                assert_ne!(
                    e.kind(),
                    ErrorKind::OutOfMemory,
                    "{backend} {params:?} {height}x{width}: {e}"
                );
                continue;
            }
        };
        let fits = plan.geometry().most_windows_per_element() <= u128::from(u32::MAX);
        let (mut v, mut m) = (Vec::<f32>::new(), Vec::new());
        let result = plan.forward(&[], 0, Outputs::new(&mut v).with_multiplier(&mut m));
        match result {
            Ok(()) => assert!(fits, "{backend}: a multiplier that cannot fit was accepted"),
            Err(e) => assert!(
                !fits && e.kind() == ErrorKind::Unsupported,
                "{backend} {params:?} {height}x{width}: {e}"
            ),
        }
    }
}
