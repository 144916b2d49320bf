//! The Rust API: every backend against the naive one on random parameters, shapes and element bytes. Results
//! must be identical bit for bit, refusals of the same kind (block may also refuse as unsupported), and nothing
//! may panic.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use maxpool::technique::with_dtype;
use maxpool::{Backend, Element, ErrorKind, Outputs, Plan};

fuzz_target!(|bytes: &[u8]| {
    let Some(call) = common::decode(bytes) else {
        return;
    };
    if call.raw {
        return; // raw sizes are for the C target, where a refusal is the point
    }
    with_dtype!(call.dtype, check(&call));
});

trait FromBytes: Element {
    fn decode(data: &[u8], n: usize) -> Vec<Self>;
}
macro_rules! from_bytes {
    ($($t:ty),*) => {$(
        impl FromBytes for $t {
            fn decode(data: &[u8], n: usize) -> Vec<Self> {
                common::elements(data, n, <$t>::from_le_bytes)
            }
        }
    )*};
}
from_bytes!(f32, f64, i8, u8, i16, u16, i32, i64);

type Pooled<T> = (Vec<T>, Vec<i64>, Vec<u32>);

fn run<T: Element>(
    backend: Backend,
    call: &common::Call<'_>,
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

fn check<T: FromBytes>(call: &common::Call<'_>) {
    let input = T::decode(call.data, call.planes * call.height * call.width);
    let reference = run(Backend::Naive, call, &input);
    for backend in [
        Backend::Block,
        Backend::Lookup,
        Backend::Simd,
        Backend::Auto,
    ] {
        let got = run(backend, call, &input);
        match (&reference, &got) {
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
}
